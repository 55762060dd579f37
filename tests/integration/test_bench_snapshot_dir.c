/*
 * test_bench_snapshot_dir.c — bench-snapshot run as a child process on a
 * --dir that already holds an operator's files (tests/support/bench_dir.h):
 * its store lives in a fresh directory of its own inside it, removed after
 * the run and when SIGTERM stops it; what was there stays, byte for byte.
 * A --dir with a quote and a shell command in its name is only a name.
 * --keep leaves the run's directory and names it; --reopen recovers it
 * and leaves it as it was.
 *
 * Before, bench-snapshot ran its store in --dir itself and removed it
 * with system("rm -rf '%s'"): the operator's files went with it, and the
 * name below ran `touch pwned`. Each run is a few hundred records after
 * ten units sold (about 3 s: the 1,000,000-unit event's tables).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "tests/support/bench_dir.h"

#define SHORT "--records 300 --sold 10"

static struct bench_dir B;
static const char *argv0;

static void leaves_the_dir_alone(void **state)
{
	(void)state;
	char d[128];
	bench_dir_operator(&B, "snap-dir", d, sizeof d);
	bench_dir_run_ok(&B, NULL, "bench-snapshot", SHORT " --dir snap-dir");
	bench_dir_untouched(d);
}

static void dir_name_is_only_a_name(void **state)
{
	(void)state;
	char d[128], pwned[128];
	bench_dir_operator(&B, "q'; touch 'pwned", d, sizeof d);
	bench_dir_run_ok(&B, NULL, "bench-snapshot", SHORT " --dir \"q'; touch 'pwned\"");
	bench_dir_untouched(d);
	snprintf(pwned, sizeof pwned, "%s/pwned", B.top);
	if (bench_dir_exists(pwned))
		fail_msg("a shell ran the command in --dir's name");
}

static void keep_then_reopen(void **state)
{
	(void)state;
	char d[128], name[256], kept[512], list[4096], args[600];
	bench_dir_operator(&B, "snap-keep", d, sizeof d);
	bench_dir_run_ok(&B, NULL, "bench-snapshot", SHORT " --keep --dir snap-keep");
	const char *said = strstr(B.out, "bench-snapshot: kept snap-keep/bench-snapshot.");
	if (!said || sscanf(said, "bench-snapshot: kept %255s", name) != 1)
		fail_msg("--keep did not name its directory:\n%s", B.out);
	snprintf(kept, sizeof kept, "%s/%s", B.top, name);
	assert_int_equal(bench_dir_entries(d, list, sizeof list), 3); /* and keep.me, sub */
	unsigned files = bench_dir_entries(kept, list, sizeof list);
	assert_true(files >= 2); /* a segment and a snapshot at least */
	snprintf(args, sizeof args, "--reopen --dir '%s'", kept);
	bench_dir_run_ok(&B, NULL, "bench-snapshot", args);
	assert_non_null(strstr(B.out, "{\"bench\":\"snapshot-reopen\""));
	assert_true(bench_dir_entries(kept, list, sizeof list) >= files);
}

static void stopped_by_a_signal(void **state)
{
	(void)state;
	char d[128];
	bench_dir_operator(&B, "snap-signal", d, sizeof d);
	char *argv[] = {"bench-snapshot", "--records", "100000000", "--sold", "10",
			"--dir",          d,           NULL};
	bench_dir_stop_with(&B, SIGTERM, d, argv);
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
		cmocka_unit_test(dir_name_is_only_a_name),
		cmocka_unit_test(keep_then_reopen),
		cmocka_unit_test(stopped_by_a_signal),
	};

	(void)argc;
	argv0 = argv[0];
	return cmocka_run_group_tests(tests, setup, teardown);
}
