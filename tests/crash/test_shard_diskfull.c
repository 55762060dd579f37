/*
 * test_shard_diskfull.c — the durable shard (net/store/shard_store.h) when the
 * disk fails or fills, on the simulated disk.
 *
 *   - a failed fdatasync: the requests of the batch that failed have an
 *     unknown outcome, those still in memory and every later request are
 *     unavailable, the shard stays stopped (nothing retried), and a restart
 *     recovers exactly the durable prefix;
 *   - no space for the next segment: changes are refused with disk_full
 *     before the core runs them (state and log unchanged), queries still
 *     answer, expiry waits, the retry follows the caller's clock (not
 *     before WAL_SPACE_RETRY_MS), and once space is back writes resume
 *     without a restart and everything written survives a crash.
 *
 * Commands are event updates: each one a record of known size, so a segment
 * fills in a bounded number of steps.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "net/store/shard_store.h"
#include "net/wal/wal.h"
#include "tests/support/sim_disk.h"

#define SHARD 2
#define SEGMENT_BYTES (128u << 10)
#define LSN_MAX 4096u
#define REC_BYTES_MAX 512u
#define T0_MS 1800000000000ull
#define EVENT 7

struct run {
	struct sim_disk *disk;
	struct storage st;
	struct shard_store *s;
	uint64_t now_ms;
	uint32_t n;                               /* updates sent */
	uint8_t hist[LSN_MAX + 1][REC_BYTES_MAX]; /* record body of each LSN */
	uint32_t hist_len[LSN_MAX + 1];
	uint64_t last; /* last LSN of the history */
};

static struct shard_store_options options(void)
{
	return (struct shard_store_options){.shard = SHARD,
					    .segment_bytes = SEGMENT_BYTES,
					    .snapshot_records = UINT64_MAX,
					    .snapshot_wal_bytes = UINT64_MAX,
					    .no_shutdown_snapshot = true};
}

static void open_store(struct run *r, struct shard_store_recovery *rec)
{
	struct shard_store_options o = options();
	int rc = shard_store_open(&r->s, &r->st, &o, rec);
	if (rc)
		print_error("open: %s\n", rec->message);
	assert_int_equal(rc, 0);
}

static struct cmd event_cmd(struct run *r, uint8_t type)
{
	struct cmd c = {.type = type};
	c.event.event_id = EVENT;
	c.event.state = EVENT_ON_SALE;
	c.event.units_max = 100;
	c.event.presale_start_ms = 1;
	c.event.public_start_ms = 2;
	snprintf(c.event.name, sizeof c.event.name, "update %u", r->n++);
	return c;
}

/* Executes c and keeps its record in the history. */
static enum status exec(struct run *r, const struct cmd *c, uint64_t *wait)
{
	struct result res;
	enum status st = shard_store_execute(r->s, c, r->now_ms, &res, wait);
	uint32_t len;
	const uint8_t *body = shard_store_last_record(r->s, &len);
	if (len) {
		uint64_t lsn = shard_store_last_lsn(r->s);
		assert_int_equal(lsn, r->last + 1);
		assert_true(lsn <= LSN_MAX && len <= REC_BYTES_MAX);
		memcpy(r->hist[lsn], body, len);
		r->hist_len[lsn] = len;
		r->last = lsn;
	}
	return st;
}

static enum status update(struct run *r, uint64_t *wait)
{
	struct cmd c = event_cmd(r, CMD_EVENT_UPDATE);
	return exec(r, &c, wait);
}

static struct state_hash reference_hash(const struct run *r, uint64_t upto)
{
	struct core *c = core_create(SHARD);
	assert_non_null(c);
	for (uint64_t n = 1; n <= upto; n++)
		assert_int_equal(core_apply(c, r->hist[n], r->hist_len[n]), ST_OK);
	struct state_hash h = core_state_hash(c);
	core_destroy(c);
	return h;
}

/* A fresh disk and store with the event and a few durable updates. */
static void start(struct run *r, uint64_t seed)
{
	memset(r, 0, sizeof *r);
	r->now_ms = T0_MS;
	r->disk = sim_disk_create(seed);
	sim_disk_storage(r->disk, &r->st);
	struct shard_store_recovery rec;
	open_store(r, &rec);
	uint64_t wait;
	struct cmd c = event_cmd(r, CMD_EVENT_CREATE);
	assert_int_equal(exec(r, &c, &wait), ST_OK);
	for (int i = 0; i < 20; i++)
		assert_int_equal(update(r, &wait), ST_OK);
	assert_int_equal(shard_store_sync(r->s), 0); /* also the spare: nothing in flight */
}

/* Power loss, then recovery: the state must be exactly records 1..upto. */
static void crash_and_check(struct run *r, uint64_t upto)
{
	sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
	shard_store_close(r->s);
	struct shard_store_recovery rec;
	open_store(r, &rec);
	assert_int_equal(rec.last_lsn, upto);
	struct state_hash want = reference_hash(r, upto);
	struct state_hash have = core_state_hash(shard_store_core(r->s));
	assert_memory_equal(&want, &have, sizeof want);
	assert_null(core_check_invariants(shard_store_core(r->s)));
}

static void finish(struct run *r)
{
	shard_store_close(r->s);
	storage_destroy(&r->st);
	sim_disk_destroy(r->disk);
}

static void failed_fsync_outcome_unknown_then_unavailable(void **state)
{
	(void)state;
	static struct run r;
	start(&r, 11);
	uint64_t durable = shard_store_durable_lsn(r.s), a, b;
	sim_disk_fail_next_fsync(r.disk, -EIO);
	assert_int_equal(update(&r, &a), ST_OK); /* its batch goes out and fails */
	assert_int_equal(shard_store_flush(r.s), 0);
	assert_int_equal(update(&r, &b), ST_OK); /* waits in memory behind it */
	for (int i = 0; i < 100 && !shard_store_error(r.s); i++)
		shard_store_wait(r.s);
	assert_int_equal(shard_store_error(r.s), -EIO);
	assert_int_equal(shard_store_durable_lsn(r.s), durable);
	assert_true(a == durable + 1 && b == a + 1);

	/* the batch that failed: unknown; never handed to the disk: unavailable */
	assert_int_equal(shard_store_lost_status(r.s, a, true), ST_OUTCOME_UNKNOWN);
	assert_int_equal(shard_store_lost_status(r.s, b, true), ST_UNAVAILABLE);
	assert_int_equal(shard_store_lost_status(r.s, a, false), ST_UNAVAILABLE);

	/* stopped for good: changes and queries unavailable, nothing retried */
	uint64_t wait, fsyncs = sim_disk_stats(r.disk)->fsyncs;
	assert_int_equal(update(&r, &wait), ST_UNAVAILABLE);
	struct cmd q = {.type = CMD_Q_EVENT};
	q.query.event_id = EVENT;
	assert_int_equal(exec(&r, &q, &wait), ST_UNAVAILABLE);
	assert_int_equal(shard_store_poll(r.s), -EIO);
	assert_int_equal(shard_store_sync(r.s), -EIO);
	assert_int_equal(shard_store_tick(r.s, r.now_ms + 10 * WAL_SPACE_RETRY_MS), 0);
	assert_int_equal(sim_disk_stats(r.disk)->fsyncs, fsyncs);

	crash_and_check(&r, durable); /* exactly the durable prefix */
	finish(&r);
}

/* Runs updates until one is refused; returns its status. */
static enum status fill_until_refused(struct run *r)
{
	uint64_t wait;
	for (int i = 0; i < 3000; i++) {
		enum status st = update(r, &wait);
		if (st != ST_OK)
			return st;
		if (i % 8 == 0)
			shard_store_poll(r->s);
		shard_store_tick(r->s, r->now_ms); /* the clock stands: no retry is due */
	}
	return ST_OK;
}

static void no_space_pauses_changes_then_resumes(void **state)
{
	(void)state;
	static struct run r;
	start(&r, 12);
	uint64_t wait;
	/* everything the disk holds now is all it can hold: the spare ready
	 * after start is the last segment that fits */
	sim_disk_set_space(r.disk, sim_disk_used(r.disk));
	assert_int_equal(fill_until_refused(&r), ST_DISK_FULL);
	assert_int_equal(shard_store_error(r.s), 0);
	assert_true(shard_store_paused(r.s));
	assert_int_equal(shard_store_stats(r.s)->disk_full_events, 1);

	/* refused before the core ran it: no state change, no record */
	uint64_t last = shard_store_last_lsn(r.s);
	struct state_hash before = core_state_hash(shard_store_core(r.s));
	assert_int_equal(update(&r, &wait), ST_DISK_FULL);
	struct state_hash after = core_state_hash(shard_store_core(r.s));
	assert_memory_equal(&before, &after, sizeof before);
	assert_int_equal(shard_store_last_lsn(r.s), last);
	assert_int_equal(wait, 0);
	assert_int_equal(shard_store_stats(r.s)->disk_full_events, 1); /* one pause */

	/* queries answer; expiry waits; what was accepted becomes durable */
	struct cmd q = {.type = CMD_Q_EVENT}, exp;
	q.query.event_id = EVENT;
	assert_int_equal(exec(&r, &q, &wait), ST_OK);
	assert_int_equal(shard_store_next_expiry(r.s, r.now_ms + 3600000, &exp), 0);
	assert_int_equal(shard_store_sync(r.s), 0);
	assert_int_equal(shard_store_durable_lsn(r.s), last);

	/* still no space: the retry keeps the pause, at the caller's pace */
	uint32_t next_ms = shard_store_tick(r.s, r.now_ms);
	assert_true(next_ms > 0 && next_ms <= WAL_SPACE_RETRY_MS);
	r.now_ms += WAL_SPACE_RETRY_MS;
	assert_int_equal(shard_store_tick(r.s, r.now_ms), WAL_SPACE_RETRY_MS);
	assert_true(shard_store_paused(r.s));

	/* space comes back: not before the retry is due, then without a restart */
	sim_disk_set_space(r.disk, 0);
	uint64_t created = shard_store_wal_stats(r.s)->segments_created;
	assert_true(shard_store_tick(r.s, r.now_ms + 1) > 0);
	assert_true(shard_store_paused(r.s));
	r.now_ms += WAL_SPACE_RETRY_MS;
	for (int i = 0; i < 200 && shard_store_paused(r.s); i++) {
		shard_store_tick(r.s, r.now_ms);
		shard_store_wait(r.s);
	}
	assert_false(shard_store_paused(r.s));
	assert_int_equal(shard_store_tick(r.s, r.now_ms), 0);
	for (int i = 0; i < 3000 && shard_store_wal_stats(r.s)->segments_created == created; i++)
		assert_int_equal(update(&r, &wait), ST_OK); /* on into the new segment */
	assert_true(shard_store_wal_stats(r.s)->segments_created > created);
	assert_int_equal(shard_store_sync(r.s), 0);
	assert_int_equal(shard_store_error(r.s), 0);

	crash_and_check(&r, r.last); /* every record before and after the pause */
	finish(&r);
}

/* The spare's zero-fill meets ENOSPC (a filesystem that allocates on
 * write): the spare goes, changes pause instead of stopping the shard. */
static void no_space_while_zeroing_pauses_too(void **state)
{
	(void)state;
	static struct run r;
	start(&r, 13);
	uint64_t wait;
	/* fill the current segment up to the rollover: nothing is sent until
	 * the flush, which queues the new spare's first zero-fill write first */
	uint64_t created = shard_store_wal_stats(r.s)->segments_created;
	while (shard_store_wal_stats(r.s)->segments_created == created)
		assert_int_equal(update(&r, &wait), ST_OK);
	sim_disk_fail_next_write(r.disk, -ENOSPC);
	assert_int_equal(shard_store_flush(r.s), 0);
	assert_int_equal(shard_store_sync(r.s), 0); /* the records are fine */
	assert_int_equal(shard_store_error(r.s), 0);
	assert_int_equal(sim_disk_stats(r.disk)->eio_writes, 1); /* the zero-fill one */
	/* and no space for another try */
	sim_disk_set_space(r.disk, sim_disk_used(r.disk));
	enum status st = fill_until_refused(&r);
	assert_int_equal(st, ST_DISK_FULL);
	assert_int_equal(shard_store_error(r.s), 0);
	assert_true(shard_store_paused(r.s));
	sim_disk_set_space(r.disk, 0);
	r.now_ms += WAL_SPACE_RETRY_MS;
	for (int i = 0; i < 200 && shard_store_paused(r.s); i++) {
		shard_store_tick(r.s, r.now_ms);
		shard_store_wait(r.s);
	}
	assert_false(shard_store_paused(r.s));
	assert_int_equal(update(&r, &wait), ST_OK);
	assert_int_equal(shard_store_sync(r.s), 0);
	crash_and_check(&r, r.last);
	finish(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(failed_fsync_outcome_unknown_then_unavailable),
		cmocka_unit_test(no_space_pauses_changes_then_resumes),
		cmocka_unit_test(no_space_while_zeroing_pauses_too),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
