/*
 * inspect.c — read-only views of a shard's state for the server (contract
 * in inspect.h). Nothing here writes to the state.
 */
#include "core/inspect.h"
#include "core/state.h"

int core_customers_each(const struct core *c, uint32_t event_id, core_customer_fn fn, void *ctx)
{
	const struct event *ev;
	const struct htab *h;

	assert(c && fn);
	ev = event_find(c, event_id);
	if (!ev)
		return -(int)event_missing(c, event_id);
	h = &ev->customers;
	uint64_t pos = 0;

	for (const struct htab_slot *e; (e = htab_next(h, &pos));) {
		int rc = e->val ? fn(ctx, e->key, e->val) : 0;

		if (rc)
			return rc;
	}
	return 0;
}

enum status core_best_probe(const struct core *c, uint32_t event_id, uint8_t tier, uint8_t qty,
			    uint8_t flags, uint32_t *score)
{
	const struct event *ev;
	uint32_t seats[HOLD_UNITS_MAX];
	enum status st;

	assert(c && score);
	ev = event_find(c, event_id);
	if (!ev)
		return event_missing(c, event_id);
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
	const struct event *ev;

	assert(c);
	ev = event_find(c, event_id);
	return ev ? ev->cfg.customer_limit : 0;
}

uint64_t core_event_starts_ms(const struct core *c, uint32_t event_id)
{
	const struct event *ev = event_find(c, event_id);

	return ev ? ev->cfg.starts_at_ms : 0;
}

uint32_t core_live_holds(const struct core *c, uint32_t event_id)
{
	const struct event *ev;

	assert(c);
	ev = event_find(c, event_id);
	return ev ? ev->live_holds : 0;
}

uint64_t core_idem_hold(const struct core *c, uint32_t event_id, uint64_t customer_id,
			uint64_t idem_key)
{
	const struct event *ev;
	const uint32_t *slot;
	const struct hold *h;

	assert(c);
	ev = event_find(c, event_id);
	if (!ev || !idem_key)
		return 0;
	slot = htab_find(&ev->idem, hold_idem_key(customer_id, idem_key));
	h = slot ? hold_at(ev, *slot) : NULL;
	return h && h->customer_id == customer_id && h->idem_key == idem_key ? h->id : 0;
}

uint64_t core_code_key(uint32_t event_id, const char *code, uint8_t len)
{
	uint8_t hash[PRESALE_CODE_HASH_BYTES];
	uint64_t key = 0;

	assert(code || len == 0);
	presale_code_hash(event_id, code, len, hash);
	memcpy(&key, hash, sizeof key);
	return key;
}

uint8_t core_code_count(const struct core *c, uint32_t event_id)
{
	const struct event *ev;

	assert(c);
	ev = event_find(c, event_id);
	return ev ? ev->code_count : 0;
}

uint32_t core_code_uses(const struct core *c, uint32_t event_id, uint8_t code_index, uint64_t *key,
			uint32_t *use_limit)
{
	const struct event *ev;
	const struct presale_code *pc;

	assert(key && use_limit);
	ev = event_find(c, event_id);
	assert(ev && code_index < ev->code_count);
	pc = &ev->codes[code_index];
	memcpy(key, pc->hash, sizeof *key);
	*use_limit = pc->use_limit;
	return pc->uses;
}

enum status core_code_window(const struct core *c, const struct cmd_hold *h, uint64_t now_ms,
			     uint8_t *code_index)
{
	const struct event *ev;

	assert(c && h && code_index);
	ev = event_find(c, h->event_id);
	*code_index = PRESALE_CODE_NONE;
	return ev ? hold_check_window(ev, h, now_ms, code_index) : event_missing(c, h->event_id);
}

uint32_t core_units_placed(const struct core *c, uint32_t event_id, uint32_t *units_max)
{
	const struct event *ev;

	assert(c && units_max);
	ev = event_find(c, event_id);
	*units_max = ev ? ev->cfg.units_max : 0;
	return ev ? ev->units_placed : 0;
}

enum status core_event_missing(const struct core *c, uint32_t event_id)
{
	assert(c && !event_find(c, event_id));
	return event_missing(c, event_id);
}

uint32_t core_tier_free(const struct core *c, uint32_t event_id, uint8_t tier,
			uint32_t *low_stock_threshold)
{
	const struct event *ev;
	const struct tier *t;

	assert(c && low_stock_threshold);
	ev = event_find(c, event_id);
	t = ev && tier < TIERS_MAX ? &ev->tiers[tier] : NULL;
	*low_stock_threshold = t && t->defined ? t->low_stock_threshold : 0;
	return t && t->defined ? t->free : 0;
}

void core_xfer_seqs(const struct core *c, uint8_t peer, struct xfer_seqs *out)
{
	const struct xfer_peer *p;

	assert(c && out);
	assert(peer < SHARDS_MAX);
	p = &c->peers[peer];
	*out = (struct xfer_seqs){p->out_seq, p->acked_seq, p->in_seq};
}
