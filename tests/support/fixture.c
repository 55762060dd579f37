/*
 * fixture.c — see fixture.h.
 */
#include "tests/support/fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/serial.h"

struct fx *fx_new(uint8_t shard_id)
{
	struct fx *f = calloc(1, sizeof *f);

	if (!f || !(f->c = core_create(shard_id)))
		abort();
	f->now = FX_T0;
	return f;
}

void fx_free(struct fx *f)
{
	core_destroy(f->c);
	free(f->log);
	free(f);
}

static void log_append(struct fx *f, const uint8_t *body, uint32_t len)
{
	if (f->log_len + 4 + len > f->log_cap) {
		f->log_cap = (f->log_cap + 4 + len) * 2;
		f->log = realloc(f->log, f->log_cap);
		if (!f->log)
			abort();
	}
	put_u32(f->log + f->log_len, len);
	memcpy(f->log + f->log_len + 4, body, len);
	f->log_len += 4 + len;
	f->records++;
}

enum status fx_exec(struct fx *f, const struct cmd *cmd)
{
	struct rec_buf rb = {f->rec, sizeof f->rec, 0};
	enum status st = core_execute(f->c, cmd, f->now, &f->res, &rb);

	f->last_rec_len = rb.len;
	if (rb.len)
		log_append(f, rb.bytes, rb.len);
	return st;
}

const char *fx_replay_check(const struct fx *f)
{
	static char why[160];
	struct core *r = core_create(core_shard_id(f->c));
	struct state_hash a, b;
	const char *bad;

	for (size_t off = 0; off < f->log_len;) {
		uint32_t len = get_u32(f->log + off);
		enum status st = core_apply(r, f->log + off + 4, len);

		if (st != ST_OK) {
			snprintf(why, sizeof why, "replay refused a record at offset %zu: %s", off,
				 status_name(st));
			core_destroy(r);
			return why;
		}
		off += 4 + len;
	}
	a = core_state_hash(f->c);
	b = core_state_hash(r);
	bad = core_check_invariants(f->c);
	if (!bad)
		bad = core_check_invariants(r);
	core_destroy(r);
	if (bad)
		return bad;
	if (a.lo != b.lo || a.hi != b.hi)
		return "replayed state hash differs";
	return NULL;
}

enum status fx_event(struct fx *f, uint32_t event_id, uint32_t units_max, uint16_t limit)
{
	struct cmd c = {.type = CMD_EVENT_CREATE};

	c.event.event_id = event_id;
	c.event.state = EVENT_ON_SALE;
	c.event.customer_limit = limit;
	c.event.units_max = units_max;
	c.event.starts_at_ms = FX_T0 + 30ull * 24 * 3600 * 1000;
	c.event.presale_start_ms = FX_T0 - 3600 * 1000;
	c.event.public_start_ms = FX_T0 - 3600 * 1000;
	snprintf(c.event.name, sizeof c.event.name, "event %u", event_id);
	snprintf(c.event.venue, sizeof c.event.venue, "test arena");
	return fx_exec(f, &c);
}

static enum status tier(struct fx *f, uint32_t event_id, uint8_t t, uint8_t kind, uint32_t cap,
			uint64_t price)
{
	struct cmd c = {.type = CMD_TIER_ADD};

	c.tier.event_id = event_id;
	c.tier.tier = t;
	c.tier.kind = kind;
	c.tier.capacity = cap;
	c.tier.price_minor = price;
	snprintf(c.tier.name, sizeof c.tier.name, "tier %u", t);
	return fx_exec(f, &c);
}

enum status fx_ga_tier(struct fx *f, uint32_t event_id, uint8_t t, uint32_t capacity,
		       uint64_t price)
{
	return tier(f, event_id, t, TIER_GA, capacity, price);
}

enum status fx_reserved_tier(struct fx *f, uint32_t event_id, uint8_t t, uint64_t price)
{
	return tier(f, event_id, t, TIER_RESERVED, 0, price);
}

enum status fx_section(struct fx *f, uint32_t event_id, uint16_t section, uint16_t rows,
		       uint16_t seats_per_row, uint8_t t)
{
	static struct row_spec rs[SECTION_ROWS_MAX];
	static struct seat_spec ss[SECTION_SEATS_MAX];
	struct cmd c = {.type = CMD_SECTION_LOAD};
	uint32_t n = 0;

	for (uint16_t r = 0; r < rows && r < SECTION_ROWS_MAX; r++) {
		memset(&rs[r], 0, sizeof rs[r]);
		snprintf(rs[r].label, sizeof rs[r].label, "%c", 'A' + r % 26);
		rs[r].seat_count = seats_per_row;
		rs[r].first_number = 1;
		for (uint16_t s = 0; s < seats_per_row && n < SECTION_SEATS_MAX; s++, n++) {
			int centre = seats_per_row / 2, d = s - centre;

			ss[n].tier = t;
			ss[n].flags = 0;
			ss[n].rank = (uint16_t)(r * 100 + (d < 0 ? -d : d));
		}
	}
	c.section.event_id = event_id;
	c.section.section = section;
	c.section.row_count = rows;
	snprintf(c.section.name, sizeof c.section.name, "section %u", section);
	c.section.rows = rs;
	c.section.seats = ss;
	return fx_exec(f, &c);
}

struct cmd fx_hold_cmd(uint32_t event_id, uint8_t tier, uint8_t mode, uint8_t qty,
		       uint64_t customer)
{
	struct cmd c = {.type = CMD_HOLD};

	c.hold.event_id = event_id;
	c.hold.tier = tier;
	c.hold.mode = mode;
	c.hold.qty = qty;
	c.hold.customer_id = customer;
	return c;
}

static enum status hold(struct fx *f, uint32_t event_id, uint8_t t, uint8_t mode, uint8_t qty,
			const uint32_t *seats, uint64_t customer)
{
	struct cmd c = fx_hold_cmd(event_id, t, mode, qty, customer);

	for (uint8_t i = 0; seats && i < qty; i++)
		c.hold.seats[i] = seats[i];
	return fx_exec(f, &c);
}

enum status fx_hold_ga(struct fx *f, uint32_t event_id, uint8_t t, uint8_t qty, uint64_t customer)
{
	return hold(f, event_id, t, HOLD_GA, qty, NULL, customer);
}

enum status fx_hold_best(struct fx *f, uint32_t event_id, uint8_t t, uint8_t qty, uint64_t customer)
{
	return hold(f, event_id, t, HOLD_BEST, qty, NULL, customer);
}

enum status fx_hold_seats(struct fx *f, uint32_t event_id, uint8_t t, const uint32_t *seats,
			  uint8_t qty, uint64_t customer)
{
	return hold(f, event_id, t, HOLD_SEATS, qty, seats, customer);
}

enum status fx_hold_ref(struct fx *f, uint8_t type, uint32_t event_id, uint64_t hold_id)
{
	struct cmd c = {.type = type};

	c.ref.event_id = event_id;
	c.ref.hold_id = hold_id;
	return fx_exec(f, &c);
}

enum status fx_confirm(struct fx *f, uint32_t event_id, uint64_t hold_id, uint64_t amount)
{
	struct cmd c = {.type = CMD_CONFIRM};

	c.ref.event_id = event_id;
	c.ref.hold_id = hold_id;
	c.ref.amount_minor = amount;
	snprintf(c.ref.payment_ref, sizeof c.ref.payment_ref, "pay-%llu",
		 (unsigned long long)hold_id);
	return fx_exec(f, &c);
}

enum status fx_ticket_op(struct fx *f, uint8_t type, uint32_t event_id, uint64_t ticket_id)
{
	struct cmd c = {.type = type};

	c.ticket.event_id = event_id;
	c.ticket.ticket_id = ticket_id;
	c.ticket.seat = SEAT_NONE;
	c.ticket.gate_id = 7;
	return fx_exec(f, &c);
}

enum status fx_query(struct fx *f, uint8_t type, uint32_t event_id, uint64_t id)
{
	struct cmd c = {.type = type};

	c.query.event_id = event_id;
	if (type == CMD_Q_HOLD || type == CMD_Q_ORDER)
		c.ref.hold_id = id;
	else if (type == CMD_Q_TICKET)
		c.ticket.ticket_id = id;
	else if (type == CMD_Q_CUSTOMER)
		c.query.customer_id = id;
	else
		c.query.tier = (uint8_t)id;
	return fx_exec(f, &c);
}

struct grow_buf {
	uint8_t *p;
	size_t len, cap;
	int failed;
};

static void grow_put(void *ctx, const void *src, size_t n)
{
	struct grow_buf *b = ctx;

	if (b->failed)
		return;
	if (b->len + n > b->cap) {
		uint8_t *p = realloc(b->p, 2 * (b->len + n));

		if (!p) {
			b->failed = 1;
			return;
		}
		b->p = p;
		b->cap = 2 * (b->len + n);
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

struct core *fx_snapshot_copy(const struct core *c, const char **why)
{
	struct grow_buf b = {0};
	struct serial_sink sink = {grow_put, &b};
	struct core *copy = NULL;

	*why = "out of memory";
	core_serialize(c, &sink);
	if (!b.failed)
		copy = core_deserialize(b.p, b.len, why);
	free(b.p);
	return copy;
}
