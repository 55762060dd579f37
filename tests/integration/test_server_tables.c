/*
 * test_server_tables.c — a real onsaled (1 and 2 shards) whose hold and
 * ticket tables are sized by a tiny event (units_max 8, 8 GA units): rounds
 * of hold, confirm, refund far past the tables' sizes are never refused,
 * also after a restart (recovery replays the reuse), and an old ticket id
 * is unknown once its slot was reused. Before ticket slots were reused the
 * 17th round (1 shard) or the 30th (2 shards, GA units moved between them
 * by transfers) had its confirm refused with ticket_table_full while the
 * hold before it still took stock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"

#define EV 11
#define UNITS 8
#define PRICE 700u
#define ROUNDS 200u /* 12 times the ticket table of a shard */
#define ROUNDS_AFTER_RESTART 40u
#define TIME_MAX_MS 30000u /* for all rounds of one server */

static const char *argv0;

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void create_event(struct onsale *admin)
{
	struct cmd_event ev = {.event_id = EV,
			       .state = EVENT_ON_SALE,
			       .units_max = UNITS,
			       .presale_start_ms = 1,
			       .public_start_ms = 2};
	struct cmd_tier t = {.event_id = EV,
			     .tier = 0,
			     .kind = TIER_GA,
			     .capacity = UNITS,
			     .price_minor = PRICE};
	struct result res;

	snprintf(ev.name, sizeof ev.name, "tables");
	snprintf(t.name, sizeof t.name, "Floor");
	assert_int_equal(onsale_event_create(admin, &ev, &res), ST_OK);
	assert_int_equal(onsale_tier_add(admin, &t, &res), ST_OK);
}

/* n rounds of hold 1, confirm, refund; each must succeed. Returns the first
 * ticket id of the first round. */
static uint64_t churn(struct onsale *plat, uint32_t n, uint64_t deadline_ms)
{
	struct result res;
	uint64_t first = 0;

	for (uint32_t i = 0; i < n && mono_ms() < deadline_ms; i++) {
		char ref[16];
		int st = onsale_hold_ga(plat, EV, 0, 1, 1 + i % 7, 0, &res);

		if (st != ST_OK)
			print_message("round %u: hold: %s\n", i + 1, status_name(st));
		assert_int_equal(st, ST_OK);
		snprintf(ref, sizeof ref, "pay-%u", i);
		st = onsale_confirm(plat, EV, res.hold.hold_id, PRICE, ref, &res);
		if (st != ST_OK)
			print_message("round %u: confirm: %s\n", i + 1, status_name(st));
		assert_int_equal(st, ST_OK);
		first = first ? first : res.hold.first_ticket_id;
		assert_int_equal(onsale_refund(plat, EV, res.hold.first_ticket_id, 0, 0, &res),
				 ST_OK);
	}
	assert_true(mono_ms() < deadline_ms);
	return first;
}

static void check_all_free(struct onsale *c)
{
	struct result res;

	assert_int_equal(onsale_query_availability(c, EV, &res), ST_OK);
	assert_int_equal(res.avail.tiers[0].capacity, UNITS);
	assert_int_equal(res.avail.tiers[0].free, UNITS);
	assert_int_equal(res.avail.tiers[0].held + res.avail.tiers[0].sold, 0);
}

static void run_tables(unsigned shards)
{
	uint64_t deadline = mono_ms() + TIME_MAX_MS, first;
	struct result res;
	struct srv h;

	srv_init(&h, argv0, shards);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	create_event(admin);
	first = churn(plat, ROUNDS, deadline);
	check_all_free(plat);
	/* its slot has long been reused: unknown, never another ticket */
	assert_int_equal(onsale_query_ticket(plat, EV, first, &res), ST_TICKET_UNKNOWN);
	onsale_close(admin);
	onsale_close(plat);

	/* recovery replays the same reuse */
	assert_int_equal(srv_stop(&h), 0);
	assert_int_equal(srv_spawn(&h), 0);
	plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	check_all_free(plat);
	churn(plat, ROUNDS_AFTER_RESTART, deadline);
	check_all_free(plat);
	onsale_close(plat);
	srv_cleanup(&h);
}

static void tables_one_shard(void **state)
{
	(void)state;
	run_tables(1);
}

static void tables_two_shards(void **state)
{
	(void)state;
	run_tables(2);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tables_one_shard),
		cmocka_unit_test(tables_two_shards),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
