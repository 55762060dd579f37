/*
 * test_core_retire.c — EVENT_RETIRE (core/retire.c): only a closed event
 * with no live hold and no unacknowledged transfer retires; its summary
 * answers Q_EVENT, Q_AVAILABILITY and Q_STATS with the final numbers and
 * everything else says event_retired; the id is never created again, the
 * table slot is free for a new event; replay and snapshots give the same
 * state hash; a transfer to a taker that retired first is still applied
 * and acknowledged, so the giver never wedges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/inspect.h"
#include "tests/support/fixture.h"

#define EV 7
#define GA 0
#define RES 1

static enum status set_state(struct fx *f, uint32_t event_id, uint8_t state)
{
	struct cmd c = {.type = CMD_EVENT_UPDATE};

	assert_int_equal(fx_query(f, CMD_Q_EVENT, event_id, 0), ST_OK);
	c.event = f->res.event.event;
	c.event.state = state;
	return fx_exec(f, &c);
}

static enum status retire(struct fx *f, uint32_t event_id)
{
	struct cmd c = {.type = CMD_EVENT_RETIRE};

	c.query.event_id = event_id;
	return fx_exec(f, &c);
}

#define assert_status(got, want) assert_string_equal(status_name(got), status_name(want))

static uint64_t sell(struct fx *f, uint32_t event_id, uint8_t tier, uint8_t qty, uint8_t channel,
		     uint64_t customer)
{
	struct cmd c = fx_hold_cmd(event_id, tier, tier == GA ? HOLD_GA : HOLD_BEST, qty, customer);
	uint64_t hold_id;

	c.hold.channel = channel;
	assert_status(fx_exec(f, &c), ST_OK);
	hold_id = f->res.hold.hold_id;
	assert_status(fx_confirm(f, event_id, hold_id, f->res.hold.amount_due_minor), ST_OK);
	return f->res.hold.first_ticket_id;
}

/* An event with a GA tier and a reserved one, some sold on two channels,
 * one ticket refunded, one redeemed. */
static struct fx *sold_event(void)
{
	struct fx *f = fx_new(2);
	uint64_t t1;

	assert_status(fx_event(f, EV, 1000, 0), ST_OK);
	assert_status(fx_ga_tier(f, EV, GA, 500, 2500), ST_OK);
	assert_status(fx_reserved_tier(f, EV, RES, 9000), ST_OK);
	assert_status(fx_section(f, EV, 0, 10, 20, RES), ST_OK);
	t1 = sell(f, EV, GA, 4, CHANNEL_ONLINE, 101);
	sell(f, EV, GA, 2, CHANNEL_BOX_OFFICE, 102);
	sell(f, EV, RES, 3, CHANNEL_ONLINE, 103);
	assert_status(fx_ticket_op(f, CMD_REFUND, EV, t1), ST_OK);
	assert_status(fx_ticket_op(f, CMD_REDEEM, EV, t1 + 1), ST_OK);
	return f;
}

static void refused_unless_closed(void **state)
{
	struct fx *f = sold_event();

	(void)state;
	assert_status(retire(f, EV), ST_EVENT_NOT_CLOSED);
	assert_int_equal(f->last_rec_len, 0);
	assert_status(set_state(f, EV, EVENT_PAUSED), ST_OK);
	assert_status(retire(f, EV), ST_EVENT_NOT_CLOSED);
	assert_status(set_state(f, EV, EVENT_DRAFT), ST_OK);
	assert_status(retire(f, EV), ST_EVENT_NOT_CLOSED);
	assert_status(retire(f, 999), ST_EVENT_UNKNOWN);
	assert_status(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK); /* still there */
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void refused_with_live_holds(void **state)
{
	struct fx *f = sold_event();
	uint64_t hold;

	(void)state;
	assert_status(fx_hold_ga(f, EV, GA, 2, 104), ST_OK);
	hold = f->res.hold.hold_id;
	assert_status(set_state(f, EV, EVENT_CLOSED), ST_OK);
	assert_status(retire(f, EV), ST_EVENT_HOLDS_LIVE);
	assert_int_equal(f->last_rec_len, 0);
	/* once it is released (or expires) the retry succeeds */
	assert_status(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, hold), ST_OK);
	assert_status(retire(f, EV), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void same_stats(const struct stats_view *a, const struct stats_view *b)
{
	for (unsigned ch = 0; ch < CHANNELS; ch++) {
		assert_int_equal(a->channels[ch].held, b->channels[ch].held);
		assert_int_equal(a->channels[ch].sold, b->channels[ch].sold);
		assert_int_equal(a->channels[ch].revenue_minor, b->channels[ch].revenue_minor);
		assert_int_equal(a->channels[ch].redeemed, b->channels[ch].redeemed);
		assert_int_equal(a->channels[ch].refunded, b->channels[ch].refunded);
	}
}

static void keeps_final_numbers(void **state)
{
	struct fx *f = sold_event();
	struct stats_view before[2];
	struct availability_view avail;
	struct event_view ev;

	(void)state;
	assert_status(set_state(f, EV, EVENT_CLOSED), ST_OK);
	for (uint8_t t = 0; t < 2; t++) {
		assert_status(fx_query(f, CMD_Q_STATS, EV, t), ST_OK);
		before[t] = f->res.stats;
	}
	assert_status(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	avail = f->res.avail;
	assert_status(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	ev = f->res.event;
	assert_int_equal(ev.retired, 0);

	assert_status(retire(f, EV), ST_OK);
	for (uint8_t t = 0; t < 2; t++) {
		assert_status(fx_query(f, CMD_Q_STATS, EV, t), ST_OK);
		same_stats(&before[t], &f->res.stats);
	}
	/* what was sold: GA 4 - 1 refunded online + 2 box office, 3 seats */
	assert_int_equal(before[GA].channels[CHANNEL_ONLINE].sold, 3);
	assert_int_equal(before[GA].channels[CHANNEL_ONLINE].refunded, 1);
	assert_int_equal(before[GA].channels[CHANNEL_ONLINE].redeemed, 1);
	assert_int_equal(before[GA].channels[CHANNEL_BOX_OFFICE].revenue_minor, 2 * 2500);
	assert_int_equal(before[RES].channels[CHANNEL_ONLINE].sold, 3);
	assert_status(fx_query(f, CMD_Q_STATS, EV, 5), ST_TIER_UNKNOWN);
	assert_status(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	assert_int_equal(f->res.avail.tier_count, avail.tier_count);
	assert_memory_equal(f->res.avail.tiers, avail.tiers, 2 * sizeof avail.tiers[0]);
	assert_int_equal(f->res.avail.tiers[GA].sold, 5);
	assert_int_equal(f->res.avail.tiers[RES].capacity, 200);
	assert_status(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.retired, 1);
	assert_string_equal(f->res.event.event.name, "event 7");
	assert_int_equal(f->res.event.event.state, EVENT_CLOSED);
	assert_int_equal(f->res.event.units_placed, ev.units_placed);
	assert_int_equal(f->res.event.tickets_issued, ev.tickets_issued);
	assert_int_equal(f->res.event.seat_count, 200);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void everything_else_says_retired(void **state)
{
	struct fx *f = sold_event();
	uint64_t records;

	(void)state;
	assert_status(set_state(f, EV, EVENT_CLOSED), ST_OK);
	assert_status(retire(f, EV), ST_OK);
	assert_status(fx_query(f, CMD_Q_HOLD, EV, 1), ST_EVENT_RETIRED);
	assert_status(fx_query(f, CMD_Q_ORDER, EV, 1), ST_EVENT_RETIRED);
	assert_status(fx_query(f, CMD_Q_TICKET, EV, 1), ST_EVENT_RETIRED);
	assert_status(fx_query(f, CMD_Q_CUSTOMER, EV, 101), ST_EVENT_RETIRED);
	assert_status(fx_hold_ga(f, EV, GA, 1, 1), ST_EVENT_RETIRED);
	assert_status(fx_ticket_op(f, CMD_REDEEM, EV, 1), ST_EVENT_RETIRED);
	assert_status(fx_ga_tier(f, EV, 3, 10, 1), ST_EVENT_RETIRED);
	assert_status(set_state(f, EV, EVENT_CLOSED), ST_EVENT_RETIRED);
	/* retiring it again is an idempotent repeat: ok, nothing written */
	records = f->records;
	assert_status(retire(f, EV), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->records, records);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void id_never_reused_slot_freed(void **state)
{
	struct fx *f = fx_new(1);

	(void)state;
	for (uint32_t i = 0; i < EVENTS_MAX; i++)
		assert_status(fx_event(f, 100 + i, 4, 0), ST_OK);
	assert_status(fx_event(f, 99, 4, 0), ST_EVENT_TABLE_FULL);
	assert_status(set_state(f, 100, EVENT_CLOSED), ST_OK);
	assert_status(retire(f, 100), ST_OK);
	/* the id is never created again; its table slot is free for another */
	assert_status(fx_event(f, 100, 4, 0), ST_EVENT_RETIRED);
	assert_status(fx_event(f, 99, 4, 0), ST_OK);
	assert_status(fx_event(f, 98, 4, 0), ST_EVENT_TABLE_FULL);
	assert_status(fx_query(f, CMD_Q_EVENT, 99, 0), ST_OK);
	/* every other event is still found after the table moved */
	for (uint32_t i = 1; i < EVENTS_MAX; i++)
		assert_status(fx_query(f, CMD_Q_EVENT, 100 + i, 0), ST_OK);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* A later event's hold and ticket ids do not repeat a retired event's
 * while the 256 event slots have not gone round. */
static void new_event_ids_differ(void **state)
{
	struct fx *f = fx_new(1);
	uint64_t old_hold;

	(void)state;
	assert_status(fx_event(f, 100, 4, 0), ST_OK);
	assert_status(fx_ga_tier(f, 100, GA, 4, 10), ST_OK);
	assert_status(fx_hold_ga(f, 100, GA, 1, 5), ST_OK);
	old_hold = f->res.hold.hold_id;
	assert_status(fx_hold_ref(f, CMD_HOLD_RELEASE, 100, old_hold), ST_OK);
	assert_status(set_state(f, 100, EVENT_CLOSED), ST_OK);
	assert_status(retire(f, 100), ST_OK);
	assert_status(fx_event(f, 101, 4, 0), ST_OK);
	assert_status(fx_ga_tier(f, 101, GA, 4, 10), ST_OK);
	assert_status(fx_hold_ga(f, 101, GA, 1, 5), ST_OK);
	assert_true(f->res.hold.hold_id != old_hold);
	assert_int_equal(f->res.hold.hold_id >> ID_EVENT_SHIFT & 0xff,
			 (old_hold >> ID_EVENT_SHIFT & 0xff) + 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static struct core *round_trip(const struct core *c)
{
	const char *why = NULL;
	struct core *copy = fx_snapshot_copy(c, &why);

	if (!copy)
		fail_msg("snapshot refused: %s", why);
	return copy;
}

static void replay_and_snapshot_agree(void **state)
{
	struct fx *f = sold_event();
	struct state_hash before, after, copied;
	struct core *copy;
	struct cmd q = {.type = CMD_Q_STATS};
	struct result res;
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};

	(void)state;
	assert_status(fx_event(f, EV + 1, 100, 0), ST_OK); /* stays live, moves in the table */
	assert_status(set_state(f, EV, EVENT_CLOSED), ST_OK);
	before = core_state_hash(f->c);
	assert_status(retire(f, EV), ST_OK);
	after = core_state_hash(f->c);
	assert_false(before.lo == after.lo && before.hi == after.hi);
	assert_null(fx_replay_check(f));
	assert_null(core_check_invariants(f->c));
	copy = round_trip(f->c);
	copied = core_state_hash(copy);
	assert_true(copied.lo == after.lo && copied.hi == after.hi);
	q.query.event_id = EV;
	assert_status(core_execute(copy, &q, FX_T0, &res, &rb), ST_OK);
	assert_int_equal(res.stats.channels[CHANNEL_ONLINE].sold, 3);
	q.type = CMD_EVENT_CREATE;
	q.event.event_id = EV;
	assert_status(core_execute(copy, &q, FX_T0, &res, &rb), ST_EVENT_RETIRED);
	core_destroy(copy);
	fx_free(f);
}

static void table_of_summaries_is_bounded(void **state)
{
	struct fx *f = fx_new(0);

	(void)state;
	for (uint32_t i = 0; i < RETIRED_MAX; i++) {
		assert_status(fx_event(f, 1000 + i, 1, 0), ST_OK);
		assert_status(set_state(f, 1000 + i, EVENT_CLOSED), ST_OK);
		assert_status(retire(f, 1000 + i), ST_OK);
	}
	assert_status(fx_event(f, 1, 1, 0), ST_OK);
	assert_status(set_state(f, 1, EVENT_CLOSED), ST_OK);
	assert_status(retire(f, 1), ST_RETIRED_TABLE_FULL);
	assert_int_equal(f->last_rec_len, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- transfers: giver shard 0, taker shard 1 ---- */

static enum status stock(struct fx *f, uint8_t type, uint8_t peer, struct cmd_stock *s)
{
	struct cmd c = {.type = type};

	c.stock = *s;
	c.stock.peer_shard = peer;
	enum status st = fx_exec(f, &c);
	if (st == ST_OK)
		*s = f->res.stock;
	return st;
}

static void pair_setup(struct fx **g, struct fx **t)
{
	*g = fx_new(0);
	*t = fx_new(1);
	assert_status(fx_event(*g, EV, 100, 0), ST_OK);
	assert_status(fx_event(*t, EV, 100, 0), ST_OK);
	assert_status(fx_ga_tier(*g, EV, GA, 50, 100), ST_OK);
	assert_status(fx_ga_tier(*t, EV, GA, 50, 100), ST_OK);
}

static uint32_t capacity(struct fx *f)
{
	assert_status(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	return f->res.avail.tiers[GA].capacity;
}

/* The taker retires before the transfer reaches it: it still applies it
 * (to the summary) and the giver's acknowledgement lets the giver retire. */
static void transfer_to_a_retired_taker(void **state)
{
	struct fx *g, *t;
	struct cmd_stock s = {.event_id = EV, .tier = GA, .qty = 10};
	struct xfer x[4];

	(void)state;
	pair_setup(&g, &t);
	assert_status(stock(g, CMD_STOCK_OUT, 1, &s), ST_OK);
	assert_status(set_state(g, EV, EVENT_CLOSED), ST_OK);
	assert_status(set_state(t, EV, EVENT_CLOSED), ST_OK);
	assert_status(retire(g, EV), ST_EVENT_TRANSFER_PENDING);
	assert_int_equal(g->last_rec_len, 0);
	assert_status(retire(t, EV), ST_OK);
	/* redelivered (as after a crash), twice */
	assert_int_equal(core_xfers_pending(g->c, 1, x, 4), 1);
	assert_status(stock(t, CMD_STOCK_IN, 0, &s), ST_OK);
	assert_true(t->last_rec_len > 0);
	assert_status(stock(t, CMD_STOCK_IN, 0, &s), ST_OK);
	assert_int_equal(t->res.replayed, 1);
	assert_int_equal(capacity(t), 60);
	assert_int_equal(capacity(g) + capacity(t), 100);
	/* a STOCK_OUT of a retired event is refused */
	struct cmd_stock more = {.event_id = EV, .tier = GA, .qty = 1};
	assert_status(stock(t, CMD_STOCK_OUT, 0, &more), ST_EVENT_RETIRED);
	struct cmd_stock a = {.transfer_id = XFER_ID(0, 1, core_xfer_applied(t->c, 0))};
	assert_status(stock(g, CMD_STOCK_ACK, 1, &a), ST_OK);
	assert_status(retire(g, EV), ST_OK);
	assert_int_equal(capacity(g) + capacity(t), 100);
	assert_null(fx_replay_check(g));
	assert_null(fx_replay_check(t));
	fx_free(g);
	fx_free(t);
}

/* The taker applied it, then retired; the giver redelivers after a crash:
 * an idempotent repeat, acknowledged as usual. */
static void transfer_applied_before_retiring(void **state)
{
	struct fx *g, *t;
	struct cmd_stock s = {.event_id = EV, .tier = GA, .qty = 5};
	struct core *copy;

	(void)state;
	pair_setup(&g, &t);
	assert_status(stock(g, CMD_STOCK_OUT, 1, &s), ST_OK);
	assert_status(stock(t, CMD_STOCK_IN, 0, &s), ST_OK);
	assert_status(set_state(t, EV, EVENT_CLOSED), ST_OK);
	assert_status(retire(t, EV), ST_OK);
	copy = round_trip(t->c); /* the taker restarts from a snapshot */
	core_destroy(copy);
	assert_status(stock(t, CMD_STOCK_IN, 0, &s), ST_OK);
	assert_int_equal(t->res.replayed, 1);
	assert_int_equal(capacity(t), 55);
	struct cmd_stock a = {.transfer_id = s.transfer_id};
	assert_status(stock(g, CMD_STOCK_ACK, 1, &a), ST_OK);
	assert_status(set_state(g, EV, EVENT_CLOSED), ST_OK);
	assert_status(retire(g, EV), ST_OK);
	assert_null(fx_replay_check(g));
	assert_null(fx_replay_check(t));
	fx_free(g);
	fx_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(refused_unless_closed),
		cmocka_unit_test(refused_with_live_holds),
		cmocka_unit_test(keeps_final_numbers),
		cmocka_unit_test(everything_else_says_retired),
		cmocka_unit_test(id_never_reused_slot_freed),
		cmocka_unit_test(new_event_ids_differ),
		cmocka_unit_test(replay_and_snapshot_agree),
		cmocka_unit_test(table_of_summaries_is_bounded),
		cmocka_unit_test(transfer_to_a_retired_taker),
		cmocka_unit_test(transfer_applied_before_retiring),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
