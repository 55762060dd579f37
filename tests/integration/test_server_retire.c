/*
 * test_server_retire.c — EVENT_RETIRE on a real 2-shard onsaled, as an
 * operator runs it: an event is sold (with a GA stock transfer between the
 * shards), a ticket refunded, the event closed and retired on every shard;
 * Q_STATS, Q_AVAILABILITY and Q_EVENT then answer the final numbers summed
 * over the shards, anything else about it is event_retired, the id cannot
 * be created again; all of it survives a crash (replay of the retire
 * records) and a clean restart (from snapshots), and onsale-wal verify
 * passes over WALs that hold the retirements, whose dump shows them.
 */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"
#include "tests/support/tool_run.h"

#define EVENT_ID 7
#define GA_CAPACITY 40 /* 20 per shard */
#define HOLD_QTY 4
#define HOLDS 7 /* 28 units: more than one shard's 20, so stock moves */
#define CUSTOMER 4242
#define OUT_BYTES (64u << 10)

static const char *argv0;
static char tool[600];
static char out[OUT_BYTES];

/* onsale-wal with stdout and stderr into out; its exit status. */
#define run_tool(...) tool_run(tool, out, sizeof out, __VA_ARGS__)
#define expect_out(needle) tool_expect(out, needle)

#define assert_status(got, want) assert_string_equal(status_name(got), status_name(want))

/* What the final numbers are, summed over the shards. */
struct final {
	struct stats_view stats[3];
	struct availability_view avail;
	struct event_view event;
};

static void read_final(struct onsale *admin, struct final *f)
{
	struct result res;

	for (uint8_t t = 0; t < 3; t++) {
		assert_status(onsale_query_stats(admin, EVENT_ID, t, &res), ST_OK);
		f->stats[t] = res.stats;
	}
	assert_status(onsale_query_availability(admin, EVENT_ID, &res), ST_OK);
	f->avail = res.avail;
	assert_status(onsale_query_event(admin, EVENT_ID, &res), ST_OK);
	f->event = res.event;
}

static void same_final(const struct final *a, const struct final *b)
{
	for (uint8_t t = 0; t < 3; t++)
		assert_memory_equal(a->stats[t].channels, b->stats[t].channels,
				    sizeof a->stats[t].channels);
	assert_int_equal(a->avail.tier_count, b->avail.tier_count);
	for (uint8_t t = 0; t < 3; t++) {
		assert_int_equal(a->avail.tiers[t].capacity, b->avail.tiers[t].capacity);
		assert_int_equal(a->avail.tiers[t].sold, b->avail.tiers[t].sold);
		assert_int_equal(a->avail.tiers[t].killed, b->avail.tiers[t].killed);
		assert_int_equal(a->avail.tiers[t].free, b->avail.tiers[t].free);
		assert_int_equal(a->avail.tiers[t].held, 0);
	}
	assert_int_equal(a->event.units_placed, b->event.units_placed);
	assert_int_equal(a->event.seat_count, b->event.seat_count);
	assert_int_equal(a->event.tickets_issued, b->event.tickets_issued);
	assert_string_equal(a->event.event.name, b->event.event.name);
}

static void sell(struct onsale *plat, uint64_t *ticket)
{
	struct result res;

	for (unsigned i = 0; i < HOLDS; i++) {
		assert_status(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, HOLD_QTY, CUSTOMER,
					     1000 + i, &res),
			      ST_OK);
		assert_status(onsale_confirm(plat, EVENT_ID, res.hold.hold_id,
					     HOLD_QTY * TV_PRICE_GA, "pay", &res),
			      ST_OK);
		*ticket = res.hold.first_ticket_id;
	}
	assert_status(onsale_hold_best(plat, EVENT_ID, TV_TIER_A, 3, 99, 7, &res), ST_OK);
	assert_status(onsale_confirm(plat, EVENT_ID, res.hold.hold_id, 3 * TV_PRICE_A, "pay", &res),
		      ST_OK);
	assert_status(onsale_refund(plat, EVENT_ID, *ticket, 100, 0, &res), ST_OK);
}

static void set_state(struct onsale *admin, uint8_t state)
{
	struct result res;
	struct cmd_event ev;

	assert_status(onsale_query_event(admin, EVENT_ID, &res), ST_OK);
	ev = res.event.event;
	ev.state = state;
	assert_status(onsale_event_update(admin, &ev, &res), ST_OK);
}

/* The retired event as a client sees it; f: the numbers it must show. */
static void expect_retired(struct srv *h, const struct final *f, uint64_t ticket)
{
	struct onsale *admin = srv_open(h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	struct final now;
	struct result res;
	struct cmd_event ev = f->event.event;

	assert_non_null(admin);
	assert_non_null(plat);
	read_final(admin, &now);
	same_final(f, &now);
	assert_int_equal(now.event.retired, 1);
	assert_int_equal(now.stats[TV_TIER_GA].channels[CHANNEL_ONLINE].sold, HOLDS * HOLD_QTY - 1);
	assert_int_equal(now.stats[TV_TIER_GA].channels[CHANNEL_ONLINE].refunded, 1);
	assert_int_equal(now.stats[TV_TIER_GA].channels[CHANNEL_ONLINE].revenue_minor,
			 (HOLDS * HOLD_QTY - 1) * TV_PRICE_GA + 100);
	assert_int_equal(now.stats[TV_TIER_A].channels[CHANNEL_ONLINE].sold, 3);
	assert_int_equal(now.avail.tiers[TV_TIER_GA].capacity, GA_CAPACITY);
	assert_status(onsale_query_ticket(plat, EVENT_ID, ticket + 1, &res), ST_EVENT_RETIRED);
	assert_status(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, 1, 5, 0, &res), ST_EVENT_RETIRED);
	assert_status(onsale_hold_best(plat, EVENT_ID, TV_TIER_A, 1, 5, 0, &res), ST_EVENT_RETIRED);
	assert_status(onsale_event_create(admin, &ev, &res), ST_EVENT_RETIRED);
	/* placing units goes through the event's home first (they answered
	 * event_unknown) */
	struct cmd_tier tier = {
		.event_id = EVENT_ID, .tier = 9, .kind = TIER_GA, .capacity = 1, .price_minor = 1};
	assert_status(onsale_tier_add(admin, &tier, &res), ST_EVENT_RETIRED);
	struct row_spec row = {.label = "A", .seat_count = 1, .first_number = 1};
	struct seat_spec seat = {.tier = TV_TIER_A};
	struct cmd_section sec = {.event_id = EVENT_ID,
				  .section = 40,
				  .row_count = 1,
				  .name = "late",
				  .rows = &row,
				  .seats = &seat};
	assert_status(onsale_section_load(admin, &sec, &res), ST_EVENT_RETIRED);
	onsale_close(admin);
	onsale_close(plat);
}

static void retire_on_two_shards(void **state)
{
	struct srv h;
	struct tv tv;
	struct result res;
	struct final before;
	uint64_t ticket = 0, hold;

	(void)state;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 1), 0);
	sell(plat, &ticket);

	assert_status(onsale_event_retire(admin, EVENT_ID, &res), ST_EVENT_NOT_CLOSED);
	assert_status(onsale_event_retire(plat, EVENT_ID, &res), ST_FORBIDDEN);
	assert_status(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, 1, 6, 0, &res), ST_OK);
	hold = res.hold.hold_id;
	/* still on sale, with a hold: closing it is what to do first (it
	 * answered event_holds_live, and after the release event_not_closed) */
	assert_status(onsale_event_retire(admin, EVENT_ID, &res), ST_EVENT_NOT_CLOSED);
	set_state(admin, EVENT_CLOSED);
	/* every shard is asked first: a live hold anywhere refuses it on all */
	assert_status(onsale_event_retire(admin, EVENT_ID, &res), ST_EVENT_HOLDS_LIVE);
	assert_status(onsale_query_event(admin, EVENT_ID, &res), ST_OK);
	assert_int_equal(res.event.retired, 0);
	assert_status(onsale_hold_release(plat, EVENT_ID, hold, &res), ST_OK);
	read_final(admin, &before);
	assert_status(onsale_event_retire(admin, EVENT_ID, &res), ST_OK);
	assert_status(onsale_event_retire(admin, EVENT_ID, &res), ST_OK); /* a repeat */
	assert_int_equal(res.replayed, 1);
	onsale_close(admin);
	onsale_close(plat);
	expect_retired(&h, &before, ticket);

	srv_kill(&h); /* no snapshot since: the retire records are replayed */
	assert_int_equal(srv_spawn(&h), 0);
	expect_retired(&h, &before, ticket);
	assert_int_equal(srv_stop(&h), 0); /* a clean stop writes snapshots */
	assert_int_equal(srv_spawn(&h), 0);
	expect_retired(&h, &before, ticket);
	assert_int_equal(srv_stop(&h), 0);

	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("shards: ok together");
	assert_int_equal(run_tool("dump --data '%s' --type event_retire", h.dir), 0);
	expect_out("event_retire event=7");
	assert_non_null(strstr(strstr(out, "event_retire") + 1, "event_retire")); /* each shard */
	assert_int_equal(run_tool("replay --data '%s'", h.dir), 0);
	expect_out("retired_events 1");
	srv_cleanup(&h);
}

/* More events than the 256 event slots ids carry, each sold and retired:
 * the last one reuses the first one's slot, so its ticket ids repeat the
 * first one's; each names its event, and verify checks ids per event. */
static void slots_go_round(void **state)
{
	struct srv h;
	struct result res;
	uint64_t first_ticket = 0, last_ticket = 0;

	(void)state;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	for (uint32_t i = 0; i <= EVENTS_MAX; i++) {
		uint32_t id = 1000 + i;
		struct cmd_event ev = {.event_id = id,
				       .state = EVENT_ON_SALE,
				       .units_max = 8,
				       .presale_start_ms = 1,
				       .public_start_ms = 2};
		struct cmd_tier t = {.event_id = id,
				     .kind = TIER_GA,
				     .capacity = 4,
				     .price_minor = 100};

		assert_status(onsale_event_create(admin, &ev, &res), ST_OK);
		assert_status(onsale_tier_add(admin, &t, &res), ST_OK);
		assert_status(onsale_hold_ga(plat, id, 0, 1, CUSTOMER, 0, &res), ST_OK);
		assert_status(onsale_confirm(plat, id, res.hold.hold_id, 100, "pay", &res), ST_OK);
		if (i == 0)
			first_ticket = res.hold.first_ticket_id;
		last_ticket = res.hold.first_ticket_id;
		ev.state = EVENT_CLOSED;
		assert_status(onsale_event_update(admin, &ev, &res), ST_OK);
		assert_status(onsale_event_retire(admin, id, &res), ST_OK);
	}
	assert_true(last_ticket == first_ticket); /* the slot went round */
	assert_status(onsale_query_ticket(plat, 1000, first_ticket, &res), ST_EVENT_RETIRED);
	onsale_close(admin);
	onsale_close(plat);
	srv_kill(&h); /* every record stays in the WAL: no snapshot */
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("shards: ok together");
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const char *slash = strrchr(argv0, '/');
	snprintf(tool, sizeof tool, "%.*s/../../bin/onsale-wal", slash ? (int)(slash - argv0) : 1,
		 slash ? argv0 : ".");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(retire_on_two_shards),
		cmocka_unit_test(slots_go_round),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
