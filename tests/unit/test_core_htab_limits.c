/*
 * test_core_htab_limits.c — the limits of core/htab.c, reached with keys
 * crafted against its hash: core/htab.c is compiled into this test with
 * 16-slot segments and 8 bits of directory, so a dozen keys do what
 * thousands would against the real limits (core/limits.h).
 *
 * - Keys that share every directory bit fill one segment that cannot
 *   split: the map refuses the next one there (-ENOSPC, nothing changed)
 *   and takes keys elsewhere.
 * - Batches of such keys, inserted and removed, leave split segments
 *   behind (a map never merges them) until it has its most segments and
 *   refuses keys far below its bound: with a known hash a client could do
 *   this. With a secret seed (htab_seed, as onsaled draws one) the same
 *   keys spread like any others and the map takes its whole bound.
 */
#define HTAB_SEG_SLOTS 16u
#define HTAB_DEPTH_MAX 8u
#include "core/htab.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

/* With the seed at 0, this is the map's hash. */
static uint64_t crafted_hash(uint64_t key)
{
	return XXH3_64bits(&key, sizeof key);
}

/* n keys from *k on whose hash's leading `bits` bits are prefix. */
static void craft(uint64_t *keys, uint32_t n, uint32_t bits, uint64_t prefix, uint64_t *k)
{
	for (uint32_t i = 0; i < n; ++*k)
		if (crafted_hash(*k) >> (64 - bits) == prefix)
			keys[i++] = *k;
}

static void depth_limit_refuses_cleanly(void **state)
{
	struct htab h;
	uint64_t keys[13], k = 1;
	uint32_t fill;

	(void)state;
	htab_seed(0);
	assert_int_equal(htab_init(&h, 1000), 0);
	fill = h.seg_fill;
	assert_int_equal(fill, 12);
	craft(keys, fill + 1, HTAB_DEPTH_MAX, 0x5a, &k);
	for (uint32_t i = 0; i < fill; i++)
		assert_true(htab_insert(&h, keys[i], i));
	assert_int_equal(htab_reserve(&h, keys[fill]), -ENOSPC);
	assert_int_equal(h.depth, HTAB_DEPTH_MAX); /* it split as deep as it goes */
	assert_false(htab_insert(&h, keys[fill], 1));
	assert_null(htab_upsert(&h, keys[fill]));
	assert_int_equal(h.count, fill);
	for (uint32_t i = 0; i < fill; i++)
		assert_int_equal(*htab_find(&h, keys[i]), i);
	craft(keys, 1, HTAB_DEPTH_MAX, 0x5b, &k); /* the next corner has room */
	assert_true(htab_insert(&h, keys[0], 99));
	htab_fini(&h);
}

/* Inserts batches of keys crowding one corner each and removes them,
 * then counts how many random keys the empty map takes. */
static uint32_t after_a_flood(uint32_t count_max, uint32_t *segs)
{
	struct htab h;
	uint64_t keys[16], k = 1ull << 40, r = 7;
	uint32_t taken = 0;

	assert_int_equal(htab_init(&h, count_max), 0);
	for (uint64_t batch = 0; batch < 16; batch++) {
		craft(keys, 13, HTAB_DEPTH_MAX, batch * 37 % 256, &k); /* corners apart */
		for (uint32_t i = 0; i < 13; i++)
			(void)htab_insert(&h, keys[i], 1);
		for (uint32_t i = 0; i < 13; i++)
			(void)htab_remove(&h, keys[i]);
	}
	assert_int_equal(h.count, 0);
	*segs = h.seg_count;
	for (uint32_t i = 0; i < count_max; i++) {
		r = r * 6364136223846793005ull + 1442695040888963407ull;
		taken += htab_insert(&h, (r >> 1) | 1, 1);
	}
	htab_fini(&h);
	return taken;
}

static void a_secret_seed_defeats_a_flood(void **state)
{
	const uint32_t bound = 200, segs_max = bound / (HTAB_SEG_SLOTS / 4) + 2;
	uint32_t segs;

	(void)state;
	htab_seed(0); /* the hash the keys were crafted against */
	assert_true(after_a_flood(bound, &segs) < bound);
	assert_int_equal(segs, segs_max); /* every segment used up, most of them empty */
	htab_seed(0x9e3779b97f4a7c15ull);
	assert_int_equal(after_a_flood(bound, &segs), bound);
	assert_true(segs < segs_max);
	htab_seed(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(depth_limit_refuses_cleanly),
		cmocka_unit_test(a_secret_seed_defeats_a_flood),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
