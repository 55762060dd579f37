/*
 * lookup.c — finding things by id: events (live and retired), holds,
 * tickets and customer counts, and the id arithmetic behind them.
 *
 * The lowest file of the state machine's own: every command's plan and
 * apply, the queries and the views find what they act on here, and nothing
 * here calls another file of core/ but htab.c. So the files that change
 * holds and tickets (hold.c, ticket.c, xchg.c) and the ones that read them
 * (query.c) can share these without calling each other (the order of the
 * files is at the top of state.h). Reads only, but for event_find's cache.
 */
#include "core/inspect.h"
#include "core/state.h"

#define ORDER_BITS_MASK (~(uint64_t)0 << ID_REUSE_SHIFT) /* shard, event, use count */

/* ---- events ---------------------------------------------------------- */

struct event *event_find(const struct core *c, uint32_t event_id)
{
	uint32_t *idx;

	/* An on-sale hammers one event: try the last one found first. */
	if (c->event_count && c->events[c->last_event]->cfg.event_id == event_id)
		return c->events[c->last_event];
	idx = htab_find(&c->event_index, event_id);
	if (!idx)
		return NULL;
	((struct core *)c)->last_event = *idx; /* a cache, not state */
	return c->events[*idx];
}

struct retired *retired_find(const struct core *c, uint32_t event_id)
{
	const uint32_t *idx = htab_find(&c->retired_index, event_id);

	return idx ? c->retired[*idx] : NULL;
}

enum status event_missing(const struct core *c, uint32_t event_id)
{
	return retired_find(c, event_id) ? ST_EVENT_RETIRED : ST_EVENT_UNKNOWN;
}

/* ---- holds and customers --------------------------------------------- */

struct hold *hold_by_id(const struct event *ev, uint64_t hold_id)
{
	uint32_t slot = SLOT_OF(hold_id);

	if (slot >= ev->holds_used || hold_at(ev, slot)->id != hold_id)
		return NULL;
	return hold_at(ev, slot);
}

uint32_t customer_units(const struct event *ev, uint64_t customer_id)
{
	const uint32_t *n = htab_find(&ev->customers, customer_id);

	return n ? *n : 0;
}

/* ---- tickets --------------------------------------------------------- */

uint64_t core_order_ticket_id(uint64_t order_id, uint8_t unit)
{
	return (order_id & ORDER_BITS_MASK) | (uint64_t)(uint32_t)order_id << ID_TICKET_SLOT_SHIFT |
	       unit;
}

uint64_t order_ticket_id(const struct hold *h, uint8_t unit)
{
	return core_order_ticket_id(h->id, unit);
}

uint64_t ticket_id_of(const struct event *ev, uint32_t index)
{
	const struct ticket *tk = ticket_at(ev, index);

	assert(tk->hold != NIL);
	return order_ticket_id(hold_at(ev, tk->hold), tk->unit);
}

uint32_t tickets_free(const struct event *ev)
{
	return ev->tickets_max - ev->tickets_used + ev->tfree_count;
}

struct ticket *ticket_by_id(const struct core *c, const struct event *ev, uint64_t ticket_id,
			    uint32_t *index)
{
	uint32_t slot = (uint32_t)(ticket_id >> ID_TICKET_SLOT_SHIFT) & ID_TICKET_SLOT_MASK;
	uint8_t unit = (uint8_t)(ticket_id & ID_TICKET_UNIT_MASK);
	const struct hold *h = slot < ev->holds_used ? hold_at(ev, slot) : NULL;

	(void)c; /* the shard and event are in the order's id */
	if (!h || h->state != HOLD_CONFIRMED || unit >= h->tickets_issued ||
	    order_ticket_id(h, unit) != ticket_id)
		return NULL;
	for (uint32_t i = h->ticket_head; i != NIL; i = ticket_at(ev, i)->order_next)
		if (ticket_at(ev, i)->unit == unit) {
			*index = i;
			return ticket_at(ev, i);
		}
	return NULL; /* its slot was reused */
}

bool ticket_leaving(const struct ticket *tk)
{
	return tk->state == TICKET_VALID && tk->replaced_by == XCHG_LEAVING;
}
