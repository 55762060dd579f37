/*
 * conn.c — client connections of one shard: framing, authentication,
 * roles, replies, back-pressure.
 *
 * Each connection has one input buffer (two largest frames: a partial
 * frame after the last whole one always leaves room for a whole frame more)
 * that one recv at a time fills, and one output buffer that replies are
 * encoded into as they finish; at the end of the loop turn one send per
 * connection takes everything encoded so far (replies batched per turn).
 *
 * Back-pressure, never loss: a connection stops being read (no recv armed,
 * its bytes left in the buffer) while it has CONN_INFLIGHT_MAX requests in
 * flight, while its output buffer is more than half full, or while the
 * shard has no request slot, message or big buffer for its next frame; it
 * is retried every turn. A reply that does not fit the output buffer waits
 * in its request slot until a send makes room.
 *
 * Rules (docs/PROTOCOL.md): HELLO first; a wrong key gets unauthenticated
 * and a close; a request before HELLO gets unauthenticated, a request the
 * role may not send gets forbidden, both head-only and the connection
 * stays; a bad frame gets one bad_frame reply and a close, and nothing
 * after it is read.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/server/server.h"
#include "net/server/io.h"
#include "net/server/metrics.h"

int conn_tables_init(struct shard *s)
{
	size_t per = (size_t)CONN_IN_BYTES + CONN_OUT_BYTES;
	s->conns = calloc(SERVER_CONNS_PER_SHARD_MAX, sizeof *s->conns);
	if (!s->conns)
		return -ENOMEM;
	/* reserved at start, backed by memory only where connections touch it */
	uint8_t *mem = mmap(NULL, per * SERVER_CONNS_PER_SHARD_MAX, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < SERVER_CONNS_PER_SHARD_MAX; i++) {
		s->conns[i].fd = -1;
		s->conns[i].in = mem + per * i;
		s->conns[i].out = s->conns[i].in + CONN_IN_BYTES;
		s->conns[i].wait_head = s->conns[i].wait_tail = NIL32;
	}
	s->dirty_head = s->stalled_head = NIL32;
	return 0;
}

static void mark_dirty(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = s->dirty_head;
	s->dirty_head = ci;
}

static void mark_stalled(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	if (c->stalled)
		return;
	c->stalled = true;
	c->next_stalled = s->stalled_head;
	s->stalled_head = ci;
}

void conn_accepted(struct shard *s, int fd)
{
	uint32_t ci = NIL32;
	for (uint32_t k = 0; k < SERVER_CONNS_PER_SHARD_MAX; k++) {
		uint32_t i = (s->conn_free + k) % SERVER_CONNS_PER_SHARD_MAX;
		if (s->conns[i].fd < 0) {
			ci = i;
			break;
		}
	}
	if (ci == NIL32 || atomic_load(&s->srv->stop)) {
		close(fd);
		return;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = &s->conns[ci];
	uint32_t gen = c->gen + 1;
	uint8_t *in = c->in, *out = c->out;
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->gen = gen;
	c->in = in;
	c->out = out;
	c->wait_head = c->wait_tail = NIL32;
	s->conn_free = (ci + 1) % SERVER_CONNS_PER_SHARD_MAX;
	s->ctr.conns_open++;
	s->ctr.conns_total++;
	io_arm_recv(s, ci);
}

/* Frees the slot once no I/O of it is in flight. */
static void release(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	if (c->recv_busy || c->send_busy)
		return;
	while (c->wait_head != NIL32) {
		struct req *r = node_req(&s->node, c->wait_head);
		c->wait_head = r->next;
		node_req_free(&s->node, r);
	}
	c->wait_tail = NIL32;
	close(c->fd);
	c->fd = -1;
	c->gen++; /* requests still out will find their connection gone */
	s->ctr.conns_open--;
}

static void conn_close(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	if (c->dead)
		return;
	c->dead = c->closing = true;
	if (c->recv_busy || c->send_busy)
		shutdown(c->fd, SHUT_RDWR); /* completes what is in flight */
	release(s, ci);
}

void conn_close_all(struct shard *s)
{
	for (uint32_t i = 0; i < SERVER_CONNS_PER_SHARD_MAX; i++)
		if (s->conns[i].fd >= 0)
			conn_close(s, i);
}

/* ---- replies ------------------------------------------------------------------- */

static size_t encode(struct shard *s, struct req *r, uint8_t *buf, size_t cap)
{
	if (r->opcode == PROTO_OP_CONFIRM_TOKENS || r->opcode == PROTO_OP_Q_TICKET_TOKEN ||
	    r->opcode == PROTO_OP_REDEEM_TOKEN)
		return tickets_encode(s, r, buf, cap);
	if (r->opcode == PROTO_OP_STATS || r->opcode == PROTO_OP_Q_SECTION_SEATS ||
	    r->opcode == PROTO_OP_HELLO) {
		r->extra.request_id = r->request_id;
		r->extra.opcode = r->opcode;
		r->extra.res = r->res;
		if (r->opcode == PROTO_OP_STATS) {
			r->extra.server.counters[PROTO_STAT_UPTIME_MS] = s->now_ms -
									 s->srv->started_ms;
			r->extra.server.counters[PROTO_STAT_SHARDS] = s->srv->n;
		}
		if (r->opcode == PROTO_OP_Q_SECTION_SEATS) {
			r->extra.seats.first_seat = (uint32_t)r->res.section.seat_first;
			r->extra.seats.seat_count = r->res.section.seat_count;
			r->extra.seats.states = r->big;
		}
		return proto_encode_reply(buf, cap, &r->extra);
	}
	return proto_encode_result(buf, cap, r->request_id, r->opcode, &r->res);
}

/* Encodes r into c's output; false when it does not fit now. */
static bool put(struct shard *s, uint32_t ci, struct req *r)
{
	struct conn *c = &s->conns[ci];
	size_t n = encode(s, r, c->out + c->out_len, CONN_OUT_BYTES - c->out_len);
	if (!n)
		return false;
	c->out_len += (uint32_t)n;
	c->inflight--;
	mark_dirty(s, ci);
	node_req_free(&s->node, r);
	return true;
}

void conn_reply(void *shard, struct req *r)
{
	struct shard *s = shard;
	struct conn *c = &s->conns[r->conn];
	metrics_reply(s, r->opcode, r->res.status,
		      metrics_request_start(s, node_req_index(&s->node, r)));
	if (c->fd < 0 || c->gen != r->conn_gen || c->dead) {
		node_req_free(&s->node, r); /* the client is gone */
		return;
	}
	if (c->wait_head == NIL32 && put(s, r->conn, r))
		return;
	r->next = NIL32;
	if (c->wait_tail != NIL32)
		node_req(&s->node, c->wait_tail)->next = node_req_index(&s->node, r);
	else
		c->wait_head = node_req_index(&s->node, r);
	c->wait_tail = node_req_index(&s->node, r);
}

/* A head-only reply decided here, without a request slot. */
static void reply_now(struct shard *s, uint32_t ci, const struct proto_request *pr, enum status st,
		      const struct proto_hello_reply *hello)
{
	struct conn *c = &s->conns[ci];
	metrics_reply(s, pr->opcode, st, 0);
	struct proto_reply rep = {.request_id = pr->request_id, .opcode = pr->opcode};
	rep.res.status = st;
	if (hello)
		rep.hello = *hello;
	size_t n = proto_encode_reply(c->out + c->out_len, CONN_OUT_BYTES - c->out_len, &rep);
	c->out_len += (uint32_t)n; /* fits: reading stops at half full */
	mark_dirty(s, ci);
}

/* A reply tickets.c encoded at the end of c's output (it fits: reading
 * stops at half full). */
static void reply_put(struct shard *s, uint32_t ci, const struct proto_request *pr, enum status st,
		      size_t n)
{
	metrics_reply(s, pr->opcode, st, 0);
	s->conns[ci].out_len += (uint32_t)n;
	mark_dirty(s, ci);
}

/* ---- requests in ------------------------------------------------------------------ */

/* REDEEM_TOKEN: the token is checked here, then its ticket is redeemed as
 * a REDEEM would be (routed by the ticket id). */
static int redeem_token(struct shard *s, uint32_t ci, const struct proto_request *pr)
{
	struct conn *c = &s->conns[ci];
	struct proto_request rq;
	struct result res;
	if (tickets_redeem_check(s, pr, &rq, &res) != ST_OK) {
		reply_put(s, ci, pr, res.status,
			  proto_encode_result(c->out + c->out_len, CONN_OUT_BYTES - c->out_len,
					      pr->request_id, pr->opcode, &res));
		return 0;
	}
	metrics_request(s);
	int rc = node_request(&s->node, ci, c->gen, &rq, s->secbuf);
	if (!rc)
		c->inflight++;
	return rc;
}

static void hello(struct shard *s, uint32_t ci, const struct proto_request *pr)
{
	uint8_t role = pr->hello.role;
	struct conn *c = &s->conns[ci];
	role_keys_pickup(&s->srv->role_keys, &s->role_keys_seq, &s->role_keys);
	if (!role_keys_check(&s->role_keys, role, pr->hello.key)) {
		s->ctr.refused++;
		c->role = PROTO_ROLE_NONE;
		reply_now(s, ci, pr, ST_UNAUTHENTICATED, NULL);
		c->closing = true;
		return;
	}
	c->role = role;
	struct proto_hello_reply h = {.role = role,
				      .shard_id = s->id,
				      .shard_count = (uint16_t)s->srv->n,
				      .now_ms = s->now_ms};
	reply_now(s, ci, pr, ST_OK, &h);
}

/* One decoded frame. -EAGAIN: no slot for it now, leave it unread. */
static int handle(struct shard *s, uint32_t ci, const struct proto_request *pr)
{
	struct conn *c = &s->conns[ci];
	if (pr->opcode == PROTO_OP_HELLO) {
		hello(s, ci, pr);
		return 0;
	}
	if (c->role == PROTO_ROLE_NONE || !proto_role_allows(c->role, pr->opcode)) {
		s->ctr.refused++;
		reply_now(s, ci, pr, c->role == PROTO_ROLE_NONE ? ST_UNAUTHENTICATED : ST_FORBIDDEN,
			  NULL);
		return 0;
	}
	if (pr->opcode == PROTO_OP_PING) {
		reply_now(s, ci, pr, ST_OK, NULL);
		return 0;
	}
	if (pr->opcode == PROTO_OP_TICKET_KEYS) {
		reply_put(s, ci, pr, ST_OK,
			  tickets_keys_reply(s, pr, c->out + c->out_len,
					     CONN_OUT_BYTES - c->out_len));
		return 0;
	}
	if (pr->opcode == PROTO_OP_REDEEM_TOKEN)
		return redeem_token(s, ci, pr);
	metrics_request(s);
	int rc = node_request(&s->node, ci, c->gen, pr, s->secbuf);
	if (!rc)
		c->inflight++;
	return rc;
}

static void bad_frame(struct shard *s, uint32_t ci, const struct proto_request *pr, long why)
{
	struct conn *c = &s->conns[ci];
	size_t n = proto_encode_bad_frame(c->out + c->out_len, CONN_OUT_BYTES - c->out_len,
					  pr->request_id, pr->opcode, (enum proto_bad) - why);
	c->out_len += (uint32_t)n;
	c->closing = true;
	s->ctr.bad_frames++;
	mark_dirty(s, ci);
}

static void parse(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	struct proto_request pr;
	while (!c->closing && c->in_off < c->in_len) {
		if (c->inflight >= CONN_INFLIGHT_MAX || c->out_len > CONN_OUT_BYTES / 2 ||
		    atomic_load_explicit(&s->srv->stop, memory_order_relaxed)) {
			mark_stalled(s, ci);
			break;
		}
		long n = proto_decode_request(c->in + c->in_off, c->in_len - c->in_off, &pr,
					      s->secbuf);
		if (n == 0)
			break;
		if (n < 0) {
			bad_frame(s, ci, &pr, n);
			break;
		}
		if (handle(s, ci, &pr) == -EAGAIN) {
			mark_stalled(s, ci);
			break;
		}
		c->in_off += (uint32_t)n;
		s->ctr.requests++;
	}
	if (c->in_off == c->in_len) {
		c->in_off = c->in_len = 0;
	} else if (CONN_IN_BYTES - c->in_len < PROTO_FRAME_BYTES_MAX) {
		memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
		c->in_len -= c->in_off;
		c->in_off = 0;
	}
}

static void maybe_read(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	if (!c->recv_busy && !c->closing && !c->stalled)
		io_arm_recv(s, ci);
}

void conn_received(struct shard *s, uint32_t ci, int res)
{
	struct conn *c = &s->conns[ci];
	c->recv_busy = false;
	if (c->dead) {
		release(s, ci);
		return;
	}
	if (res <= 0) {
		if (res == -EINTR || res == -EAGAIN) {
			maybe_read(s, ci);
			return;
		}
		conn_close(s, ci);
		return;
	}
	s->ctr.bytes_in += (uint64_t)res;
	c->in_len += (uint32_t)res;
	parse(s, ci);
	maybe_read(s, ci);
}

void conn_sent(struct shard *s, uint32_t ci, int res)
{
	struct conn *c = &s->conns[ci];
	c->send_busy = false;
	if (c->dead) {
		release(s, ci);
		return;
	}
	if (res < 0) {
		conn_close(s, ci);
		return;
	}
	s->ctr.bytes_out += (uint64_t)res;
	memmove(c->out, c->out + res, c->out_len - (uint32_t)res);
	c->out_len -= (uint32_t)res;
	while (c->wait_head != NIL32) {
		struct req *r = node_req(&s->node, c->wait_head);
		uint32_t next = r->next;
		if (!put(s, ci, r))
			break;
		c->wait_head = next;
		if (next == NIL32)
			c->wait_tail = NIL32;
	}
	if (c->out_len)
		mark_dirty(s, ci);
	else if (c->closing && c->wait_head == NIL32)
		conn_close(s, ci);
}

void conn_end_turn(struct shard *s)
{
	uint32_t ci = s->stalled_head;
	s->stalled_head = NIL32;
	while (ci != NIL32) { /* retry: slots may have freed */
		struct conn *c = &s->conns[ci];
		uint32_t next = c->next_stalled;
		c->stalled = false;
		if (c->fd >= 0 && !c->dead) {
			parse(s, ci);
			maybe_read(s, ci);
		}
		ci = next;
	}
	ci = s->dirty_head;
	s->dirty_head = NIL32;
	while (ci != NIL32) {
		struct conn *c = &s->conns[ci];
		uint32_t next = c->next_dirty;
		c->dirty = false;
		if (c->fd >= 0 && !c->dead && !c->send_busy && c->out_len)
			io_arm_send(s, ci);
		else if (c->fd >= 0 && !c->dead && c->closing && !c->out_len && !c->send_busy)
			conn_close(s, ci);
		ci = next;
	}
}
