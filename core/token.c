/*
 * token.c — Ed25519 e-ticket tokens and their base64url text (layout in
 * token.h). Pure and standalone: libonsale links it for scanners.
 */
#include "core/token.h"

#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "core/bytes.h"

#define MAGIC0 'O'
#define MAGIC1 'T'

void token_claims_of(const struct ticket_view *t, uint64_t starts_at_ms, uint32_t key_id,
		     struct token_claims *out)
{
	assert(t && out);
	memset(out, 0, sizeof *out);
	out->version = TOKEN_VERSION;
	out->tier = t->tier;
	out->event_id = t->event_id;
	out->ticket_id = t->ticket_id;
	out->seat = t->seat;
	out->key_id = key_id;
	out->valid_until_s = TOKEN_UNTIL_NONE;
	if (!starts_at_ms)
		return;
	uint64_t from_ms = starts_at_ms > TOKEN_VALID_BEFORE_START_MS
				   ? starts_at_ms - TOKEN_VALID_BEFORE_START_MS
				   : 0;
	uint64_t until_s = (starts_at_ms + TOKEN_VALID_AFTER_START_MS) / 1000;
	out->valid_from_s = from_ms / 1000 < TOKEN_UNTIL_NONE ? (uint32_t)(from_ms / 1000)
							      : TOKEN_UNTIL_NONE - 1;
	out->valid_until_s = until_s < TOKEN_UNTIL_NONE ? (uint32_t)until_s : TOKEN_UNTIL_NONE - 1;
}

static void claims_encode(const struct token_claims *c, uint8_t *p)
{
	memset(p, 0, TOKEN_SIGNED_BYTES);
	p[0] = MAGIC0;
	p[1] = MAGIC1;
	p[2] = TOKEN_VERSION;
	p[3] = c->tier;
	put_u32(p + 4, c->event_id);
	put_u64(p + 8, c->ticket_id);
	put_u32(p + 16, c->seat);
	put_u32(p + 20, c->key_id);
	put_u32(p + 24, c->valid_from_s);
	put_u32(p + 28, c->valid_until_s);
}

void token_sign(const struct token_signer *s, const struct token_claims *c,
		uint8_t out[TOKEN_BYTES])
{
	assert(s && c && out && c->key_id == s->key_id);
	claims_encode(c, out);
	crypto_sign_detached(out + TOKEN_SIGNED_BYTES, NULL, out, TOKEN_SIGNED_BYTES, s->sk);
}

int token_decode(const uint8_t tok[TOKEN_BYTES], struct token_claims *out)
{
	assert(tok && out);
	memset(out, 0, sizeof *out);
	if (tok[0] != MAGIC0 || tok[1] != MAGIC1 || (tok[2] != 1 && tok[2] != TOKEN_VERSION))
		return -1;
	out->version = tok[2];
	out->tier = tok[3];
	out->event_id = get_u32(tok + 4);
	out->ticket_id = get_u64(tok + 8);
	if (out->version == 1) {
		out->order_id = get_u64(tok + 16);
		out->seat = get_u32(tok + 24);
		out->valid_until_s = TOKEN_UNTIL_NONE;
		return 0;
	}
	out->seat = get_u32(tok + 16);
	out->key_id = get_u32(tok + 20);
	out->valid_from_s = get_u32(tok + 24);
	out->valid_until_s = get_u32(tok + 28);
	return 0;
}

static int signed_by(const uint8_t tok[TOKEN_BYTES], const struct token_pubkey *k)
{
	return crypto_sign_verify_detached(tok + TOKEN_SIGNED_BYTES, tok, TOKEN_SIGNED_BYTES,
					   k->pk) == 0;
}

/* A version-1 token names no key: any key of the set may have signed it. */
static enum status check_v1(const struct token_keys *keys, const uint8_t tok[TOKEN_BYTES],
			    struct token_claims *out)
{
	for (uint32_t i = 0; i < keys->count; i++) {
		if (signed_by(tok, &keys->keys[i])) {
			out->key_id = keys->keys[i].key_id;
			return ST_OK;
		}
	}
	return ST_TOKEN_INVALID;
}

enum status token_check(const struct token_keys *keys, const uint8_t tok[TOKEN_BYTES],
			uint32_t event_id, uint64_t now_ms, struct token_claims *out)
{
	assert(keys && keys->count <= TOKEN_KEYS_MAX);
	if (token_decode(tok, out))
		return ST_TOKEN_INVALID;
	if (out->version == 1) {
		enum status st = check_v1(keys, tok, out);
		if (st != ST_OK)
			return st;
	} else {
		const struct token_pubkey *k = token_keys_find(keys, out->key_id);
		if (!k)
			return ST_TOKEN_KEY_UNKNOWN;
		if (!signed_by(tok, k))
			return ST_TOKEN_INVALID;
	}
	if (event_id && out->event_id != event_id)
		return ST_TOKEN_OTHER_EVENT;
	if (!now_ms)
		return ST_OK;
	uint64_t now_s = now_ms / 1000;
	if (now_s < out->valid_from_s)
		return ST_TOKEN_NOT_YET_VALID;
	if (out->valid_until_s != TOKEN_UNTIL_NONE && now_s > out->valid_until_s)
		return ST_TOKEN_EXPIRED;
	return ST_OK;
}

static int in_sorted(const uint64_t *ids, size_t count, uint64_t id)
{
	size_t lo = 0, hi = count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ids[mid] == id)
			return 1;
		if (ids[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

enum status token_check_revoked(const struct token_keys *keys, const uint8_t tok[TOKEN_BYTES],
				uint32_t event_id, uint64_t now_ms, const uint64_t *revoked,
				size_t count, struct token_claims *out)
{
	assert(revoked || count == 0);
	enum status st = token_check(keys, tok, event_id, now_ms, out);
	if (st == ST_OK && in_sorted(revoked, count, out->ticket_id))
		return ST_TOKEN_REVOKED;
	return st;
}

const struct token_pubkey *token_keys_find(const struct token_keys *keys, uint32_t key_id)
{
	assert(keys->count <= TOKEN_KEYS_MAX);
	for (uint32_t i = 0; i < keys->count; i++)
		if (keys->keys[i].key_id == key_id)
			return &keys->keys[i];
	return NULL;
}

int token_keys_add(struct token_keys *keys, uint32_t key_id,
		   const uint8_t pk[TOKEN_PUBLIC_KEY_BYTES])
{
	if (keys->count >= TOKEN_KEYS_MAX || token_keys_find(keys, key_id))
		return -1;
	struct token_pubkey *k = &keys->keys[keys->count++];
	k->key_id = key_id;
	memcpy(k->pk, pk, TOKEN_PUBLIC_KEY_BYTES);
	return 0;
}

size_t token_b64_encode(const uint8_t *bin, size_t n, char *out, size_t cap)
{
	const int variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	if (cap < sodium_base64_ENCODED_LEN(n, variant))
		return 0;
	sodium_bin2base64(out, cap, bin, n, variant);
	return strlen(out);
}

int token_b64_decode(const char *text, size_t len, uint8_t *bin, size_t n)
{
	size_t got = 0;
	const char *end = NULL;
	if (sodium_base642bin(bin, n, text, len, NULL, &got, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return -1;
	return got == n && end == text + len ? 0 : -1;
}

size_t token_to_text(const uint8_t tok[TOKEN_BYTES], char out[TOKEN_TEXT_CHARS + 1])
{
	size_t n = token_b64_encode(tok, TOKEN_BYTES, out, TOKEN_TEXT_CHARS + 1);
	assert(n == TOKEN_TEXT_CHARS);
	return n;
}

static int space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

int token_from_text(const char *text, size_t len, uint8_t tok[TOKEN_BYTES])
{
	while (len && space(text[0])) {
		text++;
		len--;
	}
	while (len && space(text[len - 1]))
		len--;
	if (len != TOKEN_TEXT_CHARS)
		return -1;
	return token_b64_decode(text, len, tok, TOKEN_BYTES);
}

void token_keypair_from_seed(const uint8_t seed[TOKEN_SEED_BYTES],
			     uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], uint8_t sk[TOKEN_SECRET_KEY_BYTES])
{
	assert(seed && pk && sk);
	crypto_sign_seed_keypair(pk, sk, seed);
}

static_assert(TOKEN_TEXT_CHARS == TOKEN_BYTES / 3 * 4, "base64 of whole 3-byte groups, no padding");
static_assert(TOKEN_SIGNED_BYTES + crypto_sign_BYTES == TOKEN_BYTES, "claims and signature");
static_assert(crypto_sign_PUBLICKEYBYTES == TOKEN_PUBLIC_KEY_BYTES &&
		      crypto_sign_SECRETKEYBYTES == TOKEN_SECRET_KEY_BYTES &&
		      crypto_sign_SEEDBYTES == TOKEN_SEED_BYTES,
	      "libsodium's Ed25519 sizes");
