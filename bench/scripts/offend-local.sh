#!/usr/bin/env bash
# offend-local.sh BUILD [onsale-offend options...]: what `make
# bench-offenders` runs. Starts a fresh onsaled (peer-onsale.sh beside it:
# data in a temporary directory, a free port on 127.0.0.1, role keys from
# onsaled --gen-config, durable), runs onsale-offend against it with
# --json and the server's pid (for its RSS), every kind unless the options
# say otherwise (--kinds slowloris,idle --duration 2 shortens it), prints
# the table and the JSON lines (also saved in $OFFEND_JSON, default
# var/offend.json), stops the server and removes the data. Exits non-zero
# when the run failed or lost an acknowledged confirm.
set -euo pipefail
build=${1:-build}
shift || true
. "$(dirname "$0")/peer-onsale.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-offend.XXXXXX")
cleanup() {
  onsale_stop
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
port=$(peer_free_port)
onsale_start "$build" "$tmp" "$port"
json=${OFFEND_JSON:-var/offend.json}
mkdir -p "$(dirname "$json")"
echo "== onsale-offend --json $* (server 127.0.0.1:$port pid $ONSALE_PID, $tmp; $(uptime))" >&2
status=0
"$build/bin/onsale-offend" --port "$port" --config "$tmp/onsaled.conf" \
  --server-pid "$ONSALE_PID" --json "$@" >"$tmp/offend.json" || status=1
tee "$json" <"$tmp/offend.json"
echo "offend-local: JSON lines saved in $json" >&2
exit $status
