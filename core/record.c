/*
 * record.c — encoding and decoding of WAL record bodies (layout in record.h).
 *
 * Every payload is described once, as a table of fields (offset in the body,
 * where the value lives in struct rec, element width and count, the bound a
 * decoded value must stay under). One packer and one unpacker walk those
 * tables, so the encoder and the decoder cannot disagree on a layout. A type
 * table ties each record type to its name and its body; a body that is
 * exactly its fields gets its encoder and decoder from FIXED_BODY, and the
 * two that end in a counted tail (a hold's chosen seats, a section's rows
 * and seats) add a small function each. Adding a fixed record type is a
 * field table, a FIXED_BODY line and one entry in the type table.
 *
 * Decoding checks the shape of a body (known type, exact length, enums in
 * range) so apply never reads past a body or trusts a nonsense field; whether
 * a well-formed record fits the state is apply's business.
 */
#include "core/record.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>
#include "core/bytes.h"

#define SECTION_HEAD_BYTES 56
#define SECTION_ROW_BYTES 16
#define SECTION_SEAT_BYTES 4
#define HOLD_HEAD_BYTES 40
#define HOLD_SEAT_BYTES 4

/* ---- field tables ---- */

struct rec_field {
	uint16_t body_off; /* in the payload, after the common head */
	uint16_t mem_off;  /* in the described struct */
	uint8_t width;     /* bytes per element: 1, 2, 4 or 8 */
	uint8_t count;     /* elements; byte arrays are count bytes of width 1 */
	uint32_t limit;    /* decoding refuses a value >= limit; 0: any value */
};

#define MEMBER(T, m) (((T *)0)->m)
/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define FL(T, m, off, lim) { (off), offsetof(T, m), sizeof(MEMBER(T, m)), 1, (lim) }
#define FA(T, m, off) { (off), offsetof(T, m), 1, sizeof(MEMBER(T, m)), 0 }
// clang-format on
#define COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

/* Payload fields, named by their path in struct rec: R(event.units_max, 36);
 * RL adds the bound a decoded value must stay under, RA is a byte array. */
#define R(m, off) FL(struct rec, m, off, 0)
#define RL(m, off, lim) FL(struct rec, m, off, lim)
#define RA(m, off) FA(struct rec, m, off)

static const struct rec_field event_f[] = {
	R(event.starts_at_ms, 0),     R(event.presale_start_ms, 8),
	R(event.public_start_ms, 16), R(event.sales_end_ms, 24),
	R(event.hold_ttl_ms, 32),     R(event.units_max, 36),
	R(event.customer_limit, 40),  RL(event.state, 42, EVENT_STATE_COUNT),
	RA(event.name, 44),           RA(event.venue, 92),
};

static const struct rec_field tier_f[] = {
	RL(tier.tier, 0, TIERS_MAX), RL(tier.kind, 1, TIER_RESERVED + 1),
	R(tier.capacity, 4),         R(tier.low_stock_threshold, 8),
	R(tier.price_minor, 16),     RA(tier.name, 24),
};

/* Counts are bounded here; that the rows sum to seat_count is the tail's. */
static const struct rec_field section_f[] = {
	R(section.section, 0),
	RL(section.row_count, 2, SECTION_ROWS_MAX + 1),
	RL(section.seat_count, 4, SECTION_SEATS_MAX + 1),
	RA(section.name, 8),
};

static const struct rec_field row_f[] = {
	FA(struct row_spec, label, 0),
	FL(struct row_spec, seat_count, 8, ROW_SEATS_MAX + 1), /* a row's state is that many bits */
	FL(struct row_spec, first_number, 10, 0),
};

static const struct rec_field seat_f[] = {
	FL(struct seat_spec, tier, 0, 0),
	FL(struct seat_spec, flags, 1, SEAT_FLAGS_ALL + 1),
	FL(struct seat_spec, rank, 2, 0),
};

static const struct rec_field code_f[] = {
	RL(code.code_index, 0, PRESALE_CODES_MAX),
	R(code.use_limit, 4),
	RA(code.hash, 8),
};

static const struct rec_field hold_f[] = {
	R(hold.hold_id, 0),
	R(hold.customer_id, 8),
	R(hold.idem_key, 16),
	R(hold.expires_at_ms, 24),
	RL(hold.tier, 32, TIERS_MAX),
	RL(hold.channel, 33, CHANNELS),
	RL(hold.qty, 34, HOLD_UNITS_MAX + 1),
	R(hold.code_index, 35),
};

static const struct rec_field extend_f[] = {
	R(extend.hold_id, 0),
	R(extend.expires_at_ms, 8),
};

static const struct rec_field end_f[] = {
	R(end.hold_id, 0),
};

static const struct rec_field confirm_f[] = {
	R(confirm.hold_id, 0),
	R(confirm.amount_minor, 8),
	R(confirm.first_ticket_id, 16),
	RA(confirm.payment_ref, 24),
};

static const struct rec_field redeem_f[] = {
	R(redeem.ticket_id, 0),
	R(redeem.gate_id, 8),
};

static const struct rec_field refund_f[] = {
	R(refund.ticket_id, 0),
	R(refund.fee_minor, 8),
	RL(refund.kill, 16, 2),
};

static const struct rec_field exchange_f[] = {
	R(exchange.ticket_id, 0), R(exchange.new_ticket_id, 8),     R(exchange.price_minor, 16),
	R(exchange.seat, 24),     RL(exchange.tier, 28, TIERS_MAX),
};

static const struct rec_field stock_f[] = {
	R(stock.transfer_id, 0),
	R(stock.qty, 8),
	RL(stock.tier, 12, TIERS_MAX),
	R(stock.peer_shard, 13),
};

static const struct rec_field xchg_f[] = {
	R(xchg.ticket_id, 0),
	R(xchg.new_id, 8),
	R(xchg.customer_id, 16),
	R(xchg.price_minor, 24),
	R(xchg.seat, 32),
	RL(xchg.tier, 36, TIERS_MAX),
	RL(xchg.channel, 37, CHANNELS),
	RL(xchg.peer_shard, 38, SHARDS_MAX),
	R(xchg.status, 39),
};

/* ---- the walker ---- */

/* Formats are little-endian and so is the host (bytes.h), so a field's
 * bytes are memory's: one copy each way. Inlined over a constant table
 * (WALK below), each copy has a constant size and becomes one load and
 * store. */
static inline __attribute__((always_inline)) void pack(const struct rec_field *f, unsigned n,
						       const void *mem, uint8_t *body)
{
	const uint8_t *base = mem;

#pragma GCC unroll 16
	for (; n > 0; n--, f++)
		memcpy(body + f->body_off, base + f->mem_off, (size_t)f->width * f->count);
}

/* Returns 0, or -1 when a value is out of its field's range. */
static inline __attribute__((always_inline)) int unpack(const struct rec_field *f, unsigned n,
							void *mem, const uint8_t *body)
{
	uint8_t *base = mem;
	int bad = 0;

#pragma GCC unroll 16
	for (; n > 0; n--, f++) {
		uint64_t v = 0;

		memcpy(base + f->mem_off, body + f->body_off, (size_t)f->width * f->count);
		if (f->limit) {
			memcpy(&v, body + f->body_off, f->width);
			bad |= v >= f->limit;
		}
	}
	return -bad;
}

/* An encoder and a decoder per field table over struct T: the walker
 * inlined over a constant table unrolls into the loads and stores a
 * hand-written codec would make, instead of walking the table at run time
 * on every command (about 45 instructions a record less, measured with
 * callgrind on bench-core). fields##_bytes is the part of the body it
 * covers. */
#define WALK(fields, T, len)                                  \
	enum { fields##_bytes = (len) };                      \
	static void put_##fields(const T *mem, uint8_t *p)    \
	{                                                     \
		memset(p, 0, (len)); /* reserved bytes */     \
		pack(fields, COUNT(fields), mem, p);          \
	}                                                     \
	static int get_##fields(T *mem, const uint8_t *p)     \
	{                                                     \
		return unpack(fields, COUNT(fields), mem, p); \
	}

/* ...and, for a body that is exactly its fields, its record encoder and
 * decoder (struct rec_type's enc and dec). */
#define FIXED_BODY(fields, len)                                                                    \
	WALK(fields, struct rec, len)                                                              \
	static size_t enc_##fields(const struct rec *r, const struct cmd_section *sec, uint8_t *p) \
	{                                                                                          \
		(void)sec;                                                                         \
		put_##fields(r, p);                                                                \
		return (len);                                                                      \
	}                                                                                          \
	static enum status dec_##fields(struct rec *r, const uint8_t *p, size_t n)                 \
	{                                                                                          \
		return n == (len) && !get_##fields(r, p) ? ST_OK : ST_RECORD_INVALID;              \
	}

FIXED_BODY(event_f, 140)
FIXED_BODY(tier_f, 72)
FIXED_BODY(code_f, 40)
FIXED_BODY(extend_f, 16)
FIXED_BODY(end_f, 8)
FIXED_BODY(confirm_f, 56)
FIXED_BODY(redeem_f, 16)
FIXED_BODY(refund_f, 24)
FIXED_BODY(exchange_f, 32)
FIXED_BODY(stock_f, 16)
FIXED_BODY(xchg_f, 40)
WALK(hold_f, struct rec, HOLD_HEAD_BYTES)
WALK(section_f, struct rec, SECTION_HEAD_BYTES)
WALK(row_f, struct row_spec, SECTION_ROW_BYTES)
WALK(seat_f, struct seat_spec, SECTION_SEAT_BYTES)

/* ---- bodies with a counted tail ---- */

/* A hold's seats are listed only when its tier is reserved. */
static size_t enc_hold(const struct rec *r, const struct cmd_section *sec, uint8_t *p)
{
	(void)sec;
	assert(r->hold.qty <= HOLD_UNITS_MAX);
	put_hold_f(r, p);
	if (r->hold.seats[0] == SEAT_NONE)
		return HOLD_HEAD_BYTES;
	for (uint8_t i = 0; i < r->hold.qty; i++)
		put_u32(p + HOLD_HEAD_BYTES + HOLD_SEAT_BYTES * i, r->hold.seats[i]);
	return HOLD_HEAD_BYTES + (size_t)HOLD_SEAT_BYTES * r->hold.qty;
}

static enum status dec_hold(struct rec *r, const uint8_t *p, size_t n)
{
	if (n < HOLD_HEAD_BYTES || get_hold_f(r, p) || r->hold.qty == 0)
		return ST_RECORD_INVALID;
	r->hold.seats[0] = SEAT_NONE;
	if (n == HOLD_HEAD_BYTES)
		return ST_OK;
	if (n != HOLD_HEAD_BYTES + (size_t)HOLD_SEAT_BYTES * r->hold.qty)
		return ST_RECORD_INVALID;
	/* SEAT_NONE marks a GA hold: as a listed seat it would not encode back */
	for (uint8_t i = 0; i < r->hold.qty; i++) {
		r->hold.seats[i] = get_u32(p + HOLD_HEAD_BYTES + HOLD_SEAT_BYTES * i);
		if (r->hold.seats[i] == SEAT_NONE)
			return ST_RECORD_INVALID;
	}
	return ST_OK;
}

/* rows and seats come from the command; the record keeps them encoded. */
static size_t enc_section(const struct rec *r, const struct cmd_section *sec, uint8_t *p)
{
	struct rec head = {.type = CMD_SECTION_LOAD};
	uint8_t *q = p + SECTION_HEAD_BYTES;
	uint32_t seats = 0;

	assert(sec);
	for (uint16_t i = 0; i < sec->row_count; i++, q += SECTION_ROW_BYTES) {
		put_row_f(&sec->rows[i], q);
		seats += sec->rows[i].seat_count;
	}
	for (uint32_t i = 0; i < seats; i++, q += SECTION_SEAT_BYTES)
		put_seat_f(&sec->seats[i], q);
	head.section.section = r->section.section;
	head.section.row_count = sec->row_count;
	head.section.seat_count = seats;
	memcpy(head.section.name, sec->name, NAME_BYTES);
	put_section_f(&head, p);
	return (size_t)(q - p);
}

/* Rows and seats stay encoded (apply reads them in place); each is
 * checked here, and the rows must sum to the seat count. */
static enum status dec_section(struct rec *r, const uint8_t *p, size_t n)
{
	uint32_t seats = 0;
	uint16_t rows;

	if (n < SECTION_HEAD_BYTES || get_section_f(r, p))
		return ST_RECORD_INVALID;
	rows = r->section.row_count;
	r->section.rows = p + SECTION_HEAD_BYTES;
	r->section.seats = r->section.rows + (size_t)SECTION_ROW_BYTES * rows;
	if (rows == 0 || n != SECTION_HEAD_BYTES + (size_t)SECTION_ROW_BYTES * rows +
					 (size_t)SECTION_SEAT_BYTES * r->section.seat_count)
		return ST_RECORD_INVALID;
	for (uint16_t i = 0; i < rows; i++) {
		struct row_spec row;

		if (get_row_f(&row, r->section.rows + SECTION_ROW_BYTES * i) || row.seat_count == 0)
			return ST_RECORD_INVALID;
		seats += row.seat_count;
	}
	if (seats != r->section.seat_count)
		return ST_RECORD_INVALID;
	for (uint32_t i = 0; i < seats; i++) {
		struct seat_spec seat;

		if (get_seat_f(&seat, r->section.seats + SECTION_SEAT_BYTES * i))
			return ST_RECORD_INVALID;
	}
	return ST_OK;
}

static size_t enc_none(const struct rec *r, const struct cmd_section *sec, uint8_t *p)
{
	(void)r, (void)sec, (void)p;
	return 0;
}

static enum status dec_none(struct rec *r, const uint8_t *p, size_t n)
{
	(void)r, (void)p;
	return n == 0 ? ST_OK : ST_RECORD_INVALID;
}

/* ---- record types ---- */

struct rec_type {
	const char *name; /* NULL: not a record type */
	/* The payload after the head: writes it, returns its length. */
	size_t (*enc)(const struct rec *r, const struct cmd_section *sec, uint8_t *payload);
	/* Reads and checks n payload bytes: ST_OK or ST_RECORD_INVALID. */
	enum status (*dec)(struct rec *r, const uint8_t *payload, size_t n);
	const struct rec_field *f; /* for rec_check_tables */
	uint8_t n;
	uint8_t event_id;   /* 1: the member starts with an event_id, the head's */
	uint16_t bytes;     /* the fields' part of the payload */
	uint16_t mem_off;   /* of the union member the fields describe */
	uint16_t mem_bytes; /* its size */
};

/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define TYPE(nm, fields, member, ev, encode, decode)                                 \
	{ (nm), (encode), (decode), (fields), COUNT(fields), (ev), fields##_bytes,      \
	  offsetof(struct rec, member), sizeof(MEMBER(struct rec, member)) }
#define FIXED(nm, fields, member, ev) TYPE(nm, fields, member, ev, enc_##fields, dec_##fields)
// clang-format on

static const struct rec_type types[CMD_TYPE_MAX] = {
	[CMD_EVENT_CREATE] = FIXED("event_create", event_f, event, 1),
	[CMD_EVENT_UPDATE] = FIXED("event_update", event_f, event, 1),
	[CMD_TIER_ADD] = FIXED("tier_add", tier_f, tier, 1),
	[CMD_SECTION_LOAD] = TYPE("section_load", section_f, section, 0, enc_section, dec_section),
	[CMD_PRESALE_CODE_ADD] = FIXED("presale_code_add", code_f, code, 0),
	[CMD_EVENT_RETIRE] = {"event_retire", enc_none, dec_none, NULL, 0, 0, 0, 0, 0},
	[CMD_HOLD] = TYPE("hold", hold_f, hold, 0, enc_hold, dec_hold),
	[CMD_HOLD_EXTEND] = FIXED("hold_extend", extend_f, extend, 0),
	[CMD_HOLD_RELEASE] = FIXED("hold_release", end_f, end, 0),
	[CMD_HOLD_EXPIRE] = FIXED("hold_expire", end_f, end, 0),
	[CMD_CONFIRM] = FIXED("confirm", confirm_f, confirm, 0),
	[CMD_REDEEM] = FIXED("redeem", redeem_f, redeem, 0),
	[CMD_REFUND] = FIXED("refund", refund_f, refund, 0),
	[CMD_EXCHANGE] = FIXED("exchange", exchange_f, exchange, 0),
	[CMD_STOCK_OUT] = FIXED("stock_out", stock_f, stock, 1),
	[CMD_STOCK_IN] = FIXED("stock_in", stock_f, stock, 1),
	[CMD_STOCK_ACK] = FIXED("stock_ack", stock_f, stock, 1),
	[CMD_XCHG_OUT] = FIXED("xchg_out", xchg_f, xchg, 0),
	[CMD_XCHG_IN] = FIXED("xchg_in", xchg_f, xchg, 0),
	[CMD_XCHG_END] = FIXED("xchg_end", xchg_f, xchg, 0),
};

_Static_assert(((SEAT_FLAGS_ALL + 1) & SEAT_FLAGS_ALL) == 0,
	       "seat flags are the low bits, so a limit checks them");
_Static_assert(offsetof(struct cmd_event, event_id) == 0 &&
		       offsetof(struct cmd_tier, event_id) == 0 &&
		       offsetof(struct cmd_stock, event_id) == 0,
	       "a member flagged event_id starts with it");

static const struct rec_type *type_get(uint8_t type)
{
	return type < CMD_TYPE_MAX && types[type].name ? &types[type] : NULL;
}

const char *rec_type_name(uint8_t type)
{
	const struct rec_type *t = type_get(type);

	return t ? t->name : "unknown";
}

/* ---- records ---- */

size_t rec_encode(const struct rec *r, const struct cmd_section *sec, uint8_t *buf, size_t cap)
{
	const struct rec_type *t = type_get(r->type);

	assert(t && buf);
	assert(cap >= RECORD_BYTES_MAX || (cap >= RECORD_HEAD_BYTES + (size_t)t->bytes &&
					   r->type != CMD_SECTION_LOAD && r->type != CMD_HOLD));
	put_u8(buf + 0, r->type);
	put_u8(buf + 1, RECORD_VERSION);
	put_u16(buf + 2, 0);
	put_u32(buf + 4, r->event_id);
	put_u64(buf + 8, r->now_ms);
	return RECORD_HEAD_BYTES + t->enc(r, sec, buf + RECORD_HEAD_BYTES);
}

enum status rec_decode(const uint8_t *buf, size_t len, struct rec *r)
{
	const struct rec_type *t;

	assert(buf && r);
	if (len < RECORD_HEAD_BYTES || len > RECORD_BYTES_MAX || get_u8(buf + 1) != RECORD_VERSION)
		return ST_RECORD_INVALID;
	r->type = get_u8(buf + 0);
	r->event_id = get_u32(buf + 4);
	r->now_ms = get_u64(buf + 8);
	t = type_get(r->type);
	if (!t)
		return ST_RECORD_INVALID;
	if (t->event_id)
		memcpy((uint8_t *)r + t->mem_off, &r->event_id, sizeof r->event_id);
	return t->dec(r, buf + RECORD_HEAD_BYTES, len - RECORD_HEAD_BYTES);
}

/* ---- table checks (tests) ---- */

#define CHECK_BYTES_MAX 256 /* every fixed part is smaller */

/* Fields inside bytes and inside mem_bytes of memory, widths sane, no two
 * fields over the same byte. */
static const char *check_fields(const struct rec_field *f, unsigned n, size_t bytes, size_t mem_off,
				size_t mem_bytes)
{
	uint8_t used[CHECK_BYTES_MAX] = {0};

	if (bytes > CHECK_BYTES_MAX)
		return "a fixed part longer than CHECK_BYTES_MAX";
	for (; n > 0; n--, f++) {
		size_t len = (size_t)f->width * f->count;

		if (f->count == 0 ||
		    (f->width != 1 && f->width != 2 && f->width != 4 && f->width != 8) ||
		    (f->count > 1 && f->width != 1))
			return "a field of a bad width";
		if (f->limit && f->count != 1)
			return "a limit on a byte array";
		if (f->body_off + len > bytes)
			return "a field past its body";
		if (f->mem_off < mem_off || f->mem_off + len > mem_off + mem_bytes)
			return "a field outside its member";
		for (size_t i = f->body_off; i < f->body_off + len; i++)
			if (used[i]++)
				return "two fields over one byte";
	}
	return NULL;
}

const char *rec_check_tables(void)
{
	const char *bad = check_fields(row_f, COUNT(row_f), SECTION_ROW_BYTES, 0,
				       sizeof(struct row_spec));

	if (!bad)
		bad = check_fields(seat_f, COUNT(seat_f), SECTION_SEAT_BYTES, 0,
				   sizeof(struct seat_spec));
	for (unsigned i = 0; i < CMD_TYPE_MAX && !bad; i++) {
		const struct rec_type *t = type_get((uint8_t)i);

		if (!t)
			continue;
		if (RECORD_HEAD_BYTES + (size_t)t->bytes > RECORD_BYTES_MAX)
			return t->name;
		bad = check_fields(t->f, t->n, t->bytes, t->mem_off, t->mem_bytes);
	}
	return bad;
}
