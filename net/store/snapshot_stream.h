/*
 * snapshot_stream.h — a snapshot written outside the shard's loop, with
 * plain syscalls on the shard's directory: by a forked child
 * (snapshot_fork.c) or by the replaying thread (snapshot_replay.c). Both
 * call down into snapshot_stream.c, which calls neither.
 *
 * The steps, each only after the one before succeeded (the caller runs
 * them in this order):
 *   1. snapshot_stream_write: serialize into "snap-<lsn>.osnp.tmp" a chunk
 *      at a time, the header over the first page last, fsync;
 *   2. snapshot_stream_wait_durable: until the shard reports the WAL
 *      durable up to lsn (a snapshot is never ahead of its log);
 *   3. snapshot_stream_publish: rename into place, fsync the directory;
 *   4. snapshot_stream_retain: remove snapshots older than keep_lsn and
 *      temp files of failed attempts, then the WAL segments wholly before
 *      keep_lsn, oldest first (or move them to the archive).
 * No allocator, no stdio, no io_uring: a forked child of a multi-threaded
 * process may call them. Errors are positive errno values.
 */
#ifndef ONSALE_SNAPSHOT_STREAM_H
#define ONSALE_SNAPSHOT_STREAM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "core/core.h"
#include "net/store/snapshot.h"

/* A writer's nice value: the shards keep their cores first, the snapshot
 * takes what is left (the policy bounds how much it has to do). */
#define SNAPSHOT_WRITER_NICE 10

struct snapshot_writer {
	const struct snapshot_fork_dirs *d;
	struct snapshot_shared *sh; /* durable_lsn in; the results out */
	uint64_t lsn, keep_lsn;
	uint64_t t0_us;            /* the job's start: sh->image_us counts from it */
	pid_t parent;              /* a forked child: stop once it is orphaned; 0: a thread */
	const atomic_bool *cancel; /* a thread: stop when set; NULL: never */
	bool let_go;               /* a forked child: drop its copy of the core once serialized */
};

/* CLOCK_MONOTONIC in microseconds. */
uint64_t snapshot_mono_us(void);
/* The calling thread (a forked child's only one, or the replaying
 * thread) on any core at SNAPSHOT_WRITER_NICE: the thread that forks or
 * creates it may be pinned to its shard's core, which stays the shard's. */
void snapshot_writer_lower_priority(void);
/* Whether the writer should give up (orphaned or cancelled). */
bool snapshot_writer_stopped(const struct snapshot_writer *w);

int snapshot_stream_write(const struct snapshot_writer *w, const struct core *c,
			  const uint8_t chain[16]);
int snapshot_stream_wait_durable(const struct snapshot_writer *w);
int snapshot_stream_publish(const struct snapshot_writer *w);
int snapshot_stream_retain(const struct snapshot_writer *w);

#endif
