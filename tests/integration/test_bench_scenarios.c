/*
 * test_bench_scenarios.c — onsale-bench against a real onsaled (2 shards):
 * every scenario on a small event, briefly, with --verify --json; the run
 * must exit 0, say verify "ok" in its JSON line, and show what the
 * scenario is about (seat-pick collisions refused, mixed queries and
 * refunds, gate-rush every ticket scanned once and every second scan
 * refused). With --json stdout holds the JSON object alone, also when
 * SIGINT cuts a run short (exit 130). A unit sold on the side fails the
 * verify; a server stopped (SIGSTOP) mid-run (also in an --ops run) or
 * before it ends the run within bounds, exit 1; bad options exit 2.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"

static struct srv S;
static char bench[600];
static char json[1 << 16];

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

/* Runs onsale-bench with args; keeps its last stdout line in json[];
 * returns its exit status. */
static int run(const char *args)
{
	char cmd[1400], line[sizeof json];
	snprintf(cmd, sizeof cmd,
		 "%s --port %u --config %s/onsaled.conf --connections 2 --depth 8 --seed 7 %s"
		 " 2>&1",
		 bench, S.port, S.dir, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json[0] = 0;
	while (fgets(line, sizeof line, p)) {
		fputs(line, stdout); /* into the test log */
		memcpy(json, line, sizeof json);
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The number after "key": in json[] (key may contain a '{'). */
static uint64_t field(const char *key)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":", key);
	const char *p = strstr(json, pat);
	if (!p)
		fail_msg("no %s in %s", key, json);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void run_ok(const char *args, const char *scenario)
{
	assert_int_equal(run(args), 0);
	char want[64];
	snprintf(want, sizeof want, "{\"system\":\"onsale\",\"scenario\":\"%s\",", scenario);
	assert_non_null(strstr(json, want));
	assert_non_null(strstr(json, "\"verify\":\"ok\""));
	assert_int_equal(field("errors"), 0);
}

static void flash(void **state)
{
	(void)state;
	run_ok("--scenario ga-flash --units 3000 --json --verify", "ga-flash");
	assert_int_equal(field("units_sold"), 3000);
	run_ok("--scenario seat-flash --seats 1200 --json --verify", "seat-flash");
	assert_int_equal(field("units_sold"), 1200);
}

static void seat_pick(void **state)
{
	(void)state;
	run_ok("--scenario seat-pick --seats 2000 --json --verify", "seat-pick");
	assert_int_equal(field("units_sold"), 2000);
	assert_true(field("refused") > 0); /* buyers collided on the best seats */
	assert_true(field("hold\":{\"count") > field("confirm\":{\"count"));
}

static void mixed(void **state)
{
	(void)state;
	run_ok("--scenario mixed --units 3000 --seats 1200 --duration 1.5 --json --verify",
	       "mixed");
	assert_true(field("query\":{\"count") > 0);
	assert_true(field("refund\":{\"count") > 0);
	assert_int_equal(field("units_refunded"), field("refund\":{\"count"));
	assert_true(field("confirm\":{\"count") > 0);
	assert_true(field("seconds") >= 1);
	assert_non_null(strstr(json, "\"timeline\":[[1.")); /* one a second */
}

static void gate_rush(void **state)
{
	(void)state;
	run_ok("--scenario gate-rush --units 3000 --double-scan 10 --json --verify", "gate-rush");
	assert_int_equal(field("redeem\":{\"count"), 3000);
	assert_int_equal(field("redeemed"), 3000);
	uint64_t twice = field("double_scans");
	assert_true(twice > 100 && twice < 600); /* 10 % of 3000, give or take */
	assert_int_equal(field("double_scans_refused"), twice);
	assert_int_equal(field("rescan\":{\"count"), twice);
	assert_non_null(strstr(json, "\"hold_curve_us\":[]"));
	assert_null(strstr(json, "\"hold\":{")); /* no holds measured */
}

/* Several connections per load thread (--threads): a closed loop sells
 * out; an open loop keeps its rate and stops on time (a thread that polled
 * only the sockets of waiting workers never read a due worker's replies
 * and spun past --duration). */
static void threads(void **state)
{
	(void)state;
	run_ok("--scenario ga-flash --units 3000 --connections 5 --threads 2 --json --verify",
	       "ga-flash");
	assert_int_equal(field("units_sold"), 3000);
	run_ok("--scenario mixed --units 3000 --seats 1200 --connections 4 --threads 1"
	       " --rate 2000 --duration 1 --json --verify",
	       "mixed");
	assert_true(field("ops") >= 1000 && field("ops") <= 3000);
	assert_true(field("seconds") < 3);
}

/* --ops N stops at N, plus at most one request per flow in flight (2
 * connections x depth 8: a hold's confirm or release); it ran 344 for
 * --ops 100, the main thread seeing the count only every 10 ms. */
static void ops_bound(void **state)
{
	(void)state;
	run_ok("--scenario ga-flash --units 3000 --ops 100 --connections 2 --depth 8 --json"
	       " --verify",
	       "ga-flash");
	assert_true(field("ops") >= 100 && field("ops") <= 116);
}

/* A sale the bench did not make (as an oversell by a bug would look):
 * mixed runs 1.5 s; once it names its event, one more unit is sold on the
 * side. --verify must see sold != acknowledged and exit 1. */
static void verify_catches(void **state)
{
	(void)state;
	char cmd[1400], line[sizeof json];
	unsigned event = 0;
	snprintf(cmd, sizeof cmd,
		 "%s --port %u --config %s/onsaled.conf --connections 1 --depth 4 --scenario mixed"
		 " --units 50000 --seats 40 --duration 1.5 --verify --json 2>&1",
		 bench, S.port, S.dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json[0] = 0;
	while (fgets(line, sizeof line, p)) {
		fputs(line, stdout);
		memcpy(json, line, sizeof json);
		if (!event && sscanf(line, "onsale-bench: mixed, event %u,", &event) == 1) {
			struct onsale *c = srv_open(&S, ONSALE_ROLE_PLATFORM);
			struct result res;
			assert_non_null(c);
			assert_int_equal(onsale_hold_ga(c, event, 0, 1, 999999, 0, &res), ST_OK);
			assert_int_equal(onsale_confirm(c, event, res.hold.hold_id,
							res.hold.amount_due_minor, "side", &res),
					 ST_OK);
			onsale_close(c);
		}
	}
	int st = pclose(p);
	assert_true(event != 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_null(strstr(json, "\"verify\":\"ok\""));
	assert_non_null(strstr(json, "acknowledged"));
}

/* Runs onsale-bench with args as run() does, under the command wrap
 * ("" for none), but keeps its stdout alone (stderr dropped) in json[];
 * returns its exit status. */
static int run_stdout_in(const char *wrap, const char *args)
{
	char cmd[1400];
	snprintf(cmd, sizeof cmd,
		 "%s %s --port %u --config %s/onsaled.conf --connections 2 --depth 8 --seed 7 %s"
		 " 2>/dev/null",
		 wrap, bench, S.port, S.dir, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(json, 1, sizeof json - 1, p);
	json[n] = 0;
	int st = pclose(p);
	fputs(json, stdout);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run_stdout(const char *args)
{
	return run_stdout_in("", args);
}

/* With --json stdout is the JSON object alone, one line; without it, the
 * table. mixed and gate-rush printed a bare fragment of JSON fields
 * ("threads":2,...) on stdout, and the table, before the object. */
static void json_alone(void **state)
{
	(void)state;
	static const char *const args[] = {
		"--scenario mixed --units 3000 --seats 1200 --duration 1 --json",
		"--scenario gate-rush --units 3000 --json",
	};
	for (size_t i = 0; i < sizeof args / sizeof args[0]; i++) {
		assert_int_equal(run_stdout(args[i]), 0);
		assert_true(!strncmp(json, "{\"system\":\"onsale\",", 19));
		char *nl = strchr(json, '\n');
		assert_non_null(nl);
		assert_int_equal(nl[1], 0); /* one line */
		assert_int_equal(nl[-1], '}');
	}
	assert_int_equal(run_stdout("--scenario mixed --units 3000 --seats 1200 --duration 1"), 0);
	assert_non_null(strstr(json, "units refunded "));
	assert_null(strstr(json, "\"threads\":"));
}

/* SIGINT 2 s into a 20 s run: it stops, prints what it measured (the
 * JSON object, not verified) and exits 130. SIGINT killed it with nothing
 * printed. */
static void interrupted(void **state)
{
	(void)state;
	int rc = run_stdout_in("timeout --preserve-status -s INT 2",
			       "--scenario mixed --units 3000 --seats 1200 --duration 20 --json"
			       " --verify");
	assert_int_equal(rc, 130);
	assert_true(!strncmp(json, "{\"system\":\"onsale\",", 19));
	assert_true(field("seconds") >= 1 && field("seconds") < 5);
	assert_true(field("query\":{\"count") > 0);
	assert_non_null(strstr(json, "\"verify\":\"skipped\""));
}

/* Runs onsale-bench with args as run() does, bounded by timeout(1) at
 * limit_s; stop_ms after it names its event (< 0: before it starts) the
 * server is stopped (SIGSTOP) and it is continued once onsale-bench
 * exits. Its exit status (124: still running at limit_s); *secs how long
 * it ran. */
static int run_server_stopped(const char *args, int stop_ms, unsigned limit_s, double *secs)
{
	char cmd[1400], line[sizeof json];
	struct timespec t0, t1, nap = {stop_ms / 1000, (stop_ms % 1000) * 1000000L};
	snprintf(cmd, sizeof cmd,
		 "timeout %u %s --port %u --config %s/onsaled.conf --connections 2 --depth 8"
		 " --seed 7 %s 2>&1",
		 limit_s, bench, S.port, S.dir, args);
	if (stop_ms < 0)
		kill(S.pid, SIGSTOP);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	json[0] = 0;
	while (fgets(line, sizeof line, p)) {
		fputs(line, stdout);
		memcpy(json, line, sizeof json);
		if (stop_ms >= 0 && strstr(line, "connections x depth")) {
			nanosleep(&nap, NULL);
			kill(S.pid, SIGSTOP);
		}
	}
	int st = pclose(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(S.pid, SIGCONT);
	*secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A server that stops answering mid-run (SIGSTOP): the run ends
 * RUN_DRAIN_MS (3 s) after --duration, says how many replies are missing
 * and exits 1, and --verify fails on them without asking the server. It
 * waited for the replies for as long as the server stayed stopped. */
static void server_stops(void **state)
{
	(void)state;
	double secs;
	int rc = run_server_stopped(
		"--scenario ga-flash --units 200000 --duration 1 --verify --json", 400, 20, &secs);
	assert_int_equal(rc, 1);
	assert_true(secs < 12);
	assert_true(field("replies_missing") > 0);
	assert_non_null(strstr(json, "replies missing (outcomes unknown)"));
}

/* gate-rush's sell-out before the scans (not measured) stops at
 * --duration too: with the server stopped meanwhile the run says it was
 * cut and exits 1 about RUN_DRAIN_MS (3 s) later. It had no time bound:
 * it waited until timeout(1) ended it. */
static void sell_out_server_stops(void **state)
{
	(void)state;
	double secs;
	int rc = run_server_stopped("--scenario gate-rush --units 200000 --duration 2 --json", 300,
				    20, &secs);
	assert_int_equal(rc, 1);
	assert_true(secs < 12);
	assert_non_null(strstr(json, "selling the event out (before the scans): "));
}

/* A server stopped before the run: the set-up's calls give up after 5 s
 * plus 15 s per million units (here 5 s) and it exits 1. It waited 60 s
 * whatever --duration said. */
static void server_stopped_at_start(void **state)
{
	(void)state;
	double secs;
	int rc = run_server_stopped("--scenario ga-flash --units 3000 --duration 1", -1, 20, &secs);
	assert_int_equal(rc, 1);
	assert_true(secs < 12);
	assert_non_null(strstr(json, "timed out"));
}

static void bad_options(void **state)
{
	(void)state;
	assert_int_equal(run("--scenario nope"), 2);
	assert_int_equal(run("--mix 0,0,0"), 2);
	assert_int_equal(run("--double-scan 101"), 2);
	assert_int_equal(run("--connections 0"), 2);
	assert_int_equal(run("--threads 3"), 2); /* more than --connections 2 */
	/* 0 meant the default: a run until sold out (or 30 s), or no --ops */
	assert_int_equal(run("--units 3000 --duration 0"), 2);
	assert_int_equal(run("--units 3000 --ops 0"), 2);
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *slash = strrchr(argv[0], '/');
	int dlen = slash ? (int)(slash - argv[0]) : 1;
	snprintf(bench, sizeof bench, "%.*s/../../bin/onsale-bench", dlen, slash ? argv[0] : ".");
	srv_init(&S, argv[0], 2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(flash),
		cmocka_unit_test(seat_pick),
		cmocka_unit_test(mixed),
		cmocka_unit_test(gate_rush),
		cmocka_unit_test(threads),
		cmocka_unit_test(ops_bound),
		cmocka_unit_test(verify_catches),
		cmocka_unit_test(json_alone),
		cmocka_unit_test(interrupted),
		cmocka_unit_test(server_stops),
		cmocka_unit_test(sell_out_server_stops),
		cmocka_unit_test(server_stopped_at_start),
		cmocka_unit_test(bad_options),
	};
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern */
	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, setup, teardown);
}
