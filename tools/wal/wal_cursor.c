/*
 * wal_cursor.c — walks a shard's raw WAL frames in LSN order and says where
 * each one lies (segment, offset).
 *
 * net/wal/wal_read.c is the authority on whether a log is clean, torn or
 * corrupt, and hands out record bodies; it does not say where a record sits
 * nor hand out its frame. truncate needs both (to cut at an LSN and save the
 * frames it drops verbatim), stats counts frame bytes, and follow needs a
 * position to resume from as the writer appends. This cursor verifies every
 * frame (walfmt_decode) and the chain as it goes and simply stops at the
 * first frame that does not fit; the verdict on why is left to wal_read.
 */
#include "tools/wal/wal_tool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct seg_list {
	uint8_t shard;
	uint64_t *segs;
	size_t n;
};

static int add_segment(void *ctx, const char *name)
{
	struct seg_list *l = ctx;
	uint64_t seg;

	if (wal_segment_parse(name, l->shard, &seg) == 0 && l->n < WAL_SEGMENTS_MAX)
		l->segs[l->n++] = seg;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void close_file(struct wt_cursor *c)
{
	if (c->file > 0)
		storage_close(c->st, c->file);
	c->file = 0;
	c->len = 0;
}

/* Opens segment seg and verifies its header into *h. 1 valid, 0 not, -errno. */
static int open_segment(struct wt_cursor *c, uint64_t seg, struct walfmt_segment *h)
{
	char name[STORAGE_NAME_BYTES_MAX];
	int64_t n;
	int fd;

	wal_segment_name(name, sizeof name, c->shard, seg);
	fd = storage_open(c->st, name);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	n = storage_read(c->st, fd, c->buf, WALFMT_SEGMENT_HEADER_BYTES, 0);
	if (n < 0) {
		storage_close(c->st, fd);
		return (int)n;
	}
	if (walfmt_segment_decode(c->buf, (size_t)n, c->shard, h) != WALFMT_OK ||
	    h->segment != seg) {
		storage_close(c->st, fd);
		return 0;
	}
	close_file(c);
	c->file = fd;
	return storage_size(c->st, fd, &c->size) ? -EIO : 1;
}

static void enter(struct wt_cursor *c, const struct walfmt_segment *h)
{
	c->segment = h->segment;
	c->segment_bytes = h->segment_bytes;
	c->offset = WALFMT_SEGMENT_HEADER_BYTES;
	c->next_lsn = h->first_lsn;
	c->chain = h->chain_start;
	c->len = 0;
}

/* The segment to start in: the last valid one starting at or before
 * from_lsn, else the first valid one. */
static int choose_start(struct wt_cursor *c, const struct seg_list *l, uint64_t from_lsn)
{
	struct walfmt_segment h, best = {0};
	int found = 0;

	for (size_t i = 0; i < l->n; i++) {
		int rc = open_segment(c, l->segs[i], &h);

		if (rc < 0)
			return rc;
		if (rc && (!found || h.first_lsn <= from_lsn)) {
			best = h;
			found = 1;
		}
	}
	close_file(c);
	if (!found)
		return -ENOENT;
	if (open_segment(c, best.segment, &h) != 1)
		return -EIO;
	enter(c, &h);
	return 0;
}

int wt_cursor_open(struct wt_cursor *c, struct storage *st, uint8_t shard, uint64_t from_lsn)
{
	struct seg_list l = {shard, NULL, 0};
	int rc = -ENOMEM;

	memset(c, 0, sizeof *c);
	c->st = st;
	c->shard = shard;
	c->buf = aligned_alloc(WAL_PAGE_BYTES, WAL_READ_CHUNK_BYTES);
	l.segs = calloc(WAL_SEGMENTS_MAX, sizeof *l.segs);
	if (!c->buf || !l.segs)
		goto out_free;
	rc = storage_list(st, add_segment, &l);
	if (rc)
		goto out_free;
	qsort(l.segs, l.n, sizeof *l.segs, cmp_u64);
	rc = choose_start(c, &l, from_lsn);
out_free:
	free(l.segs);
	if (rc) {
		free(c->buf);
		c->buf = NULL;
	}
	return rc;
}

void wt_cursor_close(struct wt_cursor *c)
{
	close_file(c);
	free(c->buf);
	c->buf = NULL;
}

void wt_cursor_refresh(struct wt_cursor *c)
{
	c->len = 0;
	if (c->file > 0 && storage_size(c->st, c->file, &c->size))
		c->size = 0;
}

/* Points *p at file offset pos with *avail bytes after it (at least a whole
 * frame when the file has them). */
static int view(struct wt_cursor *c, uint64_t pos, const uint8_t **p, size_t *avail)
{
	uint64_t end = c->base + c->len;

	if (pos < c->base || pos > end || c->len == 0 ||
	    (pos + WALFMT_FRAME_BYTES_MAX > end && end < c->size)) {
		int64_t n;

		c->base = pos & ~(uint64_t)(WAL_PAGE_BYTES - 1);
		n = storage_read(c->st, c->file, c->buf, WAL_READ_CHUNK_BYTES, c->base);
		if (n < 0)
			return (int)n;
		c->len = (uint32_t)n;
		end = c->base + c->len;
	}
	*p = c->buf + (pos - c->base);
	*avail = pos < end ? end - pos : 0;
	return 0;
}

/* Moves into the next segment when it exists and continues the chain.
 * 1 moved, 0 not, -errno. */
static int advance(struct wt_cursor *c)
{
	struct walfmt_segment h;
	uint64_t seg = c->segment, off = c->offset, size = c->size;
	int file = c->file;
	int rc;

	c->file = 0; /* keep the current segment open unless the next one fits */
	rc = open_segment(c, seg + 1, &h);
	if (rc == 1 && h.first_lsn == c->next_lsn && walfmt_sum_eq(h.chain_start, c->chain)) {
		storage_close(c->st, file);
		enter(c, &h);
		return 1;
	}
	if (rc == 1)
		close_file(c);
	c->file = file;
	c->segment = seg;
	c->offset = off;
	c->size = size;
	c->len = 0;
	return rc < 0 ? rc : 0;
}

int wt_cursor_next(struct wt_cursor *c, struct walfmt_frame *f, struct wt_frame_at *at,
		   const uint8_t **raw)
{
	for (;;) {
		const uint8_t *p;
		size_t avail;
		int rc = view(c, c->offset, &p, &avail);

		if (rc)
			return rc;
		if (walfmt_decode(p, avail, c->shard, f) == WALFMT_OK && f->lsn == c->next_lsn &&
		    walfmt_sum_eq(f->prev_chain, c->chain)) {
			*at = (struct wt_frame_at){c->segment, c->offset};
			*raw = p;
			c->offset += f->frame_bytes;
			c->next_lsn++;
			c->chain = f->chain;
			return 1;
		}
		rc = advance(c);
		if (rc <= 0)
			return rc;
	}
}

int wt_cursor_frame_at(struct wt_cursor *c, const struct wt_frame_at *at, struct walfmt_frame *f)
{
	const uint8_t *p;
	size_t avail;
	int rc;

	if (at->segment != c->segment)
		return -EXDEV;
	wt_cursor_refresh(c);
	rc = view(c, at->offset, &p, &avail);
	if (rc)
		return rc;
	return walfmt_decode(p, avail, c->shard, f) == WALFMT_OK;
}
