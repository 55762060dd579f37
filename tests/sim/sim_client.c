/*
 * sim_client.c — the simulated clients (model in sim_server.h): the admin
 * setup, a seeded stream of sales requests to random nodes, and what came
 * back for each. A request's answer is what the platform would have seen:
 * status OK means acknowledged, and an acknowledgement leaves a node only
 * once what it shows is durable, so every later check may hold the server
 * to it. Requests without an answer when the process dies are lost: they
 * may or may not have happened, and a retry with the same key finds out.
 *
 * Follow-ups use only what was acknowledged: confirms and releases of held
 * holds, refunds and redemptions of issued tickets. Retries send an earlier
 * hold (same idempotency key) or confirm (same hold id) again, to any node.
 */
#include "tests/sim/sim_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "net/proto/proto.h"

#define T0_MS 1800000000000ull /* the clock at the start (sim_server.c) */
#define T_SALES_END_MS (T0_MS + 30ull * 86400000ull)
#define SETUP_SETTLE_ROUNDS 200

/* ---- requests out and answers in ---------------------------------------------------- */

static struct proto_section_buf section_buf; /* node_request copies it */
static struct sim_event *event_of(struct sim *s, uint32_t event_id);
static void section_loaded(struct sim *s, const struct cmd *c, const struct result *res);

/* A request in a trace line (static buffer: one at a time). */
static const char *describe(const struct cmd *c)
{
	static char line[160];
	static const char *modes[] = {"GA", "seats", "best"};
	if (c->type == CMD_HOLD)
		snprintf(line, sizeof line,
			 "hold %s event %u qty %u customer %" PRIu64 " key %" PRIu64
			 " seat0 %08x code '%.*s'",
			 modes[c->hold.mode % 3], c->hold.event_id, c->hold.qty,
			 c->hold.customer_id, c->hold.idem_key, c->hold.seats[0], c->hold.code_len,
			 c->hold.code);
	else
		snprintf(line, sizeof line, "cmd %u hold/ticket %016" PRIx64, c->type,
			 c->type >= CMD_REDEEM && c->type <= CMD_EXCHANGE ? c->ticket.ticket_id
									  : c->ref.hold_id);
	return line;
}

static uint32_t send_req(struct sim *s, uint8_t at, const struct cmd *cmd, uint32_t first,
			 const struct proto_section_buf *sec)
{
	if (s->reqs_used == SIM_REQS_MAX)
		return NIL32;
	uint32_t i = s->reqs_used;
	struct sim_req *e = &s->reqs[i];
	memset(e, 0, offsetof(struct sim_req, res));
	e->cmd = *cmd;
	e->first = first;
	e->at = at;
	e->step = s->step;
	e->state = SIM_REQ_WAITING; /* a refusal may answer before node_request returns */
	s->reqs_used++;
	sim_trace(s, "request %u to node %u: %s\n", i, at, describe(cmd));
	struct proto_request pr = {.request_id = i, .opcode = proto_op_of_cmd(cmd->type)};
	pr.cmd = *cmd;
	int rc = node_request(&s->node[at], i, s->epoch, &pr, sec);
	if (rc == -EAGAIN) {
		e->state = SIM_REQ_BUSY;
		s->stats->busy++;
		return NIL32;
	}
	if (rc)
		sim_fail(s, "node_request: %s", strerror(-rc));
	s->stats->requests++;
	return i;
}

uint32_t sim_send(struct sim *s, uint8_t at, const struct cmd *cmd)
{
	return send_req(s, at, cmd, NIL32, NULL);
}

void sim_on_reply(void *ctx, struct req *r)
{
	struct sim_node_ctx *c = ctx;
	struct sim *s = c->sim;
	uint32_t i = r->conn;
	if (r->conn_gen != s->epoch || i >= s->reqs_used) {
		sim_fail(s, "node %u answered a request it never had (%u)", c->id, i);
	} else if (s->reqs[i].state != SIM_REQ_WAITING) {
		sim_fail(s, "request %u answered twice", i);
	} else {
		s->reqs[i].res = r->res;
		sim_trace(s, "answer %u from node %u: %s hold %016" PRIx64 " qty %u\n", i, c->id,
			  status_name(r->res.status), r->res.hold.hold_id, r->res.hold.qty);
		s->reqs[i].state = SIM_REQ_ANSWERED;
		s->reqs[i].answered_step = s->step;
		s->stats->answered++;
		s->stats->acked += r->res.status == ST_OK;
		if (r->res.status == ST_OK && s->reqs[i].cmd.type == CMD_SECTION_LOAD)
			section_loaded(s, &s->reqs[i].cmd, &r->res);
		sim_check_answer(s, i);
	}
	node_req_free(&s->node[c->id], r);
}

void sim_client_crash(struct sim *s)
{
	for (uint32_t i = 0; i < s->reqs_used; i++)
		if (s->reqs[i].state == SIM_REQ_WAITING)
			s->reqs[i].state = SIM_REQ_LOST;
}

/* ---- the admin setup ------------------------------------------------------------------- */

/* One admin request, settled until answered; false unless OK. */
static bool admin(struct sim *s, const struct cmd *cmd, const struct proto_section_buf *sec,
		  struct result *res)
{
	uint32_t i = send_req(s, (uint8_t)sim_below(s, s->n), cmd, NIL32, sec);
	if (i == NIL32)
		return sim_fail(s, "setup request refused as busy"), false;
	sim_settle(s, SETUP_SETTLE_ROUNDS);
	if (s->reqs[i].state != SIM_REQ_ANSWERED || s->reqs[i].res.status != ST_OK) {
		sim_fail(s, "setup command %u: %s", cmd->type,
			 s->reqs[i].state == SIM_REQ_ANSWERED ? status_name(s->reqs[i].res.status)
							      : "no answer");
		return false;
	}
	if (res)
		*res = s->reqs[i].res;
	return true;
}

/* A section of 3 to 24 seats of tier 1 into *c and sec. */
static void section_cmd(struct sim *s, const struct sim_event *ev, uint16_t idx, struct cmd *c,
			struct proto_section_buf *sec)
{
	uint16_t rows = (uint16_t)(1 + sim_below(s, 3)), per_row = (uint16_t)(3 + sim_below(s, 6));
	memset(c, 0, sizeof *c);
	c->type = CMD_SECTION_LOAD;
	c->section.event_id = ev->event_id;
	c->section.section = idx;
	c->section.row_count = rows;
	snprintf(c->section.name, sizeof c->section.name, "S%u", idx);
	memset(sec, 0, sizeof *sec);
	for (uint16_t r = 0; r < rows; r++) {
		sec->rows[r].label[0] = (char)('A' + r);
		sec->rows[r].seat_count = per_row;
		sec->rows[r].first_number = 1;
		for (uint16_t k = 0; k < per_row; k++) {
			struct seat_spec *st = &sec->seats[r * per_row + k];
			st->tier = 1;
			st->rank = (uint16_t)(sim_below(s, 4) * 100 + r * 10 + k);
		}
	}
}

/* A section load was acknowledged: its seats may be held now. */
static void section_loaded(struct sim *s, const struct cmd *c, const struct result *res)
{
	struct sim_event *ev = event_of(s, c->section.event_id);
	ev->seat_first[c->section.section] = (uint32_t)res->section.seat_first;
	ev->section_seats[c->section.section] = (uint16_t)res->section.seat_count;
}

static bool load_section(struct sim *s, struct sim_event *ev, uint16_t idx)
{
	struct cmd c;
	section_cmd(s, ev, idx, &c, &section_buf);
	return admin(s, &c, &section_buf, NULL);
}

static bool create_event(struct sim *s, struct sim_event *ev)
{
	struct cmd c = {.type = CMD_EVENT_CREATE};
	c.event.event_id = ev->event_id;
	c.event.state = EVENT_ON_SALE;
	c.event.customer_limit = ev->limit;
	c.event.hold_ttl_ms = (uint32_t)(HOLD_TTL_MS_MIN + sim_below(s, 30000));
	/* room for the setup's sections and a few more loaded while selling */
	c.event.units_max = ev->ga_capacity + ev->sections * 24u + (uint32_t)sim_below(s, 40);
	c.event.starts_at_ms = c.event.sales_end_ms = T_SALES_END_MS;
	c.event.presale_start_ms = 1;
	/* with codes, the first minutes of the run are a presale */
	c.event.public_start_ms = ev->codes ? T0_MS + 20000 + sim_below(s, 300000) : 2;
	ev->public_start_ms = c.event.public_start_ms;
	snprintf(c.event.name, sizeof c.event.name, "Sim %u", ev->event_id);
	if (!admin(s, &c, NULL, NULL))
		return false;
	for (uint8_t t = 0; t < 2; t++) {
		struct cmd ta = {.type = CMD_TIER_ADD};
		ta.tier.event_id = ev->event_id;
		ta.tier.tier = t;
		ta.tier.kind = t ? TIER_RESERVED : TIER_GA;
		ta.tier.capacity = t ? 0 : ev->ga_capacity;
		ta.tier.price_minor = ev->price_minor[t];
		if (!admin(s, &ta, NULL, NULL))
			return false;
	}
	for (uint8_t i = 0; i < ev->codes; i++) {
		struct cmd pc = {.type = CMD_PRESALE_CODE_ADD};
		pc.code.event_id = ev->event_id;
		pc.code.use_limit = ev->code_use_limit;
		pc.code.code_len = (uint8_t)snprintf(pc.code.code, sizeof pc.code.code, "code%u",
						     i);
		if (!admin(s, &pc, NULL, NULL))
			return false;
	}
	for (uint16_t i = 0; i < ev->sections; i++)
		if (!load_section(s, ev, i))
			return false;
	return true;
}

bool sim_client_setup(struct sim *s)
{
	s->events = sim_below(s, 3) ? 1 : SIM_EVENTS; /* each costs every restart its tables */
	for (uint32_t e = 0; e < s->events; e++) {
		struct sim_event *ev = &s->ev[e];
		ev->event_id = 100 + e;
		ev->limit = sim_below(s, 3) ? (uint16_t)(3 + sim_below(s, 6)) : 0;
		ev->ga_capacity = (uint32_t)(s->n + sim_below(s, sim_below(s, 2) ? 40 : 150));
		ev->price_minor[0] = 1000 + 100 * e;
		ev->price_minor[1] = 5000 + 100 * e;
		ev->sections = (uint8_t)(1 + sim_below(s, SIM_SECTIONS_MAX));
		ev->codes = sim_below(s, 3) ? 0 : (uint8_t)(1 + sim_below(s, 2));
		ev->code_use_limit = (uint32_t)(1 + sim_below(s, 6));
		if (!create_event(s, ev))
			return false;
	}
	return true;
}

/* ---- picking what the clients know ----------------------------------------------------- */

/* A random answered request of type `type` (OK answers only when ok). */
static uint32_t pick(struct sim *s, uint8_t type, bool ok, bool with_key)
{
	uint32_t found = NIL32, seen = 0;
	for (uint32_t i = 0; i < s->reqs_used; i++) {
		const struct sim_req *e = &s->reqs[i];
		if (e->cmd.type != type || e->state == SIM_REQ_BUSY || e->first != NIL32)
			continue;
		if (ok && (e->state != SIM_REQ_ANSWERED || e->res.status != ST_OK))
			continue;
		if (with_key && !e->cmd.hold.idem_key)
			continue;
		if (sim_below(s, ++seen) == 0)
			found = i;
	}
	return found;
}

static struct sim_event *event_of(struct sim *s, uint32_t event_id)
{
	for (uint32_t e = 0; e < s->events; e++)
		if (s->ev[e].event_id == event_id)
			return &s->ev[e];
	return &s->ev[0];
}

/* ---- requests ----------------------------------------------------------------------------- */

static void hold(struct sim *s, struct cmd *c, struct sim_event *ev, uint8_t mode)
{
	struct cmd_hold *h = &c->hold;
	c->type = CMD_HOLD;
	h->event_id = ev->event_id;
	h->mode = mode;
	h->tier = mode == HOLD_GA ? 0 : 1;
	h->qty = (uint8_t)(1 + sim_below(s, 4));
	h->channel = (uint8_t)sim_below(s, CHANNELS);
	h->customer_id = SIM_CUSTOMER_BASE + sim_below(s, SIM_CUSTOMERS);
	h->idem_key = sim_below(s, 4) ? ++s->next_idem_key * 7919 : 0;
	if (ev->codes && sim_below(s, 4)) /* now and then a code that does not exist */
		h->code_len = (uint8_t)snprintf(h->code, sizeof h->code, "code%u",
						(unsigned)sim_below(s, ev->codes + 1u));
	if (mode != HOLD_SEATS)
		return;
	uint32_t sec = (uint32_t)sim_below(s, SIM_SECTIONS_MAX);
	while (!ev->section_seats[sec]) /* section 0 is always there */
		sec = (sec + 1) % SIM_SECTIONS_MAX;
	uint32_t seats = ev->section_seats[sec];
	h->qty = (uint8_t)(1 + sim_below(s, seats < 3 ? seats : 3));
	uint32_t off = (uint32_t)sim_below(s, seats - h->qty + 1u);
	for (unsigned i = 0; i < h->qty; i++)
		h->seats[i] = ev->seat_first[sec] + off + i;
}

/* Confirm, release or query of an acknowledged hold. */
static bool hold_ref(struct sim *s, struct cmd *c, uint8_t type)
{
	uint32_t i = pick(s, CMD_HOLD, true, false);
	if (i == NIL32)
		return false;
	const struct hold_view *h = &s->reqs[i].res.hold;
	c->type = type;
	c->ref.event_id = h->event_id;
	c->ref.hold_id = h->hold_id;
	c->ref.amount_minor = event_of(s, h->event_id)->price_minor[h->tier] * h->qty;
	if (sim_below(s, 10) == 0)
		c->ref.amount_minor += 1; /* the platform got the amount wrong */
	snprintf(c->ref.payment_ref, sizeof c->ref.payment_ref, "pay-%u", i);
	return true;
}

/* Refund or redemption of a ticket of an acknowledged confirm. */
static bool ticket_ref(struct sim *s, struct cmd *c, uint8_t type)
{
	uint32_t i = pick(s, CMD_CONFIRM, true, false);
	if (i == NIL32)
		return false;
	const struct hold_view *h = &s->reqs[i].res.hold;
	c->type = type;
	c->ticket.event_id = h->event_id;
	c->ticket.ticket_id = h->first_ticket_id + sim_below(s, h->qty);
	c->ticket.gate_id = 1 + (uint32_t)sim_below(s, 4);
	c->ticket.kill = type == CMD_REFUND && sim_below(s, 8) == 0;
	c->ticket.tier = (uint8_t)sim_below(s, 2); /* exchange: GA or best seats of tier 1 */
	c->ticket.seat = SEAT_NONE;
	if (type == CMD_EXCHANGE && sim_below(s, 2)) { /* a named seat, on any node */
		const struct sim_event *ev = event_of(s, h->event_id);
		uint32_t sec = (uint32_t)sim_below(s, SIM_SECTIONS_MAX);
		/* mostly another node's: the exchange that takes three steps */
		bool away = sim_below(s, 4) != 0;
		for (uint32_t k = 0; k < SIM_SECTIONS_MAX; k++, sec = (sec + 1) % SIM_SECTIONS_MAX)
			if (ev->section_seats[sec] &&
			    (!away || ev->seat_first[sec] >> SEAT_SHARD_SHIFT !=
					      h->hold_id >> ID_SHARD_SHIFT))
				break;
		while (!ev->section_seats[sec]) /* section 0 is always there */
			sec = (sec + 1) % SIM_SECTIONS_MAX;
		c->ticket.tier = 1;
		c->ticket.seat = ev->seat_first[sec] +
				 (uint32_t)sim_below(s, ev->section_seats[sec]);
	}
	return true;
}

static void query(struct sim *s, struct cmd *c, struct sim_event *ev)
{
	if (sim_below(s, 2) && hold_ref(s, c, CMD_Q_HOLD))
		return;
	c->type = sim_below(s, 2) ? CMD_Q_AVAILABILITY : CMD_Q_CUSTOMER;
	c->query.event_id = ev->event_id;
	c->query.customer_id = SIM_CUSTOMER_BASE + sim_below(s, SIM_CUSTOMERS);
}

/* Admin while selling: a section not acknowledged yet (may be past the
 * event's units_max: event_full; may exist already: section_exists). */
static bool more_seats(struct sim *s, struct cmd *c, struct sim_event *ev)
{
	uint16_t idx = (uint16_t)sim_below(s, SIM_SECTIONS_MAX);
	if (ev->section_seats[idx])
		return false;
	section_cmd(s, ev, idx, c, &section_buf);
	return true;
}

/* The same request again (same key, same hold or ticket id), to any node. */
/* An acknowledged exchange whose new ticket is on another node, or NIL32. */
static uint32_t pick_exchange_away(struct sim *s)
{
	uint32_t found = NIL32, seen = 0;
	for (uint32_t i = 0; i < s->reqs_used; i++) {
		const struct sim_req *e = &s->reqs[i];
		if (e->cmd.type == CMD_EXCHANGE && e->first == NIL32 &&
		    e->state == SIM_REQ_ANSWERED && e->res.status == ST_OK &&
		    e->res.ticket.ticket_id >> ID_SHARD_SHIFT !=
			    e->cmd.ticket.ticket_id >> ID_SHARD_SHIFT &&
		    sim_below(s, ++seen) == 0)
			found = i;
	}
	return found;
}

static void retry(struct sim *s, uint8_t type, uint8_t at)
{
	/* an exchange again: one that was done (else it is seldom a repeat),
	 * mostly one that took three steps */
	uint32_t i = type == CMD_EXCHANGE && sim_below(s, 2) ? pick_exchange_away(s) : NIL32;
	if (i == NIL32)
		i = pick(s, type, type == CMD_EXCHANGE, type == CMD_HOLD);
	if (i != NIL32)
		send_req(s, at, &s->reqs[i].cmd, i, NULL);
}

void sim_client_step(struct sim *s)
{
	struct cmd c;
	struct sim_event *ev = &s->ev[sim_below(s, s->events)];
	uint8_t at = (uint8_t)sim_below(s, s->n);
	uint64_t r = sim_below(s, 100);
	bool have = true;
	memset(&c, 0, sizeof c);
	if (r < 22)
		hold(s, &c, ev, HOLD_GA);
	else if (r < 32)
		hold(s, &c, ev, HOLD_SEATS);
	else if (r < 46)
		hold(s, &c, ev, HOLD_BEST);
	else if (r < 62)
		have = hold_ref(s, &c, CMD_CONFIRM);
	else if (r < 69)
		have = hold_ref(s, &c, CMD_HOLD_RELEASE);
	else if (r < 74)
		have = ticket_ref(s, &c, CMD_REFUND);
	else if (r < 77)
		have = ticket_ref(s, &c, CMD_REDEEM);
	else if (r < 93)
		return retry(s,
			     r < 85   ? CMD_HOLD
			     : r < 89 ? CMD_CONFIRM
			     : r < 90 ? CMD_REFUND
				      : CMD_EXCHANGE,
			     at);
	else if (r < 94)
		have = more_seats(s, &c, ev);
	else if (r < 98)
		have = ticket_ref(s, &c, CMD_EXCHANGE);
	else
		query(s, &c, ev);
	if (have)
		send_req(s, at, &c, NIL32, c.type == CMD_SECTION_LOAD ? &section_buf : NULL);
}
