/*
 * retire.c — the end of an event: EVENT_RETIRE frees a closed event's
 * tables on a shard and keeps a small summary in their place.
 *
 * A day of on-sales creates many events; without this an event's holds,
 * tickets, seat map and hash maps would stay in memory forever. Its orders
 * and tickets stay in the WAL (the audit log), so nothing is lost that an
 * auditor needs; what queries still need is kept in a `struct retired`:
 * config, counts, and the tiers with their final statistics. The summary is
 * state (snapshots, state hash) and replay derives it the same way, so the
 * record needs no payload.
 *
 * Rules (docs/ARCHITECTURE.md, "Retired events"):
 *   - only a CLOSED event, with no live hold, and with no stock transfer
 *     this shard gave for it still unacknowledged (its redelivery after a
 *     crash would name an event the giver no longer has); both clear by
 *     themselves, so a retry succeeds;
 *   - retiring a retired event is an idempotent repeat (ok, replayed);
 *   - the id is never created again (event_retired), every command on it
 *     is refused with event_retired; Q_EVENT, Q_AVAILABILITY and Q_STATS
 *     answer from the summary;
 *   - a STOCK_IN for a retired event (the taker retired first) is applied
 *     to the summary's tier, so the giver's transfer is acknowledged and
 *     capacity over shards still adds up.
 * The event's table index is freed: the last event moves into it. Its slot
 * in ids (limits.h) is not reused until the slots have gone round once.
 */
#include <stdlib.h>
#include <string.h>

#include "core/state.h"

struct retired *retired_new(uint8_t tier_count)
{
	assert(tier_count <= TIERS_MAX);
	return calloc(1, sizeof(struct retired) + tier_count * sizeof(struct tier));
}

/* Whether a transfer this shard gave, not yet acknowledged, names the event. */
static int transfer_pending(const struct core *c, uint32_t event_id)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++) {
		const struct xfer_peer *p = &c->peers[k];

		for (uint64_t s = p->acked_seq + 1; s <= p->out_seq; s++)
			if (p->pending[s % XFER_PENDING_MAX].event_id == event_id)
				return 1;
	}
	return 0;
}

/* A ticket being exchanged to another shard (xchg.c) waits for its end. */
static bool tickets_leaving(const struct event *ev)
{
	for (uint32_t i = 0; i < ev->tickets_used; i++)
		if (ticket_leaving(ticket_at(ev, i)))
			return true;
	return false;
}

static enum status retire_refusal(const struct core *c, const struct event *ev)
{
	if (ev->cfg.state != EVENT_CLOSED)
		return ST_EVENT_NOT_CLOSED;
	if (ev->live_holds)
		return ST_EVENT_HOLDS_LIVE;
	if (transfer_pending(c, ev->cfg.event_id) || tickets_leaving(ev))
		return ST_EVENT_TRANSFER_PENDING;
	if (c->retired_count >= RETIRED_MAX)
		return ST_RETIRED_TABLE_FULL;
	return ST_OK;
}

enum status plan_retire(struct core *c, const struct cmd *cmd, struct result *res)
{
	const struct event *ev = event_find(c, cmd->query.event_id);

	if (!ev && retired_find(c, cmd->query.event_id)) {
		res->replayed = 1; /* retired before: nothing left to do */
		return ST_OK;
	}
	return ev ? retire_refusal(c, ev) : ST_EVENT_UNKNOWN;
}

static struct retired *summary_of(const struct event *ev)
{
	uint8_t count = (uint8_t)(ev->tiers_defined ? 32 - __builtin_clz(ev->tiers_defined) : 0);
	struct retired *rt = retired_new(count);

	if (!rt)
		return NULL;
	rt->cfg = ev->cfg;
	rt->units_placed = ev->units_placed;
	rt->seat_count = ev->seat_count;
	rt->tickets_issued = ev->tickets_issued;
	rt->section_count = ev->section_count;
	rt->tier_count = count;
	for (uint8_t i = 0; i < count; i++) {
		rt->tiers[i] = ev->tiers[i];
		rt->tiers[i].ord_first = rt->tiers[i].ord_count = 0; /* the seat map is gone */
		assert(rt->tiers[i].held == 0);                      /* no live hold */
	}
	return rt;
}

/* Frees the event's index: the last event moves into it. */
static void events_remove(struct core *c, struct event *ev)
{
	uint32_t *idx = htab_find(&c->event_index, ev->cfg.event_id);
	uint32_t at = *idx, last = c->event_count - 1;

	assert(c->events[at] == ev);
	htab_remove(&c->event_index, ev->cfg.event_id);
	if (at != last) {
		c->events[at] = c->events[last];
		*htab_find(&c->event_index, c->events[at]->cfg.event_id) = at;
	}
	c->events[last] = NULL;
	c->event_count--;
	c->last_event = 0;
	event_free(ev);
}

enum status apply_retire(struct core *c, const struct rec *r)
{
	struct event *ev = event_find(c, r->event_id);
	struct retired *rt;

	if (!ev || retire_refusal(c, ev) != ST_OK)
		return ST_RECORD_INVALID;
	rt = summary_of(ev);
	if (!rt)
		return ST_INTERNAL;
	if (!htab_insert(&c->retired_index, r->event_id, c->retired_count)) {
		free(rt);
		return ST_INTERNAL;
	}
	c->retired[c->retired_count++] = rt;
	events_remove(c, ev);
	return ST_OK;
}

/* STOCK_IN for a retired event, after plan_stock checked the seq and the
 * pair and found no live event: the tier must have been a GA one. */
enum status plan_retired_in(const struct core *c, const struct cmd *cmd, struct rec *r)
{
	const struct retired *rt = retired_find(c, cmd->stock.event_id);
	uint8_t tier = cmd->stock.tier;

	assert(rt);
	if (tier >= rt->tier_count || !rt->tiers[tier].defined)
		return ST_TIER_UNKNOWN;
	if (rt->tiers[tier].kind != TIER_GA)
		return ST_TIER_KIND_MISMATCH;
	r->stock = cmd->stock;
	return ST_OK;
}

enum status apply_retired_in(struct core *c, const struct rec *r)
{
	struct retired *rt = retired_find(c, r->event_id);
	struct xfer_peer *p = &c->peers[r->stock.peer_shard];
	uint64_t id = r->stock.transfer_id;
	struct tier *t;

	if (!rt || r->stock.tier >= rt->tier_count || r->stock.qty == 0 ||
	    r->stock.peer_shard >= SHARDS_MAX || r->stock.peer_shard == c->shard_id)
		return ST_RECORD_INVALID;
	t = &rt->tiers[r->stock.tier];
	if (!t->defined || t->kind != TIER_GA || XFER_TAKER(id) != c->shard_id ||
	    XFER_GIVER(id) != r->stock.peer_shard || XFER_SEQ(id) != p->in_seq + 1)
		return ST_RECORD_INVALID;
	p->in_seq = XFER_SEQ(id);
	t->free += r->stock.qty; /* unsold, as the rest of the tier's free units */
	t->capacity += r->stock.qty;
	rt->units_placed += r->stock.qty;
	return ST_OK;
}

static const char *check_summary(const struct core *c, uint32_t i)
{
	const struct retired *rt = c->retired[i];
	const uint32_t *idx = htab_find(&c->retired_index, rt->cfg.event_id);

	if (!idx || *idx != i || event_find(c, rt->cfg.event_id) || rt->cfg.state != EVENT_CLOSED)
		return "a retired event is not indexed, or is also live";
	for (uint8_t k = 0; k < rt->tier_count; k++) {
		const struct tier *t = &rt->tiers[k];
		uint64_t sold = 0, held = 0;

		for (unsigned ch = 0; ch < CHANNELS; ch++) {
			sold += t->ch[ch].sold;
			held += t->ch[ch].held;
		}
		if ((uint64_t)t->free + t->held + t->sold + t->killed != t->capacity)
			return "a retired tier is not conserved";
		if (t->defined && (t->held || held || sold != t->sold))
			return "a retired tier holds units or its channels disagree";
	}
	return NULL;
}

const char *retired_check(const struct core *c)
{
	if (c->retired_count > RETIRED_MAX || c->retired_index.count != c->retired_count)
		return "retired table out of range";
	for (uint32_t i = 0; i < c->retired_count; i++) {
		const char *bad = check_summary(c, i);

		if (bad)
			return bad;
	}
	return NULL;
}
