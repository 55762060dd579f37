/*
 * addr_limit.h — how many connections a shard lets in, in all and per
 * peer address (net/guard/).
 *
 * Each shard has its own listener (SO_REUSEPORT) and shares nothing
 * mutable with the others, so the server-wide limits are split into
 * per-shard quotas (addr_limit_share): the quotas add up to the limit, so
 * the server never holds more than it, and one address may be refused a
 * little before it reaches its limit when the kernel's hash happens to send
 * more of its connections to one shard. The per-address counts live in an
 * open-addressing table the caller provides (at least twice the shard's
 * quota, so it never fills), hashed with a seed chosen at start so a peer
 * cannot pick addresses that collide. Pure: no sockets, no allocation.
 */
#ifndef ONSALE_GUARD_ADDR_LIMIT_H
#define ONSALE_GUARD_ADDR_LIMIT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/* A peer address: IPv6, or IPv4 mapped into it (::ffff:a.b.c.d). */
struct addr_key {
	uint8_t b[16];
};

struct addr_slot {
	struct addr_key addr;
	uint32_t count; /* 0: the slot is empty */
};

struct addr_limit {
	struct addr_slot *slots;
	uint32_t mask;         /* slots - 1 */
	uint32_t per_addr_max; /* 0: no per-address limit (no table) */
	uint32_t total_max;
	uint32_t open; /* admitted and not released */
	uint64_t seed;
};

/* slots_count: a power of two >= 2 * total_max (or 0 slots when
 * per_addr_max is 0). */
void addr_limit_init(struct addr_limit *al, struct addr_slot *slots, uint32_t slots_count,
		     uint32_t total_max, uint32_t per_addr_max, uint64_t seed);

/* Counts one more connection from addr: ST_OK, or ST_TOO_MANY_CONNECTIONS
 * (nothing counted) when the shard or addr is at its quota. */
enum status addr_limit_admit(struct addr_limit *al, const struct addr_key *addr);

/* One connection addr_limit_admit let in has closed. */
void addr_limit_release(struct addr_limit *al, const struct addr_key *addr);

/* Connections from addr open now. */
uint32_t addr_limit_count(const struct addr_limit *al, const struct addr_key *addr);

/* Shard shard_id's quota of a server-wide limit over shards: limit /
 * shards, the remainder one each to the first shards, so the quotas add
 * up to limit exactly. */
uint32_t addr_limit_share(uint32_t limit, uint32_t shards, uint32_t shard_id);

/* Whether a server-wide limit (0: none) can be split over shards: every
 * shard's quota at least 1, since a shard takes whatever connections the
 * kernel hashes to its listener. A smaller limit is refused at start. */
bool addr_limit_splits(uint32_t limit, uint32_t shards);

/* Shard shard_id's quotas: in all of conns_max (0: table_max, every slot
 * of its table) and per address of per_addr_max (0: no limit), neither
 * over table_max. Both limits must split (addr_limit_splits). */
void addr_limit_quotas(uint32_t conns_max, uint32_t per_addr_max, uint32_t shards,
		       uint32_t shard_id, uint32_t table_max, uint32_t *total_quota,
		       uint32_t *per_addr_quota);

/* The IPv4 address a.b.c.d (host order) as a key. */
struct addr_key addr_key_ipv4(uint32_t ipv4);

#endif
