/*
 * test_bench_core.c — bench-core (bench/engine/bench-core.c) run as a
 * child process on venues too small or too fragmented for its tiers:
 * one seat, one seat per section, sections of two seats, a single
 * tier holding the whole venue. Every tier but the first may be empty, so
 * most attempts are refused; its latency buffer must hold them (it was
 * sized twice the venue, and a one-seat venue aborted with
 * "free(): invalid size"). Each shape runs on several seeds (which holds
 * are released differs); each run must exit 0, print its JSON line, and
 * make no more attempts than the bound the program states.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/support/tool_run.h"

#define SEEDS 8u
#define OUT_BYTES (1u << 14)
/* bench-core's BEST_TIERS x BEST_QTY_MAX: refused attempts beyond 2 x venue */
#define REFUSED_MAX 24u

static char tool[4096];

struct shape {
	unsigned sections, rows, seats_per_row;
};

/* The number after "key": in out, or fails. */
static unsigned long long field(const char *out, const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(out, pat);
	if (!p)
		fail_msg("no %s in:\n%s", key, out);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void run_shape(const struct shape *s)
{
	static char out[OUT_BYTES];
	unsigned venue = s->sections * s->rows * s->seats_per_row;
	for (unsigned seed = 1; seed <= SEEDS; seed++) {
		int rc = tool_run(tool, out, sizeof out,
				  "--ga-units 1000 --sections %u --rows %u --seats-per-row %u "
				  "--seed %u",
				  s->sections, s->rows, s->seats_per_row, seed);
		if (rc != 0)
			fail_msg("%u x %u x %u, seed %u: exit %d:\n%s", s->sections, s->rows,
				 s->seats_per_row, seed, rc, out);
		assert_int_equal(field(out, "venue_seats"), venue);
		unsigned long long attempts = field(out, "best_available_attempts");
		assert_true(attempts >= 4); /* one per tier at least */
		assert_true(attempts <= 2ull * venue + REFUSED_MAX);
	}
}

static void one_seat(void **state)
{
	(void)state;
	run_shape(&(struct shape){1, 1, 1});
}

static void one_seat_per_section(void **state)
{
	(void)state;
	run_shape(&(struct shape){4, 1, 1});
	run_shape(&(struct shape){2, 1, 1});
	run_shape(&(struct shape){8, 1, 1});
}

static void small_fragments(void **state)
{
	(void)state;
	run_shape(&(struct shape){3, 1, 2});
	run_shape(&(struct shape){4, 2, 1});
	run_shape(&(struct shape){1, 1, 5});
}

static void find_tool(const char *argv0)
{
	const char *cut = strstr(argv0, "tests/integration/");
	int n = cut ? (int)(cut - argv0) : 0;

	snprintf(tool, sizeof tool, "%.*sbin/bench-core", n, argv0);
	if (!cut || access(tool, X_OK))
		snprintf(tool, sizeof tool, "%s/bin/bench-core",
			 getenv("BUILD") ? getenv("BUILD") : "build");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_seat),
		cmocka_unit_test(one_seat_per_section),
		cmocka_unit_test(small_fragments),
	};

	(void)argc;
	find_tool(argv[0]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
