/*
 * token.h — signed ticket tokens a gate scanner verifies offline.
 *
 * A token is the ticket's identity and what it admits to, signed with the
 * event organiser's Ed25519 key (libsodium). A scanner holding only the
 * public key can tell a real ticket from a forged one without reaching
 * onsale; whether it was already used is what redemption (online) decides.
 * Tokens are derived from a ticket's state, never stored: the same ticket
 * and key always give the same token (Ed25519 is deterministic).
 *
 *   off size field
 *     0    2 magic "OT"      2  1 version (1)   3 1 tier
 *     4    4 event_id        8  8 ticket_id    16 8 order_id
 *    24    4 seat (0xffffffff: GA)             28 4 reserved
 *    32   64 Ed25519 signature of bytes 0..31
 *   96  total
 */
#ifndef ONSALE_TOKEN_H
#define ONSALE_TOKEN_H

#include <stdint.h>
#include "core/cmd-t.h"

#define TOKEN_BYTES 96
#define TOKEN_SIGNED_BYTES 32
#define TOKEN_PUBLIC_KEY_BYTES 32
#define TOKEN_SECRET_KEY_BYTES 64

struct token_claims {
	uint32_t event_id;
	uint64_t ticket_id;
	uint64_t order_id;
	uint32_t seat;
	uint8_t tier;
};

/* Signs the claims of ticket v into out[TOKEN_BYTES]. */
void token_sign(const uint8_t sk[TOKEN_SECRET_KEY_BYTES], const struct ticket_view *v,
		uint8_t out[TOKEN_BYTES]);

/* 0 and the claims when the token is well-formed and signed by pk; -1 if not. */
int token_verify(const uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], const uint8_t token[TOKEN_BYTES],
		 struct token_claims *claims);

/* A key pair derived from a 32-byte seed (deterministic, for config files). */
void token_keypair_from_seed(const uint8_t seed[32], uint8_t pk[TOKEN_PUBLIC_KEY_BYTES],
			     uint8_t sk[TOKEN_SECRET_KEY_BYTES]);

#endif
