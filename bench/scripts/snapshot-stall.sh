#!/usr/bin/env bash
# snapshot-stall.sh [options] BUILD [BUILD...]: what periodic snapshots
# cost requests, and how long a restart takes (docs/PERFORMANCE.md,
# "Snapshot stall"). One command, so the figures can be taken again on a
# quiet machine and compared between builds.
#
# Stall: for each run, for each BUILD in turn (alternated, so that the
# machine's other load falls on all of them alike), a fresh 2-shard onsaled
# (peer-onsale.sh: loopback, data on disk, fdatasync on) with snapshots on
# (--snapshot-seconds 2), once per writer of --writers, and then with every
# trigger off, under
# `onsale-bench --scenario mixed --units 1000000 --seats 100000
# --connections 8 --depth 64`. One line per run: ops/s, p99, p99.9, max,
# the mean per-second p99 of the slow seconds (p99 above twice the run's
# median: the bench does not know when a snapshot ran, so this is only a
# hint) and of the others (from the bench's timeline), the snapshots written
# while serving, the CPU the shard's loop spent starting each (the fork's;
# mean and max over the "snapshot written" log lines; the snapshot a clean
# stop writes has none), the writer's CPU per snapshot (mean), and the
# server's peak resident memory (VmHWM).
# With --kill, each run with snapshots on ends with `kill -9` instead of a
# stop, and onsaled is started again on its data: the line ends with the
# time from that start until it listens again (every shard recovered) and
# the records each shard replayed.
# Restart: `bench-snapshot --records N` of each BUILD (one shard store, the
# default policy), its recovery after a crash: wall, CPU, records replayed.
# The load average and the time go with every line: compare builds only
# within one invocation.
#
# Options: --runs N (default 2), --duration S (default 10), --restart-records
# N (default 50000000; 0: skip the restart), --no-stall (restart only),
# --writers LIST (comma-separated: replay, fork, default = the build's own
# default, no option passed; default "default", which also works for builds
# older than --snapshot-writer), --kill (above), --snapshot-args "ARGS"
# (the onsaled options of the runs with snapshots on, instead of
# "--snapshot-seconds 2").
set -euo pipefail
runs=2 duration=10 restart_records=50000000 stall=1 writers=default kill_restart=0
snapshot_args="--snapshot-seconds 2"
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --restart-records) restart_records=$2; shift 2 ;;
    --no-stall) stall=0; shift ;;
    --writers) writers=$2; shift 2 ;;
    --kill) kill_restart=1; shift ;;
    --snapshot-args) snapshot_args=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "snapshot-stall: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || { echo "snapshot-stall: give at least one BUILD (see --help)" >&2; exit 2; }
IFS=, read -r -a writer_list <<<"$writers"
for w in "${writer_list[@]}"; do
  case $w in
    replay | fork | default) ;;
    *) echo "snapshot-stall: --writers takes replay, fork, default, not $w" >&2; exit 2 ;;
  esac
done
for n in "$runs" "$duration" "$restart_records"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "snapshot-stall: not a number: $n" >&2; exit 2; }
done
for b in "$@"; do
  for p in onsaled onsale-bench bench-snapshot; do
    [ -x "$b/bin/$p" ] || { echo "snapshot-stall: no $b/bin/$p (make BUILD=$b)" >&2; exit 2; }
  done
done
. "$(dirname "$0")/peer-onsale.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-stall.XXXXXX")
trap 'onsale_stop; rm -rf "$tmp"' EXIT INT TERM

loadavg() { awk '{print $1}' /proc/loadavg; }

# killed_restart BUILD ARGS: kill -9 the running onsaled, start it again on
# its data (its log moved to onsaled.log.0); sets restart to how long it
# took to listen and what each shard replayed. The new one is left running
# (ONSALE_PID: not in a subshell, so onsale_stop stops it).
killed_restart() {
  local build=$1 args=$2 port t0 i
  local -a more
  read -r -a more <<<"$args"
  kill -KILL "$ONSALE_PID"
  wait "$ONSALE_PID" 2>/dev/null || true
  mv "$tmp/srv/onsaled.log" "$tmp/srv/onsaled.log.0"
  port=$(peer_free_port) # the dead one's listeners go away asynchronously
  t0=$(date +%s%N)
  "$build/bin/onsaled" -l "127.0.0.1:$port" -d "$tmp/srv/data" -c "$tmp/srv/onsaled.conf" \
    "${more[@]}" >"$tmp/srv/onsaled.log" 2>&1 &
  ONSALE_PID=$!
  for ((i = 0; i < 6000; i++)); do
    grep -q 'msg="listening"' "$tmp/srv/onsaled.log" && break
    kill -0 "$ONSALE_PID" 2>/dev/null || break
    sleep 0.01
  done
  if grep -q 'msg="listening"' "$tmp/srv/onsaled.log"; then
    restart="; kill -9 restart $(( ($(date +%s%N) - t0) / 1000000 )) ms, records replayed"
    restart+=" $(grep -o 'msg="recovered".*' "$tmp/srv/onsaled.log" |
         grep -o 'records_replayed=[0-9]*' | cut -d= -f2 | paste -sd';')"
  else
    restart="; kill -9 restart FAILED: $(tail -n 3 "$tmp/srv/onsaled.log" | tr '\n' ' ')"
  fi
}

# one_run BUILD MODE: one onsaled, one bench, one line; MODE is a writer
# (snapshots on) or off
one_run() {
  local build=$1 mode=$2 args out port log hwm restart=
  case $mode in
    default) args="$snapshot_args" ;;
    replay | fork) args="$snapshot_args --snapshot-writer $mode" ;;
    off) args="--snapshot-records off --snapshot-bytes off --snapshot-seconds off" ;;
  esac
  rm -rf "$tmp/srv"
  port=$(peer_free_port)
  ONSALED_ARGS="$args" onsale_start "$build" "$tmp/srv" "$port"
  local l0 t0
  l0=$(loadavg) t0=$(date -u +%T)
  out=$("$build/bin/onsale-bench" --port "$port" --config "$tmp/srv/onsaled.conf" \
        --scenario mixed --units 1000000 --seats 100000 --connections 8 --depth 64 \
        --duration "$duration" --json --verify 2>/dev/null | tail -n 1) || true
  hwm=$(awk '/^VmHWM/ {print int($2 / 1024)}' "/proc/$ONSALE_PID/status" 2>/dev/null || echo "?")
  log="$tmp/srv/onsaled.log"
  if [ "$kill_restart" = 1 ] && [ "$mode" != off ]; then
    killed_restart "$build" "$args"
    log="$tmp/srv/onsaled.log.0"
  fi
  onsale_stop
  printf '%s\n' "$out" | jq -r --arg b "$build" --arg m "$mode" --arg t "$t0" \
    --arg l "$l0 $(loadavg)" --arg hwm "$hwm" --arg restart "$restart" \
    --argjson forks "$(grep -o 'msg="snapshot written".*' "$log" | grep -o ' cpu_us=[0-9]*' |
                       cut -d= -f2 | jq -s 'map(select(. > 0))')" \
    --argjson writer "$(grep -o 'msg="snapshot written".*' "$log" |
                        grep -o ' writer_cpu_ms=[0-9]*' | cut -d= -f2 | jq -s '.')" '
    def mean: if length == 0 then null else (add / length | floor) end;
    # a second is a snapshot second when its p99 is above twice the
    # run median of them: the bench does not know when snapshots ran
    (.timeline | map(.[2]) | sort | .[length / 2 | floor]) as $med
    | (.timeline | map(.[2])) as $p
    | "\($t) load \($l) \($b) snapshots-\($m): ops/s \(.ops_per_s) p99 \(.p99_us) us" +
      " p99.9 \(.p999_us) us max \(.max_us) us; per-second p99 in slow seconds " +
      "\([$p[] | select(. > 2 * $med)] | length)/\($p | length) mean " +
      "\([$p[] | select(. > 2 * $med)] | mean) us, other seconds " +
      "\([$p[] | select(. <= 2 * $med)] | mean) us; snapshots \($forks | length)" +
      " start cpu mean \($forks | mean) max \($forks | max) us, writer cpu mean" +
      " \($writer | mean) ms; peak RSS \($hwm) MiB; verify \(.verify)\($restart)"'
}

if [ "$stall" = 1 ]; then
  for ((r = 1; r <= runs; r++)); do
    for b in "$@"; do
      for w in "${writer_list[@]}"; do
        one_run "$b" "$w"
      done
      one_run "$b" off
    done
  done
fi
if [ "$restart_records" != 0 ]; then
  for b in "$@"; do
    l0=$(loadavg) t0=$(date -u +%T)
    "$b/bin/bench-snapshot" --records "$restart_records" --dir "$tmp/restart" |
      jq -r --arg b "$b" --arg t "$t0" --arg l "$l0 $(loadavg)" '
      "\($t) load \($l) \($b) restart after \(.records) records: \(.recovery_ms) ms wall," +
      " \(.recovery_cpu_ms) ms cpu, \(.records_replayed) records replayed after a" +
      " \(.snapshot_bytes) byte snapshot (\(.snapshots) taken; loop turn p99.9" +
      " \(.turn_us_p999) us, max \(.turn_us_max) us, fork cpu max" +
      " \(.snapshot_start_cpu_us_max) us); after a clean stop \(.recovery_clean_ms) ms"'
  done
fi
