/*
 * htab.c — open addressing with linear probing and backward-shift deletion.
 * See htab.h for why the map exists and how it is bounded.
 */
#include "core/htab.h"
#include "core/mem.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#define XXH_INLINE_ALL
#include <xxhash.h>

static inline uint32_t home_of(const struct htab *h, uint64_t key)
{
	return (uint32_t)XXH3_64bits(&key, sizeof key) & h->mask;
}

int htab_init(struct htab *h, uint32_t count_max)
{
	uint64_t size = 16;

	assert(h);
	while (size < 2ull * count_max)
		size <<= 1;
	memset(h, 0, sizeof *h);
	h->slots = mem_table_alloc(size * sizeof *h->slots);
	if (!h->slots)
		return -ENOMEM;
	h->mask = (uint32_t)(size - 1);
	h->count_max = count_max;
	return 0;
}

void htab_fini(struct htab *h)
{
	assert(h);
	if (h->slots)
		mem_table_free(h->slots, ((size_t)h->mask + 1) * sizeof *h->slots);
	memset(h, 0, sizeof *h);
}

uint32_t *htab_find(const struct htab *h, uint64_t key)
{
	assert(h && h->slots);
	if (key == 0)
		return NULL;
	for (uint32_t i = home_of(h, key);; i = (i + 1) & h->mask) {
		if (h->slots[i].key == key)
			return &h->slots[i].val;
		if (h->slots[i].key == 0)
			return NULL;
	}
}

bool htab_insert(struct htab *h, uint64_t key, uint32_t val)
{
	uint32_t i;

	assert(h && h->slots);
	if (key == 0 || h->count >= h->count_max)
		return false;
	for (i = home_of(h, key); h->slots[i].key != 0; i = (i + 1) & h->mask)
		if (h->slots[i].key == key)
			return false;
	h->slots[i].key = key;
	h->slots[i].val = val;
	h->count++;
	return true;
}

bool htab_remove(struct htab *h, uint64_t key)
{
	uint32_t i, j;

	assert(h && h->slots);
	if (key == 0)
		return false;
	for (i = home_of(h, key); h->slots[i].key != key; i = (i + 1) & h->mask)
		if (h->slots[i].key == 0)
			return false;
	/* Backward shift: an entry later in the cluster moves into the hole
	 * unless its home lies cyclically in (hole, j]. */
	for (j = (i + 1) & h->mask; h->slots[j].key != 0; j = (j + 1) & h->mask) {
		uint32_t home = home_of(h, h->slots[j].key);

		if (((j - home) & h->mask) >= ((j - i) & h->mask)) {
			h->slots[i] = h->slots[j];
			i = j;
		}
	}
	h->slots[i].key = 0;
	h->count--;
	return true;
}
