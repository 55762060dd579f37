/*
 * test_wal_read.c — recovery rules of the WAL reader (net/wal/wal_read.h): a
 * torn or zeroed last record is a torn tail at every byte and the writer
 * continues after the last good record; damage before the tail (a bit flip
 * in any earlier record, a lost segment) is corruption, named by segment,
 * offset and LSN, and the writer refuses to open; a reader that follows
 * the log in steps (wal_read_resume) sees every record once, in order,
 * across segments, as one whole read does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "net/wal/wal.h"
#include "net/wal/wal_read.h"
#include "tests/support/sim_disk.h"
#include "tests/support/wal_check.h"

#define SHARD 2
#define SEED 99
#define LEN_MAX 600u
#define RECORDS 40u
#define SEGMENT_BYTES (80u << 10)

struct env {
	struct sim_disk *disk;
	struct storage st;
	uint64_t off[RECORDS * 8 + 2]; /* file offset of each record (segment 0) */
	uint32_t bytes[RECORDS * 8 + 2];
};

static struct wal *open_wal(struct env *e)
{
	struct wal *w;
	struct wal_options o = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
	assert_int_equal(wal_open(&w, &e->st, &o, NULL), 0);
	return w;
}

/* Appends records first..last, one batch (and fdatasync) each, as a lightly
 * loaded shard would; remembers where each landed. */
static void write_records(struct wal *w, uint64_t first, uint64_t last)
{
	for (uint64_t lsn = first; lsn <= last; lsn++) {
		uint8_t body[LEN_MAX];
		uint32_t len = wal_check_make(body, SEED, lsn, 0, LEN_MAX);
		uint64_t got;
		assert_int_equal(wal_append(w, body, len, &got), 0);
		assert_int_equal(got, lsn);
		assert_int_equal(wal_sync(w), 0);
	}
}

static int setup(void **state)
{
	static struct env e;
	memset(&e, 0, sizeof e);
	e.disk = sim_disk_create(SEED);
	sim_disk_storage(e.disk, &e.st);
	struct wal *w = open_wal(&e);
	write_records(w, 1, RECORDS);
	wal_close(w);
	uint64_t off = WALFMT_SEGMENT_HEADER_BYTES;
	for (uint64_t lsn = 1; lsn <= RECORDS; lsn++) {
		uint8_t body[LEN_MAX];
		e.off[lsn] = off;
		e.bytes[lsn] = walfmt_frame_bytes(wal_check_make(body, SEED, lsn, 0, LEN_MAX));
		off += e.bytes[lsn];
	}
	assert_true(off < SEGMENT_BYTES); /* all in segment 0 */
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	storage_destroy(&e->st);
	sim_disk_destroy(e->disk);
	return 0;
}

static int check_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	uint64_t *count = ctx;
	assert_int_equal(lsn, *count + 1);
	assert_int_equal(wal_check_body(body, len, SEED, lsn, LEN_MAX, NULL), 0);
	++*count;
	return 0;
}

static uint64_t scan(struct env *e, struct wal_scan *s)
{
	uint64_t count = 0;
	assert_int_equal(wal_read(&e->st, SHARD, 0, check_record, &count, s), 0);
	return count;
}

static const char *seg0 = "wal-002-000000000000.seg";

static void clean_log_reads_whole(void **state)
{
	struct env *e = *state;
	struct wal_scan s;
	assert_int_equal(scan(e, &s), RECORDS);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(s.end.next_lsn, RECORDS + 1);
	assert_int_equal(s.end.offset, e->off[RECORDS] + e->bytes[RECORDS]);
	assert_int_equal(s.first_lsn, 1);
	assert_string_equal(wal_read_status_name(s.status), "clean");
}

static void torn_last_record_at_every_byte(void **state)
{
	struct env *e = *state;
	uint64_t off = e->off[RECORDS];
	uint32_t n = e->bytes[RECORDS];
	uint8_t saved[LEN_MAX + 128];
	assert_int_equal(sim_disk_peek(e->disk, seg0, off, saved, n), 0);
	uint8_t body[LEN_MAX];
	uint32_t data = WALFMT_FRAME_HEADER_BYTES + wal_check_make(body, SEED, RECORDS, 0, LEN_MAX);
	for (uint32_t at = 0; at < n; at++) {
		struct wal_scan s;
		/* the write reached the disk up to byte `at` only (zero padding
		 * after the body looks the same cut or not) */
		uint32_t cut = at < data ? at : 0;
		assert_int_equal(sim_disk_zero(e->disk, seg0, off + cut, n - cut), 0);
		assert_int_equal(scan(e, &s), RECORDS - 1);
		assert_int_equal(s.status, cut == 0 ? WAL_READ_CLEAN : WAL_READ_TORN_TAIL);
		assert_int_equal(s.end.next_lsn, RECORDS);
		assert_int_equal(s.end.offset, off);
		if (cut) {
			assert_int_equal(s.damage.lsn, RECORDS);
			assert_int_equal(s.damage.offset, off);
			assert_int_equal(s.damage.segment, 0);
		}
		assert_int_equal(sim_disk_poke(e->disk, seg0, off, saved, n), 0);
		/* a flipped bit anywhere in the last record is a torn tail too */
		assert_int_equal(sim_disk_flip_bit(e->disk, seg0, off + at, at % 8), 0);
		assert_int_equal(scan(e, &s), RECORDS - 1);
		assert_int_equal(s.status, WAL_READ_TORN_TAIL);
		assert_int_equal(s.damage.lsn, RECORDS);
		assert_int_equal(sim_disk_poke(e->disk, seg0, off, saved, n), 0);
	}
}

static void bit_flip_before_the_tail_is_corruption(void **state)
{
	struct env *e = *state;
	for (uint64_t lsn = 1; lsn < RECORDS; lsn++) {
		uint64_t spots[3] = {0, WALFMT_OFF_LSN,
				     e->bytes[lsn] - 1 - (e->bytes[lsn] > 100 ? 8 : 0)};
		for (int k = 0; k < 3; k++) {
			uint64_t at = e->off[lsn] + (spots[k] < e->bytes[lsn] ? spots[k] : 0);
			assert_int_equal(sim_disk_flip_bit(e->disk, seg0, at, 3), 0);
			struct wal_scan s;
			uint64_t count = scan(e, &s);
			assert_int_equal(s.status, WAL_READ_CORRUPT);
			assert_int_equal(s.damage.lsn, lsn);
			assert_int_equal(s.damage.segment, 0);
			assert_int_equal(s.damage.offset, e->off[lsn]);
			assert_int_equal(count,
					 lsn - 1); /* records before it were still delivered */
			/* and the writer refuses to start on it */
			struct wal *w;
			struct wal_options o = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
			assert_int_equal(wal_open(&w, &e->st, &o, NULL), -EUCLEAN);
			assert_int_equal(sim_disk_flip_bit(e->disk, seg0, at, 3), 0);
		}
	}
	struct wal_scan s;
	assert_int_equal(scan(e, &s), RECORDS);
	assert_int_equal(s.status, WAL_READ_CLEAN);
}

static void zeroed_record_before_the_tail_is_corruption(void **state)
{
	struct env *e = *state;
	uint64_t lsn = RECORDS / 2;
	assert_int_equal(sim_disk_zero(e->disk, seg0, e->off[lsn], e->bytes[lsn]), 0);
	struct wal_scan s;
	scan(e, &s);
	assert_int_equal(s.status, WAL_READ_CORRUPT);
	assert_int_equal(s.damage.lsn, lsn);
	assert_int_equal(s.damage.verdict, WALFMT_ZERO);
}

static void writer_continues_after_a_torn_tail(void **state)
{
	struct env *e = *state;
	uint64_t off = e->off[RECORDS];
	assert_int_equal(sim_disk_flip_bit(e->disk, seg0, off + 50, 1), 0);
	struct wal *w = open_wal(e); /* truncates the torn record */
	assert_int_equal(wal_next_lsn(w), RECORDS);
	write_records(w, RECORDS, RECORDS + 5);
	wal_close(w);
	struct wal_scan s;
	assert_int_equal(scan(e, &s), RECORDS + 5);
	assert_int_equal(s.status, WAL_READ_CLEAN);
}

/* Appends records until three more segments are filled; the whole log's
 * record count, read in one scan into *s. */
static uint64_t fill_segments(struct env *e, struct wal_scan *s)
{
	struct wal *w = open_wal(e);
	for (uint64_t lsn = RECORDS + 1; wal_stats(w)->segments_created < 3; lsn++)
		write_records(w, lsn, lsn);
	wal_close(w);
	return scan(e, s);
}

static void lost_segment_is_corruption(void **state)
{
	struct env *e = *state;
	struct wal_scan s;
	uint64_t total = fill_segments(e, &s);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(s.segments, 5); /* four and the writer's spare */
	/* reading from an LSN in a later segment starts there */
	uint64_t count = total - 3;
	assert_int_equal(wal_read(&e->st, SHARD, total - 2, check_record, &count, &s), 0);
	assert_int_equal(count, total);
	assert_int_equal(storage_unlink(&e->st, "wal-002-000000000001.seg"), 0);
	scan(e, &s);
	assert_int_equal(s.status, WAL_READ_CORRUPT);
	assert_int_equal(s.damage.segment, 1);
	assert_string_equal(s.damage.what, "segment missing");
}

/* Stops after ctx's limit: a follower reading up to a durable LSN. */
struct follower {
	uint64_t count, upto;
	struct wal_resume pos;
	const struct wal_scan *scan;
};

static int follow_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct follower *f = ctx;
	check_record(&f->count, lsn, body, len);
	const struct wal_scan *sc = f->scan;
	f->pos = (struct wal_resume){sc->at_segment, sc->at_next_offset, lsn + 1, sc->at_chain};
	return lsn == f->upto;
}

static void resumed_reads_see_every_record_once(void **state)
{
	struct env *e = *state;
	struct wal_scan whole;
	uint64_t total = fill_segments(e, &whole);
	assert_true(total > 3 * RECORDS);

	struct follower f = {0};
	struct wal_scan s;
	f.scan = &s;
	f.upto = 7;
	assert_int_equal(wal_read(&e->st, SHARD, 1, follow_record, &f, &s), 1);
	struct wal_resume mid = f.pos; /* record 8, inside segment 0 */
	for (uint64_t step = 1; f.count < total; step = step * 2 + 1) {
		f.upto = f.count + step < total ? f.count + step : total;
		int rc = wal_read_resume(&e->st, SHARD, &f.pos, follow_record, &f, &s);
		assert_int_equal(rc, 1);
		assert_int_equal(f.count, f.upto);
	}
	assert_int_equal(f.count, total);
	/* the chain where the follower stopped is the log's end */
	assert_true(walfmt_sum_eq(f.pos.chain, whole.end.chain));
	/* the resume point is taken as given (not found again from the
	 * segment's start): with another chain value, record 8 does not follow */
	mid.chain.lo ^= 1;
	struct follower h = {.count = 7, .upto = total, .scan = &s};
	assert_int_equal(wal_read_resume(&e->st, SHARD, &mid, follow_record, &h, &s), 0);
	assert_int_equal(h.count, 7);
	assert_int_not_equal(s.status, WAL_READ_CLEAN);
	/* a resume point in a segment that is gone reads as wal_read does */
	struct follower g = {.count = total - 1, .upto = total, .scan = &s};
	struct wal_resume gone = {.segment = 99, .offset = 4096, .next_lsn = total};
	assert_int_equal(wal_read_resume(&e->st, SHARD, &gone, follow_record, &g, &s), 1);
	assert_int_equal(g.count, total);
	/* resuming at the very end: nothing more, a clean end */
	g.upto = total + 1;
	assert_int_equal(wal_read_resume(&e->st, SHARD, &g.pos, follow_record, &g, &s), 0);
	assert_int_equal(g.count, total);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(s.end.next_lsn, total + 1);
}

static void damage_in_an_earlier_segment_is_corruption(void **state)
{
	struct env *e = *state;
	struct wal *w = open_wal(e);
	for (uint64_t lsn = RECORDS + 1; wal_stats(w)->segments_created < 2; lsn++)
		write_records(w, lsn, lsn);
	wal_close(w);
	/* the last record of segment 0 is followed by a whole segment */
	struct wal_scan s;
	scan(e, &s);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(sim_disk_flip_bit(e->disk, seg0, e->off[RECORDS] + 90, 0), 0);
	scan(e, &s);
	assert_int_equal(s.status, WAL_READ_CORRUPT);
	assert_int_equal(s.damage.segment, 0);
	assert_int_equal(s.damage.lsn, RECORDS);
}

static void read_error_is_reported(void **state)
{
	struct env *e = *state;
	struct wal_scan s;
	uint64_t count = 0;
	sim_disk_fail_next_read(e->disk, -EIO);
	assert_int_equal(wal_read(&e->st, SHARD, 0, check_record, &count, &s), -EIO);
}

static void empty_directory_is_a_clean_empty_log(void **state)
{
	(void)state;
	struct sim_disk *d = sim_disk_create(1);
	struct storage st;
	sim_disk_storage(d, &st);
	struct wal_scan s;
	assert_int_equal(wal_read(&st, SHARD, 0, NULL, NULL, &s), 0);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(s.end.next_lsn, 1);
	assert_false(s.end.has_segment);
	sim_disk_destroy(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(clean_log_reads_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(torn_last_record_at_every_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(bit_flip_before_the_tail_is_corruption, setup,
						teardown),
		cmocka_unit_test_setup_teardown(zeroed_record_before_the_tail_is_corruption, setup,
						teardown),
		cmocka_unit_test_setup_teardown(writer_continues_after_a_torn_tail, setup,
						teardown),
		cmocka_unit_test_setup_teardown(lost_segment_is_corruption, setup, teardown),
		cmocka_unit_test_setup_teardown(damage_in_an_earlier_segment_is_corruption, setup,
						teardown),
		cmocka_unit_test_setup_teardown(read_error_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(resumed_reads_see_every_record_once, setup,
						teardown),
		cmocka_unit_test(empty_directory_is_a_clean_empty_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
