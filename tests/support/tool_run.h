/*
 * tool_run.h — a program of the build run from a test as an operator runs
 * it: through the shell, its output captured, its exit status returned.
 * Linked into every test program (see the Makefile).
 */
#ifndef ONSALE_TEST_TOOL_RUN_H
#define ONSALE_TEST_TOOL_RUN_H

#include <stddef.h>

/* Runs `'prog' ARGS 2>&1`, ARGS formatted from fmt; stdout and stderr into
 * out (cap bytes, NUL-terminated; what does not fit is dropped). Its exit
 * status, -1 when it did not exit. */
int tool_run(const char *prog, char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Fails the running cmocka test, printing out, unless out holds needle. */
void tool_expect(const char *out, const char *needle);

#endif
