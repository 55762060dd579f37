/*
 * wal.h — the per-shard WAL writer: group commit over the storage interface.
 *
 * Appends copy a framed record into the filling batch buffer and return at
 * once (no I/O, no allocation). One batch at a time goes to the disk: one
 * write of whole pages, then one fdatasync after the write completes; the
 * next batch fills meanwhile. A batch is durable when its fdatasync
 * completes; only then does wal_durable_lsn() move and on_durable run, for
 * the whole batch. Under light load a lone record goes out at the next
 * wal_flush()/wal_poll() without waiting for company.
 *
 * A failed fdatasync is never retried (the kernel may have dropped the
 * dirty pages): the WAL stops for good, every later call returns the error,
 * and the shard must stop. Short writes are finished; a failed write also
 * stops the WAL.
 *
 * Driving it from an event loop:
 *
 *   wal_append(w, ...)    per state change (-EAGAIN: buffers full, poll first)
 *   wal_flush(w)          end of a loop turn: send the filling batch if idle
 *   wal_wait_fd(w)        readable when completions wait (epoll / io_uring poll)
 *   wal_poll(w)           reap completions, release durable batches, send next
 *
 * Segments are preallocated files of opt.segment_bytes, created (file and
 * directory fsynced) when the previous one is full.
 */
#ifndef ONSALE_WAL_H
#define ONSALE_WAL_H

#include <stdbool.h>
#include <stdint.h>
#include "core/storage.h"
#include "net/wal/wal-t.h"
#include "net/wal/wal_read.h"

struct wal;

/* Histograms of durable batches (onsaled exports them, docs/OPERATIONS.md):
 * records per batch in bucket i when <= 1 << i, the last bucket for more;
 * fdatasync time (from submission to completion) in bucket i when <=
 * wal_fsync_us_bounds[i], the last bucket for more. */
#define WAL_BATCH_RECORDS_BUCKETS 12 /* <= 1, 2, 4 ... 1024, more */
#define WAL_FSYNC_US_BUCKETS 14
extern const uint32_t wal_fsync_us_bounds[WAL_FSYNC_US_BUCKETS - 1];

struct wal_stats {
	uint64_t records, batches, fsyncs, bytes_written, short_writes, segments_created;
	uint64_t eagain;      /* appends refused because every buffer was busy */
	uint64_t spare_waits; /* rollover waits for the next segment's zeroing */
	uint64_t batch_records[WAL_BATCH_RECORDS_BUCKETS]; /* histogram, as above */
	uint64_t fsync_us[WAL_FSYNC_US_BUCKETS];           /* histogram, as above */
	uint64_t batch_records_sum, fsync_us_sum;
};

/* Whether a segment size is one wal_open takes: a multiple of
 * WAL_PAGE_BYTES, from wal_segment_bytes_min() (a header and the largest
 * frame) to WAL_SEGMENT_BYTES_MAX. */
bool wal_segment_bytes_ok(uint64_t bytes);
uint64_t wal_segment_bytes_min(void);

/* Opens the writer of opt->shard on st. scan is a finished wal_read of the
 * same WAL (NULL: wal_open scans it itself). A corrupt WAL is refused with
 * -EUCLEAN. A torn tail is truncated: the bytes after the end are zeroed and
 * synced, stale segments removed. A new WAL's first segment is created and
 * zero-filled here (blocking); later ones are prepared ahead in the
 * background (net/wal/wal.c). Returns 0 or -errno. */
int wal_open(struct wal **out, struct storage *st, const struct wal_options *opt,
	     const struct wal_scan *scan);
/* Frees the writer without waiting for anything (call wal_sync first for a
 * clean shutdown). Does not destroy st. */
void wal_close(struct wal *w);

/* Queues one record; *lsn gets its LSN. Returns 0, -EAGAIN (every buffer
 * busy: call wal_poll and retry), -EMSGSIZE, or the WAL's stop error. */
int wal_append(struct wal *w, const void *body, uint32_t body_bytes, uint64_t *lsn);
/* Sends the filling batch if none is in flight. Returns 0 or the stop error. */
int wal_flush(struct wal *w);
/* Reaps completions without blocking (wal_wait blocks for at least one when
 * something is in flight), then flushes. Returns 0 or the stop error. */
int wal_poll(struct wal *w);
int wal_wait(struct wal *w);
/* Blocks until every appended record is durable and the next segment's
 * zeroing (if under way) is done: no WAL I/O is in flight afterwards.
 * Returns 0 or the stop error. */
int wal_sync(struct wal *w);

uint64_t wal_durable_lsn(const struct wal *w);
uint64_t wal_next_lsn(const struct wal *w);
/* Chain value of the last appended record (wal_next_lsn - 1; zero before
 * LSN 1). Once wal_sync has returned 0 it is the chain of the last durable
 * record: what a snapshot taken then records (net/store/snapshot.h). */
struct walfmt_sum wal_chain(const struct wal *w);
/* 0 while running, else the -errno that stopped it. */
int wal_error(const struct wal *w);
/* What stopped it: the operation ("fdatasync", "write", ...; NULL while
 * running or when an append's own rollover failed) and, in *segment, the
 * segment it was on. */
const char *wal_error_op(const struct wal *w, uint64_t *segment);
/* Last LSN handed to the disk (its batch written or being written); after
 * a stop, records in (wal_durable_lsn, wal_sent_lsn] may or may not be on
 * the disk, later ones are not. */
uint64_t wal_sent_lsn(const struct wal *w);

/*
 * Disk space (docs/WAL.md "When the disk is full"). The next segment (the
 * spare) is prepared ahead; when creating or zeroing it fails for lack of
 * space (-ENOSPC, -EDQUOT) it is removed and the WAL keeps going in the
 * current segment. Nothing retries it but wal_retry_space.
 *
 *   wal_reserve      before a change is made: 0 when the next append of any
 *                    record cannot fail for want of a segment (the current
 *                    one has room for the largest frame, or the spare is
 *                    ready: waited for when block, else -EINPROGRESS);
 *                    the space error when it could fail (paused: refuse
 *                    the change); or the stop error (another failure to
 *                    create the segment stops the WAL, as rollover would).
 *   wal_space_error  -ENOSPC/-EDQUOT while the spare is missing for lack of
 *                    space, else 0.
 *   wal_retry_space  tries to create the spare again (zeroing goes on in
 *                    the background); returns wal_space_error() after it.
 */
int wal_reserve(struct wal *w, bool block);
int wal_space_error(const struct wal *w);
int wal_retry_space(struct wal *w);
int wal_wait_fd(const struct wal *w);
const struct wal_stats *wal_stats(const struct wal *w);

#endif
