/*
 * client.c — libonsale's engine: the connection, request slots, buffers and
 * the one path every request and reply takes.
 *
 * A request takes a slot from a free stack (the window: at most `window`
 * slots, allocated at connect) and is encoded into the send buffer; its
 * request id is the slot index in the low 32 bits and the slot's use count
 * in the high 32, so a reply finds its slot in O(1) and a reply to a slot's
 * earlier use (or a made-up id) is caught as a protocol error. Replies are
 * decoded straight from the receive buffer into the caller's completions,
 * so nothing is stored per reply either.
 *
 * When the connection fails (peer closed, socket error, an undecodable
 * reply, a sync call's timeout) the failure is recorded once; replies
 * already received are still delivered, then every slot still in flight
 * completes with the failure's -errno, and later calls return it.
 *
 * The socket is non-blocking throughout; waits are poll(2) on the one fd,
 * always for input and, while requests are queued, for output too, so the
 * client never blocks writing while the server waits for it to read.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include "net/client/onsale.h"
#include "net/proto/proto.h"

static_assert(ONSALE_ROLE_ADMIN == (int)PROTO_ROLE_ADMIN &&
		      ONSALE_ROLE_PLATFORM == (int)PROTO_ROLE_PLATFORM &&
		      ONSALE_ROLE_BOX_OFFICE == (int)PROTO_ROLE_BOX_OFFICE &&
		      ONSALE_ROLE_SCANNER == (int)PROTO_ROLE_SCANNER,
	      "roles as on the wire");
static_assert((int)ONSALE_OP_SECTION_SEATS == (int)PROTO_OP_Q_SECTION_SEATS &&
		      (int)ONSALE_OP_HELLO == (int)PROTO_OP_HELLO &&
		      (int)ONSALE_OP_PING == (int)PROTO_OP_PING &&
		      (int)ONSALE_OP_STATS == (int)PROTO_OP_STATS,
	      "opcodes as on the wire");
static_assert(ONSALE_STAT_SLOTS == PROTO_STAT_SLOTS &&
		      (int)ONSALE_STAT_STOCK_TRANSFERS == (int)PROTO_STAT_STOCK_TRANSFERS &&
		      (int)ONSALE_STAT_DISK_FULL_EVENTS == (int)PROTO_STAT_DISK_FULL_EVENTS &&
		      (int)ONSALE_STAT_REQS_IN_FLIGHT == (int)PROTO_STAT_REQS_IN_FLIGHT &&
		      (int)ONSALE_STAT_REQUESTS_SHED == (int)PROTO_STAT_REQUESTS_SHED &&
		      (int)ONSALE_STAT_CONNECTIONS_TIMED_OUT ==
			      (int)PROTO_STAT_CONNECTIONS_TIMED_OUT,
	      "server counters as on the wire");
static_assert(ONSALE_KEY_BYTES == PROTO_KEY_BYTES, "key size as on the wire");
static_assert(ONSALE_BUFFER_BYTES_MIN >= PROTO_FRAME_BYTES_MAX, "a buffer holds any frame");
static_assert(ONSALE_WINDOW_MAX <= UINT32_MAX, "slot index in 32 bits of the request id");

enum slot_state { SLOT_FREE = 0, SLOT_BUSY = 1 };

struct slot {
	uint64_t cookie;
	uint32_t uses; /* bumped at every use, never 0 in an id: stale ids never match */
	uint8_t opcode;
	uint8_t state; /* enum slot_state */
};

/* A byte queue: [head, tail) of cap bytes is waiting (to be sent or decoded). */
struct bytes {
	uint8_t *buf;
	size_t cap, head, tail;
};

struct onsale {
	int fd;
	int err; /* 0 while usable, else the -errno the connection failed with */
	int call_timeout_ms;
	unsigned window;
	unsigned inflight;
	unsigned free_count;
	unsigned fail_cursor; /* after a failure: the next slot to complete */
	uint32_t *free_slots; /* stack of window slot indexes */
	struct slot *slots;
	struct bytes tx, rx;
	uint8_t *frame; /* PROTO_FRAME_BYTES_MAX: one request being encoded */
};

/* ---- time ---- */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Deadline of a timeout: -1 for none (timeout < 0). */
static int64_t deadline_of(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* What is left of a deadline, for poll(2). */
static int remaining_ms(int64_t deadline)
{
	int64_t left;

	if (deadline < 0)
		return -1;
	left = deadline - now_ms();
	return left <= 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}

/* ---- failure ---- */

/* Records the first failure; the socket is shut so the peer sees it at
 * once. Queued requests are dropped; received replies stay unless what
 * was received is not to be trusted (-EPROTO) or waited for (-ETIMEDOUT). */
static void fail(struct onsale *c, int err)
{
	if (c->err)
		return;
	c->err = err;
	c->fail_cursor = 0;
	c->tx.head = c->tx.tail = 0;
	if (err == -EPROTO || err == -ETIMEDOUT || err == -EACCES)
		c->rx.head = c->rx.tail = 0;
	shutdown(c->fd, SHUT_RDWR);
}

/* ---- slots ---- */

static uint64_t slot_id(const struct onsale *c, unsigned idx)
{
	return (uint64_t)c->slots[idx].uses << 32 | idx;
}

static unsigned slot_take(struct onsale *c, uint8_t opcode, uint64_t cookie)
{
	unsigned idx = c->free_slots[--c->free_count];
	struct slot *s = &c->slots[idx];

	if (++s->uses == 0)
		s->uses = 1;
	s->cookie = cookie;
	s->opcode = opcode;
	s->state = SLOT_BUSY;
	c->inflight++;
	return idx;
}

static void slot_put(struct onsale *c, unsigned idx)
{
	c->slots[idx].state = SLOT_FREE;
	c->free_slots[c->free_count++] = idx;
	c->inflight--;
}

/* The busy slot a reply's id names, or -1. */
static long slot_of_reply(const struct onsale *c, const struct proto_reply *rep)
{
	uint64_t idx = rep->request_id & UINT32_MAX;

	if (idx >= c->window || c->slots[idx].state != SLOT_BUSY ||
	    slot_id(c, (unsigned)idx) != rep->request_id || c->slots[idx].opcode != rep->opcode)
		return -1;
	return (long)idx;
}

/* ---- socket I/O ---- */

/* Sends queued bytes until done or the socket is full: 0, or -errno. */
static int send_some(struct onsale *c)
{
	ssize_t n;

	while (c->tx.head < c->tx.tail) {
		n = send(c->fd, c->tx.buf + c->tx.head, c->tx.tail - c->tx.head, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
		c->tx.head += (size_t)n;
	}
	c->tx.head = c->tx.tail = 0;
	return 0;
}

/* Receives what has arrived: bytes read (> 0), 0 when nothing is there,
 * or -errno (-ECONNRESET when the peer closed). The undecoded rest is
 * moved to the front first, so a whole frame always fits. */
static long recv_some(struct onsale *c)
{
	struct bytes *rx = &c->rx;
	ssize_t n;

	if (rx->head > 0) {
		memmove(rx->buf, rx->buf + rx->head, rx->tail - rx->head);
		rx->tail -= rx->head;
		rx->head = 0;
	}
	if (rx->tail == rx->cap)
		return 0;
	do
		n = recv(c->fd, rx->buf + rx->tail, rx->cap - rx->tail, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	if (n == 0)
		return -ECONNRESET;
	rx->tail += (size_t)n;
	return n;
}

/* One round of I/O without blocking: 1 when bytes arrived, 0 when not. */
static int io_now(struct onsale *c)
{
	long rc = send_some(c);

	if (rc == 0)
		rc = recv_some(c);
	if (rc < 0)
		fail(c, (int)rc);
	return rc > 0;
}

/* Waits until the socket is readable, or writable while bytes are queued,
 * or the deadline passes. */
static void io_wait(struct onsale *c, int64_t deadline)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};

	if (c->tx.head < c->tx.tail)
		p.events |= POLLOUT;
	if (poll(&p, 1, remaining_ms(deadline)) < 0 && errno != EINTR)
		fail(c, -errno);
}

/* ---- replies to completions ---- */

static void fill_completion(struct onsale_completion *out, const struct slot *s, uint64_t id,
			    const struct proto_reply *rep)
{
	out->request_id = id;
	out->cookie = s->cookie;
	out->opcode = s->opcode;
	out->rc = (int)rep->res.status;
	out->bad_frame_reason = rep->bad_reason;
	out->res = rep->res;
	switch (s->opcode) {
	case PROTO_OP_HELLO:
		out->hello = (struct onsale_hello_info){rep->hello.role, rep->hello.shard_id,
							rep->hello.shard_count, rep->hello.now_ms};
		break;
	case PROTO_OP_STATS:
		memcpy(out->server.counters, rep->server.counters, sizeof(out->server.counters));
		break;
	case PROTO_OP_Q_SECTION_SEATS:
		out->seats.first_seat = rep->seats.first_seat;
		out->seats.seat_count = rep->seats.seat_count;
		out->seats.states = rep->seats.states;
		break;
	case PROTO_OP_CONFIRM_TOKENS:
	case PROTO_OP_Q_TICKET_TOKEN:
		out->tokens.count = rep->tokens.count;
		out->tokens.bytes = rep->tokens.bytes;
		break;
	case PROTO_OP_TICKET_KEYS:
		out->keys.count = rep->keys.count;
		out->keys.wire = rep->keys.wire;
		break;
	default: memset(&out->server, 0, sizeof(out->server));
	}
}

/* The next whole reply in the receive buffer as a completion: 1, 0 when
 * none is complete, -EPROTO when the bytes are not a reply to a request
 * in flight, -ETIMEDOUT or -ECONNREFUSED when the server says it closes
 * the connection (a deadline passed, or it has too many connections). */
static int next_reply(struct onsale *c, struct onsale_completion *out)
{
	struct bytes *rx = &c->rx;
	struct proto_reply rep;
	long len, idx;

	if (rx->head == rx->tail)
		return 0;
	len = proto_decode_reply(rx->buf + rx->head, rx->tail - rx->head, &rep);
	if (len <= 0)
		return len == 0 ? 0 : -EPROTO;
	if (rep.request_id == 0 &&
	    (rep.res.status == ST_TIMEOUT || rep.res.status == ST_TOO_MANY_CONNECTIONS)) {
		/* sent unasked before the server closes (docs/PROTOCOL.md,
		 * connection rule 8): every request in flight fails with it */
		rx->head += (size_t)len;
		return rep.res.status == ST_TIMEOUT ? -ETIMEDOUT : -ECONNREFUSED;
	}
	idx = slot_of_reply(c, &rep);
	if (idx < 0)
		return -EPROTO;
	rx->head += (size_t)len;
	fill_completion(out, &c->slots[idx], rep.request_id, &rep);
	slot_put(c, (unsigned)idx);
	return 1;
}

/* After a failure: the next slot in flight completes with it. 1, or 0
 * when none is left. */
static int next_failure(struct onsale *c, struct onsale_completion *out)
{
	for (; c->fail_cursor < c->window; c->fail_cursor++) {
		unsigned idx = c->fail_cursor;

		if (c->slots[idx].state != SLOT_BUSY)
			continue;
		memset(out, 0, sizeof(*out));
		out->request_id = slot_id(c, idx);
		out->cookie = c->slots[idx].cookie;
		out->opcode = c->slots[idx].opcode;
		out->rc = c->err;
		slot_put(c, idx);
		return 1;
	}
	return 0;
}

/* Completions that need no I/O: received replies, then failures. */
static unsigned deliver(struct onsale *c, struct onsale_completion *out, unsigned max)
{
	unsigned n = 0;
	int rc;

	while (n < max) {
		rc = next_reply(c, out + n);
		if (rc < 0) {
			/* bytes that are no reply are dropped here, not only by
			 * fail(): it keeps the first failure, and the buffer with
			 * it, when the connection had failed already (a send
			 * refused), and they would be decoded again for ever */
			if (rc == -EPROTO)
				c->rx.head = c->rx.tail = 0;
			fail(c, rc);
			continue;
		}
		if (rc == 0 && (!c->err || !next_failure(c, out + n)))
			break;
		n++;
	}
	return n;
}

/* The one reaping loop under onsale_poll, onsale_wait and every call. */
static int reap(struct onsale *c, struct onsale_completion *out, unsigned max, int timeout_ms)
{
	int64_t deadline = deadline_of(timeout_ms);
	unsigned n;

	for (;;) {
		n = deliver(c, out, max);
		if (n > 0)
			return (int)n;
		if (c->err)
			return c->err;
		if (c->inflight == 0)
			return 0;
		if (io_now(c) || c->err)
			continue;
		if (remaining_ms(deadline) == 0)
			return 0;
		io_wait(c, deadline);
	}
}

/* ---- requests ---- */

/* Room for len more bytes in the send buffer, sending without blocking
 * if needed: 0, or -EAGAIN. */
static int tx_room(struct onsale *c, size_t len)
{
	struct bytes *tx = &c->tx;
	int rc;

	if (tx->cap - tx->tail >= len)
		return 0;
	rc = send_some(c);
	if (rc < 0) {
		fail(c, rc);
		return rc;
	}
	if (tx->head > 0) {
		memmove(tx->buf, tx->buf + tx->head, tx->tail - tx->head);
		tx->tail -= tx->head;
		tx->head = 0;
	}
	return tx->cap - tx->tail >= len ? 0 : -EAGAIN;
}

/* Queues req (its request_id is assigned here). */
static int submit(struct onsale *c, struct proto_request *req, uint64_t cookie, uint64_t *id)
{
	unsigned idx;
	size_t len;
	int rc;

	if (c->err)
		return c->err;
	if (c->free_count == 0)
		return -EBUSY;
	idx = slot_take(c, req->opcode, cookie);
	req->request_id = slot_id(c, idx);
	len = proto_encode_request(c->frame, PROTO_FRAME_BYTES_MAX, req);
	rc = len ? tx_room(c, len) : -EINVAL;
	if (rc < 0)
		goto out_put_slot;
	memcpy(c->tx.buf + c->tx.tail, c->frame, len);
	c->tx.tail += len;
	if (id)
		*id = req->request_id;
	return 0;

out_put_slot:
	slot_put(c, idx);
	return rc;
}

/* One request, waited for: its completion's rc. *out is zero unless a
 * completion came. */
static int call(struct onsale *c, struct proto_request *req, struct onsale_completion *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (c->err)
		return c->err;
	if (c->inflight)
		return -EBUSY;
	rc = submit(c, req, 0, NULL);
	if (rc < 0)
		return rc;
	rc = reap(c, out, 1, c->call_timeout_ms);
	if (rc == 0) {
		fail(c, -ETIMEDOUT);
		rc = reap(c, out, 1, 0);
	}
	return rc < 0 ? rc : out->rc;
}

static int cmd_request(const struct cmd *cmd, struct proto_request *req)
{
	memset(req, 0, sizeof(*req));
	req->opcode = proto_op_of_cmd(cmd->type);
	if (!req->opcode)
		return -EINVAL;
	req->cmd = *cmd;
	return 0;
}

int onsale_call(struct onsale *c, const struct cmd *cmd, struct result *res)
{
	struct onsale_completion done;
	struct proto_request req;
	int rc = cmd_request(cmd, &req);

	if (rc < 0) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	rc = call(c, &req, &done);
	*res = done.res;
	return rc;
}

int onsale_query_section_seats(struct onsale *c, uint32_t event_id, uint16_t section,
			       struct onsale_seat_states *out)
{
	struct proto_request req = {.opcode = PROTO_OP_Q_SECTION_SEATS,
				    .seats = {event_id, section}};
	struct onsale_completion done;
	int rc = call(c, &req, &done);

	out->first_seat = done.seats.first_seat;
	out->seat_count = done.seats.seat_count;
	if (out->seat_count)
		memcpy(out->states, done.seats.states, out->seat_count);
	return rc;
}

int onsale_ping(struct onsale *c)
{
	struct proto_request req = {.opcode = PROTO_OP_PING};
	struct onsale_completion done;

	return call(c, &req, &done);
}

int onsale_server_stats(struct onsale *c, struct onsale_server_stats *out)
{
	struct proto_request req = {.opcode = PROTO_OP_STATS};
	struct onsale_completion done;
	int rc = call(c, &req, &done);

	*out = done.server;
	return rc;
}

/* ---- e-tickets ---- */

static void tokens_copy(const struct onsale_completion *done, struct onsale_tokens *out)
{
	out->count = done->tokens.count <= HOLD_UNITS_MAX ? done->tokens.count : 0;
	if (out->count)
		memcpy(out->bytes, done->tokens.bytes, (size_t)out->count * TOKEN_BYTES);
}

int onsale_call_tokens(struct onsale *c, uint8_t opcode, const struct cmd *cmd, struct result *res,
		       struct onsale_tokens *tokens)
{
	struct onsale_completion done;
	struct proto_request req;
	int rc = cmd_request(cmd, &req);

	memset(tokens, 0, offsetof(struct onsale_tokens, bytes));
	if (rc == 0 && (opcode != PROTO_OP_CONFIRM_TOKENS || cmd->type != CMD_CONFIRM) &&
	    (opcode != PROTO_OP_Q_TICKET_TOKEN || cmd->type != CMD_Q_TICKET))
		rc = -EINVAL;
	if (rc < 0) {
		memset(res, 0, sizeof(*res));
		return rc;
	}
	req.opcode = opcode;
	rc = call(c, &req, &done);
	*res = done.res;
	tokens_copy(&done, tokens);
	return rc;
}

int onsale_submit_tokens(struct onsale *c, uint8_t opcode, const struct cmd *cmd, uint64_t cookie,
			 uint64_t *request_id)
{
	struct proto_request req;
	int rc = cmd_request(cmd, &req);

	if (rc == 0 && (opcode != PROTO_OP_CONFIRM_TOKENS || cmd->type != CMD_CONFIRM) &&
	    (opcode != PROTO_OP_Q_TICKET_TOKEN || cmd->type != CMD_Q_TICKET))
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	req.opcode = opcode;
	return submit(c, &req, cookie, request_id);
}

int onsale_redeem_token(struct onsale *c, uint32_t event_id, const uint8_t token[TOKEN_BYTES],
			uint32_t gate_id, struct result *res)
{
	struct proto_request req = {.opcode = PROTO_OP_REDEEM_TOKEN,
				    .redeem = {.event_id = event_id, .gate_id = gate_id}};
	struct onsale_completion done;
	int rc;

	memcpy(req.redeem.token, token, TOKEN_BYTES);
	rc = call(c, &req, &done);
	*res = done.res;
	return rc;
}

int onsale_ticket_keys(struct onsale *c, struct token_keys *keys)
{
	struct proto_request req = {.opcode = PROTO_OP_TICKET_KEYS};
	struct onsale_completion done;
	int rc = call(c, &req, &done);
	struct proto_ticket_keys wire = {.count = done.keys.count, .wire = done.keys.wire};

	memset(keys, 0, sizeof(*keys));
	for (unsigned i = 0; rc == ST_OK && i < wire.count; i++) {
		struct token_pubkey k;

		proto_ticket_key_get(&wire, i, &k);
		if (token_keys_add(keys, k.key_id, k.pk))
			return -EPROTO;
	}
	return rc;
}

static void hello_request(struct proto_request *req, enum onsale_role role,
			  const uint8_t key[ONSALE_KEY_BYTES])
{
	memset(req, 0, sizeof(*req));
	req->opcode = PROTO_OP_HELLO;
	req->hello.role = (uint8_t)role;
	memcpy(req->hello.key, key, PROTO_KEY_BYTES);
}

int onsale_auth(struct onsale *c, enum onsale_role role, const uint8_t key[ONSALE_KEY_BYTES],
		struct onsale_hello_info *info)
{
	struct onsale_completion done;
	struct proto_request req;
	int rc;

	hello_request(&req, role, key);
	rc = call(c, &req, &done);
	if (rc == ST_UNAUTHENTICATED) {
		fail(c, -EACCES);
		return -EACCES;
	}
	if (rc == ST_OK && info)
		*info = done.hello;
	return rc;
}

/* ---- asynchronous interface ---- */

int onsale_submit(struct onsale *c, const struct cmd *cmd, uint64_t cookie, uint64_t *request_id)
{
	struct proto_request req;
	int rc = cmd_request(cmd, &req);

	return rc < 0 ? rc : submit(c, &req, cookie, request_id);
}

int onsale_submit_section_seats(struct onsale *c, uint32_t event_id, uint16_t section,
				uint64_t cookie, uint64_t *request_id)
{
	struct proto_request req = {.opcode = PROTO_OP_Q_SECTION_SEATS,
				    .seats = {event_id, section}};

	return submit(c, &req, cookie, request_id);
}

int onsale_submit_hello(struct onsale *c, enum onsale_role role,
			const uint8_t key[ONSALE_KEY_BYTES], uint64_t cookie, uint64_t *request_id)
{
	struct proto_request req;

	hello_request(&req, role, key);
	return submit(c, &req, cookie, request_id);
}

int onsale_submit_ping(struct onsale *c, uint64_t cookie, uint64_t *request_id)
{
	struct proto_request req = {.opcode = PROTO_OP_PING};

	return submit(c, &req, cookie, request_id);
}

int onsale_submit_stats(struct onsale *c, uint64_t cookie, uint64_t *request_id)
{
	struct proto_request req = {.opcode = PROTO_OP_STATS};

	return submit(c, &req, cookie, request_id);
}

long onsale_flush(struct onsale *c)
{
	int rc;

	if (c->err)
		return c->err;
	rc = send_some(c);
	if (rc < 0) {
		fail(c, rc);
		return rc;
	}
	return (long)(c->tx.tail - c->tx.head);
}

int onsale_poll(struct onsale *c, struct onsale_completion *out, unsigned max, int timeout_ms)
{
	return max == 0 ? -EINVAL : reap(c, out, max, timeout_ms);
}

int onsale_wait(struct onsale *c, struct onsale_completion *out, int timeout_ms)
{
	return reap(c, out, 1, timeout_ms);
}

unsigned onsale_inflight(const struct onsale *c)
{
	return c->inflight;
}

unsigned onsale_window(const struct onsale *c)
{
	return c->window;
}

int onsale_fd(const struct onsale *c)
{
	return c->fd;
}

int onsale_error(const struct onsale *c)
{
	return c->err;
}

/* ---- connect and close ---- */

/* Waits for a non-blocking connect: 0 or -errno. */
static int connect_wait(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int64_t deadline = deadline_of(timeout_ms);
	socklen_t len = sizeof(int);
	int rc, soerr = 0;

	do
		rc = poll(&p, 1, remaining_ms(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc < 0)
		return -errno;
	if (rc == 0)
		return -ETIMEDOUT;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		return -errno;
	return -soerr;
}

/* A connected non-blocking TCP socket to ai, or -errno. */
static int connect_one(const struct addrinfo *ai, int timeout_ms)
{
	int one = 1;
	int fd, rc;

	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ? 0 : -errno;
	if (rc == -EINPROGRESS)
		rc = connect_wait(fd, timeout_ms);
	if (rc == 0 && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0)
		rc = -errno;
	if (rc < 0)
		goto out_close_fd;
	return fd;

out_close_fd:
	close(fd);
	return rc;
}

/* Tries every address host resolves to: a socket, or the last -errno. */
static int connect_host(const char *host, uint16_t port, int timeout_ms)
{
	struct addrinfo hints = {.ai_family = AF_UNSPEC,
				 .ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICSERV};
	struct addrinfo *list, *ai;
	char service[8];
	int rc;

	snprintf(service, sizeof(service), "%u", (unsigned)port);
	rc = getaddrinfo(host, service, &hints, &list);
	if (rc != 0)
		return rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
	rc = -EHOSTUNREACH;
	for (ai = list; ai; ai = ai->ai_next) {
		rc = connect_one(ai, timeout_ms);
		if (rc >= 0)
			break;
	}
	freeaddrinfo(list);
	return rc;
}

static int options_check(const struct onsale_options *o)
{
	if (o->window == 0 || o->window > ONSALE_WINDOW_MAX)
		return -EINVAL;
	if (o->tx_bytes < ONSALE_BUFFER_BYTES_MIN || o->tx_bytes > ONSALE_BUFFER_BYTES_MAX)
		return -EINVAL;
	if (o->rx_bytes < ONSALE_BUFFER_BYTES_MIN || o->rx_bytes > ONSALE_BUFFER_BYTES_MAX)
		return -EINVAL;
	return 0;
}

static struct onsale_options options_or_default(const struct onsale_options *opt)
{
	struct onsale_options o = {0};

	if (opt)
		o = *opt;
	if (!o.window)
		o.window = ONSALE_WINDOW_DEFAULT;
	if (!o.connect_timeout_ms)
		o.connect_timeout_ms = ONSALE_CONNECT_TIMEOUT_MS_DEFAULT;
	if (!o.call_timeout_ms)
		o.call_timeout_ms = ONSALE_CALL_TIMEOUT_MS_DEFAULT;
	if (!o.tx_bytes)
		o.tx_bytes = ONSALE_TX_BYTES_DEFAULT;
	if (!o.rx_bytes)
		o.rx_bytes = ONSALE_RX_BYTES_DEFAULT;
	return o;
}

static void free_buffers(struct onsale *c)
{
	free(c->frame);
	free(c->rx.buf);
	free(c->tx.buf);
	free(c->free_slots);
	free(c->slots);
}

/* Every allocation a connection will ever make: 0 or -ENOMEM. */
static int alloc_buffers(struct onsale *c, const struct onsale_options *o)
{
	c->slots = calloc(o->window, sizeof(*c->slots));
	c->free_slots = malloc(o->window * sizeof(*c->free_slots));
	c->tx.buf = malloc(o->tx_bytes);
	c->rx.buf = malloc(o->rx_bytes);
	c->frame = malloc(PROTO_FRAME_BYTES_MAX);
	if (!c->slots || !c->free_slots || !c->tx.buf || !c->rx.buf || !c->frame) {
		free_buffers(c);
		return -ENOMEM;
	}
	c->tx.cap = o->tx_bytes;
	c->rx.cap = o->rx_bytes;
	c->window = c->free_count = o->window;
	for (unsigned i = 0; i < o->window; i++)
		c->free_slots[i] = o->window - 1 - i; /* slot 0 is taken first */
	return 0;
}

int onsale_connect(const char *host, uint16_t port, const struct onsale_options *opt,
		   struct onsale **out)
{
	struct onsale_options o = options_or_default(opt);
	struct onsale *c;
	int rc;

	*out = NULL;
	rc = options_check(&o);
	if (rc < 0)
		return rc;
	/* onsale.h promises it: a scanner may call token_check() after this */
	if (sodium_init() < 0)
		return -ENOSYS;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	rc = alloc_buffers(c, &o);
	if (rc < 0)
		goto out_free_conn;
	c->call_timeout_ms = o.call_timeout_ms;
	c->fd = connect_host(host, port, o.connect_timeout_ms);
	if (c->fd < 0) {
		rc = c->fd;
		goto out_free_buffers;
	}
	*out = c;
	return 0;

out_free_buffers:
	free_buffers(c);
out_free_conn:
	free(c);
	return rc;
}

int onsale_open(const char *host, uint16_t port, enum onsale_role role,
		const uint8_t key[ONSALE_KEY_BYTES], const struct onsale_options *opt,
		struct onsale **out)
{
	int rc = onsale_connect(host, port, opt, out);

	if (rc < 0)
		return rc;
	rc = onsale_auth(*out, role, key, NULL);
	if (rc != 0)
		goto out_close_conn;
	return 0;

out_close_conn:
	onsale_close(*out);
	*out = NULL;
	return rc;
}

void onsale_close(struct onsale *c)
{
	if (!c)
		return;
	close(c->fd);
	free_buffers(c);
	free(c);
}

/* ---- names ---- */

const char *onsale_strerror(int rc)
{
	if (rc < 0)
		return strerror(-rc);
	return status_name((enum status)rc);
}
