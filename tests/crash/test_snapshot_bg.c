/*
 * test_snapshot_bg.c — snapshots taken while the shard keeps serving
 * (net/store/shard_store.h, in-process steps on the simulated disk) and the
 * snapshot policy.
 *
 *   - a background snapshot holds exactly the state at its LSN although
 *     commands ran between its steps (loaded and compared with a replica
 *     that applied records 1..LSN);
 *   - a power loss after each step of a background snapshot (temp file
 *     created, written, synced, renamed, directory synced) recovers the
 *     exact acknowledged history, from the new snapshot only once its
 *     directory fsync happened;
 *   - WAL segments go to the archive (or away) only after the new snapshot
 *     is durable, the archive plus the live WAL is the whole log, and the
 *     live WAL stays bounded; a snapshot file past the WAL's end (the
 *     segments gone) refuses the start;
 *   - the policy starts a snapshot by records, by WAL bytes and by time,
 *     never when nothing was appended, and not while one runs; the time
 *     policy asks the loop to wake when it falls due, and not while a job
 *     runs or nothing is new.
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
#include "net/wal/wal_read.h"
#include "tests/support/cmd_gen.h"
#include "tests/support/sim_disk.h"

#define SHARD 5
#define LSN_MAX 20000u
#define HIST_BYTES_MAX (8u << 20)
#define SEGMENT_BYTES (80u << 10)
#define T0_MS 1800000000000ull
#define ARCHIVE_MAX 256u
#define POLLS_MAX 64 /* a background snapshot here finishes in 5 */

struct run {
	struct sim_disk *disk;
	struct storage st;
	struct cmd_gen gen;
	struct shard_store_options opt;
	uint8_t *hist;
	uint32_t off[LSN_MAX + 2];
	uint64_t last, acked;
	struct shard_store_recovery rec;
	/* archive: names handed over, in order; crash_in_archive loses power
	 * at the first one instead */
	char archived[ARCHIVE_MAX][STORAGE_NAME_BYTES_MAX];
	unsigned archived_count;
	bool crash_in_archive;
	uint64_t snapshot_lsn_at_archive;
	struct shard_store *s;
};

static void on_durable(void *user, uint64_t durable)
{
	struct run *r = user;
	if (durable > r->acked)
		r->acked = durable;
}

static int archive(void *user, const char *name)
{
	struct run *r = user;
	if (r->crash_in_archive) {
		r->snapshot_lsn_at_archive = shard_store_stats(r->s)->snapshot_lsn;
		sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
		return -EIO;
	}
	assert_true(r->archived_count < ARCHIVE_MAX);
	snprintf(r->archived[r->archived_count++], STORAGE_NAME_BYTES_MAX, "%s", name);
	return storage_unlink(&r->st, name); /* "moved": the test keeps its name */
}

static void run_init(struct run *r, uint64_t seed)
{
	uint8_t *hist = r->hist ? r->hist : malloc(HIST_BYTES_MAX);
	assert_non_null(hist);
	memset(r, 0, sizeof *r);
	r->hist = hist;
	r->disk = sim_disk_create(seed);
	sim_disk_storage(r->disk, &r->st);
	cmd_gen_init(&r->gen, seed, T0_MS, 50); /* room for thousands of records */
	r->opt = (struct shard_store_options){.shard = SHARD,
					      .segment_bytes = SEGMENT_BYTES,
					      .snapshot_records = SHARD_SNAPSHOT_OFF,
					      .snapshot_wal_bytes = SHARD_SNAPSHOT_OFF,
					      .snapshot_interval_ms = SHARD_SNAPSHOT_OFF,
					      .on_durable = on_durable,
					      .user = r,
					      .snapshot_user = r};
}

static void run_free(struct run *r)
{
	shard_store_close(r->s);
	r->s = NULL;
	storage_destroy(&r->st);
	sim_disk_destroy(r->disk);
	free(r->hist);
	r->hist = NULL;
}

static struct state_hash reference_hash(const struct run *r, uint64_t upto)
{
	struct core *c = core_create(SHARD);
	assert_non_null(c);
	for (uint64_t n = 1; n <= upto; n++)
		assert_int_equal(core_apply(c, r->hist + r->off[n], r->off[n + 1] - r->off[n]),
				 ST_OK);
	struct state_hash h = core_state_hash(c);
	core_destroy(c);
	return h;
}

static void hash_eq(struct state_hash a, struct state_hash b)
{
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

/* Opens the store on the disk and checks it against the history. */
static void open_store(struct run *r)
{
	assert_int_equal(shard_store_open(&r->s, &r->st, &r->opt, &r->rec), 0);
	uint64_t last = r->rec.last_lsn;
	assert_true(last >= r->acked);
	assert_true(last <= r->last);
	hash_eq(r->rec.hash, reference_hash(r, last));
	assert_null(core_check_invariants(shard_store_core(r->s)));
	r->last = r->acked = last;
}

static void exec_one(struct run *r)
{
	struct cmd c;
	if (!cmd_gen_next(&r->gen, &c))
		return;
	struct result res;
	uint64_t wait;
	enum status st = shard_store_execute(r->s, &c, r->gen.now_ms, &res, &wait);
	assert_int_not_equal(st, ST_UNAVAILABLE);
	cmd_gen_result(&r->gen, &c, st, &res);
	uint32_t len;
	const uint8_t *body = shard_store_last_record(r->s, &len);
	if (!len)
		return;
	uint64_t lsn = shard_store_last_lsn(r->s);
	assert_int_equal(lsn, r->last + 1);
	assert_true(lsn <= LSN_MAX && r->off[lsn] + len <= HIST_BYTES_MAX);
	memcpy(r->hist + r->off[lsn], body, len);
	r->off[lsn + 1] = r->off[lsn] + len;
	r->last = lsn;
}

/* At least n more records. */
static void records(struct run *r, uint64_t n)
{
	uint64_t until = r->last + n;
	for (int guard = 0; r->last < until && guard < 100000; guard++)
		exec_one(r);
	assert_true(r->last >= until);
}

static void crash_and_reopen(struct run *r, enum sim_disk_crash_mode mode)
{
	sim_disk_crash(r->disk, mode);
	shard_store_close(r->s);
	r->s = NULL;
	open_store(r);
}

/* ---- the state a background snapshot holds ------------------------------- */

static void background_snapshot_holds_the_state_at_its_lsn(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 11);
	open_store(&r);
	records(&r, 150);
	uint64_t at = r.last;
	struct state_hash want = reference_hash(&r, at);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	assert_int_equal(shard_store_snapshot_start(r.s), -EBUSY);
	int polls = 0;
	for (; shard_store_snapshot_running(r.s) && polls < POLLS_MAX; polls++) {
		records(&r, 3); /* commands keep running between the steps */
		assert_int_equal(shard_store_poll(r.s), 0);
	}
	assert_false(shard_store_snapshot_running(r.s));
	assert_true(polls >= 4); /* it did not happen at once */
	assert_true(r.last > at);
	assert_int_equal(shard_store_stats(r.s)->snapshot_lsn, at);
	assert_int_equal(shard_store_stats(r.s)->snapshots, 1);

	struct core *c;
	struct snapshot_info info;
	char why[256];
	assert_int_equal(snapshot_load_newest(&r.st, SHARD, &c, &info, why, sizeof why), 0);
	assert_int_equal(info.lsn, at);
	hash_eq(core_state_hash(c), want);
	struct state_hash now = core_state_hash(shard_store_core(r.s));
	assert_true(now.lo != want.lo || now.hi != want.hi);
	core_destroy(c);

	assert_int_equal(shard_store_sync(r.s), 0);
	crash_and_reopen(&r, SIM_CRASH_DROP_UNSYNCED);
	assert_int_equal(r.rec.snapshot_lsn, at);
	assert_true(r.rec.records_replayed > 0);
	run_free(&r);
}

/* ---- a power loss after each step -------------------------------------- */

enum { STEPS_TO_PUBLISHED = 5 }; /* create, write, fsync, rename, fsync dir */

static void crash_after_steps(int k, enum sim_disk_crash_mode mode, uint64_t seed)
{
	struct run r = {0};
	run_init(&r, seed);
	open_store(&r);
	records(&r, 100);
	assert_int_equal(shard_store_snapshot(r.s), 0); /* the previous one */
	uint64_t before = r.last;
	records(&r, 100);
	uint64_t at = r.last;
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	for (int i = 0; i < k; i++) {
		records(&r, 2);
		assert_int_equal(shard_store_poll(r.s), 0);
	}
	assert_int_equal(shard_store_snapshot_running(r.s), k < STEPS_TO_PUBLISHED);
	records(&r, 2);
	crash_and_reopen(&r, mode);
	if (mode == SIM_CRASH_DROP_UNSYNCED)
		assert_int_equal(r.rec.snapshot_lsn, k < STEPS_TO_PUBLISHED ? before : at);
	else /* a rename may or may not reach the disk without the dir fsync */
		assert_true(r.rec.snapshot_lsn ==
				    (k < STEPS_TO_PUBLISHED - 1 ? before : r.rec.snapshot_lsn) &&
			    (r.rec.snapshot_lsn == before || r.rec.snapshot_lsn == at));
	/* the log goes on from there and recovers again */
	records(&r, 50);
	assert_int_equal(shard_store_sync(r.s), 0);
	crash_and_reopen(&r, SIM_CRASH_DROP_UNSYNCED);
	run_free(&r);
}

static void crash_at_each_step_of_a_background_snapshot(void **state)
{
	(void)state;
	for (int k = 0; k <= STEPS_TO_PUBLISHED + 1; k++) {
		crash_after_steps(k, SIM_CRASH_DROP_UNSYNCED, 100 + (uint64_t)k);
		crash_after_steps(k, SIM_CRASH_SOME_SURVIVE, 200 + (uint64_t)k);
	}
}

/* ---- retention: archive only after the snapshot is durable ---------------- */

static void finish_snapshot(struct run *r)
{
	assert_int_equal(shard_store_snapshot_start(r->s), 0);
	for (int polls = 0; shard_store_snapshot_running(r->s) && polls < POLLS_MAX; polls++) {
		records(r, 1);
		shard_store_poll(r->s);
	}
	assert_false(shard_store_snapshot_running(r->s));
}

/* A snapshot the shard writes itself (at a stop) reports its own figures:
 * the stats the "snapshot written" line and /metrics read held the last
 * background snapshot's write time and CPU (a stop logged ms=134 for a
 * 49 ms write). */
static void own_snapshot_reports_its_own_figures(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 17);
	open_store(&r);
	records(&r, 150);
	const struct shard_store_stats *st = shard_store_stats(r.s);
	assert_int_equal(shard_store_snapshot(r.s), 0); /* the first: the max is its */
	assert_true(st->snapshot_start_cpu_us_last > 0);
	assert_int_equal(st->snapshot_start_cpu_us_max, st->snapshot_start_cpu_us_last);
	records(&r, 50);
	finish_snapshot(&r);
	records(&r, 50);
	assert_int_equal(shard_store_snapshot(r.s), 0);
	assert_int_equal(st->snapshot_lsn, r.last);
	assert_int_equal(st->snapshot_write_us_last, st->snapshot_last_us);
	assert_int_equal(st->snapshot_writer_cpu_us_last, st->snapshot_start_cpu_us_last);
	assert_true(st->snapshot_start_cpu_us_max >= st->snapshot_start_cpu_us_last);
	run_free(&r);
}

static void segments_archived_only_after_the_snapshot_is_durable(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 21);
	r.opt.archive = archive;
	r.crash_in_archive = true;
	open_store(&r);
	records(&r, 1500); /* several 80 KiB segments */
	finish_snapshot(&r);
	uint64_t first = shard_store_stats(r.s)->snapshot_lsn;
	assert_int_equal(r.snapshot_lsn_at_archive, 0); /* nothing before the first is dropped */
	records(&r, 1500);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	uint64_t at = r.last;
	for (int polls = 0; !r.snapshot_lsn_at_archive && polls < POLLS_MAX; polls++)
		shard_store_poll(r.s);
	assert_int_equal(r.snapshot_lsn_at_archive, at); /* handed over after it was published */
	shard_store_close(r.s);                          /* the power went in the archive call */
	r.s = NULL;
	open_store(&r);
	assert_int_equal(r.rec.snapshot_lsn, at); /* ... and durably so */
	assert_true(first < at);
	run_free(&r);
}

static int count_segments(void *ctx, const char *name)
{
	uint64_t seg;
	if (!wal_segment_parse(name, SHARD, &seg))
		++*(unsigned *)ctx;
	return 0;
}

static void archive_and_live_wal_are_the_whole_log(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 31);
	r.opt.archive = archive;
	r.opt.snapshot_records = 700;
	open_store(&r);
	unsigned live_max = 0;
	for (int round = 0; round < 12; round++) {
		records(&r, 400);
		for (int i = 0; i < 8; i++)
			shard_store_poll(r.s);
		unsigned live = 0;
		storage_list(&r.st, count_segments, &live);
		live_max = live > live_max ? live : live_max;
	}
	assert_true(shard_store_stats(r.s)->snapshots >= 5);
	assert_true(r.archived_count >= 3);
	assert_int_equal(shard_store_stats(r.s)->segments_archived, r.archived_count);
	assert_int_equal(shard_store_stats(r.s)->segments_removed, 0);
	assert_true(live_max <= 12); /* bounded: ~2 policy intervals + spare */
	/* archived oldest first and contiguous, the live WAL goes on from there */
	for (unsigned i = 0; i < r.archived_count; i++) {
		uint64_t seg;
		assert_int_equal(wal_segment_parse(r.archived[i], SHARD, &seg), 0);
		assert_int_equal(seg, i);
		char name[STORAGE_NAME_BYTES_MAX];
		wal_segment_name(name, sizeof name, SHARD, seg);
		int file = storage_open(&r.st, name);
		assert_true(file < 0); /* gone from the live directory */
	}
	char next[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(next, sizeof next, SHARD, r.archived_count);
	int file = storage_open(&r.st, next);
	assert_true(file > 0);
	storage_close(&r.st, file);
	assert_int_equal(shard_store_sync(r.s), 0);
	crash_and_reopen(&r, SIM_CRASH_DROP_UNSYNCED);
	run_free(&r);
}

struct names {
	char name[8][STORAGE_NAME_BYTES_MAX];
	unsigned count;
};

static int segment_names(void *ctx, const char *name)
{
	struct names *n = ctx;
	uint64_t seg;
	if (!wal_segment_parse(name, SHARD, &seg) && n->count < 8)
		snprintf(n->name[n->count++], STORAGE_NAME_BYTES_MAX, "%s", name);
	return 0;
}

/* Every snapshot damaged and every WAL segment gone from the directory
 * (moved by hand): the log reads as empty, but a snapshot file names an
 * LSN past it, so records are missing: refused (it started empty). */
static void snapshot_past_the_wal_refuses(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 47);
	open_store(&r);
	records(&r, 50);
	assert_int_equal(shard_store_snapshot(r.s), 0);
	uint64_t at = shard_store_stats(r.s)->snapshot_lsn;
	assert_true(at >= 50);
	shard_store_close(r.s);
	r.s = NULL;
	char snap[40];
	snapshot_file_name(snap, sizeof snap, at, false);
	assert_int_equal(sim_disk_flip_bit(r.disk, snap, 100, 3), 0);
	struct names n = {.count = 0};
	assert_int_equal(storage_list(&r.st, segment_names, &n), 0);
	assert_true(n.count >= 1);
	for (unsigned i = 0; i < n.count; i++)
		assert_int_equal(storage_unlink(&r.st, n.name[i]), 0);
	assert_int_equal(shard_store_open(&r.s, &r.st, &r.opt, &r.rec), -EUCLEAN);
	assert_non_null(strstr(r.rec.message, "WAL records are missing"));
	run_free(&r);
}

/* ---- policy --------------------------------------------------------------- */

static void policy_by_records(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 41);
	r.opt.snapshot_records = 60;
	open_store(&r);
	while (shard_store_stats(r.s)->records < 59)
		exec_one(&r);
	assert_int_equal(shard_store_stats(r.s)->records, 59);
	shard_store_poll(r.s);
	assert_false(shard_store_snapshot_running(r.s));
	records(&r, 1);
	shard_store_poll(r.s);
	assert_true(shard_store_snapshot_running(r.s));
	run_free(&r);
}

static void policy_by_wal_bytes(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 42);
	r.opt.snapshot_wal_bytes = 8000;
	open_store(&r);
	uint64_t bytes = 0;
	while (bytes < 8000) {
		shard_store_poll(r.s);
		assert_false(shard_store_snapshot_running(r.s));
		uint64_t before = r.last;
		exec_one(&r);
		if (r.last > before)
			bytes += walfmt_frame_bytes(r.off[r.last + 1] - r.off[r.last]);
	}
	shard_store_poll(r.s);
	assert_true(shard_store_snapshot_running(r.s));
	run_free(&r);
}

static void policy_by_time(void **state)
{
	(void)state;
	struct run r = {0};
	run_init(&r, 43);
	r.opt.snapshot_interval_ms = 1000;
	open_store(&r);
	assert_int_equal(shard_store_poll_at(r.s, T0_MS), 0); /* the clock starts counting */
	assert_int_equal(shard_store_poll_at(r.s, T0_MS + 60000), 0);
	assert_false(shard_store_snapshot_running(r.s)); /* nothing appended: none */
	assert_int_equal(shard_store_snapshot_start(r.s), -EALREADY);
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 0); /* a quiet shard sleeps */
	records(&r, 3);
	/* later than any time the commands carried (each moves < 3 s) */
	uint64_t u = r.gen.now_ms + 10000000;
	assert_int_equal(shard_store_poll_at(r.s, u), 0);
	assert_true(shard_store_snapshot_running(r.s));
	/* the job runs past its interval (a big state) while records come:
	 * the loop polls it anyway, the time policy asks no wake-up of its
	 * own (it asked one every millisecond) */
	records(&r, 3);
	assert_int_equal(shard_store_poll_at(r.s, u + 5000), 0);
	assert_true(shard_store_snapshot_running(r.s));
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 0);
	for (int i = 0; i < POLLS_MAX && shard_store_snapshot_running(r.s); i++)
		shard_store_poll_at(r.s, u + 5000);
	assert_int_equal(shard_store_stats(r.s)->snapshots, 1);
	/* the records since the job are due at once, then 1 s after each */
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 1);
	assert_int_equal(shard_store_poll_at(r.s, u + 5000), 0);
	for (int i = 0; i < POLLS_MAX && shard_store_snapshot_running(r.s); i++)
		shard_store_poll_at(r.s, u + 5000);
	assert_int_equal(shard_store_stats(r.s)->snapshots, 2);
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 0); /* nothing new since */
	u += 5000;
	records(&r, 3);
	assert_true(r.gen.now_ms < u);
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 1000); /* a wake-up when due */
	assert_int_equal(shard_store_poll_at(r.s, u + 999), 0);
	assert_false(shard_store_snapshot_running(r.s));
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 1);
	assert_int_equal(shard_store_poll_at(r.s, u + 1000), 0);
	assert_true(shard_store_snapshot_running(r.s));
	assert_int_equal(shard_store_snapshot_wait_ms(r.s), 0);
	run_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(background_snapshot_holds_the_state_at_its_lsn),
		cmocka_unit_test(crash_at_each_step_of_a_background_snapshot),
		cmocka_unit_test(own_snapshot_reports_its_own_figures),
		cmocka_unit_test(segments_archived_only_after_the_snapshot_is_durable),
		cmocka_unit_test(archive_and_live_wal_are_the_whole_log),
		cmocka_unit_test(snapshot_past_the_wal_refuses),
		cmocka_unit_test(policy_by_records),
		cmocka_unit_test(policy_by_wal_bytes),
		cmocka_unit_test(policy_by_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
