/*
 * shard_store.c — one shard's durable state machine (contract in
 * shard_store.h, the story in docs/WAL.md "Snapshots, recovery, shard
 * store").
 *
 * Recovery order: remove temp files of interrupted snapshots; load the
 * newest snapshot that verifies (damaged newer ones are skipped and
 * reported); read the WAL from the snapshot's LSN + 1, applying each record
 * to the core; check that the snapshot and the WAL agree (the WAL reaches
 * the snapshot's LSN and the chain value there is the snapshot's); check the
 * invariants and hash the state again only when replay changed it; then
 * open the writer at the end of the log (which truncates a torn tail).
 * When the shard directory's WAL no longer reaches back to the state loaded
 * (every snapshot past its start damaged) and an archive is configured,
 * the WAL is read through the archive and the directory as one log
 * (net/wal/storage_ro.h), and a snapshot is written before the shard
 * serves, so the next start needs the archive no more.
 *
 * Retention: the two newest snapshots and the WAL from the older of them
 * are kept, so a damaged newest snapshot falls back to the previous one plus
 * a longer replay instead of refusing to start. Segments are removed oldest
 * first, so a crash between removals leaves the log contiguous.
 *
 * A snapshot is taken only when everything appended is durable (after
 * wal_sync): its LSN and chain value are the writer's, and no WAL I/O is in
 * flight while snapshot_write uses the same storage.
 *
 * Disk trouble (docs/OPERATIONS.md): a WAL stop is logged once with what
 * failed where and the last durable LSN. Out of space for the next segment
 * pauses changes: execute asks wal_reserve before the core runs a change
 * and refuses it with ST_DISK_FULL when the record might not find a
 * segment, so the core never holds a change the log could not take.
 * shard_store_tick retries the segment every WAL_SPACE_RETRY_MS on the
 * caller's clock and resumes by itself.

 * Snapshots: the policy (records, WAL bytes, time since the last one, the
 * time from the loop) starts a background job at the last LSN appended:
 * forked (net/store/snapshot_fork.c: the child also publishes, once the WAL is
 * durable to that LSN, and applies retention) or in steps through the
 * storage (the simulated disk; the WAL is synced before each step so no
 * WAL I/O is in flight on the shared queue). One job at a time. Snapshots
 * on request and at shutdown are synchronous, after wal_sync, as before.
 */
#include "net/store/shard_store.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "core/mem.h"
#include "net/store/snapshot.h"
#include "net/wal/log.h"
#include "net/wal/storage_ro.h"
#include "net/wal/wal.h"

struct shard_store {
	struct storage *st;
	struct shard_store_options opt;
	struct core *c;
	struct wal *w;
	int error; /* sticky: the shard is stopped */
	uint64_t last_lsn;
	uint32_t rec_len; /* of the last execute's record, 0: none */
	bool has_snapshot;
	uint64_t snapshot_lsn;  /* newest snapshot known valid */
	uint64_t since_records; /* appended since it */
	uint64_t since_bytes;
	bool paused;      /* changes refused: no segment for their records */
	bool space_noted; /* the missing spare was logged */
	uint64_t paused_at_ms, retry_at_ms;
	uint64_t now_ms;         /* newest time execute or tick gave */
	uint64_t since_ms;       /* time of the last snapshot start */
	struct snapshot_job job; /* the background snapshot */
	bool job_running;
	struct snapshot_replay *replay; /* SHARD_SNAPSHOT_REPLAY: from the first job */
	uint64_t job_keep_lsn;          /* the snapshot kept besides the job's */
	uint64_t job_t0_us;
	uint64_t job_faults0; /* the thread's minor faults at its start */
	struct shard_store_stats stats;
	uint8_t rec[RECORD_BYTES_MAX]; /* core_execute writes records here */
};

static void __attribute__((format(printf, 2, 3))) say(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	snapshot_vnote(msg, SHARD_STORE_MESSAGE_BYTES, fmt, ap);
	va_end(ap);
}

static uint64_t clock_us(clockid_t id)
{
	struct timespec t;
	clock_gettime(id, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

/* For the stats only: the policy's time comes from the caller. */
static uint64_t now_us(void)
{
	return clock_us(CLOCK_MONOTONIC);
}

/* For the stats only: minor faults of the calling thread so far. */
static uint64_t thread_faults(void)
{
	struct rusage ru;
	return getrusage(RUSAGE_THREAD, &ru) ? 0 : (uint64_t)ru.ru_minflt;
}

/* Ends the background job, whichever writer runs it (a replaying one is
 * polled and ended here: snapshot.c does not call up into it). */
static void job_end(struct shard_store *s)
{
	snapshot_replay_end(&s->job);
	snapshot_job_end(&s->job, s->st);
}

/* The job runs outside the loop (forked or replaying): it publishes and
 * retains itself, and waits for the durable LSN the loop reports. */
static bool job_outside(const struct shard_store *s)
{
	return s->job.pid || s->job.replay;
}

static int job_poll(struct shard_store *s, bool block)
{
	if (s->job.replay)
		return snapshot_replay_poll(&s->job, block);
	return snapshot_job_poll(&s->job, s->st, block);
}

static void sum_to_bytes(struct walfmt_sum s, uint8_t out[16])
{
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t)(s.lo >> (8 * i));
		out[8 + i] = (uint8_t)(s.hi >> (8 * i));
	}
}

static bool sum_is_bytes(struct walfmt_sum s, const uint8_t b[16])
{
	uint8_t mine[16];
	sum_to_bytes(s, mine);
	return !memcmp(mine, b, 16);
}

/* ---- recovery ---------------------------------------------------------- */

struct replay {
	struct core *c;
	struct wal_scan *scan;
	uint64_t refused_lsn, segment, offset;
	enum status why;
};

static int replay_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct replay *r = ctx;
	enum status st = core_apply(r->c, body, len);
	if (st == ST_OK)
		return 0;
	r->refused_lsn = lsn;
	r->why = st;
	r->segment = r->scan->at_segment;
	r->offset = r->scan->at_offset;
	return 1;
}

/* The newest valid snapshot into *c, or an empty core. */
static int load_state(struct shard_store *s, struct shard_store_recovery *rec,
		      struct snapshot_info *info)
{
	char why[512];
	int rc = snapshot_load_newest(s->st, s->opt.shard, &s->c, info, why, sizeof why);
	if (why[0])
		say(rec->message, "snapshots: %s", why);
	if (rc == -ENOENT) {
		s->c = core_create(s->opt.shard);
		return s->c ? 0 : -ENOMEM;
	}
	if (rc) {
		say(rec->message, "snapshot load failed: %s; ", strerror(-rc));
		return rc;
	}
	rec->has_snapshot = s->has_snapshot = true;
	rec->snapshot_lsn = s->snapshot_lsn = info->lsn;
	memcpy(rec->snapshot_name, info->name, sizeof rec->snapshot_name);
	say(rec->message, "loaded %s (LSN %" PRIu64 "); ", info->name, info->lsn);
	return 0;
}

static int __attribute__((format(printf, 2, 3)))
refuse(struct shard_store_recovery *rec, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	snapshot_vnote(rec->message, SHARD_STORE_MESSAGE_BYTES, fmt, ap);
	va_end(ap);
	say(rec->message, "; refusing to start");
	return -EUCLEAN;
}

/* Whether the scan continues the loaded snapshot exactly. */
static int check_continuity(struct shard_store *s, const struct wal_scan *scan,
			    const struct snapshot_info *snap, struct shard_store_recovery *rec)
{
	uint64_t from = s->snapshot_lsn + 1;
	if (scan->end.next_lsn < from)
		return refuse(rec,
			      "snapshot covers LSN %" PRIu64 " but the WAL ends at LSN %" PRIu64,
			      s->snapshot_lsn, scan->end.next_lsn - 1);
	struct walfmt_sum at = scan->end.next_lsn == from ? scan->end.chain : scan->from_chain;
	if (scan->end.next_lsn != from && !scan->has_from_chain)
		return refuse(rec, "WAL record %" PRIu64 " (after the snapshot) not found", from);
	if (!sum_is_bytes(at, snap->chain))
		return refuse(rec, "snapshot chain value differs from the WAL's at LSN %" PRIu64,
			      s->snapshot_lsn);
	return 0;
}

static bool has_archive(const struct shard_store *s)
{
	return s->opt.archive && s->opt.archive_dir_fd >= 0 && s->opt.snapshot_dir_fd >= 0;
}

/* The live WAL starts after `from`: the same read through the archive
 * and the shard directory as one log (-ERANGE when the archive lacks it
 * too). */
static int replay_archived(struct shard_store *s, uint64_t from, struct replay *r,
			   struct wal_scan *scan, struct shard_store_recovery *rec)
{
	struct storage ro;
	assert(has_archive(s));
	int rc = storage_ro_open_fds(&ro, s->opt.snapshot_dir_fd, s->opt.archive_dir_fd);
	if (rc)
		return rc;
	rc = wal_read(&ro, s->opt.shard, from, replay_one, r, scan);
	storage_destroy(&ro);
	if (rc != -ERANGE) {
		rec->from_archive = true;
		say(rec->message,
		    "the shard directory's WAL starts after LSN %" PRIu64
		    ": read with the archived segments; ",
		    from);
	}
	return rc;
}

static int replay(struct shard_store *s, struct wal_scan *scan, struct shard_store_recovery *rec)
{
	struct replay r = {.c = s->c, .scan = scan};
	uint64_t from = s->snapshot_lsn + 1;
	int rc = wal_read(s->st, s->opt.shard, from, replay_one, &r, scan);
	if (rc == -ERANGE && has_archive(s))
		rc = replay_archived(s, from, &r, scan, rec);
	rec->records_replayed = scan->records;
	rec->wal_status = scan->status;
	rec->damage = scan->damage;
	if (rc == 1) {
		rec->refused_lsn = r.refused_lsn;
		return refuse(rec,
			      "WAL record LSN %" PRIu64 " (segment %" PRIu64 ", offset %" PRIu64
			      ") refused by the state machine: %s",
			      r.refused_lsn, r.segment, r.offset, status_name(r.why));
	}
	if (rc == -ERANGE)
		return refuse(rec, "WAL records from LSN %" PRIu64 " (%s) are gone%s", from,
			      s->has_snapshot ? "after the snapshot" : "no snapshot loaded",
			      has_archive(s) ? ", from the WAL archive too"
					     : " (no WAL archive configured)");
	if (rc) {
		say(rec->message, "WAL read failed: %s; ", strerror(-rc));
		return rc;
	}
	const struct wal_damage *d = &scan->damage;
	if (scan->status == WAL_READ_CORRUPT)
		return refuse(rec,
			      "WAL corrupt at segment %" PRIu64 ", offset %" PRIu64 ", LSN %" PRIu64
			      ": %s",
			      d->segment, d->offset, d->lsn, d->what);
	if (scan->status == WAL_READ_TORN_TAIL)
		say(rec->message,
		    "torn tail truncated at segment %" PRIu64 ", offset %" PRIu64 ", LSN %" PRIu64
		    " (%s); ",
		    d->segment, d->offset, d->lsn, d->what);
	return 0;
}

/* A snapshot file past the recovered log means WAL records were lost
 * (segments removed or moved by hand), not that there were none. */
static int check_snapshot_names(struct shard_store *s, uint64_t last_lsn,
				struct shard_store_recovery *rec)
{
	uint64_t newest;
	int rc = snapshot_newest_named(s->st, &newest);
	if (rc)
		return rc;
	if (newest > last_lsn)
		return refuse(rec,
			      "snapshot file snap-%020" PRIu64 ".osnp names LSN %" PRIu64
			      " but the WAL ends at LSN %" PRIu64 ": WAL records are missing",
			      newest, newest, last_lsn);
	return 0;
}

static int recover(struct shard_store *s, struct shard_store_recovery *rec)
{
	struct wal_scan scan;
	struct snapshot_info snap = {0};
	int rc = snapshot_remove_temps(s->st);
	if (!rc)
		rc = load_state(s, rec, &snap);
	if (rc)
		return rc;
	rc = replay(s, &scan, rec);
	if (!rc)
		rc = check_continuity(s, &scan, &snap, rec);
	if (!rc)
		rc = check_snapshot_names(s, scan.end.next_lsn - 1, rec);
	if (rc)
		return rc;
	/* A snapshot and nothing after it (a clean stop) was checked whole as
	 * it loaded: every invariant in core_deserialize, its state hash
	 * against its header. Each check walks the whole state (~0.25 s each
	 * for a 377 MB state, docs/PERFORMANCE.md), so they run again only on
	 * what replay changed. */
	bool changed = scan.records || !rec->has_snapshot;
	const char *bad = changed ? core_check_invariants(s->c) : NULL;
	if (bad)
		return refuse(rec, "recovered state breaks an invariant: %s", bad);
	s->last_lsn = rec->last_lsn = scan.end.next_lsn - 1;
	rec->hash = changed ? core_state_hash(s->c) : snap.hash;
	struct wal_options wo = {.shard = s->opt.shard,
				 .segment_bytes = s->opt.segment_bytes,
				 .batch_bytes_max = s->opt.batch_bytes_max,
				 .on_durable = s->opt.on_durable,
				 .user = s->opt.user};
	rc = wal_open(&s->w, s->st, &wo, &scan);
	if (rc)
		say(rec->message, "WAL open failed: %s; ", strerror(-rc));
	else
		say(rec->message, "replayed %" PRIu64 " records, last LSN %" PRIu64, scan.records,
		    s->last_lsn);
	return rc;
}

int shard_store_open(struct shard_store **out, struct storage *st,
		     const struct shard_store_options *opt, struct shard_store_recovery *rec)
{
	memset(rec, 0, sizeof *rec);
	struct shard_store *s = calloc(1, sizeof *s);
	if (!s)
		return -ENOMEM;
	s->st = st;
	s->opt = *opt;
	if (!s->opt.snapshot_records)
		s->opt.snapshot_records = SHARD_SNAPSHOT_RECORDS_DEFAULT;
	if (!s->opt.snapshot_wal_bytes)
		s->opt.snapshot_wal_bytes = SHARD_SNAPSHOT_WAL_BYTES_DEFAULT;
	if (!s->opt.snapshot_interval_ms)
		s->opt.snapshot_interval_ms = SHARD_SNAPSHOT_INTERVAL_MS_DEFAULT;
	int rc = recover(s, rec);
	if (rc)
		goto out_free_store;
	if (rec->from_archive) { /* the next start from this state, not the archive */
		rec->archive_snapshot_error = shard_store_snapshot(s);
		if (rec->archive_snapshot_error)
			say(rec->message,
			    "; the snapshot after it failed: %s (the next start reads"
			    " the archive again)",
			    strerror(-rec->archive_snapshot_error));
		else
			say(rec->message, "; snapshot written at LSN %" PRIu64, s->snapshot_lsn);
	}
	s->stats.snapshot_lsn = s->snapshot_lsn;
	*out = s;
	return 0;

out_free_store:
	core_destroy(s->c);
	free(s);
	return rc;
}

void shard_store_close(struct shard_store *s)
{
	if (!s)
		return;
	if (s->job_running)
		job_end(s);
	snapshot_replay_destroy(s->replay);
	wal_close(s->w);
	core_destroy(s->c);
	free(s);
}

/* ---- retention ---------------------------------------------------------- */

static int segment_first_lsn(struct shard_store *s, uint64_t segment, uint64_t *first)
{
	char name[STORAGE_NAME_BYTES_MAX];
	wal_segment_name(name, sizeof name, s->opt.shard, segment);
	int file = storage_open(s->st, name);
	if (file < 0)
		return file;
	uint8_t *buf = aligned_alloc(WAL_PAGE_BYTES, WALFMT_SEGMENT_HEADER_BYTES);
	int rc = -ENOMEM;
	if (!buf)
		goto out_close;
	int64_t n = storage_read(s->st, file, buf, WALFMT_SEGMENT_HEADER_BYTES, 0);
	struct walfmt_segment h;
	if (n < 0)
		rc = (int)n;
	else if (walfmt_segment_decode(buf, (size_t)n, s->opt.shard, &h) != WALFMT_OK)
		rc = -EUCLEAN;
	else
		rc = 0, *first = h.first_lsn;
	free(buf);
out_close:
	storage_close(s->st, file);
	return rc;
}

struct seg_list {
	uint8_t shard;
	uint64_t lo, hi;
	size_t count;
};

static int note_segment(void *ctx, const char *name)
{
	struct seg_list *l = ctx;
	uint64_t seg;
	if (wal_segment_parse(name, l->shard, &seg))
		return 0;
	if (!l->count || seg < l->lo)
		l->lo = seg;
	if (!l->count || seg > l->hi)
		l->hi = seg;
	l->count++;
	return 0;
}

/* Archives the segment when an archive is configured, else removes it. */
static int drop_segment(struct shard_store *s, const char *name)
{
	if (!s->opt.archive) {
		int rc = storage_unlink(s->st, name);
		s->stats.segments_removed += !rc;
		return rc;
	}
	int rc = s->opt.archive(s->opt.snapshot_user, name);
	s->stats.segments_archived += !rc;
	return rc;
}

/* Removes segments whose every record is <= keep_lsn, oldest first. */
static int remove_segments(struct shard_store *s, uint64_t keep_lsn)
{
	struct seg_list l = {.shard = s->opt.shard};
	int rc = storage_list(s->st, note_segment, &l);
	if (rc < 0)
		return rc;
	uint64_t removed = 0;
	for (uint64_t seg = l.lo; l.count > 1 && seg < l.hi; seg++) {
		uint64_t next_first = UINT64_MAX;
		rc = segment_first_lsn(s, seg + 1, &next_first);
		if (rc == -EUCLEAN)
			rc = 0; /* no header yet: the WAL's spare segment (net/wal/wal.c) */
		if (rc || next_first > keep_lsn + 1)
			break;
		char name[STORAGE_NAME_BYTES_MAX];
		wal_segment_name(name, sizeof name, s->opt.shard, seg);
		rc = drop_segment(s, name);
		if (rc)
			break;
		removed++;
	}
	int sync = removed ? storage_sync_dir(s->st) : 0;
	return rc ? rc : sync;
}

/* ---- snapshots ------------------------------------------------------------ */

/* ---- snapshots while serving --------------------------------------------- */

/* The snapshot at lsn is published: keep it and the one before it, drop
 * what is older and the WAL wholly before that one. */
static int retain(struct shard_store *s, uint64_t lsn, uint64_t keep)
{
	s->stats.snapshots++;
	s->has_snapshot = true;
	s->snapshot_lsn = s->stats.snapshot_lsn = lsn;
	int rc = snapshot_remove_older(s->st, s->opt.shard, keep);
	if (!rc) /* failed attempts' files would pile up, each the state's size */
		rc = snapshot_remove_temps(s->st);
	if (!rc)
		rc = remove_segments(s, keep);
	if (rc)
		s->stats.snapshot_error = rc;
	s->stats.retain_error_last = rc;
	if (s->opt.on_snapshot)
		s->opt.on_snapshot(s->opt.snapshot_user, lsn, &s->stats);
	return rc;
}

static void job_failed(struct shard_store *s, int rc)
{
	job_end(s);
	s->job_running = false;
	s->stats.snapshot_failures++;
	s->stats.snapshot_error = rc;
	if (s->opt.on_snapshot)
		s->opt.on_snapshot(s->opt.snapshot_user, 0, &s->stats);
}

/* A run of adjacent table mappings, flipped with one madvise. */
struct fork_run {
	bool fork;
	char *lo, *hi;
};

static void run_flush(struct fork_run *r)
{
	if (r->hi > r->lo)
		mem_table_fork(r->lo, (size_t)(r->hi - r->lo), r->fork);
	r->lo = r->hi = NULL;
}

/* Tables are mappings of their own, mostly one beside the other (mmap
 * hands out addresses downwards): one madvise per run of them instead of
 * one per 2 MiB chunk (hundreds for a 1,000,000-unit event, each taking
 * the address space's lock for writing, which every shard's page faults
 * wait for). */
static void table_fork(void *ctx, void *p, size_t bytes)
{
	struct fork_run *r = ctx;
	if (!p || bytes < MEM_HUGE_BYTES)
		return; /* on the heap: always copied */
	char *lo = p, *hi = lo + mem_huge_round(bytes);
	if (r->hi > r->lo && lo == r->hi) {
		r->hi = hi;
		return;
	}
	if (r->hi > r->lo && hi == r->lo) {
		r->lo = lo;
		return;
	}
	run_flush(r);
	r->lo = lo;
	r->hi = hi;
}

static void tables_fork(const struct core *c, bool fork)
{
	struct fork_run r = {.fork = fork};
	event_tables_each(c, table_fork, &r);
	run_flush(&r);
}

/* The core's large tables are kept from every fork (core/mem.h) but this
 * shard's own for its writer: a fork then copies the page tables of this
 * shard's core, not every shard's, and write-protects only its pages. */
static int fork_job(struct shard_store *s, const struct snapshot_fork_dirs *d, uint64_t lsn,
		    const uint8_t chain[16], uint64_t keep)
{
	tables_fork(s->c, true);
	int rc = snapshot_job_fork(&s->job, d, s->c, lsn, chain, keep);
	tables_fork(s->c, false);
	return rc;
}

/* The replaying writer's thread starts with the first job: a store that
 * never snapshots while serving (tests, tools) has no thread. */
static int replay_job(struct shard_store *s, const struct snapshot_fork_dirs *d, uint64_t lsn,
		      const uint8_t chain[16], uint64_t keep)
{
	int rc = s->replay ? 0 : snapshot_replay_create(&s->replay, d);
	return rc ? rc : snapshot_job_replay(&s->job, s->replay, lsn, chain, keep);
}

int shard_store_snapshot_start(struct shard_store *s)
{
	if (s->error)
		return s->error;
	if (s->job_running)
		return -EBUSY;
	uint64_t lsn = s->last_lsn;
	if (!lsn || (s->has_snapshot && lsn == s->snapshot_lsn))
		return -EALREADY;
	uint64_t t0 = now_us(), cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID);
	uint8_t chain[16];
	sum_to_bytes(wal_chain(s->w), chain);
	uint64_t keep = s->has_snapshot ? s->snapshot_lsn : 0;
	struct snapshot_fork_dirs d = {.dir_fd = s->opt.snapshot_dir_fd,
				       .archive_fd = s->opt.archive_dir_fd,
				       .shard = s->opt.shard};
	int rc;
	switch (s->opt.snapshot_writer) {
	case SHARD_SNAPSHOT_FORK: rc = fork_job(s, &d, lsn, chain, keep); break;
	case SHARD_SNAPSHOT_REPLAY: rc = replay_job(s, &d, lsn, chain, keep); break;
	default: rc = snapshot_job_begin(&s->job, s->c, lsn, chain); break;
	}
	uint64_t took_us = now_us() - t0, cpu_us = clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	s->since_records = s->since_bytes = 0; /* also after a failure: retry later */
	s->since_ms = s->now_ms;
	if (rc) {
		job_failed(s, rc);
		return rc;
	}
	if (cpu_us > s->stats.snapshot_start_cpu_us_max)
		s->stats.snapshot_start_cpu_us_max = cpu_us;
	s->stats.snapshot_start_cpu_us_last = cpu_us;
	s->job_faults0 = thread_faults();
	s->job_running = true;
	s->job_keep_lsn = keep;
	snapshot_job_durable(&s->job, wal_durable_lsn(s->w));
	s->job_t0_us = t0;
	s->stats.snapshot_last_us = took_us;
	if (took_us > s->stats.snapshot_start_us_max)
		s->stats.snapshot_start_us_max = took_us;
	return 0;
}

/* A writer outside the loop (forked, replaying) published and applied
 * retention itself: only note it. */
static void job_published(struct shard_store *s)
{
	const struct snapshot_shared *sh = s->job.shared;
	s->stats.segments_removed += sh->segments_removed;
	s->stats.segments_archived += sh->segments_archived;
	s->stats.snapshot_image_us_last = sh->image_us;
	s->stats.snapshot_writer_cpu_us_last = sh->cpu_us;
	if (sh->retain_error)
		s->stats.snapshot_error = sh->retain_error;
	s->stats.retain_error_last = sh->retain_error;
	uint64_t lsn = s->job.lsn;
	job_end(s);
	s->job_running = false;
	s->stats.snapshots++;
	s->has_snapshot = true;
	s->snapshot_lsn = s->stats.snapshot_lsn = lsn;
	if (s->opt.on_snapshot)
		s->opt.on_snapshot(s->opt.snapshot_user, lsn, &s->stats);
}

/* Before a step: an in-process job shares the WAL's queue, so nothing of
 * the WAL may be in flight; a forked one waiting (block) needs the WAL
 * durable up to its LSN, or it would wait for the parent that waits for it. */
static int job_prepare(struct shard_store *s, bool block)
{
	if (job_outside(s) && !block) {
		snapshot_job_durable(&s->job, wal_durable_lsn(s->w));
		return 0;
	}
	int rc = wal_sync(s->w);
	if (rc)
		s->error = rc;
	else
		snapshot_job_durable(&s->job, wal_durable_lsn(s->w));
	return rc;
}

/* Moves the background snapshot on: 0 running or done, -errno failed. */
static int job_advance(struct shard_store *s, bool block)
{
	int rc = job_prepare(s, block);
	if (rc)
		return rc;
	bool outside = job_outside(s);
	rc = job_poll(s, block);
	if (rc == 1)
		return 0;
	if (rc) {
		job_failed(s, rc);
		return rc;
	}
	s->stats.snapshot_write_us_last = now_us() - s->job_t0_us;
	uint64_t faults = thread_faults(); /* 0 when a stop on another thread finished it */
	s->stats.snapshot_faults_last = faults > s->job_faults0 ? faults - s->job_faults0 : 0;
	if (outside) {
		job_published(s);
		return 0;
	}
	uint64_t lsn = s->job.lsn;
	job_end(s);
	s->job_running = false;
	return retain(s, lsn, s->job_keep_lsn);
}

/* The store reads no clock: the policy's time is the newest the loop or a
 * command gave, counted from the first one seen. */
static void note_time(struct shard_store *s, uint64_t now_ms)
{
	if (!s->since_ms)
		s->since_ms = now_ms;
	if (now_ms > s->now_ms)
		s->now_ms = now_ms;
}

static bool snapshot_due(const struct shard_store *s)
{
	const struct shard_store_options *o = &s->opt;
	if (!s->since_records)
		return false;
	return s->since_records >= o->snapshot_records || s->since_bytes >= o->snapshot_wal_bytes ||
	       (o->snapshot_interval_ms != SHARD_SNAPSHOT_OFF &&
		s->now_ms - s->since_ms >= o->snapshot_interval_ms);
}

static void maybe_snapshot(struct shard_store *s)
{
	snapshot_replay_durable(s->replay, wal_durable_lsn(s->w));
	if (s->job_running)
		job_advance(s, false);
	else if (snapshot_due(s))
		shard_store_snapshot_start(s);
}

bool shard_store_snapshot_running(const struct shard_store *s)
{
	return s->job_running;
}

uint32_t shard_store_snapshot_wait_ms(const struct shard_store *s)
{
	uint64_t every = s->opt.snapshot_interval_ms, passed = s->now_ms - s->since_ms;
	if (s->error || s->job_running || !s->since_records || every == SHARD_SNAPSHOT_OFF ||
	    (s->has_snapshot && s->last_lsn == s->snapshot_lsn))
		return 0; /* (a running job: the loop polls it anyway; the last:
			   * snapshot_start would refuse, and not reset the count) */
	if (passed >= every)
		return 1;
	return every - passed > UINT32_MAX ? UINT32_MAX : (uint32_t)(every - passed);
}

int shard_store_snapshot(struct shard_store *s)
{
	if (s->error)
		return s->error;
	if (s->job_running) { /* finish it; a failure is counted, this one goes on */
		job_advance(s, true);
		if (s->error)
			return s->error;
	}
	int rc = wal_sync(s->w);
	if (rc) {
		s->error = rc;
		return rc;
	}
	uint64_t lsn = wal_next_lsn(s->w) - 1;
	if (s->has_snapshot && lsn == s->snapshot_lsn)
		return 0;
	uint64_t t0 = now_us(), cpu0 = clock_us(CLOCK_THREAD_CPUTIME_ID), faults0 = thread_faults();
	uint8_t chain[16];
	sum_to_bytes(wal_chain(s->w), chain);
	rc = snapshot_write(s->st, s->c, lsn, chain, NULL);
	/* this thread wrote it all (a stop, a recovery from the archive): its
	 * figures, not those a background snapshot left in the stats */
	uint64_t faults = thread_faults();
	s->stats.snapshot_last_us = s->stats.snapshot_write_us_last = now_us() - t0;
	s->stats.snapshot_start_cpu_us_last = s->stats.snapshot_writer_cpu_us_last =
		clock_us(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	if (s->stats.snapshot_start_cpu_us_last > s->stats.snapshot_start_cpu_us_max)
		s->stats.snapshot_start_cpu_us_max = s->stats.snapshot_start_cpu_us_last;
	s->stats.snapshot_faults_last = faults > faults0 ? faults - faults0 : 0;
	s->since_records = s->since_bytes = 0; /* also after a failure: retry later */
	s->since_ms = s->now_ms;
	if (rc) {
		s->stats.snapshot_failures++;
		s->stats.snapshot_error = rc;
		return rc;
	}
	/* published: a failure to remove or archive what it made obsolete is
	 * reported (stats, on_snapshot) and retried by the next snapshot; a
	 * stop or a recovery from the archive has its snapshot all the same */
	(void)retain(s, lsn, s->has_snapshot ? s->snapshot_lsn : 0);
	return 0;
}

/* ---- running ---------------------------------------------------------------- */

static void stop(struct shard_store *s, int err)
{
	if (s->error)
		return;
	s->error = err ? err : -EIO;
	uint64_t seg = 0;
	const char *op = wal_error_op(s->w, &seg);
	char what[STORAGE_NAME_BYTES_MAX + 32] = "append";
	if (op) { /* "fdatasync of wal-003-000000000007.seg" */
		int n = snprintf(what, sizeof what, "%s of ", op);
		wal_segment_name(what + n, sizeof what - (size_t)n, s->opt.shard, seg);
	}
	log_line(LOG_ERROR, s->opt.shard,
		 "msg=\"WAL STOPPED: this shard is stopped for good; "
		 "restart to recover from the disk\" op=\"%s\" err=\"%s\" durable_lsn=%" PRIu64,
		 what, strerror(-s->error), wal_durable_lsn(s->w));
}

/* ---- disk space ------------------------------------------------------------ */

static bool no_space(int err)
{
	return err == -ENOSPC || err == -EDQUOT;
}

static void pause_changes(struct shard_store *s, int err, uint64_t now_ms)
{
	if (s->paused)
		return;
	s->paused = true;
	s->paused_at_ms = now_ms;
	if (!s->space_noted)
		s->retry_at_ms = now_ms + WAL_SPACE_RETRY_MS;
	s->space_noted = true;
	s->stats.disk_full_events++;
	log_line(LOG_ERROR, s->opt.shard,
		 "msg=\"WAL writes PAUSED: no disk space for the next "
		 "segment; changes are refused with disk_full (77), queries are served; free space "
		 "in the data directory to resume\" err=\"%s\" retry_ms=%u",
		 strerror(-err), WAL_SPACE_RETRY_MS);
}

static void resume_changes(struct shard_store *s, uint64_t now_ms)
{
	if (s->paused)
		log_line(LOG_INFO, s->opt.shard,
			 "msg=\"WAL writes resumed: the next segment is "
			 "ready\" paused_ms=%" PRIu64,
			 now_ms - s->paused_at_ms);
	else if (s->space_noted)
		log_line(LOG_INFO, s->opt.shard,
			 "msg=\"WAL: disk space for the next segment is back\"");
	s->paused = s->space_noted = false;
}

/* Before a change: ST_OK when its record is sure to find room in the WAL. */
static enum status room_for_change(struct shard_store *s, uint64_t now_ms)
{
	int rc = wal_reserve(s->w, true);
	if (!rc) {
		if (s->paused)
			resume_changes(s, now_ms);
		return ST_OK;
	}
	if (no_space(rc)) {
		pause_changes(s, rc, now_ms);
		return ST_DISK_FULL;
	}
	stop(s, rc);
	return ST_UNAVAILABLE;
}

/* The spare is missing for lack of space but the segment in use still has
 * room: said once, as the warning before a pause. */
static void note_space(struct shard_store *s, int err, uint64_t now_ms)
{
	if (s->space_noted)
		return;
	s->space_noted = true;
	s->retry_at_ms = now_ms + WAL_SPACE_RETRY_MS;
	log_line(LOG_WARN, s->opt.shard,
		 "msg=\"WAL: no disk space for the next segment; writes "
		 "go on in the current one and pause when it is full\" err=\"%s\" retry_ms=%u",
		 strerror(-err), WAL_SPACE_RETRY_MS);
}

uint32_t shard_store_tick(struct shard_store *s, uint64_t now_ms)
{
	if (s->error || (!s->paused && !s->space_noted && !wal_space_error(s->w)))
		return 0;
	int err = wal_space_error(s->w);
	if (err) {
		note_space(s, err, now_ms);
		if (now_ms < s->retry_at_ms)
			return (uint32_t)(s->retry_at_ms - now_ms);
		s->retry_at_ms = now_ms + WAL_SPACE_RETRY_MS;
		err = wal_retry_space(s->w);
		if (wal_error(s->w)) {
			stop(s, wal_error(s->w));
			return 0;
		}
		if (err)
			return WAL_SPACE_RETRY_MS;
	}
	/* the spare is being prepared or ready: resume once a change fits */
	int rc = s->paused ? wal_reserve(s->w, false) : 0;
	if (!rc)
		resume_changes(s, now_ms);
	else if (rc != -EINPROGRESS && !no_space(rc))
		stop(s, rc);
	return s->error || (!s->paused && !s->space_noted) ? 0 : WAL_SPACE_RETRY_MS;
}

bool shard_store_paused(const struct shard_store *s)
{
	return s->paused;
}

enum status shard_store_lost_status(const struct shard_store *s, uint64_t wait_lsn, bool changed)
{
	return changed && wait_lsn <= wal_sent_lsn(s->w) ? ST_OUTCOME_UNKNOWN : ST_UNAVAILABLE;
}

const struct wal_stats *shard_store_wal_stats(const struct shard_store *s)
{
	return wal_stats(s->w);
}

/* Appends a record, waiting for a buffer when both are busy. */
static int append(struct shard_store *s, uint32_t len)
{
	uint64_t lsn;
	for (;;) {
		int rc = wal_append(s->w, s->rec, len, &lsn);
		if (!rc)
			break;
		if (rc != -EAGAIN)
			return rc;
		rc = wal_wait(s->w);
		if (rc)
			return rc;
	}
	s->last_lsn = lsn;
	s->since_records++;
	s->since_bytes += walfmt_frame_bytes(len);
	s->stats.records++;
	return 0;
}

enum status shard_store_execute(struct shard_store *s, const struct cmd *cmd, uint64_t now_ms,
				struct result *res, uint64_t *wait_lsn)
{
	*wait_lsn = 0;
	s->rec_len = 0;
	enum status room = s->error                  ? ST_UNAVAILABLE
			   : CMD_IS_QUERY(cmd->type) ? ST_OK
						     : room_for_change(s, now_ms);
	if (room != ST_OK) { /* nothing executed */
		res->status = room;
		return room;
	}
	note_time(s, now_ms);
	struct rec_buf rb = {s->rec, sizeof s->rec, 0};
	enum status st = core_execute(s->c, cmd, now_ms, res, &rb);
	s->stats.executed++;
	s->rec_len = rb.len;
	if (rb.len) {
		int rc = append(s, rb.len);
		if (rc) { /* applied in memory, not logged: the shard must stop */
			stop(s, rc);
			res->status = ST_UNAVAILABLE;
			return ST_UNAVAILABLE;
		}
	}
	if (s->last_lsn > wal_durable_lsn(s->w))
		*wait_lsn = s->last_lsn;
	return st;
}

int shard_store_next_expiry(struct shard_store *s, uint64_t now_ms, struct cmd *cmd)
{
	/* paused: an expiry is a change too; holds expire once it resumes */
	return s->error || s->paused ? 0 : core_next_expiry(s->c, now_ms, cmd);
}

static int after_io(struct shard_store *s, int rc)
{
	if (rc) {
		stop(s, rc);
		return s->error;
	}
	maybe_snapshot(s);
	return s->error;
}

int shard_store_flush(struct shard_store *s)
{
	if (s->error)
		return s->error;
	int rc = wal_flush(s->w);
	if (rc)
		stop(s, rc);
	return s->error;
}

int shard_store_poll(struct shard_store *s)
{
	return s->error ? s->error : after_io(s, wal_poll(s->w));
}

int shard_store_poll_at(struct shard_store *s, uint64_t now_ms)
{
	note_time(s, now_ms);
	return shard_store_poll(s);
}

int shard_store_wait(struct shard_store *s)
{
	return s->error ? s->error : after_io(s, wal_wait(s->w));
}

int shard_store_sync(struct shard_store *s)
{
	if (s->error)
		return s->error;
	int rc = wal_sync(s->w);
	if (rc)
		stop(s, rc);
	return s->error;
}

int shard_store_shutdown(struct shard_store *s)
{
	int rc = shard_store_sync(s);
	if (!rc && !s->opt.no_shutdown_snapshot)
		rc = shard_store_snapshot(s);
	shard_store_close(s);
	return rc;
}

uint64_t shard_store_durable_lsn(const struct shard_store *s)
{
	return wal_durable_lsn(s->w);
}

uint64_t shard_store_last_lsn(const struct shard_store *s)
{
	return s->last_lsn;
}

int shard_store_error(const struct shard_store *s)
{
	return s->error;
}

int shard_store_wait_fd(const struct shard_store *s)
{
	return wal_wait_fd(s->w);
}

const uint8_t *shard_store_last_record(const struct shard_store *s, uint32_t *len)
{
	*len = s->rec_len;
	return s->rec;
}

const struct core *shard_store_core(const struct shard_store *s)
{
	return s->c;
}

const struct shard_store_stats *shard_store_stats(const struct shard_store *s)
{
	return &s->stats;
}

const struct shard_store_options *shard_store_options_of(const struct shard_store *s)
{
	return &s->opt;
}
