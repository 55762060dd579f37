/*
 * br_lua.h — the Redis peer's Lua scripts (bench/bench-redis.c, issue 5),
 * loaded once with SCRIPT LOAD and called with EVALSHA. Key layout, hold
 * life cycle and return codes: bench/br_lua.c.
 */
#ifndef BR_LUA_H
#define BR_LUA_H

/* Largest hold (seat-flash: 6 adjacent seats): one best-available hint per
 * size, 1..BR_HOLD_MAX. */
#define BR_HOLD_MAX 6

enum br_script { BR_GA_HOLD, BR_SEAT_HOLD, BR_CONFIRM, BR_RELEASE, BR_AVAIL, BR_SCRIPTS };

extern const char *const br_lua[BR_SCRIPTS];
extern const char *const br_lua_names[BR_SCRIPTS];

#endif
