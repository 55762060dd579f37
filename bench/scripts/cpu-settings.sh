#!/usr/bin/env bash
# cpu-settings.sh: where the server and the load generator run, for
# bench-local.sh (`make bench`) and latency-curve.sh (`make bench-curve`).
# Source it (after peer-onsale.sh) and call
#   setting_start BUILD DIR PORT SETTING
#                     onsaled as onsale_start does, in SETTING:
#                       shared     as deployed on a small box: onsaled with
#                                  one shard per online CPU, pinned, and the
#                                  load generator anywhere (they queue for
#                                  the same CPUs);
#                       dedicated  onsaled on SERVER_CPUS only (taskset,
#                                  --no-pin, one shard per CPU there) and
#                                  the load generator on BENCH_CPUS only;
#                     returns 3 (after a message) when SETTING cannot run
#                     here (dedicated on one CPU, taskset missing)
#   setting_bench BUILD ARGS...
#                     runs BUILD/bin/onsale-bench ARGS... where SETTING says
#   setting_json SETTING < JSON line > JSON line with "setting",
#                     "server_cpus" and "bench_cpus" added
#   setting_up BUILD SETTING
#                     a fresh data directory in $tmp, a free port in $port
#                     and onsaled there in SETTING (setting_start); on a
#                     failure (3: SETTING cannot run here) nothing is left
#   setting_cleanup   stops onsaled and removes $tmp
#   setting_settle    before every run (not in a subshell: it remembers
#                     that one ran): after the first, sync and wait until
#                     the disk answers one-page syncs fast for 3 s, at
#                     most BENCH_SETTLE_S seconds (default 30; 0: none)
#   setting_traps     on exit stops the server and removes $tmp (the
#                     caller's data directory while one runs); a signal exits
# SERVER_CPUS and BENCH_CPUS are taskset CPU lists; by default the upper
# half of the online CPUs serve and the lower half load (2 CPUs: the
# server on CPU 1, the load generator on CPU 0).

CPU_SETTING=
BENCH_SETTLE_S=${BENCH_SETTLE_S:-30}
[[ $BENCH_SETTLE_S =~ ^[0-9]+$ ]] || {
  echo "cpu-settings: BENCH_SETTLE_S must be whole seconds, not \"$BENCH_SETTLE_S\"" >&2
  exit 2
}
cpu_n=$(nproc 2>/dev/null || echo 1)

# cpu_range LO HI: a taskset list ("1" or "2-3").
cpu_range() {
  if [ "$1" -ge "$2" ]; then echo "$1"; else echo "$1-$2"; fi
}
SERVER_CPUS=${SERVER_CPUS:-$(cpu_range $((cpu_n / 2)) $((cpu_n - 1)))}
BENCH_CPUS=${BENCH_CPUS:-$(cpu_range 0 $((cpu_n / 2 > 0 ? cpu_n / 2 - 1 : 0)))}

# cpu_count LIST: CPUs in a taskset list ("1", "2-3", "0,2-5").
cpu_count() {
  local n=0 part a b
  IFS=, read -r -a parts <<<"$1"
  for part in "${parts[@]}"; do
    a=${part%-*} b=${part#*-}
    n=$((n + b - a + 1))
  done
  echo "$n"
}

setting_start() {
  local build=$1 dir=$2 port=$3 setting=$4
  CPU_SETTING=$setting
  case $setting in
    shared) onsale_start "$build" "$dir" "$port" ;;
    dedicated)
      if [ "$cpu_n" -lt 2 ] || ! command -v taskset >/dev/null; then
        echo "cpu-settings: dedicated needs 2 CPUs and taskset; skipped" >&2
        return 3
      fi
      local shards
      shards=$(cpu_count "$SERVER_CPUS")
      ONSALE_WRAP="taskset -c $SERVER_CPUS" \
        ONSALED_ARGS="--shards $shards --no-pin ${ONSALED_ARGS:-}" \
        onsale_start "$build" "$dir" "$port"
      ;;
    *) echo "cpu-settings: unknown setting $setting (shared or dedicated)" >&2; return 2 ;;
  esac
}

setting_bench() {
  local build=$1
  shift
  if [ "$CPU_SETTING" = dedicated ]; then
    taskset -c "$BENCH_CPUS" "$build/bin/onsale-bench" "$@"
  else
    "$build/bin/onsale-bench" "$@"
  fi
}

setting_json() {
  local cpus_s=all cpus_b=all
  [ "$1" = dedicated ] && cpus_s=$SERVER_CPUS cpus_b=$BENCH_CPUS
  sed -e "s/}\$/,\"setting\":\"$1\",\"server_cpus\":\"$cpus_s\",\"bench_cpus\":\"$cpus_b\"}/"
}

tmp=
port=
setting_cleanup() {
  onsale_stop
  [ -z "$tmp" ] || rm -rf "$tmp"
  tmp=
}

# Let the disk settle before a run that follows another: on the virtual
# disk here a run's writes slowed the next run's fdatasyncs for seconds
# after it (the guest's disk idle meanwhile: the host's doing). A 61,000
# ops/s point after a 304,000 one: hold p99 150-248 ms and 0.3-1.7 % shed
# with no pause, whether the data was removed, kept or the server killed;
# after a 4,000,000-unit peak run, one-page fdatasyncs of 50-74 ms for 7 s.
# So:
# sync, then probe one-page dsync writes (dd: a process each, 15-21 ms
# here) every 50 ms until none took SETTLE_SLOW_MS more than the fastest
# for SETTLE_QUIET_S seconds, at most BENCH_SETTLE_S.
SETTLE_SLOW_MS=20
SETTLE_QUIET_S=3
setting_ran=
setting_settle() {
  if [ -n "$setting_ran" ] && [ "$BENCH_SETTLE_S" != 0 ]; then
    sync
    local probe t0 t1 ms min_ms=999999 quiet_since now start end
    probe=$(mktemp "${TMPDIR:-/tmp}/onsale-settle.XXXXXX")
    now=$(date +%s%N)
    start=$now quiet_since=$now
    end=$((now + BENCH_SETTLE_S * 1000000000))
    while [ "$now" -lt "$end" ] && [ $((now - quiet_since)) -lt $((SETTLE_QUIET_S * 1000000000)) ]; do
      t0=$(date +%s%N)
      dd if=/dev/zero of="$probe" bs=4k count=1 oflag=dsync conv=notrunc status=none
      t1=$(date +%s%N)
      ms=$(((t1 - t0) / 1000000))
      [ "$ms" -ge "$min_ms" ] || min_ms=$ms
      [ "$ms" -le $((min_ms + SETTLE_SLOW_MS)) ] || quiet_since=$t1
      sleep 0.05
      now=$(date +%s%N)
    done
    rm -f "$probe"
    echo "== disk settled in $(((now - start) / 100000000))00 ms" >&2
  fi
  setting_ran=1
}

setting_up() {
  local rc=0
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-$2.XXXXXX")
  port=$(peer_free_port) || rc=$?
  [ "$rc" -ne 0 ] || setting_start "$1" "$tmp" "$port" "$2" || rc=$?
  [ "$rc" -eq 0 ] || setting_cleanup
  return "$rc"
}

setting_traps() {
  trap setting_cleanup EXIT
  trap 'exit 143' INT TERM
}
