/*
 * wal_format.c — encoding and verification of WAL frames and segment
 * headers (layout in wal_format.h). Pure: bytes in, bytes or verdicts out.
 * Used by the writer before a frame is queued and by the reader on every
 * frame it returns, so a record is checked going out and coming back.
 */
#include "core/wal_format.h"

#include <assert.h>
#include <string.h>
#include <xxhash.h>
#include "core/bytes.h"

static void put_sum(uint8_t *p, struct walfmt_sum s)
{
	put_u64(p, s.lo);
	put_u64(p + 8, s.hi);
}

static struct walfmt_sum get_sum(const uint8_t *p)
{
	return (struct walfmt_sum){get_u64(p), get_u64(p + 8)};
}

static struct walfmt_sum sum(const void *p, size_t n)
{
	XXH128_hash_t h = XXH3_128bits(p, n);
	return (struct walfmt_sum){h.low64, h.high64};
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

struct walfmt_sum walfmt_encode(uint8_t *out, uint8_t shard, uint64_t lsn, uint64_t synced_lsn,
				struct walfmt_sum prev_chain, const void *body, uint32_t body_bytes)
{
	assert(out && (body || body_bytes == 0));
	assert(body_bytes <= RECORD_BYTES_MAX);
	assert(lsn > synced_lsn);
	uint32_t frame_bytes = walfmt_frame_bytes(body_bytes);

	put_u32(out + WALFMT_OFF_MAGIC, WALFMT_FRAME_MAGIC);
	out[WALFMT_OFF_VERSION] = WALFMT_VERSION;
	out[WALFMT_OFF_SHARD] = shard;
	put_u16(out + 6, 0);
	put_u32(out + WALFMT_OFF_BODY_BYTES, body_bytes);
	put_u32(out + 12, 0);
	put_u64(out + WALFMT_OFF_LSN, lsn);
	put_u64(out + WALFMT_OFF_SYNCED_LSN, synced_lsn);
	put_sum(out + WALFMT_OFF_PREV_CHAIN, prev_chain);
	put_sum(out + WALFMT_OFF_BODY_SUM, sum(body, body_bytes));
	struct walfmt_sum chain = sum(out, WALFMT_OFF_HEADER_SUM);
	put_sum(out + WALFMT_OFF_HEADER_SUM, chain);
	memcpy(out + WALFMT_FRAME_HEADER_BYTES, body, body_bytes);
	memset(out + WALFMT_FRAME_HEADER_BYTES + body_bytes, 0,
	       frame_bytes - WALFMT_FRAME_HEADER_BYTES - body_bytes);
	return chain;
}

enum walfmt_verdict walfmt_decode_header(const uint8_t *p, size_t avail, uint8_t shard,
					 struct walfmt_frame *f)
{
	assert(p && f);
	if (avail < WALFMT_FRAME_HEADER_BYTES)
		return all_zero(p, avail) ? WALFMT_ZERO : WALFMT_SHORT;
	struct walfmt_sum stored = get_sum(p + WALFMT_OFF_HEADER_SUM);
	if (!walfmt_sum_eq(stored, sum(p, WALFMT_OFF_HEADER_SUM)))
		return all_zero(p, WALFMT_FRAME_HEADER_BYTES) ? WALFMT_ZERO : WALFMT_BAD_HEADER;
	/* Only now are the fields trusted. */
	uint32_t body_bytes = get_u32(p + WALFMT_OFF_BODY_BYTES);
	uint64_t lsn = get_u64(p + WALFMT_OFF_LSN);
	if (get_u32(p + WALFMT_OFF_MAGIC) != WALFMT_FRAME_MAGIC ||
	    p[WALFMT_OFF_VERSION] != WALFMT_VERSION || p[WALFMT_OFF_SHARD] != shard ||
	    body_bytes > RECORD_BYTES_MAX || lsn == 0)
		return WALFMT_BAD_FIELD;
	f->lsn = lsn;
	f->synced_lsn = get_u64(p + WALFMT_OFF_SYNCED_LSN);
	f->prev_chain = get_sum(p + WALFMT_OFF_PREV_CHAIN);
	f->chain = stored;
	f->body_bytes = body_bytes;
	f->frame_bytes = walfmt_frame_bytes(body_bytes);
	f->shard = shard;
	f->body = NULL;
	return WALFMT_OK;
}

enum walfmt_verdict walfmt_decode(const uint8_t *p, size_t avail, uint8_t shard,
				  struct walfmt_frame *f)
{
	assert(p && f);
	struct walfmt_frame h;
	enum walfmt_verdict v = walfmt_decode_header(p, avail, shard, &h);
	if (v != WALFMT_OK)
		return v;
	if (avail < h.frame_bytes)
		return WALFMT_SHORT;
	const uint8_t *body = p + WALFMT_FRAME_HEADER_BYTES;
	if (!walfmt_sum_eq(get_sum(p + WALFMT_OFF_BODY_SUM), sum(body, h.body_bytes)) ||
	    !all_zero(body + h.body_bytes,
		      h.frame_bytes - WALFMT_FRAME_HEADER_BYTES - h.body_bytes))
		return WALFMT_BAD_BODY; /* padding is checked too: every byte is covered */
	h.body = body;
	*f = h;
	return WALFMT_OK;
}

void walfmt_segment_encode(uint8_t *out, const struct walfmt_segment *s)
{
	assert(out && s);
	memset(out, 0, WALFMT_SEGMENT_HEADER_BYTES);
	put_u32(out + WALFMT_SEG_OFF_MAGIC, WALFMT_SEGMENT_MAGIC);
	out[WALFMT_SEG_OFF_VERSION] = WALFMT_VERSION;
	out[WALFMT_SEG_OFF_SHARD] = s->shard;
	put_u64(out + WALFMT_SEG_OFF_SEGMENT, s->segment);
	put_u64(out + WALFMT_SEG_OFF_FIRST_LSN, s->first_lsn);
	put_u64(out + WALFMT_SEG_OFF_SEGMENT_BYTES, s->segment_bytes);
	put_sum(out + WALFMT_SEG_OFF_CHAIN_START, s->chain_start);
	put_sum(out + WALFMT_SEG_OFF_HEADER_SUM, sum(out, WALFMT_SEG_OFF_HEADER_SUM));
}

enum walfmt_verdict walfmt_segment_decode(const uint8_t *p, size_t avail, uint8_t shard,
					  struct walfmt_segment *s)
{
	assert(p && s);
	if (avail < WALFMT_SEGMENT_HEADER_USED_BYTES)
		return all_zero(p, avail) ? WALFMT_ZERO : WALFMT_SHORT;
	if (!walfmt_sum_eq(get_sum(p + WALFMT_SEG_OFF_HEADER_SUM),
			   sum(p, WALFMT_SEG_OFF_HEADER_SUM)))
		return all_zero(p, WALFMT_SEGMENT_HEADER_USED_BYTES) ? WALFMT_ZERO
								     : WALFMT_BAD_HEADER;
	if (get_u32(p + WALFMT_SEG_OFF_MAGIC) != WALFMT_SEGMENT_MAGIC ||
	    p[WALFMT_SEG_OFF_VERSION] != WALFMT_VERSION || p[WALFMT_SEG_OFF_SHARD] != shard ||
	    get_u64(p + WALFMT_SEG_OFF_FIRST_LSN) == 0)
		return WALFMT_BAD_FIELD;
	s->shard = shard;
	s->segment = get_u64(p + WALFMT_SEG_OFF_SEGMENT);
	s->first_lsn = get_u64(p + WALFMT_SEG_OFF_FIRST_LSN);
	s->segment_bytes = get_u64(p + WALFMT_SEG_OFF_SEGMENT_BYTES);
	s->chain_start = get_sum(p + WALFMT_SEG_OFF_CHAIN_START);
	return WALFMT_OK;
}

const char *walfmt_verdict_name(enum walfmt_verdict v)
{
	switch (v) {
	case WALFMT_OK: return "ok";
	case WALFMT_ZERO: return "zero";
	case WALFMT_SHORT: return "short";
	case WALFMT_BAD_HEADER: return "bad_header";
	case WALFMT_BAD_FIELD: return "bad_field";
	case WALFMT_BAD_BODY: return "bad_body";
	}
	return "unknown";
}
