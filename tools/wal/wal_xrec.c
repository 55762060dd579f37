/*
 * wal_xrec.c — look-ups in the sorted table of records that tie shards
 * together (struct wt_peers: tier creations, stock transfers, exchanges),
 * by type and id. Below wal_peers.c (transfers) and wal_xchg.c
 * (exchanges), which both search it.
 */
#include "tools/wal/wal_tool.h"

size_t wt_peers_lower(const struct wt_peers *p, uint8_t type, uint64_t id)
{
	size_t lo = 0, hi = p->len;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct wt_xrec *x = &p->v[mid];

		if (x->type < type || (x->type == type && x->id < id))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct wt_xrec *wt_peers_find(const struct wt_peers *p, uint8_t type, uint64_t id)
{
	size_t i = wt_peers_lower(p, type, id);

	return i < p->len && p->v[i].type == type && p->v[i].id == id ? &p->v[i] : NULL;
}
