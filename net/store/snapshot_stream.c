/*
 * snapshot_stream.c — the snapshot file as a writer outside the shard's
 * loop writes it (contract and steps in snapshot_stream.h): streamed
 * image, publication, retention, all with plain syscalls on the shard's
 * directory descriptors.
 *
 * A crash anywhere leaves a state recovery handles: a temp file (removed
 * at start), or the new snapshot with more files than needed.
 */
#include "net/store/snapshot_stream.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack: no allocation in a child */
#include <xxhash.h>

#include "core/bytes.h"
#include "core/limits.h"
#include "core/mem.h"
#include "core/serial.h"
#include "core/wal_format.h"
#include "net/wal/wal_read.h"

uint64_t snapshot_mono_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void snapshot_writer_lower_priority(void)
{
	cpu_set_t all;
	CPU_ZERO(&all);
	for (int i = 0; i < CPU_SETSIZE; i++)
		CPU_SET(i, &all);
	sched_setaffinity(0, sizeof all, &all);
	(void)!setpriority(PRIO_PROCESS, (id_t)gettid(), SNAPSHOT_WRITER_NICE);
}

bool snapshot_writer_stopped(const struct snapshot_writer *wr)
{
	return (wr->parent && getppid() != wr->parent) || (wr->cancel && atomic_load(wr->cancel));
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

/* O_DIRECT: the image is page-aligned and whole pages, so the writer's
 * writes skip the page cache (a copy of the whole state, and dirty pages
 * that queue the shard's WAL fdatasyncs); buffered where the filesystem
 * refuses it. */
static int open_temp(const struct snapshot_writer *wr, const char *tmp)
{
	int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC;
	int fd = openat(wr->d->dir_fd, tmp, flags | O_DIRECT, 0644);
	if (fd < 0 && errno == EINVAL)
		fd = openat(wr->d->dir_fd, tmp, flags, 0644);
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
	const struct snapshot_writer *wr;
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
	if (!w->err && snapshot_writer_stopped(w->wr))
		w->err = ECANCELED;
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
static int stream_end(const struct snapshot_writer *wr, struct stream *w, const struct core *c,
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
	snapshot_image_header(w->first, core_shard_id(c), wr->lsn, chain, w->body_bytes, sum);
	ssize_t n = pwrite(w->fd, w->first, MEM_PAGE_BYTES, 0);
	if (n != MEM_PAGE_BYTES)
		return n < 0 ? errno : EIO;
	return fsync(w->fd) ? errno : 0;
}

int snapshot_stream_write(const struct snapshot_writer *wr, const struct core *c,
			  const uint8_t chain[16])
{
	static const uint8_t zero[16];
	char tmp[40];
	snapshot_file_name(tmp, sizeof tmp, wr->lsn, true);
	if (!wr->lsn && memcmp(chain, zero, 16))
		return EINVAL;
	struct stream w = {.wr = wr, .used = SNAPSHOT_HEADER_BYTES};
	w.buf = mmap(NULL, SNAPSHOT_IO_CHUNK_BYTES + MEM_PAGE_BYTES, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (w.buf == MAP_FAILED)
		return ENOMEM;
	w.first = w.buf + SNAPSHOT_IO_CHUNK_BYTES;
	w.fd = open_temp(wr, tmp);
	if (w.fd < 0) {
		int rc = errno;
		munmap(w.buf, SNAPSHOT_IO_CHUNK_BYTES + MEM_PAGE_BYTES);
		return rc;
	}
	XXH3_128bits_reset(&w.sum);
	struct serial_sink sink = {stream_write, &w};
	core_serialize(c, &sink);
	wr->sh->image_us = snapshot_mono_us() - wr->t0_us;
	/* The state is written but for the last chunk: while a forked child
	 * shares the core's tables, every page the shard writes is copied (and
	 * split out of its huge page, which the next fork then copies page by
	 * page). Letting go of them here ends that for the fsync and the wait
	 * for the WAL; the child never reads the core again. */
	if (wr->let_go)
		event_tables_each(c, let_go, NULL);
	int rc = stream_end(wr, &w, c, chain);
	close(w.fd);
	munmap(w.buf, SNAPSHOT_IO_CHUNK_BYTES + MEM_PAGE_BYTES);
	return rc;
}

int snapshot_stream_wait_durable(const struct snapshot_writer *wr)
{
	struct timespec ms = {0, 1000000};
	for (unsigned waited_ms = 0; atomic_load(&wr->sh->durable_lsn) < wr->lsn; waited_ms++) {
		if (snapshot_writer_stopped(wr))
			return ECANCELED;
		if (waited_ms >= SNAPSHOT_DURABLE_WAIT_MS_MAX)
			return ETIMEDOUT;
		nanosleep(&ms, NULL);
	}
	return 0;
}

int snapshot_stream_publish(const struct snapshot_writer *wr)
{
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, wr->lsn, true);
	snapshot_file_name(name, sizeof name, wr->lsn, false);
	if (renameat(wr->d->dir_fd, tmp, wr->d->dir_fd, name))
		return errno;
	return fsync(wr->d->dir_fd) ? errno : 0;
}

/* ---- retention, as shard_store.c does it through the storage ------------ */

struct seg_range {
	uint64_t lo, hi;
	size_t count;
};

static void note_name(const struct snapshot_writer *wr, const char *name, struct seg_range *r,
		      int *rc)
{
	uint64_t n;
	bool old_snapshot = !snapshot_parse_name(name, &n, false) && n < wr->keep_lsn;
	bool failed_attempt = !snapshot_parse_name(name, &n, true); /* ours is renamed */
	if (old_snapshot || failed_attempt) {
		if (unlinkat(wr->d->dir_fd, name, 0) && errno != ENOENT)
			*rc = errno;
	} else if (!wal_segment_parse(name, wr->d->shard, &n)) {
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
static int scan_dir(const struct snapshot_writer *wr, struct seg_range *r)
{
	int fd = openat(wr->d->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	_Alignas(8) char buf[4096];
	int rc = 0;
	for (ssize_t n; (n = getdents64(fd, buf, sizeof buf)) > 0;) {
		for (ssize_t off = 0; off < n;) {
			struct dirent64 *e = (struct dirent64 *)(buf + off);
			note_name(wr, e->d_name, r, &rc);
			off += e->d_reclen;
		}
	}
	close(fd);
	return rc;
}

/* First LSN of a segment from its header; UINT64_MAX when it has none yet
 * (the WAL's spare). 0 or a positive errno. */
static int first_lsn(const struct snapshot_writer *wr, uint64_t seg, uint64_t *out)
{
	char name[STORAGE_NAME_BYTES_MAX];
	uint8_t h[WALFMT_SEGMENT_HEADER_USED_BYTES];
	wal_segment_name(name, sizeof name, wr->d->shard, seg);
	int fd = openat(wr->d->dir_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	ssize_t n = pread(fd, h, sizeof h, 0);
	int rc = n < 0 ? errno : 0;
	close(fd);
	struct walfmt_segment s;
	*out = UINT64_MAX;
	if (!rc && walfmt_segment_decode(h, (size_t)n, wr->d->shard, &s) == WALFMT_OK)
		*out = s.first_lsn;
	return rc;
}

static int drop_segment(const struct snapshot_writer *wr, uint64_t seg)
{
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, wr->d->shard, seg);
	if (wr->d->archive_fd < 0) {
		if (unlinkat(wr->d->dir_fd, name, 0))
			return errno;
		wr->sh->segments_removed++;
		return 0;
	}
	/* never over an archived segment of the same name (a data directory
	 * started afresh next to an old archive): the audit log is not lost,
	 * the segment stays live and the error is reported */
	if (renameat2(wr->d->dir_fd, name, wr->d->archive_fd, name, RENAME_NOREPLACE) ||
	    fsync(wr->d->archive_fd))
		return errno;
	wr->sh->segments_archived++;
	return 0;
}

int snapshot_stream_retain(const struct snapshot_writer *wr)
{
	struct seg_range r = {0};
	int rc = scan_dir(wr, &r);
	for (uint64_t seg = r.lo;
	     !rc && r.count > 1 && seg < r.hi && seg - r.lo < SNAPSHOT_SEGMENTS_SCAN_MAX; seg++) {
		uint64_t next_first = UINT64_MAX;
		rc = first_lsn(wr, seg + 1, &next_first);
		if (rc == ENOENT)
			rc = 0, next_first = UINT64_MAX; /* a gap: keep what follows */
		if (rc || next_first > wr->keep_lsn + 1)
			break;
		rc = drop_segment(wr, seg);
	}
	if (!rc && fsync(wr->d->dir_fd))
		rc = errno;
	return rc;
}
