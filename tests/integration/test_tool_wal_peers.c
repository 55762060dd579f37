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
 *
 * Exchanges to a seat on another shard, on data a real 3-shard onsaled
 * wrote: a ticket of shard 0 is exchanged for a seat of shard 1, first
 * refused (the seat is sold: XCHG_OUT and XCHG_END with a status on shard
 * 0, nothing on shard 1), then done (XCHG_OUT, XCHG_IN on shard 1, XCHG_END
 * 0); then a customer homed on shard 1 takes GA stock from shard 2. verify
 * passes (the refused round is explained by the later one); a shard cut
 * alone leaves an exchanged ticket without its new order, or a new order
 * for a ticket still valid, and verify names it; truncate refuses such a
 * cut, and --with-peers cuts the other side, and then what that cut splits
 * (a transfer); a cut between XCHG_OUT and XCHG_END needs no peer (the
 * server ends the exchange at start). With snapshots taken while serving,
 * one side's records may be gone from its WAL: verify then asks that
 * shard's state, and still passes.
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
#include "net/shard/node.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"
#include "tests/support/tool_run.h"

#define EVENT_ID 7
#define GA_CAPACITY 40 /* 20 per shard */
#define HOLD_QTY 4
#define HOLDS 7 /* 28 units: more than the home shard's 20 */
#define CUSTOMER 4242
#define OUT_BYTES (64u << 10)
#define SCAN_BYTES (1u << 20) /* the test's records all lie in a segment's first MiB */

static const char *argv0;
static char tool[600];
static struct srv made; /* the directory the real server wrote, copied per test */
static char out[OUT_BYTES];

#define X_EVENT_ID 8
#define X_SHARDS 3
#define X_GA_CAPACITY 30  /* 10 per shard */
#define X_GA_HOLDS 3      /* of HOLD_QTY: 12 units, more than shard 1's 10 */
static struct srv made_x; /* the exchanges' directory */
static uint64_t x_ticket; /* the ticket exchanged, on shard 0 */
static uint64_t x_fresh;  /* its new ticket, on shard 1 */
#define CHURN_ROUNDS 1500 /* hold and release: past a 256 KiB segment */

/* One stock record as dump prints it. */
struct stock_rec {
	unsigned shard, peer;
	uint64_t lsn;
};

/* onsale-wal with stdout and stderr into out; its exit status. */
#define run_tool(...) tool_run(tool, out, sizeof out, __VA_ARGS__)
#define expect_out(needle) tool_expect(out, needle)

/* expect_out of a formatted needle. */
static void expect_outf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void expect_outf(const char *fmt, ...)
{
	char needle[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(needle, sizeof needle, fmt, ap);
	va_end(ap);
	expect_out(needle);
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

/* The n-th record (from 0) of a type in the directory, in dump order
 * (shard, then LSN); peer stays 0 when the record has no peer_shard. */
static struct stock_rec find_nth(const char *dir, const char *type, unsigned n)
{
	struct stock_rec r = {0};
	assert_int_equal(run_tool("dump --data '%s' --type %s", dir, type), 0);
	const char *line = out;
	for (unsigned i = 0; i <= n; i++) {
		line = strstr(line, "lsn=");
		if (!line)
			fail_msg("no %s record %u in:\n%s", type, n, out);
		line += i < n ? 4 : 0;
	}
	assert_int_equal(sscanf(line, "lsn=%" SCNu64 " shard=%u", &r.lsn, &r.shard), 2);
	const char *peer = strstr(line, "peer_shard="), *eol = strchr(line, '\n');
	if (peer && (!eol || peer < eol))
		assert_int_equal(sscanf(peer, "peer_shard=%u", &r.peer), 1);
	return r;
}

/* A copy of a server's directory, as srv_harness knows it (to start on). */
static void copy_from(struct srv *h, const struct srv *src)
{
	*h = *src;
	snprintf(h->dir, sizeof h->dir, "/tmp/onsale-peers-XXXXXX");
	assert_non_null(mkdtemp(h->dir));
	/* sparse: the preallocated segments are mostly zeros (256 MiB per copy) */
	sh("cp -a --sparse=always '%s'/. '%s'/", src->dir, h->dir);
	h->pid = -1;
}

static void copy_made(struct srv *h)
{
	copy_from(h, &made);
}

/* Cuts one shard from lsn on the way a truncate that saw only that shard
 * did: onsale-wal on a directory holding only a link to it. */
static void cut_alone(const struct srv *h, unsigned shard, uint64_t lsn)
{
	char one[300];
	snprintf(one, sizeof one, "%s/alone", h->dir);
	sh("mkdir '%s' && ln -s '%s/shard-%u' '%s/shard-%u'", one, h->dir, shard, one, shard);
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup",
				  one, shard, lsn),
			 0);
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
		if (get_u32(buf + o) != WALFMT_FRAME_MAGIC ||
		    get_u64(buf + o + WALFMT_OFF_LSN) != lsn)
			continue;
		uint8_t byte = buf[o + WALFMT_FRAME_HEADER_BYTES + 4] ^ 0x40;
		assert_int_equal(fseek(f, (long)(o + WALFMT_FRAME_HEADER_BYTES + 4), SEEK_SET), 0);
		assert_int_equal(fwrite(&byte, 1, 1, f), 1);
		assert_int_equal(fclose(f), 0);
		return;
	}
	fail_msg("frame of LSN %" PRIu64 " not found in %s", lsn, path);
}

static void expect_tier(struct onsale *c, uint32_t event_id, uint32_t capacity)
{
	struct result res;
	assert_int_equal(onsale_query_availability(c, event_id, &res), ST_OK);
	const struct tier_view *v = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(v->capacity, capacity);
	assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
}

/* GA capacity over shards (the server sums availability over them). */
static void expect_capacity(struct srv *h)
{
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(c);
	expect_tier(c, EVENT_ID, GA_CAPACITY);
	onsale_close(c);
	assert_int_equal(srv_stop(h), 0);
}

/* After a start on the exchanges' directory: the GA tier conserved over
 * shards, the old ticket in state `state` (exchanged: for a new ticket of
 * shard 1, *fresh), the seats of tier A sold once each. */
static void expect_exchange(struct srv *h, uint8_t state, uint64_t *fresh)
{
	struct result res;
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(c);
	expect_tier(c, X_EVENT_ID, X_GA_CAPACITY);
	assert_int_equal(onsale_query_ticket(c, X_EVENT_ID, x_ticket, &res), ST_OK);
	assert_int_equal(res.ticket.state, state);
	if (fresh) {
		*fresh = res.ticket.replaced_by;
		assert_int_equal(*fresh >> 56, 1);
		assert_int_equal(onsale_query_ticket(c, X_EVENT_ID, *fresh, &res), ST_OK);
		assert_int_equal(res.ticket.state, TICKET_VALID);
	}
	assert_int_equal(onsale_query_availability(c, X_EVENT_ID, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_A].sold,
			 2); /* the seat taken, and one of x_ticket's */
	onsale_close(c);
	assert_int_equal(srv_stop(h), 0);
}

/* Small WAL segments for the directories every case copies and reads: the
 * records fit either way, and each tool run scans whole segments. */
static const char *const small_segments[] = {"--wal-segment-bytes", "1M", NULL};

static int make_data(void **state)
{
	(void)state;
	struct tv tv;
	struct result res;
	srv_init(&made, argv0, 2);
	made.args[0] = small_segments[0];
	made.args[1] = small_segments[1];
	assert_int_equal(srv_start(&made), 0);
	struct onsale *admin = srv_open(&made, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&made, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 1), 0);
	for (unsigned i = 0; i < HOLDS; i++) {
		assert_int_equal(onsale_hold_ga(plat, EVENT_ID, TV_TIER_GA, HOLD_QTY, CUSTOMER,
						1000 + i, &res),
				 ST_OK);
		assert_int_equal(onsale_confirm(plat, EVENT_ID, res.hold.hold_id,
						HOLD_QTY * TV_PRICE_GA, "pay", &res),
				 ST_OK);
	}
	onsale_close(admin);
	onsale_close(plat);
	assert_int_equal(srv_stop(&made), 0);
	return 0;
}

static uint64_t buy_seat(struct onsale *c, uint32_t seat, uint64_t customer)
{
	struct result res;
	assert_int_equal(onsale_hold_seats(c, X_EVENT_ID, TV_TIER_A, &seat, 1, customer, 0, &res),
			 ST_OK);
	assert_int_equal(onsale_confirm(c, X_EVENT_ID, res.hold.hold_id, TV_PRICE_A, "pay", &res),
			 ST_OK);
	return res.hold.first_ticket_id;
}

static uint64_t homed_on(unsigned shard, uint64_t from)
{
	while (node_home(X_SHARDS, from) != shard)
		from++;
	return from;
}

/* The exchanges' directory (3 shards; section k on shard k % 3), made in
 * h by onsaled with more options args (NULL-terminated, or NULL). */
static void make_exchanges_in(struct srv *h, const char *const *args)
{
	struct tv tv;
	struct result res;
	srv_init(h, argv0, X_SHARDS);
	for (size_t i = 0; args && args[i]; i++)
		h->args[i] = args[i];
	assert_int_equal(srv_start(h), 0);
	struct onsale *admin = srv_open(h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	assert_int_equal(tv_load(admin, &tv, X_EVENT_ID, X_GA_CAPACITY, 0, 0, 1), 0);
	uint32_t mine = tv.seat_first[0], taken = tv.seat_first[1], target = tv.seat_first[1] + 1;
	assert_int_equal(mine >> 24, 0);
	assert_int_equal(target >> 24, 1);
	buy_seat(plat, taken, 6001);
	x_ticket = buy_seat(plat, mine, 6002);
	assert_int_equal(x_ticket >> 56, 0);
	assert_int_equal(onsale_exchange(plat, X_EVENT_ID, x_ticket, TV_TIER_A, taken, &res),
			 ST_SEAT_UNAVAILABLE);
	assert_int_equal(onsale_exchange(plat, X_EVENT_ID, x_ticket, TV_TIER_A, target, &res),
			 ST_OK);
	x_fresh = res.ticket.ticket_id;
	assert_int_equal(x_fresh >> 56, 1);
	uint64_t cust = homed_on(1, 7000);
	for (unsigned i = 0; i < X_GA_HOLDS; i++) {
		assert_int_equal(onsale_hold_ga(plat, X_EVENT_ID, TV_TIER_GA, HOLD_QTY, cust,
						2000 + i, &res),
				 ST_OK);
		assert_int_equal(onsale_confirm(plat, X_EVENT_ID, res.hold.hold_id,
						HOLD_QTY * TV_PRICE_GA, "pay", &res),
				 ST_OK);
	}
	onsale_close(admin);
	onsale_close(plat);
	assert_int_equal(srv_stop(h), 0);
}

/* GA holds, each released again, by a customer homed on shard k: records
 * enough to take shard k's WAL past its first segments, which the
 * snapshots taken meanwhile make the server drop. */
static void churn(struct srv *h, unsigned k, unsigned rounds)
{
	struct result res;
	assert_int_equal(srv_spawn(h), 0);
	struct onsale *plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	uint64_t cust = homed_on(k, 9000);
	for (unsigned i = 0; i < rounds; i++) {
		assert_int_equal(onsale_hold_ga(plat, X_EVENT_ID, TV_TIER_GA, 1, cust, 0, &res),
				 ST_OK);
		assert_int_equal(res.hold.hold_id >> 56, k);
		assert_int_equal(onsale_hold_release(plat, X_EVENT_ID, res.hold.hold_id, &res),
				 ST_OK);
	}
	onsale_close(plat);
	assert_int_equal(srv_stop(h), 0);
}

/* Records of a type left in the directory's WALs. */
static unsigned count_of(const char *dir, const char *type)
{
	unsigned n = 0;
	assert_int_equal(run_tool("dump --data '%s' --type %s", dir, type), 0);
	for (const char *l = strstr(out, "lsn="); l; l = strstr(l + 4, "lsn="))
		n++;
	return n;
}

static int make_all(void **state)
{
	make_data(state);
	make_exchanges_in(&made_x, small_segments);
	return 0;
}

static int remove_data(void **state)
{
	(void)state;
	srv_cleanup(&made);
	srv_cleanup(&made_x);
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
				  " --yes-i-have-a-backup",
				  h.dir, o.shard, o.lsn),
			 3);
	expect_out("would split stock transfers or exchanges between shards");
	expect_outf("shard %u from LSN %" PRIu64 ": its STOCK_IN", in.shard, in.lsn);
	expect_out("--with-peers");
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0); /* nothing was cut */

	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers",
				  h.dir, o.shard, o.lsn),
			 0);
	expect_out("cutting other shards too");
	expect_outf("shard %u: the WAL now ends at LSN %" PRIu64, in.shard, in.lsn - 1);
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
				  " --yes-i-have-a-backup",
				  h.dir, in.shard, in.lsn),
			 3);
	expect_outf("shard %u from LSN %" PRIu64 ": its STOCK_ACK", ack.shard, ack.lsn);
	expect_out("its units would be lost");

	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers",
				  h.dir, in.shard, in.lsn),
			 0);
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
				  " --yes-i-have-a-backup",
				  h.dir, o.shard, o.lsn - 1),
			 3);
	expect_outf("shard %u from LSN %" PRIu64 ": its STOCK_IN", in.shard, in.lsn);
	assert_int_equal(run_tool("truncate --data '%s' --shard %u --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers",
				  h.dir, o.shard, o.lsn - 1),
			 0);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("shards: ok together: 0 stock transfer(s)");
	expect_capacity(&h);
	srv_cleanup(&h);
}

/* ---- exchanges to a seat on another shard ---- */

/* The exchanges' records: round 1 (refused) and round 2 (done) on shard
 * 0, the order on shard 1, the GA transfer from shard 2 to shard 1. */
struct x_recs {
	struct stock_rec out1, end1, out2, in, end2, stock_in, ack;
};

static void x_recs(const char *dir, struct x_recs *x)
{
	x->out1 = find_nth(dir, "xchg_out", 0);
	x->out2 = find_nth(dir, "xchg_out", 1);
	x->end1 = find_nth(dir, "xchg_end", 0);
	x->end2 = find_nth(dir, "xchg_end", 1);
	x->in = find_one(dir, "xchg_in");
	x->stock_in = find_one(dir, "stock_in");
	x->ack = find_one(dir, "stock_ack");
	assert_true(x->out1.lsn < x->end1.lsn && x->end1.lsn < x->out2.lsn &&
		    x->out2.lsn < x->end2.lsn);
	assert_int_equal(x->out2.shard, 0);
	assert_int_equal(x->out2.peer, 1);
	assert_int_equal(x->in.shard, 1);
	assert_int_equal(x->in.peer, 0);
	assert_int_equal(x->ack.shard, 2);
	assert_true(x->stock_in.shard == 1 && x->stock_in.lsn > x->in.lsn);
}

static void verify_exchange_healthy(void **state)
{
	(void)state;
	struct x_recs x;
	x_recs(made_x.dir, &x);
	assert_int_equal(run_tool("verify --data '%s'", made_x.dir), 0);
	expect_out("shards: ok together: 1 stock transfer(s) in the WALs, 0 in flight");
	expect_out("2 exchange round(s) between shards in the WALs (1 exchanged, 1 refused), "
		   "0 ticket(s) leaving");
}

/* The seat's shard cut at its XCHG_IN alone: the old ticket is exchanged
 * on shard 0, and no new one exists. */
static void verify_finds_end_without_in(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	cut_alone(&h, 1, x.in.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_outf("shards: CORRUPT: shard 0 LSN %" PRIu64 ": XCHG_END of ticket "
		    "0x%016" PRIx64,
		    x.end2.lsn, x_ticket);
	expect_outf("exchanged for ticket 0x%016" PRIx64 ", but shard 1 has no "
		    "XCHG_IN of it",
		    x_fresh);
	expect_out("the old ticket is exchanged and no new one exists");
	srv_cleanup(&h);
}

/* The ticket's shard cut at its second XCHG_OUT alone: the ticket is valid
 * again after the refused round, and the order for its new seat exists. */
static void verify_finds_in_after_refusal(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	cut_alone(&h, 0, x.out2.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_outf("shards: CORRUPT: shard 1 LSN %" PRIu64 ": XCHG_IN of ticket "
		    "0x%016" PRIx64,
		    x.in.lsn, x_ticket);
	expect_outf("shard 0 ended its exchange refused at LSN %" PRIu64, x.end1.lsn);
	expect_out("the ticket is valid on shard 0 and its new seat sold on shard 1");
	srv_cleanup(&h);
}

/* Cut before both rounds: shard 0 never sent the ticket. */
static void verify_finds_in_without_out(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	cut_alone(&h, 0, x.out1.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 2);
	expect_outf("shards: CORRUPT: shard 1 LSN %" PRIu64 ": XCHG_IN of ticket "
		    "0x%016" PRIx64,
		    x.in.lsn, x_ticket);
	expect_out("shard 0 has no XCHG_OUT of it to shard 1");
	srv_cleanup(&h);
}

/* Cutting the seat's shard at its XCHG_IN takes the ticket's XCHG_END
 * along (the exchange is then in flight, ended again at start) and, for
 * the STOCK_IN cut with it, the giver's STOCK_ACK. */
static void truncate_seat_shard_takes_end_along(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	assert_int_equal(run_tool("truncate --data '%s' --shard 1 --at %" PRIu64
				  " --yes-i-have-a-backup",
				  h.dir, x.in.lsn),
			 3);
	expect_out("would split stock transfers or exchanges between shards");
	expect_outf("shard 0 from LSN %" PRIu64 ": its XCHG_END of ticket 0x%016" PRIx64,
		    x.end2.lsn, x_ticket);
	expect_outf("shard 2 from LSN %" PRIu64 ": its STOCK_ACK", x.ack.lsn);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0); /* nothing was cut */

	assert_int_equal(run_tool("truncate --data '%s' --shard 1 --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers",
				  h.dir, x.in.lsn),
			 0);
	expect_outf("shard 0: the WAL now ends at LSN %" PRIu64, x.end2.lsn - 1);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("(0 exchanged, 1 refused), 1 ticket(s) leaving");
	uint64_t fresh;
	expect_exchange(&h, TICKET_EXCHANGED, &fresh); /* ended at start */
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("0 ticket(s) leaving");
	srv_cleanup(&h);
}

/* Cutting the ticket's shard at its second XCHG_OUT takes the seat's
 * XCHG_IN along, and with it shard 1's STOCK_IN, so the giver's STOCK_ACK
 * too: the cuts follow exchanges and transfers to a fixed point. */
static void truncate_ticket_shard_takes_in_along(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	assert_int_equal(run_tool("truncate --data '%s' --shard 0 --at %" PRIu64
				  " --yes-i-have-a-backup",
				  h.dir, x.out2.lsn),
			 3);
	expect_outf("shard 1 from LSN %" PRIu64 ": its XCHG_IN of ticket 0x%016" PRIx64, x.in.lsn,
		    x_ticket);
	expect_outf("shard 2 from LSN %" PRIu64 ": its STOCK_ACK", x.ack.lsn);

	assert_int_equal(run_tool("truncate --data '%s' --shard 0 --at %" PRIu64
				  " --yes-i-have-a-backup --with-peers",
				  h.dir, x.out2.lsn),
			 0);
	expect_outf("shard 1: the WAL now ends at LSN %" PRIu64, x.in.lsn - 1);
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("1 exchange round(s) between shards in the WALs (0 exchanged, 1 refused)");
	expect_exchange(&h, TICKET_VALID, NULL);
	srv_cleanup(&h);
}

/* A cut between XCHG_OUT and XCHG_END needs no peer: the ticket is leaving,
 * and at start the seat's shard answers with the order it made. */
static void truncate_between_out_and_end(void **state)
{
	(void)state;
	struct srv h;
	struct x_recs x;
	copy_from(&h, &made_x);
	x_recs(h.dir, &x);
	assert_int_equal(run_tool("truncate --data '%s' --shard 0 --at %" PRIu64
				  " --yes-i-have-a-backup",
				  h.dir, x.end2.lsn),
			 0);
	assert_null(strstr(out, "other shards"));
	assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
	expect_out("1 ticket(s) leaving");
	uint64_t fresh;
	expect_exchange(&h, TICKET_EXCHANGED, &fresh);
	assert_int_equal(fresh, x_fresh); /* the same order, answered again */
	srv_cleanup(&h);
}

/* Snapshots while serving drop WAL segments: one side of the exchange is
 * left only in its shard's snapshot (shard 0's XCHG_OUT and XCHG_END, then
 * shard 1's XCHG_IN), and the replayed state stands in for it. */
static void verify_exchange_pruned(void **state)
{
	(void)state;
	const char *small[] = {"--wal-segment-bytes", "256k", "--snapshot-records", "200", NULL};
	for (unsigned k = 0; k < 2; k++) {
		struct srv h;
		make_exchanges_in(&h, small);
		churn(&h, k, CHURN_ROUNDS);
		assert_int_equal(count_of(h.dir, k ? "xchg_in" : "xchg_out,xchg_end"), 0);
		assert_int_equal(count_of(h.dir, k ? "xchg_end" : "xchg_in"), k ? 2 : 1);
		assert_int_equal(run_tool("verify --data '%s'", h.dir), 0);
		expect_out("shards: ok together");
		assert_null(strstr(out, "exchange records not compared")); /* the state says */
		srv_cleanup(&h);
	}
}

/* A shard whose early segments are gone and whose every snapshot is
 * damaged cannot start (onsaled refuses it): verify calls that damage,
 * exit 2, and says what to do (it exited 3, "usage or I/O", and spoke of
 * an LSN asked for when none was). */
static void verify_snapshots_unreadable(void **state)
{
	(void)state;
	const char *small[] = {"--wal-segment-bytes", "256k", "--snapshot-records", "200", NULL};
	struct srv h;
	make_exchanges_in(&h, small);
	churn(&h, 0, CHURN_ROUNDS);
	assert_int_equal(count_of(h.dir, "xchg_out,xchg_end"), 0); /* its early WAL is gone */
	sh("for f in '%s'/shard-0/snap-*.osnp; do printf '\\377' |"
	   " dd of=\"$f\" bs=1 seek=100 conv=notrunc 2>/dev/null; done",
	   h.dir);
	assert_int_equal(run_tool("verify --data '%s' --shard 0", h.dir), 2);
	tool_expect(out, "onsaled cannot start it either");
	/* its segments moved away too: the log reads as empty, but the
	 * snapshot files name LSNs past it (it said ok; onsaled refuses) */
	sh("mkdir '%s'/moved && mv '%s'/shard-0/wal-*.seg '%s'/moved/", h.dir, h.dir, h.dir);
	assert_int_equal(run_tool("verify --data '%s' --shard 0", h.dir), 2);
	tool_expect(out, "WAL records are missing");
	srv_cleanup(&h);
}

/* Column `name` of report's CSV in out, summed over the rows of event and
 * tier. */
static int64_t report_sum(uint32_t event, unsigned tier, const char *name)
{
	char *save = NULL, *copy = strdup(out);
	int col = -1;
	int64_t sum = 0;
	assert_non_null(copy);
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *f[32], *s2 = NULL;
		int n = 0;
		for (char *t = strtok_r(line, ",", &s2); t && n < 32; t = strtok_r(NULL, ",", &s2))
			f[n++] = t;
		if (col < 0) { /* the header */
			for (int k = 0; k < n; k++)
				if (!strcmp(f[k], name))
					col = k;
			assert_true(col >= 4);
		} else if (n > col && strtoul(f[1], NULL, 10) == event &&
			   strtoul(f[2], NULL, 10) == tier) {
			sum += strtoll(f[col], NULL, 10);
		}
	}
	free(copy);
	return sum;
}

/* report counts an exchange to another shard's seat: out on the ticket's
 * shard (XCHG_END), in on the seat's (XCHG_IN); it counted neither, so a
 * price change across shards was lost from net_revenue_minor. */
static void report_counts_exchanges_across_shards(void **state)
{
	(void)state;
	assert_int_equal(run_tool("report --data '%s' --event %u", made_x.dir, X_EVENT_ID), 0);
	assert_int_equal(report_sum(X_EVENT_ID, TV_TIER_A, "exchanges_out"), 1);
	assert_int_equal(report_sum(X_EVENT_ID, TV_TIER_A, "exchanges_in"), 1);
	/* two seats bought, one exchanged for another of the same tier */
	assert_int_equal(report_sum(X_EVENT_ID, TV_TIER_A, "net_revenue_minor"), 2 * TV_PRICE_A);
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
		cmocka_unit_test(verify_exchange_healthy),
		cmocka_unit_test(verify_finds_end_without_in),
		cmocka_unit_test(verify_finds_in_after_refusal),
		cmocka_unit_test(verify_finds_in_without_out),
		cmocka_unit_test(truncate_seat_shard_takes_end_along),
		cmocka_unit_test(truncate_ticket_shard_takes_in_along),
		cmocka_unit_test(truncate_between_out_and_end),
		cmocka_unit_test(verify_exchange_pruned),
		cmocka_unit_test(verify_snapshots_unreadable),
		cmocka_unit_test(report_counts_exchanges_across_shards),
	};
	return cmocka_run_group_tests(tests, make_all, remove_data);
}
