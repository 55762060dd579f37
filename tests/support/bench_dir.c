/*
 * bench_dir.c — an operator's --dir, a bench run in it, and the check
 * that it was left alone (bench_dir.h).
 */
#include "tests/support/bench_dir.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SENTINEL "the operator's own bytes\n"
#define POLL_MS 20u
#define RUNNING_MS 200u /* after its first files: well into the run */

static void write_file(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(SENTINEL, f);
	assert_int_equal(fclose(f), 0);
}

void bench_dir_operator(const struct bench_dir *b, const char *name, char *path, size_t cap)
{
	char p[BENCH_DIR_PATH_BYTES + 32];
	int n = snprintf(path, cap, "%s/%s", b->top, name);
	assert_true(n > 0 && (size_t)n < cap && (size_t)n < BENCH_DIR_PATH_BYTES);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(p, sizeof p, "%s/keep.me", path);
	write_file(p);
	snprintf(p, sizeof p, "%s/sub", path);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(p, sizeof p, "%s/sub/also.me", path);
	write_file(p);
}

unsigned bench_dir_entries(const char *dir, char *list, size_t cap)
{
	DIR *d = opendir(dir);
	unsigned n = 0;
	size_t len = 0;
	assert_true(cap > 0);
	list[0] = 0;
	if (!d)
		return 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		n++;
		len += (size_t)snprintf(list + len, cap - len, "%s%s", len ? " " : "", e->d_name);
		assert_true(len < cap);
	}
	closedir(d);
	return n;
}

int bench_dir_exists(const char *path)
{
	struct stat st;
	return !lstat(path, &st);
}

static void same_bytes(const char *path)
{
	char got[64] = {0};
	FILE *f = fopen(path, "r");
	if (!f)
		fail_msg("%s is gone", path);
	size_t n = fread(got, 1, sizeof got - 1, f);
	fclose(f);
	got[n] = 0;
	if (strcmp(got, SENTINEL))
		fail_msg("%s changed: \"%s\"", path, got);
}

void bench_dir_untouched(const char *dir)
{
	char list[BENCH_DIR_PATH_BYTES], p[BENCH_DIR_PATH_BYTES + 32];
	if (bench_dir_entries(dir, list, sizeof list) != 2 || !strstr(list, "keep.me") ||
	    !strstr(list, "sub"))
		fail_msg("%s holds: %s", dir, list);
	snprintf(p, sizeof p, "%s/keep.me", dir);
	same_bytes(p);
	snprintf(p, sizeof p, "%s/sub/also.me", dir);
	same_bytes(p);
	snprintf(p, sizeof p, "%s/sub", dir);
	if (bench_dir_entries(p, list, sizeof list) != 1)
		fail_msg("%s holds: %s", p, list);
}

int bench_dir_run(struct bench_dir *b, const char *cwd, const char *prog, const char *args)
{
	char cmd[3 * BENCH_DIR_PATH_BYTES];
	int len = snprintf(cmd, sizeof cmd, "cd '%s/%s' && timeout %d '%s/%s' %s 2>&1", b->top,
			   cwd ? cwd : ".", BENCH_DIR_RUN_S, b->bin, prog, args);
	assert_true(len > 0 && (size_t)len < sizeof cmd);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(b->out, 1, sizeof b->out - 1, p);
	b->out[n] = 0;
	while (fgetc(p) != EOF) /* the rest: the child must not block on a full pipe */
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void bench_dir_run_ok(struct bench_dir *b, const char *cwd, const char *prog, const char *args)
{
	int rc = bench_dir_run(b, cwd, prog, args);
	if (rc != 0)
		fail_msg("%s %s: exit %d:\n%s", prog, args, rc, b->out);
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* Whether dir holds a directory prefix* with at least one entry. */
static int started(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	int found = 0;
	if (!d)
		return 0;
	for (struct dirent *e; !found && (e = readdir(d));) {
		char p[2 * BENCH_DIR_PATH_BYTES], list[BENCH_DIR_PATH_BYTES];
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		found = bench_dir_entries(p, list, sizeof list) > 0;
	}
	closedir(d);
	return found;
}

/* Waits for pid at most BENCH_DIR_STOP_MS; its status, or -1 after a
 * SIGKILL when it would not end. */
static int reap(pid_t pid)
{
	int status;
	for (unsigned ms = 0; ms < BENCH_DIR_STOP_MS; ms += POLL_MS) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		sleep_ms(POLL_MS);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

void bench_dir_stop_with(const struct bench_dir *b, int sig, const char *dir, char *const argv[])
{
	char path[BENCH_DIR_PATH_BYTES + 64], prefix[64];
	snprintf(path, sizeof path, "%s/%s", b->bin, argv[0]);
	snprintf(prefix, sizeof prefix, "%s.", argv[0]);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execv(path, argv);
		_exit(127);
	}
	int up = 0;
	for (unsigned ms = 0; !up && ms < BENCH_DIR_START_MS; ms += POLL_MS) {
		up = started(dir, prefix);
		if (!up)
			sleep_ms(POLL_MS);
	}
	if (up)
		sleep_ms(RUNNING_MS);
	kill(pid, up ? sig : SIGKILL);
	int status = reap(pid);
	if (!up)
		fail_msg("%s wrote nothing in %s within %u ms", argv[0], dir, BENCH_DIR_START_MS);
	if (status == -1)
		fail_msg("%s did not end within %u ms of signal %d", argv[0], BENCH_DIR_STOP_MS,
			 sig);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != sig)
		fail_msg("%s: wait status %#x, want the end by signal %d", argv[0], status, sig);
}

int bench_dir_setup(struct bench_dir *b, const char *argv0)
{
	const char *cut = strstr(argv0, "tests/integration/");
	int n = cut ? (int)(cut - argv0) : 0;
	char here[BENCH_DIR_PATH_BYTES / 2], rel[BENCH_DIR_PATH_BYTES / 2];

	snprintf(rel, sizeof rel, "%.*sbin", n, argv0);
	if (!cut)
		snprintf(rel, sizeof rel, "%.1000s/bin",
			 getenv("BUILD") ? getenv("BUILD") : "build");
	if (rel[0] == '/' || !getcwd(here, sizeof here))
		snprintf(b->bin, sizeof b->bin, "%s", rel);
	else /* the children run elsewhere */
		snprintf(b->bin, sizeof b->bin, "%s/%s", here, rel);
	snprintf(b->top, sizeof b->top, "/tmp/test-bench-dir.XXXXXX");
	return mkdtemp(b->top) ? 0 : -1;
}

int bench_dir_teardown(struct bench_dir *b)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", b->top, (char *)NULL);
		_exit(127);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}
