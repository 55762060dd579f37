/*
 * test_core_token.c — e-ticket tokens: a signed token verifies and gives
 * back its claims; every single-bit flip, a wrong or retired key, another
 * event and a time outside the window are refused with their own status;
 * base64url text round-trips; rotation keeps old key ids verifying until
 * they are retired; tokens of real tickets name them, also when ticket
 * slots are reused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "core/bytes.h"
#include "core/token.h"
#include "tests/support/fixture.h"

#define STARTS_MS 1900000000000ull /* 2030-03-17 */
#define HOUR_MS (60ull * 60 * 1000)

static struct token_signer signer = {.key_id = 7};
static struct token_keys keys;

static const struct ticket_view ticket = {
	.ticket_id = 0x0100000000000007ull,
	.order_id = 0x0100000000000003ull,
	.event_id = 42,
	.seat = 1234,
	.tier = 3,
};

static void sign_ticket(const struct token_signer *s, const struct ticket_view *t,
			uint64_t starts_ms, uint8_t tok[TOKEN_BYTES])
{
	struct token_claims cl;
	token_claims_of(t, starts_ms, s->key_id, &cl);
	token_sign(s, &cl, tok);
}

static void sign_and_verify(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_OK);
	assert_int_equal(cl.version, 2);
	assert_int_equal(cl.event_id, 42);
	assert_int_equal(cl.ticket_id, ticket.ticket_id);
	assert_int_equal(cl.seat, 1234);
	assert_int_equal(cl.tier, 3);
	assert_int_equal(cl.key_id, 7);
	assert_int_equal(cl.valid_from_s, (STARTS_MS - TOKEN_VALID_BEFORE_START_MS) / 1000);
	assert_int_equal(cl.valid_until_s, (STARTS_MS + TOKEN_VALID_AFTER_START_MS) / 1000);
	assert_int_equal(token_check(&keys, tok, 0, 0, &cl), ST_OK); /* any event, no clock */
}

static void deterministic(void **state)
{
	uint8_t a[TOKEN_BYTES], b[TOKEN_BYTES];

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, a);
	sign_ticket(&signer, &ticket, STARTS_MS, b);
	assert_memory_equal(a, b, TOKEN_BYTES);
}

static void every_flipped_bit_refused(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	for (unsigned bit = 0; bit < TOKEN_BYTES * 8; bit++) {
		tok[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		enum status st = token_check(&keys, tok, 0, 0, &cl);
		if (st != ST_TOKEN_INVALID && st != ST_TOKEN_KEY_UNKNOWN)
			fail_msg("bit %u flipped: %s", bit, status_name(st));
		tok[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	assert_int_equal(token_check(&keys, tok, 0, 0, &cl), ST_OK);
}

static void text_round_trip(void **state)
{
	uint8_t tok[TOKEN_BYTES], back[TOKEN_BYTES];
	char text[TOKEN_TEXT_CHARS + 1], padded[TOKEN_TEXT_CHARS + 8];

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	assert_int_equal(token_to_text(tok, text), TOKEN_TEXT_CHARS);
	assert_int_equal(strlen(text), TOKEN_TEXT_CHARS);
	assert_int_equal(strspn(text, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				      "0123456789-_"),
			 TOKEN_TEXT_CHARS);
	assert_int_equal(token_from_text(text, strlen(text), back), 0);
	assert_memory_equal(tok, back, TOKEN_BYTES);
	snprintf(padded, sizeof padded, " %s\n", text);
	assert_int_equal(token_from_text(padded, strlen(padded), back), 0);
	assert_memory_equal(tok, back, TOKEN_BYTES);
	assert_int_equal(token_from_text(text, TOKEN_TEXT_CHARS - 1, back), -1); /* short */
	text[5] = '+'; /* standard base64, not url-safe */
	assert_int_equal(token_from_text(text, TOKEN_TEXT_CHARS, back), -1);
	text[5] = '*';
	assert_int_equal(token_from_text(text, TOKEN_TEXT_CHARS, back), -1);
}

static void other_key_refused(void **state)
{
	uint8_t tok[TOKEN_BYTES], seed[TOKEN_SEED_BYTES] = {9}, pk2[TOKEN_PUBLIC_KEY_BYTES];
	struct token_signer other = {.key_id = 7}; /* our key id, not our key */
	struct token_keys theirs = {0};
	struct token_claims cl;

	(void)state;
	token_keypair_from_seed(seed, pk2, other.sk);
	sign_ticket(&other, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_TOKEN_INVALID);
	other.key_id = 99; /* a key id we never had */
	sign_ticket(&other, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_TOKEN_KEY_UNKNOWN);
	assert_int_equal(token_keys_add(&theirs, 99, pk2), 0);
	assert_int_equal(token_check(&theirs, tok, 42, STARTS_MS, &cl), ST_OK);
}

static void other_event_refused(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check(&keys, tok, 43, STARTS_MS, &cl), ST_TOKEN_OTHER_EVENT);
	assert_int_equal(cl.event_id, 42);
}

static void window(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;
	const uint64_t from = STARTS_MS - TOKEN_VALID_BEFORE_START_MS;
	const uint64_t until = STARTS_MS + TOKEN_VALID_AFTER_START_MS;

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check(&keys, tok, 42, from - 1000, &cl), ST_TOKEN_NOT_YET_VALID);
	assert_int_equal(token_check(&keys, tok, 42, from, &cl), ST_OK);
	assert_int_equal(token_check(&keys, tok, 42, until + 999, &cl), ST_OK);
	assert_int_equal(token_check(&keys, tok, 42, until + 1000, &cl), ST_TOKEN_EXPIRED);
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS + 30 * 24 * HOUR_MS, &cl),
			 ST_TOKEN_EXPIRED);
	/* an event without a start time: no window */
	sign_ticket(&signer, &ticket, 0, tok);
	assert_int_equal(token_check(&keys, tok, 42, 1, &cl), ST_OK);
	assert_int_equal(token_check(&keys, tok, 42, UINT64_MAX / 2, &cl), ST_OK);
	assert_int_equal(cl.valid_from_s, 0);
	assert_int_equal(cl.valid_until_s, TOKEN_UNTIL_NONE);
}

/* A rotation adds key 8 and signs with it; tokens of key 7 verify until 7
 * is retired (left out of the set), then they are refused as unknown. */
static void rotation(void **state)
{
	uint8_t old_tok[TOKEN_BYTES], new_tok[TOKEN_BYTES], seed[TOKEN_SEED_BYTES] = {8};
	uint8_t pk8[TOKEN_PUBLIC_KEY_BYTES];
	struct token_signer next = {.key_id = 8};
	struct token_keys set = keys, retired = {0};
	struct token_claims cl;

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, old_tok);
	token_keypair_from_seed(seed, pk8, next.sk);
	assert_int_equal(token_keys_add(&set, 8, pk8), 0);
	assert_int_equal(token_keys_add(&set, 8, pk8), -1); /* once */
	sign_ticket(&next, &ticket, STARTS_MS, new_tok);
	assert_int_equal(token_check(&set, new_tok, 42, STARTS_MS, &cl), ST_OK);
	assert_int_equal(cl.key_id, 8);
	assert_int_equal(token_check(&set, old_tok, 42, STARTS_MS, &cl), ST_OK);
	assert_int_equal(cl.key_id, 7);
	assert_int_equal(token_keys_add(&retired, 8, pk8), 0);
	assert_int_equal(token_check(&retired, old_tok, 42, STARTS_MS, &cl), ST_TOKEN_KEY_UNKNOWN);
	assert_int_equal(token_check(&retired, new_tok, 42, STARTS_MS, &cl), ST_OK);
}

/* A scanner's copy of the revocation list refuses a real token offline. */
static void revoked_offline(void **state)
{
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl;
	const uint64_t none[1] = {0};
	const uint64_t list[] = {3, ticket.ticket_id - 1, ticket.ticket_id, UINT64_MAX};
	const uint64_t others[] = {3, ticket.ticket_id - 1, ticket.ticket_id + 1};

	(void)state;
	sign_ticket(&signer, &ticket, STARTS_MS, tok);
	assert_int_equal(token_check_revoked(&keys, tok, 42, STARTS_MS, none, 0, &cl), ST_OK);
	assert_int_equal(token_check_revoked(&keys, tok, 42, STARTS_MS, list, 4, &cl),
			 ST_TOKEN_REVOKED);
	assert_int_equal(token_check_revoked(&keys, tok, 42, STARTS_MS, others, 3, &cl), ST_OK);
	tok[50] ^= 4; /* forged comes first */
	assert_int_equal(token_check_revoked(&keys, tok, 42, STARTS_MS, list, 4, &cl),
			 ST_TOKEN_INVALID);
}

/* onsale-demo's version-1 tokens still read: any key of the set may have
 * signed them, and they have no window. */
static void version1_read(void **state)
{
	uint8_t tok[TOKEN_BYTES] = {'O', 'T', 1, 3};
	struct token_claims cl;

	(void)state;
	put_u32(tok + 4, 42);
	put_u64(tok + 8, ticket.ticket_id);
	put_u64(tok + 16, ticket.order_id);
	put_u32(tok + 24, 1234);
	crypto_sign_detached(tok + TOKEN_SIGNED_BYTES, NULL, tok, TOKEN_SIGNED_BYTES, signer.sk);
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_OK);
	assert_int_equal(cl.version, 1);
	assert_int_equal(cl.key_id, 7);
	assert_int_equal(cl.order_id, ticket.order_id);
	assert_int_equal(cl.seat, 1234);
	tok[40] ^= 1;
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_TOKEN_INVALID);
	tok[2] = 3; /* a version nobody wrote */
	assert_int_equal(token_check(&keys, tok, 42, STARTS_MS, &cl), ST_TOKEN_INVALID);
	assert_int_equal(token_decode(tok, &cl), -1);
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

/* A token names its ticket. When a refunded ticket's slot is
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
	sign_ticket(&signer, &a, 0, tok_old);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, 5, a.ticket_id), ST_OK);
	b = buy_one(f, 2);
	assert_int_equal(fx_ticket_op(f, CMD_REFUND, 5, b.ticket_id), ST_OK);
	c = buy_one(f, 3); /* in a's slot */
	sign_ticket(&signer, &c, 0, tok);
	assert_int_equal(token_check(&keys, tok, 5, 0, &cl), ST_OK);
	assert_int_equal(cl.ticket_id, c.ticket_id);
	assert_int_equal(cl.ticket_id >> 56, 3);
	assert_true(cl.ticket_id != a.ticket_id && cl.ticket_id != b.ticket_id);
	assert_int_equal(token_check(&keys, tok_old, 5, 0, &cl), ST_OK);
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
		cmocka_unit_test(every_flipped_bit_refused),
		cmocka_unit_test(text_round_trip),
		cmocka_unit_test(other_key_refused),
		cmocka_unit_test(other_event_refused),
		cmocka_unit_test(window),
		cmocka_unit_test(rotation),
		cmocka_unit_test(version1_read),
		cmocka_unit_test(revoked_offline),
		cmocka_unit_test(tokens_of_reused_slots),
	};
	uint8_t seed[TOKEN_SEED_BYTES] = {1, 2, 3}, pk[TOKEN_PUBLIC_KEY_BYTES];

	if (sodium_init() < 0)
		return 1;
	token_keypair_from_seed(seed, pk, signer.sk);
	token_keys_add(&keys, signer.key_id, pk);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
