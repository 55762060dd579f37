/*
 * test_bench_wal_dir.c — bench-wal run as a child process on a --dir that
 * already holds an operator's files (tests/support/bench_dir.h): it writes
 * only in a fresh directory of its own inside it (its recovery shard too,
 * which lived in a DIR-recovery sibling) and removes only that, whether
 * it ends or is stopped by SIGINT or SIGTERM (in the log run and in the
 * recovery run); what was there stays, byte for byte. A missing --dir is
 * made only where its parent exists, and removed after; the default
 * ./var/bench-wal is made with ./var in a fresh working directory and
 * both are removed.
 *
 * Before, bench-wal unlinked every file in --dir before its run and
 * removed --dir after, and made all of --dir's missing parents (which it
 * left). Each run is 0.2 s of appends on 1 MiB segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/support/bench_dir.h"

#define SHORT "--seconds 0.2 --segment-mib 1"

static struct bench_dir B;
static const char *argv0;

static void leaves_the_dir_alone(void **state)
{
	(void)state;
	char d[128], sibling[160];
	bench_dir_operator(&B, "wal-dir", d, sizeof d);
	bench_dir_run_ok(&B, NULL, "bench-wal", SHORT " --recovery-sales 300 --dir wal-dir");
	bench_dir_untouched(d);
	snprintf(sibling, sizeof sibling, "%s-recovery", d);
	assert_false(bench_dir_exists(sibling));
	bench_dir_run_ok(&B, NULL, "bench-wal", SHORT " --recovery-sales 0 --dir wal-dir/");
	bench_dir_untouched(d);
}

static void makes_only_the_last_missing_dir(void **state)
{
	(void)state;
	char p[128];
	assert_int_equal(bench_dir_run(&B, NULL, "bench-wal", SHORT " --dir none/x/y"), 1);
	if (!strstr(B.out, "bench-wal: --dir none/x/y: "))
		fail_msg("the refusal does not name --dir:\n%s", B.out);
	snprintf(p, sizeof p, "%s/none", B.top);
	if (bench_dir_exists(p))
		fail_msg("bench-wal made %s", p);
	bench_dir_run_ok(&B, NULL, "bench-wal", SHORT " --recovery-sales 0 --dir new");
	snprintf(p, sizeof p, "%s/new", B.top);
	assert_false(bench_dir_exists(p)); /* made, and removed with the run */
}

static void default_dir_in_a_fresh_tree(void **state)
{
	(void)state;
	char cwd[128], list[4096];
	snprintf(cwd, sizeof cwd, "%s/fresh", B.top);
	assert_int_equal(mkdir(cwd, 0755), 0);
	bench_dir_run_ok(&B, "fresh", "bench-wal", SHORT " --recovery-sales 0");
	if (bench_dir_entries(cwd, list, sizeof list))
		fail_msg("the default run left in its working directory: %s", list);
}

static void stopped_by_a_signal(void **state)
{
	(void)state;
	char d[128];
	bench_dir_operator(&B, "wal-signal", d, sizeof d);
	char *appending[] = {"bench-wal", "--seconds",
			     "20",        "--segment-mib",
			     "1",         "--recovery-sales",
			     "0",         "--dir",
			     d,           NULL};
	bench_dir_stop_with(&B, SIGINT, d, appending);
	bench_dir_untouched(d);
	bench_dir_stop_with(&B, SIGTERM, d, appending);
	bench_dir_untouched(d);
	/* in the recovery shard's run: its directory is inside the run's */
	char *recovering[] = {"bench-wal", "--seconds",
			      "0.1",       "--segment-mib",
			      "1",         "--recovery-sales",
			      "1000000",   "--dir",
			      d,           NULL};
	bench_dir_stop_with(&B, SIGTERM, d, recovering);
	bench_dir_untouched(d);
}

static int setup(void **state)
{
	(void)state;
	return bench_dir_setup(&B, argv0);
}

static int teardown(void **state)
{
	(void)state;
	return bench_dir_teardown(&B);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(leaves_the_dir_alone),
		cmocka_unit_test(makes_only_the_last_missing_dir),
		cmocka_unit_test(default_dir_in_a_fresh_tree),
		cmocka_unit_test(stopped_by_a_signal),
	};

	(void)argc;
	argv0 = argv[0];
	return cmocka_run_group_tests(tests, setup, teardown);
}
