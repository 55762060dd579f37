/*
 * test_server_offend.c — a real onsaled (2 shards) fed malformed input the
 * way an attacker would send it, while a well-behaved platform client holds
 * and confirms on its own thread throughout: frames cut short and then
 * abandoned, a bad magic or version decided from the first wrong byte, a
 * body_len one past the limit, and seeded garbage streams. Each offender
 * gets what docs/PROTOCOL.md promises (bad_frame with its reason and a
 * close, or a close once it hangs up), the server's open connection count
 * returns to where it was, the good client never sees an error, and every
 * confirm it was acknowledged is there afterwards. Pipelined requests
 * before HELLO or of a role that may not send them are refused one by one
 * on a connection that stays open; a wrong key is refused and closed; a
 * HELLO that succeeds starts the count of refusals in a row again. Requests
 * before a bad frame, or before the client's half-close, are answered
 * before the close.
 * test_server_roles.c has the role-by-opcode matrix and the rest of the
 * malformed headers.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/proto/proto.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EVENT_ID 31u
#define GA_CAPACITY 100000u
/* Confirms the good client remembers for the final check (it stops there). */
#define GOOD_CONFIRMS_MAX 4096u
#define GARBAGE_SEEDS 50u
#define GARBAGE_BYTES 4096u
/* How long a connection may take to answer or close, and the server to
 * count a closed connection out. */
#define CLOSE_WAIT_MS 5000

static const char *argv0;
static struct srv h;

/* The well-behaved client: holds one GA unit and confirms it, in a loop. */
static struct good {
	pthread_t thread;
	atomic_int stop;
	atomic_uint confirms;
	int errors; /* read once the thread is joined */
	uint64_t hold_ids[GOOD_CONFIRMS_MAX];
} good;

static void *good_run(void *arg)
{
	(void)arg;
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct result res;
	uint64_t customer = 500000;
	if (!c) {
		good.errors++;
		return NULL;
	}
	while (!atomic_load(&good.stop) && atomic_load(&good.confirms) < GOOD_CONFIRMS_MAX) {
		customer++;
		if (onsale_hold_ga(c, EVENT_ID, TV_TIER_GA, 1, customer, customer, &res) != ST_OK) {
			good.errors++;
			break;
		}
		uint64_t hold_id = res.hold.hold_id;
		if (onsale_confirm(c, EVENT_ID, hold_id, TV_PRICE_GA, "good", &res) != ST_OK) {
			good.errors++;
			break;
		}
		good.hold_ids[atomic_load(&good.confirms)] = hold_id;
		atomic_fetch_add(&good.confirms, 1);
	}
	onsale_close(c);
	return NULL;
}

static uint64_t open_connections(struct onsale *admin)
{
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	return ss.counters[ONSALE_STAT_CONNECTIONS_OPEN];
}

/* Waits (bounded) until the server counts want open connections. */
static void expect_open(struct onsale *admin, uint64_t want)
{
	uint64_t now = 0;
	for (int i = 0; i < CLOSE_WAIT_MS / 50; i++) {
		if ((now = open_connections(admin)) == want)
			return;
		usleep(50 * 1000);
	}
	fprintf(stderr, "open connections %llu, want %llu\n", (unsigned long long)now,
		(unsigned long long)want);
	fail();
}

static int setup(void **state)
{
	(void)state;
	struct tv tv;
	srv_init(&h, argv0, 2);
	if (srv_start(&h))
		return -1;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	int rc = admin ? tv_load(admin, &tv, EVENT_ID, GA_CAPACITY, 0, 0, 0) : -1;
	onsale_close(admin);
	if (rc)
		return -1;
	if (pthread_create(&good.thread, NULL, good_run, NULL))
		return -1;
	/* its connection counts in every "before" below once it has confirmed */
	for (int i = 0; i < CLOSE_WAIT_MS / 10 && !atomic_load(&good.confirms); i++)
		usleep(10 * 1000);
	return atomic_load(&good.confirms) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	return 0;
}

static int raw_connect(void)
{
	int fd = srv_raw(&h);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = CLOSE_WAIT_MS / 1000};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

/* Reads until the server closes (bounded by the receive timeout): the bytes
 * read, or -1 when it did not close in time. */
static long read_to_close(int fd, uint8_t *buf, size_t cap)
{
	size_t got = 0;
	for (int i = 0; i < 1024; i++) {
		uint8_t spill[512];
		uint8_t *to = got < cap ? buf + got : spill;
		size_t room = got < cap ? cap - got : sizeof spill;
		ssize_t n = recv(fd, to, room, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return (long)got;
		if (n < 0)
			return -1;
		if (to == buf + got)
			got += (size_t)n;
	}
	return -1;
}

/* The replies in buf[0..len): all whole frames, each unauthenticated (the
 * sender never said HELLO) but the last, which may be a bad_frame with a
 * known reason. Returns the last status, or -1 when there was no reply. */
static int check_replies(const uint8_t *buf, size_t len)
{
	int last = -1;
	size_t off = 0;
	while (off < len) {
		struct proto_reply rep;
		long n = proto_decode_reply(buf + off, len - off, &rep);
		assert_true(n > 0);
		assert_int_equal(last == ST_BAD_FRAME, 0); /* nothing after a bad frame */
		last = (int)rep.res.status;
		if (last == ST_BAD_FRAME)
			assert_true(rep.bad_reason >= PROTO_BAD_MAGIC &&
				    rep.bad_reason < PROTO_BAD_LIMIT);
		else
			assert_int_equal(last, ST_UNAUTHENTICATED);
		off += (size_t)n;
	}
	return last;
}

/* Sends bytes, expects one bad_frame reply with reason and the close; the
 * reply echoes opcode and request_id (rid) only when the magic and version
 * were right and the whole header arrived, else both are 0. */
static void expect_bad(const uint8_t *bytes, size_t len, int reason, uint8_t op, uint64_t rid)
{
	int fd = raw_connect();
	uint8_t rep[256];
	struct proto_reply r;
	assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	long got = read_to_close(fd, rep, sizeof rep);
	assert_int_equal(got, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
	assert_int_equal(check_replies(rep, (size_t)got), ST_BAD_FRAME);
	assert_int_equal(proto_decode_reply(rep, (size_t)got, &r), got);
	assert_int_equal(r.bad_reason, reason);
	assert_int_equal(r.opcode, op);
	assert_int_equal(r.request_id, rid);
	close(fd);
}

static size_t put_header(uint8_t *b, uint8_t op, uint32_t body_len, uint64_t rid)
{
	struct proto_request req = {.request_id = rid, .opcode = PROTO_OP_PING};
	size_t n = proto_encode_request(b, PROTO_HEADER_BYTES, &req);
	assert_int_equal(n, PROTO_HEADER_BYTES);
	b[5] = op;
	for (int i = 0; i < 4; i++)
		b[8 + i] = (uint8_t)(body_len >> (8 * i));
	return n;
}

static size_t hello(uint8_t *b, uint8_t role, const uint8_t *key)
{
	struct proto_request req = {.request_id = 1, .opcode = PROTO_OP_HELLO};
	req.hello.role = role;
	memcpy(req.hello.key, key, PROTO_KEY_BYTES);
	size_t n = proto_encode_request(b, 64, &req);
	assert_true(n > 0);
	return n;
}

/* A bad magic is decided from its first byte, a bad version from byte 4,
 * a body_len from the header: no more bytes are waited for. */
static void decided_early(void **state)
{
	(void)state;
	uint8_t b[PROTO_HEADER_BYTES];
	expect_bad((const uint8_t *)"X", 1, PROTO_BAD_MAGIC, 0, 0);
	expect_bad((const uint8_t *)"ONSX", 4, PROTO_BAD_MAGIC, 0, 0);
	expect_bad((const uint8_t *)"ONSL\x02", 5, PROTO_BAD_VERSION, 0, 0);
	put_header(b, PROTO_OP_HOLD, PROTO_BODY_BYTES_MAX + 1, 7);
	expect_bad(b, sizeof b, PROTO_BAD_TOO_LONG, PROTO_OP_HOLD, 7);
	put_header(b, 0x0d, 0, 8); /* hold expiry: internal, never on the wire */
	expect_bad(b, sizeof b, PROTO_BAD_OPCODE, 0x0d, 8);
	b[4] = 2; /* a whole header, but a bad version: nothing is echoed */
	expect_bad(b, sizeof b, PROTO_BAD_VERSION, 0, 0);
}

/* Frames cut short: the server waits for the rest, sends nothing, and
 * closes its side once the offender hangs up or half-closes. */
static void truncated(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	uint64_t before = open_connections(admin);
	uint8_t b[PROTO_HEADER_BYTES + 128];
	struct cmd cmd;
	onsale_prep_hold_ga(&cmd, EVENT_ID, TV_TIER_GA, 1, 77, 77);
	size_t whole = proto_encode_cmd(b, sizeof b, 1, &cmd);
	assert_int_equal(whole, PROTO_HEADER_BYTES + 128);
	const size_t cuts[] = {
		1,        10, PROTO_HEADER_BYTES - 1, PROTO_HEADER_BYTES, PROTO_HEADER_BYTES + 50,
		whole - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		int fd = raw_connect();
		assert_int_equal(send(fd, b, cuts[i], MSG_NOSIGNAL), (ssize_t)cuts[i]);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 200), 0); /* no reply to half a frame */
		if (i % 2) {
			close(fd); /* hung up */
			continue;
		}
		shutdown(fd, SHUT_WR); /* half-closed: the server closes too */
		uint8_t rep[64];
		assert_int_equal(read_to_close(fd, rep, sizeof rep), 0);
		close(fd);
	}
	expect_open(admin, before);
	onsale_close(admin);
}

/* One garbage stream of seed k: pure noise, noise after a right magic and
 * version, or well-formed requests with bytes flipped. */
static size_t garbage(uint8_t *b, size_t cap, uint64_t k)
{
	uint64_t s = k * 0x9e3779b97f4a7c15ull + 1;
	size_t n = 0;
	for (size_t i = 0; i < cap; i++) {
		s ^= s << 13, s ^= s >> 7, s ^= s << 17;
		b[i] = (uint8_t)s;
	}
	if (k % 3 == 1)
		memcpy(b, "ONSL\x01", 5);
	if (k % 3 != 2)
		return cap;
	while (n + PROTO_HEADER_BYTES + 128 <= cap) {
		struct cmd cmd;
		uint8_t flip = b[n];
		onsale_prep_hold_ga(&cmd, EVENT_ID, TV_TIER_GA, 1, 900 + n, n + 1);
		size_t f = proto_encode_cmd(b + n, cap - n, n + 1, &cmd);
		assert_true(f > 0);
		if (flip < 64) /* a quarter of them damaged in one byte */
			b[n + flip % f] ^= (uint8_t)(flip | 1);
		n += f;
	}
	return n;
}

static void garbage_streams(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	uint64_t before = open_connections(admin);
	static uint8_t b[GARBAGE_BYTES], rep[GARBAGE_BYTES * 4];
	unsigned bad = 0;
	for (uint64_t k = 0; k < GARBAGE_SEEDS; k++) {
		size_t len = garbage(b, sizeof b, k);
		int fd = raw_connect();
		/* the server may close before all of it arrives */
		ssize_t sent = send(fd, b, len, MSG_NOSIGNAL);
		assert_true(sent > 0 || errno == ECONNRESET || errno == EPIPE);
		shutdown(fd, SHUT_WR);
		long got = read_to_close(fd, rep, sizeof rep);
		if (got < 0)
			fprintf(stderr, "garbage seed %llu: not closed\n", (unsigned long long)k);
		assert_true(got >= 0);
		bad += check_replies(rep, (size_t)got) == ST_BAD_FRAME;
		close(fd);
	}
	assert_true(bad > 0);
	expect_open(admin, before);
	onsale_close(admin);
}

/* Reads n whole replies from fd (bounded by the receive timeout); each
 * must have status want, but the first when first_ok (a HELLO's reply). */
static void expect_replies(int fd, unsigned n, int first_ok, int want)
{
	static uint8_t buf[64 * 1024];
	size_t got = 0, off = 0;
	for (unsigned seen = 0; seen < n;) {
		struct proto_reply rep;
		long f = proto_decode_reply(buf + off, got - off, &rep);
		assert_true(f >= 0);
		if (f > 0) {
			assert_int_equal(rep.res.status, first_ok && !seen ? ST_OK : want);
			off += (size_t)f, seen++;
			continue;
		}
		ssize_t r = recv(fd, buf + got, sizeof buf - got, 0);
		assert_true(r > 0); /* neither closed nor silent */
		got += (size_t)r;
	}
}

/* Pipelined holds before HELLO, and as a role that may not hold: each is
 * refused (unauthenticated, forbidden) and the connection stays open; a
 * HELLO with a wrong key, or another role's key, is refused and closed. */
static void refused_alongside(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	uint64_t before = open_connections(admin);
	static uint8_t b[64 * (PROTO_HEADER_BYTES + 128) + 64];
	int fd[2];
	for (int k = 0; k < 2; k++) {
		size_t len = 0;
		fd[k] = raw_connect();
		if (k == 1)
			len = hello(b, ONSALE_ROLE_SCANNER, h.keys[ONSALE_ROLE_SCANNER]);
		for (unsigned i = 0; i < 64; i++) {
			struct cmd cmd;
			onsale_prep_hold_ga(&cmd, EVENT_ID, TV_TIER_GA, 1, 900 + i, 0);
			len += proto_encode_cmd(b + len, sizeof b - len, i + 2, &cmd);
		}
		assert_int_equal(send(fd[k], b, len, MSG_NOSIGNAL), (ssize_t)len);
		expect_replies(fd[k], 64 + (unsigned)k, k, k ? ST_FORBIDDEN : ST_UNAUTHENTICATED);
	}
	uint8_t key[ONSALE_KEY_BYTES];
	memcpy(key, h.keys[ONSALE_ROLE_PLATFORM], sizeof key);
	key[31] ^= 0x80;
	const uint8_t *wrong[] = {key, h.keys[ONSALE_ROLE_SCANNER]};
	for (int k = 0; k < 2; k++) {
		int f = raw_connect();
		size_t len = hello(b, ONSALE_ROLE_PLATFORM, wrong[k]);
		uint8_t rep[256];
		assert_int_equal(send(f, b, len, MSG_NOSIGNAL), (ssize_t)len);
		long got = read_to_close(f, rep, sizeof rep);
		assert_int_equal(got, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
		assert_int_equal(check_replies(rep, (size_t)got), ST_UNAUTHENTICATED);
		close(f);
	}
	expect_open(admin, before + 2); /* the refused stay open */
	close(fd[0]);
	close(fd[1]);
	expect_open(admin, before);
	onsale_close(admin);
}

/* Runs last: the good client stops, never saw an error, and every confirm
 * it was acknowledged is a confirmed order. */
static void good_client_lost_nothing(void **state)
{
	(void)state;
	atomic_store(&good.stop, 1);
	assert_int_equal(pthread_join(good.thread, NULL), 0);
	assert_int_equal(good.errors, 0);
	unsigned n = atomic_load(&good.confirms);
	assert_true(n > 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	for (unsigned i = 0; i < n; i++) {
		struct result res;
		assert_int_equal(onsale_query_order(c, EVENT_ID, good.hold_ids[i], &res), ST_OK);
		assert_int_equal(res.hold.state, HOLD_CONFIRMED);
	}
	onsale_close(c);
}

/* Refusals in a row past CONN_REFUSED_ROW_MAX close the connection: each
 * request up to the one over the limit is answered, then the close; the
 * rest of the pipeline is not read. */
static void refusals_in_a_row_close(void **state)
{
	(void)state;
	enum { SENT = CONN_REFUSED_ROW_MAX + 40 };
	static uint8_t b[SENT * (PROTO_HEADER_BYTES + 128)];
	static uint8_t rep[(SENT + 1) * (PROTO_HEADER_BYTES + 64)];
	for (int k = 0; k < 2; k++) {
		int fd = raw_connect();
		size_t len = k ? hello(b, ONSALE_ROLE_SCANNER, h.keys[ONSALE_ROLE_SCANNER]) : 0;
		for (unsigned i = 0; i < SENT; i++) {
			struct cmd cmd;
			onsale_prep_hold_ga(&cmd, EVENT_ID, TV_TIER_GA, 1, 700 + i, 0);
			len += proto_encode_cmd(b + len, sizeof b - len, i + 2, &cmd);
		}
		assert_int_equal(send(fd, b, len, MSG_NOSIGNAL), (ssize_t)len);
		long got = read_to_close(fd, rep, sizeof rep);
		assert_true(got > 0); /* closed, in time */
		size_t off = 0;
		unsigned replies = 0;
		while (off < (size_t)got) {
			struct proto_reply r;
			long n = proto_decode_reply(rep + off, (size_t)got - off, &r);
			assert_true(n > 0);
			if (!(k && replies == 0)) /* the scanner's HELLO is answered ok */
				assert_int_equal(r.res.status,
						 k ? ST_FORBIDDEN : ST_UNAUTHENTICATED);
			off += (size_t)n, replies++;
		}
		assert_int_equal(replies, CONN_REFUSED_ROW_MAX + 1 + (unsigned)k);
		close(fd);
	}
}

/* Reads replies from fd until want of them came (bounded by the receive
 * timeout) into st[] (their statuses, in order); returns how many came
 * before the server closed or went silent. */
static unsigned read_statuses(int fd, unsigned want, int *st)
{
	static uint8_t buf[64 * 1024];
	size_t got = 0, off = 0;
	unsigned seen = 0;
	while (seen < want) {
		struct proto_reply rep;
		long f = proto_decode_reply(buf + off, got - off, &rep);
		assert_true(f >= 0);
		if (f > 0) {
			st[seen++] = (int)rep.res.status;
			off += (size_t)f;
			continue;
		}
		ssize_t r = recv(fd, buf + got, sizeof buf - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return seen;
}

/* A HELLO that succeeds is not refused: it starts the count of refusals in
 * a row again, so CONN_REFUSED_ROW_MAX requests before it and one forbidden
 * after it leave the connection open (it closed after the forbidden one). */
static void hello_resets_refusals(void **state)
{
	(void)state;
	static uint8_t b[(CONN_REFUSED_ROW_MAX + 4) * 64];
	int st[CONN_REFUSED_ROW_MAX + 3];
	size_t len = 0;
	int fd = raw_connect();
	for (unsigned i = 0; i < CONN_REFUSED_ROW_MAX; i++)
		len += put_header(b + len, PROTO_OP_PING, 0, i + 2);
	len += hello(b + len, ONSALE_ROLE_SCANNER, h.keys[ONSALE_ROLE_SCANNER]);
	len += put_header(b + len, PROTO_OP_STATS, 0, 500); /* forbidden to a scanner */
	len += put_header(b + len, PROTO_OP_PING, 0, 501);
	assert_int_equal(send(fd, b, len, MSG_NOSIGNAL), (ssize_t)len);
	assert_int_equal(read_statuses(fd, CONN_REFUSED_ROW_MAX + 3, st), CONN_REFUSED_ROW_MAX + 3);
	for (unsigned i = 0; i < CONN_REFUSED_ROW_MAX; i++)
		assert_int_equal(st[i], ST_UNAUTHENTICATED);
	assert_int_equal(st[CONN_REFUSED_ROW_MAX], ST_OK);
	assert_int_equal(st[CONN_REFUSED_ROW_MAX + 1], ST_FORBIDDEN);
	assert_int_equal(st[CONN_REFUSED_ROW_MAX + 2], ST_OK);
	close(fd);
}

/* HELLO and HOLDS holds of one unit each (customers from customer), then
 * tail (tail_len bytes) into fd; the client then half-closes when
 * half_close. */
#define HOLDS 20u
static void send_holds(int fd, uint64_t customer, const uint8_t *tail, size_t tail_len,
		       bool half_close)
{
	static uint8_t b[(HOLDS + 2) * (PROTO_HEADER_BYTES + 128)];
	size_t len = hello(b, ONSALE_ROLE_PLATFORM, h.keys[ONSALE_ROLE_PLATFORM]);
	for (unsigned i = 0; i < HOLDS; i++) {
		struct cmd cmd;
		onsale_prep_hold_ga(&cmd, EVENT_ID, TV_TIER_GA, 1, customer + i, 0);
		len += proto_encode_cmd(b + len, sizeof b - len, i + 2, &cmd);
	}
	memcpy(b + len, tail, tail_len);
	len += tail_len;
	assert_int_equal(send(fd, b, len, MSG_NOSIGNAL), (ssize_t)len);
	if (half_close)
		assert_int_equal(shutdown(fd, SHUT_WR), 0);
}

/* Every well-formed request gets its reply, also when the connection is
 * closing: after the client's half-close (shutdown of its write side after
 * its last request), and before the close a bad frame after them causes.
 * The holds were taken either way; their replies were dropped. */
static void closing_answers_what_came_before(void **state)
{
	(void)state;
	uint8_t bad[PROTO_HEADER_BYTES];
	static uint8_t rep[(HOLDS + 2) * (PROTO_HEADER_BYTES + 256)];
	put_header(bad, 0x3f, 0, 99); /* an unknown opcode */
	for (int k = 0; k < 2; k++) {
		int fd = raw_connect();
		send_holds(fd, 6000 + 100 * (uint64_t)k, bad, k ? sizeof bad : 0, !k);
		long got = read_to_close(fd, rep, sizeof rep);
		assert_true(got > 0);
		unsigned ok = 0, bad_frames = 0, other = 0;
		for (size_t off = 0; off < (size_t)got;) {
			struct proto_reply r;
			long n = proto_decode_reply(rep + off, (size_t)got - off, &r);
			assert_true(n > 0);
			ok += r.res.status == ST_OK;
			bad_frames += r.res.status == ST_BAD_FRAME;
			other += r.res.status != ST_OK && r.res.status != ST_BAD_FRAME;
			off += (size_t)n;
		}
		assert_int_equal(other, 0);
		assert_int_equal(ok, 1 + HOLDS); /* the HELLO and every hold */
		assert_int_equal(bad_frames, (unsigned)k);
		close(fd);
	}
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(decided_early),
		cmocka_unit_test(truncated),
		cmocka_unit_test(garbage_streams),
		cmocka_unit_test(refused_alongside),
		cmocka_unit_test(refusals_in_a_row_close),
		cmocka_unit_test(hello_resets_refusals),
		cmocka_unit_test(closing_answers_what_came_before),
		cmocka_unit_test(good_client_lost_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
