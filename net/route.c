/*
 * route.c — the coordinator: where each request goes, and how the answers
 * come together (placement in docs/ARCHITECTURE.md §3).
 *
 *   admin changes     every shard (a GA tier's capacity and a presale code's
 *                     use limit split over them); one reply once every
 *                     shard has it durable, the first refusal wins
 *   SECTION_LOAD      the section's owner: section % N
 *   HOLD, GA          the customer's home shard: it sells from its own
 *                     allotment (asking peers for stock when short), it
 *                     counts the customer, and a retried idempotency key
 *                     always lands where the first hold is
 *   HOLD, seats       the shard of the seats (global seat id >> 24); all
 *                     seats of one hold are on one shard
 *   HOLD, best        a probe to every shard (best_available without
 *                     taking), then the hold at the shard with the best
 *                     score, the next best if it lost the race, ...
 *   hold/ticket ids   the shard in the id's top byte
 *   Q_EVENT, Q_AVAILABILITY, Q_STATS, Q_CUSTOMER
 *                     every shard, summed
 *   Q_SECTION_SEATS   the section's owner
 *
 * A hold for a customer whose home is another shard, in an event with a
 * customer limit, is first reserved at the home shard (MSG_RESERVE); the
 * reservation is given back when the hold is refused, was an idempotent
 * repeat, or was finally taken on the home shard itself (which counts it in
 * its core).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "net/server.h"

struct req *route_req(struct shard *s, uint32_t index)
{
	return &s->reqs[index];
}

static struct req *req_alloc(struct shard *s)
{
	if (s->req_free == NIL32)
		return NULL;
	struct req *r = &s->reqs[s->req_free];
	s->req_free = r->next;
	s->reqs_used++;
	r->next = NIL32;
	r->step = STEP_ONE;
	r->pending = r->tries = 0;
	r->reserved = r->have_res = false;
	r->big = NULL;
	/* the head only: every path writes the rest before a reply reads it
	 * (an answer, fail(), a sum's first answer); STATS reads the status */
	memset(&r->res, 0, offsetof(struct result, hold));
	return r;
}

void route_req_free(struct shard *s, struct req *r)
{
	msg_big_free(s, r->big);
	r->big = NULL;
	r->next = s->req_free;
	s->req_free = (uint32_t)(r - s->reqs);
	s->reqs_used--;
}

static uint32_t msgs_free(const struct shard *s)
{
	return SHARD_MSGS_MAX - atomic_load_explicit(&s->msgs_used, memory_order_relaxed);
}

static void send_msg(struct shard *s, struct req *r, uint8_t kind, uint8_t to, const struct cmd *cmd)
{
	struct msg *m = msg_alloc(s);
	assert(m); /* callers check msgs_free first */
	m->kind = kind;
	m->req = (uint32_t)(r - s->reqs);
	m->cmd = *cmd;
	m->big = r->big;
	r->pending++;
	msg_send(s, m, to);
}

size_t route_result_bytes(uint8_t type)
{
	switch (type) {
	case CMD_HOLD: case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		return offsetof(struct result, hold) + sizeof(struct hold_view);
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		return offsetof(struct result, ticket) + sizeof(struct ticket_view);
	default:
		return sizeof(struct result);
	}
}

/* An answer into the request: the result's head and the view its reply
 * packs, not the whole 1.3 KB result. */
static void take_result(struct req *r, const struct result *res)
{
	memcpy(&r->res, res, route_result_bytes(r->opcode));
}

static void fail(struct shard *s, struct req *r, enum status st)
{
	memset(&r->res, 0, sizeof r->res);
	r->res.status = st;
	conn_reply(s, r);
}

/* ---- admin and queries over every shard ------------------------------------- */

static void broadcast(struct shard *s, struct req *r, uint8_t kind)
{
	uint32_t n = s->srv->n;
	for (uint32_t k = 0; k < n; k++) {
		struct cmd c = r->cmd;
		if (c.type == CMD_TIER_ADD && c.tier.kind == TIER_GA) /* allotments */
			c.tier.capacity = c.tier.capacity / n + (k < c.tier.capacity % n);
		if (c.type == CMD_PRESALE_CODE_ADD && c.code.use_limit) /* at least 1 each */
			c.code.use_limit = (c.code.use_limit + n - 1) / n;
		send_msg(s, r, kind, (uint8_t)k, &c);
	}
}

static void sum_tiers(struct availability_view *a, const struct availability_view *b)
{
	if (b->tier_count > a->tier_count)
		a->tier_count = b->tier_count;
	for (unsigned t = 0; t < TIERS_MAX; t++) {
		struct tier_view *x = &a->tiers[t];
		const struct tier_view *y = &b->tiers[t];
		if (!y->defined)
			continue;
		if (!x->defined) {
			*x = *y;
			continue;
		}
		x->capacity += y->capacity;
		x->free += y->free;
		x->held += y->held;
		x->sold += y->sold;
		x->killed += y->killed;
	}
	for (unsigned t = 0; t < TIERS_MAX; t++)
		a->tiers[t].low_stock = a->tiers[t].low_stock_threshold &&
					a->tiers[t].free < a->tiers[t].low_stock_threshold;
}

static void sum(struct req *r, const struct result *b)
{
	struct result *a = &r->res;
	if (!r->have_res || (a->status == ST_OK && b->status != ST_OK)) {
		*a = *b;
		r->have_res = true;
		return;
	}
	if (a->status != ST_OK || b->status != ST_OK)
		return;
	a->low_stock_tiers |= b->low_stock_tiers;
	switch (r->cmd.type) {
	case CMD_Q_EVENT:
		a->event.units_placed += b->event.units_placed;
		a->event.seat_count += b->event.seat_count;
		a->event.live_holds += b->event.live_holds;
		a->event.tickets_issued += b->event.tickets_issued;
		a->event.section_count += b->event.section_count;
		break;
	case CMD_Q_AVAILABILITY:
		sum_tiers(&a->avail, &b->avail);
		break;
	case CMD_Q_STATS:
		for (unsigned ch = 0; ch < CHANNELS; ch++) {
			struct channel_stats *x = &a->stats.channels[ch];
			const struct channel_stats *y = &b->stats.channels[ch];
			x->held += y->held;
			x->sold += y->sold;
			x->revenue_minor += y->revenue_minor;
			x->redeemed += y->redeemed;
			x->refunded += y->refunded;
		}
		break;
	case CMD_Q_CUSTOMER:
		a->customer.units += b->customer.units;
		break;
	default:
		break;
	}
}

/* ---- holds ---------------------------------------------------------------------- */

static void hold_at(struct shard *s, struct req *r, uint8_t at)
{
	struct msg *m = msg_alloc(s);
	if (!m) {
		fail(s, r, ST_OVERLOADED); /* a reservation stays counted; see docs */
		return;
	}
	r->step = STEP_HOLD;
	r->exec_shard = at;
	m->kind = MSG_EXEC;
	m->req = (uint32_t)(r - s->reqs);
	m->reserved = r->reserved;
	m->cmd = r->cmd;
	r->pending++;
	msg_send(s, m, at);
}

static void probe_all(struct shard *s, struct req *r)
{
	if (msgs_free(s) < s->srv->n) {
		fail(s, r, ST_OVERLOADED);
		return;
	}
	r->step = STEP_PROBE;
	for (uint32_t k = 0; k < s->srv->n; k++) {
		r->score[k] = UINT32_MAX;
		send_msg(s, r, MSG_PROBE, (uint8_t)k, &r->cmd);
	}
}

/* Best-available: the untried shard with the best score, if any. */
static int next_candidate(struct shard *s, struct req *r)
{
	int best = -1;
	for (uint32_t k = 0; k < s->srv->n; k++)
		if (r->score[k] != UINT32_MAX && (best < 0 || r->score[k] < r->score[best]))
			best = (int)k;
	if (best >= 0)
		r->score[best] = UINT32_MAX;
	return best;
}

static void unreserve(struct shard *s, struct req *r)
{
	const struct cmd_hold *h = &r->cmd.hold;
	struct msg *u = msg_alloc(s);
	r->reserved = false;
	if (!u) {
		fprintf(stderr, "onsaled: shard %u: message pool empty, customer count of %llu "
				"stays high until restart\n", s->id, (unsigned long long)h->customer_id);
		return;
	}
	u->kind = MSG_UNRESERVE;
	u->cmd = r->cmd;
	msg_send(s, u, route_home(s->srv, h->customer_id));
}

static void hold_next(struct shard *s, struct req *r)
{
	if (r->cmd.hold.mode != HOLD_BEST || s->srv->n == 1) {
		hold_at(s, r, r->exec_shard);
		return;
	}
	probe_all(s, r);
}

static void hold_done(struct shard *s, struct req *r, const struct msg *m)
{
	enum status st = m->res.status;
	if (r->cmd.hold.mode == HOLD_BEST && (st == ST_NO_ADJACENT_SEATS || st == ST_SOLD_OUT)) {
		int k = next_candidate(s, r);
		if (k >= 0) {
			hold_at(s, r, (uint8_t)k);
			return;
		}
	}
	take_result(r, &m->res);
	if (r->reserved && (st != ST_OK || r->res.replayed ||
			    r->exec_shard == route_home(s->srv, r->cmd.hold.customer_id)))
		unreserve(s, r);
	conn_reply(s, r);
}

static void probed(struct shard *s, struct req *r)
{
	int k = next_candidate(s, r);
	/* no shard has a block: the local core gives the right refusal (or,
	 * if seats came free meanwhile, the hold) */
	hold_at(s, r, k >= 0 ? (uint8_t)k : s->id);
}

static int hold_start(struct shard *s, struct req *r)
{
	struct cmd_hold *h = &r->cmd.hold;
	uint32_t n = s->srv->n;
	uint8_t home = h->customer_id ? route_home(s->srv, h->customer_id) : s->id;
	bool shaped = h->qty >= 1 && h->qty <= HOLD_UNITS_MAX;

	r->exec_shard = s->id;
	if (h->mode == HOLD_GA) {
		r->exec_shard = home;
	} else if (h->mode == HOLD_SEATS && shaped) {
		uint32_t at = h->seats[0] >> SEAT_SHARD_SHIFT;
		for (unsigned i = 0; i < h->qty; i++) {
			if ((h->seats[i] >> SEAT_SHARD_SHIFT) >= n)
				return fail(s, r, ST_SEAT_UNKNOWN), 0;
			if ((h->seats[i] >> SEAT_SHARD_SHIFT) != at)
				return fail(s, r, ST_BAD_ARGUMENT), 0;
			h->seats[i] &= SEAT_LOCAL_MASK;
		}
		r->exec_shard = (uint8_t)at;
	}
	bool remote = (h->mode == HOLD_SEATS && r->exec_shard != home) ||
		      (h->mode == HOLD_BEST && n > 1);
	if (shaped && h->customer_id && remote && exec_event_limit(s, h->event_id)) {
		r->step = STEP_RESERVE;
		send_msg(s, r, MSG_RESERVE, home, &r->cmd);
		return 0;
	}
	hold_next(s, r);
	return 0;
}

/* ---- requests in -------------------------------------------------------------- */

static int by_id(struct shard *s, struct req *r, uint64_t id, enum status unknown)
{
	uint8_t at = route_id_shard(id);
	if (at >= s->srv->n) {
		fail(s, r, unknown);
		return 0;
	}
	if (r->cmd.type == CMD_EXCHANGE && r->cmd.ticket.seat != SEAT_NONE) {
		if ((r->cmd.ticket.seat >> SEAT_SHARD_SHIFT) != at) {
			fail(s, r, ST_SEAT_UNAVAILABLE); /* exchanges stay on one shard */
			return 0;
		}
		r->cmd.ticket.seat &= SEAT_LOCAL_MASK;
	}
	send_msg(s, r, MSG_EXEC, at, &r->cmd);
	return 0;
}

static int section_load(struct shard *s, struct req *r)
{
	r->big = msg_big_alloc(s);
	if (!r->big)
		return -EAGAIN;
	static_assert(sizeof(struct proto_section_buf) <= PROTO_FRAME_BYTES_MAX, "fits a big buffer");
	struct proto_section_buf *b = (struct proto_section_buf *)(void *)r->big;
	memcpy(b, s->secbuf, sizeof *b);
	r->cmd.section.rows = b->rows;
	r->cmd.section.seats = b->seats;
	send_msg(s, r, MSG_EXEC, (uint8_t)(r->cmd.section.section % s->srv->n), &r->cmd);
	return 0;
}

static int section_seats(struct shard *s, struct req *r, const struct proto_seats_query *q)
{
	r->big = msg_big_alloc(s);
	if (!r->big)
		return -EAGAIN;
	struct msg *m = msg_alloc(s);
	m->kind = MSG_SEATS;
	m->req = (uint32_t)(r - s->reqs);
	m->big = r->big;
	m->score = q->section;
	m->cmd.query.event_id = q->event_id;
	r->pending++;
	msg_send(s, m, (uint8_t)(q->section % s->srv->n));
	return 0;
}

static int core_request(struct shard *s, struct req *r)
{
	switch (r->cmd.type) {
	case CMD_EVENT_CREATE: case CMD_EVENT_UPDATE: case CMD_TIER_ADD: case CMD_PRESALE_CODE_ADD:
		r->step = STEP_BROADCAST;
		broadcast(s, r, MSG_EXEC);
		return 0;
	case CMD_Q_EVENT: case CMD_Q_AVAILABILITY: case CMD_Q_STATS: case CMD_Q_CUSTOMER:
		r->step = STEP_SUM;
		broadcast(s, r, MSG_EXEC);
		return 0;
	case CMD_SECTION_LOAD:
		return section_load(s, r);
	case CMD_HOLD:
		return hold_start(s, r);
	case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		return by_id(s, r, r->cmd.ref.hold_id, ST_HOLD_UNKNOWN);
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		return by_id(s, r, r->cmd.ticket.ticket_id, ST_TICKET_UNKNOWN);
	default:
		fail(s, r, ST_BAD_COMMAND);
		return 0;
	}
}

int route_request(struct shard *s, uint32_t ci, const struct proto_request *pr)
{
	if (msgs_free(s) < s->srv->n + 2)
		return -EAGAIN;
	struct req *r = req_alloc(s);
	if (!r)
		return -EAGAIN;
	r->conn = ci;
	r->conn_gen = s->conns[ci].gen;
	r->request_id = pr->request_id;
	r->opcode = pr->opcode;
	int rc;
	if (pr->opcode == PROTO_OP_STATS) {
		r->step = STEP_STATS;
		memset(&r->extra, 0, sizeof r->extra);
		struct cmd none = {0};
		broadcast(s, r, MSG_STATS);
		(void)none;
		rc = 0;
	} else if (pr->opcode == PROTO_OP_Q_SECTION_SEATS) {
		rc = section_seats(s, r, &pr->seats);
	} else {
		r->cmd = pr->cmd;
		rc = core_request(s, r);
	}
	if (rc) { /* nothing was sent */
		route_req_free(s, r);
		return rc;
	}
	s->conns[ci].inflight++;
	return 0;
}

/* ---- answers back ------------------------------------------------------------------ */

static void answered(struct req *r, const struct msg *m)
{
	switch (r->step) {
	case STEP_ONE:
		take_result(r, &m->res);
		break;
	case STEP_BROADCAST:
		if (!r->have_res || (r->res.status == ST_OK && m->res.status != ST_OK)) {
			r->res = m->res;
			r->have_res = true;
		}
		break;
	case STEP_SUM:
		sum(r, &m->res);
		break;
	case STEP_STATS:
		for (unsigned i = 0; i < PROTO_STAT_SLOTS; i++)
			r->extra.server.counters[i] += m->counters[i];
		break;
	case STEP_PROBE:
		if (m->res.status == ST_OK)
			r->score[m->at] = m->score;
		break;
	default:
		break;
	}
}

void route_done(struct shard *s, struct msg *m)
{
	if (m->kind == MSG_STOCK_ASK) {
		exec_stock_back(s, m);
		return;
	}
	if (m->kind == MSG_UNRESERVE || m->req == NIL32) {
		msg_free(s, m);
		return;
	}
	struct req *r = &s->reqs[m->req];
	r->pending--;
	answered(r, m);
	if (r->pending) {
		msg_free(s, m);
		return;
	}
	/* follow-up messages are made before m is freed: a shard's pool
	 * never looks empty while a request is still moving (shutdown) */
	switch (r->step) {
	case STEP_RESERVE:
		if (m->res.status != ST_OK) {
			r->res = m->res;
			conn_reply(s, r);
			break;
		}
		r->reserved = true;
		hold_next(s, r);
		break;
	case STEP_PROBE:
		probed(s, r);
		break;
	case STEP_HOLD:
		hold_done(s, r, m);
		break;
	default:
		conn_reply(s, r);
	}
	msg_free(s, m);
}
