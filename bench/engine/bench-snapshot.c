/*
 * bench-snapshot.c — what snapshots while serving cost a shard, and what
 * they buy at restart (docs/PERFORMANCE.md, "Snapshots while serving").
 *
 * One shard store on a real directory, as onsaled runs it (io_uring
 * storage, O_DIRECT where the filesystem takes it, the snapshot writer
 * of --writer: replay, onsaled's default, or fork). It loads a 1,000,000-unit GA tier and a 100,000-seat venue,
 * sells --sold GA units (hold + confirm) so the state is that of a
 * running on-sale, then appends --records records of GA holds and their
 * releases (the state stays the same size while the log grows) with the
 * snapshot policy given, driving the store as the shard loop does: execute,
 * and every --turn commands tick (the policy and the background snapshot)
 * and flush. It reports:
 *   - turn_us: how long each loop turn took (p50, p99, p99.9, max): a
 *     request waits at most one turn, so max is the longest stall it sees;
 *   - busy_us: the same over the turns during which a snapshot was being
 *     started or written (the child alive), idle_us over the others;
 *   - snapshot_start_us_max: the longest time the loop spent starting a
 *     snapshot (the fork); per snapshot, fork_us (wall), fork_cpu_us and
 *     faults (the loop thread's minor faults while the child lived: its
 *     copy-on-write), image_ms (fork to state serialized in the child),
 *     written_ms (fork to published) and writer_cpu_ms (the writer's CPU
 *     time, which it takes from the shards on a small machine);
 *   - after the last record, the store is dropped without a clean stop (a
 *     crash); the newest snapshot is loaded alone (snapshot_load_ms, its
 *     size), then the store is reopened: recovery_ms and the records it
 *     replayed; then it is stopped cleanly (a snapshot at the last record)
 *     and reopened again: recovery_clean_ms.
 * The store lives in a fresh directory inside --dir (bench/common/rundir.h:
 * DIR/bench-snapshot.XXXXXX), removed afterwards and at SIGINT or SIGTERM
 * unless --keep (its path is then printed on stderr, for --reopen --dir);
 * nothing else in DIR is touched. --reopen opens the directory it is given
 * as it is and removes nothing.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/opts.h"
#include "bench/common/rundir.h"
#include "net/store/shard_store.h"
#include "net/store/snapshot.h"
#include "net/wal/storage_uring.h"

#define EVENT 1
#define GA_UNITS 1000000u
#define SEATS 100000u
#define SECTION_ROWS 50u
#define ROW_SEATS 40u          /* 2,000 seats a section, 50 sections */
#define TURN_HIST_MAX 1000000u /* turn times kept for percentiles */
#define SNAPSHOTS_NOTED_MAX 64u
/* The options' ranges: --records and --turn bound the run; --sold at most
 * half the GA tier, so that the churn's holds always find units. */
#define RECORDS_MAX 1000000000u
#define TURN_MAX 65536u
#define SOLD_MAX (GA_UNITS / 2)
#define DIR_DEFAULT "./var/bench-snapshot" /* made with ./var if missing */

struct config {
	const char *dir;
	uint64_t records, sold, policy_records;
	unsigned turn;
	int keep, reopen;
	enum shard_snapshot_writer writer;
};

struct turns {
	uint32_t *us;
	size_t n;
	uint64_t max_us, count;
};

/* What each background snapshot cost the loop (from on_snapshot). */
struct noted {
	uint64_t fork_us[SNAPSHOTS_NOTED_MAX], cpu_us[SNAPSHOTS_NOTED_MAX];
	uint64_t faults[SNAPSHOTS_NOTED_MAX], image_ms[SNAPSHOTS_NOTED_MAX];
	uint64_t written_ms[SNAPSHOTS_NOTED_MAX], writer_cpu_ms[SNAPSHOTS_NOTED_MAX];
	unsigned n;
};

static struct noted noted;

static void on_snapshot(void *user, uint64_t lsn, const struct shard_store_stats *st)
{
	(void)user;
	if (!lsn || noted.n >= SNAPSHOTS_NOTED_MAX)
		return;
	noted.fork_us[noted.n] = st->snapshot_last_us;
	noted.cpu_us[noted.n] = st->snapshot_start_cpu_us_last;
	noted.image_ms[noted.n] = st->snapshot_image_us_last / 1000;
	noted.written_ms[noted.n] = st->snapshot_write_us_last / 1000;
	noted.writer_cpu_ms[noted.n] = st->snapshot_writer_cpu_us_last / 1000;
	noted.faults[noted.n++] = st->snapshot_faults_last;
}

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* CPU time of the whole process (its io_uring workers too): recovery's
 * cost without the waits for a CPU on a shared machine. */
static uint64_t cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int exec(struct shard_store *s, const struct cmd *c, struct result *res)
{
	uint64_t wait;
	enum status st = shard_store_execute(s, c, wall_ms(), res, &wait);
	if (st != ST_OK)
		fprintf(stderr, "bench-snapshot: command %u: %s\n", c->type, status_name(st));
	return st == ST_OK ? 0 : -1;
}

static int load_venue(struct shard_store *s)
{
	static struct row_spec rows[SECTION_ROWS];
	static struct seat_spec seats[SECTION_ROWS * ROW_SEATS];
	struct result res;
	struct cmd c = {.type = CMD_SECTION_LOAD};
	for (unsigned r = 0; r < SECTION_ROWS; r++) {
		snprintf(rows[r].label, sizeof rows[r].label, "R%u", r);
		rows[r].seat_count = ROW_SEATS;
		rows[r].first_number = 1;
	}
	for (unsigned i = 0; i < SECTION_ROWS * ROW_SEATS; i++)
		seats[i] = (struct seat_spec){.tier = 1,
					      .rank = (uint16_t)(i / ROW_SEATS * 64 +
								 i % ROW_SEATS)};
	for (unsigned sec = 0; sec < SEATS / (SECTION_ROWS * ROW_SEATS); sec++) {
		c.section = (struct cmd_section){.event_id = EVENT,
						 .section = (uint16_t)sec,
						 .row_count = SECTION_ROWS,
						 .rows = rows,
						 .seats = seats};
		snprintf(c.section.name, sizeof c.section.name, "S%u", sec);
		if (exec(s, &c, &res))
			return -1;
	}
	return 0;
}

static int load_event(struct shard_store *s)
{
	struct result res;
	struct cmd c = {.type = CMD_EVENT_CREATE};
	c.event.event_id = EVENT;
	c.event.state = EVENT_ON_SALE;
	c.event.units_max = GA_UNITS + SEATS;
	c.event.presale_start_ms = c.event.public_start_ms = 1;
	if (exec(s, &c, &res))
		return -1;
	for (uint8_t t = 0; t < 2; t++) {
		memset(&c, 0, sizeof c);
		c.type = CMD_TIER_ADD;
		c.tier = (struct cmd_tier){.event_id = EVENT,
					   .tier = t,
					   .kind = t ? TIER_RESERVED : TIER_GA,
					   .capacity = t ? 0 : GA_UNITS,
					   .price_minor = 4500};
		if (exec(s, &c, &res))
			return -1;
	}
	return load_venue(s);
}

static int hold(struct shard_store *s, uint64_t customer, struct result *res)
{
	struct cmd c = {.type = CMD_HOLD};
	c.hold = (struct cmd_hold){.event_id = EVENT, .qty = 1, .customer_id = customer};
	return exec(s, &c, res);
}

static int hold_then(struct shard_store *s, uint8_t type, uint64_t customer)
{
	struct result res;
	if (hold(s, customer, &res))
		return -1;
	struct cmd c = {.type = type};
	c.ref = (struct cmd_hold_ref){.event_id = EVENT,
				      .hold_id = res.hold.hold_id,
				      .amount_minor = res.hold.amount_due_minor};
	return exec(s, &c, &res);
}

static int sell(struct shard_store *s, uint64_t sold)
{
	for (uint64_t i = 0; i < sold; i++) {
		if (hold_then(s, CMD_CONFIRM, 1 + i))
			return -1;
		if (i % 4096 == 0 && shard_store_poll(s))
			return -1;
	}
	return shard_store_sync(s);
}

static void turn_note(struct turns *t, uint64_t ns)
{
	uint64_t us = ns / 1000;
	if (us > t->max_us)
		t->max_us = us;
	if (t->n < TURN_HIST_MAX)
		t->us[t->n++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
	else
		t->us[t->count % TURN_HIST_MAX] = (uint32_t)us; /* a sample of the rest */
	t->count++;
}

/* --records more records of holds and releases, one loop turn per --turn
 * pairs: execute, then tick and flush. t[0] all turns, t[1] the turns a
 * snapshot ran in (started, or its child alive), t[2] the others. */
static int churn(struct shard_store *s, const struct config *cfg, struct turns t[3])
{
	uint64_t target = shard_store_last_lsn(s) + cfg->records, customer = 10000000;
	while (shard_store_last_lsn(s) < target) {
		uint64_t t0 = now_ns();
		bool busy = shard_store_snapshot_running(s);
		for (unsigned i = 0; i < cfg->turn; i++)
			if (hold_then(s, CMD_HOLD_RELEASE, customer++))
				return -1;
		if (shard_store_poll_at(s, wall_ms()) || shard_store_flush(s))
			return -1;
		uint64_t ns = now_ns() - t0;
		busy = busy || shard_store_snapshot_running(s);
		turn_note(&t[0], ns);
		turn_note(&t[busy ? 1 : 2], ns);
	}
	for (int i = 0; i < 100000 && shard_store_snapshot_running(s); i++) {
		usleep(1000);
		shard_store_poll_at(s, wall_ms());
	}
	return shard_store_sync(s);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static uint32_t pct(const struct turns *t, double p)
{
	return t->n ? t->us[(size_t)(p * (double)(t->n - 1))] : 0;
}

static int open_store(const struct config *cfg, struct storage *st, int dir_fd,
		      struct shard_store **s, struct shard_store_recovery *rec)
{
	int rc = storage_uring_open(st, cfg->dir, STORAGE_URING_DIRECT_TRY);
	if (rc)
		return rc;
	uint64_t p = cfg->policy_records;
	struct shard_store_options o = {.snapshot_records = p,
					.snapshot_writer = cfg->writer,
					.snapshot_dir_fd = dir_fd,
					.archive_dir_fd = -1,
					.on_snapshot = on_snapshot,
					.snapshot_wal_bytes = p == SHARD_SNAPSHOT_OFF ? p : 0,
					.snapshot_interval_ms = p == SHARD_SNAPSHOT_OFF ? p : 0};
	rc = shard_store_open(s, st, &o, rec);
	if (rc) {
		fprintf(stderr, "bench-snapshot: open: %s: %s\n", strerror(-rc), rec->message);
		storage_destroy(st);
	}
	return rc;
}

static void print_list(const char *name, const uint64_t *v, unsigned n)
{
	printf("\"%s\":[", name);
	for (unsigned i = 0; i < n; i++)
		printf("%s%" PRIu64, i ? "," : "", v[i]);
	printf("],");
}

static void print_turns(const char *name, struct turns *t)
{
	qsort(t->us, t->n, sizeof *t->us, cmp_u32);
	printf("\"%s\":{\"turns\":%" PRIu64 ",\"p50\":%u,\"p99\":%u,\"p999\":%u,\"max\":%" PRIu64
	       "},",
	       name, t->count, pct(t, 0.5), pct(t, 0.99), pct(t, 0.999), t->max_us);
}

static void report(const struct config *cfg, struct shard_store *s, struct turns t[3], double secs)
{
	const struct shard_store_stats *ss = shard_store_stats(s);
	print_turns("busy_us", &t[1]);
	print_turns("idle_us", &t[2]);
	print_list("fork_us", noted.fork_us, noted.n);
	print_list("fork_cpu_us", noted.cpu_us, noted.n);
	print_list("faults", noted.faults, noted.n);
	print_list("image_ms", noted.image_ms, noted.n);
	print_list("written_ms", noted.written_ms, noted.n);
	print_list("writer_cpu_ms", noted.writer_cpu_ms, noted.n);
	qsort(t->us, t->n, sizeof *t->us, cmp_u32);
	char policy[24];
	if (cfg->policy_records == SHARD_SNAPSHOT_OFF)
		snprintf(policy, sizeof policy, "off");
	else if (!cfg->policy_records)
		snprintf(policy, sizeof policy, "default");
	else
		snprintf(policy, sizeof policy, "%" PRIu64, cfg->policy_records);
	printf("\"policy_records\":\"%s\",\"records\":%" PRIu64
	       ",\"seconds\":%.1f,\"turn\":%u,\"snapshots\":%" PRIu64
	       ",\"snapshot_failures\":%" PRIu64 ",\"snapshot_start_us_max\":%" PRIu64
	       ",\"snapshot_start_cpu_us_max\":%" PRIu64 ",\"snapshot_write_ms_last\":%" PRIu64
	       ",\"turn_us_p50\":%u,\"turn_us_p99\":%u,\"turn_us_p999\":%u,\"turn_us_max\":%" PRIu64
	       ",\"segments_removed\":%" PRIu64 ",",
	       policy, shard_store_last_lsn(s), secs, cfg->turn, ss->snapshots,
	       ss->snapshot_failures, ss->snapshot_start_us_max, ss->snapshot_start_cpu_us_max,
	       ss->snapshot_write_us_last / 1000, pct(t, 0.5), pct(t, 0.99), pct(t, 0.999),
	       t->max_us, ss->segments_removed);
}

/* How much of recovery is loading the newest snapshot alone. */
static int time_load(const struct config *cfg)
{
	struct storage st;
	struct core *c;
	struct snapshot_info info;
	char why[256];
	if (storage_uring_open(&st, cfg->dir, STORAGE_URING_DIRECT_TRY))
		return -1;
	uint64_t t0 = now_ns();
	int rc = snapshot_load_newest(&st, 0, &c, &info, why, sizeof why);
	if (!rc) {
		printf("\"snapshot_load_ms\":%.0f,\"snapshot_bytes\":%" PRIu64 ",",
		       (double)(now_ns() - t0) / 1e6, info.body_bytes);
		core_destroy(c);
	}
	storage_destroy(&st);
	return rc == -ENOENT ? 0 : rc;
}

/* Recovery after a crash, timed: wall, CPU, what it replayed. */
static int open_timed(const struct config *cfg, struct storage *st, int dir_fd,
		      struct shard_store **s)
{
	struct shard_store_recovery rec;
	uint64_t t0 = now_ns(), c0 = cpu_ns();
	if (open_store(cfg, st, dir_fd, s, &rec))
		return 1;
	printf("\"recovery_ms\":%.0f,\"recovery_cpu_ms\":%.0f,\"snapshot_lsn\":%" PRIu64
	       ",\"records_replayed\":%" PRIu64 ",\"last_lsn\":%" PRIu64 ",",
	       (double)(now_ns() - t0) / 1e6, (double)(cpu_ns() - c0) / 1e6, rec.snapshot_lsn,
	       rec.records_replayed, rec.last_lsn);
	return 0;
}

/* The whole-state image the in-process writer makes (the snapshot of a
 * clean stop; the forked writer streams instead), timed with its minor
 * faults, without a fork, so that it is repeatable. */
static int time_image(const struct core *c)
{
	static const uint8_t chain[16];
	uint8_t *img;
	struct rusage r0, r1;
	getrusage(RUSAGE_SELF, &r0);
	uint64_t bytes, t0 = now_ns(), c0 = cpu_ns();
	int rc = snapshot_image(c, 0, chain, &img, &bytes);
	if (rc)
		return 1;
	getrusage(RUSAGE_SELF, &r1);
	printf("\"image_ms\":%.0f,\"image_cpu_ms\":%.0f,\"image_faults\":%ld}\n",
	       (double)(now_ns() - t0) / 1e6, (double)(cpu_ns() - c0) / 1e6,
	       r1.ru_minflt - r0.ru_minflt);
	munmap(img, bytes);
	return 0;
}

/* --reopen: recovery alone, from a directory an earlier run left
 * (--keep), as a restart after a crash would do it; repeatable, so that
 * it can be profiled and compared between builds. */
static int reopen(const struct config *cfg)
{
	struct storage st;
	struct shard_store *s;
	int dir_fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dir_fd < 0) {
		fprintf(stderr, "bench-snapshot: %s: %s\n", cfg->dir, strerror(errno));
		return 1;
	}
	printf("{\"bench\":\"snapshot-reopen\",");
	if (time_load(cfg))
		return 1;
	if (open_timed(cfg, &st, dir_fd, &s))
		return 1;
	int rc = time_image(shard_store_core(s));
	shard_store_close(s); /* as a crash would: the directory stays as it was */
	storage_destroy(&st);
	close(dir_fd);
	return rc;
}

static int run(const struct config *cfg)
{
	struct storage st;
	struct shard_store *s;
	struct shard_store_recovery rec;
	struct turns t[3];
	for (int i = 0; i < 3; i++)
		t[i] = (struct turns){.us = malloc(TURN_HIST_MAX * sizeof *t[i].us)};
	int dir_fd = open(cfg->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!t[0].us || !t[1].us || !t[2].us || dir_fd < 0 ||
	    open_store(cfg, &st, dir_fd, &s, &rec))
		return 1;
	if (load_event(s) || sell(s, cfg->sold))
		return 1;
	printf("{\"bench\":\"snapshot\",\"writer\":\"%s\",",
	       cfg->writer == SHARD_SNAPSHOT_FORK ? "fork" : "replay");
	uint64_t t0 = now_ns();
	if (churn(s, cfg, t))
		return 1;
	report(cfg, s, t, (double)(now_ns() - t0) / 1e9);
	shard_store_close(s); /* as a crash would leave it */
	storage_destroy(&st);
	if (time_load(cfg))
		return 1;
	if (open_timed(cfg, &st, dir_fd, &s))
		return 1;
	/* and after a clean stop (a snapshot at the last record, no replay) */
	if (shard_store_shutdown(s))
		return 1;
	storage_destroy(&st);
	t0 = now_ns();
	uint64_t c0 = cpu_ns();
	if (open_store(cfg, &st, dir_fd, &s, &rec))
		return 1;
	printf("\"recovery_clean_ms\":%.0f,\"recovery_clean_cpu_ms\":%.0f"
	       ",\"clean_records_replayed\":%" PRIu64 "}\n",
	       (double)(now_ns() - t0) / 1e6, (double)(cpu_ns() - c0) / 1e6, rec.records_replayed);
	shard_store_close(s);
	storage_destroy(&st);
	close(dir_fd);
	for (int i = 0; i < 3; i++)
		free(t[i].us);
	return 0;
}

/* --policy-records: N (a whole number below SHARD_SNAPSHOT_OFF) or "off". */
static const char *policy_value(const char *arg, void *dst)
{
	uint64_t *records = dst;
	char *end;
	if (!strcmp(arg, "off")) {
		*records = SHARD_SNAPSHOT_OFF;
		return NULL;
	}
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end || errno || v >= SHARD_SNAPSHOT_OFF)
		return "a whole number or off";
	*records = v;
	return NULL;
}

/* --writer: replay or fork. */
static const char *writer_value(const char *arg, void *dst)
{
	enum shard_snapshot_writer *w = dst;
	if (strcmp(arg, "replay") && strcmp(arg, "fork"))
		return "replay or fork";
	*w = strcmp(arg, "fork") ? SHARD_SNAPSHOT_REPLAY : SHARD_SNAPSHOT_FORK;
	return NULL;
}

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv, struct config *c)
{
	const struct opt options[] = {
		OPT_U64("records", "N", &c->records, 0, RECORDS_MAX,
			"hold + release records after the sales (default 10M)"),
		OPT_U64("sold", "N", &c->sold, 0, SOLD_MAX, "GA units sold first (default 300000)"),
		OPT_FN("policy-records", "N", &c->policy_records, policy_value,
		       "snapshot every N records; off: no policy snapshots\n"
		       "(default: the onsaled default policy)"),
		OPT_UINT("turn", "N", &c->turn, 1, TURN_MAX,
			 "hold + release pairs per loop turn (default 32)"),
		OPT_FN("writer", "W", &c->writer, writer_value,
		       "who writes policy snapshots: replay (a thread replaying\n"
		       "the WAL into a copy; default, as onsaled) or fork"),
		OPT_STR("dir", "DIR", &c->dir,
			"where (default " DIR_DEFAULT "). The run\n"
			"writes only in a fresh DIR/bench-snapshot.XXXXXX,\n"
			"removed afterwards, also at SIGINT or SIGTERM (a\n"
			"SIGKILL leaves it). A missing DIR is made where its\n"
			"parent exists (./var too for the default) and\n"
			"removed after if left empty"),
		OPT_FLAG("keep", &c->keep,
			 "leave the run's directory as the run left it; its path\n"
			 "is printed on stderr (a run stopped by a signal is\n"
			 "removed all the same)"),
		OPT_FLAG("reopen", &c->reopen,
			 "only recover DIR (a directory a --keep run left) as after\n"
			 "a crash, timed; DIR is kept as it is"),
	};
	const struct opts_cmd cmd =
		OPTS_CMD("bench-snapshot",
			 "What snapshots while serving cost a shard, and what they buy at restart\n"
			 "(docs/PERFORMANCE.md). Prints one JSON line.\n",
			 options);
	return opts_parse(&cmd, argc, argv);
}

int main(int argc, char **argv)
{
	struct config cfg = {.dir = DIR_DEFAULT,
			     .records = 10000000,
			     .sold = 300000,
			     .turn = 32,
			     .writer = SHARD_SNAPSHOT_REPLAY};
	int rc = parse(argc, argv, &cfg);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	if (cfg.reopen)
		return reopen(&cfg);
	static struct rundir rd;
	rc = rundir_make(&rd, cfg.dir, "bench-snapshot", strcmp(cfg.dir, DIR_DEFAULT) ? 1 : 2);
	if (rc) {
		fprintf(stderr, "bench-snapshot: --dir %s: cannot make a directory in it: %s\n",
			cfg.dir, strerror(-rc));
		return 1;
	}
	cfg.dir = rd.path;
	rc = run(&cfg);
	if (cfg.keep) {
		rundir_keep(&rd);
		fprintf(stderr, "bench-snapshot: kept %s\n", rd.path);
	} else {
		rundir_remove(&rd);
	}
	return rc;
}
