/*
 * test_core_rules.c — rules added after review: ids unique across events on
 * one shard, a hold's lifetime cap on extension, no confirm on a closed
 * event (a paused one still lets paying buyers finish), and no low-stock
 * alert for a reserved tier that has no seats yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "tests/support/fixture.h"

static void ids_unique_across_events(void **state)
{
	struct fx *f = fx_new(3);
	uint64_t h1, h2, t1, t2;

	(void)state;
	assert_int_equal(fx_event(f, 1, 10, 0), ST_OK);
	assert_int_equal(fx_event(f, 2, 10, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, 1, 0, 10, 100), ST_OK);
	assert_int_equal(fx_ga_tier(f, 2, 0, 10, 100), ST_OK);
	assert_int_equal(fx_hold_ga(f, 1, 0, 1, 5), ST_OK);
	h1 = f->res.hold.hold_id;
	assert_int_equal(fx_confirm(f, 1, h1, 100), ST_OK);
	t1 = f->res.hold.first_ticket_id;
	assert_int_equal(fx_hold_ga(f, 2, 0, 1, 5), ST_OK);
	h2 = f->res.hold.hold_id;
	assert_int_equal(fx_confirm(f, 2, h2, 100), ST_OK);
	t2 = f->res.hold.first_ticket_id;
	assert_int_not_equal(h1, h2);
	assert_int_not_equal(t1, t2);
	assert_int_equal(h1 >> 56, 3);
	assert_int_equal(t2 >> 56, 3);
	/* an id of one event is unknown in the other */
	assert_int_equal(fx_query(f, CMD_Q_TICKET, 2, t1), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, 1, h2), ST_HOLD_UNKNOWN);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void extend_capped_by_lifetime(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = {.type = CMD_HOLD_EXTEND};
	uint64_t id;
	unsigned ok = 0;

	(void)state;
	assert_int_equal(fx_event(f, 1, 10, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, 1, 0, 10, 100), ST_OK);
	assert_int_equal(fx_hold_ga(f, 1, 0, 1, 5), ST_OK);
	id = f->res.hold.hold_id;
	c.ref.event_id = 1;
	c.ref.hold_id = id;
	c.ref.ttl_ms = HOLD_TTL_MS_MAX;
	for (;;) {
		if (fx_exec(f, &c) != ST_OK)
			break;
		ok++;
		f->now += HOLD_TTL_MS_MAX / 2; /* inside the TTL just granted */
	}
	assert_int_equal(f->res.status, ST_BAD_ARGUMENT);
	assert_true(ok >= 1);
	assert_true(f->now + HOLD_TTL_MS_MAX > FX_T0 + HOLD_LIFETIME_MS_MAX);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void set_state(struct fx *f, uint8_t st)
{
	struct cmd c = {.type = CMD_Q_EVENT};

	c.query.event_id = 1;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c.type = CMD_EVENT_UPDATE;
	c.event = f->res.event.event;
	c.event.state = st;
	assert_int_equal(fx_exec(f, &c), ST_OK);
}

static void confirm_on_paused_and_closed(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t a, b;

	(void)state;
	assert_int_equal(fx_event(f, 1, 10, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, 1, 0, 10, 100), ST_OK);
	assert_int_equal(fx_hold_ga(f, 1, 0, 1, 5), ST_OK);
	a = f->res.hold.hold_id;
	assert_int_equal(fx_hold_ga(f, 1, 0, 1, 6), ST_OK);
	b = f->res.hold.hold_id;
	set_state(f, EVENT_PAUSED);
	assert_int_equal(fx_hold_ga(f, 1, 0, 1, 7), ST_EVENT_NOT_ON_SALE);
	assert_int_equal(fx_confirm(f, 1, a, 100), ST_OK);
	set_state(f, EVENT_CLOSED);
	assert_int_equal(fx_confirm(f, 1, b, 100), ST_EVENT_NOT_ON_SALE);
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, 1, b), ST_OK);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void reserved_tier_without_seats_is_not_an_alert(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = {.type = CMD_TIER_ADD};

	(void)state;
	assert_int_equal(fx_event(f, 1, 100, 0), ST_OK);
	c.tier.event_id = 1;
	c.tier.tier = 2;
	c.tier.kind = TIER_RESERVED;
	c.tier.low_stock_threshold = 5;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(fx_section(f, 1, 0, 2, 10, 2), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_unique_across_events),
		cmocka_unit_test(extend_capped_by_lifetime),
		cmocka_unit_test(confirm_on_paused_and_closed),
		cmocka_unit_test(reserved_tier_without_seats_is_not_an_alert),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
