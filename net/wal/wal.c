/*
 * wal.c — the per-shard WAL writer (contract in wal.h, format in
 * core/wal_format.h, rules in docs/WAL.md).
 *
 * Batches live in a small ring of page-aligned buffers allocated at open:
 * FREE -> FILLING -> QUEUED -> WRITING -> SYNCING -> FREE. Only the oldest
 * batch is ever on its way to the disk, so batches become durable in LSN
 * order and a crash can tear only the one in flight. Each batch write covers
 * whole pages: it starts on the page holding the end of the previous batch
 * (those bytes are carried over in w->tail and written again), which is what
 * O_DIRECT needs and costs at most one page per batch.
 *
 * Segments are zero-filled (written, not just allocated) before their first
 * record, so appends overwrite initialized extents: ext4 then completes an
 * O_DIRECT write without an io_uring worker and an fdatasync has no extent
 * conversion to commit. The next segment (the spare) is created and zeroed
 * in the background, one chunk write at a time, as soon as the current one
 * is in use; rollover waits for it only if it is not ready yet. A spare that
 * never got a header is a stale trailing segment to recovery (deleted by
 * wal_open), as before.
 *
 * Out of space: a spare that cannot be created or zeroed for lack of space
 * (-ENOSPC, -EDQUOT) is removed and remembered, not an error. Appends go on
 * in the current segment; wal_reserve refuses (with that error) once the
 * current segment could not take the largest frame, so the caller refuses
 * a change before making it instead of failing after. wal_retry_space tries
 * the spare again when the caller says (it owns the clock). A failed write
 * or fdatasync of records still stops the WAL for good.
 */
#include "net/wal/wal.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum batch_state { B_FREE, B_FILLING, B_QUEUED, B_WRITING, B_SYNCING };
enum { OP_WRITE = 1, OP_FSYNC = 2, OP_OPEN = 3, OP_ZERO = 4, OP_ZSYNC = 5 };
enum spare_state { SP_NONE, SP_ZEROING, SP_SYNCING, SP_READY, SP_FAILED };

#define CQES_PER_POLL 8

struct batch {
	uint8_t *buf;                 /* WAL_PAGE_BYTES-aligned, batch_bytes_max + 2 pages */
	uint64_t file_off;            /* file offset of buf[0], page-aligned */
	uint32_t used;                /* bytes of buf holding data */
	uint32_t len;                 /* bytes being written (used rounded up to a page) */
	uint32_t written;             /* bytes of len the disk has taken */
	uint64_t first_lsn, last_lsn; /* last_lsn 0: no record yet */
	uint64_t segment;
	int file;
	bool close_after; /* last batch of its segment: close the file when durable */
	enum batch_state state;
	uint64_t fsync_start_ns; /* monotonic: for the fdatasync time histogram */
};

struct wal {
	struct storage *st;
	struct wal_options opt;
	struct batch b[WAL_BATCH_BUFFERS];
	unsigned head, count; /* ring of batches not FREE, oldest first */
	int error;            /* sticky stop error */
	const char *error_op; /* what failed, on error_segment */
	uint64_t error_segment;
	uint64_t next_lsn, durable_lsn;
	uint64_t sent_lsn; /* last record handed to the disk (written, maybe not durable) */
	struct walfmt_sum chain;
	bool has_segment;
	int seg_file;
	uint64_t segment, seg_bytes, seg_off; /* seg_off 0: header not yet written */
	uint8_t tail[WAL_PAGE_BYTES];         /* the partial page before seg_off */
	uint8_t *zero;                        /* WAL_ZERO_CHUNK_BYTES of zeros */
	enum spare_state spare;               /* the next segment, being prepared */
	int spare_file;
	int spare_error;    /* SP_FAILED: why (-ENOSPC, -EDQUOT: out of space) */
	uint64_t spare_off; /* bytes of the spare zeroed so far */
	struct wal_stats stats;
};

static uint64_t align_down(uint64_t v)
{
	return v & ~(uint64_t)(WAL_PAGE_BYTES - 1);
}

static uint64_t align_up(uint64_t v)
{
	return align_down(v + WAL_PAGE_BYTES - 1);
}

static uint64_t cookie(unsigned op, unsigned idx)
{
	return (uint64_t)op << 32 | idx;
}

static void fail(struct wal *w, int err, const char *op, uint64_t segment)
{
	if (w->error)
		return;
	w->error = err;
	w->error_op = op;
	w->error_segment = segment;
}

static bool no_space(int err)
{
	return err == -ENOSPC || err == -EDQUOT;
}

static struct batch *newest(struct wal *w)
{
	return w->count ? &w->b[(w->head + w->count - 1) % WAL_BATCH_BUFFERS] : NULL;
}

/* Stops a batch from taking more records; remembers its partial last page
 * so the next batch in the same segment can rewrite it. */
static void close_batch(struct wal *w, struct batch *b)
{
	if (b->state != B_FILLING)
		return;
	b->state = B_QUEUED;
	if (b->segment == w->segment && b == newest(w)) {
		uint32_t carry = (uint32_t)((b->file_off + b->used) % WAL_PAGE_BYTES);
		memcpy(w->tail, b->buf + b->used - carry, carry);
	}
}

static void start_batch(struct wal *w, struct batch *b)
{
	b->state = B_FILLING;
	b->file = w->seg_file;
	b->segment = w->segment;
	b->first_lsn = w->next_lsn;
	b->last_lsn = 0;
	b->written = b->len = 0;
	b->close_after = false;
	if (w->seg_off == 0) { /* first batch of a segment carries its header */
		struct walfmt_segment h = {w->segment, w->next_lsn, w->seg_bytes, w->chain,
					   w->opt.shard};
		walfmt_segment_encode(b->buf, &h);
		b->file_off = 0;
		b->used = WALFMT_SEGMENT_HEADER_BYTES;
		w->seg_off = WALFMT_SEGMENT_HEADER_BYTES;
		return;
	}
	b->file_off = align_down(w->seg_off);
	b->used = (uint32_t)(w->seg_off - b->file_off);
	memcpy(b->buf, w->tail, b->used);
}

static struct batch *filling_batch(struct wal *w, uint32_t frame_bytes)
{
	struct batch *b = newest(w);
	if (b && b->state == B_FILLING) {
		if (b->used + frame_bytes <= w->opt.batch_bytes_max + WAL_PAGE_BYTES)
			return b;
		close_batch(w, b);
	}
	if (w->count == WAL_BATCH_BUFFERS)
		return NULL;
	b = &w->b[(w->head + w->count++) % WAL_BATCH_BUFFERS];
	start_batch(w, b);
	return b;
}

static uint32_t zero_len(const struct wal *w, uint64_t off)
{
	uint64_t left = w->opt.segment_bytes - off;
	return left < WAL_ZERO_CHUNK_BYTES ? (uint32_t)left : WAL_ZERO_CHUNK_BYTES;
}

/* Queues the spare's next zero chunk, or its fdatasync once all are done. */
static void submit_zero(struct wal *w)
{
	int rc;
	if (w->spare_off < w->opt.segment_bytes) {
		w->spare = SP_ZEROING;
		rc = storage_write(w->st, w->spare_file, w->zero, zero_len(w, w->spare_off),
				   w->spare_off, cookie(OP_ZERO, 0));
	} else {
		w->spare = SP_SYNCING;
		rc = storage_fsync(w->st, w->spare_file, cookie(OP_ZSYNC, 0));
	}
	if (!rc)
		rc = storage_submit(w->st);
	if (rc)
		fail(w, rc, "zero-fill", w->segment + 1);
}

/* Starts preparing the segment after the current one (created, zeroed,
 * synced) unless it is under way. A failed create is left to rollover. */
static void prepare_spare(struct wal *w)
{
	if (w->error || !w->has_segment || w->spare != SP_NONE)
		return;
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, w->opt.shard, w->segment + 1);
	int fd = storage_create(w->st, name, w->opt.segment_bytes);
	if (fd < 0) {
		w->spare = SP_FAILED;
		w->spare_error = fd;
		return;
	}
	w->spare_file = fd;
	w->spare_error = 0;
	w->spare_off = 0;
	submit_zero(w);
}

/* The spare could not be zeroed for lack of space: it goes (it holds no
 * record, so nothing depends on it) and is tried again later. */
static void drop_spare(struct wal *w, int err)
{
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, w->opt.shard, w->segment + 1);
	storage_close(w->st, w->spare_file);
	storage_unlink(w->st, name);
	w->spare = SP_FAILED;
	w->spare_error = err;
}

/* The spare has one operation in flight at a time: a zero chunk while
 * SP_ZEROING, its fdatasync while SP_SYNCING; nothing else moves it on. */
static void on_zero(struct wal *w, unsigned op, int32_t res)
{
	assert(op == OP_ZSYNC ? w->spare == SP_SYNCING : w->spare == SP_ZEROING);
	if (op == OP_ZSYNC) {
		if (no_space(res))
			drop_spare(w, res);
		else if (res < 0) /* never retried, as for the batches */
			fail(w, res, "fdatasync (zero-fill)", w->segment + 1);
		else
			w->spare = SP_READY;
		return;
	}
	if (res == -EINTR || res == -EAGAIN) {
		res = 0;
	} else if (no_space(res)) {
		drop_spare(w, res);
		return;
	} else if (res <= 0) {
		fail(w, res < 0 ? res : -EIO, "write (zero-fill)", w->segment + 1);
		return;
	}
	if (res && (uint32_t)res < zero_len(w, w->spare_off))
		w->stats.short_writes++;
	w->spare_off += (uint64_t)res; /* a short write continues where it stopped */
	submit_zero(w);
}

static int submit_write(struct wal *w, struct batch *b)
{
	unsigned idx = (unsigned)(b - w->b);
	int rc = storage_write(w->st, b->file, b->buf + b->written, b->len - b->written,
			       b->file_off + b->written, cookie(OP_WRITE, idx));
	if (!rc)
		rc = storage_submit(w->st);
	if (rc)
		fail(w, rc, "write", b->segment);
	return rc;
}

const uint32_t wal_fsync_us_bounds[WAL_FSYNC_US_BUCKETS - 1] = {50,     100,   250,    500,
								1000,   2500,  5000,   10000,
								25000,  50000, 100000, 250000,
								1000000};

/* For statistics only: the time never decides anything here. */
static uint64_t mono_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void count_batch(struct wal_stats *st, uint64_t records, uint64_t fsync_ns)
{
	unsigned i = 0;
	while (i < WAL_BATCH_RECORDS_BUCKETS - 1 && records > (1ull << i))
		i++;
	st->batch_records[i]++;
	st->batch_records_sum += records;
	uint64_t us = fsync_ns / 1000;
	for (i = 0; i < WAL_FSYNC_US_BUCKETS - 1 && us > wal_fsync_us_bounds[i]; i++)
		;
	st->fsync_us[i]++;
	st->fsync_us_sum += us;
}

/* Sends the oldest batch if nothing is in flight and it holds records. */
static void kick(struct wal *w)
{
	prepare_spare(w);
	if (w->error || !w->count)
		return;
	struct batch *b = &w->b[w->head];
	if (b->state == B_WRITING || b->state == B_SYNCING)
		return;
	if (b->last_lsn == 0)
		return; /* only a header or carried bytes: nothing to make durable */
	close_batch(w, b);
	b->len = (uint32_t)align_up(b->used);
	memset(b->buf + b->used, 0, b->len - b->used);
	b->written = 0;
	b->state = B_WRITING;
	w->sent_lsn = b->last_lsn;
	submit_write(w, b);
}

/* Only the oldest batch is ever on its way to the disk (file header). */
static void on_write(struct wal *w, struct batch *b, int32_t res)
{
	assert(w->count && b == &w->b[w->head] && b->state == B_WRITING);
	if (res == -EINTR || res == -EAGAIN) {
		submit_write(w, b);
		return;
	}
	if (res <= 0) {
		fail(w, res < 0 ? res : -EIO, "write", b->segment);
		return;
	}
	w->stats.bytes_written += (uint64_t)res;
	b->written += (uint32_t)res;
	if (b->written < b->len) { /* short write: send the rest */
		w->stats.short_writes++;
		submit_write(w, b);
		return;
	}
	b->state = B_SYNCING;
	b->fsync_start_ns = mono_ns();
	int rc = storage_fsync(w->st, b->file, cookie(OP_FSYNC, (unsigned)(b - w->b)));
	if (!rc)
		rc = storage_submit(w->st);
	if (rc)
		fail(w, rc, "fdatasync", b->segment);
}

static void on_fsync(struct wal *w, struct batch *b, int32_t res)
{
	assert(w->count && b == &w->b[w->head] && b->state == B_SYNCING);
	if (res < 0) { /* never retried: the pages may be gone (docs/WAL.md) */
		fail(w, res, "fdatasync", b->segment);
		return;
	}
	w->stats.fsyncs++;
	w->stats.batches++;
	count_batch(&w->stats, b->last_lsn - w->durable_lsn, mono_ns() - b->fsync_start_ns);
	w->durable_lsn = b->last_lsn;
	if (b->close_after)
		storage_close(w->st, b->file);
	b->state = B_FREE;
	w->head = (w->head + 1) % WAL_BATCH_BUFFERS;
	w->count--;
	if (w->opt.on_durable)
		w->opt.on_durable(w->opt.user, w->durable_lsn);
}

static int reap(struct wal *w, int wait_min)
{
	struct storage_cqe cq[CQES_PER_POLL];
	int n = storage_poll(w->st, cq, CQES_PER_POLL, wait_min);
	if (n < 0)
		return n == -EINTR || n == -EAGAIN ? 0 : n;
	for (int i = 0; i < n; i++) {
		unsigned op = (unsigned)(cq[i].cookie >> 32), idx = (unsigned)cq[i].cookie;
		if (op == OP_ZERO || op == OP_ZSYNC) {
			on_zero(w, op, cq[i].res);
			continue;
		}
		/* open's own operations are reaped by wait_open_op */
		assert((op == OP_WRITE || op == OP_FSYNC) && idx < WAL_BATCH_BUFFERS);
		if (op == OP_WRITE)
			on_write(w, &w->b[idx], cq[i].res);
		else
			on_fsync(w, &w->b[idx], cq[i].res);
	}
	return n;
}

/* Blocks for at least one completion and handles it. */
static void wait_one(struct wal *w)
{
	int n = reap(w, 1);
	if (n < 0)
		fail(w, n, "completion wait", w->segment);
}

static bool in_flight(const struct wal *w)
{
	return w->count && (w->b[w->head].state == B_WRITING || w->b[w->head].state == B_SYNCING);
}

static int write_all(struct wal *w, int file, const uint8_t *buf, uint32_t len, uint64_t off);
static int sync_file(struct wal *w, int file);

/* Creates segment next and zero-fills it before returning (the first
 * segment, or when preparing the spare failed to start). */
static int create_zeroed(struct wal *w, uint64_t next)
{
	while (in_flight(w) && !w->error) /* the waits below take every completion */
		wait_one(w);
	if (w->error)
		return w->error;
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, w->opt.shard, next);
	int fd = storage_create(w->st, name, w->opt.segment_bytes);
	if (fd < 0)
		return fd;
	int rc = 0;
	for (uint64_t off = 0; !rc && off < w->opt.segment_bytes; off += zero_len(w, off))
		rc = write_all(w, fd, w->zero, zero_len(w, off), off);
	if (!rc)
		rc = sync_file(w, fd);
	if (rc) {
		storage_close(w->st, fd);
		storage_unlink(w->st, name);
	}
	return rc ? rc : fd;
}

/* The next segment's file: the spare once it is ready (waiting for it if
 * it is being zeroed), else one created and zeroed now. */
static int next_segment_file(struct wal *w, uint64_t next)
{
	if (w->spare == SP_ZEROING || w->spare == SP_SYNCING)
		w->stats.spare_waits++;
	while ((w->spare == SP_ZEROING || w->spare == SP_SYNCING) && !w->error)
		wait_one(w);
	if (w->error)
		return w->error;
	enum spare_state was = w->spare;
	w->spare = SP_NONE;
	return was == SP_READY ? w->spare_file : create_zeroed(w, next);
}

/* Ends the current segment and continues in the next, zero-filled one
 * (file and directory fsynced by storage_create, zeros by an fdatasync). */
static int rollover(struct wal *w)
{
	uint64_t next = w->segment + (w->has_segment ? 1 : 0);
	int fd = next_segment_file(w, next);
	if (fd < 0)
		return fd;
	if (w->has_segment) {
		struct batch *last = newest(w);
		if (last && last->segment == w->segment) {
			close_batch(w, last);
			last->close_after = true;
		} else {
			storage_close(w->st, w->seg_file);
		}
	}
	w->has_segment = true;
	w->seg_file = fd;
	w->segment = next;
	w->seg_bytes = w->opt.segment_bytes;
	w->seg_off = 0;
	w->stats.segments_created++;
	return 0;
}

int wal_append(struct wal *w, const void *body, uint32_t body_bytes, uint64_t *lsn)
{
	assert(w && (body || body_bytes == 0));
	if (w->error)
		return w->error;
	if (body_bytes > RECORD_BYTES_MAX)
		return -EMSGSIZE;
	uint32_t frame = walfmt_frame_bytes(body_bytes);
	uint64_t data_off = w->seg_off ? w->seg_off : WALFMT_SEGMENT_HEADER_BYTES;
	if (!w->has_segment || data_off + frame > w->seg_bytes) {
		int rc = rollover(w);
		if (rc)
			return rc;
	}
	struct batch *b = filling_batch(w, frame);
	if (!b) {
		w->stats.eagain++;
		kick(w);
		return -EAGAIN;
	}
	uint64_t n = w->next_lsn++;
	w->chain = walfmt_encode(b->buf + b->used, w->opt.shard, n, b->first_lsn - 1, w->chain,
				 body, body_bytes);
	b->used += frame;
	b->last_lsn = n;
	w->seg_off += frame;
	w->stats.records++;
	if (lsn)
		*lsn = n;
	return 0;
}

int wal_flush(struct wal *w)
{
	assert(w);
	kick(w);
	return w->error;
}

int wal_poll(struct wal *w)
{
	assert(w);
	int n;
	do {
		n = reap(w, 0);
		if (n < 0)
			fail(w, n, "completion wait", w->segment);
	} while (n == CQES_PER_POLL && !w->error);
	kick(w);
	return w->error;
}

int wal_wait(struct wal *w)
{
	assert(w);
	kick(w);
	if (in_flight(w) && !w->error)
		wait_one(w);
	return wal_poll(w);
}

int wal_sync(struct wal *w)
{
	assert(w);
	while (!w->error && w->durable_lsn + 1 < w->next_lsn)
		wal_wait(w);
	/* nothing in flight afterwards (snapshots use the same storage) */
	while (!w->error && (w->spare == SP_ZEROING || w->spare == SP_SYNCING))
		wait_one(w);
	return w->error;
}

/* ---- space for the next segment ------------------------------------- */

static bool spare_busy(const struct wal *w)
{
	return w->spare == SP_ZEROING || w->spare == SP_SYNCING;
}

/* Whether the current segment takes the largest frame without rollover. */
static bool room_here(const struct wal *w)
{
	uint64_t data_off = w->seg_off ? w->seg_off : WALFMT_SEGMENT_HEADER_BYTES;
	return w->has_segment && data_off + WALFMT_FRAME_BYTES_MAX <= w->seg_bytes;
}

int wal_reserve(struct wal *w, bool block)
{
	assert(w);
	if (w->error || room_here(w))
		return w->error;
	if (w->spare == SP_FAILED && !no_space(w->spare_error))
		w->spare = SP_NONE; /* once more now, as rollover would */
	prepare_spare(w);
	if (spare_busy(w) && !block)
		return -EINPROGRESS;
	if (spare_busy(w))
		w->stats.spare_waits++;
	while (spare_busy(w) && !w->error)
		wait_one(w);
	if (w->error || w->spare == SP_READY)
		return w->error;
	if (!no_space(w->spare_error))
		fail(w, w->spare_error, "create", w->segment + 1);
	return w->error ? w->error : w->spare_error;
}

int wal_space_error(const struct wal *w)
{
	assert(w);
	return w->spare == SP_FAILED && no_space(w->spare_error) ? w->spare_error : 0;
}

int wal_retry_space(struct wal *w)
{
	assert(w);
	if (w->error)
		return w->error;
	if (!wal_space_error(w))
		return 0;
	w->spare = SP_NONE;
	prepare_spare(w);
	return wal_space_error(w);
}

uint64_t wal_sent_lsn(const struct wal *w)
{
	assert(w);
	return w->sent_lsn > w->durable_lsn ? w->sent_lsn : w->durable_lsn;
}

const char *wal_error_op(const struct wal *w, uint64_t *segment)
{
	assert(w && segment);
	*segment = w->error_segment;
	return w->error ? w->error_op : NULL;
}

uint64_t wal_durable_lsn(const struct wal *w)
{
	assert(w);
	return w->durable_lsn;
}

uint64_t wal_next_lsn(const struct wal *w)
{
	assert(w);
	return w->next_lsn;
}

struct walfmt_sum wal_chain(const struct wal *w)
{
	assert(w);
	return w->chain;
}

int wal_error(const struct wal *w)
{
	assert(w);
	return w->error;
}

int wal_wait_fd(const struct wal *w)
{
	assert(w);
	return storage_wait_fd(w->st);
}

const struct wal_stats *wal_stats(const struct wal *w)
{
	assert(w);
	return &w->stats;
}

/* ---- open: options, truncation of a torn tail ----------------------- */

uint64_t wal_segment_bytes_min(void)
{
	uint64_t frame_max = WALFMT_SEGMENT_HEADER_BYTES + WALFMT_FRAME_BYTES_MAX;
	return (frame_max + WAL_PAGE_BYTES - 1) / WAL_PAGE_BYTES * WAL_PAGE_BYTES;
}

bool wal_segment_bytes_ok(uint64_t bytes)
{
	return bytes % WAL_PAGE_BYTES == 0 && bytes >= wal_segment_bytes_min() &&
	       bytes <= WAL_SEGMENT_BYTES_MAX;
}

static int check_options(struct wal_options *o)
{
	if (!o->segment_bytes)
		o->segment_bytes = WAL_SEGMENT_BYTES_DEFAULT;
	if (!o->batch_bytes_max)
		o->batch_bytes_max = WAL_BATCH_BYTES_MAX;
	if (!wal_segment_bytes_ok(o->segment_bytes))
		return -EINVAL;
	if (o->batch_bytes_max % WAL_PAGE_BYTES || o->batch_bytes_max > WAL_BATCH_BYTES_MAX ||
	    o->batch_bytes_max < 2 * (RECORD_BYTES_MAX + WAL_PAGE_BYTES))
		return -EINVAL;
	return 0;
}

/* Waits for the one operation open has in flight. */
static int wait_open_op(struct wal *w)
{
	struct storage_cqe cq;
	for (;;) {
		int n = storage_poll(w->st, &cq, 1, 1);
		if (n < 0 && n != -EINTR)
			return n;
		/* callers wait until nothing else is in flight */
		assert(n != 1 || cq.cookie == cookie(OP_OPEN, 0));
		if (n == 1)
			return cq.res;
	}
}

static int write_all(struct wal *w, int file, const uint8_t *buf, uint32_t len, uint64_t off)
{
	for (uint32_t done = 0; done < len;) {
		int rc = storage_write(w->st, file, buf + done, len - done, off + done,
				       cookie(OP_OPEN, 0));
		if (!rc)
			rc = storage_submit(w->st);
		if (!rc)
			rc = wait_open_op(w);
		if (rc <= 0)
			return rc < 0 ? rc : -EIO;
		if ((uint32_t)rc < len - done)
			w->stats.short_writes++;
		done += (uint32_t)rc;
	}
	return 0;
}

static int sync_file(struct wal *w, int file)
{
	int rc = storage_fsync(w->st, file, cookie(OP_OPEN, 0));
	if (!rc)
		rc = storage_submit(w->st);
	return rc ? rc : wait_open_op(w);
}

static int write_sync(struct wal *w, int file, const uint8_t *buf, uint32_t len, uint64_t off)
{
	int rc = write_all(w, file, buf, len, off);
	return rc ? rc : sync_file(w, file);
}

/* Zeroes everything the last batch could have touched after the end, so
 * no half-written frame from before the crash lingers past new records,
 * and syncs: after this every recovered record is durable. */
static int truncate_tail(struct wal *w)
{
	uint8_t *buf = w->b[0].buf;
	uint64_t file_off = align_down(w->seg_off);
	uint64_t end = align_up(w->seg_off) + w->opt.batch_bytes_max + WAL_PAGE_BYTES;
	if (end > w->seg_bytes)
		end = w->seg_bytes;
	uint32_t carry = (uint32_t)(w->seg_off - file_off);
	if (carry) {
		int64_t n = storage_read(w->st, w->seg_file, buf, WAL_PAGE_BYTES, file_off);
		if (n < 0)
			return (int)n;
		if ((uint64_t)n < carry)
			return -EIO;
		memcpy(w->tail, buf, carry);
	}
	memset(buf + carry, 0, end - file_off - carry);
	return write_sync(w, w->seg_file, buf, (uint32_t)(end - file_off), file_off);
}

static int remove_stale(struct wal *w, const struct wal_position *p)
{
	if (!p->has_stale)
		return 0;
	for (uint64_t s = p->stale_first; s <= p->stale_last; s++) {
		char name[STORAGE_NAME_BYTES_MAX];
		wal_segment_name(name, sizeof name, w->opt.shard, s);
		int rc = storage_unlink(w->st, name);
		if (rc && rc != -ENOENT)
			return rc;
	}
	return storage_sync_dir(w->st);
}

static int resume(struct wal *w, const struct wal_position *p)
{
	int rc = remove_stale(w, p);
	if (rc)
		return rc;
	w->next_lsn = p->next_lsn ? p->next_lsn : 1;
	w->durable_lsn = w->next_lsn - 1;
	w->chain = p->chain;
	w->segment = p->segment;
	w->has_segment = p->has_segment;
	if (!p->has_segment)
		return 0;
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, w->opt.shard, p->segment);
	int fd = storage_open(w->st, name);
	if (fd < 0)
		return fd;
	w->seg_file = fd;
	w->seg_bytes = p->segment_bytes;
	w->seg_off = p->offset;
	rc = truncate_tail(w);
	if (rc)
		storage_close(w->st, fd);
	return rc;
}

static void free_buffers(struct wal *w)
{
	for (unsigned i = 0; i < WAL_BATCH_BUFFERS; i++)
		free(w->b[i].buf);
	free(w->zero);
}

int wal_open(struct wal **out, struct storage *st, const struct wal_options *opt,
	     const struct wal_scan *scan)
{
	assert(out && st && opt);
	struct wal_scan own;
	struct wal *w = calloc(1, sizeof *w);
	if (!w)
		return -ENOMEM;
	w->st = st;
	w->opt = *opt;
	int rc = check_options(&w->opt);
	if (rc)
		goto out_free_wal;
	for (unsigned i = 0; i < WAL_BATCH_BUFFERS; i++) {
		w->b[i].buf = aligned_alloc(WAL_PAGE_BYTES,
					    w->opt.batch_bytes_max + 2 * WAL_PAGE_BYTES);
		rc = -ENOMEM;
		if (!w->b[i].buf)
			goto out_free_buffers;
	}
	w->zero = aligned_alloc(WAL_PAGE_BYTES, WAL_ZERO_CHUNK_BYTES);
	if (!w->zero)
		goto out_free_buffers;
	memset(w->zero, 0, WAL_ZERO_CHUNK_BYTES);
	if (!scan) {
		rc = wal_read(st, opt->shard, 0, NULL, NULL, &own);
		if (rc)
			goto out_free_buffers;
		scan = &own;
	}
	rc = -EUCLEAN;
	if (scan->status == WAL_READ_CORRUPT)
		goto out_free_buffers;
	rc = resume(w, &scan->end);
	if (!rc && !w->has_segment)
		rc = rollover(w); /* zero-fills the first segment now, not at the first append */
	if (rc)
		goto out_free_buffers;
	*out = w;
	return 0;

out_free_buffers:
	free_buffers(w);
out_free_wal:
	free(w);
	return rc;
}

void wal_close(struct wal *w)
{
	if (!w)
		return;
	for (unsigned i = 0; i < w->count; i++) {
		struct batch *b = &w->b[(w->head + i) % WAL_BATCH_BUFFERS];
		if (b->close_after)
			storage_close(w->st, b->file);
	}
	if (w->has_segment)
		storage_close(w->st, w->seg_file);
	if (w->spare != SP_NONE && w->spare != SP_FAILED)
		storage_close(w->st, w->spare_file);
	free_buffers(w);
	free(w);
}
