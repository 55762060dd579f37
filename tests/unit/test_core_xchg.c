/*
 * test_core_xchg.c — the seat's side of a cross-shard exchange (XCHG_IN,
 * core/xchg.c) on one core: the order it makes, and the same IN sent again
 * at a restart answered with that first order whatever became of its ticket
 * since, also once the ticket's slot was reused; a client's repeat (`again`)
 * answered the same way, and never making an order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/fixture.h"

#define EV 5
#define RES 1                            /* section 0: 1 row x 4 seats, at 4000 */
#define UNITS 4                          /* the event's units_max: a ticket table of 8 */
#define OLD_TICKET 0x0000000100000203ull /* the ticket leaving shard 0 */
#define CUSTOMER 77

static struct fx *setup(void)
{
	struct fx *f = fx_new(1); /* shard B */

	assert_int_equal(fx_event(f, EV, UNITS, 0), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, RES, 4000), ST_OK);
	assert_int_equal(fx_section(f, EV, 0, 1, 4, RES), ST_OK);
	return f;
}

static struct cmd in_cmd(uint32_t seat)
{
	struct cmd c = {.type = CMD_XCHG_IN};

	c.xchg.event_id = EV;
	c.xchg.tier = RES;
	c.xchg.peer_shard = 0;
	c.xchg.seat = seat;
	c.xchg.ticket_id = OLD_TICKET;
	c.xchg.customer_id = CUSTOMER;
	return c;
}

static void refund(struct fx *f, uint64_t ticket_id)
{
	struct cmd c = {.type = CMD_REFUND};

	c.ticket.event_id = EV;
	c.ticket.ticket_id = ticket_id;
	c.ticket.seat = SEAT_NONE;
	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
}

/* A seat bought and refunded: one more ticket slot used, then queued for
 * reuse behind the ones refunded before it. */
static void buy_and_refund(struct fx *f, uint32_t seat)
{
	assert_string_equal(status_name(fx_hold_seats(f, EV, RES, &seat, 1, 900)), "ok");
	assert_string_equal(status_name(fx_confirm(f, EV, f->res.hold.hold_id,
						   f->res.hold.amount_due_minor)),
			    "ok");
	refund(f, f->res.hold.first_ticket_id);
}

static uint32_t tier_free(struct fx *f)
{
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	return f->res.avail.tiers[RES].free;
}

/* The IN again, as A's recovery sends it: the first order's ticket,
 * nothing changed. */
static struct ticket_view in_again(struct fx *f, uint64_t want_ticket)
{
	struct cmd c = in_cmd(2);
	uint32_t free_before = tier_free(f);
	struct ticket_view v;

	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->last_rec_len, 0);
	v = f->res.ticket;
	assert_int_equal(v.ticket_id, want_ticket);
	assert_int_equal(v.customer_id, CUSTOMER);
	assert_int_equal(v.event_id, EV);
	assert_int_equal(tier_free(f), free_before);
	return v;
}

/* The first IN, for seat 2: a new order; its ticket's id. */
static uint64_t first_in(struct fx *f)
{
	struct cmd c = in_cmd(2);

	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
	assert_int_equal(f->res.replayed, 0);
	return f->res.ticket.ticket_id;
}

/* Tickets bought and refunded on the seats below `seats` until every slot
 * of the table was taken again: ticket t (retired before) is gone. */
static void reuse_every_slot(struct fx *f, uint32_t seats, uint64_t t)
{
	for (uint32_t i = 1; i <= UNITS * TICKETS_PER_UNIT_MAX; i++)
		buy_and_refund(f, i % seats);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, t), ST_TICKET_UNKNOWN);
}

static void in_makes_one_order(void **state)
{
	struct fx *f = setup();
	uint64_t t = first_in(f);
	struct cmd c;

	(void)state;
	assert_int_equal(f->res.ticket.seat, 2);
	assert_int_equal(f->res.ticket.state, TICKET_VALID);
	assert_int_equal(tier_free(f), 3);
	in_again(f, t);
	/* another seat named by the same ticket: still the first order */
	c = in_cmd(3);
	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.ticket.ticket_id, t);
	assert_int_equal(tier_free(f), 3);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* The new ticket refunded before A's END was durable (A then crashed):
 * the exchange still happened, so the IN at A's restart answers it. */
static void in_again_after_refund(void **state)
{
	struct fx *f = setup();
	uint64_t t = first_in(f);

	(void)state;
	refund(f, t);
	assert_int_equal(in_again(f, t).state, TICKET_REFUNDED);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ... and its slot reused by later tickets (the table holds UNITS x
 * TICKETS_PER_UNIT_MAX; refunded slots are reused oldest first). Before,
 * this answered ticket_exchanged: A ended the exchange as refused and its
 * old ticket was valid again beside B's order. */
static void in_again_after_slot_reused(void **state)
{
	struct fx *f = setup();
	uint64_t t = first_in(f);
	struct ticket_view v;

	(void)state;
	refund(f, t);
	reuse_every_slot(f, UNITS, t);
	v = in_again(f, t);
	assert_int_equal(v.seat, 2);
	assert_int_equal(v.tier, RES);
	assert_int_equal(tier_free(f), UNITS);
	/* a client's repeat sees stored tickets only: refused, as on one shard */
	struct cmd c = in_cmd(2);
	c.xchg.again = 1;
	assert_string_equal(status_name(fx_exec(f, &c)), "ticket_exchanged");
	assert_int_equal(f->last_rec_len, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ... and when the exchange's ticket was exchanged again on B (its order
 * then chains the new ticket, unit 1) before its slot was reused. Before,
 * this answered ticket_unknown: A ended the exchange refused. */
static void in_again_after_exchange_here(void **state)
{
	struct fx *f = setup();
	uint64_t t = first_in(f);
	struct cmd c = {.type = CMD_EXCHANGE};
	struct ticket_view v;

	(void)state;
	c.ticket.event_id = EV;
	c.ticket.ticket_id = t;
	c.ticket.tier = RES;
	c.ticket.seat = 3;
	assert_string_equal(status_name(fx_exec(f, &c)), "ok");
	reuse_every_slot(f, 3, t); /* seats 0-2: seat 3 stays sold */
	v = in_again(f, t);
	assert_int_equal(v.seat, 2);
	assert_int_equal(tier_free(f), UNITS - 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* A client's repeat of the exchange (an IN marked again): the first order
 * when it names what that got, else refused; it never makes an order. */
static void repeat_only_answers(void **state)
{
	struct fx *f = setup();
	struct cmd c = in_cmd(2);
	uint64_t t;

	(void)state;
	c.xchg.again = 1;
	assert_string_equal(status_name(fx_exec(f, &c)), "ticket_exchanged");
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(tier_free(f), UNITS);
	t = first_in(f);
	for (uint32_t seat = 0; seat <= 4; seat++) { /* 4: SEAT_NONE below */
		c = in_cmd(seat == 4 ? SEAT_NONE : seat);
		c.xchg.again = 1;
		assert_string_equal(status_name(fx_exec(f, &c)),
				    seat == 2 || seat == 4 ? "ok" : "ticket_exchanged");
		assert_int_equal(f->last_rec_len, 0);
		if (seat == 2 || seat == 4)
			assert_int_equal(f->res.ticket.ticket_id, t);
	}
	c = in_cmd(SEAT_NONE);
	c.xchg.again = 1;
	c.xchg.tier = 0; /* not the tier it got */
	assert_string_equal(status_name(fx_exec(f, &c)), "ticket_exchanged");
	assert_int_equal(tier_free(f), UNITS - 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(in_makes_one_order),
		cmocka_unit_test(in_again_after_refund),
		cmocka_unit_test(in_again_after_slot_reused),
		cmocka_unit_test(in_again_after_exchange_here),
		cmocka_unit_test(repeat_only_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
