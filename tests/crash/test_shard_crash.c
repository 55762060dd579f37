/*
 * test_shard_crash.c — deterministic crash simulation of the durable shard
 * (net/store/shard_store.h) on the simulated disk.
 *
 * Each seeded run drives a shard store with real core commands
 * (tests/support/cmd_gen.h: events, GA and reserved tiers, holds, confirms,
 * releases, expiries, refunds, redemptions, exchanges), takes snapshots at
 * random points and by a random small policy, and loses power at random
 * points (unsynced writes dropped, or some kept whole or torn), with short
 * writes, failed writes, failed fsyncs (the shard stops and refuses every
 * later command) and failed reads thrown in. The run keeps the body of
 * every record the store appended, by LSN. After every recovery:
 *   - the store opened (an I/O error during recovery is retried after
 *     another crash; corruption is never acceptable here);
 *   - every acknowledged (durable-reported) record is there: the recovered
 *     last LSN >= the acknowledged LSN;
 *   - the recovered state hash equals that of a fresh core that applied
 *     exactly records 1..last of the run's history (nothing unacknowledged
 *     is half-applied, nothing is missing or changed), and invariants hold.
 * Then dedicated cases: a torn tail at every byte of the last record, a bit
 * flip in a record before the tail, a damaged newest snapshot, a record the
 * core refuses, a failed fsync.
 *
 * A failing seed prints `SEED=n build/tests/crash/test_shard_crash`; RUNS=n
 * changes how many seeded runs there are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/core.h"
#include "net/store/shard_store.h"
#include "net/store/snapshot.h"
#include "net/wal/wal.h"
#include "net/wal/wal_read.h"
#include "tests/support/cmd_gen.h"
#include "tests/support/sim_disk.h"

#define SHARD 3
#define LSN_MAX 20000u
#define HIST_BYTES_MAX (8u << 20)
#define EPOCHS_MAX 5
#define STEPS_MAX 250
#define SEGMENT_BYTES (80u << 10)
#define T0_MS 1800000000000ull

struct run {
	uint64_t seed, rng;
	struct sim_disk *disk;
	struct storage st;
	struct cmd_gen gen;
	uint8_t *hist;             /* record bodies back to back */
	uint32_t off[LSN_MAX + 2]; /* body of LSN n at hist[off[n]], length off[n+1]-off[n] */
	uint64_t last;             /* last LSN in the history */
	uint64_t acked;
	struct shard_store_recovery rec;
	const char *failure;
	uint64_t recoveries, snapshots, torn, stopped;
	bool no_random_snapshots; /* dedicated cases place their own */
};

static uint64_t rnd(struct run *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void on_durable(void *user, uint64_t durable)
{
	struct run *r = user;
	if (durable > r->acked)
		r->acked = durable;
}

static struct shard_store_options options(struct run *r, uint64_t snap_records)
{
	return (struct shard_store_options){.shard = SHARD,
					    .segment_bytes = SEGMENT_BYTES,
					    .snapshot_records = snap_records,
					    .on_durable = on_durable,
					    .user = r};
}

/* Hash of a fresh core after records 1..upto of the history. */
static int reference_hash(const struct run *r, uint64_t upto, struct state_hash *out)
{
	struct core *c = core_create(SHARD);
	if (!c)
		return -1;
	for (uint64_t n = 1; n <= upto; n++) {
		if (core_apply(c, r->hist + r->off[n], r->off[n + 1] - r->off[n]) != ST_OK) {
			core_destroy(c);
			return -1;
		}
	}
	*out = core_state_hash(c);
	core_destroy(c);
	return 0;
}

/* Checks a recovered store against the run's history, then forgets the
 * history past what was recovered (it is no longer part of the log). */
static void check_recovered(struct run *r, struct shard_store *s)
{
	uint64_t last = r->rec.last_lsn;
	struct state_hash want, have = core_state_hash(shard_store_core(s));
	if (last < r->acked) {
		r->failure = "acknowledged record lost";
	} else if (last > r->last) {
		r->failure = "recovered records that were never written";
	} else if (reference_hash(r, last, &want)) {
		r->failure = "reference core refused the history";
	} else if (want.lo != have.lo || want.hi != have.hi || have.lo != r->rec.hash.lo) {
		r->failure = "recovered state differs from the history prefix";
	} else if (core_check_invariants(shard_store_core(s))) {
		r->failure = "invariant broken after recovery";
	}
	r->last = last;
	r->acked = last; /* handed out again: part of history from now on */
	r->torn += r->rec.wal_status == WAL_READ_TORN_TAIL;
}

/* Recovery as a server does it; an I/O fault during recovery is a crash of
 * its own and recovery starts over. */
static struct shard_store *recover(struct run *r, uint64_t snap_records)
{
	struct shard_store_options o = options(r, snap_records);
	for (int tries = 0; tries < 50; tries++) {
		struct shard_store *s;
		int rc = shard_store_open(&s, &r->st, &o, &r->rec);
		r->recoveries++;
		if (!rc) {
			check_recovered(r, s);
			return s;
		}
		if (rc != -EIO) {
			print_error("open: %s: %s\n", strerror(-rc), r->rec.message);
			r->failure = "recovery refused to start";
			return NULL;
		}
		sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
	}
	r->failure = "recovery kept failing";
	return NULL;
}

static void note_record(struct run *r, struct shard_store *s)
{
	uint32_t len;
	const uint8_t *body = shard_store_last_record(s, &len);
	if (!len)
		return;
	uint64_t lsn = shard_store_last_lsn(s);
	if (lsn != r->last + 1 || lsn > LSN_MAX || r->off[lsn] + len > HIST_BYTES_MAX) {
		r->failure = "record LSNs out of step with the history";
		return;
	}
	memcpy(r->hist + r->off[lsn], body, len);
	r->off[lsn + 1] = r->off[lsn] + len;
	r->last = lsn;
}

static void exec(struct run *r, struct shard_store *s, const struct cmd *c)
{
	struct result res;
	uint64_t wait;
	enum status st = shard_store_execute(s, c, r->gen.now_ms, &res, &wait);
	if (st == ST_UNAVAILABLE) {
		if (!shard_store_error(s))
			r->failure = "unavailable without an error";
		return;
	}
	if (shard_store_error(s))
		r->failure = "a stopped shard executed a command";
	note_record(r, s);
	cmd_gen_result(&r->gen, c, st, &res);
	if (wait && wait <= shard_store_durable_lsn(s))
		r->failure = "wait LSN already durable";
}

static void step(struct run *r, struct shard_store *s)
{
	struct cmd c;
	if (cmd_gen_next(&r->gen, &c))
		exec(r, s, &c);
	for (int n = 0; n < 16 && shard_store_next_expiry(s, r->gen.now_ms, &c); n++)
		exec(r, s, &c);
	switch (rnd(r) % 8) {
	case 0: shard_store_flush(s); break;
	case 1: shard_store_poll(s); break;
	case 2: shard_store_wait(s); break;
	case 3:
		if (!r->no_random_snapshots && rnd(r) % 8 == 0 && !shard_store_snapshot(s))
			r->snapshots++;
		break;
	default: break;
	}
	if (shard_store_durable_lsn(s) > r->acked)
		r->acked = shard_store_durable_lsn(s);
}

static void work(struct run *r, struct shard_store *s, int steps)
{
	for (int i = 0; i < steps && !r->failure; i++) {
		step(r, s);
		if (shard_store_error(s)) {
			struct cmd c;
			struct result res;
			uint64_t wait;
			cmd_gen_next(&r->gen, &c);
			if (c.type && shard_store_execute(s, &c, r->gen.now_ms, &res, &wait) !=
					      ST_UNAVAILABLE)
				r->failure = "a stopped shard accepted a command";
			r->stopped++;
			return;
		}
	}
}

static void set_faults(struct run *r)
{
	struct sim_disk_faults f = {0};
	if (rnd(r) % 2) {
		f.short_write_ppm = (uint32_t)(rnd(r) % 200000);
		f.eio_fsync_ppm = (uint32_t)(rnd(r) % 20000);
		f.eio_write_ppm = (uint32_t)(rnd(r) % 10000);
		f.eio_read_ppm = (uint32_t)(rnd(r) % 5000);
	}
	sim_disk_set_faults(r->disk, &f);
}

static const char *run_one(struct run *r, uint64_t seed, enum sim_disk_crash_mode mode)
{
	uint8_t *hist = r->hist;
	memset(r, 0, sizeof *r);
	r->hist = hist;
	r->seed = r->rng = seed;
	r->disk = sim_disk_create(seed);
	sim_disk_storage(r->disk, &r->st);
	cmd_gen_init(&r->gen, seed, T0_MS, 1);
	set_faults(r);
	uint64_t snap_records = 20 + rnd(r) % 300;
	int epochs = 1 + (int)(rnd(r) % EPOCHS_MAX);
	for (int e = 0; e < epochs && !r->failure; e++) {
		struct shard_store *s = recover(r, snap_records);
		if (!s)
			break;
		cmd_gen_restart(&r->gen);
		work(r, s, 1 + (int)(rnd(r) % STEPS_MAX));
		if (rnd(r) % 4 == 0)
			shard_store_sync(s); /* sometimes crash right after everything is durable */
		if (shard_store_durable_lsn(s) > r->acked)
			r->acked = shard_store_durable_lsn(s);
		enum sim_disk_crash_mode m = mode == SIM_CRASH_SOME_SURVIVE && rnd(r) % 2
						     ? mode
						     : SIM_CRASH_DROP_UNSYNCED;
		sim_disk_crash(r->disk, m);
		shard_store_close(s);
	}
	if (!r->failure) { /* final recovery, no faults */
		sim_disk_set_faults(r->disk, NULL);
		shard_store_close(recover(r, snap_records));
	}
	storage_destroy(&r->st);
	sim_disk_destroy(r->disk);
	return r->failure;
}

static void runs(enum sim_disk_crash_mode mode, uint64_t first_seed, uint64_t dflt)
{
	static struct run r;
	if (!r.hist)
		r.hist = malloc(HIST_BYTES_MAX);
	assert_non_null(r.hist);
	const char *only = getenv("SEED");
	uint64_t count = getenv("RUNS") ? strtoull(getenv("RUNS"), NULL, 10) : dflt;
	uint64_t from = only ? strtoull(only, NULL, 10) : first_seed;
	uint64_t to = only ? from + 1 : first_seed + count;
	uint64_t failures = 0, records = 0, recoveries = 0, snaps = 0, torn = 0, stopped = 0;
	for (uint64_t seed = from; seed < to; seed++) {
		const char *why = run_one(&r, seed, mode);
		records += r.last;
		recoveries += r.recoveries;
		snaps += r.snapshots;
		torn += r.torn;
		stopped += r.stopped;
		if (why) {
			print_error("seed %" PRIu64 " failed: %s (acked %" PRIu64
				    ", recovered %" PRIu64 "; %s); rerun: SEED=%" PRIu64
				    " build/tests/crash/test_shard_crash\n",
				    seed, why, r.acked, r.rec.last_lsn, r.rec.message, seed);
			failures++;
		}
	}
	print_message("%" PRIu64 " runs: %" PRIu64 " records, %" PRIu64 " recoveries, %" PRIu64
		      " torn tails, %" PRIu64 " forced snapshots, %" PRIu64 " stopped by faults\n",
		      to - from, records, recoveries, torn, snaps, stopped);
	assert_int_equal(failures, 0);
}

static void crash_drops_unsynced_writes(void **state)
{
	(void)state;
	runs(SIM_CRASH_DROP_UNSYNCED, 1, 1000);
}

static void crash_keeps_or_tears_some_unsynced_writes(void **state)
{
	(void)state;
	runs(SIM_CRASH_SOME_SURVIVE, 1000000, 1000);
}

/* ---- dedicated cases ------------------------------------------------------- */

/* A run without faults: setup and n steps, everything synced after each
 * command when sync_each (each record its own batch). */
static struct shard_store *build(struct run *r, uint64_t seed, int n, bool sync_each,
				 uint64_t snap_records)
{
	uint8_t *hist = r->hist;
	memset(r, 0, sizeof *r);
	r->hist = hist;
	r->seed = r->rng = seed;
	r->no_random_snapshots = true;
	r->disk = sim_disk_create(seed);
	sim_disk_storage(r->disk, &r->st);
	cmd_gen_init(&r->gen, seed, T0_MS, 1);
	struct shard_store *s = recover(r, snap_records);
	assert_non_null(s);
	for (int i = 0; i < n || r->last < 20; i++) {
		step(r, s);
		if (sync_each)
			assert_int_equal(shard_store_sync(s), 0);
	}
	assert_int_equal(shard_store_sync(s), 0);
	assert_null(r->failure);
	return s;
}

static void finish(struct run *r)
{
	storage_destroy(&r->st);
	sim_disk_destroy(r->disk);
}

struct locate {
	uint64_t lsn, segment, offset;
	const struct wal_scan *scan;
};

static int locate_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct locate *l = ctx;
	(void)body;
	(void)len;
	if (lsn == l->lsn) {
		l->segment = l->scan->at_segment;
		l->offset = l->scan->at_offset;
	}
	return 0;
}

/* Segment file name and offset of record lsn. */
static void locate(struct run *r, uint64_t lsn, char *name, uint64_t *offset)
{
	struct wal_scan scan;
	struct locate l = {.lsn = lsn, .scan = &scan};
	assert_int_equal(wal_read(&r->st, SHARD, 0, locate_one, &l, &scan), 0);
	assert_true(l.offset > 0);
	wal_segment_name(name, STORAGE_NAME_BYTES_MAX, SHARD, l.segment);
	*offset = l.offset;
}

/* Whether the record's bytes from frame byte b on are zero anyway (then
 * zeroing them leaves the record whole). */
static bool zero_from(const struct run *r, uint64_t lsn, uint32_t b)
{
	const uint8_t *body = r->hist + r->off[lsn];
	uint32_t len = r->off[lsn + 1] - r->off[lsn];
	if (b < WALFMT_FRAME_HEADER_BYTES)
		return false;
	for (uint32_t i = b - WALFMT_FRAME_HEADER_BYTES; i < len; i++)
		if (body[i])
			return false;
	return true;
}

/* The last record cut at byte b: zeroed from there (flip 0) or with a bit
 * flipped there (flip 1). Recovery truncates it, reports it, and the log
 * continues after it. */
static void tear_last_record(struct run *r, uint32_t b, int flip, uint32_t *frame)
{
	struct shard_store *s = build(r, 77, 60, false, UINT64_MAX);
	uint64_t last = r->last;
	char name[STORAGE_NAME_BYTES_MAX];
	uint64_t off;
	locate(r, last, name, &off);
	*frame = WALFMT_FRAME_HEADER_BYTES + (r->off[last + 1] - r->off[last]); /* not padding */
	bool whole = !flip && zero_from(r, last, b);
	shard_store_close(s);
	if (flip)
		assert_int_equal(sim_disk_flip_bit(r->disk, name, off + b, b % 8), 0);
	else
		assert_int_equal(sim_disk_zero(r->disk, name, off + b, *frame - b), 0);
	sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
	r->acked = last - 1;
	s = recover(r, UINT64_MAX);
	assert_null(r->failure);
	assert_int_equal(r->rec.last_lsn, whole ? last : last - 1);
	if (!whole && (b > 0 || flip)) {
		assert_int_equal(r->rec.wal_status, WAL_READ_TORN_TAIL);
		assert_int_equal(r->rec.damage.lsn, last);
		assert_int_equal(r->rec.damage.offset, off);
		assert_non_null(strstr(r->rec.message, "torn tail truncated"));
	}
	for (int i = 0; i < 10; i++) /* the log continues after the truncation */
		step(r, s);
	assert_int_equal(shard_store_sync(s), 0);
	sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
	shard_store_close(s);
	shard_store_close(recover(r, UINT64_MAX));
	assert_null(r->failure);
	assert_int_equal(r->rec.wal_status, WAL_READ_CLEAN);
	finish(r);
}

static void torn_tail_at_every_byte_of_the_last_record_is_truncated(void **state)
{
	(void)state;
	static struct run r;
	r.hist = malloc(HIST_BYTES_MAX);
	uint32_t frame = 0;
	for (int flip = 0; flip < 2; flip++)
		for (uint32_t b = 0; b == 0 || b < frame; b++)
			tear_last_record(&r, b, flip, &frame);
	print_message("last record (%u bytes) zeroed from, or flipped at, each byte: truncated\n",
		      frame);
	free(r.hist);
	r.hist = NULL;
}

static void bit_flip_before_the_tail_refuses_to_start(void **state)
{
	(void)state;
	static struct run r;
	r.hist = malloc(HIST_BYTES_MAX);
	for (uint32_t pos = 0; pos < 200; pos += 7) {
		struct shard_store *s = build(&r, 91, 40, true, UINT64_MAX);
		uint64_t victim = r.last / 2; /* many later batches prove it was durable */
		char name[STORAGE_NAME_BYTES_MAX];
		uint64_t off;
		locate(&r, victim, name, &off);
		uint32_t frame = walfmt_frame_bytes(r.off[victim + 1] - r.off[victim]);
		shard_store_close(s);
		assert_int_equal(sim_disk_flip_bit(r.disk, name, off + pos % frame, pos % 8), 0);
		sim_disk_crash(r.disk, SIM_CRASH_DROP_UNSYNCED);
		for (int again = 0; again < 2; again++) { /* refused, and still refused */
			struct shard_store_options o = options(&r, UINT64_MAX);
			assert_int_equal(shard_store_open(&s, &r.st, &o, &r.rec), -EUCLEAN);
			assert_int_equal(r.rec.wal_status, WAL_READ_CORRUPT);
			assert_int_equal(r.rec.damage.lsn, victim);
			assert_int_equal(r.rec.damage.offset, off);
			assert_non_null(strstr(r.rec.message, "refusing to start"));
		}
		finish(&r);
	}
	free(r.hist);
}

/* Writes a valid WAL frame whose body the core cannot apply. */
static void record_the_core_refuses_stops_recovery(void **state)
{
	(void)state;
	static struct run r;
	r.hist = malloc(HIST_BYTES_MAX);
	struct shard_store *s = build(&r, 5, 30, false, UINT64_MAX);
	uint64_t last = r.last;
	shard_store_close(s);
	struct wal *w;
	struct wal_options wo = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
	assert_int_equal(wal_open(&w, &r.st, &wo, NULL), 0);
	uint8_t body[24];
	memcpy(body, r.hist + r.off[1], sizeof body); /* an event create, cut short */
	assert_int_equal(wal_append(w, body, sizeof body, NULL), 0);
	assert_int_equal(wal_sync(w), 0);
	wal_close(w);
	struct shard_store_options o = options(&r, UINT64_MAX);
	assert_int_equal(shard_store_open(&s, &r.st, &o, &r.rec), -EUCLEAN);
	assert_int_equal(r.rec.refused_lsn, last + 1);
	assert_non_null(strstr(r.rec.message, "refused by the state machine"));
	assert_non_null(strstr(r.rec.message, "segment"));
	finish(&r);
	free(r.hist);
}

static void damaged_newest_snapshot_falls_back_to_the_previous(void **state)
{
	(void)state;
	static struct run r;
	r.hist = malloc(HIST_BYTES_MAX);
	struct shard_store *s = build(&r, 11, 100, false, UINT64_MAX);
	assert_int_equal(shard_store_snapshot(s), 0);
	uint64_t first = r.last;
	for (int i = 0; i < 300; i++)
		step(&r, s);
	assert_int_equal(shard_store_snapshot(s), 0);
	uint64_t second = r.last;
	assert_true(second > first);
	for (int i = 0; i < 100; i++)
		step(&r, s);
	assert_int_equal(shard_store_sync(s), 0);
	r.acked = r.last;
	shard_store_close(s);
	char name[40];
	snapshot_name(name, sizeof name, second);
	assert_int_equal(sim_disk_flip_bit(r.disk, name, SNAPSHOT_HEADER_BYTES + 100, 3), 0);
	sim_disk_crash(r.disk, SIM_CRASH_DROP_UNSYNCED);
	s = recover(&r, UINT64_MAX);
	assert_null(r.failure);
	assert_int_equal(r.rec.snapshot_lsn, first);
	print_message("fell back to LSN %" PRIu64 ", replayed %" PRIu64 " to LSN %" PRIu64 ": %s\n",
		      r.rec.snapshot_lsn, r.rec.records_replayed, r.rec.last_lsn, r.rec.message);
	assert_int_equal(r.rec.records_replayed, r.last - first);
	assert_non_null(strstr(r.rec.message, "skipped"));
	/* both damaged: the WAL before the older one may be gone; then the shard
	 * refuses to start rather than start from nothing */
	shard_store_close(s);
	snapshot_name(name, sizeof name, first);
	assert_int_equal(sim_disk_flip_bit(r.disk, name, 10, 1), 0);
	struct shard_store_options o = options(&r, UINT64_MAX);
	int rc = shard_store_open(&s, &r.st, &o, &r.rec);
	if (rc == 0) {
		check_recovered(&r, s);
		assert_null(r.failure);
		shard_store_close(s);
	} else {
		assert_int_equal(rc, -EUCLEAN);
		assert_non_null(strstr(r.rec.message, "gone"));
	}
	finish(&r);
	free(r.hist);
}

static void failed_fsync_stops_the_shard(void **state)
{
	(void)state;
	static struct run r;
	r.hist = malloc(HIST_BYTES_MAX);
	struct shard_store *s = build(&r, 21, 30, false, UINT64_MAX);
	sim_disk_fail_next_fsync(r.disk, -EIO);
	for (int i = 0; i < 200 && !shard_store_error(s); i++) {
		struct cmd c;
		if (cmd_gen_next(&r.gen, &c))
			exec(&r, s, &c);
		shard_store_wait(s);
	}
	assert_int_equal(shard_store_error(s), -EIO);
	struct cmd c = {.type = CMD_Q_EVENT};
	struct result res;
	uint64_t wait;
	c.query.event_id = 1;
	assert_int_equal(shard_store_execute(s, &c, r.gen.now_ms, &res, &wait), ST_UNAVAILABLE);
	assert_int_equal(shard_store_poll(s), -EIO);
	assert_int_not_equal(shard_store_snapshot(s), 0);
	sim_disk_crash(r.disk, SIM_CRASH_DROP_UNSYNCED);
	shard_store_close(s);
	shard_store_close(recover(&r, UINT64_MAX));
	assert_null(r.failure);
	finish(&r);
	free(r.hist);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crash_drops_unsynced_writes),
		cmocka_unit_test(crash_keeps_or_tears_some_unsynced_writes),
		cmocka_unit_test(torn_tail_at_every_byte_of_the_last_record_is_truncated),
		cmocka_unit_test(bit_flip_before_the_tail_refuses_to_start),
		cmocka_unit_test(record_the_core_refuses_stops_recovery),
		cmocka_unit_test(damaged_newest_snapshot_falls_back_to_the_previous),
		cmocka_unit_test(failed_fsync_stops_the_shard),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
