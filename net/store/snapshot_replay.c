/*
 * snapshot_replay.c — the replaying snapshot writer: how a shard snapshots
 * while it keeps serving without a fork (docs/WAL.md, "Snapshots while
 * serving").
 *
 * A thread of its own keeps a second copy of the shard's state. The core
 * is deterministic, so applying the WAL's records to a copy gives the
 * state the shard had at each LSN, exactly as recovery does. When the
 * shard's policy asks for a snapshot at LSN n (snapshot_job_replay), the
 * thread waits until the WAL is durable up to n (the shard reports it
 * through the shared page, as to a forked writer), reads the records its
 * copy lacks from the WAL files (its own io_uring storage on the shard's
 * directory, O_DIRECT where the WAL is: no stale page cache), applies
 * them up to n, checks that the chain value of record n is the one the
 * shard gave, and then runs snapshot_stream.h's steps on its copy: write,
 * publish, retain. The shard's loop does no snapshot work but two atomic
 * stores to start a job and one load per turn to see it end: no fork, no
 * copy-on-write, no page-table copy, whatever the state's size.
 *
 * Between jobs the thread follows the log: every REPLAY_FOLLOW_MS (at
 * once after a pass that took longer) it applies the records that became
 * durable since (the loop publishes the durable LSN on each poll),
 * resuming where it stopped reading
 * (wal_read_resume), so that a job has only the last few records to apply
 * before it serializes, and the snapshot is not older than the state for
 * the time a long replay would take (the records arriving meanwhile would
 * make the next job longer still).
 *
 * When the copy is older than the shard directory's WAL (the shard
 * started from its archive and the snapshot it then wrote failed), the
 * records are read through the archive (net/wal/storage_ro.h).
 *
 * The price: the state twice in memory (the copy stays between
 * snapshots), and the thread's CPU to replay every record once more
 * (recovery's speed, ~3 M records/s) and to serialize. The copy is loaded
 * from the newest valid snapshot (or starts empty) at the first job, and
 * again whenever the WAL it needs is gone (a snapshot taken on request or
 * at stop retained past it) or a record failed to apply.
 *
 * The thread runs at SNAPSHOT_WRITER_NICE on any core. One job at a time;
 * a cancelled job (snapshot_replay_end) stops at the next record applied,
 * chunk written or read (loading the copy) or millisecond of waiting, and
 * publishes nothing.
 */
#include "net/store/snapshot.h"
#include "net/store/snapshot_stream.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/bytes.h"
#include "net/wal/storage_ro.h"
#include "net/wal/storage_uring.h"
#include "net/wal/wal_read.h"

enum { REPLAY_STOP_DONE = 1, REPLAY_STOP_CANCEL = 2, REPLAY_STOP_REFUSED = 3 };

/* How often an idle writer applies what became durable meanwhile. */
#define REPLAY_FOLLOW_MS 100

struct snapshot_replay {
	struct snapshot_fork_dirs d;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool quit;      /* under mu: the thread ends */
	bool requested; /* under mu: a job waits to be taken */
	/* the job, written by the shard before requested, read by the thread */
	uint64_t lsn, keep_lsn;
	uint8_t chain[16];
	atomic_bool cancel;
	atomic_bool done;         /* the thread finished the job: result is valid */
	_Atomic uint64_t durable; /* the WAL's durable LSN, as the loop last saw it */
	int result;               /* 0 published, else -errno */
	struct snapshot_shared sh;
	/* the thread's own */
	struct storage st;
	bool st_open;
	struct core *c;        /* the copy, NULL: load it first */
	uint64_t c_lsn;        /* the last record it includes */
	uint8_t c_chain[16];   /* that record's chain value */
	struct wal_resume pos; /* where the record after c_lsn starts, if has_pos */
	bool has_pos;
	uint64_t upto;               /* the replay under way stops after this LSN */
	const struct wal_scan *scan; /* during a replay: where each record is */
};

static void sum_bytes(struct walfmt_sum s, uint8_t out[16])
{
	put_u64(out, s.lo);
	put_u64(out + 8, s.hi);
}

static uint64_t thread_cpu_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void drop_copy(struct snapshot_replay *r)
{
	core_destroy(r->c);
	r->c = NULL;
	r->c_lsn = 0;
	r->has_pos = false;
}

/* The copy from the newest snapshot that verifies, or an empty core. */
static int load_copy(struct snapshot_replay *r)
{
	struct snapshot_info info;
	drop_copy(r);
	int rc = snapshot_load_newest_or_cancel(&r->st, r->d.shard, &r->cancel, &r->c, &info);
	if (rc == -ENOENT) {
		r->c = core_create(r->d.shard);
		memset(r->c_chain, 0, sizeof r->c_chain);
		return r->c ? 0 : -ENOMEM;
	}
	if (rc)
		return rc;
	r->c_lsn = info.lsn;
	memcpy(r->c_chain, info.chain, sizeof r->c_chain);
	return 0;
}

static int apply_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct snapshot_replay *r = ctx;
	const struct wal_scan *sc = r->scan;
	if (atomic_load_explicit(&r->cancel, memory_order_relaxed))
		return REPLAY_STOP_CANCEL;
	assert(lsn == r->c_lsn + 1 && lsn <= r->upto && "the replay continues the copy");
	if (!r->has_pos) { /* the copy was loaded: does the log continue it? */
		uint8_t before[16];
		sum_bytes(sc->from_chain, before);
		if (!sc->has_from_chain || memcmp(before, r->c_chain, sizeof before))
			return REPLAY_STOP_REFUSED;
	}
	if (core_apply(r->c, body, len) != ST_OK)
		return REPLAY_STOP_REFUSED;
	r->c_lsn = lsn;
	sum_bytes(sc->at_chain, r->c_chain);
	r->pos = (struct wal_resume){sc->at_segment, sc->at_next_offset, lsn + 1, sc->at_chain};
	r->has_pos = true;
	return lsn == r->upto ? REPLAY_STOP_DONE : 0;
}

/* The records after the copy from st, from where the last replay stopped. */
static int read_on(struct snapshot_replay *r, struct storage *st, struct wal_scan *scan)
{
	return r->has_pos ? wal_read_resume(st, r->d.shard, &r->pos, apply_one, r, scan)
			  : wal_read(st, r->d.shard, r->c_lsn + 1, apply_one, r, scan);
}

/* Applies the records after the copy up to upto (reading on from where
 * the last replay stopped): 0 (also when the log ends first), -ERANGE the
 * WAL after the copy is gone, -ECANCELED, -EUCLEAN a record did not apply
 * or the log does not continue a loaded copy (the copy is dropped: it is
 * no state of the log), -errno. */
static int replay_to(struct snapshot_replay *r, uint64_t upto)
{
	struct wal_scan scan;
	r->upto = upto;
	r->scan = &scan;
	int rc = read_on(r, &r->st, &scan);
	if (rc == -ERANGE && r->d.archive_fd >= 0) {
		/* the copy is older than the shard directory's WAL (the shard
		 * started from its archive, and no snapshot since): read on
		 * through the archive, as recovery did */
		struct storage ro;
		rc = storage_ro_open_fds(&ro, r->d.dir_fd, r->d.archive_fd);
		if (!rc) {
			rc = read_on(r, &ro, &scan);
			storage_destroy(&ro);
		}
	}
	r->scan = NULL;
	if (rc == REPLAY_STOP_REFUSED) {
		drop_copy(r);
		return -EUCLEAN;
	}
	if (rc == REPLAY_STOP_CANCEL)
		return -ECANCELED;
	return rc == REPLAY_STOP_DONE ? 0 : rc;
}

/* Brings the copy to the job's LSN; 0 or -errno. A copy that cannot get
 * there (the WAL after it was retained away, or it is past the job's LSN)
 * is loaded again once. */
static int catch_up(struct snapshot_replay *r)
{
	int rc = 0;
	for (int attempt = 0; attempt < 2; attempt++) {
		if (!r->c && (rc = load_copy(r)))
			return rc;
		if (r->c_lsn > r->lsn) {
			drop_copy(r);
			continue;
		}
		rc = r->c_lsn < r->lsn ? replay_to(r, r->lsn) : 0;
		if (rc != -ERANGE)
			break;
		drop_copy(r);
	}
	if (rc)
		return rc;
	if (!r->c || r->c_lsn != r->lsn)
		return -EUCLEAN; /* the log ends before, or a snapshot is past it */
	if (memcmp(r->c_chain, r->chain, sizeof r->chain)) {
		drop_copy(r); /* not the shard's log: never written */
		return -EUCLEAN;
	}
	return 0;
}

/* Between jobs: what became durable, into the copy (once there is one). A
 * failure waits for the next job, which loads the copy again if it must.
 * durable was read under the lock a job is handed over with: a job handed
 * over after it has an LSN at or past it, so a follow pass never takes
 * the copy past a job waiting to be taken. */
static void follow(struct snapshot_replay *r, uint64_t durable)
{
	if (!r->c || !r->st_open || durable <= r->c_lsn)
		return;
	if (replay_to(r, durable) == -ERANGE)
		drop_copy(r);
}

static int run_job(struct snapshot_replay *r)
{
	struct snapshot_writer w = {.d = &r->d,
				    .sh = &r->sh,
				    .lsn = r->lsn,
				    .keep_lsn = r->keep_lsn,
				    .t0_us = snapshot_mono_us(),
				    .cancel = &r->cancel};
	uint64_t cpu0 = thread_cpu_us();
	int rc = r->st_open ? 0
			    : -storage_uring_open_at(&r->st, r->d.dir_fd, STORAGE_URING_DIRECT_TRY);
	r->st_open = !rc;
	if (!rc)
		rc = snapshot_stream_wait_durable(&w);
	if (!rc)
		rc = -catch_up(r);
	if (!rc)
		rc = snapshot_stream_write(&w, r->c, r->chain);
	if (!rc && atomic_load(&r->cancel))
		rc = ECANCELED;
	if (!rc)
		rc = snapshot_stream_publish(&w);
	if (!rc)
		r->sh.retain_error = -snapshot_stream_retain(&w); /* published: it stands */
	if (rc) { /* unlike a killed child's, this temp file can go now */
		char tmp[40];
		snapshot_file_name(tmp, sizeof tmp, r->lsn, true);
		unlinkat(r->d.dir_fd, tmp, 0);
	}
	r->sh.cpu_us = thread_cpu_us() - cpu0;
	return -rc;
}

static void *thread_main(void *arg)
{
	struct snapshot_replay *r = arg;
	struct timespec at; /* the start of the last pass, then the next one's */
	snapshot_writer_lower_priority();
	clock_gettime(CLOCK_MONOTONIC, &at);
	pthread_mutex_lock(&r->mu);
	for (;;) {
		/* REPLAY_FOLLOW_MS after the last pass began, not after it ended:
		 * a pass that took longer (its records arrived as fast as the
		 * thread applies them) is followed at once, or the copy fell
		 * further behind with every pass and a job had seconds of
		 * records to apply first (docs/PERFORMANCE.md) */
		at.tv_nsec += REPLAY_FOLLOW_MS * 1000000L;
		at.tv_sec += at.tv_nsec / 1000000000L;
		at.tv_nsec %= 1000000000L;
		while (!r->quit && !r->requested)
			if (pthread_cond_timedwait(&r->cv, &r->mu, &at) == ETIMEDOUT)
				break;
		if (r->quit)
			break;
		bool job = r->requested;
		uint64_t durable = atomic_load_explicit(&r->durable, memory_order_acquire);
		r->requested = false;
		pthread_mutex_unlock(&r->mu);
		clock_gettime(CLOCK_MONOTONIC, &at);
		if (job) {
			r->result = run_job(r);
			atomic_store(&r->done, true);
		} else {
			follow(r, durable);
		}
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

int snapshot_replay_create(struct snapshot_replay **out, const struct snapshot_fork_dirs *d)
{
	struct snapshot_replay *r = calloc(1, sizeof *r);
	if (!r)
		return -ENOMEM;
	r->d = *d;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	int rc = pthread_create(&r->thread, NULL, thread_main, r);
	if (rc) {
		pthread_cond_destroy(&r->cv);
		pthread_mutex_destroy(&r->mu);
		free(r);
		return -rc;
	}
	char name[16];
	snprintf(name, sizeof name, "onsale-snap%u", d->shard);
	pthread_setname_np(r->thread, name);
	*out = r;
	return 0;
}

void snapshot_replay_destroy(struct snapshot_replay *r)
{
	if (!r)
		return;
	atomic_store(&r->cancel, true);
	pthread_mutex_lock(&r->mu);
	r->quit = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	if (r->st_open)
		storage_destroy(&r->st);
	core_destroy(r->c);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

int snapshot_job_replay(struct snapshot_job *j, struct snapshot_replay *r, uint64_t lsn,
			const uint8_t chain[16], uint64_t keep_lsn)
{
	memset(j, 0, sizeof *j);
	j->lsn = lsn;
	j->keep_lsn = keep_lsn;
	j->replay = r;
	j->shared = &r->sh;
	j->step = SNAPSHOT_STEP_WRITE;
	pthread_mutex_lock(&r->mu);
	r->sh = (struct snapshot_shared){0};
	r->lsn = lsn;
	r->keep_lsn = keep_lsn;
	memcpy(r->chain, chain, sizeof r->chain);
	atomic_store(&r->cancel, false);
	atomic_store(&r->done, false);
	r->requested = true;
	pthread_cond_signal(&r->cv);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

int snapshot_replay_poll(struct snapshot_job *j, bool block)
{
	struct snapshot_replay *r = j->replay;
	struct timespec ms = {0, 1000000};
	while (!atomic_load(&r->done)) {
		if (!block)
			return 1;
		nanosleep(&ms, NULL);
	}
	if (r->result)
		return r->result;
	j->step = SNAPSHOT_STEP_PUBLISHED;
	return 0;
}

void snapshot_replay_end(struct snapshot_job *j)
{
	struct snapshot_replay *r = j->replay;
	if (!r)
		return;
	atomic_store(&r->cancel, true);
	snapshot_replay_poll(j, true);
	atomic_store(&r->cancel, false); /* the thread goes on following */
	j->replay = NULL;
	j->shared = NULL;
}

void snapshot_replay_durable(struct snapshot_replay *r, uint64_t durable_lsn)
{
	if (r)
		atomic_store_explicit(&r->durable, durable_lsn, memory_order_release);
}
