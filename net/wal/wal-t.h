/*
 * wal-t.h — types shared by the WAL writer (wal.h) and the recovery reader
 * (wal_read.h): the writer's options and the position where a log ends.
 * Types only, so either header stays cheap to include.
 */
#ifndef ONSALE_WAL_T_H
#define ONSALE_WAL_T_H

#include <stdbool.h>
#include <stdint.h>
#include "core/wal_format.h"

/* Called once per batch that became durable, with the highest LSN now
 * durable (every record up to it survives any crash). */
typedef void (*wal_durable_fn)(void *user, uint64_t durable_lsn);

struct wal_options {
	uint8_t shard;
	uint64_t segment_bytes;    /* 0: WAL_SEGMENT_BYTES_DEFAULT */
	uint32_t batch_bytes_max;  /* 0: WAL_BATCH_BYTES_MAX; a multiple of WAL_PAGE_BYTES */
	wal_durable_fn on_durable; /* may be NULL: poll wal_durable_lsn() */
	void *user;
};

/* Where a shard's log ends, as recovery found it: the writer continues
 * there. Segments stale_first..stale_last (when has_stale) exist on disk but
 * hold nothing valid (a new segment whose first batch was lost): the writer
 * removes them. */
struct wal_position {
	bool has_segment;        /* false: no valid segment, start fresh */
	uint64_t segment;        /* segment holding the end */
	uint64_t segment_bytes;  /* its size, from its header */
	uint64_t offset;         /* byte offset of the end in it */
	uint64_t next_lsn;       /* LSN the next record gets */
	struct walfmt_sum chain; /* chain value of next_lsn - 1 */
	bool has_stale;
	uint64_t stale_first, stale_last;
};

#endif
