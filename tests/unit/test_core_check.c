/*
 * test_core_check.c — core_check_invariants (core/check.c) finds what it
 * is there to find. The check is what recovery, snapshot loads and every
 * simulation step trust, so each case breaks one thing by hand in an
 * otherwise healthy state and expects the check to name it. Here: the
 * per-customer unit counts an event keeps for its customer limit, against
 * what its live holds and valid tickets say (the check's own table is
 * sized by the event's count, so it must still see a count that is short
 * by more than one customer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/htab.h"
#include "core/state-t.h"
#include "core/state.h"
#include "tests/support/fixture.h"

#define EV 3

/* A GA event with three customers: two holding, one holding and owning. */
static struct fx *three_customers(void)
{
	struct fx *f = fx_new(0);

	assert_int_equal(fx_event(f, EV, 1000, 8), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, 0, 100, 500), ST_OK);
	assert_int_equal(fx_hold_ga(f, EV, 0, 2, 101), ST_OK);
	assert_int_equal(fx_hold_ga(f, EV, 0, 1, 102), ST_OK);
	assert_int_equal(fx_hold_ga(f, EV, 0, 3, 103), ST_OK);
	assert_int_equal(fx_confirm(f, EV, f->res.hold.hold_id, f->res.hold.amount_due_minor),
			 ST_OK);
	assert_int_equal(fx_hold_ga(f, EV, 0, 1, 103), ST_OK);
	assert_null(core_check_invariants(f->c));
	return f;
}

static struct htab *counts(struct fx *f)
{
	struct event *ev = event_find(f->c, EV);

	assert_non_null(ev);
	return &ev->customers;
}

static void expect(struct fx *f, const char *what)
{
	const char *bad = core_check_invariants(f->c);

	assert_non_null(bad);
	assert_string_equal(bad, what);
	fx_free(f);
}

static void a_customer_missing(void **state)
{
	(void)state;
	struct fx *f = three_customers();
	assert_true(htab_remove(counts(f), 102));
	expect(f, "customer count table has the wrong number of customers");
}

static void two_customers_missing(void **state)
{
	(void)state;
	struct fx *f = three_customers();
	assert_true(htab_remove(counts(f), 101));
	assert_true(htab_remove(counts(f), 103));
	expect(f, "customer count table has the wrong number of customers");
}

static void a_customer_too_many(void **state)
{
	(void)state;
	struct fx *f = three_customers();
	assert_true(htab_insert(counts(f), 999, 1));
	expect(f, "customer count table has the wrong number of customers");
}

static void a_count_wrong(void **state)
{
	(void)state;
	struct fx *f = three_customers();
	uint32_t *v = htab_find(counts(f), 103);
	assert_non_null(v);
	assert_int_equal(*v, 4); /* 3 owned + 1 held */
	(*v)--;
	expect(f, "customer units differ from their holds and tickets");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_customer_missing),
		cmocka_unit_test(two_customers_missing),
		cmocka_unit_test(a_customer_too_many),
		cmocka_unit_test(a_count_wrong),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
