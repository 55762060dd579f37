/*
 * query.c — read-only commands and the views results are made of; a
 * retired event's from its summary (retire.c).
 */
#include <string.h>

#include "core/state.h"

void view_hold(const struct event *ev, const struct hold *h, struct hold_view *v)
{
	v->hold_id = h->id;
	v->customer_id = h->customer_id;
	v->expires_at_ms = h->expires_at_ms;
	v->amount_due_minor = ev->tiers[h->tier].price_minor * h->qty;
	v->first_ticket_id = h->state == HOLD_CONFIRMED ? order_ticket_id(h, 0) : 0;
	v->amount_paid_minor = h->amount_minor;
	v->event_id = ev->cfg.event_id;
	v->tier = h->tier;
	v->state = h->state;
	v->channel = h->channel;
	v->qty = h->qty;
	v->code_index = h->code_index;
	memcpy(v->seats, h->seats, sizeof v->seats);
	memcpy(v->payment_ref, h->payment_ref, PAYMENT_REF_BYTES);
}

void view_ticket(const struct core *c, const struct event *ev, uint32_t index,
		 struct ticket_view *v)
{
	const struct ticket *tk = ticket_at(ev, index);
	const struct hold *h = hold_at(ev, tk->hold);

	(void)c;
	v->ticket_id = ticket_id_of(ev, index);
	v->order_id = h->id;
	v->customer_id = h->customer_id;
	v->price_minor = tk->price_minor;
	v->redeemed_at_ms = tk->redeemed_at_ms;
	v->refund_fee_minor = tk->state == TICKET_REFUNDED ? tk->fee_minor : 0;
	/* exchanged to another shard: fee_minor holds the new ticket's id (xchg.c) */
	v->replaced_by = tk->state != TICKET_EXCHANGED ? 0
			 : tk->fee_minor               ? tk->fee_minor
						       : order_ticket_id(h, tk->replaced_by);
	v->event_id = ev->cfg.event_id;
	v->seat = tk->seat;
	v->gate_id = tk->gate_id;
	v->tier = tk->tier;
	v->state = tk->state;
}

static void view_event(const struct event *ev, struct event_view *v)
{
	v->event = ev->cfg;
	v->units_placed = ev->units_placed;
	v->seat_count = ev->seat_count;
	v->live_holds = ev->live_holds;
	v->tickets_issued = ev->tickets_issued;
	v->section_count = ev->section_count;
	v->retired = 0;
}

static void view_tiers(uint32_t event_id, const struct tier *tiers, unsigned count,
		       struct availability_view *v)
{
	v->event_id = event_id;
	v->tier_count = 0;
	for (unsigned i = 0; i < TIERS_MAX; i++) {
		const struct tier *t = i < count ? &tiers[i] : NULL;
		struct tier_view *tv = &v->tiers[i];

		memset(tv, 0, sizeof *tv);
		if (!t || !t->defined)
			continue;
		v->tier_count = (uint8_t)(i + 1);
		tv->defined = 1;
		tv->kind = t->kind;
		tv->price_minor = t->price_minor;
		tv->capacity = t->capacity;
		tv->free = t->free;
		tv->held = t->held;
		tv->sold = t->sold;
		tv->killed = t->killed;
		tv->low_stock_threshold = t->low_stock_threshold;
		tv->low_stock = t->low_stock;
	}
}

static enum status view_stats(uint32_t event_id, const struct tier *tiers, unsigned count,
			      uint8_t tier, struct stats_view *v)
{
	if (tier >= count || !tiers[tier].defined)
		return ST_TIER_UNKNOWN;
	v->event_id = event_id;
	v->tier = tier;
	for (unsigned i = 0; i < CHANNELS; i++) {
		const struct channel_counts *k = &tiers[tier].ch[i];
		struct channel_stats *s = &v->channels[i];

		s->held = k->held;
		s->sold = k->sold;
		s->revenue_minor = k->revenue_minor;
		s->redeemed = k->redeemed;
		s->refunded = k->refunded;
	}
	return ST_OK;
}

/* A retired event answers the event, availability and statistics queries
 * from its summary; the others asked of its holds, tickets and customers,
 * whose tables are gone, are refused with ST_EVENT_RETIRED. */
static enum status query_retired(const struct retired *rt, const struct cmd *cmd,
				 struct result *res)
{
	switch (cmd->type) {
	case CMD_Q_EVENT:
		memset(&res->event, 0, sizeof res->event);
		res->event.event = rt->cfg;
		res->event.units_placed = rt->units_placed;
		res->event.seat_count = rt->seat_count;
		res->event.tickets_issued = rt->tickets_issued;
		res->event.section_count = rt->section_count;
		res->event.retired = 1;
		return ST_OK;
	case CMD_Q_AVAILABILITY:
		view_tiers(rt->cfg.event_id, rt->tiers, rt->tier_count, &res->avail);
		return ST_OK;
	case CMD_Q_STATS:
		return view_stats(rt->cfg.event_id, rt->tiers, rt->tier_count, cmd->query.tier,
				  &res->stats);
	}
	return ST_EVENT_RETIRED;
}

enum status query(const struct core *c, const struct cmd *cmd, struct result *res)
{
	const struct event *ev = event_find(c, cmd->query.event_id);
	const struct hold *h;
	uint32_t index;

	if (!ev) {
		const struct retired *rt = retired_find(c, cmd->query.event_id);

		return rt ? query_retired(rt, cmd, res) : ST_EVENT_UNKNOWN;
	}
	switch (cmd->type) {
	case CMD_Q_EVENT: view_event(ev, &res->event); return ST_OK;
	case CMD_Q_AVAILABILITY:
		view_tiers(ev->cfg.event_id, ev->tiers, TIERS_MAX, &res->avail);
		return ST_OK;
	case CMD_Q_HOLD:
	case CMD_Q_ORDER:
		h = hold_by_id(ev, cmd->ref.hold_id);
		if (!h || (cmd->type == CMD_Q_ORDER && h->state != HOLD_CONFIRMED))
			return ST_HOLD_UNKNOWN;
		view_hold(ev, h, &res->hold);
		return ST_OK;
	case CMD_Q_TICKET:
		if (!ticket_by_id(c, ev, cmd->ticket.ticket_id, &index))
			return ST_TICKET_UNKNOWN;
		view_ticket(c, ev, index, &res->ticket);
		return ST_OK;
	case CMD_Q_STATS:
		return view_stats(ev->cfg.event_id, ev->tiers, TIERS_MAX, cmd->query.tier,
				  &res->stats);
	case CMD_Q_CUSTOMER:
		res->customer.event_id = ev->cfg.event_id;
		res->customer.customer_id = cmd->query.customer_id;
		res->customer.units = customer_units(ev, cmd->query.customer_id);
		res->customer.limit = ev->cfg.customer_limit;
		return ST_OK;
	case CMD_Q_REVOKED: return revoked_page(c, ev, &cmd->revoked, &res->revoked);
	}
	return ST_BAD_COMMAND;
}
