/*
 * addr_limit.c — a shard's connection quotas, in all and per peer address
 * (addr_limit.h): linear probing over a table at most half full, entries
 * removed by backward shift, so lookups never walk tombstones.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "net/guard/addr_limit.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static uint32_t home(const struct addr_limit *al, const struct addr_key *a)
{
	uint64_t lo, hi;
	memcpy(&lo, a->b, 8);
	memcpy(&hi, a->b + 8, 8);
	return (uint32_t)mix(mix(lo ^ al->seed) ^ hi) & al->mask;
}

static bool same(const struct addr_key *a, const struct addr_key *b)
{
	return !memcmp(a->b, b->b, sizeof a->b);
}

/* The slot holding addr, or the empty slot where it would go. */
static uint32_t find(const struct addr_limit *al, const struct addr_key *addr)
{
	uint32_t i = home(al, addr);
	for (uint32_t probes = 0; probes <= al->mask; probes++) {
		const struct addr_slot *s = &al->slots[i];
		if (!s->count || same(&s->addr, addr))
			return i;
		i = (i + 1) & al->mask;
	}
	assert(0 && "the table is never full: it has twice the quota");
	return 0;
}

void addr_limit_init(struct addr_limit *al, struct addr_slot *slots, uint32_t slots_count,
		     uint32_t total_max, uint32_t per_addr_max, uint64_t seed)
{
	assert(!per_addr_max ||
	       (slots_count >= 2 * (uint64_t)total_max && (slots_count & (slots_count - 1)) == 0));
	memset(al, 0, sizeof *al);
	al->slots = per_addr_max ? slots : NULL;
	al->mask = per_addr_max ? slots_count - 1 : 0;
	al->total_max = total_max;
	al->per_addr_max = per_addr_max;
	al->seed = seed;
	if (al->slots)
		memset(slots, 0, sizeof *slots * slots_count);
}

enum status addr_limit_admit(struct addr_limit *al, const struct addr_key *addr)
{
	if (al->open >= al->total_max)
		return ST_TOO_MANY_CONNECTIONS;
	if (al->per_addr_max) {
		struct addr_slot *s = &al->slots[find(al, addr)];
		if (s->count >= al->per_addr_max)
			return ST_TOO_MANY_CONNECTIONS;
		if (!s->count)
			s->addr = *addr;
		s->count++;
	}
	al->open++;
	return ST_OK;
}

/* Empties slot hole, moving later entries of its run back so every entry
 * stays reachable from its home slot. */
static void remove_at(struct addr_limit *al, uint32_t hole)
{
	uint32_t i = hole;
	for (;;) {
		i = (i + 1) & al->mask;
		struct addr_slot *s = &al->slots[i];
		if (!s->count)
			break;
		uint32_t h = home(al, &s->addr);
		/* s may fill the hole when its home is not in (hole, i] */
		bool stays = hole <= i ? (h > hole && h <= i) : (h > hole || h <= i);
		if (stays)
			continue;
		al->slots[hole] = *s;
		hole = i;
	}
	al->slots[hole].count = 0;
}

void addr_limit_release(struct addr_limit *al, const struct addr_key *addr)
{
	assert(al->open > 0);
	al->open--;
	if (!al->per_addr_max)
		return;
	uint32_t i = find(al, addr);
	assert(al->slots[i].count > 0 && "released an address never admitted");
	if (--al->slots[i].count == 0)
		remove_at(al, i);
}

uint32_t addr_limit_count(const struct addr_limit *al, const struct addr_key *addr)
{
	return al->per_addr_max ? al->slots[find(al, addr)].count : 0;
}

uint32_t addr_limit_share(uint32_t limit, uint32_t shards, uint32_t shard_id)
{
	assert(shards > 0 && shard_id < shards);
	return limit / shards + (shard_id < limit % shards ? 1 : 0);
}

bool addr_limit_splits(uint32_t limit, uint32_t shards)
{
	assert(shards > 0);
	return limit == 0 || limit >= shards;
}

static uint32_t quota(uint32_t limit, uint32_t shards, uint32_t shard_id, uint32_t table_max)
{
	uint32_t q = addr_limit_share(limit, shards, shard_id);
	assert(q >= 1);
	return q < table_max ? q : table_max;
}

void addr_limit_quotas(uint32_t conns_max, uint32_t per_addr_max, uint32_t shards,
		       uint32_t shard_id, uint32_t table_max, uint32_t *total_quota,
		       uint32_t *per_addr_quota)
{
	assert(table_max > 0 && addr_limit_splits(conns_max, shards) &&
	       addr_limit_splits(per_addr_max, shards));
	*total_quota = conns_max ? quota(conns_max, shards, shard_id, table_max) : table_max;
	*per_addr_quota = per_addr_max ? quota(per_addr_max, shards, shard_id, table_max) : 0;
}

struct addr_key addr_key_ipv4(uint32_t ipv4)
{
	struct addr_key k = {.b = {[10] = 0xff, [11] = 0xff}};
	k.b[12] = (uint8_t)(ipv4 >> 24);
	k.b[13] = (uint8_t)(ipv4 >> 16);
	k.b[14] = (uint8_t)(ipv4 >> 8);
	k.b[15] = (uint8_t)ipv4;
	return k;
}
