/*
 * test_proto.c — the wire codec (net/proto/proto.c) against its documented format.
 *
 * The expectations here are written independently of the codec's own
 * tables: the opcode list, body sizes, reply kinds and role matrix below
 * restate docs/PROTOCOL.md, so a table edit in proto.c that disagrees with
 * the document fails here. Round trips fill every field with random bytes,
 * so a field missing from a layout comes back zero and is caught; golden
 * bytes pin a few documented offsets; bad frames of every kind and streams
 * split at every byte exercise the incremental decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/proto/proto.h"

/* ---- the documented protocol, restated ---- */

enum kind { /* request and reply body kinds of docs/PROTOCOL.md */
	    K_NONE,
	    K_EVENT,
	    K_TIER,
	    K_SECTION,
	    K_CODE,
	    K_HOLD,
	    K_HOLD_REF,
	    K_TICKET_REF,
	    K_QUERY,
	    K_SEATS_Q,
	    K_HELLO,
	    V_HOLD,
	    V_TICKET,
	    V_AVAIL,
	    V_STATS,
	    V_EVENT,
	    V_CUSTOMER,
	    V_SECTION,
	    V_SEATS,
	    V_HELLO,
	    V_SERVER,
	    K_REVOKED_Q,
	    K_TOKEN_REDEEM,
	    V_HOLD_TOKENS,
	    V_TICKET_TOKEN,
	    V_KEYS,
	    V_REVOKED
};

#define N (1u << PROTO_ROLE_NONE)
#define AD (1u << PROTO_ROLE_ADMIN)
#define PL (1u << PROTO_ROLE_PLATFORM)
#define BO (1u << PROTO_ROLE_BOX_OFFICE)
#define SC (1u << PROTO_ROLE_SCANNER)

static const struct expect {
	uint8_t op, cmd_type;
	uint8_t req, rep;              /* enum kind */
	uint16_t req_bytes, rep_bytes; /* fixed bodies; with a tail, the part before it */
	uint8_t roles;
	uint8_t variant; /* another opcode of cmd_type's command */
} expect[] = {
	{PROTO_OP_EVENT_CREATE, CMD_EVENT_CREATE, K_EVENT, K_NONE, 144, 0, AD},
	{PROTO_OP_EVENT_UPDATE, CMD_EVENT_UPDATE, K_EVENT, K_NONE, 144, 0, AD},
	{PROTO_OP_TIER_ADD, CMD_TIER_ADD, K_TIER, K_NONE, 72, 0, AD},
	{PROTO_OP_SECTION_LOAD, CMD_SECTION_LOAD, K_SECTION, V_SECTION, 64, 16, AD},
	{PROTO_OP_PRESALE_CODE_ADD, CMD_PRESALE_CODE_ADD, K_CODE, K_NONE, 48, 0, AD},
	{PROTO_OP_EVENT_RETIRE, CMD_EVENT_RETIRE, K_QUERY, K_NONE, 16, 0, AD},
	{PROTO_OP_HOLD, CMD_HOLD, K_HOLD, V_HOLD, 128, 152, PL | BO},
	{PROTO_OP_HOLD_EXTEND, CMD_HOLD_EXTEND, K_HOLD_REF, V_HOLD, 56, 152, PL | BO},
	{PROTO_OP_HOLD_RELEASE, CMD_HOLD_RELEASE, K_HOLD_REF, V_HOLD, 56, 152, PL | BO},
	{PROTO_OP_CONFIRM, CMD_CONFIRM, K_HOLD_REF, V_HOLD, 56, 152, PL | BO},
	{PROTO_OP_REDEEM, CMD_REDEEM, K_TICKET_REF, V_TICKET, 32, 72, SC},
	{PROTO_OP_REFUND, CMD_REFUND, K_TICKET_REF, V_TICKET, 32, 72, PL | BO},
	{PROTO_OP_EXCHANGE, CMD_EXCHANGE, K_TICKET_REF, V_TICKET, 32, 72, PL | BO},
	{PROTO_OP_Q_EVENT, CMD_Q_EVENT, K_QUERY, V_EVENT, 16, 168, AD},
	{PROTO_OP_Q_AVAILABILITY, CMD_Q_AVAILABILITY, K_QUERY, V_AVAIL, 16, 8, AD | PL | BO},
	{PROTO_OP_Q_HOLD, CMD_Q_HOLD, K_HOLD_REF, V_HOLD, 56, 152, AD | PL | BO},
	{PROTO_OP_Q_ORDER, CMD_Q_ORDER, K_HOLD_REF, V_HOLD, 56, 152, AD | PL | BO},
	{PROTO_OP_Q_TICKET, CMD_Q_TICKET, K_TICKET_REF, V_TICKET, 32, 72, AD | PL | BO | SC},
	{PROTO_OP_Q_STATS, CMD_Q_STATS, K_QUERY, V_STATS, 16, 128, AD},
	{PROTO_OP_Q_CUSTOMER, CMD_Q_CUSTOMER, K_QUERY, V_CUSTOMER, 16, 24, AD | PL | BO},
	{PROTO_OP_Q_SECTION_SEATS, 0, K_SEATS_Q, V_SEATS, 8, 8, AD | PL | BO},
	{PROTO_OP_HELLO, 0, K_HELLO, V_HELLO, 40, 16, N | AD | PL | BO | SC},
	{PROTO_OP_PING, 0, K_NONE, K_NONE, 0, 0, AD | PL | BO | SC},
	{PROTO_OP_STATS, 0, K_NONE, V_SERVER, 0, 8 * PROTO_STAT_SLOTS, AD},
	{PROTO_OP_Q_REVOKED, CMD_Q_REVOKED, K_REVOKED_Q, V_REVOKED, 16, 32, AD | PL | BO | SC},
	{PROTO_OP_CONFIRM_TOKENS, CMD_CONFIRM, K_HOLD_REF, V_HOLD_TOKENS, 56, 160, PL | BO, 1},
	{PROTO_OP_Q_TICKET_TOKEN, CMD_Q_TICKET, K_TICKET_REF, V_TICKET_TOKEN, 32, 80, AD | PL | BO,
	 1},
	{PROTO_OP_REDEEM_TOKEN, 0, K_TOKEN_REDEEM, V_TICKET, 104, 72, SC},
	{PROTO_OP_TICKET_KEYS, 0, K_NONE, V_KEYS, 0, 8, AD | PL | BO | SC},
};
#define EXPECTS (sizeof(expect) / sizeof(expect[0]))

static const struct expect *ex(uint8_t op)
{
	for (unsigned i = 0; i < EXPECTS; i++)
		if (expect[i].op == op)
			return &expect[i];
	fail();
	return NULL;
}

static uint8_t frame[PROTO_FRAME_BYTES_MAX];
static uint8_t frame2[PROTO_FRAME_BYTES_MAX];
static struct proto_section_buf sec_in, sec_out;
static uint8_t states[SECTION_SEATS_MAX];
static uint8_t tokens[HOLD_UNITS_MAX * TOKEN_BYTES];
static struct token_keys keys;

/* ---- random filling ---- */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void rnd_fill(void *p, size_t n)
{
	uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(rnd() | 1); /* never zero: a dropped field shows */
}

/* Rows that sum to at most SECTION_SEATS_MAX seats, random contents. */
static void fill_section(struct cmd_section *s, unsigned rows)
{
	unsigned seats = 0;

	rnd_fill(&sec_in, sizeof(sec_in));
	for (unsigned i = 0; i < rows; i++) {
		unsigned most = SECTION_SEATS_MAX / rows;

		most = most < ROW_SEATS_MAX ? most : ROW_SEATS_MAX;
		sec_in.rows[i].seat_count = (uint16_t)(rnd() % (most + 1));
		seats += sec_in.rows[i].seat_count;
	}
	assert_true(seats <= SECTION_SEATS_MAX);
	s->row_count = (uint16_t)rows;
	s->rows = sec_in.rows;
	s->seats = sec_in.seats;
}

static void fill_request(struct proto_request *r, const struct expect *e)
{
	rnd_fill(r, sizeof(*r));
	r->opcode = e->op;
	if (e->req == K_SECTION)
		fill_section(&r->cmd.section, 1 + (unsigned)(rnd() % SECTION_ROWS_MAX));
}

static void fill_reply(struct proto_reply *r, const struct expect *e)
{
	static const enum status core_st[] = {ST_OK, ST_SOLD_OUT, ST_TICKET_ALREADY_REDEEMED};

	rnd_fill(r, sizeof(*r));
	r->opcode = e->op;
	r->res.status = core_st[rnd() % 3];
	r->res.hold.qty = (uint8_t)(rnd() % (HOLD_UNITS_MAX + 1));
	if (e->rep == V_AVAIL)
		r->res.avail.tier_count = (uint8_t)(rnd() % (TIERS_MAX + 1));
	if (e->rep == V_SEATS) {
		rnd_fill(states, sizeof(states));
		r->seats.seat_count = (uint32_t)(rnd() % (SECTION_SEATS_MAX + 1));
		r->seats.states = states;
	}
	if (e->rep == V_HOLD_TOKENS || e->rep == V_TICKET_TOKEN) {
		rnd_fill(tokens, sizeof(tokens));
		r->tokens.count = (uint8_t)(rnd() %
					    (e->rep == V_HOLD_TOKENS ? HOLD_UNITS_MAX + 1 : 2));
		r->tokens.bytes = tokens;
	}
	if (e->rep == V_KEYS) {
		rnd_fill(&keys, sizeof(keys));
		keys.count = (uint32_t)(rnd() % (TOKEN_KEYS_MAX + 1));
		r->keys = (struct proto_ticket_keys){.count = (uint8_t)keys.count, .keys = &keys};
	}
	if (e->rep == V_REVOKED)
		r->res.revoked.count = (uint16_t)(rnd() % (REVOKED_PAGE_MAX + 1));
}

/* ---- field-by-field comparison ---- */

#define EQ(f) assert_int_equal(a->f, b->f)
#define EQA(f) assert_memory_equal(a->f, b->f, sizeof(a->f))

static void same_event(const struct cmd_event *a, const struct cmd_event *b)
{
	EQ(event_id), EQ(state), EQ(customer_limit), EQ(hold_ttl_ms), EQ(units_max);
	EQ(starts_at_ms), EQ(presale_start_ms), EQ(public_start_ms), EQ(sales_end_ms);
	EQA(name), EQA(venue);
}

static void same_section(const struct cmd_section *a, const struct cmd_section *b)
{
	unsigned seats = 0;

	EQ(event_id), EQ(section), EQ(row_count), EQA(name);
	for (unsigned i = 0; i < a->row_count; i++) {
		EQA(rows[i].label), EQ(rows[i].seat_count), EQ(rows[i].first_number);
		seats += a->rows[i].seat_count;
	}
	for (unsigned i = 0; i < seats; i++)
		EQ(seats[i].tier), EQ(seats[i].flags), EQ(seats[i].rank);
}

static void same_hold(const struct cmd_hold *a, const struct cmd_hold *b)
{
	EQ(event_id), EQ(tier), EQ(mode), EQ(qty), EQ(channel), EQ(flags), EQ(code_len);
	EQ(ttl_ms), EQ(customer_id), EQ(idem_key), EQA(seats), EQA(code);
}

static void same_ticket_ref(const struct cmd_ticket_ref *a, const struct cmd_ticket_ref *b)
{
	EQ(event_id), EQ(gate_id), EQ(ticket_id), EQ(fee_minor), EQ(kill), EQ(tier), EQ(seat);
}

static void same_request(const struct proto_request *a, const struct proto_request *b,
			 const struct expect *e)
{
	EQ(request_id), EQ(opcode);
	if (e->cmd_type)
		assert_int_equal(b->cmd.type, e->cmd_type);
	switch (e->req) {
	case K_EVENT: same_event(&a->cmd.event, &b->cmd.event); break;
	case K_TIER:
		EQ(cmd.tier.event_id), EQ(cmd.tier.tier), EQ(cmd.tier.kind), EQ(cmd.tier.capacity);
		EQ(cmd.tier.low_stock_threshold), EQ(cmd.tier.price_minor), EQA(cmd.tier.name);
		break;
	case K_SECTION: same_section(&a->cmd.section, &b->cmd.section); break;
	case K_CODE:
		EQ(cmd.code.event_id), EQ(cmd.code.use_limit), EQ(cmd.code.code_len);
		EQA(cmd.code.code);
		break;
	case K_HOLD: same_hold(&a->cmd.hold, &b->cmd.hold); break;
	case K_HOLD_REF:
		EQ(cmd.ref.event_id), EQ(cmd.ref.ttl_ms), EQ(cmd.ref.hold_id);
		EQ(cmd.ref.amount_minor), EQA(cmd.ref.payment_ref);
		break;
	case K_TICKET_REF: same_ticket_ref(&a->cmd.ticket, &b->cmd.ticket); break;
	case K_QUERY: EQ(cmd.query.event_id), EQ(cmd.query.tier), EQ(cmd.query.customer_id); break;
	case K_SEATS_Q: EQ(seats.event_id), EQ(seats.section); break;
	case K_HELLO: EQ(hello.role), EQA(hello.key); break;
	case K_REVOKED_Q:
		EQ(cmd.revoked.event_id), EQ(cmd.revoked.shard), EQ(cmd.revoked.since_seq);
		break;
	case K_TOKEN_REDEEM: EQ(redeem.event_id), EQ(redeem.gate_id), EQA(redeem.token); break;
	}
}

static void same_hold_view(const struct hold_view *a, const struct hold_view *b)
{
	EQ(hold_id), EQ(customer_id), EQ(expires_at_ms), EQ(amount_due_minor);
	EQ(first_ticket_id), EQ(amount_paid_minor), EQ(event_id), EQ(tier), EQ(state);
	EQ(channel), EQ(qty), EQA(payment_ref);
	assert_memory_equal(a->seats, b->seats, sizeof(a->seats[0]) * a->qty);
	for (unsigned i = a->qty; i < PROTO_HOLD_SEATS; i++)
		assert_int_equal(b->seats[i], 0); /* unused slots travel as zero */
}

static void same_ticket_view(const struct ticket_view *a, const struct ticket_view *b)
{
	EQ(ticket_id), EQ(order_id), EQ(customer_id), EQ(price_minor), EQ(redeemed_at_ms);
	EQ(refund_fee_minor), EQ(replaced_by), EQ(event_id), EQ(seat), EQ(gate_id), EQ(tier);
	EQ(state);
}

static void same_avail(const struct availability_view *a, const struct availability_view *b)
{
	EQ(event_id), EQ(tier_count);
	for (unsigned i = 0; i < a->tier_count; i++) {
		EQ(tiers[i].price_minor), EQ(tiers[i].capacity), EQ(tiers[i].free);
		EQ(tiers[i].held), EQ(tiers[i].sold), EQ(tiers[i].killed);
		EQ(tiers[i].low_stock_threshold), EQ(tiers[i].kind), EQ(tiers[i].defined);
		EQ(tiers[i].low_stock);
	}
}

static void same_stats(const struct stats_view *a, const struct stats_view *b)
{
	EQ(event_id), EQ(tier);
	for (unsigned i = 0; i < CHANNELS; i++) {
		EQ(channels[i].held), EQ(channels[i].sold), EQ(channels[i].revenue_minor);
		EQ(channels[i].redeemed), EQ(channels[i].refunded);
	}
}

static void same_event_view(const struct event_view *a, const struct event_view *b)
{
	same_event(&a->event, &b->event);
	EQ(units_placed), EQ(seat_count), EQ(live_holds), EQ(tickets_issued), EQ(section_count);
	EQ(retired);
}

static void same_reply(const struct proto_reply *a, const struct proto_reply *b,
		       const struct expect *e)
{
	EQ(request_id), EQ(opcode), EQ(bad_reason), EQ(res.status), EQ(res.replayed);
	EQ(res.low_stock_tiers);
	switch (e->rep) {
	case V_HOLD: same_hold_view(&a->res.hold, &b->res.hold); break;
	case V_TICKET: same_ticket_view(&a->res.ticket, &b->res.ticket); break;
	case V_AVAIL: same_avail(&a->res.avail, &b->res.avail); break;
	case V_STATS: same_stats(&a->res.stats, &b->res.stats); break;
	case V_EVENT: same_event_view(&a->res.event, &b->res.event); break;
	case V_CUSTOMER:
		EQ(res.customer.event_id), EQ(res.customer.customer_id);
		EQ(res.customer.units), EQ(res.customer.limit);
		break;
	case V_SECTION: EQ(res.section.seat_first), EQ(res.section.seat_count); break;
	case V_SEATS:
		EQ(seats.first_seat), EQ(seats.seat_count);
		assert_memory_equal(a->seats.states, b->seats.states, a->seats.seat_count);
		break;
	case V_HELLO:
		EQ(hello.role), EQ(hello.shard_id), EQ(hello.shard_count), EQ(hello.now_ms);
		break;
	case V_SERVER: EQA(server.counters); break;
	case V_HOLD_TOKENS:
	case V_TICKET_TOKEN:
		if (e->rep == V_HOLD_TOKENS)
			same_hold_view(&a->res.hold, &b->res.hold);
		else
			same_ticket_view(&a->res.ticket, &b->res.ticket);
		EQ(tokens.count);
		assert_memory_equal(a->tokens.bytes, b->tokens.bytes,
				    a->tokens.count * TOKEN_BYTES);
		break;
	case V_KEYS:
		EQ(keys.count);
		for (unsigned i = 0; i < a->keys.count; i++) {
			struct token_pubkey k;

			proto_ticket_key_get(&b->keys, i, &k);
			assert_int_equal(k.key_id, keys.keys[i].key_id);
			assert_memory_equal(k.pk, keys.keys[i].pk, TOKEN_PUBLIC_KEY_BYTES);
		}
		break;
	case V_REVOKED:
		EQ(res.revoked.event_id), EQ(res.revoked.shard), EQ(res.revoked.count);
		EQ(res.revoked.first_seq), EQ(res.revoked.last_seq), EQ(res.revoked.more);
		EQ(res.revoked.gap);
		assert_memory_equal(a->res.revoked.ticket_ids, b->res.revoked.ticket_ids,
				    a->res.revoked.count * 8);
		break;
	}
}

/* ---- tests ---- */

static void test_tables_sound(void **state)
{
	(void)state;
	assert_null(proto_check_tables());
}

/* The codec knows exactly the documented opcodes, with their command types. */
static void test_opcode_set(void **state)
{
	unsigned known = 0;

	(void)state;
	for (unsigned op = 0; op < 256; op++)
		known += strcmp(proto_op_name((uint8_t)op), "unknown") != 0;
	assert_int_equal(known, EXPECTS);
	for (unsigned i = 0; i < EXPECTS; i++) {
		assert_string_not_equal(proto_op_name(expect[i].op), "unknown");
		if (expect[i].cmd_type)
			assert_int_equal(proto_op_of_cmd(expect[i].cmd_type) == expect[i].op,
					 !expect[i].variant);
	}
	assert_int_equal(proto_op_of_cmd(CMD_HOLD_EXPIRE), 0);
	assert_int_equal(proto_op_of_cmd(CMD_STOCK_OUT), 0);
	assert_int_equal(proto_op_of_cmd(CMD_STOCK_IN), 0);
	assert_int_equal(proto_op_of_cmd(0), 0);
}

static void test_request_round_trip(void **state)
{
	static struct proto_request a, b;

	(void)state;
	for (unsigned round = 0; round < 20; round++)
		for (unsigned i = 0; i < EXPECTS; i++) {
			const struct expect *e = &expect[i];
			size_t n;

			fill_request(&a, e);
			n = proto_encode_request(frame, sizeof(frame), &a);
			if (e->req != K_SECTION)
				assert_int_equal(n, PROTO_HEADER_BYTES + e->req_bytes);
			assert_true(n >= PROTO_HEADER_BYTES + e->req_bytes);
			assert_int_equal(proto_decode_request(frame, n, &b, &sec_out), (long)n);
			same_request(&a, &b, e);
			/* decoding then encoding again gives the same bytes */
			assert_int_equal(proto_encode_request(frame2, sizeof(frame2), &b), n);
			assert_memory_equal(frame, frame2, n);
		}
}

static void test_reply_round_trip(void **state)
{
	static struct proto_reply a, b;

	(void)state;
	for (unsigned round = 0; round < 20; round++)
		for (unsigned i = 0; i < EXPECTS; i++) {
			const struct expect *e = &expect[i];
			size_t n;

			fill_reply(&a, e);
			n = proto_encode_reply(frame, sizeof(frame), &a);
			if (e->rep != V_AVAIL && e->rep != V_SEATS && e->rep < V_HOLD_TOKENS)
				assert_int_equal(n, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES +
							    e->rep_bytes);
			assert_true(n >=
				    PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + e->rep_bytes);
			assert_int_equal(proto_decode_reply(frame, n, &b), (long)n);
			same_reply(&a, &b, e);
			if (e->rep == V_SEATS) /* states point into the frame */
				assert_ptr_equal(b.seats.states, frame + n - b.seats.seat_count);
		}
}

/* proto_encode_cmd and proto_encode_result are the same frames. */
static void test_cmd_and_result_wrappers(void **state)
{
	static struct proto_request a, b;
	static struct proto_reply r, s;
	size_t n;

	(void)state;
	fill_request(&a, ex(PROTO_OP_HOLD)); /* HOLD */
	a.cmd.type = CMD_HOLD;
	n = proto_encode_cmd(frame, sizeof(frame), a.request_id, &a.cmd);
	assert_int_equal(n, PROTO_HEADER_BYTES + 128);
	assert_int_equal(proto_decode_request(frame, n, &b, &sec_out), (long)n);
	same_request(&a, &b, ex(PROTO_OP_HOLD));

	a.cmd.type = CMD_HOLD_EXPIRE; /* internal: no opcode */
	assert_int_equal(proto_encode_cmd(frame, sizeof(frame), 1, &a.cmd), 0);

	fill_reply(&r, ex(PROTO_OP_REDEEM)); /* REDEEM */
	r.res.status = ST_TICKET_ALREADY_REDEEMED;
	n = proto_encode_result(frame, sizeof(frame), r.request_id, PROTO_OP_REDEEM, &r.res);
	assert_int_equal(n, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + 72);
	assert_int_equal(proto_decode_reply(frame, n, &s), (long)n);
	r.bad_reason = 0;
	same_reply(&r, &s, ex(PROTO_OP_REDEEM));
}

/* proto_encode_result packs a result where it lies; byte for byte the
 * frame proto_encode_reply makes from a proto_reply holding it. */
static void test_result_same_bytes_as_reply(void **state)
{
	static struct proto_reply a;

	(void)state;
	for (unsigned round = 0; round < 20; round++)
		for (unsigned i = 0; i < EXPECTS; i++) {
			const struct expect *e = &expect[i];
			size_t n, m;

			if (!e->cmd_type || e->variant)
				continue; /* hello, ping, stats, seats, tokens: not a result */
			fill_reply(&a, e);
			a.bad_reason = 0;
			if (round % 4 == 3)
				a.res.status = ST_SOLD_OUT; /* refusals too */
			n = proto_encode_reply(frame, sizeof(frame), &a);
			m = proto_encode_result(frame2, sizeof(frame2), a.request_id, a.opcode,
						&a.res);
			assert_true(n > 0);
			assert_int_equal(m, n);
			assert_memory_equal(frame2, frame, n);
			assert_int_equal(proto_encode_result(frame2, n - 1, a.request_id, a.opcode,
							     &a.res),
					 0);
		}
}

/* Server statuses carry the reply head alone, whatever the opcode. */
static void test_server_status_reply_is_head_only(void **state)
{
	static struct proto_reply a, b;
	static const enum status server_st[] = {ST_UNAUTHENTICATED, ST_FORBIDDEN, ST_BAD_FRAME,
						ST_OVERLOADED,      ST_INTERNAL,  ST_UNAVAILABLE,
						ST_OUTCOME_UNKNOWN, ST_DISK_FULL};
	size_t n;

	(void)state;
	for (unsigned i = 0; i < sizeof server_st / sizeof server_st[0]; i++) {
		assert_true(proto_status_is_server(server_st[i]));
		fill_reply(&a, ex(PROTO_OP_HOLD));
		a.res.status = server_st[i];
		n = proto_encode_reply(frame, sizeof(frame), &a);
		assert_int_equal(n, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
		assert_int_equal(proto_decode_reply(frame, n, &b), (long)n);
		assert_int_equal(b.res.status, server_st[i]);
		assert_int_equal(b.res.hold.hold_id, 0);
	}
	assert_false(proto_status_is_server(ST_OK));
	assert_false(proto_status_is_server(ST_TICKET_REDEEMED));

	n = proto_encode_bad_frame(frame, sizeof(frame), 77, 0x3f, PROTO_BAD_OPCODE);
	assert_int_equal(n, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
	assert_int_equal(proto_decode_reply(frame, n, &b), (long)n);
	assert_int_equal(b.res.status, ST_BAD_FRAME);
	assert_int_equal(b.bad_reason, PROTO_BAD_OPCODE);
	assert_int_equal(b.request_id, 77);
	assert_int_equal(b.opcode, 0x3f);
}

/* The documented bytes: header fields and a HOLD body at their offsets. */
static void test_golden_bytes(void **state)
{
	static struct proto_request a;
	static const uint8_t head[PROTO_HEADER_BYTES] = {
		'O', 'N', 'S', 'L', 1,    0x0a, 0,    0,    128,  0,    0,    0,
		0,   0,   0,   0,   0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
	};
	const uint8_t *body = frame + PROTO_HEADER_BYTES;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.opcode = PROTO_OP_HOLD;
	a.request_id = 0x0102030405060708ull;
	a.cmd.hold = (struct cmd_hold){.event_id = 0x11223344,
				       .tier = 5,
				       .mode = HOLD_SEATS,
				       .qty = 2,
				       .channel = CHANNEL_KIOSK,
				       .code_len = 3,
				       .ttl_ms = 60000,
				       .customer_id = 0xaabbccddeeff0011ull,
				       .idem_key = 9,
				       .seats = {0x100, 0x20304},
				       .code = "abc"};
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), PROTO_HEADER_BYTES + 128);
	assert_memory_equal(frame, head, sizeof(head));
	assert_memory_equal(body, "\x44\x33\x22\x11\x05\x01\x02\x02\x00\x03", 10);
	assert_memory_equal(body + 12, "\x60\xea\x00\x00", 4);
	assert_memory_equal(body + 16, "\x11\x00\xff\xee\xdd\xcc\xbb\xaa", 8);
	assert_int_equal(body[24], 9);
	assert_memory_equal(body + 32, "abc\0", 4);
	assert_memory_equal(body + 64, "\x00\x01\x00\x00\x04\x03\x02\x00", 8);
}

/* EVENT_RETIRE: opcode 6, the 16-byte query body with the event id; a
 * Q_EVENT reply from a retired event's summary says so at body byte 162. */
static void test_retire_bytes(void **state)
{
	static struct proto_request b;
	static struct proto_reply rep;
	struct cmd c = {.type = CMD_EVENT_RETIRE};
	struct result res;
	const uint8_t *body = frame + PROTO_HEADER_BYTES;

	(void)state;
	c.query.event_id = 0x11223344;
	assert_int_equal(proto_op_of_cmd(CMD_EVENT_RETIRE), PROTO_OP_EVENT_RETIRE);
	assert_int_equal(proto_encode_cmd(frame, sizeof(frame), 7, &c), PROTO_HEADER_BYTES + 16);
	assert_int_equal(frame[5], 0x06);
	assert_memory_equal(body, "\x44\x33\x22\x11\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES + 16, &b, &sec_in),
			 PROTO_HEADER_BYTES + 16);
	assert_int_equal(b.cmd.type, CMD_EVENT_RETIRE);
	assert_int_equal(b.cmd.query.event_id, 0x11223344);
	assert_true(proto_role_allows(PROTO_ROLE_ADMIN, PROTO_OP_EVENT_RETIRE));
	assert_false(proto_role_allows(PROTO_ROLE_PLATFORM, PROTO_OP_EVENT_RETIRE));
	assert_string_equal(proto_op_name(PROTO_OP_EVENT_RETIRE), "event_retire");
	/* the reply is the head alone, also when refused */
	memset(&res, 0, sizeof(res));
	res.status = ST_EVENT_HOLDS_LIVE;
	assert_int_equal(proto_encode_result(frame, sizeof(frame), 7, PROTO_OP_EVENT_RETIRE, &res),
			 PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES);
	assert_int_equal(frame[12], ST_EVENT_HOLDS_LIVE);
	/* the event view's retired byte */
	memset(&res, 0, sizeof(res));
	res.event.retired = 1;
	res.event.section_count = 0x0102;
	assert_int_equal(proto_encode_result(frame, sizeof(frame), 7, PROTO_OP_Q_EVENT, &res),
			 PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + 168);
	body = frame + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES;
	assert_memory_equal(body + 160, "\x02\x01\x01\0\0\0\0\0", 8);
	assert_true(proto_decode_reply(frame, sizeof(frame), &rep) > 0);
	assert_int_equal(rep.res.event.retired, 1);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (unsigned i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A valid PING request with id 42 in frame; returns its length. */
static size_t ping(void)
{
	struct proto_request r = {.request_id = 42, .opcode = PROTO_OP_PING};

	return proto_encode_request(frame, sizeof(frame), &r);
}

static void test_bad_header(void **state)
{
	struct proto_request r;
	size_t n;

	(void)state;
	n = ping();
	frame[0] = 'X'; /* one byte is enough to know */
	assert_int_equal(proto_decode_request(frame, 1, &r, &sec_out), -PROTO_BAD_MAGIC);
	assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), -PROTO_BAD_MAGIC);
	assert_int_equal(r.request_id, 0);
	n = ping();
	frame[3] = 'M';
	assert_int_equal(proto_decode_request(frame, 4, &r, &sec_out), -PROTO_BAD_MAGIC);
	n = ping();
	frame[4] = PROTO_VERSION + 1;
	assert_int_equal(proto_decode_request(frame, 5, &r, &sec_out), -PROTO_BAD_VERSION);
	n = ping();
	frame[6] = PROTO_F_REPLY; /* a reply sent as a request */
	assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), -PROTO_BAD_FLAGS);
	assert_int_equal(r.request_id, 42);
	n = ping(); /* and a request where a reply was due */
	{
		struct proto_reply rep;

		assert_int_equal(proto_decode_reply(frame, n, &rep), -PROTO_BAD_FLAGS);
	}
}

static void test_bad_opcode(void **state)
{
	static const uint8_t bad_ops[] = {
		0, CMD_HOLD_EXPIRE, CMD_STOCK_OUT, CMD_STOCK_IN, 0x38, 0x3f, 0x40, 0xff};
	struct proto_request r;

	(void)state;
	for (unsigned i = 0; i < sizeof(bad_ops); i++) {
		size_t n = ping();

		frame[5] = bad_ops[i];
		assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), -PROTO_BAD_OPCODE);
		assert_int_equal(r.opcode, bad_ops[i]);
		assert_int_equal(r.request_id, 42);
		assert_false(proto_role_allows(PROTO_ROLE_ADMIN, bad_ops[i]));
	}
}

static void test_too_long(void **state)
{
	struct proto_request r;

	(void)state;
	ping();
	put32(frame + 8, PROTO_BODY_BYTES_MAX + 1); /* refused from the header alone */
	assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES, &r, &sec_out),
			 -PROTO_BAD_TOO_LONG);
	put32(frame + 8, UINT32_MAX);
	assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES, &r, &sec_out),
			 -PROTO_BAD_TOO_LONG);
}

/* A body length other than the opcode's is refused from the header. */
static void test_bad_body_length(void **state)
{
	static struct proto_request a, b;

	(void)state;
	for (unsigned i = 0; i < EXPECTS; i++) {
		const struct expect *e = &expect[i];

		if (e->req == K_SECTION)
			continue;
		fill_request(&a, e);
		proto_encode_request(frame, sizeof(frame), &a);
		put32(frame + 8, e->req_bytes + 1);
		assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES, &b, &sec_out),
				 -PROTO_BAD_BODY_LENGTH);
		if (e->req_bytes == 0)
			continue;
		put32(frame + 8, e->req_bytes - 1);
		assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES, &b, &sec_out),
				 -PROTO_BAD_BODY_LENGTH);
	}
}

/* A small section load in frame: 2 rows of 3 and 2 seats. */
static size_t small_section(void)
{
	static struct proto_request a;

	memset(&a, 0, sizeof(a));
	memset(&sec_in, 0, sizeof(sec_in));
	a.opcode = PROTO_OP_SECTION_LOAD;
	a.cmd.section.row_count = 2;
	sec_in.rows[0].seat_count = 3;
	sec_in.rows[1].seat_count = 2;
	sec_in.seats[4].rank = 7;
	a.cmd.section.rows = sec_in.rows;
	a.cmd.section.seats = sec_in.seats;
	return proto_encode_request(frame, sizeof(frame), &a);
}

static void test_bad_section(void **state)
{
	uint8_t *body = frame + PROTO_HEADER_BYTES;
	struct proto_request r;
	size_t n;

	(void)state;
	n = small_section();
	assert_int_equal(n, PROTO_HEADER_BYTES + 64 + 2 * 12 + 5 * 4);
	assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), (long)n);
	assert_int_equal(r.cmd.section.seats[4].rank, 7);
	assert_ptr_equal(r.cmd.section.rows, sec_out.rows);

	put32(body + 8, 6); /* seat_count says 6, rows sum to 5 */
	put32(frame + 8, (uint32_t)(n - PROTO_HEADER_BYTES + 4));
	frame[n] = frame[n + 1] = frame[n + 2] = frame[n + 3] = 0;
	assert_int_equal(proto_decode_request(frame, n + 4, &r, &sec_out), -PROTO_BAD_BODY);

	n = small_section();
	put32(frame + 8, (uint32_t)(n - PROTO_HEADER_BYTES - 1)); /* body one byte short */
	assert_int_equal(proto_decode_request(frame, n - 1, &r, &sec_out), -PROTO_BAD_BODY_LENGTH);
	put32(frame + 8, 63); /* shorter than the section head: known from the header */
	assert_int_equal(proto_decode_request(frame, PROTO_HEADER_BYTES, &r, &sec_out),
			 -PROTO_BAD_BODY_LENGTH);

	n = small_section();
	body[6] = (SECTION_ROWS_MAX + 1) & 0xff, body[7] = (SECTION_ROWS_MAX + 1) >> 8;
	assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), -PROTO_BAD_BODY);
	n = small_section();
	put32(body + 8, SECTION_SEATS_MAX + 1);
	assert_int_equal(proto_decode_request(frame, n, &r, &sec_out), -PROTO_BAD_BODY);
}

/* A hold view's seat slots past qty are zero on the wire (PROTOCOL.md), by
 * both encoders, though the core keeps SEAT_NONE there; a GA hold keeps
 * SEAT_NONE in its first qty slots. */
static void test_hold_view_unused_seats_zero(void **state)
{
	static struct proto_reply a;
	struct result res;
	const uint8_t *seats = frame + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + 56;
	size_t n;

	(void)state;
	memset(&res, 0, sizeof(res));
	res.status = ST_OK;
	res.hold.qty = 2;
	memset(res.hold.seats, 0xff, sizeof(res.hold.seats));
	res.hold.seats[0] = 7, res.hold.seats[1] = 8;
	for (int by_result = 0; by_result < 2; by_result++) {
		memset(frame, 0xee, 512);
		a = (struct proto_reply){.opcode = PROTO_OP_Q_HOLD, .res = res};
		n = by_result ? proto_encode_result(frame, sizeof(frame), 1, PROTO_OP_Q_HOLD, &res)
			      : proto_encode_reply(frame, sizeof(frame), &a);
		assert_int_equal(n, PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES + 152);
		assert_int_equal(seats[0], 7);
		assert_int_equal(seats[4], 8);
		for (unsigned i = 8; i < 4 * PROTO_HOLD_SEATS; i++)
			assert_int_equal(seats[i], 0);
	}
	res.hold.qty = 3; /* GA: SEAT_NONE in the used slots */
	memset(res.hold.seats, 0xff, sizeof(res.hold.seats));
	n = proto_encode_result(frame, sizeof(frame), 1, PROTO_OP_HOLD, &res);
	for (unsigned i = 0; i < 4 * PROTO_HOLD_SEATS; i++)
		assert_int_equal(seats[i], i < 12 ? 0xff : 0);
}

/* A row over ROW_SEATS_MAX is a count over a limit: a bad frame (reason 7),
 * decoded or encoded, while a row of exactly ROW_SEATS_MAX is fine. */
static void test_section_row_too_long(void **state)
{
	static struct proto_request a;
	struct proto_request r;
	long n;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(&sec_in, 0, sizeof(sec_in));
	a.opcode = PROTO_OP_SECTION_LOAD;
	a.cmd.section.row_count = 1;
	a.cmd.section.rows = sec_in.rows;
	a.cmd.section.seats = sec_in.seats;
	sec_in.rows[0].seat_count = ROW_SEATS_MAX;
	n = (long)proto_encode_request(frame, sizeof(frame), &a);
	assert_int_equal(n, PROTO_HEADER_BYTES + 64 + 12 + ROW_SEATS_MAX * 4);
	assert_int_equal(proto_decode_request(frame, (size_t)n, &r, &sec_out), n);

	/* the same frame with one more seat in the row and in the count */
	uint8_t *body = frame + PROTO_HEADER_BYTES;
	put32(frame + 8, (uint32_t)(n + 4 - PROTO_HEADER_BYTES));
	put32(body + 8, ROW_SEATS_MAX + 1);
	body[64 + 8] = (ROW_SEATS_MAX + 1) & 0xff, body[64 + 9] = (ROW_SEATS_MAX + 1) >> 8;
	memset(frame + n, 0, 4);
	assert_int_equal(proto_decode_request(frame, (size_t)n + 4, &r, &sec_out), -PROTO_BAD_BODY);

	sec_in.rows[0].seat_count = ROW_SEATS_MAX + 1;
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), 0);
}

static void test_bad_reply_bodies(void **state)
{
	static struct proto_reply a, b;
	uint8_t *body = frame + PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES;
	size_t n;

	(void)state;
	fill_reply(&a, ex(PROTO_OP_HOLD)); /* HOLD view, qty over the limit */
	a.res.status = ST_OK;
	n = proto_encode_reply(frame, sizeof(frame), &a);
	body[55] = HOLD_UNITS_MAX + 1;
	assert_int_equal(proto_decode_reply(frame, n, &b), -PROTO_BAD_BODY);

	fill_reply(&a, ex(PROTO_OP_Q_AVAILABILITY)); /* availability: tier_count over the limit */
	a.res.status = ST_OK;
	a.res.avail.tier_count = 1;
	n = proto_encode_reply(frame, sizeof(frame), &a);
	assert_int_equal(proto_decode_reply(frame, n, &b), (long)n);
	body[4] = TIERS_MAX + 1;
	assert_int_equal(proto_decode_reply(frame, n, &b), -PROTO_BAD_BODY);
	body[4] = 2; /* says two tiers, carries one */
	assert_int_equal(proto_decode_reply(frame, n, &b), -PROTO_BAD_BODY_LENGTH);

	fill_reply(&a, ex(PROTO_OP_Q_SECTION_SEATS)); /* seat states: count over the limit */
	a.res.status = ST_OK;
	n = proto_encode_reply(frame, sizeof(frame), &a);
	put32(body + 4, SECTION_SEATS_MAX + 1);
	assert_int_equal(proto_decode_reply(frame, n, &b), -PROTO_BAD_BODY);

	n = proto_encode_bad_frame(frame, sizeof(frame), 1, PROTO_OP_HOLD, PROTO_BAD_MAGIC);
	put32(frame + 8, PROTO_REPLY_HEAD_BYTES + 152); /* a server status with a body */
	assert_int_equal(proto_decode_reply(frame, n + 152, &b), -PROTO_BAD_BODY_LENGTH);
	put32(frame + 8, 4); /* no room for the reply head */
	assert_int_equal(proto_decode_reply(frame, n, &b), -PROTO_BAD_BODY_LENGTH);
}

static void test_encode_refusals(void **state)
{
	static struct proto_request a;
	static struct proto_reply r;
	size_t n;

	(void)state;
	n = ping();
	assert_int_equal(n, PROTO_HEADER_BYTES);
	assert_int_equal(proto_encode_request(frame, n - 1,
					      &(struct proto_request){.opcode = PROTO_OP_PING}),
			 0);
	fill_request(&a, ex(PROTO_OP_HOLD));
	assert_int_equal(proto_encode_request(frame, PROTO_HEADER_BYTES + 127, &a), 0);
	assert_int_equal(proto_encode_request(frame, PROTO_HEADER_BYTES + 128, &a),
			 PROTO_HEADER_BYTES + 128);
	a.opcode = CMD_HOLD_EXPIRE;
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), 0);

	fill_request(&a, ex(PROTO_OP_SECTION_LOAD)); /* sections over the limits */
	a.cmd.section.row_count = SECTION_ROWS_MAX + 1;
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), 0);
	fill_section(&a.cmd.section, 1);
	sec_in.rows[0].seat_count = SECTION_SEATS_MAX + 1;
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), 0);
	a.cmd.section.rows = NULL;
	assert_int_equal(proto_encode_request(frame, sizeof(frame), &a), 0);

	fill_reply(&r, ex(PROTO_OP_Q_AVAILABILITY));
	r.res.status = ST_OK;
	r.res.avail.tier_count = TIERS_MAX + 1;
	assert_int_equal(proto_encode_reply(frame, sizeof(frame), &r), 0);
	r.opcode = 0x3f; /* unknown opcode with a core status */
	r.res.avail.tier_count = 0;
	assert_int_equal(proto_encode_reply(frame, sizeof(frame), &r), 0);
}

/* Every prefix of a frame asks for more; the whole frame decodes. */
static void test_incremental_prefixes(void **state)
{
	static struct proto_request a, b;

	(void)state;
	for (unsigned i = 0; i < EXPECTS; i++) {
		size_t n;

		fill_request(&a, &expect[i]);
		if (expect[i].req == K_SECTION)
			fill_section(&a.cmd.section, 3);
		n = proto_encode_request(frame, sizeof(frame), &a);
		for (size_t k = 0; k < n; k++)
			assert_int_equal(proto_decode_request(frame, k, &b, &sec_out), 0);
		assert_int_equal(proto_decode_request(frame, n, &b, &sec_out), (long)n);
		same_request(&a, &b, &expect[i]);
	}
}

/* Many frames back to back, received in random pieces, decode in order. */
static void test_incremental_stream(void **state)
{
	static struct proto_request a, b;
	static uint8_t stream[1 << 16], rx[PROTO_FRAME_BYTES_MAX];
	size_t len = 0, sent = 0, have = 0;
	unsigned frames = 0, decoded = 0;

	(void)state;
	while (len + PROTO_HEADER_BYTES + 200 < sizeof(stream)) { /* small frames only */
		const struct expect *e = &expect[frames % EXPECTS];

		if (e->req == K_SECTION)
			e = ex(PROTO_OP_HOLD);
		fill_request(&a, e);
		a.request_id = frames++;
		len += proto_encode_request(stream + len, sizeof(stream) - len, &a);
	}
	while (sent < len || have > 0) {
		size_t piece = 1 + rnd() % 97;
		long rc;

		piece = piece > len - sent ? len - sent : piece;
		memcpy(rx + have, stream + sent, piece);
		have += piece, sent += piece;
		while ((rc = proto_decode_request(rx, have, &b, &sec_out)) > 0) {
			assert_int_equal(b.request_id, decoded++);
			memmove(rx, rx + rc, have - (size_t)rc);
			have -= (size_t)rc;
		}
		assert_int_equal(rc, 0);
		if (sent == len)
			assert_int_equal(have, 0);
	}
	assert_int_equal(decoded, frames);
	assert_true(frames > 100);
}

/* Replies split the same way: a partial reply is never mistaken for one. */
static void test_incremental_reply(void **state)
{
	static struct proto_reply a, b;

	(void)state;
	fill_reply(&a, ex(PROTO_OP_Q_SECTION_SEATS)); /* seat states, a counted tail */
	a.res.status = ST_OK;
	a.seats.seat_count = 300;
	size_t n = proto_encode_reply(frame, sizeof(frame), &a);

	for (size_t k = 0; k < n; k++)
		assert_int_equal(proto_decode_reply(frame, k, &b), 0);
	assert_int_equal(proto_decode_reply(frame, n, &b), (long)n);
	same_reply(&a, &b, ex(PROTO_OP_Q_SECTION_SEATS));
}

static void test_role_matrix(void **state)
{
	(void)state;
	for (unsigned i = 0; i < EXPECTS; i++)
		for (unsigned role = 0; role < PROTO_ROLES; role++)
			assert_int_equal(proto_role_allows((enum proto_role)role, expect[i].op),
					 (expect[i].roles >> role) & 1u);
	/* before HELLO, nothing else */
	for (unsigned op = 0; op < 256; op++)
		assert_int_equal(proto_role_allows(PROTO_ROLE_NONE, (uint8_t)op),
				 op == PROTO_OP_HELLO);
	assert_false(proto_role_allows((enum proto_role)PROTO_ROLES, PROTO_OP_PING));
	assert_false(proto_role_allows((enum proto_role) - 1, PROTO_OP_PING));
	/* box office may do all the platform may */
	for (unsigned op = 0; op < 256; op++)
		if (proto_role_allows(PROTO_ROLE_PLATFORM, (uint8_t)op))
			assert_true(proto_role_allows(PROTO_ROLE_BOX_OFFICE, (uint8_t)op));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(proto_op_name(PROTO_OP_HOLD), "hold");
	assert_string_equal(proto_op_name(0), "unknown");
	assert_string_equal(proto_bad_name(PROTO_BAD_MAGIC), "bad_magic");
	assert_string_equal(proto_bad_name(PROTO_BAD_BODY), "bad_body");
	assert_string_equal(proto_bad_name((enum proto_bad)0), "unknown");
	assert_string_equal(proto_bad_name((enum proto_bad)99), "unknown");
	assert_string_equal(proto_role_name(PROTO_ROLE_BOX_OFFICE), "box_office");
	assert_string_equal(proto_role_name((enum proto_role)9), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_sound),
		cmocka_unit_test(test_opcode_set),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_reply_round_trip),
		cmocka_unit_test(test_cmd_and_result_wrappers),
		cmocka_unit_test(test_result_same_bytes_as_reply),
		cmocka_unit_test(test_server_status_reply_is_head_only),
		cmocka_unit_test(test_golden_bytes),
		cmocka_unit_test(test_retire_bytes),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_opcode),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_bad_body_length),
		cmocka_unit_test(test_bad_section),
		cmocka_unit_test(test_section_row_too_long),
		cmocka_unit_test(test_hold_view_unused_seats_zero),
		cmocka_unit_test(test_bad_reply_bodies),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_incremental_prefixes),
		cmocka_unit_test(test_incremental_stream),
		cmocka_unit_test(test_incremental_reply),
		cmocka_unit_test(test_role_matrix),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
