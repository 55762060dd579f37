/*
 * token.h — signed e-ticket tokens a gate scanner verifies offline.
 *
 * A token is the ticket's identity and what it admits to, signed with one of
 * the server's Ed25519 keys (libsodium). A scanner holding only the public
 * keys (struct token_keys) tells a real ticket from a forged or altered one,
 * one for another event, one signed by a retired key and one outside its
 * validity window, without reaching onsale; whether it was refunded or
 * exchanged is the revocation list's business (docs/TICKETS.md), whether it
 * was already used is redemption's (online).
 *
 * Tokens are derived from a ticket's state, its event's start time and the
 * signing key, never stored: Ed25519 is deterministic, so the same ticket
 * and key always give the same token, also after a replay.
 *
 * Version 2 (what servers issue), 96 bytes, integers little-endian:
 *
 *   off size field
 *     0    2 magic "OT"
 *     2    1 version (2)
 *     3    1 tier
 *     4    4 event_id
 *     8    8 ticket_id
 *    16    4 seat (SEAT_NONE: GA; the GA unit is the ticket id's low byte)
 *    20    4 key_id          which public key verifies it
 *    24    4 valid_from_s    Unix seconds, 0: no lower bound
 *    28    4 valid_until_s   Unix seconds, TOKEN_UNTIL_NONE: no upper bound
 *    32   64 Ed25519 signature of bytes 0..31
 *
 * Version 1 (printed by onsale-demo only, never by a server): bytes 0..31
 * are magic, version 1, tier, event_id, ticket_id, order_id (u64), seat,
 * 4 reserved; no key id and no window. It is still read: any key of the
 * set may verify it, and it has no window.
 *
 * As text a token is base64url without padding (RFC 4648 §5): 128
 * characters, which a QR code holds at version 8 with error correction M
 * (152 bytes in byte mode, 49 x 49 modules): a phone screen shows it.
 *
 * This file is pure (no I/O, no clock) and stands alone: libonsale ships
 * it, so a scanner or onsale-ctl links it with libsodium and nothing else.
 */
#ifndef ONSALE_TOKEN_H
#define ONSALE_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"
#include "core/limits.h"
#include "core/status.h"

#define TOKEN_BYTES 96
#define TOKEN_SIGNED_BYTES 32
#define TOKEN_TEXT_CHARS 128 /* base64url, no padding */
#define TOKEN_PUBLIC_KEY_BYTES 32
#define TOKEN_SECRET_KEY_BYTES 64
#define TOKEN_SEED_BYTES 32
#define TOKEN_VERSION 2
#define TOKEN_UNTIL_NONE UINT32_MAX

struct token_claims {
	uint8_t version;
	uint8_t tier;
	uint32_t event_id;
	uint64_t ticket_id;
	uint64_t order_id; /* version 1 only; 0 in version 2 */
	uint32_t seat;     /* SEAT_NONE: GA */
	uint32_t key_id;   /* version 1: the key that verified it */
	uint32_t valid_from_s;
	uint32_t valid_until_s;
};

/* A verifying key: what a scanner holds. */
struct token_pubkey {
	uint32_t key_id;
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES];
};

/* The keys a verifier accepts: every key not retired. */
struct token_keys {
	uint32_t count;
	struct token_pubkey keys[TOKEN_KEYS_MAX];
};

/* The key new tokens are signed with (server side). */
struct token_signer {
	uint32_t key_id;
	uint8_t sk[TOKEN_SECRET_KEY_BYTES];
};

/* The claims of a ticket's token: ticket, event, tier, seat, and the
 * validity window around the event's start (0: no window, see limits.h). */
void token_claims_of(const struct ticket_view *t, uint64_t starts_at_ms, uint32_t key_id,
		     struct token_claims *out);

/* Signs version-2 claims into out. */
void token_sign(const struct token_signer *s, const struct token_claims *c,
		uint8_t out[TOKEN_BYTES]);

/* The claims, unverified (for printing): 0, or -1 when the magic or version
 * is wrong. */
int token_decode(const uint8_t tok[TOKEN_BYTES], struct token_claims *out);

/*
 * Verifies tok with keys and checks it admits to event_id (0: any event) at
 * now_ms (0: do not check the window). ST_OK and *out filled, or:
 *   ST_TOKEN_INVALID      bad magic or version, or the signature fails
 *                         (forged, altered, or signed by another key)
 *   ST_TOKEN_KEY_UNKNOWN  its key id is not in keys (retired, or never ours)
 *   ST_TOKEN_OTHER_EVENT  a real token of another event
 *   ST_TOKEN_NOT_YET_VALID, ST_TOKEN_EXPIRED  outside its window
 * Revocation is not checked here: the revocation list (Q_REVOKED,
 * docs/TICKETS.md) and the server's REDEEM_TOKEN do that.
 */
enum status token_check(const struct token_keys *keys, const uint8_t tok[TOKEN_BYTES],
			uint32_t event_id, uint64_t now_ms, struct token_claims *out);

/* token_check, then ST_TOKEN_REVOKED when its ticket id is in revoked[0,
 * count) (sorted ascending: a scanner's copy of the revocation list). */
enum status token_check_revoked(const struct token_keys *keys, const uint8_t tok[TOKEN_BYTES],
				uint32_t event_id, uint64_t now_ms, const uint64_t *revoked,
				size_t count, struct token_claims *out);

/* The key with key_id in keys, or NULL. */
const struct token_pubkey *token_keys_find(const struct token_keys *keys, uint32_t key_id);

/* Adds a key: 0, or -1 when keys is full or has key_id already. */
int token_keys_add(struct token_keys *keys, uint32_t key_id,
		   const uint8_t pk[TOKEN_PUBLIC_KEY_BYTES]);

/* base64url text of a token, NUL-terminated: TOKEN_TEXT_CHARS. */
size_t token_to_text(const uint8_t tok[TOKEN_BYTES], char out[TOKEN_TEXT_CHARS + 1]);

/* A token from its text (exactly TOKEN_TEXT_CHARS base64url characters;
 * surrounding white space is ignored): 0, or -1. */
int token_from_text(const char *text, size_t len, uint8_t tok[TOKEN_BYTES]);

/* base64url of any bytes (no padding), for public keys in text files:
 * the characters written (out holds 4 * ceil(n / 3) + 1), or 0 when it
 * does not fit. */
size_t token_b64_encode(const uint8_t *bin, size_t n, char *out, size_t cap);
/* Decodes exactly n bytes from len characters: 0, or -1. */
int token_b64_decode(const char *text, size_t len, uint8_t *bin, size_t n);

/* A key pair from a 32-byte seed (deterministic: tests, onsale-demo). */
void token_keypair_from_seed(const uint8_t seed[TOKEN_SEED_BYTES],
			     uint8_t pk[TOKEN_PUBLIC_KEY_BYTES],
			     uint8_t sk[TOKEN_SECRET_KEY_BYTES]);

#endif
