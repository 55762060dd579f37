#!/usr/bin/env bash
# offend-local.sh BUILD [onsale-offend options...]: what `make
# bench-offenders` runs. For each CPU setting in OFFEND_SETTING (default
# "shared dedicated"; see cpu-settings.sh) it starts a fresh onsaled
# (data in a temporary directory, a free port on 127.0.0.1, role keys from
# onsaled --gen-config, durable), runs onsale-offend against it with
# --json and the server's pid (for its RSS), every kind unless the options
# say otherwise (--kinds slowloris,idle --duration 2 shortens it), prints
# the table and the JSON lines (each with "setting"; all saved in
# $OFFEND_JSON, default var/offend.json), stops the server and removes the
# data.
#   shared     onsaled with a shard per CPU, client and offender anywhere,
#              the offender at nice 0: everything queues for the same CPUs
#   dedicated  onsaled alone on SERVER_CPUS; client and offender on
#              BENCH_CPUS, the offender's thread at nice 19
#              (OFFEND_NICE): it stands for an offender on another machine,
#              whose CPU comes out of neither the server's nor the
#              client's, so what is left is what the server does
# Exits non-zero when a run failed or lost an acknowledged confirm.
set -euo pipefail
case ${1:-} in # the first argument is the build directory
  -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "offend-local: the first argument is BUILD, not $1 (see --help)" >&2; exit 2 ;;
esac
[ -x "${1:-build}/bin/onsaled" ] ||
  { echo "offend-local: no ${1:-build}/bin/onsaled (run make, or give the BUILD directory)" >&2; exit 2; }
build=${1:-build}
shift || true
. "$(dirname "$0")/peer-onsale.sh"
. "$(dirname "$0")/cpu-settings.sh"
setting_traps
json=${OFFEND_JSON:-var/offend.json}
mkdir -p "$(dirname "$json")"
: >"$json"
status=0
for setting in ${OFFEND_SETTING:-shared dedicated}; do
  rc=0
  setting_settle
  setting_up "$build" "$setting" || rc=$?
  if [ "$rc" -eq 3 ]; then continue; fi
  [ "$rc" -eq 0 ] || exit "$rc"
  nice=0
  wrap=()
  if [ "$setting" = dedicated ]; then
    nice=${OFFEND_NICE:-19}
    wrap=(taskset -c "$BENCH_CPUS")
  fi
  echo "== $setting: onsale-offend --json --offender-nice $nice $* (server 127.0.0.1:$port" \
    "pid $ONSALE_PID, $tmp; $(uptime))" >&2
  "${wrap[@]}" "$build/bin/onsale-offend" --port "$port" --config "$tmp/onsaled.conf" \
    --server-pid "$ONSALE_PID" --offender-nice "$nice" --json "$@" >"$tmp/offend.json" ||
    status=1
  setting_json "$setting" <"$tmp/offend.json" | tee -a "$json"
  setting_cleanup
done
echo "offend-local: JSON lines saved in $json" >&2
exit $status
