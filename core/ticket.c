/*
 * ticket.c — orders and tickets: confirm a hold into an order with one ticket
 * per unit, redeem at the gate, refund, exchange; the ticket pool.
 *
 * An order is its confirmed hold (same id), so confirm is keyed by hold id and
 * a repeated confirm returns the same order. A ticket's id is its order's id
 * and its number in the order (layout in limits.h), so ids are unique per
 * shard and an order's tickets are consecutive. The order chains the tickets
 * it still has in the pool; a lookup walks that chain (at most
 * ORDER_TICKETS_MAX, a handful in practice).
 *
 * A refunded or exchanged ticket stays, with its state, so a late scan of it
 * is answered precisely, until its slot is needed: only once no slot is left
 * that was never used are those slots reused, oldest first. Every live hold
 * has reserved slots for its units (hold.c), so a confirm always finds them.
 */
#include <string.h>

#include "core/state.h"

/* A slot for a new ticket: a never-used one, else the oldest refunded or
 * exchanged ticket, which leaves its order's chain (its id becomes unknown). */
static uint32_t ticket_slot_take(struct event *ev)
{
	uint32_t index, *link;
	struct ticket *tk;

	if (ev->tickets_used < ev->tickets_max)
		return ev->tickets_used++;
	index = ev->tfree_head;
	assert(index != NIL && ev->tfree_count > 0);
	tk = ticket_at(ev, index);
	ev->tfree_head = tk->free_next;
	if (ev->tfree_head == NIL)
		ev->tfree_tail = NIL;
	ev->tfree_count--;
	if (tk->hold == NIL)
		return index; /* its order's slot was reused first */
	link = &hold_at(ev, tk->hold)->ticket_head;
	while (*link != index)
		link = &ticket_at(ev, *link)->order_next;
	*link = tk->order_next;
	return index;
}

int tickets_ensure(struct event *ev, uint32_t n)
{
	uint32_t room = ev->tickets_max - ev->tickets_used;

	return event_tickets_ensure(ev, ev->tickets_used + (n < room ? n : room));
}

/* A ticket was refunded or exchanged away: its slot may be reused, and an
 * order left with no valid or redeemed ticket is ended. */
void ticket_retire(struct event *ev, uint32_t index)
{
	struct ticket *tk = ticket_at(ev, index);
	struct hold *h = hold_at(ev, tk->hold);

	tk->free_next = NIL;
	if (ev->tfree_tail != NIL)
		ticket_at(ev, ev->tfree_tail)->free_next = index;
	else
		ev->tfree_head = index;
	ev->tfree_tail = index;
	ev->tfree_count++;
	assert(h->tickets_live > 0);
	if (--h->tickets_live == 0)
		hold_ended_push(ev, tk->hold);
}

/* Issues the next ticket of order hold_slot; returns its index. */
static uint32_t ticket_issue(struct event *ev, uint32_t hold_slot, uint8_t tier, uint32_t seat,
			     uint64_t price)
{
	uint32_t index = ticket_slot_take(ev);
	struct ticket *tk = ticket_at(ev, index);
	struct hold *h = hold_at(ev, hold_slot);

	assert(h->tickets_issued < ORDER_TICKETS_MAX);
	memset(tk, 0, sizeof *tk);
	tk->price_minor = price;
	tk->hold = hold_slot;
	tk->seat = seat;
	tk->tier = tier;
	tk->state = TICKET_VALID;
	tk->unit = h->tickets_issued++;
	tk->order_next = h->ticket_head;
	tk->free_next = NIL;
	h->ticket_head = index;
	h->tickets_live++;
	ev->tickets_issued++;
	if (seat != SEAT_NONE)
		seat_take(ev, seat, SEAT_SOLD, index);
	return index;
}

enum status ticket_refusal(uint8_t state)
{
	switch (state) {
	case TICKET_REDEEMED: return ST_TICKET_REDEEMED;
	case TICKET_REFUNDED: return ST_TICKET_REFUNDED;
	case TICKET_EXCHANGED: return ST_TICKET_EXCHANGED;
	default: return ST_OK;
	}
}

static enum status plan_confirm(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
				struct result *res)
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
	/* The hold reserved these slots when it was granted: never refused. */
	assert(tickets_free(ev) >= ev->tickets_reserved && ev->tickets_reserved >= h->qty);
	r->confirm.hold_id = h->id;
	r->confirm.amount_minor = ref->amount_minor;
	r->confirm.first_ticket_id = order_ticket_id(h, 0);
	memcpy(r->confirm.payment_ref, ref->payment_ref, PAYMENT_REF_BYTES);
	return ST_OK;
}

enum status apply_confirm(struct core *c, const struct rec *r)
{
	struct event *ev = event_find(c, r->event_id);
	struct hold *h = ev ? hold_by_id(ev, r->confirm.hold_id) : NULL;
	struct tier *t;
	uint32_t slot;

	if (!h || h->state != HOLD_LIVE || tickets_free(ev) < h->qty ||
	    r->confirm.first_ticket_id != order_ticket_id(h, 0) || r->confirm.amount_minor % h->qty)
		return ST_RECORD_INVALID;
	if (tickets_ensure(ev, h->qty))
		return ST_INTERNAL; /* out of memory for a new chunk: nothing changed */
	slot = (uint32_t)h->id;
	hold_end(ev, slot, HOLD_CONFIRMED, NULL);
	t = &ev->tiers[h->tier];
	t->sold += h->qty;
	t->ch[h->channel].sold += h->qty;
	t->ch[h->channel].revenue_minor += r->confirm.amount_minor;
	h->amount_minor = r->confirm.amount_minor;
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

/* A repeat of an exchange done on this shard: the new ticket's view, when
 * the request names what it got (xchg_target_is) and the ticket is still
 * stored. An exchange to another shard is answered there (fee_minor holds
 * the new ticket's id: net/shard/xchg.c sends the repeat on); any other
 * repeat is refused as before. */
static enum status exchange_again(const struct core *c, const struct event *ev,
				  const struct ticket *old, const struct cmd_ticket_ref *x,
				  struct result *res)
{
	const struct ticket *tk;
	uint32_t index;

	assert(old->state == TICKET_EXCHANGED);
	if (old->fee_minor)
		return ST_TICKET_EXCHANGED;
	tk = ticket_by_id(c, ev, order_ticket_id(hold_at(ev, old->hold), old->replaced_by), &index);
	if (!tk || !xchg_target_is(x->tier, x->seat, tk->tier, tk->seat))
		return ST_TICKET_EXCHANGED;
	view_ticket(c, ev, index, &res->ticket);
	res->replayed = 1;
	return ST_OK;
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
	if (ticket_leaving(tk))
		return ST_OVERLOADED; /* being exchanged to another shard (xchg.c): retry */
	switch (cmd->type) {
	case CMD_REDEEM:
		if (tk->state == TICKET_REDEEMED) {
			view_ticket(c, ev, index,
				    &res->ticket); /* the first scan's gate and time */
			return ST_TICKET_ALREADY_REDEEMED;
		}
		st = ticket_refusal(tk->state);
		r->redeem.ticket_id = x->ticket_id;
		r->redeem.gate_id = x->gate_id;
		return st;
	case CMD_REFUND:
		if (tk->state == TICKET_REFUNDED) {
			view_ticket(c, ev, index, &res->ticket);
			res->replayed = 1;
			return ST_OK;
		}
		st = ticket_refusal(tk->state);
		if (st == ST_OK && (x->fee_minor > tk->price_minor || x->kill > 1))
			st = ST_BAD_ARGUMENT;
		r->refund.ticket_id = x->ticket_id;
		r->refund.fee_minor = x->fee_minor;
		r->refund.kill = x->kill;
		return st;
	default: /* CMD_EXCHANGE */
		if (tk->state == TICKET_EXCHANGED)
			return exchange_again(c, ev, tk, x, res);
		st = ticket_refusal(tk->state);
		if (st != ST_OK)
			return st;
		if (tickets_free(ev) <= ev->tickets_reserved ||
		    hold_at(ev, tk->hold)->tickets_issued >= ORDER_TICKETS_MAX)
			return ST_TICKET_TABLE_FULL;
		st = exchange_target(ev, x, &r->exchange.seat);
		r->exchange.ticket_id = x->ticket_id;
		r->exchange.new_ticket_id = order_ticket_id(hold_at(ev, tk->hold),
							    hold_at(ev, tk->hold)->tickets_issued);
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

static int exchange_fits(const struct event *ev, const struct ticket *old, const struct rec *r)
{
	const struct tier *t = &ev->tiers[r->exchange.tier];
	const struct hold *h = hold_at(ev, old->hold);

	if (!t->defined || tickets_free(ev) <= ev->tickets_reserved || !t->free ||
	    h->tickets_issued >= ORDER_TICKETS_MAX ||
	    r->exchange.new_ticket_id != order_ticket_id(h, h->tickets_issued))
		return 0;
	if (t->kind == TIER_GA)
		return r->exchange.seat == SEAT_NONE;
	return r->exchange.seat < ev->seat_count &&
	       ev->seats[r->exchange.seat].tier == r->exchange.tier &&
	       ev->seats[r->exchange.seat].state == SEAT_FREE;
}

/* Swaps ticket index (valid) for a new ticket of the same order, issued
 * before the old one is retired so it never takes the old one's slot. */
static void ticket_exchange(struct event *ev, uint32_t index, const struct rec *r, uint32_t *alerts)
{
	struct ticket *tk = ticket_at(ev, index);
	uint8_t channel = hold_at(ev, tk->hold)->channel;
	struct tier *t = &ev->tiers[r->exchange.tier];
	uint32_t fresh;

	tk->state = TICKET_EXCHANGED;
	ev->tiers[tk->tier].ch[channel].revenue_minor -= tk->price_minor;
	unit_unsell(ev, tk, channel, 0);
	fresh = ticket_issue(ev, tk->hold, r->exchange.tier, r->exchange.seat,
			     r->exchange.price_minor);
	tk->replaced_by = ticket_at(ev, fresh)->unit;
	t->free--;
	t->sold++;
	t->ch[channel].sold++;
	t->ch[channel].revenue_minor += r->exchange.price_minor;
	ticket_retire(ev, index);
	/* after both halves: within one tier free stock did not move */
	tier_check_low_stock(ev, tk->tier, alerts);
	tier_check_low_stock(ev, r->exchange.tier, alerts);
}

void ticket_leave(struct event *ev, uint32_t index, uint64_t new_ticket_id, uint32_t *alerts)
{
	struct ticket *tk = ticket_at(ev, index);
	const struct hold *h = hold_at(ev, tk->hold);

	assert(tk->state == TICKET_VALID && new_ticket_id);
	tk->state = TICKET_EXCHANGED;
	tk->fee_minor = new_ticket_id;
	ev->tiers[tk->tier].ch[h->channel].revenue_minor -= tk->price_minor;
	unit_unsell(ev, tk, h->channel, 0);
	customer_add(ev, h->customer_id, -1);
	ticket_retire(ev, index);
	tier_check_low_stock(ev, tk->tier, alerts);
}

enum status apply_ticket(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct ticket *tk;
	struct tier *t;
	uint8_t channel;
	uint32_t index;

	if (!ev || !(tk = ticket_by_id(c, ev, r->redeem.ticket_id, &index)) ||
	    tk->state != TICKET_VALID)
		return ST_RECORD_INVALID;
	channel = hold_at(ev, tk->hold)->channel;
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
		customer_add(ev, hold_at(ev, tk->hold)->customer_id, -1);
		ticket_retire(ev, index);
		return ST_OK;
	default: /* CMD_EXCHANGE */
		if (!exchange_fits(ev, tk, r))
			return ST_RECORD_INVALID;
		if (tickets_ensure(ev, 1))
			return ST_INTERNAL;
		ticket_exchange(ev, index, r, alerts);
		return ST_OK;
	}
}
