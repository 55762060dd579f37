/*
 * test_server_fair.c — a real onsaled (1 shard, so every client shares its
 * slots) against careless clients, each beside a well-behaved one:
 *
 * - non_readers: 24 connections pipeline availability queries (1.3 KB
 *   replies) and never read. A platform client still holds and confirms;
 *   the non-readers are closed once their output stands still, and STATS
 *   then shows their request slots free. Before the fair shares they
 *   pinned every one of the shard's 4,096 slots and the hold stalled.
 * - seat_maps: 8 connections pipeline seat-map queries of an 8,192-seat
 *   section among those queries and never read. Another client's seat-map
 *   query and a section load are answered. Before, the non-readers' seat
 *   replies waited in all 16 big buffers and both stalled for good.
 * - flood: one client writes 20,000 customer queries as fast as the server takes
 *   them and reads slowly; every one is answered exactly once, in order,
 *   and a platform client holds and confirms meanwhile.
 *
 * - non_reader_reset: a client that pipelines seat-map queries and never
 *   reads is reset at the output deadline, so the kernel drops what it held
 *   for it at once.
 * - deadline_option: --output-deadline-ms out of range exits 2.
 *
 * Every loop is bounded in count and time; the server listens on 127.0.0.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/proto/proto.h"
#include "tests/support/srv_harness.h"

#define EV 21
#define GA_TIERS 31 /* tiers 0..30 GA; tier 31 the big section's */
#define GA_UNITS 100u
#define PRICE 500u
#define BIG_TIER 31
#define BIG_SECTION 1
#define BIG_ROWS 32
#define BIG_ROW_SEATS 256 /* 8,192 seats: an 8 KB seat-map reply */
#define OUTPUT_DEADLINE "1500"
#define CALL_MS 5000
#ifndef NON_READERS
#define NON_READERS 24
#endif
#ifndef SEAT_READERS
#define SEAT_READERS 8
#endif
#define NON_READERS_MAX 64
#define SETTLE_MS 1500
#define FLOOD_BYTES_MAX (2u << 20) /* per non-reader */
#define FLOOD_REQUESTS 20000u
#define TIME_MAX_MS 20000u

static const char *argv0;
static struct srv h;
static struct row_spec rows[SECTION_ROWS_MAX];
static struct seat_spec seats[SECTION_SEATS_MAX];

static uint64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static struct onsale *open_role(int role)
{
	struct onsale_options o = {.call_timeout_ms = CALL_MS};
	struct onsale *c = NULL;

	if (onsale_open("127.0.0.1", h.port, role, h.keys[role], &o, &c))
		return NULL;
	return c;
}

static int load_big_section(struct onsale *admin, uint16_t section)
{
	struct cmd_section sec = {.event_id = EV,
				  .section = section,
				  .row_count = BIG_ROWS,
				  .rows = rows,
				  .seats = seats};
	struct result res;

	for (unsigned r = 0; r < BIG_ROWS; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		snprintf(rows[r].label, sizeof rows[r].label, "R%u", r);
		rows[r].seat_count = BIG_ROW_SEATS;
		rows[r].first_number = 1;
	}
	for (unsigned i = 0; i < BIG_ROWS * BIG_ROW_SEATS; i++)
		seats[i] = (struct seat_spec){.tier = BIG_TIER, .rank = (uint16_t)i};
	snprintf(sec.name, sizeof sec.name, "S%u", section);
	return onsale_section_load(admin, &sec, &res);
}

/* An event whose availability reply is 1.3 KB (32 tiers) and whose seat
 * map has one 8,192-seat section. */
static void create_event(struct onsale *admin)
{
	struct cmd_event ev = {.event_id = EV,
			       .state = EVENT_ON_SALE,
			       .customer_limit = 0,
			       .units_max = GA_TIERS * GA_UNITS + 4 * BIG_ROWS * BIG_ROW_SEATS,
			       .presale_start_ms = 1,
			       .public_start_ms = 2};
	struct result res;

	snprintf(ev.name, sizeof ev.name, "fair");
	assert_int_equal(onsale_event_create(admin, &ev, &res), ST_OK);
	for (unsigned t = 0; t <= BIG_TIER; t++) {
		struct cmd_tier ct = {.event_id = EV,
				      .tier = (uint8_t)t,
				      .kind = t == BIG_TIER ? TIER_RESERVED : TIER_GA,
				      .capacity = t == BIG_TIER ? 0 : GA_UNITS,
				      .price_minor = PRICE};
		snprintf(ct.name, sizeof ct.name, "T%u", t);
		assert_int_equal(onsale_tier_add(admin, &ct, &res), ST_OK);
	}
	assert_int_equal(load_big_section(admin, BIG_SECTION), ST_OK);
}

static int setup(void **state)
{
	(void)state;
	srv_init(&h, argv0, 1);
	h.args[0] = "--output-deadline-ms";
	h.args[1] = OUTPUT_DEADLINE;
	if (srv_start(&h))
		return -1;
	struct onsale *admin = open_role(ONSALE_ROLE_ADMIN);
	if (!admin)
		return -1;
	create_event(admin);
	onsale_close(admin);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	return 0;
}

/* ---- raw clients ------------------------------------------------------------- */

static size_t put_request(uint8_t *buf, size_t cap, const struct proto_request *pr)
{
	size_t n = proto_encode_request(buf, cap, pr);
	assert_true(n > 0);
	return n;
}

static size_t put_query(uint8_t *buf, size_t cap, uint64_t rid, uint8_t opcode, uint8_t type)
{
	struct proto_request pr = {.request_id = rid, .opcode = opcode};
	pr.cmd.type = type;
	pr.cmd.query.event_id = EV;
	return put_request(buf, cap, &pr);
}

static size_t put_avail(uint8_t *buf, size_t cap, uint64_t rid)
{
	return put_query(buf, cap, rid, PROTO_OP_Q_AVAILABILITY, CMD_Q_AVAILABILITY);
}

static size_t put_seats(uint8_t *buf, size_t cap, uint64_t rid)
{
	struct proto_request pr = {.request_id = rid, .opcode = PROTO_OP_Q_SECTION_SEATS};
	pr.seats.event_id = EV;
	pr.seats.section = BIG_SECTION;
	return put_request(buf, cap, &pr);
}

/* A raw connection authenticated as platform (its HELLO reply left unread). */
static int raw_platform(void)
{
	struct proto_request pr = {.request_id = 1, .opcode = PROTO_OP_HELLO};
	uint8_t b[128];
	int fd = srv_raw(&h);

	assert_true(fd >= 0);
	pr.hello.role = PROTO_ROLE_PLATFORM;
	memcpy(pr.hello.key, h.keys[ONSALE_ROLE_PLATFORM], PROTO_KEY_BYTES);
	size_t n = put_request(b, sizeof b, &pr);
	assert_int_equal(send(fd, b, n, MSG_NOSIGNAL), (ssize_t)n);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

/* Opens n raw platform connections into fds and writes stream (len bytes,
 * repeated) into each until none takes more for 300 ms or each took
 * FLOOD_BYTES_MAX; never reads. */
static void write_unread(int *fds, unsigned n, const uint8_t *stream, size_t len)
{
	size_t sent[NON_READERS_MAX] = {0};
	uint64_t idle_since = mono_ms(), deadline = idle_since + TIME_MAX_MS;

	assert_true(n <= NON_READERS_MAX);
	for (unsigned k = 0; k < n; k++)
		fds[k] = raw_platform();
	while (mono_ms() - idle_since < 300 && mono_ms() < deadline) {
		bool moved = false;
		for (unsigned k = 0; k < n; k++) {
			if (sent[k] >= FLOOD_BYTES_MAX)
				continue;
			size_t off = sent[k] % len;
			ssize_t w = send(fds[k], stream + off, len - off, MSG_NOSIGNAL);
			if (w > 0) {
				sent[k] += (size_t)w;
				moved = true;
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				sent[k] = FLOOD_BYTES_MAX; /* closed by the server already */
			}
		}
		if (moved)
			idle_since = mono_ms();
		else
			usleep(10 * 1000);
	}
}

static void stats(struct onsale *admin, struct onsale_server_stats *ss)
{
	assert_int_equal(onsale_server_stats(admin, ss), ST_OK);
}

/* Waits (bounded) until only `open` connections are left and no request
 * slot is in use but the STATS request's own. */
static void expect_drained(struct onsale *admin, uint64_t open)
{
	struct onsale_server_stats ss;
	uint64_t deadline = mono_ms() + 10000;

	do {
		stats(admin, &ss);
		if (ss.counters[ONSALE_STAT_CONNECTIONS_OPEN] == open &&
		    ss.counters[ONSALE_STAT_REQS_IN_FLIGHT] == 1)
			return;
		usleep(100 * 1000);
	} while (mono_ms() < deadline);
	print_message("open %llu, in flight %llu\n",
		      (unsigned long long)ss.counters[ONSALE_STAT_CONNECTIONS_OPEN],
		      (unsigned long long)ss.counters[ONSALE_STAT_REQS_IN_FLIGHT]);
	fail();
}

/* The server closed fd: reading it ends (bounded) in EOF or a reset. */
static void expect_closed(int fd)
{
	static uint8_t sink[1 << 16];
	uint64_t deadline = mono_ms() + 5000;

	while (mono_ms() < deadline) {
		ssize_t n = recv(fd, sink, sizeof sink, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			return;
		if (n < 0)
			poll(&(struct pollfd){.fd = fd, .events = POLLIN}, 1, 50);
	}
	fail_msg("connection still open");
}

static void hold_and_confirm(struct onsale *plat, uint8_t tier, uint64_t customer)
{
	struct result res;
	int st = onsale_hold_ga(plat, EV, tier, 1, customer, 0, &res);

	if (st != ST_OK)
		print_message("hold: %s\n", onsale_strerror(st));
	assert_int_equal(st, ST_OK);
	st = onsale_confirm(plat, EV, res.hold.hold_id, PRICE, "pay", &res);
	if (st != ST_OK)
		print_message("confirm: %s\n", onsale_strerror(st));
	assert_int_equal(st, ST_OK);
}

/* ---- the cases ------------------------------------------------------------------ */

static void non_readers(void **state)
{
	(void)state;
	static uint8_t stream[64 * 40];
	size_t len = 0;
	int fds[NON_READERS];
	struct onsale_server_stats before, after;

	for (uint64_t i = 0; len + 64 <= sizeof stream; i++)
		len += put_avail(stream + len, sizeof stream - len, 100 + i);
	struct onsale *admin = open_role(ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	stats(admin, &before);
	write_unread(fds, NON_READERS, stream, len);
	usleep(SETTLE_MS * 1000); /* the shard works through what it read */
	struct onsale *plat = open_role(ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	hold_and_confirm(plat, 0, 1001);
	hold_and_confirm(plat, 1, 1002);
	expect_drained(admin, 2);
	stats(admin, &after);
	assert_true(after.counters[ONSALE_STAT_CLOSED_NOT_READING] -
			    before.counters[ONSALE_STAT_CLOSED_NOT_READING] >=
		    NON_READERS);
	for (unsigned k = 0; k < NON_READERS; k++) {
		expect_closed(fds[k]);
		close(fds[k]);
	}
	hold_and_confirm(plat, 2, 1003);
	onsale_close(plat);
	onsale_close(admin);
}

static void seat_maps(void **state)
{
	(void)state;
	static uint8_t stream[21 * 64];
	size_t len = 0;
	int fds[SEAT_READERS];
	struct onsale_seat_states st;

	for (uint64_t i = 0; i < 21; i++)
		len += i ? put_avail(stream + len, sizeof stream - len, 100 + i)
			 : put_seats(stream + len, sizeof stream - len, 100 + i);
	write_unread(fds, SEAT_READERS, stream, len);
	usleep(SETTLE_MS * 1000);
	struct onsale *plat = open_role(ONSALE_ROLE_PLATFORM);
	struct onsale *admin = open_role(ONSALE_ROLE_ADMIN);
	assert_non_null(plat);
	assert_non_null(admin);
	int rc = onsale_query_section_seats(plat, EV, BIG_SECTION, &st);
	if (rc != ST_OK)
		print_message("seat map: %s\n", onsale_strerror(rc));
	assert_int_equal(rc, ST_OK);
	assert_int_equal(st.seat_count, BIG_ROWS * BIG_ROW_SEATS);
	rc = load_big_section(admin, BIG_SECTION + 1);
	if (rc != ST_OK)
		print_message("section load: %s\n", onsale_strerror(rc));
	assert_int_equal(rc, ST_OK);
	expect_drained(admin, 2);
	for (unsigned k = 0; k < SEAT_READERS; k++) {
		expect_closed(fds[k]);
		close(fds[k]);
	}
	onsale_close(plat);
	onsale_close(admin);
}

/* Reads what is there (at most 4 KB a call, so slowly) and checks each
 * whole reply: the next request id, status ok. Returns the replies read. */
static uint64_t read_some(int fd, uint8_t *buf, size_t *have, uint64_t next_rid)
{
	ssize_t n = recv(fd, buf + *have, 4096, 0);
	uint64_t got = 0;
	size_t off = 0;

	if (n <= 0) {
		assert_true(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		return 0;
	}
	*have += (size_t)n;
	for (;;) {
		struct proto_reply rep;
		long m = proto_decode_reply(buf + off, *have - off, &rep);
		assert_true(m >= 0);
		if (m == 0)
			break;
		assert_int_equal(rep.request_id, next_rid + got); /* once each, in order */
		assert_int_equal(rep.res.status, ST_OK);
		got++;
		off += (size_t)m;
	}
	memmove(buf, buf + off, *have - off);
	*have -= off;
	return got;
}

static void flood(void **state)
{
	(void)state;
	static uint8_t out[FLOOD_REQUESTS * 40], in[1 << 17];
	size_t len = 0, sent = 0, have = 0;
	uint64_t answered = 0, deadline = mono_ms() + TIME_MAX_MS, rounds = 0;
	uint8_t hello[PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + 64];

	for (uint64_t i = 0; i < FLOOD_REQUESTS; i++)
		len += put_query(out + len, sizeof out - len, 2 + i, PROTO_OP_Q_CUSTOMER,
				 CMD_Q_CUSTOMER);
	int fd = raw_platform();
	struct onsale *plat = open_role(ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	/* the HELLO reply first */
	struct pollfd p = {.fd = fd, .events = POLLIN};
	assert_int_equal(poll(&p, 1, CALL_MS), 1);
	ssize_t hn = recv(fd, hello, sizeof hello, 0);
	assert_true(hn > 0);
	struct proto_reply rep;
	assert_int_equal(proto_decode_reply(hello, (size_t)hn, &rep), hn);
	assert_int_equal(rep.res.status, ST_OK);
	while (answered < FLOOD_REQUESTS && mono_ms() < deadline) {
		if (sent < len) {
			ssize_t n = send(fd, out + sent, len - sent, MSG_NOSIGNAL);
			assert_true(n > 0 || errno == EAGAIN || errno == EWOULDBLOCK);
			sent += n > 0 ? (size_t)n : 0;
		}
		answered += read_some(fd, in, &have, 2 + answered);
		if (++rounds % 200 == 0)
			hold_and_confirm(plat, (uint8_t)(3 + rounds / 200 % 20), 2000 + rounds);
		usleep(200);
	}
	assert_int_equal(answered, FLOOD_REQUESTS);
	hold_and_confirm(plat, 30, 3000);
	close(fd);
	onsale_close(plat);
}

/* A client that stops reading is reset at the output deadline, not closed
 * with a FIN behind its unsent replies: the replies the kernel still held
 * for it (up to ~0.5 MB) are dropped at once. Before, the server's socket
 * stayed in FIN-WAIT-1 with them for as long as the client kept its end
 * open (a minute and more, measured), and the client saw nothing. Its
 * requests all fit the server's input, so none is left unread there (that
 * alone would make the close a reset). */
static void non_reader_reset(void **state)
{
	(void)state;
	enum { QUERIES = 200 };
	static uint8_t stream[QUERIES * 40];
	size_t len = 0;

	for (uint64_t i = 0; i < QUERIES; i++)
		len += put_seats(stream + len, sizeof stream - len, 100 + i);
	int fd = raw_platform();
	assert_int_equal(send(fd, stream, len, MSG_NOSIGNAL), (ssize_t)len);
	uint64_t deadline = mono_ms() + 4000;
	struct tcp_info ti;
	do {
		socklen_t tl = sizeof ti;
		memset(&ti, 0, sizeof ti);
		assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
		if (ti.tcpi_state == TCP_CLOSE)
			break;
		usleep(50 * 1000);
	} while (mono_ms() < deadline);
	assert_int_equal(ti.tcpi_state, TCP_CLOSE); /* reset; it was ESTABLISHED */
	close(fd);
}

/* onsaled --output-deadline-ms: out of range or not a number exits 2;
 * --help names it. */
static void deadline_option(void **state)
{
	(void)state;
	static const char *const bad[] = {"5", "86400001", "abc", "-1", ""};
	char cmd[1024];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(cmd, sizeof cmd, "'%s' --output-deadline-ms '%s' >/dev/null 2>&1", h.bin,
			 bad[i]);
		int rc = system(cmd);
		assert_true(WIFEXITED(rc));
		assert_int_equal(WEXITSTATUS(rc), 2);
	}
	snprintf(cmd, sizeof cmd, "'%s' --help | grep -q -- --output-deadline-ms", h.bin);
	assert_int_equal(system(cmd), 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(non_readers),     cmocka_unit_test(seat_maps),
		cmocka_unit_test(flood),           cmocka_unit_test(non_reader_reset),
		cmocka_unit_test(deadline_option),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
