/*
 * bench-redis.c — the Redis peer of onsale-bench (`make compare`):
 * the same flash-crowd scenarios, ga-flash and seat-flash, against a Redis
 * server built the way a team would build ticket on-sales on it: every
 * operation is one Lua script (bench/redis/redis_lua.c), loaded once with
 * SCRIPT LOAD and called with EVALSHA.
 *
 * Each run creates its own event (id from INCR onsale_peer:events; keys
 * under the hash tag {eN}, nothing else in the database is touched). One
 * thread per connection (hiredis, blocking) with --depth buyers on it, each
 * with one command in flight: commands are appended to the connection's
 * output buffer and sent together, replies come back in order (pipelining),
 * and a buyer's next command is appended as soon as its reply is read.
 * A buyer holds (ga-flash: 1-4 GA units; seat-flash: 1-6 adjacent
 * best-available seats in a random tier), then confirms (--confirm %, 80)
 * or releases it, until sold out, --duration or --ops; --abandon % of holds
 * are left to expire (tests the reclaiming of expired holds). Latency is
 * from append to reply. --verify checks the outcome through Redis
 * (bench/redis/redis_verify.c). Progress, table and JSON:
 * bench/common/report.c.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/hist.h"
#include "bench/common/load.h"
#include "bench/common/opts.h"
#include "bench/common/report.h"
#include "bench/redis/redis.h"
#include "bench/redis/redis_lua.h"

enum op { OP_HOLD, OP_CONFIRM, OP_RELEASE, OPS };
static const char *const op_names[OPS] = {"hold", "confirm", "release"};
enum scenario { SC_GA, SC_SEAT };

/* Every limit and constant of the peer. */
#define CUSTOMERS 65536    /* as onsale-bench */
#define HOLD_TTL_MS 600000 /* onsale's default hold TTL, 10 minutes */
#define RECLAIM_MAX 16     /* expired holds given back per script call */
#define CONNECTIONS_MAX 256
#define DEPTH_MAX 4096
#define UNITS_MAX 10000000u
/* Without --duration a run stops when sold out or after this long, also
 * with --ops: an --ops run had no time bound, as onsale-bench's. */
#define DURATION_DEFAULT_S 30
#define SEATS_MAX 1000000u
#define RECHECKS_MAX 100 /* sold-out rechecks at the end of a run */
#define CONNECT_TIMEOUT_S 5
#define SETUP_BATCH 512      /* set-up commands pipelined at once */
#define ORDERS_MAX UNITS_MAX /* acknowledged confirms kept per connection (--verify) */

struct opts {
	const char *host, *scenario_name;
	unsigned port, connections, depth, units, seats, limit, ttl_ms;
	unsigned confirm_pct, abandon_pct;
	double duration;
	uint64_t ops, seed;
	int json, verify;
	uint32_t verify_only; /* event id, 0: a run */
	enum scenario sc;
};

struct slot {
	uint64_t t0, hold_id;
	uint8_t op, tier, qty, busy;
};

struct worker {
	pthread_t th;
	unsigned id;
	redisContext *c;
	uint64_t rng;
	struct slot *slots;
	unsigned *fifo; /* slots in the order of their commands in flight */
	unsigned head, n_fifo, idle;
	uint8_t small[REDIS_TIERS]; /* ask this tier for one unit only */
	struct hist hist[OPS];
	_Atomic uint64_t done[OPS], errors, refused, units_sold, abandoned;
	struct redis_order *orders;
	size_t n_orders, cap_orders;
	int failed;
};

static struct opts O = {.host = "127.0.0.1",
			.scenario_name = "ga-flash",
			.port = 6379,
			.connections = 4,
			.depth = 32,
			.units = 100000,
			.seats = 20000,
			.ttl_ms = HOLD_TTL_MS,
			.confirm_pct = 80};
static struct redis_event ev;
static char sha[REDIS_SCRIPTS][41];
static char appendfsync[16] = "unknown"; /* the server's, for the JSON */
static char stock_key[REDIS_TIERS][48];
static _Atomic int stop, errors_shown;
static unsigned stalled; /* connections still waiting LOAD_DRAIN_MS after the stop */
static _Atomic uint8_t empty[REDIS_TIERS];
static _Atomic long live_holds;
static _Atomic unsigned rechecks;
static _Atomic uint64_t units_confirmed_all;
static struct worker *W;

/* ---- hiredis ---- */

static redisContext *connect_redis(void)
{
	struct timeval tv = {CONNECT_TIMEOUT_S, 0};
	redisContext *c = redisConnectWithTimeout(O.host, (int)O.port, tv);
	if (!c || c->err) {
		fprintf(stderr, "bench-redis: %s:%u: %s\n", O.host, O.port,
			c ? c->errstr : "out of memory");
		if (c)
			redisFree(c);
		return NULL;
	}
	return c;
}

/* A reply that is an error (or none): shown for the first few. 1 if bad. */
static int bad_reply(const redisReply *r, const char *what)
{
	if (r && r->type != REDIS_REPLY_ERROR)
		return 0;
	if (atomic_fetch_add(&errors_shown, 1) < 5)
		fprintf(stderr, "bench-redis: %s: %s\n", what, r ? r->str : "connection lost");
	return 1;
}

/* Reads the replies of n pipelined set-up commands. 0 or -1. */
static int drain(redisContext *c, unsigned n)
{
	int rc = 0;
	for (unsigned k = 0; k < n; k++) {
		redisReply *r = NULL;
		if (redisGetReply(c, (void **)&r) != REDIS_OK)
			return -1;
		rc |= bad_reply(r, "set-up") ? -1 : 0;
		freeReplyObject(r);
	}
	return rc;
}

/* ---- the event ---- */

static unsigned row_seats(unsigned r)
{
	unsigned left = O.seats - r * REDIS_ROW_SEATS;
	return left < REDIS_ROW_SEATS ? left : REDIS_ROW_SEATS;
}

/* The event's layout from the options, Redis untouched: GA, or seat rows
 * front to back with the tier by distance from the stage, as onsale-bench's
 * venue. */
static void layout(void)
{
	memset(ev.tier_cap, 0, sizeof ev.tier_cap);
	ev.rows = 0;
	if (O.sc == SC_GA) {
		ev.tier_lo = ev.tier_hi = REDIS_GA_TIER;
		ev.tier_cap[REDIS_GA_TIER] = O.units;
	} else {
		ev.tier_lo = 1;
		ev.tier_hi = REDIS_SEAT_TIERS;
		ev.rows = (O.seats + REDIS_ROW_SEATS - 1) / REDIS_ROW_SEATS;
		for (unsigned t = 1; t <= REDIS_SEAT_TIERS; t++) { /* empty unless rows say so */
			ev.row_lo[t] = 1;
			ev.row_hi[t] = 0;
		}
		for (unsigned r = ev.rows; r-- > 0;) {
			unsigned t = 1 + (unsigned)((uint64_t)r * REDIS_SEAT_TIERS / ev.rows);
			if (ev.row_hi[t] < ev.row_lo[t])
				ev.row_hi[t] = r;
			ev.row_lo[t] = r;
			ev.tier_cap[t] += row_seats(r);
		}
	}
	ev.capacity = 0;
	for (unsigned t = ev.tier_lo; t <= ev.tier_hi; t++) {
		ev.capacity += ev.tier_cap[t];
		snprintf(stock_key[t], sizeof stock_key[t], "%sstock:%u", ev.p, t);
	}
}

/* Seat rows all free, tier row ranges, best-available hints at the front. */
static int write_seats(redisContext *c)
{
	static const char dots[REDIS_ROW_SEATS + 1] = "........................................";
	unsigned pending = 0;
	for (unsigned r = 0; r < ev.rows; r++) {
		redisAppendCommand(c, "SET %srow:%u %b", ev.p, r, dots, (size_t)row_seats(r));
		if (++pending == SETUP_BATCH) {
			if (drain(c, pending))
				return -1;
			pending = 0;
		}
	}
	for (unsigned t = 1; t <= REDIS_SEAT_TIERS; t++) {
		redisAppendCommand(c, "HSET %srows %u:lo %u %u:hi %u", ev.p, t, ev.row_lo[t], t,
				   ev.row_hi[t]);
		for (unsigned n = 1; n <= REDIS_HOLD_MAX; n++)
			redisAppendCommand(c, "HSET %shint:%u %u %u", ev.p, t, n, ev.row_lo[t]);
		pending += 1 + REDIS_HOLD_MAX;
	}
	return drain(c, pending);
}

static void name_event(uint32_t id)
{
	ev.id = id;
	snprintf(ev.p, sizeof ev.p, "{e%u}:", ev.id);
}

static int setup(redisContext *c)
{
	redisReply *r = redisCommand(c, "INCR onsale_peer:events");
	if (bad_reply(r, "INCR onsale_peer:events") || r->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		return -1;
	}
	name_event((uint32_t)r->integer);
	freeReplyObject(r);
	r = redisCommand(c, "CONFIG GET appendfsync"); /* may be renamed away: then unknown */
	if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
	    r->element[1]->type == REDIS_REPLY_STRING)
		snprintf(appendfsync, sizeof appendfsync, "%s", r->element[1]->str);
	freeReplyObject(r);
	layout();
	if (ev.rows && write_seats(c))
		return -1;
	for (unsigned t = ev.tier_lo; t <= ev.tier_hi; t++) {
		redisAppendCommand(c, "SET %s %llu", stock_key[t],
				   (unsigned long long)ev.tier_cap[t]);
		redisAppendCommand(c, "HSET %scap %u %llu", ev.p, t,
				   (unsigned long long)ev.tier_cap[t]);
		redisAppendCommand(c, "HSET %sprice %u %d", ev.p, t, REDIS_PRICE);
	}
	/* what --verify-only needs to lay the event out again */
	redisAppendCommand(c, "HSET %smeta scenario %s units %u seats %u", ev.p, O.scenario_name,
			   O.units, O.seats);
	if (drain(c, 3 * (ev.tier_hi - ev.tier_lo + 1) + 1))
		return -1;
	for (int s = 0; s < REDIS_SCRIPTS; s++) {
		r = redisCommand(c, "SCRIPT LOAD %s", redis_lua[s]);
		if (bad_reply(r, redis_lua_names[s]) || r->type != REDIS_REPLY_STRING ||
		    r->len != 40) {
			freeReplyObject(r);
			return -1;
		}
		memcpy(sha[s], r->str, 40);
		freeReplyObject(r);
	}
	return 0;
}

/* ---- the load ---- */

static int all_empty(void)
{
	for (unsigned t = ev.tier_lo; t <= ev.tier_hi; t++)
		if (!atomic_load(&empty[t]))
			return 0;
	return 1;
}

static void reopen(struct worker *w, unsigned t)
{
	atomic_store(&empty[t], 0);
	w->small[t] = 0;
}

static void add_order(struct worker *w, uint64_t id, unsigned qty)
{
	if (!O.verify)
		return;
	if (w->n_orders == w->cap_orders) {
		size_t cap = w->cap_orders ? w->cap_orders * 2 : 4096;
		struct redis_order *o = cap <= ORDERS_MAX ? realloc(w->orders, cap * sizeof *o)
							  : NULL;
		if (!o) {
			w->failed = 1;
			return;
		}
		w->orders = o;
		w->cap_orders = cap;
	}
	w->orders[w->n_orders++] = (struct redis_order){.id = id, .qty = qty};
}

/* Appends slot i's command (already formatted into the output buffer by
 * the caller's redisAppendCommand, rc its result). */
static int sent(struct worker *w, unsigned i, int rc, enum op op)
{
	if (rc != REDIS_OK)
		return -1;
	struct slot *s = &w->slots[i];
	s->op = (uint8_t)op;
	s->t0 = load_now_ns();
	s->busy = 1;
	w->idle--;
	w->fifo[(w->head + w->n_fifo++) % O.depth] = i;
	return 1;
}

/* A buyer's hold: 1 started, 0 every tier is sold out, -1 on failure. */
static int start_hold(struct worker *w, unsigned i)
{
	struct slot *s = &w->slots[i];
	unsigned lo = ev.tier_lo, hi = ev.tier_hi, n = hi - lo + 1;
	unsigned t = lo + (unsigned)(load_rnd(&w->rng) % n);
	for (unsigned k = 0; k < n && atomic_load_explicit(&empty[t], memory_order_relaxed); k++)
		t = t == hi ? lo : t + 1;
	if (atomic_load_explicit(&empty[t], memory_order_relaxed))
		return 0;
	unsigned qty = w->small[t] ? 1
				   : (unsigned)(1 + load_rnd(&w->rng) % (O.sc == SC_GA ? 4 : 6));
	s->tier = (uint8_t)t;
	s->qty = (uint8_t)qty;
	int rc = redisAppendCommand(w->c, "EVALSHA %s 1 %s %s %u %u %llu %u %u %u",
				    sha[O.sc == SC_GA ? REDIS_GA_HOLD : REDIS_SEAT_HOLD],
				    stock_key[t], ev.p, t, qty,
				    (unsigned long long)(1 + load_rnd(&w->rng) % CUSTOMERS),
				    O.limit, O.ttl_ms, RECLAIM_MAX);
	rc = sent(w, i, rc, OP_HOLD);
	if (rc > 0)
		atomic_fetch_add(&live_holds, 1);
	return rc;
}

static void hold_done(struct worker *w, unsigned i, const redisReply *r)
{
	struct slot *s = &w->slots[i];
	if (bad_reply(r, "hold") || r->type != REDIS_REPLY_INTEGER) {
		load_count(&w->errors, 1);
	} else if (r->integer <= 0) {
		load_count(&w->refused, 1);
		if (r->integer == -1 && s->qty > 1)
			w->small[s->tier] = 1;
		else if (r->integer == -1)
			atomic_store(&empty[s->tier], 1);
	} else {
		s->hold_id = (uint64_t)r->integer;
		w->small[s->tier] = 0;
		uint64_t dice = load_rnd(&w->rng) % 100;
		if (dice >= O.abandon_pct) {
			int confirm = dice <
				      O.abandon_pct + (100 - O.abandon_pct) * O.confirm_pct / 100;
			enum redis_script sc = confirm ? REDIS_CONFIRM : REDIS_RELEASE;
			int rc = redisAppendCommand(w->c, "EVALSHA %s 1 %sh:%llu %s %llu", sha[sc],
						    ev.p, (unsigned long long)s->hold_id, ev.p,
						    (unsigned long long)s->hold_id);
			if (sent(w, i, rc, confirm ? OP_CONFIRM : OP_RELEASE) < 0)
				w->failed = 1;
			return; /* the buyer's hold stays live until its reply */
		}
		load_count(&w->abandoned, 1);
	}
	atomic_fetch_sub(&live_holds, 1);
}

static void settle_done(struct worker *w, unsigned i, const redisReply *r)
{
	struct slot *s = &w->slots[i];
	atomic_fetch_sub(&live_holds, 1);
	if (bad_reply(r, op_names[s->op]) || r->type != REDIS_REPLY_INTEGER ||
	    r->integer != s->qty) {
		load_count(&w->errors, 1); /* hold gone (expired) or a script error */
	} else if (s->op == OP_CONFIRM) {
		load_count(&w->units_sold, s->qty);
		atomic_fetch_add(&units_confirmed_all, s->qty);
		add_order(w, s->hold_id, s->qty);
	} else {
		reopen(w, s->tier);
	}
}

/* Every tier refused a single unit and no buyer holds anything: sold out,
 * unless holds are still waiting to expire (abandoned) or came back.
 * Asks Redis (nothing in flight on this connection). 1 when done. */
static int finished(struct worker *w)
{
	if (!all_empty() || atomic_load(&live_holds) != 0)
		return 0;
	if (atomic_fetch_add(&rechecks, 1) >= RECHECKS_MAX && !O.abandon_pct) {
		atomic_store(&stop, 1);
		return 1;
	}
	redisReply *r = redisCommand(w->c, "EVALSHA %s 1 %sexp %s %u %u %u", sha[REDIS_AVAIL], ev.p,
				     ev.p, RECLAIM_MAX, ev.tier_lo, ev.tier_hi);
	unsigned n = ev.tier_hi - ev.tier_lo + 1;
	if (bad_reply(r, "avail") || r->type != REDIS_REPLY_ARRAY || r->elements != n + 1) {
		freeReplyObject(r);
		w->failed = 1;
		atomic_store(&stop, 1);
		return 1;
	}
	int any = 0;
	for (unsigned k = 0; k < n; k++)
		if (r->element[k]->integer > 0) {
			reopen(w, ev.tier_lo + k);
			any = 1;
		}
	long long waiting = r->element[n]->integer; /* holds not yet expired */
	freeReplyObject(r);
	if (any)
		return 0;
	if (waiting > 0) {
		usleep(1000);
		return 0;
	}
	atomic_store(&stop, 1);
	return 1;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (;;) {
		int stopping = atomic_load_explicit(&stop, memory_order_relaxed);
		int started = 0;
		for (unsigned i = 0; !stopping && w->idle && i < O.depth; i++) {
			if (w->slots[i].busy)
				continue;
			int rc = start_hold(w, i);
			if (rc < 0)
				w->failed = 1;
			if (rc <= 0)
				break;
			started++;
		}
		if (w->failed)
			break;
		if (!w->n_fifo) {
			if (stopping || (!started && finished(w)))
				break;
			if (!started)
				usleep(200);
			continue;
		}
		/* sends what was appended when no reply is buffered yet */
		redisReply *r = NULL;
		if (redisGetReply(w->c, (void **)&r) != REDIS_OK) {
			fprintf(stderr, "bench-redis: connection %u: %s\n", w->id, w->c->errstr);
			w->failed = 1;
			break;
		}
		uint64_t t1 = load_now_ns();
		unsigned i = w->fifo[w->head];
		w->head = (w->head + 1) % O.depth;
		w->n_fifo--;
		struct slot *s = &w->slots[i];
		hist_record(&w->hist[s->op], t1 - s->t0);
		load_count(&w->done[s->op], 1);
		s->busy = 0;
		w->idle++;
		if (s->op == OP_HOLD)
			hold_done(w, i, r);
		else
			settle_done(w, i, r);
		freeReplyObject(r);
	}
	if (w->failed)
		atomic_store(&stop, 1);
	return NULL;
}

/* ---- reporting ---- */

static uint64_t sum_field(size_t off)
{
	return load_sum(W, O.connections, sizeof *W, off);
}

static uint64_t sum_done(void)
{
	return load_sum_array(W, O.connections, sizeof *W, offsetof(struct worker, done), OPS);
}

static void snap_ops(struct hist_snap *s, int op) /* op < 0: every type */
{
	load_snap(s, W, O.connections, sizeof *W, offsetof(struct worker, hist), OPS, op);
}

static void tick(struct report_timeline *tl, double t, int show)
{
	static struct hist_snap cur;
	snap_ops(&cur, -1);
	const struct report_tick *k =
		report_timeline_tick(tl, &cur, t, sum_field(offsetof(struct worker, errors)),
				     ev.capacity - atomic_load(&units_confirmed_all));
	if (show)
		report_progress(stderr, k);
}

/* Waits for the workers, printing progress each second; fills the
 * timeline. Returns the measured seconds. */
static double run(struct report_timeline *tl)
{
	uint64_t t_start = load_now_ns(), last = t_start;
	for (unsigned k = 0; k < O.connections; k++)
		pthread_create(&W[k].th, NULL, worker_main, &W[k]);
	while (!atomic_load(&stop)) {
		usleep(10000);
		uint64_t t = load_now_ns();
		if ((O.duration > 0 && (double)(t - t_start) / 1e9 >= O.duration) ||
		    (O.ops && sum_done() >= O.ops))
			atomic_store(&stop, 1);
		if (t - last >= 1000000000u) {
			tick(tl, (double)(t - t_start) / 1e9, 1);
			last = t;
		}
	}
	stalled = load_join_drained(W, O.connections, sizeof *W, offsetof(struct worker, th),
				    LOAD_DRAIN_MS);
	double secs = (double)(load_now_ns() - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) /* the last part second */
		tick(tl, secs, 0);
	return secs > 0 ? secs : 1e-9;
}

static void report(double secs, const struct report_timeline *tl, const char *vres)
{
	static struct hist_snap per_op[OPS];
	for (int o = 0; o < OPS; o++)
		snap_ops(&per_op[o], o);
	char extra[160];
	snprintf(extra, sizeof extra,
		 "\"customer_limit\":%u,\"hold_ttl_ms\":%u,\"holds_abandoned\":%llu,"
		 "\"appendfsync\":\"%s\"",
		 O.limit, O.ttl_ms,
		 (unsigned long long)sum_field(offsetof(struct worker, abandoned)), appendfsync);
	struct report_run r = {.system = "redis",
			       .scenario = O.scenario_name,
			       .event_id = ev.id,
			       .units = ev.capacity,
			       .connections = O.connections,
			       .depth = O.depth,
			       .seconds = secs,
			       .units_sold = sum_field(offsetof(struct worker, units_sold)),
			       .refused = sum_field(offsetof(struct worker, refused)),
			       .errors = sum_field(offsetof(struct worker, errors)),
			       .verify = vres,
			       .n_ops = OPS,
			       .op_names = op_names,
			       .per_op = per_op,
			       .ticks = tl->ticks,
			       .n_ticks = tl->n,
			       .extra_json = extra};
	report_print(&r, O.json);
}

/* ---- options ---- */

static const struct opt options[] = {
	OPT_STR("host", "H", &O.host, "server (127.0.0.1)"),
	OPT_UINT("port", "P", &O.port, 1, 65535, "port (6379)"),
	OPT_FN("scenario", "S", &O.scenario_name, opts_flash_scenario,
	       "ga-flash (default): hold 1-4 GA units, confirm or\n"
	       "  release, until sold out;\n"
	       "seat-flash: best-available holds of 1-6 adjacent\n"
	       "  seats in a random tier, until sold out"),
	OPT_UINT("connections", "N", &O.connections, 1, CONNECTIONS_MAX,
		 "connections, one thread each (4, at most " OPTS_STR(CONNECTIONS_MAX) ")"),
	OPT_UINT("depth", "N", &O.depth, 1, DEPTH_MAX,
		 "commands in flight per connection, pipelined (32)"),
	OPT_REAL("duration", "S", &O.duration, 1,
		 "stop after S seconds (default: sold out or " OPTS_STR(DURATION_DEFAULT_S) " s)"),
	OPT_U64("ops", "N", &O.ops, 1, UINT64_MAX,
		"stop after N operations, or at --duration (default\n" OPTS_STR(
			DURATION_DEFAULT_S) " s) if that comes first"),
	OPT_UINT("units", "N", &O.units, 1, UNITS_MAX, "ga-flash: GA units (100000)"),
	OPT_UINT("seats", "N", &O.seats, 1, SEATS_MAX,
		 "seat-flash: seats, rows of " OPTS_STR(REDIS_ROW_SEATS) " (20000)"),
	OPT_UINT("confirm", "PCT", &O.confirm_pct, 0, 100,
		 "holds confirmed, the rest released (80)"),
	OPT_UINT("abandon", "PCT", &O.abandon_pct, 0, 100,
		 "holds neither confirmed nor released: left to expire\n"
		 "and be reclaimed (0)"),
	OPT_UINT("hold-ttl", "MS", &O.ttl_ms, 1, 86400000,
		 "hold time to live (" OPTS_STR(HOLD_TTL_MS) ")"),
	OPT_UINT("customer-limit", "N", &O.limit, 0, 1000000,
		 "units per customer (0: counted, not capped; default)"),
	OPT_U64("seed", "N", &O.seed, 0, UINT64_MAX, "random seed"),
	OPT_FLAG("json", &O.json,
		 "print one JSON object on stdout, nothing else (the\n"
		 "table goes to stderr)"),
	OPT_FLAG("verify", &O.verify, "check the outcome through Redis; exit 1 if broken"),
	OPT_UINT("verify-only", "N", &O.verify_only, 1, UINT32_MAX,
		 "no load: check event N as a run left it (without the\n"
		 "acknowledged confirms, which only the run knew)"),
};

static const struct opts_cmd cmd = OPTS_CMD(
	"bench-redis",
	"onsale-bench's ga-flash and seat-flash against Redis (the peer of `make\n"
	"compare`): holds, confirms and releases as Lua scripts (EVALSHA), a new\n"
	"event under its own keys each run. Durability is the server's setting;\n"
	"bench/scripts/peer-redis.sh starts one with appendonly yes, appendfsync\n"
	"always. A connection still waiting for a reply " OPTS_STR(
		LOAD_DRAIN_MS) " ms after the run\n"
			       "stops is reported (the server stalled or is gone): exit 1.\n",
	options);

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv)
{
	int rc = opts_parse_seeded(&cmd, argc, argv, &O.seed);
	if (rc)
		return rc;
	O.sc = strcmp(O.scenario_name, "ga-flash") ? SC_SEAT : SC_GA;
	if (O.duration <= 0) /* never unbounded, also with --ops */
		O.duration = DURATION_DEFAULT_S;
	return 0;
}

static int open_workers(void)
{
	W = calloc(O.connections, sizeof *W);
	if (!W)
		return -1;
	for (unsigned k = 0; k < O.connections; k++) {
		struct worker *w = &W[k];
		w->id = k;
		w->rng = O.seed * 0x100000001b3ull + k + 1;
		w->slots = calloc(O.depth, sizeof *w->slots);
		w->fifo = calloc(O.depth, sizeof *w->fifo);
		w->idle = O.depth;
		if (!w->slots || !w->fifo || !(w->c = connect_redis()))
			return -1;
	}
	return 0;
}

static void close_all(redisContext *admin)
{
	for (unsigned k = 0; W && k < O.connections; k++) {
		if (W[k].c)
			redisFree(W[k].c);
		free(W[k].slots);
		free(W[k].fifo);
		free(W[k].orders);
	}
	free(W);
	redisFree(admin);
}

static int any_failed(void)
{
	for (unsigned k = 0; k < O.connections; k++)
		if (W[k].failed)
			return 1;
	return 0;
}

/* "ok" or what broke (in buf). */
static const char *verify(redisContext *admin, char *buf, size_t bufsz)
{
	if (stalled) /* the server did not answer: nor would it now */
		return "connections waiting for replies (outcomes unknown)";
	if (any_failed())
		return "a connection failed (its acknowledged confirms are not all recorded)";
	struct redis_orders *lists = calloc(O.connections, sizeof *lists);
	if (!lists)
		return "verify: out of memory";
	for (unsigned k = 0; k < O.connections; k++)
		lists[k] = (struct redis_orders){.o = W[k].orders, .n = W[k].n_orders};
	const char *broke = redis_verify(admin, &ev, lists, O.connections,
					 atomic_load(&units_confirmed_all), buf, bufsz);
	free(lists);
	return broke ? broke : "ok";
}

/* --verify-only: the event's layout from its meta hash, then the checks. */
static int verify_only(redisContext *c)
{
	char buf[256];
	name_event(O.verify_only);
	redisReply *r = redisCommand(c, "HMGET %smeta scenario units seats", ev.p);
	int ok = r && r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
		 r->element[0]->type == REDIS_REPLY_STRING &&
		 r->element[1]->type == REDIS_REPLY_STRING &&
		 r->element[2]->type == REDIS_REPLY_STRING;
	if (ok) {
		O.sc = strcmp(r->element[0]->str, "seat-flash") ? SC_GA : SC_SEAT;
		O.units = (unsigned)strtoul(r->element[1]->str, NULL, 10);
		O.seats = (unsigned)strtoul(r->element[2]->str, NULL, 10);
	}
	freeReplyObject(r);
	if (!ok) {
		fprintf(stderr, "bench-redis: no event %u on %s:%u\n", O.verify_only, O.host,
			O.port);
		return 1;
	}
	layout();
	const char *broke = redis_verify(c, &ev, NULL, 0, 0, buf, sizeof buf);
	printf("verify: %s\n", broke ? broke : "ok");
	return broke ? 1 : 0;
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	redisContext *admin = connect_redis();
	if (!admin)
		return 1;
	if (O.verify_only) {
		rc = verify_only(admin);
		redisFree(admin);
		return rc;
	}
	if (setup(admin)) {
		fprintf(stderr, "bench-redis: set-up of the event failed\n");
		redisFree(admin);
		return 1;
	}
	fprintf(stderr, "bench-redis: %s, event %s, %llu units, %u connections x depth %u\n",
		O.scenario_name, ev.p, (unsigned long long)ev.capacity, O.connections, O.depth);
	struct report_timeline tl;
	if (open_workers() || report_timeline_init(&tl)) {
		fprintf(stderr, "bench-redis: load connections failed\n");
		close_all(admin);
		return 1;
	}
	double secs = run(&tl);
	char vbuf[256];
	const char *vres = O.verify ? verify(admin, vbuf, sizeof vbuf) : "skipped";
	report(secs, &tl, vres);
	report_timeline_free(&tl);
	if (stalled) {
		report_stalled("bench-redis", stalled);
		return 1; /* their threads still use what close_all() would free */
	}
	rc = any_failed() || strcmp(vres, O.verify ? "ok" : "skipped");
	close_all(admin);
	return rc;
}
