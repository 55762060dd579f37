/*
 * event.c — events, tiers and presale codes: the admin side of the state
 * machine, and the allocation of every per-event table.
 *
 * An event's tables are bounded by its declared `units_max` but take memory
 * as they fill: the seat map at its first section, the hold and ticket
 * tables chunk by chunk as they first grow into a chunk (event_*_ensure),
 * the hash maps a segment at a time as their keys arrive (htab.h). Once a
 * table has stopped growing the sales commands allocate nothing.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/state.h"

/* Bytes of chunk i of a table of max slots: whole chunks but the last,
 * which may be cut to max (a whole one asks for the whole huge page its
 * slots nearly fill). */
static size_t chunk_bytes(uint32_t i, uint32_t per_chunk, uint32_t max, size_t slot_bytes)
{
	uint32_t slots = max - i * per_chunk < per_chunk ? max - i * per_chunk : per_chunk;

	return slots == per_chunk ? TABLE_CHUNK_BYTES : slot_bytes * slots;
}

void event_free(struct event *ev)
{
	if (!ev)
		return;
	htab_fini(&ev->idem);
	htab_fini(&ev->customers);
	for (uint32_t i = 0; ev->hold_chunks && i < ev->hold_chunk_count; i++)
		mem_table_free(ev->hold_chunks[i], chunk_bytes(i, HOLD_CHUNK_SLOTS, ev->holds_max,
							       sizeof(struct hold)));
	for (uint32_t i = 0; ev->ticket_chunks && i < ev->ticket_chunk_count; i++)
		mem_table_free(ev->ticket_chunks[i],
			       chunk_bytes(i, TICKET_CHUNK_SLOTS, ev->tickets_max,
					   sizeof(struct ticket)));
	free(ev->hold_chunks);
	free(ev->ticket_chunks);
	free(ev->sections);
	free(ev->seats);
	free(ev->rows);
	free(ev->segs);
	free(ev->ord_seg);
	free(ev->ord_run);
	free(ev->group_run);
	free(ev);
}

static uint32_t chunks_for(uint32_t slots, uint32_t per_chunk)
{
	return (slots + per_chunk - 1) / per_chunk;
}

/* A table of max slots of slot_bytes, in chunks of per_chunk slots. */
struct chunked {
	void **chunks;
	uint32_t *count;
	uint32_t per_chunk, max;
	size_t slot_bytes;
};

/* Allocates chunks until they cover n slots; the last one is cut to max. */
static int chunks_ensure(const struct chunked *t, uint32_t n)
{
	assert(n <= t->max);
	while (*t->count < chunks_for(n, t->per_chunk)) {
		size_t bytes = chunk_bytes(*t->count, t->per_chunk, t->max, t->slot_bytes);
		void *p = mem_table_alloc(bytes);

		if (!p)
			return -ENOMEM;
		mem_table_fork(p, bytes, false);
		t->chunks[(*t->count)++] = p;
	}
	return 0;
}

int event_holds_grow(struct event *ev, uint32_t n)
{
	struct chunked t = {(void **)ev->hold_chunks, &ev->hold_chunk_count, HOLD_CHUNK_SLOTS,
			    ev->holds_max, sizeof(struct hold)};

	return chunks_ensure(&t, n);
}

int event_tickets_grow(struct event *ev, uint32_t n)
{
	struct chunked t = {(void **)ev->ticket_chunks, &ev->ticket_chunk_count, TICKET_CHUNK_SLOTS,
			    ev->tickets_max, sizeof(struct ticket)};

	return chunks_ensure(&t, n);
}

static void chunks_each(void *const *chunks, uint32_t count, uint32_t per_chunk, uint32_t max,
			size_t slot_bytes, mem_range_fn *fn, void *ctx)
{
	for (uint32_t i = 0; i < count; i++)
		fn(ctx, chunks[i], chunk_bytes(i, per_chunk, max, slot_bytes));
}

void event_tables_each(const struct core *c, mem_range_fn *fn, void *ctx)
{
	for (uint32_t i = 0; i < c->event_count; i++) {
		const struct event *ev = c->events[i];
		chunks_each((void *const *)ev->hold_chunks, ev->hold_chunk_count, HOLD_CHUNK_SLOTS,
			    ev->holds_max, sizeof(struct hold), fn, ctx);
		chunks_each((void *const *)ev->ticket_chunks, ev->ticket_chunk_count,
			    TICKET_CHUNK_SLOTS, ev->tickets_max, sizeof(struct ticket), fn, ctx);
		htab_slabs_each(&ev->idem, fn, ctx);
		htab_slabs_each(&ev->customers, fn, ctx);
	}
}

void event_tables_fit(struct event *ev)
{
	/* released and expired holds take fresh slots until the table is full:
	 * two per unit covers a sale with churn, as the whole table once did */
	uint64_t holds = 2ull * ev->units_placed + HOLDS_RETAINED_MIN;
	uint64_t tickets = ev->units_placed;

	/* a failure here only leaves the growth to the hold or ticket that needs it */
	(void)event_holds_grow(ev, (uint32_t)(holds < ev->holds_max ? holds : ev->holds_max));
	(void)event_tickets_grow(ev,
				 (uint32_t)(tickets < ev->tickets_max ? tickets : ev->tickets_max));
	/* a customer per unit and a key per hold slot split the maps no further */
	(void)htab_grow(&ev->customers, ev->units_placed);
	(void)htab_grow(&ev->idem, (uint32_t)(holds < ev->holds_max ? holds : ev->holds_max));
}

struct event *event_new(const struct cmd_event *cfg)
{
	struct event *ev = calloc(1, sizeof *ev);

	if (!ev)
		return NULL;
	ev->cfg = *cfg;
	ev->holds_max = cfg->units_max * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN;
	ev->tickets_max = cfg->units_max * TICKETS_PER_UNIT_MAX;
	ev->ended_head = ev->ended_tail = NIL;
	ev->tfree_head = ev->tfree_tail = NIL;
	memset(ev->wheel, 0xff, sizeof ev->wheel);
	ev->hold_chunks = calloc(chunks_for(ev->holds_max, HOLD_CHUNK_SLOTS),
				 sizeof *ev->hold_chunks);
	ev->ticket_chunks = calloc(chunks_for(ev->tickets_max, TICKET_CHUNK_SLOTS),
				   sizeof *ev->ticket_chunks);
	/* an idempotency key per hold slot, and a spare: a hold reserves room
	 * for its key before the ended hold whose slot it takes lets go of its
	 * own (apply_hold) */
	if (!ev->hold_chunks || !ev->ticket_chunks || htab_init(&ev->idem, ev->holds_max + 1) ||
	    htab_init(&ev->customers, cfg->units_max)) {
		event_free(ev);
		return NULL;
	}
	return ev;
}

static enum status check_event(const struct cmd_event *e)
{
	if (e->state >= EVENT_STATE_COUNT || e->customer_limit > CUSTOMER_LIMIT_MAX)
		return ST_BAD_ARGUMENT;
	if (e->hold_ttl_ms &&
	    (e->hold_ttl_ms < HOLD_TTL_MS_MIN || e->hold_ttl_ms > HOLD_TTL_MS_MAX))
		return ST_BAD_ARGUMENT;
	if (e->presale_start_ms > e->public_start_ms)
		return ST_BAD_ARGUMENT;
	if (e->sales_end_ms && e->sales_end_ms <= e->public_start_ms)
		return ST_BAD_ARGUMENT;
	return ST_OK;
}

enum status plan_event(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r)
{
	const struct cmd_event *e = &cmd->event;
	const struct event *ev = event_find(c, e->event_id);
	enum status st = check_event(e);

	(void)now;
	if (st != ST_OK || e->event_id == 0)
		return ST_BAD_ARGUMENT;
	if (cmd->type == CMD_EVENT_CREATE) {
		if (ev)
			return ST_EVENT_EXISTS;
		if (retired_find(c, e->event_id))
			return ST_EVENT_RETIRED; /* an id is never used twice */
		if (c->event_count >= EVENTS_MAX)
			return ST_EVENT_TABLE_FULL;
		if (e->units_max == 0 || e->units_max > EVENT_UNITS_MAX)
			return ST_BAD_ARGUMENT;
	} else if (!ev) {
		return event_missing(c, e->event_id);
	}
	r->event = *e;
	if (ev)
		r->event.units_max = ev->cfg.units_max;
	if (!r->event.hold_ttl_ms)
		r->event.hold_ttl_ms = HOLD_TTL_MS_DEFAULT;
	return ST_OK;
}

uint8_t event_slot_pick(struct core *c)
{
	uint8_t used[256] = {0}; /* by slot: a snapshot's slots need not be below EVENTS_MAX */
	unsigned slot = c->slot_next;

	assert(c->event_count < EVENTS_MAX);
	for (uint32_t i = 0; i < c->event_count; i++)
		used[c->events[i]->slot] = 1;
	while (slot >= EVENTS_MAX || used[slot])
		slot = slot + 1 >= EVENTS_MAX ? 0 : slot + 1;
	c->slot_next = (uint8_t)(slot + 1 >= EVENTS_MAX ? 0 : slot + 1);
	return (uint8_t)slot;
}

enum status apply_event(struct core *c, const struct rec *r)
{
	struct event *ev = event_find(c, r->event_id);

	if (r->event.hold_ttl_ms < HOLD_TTL_MS_MIN || check_event(&r->event) != ST_OK)
		return ST_RECORD_INVALID;
	if (r->type == CMD_EVENT_UPDATE) {
		if (!ev || r->event.units_max != ev->cfg.units_max)
			return ST_RECORD_INVALID;
		ev->cfg = r->event;
		return ST_OK;
	}
	if (ev || c->event_count >= EVENTS_MAX || r->event.units_max == 0 ||
	    r->event.units_max > EVENT_UNITS_MAX || r->event_id == 0 ||
	    retired_find(c, r->event_id))
		return ST_RECORD_INVALID;
	ev = event_new(&r->event);
	if (!ev)
		return ST_INTERNAL;
	if (!htab_insert(&c->event_index, r->event_id, c->event_count)) {
		event_free(ev);
		return ST_INTERNAL;
	}
	ev->slot = event_slot_pick(c);
	c->events[c->event_count++] = ev;
	return ST_OK;
}

enum status plan_tier(struct core *c, const struct cmd *cmd, struct rec *r)
{
	const struct cmd_tier *t = &cmd->tier;
	const struct event *ev = event_find(c, t->event_id);

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (t->tier >= TIERS_MAX || t->kind > TIER_RESERVED)
		return ST_BAD_ARGUMENT;
	if (ev->tiers[t->tier].defined)
		return ST_TIER_EXISTS;
	if (t->kind == TIER_GA && t->capacity == 0)
		return ST_BAD_ARGUMENT;
	if (t->kind == TIER_RESERVED && t->capacity != 0)
		return ST_BAD_ARGUMENT; /* a reserved tier's capacity is its seats */
	if ((uint64_t)ev->units_placed + t->capacity > ev->cfg.units_max)
		return ST_EVENT_FULL;
	r->tier = *t;
	return ST_OK;
}

enum status apply_tier(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct tier *t;

	if (!ev || ev->tiers[r->tier.tier].defined ||
	    (r->tier.kind == TIER_GA) != (r->tier.capacity != 0) ||
	    (uint64_t)ev->units_placed + r->tier.capacity > ev->cfg.units_max)
		return ST_RECORD_INVALID;
	t = &ev->tiers[r->tier.tier];
	t->defined = 1;
	t->kind = r->tier.kind;
	t->price_minor = r->tier.price_minor;
	t->low_stock_threshold = r->tier.low_stock_threshold;
	t->capacity = t->free = r->tier.capacity;
	memcpy(t->name, r->tier.name, NAME_BYTES);
	ev->units_placed += r->tier.capacity;
	ev->tiers_defined |= 1u << r->tier.tier;
	/* A reserved tier has no seats yet: being empty now is not news. */
	tier_check_low_stock(ev, r->tier.tier, t->kind == TIER_GA ? alerts : NULL);
	return ST_OK;
}

void tier_check_low_stock(struct event *ev, uint8_t tier, uint32_t *alerts)
{
	struct tier *t = &ev->tiers[tier];
	uint8_t low = t->free < t->low_stock_threshold;

	if (low && !t->low_stock && alerts)
		*alerts |= 1u << tier;
	t->low_stock = low;
}

/* BLAKE2b-256 of the event id and the code: codes are never stored in the
 * clear, and the same code hashes differently in two events. */
void presale_code_hash(uint32_t event_id, const char *code, uint8_t len, uint8_t *out)
{
	crypto_generichash_state st;
	uint8_t id[4];

	put_u32(id, event_id);
	crypto_generichash_init(&st, NULL, 0, PRESALE_CODE_HASH_BYTES);
	crypto_generichash_update(&st, id, sizeof id);
	crypto_generichash_update(&st, (const uint8_t *)code, len);
	crypto_generichash_final(&st, out, PRESALE_CODE_HASH_BYTES);
}

enum status plan_code(struct core *c, const struct cmd *cmd, struct rec *r)
{
	const struct cmd_presale_code *pc = &cmd->code;
	const struct event *ev = event_find(c, pc->event_id);

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (pc->code_len == 0 || pc->code_len > PRESALE_CODE_BYTES_MAX)
		return ST_BAD_ARGUMENT;
	if (ev->code_count >= PRESALE_CODES_MAX)
		return ST_PRESALE_CODE_TABLE_FULL;
	presale_code_hash(pc->event_id, pc->code, pc->code_len, r->code.hash);
	for (uint8_t i = 0; i < ev->code_count; i++)
		if (sodium_memcmp(ev->codes[i].hash, r->code.hash, PRESALE_CODE_HASH_BYTES) == 0)
			return ST_PRESALE_CODE_EXISTS;
	r->code.code_index = ev->code_count;
	r->code.use_limit = pc->use_limit;
	return ST_OK;
}

enum status apply_code(struct core *c, const struct rec *r)
{
	struct event *ev = event_find(c, r->event_id);
	struct presale_code *pc;

	if (!ev || r->code.code_index != ev->code_count)
		return ST_RECORD_INVALID;
	pc = &ev->codes[ev->code_count++];
	memcpy(pc->hash, r->code.hash, PRESALE_CODE_HASH_BYTES);
	pc->use_limit = r->code.use_limit;
	pc->uses = 0;
	return ST_OK;
}
