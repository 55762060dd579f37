#!/bin/sh
# memcheck.sh BUILD TEST...: `make memcheck`. Runs each test program under
# valgrind memcheck, and every onsaled it starts too (ONSALED_WRAP, read by
# tests/support/srv_harness.c), through tests/run.sh (its time limit and
# summary line). One log per process in BUILD/memcheck-logs/. Fails when a
# test fails or any log reports an error: an invalid read or write, a
# conditional jump on uninitialised memory, a bad free, a definitely lost
# block. Suppressions (library noise only, each explained) are in
# tests/support/memcheck.supp.
set -u
build=$1; shift
logs=$build/memcheck-logs
rm -rf "$logs"; mkdir -p "$logs/bin"
vg="valgrind --tool=memcheck --error-exitcode=99 --leak-check=full"
vg="$vg --show-leak-kinds=definite --errors-for-leak-kinds=definite"
vg="$vg --num-callers=30 --suppressions=tests/support/memcheck.supp"
vg="$vg --child-silent-after-fork=yes"
ONSALED_WRAP="$vg --log-file=$logs/onsaled-%p.log"
export ONSALED_WRAP
progs=
for t in "$@"; do
  name=$(basename "$t")
  printf '#!/bin/sh\nexec %s --log-file=%s/%s-%%p.log %s "$@"\n' "$vg" "$logs" "$name" "$t" \
    > "$logs/bin/$name"
  chmod +x "$logs/bin/$name"
  progs="$progs $logs/bin/$name"
done
TEST_TIMEOUT_S=${TEST_TIMEOUT_S:-900} tests/run.sh "$build" $progs; rc=$?
# a process killed on purpose (SIGKILL: crash tests) writes no summary
done_=$(grep -l 'ERROR SUMMARY:' "$logs"/*.log)
bad=$(grep -L 'ERROR SUMMARY: 0 errors' $done_)
for f in $bad; do
  echo "memcheck: errors in $f:"
  grep -B2 -A14 -m4 'Invalid\|uninitialised\|definitely lost\|free()\|Mismatched' "$f" | head -n 60
done
echo "memcheck: $(echo $done_ | wc -w) processes checked," \
  "$(( $(ls "$logs"/*.log | wc -l) - $(echo $done_ | wc -w) )) killed before their summary," \
  "$(echo $bad | wc -w) with errors"
[ $rc -eq 0 ] && [ -z "$bad" ]
