#!/usr/bin/env bash
# peer-redis.sh: a throw-away Redis server for the Redis peer of `make
# compare` (bench/redis/bench-redis.c). Source it and call
#   redis_start DIR PORT   start redis-server on 127.0.0.1:PORT with its data
#                          (AOF) in DIR, wait until it answers PING
#   redis_stop DIR         stop it (SHUTDOWN NOSAVE, then wait for the
#                          process); the caller removes DIR
# Durability matches onsale's: appendonly yes, appendfsync always (a write
# is fsynced to the AOF before its reply is sent), no RDB snapshots. Bound
# to 127.0.0.1 only, protected mode on, no password (a temporary server
# nobody else can reach). Run directly (`bench/scripts/peer-redis.sh start DIR
# PORT` / `stop DIR`) for manual use. The server package is a runtime
# dependency installed by `make compare` (tools/install-deps.sh
# redis-server), not by `make`.

# Every setting of the peer in one place.
REDIS_START_WAIT_S=${REDIS_START_WAIT_S:-30}
REDIS_MAXCLIENTS=${REDIS_MAXCLIENTS:-1024}  # bench-redis allows 256 connections

redis_start() {
  local dir=${1:?redis_start DIR PORT} port=${2:?redis_start DIR PORT} i
  command -v redis-server >/dev/null || {
    echo "peer-redis: no redis-server (install it: tools/install-deps.sh redis-server)" >&2
    return 1
  }
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  cat >"$dir/redis.conf" <<CONF
# peer-redis.sh (onsale make compare)
bind 127.0.0.1
port $port
protected-mode yes
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
dir $dir
save ""
appendonly yes
appendfsync always
appenddirname aof
no-appendfsync-on-rewrite no
maxclients $REDIS_MAXCLIENTS
CONF
  redis-server "$dir/redis.conf" || { cat "$dir/redis.log" >&2 2>/dev/null; return 1; }
  for ((i = 0; i < REDIS_START_WAIT_S * 10; i++)); do
    [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = PONG ] && return 0
    sleep 0.1
  done
  echo "peer-redis: server on 127.0.0.1:$port does not answer PING after ${REDIS_START_WAIT_S}s" >&2
  cat "$dir/redis.log" >&2
  return 1
}

redis_stop() {
  local dir=${1:?redis_stop DIR} port pid i
  [ -f "$dir/redis.pid" ] || return 0
  pid=$(cat "$dir/redis.pid")
  port=$(sed -n 's/^port //p' "$dir/redis.conf")
  redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < REDIS_START_WAIT_S * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start) redis_start "${2:?DIR}" "${3:?PORT}" ;;
    stop) redis_stop "${2:?DIR}" ;;
    *) echo "usage: $0 start DIR PORT | stop DIR   (or source it: redis_start, redis_stop)" >&2; exit 2 ;;
  esac
fi
