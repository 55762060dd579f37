/*
 * test_core_serial.c — core_deserialize refuses damaged state streams with
 * a reason instead of asserting or reading out of bounds: the streams that
 * once crashed fuzz_snapshot (tests/fuzz/corpus-snapshot/crash-*, read from
 * the source tree: make test runs from its top), and hand-made ones; and
 * the memory a stream can make it allocate is bounded by the stream's
 * length: a count of holds or tickets the bytes left cannot hold is refused
 * before their tables are allocated (a 250-byte stream declaring the most
 * holds an event may have made it fault in hundreds of megabytes); and a
 * stream read in pieces of any size (core_deserialize_from, as snapshots
 * are loaded) loads exactly the state the whole stream does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/bytes.h"
#include "core/core.h"
#include "core/serial.h"
#include "tests/support/fixture.h"
#include "tests/support/pieces.h"

static const char *refused(const uint8_t *p, size_t len)
{
	const char *why = NULL;
	struct core *c = core_deserialize(p, len, &why);

	assert_null(c);
	assert_non_null(why);
	return why;
}

/* version 4, shard, slot_next 0, no events, no retired events, no peers */
static void shard_out_of_range(void **state)
{
	uint8_t s[15] = {0};
	const char *why = NULL;
	struct core *c;

	(void)state;
	put_u32(s, 4);
	s[4] = SHARDS_MAX - 1;
	c = core_deserialize(s, sizeof s, &why);
	assert_non_null(c);
	core_destroy(c);
	s[4] = SHARDS_MAX;
	assert_string_equal(refused(s, sizeof s), "shard id out of range");
}

static void crash_input(const char *name, const char *why)
{
	char path[256];
	FILE *f;
	long len;
	uint8_t *p;

	snprintf(path, sizeof path, "tests/fuzz/corpus-snapshot/%s", name);
	f = fopen(path, "rb");
	if (!f) {
		print_message("%s not found (run from the source tree's top)\n", path);
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	p = malloc((size_t)len);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_string_equal(refused(p, (size_t)len), why);
	free(p);
}

static void fuzz_crashes(void **state)
{
	(void)state;
	crash_input("crash-shard-out-of-range", "shard id out of range");
	crash_input("crash-hold-customer-zero", "hold out of range");
	crash_input("crash-ticket-seat-out-of-range",
		    "valid ticket's seat is not sold to it (seat sold twice?)");
}

/* The process's peak resident memory, MiB (VmHWM). */
static long peak_mib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = atol(line + 6);
	fclose(f);
	assert_true(kib > 0);
	return kib / 1024;
}

struct buf {
	uint8_t *p;
	size_t len;
};

static void buf_write(void *ctx, const void *bytes, size_t n)
{
	struct buf *b = ctx;

	memcpy(b->p + b->len, bytes, n);
	b->len += n;
}

/* The stream of a shard with one empty event of units_max units. */
static struct buf one_event(uint32_t units_max)
{
	static uint8_t rec[RECORD_BYTES_MAX];
	struct core *c = core_create(0);
	struct cmd cmd;
	struct result res;
	struct rec_buf rb = {rec, sizeof rec, 0};
	struct buf b;
	struct serial_sink sink = {buf_write, &b};

	assert_non_null(c);
	memset(&cmd, 0, sizeof cmd);
	cmd.type = CMD_EVENT_CREATE;
	cmd.event.event_id = 1;
	cmd.event.units_max = units_max;
	assert_int_equal(core_execute(c, &cmd, 1000, &res, &rb), ST_OK);
	b.len = 0;
	b.p = malloc(core_serialized_bytes(c));
	assert_non_null(b.p);
	core_serialize(c, &sink);
	core_destroy(c);
	return b;
}

/* From the end of one_event's stream: holds_used, ended_head, ended_tail,
 * tickets_used, tfree_head, tfree_tail, tfree_count, tickets_issued (u32
 * each), u32 retired count, u8 peer count. */
#define HOLDS_USED_FROM_END 37u
#define TICKETS_USED_FROM_END 25u

static void declared_counts_bounded(void **state)
{
	const uint32_t units_max = 1u << 20;
	struct buf b;
	long before;

	(void)state;
	b = one_event(units_max);
	assert_int_equal(get_u32(b.p + b.len - HOLDS_USED_FROM_END), 0);
	assert_int_equal(get_u32(b.p + b.len - HOLDS_USED_FROM_END + 4), UINT32_MAX); /* NIL */
	assert_int_equal(get_u32(b.p + b.len - TICKETS_USED_FROM_END), 0);
	assert_int_equal(get_u32(b.p + b.len - TICKETS_USED_FROM_END + 4), UINT32_MAX);
	refused(b.p, b.len - 1); /* one byte short: refused */

	/* the most holds the event may have; none of them in the stream */
	before = peak_mib();
	put_u32(b.p + b.len - HOLDS_USED_FROM_END,
		units_max * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN);
	assert_string_equal(refused(b.p, b.len), "more holds than the stream has bytes for");
	/* 2 M holds of 100-odd bytes each would be hundreds of MiB more */
	print_message("peak resident %ld -> %ld MiB\n", before, peak_mib());
	assert_true(peak_mib() - before < 128);

	put_u32(b.p + b.len - HOLDS_USED_FROM_END, 0);
	put_u32(b.p + b.len - TICKETS_USED_FROM_END, units_max * TICKETS_PER_UNIT_MAX);
	assert_string_equal(refused(b.p, b.len), "more tickets than the stream has bytes for");
	assert_true(peak_mib() - before < 128);
	free(b.p);
}

static void pieces_load_the_same_state(void **state)
{
	static const size_t sizes[] = {1, 2, 3, 7, 64, 4095, 4096, 100000};
	struct fx *f = fx_new(0);
	uint32_t seats[2] = {3, 4};
	struct buf b;
	struct serial_sink sink = {buf_write, &b};

	(void)state;
	assert_int_equal(fx_event(f, 1, 1000, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, 1, 0, 500, 2500), ST_OK);
	assert_int_equal(fx_event(f, 2, 1000, 0), ST_OK);
	assert_int_equal(fx_reserved_tier(f, 2, 0, 9000), ST_OK);
	assert_int_equal(fx_section(f, 2, 0, 10, 20, 0), ST_OK);
	for (uint64_t cust = 1; cust <= 40; cust++) {
		assert_int_equal(fx_hold_ga(f, 1, 0, 1 + cust % 4, cust), ST_OK);
		if (cust % 3 == 0)
			assert_int_equal(fx_confirm(f, 1, f->res.hold.hold_id,
						    f->res.hold.amount_due_minor),
					 ST_OK);
	}
	assert_int_equal(fx_hold_seats(f, 2, 0, seats, 2, 77), ST_OK);
	assert_int_equal(fx_hold_best(f, 2, 0, 4, 78), ST_OK);
	b.len = 0;
	b.p = malloc(core_serialized_bytes(f->c));
	assert_non_null(b.p);
	core_serialize(f->c, &sink);
	struct state_hash want = core_state_hash(f->c);

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		struct pieces q = {.p = b.p, .left = b.len, .size = sizes[i], .stop = SIZE_MAX};
		struct serial_source src = pieces_source(&q);
		const char *why = NULL;
		struct core *c = core_deserialize_from(&src, b.len, &why);

		assert_non_null(c);
		struct state_hash got = core_state_hash(c);
		assert_memory_equal(&got, &want, sizeof got);
		assert_int_equal(q.left, 0);
		assert_true(q.reads >= (b.len + sizes[i] - 1) / sizes[i]);
		core_destroy(c);
	}
	/* a source that runs dry early (an I/O error) refuses the stream */
	struct pieces dry = {.p = b.p, .left = b.len, .size = 64, .stop = b.len / 2};
	struct serial_source src = pieces_source(&dry);
	const char *why = NULL;
	assert_null(core_deserialize_from(&src, b.len, &why));
	assert_string_equal(why, "truncated");
	free(b.p);
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shard_out_of_range),
		cmocka_unit_test(fuzz_crashes),
		cmocka_unit_test(declared_counts_bounded),
		cmocka_unit_test(pieces_load_the_same_state),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
