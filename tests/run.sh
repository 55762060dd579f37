#!/usr/bin/env bash
# run.sh BUILD TEST...: runs every test program with a time limit, counts
# cmocka test cases (or the whole program for non-cmocka tests) and ends
# with the line "N passed, N failed". Output of each program goes to
# BUILD/test-logs/NAME.log and is shown when the program fails.
set -u
build=$1; shift
logs=$build/test-logs; mkdir -p "$logs"
limit=${TEST_TIMEOUT_S:-600}
passed=0; failed=0
for t in "$@"; do
  name=$(basename "$t"); log=$logs/$name.log
  start=$(date +%s%N)
  timeout --kill-after=10 "$limit" "$t" >"$log" 2>&1; rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 )); secs=$((ms / 1000)).$(( (ms % 1000) / 100 ))
  p=$(grep -o '\[  PASSED  \] [0-9][0-9]* test' "$log" | tr -dc '0-9\n' | awk '{s+=$1} END {if (NR) print s}')
  f=$(grep -o '\[  FAILED  \] [0-9][0-9]* test' "$log" | tr -dc '0-9\n' | awk '{s+=$1} END {if (NR) print s}')
  if [ -n "$p" ] || [ -n "$f" ]; then
    p=${p:-0}; f=${f:-0}
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1   # crashed or timed out after its summary
  elif [ $rc -eq 0 ]; then p=1; f=0
  else p=0; f=1
  fi
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$f" -ne 0 ]; then
    echo "FAIL $name (exit $rc, ${secs}s) — log: $log"; tail -n 40 "$log" | sed 's/^/    /'
  else
    echo "ok   $name ($p, ${secs}s)"
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
