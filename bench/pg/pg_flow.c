/*
 * pg_flow.c — one bench-pg worker thread: a connection with one
 * transaction in flight. Each buyer picks a random tier that is not sold
 * out, holds 1-4 GA units or 1-6 adjacent best-available seats (1 after a
 * refusal of more), then confirms (80 %) or releases the hold; each call is
 * timed into the worker's histogram of its operation type; --abandon % of
 * the holds are left to expire, for the main thread's sweep to give back. When every tier
 * has refused one unit and no hold is live the database is asked once more
 * before the run ends as sold out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/pg/pg.h"

/* 0..n-1 from the worker's own random stream. */
static unsigned rnd(struct worker *w, unsigned n)
{
	return (unsigned)(load_rnd(&w->rng) % n);
}

static int all_empty(void)
{
	for (unsigned t = pg_tier_lo; t <= pg_tier_hi; t++)
		if (!atomic_load(&pg_empty[t]))
			return 0;
	return 1;
}

static void add_order(struct worker *w, int64_t id, int qty)
{
	if (!pg_opt.verify)
		return;
	if (w->n_orders == w->cap_orders) {
		size_t cap = w->cap_orders ? w->cap_orders * 2 : 4096;
		struct order *o = realloc(w->orders, cap * sizeof *o);
		if (!o) {
			w->failed = 1;
			return;
		}
		w->orders = o;
		w->cap_orders = cap;
	}
	w->orders[w->n_orders++] = (struct order){.id = id, .qty = qty};
}

/* One timed call; records its latency under op. */
static int timed(struct worker *w, enum pg_op op, const char *stmt, int n, const char *const *vals,
		 long long *v)
{
	uint64_t t0 = load_now_ns();
	int rc = pg_call(w->pg, stmt, NULL, n, vals, v);
	hist_record(&w->hist[op], load_now_ns() - t0);
	load_count(&w->done[op], 1);
	if (rc)
		load_count(&w->errors, 1);
	return rc;
}

/* Every tier refused a single unit and no hold is live: sold out, unless a
 * refusal was transient (every row or bucket with stock was locked at that
 * moment). Asks the database; free units reopen their tiers. */
static int units_free(struct worker *w)
{
	static _Atomic unsigned rechecks;
	static const char *const q[] = {
		"SELECT coalesce(sum(available), 0) FROM stock WHERE tier = $1",
		"SELECT coalesce(sum(free), 0) FROM seat_row WHERE tier = $1",
	};
	long long held;
	if (pg_opt.abandon_pct &&
	    pg_call(w->pg, NULL, "SELECT coalesce(sum(qty), 0) FROM hold", 0, NULL, &held) == 0 &&
	    held > 0) {
		usleep(50000); /* abandoned holds: wait for the sweep (or --duration) */
		return 1;
	}
	if (atomic_fetch_add(&rechecks, 1) >= RECHECKS_MAX)
		return 0;
	int any = 0;
	for (unsigned t = pg_tier_lo; t <= pg_tier_hi; t++) {
		char a[16];
		const char *v[1] = {a};
		long long free_units;
		snprintf(a, sizeof a, "%u", t);
		if (pg_call(w->pg, NULL, q[pg_opt.sc == SC_SEAT], 1, v, &free_units) == 0 &&
		    free_units > 0) {
			atomic_store(&pg_empty[t], 0);
			w->small[t] = 0;
			any = 1;
		}
	}
	return any;
}

/* One buyer: a hold, then its confirm or release. 0, or -2 when the
 * connection is gone. */
static int buyer(struct worker *w, unsigned t)
{
	char a[6][24];
	const char *v[6] = {a[0], a[1], a[2], a[3], a[4], a[5]};
	unsigned maxq = pg_opt.sc == SC_GA ? 4 : 6;
	unsigned qty = w->small[t] ? 1 : 1 + rnd(w, maxq);
	snprintf(a[0], sizeof a[0], "%u", t);
	snprintf(a[1], sizeof a[1], "%u", qty);
	snprintf(a[2], sizeof a[2], "%u", 1 + rnd(w, CUSTOMERS));
	snprintf(a[3], sizeof a[3], "%u", pg_opt.limit);
	snprintf(a[4], sizeof a[4], "%u", pg_opt.hold_ttl_ms);
	if (pg_opt.sc == SC_GA)
		snprintf(a[5], sizeof a[5], "%u", rnd(w, pg_opt.buckets));
	else
		snprintf(a[5], sizeof a[5], "%d", ROW_TRIES);
	long long hid, n;
	atomic_fetch_add(&pg_live_holds, 1);
	int rc = timed(w, OP_HOLD, pg_opt.sc == SC_GA ? "ga_hold" : "seat_hold", 6, v, &hid);
	if (rc || hid <= 0) {
		if (!rc) {
			load_count(&w->refused, 1);
			if (hid == -1 && qty > 1)
				w->small[t] = 1;
			else if (hid == -1)
				atomic_store(&pg_empty[t], 1);
		}
		atomic_fetch_sub(&pg_live_holds, 1);
		return rc == -2 ? rc : 0;
	}
	w->small[t] = 0;
	if (rnd(w, 100) < pg_opt.abandon_pct) { /* left to expire and be swept */
		atomic_fetch_sub(&pg_live_holds, 1);
		return 0;
	}
	int confirm = rnd(w, 100) < pg_opt.confirm_pct;
	snprintf(a[0], sizeof a[0], "%lld", hid);
	rc = timed(w, confirm ? OP_CONFIRM : OP_RELEASE, confirm ? "confirm" : "release", 1, v, &n);
	if (!rc && n != (long long)qty) {
		load_count(&w->errors, 1); /* hold gone (expired) */
	} else if (!rc && confirm) {
		load_count(&w->units_sold, qty);
		atomic_fetch_add(&pg_units_confirmed, qty);
		add_order(w, hid, (int)qty);
	} else if (!rc) {
		atomic_store(&pg_empty[t], 0);
		w->small[t] = 0;
	}
	atomic_fetch_sub(&pg_live_holds, 1);
	return rc == -2 ? rc : 0;
}

void *pg_worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned n = pg_tier_hi - pg_tier_lo + 1;
	while (!atomic_load_explicit(&pg_stop, memory_order_relaxed)) {
		unsigned t = pg_tier_lo + rnd(w, n);
		for (unsigned k = 0;
		     k < n && atomic_load_explicit(&pg_empty[t], memory_order_relaxed); k++)
			t = t == pg_tier_hi ? pg_tier_lo : t + 1;
		if (atomic_load_explicit(&pg_empty[t], memory_order_relaxed)) {
			if (atomic_load(&pg_live_holds) == 0 && all_empty() && !units_free(w)) {
				atomic_store(&pg_stop, 1);
				break;
			}
			usleep(1000);
			continue;
		}
		if (buyer(w, t) == -2) {
			fprintf(stderr, "bench-pg: connection %u lost\n", w->id);
			w->failed = 1;
			atomic_store(&pg_stop, 1);
		}
	}
	return NULL;
}
