/*
 * hash.c — the state hash and the invariant checker.
 *
 * The hash covers the logical state in a fixed order, each field written
 * explicitly (never struct bytes with padding): events by index, tiers,
 * presale codes, sections, rows, seats by index, holds by slot (a hold id
 * carries its slot, so slots are logical), the order of ended holds, tickets
 * by index. Derived structures (hash maps, timer wheel, best-available index,
 * row masks) are left out: two shards that agree on the hash agree on
 * everything a command can observe.
 */
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#include "core/bytes.h"
#include "core/state.h"

struct canon {
	XXH3_state_t *st;
	uint8_t buf[256];
	size_t len;
};

static void flush(struct canon *k)
{
	XXH3_128bits_update(k->st, k->buf, k->len);
	k->len = 0;
}

static void u64(struct canon *k, uint64_t v)
{
	if (k->len + 8 > sizeof k->buf)
		flush(k);
	put_u64(k->buf + k->len, v);
	k->len += 8;
}

static void raw(struct canon *k, const void *p, size_t n)
{
	flush(k);
	XXH3_128bits_update(k->st, p, n);
}

static void hash_tier(struct canon *k, const struct tier *t)
{
	u64(k, t->defined);
	if (!t->defined)
		return;
	u64(k, t->kind);
	u64(k, t->price_minor);
	u64(k, (uint64_t)t->capacity << 32 | t->free);
	u64(k, (uint64_t)t->held << 32 | t->sold);
	u64(k, (uint64_t)t->killed << 32 | t->low_stock_threshold);
	u64(k, t->low_stock);
	raw(k, t->name, NAME_BYTES);
	for (unsigned i = 0; i < CHANNELS; i++) {
		u64(k, t->ch[i].held);
		u64(k, t->ch[i].sold);
		u64(k, t->ch[i].revenue_minor);
		u64(k, t->ch[i].redeemed);
		u64(k, t->ch[i].refunded);
	}
}

static void hash_seatmap(struct canon *k, const struct event *ev)
{
	u64(k, (uint64_t)ev->section_count << 32 | ev->seat_count);
	u64(k, ev->row_count);
	for (uint32_t i = 0; ev->sections && i < SECTIONS_MAX; i++) {
		const struct section *s = &ev->sections[i];

		if (!s->defined)
			continue;
		u64(k, i);
		u64(k, (uint64_t)s->first_row << 32 | s->first_seat);
		u64(k, (uint64_t)s->seat_count << 16 | s->row_count);
		raw(k, s->name, NAME_BYTES);
	}
	for (uint32_t i = 0; i < ev->row_count; i++) {
		const struct row *rw = &ev->rows[i];

		u64(k, (uint64_t)rw->first_seat << 32 | (uint64_t)rw->seat_count << 16 | rw->section);
		u64(k, rw->first_number);
		raw(k, rw->label, LABEL_BYTES);
	}
	for (uint32_t i = 0; i < ev->seat_count; i++) {
		const struct seat *s = &ev->seats[i];

		u64(k, (uint64_t)s->owner << 32 | (uint64_t)s->rank << 16 | (uint64_t)s->tier << 8 |
			       s->flags);
		u64(k, s->state);
	}
}

static void hash_holds(struct canon *k, const struct event *ev)
{
	u64(k, ev->holds_used);
	u64(k, (uint64_t)ev->ended_head << 32 | ev->ended_tail);
	for (uint32_t i = 0; i < ev->holds_used; i++) {
		const struct hold *h = &ev->holds[i];

		u64(k, h->id);
		u64(k, h->customer_id);
		u64(k, h->idem_key);
		u64(k, h->created_ms);
		u64(k, h->expires_at_ms);
		u64(k, h->amount_minor);
		u64(k, h->first_ticket_id);
		u64(k, (uint64_t)h->ended_next << 32 | h->reuse);
		u64(k, (uint64_t)h->tier << 32 | (uint64_t)h->channel << 24 | (uint64_t)h->qty << 16 |
			       (uint64_t)h->state << 8 | h->code_index);
		raw(k, h->payment_ref, PAYMENT_REF_BYTES);
		for (uint8_t j = 0; h->seats[0] != SEAT_NONE && j < h->qty; j++)
			u64(k, h->seats[j]);
	}
}

static void hash_tickets(struct canon *k, const struct event *ev)
{
	u64(k, ev->tickets_used);
	for (uint32_t i = 0; i < ev->tickets_used; i++) {
		const struct ticket *tk = &ev->tickets[i];

		u64(k, tk->price_minor);
		u64(k, tk->redeemed_at_ms);
		u64(k, tk->fee_minor);
		u64(k, (uint64_t)tk->hold << 32 | tk->seat);
		u64(k, (uint64_t)tk->gate_id << 32 | tk->replaced_by);
		u64(k, (uint64_t)tk->tier << 8 | tk->state);
	}
}

static void hash_event(struct canon *k, const struct event *ev)
{
	const struct cmd_event *e = &ev->cfg;

	u64(k, e->event_id);
	u64(k, (uint64_t)e->state << 48 | (uint64_t)e->customer_limit << 32 | e->hold_ttl_ms);
	u64(k, e->units_max);
	u64(k, e->starts_at_ms);
	u64(k, e->presale_start_ms);
	u64(k, e->public_start_ms);
	u64(k, e->sales_end_ms);
	raw(k, e->name, NAME_BYTES);
	raw(k, e->venue, NAME_BYTES);
	u64(k, ev->units_placed);
	for (unsigned i = 0; i < TIERS_MAX; i++)
		hash_tier(k, &ev->tiers[i]);
	u64(k, ev->code_count);
	for (uint8_t i = 0; i < ev->code_count; i++) {
		raw(k, ev->codes[i].hash, PRESALE_CODE_HASH_BYTES);
		u64(k, (uint64_t)ev->codes[i].use_limit << 32 | ev->codes[i].uses);
	}
	hash_seatmap(k, ev);
	hash_holds(k, ev);
	hash_tickets(k, ev);
}

struct state_hash core_state_hash(const struct core *c)
{
	struct canon k = { .st = XXH3_createState() };
	struct state_hash out = { 0, 0 };
	XXH128_hash_t h;

	if (!k.st)
		abort();
	XXH3_128bits_reset(k.st);
	u64(&k, c->shard_id);
	u64(&k, c->event_count);
	for (uint32_t i = 0; i < c->event_count; i++)
		hash_event(&k, c->events[i]);
	flush(&k);
	h = XXH3_128bits_digest(k.st);
	XXH3_freeState(k.st);
	out.lo = h.low64;
	out.hi = h.high64;
	return out;
}
