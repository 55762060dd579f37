/*
 * test_demo_load.c — onsale-demo-load as an operator runs it: against a
 * real onsaled (1 shard) it loads the demo event and shows it, a second
 * run finds it there; a --port that is no port number (99999 connected to
 * port 34463, abc to port 0) and a stray argument are refused with a
 * message naming them, exit 2, before any connection; --help exits 0.
 * Also onsale-demo (in process, no server): --help exits 0, any argument
 * exits 2 with its usage (it ignored arguments and ran the whole demo).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"
#include "tests/support/tool_run.h"

#define OUT_BYTES (16u << 10)

static struct srv S;
static char tool[600];
static char demo[600];
static char out[OUT_BYTES];

#define run_tool(...) tool_run(tool, out, sizeof out, __VA_ARGS__)
#define expect_out(needle) tool_expect(out, needle)

static int setup(void **state)
{
	(void)state;
	return srv_start(&S);
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&S);
	return 0;
}

static void loads(void **state)
{
	(void)state;
	assert_int_equal(run_tool("--port %u --config %s/onsaled.conf", S.port, S.dir), 0);
	expect_out("loading demo event 2027");
	expect_out("event 2027 availability:");
	assert_int_equal(run_tool("--port %u --config %s/onsaled.conf --show", S.port, S.dir), 0);
	assert_null(strstr(out, "loading"));
	expect_out("event 2027 availability:");
}

static void bad_arguments(void **state)
{
	(void)state;
	assert_int_equal(run_tool("--port 99999 --config %s/onsaled.conf", S.dir), 2);
	expect_out("onsale-demo-load: --port 99999: not a port number 1-65535");
	assert_int_equal(run_tool("--port abc --config %s/onsaled.conf", S.dir), 2);
	expect_out("--port abc: not a port number");
	assert_int_equal(run_tool("--port 0"), 2);
	assert_int_equal(run_tool("--port ''"), 2);
	assert_int_equal(run_tool("--port %u --config %s/onsaled.conf extra", S.port, S.dir), 2);
	expect_out("onsale-demo-load: extra: unexpected argument");
	assert_int_equal(run_tool("--nope"), 2);
	expect_out("usage: onsale-demo-load");
	assert_int_equal(run_tool("--help"), 0);
	expect_out("usage: onsale-demo-load");
}

static void demo_arguments(void **state)
{
	(void)state;
	assert_int_equal(tool_run(demo, out, sizeof out, "--help"), 0);
	expect_out("usage: onsale-demo");
	assert_int_equal(tool_run(demo, out, sizeof out, "--bogus"), 2);
	expect_out("onsale-demo: --bogus: unexpected argument");
	expect_out("usage: onsale-demo");
	assert_null(strstr(out, "Stadium Tour")); /* refused before the demo ran */
	assert_int_equal(tool_run(demo, out, sizeof out, "--help extra"), 2);
	expect_out("onsale-demo: extra: unexpected argument");
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *slash = strrchr(argv[0], '/');
	int dlen = slash ? (int)(slash - argv[0]) : 1;
	snprintf(tool, sizeof tool, "%.*s/../../bin/onsale-demo-load", dlen, slash ? argv[0] : ".");
	snprintf(demo, sizeof demo, "%.*s/../../bin/onsale-demo", dlen, slash ? argv[0] : ".");
	srv_init(&S, argv[0], 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads),
		cmocka_unit_test(bad_arguments),
		cmocka_unit_test(demo_arguments),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
