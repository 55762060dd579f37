/*
 * test_core_htab.c — the bounded map of core/htab.c: inserts, finds and
 * removes agree with a plain model through dozens of segment splits up to
 * the bound; a map takes memory for the keys it has held, not for its
 * bound; the bound refuses cleanly; and the structure stays what lookups
 * rely on (every key in the segment its leading hash bits name, reachable
 * from its home slot; every segment named by exactly one aligned block of
 * the directory). The depth limit and keys crafted against the hash:
 * test_core_htab_limits.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <errno.h>
#include <xxhash.h>

#include "core/htab.h"
#include "core/limits.h"

static uint64_t hash(uint64_t key)
{
	return XXH3_64bits(&key, sizeof key);
}

static uint32_t home(const struct htab *h, uint64_t key)
{
	return (uint32_t)hash(key) & (h->seg_slots - 1);
}

/* The first key from `from` whose home slot is want. */
static uint64_t key_at(const struct htab *h, uint32_t want, uint64_t *from)
{
	for (;; ++*from)
		if (home(h, *from) == want)
			return (*from)++;
}

/* Where key lies in the (only) segment, or -1. */
static int32_t where(const struct htab *h, uint64_t key)
{
	for (uint32_t i = 0; i < h->seg_slots; i++)
		if (h->segs[0].slots[i].key == key)
			return (int32_t)i;
	return -1;
}

/* Everything a lookup relies on; returns the entries counted. */
static uint32_t check_structure(const struct htab *h)
{
	uint32_t total = 0, mask = h->seg_slots - 1, dir = 1u << h->depth;

	assert_true(h->depth <= HTAB_DEPTH_MAX);
	assert_true(h->seg_count >= 1 && h->seg_count <= h->segs_max);
	for (uint32_t i = 0; i < dir; i++) {
		const struct htab_seg *s = &h->segs[h->dir[i]];
		uint32_t block = 1u << (h->depth - s->depth), first = i & ~(block - 1);

		assert_true(h->dir[i] < h->seg_count && s->depth <= h->depth);
		for (uint32_t j = first; j < first + block; j++)
			assert_int_equal(h->dir[j], h->dir[i]);
	}
	for (uint32_t id = 0; id < h->seg_count; id++) {
		const struct htab_seg *s = &h->segs[id];
		uint32_t n = 0, named = 0;

		for (uint32_t i = 0; i < dir; i++)
			named += h->dir[i] == id;
		assert_int_equal(named, 1u << (h->depth - s->depth)); /* no orphan */

		assert_true(s->count < h->seg_slots);
		for (uint32_t i = 0; i < h->seg_slots; i++) {
			uint64_t key = s->slots[i].key, x = hash(key);

			if (!key)
				continue;
			n++;
			/* its leading bits name this segment */
			assert_int_equal(h->dir[h->depth ? x >> (64 - h->depth) : 0], id);
			/* no empty slot between its home and it */
			for (uint32_t j = (uint32_t)x & mask; j != i; j = (j + 1) & mask)
				assert_true(s->slots[j].key != 0);
		}
		assert_int_equal(n, s->count);
		total += n;
	}
	assert_int_equal(total, h->count);
	return total;
}

static void basics(void **state)
{
	struct htab h;
	uint64_t k[5];

	(void)state;
	assert_int_equal(htab_init(&h, 4), 0);
	assert_int_equal(h.seg_slots, 16); /* twice the entries, a power of two, at least 16 */
	assert_int_equal(h.segs_max, 1);   /* a bound that fits one segment never splits it */
	for (unsigned i = 0; i < 4; i++) {
		k[i] = 1000 + i * 7;
		assert_true(htab_insert(&h, k[i], i + 10));
	}
	k[4] = 5000;
	assert_false(htab_insert(&h, k[4], 1)); /* full */
	assert_int_equal(htab_reserve(&h, k[4]), -ENOSPC);
	assert_false(htab_insert(&h, k[0], 99)); /* present */
	assert_int_equal(*htab_find(&h, k[0]), 10);
	assert_false(htab_insert(&h, 0, 1)); /* key 0 marks an empty slot */
	assert_null(htab_find(&h, 0));
	assert_false(htab_remove(&h, 0));
	assert_null(htab_find(&h, k[4]));
	assert_false(htab_remove(&h, k[4]));
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(*htab_find(&h, k[i]), i + 10);
	*htab_find(&h, k[2]) = 77; /* values are updated in place */
	assert_int_equal(*htab_find(&h, k[2]), 77);
	assert_true(htab_remove(&h, k[1]));
	assert_false(htab_remove(&h, k[1]));
	assert_null(htab_find(&h, k[1]));
	assert_int_equal(h.count, 3);
	assert_int_equal(htab_reserve(&h, k[0]), 0); /* there already */
	assert_int_equal(htab_reserve(&h, k[4]), 0);
	assert_true(htab_insert(&h, k[4], 4)); /* room again */
	assert_int_equal(*htab_find(&h, k[4]), 4);
	assert_int_equal(htab_reserve(&h, k[1]), -ENOSPC);
	assert_null(htab_upsert(&h, k[1])); /* full */
	assert_null(htab_upsert(&h, 0));
	assert_ptr_equal(htab_upsert(&h, k[4]), htab_find(&h, k[4])); /* found, not added */
	assert_int_equal(h.count, 4);
	assert_true(htab_remove(&h, k[4]));
	assert_int_equal(*htab_upsert(&h, k[1]), 0); /* added as 0 */
	assert_int_equal(h.count, 4);
	check_structure(&h);
	htab_fini(&h);
	assert_int_equal(htab_init(&h, 1000), 0);
	assert_int_equal(h.seg_slots, 2048);
	htab_fini(&h);
	assert_int_equal(htab_init(&h, 1000000), 0);
	assert_int_equal(h.seg_slots, HTAB_SEG_SLOTS); /* larger bounds split segments */
	htab_fini(&h);
	htab_fini(&h); /* a finished map can be finished again */
}

static void backward_shift(void **state)
{
	struct htab h;
	uint64_t from = 1, p, q, s, x1, x2, y;

	(void)state;
	assert_int_equal(htab_init(&h, 7), 0);
	/* P and Q share home 3, S's home is 4: P@3 S@4 Q@5 */
	p = key_at(&h, 3, &from);
	q = key_at(&h, 3, &from);
	s = key_at(&h, 4, &from);
	assert_true(htab_insert(&h, p, 1));
	assert_true(htab_insert(&h, s, 2));
	assert_true(htab_insert(&h, q, 3));
	assert_int_equal(where(&h, p), 3);
	assert_int_equal(where(&h, s), 4);
	assert_int_equal(where(&h, q), 5);
	/* removing P: S stays at its home, Q moves back into the hole */
	assert_true(htab_remove(&h, p));
	assert_int_equal(where(&h, s), 4);
	assert_int_equal(where(&h, q), 3);
	assert_int_equal(h.segs[0].slots[5].key, 0);
	assert_int_equal(*htab_find(&h, q), 3);
	assert_int_equal(*htab_find(&h, s), 2);
	assert_null(htab_find(&h, p));
	/* a cluster that wraps past the last slot: X1@15 X2@0 Y@1 */
	from = 1;
	x1 = key_at(&h, 15, &from);
	x2 = key_at(&h, 15, &from);
	from = 1;
	y = key_at(&h, 0, &from);
	assert_true(htab_insert(&h, x1, 10));
	assert_true(htab_insert(&h, x2, 11));
	assert_true(htab_insert(&h, y, 12));
	assert_int_equal(where(&h, x2), 0);
	assert_int_equal(where(&h, y), 1);
	assert_true(htab_remove(&h, x1));
	assert_int_equal(where(&h, x2), 15);
	assert_int_equal(where(&h, y), 0);
	assert_int_equal(h.segs[0].slots[1].key, 0);
	assert_int_equal(*htab_find(&h, x2), 11);
	assert_int_equal(*htab_find(&h, y), 12);
	/* removing the last of a cluster leaves the rest in place */
	assert_true(htab_remove(&h, y));
	assert_int_equal(where(&h, x2), 15);
	assert_int_equal(*htab_find(&h, x2), 11);
	assert_int_equal(h.count, 3);
	check_structure(&h);
	htab_fini(&h);
}

/* Random inserts and removes agree with a plain array, on a crowded map of
 * one segment and on one that splits a few dozen times and then sits at
 * its bound. */
static void against_model_of(uint32_t max, uint32_t keys, uint32_t steps, uint32_t check_every)
{
	struct htab h;
	uint32_t *val = calloc(keys, sizeof *val), count = 0, peak = 0;
	uint8_t *in = calloc(keys, 1);
	uint64_t rng = 12345;

	assert_non_null(val);
	assert_non_null(in);
	assert_int_equal(htab_init(&h, max), 0);
	for (uint32_t step = 0; step < steps; step++) {
		uint32_t i;
		uint64_t key;

		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		i = (uint32_t)(rng >> 33) % keys;
		key = (uint64_t)i * 0x9e3779b97f4a7c15ull | 1; /* nonzero, spread */
		if ((rng >> 20) % 8 < 5) {                     /* grows on the whole */
			bool ok = htab_insert(&h, key, step);

			assert_int_equal(ok, !in[i] && count < max);
			if (ok) {
				in[i] = 1;
				val[i] = step;
				count++;
			}
		} else {
			assert_int_equal(htab_remove(&h, key), in[i]);
			count -= in[i];
			in[i] = 0;
		}
		assert_int_equal(h.count, count);
		peak = count > peak ? count : peak;
		if (step % check_every == 0) {
			assert_int_equal(check_structure(&h), count);
			for (uint32_t j = 0; j < keys; j++) {
				uint32_t *v = htab_find(&h,
							(uint64_t)j * 0x9e3779b97f4a7c15ull | 1);

				assert_int_equal(v != NULL, in[j]);
				if (v)
					assert_int_equal(*v, val[j]);
			}
		}
	}
	assert_int_equal(peak, max); /* it was refused at its bound too */
	/* the walk visits every entry once (a key is i * C | 1, C odd) */
	uint64_t pos = 0, seen = 0, inv = 0x9e3779b97f4a7c15ull;
	for (int n = 0; n < 6; n++)
		inv *= 2 - 0x9e3779b97f4a7c15ull * inv;
	for (const struct htab_slot *e; (e = htab_next(&h, &pos)); seen++) {
		uint64_t i = e->key * inv;

		if (i >= keys || ((uint64_t)i * 0x9e3779b97f4a7c15ull | 1) != e->key)
			i = (e->key ^ 1) * inv;
		assert_true(i < keys);
		assert_int_equal(in[i], 1);
		assert_int_equal(e->val, val[i]);
		in[i] = 2;
	}
	assert_int_equal(seen, count);
	htab_fini(&h);
	free(val);
	free(in);
}

static void against_model(void **state)
{
	(void)state;
	against_model_of(48, 96, 20000, 97);
	against_model_of(40000, 80000, 300000, 2999);
}

/* Memory follows the keys: a map bounded by millions of entries starts at
 * one segment, grows a segment at a time as keys arrive, and keeps its
 * segments when they leave (re-inserting the same keys allocates nothing). */
static void grows_with_its_keys(void **state)
{
	enum { KEYS = 200000 };
	struct htab h;
	size_t empty, full;
	uint32_t segs;

	(void)state;
	assert_int_equal(htab_init(&h, 8u << 20), 0);
	empty = htab_bytes(&h);
	assert_int_equal(h.seg_count, 1);
	/* a reservation splits a full segment ahead of its insert */
	for (uint32_t i = 1; i <= h.seg_fill; i++)
		assert_true(htab_insert(&h, i, i));
	assert_int_equal(h.seg_count, 1);
	assert_int_equal(htab_reserve(&h, KEYS + 1), 0);
	assert_int_equal(h.seg_count, 2);
	assert_true(htab_insert(&h, KEYS + 1, 1));
	assert_int_equal(h.seg_count, 2);
	assert_true(htab_remove(&h, KEYS + 1));
	assert_true(empty < 512u << 10); /* was 2 x 16 B x 8 Mi = 256 MiB, allocated up front */
	for (uint32_t i = h.seg_fill + 1; i <= KEYS; i++) {
		uint32_t before = h.seg_count;

		assert_true(htab_insert(&h, i, i));
		assert_true(h.seg_count - before <= 2); /* a split at a time, not a rehash */
	}
	full = htab_bytes(&h);
	segs = h.seg_count;
	check_structure(&h);
	/* about 1 / (3/4 .. 3/8) of a slot per key, and nothing like the bound */
	assert_true(full < (size_t)KEYS * 16 * 3);
	assert_true(full > (size_t)KEYS * 16);
	assert_true(h.depth < 12);
	for (uint32_t i = 1; i <= KEYS; i++)
		assert_int_equal(*htab_find(&h, i), i);
	for (uint32_t i = 1; i <= KEYS; i++)
		assert_true(htab_remove(&h, i));
	assert_int_equal(check_structure(&h), 0);
	for (uint32_t i = 1; i <= KEYS; i++)
		assert_true(htab_insert(&h, i, i + 1));
	assert_int_equal(h.seg_count, segs);
	assert_int_equal(htab_bytes(&h), full);
	htab_fini(&h);
}

/* Grown ahead for n keys, a map splits no further while they arrive (they
 * hash evenly enough), takes its segments in one slab, and grows on past
 * that as if it had never been grown. */
static void grown_ahead(void **state)
{
	enum { KEYS = 100000 };
	struct htab h;
	uint32_t segs;

	(void)state;
	assert_int_equal(htab_init(&h, 1u << 20), 0);
	assert_true(htab_insert(&h, 7, 7)); /* a key already there moves with its split */
	assert_int_equal(htab_grow(&h, KEYS), 0);
	segs = h.seg_count;
	assert_int_equal(segs, 1u << h.depth); /* every directory entry its own segment */
	assert_true((uint64_t)segs * h.seg_slots / 2 >= KEYS);
	assert_true((uint64_t)segs * h.seg_slots / 4 < KEYS);
	assert_true(h.slab_count <= 2);
	assert_int_equal(*htab_find(&h, 7), 7);
	check_structure(&h);
	for (uint32_t i = 8; i < 8 + KEYS; i++)
		assert_true(htab_insert(&h, i, i));
	assert_int_equal(h.seg_count, segs);
	for (uint32_t i = 8 + KEYS; i < 8 + 3 * KEYS; i++)
		assert_true(htab_insert(&h, i, i));
	assert_true(h.seg_count > segs);
	assert_int_equal(check_structure(&h), 3 * KEYS + 1);
	assert_int_equal(htab_grow(&h, 1000), 0); /* smaller than it is: nothing to do */
	htab_fini(&h);
}

/* The slabs are what the map's memory is, each from mem_table_alloc. */
static void add_bytes(void *ctx, void *p, size_t bytes)
{
	assert_non_null(p);
	*(size_t *)ctx += bytes;
}

static void slabs_cover_the_segments(void **state)
{
	struct htab h;
	size_t slabs = 0;

	(void)state;
	assert_int_equal(htab_init(&h, 1u << 20), 0);
	for (uint32_t i = 1; i <= 300000; i++)
		assert_true(htab_insert(&h, i, i));
	htab_slabs_each(&h, add_bytes, &slabs);
	assert_true(slabs >= (size_t)h.seg_count * h.seg_slots * sizeof(struct htab_slot));
	assert_true(slabs < htab_bytes(&h));
	/* slabs of 1, 2, 4, 8, 16 segments of 64 KiB, then of 2 MiB */
	assert_true(h.slab_count > 6);
	for (uint32_t i = 0; i < h.slab_count; i++)
		assert_int_equal(h.slabs[i].bytes, (i < 5 ? 1u << i : 32u) * (64u << 10));
	htab_fini(&h);
}

/* Keys whose hashes share their leading bits crowd one corner of the
 * directory: the map splits that corner deep and the rest stays shallow
 * (what crafted keys can do beyond that: test_core_htab_limits.c). */
static void crowded_hashes(void **state)
{
	enum { SHARED = 6 };
	struct htab h;
	uint32_t n = 0, count_max = 20000;
	uint64_t k = 1;

	(void)state;
	assert_int_equal(htab_init(&h, count_max), 0);
	while (n < 6000) {
		if (hash(k) >> (64 - SHARED) == 0) {
			assert_true(htab_insert(&h, k, n));
			n++;
		}
		k++;
	}
	check_structure(&h);
	assert_true(h.depth > SHARED);
	assert_true(h.seg_count <= h.depth + 4); /* a split a level, not a tree */
	/* keys elsewhere still go in */
	for (uint64_t i = 0; i < 100; k++)
		if (hash(k) >> (64 - SHARED) != 0) {
			assert_true(htab_insert(&h, k, 1));
			i++;
		}
	check_structure(&h);
	htab_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(basics),         cmocka_unit_test(backward_shift),
		cmocka_unit_test(against_model),  cmocka_unit_test(grows_with_its_keys),
		cmocka_unit_test(grown_ahead),    cmocka_unit_test(slabs_cover_the_segments),
		cmocka_unit_test(crowded_hashes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
