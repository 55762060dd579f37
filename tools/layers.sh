#!/bin/sh
# layers.sh [BUILD] — the layer check of `make layers` and `make test`.
#
# The tree's layers, bottom up, each with the layers it may include. A
# layer may only name layers on lines above it, so the order is one-way by
# construction (docs/ARCHITECTURE.md shows the same order). A file belongs
# to the layer whose folder is the longest prefix of its path; it may
# include headers of its own layer and of the layers its line names.
# "*" means any layer.
LAYERS='
core:
net/proto:   core
net/wal:     core
net/store:   core net/wal
net/shard:   core net/proto net/wal net/store
net/server:  core net/proto net/wal net/store net/shard
net/client:  core net/proto
tools/wal:   core net/wal net/store
tools/demo:  core net/client
tools/ctl:   core net/client
bench:       core net/proto net/client net/wal net/store
tests:       *
'
#
# Fails (exit 1, naming file and include) when a file includes a header of
# a layer it may not include, a header that does not exist, or a file of
# no layer; when two folders include each other (also through a longer
# loop); and when headers include each other in a loop.
#
# With BUILD (a build directory holding the objects), it also lists pairs
# and loops of object files that call each other's functions (from nm).
# Those are printed as notes for review and do not fail the check.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

grep -rHn '^#include "' core net tools bench tests --include='*.[ch]' |
  sed 's/^\([^:]*\):\([0-9]*\):#include "\([^"]*\)".*/\1 \2 \3/' >"$tmp/inc"

printf '%s\n' "$LAYERS" | awk -v inc="$tmp/inc" -v folders="$tmp/folders" \
    -v headers="$tmp/headers" '
function layer_of(path,   l, best) {
	best = ""
	for (l in rank)
		if (index(path, l "/") == 1 && length(l) > length(best)) best = l
	return best
}
function dir_of(path) { sub(/\/[^\/]*$/, "", path); return path }
function fail(msg) { print "layers: " msg; bad = 1 }
/^[ \t]*$/ { next }
{
	name = $1; sub(/:$/, "", name)
	rank[name] = ++n
	for (i = 2; i <= NF; i++) {
		if ($i != "*" && !($i in rank))
			fail("table: " name " names " $i ", which is not a layer below it")
		may[name, $i] = 1
	}
}
END {
	while ((getline line < inc) > 0) {
		split(line, f, " "); file = f[1]; hdr = f[3]; where = file ":" f[2]
		lf = layer_of(file); lh = layer_of(hdr)
		if (lf == "") { fail(where ": " file " is in no layer"); continue }
		if ((getline junk < hdr) < 0) { fail(where ": includes " hdr ", which does not exist"); continue }
		close(hdr)
		if (lh == "") { fail(where ": includes " hdr ", which is in no layer"); continue }
		if (lh != lf && !((lf, lh) in may) && !((lf, "*") in may))
			fail(where ": includes " hdr " (" lf " may not include " lh ")")
		if (dir_of(file) != dir_of(hdr)) print dir_of(file), dir_of(hdr) > folders
		if (file ~ /\.h$/) print file, hdr > headers
	}
	exit bad
}' >"$tmp/out"
status=$?
cat "$tmp/out"

: >>"$tmp/folders"; : >>"$tmp/headers"
sort -u "$tmp/folders" | awk '{ e[$1 " " $2] = 1 }
END { for (k in e) { split(k, a, " ")
	if ((a[2] " " a[1]) in e && a[1] < a[2]) print "layers: folders " a[1] " and " a[2] " include each other" } }' >"$tmp/mutual"
if [ -s "$tmp/mutual" ]; then cat "$tmp/mutual"; status=1; fi
if ! sort -u "$tmp/folders" | tsort >/dev/null 2>"$tmp/loop"; then
	echo "layers: folders include each other in a loop:"; sed 's/^tsort: /    /' "$tmp/loop"; status=1
fi
if ! sort -u "$tmp/headers" | tsort >/dev/null 2>"$tmp/loop"; then
	echo "layers: headers include each other in a loop:"; sed 's/^tsort: /    /' "$tmp/loop"; status=1
fi

# Calls between object files: an edge a -> b when a.o uses a symbol b.o defines.
if [ -n "$build" ] && [ -d "$build" ]; then
	for o in $(cd "$build" && find core net tools bench -name '*.o' 2>/dev/null); do
		nm "$build/$o" | awk -v f="${o%.o}" '
			$1 == "U" { print "U", f, $2 }
			NF == 3 && $2 ~ /^[TDBR]$/ { print "D", f, $3 }'
	done | awk '$1 == "D" { def[$3] = $2; next } { use[++n] = $2 " " $3 }
		END { for (i = 1; i <= n; i++) { split(use[i], u, " ")
			if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' |
		sort -u >"$tmp/calls"
	awk '{ e[$1 " " $2] = 1 } END { for (k in e) { split(k, a, " ")
		if ((a[2] " " a[1]) in e && a[1] < a[2]) print "note: " a[1] ".c and " a[2] ".c call each other" } }' \
		"$tmp/calls" | sort
fi

[ "$status" -eq 0 ] && echo "layers: ok ($(wc -l <"$tmp/inc") includes)"
exit "$status"
