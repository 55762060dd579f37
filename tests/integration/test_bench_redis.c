/*
 * test_bench_redis.c — the Redis peer end to end (bench/redis/bench-redis.c,
 * its Lua scripts bench/redis/redis_lua.c, bench/scripts/peer-redis.sh): a
 * throw-away redis-server (appendfsync always) on a free 127.0.0.1 port; ga-flash and
 * seat-flash sold out with --verify; holds left to expire come back through
 * the reclaiming in the hold scripts and are sold again; --verify-only
 * catches a seat or a unit changed behind the bench's back; with --json
 * stdout is the JSON object alone; a server stopped (SIGSTOP) mid-run ends
 * the run LOAD_DRAIN_MS (3 s) after --duration, exit 1, saying so; bad
 * options exit 2. Skipped, with the reason printed, when redis-server is
 * not installed (`make test` and `make compare` install it). About 10 s.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

static char prog[512], tmpdir[128], no_server[128];
static unsigned redis_port;

/* Runs a shell command line (printf format), stdout into tmpdir/out;
 * returns its exit status. */
static int sh(const char *fmt, ...)
{
	char line[2048], full[2300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	snprintf(full, sizeof full, "%s > %s/out", line, tmpdir);
	int st = system(full);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The last line the previous sh() printed. */
static const char *last_line(void)
{
	static char last[16384];
	char path[256], line[16384];
	snprintf(path, sizeof path, "%s/out", tmpdir);
	FILE *f = fopen(path, "r");
	last[0] = 0;
	while (f && fgets(line, sizeof line, f))
		memcpy(last, line, sizeof last);
	if (f)
		fclose(f);
	return last;
}

/* Lines the previous sh() printed. */
static unsigned out_lines(void)
{
	char path[256];
	unsigned n = 0;
	int c;
	snprintf(path, sizeof path, "%s/out", tmpdir);
	FILE *f = fopen(path, "r");
	while (f && (c = fgetc(f)) != EOF)
		n += c == '\n';
	if (f)
		fclose(f);
	return n;
}

/* A number field of a JSON line, -1 when absent. */
static long long field(const char *json, const char *name)
{
	char key[64];
	snprintf(key, sizeof key, "\"%s\":", name);
	const char *p = strstr(json, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static int setup_redis(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/onsale-test-redis.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	if (sh("command -v redis-server")) {
		snprintf(no_server, sizeof no_server,
			 "redis-server not installed (tools/install-deps.sh redis-server)");
		return 0;
	}
	redis_port = 40000 + (unsigned)(getpid() % 20000);
	return sh("bash -c '. bench/scripts/peer-redis.sh && redis_start %s/redis %u' >&2", tmpdir,
		  redis_port)
		       ? -1
		       : 0;
}

static int teardown_redis(void **state)
{
	(void)state;
	if (!no_server[0])
		sh("bash -c '. bench/scripts/peer-redis.sh && redis_stop %s/redis' >&2", tmpdir);
	char cmd[256];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	return system(cmd) ? -1 : 0;
}

static void need_server(void)
{
	if (no_server[0]) {
		printf("skipped: %s\n", no_server);
		skip();
	}
}

/* A run that must sell out and verify; returns its event id. With --json
 * stdout is the JSON object alone (it held the table too). */
static long long sold_out(const char *args, long long units)
{
	assert_int_equal(sh("%s --port %u %s --duration 20 --json --verify", prog, redis_port,
			    args),
			 0);
	assert_int_equal(out_lines(), 1);
	const char *json = last_line();
	assert_true(!strncmp(json, "{\"system\":\"redis\",", 18));
	assert_non_null(strstr(json, "\"system\":\"redis\""));
	assert_non_null(strstr(json, "\"verify\":\"ok\""));
	assert_non_null(strstr(json, "\"appendfsync\":\"always\""));
	assert_int_equal(field(json, "units"), units);
	assert_int_equal(field(json, "units_sold"), units);
	assert_int_equal(field(json, "errors"), 0);
	return field(json, "event_id");
}

/* --verify-only says ok, then not after cmd (redis-cli) changed a key. */
static void caught(long long event, const char *cli, const char *want)
{
	assert_int_equal(sh("%s --port %u --verify-only %lld 2>/dev/null", prog, redis_port, event),
			 0);
	assert_string_equal(last_line(), "verify: ok\n");
	assert_int_equal(sh("redis-cli -p %u %s", redis_port, cli), 0);
	assert_int_equal(sh("%s --port %u --verify-only %lld 2>/dev/null", prog, redis_port, event),
			 1);
	if (!strstr(last_line(), want))
		fail_msg("verify said \"%s\", expected \"%s\"", last_line(), want);
}

/* Sold out and verified; then key (of the event, printf format with the
 * event id) changed by cli must be caught as want. */
static void tampered(const char *args, long long units, const char *cli, const char *want)
{
	char cmd[128];
	need_server();
	long long ev = sold_out(args, units);
	snprintf(cmd, sizeof cmd, cli, ev);
	caught(ev, cmd, want);
}

static void ga_flash(void **state)
{
	(void)state;
	tampered("--units 3000", 3000, "incr '{e%lld}:stock:0'",
		 "tier 0: free 1 + held 0 + sold 3000 != capacity 3000");
}

static void seat_flash(void **state)
{
	(void)state;
	/* the middle seat of the front row is sold first: make it free */
	tampered("--scenario seat-flash --seats 2000", 2000, "setrange '{e%lld}:row:0' 20 .",
		 "row 0: its seats are not what the orders and holds say");
}

/* Holds neither confirmed nor released expire after 500 ms (long enough
 * that a confirm is never late on a loaded machine); the hold
 * scripts give their units back, and they are sold to later buyers. */
static void expired_holds_sold_again(void **state)
{
	(void)state;
	need_server();
	sold_out("--units 600 --abandon 20 --hold-ttl 500", 600);
	assert_true(field(last_line(), "holds_abandoned") > 0);
	sold_out("--scenario seat-flash --seats 400 --abandon 20 --hold-ttl 500", 400);
	assert_true(field(last_line(), "holds_abandoned") > 0);
}

/* The server stops answering (SIGSTOP) once the run's first progress line
 * is out (1 s into a 2 s run): the run ends 3 s (LOAD_DRAIN_MS) after its
 * --duration, says how many connections wait for a reply, and exits 1. It
 * waited for as long as the server stayed stopped (timeout(1) ended it at
 * 20 s). Stopped on that line, not at a fixed time: a stop during the
 * set-up (slow on a loaded machine) would block the set-up, which no drain
 * bounds. Last: the server is continued. */
static void stalled_server(void **state)
{
	(void)state;
	need_server();
	char path[256], pid_text[32] = "", cmd[1024], line[512], last[512] = "";
	snprintf(path, sizeof path, "%s/redis/redis.pid", tmpdir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(pid_text, sizeof pid_text, f));
	fclose(f);
	pid_t server = (pid_t)atol(pid_text);
	assert_true(server > 0);
	snprintf(cmd, sizeof cmd,
		 "timeout 20 %s --port %u --units 4000000 --duration 2 2>&1 >/dev/null", prog,
		 redis_port); /* its stderr */
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	struct timespec t0 = {0}, t1;
	int stopped = 0;
	while (fgets(line, sizeof line, p)) {
		snprintf(last, sizeof last, "%s", line);
		if (!stopped && line[0] == '[') { /* the first progress line */
			stopped = kill(server, SIGSTOP) == 0 ? 1 : -1;
			clock_gettime(CLOCK_MONOTONIC, &t0);
		}
	}
	int st = pclose(p);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	kill(server, SIGCONT);
	assert_int_equal(stopped, 1);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (rc != 1 || secs > 10 || !strstr(last, "still waiting for a reply 3.0 s after"))
		fail_msg("exit %d %.1f s after the stop, want 1 within 10 s; last line: %s", rc,
			 secs, last);
}

static void bad_options(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"--depth 0",     "--connections 300", "--units x",       "--scenario seat-pick",
		"--abandon 101", "--duration 0",      "--verify-only 0", "--ops 0",
		"stray"};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
		if (sh("%s %s 2>/dev/null", prog, bad[k]) != 2)
			fail_msg("bench-redis %s did not exit 2", bad[k]);
	assert_int_equal(sh("%s --help", prog), 0);
	assert_non_null(strstr(last_line(), "acknowledged confirms")); /* --verify-only */
}

int main(int argc, char **argv)
{
	(void)argc;
	/* build/tests/integration/test_bench_redis -> build/bin/bench-redis */
	const char *at = strstr(argv[0], "tests/integration/");
	snprintf(prog, sizeof prog, "%.*sbin/bench-redis", at ? (int)(at - argv[0]) : 0, argv[0]);
	if (!at || access(prog, X_OK))
		snprintf(prog, sizeof prog, "build/bin/bench-redis");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bad_options),    cmocka_unit_test(ga_flash),
		cmocka_unit_test(seat_flash),     cmocka_unit_test(expired_holds_sold_again),
		cmocka_unit_test(stalled_server),
	};
	return cmocka_run_group_tests(tests, setup_redis, teardown_redis);
}
