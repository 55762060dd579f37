#!/usr/bin/env bash
# run-demo.sh BUILD: what `make run` starts. onsaled on 127.0.0.1:7400 with
# its data in ./var (DATA=dir and PORT=n override), role keys generated into
# DATA/onsaled.conf on first use, and the demo on-sale loaded over the
# protocol if the data has no demo event yet. Ctrl-C stops it cleanly.
set -euo pipefail
build=${1:-build}
data=${DATA:-./var}
port=${PORT:-7400}
conf=$data/onsaled.conf
mkdir -p "$data"
if [ ! -f "$conf" ]; then
  "$build/bin/onsaled" --gen-config "$conf"
  echo "generated role keys in $conf (keep it private)"
fi
"$build/bin/onsaled" -l "127.0.0.1:$port" -d "$data" -c "$conf" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
  kill -0 $pid 2>/dev/null || { wait $pid; exit 1; }
  sleep 0.1
done
"$build/bin/onsale-demo-load" --port "$port" --config "$conf"
cat <<INFO

onsaled is running (pid $pid) on 127.0.0.1:$port, data in $data.
  role keys:   $conf (admin_key, platform_key, box_office_key, scanner_key)
  protocol:    docs/PROTOCOL.md; C client library: net/client/onsale.h, docs/CLIENT.md
  try:         $build/bin/onsale-demo-load --port $port --config $conf --show
Ctrl-C stops it (drain, sync, snapshot).
INFO
wait $pid
