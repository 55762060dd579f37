/*
 * record.c — encoding and decoding of WAL record bodies (layout in record.h).
 *
 * Decoding checks the shape of a body (known type, exact length, enums in
 * range) so apply never reads past a body or trusts a nonsense field; whether
 * a well-formed record fits the state is apply's business.
 */
#include "core/record.h"

#include <string.h>
#include "core/bytes.h"

#define EVENT_BYTES 140
#define TIER_BYTES 72
#define SECTION_HEAD_BYTES 56
#define SECTION_ROW_BYTES 16
#define SECTION_SEAT_BYTES 4
#define CODE_BYTES 40
#define HOLD_HEAD_BYTES 40
#define CONFIRM_BYTES 56
#define XCHG_BYTES 40

static const char *const type_names[CMD_TYPE_MAX] = {
	[CMD_EVENT_CREATE] = "event_create",
	[CMD_EVENT_UPDATE] = "event_update",
	[CMD_TIER_ADD] = "tier_add",
	[CMD_SECTION_LOAD] = "section_load",
	[CMD_PRESALE_CODE_ADD] = "presale_code_add",
	[CMD_EVENT_RETIRE] = "event_retire",
	[CMD_HOLD] = "hold",
	[CMD_HOLD_EXTEND] = "hold_extend",
	[CMD_HOLD_RELEASE] = "hold_release",
	[CMD_HOLD_EXPIRE] = "hold_expire",
	[CMD_CONFIRM] = "confirm",
	[CMD_REDEEM] = "redeem",
	[CMD_REFUND] = "refund",
	[CMD_EXCHANGE] = "exchange",
	[CMD_STOCK_OUT] = "stock_out",
	[CMD_STOCK_IN] = "stock_in",
	[CMD_STOCK_ACK] = "stock_ack",
	[CMD_XCHG_OUT] = "xchg_out",
	[CMD_XCHG_IN] = "xchg_in",
	[CMD_XCHG_END] = "xchg_end",
};

const char *rec_type_name(uint8_t type)
{
	if (type < CMD_TYPE_MAX && type_names[type])
		return type_names[type];
	return "unknown";
}

static void put_event(uint8_t *p, const struct cmd_event *e)
{
	put_u64(p + 0, e->starts_at_ms);
	put_u64(p + 8, e->presale_start_ms);
	put_u64(p + 16, e->public_start_ms);
	put_u64(p + 24, e->sales_end_ms);
	put_u32(p + 32, e->hold_ttl_ms);
	put_u32(p + 36, e->units_max);
	put_u16(p + 40, e->customer_limit);
	put_u8(p + 42, e->state);
	put_u8(p + 43, 0);
	put_bytes(p + 44, e->name, NAME_BYTES);
	put_bytes(p + 92, e->venue, NAME_BYTES);
}

static void get_event(const uint8_t *p, struct cmd_event *e)
{
	e->starts_at_ms = get_u64(p + 0);
	e->presale_start_ms = get_u64(p + 8);
	e->public_start_ms = get_u64(p + 16);
	e->sales_end_ms = get_u64(p + 24);
	e->hold_ttl_ms = get_u32(p + 32);
	e->units_max = get_u32(p + 36);
	e->customer_limit = get_u16(p + 40);
	e->state = get_u8(p + 42);
	get_bytes(p + 44, e->name, NAME_BYTES);
	get_bytes(p + 92, e->venue, NAME_BYTES);
}

static size_t put_section(uint8_t *p, const struct rec *r, const struct cmd_section *sec)
{
	uint32_t seats = 0;
	uint8_t *q = p + SECTION_HEAD_BYTES;

	put_u16(p + 0, r->section.section);
	put_u16(p + 2, sec->row_count);
	put_bytes(p + 8, sec->name, NAME_BYTES);
	for (uint16_t i = 0; i < sec->row_count; i++, q += SECTION_ROW_BYTES) {
		memset(q, 0, SECTION_ROW_BYTES);
		put_bytes(q, sec->rows[i].label, LABEL_BYTES);
		put_u16(q + 8, sec->rows[i].seat_count);
		put_u16(q + 10, sec->rows[i].first_number);
		seats += sec->rows[i].seat_count;
	}
	for (uint32_t i = 0; i < seats; i++, q += SECTION_SEAT_BYTES) {
		put_u8(q, sec->seats[i].tier);
		put_u8(q + 1, sec->seats[i].flags);
		put_u16(q + 2, sec->seats[i].rank);
	}
	put_u32(p + 4, seats);
	return (size_t)(q - p);
}

static size_t put_payload(uint8_t *p, const struct rec *r, const struct cmd_section *sec)
{
	switch (r->type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE:
		put_event(p, &r->event);
		return EVENT_BYTES;
	case CMD_TIER_ADD:
		memset(p, 0, TIER_BYTES);
		put_u8(p + 0, r->tier.tier);
		put_u8(p + 1, r->tier.kind);
		put_u32(p + 4, r->tier.capacity);
		put_u32(p + 8, r->tier.low_stock_threshold);
		put_u64(p + 16, r->tier.price_minor);
		put_bytes(p + 24, r->tier.name, NAME_BYTES);
		return TIER_BYTES;
	case CMD_SECTION_LOAD:
		return put_section(p, r, sec);
	case CMD_PRESALE_CODE_ADD:
		memset(p, 0, 8);
		put_u8(p + 0, r->code.code_index);
		put_u32(p + 4, r->code.use_limit);
		put_bytes(p + 8, r->code.hash, PRESALE_CODE_HASH_BYTES);
		return CODE_BYTES;
	case CMD_HOLD:
		put_u64(p + 0, r->hold.hold_id);
		put_u64(p + 8, r->hold.customer_id);
		put_u64(p + 16, r->hold.idem_key);
		put_u64(p + 24, r->hold.expires_at_ms);
		put_u8(p + 32, r->hold.tier);
		put_u8(p + 33, r->hold.channel);
		put_u8(p + 34, r->hold.qty);
		put_u8(p + 35, r->hold.code_index);
		put_u32(p + 36, 0);
		if (r->hold.seats[0] == SEAT_NONE)
			return HOLD_HEAD_BYTES;
		for (uint8_t i = 0; i < r->hold.qty; i++)
			put_u32(p + HOLD_HEAD_BYTES + 4 * i, r->hold.seats[i]);
		return HOLD_HEAD_BYTES + 4u * r->hold.qty;
	case CMD_HOLD_EXTEND:
		put_u64(p + 0, r->extend.hold_id);
		put_u64(p + 8, r->extend.expires_at_ms);
		return 16;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
		put_u64(p + 0, r->end.hold_id);
		return 8;
	case CMD_CONFIRM:
		put_u64(p + 0, r->confirm.hold_id);
		put_u64(p + 8, r->confirm.amount_minor);
		put_u64(p + 16, r->confirm.first_ticket_id);
		put_bytes(p + 24, r->confirm.payment_ref, PAYMENT_REF_BYTES);
		return CONFIRM_BYTES;
	case CMD_REDEEM:
		put_u64(p + 0, r->redeem.ticket_id);
		put_u32(p + 8, r->redeem.gate_id);
		put_u32(p + 12, 0);
		return 16;
	case CMD_REFUND:
		memset(p, 0, 24);
		put_u64(p + 0, r->refund.ticket_id);
		put_u64(p + 8, r->refund.fee_minor);
		put_u8(p + 16, r->refund.kill);
		return 24;
	case CMD_EXCHANGE:
		memset(p, 0, 32);
		put_u64(p + 0, r->exchange.ticket_id);
		put_u64(p + 8, r->exchange.new_ticket_id);
		put_u64(p + 16, r->exchange.price_minor);
		put_u32(p + 24, r->exchange.seat);
		put_u8(p + 28, r->exchange.tier);
		return 32;
	case CMD_STOCK_OUT:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK:
		put_u64(p + 0, r->stock.transfer_id);
		put_u32(p + 8, r->stock.qty);
		put_u8(p + 12, r->stock.tier);
		put_u8(p + 13, r->stock.peer_shard);
		put_u16(p + 14, 0);
		return 16;
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END:
		put_u64(p + 0, r->xchg.ticket_id);
		put_u64(p + 8, r->xchg.new_id);
		put_u64(p + 16, r->xchg.customer_id);
		put_u64(p + 24, r->xchg.price_minor);
		put_u32(p + 32, r->xchg.seat);
		put_u8(p + 36, r->xchg.tier);
		put_u8(p + 37, r->xchg.channel);
		put_u8(p + 38, r->xchg.peer_shard);
		put_u8(p + 39, r->xchg.status);
		return XCHG_BYTES;
	}
	return 0;
}

size_t rec_encode(const struct rec *r, const struct cmd_section *sec, uint8_t *buf, size_t cap)
{
	(void)cap;
	put_u8(buf + 0, r->type);
	put_u8(buf + 1, RECORD_VERSION);
	put_u16(buf + 2, 0);
	put_u32(buf + 4, r->event_id);
	put_u64(buf + 8, r->now_ms);
	return RECORD_HEAD_BYTES + put_payload(buf + RECORD_HEAD_BYTES, r, sec);
}

static enum status get_section(const uint8_t *p, size_t n, struct rec *r)
{
	uint32_t seats = 0;

	if (n < SECTION_HEAD_BYTES)
		return ST_RECORD_INVALID;
	r->section.section = get_u16(p + 0);
	r->section.row_count = get_u16(p + 2);
	r->section.seat_count = get_u32(p + 4);
	get_bytes(p + 8, r->section.name, NAME_BYTES);
	r->section.rows = p + SECTION_HEAD_BYTES;
	if (r->section.row_count > SECTION_ROWS_MAX || r->section.seat_count > SECTION_SEATS_MAX)
		return ST_RECORD_INVALID;
	r->section.seats = r->section.rows + (size_t)SECTION_ROW_BYTES * r->section.row_count;
	if (n != SECTION_HEAD_BYTES + (size_t)SECTION_ROW_BYTES * r->section.row_count +
			 (size_t)SECTION_SEAT_BYTES * r->section.seat_count)
		return ST_RECORD_INVALID;
	for (uint16_t i = 0; i < r->section.row_count; i++) {
		uint16_t row_seats = get_u16(r->section.rows + SECTION_ROW_BYTES * i + 8);

		if (row_seats == 0 || row_seats > ROW_SEATS_MAX) /* a row's state is ROW_SEATS_MAX bits */
			return ST_RECORD_INVALID;
		seats += row_seats;
	}
	if (r->section.row_count == 0 || seats != r->section.seat_count)
		return ST_RECORD_INVALID;
	for (uint32_t i = 0; i < seats; i++)
		if (get_u8(r->section.seats + SECTION_SEAT_BYTES * i + 1) & ~SEAT_FLAGS_ALL)
			return ST_RECORD_INVALID;
	return ST_OK;
}

static enum status get_hold(const uint8_t *p, size_t n, struct rec *r)
{
	if (n < HOLD_HEAD_BYTES)
		return ST_RECORD_INVALID;
	r->hold.hold_id = get_u64(p + 0);
	r->hold.customer_id = get_u64(p + 8);
	r->hold.idem_key = get_u64(p + 16);
	r->hold.expires_at_ms = get_u64(p + 24);
	r->hold.tier = get_u8(p + 32);
	r->hold.channel = get_u8(p + 33);
	r->hold.qty = get_u8(p + 34);
	r->hold.code_index = get_u8(p + 35);
	if (r->hold.qty == 0 || r->hold.qty > HOLD_UNITS_MAX || r->hold.channel >= CHANNELS ||
	    r->hold.tier >= TIERS_MAX)
		return ST_RECORD_INVALID;
	r->hold.seats[0] = SEAT_NONE;
	if (n == HOLD_HEAD_BYTES)
		return ST_OK;
	if (n != HOLD_HEAD_BYTES + 4u * r->hold.qty)
		return ST_RECORD_INVALID;
	for (uint8_t i = 0; i < r->hold.qty; i++)
		r->hold.seats[i] = get_u32(p + HOLD_HEAD_BYTES + 4 * i);
	return ST_OK;
}

/* Fixed payload length by type; 0 for variable or unknown. */
static size_t fixed_len(uint8_t type)
{
	switch (type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE: return EVENT_BYTES;
	case CMD_TIER_ADD: return TIER_BYTES;
	case CMD_PRESALE_CODE_ADD: return CODE_BYTES;
	case CMD_HOLD_EXTEND: return 16;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE: return 8;
	case CMD_CONFIRM: return CONFIRM_BYTES;
	case CMD_REDEEM: return 16;
	case CMD_REFUND: return 24;
	case CMD_EXCHANGE: return 32;
	case CMD_STOCK_OUT:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK: return 16;
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END: return XCHG_BYTES;
	}
	return 0;
}

static enum status get_fixed(const uint8_t *p, struct rec *r)
{
	switch (r->type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE:
		memset(&r->event, 0, sizeof r->event);
		get_event(p, &r->event);
		r->event.event_id = r->event_id;
		return r->event.state < EVENT_STATE_COUNT ? ST_OK : ST_RECORD_INVALID;
	case CMD_TIER_ADD:
		memset(&r->tier, 0, sizeof r->tier);
		r->tier.event_id = r->event_id;
		r->tier.tier = get_u8(p + 0);
		r->tier.kind = get_u8(p + 1);
		r->tier.capacity = get_u32(p + 4);
		r->tier.low_stock_threshold = get_u32(p + 8);
		r->tier.price_minor = get_u64(p + 16);
		get_bytes(p + 24, r->tier.name, NAME_BYTES);
		return r->tier.tier < TIERS_MAX && r->tier.kind <= TIER_RESERVED ? ST_OK
										 : ST_RECORD_INVALID;
	case CMD_PRESALE_CODE_ADD:
		r->code.code_index = get_u8(p + 0);
		r->code.use_limit = get_u32(p + 4);
		get_bytes(p + 8, r->code.hash, PRESALE_CODE_HASH_BYTES);
		return r->code.code_index < PRESALE_CODES_MAX ? ST_OK : ST_RECORD_INVALID;
	case CMD_HOLD_EXTEND:
		r->extend.hold_id = get_u64(p + 0);
		r->extend.expires_at_ms = get_u64(p + 8);
		return ST_OK;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
		r->end.hold_id = get_u64(p + 0);
		return ST_OK;
	case CMD_CONFIRM:
		r->confirm.hold_id = get_u64(p + 0);
		r->confirm.amount_minor = get_u64(p + 8);
		r->confirm.first_ticket_id = get_u64(p + 16);
		get_bytes(p + 24, r->confirm.payment_ref, PAYMENT_REF_BYTES);
		return ST_OK;
	case CMD_REDEEM:
		r->redeem.ticket_id = get_u64(p + 0);
		r->redeem.gate_id = get_u32(p + 8);
		return ST_OK;
	case CMD_REFUND:
		r->refund.ticket_id = get_u64(p + 0);
		r->refund.fee_minor = get_u64(p + 8);
		r->refund.kill = get_u8(p + 16);
		return r->refund.kill <= 1 ? ST_OK : ST_RECORD_INVALID;
	case CMD_EXCHANGE:
		r->exchange.ticket_id = get_u64(p + 0);
		r->exchange.new_ticket_id = get_u64(p + 8);
		r->exchange.price_minor = get_u64(p + 16);
		r->exchange.seat = get_u32(p + 24);
		r->exchange.tier = get_u8(p + 28);
		return r->exchange.tier < TIERS_MAX ? ST_OK : ST_RECORD_INVALID;
	case CMD_STOCK_OUT:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK:
		r->stock.event_id = r->event_id;
		r->stock.transfer_id = get_u64(p + 0);
		r->stock.qty = get_u32(p + 8);
		r->stock.tier = get_u8(p + 12);
		r->stock.peer_shard = get_u8(p + 13);
		return r->stock.tier < TIERS_MAX ? ST_OK : ST_RECORD_INVALID;
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END:
		r->xchg.ticket_id = get_u64(p + 0);
		r->xchg.new_id = get_u64(p + 8);
		r->xchg.customer_id = get_u64(p + 16);
		r->xchg.price_minor = get_u64(p + 24);
		r->xchg.seat = get_u32(p + 32);
		r->xchg.tier = get_u8(p + 36);
		r->xchg.channel = get_u8(p + 37);
		r->xchg.peer_shard = get_u8(p + 38);
		r->xchg.status = get_u8(p + 39);
		return r->xchg.tier < TIERS_MAX && r->xchg.channel < CHANNELS &&
				       r->xchg.peer_shard < SHARDS_MAX
			       ? ST_OK
			       : ST_RECORD_INVALID;
	}
	return ST_RECORD_INVALID;
}

enum status rec_decode(const uint8_t *buf, size_t len, struct rec *r)
{
	const uint8_t *p = buf + RECORD_HEAD_BYTES;
	size_t n = len - RECORD_HEAD_BYTES;

	if (len < RECORD_HEAD_BYTES || len > RECORD_BYTES_MAX || get_u8(buf + 1) != RECORD_VERSION)
		return ST_RECORD_INVALID;
	r->type = get_u8(buf + 0);
	r->event_id = get_u32(buf + 4);
	r->now_ms = get_u64(buf + 8);
	if (r->type == CMD_SECTION_LOAD)
		return get_section(p, n, r);
	if (r->type == CMD_HOLD)
		return get_hold(p, n, r);
	if (r->type == CMD_EVENT_RETIRE)
		return n == 0 ? ST_OK : ST_RECORD_INVALID;
	if (fixed_len(r->type) == 0 || n != fixed_len(r->type))
		return ST_RECORD_INVALID;
	return get_fixed(p, r);
}
