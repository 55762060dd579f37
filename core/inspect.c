/*
 * inspect.c — read-only views of a shard's state for the server (contract
 * in inspect.h). Nothing here writes to the state.
 */
#include "core/inspect.h"
#include "core/state.h"

int core_customers_each(const struct core *c, uint32_t event_id, core_customer_fn fn, void *ctx)
{
	const struct event *ev = event_find(c, event_id);
	const struct htab *h;

	if (!ev)
		return -(int)ST_EVENT_UNKNOWN;
	h = &ev->customers;
	for (uint64_t i = 0; h->slots && i <= h->mask; i++) {
		int rc;

		if (!h->slots[i].key || !h->slots[i].val)
			continue;
		rc = fn(ctx, h->slots[i].key, h->slots[i].val);
		if (rc)
			return rc;
	}
	return 0;
}

enum status core_best_probe(const struct core *c, uint32_t event_id, uint8_t tier, uint8_t qty,
			    uint8_t flags, uint32_t *score)
{
	const struct event *ev = event_find(c, event_id);
	uint32_t seats[HOLD_UNITS_MAX];
	enum status st;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (tier >= TIERS_MAX || !ev->tiers[tier].defined)
		return ST_TIER_UNKNOWN;
	if (ev->tiers[tier].kind != TIER_RESERVED)
		return ST_TIER_KIND_MISMATCH;
	if (qty == 0 || qty > HOLD_UNITS_MAX)
		return ST_BAD_ARGUMENT;
	st = best_available(ev, tier, qty, flags, seats);
	if (st != ST_OK)
		return st;
	*score = 0;
	for (uint8_t i = 0; i < qty; i++)
		*score += ev->seats[seats[i]].rank;
	return ST_OK;
}

uint16_t core_event_limit(const struct core *c, uint32_t event_id)
{
	const struct event *ev = event_find(c, event_id);

	return ev ? ev->cfg.customer_limit : 0;
}

uint32_t core_live_holds(const struct core *c, uint32_t event_id)
{
	const struct event *ev = event_find(c, event_id);

	return ev ? ev->live_holds : 0;
}

void core_xfer_seqs(const struct core *c, uint8_t peer, struct xfer_seqs *out)
{
	const struct xfer_peer *p = &c->peers[peer];

	assert(peer < SHARDS_MAX);
	*out = (struct xfer_seqs){p->out_seq, p->acked_seq, p->in_seq};
}
