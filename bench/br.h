/*
 * br.h — the Redis peer's shared parts (issue 5): the event under load as
 * laid out in Redis (bench/bench-redis.c sets it up, bench/br_lua.c is the
 * key layout) and the check of the outcome through Redis (bench/br_verify.c).
 */
#ifndef BR_H
#define BR_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* Venue: the same as onsale-bench's (bench/ob_load.h). */
#define BR_SEAT_TIERS 4
#define BR_TIERS (BR_SEAT_TIERS + 1)
#define BR_ROW_SEATS 40
#define BR_PRICE 5000
#define BR_GA_TIER 0

struct br_event {
	uint32_t id;                /* N from INCR onsale_peer:events */
	char p[32];                 /* key prefix "{eN}:" */
	unsigned tier_lo, tier_hi;  /* tiers in play */
	uint64_t capacity;
	unsigned rows;              /* seated: rows of BR_ROW_SEATS (last one shorter) */
	unsigned row_lo[BR_TIERS], row_hi[BR_TIERS];
	uint64_t tier_cap[BR_TIERS];
};

/* An acknowledged confirm. */
struct br_order {
	uint64_t id;
	unsigned qty;
};

/* The orders acknowledged by one connection. */
struct br_orders {
	const struct br_order *o;
	size_t n;
};

/* Checks the event through Redis: NULL when all is well, else what broke
 * (in buf). lists: the acknowledged confirms of every connection;
 * confirmed: units they add up to. */
const char *br_verify(redisContext *c, const struct br_event *ev, const struct br_orders *lists,
		      unsigned n_lists, uint64_t confirmed, char *buf, size_t bufsz);

#endif
