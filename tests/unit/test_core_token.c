/*
 * test_core_token.c — ticket tokens: a signed token verifies and gives back
 * its claims; a forged byte, a wrong key or a bad header is refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/token.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sign_and_verify),
		cmocka_unit_test(deterministic),
		cmocka_unit_test(every_flipped_byte_refused),
		cmocka_unit_test(other_key_refused),
	};
	uint8_t seed[32] = { 1, 2, 3 };

	if (sodium_init() < 0)
		return 1;
	token_keypair_from_seed(seed, pk, sk);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
