/*
 * test_server_ops.c — a real onsaled (1 and 3 shards) driven through
 * libonsale: every operation end to end, global seat ids, sums over shards,
 * idempotency, server stats, hold views as PROTOCOL.md lays them out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

static const char *argv0;

static void check_conservation(struct onsale *c, uint32_t event_id)
{
	struct result res;
	assert_int_equal(onsale_query_availability(c, event_id, &res), ST_OK);
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		if (v->defined)
			assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	}
}

static void run_ops(unsigned shards)
{
	struct srv h;
	struct tv tv;
	struct result res;
	srv_init(&h, argv0, shards);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct onsale *scan = srv_open(&h, ONSALE_ROLE_SCANNER);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_non_null(scan);
	assert_int_equal(tv_load(admin, &tv, 7, 120, 0, 0, 1), 0);
	for (unsigned i = 0; i < TV_SECTIONS; i++) /* section i lives on shard i % N */
		assert_int_equal(tv.seat_first[i] >> 24, i % shards);

	/* sums over shards */
	assert_int_equal(onsale_query_event(admin, 7, &res), ST_OK);
	assert_int_equal(res.event.units_placed, 120 + TV_SECTIONS * TV_SECTION_SEATS);
	assert_int_equal(res.event.seat_count, TV_SECTIONS * TV_SECTION_SEATS);
	assert_int_equal(res.event.section_count, TV_SECTIONS);
	assert_int_equal(onsale_query_availability(plat, 7, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].capacity, 120);
	assert_int_equal(res.avail.tiers[TV_TIER_A].capacity, 3 * TV_SECTION_SEATS);

	/* GA: hold, confirm, tickets, redeem, second scan, refund */
	assert_int_equal(onsale_hold_ga(plat, 7, TV_TIER_GA, 2, 1001, 55, &res), ST_OK);
	uint64_t hold = res.hold.hold_id;
	assert_int_equal(res.hold.qty, 2);
	assert_int_equal(onsale_hold_ga(plat, 7, TV_TIER_GA, 2, 1001, 55, &res), ST_OK);
	assert_int_equal(res.replayed, 1);
	assert_int_equal(res.hold.hold_id, hold);
	assert_int_equal(onsale_confirm(plat, 7, hold, 2 * TV_PRICE_GA, "pay-1", &res), ST_OK);
	uint64_t ticket = res.hold.first_ticket_id;
	assert_int_equal(onsale_query_order(plat, 7, hold, &res), ST_OK);
	assert_int_equal(res.hold.state, HOLD_CONFIRMED);
	assert_int_equal(onsale_query_ticket(scan, 7, ticket, &res), ST_OK);
	assert_int_equal(res.ticket.seat, SEAT_NONE);
	assert_int_equal(onsale_redeem(scan, 7, ticket, 3, &res), ST_OK);
	assert_int_equal(onsale_redeem(scan, 7, ticket, 4, &res), ST_TICKET_ALREADY_REDEEMED);
	assert_int_equal(res.ticket.gate_id, 3);
	assert_int_equal(onsale_refund(plat, 7, ticket + 1, 100, 0, &res), ST_OK);
	assert_int_equal(onsale_refund(plat, 7, ticket + 1, 100, 0, &res), ST_OK);
	assert_int_equal(res.replayed, 1);

	/* seats: global ids in and out, extend, release */
	uint32_t seats[2] = {tv.seat_first[4], tv.seat_first[4] + 1};
	assert_int_equal(onsale_hold_seats(plat, 7, TV_TIER_B, seats, 2, 1002, 0, &res), ST_OK);
	assert_int_equal(res.hold.seats[0], seats[0]);
	assert_int_equal(res.hold.seats[1], seats[1]);
	for (unsigned i = 2; i < HOLD_UNITS_MAX; i++)
		assert_int_equal(res.hold.seats[i], 0); /* unused slots are zero (PROTOCOL.md) */
	hold = res.hold.hold_id;
	static struct onsale_seat_states st;
	assert_int_equal(onsale_query_section_seats(plat, 7, 4, &st), ST_OK);
	assert_int_equal(st.first_seat, tv.seat_first[4]);
	assert_int_equal(st.seat_count, TV_SECTION_SEATS);
	assert_int_equal(st.states[0], SEAT_HELD);
	assert_int_equal(st.states[2], SEAT_FREE);
	assert_int_equal(onsale_hold_extend(plat, 7, hold, 60000, &res), ST_OK);
	assert_int_equal(onsale_hold_release(plat, 7, hold, &res), ST_OK);
	assert_int_equal(res.hold.state, HOLD_RELEASED);
	assert_int_equal(onsale_query_hold(plat, 7, hold, &res), ST_OK);
	assert_int_equal(res.hold.state, HOLD_RELEASED);

	/* best available goes to the best section (1), wherever it lives */
	assert_int_equal(onsale_hold_best(plat, 7, TV_TIER_A, 2, 1003, 0, &res), ST_OK);
	assert_int_equal(res.hold.seats[0] >> 24, 1 % shards);
	assert_true(res.hold.seats[0] >= tv.seat_first[1] &&
		    res.hold.seats[0] < tv.seat_first[1] + TV_SECTION_SEATS);
	hold = res.hold.hold_id;
	assert_int_equal(onsale_confirm(plat, 7, hold, 2 * TV_PRICE_A, "pay-2", &res), ST_OK);
	ticket = res.hold.first_ticket_id;
	/* exchange on the ticket's shard, then to a seat on another */
	uint32_t target = tv.seat_first[1] + 30;
	assert_int_equal(onsale_exchange(plat, 7, ticket, TV_TIER_A, target, &res), ST_OK);
	assert_int_equal(res.ticket.seat, target);
	assert_int_equal(onsale_exchange(plat, 7, res.ticket.ticket_id, TV_TIER_A, tv.seat_first[2],
					 &res),
			 ST_OK);
	assert_int_equal(res.ticket.seat, tv.seat_first[2]);

	/* unknown ids, other queries, server */
	assert_int_equal(onsale_query_hold(plat, 7, 0xff00000000000001ull, &res), ST_HOLD_UNKNOWN);
	assert_int_equal(onsale_query_customer(plat, 7, 1001, &res), ST_OK);
	assert_int_equal(res.customer.units, 1);
	assert_int_equal(onsale_query_stats(admin, 7, TV_TIER_A, &res), ST_OK);
	assert_int_equal(res.stats.channels[CHANNEL_ONLINE].sold, 2);
	assert_int_equal(onsale_ping(scan), ST_OK);
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_int_equal(ss.counters[ONSALE_STAT_SHARDS], shards);
	check_conservation(admin, 7);

	/* the state survives a clean restart */
	onsale_close(admin);
	onsale_close(plat);
	onsale_close(scan);
	assert_int_equal(srv_stop(&h), 0);
	assert_int_equal(srv_spawn(&h), 0);
	plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_query_order(plat, 7, hold, &res), ST_OK);
	assert_int_equal(res.hold.state, HOLD_CONFIRMED);
	check_conservation(plat, 7);
	onsale_close(plat);
	srv_cleanup(&h);
}

static void ops_one_shard(void **state)
{
	(void)state;
	run_ops(1);
}

static void ops_three_shards(void **state)
{
	(void)state;
	run_ops(3);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ops_one_shard),
		cmocka_unit_test(ops_three_shards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
