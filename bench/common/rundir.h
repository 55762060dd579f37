/*
 * rundir.h — the directory an in-process bench (bench-wal, bench-snapshot)
 * writes in: a fresh one made with mkdtemp inside the directory the
 * operator names (--dir DIR: DIR/PROG.XXXXXX), so that nothing already in
 * DIR is read, overwritten or removed. Afterwards rundir_remove() takes
 * away what the run made: the files in the fresh directory and in its
 * subdirectories (one level: bench-wal's recovery/), the directory, and
 * DIR (and ./var for a default ./var/...) when the run made it and it is
 * left empty. No shell runs, so no name in DIR is ever interpreted.
 *
 * The same removal runs when the process is stopped by SIGINT or SIGTERM
 * (the handler removes, then the signal takes its default course, so the
 * exit status still says which signal it was); it uses only system calls.
 * A SIGKILL leaves the fresh directory behind, named after the program.
 */
#ifndef ONSALE_BENCH_RUNDIR_H
#define ONSALE_BENCH_RUNDIR_H

#include <stddef.h>

/* The longest path of a run directory, its terminating NUL included. */
#define RUNDIR_PATH_BYTES 4096u
/* Directories rundir_make may create on the way: DIR and, for a default
 * such as ./var/bench-wal, its parent. */
#define RUNDIR_MADE_MAX 2u
/* Directory entries removed per directory at most (a bound on the loop;
 * a run writes a few dozen files). */
#define RUNDIR_ENTRIES_MAX 1000000u

struct rundir {
	char path[RUNDIR_PATH_BYTES];                  /* DIR/PROG.XXXXXX, once made */
	char made[RUNDIR_MADE_MAX][RUNDIR_PATH_BYTES]; /* made on the way, outermost first */
	unsigned n_made;
};

/* Makes dir/prog.XXXXXX in d->path. dir itself is made when missing, and
 * so are up to levels - 1 missing directories above it (levels 1: dir's
 * parent must exist; 2: for a default whose parent may be missing).
 * Installs the SIGINT and SIGTERM handler that removes d (one rundir per
 * process; d must stay valid until rundir_remove or rundir_keep). 0, or
 * -errno with nothing left made. */
int rundir_make(struct rundir *d, const char *dir, const char *prog, unsigned levels);

/* Removes the run directory as described above; the signal handler no
 * longer does. Async-signal-safe; calling it again does nothing more. */
void rundir_remove(struct rundir *d);

/* Leaves the run directory (and what was made on the way) where it is:
 * the signal handler no longer removes it. */
void rundir_keep(struct rundir *d);

#endif
