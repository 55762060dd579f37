/*
 * test_tool_wal_peers.c — onsale-wal on the shards of a data directory
 * together (tools/wal/wal_peers.c), run as operators run it on data a real
 * 2-shard onsaled wrote.
 *
 * One customer buys more GA units than their home shard's allotment, so the
 * home shard (taker) gets stock from the other (giver): STOCK_OUT on the
 * giver, STOCK_IN on the taker, STOCK_ACK on the giver. On copies of that
 * directory: verify passes; a shard cut alone (as a truncate that looked at
 * one shard did) splits the transfer and verify names it; truncate refuses
 * such a cut and --with-peers cuts the other side too, after which verify
 * passes and the server starts on the data with the GA capacity conserved
 * over shards (an in-flight transfer redelivered). Also when the giver's
 * STOCK_OUT lies behind damage and only its state tells it was given.
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/bytes.h"
#include "core/wal_format.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EVENT_ID 7
#define GA_CAPACITY 40 /* 20 per shard */
#define HOLD_QTY 4
#define HOLDS 7        /* 28 units: more than the home shard's 20 */
#define CUSTOMER 4242
#define OUT_BYTES (64u << 10)
#define SCAN_BYTES (1u << 20) /* the test's records all lie in a segment's first MiB */

static const char *argv0;
static char tool[600];
static struct srv made; /* the directory the real server wrote, copied per test */
static char out[OUT_BYTES];

/* One stock record as dump prints it. */
struct stock_rec {
	unsigned shard, peer;
	uint64_t lsn;
};

/* Runs onsale-wal with stdout and stderr into out; returns its exit status. */
static int run_tool(const char *fmt, ...)
{
	char args[1024], cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", tool, args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof out - 1, p);
	out[n] = 0;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void expect_out(const char *needle)
{
	if (!strstr(out, needle))
		fail_msg("onsale-wal output lacks \"%s\":\n%s", needle, out);
}

static void sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	assert_int_equal(system(cmd), 0);
}

/* The only record of a type in the directory (dump --type NAME). */
static struct stock_rec find_one(const char *dir, const char *type)
{
	struct stock_rec r = {0};
	assert_int_equal(run_tool("dump --data '%s' --type %s", dir, type), 0);
	const char *line = strstr(out, "lsn=");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "lsn=%" SCNu64 " shard=%u", &r.lsn, &r.shard), 2);
	const char *peer = strstr(line, "peer_shard=");
	assert_non_null(peer);
	assert_int_equal(sscanf(peer, "peer_shard=%u", &r.peer), 1);
	assert_null(strstr(line + 4, "lsn=")); /* one only */
	return r;
}

/* A copy of the server's directory, as srv_harness knows it (to start on). */
static void copy_made(struct srv *h)
{
	*h = made;
	snprintf(h->dir, sizeof h->dir, "/tmp/onsale-peers-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	/* sparse: the preallocated segments are mostly zeros (256 MiB per copy) */
	sh("cp -a --sparse=always '%s'/. '%s'/", made.dir, h->dir);
	h->pid = -1;
}

/* Cuts one shard from lsn on the way a truncate that saw only that shard
 * did: onsale-wal on a directory holding only a link to it. */
static void cut_alone(const struct srv *h, unsigned shard, uint64_t lsn)
{
	char one[300];
	snprintf(one, sizeof one, "%s/alone", h->dir);
	sh("mkdir '%s' && ln -s '%s/shard-%u' '%s/shard-%u'", one, h->dir, shard, one, shard);
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup", one, shard, lsn), 0);
	sh("rm -r '%s'", one);
}

/* Flips a bit in the body of the frame of lsn on a shard: damage before
 * the tail (the frames after it are whole), which the shard refuses. */
static void corrupt(const struct srv *h, unsigned shard, uint64_t lsn)
{
	static uint8_t buf[SCAN_BYTES];
	char path[400];
	snprintf(path, sizeof path, "%s/shard-%u/wal-%03u-000000000000.seg", h->dir, shard, shard);
	FILE *f = fopen(path, "r+b");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof buf, f);
	for (size_t o = WALFMT_SEGMENT_HEADER_BYTES; o + WALFMT_FRAME_HEADER_BYTES < n; o += 8) {
		if (get_u32(buf + o) != WALFMT_FRAME_MAGIC || get_u64(buf + o + WALFMT_OFF_LSN) != lsn)
			continue;
		uint8_t byte = buf[o + WALFMT_FRAME_HEADER_BYTES + 4] ^ 0x40;
		assert_int_equal(fseek(f, (long)(o + WALFMT_FRAME_HEADER_BYTES + 4), SEEK_SET), 0);
		assert_int_equal(fwrite(&byte, 1, 1, f), 1);
		assert_int_equal(fclose(f), 0);
		return;
	}
	fail_msg("frame of LSN %" PRIu64 " not found in %s", lsn, path);
}

/* GA capacity over shards (the server sums availability over them). */
static void expect_capacity(struct srv *h)
{
	struct result res;
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(c);
	assert_int_equal(onsale_query_availability(c, EVENT_ID, &res), ST_OK);
	const struct tier_view *v = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(v->capacity, GA_CAPACITY);
	assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	onsale_close(c);
	assert_int_equal(srv_stop(h), 0);
}

static int make_data(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	srv_init(&made, argv0, 2);
	assert_int_equal(srv_start(&made), 0);
	struct onsale *admin = srv_open(&made, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&made, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 1), 0);
	for (unsigned i = 0; i < HOLDS; i++) {
		assert_int_equal(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, HOLD_QTY, CUSTOMER,
						1000 + i, &res), ST_OK);
		assert_int_equal(onsale_confirm(plat, EVENT_ID, res.hold.hold_id,
						HOLD_QTY * TV_PRICE_GA, "pay", &res), ST_OK);
	}
	onsale_close(admin);
	onsale_close(plat);
	assert_int_equal(srv_stop(&made), 0);
	return 0;
}

static int remove_data(void **state)
{
	(void)state;
	srv_cleanup(&made);
	return 0;
}

static void verify_healthy(void **state)
{
	(void)state;
	assert_int_equal(run_tool("verify --data '%s'", made.dir), 0);
	expect_out("shards: ok together: 1 stock transfer(s) in the WALs, 0 in flight");
	expect_out("equals the TIER_ADDs for 1 tier(s)");
	struct stock_rec o = find_one(made.dir, "stock_out");
	struct stock_rec in = find_one(made.dir, "stock_in");
	struct stock_rec ack = find_one(made.dir, "stock_ack");
	assert_int_equal(in.shard, o.peer);
	assert_int_equal(in.peer, o.shard);
	assert_int_equal(ack.shard, o.shard);
}

/* The giver's STOCK_OUT cut away, the taker's STOCK_IN kept. */
static void verify_finds_stock_in_without_out(void **state)
{
	(void)state;
	struct srv h;
	copy_made(&h);
	struct stock_rec o = find_one(h.dir, "stock_out");
	cut_alone(&h, o.shard, o.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_out("its STOCK_OUT is missing and the units exist twice");
	expect_out("tier 0: the TIER_ADDs created 40 units, but the shards' tiers hold 60");
	assert_int_equal(run_tool("verify --data '%s' --shard %u", h.dir, o.shard), 0);
	srv_cleanup(&h);
}

/* The taker's STOCK_IN cut away, the giver's STOCK_ACK kept. */
static void verify_finds_ack_without_in(void **state)
{
	(void)state;
	struct srv h;
	copy_made(&h);
	struct stock_rec in = find_one(h.dir, "stock_in");
	cut_alone(&h, in.shard, in.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_out("STOCK_ACK of transfer");
	expect_out("their units are lost");
	expect_out("the shards' tiers hold 20 and 0 are in flight (-20)");
	srv_cleanup(&h);
}

static void truncate_giver_takes_stock_in_along(void **state)
{
	(void)state;
	struct srv h;
	copy_made(&h);
	struct stock_rec o = find_one(h.dir, "stock_out");
	struct stock_rec in = find_one(h.dir, "stock_in");
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup", h.dir, o.shard, o.lsn), 3);
	expect_out("would split stock transfers between shards");
	char want[160];
	snprintf(want, sizeof want, "shard %u from LSN %" PRIu64 ": its STOCK_IN", in.shard, in.lsn);
	expect_out(want);
	expect_out("--with-peers");
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0); /* nothing was cut */

	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers", h.dir, o.shard, o.lsn), 0);
	expect_out("cutting other shards too");
	snprintf(want, sizeof want, "shard %u: the WAL now ends at LSN %" PRIu64, in.shard,
		 in.lsn - 1);
	expect_out(want);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("shards: ok together: 0 stock transfer(s)");
	expect_capacity(&h);
	srv_cleanup(&h);
}

/* Cutting the taker's STOCK_IN takes the giver's STOCK_ACK along; the
 * transfer is then in flight and the server sends it again at start. */
static void truncate_taker_takes_ack_along(void **state)
{
	(void)state;
	struct srv h;
	copy_made(&h);
	struct stock_rec in = find_one(h.dir, "stock_in");
	struct stock_rec ack = find_one(h.dir, "stock_ack");
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup", h.dir, in.shard, in.lsn), 3);
	char want[160];
	snprintf(want, sizeof want, "shard %u from LSN %" PRIu64 ": its STOCK_ACK", ack.shard,
		 ack.lsn);
	expect_out(want);
	expect_out("its units would be lost");

	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers", h.dir, in.shard, in.lsn), 0);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("1 stock transfer(s) in the WALs, 1 in flight (20 units");
	expect_capacity(&h); /* redelivered at start */
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("0 in flight");
	srv_cleanup(&h);
}

/* The giver's log damaged before its STOCK_OUT: the cut at the damage
 * drops a STOCK_OUT no tool can read any more; the giver's state says it. */
static void truncate_corrupt_giver_takes_stock_in_along(void **state)
{
	(void)state;
	struct srv h;
	copy_made(&h);
	struct stock_rec o = find_one(h.dir, "stock_out");
	struct stock_rec in = find_one(h.dir, "stock_in");
	corrupt(&h, o.shard, o.lsn - 1);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_out("CORRUPT at LSN");
	expect_out("shards: not checked together");
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup", h.dir, o.shard, o.lsn - 1), 3);
	char want[160];
	snprintf(want, sizeof want, "shard %u from LSN %" PRIu64 ": its STOCK_IN", in.shard, in.lsn);
	expect_out(want);
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers", h.dir, o.shard, o.lsn - 1), 0);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("shards: ok together: 0 stock transfer(s)");
	expect_capacity(&h);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const char *slash = strrchr(argv0, '/');
	snprintf(tool, sizeof tool, "%.*s/../../bin/onsale-wal", slash ? (int)(slash - argv0) : 1,
		 slash ? argv0 : ".");
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verify_healthy),
		cmocka_unit_test(verify_finds_stock_in_without_out),
		cmocka_unit_test(verify_finds_ack_without_in),
		cmocka_unit_test(truncate_giver_takes_stock_in_along),
		cmocka_unit_test(truncate_taker_takes_ack_along),
		cmocka_unit_test(truncate_corrupt_giver_takes_stock_in_along),
	};
	return cmocka_run_group_tests(tests, make_data, remove_data);
}
