/*
 * test_server_shards.c — placement across shards on a real onsaled
 * (3 shards): a GA tier sold out by customers homed on every shard, with
 * stock transfers between allotments and never more than the capacity
 * sold; best available across shards until every seat is taken, each seat
 * once; a customer limit counted over holds on three shards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define SHARDS 3

static const char *argv0;
static struct srv h;
static struct onsale *admin, *plat;

static int setup(void **state)
{
	(void)state;
	srv_init(&h, argv0, SHARDS);
	if (srv_start(&h))
		return -1;
	admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	return admin && plat ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	onsale_close(admin);
	onsale_close(plat);
	srv_cleanup(&h);
	return 0;
}

/* Pipelined GA holds of one unit each for customers 1..n. */
static unsigned ga_holds(uint32_t event_id, unsigned n, uint64_t cust_base)
{
	unsigned ok = 0, sold_out = 0, done = 0, sent = 0;
	while (done < n) {
		while (sent < n && onsale_inflight(plat) < 64) {
			struct cmd cmd;
			onsale_prep_hold_ga(&cmd, event_id, TV_TIER_GA, 1, cust_base + sent, 0);
			assert_int_equal(onsale_submit(plat, &cmd, sent, NULL), 0);
			sent++;
		}
		struct onsale_completion c[64];
		int got = onsale_poll(plat, c, 64, 5000);
		assert_true(got > 0);
		for (int i = 0; i < got; i++, done++) {
			if (c[i].rc == ST_OK)
				ok++;
			else if (c[i].rc == ST_SOLD_OUT)
				sold_out++;
			else
				fail_msg("GA hold: status %d", c[i].rc);
		}
	}
	assert_int_equal(ok + sold_out, n);
	return ok;
}

static void ga_sellout(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	struct onsale_server_stats ss;
	assert_int_equal(tv_load(admin, &tv, 11, 301, 0, 0, 0), 0);
	/* 301 = 101 + 100 + 100 over 3 shards; 400 customers spread by home,
	 * 64 in flight: a hold may be refused while stock is on its way
	 * between two other shards, never more than the capacity is sold */
	unsigned sold = ga_holds(11, 400, 5000);
	assert_true(sold <=
		    301); /* how many the race sells depends on load; the rest is found below */
	/* one at a time, what is left anywhere is found */
	unsigned refused = 0;
	for (uint64_t cust = 6000; refused < 2 * SHARDS; cust++) {
		int rc = onsale_hold_ga(plat, 11, TV_TIER_GA, 1, cust, 0, &res);
		assert_true(rc == ST_OK || rc == ST_SOLD_OUT);
		sold += rc == ST_OK;
		refused = rc == ST_OK ? 0 : refused + 1;
		assert_true(sold <= 301);
	}
	assert_int_equal(sold, 301);
	assert_int_equal(onsale_query_availability(plat, 11, &res), ST_OK);
	const struct tier_view *t = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(t->capacity, 301);
	assert_int_equal(t->held, 301);
	assert_int_equal(t->free, 0);
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_true(ss.counters[ONSALE_STAT_STOCK_TRANSFERS] > 0);
	/* after a restart the split capacity still adds up */
	assert_int_equal(srv_stop(&h), 0);
	assert_int_equal(srv_spawn(&h), 0);
	onsale_close(admin);
	onsale_close(plat);
	admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(onsale_query_availability(plat, 11, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].capacity, 301);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].held, 301);
	assert_int_equal(ga_holds(11, 10, 9000), 0);
}

/* A refused ticket request's view is all zero, whichever shard its id
 * names (a ticket of shard k > 0 got seat k << 24: local seat 0 made
 * global). */
static void refusals_name_no_seat(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	assert_int_equal(tv_load(admin, &tv, 14, 30, 0, 0, 0), 0);
	for (uint64_t k = 0; k < SHARDS; k++) {
		uint64_t id = k << 56 | 0x12345;
		assert_int_equal(onsale_query_ticket(plat, 14, id, &res), ST_TICKET_UNKNOWN);
		assert_int_equal(res.ticket.seat, 0);
		assert_int_equal(onsale_refund(plat, 14, id, 0, 0, &res), ST_TICKET_UNKNOWN);
		assert_int_equal(res.ticket.seat, 0);
		assert_int_equal(res.ticket.ticket_id, 0);
	}
}

static void best_across(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	static uint8_t taken[SHARDS][1 << 16];
	memset(taken, 0, sizeof taken);
	assert_int_equal(tv_load(admin, &tv, 12, 10, 0, 0, 2), 0);
	unsigned holds = 0, seats = 0;
	for (uint64_t cust = 1;; cust++) {
		int rc = onsale_hold_best(plat, 12, TV_TIER_A, 2, cust, 0, &res);
		if (rc == ST_NO_ADJACENT_SEATS)
			break;
		assert_int_equal(rc, ST_OK);
		if (holds++ == 0) /* the best section (2) first, wherever it lives */
			assert_int_equal(res.hold.seats[0] >> 24, 2 % SHARDS);
		for (unsigned i = 0; i < res.hold.qty; i++) {
			uint32_t s = res.hold.seats[i];
			assert_true((s >> 24) < SHARDS);
			assert_int_equal(taken[s >> 24][s & 0xffff], 0);
			taken[s >> 24][s & 0xffff] = 1;
			seats++;
		}
		assert_true(holds <= 3 * TV_SECTION_SEATS);
	}
	/* pairs leave single seats here and there; singles take the rest */
	for (uint64_t cust = 100000;; cust++) {
		int rc = onsale_hold_best(plat, 12, TV_TIER_A, 1, cust, 0, &res);
		if (rc == ST_NO_ADJACENT_SEATS || rc == ST_SOLD_OUT)
			break;
		assert_int_equal(rc, ST_OK);
		uint32_t s = res.hold.seats[0];
		assert_int_equal(taken[s >> 24][s & 0xffff], 0);
		taken[s >> 24][s & 0xffff] = 1;
		seats++;
	}
	assert_int_equal(seats, 3 * TV_SECTION_SEATS);
	assert_int_equal(onsale_query_availability(plat, 12, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_A].free, 0);
	assert_int_equal(res.avail.tiers[TV_TIER_A].held, 3 * TV_SECTION_SEATS);
}

static void limit_across(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	const uint64_t cust = 777;
	assert_int_equal(tv_load(admin, &tv, 13, 50, 4, 0, 0), 0);
	/* 2 seats on shard 0 (section 0), 1 on shard 1 (section 1) */
	uint32_t a[2] = {tv.seat_first[0], tv.seat_first[0] + 1}, b = tv.seat_first[1];
	assert_int_equal(onsale_hold_seats(plat, 13, TV_TIER_A, a, 2, cust, 0, &res), ST_OK);
	uint64_t hold_a = res.hold.hold_id;
	assert_int_equal(onsale_hold_seats(plat, 13, TV_TIER_A, &b, 1, cust, 0, &res), ST_OK);
	/* 3 held: 2 more anywhere is over the limit of 4 */
	assert_int_equal(onsale_hold_ga(plat, 13, TV_TIER_GA, 2, cust, 0, &res), ST_CUSTOMER_LIMIT);
	assert_int_equal(onsale_hold_best(plat, 13, TV_TIER_B, 2, cust, 0, &res),
			 ST_CUSTOMER_LIMIT);
	uint32_t c = tv.seat_first[2];
	assert_int_equal(onsale_hold_seats(plat, 13, TV_TIER_A, &c, 1, cust, 0, &res), ST_OK);
	assert_int_equal(onsale_hold_ga(plat, 13, TV_TIER_GA, 1, cust, 0, &res), ST_CUSTOMER_LIMIT);
	assert_int_equal(onsale_query_customer(plat, 13, cust, &res), ST_OK);
	assert_int_equal(res.customer.units, 4);
	/* a release gives the units back to the home shard's count */
	assert_int_equal(onsale_hold_release(plat, 13, hold_a, &res), ST_OK);
	assert_int_equal(onsale_hold_ga(plat, 13, TV_TIER_GA, 2, cust, 0, &res), ST_OK);
	assert_int_equal(onsale_hold_best(plat, 13, TV_TIER_B, 1, cust, 0, &res),
			 ST_CUSTOMER_LIMIT);
	/* the counts are rebuilt after a restart */
	assert_int_equal(srv_stop(&h), 0);
	assert_int_equal(srv_spawn(&h), 0);
	onsale_close(admin);
	onsale_close(plat);
	admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(onsale_hold_best(plat, 13, TV_TIER_B, 1, cust, 0, &res),
			 ST_CUSTOMER_LIMIT);
	assert_int_equal(onsale_hold_ga(plat, 13, TV_TIER_GA, 1, cust, 0, &res), ST_CUSTOMER_LIMIT);
	assert_int_equal(onsale_hold_ga(plat, 13, TV_TIER_GA, 4, cust + 1, 0, &res), ST_OK);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ga_sellout),
		cmocka_unit_test(refusals_name_no_seat),
		cmocka_unit_test(best_across),
		cmocka_unit_test(limit_across),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
