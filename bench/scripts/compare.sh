#!/usr/bin/env bash
# compare.sh BUILD: what `make compare` runs. Starts onsaled
# (peer-onsale.sh, beside this one), Redis (peer-redis.sh) and PostgreSQL
# (peer-pg.sh), each on a free 127.0.0.1 port with its data in one
# temporary directory and at matched durability (onsaled fdatasync; Redis
# appendfsync always; PostgreSQL synchronous_commit on), runs ga-flash and
# seat-flash against each (onsale-bench, bench-redis, bench-pg) with the
# same units, seats, seed and time cap and --json --verify, prints one table
# side by side and writes var/compare.json:
#   {"machine": "...", "date": "...", "runs": [<bench JSON>, ...]}
# Everything is stopped and removed afterwards. Exits non-zero if a run or
# its verify failed. Environment:
#   COMPARE_ARGS   options every bench takes, after the defaults below
#                  (e.g. "--units 50000 --seats 10000 --duration 10")
#   ONSALE_ARGS, REDIS_ARGS, PG_ARGS   options for one bench only
#   COMPARE_SYSTEMS  which systems (default "onsale redis postgresql")
#   COMPARE_OUT      the JSON file (default var/compare.json)
# onsale-bench and bench-redis run with the same offered load, 8
# connections x 256 pipelined requests (where onsale peaks on this 2-core
# machine; ONSALE_ARGS / REDIS_ARGS override it); bench-pg keeps its own 16
# connections, one transaction in flight each (a backend runs one at a
# time, so pipelining adds nothing).
set -euo pipefail
case ${1:-} in # the first argument is the build directory
  -h | --help) sed -n '2,/^set -e/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  -*) echo "compare: the first argument is BUILD, not $1 (see --help)" >&2; exit 2 ;;
esac
[ -x "${1:-build}/bin/onsaled" ] ||
  { echo "compare: no ${1:-build}/bin/onsaled (run make, or give the BUILD directory)" >&2; exit 2; }
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
# matched parameters: the same event sizes and buyers for every system (the
# issue's 100,000-seat venue for seat-flash);
# a time cap per run so the slow peers keep the total to a few minutes
# (1,000,000 GA units so that onsale's ga-flash lasts long enough to measure)
defaults=(--units 1000000 --seats 100000 --seed 1 --duration 20)
pipelined=(--connections 8 --depth 256)
read -r -a extra <<<"${COMPARE_ARGS:-}"
systems=${COMPARE_SYSTEMS:-onsale redis postgresql}
out=${COMPARE_OUT:-var/compare.json}
command -v jq >/dev/null || { echo "compare: jq missing (tools/install-deps.sh jq)" >&2; exit 1; }

. "$here/peer-onsale.sh"
. "$here/peer-redis.sh"
have_pg=
if [ -f "$here/peer-pg.sh" ] && [ -x "$build/bin/bench-pg" ]; then
  . "$here/peer-pg.sh"
  have_pg=1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/onsale-compare.XXXXXX")
started=()
cleanup() {
  local s
  for s in "${started[@]}"; do
    case $s in
      onsale) onsale_stop ;;
      redis) redis_stop "$tmp/redis" || true ;;
      postgresql) pg_stop "$tmp/pg" || true ;;
    esac
  done
  rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# start SYSTEM: starts its server; sets port[SYSTEM]. 1 if skipped.
declare -A port
start() {
  local p
  p=$(peer_free_port) || return 1
  case $1 in
    onsale) onsale_start "$build" "$tmp/onsale" "$p" ;;
    redis) redis_start "$tmp/redis" "$p" ;;
    postgresql)
      if [ -z "$have_pg" ]; then
        echo "compare: PostgreSQL skipped (bench/scripts/peer-pg.sh or $build/bin/bench-pg missing)" >&2
        return 1
      fi
      pg_start "$tmp/pg" "$p" ;;
    *) echo "compare: unknown system $1" >&2; return 1 ;;
  esac
  started+=("$1")
  port[$1]=$p
}

# bench SYSTEM SCENARIO: runs it, appends its JSON line to runs.jsonl.
bench() {
  local sys=$1 sc=$2 cmd own ownv rc=0 json
  case $sys in
    onsale) cmd=("$build/bin/onsale-bench" --config "$tmp/onsale/onsaled.conf")
            cmd+=("${pipelined[@]}"); own=${ONSALE_ARGS:-} ;;
    redis) cmd=("$build/bin/bench-redis" "${pipelined[@]}"); own=${REDIS_ARGS:-} ;;
    postgresql) cmd=("$build/bin/bench-pg"); own=${PG_ARGS:-} ;;
  esac
  read -r -a ownv <<<"$own"
  cmd+=(--port "${port[$sys]}" --scenario "$sc" "${defaults[@]}" "${extra[@]}" "${ownv[@]}"
        --json --verify)
  echo "== $sys $sc: ${cmd[*]}" >&2
  "${cmd[@]}" >"$tmp/out" || rc=$?
  cat "$tmp/out" >&2
  json=$(tail -n 1 "$tmp/out")
  if [ -z "$json" ] || ! jq -e 'type == "object"' <<<"$json" >/dev/null 2>&1; then
    json=$(jq -nc --arg s "$sys" --arg c "$sc" --arg v "run failed (exit $rc), no JSON" \
                  '{system: $s, scenario: $c, verify: $v}')
  elif [ "$rc" -ne 0 ] && jq -e '.verify == "ok"' <<<"$json" >/dev/null; then
    json=$(jq -c --arg v "run failed (exit $rc)" '.verify = $v' <<<"$json")
  fi
  printf '%s\n' "$json" >>"$tmp/runs.jsonl"
  return "$rc"
}

status=0
: >"$tmp/runs.jsonl"
for sys in $systems; do
  start "$sys" || { [ "$sys" = postgresql ] && [ -z "$have_pg" ] && continue; status=1; continue; }
  for sc in ga-flash seat-flash; do
    bench "$sys" "$sc" || status=1
  done
done

mkdir -p "$(dirname "$out")"
jq -s --arg m "$(uname -srm), $(nproc) cores" --arg d "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  '{machine: $m, date: $d, runs: .}' "$tmp/runs.jsonl" >"$out"

# One table: per scenario, every system and onsale's ops/s over its.
jq -r '
  (.runs | map(select(.system == "onsale")) | map({key: .scenario, value: .ops_per_s})
   | from_entries) as $on
  | .runs | sort_by(.scenario) | .[]
  | [.scenario, .system, (.ops_per_s // 0 | floor), (.holds_per_s // 0 | floor),
     (.p50_us // "-"), (.p99_us // "-"), (.p999_us // "-"),
     (if .system == "onsale" then "-"
      elif ($on[.scenario] // 0) > 0 and (.ops_per_s // 0) > 0
      then (($on[.scenario] / .ops_per_s * 10 | round) / 10 | tostring) + "x"
      else "n/a" end),
     .verify] | @tsv' "$out" |
  awk -F'\t' 'BEGIN { printf "%-11s %-11s %10s %10s %9s %9s %9s %10s  %s\n", "scenario",
                      "system", "ops/s", "holds/s", "p50 us", "p99 us", "p99.9 us",
                      "onsale÷", "verify" } # ÷ is two bytes
              { printf "%-11s %-11s %10s %10s %9s %9s %9s %9s  %s\n", $1, $2, $3, $4, $5,
                       $6, $7, $8, $9 }'
echo "written: $out" >&2
exit $status
