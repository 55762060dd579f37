#!/usr/bin/env bash
# san-run.sh KIND PROGRAM ARG: prints a small script for tests/run.sh that
# runs one program of the sanitizer build (make test's sanitizer lines):
#   fuzz PROGRAM CORPUS   the libFuzzer target over every file of its seed
#                         corpus, once each (no mutation); a crashing input
#                         is left beside PROGRAM;
#   test PROGRAM "ENV"    a test program with ENV (VAR=value ...) set.
# The script reports a skip and passes when PROGRAM was not built (no clang).
set -eu
kind=$1 prog=$2 arg=$3
echo '#!/bin/sh'
echo "[ -x '$prog' ] || { echo 'skipped: clang not found, $prog not built (tools/install-deps.sh clang)'; exit 0; }"
echo "export ASAN_OPTIONS=\${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
echo "export UBSAN_OPTIONS=\${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
case $kind in
  fuzz) echo "exec '$prog' -runs=0 -artifact_prefix='$prog-' '$arg'" ;;
  test) echo "exec env $arg '$prog'" ;;
  *) echo "san-run.sh: unknown kind $kind" >&2; exit 2 ;;
esac
