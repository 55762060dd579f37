/*
 * tickets.c — e-ticket tokens where the server meets the wire
 * (docs/TICKETS.md): signing the tokens a CONFIRM_TOKENS or Q_TICKET_TOKEN
 * reply carries, checking a REDEEM_TOKEN's token before its ticket is
 * redeemed, and answering TICKET_KEYS.
 *
 * Tokens are signed as the reply is encoded, on the connection's shard,
 * from the reply's own hold or ticket view and the event's start time in
 * that shard's core (admin changes reach every shard, so each has the
 * event). Nothing is stored: a token is a function of the ticket, the
 * event's start and the signing key. Signing costs ~20 us a ticket
 * (docs/PERFORMANCE.md), which is why only these opcodes pay it and plain
 * CONFIRM and Q_TICKET stay as they were.
 */
#include <string.h>

#include "core/inspect.h"
#include "net/server/server.h"
#include "net/store/shard_store.h"

static uint64_t starts_ms(struct shard *s, uint32_t event_id)
{
	return core_event_starts_ms(shard_store_core(s->store), event_id);
}

static void sign_one(struct shard *s, const struct ticket_view *v, uint64_t starts,
		     uint8_t out[TOKEN_BYTES])
{
	const struct token_signer *signer = &s->srv->tickets.signer;
	struct token_claims cl;
	token_claims_of(v, starts, signer->key_id, &cl);
	token_sign(signer, &cl, out);
}

/* The tokens of a confirmed order's units, token k for first_ticket_id + k. */
static uint8_t sign_order(struct shard *s, const struct hold_view *h)
{
	if (h->state != HOLD_CONFIRMED || h->qty > HOLD_UNITS_MAX)
		return 0;
	uint64_t starts = starts_ms(s, h->event_id);
	for (uint8_t k = 0; k < h->qty; k++) {
		struct ticket_view v = {.ticket_id = h->first_ticket_id + k,
					.order_id = h->hold_id,
					.customer_id = h->customer_id,
					.event_id = h->event_id,
					.tier = h->tier,
					.state = TICKET_VALID};
		v.seat = h->seats[0] == SEAT_NONE ? SEAT_NONE : h->seats[k];
		sign_one(s, &v, starts, s->tokens[k]);
	}
	return h->qty;
}

/* A refunded or exchanged ticket has no token: it is revoked. */
static uint8_t sign_ticket(struct shard *s, const struct ticket_view *v)
{
	if (v->state != TICKET_VALID && v->state != TICKET_REDEEMED)
		return 0;
	sign_one(s, v, starts_ms(s, v->event_id), s->tokens[0]);
	return 1;
}

size_t tickets_encode(struct shard *s, struct req *r, uint8_t *buf, size_t cap)
{
	struct proto_reply *rep = &r->extra;
	if (r->opcode == PROTO_OP_REDEEM_TOKEN) {
		if (r->res.status == ST_TICKET_REFUNDED || r->res.status == ST_TICKET_EXCHANGED)
			r->res.status = ST_TOKEN_REVOKED;
		return proto_encode_result(buf, cap, r->request_id, r->opcode, &r->res);
	}
	memset(rep, 0, sizeof *rep);
	rep->request_id = r->request_id;
	rep->opcode = r->opcode;
	rep->res = r->res;
	rep->tokens.bytes = &s->tokens[0][0];
	if (r->res.status == ST_OK)
		rep->tokens.count = r->opcode == PROTO_OP_CONFIRM_TOKENS
					    ? sign_order(s, &r->res.hold)
					    : sign_ticket(s, &r->res.ticket);
	return proto_encode_reply(buf, cap, rep);
}

enum status tickets_redeem_check(struct shard *s, const struct proto_request *pr,
				 struct proto_request *out, struct result *res)
{
	struct token_claims cl;
	enum status st = token_check(&s->srv->tickets.keys, pr->redeem.token, pr->redeem.event_id,
				     s->now_ms, &cl);
	memset(res, 0, sizeof *res);
	res->status = st;
	if (st != ST_OK) {
		if (st != ST_TOKEN_INVALID) { /* well signed: say what it names */
			res->ticket.ticket_id = cl.ticket_id;
			res->ticket.event_id = cl.event_id;
			res->ticket.seat = cl.seat;
			res->ticket.tier = cl.tier;
		}
		return st;
	}
	memset(out, 0, sizeof *out);
	out->request_id = pr->request_id;
	out->opcode = PROTO_OP_REDEEM_TOKEN;
	out->cmd.type = CMD_REDEEM;
	out->cmd.ticket.event_id = cl.event_id;
	out->cmd.ticket.gate_id = pr->redeem.gate_id;
	out->cmd.ticket.ticket_id = cl.ticket_id;
	return ST_OK;
}

size_t tickets_keys_reply(struct shard *s, const struct proto_request *pr, uint8_t *buf, size_t cap)
{
	const struct token_keys *keys = &s->srv->tickets.keys;
	struct proto_reply rep = {.request_id = pr->request_id, .opcode = pr->opcode};
	rep.keys.count = (uint8_t)keys->count;
	rep.keys.keys = keys;
	return proto_encode_reply(buf, cap, &rep);
}
