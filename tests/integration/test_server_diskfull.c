/*
 * test_server_diskfull.c — a real onsaled (1 shard) whose data directory is
 * a small tmpfs, filled up by a file while it serves.
 *
 * Small WAL segments (--wal-segment-bytes) make the shard need a new one
 * within a few thousand holds. With the disk full: a hold gets disk_full
 * (77), queries still answer, STATS shows the shard paused and one disk-full
 * event, and the log says so. The file is deleted: holds succeed again
 * without a restart, STATS shows it resumed, the log says so, and a
 * restart finds every acknowledged hold. While paused the server does not
 * spin (CPU time over a second of pause).
 *
 * Needs mount(2) (root); skipped with a message otherwise. Bounded: at
 * most HOLDS_MAX holds to reach the pause, RESUME_MS_MAX to resume.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/proc_stat.h"
#include "tests/support/srv_harness.h"

#define DISK_SIZE "4m"
#define SEGMENT_BYTES "262144"
#define HOLDS_MAX 20000
#define RESUME_MS_MAX 5000
#define EVENT 9
#define PAUSED_IDLE_MS 1000

static const char *argv0;

struct df {
	struct srv h;
	char disk[320], fill[340], conf[320];
	bool mounted;
};

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* Writes the file until the disk refuses; returns the bytes written. */
static uint64_t fill_disk(const char *path)
{
	static char chunk[64 << 10];
	memset(chunk, 0xa5, sizeof chunk);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	uint64_t total = 0;
	for (int i = 0; i < 4096; i++) { /* 256 MiB at most: far over DISK_SIZE */
		ssize_t n = write(fd, chunk, sizeof chunk);
		if (n <= 0)
			break;
		total += (uint64_t)n;
	}
	fsync(fd);
	close(fd);
	return total;
}

static long cpu_ticks(pid_t pid)
{
	long ticks = proc_cpu_ticks(pid);
	assert_true(ticks >= 0);
	return ticks;
}

static bool log_has(const struct df *d, const char *what)
{
	char path[320], line[1024];
	snprintf(path, sizeof path, "%s/onsaled.log", d->h.dir);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof line, f))
		found = strstr(line, what) != NULL;
	if (f)
		fclose(f);
	return found;
}

/* A tmpfs data directory under a fresh harness dir; false: no mount. */
static bool setup_disk(struct df *d)
{
	srv_init(&d->h, argv0, 1);
	assert_int_equal(srv_prepare(&d->h), 0);
	snprintf(d->disk, sizeof d->disk, "%s/disk", d->h.dir);
	snprintf(d->fill, sizeof d->fill, "%s/filler", d->disk);
	snprintf(d->conf, sizeof d->conf, "%s/onsaled.conf", d->h.dir);
	assert_int_equal(mkdir(d->disk, 0755), 0);
	if (mount("tmpfs", d->disk, "tmpfs", 0, "size=" DISK_SIZE)) {
		fprintf(stderr, "SKIP test_server_diskfull: mount tmpfs: %s (needs root)\n",
			strerror(errno));
		return false;
	}
	d->mounted = true;
	d->h.args[0] = "-d";
	d->h.args[1] = d->disk;
	d->h.args[2] = "-c";
	d->h.args[3] = d->conf;
	d->h.args[4] = "--wal-segment-bytes";
	d->h.args[5] = SEGMENT_BYTES;
	return true;
}

static struct df the_df;

/* Runs also after a failed assertion: no server, mount or dir is left. */
static int teardown_disk(void **state)
{
	struct df *d = &the_df;
	(void)state;
	if (!d->h.dir[0])
		return 0;
	srv_stop(&d->h);
	if (d->mounted && umount2(d->disk, MNT_DETACH))
		fprintf(stderr, "umount %s: %s\n", d->disk, strerror(errno));
	srv_cleanup(&d->h);
	memset(d, 0, sizeof *d);
	return 0;
}

static int hold(struct onsale *plat, uint64_t key, struct result *res)
{
	return onsale_hold_ga(plat, EVENT, TV_TIER_GA, 1, 5000 + key % 97, key, res);
}

static void full_disk_pauses_holds_then_they_resume(void **state)
{
	(void)state;
	struct df *d = &the_df;
	if (!setup_disk(d))
		skip();
	assert_int_equal(srv_spawn(&d->h), 0);
	struct onsale *admin = srv_open(&d->h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&d->h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct tv tv;
	assert_int_equal(tv_load(admin, &tv, EVENT, 60000, 0, 600000, 0), 0);
	assert_true(fill_disk(d->fill) > 0);

	/* holds fill the segment in use and the spare; no third one fits */
	struct result res;
	uint64_t key = 1, held = 0;
	int st = ST_OK;
	for (; key < HOLDS_MAX && st == ST_OK; key++) {
		st = hold(plat, key, &res);
		held += st == ST_OK;
	}
	assert_int_equal(st, ST_DISK_FULL);
	assert_true(held > 100);
	assert_int_equal(onsale_query_availability(plat, EVENT, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].held, held); /* the refused one is not */
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_int_equal(ss.counters[ONSALE_STAT_WAL_PAUSED], 1);
	assert_int_equal(ss.counters[ONSALE_STAT_DISK_FULL_EVENTS], 1);
	assert_int_equal(ss.counters[ONSALE_STAT_WAL_ERRORS], 0);
	assert_true(ss.counters[ONSALE_STAT_WAL_FSYNCS] > 0);
	assert_true(ss.counters[ONSALE_STAT_WAL_BYTES] > 0);
	assert_true(log_has(d, "WAL writes PAUSED"));

	/* paused, it sleeps between retries: well under a tenth of a core */
	long ticks = cpu_ticks(d->h.pid), hz = sysconf(_SC_CLK_TCK);
	usleep(PAUSED_IDLE_MS * 1000);
	assert_true((cpu_ticks(d->h.pid) - ticks) * 1000 < hz * PAUSED_IDLE_MS / 10);
	assert_int_equal(hold(plat, key, &res), ST_DISK_FULL); /* still paused */

	/* space comes back: holds succeed again without a restart */
	assert_int_equal(unlink(d->fill), 0);
	uint64_t t0 = now_ms();
	do {
		st = hold(plat, key, &res);
		if (st == ST_DISK_FULL)
			usleep(20 * 1000);
	} while (st == ST_DISK_FULL && now_ms() - t0 < RESUME_MS_MAX);
	assert_int_equal(st, ST_OK);
	held++;
	for (int i = 0; i < 200; i++, held++)
		assert_int_equal(hold(plat, ++key, &res), ST_OK);
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_int_equal(ss.counters[ONSALE_STAT_WAL_PAUSED], 0);
	assert_int_equal(ss.counters[ONSALE_STAT_DISK_FULL_EVENTS], 1);
	assert_true(log_has(d, "WAL writes resumed"));
	onsale_close(plat);
	onsale_close(admin);

	/* every acknowledged hold survives a restart */
	srv_kill(&d->h);
	assert_int_equal(srv_spawn(&d->h), 0);
	plat = srv_open(&d->h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_query_availability(plat, EVENT, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].held, held);
	onsale_close(plat);
}

/* A clean stop on a full disk: the final snapshot cannot be written, but
 * the WAL is synced; the log must say that (and that nothing is lost), not
 * a bare "stop failed", and a restart once space is back finds the hold. */
static void full_disk_at_stop_says_the_wal_is_synced(void **state)
{
	(void)state;
	struct df *d = &the_df;
	if (!setup_disk(d))
		skip();
	assert_int_equal(srv_spawn(&d->h), 0);
	struct onsale *admin = srv_open(&d->h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&d->h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct tv tv;
	assert_int_equal(tv_load(admin, &tv, EVENT, 60000, 0, 600000, 0), 0);
	struct result res;
	assert_int_equal(hold(plat, 1, &res), ST_OK);
	onsale_close(plat);
	onsale_close(admin);
	assert_true(fill_disk(d->fill) > 0);

	assert_int_equal(srv_stop(&d->h), 1); /* the snapshot failed */
	assert_true(log_has(d, "the WAL is synced but the final snapshot failed"));
	assert_true(log_has(d, "nothing acknowledged is lost"));

	assert_int_equal(unlink(d->fill), 0);
	assert_int_equal(srv_spawn(&d->h), 0);
	plat = srv_open(&d->h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_query_availability(plat, EVENT, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].held, 1);
	onsale_close(plat);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(full_disk_pauses_holds_then_they_resume, teardown_disk),
		cmocka_unit_test_teardown(full_disk_at_stop_says_the_wal_is_synced, teardown_disk),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
