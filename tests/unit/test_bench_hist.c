/*
 * test_bench_hist.c — the load generators' latency histogram
 * (bench/common/hist.c): exact below 2048 ns, within 0.1 % (three
 * significant digits) above, percentiles and max of a known distribution,
 * and interval differences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "bench/common/hist.h"

static struct hist h;
static struct hist_snap s, older;

static void exact_and_relative(void **state)
{
	(void)state;
	static const uint64_t vals[] = {0,       1,        999,           2047,
					2048,    2049,     12345,         999999,
					1234567, 98765432, 3000000000ull, 1ull << 40};
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		static struct hist one;
		for (unsigned b = 0; b < HIST_BUCKETS; b++)
			atomic_store(&one.counts[b], 0);
		atomic_store(&one.total, 0);
		atomic_store(&one.max, 0);
		hist_record(&one, vals[i]);
		hist_snap_clear(&s);
		hist_snap_add(&s, &one);
		uint64_t v = hist_snap_pct(&s, 50);
		assert_true(v <= vals[i]);
		if (vals[i] < 2048)
			assert_int_equal(v, vals[i]);
		else
			assert_true((double)(vals[i] - v) <= (double)vals[i] / 1000.0);
		assert_int_equal(s.max, vals[i]);
	}
}

static void percentiles(void **state)
{
	(void)state;
	for (uint64_t v = 1; v <= 100000; v++)
		hist_record(&h, v * 1000u); /* 1 us .. 100 ms */
	hist_snap_clear(&s);
	hist_snap_add(&s, &h);
	assert_int_equal(s.total, 100000);
	const double pct[] = {50, 90, 99, 99.9};
	for (int i = 0; i < 4; i++) {
		double want = pct[i] * 1000.0 * 1000.0;
		double got = (double)hist_snap_pct(&s, pct[i]);
		assert_true(got >= want * 0.999 && got <= want * 1.001);
	}
	assert_int_equal(hist_snap_pct(&s, 100), 100000000u);
	older = s;
	for (int i = 0; i < 10; i++)
		hist_record(&h, 5000000u);
	hist_snap_clear(&s);
	hist_snap_add(&s, &h);
	hist_snap_sub(&s, &older);
	assert_int_equal(s.total, 10);
	uint64_t p = hist_snap_pct(&s, 99);
	assert_true(p >= 4995000u && p <= 5005000u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exact_and_relative),
		cmocka_unit_test(percentiles),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
