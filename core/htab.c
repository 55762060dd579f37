/*
 * htab.c — open addressing with linear probing and backward-shift deletion.
 * See htab.h for why the map exists and how it is bounded.
 */
#include "core/htab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

static inline uint32_t slot_of(const struct htab *h, uint64_t key)
{
	return (uint32_t)XXH3_64bits(&key, sizeof key) & h->mask;
}

int htab_init(struct htab *h, uint32_t count_max)
{
	uint64_t size = 16;

	while (size < 2ull * count_max)
		size <<= 1;
	memset(h, 0, sizeof *h);
	h->keys = calloc(size, sizeof *h->keys);
	h->vals = calloc(size, sizeof *h->vals);
	if (!h->keys || !h->vals) {
		htab_fini(h);
		return -ENOMEM;
	}
	h->mask = (uint32_t)(size - 1);
	h->count_max = count_max;
	return 0;
}

void htab_fini(struct htab *h)
{
	free(h->keys);
	free(h->vals);
	memset(h, 0, sizeof *h);
}

void htab_clear(struct htab *h)
{
	memset(h->keys, 0, ((size_t)h->mask + 1) * sizeof *h->keys);
	h->count = 0;
}

uint32_t *htab_find(const struct htab *h, uint64_t key)
{
	uint32_t i;

	if (key == 0)
		return NULL;
	for (i = slot_of(h, key);; i = (i + 1) & h->mask) {
		if (h->keys[i] == key)
			return &h->vals[i];
		if (h->keys[i] == 0)
			return NULL;
	}
}

bool htab_insert(struct htab *h, uint64_t key, uint32_t val)
{
	uint32_t i;

	if (key == 0 || h->count >= h->count_max)
		return false;
	for (i = slot_of(h, key); h->keys[i] != 0; i = (i + 1) & h->mask)
		if (h->keys[i] == key)
			return false;
	h->keys[i] = key;
	h->vals[i] = val;
	h->count++;
	return true;
}

bool htab_remove(struct htab *h, uint64_t key)
{
	uint32_t i, j, home;

	if (key == 0)
		return false;
	for (i = slot_of(h, key); h->keys[i] != key; i = (i + 1) & h->mask)
		if (h->keys[i] == 0)
			return false;
	/* Backward shift: pull later entries of the cluster into the hole when
	 * their home slot does not lie cyclically in (hole, j]. */
	for (j = (i + 1) & h->mask; h->keys[j] != 0; j = (j + 1) & h->mask) {
		home = slot_of(h, h->keys[j]);
		if (((j - home) & h->mask) >= ((j - i) & h->mask)) {
			h->keys[i] = h->keys[j];
			h->vals[i] = h->vals[j];
			i = j;
		}
	}
	h->keys[i] = 0;
	h->count--;
	return true;
}
