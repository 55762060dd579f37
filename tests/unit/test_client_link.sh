#!/usr/bin/env bash
# test_client_link.sh: libonsale as a platform links it, from outside the
# tree, with the pkg-config file the build writes (docs/CLIENT.md): a C
# program (-std=c11 -pedantic) against the shared library and the static
# one, and a C++ program against the shared one (onsale.h declares C
# linkage: a C++ caller could not link, "undefined reference to
# onsale_strerror(int)"). Each prints a status name and checks a token
# decode, through the library. No server. About 2 seconds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$here/../..
build=${LAYERS_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-client-link.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
check() { # check DESCRIPTION COMMAND...: one assertion
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; fails=$((fails + 1)); fi
}
[ -f "$build/onsale.pc" ] || { echo "FAIL no $build/onsale.pc (make lib)"; exit 1; }
export PKG_CONFIG_PATH=$build
cflags=$(pkg-config --cflags onsale) && libs=$(pkg-config --libs onsale)
check "pkg-config knows onsale" [ -n "$libs" ]

cat >"$tmp/p.c" <<'C'
#include <stdio.h>
#include <string.h>
#include "net/client/onsale.h"
int main(void)
{
	uint8_t tok[TOKEN_BYTES] = {0};
	struct token_claims cl;
	printf("%s\n", onsale_strerror(40));
	return strcmp(onsale_strerror(40), "sold_out") != 0 || token_decode(tok, &cl) == 0;
}
C
cp "$tmp/p.c" "$tmp/p.cc"

# run NAME: the program prints sold_out and exits 0
run() { [ "$("$tmp/$1" 2>&1)" = sold_out ]; }

# shellcheck disable=SC2086 # the flags are words
cc -std=c11 -pedantic -Werror $cflags "$tmp/p.c" -o "$tmp/c-shared" $libs -Wl,-rpath,"$build" 2>"$tmp/err"
check "C, shared library: builds" [ $? -eq 0 ]
check "C, shared library: runs" run c-shared
# shellcheck disable=SC2086
cc -std=c11 $cflags "$tmp/p.c" -o "$tmp/c-static" "$build/libonsale.a" -lsodium 2>>"$tmp/err"
check "C, static library: builds and runs" run c-static
if command -v c++ >/dev/null; then
  # shellcheck disable=SC2086
  c++ $cflags "$tmp/p.cc" -o "$tmp/cxx" $libs -Wl,-rpath,"$build" 2>>"$tmp/err"
  check "C++, shared library: builds" [ $? -eq 0 ]
  check "C++, shared library: runs" run cxx
else
  echo "skip C++: no c++ compiler (tools/install-deps.sh g++)"
fi
[ $fails -eq 0 ] || sed 's/^/    /' "$tmp/err"
echo "$fails failed"
[ $fails -eq 0 ]
