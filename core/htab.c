/*
 * htab.c — extendible hashing over open-addressing segments. See htab.h for
 * why the map exists, how it grows and how it is bounded.
 *
 * A key's hash x is used twice: its leading `depth` bits index the
 * directory, and its low bits are the key's home slot in its segment
 * (HTAB_DEPTH_MAX + log2(HTAB_SEG_SLOTS) <= 64: the two never overlap).
 * A segment of local depth d is named by the 2^(depth - d) directory
 * entries that share its d leading bits, a contiguous block.
 */
#include "core/htab.h"
#include "core/limits.h"
#include "core/mem.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

/* htab_seed's secret; 0 (xxh3's default) until a program sets it. */
static uint64_t secret;

void htab_seed(uint64_t seed)
{
	secret = seed;
}

static inline uint64_t hash_of(uint64_t key)
{
	return XXH3_64bits_withSeed(&key, sizeof key, secret);
}

/* The directory entry of hash x: its leading depth bits (none at depth 0). */
static inline uint32_t dir_index(const struct htab *h, uint64_t x)
{
	return (uint32_t)((x >> 1) >> (63 - h->depth));
}

static inline struct htab_seg *seg_of(const struct htab *h, uint64_t x)
{
	return &h->segs[h->dir[dir_index(h, x)]];
}

static size_t seg_bytes(const struct htab *h)
{
	return (size_t)h->seg_slots * sizeof(struct htab_slot);
}

/* Segments in slab i: 1, 2, 4 … up to a huge page's worth. */
static uint32_t slab_segs(const struct htab *h, uint32_t i)
{
	uint32_t huge = (uint32_t)(MEM_HUGE_BYTES / seg_bytes(h));

	if (huge == 0)
		huge = 1;
	return i < 31 && (1u << i) < huge ? 1u << i : huge;
}

/* Memory for one more segment, zeroed: the next of the last slab, or the
 * first of a new one, of `want` segments if that is more than the slab's
 * turn (a map grown ahead of time takes its segments in one slab). NULL
 * when out of memory. */
static struct htab_slot *seg_memory(struct htab *h, uint32_t want)
{
	if (h->slab_left == 0) {
		uint32_t n = slab_segs(h, h->slab_count);
		size_t bytes;
		void *p;

		assert(h->slab_count < h->slabs_max);
		if (n < want)
			n = want;
		if (n > h->segs_max - h->seg_count)
			n = h->segs_max - h->seg_count;
		bytes = n * seg_bytes(h);
		p = mem_table_alloc(bytes);
		if (!p)
			return NULL;
		mem_table_fork(p, bytes, false);
		h->slabs[h->slab_count++] = (struct htab_slab){p, bytes};
		h->slab_left = n;
	}
	const struct htab_slab *last = &h->slabs[h->slab_count - 1];
	size_t used = last->bytes / seg_bytes(h) - h->slab_left--;

	return (struct htab_slot *)((char *)last->p + used * seg_bytes(h));
}

int htab_init(struct htab *h, uint32_t count_max)
{
	uint32_t slots = 16, segs;

	assert(h && count_max > 0);
	memset(h, 0, sizeof *h);
	while (slots < HTAB_SEG_SLOTS && slots < 2ull * count_max)
		slots <<= 1;
	h->seg_slots = slots;
	h->seg_fill = slots / 4 * 3;
	h->count_max = count_max;
	/* a map whose bound fits one segment never splits it; a larger one
	 * may take a segment per quarter-segment of entries, however they
	 * hash, and no more */
	h->segs_max = count_max < h->seg_fill ? 1 : count_max / (slots / 4) + 2;
	for (segs = 0; segs < h->segs_max; h->slabs_max++)
		segs += slab_segs(h, h->slabs_max);
	h->dir = malloc(sizeof *h->dir);
	h->segs = calloc(h->segs_max, sizeof *h->segs);
	h->slabs = calloc(h->slabs_max, sizeof *h->slabs);
	if (!h->dir || !h->segs || !h->slabs || !(h->segs[0].slots = seg_memory(h, 1))) {
		htab_fini(h);
		return -ENOMEM;
	}
	h->dir[0] = 0;
	h->seg_count = 1;
	return 0;
}

void htab_fini(struct htab *h)
{
	assert(h);
	for (uint32_t i = 0; h->slabs && i < h->slab_count; i++)
		mem_table_free(h->slabs[i].p, h->slabs[i].bytes);
	free(h->slabs);
	free(h->segs);
	free(h->dir);
	memset(h, 0, sizeof *h);
}

/* The slot of key in its segment, or the empty slot where it would go. */
static inline struct htab_slot *probe(const struct htab *h, const struct htab_seg *s, uint64_t x,
				      uint64_t key)
{
	uint32_t mask = h->seg_slots - 1, i;

	for (i = (uint32_t)x & mask; s->slots[i].key != 0; i = (i + 1) & mask)
		if (s->slots[i].key == key)
			break;
	return &s->slots[i];
}

/* Puts key (absent) in the first empty slot from its home in s (s has one). */
static void seg_place(const struct htab *h, struct htab_seg *s, uint64_t x, uint64_t key,
		      uint32_t val)
{
	*probe(h, s, x, key) = (struct htab_slot){.key = key, .val = val};
	s->count++;
}

uint32_t *htab_find(const struct htab *h, uint64_t key)
{
	assert(h && h->dir);
	if (key == 0 || h->count == 0) /* most maps of retired events are empty */
		return NULL;
	uint64_t x = hash_of(key);
	struct htab_slot *slot = probe(h, seg_of(h, x), x, key);

	return slot->key == key ? &slot->val : NULL;
}

static int dir_double(struct htab *h)
{
	uint32_t n = 1u << h->depth;
	uint32_t *dir = malloc(2 * (size_t)n * sizeof *dir);

	if (!dir)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		dir[2 * i] = dir[2 * i + 1] = h->dir[i];
	free(h->dir);
	h->dir = dir;
	h->depth++;
	return 0;
}

/* Moves the keys of s whose hash has bit `bit` set into t (empty), then
 * closes the gaps they leave in s. Re-placing what stays, in probe order
 * from a slot that was empty before any left, puts each where a fresh
 * insert would: no key's probe path crossed that slot, so each one's home
 * lies between it and the key. */
static void seg_split_keys(const struct htab *h, struct htab_seg *s, struct htab_seg *t,
			   uint64_t bit)
{
	uint32_t mask = h->seg_slots - 1, empty = 0;

	if (s->count == 0)
		return; /* a map grown ahead splits empty segments */
	while (s->slots[empty].key != 0)
		empty++;
	for (uint32_t i = 0; i <= mask; i++) {
		uint64_t key = s->slots[i].key, x = key ? hash_of(key) : 0;

		if (x & bit) {
			seg_place(h, t, x, key, s->slots[i].val);
			s->slots[i].key = 0;
			s->count--;
		}
	}
	if (t->count == 0 || s->count == 0)
		return;
	for (uint32_t k = 1; k <= mask; k++) {
		uint32_t i = (empty + k) & mask;
		struct htab_slot e = s->slots[i];

		if (!e.key)
			continue;
		s->slots[i].key = 0;
		s->count--;
		seg_place(h, s, hash_of(e.key), e.key, e.val);
	}
}

/* Splits the segment of hash x by its next leading bit. 0, -ENOSPC when it
 * uses every bit there is or the map has its most segments, or -ENOMEM
 * (a directory doubled before that is harmless: each segment's block is
 * twice as long). */
static int split(struct htab *h, uint64_t x, uint32_t want)
{
	uint32_t d = seg_of(h, x)->depth, block, first;
	struct htab_slot *mem;
	struct htab_seg *t;

	if (h->seg_count == h->segs_max || (d == h->depth && h->depth == HTAB_DEPTH_MAX))
		return -ENOSPC;
	if (d == h->depth && dir_double(h))
		return -ENOMEM;
	mem = seg_memory(h, want);
	if (!mem)
		return -ENOMEM;
	t = &h->segs[h->seg_count];
	*t = (struct htab_seg){.slots = mem, .depth = d + 1};
	seg_of(h, x)->depth = d + 1;
	seg_split_keys(h, seg_of(h, x), t, 1ull << (63 - d));
	block = 1u << (h->depth - d);
	first = dir_index(h, x) & ~(block - 1);
	for (uint32_t i = first + block / 2; i < first + block; i++)
		h->dir[i] = h->seg_count;
	h->seg_count++;
	return 0;
}

/* Splits the segment of hash x until it has room for one more key. */
static int split_for(struct htab *h, uint64_t x)
{
	while (seg_of(h, x)->count >= h->seg_fill) {
		int err = split(h, x, 1);

		if (err)
			return err;
	}
	return 0;
}

int htab_grow(struct htab *h, uint32_t n)
{
	uint32_t depth = 0;

	assert(h && h->dir);
	if (n > h->count_max)
		n = h->count_max;
	while (depth < HTAB_DEPTH_MAX && ((uint64_t)h->seg_slots / 2 << depth) < n &&
	       (2ull << depth) <= h->segs_max)
		depth++;
	while (h->depth < depth)
		if (dir_double(h))
			return -ENOMEM;
	for (uint32_t i = 0; i < (1u << depth); i++) {
		uint64_t x = depth ? (uint64_t)i << (64 - depth) : 0;

		while (seg_of(h, x)->depth < depth) {
			uint32_t want = h->seg_count < (1u << depth) ? (1u << depth) - h->seg_count
								     : 1;
			int err = split(h, x, want);

			if (err)
				return err;
		}
	}
	return 0;
}

int htab_reserve(struct htab *h, uint64_t key)
{
	assert(h && h->dir && key != 0);
	uint64_t x = hash_of(key);

	if (probe(h, seg_of(h, x), x, key)->key == key)
		return 0;
	if (h->count >= h->count_max)
		return -ENOSPC;
	return seg_of(h, x)->count < h->seg_fill ? 0 : split_for(h, x);
}

uint32_t *htab_upsert(struct htab *h, uint64_t key)
{
	assert(h && h->dir);
	if (key == 0)
		return NULL;
	uint64_t x = hash_of(key);
	struct htab_seg *s = seg_of(h, x);
	struct htab_slot *slot = probe(h, s, x, key);

	if (slot->key == key)
		return &slot->val;
	if (h->count >= h->count_max)
		return NULL;
	if (s->count >= h->seg_fill) { /* the slow path: a split first */
		if (split_for(h, x))
			return NULL;
		s = seg_of(h, x);
		slot = probe(h, s, x, key);
	}
	*slot = (struct htab_slot){.key = key};
	s->count++;
	h->count++;
	return &slot->val;
}

bool htab_insert(struct htab *h, uint64_t key, uint32_t val)
{
	uint32_t count = h->count, *v = htab_upsert(h, key);

	if (!v || h->count == count)
		return false; /* no room, or there already */
	*v = val;
	return true;
}

bool htab_remove(struct htab *h, uint64_t key)
{
	assert(h && h->dir);
	if (key == 0)
		return false;
	uint64_t x = hash_of(key);
	struct htab_seg *s = seg_of(h, x);
	struct htab_slot *slot = probe(h, s, x, key);
	uint32_t mask = h->seg_slots - 1, i = (uint32_t)(slot - s->slots), j;

	if (slot->key != key)
		return false;
	/* Backward shift: an entry later in the cluster moves into the hole
	 * unless its home lies cyclically in (hole, j]. */
	for (j = (i + 1) & mask; s->slots[j].key != 0; j = (j + 1) & mask) {
		uint32_t home = (uint32_t)hash_of(s->slots[j].key) & mask;

		if (((j - home) & mask) >= ((j - i) & mask)) {
			s->slots[i] = s->slots[j];
			i = j;
		}
	}
	s->slots[i].key = 0;
	s->count--;
	h->count--;
	return true;
}

const struct htab_slot *htab_next(const struct htab *h, uint64_t *pos)
{
	assert(h && pos);
	for (; *pos < (uint64_t)h->seg_count * h->seg_slots; ++*pos) {
		const struct htab_slot *slot =
			&h->segs[*pos / h->seg_slots].slots[*pos % h->seg_slots];

		if (slot->key) {
			++*pos;
			return slot;
		}
	}
	return NULL;
}

void htab_slabs_each(const struct htab *h, void (*fn)(void *ctx, void *p, size_t bytes), void *ctx)
{
	assert(h && fn);
	for (uint32_t i = 0; i < h->slab_count; i++)
		fn(ctx, h->slabs[i].p, h->slabs[i].bytes);
}

size_t htab_bytes(const struct htab *h)
{
	size_t bytes = ((size_t)1 << h->depth) * sizeof *h->dir +
		       (size_t)h->segs_max * sizeof *h->segs +
		       (size_t)h->slabs_max * sizeof *h->slabs;

	for (uint32_t i = 0; i < h->slab_count; i++)
		bytes += h->slabs[i].bytes;
	return bytes;
}
