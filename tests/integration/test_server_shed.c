/*
 * test_server_shed.c — load shedding on a real onsaled with one shard and
 * a tiny slot threshold (--shed-slots 4, the queue-delay signal off): a
 * burst of pipelined holds in one write gets 73 overloaded on the holds
 * beyond the threshold, at once, and so does a seat-map read among them,
 * while the confirm of a hold taken before the burst, sent behind it,
 * succeeds (a buyer who holds seats can pay); every hold is OK or 73,
 * nothing is lost (conservation, sold + held as acknowledged), STATS
 * counts the shed requests, and once the burst is answered holds are
 * taken again. Bad option values exit 2. Bounded: one burst of BURST
 * requests, every wait with a timeout.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EV 9u
#define BURST 64u
#define CONFIRM_COOKIE 1000u
#define SEATS_COOKIE 1001u

static const char *argv0;

struct burst {
	unsigned ok, shed, other, confirmed;
	int seats_rc;
	uint64_t held_units;
};

/* Submits BURST one-unit holds, a seat-map query and the confirm of
 * hold_id, all in one write, and collects every answer (at most 10 s). */
static void burst(struct onsale *plat, uint64_t hold_id, struct burst *b)
{
	struct cmd cmd;
	for (unsigned i = 0; i < BURST; i++) {
		onsale_prep_hold_ga(&cmd, EV, TV_TIER_GA, 1, 5000 + i, 0);
		assert_int_equal(onsale_submit(plat, &cmd, i, NULL), 0);
	}
	assert_int_equal(onsale_submit_section_seats(plat, EV, 0, SEATS_COOKIE, NULL), 0);
	onsale_prep_confirm(&cmd, EV, hold_id, TV_PRICE_GA, "pay-shed");
	assert_int_equal(onsale_submit(plat, &cmd, CONFIRM_COOKIE, NULL), 0);
	assert_int_equal(onsale_flush(plat), 0);
	struct onsale_completion cp[16];
	for (unsigned polls = 0; onsale_inflight(plat) && polls < 100; polls++) {
		int n = onsale_poll(plat, cp, 16, 100);
		assert_true(n >= 0);
		for (int k = 0; k < n; k++) {
			if (cp[k].cookie == SEATS_COOKIE) {
				b->seats_rc = cp[k].rc;
			} else if (cp[k].cookie == CONFIRM_COOKIE) {
				assert_int_equal(cp[k].rc, ST_OK);
				b->confirmed = 1;
			} else if (cp[k].rc == ST_OK) {
				b->ok++;
				b->held_units += cp[k].res.hold.qty;
			} else {
				b->shed += cp[k].rc == ST_OVERLOADED;
				b->other += cp[k].rc != ST_OVERLOADED;
			}
		}
	}
	assert_int_equal(onsale_inflight(plat), 0);
}

static void burst_sheds_holds_confirm_pays(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res;
	srv_init(&h, argv0, 1);
	h.args[0] = "--shed-slots";
	h.args[1] = "4";
	h.args[2] = "--shed-target-ms";
	h.args[3] = "off";
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EV, 1000, 0, 0, 0), 0);
	assert_int_equal(onsale_hold_ga(plat, EV, TV_TIER_GA, 1, 4000, 0, &res), ST_OK);
	uint64_t hold_id = res.hold.hold_id;

	struct burst b = {0};
	burst(plat, hold_id, &b);
	print_message("burst of %u holds: %u taken, %u shed; the confirm behind them: %s\n", BURST,
		      b.ok, b.shed, b.confirmed ? "paid" : "not answered");
	assert_true(b.confirmed);
	assert_int_equal(b.seats_rc, ST_OVERLOADED); /* a seat-map read is shed too */
	assert_true(b.shed > 0);
	assert_true(b.ok >= 4); /* the first ones fill the slots */
	assert_int_equal(b.ok + b.shed, BURST);
	assert_int_equal(b.other, 0);

	/* nothing lost: what was acknowledged is what the tier holds */
	assert_int_equal(onsale_query_availability(admin, EV, &res), ST_OK);
	const struct tier_view *t = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(t->sold, 1);
	assert_int_equal(t->held, b.held_units);
	assert_int_equal(t->free + t->held + t->sold + t->killed, t->capacity);
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_int_equal(ss.counters[ONSALE_STAT_REQUESTS_SHED], b.shed + 1);

	/* the burst is answered: holds are taken again */
	assert_int_equal(onsale_hold_ga(plat, EV, TV_TIER_GA, 1, 4001, 0, &res), ST_OK);
	onsale_close(plat);
	onsale_close(admin);
	srv_cleanup(&h);
}

/* A bad value is refused at start with exit status 2: also a HOST that is
 * not an IPv4 address (a name), which started as far as binding and
 * exited 1 with only err="Invalid argument" (--listen), or ran without
 * its metrics port (--metrics); a number with a tail (--shards 1x ran
 * 1 shard); and an argument that is no option (a data directory given
 * without -d: onsaled ignored it and served ./var). */
static void bad_options_exit_2(void **state)
{
	(void)state;
	static const char *const bad[][2] = {{"--shed-slots", "4097"},
					     {"--shed-slots", "-1"},
					     {"--shed-target-ms", "100"},
					     {"--shed-target-ms", "10ms"},
					     {"--listen", "localhost:7400"},
					     {"--metrics", "localhost:9400"},
					     {"--shards", "1x"},
					     {"--ticket-key-retire", "1x"},
					     {"stray-data-dir", NULL}};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct srv h;
		srv_init(&h, argv0, 1);
		h.args[0] = bad[i][0];
		h.args[1] = bad[i][1];
		assert_int_equal(srv_start(&h), -ECHILD);
		assert_int_equal(h.exit_status, 2);
		srv_cleanup(&h);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(burst_sheds_holds_confirm_pays),
		cmocka_unit_test(bad_options_exit_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
