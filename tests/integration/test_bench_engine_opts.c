/*
 * test_bench_engine_opts.c — the in-process benches of bench/engine/
 * (bench-core, bench-wal, bench-snapshot, bench-retire), and bench/host's
 * bench-cpu, run as child processes with bad options and with --help. A bad value is refused
 * before anything runs, exit 2, with one line naming the option, its value
 * and what it must be (bench/common/opts.h's wording); --help prints the
 * usage on stdout and exits 0. Before, values of 0 or not numbers at all
 * ran with a default or a wrapped value (bench-wal --segment-mib 0,
 * bench-core --seed abc, bench-snapshot --records -1), and refusals were
 * the whole usage text or nothing (bench-snapshot --turn 0).
 *
 * The children run in a fresh directory of their own, each under
 * timeout(1), so that a value wrongly taken runs briefly and writes
 * nothing outside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TIMEOUT_S 20 /* per child; only a value wrongly taken gets near it */
#define OUT_BYTES (1u << 14)

static char bin[4096]; /* the build's bin/ directory */
static char dir[64];   /* the children's working directory */
static char out[OUT_BYTES];

/* Runs `bin/prog args` (stderr too, or only stdout if !with_stderr) in
 * dir; its output in out[]; returns its exit status, -1 if it did not exit. */
static int run(const char *prog, const char *args, int with_stderr)
{
	char cmd[8192];
	snprintf(cmd, sizeof cmd, "cd '%s' && timeout %d '%s/%s' %s %s", dir, TIMEOUT_S, bin, prog,
		 args, with_stderr ? "2>&1" : "2>/dev/null");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	while (fgetc(p) != EOF) /* the rest: the child must not block on a full pipe */
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct bad {
	const char *prog, *args;
	const char *says; /* the start of the one line, after "prog: " */
	const char *must; /* what follows it on that line */
};

static void refused(const struct bad *b)
{
	int rc = run(b->prog, b->args, 1);
	char want[256];
	snprintf(want, sizeof want, "%s: %s: %s", b->prog, b->says, b->must);
	if (rc != 2 || strncmp(out, want, strlen(want)) || !strstr(out, "(see --help)\n") ||
	    strchr(out, '\n') != out + strlen(out) - 1)
		fail_msg("%s %s: exit %d, want 2 and one line starting \"%s\":\n%s", b->prog,
			 b->args, rc, want, out);
}

static void refuse_all(const struct bad *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		refused(&b[i]);
}

static void bench_wal_refuses(void **state)
{
	(void)state;
	/* --dir and a short run keep a value wrongly taken small */
	static const struct bad b[] = {
		{"bench-wal", "--segment-mib 0 --seconds 0.1 --recovery-sales 0 --dir w",
		 "--segment-mib 0", "not a whole number in 1-"},
		{"bench-wal", "--batch-kib 0 --seconds 0.1 --recovery-sales 0 --dir w",
		 "--batch-kib 0", "not a whole number in "},
		{"bench-wal", "--batch-kib 137 --seconds 0.1 --recovery-sales 0 --dir w",
		 "--batch-kib 137", "not a multiple of 4 in "},
		{"bench-wal", "--record-bytes 0 --seconds 0.1 --recovery-sales 0 --dir w",
		 "--record-bytes 0", "not a whole number in 1-"},
		{"bench-wal", "--record-bytes x --seconds 0.1 --recovery-sales 0 --dir w",
		 "--record-bytes x", "not a whole number in 1-"},
		{"bench-wal", "--seconds 601 --recovery-sales 0 --dir w", "--seconds 601",
		 "not a number in (0, 600]"},
		{"bench-wal", "--seconds 0 --recovery-sales 0 --dir w", "--seconds 0",
		 "not a number > 0"},
		{"bench-wal", "--recovery-sales 1000001 --seconds 0.1 --dir w",
		 "--recovery-sales 1000001", "not a whole number in 0-1000000"},
	};
	refuse_all(b, sizeof b / sizeof b[0]);
}

static void bench_core_refuses(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{"bench-core", "--seed abc --ga-units 1000 --sections 1 --rows 4 --seats-per-row 4",
		 "--seed abc", "not a whole number"},
		{"bench-core", "--seed -1 --ga-units 1000 --sections 1 --rows 4 --seats-per-row 4",
		 "--seed -1", "not a whole number"},
		{"bench-core", "--ga-units 0", "--ga-units 0", "not a whole number in 1-"},
		{"bench-core", "--sections 0", "--sections 0", "not a whole number in 1-"},
		{"bench-core", "--rows 128 --seats-per-row 256", "--rows 128 x --seats-per-row 256",
		 "more than "},
	};
	refuse_all(b, sizeof b / sizeof b[0]);
}

static void bench_snapshot_refuses(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{"bench-snapshot", "--records -1 --sold 10 --dir s", "--records -1",
		 "not a whole number in 0-"},
		{"bench-snapshot", "--turn 0 --records 100 --sold 10 --dir s", "--turn 0",
		 "not a whole number in 1-"},
		{"bench-snapshot", "--sold 500001 --records 100 --dir s", "--sold 500001",
		 "not a whole number in 0-500000"},
		{"bench-snapshot", "--writer thread --records 100 --sold 10 --dir s",
		 "--writer thread", "not replay or fork"},
		{"bench-snapshot", "--policy-records 1k --records 100 --sold 10 --dir s",
		 "--policy-records 1k", "not a whole number or off"},
	};
	refuse_all(b, sizeof b / sizeof b[0]);
}

static void bench_retire_refuses(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{"bench-retire", "--units 0", "--units 0", "not a whole number in 1-"},
		{"bench-retire", "--units many", "--units many", "not a whole number in 1-"},
		{"bench-retire", "1000", "stray argument", "1000"},
	};
	refuse_all(b, sizeof b / sizeof b[0]);
}

static void bench_cpu_refuses(void **state)
{
	(void)state;
	static const struct bad b[] = {
		{"bench-cpu", "--duties 0,101 --seconds 0.1", "--duties 0,101",
		 "not up to 8 percentages 0-100 split by commas"},
		{"bench-cpu", "--duties 50, --seconds 0.1", "--duties 50,",
		 "not up to 8 percentages"},
		{"bench-cpu", "--duties 1,2,3,4,5,6,7,8,9 --seconds 0.1",
		 "--duties 1,2,3,4,5,6,7,8,9", "not up to 8 percentages"},
		{"bench-cpu", "--seconds 601", "--seconds 601", "not a number in (0, 600]"},
		{"bench-cpu", "--cpu 1023 --seconds 0.1", "--cpu 1023",
		 "not a CPU this process may run on"},
	};
	refuse_all(b, sizeof b / sizeof b[0]);
}

/* bench-cpu --json: one JSON line per phase, in the order asked, each
 * with its duty and a gap count no larger than its time allows (a gap is
 * at least 1 ms). */
static void bench_cpu_reports_each_phase(void **state)
{
	(void)state;
	int rc = run("bench-cpu", "--seconds 0.2 --duties 0,100 --json", 0);
	const char *l0 = out, *l1 = strchr(out, '\n');
	assert_int_equal(rc, 0);
	assert_non_null(l1);
	l1++;
	assert_non_null(strchr(l1, '\n'));
	assert_string_equal(strchr(l1, '\n') + 1, "");
	unsigned duty[2], gaps[2];
	double secs[2];
	const char *line[2] = {l0, l1};
	for (int i = 0; i < 2; i++) {
		const char *d = strstr(line[i], "\"duty_pct\":"),
			   *s = strstr(line[i], "\"seconds\":"),
			   *g = strstr(line[i], "\"gaps_over_1ms\":");
		assert_true(!strncmp(line[i], "{\"bench\":\"cpu\",", 15));
		assert_true(d && s && g);
		assert_int_equal(sscanf(d, "\"duty_pct\":%u", &duty[i]), 1);
		assert_int_equal(sscanf(s, "\"seconds\":%lf", &secs[i]), 1);
		assert_int_equal(sscanf(g, "\"gaps_over_1ms\":%u", &gaps[i]), 1);
		assert_true(secs[i] >= 0.19 && secs[i] < 5);
		assert_true(gaps[i] <= secs[i] * 1000);
	}
	assert_int_equal(duty[0], 0);
	assert_int_equal(duty[1], 100);
}

/* --help: the usage on stdout, exit 0, naming each option given. */
static void help_on_stdout(void **state)
{
	(void)state;
	static const struct {
		const char *prog, *option;
	} h[] = {
		{"bench-core", "--seats-per-row N"},      {"bench-wal", "--batch-kib N"},
		{"bench-snapshot", "--policy-records N"}, {"bench-retire", "--units N"},
		{"bench-cpu", "--duties LIST"},
	};
	for (size_t i = 0; i < sizeof h / sizeof h[0]; i++) {
		char want[64];
		int rc = run(h[i].prog, "--help", 0);
		snprintf(want, sizeof want, "usage: %s ", h[i].prog);
		if (rc != 0 || strncmp(out, want, strlen(want)) || !strstr(out, h[i].option))
			fail_msg("%s --help: exit %d, want 0 and the usage on stdout:\n%s",
				 h[i].prog, rc, out);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/test-bench-opts.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir); /* a mkdtemp name: no quote in it */
	return system(cmd) ? -1 : 0;
}

static void find_bin(const char *argv0)
{
	const char *cut = strstr(argv0, "tests/integration/");
	int n = cut ? (int)(cut - argv0) : 0;
	char here[4096];

	snprintf(bin, sizeof bin, "%.*sbin", n, argv0);
	if (!cut)
		snprintf(bin, sizeof bin, "%s/bin", getenv("BUILD") ? getenv("BUILD") : "build");
	if (bin[0] != '/' && getcwd(here, sizeof here)) { /* the children run elsewhere */
		char rel[sizeof bin];
		memcpy(rel, bin, sizeof rel);
		snprintf(bin, sizeof bin, "%.2000s/%.2000s", here, rel);
	}
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bench_wal_refuses),
		cmocka_unit_test(bench_core_refuses),
		cmocka_unit_test(bench_snapshot_refuses),
		cmocka_unit_test(bench_retire_refuses),
		cmocka_unit_test(bench_cpu_refuses),
		cmocka_unit_test(bench_cpu_reports_each_phase),
		cmocka_unit_test(help_on_stdout),
	};

	(void)argc;
	find_bin(argv[0]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
