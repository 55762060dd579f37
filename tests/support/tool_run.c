/*
 * tool_run.c — running a program of the build from a test (tool_run.h).
 */
#include "tests/support/tool_run.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

int tool_run(const char *prog, char *out, size_t cap, const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;

	assert_true(cap > 0);
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", prog, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, cap - 1, p);
	out[n] = 0;
	while (fgetc(p) != EOF) /* the rest: the program must not block on a full pipe */
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void tool_expect(const char *out, const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("output lacks \"%s\":\n%s", needle, out);
}
