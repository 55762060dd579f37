/*
 * test_snapshot_fork.c — snapshots while serving by a writer outside the
 * shard's loop, forked (net/store/snapshot_fork.c) or replaying
 * (net/store/snapshot_replay.c): every case runs with both, on real files
 * through io_uring storage, as onsaled takes them:
 *
 *   - the snapshot holds exactly the state at its LSN while commands keep
 *     running in the parent (the child sees the fork-time image), also a
 *     state of many of the writer's chunks;
 *   - the child publishes and applies retention itself: with an archive
 *     directory the segments move there, oldest first, and the live WAL
 *     stays bounded over many policy snapshots; a restart recovers the
 *     state of the whole history;
 *   - a store closed while its writer runs kills it: nothing is published,
 *     the temp file is gone after the next open, and recovery is exact;
 *   - archiving never overwrites an archived segment of the same name;
 *   - (replaying) the writer's copy of the state follows snapshots taken on
 *     request that retained the WAL it needed: it loads the newest again.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/core.h"
#include "net/store/shard_store.h"
#include "net/store/snapshot.h"
#include "net/wal/storage_uring.h"
#include "net/wal/wal_read.h"
#include "tests/support/cmd_gen.h"

#define SHARD 2
#define LSN_MAX 200000u
#define HIST_BYTES_MAX (48u << 20)
#define SEGMENT_BYTES (128u << 10)
#define T0_MS 1800000000000ull
#ifndef WAIT_MS_MAX
#define WAIT_MS_MAX 20000 /* a sanitizer build may give more: -DWAIT_MS_MAX=... */
#endif
#define BIG_UNITS 200000u /* a large tier, and holds on it: */
#define BIG_HOLDS 120000u /* a state of several snapshot chunks */

struct run {
	char dir[64], live[96], arch[96];
	int live_fd, arch_fd;
	struct storage st;
	struct shard_store *s;
	struct shard_store_options opt;
	struct shard_store_recovery rec;
	struct cmd_gen gen;
	uint8_t *hist;
	uint32_t off[LSN_MAX + 2];
	uint64_t last;
};

static uint64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int archive(void *user, const char *name)
{
	struct run *r = user;
	/* never over an archived file, as onsaled's (net/server/server.c) */
	if (renameat2(r->live_fd, name, r->arch_fd, name, RENAME_NOREPLACE))
		return -errno;
	return fsync(r->arch_fd) ? -errno : 0;
}

static void run_init(struct run *r, bool with_archive, void **state)
{
	memset(r, 0, sizeof *r);
	r->hist = malloc(HIST_BYTES_MAX);
	assert_non_null(r->hist);
	snprintf(r->dir, sizeof r->dir, "/tmp/onsale-snapfork-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->live, sizeof r->live, "%s/live", r->dir);
	snprintf(r->arch, sizeof r->arch, "%s/archive", r->dir);
	assert_int_equal(mkdir(r->live, 0755), 0);
	assert_int_equal(mkdir(r->arch, 0755), 0);
	r->live_fd = open(r->live, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->arch_fd = open(r->arch, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(r->live_fd >= 0 && r->arch_fd >= 0);
	cmd_gen_init(&r->gen, 7, T0_MS, 1000);
	r->opt = (struct shard_store_options){.shard = SHARD,
					      .segment_bytes = SEGMENT_BYTES,
					      .snapshot_records = SHARD_SNAPSHOT_OFF,
					      .snapshot_wal_bytes = SHARD_SNAPSHOT_OFF,
					      .snapshot_interval_ms = SHARD_SNAPSHOT_OFF,
					      .snapshot_writer = *(
						      enum shard_snapshot_writer *)*state,
					      .snapshot_dir_fd = r->live_fd,
					      .archive_dir_fd = with_archive ? r->arch_fd : -1,
					      .archive = with_archive ? archive : NULL,
					      .snapshot_user = r};
}

static void rm_dir(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return;
	for (struct dirent *e; (e = readdir(d));) {
		char p[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", path, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(path);
}

static void run_free(struct run *r)
{
	shard_store_close(r->s);
	storage_destroy(&r->st);
	close(r->live_fd);
	close(r->arch_fd);
	rm_dir(r->live);
	rm_dir(r->arch);
	rmdir(r->dir);
	free(r->hist);
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

/* (Re)opens storage and store; the recovered state is the history's. */
static void open_store(struct run *r)
{
	assert_int_equal(storage_uring_open(&r->st, r->live, 0), 0);
	int rc = shard_store_open(&r->s, &r->st, &r->opt, &r->rec);
	if (rc)
		print_error("open: %s\n", r->rec.message);
	assert_int_equal(rc, 0);
	assert_int_equal(r->rec.last_lsn, r->last);
	hash_eq(r->rec.hash, reference_hash(r, r->last));
}

static void reopen(struct run *r)
{
	assert_int_equal(shard_store_sync(r->s), 0);
	shard_store_close(r->s);
	r->s = NULL;
	storage_destroy(&r->st);
	open_store(r);
}

static void records(struct run *r, uint64_t n)
{
	uint64_t until = r->last + n;
	for (int guard = 0; r->last < until && guard < 1000000; guard++) {
		struct cmd c;
		if (!cmd_gen_next(&r->gen, &c))
			continue;
		struct result res;
		uint64_t wait;
		enum status st = shard_store_execute(r->s, &c, r->gen.now_ms, &res, &wait);
		assert_int_not_equal(st, ST_UNAVAILABLE);
		cmd_gen_result(&r->gen, &c, st, &res);
		uint32_t len;
		const uint8_t *body = shard_store_last_record(r->s, &len);
		if (!len)
			continue;
		uint64_t lsn = r->last + 1;
		assert_int_equal(shard_store_last_lsn(r->s), lsn);
		assert_true(lsn <= LSN_MAX && r->off[lsn] + len <= HIST_BYTES_MAX);
		memcpy(r->hist + r->off[lsn], body, len);
		r->off[lsn + 1] = r->off[lsn] + len;
		r->last = lsn;
		if (lsn % 64 == 0)
			assert_int_equal(shard_store_poll(r->s), 0);
	}
	assert_true(r->last >= until);
}

/* Keeps executing (and polling) until the running snapshot is done. */
static void serve_until_done(struct run *r)
{
	uint64_t t0 = ms_now();
	while (shard_store_snapshot_running(r->s) && ms_now() - t0 < WAIT_MS_MAX) {
		records(r, 5);
		assert_int_equal(shard_store_poll(r->s), 0);
		usleep(2000); /* a trickle, as between requests: the writer runs niced */
	}
	assert_false(shard_store_snapshot_running(r->s));
}

static int count_segments(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));) {
		uint64_t seg;
		n += !wal_segment_parse(e->d_name, SHARD, &seg);
	}
	closedir(d);
	return n;
}

/* The newest snapshot verifies, is at lsn and holds want; its body's size. */
static uint64_t newest_is(struct run *r, uint64_t lsn, struct state_hash want)
{
	struct core *c;
	struct snapshot_info info;
	char why[256];
	assert_int_equal(snapshot_load_newest(&r->st, SHARD, &c, &info, why, sizeof why), 0);
	assert_int_equal(info.lsn, lsn);
	hash_eq(core_state_hash(c), want);
	core_destroy(c);
	return info.body_bytes;
}

static void snapshot_holds_the_state_at_its_lsn(void **state)
{
	static struct run r;
	run_init(&r, false, state);
	open_store(&r);
	records(&r, 3000);
	uint64_t at = r.last;
	struct state_hash want = reference_hash(&r, at);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	assert_true(r.last > at); /* the parent went on meanwhile */
	const struct shard_store_stats *stats = shard_store_stats(r.s);
	assert_int_equal(stats->snapshots, 1);
	assert_int_equal(stats->snapshot_lsn, at);
	assert_int_equal(stats->snapshot_failures, 0);

	newest_is(&r, at, want);
	reopen(&r);
	assert_int_equal(r.rec.snapshot_lsn, at);
	run_free(&r);
}

/* Executes c at T0_MS and keeps its record in the history. */
static void execute(struct run *r, const struct cmd *c)
{
	struct result res;
	uint64_t wait;
	assert_int_equal(shard_store_execute(r->s, c, T0_MS, &res, &wait), ST_OK);
	uint32_t len;
	const uint8_t *body = shard_store_last_record(r->s, &len);
	uint64_t lsn = r->last + 1;
	assert_true(len && lsn <= LSN_MAX && r->off[lsn] + len <= HIST_BYTES_MAX);
	memcpy(r->hist + r->off[lsn], body, len);
	r->off[lsn + 1] = r->off[lsn] + len;
	r->last = lsn;
}

/* The writer streams the image a chunk at a time and writes the header
 * last: a state of many chunks (a large GA tier's tables) loads whole. */
static void a_state_of_many_chunks_loads_whole(void **state)
{
	static struct run r;
	run_init(&r, false, state);
	open_store(&r);
	struct cmd c = {.type = CMD_EVENT_CREATE};
	c.event = (struct cmd_event){.event_id = 9000,
				     .state = EVENT_ON_SALE,
				     .units_max = BIG_UNITS,
				     .presale_start_ms = 1,
				     .public_start_ms = 1};
	execute(&r, &c);
	c = (struct cmd){.type = CMD_TIER_ADD};
	c.tier = (struct cmd_tier){.event_id = 9000,
				   .tier = 0,
				   .kind = TIER_GA,
				   .capacity = BIG_UNITS,
				   .price_minor = 100};
	execute(&r, &c);
	for (uint32_t i = 0; i < BIG_HOLDS; i++) {
		c = (struct cmd){.type = CMD_HOLD};
		c.hold = (struct cmd_hold){.event_id = 9000, .qty = 1, .customer_id = 1 + i};
		execute(&r, &c);
	}
	records(&r, 300);
	uint64_t at = r.last;
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	assert_int_equal(shard_store_stats(r.s)->snapshot_failures, 0);

	uint64_t bytes = newest_is(&r, at, reference_hash(&r, at));
	assert_true(bytes > 2ull * SNAPSHOT_IO_CHUNK_BYTES);
	run_free(&r);
}

static void policy_snapshots_archive_the_wal_and_keep_it_bounded(void **state)
{
	static struct run r;
	run_init(&r, true, state);
	r.opt.snapshot_records = 2500;
	open_store(&r);
	int live_max = 0;
	for (int round = 0; round < 10; round++) {
		records(&r, 1500);
		serve_until_done(&r);
		int live = count_segments(r.live);
		live_max = live > live_max ? live : live_max;
		print_message("round %d: live %d archived %d snapshots %d err %d\n", round, live,
			      (int)shard_store_stats(r.s)->segments_archived,
			      (int)shard_store_stats(r.s)->snapshots,
			      shard_store_stats(r.s)->snapshot_error);
	}
	const struct shard_store_stats *stats = shard_store_stats(r.s);
	assert_true(stats->snapshots >= 4);
	assert_int_equal(stats->snapshot_failures, 0);
	assert_int_equal(stats->snapshot_error, 0);
	assert_true(stats->segments_archived >= 2);
	assert_int_equal(stats->segments_removed, 0);
	assert_int_equal(count_segments(r.arch), (int)stats->segments_archived);
	assert_true(live_max <= 24); /* ~2 intervals + what arrives while one is written */
	/* the archive starts at segment 0 and the live WAL goes on after it */
	char name[STORAGE_NAME_BYTES_MAX], path[512];
	wal_segment_name(name, sizeof name, SHARD, 0);
	snprintf(path, sizeof path, "%s/%s", r.arch, name);
	assert_int_equal(access(path, F_OK), 0);
	wal_segment_name(name, sizeof name, SHARD, stats->segments_archived);
	snprintf(path, sizeof path, "%s/%s", r.live, name);
	assert_int_equal(access(path, F_OK), 0);
	reopen(&r);
	assert_true(r.rec.snapshot_lsn > 0);
	run_free(&r);
}

static int count_temps(const char *path)
{
	DIR *d = opendir(path);
	assert_non_null(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strstr(e->d_name, ".osnp.tmp") != NULL;
	closedir(d);
	return n;
}

static void closing_kills_a_running_writer(void **state)
{
	static struct run r;
	run_init(&r, false, state);
	open_store(&r);
	records(&r, 2000);
	assert_int_equal(shard_store_snapshot(r.s), 0);
	uint64_t first = r.last;
	records(&r, 2000);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	/* the writer waits for a durable LSN nobody reports: it cannot publish */
	assert_int_equal(shard_store_sync(r.s), 0);
	shard_store_close(r.s); /* kills and reaps it */
	r.s = NULL;
	storage_destroy(&r.st);
	open_store(&r);
	assert_int_equal(r.rec.snapshot_lsn, first);
	assert_int_equal(count_temps(r.live), 0);
	run_free(&r);
}

/* A writer that fails (here: its directory is not one) is counted, the
 * shard goes on, nothing is published, and the next one is tried. */
static void a_failed_writer_is_counted_and_retried(void **state)
{
	static struct run r;
	run_init(&r, false, state);
	char file[128];
	snprintf(file, sizeof file, "%s/not-a-dir", r.dir);
	int bad = open(file, O_CREAT | O_RDWR | O_CLOEXEC, 0644);
	assert_true(bad >= 0);
	r.opt.snapshot_dir_fd = bad;
	open_store(&r);
	records(&r, 1000);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	assert_int_equal(shard_store_stats(r.s)->snapshot_failures, 1);
	assert_int_equal(shard_store_stats(r.s)->snapshot_error, -ENOTDIR);
	assert_int_equal(shard_store_stats(r.s)->snapshots, 0);
	records(&r, 10);
	assert_int_equal(shard_store_snapshot_start(r.s), 0); /* tried again */
	serve_until_done(&r);
	assert_int_equal(shard_store_stats(r.s)->snapshot_failures, 2);
	reopen(&r);
	assert_int_equal(r.rec.snapshot_lsn, 0);
	close(bad);
	unlink(file);
	run_free(&r);
}

/* A data directory started afresh next to an old archive: the archived
 * segment of the same name is never overwritten (the audit log is kept),
 * the live one stays, and the failure is reported. */
static void archive_never_overwrites(void **state)
{
	static struct run r;
	run_init(&r, true, state);
	r.opt.snapshot_records = 1500;
	char name[STORAGE_NAME_BYTES_MAX], path[512];
	wal_segment_name(name, sizeof name, SHARD, 0);
	snprintf(path, sizeof path, "%s/%s", r.arch, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("an older shard's segment 0", f);
	fclose(f);
	open_store(&r);
	for (int round = 0; round < 6; round++) {
		records(&r, 1500);
		serve_until_done(&r);
	}
	const struct shard_store_stats *stats = shard_store_stats(r.s);
	assert_true(stats->snapshots >= 3);
	assert_int_equal(stats->segments_archived, 0);
	assert_int_equal(stats->snapshot_error, -EEXIST);
	assert_int_equal(stats->retain_error_last, -EEXIST);
	/* a snapshot the shard writes itself (a stop) stands though its
	 * segments cannot be archived: it returned the archive's error, and
	 * onsaled said its stop snapshot failed and exited 1 */
	records(&r, 10);
	assert_int_equal(shard_store_snapshot(r.s), 0);
	assert_int_equal(stats->snapshot_lsn, shard_store_last_lsn(r.s));
	assert_int_equal(stats->retain_error_last, -EEXIST);
	char buf[64] = {0};
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(buf, sizeof buf, f));
	fclose(f);
	assert_string_equal(buf, "an older shard's segment 0");
	snprintf(path, sizeof path, "%s/%s", r.live, name);
	assert_int_equal(access(path, F_OK), 0); /* still live: nothing lost */
	reopen(&r);
	run_free(&r);
}

/* The writer's copy outlives WAL retention by snapshots taken on request
 * (at stop, or asked for): the log it would replay from is gone, so it
 * loads the newest snapshot again, and what it writes is still exact. */
static void the_copy_follows_snapshots_taken_on_request(void **state)
{
	static struct run r;
	run_init(&r, false, state);
	open_store(&r);
	records(&r, 2000);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	uint64_t removed = shard_store_stats(r.s)->segments_removed;
	for (int i = 0; i < 3; i++) {
		records(&r, 2000);
		assert_int_equal(shard_store_snapshot(r.s), 0);
	}
	assert_true(shard_store_stats(r.s)->segments_removed > removed); /* retention ran */
	records(&r, 2000);
	uint64_t at = r.last;
	struct state_hash want = reference_hash(&r, at);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	const struct shard_store_stats *stats = shard_store_stats(r.s);
	assert_int_equal(stats->snapshot_failures, 0);
	assert_int_equal(stats->snapshots, 5);
	newest_is(&r, at, want);
	records(&r, 2000); /* and once more from the reloaded copy */
	at = r.last;
	want = reference_hash(&r, at);
	assert_int_equal(shard_store_snapshot_start(r.s), 0);
	serve_until_done(&r);
	assert_int_equal(stats->snapshot_failures, 0);
	newest_is(&r, at, want);
	reopen(&r);
	assert_int_equal(r.rec.snapshot_lsn, at);
	run_free(&r);
}

static enum shard_snapshot_writer forked = SHARD_SNAPSHOT_FORK;
static enum shard_snapshot_writer replaying = SHARD_SNAPSHOT_REPLAY;

#define WITH(w, f)                            \
	{                                     \
#w ": " #f, f, NULL, NULL, &w \
	}
#define BOTH(f) WITH(forked, f), WITH(replaying, f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(snapshot_holds_the_state_at_its_lsn),
		BOTH(a_state_of_many_chunks_loads_whole),
		BOTH(policy_snapshots_archive_the_wal_and_keep_it_bounded),
		BOTH(closing_kills_a_running_writer),
		BOTH(a_failed_writer_is_counted_and_retried),
		BOTH(archive_never_overwrites),
		WITH(replaying, the_copy_follows_snapshots_taken_on_request),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
