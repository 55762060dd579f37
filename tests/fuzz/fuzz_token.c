/*
 * fuzz_token.c — libFuzzer target for ticket tokens (core/token.c).
 *
 * Gate scanners verify tokens read from whatever a visitor holds up, so
 * token_check takes any 96 bytes (or any text). Raw inputs (first byte's top bit
 * clear) are verified as they are: they must not crash, and a token that
 * verifies (the corpus holds some signed with the harness's key) gives the
 * claims its bytes say. Structured inputs (top bit set) are
 * claims: the harness signs them with its key, the token must verify to the
 * same claims, and the same token with one bit flipped (which bit: from
 * the input) must not.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "core/bytes.h"
#include "core/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define KEY_ID 7u

static struct token_signer signer = {.key_id = KEY_ID};
static struct token_keys keyring;

static void check(int ok)
{
	if (!ok)
		abort();
}

static void keys(void)
{
	static int done;
	static const uint8_t seed[32] = {"onsale fuzz token key seed 0123"};
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES];

	if (done)
		return;
	check(sodium_init() >= 0);
	token_keypair_from_seed(seed, pk, signer.sk);
	check(token_keys_add(&keyring, KEY_ID, pk) == 0);
	done = 1;
}

static bool same(const struct token_claims *a, const struct token_claims *b)
{
	return a->tier == b->tier && a->event_id == b->event_id && a->ticket_id == b->ticket_id &&
	       a->seat == b->seat && a->valid_from_s == b->valid_from_s &&
	       a->valid_until_s == b->valid_until_s;
}

/* Claims from the input, signed: the token verifies to them, its text form
 * reads back to it, and with one bit flipped it does not verify. */
static void structured(const uint8_t *data, size_t size)
{
	struct ticket_view v = {0};
	struct token_claims c, got;
	uint8_t token[TOKEN_BYTES], back[TOKEN_BYTES];
	char text[TOKEN_TEXT_CHARS + 1];
	unsigned bit;

	if (size < 32)
		return;
	v.tier = data[1];
	v.event_id = get_u32(data + 2);
	v.ticket_id = get_u64(data + 6);
	v.order_id = get_u64(data + 14);
	v.seat = get_u32(data + 22);
	bit = get_u16(data + 26) % (TOKEN_BYTES * 8);
	token_claims_of(&v, (uint64_t)get_u32(data + 28) * 1000u, KEY_ID, &c);
	token_sign(&signer, &c, token);
	check(token_check(&keyring, token, 0, 0, &got) == ST_OK && same(&c, &got));
	check(token_to_text(token, text) == TOKEN_TEXT_CHARS);
	check(token_from_text(text, TOKEN_TEXT_CHARS, back) == 0 &&
	      !memcmp(back, token, TOKEN_BYTES));
	token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	check(token_check(&keyring, token, 0, 0, &got) != ST_OK);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims c, d;
	uint8_t *token;

	keys();
	if (size > 0 && (data[0] & 0x80)) {
		structured(data, size);
		return 0;
	}
	if (size != TOKEN_BYTES) { /* as text, from a QR code */
		uint8_t tok[TOKEN_BYTES];
		if (token_from_text((const char *)data, size, tok) == 0)
			(void)token_check(&keyring, tok, 0, 0, &c);
		return 0;
	}
	token = malloc(TOKEN_BYTES); /* exactly: ASan sees a read past it */
	check(token != NULL);
	memcpy(token, data, TOKEN_BYTES);
	if (token_check(&keyring, token, 0, 0, &c) == ST_OK)
		check(token_decode(token, &d) == 0 && same(&c, &d));
	free(token);
	return 0;
}
