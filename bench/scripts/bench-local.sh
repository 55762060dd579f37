#!/usr/bin/env bash
# bench-local.sh BUILD [onsale-bench options...]: what `make bench` runs.
# For each CPU setting in BENCH_SETTING (default "shared dedicated"; see
# cpu-settings.sh: shared = onsaled on every CPU with the load generator
# beside it, dedicated = onsaled on SERVER_CPUS, the load generator on
# BENCH_CPUS; on 2 CPUs one shard on CPU 1 and the load on CPU 0) it
# starts a fresh onsaled (peer-onsale.sh here: data in a temporary
# directory, a free port on 127.0.0.1, role keys from onsaled --gen-config,
# durable: fdatasync on), runs onsale-bench ga-flash and seat-flash against
# it with --json --verify (those two at the issue's sizes and the load
# where onsale peaks on this 2-core machine: --units 1000000 --seats 100000
# --connections 8 --depth 256; extra options come after and override them),
# prints the JSON line of each with its "setting" (and saves them in
# $BENCH_JSON, default var/bench.json, for make bench-plots), stops the
# server and removes the data. Exits non-zero if a run or its verify
# failed. SCENARIOS="seat-pick mixed gate-rush" runs those instead.
set -euo pipefail
case ${1:-} in # the first argument is the build directory
  -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "bench-local: the first argument is BUILD, not $1 (see --help)" >&2; exit 2 ;;
esac
[ -x "${1:-build}/bin/onsaled" ] ||
  { echo "bench-local: no ${1:-build}/bin/onsaled (run make, or give the BUILD directory)" >&2; exit 2; }
build=${1:-build}
shift || true
. "$(dirname "$0")/peer-onsale.sh"
. "$(dirname "$0")/cpu-settings.sh"
setting_traps
json=${BENCH_JSON:-var/bench.json}
mkdir -p "$(dirname "$json")"
: >"$json"
status=0
for setting in ${BENCH_SETTING:-shared dedicated}; do
  rc=0
  setting_settle
  setting_up "$build" "$setting" || rc=$?
  if [ $rc -eq 3 ]; then continue; fi
  [ $rc -eq 0 ] || exit $rc
  later=
  for sc in ${SCENARIOS:-ga-flash seat-flash}; do
    [ -z "$later" ] || setting_settle # the previous scenario ran on this server
    later=1
    sized=()
    case $sc in
      ga-flash | seat-flash) sized=(--units 1000000 --seats 100000 --connections 8 --depth 256) ;;
    esac
    echo "== $setting: onsale-bench --scenario $sc --json --verify $* (server 127.0.0.1:$port, $tmp)" >&2
    out=$(setting_bench "$build" --port "$port" --config "$tmp/onsaled.conf" \
          --scenario "$sc" "${sized[@]}" --json --verify "$@") || status=1
    printf '%s\n' "$out" >&2
    printf '%s\n' "$out" | tail -n 1 | setting_json "$setting" | tee -a "$json"
  done
  setting_cleanup
done
echo "bench-local: JSON lines saved in $json" >&2
exit $status
