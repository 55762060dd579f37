/*
 * test_core_record.c — WAL record bodies and replay: every record type
 * round-trips through rec_encode/rec_decode; malformed bodies are refused;
 * a well-formed record that does not fit the state is refused by
 * core_apply and changes nothing. Also the status names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/bytes.h"
#include "core/record.h"
#include "tests/support/fixture.h"

#define EV 21
#define UNITS 400 /* of the event in struct world */

static uint8_t buf[RECORD_BYTES_MAX + 16];

/* ---- encode / decode ---- */

static struct rec head(uint8_t type)
{
	struct rec r;

	memset(&r, 0, sizeof r);
	r.type = type;
	r.event_id = 0x01020304;
	r.now_ms = 0x1122334455667788ull;
	return r;
}

static size_t encode(const struct rec *r, const struct cmd_section *sec)
{
	memset(buf, 0xee, sizeof buf);
	return rec_encode(r, sec, buf, sizeof buf);
}

static void decode_ok(size_t len, struct rec *out)
{
	memset(out, 0xcd, sizeof *out);
	assert_string_equal(status_name(rec_decode(buf, len, out)), "ok");
	assert_int_equal(get_u8(buf + 1), RECORD_VERSION);
	assert_int_equal(get_u32(buf + 4), 0x01020304);
	assert_int_equal(out->event_id, 0x01020304);
	assert_int_equal(out->now_ms, 0x1122334455667788ull);
}

static void round_trip_event(void **state)
{
	uint8_t types[] = {CMD_EVENT_CREATE, CMD_EVENT_UPDATE};

	(void)state;
	for (unsigned i = 0; i < 2; i++) {
		struct rec r = head(types[i]), d;
		size_t n;

		r.event.event_id = r.event_id;
		r.event.state = EVENT_PAUSED;
		r.event.customer_limit = 999;
		r.event.hold_ttl_ms = 123456;
		r.event.units_max = 4000000;
		r.event.starts_at_ms = 1;
		r.event.presale_start_ms = 2;
		r.event.public_start_ms = 3;
		r.event.sales_end_ms = 0xfffffffffffull;
		memset(r.event.name, 'n', NAME_BYTES); /* full width, no NUL */
		snprintf(r.event.venue, NAME_BYTES, "venue");
		n = encode(&r, NULL);
		assert_int_equal(n, RECORD_HEAD_BYTES + 140);
		assert_int_equal(get_u8(buf), types[i]);
		decode_ok(n, &d);
		assert_int_equal(d.type, types[i]);
		assert_int_equal(d.event.event_id, r.event_id);
		assert_int_equal(d.event.state, EVENT_PAUSED);
		assert_int_equal(d.event.customer_limit, 999);
		assert_int_equal(d.event.hold_ttl_ms, 123456);
		assert_int_equal(d.event.units_max, 4000000);
		assert_int_equal(d.event.starts_at_ms, 1);
		assert_int_equal(d.event.presale_start_ms, 2);
		assert_int_equal(d.event.public_start_ms, 3);
		assert_int_equal(d.event.sales_end_ms, 0xfffffffffffull);
		assert_memory_equal(d.event.name, r.event.name, NAME_BYTES);
		assert_memory_equal(d.event.venue, r.event.venue, NAME_BYTES);
	}
}

static void round_trip_tier_and_code(void **state)
{
	struct rec r = head(CMD_TIER_ADD), d;
	size_t n;

	(void)state;
	r.tier.tier = TIERS_MAX - 1;
	r.tier.kind = TIER_RESERVED;
	r.tier.capacity = 0x00abcdef;
	r.tier.low_stock_threshold = 77;
	r.tier.price_minor = 0x123456789aull;
	snprintf(r.tier.name, NAME_BYTES, "stalls");
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 72);
	decode_ok(n, &d);
	assert_int_equal(d.type, CMD_TIER_ADD);
	assert_int_equal(d.tier.event_id, r.event_id);
	assert_int_equal(d.tier.tier, TIERS_MAX - 1);
	assert_int_equal(d.tier.kind, TIER_RESERVED);
	assert_int_equal(d.tier.capacity, 0x00abcdef);
	assert_int_equal(d.tier.low_stock_threshold, 77);
	assert_int_equal(d.tier.price_minor, 0x123456789aull);
	assert_string_equal(d.tier.name, "stalls");

	r = head(CMD_PRESALE_CODE_ADD);
	r.code.code_index = PRESALE_CODES_MAX - 1;
	r.code.use_limit = 0xdeadbeef;
	for (unsigned i = 0; i < PRESALE_CODE_HASH_BYTES; i++)
		r.code.hash[i] = (uint8_t)(i * 37 + 1);
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 40);
	decode_ok(n, &d);
	assert_int_equal(d.code.code_index, PRESALE_CODES_MAX - 1);
	assert_int_equal(d.code.use_limit, 0xdeadbeef);
	assert_memory_equal(d.code.hash, r.code.hash, PRESALE_CODE_HASH_BYTES);
}

static struct row_spec sec_rows[3];
static struct seat_spec sec_seats[3 + 1 + ROW_SEATS_MAX];

static struct cmd_section section_spec(void)
{
	struct cmd_section s = {.event_id = EV, .section = 17, .row_count = 3};
	uint32_t n = 0;
	static const uint16_t counts[3] = {3, 1, ROW_SEATS_MAX};

	snprintf(s.name, NAME_BYTES, "north");
	for (unsigned r = 0; r < 3; r++) {
		memset(&sec_rows[r], 0, sizeof sec_rows[r]);
		memset(sec_rows[r].label, 'A' + r, LABEL_BYTES); /* full width */
		sec_rows[r].seat_count = counts[r];
		sec_rows[r].first_number = (uint16_t)(100 + r);
		for (unsigned i = 0; i < counts[r]; i++, n++)
			sec_seats[n] = (struct seat_spec){.tier = (uint8_t)(n % 3),
							  .flags = (uint8_t)(n % 8),
							  .rank = (uint16_t)(n * 257)};
	}
	s.rows = sec_rows;
	s.seats = sec_seats;
	return s;
}

static void round_trip_section(void **state)
{
	struct cmd_section s = section_spec();
	struct rec r = head(CMD_SECTION_LOAD), d;
	uint32_t seats = 3 + 1 + ROW_SEATS_MAX;
	size_t n;

	(void)state;
	r.section.section = s.section;
	n = encode(&r, &s);
	assert_int_equal(n, RECORD_HEAD_BYTES + 56 + 16 * 3 + 4 * seats);
	decode_ok(n, &d);
	assert_int_equal(d.type, CMD_SECTION_LOAD);
	assert_int_equal(d.section.section, 17);
	assert_int_equal(d.section.row_count, 3);
	assert_int_equal(d.section.seat_count, seats);
	assert_string_equal(d.section.name, "north");
	for (unsigned i = 0; i < 3; i++) {
		assert_memory_equal(d.section.rows + 16 * i, sec_rows[i].label, LABEL_BYTES);
		assert_int_equal(get_u16(d.section.rows + 16 * i + 8), sec_rows[i].seat_count);
		assert_int_equal(get_u16(d.section.rows + 16 * i + 10), sec_rows[i].first_number);
	}
	for (unsigned i = 0; i < seats; i++) {
		assert_int_equal(d.section.seats[4 * i], sec_seats[i].tier);
		assert_int_equal(d.section.seats[4 * i + 1], sec_seats[i].flags);
		assert_int_equal(get_u16(d.section.seats + 4 * i + 2), sec_seats[i].rank);
	}
}

static void round_trip_hold(void **state)
{
	struct rec r = head(CMD_HOLD), d;
	size_t n;

	(void)state;
	/* GA: no seats on the wire */
	r.hold.hold_id = 0x0300000500000007ull;
	r.hold.customer_id = 0xfeedfacecafebeefull;
	r.hold.idem_key = 42;
	r.hold.expires_at_ms = 0x0000018000000000ull;
	r.hold.tier = 4;
	r.hold.channel = CHANNEL_KIOSK;
	r.hold.qty = HOLD_UNITS_MAX;
	r.hold.code_index = PRESALE_CODE_NONE;
	r.hold.seats[0] = SEAT_NONE;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 40);
	decode_ok(n, &d);
	assert_int_equal(d.hold.hold_id, r.hold.hold_id);
	assert_int_equal(d.hold.customer_id, r.hold.customer_id);
	assert_int_equal(d.hold.idem_key, 42);
	assert_int_equal(d.hold.expires_at_ms, r.hold.expires_at_ms);
	assert_int_equal(d.hold.tier, 4);
	assert_int_equal(d.hold.channel, CHANNEL_KIOSK);
	assert_int_equal(d.hold.qty, HOLD_UNITS_MAX);
	assert_int_equal(d.hold.code_index, PRESALE_CODE_NONE);
	assert_int_equal(d.hold.seats[0], SEAT_NONE);
	/* seats: one u32 each */
	r.hold.qty = 3;
	r.hold.code_index = 5;
	r.hold.seats[0] = 7;
	r.hold.seats[1] = 0;
	r.hold.seats[2] = SEATS_MAX - 1;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 40 + 12);
	decode_ok(n, &d);
	assert_int_equal(d.hold.qty, 3);
	assert_int_equal(d.hold.code_index, 5);
	assert_int_equal(d.hold.seats[0], 7);
	assert_int_equal(d.hold.seats[1], 0);
	assert_int_equal(d.hold.seats[2], SEATS_MAX - 1);
}

static void round_trip_hold_refs(void **state)
{
	struct rec r = head(CMD_HOLD_EXTEND), d;
	uint8_t ends[] = {CMD_HOLD_RELEASE, CMD_HOLD_EXPIRE};
	size_t n;

	(void)state;
	r.extend.hold_id = 0x0a0b0c0d0e0f1011ull;
	r.extend.expires_at_ms = 0x1213141516171819ull;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 16);
	decode_ok(n, &d);
	assert_int_equal(d.extend.hold_id, r.extend.hold_id);
	assert_int_equal(d.extend.expires_at_ms, r.extend.expires_at_ms);
	for (unsigned i = 0; i < 2; i++) {
		r = head(ends[i]);
		r.end.hold_id = 0x99ull << 40 | i;
		n = encode(&r, NULL);
		assert_int_equal(n, RECORD_HEAD_BYTES + 8);
		decode_ok(n, &d);
		assert_int_equal(d.type, ends[i]);
		assert_int_equal(d.end.hold_id, r.end.hold_id);
	}
	r = head(CMD_CONFIRM);
	r.confirm.hold_id = 5;
	r.confirm.amount_minor = 0x7fffffffffffffffull;
	r.confirm.first_ticket_id = 0x0100000000000001ull;
	memset(r.confirm.payment_ref, 'p', PAYMENT_REF_BYTES);
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 56);
	decode_ok(n, &d);
	assert_int_equal(d.confirm.hold_id, 5);
	assert_int_equal(d.confirm.amount_minor, 0x7fffffffffffffffull);
	assert_int_equal(d.confirm.first_ticket_id, 0x0100000000000001ull);
	assert_memory_equal(d.confirm.payment_ref, r.confirm.payment_ref, PAYMENT_REF_BYTES);
}

static void round_trip_tickets_and_stock(void **state)
{
	struct rec r = head(CMD_REDEEM), d;
	uint8_t stock[] = {CMD_STOCK_OUT, CMD_STOCK_IN};
	size_t n;

	(void)state;
	r.redeem.ticket_id = 0x0200000000001234ull;
	r.redeem.gate_id = 0xfffffffe;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 16);
	decode_ok(n, &d);
	assert_int_equal(d.redeem.ticket_id, r.redeem.ticket_id);
	assert_int_equal(d.redeem.gate_id, 0xfffffffe);

	r = head(CMD_REFUND);
	r.refund.ticket_id = 77;
	r.refund.fee_minor = 0x100000000ull;
	r.refund.kill = 1;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 24);
	decode_ok(n, &d);
	assert_int_equal(d.refund.ticket_id, 77);
	assert_int_equal(d.refund.fee_minor, 0x100000000ull);
	assert_int_equal(d.refund.kill, 1);

	r = head(CMD_EXCHANGE);
	r.exchange.ticket_id = 8;
	r.exchange.new_ticket_id = 9;
	r.exchange.price_minor = 123456789;
	r.exchange.seat = SEAT_NONE;
	r.exchange.tier = TIERS_MAX - 1;
	n = encode(&r, NULL);
	assert_int_equal(n, RECORD_HEAD_BYTES + 32);
	decode_ok(n, &d);
	assert_int_equal(d.exchange.ticket_id, 8);
	assert_int_equal(d.exchange.new_ticket_id, 9);
	assert_int_equal(d.exchange.price_minor, 123456789);
	assert_int_equal(d.exchange.seat, SEAT_NONE);
	assert_int_equal(d.exchange.tier, TIERS_MAX - 1);

	for (unsigned i = 0; i < 2; i++) {
		r = head(stock[i]);
		r.stock.transfer_id = 0xabcdef0123ull;
		r.stock.qty = 1000000;
		r.stock.tier = 3;
		r.stock.peer_shard = SHARDS_MAX - 1;
		n = encode(&r, NULL);
		assert_int_equal(n, RECORD_HEAD_BYTES + 16);
		decode_ok(n, &d);
		assert_int_equal(d.type, stock[i]);
		assert_int_equal(d.stock.event_id, r.event_id);
		assert_int_equal(d.stock.transfer_id, 0xabcdef0123ull);
		assert_int_equal(d.stock.qty, 1000000);
		assert_int_equal(d.stock.tier, 3);
		assert_int_equal(d.stock.peer_shard, SHARDS_MAX - 1);
	}
}

/* Every field of a type's member nonzero (and in range), padding zero, so a
 * decoded record can be compared with memcmp. */
static struct rec filled(uint8_t type)
{
	struct rec r = head(type);

	switch (type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE:
		r.event = (struct cmd_event){r.event_id,
					     EVENT_CLOSED,
					     0x0102,
					     0x03040506,
					     0x0708090a,
					     0x1112131415161718ull,
					     0x2122232425262728ull,
					     0x3132333435363738ull,
					     0x4142434445464748ull};
		memset(r.event.name, 'n', NAME_BYTES);
		memset(r.event.venue, 'v', NAME_BYTES);
		break;
	case CMD_TIER_ADD:
		r.tier = (struct cmd_tier){r.event_id, TIERS_MAX - 1, TIER_RESERVED,
					   0x01020304, 0x05060708,    0x1112131415161718ull};
		memset(r.tier.name, 't', NAME_BYTES);
		break;
	case CMD_SECTION_LOAD: r.section.section = 0x0102; break;
	case CMD_PRESALE_CODE_ADD:
		r.code.code_index = PRESALE_CODES_MAX - 1;
		r.code.use_limit = 0x01020304;
		memset(r.code.hash, 0xa5, PRESALE_CODE_HASH_BYTES);
		break;
	case CMD_EVENT_RETIRE: break;
	case CMD_HOLD:
		r.hold.hold_id = 0x0102030405060708ull;
		r.hold.customer_id = 0x1112131415161718ull;
		r.hold.idem_key = 0x2122232425262728ull;
		r.hold.expires_at_ms = 0x3132333435363738ull;
		r.hold.tier = TIERS_MAX - 1;
		r.hold.channel = CHANNEL_KIOSK;
		r.hold.qty = HOLD_UNITS_MAX;
		r.hold.code_index = PRESALE_CODES_MAX - 1;
		for (unsigned i = 0; i < HOLD_UNITS_MAX; i++)
			r.hold.seats[i] = 0x01000000u + i + 1;
		break;
	case CMD_HOLD_EXTEND:
		r.extend.hold_id = 0x0102030405060708ull;
		r.extend.expires_at_ms = 0x1112131415161718ull;
		break;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE: r.end.hold_id = 0x0102030405060708ull; break;
	case CMD_CONFIRM:
		r.confirm.hold_id = 0x0102030405060708ull;
		r.confirm.amount_minor = 0x1112131415161718ull;
		r.confirm.first_ticket_id = 0x2122232425262728ull;
		memset(r.confirm.payment_ref, 'p', PAYMENT_REF_BYTES);
		break;
	case CMD_REDEEM:
		r.redeem.ticket_id = 0x0102030405060708ull;
		r.redeem.gate_id = 0x11121314;
		break;
	case CMD_REFUND:
		r.refund.ticket_id = 0x0102030405060708ull;
		r.refund.fee_minor = 0x1112131415161718ull;
		r.refund.kill = 1;
		break;
	case CMD_EXCHANGE:
		r.exchange.ticket_id = 0x0102030405060708ull;
		r.exchange.new_ticket_id = 0x1112131415161718ull;
		r.exchange.price_minor = 0x2122232425262728ull;
		r.exchange.seat = 0x31323334;
		r.exchange.tier = TIERS_MAX - 1;
		break;
	case CMD_STOCK_OUT:
	case CMD_STOCK_IN:
	case CMD_STOCK_ACK:
		r.stock = (struct cmd_stock){r.event_id, TIERS_MAX - 1, SHARDS_MAX - 1, 0x01020304,
					     0x0102030405060708ull};
		break;
	case CMD_XCHG_OUT:
	case CMD_XCHG_IN:
	case CMD_XCHG_END:
		r.xchg.ticket_id = 0x0102030405060708ull;
		r.xchg.new_id = 0x1112131415161718ull;
		r.xchg.customer_id = 0x2122232425262728ull;
		r.xchg.price_minor = 0x3132333435363738ull;
		r.xchg.seat = 0x41424344;
		r.xchg.tier = TIERS_MAX - 1;
		r.xchg.channel = CHANNEL_KIOSK;
		r.xchg.peer_shard = SHARDS_MAX - 1;
		r.xchg.status = ST_SEAT_UNAVAILABLE;
		break;
	default: fail_msg("record type %u has no filler: add one here", type);
	}
	return r;
}

/* The section a decoded SECTION_LOAD describes, read back from its bytes
 * with the offsets record.h documents. */
static struct cmd_section section_of(const struct rec *d, struct row_spec *rows,
				     struct seat_spec *seats)
{
	struct cmd_section s = {.event_id = d->event_id,
				.section = d->section.section,
				.row_count = d->section.row_count,
				.rows = rows,
				.seats = seats};

	memcpy(s.name, d->section.name, NAME_BYTES);
	for (unsigned i = 0; i < d->section.row_count; i++) {
		memcpy(rows[i].label, d->section.rows + 16 * i, LABEL_BYTES);
		rows[i].seat_count = get_u16(d->section.rows + 16 * i + 8);
		rows[i].first_number = get_u16(d->section.rows + 16 * i + 10);
	}
	for (unsigned i = 0; i < d->section.seat_count; i++)
		seats[i] = (struct seat_spec){.tier = d->section.seats[4 * i],
					      .flags = d->section.seats[4 * i + 1],
					      .rank = get_u16(d->section.seats + 4 * i + 2)};
	return s;
}

/* Every record type the codec knows: encode, decode, equal; and the bytes
 * of a decoded record encode to the same bytes (what replay relies on when
 * a record is read back and written again, as the shard store does). */
static void round_trip_every_type(void **state)
{
	static uint8_t again[RECORD_BYTES_MAX];
	static struct row_spec rows[3];
	static struct seat_spec seats[3 + 1 + ROW_SEATS_MAX];
	unsigned types = 0;

	(void)state;
	assert_null(rec_check_tables());
	for (unsigned t = 0; t < CMD_TYPE_MAX; t++) {
		struct cmd_section s = section_spec(), s2 = s;
		struct rec r, d;
		size_t n, n2;

		if (!strcmp(rec_type_name((uint8_t)t), "unknown"))
			continue;
		types++;
		r = filled((uint8_t)t);
		n = encode(&r, &s);
		memset(&d, 0, sizeof d);
		assert_int_equal(rec_decode(buf, n, &d), ST_OK);
		assert_int_equal(d.type, t);
		assert_int_equal(d.event_id, r.event_id);
		assert_int_equal(d.now_ms, r.now_ms);
		if (t == CMD_SECTION_LOAD)
			s2 = section_of(&d, rows, seats);
		else
			assert_memory_equal(&d, &r, sizeof d);
		n2 = rec_encode(&d, &s2, again, sizeof again);
		assert_int_equal(n2, n);
		assert_memory_equal(again, buf, n);
	}
	assert_int_equal(types, 20);
}

/* A valid body of every record type, encoded into out; returns its length. */
static size_t sample(uint8_t type, uint8_t *out)
{
	struct rec r = head(type);
	struct cmd_section s = section_spec();
	size_t n;

	switch (type) {
	case CMD_EVENT_CREATE:
	case CMD_EVENT_UPDATE:
		r.event.hold_ttl_ms = HOLD_TTL_MS_DEFAULT;
		r.event.units_max = 10;
		break;
	case CMD_SECTION_LOAD: r.section.section = 1; break;
	case CMD_HOLD:
		r.hold.qty = 2;
		r.hold.seats[0] = 3;
		r.hold.seats[1] = 4;
		break;
	}
	n = encode(&r, &s);
	memcpy(out, buf, n);
	return n;
}

static const uint8_t all_types[] = {
	CMD_EVENT_CREATE, CMD_EVENT_UPDATE, CMD_TIER_ADD,    CMD_SECTION_LOAD, CMD_PRESALE_CODE_ADD,
	CMD_EVENT_RETIRE, CMD_HOLD,         CMD_HOLD_EXTEND, CMD_HOLD_RELEASE, CMD_HOLD_EXPIRE,
	CMD_CONFIRM,      CMD_REDEEM,       CMD_REFUND,      CMD_EXCHANGE,     CMD_STOCK_OUT,
	CMD_STOCK_IN,     CMD_STOCK_ACK,    CMD_XCHG_OUT,    CMD_XCHG_IN,      CMD_XCHG_END,
};

#define invalid(body, len) invalid_at(body, len, __LINE__)
static void invalid_at(const uint8_t *body, size_t len, int line)
{
	struct rec d;

	if (rec_decode(body, len, &d) != ST_RECORD_INVALID)
		print_message("line %d: a %s body of %zu bytes decoded\n", line,
			      rec_type_name(body[0]), len);
	assert_string_equal(status_name(rec_decode(body, len, &d)), "record_invalid");
}

static void decode_refuses_bad_shapes(void **state)
{
	static uint8_t body[RECORD_BYTES_MAX + 16];
	struct rec d;

	(void)state;
	for (unsigned i = 0; i < sizeof all_types; i++) {
		size_t n = sample(all_types[i], body);

		assert_int_equal(rec_decode(body, n, &d), ST_OK);
		assert_string_not_equal(rec_type_name(all_types[i]), "unknown");
		/* truncated at every length, and one byte too long (a seat hold
		 * cut to its head is the valid shape of a GA hold) */
		for (size_t k = 0; k < n; k++)
			if (all_types[i] != CMD_HOLD || k != RECORD_HEAD_BYTES + 40)
				invalid(body, k);
		invalid(body, n + 1);
		/* another version */
		body[1] = RECORD_VERSION + 1;
		invalid(body, n);
		body[1] = 0;
		invalid(body, n);
		body[1] = RECORD_VERSION;
		assert_int_equal(rec_decode(body, n, &d), ST_OK);
	}
	/* unknown types */
	{
		size_t n = sample(CMD_REDEEM, body);
		static const uint8_t unknown[] = {0,  7,  9,           18,          19,
						  26, 39, CMD_Q_EVENT, CMD_Q_STATS, 255};

		for (unsigned i = 0; i < sizeof unknown; i++) {
			body[0] = unknown[i];
			invalid(body, n);
			assert_string_equal(rec_type_name(unknown[i]), "unknown");
		}
	}
	/* longer than any record may be */
	memset(body, 0, sizeof body);
	body[0] = CMD_SECTION_LOAD;
	body[1] = RECORD_VERSION;
	invalid(body, RECORD_BYTES_MAX + 1);
}

/* Field values out of range, each in an otherwise valid body. */
static void decode_refuses_bad_fields(void **state)
{
	static uint8_t body[RECORD_BYTES_MAX];
	const uint8_t *p = body + RECORD_HEAD_BYTES;
	size_t n;

	(void)state;
	n = sample(CMD_EVENT_CREATE, body);
	body[RECORD_HEAD_BYTES + 42] = EVENT_STATE_COUNT; /* state */
	invalid(body, n);

	n = sample(CMD_TIER_ADD, body);
	body[RECORD_HEAD_BYTES + 0] = TIERS_MAX;
	invalid(body, n);
	n = sample(CMD_TIER_ADD, body);
	body[RECORD_HEAD_BYTES + 1] = TIER_RESERVED + 1; /* kind */
	invalid(body, n);

	n = sample(CMD_PRESALE_CODE_ADD, body);
	body[RECORD_HEAD_BYTES + 0] = PRESALE_CODES_MAX;
	invalid(body, n);

	n = sample(CMD_HOLD, body);
	body[RECORD_HEAD_BYTES + 34] = 0; /* qty */
	invalid(body, n);
	n = sample(CMD_HOLD, body);
	body[RECORD_HEAD_BYTES + 34] = 1; /* qty 1 with 2 seats */
	invalid(body, n);
	n = sample(CMD_HOLD, body);
	body[RECORD_HEAD_BYTES + 34] = HOLD_UNITS_MAX + 1;
	invalid(body, RECORD_HEAD_BYTES + 40);
	n = sample(CMD_HOLD, body);
	body[RECORD_HEAD_BYTES + 33] = CHANNELS;
	invalid(body, n);
	n = sample(CMD_HOLD, body);
	body[RECORD_HEAD_BYTES + 32] = TIERS_MAX;
	invalid(body, n);
	/* a listed seat that is no seat: a first one would re-encode as GA */
	n = sample(CMD_HOLD, body);
	memset(body + RECORD_HEAD_BYTES + 40, 0xff, 4);
	invalid(body, n);
	n = sample(CMD_HOLD, body);
	memset(body + n - 4, 0xff, 4);
	invalid(body, n);

	n = sample(CMD_REFUND, body);
	body[RECORD_HEAD_BYTES + 16] = 2; /* kill is 0 or 1 */
	invalid(body, n);

	n = sample(CMD_EXCHANGE, body);
	body[RECORD_HEAD_BYTES + 28] = TIERS_MAX;
	invalid(body, n);

	n = sample(CMD_STOCK_IN, body);
	body[RECORD_HEAD_BYTES + 12] = TIERS_MAX;
	invalid(body, n);

	/* sections: the counts must agree with each other and with the length */
	n = sample(CMD_SECTION_LOAD, body);
	put_u32(body + RECORD_HEAD_BYTES + 4, get_u32(p + 4) + 1); /* seat count */
	invalid(body, n);
	invalid(body, n + 4);
	n = sample(CMD_SECTION_LOAD, body);
	put_u16(body + RECORD_HEAD_BYTES + 56 + 8, 2); /* row 0: 2 seats, not 3 */
	invalid(body, n);
	n = sample(CMD_SECTION_LOAD, body);
	put_u16(body + RECORD_HEAD_BYTES + 2, SECTION_ROWS_MAX + 1);
	invalid(body, n);
	n = sample(CMD_SECTION_LOAD, body);
	put_u32(body + RECORD_HEAD_BYTES + 4, SECTION_SEATS_MAX + 1);
	invalid(body, n);
	/* a row longer than a row can be, its seats taken from the next rows */
	n = sample(CMD_SECTION_LOAD, body);
	put_u16(body + RECORD_HEAD_BYTES + 56 + 16 * 2 + 8, ROW_SEATS_MAX + 1);
	put_u16(body + RECORD_HEAD_BYTES + 56 + 16 * 1 + 8, 0);
	invalid(body, n);
	/* an empty row */
	n = sample(CMD_SECTION_LOAD, body);
	put_u16(body + RECORD_HEAD_BYTES + 56 + 16 * 1 + 8, 0);
	put_u16(body + RECORD_HEAD_BYTES + 56 + 8, 4);
	invalid(body, n);
	/* no rows at all */
	n = sample(CMD_SECTION_LOAD, body);
	memset(body + RECORD_HEAD_BYTES + 2, 0, 6);
	invalid(body, RECORD_HEAD_BYTES + 56);
	/* a seat flag that does not exist */
	n = sample(CMD_SECTION_LOAD, body);
	body[RECORD_HEAD_BYTES + 56 + 16 * 3 + 4 * 2 + 1] = SEAT_FLAGS_ALL + 1;
	invalid(body, n);
}

/* ---- apply: records that do not fit the state ---- */

/* A state with one GA tier (10 units), one reserved tier (a row of 6), a
 * presale code, a live GA hold, a live seat hold, a confirmed order, a
 * refunded ticket and a released hold. */
struct world {
	struct fx *f;
	struct core *r; /* a replica of f, where the records are tried */
	uint64_t ga_hold, seat_hold, order, released, ticket, refunded;
	uint64_t next_hold, next_ticket;
};

/* The id of an order's unit-th ticket (layout in core/limits.h). */
static uint64_t order_ticket(uint64_t hold_id, uint8_t unit)
{
	return (hold_id & ~0xffffffffull) |
	       (hold_id & ID_TICKET_SLOT_MASK) << ID_TICKET_SLOT_SHIFT | unit;
}

static struct world build(void)
{
	struct world w;
	struct cmd c = {.type = CMD_PRESALE_CODE_ADD};
	uint32_t seat = 2;

	w.f = fx_new(2);
	assert_int_equal(fx_event(w.f, EV, UNITS, 0), ST_OK);
	assert_int_equal(fx_ga_tier(w.f, EV, 0, 10, 100), ST_OK);
	assert_int_equal(fx_reserved_tier(w.f, EV, 1, 300), ST_OK);
	assert_int_equal(fx_section(w.f, EV, 0, 1, 6, 1), ST_OK);
	c.code.event_id = EV;
	c.code.code_len = 3;
	memcpy(c.code.code, "ABC", 3);
	assert_int_equal(fx_exec(w.f, &c), ST_OK);
	assert_int_equal(fx_hold_ga(w.f, EV, 0, 2, 1), ST_OK);
	w.ga_hold = w.f->res.hold.hold_id;
	assert_int_equal(fx_hold_seats(w.f, EV, 1, &seat, 1, 1), ST_OK);
	w.seat_hold = w.f->res.hold.hold_id;
	assert_int_equal(fx_hold_ga(w.f, EV, 0, 3, 2), ST_OK);
	w.order = w.f->res.hold.hold_id;
	assert_int_equal(fx_confirm(w.f, EV, w.order, 300), ST_OK);
	w.ticket = w.f->res.hold.first_ticket_id;
	w.refunded = w.ticket + 2;
	assert_int_equal(fx_ticket_op(w.f, CMD_REFUND, EV, w.refunded), ST_OK);
	assert_int_equal(fx_hold_ga(w.f, EV, 0, 1, 3), ST_OK);
	w.released = w.f->res.hold.hold_id;
	assert_int_equal(fx_hold_ref(w.f, CMD_HOLD_RELEASE, EV, w.released), ST_OK);
	w.next_hold = w.released + 1;
	w.next_ticket = w.ticket + 3;
	/* the replica: the log applied to a fresh core */
	w.r = core_create(2);
	for (size_t off = 0; off < w.f->log_len; off += 4 + get_u32(w.f->log + off))
		assert_int_equal(core_apply(w.r, w.f->log + off + 4, get_u32(w.f->log + off)),
				 ST_OK);
	assert_null(fx_replay_check(w.f));
	return w;
}

static void destroy(struct world *w)
{
	core_destroy(w->r);
	fx_free(w->f);
}

/* core_apply(rec) on the replica must give want; when refused, the state
 * hash must not move and every invariant must still hold. */
#define try_apply(w, r, sec, want) try_apply_at(w, r, sec, want, __LINE__)
static void try_apply_at(struct world *w, const struct rec *r, const struct cmd_section *sec,
			 enum status want, int line)
{
	struct state_hash a = core_state_hash(w->r), b;
	size_t n = encode(r, sec);
	enum status st = core_apply(w->r, buf, n);

	if (st != want)
		print_message("line %d: %s record applied with %s\n", line, rec_type_name(r->type),
			      status_name(st));
	assert_string_equal(status_name(st), status_name(want));
	b = core_state_hash(w->r);
	if (want != ST_OK) {
		assert_int_equal(a.lo, b.lo);
		assert_int_equal(a.hi, b.hi);
	} else {
		assert_true(a.lo != b.lo || a.hi != b.hi);
	}
	assert_null(core_check_invariants(w->r));
}

static struct rec rec_of(uint8_t type)
{
	struct rec r;

	memset(&r, 0, sizeof r);
	r.type = type;
	r.event_id = EV;
	r.now_ms = FX_T0;
	return r;
}

static struct rec hold_rec(const struct world *w, uint8_t tier, uint8_t qty, uint32_t seat)
{
	struct rec r = rec_of(CMD_HOLD);

	r.hold.hold_id = w->next_hold;
	r.hold.customer_id = 9;
	r.hold.expires_at_ms = FX_T0 + 60000;
	r.hold.tier = tier;
	r.hold.qty = qty;
	r.hold.code_index = PRESALE_CODE_NONE;
	r.hold.seats[0] = seat;
	return r;
}

static void apply_unfit_hold(void **state)
{
	struct world w = build();
	struct rec r;

	(void)state;
	r = hold_rec(&w, 1, 1, 2); /* seat 2 is held */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 1, 1, 6); /* no seat 6 */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 0, 1, 3); /* a seat of a GA tier */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 1, 1, SEAT_NONE); /* no seat of a reserved tier */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 0, 7, SEAT_NONE); /* 6 free */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 5, 1, SEAT_NONE); /* no tier 5 */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 0, 1, SEAT_NONE);
	r.hold.hold_id++; /* not the next slot */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.hold.hold_id = w.ga_hold; /* a slot in use */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 0, 1, SEAT_NONE);
	r.hold.code_index = 1; /* one code: index 0 */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 0, 1, SEAT_NONE);
	r.hold.customer_id = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 1, 2, 3);
	r.hold.seats[1] = 3; /* the same seat twice */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = hold_rec(&w, 1, 1, 0);
	try_apply(&w, &r, NULL, ST_OK); /* the same record with a free seat fits */
	destroy(&w);
}

static void apply_unfit_hold_refs(void **state)
{
	struct world w = build();
	struct rec r;

	(void)state;
	r = rec_of(CMD_HOLD_RELEASE);
	r.end.hold_id = w.released; /* already released */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.end.hold_id = w.order; /* confirmed */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.end.hold_id = w.next_hold; /* never taken */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.end.hold_id = w.ga_hold ^ (1ull << 56); /* another shard's */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event_id = EV + 1;
	r.end.hold_id = w.ga_hold;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = rec_of(CMD_HOLD_EXPIRE);
	r.end.hold_id = w.ga_hold;
	r.now_ms = FX_T0 + HOLD_TTL_MS_DEFAULT - 1; /* not due */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = rec_of(CMD_HOLD_EXTEND);
	r.extend.hold_id = w.order;
	r.extend.expires_at_ms = FX_T0 + 1000000;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	/* the ones that fit */
	r.extend.hold_id = w.seat_hold;
	try_apply(&w, &r, NULL, ST_OK);
	r = rec_of(CMD_HOLD_EXPIRE);
	r.end.hold_id = w.ga_hold;
	r.now_ms = FX_T0 + HOLD_TTL_MS_DEFAULT;
	try_apply(&w, &r, NULL, ST_OK);
	r = rec_of(CMD_HOLD_RELEASE);
	r.end.hold_id = w.ga_hold; /* now expired */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	destroy(&w);
}

static void apply_unfit_confirm(void **state)
{
	struct world w = build();
	struct rec r = rec_of(CMD_CONFIRM);
	uint64_t first = order_ticket(w.ga_hold, 0);

	(void)state;
	r.confirm.hold_id = w.next_hold + 5; /* unknown */
	r.confirm.amount_minor = 200;
	r.confirm.first_ticket_id = first;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.hold_id = w.order; /* confirmed already */
	r.confirm.amount_minor = 300;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.hold_id = w.released;
	r.confirm.amount_minor = 100;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.hold_id = w.ga_hold;
	r.confirm.amount_minor = 200;
	r.confirm.first_ticket_id = first + 1; /* not the order's first ticket */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.first_ticket_id = w.ticket;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.first_ticket_id = first;
	r.confirm.amount_minor = 201; /* not a whole price per ticket */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.confirm.amount_minor = 200;
	try_apply(&w, &r, NULL, ST_OK);
	destroy(&w);
}

static void apply_unfit_tickets(void **state)
{
	struct world w = build();
	struct rec r = rec_of(CMD_REDEEM);

	(void)state;
	r.redeem.ticket_id = w.refunded;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.redeem.ticket_id = w.next_ticket; /* not issued */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.redeem.ticket_id = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = rec_of(CMD_REFUND);
	r.refund.ticket_id = w.ticket;
	r.refund.fee_minor = 101; /* more than the price */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.refund.ticket_id = w.refunded;
	r.refund.fee_minor = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r = rec_of(CMD_EXCHANGE);
	r.exchange.ticket_id = w.ticket;
	r.exchange.new_ticket_id = w.next_ticket;
	r.exchange.price_minor = 300;
	r.exchange.tier = 1;
	r.exchange.seat = 2; /* held */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.exchange.seat = 6; /* no such seat */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.exchange.seat = SEAT_NONE; /* a reserved tier needs a seat */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.exchange.tier = 0;
	r.exchange.seat = 4; /* a GA tier has none */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.exchange.tier = 3; /* not defined */
	r.exchange.seat = SEAT_NONE;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.exchange.tier = 1;
	r.exchange.seat = 4;
	r.exchange.new_ticket_id = w.next_ticket + 1;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	/* the ones that fit */
	r.exchange.new_ticket_id = w.next_ticket;
	try_apply(&w, &r, NULL, ST_OK);
	r = rec_of(CMD_REDEEM);
	r.redeem.ticket_id = w.ticket; /* exchanged now */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.redeem.ticket_id = w.next_ticket;
	try_apply(&w, &r, NULL, ST_OK);
	try_apply(&w, &r, NULL, ST_RECORD_INVALID); /* redeemed already */
	destroy(&w);
}

static void apply_unfit_admin(void **state)
{
	struct world w = build();
	struct rec r = rec_of(CMD_EVENT_CREATE);

	(void)state;
	r.event.event_id = EV;
	r.event.units_max = 40;
	r.event.hold_ttl_ms = HOLD_TTL_MS_DEFAULT;
	r.event.state = EVENT_ON_SALE;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID); /* exists */
	r.event_id = r.event.event_id = EV + 1;
	r.event.units_max = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event.units_max = EVENT_UNITS_MAX + 1;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event.units_max = 40;
	r.event.hold_ttl_ms = 0; /* execution writes the default, never 0 */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event.hold_ttl_ms = HOLD_TTL_MS_DEFAULT;
	r.event.presale_start_ms = 10;
	r.event.public_start_ms = 5;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event.presale_start_ms = 0;
	r.event_id = r.event.event_id = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.type = CMD_EVENT_UPDATE;
	r.event_id = r.event.event_id = EV + 1; /* unknown */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event_id = r.event.event_id = EV;
	r.event.units_max = UNITS + 1; /* fixed at create */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event.units_max = UNITS;
	r.event.customer_limit = CUSTOMER_LIMIT_MAX + 1;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);

	r = rec_of(CMD_TIER_ADD);
	r.tier.tier = 1; /* exists */
	r.tier.kind = TIER_RESERVED;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.tier.tier = 2;
	r.tier.kind = TIER_GA;
	r.tier.capacity = UNITS - 16 + 1; /* 16 placed */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.tier.capacity = 0; /* a GA tier of nothing */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.tier.kind = TIER_RESERVED;
	r.tier.capacity = 5; /* a reserved tier's capacity is its seats */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.event_id = EV + 1;
	r.tier.capacity = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);

	r = rec_of(CMD_PRESALE_CODE_ADD);
	r.code.code_index = 0; /* one code already: the next is 1 */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.code.code_index = 2;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);

	r = rec_of(CMD_STOCK_OUT);
	r.stock.tier = 0;
	r.stock.qty = 7; /* 6 free */
	r.stock.peer_shard = 1;
	r.stock.transfer_id = XFER_ID(2, 1, 1);
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.stock.qty = 1;
	r.stock.transfer_id = XFER_ID(2, 1, 2); /* not the next seq */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.stock.transfer_id = XFER_ID(2, 1, 1);
	r.stock.peer_shard = 2; /* to itself */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.stock.peer_shard = 1;
	r.stock.tier = 1; /* reserved */
	r.stock.qty = 1;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.stock.tier = 2; /* not defined */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.type = CMD_STOCK_IN;
	r.stock.tier = 0;
	r.stock.qty = 5;
	r.stock.transfer_id = XFER_ID(1, 2, 2); /* a gap */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.stock.transfer_id = XFER_ID(1, 2, 1);
	r.stock.qty = 0;
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	r.type = CMD_STOCK_ACK;
	r.stock.transfer_id = XFER_ID(2, 1, 1); /* nothing given yet */
	try_apply(&w, &r, NULL, ST_RECORD_INVALID);
	/* the ones that fit */
	r.type = CMD_STOCK_IN;
	r.stock.transfer_id = XFER_ID(1, 2, 1);
	r.stock.qty = 5;
	try_apply(&w, &r, NULL, ST_OK);
	r = rec_of(CMD_TIER_ADD);
	r.tier.tier = 2;
	r.tier.kind = TIER_RESERVED;
	try_apply(&w, &r, NULL, ST_OK);
	destroy(&w);
}

static void apply_unfit_section(void **state)
{
	struct world w = build();
	struct rec r = rec_of(CMD_SECTION_LOAD);
	struct row_spec rows[2] = {{.seat_count = 4}, {.seat_count = 3}};
	static struct seat_spec seats[UNITS];
	struct cmd_section sec = {.event_id = EV, .row_count = 2, .rows = rows, .seats = seats};

	(void)state;
	for (unsigned i = 0; i < sizeof seats / sizeof seats[0]; i++)
		seats[i] = (struct seat_spec){.tier = 1, .flags = 0, .rank = (uint16_t)i};
	r.section.section = 0; /* exists */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	r.section.section = SECTIONS_MAX;
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	r.section.section = 1;
	seats[5].tier = 0; /* a GA tier */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	seats[5].tier = 2; /* not defined */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	seats[5].tier = TIERS_MAX;
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	seats[5].tier = 1;
	rows[1].seat_count = UNITS - 16 - 4 + 1; /* past the event's units */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	rows[0].seat_count = ROW_SEATS_MAX + 1; /* longer than a row */
	rows[1].seat_count = 1;
	r.event_id = EV;
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	rows[0].seat_count = 0; /* empty */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	rows[0].seat_count = 4;
	seats[1].flags = 8; /* no such flag */
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	seats[1].flags = SEAT_KILLED;
	r.event_id = EV + 1;
	try_apply(&w, &r, &sec, ST_RECORD_INVALID);
	r.event_id = EV;
	try_apply(&w, &r, &sec, ST_OK); /* fits */
	destroy(&w);
}

/* ---- status names ---- */

static void status_names(void **state)
{
	static const struct {
		enum status st;
		const char *name;
	} all[] = {
		{ST_OK, "ok"},
		{ST_BAD_COMMAND, "bad_command"},
		{ST_BAD_ARGUMENT, "bad_argument"},
		{ST_RECORD_INVALID, "record_invalid"},
		{ST_EVENT_UNKNOWN, "event_unknown"},
		{ST_EVENT_EXISTS, "event_exists"},
		{ST_EVENT_TABLE_FULL, "event_table_full"},
		{ST_EVENT_NOT_ON_SALE, "event_not_on_sale"},
		{ST_SALES_NOT_STARTED, "sales_not_started"},
		{ST_SALES_ENDED, "sales_ended"},
		{ST_EVENT_FULL, "event_full"},
		{ST_TIER_UNKNOWN, "tier_unknown"},
		{ST_TIER_EXISTS, "tier_exists"},
		{ST_TIER_KIND_MISMATCH, "tier_kind_mismatch"},
		{ST_SECTION_EXISTS, "section_exists"},
		{ST_SEATMAP_FULL, "seatmap_full"},
		{ST_SEAT_UNKNOWN, "seat_unknown"},
		{ST_PRESALE_CODE_REQUIRED, "presale_code_required"},
		{ST_PRESALE_CODE_INVALID, "presale_code_invalid"},
		{ST_PRESALE_CODE_EXHAUSTED, "presale_code_exhausted"},
		{ST_PRESALE_CODE_TABLE_FULL, "presale_code_table_full"},
		{ST_PRESALE_CODE_EXISTS, "presale_code_exists"},
		{ST_SOLD_OUT, "sold_out"},
		{ST_SEAT_UNAVAILABLE, "seat_unavailable"},
		{ST_NO_ADJACENT_SEATS, "no_adjacent_seats"},
		{ST_CUSTOMER_LIMIT, "customer_limit"},
		{ST_HOLD_UNKNOWN, "hold_unknown"},
		{ST_HOLD_EXPIRED, "hold_expired"},
		{ST_HOLD_RELEASED, "hold_released"},
		{ST_HOLD_CONFIRMED, "hold_confirmed"},
		{ST_HOLD_NOT_DUE, "hold_not_due"},
		{ST_HOLD_TABLE_FULL, "hold_table_full"},
		{ST_AMOUNT_MISMATCH, "amount_mismatch"},
		{ST_TICKET_TABLE_FULL, "ticket_table_full"},
		{ST_TICKET_UNKNOWN, "ticket_unknown"},
		{ST_TICKET_ALREADY_REDEEMED, "ticket_already_redeemed"},
		{ST_TICKET_REFUNDED, "ticket_refunded"},
		{ST_TICKET_EXCHANGED, "ticket_exchanged"},
		{ST_TICKET_REDEEMED, "ticket_redeemed"},
		{ST_UNAUTHENTICATED, "unauthenticated"},
		{ST_FORBIDDEN, "forbidden"},
		{ST_BAD_FRAME, "bad_frame"},
		{ST_OVERLOADED, "overloaded"},
		{ST_INTERNAL, "internal"},
		{ST_UNAVAILABLE, "unavailable"},
		{ST_OUTCOME_UNKNOWN, "outcome_unknown"},
		{ST_DISK_FULL, "disk_full"},
		{ST_TIMEOUT, "timeout"},
		{ST_TOO_MANY_CONNECTIONS, "too_many_connections"},
		{ST_EVENT_RETIRED, "event_retired"},
		{ST_EVENT_NOT_CLOSED, "event_not_closed"},
		{ST_EVENT_HOLDS_LIVE, "event_holds_live"},
		{ST_EVENT_TRANSFER_PENDING, "event_transfer_pending"},
		{ST_RETIRED_TABLE_FULL, "retired_table_full"},
		{ST_TOKEN_INVALID, "token_invalid"},
		{ST_TOKEN_KEY_UNKNOWN, "token_key_unknown"},
		{ST_TOKEN_OTHER_EVENT, "token_other_event"},
		{ST_TOKEN_NOT_YET_VALID, "token_not_yet_valid"},
		{ST_TOKEN_EXPIRED, "token_expired"},
		{ST_TOKEN_REVOKED, "token_revoked"},
	};
	unsigned named = 0;

	(void)state;
	for (unsigned i = 0; i < sizeof all / sizeof all[0]; i++)
		assert_string_equal(status_name(all[i].st), all[i].name);
	/* every other number is "unknown": the table above is the whole enum */
	for (int v = -2; v < 300; v++)
		named += strcmp(status_name((enum status)v), "unknown") != 0;
	assert_int_equal(named, sizeof all / sizeof all[0]);
}

int main(void)
{
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_event),
		cmocka_unit_test(round_trip_tier_and_code),
		cmocka_unit_test(round_trip_section),
		cmocka_unit_test(round_trip_hold),
		cmocka_unit_test(round_trip_hold_refs),
		cmocka_unit_test(round_trip_tickets_and_stock),
		cmocka_unit_test(round_trip_every_type),
		cmocka_unit_test(decode_refuses_bad_shapes),
		cmocka_unit_test(decode_refuses_bad_fields),
		cmocka_unit_test(apply_unfit_hold),
		cmocka_unit_test(apply_unfit_hold_refs),
		cmocka_unit_test(apply_unfit_confirm),
		cmocka_unit_test(apply_unfit_tickets),
		cmocka_unit_test(apply_unfit_admin),
		cmocka_unit_test(apply_unfit_section),
		cmocka_unit_test(status_names),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
