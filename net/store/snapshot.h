/*
 * snapshot.h — snapshot files of a shard's state: what bounds replay time.
 *
 * A snapshot is the state stream of core/serial.h wrapped in a header that
 * says which WAL prefix it covers (the LSN of the last record applied and
 * that record's chain value) and checksums both. It is written to a
 * temporary name, fsynced, renamed into place, and the directory fsynced;
 * only then may WAL segments wholly before it be removed.
 *
 * File name: snap-<lsn, 20 digits>.osnp in the shard's directory. The name
 * carries no shard id, so each shard needs a directory of its own (its WAL
 * segment names do carry the shard; its snapshots must not share a
 * directory with another shard's).
 *
 * snapshot_write does its I/O synchronously through st (write, fsync,
 * rename, directory fsync) and polls st for its own completions: call it
 * only when nothing else is in flight on st (shard_store does: after
 * wal_sync). The file is padded with zeros to whole WAL_PAGE_BYTES pages so
 * O_DIRECT storage works; body_bytes says where the state stream ends.
 * Layout (all little-endian; byte table in docs/WAL.md too):
 *
 *   off size field
 *     0    4 magic        "OSNP"
 *     4    1 version      1
 *     5    1 shard
 *     6    2 reserved     0
 *     8    8 lsn          last WAL record the state includes (0: none)
 *    16   16 chain        chain value of that record (zero when lsn is 0)
 *    32    8 body_bytes
 *    40   16 body_sum     XXH3-128 of the body
 *    56   16 state_hash   core_state_hash of the state (checked after load)
 *    72   16 header_sum   XXH3-128 of bytes 0..71
 *    88    n body         core_serialize output
 */
#ifndef ONSALE_SNAPSHOT_H
#define ONSALE_SNAPSHOT_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/core.h"
#include "core/storage.h"

struct serial_source; /* core/serial.h */

#define SNAPSHOT_HEADER_BYTES 88u
#define SNAPSHOT_NAME_BYTES 31u /* "snap-" + 20 digits + ".osnp" + NUL */
#define SNAPSHOT_IO_CHUNK_BYTES (8u << 20)

struct snapshot_info {
	uint64_t lsn;
	uint8_t chain[16];
	uint8_t shard;
	uint64_t body_bytes;
	struct state_hash hash;
	char name[40];
};

/* Writes c, covering the WAL up to lsn (with its chain value), as a new
 * snapshot in st's directory: temp file, fsync, rename, fsync directory.
 * 0 or -errno. */
int snapshot_write(struct storage *st, const struct core *c, uint64_t lsn, const uint8_t chain[16],
		   struct snapshot_info *out);

/* A snapshot written while the shard keeps serving (docs/WAL.md,
 * "Snapshots while serving"). The image is the state at lsn when the job
 * starts; it is written to "snap-<lsn>.osnp.tmp" and synced either by a
 * forked child (snapshot_job_fork: the loop does not stop for it) or in
 * steps through the shard's own storage (snapshot_job_begin: the
 * simulated disk; the image is copied at begin). Either way it is renamed
 * into place only once the WAL is durable up to lsn, then the directory
 * is fsynced; only after that does retention remove anything. */
enum snapshot_step {
	SNAPSHOT_STEP_CREATE,    /* in-process: create the temp file next */
	SNAPSHOT_STEP_WRITE,     /* writing (one chunk per in-process step) */
	SNAPSHOT_STEP_SYNC,      /* in-process: fsync the temp file next */
	SNAPSHOT_STEP_RENAME,    /* in-process: rename once the WAL is durable */
	SNAPSHOT_STEP_SYNC_DIR,  /* in-process: fsync the directory next */
	SNAPSHOT_STEP_PUBLISHED, /* the snapshot exists (forked: retention done too) */
};

/* What a writer outside the shard's loop (forked or replaying) needs to
 * publish on its own and apply the retention rule with plain syscalls. */
struct snapshot_fork_dirs {
	int dir_fd;     /* the shard's directory (the one its storage is on) */
	int archive_fd; /* -1: segments are removed, else moved in here */
	uint8_t shard;
};

/* What a shard and its writer outside the loop share: a page of its own
 * for a forked writer, in the replaying writer's memory for a thread. */
struct snapshot_shared {
	_Atomic uint64_t durable_lsn;                 /* the shard keeps it current */
	uint64_t segments_removed, segments_archived; /* the writer's results */
	int32_t retain_error;                         /* the writer's retention (-errno), 0: none */
	uint64_t image_us; /* the writer's start (fork, request) to image serialized */
	uint64_t cpu_us;   /* the writer's CPU time for the job when it ended */
};

struct snapshot_job {
	uint64_t lsn;
	uint64_t keep_lsn;              /* the snapshot kept besides this one */
	pid_t pid;                      /* the forked writer while it runs, else 0 */
	struct snapshot_replay *replay; /* the replaying writer while it runs, else NULL */
	struct snapshot_shared *shared; /* forked, replaying: shared results, else NULL */
	enum snapshot_step step;
	uint64_t durable_lsn; /* in-process: the WAL's, as last reported */
	int file;             /* in-process: the temp file, 0: none */
	uint8_t *img;         /* in-process: the image (mmap), NULL: none */
	uint64_t img_bytes, written;
};

/* Forks a writer of c at lsn into d->dir_fd. The writer writes and syncs
 * the temp file, waits until shared->durable_lsn reaches lsn (the shard
 * reports it with snapshot_job_durable), renames the file into place,
 * fsyncs the directory, then removes snapshots older than keep_lsn and
 * removes or archives the WAL segments wholly before it, so the shard's
 * loop does no snapshot I/O at all (net/store/snapshot_fork.c). 0 or -errno. */
int snapshot_job_fork(struct snapshot_job *j, const struct snapshot_fork_dirs *d,
		      const struct core *c, uint64_t lsn, const uint8_t chain[16],
		      uint64_t keep_lsn);
/* The replaying writer (net/store/snapshot_replay.c): a thread that keeps
 * a second copy of the shard's state, brings it up to a job's LSN from the
 * WAL files on the shard's directory (d->dir_fd) when a job starts, and
 * writes, publishes and retains as a forked writer does; between jobs it
 * follows the log's durable records. The loop neither forks nor copies
 * anything. create starts the thread (the copy is loaded
 * at the first job), destroy cancels a job in flight and joins it. */
struct snapshot_replay;
int snapshot_replay_create(struct snapshot_replay **out, const struct snapshot_fork_dirs *d);
void snapshot_replay_destroy(struct snapshot_replay *r);
/* Hands r the job of a snapshot at lsn (chain: record lsn's chain value,
 * which the copy must reach) keeping keep_lsn; the loop reports the WAL's
 * durable LSN with snapshot_job_durable. 0 or -errno. */
int snapshot_job_replay(struct snapshot_job *j, struct snapshot_replay *r, uint64_t lsn,
			const uint8_t chain[16], uint64_t keep_lsn);
/* As snapshot_job_poll for a replaying job: 1 running, 0 published and
 * retained, -errno failed (block: waits). The caller polls a replaying job
 * here and ends it with snapshot_replay_end (cancels a job in flight and
 * waits for the thread to let go of it) before snapshot_job_end: this file
 * loads snapshots with snapshot.c's loader, so snapshot.c does not call
 * back into it. */
int snapshot_replay_poll(struct snapshot_job *j, bool block);
void snapshot_replay_end(struct snapshot_job *j);
/* Between jobs the writer follows the log up to the durable LSN the loop
 * reports here (r may be NULL: nothing to tell). */
void snapshot_replay_durable(struct snapshot_replay *r, uint64_t durable_lsn);

/* Tells the job how far the WAL is durable. */
void snapshot_job_durable(struct snapshot_job *j, uint64_t durable_lsn);
/* Copies c at lsn into an image to be written in steps. 0 or -errno. */
int snapshot_job_begin(struct snapshot_job *j, const struct core *c, uint64_t lsn,
		       const uint8_t chain[16]);
/* Advances the job: 1 still running, 0 published (a forked writer has
 * also applied the retention rule; for an in-process job the caller does),
 * -errno failed (call snapshot_job_end). A forked job is only checked
 * (block: waited for); an in-process job does one synchronous step
 * through st (block: all it can), so nothing else may be in flight on st.
 * In-process steps: create, write (a chunk a step), fsync, rename (only
 * once snapshot_job_durable said the WAL reached lsn), fsync directory. */
int snapshot_job_poll(struct snapshot_job *j, struct storage *st, bool block);
/* Releases the job: kills and reaps a running writer, frees the image and
 * the shared page, no disk I/O (a temp file left behind is removed at the
 * next start). */
void snapshot_job_end(struct snapshot_job *j, struct storage *st);

/* Serializes c behind its header into a fresh page-aligned mapping, the
 * whole file image (free with munmap). Uses mmap, no allocator, so a
 * forked child may call it. 0 or -errno. */
int snapshot_image(const struct core *c, uint64_t lsn, const uint8_t chain[16], uint8_t **img,
		   uint64_t *img_bytes);
/* The header of an image written as a stream (snapshot_fork.c): h is
 * SNAPSHOT_HEADER_BYTES; body_sum the XXH3-128 of the body, low half
 * first, little-endian. */
void snapshot_image_header(uint8_t *h, uint8_t shard, uint64_t lsn, const uint8_t chain[16],
			   uint64_t body_bytes, const uint8_t body_sum[16]);
/* "snap-<lsn>.osnp" (temp: with ".tmp"), and back: 0 or -EINVAL. */
void snapshot_file_name(char *out, size_t cap, uint64_t lsn, bool temp);
int snapshot_parse_name(const char *name, uint64_t *lsn, bool temp);
/* net/store/snapshot_image.c, for loading: verifies an image of
 * file_bytes read from the snapshot named lsn (NULL and *out the loaded
 * core, else what is wrong), and fills out (may be NULL) from its header. */
const char *snapshot_image_check(const uint8_t *img, uint64_t file_bytes, uint8_t shard,
				 uint64_t lsn, struct core **out);
/* The same, the file read in pieces from its start (the first at least
 * the header; core/serial.h says what a source is): the body is summed and
 * deserialized as it passes, so no copy of the whole file is needed. A
 * refused body is read to its end, so damage is reported as a bad sum.
 * header receives the file's header (for snapshot_image_info). */
const char *snapshot_image_check_from(struct serial_source *file, uint64_t file_bytes,
				      uint8_t shard, uint64_t lsn, struct core **out,
				      uint8_t header[SNAPSHOT_HEADER_BYTES]);
void snapshot_image_info(struct snapshot_info *out, const uint8_t *h, uint64_t lsn);

/* net/store/snapshot_fork.c, for snapshot_job_poll and _end. */
int snapshot_fork_poll(struct snapshot_job *j, bool block);
void snapshot_fork_end(struct snapshot_job *j);

/* Loads the newest snapshot of shard that verifies (header, body checksum,
 * state stream, invariants, state hash); a damaged newer one is skipped and
 * reported through why. 0 and *out (caller destroys), -ENOENT when there is
 * no valid snapshot (start from an empty core), other -errno on I/O error. */
int snapshot_load_newest(struct storage *st, uint8_t shard, struct core **out,
			 struct snapshot_info *info, char *why, size_t why_cap);
/* The same, stopped with -ECANCELED (nothing loaded) at the next chunk
 * read once *cancel is set: how the replaying writer's thread loads its
 * copy without holding up a store that closes (a 375 MB state takes
 * about a second to load). */
int snapshot_load_newest_or_cancel(struct storage *st, uint8_t shard, const atomic_bool *cancel,
				   struct core **out, struct snapshot_info *info);

/* Appends a formatted note to the NUL-terminated text in why (cap bytes),
 * dropping what does not fit: how snapshot_load_newest and the shard store
 * build their recovery reports. why may be NULL (no report wanted). */
void snapshot_vnote(char *why, size_t cap, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
void snapshot_note(char *why, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Removes snapshots older than the one named keep. 0 or -errno. */
int snapshot_remove_older(struct storage *st, uint8_t shard, uint64_t keep_lsn);

/* Added with the implementation (net/store/snapshot.c): */

/* Removes "snap-*.osnp.tmp" files a crash left behind mid-write (never
 * valid: a snapshot exists only once renamed). 0 or -errno. */
int snapshot_remove_temps(struct storage *st);

/* The highest LSN a snapshot file's name in st carries, readable or not
 * (0: none). A snapshot is written only once the WAL is durable to its
 * LSN, so a WAL that ends before it lost records. 0 or -errno. */
int snapshot_newest_named(struct storage *st, uint64_t *lsn);

/* The file name of the snapshot covering lsn. 0 or -ENAMETOOLONG. */
int snapshot_name(char *out, size_t cap, uint64_t lsn);

#endif
