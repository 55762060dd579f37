/*
 * redis_lua.h — the Redis peer's Lua scripts (bench/redis/bench-redis.c),
 * loaded once with SCRIPT LOAD and called with EVALSHA. Key layout, hold
 * life cycle and return codes: bench/redis/redis_lua.c.
 */
#ifndef ONSALE_BENCH_REDIS_LUA_H
#define ONSALE_BENCH_REDIS_LUA_H

/* Largest hold (seat-flash: 6 adjacent seats): one best-available hint per
 * size, 1..REDIS_HOLD_MAX. */
#define REDIS_HOLD_MAX 6

enum redis_script {
	REDIS_GA_HOLD,
	REDIS_SEAT_HOLD,
	REDIS_CONFIRM,
	REDIS_RELEASE,
	REDIS_AVAIL,
	REDIS_SCRIPTS
};

extern const char *const redis_lua[REDIS_SCRIPTS];
extern const char *const redis_lua_names[REDIS_SCRIPTS];

#endif
