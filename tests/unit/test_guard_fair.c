/*
 * test_guard_fair.c — each connection's fair share (net/guard/fair.c):
 * greedy connections taking slots as fast as the policy lets them never
 * leave a newcomer without one; big buffers per connection and the output
 * room their replies keep; reading stops at half the output buffer with
 * reservations counted; the output deadlines on a fake clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/limits.h"
#include "net/guard/fair.h"

#define GREEDY 32 /* connections that never let a slot go */

/* Greedy connections take slots round-robin while the policy allows;
 * the shard's total and each one's count stay within their shares, and a
 * connection with nothing in flight still gets CONN_INFLIGHT_SMALL. */
static void slots_leave_a_reserve(void **state)
{
	(void)state;
	struct fair_conn c[GREEDY] = {0};
	uint32_t used = 0;
	for (int moved = 1; moved;) {
		moved = 0;
		for (unsigned k = 0; k < GREEDY && used < SHARD_REQS_MAX; k++)
			if (fair_slot_ok(&c[k], used)) {
				c[k].inflight++;
				used++;
				moved = 1;
			}
	}
	assert_true(used <= SHARD_REQS_MAX - SHARD_REQS_RESERVE + GREEDY * CONN_INFLIGHT_SMALL);
	for (unsigned k = 0; k < GREEDY; k++)
		assert_true(c[k].inflight <= CONN_INFLIGHT_MAX);
	struct fair_conn newcomer = {0};
	for (unsigned i = 0; i < CONN_INFLIGHT_SMALL; i++) {
		assert_true(used < SHARD_REQS_MAX);
		assert_true(fair_slot_ok(&newcomer, used));
		newcomer.inflight++;
		used++;
	}
	assert_false(fair_slot_ok(&newcomer, used)); /* beyond the reserve's share */
}

static void slot_cap_per_connection(void **state)
{
	(void)state;
	struct fair_conn c = {.inflight = CONN_INFLIGHT_MAX - 1};
	assert_true(fair_slot_ok(&c, 0));
	c.inflight = CONN_INFLIGHT_MAX;
	assert_false(fair_slot_ok(&c, 0));
	c.inflight = CONN_INFLIGHT_SMALL;
	assert_true(fair_slot_ok(&c, SHARD_REQS_MAX - SHARD_REQS_RESERVE - 1));
	assert_false(fair_slot_ok(&c, SHARD_REQS_MAX - SHARD_REQS_RESERVE));
}

/* A connection holds at most CONN_BIGBUFS_MAX big buffers, each keeping a
 * largest frame of output free: its reply always fits. */
static void big_buffers_keep_room(void **state)
{
	(void)state;
	struct fair_conn c = {0};
	unsigned taken = 0;
	while (fair_big_ok(&c) && taken < SHARD_BIGBUFS) {
		c.bigs++;
		c.inflight++;
		taken++;
	}
	assert_int_equal(taken, CONN_BIGBUFS_MAX);
	/* small replies fill what is left, never the reserved room */
	size_t small = fair_put_room(&c, false);
	assert_int_equal(small, CONN_OUT_BYTES - CONN_BIGBUFS_MAX * PROTO_FRAME_BYTES_MAX);
	c.out_bytes = (uint32_t)small;
	assert_int_equal(fair_put_room(&c, false), 0);
	assert_true(fair_put_room(&c, true) >= PROTO_FRAME_BYTES_MAX);
	/* one reply out: room for the other */
	c.out_bytes += PROTO_FRAME_BYTES_MAX;
	c.bigs--;
	assert_true(fair_put_room(&c, true) >= PROTO_FRAME_BYTES_MAX);
	/* a full output takes no new big request */
	struct fair_conn full = {.out_bytes = CONN_OUT_BYTES - PROTO_FRAME_BYTES_MAX + 1};
	assert_false(fair_big_ok(&full));
}

static void reading_stops_at_half(void **state)
{
	(void)state;
	struct fair_conn c = {.out_bytes = CONN_OUT_BYTES / 2};
	assert_true(fair_read_ok(&c));
	c.out_bytes++;
	assert_false(fair_read_ok(&c));
	c = (struct fair_conn){.inflight = 1,
			       .bigs = 1,
			       .out_bytes = CONN_OUT_BYTES / 2 - PROTO_FRAME_BYTES_MAX + 1};
	assert_false(fair_read_ok(&c)); /* the reservation counts */
	c = (struct fair_conn){.inflight = CONN_INFLIGHT_MAX};
	assert_false(fair_read_ok(&c));
}

static void output_deadlines(void **state)
{
	(void)state;
	const uint32_t deadline_ms = 5000;
	struct fair_output o = {.sending = true, .progress_ms = 1000};
	assert_int_equal(fair_output_check(&o, 1000 + deadline_ms - 1, deadline_ms), FAIR_OK);
	assert_int_equal(fair_output_check(&o, 1000 + deadline_ms, deadline_ms), FAIR_STALLED);
	o.replies_waiting = true; /* full: the shorter limit */
	assert_int_equal(fair_output_check(&o, 1000 + CONN_OUTPUT_FULL_MS - 1, deadline_ms),
			 FAIR_OK);
	assert_int_equal(fair_output_check(&o, 1000 + CONN_OUTPUT_FULL_MS, deadline_ms), FAIR_FULL);
	/* a deadline below the full limit bounds both */
	assert_int_equal(fair_output_check(&o, 1000 + 200, 200), FAIR_FULL);
	/* nothing out, or a clock behind the progress: nothing to judge */
	o.sending = false;
	assert_int_equal(fair_output_check(&o, 1000 + 10 * deadline_ms, deadline_ms), FAIR_OK);
	o.sending = true;
	assert_int_equal(fair_output_check(&o, 999, deadline_ms), FAIR_OK);
}

static void refusals_in_a_row(void **state)
{
	(void)state;
	assert_false(fair_refusals_close(1));
	assert_false(fair_refusals_close(CONN_REFUSED_ROW_MAX));
	assert_true(fair_refusals_close(CONN_REFUSED_ROW_MAX + 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(slots_leave_a_reserve), cmocka_unit_test(slot_cap_per_connection),
		cmocka_unit_test(big_buffers_keep_room), cmocka_unit_test(reading_stops_at_half),
		cmocka_unit_test(output_deadlines),      cmocka_unit_test(refusals_in_a_row),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
