/*
 * xchg.c — a ticket exchanged for a seat another shard owns, atomically.
 *
 * The ticket lives on shard A (its order's shard), the seat on shard B.
 * Neither can decide alone, so the exchange is three records, two on A's
 * WAL and one on B's, and the state between them is kept in A's ticket:
 *
 *   A  XCHG_OUT   the ticket is leaving for a named seat, or the best free
 *                 seat of the tier there: still valid and sold, but refused
 *                 to redeem, refund and exchange (ST_OVERLOADED: retry)
 *                 until the end; the target is kept in the ticket
 *   B  XCHG_IN    a one-ticket order for the seat, confirmed at the tier's
 *                 price, whose idempotency key is the old ticket's id: a
 *                 second IN of the same ticket answers the first order
 *   A  XCHG_END   with B's answer: exchanged (the old unit back on sale,
 *                 the new ticket's id kept), or valid again
 *
 * The server sends IN only once OUT is durable, and END only once IN is.
 * A ticket still leaving after a crash is sent to B again at start
 * (core_xchgs_pending); IN's key makes that safe, and no other copy of it
 * can be in flight then. B's refusal is not remembered: until A's END is
 * durable nobody has been told, so a second IN may decide anew.
 *
 * A client's repeat of a done exchange reaches A, whose ticket names the
 * new one on B; the server asks B with an IN marked `again`, which only
 * answers the first order (a same-shard exchange is answered by
 * plan_ticket from the old ticket).
 *
 * A leaving ticket: state VALID, replaced_by XCHG_LEAVING, fee_minor the
 * target (peer << 40 | tier << 32 | seat). An exchanged-away ticket: state
 * EXCHANGED, fee_minor the new ticket's id (a same-shard exchange leaves
 * fee_minor 0 and names its new ticket by unit in replaced_by).
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "core/inspect.h"
#include "core/state.h"

#define TARGET(peer, tier, seat) ((uint64_t)(peer) << 40 | (uint64_t)(tier) << 32 | (seat))
#define TARGET_PEER(t) ((uint8_t)((t) >> 40))
#define TARGET_TIER(t) ((uint8_t)((t) >> 32))
#define TARGET_SEAT(t) ((uint32_t)(t))

/* The order B makes for the seat: its payment reference names the ticket
 * it replaces (Q_ORDER shows it), and marks it as an exchange's order. */
static void xchg_payment_ref(uint64_t ticket_id, char ref[PAYMENT_REF_BYTES])
{
	memset(ref, 0, PAYMENT_REF_BYTES);
	snprintf(ref, PAYMENT_REF_BYTES, "exchange %016llx", (unsigned long long)ticket_id);
}

/* The exchange's ticket on this shard, or NULL and *st why not. */
static const struct ticket *ticket_of(const struct core *c, const struct cmd_xchg *x,
				      const struct event **ev, enum status *st)
{
	uint32_t index;
	const struct ticket *tk;

	*ev = event_find(c, x->event_id);
	*st = *ev ? ST_OK : ST_EVENT_UNKNOWN;
	tk = *ev ? ticket_by_id(c, *ev, x->ticket_id, &index) : NULL;
	if (*ev && !tk)
		*st = ST_TICKET_UNKNOWN;
	return tk;
}

static enum status plan_out(struct core *c, const struct cmd_xchg *x, struct rec *r)
{
	const struct event *ev;
	enum status st;
	const struct ticket *tk = ticket_of(c, x, &ev, &st);

	if (!tk)
		return st;
	if (ticket_leaving(tk))
		return ST_OVERLOADED; /* an exchange of it is under way: retry */
	if (ticket_refusal(tk->state) != ST_OK)
		return ticket_refusal(tk->state);
	if (x->peer_shard >= SHARDS_MAX || x->peer_shard == c->shard_id)
		return ST_BAD_ARGUMENT; /* seat SEAT_NONE: the best free seat there */
	if (x->tier >= TIERS_MAX || !ev->tiers[x->tier].defined)
		return ST_TIER_UNKNOWN;
	if (ev->tiers[x->tier].kind != TIER_RESERVED)
		return ST_TIER_KIND_MISMATCH;
	r->xchg.ticket_id = x->ticket_id;
	r->xchg.seat = x->seat;
	r->xchg.tier = x->tier;
	r->xchg.peer_shard = x->peer_shard;
	return ST_OK;
}

/* B: the order an earlier IN of this ticket made, or NULL (ST_OK); a hold
 * with the key that is not an exchange's order is a collision: refused. */
static enum status order_before(const struct event *ev, const struct cmd_xchg *x,
				const struct hold **out)
{
	const uint32_t *slot = htab_find(&ev->idem, hold_idem_key(x->customer_id, x->ticket_id));
	const struct hold *h = slot ? hold_at(ev, *slot) : NULL;
	char ref[PAYMENT_REF_BYTES];

	*out = NULL;
	if (!h)
		return ST_OK;
	xchg_payment_ref(x->ticket_id, ref);
	if (h->customer_id != x->customer_id || h->idem_key != x->ticket_id ||
	    h->state != HOLD_CONFIRMED || memcmp(h->payment_ref, ref, PAYMENT_REF_BYTES))
		return ST_BAD_ARGUMENT;
	*out = h;
	return ST_OK;
}

/* B: the first ticket of an exchange's order once its slot was reused (it
 * was refunded, or exchanged in turn, here or away, and its slot was the
 * oldest free one when the table was full), from what the order keeps. The
 * exchange still happened, so an IN sent again at a restart answers it (a
 * client's repeat is refused instead): its id, seat, tier
 * and price; state 0, as the ticket is no longer stored. */
static void view_gone_ticket(const struct event *ev, const struct hold *order,
			     struct ticket_view *v)
{
	assert(order->state == HOLD_CONFIRMED && order->qty == 1);
	memset(v, 0, sizeof *v);
	v->ticket_id = order_ticket_id(order, 0);
	v->order_id = order->id;
	v->customer_id = order->customer_id;
	v->price_minor = order->amount_minor;
	v->event_id = ev->cfg.event_id;
	v->seat = order->seats[0];
	v->tier = order->tier;
}

static enum status plan_in(struct core *c, const struct cmd_xchg *x, uint64_t now, struct rec *r,
			   struct result *res)
{
	const struct event *ev = event_find(c, x->event_id);
	const struct hold *before;
	uint32_t index;
	enum status st;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (x->peer_shard >= SHARDS_MAX || x->peer_shard == c->shard_id || !x->customer_id ||
	    x->channel >= CHANNELS || !x->ticket_id)
		return ST_BAD_ARGUMENT;
	st = order_before(ev, x, &before);
	if (st != ST_OK)
		return st;
	if (x->again &&
	    (!before || !xchg_target_is(x->tier, x->seat, before->tier, before->seats[0])))
		return ST_TICKET_EXCHANGED; /* not what was made, or forgotten */
	if (before) { /* sent again after a crash, or a client's repeat: the first answer */
		if (ticket_by_id(c, ev, order_ticket_id(before, 0), &index))
			view_ticket(c, ev, index, &res->ticket);
		else if (x->again) /* a client sees stored tickets only, as on one shard */
			return ST_TICKET_EXCHANGED;
		else
			view_gone_ticket(ev, before, &res->ticket);
		res->replayed = 1;
		return ST_OK;
	}
	if (x->tier >= TIERS_MAX || !ev->tiers[x->tier].defined)
		return ST_TIER_UNKNOWN;
	if (ev->tiers[x->tier].kind != TIER_RESERVED)
		return ST_TIER_KIND_MISMATCH;
	r->xchg.seat = x->seat;
	if (x->seat == SEAT_NONE) {
		if (best_available(ev, x->tier, 1, 0, &r->xchg.seat) != ST_OK)
			return ST_SOLD_OUT;
	} else if (x->seat >= ev->seat_count) {
		return ST_SEAT_UNKNOWN;
	} else if (ev->seats[x->seat].tier != x->tier) {
		return ST_BAD_ARGUMENT;
	} else if (ev->seats[x->seat].state != SEAT_FREE) {
		return ST_SEAT_UNAVAILABLE;
	}
	if (hold_next_id(c, ev, &r->xchg.new_id) == NIL)
		return ST_HOLD_TABLE_FULL;
	if (ev->tickets_reserved + 1 > tickets_free(ev))
		return ST_TICKET_TABLE_FULL;
	(void)now;
	r->xchg.ticket_id = x->ticket_id;
	r->xchg.customer_id = x->customer_id;
	r->xchg.price_minor = ev->tiers[x->tier].price_minor;
	r->xchg.tier = x->tier;
	r->xchg.channel = x->channel;
	r->xchg.peer_shard = x->peer_shard;
	return ST_OK;
}

static enum status plan_end(struct core *c, const struct cmd_xchg *x, struct rec *r)
{
	const struct event *ev;
	enum status st;
	const struct ticket *tk = ticket_of(c, x, &ev, &st);

	if (!ev)
		return st;
	if (!tk || !ticket_leaving(tk) || (x->status == ST_OK && !x->new_ticket_id))
		return ST_BAD_ARGUMENT;
	r->xchg.ticket_id = x->ticket_id;
	r->xchg.status = x->status;
	r->xchg.new_id = x->status == ST_OK ? x->new_ticket_id : 0;
	return ST_OK;
}

enum status plan_xchg(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
		      struct result *res)
{
	memset(&r->xchg, 0, sizeof r->xchg);
	switch (cmd->type) {
	case CMD_XCHG_OUT: return plan_out(c, &cmd->xchg, r);
	case CMD_XCHG_IN: return plan_in(c, &cmd->xchg, now, r, res);
	default: assert(cmd->type == CMD_XCHG_END); return plan_end(c, &cmd->xchg, r);
	}
}

/* B: the one-ticket order, as a hold and its confirm (their checks and
 * their bookkeeping are the same). */
static enum status apply_in(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct rec h = {.type = CMD_HOLD, .event_id = r->event_id, .now_ms = r->now_ms};
	struct rec cf = {.type = CMD_CONFIRM, .event_id = r->event_id, .now_ms = r->now_ms};
	struct event *ev = event_find(c, r->event_id);
	const struct hold *before;
	struct cmd_xchg key = {.customer_id = r->xchg.customer_id, .ticket_id = r->xchg.ticket_id};
	enum status st;

	if (!ev || order_before(ev, &key, &before) != ST_OK || before)
		return ST_RECORD_INVALID;
	/* the confirm below must not fail after the hold: its ticket's chunk
	 * first (out of memory: nothing changed) */
	if (tickets_ensure(ev, 1))
		return ST_INTERNAL;
	h.hold.hold_id = r->xchg.new_id;
	h.hold.customer_id = r->xchg.customer_id;
	h.hold.idem_key = r->xchg.ticket_id;
	h.hold.expires_at_ms = r->now_ms + HOLD_TTL_MS_MIN;
	h.hold.tier = r->xchg.tier;
	h.hold.channel = r->xchg.channel;
	h.hold.qty = 1;
	h.hold.code_index = PRESALE_CODE_NONE;
	memset(h.hold.seats, 0xff, sizeof h.hold.seats);
	h.hold.seats[0] = r->xchg.seat;
	if (h.hold.seats[0] == SEAT_NONE)
		return ST_RECORD_INVALID;
	st = apply_hold(c, &h, alerts);
	if (st != ST_OK)
		return st;
	cf.confirm.hold_id = r->xchg.new_id;
	cf.confirm.amount_minor = r->xchg.price_minor;
	cf.confirm.first_ticket_id = order_ticket_id(hold_by_id(ev, r->xchg.new_id), 0);
	xchg_payment_ref(r->xchg.ticket_id, cf.confirm.payment_ref);
	st = apply_confirm(c, &cf);
	assert(st == ST_OK); /* the hold it confirms was made just now */
	return st;
}

enum status apply_xchg(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct ticket *tk;
	uint32_t index;

	if (!ev)
		return ST_RECORD_INVALID;
	if (r->type == CMD_XCHG_IN)
		return apply_in(c, r, alerts);
	tk = ticket_by_id(c, ev, r->xchg.ticket_id, &index);
	if (!tk || tk->state != TICKET_VALID)
		return ST_RECORD_INVALID;
	if (r->type == CMD_XCHG_OUT) {
		if (ticket_leaving(tk) || r->xchg.peer_shard >= SHARDS_MAX ||
		    r->xchg.peer_shard == c->shard_id)
			return ST_RECORD_INVALID;
		tk->replaced_by = XCHG_LEAVING;
		tk->fee_minor = TARGET(r->xchg.peer_shard, r->xchg.tier, r->xchg.seat);
		return ST_OK;
	}
	if (!ticket_leaving(tk) || (r->xchg.status == ST_OK && !r->xchg.new_id))
		return ST_RECORD_INVALID;
	tk->replaced_by = 0;
	tk->fee_minor = 0;
	if (r->xchg.status != ST_OK)
		return ST_OK; /* valid again */
	ticket_leave(ev, index, r->xchg.new_id, alerts);
	return ST_OK;
}

uint32_t core_xchgs_pending(const struct core *c, struct xchg_pending *out, uint32_t cap)
{
	uint32_t n = 0;

	for (uint32_t e = 0; e < c->event_count; e++) {
		const struct event *ev = c->events[e];

		for (uint32_t i = 0; i < ev->tickets_used; i++) {
			const struct ticket *tk = ticket_at(ev, i);
			const struct hold *h;

			if (!ticket_leaving(tk))
				continue;
			if (n < cap) {
				h = hold_at(ev, tk->hold);
				out[n] = (struct xchg_pending){.event_id = ev->cfg.event_id,
							       .ticket_id = ticket_id_of(ev, i),
							       .customer_id = h->customer_id,
							       .seat = TARGET_SEAT(tk->fee_minor),
							       .tier = TARGET_TIER(tk->fee_minor),
							       .channel = h->channel,
							       .peer_shard = TARGET_PEER(
								       tk->fee_minor)};
			}
			n++;
		}
	}
	return n;
}
