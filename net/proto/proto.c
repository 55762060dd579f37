/*
 * proto.c — the wire codec: frames to and from commands and results.
 *
 * Every body is described once, as a table of fields (wire offset, where the
 * value lives in memory, element width and count). One packer and one
 * unpacker walk those tables with explicit little-endian stores and loads,
 * so encoding and decoding cannot disagree on a layout and no struct is ever
 * laid over wire bytes. An opcode table ties each opcode to its command
 * type, its request layout, its reply layout and the roles that may send it.
 * Three bodies end in a counted tail (section load rows and seats,
 * availability tiers, seat states); small functions size, write and read
 * those tails, checking counts against the limits before touching memory.
 *
 * The decoder trusts nothing: it reads no byte past len, decides a frame is
 * bad as soon as the bytes received prove it, and never allocates.
 * Semantic checks (a tier out of range, a bad mode) are the core's: they
 * come back as statuses, and the connection stays open.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>
#include "net/proto/proto.h"

/* ---- field tables ---- */

struct field {
	uint16_t wire_off;
	uint16_t mem_off;
	uint8_t width; /* bytes per element: 1, 2, 4 or 8 */
	uint8_t count; /* elements */
	const char *name;
};

#define MEMBER(T, m) (((T *)0)->m)
/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define F(T, m, off) { (off), offsetof(T, m), sizeof(MEMBER(T, m)), 1, #m }
#define A(T, m, off)                                                                     \
	{ (off), offsetof(T, m), sizeof(MEMBER(T, m)[0]),                                \
	  sizeof(MEMBER(T, m)) / sizeof(MEMBER(T, m)[0]), #m }
// clang-format on
#define COUNT(arr) (sizeof(arr) / sizeof((arr)[0]))

struct header {
	uint32_t magic;
	uint8_t version;
	uint8_t opcode;
	uint16_t flags;
	uint32_t body_len;
	uint16_t status;
	uint64_t request_id;
};

static const struct field header_f[] = {
	F(struct header, magic, 0),       F(struct header, version, 4),
	F(struct header, opcode, 5),      F(struct header, flags, 6),
	F(struct header, body_len, 8),    F(struct header, status, 12),
	F(struct header, request_id, 16),
};

#define EV(m, off) F(struct cmd_event, m, off)
static const struct field event_f[] = {
	EV(event_id, 0),
	EV(state, 4),
	EV(customer_limit, 6),
	EV(hold_ttl_ms, 8),
	EV(units_max, 12),
	EV(starts_at_ms, 16),
	EV(presale_start_ms, 24),
	EV(public_start_ms, 32),
	EV(sales_end_ms, 40),
	A(struct cmd_event, name, 48),
	A(struct cmd_event, venue, 96),
};

static const struct field tier_f[] = {
	F(struct cmd_tier, event_id, 0),
	F(struct cmd_tier, tier, 4),
	F(struct cmd_tier, kind, 5),
	F(struct cmd_tier, capacity, 8),
	F(struct cmd_tier, low_stock_threshold, 12),
	F(struct cmd_tier, price_minor, 16),
	A(struct cmd_tier, name, 24),
};

/* seat_count (offset 8) is not in the command: the rows sum to it. */
static const struct field section_f[] = {
	F(struct cmd_section, event_id, 0),
	F(struct cmd_section, section, 4),
	F(struct cmd_section, row_count, 6),
	A(struct cmd_section, name, 16),
};

static const struct field row_f[] = {
	A(struct row_spec, label, 0),
	F(struct row_spec, seat_count, 8),
	F(struct row_spec, first_number, 10),
};

static const struct field seat_f[] = {
	F(struct seat_spec, tier, 0),
	F(struct seat_spec, flags, 1),
	F(struct seat_spec, rank, 2),
};

static const struct field code_f[] = {
	F(struct cmd_presale_code, event_id, 0),
	F(struct cmd_presale_code, use_limit, 4),
	F(struct cmd_presale_code, code_len, 8),
	A(struct cmd_presale_code, code, 16),
};

#define HO(m, off) F(struct cmd_hold, m, off)
static const struct field hold_f[] = {
	HO(event_id, 0),
	HO(tier, 4),
	HO(mode, 5),
	HO(qty, 6),
	HO(channel, 7),
	HO(flags, 8),
	HO(code_len, 9),
	HO(ttl_ms, 12),
	HO(customer_id, 16),
	HO(idem_key, 24),
	A(struct cmd_hold, code, 32),
	A(struct cmd_hold, seats, 64),
};

static const struct field hold_ref_f[] = {
	F(struct cmd_hold_ref, event_id, 0),     F(struct cmd_hold_ref, ttl_ms, 4),
	F(struct cmd_hold_ref, hold_id, 8),      F(struct cmd_hold_ref, amount_minor, 16),
	A(struct cmd_hold_ref, payment_ref, 24),
};

#define TR(m, off) F(struct cmd_ticket_ref, m, off)
static const struct field ticket_ref_f[] = {
	TR(event_id, 0), TR(gate_id, 4), TR(ticket_id, 8), TR(fee_minor, 16),
	TR(kill, 24),    TR(tier, 25),   TR(seat, 28),
};

static const struct field query_f[] = {
	F(struct cmd_query, event_id, 0),
	F(struct cmd_query, tier, 4),
	F(struct cmd_query, customer_id, 8),
};

static const struct field seats_query_f[] = {
	F(struct proto_seats_query, event_id, 0),
	F(struct proto_seats_query, section, 4),
};

static const struct field revoked_q_f[] = {
	F(struct cmd_revoked, event_id, 0),
	F(struct cmd_revoked, shard, 4),
	F(struct cmd_revoked, since_seq, 8),
};

static const struct field token_redeem_f[] = {
	F(struct proto_token_redeem, event_id, 0),
	F(struct proto_token_redeem, gate_id, 4),
	A(struct proto_token_redeem, token, 8),
};

static const struct field hello_f[] = {
	F(struct proto_hello, role, 0),
	A(struct proto_hello, key, 8),
};

/* Reply head, relative to struct proto_reply; the same less bad_reason
 * (always 0 with a result) relative to struct result. */
static const struct field reply_head_f[] = {
	F(struct proto_reply, res.replayed, 0),
	F(struct proto_reply, bad_reason, 1),
	F(struct proto_reply, res.low_stock_tiers, 4),
};
static const struct field result_head_f[] = {
	F(struct result, replayed, 0),
	F(struct result, low_stock_tiers, 4),
};

#define HV(m, off) F(struct hold_view, m, off)
static const struct field hold_view_f[] = {
	HV(hold_id, 0),
	HV(customer_id, 8),
	HV(expires_at_ms, 16),
	HV(amount_due_minor, 24),
	HV(first_ticket_id, 32),
	HV(amount_paid_minor, 40),
	HV(event_id, 48),
	HV(tier, 52),
	HV(state, 53),
	HV(channel, 54),
	HV(qty, PROTO_HOLD_VIEW_QTY_OFF),
	A(struct hold_view, seats, PROTO_HOLD_VIEW_SEATS_OFF),
	A(struct hold_view, payment_ref, 120),
};

#define TV(m, off) F(struct ticket_view, m, off)
static const struct field ticket_view_f[] = {
	TV(ticket_id, 0),       TV(order_id, 8),          TV(customer_id, 16), TV(price_minor, 24),
	TV(redeemed_at_ms, 32), TV(refund_fee_minor, 40), TV(replaced_by, 48), TV(event_id, 56),
	TV(seat, 60),           TV(gate_id, 64),          TV(tier, 68),        TV(state, 69),
};

static const struct field avail_f[] = {
	F(struct availability_view, event_id, 0),
	F(struct availability_view, tier_count, 4),
};

#define TI(m, off) F(struct tier_view, m, off)
static const struct field tier_view_f[] = {
	TI(price_minor, 0),
	TI(capacity, 8),
	TI(free, 12),
	TI(held, 16),
	TI(sold, 20),
	TI(killed, 24),
	TI(low_stock_threshold, 28),
	TI(kind, 32),
	TI(defined, 33),
	TI(low_stock, 34),
};

static const struct field stats_f[] = {
	F(struct stats_view, event_id, 0),
	F(struct stats_view, tier, 4),
};

static const struct field channel_f[] = {
	F(struct channel_stats, held, 0),           F(struct channel_stats, sold, 8),
	F(struct channel_stats, revenue_minor, 16), F(struct channel_stats, redeemed, 24),
	F(struct channel_stats, refunded, 32),
};

static const struct field event_view_f[] = {
	F(struct event_view, units_placed, 0),   F(struct event_view, seat_count, 4),
	F(struct event_view, live_holds, 8),     F(struct event_view, tickets_issued, 12),
	F(struct event_view, section_count, 16), F(struct event_view, retired, 18),
};

static const struct field customer_f[] = {
	F(struct customer_view, event_id, 0),
	F(struct customer_view, units, 4),
	F(struct customer_view, customer_id, 8),
	F(struct customer_view, limit, 16),
};

static const struct field section_result_f[] = {
	F(struct result, section.seat_first, 0),
	F(struct result, section.seat_count, 8),
};

static const struct field seat_states_f[] = {
	F(struct proto_seat_states, first_seat, 0),
	F(struct proto_seat_states, seat_count, 4),
};

static const struct field hello_reply_f[] = {
	F(struct proto_hello_reply, role, 0),
	F(struct proto_hello_reply, shard_id, 2),
	F(struct proto_hello_reply, shard_count, 4),
	F(struct proto_hello_reply, now_ms, 8),
};

static const struct field tokens_head_f[] = {
	F(struct proto_tokens, count, 0),
};

static const struct field keys_head_f[] = {
	F(struct proto_ticket_keys, count, 0),
};

#define RV(m, off) F(struct revoked_view, m, off)
static const struct field revoked_f[] = {
	RV(event_id, 0),  RV(shard, 4), RV(count, 6), RV(first_seq, 8),
	RV(last_seq, 16), RV(more, 24), RV(gap, 25),
};

static const struct field server_stats_f[] = {
	A(struct proto_server_stats, counters, 0),
};

/* ---- layouts: field tables placed in a message and in a body ---- */

struct part {
	const struct field *f;
	uint8_t n;
	uint16_t mem_off;  /* of the described struct in proto_request / proto_reply */
	uint16_t wire_off; /* in the body (after the reply head for replies) */
};
/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define PART(fields, mem, wire) { (fields), COUNT(fields), (mem), (wire) }
// clang-format on

enum tail {
	TAIL_NONE,
	TAIL_SECTION,
	TAIL_TIERS,
	TAIL_SEAT_STATES,
	TAIL_TOKENS,
	TAIL_KEYS,
	TAIL_IDS
};

struct layout {
	uint16_t bytes; /* the whole body; with a tail, the part before it */
	uint8_t tail;
	uint8_t nparts;
	struct part parts[4];
};

enum req_layout {
	RQ_EMPTY,
	RQ_EVENT,
	RQ_TIER,
	RQ_SECTION,
	RQ_CODE,
	RQ_HOLD,
	RQ_HOLD_REF,
	RQ_TICKET_REF,
	RQ_QUERY,
	RQ_SEATS,
	RQ_HELLO,
	RQ_REVOKED,
	RQ_TOKEN_REDEEM,
	RQ_LIMIT
};
enum rep_layout {
	RP_EMPTY,
	RP_HOLD,
	RP_TICKET,
	RP_AVAIL,
	RP_STATS,
	RP_EVENT,
	RP_CUSTOMER,
	RP_SECTION,
	RP_SEATS,
	RP_HELLO,
	RP_SERVER,
	RP_HOLD_TOKENS,
	RP_TICKET_TOKEN,
	RP_KEYS,
	RP_REVOKED,
	RP_LIMIT
};

#define RQ(m) offsetof(struct proto_request, m)
#define RP(m) offsetof(struct proto_reply, m)

static const struct layout req_layouts[RQ_LIMIT] = {
	[RQ_EMPTY] = {0, TAIL_NONE, 0, {{0}}},
	[RQ_EVENT] = {144, TAIL_NONE, 1, {PART(event_f, RQ(cmd.event), 0)}},
	[RQ_TIER] = {72, TAIL_NONE, 1, {PART(tier_f, RQ(cmd.tier), 0)}},
	[RQ_SECTION] = {PROTO_SECTION_HEAD_BYTES,
			TAIL_SECTION,
			1,
			{PART(section_f, RQ(cmd.section), 0)}},
	[RQ_CODE] = {48, TAIL_NONE, 1, {PART(code_f, RQ(cmd.code), 0)}},
	[RQ_HOLD] = {128, TAIL_NONE, 1, {PART(hold_f, RQ(cmd.hold), 0)}},
	[RQ_HOLD_REF] = {56, TAIL_NONE, 1, {PART(hold_ref_f, RQ(cmd.ref), 0)}},
	[RQ_TICKET_REF] = {32, TAIL_NONE, 1, {PART(ticket_ref_f, RQ(cmd.ticket), 0)}},
	[RQ_QUERY] = {16, TAIL_NONE, 1, {PART(query_f, RQ(cmd.query), 0)}},
	[RQ_SEATS] = {8, TAIL_NONE, 1, {PART(seats_query_f, RQ(seats), 0)}},
	[RQ_HELLO] = {40, TAIL_NONE, 1, {PART(hello_f, RQ(hello), 0)}},
	[RQ_REVOKED] = {16, TAIL_NONE, 1, {PART(revoked_q_f, RQ(cmd.revoked), 0)}},
	[RQ_TOKEN_REDEEM] = {8 + TOKEN_BYTES, TAIL_NONE, 1, {PART(token_redeem_f, RQ(redeem), 0)}},
};

static const struct layout rep_layouts[RP_LIMIT] = {
	[RP_EMPTY] = {0, TAIL_NONE, 0, {{0}}},
	[RP_HOLD] = {152, TAIL_NONE, 1, {PART(hold_view_f, RP(res.hold), 0)}},
	[RP_TICKET] = {72, TAIL_NONE, 1, {PART(ticket_view_f, RP(res.ticket), 0)}},
	[RP_AVAIL] = {PROTO_AVAIL_HEAD_BYTES, TAIL_TIERS, 1, {PART(avail_f, RP(res.avail), 0)}},
	[RP_STATS] = {128,
		      TAIL_NONE,
		      4,
		      {PART(stats_f, RP(res.stats), 0),
		       PART(channel_f, RP(res.stats.channels[CHANNEL_ONLINE]), 8),
		       PART(channel_f, RP(res.stats.channels[CHANNEL_BOX_OFFICE]), 48),
		       PART(channel_f, RP(res.stats.channels[CHANNEL_KIOSK]), 88)}},
	[RP_EVENT] = {168,
		      TAIL_NONE,
		      2,
		      {PART(event_f, RP(res.event.event), 0),
		       PART(event_view_f, RP(res.event), 144)}},
	[RP_CUSTOMER] = {24, TAIL_NONE, 1, {PART(customer_f, RP(res.customer), 0)}},
	[RP_SECTION] = {16, TAIL_NONE, 1, {PART(section_result_f, RP(res), 0)}},
	[RP_SEATS] = {PROTO_SEATS_HEAD_BYTES,
		      TAIL_SEAT_STATES,
		      1,
		      {PART(seat_states_f, RP(seats), 0)}},
	[RP_HELLO] = {16, TAIL_NONE, 1, {PART(hello_reply_f, RP(hello), 0)}},
	[RP_SERVER] = {8 * PROTO_STAT_SLOTS, TAIL_NONE, 1, {PART(server_stats_f, RP(server), 0)}},
	[RP_HOLD_TOKENS] = {152 + PROTO_TOKENS_HEAD_BYTES,
			    TAIL_TOKENS,
			    2,
			    {PART(hold_view_f, RP(res.hold), 0),
			     PART(tokens_head_f, RP(tokens), 152)}},
	[RP_TICKET_TOKEN] = {72 + PROTO_TOKENS_HEAD_BYTES,
			     TAIL_TOKENS,
			     2,
			     {PART(ticket_view_f, RP(res.ticket), 0),
			      PART(tokens_head_f, RP(tokens), 72)}},
	[RP_KEYS] = {PROTO_KEYS_HEAD_BYTES, TAIL_KEYS, 1, {PART(keys_head_f, RP(keys), 0)}},
	[RP_REVOKED] = {PROTO_REVOKED_HEAD_BYTES,
			TAIL_IDS,
			1,
			{PART(revoked_f, RP(res.revoked), 0)}},
};

/* ---- opcodes ---- */

struct op {
	const char *name; /* NULL: not an opcode */
	uint8_t cmd_type; /* 0: not a core command */
	/* 1: another opcode of cmd_type's command (more in the reply), not
	 * the command's own */
	uint8_t variant;
	uint8_t req;   /* enum req_layout */
	uint8_t rep;   /* enum rep_layout */
	uint8_t roles; /* bit per enum proto_role */
};

#define R_NONE (1u << PROTO_ROLE_NONE)
#define R_ADMIN (1u << PROTO_ROLE_ADMIN)
#define R_SALES ((1u << PROTO_ROLE_PLATFORM) | (1u << PROTO_ROLE_BOX_OFFICE))
#define R_SCANNER (1u << PROTO_ROLE_SCANNER)
#define R_AUTHED (R_ADMIN | R_SALES | R_SCANNER)

static const struct op ops[PROTO_OP_LIMIT] = {
	[PROTO_OP_EVENT_CREATE] = {"event_create", CMD_EVENT_CREATE, 0, RQ_EVENT, RP_EMPTY,
				   R_ADMIN},
	[PROTO_OP_EVENT_UPDATE] = {"event_update", CMD_EVENT_UPDATE, 0, RQ_EVENT, RP_EMPTY,
				   R_ADMIN},
	[PROTO_OP_TIER_ADD] = {"tier_add", CMD_TIER_ADD, 0, RQ_TIER, RP_EMPTY, R_ADMIN},
	[PROTO_OP_SECTION_LOAD] = {"section_load", CMD_SECTION_LOAD, 0, RQ_SECTION, RP_SECTION,
				   R_ADMIN},
	[PROTO_OP_PRESALE_CODE_ADD] = {"presale_code_add", CMD_PRESALE_CODE_ADD, 0, RQ_CODE,
				       RP_EMPTY, R_ADMIN},
	[PROTO_OP_EVENT_RETIRE] = {"event_retire", CMD_EVENT_RETIRE, 0, RQ_QUERY, RP_EMPTY,
				   R_ADMIN},
	[PROTO_OP_HOLD] = {"hold", CMD_HOLD, 0, RQ_HOLD, RP_HOLD, R_SALES},
	[PROTO_OP_HOLD_EXTEND] = {"hold_extend", CMD_HOLD_EXTEND, 0, RQ_HOLD_REF, RP_HOLD, R_SALES},
	[PROTO_OP_HOLD_RELEASE] = {"hold_release", CMD_HOLD_RELEASE, 0, RQ_HOLD_REF, RP_HOLD,
				   R_SALES},
	[PROTO_OP_CONFIRM] = {"confirm", CMD_CONFIRM, 0, RQ_HOLD_REF, RP_HOLD, R_SALES},
	[PROTO_OP_REDEEM] = {"redeem", CMD_REDEEM, 0, RQ_TICKET_REF, RP_TICKET, R_SCANNER},
	[PROTO_OP_REFUND] = {"refund", CMD_REFUND, 0, RQ_TICKET_REF, RP_TICKET, R_SALES},
	[PROTO_OP_EXCHANGE] = {"exchange", CMD_EXCHANGE, 0, RQ_TICKET_REF, RP_TICKET, R_SALES},
	[PROTO_OP_Q_EVENT] = {"q_event", CMD_Q_EVENT, 0, RQ_QUERY, RP_EVENT, R_ADMIN},
	[PROTO_OP_Q_AVAILABILITY] = {"q_availability", CMD_Q_AVAILABILITY, 0, RQ_QUERY, RP_AVAIL,
				     R_ADMIN | R_SALES},
	[PROTO_OP_Q_HOLD] = {"q_hold", CMD_Q_HOLD, 0, RQ_HOLD_REF, RP_HOLD, R_ADMIN | R_SALES},
	[PROTO_OP_Q_ORDER] = {"q_order", CMD_Q_ORDER, 0, RQ_HOLD_REF, RP_HOLD, R_ADMIN | R_SALES},
	[PROTO_OP_Q_TICKET] = {"q_ticket", CMD_Q_TICKET, 0, RQ_TICKET_REF, RP_TICKET, R_AUTHED},
	[PROTO_OP_Q_STATS] = {"q_stats", CMD_Q_STATS, 0, RQ_QUERY, RP_STATS, R_ADMIN},
	[PROTO_OP_Q_CUSTOMER] = {"q_customer", CMD_Q_CUSTOMER, 0, RQ_QUERY, RP_CUSTOMER,
				 R_ADMIN | R_SALES},
	[PROTO_OP_Q_SECTION_SEATS] = {"q_section_seats", 0, 0, RQ_SEATS, RP_SEATS,
				      R_ADMIN | R_SALES},
	[PROTO_OP_HELLO] = {"hello", 0, 0, RQ_HELLO, RP_HELLO, R_NONE | R_AUTHED},
	[PROTO_OP_PING] = {"ping", 0, 0, RQ_EMPTY, RP_EMPTY, R_AUTHED},
	[PROTO_OP_STATS] = {"stats", 0, 0, RQ_EMPTY, RP_SERVER, R_ADMIN},
	[PROTO_OP_Q_REVOKED] = {"q_revoked", CMD_Q_REVOKED, 0, RQ_REVOKED, RP_REVOKED, R_AUTHED},
	[PROTO_OP_CONFIRM_TOKENS] = {"confirm_tokens", CMD_CONFIRM, 1, RQ_HOLD_REF, RP_HOLD_TOKENS,
				     R_SALES},
	[PROTO_OP_Q_TICKET_TOKEN] = {"q_ticket_token", CMD_Q_TICKET, 1, RQ_TICKET_REF,
				     RP_TICKET_TOKEN, R_ADMIN | R_SALES},
	[PROTO_OP_REDEEM_TOKEN] = {"redeem_token", 0, 0, RQ_TOKEN_REDEEM, RP_TICKET, R_SCANNER},
	[PROTO_OP_TICKET_KEYS] = {"ticket_keys", 0, 0, RQ_EMPTY, RP_KEYS, R_AUTHED},
};

static const struct op *op_get(uint8_t opcode)
{
	if (opcode >= PROTO_OP_LIMIT || !ops[opcode].name)
		return NULL;
	return &ops[opcode];
}

/* ---- little-endian wire and native memory ---- */

static void put_le(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned width)
{
	uint64_t v = 0;

	for (unsigned i = width; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* A field's bytes, width x count, between memory and the wire. On a
 * little-endian host the wire's bytes are memory's, so a field is one copy
 * (a hold reply's 13 fields cost ~150 instructions instead of ~1,500 for
 * the byte loop); a big-endian host takes the loop. Sizes 1, 2, 4 and 8 are
 * copied inline; the compiler turns each memcpy into one load and store. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline void copy_field(uint8_t *dst, const uint8_t *src, unsigned bytes)
{
	switch (bytes) {
	case 1: *dst = *src; break;
	case 2: memcpy(dst, src, 2); break;
	case 4: memcpy(dst, src, 4); break;
	case 8: memcpy(dst, src, 8); break;
	default: memcpy(dst, src, bytes);
	}
}

static void pack(const struct field *f, unsigned n, const void *mem, uint8_t *wire)
{
	const uint8_t *base = mem;

	for (; n > 0; n--, f++)
		copy_field(wire + f->wire_off, base + f->mem_off, (unsigned)f->width * f->count);
}

static void unpack(const struct field *f, unsigned n, void *mem, const uint8_t *wire)
{
	uint8_t *base = mem;

	for (; n > 0; n--, f++)
		copy_field(base + f->mem_off, wire + f->wire_off, (unsigned)f->width * f->count);
}
#else
static uint64_t load(const uint8_t *m, unsigned width)
{
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	switch (width) {
	case 1: return *m;
	case 2: memcpy(&u16, m, 2); return u16;
	case 4: memcpy(&u32, m, 4); return u32;
	default: memcpy(&u64, m, 8); return u64;
	}
}

static void store(uint8_t *m, unsigned width, uint64_t v)
{
	uint16_t u16 = (uint16_t)v;
	uint32_t u32 = (uint32_t)v;

	switch (width) {
	case 1: *m = (uint8_t)v; break;
	case 2: memcpy(m, &u16, 2); break;
	case 4: memcpy(m, &u32, 4); break;
	default: memcpy(m, &v, 8);
	}
}

static void pack(const struct field *f, unsigned n, const void *mem, uint8_t *wire)
{
	const uint8_t *base = mem;

	for (; n > 0; n--, f++)
		for (unsigned k = 0; k < f->count; k++)
			put_le(wire + f->wire_off + k * f->width,
			       load(base + f->mem_off + k * f->width, f->width), f->width);
}

static void unpack(const struct field *f, unsigned n, void *mem, const uint8_t *wire)
{
	uint8_t *base = mem;

	for (; n > 0; n--, f++)
		for (unsigned k = 0; k < f->count; k++)
			store(base + f->mem_off + k * f->width, f->width,
			      get_le(wire + f->wire_off + k * f->width, f->width));
}
#endif

/* msg is the described struct less its first skip bytes (a result packed
 * from where it lies instead of from a proto_reply around it). */
static void pack_layout(const struct layout *l, const void *msg, size_t skip, uint8_t *body)
{
	for (unsigned i = 0; i < l->nparts; i++)
		pack(l->parts[i].f, l->parts[i].n,
		     (const uint8_t *)msg + (l->parts[i].mem_off - skip),
		     body + l->parts[i].wire_off);
}

static void unpack_layout(const struct layout *l, void *msg, const uint8_t *body)
{
	for (unsigned i = 0; i < l->nparts; i++)
		unpack(l->parts[i].f, l->parts[i].n, (uint8_t *)msg + l->parts[i].mem_off,
		       body + l->parts[i].wire_off);
}

/* count elements of stride mem_stride in memory, wire_stride on the wire */
struct array {
	const struct field *f;
	unsigned n;
	size_t mem_stride;
	size_t wire_stride;
};
/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define ARRAY_OF(fields, T, wire) { (fields), COUNT(fields), sizeof(T), (wire) }
// clang-format on

static const struct array rows_a = ARRAY_OF(row_f, struct row_spec, PROTO_ROW_BYTES);
static const struct array seats_a = ARRAY_OF(seat_f, struct seat_spec, PROTO_SEAT_BYTES);
static const struct array tiers_a = ARRAY_OF(tier_view_f, struct tier_view, PROTO_TIER_BYTES);

static void pack_array(const struct array *a, const void *mem, uint8_t *wire, size_t count)
{
	for (size_t i = 0; i < count; i++)
		pack(a->f, a->n, (const uint8_t *)mem + i * a->mem_stride,
		     wire + i * a->wire_stride);
}

static void unpack_array(const struct array *a, void *mem, const uint8_t *wire, size_t count)
{
	for (size_t i = 0; i < count; i++)
		unpack(a->f, a->n, (uint8_t *)mem + i * a->mem_stride, wire + i * a->wire_stride);
}

/* ---- counted tails ---- */

static size_t section_seat_count(const struct cmd_section *s)
{
	size_t seats = 0;

	for (unsigned i = 0; i < s->row_count; i++)
		seats += s->rows[i].seat_count;
	return seats;
}

/* A row longer than ROW_SEATS_MAX is a count over a limit, like the section's
 * own counts: the frame is refused (reason 7), not the command. */
static bool section_rows_fit(const struct cmd_section *s)
{
	for (unsigned i = 0; i < s->row_count; i++)
		if (s->rows[i].seat_count > ROW_SEATS_MAX)
			return false;
	return true;
}

static size_t section_bytes(size_t rows, size_t seats)
{
	return PROTO_SECTION_HEAD_BYTES + rows * PROTO_ROW_BYTES + seats * PROTO_SEAT_BYTES;
}

static long section_body_bytes(const struct cmd_section *s)
{
	size_t seats;

	if (s->row_count > SECTION_ROWS_MAX || (s->row_count && (!s->rows || !s->seats)))
		return -1;
	seats = section_seat_count(s);
	if (seats > SECTION_SEATS_MAX || !section_rows_fit(s))
		return -1;
	return (long)section_bytes(s->row_count, seats);
}

/* Body bytes of msg (a proto_request or proto_reply, as the layout says);
 * -1 when its counts are over the limits or its arrays are missing. */
static long body_bytes(const struct layout *l, const void *msg)
{
	const struct proto_reply *rep = msg;

	switch (l->tail) {
	case TAIL_SECTION:
		return section_body_bytes(&((const struct proto_request *)msg)->cmd.section);
	case TAIL_TIERS:
		if (rep->res.avail.tier_count > TIERS_MAX)
			return -1;
		return l->bytes + (long)rep->res.avail.tier_count * PROTO_TIER_BYTES;
	case TAIL_SEAT_STATES:
		if (rep->seats.seat_count > SECTION_SEATS_MAX ||
		    (rep->seats.seat_count && !rep->seats.states))
			return -1;
		return l->bytes + (long)rep->seats.seat_count;
	case TAIL_TOKENS:
		if (rep->tokens.count > HOLD_UNITS_MAX || (rep->tokens.count && !rep->tokens.bytes))
			return -1;
		return l->bytes + (long)rep->tokens.count * TOKEN_BYTES;
	case TAIL_KEYS:
		if (rep->keys.count > TOKEN_KEYS_MAX || (rep->keys.count && !rep->keys.keys) ||
		    (rep->keys.keys && rep->keys.count > rep->keys.keys->count))
			return -1;
		return l->bytes + (long)rep->keys.count * PROTO_KEY_ENTRY_BYTES;
	case TAIL_IDS:
		if (rep->res.revoked.count > REVOKED_PAGE_MAX)
			return -1;
		return l->bytes + (long)rep->res.revoked.count * 8;
	case TAIL_NONE: return l->bytes;
	default: assert(0 && "a layout tail out of range"); return -1;
	}
}

static void put_keys(const struct proto_ticket_keys *k, uint8_t *wire)
{
	for (unsigned i = 0; i < k->count; i++, wire += PROTO_KEY_ENTRY_BYTES) {
		put_le(wire, k->keys->keys[i].key_id, 4);
		memcpy(wire + 8, k->keys->keys[i].pk, TOKEN_PUBLIC_KEY_BYTES);
	}
}

void proto_ticket_key_get(const struct proto_ticket_keys *keys, unsigned i,
			  struct token_pubkey *out)
{
	const uint8_t *wire;

	assert(i < keys->count && keys->wire);
	wire = keys->wire + (size_t)i * PROTO_KEY_ENTRY_BYTES;
	out->key_id = (uint32_t)get_le(wire, 4);
	memcpy(out->pk, wire + 8, TOKEN_PUBLIC_KEY_BYTES);
}

static void put_section(const struct cmd_section *s, uint8_t *body)
{
	size_t seats = section_seat_count(s);

	put_le(body + 8, seats, 4);
	pack_array(&rows_a, s->rows, body + PROTO_SECTION_HEAD_BYTES, s->row_count);
	pack_array(&seats_a, s->seats, body + section_bytes(s->row_count, 0), seats);
}

static void put_tail(const struct layout *l, const void *msg, uint8_t *body)
{
	const struct proto_reply *rep = msg;

	switch (l->tail) {
	case TAIL_SECTION:
		put_section(&((const struct proto_request *)msg)->cmd.section, body);
		break;
	case TAIL_TIERS:
		pack_array(&tiers_a, rep->res.avail.tiers, body + l->bytes,
			   rep->res.avail.tier_count);
		break;
	case TAIL_SEAT_STATES:
		if (rep->seats.seat_count)
			memcpy(body + l->bytes, rep->seats.states, rep->seats.seat_count);
		break;
	case TAIL_TOKENS:
		if (rep->tokens.count)
			memcpy(body + l->bytes, rep->tokens.bytes,
			       (size_t)rep->tokens.count * TOKEN_BYTES);
		break;
	case TAIL_KEYS: put_keys(&rep->keys, body + l->bytes); break;
	case TAIL_IDS:
		for (unsigned i = 0; i < rep->res.revoked.count; i++)
			put_le(body + l->bytes + 8 * i, rep->res.revoked.ticket_ids[i], 8);
		break;
	}
}

static long get_section(const uint8_t *body, uint32_t body_len, struct cmd_section *s,
			struct proto_section_buf *sec)
{
	uint32_t seats = (uint32_t)get_le(body + 8, 4);
	size_t sum;

	assert(sec != NULL);
	if (s->row_count > SECTION_ROWS_MAX || seats > SECTION_SEATS_MAX)
		return -PROTO_BAD_BODY;
	if (body_len != section_bytes(s->row_count, seats))
		return -PROTO_BAD_BODY_LENGTH;
	unpack_array(&rows_a, sec->rows, body + PROTO_SECTION_HEAD_BYTES, s->row_count);
	s->rows = sec->rows;
	sum = section_seat_count(s);
	if (sum != seats || !section_rows_fit(s))
		return -PROTO_BAD_BODY;
	unpack_array(&seats_a, sec->seats, body + section_bytes(s->row_count, 0), seats);
	s->seats = sec->seats;
	return 0;
}

/* TAIL_KEYS and TAIL_IDS (replies only). */
static long get_tail_ids(const struct layout *l, struct proto_reply *rep, const uint8_t *body,
			 uint32_t body_len)
{
	switch (l->tail) {
	case TAIL_KEYS:
		if (rep->keys.count > TOKEN_KEYS_MAX)
			return -PROTO_BAD_BODY;
		if (body_len != l->bytes + (size_t)rep->keys.count * PROTO_KEY_ENTRY_BYTES)
			return -PROTO_BAD_BODY_LENGTH;
		rep->keys.wire = body + l->bytes;
		return 0;
	case TAIL_IDS:
		if (rep->res.revoked.count > REVOKED_PAGE_MAX)
			return -PROTO_BAD_BODY;
		if (body_len != l->bytes + (size_t)rep->res.revoked.count * 8)
			return -PROTO_BAD_BODY_LENGTH;
		for (unsigned i = 0; i < rep->res.revoked.count; i++)
			rep->res.revoked.ticket_ids[i] = get_le(body + l->bytes + 8 * i, 8);
		return 0;
	default: assert(0 && "not a tail of ids"); return -PROTO_BAD_BODY;
	}
}

/* The fixed part is unpacked into msg; reads and checks the tail. */
static long get_tail(const struct layout *l, void *msg, const uint8_t *body, uint32_t body_len,
		     struct proto_section_buf *sec)
{
	struct proto_reply *rep = msg;

	switch (l->tail) {
	case TAIL_SECTION:
		return get_section(body, body_len, &((struct proto_request *)msg)->cmd.section,
				   sec);
	case TAIL_TIERS:
		if (rep->res.avail.tier_count > TIERS_MAX)
			return -PROTO_BAD_BODY;
		if (body_len != l->bytes + (size_t)rep->res.avail.tier_count * PROTO_TIER_BYTES)
			return -PROTO_BAD_BODY_LENGTH;
		unpack_array(&tiers_a, rep->res.avail.tiers, body + l->bytes,
			     rep->res.avail.tier_count);
		return 0;
	case TAIL_SEAT_STATES:
		if (rep->seats.seat_count > SECTION_SEATS_MAX)
			return -PROTO_BAD_BODY;
		if (body_len != l->bytes + (size_t)rep->seats.seat_count)
			return -PROTO_BAD_BODY_LENGTH;
		rep->seats.states = body + l->bytes;
		return 0;
	case TAIL_TOKENS:
		if (rep->tokens.count > HOLD_UNITS_MAX)
			return -PROTO_BAD_BODY;
		if (body_len != l->bytes + (size_t)rep->tokens.count * TOKEN_BYTES)
			return -PROTO_BAD_BODY_LENGTH;
		rep->tokens.bytes = body + l->bytes;
		return 0;
	case TAIL_KEYS:
	case TAIL_IDS: return get_tail_ids(l, rep, body, body_len);
	case TAIL_NONE: return 0;
	default: assert(0 && "a layout tail out of range"); return -PROTO_BAD_BODY;
	}
}

/* ---- frames ---- */

/* Header of a frame at buf: 1 when read, 0 when more bytes are needed,
 * -enum proto_bad when the bytes so far cannot start a frame. *h is zero
 * unless magic and version were right and the whole header was read. */
static long get_header(const uint8_t *buf, size_t len, uint16_t flags, struct header *h)
{
	uint8_t magic[4];

	memset(h, 0, sizeof(*h));
	if (len == 0)
		return 0;
	put_le(magic, PROTO_MAGIC, 4);
	if (memcmp(buf, magic, len < 4 ? len : 4) != 0)
		return -PROTO_BAD_MAGIC;
	if (len > 4 && buf[4] != PROTO_VERSION)
		return -PROTO_BAD_VERSION;
	if (len < PROTO_HEADER_BYTES)
		return 0;
	unpack(header_f, COUNT(header_f), h, buf);
	if (h->flags != flags)
		return -PROTO_BAD_FLAGS;
	if (h->body_len > PROTO_BODY_BYTES_MAX)
		return -PROTO_BAD_TOO_LONG;
	return 1;
}

/* body_len against a layout: exact, or at least the head before a tail. */
static long check_body_len(const struct layout *l, uint32_t body_len)
{
	if (l->tail == TAIL_NONE ? body_len != l->bytes : body_len < l->bytes)
		return -PROTO_BAD_BODY_LENGTH;
	return 0;
}

static size_t put_frame(uint8_t *buf, size_t cap, struct header *h, size_t body_len)
{
	size_t total = PROTO_HEADER_BYTES + body_len;

	if (total > cap || body_len > PROTO_BODY_BYTES_MAX)
		return 0;
	memset(buf, 0, total);
	h->magic = PROTO_MAGIC;
	h->version = PROTO_VERSION;
	h->body_len = (uint32_t)body_len;
	pack(header_f, COUNT(header_f), h, buf);
	return total;
}

long proto_decode_request(const uint8_t *buf, size_t len, struct proto_request *req,
			  struct proto_section_buf *sec)
{
	const struct layout *l;
	const struct op *op;
	struct header h;
	long rc;

	memset(req, 0, sizeof(*req));
	rc = get_header(buf, len, 0, &h);
	req->request_id = h.request_id;
	req->opcode = h.opcode;
	if (rc <= 0)
		return rc;
	op = op_get(h.opcode);
	if (!op)
		return -PROTO_BAD_OPCODE;
	l = &req_layouts[op->req];
	rc = check_body_len(l, h.body_len);
	if (rc < 0 || len < PROTO_HEADER_BYTES + (size_t)h.body_len)
		return rc;
	unpack_layout(l, req, buf + PROTO_HEADER_BYTES);
	if (op->cmd_type)
		req->cmd.type = op->cmd_type;
	rc = get_tail(l, req, buf + PROTO_HEADER_BYTES, h.body_len, sec);
	return rc < 0 ? rc : (long)(PROTO_HEADER_BYTES + h.body_len);
}

int proto_status_is_server(enum status st)
{
	return st >= ST_UNAUTHENTICATED && st < ST_UNAUTHENTICATED + 10;
}

/* The layout of a reply's body after the head; NULL for an unknown opcode. */
static const struct layout *reply_layout(uint8_t opcode, enum status st)
{
	const struct op *op = op_get(opcode);

	if (proto_status_is_server(st))
		return &rep_layouts[RP_EMPTY];
	return op ? &rep_layouts[op->rep] : NULL;
}

/* Checks that unpacking cannot prove harmful to a reader of the reply. */
static long reply_sane(const struct proto_reply *rep, const struct layout *l)
{
	if ((l == &rep_layouts[RP_HOLD] || l == &rep_layouts[RP_HOLD_TOKENS]) &&
	    rep->res.hold.qty > HOLD_UNITS_MAX)
		return -PROTO_BAD_BODY;
	return 0;
}

long proto_decode_reply(const uint8_t *buf, size_t len, struct proto_reply *rep)
{
	const struct layout *l;
	const uint8_t *body;
	struct header h;
	long rc;

	memset(rep, 0, sizeof(*rep));
	rc = get_header(buf, len, PROTO_F_REPLY, &h);
	rep->request_id = h.request_id;
	rep->opcode = h.opcode;
	if (rc <= 0)
		return rc;
	rep->res.status = (enum status)h.status;
	l = reply_layout(h.opcode, rep->res.status);
	if (!l)
		return -PROTO_BAD_OPCODE;
	if (h.body_len < PROTO_REPLY_HEAD_BYTES)
		return -PROTO_BAD_BODY_LENGTH;
	rc = check_body_len(l, h.body_len - PROTO_REPLY_HEAD_BYTES);
	if (rc < 0 || len < PROTO_HEADER_BYTES + (size_t)h.body_len)
		return rc;
	body = buf + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES;
	unpack(reply_head_f, COUNT(reply_head_f), rep, buf + PROTO_HEADER_BYTES);
	unpack_layout(l, rep, body);
	rc = get_tail(l, rep, body, h.body_len - PROTO_REPLY_HEAD_BYTES, NULL);
	if (rc == 0)
		rc = reply_sane(rep, l);
	return rc < 0 ? rc : (long)(PROTO_HEADER_BYTES + h.body_len);
}

size_t proto_encode_request(uint8_t *buf, size_t cap, const struct proto_request *req)
{
	const struct op *op = op_get(req->opcode);
	struct header h = {.opcode = req->opcode, .request_id = req->request_id};
	const struct layout *l;
	long body_len;

	if (!op)
		return 0;
	l = &req_layouts[op->req];
	body_len = body_bytes(l, req);
	if (body_len < 0 || !put_frame(buf, cap, &h, (size_t)body_len))
		return 0;
	pack_layout(l, req, 0, buf + PROTO_HEADER_BYTES);
	put_tail(l, req, buf + PROTO_HEADER_BYTES);
	return PROTO_HEADER_BYTES + (size_t)body_len;
}

size_t proto_encode_cmd(uint8_t *buf, size_t cap, uint64_t request_id, const struct cmd *cmd)
{
	struct proto_request req = {.request_id = request_id, .opcode = proto_op_of_cmd(cmd->type)};

	req.cmd = *cmd;
	return req.opcode ? proto_encode_request(buf, cap, &req) : 0;
}

/* A hold view's seat slots past its qty go out as zero, as PROTOCOL.md says,
 * whatever the core keeps there (SEAT_NONE). The first qty slots are sent as
 * they are: seat numbers, or SEAT_NONE for a GA hold. */
static void zero_unused_seats(const struct layout *l, uint8_t *body)
{
	unsigned qty;

	if (l != &rep_layouts[RP_HOLD] && l != &rep_layouts[RP_HOLD_TOKENS])
		return;
	qty = body[PROTO_HOLD_VIEW_QTY_OFF];
	if (qty < PROTO_HOLD_SEATS)
		memset(body + PROTO_HOLD_VIEW_SEATS_OFF + 4 * qty, 0,
		       4 * (size_t)(PROTO_HOLD_SEATS - qty));
}

size_t proto_encode_reply(uint8_t *buf, size_t cap, const struct proto_reply *rep)
{
	const struct layout *l = reply_layout(rep->opcode, rep->res.status);
	struct header h = {.opcode = rep->opcode,
			   .flags = PROTO_F_REPLY,
			   .status = (uint16_t)rep->res.status,
			   .request_id = rep->request_id};
	uint8_t *body = buf + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES;
	long body_len;

	if (!l)
		return 0;
	body_len = body_bytes(l, rep);
	if (body_len < 0 || !put_frame(buf, cap, &h, PROTO_REPLY_HEAD_BYTES + (size_t)body_len))
		return 0;
	pack(reply_head_f, COUNT(reply_head_f), rep, buf + PROTO_HEADER_BYTES);
	pack_layout(l, rep, 0, body);
	zero_unused_seats(l, body);
	put_tail(l, rep, body);
	return PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + (size_t)body_len;
}

/* Whether every part of a fixed layout lies in proto_reply's res. */
static int layout_in_result(const struct layout *l)
{
	if (l->tail != TAIL_NONE)
		return 0;
	for (unsigned i = 0; i < l->nparts; i++)
		if (l->parts[i].mem_off < RP(res) ||
		    l->parts[i].mem_off >= RP(res) + sizeof(struct result))
			return 0;
	return 1;
}

/* Packed from *res where it lies: the common reply (a hold, a ticket) is
 * not first copied into a proto_reply (1.4 KB zeroed and copied per reply). */
size_t proto_encode_result(uint8_t *buf, size_t cap, uint64_t request_id, uint8_t opcode,
			   const struct result *res)
{
	const struct layout *l = reply_layout(opcode, res->status);
	struct header h = {.opcode = opcode,
			   .flags = PROTO_F_REPLY,
			   .status = (uint16_t)res->status,
			   .request_id = request_id};

	if (!l || !layout_in_result(l)) {
		struct proto_reply rep = {.request_id = request_id, .opcode = opcode, .res = *res};

		return proto_encode_reply(buf, cap, &rep);
	}
	if (!put_frame(buf, cap, &h, PROTO_REPLY_HEAD_BYTES + (size_t)l->bytes))
		return 0;
	pack(result_head_f, COUNT(result_head_f), res, buf + PROTO_HEADER_BYTES);
	pack_layout(l, res, RP(res), buf + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
	zero_unused_seats(l, buf + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
	return PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + (size_t)l->bytes;
}

size_t proto_encode_bad_frame(uint8_t *buf, size_t cap, uint64_t request_id, uint8_t opcode,
			      enum proto_bad why)
{
	struct proto_reply rep = {.request_id = request_id,
				  .opcode = opcode,
				  .bad_reason = (uint8_t)why,
				  .res.status = ST_BAD_FRAME};

	return proto_encode_reply(buf, cap, &rep);
}

/* ---- roles and names ---- */

int proto_role_allows(enum proto_role role, uint8_t opcode)
{
	const struct op *op = op_get(opcode);

	return op && (unsigned)role < PROTO_ROLES && (op->roles >> role & 1u);
}

/* Every core command's opcode is its command type (proto_check_tables
 * holds the table to that), so this is a look-up, not a search. */
uint8_t proto_op_of_cmd(uint8_t cmd_type)
{
	const struct op *op = op_get(cmd_type);

	return op && cmd_type && op->cmd_type == cmd_type && !op->variant ? cmd_type : 0;
}

const char *proto_op_name(uint8_t opcode)
{
	const struct op *op = op_get(opcode);

	return op ? op->name : "unknown";
}

const char *proto_bad_name(enum proto_bad why)
{
	static const char *const names[PROTO_BAD_LIMIT] = {
		[PROTO_BAD_MAGIC] = "bad_magic",   [PROTO_BAD_VERSION] = "bad_version",
		[PROTO_BAD_FLAGS] = "bad_flags",   [PROTO_BAD_OPCODE] = "bad_opcode",
		[PROTO_BAD_TOO_LONG] = "too_long", [PROTO_BAD_BODY_LENGTH] = "bad_body_length",
		[PROTO_BAD_BODY] = "bad_body",
	};

	return (unsigned)why < PROTO_BAD_LIMIT && names[why] ? names[why] : "unknown";
}

const char *proto_role_name(enum proto_role role)
{
	static const char *const names[PROTO_ROLES] = {
		"none", "admin", "platform", "box_office", "scanner",
	};

	return (unsigned)role < PROTO_ROLES ? names[role] : "unknown";
}

/* ---- table checks (tests) ---- */

#define CHECK_BYTES_MAX 256 /* every fixed part is smaller */

/* Fields inside bytes, widths sane, no two fields over the same byte. */
static const char *check_fields(const struct field *f, unsigned n, size_t wire_off, size_t bytes,
				uint8_t *used)
{
	for (; n > 0; n--, f++) {
		size_t from = wire_off + f->wire_off, to = from + (size_t)f->width * f->count;

		if (f->width != 1 && f->width != 2 && f->width != 4 && f->width != 8)
			return f->name;
		if (to > bytes)
			return f->name;
		for (size_t b = from; b < to; b++)
			if (used[b]++)
				return f->name;
	}
	return NULL;
}

static const char *check_layout(const struct layout *l)
{
	uint8_t used[CHECK_BYTES_MAX] = {0};
	const char *bad = l->bytes > CHECK_BYTES_MAX ? "layout too large to check" : NULL;

	for (unsigned i = 0; i < l->nparts && !bad; i++)
		bad = check_fields(l->parts[i].f, l->parts[i].n, l->parts[i].wire_off, l->bytes,
				   used);
	return bad;
}

static const char *check_plain(const struct field *f, unsigned n, size_t bytes)
{
	struct layout l = {(uint16_t)bytes, TAIL_NONE, 1, {{f, (uint8_t)n, 0, 0}}};

	return check_layout(&l);
}

const char *proto_check_tables(void)
{
	const char *bad = NULL;

	for (unsigned i = 0; i < RQ_LIMIT && !bad; i++)
		bad = check_layout(&req_layouts[i]);
	for (unsigned i = 0; i < RP_LIMIT && !bad; i++)
		bad = check_layout(&rep_layouts[i]);
	if (!bad)
		bad = check_plain(header_f, COUNT(header_f), PROTO_HEADER_BYTES);
	if (!bad)
		bad = check_plain(reply_head_f, COUNT(reply_head_f), PROTO_REPLY_HEAD_BYTES);
	if (!bad)
		bad = check_plain(rows_a.f, rows_a.n, rows_a.wire_stride);
	if (!bad)
		bad = check_plain(seats_a.f, seats_a.n, seats_a.wire_stride);
	if (!bad)
		bad = check_plain(tiers_a.f, tiers_a.n, tiers_a.wire_stride);
	for (unsigned i = 0; i < PROTO_OP_LIMIT && !bad; i++)
		if (ops[i].name && ops[i].cmd_type &&
		    (ops[i].variant
			     ? proto_op_of_cmd(ops[i].cmd_type) != ops[i].cmd_type
			     : ops[i].cmd_type != i || proto_op_of_cmd(ops[i].cmd_type) != i))
			bad = ops[i].name;
	if (!bad)
		bad = check_plain(result_head_f, COUNT(result_head_f), PROTO_REPLY_HEAD_BYTES);
	return bad;
}
