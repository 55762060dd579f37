/*
 * serial.c — the logical state as one byte stream: the state hash and the
 * snapshot body are the same bytes.
 *
 * One walker visits every field of the state in a fixed order; writing,
 * reading and hashing all use it, so the three can never disagree about the
 * layout. Fields are written explicitly, little-endian (never struct bytes
 * with padding). What is derived — hash maps, timer wheel, best-available
 * index, row masks, segments, customer counts — is left out and rebuilt on
 * read by the same code that builds it live, so a state read back from a
 * snapshot hashes exactly as the state that wrote it.
 *
 * Stream (version 4):
 *   u32 version, u8 shard_id, u8 slot_next, u32 event_count, then per
 *   event: config, u8 slot (in ids), units_placed, 32 tiers, presale codes,
 *   seat map (sections, rows, seats), holds (slots in order, with the
 *   ended-hold queue and each order's ticket chain), tickets (slots in
 *   order, with the reusable-slot queue);
 *   then u32 retired_count, per retired event in retirement order: config,
 *   u32 units_placed, seat_count, tickets_issued, u16 section_count, u8
 *   tier_count and that many tiers;
 *   then u8 count of peers with stock transfers, per peer: u8 peer, u64
 *   out_seq, acked_seq, in_seq, and each pending transfer (u64 id, u32
 *   event, u32 qty, u8 tier) from acked_seq + 1 to out_seq.
 * Version 2 made ticket slots reusable (ids from the order, chains, queue);
 * version 3 added the stock transfers; version 4 retired events (and event
 * slots apart from table indexes).
 */
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "core/bits.h"
#include "core/bytes.h"
#include "core/serial.h"
#include "core/state.h"

#define SERIAL_VERSION 4

struct walk {
	int reading;
	const char *bad; /* reading: why the stream was refused */
	struct serial_sink *sink;
	struct serial_source *source; /* reading: the bytes after [in, end) */
	const uint8_t *in, *end;
	uint64_t rest; /* reading: stream bytes the source has still to give */
	uint8_t buf[4096];
	size_t len;
};

/* The slow paths of field(): the buffer is full, or the stream ends. */
static __attribute__((noinline)) void out(struct walk *w, const void *p, size_t n)
{
	if (w->len + n > sizeof w->buf) {
		w->sink->write(w->sink->ctx, w->buf, w->len);
		w->len = 0;
	}
	if (n > sizeof w->buf) {
		w->sink->write(w->sink->ctx, p, n);
		return;
	}
	memcpy(w->buf + w->len, p, n);
	w->len += n;
}

/* The next piece of the stream from the source: 0, or -1 (w->bad set)
 * when it has none although the stream is not over. */
static int refill(struct walk *w)
{
	const uint8_t *p = NULL;
	size_t n = w->rest && w->source ? w->source->read(w->source->ctx, &p) : 0;
	if (n == 0 || n > w->rest) {
		w->bad = w->bad ? w->bad : "truncated";
		return -1;
	}
	w->in = p, w->end = p + n;
	w->rest -= n;
	return 0;
}

static __attribute__((noinline)) void in(struct walk *w, void *p, size_t n)
{
	uint8_t *to = p;
	if (!w->bad && (size_t)(w->end - w->in) + w->rest < n)
		w->bad = "truncated";
	while (!w->bad && n) {
		if (w->in == w->end && refill(w))
			break;
		size_t k = (size_t)(w->end - w->in) < n ? (size_t)(w->end - w->in) : n;
		memcpy(to, w->in, k);
		w->in += k, to += k, n -= k;
	}
	if (w->bad)
		memset(to, 0, n);
}

/* One field, either way. Host and stream are both little-endian (bytes.h).
 * Inlined with n a constant at every call, a field is a load and a store
 * while the buffer has room or the stream has bytes: this walk is most of
 * the time a snapshot, a load and the state hash take (docs/PERFORMANCE.md,
 * "Restart"). */
static inline __attribute__((always_inline)) void field(struct walk *w, void *p, size_t n)
{
	if (w->reading) {
		if (__builtin_expect(!w->bad && (size_t)(w->end - w->in) >= n, 1)) {
			memcpy(p, w->in, n);
			w->in += n;
		} else {
			in(w, p, n);
		}
	} else if (__builtin_expect(w->len + n <= sizeof w->buf, 1)) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	} else {
		out(w, p, n);
	}
}

#define F(w, x) field((w), &(x), sizeof(x))
#define FA(w, a) field((w), (a), sizeof(a))

static void fail(struct walk *w, const char *why)
{
	if (!w->bad)
		w->bad = why;
}

static void walk_cfg(struct walk *w, struct cmd_event *e)
{
	F(w, e->event_id);
	F(w, e->state);
	F(w, e->customer_limit);
	F(w, e->hold_ttl_ms);
	F(w, e->units_max);
	F(w, e->starts_at_ms);
	F(w, e->presale_start_ms);
	F(w, e->public_start_ms);
	F(w, e->sales_end_ms);
	FA(w, e->name);
	FA(w, e->venue);
}

static void walk_tier(struct walk *w, struct tier *t)
{
	F(w, t->defined);
	if (!t->defined)
		return;
	F(w, t->kind);
	F(w, t->price_minor);
	F(w, t->capacity);
	F(w, t->free);
	F(w, t->held);
	F(w, t->sold);
	F(w, t->killed);
	F(w, t->low_stock_threshold);
	F(w, t->low_stock);
	FA(w, t->name);
	for (unsigned i = 0; i < CHANNELS; i++) {
		F(w, t->ch[i].held);
		F(w, t->ch[i].sold);
		F(w, t->ch[i].revenue_minor);
		F(w, t->ch[i].redeemed);
		F(w, t->ch[i].refunded);
	}
}

static void walk_sections(struct walk *w, struct event *ev)
{
	uint16_t seen = 0;

	for (uint16_t i = 0; !w->bad && i < SECTIONS_MAX && seen < ev->section_count; i++) {
		uint16_t index = i;
		struct section *s;

		if (!w->reading && !ev->sections[i].defined)
			continue;
		F(w, index);
		if (index >= SECTIONS_MAX) {
			fail(w, "section index out of range");
			return;
		}
		s = &ev->sections[index];
		s->defined = 1;
		F(w, s->first_row);
		F(w, s->first_seat);
		F(w, s->seat_count);
		F(w, s->row_count);
		FA(w, s->name);
		seen++;
		i = index;
	}
}

static void walk_seatmap(struct walk *w, struct event *ev)
{
	uint8_t has = ev->sections != NULL;

	F(w, has);
	if (!has)
		return;
	F(w, ev->section_count);
	F(w, ev->row_count);
	F(w, ev->seat_count);
	if (w->reading && (seatmap_alloc(ev) || ev->row_count > ROWS_MAX ||
			   ev->seat_count > ev->seats_max || ev->section_count > SECTIONS_MAX)) {
		fail(w, "seat map sizes out of range");
		return;
	}
	walk_sections(w, ev);
	for (uint32_t i = 0; !w->bad && i < ev->row_count; i++) {
		struct row *rw = &ev->rows[i];

		F(w, rw->first_seat);
		F(w, rw->seat_count);
		F(w, rw->section);
		F(w, rw->first_number);
		FA(w, rw->label);
		if (rw->seat_count == 0 || rw->seat_count > ROW_SEATS_MAX ||
		    (uint64_t)rw->first_seat + rw->seat_count > ev->seat_count) {
			fail(w, "row out of range");
			return;
		}
	}
	for (uint32_t i = 0; !w->bad && i < ev->seat_count; i++) {
		struct seat *s = &ev->seats[i];

		F(w, s->owner);
		F(w, s->rank);
		F(w, s->tier);
		F(w, s->flags);
		F(w, s->state);
		if (s->tier >= TIERS_MAX || s->state > SEAT_KILLED_STATE) {
			fail(w, "seat out of range");
			return;
		}
	}
}

static void count_stream(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(size_t *)ctx += n;
}

/* Stream bytes of one item, as walk_item writes it (every field is fixed
 * in size, so any item will do). */
static size_t item_bytes(void (*walk_item)(struct walk *, void *), void *item)
{
	size_t n = 0;
	struct serial_sink sink = {count_stream, &n};
	struct walk w = {.sink = &sink};

	walk_item(&w, item);
	return n + w.len;
}

/* Reading: whether count items (each as walk_item walks it) are in what is
 * left of the stream. A count is read before its items, and the table for
 * them is allocated before they are read: without this, a few bytes
 * declaring the most holds and tickets an event may have made the loader
 * fault in gigabytes. */
static bool items_fit(struct walk *w, uint64_t count, void (*walk_item)(struct walk *, void *),
		      void *item)
{
	return !w->reading ||
	       count * item_bytes(walk_item, item) <= (size_t)(w->end - w->in) + w->rest;
}

/* Reading: whether count items (each as walk_item walks it) fit what is
 * left of the stream, and then the table grown to them (ensure); else the
 * walk fails with why_bytes or "out of memory". Writing: true. */
static bool table_fits(struct walk *w, struct event *ev, uint32_t count,
		       void (*walk_item)(struct walk *, void *), void *item,
		       int (*ensure)(struct event *, uint32_t), const char *why_bytes)
{
	if (!items_fit(w, count, walk_item, item)) {
		fail(w, why_bytes);
		return false;
	}
	if (w->reading && ensure(ev, count)) {
		fail(w, "out of memory");
		return false;
	}
	return true;
}

static void walk_hold(struct walk *w, void *item)
{
	struct hold *h = item;

	F(w, h->id);
	F(w, h->customer_id);
	F(w, h->idem_key);
	F(w, h->created_ms);
	F(w, h->expires_at_ms);
	F(w, h->amount_minor);
	F(w, h->ended_next);
	F(w, h->reuse);
	F(w, h->ticket_head);
	F(w, h->tier);
	F(w, h->channel);
	F(w, h->qty);
	F(w, h->state);
	F(w, h->code_index);
	F(w, h->tickets_issued);
	F(w, h->tickets_live);
	FA(w, h->payment_ref);
	FA(w, h->seats);
}

static void walk_holds(struct walk *w, struct event *ev)
{
	struct hold any = {0};

	F(w, ev->holds_used);
	F(w, ev->ended_head);
	F(w, ev->ended_tail);
	if (ev->holds_used > ev->holds_max) {
		fail(w, "more holds than the event has room for");
		return;
	}
	if (!table_fits(w, ev, ev->holds_used, walk_hold, &any, event_holds_ensure,
			"more holds than the stream has bytes for"))
		return;
	for (uint32_t i = 0; !w->bad && i < ev->holds_used; i++) {
		struct hold *h = hold_at(ev, i);

		walk_hold(w, h);
		if (h->tier >= TIERS_MAX || h->channel >= CHANNELS || h->qty == 0 ||
		    h->qty > HOLD_UNITS_MAX || (uint32_t)h->id != i || h->customer_id == 0) {
			fail(w, "hold out of range");
			return;
		}
	}
}

static void walk_ticket(struct walk *w, void *item)
{
	struct ticket *tk = item;

	F(w, tk->price_minor);
	F(w, tk->redeemed_at_ms);
	F(w, tk->fee_minor);
	F(w, tk->hold);
	F(w, tk->seat);
	F(w, tk->gate_id);
	F(w, tk->order_next);
	F(w, tk->free_next);
	F(w, tk->unit);
	F(w, tk->replaced_by);
	F(w, tk->tier);
	F(w, tk->state);
}

static void walk_tickets(struct walk *w, struct event *ev)
{
	struct ticket any = {0};

	F(w, ev->tickets_used);
	F(w, ev->tfree_head);
	F(w, ev->tfree_tail);
	F(w, ev->tfree_count);
	F(w, ev->tickets_issued);
	if (ev->tickets_used > ev->tickets_max || ev->tfree_count > ev->tickets_used) {
		fail(w, "more tickets than the event has room for");
		return;
	}
	if (!table_fits(w, ev, ev->tickets_used, walk_ticket, &any, event_tickets_ensure,
			"more tickets than the stream has bytes for"))
		return;
	for (uint32_t i = 0; !w->bad && i < ev->tickets_used; i++) {
		struct ticket *tk = ticket_at(ev, i);

		walk_ticket(w, tk);
		if ((tk->hold >= ev->holds_used && tk->hold != NIL) || tk->tier >= TIERS_MAX ||
		    (tk->hold == NIL &&
		     (tk->state == TICKET_VALID || tk->state == TICKET_REDEEMED))) {
			fail(w, "ticket out of range");
			return;
		}
	}
}

static void walk_event(struct walk *w, struct event *ev)
{
	F(w, ev->slot);
	F(w, ev->units_placed);
	for (unsigned i = 0; i < TIERS_MAX; i++)
		walk_tier(w, &ev->tiers[i]);
	F(w, ev->code_count);
	if (ev->code_count > PRESALE_CODES_MAX) {
		fail(w, "too many presale codes");
		return;
	}
	for (uint8_t i = 0; i < ev->code_count; i++) {
		FA(w, ev->codes[i].hash);
		F(w, ev->codes[i].use_limit);
		F(w, ev->codes[i].uses);
	}
	walk_seatmap(w, ev);
	walk_holds(w, ev);
	walk_tickets(w, ev);
}

static void walk_retired(struct walk *w, struct retired *rt)
{
	F(w, rt->units_placed);
	F(w, rt->seat_count);
	F(w, rt->tickets_issued);
	F(w, rt->section_count);
	for (uint8_t i = 0; i < rt->tier_count; i++)
		walk_tier(w, &rt->tiers[i]);
}

static struct retired *read_retired(struct walk *w)
{
	struct cmd_event cfg = {0};
	uint8_t count = 0;
	struct retired *rt;

	walk_cfg(w, &cfg);
	F(w, count);
	if (w->bad || cfg.event_id == 0 || cfg.state != EVENT_CLOSED || count > TIERS_MAX) {
		fail(w, "retired event out of range");
		return NULL;
	}
	rt = retired_new(count);
	if (!rt) {
		fail(w, "out of memory");
		return NULL;
	}
	rt->cfg = cfg;
	rt->tier_count = count;
	walk_retired(w, rt);
	return rt;
}

/* Retired summaries (core/retire.c), in retirement order. */
static void walk_retireds(struct walk *w, struct core *c)
{
	uint32_t count = c->retired_count;

	F(w, count);
	if (count > RETIRED_MAX) {
		fail(w, "too many retired events");
		return;
	}
	for (uint32_t i = 0; i < count && !w->bad; i++) {
		struct retired *rt = w->reading ? read_retired(w) : c->retired[i];

		if (!w->reading) {
			walk_cfg(w, &rt->cfg);
			F(w, rt->tier_count);
			walk_retired(w, rt);
			continue;
		}
		if (!rt)
			return;
		if (w->bad || event_find(c, rt->cfg.event_id) ||
		    !htab_insert(&c->retired_index, rt->cfg.event_id, c->retired_count)) {
			free(rt);
			fail(w, "duplicate retired event");
			return;
		}
		c->retired[c->retired_count++] = rt;
	}
}

static int xfer_active(const struct xfer_peer *p)
{
	return p->out_seq || p->in_seq;
}

static void walk_xfer_peer(struct walk *w, struct xfer_peer *p)
{
	F(w, p->out_seq);
	F(w, p->acked_seq);
	F(w, p->in_seq);
	if (p->acked_seq > p->out_seq || p->out_seq - p->acked_seq > XFER_PENDING_MAX) {
		fail(w, "pending transfers out of range");
		return;
	}
	for (uint64_t s = p->acked_seq + 1; s <= p->out_seq && !w->bad; s++) {
		struct xfer *x = &p->pending[s % XFER_PENDING_MAX];

		F(w, x->transfer_id);
		F(w, x->event_id);
		F(w, x->qty);
		F(w, x->tier);
	}
}

/* Transfer bookkeeping (core/stock.c): only the peers that have any. */
static void walk_xfers(struct walk *w, struct core *c)
{
	uint8_t count = 0, peer = 0;

	for (unsigned k = 0; !w->reading && k < SHARDS_MAX; k++)
		count += xfer_active(&c->peers[k]) ? 1 : 0;
	F(w, count);
	for (unsigned i = 0, k = 0; i < count && !w->bad; i++) {
		while (!w->reading && !xfer_active(&c->peers[k]))
			k++;
		peer = w->reading ? peer : (uint8_t)k++;
		F(w, peer);
		if (peer >= SHARDS_MAX || peer == c->shard_id ||
		    (w->reading && xfer_active(&c->peers[peer]))) {
			fail(w, "transfer peer out of range");
			return;
		}
		walk_xfer_peer(w, &c->peers[peer]);
	}
}

static void walk_writing(const struct core *c, struct walk *w)
{
	uint32_t version = SERIAL_VERSION;
	uint8_t shard = c->shard_id, slot_next = c->slot_next;
	uint32_t count = c->event_count;

	F(w, version);
	F(w, shard);
	F(w, slot_next);
	F(w, count);
	for (uint32_t i = 0; i < c->event_count; i++) {
		walk_cfg(w, &c->events[i]->cfg);
		walk_event(w, c->events[i]);
	}
	walk_retireds(w, (struct core *)c); /* writing: reads it only */
	walk_xfers(w, (struct core *)c);
	if (w->len)
		w->sink->write(w->sink->ctx, w->buf, w->len);
}

void core_serialize(const struct core *c, struct serial_sink *sink)
{
	struct walk w = {.sink = sink};

	assert(c && sink);
	walk_writing(c, &w);
}

static void count_bytes(void *ctx, const void *p, size_t n)
{
	(void)p;
	*(size_t *)ctx += n;
}

size_t core_serialized_bytes(const struct core *c)
{
	size_t n = 0;
	struct serial_sink sink = {count_bytes, &n};

	assert(c);
	core_serialize(c, &sink);
	return n;
}

static void hash_bytes(void *ctx, const void *p, size_t n)
{
	XXH3_128bits_update(ctx, p, n);
}

struct state_hash core_state_hash(const struct core *c)
{
	assert(c);
	XXH3_state_t st;
	struct serial_sink sink = {hash_bytes, &st};
	XXH128_hash_t h;

	XXH3_128bits_reset(&st);
	core_serialize(c, &sink);
	h = XXH3_128bits_digest(&st);
	return (struct state_hash){h.low64, h.high64};
}

/* ---- reading: rebuild what is derived ---- */

/* Why the derived tables could not be rebuilt, or NULL. */
static const char *rebuild_event(struct event *ev)
{
	for (unsigned i = 0; i < TIERS_MAX; i++)
		if (ev->tiers[i].defined)
			ev->tiers_defined |= 1u << i;
	if (ev->sections) {
		seatmap_derive_rows(ev, 0);
		seatmap_index_rebuild(ev);
	}
	for (uint32_t i = 0; i < ev->holds_used; i++) {
		struct hold *h = hold_at(ev, i);
		uint64_t key = h->idem_key ? hold_idem_key(h->customer_id, h->idem_key) : 0;

		if (key && htab_find(&ev->idem, key))
			return "duplicate idempotency key";
		if (key && !htab_insert(&ev->idem, key, i))
			return "no room for an idempotency key (memory, or a map that can split no more)";
		if (h->state != HOLD_LIVE)
			continue;
		ev->live_holds++;
		ev->tickets_reserved += h->qty;
		wheel_insert(ev, i);
		if (customer_room(ev, h->customer_id))
			return "no room for a customer's count (memory, or a map that can split no more)";
		customer_add(ev, h->customer_id, h->qty);
	}
	for (uint32_t i = 0; i < ev->tickets_used; i++) {
		const struct ticket *tk = ticket_at(ev, i);
		uint64_t customer;

		/* only a valid or redeemed ticket has an order: a refunded one
		 * whose order's slot went to a new hold has none (NIL) */
		if (tk->state != TICKET_VALID && tk->state != TICKET_REDEEMED)
			continue;
		customer = hold_at(ev, tk->hold)->customer_id;
		if (customer_room(ev, customer))
			return "no room for a customer's count (memory, or a map that can split no more)";
		customer_add(ev, customer, 1);
	}
	return NULL;
}

/* Customer counts are rebuilt into a map bounded by units_max customers
 * (customer_room refuses past it), so the units a stream says are held
 * and sold must fit the event before they are counted; conservation,
 * checked after, is finer. */
static int units_fit(const struct event *ev)
{
	uint64_t units = 0;

	for (uint32_t i = 0; i < ev->holds_used; i++)
		if (hold_at(ev, i)->state == HOLD_LIVE)
			units += hold_at(ev, i)->qty;
	for (uint32_t i = 0; i < ev->tickets_used; i++)
		if (ticket_at(ev, i)->state == TICKET_VALID ||
		    ticket_at(ev, i)->state == TICKET_REDEEMED)
			units++;
	return units <= ev->cfg.units_max;
}

static struct event *read_event(struct walk *w)
{
	struct cmd_event cfg = {0};
	struct event *ev;
	const char *why;

	walk_cfg(w, &cfg);
	if (w->bad || cfg.event_id == 0 || cfg.units_max == 0 || cfg.units_max > EVENT_UNITS_MAX ||
	    cfg.state >= EVENT_STATE_COUNT) {
		fail(w, "event config out of range");
		return NULL;
	}
	ev = event_new(&cfg);
	if (!ev) {
		fail(w, "out of memory");
		return NULL;
	}
	walk_event(w, ev);
	if (!w->bad && !units_fit(ev))
		fail(w, "more units held and sold than the event has");
	if (!w->bad)
		event_tables_fit(ev); /* as live: sized for the units it owns */
	if (!w->bad && (why = rebuild_event(ev)))
		fail(w, why);
	if (w->bad) {
		event_free(ev);
		return NULL;
	}
	return ev;
}

static int slot_taken(const struct core *c, uint8_t slot)
{
	for (uint32_t i = 0; i < c->event_count; i++)
		if (c->events[i]->slot == slot)
			return 1;
	return 0;
}

struct core *core_deserialize_from(struct serial_source *src, uint64_t len, const char **why)
{
	struct walk w = {.reading = 1, .source = src, .rest = len};
	uint32_t version = 0, count = 0;
	uint8_t shard = 0, slot_next = 0;
	struct core *c;

	assert(src || len == 0);
	F(&w, version);
	F(&w, shard);
	F(&w, slot_next);
	F(&w, count);
	if (!w.bad && (version != SERIAL_VERSION || count > EVENTS_MAX))
		fail(&w, "unknown version or too many events");
	if (shard >= SHARDS_MAX)
		fail(&w, "shard id out of range");
	c = w.bad ? NULL : core_create(shard);
	if (c)
		c->slot_next = slot_next;
	for (uint32_t i = 0; c && !w.bad && i < count; i++) {
		struct event *ev = read_event(&w);

		if (!ev)
			break;
		if (event_find(c, ev->cfg.event_id) ||
		    !htab_insert(&c->event_index, ev->cfg.event_id, c->event_count)) {
			event_free(ev);
			fail(&w, "duplicate event");
			break;
		}
		if (slot_taken(c, ev->slot)) {
			event_free(ev);
			fail(&w, "two events with one slot");
			break;
		}
		c->events[c->event_count++] = ev;
	}
	if (c && !w.bad)
		walk_retireds(&w, c);
	if (c && !w.bad)
		walk_xfers(&w, c);
	if (!w.bad && (w.in != w.end || w.rest))
		fail(&w, "trailing bytes");
	if (!w.bad && c && core_check_invariants(c))
		fail(&w, core_check_invariants(c));
	if (w.bad) {
		core_destroy(c);
		if (why)
			*why = w.bad;
		return NULL;
	}
	return c;
}

size_t serial_bytes_read(void *ctx, const uint8_t **bytes)
{
	struct serial_bytes *b = ctx;
	size_t n = (size_t)b->len;

	*bytes = b->p;
	b->p += n, b->len = 0;
	return n;
}

struct core *core_deserialize(const uint8_t *p, size_t len, const char **why)
{
	struct serial_bytes bytes = {p, len};
	struct serial_source src = {serial_bytes_read, &bytes};

	assert(p || len == 0);
	return core_deserialize_from(&src, len, why);
}
