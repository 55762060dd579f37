/*
 * fuzz_token.c — libFuzzer target for ticket tokens (core/token.c).
 *
 * Gate scanners verify tokens read from whatever a visitor holds up, so
 * token_verify takes any 96 bytes. Raw inputs (first byte's top bit
 * clear) are verified as they are: they must not crash, and a token that
 * verifies (the corpus holds some signed with the harness's key) gives the
 * claims its bytes say. Structured inputs (top bit set) are
 * claims: the harness signs them with its key, the token must verify to the
 * same claims, and the same token with one bit flipped (which bit: from
 * the input) must not.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "core/bytes.h"
#include "core/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], sk[TOKEN_SECRET_KEY_BYTES];

static void check(int ok)
{
	if (!ok)
		abort();
}

static void keys(void)
{
	static int done;
	static const uint8_t seed[32] = {"onsale fuzz token key seed 0123"};

	if (done)
		return;
	check(sodium_init() >= 0);
	token_keypair_from_seed(seed, pk, sk);
	done = 1;
}

static void structured(const uint8_t *data, size_t size)
{
	struct ticket_view v = {0};
	struct token_claims c;
	uint8_t token[TOKEN_BYTES];
	unsigned bit;

	if (size < 28)
		return;
	v.tier = data[1];
	v.event_id = get_u32(data + 2);
	v.ticket_id = get_u64(data + 6);
	v.order_id = get_u64(data + 14);
	v.seat = get_u32(data + 22);
	bit = get_u16(data + 26) % (TOKEN_BYTES * 8);
	token_sign(sk, &v, token);
	check(token_verify(pk, token, &c) == 0);
	check(c.tier == v.tier && c.event_id == v.event_id && c.ticket_id == v.ticket_id &&
	      c.order_id == v.order_id && c.seat == v.seat);
	token[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	check(token_verify(pk, token, &c) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims c;
	uint8_t *token;

	keys();
	if (size > 0 && (data[0] & 0x80)) {
		structured(data, size);
		return 0;
	}
	if (size != TOKEN_BYTES)
		return 0;
	token = malloc(TOKEN_BYTES); /* exactly: ASan sees a read past it */
	check(token != NULL);
	memcpy(token, data, TOKEN_BYTES);
	if (token_verify(pk, token, &c) == 0)
		check(c.tier == token[3] && c.event_id == get_u32(token + 4) &&
		      c.ticket_id == get_u64(token + 8) && c.seat == get_u32(token + 24));
	free(token);
	return 0;
}
