/*
 * test_server_recover_fail.c — a real 2-shard onsaled whose shard 0 cannot
 * recover (its snapshots damaged and its WAL damaged before the tail):
 * the shards recover in parallel (net/server/server.c, open_stores), so
 * shard 1 still recovers, and then it is closed without a snapshot; the
 * server exits with an error naming shard 0, and once shard 0's files are
 * repaired both shards start with everything that was sold.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/wal_format.h"
#include "net/store/snapshot.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EVENT_ID 9
#define GA_CAPACITY 100
#define DAMAGED_MAX 8

static const char *argv0;

struct damage {
	char path[DAMAGED_MAX][512];
	off_t at[DAMAGED_MAX];
	unsigned count;
};

/* Flips every bit of one byte; flipping it again repairs the file. */
static void flip(struct damage *d, const char *path, off_t at)
{
	assert_true(d->count < DAMAGED_MAX);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	assert_int_equal(close(fd), 0);
	snprintf(d->path[d->count], sizeof d->path[0], "%s", path);
	d->at[d->count++] = at;
}

/* Every snapshot of shard 0 just after its header (a small state's body
 * ends within the first page), and its first WAL segment in its first
 * record: nothing left to recover from. */
static void damage_shard0(const struct srv *h, struct damage *d)
{
	char dir[320], path[600];
	snprintf(dir, sizeof dir, "%s/shard-0", h->dir);
	DIR *dp = opendir(dir);
	assert_non_null(dp);
	unsigned snaps = 0;
	for (struct dirent *e; (e = readdir(dp));) {
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len = strlen(e->d_name);
		if (len > 5 && !strcmp(e->d_name + len - 5, ".osnp")) {
			flip(d, path, SNAPSHOT_HEADER_BYTES + 8);
			snaps++;
		}
	}
	closedir(dp);
	assert_true(snaps > 0);
	snprintf(path, sizeof path, "%s/wal-000-000000000000.seg", dir);
	flip(d, path, WALFMT_SEGMENT_HEADER_BYTES + 8);
}

static void repair(struct damage *d)
{
	struct damage again = {0};
	for (unsigned k = 0; k < d->count; k++)
		flip(&again, d->path[k], d->at[k]);
}

/* Holds and confirms units units for customers homed on both shards. */
static void sell(struct srv *h, uint32_t units)
{
	struct tv tv;
	struct result res;
	struct onsale *admin = srv_open(h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 1), 0);
	for (uint32_t c = 0; c < units; c++) {
		assert_int_equal(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, 1, 2000 + c, 55, &res),
				 ST_OK);
		assert_int_equal(onsale_confirm(plat, EVENT_ID, res.hold.hold_id, TV_PRICE_GA,
						"pay", &res),
				 ST_OK);
	}
	onsale_close(admin);
	onsale_close(plat);
}

static uint32_t sold(struct srv *h)
{
	struct result res;
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_query_availability(plat, EVENT_ID, &res), ST_OK);
	const struct tier_view *v = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(v->capacity, GA_CAPACITY);
	assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	onsale_close(plat);
	return v->sold;
}

/* onsaled binds its listeners before it recovers, so srv_spawn may see a
 * server that accepts and then exits: waits (at most 10 s) for the exit. */
static int exit_status(struct srv *h)
{
	int rc = srv_spawn(h);
	if (rc == -ECHILD)
		return h->exit_status;
	assert_int_equal(rc, 0);
	for (int i = 0; i < 1000; i++) {
		int st;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = -1;
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		struct timespec t = {0, 10 * 1000000};
		nanosleep(&t, NULL);
	}
	fail_msg("onsaled did not exit with shard 0 damaged");
	return 0;
}

static void expect_in_log(const char *log, const char *what)
{
	if (!strstr(log, what))
		fail_msg("onsaled's log lacks \"%s\":\n%s", what, log);
}

static void one_shard_fails_the_other_recovers_and_closes(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	sell(&h, 12);
	assert_int_equal(srv_stop(&h), 0);

	struct damage d = {0};
	damage_shard0(&h, &d);
	long from = srv_log_size(&h);
	assert_int_not_equal(exit_status(&h), 0);
	char log[8192];
	srv_log_since(&h, from, log, sizeof log);
	expect_in_log(log, "shard=0 msg=\"recovery failed\"");
	expect_in_log(log, "hint=\"this shard did not start"); /* and what to run */
	expect_in_log(log, "onsale-wal verify --data ");
	expect_in_log(log, " --shard 0, then follow docs/OPERATIONS.md");
	expect_in_log(log, "shard=1 msg=\"recovered\"");
	expect_in_log(log, "shard=1 msg=\"closed\"");
	if (strstr(log, "shard=0 msg=\"closed\"") || strstr(log, "snapshot written"))
		fail_msg("a shard that did not open was closed, or a snapshot written:\n%s", log);

	repair(&d);
	assert_int_equal(srv_spawn(&h), 0);
	assert_int_equal(sold(&h), 12);
	assert_int_equal(srv_stop(&h), 0);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_shard_fails_the_other_recovers_and_closes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
