/*
 * redis_lua.c — the Redis peer's Lua scripts: what a team building
 * ticket on-sales on Redis would write. Each operation is one EVALSHA, so it
 * runs atomically on the server (Redis runs one script at a time) and, with
 * `appendfsync always`, is in the fsynced AOF before its reply is sent.
 *
 * Keys of one event share the hash tag {eN} (one cluster slot); p below is
 * the prefix "{eN}:". KEYS[1] names the key a script always touches first;
 * the others are derived from p inside the script (same slot).
 *
 *   p.."stock:"..t   free units of tier t (GA: units; seated: free seats)
 *   p.."cap"         hash tier -> capacity; p.."price": tier -> price
 *   p.."cust"        hash customer -> units held + bought (the limit)
 *   p.."bought"      hash customer -> units bought
 *   p.."seq"         hold id counter
 *   p.."h:"..id      a hold: "tier|customer|qty|row|first" with PX ttl (row
 *                    -1 for GA; seats are row's first..first+qty-1)
 *   p.."exp"         sorted set of live holds, score = expiry (ms), member
 *                    "id|" .. the hold's value: holds whose key expired are
 *                    found here and their units given back (key-space
 *                    notifications are not reliable: lost on reconnect)
 *   p.."o:"..id      an order: the hold's value .. "|amount"
 *   p.."sold:"..t    units sold of tier t
 *   p.."row:"..r     seat row r (rows over the venue, front to back): one
 *                    byte a seat, '.' free, 'h' held, 's' sold
 *   p.."rows"        hash "t:lo", "t:hi" -> the tier's first and last row
 *   p.."hint:"..t    hash n -> first row of tier t that may have n adjacent
 *                    free seats (every row before it has no such run)
 *
 * Every hold script first reclaims up to ARGV[7] expired holds (oldest
 * first), so stock comes back lazily with the next hold; the avail script
 * does the same when a client finds the event sold out. Best available
 * starts at the hint for its size, takes the first row with a run of n
 * free seats, the run's block nearest the row's centre, and moves the hint
 * to that row; giving seats of row r back lowers every hint above r.
 *
 * Returns: a hold its id (> 0), -1 sold out / no n adjacent seats, -2 over
 * the customer limit; confirm and release the quantity, -1 when the hold is
 * unknown or expired.
 */
#include "bench/redis/redis_lua.h"

#define LUA_STR_(x) #x
#define LUA_STR(x) LUA_STR_(x)

/* Shared by every script: prefix, time, hold values, giving units back,
 * reclaiming expired holds, creating a hold. */
#define REDIS_LUA_COMMON                                                                                                \
	"local p = ARGV[1]\n"                                                                                           \
	"local sizes = {}\n"                                                                                            \
	"for n = 1, " LUA_STR(                                                                                          \
		REDIS_HOLD_MAX) " do sizes[n] = n end\n"                                                                \
				"local function now_ms()\n"                                                             \
				"  local t = redis.call('TIME')\n"                                                      \
				"  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"                  \
				"end\n"                                                                                 \
				"local function parse(v)\n"                                                             \
				"  local t, c, q, row, first = string.match(v, '^(%d+)|(%d+)|(%d+)|(%-?%d+)|(%d+)')\n"  \
				"  return t, c, tonumber(q), tonumber(row), tonumber(first)\n"                          \
				"end\n"                                                                                 \
				"local function give_back(t, c, q, row, first)\n"                                       \
				"  redis.call('INCRBY', p .. 'stock:' .. t, q)\n"                                       \
				"  redis.call('HINCRBY', p .. 'cust', c, -q)\n"                                         \
				"  if row < 0 then return end\n"                                                        \
				"  redis.call('SETRANGE', p .. 'row:' .. row, first, string.rep('.', q))\n"             \
				"  local hk = p .. 'hint:' .. t\n"                                                      \
				"  local h = redis.call('HMGET', hk, unpack(sizes))\n"                                  \
				"  for n = 1, #sizes do\n"                                                              \
				"    if tonumber(h[n]) > row then redis.call('HSET', hk, n, row) end\n"                 \
				"  end\n"                                                                               \
				"end\n"                                                                                 \
				"local function reclaim(now, max)\n"                                                    \
				"  local due = redis.call('ZRANGEBYSCORE', p .. 'exp', '-inf', now, 'LIMIT', 0, max)\n" \
				"  for _, m in ipairs(due) do\n"                                                        \
				"    local id, v = string.match(m, '^(%d+)|(.*)$')\n"                                   \
				"    redis.call('ZREM', p .. 'exp', m)\n"                                               \
				"    redis.call('DEL', p .. 'h:' .. id)\n"                                              \
				"    give_back(parse(v))\n"                                                             \
				"  end\n"                                                                               \
				"  return #due\n"                                                                       \
				"end\n"                                                                                 \
				"local function new_hold(now, t, c, q, row, first, ttl)\n"                              \
				"  redis.call('DECRBY', p .. 'stock:' .. t, q)\n"                                       \
				"  redis.call('HINCRBY', p .. 'cust', c, q)\n"                                          \
				"  local id = redis.call('INCR', p .. 'seq')\n"                                         \
				"  local v = t .. '|' .. c .. '|' .. q .. '|' .. row .. '|' .. first\n"                 \
				"  redis.call('SET', p .. 'h:' .. id, v, 'PX', ttl)\n"                                  \
				"  redis.call('ZADD', p .. 'exp', now + ttl, id .. '|' .. v)\n"                         \
				"  return id\n"                                                                         \
				"end\n"

/* Hold scripts: KEYS[1] the tier's stock key; ARGV p, tier, qty, customer,
 * limit (0: counted, not capped), ttl ms, reclaim max. */
#define REDIS_LUA_HOLD_CHECKS                                                                     \
	"local t, q, c = ARGV[2], tonumber(ARGV[3]), ARGV[4]\n"                                   \
	"local limit, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])\n"                               \
	"local now = now_ms()\n"                                                                  \
	"reclaim(now, tonumber(ARGV[7]))\n"                                                       \
	"if tonumber(redis.call('GET', KEYS[1]) or '0') < q then return -1 end\n"                 \
	"if limit > 0 and tonumber(redis.call('HGET', p .. 'cust', c) or '0') + q > limit then\n" \
	"  return -2\n"                                                                           \
	"end\n"

static const char ga_hold[] = REDIS_LUA_COMMON REDIS_LUA_HOLD_CHECKS
	"return new_hold(now, t, c, q, -1, 0, ttl)\n";

static const char seat_hold[] = REDIS_LUA_COMMON REDIS_LUA_HOLD_CHECKS
	/* the q-seat block of row s nearest its centre, 0-based, or nil */
	"local function best_in_row(s)\n"
	"  local ideal = math.floor((#s - q) / 2)\n"
	"  local best, cost\n"
	"  for a, b in string.gmatch(s, '()%.+()') do\n"
	"    local lo, hi = a - 1, b - 1 - q\n"
	"    if hi >= lo then\n"
	"      local st = math.min(math.max(ideal, lo), hi)\n"
	"      local d = math.abs(st - ideal)\n"
	"      if not best or d < cost then best, cost = st, d end\n"
	"    end\n"
	"  end\n"
	"  return best\n"
	"end\n"
	"local hi = tonumber(redis.call('HGET', p .. 'rows', t .. ':hi'))\n"
	"local hk = p .. 'hint:' .. t\n"
	"local r0 = tonumber(redis.call('HGET', hk, q))\n"
	"local r, first = r0, nil\n"
	"while r <= hi do\n"
	"  first = best_in_row(redis.call('GET', p .. 'row:' .. r))\n"
	"  if first then break end\n"
	"  r = r + 1\n"
	"end\n"
	"if r ~= r0 then redis.call('HSET', hk, q, r) end\n"
	"if not first then return -1 end\n"
	"redis.call('SETRANGE', p .. 'row:' .. r, first, string.rep('h', q))\n"
	"return new_hold(now, t, c, q, r, first, ttl)\n";

/* Confirm and release: KEYS[1] the hold's key; ARGV p, hold id. */
#define REDIS_LUA_TAKE_HOLD                                                                  \
	"local v = redis.call('GET', KEYS[1])\n"                                             \
	"if not v then return -1 end\n"                                                      \
	"if redis.call('ZREM', p .. 'exp', ARGV[2] .. '|' .. v) == 0 then\n"                 \
	"  return redis.error_reply('hold ' .. ARGV[2] .. ' missing from the expiry set')\n" \
	"end\n"                                                                              \
	"redis.call('DEL', KEYS[1])\n"                                                       \
	"local t, c, q, row, first = parse(v)\n"

static const char confirm[] = REDIS_LUA_COMMON REDIS_LUA_TAKE_HOLD
	"if row >= 0 then\n"
	"  redis.call('SETRANGE', p .. 'row:' .. row, first, string.rep('s', q))\n"
	"end\n"
	"local price = tonumber(redis.call('HGET', p .. 'price', t))\n"
	"redis.call('SET', p .. 'o:' .. ARGV[2], v .. '|' .. q * price)\n"
	"redis.call('INCRBY', p .. 'sold:' .. t, q)\n"
	"redis.call('HINCRBY', p .. 'bought', c, q)\n"
	"return q\n";

static const char release[] = REDIS_LUA_COMMON REDIS_LUA_TAKE_HOLD
	"give_back(t, c, q, row, first)\n"
	"return q\n";

/* Availability after reclaiming: KEYS[1] the expiry set; ARGV p, reclaim
 * max, first tier, last tier. Returns {free of each tier..., live holds}. */
static const char avail[] = REDIS_LUA_COMMON
	"reclaim(now_ms(), tonumber(ARGV[2]))\n"
	"local out = {}\n"
	"for t = tonumber(ARGV[3]), tonumber(ARGV[4]) do\n"
	"  out[#out + 1] = tonumber(redis.call('GET', p .. 'stock:' .. t) or '0')\n"
	"end\n"
	"out[#out + 1] = redis.call('ZCARD', KEYS[1])\n"
	"return out\n";

const char *const redis_lua[REDIS_SCRIPTS] = {ga_hold, seat_hold, confirm, release, avail};
const char *const redis_lua_names[REDIS_SCRIPTS] = {"ga_hold", "seat_hold", "confirm", "release",
						    "avail"};
