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
 * Large ones are mappings of their own, which also lets a fork skip them.
 */
#ifndef ONSALE_MEM_H
#define ONSALE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MEM_PAGE_BYTES 4096
#define MEM_HUGE_BYTES (2u << 20)

static inline size_t mem_huge_round(size_t n)
{
	return (n + MEM_HUGE_BYTES - 1) / MEM_HUGE_BYTES * MEM_HUGE_BYTES;
}

/* Zeroed, resident memory for a table of n bytes; mem_table_free() it.
 * NULL if none. A table of MEM_HUGE_BYTES or more is a mapping of its own,
 * 2 MiB-aligned, hinted for huge pages before its first touch (fresh, so
 * already zero): nothing else ever shares its pages, so whether a fork
 * copies it can be set per table (mem_table_fork). */
static inline void *mem_table_alloc(size_t n)
{
	volatile char *v;

	if (n < MEM_HUGE_BYTES) {
		void *p = malloc(n ? n : 1);
		if (!p)
			return NULL;
		memset(p, 0, n);
		v = p;
		for (size_t i = 0; i < n; i += MEM_PAGE_BYTES)
			v[i] = 0;
		return p;
	}
	size_t huge = mem_huge_round(n), head = 0;
	/* Linux 6.7+ places an anonymous mapping of whole 2 MiB units on a
	 * 2 MiB boundary itself, right below the one before: tables then lie
	 * side by side, so a fork's flip of them is one madvise per run of
	 * tables (net/store/shard_store.c). Elsewhere, map 2 MiB more and trim;
	 * that leaves gaps between tables. */
	char *m = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if ((uintptr_t)m % MEM_HUGE_BYTES) {
		munmap(m, huge);
		m = mmap(NULL, huge + MEM_HUGE_BYTES, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return NULL;
		head = (MEM_HUGE_BYTES - (uintptr_t)m % MEM_HUGE_BYTES) % MEM_HUGE_BYTES;
		if (head)
			munmap(m, head);
		munmap(m + head + huge, MEM_HUGE_BYTES - head);
	}
	v = m + head;
	madvise(m + head, huge, MADV_HUGEPAGE);
	for (size_t i = 0; i < huge; i += MEM_PAGE_BYTES)
		v[i] = 0;
	return m + head;
}

/* Frees a table of n bytes from mem_table_alloc (NULL: nothing). */
static inline void mem_table_free(void *p, size_t n)
{
	if (!p)
		return;
	if (n < MEM_HUGE_BYTES)
		free(p);
	else
		munmap(p, mem_huge_round(n));
}

/* Whether a forked child gets a copy of the table (MADV_DOFORK) or none
 * at all (MADV_DONTFORK); tables under MEM_HUGE_BYTES share the heap's
 * pages and are always copied. */
static inline void mem_table_fork(void *p, size_t n, bool fork)
{
	if (p && n >= MEM_HUGE_BYTES)
		madvise(p, mem_huge_round(n), fork ? MADV_DOFORK : MADV_DONTFORK);
}

/* The large tables of every event of a core (hold and ticket chunks, hash
 * maps), each as its start and size, all from mem_table_alloc. An event's
 * tables are kept from forks (mem_table_fork) unless their shard forks:
 * a shard's snapshot writer then copies only that shard's tables, and the
 * other shards take no copy-on-write for it. The forking shard lets them
 * be copied for the fork only; its writer lets go of them once it has
 * serialized the state, so the shard's later writes no longer copy pages
 * (net/shard_store.c, net/snapshot_fork.c). In core/event.c. */
struct core;
typedef void mem_range_fn(void *ctx, void *p, size_t bytes);
void event_tables_each(const struct core *c, mem_range_fn *fn, void *ctx);

#endif
