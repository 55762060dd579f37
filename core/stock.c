/*
 * stock.c — GA stock moved between shards.
 *
 * A GA tier's capacity is split into per-shard allotments. A shard that runs
 * short asks a peer; the peer gives units out of its free stock (STOCK_OUT,
 * logged on its WAL) and the asker adds them (STOCK_IN, logged on its own).
 * Each side's tier stays conserved: capacity moves with the free units. The
 * transfer id ties the two records together so recovery can finish a
 * transfer a crash cut in half (net/, not here).
 */
#include "core/state.h"

enum status plan_stock(struct core *c, const struct cmd *cmd, struct rec *r)
{
	const struct cmd_stock *s = &cmd->stock;
	const struct event *ev = event_find(c, s->event_id);
	const struct tier *t;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (s->tier >= TIERS_MAX || !ev->tiers[s->tier].defined)
		return ST_TIER_UNKNOWN;
	t = &ev->tiers[s->tier];
	if (t->kind != TIER_GA)
		return ST_TIER_KIND_MISMATCH;
	if (s->qty == 0 || s->transfer_id == 0 || s->peer_shard >= SHARDS_MAX)
		return ST_BAD_ARGUMENT;
	if (cmd->type == CMD_STOCK_OUT && t->free < s->qty)
		return ST_SOLD_OUT;
	if (cmd->type == CMD_STOCK_IN && (uint64_t)ev->units_placed + s->qty > ev->cfg.units_max)
		return ST_EVENT_FULL;
	r->stock = *s;
	return ST_OK;
}

enum status apply_stock(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct tier *t = ev ? &ev->tiers[r->stock.tier] : NULL;
	uint32_t q = r->stock.qty;

	if (!t || !t->defined || t->kind != TIER_GA || q == 0)
		return ST_RECORD_INVALID;
	if (r->type == CMD_STOCK_OUT) {
		if (t->free < q)
			return ST_RECORD_INVALID;
		t->free -= q;
		t->capacity -= q;
		ev->units_placed -= q;
	} else {
		if ((uint64_t)ev->units_placed + q > ev->cfg.units_max)
			return ST_RECORD_INVALID;
		t->free += q;
		t->capacity += q;
		ev->units_placed += q;
	}
	tier_check_low_stock(ev, r->stock.tier, alerts);
	return ST_OK;
}
