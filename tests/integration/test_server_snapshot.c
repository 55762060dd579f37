/*
 * test_server_snapshot.c — a real onsaled (2 shards) with a tiny snapshot
 * policy, 256 KiB WAL segments and an archive directory, under a bounded
 * load of GA holds and confirms:
 *   - it takes several snapshots while serving (its log says so);
 *   - the live WAL directories stay bounded, the rest is in the archive;
 *   - after a SIGKILL and a restart every acknowledged confirm is there,
 *     and inventory is conserved;
 *   - with every snapshot of a shard damaged, it starts from the archived
 *     and the live WAL (it refused), and from then on needs the archive
 *     no more;
 * with either snapshot writer (--snapshot-writer replay, the default, and
 * fork); and a bad threshold, an unknown writer or an archive on another
 * filesystem is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EVENT 9
#define GA_UNITS 20000u
#define CONFIRMS_MAX 2500u
#define CONFIRMS_AFTER 3000u /* after the starts from the archive */
#define LOAD_MS_MAX 60000u
#define LIVE_SEGMENTS_MAX 10 /* per shard: ~2 policy intervals + the spare */

static const char *argv0;

static uint64_t ms_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static int count_in(const char *dir, const char *prefix, const char *suffix)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	size_t ls = strlen(suffix);
	for (struct dirent *e; (e = readdir(d));) {
		size_t l = strlen(e->d_name);
		n += !strncmp(e->d_name, prefix, strlen(prefix)) && l >= ls &&
		     !strcmp(e->d_name + l - ls, suffix);
	}
	closedir(d);
	return n;
}

static int log_lines(const struct srv *h, const char *what)
{
	char path[320], line[1024];
	snprintf(path, sizeof path, "%s/onsaled.log", h->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int n = 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void check_conservation(struct onsale *c)
{
	struct result res;
	assert_int_equal(onsale_query_availability(c, EVENT, &res), ST_OK);
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		if (v->defined)
			assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	}
}

/* The server started again: every acknowledged confirm is there, and
 * inventory is conserved. */
static struct onsale *restarted(struct srv *h, const uint64_t *confirmed, unsigned n)
{
	struct result res;
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(onsale_query_order(plat, EVENT, confirmed[i], &res), ST_OK);
		assert_int_equal(res.hold.state, HOLD_CONFIRMED);
	}
	assert_int_equal(onsale_query_availability(plat, EVENT, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].sold, n);
	check_conservation(plat);
	return plat;
}

/* Every snapshot file of shard 0 damaged (a byte flipped), and with
 * newest_dir the newest one replaced by a directory of its name (a
 * snapshot written at that LSN then fails). */
static void damage_snapshots(const struct srv *h, bool newest_dir)
{
	char cmd[1024];
	snprintf(cmd, sizeof cmd,
		 "cd '%s'/shard-0 && for f in snap-*.osnp; do printf '\\377' |"
		 " dd of=\"$f\" bs=1 seek=100 conv=notrunc 2>/dev/null; done%s",
		 h->dir,
		 newest_dir ? " && f=$(ls snap-*.osnp | tail -1) && rm \"$f\" && mkdir \"$f\""
			    : "");
	assert_int_equal(system(cmd), 0);
}

/* Confirms (ids into confirmed) until the log shows two more snapshots
 * written, and none failed. */
static void sell_until_snapshots(const struct srv *h, struct onsale *plat, uint64_t *confirmed,
				 unsigned *n, uint64_t customers)
{
	struct result res;
	int written = log_lines(h, "msg=\"snapshot written\"");
	for (uint64_t i = 0; *n < CONFIRMS_MAX + CONFIRMS_AFTER &&
			     log_lines(h, "msg=\"snapshot written\"") < written + 2;
	     i++) {
		if (onsale_hold_ga(plat, EVENT, TV_TIER_GA, 1, 90000 + customers + i, 1 + i,
				   &res) == ST_OK &&
		    onsale_confirm(plat, EVENT, res.hold.hold_id, TV_PRICE_GA, "pay", &res) ==
			    ST_OK)
			confirmed[(*n)++] = res.hold.hold_id;
	}
	assert_true(log_lines(h, "msg=\"snapshot written\"") >= written + 2);
	assert_int_equal(log_lines(h, "msg=\"snapshot failed\""), 0);
}

static void snapshots_while_serving_bound_the_wal(void **state)
{
	const char *writer = *state;
	static uint64_t confirmed[CONFIRMS_MAX + CONFIRMS_AFTER];
	char arch[64], arch_shard[96], live[320];
	struct srv h;
	struct result res;
	snprintf(arch, sizeof arch, "/tmp/onsale-arch-XXXXXX");
	assert_non_null(mkdtemp(arch));
	srv_init(&h, argv0, 2);
	const char *extra[] = {"--snapshot-records",
			       "300",
			       "--wal-segment-bytes",
			       "256k",
			       "--wal-archive",
			       arch,
			       "--snapshot-writer",
			       writer,
			       NULL};
	memcpy(h.args, extra, sizeof extra);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct tv tv;
	assert_int_equal(tv_load(admin, &tv, EVENT, GA_UNITS, 0, 0, 1), 0);

	unsigned n = 0;
	uint64_t t0 = ms_now();
	for (uint64_t i = 0; n < CONFIRMS_MAX && ms_now() - t0 < LOAD_MS_MAX; i++) {
		if (onsale_hold_ga(plat, EVENT, TV_TIER_GA, 1, 5000 + i, 1 + i, &res) != ST_OK)
			continue;
		uint64_t hold = res.hold.hold_id;
		if (onsale_confirm(plat, EVENT, hold, TV_PRICE_GA, "pay", &res) == ST_OK)
			confirmed[n++] = hold;
	}
	assert_true(n >= CONFIRMS_MAX / 2);
	/* the last snapshots finish in the background: give them a moment */
	for (int i = 0; i < 100 && log_lines(&h, "msg=\"snapshot written\"") < 6; i++)
		usleep(20000);
	print_message("%u confirms, %d snapshot lines\n", n,
		      log_lines(&h, "msg=\"snapshot written\""));
	assert_true(log_lines(&h, "msg=\"snapshot written\"") >= 6); /* several per shard */
	char listening[64];
	snprintf(listening, sizeof listening, "snapshot_writer=%s", writer);
	assert_int_equal(log_lines(&h, listening), 1);

	int archived = 0;
	for (unsigned k = 0; k < 2; k++) {
		snprintf(live, sizeof live, "%s/shard-%u", h.dir, k);
		snprintf(arch_shard, sizeof arch_shard, "%s/shard-%u", arch, k);
		int segs = count_in(live, "wal-", ".seg");
		print_message("shard %u: %d live segments, %d archived, %d snapshots\n", k, segs,
			      count_in(arch_shard, "wal-", ".seg"),
			      count_in(live, "snap-", ".osnp"));
		assert_true(segs <= LIVE_SEGMENTS_MAX);
		assert_true(count_in(live, "snap-", ".osnp") <= 2);
		archived += count_in(arch_shard, "wal-", ".seg");
	}
	assert_true(archived >= 2);

	/* a crash, then every acknowledged confirm is still there */
	onsale_close(admin);
	onsale_close(plat);
	srv_kill(&h);
	plat = restarted(&h, confirmed, n);

	/* every snapshot of shard 0 damaged at a clean stop: its WAL from LSN
	 * 1 is only in the archive, which the start reads (it refused to
	 * start), then writes a snapshot so the next start needs it no more */
	onsale_close(plat);
	assert_int_equal(srv_stop(&h), 0);
	damage_snapshots(&h, false);
	plat = restarted(&h, confirmed, n);
	assert_int_equal(log_lines(&h, "recovered with the WAL archive"), 1);
	/* selling on, the writer snapshots from there */
	sell_until_snapshots(&h, plat, confirmed, &n, 2000);
	onsale_close(plat);
	srv_kill(&h);
	plat = restarted(&h, confirmed, n);
	assert_int_equal(log_lines(&h, "recovered with the WAL archive"), 1);
	/* again, and the snapshot at the start fails (its name is taken by a
	 * directory): the writer reads the archive until its own snapshot
	 * (the replaying one failed every snapshot) */
	onsale_close(plat);
	assert_int_equal(srv_stop(&h), 0);
	damage_snapshots(&h, true);
	plat = restarted(&h, confirmed, n);
	assert_int_equal(log_lines(&h, "recovered with the WAL archive"), 2);
	assert_int_equal(log_lines(&h, "the snapshot that would make them unneeded failed"), 1);
	sell_until_snapshots(&h, plat, confirmed, &n, 4000);
	onsale_close(plat);
	srv_kill(&h);
	plat = restarted(&h, confirmed, n);
	assert_int_equal(log_lines(&h, "recovered with the WAL archive"), 2);
	onsale_close(plat);
	srv_cleanup(&h);
	char *rm[] = {"/bin/rm", "-rf", arch, NULL};
	pid_t pid = fork();
	if (pid == 0) {
		execv(rm[0], rm);
		_exit(127);
	}
	waitpid(pid, NULL, 0);
}

/* --snapshot-seconds alone takes a snapshot of a shard that has gone
 * quiet (no connection, no live hold): such a shard slept until the next
 * request, and its WAL waited with it. */
static void time_policy_on_a_quiet_shard(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	srv_init(&h, argv0, 2);
	const char *args[] = {"--snapshot-seconds",
			      "1",
			      "--snapshot-records",
			      "off",
			      "--snapshot-bytes",
			      "off",
			      NULL};
	memcpy(h.args, args, sizeof args);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	assert_int_equal(tv_load(admin, &tv, EVENT, 100, 0, 0, 0), 0);
	onsale_close(admin);
	for (int i = 0; i < 400 && log_lines(&h, "snapshot written") < 2; i++)
		usleep(10000); /* due 1 s after the first records, on each shard */
	assert_int_equal(log_lines(&h, "snapshot written"), 2);
	srv_cleanup(&h);
}

/* What an operator gets wrong is refused before the server listens. */
static void bad_snapshot_options_refused(void **state)
{
	(void)state;
	struct srv h;
	/* each named as itself (all once said "bad snapshot threshold") */
	static const char *const bad[][3] = {
		{"--snapshot-records", "lots", "--snapshot-records lots"},
		{"--snapshot-bytes", "-1", "--snapshot-bytes -1"},
		{"--snapshot-seconds", "1h", "--snapshot-seconds 1h"},
		{"--wal-segment-bytes", "1m", "--wal-segment-bytes 1m"},
		{"--wal-segment-bytes", "65k", "from 72k to 4G"},
		{"--wal-segment-bytes", "off", "--wal-segment-bytes off"}};
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		srv_init(&h, argv0, 1);
		h.args[0] = bad[i][0];
		h.args[1] = bad[i][1];
		assert_int_equal(srv_start(&h), -ECHILD);
		assert_int_equal(h.exit_status, 2);
		assert_int_equal(log_lines(&h, bad[i][2]), 1);
		srv_cleanup(&h);
	}
	srv_init(&h, argv0, 1);
	const char *bad_writer[] = {"--snapshot-writer", "thread", NULL};
	memcpy(h.args, bad_writer, sizeof bad_writer);
	assert_int_not_equal(srv_start(&h), 0);
	srv_cleanup(&h);
	/* an archive that cannot be made is said (it exited without a word) */
	srv_init(&h, argv0, 1);
	const char *no_parent[] = {"--wal-archive", "/nonexistent-onsale-parent/archive", NULL};
	memcpy(h.args, no_parent, sizeof no_parent);
	int rc = srv_start(&h); /* it listens before the stores open: may look up */
	for (int i = 0; i < 500 && log_lines(&h, "cannot open the WAL archive") < 1; i++)
		usleep(10000);
	assert_int_equal(log_lines(&h, "cannot open the WAL archive"), 1);
	assert_true(rc == -ECHILD || srv_stop(&h) == 1);
	srv_cleanup(&h);
	/* /dev/shm is tmpfs, the data directory is under /tmp: a rename
	 * cannot move segments there */
	if (access("/dev/shm", W_OK) == 0) {
		srv_init(&h, argv0, 1);
		const char *other_fs[] = {"--wal-archive", "/dev/shm/onsale-test-archive", NULL};
		memcpy(h.args, other_fs, sizeof other_fs);
		rc = srv_start(&h);
		for (int i = 0; i < 500 && log_lines(&h, "another filesystem") < 1; i++)
			usleep(10000);
		assert_true(log_lines(&h, "another filesystem") >= 1);
		if (rc) /* seen exiting while it was being waited for */
			assert_int_equal(rc, -ECHILD);
		else
			assert_int_equal(srv_stop(&h), 1); /* it exited: refused to start */
		srv_cleanup(&h);
		rmdir("/dev/shm/onsale-test-archive/shard-0");
		rmdir("/dev/shm/onsale-test-archive");
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		{"replay: snapshots_while_serving_bound_the_wal",
		 snapshots_while_serving_bound_the_wal, NULL, NULL, (void *)"replay"},
		{"fork: snapshots_while_serving_bound_the_wal",
		 snapshots_while_serving_bound_the_wal, NULL, NULL, (void *)"fork"},
		cmocka_unit_test(time_policy_on_a_quiet_shard),
		cmocka_unit_test(bad_snapshot_options_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
