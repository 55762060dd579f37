/*
 * core.c — the state machine's entry points: execute a command, apply a
 * record, and the dispatch between them.
 *
 * Execute = plan (validate and decide) + encode the record + apply it. Apply
 * is the only code that mutates state, and replay runs the same apply, so a
 * replayed shard is the live shard.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/state.h"

struct core *core_create(uint8_t shard_id)
{
	struct core *c;

	assert(shard_id < SHARDS_MAX);
	if (sodium_init() < 0)
		return NULL;
	c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->shard_id = shard_id;
	c->peers = calloc(SHARDS_MAX, sizeof *c->peers);
	c->retired = calloc(RETIRED_MAX, sizeof *c->retired);
	if (!c->peers || !c->retired || htab_init(&c->event_index, EVENTS_MAX) ||
	    htab_init(&c->retired_index, RETIRED_MAX)) {
		core_destroy(c);
		return NULL;
	}
	return c;
}

void core_destroy(struct core *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->event_count; i++)
		event_free(c->events[i]);
	for (uint32_t i = 0; c->retired && i < c->retired_count; i++)
		free(c->retired[i]);
	htab_fini(&c->event_index);
	htab_fini(&c->retired_index);
	free(c->retired);
	free(c->peers);
	free(c);
}

uint32_t core_event_ids(const struct core *c, uint32_t *out, uint32_t cap)
{
	assert(c && (out || cap == 0));
	for (uint32_t i = 0; i < c->event_count && i < cap; i++)
		out[i] = c->events[i]->cfg.event_id;
	return c->event_count;
}

uint32_t core_retired_ids(const struct core *c, uint32_t *out, uint32_t cap)
{
	assert(c && (out || cap == 0));
	for (uint32_t i = 0; i < c->retired_count && i < cap; i++)
		out[i] = c->retired[i]->cfg.event_id;
	return c->retired_count;
}

uint8_t core_shard_id(const struct core *c)
{
	assert(c);
	return c->shard_id;
}

static enum status apply_one(struct core *c, const struct rec *r, uint32_t *alerts)
{
	switch (r->type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE: return apply_event(c, r);
	case CMD_TIER_ADD: return apply_tier(c, r, alerts);
	case CMD_SECTION_LOAD: return apply_section(c, r, alerts);
	case CMD_PRESALE_CODE_ADD: return apply_code(c, r);
	case CMD_EVENT_RETIRE: return apply_retire(c, r);
	case CMD_HOLD: return apply_hold(c, r, alerts);
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE: return apply_hold_ref(c, r, alerts);
	case CMD_CONFIRM: return apply_confirm(c, r);
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE: return apply_ticket(c, r, alerts);
	case CMD_STOCK_IN:
		if (!event_find(c, r->event_id) && retired_find(c, r->event_id))
			return apply_retired_in(c, r);
		return apply_stock(c, r, alerts);
	case CMD_STOCK_OUT:
	case CMD_STOCK_ACK: return apply_stock(c, r, alerts);
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END: return apply_xchg(c, r, alerts);
	}
	return ST_RECORD_INVALID;
}

/* A shard that gains units (a GA tier, a section, stock from a peer) sizes
 * its hold and ticket tables for them now, not on the hold that first
 * crosses into a new chunk: allocating and zeroing 2 MiB costs the shard's
 * loop up to milliseconds, which a sale must not wait for (memory only; the
 * state and its hash do not change). */
static enum status apply_rec(struct core *c, const struct rec *r, uint32_t *alerts)
{
	enum status st = apply_one(c, r, alerts);
	struct event *ev;

	if (st == ST_OK &&
	    (r->type == CMD_TIER_ADD || r->type == CMD_SECTION_LOAD || r->type == CMD_STOCK_IN) &&
	    (ev = event_find(c, r->event_id)))
		event_tables_fit(ev);
	return st;
}

enum status core_apply(struct core *c, const uint8_t *body, size_t len)
{
	struct rec r;
	enum status st = rec_decode(body, len, &r);

	assert(c && body);
	return st == ST_OK ? apply_rec(c, &r, NULL) : st;
}

static enum status plan(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
			struct result *res)
{
	enum status st;

	switch (cmd->type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE: return plan_event(c, cmd, now, r);
	case CMD_TIER_ADD: return plan_tier(c, cmd, r);
	case CMD_SECTION_LOAD: return plan_section(c, cmd, r);
	case CMD_PRESALE_CODE_ADD: return plan_code(c, cmd, r);
	case CMD_EVENT_RETIRE: return plan_retire(c, cmd, res);
	case CMD_HOLD: return plan_hold(c, cmd, now, r, res);
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE: return plan_hold_ref(c, cmd, now, r, res);
	case CMD_CONFIRM:
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE: return plan_ticket(c, cmd, now, r, res);
	case CMD_STOCK_IN:
		st = plan_stock(c, cmd, r, res);
		/* the taker retired the event first: the units go to its summary */
		if (st == ST_EVENT_UNKNOWN && retired_find(c, cmd->stock.event_id))
			st = plan_retired_in(c, cmd, r);
		return st;
	case CMD_STOCK_OUT:
	case CMD_STOCK_ACK: return plan_stock(c, cmd, r, res);
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END: return plan_xchg(c, cmd, now, r, res);
	}
	return ST_BAD_COMMAND;
}

/* A retired event's id refuses every change but these: retiring it again
 * (an idempotent repeat) and stock moving in or acknowledged. */
static int refused_as_retired(const struct core *c, const struct cmd *cmd)
{
	switch (cmd->type) {
	case CMD_EVENT_RETIRE:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK: return 0;
	}
	return retired_find(c, cmd->event.event_id) != NULL;
}

/* The result of a change that was applied. */
static void view_applied(const struct core *c, const struct rec *r, struct result *res)
{
	const struct event *ev = event_find(c, r->event_id);
	uint32_t index;

	switch (r->type) {
	case CMD_HOLD:
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: view_hold(ev, hold_by_id(ev, r->end.hold_id), &res->hold); break;
	case CMD_REDEEM:
	case CMD_REFUND:
		ticket_by_id(c, ev, r->redeem.ticket_id, &index);
		view_ticket(c, ev, index, &res->ticket);
		break;
	case CMD_EXCHANGE:
		ticket_by_id(c, ev, r->exchange.new_ticket_id, &index);
		view_ticket(c, ev, index, &res->ticket);
		break;
	case CMD_XCHG_IN:
		ticket_by_id(c, ev, order_ticket_id(hold_by_id(ev, r->xchg.new_id), 0), &index);
		view_ticket(c, ev, index, &res->ticket);
		break;
	case CMD_XCHG_OUT:
	case CMD_XCHG_END:
		ticket_by_id(c, ev, r->xchg.ticket_id, &index);
		view_ticket(c, ev, index, &res->ticket);
		break;
	case CMD_STOCK_OUT:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK: res->stock = r->stock; break;
	case CMD_SECTION_LOAD:
		res->section.seat_first = ev->sections[r->section.section].first_seat;
		res->section.seat_count = ev->sections[r->section.section].seat_count;
		break;
	}
}

enum status core_execute(struct core *c, const struct cmd *cmd, uint64_t now_ms, struct result *res,
			 struct rec_buf *rec)
{
	struct rec r;
	enum status st;

	assert(c && cmd && res && rec);
	res->replayed = 0;
	res->low_stock_tiers = 0;
	rec->len = 0;
	if (CMD_IS_QUERY(cmd->type))
		return res->status = query(c, cmd, res);
	r.type = cmd->type;
	r.event_id = cmd->event.event_id; /* every command starts with its event id */
	r.now_ms = now_ms;
	st = refused_as_retired(c, cmd) ? ST_EVENT_RETIRED : plan(c, cmd, now_ms, &r, res);
	if (st != ST_OK || res->replayed)
		return res->status = st;
	assert(rec->cap >= RECORD_BYTES_MAX);
	rec->len = (uint32_t)rec_encode(&r, &cmd->section, rec->bytes, rec->cap);
	if (r.type == CMD_SECTION_LOAD)
		st = rec_decode(rec->bytes, rec->len, &r); /* apply reads seats from the record */
	if (st == ST_OK)
		st = apply_rec(c, &r, &res->low_stock_tiers);
	assert(st == ST_OK || st == ST_INTERNAL); /* plan decided something apply refuses */
	if (st != ST_OK) {
		rec->len = 0;
		return res->status = st;
	}
	view_applied(c, &r, res);
	return res->status = ST_OK;
}
