/*
 * ticket.c — orders and tickets: confirm a hold into an order with one ticket
 * per unit, redeem at the gate, refund, exchange.
 *
 * An order is its confirmed hold (same id), so confirm is keyed by hold id and
 * a repeated confirm returns the same order. A ticket's id carries its pool
 * index (layout in limits.h), so it is unique per shard. Tickets are never
 * forgotten: a refunded or exchanged ticket stays, with its state, so a late
 * scan of it is answered precisely.
 */
#include <string.h>

#include "core/state.h"

#define TICKET_SEQ_MASK ((1ull << ID_SEQ_BITS) - 1)

uint64_t ticket_id_of(const struct core *c, const struct event *ev, uint32_t index)
{
	return (uint64_t)c->shard_id << ID_SHARD_SHIFT | (uint64_t)ev->slot << ID_EVENT_SHIFT |
	       ((uint64_t)index + 1);
}

struct ticket *ticket_by_id(const struct core *c, const struct event *ev, uint64_t ticket_id,
			   uint32_t *index)
{
	uint64_t seq = ticket_id & TICKET_SEQ_MASK;

	if (seq == 0 || seq > ev->tickets_used || ticket_id_of(c, ev, (uint32_t)(seq - 1)) != ticket_id)
		return NULL;
	*index = (uint32_t)(seq - 1);
	return &ev->tickets[seq - 1];
}

static enum status refuse_ticket(uint8_t state)
{
	switch (state) {
	case TICKET_REDEEMED: return ST_TICKET_REDEEMED;
	case TICKET_REFUNDED: return ST_TICKET_REFUNDED;
	case TICKET_EXCHANGED: return ST_TICKET_EXCHANGED;
	default: return ST_OK;
	}
}

static enum status plan_confirm(struct core *c, const struct cmd *cmd, uint64_t now,
				struct rec *r, struct result *res)
{
	const struct cmd_hold_ref *ref = &cmd->ref;
	const struct event *ev = event_find(c, ref->event_id);
	const struct hold *h = ev ? hold_by_id(ev, ref->hold_id) : NULL;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (!h)
		return ST_HOLD_UNKNOWN;
	if (h->state == HOLD_CONFIRMED) {
		view_hold(ev, h, &res->hold);
		res->replayed = 1;
		return ST_OK;
	}
	if (h->state == HOLD_RELEASED)
		return ST_HOLD_RELEASED;
	if (ev->cfg.state == EVENT_CLOSED)
		return ST_EVENT_NOT_ON_SALE; /* paused: buyers already paying may finish */
	if (h->state == HOLD_EXPIRED || now >= h->expires_at_ms)
		return ST_HOLD_EXPIRED;
	if (ref->amount_minor != ev->tiers[h->tier].price_minor * h->qty)
		return ST_AMOUNT_MISMATCH;
	if (ev->tickets_used + h->qty > ev->tickets_max)
		return ST_TICKET_TABLE_FULL;
	r->confirm.hold_id = h->id;
	r->confirm.amount_minor = ref->amount_minor;
	r->confirm.first_ticket_id = ticket_id_of(c, ev, ev->tickets_used);
	memcpy(r->confirm.payment_ref, ref->payment_ref, PAYMENT_REF_BYTES);
	return ST_OK;
}

static void ticket_issue(struct event *ev, uint32_t hold_slot, uint8_t tier, uint32_t seat,
			 uint64_t price)
{
	uint32_t index = ev->tickets_used++;
	struct ticket *tk = &ev->tickets[index];

	memset(tk, 0, sizeof *tk);
	tk->price_minor = price;
	tk->hold = hold_slot;
	tk->seat = seat;
	tk->tier = tier;
	tk->state = TICKET_VALID;
	tk->replaced_by = NIL;
	if (seat != SEAT_NONE) {
		ev->seats[seat].owner = index;
		ev->seats[seat].state = SEAT_SOLD;
	}
}

enum status apply_confirm(struct core *c, const struct rec *r)
{
	struct event *ev = event_find(c, r->event_id);
	struct hold *h = ev ? hold_by_id(ev, r->confirm.hold_id) : NULL;
	struct tier *t;
	uint32_t slot;

	if (!h || h->state != HOLD_LIVE || ev->tickets_used + h->qty > ev->tickets_max ||
	    r->confirm.first_ticket_id != ticket_id_of(c, ev, ev->tickets_used) ||
	    r->confirm.amount_minor % h->qty)
		return ST_RECORD_INVALID;
	slot = (uint32_t)h->id;
	hold_end(ev, slot, HOLD_CONFIRMED, NULL);
	t = &ev->tiers[h->tier];
	t->sold += h->qty;
	t->ch[h->channel].sold += h->qty;
	t->ch[h->channel].revenue_minor += r->confirm.amount_minor;
	h->amount_minor = r->confirm.amount_minor;
	h->first_ticket_id = r->confirm.first_ticket_id;
	memcpy(h->payment_ref, r->confirm.payment_ref, PAYMENT_REF_BYTES);
	for (uint8_t i = 0; i < h->qty; i++)
		ticket_issue(ev, slot, h->tier, t->kind == TIER_GA ? SEAT_NONE : h->seats[i],
			     r->confirm.amount_minor / h->qty);
	return ST_OK;
}

/* The target unit of an exchange: a GA unit, a named seat or the best free
 * seat of the tier. */
static enum status exchange_target(const struct event *ev, const struct cmd_ticket_ref *x,
				   uint32_t *seat)
{
	const struct tier *t = &ev->tiers[x->tier];

	if (x->tier >= TIERS_MAX || !t->defined)
		return ST_TIER_UNKNOWN;
	if (t->kind == TIER_GA) {
		*seat = SEAT_NONE;
		if (x->seat != SEAT_NONE)
			return ST_TIER_KIND_MISMATCH;
		return t->free ? ST_OK : ST_SOLD_OUT;
	}
	if (x->seat == SEAT_NONE)
		return best_available(ev, x->tier, 1, 0, seat) == ST_OK ? ST_OK : ST_SOLD_OUT;
	if (x->seat >= ev->seat_count)
		return ST_SEAT_UNKNOWN;
	if (ev->seats[x->seat].tier != x->tier)
		return ST_BAD_ARGUMENT;
	*seat = x->seat;
	return ev->seats[x->seat].state == SEAT_FREE ? ST_OK : ST_SEAT_UNAVAILABLE;
}

enum status plan_ticket(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
			struct result *res)
{
	const struct cmd_ticket_ref *x = &cmd->ticket;
	const struct event *ev;
	const struct ticket *tk;
	uint32_t index;
	enum status st;

	if (cmd->type == CMD_CONFIRM)
		return plan_confirm(c, cmd, now, r, res);
	ev = event_find(c, x->event_id);
	if (!ev)
		return ST_EVENT_UNKNOWN;
	tk = ticket_by_id(c, ev, x->ticket_id, &index);
	if (!tk)
		return ST_TICKET_UNKNOWN;
	switch (cmd->type) {
	case CMD_REDEEM:
		if (tk->state == TICKET_REDEEMED) {
			view_ticket(c, ev, index, &res->ticket); /* the first scan's gate and time */
			return ST_TICKET_ALREADY_REDEEMED;
		}
		st = refuse_ticket(tk->state);
		r->redeem.ticket_id = x->ticket_id;
		r->redeem.gate_id = x->gate_id;
		return st;
	case CMD_REFUND:
		if (tk->state == TICKET_REFUNDED) {
			view_ticket(c, ev, index, &res->ticket);
			res->replayed = 1;
			return ST_OK;
		}
		st = refuse_ticket(tk->state);
		if (st == ST_OK && (x->fee_minor > tk->price_minor || x->kill > 1))
			st = ST_BAD_ARGUMENT;
		r->refund.ticket_id = x->ticket_id;
		r->refund.fee_minor = x->fee_minor;
		r->refund.kill = x->kill;
		return st;
	default: /* CMD_EXCHANGE */
		st = refuse_ticket(tk->state);
		if (st != ST_OK)
			return st;
		if (ev->tickets_used >= ev->tickets_max)
			return ST_TICKET_TABLE_FULL;
		st = exchange_target(ev, x, &r->exchange.seat);
		r->exchange.ticket_id = x->ticket_id;
		r->exchange.new_ticket_id = ticket_id_of(c, ev, ev->tickets_used);
		r->exchange.tier = x->tier;
		r->exchange.price_minor = ev->tiers[x->tier < TIERS_MAX ? x->tier : 0].price_minor;
		return st;
	}
}

/* Takes a ticket's unit out of sold: back on sale, or killed. The caller
 * checks low stock once its whole change is made. */
static void unit_unsell(struct event *ev, struct ticket *tk, uint8_t channel, int kill)
{
	struct tier *t = &ev->tiers[tk->tier];

	t->sold--;
	t->ch[channel].sold--;
	if (kill)
		t->killed++;
	else
		t->free++;
	if (tk->seat != SEAT_NONE)
		seat_release(ev, tk->seat, kill ? SEAT_KILLED_STATE : SEAT_FREE);
}

static int exchange_fits(const struct core *c, const struct event *ev, const struct rec *r)
{
	const struct tier *t = &ev->tiers[r->exchange.tier];

	if (!t->defined || ev->tickets_used >= ev->tickets_max || !t->free ||
	    r->exchange.new_ticket_id != ticket_id_of(c, ev, ev->tickets_used))
		return 0;
	if (t->kind == TIER_GA)
		return r->exchange.seat == SEAT_NONE;
	return r->exchange.seat < ev->seat_count && ev->seats[r->exchange.seat].tier == r->exchange.tier &&
	       ev->seats[r->exchange.seat].state == SEAT_FREE;
}

enum status apply_ticket(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct ticket *tk;
	struct tier *t;
	uint8_t channel;
	uint32_t index, fresh;

	if (!ev || !(tk = ticket_by_id(c, ev, r->redeem.ticket_id, &index)) || tk->state != TICKET_VALID)
		return ST_RECORD_INVALID;
	channel = ev->holds[tk->hold].channel;
	switch (r->type) {
	case CMD_REDEEM:
		tk->state = TICKET_REDEEMED;
		tk->gate_id = r->redeem.gate_id;
		tk->redeemed_at_ms = r->now_ms;
		ev->tiers[tk->tier].ch[channel].redeemed++;
		return ST_OK;
	case CMD_REFUND:
		if (r->refund.fee_minor > tk->price_minor)
			return ST_RECORD_INVALID;
		tk->state = TICKET_REFUNDED;
		tk->fee_minor = r->refund.fee_minor;
		t = &ev->tiers[tk->tier];
		t->ch[channel].refunded++;
		t->ch[channel].revenue_minor -= tk->price_minor - tk->fee_minor;
		unit_unsell(ev, tk, channel, r->refund.kill);
		tier_check_low_stock(ev, tk->tier, alerts);
		customer_add(ev, ev->holds[tk->hold].customer_id, -1);
		return ST_OK;
	default: /* CMD_EXCHANGE */
		if (!exchange_fits(c, ev, r))
			return ST_RECORD_INVALID;
		fresh = ev->tickets_used;
		tk->state = TICKET_EXCHANGED;
		tk->replaced_by = fresh;
		ev->tiers[tk->tier].ch[channel].revenue_minor -= tk->price_minor;
		unit_unsell(ev, tk, channel, 0);
		t = &ev->tiers[r->exchange.tier];
		if (r->exchange.seat != SEAT_NONE)
			seat_take(ev, r->exchange.seat, SEAT_SOLD, fresh);
		ticket_issue(ev, tk->hold, r->exchange.tier, r->exchange.seat, r->exchange.price_minor);
		t->free--;
		t->sold++;
		t->ch[channel].sold++;
		t->ch[channel].revenue_minor += r->exchange.price_minor;
		/* after both halves: within one tier free stock did not move */
		tier_check_low_stock(ev, tk->tier, alerts);
		tier_check_low_stock(ev, r->exchange.tier, alerts);
		return ST_OK;
	}
}
