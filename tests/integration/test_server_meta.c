/*
 * test_server_meta.c — a real onsaled refuses a data directory written with
 * another shard count (net/server/meta.c): restarting with another --shards
 * fails with a message naming the count the data has, and the data is
 * intact when started with the right one. Also: a data directory from
 * before the count was recorded adopts it from its shard-<k> directories,
 * and shard directories that do not fit the count are refused; and a
 * second writer (onsaled, onsale-wal truncate) of a directory in use.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"
#include "tests/support/tool_run.h"

#define EVENT_ID 7
#define GA_CAPACITY 120

static const char *argv0;

/* Starts with shards; expects a refusal whose message holds every one of
 * the NULL-terminated strings. */
static void expect_refused(struct srv *h, unsigned shards, const char *const *says)
{
	char log[4096];
	long from = srv_log_size(h);
	h->shards = shards;
	assert_int_equal(srv_spawn(h), -ECHILD);
	assert_int_not_equal(h->exit_status, 0);
	srv_log_since(h, from, log, sizeof log);
	for (; *says; says++)
		if (!strstr(log, *says))
			fail_msg("onsaled's log lacks \"%s\":\n%s", *says, log);
}

static bool exists(const struct srv *h, const char *name)
{
	char path[320];
	snprintf(path, sizeof path, "%s/%s", h->dir, name);
	return access(path, F_OK) == 0;
}

static void move(const struct srv *h, const char *from, const char *to)
{
	char a[320], b[320];
	snprintf(a, sizeof a, "%s/%s", h->dir, from);
	snprintf(b, sizeof b, "%s/%s", h->dir, to);
	assert_int_equal(rename(a, b), 0);
}

/* An event with a confirmed GA order; returns the order's hold id. */
static uint64_t sell(struct srv *h)
{
	struct tv tv;
	struct result res;
	struct onsale *admin = srv_open(h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 1), 0);
	assert_int_equal(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, 2, 1001, 55, &res), ST_OK);
	uint64_t hold = res.hold.hold_id;
	assert_int_equal(onsale_confirm(plat, EVENT_ID, hold, 2 * TV_PRICE_GA, "pay-1", &res),
			 ST_OK);
	onsale_close(admin);
	onsale_close(plat);
	return hold;
}

/* Starts with shards and checks the order and the GA tier are as sold. */
static void expect_intact(struct srv *h, unsigned shards, uint64_t hold)
{
	struct result res;
	h->shards = shards;
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_query_order(plat, EVENT_ID, hold, &res), ST_OK);
	assert_int_equal(res.hold.state, HOLD_CONFIRMED);
	assert_int_equal(onsale_query_customer(plat, EVENT_ID, 1001, &res), ST_OK);
	assert_int_equal(res.customer.units, 2);
	assert_int_equal(onsale_query_availability(plat, EVENT_ID, &res), ST_OK);
	const struct tier_view *v = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(v->capacity, GA_CAPACITY);
	assert_int_equal(v->sold, 2);
	assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	onsale_close(plat);
	assert_int_equal(srv_stop(h), 0);
}

static void another_count_refused(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	uint64_t hold = sell(&h);
	assert_int_equal(srv_stop(&h), 0);

	expect_refused(&h, 3,
		       (const char *const[]){"holds the data of 2 shards", "--shards is 3",
					     "Start it with --shards 2", "resharding", NULL});
	assert_false(exists(&h, "shard-2")); /* refused before any shard was opened */
	expect_refused(&h, 1,
		       (const char *const[]){"holds the data of 2 shards",
					     "Start it with --shards 2", NULL});
	expect_intact(&h, 2, hold);
	assert_true(exists(&h, "shards"));
	srv_cleanup(&h);
}

/* One process per data directory: a second onsaled on it (on another
 * port) and a truncate under it are refused, naming the running server;
 * they once ran, and acknowledged sales were lost. One server per port. */
static void second_writer_refused(void **state)
{
	(void)state;
	struct srv h, twin;
	char out[4096], tool[600], pid[32];
	const char *slash = strrchr(argv0, '/');
	snprintf(tool, sizeof tool, "%.*s/../../bin/onsale-wal", slash ? (int)(slash - argv0) : 1,
		 slash ? argv0 : ".");
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	uint64_t hold = sell(&h);
	snprintf(pid, sizeof pid, "pid=%ld", (long)h.pid);
	twin = h;
	twin.port = 0; /* a port of its own */
	twin.pid = -1;
	expect_refused(&twin, 2, (const char *const[]){"data directory in use", pid, NULL});
	assert_int_equal(tool_run(tool, out, sizeof out,
				  "truncate --data '%s' --shard 0 --at 2 --yes-i-have-a-backup",
				  h.dir),
			 3);
	tool_expect(out, "in use by process");
	assert_int_equal(tool_run(tool, out, sizeof out, "verify --data '%s'", h.dir), 0);

	/* and a second onsaled on other data but the same port: the shards'
	 * SO_REUSEPORT let it listen there too, and clients were split */
	struct srv other;
	char bin[600];
	snprintf(bin, sizeof bin, "%.*s/../../bin/onsaled", slash ? (int)(slash - argv0) : 1,
		 slash ? argv0 : ".");
	srv_init(&other, argv0, 1);
	assert_int_equal(srv_prepare(&other), 0);
	assert_int_equal(tool_run("timeout", out, sizeof out,
				  "10 '%s' -l 127.0.0.1:%u -s 1 -d '%s' --no-pin --metrics off",
				  bin, (unsigned)h.port, other.dir),
			 1);
	tool_expect(out, "cannot listen");
	tool_expect(out, "Address already in use");
	srv_cleanup(&other);

	assert_int_equal(srv_stop(&h), 0);
	expect_intact(&h, 2, hold);

	/* a lock held a moment longer (a killed server's goes only once its
	 * memory is torn down: 18 ms for 0.7 GB) is waited for, not refused */
	char lock[320];
	snprintf(lock, sizeof lock, "%s/lock", h.dir);
	pid_t holder = fork();
	assert_true(holder >= 0);
	if (holder == 0) { /* a lock of its own open file, gone when it exits */
		int fd = open(lock, O_RDWR);
		_exit(fd < 0 || flock(fd, LOCK_EX) ? 1 : (usleep(300 * 1000), 0));
	}
	usleep(100 * 1000); /* it holds the lock now */
	assert_int_equal(srv_spawn(&h), 0);
	int st;
	assert_int_equal(waitpid(holder, &st, 0), holder);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(srv_stop(&h), 0);
	srv_cleanup(&h);
}

/* A data directory written before the count was recorded. */
static void count_adopted_from_dirs(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	uint64_t hold = sell(&h);
	assert_int_equal(srv_stop(&h), 0);
	move(&h, "shards", "shards.saved");

	expect_refused(&h, 3,
		       (const char *const[]){"holds the data of 2 shards", "shard-0..shard-1 found",
					     "Start it with --shards 2", NULL});
	assert_false(exists(&h, "shards"));
	expect_intact(&h, 2, hold);
	assert_true(exists(&h, "shards")); /* recorded by the start that fit */
	expect_refused(&h, 3, (const char *const[]){"recorded in", NULL});

	/* shard dirs that are not shard-0..K-1 and no file: unknown count */
	move(&h, "shards", "shards.saved");
	move(&h, "shard-1", "shard-2");
	expect_refused(&h, 2,
		       (const char *const[]){"not shard-0..shard-K-1", "shard-1/ is missing",
					     NULL});
	expect_refused(&h, 3, (const char *const[]){"not shard-0..shard-K-1", NULL});
	move(&h, "shard-2", "shard-1");
	expect_intact(&h, 2, hold);
	srv_cleanup(&h);
}

/* With the count recorded, every shard-<k>/ must be one of 0..count-1 and
 * each of them must be there. */
static void dirs_checked_against_count(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	uint64_t hold = sell(&h);
	assert_int_equal(srv_stop(&h), 0);

	char path[320];
	snprintf(path, sizeof path, "%s/shard-5", h.dir);
	assert_int_equal(mkdir(path, 0755), 0);
	expect_refused(&h, 2, (const char *const[]){"records 2 shards", "shard-5/", NULL});
	assert_int_equal(rmdir(path), 0);

	move(&h, "shard-1", "shard-1.away");
	expect_refused(&h, 2, (const char *const[]){"shard-1/ is missing", NULL});
	assert_false(exists(&h, "shard-1")); /* not recreated empty */
	move(&h, "shard-1.away", "shard-1");

	snprintf(path, sizeof path, "%s/shards", h.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("shards=two\n", f);
	fclose(f);
	expect_refused(&h, 2, (const char *const[]){"does not hold one line", NULL});
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("shards=2\n", f);
	fclose(f);
	expect_intact(&h, 2, hold);
	srv_cleanup(&h);
}

/* A shard directory onsaled's user cannot open (restored as another user,
 * or chmod'ed): the start fails and the log names the directory and what
 * to do; it used to fail with no line about that shard at all. Run as
 * root without CAP_DAC_OVERRIDE (setpriv), so mode 000 binds root too. */
static void unusable_shard_dir_said(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK)) {
		fprintf(stderr, "SKIP unusable_shard_dir_said: needs root and setpriv\n");
		skip();
	}
	struct srv h;
	char out[4096], path[320];
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	assert_int_equal(srv_stop(&h), 0);
	snprintf(path, sizeof path, "%s/shard-1", h.dir);
	assert_int_equal(chmod(path, 0), 0);
	int st = tool_run("setpriv", out, sizeof out,
			  "--bounding-set=-dac_override,-dac_read_search"
			  " --inh-caps=-dac_override,-dac_read_search"
			  " timeout 10 '%s' -l 127.0.0.1:%u -s 2 -d '%s' --no-pin --metrics off",
			  h.bin, (unsigned)h.port, h.dir);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(st, 1);
	tool_expect(out, "cannot open the shard directory");
	tool_expect(out, "shard-1\"");
	tool_expect(out, "Permission denied");
	tool_expect(out, "chown -R");
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(another_count_refused),
		cmocka_unit_test(second_writer_refused),
		cmocka_unit_test(count_adopted_from_dirs),
		cmocka_unit_test(dirs_checked_against_count),
		cmocka_unit_test(unusable_shard_dir_said),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
