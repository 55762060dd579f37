/*
 * test_shard_counts.c — the home node's count table (net/shard/counts.c):
 * units and in-flight keys per (event, customer), deletion by backward
 * shift, a bound while serving, and growth at start-up that keeps every
 * entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/shard/parts.h"

static void add_get_remove(void **state)
{
	(void)state;
	struct counts ct;
	assert_int_equal(counts_init(&ct, 64), 0);
	assert_int_equal(counts_add(&ct, 1, 42, 0, 3), 0);
	assert_int_equal(counts_add(&ct, 1, 42, 0xabc, 1), 0); /* a key in flight */
	assert_int_equal(counts_add(&ct, 2, 42, 0, 5), 0);
	assert_int_equal(counts_get(&ct, 1, 42, 0), 3);
	assert_int_equal(counts_get(&ct, 1, 42, 0xabc), 1);
	assert_int_equal(counts_get(&ct, 2, 42, 0), 5);
	assert_int_equal(counts_add(&ct, 1, 42, 0, -5), 0); /* clamped at 0: gone */
	assert_int_equal(counts_get(&ct, 1, 42, 0), 0);
	assert_int_equal(ct.used, 2);
	assert_int_equal(counts_add(&ct, 1, 43, 0, -1), 0); /* nothing to take */
	assert_int_equal(ct.used, 2);
	counts_fini(&ct);
}

static void bounded_then_grown(void **state)
{
	(void)state;
	struct counts ct;
	uint32_t n = 0;
	assert_int_equal(counts_init(&ct, 100), 0);
	while (counts_add(&ct, 7, 1000 + n, 0, n % 5 + 1) == 0)
		n++;
	assert_true(n >= 100); /* full at half its slots, never fewer than asked */
	assert_int_equal(counts_add(&ct, 7, 999999, 0, 1), -ENOSPC);
	assert_int_equal(counts_grow(&ct), 0);
	assert_int_equal(ct.used, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(counts_get(&ct, 7, 1000 + i, 0), i % 5 + 1);
	assert_int_equal(counts_add(&ct, 7, 999999, 0, 1), 0);
	/* removals in the grown table keep the others findable */
	for (uint32_t i = 0; i < n; i += 2)
		assert_int_equal(counts_add(&ct, 7, 1000 + i, 0, -10), 0);
	for (uint32_t i = 1; i < n; i += 2)
		assert_int_equal(counts_get(&ct, 7, 1000 + i, 0), i % 5 + 1);
	counts_fini(&ct);
}

static void drop_an_event(void **state)
{
	(void)state;
	struct counts ct;
	assert_int_equal(counts_init(&ct, 512), 0);
	for (uint64_t c = 1; c <= 400; c++) /* two events, interleaved in the table */
		assert_int_equal(counts_add(&ct, c % 2 ? 5 : 6, c, c % 7 == 0 ? c : 0, 1), 0);
	assert_int_equal(counts_drop_event(&ct, 5), 200);
	assert_int_equal(ct.used, 200);
	for (uint64_t c = 1; c <= 400; c++)
		assert_int_equal(counts_get(&ct, c % 2 ? 5 : 6, c, c % 7 == 0 ? c : 0),
				 c % 2 ? 0 : 1);
	counts_fini(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_get_remove),
		cmocka_unit_test(bounded_then_grown),
		cmocka_unit_test(drop_an_event),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
