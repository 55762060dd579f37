/*
 * test_core_revoked.c — Q_REVOKED, an event's revocation list on one shard:
 * refunds and exchanges in the order they happened, numbered from 1, paged
 * by REVOKED_PAGE_MAX with "since", the same after a snapshot and a replay,
 * and a gap reported once reused slots forgot the oldest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "core/core.h"
#include "tests/support/fixture.h"

#define EV 5

static enum status revoked(struct core *c, uint64_t since, struct result *res)
{
	struct cmd q = {.type = CMD_Q_REVOKED};
	struct rec_buf rec = {0};

	q.revoked.event_id = EV;
	q.revoked.since_seq = since;
	return core_execute(c, &q, FX_T0, res, &rec);
}

/* Buys one GA unit for customer; its ticket id. */
static uint64_t buy(struct fx *f, uint64_t customer)
{
	assert_int_equal(fx_hold_ga(f, EV, 0, 1, customer), ST_OK);
	assert_int_equal(fx_confirm(f, EV, f->res.hold.hold_id, 100), ST_OK);
	return f->res.hold.first_ticket_id;
}

static void pages_in_order(void **state)
{
	enum { BOUGHT = 150, REFUNDED = 130 };
	struct fx *f = fx_new(2);
	static uint64_t ids[BOUGHT];
	static struct result res;
	const char *why = NULL;

	(void)state;
	assert_int_equal(fx_event(f, EV, 400, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, 0, 300, 100), ST_OK);
	assert_int_equal(revoked(f->c, 0, &res), ST_OK);
	assert_int_equal(res.revoked.count, 0);
	assert_int_equal(res.revoked.last_seq, 0);
	assert_int_equal(res.revoked.shard, 2);
	for (unsigned i = 0; i < BOUGHT; i++)
		ids[i] = buy(f, 100 + i);
	for (unsigned i = 0; i < REFUNDED - 1; i++)
		assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, ids[i]), ST_OK);
	struct cmd x = {.type = CMD_EXCHANGE}; /* the last revocation is an exchange */
	x.ticket = (struct cmd_ticket_ref){.event_id = EV,
					   .ticket_id = ids[REFUNDED - 1],
					   .seat = SEAT_NONE};
	assert_int_equal(fx_exec(f, &x), ST_OK);

	assert_int_equal(revoked(f->c, 0, &res), ST_OK);
	assert_int_equal(res.revoked.count, REVOKED_PAGE_MAX);
	assert_int_equal(res.revoked.first_seq, 1);
	assert_int_equal(res.revoked.last_seq, REVOKED_PAGE_MAX);
	assert_true(res.revoked.more);
	assert_false(res.revoked.gap);
	for (unsigned i = 0; i < REVOKED_PAGE_MAX; i++)
		assert_int_equal(res.revoked.ticket_ids[i], ids[i]);
	assert_int_equal(revoked(f->c, res.revoked.last_seq, &res), ST_OK);
	assert_int_equal(res.revoked.count, REFUNDED - REVOKED_PAGE_MAX);
	assert_int_equal(res.revoked.first_seq, REVOKED_PAGE_MAX + 1);
	assert_int_equal(res.revoked.last_seq, REFUNDED);
	assert_false(res.revoked.more);
	assert_int_equal(res.revoked.ticket_ids[res.revoked.count - 1], ids[REFUNDED - 1]);
	assert_int_equal(revoked(f->c, REFUNDED, &res), ST_OK);
	assert_int_equal(res.revoked.count, 0);
	assert_int_equal(res.revoked.last_seq, REFUNDED);

	/* derived from state: a snapshot copy and a replay answer the same */
	struct core *copy = fx_snapshot_copy(f->c, &why);
	assert_non_null(copy);
	static struct result again;
	assert_int_equal(revoked(copy, 100, &again), ST_OK);
	assert_int_equal(revoked(f->c, 100, &res), ST_OK);
	assert_int_equal(again.revoked.count, res.revoked.count);
	assert_int_equal(again.revoked.first_seq, res.revoked.first_seq);
	assert_int_equal(again.revoked.last_seq, res.revoked.last_seq);
	assert_memory_equal(again.revoked.ticket_ids, res.revoked.ticket_ids,
			    res.revoked.count * sizeof res.revoked.ticket_ids[0]);
	core_destroy(copy);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* One unit, two ticket slots: the third ticket reuses the first one's slot,
 * so the first revocation is forgotten: a scanner from 0 is told. */
static void gap_after_reuse(void **state)
{
	struct fx *f = fx_new(0);
	struct result res;
	uint64_t a, b, c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 1, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, 0, 1, 100), ST_OK);
	a = buy(f, 1);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, a), ST_OK);
	b = buy(f, 2);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, b), ST_OK);
	c = buy(f, 3);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, c), ST_OK);
	assert_int_equal(revoked(f->c, 0, &res), ST_OK);
	assert_true(res.revoked.gap);
	assert_int_equal(res.revoked.first_seq, 2);
	assert_int_equal(res.revoked.last_seq, 3);
	assert_int_equal(res.revoked.count, 2);
	assert_int_equal(res.revoked.ticket_ids[0], b);
	assert_int_equal(res.revoked.ticket_ids[1], c);
	assert_int_equal(revoked(f->c, 1, &res), ST_OK); /* had a: nothing missed */
	assert_false(res.revoked.gap);
	assert_int_equal(res.revoked.count, 2);
	assert_int_equal(revoked(f->c, 99, &res), ST_OK); /* from another history: all */
	assert_true(res.revoked.gap);
	assert_int_equal(res.revoked.count, 2);
	fx_free(f);
}

/* A refunded ticket whose order's hold slot is reused by later holds
 * (the hold table wrapped: 2 x units + 4,096 slots) is still listed with
 * its id: its token still verifies offline. It was left out, with no gap,
 * so an offline gate admitted it. Also after a snapshot. */
static void listed_after_its_order_is_forgotten(void **state)
{
	struct fx *f = fx_new(0);
	static struct result res;
	const char *why = NULL;
	uint64_t refunded;

	(void)state;
	assert_int_equal(fx_event(f, EV, 4, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, 0, 4, 100), ST_OK);
	refunded = buy(f, 1);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, refunded), ST_OK);
	for (unsigned i = 0; i < 2 * 4 + 4096 + 8; i++) { /* every hold slot taken again */
		assert_int_equal(fx_hold_ga(f, EV, 0, 1, 10 + i), ST_OK);
		struct cmd rel = {.type = CMD_HOLD_RELEASE};
		rel.ref.event_id = EV;
		rel.ref.hold_id = f->res.hold.hold_id;
		assert_int_equal(fx_exec(f, &rel), ST_OK);
	}
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, EV, refunded), ST_TICKET_UNKNOWN);
	struct core *copy = fx_snapshot_copy(f->c, &why);
	assert_non_null(copy);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(revoked(k ? copy : f->c, 0, &res), ST_OK);
		assert_false(res.revoked.gap);
		assert_int_equal(res.revoked.first_seq, 1);
		assert_int_equal(res.revoked.last_seq, 1);
		assert_int_equal(res.revoked.count, 1);
		assert_int_equal(res.revoked.ticket_ids[0], refunded);
	}
	core_destroy(copy);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pages_in_order),
		cmocka_unit_test(gap_after_reuse),
		cmocka_unit_test(listed_after_its_order_is_forgotten),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
