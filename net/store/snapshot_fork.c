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
 * directories (sockets, rings), so the shard's closes take effect at once. It runs at a lower priority on any core, so the forking shard's
 * pinned core stays the shard's.
 *
 * Order in the child, each step only after the one before succeeded:
 *   1. serialize into "snap-<lsn>.osnp.tmp" a chunk at a time (O_DIRECT
 *      where the filesystem takes it), let go of the core's tables, write
 *      the header over the first page, fsync it;
 *   2. wait until the parent reports the WAL durable up to lsn (a snapshot
 *      must never be ahead of the log it continues);
 *   3. rename into place, fsync the directory: the snapshot now exists;
 *   4. remove snapshots older than keep (the previous one, still kept) and
 *      temp files failed attempts left,
 *      then WAL segments wholly before keep, oldest first (or move them to
 *      the archive, archive directory fsynced per segment), and fsync the
 *      directory.
 * A crash anywhere leaves a state recovery handles: a temp file (removed
 * at start), or the new snapshot with more files than needed.
 */
#include "net/store/snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no allocation in the child */
#include <xxhash.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/serial.h"
#include "core/wal_format.h"
#include "net/wal/wal_read.h"

/* The writer's nice value: the shards keep their cores first, the snapshot
 * takes what is left (the policy bounds how much it has to do). */
#define SNAPSHOT_CHILD_NICE 10

struct child {
	const struct snapshot_fork_dirs *d;
	struct snapshot_shared *sh;
	uint64_t lsn, keep_lsn;
	pid_t parent;
	uint64_t t0_us; /* fork */
};

static uint64_t mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* Drops the child's mapping of the whole pages inside one of the core's
 * tables. */
static void let_go(void *ctx, void *p, size_t bytes)
{
	(void)ctx;
	uintptr_t lo = ((uintptr_t)p + MEM_PAGE_BYTES - 1) & ~(uintptr_t)(MEM_PAGE_BYTES - 1);
	uintptr_t hi = ((uintptr_t)p + bytes) & ~(uintptr_t)(MEM_PAGE_BYTES - 1);
	if (p && hi > lo)
		(void)madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

/* O_DIRECT: the image is page-aligned and whole pages, so the child's
 * writes skip the page cache (a copy of the whole state, and dirty pages
 * that queue the shard's WAL fdatasyncs); buffered where the filesystem
 * refuses it. */
static int open_temp(const struct child *ch, const char *tmp)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	int fd = openat(ch->d->dir_fd, tmp, flags | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL)
		fd = openat(ch->d->dir_fd, tmp, flags, 0644);
	return fd;
}

/* The image, streamed: the state is serialized into one chunk-sized
 * buffer that is written (O_DIRECT) and synced each time it fills, and the
 * header, which needs the body's size and sum, is written over the first
 * page last. No image of the whole state in memory: mapping and zeroing
 * one (375 MB) and a first pass to size it were most of the writer's CPU
 * time, which it takes from the shards on a small machine
 * (docs/PERFORMANCE.md, "Snapshot stall"). */
struct stream {
	int fd, err;          /* err: a positive errno; the rest is skipped */
	uint8_t *buf, *first; /* SNAPSHOT_IO_CHUNK_BYTES; the file's first page */
	size_t used;          /* bytes in buf */
	uint64_t off, body_bytes;
	XXH3_state_t sum; /* of the body */
};

/* Writes buf's used bytes, zero-padded to len (whole pages), at off. */
static void stream_flush(struct stream *w, size_t len)
{
	size_t skip = w->off ? 0 : SNAPSHOT_HEADER_BYTES;
	XXH3_128bits_update(&w->sum, w->buf + skip, w->used - skip);
	memset(w->buf + w->used, 0, len - w->used);
	if (!w->off)
		memcpy(w->first, w->buf, MEM_PAGE_BYTES);
	for (size_t done = 0; done < len && !w->err;) {
		ssize_t n = pwrite(w->fd, w->buf + done, len - done, (off_t)(w->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			w->err = n < 0 ? errno : EIO;
		else
			done += (size_t)n;
	}
	/* a chunk at a time to the disk: one fsync of hundreds of MB of page
	 * cache at the end queued the shard's WAL fdatasyncs behind it
	 * (bench-snapshot: a 423 ms loop turn), as Redis's
	 * rdb-save-incremental-fsync avoids */
	if (!w->err && fdatasync(w->fd))
		w->err = errno;
	w->off += len;
	w->used = 0;
}

static void stream_write(void *ctx, const void *bytes, size_t len)
{
	struct stream *w = ctx;
	const uint8_t *p = bytes;
	w->body_bytes += len;
	while (len && !w->err) {
		size_t n = SNAPSHOT_IO_CHUNK_BYTES - w->used;
		n = n < len ? n : len;
		memcpy(w->buf + w->used, p, n);
		w->used += n, p += n, len -= n;
		if (w->used == SNAPSHOT_IO_CHUNK_BYTES)
			stream_flush(w, SNAPSHOT_IO_CHUNK_BYTES);
	}
}

/* The last chunk, then the header over the first page, then fsync. */
static int stream_end(const struct child *ch, struct stream *w, const struct core *c,
		      const uint8_t chain[16])
{
	if (w->used)
		stream_flush(w, (w->used + MEM_PAGE_BYTES - 1) & ~(size_t)(MEM_PAGE_BYTES - 1));
	if (w->err)
		return w->err;
	XXH128_hash_t h = XXH3_128bits_digest(&w->sum);
	uint8_t sum[16];
	put_u64(sum, h.low64);
	put_u64(sum + 8, h.high64);
	snapshot_image_header(w->first, core_shard_id(c), ch->lsn, chain, w->body_bytes, sum);
	ssize_t n = pwrite(w->fd, w->first, MEM_PAGE_BYTES, 0);
	if (n != MEM_PAGE_BYTES)
		return n < 0 ? errno : EIO;
	return fsync(w->fd) ? errno : 0;
}

static int write_temp(const struct child *ch, const struct core *c, const uint8_t chain[16])
{
	static const uint8_t zero[16];
	char tmp[40];
	snapshot_file_name(tmp, sizeof tmp, ch->lsn, true);
	if (!ch->lsn && memcmp(chain, zero, 16))
		return EINVAL;
	struct stream w = {.used = SNAPSHOT_HEADER_BYTES};
	w.buf = mmap(NULL, SNAPSHOT_IO_CHUNK_BYTES + MEM_PAGE_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (w.buf == MAP_FAILED)
		return ENOMEM;
	w.first = w.buf + SNAPSHOT_IO_CHUNK_BYTES;
	w.fd = open_temp(ch, tmp);
	if (w.fd < 0)
		return errno;
	XXH3_128bits_reset(&w.sum);
	struct serial_sink sink = {stream_write, &w};
	core_serialize(c, &sink);
	ch->sh->image_us = mono_us() - ch->t0_us;
	/* The state is written but for the last chunk: while the child shared
	 * the core's tables, every page the shard wrote was copied (and split
	 * out of its huge page, which the next fork then copies page by page).
	 * Letting go of them here ends that for the fsync and the wait for the
	 * WAL; the child never reads the core again. */
	event_tables_each(c, let_go, NULL);
	return stream_end(ch, &w, c, chain); /* fd and buf go with the process */
}

static int wait_durable(const struct child *ch)
{
	struct timespec ms = {0, 1000000};
	for (unsigned waited_ms = 0; atomic_load(&ch->sh->durable_lsn) < ch->lsn; waited_ms++) {
		if (waited_ms >= SNAPSHOT_DURABLE_WAIT_MS_MAX || getppid() != ch->parent)
			return ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
	return 0;
}

static int publish(const struct child *ch)
{
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, ch->lsn, true);
	snapshot_file_name(name, sizeof name, ch->lsn, false);
	if (renameat(ch->d->dir_fd, tmp, ch->d->dir_fd, name))
		return errno;
	return fsync(ch->d->dir_fd) ? errno : 0;
}

/* ---- retention, as shard_store.c does it through the storage ------------ */

struct seg_range {
	uint64_t lo, hi;
	size_t count;
};

static void note_name(const struct child *ch, const char *name, struct seg_range *r, int *rc)
{
	uint64_t n;
	bool old_snapshot = !snapshot_parse_name(name, &n, false) && n < ch->keep_lsn;
	bool failed_attempt = !snapshot_parse_name(name, &n, true); /* ours is renamed */
	if (old_snapshot || failed_attempt) {
		if (unlinkat(ch->d->dir_fd, name, 0) && errno != ENOENT)
			*rc = errno;
	} else if (!wal_segment_parse(name, ch->d->shard, &n)) {
		r->lo = !r->count || n < r->lo ? n : r->lo;
		r->hi = !r->count || n > r->hi ? n : r->hi;
		r->count++;
	}
}

/* Removes snapshots older than keep and temp files of failed attempts
 * (they would pile up, each the size of the state), and finds the range of
 * segments.
 * getdents64 on a descriptor of its own: readdir would allocate, and a dup
 * would share the directory offset with the parent's descriptor. */
static int scan_dir(const struct child *ch, struct seg_range *r)
{
	int fd = openat(ch->d->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	_Alignas(8) char buf[4096];
	int rc = 0;
	for (ssize_t n; (n = getdents64(fd, buf, sizeof buf)) > 0;) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			note_name(ch, e->d_name, r, &rc);
			off += e->d_reclen;
		}
	}
	close(fd);
	return rc;
}

/* First LSN of a segment from its header; UINT64_MAX when it has none yet
 * (the WAL's spare). 0 or a positive errno. */
static int first_lsn(const struct child *ch, uint64_t seg, uint64_t *out)
{
	char name[STORAGE_NAME_BYTES_MAX];
	uint8_t h[WALFMT_SEGMENT_HEADER_USED_BYTES];
	wal_segment_name(name, sizeof name, ch->d->shard, seg);
	int fd = openat(ch->d->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = pread(fd, h, sizeof h, 0);
	int rc = n < 0 ? errno : 0;
	close(fd);
	struct walfmt_segment s;
	*out = UINT64_MAX;
	if (!rc && walfmt_segment_decode(h, (size_t)n, ch->d->shard, &s) == WALFMT_OK)
		*out = s.first_lsn;
	return rc;
}

static int drop_segment(const struct child *ch, uint64_t seg)
{
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, ch->d->shard, seg);
	if (ch->d->archive_fd < 0) {
		if (unlinkat(ch->d->dir_fd, name, 0))
			return errno;
		ch->sh->segments_removed++;
		return 0;
	}
	/* never over an archived segment of the same name (a data directory
	 * started afresh next to an old archive): the audit log is not lost,
	 * the segment stays live and the error is reported */
	if (renameat2(ch->d->dir_fd, name, ch->d->archive_fd, name, RENAME_NOREPLACE) ||
	    fsync(ch->d->archive_fd))
		return errno;
	ch->sh->segments_archived++;
	return 0;
}

static int retain(const struct child *ch)
{
	struct seg_range r = {0};
	int rc = scan_dir(ch, &r);
	for (uint64_t seg = r.lo;
	     !rc && r.count > 1 && seg < r.hi && seg - r.lo < SNAPSHOT_SEGMENTS_SCAN_MAX; seg++) {
		uint64_t next_first = UINT64_MAX;
		rc = first_lsn(ch, seg + 1, &next_first);
		if (rc == ENOENT)
			rc = 0, next_first = UINT64_MAX; /* a gap: keep what follows */
		if (rc || next_first > ch->keep_lsn + 1)
			break;
		rc = drop_segment(ch, seg);
	}
	if (!rc && fsync(ch->d->dir_fd))
		rc = errno;
	return rc;
}

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

static int child_main(const struct child *ch, const struct core *c, const uint8_t chain[16])
{
	close_inherited(ch->d);
	cpu_set_t all;
	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof all, &all);
	(void)!setpriority(PRIO_PROCESS, 0, SNAPSHOT_CHILD_NICE);
	int rc = write_temp(ch, c, chain);
	if (!rc)
		rc = wait_durable(ch);
	if (!rc && getppid() != ch->parent)
		rc = ESRCH; /* orphaned: a restarted shard owns the directory now */
	if (!rc)
		rc = publish(ch);
	if (!rc)
		ch->sh->retain_error = -retain(ch); /* published: the snapshot stands */
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
	struct child ch = {.d = d,
			   .sh = j->shared,
			   .lsn = lsn,
			   .keep_lsn = keep_lsn,
			   .parent = getpid(),
			   .t0_us = mono_us()};
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
