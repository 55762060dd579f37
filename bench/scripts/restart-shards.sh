#!/usr/bin/env bash
# restart-shards.sh [options] BUILD [BUILD...]: how long a 2-shard onsaled
# takes to start on a full data directory (docs/PERFORMANCE.md, "Parallel
# recovery"). The directory is filled once, by the first BUILD, with what
# `make bench` runs (onsale-bench ga-flash then seat-flash, --units 1000000
# --seats 100000 --connections 8 --depth 256, default snapshot policy), and
# the server is then killed (-9: each shard recovers its newest snapshot
# and replays its WAL after it) or stopped (--clean: SIGTERM, a snapshot
# per shard and nothing to replay). Each run copies that directory afresh
# (so its files are in the page cache for every build alike) and times one
# onsaled from exec to its "listening" log line; builds alternate, so the
# machine's other load falls on all of them alike. One line per run with
# the load average before and after and each shard's records replayed.
#
# Options: --runs N (default 3), --clean (stop with SIGTERM, not kill -9).
set -euo pipefail
runs=3 stop=KILL
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --clean) stop=TERM; shift ;;
    -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "restart-shards: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "restart-shards: give at least one BUILD (see --help)" >&2; exit 2; }
[[ $runs =~ ^[0-9]+$ ]] || { echo "restart-shards: not a number: $runs" >&2; exit 2; }
for b in "$@"; do
  for p in onsaled onsale-bench; do
    [ -x "$b/bin/$p" ] || { echo "restart-shards: no $b/bin/$p (make BUILD=$b)" >&2; exit 2; }
  done
done
. "$(dirname "$0")/peer-onsale.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-restart.XXXXXX")
trap 'onsale_stop; rm -rf "$tmp"' EXIT INT TERM
loadavg() { awk '{print $1}' /proc/loadavg; }

port=$(peer_free_port)
ONSALED_ARGS="--shards 2" onsale_start "$1" "$tmp/fill" "$port"
for sc in ga-flash seat-flash; do
  "$1/bin/onsale-bench" --port "$port" --config "$tmp/fill/onsaled.conf" --scenario "$sc" \
    --units 1000000 --seats 100000 --connections 8 --depth 256 >/dev/null 2>&1
done
kill -"$stop" "$ONSALE_PID"; wait "$ONSALE_PID" 2>/dev/null || true; ONSALE_PID=
echo "filled: $(du -sh "$tmp/fill/data" | cut -f1) in $tmp/fill/data, stopped with SIG$stop"

# one_run BUILD: prints ms from exec to "listening" and the records replayed
one_run() {
  local b=$1 t0 t1 i
  rm -rf "$tmp/run"; cp -a "$tmp/fill" "$tmp/run"
  rm -f "$tmp/run/onsaled.log" # the fill's, which says "listening" too
  port=$(peer_free_port)
  t0=$(date +%s%N)
  "$b/bin/onsaled" --shards 2 -l "127.0.0.1:$port" -d "$tmp/run/data" \
    -c "$tmp/run/onsaled.conf" >"$tmp/run/onsaled.log" 2>&1 &
  ONSALE_PID=$!
  for ((i = 0; i < 60000; i++)); do
    grep -q 'msg="listening"' "$tmp/run/onsaled.log" && break
    kill -0 "$ONSALE_PID" 2>/dev/null || { cat "$tmp/run/onsaled.log" >&2; return 1; }
    sleep 0.002
  done
  t1=$(date +%s%N)
  onsale_stop
  echo "$(( (t1 - t0) / 1000000 )) ms, replayed $(grep -o 'records_replayed=[0-9]*' \
    "$tmp/run/onsaled.log" | cut -d= -f2 | paste -sd+)"
}

for ((r = 1; r <= runs; r++)); do
  for b in "$@"; do
    l0=$(loadavg) t=$(date -u +%T)
    out=$(one_run "$b")
    echo "$t load $l0 $(loadavg) $b: start to listening $out"
  done
done
