/*
 * test_wal_writer.c — the WAL writer (net/wal/wal.h) on the simulated disk:
 * a lone record goes out at once, records appended while a batch syncs go
 * out together, nothing is durable before its fdatasync, a failed
 * fdatasync stops the writer for good, short writes are finished, segments
 * roll over, back-pressure is bounded, and a reopened WAL continues.
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

#define SHARD 5
#define SEED 77
#define LEN_MAX 3000u
#define SEGMENT_BYTES (128u << 10)
#define BATCH_BYTES (2u * (RECORD_BYTES_MAX + WAL_PAGE_BYTES))

struct env {
	struct sim_disk *disk;
	struct storage st;
	struct wal *w;
	uint64_t durable_calls, last_durable;
};

static void on_durable(void *user, uint64_t lsn)
{
	struct env *e = user;
	assert_true(lsn > e->last_durable); /* only forward */
	e->durable_calls++;
	e->last_durable = lsn;
}

static void open_wal(struct env *e)
{
	struct wal_options o = {.shard = SHARD,
				.segment_bytes = SEGMENT_BYTES,
				.batch_bytes_max = BATCH_BYTES,
				.on_durable = on_durable,
				.user = e};
	assert_int_equal(wal_open(&e->w, &e->st, &o, NULL), 0);
}

static int setup(void **state)
{
	static struct env e;
	memset(&e, 0, sizeof e);
	e.disk = sim_disk_create(SEED);
	sim_disk_storage(e.disk, &e.st);
	open_wal(&e);
	*state = &e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	wal_close(e->w);
	storage_destroy(&e->st);
	sim_disk_destroy(e->disk);
	return 0;
}

static int append(struct env *e, uint64_t lsn)
{
	uint8_t body[LEN_MAX];
	uint32_t len = wal_check_make(body, SEED, lsn, 0, LEN_MAX);
	uint64_t got = 0;
	int rc = wal_append(e->w, body, len, &got);
	if (!rc)
		assert_int_equal(got, lsn);
	return rc;
}

static int check_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	uint64_t *count = ctx;
	assert_int_equal(lsn, *count + 1);
	assert_int_equal(wal_check_body(body, len, SEED, lsn, LEN_MAX, NULL), 0);
	++*count;
	return 0;
}

/* Reads the WAL back and returns how many records it holds (all checked). */
static uint64_t read_back(struct env *e, enum wal_read_status want)
{
	struct wal_scan s;
	uint64_t count = 0;
	assert_int_equal(wal_read(&e->st, SHARD, 0, check_record, &count, &s), 0);
	assert_int_equal(s.status, want);
	assert_int_equal(s.records, count);
	return count;
}

static void lone_record_goes_out_at_once(void **state)
{
	struct env *e = *state;
	assert_int_equal(append(e, 1), 0);
	assert_int_equal(wal_durable_lsn(e->w), 0);
	for (int i = 0; i < 10 && wal_durable_lsn(e->w) < 1; i++)
		assert_int_equal(wal_poll(e->w), 0);
	assert_int_equal(wal_durable_lsn(e->w), 1);
	assert_int_equal(wal_stats(e->w)->batches, 1);
	assert_int_equal(e->durable_calls, 1);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 1);
}

static void records_appended_during_a_sync_share_one_batch(void **state)
{
	struct env *e = *state;
	assert_int_equal(append(e, 1), 0);
	assert_int_equal(wal_flush(e->w), 0); /* batch 1 in flight, alone */
	for (uint64_t lsn = 2; lsn <= 301; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(wal_durable_lsn(e->w), 301);
	const struct wal_stats *s = wal_stats(e->w);
	assert_int_equal(s->records, 301);
	/* 300 records went in a handful of batches, not one each */
	assert_true(s->batches >= 2 && s->batches <= 6);
	assert_int_equal(s->fsyncs, s->batches);
	assert_int_equal(e->durable_calls, s->batches);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 301);
}

static void nothing_is_durable_before_its_fsync(void **state)
{
	struct env *e = *state;
	assert_int_equal(append(e, 1), 0);
	assert_int_equal(wal_flush(e->w), 0);
	assert_int_equal(wal_poll(e->w), 0); /* the write completes; the fsync is queued */
	assert_int_equal(wal_durable_lsn(e->w), 0);
	assert_int_equal(e->durable_calls, 0);
	assert_true(sim_disk_unsynced(e->disk) > 0);
	/* a crash now loses the record, and that is allowed: it was never acked */
	sim_disk_crash(e->disk, SIM_CRASH_DROP_UNSYNCED);
	wal_close(e->w);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 0);
	open_wal(e);
	assert_int_equal(append(e, 1), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(sim_disk_unsynced(e->disk), 0);
	sim_disk_crash(e->disk, SIM_CRASH_DROP_UNSYNCED);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 1);
}

static void failed_fsync_stops_the_wal_for_good(void **state)
{
	struct env *e = *state;
	assert_int_equal(append(e, 1), 0);
	assert_int_equal(wal_sync(e->w), 0);
	uint64_t fsyncs = sim_disk_stats(e->disk)->fsyncs;
	assert_int_equal(append(e, 2), 0);
	sim_disk_fail_next_fsync(e->disk, -EIO);
	assert_int_equal(wal_sync(e->w), -EIO);
	assert_int_equal(wal_error(e->w), -EIO);
	assert_int_equal(wal_durable_lsn(e->w), 1);
	assert_int_equal(append(e, 3), -EIO);
	assert_int_equal(wal_poll(e->w), -EIO);
	assert_int_equal(wal_flush(e->w), -EIO);
	/* exactly one more fsync was tried: the failed one, never retried */
	assert_int_equal(sim_disk_stats(e->disk)->fsyncs, fsyncs + 1);
	assert_int_equal(e->last_durable, 1);
}

static void short_writes_are_finished(void **state)
{
	struct env *e = *state;
	sim_disk_short_next_write(e->disk, 100);
	for (uint64_t lsn = 1; lsn <= 50; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(wal_stats(e->w)->short_writes, 1);
	struct sim_disk_faults f = {.short_write_ppm = 500000};
	sim_disk_set_faults(e->disk, &f);
	for (uint64_t lsn = 51; lsn <= 2000;) {
		int rc = append(e, lsn);
		if (rc == -EAGAIN) {
			assert_int_equal(wal_wait(e->w), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		if (lsn++ % 7 == 0)
			assert_int_equal(wal_poll(e->w), 0);
	}
	assert_int_equal(wal_sync(e->w), 0);
	assert_true(wal_stats(e->w)->short_writes > 10);
	sim_disk_crash(e->disk, SIM_CRASH_DROP_UNSYNCED);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 2000);
}

static int count_files(void *ctx, const char *name)
{
	(void)name;
	++*(int *)ctx;
	return 0;
}

static void segments_roll_over(void **state)
{
	struct env *e = *state;
	uint64_t lsn = 0;
	while (wal_stats(e->w)->segments_created < 5) {
		int rc = append(e, lsn + 1);
		if (rc == -EAGAIN) {
			assert_int_equal(wal_wait(e->w), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		lsn++;
	}
	assert_int_equal(wal_sync(e->w), 0);
	/* five segments and the zeroed spare for the sixth (net/wal/wal.c) */
	int files = 0;
	storage_list(&e->st, count_files, &files);
	assert_int_equal(files, 6);
	sim_disk_crash(e->disk, SIM_CRASH_DROP_UNSYNCED);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), lsn);
	/* and from the middle: only records from that LSN on */
	struct wal_scan s;
	uint64_t count = lsn / 2 - 1;
	assert_int_equal(wal_read(&e->st, SHARD, lsn / 2, check_record, &count, &s), 0);
	assert_int_equal(count, lsn);
	assert_int_equal(s.records, lsn - lsn / 2 + 1);
}

static void back_pressure_is_bounded(void **state)
{
	struct env *e = *state;
	uint64_t lsn = 0;
	while (append(e, lsn + 1) == 0)
		lsn++;
	assert_int_equal(append(e, lsn + 1), -EAGAIN);
	/* no more than the batch buffers' worth was taken without any I/O */
	assert_true(lsn * WAL_CHECK_BODY_BYTES_MIN <= (uint64_t)WAL_BATCH_BUFFERS * BATCH_BYTES);
	assert_true(wal_stats(e->w)->eagain >= 2);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(append(e, lsn + 1), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), lsn + 1);
}

static void reopened_wal_continues_the_chain(void **state)
{
	struct env *e = *state;
	for (uint64_t lsn = 1; lsn <= 100; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	wal_close(e->w);
	open_wal(e);
	assert_int_equal(wal_next_lsn(e->w), 101);
	assert_int_equal(wal_durable_lsn(e->w), 100);
	for (uint64_t lsn = 101; lsn <= 150; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(read_back(e, WAL_READ_CLEAN), 150);
}

static void misdirected_write_is_caught(void **state)
{
	struct env *e = *state;
	for (uint64_t lsn = 1; lsn <= 10; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	/* a batch spanning several pages lands 16 pages off; the next batch
	 * rewrites only the partial page it shares with it */
	sim_disk_misdirect_next_write(e->disk, 16 * WAL_PAGE_BYTES);
	for (uint64_t lsn = 11; lsn <= 110; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0); /* the disk said it was fine */
	for (uint64_t lsn = 111; lsn <= 120; lsn++)
		assert_int_equal(append(e, lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	struct wal_scan s;
	uint64_t count = 0;
	assert_int_equal(wal_read(&e->st, SHARD, 0, check_record, &count, &s), 0);
	assert_int_equal(s.status, WAL_READ_CORRUPT);
	assert_true(s.damage.lsn >= 11 && s.damage.lsn <= 110);
	assert_int_equal(s.damage.segment, 0);
	assert_non_null(s.damage.what);
	assert_int_equal(count, s.damage.lsn - 1);
}

static void oversized_record_is_refused(void **state)
{
	struct env *e = *state;
	static uint8_t big[RECORD_BYTES_MAX + 1];
	uint64_t lsn;
	assert_int_equal(wal_append(e->w, big, RECORD_BYTES_MAX + 1, &lsn), -EMSGSIZE);
	assert_int_equal(wal_append(e->w, big, RECORD_BYTES_MAX, &lsn), 0);
	assert_int_equal(wal_sync(e->w), 0);
	assert_int_equal(wal_durable_lsn(e->w), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(lone_record_goes_out_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(records_appended_during_a_sync_share_one_batch,
						setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_is_durable_before_its_fsync, setup,
						teardown),
		cmocka_unit_test_setup_teardown(failed_fsync_stops_the_wal_for_good, setup,
						teardown),
		cmocka_unit_test_setup_teardown(short_writes_are_finished, setup, teardown),
		cmocka_unit_test_setup_teardown(segments_roll_over, setup, teardown),
		cmocka_unit_test_setup_teardown(back_pressure_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(reopened_wal_continues_the_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(misdirected_write_is_caught, setup, teardown),
		cmocka_unit_test_setup_teardown(oversized_record_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
