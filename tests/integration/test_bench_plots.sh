#!/usr/bin/env bash
# test_bench_plots.sh: bench/scripts/bench-plots.sh (make bench-plots) on the
# fixture runs beside it: every chart is a valid 900x500 PNG of non-trivial
# size, a chart whose input is missing is skipped with a message (and not
# drawn), nothing to plot and bad options are errors. Needs gnuplot and jq (make
# test installs them). Runs in about a second.
set -u
here=$(cd "$(dirname "$0")" && pwd)
plots="$here/../../bench/scripts/bench-plots.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-bench-plots.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: one assertion
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
png_ok() { # png_ok FILE: PNG signature, IHDR 900x500, more than 10 kB
  [ -f "$1" ] || { echo "  $1 missing"; return 1; }
  local head size
  head=$(od -An -tx1 -N24 "$1" | tr -d ' \n')
  size=$(stat -c %s "$1")
  [ "${head:0:16}" = 89504e470d0a1a0a ] || { echo "  $1: not a PNG ($head)"; return 1; }
  [ "${head:32:16}" = 00000384000001f4 ] || { echo "  $1: not 900x500 (${head:32:16})"; return 1; }
  [ "$size" -gt 10000 ] || { echo "  $1: only $size bytes"; return 1; }
}
run() { # run OUTDIR ARGS...: bench-plots, stderr kept in OUTDIR.err
  mkdir -p "$1"; "$plots" --out "$1" "${@:2}" >"$1.out" 2>"$1.err"
}

run "$tmp/all" --input "$here/bench-plots-runs.json" --compare "$here/bench-plots-compare.json"
check "both inputs: exit 0" [ $? -eq 0 ]
for f in bench-throughput bench-latency compare-ops compare-latency-ga-flash compare-latency-seat-flash; do
  check "both inputs: $f.png valid" png_ok "$tmp/all/$f.png"
done
check "both inputs: five charts, nothing else" [ "$(ls "$tmp/all" | wc -l)" -eq 5 ]

run "$tmp/nocmp" --input "$here/bench-plots-runs.json" --compare "$tmp/none.json"
check "no compare file: exit 0" [ $? -eq 0 ]
check "no compare file: says so" grep -q "skipped compare-ops.*none.json is missing" "$tmp/nocmp.err"
check "no compare file: no bar chart" [ ! -e "$tmp/nocmp/compare-ops.png" ]
check "no compare file: runs charts drawn" png_ok "$tmp/nocmp/bench-latency.png"

jq -c '.runs |= map(del(.timeline))' "$here/bench-plots-compare.json" >"$tmp/notl.json"
run "$tmp/notl" --input "$tmp/notl.json" --compare "$tmp/none.json"
check "runs without timeline: exit 0" [ $? -eq 0 ]
check "runs without timeline: no throughput chart" [ ! -e "$tmp/notl/bench-throughput.png" ]
check "runs without timeline: says why" grep -q 'skipped bench-throughput.png: no run .* has a "timeline"' "$tmp/notl.err"
check "compare file as runs input: latency chart" png_ok "$tmp/notl/bench-latency.png"

run "$tmp/none" --input "$tmp/none.json" --compare "$tmp/none.json"
check "nothing to plot: non-zero exit" [ $? -ne 0 ]
check "nothing to plot: says so" grep -q "no chart drawn" "$tmp/none.err"
run "$tmp/bad" --bogus
check "unknown option: exit 2" [ $? -eq 2 ]
run "$tmp/bad2" --input
check "option without its value: exit 2" [ $? -eq 2 ]
check "option without its value: says so" grep -q -- "--input needs a value" "$tmp/bad2.err"

echo "$fails failed"
[ "$fails" -eq 0 ]
