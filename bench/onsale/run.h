/*
 * run.h — onsale-bench's shared state: the options, the event under load,
 * the workers (a connection each) with their pipelined slots, and the
 * parts that use them (all in bench/onsale/):
 *
 *   run.c           this state, defined once
 *   onsale-bench.c  options, phases of a run, report
 *   venue.c         creating the scenario's event (GA, seats, both)
 *   flow.c          a worker: what each slot sends next and what a
 *                   completion means, for every scenario; the load
 *                   threads that drive the workers
 *   verify.c        checking the outcome through the server
 *
 * Every slot of a worker is one client (buyer, scanner) with one request
 * in flight at a time; a connection has --depth slots.
 */
#ifndef ONSALE_BENCH_RUN_H
#define ONSALE_BENCH_RUN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "bench/common/hist.h"
#include "bench/common/load.h"
#include "net/client/onsale.h"

/* Operation types, each with its own latency histogram. */
enum run_op { OP_HOLD, OP_CONFIRM, OP_RELEASE, OP_QUERY, OP_REFUND, OP_REDEEM, OP_RESCAN, RUN_OPS };
extern const char *const run_op_names[RUN_OPS];

enum run_scenario { SC_GA, SC_SEAT, SC_PICK, SC_MIXED, SC_GATE };

/* Venue layout (seated scenarios) and prices. */
#define VENUE_SEAT_TIERS 4
#define VENUE_ROW_SEATS 40
#define VENUE_SECTION_ROWS 100
#define VENUE_PRICE 5000u
#define VENUE_GA_TIER 0
/* seat-pick: share of picks among the best seats still unsold, and how
 * many seats count as best (percent of the venue). */
#define RUN_PICK_HOT_PCT 80u
#define RUN_PICK_BEST_PCT 5u
#define RUN_PICK_WALK_MAX 4096u /* seats looked at for one pick */
/* Connections (workers) at most, and so load threads. */
#define RUN_CONNECTIONS_MAX 256u
/* Confirmed orders a mixed-scenario worker may refund from at most. */
#define RUN_ORDERS_MAX (4u << 20)
/* Without --duration a run stops when it is done (sold out, every ticket
 * scanned) or after RUN_DURATION_S_DEFAULT s; mixed, never done, after
 * RUN_DURATION_S_MIXED s unless --ops is given. --ops adds a stop and
 * keeps the time bound (RUN_DURATION_S_DEFAULT without --duration): an
 * --ops run had none, so a server stopped mid-run (SIGSTOP) held it for
 * as long as it stayed stopped. */
#define RUN_DURATION_S_DEFAULT 30
#define RUN_DURATION_S_MIXED 10
/* Once the run stops (--duration, --ops, sold out, a failed connection)
 * a worker waits this long at most for the replies it still has in
 * flight; those that have not come by then are missing (the server
 * stalled or is gone): the run says how many and exits 1. --verify's
 * look-ups give up the same way when no reply comes for this long (the
 * same bound as bench-redis and bench-pg: bench/common/load.h). */
#define RUN_DRAIN_MS LOAD_DRAIN_MS
/* The admin connection's calls (creating the event, --verify's) wait at
 * most RUN_SETUP_MS_BASE plus RUN_SETUP_MS_PER_MUNIT per million units
 * the event has room for, RUN_SETUP_MS_MAX at most; the load connections'
 * calls (HELLO, the sold-out check) RUN_SETUP_MS_BASE. Creating an event
 * pre-faults its tables on every shard (about 570 MB for 1,000,000 units;
 * 4,000,000 took 6.6 s on the 2-core machine at load 5); every call waited
 * a minute, so a server stopped at the start held a 2 s run for 60 s. */
#define RUN_SETUP_MS_BASE 5000
#define RUN_SETUP_MS_PER_MUNIT 15000
#define RUN_SETUP_MS_MAX 60000

struct run_opts {
	const char *host, *config, *scenario_name;
	unsigned port, connections, depth, units, seats;
	unsigned threads; /* load threads, each driving connections k, k + threads, ... */
	double duration, warmup, rate;
	uint64_t ops, seed;
	int json, verify;
	unsigned double_scan_pct;                 /* gate-rush */
	unsigned mix_hold, mix_query, mix_refund; /* mixed: weights of started actions */
	unsigned confirm_pct;                     /* holds confirmed, the rest released */
	enum run_scenario sc;
};

/* A confirmed order as acknowledged, for refunds, redeems and verify. */
struct run_order {
	uint64_t order_id, first_ticket;
	uint8_t qty, tier;
	uint8_t refunded; /* bit per ticket: refund acknowledged */
	uint8_t pending;  /* bit per ticket: refund in flight */
	uint8_t redeemed; /* bit per ticket: first scan acknowledged */
};

/* Closed loop: a slot whose hold or query was shed (73) waits this long
 * before it starts again, as a client told "retry later" would; retrying
 * at once would only measure a storm of 73s. */
#define RUN_SHED_PAUSE_NS 1000000u

struct run_slot {
	uint64_t t0, hold_id, amount, ticket, first_ms;
	uint64_t not_before; /* closed loop: no new start before (shed) */
	size_t order;        /* refund: index in the worker's orders */
	uint32_t gate;
	uint8_t op, tier, qty, busy, unit;
	uint8_t counted;                /* the request in flight is counted against --ops */
	uint32_t seats[HOLD_UNITS_MAX]; /* seat-pick: the seats asked for */
};

struct run_worker {
	unsigned id;
	struct onsale *c;
	uint64_t rng;
	struct run_slot *slots;
	uint8_t small[TIERS_MAX]; /* ask this tier for one unit only */
	struct hist hist[RUN_OPS];
	_Atomic uint64_t done[RUN_OPS], errors, refused, units_sold;
	_Atomic uint64_t shed[RUN_OPS]; /* answered 73 overloaded: not in done or hist */
	_Atomic uint64_t redeemed, rescans, rescans_refused, units_refunded;
	struct run_order *orders;
	size_t n_orders, cap_orders;
	size_t redeem_next; /* gate-rush: next order, unit to scan */
	uint8_t redeem_unit;
	int failed;
	uint64_t next_due;            /* open loop: intended start of the next flow */
	uint64_t interval;            /* open loop: ns between starts; 0 closed loop */
	uint64_t starts, completions; /* flows started, replies, this phase */
	uint64_t drain_end;           /* stopping: replies wait until then (0: not yet) */
	unsigned missing;             /* replies not come RUN_DRAIN_MS after the stop */
};

/* What the event under load is, filled by venue_setup. */
struct venue {
	uint32_t event_id;
	unsigned tier_lo, tier_hi; /* tiers in play */
	uint64_t capacity;
	/* seated tiers: seat ids, and the order of seats from best to worst */
	uint32_t n_seats;
	uint32_t *seat_id;  /* seat index (load order) -> global seat id */
	uint8_t *seat_tier; /* by seat index */
	uint16_t *seat_row; /* by seat index: row over all sections */
	uint32_t *best;     /* seat indexes, best first */
};

extern struct run_opts run_opt;
extern struct venue venue;
extern struct run_worker *run_workers;
extern _Atomic int run_stop, run_recording;
/* Requests sent while recording, against --ops (flow.c): no new flow
 * starts once they reach it. */
extern _Atomic uint64_t run_started;
extern _Atomic uint64_t run_units_confirmed_all; /* also unmeasured */
extern _Atomic uint64_t run_units_refunded_all;

const char *run_why(int rc); /* a status or -errno in words */

/* venue.c: creates the event of run_opt.sc on admin (venue.event_id
 * set), 0 or a status / -errno. */
int venue_setup(struct onsale *admin);
void venue_free(void);
uint64_t venue_units_max(void); /* the room the event of run_opt.sc gets */

/* flow.c */
void flow_init(void); /* before the threads start */
/* One phase of a run on load thread arg (an index below run_opt.threads,
 * cast to a pointer). */
void *flow_thread_main(void *arg);
/* gate-rush's unmeasured sell-out phase instead of the scenario's load */
extern int flow_selling;

/* verify.c: NULL when all is well, else what broke (in buf). */
const char *verify_outcome(struct onsale *admin, char *buf, size_t bufsz);

#endif
