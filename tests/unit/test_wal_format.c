/*
 * test_wal_format.c — the WAL frame and segment header (core/wal_format.h):
 * round trips, the chain, and every kind of damage a frame can show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/wal_format.h"

static uint8_t frame[WALFMT_FRAME_BYTES_MAX + 64];

static uint32_t make(uint32_t body_bytes, uint64_t lsn, struct walfmt_sum prev,
		     struct walfmt_sum *chain)
{
	uint8_t body[256];
	for (uint32_t i = 0; i < body_bytes && i < sizeof body; i++)
		body[i] = (uint8_t)(i * 7 + lsn);
	*chain = walfmt_encode(frame, 3, lsn, lsn - 1, prev, body, body_bytes);
	return walfmt_frame_bytes(body_bytes);
}

static void round_trip(void **state)
{
	(void)state;
	for (uint32_t n = 0; n <= 200; n++) {
		struct walfmt_sum chain;
		uint32_t bytes = make(n, 42, walfmt_chain_origin(), &chain);
		assert_int_equal(bytes % 8, 0);
		assert_true(bytes >= WALFMT_FRAME_HEADER_BYTES + n &&
			    bytes < WALFMT_FRAME_HEADER_BYTES + n + 8);
		struct walfmt_frame f;
		assert_int_equal(walfmt_decode(frame, bytes, 3, &f), WALFMT_OK);
		assert_int_equal(f.lsn, 42);
		assert_int_equal(f.synced_lsn, 41);
		assert_int_equal(f.body_bytes, n);
		assert_int_equal(f.frame_bytes, bytes);
		assert_true(walfmt_sum_eq(f.chain, chain));
		assert_true(walfmt_sum_eq(f.prev_chain, walfmt_chain_origin()));
		for (uint32_t i = 0; i < n; i++)
			assert_int_equal(f.body[i], (uint8_t)(i * 7 + 42));
		for (uint32_t i = WALFMT_FRAME_HEADER_BYTES + n; i < bytes; i++)
			assert_int_equal(frame[i], 0); /* padding is zero */
	}
}

static void chain_links_records(void **state)
{
	(void)state;
	struct walfmt_sum c1, c2, c2b;
	make(10, 1, walfmt_chain_origin(), &c1);
	make(10, 2, c1, &c2);
	struct walfmt_frame f;
	assert_int_equal(walfmt_decode(frame, sizeof frame, 3, &f), WALFMT_OK);
	assert_true(walfmt_sum_eq(f.prev_chain, c1));
	/* the same record after a different history has a different chain value */
	make(10, 2, walfmt_chain_origin(), &c2b);
	assert_false(walfmt_sum_eq(c2, c2b));
}

static void every_bit_flip_is_caught(void **state)
{
	(void)state;
	struct walfmt_sum chain;
	uint32_t bytes = make(40, 9, walfmt_chain_origin(), &chain);
	for (uint32_t off = 0; off < bytes; off++) { /* padding included */
		for (unsigned bit = 0; bit < 8; bit++) {
			struct walfmt_frame f;
			frame[off] ^= (uint8_t)(1u << bit);
			enum walfmt_verdict v = walfmt_decode(frame, bytes, 3, &f);
			frame[off] ^= (uint8_t)(1u << bit);
			if (off < WALFMT_FRAME_HEADER_BYTES)
				assert_int_equal(v, WALFMT_BAD_HEADER);
			else
				assert_int_equal(v, WALFMT_BAD_BODY);
		}
	}
}

static void zero_short_and_fields(void **state)
{
	(void)state;
	struct walfmt_frame f;
	uint8_t zero[WALFMT_FRAME_HEADER_BYTES] = {0};
	assert_int_equal(walfmt_decode(zero, sizeof zero, 3, &f), WALFMT_ZERO);
	assert_int_equal(walfmt_decode(zero, 10, 3, &f), WALFMT_ZERO);
	assert_int_equal(walfmt_decode(zero, 0, 3, &f), WALFMT_ZERO);

	struct walfmt_sum chain;
	uint32_t bytes = make(100, 5, walfmt_chain_origin(), &chain);
	/* every cut of the frame is short (or zero when nothing is left) */
	for (uint32_t cut = 1; cut < bytes; cut++) {
		enum walfmt_verdict v = walfmt_decode(frame, cut, 3, &f);
		assert_true(v == WALFMT_SHORT ||
			    (cut < WALFMT_FRAME_HEADER_BYTES && v == WALFMT_ZERO));
		if (cut >= 4)
			assert_int_equal(v, WALFMT_SHORT);
	}
	/* a frame of another shard has a valid checksum but the wrong shard */
	assert_int_equal(walfmt_decode(frame, bytes, 4, &f), WALFMT_BAD_FIELD);
	/* a header zeroed from any byte on (torn write over preallocated zeros) */
	for (uint32_t at = 0; at < WALFMT_FRAME_HEADER_BYTES; at++) {
		uint8_t copy[WALFMT_FRAME_HEADER_BYTES + 104];
		memcpy(copy, frame, bytes);
		memset(copy + at, 0, bytes - at);
		enum walfmt_verdict v = walfmt_decode(copy, bytes, 3, &f);
		assert_int_equal(v, at == 0 ? WALFMT_ZERO : WALFMT_BAD_HEADER);
	}
	assert_string_equal(walfmt_verdict_name(WALFMT_BAD_BODY), "bad_body");
}

static void segment_header(void **state)
{
	(void)state;
	uint8_t page[WALFMT_SEGMENT_HEADER_BYTES];
	struct walfmt_segment s = {7, 1000, 1 << 20, {11, 22}, 3}, d;
	walfmt_segment_encode(page, &s);
	for (uint32_t i = WALFMT_SEGMENT_HEADER_USED_BYTES; i < sizeof page; i++)
		assert_int_equal(page[i], 0);
	assert_int_equal(walfmt_segment_decode(page, sizeof page, 3, &d), WALFMT_OK);
	assert_int_equal(d.segment, 7);
	assert_int_equal(d.first_lsn, 1000);
	assert_int_equal(d.segment_bytes, 1 << 20);
	assert_true(walfmt_sum_eq(d.chain_start, s.chain_start));
	assert_int_equal(walfmt_segment_decode(page, sizeof page, 4, &d), WALFMT_BAD_FIELD);
	page[20] ^= 4;
	assert_int_equal(walfmt_segment_decode(page, sizeof page, 3, &d), WALFMT_BAD_HEADER);
	memset(page, 0, sizeof page);
	assert_int_equal(walfmt_segment_decode(page, sizeof page, 3, &d), WALFMT_ZERO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(chain_links_records),
		cmocka_unit_test(every_bit_flip_is_caught),
		cmocka_unit_test(zero_short_and_fields),
		cmocka_unit_test(segment_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
