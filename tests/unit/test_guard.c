/*
 * test_guard.c — the connection policy of net/guard/ on a fake clock:
 * the HELLO, frame and idle deadlines and their sweep, the connection
 * quotas in all and per peer address (with removal by backward shift
 * checked against a plain count), and the accept pause on EMFILE.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/limits.h"
#include "net/guard/accept_pause.h"
#include "net/guard/addr_limit.h"
#include "net/guard/deadline.h"

#define T0 1000000u /* a monotonic "now", ms */

static const struct deadline_config cfg = {.hello_ms = 5000, .frame_ms = 10000, .idle_ms = 60000};

static void hello_deadline(void **state)
{
	(void)state;
	struct deadline_conn c = {.accepted_ms = T0, .active_ms = T0};
	assert_int_equal(deadline_due(&cfg, &c, T0 + 4999), DEADLINE_NONE);
	assert_int_equal(deadline_due(&cfg, &c, T0 + 5000), DEADLINE_HELLO);
	c.busy = true; /* refused requests before HELLO do not buy time */
	assert_int_equal(deadline_due(&cfg, &c, T0 + 5000), DEADLINE_HELLO);
	c.authenticated = true;
	assert_int_equal(deadline_due(&cfg, &c, T0 + 5000), DEADLINE_NONE);
	struct deadline_config off = cfg;
	off.hello_ms = 0;
	c.authenticated = false;
	c.busy = false;
	assert_int_equal(deadline_due(&off, &c, T0 + 59999), DEADLINE_NONE);
	assert_string_equal(deadline_name(DEADLINE_HELLO), "hello");
}

static void frame_deadline(void **state)
{
	(void)state;
	struct deadline_conn c = {.accepted_ms = T0, .active_ms = T0 + 9000, .authenticated = true};
	c.partial = true;
	c.partial_ms = T0 + 100; /* bytes keep coming, a byte at a time */
	assert_int_equal(deadline_due(&cfg, &c, T0 + 10099), DEADLINE_NONE);
	assert_int_equal(deadline_due(&cfg, &c, T0 + 10100), DEADLINE_FRAME);
	c.stalled = true; /* the server is not reading: not the client's fault */
	assert_int_equal(deadline_due(&cfg, &c, T0 + 20000), DEADLINE_NONE);
	c.stalled = false;
	c.partial = false; /* complete: no frame deadline, and busy is not idle */
	c.busy = true;
	assert_int_equal(deadline_due(&cfg, &c, T0 + 500000), DEADLINE_NONE);
}

static void idle_deadline(void **state)
{
	(void)state;
	struct deadline_conn c = {.accepted_ms = T0, .active_ms = T0 + 1000, .authenticated = true};
	assert_int_equal(deadline_due(&cfg, &c, T0 + 60999), DEADLINE_NONE);
	assert_int_equal(deadline_due(&cfg, &c, T0 + 61000), DEADLINE_IDLE);
	c.busy = true; /* a request in flight (a slow fsync): not idle */
	assert_int_equal(deadline_due(&cfg, &c, T0 + 600000), DEADLINE_NONE);
	c.busy = false;
	c.active_ms = T0 + 61000; /* a PING keeps it open */
	assert_int_equal(deadline_due(&cfg, &c, T0 + 61001), DEADLINE_NONE);
	struct deadline_config off = cfg;
	off.idle_ms = 0;
	assert_int_equal(deadline_due(&off, &c, UINT64_MAX / 2), DEADLINE_NONE);
	c.active_ms = T0 + 5000; /* a clock that went back passes nothing */
	assert_int_equal(deadline_due(&cfg, &c, T0), DEADLINE_NONE);
}

static void sweep_coarse_and_never_back_to_back(void **state)
{
	(void)state;
	struct deadline_sweep sw = {0};
	assert_true(deadline_sweep_due(&sw, T0));
	assert_false(deadline_sweep_due(&sw, T0 + 1));
	assert_int_equal(deadline_sweep_wait_ms(&sw, T0 + 1), GUARD_SWEEP_MS - 1);
	assert_true(deadline_sweep_due(&sw, T0 + GUARD_SWEEP_MS));
	/* a loop that slept long: one sweep now, the next a full period later */
	assert_true(deadline_sweep_due(&sw, T0 + 100000));
	assert_false(deadline_sweep_due(&sw, T0 + 100001));
	assert_int_equal(deadline_sweep_wait_ms(&sw, T0 + 100001), GUARD_SWEEP_MS - 1);
	assert_int_equal(deadline_sweep_wait_ms(&sw, T0 + 200000), 1); /* overdue: soon, not 0 */
	assert_true(deadline_any(&cfg));
	assert_false(deadline_any(&(struct deadline_config){0}));
}

#define SLOTS 256u

static void limit_per_address_and_in_all(void **state)
{
	(void)state;
	struct addr_slot slots[SLOTS];
	struct addr_limit al;
	struct addr_key a = addr_key_ipv4(0x7f000002), b = addr_key_ipv4(0x7f000001);
	addr_limit_init(&al, slots, SLOTS, 10, 3, 42);
	for (int i = 0; i < 3; i++)
		assert_int_equal(addr_limit_admit(&al, &a), ST_OK);
	assert_int_equal(addr_limit_admit(&al, &a), ST_TOO_MANY_CONNECTIONS);
	assert_int_equal(addr_limit_count(&al, &a), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(addr_limit_admit(&al, &b), ST_OK);
	addr_limit_release(&al, &a);
	assert_int_equal(addr_limit_admit(&al, &a), ST_OK); /* room again */
	for (uint32_t i = 0; i < 4; i++) {
		struct addr_key k = addr_key_ipv4(0x0a000000 + i);
		assert_int_equal(addr_limit_admit(&al, &k), ST_OK);
	}
	struct addr_key c = addr_key_ipv4(0x0a0000ff);
	assert_int_equal(al.open, 10);
	assert_int_equal(addr_limit_admit(&al, &c), ST_TOO_MANY_CONNECTIONS); /* in all */
	assert_int_equal(addr_limit_count(&al, &c), 0);
	/* no per-address limit: only the total counts */
	addr_limit_init(&al, NULL, 0, 2, 0, 42);
	assert_int_equal(addr_limit_admit(&al, &a), ST_OK);
	assert_int_equal(addr_limit_admit(&al, &a), ST_OK);
	assert_int_equal(addr_limit_admit(&al, &b), ST_TOO_MANY_CONNECTIONS);
	addr_limit_release(&al, &a);
	assert_int_equal(addr_limit_admit(&al, &b), ST_OK);
}

/* Random admits and releases over many addresses with a tiny table (many
 * collisions, long runs): every count matches a plain array. */
static void limit_table_matches_a_plain_count(void **state)
{
	(void)state;
	enum { ADDRS = 60, TOTAL = 120 };
	struct addr_slot slots[SLOTS];
	struct addr_limit al;
	uint32_t want[ADDRS] = {0}, open = 0;
	addr_limit_init(&al, slots, SLOTS, TOTAL, 4, 7);
	srand(1);
	for (int step = 0; step < 200000; step++) {
		uint32_t i = (uint32_t)rand() % ADDRS;
		struct addr_key k = addr_key_ipv4(0xc0a80000 + i * 977);
		if (rand() % 2) {
			enum status st = addr_limit_admit(&al, &k);
			bool room = want[i] < 4 && open < TOTAL;
			assert_int_equal(st, room ? ST_OK : ST_TOO_MANY_CONNECTIONS);
			want[i] += room;
			open += room;
		} else if (want[i]) {
			addr_limit_release(&al, &k);
			want[i]--;
			open--;
		}
		uint32_t j = (uint32_t)rand() % ADDRS;
		struct addr_key q = addr_key_ipv4(0xc0a80000 + j * 977);
		assert_int_equal(addr_limit_count(&al, &q), want[j]);
	}
	assert_int_equal(al.open, open);
}

static void share_adds_up(void **state)
{
	(void)state;
	for (uint32_t limit = 0; limit < 300; limit += 7)
		for (uint32_t n = 1; n <= 16; n++) {
			uint32_t sum = 0;
			for (uint32_t k = 0; k < n; k++)
				sum += addr_limit_share(limit, n, k);
			assert_int_equal(sum, limit);
		}
	assert_int_equal(addr_limit_share(64, 2, 0), 32);
	assert_int_equal(addr_limit_share(5, 2, 0), 3);
	assert_int_equal(addr_limit_share(5, 2, 1), 2);
}

/* The quotas a shard takes: a share of at least 1 of each limit, never over
 * its table; 0 in all means the whole table, 0 per address no limit; a
 * limit below the shard count does not split (onsaled refuses it). */
static void quotas_split_or_refuse(void **state)
{
	(void)state;
	uint32_t total, per;
	assert_true(addr_limit_splits(0, 4));
	assert_true(addr_limit_splits(4, 4));
	assert_false(addr_limit_splits(3, 4));
	assert_false(addr_limit_splits(1, 2));
	addr_limit_quotas(0, 0, 2, 1, 8192, &total, &per);
	assert_int_equal(total, 8192);
	assert_int_equal(per, 0);
	addr_limit_quotas(5, 64, 2, 0, 8192, &total, &per);
	assert_int_equal(total, 3);
	assert_int_equal(per, 32);
	addr_limit_quotas(5, 3, 2, 1, 8192, &total, &per);
	assert_int_equal(total, 2);
	assert_int_equal(per, 1);
	addr_limit_quotas(100000, 100000, 2, 0, 8192, &total, &per);
	assert_int_equal(total, 8192); /* the table is the cap */
	assert_int_equal(per, 8192);
	for (uint32_t n = 1; n <= 16; n++) {
		uint32_t sum = 0;
		for (uint32_t k = 0; k < n; k++) {
			addr_limit_quotas(n + 5, n, n, k, 8192, &total, &per);
			assert_true(total >= 1 && per == 1);
			sum += total;
		}
		assert_int_equal(sum, n + 5); /* the server holds no more than the limit */
	}
}

static void accept_pause_on_emfile(void **state)
{
	(void)state;
	struct accept_pause ap = {0};
	assert_true(accept_pause_may_arm(&ap, T0));
	assert_int_equal(accept_pause_wait_ms(&ap, T0), 0);
	assert_false(accept_pause_failed(&ap, -ECONNABORTED, T0)); /* one peer's trouble */
	assert_true(accept_pause_may_arm(&ap, T0));
	assert_true(accept_pause_failed(&ap, -EMFILE, T0)); /* logged */
	assert_false(accept_pause_may_arm(&ap, T0 + 1));
	assert_int_equal(accept_pause_wait_ms(&ap, T0 + 1), GUARD_ACCEPT_PAUSE_MS - 1);
	assert_true(accept_pause_may_arm(&ap, T0 + GUARD_ACCEPT_PAUSE_MS));
	/* it fails again at once: paused again, not logged again */
	assert_false(accept_pause_failed(&ap, -EMFILE, T0 + GUARD_ACCEPT_PAUSE_MS));
	assert_false(accept_pause_may_arm(&ap, T0 + GUARD_ACCEPT_PAUSE_MS + 1));
	accept_pause_resume(&ap); /* a connection closed */
	assert_true(accept_pause_may_arm(&ap, T0 + GUARD_ACCEPT_PAUSE_MS + 1));
	assert_false(accept_pause_failed(&ap, -ENFILE, T0 + GUARD_ACCEPT_LOG_MS - 1));
	assert_true(
		accept_pause_failed(&ap, -ENFILE, T0 + GUARD_ACCEPT_LOG_MS)); /* a while later */
	assert_int_equal(ap.pauses, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_deadline),
		cmocka_unit_test(frame_deadline),
		cmocka_unit_test(idle_deadline),
		cmocka_unit_test(sweep_coarse_and_never_back_to_back),
		cmocka_unit_test(limit_per_address_and_in_all),
		cmocka_unit_test(limit_table_matches_a_plain_count),
		cmocka_unit_test(share_adds_up),
		cmocka_unit_test(quotas_split_or_refuse),
		cmocka_unit_test(accept_pause_on_emfile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
