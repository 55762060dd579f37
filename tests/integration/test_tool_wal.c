/*
 * test_tool_wal.c — onsale-wal (tools/wal/onsale-wal.c) run as operators run it,
 * on a real data directory.
 *
 * A sale (events, GA and reserved tiers, big seat-map sections so the log
 * spans segments, holds on two channels over several hours, confirms, a
 * release, an expiry, a refund with a fee, a redemption, an exchange) runs
 * through the real state machine (fixture.h); its records go through the
 * real WAL writer on the io_uring backend into <tmp>/shard-0, one batch per
 * record so the recovery reader can tell corruption from a torn tail. Then
 * build/bin/onsale-wal runs as a child process and its exit statuses and
 * output are checked against the state that wrote the log: dump lines and
 * filters, verify on a healthy, torn and corrupted log, replay hashes
 * (whole and prefix), report sums, stats, truncate (refused, then saving,
 * cutting and leaving a log that replays to the prefix) and follow.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/bytes.h"
#include "net/store/snapshot.h"
#include "net/wal/storage_uring.h"
#include "net/wal/wal.h"
#include "tests/support/fixture.h"

#define SEGMENT_BYTES (128u << 10)
#define OUT_BYTES (1u << 20)
#define GA_PRICE 5000u
#define SEAT_PRICE 9000u
#define REFUND_FEE 700u
#define HOUR_MS 3600000ull
#define SNAPSHOT_LSN 12 /* a snapshot of the state after this record */

static char tool[4096];

/* ---- the sale -------------------------------------------------------- */

struct sale {
	struct fx *f;
	uint64_t sold_units, sales_minor, refund_fees;
	char dir[64];
};

static uint64_t hold_channel(struct fx *f, uint8_t tier, uint8_t mode, uint8_t qty, uint8_t channel,
			     uint64_t customer)
{
	struct cmd c = {.type = CMD_HOLD};

	c.hold.event_id = 1;
	c.hold.tier = tier;
	c.hold.mode = mode;
	c.hold.qty = qty;
	c.hold.channel = channel;
	c.hold.customer_id = customer;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	return f->res.hold.hold_id;
}

static uint64_t buy(struct sale *s, uint8_t tier, uint8_t mode, uint8_t qty, uint8_t channel,
		    uint64_t customer)
{
	uint64_t price = tier == 0 ? GA_PRICE : SEAT_PRICE;
	uint64_t hold = hold_channel(s->f, tier, mode, qty, channel, customer);

	assert_int_equal(fx_confirm(s->f, 1, hold, price * qty), ST_OK);
	s->sold_units += qty;
	s->sales_minor += price * qty;
	return s->f->res.hold.first_ticket_id;
}

static void run_sale(struct sale *s)
{
	struct fx *f = s->f = fx_new(0);
	struct cmd refund = {.type = CMD_REFUND};
	uint64_t t1, t2;

	assert_int_equal(fx_event(f, 1, 45000, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, 1, 0, 500, GA_PRICE), ST_OK);
	assert_int_equal(fx_reserved_tier(f, 1, 1, SEAT_PRICE), ST_OK);
	for (uint16_t sec = 0; sec < 5; sec++) /* ~33 KB records: the log spans segments */
		assert_int_equal(fx_section(f, 1, sec, 80, 100, 1), ST_OK);
	t1 = buy(s, 0, HOLD_GA, 2, CHANNEL_ONLINE, 11);
	f->now += HOUR_MS;
	t2 = buy(s, 1, HOLD_BEST, 3, CHANNEL_BOX_OFFICE, 12);
	buy(s, 0, HOLD_GA, 1, CHANNEL_KIOSK, 13);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, 1, hold_channel(f, 0, HOLD_GA, 1, 0, 14)),
			 ST_OK);
	uint64_t lapsing = hold_channel(f, 1, HOLD_BEST, 2, CHANNEL_ONLINE, 15);
	f->now += HOUR_MS;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, 1, lapsing), ST_OK);
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, 1, t2), ST_OK);
	refund.ticket.event_id = 1;
	refund.ticket.ticket_id = t1;
	refund.ticket.fee_minor = REFUND_FEE;
	assert_int_equal(fx_exec(f, &refund), ST_OK);
	s->refund_fees = REFUND_FEE;
	assert_int_equal(fx_ticket_op(f, CMD_EXCHANGE, 1, t2 + 1), ST_OK); /* seat -> GA */
	buy(s, 0, HOLD_GA, 4, CHANNEL_ONLINE, 16);
	assert_null(fx_replay_check(f));
}

/* Writes a snapshot of the state after the records so far (replayed on a
 * fresh core), with the chain value the writer has now. */
static void write_snapshot(struct storage *st, struct wal *w, const struct fx *f, size_t log_off)
{
	struct core *c = core_create(0);
	struct walfmt_sum chain = wal_chain(w);
	uint8_t chain_bytes[16];
	struct snapshot_info info;

	for (size_t off = 0; off < log_off;) {
		uint32_t len = get_u32(f->log + off);

		assert_int_equal(core_apply(c, f->log + off + 4, len), ST_OK);
		off += 4 + len;
	}
	put_u64(chain_bytes, chain.lo);
	put_u64(chain_bytes + 8, chain.hi);
	assert_int_equal(snapshot_write(st, c, wal_durable_lsn(w), chain_bytes, &info), 0);
	core_destroy(c);
}

/* Writes the fixture's log through the real writer, one batch per record,
 * and a snapshot after SNAPSHOT_LSN. */
static void write_wal(const struct fx *f, const char *shard_dir)
{
	struct storage st;
	struct wal *w;
	struct wal_options o = {.shard = 0, .segment_bytes = SEGMENT_BYTES};
	uint64_t lsn = 0;

	assert_int_equal(storage_uring_open(&st, shard_dir, 0), 0);
	assert_int_equal(wal_open(&w, &st, &o, NULL), 0);
	for (size_t off = 0; off < f->log_len;) {
		uint32_t len = get_u32(f->log + off);

		assert_int_equal(wal_append(w, f->log + off + 4, len, &lsn), 0);
		assert_int_equal(wal_sync(w), 0);
		off += 4 + len;
		if (lsn == SNAPSHOT_LSN)
			write_snapshot(&st, w, f, off);
	}
	assert_true(wal_stats(w)->segments_created >= 2);
	wal_close(w);
	storage_destroy(&st);
}

static void make_data(struct sale *s)
{
	char shard_dir[96];

	snprintf(s->dir, sizeof s->dir, "/tmp/onsale-tool-wal-XXXXXX");
	assert_non_null(mkdtemp(s->dir));
	snprintf(shard_dir, sizeof shard_dir, "%s/shard-0", s->dir);
	write_wal(s->f, shard_dir);
}

static void remove_data(const char *dir)
{
	char cmd[256];

	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* The state hash of the first n records replayed on a fresh core, as the
 * tool prints it. */
static void prefix_hash(const struct fx *f, uint64_t n, char *out, size_t cap)
{
	struct core *c = core_create(0);
	size_t off = 0;

	for (uint64_t i = 0; i < n; i++) {
		uint32_t len = get_u32(f->log + off);

		assert_int_equal(core_apply(c, f->log + off + 4, len), ST_OK);
		off += 4 + len;
	}
	struct state_hash h = core_state_hash(c);
	snprintf(out, cap, "%016" PRIx64 "%016" PRIx64, h.hi, h.lo);
	core_destroy(c);
}

/* ---- running the tool ------------------------------------------------ */

/* What run_tool captures: stdout, or (when set) stderr. */
static int capture_stderr;

/* Runs "onsale-wal ARGS" with the data dir; its output into out. */
static int run_tool(const struct sale *s, char *out, const char *fmt, ...)
{
	char args[1024], cmd[6144];
	va_list ap;
	FILE *p;
	size_t n;
	int status;

	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' %s --data '%s' %s", tool, args, s->dir,
		 capture_stderr ? "2>&1 >/dev/null" : "2>/dev/null");
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(out, 1, OUT_BYTES - 1, p);
	out[n] = 0;
	status = pclose(p);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static size_t count_lines(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *line = s; *line;) {
		const char *end = strchr(line, '\n');
		size_t len = end ? (size_t)(end - line) : strlen(line);

		if (len && (!needle || memmem(line, len, needle, strlen(needle))))
			n++;
		line += len + (end ? 1 : 0);
	}
	return n;
}

/* The value after "key " on the line that has it, as text. */
static void field_after(const char *out, const char *key, char *val, size_t cap)
{
	const char *p = strstr(out, key);

	assert_non_null(p);
	p += strlen(key);
	size_t n = strcspn(p, " \n");
	assert_true(n < cap);
	memcpy(val, p, n);
	val[n] = 0;
}

/* ---- damage ------------------------------------------------------------ */

/* Finds the frame of lsn in the shard's segments: path and offset. */
static void find_frame(const struct sale *s, uint64_t lsn, char *path, size_t cap, uint64_t *off,
		       uint32_t *frame_bytes)
{
	for (int seg = 0; seg < 64; seg++) {
		snprintf(path, cap, "%s/shard-0/wal-000-%012d.seg", s->dir, seg);
		FILE *fp = fopen(path, "rb");
		if (!fp)
			break;
		static uint8_t buf[SEGMENT_BYTES];
		size_t n = fread(buf, 1, sizeof buf, fp);
		fclose(fp);
		for (size_t o = WALFMT_SEGMENT_HEADER_BYTES; o + WALFMT_FRAME_HEADER_BYTES <= n;
		     o += 8) {
			if (get_u32(buf + o) == WALFMT_FRAME_MAGIC &&
			    get_u64(buf + o + WALFMT_OFF_LSN) == lsn) {
				*off = o;
				*frame_bytes = walfmt_frame_bytes(
					get_u32(buf + o + WALFMT_OFF_BODY_BYTES));
				return;
			}
		}
	}
	fail_msg("frame of LSN %" PRIu64 " not found", lsn);
}

static void overwrite(const char *path, uint64_t off, const void *bytes, size_t len)
{
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, (off_t)off), (ssize_t)len);
	close(fd);
}

/* ---- tests ------------------------------------------------------------- */

static struct sale sale;
static char *out;

static int setup(void **state)
{
	(void)state;
	out = malloc(OUT_BYTES);
	run_sale(&sale);
	make_data(&sale);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (getenv("ONSALE_TEST_KEEP")) /* to look at by hand */
		printf("kept %s\n", sale.dir);
	else
		remove_data(sale.dir);
	fx_free(sale.f);
	free(out);
	return 0;
}

static void test_dump_lists_every_record(void **state)
{
	char want[64];

	(void)state;
	assert_int_equal(run_tool(&sale, out, "dump"), 0);
	assert_int_equal(count_lines(out, NULL), sale.f->records);
	for (uint64_t lsn = 1; lsn <= sale.f->records; lsn++) {
		snprintf(want, sizeof want, "lsn=%" PRIu64 " shard=0 ", lsn);
		assert_non_null(strstr(out, want));
	}
	assert_non_null(strstr(out, "channel=box_office"));
	assert_int_equal(run_tool(&sale, out, "dump --json"), 0);
	assert_int_equal(count_lines(out, "{\"lsn\":"), sale.f->records);
	assert_non_null(strstr(out, "\"type\":\"confirm\""));
}

static void test_dump_filters(void **state)
{
	(void)state;
	assert_int_equal(run_tool(&sale, out, "dump --type confirm"), 0);
	assert_int_equal(count_lines(out, NULL), 4);
	assert_int_equal(count_lines(out, " confirm "), 4);
	assert_int_equal(run_tool(&sale, out, "dump --type hold,refund"), 0);
	assert_int_equal(count_lines(out, NULL), 7);
	assert_int_equal(run_tool(&sale, out, "dump --from 3 --to 5"), 0);
	assert_int_equal(count_lines(out, NULL), 3);
	assert_non_null(strstr(out, "lsn=3 "));
	assert_non_null(strstr(out, "lsn=5 "));
	assert_int_equal(run_tool(&sale, out, "dump --event 2"), 0);
	assert_int_equal(count_lines(out, NULL), 0);
	assert_int_equal(run_tool(&sale, out, "dump --type nonsense"), 3);
	assert_int_equal(run_tool(&sale, out, "dump --from x"), 3);
	assert_int_equal(run_tool(&sale, out, "bogus"), 3);
	assert_int_equal(run_tool(&sale, out, "dump --help"), 0);
	assert_non_null(strstr(out, "usage: onsale-wal dump"));
}

static void test_verify_healthy(void **state)
{
	(void)state;
	assert_int_equal(run_tool(&sale, out, "verify"), 0);
	assert_non_null(strstr(out, "invariants hold"));
}

/* A damaged snapshot is skipped and said, in one sentence with what it
 * means (the line ended in "skipped; "). */
static void test_verify_damaged_snapshot_said(void **state)
{
	char path[160];
	(void)state;
	snprintf(path, sizeof path, "%s/shard-0/snap-%020d.osnp", sale.dir, SNAPSHOT_LSN);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	struct stat sb;
	assert_int_equal(fstat(fd, &sb), 0);
	uint8_t b;
	off_t at = sb.st_size / 2;
	assert_int_equal(pread(fd, &b, 1, at), 1);
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	capture_stderr = 1;
	int rc = run_tool(&sale, out, "verify");
	capture_stderr = 0;
	b ^= 0xff;
	assert_int_equal(pwrite(fd, &b, 1, at), 1);
	close(fd);
	assert_int_equal(rc, 0); /* the WAL from LSN 1 covers it */
	assert_non_null(strstr(out, "damaged snapshot(s) skipped: snap-"));
	assert_null(strstr(out, "; \n"));
	assert_non_null(strstr(out, "onsaled skips them too"));
}

static void test_replay_hash_matches_writer(void **state)
{
	char want[40], got[40];
	uint64_t half = SNAPSHOT_LSN / 2;

	(void)state;
	prefix_hash(sale.f, sale.f->records, want, sizeof want);
	assert_int_equal(run_tool(&sale, out, "replay"), 0);
	assert_non_null(strstr(out, "start: snapshot at LSN 12"));
	field_after(out, "state_hash ", got, sizeof got);
	assert_string_equal(got, want);
	field_after(out, "last_lsn ", got, sizeof got);
	assert_int_equal(strtoull(got, NULL, 10), sale.f->records);
	assert_int_equal(run_tool(&sale, out, "replay --to %" PRIu64, half), 0);
	assert_non_null(strstr(out, "start: empty state"));
	prefix_hash(sale.f, half, want, sizeof want);
	field_after(out, "state_hash ", got, sizeof got);
	assert_string_equal(got, want);
	assert_int_equal(run_tool(&sale, out, "replay --to %d", SNAPSHOT_LSN + 3), 0);
	assert_non_null(strstr(out, "start: snapshot at LSN 12"));
	prefix_hash(sale.f, SNAPSHOT_LSN + 3, want, sizeof want);
	field_after(out, "state_hash ", got, sizeof got);
	assert_string_equal(got, want);
}

/* Sums one CSV column over every row. */
static int64_t csv_sum(const char *csv, const char *column)
{
	const char *nl = strchr(csv, '\n');
	char head[1024];
	int col = 0, idx = -1;
	int64_t sum = 0;

	assert_non_null(nl);
	memcpy(head, csv, (size_t)(nl - csv));
	head[nl - csv] = 0;
	for (char *save = NULL, *t = strtok_r(head, ",", &save); t;
	     t = strtok_r(NULL, ",", &save), col++)
		if (!strcmp(t, column))
			idx = col;
	assert_true(idx >= 0);
	for (const char *line = nl + 1; *line;) {
		const char *p = line;

		for (int i = 0; i < idx; i++)
			p = strchr(p, ',') + 1;
		sum += strtoll(p, NULL, 10);
		line = strchr(line, '\n') + 1;
	}
	return sum;
}

static int64_t live_revenue(struct fx *f)
{
	int64_t sum = 0;

	for (uint8_t tier = 0; tier < 2; tier++) {
		assert_int_equal(fx_query(f, CMD_Q_STATS, 1, tier), ST_OK);
		for (int ch = 0; ch < CHANNELS; ch++)
			sum += (int64_t)f->res.stats.channels[ch].revenue_minor;
	}
	return sum;
}

static void test_report_sums_match_sales(void **state)
{
	(void)state;
	assert_int_equal(run_tool(&sale, out, "report"), 0);
	assert_int_equal(strncmp(out, "hour_utc,event,tier,channel,holds", 33), 0);
	assert_int_equal(csv_sum(out, "sold_units"), (int64_t)sale.sold_units);
	assert_int_equal(csv_sum(out, "sales_minor"), (int64_t)sale.sales_minor);
	assert_int_equal(csv_sum(out, "confirms"), 4);
	assert_int_equal(csv_sum(out, "holds"), 6);
	assert_int_equal(csv_sum(out, "releases"), 1);
	assert_int_equal(csv_sum(out, "expired_units"), 2);
	assert_int_equal(csv_sum(out, "refunds"), 1);
	assert_int_equal(csv_sum(out, "refund_fees_minor"), REFUND_FEE);
	assert_int_equal(csv_sum(out, "refunded_minor"), GA_PRICE - REFUND_FEE);
	assert_int_equal(csv_sum(out, "redemptions"), 1);
	assert_int_equal(csv_sum(out, "exchanges_in"), 1);
	assert_int_equal(csv_sum(out, "exchanges_out"), 1);
	assert_int_equal(csv_sum(out, "net_revenue_minor"), live_revenue(sale.f));
	assert_non_null(strstr(out, ",1,1,box_office,1,3,1,3,27000,"));
	assert_true(count_lines(out, NULL) >= 5); /* three hours, several rows */
}

static void test_stats(void **state)
{
	char want[64];

	(void)state;
	assert_int_equal(run_tool(&sale, out, "stats"), 0);
	snprintf(want, sizeof want, "records %" PRIu64 "\n", sale.f->records);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "section_load"));
	assert_int_equal(run_tool(&sale, out, "stats --json"), 0);
	assert_non_null(strstr(out, "\"ending\":\"clean\""));
}

/* A fresh copy of the data for a test that damages or cuts it. */
static void fresh(struct sale *s)
{
	*s = sale;
	make_data(s);
}

static void test_verify_torn_tail(void **state)
{
	struct sale s;
	char path[256];
	uint64_t off;
	uint32_t bytes;
	static const uint8_t zeros[256];

	(void)state;
	fresh(&s);
	find_frame(&s, s.f->records, path, sizeof path, &off, &bytes);
	overwrite(path, off + bytes / 2, zeros, bytes - bytes / 2);
	assert_int_equal(run_tool(&s, out, "verify"), 1);
	assert_int_equal(run_tool(&s, out, "dump"), 1);
	assert_int_equal(count_lines(out, NULL), s.f->records - 1);
	remove_data(s.dir);
}

static void test_verify_corrupt_middle(void **state)
{
	struct sale s;
	char path[256], want[64];
	uint64_t off, mid = sale.f->records / 2;
	uint32_t bytes;
	uint8_t byte;

	(void)state;
	fresh(&s);
	find_frame(&s, mid, path, sizeof path, &off, &bytes);
	FILE *fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fseek(fp, (long)(off + WALFMT_FRAME_HEADER_BYTES + 4), SEEK_SET), 0);
	assert_int_equal(fread(&byte, 1, 1, fp), 1);
	fclose(fp);
	byte ^= 0x40;
	overwrite(path, off + WALFMT_FRAME_HEADER_BYTES + 4, &byte, 1);
	assert_int_equal(run_tool(&s, out, "verify"), 2);
	capture_stderr = 1;
	assert_int_equal(run_tool(&s, out, "verify"), 2);
	capture_stderr = 0;
	snprintf(want, sizeof want, "CORRUPT at LSN %" PRIu64 " ", mid);
	assert_non_null(strstr(out, want));
	remove_data(s.dir);
}

static void test_truncate(void **state)
{
	struct sale s;
	char want[40], got[40];
	uint64_t at = 4; /* inside segment 0: the later segments go */

	(void)state;
	fresh(&s);
	assert_int_equal(run_tool(&s, out, "truncate --shard 0 --at %" PRIu64, at), 3);
	assert_int_equal(run_tool(&s, out, "dump"), 0);
	assert_int_equal(count_lines(out, NULL), s.f->records); /* untouched */
	assert_int_equal(run_tool(&s, out, "truncate --at %" PRIu64 " --yes-i-have-a-backup", at),
			 0);
	assert_non_null(strstr(out, "the WAL now ends at LSN 3"));
	assert_non_null(strstr(out, "moved snapshot")); /* it covered dropped records */
	assert_int_equal(run_tool(&s, out, "verify"), 0);
	assert_int_equal(run_tool(&s, out, "replay"), 0);
	field_after(out, "last_lsn ", got, sizeof got);
	assert_int_equal(strtoull(got, NULL, 10), at - 1);
	prefix_hash(s.f, at - 1, want, sizeof want);
	field_after(out, "state_hash ", got, sizeof got);
	assert_string_equal(got, want);
	assert_int_equal(run_tool(&s, out, "dump --file '%s/shard-0/truncated-%" PRIu64 ".walrec'",
				  s.dir, at),
			 0);
	assert_int_equal(count_lines(out, NULL), s.f->records - at + 1);
	assert_non_null(strstr(out, "lsn=4 "));
	remove_data(s.dir);
}

static void test_truncate_after_corruption_salvages(void **state)
{
	struct sale s;
	char path[256];
	uint64_t off, mid = sale.f->records / 2;
	uint32_t bytes;
	static const uint8_t junk[8] = {1, 2, 3, 4, 5, 6, 7, 8};

	(void)state;
	fresh(&s);
	find_frame(&s, mid, path, sizeof path, &off, &bytes);
	overwrite(path, off + 20, junk, sizeof junk); /* the LSN field: header sum fails */
	assert_int_equal(run_tool(&s, out, "verify"), 2);
	assert_int_equal(run_tool(&s, out, "truncate --at %" PRIu64 " --yes-i-have-a-backup",
				  mid + 1),
			 3);
	assert_int_equal(run_tool(&s, out,
				  "truncate --at %" PRIu64
				  " --yes-i-have-a-backup --save '%s/cut.walrec'",
				  mid, s.dir),
			 0);
	assert_int_equal(run_tool(&s, out, "verify"), 0);
	assert_int_equal(run_tool(&s, out, "dump --file '%s/cut.walrec'", s.dir), 0);
	assert_int_equal(count_lines(out, NULL),
			 s.f->records - mid); /* every whole frame after it */
	remove_data(s.dir);
}

/* follow --from LSN streams every record from LSN on (0: from the first,
 * which started at the current end instead, printing nothing) */
static void test_follow_streams_new_records(void **state)
{
	const char *from = *state;
	int fds[2];
	pid_t pid;
	static char buf[OUT_BYTES];
	size_t len = 0;
	int status;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(tool, tool, "follow", "--json", "--from", from, "--interval-ms", "20",
		      "--data", sale.dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	buf[0] = 0;
	while (count_lines(buf, "{\"lsn\":") < sale.f->records) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		ssize_t n = poll(&p, 1, 10000) == 1 ? read(fds[0], buf + len, sizeof buf - 1 - len)
						    : -1;

		if (n <= 0)
			kill(pid, SIGKILL);
		assert_true(n > 0); /* within 10 s */
		len += (size_t)n;
		buf[len] = 0;
	}
	assert_int_equal(kill(pid, SIGINT), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* onsaled --wal-archive moves old segments to ADIR/shard-<k>/: with
 * --archive the tool reads them and the live ones as one log. */
static void test_archive_spans_archived_and_live_segments(void **state)
{
	char live[128], arch[128], from[256], to[256], args[160];
	const char *seg = "wal-000-000000000000.seg";

	(void)state;
	snprintf(live, sizeof live, "%s/shard-0", sale.dir);
	snprintf(arch, sizeof arch, "%s/archive", sale.dir);
	assert_int_equal(mkdir(arch, 0755), 0);
	snprintf(arch, sizeof arch, "%s/archive/shard-0", sale.dir);
	assert_int_equal(mkdir(arch, 0755), 0);
	snprintf(from, sizeof from, "%s/%s", live, seg);
	snprintf(to, sizeof to, "%s/%s", arch, seg);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(run_tool(&sale, out, "dump"), 0);
	assert_true(count_lines(out, NULL) < sale.f->records); /* the live WAL alone */
	assert_null(strstr(out, "lsn=1 "));
	snprintf(args, sizeof args, "dump --archive '%s/archive'", sale.dir);
	assert_int_equal(run_tool(&sale, out, args), 0);
	assert_int_equal(count_lines(out, NULL), sale.f->records);
	assert_non_null(strstr(out, "lsn=1 "));
	snprintf(args, sizeof args, "verify --archive '%s/archive'", sale.dir);
	assert_int_equal(run_tool(&sale, out, args), 0);
	assert_non_null(strstr(out, "LSN 1.."));
	snprintf(args, sizeof args, "stats --archive '%s/archive'", sale.dir);
	assert_int_equal(run_tool(&sale, out, args), 0);
	assert_non_null(strstr(out, "lsn_range 1.."));
	assert_int_equal(run_tool(&sale, out, "truncate --archive x --shard 0 --at 5"), 3);
	/* a mistyped archive is an error, not the live WAL read alone */
	snprintf(args, sizeof args, "verify --archive '%s/archiv'", sale.dir);
	capture_stderr = 1;
	assert_int_equal(run_tool(&sale, out, args), 3);
	capture_stderr = 0;
	assert_non_null(strstr(out, "cannot open archive directory"));
	assert_int_equal(rename(to, from), 0); /* as it was, for the other tests */
}

static void find_tool(const char *argv0)
{
	const char *cut = strstr(argv0, "tests/integration/");
	int n = cut ? (int)(cut - argv0) : 0;

	snprintf(tool, sizeof tool, "%.*sbin/onsale-wal", n, argv0);
	if (!cut || access(tool, X_OK))
		snprintf(tool, sizeof tool, "%s/bin/onsale-wal",
			 getenv("BUILD") ? getenv("BUILD") : "build");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dump_lists_every_record),
		cmocka_unit_test(test_dump_filters),
		cmocka_unit_test(test_verify_healthy),
		cmocka_unit_test(test_verify_damaged_snapshot_said),
		cmocka_unit_test(test_replay_hash_matches_writer),
		cmocka_unit_test(test_report_sums_match_sales),
		cmocka_unit_test(test_stats),
		cmocka_unit_test(test_verify_torn_tail),
		cmocka_unit_test(test_verify_corrupt_middle),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_truncate_after_corruption_salvages),
		{"test_follow_streams_new_records --from 1", test_follow_streams_new_records, NULL,
		 NULL, (void *)"1"},
		{"test_follow_streams_new_records --from 0", test_follow_streams_new_records, NULL,
		 NULL, (void *)"0"},
		cmocka_unit_test(test_archive_spans_archived_and_live_segments),
	};

	(void)argc;
	find_tool(argv[0]);
	return cmocka_run_group_tests(tests, setup, teardown);
}
