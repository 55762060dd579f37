/*
 * wal_read.h — the recovery reader: walks a shard's WAL segments in order,
 * verifies every frame and the hash chain, hands each record from a given
 * LSN to a callback, and says how the log ends:
 *
 *   WAL_READ_CLEAN      the log ends in zeroed, preallocated space;
 *   WAL_READ_TORN_TAIL  the last batch was cut by a crash (torn, zeroed or
 *                       incomplete records); everything before it is whole.
 *                       The damage is reported (segment, offset, LSN) and
 *                       the writer truncates there;
 *   WAL_READ_CORRUPT    damage before the tail: a record that was once
 *                       durable is unreadable. Never dropped silently: the
 *                       shard must not start. damage says where.
 *
 * How the two damages are told apart (docs/WAL.md): batches are written one
 * at a time, each after the previous one's fdatasync, and every frame
 * carries synced_lsn, the LSN before its batch. A damaged record at LSN E is
 * a torn tail unless some valid frame after it says synced_lsn >= E (or a
 * later segment starts past E): then E was durable once, and it is corrupt.
 */
#ifndef ONSALE_WAL_READ_H
#define ONSALE_WAL_READ_H

#include <stddef.h>
#include <stdint.h>
#include "core/storage.h"
#include "net/wal/wal-t.h"

enum wal_read_status {
	WAL_READ_CLEAN = 0,
	WAL_READ_TORN_TAIL = 1,
	WAL_READ_CORRUPT = 2,
};

/* Where the log is damaged (torn tail or corruption). */
struct wal_damage {
	uint64_t segment;
	uint64_t offset; /* byte offset in the segment file */
	uint64_t lsn;    /* the LSN expected there */
	enum walfmt_verdict verdict;
	const char *what; /* static text: "bad body checksum", "segment missing" */
};

struct wal_scan {
	enum wal_read_status status;
	struct wal_damage damage; /* TORN_TAIL, CORRUPT */
	struct wal_position end;  /* CLEAN, TORN_TAIL: where the writer continues */
	uint64_t first_lsn;       /* first LSN held by the log (0: empty) */
	uint64_t records;         /* records handed to the callback */
	uint64_t segments;        /* segment files found */
	/* Chain value of record from_lsn - 1, set when a record at from_lsn
	 * was found (has_from_chain); lets a snapshot's chain be checked
	 * against the log it continues. */
	bool has_from_chain;
	struct walfmt_sum from_chain;
	/* Where the record being handed to the callback sits, and its chain
	 * value: valid during the callback and after it stopped the scan
	 * (nonzero return). */
	uint64_t at_segment, at_offset;
	struct walfmt_sum at_chain;
	uint64_t at_next_offset; /* where the record after it starts */
};

/* Where a reader left off: the record next_lsn starts at offset of
 * segment, and chain is the chain value of next_lsn - 1. After a callback
 * stopped the scan at record L: {at_segment, at_next_offset, L + 1,
 * at_chain}. */
struct wal_resume {
	uint64_t segment, offset, next_lsn;
	struct walfmt_sum chain;
};

/* Called for each record with lsn >= from_lsn, in order. Nonzero stops the
 * scan and is returned by wal_read. body is valid during the call only. */
typedef int (*wal_record_fn)(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t body_bytes);

/* Scans the WAL of shard in st. fn may be NULL (find the end only).
 * Returns 0 with the outcome in *out, the callback's nonzero value, or
 * -errno (-ENOMEM, -EIO from a read, -ERANGE when from_lsn is before the
 * oldest record kept). */
int wal_read(struct storage *st, uint8_t shard, uint64_t from_lsn, wal_record_fn fn, void *ctx,
	     struct wal_scan *out);

/* As wal_read from resume->next_lsn, but starting at resume's segment and
 * offset instead of its segment's first record: a reader that follows a
 * growing log reads each record once. A resume point whose segment is gone
 * reads as wal_read would. */
int wal_read_resume(struct storage *st, uint8_t shard, const struct wal_resume *resume,
		    wal_record_fn fn, void *ctx, struct wal_scan *out);

/* Segment file names: "wal-SSS-NNNNNNNNNNNN.seg" (shard, segment number). */
int wal_segment_name(char *out, size_t cap, uint8_t shard, uint64_t segment);
/* Parses a name; 0 and *segment set when it is a segment of shard. */
int wal_segment_parse(const char *name, uint8_t shard, uint64_t *segment);

const char *wal_read_status_name(enum wal_read_status s);

#endif
