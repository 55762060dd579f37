/*
 * snapshot.c — snapshot files (contract and byte table in snapshot.h, the
 * policy that decides when to take one in shard_store.c, the story in
 * docs/WAL.md): their I/O through the shard's storage. The bytes (name,
 * header, image, checks) are snapshot_image.c's; the forked writer's I/O
 * is snapshot_fork.c's, which this file only polls and ends.
 *
 * Writing: the state is serialized into one page-aligned buffer behind the
 * header (a memory copy of the whole state), checksummed once (the body sum
 * is the state hash: core_state_hash hashes exactly this stream), then
 * written to "snap-<lsn>.osnp.tmp", fsynced, renamed to its final name and
 * the directory fsynced. The file is padded with zeros to whole pages so the
 * same code works on O_DIRECT storage. A crash at any point leaves either
 * the old set of snapshots or the new one plus maybe a temp file, which
 * loading ignores and snapshot_remove_temps deletes.
 *
 * Loading trusts nothing it has not checked: header sum first, then the
 * body, read in SNAPSHOT_IO_CHUNK_BYTES chunks into one buffer, summed and
 * deserialized as it passes (core_deserialize_from checks every field, and
 * every invariant at the end), the body sum once it is all read (a core
 * built from a body with a bad sum is thrown away), and finally the state
 * hash of the loaded core against the header. A damaged snapshot is
 * skipped with a line in `why` and the next older one is tried. (Reading
 * the whole file into one buffer first cost a third of a restart: every
 * page of a 375 MB buffer faulted in and filled, docs/PERFORMANCE.md.)
 */
#include "net/store/snapshot.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/serial.h"

#define SNAPSHOTS_LISTED_MAX 256u             /* snapshot files looked at when loading */
#define SNAPSHOT_COOKIE (0x534e4150ull << 32) /* "SNAP": not a WAL cookie */

_Static_assert(SNAPSHOT_IO_CHUNK_BYTES % WAL_PAGE_BYTES == 0, "chunks keep O_DIRECT alignment");

/* ---- synchronous I/O over the asynchronous interface ------------------ */

/* Waits for the one operation in flight (snapshot I/O runs only when the
 * shard's WAL has nothing in flight, so any other completion is a bug). */
static int wait_op(struct storage *st)
{
	struct storage_cqe cq;
	for (;;) {
		int n = storage_poll(st, &cq, 1, 1);
		if (n < 0 && n != -EINTR && n != -EAGAIN)
			return n;
		if (n == 1)
			return cq.cookie == SNAPSHOT_COOKIE ? cq.res : -EPROTO;
	}
}

/* Writes the chunk of buf that starts at done. The bytes now done, or
 * -errno. A short write is finished from a page boundary (O_DIRECT). */
static int64_t write_chunk(struct storage *st, int file, const uint8_t *buf, uint64_t len,
			   uint64_t done)
{
	uint64_t left = len - done;
	uint32_t n = left < SNAPSHOT_IO_CHUNK_BYTES ? (uint32_t)left : SNAPSHOT_IO_CHUNK_BYTES;
	int rc = storage_write(st, file, buf + done, n, done, SNAPSHOT_COOKIE);
	if (!rc)
		rc = storage_submit(st);
	if (!rc)
		rc = wait_op(st);
	if (rc == -EINTR || rc == -EAGAIN)
		return (int64_t)done;
	if (rc <= 0)
		return rc < 0 ? rc : -EIO;
	return (int64_t)(done + ((uint64_t)rc & ~(uint64_t)(WAL_PAGE_BYTES - 1)));
}

static int sync_file(struct storage *st, int file)
{
	int rc = storage_fsync(st, file, SNAPSHOT_COOKIE);
	if (!rc)
		rc = storage_submit(st);
	return rc ? rc : wait_op(st);
}

static int write_all(struct storage *st, int file, const uint8_t *buf, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		int64_t now = write_chunk(st, file, buf, len, done);
		if (now < 0)
			return (int)now;
		done = (uint64_t)now;
	}
	return sync_file(st, file);
}

/* The file in chunks into one buffer, for snapshot_image_check_from. */
struct file_reader {
	struct storage *st;
	const atomic_bool *cancel; /* NULL: never */
	int file;
	uint8_t *buf; /* SNAPSHOT_IO_CHUNK_BYTES, page-aligned (O_DIRECT) */
	uint64_t off, bytes;
	int err; /* -errno of a failed read; -ENODATA: shorter than its size */
};

static size_t read_chunk(void *ctx, const uint8_t **bytes)
{
	struct file_reader *r = ctx;
	uint64_t left = r->bytes - r->off;
	uint32_t n = left < SNAPSHOT_IO_CHUNK_BYTES ? (uint32_t)left : SNAPSHOT_IO_CHUNK_BYTES;
	if (!r->err && r->cancel && atomic_load_explicit(r->cancel, memory_order_relaxed))
		r->err = -ECANCELED;
	if (r->err || !n)
		return 0;
	int64_t got = storage_read(r->st, r->file, r->buf, n, r->off);
	if (got < 0 || (uint64_t)got < n) {
		r->err = got < 0 ? (int)got : -ENODATA;
		return 0;
	}
	r->off += n;
	*bytes = r->buf;
	return n;
}

/* Writes the finished image under a temp name, syncs, renames into place. */
static int publish(struct storage *st, const uint8_t *img, uint64_t img_bytes, uint64_t lsn)
{
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, lsn, true);
	snapshot_file_name(name, sizeof name, lsn, false);
	int rc = storage_unlink(st, tmp); /* a leftover of a crashed attempt */
	if (rc && rc != -ENOENT)
		return rc;
	int file = storage_create(st, tmp, img_bytes);
	if (file < 0)
		return file;
	rc = write_all(st, file, img, img_bytes);
	storage_close(st, file);
	if (rc)
		goto out_unlink_tmp;
	rc = storage_rename(st, tmp, name);
	if (rc)
		goto out_unlink_tmp;
	return storage_sync_dir(st);

out_unlink_tmp:
	storage_unlink(st, tmp);
	return rc;
}

int snapshot_write(struct storage *st, const struct core *c, uint64_t lsn, const uint8_t chain[16],
		   struct snapshot_info *out)
{
	uint8_t *img;
	uint64_t img_bytes;
	int rc = snapshot_image(c, lsn, chain, &img, &img_bytes);
	if (rc)
		return rc;
	rc = publish(st, img, img_bytes, lsn);
	if (!rc)
		snapshot_image_info(out, img, lsn);
	munmap(img, img_bytes);
	return rc;
}

/* ---- a snapshot written while the shard keeps serving ------------------ */

int snapshot_job_begin(struct snapshot_job *j, const struct core *c, uint64_t lsn,
		       const uint8_t chain[16])
{
	memset(j, 0, sizeof *j);
	j->lsn = lsn;
	j->step = SNAPSHOT_STEP_CREATE;
	return snapshot_image(c, lsn, chain, &j->img, &j->img_bytes);
}

/* Renames the written temp file into place once the WAL is durable up to
 * its LSN (1: not yet). */
static int step_rename(struct snapshot_job *j, struct storage *st)
{
	if (j->durable_lsn < j->lsn)
		return 1;
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, j->lsn, true);
	snapshot_file_name(name, sizeof name, j->lsn, false);
	int rc = storage_rename(st, tmp, name);
	if (rc)
		return rc;
	j->step = SNAPSHOT_STEP_SYNC_DIR;
	return 1;
}

static int step_create(struct snapshot_job *j, struct storage *st)
{
	char tmp[40];
	snapshot_file_name(tmp, sizeof tmp, j->lsn, true);
	int rc = storage_unlink(st, tmp); /* a leftover of a crashed attempt */
	if (rc && rc != -ENOENT)
		return rc;
	rc = storage_create(st, tmp, j->img_bytes);
	if (rc < 0)
		return rc;
	j->file = rc;
	j->step = SNAPSHOT_STEP_WRITE;
	return 1;
}

/* One step of an in-process job (each is one synchronous operation). */
static int step(struct snapshot_job *j, struct storage *st)
{
	int rc;
	int64_t done;
	switch (j->step) {
	case SNAPSHOT_STEP_CREATE: return step_create(j, st);
	case SNAPSHOT_STEP_WRITE:
		done = write_chunk(st, j->file, j->img, j->img_bytes, j->written);
		if (done < 0)
			return (int)done;
		j->written = (uint64_t)done;
		if (j->written == j->img_bytes)
			j->step = SNAPSHOT_STEP_SYNC;
		return 1;
	case SNAPSHOT_STEP_SYNC:
		rc = sync_file(st, j->file);
		storage_close(st, j->file);
		j->file = 0;
		if (rc)
			return rc;
		j->step = SNAPSHOT_STEP_RENAME;
		return 1;
	case SNAPSHOT_STEP_RENAME: return step_rename(j, st);
	case SNAPSHOT_STEP_SYNC_DIR:
		rc = storage_sync_dir(st);
		if (rc)
			return rc;
		j->step = SNAPSHOT_STEP_PUBLISHED;
		return 0;
	case SNAPSHOT_STEP_PUBLISHED: return 0;
	}
	assert(0 && "a snapshot step out of range");
	return -EINVAL;
}

int snapshot_job_poll(struct snapshot_job *j, struct storage *st, bool block)
{
	assert(!j->replay && "a replaying job is polled with snapshot_replay_poll");
	if (j->pid)
		return snapshot_fork_poll(j, block);
	int rc;
	do
		rc = step(j, st);
	while (rc == 1 && block && !(j->step == SNAPSHOT_STEP_RENAME && j->durable_lsn < j->lsn));
	return rc;
}

void snapshot_job_end(struct snapshot_job *j, struct storage *st)
{
	assert(!j->replay && "a replaying job is ended with snapshot_replay_end first");
	snapshot_fork_end(j);
	if (j->file)
		storage_close(st, j->file);
	j->file = 0;
	if (j->img)
		munmap(j->img, j->img_bytes);
	j->img = NULL;
}

/* ---- loading ---------------------------------------------------------- */

void snapshot_vnote(char *why, size_t cap, const char *fmt, va_list ap)
{
	size_t used;

	if (!why || !cap)
		return;
	used = strnlen(why, cap);
	if (used + 1 < cap)
		vsnprintf(why + used, cap - used, fmt, ap);
}

void snapshot_note(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	snapshot_vnote(why, cap, fmt, ap);
	va_end(ap);
}

/* Reads and verifies snapshot lsn. 0 (*out set), 1 (damaged: reported), or
 * -errno on an I/O error. */
static int load_one(struct storage *st, uint8_t shard, uint64_t lsn, const atomic_bool *cancel,
		    struct core **out, struct snapshot_info *info, char *why, size_t why_cap)
{
	char name[40];
	uint64_t bytes;
	snapshot_file_name(name, sizeof name, lsn, false);
	int file = storage_open(st, name);
	if (file < 0)
		return file;
	int rc = storage_size(st, file, &bytes);
	if (rc)
		goto out_close;
	struct file_reader r = {.st = st,
				.cancel = cancel,
				.file = file,
				.buf = aligned_alloc(WAL_PAGE_BYTES, SNAPSHOT_IO_CHUNK_BYTES),
				.bytes = bytes};
	struct serial_source src = {read_chunk, &r};
	uint8_t header[SNAPSHOT_HEADER_BYTES];
	rc = -ENOMEM;
	if (!r.buf)
		goto out_close;
	const char *bad = snapshot_image_check_from(&src, bytes, shard, lsn, out, header);
	assert((!r.err || bad) && "a failed read leaves the body short: nothing loaded");
	rc = r.err == -ENODATA ? 0 : r.err;
	if (rc)
		goto out_free;
	bad = r.err ? "shorter than its size" : bad;
	rc = 1;
	if (!bad) {
		snapshot_image_info(info, header, lsn);
		rc = 0;
	} else {
		snapshot_note(why, why_cap, "%s: %s, skipped; ", name, bad);
	}
out_free:
	free(r.buf);
out_close:
	storage_close(st, file);
	return rc;
}

struct snap_list {
	uint64_t lsn[SNAPSHOTS_LISTED_MAX];
	size_t count;
	bool temps; /* list temp files instead */
	int err;
};

static int list_one(void *ctx, const char *name)
{
	struct snap_list *l = ctx;
	uint64_t lsn;
	if (snapshot_parse_name(name, &lsn, l->temps))
		return 0;
	if (l->count == SNAPSHOTS_LISTED_MAX) {
		l->err = -EMFILE;
		return 1;
	}
	l->lsn[l->count++] = lsn;
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x > y ? -1 : x < y;
}

static int list_snapshots(struct storage *st, struct snap_list *l, bool temps)
{
	l->count = 0;
	l->temps = temps;
	l->err = 0;
	int rc = storage_list(st, list_one, l);
	if (l->err)
		return l->err;
	if (rc < 0)
		return rc;
	qsort(l->lsn, l->count, sizeof *l->lsn, cmp_desc);
	return 0;
}

static int load_newest(struct storage *st, uint8_t shard, const atomic_bool *cancel,
		       struct core **out, struct snapshot_info *info, char *why, size_t why_cap)
{
	if (why && why_cap)
		why[0] = 0;
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, false);
	for (size_t i = 0; !rc && i < l->count; i++) {
		rc = load_one(st, shard, l->lsn[i], cancel, out, info, why, why_cap);
		if (rc == 1)
			rc = 0; /* damaged: try the next older one */
		else if (!rc)
			goto out_free_list;
	}
	if (!rc)
		rc = -ENOENT;
out_free_list:
	free(l);
	return rc;
}

int snapshot_load_newest(struct storage *st, uint8_t shard, struct core **out,
			 struct snapshot_info *info, char *why, size_t why_cap)
{
	return load_newest(st, shard, NULL, out, info, why, why_cap);
}

int snapshot_load_newest_or_cancel(struct storage *st, uint8_t shard, const atomic_bool *cancel,
				   struct core **out, struct snapshot_info *info)
{
	assert(cancel);
	return load_newest(st, shard, cancel, out, info, NULL, 0);
}

static int remove_listed(struct storage *st, const struct snap_list *l, uint64_t keep_lsn,
			 bool temps)
{
	size_t removed = 0;
	for (size_t i = 0; i < l->count; i++) {
		char name[40];
		if (!temps && l->lsn[i] >= keep_lsn)
			continue;
		snapshot_file_name(name, sizeof name, l->lsn[i], temps);
		int rc = storage_unlink(st, name);
		if (rc && rc != -ENOENT)
			return rc;
		removed++;
	}
	return removed ? storage_sync_dir(st) : 0;
}

int snapshot_remove_older(struct storage *st, uint8_t shard, uint64_t keep_lsn)
{
	(void)shard; /* names carry no shard: one snapshot directory per shard */
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, false);
	if (!rc)
		rc = remove_listed(st, l, keep_lsn, false);
	free(l);
	return rc;
}

int snapshot_remove_temps(struct storage *st)
{
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, true);
	if (!rc)
		rc = remove_listed(st, l, 0, true);
	free(l);
	return rc;
}

int snapshot_newest_named(struct storage *st, uint64_t *lsn)
{
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, false);
	*lsn = !rc && l->count ? l->lsn[0] : 0;
	free(l);
	return rc;
}

int snapshot_name(char *out, size_t cap, uint64_t lsn)
{
	int n = snprintf(out, cap, "snap-%020" PRIu64 ".osnp", lsn);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
