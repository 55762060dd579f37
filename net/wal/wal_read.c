/*
 * wal_read.c — recovery reader (contract and torn-versus-corrupt rule in
 * wal_read.h, long form in docs/WAL.md).
 *
 * Three passes, all read-only: list and order the segment files (a gap in
 * their numbers is corruption); read every segment header (only trailing
 * segments may have a bad or zero header: they were created but their first
 * batch never became durable); then walk the frames from the chosen start,
 * checking LSN and chain. Where the frames stop, everything after that point
 * is searched for evidence that the damaged LSN had once been durable.
 */
#include "net/wal/wal_read.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"

struct cursor {
	int file;
	uint64_t size;
	uint64_t base; /* buf holds file bytes [base, base + len) */
	uint32_t len;
	uint8_t *buf; /* WAL_READ_CHUNK_BYTES, page-aligned */
};

struct reader {
	struct storage *st;
	uint8_t shard;
	uint64_t *segs;
	size_t nsegs;
	struct walfmt_segment *hdr;
	enum walfmt_verdict *hdr_verdict;
	struct cursor c;
	struct wal_scan *out;
};

struct evidence {
	uint64_t synced_max; /* highest synced_lsn (or first_lsn - 1) seen */
	bool any;
	bool nonzero; /* non-zero bytes where the torn batch could have been */
};

int wal_segment_name(char *out, size_t cap, uint8_t shard, uint64_t segment)
{
	int n = snprintf(out, cap, "wal-%03u-%012llu.seg", shard, (unsigned long long)segment);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

int wal_segment_parse(const char *name, uint8_t shard, uint64_t *segment)
{
	unsigned s;
	unsigned long long n;
	int end = 0;
	if (sscanf(name, "wal-%3u-%12llu.seg%n", &s, &n, &end) != 2 || end != (int)strlen(name) ||
	    end != 24 || s != shard)
		return -EINVAL;
	*segment = n;
	return 0;
}

const char *wal_read_status_name(enum wal_read_status s)
{
	switch (s) {
	case WAL_READ_CLEAN: return "clean";
	case WAL_READ_TORN_TAIL: return "torn_tail";
	case WAL_READ_CORRUPT: return "corrupt";
	}
	return "unknown";
}

/* ---- segment list ---------------------------------------------------- */

struct list_ctx {
	struct reader *r;
	int err;
};

static int add_segment(void *ctx, const char *name)
{
	struct list_ctx *l = ctx;
	uint64_t seg;
	if (wal_segment_parse(name, l->r->shard, &seg))
		return 0;
	if (l->r->nsegs == WAL_SEGMENTS_MAX) {
		l->err = -EMFILE;
		return 1;
	}
	l->r->segs[l->r->nsegs++] = seg;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int list_segments(struct reader *r)
{
	struct list_ctx l = {r, 0};
	int rc = storage_list(r->st, add_segment, &l);
	if (l.err)
		return l.err;
	if (rc < 0)
		return rc;
	qsort(r->segs, r->nsegs, sizeof *r->segs, cmp_u64);
	return 0;
}

/* ---- chunked reading ---------------------------------------------------- */

static void cursor_close(struct reader *r)
{
	if (r->c.file > 0)
		storage_close(r->st, r->c.file);
	r->c.file = 0;
}

static int cursor_open(struct reader *r, uint64_t segment)
{
	char name[STORAGE_NAME_BYTES_MAX];
	cursor_close(r);
	wal_segment_name(name, sizeof name, r->shard, segment);
	int fd = storage_open(r->st, name);
	if (fd < 0)
		return fd;
	r->c.file = fd;
	r->c.base = r->c.len = 0;
	return storage_size(r->st, fd, &r->c.size);
}

/* Points *p at file offset pos with *avail bytes after it, reading a new
 * chunk when fewer than a whole frame remain and the file has more. */
static int view(struct reader *r, uint64_t pos, const uint8_t **p, size_t *avail)
{
	struct cursor *c = &r->c;
	uint64_t end = c->base + c->len;
	if (pos < c->base || pos > end || (pos + WALFMT_FRAME_BYTES_MAX > end && end < c->size)) {
		c->base = pos & ~(uint64_t)(WAL_PAGE_BYTES - 1);
		c->len = 0;
		if (c->base < c->size) {
			int64_t n = storage_read(r->st, c->file, c->buf, WAL_READ_CHUNK_BYTES,
						 c->base);
			if (n < 0)
				return (int)n;
			c->len = (uint32_t)n;
		}
		end = c->base + c->len;
	}
	*p = c->buf + (pos - c->base);
	*avail = pos < end ? end - pos : 0;
	return 0;
}

/* ---- evidence after damage ---------------------------------------------- */

static void note(struct evidence *ev, uint64_t synced)
{
	if (!ev->any || synced > ev->synced_max)
		ev->synced_max = synced;
	ev->any = true;
}

/* How many bytes of zeros p starts with, in whole frame-aligned words
 * (avail at least one word): a segment is zero-filled ahead of its
 * writer, so most of what scan_rest looks at is zeros, and a word at a
 * time through view() made every recovery and every onsale-wal read of a
 * mostly empty 64 MiB segment cost 40 ms of CPU. */
_Static_assert(WALFMT_FRAME_ALIGN_BYTES == sizeof(uint64_t), "a frame-aligned word is a u64");
static size_t zero_words(const uint8_t *p, size_t avail)
{
	size_t k = 0;
	for (; k + 64 <= avail; k += 64) {
		uint64_t w[8];
		memcpy(w, p + k, sizeof w);
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
			break;
	}
	for (; k + WALFMT_FRAME_ALIGN_BYTES <= avail; k += WALFMT_FRAME_ALIGN_BYTES) {
		uint64_t w;
		memcpy(&w, p + k, sizeof w);
		if (w)
			break;
	}
	return k;
}

/* Searches [from, end of file) of the open segment for valid frames. */
static int scan_rest(struct reader *r, uint64_t from, uint64_t window_end, struct evidence *ev)
{
	uint64_t pos = (from + WALFMT_FRAME_ALIGN_BYTES - 1) &
		       ~(uint64_t)(WALFMT_FRAME_ALIGN_BYTES - 1);
	while (pos < r->c.size) {
		const uint8_t *p;
		size_t avail;
		int rc = view(r, pos, &p, &avail);
		if (rc)
			return rc;
		if (avail < WALFMT_FRAME_ALIGN_BYTES)
			break;
		size_t zeros = zero_words(p, avail);
		if (zeros) { /* nothing there: no frame, no evidence */
			pos += zeros;
			continue;
		}
		if (pos < window_end)
			ev->nonzero = true;
		struct walfmt_frame f;
		if (get_u32(p) == WALFMT_FRAME_MAGIC &&
		    walfmt_decode(p, avail, r->shard, &f) == WALFMT_OK) {
			note(ev, f.synced_lsn);
			pos += f.frame_bytes;
			continue;
		}
		pos += WALFMT_FRAME_ALIGN_BYTES;
	}
	return 0;
}

/* Evidence from segment index i at offset off onwards, and from every
 * later segment (headers and frames). */
static int gather_evidence(struct reader *r, size_t i, uint64_t off, struct evidence *ev)
{
	uint64_t window = WAL_BATCH_BYTES_MAX + 2ull * WAL_PAGE_BYTES;
	for (size_t k = i; k < r->nsegs; k++) {
		if (k > i && r->hdr_verdict[k] == WALFMT_OK)
			note(ev, r->hdr[k].first_lsn - 1);
		int rc = cursor_open(r, r->segs[k]);
		if (rc)
			return rc;
		uint64_t from = k == i ? off : 0;
		rc = scan_rest(r, from, k == i ? off + window : UINT64_MAX, ev);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- headers and frames --------------------------------------------------- */

static void set_damage(struct reader *r, enum wal_read_status st, uint64_t seg, uint64_t off,
		       uint64_t lsn, enum walfmt_verdict v, const char *what)
{
	r->out->status = st;
	r->out->damage = (struct wal_damage){seg, off, lsn, v, what};
}

static int read_headers(struct reader *r)
{
	for (size_t i = 0; i < r->nsegs; i++) {
		const uint8_t *p;
		size_t avail;
		int rc = cursor_open(r, r->segs[i]);
		if (rc)
			return rc;
		/* one page, not a chunk: a header is all this pass needs, and a
		 * reader following the log reads every header on each pass */
		int64_t n = r->c.size ? storage_read(r->st, r->c.file, r->c.buf, WAL_PAGE_BYTES, 0)
				      : 0;
		if (n < 0)
			return (int)n;
		p = r->c.buf;
		avail = (size_t)n;
		r->c.base = 0;
		r->c.len = (uint32_t)n;
		r->hdr_verdict[i] = walfmt_segment_decode(p, avail, r->shard, &r->hdr[i]);
		if (r->hdr_verdict[i] == WALFMT_OK && r->hdr[i].segment != r->segs[i])
			r->hdr_verdict[i] = WALFMT_BAD_FIELD;
	}
	return 0;
}

static const char *frame_problem(enum walfmt_verdict v)
{
	switch (v) {
	case WALFMT_OK: return "record out of sequence (LSN or chain)";
	case WALFMT_ZERO: return "zeroed record";
	case WALFMT_SHORT: return "incomplete record";
	case WALFMT_BAD_HEADER: return "bad header checksum";
	case WALFMT_BAD_FIELD: return "bad header field";
	case WALFMT_BAD_BODY: return "bad body checksum";
	}
	return "damaged record";
}

/* The frames of segment i stopped at off with verdict v and lsn expected
 * next. i is the last segment with a valid header: decide torn or corrupt. */
static int finish(struct reader *r, size_t i, uint64_t off, uint64_t expected,
		  struct walfmt_sum chain, enum walfmt_verdict v)
{
	struct evidence ev = {0};
	int rc = gather_evidence(r, i, off, &ev);
	if (rc)
		return rc;
	if (ev.any && ev.synced_max >= expected) {
		set_damage(r, WAL_READ_CORRUPT, r->segs[i], off, expected, v, frame_problem(v));
		return 0;
	}
	struct wal_position *e = &r->out->end;
	e->has_segment = true;
	e->segment = r->segs[i];
	e->segment_bytes = r->hdr[i].segment_bytes;
	e->offset = off;
	e->next_lsn = expected;
	e->chain = chain;
	if (v != WALFMT_ZERO || ev.nonzero)
		set_damage(r, WAL_READ_TORN_TAIL, r->segs[i], off, expected, v, frame_problem(v));
	return 0;
}

/* Walks segment i's frames from its header; *next says whether the log
 * continues in segment i + 1. */
static int walk_segment(struct reader *r, size_t i, size_t last, uint64_t off, uint64_t from_lsn,
			wal_record_fn fn, void *ctx, uint64_t *expected, struct walfmt_sum *chain)
{
	int rc = cursor_open(r, r->segs[i]);
	if (rc)
		return rc;
	for (;;) {
		const uint8_t *p;
		size_t avail;
		struct walfmt_frame f;
		rc = view(r, off, &p, &avail);
		if (rc)
			return rc;
		enum walfmt_verdict v = walfmt_decode(p, avail, r->shard, &f);
		if (v == WALFMT_OK && f.lsn == *expected && walfmt_sum_eq(f.prev_chain, *chain)) {
			if (f.lsn == from_lsn) {
				r->out->has_from_chain = true;
				r->out->from_chain = *chain;
			}
			if (fn && f.lsn >= from_lsn) {
				r->out->at_segment = r->segs[i];
				r->out->at_offset = off;
				r->out->at_chain = f.chain;
				r->out->at_next_offset = off + f.frame_bytes;
				rc = fn(ctx, f.lsn, f.body, f.body_bytes);
				if (rc)
					return rc;
				r->out->records++;
			}
			++*expected;
			*chain = f.chain;
			off += f.frame_bytes;
			continue;
		}
		if (i == last)
			return finish(r, i, off, *expected, *chain, v);
		if (v != WALFMT_ZERO)
			set_damage(r, WAL_READ_CORRUPT, r->segs[i], off, *expected, v,
				   frame_problem(v));
		return 0;
	}
}

/* Checks that segment i continues the log exactly where i - 1 ended. */
static bool continues(struct reader *r, size_t i, uint64_t expected, struct walfmt_sum chain)
{
	const struct walfmt_segment *h = &r->hdr[i];
	if (h->first_lsn == expected && walfmt_sum_eq(h->chain_start, chain))
		return true;
	set_damage(r, WAL_READ_CORRUPT, r->segs[i], 0, expected, WALFMT_BAD_FIELD,
		   h->first_lsn > expected ? "records missing before this segment"
					   : "segment does not continue the chain");
	return false;
}

/* No segment has a valid header: a fresh log whose first segment's first
 * batch was lost, unless frames say otherwise (one written after LSN 1 was
 * durable: synced_lsn >= 1) or older segments are gone. Frames of that
 * first batch itself (synced_lsn 0) may survive a crash without its
 * header page: torn, like any record of the batch in flight. */
static int no_valid_segment(struct reader *r)
{
	struct evidence ev = {0};
	int rc = gather_evidence(r, 0, 0, &ev);
	if (rc)
		return rc;
	if (r->segs[0] != 0 || (ev.any && ev.synced_max >= 1)) {
		set_damage(r, WAL_READ_CORRUPT, r->segs[0], 0, ev.any ? ev.synced_max : 0,
			   r->hdr_verdict[0], "segment header damaged");
		return 0;
	}
	r->out->end = (struct wal_position){.segment = 0,
					    .next_lsn = 1,
					    .has_stale = true,
					    .stale_first = r->segs[0],
					    .stale_last = r->segs[r->nsegs - 1]};
	if (ev.nonzero || r->hdr_verdict[0] != WALFMT_ZERO)
		set_damage(r, WAL_READ_TORN_TAIL, 0, 0, 1, r->hdr_verdict[0],
			   "segment header damaged");
	return 0;
}

static int scan(struct reader *r, uint64_t from_lsn, const struct wal_resume *resume,
		wal_record_fn fn, void *ctx)
{
	struct wal_scan *out = r->out;
	for (size_t i = 1; i < r->nsegs; i++) {
		if (r->segs[i] != r->segs[i - 1] + 1) {
			set_damage(r, WAL_READ_CORRUPT, r->segs[i - 1] + 1, 0, 0, WALFMT_ZERO,
				   "segment missing");
			return 0;
		}
	}
	int rc = read_headers(r);
	if (rc)
		return rc;
	size_t last = r->nsegs;
	for (size_t i = 0; i < r->nsegs; i++)
		if (r->hdr_verdict[i] == WALFMT_OK)
			last = i;
	if (last == r->nsegs)
		return no_valid_segment(r);
	for (size_t i = 0; i < last; i++) {
		if (r->hdr_verdict[i] != WALFMT_OK) {
			set_damage(r, WAL_READ_CORRUPT, r->segs[i], 0, 0, r->hdr_verdict[i],
				   "segment header damaged");
			return 0;
		}
	}
	if (last + 1 < r->nsegs) {
		out->end.has_stale = true;
		out->end.stale_first = r->segs[last + 1];
		out->end.stale_last = r->segs[r->nsegs - 1];
	}
	size_t start = 0;
	for (size_t i = 0; i <= last; i++)
		if (r->hdr[i].first_lsn <= from_lsn)
			start = i;
	if (from_lsn && r->hdr[start].first_lsn > from_lsn)
		return -ERANGE;
	uint64_t expected = r->hdr[start].first_lsn;
	struct walfmt_sum chain = r->hdr[start].chain_start;
	uint64_t off = WALFMT_SEGMENT_HEADER_BYTES;
	if (resume && r->segs[start] == resume->segment &&
	    resume->offset >= WALFMT_SEGMENT_HEADER_BYTES) {
		expected = resume->next_lsn;
		chain = resume->chain;
		off = resume->offset;
	}
	out->first_lsn = r->hdr[0].first_lsn;
	for (size_t i = start; i <= last; i++) {
		if (i > start && !continues(r, i, expected, chain))
			return 0;
		rc = walk_segment(r, i, last, i == start ? off : WALFMT_SEGMENT_HEADER_BYTES,
				  from_lsn, fn, ctx, &expected, &chain);
		if (rc || out->status == WAL_READ_CORRUPT)
			return rc;
	}
	return 0;
}

static int read_log(struct storage *st, uint8_t shard, uint64_t from_lsn,
		    const struct wal_resume *resume, wal_record_fn fn, void *ctx,
		    struct wal_scan *out)
{
	struct reader r = {.st = st, .shard = shard, .out = out};
	int rc = -ENOMEM;
	memset(out, 0, sizeof *out);
	out->end.next_lsn = 1;
	r.segs = calloc(WAL_SEGMENTS_MAX, sizeof *r.segs);
	if (!r.segs)
		return rc;
	r.c.buf = aligned_alloc(WAL_PAGE_BYTES, WAL_READ_CHUNK_BYTES);
	if (!r.c.buf)
		goto out_free_segs;
	rc = list_segments(&r);
	if (rc)
		goto out_free_buf;
	out->segments = r.nsegs;
	if (!r.nsegs)
		goto out_free_buf; /* empty log: clean, start at segment 0, LSN 1 */
	rc = -ENOMEM;
	r.hdr = calloc(r.nsegs, sizeof *r.hdr);
	r.hdr_verdict = calloc(r.nsegs, sizeof *r.hdr_verdict);
	if (!r.hdr || !r.hdr_verdict)
		goto out_free_headers;
	rc = scan(&r, from_lsn, resume, fn, ctx);
	cursor_close(&r);
out_free_headers:
	free(r.hdr);
	free(r.hdr_verdict);
out_free_buf:
	free(r.c.buf);
out_free_segs:
	free(r.segs);
	return rc;
}

int wal_read(struct storage *st, uint8_t shard, uint64_t from_lsn, wal_record_fn fn, void *ctx,
	     struct wal_scan *out)
{
	return read_log(st, shard, from_lsn, NULL, fn, ctx, out);
}

int wal_read_resume(struct storage *st, uint8_t shard, const struct wal_resume *resume,
		    wal_record_fn fn, void *ctx, struct wal_scan *out)
{
	return read_log(st, shard, resume->next_lsn, resume, fn, ctx, out);
}
