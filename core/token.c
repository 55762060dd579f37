/*
 * token.c — Ed25519 ticket tokens (layout in token.h).
 */
#include "core/token.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "core/bytes.h"

static void claims_encode(const struct ticket_view *v, uint8_t *p)
{
	memset(p, 0, TOKEN_SIGNED_BYTES);
	p[0] = 'O';
	p[1] = 'T';
	p[2] = 1;
	p[3] = v->tier;
	put_u32(p + 4, v->event_id);
	put_u64(p + 8, v->ticket_id);
	put_u64(p + 16, v->order_id);
	put_u32(p + 24, v->seat);
}

void token_sign(const uint8_t sk[TOKEN_SECRET_KEY_BYTES], const struct ticket_view *v,
		uint8_t out[TOKEN_BYTES])
{
	assert(sk && v && out);
	claims_encode(v, out);
	crypto_sign_detached(out + TOKEN_SIGNED_BYTES, NULL, out, TOKEN_SIGNED_BYTES, sk);
}

int token_verify(const uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], const uint8_t token[TOKEN_BYTES],
		 struct token_claims *claims)
{
	assert(pk && token && claims);
	if (token[0] != 'O' || token[1] != 'T' || token[2] != 1)
		return -1;
	if (crypto_sign_verify_detached(token + TOKEN_SIGNED_BYTES, token, TOKEN_SIGNED_BYTES, pk))
		return -1;
	claims->tier = token[3];
	claims->event_id = get_u32(token + 4);
	claims->ticket_id = get_u64(token + 8);
	claims->order_id = get_u64(token + 16);
	claims->seat = get_u32(token + 24);
	return 0;
}

void token_keypair_from_seed(const uint8_t seed[32], uint8_t pk[TOKEN_PUBLIC_KEY_BYTES],
			     uint8_t sk[TOKEN_SECRET_KEY_BYTES])
{
	assert(seed && pk && sk);
	crypto_sign_seed_keypair(pk, sk, seed);
}
