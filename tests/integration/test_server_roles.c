/*
 * test_server_roles.c — a real onsaled (2 shards): the role-by-opcode
 * matrix (every role, none included, times every opcode), HELLO with a
 * wrong key, and malformed frames (each gets one bad_frame reply with its
 * reason and a close, while another client carries on).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/proto/proto.h"
#include "tests/support/srv_harness.h"

static const char *argv0;
static struct srv h;

static int setup(void **state)
{
	(void)state;
	srv_init(&h, argv0, 2);
	return srv_start(&h);
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	return 0;
}

static const uint8_t ops[] = {
	PROTO_OP_EVENT_CREATE,
	PROTO_OP_EVENT_UPDATE,
	PROTO_OP_TIER_ADD,
	PROTO_OP_SECTION_LOAD,
	PROTO_OP_PRESALE_CODE_ADD,
	PROTO_OP_EVENT_RETIRE,
	PROTO_OP_HOLD,
	PROTO_OP_HOLD_EXTEND,
	PROTO_OP_HOLD_RELEASE,
	PROTO_OP_CONFIRM,
	PROTO_OP_REDEEM,
	PROTO_OP_REFUND,
	PROTO_OP_EXCHANGE,
	PROTO_OP_Q_EVENT,
	PROTO_OP_Q_AVAILABILITY,
	PROTO_OP_Q_HOLD,
	PROTO_OP_Q_ORDER,
	PROTO_OP_Q_TICKET,
	PROTO_OP_Q_STATS,
	PROTO_OP_Q_CUSTOMER,
	PROTO_OP_Q_SECTION_SEATS,
	PROTO_OP_PING,
	PROTO_OP_STATS,
};

static int submit(struct onsale *c, uint8_t op)
{
	struct cmd cmd;
	memset(&cmd, 0, sizeof cmd);
	if (op == PROTO_OP_Q_SECTION_SEATS)
		return onsale_submit_section_seats(c, 4242, 0, op, NULL);
	if (op == PROTO_OP_PING)
		return onsale_submit_ping(c, op, NULL);
	if (op == PROTO_OP_STATS)
		return onsale_submit_stats(c, op, NULL);
	cmd.type = op;            /* core opcodes are their command types */
	cmd.hold.event_id = 4242; /* every body starts with the event id */
	if (op == PROTO_OP_PRESALE_CODE_ADD)
		cmd.code.code_len = 1;
	if (op == PROTO_OP_EXCHANGE)
		cmd.ticket.seat = SEAT_NONE;
	return onsale_submit(c, &cmd, op, NULL);
}

static void matrix(void **state)
{
	(void)state;
	for (int role = 0; role < PROTO_ROLES; role++) {
		struct onsale *c = srv_open(&h, role);
		assert_non_null(c);
		for (size_t i = 0; i < sizeof ops; i++) {
			struct onsale_completion done;
			assert_int_equal(submit(c, ops[i]), 0);
			assert_int_equal(onsale_wait(c, &done, 5000), 1);
			int allowed = proto_role_allows((enum proto_role)role, ops[i]);
			if (role == PROTO_ROLE_NONE)
				assert_int_equal(done.rc, ST_UNAUTHENTICATED);
			else if (allowed)
				assert_true(done.rc >= 0 && done.rc != ST_FORBIDDEN &&
					    done.rc != ST_UNAUTHENTICATED &&
					    done.rc != ST_BAD_FRAME);
			else
				assert_int_equal(done.rc, ST_FORBIDDEN);
		}
		assert_int_equal(onsale_error(c), 0); /* still open */
		onsale_close(c);
	}
}

static void wrong_key(void **state)
{
	(void)state;
	struct onsale *c = srv_open(&h, 0);
	uint8_t key[ONSALE_KEY_BYTES];
	memcpy(key, h.keys[ONSALE_ROLE_ADMIN], sizeof key);
	key[7] ^= 1;
	assert_int_equal(onsale_auth(c, ONSALE_ROLE_ADMIN, key, NULL), -EACCES);
	onsale_close(c);
	/* a platform key does not open the admin role */
	c = srv_open(&h, 0);
	assert_int_equal(onsale_auth(c, ONSALE_ROLE_ADMIN, h.keys[ONSALE_ROLE_PLATFORM], NULL),
			 -EACCES);
	onsale_close(c);
}

static void put_header(uint8_t *b, uint8_t version, uint8_t op, uint16_t flags, uint32_t body_len,
		       uint64_t rid)
{
	memset(b, 0, PROTO_HEADER_BYTES);
	memcpy(b, "ONSL", 4);
	b[4] = version;
	b[5] = op;
	b[6] = (uint8_t)flags;
	b[7] = (uint8_t)(flags >> 8);
	for (int i = 0; i < 4; i++)
		b[8 + i] = (uint8_t)(body_len >> (8 * i));
	for (int i = 0; i < 8; i++)
		b[16 + i] = (uint8_t)(rid >> (8 * i));
}

/* Sends bytes, expects one bad_frame reply with reason, then the close. */
static void expect_bad(const uint8_t *bytes, size_t len, int reason)
{
	int fd = srv_raw(&h);
	assert_true(fd >= 0);
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	assert_int_equal(send(fd, bytes, len, MSG_NOSIGNAL), (ssize_t)len);
	uint8_t rep[64];
	size_t got = 0;
	while (got < PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES) {
		ssize_t n = recv(fd, rep + got, sizeof rep - got, 0);
		assert_true(n > 0);
		got += (size_t)n;
	}
	assert_int_equal(rep[12] | rep[13] << 8, ST_BAD_FRAME);
	assert_int_equal(rep[PROTO_HEADER_BYTES + 1], reason);
	char more;
	assert_int_equal(recv(fd, &more, 1, 0), 0); /* closed */
	close(fd);
}

/* A section whose one row has ROW_SEATS_MAX + 1 seats (the counts agree):
 * a count over a limit is bad_body, then the close (it was status 2 and the
 * connection stayed open). */
static void row_too_long(void)
{
	enum { seats = ROW_SEATS_MAX + 1, body = 64 + 12 + 4 * seats };
	static uint8_t f[PROTO_HEADER_BYTES + body];
	uint8_t *b = f + PROTO_HEADER_BYTES;

	put_header(f, 1, PROTO_OP_SECTION_LOAD, 0, body, 7);
	memset(b, 0, body);
	b[0] = 1;                                         /* event 1 */
	b[6] = 1;                                         /* row_count 1 */
	b[8] = seats & 0xff, b[9] = seats >> 8;           /* seat_count */
	b[64 + 8] = seats & 0xff, b[64 + 9] = seats >> 8; /* the row's seat_count */
	expect_bad(f, sizeof f, PROTO_BAD_BODY);
}

static void bad_frames(void **state)
{
	(void)state;
	struct onsale *good = srv_open(&h, ONSALE_ROLE_PLATFORM);
	uint8_t b[PROTO_HEADER_BYTES + 256];
	assert_int_equal(onsale_ping(good), ST_OK);

	memset(b, 'X', PROTO_HEADER_BYTES);
	expect_bad(b, PROTO_HEADER_BYTES, PROTO_BAD_MAGIC);
	put_header(b, 2, PROTO_OP_PING, 0, 0, 1);
	expect_bad(b, PROTO_HEADER_BYTES, PROTO_BAD_VERSION);
	put_header(b, 1, PROTO_OP_PING, 1, 0, 2);
	expect_bad(b, PROTO_HEADER_BYTES, PROTO_BAD_FLAGS);
	put_header(b, 1, 0x3f, 0, 0, 3);
	expect_bad(b, PROTO_HEADER_BYTES, PROTO_BAD_OPCODE);
	put_header(b, 1, PROTO_OP_HOLD, 0, PROTO_FRAME_BYTES_MAX, 4);
	expect_bad(b, PROTO_HEADER_BYTES, PROTO_BAD_TOO_LONG);
	put_header(b, 1, PROTO_OP_HOLD, 0, 100, 5); /* a hold body is 128 bytes */
	memset(b + PROTO_HEADER_BYTES, 0, 100);
	expect_bad(b, PROTO_HEADER_BYTES + 100, PROTO_BAD_BODY_LENGTH);
	/* a section whose body is cut short of what its counts say */
	put_header(b, 1, PROTO_OP_SECTION_LOAD, 0, 64 + 12, 6);
	memset(b + PROTO_HEADER_BYTES, 0, 64 + 12);
	b[PROTO_HEADER_BYTES + 6] = 1; /* row_count 1 */
	b[PROTO_HEADER_BYTES + 8] = 4; /* seat_count 4: 16 bytes missing */
	expect_bad(b, PROTO_HEADER_BYTES + 64 + 12, PROTO_BAD_BODY_LENGTH);
	row_too_long();
	/* after a good request on the same connection */
	int fd = srv_raw(&h);
	put_header(b, 1, PROTO_OP_PING, 0, 0, 9);
	put_header(b + PROTO_HEADER_BYTES, 1, 0x3e, 0, 0, 10);
	assert_int_equal(send(fd, b, 2 * PROTO_HEADER_BYTES, MSG_NOSIGNAL), 2 * PROTO_HEADER_BYTES);
	uint8_t rep[128];
	size_t got = 0;
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (ssize_t n; (n = recv(fd, rep + got, sizeof rep - got, 0)) > 0;)
		got += (size_t)n;
	assert_int_equal(got, 2 * (PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES));
	assert_int_equal(rep[12], ST_UNAUTHENTICATED); /* the ping, before HELLO */
	assert_int_equal(rep[32 + 12], ST_BAD_FRAME);
	close(fd);

	assert_int_equal(onsale_ping(good), ST_OK);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_true(ss.counters[ONSALE_STAT_BAD_FRAMES] >= 8);
	onsale_close(admin);
	onsale_close(good);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(matrix),
		cmocka_unit_test(wrong_key),
		cmocka_unit_test(bad_frames),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
