#!/usr/bin/env bash
# peer-pg.sh: a throw-away PostgreSQL cluster for the PostgreSQL peer of
# `make compare` (bench/pg/bench-pg.c). Source it and call
#   pg_start DIR PORT   initdb into DIR, start the server on 127.0.0.1:PORT
#                       (unix socket in DIR), wait until it accepts
#                       connections, create role and database "bench"
#   pg_stop DIR         stop it (pg_ctl stop -m fast); the caller removes DIR
# Durability is PostgreSQL's default, stated explicitly: fsync on,
# synchronous_commit on, full_page_writes on (a commit returns after its WAL
# is flushed). Authentication is trust on 127.0.0.1 and the socket only (a
# temporary cluster nobody else can reach). As root, initdb and postgres run
# as the `postgres` system user (they refuse to run as root); DIR is chowned
# to it. initdb runs with --no-sync (a throw-away cluster: its initial
# files need not reach the disk first; everything written afterwards is
# fsynced as configured). Run directly (`bench/scripts/peer-pg.sh start
# DIR PORT` / `stop DIR`) for manual use. The server package is a runtime dependency installed by
# `make compare` (tools/install-deps.sh postgresql), not by `make`.

# Every setting of the peer in one place.
PG_MAX_CONNECTIONS=${PG_MAX_CONNECTIONS:-256}  # bench-pg allows 200 connections
PG_SHARED_BUFFERS=${PG_SHARED_BUFFERS:-256MB}
PG_START_WAIT_S=${PG_START_WAIT_S:-30}

# pg_bindir: the newest installed server's bin directory.
pg_bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1) || true
  if [ -z "$d" ] || [ ! -x "$d/initdb" ]; then
    echo "peer-pg: no PostgreSQL server found under /usr/lib/postgresql" \
         "(install it: tools/install-deps.sh postgresql)" >&2
    return 1
  fi
  printf '%s\n' "$d"
}

# _pg_as CMD...: runs CMD as the postgres user when we are root.
_pg_as() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pg_start() {
  local dir=${1:?pg_start DIR PORT} port=${2:?pg_start DIR PORT} bin
  bin=$(pg_bindir) || return 1
  mkdir -p "$dir" || return 1
  dir=$(cd "$dir" && pwd)
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "peer-pg: no postgres system user" >&2; return 1; }
    chown postgres: "$dir"
    # a mktemp -d parent is 0700: let the postgres user pass through it
    if ! runuser -u postgres -- test -w "$dir"; then
      chmod go+x "$(dirname "$dir")"
      runuser -u postgres -- test -w "$dir" || {
        echo "peer-pg: the postgres user cannot reach $dir (make its parents searchable)" >&2
        return 1
      }
    fi
  fi
  _pg_as "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
  cat >>"$dir/data/postgresql.conf" <<EOF
# peer-pg.sh (onsale make compare)
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = $PG_MAX_CONNECTIONS
shared_buffers = $PG_SHARED_BUFFERS
fsync = on
synchronous_commit = on
full_page_writes = on
max_wal_size = 4GB
checkpoint_timeout = 15min
EOF
  printf '%s\n' "local all all trust" "host all all 127.0.0.1/32 trust" >"$dir/data/pg_hba.conf"
  _pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t "$PG_START_WAIT_S" start \
    >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  local i
  for ((i = 0; i < PG_START_WAIT_S * 10; i++)); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    sleep 0.1
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" || {
    echo "peer-pg: server on 127.0.0.1:$port not ready after ${PG_START_WAIT_S}s" >&2
    cat "$dir/server.log" >&2
    return 1
  }
  "$bin/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres \
    -c "CREATE ROLE bench LOGIN" -c "CREATE DATABASE bench OWNER bench" >/dev/null ||
    return 1
}

pg_stop() {
  local dir=${1:?pg_stop DIR} bin
  bin=$(pg_bindir) || return 1
  [ -f "$dir/data/postmaster.pid" ] || return 0
  _pg_as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start) pg_start "${2:?DIR}" "${3:?PORT}" ;;
    stop) pg_stop "${2:?DIR}" ;;
    *) echo "usage: $0 start DIR PORT | stop DIR   (or source it: pg_start, pg_stop)" >&2; exit 2 ;;
  esac
fi
