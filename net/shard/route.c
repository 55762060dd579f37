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
 * its core). A presale code's use counted at the code's owner
 * (MSG_CODE_TAKE) is given back likewise, and also when the hold was taken
 * on another node without the code (the public sale had begun there).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/inspect.h"
#include "net/shard/parts.h"

/* Hands r to the driver, which frees it once the reply is encoded: until
 * then (a client that does not read) it is no work of the node's. */
static void answer(struct node *nd, struct req *r)
{
	assert(!r->answered);
	r->answered = true;
	nd->reqs_answered++;
	nd->env.reply(nd->env.user, r);
}

/* Requests the node is working on: what load shedding weighs. */
static uint32_t working(const struct node *nd)
{
	return nd->reqs_used - nd->reqs_answered;
}

static void reply(struct node *nd, struct req *r)
{
	shed_answered(&nd->shed, nd->now_ms, working(nd), r->start_ms);
	answer(nd, r);
}

static void send_msg(struct node *nd, struct req *r, uint8_t kind, uint8_t to,
		     const struct cmd *cmd)
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

/* A query about the event to every shard; the answers are added up into
 * r->tally by answered(), then the step finishes. Callers check that n
 * messages are free. */
static void ask_every_shard(struct node *nd, struct req *r, uint8_t step, uint8_t type,
			    uint32_t event_id)
{
	struct cmd q = {.type = type};
	q.query.event_id = event_id;
	r->step = step;
	r->tally[0] = r->tally[1] = 0;
	for (uint32_t k = 0; k < nd->n; k++)
		send_msg(nd, r, MSG_EXEC, (uint8_t)k, &q);
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
	case CMD_Q_AVAILABILITY: sum_tiers(&a->avail, &b->avail); break;
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
	case CMD_Q_CUSTOMER: a->customer.units += b->customer.units; break;
	default: break;
	}
}

/* ---- holds ----------------------------------------------------------------------
 *
 * The follow-ups of a hold reuse the message that just came back (m), so a
 * hold under way never fails for want of a message and never leaves a
 * reservation or an in-flight key behind at the home node. */

static void hold_at(struct node *nd, struct req *r, uint8_t at, struct msg *m)
{
	pool_msg_reuse(nd, m);
	r->step = STEP_HOLD;
	r->exec_shard = at;
	m->kind = MSG_EXEC;
	m->req = node_req_index(nd, r);
	m->reserved = r->reserved;
	m->over_limit = r->over_limit;
	m->code_taken = r->code_index != PRESALE_CODE_NONE;
	m->code_over = r->code_over;
	m->code_check = at == r->code_owner && !r->code_asked;
	m->cmd = r->cmd;
	r->pending++;
	pool_send(nd, m, at);
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

/* The home node gives back what the request holds there: the units it
 * reserved unless they now count in a core there (st: the hold's answer),
 * and the in-flight mark of its key. Then r is answered. */
/* With several shards a low-stock alert is the tier's, not one allotment's:
 * when the hold left the tier low where it ran, the coordinator sums the
 * tier's free units over every shard and sets the bit only if this hold
 * took the tier below its threshold. No message free: no alert (the
 * tier's availability still shows low_stock). */
static void low_stock_check(struct node *nd, struct req *r, bool low_here)
{
	uint8_t tier = r->cmd.hold.tier;
	r->res.low_stock_tiers &= ~(1u << tier);
	if (!low_here || pool_msgs_free(nd) < nd->n) {
		reply(nd, r);
		return;
	}
	ask_every_shard(nd, r, STEP_LOW_STOCK, CMD_Q_AVAILABILITY, r->cmd.hold.event_id);
}

static void low_stock_summed(struct node *nd, struct req *r)
{
	uint32_t free_units = r->tally[0], t = r->tally[1];
	if (t && free_units < t && free_units + r->cmd.hold.qty >= t)
		r->res.low_stock_tiers |= 1u << r->cmd.hold.tier;
	reply(nd, r);
}

static void settle(struct node *nd, struct req *r, struct msg *m)
{
	const struct cmd_hold *h = &r->cmd.hold;
	uint8_t home = node_home(nd->n, h->customer_id);
	/* an outcome unknown may be on disk: its units and code use stay
	 * counted (the counts are rebuilt from what is durable at restart) */
	bool taken = (r->res.status == ST_OK && !r->res.replayed) ||
		     r->res.status == ST_OUTCOME_UNKNOWN;
	bool low_here = r->step == STEP_HOLD && r->low_here && r->res.status == ST_OK;
	uint8_t units = r->reserved && !(taken && r->exec_shard != home) ? h->qty : 0;
	/* the code's owner counted a use that no other node's core now has:
	 * the hold was not taken elsewhere, or was taken there without the
	 * code (the public sale had begun when it ran) */
	bool coded = r->res.status == ST_OUTCOME_UNKNOWN || r->res.hold.code_index == r->code_index;
	if (r->code_index != PRESALE_CODE_NONE &&
	    !(taken && r->exec_shard != r->code_owner && coded)) {
		bool alone = !units && !r->keyed;
		exec_code_give(nd, h->event_id, r->code_index, alone ? m : NULL);
		if (alone)
			m = NULL;
	}
	r->code_index = PRESALE_CODE_NONE;
	if (!m) {
		/* the code's message took m */
	} else if (units || r->keyed) {
		pool_msg_reuse(nd, m);
		m->kind = MSG_UNRESERVE;
		m->cmd = r->cmd;
		m->cmd.hold.qty = units;
		m->cmd.hold.idem_key = r->keyed ? h->idem_key : 0;
		pool_send(nd, m, home);
	} else {
		pool_msg_free(nd, m);
	}
	r->reserved = r->keyed = false;
	if (nd->n > 1 && r->res.status == ST_OK && !r->res.replayed)
		low_stock_check(nd, r, low_here);
	else
		reply(nd, r);
}

static void refuse_hold(struct node *nd, struct req *r, enum status st, struct msg *m)
{
	memset(&r->res, 0, sizeof r->res);
	r->res.status = st;
	settle(nd, r, m);
}

static void probe_all(struct node *nd, struct req *r, struct msg *m)
{
	if (pool_msgs_free(nd) < nd->n) {
		refuse_hold(nd, r, ST_OVERLOADED, m);
		return;
	}
	pool_msg_free(nd, m);
	r->step = STEP_PROBE;
	r->replay_at = NIL8;
	for (uint32_t k = 0; k < nd->n; k++) {
		r->score[k] = UINT32_MAX;
		send_msg(nd, r, MSG_PROBE, (uint8_t)k, &r->cmd);
	}
}

/* A hold with a presale code runs where the code's owner is, or has the
 * owner count its use first (MSG_CODE_TAKE). */
static bool code_first(struct node *nd, struct req *r, struct msg *m)
{
	if (r->code_owner == NIL8 || r->code_asked)
		return false;
	if (r->cmd.hold.mode != HOLD_BEST && r->exec_shard == r->code_owner)
		return false;
	pool_msg_reuse(nd, m);
	r->step = STEP_CODE;
	m->kind = MSG_CODE_TAKE;
	m->req = node_req_index(nd, r);
	m->cmd = r->cmd;
	r->pending++;
	pool_send(nd, m, r->code_owner);
	return true;
}

static void hold_next(struct node *nd, struct req *r, struct msg *m)
{
	if (code_first(nd, r, m))
		return;
	if (r->cmd.hold.mode != HOLD_BEST || nd->n == 1)
		hold_at(nd, r, r->exec_shard, m);
	else
		probe_all(nd, r, m);
}

/* The home node's answer to MSG_RESERVE. With an idempotency key a limit
 * refusal waits: a retry of a hold already taken must get that hold. */
static void reserved(struct node *nd, struct req *r, struct msg *m)
{
	enum status st = m->res.status;
	bool key = r->cmd.hold.idem_key != 0;
	if (st != ST_OK && !(st == ST_CUSTOMER_LIMIT && key)) {
		r->res = m->res;
		pool_msg_free(nd, m);
		reply(nd, r);
		return;
	}
	r->keyed = key && r->cmd.hold.mode == HOLD_BEST;
	r->over_limit = st == ST_CUSTOMER_LIMIT;
	r->reserved = st == ST_OK && exec_event_limit(nd, r->cmd.hold.event_id);
	hold_next(nd, r, m);
}

static void code_taken(struct node *nd, struct req *r, struct msg *m)
{
	r->code_asked = true;
	/* with an idempotency key an exhausted code waits: a retry of a hold
	 * taken with it must get that hold */
	if (m->res.status == ST_PRESALE_CODE_EXHAUSTED && r->cmd.hold.idem_key) {
		r->code_over = true;
		hold_next(nd, r, m);
		return;
	}
	if (m->res.status != ST_OK) {
		refuse_hold(nd, r, m->res.status, m);
		return;
	}
	r->code_index = (uint8_t)m->score;
	hold_next(nd, r, m);
}

static void hold_done(struct node *nd, struct req *r, struct msg *m)
{
	enum status st = m->res.status;
	if (r->cmd.hold.mode == HOLD_BEST && (st == ST_NO_ADJACENT_SEATS || st == ST_SOLD_OUT)) {
		int k = next_candidate(nd, r);
		if (k >= 0) {
			hold_at(nd, r, (uint8_t)k, m);
			return;
		}
	}
	take_result(r, &m->res);
	r->low_here = m->score; /* sell.c */
	settle(nd, r, m);
}

static void probed(struct node *nd, struct req *r, struct msg *m)
{
	if (r->replay_at != NIL8) { /* the key is there: its core answers the retry */
		hold_at(nd, r, r->replay_at, m);
		return;
	}
	if (r->over_limit || r->code_over) {
		refuse_hold(nd, r, r->over_limit ? ST_CUSTOMER_LIMIT : ST_PRESALE_CODE_EXHAUSTED,
			    m);
		return;
	}
	int k = next_candidate(nd, r);
	/* no shard has a block: the local core gives the right refusal (or,
	 * if seats came free meanwhile, the hold) */
	hold_at(nd, r, k >= 0 ? (uint8_t)k : nd->id, m);
}

static int hold_start(struct node *nd, struct req *r)
{
	struct cmd_hold *h = &r->cmd.hold;
	uint32_t n = nd->n;
	uint8_t home = h->customer_id ? node_home(nd->n, h->customer_id) : nd->id;
	bool shaped = h->qty >= 1 && h->qty <= HOLD_UNITS_MAX;

	r->exec_shard = nd->id;
	if (h->code_len && n > 1 && h->code_len <= PRESALE_CODE_BYTES_MAX)
		r->code_owner = exec_code_owner(nd,
						core_code_key(h->event_id, h->code, h->code_len));
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
	bool ask_home = exec_event_limit(nd, h->event_id) || (h->idem_key && h->mode == HOLD_BEST);
	if (shaped && h->customer_id && remote && ask_home) {
		r->step = STEP_RESERVE;
		send_msg(nd, r, MSG_RESERVE, home, &r->cmd);
		return 0;
	}
	hold_next(nd, r, pool_msg_alloc(nd)); /* route_request keeps n + 2 free */
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
		uint32_t seat_at = r->cmd.ticket.seat >> SEAT_SHARD_SHIFT;
		if (seat_at >= nd->n) { /* the ticket's node reads the rest (xchg.c) */
			fail(nd, r, ST_SEAT_UNKNOWN);
			return 0;
		}
	}
	send_msg(nd, r, MSG_EXEC, at, &r->cmd);
	return 0;
}

static int section_load(struct node *nd, struct req *r, const struct proto_section_buf *sec)
{
	r->big = pool_big_alloc(nd);
	if (!r->big)
		return -EAGAIN;
	static_assert(sizeof(struct proto_section_buf) <= PROTO_FRAME_BYTES_MAX,
		      "fits a big buffer");
	struct proto_section_buf *b = (struct proto_section_buf *)(void *)r->big;
	memcpy(b, sec, sizeof *b);
	r->cmd.section.rows = b->rows;
	r->cmd.section.seats = b->seats;
	return 0;
}

/* Units an admin command places: a GA tier's capacity, a section's seats. */
static uint32_t units_of(const struct cmd *c)
{
	uint32_t units = 0;
	if (c->type == CMD_TIER_ADD)
		return c->tier.kind == TIER_GA ? c->tier.capacity : 0;
	for (uint16_t i = 0; i < c->section.row_count && i < SECTION_ROWS_MAX; i++)
		units += c->section.rows[i].seat_count;
	return units;
}

/* TIER_ADD and SECTION_LOAD, once the event's home has room for them. */
static void place(struct node *nd, struct req *r)
{
	if (r->cmd.type == CMD_TIER_ADD) {
		r->step = STEP_BROADCAST;
		broadcast(nd, r, MSG_EXEC);
	} else {
		r->step = STEP_ONE;
		send_msg(nd, r, MSG_EXEC, (uint8_t)(r->cmd.section.section % nd->n), &r->cmd);
	}
}

/* With several nodes an event's units_max bounds the units placed on all of
 * them together: its home node (event_id % n) counts them. */
static void units_first(struct node *nd, struct req *r)
{
	uint32_t units = units_of(&r->cmd);
	if (nd->n == 1 || !units) {
		place(nd, r);
		return;
	}
	struct cmd c = {.type = r->cmd.type};
	c.tier.event_id = r->cmd.tier.event_id;
	c.tier.capacity = units;
	r->step = STEP_UNITS;
	r->units_asked = units;
	send_msg(nd, r, MSG_UNITS_TAKE, (uint8_t)(c.tier.event_id % nd->n), &c);
}

static void units_taken(struct node *nd, struct req *r, struct msg *m)
{
	if (m->res.status != ST_OK) {
		r->res = m->res;
		pool_msg_free(nd, m);
		reply(nd, r);
		return;
	}
	r->units_taken = true;
	pool_msg_free(nd, m);
	place(nd, r);
}

/* The answer of a placing command: the event's home learns what was placed. */
static void units_settle(struct node *nd, struct req *r, struct msg *m)
{
	uint32_t event_id = r->cmd.tier.event_id;
	pool_msg_reuse(nd, m);
	m->kind = MSG_UNITS_GIVE;
	m->cmd.type = r->cmd.type;
	m->cmd.tier.event_id = event_id;
	m->cmd.tier.capacity = r->units_asked;
	m->score = r->units_placed;
	r->units_taken = false;
	pool_send(nd, m, (uint8_t)(event_id % nd->n));
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

/* EVENT_RETIRE asks every shard about the event first and retires it only
 * when all have it closed with no live hold, so one shard's refusal does
 * not leave the others retired (a closed event takes no new hold; a
 * transfer still pending can still refuse one shard: a retry finishes). */
static void retire_check(struct node *nd, struct req *r)
{
	ask_every_shard(nd, r, STEP_RETIRE_CHECK, CMD_Q_EVENT, r->cmd.query.event_id);
}

static void retire_checked(struct node *nd, struct req *r)
{
	/* in core's order (core/retire.c): what to change first is said first */
	enum status st = r->have_res                  ? r->res.status
			 : r->tally[1]                ? ST_EVENT_NOT_CLOSED
			 : r->tally[0]                ? ST_EVENT_HOLDS_LIVE
			 : pool_msgs_free(nd) < nd->n ? ST_OVERLOADED
						      : ST_OK;
	if (st != ST_OK) {
		memset(&r->res, 0, sizeof r->res);
		r->res.status = st;
		reply(nd, r);
		return;
	}
	r->step = STEP_BROADCAST;
	broadcast(nd, r, MSG_EXEC);
}

static int core_request(struct node *nd, struct req *r, const struct proto_section_buf *sec)
{
	switch (r->cmd.type) {
	case CMD_TIER_ADD: units_first(nd, r); return 0;
	case CMD_EVENT_RETIRE: retire_check(nd, r); return 0;
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE:
	case CMD_PRESALE_CODE_ADD:
		r->step = STEP_BROADCAST;
		broadcast(nd, r, MSG_EXEC);
		return 0;
	case CMD_Q_EVENT:
	case CMD_Q_AVAILABILITY:
	case CMD_Q_STATS:
	case CMD_Q_CUSTOMER:
		r->step = STEP_SUM;
		broadcast(nd, r, MSG_EXEC);
		return 0;
	case CMD_SECTION_LOAD: {
		int rc = section_load(nd, r, sec);
		if (!rc)
			units_first(nd, r);
		return rc;
	}
	case CMD_HOLD: return hold_start(nd, r);
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_CONFIRM:
	case CMD_Q_HOLD:
	case CMD_Q_ORDER: return by_id(nd, r, r->cmd.ref.hold_id, ST_HOLD_UNKNOWN);
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE:
	case CMD_Q_TICKET: return by_id(nd, r, r->cmd.ticket.ticket_id, ST_TICKET_UNKNOWN);
	case CMD_Q_REVOKED: /* the shard it names, as a ticket id names its shard */
		return by_id(nd, r,
			     (uint64_t)(r->cmd.revoked.shard < 256 ? r->cmd.revoked.shard : 255)
				     << ID_SHARD_SHIFT,
			     ST_BAD_ARGUMENT);
	default: fail(nd, r, ST_BAD_COMMAND); return 0;
	}
}

int route_request(struct node *nd, uint32_t conn, uint32_t conn_gen, const struct proto_request *pr,
		  const struct proto_section_buf *sec, uint64_t arrived_ms)
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
	r->start_ms = arrived_ms < nd->now_ms ? arrived_ms : nd->now_ms;
	if (shed_refuse(&nd->shed, nd->now_ms, working(nd) - 1, pr->opcode)) {
		nd->ctr.requests_shed++;
		memset(&r->res, 0, sizeof r->res);
		r->res.status = ST_OVERLOADED;
		answer(nd, r); /* not a queue-delay sample */
		return 0;
	}
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
	if (m->res.status == ST_OK && m->kind == MSG_EXEC && r->units_asked)
		r->units_placed += m->cmd.type == CMD_TIER_ADD ? m->cmd.tier.capacity
							       : m->res.section.seat_count;
	switch (r->step) {
	case STEP_ONE: take_result(r, &m->res); break;
	case STEP_BROADCAST:
		if (!r->have_res || (r->res.status == ST_OK && m->res.status != ST_OK)) {
			r->res = m->res;
			r->have_res = true;
		}
		break;
	case STEP_SUM: sum(r, &m->res); break;
	case STEP_STATS:
		for (unsigned i = 0; i < PROTO_STAT_SLOTS; i++)
			r->extra.server.counters[i] += m->counters[i];
		break;
	case STEP_RETIRE_CHECK:
		if (m->res.status != ST_OK && !r->have_res) {
			r->res.status = m->res.status; /* the first refusal */
			r->have_res = true;
		} else if (m->res.status == ST_OK) {
			r->tally[0] += m->res.event.live_holds;
			r->tally[1] += m->res.event.event.state != EVENT_CLOSED;
		}
		break;
	case STEP_LOW_STOCK:
		if (m->res.status == ST_OK && r->cmd.hold.tier < TIERS_MAX) {
			const struct tier_view *t = &m->res.avail.tiers[r->cmd.hold.tier];
			r->tally[0] += t->free;
			r->tally[1] = t->low_stock_threshold;
		}
		break;
	case STEP_PROBE:
		if (m->res.status == ST_OK && m->res.replayed)
			r->replay_at = m->at;
		else if (m->res.status == ST_OK)
			r->score[m->at] = m->score;
		break;
	default: break;
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
	/* follow-ups reuse m: a shard's pool never looks empty while a
	 * request is still moving (shutdown), and they cannot fail */
	switch (r->step) {
	case STEP_RESERVE: reserved(nd, r, m); break;
	case STEP_PROBE: probed(nd, r, m); break;
	case STEP_CODE: code_taken(nd, r, m); break;
	case STEP_UNITS: units_taken(nd, r, m); break;
	case STEP_LOW_STOCK:
		pool_msg_free(nd, m);
		low_stock_summed(nd, r);
		break;
	case STEP_RETIRE_CHECK:
		pool_msg_free(nd, m);
		retire_checked(nd, r);
		break;
	case STEP_HOLD: hold_done(nd, r, m); break;
	default:
		if (r->units_taken)
			units_settle(nd, r, m);
		else
			pool_msg_free(nd, m);
		reply(nd, r);
	}
}
