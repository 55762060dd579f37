#!/usr/bin/env bash
# test_bench_curve.sh: bench/scripts/latency-curve.sh (make bench-curve) in a
# tiny run: two offered loads in each CPU setting (dedicated only where
# there are 2 CPUs), 1 s each against a fresh onsaled on 127.0.0.1. Checks
# the output's shape: one JSON line per point with every field, the offered
# load as asked, served operations, shed fractions between 0 and 1, and a
# Markdown table with one row per point, the load threads per setting.
# Needs jq. About 10 seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
build=${LAYERS_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-bench-curve.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: one assertion
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
jqt() { jq -e "$@" >/dev/null; } # jqt ARGS...: a jq test, quiet
command -v jq >/dev/null || { echo "skip: no jq"; exit 0; }
[ -x "$build/bin/onsaled" ] || { echo "FAIL no $build/bin/onsaled"; exit 1; }

# The make-target scripts take BUILD first: --help is their header, exit 0;
# an option or a BUILD without onsaled is refused, exit 2, before any run
# (bench-local.sh said "--help/bin/onsaled: No such file or directory",
# and latency-curve.sh exited 0 with an empty table when no setting ran).
for s in bench-local latency-curve compare offend-local; do
  "$root/bench/scripts/$s.sh" --help >"$tmp/help" 2>&1
  check "$s.sh --help exits 0" [ $? -eq 0 ]
  check "$s.sh --help prints its header" grep -q "^$s.sh BUILD" "$tmp/help"
  CURVE_JSON="$tmp/none.json" BENCH_JSON="$tmp/none.json" \
    "$root/bench/scripts/$s.sh" "$tmp/no-build" >"$tmp/bad" 2>&1
  check "$s.sh with no onsaled in BUILD exits 2" [ $? -eq 2 ]
  check "$s.sh says so" grep -q "$s: no $tmp/no-build/bin/onsaled" "$tmp/bad"
  "$root/bench/scripts/$s.sh" --bogus >/dev/null 2>&1
  check "$s.sh --bogus exits 2" [ $? -eq 2 ]
done
BENCH_SETTLE_S=0 CURVE_SETTING=none CURVE_JSON="$tmp/none.json" \
  timeout 60 "$root/bench/scripts/latency-curve.sh" "$build" >/dev/null 2>"$tmp/bad"
check "latency-curve.sh that measured no point exits 1" [ $? -eq 1 ]

unset SERVER_CPUS BENCH_CPUS # the defaults: the load on the lower half of the CPUs
settings="shared dedicated"
[ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null || settings=shared
n_settings=$(wc -w <<<"$settings")
BENCH_SETTLE_S=0 CURVE_SETTING=$settings CURVE_RATES="2000 4000" CURVE_SECONDS=1 CURVE_WARMUP=0 \
  CURVE_JSON="$tmp/curve.json" CURVE_CONNECTIONS=2 CURVE_DEPTH=16 \
  timeout 120 "$root/bench/scripts/latency-curve.sh" "$build" >"$tmp/out" 2>"$tmp/err"
check "exit 0" [ $? -eq 0 ] || sed 's/^/    /' "$tmp/err"

check "one JSON line per point" [ "$(wc -l <"$tmp/curve.json")" -eq $((2 * n_settings)) ]
fields='["setting","scenario","peak_ops_per_s","offered_ops_per_s","connections",
         "load_threads","achieved_ops_per_s",
         "p50_us","p99_us","p999_us","hold_p50_us","hold_p99_us","hold_p999_us",
         "shed_fraction","hold_shed_fraction","seconds","load_avg"]'
check "every field in every line" \
  jqt -s --argjson f "$fields" 'all(.[]; . as $o | all($f[]; . as $k | $o | has($k)))' "$tmp/curve.json"
check "offered loads as asked, per setting" \
  jqt -s --arg s "$settings" '[.[] | "\(.setting) \(.offered_ops_per_s)"]
    == [($s | split(" ")[]) as $x | "\($x) 2000", "\($x) 4000"]' "$tmp/curve.json"
check "load threads: one per connection shared, one per load CPU dedicated" \
  jqt -s --argjson cpus "$(( $(nproc) / 2 ))" 'all(.[]; if .setting == "dedicated"
      then .load_threads == ([$cpus, .connections] | min) else .load_threads == .connections end)' \
  "$tmp/curve.json"
check "served operations, latencies in order" \
  jqt -s 'all(.[]; .achieved_ops_per_s > 0 and .p50_us > 0 and .p50_us <= .p99_us
                    and .p99_us <= .p999_us)' "$tmp/curve.json"
check "shed fractions in [0, 1]" \
  jqt -s 'all(.[]; .shed_fraction >= 0 and .shed_fraction <= 1
                    and .hold_shed_fraction >= 0 and .hold_shed_fraction <= 1)' "$tmp/curve.json"
check "table header" grep -q '^| setting | offered ops/s | achieved ops/s | p50 us | p99 us | p99.9 us | hold p99 us | shed | hold shed |$' "$tmp/out"
check "one table row per point" [ "$(grep -c '^| \(shared\|dedicated\) | [0-9]' "$tmp/out")" -eq $((2 * n_settings)) ]
check "load average and time under the table" grep -q 'load average at the end: .* UTC$' "$tmp/out"
echo "$fails failed"
[ "$fails" -eq 0 ]
