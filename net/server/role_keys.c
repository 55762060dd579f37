/*
 * role_keys.c — the keys a HELLO is checked against, and how a reload
 * reaches the shards without a lock on their path.
 *
 * The main thread is the only writer: it publishes the keys of the config
 * file at start and again on each SIGHUP that read a good file
 * (server_keys_reload in server_config.c). Publishing is a sequence lock
 * over relaxed atomic words (struct role_keys_pub, server-t.h): the
 * sequence goes odd, the words are stored, the sequence goes even. A shard
 * takes its own copy when a HELLO arrives and the sequence moved since its
 * last copy: one acquire load when nothing changed. A copy that overlapped
 * a publish (the sequence odd or moved meanwhile) is thrown away and taken
 * again; after a few tries the shard checks this HELLO with the keys it
 * had, which a reload racing with the HELLO may do.
 *
 * Connections keep the role their HELLO gave them; a reload only changes
 * what later HELLOs are checked against. A role accepts ROLE_KEYS_PER_ROLE
 * keys (its key and the next one, for a rotation with an overlap), and a
 * HELLO is compared with every one of them, present or not, so neither the
 * key nor which slot matched changes the time it takes.
 */
#include <assert.h>
#include <sodium.h>
#include <string.h>

#include "net/server/server.h"

/* A torn copy is taken again at most this many times per HELLO. */
#define PICKUP_TRIES 4

static_assert(PROTO_KEY_BYTES == crypto_verify_32_BYTES, "keys compared 32 bytes at a time");
static_assert(ROLE_KEYS_WORDS * 8 >= sizeof(struct role_keys), "the words hold the keys");

void role_keys_from_config(const struct server_config *cfg, struct role_keys *out)
{
	memset(out, 0, sizeof *out);
	for (unsigned r = PROTO_ROLE_ADMIN; r < PROTO_ROLES; r++) {
		out->present[r][0] = cfg->has_key[r];
		memcpy(out->key[r][0], cfg->keys[r], PROTO_KEY_BYTES);
		out->present[r][1] = cfg->has_key_next[r];
		memcpy(out->key[r][1], cfg->keys_next[r], PROTO_KEY_BYTES);
	}
}

void role_keys_publish(struct role_keys_pub *pub, const struct role_keys *keys)
{
	uint64_t w[ROLE_KEYS_WORDS] = {0};
	uint32_t seq = atomic_load_explicit(&pub->seq, memory_order_relaxed);

	assert(!(seq & 1) && "one writer: the main thread");
	memcpy(w, keys, sizeof *keys);
	atomic_store_explicit(&pub->seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	for (size_t i = 0; i < ROLE_KEYS_WORDS; i++)
		atomic_store_explicit(&pub->words[i], w[i], memory_order_relaxed);
	atomic_store_explicit(&pub->seq, seq + 2, memory_order_release);
	sodium_memzero(w, sizeof w);
}

/* One try: true when *out was copied whole at sequence seq. */
static bool copy_at(const struct role_keys_pub *pub, uint32_t seq, struct role_keys *out)
{
	uint64_t w[ROLE_KEYS_WORDS];

	for (size_t i = 0; i < ROLE_KEYS_WORDS; i++)
		w[i] = atomic_load_explicit(&pub->words[i], memory_order_relaxed);
	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&pub->seq, memory_order_relaxed) != seq)
		return false;
	memcpy(out, w, sizeof *out);
	sodium_memzero(w, sizeof w);
	return true;
}

bool role_keys_pickup(const struct role_keys_pub *pub, uint32_t *seq, struct role_keys *out)
{
	for (int i = 0; i < PICKUP_TRIES; i++) {
		uint32_t now = atomic_load_explicit(&pub->seq, memory_order_acquire);

		if (now == *seq)
			return false;
		if (!(now & 1) && copy_at(pub, now, out)) {
			*seq = now;
			return true;
		}
	}
	return false;
}

bool role_keys_check(const struct role_keys *keys, unsigned role,
		     const uint8_t key[PROTO_KEY_BYTES])
{
	/* the role is the client's own claim, not a secret; one out of range
	 * is checked against role 0's slots, which never hold a key */
	unsigned r = role < PROTO_ROLES ? role : PROTO_ROLE_NONE;
	unsigned ok = 0;

	for (unsigned i = 0; i < ROLE_KEYS_PER_ROLE; i++) {
		unsigned same = (unsigned)(crypto_verify_32(key, keys->key[r][i]) == 0);

		ok |= same & keys->present[r][i];
	}
	return ok != 0;
}
