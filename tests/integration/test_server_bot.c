/*
 * test_server_bot.c — a real onsaled (2 shards) against a bot that holds
 * every unit it can with short-lived holds, from connections that may sit
 * on either shard: each of its customers is stopped at the event's limit
 * whichever shard the next hold lands on; a buyer finds the GA tier sold
 * out; the bot's holds do not expire early, and once their TTL passed
 * every unit is free again (held 0, free = capacity) and the buyer holds.
 * (test_server_shards.c covers limits over holds on three shards and a
 * release; this adds the bot's volume and the expiry.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define SHARDS 2
#define EV 41
#define GA_UNITS 40u
#define LIMIT 4u
#define TTL_MS 3000u
#define BOT_CONNS 4
#define CUSTOMERS_MAX 200u
#define EXPIRY_SLACK_MS 2000u /* the expiry tick, and a noisy machine */

static const char *argv0;
static struct srv h;

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static const uint8_t tiers[3] = {TV_TIER_GA, TV_TIER_A, TV_TIER_B};

static int hold(struct onsale *c, uint8_t tier, uint8_t qty, uint64_t cust)
{
	struct result res;

	return tier == TV_TIER_GA ? onsale_hold_ga(c, EV, tier, qty, cust, 0, &res)
				  : onsale_hold_best(c, EV, tier, qty, cust, 0, &res);
}

/* Totals of the three tiers: capacity, free, held. */
static void totals(struct onsale *c, uint32_t *cap, uint32_t *free_units, uint32_t *held)
{
	struct result res;

	assert_int_equal(onsale_query_availability(c, EV, &res), ST_OK);
	*cap = *free_units = *held = 0;
	for (unsigned i = 0; i < 3; i++) {
		*cap += res.avail.tiers[tiers[i]].capacity;
		*free_units += res.avail.tiers[tiers[i]].free;
		*held += res.avail.tiers[tiers[i]].held;
		assert_int_equal(res.avail.tiers[tiers[i]].sold, 0);
	}
}

/* Each customer holds LIMIT units of one tier, then is refused one more
 * of the next tier (on whichever shard it lands); until all three tiers
 * are sold out (or have no LIMIT adjacent seats left). Returns when the
 * last hold was made; *units: the units held. */
static uint64_t bot_holds_everything(struct onsale **bot, uint32_t *units)
{
	unsigned sold_out = 0, t = 0;
	uint64_t last_ms = 0;

	for (uint64_t cust = 1; cust <= CUSTOMERS_MAX && sold_out < 3; cust++) {
		struct onsale *c = bot[cust % BOT_CONNS];
		int st = hold(c, tiers[t], LIMIT, cust);
		if (st == ST_SOLD_OUT || st == ST_NO_ADJACENT_SEATS) {
			sold_out++;
			t = (t + 1) % 3;
			continue;
		}
		assert_int_equal(st, ST_OK);
		last_ms = mono_ms();
		*units += LIMIT;
		sold_out = 0;
		for (unsigned k = 1; k < 3; k++)
			assert_int_equal(hold(bot[(cust + k) % BOT_CONNS], tiers[(t + k) % 3], 1,
					      cust),
					 ST_CUSTOMER_LIMIT);
	}
	assert_int_equal(sold_out, 3);
	return last_ms;
}

static void bot_holds_expire(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *buyer = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct onsale *bot[BOT_CONNS];
	struct tv tv;
	uint32_t cap, free_units, held, units = 0;

	assert_non_null(admin);
	assert_non_null(buyer);
	for (unsigned k = 0; k < BOT_CONNS; k++)
		assert_non_null(bot[k] = srv_open(&h, ONSALE_ROLE_PLATFORM));
	assert_int_equal(tv_load(admin, &tv, EV, GA_UNITS, LIMIT, TTL_MS, 0), 0);
	uint64_t first_ms = mono_ms();
	uint64_t last_ms = bot_holds_everything(bot, &units);
	assert_int_equal(hold(buyer, TV_TIER_GA, 1, 9999), ST_SOLD_OUT);
	totals(buyer, &cap, &free_units, &held);
	if (mono_ms() < first_ms + TTL_MS) { /* nothing expired early */
		assert_int_equal(held, units);
		assert_int_equal(free_units, cap - units);
	}
	uint64_t deadline = last_ms + TTL_MS + EXPIRY_SLACK_MS;
	do {
		usleep(100 * 1000);
		totals(buyer, &cap, &free_units, &held);
	} while (free_units < cap && mono_ms() < deadline);
	assert_int_equal(held, 0);
	assert_int_equal(free_units, cap);
	assert_true(mono_ms() >= first_ms + TTL_MS); /* not before the first TTL */
	assert_int_equal(hold(buyer, TV_TIER_GA, 1, 9999), ST_OK);
	for (unsigned k = 0; k < BOT_CONNS; k++)
		onsale_close(bot[k]);
	onsale_close(buyer);
	onsale_close(admin);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	srv_init(&h, argv0, SHARDS);
	if (srv_start(&h))
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bot_holds_expire),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	srv_cleanup(&h);
	return rc;
}
