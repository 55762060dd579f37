/*
 * wal_format.h — the on-disk frame of a WAL record and of a segment file.
 *
 * The body of a record is opaque here (core/record.h describes it). This
 * file only frames it: who wrote it (shard), where it sits in the log (LSN),
 * what came before it (hash chain) and whether it arrived intact. Pure code:
 * no I/O, no clock. docs/WAL.md tells the same story with the recovery rules.
 *
 * All integers little-endian. Checksums are XXH3-128 stored as the low 64
 * bits then the high 64 bits.
 *
 * Frame (WALFMT_FRAME_HEADER_BYTES = 80, then the body, then zero padding to
 * a multiple of WALFMT_FRAME_ALIGN_BYTES = 8):
 *
 *   off size field
 *     0    4 magic        WALFMT_FRAME_MAGIC ("OSWR")
 *     4    1 version      WALFMT_VERSION
 *     5    1 shard        shard id of the writer
 *     6    2 reserved     0
 *     8    4 body_bytes   <= RECORD_BYTES_MAX
 *    12    4 reserved     0
 *    16    8 lsn          1 for the first record of a shard, +1 per record
 *    24    8 synced_lsn   highest LSN known durable when this frame's batch
 *                         was written (recovery's evidence, see docs/WAL.md)
 *    32   16 prev_chain   chain value of record lsn - 1 (zero before lsn 1)
 *    48   16 body_sum     XXH3-128 of the body bytes
 *    64   16 header_sum   XXH3-128 of bytes 0..63
 *    80    n body
 *  80+n    p zero padding, p = (8 - n % 8) % 8
 *
 * The chain value of a record is its header_sum: it covers the LSN, the
 * body checksum and the previous chain value, so it commits to the whole log
 * up to that record. The header checksum is verified before any other field
 * of the header is read.
 *
 * Segment header (the first WALFMT_SEGMENT_HEADER_BYTES = 4096 bytes of a
 * segment file; 64 bytes used, the rest zero; frames start at 4096):
 *
 *   off size field
 *     0    4 magic          WALFMT_SEGMENT_MAGIC ("OSWS")
 *     4    1 version        WALFMT_VERSION
 *     5    1 shard
 *     6    2 reserved       0
 *     8    8 segment        segment number (file name carries it too)
 *    16    8 first_lsn      LSN of the first frame in this segment
 *    24    8 segment_bytes  preallocated size of the file
 *    32   16 chain_start    chain value of record first_lsn - 1
 *    48   16 header_sum     XXH3-128 of bytes 0..47
 *
 * A segment header is written with the first batch into the segment, so a
 * preallocated segment that was never used has a zero header.
 */
#ifndef ONSALE_WAL_FORMAT_H
#define ONSALE_WAL_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include "core/limits.h"

#define WALFMT_VERSION 1
#define WALFMT_FRAME_MAGIC 0x5257534fu   /* "OSWR" little-endian */
#define WALFMT_SEGMENT_MAGIC 0x5357534fu /* "OSWS" little-endian */
#define WALFMT_FRAME_HEADER_BYTES 80u
#define WALFMT_FRAME_ALIGN_BYTES 8u
#define WALFMT_FRAME_BYTES_MAX (WALFMT_FRAME_HEADER_BYTES + RECORD_BYTES_MAX)
#define WALFMT_SEGMENT_HEADER_BYTES 4096u
#define WALFMT_SEGMENT_HEADER_USED_BYTES 64u

/* Byte offsets of the frame header fields. */
enum {
	WALFMT_OFF_MAGIC = 0,
	WALFMT_OFF_VERSION = 4,
	WALFMT_OFF_SHARD = 5,
	WALFMT_OFF_BODY_BYTES = 8,
	WALFMT_OFF_LSN = 16,
	WALFMT_OFF_SYNCED_LSN = 24,
	WALFMT_OFF_PREV_CHAIN = 32,
	WALFMT_OFF_BODY_SUM = 48,
	WALFMT_OFF_HEADER_SUM = 64,
};

/* Byte offsets of the segment header fields. */
enum {
	WALFMT_SEG_OFF_MAGIC = 0,
	WALFMT_SEG_OFF_VERSION = 4,
	WALFMT_SEG_OFF_SHARD = 5,
	WALFMT_SEG_OFF_SEGMENT = 8,
	WALFMT_SEG_OFF_FIRST_LSN = 16,
	WALFMT_SEG_OFF_SEGMENT_BYTES = 24,
	WALFMT_SEG_OFF_CHAIN_START = 32,
	WALFMT_SEG_OFF_HEADER_SUM = 48,
};

_Static_assert(WALFMT_SEGMENT_HEADER_BYTES == WAL_PAGE_BYTES, "frames start on a page");
_Static_assert(WALFMT_FRAME_HEADER_BYTES % WALFMT_FRAME_ALIGN_BYTES == 0, "frames stay aligned");
_Static_assert(RECORD_BYTES_MAX <= UINT32_MAX, "body_bytes is 32 bits");

/* A 128-bit chain value or checksum. */
struct walfmt_sum {
	uint64_t lo, hi;
};

/* A verified frame. body points into the bytes given to walfmt_decode. */
struct walfmt_frame {
	uint64_t lsn;
	uint64_t synced_lsn;
	struct walfmt_sum prev_chain;
	struct walfmt_sum chain; /* this record's chain value (its header_sum) */
	uint32_t body_bytes;
	uint32_t frame_bytes; /* header + body + padding */
	uint8_t shard;
	const uint8_t *body;
};

/* What walfmt_decode found. Only WALFMT_OK fills the frame. Whether a bad
 * frame is a torn tail or damage before it is not for the frame to say:
 * the reader decides from what follows it (docs/WAL.md). */
enum walfmt_verdict {
	WALFMT_OK = 0,
	WALFMT_ZERO,       /* header all zero: preallocated space, end of data */
	WALFMT_SHORT,      /* fewer bytes than the header or the frame needs */
	WALFMT_BAD_HEADER, /* header checksum mismatch (torn or corrupt) */
	WALFMT_BAD_FIELD,  /* checksum fine but magic, version, shard or length wrong */
	WALFMT_BAD_BODY,   /* body checksum mismatch or non-zero padding */
};

/* A verified segment header. */
struct walfmt_segment {
	uint64_t segment;
	uint64_t first_lsn;
	uint64_t segment_bytes;
	struct walfmt_sum chain_start;
	uint8_t shard;
};

/* Bytes a frame with a body of body_bytes takes, padding included. */
static inline uint32_t walfmt_frame_bytes(uint32_t body_bytes)
{
	uint32_t n = WALFMT_FRAME_HEADER_BYTES + body_bytes;
	return (n + WALFMT_FRAME_ALIGN_BYTES - 1) & ~(WALFMT_FRAME_ALIGN_BYTES - 1);
}

static inline int walfmt_sum_eq(struct walfmt_sum a, struct walfmt_sum b)
{
	return a.lo == b.lo && a.hi == b.hi;
}

/* The chain value before LSN 1. */
static inline struct walfmt_sum walfmt_chain_origin(void)
{
	return (struct walfmt_sum){0, 0};
}

/* Writes one frame into out (room for walfmt_frame_bytes(body_bytes)),
 * padding zeroed. Returns the chain value of the new record, which is the
 * prev_chain of the next one. body_bytes must be <= RECORD_BYTES_MAX. */
struct walfmt_sum walfmt_encode(uint8_t *out, uint8_t shard, uint64_t lsn, uint64_t synced_lsn,
				struct walfmt_sum prev_chain, const void *body,
				uint32_t body_bytes);

/* Verifies the frame at p (avail bytes readable) for shard. The header
 * checksum is checked before any other header field is used. */
enum walfmt_verdict walfmt_decode(const uint8_t *p, size_t avail, uint8_t shard,
				  struct walfmt_frame *f);

/* Verifies only the header (enough to learn a frame's length and LSN while
 * scanning); body_sum is not checked and f->body is not set. */
enum walfmt_verdict walfmt_decode_header(const uint8_t *p, size_t avail, uint8_t shard,
					 struct walfmt_frame *f);

/* Writes a segment header into out[WALFMT_SEGMENT_HEADER_BYTES] (unused
 * bytes zeroed). */
void walfmt_segment_encode(uint8_t *out, const struct walfmt_segment *s);

/* Verifies a segment header: WALFMT_OK, WALFMT_ZERO (never used),
 * WALFMT_SHORT, WALFMT_BAD_HEADER or WALFMT_BAD_FIELD (wrong shard). */
enum walfmt_verdict walfmt_segment_decode(const uint8_t *p, size_t avail, uint8_t shard,
					  struct walfmt_segment *s);

/* Lower-case name of a verdict ("bad_body"). */
const char *walfmt_verdict_name(enum walfmt_verdict v);

#endif
