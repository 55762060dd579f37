#!/usr/bin/env bash
# peer-onsale.sh: a fresh onsaled for the benchmarks (`make bench` via
# bench-local.sh, `make compare` via compare.sh, both beside it). Source it
# and call
#   peer_free_port             prints a port nothing listens on (127.0.0.1)
#   onsale_start BUILD DIR PORT
#                              role keys from onsaled --gen-config into
#                              DIR/onsaled.conf, data in DIR/data, log in
#                              DIR/onsaled.log; listens on 127.0.0.1:PORT,
#                              durable (fdatasync on, onsaled's default);
#                              returns once it accepts connections;
#                              ONSALED_ARGS: more onsaled options
#                              (e.g. "--shards 1"); ONSALE_WRAP: a command
#                              it runs under (e.g. "taskset -c 1")
#   onsale_stop                stops it (SIGTERM, waits); the caller removes DIR
# Only one onsaled per shell: its pid is kept in ONSALE_PID.

ONSALE_START_WAIT_S=${ONSALE_START_WAIT_S:-30}
ONSALE_PID=

peer_free_port() {
  local p _
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "peer: no free port on 127.0.0.1" >&2
  return 1
}

onsale_start() {
  local build=${1:?onsale_start BUILD DIR PORT} dir=${2:?onsale_start BUILD DIR PORT}
  local port=${3:?onsale_start BUILD DIR PORT} i
  mkdir -p "$dir" || return 1
  "$build/bin/onsaled" --gen-config "$dir/onsaled.conf" >/dev/null || return 1
  local -a more wrap
  read -r -a more <<<"${ONSALED_ARGS:-}"
  read -r -a wrap <<<"${ONSALE_WRAP:-}"
  "${wrap[@]}" "$build/bin/onsaled" -l "127.0.0.1:$port" -d "$dir/data" -c "$dir/onsaled.conf" \
    "${more[@]}" >"$dir/onsaled.log" 2>&1 &
  ONSALE_PID=$!
  for ((i = 0; i < ONSALE_START_WAIT_S * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    kill -0 "$ONSALE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "peer-onsale: onsaled on 127.0.0.1:$port did not start" >&2
  cat "$dir/onsaled.log" >&2
  onsale_stop
  return 1
}

onsale_stop() {
  [ -n "$ONSALE_PID" ] || return 0
  kill -TERM "$ONSALE_PID" 2>/dev/null || true
  wait "$ONSALE_PID" 2>/dev/null || true
  ONSALE_PID=
}
