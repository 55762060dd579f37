#!/usr/bin/env bash
# latency-curve.sh BUILD [onsale-bench options...]: what `make bench-curve`
# runs. The open-loop latency curve of onsaled in each CPU setting of
# CURVE_SETTING (default "shared dedicated", see cpu-settings.sh): first a
# closed-loop run finds the setting's peak (served operations/s), then one
# open-loop run (onsale-bench --rate) per point of CURVE_POINTS (fractions
# of that peak, default up to 1.5: past it), each against a fresh onsaled
# so no point inherits another's data. Per point it prints a JSON line
#   {"setting","scenario","peak_ops_per_s","offered_ops_per_s",
#    "connections","load_threads","achieved_ops_per_s","p50_us","p99_us",
#    "p999_us","hold_p50_us","hold_p99_us","hold_p999_us","shed_fraction",
#    "hold_shed_fraction","seconds","load_avg"}
# (achieved and the latencies count served requests; shed ones, status 73,
# are the shed fractions), saves them in CURVE_JSON (default
# var/latency-curve.json) and ends with a Markdown table of every point
# for docs/PERFORMANCE.md. Variables: CURVE_RATES="10000 20000" (ops/s,
# instead of the peak run and CURVE_POINTS), CURVE_SCENARIO (ga-flash),
# CURVE_SECONDS (measured, 4), CURVE_WARMUP (1), CURVE_CONNECTIONS (16),
# CURVE_DEPTH (256), CURVE_THREADS (load threads of the peak run and the
# points; default in the dedicated setting one per CPU of BENCH_CPUS, at
# most one per connection: 16 threads on one CPU queue for it and their
# wake-ups add to the tail measured; in the shared one a thread per
# connection), CURVE_PEAK_CONNECTIONS (8), and onsale-bench options after
# BUILD (they come last and override). The peak is measured as `make
# bench` does (8 x 256 in flight, below the shard's --shed-slots, so it is
# of sales, not of 73s); the points offer 16 x 256, more than a shard takes
# in, so past the peak the queue forms inside the server, where it can
# shed, rather than only in the load generator's own slots. Bounded: (points + 1) x (warm-up + seconds) per setting,
# about a minute each with the defaults.
set -euo pipefail
case ${1:-} in # the first argument is the build directory
  -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "latency-curve: the first argument is BUILD, not $1 (see --help)" >&2; exit 2 ;;
esac
[ -x "${1:-build}/bin/onsaled" ] ||
  { echo "latency-curve: no ${1:-build}/bin/onsaled (run make, or give the BUILD directory)" >&2; exit 2; }
build=${1:-build}
shift || true
here=$(dirname "$0")
. "$here/peer-onsale.sh"
. "$here/cpu-settings.sh"
command -v jq >/dev/null || { echo "latency-curve: needs jq (make deps)" >&2; exit 2; }
scenario=${CURVE_SCENARIO:-ga-flash}
secs=${CURVE_SECONDS:-4}
warm=${CURVE_WARMUP:-1}
json=${CURVE_JSON:-var/latency-curve.json}
common=(--scenario "$scenario" --connections "${CURVE_CONNECTIONS:-16}"
        --depth "${CURVE_DEPTH:-256}" --seats 100000 --json)
mkdir -p "$(dirname "$json")"
: >"$json"
setting_traps

# run SETTING ARGS...: one onsale-bench run on a fresh onsaled; its JSON
# line on stdout, nothing when the setting cannot run here. Called in a
# command substitution, so its caller settles the disk first.
run() {
  local setting=$1 rc=0 out
  shift
  setting_up "$build" "$setting" || rc=$?
  if [ $rc -eq 0 ]; then
    out=$(setting_bench "$build" --port "$port" --config "$tmp/onsaled.conf" \
          "${common[@]}" "$@" 2>/dev/null) || rc=$?
    printf '%s\n' "$out" | tail -n 1 | grep '^{' || rc=1
  fi
  setting_cleanup
  return $rc
}

# units for a run at rate ops/s: ~1.25 units per operation, never sold out
# before the end, at most an event's EVENT_UNITS_MAX
units_for() {
  local u
  u=$(awk -v r="$1" -v s="$((secs + warm + 1))" 'BEGIN { printf "%d", r * s * 1.5 }')
  [ "$u" -ge 100000 ] || u=100000
  [ "$u" -le 4000000 ] || u=4000000
  echo "$u"
}

# extra_opt NAME: the value of onsale-bench option NAME among the extra
# options after BUILD (the last one given), or nothing
extra_opt() {
  local v= i
  for ((i = 0; i < ${#extra[@]}; i++)); do
    [ "${extra[i]}" != "$1" ] || v=${extra[i + 1]:-}
  done
  echo "$v"
}

# threads_for SETTING CONNECTIONS: a run's --threads option, if any, for
# CONNECTIONS unless the extra options give --connections (none when they
# give --threads: theirs comes last and wins)
threads_for() {
  [ -z "$(extra_opt --threads)" ] || return 0
  if [ -n "${CURVE_THREADS:-}" ]; then
    echo "--threads $CURVE_THREADS"
  elif [ "$1" = dedicated ]; then
    local n conns
    conns=$(extra_opt --connections)
    conns=${conns:-$2}
    n=$(cpu_count "$BENCH_CPUS")
    echo "--threads $((n < conns ? n : conns))"
  fi
}

point() { # point SETTING PEAK RATE: one point's JSON line into $json
  local setting=$1 peak=$2 rate=$3 line
  local -a points
  read -r -a points <<<"$(threads_for "$setting" "${CURVE_CONNECTIONS:-16}")"
  setting_settle
  echo "== $setting: --rate $rate ($scenario, $secs s)" >&2
  line=$(run "$setting" --rate "$rate" --units "$(units_for "$rate")" \
         --duration "$secs" --warmup "$warm" "${points[@]}" "${extra[@]}") || {
    echo "latency-curve: $setting at $rate ops/s failed" >&2
    return 1
  }
  jq -c --arg s "$setting" --argjson peak "$peak" --argjson rate "$rate" \
     --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" '{
       setting: $s, scenario, peak_ops_per_s: $peak, offered_ops_per_s: $rate,
       connections, load_threads: .threads,
       achieved_ops_per_s: (.ops_per_s | floor), p50_us, p99_us, p999_us,
       hold_p50_us: .hold.p50_us, hold_p99_us: .hold.p99_us, hold_p999_us: .hold.p999_us,
       shed_fraction: .shed_fraction.all, hold_shed_fraction: .shed_fraction.hold,
       seconds, load_avg: $load}' <<<"$line" | tee -a "$json"
}

extra=("$@")
status=0
for setting in ${CURVE_SETTING:-shared dedicated}; do
  if [ -n "${CURVE_RATES:-}" ]; then
    peak=0
    rates=$CURVE_RATES
  else
    setting_settle
    echo "== $setting: closed loop for the peak ($scenario, $secs s)" >&2
    # as many units as an event takes: the peak is of sales, not of
    # refusals once sold out; the load threads as for the points (one
    # load thread gave a dedicated ga-flash peak 13-25 % higher than 8)
    read -r -a peak_threads <<<"$(threads_for "$setting" "${CURVE_PEAK_CONNECTIONS:-8}")"
    line=$(run "$setting" --units 4000000 --duration "$secs" \
           --connections "${CURVE_PEAK_CONNECTIONS:-8}" "${peak_threads[@]}" "${extra[@]}") || {
      echo "latency-curve: $setting skipped (no peak run)" >&2
      continue
    }
    peak=$(jq '.ops_per_s | floor' <<<"$line")
    rates=$(for f in ${CURVE_POINTS:-0.1 0.25 0.5 0.75 0.9 1.0 1.25 1.5}; do
              awk -v p="$peak" -v f="$f" 'BEGIN { printf "%d\n", p * f / 1000 + 0.5 }'
            done | awk '$1 > 0 { print $1 * 1000 }' | sort -n -u)
  fi
  for rate in $rates; do
    point "$setting" "$peak" "$rate" || status=1
  done
done

# The table for docs/PERFORMANCE.md.
echo
echo "| setting | offered ops/s | achieved ops/s | p50 us | p99 us | p99.9 us | hold p99 us | shed | hold shed |"
echo "| --- | --: | --: | --: | --: | --: | --: | --: | --: |"
jq -r '"| \(.setting) | \(.offered_ops_per_s) | \(.achieved_ops_per_s) | \(.p50_us) | \(.p99_us) | \(.p999_us) | \(.hold_p99_us) | \(.shed_fraction * 1000 | round / 10)% | \(.hold_shed_fraction * 1000 | round / 10)% |"' "$json"
echo
echo "peaks (closed loop, ops/s): $(jq -r -s 'map(select(.peak_ops_per_s > 0) | "\(.setting) \(.peak_ops_per_s)") | unique | join(", ")' "$json");" \
     "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "latency-curve: JSON lines saved in $json" >&2
# every setting skipped (no peak run) measured nothing: not a success
[ -s "$json" ] || { echo "latency-curve: no point measured" >&2; exit 1; }
exit $status
