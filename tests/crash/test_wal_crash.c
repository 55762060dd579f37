/*
 * test_wal_crash.c — deterministic crash simulation of the WAL on the
 * simulated disk. Each seeded run appends records of random sizes in random
 * bursts, polls at random, and loses power at random points (unsynced
 * writes dropped, or some kept whole or torn), with short writes, failed
 * writes, failed fdatasyncs and failed reads thrown in. After every
 * recovery:
 *   - the log reads clean or with a torn tail, never corrupt;
 *   - every acknowledged record (and every record an earlier recovery
 *     handed out) is there, in order, with the bytes of the epoch that wrote it;
 *   - anything after them is whole and self-consistent (no half records).
 * A failing run prints its seed; SEED=n runs that one alone, RUNS=n changes
 * how many run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "net/wal/wal.h"
#include "net/wal/wal_read.h"
#include "tests/support/sim_disk.h"
#include "tests/support/wal_check.h"

#define SHARD 1
#define LEN_MAX 1500u
#define LSN_MAX 20000u
#define EPOCHS_MAX 5
#define STEPS_MAX 200
#define SEGMENT_BYTES (80u << 10)

struct run {
	uint64_t seed, rng;
	struct sim_disk *disk;
	struct storage st;
	uint32_t epoch;
	uint64_t acked;                 /* records that must survive */
	uint32_t epoch_of[LSN_MAX + 1]; /* epoch that wrote each appended LSN */
	uint64_t recovered;             /* records the last recovery found */
	const char *failure;
};

static uint64_t rnd(struct run *r)
{
	uint64_t z = (r->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int check(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct run *r = ctx;
	uint32_t epoch;
	if (lsn != r->recovered + 1 || lsn > LSN_MAX) {
		r->failure = "records out of order";
		return 1;
	}
	if (wal_check_body(body, len, r->seed, lsn, LEN_MAX, &epoch)) {
		r->failure = "record bytes differ from any write";
		return 1;
	}
	if (epoch > r->epoch || (lsn <= r->acked && epoch != r->epoch_of[lsn])) {
		r->failure = "acknowledged record replaced";
		return 1;
	}
	r->epoch_of[lsn] = epoch;
	r->recovered = lsn;
	return 0;
}

/* One recovery attempt: scan, check, open. 1: failed on an I/O fault
 * (try again), 0: done (*out set, or r->failure). */
static int recover_once(struct run *r, struct wal **out)
{
	struct wal_scan s;
	r->recovered = 0;
	int rc = wal_read(&r->st, SHARD, 0, check, r, &s);
	if (r->failure)
		return 0;
	if (rc == -EIO)
		return 1;
	if (rc) {
		r->failure = "scan failed";
		return 0;
	}
	if (s.status == WAL_READ_CORRUPT) {
		r->failure = "log reported corrupt after a crash";
		return 0;
	}
	if (r->recovered < r->acked) {
		r->failure = "acknowledged record lost";
		return 0;
	}
	r->acked = r->recovered; /* handed out: part of history from now on */
	struct wal_options o = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
	rc = wal_open(out, &r->st, &o, &s);
	if (rc == -EIO)
		return 1;
	if (rc)
		r->failure = "open failed";
	return 0;
}

/* Recovery as a shard does it; an I/O fault during recovery is a crash
 * of its own and recovery starts over. */
static struct wal *recover(struct run *r)
{
	struct wal *w = NULL;
	for (int tries = 0; tries < 50; tries++) {
		if (!recover_once(r, &w))
			return r->failure ? NULL : w;
		sim_disk_crash(r->disk, SIM_CRASH_DROP_UNSYNCED);
	}
	r->failure = "recovery kept failing";
	return NULL;
}

static void work(struct run *r, struct wal *w, int steps)
{
	uint8_t body[LEN_MAX];
	for (int i = 0; i < steps && !wal_error(w); i++) {
		unsigned burst = (unsigned)(rnd(r) % 40);
		for (unsigned k = 0; k < burst; k++) {
			uint64_t lsn = wal_next_lsn(w);
			if (lsn > LSN_MAX)
				return;
			uint32_t len = wal_check_make(body, r->seed, lsn, r->epoch, LEN_MAX);
			if (wal_append(w, body, len, NULL))
				break;
			r->epoch_of[lsn] = r->epoch;
		}
		switch (rnd(r) % 4) {
		case 0: wal_flush(w); break;
		case 1: wal_poll(w); break;
		case 2: wal_wait(w); break;
		default: break;
		}
		if (wal_durable_lsn(w) > r->acked)
			r->acked = wal_durable_lsn(w);
	}
}

static void set_faults(struct run *r)
{
	struct sim_disk_faults f = {0};
	if (rnd(r) % 2) {
		f.short_write_ppm = (uint32_t)(rnd(r) % 200000);
		f.eio_fsync_ppm = (uint32_t)(rnd(r) % 20000);
		f.eio_write_ppm = (uint32_t)(rnd(r) % 10000);
		f.eio_read_ppm = (uint32_t)(rnd(r) % 5000);
	}
	sim_disk_set_faults(r->disk, &f);
}

static const char *run_one(struct run *r, uint64_t seed, enum sim_disk_crash_mode mode)
{
	memset(r, 0, sizeof *r);
	r->seed = r->rng = seed;
	r->disk = sim_disk_create(seed);
	sim_disk_storage(r->disk, &r->st);
	set_faults(r);
	int epochs = 1 + (int)(rnd(r) % EPOCHS_MAX);
	for (r->epoch = 0; r->epoch < (uint32_t)epochs && !r->failure; r->epoch++) {
		struct wal *w = recover(r);
		if (!w)
			break;
		work(r, w, 1 + (int)(rnd(r) % STEPS_MAX));
		if (rnd(r) % 4 == 0)
			wal_sync(w); /* sometimes crash right after everything is durable */
		if (wal_durable_lsn(w) > r->acked)
			r->acked = wal_durable_lsn(w);
		enum sim_disk_crash_mode m = mode == SIM_CRASH_SOME_SURVIVE && rnd(r) % 2
						     ? mode
						     : SIM_CRASH_DROP_UNSYNCED;
		sim_disk_crash(r->disk, m);
		wal_close(w);
	}
	if (!r->failure) { /* final recovery, no faults */
		sim_disk_set_faults(r->disk, NULL);
		struct wal *w = recover(r);
		wal_close(w);
	}
	storage_destroy(&r->st);
	sim_disk_destroy(r->disk);
	return r->failure;
}

static void runs(enum sim_disk_crash_mode mode, uint64_t first_seed)
{
	static struct run r;
	const char *only = getenv("SEED");
	uint64_t count = getenv("RUNS") ? strtoull(getenv("RUNS"), NULL, 10) : 1200;
	uint64_t from = only ? strtoull(only, NULL, 10) : first_seed;
	uint64_t to = only ? from + 1 : first_seed + count;
	uint64_t failures = 0, records = 0;
	for (uint64_t seed = from; seed < to; seed++) {
		const char *why = run_one(&r, seed, mode);
		records += r.acked;
		if (why) {
			print_error(
				"seed %llu failed: %s (acked %llu, recovered %llu); rerun: SEED=%llu %s\n",
				(unsigned long long)seed, why, (unsigned long long)r.acked,
				(unsigned long long)r.recovered, (unsigned long long)seed,
				"build/tests/crash/test_wal_crash");
			failures++;
		}
	}
	print_message("%llu runs, %llu acknowledged records checked\n",
		      (unsigned long long)(to - from), (unsigned long long)records);
	assert_int_equal(failures, 0);
}

static void crash_drops_unsynced_writes(void **state)
{
	(void)state;
	runs(SIM_CRASH_DROP_UNSYNCED, 1);
}

static void crash_keeps_or_tears_some_unsynced_writes(void **state)
{
	(void)state;
	runs(SIM_CRASH_SOME_SURVIVE, 1000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crash_drops_unsynced_writes),
		cmocka_unit_test(crash_keeps_or_tears_some_unsynced_writes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
