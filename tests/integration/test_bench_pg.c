/*
 * test_bench_pg.c — the PostgreSQL peer end to end (bench/pg/bench-pg.c,
 * bench/scripts/peer-pg.sh): a temporary cluster on a free 127.0.0.1 port,
 * ga-flash and seat-flash sold out with --verify (counts, seats, every acknowledged
 * order), then --verify-only must catch a unit and a seat put back behind
 * the bench's back; holds past their TTL are refused at confirm and swept;
 * with --json stdout is the JSON object alone; a server stopped (SIGSTOP)
 * mid-run ends the run LOAD_DRAIN_MS (3 s) after --duration, exit 1, saying
 * so; bad options (--ops 0 and --duration 0 too) exit 2. Skipped, with the
 * reason printed, when no PostgreSQL server is installed (`make test` and
 * `make compare` install it). About 15 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static char bench[512], dir[256], skip_reason[128];
static unsigned port;

static unsigned lines_out; /* lines of the last run_cmd's stdout */

/* Runs cmd, keeps the last line of its stdout in last (and counts its
 * lines in lines_out); exit status. */
static int run_cmd(const char *cmd, char *last, size_t lastsz)
{
	FILE *p = popen(cmd, "r");
	char line[8192];
	if (!p)
		return -1;
	if (last)
		last[0] = 0;
	lines_out = 0;
	while (fgets(line, sizeof line, p)) {
		lines_out += strchr(line, '\n') != NULL;
		if (last)
			snprintf(last, lastsz, "%s", line);
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int group_setup(void **state)
{
	(void)state;
	if (run_cmd("ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1", NULL, 0)) {
		snprintf(skip_reason, sizeof skip_reason,
			 "no PostgreSQL server installed (tools/install-deps.sh postgresql)");
		return 0;
	}
	char tmpl[] = "/tmp/onsale-test-pg.XXXXXX", cmd[1024], out[64];
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(dir, sizeof dir, "%s", tmpl);
	snprintf(cmd, sizeof cmd,
		 "bash -c '. bench/scripts/peer-onsale.sh && . bench/scripts/peer-pg.sh && "
		 "p=$(peer_free_port) &&"
		 " pg_start %s/pg $p >&2 && echo $p'",
		 dir);
	if (run_cmd(cmd, out, sizeof out) || sscanf(out, "%u", &port) != 1)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[1024];
	(void)state;
	if (!dir[0])
		return 0;
	snprintf(cmd, sizeof cmd,
		 "bash -c '. bench/scripts/peer-pg.sh && pg_stop %s/pg' >&2; rm -rf %s", dir, dir);
	return run_cmd(cmd, NULL, 0) ? -1 : 0;
}

static void check_sold_out(const char *scenario, const char *size_opt)
{
	char cmd[1024], json[8192];
	if (skip_reason[0]) {
		printf("skipped: %s\n", skip_reason);
		skip();
	}
	snprintf(cmd, sizeof cmd,
		 "%s --port %u --scenario %s %s 1000 --connections 8 --duration 20 --json --verify",
		 bench, port, scenario, size_opt);
	assert_int_equal(run_cmd(cmd, json, sizeof json), 0);
	assert_int_equal(lines_out, 1); /* --json: the object alone (it held the table too) */
	assert_true(!strncmp(json, "{\"system\":\"postgresql\",", 23));
	assert_non_null(strstr(json, "\"verify\":\"ok\""));
	assert_non_null(strstr(json, "\"units\":1000,"));
	assert_non_null(strstr(json, "\"units_sold\":1000,")); /* sold out within the time */
	assert_non_null(strstr(json, "\"errors\":0,"));
}

/* After a run, SQL changes the state; --verify-only (which tells the
 * scenario from the schema) must say what broke. */
static void check_tamper(const char *sql, const char *want)
{
	char cmd[1024], out[512];
	snprintf(cmd, sizeof cmd, "%s --port %u --verify-only 2>/dev/null", bench, port);
	assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
	assert_string_equal(out, "verify: ok\n");
	snprintf(cmd, sizeof cmd,
		 "psql -qX -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %u -U bench -d bench -c \"%s\"", port,
		 sql);
	assert_int_equal(run_cmd(cmd, NULL, 0), 0);
	snprintf(cmd, sizeof cmd, "%s --port %u --verify-only 2>/dev/null", bench, port);
	assert_int_equal(run_cmd(cmd, out, sizeof out), 1);
	if (!strstr(out, want))
		fail_msg("verify said \"%s\", expected \"%s\"", out, want);
}

static void ga_flash_verified(void **state)
{
	(void)state;
	check_sold_out("ga-flash", "--units");
	check_tamper("UPDATE onsale_peer.stock SET available = available + 1 WHERE bucket = 0",
		     "free 1 + held 0 + sold 1000 != capacity 1000");
}

static void seat_flash_verified(void **state)
{
	(void)state;
	check_sold_out("seat-flash", "--seats");
	check_tamper("UPDATE onsale_peer.seat SET status = 0 WHERE id = (SELECT min(seat_id) FROM "
		     "onsale_peer.ticket)",
		     "free 1 + held 0 + sold 1000 != capacity 1000");
}

/* Holds that outlive their TTL cannot be confirmed and the sweep gives
 * their units back (pg_schema.c: confirm_hold, expire_holds). */
static void expired_holds_swept(void **state)
{
	char cmd[2048], out[8192];
	(void)state;
	if (skip_reason[0]) {
		printf("skipped: %s\n", skip_reason);
		skip();
	}
	snprintf(cmd, sizeof cmd,
		 "%s --port %u --units 1000 --ops 10 --connections 1 >/dev/null 2>&1", bench, port);
	assert_int_equal(run_cmd(cmd, NULL, 0), 0);
	/* free units; three 4-unit holds with a 1 ms TTL; confirms after they
	 * expired; the sweep; free units again, holds left */
	snprintf(cmd, sizeof cmd,
		 "psql -qXtA -v ON_ERROR_STOP=1 -h 127.0.0.1 -p %u -U bench -d bench -c \""
		 "SET search_path = onsale_peer;"
		 "SELECT sum(available) FROM stock;"
		 "CREATE TEMP TABLE h AS SELECT ga_hold(0, 4, 7, 0, 1, 0) AS id FROM "
		 "generate_series(1, 3);"
		 "SELECT sum(available) FROM stock;"
		 "SELECT pg_sleep(0.01);"
		 "SELECT sum(confirm_hold(id)) FROM h;"
		 "SELECT expire_holds(100);"
		 "SELECT sum(available) || ' ' || (SELECT count(*) FROM hold) FROM stock;\" | tr "
		 "'\\n' ' '",
		 port);
	assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
	long free0, free1, confirmed, expired, free2, left;
	assert_int_equal(sscanf(out, "%ld %ld %ld %ld %ld %ld", &free0, &free1, &confirmed,
				&expired, &free2, &left),
			 6);
	assert_true(free0 >= 12);
	assert_int_equal(free1, free0 - 12);
	assert_int_equal(confirmed, -3); /* each -1: expired */
	assert_int_equal(expired, 3);
	assert_int_equal(free2, free0);
	assert_int_equal(left, 0);
	snprintf(cmd, sizeof cmd, "%s --port %u --verify-only 2>/dev/null", bench, port);
	assert_int_equal(run_cmd(cmd, out, sizeof out), 0);
}

/* Every process of the cluster stops answering (SIGSTOP) once the run's
 * first progress line is out: the run ends 3 s (LOAD_DRAIN_MS) after its
 * 2 s --duration, says how many connections wait for a reply, and exits 1.
 * It waited for as long as the server stayed stopped (timeout(1) ended it
 * at 20 s): the workers and the main thread's expiry sweep blocked in
 * libpq. Last: the cluster is continued. */
static void stalled_server(void **state)
{
	char cmd[1024], line[512], last[512] = "", signal_all[512];
	(void)state;
	if (skip_reason[0]) {
		printf("skipped: %s\n", skip_reason);
		skip();
	}
	snprintf(signal_all, sizeof signal_all,
		 "pm=$(head -n 1 %s/pg/data/postmaster.pid) && kill -%%s $pm $(pgrep -P $pm)", dir);
	snprintf(cmd, sizeof cmd,
		 "timeout 20 %s --port %u --units 1000000 --duration 2 2>&1 >/dev/null", bench,
		 port); /* its stderr */
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct timespec t0 = {0}, t1;
	int stopped = 0;
	while (fgets(line, sizeof line, p)) {
		snprintf(last, sizeof last, "%s", line);
		if (!stopped && line[0] == '[') { /* the first progress line */
			snprintf(cmd, sizeof cmd, signal_all, "STOP");
			stopped = system(cmd) == 0 ? 1 : -1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
	}
	int st = pclose(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	snprintf(cmd, sizeof cmd, signal_all, "CONT");
	assert_int_equal(system(cmd), 0);
	assert_int_equal(stopped, 1);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc != 1 || secs > 10 || !strstr(last, "still waiting for a reply 3.0 s after"))
		fail_msg("exit %d %.1f s after the stop, want 1 within 10 s; last line: %s", rc,
			 secs, last);
}

static void bad_arguments(void **state)
{
	char cmd[1024];
	(void)state;
	const char *bad[] = {"--depth 0",       "--confirm 101",
			     "--abandon 200",   "--hold-ttl 0",
			     "--connections 0", "--connections 9999",
			     "--units x",       "--scenario seat-pick",
			     "--duration -1",   "--duration 0",
			     "--ops 0",         "extra"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", bench, bad[k]);
		assert_int_equal(run_cmd(cmd, NULL, 0), 2);
	}
	snprintf(cmd, sizeof cmd, "%s --help", bench);
	assert_int_equal(run_cmd(cmd, NULL, 0), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_arguments),       cmocka_unit_test(ga_flash_verified),
		cmocka_unit_test(seat_flash_verified), cmocka_unit_test(expired_holds_swept),
		cmocka_unit_test(stalled_server),
	};
	const char *cut = strstr(argv[0], "tests/integration/");
	int n = cut ? (int)(cut - argv[0]) : 0;
	(void)argc;
	snprintf(bench, sizeof bench, "%.*sbin/bench-pg", n, argv[0]);
	if (!cut || access(bench, X_OK))
		snprintf(bench, sizeof bench, "%s/bin/bench-pg",
			 getenv("BUILD") ? getenv("BUILD") : "build");
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
