/*
 * test_core_token.c — ticket tokens: a signed token verifies and gives back
 * its claims; a forged byte, a wrong key or a bad header is refused; tokens
 * of real tickets name them, also when ticket slots are reused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/token.h"
#include "tests/support/fixture.h"

static uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], sk[TOKEN_SECRET_KEY_BYTES];

static const struct ticket_view ticket = {
	.ticket_id = 0x0100000000000007ull, .order_id = 0x0100000000000003ull,
	.event_id = 42, .seat = 1234, .tier = 3,
};

static void sign_and_verify(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;

	(void)state;
	token_sign(sk, &ticket, tok);
	assert_int_equal(token_verify(pk, tok, &cl), 0);
	assert_int_equal(cl.event_id, 42);
	assert_int_equal(cl.ticket_id, ticket.ticket_id);
	assert_int_equal(cl.order_id, ticket.order_id);
	assert_int_equal(cl.seat, 1234);
	assert_int_equal(cl.tier, 3);
}

static void deterministic(void **state)
{
	uint8_t a[TOKEN_BYTES], b[TOKEN_BYTES];

	(void)state;
	token_sign(sk, &ticket, a);
	token_sign(sk, &ticket, b);
	assert_memory_equal(a, b, TOKEN_BYTES);
}

static void every_flipped_byte_refused(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;

	(void)state;
	token_sign(sk, &ticket, tok);
	for (unsigned i = 0; i < TOKEN_BYTES; i++) {
		tok[i] ^= 0x20;
		assert_int_equal(token_verify(pk, tok, &cl), -1);
		tok[i] ^= 0x20;
	}
	assert_int_equal(token_verify(pk, tok, &cl), 0);
}

static void other_key_refused(void **state)
{
	uint8_t tok[TOKEN_BYTES], seed[32] = { 9 }, pk2[TOKEN_PUBLIC_KEY_BYTES],
				  sk2[TOKEN_SECRET_KEY_BYTES];
	struct token_claims cl;

	(void)state;
	token_keypair_from_seed(seed, pk2, sk2);
	token_sign(sk2, &ticket, tok);
	assert_int_equal(token_verify(pk, tok, &cl), -1);
	assert_int_equal(token_verify(pk2, tok, &cl), 0);
}

/* Buys one unit on f and returns its ticket's view. */
static struct ticket_view buy_one(struct fx *f, uint64_t customer)
{
	uint64_t first;

	assert_int_equal(fx_hold_ga(f, 5, 0, 1, customer), ST_OK);
	assert_int_equal(fx_confirm(f, 5, f->res.hold.hold_id, 100), ST_OK);
	first = f->res.hold.first_ticket_id;
	assert_int_equal(fx_query(f, CMD_Q_TICKET, 5, first), ST_OK);
	return f->res.ticket;
}

/* A token names its ticket and order. When a refunded ticket's slot is
 * reused, the new ticket's token names a new ticket id, and the old token,
 * still well signed, names an id the shard no longer knows. */
static void tokens_of_reused_slots(void **state)
{
	struct fx *f = fx_new(3);
	uint8_t tok[TOKEN_BYTES], tok_old[TOKEN_BYTES];
	struct ticket_view a, b, c;
	struct token_claims cl;

	(void)state;
	assert_int_equal(fx_event(f, 5, 1, 0), ST_OK); /* 2 ticket slots */
	assert_int_equal(fx_ga_tier(f, 5, 0, 1, 100), ST_OK);
	a = buy_one(f, 1);
	token_sign(sk, &a, tok_old);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, 5, a.ticket_id), ST_OK);
	b = buy_one(f, 2);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, 5, b.ticket_id), ST_OK);
	c = buy_one(f, 3); /* in a's slot */
	token_sign(sk, &c, tok);
	assert_int_equal(token_verify(pk, tok, &cl), 0);
	assert_int_equal(cl.ticket_id, c.ticket_id);
	assert_int_equal(cl.order_id, c.order_id);
	assert_int_equal(cl.ticket_id >> 56, 3);
	assert_true(cl.ticket_id != a.ticket_id && cl.ticket_id != b.ticket_id);
	assert_int_equal(token_verify(pk, tok_old, &cl), 0);
	assert_int_equal(cl.ticket_id, a.ticket_id);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, 5, cl.ticket_id), ST_TICKET_UNKNOWN);
	assert_int_equal(fx_ticket_op(f, CMD_REDEEM, 5, cl.ticket_id), ST_TICKET_UNKNOWN);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_and_verify),
		cmocka_unit_test(deterministic),
		cmocka_unit_test(every_flipped_byte_refused),
		cmocka_unit_test(other_key_refused),
		cmocka_unit_test(tokens_of_reused_slots),
	};
	uint8_t seed[32] = { 1, 2, 3 };

	if (sodium_init() < 0)
		return 1;
	token_keypair_from_seed(seed, pk, sk);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
