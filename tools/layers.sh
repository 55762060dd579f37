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
net/guard:   core net/proto
net/server:  core net/proto net/wal net/store net/shard net/guard
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
# With BUILD (a build directory holding the objects; else $LAYERS_BUILD,
# which `make test` sets), it also fails when .c files call each other's
# functions (from nm), in pairs or in a longer loop, naming the files and
# one function each calls.
set -u
cd "$(dirname "$0")/.." || exit 1
build=${1:-${LAYERS_BUILD:-}}
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

# Calls between .c files of core, net, tools and bench (not the tests'
# helpers): an edge a -> b when a.o uses a symbol b.o defines. Only objects whose source is still there count (an old build
# directory may hold objects of files since moved or removed), and a
# symbol defined by more than one object (each program's main) names no
# file. The graph must have no cycle: two files that call each other, or
# a longer loop (a -> b -> c -> a), fails the check.
calls_check() {
	for o in $(cd "$1" && find core net tools bench -name '*.o' 2>/dev/null | sort); do
		[ -f "${o%.o}.c" ] && echo "$o"
	done >"$tmp/objs"
	[ -s "$tmp/objs" ] || { echo "layers: no objects in $1, calls not checked"; return 0; }
	# one nm for all (one per object was most of this check's 11 s);
	# -A starts each line with "OBJECT:"
	(cd "$1" && xargs nm -A <"$tmp/objs") | awk '
			{ i = index($0, ":"); o = substr($0, 1, i - 1); f = substr(o, 1, length(o) - 2) ".c"
			  $0 = substr($0, i + 1) }
			$1 == "U" { print "U", f, $2 }
			NF == 3 && $2 ~ /^[TDBR]$/ { print "D", f, $3, $2 }' | awk '
		$1 == "D" { defs[$3]++; def[$3] = $2; kind[$3] = $4 == "T" ? "calls" : "uses"; next }
		{ use[++n] = $2 " " $3 }
		END { for (i = 1; i <= n; i++) { split(use[i], u, " ")
			if (defs[u[2]] == 1 && def[u[2]] != u[1]) print u[1], def[u[2]], kind[u[2]], u[2] } }' |
		sort -u >"$tmp/calls"
	[ -s "$tmp/calls" ] || { echo "layers: no objects in $1, calls not checked"; return 0; }
	awk -f /dev/stdin "$tmp/calls" <<'AWK'
# Tarjan's strongly connected components; each is one cycle or more.
function strong(v,   i, w) {
	order[v] = low[v] = ++visits; stack[++sp] = v; on[v] = 1
	for (i = 1; i <= deg[v]; i++) {
		w = adj[v, i]
		if (!(w in order)) { strong(w); if (low[w] < low[v]) low[v] = low[w] }
		else if (on[w] && order[w] < low[v]) low[v] = order[w]
	}
	if (low[v] != order[v]) return
	comps++
	do { w = stack[sp--]; on[w] = 0; comp[w] = comps; size[comps]++ } while (w != v)
}
# A simple cycle of at least 3 files through start inside its component,
# in path[1..plen]; a component whose cycles are all pairs has none.
function loop_from(v, depth,   i, w) {
	if (++steps > 100000) return 0
	path[depth] = v; onpath[v] = 1
	for (i = 1; i <= deg[v]; i++) {
		w = adj[v, i]
		if (comp[w] != comp[start]) continue
		if (w == start && depth >= 3) { plen = depth; onpath[v] = 0; return 1 }
		if (!onpath[w] && loop_from(w, depth + 1)) { onpath[v] = 0; return 1 }
	}
	onpath[v] = 0
	return 0
}
function edge(a, b) { return "    " a " " how[a, b] " " sym[a, b] " (" b ")" }
{
	if (!(($1, $2) in how)) { how[$1, $2] = $3; sym[$1, $2] = $4; adj[$1, ++deg[$1]] = $2 }
	if (!($1 in seen)) { seen[$1] = 1; node[++nodes] = $1 }
	if (!($2 in seen)) { seen[$2] = 1; node[++nodes] = $2 }
}
END {
	for (i = 1; i <= nodes; i++) if (!(node[i] in order)) strong(node[i])
	for (k in how) {
		split(k, e, SUBSEP)
		if (e[1] < e[2] && ((e[2], e[1]) in how))
			print "layers: " e[1] " and " e[2] " call each other: " e[1] " " how[e[1], e[2]] \
			      " " sym[e[1], e[2]] ", " e[2] " " how[e[2], e[1]] " " sym[e[2], e[1]] | "sort"
	}
	close("sort")
	for (c = 1; c <= comps; c++) {
		if (size[c] < 2) continue
		bad = 1
		for (i = 1; i <= nodes && size[c] > 2; i++) {
			start = node[i]
			if (comp[start] != c || !loop_from(start, 1)) continue
			print "layers: .c files call each other in a loop:"
			for (j = 1; j < plen; j++) print edge(path[j], path[j + 1])
			print edge(path[plen], start)
			break
		}
	}
	exit bad
}
AWK
}

if [ -n "$build" ]; then
	if [ -d "$build" ]; then
		calls_check "$build" || status=1
	else
		echo "layers: $build is no build directory, calls not checked"
	fi
fi

calls=
[ -s "$tmp/calls" ] && calls=", $(cut -d' ' -f1,2 "$tmp/calls" | sort -u | wc -l) file-to-file calls, no cycle"
[ "$status" -eq 0 ] && echo "layers: ok ($(wc -l <"$tmp/inc") includes$calls)"
exit "$status"
