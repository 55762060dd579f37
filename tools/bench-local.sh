#!/usr/bin/env bash
# bench-local.sh BUILD [onsale-bench options...]: what `make bench` runs.
# Starts a fresh onsaled (data in a temporary directory, a free port on
# 127.0.0.1, role keys from onsaled --gen-config, durable: fdatasync on),
# runs onsale-bench ga-flash and seat-flash against it with --json --verify
# (plus any extra options), prints the JSON line of each, stops the server
# and removes the data. Exits non-zero if a run or its verify failed.
# SCENARIOS="seat-pick mixed gate-rush" runs those instead.
set -euo pipefail
build=${1:-build}
shift || true
tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-bench.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
port=
for _ in $(seq 1 50); do
  p=$((20000 + RANDOM % 20000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "bench-local: no free port" >&2; exit 1; }
"$build/bin/onsaled" --gen-config "$tmp/onsaled.conf" >/dev/null
"$build/bin/onsaled" -l "127.0.0.1:$port" -d "$tmp/data" -c "$tmp/onsaled.conf" \
  >"$tmp/onsaled.log" 2>&1 &
pid=$!
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { cat "$tmp/onsaled.log" >&2; exit 1; }
  sleep 0.1
done
status=0
for sc in ${SCENARIOS:-ga-flash seat-flash}; do
  echo "== onsale-bench --scenario $sc --json --verify $* (server 127.0.0.1:$port, $tmp)" >&2
  out=$("$build/bin/onsale-bench" --port "$port" --config "$tmp/onsaled.conf" \
        --scenario "$sc" --json --verify "$@") || status=1
  printf '%s\n' "$out" >&2
  printf '%s\n' "$out" | tail -n 1
done
exit $status
