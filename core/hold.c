/*
 * hold.c — holds: taking GA units or seats for a customer while they pay,
 * extending, releasing and expiring them; the timer wheel; customer counts.
 *
 * A hold's id carries its pool slot (layout in limits.h; the slot's use
 * count starts at 1, so no id is 0). Ids are decided in plan, so replay puts
 * every hold in the slot it had. A live hold reserves a ticket slot per unit
 * (tickets_reserved) and is refused when they are not there, so its confirm
 * never is. Expiry is decided by core_next_expiry reading the wheel and is
 * written to the WAL like any other change.
 */
#include <string.h>
#include <sodium.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/state.h"

#define REUSE_OF(id) ((uint32_t)((id) >> ID_REUSE_SHIFT) & ID_REUSE_MASK)

uint64_t hold_idem_key(uint64_t customer_id, uint64_t key)
{
	uint64_t both[2] = {customer_id, key};
	uint64_t h = XXH3_64bits(both, sizeof both);

	return h ? h : 1;
}

int customer_room(struct event *ev, uint64_t customer_id)
{
	return htab_reserve(&ev->customers, customer_id);
}

void customer_add(struct event *ev, uint64_t customer_id, int32_t delta)
{
	uint32_t *n;

	if (delta > 0) {
		n = htab_upsert(&ev->customers, customer_id);
		assert(n); /* room reserved by apply_hold, or by a snapshot's reader */
		*n += (uint32_t)delta;
		return;
	}
	n = htab_find(&ev->customers, customer_id);
	assert(n && *n >= (uint32_t)-delta);
	*n -= (uint32_t)-delta;
	if (*n == 0)
		htab_remove(&ev->customers, customer_id);
}

static uint32_t wheel_slot(uint64_t at_ms)
{
	return (uint32_t)(at_ms / WHEEL_TICK_MS) & (WHEEL_SLOTS - 1);
}

void wheel_insert(struct event *ev, uint32_t slot)
{
	struct hold *h = hold_at(ev, slot);
	uint32_t *head = &ev->wheel[wheel_slot(h->expires_at_ms)];

	h->wheel_prev = NIL;
	h->wheel_next = *head;
	if (*head != NIL)
		hold_at(ev, *head)->wheel_prev = slot;
	*head = slot;
}

void wheel_remove(struct event *ev, uint32_t slot)
{
	struct hold *h = hold_at(ev, slot);

	if (h->wheel_prev != NIL)
		hold_at(ev, h->wheel_prev)->wheel_next = h->wheel_next;
	else
		ev->wheel[wheel_slot(h->expires_at_ms)] = h->wheel_next;
	if (h->wheel_next != NIL)
		hold_at(ev, h->wheel_next)->wheel_prev = h->wheel_prev;
	h->wheel_prev = h->wheel_next = NIL;
}

/* The first due hold of ev at now, or NIL. Drains whole past ticks. */
static uint32_t wheel_due(struct event *ev, uint64_t now)
{
	uint64_t tick_now = now / WHEEL_TICK_MS;

	if (ev->wheel_tick + WHEEL_SLOTS <= tick_now)
		ev->wheel_tick = tick_now - WHEEL_SLOTS + 1; /* one full turn sees every slot */
	for (;;) {
		for (uint32_t s = ev->wheel[ev->wheel_tick & (WHEEL_SLOTS - 1)]; s != NIL;
		     s = hold_at(ev, s)->wheel_next)
			if (hold_at(ev, s)->expires_at_ms <= now)
				return s;
		if (ev->wheel_tick >= tick_now)
			return NIL;
		ev->wheel_tick++;
	}
}

int core_next_expiry(struct core *c, uint64_t now_ms, struct cmd *cmd)
{
	assert(c && cmd);
	for (uint32_t i = 0; i < c->event_count; i++) {
		struct event *ev = c->events[i];
		uint32_t slot;

		if (ev->live_holds == 0)
			continue;
		slot = wheel_due(ev, now_ms);
		if (slot == NIL)
			continue;
		memset(cmd, 0, sizeof *cmd);
		cmd->type = CMD_HOLD_EXPIRE;
		cmd->ref.event_id = ev->cfg.event_id;
		cmd->ref.hold_id = hold_at(ev, slot)->id;
		return 1;
	}
	return 0;
}

enum status hold_check_window(const struct event *ev, const struct cmd_hold *h, uint64_t now,
			      uint8_t *code_index)
{
	uint8_t hash[PRESALE_CODE_HASH_BYTES];

	*code_index = PRESALE_CODE_NONE;
	if (ev->cfg.state != EVENT_ON_SALE)
		return ST_EVENT_NOT_ON_SALE;
	if (now < ev->cfg.presale_start_ms)
		return ST_SALES_NOT_STARTED;
	if (ev->cfg.sales_end_ms && now >= ev->cfg.sales_end_ms)
		return ST_SALES_ENDED;
	if (now >= ev->cfg.public_start_ms || h->channel == CHANNEL_BOX_OFFICE)
		return ST_OK;
	if (h->code_len == 0)
		return ST_PRESALE_CODE_REQUIRED;
	presale_code_hash(ev->cfg.event_id, h->code, h->code_len, hash);
	for (uint8_t i = 0; i < ev->code_count; i++) {
		const struct presale_code *pc = &ev->codes[i];

		if (sodium_memcmp(pc->hash, hash, sizeof hash) != 0)
			continue;
		if (pc->use_limit && pc->uses >= pc->use_limit)
			return ST_PRESALE_CODE_EXHAUSTED;
		*code_index = i;
		return ST_OK;
	}
	return ST_PRESALE_CODE_INVALID;
}

static enum status pick_seats(const struct event *ev, const struct cmd_hold *h, uint32_t *seats)
{
	const struct tier *t = &ev->tiers[h->tier];

	if (h->mode == HOLD_GA) {
		if (t->kind != TIER_GA)
			return ST_TIER_KIND_MISMATCH;
		seats[0] = SEAT_NONE;
		return t->free < h->qty ? ST_SOLD_OUT : ST_OK;
	}
	if (t->kind != TIER_RESERVED)
		return ST_TIER_KIND_MISMATCH;
	if (h->mode == HOLD_BEST) {
		if (t->free < h->qty)
			return ST_SOLD_OUT;
		return best_available(ev, h->tier, h->qty, h->flags, seats);
	}
	for (uint8_t i = 0; i < h->qty; i++) {
		uint32_t s = h->seats[i];

		if (s >= ev->seat_count)
			return ST_SEAT_UNKNOWN;
		if (ev->seats[s].tier != h->tier)
			return ST_BAD_ARGUMENT;
		for (uint8_t j = 0; j < i; j++)
			if (h->seats[j] == s)
				return ST_BAD_ARGUMENT;
		if (ev->seats[s].state != SEAT_FREE)
			return ST_SEAT_UNAVAILABLE;
		seats[i] = s;
	}
	return ST_OK;
}

static enum status check_hold_args(const struct event *ev, const struct cmd_hold *h, uint32_t *ttl)
{
	*ttl = h->ttl_ms ? h->ttl_ms : ev->cfg.hold_ttl_ms;
	if (h->customer_id == 0 || h->channel >= CHANNELS || h->qty == 0 ||
	    h->qty > HOLD_UNITS_MAX || h->mode > HOLD_BEST ||
	    h->code_len > PRESALE_CODE_BYTES_MAX || (h->flags & ~HOLD_F_ACCESSIBLE) ||
	    *ttl < HOLD_TTL_MS_MIN || *ttl > HOLD_TTL_MS_MAX)
		return ST_BAD_ARGUMENT;
	if (h->tier >= TIERS_MAX || !ev->tiers[h->tier].defined)
		return ST_TIER_UNKNOWN;
	return ST_OK;
}

/* The slot a new hold takes, and its id; NIL when the pool is full of live
 * holds and orders. */
uint32_t hold_next_id(const struct core *c, const struct event *ev, uint64_t *id)
{
	uint32_t slot, reuse = 1; /* from 1, so no hold id is 0 */

	if (ev->holds_used < ev->holds_max) {
		slot = ev->holds_used;
	} else if (ev->ended_head != NIL) {
		slot = ev->ended_head;
		reuse = hold_at(ev, slot)->reuse % ID_REUSE_MASK + 1;
	} else {
		return NIL;
	}
	*id = (uint64_t)c->shard_id << ID_SHARD_SHIFT | (uint64_t)ev->slot << ID_EVENT_SHIFT |
	      (uint64_t)reuse << ID_REUSE_SHIFT | slot;
	return slot;
}

enum status plan_hold(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
		      struct result *res)
{
	const struct cmd_hold *h = &cmd->hold;
	const struct event *ev = event_find(c, h->event_id);
	uint32_t ttl;
	enum status st;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	st = check_hold_args(ev, h, &ttl);
	if (st != ST_OK)
		return st;
	if (h->idem_key) {
		const uint32_t *slot = htab_find(&ev->idem,
						 hold_idem_key(h->customer_id, h->idem_key));
		const struct hold *old = slot ? hold_at(ev, *slot) : NULL;

		if (old && old->customer_id == h->customer_id && old->idem_key == h->idem_key) {
			view_hold(ev, old, &res->hold);
			res->replayed = 1;
			return ST_OK;
		}
		if (old)
			return ST_BAD_ARGUMENT; /* a 64-bit key collision: refuse, never mix holds */
	}
	st = hold_check_window(ev, h, now, &r->hold.code_index);
	if (st != ST_OK)
		return st;
	if (ev->cfg.customer_limit &&
	    customer_units(ev, h->customer_id) + h->qty > ev->cfg.customer_limit)
		return ST_CUSTOMER_LIMIT;
	st = pick_seats(ev, h, r->hold.seats);
	if (st != ST_OK)
		return st;
	if (hold_next_id(c, ev, &r->hold.hold_id) == NIL)
		return ST_HOLD_TABLE_FULL;
	if (ev->tickets_reserved + h->qty > tickets_free(ev))
		return ST_TICKET_TABLE_FULL; /* its confirm could not issue the tickets */
	r->hold.customer_id = h->customer_id;
	r->hold.idem_key = h->idem_key;
	r->hold.expires_at_ms = now + ttl;
	r->hold.tier = h->tier;
	r->hold.channel = h->channel;
	r->hold.qty = h->qty;
	return ST_OK;
}

/* Checks that a decided hold fits the state before anything changes. */
static int hold_fits(const struct core *c, const struct event *ev, const struct rec *r)
{
	const struct tier *t = &ev->tiers[r->hold.tier];
	uint64_t id;
	uint32_t slot = hold_next_id(c, ev, &id);

	if (slot == NIL || id != r->hold.hold_id || !t->defined || t->free < r->hold.qty ||
	    r->hold.customer_id == 0 || ev->tickets_reserved + r->hold.qty > tickets_free(ev))
		return 0;
	if ((t->kind == TIER_GA) != (r->hold.seats[0] == SEAT_NONE))
		return 0;
	if (r->hold.code_index != PRESALE_CODE_NONE && r->hold.code_index >= ev->code_count)
		return 0;
	for (uint8_t i = 0; t->kind == TIER_RESERVED && i < r->hold.qty; i++) {
		uint32_t s = r->hold.seats[i];

		if (s >= ev->seat_count || ev->seats[s].tier != r->hold.tier ||
		    ev->seats[s].state != SEAT_FREE)
			return 0;
		for (uint8_t j = 0; j < i; j++)
			if (r->hold.seats[j] == s)
				return 0; /* one seat taken twice: free would count it twice */
	}
	return 1;
}

/* Frees a slot for reuse: the oldest ended hold is forgotten. An order's
 * tickets still stored (all refunded or exchanged) lose their order: their
 * ids no longer match, and their slots are already queued for reuse. Each
 * keeps its id, as revoked: its token still verifies offline, so scanners
 * must still be told (revoked.c). */
static void slot_take(struct event *ev, uint32_t slot)
{
	struct hold *old = hold_at(ev, slot);

	if (slot == ev->holds_used) {
		ev->holds_used++;
		return;
	}
	assert(slot == ev->ended_head && old->tickets_live == 0);
	ev->ended_head = old->ended_next;
	if (ev->ended_head == NIL)
		ev->ended_tail = NIL;
	for (uint32_t i = old->ticket_head, next; i != NIL; i = next) {
		struct ticket *tk = ticket_at(ev, i);

		assert(tk->state == TICKET_REFUNDED || tk->state == TICKET_EXCHANGED);
		next = tk->order_next;
		tk->fee_minor = order_ticket_id(old, tk->unit);
		tk->replaced_by = TICKET_DETACHED;
		tk->hold = NIL;
		tk->order_next = NIL;
	}
	if (old->idem_key) {
		uint64_t key = hold_idem_key(old->customer_id, old->idem_key);
		const uint32_t *at = htab_find(&ev->idem, key);

		if (at && *at == slot)
			htab_remove(&ev->idem, key);
	}
}

/* Room in the event's maps for what a hold adds: its customer, if new,
 * and its idempotency key, made before anything changes. Neither map is at
 * its bound here (customers with units <= units placed <= units_max; an
 * idempotency key per hold slot, and one spare for the key of the ended
 * hold this one may replace); they fail for lack of memory, or (keys
 * crafted against a known hash seed, core/htab.h) for a segment that can
 * split no more. Either refuses the hold with nothing changed. */
static int hold_maps_reserve(struct event *ev, const struct rec *r)
{
	int err = customer_room(ev, r->hold.customer_id);

	if (!err && r->hold.idem_key)
		err = htab_reserve(&ev->idem, hold_idem_key(r->hold.customer_id, r->hold.idem_key));
	return err;
}

enum status apply_hold(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	uint32_t slot = SLOT_OF(r->hold.hold_id);
	struct hold *h;
	struct tier *t;

	if (!ev || !hold_fits(c, ev, r))
		return ST_RECORD_INVALID;
	if (slot == ev->holds_used && event_holds_ensure(ev, slot + 1))
		return ST_INTERNAL; /* out of memory for a new chunk: nothing changed */
	if (hold_maps_reserve(ev, r))
		return ST_INTERNAL; /* out of memory for a map segment: nothing changed */
	slot_take(ev, slot);
	h = hold_at(ev, slot);
	h->id = r->hold.hold_id;
	h->reuse = REUSE_OF(r->hold.hold_id);
	h->customer_id = r->hold.customer_id;
	h->idem_key = r->hold.idem_key;
	h->created_ms = r->now_ms;
	h->expires_at_ms = r->hold.expires_at_ms;
	h->amount_minor = 0;
	h->ended_next = NIL;
	h->ticket_head = NIL;
	h->tickets_issued = h->tickets_live = 0;
	h->tier = r->hold.tier;
	h->channel = r->hold.channel;
	h->qty = r->hold.qty;
	h->code_index = r->hold.code_index;
	h->state = HOLD_LIVE;
	memset(h->payment_ref, 0, PAYMENT_REF_BYTES);
	t = &ev->tiers[h->tier];
	memset(h->seats, 0xff, sizeof h->seats); /* SEAT_NONE past qty, and for GA */
	if (t->kind == TIER_RESERVED)
		memcpy(h->seats, r->hold.seats, sizeof h->seats[0] * h->qty);
	t->free -= h->qty;
	t->held += h->qty;
	t->ch[h->channel].held += h->qty;
	for (uint8_t i = 0; t->kind == TIER_RESERVED && i < h->qty; i++)
		seat_take(ev, h->seats[i], SEAT_HELD, slot);
	customer_add(ev, h->customer_id, h->qty);
	if (h->code_index != PRESALE_CODE_NONE)
		ev->codes[h->code_index].uses++;
	if (h->idem_key) {
		bool ok = htab_insert(&ev->idem, hold_idem_key(h->customer_id, h->idem_key), slot);

		assert(ok); /* reserved above */
		(void)ok;
	}
	wheel_insert(ev, slot);
	ev->live_holds++;
	ev->tickets_reserved += h->qty;
	tier_check_low_stock(ev, h->tier, alerts);
	return ST_OK;
}

void hold_ended_push(struct event *ev, uint32_t slot)
{
	hold_at(ev, slot)->ended_next = NIL;
	if (ev->ended_tail != NIL)
		hold_at(ev, ev->ended_tail)->ended_next = slot;
	else
		ev->ended_head = slot;
	ev->ended_tail = slot;
}

void hold_end(struct event *ev, uint32_t slot, uint8_t state, uint32_t *alerts)
{
	struct hold *h = hold_at(ev, slot);
	struct tier *t = &ev->tiers[h->tier];

	wheel_remove(ev, slot);
	ev->live_holds--;
	ev->tickets_reserved -= h->qty; /* a confirm takes them right after */
	h->state = state;
	t->held -= h->qty;
	t->ch[h->channel].held -= h->qty;
	if (state == HOLD_CONFIRMED)
		return; /* the units become tickets; the customer still counts them */
	t->free += h->qty;
	for (uint8_t i = 0; t->kind == TIER_RESERVED && i < h->qty; i++)
		seat_release(ev, h->seats[i], SEAT_FREE);
	customer_add(ev, h->customer_id, -(int32_t)h->qty);
	if (h->code_index != PRESALE_CODE_NONE)
		ev->codes[h->code_index].uses--; /* a hold that ends gives its use back */
	hold_ended_push(ev, slot);
	tier_check_low_stock(ev, h->tier, alerts);
}

static enum status refuse_ended(uint8_t state)
{
	switch (state) {
	case HOLD_CONFIRMED: return ST_HOLD_CONFIRMED;
	case HOLD_RELEASED: return ST_HOLD_RELEASED;
	default: return ST_HOLD_EXPIRED;
	}
}

enum status plan_hold_ref(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
			  struct result *res)
{
	const struct cmd_hold_ref *ref = &cmd->ref;
	const struct event *ev = event_find(c, ref->event_id);
	const struct hold *h = ev ? hold_by_id(ev, ref->hold_id) : NULL;
	uint32_t ttl;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (!h)
		return ST_HOLD_UNKNOWN;
	if ((cmd->type == CMD_HOLD_RELEASE && h->state == HOLD_RELEASED) ||
	    (cmd->type == CMD_HOLD_EXPIRE && h->state == HOLD_EXPIRED)) {
		view_hold(ev, h, &res->hold);
		res->replayed = 1;
		return ST_OK;
	}
	if (h->state != HOLD_LIVE)
		return refuse_ended(h->state);
	r->end.hold_id = h->id;
	switch (cmd->type) {
	case CMD_HOLD_RELEASE: return ST_OK;
	case CMD_HOLD_EXPIRE: return now >= h->expires_at_ms ? ST_OK : ST_HOLD_NOT_DUE;
	default: /* CMD_HOLD_EXTEND */
		ttl = ref->ttl_ms ? ref->ttl_ms : ev->cfg.hold_ttl_ms;
		if (now >= h->expires_at_ms)
			return ST_HOLD_EXPIRED;
		if (ttl < HOLD_TTL_MS_MIN || ttl > HOLD_TTL_MS_MAX ||
		    now + ttl > h->created_ms + HOLD_LIFETIME_MS_MAX)
			return ST_BAD_ARGUMENT;
		r->extend.expires_at_ms = now + ttl;
		return ST_OK;
	}
}

enum status apply_hold_ref(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct hold *h = ev ? hold_by_id(ev, r->end.hold_id) : NULL;
	uint32_t slot;

	if (!h || h->state != HOLD_LIVE)
		return ST_RECORD_INVALID;
	slot = SLOT_OF(h->id);
	switch (r->type) {
	case CMD_HOLD_EXTEND:
		wheel_remove(ev, slot);
		h->expires_at_ms = r->extend.expires_at_ms;
		wheel_insert(ev, slot);
		return ST_OK;
	case CMD_HOLD_RELEASE: hold_end(ev, slot, HOLD_RELEASED, alerts); return ST_OK;
	default: /* CMD_HOLD_EXPIRE */
		if (r->now_ms < h->expires_at_ms)
			return ST_RECORD_INVALID;
		hold_end(ev, slot, HOLD_EXPIRED, alerts);
		return ST_OK;
	}
}
