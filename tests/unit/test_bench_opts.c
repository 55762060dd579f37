/*
 * test_bench_opts.c — the load generators' options parser
 * (bench/common/opts.c): every kind of value stored where its entry
 * points, defaults kept for options not given, each bad value refused with
 * OPTS_BAD and a message naming the option and what it must be, stray
 * arguments and unknown options refused, --help answered with OPTS_HELP,
 * and the --help text built from the table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "bench/common/opts.h"

static struct {
	const char *host;
	unsigned port, pct;
	uint64_t ops;
	double duration, rate;
	int json;
	char mode;
} o;

static const char *mode_of(const char *value, void *dst)
{
	if (strcmp(value, "a") && strcmp(value, "b"))
		return "a or b";
	*(char *)dst = value[0];
	return NULL;
}

static const struct opt table[] = {
	OPT_STR("host", "H", &o.host, "server (127.0.0.1)"),
	OPT_UINT("port", "P", &o.port, 1, 65535, "port (7400)"),
	OPT_UINT("confirm", "PCT", &o.pct, 0, 100, "holds confirmed (80)\nthe rest released"),
	OPT_U64("ops", "N", &o.ops, 1, UINT64_MAX, "stop after N operations"),
	OPT_REAL("duration", "S", &o.duration, 1, "stop after S seconds"),
	OPT_REAL("rate", "R", &o.rate, 0, "open loop rate"),
	OPT_FLAG("json", &o.json, "print JSON"),
	OPT_FN("mode", "M", &o.mode, mode_of, "a or b"),
};

static const struct opts_cmd cmd = {"prog", "Intro line.\n", table, sizeof table / sizeof table[0]};

static char err[512]; /* what the last parse printed on stderr */

/* Parses the words of line (space separated, at most 23) with stderr
 * captured into err. */
static int parse(const char *line)
{
	static char buf[256];
	char *argv[24] = {"prog"};
	int argc = 1;
	snprintf(buf, sizeof buf, "%s", line);
	for (char *w = strtok(buf, " "); w && argc < 23; w = strtok(NULL, " "))
		argv[argc++] = w;
	FILE *cap = tmpfile();
	assert_non_null(cap);
	int saved = dup(2);
	fflush(stderr);
	dup2(fileno(cap), 2);
	int rc = opts_parse(&cmd, argc, argv);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	size_t n = (size_t)pread(fileno(cap), err, sizeof err - 1, 0);
	err[n < sizeof err ? n : 0] = 0;
	fclose(cap);
	return rc;
}

static void reset(void)
{
	memset(&o, 0, sizeof o);
	o.host = "127.0.0.1";
	o.port = 7400;
	o.pct = 80;
}

static void values_stored(void **state)
{
	(void)state;
	reset();
	assert_int_equal(parse("--host h --port 1 --confirm 0 --ops 18446744073709551615 "
			       "--duration 2.5 --rate 0 --json --mode b"),
			 0);
	assert_string_equal(o.host, "h");
	assert_int_equal(o.port, 1);
	assert_int_equal(o.pct, 0);
	assert_true(o.ops == UINT64_MAX);
	assert_true(o.duration == 2.5 && o.rate == 0);
	assert_int_equal(o.json, 1);
	assert_int_equal(o.mode, 'b');
	assert_string_equal(err, "");
	reset();
	assert_int_equal(parse("--port=65535"), 0);
	assert_int_equal(o.port, 65535);
	assert_int_equal(o.pct, 80); /* not given: the default stays */
	assert_string_equal(o.host, "127.0.0.1");
}

static void bad_values(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
		{"--port 0", "prog: --port 0: not a whole number in 1-65535 (see --help)\n"},
		{"--port 65536",
		 "prog: --port 65536: not a whole number in 1-65535 (see --help)\n"},
		{"--port x", "prog: --port x: not a whole number in 1-65535 (see --help)\n"},
		{"--port 12x", "prog: --port 12x: not a whole number in 1-65535 (see --help)\n"},
		{"--confirm -1", "prog: --confirm -1: not a whole number in 0-100 (see --help)\n"},
		{"--confirm +5", "prog: --confirm +5: not a whole number in 0-100 (see --help)\n"},
		{"--ops 0", "prog: --ops 0: not a whole number >= 1 (see --help)\n"},
		{"--ops 18446744073709551616",
		 "prog: --ops 18446744073709551616: not a whole number >= 1 (see --help)\n"},
		{"--duration 0", "prog: --duration 0: not a number > 0 (see --help)\n"},
		{"--duration inf", "prog: --duration inf: not a number > 0 (see --help)\n"},
		{"--rate -1", "prog: --rate -1: not a number >= 0 (see --help)\n"},
		{"--rate 1e", "prog: --rate 1e: not a number >= 0 (see --help)\n"},
		{"--mode c", "prog: --mode c: not a or b (see --help)\n"},
		{"stray", "prog: stray argument: stray (see --help)\n"},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		reset();
		if (parse(cases[k][0]) != OPTS_BAD)
			fail_msg("%s: not refused", cases[k][0]);
		assert_string_equal(err, cases[k][1]);
	}
	reset();
	assert_int_equal(parse("--bogus"), OPTS_BAD);
	assert_non_null(strstr(err, "usage: prog [options]"));
	assert_int_equal(parse("--port"), OPTS_BAD); /* value missing */
	assert_int_equal(parse("--json=1"), OPTS_BAD);
}

static void help(void **state)
{
	(void)state;
	FILE *out = fopen("/dev/null", "w");
	assert_non_null(out);
	FILE *saved = stdout;
	stdout = out;
	int rc = parse("--port 9 --help");
	stdout = saved;
	fclose(out);
	assert_int_equal(rc, OPTS_HELP);

	char text[2048];
	FILE *f = fmemopen(text, sizeof text, "w");
	assert_non_null(f);
	opts_usage(f, &cmd);
	fclose(f);
	assert_non_null(strstr(text, "usage: prog [options]\nIntro line.\n"));
	assert_non_null(strstr(text, "\n  --host H            server (127.0.0.1)\n"));
	assert_non_null(strstr(text, "\n  --confirm PCT       holds confirmed (80)\n"
				     "                      the rest released\n"));
	assert_non_null(strstr(text, "\n  --json              print JSON\n"));
	assert_non_null(strstr(text, "\n  --mode M            a or b\n"));
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_null(strstr(text, "--mode M            a or b\n ")); /* the last entry ends it */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_stored),
		cmocka_unit_test(bad_values),
		cmocka_unit_test(help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
