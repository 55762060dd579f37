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
 * its bytes left in the buffer) while it is over its fair share of the
 * shard (net/guard/fair.h: requests in flight, output bytes, big buffers)
 * or while the shard has no request slot, message or big buffer for its
 * next frame; it is retried every turn. A reply that does not fit the
 * output buffer waits in its request slot until a send makes room; a big
 * reply always fits (its room is reserved). A client whose output stands
 * still past the output deadline is closed, which frees its slots.
 *
 * Connection policy (net/guard/, docs/OPERATIONS.md): a connection over
 * the shard's quota, in all or for its peer address, is refused with
 * status too_many_connections and closed, never accepted and dropped
 * silently; one that passes a deadline (HELLO, a frame in progress, idle)
 * gets status timeout, is read no more and closes once that is sent. The
 * deadlines are checked by a sweep every GUARD_SWEEP_MS (conn_sweep).
 *
 * Rules (docs/PROTOCOL.md): HELLO first; a wrong key gets unauthenticated
 * and a close; a request before HELLO gets unauthenticated, a request the
 * role may not send gets forbidden, both head-only and the connection
 * stays; a bad frame gets one bad_frame reply and a close, and nothing
 * after it is read. A connection that is closing (a bad frame, a refusal
 * over the row, a wrong key, the client's half-close) is read no more but
 * closes only once every request it sent before has its reply out.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sodium.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net/server/server.h"
#include "net/server/io.h"
#include "net/server/metrics.h"
#include "net/guard/fair.h"

/* The per-address table: a power of two at least twice the table. */
#define LIMIT_SLOTS (2u * SERVER_CONNS_PER_SHARD_MAX)
static_assert((LIMIT_SLOTS & (LIMIT_SLOTS - 1)) == 0, "a power of two");

/* This shard's quotas of the server-wide connection limits
 * (net/guard/addr_limit.h). */
static int limits_init(struct shard *s)
{
	const struct server_config *cfg = &s->srv->cfg;
	uint32_t total_max, per_max;
	addr_limit_quotas(cfg->conns_max, cfg->conns_per_addr_max, s->srv->n, s->id,
			  SERVER_CONNS_PER_SHARD_MAX, &total_max, &per_max);
	s->limit_slots = per_max ? calloc(LIMIT_SLOTS, sizeof *s->limit_slots) : NULL;
	if (per_max && !s->limit_slots)
		return -ENOMEM;
	uint64_t seed;
	randombytes_buf(&seed, sizeof seed);
	addr_limit_init(&s->limit, s->limit_slots, per_max ? LIMIT_SLOTS : 0, total_max, per_max,
			seed);
	return 0;
}

int conn_tables_init(struct shard *s)
{
	size_t per = (size_t)CONN_IN_BYTES + CONN_OUT_BYTES;
	s->conns = calloc(SERVER_CONNS_PER_SHARD_MAX, sizeof *s->conns);
	s->free_slots = calloc(SERVER_CONNS_PER_SHARD_MAX, sizeof *s->free_slots);
	if (!s->conns || !s->free_slots)
		return -ENOMEM;
	int rc = limits_init(s);
	if (rc)
		return rc;
	/* reserved at start, backed by memory only where connections touch it */
	uint8_t *mem = mmap(NULL, per * SERVER_CONNS_PER_SHARD_MAX, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	for (uint32_t i = 0; i < SERVER_CONNS_PER_SHARD_MAX; i++) {
		s->free_slots[i] = SERVER_CONNS_PER_SHARD_MAX - 1 - i; /* slot 0 on top */
		s->conns[i].fd = -1;
		s->conns[i].in = mem + per * i;
		s->conns[i].out = s->conns[i].in + CONN_IN_BYTES;
		s->conns[i].wait_head = s->conns[i].wait_tail = NIL32;
	}
	s->free_count = SERVER_CONNS_PER_SHARD_MAX;
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

static struct addr_key peer_of(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	struct addr_key k = {{0}};
	if (getpeername(fd, (struct sockaddr *)&ss, &len))
		return k; /* already reset: counted under the zero address */
	if (ss.ss_family == AF_INET)
		return addr_key_ipv4(ntohl(((struct sockaddr_in *)&ss)->sin_addr.s_addr));
	if (ss.ss_family == AF_INET6)
		memcpy(k.b, &((struct sockaddr_in6 *)&ss)->sin6_addr, sizeof k.b);
	return k;
}

/* Over a limit: status too_many_connections, unasked, then the close. The
 * socket is fresh, its send buffer empty, so the reply goes out whole;
 * what the peer already sent is read first, so the close is a FIN after
 * the reply and not a reset that could discard it. */
static void refuse(struct shard *s, int fd)
{
	static const struct proto_reply rep = {.res.status = ST_TOO_MANY_CONNECTIONS};
	uint8_t buf[PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES];
	size_t n = proto_encode_reply(buf, sizeof buf, &rep);
	assert(n == sizeof buf);
	if (send(fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n)
		shutdown(fd, SHUT_WR);
	uint8_t sink[512];
	for (int k = 0; k < 4 && recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; k++)
		;
	close(fd);
	s->ctr.conns_refused++;
}

/* A slot with no connection, the one freed last (its buffers' touched
 * pages are the likeliest to be resident still). */
static uint32_t free_slot(struct shard *s)
{
	if (!s->free_count)
		return NIL32;
	uint32_t ci = s->free_slots[--s->free_count];
	assert(ci < SERVER_CONNS_PER_SHARD_MAX && s->conns[ci].fd < 0);
	return ci;
}

void conn_accepted(struct shard *s, int fd)
{
	if (atomic_load(&s->srv->stop)) {
		close(fd);
		return;
	}
	/* the quota first: a slot is held exactly while its connection is
	 * counted, so the quota (at most the table) leaves one free */
	struct addr_key peer = {{0}}; /* asked for only where a per-address limit counts it */
	if (s->limit.per_addr_max)
		peer = peer_of(fd);
	if (addr_limit_admit(&s->limit, &peer) != ST_OK) {
		refuse(s, fd);
		return;
	}
	uint32_t ci = free_slot(s);
	assert(ci != NIL32);
	int one = 1; /* the send buffer's size comes from the listener (server.c) */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	struct conn *c = &s->conns[ci];
	/* what the slot keeps comes before fd (server-t.h); a slot freed
	 * earlier in this turn (free_slot hands back the last freed first)
	 * stays linked where it is */
	memset(&c->fd, 0, sizeof *c - offsetof(struct conn, fd));
	c->fd = fd;
	c->gen++;
	c->wait_head = c->wait_tail = NIL32;
	c->peer = peer;
	c->accepted_ms = c->active_ms = s->guard_ms;
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
	if (c->in_peak > CONN_IN_KEEP_BYTES) /* no recv is in flight: its pages are ours */
		madvise(c->in + CONN_IN_KEEP_BYTES, CONN_IN_BYTES - CONN_IN_KEEP_BYTES,
			MADV_DONTNEED);
	c->gen++; /* requests still out will find their connection gone */
	assert(s->free_count < SERVER_CONNS_PER_SHARD_MAX);
	s->free_slots[s->free_count++] = ci;
	s->ctr.conns_open--;
	addr_limit_release(&s->limit, &c->peer);
	accept_pause_resume(&s->accept_pause); /* a file is free again */
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

/* A closing connection has nothing left to send: every request it sent
 * before the close was decided has its reply out (a bad frame, a refusal
 * over the row, a wrong key, the client's own half-close: the requests
 * before them are well-formed and get their replies first). */
static bool conn_done(const struct conn *c)
{
	return !c->out_len && !c->send_busy && !c->inflight && c->wait_head == NIL32;
}

/* ---- fair shares (net/guard/fair.h) ----------------------------------------- */

static struct fair_conn share(const struct conn *c)
{
	return (struct fair_conn){.inflight = c->inflight,
				  .bigs = c->bigs,
				  .out_bytes = c->out_len};
}

/* pr into the node within c's fair share. -EAGAIN: not now, leave it unread. */
static int route(struct shard *s, uint32_t ci, const struct proto_request *pr)
{
	struct conn *c = &s->conns[ci];
	struct fair_conn fc = share(c);
	bool big = node_op_big(pr->opcode);
	if (!fair_slot_ok(&fc, s->node.reqs_used) || (big && !fair_big_ok(&fc)))
		return -EAGAIN;
	/* counted first: the node may reply before it returns */
	c->inflight++;
	c->bigs += big;
	metrics_request(s);
	/* a request the shard had no room for queued since then: load
	 * shedding (net/shard/shed.c) counts its delay from there. A wait over
	 * the connection's own share is the client's, not the shard's queue. */
	int rc = node_request_since(&s->node, ci, c->gen, pr, s->secbuf,
				    c->held_since_ms ? c->held_since_ms : s->now_ms);
	if (rc) {
		c->inflight--;
		c->bigs -= big;
		if (rc == -EAGAIN && !c->held_since_ms)
			c->held_since_ms = s->now_ms;
	} else {
		c->held_since_ms = 0;
	}
	return rc;
}

/* Closes the connections whose output stood still past the deadline
 * (the client reads nothing); their request slots free as the node hands
 * back their replies. Every CONN_OUTPUT_CHECK_MS while a send is out. */
static void output_deadlines(struct shard *s)
{
	uint64_t now_ms = s->guard_ms;
	if (!s->out_watch || now_ms < s->out_check_at_ms)
		return;
	s->out_check_at_ms = now_ms + CONN_OUTPUT_CHECK_MS;
	bool sending = false;
	for (uint32_t ci = 0; ci < SERVER_CONNS_PER_SHARD_MAX; ci++) {
		struct conn *c = &s->conns[ci];
		if (c->fd < 0 || c->dead || !c->send_busy)
			continue;
		struct fair_output o = {.sending = true,
					.replies_waiting = c->wait_head != NIL32,
					.progress_ms = c->out_moved_ms};
		enum fair_verdict v = fair_output_check(&o, now_ms, s->srv->cfg.output_deadline_ms);
		if (v == FAIR_OK) {
			sending = true;
			continue;
		}
		s->ctr.closed_not_reading++;
		/* a reset, not a FIN behind the replies it does not read: the
		 * kernel drops what it still holds for it (up to ~0.5 MB) now,
		 * instead of keeping it while the client keeps its end open */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};
		setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
		conn_close(s, ci);
	}
	s->out_watch = sending;
}

uint32_t conn_tick_ms(const struct shard *s)
{
	return s->out_watch ? CONN_OUTPUT_CHECK_MS : 0;
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
	struct fair_conn fc = share(c);
	bool big = node_op_big(r->opcode);
	size_t n = encode(s, r, c->out + c->out_len, fair_put_room(&fc, big));
	assert(n || !big); /* its room was kept */
	if (!n)
		return false;
	c->out_len += (uint32_t)n;
	c->inflight--;
	c->bigs -= big;
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
	/* a big reply goes ahead of waiting ones: replies may come in any order */
	if ((c->wait_head == NIL32 || node_op_big(r->opcode)) && put(s, r->conn, r))
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
	return route(s, ci, &rq);
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
	c->refused_row = 0; /* a HELLO that succeeds is not refused */
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
		if (fair_refusals_close(++c->refused_row))
			c->closing = true; /* nothing more is read; closes once sent */
		return 0;
	}
	c->refused_row = 0;
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
	return route(s, ci, pr);
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
		struct fair_conn fc = share(c);
		if (!fair_read_ok(&fc) ||
		    atomic_load_explicit(&s->srv->stop, memory_order_relaxed)) {
			mark_stalled(s, ci);
			break;
		}
		long n = proto_decode_request(c->in + c->in_off, c->in_len - c->in_off, &pr,
					      s->secbuf);
		if (n == 0) {
			if (!c->partial)
				c->partial_ms = s->guard_ms; /* the frame deadline starts */
			c->partial = true;
			break;
		}
		if (n < 0) {
			bad_frame(s, ci, &pr, n);
			break;
		}
		if (handle(s, ci, &pr) == -EAGAIN) {
			mark_stalled(s, ci);
			break;
		}
		c->in_off += (uint32_t)n;
		c->partial = false;
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
		/* the end of its input (the client half-closed, or a deadline shut
		 * the read side): nothing more is read, what it asked is answered,
		 * then conn_sent closes; a reset closes at once */
		if (res == 0 && !conn_done(c)) {
			c->closing = true;
			return;
		}
		conn_close(s, ci);
		return;
	}
	c->active_ms = s->guard_ms;
	s->ctr.bytes_in += (uint64_t)res;
	c->in_len += (uint32_t)res;
	if (c->in_len > c->in_peak)
		c->in_peak = c->in_len;
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
	if (res > 0)
		c->out_moved_ms = s->guard_ms;
	c->active_ms = s->guard_ms;
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
	else if (c->closing && conn_done(c))
		conn_close(s, ci);
}

/* A send of c's output; its deadline counts from now. */
static void arm_send(struct shard *s, uint32_t ci)
{
	s->conns[ci].out_moved_ms = s->guard_ms;
	if (!s->out_watch) {
		s->out_watch = true;
		s->out_check_at_ms = s->guard_ms + CONN_OUTPUT_CHECK_MS;
	}
	io_arm_send(s, ci);
}

void conn_end_turn(struct shard *s)
{
	output_deadlines(s);
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
			arm_send(s, ci);
		else if (c->fd >= 0 && !c->dead && c->closing && conn_done(c))
			conn_close(s, ci);
		ci = next;
	}
}

/* ---- deadlines --------------------------------------------------------------------- */

/* A deadline passed: status timeout, unasked (request id 0, opcode 0),
 * then the close once it is sent. Nothing more is read: an armed recv
 * is ended by the shutdown of the read side. */
static void expire(struct shard *s, uint32_t ci)
{
	static const struct proto_reply rep = {.res.status = ST_TIMEOUT};
	struct conn *c = &s->conns[ci];
	c->out_len += (uint32_t)proto_encode_reply(c->out + c->out_len, CONN_OUT_BYTES - c->out_len,
						   &rep);
	c->closing = true;
	if (c->recv_busy)
		shutdown(c->fd, SHUT_RD);
	s->ctr.conns_timed_out++;
	mark_dirty(s, ci);
}

static struct deadline_conn deadline_view(const struct conn *c)
{
	return (struct deadline_conn){
		.accepted_ms = c->accepted_ms,
		.active_ms = c->active_ms,
		.partial_ms = c->partial_ms,
		.partial = c->partial,
		.authenticated = c->role != PROTO_ROLE_NONE,
		.busy = c->inflight || c->out_len || c->send_busy || c->wait_head != NIL32,
		.stalled = c->stalled,
	};
}

void conn_sweep(struct shard *s)
{
	const struct deadline_config *cfg = &s->srv->cfg.deadlines;
	if (!s->ctr.conns_open || !deadline_any(cfg) || !deadline_sweep_due(&s->sweep, s->guard_ms))
		return;
	for (uint32_t ci = 0; ci < SERVER_CONNS_PER_SHARD_MAX; ci++) {
		const struct conn *c = &s->conns[ci];
		if (c->fd < 0 || c->closing)
			continue;
		struct deadline_conn d = deadline_view(c);
		if (deadline_due(cfg, &d, s->guard_ms) != DEADLINE_NONE)
			expire(s, ci);
	}
}

uint32_t conn_guard_wait_ms(const struct shard *s)
{
	uint32_t sweep_ms = s->ctr.conns_open && deadline_any(&s->srv->cfg.deadlines)
				    ? deadline_sweep_wait_ms(&s->sweep, s->guard_ms)
				    : 0;
	uint32_t pause_ms = accept_pause_wait_ms(&s->accept_pause, s->guard_ms);
	return io_sooner_ms(sweep_ms, pause_ms);
}
