/*
 * mem.h — allocation of the large per-event tables.
 *
 * Hash maps are allocated when an event is created, hold and ticket tables
 * one 2 MiB chunk at a time as they first grow into it (event.c); either
 * must be resident from then on: a page fault on the first hold of a slot
 * costs microseconds, and a TLB miss on every random probe of a 64 MiB hash
 * map costs more than the probe. So large tables and chunks are 2 MiB
 * aligned, asked to be backed by huge pages (a hint; the kernel may refuse),
 * and touched page by page here. (A plain malloc + memset(0) is folded by the compiler into
 * calloc, which leaves fresh pages unmapped; volatile stores are not.)
 */
#ifndef ONSALE_MEM_H
#define ONSALE_MEM_H

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_PAGE_BYTES 4096
#define MEM_HUGE_BYTES (2u << 20)

/* Zeroed, resident memory for a table of n bytes; free() it. NULL if none. */
static inline void *mem_table_alloc(size_t n)
{
	size_t huge = (n + MEM_HUGE_BYTES - 1) / MEM_HUGE_BYTES * MEM_HUGE_BYTES;
	void *p = n >= MEM_HUGE_BYTES ? aligned_alloc(MEM_HUGE_BYTES, huge) : malloc(n ? n : 1);
	volatile char *v = p;

	if (!p)
		return NULL;
	if (n >= MEM_HUGE_BYTES)
		madvise(p, huge, MADV_HUGEPAGE);
	memset(p, 0, n);
	for (size_t i = 0; i < n; i += MEM_PAGE_BYTES)
		v[i] = 0;
	return p;
}

/* The large tables of every event of a core (hold and ticket chunks, hash
 * maps, the seat map), each as its start and size: a forked snapshot writer
 * lets go of them once it has serialized the state, so that the shard's
 * later writes to them no longer copy pages (net/snapshot_fork.c). In
 * core/event.c. */
struct core;
typedef void mem_range_fn(void *ctx, void *p, size_t bytes);
void event_tables_each(const struct core *c, mem_range_fn *fn, void *ctx);

#endif
