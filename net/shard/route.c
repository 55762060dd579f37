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

#include "net/shard/parts.h"

static void reply(struct node *nd, struct req *r)
{
	nd->env.reply(nd->env.user, r);
}

static void send_msg(struct node *nd, struct req *r, uint8_t kind, uint8_t to, const struct cmd *cmd)
{
	struct msg *m = pool_msg_alloc(nd);
	assert(m); /* callers check msgs_free first */
	m->kind = kind;
	m->req = node_req_index(nd, r);
	m->cmd = *cmd;
	m->big = r->big;
	r->pending++;
	pool_send(nd, m, to);
}

/* An answer into the request: the result's head and the view its reply
 * packs, not the whole 1.3 KB result. */
static void take_result(struct req *r, const struct result *res)
{
	memcpy(&r->res, res, exec_result_bytes(r->opcode));
}

static void fail(struct node *nd, struct req *r, enum status st)
{
	memset(&r->res, 0, sizeof r->res);
	r->res.status = st;
	reply(nd, r);
}

/* ---- admin and queries over every shard ------------------------------------- */

static void broadcast(struct node *nd, struct req *r, uint8_t kind)
{
	uint32_t n = nd->n;
	for (uint32_t k = 0; k < n; k++) {
		struct cmd c = r->cmd;
		if (c.type == CMD_TIER_ADD && c.tier.kind == TIER_GA) /* allotments */
			c.tier.capacity = c.tier.capacity / n + (k < c.tier.capacity % n);
		if (c.type == CMD_PRESALE_CODE_ADD && c.code.use_limit) /* at least 1 each */
			c.code.use_limit = (c.code.use_limit + n - 1) / n;
		send_msg(nd, r, kind, (uint8_t)k, &c);
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

static void hold_at(struct node *nd, struct req *r, uint8_t at)
{
	struct msg *m = pool_msg_alloc(nd);
	if (!m) {
		fail(nd, r, ST_OVERLOADED); /* a reservation stays counted; see docs */
		return;
	}
	r->step = STEP_HOLD;
	r->exec_shard = at;
	m->kind = MSG_EXEC;
	m->req = node_req_index(nd, r);
	m->reserved = r->reserved;
	m->cmd = r->cmd;
	r->pending++;
	pool_send(nd, m, at);
}

static void probe_all(struct node *nd, struct req *r)
{
	if (pool_msgs_free(nd) < nd->n) {
		fail(nd, r, ST_OVERLOADED);
		return;
	}
	r->step = STEP_PROBE;
	for (uint32_t k = 0; k < nd->n; k++) {
		r->score[k] = UINT32_MAX;
		send_msg(nd, r, MSG_PROBE, (uint8_t)k, &r->cmd);
	}
}

/* Best-available: the untried shard with the best score, if any. */
static int next_candidate(struct node *nd, struct req *r)
{
	int best = -1;
	for (uint32_t k = 0; k < nd->n; k++)
		if (r->score[k] != UINT32_MAX && (best < 0 || r->score[k] < r->score[best]))
			best = (int)k;
	if (best >= 0)
		r->score[best] = UINT32_MAX;
	return best;
}

static void unreserve(struct node *nd, struct req *r)
{
	const struct cmd_hold *h = &r->cmd.hold;
	struct msg *u = pool_msg_alloc(nd);
	r->reserved = false;
	if (!u) {
		fprintf(stderr, "onsaled: shard %u: message pool empty, customer count of %llu "
				"stays high until restart\n", nd->id, (unsigned long long)h->customer_id);
		return;
	}
	u->kind = MSG_UNRESERVE;
	u->cmd = r->cmd;
	pool_send(nd, u, node_home(nd->n, h->customer_id));
}

static void hold_next(struct node *nd, struct req *r)
{
	if (r->cmd.hold.mode != HOLD_BEST || nd->n == 1) {
		hold_at(nd, r, r->exec_shard);
		return;
	}
	probe_all(nd, r);
}

static void hold_done(struct node *nd, struct req *r, const struct msg *m)
{
	enum status st = m->res.status;
	if (r->cmd.hold.mode == HOLD_BEST && (st == ST_NO_ADJACENT_SEATS || st == ST_SOLD_OUT)) {
		int k = next_candidate(nd, r);
		if (k >= 0) {
			hold_at(nd, r, (uint8_t)k);
			return;
		}
	}
	take_result(r, &m->res);
	if (r->reserved && (st != ST_OK || r->res.replayed ||
			    r->exec_shard == node_home(nd->n, r->cmd.hold.customer_id)))
		unreserve(nd, r);
	reply(nd, r);
}

static void probed(struct node *nd, struct req *r)
{
	int k = next_candidate(nd, r);
	/* no shard has a block: the local core gives the right refusal (or,
	 * if seats came free meanwhile, the hold) */
	hold_at(nd, r, k >= 0 ? (uint8_t)k : nd->id);
}

static int hold_start(struct node *nd, struct req *r)
{
	struct cmd_hold *h = &r->cmd.hold;
	uint32_t n = nd->n;
	uint8_t home = h->customer_id ? node_home(nd->n, h->customer_id) : nd->id;
	bool shaped = h->qty >= 1 && h->qty <= HOLD_UNITS_MAX;

	r->exec_shard = nd->id;
	if (h->mode == HOLD_GA) {
		r->exec_shard = home;
	} else if (h->mode == HOLD_SEATS && shaped) {
		uint32_t at = h->seats[0] >> SEAT_SHARD_SHIFT;
		for (unsigned i = 0; i < h->qty; i++) {
			if ((h->seats[i] >> SEAT_SHARD_SHIFT) >= n)
				return fail(nd, r, ST_SEAT_UNKNOWN), 0;
			if ((h->seats[i] >> SEAT_SHARD_SHIFT) != at)
				return fail(nd, r, ST_BAD_ARGUMENT), 0;
			h->seats[i] &= SEAT_LOCAL_MASK;
		}
		r->exec_shard = (uint8_t)at;
	}
	bool remote = (h->mode == HOLD_SEATS && r->exec_shard != home) ||
		      (h->mode == HOLD_BEST && n > 1);
	if (shaped && h->customer_id && remote && exec_event_limit(nd, h->event_id)) {
		r->step = STEP_RESERVE;
		send_msg(nd, r, MSG_RESERVE, home, &r->cmd);
		return 0;
	}
	hold_next(nd, r);
	return 0;
}

/* ---- requests in -------------------------------------------------------------- */

static int by_id(struct node *nd, struct req *r, uint64_t id, enum status unknown)
{
	uint8_t at = (uint8_t)(id >> ID_SHARD_SHIFT);
	if (at >= nd->n) {
		fail(nd, r, unknown);
		return 0;
	}
	if (r->cmd.type == CMD_EXCHANGE && r->cmd.ticket.seat != SEAT_NONE) {
		if ((r->cmd.ticket.seat >> SEAT_SHARD_SHIFT) != at) {
			fail(nd, r, ST_SEAT_UNAVAILABLE); /* exchanges stay on one shard */
			return 0;
		}
		r->cmd.ticket.seat &= SEAT_LOCAL_MASK;
	}
	send_msg(nd, r, MSG_EXEC, at, &r->cmd);
	return 0;
}

static int section_load(struct node *nd, struct req *r, const struct proto_section_buf *sec)
{
	r->big = pool_big_alloc(nd);
	if (!r->big)
		return -EAGAIN;
	static_assert(sizeof(struct proto_section_buf) <= PROTO_FRAME_BYTES_MAX, "fits a big buffer");
	struct proto_section_buf *b = (struct proto_section_buf *)(void *)r->big;
	memcpy(b, sec, sizeof *b);
	r->cmd.section.rows = b->rows;
	r->cmd.section.seats = b->seats;
	send_msg(nd, r, MSG_EXEC, (uint8_t)(r->cmd.section.section % nd->n), &r->cmd);
	return 0;
}

static int section_seats(struct node *nd, struct req *r, const struct proto_seats_query *q)
{
	r->big = pool_big_alloc(nd);
	if (!r->big)
		return -EAGAIN;
	struct msg *m = pool_msg_alloc(nd);
	m->kind = MSG_SEATS;
	m->req = node_req_index(nd, r);
	m->big = r->big;
	m->score = q->section;
	m->cmd.query.event_id = q->event_id;
	r->pending++;
	pool_send(nd, m, (uint8_t)(q->section % nd->n));
	return 0;
}

static int core_request(struct node *nd, struct req *r, const struct proto_section_buf *sec)
{
	switch (r->cmd.type) {
	case CMD_EVENT_CREATE: case CMD_EVENT_UPDATE: case CMD_TIER_ADD: case CMD_PRESALE_CODE_ADD:
		r->step = STEP_BROADCAST;
		broadcast(nd, r, MSG_EXEC);
		return 0;
	case CMD_Q_EVENT: case CMD_Q_AVAILABILITY: case CMD_Q_STATS: case CMD_Q_CUSTOMER:
		r->step = STEP_SUM;
		broadcast(nd, r, MSG_EXEC);
		return 0;
	case CMD_SECTION_LOAD:
		return section_load(nd, r, sec);
	case CMD_HOLD:
		return hold_start(nd, r);
	case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		return by_id(nd, r, r->cmd.ref.hold_id, ST_HOLD_UNKNOWN);
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		return by_id(nd, r, r->cmd.ticket.ticket_id, ST_TICKET_UNKNOWN);
	default:
		fail(nd, r, ST_BAD_COMMAND);
		return 0;
	}
}

int route_request(struct node *nd, uint32_t conn, uint32_t conn_gen,
		  const struct proto_request *pr, const struct proto_section_buf *sec)
{
	if (pool_msgs_free(nd) < nd->n + 2)
		return -EAGAIN;
	struct req *r = pool_req_alloc(nd);
	if (!r)
		return -EAGAIN;
	r->conn = conn;
	r->conn_gen = conn_gen;
	r->request_id = pr->request_id;
	r->opcode = pr->opcode;
	int rc;
	if (pr->opcode == PROTO_OP_STATS) {
		r->step = STEP_STATS;
		memset(&r->extra, 0, sizeof r->extra);
		broadcast(nd, r, MSG_STATS);
		rc = 0;
	} else if (pr->opcode == PROTO_OP_Q_SECTION_SEATS) {
		rc = section_seats(nd, r, &pr->seats);
	} else {
		r->cmd = pr->cmd;
		rc = core_request(nd, r, sec);
	}
	if (rc) /* nothing was sent */
		node_req_free(nd, r);
	return rc;
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

void route_done(struct node *nd, struct msg *m)
{
	assert(m->back && m->owner == nd->id);
	if (m->kind == MSG_UNRESERVE || m->req == NIL32) {
		pool_msg_free(nd, m);
		return;
	}
	struct req *r = node_req(nd, m->req);
	r->pending--;
	answered(r, m);
	if (r->pending) {
		pool_msg_free(nd, m);
		return;
	}
	/* follow-up messages are made before m is freed: a shard's pool
	 * never looks empty while a request is still moving (shutdown) */
	switch (r->step) {
	case STEP_RESERVE:
		if (m->res.status != ST_OK) {
			r->res = m->res;
			reply(nd, r);
			break;
		}
		r->reserved = true;
		hold_next(nd, r);
		break;
	case STEP_PROBE:
		probed(nd, r);
		break;
	case STEP_HOLD:
		hold_done(nd, r, m);
		break;
	default:
		reply(nd, r);
	}
	pool_msg_free(nd, m);
}
