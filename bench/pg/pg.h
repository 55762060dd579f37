/*
 * pg.h — bench-pg's shared state (the PostgreSQL peer of onsale-bench):
 * options, the worker threads, and the parts that use them (all in
 * bench/pg/):
 *
 *   pg.c         this state, defined once
 *   bench-pg.c   options, the run (progress, expiry sweep), report
 *   pg_conn.c    libpq: connections, calls, schema set-up
 *   pg_flow.c    a worker thread: buyers holding, confirming, releasing
 *                until sold out
 *   pg_verify.c  checking the outcome with SQL
 *   pg_schema.c  the schema and stored functions (the peer's design)
 */
#ifndef ONSALE_BENCH_PG_H
#define ONSALE_BENCH_PG_H

#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/common/hist.h"

enum pg_op { OP_HOLD, OP_CONFIRM, OP_RELEASE, OPS };
enum pg_scenario { SC_GA, SC_SEAT };

/* Every limit and constant of the peer. The venue matches onsale-bench's. */
#define SEAT_TIERS 4
#define TIERS (SEAT_TIERS + 1)
#define ROW_SEATS 40
#define SECTION_ROWS 100
#define PRICE 5000
#define CUSTOMERS 65536
#define HOLD_TTL_MS 600000 /* default hold TTL: onsale's, 10 minutes */
#define HOLD_TTL_MS_MAX 3600000
#define ROW_TRIES 64        /* seat rows a best-available hold looks at */
#define SWEEP_MAX 5000      /* holds expired per sweep (one a second) */
#define CONNECTIONS_MAX 200 /* bench/scripts/peer-pg.sh allows 256 */
#define UNITS_MAX 10000000u
#define RECHECKS_MAX 100 /* sold-out rechecks at the end of a run */
/* Without --duration a run stops when sold out or after this long, also
 * with --ops (an --ops run had no time bound). PostgreSQL sells some
 * thousand units/s. */
#define DURATION_DEFAULT_S 15

struct opts {
	const char *host, *dbname, *user, *scenario_name;
	unsigned port, connections, units, seats, buckets, limit;
	unsigned depth; /* asked for; ignored (one transaction in flight) */
	unsigned confirm_pct, abandon_pct, hold_ttl_ms;
	double duration;
	uint64_t ops, seed;
	int json, verify, verify_only;
	enum pg_scenario sc;
};

struct order {
	int64_t id;
	int qty;
};

struct worker {
	pthread_t th;
	unsigned id;
	PGconn *pg;
	uint64_t rng;
	uint8_t small[TIERS]; /* ask this tier for one unit only */
	struct hist hist[OPS];
	_Atomic uint64_t done[OPS], errors, refused, units_sold;
	struct order *orders;
	size_t n_orders, cap_orders;
	int failed;
};

extern struct opts pg_opt;
extern unsigned pg_tier_lo, pg_tier_hi; /* tiers in play */
extern uint64_t pg_capacity;            /* units of the event */
extern _Atomic int pg_stop;
extern _Atomic uint8_t pg_empty[TIERS]; /* a tier refused one unit */
extern _Atomic long pg_live_holds;
extern _Atomic uint64_t pg_units_confirmed;
extern struct worker *pg_workers; /* pg_opt.connections */

/* pg_conn.c. A connection with search_path onsale_peer, or NULL (shown). */
PGconn *pg_connect(void);
/* Runs a prepared statement or SQL text (stmt NULL) returning one integer
 * into *v: 0, -1 on an SQL error (the first few shown), -2 when the
 * connection is gone. */
int pg_call(PGconn *c, const char *stmt, const char *sql, int n, const char *const *vals,
	    long long *v);
int pg_exec(PGconn *c, const char *sql); /* 0 or -1 (shown) */
/* Prepares the operations on c and warms the session: 0 or -1. */
int pg_prepare(PGconn *c);
/* Fresh schema and the event's stock or seats; sets the tiers and
 * pg_capacity. 0 or -1. */
int pg_setup(PGconn *c);

/* pg_flow.c */
void *pg_worker_main(void *worker);

/* pg_verify.c: NULL when everything checks out, else what broke (in buf). */
const char *pg_verify(PGconn *c, char *buf, size_t bufsz);
/* --verify-only: the checks on what an earlier run left; exit status. */
int pg_verify_only(PGconn *admin);

#endif
