/*
 * test_bench_offend.c — onsale-offend against a real onsaled (2 shards),
 * briefly, on the kinds whose outcome the protocol fixes: malformed frames
 * get bad_frame, a wrong key gets unauthenticated and the close, and the inventory bot never gets a customer
 * past the event's limit however its connections spread over the shards,
 * while its holds expire and give their units back. The run must exit 0
 * with every acknowledged confirm found. A server killed or stopped
 * (SIGSTOP) mid-run fails the phase, whose latencies are null, and stops
 * the run, exit 1. Without --server-pid the RSS is null; bad options (an
 * empty --kinds, a --server-pid no process has) exit 2.
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
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"

static struct srv S;
static char offend[600];
static char out[1 << 16];

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

/* Runs onsale-offend with args, --server-pid pid unless pid is 0; its
 * stdout (JSON lines) in out[]; returns its exit status. */
static int run_pid(int pid, const char *args)
{
	char cmd[1400], line[4096], pid_arg[32] = "";
	size_t len = 0;
	if (pid)
		snprintf(pid_arg, sizeof pid_arg, "--server-pid %d", pid);
	snprintf(cmd, sizeof cmd,
		 "%s --port %u --config %s/onsaled.conf %s --seed 11 --sources 4 %s", offend,
		 S.port, S.dir, pid_arg, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = 0;
	while (fgets(line, sizeof line, p)) {
		fputs(line, stdout); /* into the test log */
		len += (size_t)snprintf(out + len, sizeof out - len, "%s", line);
		assert_true(len < sizeof out);
	}
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *args)
{
	return run_pid((int)S.pid, args);
}

/* The JSON line of kind, copied into line. */
static void kind_line(const char *kind, char *line, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "{\"kind\":\"%s\"", kind);
	const char *p = strstr(out, pat);
	if (!p)
		fail_msg("no line of %s", kind);
	const char *end = strchr(p, '\n');
	size_t n = end ? (size_t)(end - p) : strlen(p);
	assert_true(n < cap);
	memcpy(line, p, n);
	line[n] = 0;
}

/* The number after "key": in line (after from, when given). */
static uint64_t field(const char *line, const char *from, const char *key)
{
	char pat[64];
	const char *p = from ? strstr(line, from) : line;
	assert_non_null(p);
	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(p, pat);
	if (!p)
		fail_msg("no %s in %s", key, line);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void offenders(void **state)
{
	(void)state;
	char line[4096];
	assert_int_equal(run("--duration 1 --rate 50 --json --offender-nice 19 "
			     "--kinds malformed,wrong-key,bot"),
			 0);
	kind_line("alone", line, sizeof line);
	assert_true(field(line, NULL, "confirms") > 0);
	assert_int_equal(field(line, NULL, "errors"), 0);
	assert_true(field(line, "rss_kib", "before") > 0);

	kind_line("malformed", line, sizeof line);
	assert_int_equal(field(line, NULL, "offender_nice"), 19);
	assert_true(field(line, "\"statuses\"", "72") > 0);
	assert_true(field(line, "\"offender\"", "closed") > 0);
	kind_line("wrong-key", line, sizeof line);
	assert_true(field(line, "\"statuses\"", "70") > 0);
	assert_int_equal(field(line, "\"offender\"", "closed"),
			 field(line, "\"offender\"", "connects"));

	kind_line("bot", line, sizeof line);
	assert_true(field(line, "\"statuses\"", "43") > 0); /* customer_limit */
	uint64_t units = field(line, NULL, "customer_units_max");
	assert_true(units >= 1 && units <= field(line, NULL, "customer_limit"));
	assert_int_equal(field(line, NULL, "held_after_ttl"), 0);

	kind_line("verify", line, sizeof line);
	assert_non_null(strstr(line, "\"result\":\"ok\""));
	assert_true(field(line, NULL, "confirms") > 0);
}

/* Runs onsale-offend with args as run() does, its stderr too into out[],
 * bounded by timeout(1) at 30 s; once a line holds when, the server gets
 * sig (SIGKILL: killed and reaped; SIGSTOP: continued once onsale-offend
 * exits). Its exit status (124: still running at 30 s). */
static int run_signalling(const char *args, const char *when, int sig)
{
	static unsigned seed = 100; /* a new event each time */
	char cmd[1400], line[4096];
	size_t len = 0;
	int sent = 0;
	snprintf(cmd, sizeof cmd,
		 "timeout 30 %s --port %u --config %s/onsaled.conf --seed %u --sources 4 %s 2>&1",
		 offend, S.port, S.dir, seed++, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	out[0] = 0;
	while (fgets(line, sizeof line, p)) {
		fputs(line, stdout);
		if (len < sizeof out)
			len += (size_t)snprintf(out + len, sizeof out - len, "%s", line);
		if (!sent && strstr(line, when)) {
			sent = 1;
			if (sig == SIGKILL)
				srv_kill(&S);
			else
				kill(S.pid, sig);
		}
	}
	int st = pclose(p);
	if (sent && sig == SIGSTOP)
		kill(S.pid, SIGCONT);
	assert_true(sent);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The server killed (SIGKILL) as a phase starts: the client's next
 * connection is refused, that phase fails, the run stops there and exits
 * 1. It crashed (exit 139): the phase after that one asked a connection
 * the failed reconnect had left NULL. */
static void server_dies(void **state)
{
	(void)state;
	int rc =
		run_signalling("--duration 1 --warmup 0 --rate 50 --json --kinds wrong-key,garbage",
			       "== wrong-key", SIGKILL);
	assert_int_equal(srv_spawn(&S), 0); /* for the tests after this one */
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "garbage failed: the client cannot connect"));
	assert_non_null(strstr(out, "the run stops at garbage"));
	assert_null(strstr(out, "== alone-after"));
	assert_non_null(strstr(out, "\"result\":\"not checked: the run stopped at garbage\""));
}

/* The server stopped (SIGSTOP) as "alone" starts: no reply comes, so the
 * phase fails with its requests unanswered 3 s after its end, its
 * latencies are null, not 0, and the run stops there, exit 1. It
 * reported holds 0, errors 0, p99 0 for every later phase, as if the
 * server had been fast. */
static void server_stalls(void **state)
{
	(void)state;
	char line[4096];
	int rc = run_signalling("--duration 1 --warmup 0 --rate 50 --json --kinds wrong-key",
				"== alone (", SIGSTOP);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "alone failed: "));
	assert_non_null(strstr(out, " requests unanswered 3.0 s after the phase"));
	assert_non_null(strstr(out, "the run stops at alone"));
	kind_line("alone", line, sizeof line);
	assert_non_null(strstr(line, "\"error\":\""));
	assert_non_null(strstr(line, "\"p99_us\":null"));
	assert_non_null(strstr(line, "\"p99_ratio\":null"));
	assert_null(strstr(out, "== wrong-key"));
}

/* Without --server-pid the RSS is not reported: null in JSON. It was
 * reported as 0 KiB. */
static void rss_not_reported(void **state)
{
	(void)state;
	char line[4096];
	assert_int_equal(run_pid(0, "--duration 1 --warmup 0 --rate 50 --json --seed 12"
				    " --kinds wrong-key"),
			 0);
	kind_line("alone", line, sizeof line);
	assert_non_null(strstr(line, "\"rss_kib\":null"));
	kind_line("wrong-key", line, sizeof line);
	assert_non_null(strstr(line, "\"rss_kib\":null"));
}

/* A pid that is no process's: one that exited and was reaped. */
static int dead_pid(void)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return (int)pid;
}

static void bad_options(void **state)
{
	(void)state;
	char args[128];
	assert_int_equal(run("--help"), 0);
	assert_non_null(strstr(out, "--kinds"));
	assert_int_equal(run("--duration 0"), 2);
	assert_int_equal(run("--kinds slowloris,nope"), 2);
	assert_int_equal(run("--idle 0"), 2);
	assert_int_equal(run("--offender-nice 20"), 2);
	/* each refused at once; they ran (brief here, else at the defaults) */
	assert_int_equal(run("--duration 1 --warmup 0 --seed 13 --kinds ''"), 2);
	snprintf(args, sizeof args,
		 "--duration 1 --warmup 0 --seed 14 --kinds wrong-key"
		 " --server-pid %d",
		 dead_pid());
	assert_int_equal(run(args), 2);
}

int main(int argc, char **argv)
{
	(void)argc;
	const char *slash = strrchr(argv[0], '/');
	int dlen = slash ? (int)(slash - argv[0]) : 1;
	snprintf(offend, sizeof offend, "%.*s/../../bin/onsale-offend", dlen,
		 slash ? argv[0] : ".");
	srv_init(&S, argv[0], 2);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(offenders),     cmocka_unit_test(server_dies),
		cmocka_unit_test(server_stalls), cmocka_unit_test(rss_not_reported),
		cmocka_unit_test(bad_options),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
