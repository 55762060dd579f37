/*
 * bench_dir.h — tests of the benches that write on disk (bench-wal,
 * bench-snapshot): a --dir that an operator already uses (a file and a
 * subdirectory with a file of its own), the bench run in it as a child
 * process, and the check that the run left it exactly as it was. Linked
 * into every test program; the checks fail the running cmocka test.
 */
#ifndef ONSALE_TEST_BENCH_DIR_H
#define ONSALE_TEST_BENCH_DIR_H

#include <stddef.h>

/* Paths the helpers build; the test's directory is shorter. */
#define BENCH_DIR_PATH_BYTES 4096u
/* How long a child may run to its end, start writing, and take to die of
 * a signal. */
#define BENCH_DIR_RUN_S 30
#define BENCH_DIR_START_MS 10000u
#define BENCH_DIR_STOP_MS 10000u

struct bench_dir {
	char bin[BENCH_DIR_PATH_BYTES]; /* the build's bin/, absolute */
	char top[64];                   /* this test's own directory, mkdtemp'd */
	char out[1u << 15];             /* the last run's stdout and stderr */
};

/* Finds bin/ from the test program's argv[0] (BUILD, else build/, when it
 * is not under tests/integration/) and makes top. 0 or -1. */
int bench_dir_setup(struct bench_dir *b, const char *argv0);
/* Removes top and all in it (rm -rf, no shell). 0 or -1. */
int bench_dir_teardown(struct bench_dir *b);

/* top/name made, holding the operator's files; its path in path. */
void bench_dir_operator(const struct bench_dir *b, const char *name, char *path, size_t cap);
/* Fails unless dir holds what bench_dir_operator put there, byte for byte,
 * and nothing else. */
void bench_dir_untouched(const char *dir);
/* The entries of dir but . and .., names joined by ' ' into list. */
unsigned bench_dir_entries(const char *dir, char *list, size_t cap);
int bench_dir_exists(const char *path);

/* Runs `cd top/cwd && bin/prog args` under timeout(1), output in b->out;
 * its exit status, -1 if it did not exit. cwd NULL: top. */
int bench_dir_run(struct bench_dir *b, const char *cwd, const char *prog, const char *args);
/* The same, failing unless it exits 0. */
void bench_dir_run_ok(struct bench_dir *b, const char *cwd, const char *prog, const char *args);

/* Starts bin/argv[0] with argv (output to /dev/null, SIGINT and SIGTERM
 * at their defaults), waits until it has written in a directory of its
 * own inside dir (argv[0].*), sends sig, and fails unless sig ended it. */
void bench_dir_stop_with(const struct bench_dir *b, int sig, const char *dir, char *const argv[]);

#endif
