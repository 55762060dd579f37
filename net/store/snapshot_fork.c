/*
 * snapshot_fork.c — the forked snapshot writer: how a shard snapshots
 * while it keeps serving (docs/WAL.md, "Snapshots while serving").
 *
 * fork() gives the child the shard's memory as it was at that instant
 * (copy on write), so the child serializes exactly the state at the job's
 * LSN while the parent goes on executing. The parent pays for the page
 * table copy (of its own core's large tables only, the other shards' are
 * kept from forks: core/mem.h; one entry per 2 MiB where they are still huge
 * pages, one per 4 KiB where copy-on-write split them) and, until the
 * child has serialized, for a 4 KiB copy of each page it first writes
 * (docs/PERFORMANCE.md, "Snapshot stall").
 *
 * The child is one thread of a multi-threaded process: it touches only the
 * core (reading, then madvise of its own mapping of it), its own mappings,
 * the shared page and plain syscalls (openat, pwrite, fsync, renameat,
 * unlinkat, getdents64) —
 * no io_uring ring, no allocator lock another thread may have held, no
 * stdio. It first closes every inherited descriptor but its two
 * directories (sockets, rings), so the shard's closes take effect at
 * once. It runs at a lower priority on any core, so the forking shard's
 * pinned core stays the shard's.
 *
 * The child runs snapshot_stream.h's four steps (write, wait for the WAL,
 * publish, retain) and exits with the first error; the parent polls for
 * its exit.
 */
#include "net/store/snapshot.h"
#include "net/store/snapshot_stream.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Closes every descriptor the child inherited but the two directories:
 * a client socket the shard closes, or the listener at shutdown, must not
 * stay open in the child for as long as it writes. */
static void close_inherited(const struct snapshot_fork_dirs *d)
{
	unsigned lo = (unsigned)d->dir_fd, hi = (unsigned)d->archive_fd;
	if (d->archive_fd < 0 || hi == lo)
		hi = lo;
	else if (hi < lo)
		lo = (unsigned)d->archive_fd, hi = (unsigned)d->dir_fd;
	if (lo > 3)
		close_range(3, lo - 1, 0);
	if (hi > lo + 1)
		close_range(lo + 1, hi - 1, 0);
	close_range(hi + 1, ~0u, 0);
}

static int child_main(const struct snapshot_writer *ch, const struct core *c,
		      const uint8_t chain[16])
{
	close_inherited(ch->d);
	snapshot_writer_lower_priority();
	int rc = snapshot_stream_write(ch, c, chain);
	if (!rc)
		rc = snapshot_stream_wait_durable(ch);
	if (!rc && getppid() != ch->parent)
		rc = ESRCH; /* orphaned: a restarted shard owns the directory now */
	if (!rc)
		rc = snapshot_stream_publish(ch);
	if (!rc)
		ch->sh->retain_error = -snapshot_stream_retain(
			ch); /* published: the snapshot stands */
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	ch->sh->cpu_us = (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
	return rc;
}

/* fork() with the child created SCHED_BATCH: a batch task never preempts
 * the running one when it wakes, so the new child cannot take the shard's
 * core the moment it exists (the fork's wall time exceeded its CPU time by
 * up to 4 ms on a busy machine; docs/PERFORMANCE.md). The forking thread
 * is batch only for the call; switching between the two normal policies
 * needs no privilege. */
static pid_t fork_batch(void)
{
	struct sched_param none = {0};
	bool batch = sched_getscheduler(0) == SCHED_OTHER &&
		     !sched_setscheduler(0, SCHED_BATCH, &none);
	pid_t pid = fork();
	if (pid != 0 && batch)
		sched_setscheduler(0, SCHED_OTHER, &none);
	return pid;
}

int snapshot_job_fork(struct snapshot_job *j, const struct snapshot_fork_dirs *d,
		      const struct core *c, uint64_t lsn, const uint8_t chain[16],
		      uint64_t keep_lsn)
{
	memset(j, 0, sizeof *j);
	j->lsn = lsn;
	j->keep_lsn = keep_lsn;
	j->shared = mmap(NULL, sizeof *j->shared, PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (j->shared == MAP_FAILED) {
		j->shared = NULL;
		return -ENOMEM;
	}
	struct snapshot_writer ch = {.d = d,
				     .sh = j->shared,
				     .lsn = lsn,
				     .keep_lsn = keep_lsn,
				     .t0_us = snapshot_mono_us(),
				     .parent = getpid(),
				     .let_go = true};
	pid_t pid = fork_batch();
	if (pid < 0) {
		int rc = -errno;
		snapshot_fork_end(j);
		return rc;
	}
	if (pid == 0)
		_exit(child_main(&ch, c, chain));
	j->pid = pid;
	j->step = SNAPSHOT_STEP_WRITE;
	return 0;
}

void snapshot_job_durable(struct snapshot_job *j, uint64_t durable_lsn)
{
	j->durable_lsn = durable_lsn;
	if (j->shared)
		atomic_store(&j->shared->durable_lsn, durable_lsn);
}

int snapshot_fork_poll(struct snapshot_job *j, bool block)
{
	int status;
	pid_t r = waitpid(j->pid, &status, block ? 0 : WNOHANG);
	if (r == 0 || (r < 0 && errno == EINTR))
		return 1;
	j->pid = 0;
	if (r < 0)
		return -errno;
	if (!WIFEXITED(status))
		return -ECHILD; /* killed: nothing published, its temp file goes at start */
	if (WEXITSTATUS(status))
		return -WEXITSTATUS(status);
	j->step = SNAPSHOT_STEP_PUBLISHED;
	return 0;
}

void snapshot_fork_end(struct snapshot_job *j)
{
	if (j->pid) {
		kill(j->pid, SIGKILL);
		while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
			;
		j->pid = 0;
	}
	if (j->shared)
		munmap(j->shared, sizeof *j->shared);
	j->shared = NULL;
}
