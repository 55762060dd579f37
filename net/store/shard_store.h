/*
 * shard_store.h — one shard's durable state machine: the core (core/core.h)
 * in front of its WAL (net/wal/wal.h) and its snapshots (net/store/snapshot.h), over
 * one storage directory (real files or the simulated disk).
 *
 *   shard_store_open      recovery: newest valid snapshot (or an empty core),
 *                         WAL replay from the snapshot's LSN + 1, torn tail
 *                         truncated and reported, damage before the tail or
 *                         a record the core refuses -> refuse to start
 *   shard_store_execute   core_execute, then wal_append of its record; the
 *                         caller gets the LSN its reply must wait for
 *   shard_store_poll      reap WAL completions (replies up to the durable
 *                         LSN may go), send the next batch, start or move
 *                         on a background snapshot when the policy says so
 *                         (shard_store_poll_at: the same with the loop's clock)
 *   shard_store_shutdown  clean stop: everything durable, a final snapshot
 *
 * Replies: a reply may leave once shard_store_durable_lsn() >= the wait LSN
 * execute gave for it. Every command gets a wait LSN, refusals and queries
 * too (the last LSN appended when it ran): a reply never shows state that a
 * crash could still take back (docs/WAL.md, "Shard store"). Either poll the
 * durable LSN after shard_store_poll, or pass on_durable: it runs once per
 * durable batch with the new durable LSN, from inside poll/wait/execute.
 * Keep wait LSNs in a FIFO: they never decrease, so release is a pop loop.
 *
 * A failed fdatasync or write stops the WAL, and with it the shard for good:
 * every later execute returns ST_UNAVAILABLE and shard_store_error() says
 * why (logged once on stderr: what failed, which segment, the last durable
 * LSN). Replies still waiting then get shard_store_lost_status(). Restarting
 * (a new shard_store_open) recovers from the disk.
 *
 * Out of disk space for the next WAL segment pauses changes instead: a
 * state-changing command gets ST_DISK_FULL before the core runs it (nothing
 * is applied), queries run, hold expiry waits. shard_store_tick, called by
 * the loop with its clock, retries the segment every WAL_SPACE_RETRY_MS and
 * the store resumes by itself when space is back (both logged).
 *
 * Single-threaded: one shard's loop owns its store. No allocation after
 * open except while a snapshot is being written.
 */
#ifndef ONSALE_SHARD_STORE_H
#define ONSALE_SHARD_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include "core/core.h"
#include "core/storage.h"
#include "net/wal/wal-t.h"
#include "net/wal/wal.h"
#include "net/wal/wal_read.h"

/* Snapshot policy defaults, the one place they are set (docs/WAL.md,
 * "Snapshot policy", says the same). A snapshot starts when any of these
 * has passed since the last one:
 *
 *   records  2,000,000: recovery replays ~3 M records/s (docs/PERFORMANCE.md),
 *            so the WAL after the newest snapshot replays in ~0.7 s; with
 *            the snapshot's own load a restart stays within 1-2 s.
 *   bytes    256 MiB: the same bound for large records (~130 bytes a
 *            record at 2 M records), four 64 MiB segments.
 *   time     15 minutes (only when something was appended): a quiet shard
 *            still trims and archives its WAL regularly and restarts from
 *            a recent state; replay time is no concern at that rate.
 *
 * Each is overridable (onsaled --snapshot-records, --snapshot-bytes,
 * --snapshot-seconds); SHARD_SNAPSHOT_OFF turns a trigger off. */
#ifndef SHARD_SNAPSHOT_RECORDS_DEFAULT
#define SHARD_SNAPSHOT_RECORDS_DEFAULT 2000000ull
#endif
#ifndef SHARD_SNAPSHOT_WAL_BYTES_DEFAULT
#define SHARD_SNAPSHOT_WAL_BYTES_DEFAULT (256ull << 20)
#endif
#ifndef SHARD_SNAPSHOT_INTERVAL_MS_DEFAULT
#define SHARD_SNAPSHOT_INTERVAL_MS_DEFAULT (15ull * 60 * 1000)
#endif
#define SHARD_SNAPSHOT_OFF UINT64_MAX
_Static_assert(SHARD_SNAPSHOT_RECORDS_DEFAULT > 0 && SHARD_SNAPSHOT_RECORDS_DEFAULT <= 6000000,
	       "default replay stays within ~2 s at ~3 M records/s");
_Static_assert(SHARD_SNAPSHOT_WAL_BYTES_DEFAULT >= WAL_SEGMENT_BYTES_DEFAULT,
	       "a snapshot interval spans at least one segment, or retention frees nothing");
_Static_assert(SHARD_SNAPSHOT_INTERVAL_MS_DEFAULT >= 60000, "time snapshots are a backstop");

/* Room for the human-readable recovery report. */
#define SHARD_STORE_MESSAGE_BYTES 1024

struct shard_store;
struct shard_store_stats;

/* Who writes a snapshot while the shard serves (docs/WAL.md, "Snapshots
 * while serving"). A forked or replaying writer publishes and applies the
 * retention rule itself, on snapshot_dir_fd (moving segments to
 * archive_dir_fd when archive is set). */
enum shard_snapshot_writer {
	SHARD_SNAPSHOT_STEPS,  /* an image copied at the start, written through
				* st in steps on later polls (simulated disk) */
	SHARD_SNAPSHOT_FORK,   /* a forked child writes the state as of the fork
				* (copy on write; net/store/snapshot_fork.c) */
	SHARD_SNAPSHOT_REPLAY, /* a thread with a second copy of the state,
				* replayed from the WAL (net/store/snapshot_replay.c) */
};

struct shard_store_options {
	uint8_t shard;
	uint64_t segment_bytes;        /* 0: WAL_SEGMENT_BYTES_DEFAULT */
	uint32_t batch_bytes_max;      /* 0: WAL_BATCH_BYTES_MAX */
	uint64_t snapshot_records;     /* 0: default; SHARD_SNAPSHOT_OFF: never */
	uint64_t snapshot_wal_bytes;   /* 0: default; SHARD_SNAPSHOT_OFF: never */
	uint64_t snapshot_interval_ms; /* 0: default; SHARD_SNAPSHOT_OFF: never */
	/* Policy snapshots run in the background, by snapshot_writer: */
	enum shard_snapshot_writer snapshot_writer;
	int snapshot_dir_fd; /* fork, replay, recovery: the directory st is on */
	/* fork, replay: where archive moves to; recovery reads archived
	 * segments from it when the directory's WAL starts too late */
	int archive_dir_fd;
	/* When set, a WAL segment no longer needed is handed to archive
	 * (which moves it away durably; 0 or -errno) instead of removed. */
	int (*archive)(void *user, const char *segment_name);
	/* When set, called after each background snapshot is published, and
	 * with lsn 0 when one failed (for the log). */
	void (*on_snapshot)(void *user, uint64_t lsn, const struct shard_store_stats *stats);
	void *snapshot_user;       /* for archive and on_snapshot */
	bool no_shutdown_snapshot; /* tests: shutdown only syncs */
	wal_durable_fn on_durable; /* may be NULL: poll shard_store_durable_lsn */
	void *user;
};

/* What recovery found. message is for the log: snapshots skipped, the torn
 * tail truncated, or why the shard refuses to start. */
struct shard_store_recovery {
	bool has_snapshot;
	uint64_t snapshot_lsn;
	char snapshot_name[40];
	uint64_t records_replayed;
	uint64_t last_lsn;               /* last record of the recovered state */
	enum wal_read_status wal_status; /* clean, torn tail (truncated), corrupt */
	struct wal_damage damage;        /* torn tail or corruption */
	uint64_t refused_lsn;            /* a record the core refused (0: none) */
	bool from_archive;               /* the WAL was read with archived segments */
	int archive_snapshot_error;      /* from_archive: the snapshot written before
					  * serving failed (-errno), 0: written */
	struct state_hash hash;          /* of the recovered state */
	char message[SHARD_STORE_MESSAGE_BYTES];
};

struct shard_store_stats {
	uint64_t executed, records;
	uint64_t snapshots, snapshot_failures;
	uint64_t snapshot_lsn;               /* newest snapshot written or loaded */
	uint64_t snapshot_last_us;           /* time the last snapshot stopped the shard */
	uint64_t snapshot_start_us_max;      /* longest start (fork or image copy) */
	uint64_t snapshot_start_cpu_us_max;  /* its CPU time: without waiting for a CPU */
	uint64_t snapshot_start_cpu_us_last; /* the last start's CPU time */
	/* Minor page faults the loop's thread took while the last background
	 * snapshot ran (start to published): for a forked writer, mostly the
	 * copy-on-write of pages the shard wrote while the child still shared
	 * them. */
	uint64_t snapshot_faults_last;
	uint64_t snapshot_write_us_last;      /* start to written, last one */
	uint64_t snapshot_image_us_last;      /* start to serialized (forked writer) */
	uint64_t snapshot_writer_cpu_us_last; /* the forked writer's CPU time, all of it */
	uint64_t segments_removed, segments_archived;
	int snapshot_error;        /* last snapshot failure (-errno), 0: none */
	int retain_error_last;     /* the last snapshot published: removing or archiving
				    * what it made obsolete, 0 or -errno (they stay
				    * and are tried again at the next snapshot) */
	uint64_t disk_full_events; /* times changes were paused for lack of space */
};

/* Recovers the shard from st and opens its WAL for appending. 0, or:
 *   -EUCLEAN  the data on disk is inconsistent (damage before the WAL's
 *             tail, a record the core refuses, a snapshot the WAL does not
 *             continue, WAL records missing from the directory and, when
 *             archive is set, from archive_dir_fd too): the shard must not start;
 *             rec->message says where (segment, offset, LSN);
 *   -errno    I/O error or out of memory.
 * rec is filled in every case. st must outlive the store. */
int shard_store_open(struct shard_store **out, struct storage *st,
		     const struct shard_store_options *opt, struct shard_store_recovery *rec);

/* Frees the store without any I/O (a crash, as far as the disk knows). */
void shard_store_close(struct shard_store *s);

/* Clean stop: waits until everything appended is durable, writes a
 * snapshot (unless opt.no_shutdown_snapshot), removes what it makes
 * obsolete, and closes. Returns 0 or the first error (the store is freed
 * either way). */
int shard_store_shutdown(struct shard_store *s);

/* Executes cmd at now_ms. *wait_lsn: the reply may leave once
 * shard_store_durable_lsn() >= *wait_lsn (0: at once). ST_UNAVAILABLE
 * when the shard is stopped, ST_DISK_FULL for a change while paused for
 * space (nothing executed either way). May block in wal_wait when both
 * batch buffers are busy (back-pressure), or for the next segment's zeroing
 * near the end of a segment (as rollover does). */
enum status shard_store_execute(struct shard_store *s, const struct cmd *cmd, uint64_t now_ms,
				struct result *res, uint64_t *wait_lsn);

/* The next hold due to expire at now_ms as a command to execute (see
 * core_next_expiry); 0 when none. */
int shard_store_next_expiry(struct shard_store *s, uint64_t now_ms, struct cmd *cmd);

/* End of a loop turn: send the filling batch if none is in flight. */
int shard_store_flush(struct shard_store *s);
/* Reaps completions without blocking, sends the next batch, and takes a
 * snapshot when the policy says one is due. 0 or the stop error. */
int shard_store_poll(struct shard_store *s);
/* As poll, with the loop's clock: the time trigger of the snapshot policy
 * counts from now_ms (the store reads no clock; execute's now_ms counts
 * too). */
int shard_store_poll_at(struct shard_store *s, uint64_t now_ms);
/* As poll, but blocks for at least one completion when I/O is in flight. */
int shard_store_wait(struct shard_store *s);
/* Blocks until everything appended is durable. 0 or the stop error. */
int shard_store_sync(struct shard_store *s);

/* Watches disk space for the WAL at now_ms (the loop's clock): retries the
 * next segment at most every WAL_SPACE_RETRY_MS while it is missing, and
 * resumes paused changes once it is there. Returns the ms until it wants to
 * run again (the loop's sleep bound), 0 when nothing is waiting for space.
 * Cheap when the disk is fine. */
uint32_t shard_store_tick(struct shard_store *s, uint64_t now_ms);
/* Changes are refused with ST_DISK_FULL right now. */
bool shard_store_paused(const struct shard_store *s);
/* The status of a reply that waited for wait_lsn when the shard stopped
 * before that LSN became durable. ST_OUTCOME_UNKNOWN when its command
 * changed state (changed) and its record was handed to the disk in the
 * batch that failed: it may or may not survive a restart. ST_UNAVAILABLE
 * otherwise: a query or refusal, or a record that never left memory (it is
 * gone with the stopped shard). */
enum status shard_store_lost_status(const struct shard_store *s, uint64_t wait_lsn, bool changed);

/* Takes a snapshot now: finishes one in the background first, syncs the
 * WAL, writes the state, then removes snapshots and WAL segments no longer
 * needed (the two newest snapshots and the WAL from the older of them are
 * kept). 0 or -errno; a failed snapshot does not stop the shard (the WAL
 * still has everything). 0 also when the snapshot was written but what it
 * made obsolete could not be removed or archived: the snapshot stands, the
 * error is in stats.retain_error_last (and given to on_snapshot). */
int shard_store_snapshot(struct shard_store *s);
/* Starts a background snapshot of the state at the last LSN appended (as
 * the policy does): 0 started, -EBUSY one is already running, -EALREADY
 * nothing new since the newest snapshot, other -errno. Later polls finish
 * it: once its file is durable and the WAL is durable up to its LSN, it is
 * renamed into place, the directory fsynced, then what it makes obsolete
 * is removed or archived. */
int shard_store_snapshot_start(struct shard_store *s);
/* Whether a background snapshot is running (the loop should come back to
 * poll even when idle). */
bool shard_store_snapshot_running(const struct shard_store *s);
/* In how many ms the time policy (snapshot_interval_ms) makes a snapshot
 * due, by the time last given (1 if due now), or 0 when time alone will
 * not (nothing logged since the last one, the time trigger off, or one
 * running, which the loop polls anyway): a quiet shard wakes for it. */
uint32_t shard_store_snapshot_wait_ms(const struct shard_store *s);

uint64_t shard_store_durable_lsn(const struct shard_store *s);
/* LSN of the last record appended (durable or not); 0 before any. */
uint64_t shard_store_last_lsn(const struct shard_store *s);
/* 0 while running, else the -errno that stopped the shard. */
int shard_store_error(const struct shard_store *s);
/* Readable when WAL completions wait (for the loop's poller), or -1. */
int shard_store_wait_fd(const struct shard_store *s);
/* The body of the record the last execute appended (*len 0: none); valid
 * until the next execute. Tests keep the history of a run with it. */
const uint8_t *shard_store_last_record(const struct shard_store *s, uint32_t *len);
/* The state, for queries that bypass execute (tests, tools). */
const struct core *shard_store_core(const struct shard_store *s);
const struct shard_store_stats *shard_store_stats(const struct shard_store *s);
/* The WAL writer's counters (bytes written, fdatasyncs, ...). */
const struct wal_stats *shard_store_wal_stats(const struct shard_store *s);
/* The options the store runs with (defaults filled in). */
const struct shard_store_options *shard_store_options_of(const struct shard_store *s);

#endif
