/*
 * bench-wal.c — how fast the WAL makes records durable on this disk.
 *
 * One writer (one shard) appends 64-byte records as fast as it can, in
 * bursts, polling the io_uring between bursts; a record counts as committed
 * when the fdatasync of its batch completes. Then the log is read back with
 * the recovery reader (replay speed). Then recovery of a real shard: a
 * shard store (net/store/shard_store.h) sells --recovery-sales single units of a
 * 1,000,000-unit GA event (a hold and a confirm each), and the bench times
 * the WAL read + core_apply of those records on a fresh core, a snapshot
 * write of the resulting state, and a snapshot load. Prints a table, then
 * one JSON object as the last line. All is written in a fresh directory
 * inside --dir (bench/common/rundir.h: DIR/bench-wal.XXXXXX, the shard's in
 * its recovery/), removed afterwards and at SIGINT or SIGTERM; nothing
 * else in DIR is touched.
 *
 *   bench-wal [--seconds N] [--dir DIR] [--record-bytes N] [--buffered]
 *             [--outstanding N] [--segment-mib N] [--batch-kib N]
 *             [--recovery-sales N]
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/opts.h"
#include "bench/common/rundir.h"
#include "core/core.h"
#include "core/serial.h"
#include "net/store/shard_store.h"
#include "net/store/snapshot.h"
#include "net/wal/storage_uring.h"
#include "net/wal/wal.h"
#include "net/wal/wal_read.h"

#define STAMPS (1u << 23) /* append times of records not yet durable */
#define BATCHES_MAX (1u << 20)
#define LAT_BUCKETS 4096 /* commit latency histogram, 10 us per bucket */
#define BURST 512
#define BENCH_BATCH_BYTES (1u << 20)
#define SALE_EVENT 1
#define SALE_UNITS 1000000u           /* the GA event --recovery-sales sells from */
#define DIR_DEFAULT "./var/bench-wal" /* made with ./var if missing */

/* The options' ranges. A batch is whole pages with room for two records of
 * the largest size, as wal_open checks (net/wal/wal.c); a segment at least
 * the smallest wal_open takes (checked after the parse). */
#define SECONDS_MAX 600
#define SEGMENT_MIB_MAX (WAL_SEGMENT_BYTES_MAX >> 20)
#define BATCH_KIB_STEP (WAL_PAGE_BYTES >> 10)
#define BATCH_KIB_MIN                                                                       \
	((2u * (RECORD_BYTES_MAX + WAL_PAGE_BYTES) + WAL_PAGE_BYTES - 1) / WAL_PAGE_BYTES * \
	 BATCH_KIB_STEP)
#define BATCH_KIB_MAX (WAL_BATCH_BYTES_MAX >> 10)
static_assert(WAL_PAGE_BYTES % 1024 == 0, "--batch-kib counts whole pages");
static_assert(BENCH_BATCH_BYTES <= WAL_BATCH_BYTES_MAX && BENCH_BATCH_BYTES % WAL_PAGE_BYTES == 0,
	      "the default batch is one wal_open takes");

struct bench {
	uint64_t *stamp_ns;
	uint32_t *batch_records;
	uint64_t batches;
	uint64_t lat_hist[LAT_BUCKETS];
	uint64_t lat_count, lat_max_ns;
	uint64_t prev_durable;
};

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void on_durable(void *user, uint64_t durable)
{
	struct bench *b = user;
	uint64_t t = now_ns();
	if (b->batches < BATCHES_MAX)
		b->batch_records[b->batches++] = (uint32_t)(durable - b->prev_durable);
	for (uint64_t lsn = b->prev_durable + 1; lsn <= durable; lsn++) {
		uint64_t ns = t - b->stamp_ns[lsn % STAMPS];
		uint64_t bucket = ns / 10000;
		b->lat_hist[bucket < LAT_BUCKETS ? bucket : LAT_BUCKETS - 1]++;
		b->lat_count++;
		if (ns > b->lat_max_ns)
			b->lat_max_ns = ns;
	}
	b->prev_durable = durable;
}

static double lat_percentile_us(const struct bench *b, double p)
{
	uint64_t want = (uint64_t)(p * (double)b->lat_count), seen = 0;
	for (int i = 0; i < LAT_BUCKETS; i++) {
		seen += b->lat_hist[i];
		if (seen > want)
			return (i + 1) * 10.0;
	}
	return LAT_BUCKETS * 10.0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static int count_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	uint64_t *sum = ctx;
	*sum += lsn + body[0] + len;
	return 0;
}

struct cleanup {
	struct storage *st;
};

static int remove_file(void *ctx, const char *name)
{
	struct cleanup *c = ctx;
	storage_unlink(c->st, name);
	return 0;
}

struct config {
	double seconds;
	const char *dir;     /* --dir: where to make the run's directory */
	const char *run_dir; /* the run's directory, made in dir */
	unsigned record_bytes;
	int buffered;
	unsigned flags;
	uint64_t outstanding;
	unsigned segment_mib, batch_kib;
	uint64_t segment_bytes;
	uint32_t batch_bytes;
	unsigned recovery_sales;
};

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv, struct config *c)
{
	const struct opt options[] = {
		OPT_REAL("seconds", "N", &c->seconds, 1,
			 "how long to append (default 3, at most " OPTS_STR(SECONDS_MAX) ")"),
		OPT_STR("dir", "DIR", &c->dir,
			"directory on the disk to measure (default\n" DIR_DEFAULT
			"). The run writes only in a fresh\n"
			"DIR/bench-wal.XXXXXX, removed afterwards, also at\n"
			"SIGINT or SIGTERM (a SIGKILL leaves it). A missing DIR\n"
			"is made where its parent exists (./var too for the\n"
			"default) and removed after if left empty"),
		OPT_UINT("record-bytes", "N", &c->record_bytes, 1, RECORD_BYTES_MAX,
			 "record body size (default 64)"),
		OPT_FLAG("buffered", &c->buffered, "page-cache writes instead of O_DIRECT"),
		OPT_U64("outstanding", "N", &c->outstanding, 0, UINT64_MAX,
			"at most N records appended but not yet durable\n"
			"(default 0: as many as the batch buffers hold)"),
		OPT_UINT("segment-mib", "N", &c->segment_mib, 1, SEGMENT_MIB_MAX,
			 "segment file size (default 64)"),
		OPT_UINT("batch-kib", "N", &c->batch_kib, BATCH_KIB_MIN, BATCH_KIB_MAX,
			 "largest batch per write + fdatasync (default and most\n"
			 "1024; whole 4 KiB pages, room for two largest records)"),
		OPT_UINT("recovery-sales", "N", &c->recovery_sales, 0, SALE_UNITS,
			 "GA units sold (hold + confirm) before the recovery and\n"
			 "snapshot measurements (default 300000; 0 skips them)"),
	};
	const struct opts_cmd cmd =
		OPTS_CMD("bench-wal",
			 "How fast the WAL makes records durable on this disk, then recovery and\n"
			 "snapshots of a real shard. Prints a table and, last, one JSON line.\n",
			 options);
	*c = (struct config){.seconds = 3.0,
			     .dir = DIR_DEFAULT,
			     .record_bytes = 64,
			     .segment_mib = WAL_SEGMENT_BYTES_DEFAULT >> 20,
			     .batch_kib = BENCH_BATCH_BYTES >> 10,
			     .recovery_sales = 300000};
	int rc = opts_parse(&cmd, argc, argv);
	if (rc)
		return rc;
	char what[64], why[64];
	if (c->seconds > SECONDS_MAX) {
		snprintf(what, sizeof what, "--seconds %g", c->seconds);
		return opts_bad(&cmd, what, "not a number in (0, " OPTS_STR(SECONDS_MAX) "]");
	}
	if (c->batch_kib % BATCH_KIB_STEP) {
		snprintf(what, sizeof what, "--batch-kib %u", c->batch_kib);
		snprintf(why, sizeof why, "not a multiple of %u in %u-%u", BATCH_KIB_STEP,
			 BATCH_KIB_MIN, BATCH_KIB_MAX);
		return opts_bad(&cmd, what, why);
	}
	c->segment_bytes = (uint64_t)c->segment_mib << 20;
	if (!wal_segment_bytes_ok(c->segment_bytes)) { /* a build with other WAL limits */
		snprintf(what, sizeof what, "--segment-mib %u", c->segment_mib);
		snprintf(why, sizeof why, "below the smallest segment, %llu KiB",
			 (unsigned long long)(wal_segment_bytes_min() >> 10));
		return opts_bad(&cmd, what, why);
	}
	c->flags = c->buffered ? 0 : STORAGE_URING_DIRECT;
	c->batch_bytes = c->batch_kib << 10;
	assert(c->batch_bytes >= BATCH_KIB_MIN << 10 && c->batch_bytes <= WAL_BATCH_BYTES_MAX);
	return 0;
}

/* Appends for c->seconds; returns the elapsed seconds until all is durable. */
static double run_writer(struct wal *w, struct bench *b, const struct config *c)
{
	static uint8_t body[RECORD_BYTES_MAX];
	memset(body, 0xab, c->record_bytes);
	uint64_t start = now_ns(), end = start + (uint64_t)(c->seconds * 1e9);
	uint64_t t = start;
	while (t < end && !wal_error(w)) {
		int appended = 0;
		for (int k = 0; k < BURST; k++) {
			uint64_t next = wal_next_lsn(w);
			if (c->outstanding && next - 1 - wal_durable_lsn(w) >= c->outstanding)
				break;
			memcpy(body, &next, sizeof next);
			if (wal_append(w, body, c->record_bytes, NULL))
				break;
			b->stamp_ns[next % STAMPS] = t;
			appended++;
		}
		wal_flush(w);
		if (appended)
			wal_poll(w);
		else
			wal_wait(w);
		t = now_ns();
	}
	wal_sync(w);
	return (double)(now_ns() - start) / 1e9;
}

/* ---- recovery and snapshots of a real shard ---------------------------- */

struct recovery_figures {
	uint64_t records;
	double records_per_s; /* WAL read + core_apply */
	double open_ms;       /* shard_store_open: the same plus checks and hash */
	double serialize_ms;  /* the memory copy a snapshot stops the shard for */
	double write_ms, load_ms;
	uint64_t snapshot_bytes;
};

static int sell(struct shard_store *s, const struct cmd *c, struct result *res)
{
	uint64_t wait;
	enum status st = shard_store_execute(s, c, 1000, res, &wait);
	return st == ST_OK ? 0 : -1;
}

/* A 1M-unit GA event, then sales single-unit holds each confirmed. */
static int fill_shard(struct shard_store *s, uint32_t sales)
{
	struct cmd c = {.type = CMD_EVENT_CREATE};
	struct result res;
	c.event.event_id = SALE_EVENT;
	c.event.state = EVENT_ON_SALE;
	c.event.units_max = SALE_UNITS;
	c.event.presale_start_ms = c.event.public_start_ms = 1;
	if (sell(s, &c, &res))
		return -1;
	memset(&c, 0, sizeof c);
	c.type = CMD_TIER_ADD;
	c.tier.event_id = SALE_EVENT;
	c.tier.capacity = SALE_UNITS;
	c.tier.price_minor = 4500;
	if (sell(s, &c, &res))
		return -1;
	for (uint32_t i = 0; i < sales; i++) {
		memset(&c, 0, sizeof c);
		c.type = CMD_HOLD;
		c.hold.event_id = SALE_EVENT;
		c.hold.qty = 1;
		c.hold.customer_id = 1 + i;
		if (sell(s, &c, &res))
			return -1;
		uint64_t hold = res.hold.hold_id, due = res.hold.amount_due_minor;
		memset(&c, 0, sizeof c);
		c.type = CMD_CONFIRM;
		c.ref.event_id = SALE_EVENT;
		c.ref.hold_id = hold;
		c.ref.amount_minor = due;
		if (sell(s, &c, &res))
			return -1;
		if (i % 4096 == 0 && shard_store_poll(s))
			return -1;
	}
	return shard_store_sync(s);
}

static int apply_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	(void)lsn;
	return core_apply(ctx, body, len) == ST_OK ? 0 : 1;
}

struct copy {
	uint8_t *at;
};

static void copy_write(void *ctx, const void *p, size_t n)
{
	struct copy *cp = ctx;
	memcpy(cp->at, p, n);
	cp->at += n;
}

static double ms_since(uint64_t t0)
{
	return (double)(now_ns() - t0) / 1e6;
}

static int measure_snapshots(struct storage *st, const struct core *c, uint64_t lsn,
			     struct recovery_figures *f)
{
	size_t n = core_serialized_bytes(c);
	uint8_t *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	uint64_t t0 = now_ns();
	struct copy cp = {buf};
	struct serial_sink sink = {copy_write, &cp};
	core_serialize(c, &sink);
	f->serialize_ms = ms_since(t0);
	free(buf);
	uint8_t chain[16] = {1};
	struct snapshot_info info;
	t0 = now_ns();
	int rc = snapshot_write(st, c, lsn, chain, &info);
	f->write_ms = ms_since(t0);
	if (rc)
		return rc;
	f->snapshot_bytes = info.body_bytes;
	struct core *back;
	t0 = now_ns();
	rc = snapshot_load_newest(st, 0, &back, NULL, NULL, 0);
	f->load_ms = ms_since(t0);
	if (!rc)
		core_destroy(back);
	return rc;
}

static int measure_recovery(const struct config *cfg, struct recovery_figures *f)
{
	char dir[RUNDIR_PATH_BYTES + 16];
	snprintf(dir, sizeof dir, "%s/recovery", cfg->run_dir);
	struct storage st;
	int rc = storage_uring_open(&st, dir, cfg->flags);
	if (rc)
		return rc;
	struct cleanup cl = {&st};
	struct shard_store *s;
	struct shard_store_recovery rec;
	struct shard_store_options o = {.shard = 0,
					.segment_bytes = cfg->segment_bytes,
					.snapshot_records = UINT64_MAX,
					.snapshot_wal_bytes = UINT64_MAX};
	rc = shard_store_open(&s, &st, &o, &rec);
	if (rc)
		goto out_remove;
	rc = fill_shard(s, cfg->recovery_sales) ? -EIO : 0;
	shard_store_close(s);
	if (rc)
		goto out_remove;
	struct core *c = core_create(0);
	struct wal_scan scan;
	uint64_t t0 = now_ns();
	rc = c ? wal_read(&st, 0, 0, apply_record, c, &scan) : -ENOMEM;
	double secs = (double)(now_ns() - t0) / 1e9;
	f->records = scan.records;
	f->records_per_s = (double)scan.records / secs;
	t0 = now_ns();
	if (!rc)
		rc = shard_store_open(&s, &st, &o, &rec);
	f->open_ms = ms_since(t0);
	if (!rc) {
		shard_store_close(s);
		rc = measure_snapshots(&st, c, scan.records, f);
	}
	core_destroy(c);
out_remove:
	storage_list(&st, remove_file, &cl);
	storage_destroy(&st);
	rmdir(dir);
	return rc;
}

/* What the writer run measured. */
struct wal_figures {
	double secs, replay_s;
	struct wal_stats ws;
	uint64_t durable, replayed;
};

/* Writes records for the configured time, then reads the log back; the
 * files are removed after. 0, or 1 after saying what failed. */
static int measure_wal(const struct config *c, struct bench *b, struct wal_figures *f)
{
	struct storage st;
	int rc = storage_uring_open(&st, c->run_dir, c->flags);
	if (rc) {
		fprintf(stderr, "bench-wal: %s: %s\n", c->run_dir, strerror(-rc));
		return 1;
	}
	struct cleanup cl = {&st};
	struct wal *w;
	struct wal_options o = {.shard = 0,
				.segment_bytes = c->segment_bytes,
				.batch_bytes_max = c->batch_bytes,
				.on_durable = on_durable,
				.user = b};
	rc = wal_open(&w, &st, &o, NULL);
	if (rc) {
		fprintf(stderr, "bench-wal: wal_open: %s\n", strerror(-rc));
		storage_destroy(&st);
		return 1;
	}
	f->secs = run_writer(w, b, c);
	f->ws = *wal_stats(w);
	int err = wal_error(w);
	f->durable = wal_durable_lsn(w);
	wal_close(w);

	uint64_t sum = 0, r0 = now_ns();
	struct wal_scan scan;
	rc = wal_read(&st, 0, 0, count_record, &sum, &scan);
	f->replay_s = (double)(now_ns() - r0) / 1e9;
	f->replayed = scan.records;

	storage_list(&st, remove_file, &cl); /* the disk space, before recovery's run */
	storage_destroy(&st);
	if (err || rc || scan.records != f->durable) {
		fprintf(stderr, "bench-wal: failed: wal %d, read %d, replayed %llu of %llu\n", err,
			rc, (unsigned long long)scan.records, (unsigned long long)f->durable);
		return 1;
	}
	return 0;
}

/* The table on stdout, then the same figures as one JSON line. */
static void print_figures(const struct config *c, struct bench *b, const struct wal_figures *f,
			  const struct recovery_figures *rf)
{
	qsort(b->batch_records, b->batches, sizeof *b->batch_records, cmp_u32);
	double rps = (double)f->durable / f->secs, fps = (double)f->ws.fsyncs / f->secs;
	uint32_t per_fsync_p50 = b->batches ? b->batch_records[b->batches / 2] : 0;
	double p50 = lat_percentile_us(b, 0.50), p99 = lat_percentile_us(b, 0.99);
	double replay_rps = (double)f->replayed / f->replay_s;
	double mb_s = (double)f->ws.bytes_written / f->secs / 1e6;

	printf("WAL benchmark: %u-byte records, %s writes, fdatasync before completion\n",
	       c->record_bytes, c->flags & STORAGE_URING_DIRECT ? "O_DIRECT" : "buffered");
	printf("  %-28s %14.0f\n", "durable records/s", rps);
	printf("  %-28s %14.0f\n", "fsyncs/s", fps);
	printf("  %-28s %14u\n", "records per fsync (p50)", per_fsync_p50);
	printf("  %-28s %14.0f\n", "commit latency p50 (us)", p50);
	printf("  %-28s %14.0f\n", "commit latency p99 (us)", p99);
	printf("  %-28s %14.0f\n", "commit latency max (us)", (double)b->lat_max_ns / 1e3);
	printf("  %-28s %14.1f\n", "write MB/s (incl. rewrites)", mb_s);
	printf("  %-28s %14.0f\n", "replay records/s", replay_rps);
	printf("  %-28s %14llu\n", "records", (unsigned long long)f->durable);
	printf("  %-28s %14llu\n", "segments", (unsigned long long)f->ws.segments_created);
	printf("  %-28s %14llu\n", "waits for a zeroed segment",
	       (unsigned long long)f->ws.spare_waits);
	printf("Recovery: %u GA sales (hold + confirm) of a %u-unit event\n", c->recovery_sales,
	       SALE_UNITS);
	printf("  %-28s %14llu\n", "records", (unsigned long long)rf->records);
	printf("  %-28s %14.0f\n", "recovery records/s", rf->records_per_s);
	printf("  %-28s %14.1f\n", "shard_store_open (ms)", rf->open_ms);
	printf("  %-28s %14.1f\n", "state size (MB)", (double)rf->snapshot_bytes / 1e6);
	printf("  %-28s %14.1f\n", "snapshot serialize (ms)", rf->serialize_ms);
	printf("  %-28s %14.1f\n", "snapshot write (ms)", rf->write_ms);
	printf("  %-28s %14.1f\n", "snapshot load (ms)", rf->load_ms);
	printf("{\"bench\":\"wal\",\"record_bytes\":%u,\"direct\":%s,\"seconds\":%.2f,"
	       "\"durable_records_per_s\":%.0f,\"fsyncs_per_s\":%.0f,\"records_per_fsync_p50\":%u,"
	       "\"commit_latency_p50_us\":%.0f,\"commit_latency_p99_us\":%.0f,"
	       "\"write_mb_per_s\":%.1f,\"replay_records_per_s\":%.0f,\"records\":%llu,"
	       "\"recovery_records_per_s\":%.0f,\"recovery_open_ms\":%.1f,"
	       "\"snapshot_bytes\":%llu,\"snapshot_serialize_ms\":%.1f,"
	       "\"snapshot_write_ms\":%.1f,\"snapshot_load_ms\":%.1f}\n",
	       c->record_bytes, c->flags & STORAGE_URING_DIRECT ? "true" : "false", f->secs, rps,
	       fps, per_fsync_p50, p50, p99, mb_s, replay_rps, (unsigned long long)f->durable,
	       rf->records_per_s, rf->open_ms, (unsigned long long)rf->snapshot_bytes,
	       rf->serialize_ms, rf->write_ms, rf->load_ms);
}

/* The measurements, in c->run_dir: 0, or 1 after saying what failed. */
static int measure(const struct config *c, struct bench *b)
{
	struct wal_figures wf;
	if (measure_wal(c, b, &wf))
		return 1;
	struct recovery_figures rf = {0};
	if (c->recovery_sales) {
		int rc = measure_recovery(c, &rf);
		if (rc) {
			fprintf(stderr, "bench-wal: recovery measurement failed: %s\n",
				strerror(-rc));
			return 1;
		}
	}
	print_figures(c, b, &wf, &rf);
	return 0;
}

int main(int argc, char **argv)
{
	struct config c;
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	static struct bench b;
	b.stamp_ns = calloc(STAMPS, sizeof *b.stamp_ns);
	b.batch_records = calloc(BATCHES_MAX, sizeof *b.batch_records);
	if (!b.stamp_ns || !b.batch_records)
		return 1;
	static struct rundir rd;
	rc = rundir_make(&rd, c.dir, "bench-wal", strcmp(c.dir, DIR_DEFAULT) ? 1 : 2);
	if (rc) {
		fprintf(stderr, "bench-wal: --dir %s: cannot make a directory in it: %s\n", c.dir,
			strerror(-rc));
		return 1;
	}
	c.run_dir = rd.path;
	rc = measure(&c, &b);
	rundir_remove(&rd);
	free(b.stamp_ns);
	free(b.batch_records);
	return rc;
}
