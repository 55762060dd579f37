/*
 * test_server_agree.c — shards that agree, on a real onsaled: the failures
 * an operator saw when the cross-shard logic depended on snapshot timing
 * or on where a request landed, each as a test.
 *
 *   snapshot_fallback_no_oversell  units moved between shards, a clean stop,
 *                                  the giver's newest snapshot damaged: after
 *                                  the restart the tier still has exactly its
 *                                  capacity (it had 150 of 100 before)
 *   kill_mid_transfers_conserves   SIGKILL while GA stock moves between
 *                                  shards, several times: never more than the
 *                                  capacity held, every acknowledged hold kept
 *   best_available_retry_once      a best-available hold's retry with the same
 *                                  key gets the first hold, whichever shard
 *                                  has it (it held twice, then hit the limit)
 *   ga_retry_at_limit_replayed     a GA retry at the customer limit is
 *                                  answered with its hold, not refused
 *   presale_code_once              a single-use code is used once in the
 *                                  whole server (it worked once per shard),
 *                                  and a released hold gives its use back
 *   units_max_over_shards          an event never places more than units_max
 *                                  over all shards (101 of 100 was accepted,
 *                                  and selling through it lost units)
 *   low_stock_is_the_tiers         a hold's low-stock bit says the tier is low,
 *                                  not one shard's allotment
 *   exchange_into_ga_elsewhere     an exchange into a GA tier whose units are
 *                                  on another shard takes them (sold_out before)
 *   exchange_to_seat_elsewhere     an exchange to a named seat on another
 *                                  shard works, both ways, and survives a
 *                                  kill (it was refused seat_unavailable)
 *   exchange_best_elsewhere        an exchange to the best seat of a tier the
 *                                  ticket's shard has none of takes one on
 *                                  another shard (it was refused sold_out)
 *   stop_under_transfers_conserves SIGTERM while pipelined GA holds move stock
 *                                  between shards: whatever the drain left in
 *                                  the rings, the tier is whole after restart
 */
#include <dirent.h>
#include <pthread.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/shard/node.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

static const char *argv0;

/* A fresh onsaled of `shards` shards with the test venue loaded as event_id
 * (ga units, customer limit, best-ranked section: srv_event.h). */
static void start_with_event(struct srv *h, unsigned shards, struct tv *tv, uint32_t event_id,
			     uint32_t ga, uint16_t limit, unsigned best)
{
	srv_init(h, argv0, shards);
	assert_int_equal(srv_start(h), 0);
	struct onsale *admin = srv_open(h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	assert_int_equal(tv_load(admin, tv, event_id, ga, limit, 0, best), 0);
	onsale_close(admin);
}

static uint64_t homed(unsigned shards, unsigned shard, uint64_t from)
{
	while (node_home(shards, from) != shard)
		from++;
	return from;
}

/* One-unit GA holds for n customers from cust (homed on `shard` unless it
 * is -1); returns how many were granted. Other answers must be sold_out. */
static unsigned ga_holds(struct onsale *c, uint32_t event_id, unsigned n, uint64_t *cust,
			 unsigned shards, int shard)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++, (*cust)++) {
		struct result res;
		if (shard >= 0)
			*cust = homed(shards, (unsigned)shard, *cust);
		int rc = onsale_hold_ga(c, event_id, TV_TIER_GA, 1, *cust, 0, &res);
		if (rc == ST_OK)
			ok++;
		else
			assert_string_equal(status_name((enum status)rc), "sold_out");
	}
	return ok;
}

static struct tier_view ga(struct onsale *c, uint32_t event_id)
{
	struct result res;
	assert_int_equal(onsale_query_availability(c, event_id, &res), ST_OK);
	return res.avail.tiers[TV_TIER_GA];
}

/* Flips a byte in the body of the newest snapshot of shard k. */
static void damage_newest_snapshot(const struct srv *h, unsigned k)
{
	char dir[400], newest[300] = "", path[720];
	snprintf(dir, sizeof dir, "%s/shard-%u", h->dir, k);
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		if (!strncmp(e->d_name, "snap-", 5) && strstr(e->d_name, ".osnp") &&
		    strcmp(e->d_name, newest) > 0)
			snprintf(newest, sizeof newest, "%s", e->d_name);
	closedir(d);
	assert_true(newest[0]);
	snprintf(path, sizeof path, "%s/%s", dir, newest);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 100), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, 100), 1);
	close(fd);
}

static void snapshot_fallback_no_oversell(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	uint64_t cust = 1000;
	start_with_event(&h, 2, &tv, 31, 100, 0, 0);
	assert_int_equal(srv_stop(&h), 0); /* first snapshots: 50 + 50 */

	assert_int_equal(srv_spawn(&h), 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	/* 60 customers homed on shard 0: it takes 50 units from shard 1 */
	assert_int_equal(ga_holds(c, 31, 60, &cust, 2, 0), 60);
	onsale_close(c);
	assert_int_equal(srv_stop(&h), 0);

	damage_newest_snapshot(&h, 1); /* shard 1 falls back to the older one */
	long from = srv_log_size(&h);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct tier_view t = ga(c, 31); /* answered: the shards have recovered */
	char log[8192];
	srv_log_since(&h, from, log, sizeof log);
	const char *warn = strstr(log, "level=warn shard=1 msg=\"damaged snapshot skipped\"");
	if (!warn) /* said as a warning, not only inside the info line */
		fail_msg("no warning for the damaged snapshot:\n%s", log);
	assert_int_equal(t.capacity, 100);
	assert_int_equal(t.held, 60);
	assert_int_equal(t.free, 40);
	assert_int_equal(ga_holds(c, 31, 90, &cust, 2, -1), 40);
	t = ga(c, 31);
	assert_int_equal(t.capacity, 100);
	assert_int_equal(t.held, 100);
	onsale_close(c);
	assert_int_equal(srv_stop(&h), 0);
	srv_cleanup(&h);
}

static void kill_mid_transfers_conserves(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	uint64_t cust = 5000;
	unsigned held = 0;
	start_with_event(&h, 3, &tv, 32, 300, 0, 0);
	for (unsigned round = 0; round < 4; round++) {
		if (round == 1) { /* snapshots, so later rounds mix their ages */
			assert_int_equal(srv_stop(&h), 0);
			assert_int_equal(srv_spawn(&h), 0);
		}
		struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
		/* customers of one shard, so its allotment runs short */
		held += ga_holds(c, 32, 40, &cust, 3, (int)(round % 3));
		onsale_close(c);
		if (round >= 2)
			damage_newest_snapshot(&h, round % 3);
		srv_kill(&h);
		assert_int_equal(srv_spawn(&h), 0);
		c = srv_open(&h, ONSALE_ROLE_PLATFORM);
		struct tier_view t = ga(c, 32);
		assert_int_equal(t.capacity, 300);
		assert_int_equal(t.held, held); /* every acknowledged hold kept */
		assert_int_equal(t.free, 300 - held);
		onsale_close(c);
	}
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	held += ga_holds(c, 32, 400, &cust, 3, -1);
	assert_int_equal(held, 300);
	assert_int_equal(ga(c, 32).held, 300);
	onsale_close(c);
	srv_cleanup(&h);
}

/* Customer 900 + i holds 4 named seats of section sec from seat `from`. */
static void fill_section(struct onsale *c, const struct tv *tv, unsigned sec, unsigned from,
			 unsigned count)
{
	for (unsigned i = 0; i < count; i += 4) {
		uint32_t seats[4];
		unsigned n = count - i < 4 ? count - i : 4;
		struct result res;
		for (unsigned j = 0; j < n; j++)
			seats[j] = tv->seat_first[sec] + from + i + j;
		assert_int_equal(onsale_hold_seats(c, tv->event_id, TV_TIER_A, seats, (uint8_t)n,
						   900 + sec * 100 + i, 0, &res),
				 ST_OK);
	}
}

static void best_available_retry_once(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result a, b;
	start_with_event(&h, 3, &tv, 33, 10, 4, 2); /* limit 4, best: section 2 */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	fill_section(c, &tv, 2, 2, TV_SECTION_SEATS - 2); /* section 2 keeps one pair */
	assert_int_equal(onsale_hold_best(c, 33, TV_TIER_A, 2, 77, 0xabc, &a), ST_OK);
	assert_int_equal(a.hold.seats[0] >> 24, 2); /* the last pair, on shard 2 */
	for (int retry = 0; retry < 3; retry++) {
		assert_int_equal(onsale_hold_best(c, 33, TV_TIER_A, 2, 77, 0xabc, &b), ST_OK);
		assert_int_equal(b.replayed, 1);
		assert_true(b.hold.hold_id == a.hold.hold_id);
	}
	assert_int_equal(onsale_query_customer(c, 33, 77, &b), ST_OK);
	assert_int_equal(b.customer.units, 2);
	/* after a restart too */
	onsale_close(c);
	srv_kill(&h);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(onsale_hold_best(c, 33, TV_TIER_A, 2, 77, 0xabc, &b), ST_OK);
	assert_int_equal(b.replayed, 1);
	assert_true(b.hold.hold_id == a.hold.hold_id);
	/* another key is a new hold, within the limit */
	assert_int_equal(onsale_hold_best(c, 33, TV_TIER_A, 2, 77, 0xabd, &b), ST_OK);
	assert_int_equal(b.replayed, 0);
	assert_int_equal(onsale_hold_best(c, 33, TV_TIER_A, 1, 77, 0xabe, &b), ST_CUSTOMER_LIMIT);
	onsale_close(c);
	srv_cleanup(&h);
}

static void ga_retry_at_limit_replayed(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result a, b;
	start_with_event(&h, 2, &tv, 34, 100, 4, 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint64_t cust = homed(2, 0, 4000);
	/* 2 seats on shard 1 (section 1), then 2 GA units at home: the limit */
	uint32_t seats[2] = {tv.seat_first[1], tv.seat_first[1] + 1};
	assert_int_equal(onsale_hold_seats(c, 34, TV_TIER_A, seats, 2, cust, 0, &a), ST_OK);
	assert_int_equal(onsale_hold_ga(c, 34, TV_TIER_GA, 2, cust, 0x51, &a), ST_OK);
	assert_int_equal(onsale_hold_ga(c, 34, TV_TIER_GA, 2, cust, 0x51, &b), ST_OK);
	assert_int_equal(b.replayed, 1);
	assert_true(b.hold.hold_id == a.hold.hold_id);
	assert_int_equal(onsale_hold_ga(c, 34, TV_TIER_GA, 1, cust, 0x52, &b), ST_CUSTOMER_LIMIT);
	onsale_close(c);
	srv_cleanup(&h);
}

/* The event in its presale window: a code is needed until an hour from now. */
static void presale_window(struct onsale *admin, uint32_t event_id)
{
	struct result res;
	assert_int_equal(onsale_query_event(admin, event_id, &res), ST_OK);
	struct cmd_event ev = res.event.event;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	ev.presale_start_ms = 1;
	ev.public_start_ms = (uint64_t)now.tv_sec * 1000u + 3600u * 1000u;
	assert_int_equal(onsale_event_update(admin, &ev, &res), ST_OK);
}

static int code_hold(struct onsale *c, uint32_t event_id, uint64_t customer, const char *code,
		     struct result *res)
{
	struct cmd_hold h = {.event_id = event_id,
			     .tier = TV_TIER_GA,
			     .mode = HOLD_GA,
			     .qty = 1,
			     .customer_id = customer};
	h.code_len = (uint8_t)strlen(code);
	memcpy(h.code, code, h.code_len);
	return onsale_hold(c, &h, res);
}

static void presale_code_once(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res, first;
	srv_init(&h, argv0, 3);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(tv_load(admin, &tv, 35, 300, 0, 0, 0), 0);
	presale_window(admin, 35);
	assert_int_equal(onsale_presale_code_add(admin, 35, "FANCLUB-1", 9, 1, &res), ST_OK);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(code_hold(c, 35, homed(3, 0, 100), "NOPE", &res), ST_PRESALE_CODE_INVALID);
	/* customers homed on each shard: the code works once in all */
	assert_int_equal(code_hold(c, 35, homed(3, 0, 200), "FANCLUB-1", &first), ST_OK);
	assert_int_equal(code_hold(c, 35, homed(3, 1, 300), "FANCLUB-1", &res),
			 ST_PRESALE_CODE_EXHAUSTED);
	assert_int_equal(code_hold(c, 35, homed(3, 2, 400), "FANCLUB-1", &res),
			 ST_PRESALE_CODE_EXHAUSTED);
	/* released: the use comes back, once */
	assert_int_equal(onsale_hold_release(c, 35, first.hold.hold_id, &res), ST_OK);
	assert_int_equal(code_hold(c, 35, homed(3, 2, 500), "FANCLUB-1", &first), ST_OK);
	assert_int_equal(code_hold(c, 35, homed(3, 1, 600), "FANCLUB-1", &res),
			 ST_PRESALE_CODE_EXHAUSTED);
	/* and the count survives a crash */
	onsale_close(c);
	onsale_close(admin);
	srv_kill(&h);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	for (unsigned k = 0; k < 3; k++)
		assert_int_equal(code_hold(c, 35, homed(3, k, 700 + 100 * k), "FANCLUB-1", &res),
				 ST_PRESALE_CODE_EXHAUSTED);
	assert_int_equal(onsale_hold_release(c, 35, first.hold.hold_id, &res), ST_OK);
	assert_int_equal(code_hold(c, 35, homed(3, 1, 1100), "FANCLUB-1", &res), ST_OK);
	onsale_close(c);
	srv_cleanup(&h);
}

static int add_ga_alert(struct onsale *admin, uint32_t event_id, uint8_t tier, uint32_t capacity,
			uint32_t low_stock_threshold)
{
	struct cmd_tier t = {.event_id = event_id,
			     .tier = tier,
			     .kind = TIER_GA,
			     .capacity = capacity,
			     .price_minor = 1000,
			     .low_stock_threshold = low_stock_threshold};
	struct result res;
	snprintf(t.name, sizeof t.name, "GA%u", tier);
	return onsale_tier_add(admin, &t, &res);
}

static int add_ga(struct onsale *admin, uint32_t event_id, uint8_t tier, uint32_t capacity)
{
	return add_ga_alert(admin, event_id, tier, capacity, 0);
}

static int add_section(struct onsale *admin, uint32_t event_id, uint16_t section, uint16_t seats)
{
	struct row_spec row = {.label = "A", .seat_count = seats, .first_number = 1};
	struct seat_spec sp[256];
	struct cmd_section sec = {.event_id = event_id,
				  .section = section,
				  .row_count = 1,
				  .rows = &row,
				  .seats = sp};
	struct result res;
	for (unsigned i = 0; i < seats; i++)
		sp[i] = (struct seat_spec){.tier = 5, .rank = (uint16_t)i};
	snprintf(sec.name, sizeof sec.name, "S%u", section);
	return onsale_section_load(admin, &sec, &res);
}

static void units_max_over_shards(void **state)
{
	(void)state;
	struct srv h;
	struct result res;
	uint64_t cust = 1;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct cmd_event ev = {.event_id = 36,
			       .state = EVENT_ON_SALE,
			       .units_max = 100,
			       .presale_start_ms = 1,
			       .public_start_ms = 2};
	snprintf(ev.name, sizeof ev.name, "Small");
	assert_int_equal(onsale_event_create(admin, &ev, &res), ST_OK);
	assert_int_equal(add_ga(admin, 36, 0, 101), ST_EVENT_FULL);
	assert_int_equal(add_ga(admin, 36, 0, 60), ST_OK);
	assert_int_equal(add_ga(admin, 36, 1, 41), ST_EVENT_FULL);
	struct cmd_tier rt = {.event_id = 36, .tier = 5, .kind = TIER_RESERVED, .price_minor = 1};
	snprintf(rt.name, sizeof rt.name, "Seats");
	assert_int_equal(onsale_tier_add(admin, &rt, &res), ST_OK);
	assert_int_equal(add_section(admin, 36, 1, 41), ST_EVENT_FULL);
	assert_int_equal(add_section(admin, 36, 1, 40), ST_OK);
	assert_int_equal(add_section(admin, 36, 2, 1), ST_EVENT_FULL);
	assert_int_equal(onsale_query_event(admin, 36, &res), ST_OK);
	assert_int_equal(res.event.units_placed, 100);
	/* selling through it: every unit moves to the shard that sells it */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(ga_holds(c, 36, 70, &cust, 2, 1), 60);
	assert_int_equal(ga(c, 36).capacity, 60);
	onsale_close(c);
	srv_kill(&h);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(ga(c, 36).capacity, 60);
	assert_int_equal(ga(c, 36).held, 60);
	onsale_close(c);
	onsale_close(admin);
	admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(add_ga(admin, 36, 2, 1), ST_EVENT_FULL); /* still counted after restart */
	onsale_close(admin);
	srv_cleanup(&h);
}

static void low_stock_is_the_tiers(void **state)
{
	(void)state;
	struct srv h;
	struct result res;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct cmd_event ev = {.event_id = 37,
			       .state = EVENT_ON_SALE,
			       .units_max = 100,
			       .presale_start_ms = 1,
			       .public_start_ms = 2};
	snprintf(ev.name, sizeof ev.name, "Alerts");
	assert_int_equal(onsale_event_create(admin, &ev, &res), ST_OK);
	assert_int_equal(add_ga_alert(admin, 37, 0, 20, 10), ST_OK); /* 10 + 10 */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint64_t cust = homed(2, 0, 1);
	assert_int_equal(onsale_hold_ga(c, 37, 0, 8, cust, 0, &res), ST_OK); /* 2 + 10 left */
	assert_int_equal(res.low_stock_tiers, 0);
	assert_int_equal(ga(c, 37).free, 12);
	assert_int_equal(ga(c, 37).low_stock, 0);
	cust = homed(2, 1, cust + 1);
	assert_int_equal(onsale_hold_ga(c, 37, 0, 3, cust, 0, &res), ST_OK); /* 9: below */
	assert_int_equal(res.low_stock_tiers, 1);
	assert_int_equal(ga(c, 37).low_stock, 1);
	cust = homed(2, 0, cust + 1);
	assert_int_equal(onsale_hold_ga(c, 37, 0, 1, cust, 0, &res), ST_OK); /* once only */
	assert_int_equal(res.low_stock_tiers, 0);
	onsale_close(c);
	onsale_close(admin);
	srv_cleanup(&h);
}

static void exchange_into_ga_elsewhere(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res, held;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(tv_load(admin, &tv, 38, 10, 0, 0, 0), 0);
	assert_int_equal(add_ga(admin, 38, 3, 2), ST_OK); /* one unit on each shard */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint64_t cust = homed(2, 0, 50);
	assert_int_equal(onsale_hold_ga(c, 38, 3, 1, cust, 0, &res), ST_OK); /* shard 0's unit */
	/* a seat on shard 0 (section 0), bought, exchanged into tier 3 */
	uint32_t seat = tv.seat_first[0];
	assert_int_equal(onsale_hold_seats(c, 38, TV_TIER_A, &seat, 1, cust + 1, 0, &held), ST_OK);
	assert_int_equal(onsale_confirm(c, 38, held.hold.hold_id, held.hold.amount_due_minor, "pay",
					&res),
			 ST_OK);
	uint64_t ticket = res.hold.first_ticket_id;
	assert_int_equal(onsale_exchange(c, 38, ticket, 3, SEAT_NONE, &res), ST_OK);
	assert_int_equal(res.ticket.tier, 3);
	struct result av;
	assert_int_equal(onsale_query_availability(c, 38, &av), ST_OK);
	assert_int_equal(av.avail.tiers[3].capacity, 2);
	assert_int_equal(av.avail.tiers[3].sold + av.avail.tiers[3].held, 2);
	assert_int_equal(av.avail.tiers[3].free, 0);
	/* nothing left anywhere: refused */
	uint32_t seat2 = tv.seat_first[0] + 1;
	assert_int_equal(onsale_hold_seats(c, 38, TV_TIER_A, &seat2, 1, cust + 2, 0, &held), ST_OK);
	assert_int_equal(onsale_confirm(c, 38, held.hold.hold_id, held.hold.amount_due_minor, "pay",
					&res),
			 ST_OK);
	assert_int_equal(onsale_exchange(c, 38, res.hold.first_ticket_id, 3, SEAT_NONE, &res),
			 ST_SOLD_OUT);
	onsale_close(c);
	onsale_close(admin);
	srv_cleanup(&h);
}

/* A confirmed one-seat order of `seat` for customer cust; its ticket id. */
static uint64_t buy_seat(struct onsale *c, uint32_t event_id, uint32_t seat, uint64_t cust)
{
	struct result held, res;
	assert_int_equal(onsale_hold_seats(c, event_id, TV_TIER_A, &seat, 1, cust, 0, &held),
			 ST_OK);
	assert_int_equal(onsale_confirm(c, event_id, held.hold.hold_id, held.hold.amount_due_minor,
					"pay", &res),
			 ST_OK);
	return res.hold.first_ticket_id;
}

static void ticket_is(struct onsale *c, uint32_t event_id, uint64_t id, uint8_t state,
		      uint64_t replaced_by, uint32_t seat)
{
	struct result q;
	assert_int_equal(onsale_query_ticket(c, event_id, id, &q), ST_OK);
	assert_int_equal(q.ticket.state, state);
	assert_true(q.ticket.replaced_by == replaced_by);
	assert_int_equal(q.ticket.seat, seat);
}

/* The exchange of `old` to tier/seat again: answered with the new ticket
 * (`fresh`, at `seat`) as a replay, wherever it is. */
static void exchange_again(struct onsale *c, uint32_t event_id, uint64_t old, uint8_t tier,
			   uint32_t to, uint64_t fresh, uint32_t seat)
{
	struct result res;
	assert_int_equal(onsale_exchange(c, event_id, old, tier, to, &res), ST_OK);
	assert_int_equal(res.replayed, 1);
	assert_true(res.ticket.ticket_id == fresh);
	assert_int_equal(res.ticket.seat, seat);
	assert_int_equal(res.ticket.state, TICKET_VALID);
}

static void exchange_to_seat_elsewhere(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res, q;
	start_with_event(&h, 2, &tv, 39, 10, 4, 0); /* limit 4; section k on shard k % 2 */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint64_t cust = homed(2, 0, 70);
	uint32_t mine = tv.seat_first[0], taken = tv.seat_first[1], target = tv.seat_first[1] + 1;
	assert_int_equal(mine >> 24, 0);
	assert_int_equal(target >> 24, 1);
	uint64_t ticket = buy_seat(c, 39, mine, cust);
	buy_seat(c, 39, taken, cust + 1);

	/* a seat sold on the other shard: refused, the ticket stays valid */
	assert_int_equal(onsale_exchange(c, 39, ticket, TV_TIER_A, taken, &res),
			 ST_SEAT_UNAVAILABLE);
	ticket_is(c, 39, ticket, TICKET_VALID, 0, mine);

	/* a free one: exchanged, the new ticket in an order on shard 1 */
	assert_int_equal(onsale_exchange(c, 39, ticket, TV_TIER_A, target, &res), ST_OK);
	uint64_t fresh = res.ticket.ticket_id;
	assert_int_equal(res.ticket.seat, target);
	assert_int_equal(res.ticket.state, TICKET_VALID);
	assert_true(res.ticket.customer_id == cust);
	assert_int_equal(fresh >> 56, 1);
	ticket_is(c, 39, ticket, TICKET_EXCHANGED, fresh, mine);
	assert_int_equal(onsale_refund(c, 39, ticket, 0, 0, &q), ST_TICKET_EXCHANGED);
	/* a repeat (a lost reply) gets the first answer; another seat is refused */
	exchange_again(c, 39, ticket, TV_TIER_A, target, fresh, target);
	assert_int_equal(onsale_exchange(c, 39, ticket, TV_TIER_A, target + 1, &q),
			 ST_TICKET_EXCHANGED);
	assert_true(q.ticket.ticket_id == 0);
	/* the old seat is free again, the new one is sold; one unit counted */
	assert_int_equal(onsale_query_availability(c, 39, &q), ST_OK);
	assert_int_equal(q.avail.tiers[TV_TIER_A].sold, 2);
	assert_int_equal(onsale_query_customer(c, 39, cust, &q), ST_OK);
	assert_int_equal(q.customer.units, 1);
	buy_seat(c, 39, mine, cust + 2);

	/* after a kill: the same, and the new ticket comes back to shard 0 */
	onsale_close(c);
	srv_kill(&h);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	ticket_is(c, 39, ticket, TICKET_EXCHANGED, fresh, mine);
	ticket_is(c, 39, fresh, TICKET_VALID, 0, target);
	exchange_again(c, 39, ticket, TV_TIER_A, target, fresh, target);
	uint32_t back = tv.seat_first[0] + 5;
	assert_int_equal(onsale_exchange(c, 39, fresh, TV_TIER_A, back, &res), ST_OK);
	assert_int_equal(res.ticket.seat, back);
	assert_int_equal(res.ticket.ticket_id >> 56, 0);
	ticket_is(c, 39, fresh, TICKET_EXCHANGED, res.ticket.ticket_id, target);
	/* on one shard: the repeat is answered there, also as best available */
	uint64_t third = res.ticket.ticket_id;
	uint32_t near = tv.seat_first[0] + 6;
	assert_int_equal(onsale_exchange(c, 39, third, TV_TIER_A, near, &res), ST_OK);
	assert_int_equal(res.ticket.ticket_id >> 56, 0);
	exchange_again(c, 39, third, TV_TIER_A, near, res.ticket.ticket_id, near);
	exchange_again(c, 39, third, TV_TIER_A, SEAT_NONE, res.ticket.ticket_id, near);
	assert_int_equal(onsale_exchange(c, 39, third, TV_TIER_A, near + 1, &q),
			 ST_TICKET_EXCHANGED);
	third = res.ticket.ticket_id;
	assert_int_equal(onsale_query_customer(c, 39, cust, &q), ST_OK);
	assert_int_equal(q.customer.units, 1);
	assert_int_equal(onsale_query_availability(c, 39, &q), ST_OK);
	assert_int_equal(q.avail.tiers[TV_TIER_A].sold, 3);
	ticket_is(c, 39, third, TICKET_VALID, 0, near);
	onsale_close(c);
	srv_cleanup(&h);
}

static void exchange_best_elsewhere(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res;
	start_with_event(&h, 2, &tv, 40, 10, 0, 1); /* best-ranked: section 1, on shard 1 */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint64_t ticket = buy_seat(c, 40, tv.seat_first[0], 80);
	/* tier A's other seats on shard 0 (sections 0 and 2) held */
	fill_section(c, &tv, 0, 1, TV_SECTION_SEATS - 1);
	fill_section(c, &tv, 2, 0, TV_SECTION_SEATS);
	assert_int_equal(onsale_exchange(c, 40, ticket, TV_TIER_A, SEAT_NONE, &res), ST_OK);
	assert_int_equal(res.ticket.seat >> 24, 1);
	assert_true(res.ticket.seat >= tv.seat_first[1] &&
		    res.ticket.seat < tv.seat_first[1] + TV_SECTION_SEATS);
	ticket_is(c, 40, ticket, TICKET_EXCHANGED, res.ticket.ticket_id, tv.seat_first[0]);
	exchange_again(c, 40, ticket, TV_TIER_A, SEAT_NONE, res.ticket.ticket_id, res.ticket.seat);
	/* the old seat is free again; with every tier A seat taken, refused */
	buy_seat(c, 40, tv.seat_first[0], 81);
	uint64_t second = res.ticket.ticket_id;
	uint32_t at = res.ticket.seat;
	for (uint32_t k = 0; k < TV_SECTION_SEATS; k++) /* section 1 but the new ticket's */
		if (tv.seat_first[1] + k != at)
			buy_seat(c, 40, tv.seat_first[1] + k, 82 + k);
	assert_int_equal(onsale_exchange(c, 40, second, TV_TIER_A, SEAT_NONE, &res), ST_SOLD_OUT);
	ticket_is(c, 40, second, TICKET_VALID, 0, at);
	onsale_close(c);
	srv_cleanup(&h);
}

struct pipe_load {
	struct srv *h;
	uint32_t event_id;
	unsigned acked; /* holds answered ok */
};

/* Pipelined one-unit GA holds by customers of shard 0 (its allotment runs
 * dry, so stock moves) until the server goes away or 3,000 are sent. */
static void *pipelined_holds(void *arg)
{
	struct pipe_load *p = arg;
	struct onsale *c = srv_open(p->h, ONSALE_ROLE_PLATFORM);
	struct onsale_completion done[64];
	uint64_t cust = 70000;
	unsigned sent = 0;
	if (!c)
		return NULL;
	for (;;) {
		while (sent < 3000 && onsale_inflight(c) < 64 && onsale_error(c) == 0) {
			struct cmd cmd;
			cust = homed(2, 0, cust + 1);
			onsale_prep_hold_ga(&cmd, p->event_id, TV_TIER_GA, 1, cust, 0);
			if (onsale_submit(c, &cmd, sent++, NULL))
				break;
		}
		int n = onsale_poll(c, done, 64, 2000);
		if (n <= 0 || onsale_error(c))
			break;
		for (int i = 0; i < n; i++)
			p->acked += done[i].rc == ST_OK;
	}
	onsale_close(c);
	return NULL;
}

static void stop_under_transfers_conserves(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	start_with_event(&h, 2, &tv, 39, 2000, 0, 0);
	struct pipe_load p = {.h = &h, .event_id = 39};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, pipelined_holds, &p), 0);
	struct timespec pause = {0, 30 * 1000000};
	nanosleep(&pause, NULL);
	assert_int_equal(srv_stop(&h), 0); /* SIGTERM while stock moves */
	pthread_join(t, NULL);
	assert_int_equal(srv_spawn(&h), 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct tier_view g = ga(c, 39);
	assert_int_equal(g.capacity, 2000);
	assert_int_equal(g.free + g.held + g.sold + g.killed, 2000);
	assert_true(g.held >= p.acked); /* every acknowledged hold is there */
	printf("stopped with %u holds acknowledged, %u held after restart\n", p.acked, g.held);
	onsale_close(c);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snapshot_fallback_no_oversell),
		cmocka_unit_test(kill_mid_transfers_conserves),
		cmocka_unit_test(best_available_retry_once),
		cmocka_unit_test(ga_retry_at_limit_replayed),
		cmocka_unit_test(presale_code_once),
		cmocka_unit_test(units_max_over_shards),
		cmocka_unit_test(low_stock_is_the_tiers),
		cmocka_unit_test(exchange_into_ga_elsewhere),
		cmocka_unit_test(exchange_to_seat_elsewhere),
		cmocka_unit_test(exchange_best_elsewhere),
		cmocka_unit_test(stop_under_transfers_conserves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
