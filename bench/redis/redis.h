/*
 * redis.h — the Redis peer's shared parts: the event under load as laid
 * out in Redis (bench/redis/bench-redis.c sets it up, bench/redis/redis_lua.c
 * is the key layout) and the check of the outcome through Redis
 * (bench/redis/redis_verify.c).
 */
#ifndef ONSALE_BENCH_REDIS_H
#define ONSALE_BENCH_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* Venue: the same as onsale-bench's (bench/onsale/run.h). */
#define REDIS_SEAT_TIERS 4
#define REDIS_TIERS (REDIS_SEAT_TIERS + 1)
#define REDIS_ROW_SEATS 40
#define REDIS_PRICE 5000
#define REDIS_GA_TIER 0

struct redis_event {
	uint32_t id;               /* N from INCR onsale_peer:events */
	char p[32];                /* key prefix "{eN}:" */
	unsigned tier_lo, tier_hi; /* tiers in play */
	uint64_t capacity;
	unsigned rows; /* seated: rows of REDIS_ROW_SEATS (last one shorter) */
	unsigned row_lo[REDIS_TIERS], row_hi[REDIS_TIERS];
	uint64_t tier_cap[REDIS_TIERS];
};

/* An acknowledged confirm. */
struct redis_order {
	uint64_t id;
	unsigned qty;
};

/* The orders acknowledged by one connection. */
struct redis_orders {
	const struct redis_order *o;
	size_t n;
};

/* Checks the event through Redis: NULL when all is well, else what broke
 * (in buf). lists: the acknowledged confirms of every connection;
 * confirmed: units they add up to. */
const char *redis_verify(redisContext *c, const struct redis_event *ev,
			 const struct redis_orders *lists, unsigned n_lists, uint64_t confirmed,
			 char *buf, size_t bufsz);

#endif
