/*
 * test_core_ticket.c — orders and tickets: confirm, redeem, refund,
 * exchange, the ticket table bound, statistics per tier and channel,
 * low-stock alerts, and GA stock moved between shards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/state.h"
#include "tests/support/fixture.h"

#define EV 3
#define GA 0   /* 10 units at 1500 */
#define GA2 1  /* 5 units at 2500 */
#define RES 2  /* section 0: 2 rows x 5 seats (0..9), at 4000 */
#define RES2 3 /* section 1: 1 row x 4 seats (10..13), at 6000 */

static struct fx *setup(uint8_t shard)
{
	struct fx *f = fx_new(shard);

	assert_int_equal(fx_event(f, EV, 100, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 10, 1500), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA2, 5, 2500), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, RES, 4000), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, RES2, 6000), ST_OK);
	assert_int_equal(fx_section(f, EV, 0, 2, 5, RES), ST_OK);
	assert_int_equal(fx_section(f, EV, 1, 1, 4, RES2), ST_OK);
	return f;
}

static uint64_t hold(struct fx *f, uint8_t tier, uint8_t qty, uint64_t customer)
{
	struct cmd c;

	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	c = fx_hold_cmd(EV, tier, f->res.avail.tiers[tier].kind == TIER_GA ? HOLD_GA : HOLD_BEST,
			qty, customer);

	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
	return f->res.hold.hold_id;
}

/* Holds and confirms; returns the first ticket id. */
static uint64_t buy(struct fx *f, uint8_t tier, uint8_t qty, uint64_t customer)
{
	uint64_t id = hold(f, tier, qty, customer);

	assert_string_equal(status_name(fx_confirm(f, EV, id, f->res.hold.amount_due_minor)), "ok");
	assert_int_equal(f->res.replayed, 0);
	return f->res.hold.first_ticket_id;
}

static struct ticket_view ticket(struct fx *f, uint64_t ticket_id)
{
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, ticket_id), ST_OK);
	return f->res.ticket;
}

static struct tier_view avail(struct fx *f, uint8_t tier)
{
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	return f->res.avail.tiers[tier];
}

static struct channel_stats stats(struct fx *f, uint8_t tier, uint8_t channel)
{
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, tier), ST_OK);
	return f->res.stats.channels[channel];
}

static uint32_t units_held_by(struct fx *f, uint64_t customer)
{
	assert_int_equal(fx_query(f, CMD_Q_CUSTOMER, EV, customer), ST_OK);
	return f->res.customer.units;
}

static uint8_t seat_state(struct fx *f, uint16_t section, uint32_t index)
{
	uint8_t st[16];

	assert_true(core_section_seats(f->c, EV, section, st, sizeof st, NULL) > (long)index);
	return st[index];
}

/* Executes a command that must be refused with want and change nothing. */
static void refused(struct fx *f, const struct cmd *c, enum status want)
{
	struct state_hash a = core_state_hash(f->c), b;

	assert_string_equal(status_name(fx_exec(f, c)), status_name(want));
	assert_int_equal(f->last_rec_len, 0);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

/* A repeat answered with ticket `id` (replayed), no record, nothing changed. */
static void replayed(struct fx *f, const struct cmd *c, uint64_t id)
{
	struct state_hash a = core_state_hash(f->c), b;

	assert_string_equal(status_name(fx_exec(f, c)), "ok");
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.ticket.ticket_id, id);
	assert_int_equal(f->last_rec_len, 0);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

static struct cmd ticket_cmd(uint8_t type, uint64_t ticket_id)
{
	struct cmd c = {.type = type};

	c.ticket.event_id = EV;
	c.ticket.ticket_id = ticket_id;
	c.ticket.seat = SEAT_NONE;
	return c;
}

static struct cmd exchange_cmd(uint64_t ticket_id, uint8_t tier, uint32_t seat)
{
	struct cmd c = ticket_cmd(CMD_EXCHANGE, ticket_id);

	c.ticket.tier = tier;
	c.ticket.seat = seat;
	return c;
}

static struct cmd refund_cmd(uint64_t ticket_id, uint64_t fee, uint8_t kill)
{
	struct cmd c = ticket_cmd(CMD_REFUND, ticket_id);

	c.ticket.fee_minor = fee;
	c.ticket.kill = kill;
	return c;
}

/* ---- confirm ---- */

static void confirm_issues_tickets(void **state)
{
	struct fx *f = setup(4);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 3, 77);
	uint64_t id, first, first2;
	uint32_t seats[2];
	struct ticket_view tv;

	(void)state;
	c.hold.channel = CHANNEL_BOX_OFFICE;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	id = f->res.hold.hold_id;
	f->now += 1000;
	assert_int_equal(fx_confirm(f, EV, id, 4500), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.hold.hold_id, id);
	assert_int_equal(f->res.hold.state, HOLD_CONFIRMED);
	assert_int_equal(f->res.hold.amount_paid_minor, 4500);
	{
		char ref[PAYMENT_REF_BYTES];

		snprintf(ref, sizeof ref, "pay-%llu", (unsigned long long)id); /* fx_confirm's */
		assert_string_equal(f->res.hold.payment_ref, ref);
	}
	first = f->res.hold.first_ticket_id;
	assert_int_equal(first >> 56, 4); /* the shard is in the ticket id */
	for (uint64_t t = first; t < first + 3; t++) {
		tv = ticket(f, t);
		assert_int_equal(tv.ticket_id, t);
		assert_int_equal(tv.order_id, id);
		assert_int_equal(tv.customer_id, 77);
		assert_int_equal(tv.event_id, EV);
		assert_int_equal(tv.tier, GA);
		assert_int_equal(tv.price_minor, 1500);
		assert_int_equal(tv.seat, SEAT_NONE);
		assert_int_equal(tv.state, TICKET_VALID);
		assert_int_equal(tv.replaced_by, 0);
	}
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, first + 3), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, first ^ (1ull << 56)), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, 0), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, id), ST_OK);
	assert_int_equal(f->res.hold.amount_paid_minor, 4500);
	assert_int_equal(avail(f, GA).sold, 3);
	assert_int_equal(avail(f, GA).held, 0);
	assert_int_equal(avail(f, GA).free, 7);
	assert_int_equal(stats(f, GA, CHANNEL_BOX_OFFICE).sold, 3);
	assert_int_equal(stats(f, GA, CHANNEL_BOX_OFFICE).revenue_minor, 4500);
	assert_int_equal(stats(f, GA, CHANNEL_BOX_OFFICE).held, 0);
	assert_int_equal(units_held_by(f, 77), 3);
	/* seats: one ticket per seat, each seat sold to its ticket */
	id = hold(f, RES, 2, 78);
	assert_int_equal(fx_confirm(f, EV, id, 8000), ST_OK);
	first2 = f->res.hold.first_ticket_id;
	seats[0] = f->res.hold.seats[0];
	seats[1] = f->res.hold.seats[1];
	assert_true(first2 < first || first2 >= first + 3); /* ids are unique */
	assert_int_equal(first2 >> 32, id >> 32);           /* an order's tickets carry its id */
	for (unsigned i = 0; i < 2; i++) {
		tv = ticket(f, first2 + i);
		assert_int_equal(tv.seat, seats[i]);
		assert_int_equal(tv.price_minor, 4000);
		assert_int_equal(seat_state(f, 0, tv.seat), SEAT_SOLD);
	}
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.tickets_issued, 5);
	assert_int_equal(f->res.event.live_holds, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void confirm_refused(void **state)
{
	struct fx *f = setup(0);
	struct cmd c = {.type = CMD_CONFIRM};
	uint64_t id, gone, late;

	(void)state;
	id = hold(f, GA, 2, 1);
	c.ref.event_id = EV;
	c.ref.hold_id = id;
	c.ref.amount_minor = 2999;
	refused(f, &c, ST_AMOUNT_MISMATCH);
	c.ref.amount_minor = 3001;
	refused(f, &c, ST_AMOUNT_MISMATCH);
	c.ref.amount_minor = 0;
	refused(f, &c, ST_AMOUNT_MISMATCH);
	c.ref.amount_minor = 3000;
	c.ref.hold_id = id + 100;
	refused(f, &c, ST_HOLD_UNKNOWN);
	c.ref.hold_id = id;
	c.ref.event_id = EV + 1;
	refused(f, &c, ST_EVENT_UNKNOWN);
	gone = hold(f, GA, 1, 1);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, gone), ST_OK);
	assert_int_equal(fx_confirm(f, EV, gone, 1500), ST_HOLD_RELEASED);
	assert_int_equal(f->last_rec_len, 0);
	/* live but past its expiry: refused, and it stays live until expired */
	late = hold(f, GA, 1, 1);
	f->now += HOLD_TTL_MS_DEFAULT;
	assert_int_equal(fx_confirm(f, EV, late, 1500), ST_HOLD_EXPIRED);
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, late), ST_OK);
	assert_int_equal(f->res.hold.state, HOLD_LIVE);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, late), ST_OK);
	assert_int_equal(fx_confirm(f, EV, late, 1500), ST_HOLD_EXPIRED);
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, late), ST_HOLD_UNKNOWN);
	assert_int_equal(avail(f, GA).sold, 0);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.tickets_issued, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void confirm_repeat(void **state)
{
	struct fx *f = setup(0);
	uint64_t id, first, records;
	struct state_hash a, b;

	(void)state;
	id = hold(f, RES, 3, 1);
	assert_int_equal(fx_confirm(f, EV, id, 12000), ST_OK);
	first = f->res.hold.first_ticket_id;
	records = f->records;
	a = core_state_hash(f->c);
	f->now += 5000;
	assert_int_equal(fx_confirm(f, EV, id, 12000), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.first_ticket_id, first);
	assert_int_equal(f->res.hold.state, HOLD_CONFIRMED);
	assert_int_equal(f->last_rec_len, 0);
	/* keyed by hold id: a retry with another amount is the same order */
	assert_int_equal(fx_confirm(f, EV, id, 1), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.amount_paid_minor, 12000);
	/* long after the hold would have expired */
	f->now += 10 * HOLD_TTL_MS_DEFAULT;
	assert_int_equal(fx_confirm(f, EV, id, 12000), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->records, records);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.tickets_issued, 3);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- redeem ---- */

static void redeem(void **state)
{
	struct fx *f = setup(0);
	uint64_t t = buy(f, GA, 3, 1);
	struct cmd c = ticket_cmd(CMD_REDEEM, t);
	struct ticket_view tv;

	(void)state;
	c.ticket.gate_id = 12;
	f->now += 777;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.ticket.ticket_id, t);
	assert_int_equal(f->res.ticket.state, TICKET_REDEEMED);
	assert_int_equal(f->res.ticket.gate_id, 12);
	assert_int_equal(f->res.ticket.redeemed_at_ms, FX_T0 + 777);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).redeemed, 1);
	/* a second scan, elsewhere and later, is refused with the first scan */
	f->now += 60000;
	c.ticket.gate_id = 13;
	memset(&f->res, 0, sizeof f->res);
	refused(f, &c, ST_TICKET_ALREADY_REDEEMED);
	assert_int_equal(f->res.ticket.ticket_id, t);
	assert_int_equal(f->res.ticket.gate_id, 12);
	assert_int_equal(f->res.ticket.redeemed_at_ms, FX_T0 + 777);
	assert_int_equal(f->res.ticket.state, TICKET_REDEEMED);
	tv = ticket(f, t);
	assert_int_equal(tv.gate_id, 12);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).redeemed, 1);
	/* a redeemed ticket still counts as sold and owned */
	assert_int_equal(avail(f, GA).sold, 3);
	assert_int_equal(units_held_by(f, 1), 3);
	/* refunded and exchanged tickets do not get in */
	c = refund_cmd(t + 1, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = ticket_cmd(CMD_REDEEM, t + 1);
	refused(f, &c, ST_TICKET_REFUNDED);
	c = exchange_cmd(t + 2, GA2, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = ticket_cmd(CMD_REDEEM, t + 2);
	refused(f, &c, ST_TICKET_EXCHANGED);
	c = ticket_cmd(CMD_REDEEM, t + 3); /* the exchange's new ticket does */
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(stats(f, GA2, CHANNEL_ONLINE).redeemed, 1);
	c = ticket_cmd(CMD_REDEEM, t + 4);
	refused(f, &c, ST_TICKET_UNKNOWN);
	c.ticket.event_id = EV + 1;
	refused(f, &c, ST_EVENT_UNKNOWN);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- refund ---- */

static void refund(void **state)
{
	struct fx *f = setup(0);
	uint64_t t = buy(f, GA, 3, 1);
	struct cmd c;
	struct channel_stats cs;

	(void)state;
	c = refund_cmd(t, 1501, 0);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = refund_cmd(t, 0, 2);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = refund_cmd(t, 200, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.ticket.state, TICKET_REFUNDED);
	assert_int_equal(f->res.ticket.refund_fee_minor, 200);
	/* back on sale */
	assert_int_equal(avail(f, GA).free, 8);
	assert_int_equal(avail(f, GA).sold, 2);
	assert_int_equal(avail(f, GA).killed, 0);
	cs = stats(f, GA, CHANNEL_ONLINE);
	assert_int_equal(cs.sold, 2);
	assert_int_equal(cs.refunded, 1);
	assert_int_equal(cs.revenue_minor, 4500 - 1500 + 200); /* the fee is kept */
	assert_int_equal(units_held_by(f, 1), 2);
	/* a repeat is answered, not applied */
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(f->res.ticket.refund_fee_minor, 200);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).refunded, 1);
	/* the whole price as a fee is allowed */
	c = refund_cmd(t + 1, 1500, 1); /* and this unit is killed */
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(avail(f, GA).free, 8);
	assert_int_equal(avail(f, GA).killed, 1);
	assert_int_equal(avail(f, GA).capacity, 10);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).revenue_minor, 3200);
	assert_int_equal(units_held_by(f, 1), 1);
	/* a redeemed ticket is not refunded */
	c = ticket_cmd(CMD_REDEEM, t + 2);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = refund_cmd(t + 2, 0, 0);
	refused(f, &c, ST_TICKET_REDEEMED);
	c = refund_cmd(t + 3, 0, 0);
	refused(f, &c, ST_TICKET_UNKNOWN);
	c.ticket.event_id = EV + 1;
	refused(f, &c, ST_EVENT_UNKNOWN);
	/* an exchanged ticket is not refunded, its replacement is */
	t = buy(f, GA, 1, 2);
	c = exchange_cmd(t, GA2, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = refund_cmd(t, 0, 0);
	refused(f, &c, ST_TICKET_EXCHANGED);
	c = refund_cmd(t + 1, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(units_held_by(f, 2), 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void refund_seats(void **state)
{
	struct fx *f = setup(0);
	uint64_t t = buy(f, RES2, 4, 1); /* seats 10..13: the whole section */
	struct cmd c;
	struct ticket_view kept, killed;
	uint32_t seat;

	(void)state;
	kept = ticket(f, t);
	killed = ticket(f, t + 1);
	c = refund_cmd(t, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(seat_state(f, 1, kept.seat - 10), SEAT_FREE);
	c = refund_cmd(t + 1, 0, 1);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(seat_state(f, 1, killed.seat - 10), SEAT_KILLED_STATE);
	assert_int_equal(avail(f, RES2).killed, 1);
	assert_int_equal(avail(f, RES2).free, 1);
	/* the refunded seat sells again, the killed one never */
	assert_int_equal(fx_hold_best(f, EV, RES2, 1, 2), ST_OK);
	assert_int_equal(f->res.hold.seats[0], kept.seat);
	assert_int_equal(fx_hold_best(f, EV, RES2, 1, 2), ST_SOLD_OUT);
	seat = killed.seat;
	assert_int_equal(fx_hold_seats(f, EV, RES2, &seat, 1, 2), ST_SEAT_UNAVAILABLE);
	c = exchange_cmd(t + 2, RES2, killed.seat);
	refused(f, &c, ST_SEAT_UNAVAILABLE);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- exchange ---- */

static void exchange_ga(void **state)
{
	struct fx *f = setup(0);
	uint64_t t = buy(f, GA, 2, 1);
	struct cmd c = exchange_cmd(t, GA2, SEAT_NONE);
	struct ticket_view old, fresh;

	(void)state;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_true(f->last_rec_len > 0);
	fresh = f->res.ticket;
	assert_int_equal(fresh.ticket_id, t + 2);
	assert_int_equal(fresh.tier, GA2);
	assert_int_equal(fresh.price_minor, 2500);
	assert_int_equal(fresh.state, TICKET_VALID);
	assert_int_equal(fresh.seat, SEAT_NONE);
	assert_int_equal(fresh.customer_id, 1);
	old = ticket(f, t);
	assert_int_equal(old.state, TICKET_EXCHANGED);
	assert_int_equal(old.replaced_by, fresh.ticket_id);
	assert_int_equal(fresh.order_id, old.order_id);
	/* stock and statistics move between the tiers */
	assert_int_equal(avail(f, GA).sold, 1);
	assert_int_equal(avail(f, GA).free, 9);
	assert_int_equal(avail(f, GA2).sold, 1);
	assert_int_equal(avail(f, GA2).free, 4);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).sold, 1);
	assert_int_equal(stats(f, GA, CHANNEL_ONLINE).revenue_minor, 1500);
	assert_int_equal(stats(f, GA2, CHANNEL_ONLINE).sold, 1);
	assert_int_equal(stats(f, GA2, CHANNEL_ONLINE).revenue_minor, 2500);
	assert_int_equal(units_held_by(f, 1), 2);
	/* a repeat is answered with the new ticket and changes nothing; the
	 * old ticket cannot be exchanged for anything else, the new one can */
	replayed(f, &c, fresh.ticket_id);
	c = exchange_cmd(t, GA, SEAT_NONE);
	refused(f, &c, ST_TICKET_EXCHANGED);
	c = exchange_cmd(fresh.ticket_id, GA, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	/* the new ticket exchanged in turn: the first repeat still names it */
	c = exchange_cmd(t, GA2, SEAT_NONE);
	replayed(f, &c, fresh.ticket_id);
	assert_int_equal(f->res.ticket.state, TICKET_EXCHANGED);
	assert_int_equal(avail(f, GA).sold, 2);
	assert_int_equal(avail(f, GA2).sold, 0);
	/* GA target sold out */
	buy(f, GA2, 5, 2);
	c = exchange_cmd(t + 1, GA2, SEAT_NONE);
	refused(f, &c, ST_SOLD_OUT);
	c = exchange_cmd(t + 1, GA2, 3); /* a seat of a GA tier */
	refused(f, &c, ST_TIER_KIND_MISMATCH);
	c = exchange_cmd(t + 1, 9, SEAT_NONE);
	refused(f, &c, ST_TIER_UNKNOWN);
	c = exchange_cmd(t + 1, TIERS_MAX, SEAT_NONE);
	refused(f, &c, ST_TIER_UNKNOWN);
	c = exchange_cmd(t + 100, GA, SEAT_NONE);
	refused(f, &c, ST_TICKET_UNKNOWN);
	c = ticket_cmd(CMD_REDEEM, t + 1);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = exchange_cmd(t + 1, GA, SEAT_NONE);
	refused(f, &c, ST_TICKET_REDEEMED);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void exchange_seats(void **state)
{
	struct fx *f = setup(0);
	uint64_t t = buy(f, RES, 2, 1);
	struct ticket_view old = ticket(f, t), fresh;
	struct cmd c;
	uint32_t held_seat = 11;

	(void)state;
	/* to a named seat of another tier */
	c = exchange_cmd(t, RES2, 12);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	fresh = f->res.ticket;
	assert_int_equal(fresh.seat, 12);
	assert_int_equal(fresh.tier, RES2);
	assert_int_equal(fresh.price_minor, 6000);
	assert_int_equal(seat_state(f, 1, 2), SEAT_SOLD);
	assert_int_equal(seat_state(f, 0, old.seat), SEAT_FREE);
	assert_int_equal(ticket(f, t).replaced_by, fresh.ticket_id);
	assert_int_equal(avail(f, RES).sold, 1);
	assert_int_equal(avail(f, RES).free, 9);
	assert_int_equal(avail(f, RES2).sold, 1);
	assert_int_equal(stats(f, RES, CHANNEL_ONLINE).revenue_minor, 4000);
	assert_int_equal(stats(f, RES2, CHANNEL_ONLINE).revenue_minor, 6000);
	/* a repeat names its seat or asks for the best one: the first answer;
	 * another seat, or the tier's best seat while it names another tier,
	 * is not a repeat */
	replayed(f, &c, fresh.ticket_id);
	assert_int_equal(f->res.ticket.seat, 12);
	c = exchange_cmd(t, RES2, SEAT_NONE);
	replayed(f, &c, fresh.ticket_id);
	c = exchange_cmd(t, RES2, 13);
	refused(f, &c, ST_TICKET_EXCHANGED);
	c = exchange_cmd(t, RES, SEAT_NONE);
	refused(f, &c, ST_TICKET_EXCHANGED);
	/* to the best available seat of a tier */
	c = exchange_cmd(fresh.ticket_id, RES, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.ticket.tier, RES);
	assert_int_equal(seat_state(f, 0, f->res.ticket.seat), SEAT_SOLD);
	assert_int_equal(f->res.ticket.seat / 5, 0); /* the front row */
	assert_int_equal(seat_state(f, 1, 2), SEAT_FREE);
	/* refusals */
	assert_int_equal(fx_hold_seats(f, EV, RES2, &held_seat, 1, 2), ST_OK);
	c = exchange_cmd(t + 1, RES2, 11);
	refused(f, &c, ST_SEAT_UNAVAILABLE);
	c = exchange_cmd(t + 1, RES2, 14);
	refused(f, &c, ST_SEAT_UNKNOWN);
	c = exchange_cmd(t + 1, RES2, 3); /* seat 3 is tier RES */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = exchange_cmd(t + 1, RES, ticket(f, t + 1).seat); /* its own seat */
	refused(f, &c, ST_SEAT_UNAVAILABLE);
	/* to GA */
	c = exchange_cmd(t + 1, GA, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.ticket.seat, SEAT_NONE);
	assert_int_equal(avail(f, RES).sold, 1);
	assert_int_equal(avail(f, GA).sold, 1);
	/* no seat left for best available */
	held_seat = 10;
	assert_int_equal(fx_hold_seats(f, EV, RES2, &held_seat, 1, 4), ST_OK);
	c = exchange_cmd(buy(f, RES2, 2, 3), RES2, SEAT_NONE);
	refused(f, &c, ST_SOLD_OUT);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- the ticket pool: slots reused, confirms never refused ---- */

/* The core written as a snapshot and read back: same hash, invariants hold.
 * Returns the copy. */
static struct core *snapshot_copy(const struct core *c)
{
	struct state_hash x = core_state_hash(c), y;
	const char *why = NULL;
	struct core *copy = fx_snapshot_copy(c, &why);

	if (!copy)
		print_message("snapshot refused: %s\n", why);
	assert_non_null(copy);
	y = core_state_hash(copy);
	assert_int_equal(x.lo, y.lo);
	assert_int_equal(x.hi, y.hi);
	return copy;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

#define CHURN_ROUNDS 10000u

/* units_max 8, 8 GA units: hold, confirm, refund (every third round an
 * exchange first) over and over. The ticket pool has 16 slots and the hold
 * pool 16 + HOLDS_RETAINED_MIN: both are reused, no step is ever refused,
 * and no ticket id is ever given twice. */
static void refund_churn_never_refused(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t *ids = calloc(2 * CHURN_ROUNDS, sizeof *ids);
	uint32_t n = 0;
	struct cmd c;
	struct core *copy;

	(void)state;
	assert_non_null(ids);
	assert_int_equal(fx_event(f, EV, 8, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 8, 100), ST_OK);
	for (uint32_t i = 0; i < CHURN_ROUNDS; i++) {
		uint64_t t = buy(f, GA, 1, 1 + i % 5);

		ids[n++] = t;
		if (i % 3 == 2) {
			c = exchange_cmd(t, GA, SEAT_NONE);
			assert_string_equal(status_name(fx_exec(f, &c)), "ok");
			t = f->res.ticket.ticket_id;
			assert_int_equal(t, ids[n - 1] + 1); /* the order's next unit */
			ids[n++] = t;
		}
		c = refund_cmd(t, 0, 0);
		assert_string_equal(status_name(fx_exec(f, &c)), "ok");
		assert_int_equal(avail(f, GA).free, 8);
	}
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.tickets_issued, n);
	/* the oldest tickets' slots (and orders) were reused: unknown now */
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, ids[0]), ST_TICKET_UNKNOWN);
	qsort(ids, n, sizeof *ids, cmp_u64);
	for (uint32_t i = 1; i < n; i++)
		assert_true(ids[i] != ids[i - 1]);
	assert_null(fx_replay_check(f));
	copy = snapshot_copy(f->c);
	core_destroy(copy);
	free(ids);
	fx_free(f);
}

/* A refunded ticket stays answerable until its slot is reused (only once
 * no never-used slot is left, oldest first); after that its old id is
 * unknown to every command, never another ticket's. */
static void reused_ticket_id_unknown(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t t1, t2, t3;
	struct cmd c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 1, 0), ST_OK); /* 2 ticket slots */
	assert_int_equal(fx_ga_tier(f, EV, GA, 1, 100), ST_OK);
	t1 = buy(f, GA, 1, 1);
	c = refund_cmd(t1, 10, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	t2 = buy(f, GA, 1, 2);
	assert_int_equal(ticket(f, t1).state, TICKET_REFUNDED); /* slot 2 was never used */
	c = refund_cmd(t2, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	t3 = buy(f, GA, 1, 3); /* takes t1's slot, the oldest */
	assert_true(t3 != t1 && t3 != t2);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, t1), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, EV, t1), ST_TICKET_UNKNOWN);
	c = refund_cmd(t1, 0, 0);
	refused(f, &c, ST_TICKET_UNKNOWN);
	c = exchange_cmd(t1, GA, SEAT_NONE);
	refused(f, &c, ST_TICKET_UNKNOWN);
	assert_int_equal(ticket(f, t2).state, TICKET_REFUNDED);
	assert_int_equal(ticket(f, t3).state, TICKET_VALID);
	assert_int_equal(ticket(f, t3).customer_id, 3);
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, EV, t3), ST_OK);
	assert_null(fx_replay_check(f));
	core_destroy(snapshot_copy(f->c));
	fx_free(f);
}

/* A granted hold has its ticket slots: it confirms even when every slot of
 * the pool has been used and the rest hold refunded tickets. */
static void hold_granted_confirms(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t a, first, t[4];
	struct cmd c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 3, 0), ST_OK); /* 6 ticket slots */
	assert_int_equal(fx_ga_tier(f, EV, GA, 3, 100), ST_OK);
	a = hold(f, GA, 2, 1);
	for (unsigned i = 0; i < 4; i++) {
		t[i] = buy(f, GA, 1, 2);
		c = refund_cmd(t[i], 0, 0);
		assert_int_equal(fx_exec(f, &c), ST_OK);
	}
	buy(f, GA, 1, 3); /* the 5th slot */
	c = refund_cmd(f->res.hold.first_ticket_id, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	/* 6th slot for the next, then the oldest refunded ones */
	assert_int_equal(fx_confirm(f, EV, a, 200), ST_OK);
	first = f->res.hold.first_ticket_id;
	assert_int_equal(ticket(f, first).state, TICKET_VALID);
	assert_int_equal(ticket(f, first + 1).state, TICKET_VALID);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, t[0]), ST_TICKET_UNKNOWN);
	assert_int_equal(ticket(f, t[1]).state, TICKET_REFUNDED);
	assert_null(fx_replay_check(f));
	core_destroy(snapshot_copy(f->c));
	fx_free(f);
}

/* An order keeps its slot and its tickets while one of them is valid or
 * redeemed; once all are refunded its slot joins the ended holds. */
static void order_slot_reused_after_refunds(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t kept, gone, first, old = 0;
	struct cmd c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 3, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 3, 100), ST_OK);
	kept = hold(f, GA, 2, 1);
	assert_int_equal(fx_confirm(f, EV, kept, 200), ST_OK);
	c = refund_cmd(f->res.hold.first_ticket_id + 1, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	gone = hold(f, GA, 1, 2);
	assert_int_equal(fx_confirm(f, EV, gone, 100), ST_OK);
	c = refund_cmd(f->res.hold.first_ticket_id, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	/* enough rounds to reuse every hold slot that can be reused */
	for (uint32_t i = 0; i < 3 * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN; i++) {
		old = buy(f, GA, 1, 3);
		c = refund_cmd(old, 0, 0);
		assert_int_equal(fx_exec(f, &c), ST_OK);
	}
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, gone), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, kept), ST_OK);
	assert_int_equal(f->res.hold.state, HOLD_CONFIRMED);
	first = f->res.hold.first_ticket_id;
	assert_int_equal(ticket(f, first).state, TICKET_VALID);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, first + 1), ST_TICKET_UNKNOWN); /* reused */
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, EV, first), ST_OK);
	assert_int_equal(ticket(f, old).state, TICKET_REFUNDED);
	assert_null(fx_replay_check(f));
	core_destroy(snapshot_copy(f->c));
	fx_free(f);
}

/* A refunded ticket whose order's hold slot went to a new hold keeps no
 * order (its hold link is NIL), and a snapshot taken then must load: the
 * reader once looked up the order of every ticket before asking whether
 * it was valid, and read far outside the hold table (a server with refunds
 * and hold churn could not restart from its own snapshot). */
static void snapshot_with_an_orderless_refund(void **state)
{
	struct fx *f = fx_new(0);
	const struct event *ev;
	uint32_t orderless = 0;
	uint64_t t;
	struct cmd c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 3, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 3, 100), ST_OK);
	ev = event_find(f->c, EV);
	buy(f, GA, 2, 1);
	t = buy(f, GA, 1, 2);
	c = refund_cmd(t, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	/* released holds take fresh slots, then the oldest ended one: the
	 * refunded order's */
	for (uint32_t i = 0; !orderless && i < 3 * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN + 8;
	     i++) {
		assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, hold(f, GA, 1, 3)), ST_OK);
		for (uint32_t k = 0; k < ev->tickets_used; k++)
			orderless += ticket_at(ev, k)->hold == NIL;
	}
	assert_int_equal(orderless, 1);
	core_destroy(snapshot_copy(f->c));
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* An order issues at most ORDER_TICKETS_MAX tickets (its units, then one
 * per exchange): the unit number is the low byte of the ticket id. */
static void exchanges_per_order_bounded(void **state)
{
	struct fx *f = fx_new(0);
	uint64_t t, first;
	struct cmd c;

	(void)state;
	assert_int_equal(fx_event(f, EV, 2, 0), ST_OK); /* 4 ticket slots, reused */
	assert_int_equal(fx_ga_tier(f, EV, GA, 2, 100), ST_OK);
	first = t = buy(f, GA, 1, 1);
	for (unsigned i = 1; i < ORDER_TICKETS_MAX; i++) {
		c = exchange_cmd(t, GA, SEAT_NONE);
		assert_string_equal(status_name(fx_exec(f, &c)), "ok");
		assert_int_equal(f->res.ticket.ticket_id, first + i);
		t = f->res.ticket.ticket_id;
	}
	c = exchange_cmd(t, GA, SEAT_NONE);
	refused(f, &c, ST_TICKET_TABLE_FULL);
	assert_int_equal(ticket(f, t).state, TICKET_VALID);
	assert_int_equal(ticket(f, t - 1).replaced_by, t);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, first), ST_TICKET_UNKNOWN); /* reused */
	c = refund_cmd(t, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_null(fx_replay_check(f));
	core_destroy(snapshot_copy(f->c));
	fx_free(f);
}

/* ---- statistics, alerts, stock ---- */

static void stats_per_tier_and_channel(void **state)
{
	struct fx *f = setup(0);
	struct cmd c;
	uint64_t ids[CHANNELS], first;
	struct channel_stats cs;

	(void)state;
	for (uint8_t ch = 0; ch < CHANNELS; ch++) {
		c = fx_hold_cmd(EV, GA, HOLD_GA, (uint8_t)(ch + 1), 10 + ch);
		c.hold.channel = ch;
		assert_int_equal(fx_exec(f, &c), ST_OK);
		ids[ch] = f->res.hold.hold_id;
	}
	for (uint8_t ch = 0; ch < CHANNELS; ch++)
		assert_int_equal(stats(f, GA, ch).held, ch + 1);
	assert_int_equal(fx_confirm(f, EV, ids[CHANNEL_KIOSK], 4500), ST_OK);
	first = f->res.hold.first_ticket_id;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, ids[CHANNEL_BOX_OFFICE]), ST_OK);
	cs = stats(f, GA, CHANNEL_KIOSK);
	assert_int_equal(cs.held, 0);
	assert_int_equal(cs.sold, 3);
	assert_int_equal(cs.revenue_minor, 4500);
	cs = stats(f, GA, CHANNEL_BOX_OFFICE);
	assert_int_equal(cs.held + cs.sold + cs.revenue_minor, 0);
	cs = stats(f, GA, CHANNEL_ONLINE);
	assert_int_equal(cs.held, 1);
	assert_int_equal(cs.sold, 0);
	/* other tiers are untouched */
	cs = stats(f, GA2, CHANNEL_KIOSK);
	assert_int_equal(cs.held + cs.sold + cs.revenue_minor + cs.redeemed + cs.refunded, 0);
	/* a ticket keeps its order's channel through an exchange */
	c = exchange_cmd(first, GA2, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	cs = stats(f, GA, CHANNEL_KIOSK);
	assert_int_equal(cs.sold, 2);
	assert_int_equal(cs.revenue_minor, 3000);
	cs = stats(f, GA2, CHANNEL_KIOSK);
	assert_int_equal(cs.sold, 1);
	assert_int_equal(cs.revenue_minor, 2500);
	assert_int_equal(stats(f, GA2, CHANNEL_ONLINE).sold, 0);
	/* refunds and redemptions count on the ticket's channel and tier */
	c = ticket_cmd(CMD_REDEEM, first + 3);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	c = refund_cmd(first + 1, 100, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(stats(f, GA2, CHANNEL_KIOSK).redeemed, 1);
	cs = stats(f, GA, CHANNEL_KIOSK);
	assert_int_equal(cs.refunded, 1);
	assert_int_equal(cs.sold, 1);
	assert_int_equal(cs.revenue_minor, 1600);
	assert_int_equal(cs.redeemed, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void low_stock_alerts(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = {.type = CMD_TIER_ADD};
	uint64_t big, small, more, big_first, x, t7;
	struct cmd s = {.type = CMD_STOCK_OUT};

	(void)state;
	assert_int_equal(fx_event(f, EV, 100, 0), ST_OK);
	c.tier.event_id = EV;
	c.tier.tier = 6;
	c.tier.kind = TIER_GA;
	c.tier.capacity = 10;
	c.tier.price_minor = 100;
	c.tier.low_stock_threshold = 3;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	c.tier.tier = 7;
	c.tier.capacity = 2; /* starts below its threshold */
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 1u << 7);
	assert_int_equal(avail(f, 7).low_stock, 1);

	big = hold(f, 6, 7, 1); /* free 3: not below 3 */
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 0);
	small = hold(f, 6, 1, 1); /* free 2: crosses below */
	assert_int_equal(f->res.low_stock_tiers, 1u << 6);
	assert_int_equal(avail(f, 6).low_stock, 1);
	more = hold(f, 6, 1, 1); /* free 1: already low, no new alert */
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, more), ST_OK); /* free 2 */
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 1);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, small), ST_OK); /* free 3: re-armed */
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 0);
	/* a confirm does not change free stock: no alert */
	assert_int_equal(fx_confirm(f, EV, big, 700), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	big_first = f->res.hold.first_ticket_id;
	small = hold(f, 6, 2, 1); /* free 1: crosses again */
	assert_int_equal(f->res.low_stock_tiers, 1u << 6);
	/* an expiry climbs back */
	f->now += HOLD_TTL_MS_DEFAULT;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, small), ST_OK); /* free 3 */
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 0);
	x = hold(f, 6, 1, 1); /* free 2 */
	assert_int_equal(f->res.low_stock_tiers, 1u << 6);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, x), ST_OK); /* free 3 */
	/* an exchange out of tier 7 (still low) into tier 6 crosses tier 6 only */
	t7 = buy(f, 7, 1, 2);
	assert_int_equal(f->res.low_stock_tiers, 0);
	c = exchange_cmd(t7, 6, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 1u << 6);
	assert_int_equal(avail(f, 7).low_stock, 1);
	/* a refund climbs back, a stock move crosses */
	c = refund_cmd(big_first, 0, 0);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 0);
	s.stock.event_id = EV;
	s.stock.tier = 6;
	s.stock.qty = 1;
	s.stock.peer_shard = 1;
	assert_int_equal(fx_exec(f, &s), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 1u << 6);
	s.type = CMD_STOCK_IN; /* a transfer from shard 1 */
	s.stock.transfer_id = XFER_ID(1, 0, 1);
	assert_int_equal(fx_exec(f, &s), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 6).low_stock, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* An exchange within one tier leaves its free stock where it was: no alert,
 * whichever side of the threshold the tier is on. */
static void low_stock_exchange_within_tier(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = {.type = CMD_TIER_ADD};
	uint64_t t, h;

	(void)state;
	assert_int_equal(fx_event(f, EV, 100, 0), ST_OK);
	c.tier.event_id = EV;
	c.tier.tier = 0;
	c.tier.kind = TIER_GA;
	c.tier.capacity = 6;
	c.tier.price_minor = 100;
	c.tier.low_stock_threshold = 3;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	t = buy(f, 0, 3, 1); /* free 3: at the threshold, not below */
	assert_int_equal(avail(f, 0).low_stock, 0);
	c = exchange_cmd(t, 0, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0);
	assert_int_equal(avail(f, 0).free, 3);
	assert_int_equal(avail(f, 0).low_stock, 0);
	h = hold(f, 0, 1, 2); /* free 2: below, alerted once */
	assert_int_equal(f->res.low_stock_tiers, 1u << 0);
	assert_int_equal(fx_confirm(f, EV, h, 100), ST_OK);
	t = f->res.hold.first_ticket_id;
	assert_int_equal(avail(f, 0).low_stock, 1);
	c = exchange_cmd(t, 0, SEAT_NONE);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.low_stock_tiers, 0); /* still below: no second alert */
	assert_int_equal(avail(f, 0).low_stock, 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(confirm_issues_tickets),
		cmocka_unit_test(confirm_refused),
		cmocka_unit_test(confirm_repeat),
		cmocka_unit_test(redeem),
		cmocka_unit_test(refund),
		cmocka_unit_test(refund_seats),
		cmocka_unit_test(exchange_ga),
		cmocka_unit_test(exchange_seats),
		cmocka_unit_test(refund_churn_never_refused),
		cmocka_unit_test(reused_ticket_id_unknown),
		cmocka_unit_test(hold_granted_confirms),
		cmocka_unit_test(order_slot_reused_after_refunds),
		cmocka_unit_test(snapshot_with_an_orderless_refund),
		cmocka_unit_test(exchanges_per_order_bounded),
		cmocka_unit_test(stats_per_tier_and_channel),
		cmocka_unit_test(low_stock_alerts),
		cmocka_unit_test(low_stock_exchange_within_tier),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
