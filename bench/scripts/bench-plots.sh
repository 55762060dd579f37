#!/usr/bin/env bash
# bench-plots.sh: what `make bench-plots` runs. Turns the JSON of
# onsale-bench runs into PNG charts with gnuplot (the chart scripts are
# plots/*.gp beside this one; jq turns the JSON into their data files):
#   from the runs file (default var/bench.json, written by `make bench`):
#     bench-throughput.png  operations/s and p99 of each second ("timeline")
#     bench-latency.png     latency percentile curves ("latency_curve_us",
#                           "hold_curve_us")
#   from the compare file (default var/compare.json, written by `make compare`):
#     compare-ops.png       operations/s per scenario, one bar per system
#     compare-latency-SCENARIO.png  latency curves of every system
# A chart whose input is missing is skipped with a message; it fails only
# when no chart at all could be drawn, or on bad options or a gnuplot error.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/scripts/bench-plots.sh [options]
Draws PNG charts of onsale-bench runs with gnuplot (needs gnuplot and jq;
`make bench-plots` installs them).

  --input FILE    runs file: JSON objects as printed by onsale-bench --json,
                  one per line (other lines are skipped), or a compare file
                  (env PLOT_INPUT; default var/bench.json)
  --compare FILE  {"machine":..,"date":..,"runs":[..]} from make compare
                  (env COMPARE_JSON; default var/compare.json)
  --out DIR       where the PNGs go (env PLOT_OUT; default docs/img)
  --note TEXT     a line added under every chart title, e.g. "measured
                  while the machine was shared" (env PLOT_NOTE)
  --help          this text

The chart titles carry the scenarios, the machine and the date: from the
compare file's "machine" and "date" when it has them, otherwise this
machine (uname -srm, nproc) and the input file's modification time.
EOF
}

input=${PLOT_INPUT:-var/bench.json}
compare=${COMPARE_JSON:-var/compare.json}
out=${PLOT_OUT:-docs/img}
note=${PLOT_NOTE:-}
while [ $# -gt 0 ]; do
  case $1 in
    --input|--compare|--out|--note)
      [ $# -ge 2 ] || { echo "bench-plots: $1 needs a value (see --help)" >&2; exit 2; } ;;
  esac
  case $1 in
    --input) input=$2; shift 2 ;;
    --compare) compare=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --note) note=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-plots: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
for tool in gnuplot jq; do
  command -v "$tool" >/dev/null || {
    echo "bench-plots: $tool not found; run make bench-plots (it installs it)" >&2; exit 1; }
done
case $out in *'"'*|*'\'*) echo "bench-plots: --out must not contain quotes or backslashes" >&2; exit 2 ;; esac
plots=$(cd "$(dirname "$0")/plots" && pwd)
mkdir -p "$out"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bench-plots.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# jq helpers shared by every chart: a run's label, text made safe inside a
# gnuplot double-quoted string, integers with thousands separators.
JQ_DEFS='
def clean: tostring | gsub("[^A-Za-z0-9 ._/@:,()+=×-]"; "_");
def runlabel: ("\(.system // "onsale") \(.scenario)"
            + (if (.rate // 0) > 0 then " at \(.rate) ops/s" else "" end)
            + (if .setting then " (\(.setting))" else "" end)) | clean;
def commas: (. + 0.5 | floor | tostring | explode | reverse) as $d
            | [range(0; $d | length; 3) as $i | $d[$i:$i + 3] | reverse | implode]
            | reverse | join(",");
def gpstr: "\"" + clean + "\"";
def scenarios: reduce (.[] | .scenario | clean) as $s ([]; if index([$s]) then . else . + [$s] end);
'
drawn=0
SCENARIOS_MAX=20   # compare-latency charts drawn at most (one per scenario)

# runs FILE > JSON lines: the run objects of a runs file or a compare file.
runs() {
  local sel='if type == "object" and has("runs") then .runs[] else . end
             | objects | select(has("scenario"))'
  if jq -e . "$1" >/dev/null 2>&1; then jq -c "$sel" "$1"
  else jq -R -c "fromjson? // empty | $sel" "$1"; fi
}

# subtitle FILE: "machine, date" of a file's runs.
subtitle() {
  local machine date
  machine=$(jq -r 'objects | .machine // empty' "$1" 2>/dev/null | head -n 1 || true)
  date=$(jq -r 'objects | .date // empty' "$1" 2>/dev/null | head -n 1 || true)
  [ -n "$machine" ] || machine="$(uname -srm), $(nproc) cores"
  [ -n "$date" ] || date=$(date -u -r "$1" '+%Y-%m-%d %H:%M UTC')
  printf '%s, %s' "$machine" "$date"
}

# draw NAME SCRIPT: runs gnuplot on style.gp, $tmp/NAME.vars and SCRIPT.
draw() {
  gnuplot "$plots/style.gp" "$tmp/$1.vars" "$plots/$2"
  echo "bench-plots: wrote $out/$1.png"
  drawn=$((drawn + 1))
}
skip() { echo "bench-plots: skipped $1.png: $2" >&2; }

# throughput NAME RUNS TITLE: chart (a) of the runs that have a timeline.
throughput() {
  local name=$1 runsf=$2 title=$3
  jq -r 'select((.timeline | type) == "array" and (.timeline | length) > 0)
         | (.timeline[] | "\(.[0]) \(.[1]) \(.[2])"), "", ""' "$runsf" >"$tmp/$name.dat"
  jq -rs "$JQ_DEFS"'
    map(select((.timeline | type) == "array" and (.timeline | length) > 0)) as $r
    | ([$r[].timeline[][1] | select(. > 0)] | if length > 0 and max > 20 * min then 1 else 0 end) as $logy
    | "n = \($r | length)", "array L[\([($r | length), 1] | max)]",
      ($r | to_entries[] | "L[\(.key + 1)] = \(.value | runlabel | gpstr)"),
      "logy = \($logy)",
      "title = \("Operations/s and p99 per second: \($r | scenarios | join(", "))" | gpstr)"' \
    "$runsf" >"$tmp/$name.vars"
  if grep -qx 'n = 0' "$tmp/$name.vars"; then skip "$name" "no run in $4 has a \"timeline\""; return; fi
  printf 'title = title . "\\n%s"\ndata = "%s"\nout = "%s"\n' \
    "$title" "$tmp/$name.dat" "$out/$name.png" >>"$tmp/$name.vars"
  draw "$name" throughput.gp
}

# latency NAME RUNS TITLE SOURCE: chart (b) of the runs that have a latency curve.
latency() {
  local name=$1 runsf=$2 title=$3
  local has='((.latency_curve_us | type) == "array" and (.latency_curve_us | length) > 0)'
  local nines='def nines: if . >= 100 then 5 else (1 - . / 100) | log10 * -1 end;'
  jq -r "$nines"'select('"$has"') | (.latency_curve_us[] | "\(.[0] | nines) \(.[1])"), "", ""' \
    "$runsf" >"$tmp/$name.dat"
  jq -r "$nines"'select('"$has"' and (.hold_curve_us | type) == "array" and (.hold_curve_us | length) > 0)
         | (.hold_curve_us[] | "\(.[0] | nines) \(.[1])"), "", ""' "$runsf" >"$tmp/$name-hold.dat"
  jq -rs "$JQ_DEFS"'
    map(select('"$has"')) as $r
    | [$r | to_entries[] | select((.value.hold_curve_us | type) == "array"
                                  and (.value.hold_curve_us | length) > 0) | .key + 1] as $h
    | "n = \($r | length)", "array L[\([($r | length), 1] | max)]",
      ($r | to_entries[] | "L[\(.key + 1)] = \(.value | runlabel | gpstr)"),
      "nh = \($h | length)", "array HT[\([($h | length), 1] | max)]",
      ($h | to_entries[] | "HT[\(.key + 1)] = \(.value)"),
      "title = \("Latency by percentile: \($r | scenarios | join(", "))" | gpstr)"' \
    "$runsf" >"$tmp/$name.vars"
  if grep -qx 'n = 0' "$tmp/$name.vars"; then skip "$name" "no run in $4 has a \"latency_curve_us\""; return; fi
  printf 'title = title . "\\n%s"\nlat = "%s"\nhold = "%s"\nout = "%s"\n' \
    "$title" "$tmp/$name.dat" "$tmp/$name-hold.dat" "$out/$name.png" >>"$tmp/$name.vars"
  draw "$name" latency.gp
}

# bars NAME RUNS TITLE: chart (c), ops/s per (scenario, system), the last run
# of each pair; clusters by scenario in order of appearance, systems onsale,
# redis, postgresql first.
bars() {
  local name=$1 runsf=$2 title=$3
  jq -rs "$JQ_DEFS"'
    map(.system = ((.system // "onsale") | clean) | .scenario = (.scenario | clean)) as $r
    | ($r | scenarios) as $sc
    | (["onsale", "redis", "postgresql"] as $k
       | ($k | map(select(. as $s | any($r[]; .system == $s))))
         + ($r | map(.system) | reduce .[] as $s ([]; if index([$s]) or ($k | index([$s])) then . else . + [$s] end)))
      as $sys
    | ($sys | length) as $ns
    | [ $sc | to_entries[] | .key as $i | .value as $s
        | ([$r[] | select(.scenario == $s and .system == "onsale")] | last | .ops_per_s // 0) as $base
        | $sys | to_entries[] | .key as $k | .value as $y
        | ([$r[] | select(.scenario == $s and .system == $y)] | last) as $run
        | select($run != null and ($run.ops_per_s // 0) > 0)
        | { x: ($i * ($ns + 1) + $k), y: $run.ops_per_s, k: ($k + 1),
            v: ($run.ops_per_s | commas),
            q: (if $y == "onsale" or $base <= 0 then " "
                elif $base >= 10 * $run.ops_per_s then "onsale ×\($base / $run.ops_per_s | commas)"
                else "onsale ×\($base / $run.ops_per_s * 10 + 0.5 | floor / 10)" end) } ] as $bars
    | if ($bars | length) == 0 then "n = 0" else
        "n = \($bars | length)", "ns = \($ns)", "array S[\($ns)]",
        ($sys | to_entries[] | "S[\(.key + 1)] = \(.value | gpstr)"),
        "set xtics (\([$sc | to_entries[] | "\(.value | gpstr) \(.key * ($ns + 1) + ($ns - 1) / 2)"] | join(", ")))",
        "ymin = \([$bars[].y] | min | log10 | floor | pow(10; .))",
        "ymax = \([$bars[].y] | max * 3 | log10 | ceil | pow(10; .))",
        "xmax = \([$bars[].x] | max)",
        "title = \("Operations/s per scenario, onsale and peers: \($sc | join(", "))" | gpstr)",
        "#DATA", ($bars[] | "\(.x) \(.y) \(.k) \(.v | gpstr) \(.q | gpstr)")
      end' "$runsf" >"$tmp/$name.all"
  if grep -qx 'n = 0' "$tmp/$name.all"; then skip "$name" "no run with ops_per_s > 0 in $4"; return; fi
  sed '/^#DATA$/,$d' "$tmp/$name.all" >"$tmp/$name.vars"
  sed '1,/^#DATA$/d' "$tmp/$name.all" >"$tmp/$name.dat"
  printf 'title = title . "\\n%s"\ndata = "%s"\nout = "%s"\n' \
    "$title" "$tmp/$name.dat" "$out/$name.png" >>"$tmp/$name.vars"
  draw "$name" compare.gp
}

# title_of FILE: the title lines under the first (machine, date; the note).
title_of() {
  local t
  t=$(subtitle "$1" | tr -d '"\\')
  [ -z "$note" ] || t="$t\\n$(printf '%s' "$note" | tr -d '"\\')"
  printf '%s' "$t"
}

if [ -s "$input" ]; then
  runs "$input" >"$tmp/bench.runs"
  t=$(title_of "$input")
  throughput bench-throughput "$tmp/bench.runs" "$t" "$input"
  latency bench-latency "$tmp/bench.runs" "$t" "$input"
else
  skip "bench-throughput and bench-latency" "$input is missing or empty (run make bench)"
fi

if [ -s "$compare" ]; then
  runs "$compare" >"$tmp/compare.runs"
  t=$(title_of "$compare")
  bars compare-ops "$tmp/compare.runs" "$t" "$compare"
  while read -r sc; do
    safe=$(printf '%s' "$sc" | tr -c 'A-Za-z0-9._-' '_')
    jq -c --arg s "$sc" 'select(.scenario == $s)' "$tmp/compare.runs" >"$tmp/compare-$safe.runs"
    latency "compare-latency-$safe" "$tmp/compare-$safe.runs" "$t" "$compare"
  done < <(jq -r '.scenario' "$tmp/compare.runs" | awk '!seen[$0]++' | head -n "$SCENARIOS_MAX")
else
  skip "compare-ops and compare-latency-*" "$compare is missing or empty (run make compare)"
fi

[ "$drawn" -gt 0 ] || { echo "bench-plots: no chart drawn (nothing to plot)" >&2; exit 1; }
