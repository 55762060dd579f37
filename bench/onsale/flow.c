/*
 * flow.c — one onsale-bench worker: a platform or
 * scanner connection with --depth slots, each a client with one request in
 * flight. What a slot starts depends on the scenario:
 *
 *   ga-flash, seat-flash  hold 1-4 GA units / 1-6 adjacent best-available
 *                         seats in a random tier, then confirm (80 %) or
 *                         release it, until every tier refuses one unit;
 *   seat-pick             hold 1-4 named seats of one row, mostly
 *                         (RUN_PICK_HOT_PCT) among the best RUN_PICK_BEST_PCT
 *                         of the venue still unsold, so buyers collide; a
 *                         seat held or sold meanwhile is a refusal;
 *   mixed                 by weight: a hold as above (GA or seats), an
 *                         availability query, or a refund of one ticket of
 *                         an order this worker confirmed earlier;
 *   gate-rush             redeem every ticket this worker sold in the
 *                         unmeasured sell-out phase (flow_selling: holds all
 *                         confirmed), then a second scan of --double-scan %
 *                         of them, which the server must refuse with the
 *                         first scan's gate and time.
 *
 * Latency is measured from submit (closed loop) or from the intended start
 * (open loop, --rate) to completion, per operation type. A load thread
 * (flow_thread_main) drives one worker or several (--threads).
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/onsale/run.h"

int flow_selling;

static _Atomic uint8_t empty[TIERS_MAX]; /* the tier refused one unit */
static _Atomic long live_holds;
static _Atomic uint8_t *seat_sold;  /* seat-pick: by seat index */
static _Atomic uint32_t pick_front; /* best[] before it is all sold */
static _Atomic unsigned workers_done;
static _Atomic unsigned rechecks;

void flow_init(void)
{
	for (unsigned t = 0; t < TIERS_MAX; t++)
		atomic_store(&empty[t], 0);
	atomic_store(&live_holds, 0);
	atomic_store(&workers_done, 0);
	atomic_store(&rechecks, 0);
	if (run_opt.sc == SC_PICK && !seat_sold)
		seat_sold = calloc(venue.n_seats ? venue.n_seats : 1, sizeof *seat_sold);
}

static int all_empty(void)
{
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi; t++)
		if (!atomic_load(&empty[t]))
			return 0;
	return 1;
}

static void reopen(struct run_worker *w, unsigned tier)
{
	atomic_store(&empty[tier], 0);
	w->small[tier] = 0;
}

static void add_order(struct run_worker *w, const struct hold_view *h)
{
	if (!run_opt.verify && run_opt.sc != SC_MIXED && !flow_selling)
		return;
	if (w->n_orders == w->cap_orders) {
		size_t cap = w->cap_orders ? w->cap_orders * 2 : 4096;
		struct run_order *o = cap <= RUN_ORDERS_MAX ? realloc(w->orders, cap * sizeof *o)
							    : NULL;
		if (!o) {
			w->failed = 1;
			return;
		}
		w->orders = o;
		w->cap_orders = cap;
	}
	w->orders[w->n_orders++] = (struct run_order){.order_id = h->hold_id,
						      .first_ticket = h->first_ticket_id,
						      .qty = h->qty,
						      .tier = h->tier};
}

/* A request sent while recording, against --ops (start_next); one the
 * server sheds is taken back (shed_seen): it is no operation. */
static void counted_sent(struct run_slot *s)
{
	s->counted = run_opt.ops && atomic_load_explicit(&run_recording, memory_order_relaxed);
	if (s->counted)
		atomic_fetch_add_explicit(&run_started, 1, memory_order_relaxed);
}

/* Submits cmd for slot i as operation op: 1, 0 when the window or buffer
 * is full now, or -errno. */
static int submit(struct run_worker *w, unsigned i, const struct cmd *cmd, enum run_op op,
		  uint64_t t0)
{
	struct run_slot *s = &w->slots[i];
	s->op = (uint8_t)op;
	s->t0 = t0 ? t0 : load_now_ns();
	int rc = onsale_submit(w->c, cmd, i, NULL);
	if (rc)
		return rc == -EBUSY || rc == -EAGAIN ? 0 : rc;
	s->busy = 1;
	counted_sent(s);
	return 1;
}

/* A follow-up right after a completion: the window has room. */
static int follow_up(struct run_worker *w, unsigned i, const struct cmd *cmd, enum run_op op)
{
	struct run_slot *s = &w->slots[i];
	int rc;
	s->op = (uint8_t)op;
	s->t0 = load_now_ns();
	while ((rc = onsale_submit(w->c, cmd, i, NULL)) == -EAGAIN)
		onsale_flush(w->c);
	if (!rc) {
		s->busy = 1;
		counted_sent(s);
	}
	return rc;
}

static int start_hold(struct run_worker *w, unsigned i, uint64_t t0)
{
	struct run_slot *s = &w->slots[i];
	struct cmd cmd;
	unsigned lo = venue.tier_lo, hi = venue.tier_hi, n = hi - lo + 1;
	unsigned t = lo + (unsigned)(load_rnd(&w->rng) % n);
	for (unsigned k = 0; k < n && atomic_load_explicit(&empty[t], memory_order_relaxed); k++)
		t = t == hi ? lo : t + 1;
	if (atomic_load_explicit(&empty[t], memory_order_relaxed))
		return 0;
	int ga = t == VENUE_GA_TIER;
	uint8_t qty = w->small[t] ? 1 : (uint8_t)(1 + load_rnd(&w->rng) % (ga ? 4 : 6));
	uint64_t cust = 1 + load_rnd(&w->rng) % 65536;
	if (ga)
		onsale_prep_hold_ga(&cmd, venue.event_id, (uint8_t)t, qty, cust, 0);
	else
		onsale_prep_hold_best(&cmd, venue.event_id, (uint8_t)t, qty, cust, 0);
	s->tier = (uint8_t)t;
	s->qty = qty;
	int rc = submit(w, i, &cmd, OP_HOLD, t0);
	if (rc > 0)
		atomic_fetch_add(&live_holds, 1);
	return rc;
}

/* seat-pick: the first index of best[] not known sold, moved forward. */
static uint32_t pick_front_now(void)
{
	uint32_t f0 = atomic_load(&pick_front), f = f0;
	while (f < venue.n_seats &&
	       atomic_load_explicit(&seat_sold[venue.best[f]], memory_order_relaxed))
		f++;
	while (f0 < f && !atomic_compare_exchange_weak(&pick_front, &f0, f))
		;
	return f;
}

/* seat-pick: a seat index to ask for, or n_seats when all are sold. */
static uint32_t pick_seat(struct run_worker *w)
{
	uint32_t n = venue.n_seats, front = pick_front_now();
	if (front >= n)
		return n;
	uint32_t hot = n * RUN_PICK_BEST_PCT / 100u, k;
	if (!hot)
		hot = 1;
	if (load_rnd(&w->rng) % 100u < RUN_PICK_HOT_PCT)
		k = front + (uint32_t)(load_rnd(&w->rng) % hot);
	else
		k = front + (uint32_t)(load_rnd(&w->rng) % (n - front));
	for (unsigned steps = 0; steps < RUN_PICK_WALK_MAX; steps++, k++) {
		if (k >= n)
			k = front;
		if (!atomic_load_explicit(&seat_sold[venue.best[k]], memory_order_relaxed))
			return venue.best[k];
	}
	return venue.best[front];
}

static int start_pick(struct run_worker *w, unsigned i, uint64_t t0)
{
	struct run_slot *s = &w->slots[i];
	uint32_t first = pick_seat(w), n = venue.n_seats, ids[HOLD_UNITS_MAX];
	if (first >= n)
		return 0;
	unsigned want = 1 + (unsigned)(load_rnd(&w->rng) % 4), got = 1;
	uint16_t row = venue.seat_row[first];
	s->seats[0] = first;
	/* neighbours in the row not known sold: right first, then left */
	for (uint32_t j = first + 1; got < want && j < n && venue.seat_row[j] == row &&
				     !atomic_load_explicit(&seat_sold[j], memory_order_relaxed);
	     j++)
		s->seats[got++] = j;
	for (uint32_t j = first; got < want && j-- > 0 && venue.seat_row[j] == row &&
				 !atomic_load_explicit(&seat_sold[j], memory_order_relaxed);)
		s->seats[got++] = j;
	for (unsigned k = 0; k < got; k++)
		ids[k] = venue.seat_id[s->seats[k]];
	struct cmd cmd;
	onsale_prep_hold_seats(&cmd, venue.event_id, venue.seat_tier[first], ids, (uint8_t)got,
			       1 + load_rnd(&w->rng) % 65536, 0);
	s->tier = venue.seat_tier[first];
	s->qty = (uint8_t)got;
	int rc = submit(w, i, &cmd, OP_HOLD, t0);
	if (rc > 0)
		atomic_fetch_add(&live_holds, 1);
	return rc;
}

static int start_query(struct run_worker *w, unsigned i, uint64_t t0)
{
	struct cmd cmd;
	onsale_prep_query(&cmd, CMD_Q_AVAILABILITY, venue.event_id, 0, 0);
	return submit(w, i, &cmd, OP_QUERY, t0);
}

/* mixed: refund one ticket of an earlier order (kept on sale, no fee); a
 * query when none is found in a few tries. */
static int start_refund(struct run_worker *w, unsigned i, uint64_t t0)
{
	struct run_slot *s = &w->slots[i];
	for (int tries = 0; w->n_orders && tries < 8; tries++) {
		size_t k = (size_t)(load_rnd(&w->rng) % w->n_orders);
		struct run_order *o = &w->orders[k];
		unsigned u = (unsigned)(load_rnd(&w->rng) % o->qty);
		if ((o->refunded | o->pending) & (1u << u))
			continue;
		struct cmd cmd;
		onsale_prep_refund(&cmd, venue.event_id, o->first_ticket + u, 0, 0);
		s->order = k;
		s->unit = (uint8_t)u;
		s->tier = o->tier;
		int rc = submit(w, i, &cmd, OP_REFUND, t0);
		if (rc > 0)
			o->pending |= (uint8_t)(1u << u);
		return rc;
	}
	return start_query(w, i, t0);
}

static int start_mixed(struct run_worker *w, unsigned i, uint64_t t0)
{
	unsigned sum = run_opt.mix_hold + run_opt.mix_query + run_opt.mix_refund;
	unsigned r = (unsigned)(load_rnd(&w->rng) % sum);
	if (r < run_opt.mix_hold && !all_empty())
		return start_hold(w, i, t0);
	if (r < run_opt.mix_hold + run_opt.mix_query)
		return start_query(w, i, t0);
	return start_refund(w, i, t0);
}

static int start_redeem(struct run_worker *w, unsigned i, uint64_t t0)
{
	struct run_slot *s = &w->slots[i];
	if (w->redeem_next >= w->n_orders)
		return 0;
	struct run_order *o = &w->orders[w->redeem_next];
	struct cmd cmd;
	s->order = w->redeem_next;
	s->unit = w->redeem_unit;
	s->ticket = o->first_ticket + w->redeem_unit;
	s->gate = 1 + w->id % 64;
	onsale_prep_redeem(&cmd, venue.event_id, s->ticket, s->gate);
	int rc = submit(w, i, &cmd, OP_REDEEM, t0);
	if (rc > 0 && ++w->redeem_unit == o->qty) {
		w->redeem_next++;
		w->redeem_unit = 0;
	}
	return rc;
}

/* Starts the next request of an idle slot: 1 submitted, 0 nothing to do
 * now, -errno on a connection failure. */
static int start_one(struct run_worker *w, unsigned i, uint64_t t0)
{
	if (flow_selling)
		return start_hold(w, i, t0);
	switch (run_opt.sc) {
	case SC_PICK: return start_pick(w, i, t0);
	case SC_MIXED: return start_mixed(w, i, t0);
	case SC_GATE: return start_redeem(w, i, t0);
	default: return start_hold(w, i, t0);
	}
}

static int start_next(struct run_worker *w, unsigned i, uint64_t t0)
{
	if (atomic_load_explicit(&run_stop, memory_order_relaxed))
		return 0;
	/* --ops: requests are counted as they are sent (counted_sent), and
	 * no new flow starts once N were: the main thread's check every 10 ms
	 * let hundreds more start. A flow under way still ends (a hold's
	 * confirm or release), so a run ends with at most N plus one request
	 * per flow in flight. */
	if (run_opt.ops && atomic_load_explicit(&run_recording, memory_order_relaxed) &&
	    atomic_load_explicit(&run_started, memory_order_relaxed) >= run_opt.ops) {
		atomic_store(&run_stop, 1);
		return 0;
	}
	return start_one(w, i, t0);
}

/* An unexpected refusal: counted while measuring, the first few said. */
static void error_seen(struct run_worker *w, enum run_op op, int rc, int rec)
{
	static _Atomic unsigned said;
	if (rec)
		load_count(&w->errors, 1);
	if (atomic_fetch_add(&said, 1) < 5)
		fprintf(stderr, "onsale-bench: %s refused: %s\n", run_op_names[op], run_why(rc));
}

static void hold_refused(struct run_worker *w, struct run_slot *s, int rc, int rec)
{
	atomic_fetch_sub(&live_holds, 1);
	if (rc == ST_SOLD_OUT || rc == ST_NO_ADJACENT_SEATS || rc == ST_SEAT_UNAVAILABLE) {
		if (rec)
			load_count(&w->refused, 1);
		if (rc == ST_SEAT_UNAVAILABLE)
			return; /* named seats taken: the tier may have others */
		if (s->qty > 1)
			w->small[s->tier] = 1;
		else
			atomic_store(&empty[s->tier], 1);
	} else {
		error_seen(w, OP_HOLD, rc, rec);
	}
}

static int hold_done(struct run_worker *w, unsigned i, const struct onsale_completion *cp, int rec)
{
	struct run_slot *s = &w->slots[i];
	struct cmd cmd;
	if (cp->rc != ST_OK) {
		hold_refused(w, s, cp->rc, rec);
		return 0;
	}
	s->hold_id = cp->res.hold.hold_id;
	s->amount = cp->res.hold.amount_due_minor;
	s->qty = cp->res.hold.qty;
	w->small[s->tier] = 0;
	if (flow_selling || load_rnd(&w->rng) % 100 < run_opt.confirm_pct) {
		onsale_prep_confirm(&cmd, venue.event_id, s->hold_id, s->amount, "bench");
		return follow_up(w, i, &cmd, OP_CONFIRM);
	}
	onsale_prep_hold_release(&cmd, venue.event_id, s->hold_id);
	return follow_up(w, i, &cmd, OP_RELEASE);
}

static void confirm_done(struct run_worker *w, struct run_slot *s,
			 const struct onsale_completion *cp, int rec)
{
	atomic_fetch_sub(&live_holds, 1);
	if (cp->rc != ST_OK) {
		error_seen(w, (enum run_op)s->op, cp->rc, rec);
		return;
	}
	if (s->op == OP_RELEASE) {
		reopen(w, s->tier);
		return;
	}
	if (rec)
		load_count(&w->units_sold, s->qty);
	atomic_fetch_add(&run_units_confirmed_all, s->qty);
	add_order(w, &cp->res.hold);
	for (unsigned k = 0; run_opt.sc == SC_PICK && k < s->qty; k++)
		atomic_store_explicit(&seat_sold[s->seats[k]], 1, memory_order_relaxed);
}

static void query_done(struct run_worker *w, const struct onsale_completion *cp, int rec)
{
	if (cp->rc != ST_OK) {
		error_seen(w, OP_QUERY, cp->rc, rec);
		return;
	}
	/* a buyer who sees free units tries again */
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi && t < cp->res.avail.tier_count; t++)
		if (cp->res.avail.tiers[t].free &&
		    atomic_load_explicit(&empty[t], memory_order_relaxed))
			reopen(w, t);
}

static void refund_done(struct run_worker *w, struct run_slot *s,
			const struct onsale_completion *cp, int rec)
{
	struct run_order *o = &w->orders[s->order];
	o->pending &= (uint8_t) ~(1u << s->unit);
	if (cp->rc != ST_OK) {
		error_seen(w, OP_REFUND, cp->rc, rec);
		return;
	}
	o->refunded |= (uint8_t)(1u << s->unit);
	load_count(&w->units_refunded, 1);
	atomic_fetch_add(&run_units_refunded_all, 1);
	reopen(w, s->tier);
}

static void scan_wrong(struct run_worker *w, const struct run_slot *s,
		       const struct onsale_completion *cp)
{
	static _Atomic unsigned said;
	load_count(&w->errors, 1);
	if (atomic_fetch_add(&said, 1) < 5)
		fprintf(stderr,
			"onsale-bench: %s of ticket %llu: %s, gate %u at %llu (first: gate %u at %llu)\n",
			s->op == OP_RESCAN ? "second scan" : "scan", (unsigned long long)s->ticket,
			run_why(cp->rc), cp->res.ticket.gate_id,
			(unsigned long long)cp->res.ticket.redeemed_at_ms, s->gate,
			(unsigned long long)s->first_ms);
}

static int redeem_done(struct run_worker *w, unsigned i, const struct onsale_completion *cp)
{
	struct run_slot *s = &w->slots[i];
	if (s->op == OP_RESCAN) {
		if (cp->rc == ST_TICKET_ALREADY_REDEEMED && cp->res.ticket.gate_id == s->gate &&
		    cp->res.ticket.redeemed_at_ms == s->first_ms &&
		    cp->res.ticket.ticket_id == s->ticket)
			load_count(&w->rescans_refused, 1);
		else
			scan_wrong(w, s, cp);
		return 0;
	}
	if (cp->rc != ST_OK || cp->res.ticket.state != TICKET_REDEEMED ||
	    cp->res.ticket.gate_id != s->gate) {
		scan_wrong(w, s, cp);
		return 0;
	}
	load_count(&w->redeemed, 1);
	w->orders[s->order].redeemed |= (uint8_t)(1u << s->unit);
	if (load_rnd(&w->rng) % 10000u >= run_opt.double_scan_pct * 100u)
		return 0;
	struct cmd cmd;
	load_count(&w->rescans, 1);
	s->first_ms = cp->res.ticket.redeemed_at_ms;
	onsale_prep_redeem(&cmd, venue.event_id, s->ticket, s->gate + 1000u);
	return follow_up(w, i, &cmd, OP_RESCAN);
}

/* Status 73: the server shed the request (overloaded, retry later). A
 * shed hold or query ends its flow as a buyer who gives up on this try
 * would (the slot starts a new one); the server never sheds the other
 * operations, so 73 on them is an error as well. In the closed loop the
 * slot pauses RUN_SHED_PAUSE_NS first. Counted apart, never in
 * the latency histograms: they hold the latency of served requests. */
static void shed_seen(struct run_worker *w, struct run_slot *s, int rec)
{
	if (rec)
		load_count(&w->shed[s->op], 1);
	if (s->counted)
		atomic_fetch_sub_explicit(&run_started, 1, memory_order_relaxed);
	s->busy = 0;
	w->completions++;
	if (!w->interval)
		s->not_before = load_now_ns() + RUN_SHED_PAUSE_NS;
	if (s->op == OP_HOLD)
		atomic_fetch_sub(&live_holds, 1);
	else if (s->op != OP_QUERY)
		error_seen(w, (enum run_op)s->op, ST_OVERLOADED, rec);
}

/* One completion: records it and submits the slot's next step if any. */
static int complete(struct run_worker *w, const struct onsale_completion *cp, uint64_t t1)
{
	struct run_slot *s = &w->slots[cp->cookie];
	int rec = atomic_load_explicit(&run_recording, memory_order_relaxed);
	if (cp->rc == ST_OVERLOADED) {
		shed_seen(w, s, rec);
		return 0;
	}
	if (rec) {
		hist_record(&w->hist[s->op], t1 - s->t0);
		load_count(&w->done[s->op], 1);
	}
	s->busy = 0;
	w->completions++;
	if (cp->rc < 0)
		return cp->rc;
	switch (s->op) {
	case OP_HOLD: return hold_done(w, (unsigned)cp->cookie, cp, rec);
	case OP_CONFIRM:
	case OP_RELEASE: confirm_done(w, s, cp, rec); return 0;
	case OP_QUERY: query_done(w, cp, rec); return 0;
	case OP_REFUND: refund_done(w, s, cp, rec); return 0;
	default: return redeem_done(w, (unsigned)cp->cookie, cp);
	}
}

/* Every tier refused a single unit and no hold is live: sold out, unless a
 * refusal was transient (GA stock on its way between shards). Asks the
 * server (a synchronous call, nothing in flight here); free units found
 * reopen their tiers. 1 if so, 0 when sold out (or after 100 rechecks). */
static int units_free(struct run_worker *w)
{
	struct result res;
	if (atomic_fetch_add(&rechecks, 1) >= 100 ||
	    onsale_query_availability(w->c, venue.event_id, &res) != ST_OK)
		return 0;
	int any = 0;
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi && t < res.avail.tier_count; t++)
		if (res.avail.tiers[t].free) {
			reopen(w, t);
			any = 1;
		}
	return any;
}

/* Nothing in flight and nothing started: 1 when this worker is done. */
static int finished(struct run_worker *w)
{
	if (flow_selling || run_opt.sc == SC_GA || run_opt.sc == SC_SEAT) {
		if (all_empty() && atomic_load(&live_holds) == 0 && !units_free(w)) {
			atomic_store(&run_stop, 1);
			return 1;
		}
		return 0;
	}
	if (run_opt.sc == SC_PICK) {
		if (pick_front_now() >= venue.n_seats && atomic_load(&live_holds) == 0) {
			atomic_store(&run_stop, 1);
			return 1;
		}
		return 0;
	}
	if (run_opt.sc == SC_GATE && w->redeem_next >= w->n_orders) {
		if (atomic_fetch_add(&workers_done, 1) + 1 == run_opt.connections)
			atomic_store(&run_stop, 1);
		return 1;
	}
	return 0;
}

/* Operations per started flow, for the open loop's schedule: what the
 * scenario expects at first, then what this worker saw (refused holds are
 * one operation, not two), once OPEN_RESCHEDULE flows have started. */
#define OPEN_RESCHEDULE 1024u
static double ops_per_start(const struct run_worker *w)
{
	uint64_t flows = w->starts - onsale_inflight(w->c);
	if (w->starts >= OPEN_RESCHEDULE && flows && w->completions)
		return (double)w->completions / (double)flows;
	if (run_opt.sc == SC_GATE)
		return 1 + run_opt.double_scan_pct / 100.0;
	if (run_opt.sc == SC_MIXED) {
		double sum = run_opt.mix_hold + run_opt.mix_query + run_opt.mix_refund;
		return (2.0 * run_opt.mix_hold + run_opt.mix_query + run_opt.mix_refund) / sum;
	}
	return 2;
}

/* Open loop: ns between two starts on this connection, 0 closed loop. */
static uint64_t start_interval(const struct run_worker *w)
{
	if (run_opt.rate <= 0 || flow_selling)
		return 0;
	return (uint64_t)(1e9 * run_opt.connections * ops_per_start(w) / run_opt.rate);
}

static int fail(struct run_worker *w, int rc)
{
	fprintf(stderr, "onsale-bench: connection %u: %s\n", w->id, run_why(rc));
	w->failed = 1;
	atomic_store(&run_stop, 1);
	return rc;
}

/* How long a worker with nothing to read may wait (ns): open loop, until
 * its next start is due (0: now), unless every slot is busy, when a due
 * start must wait for a reply anyway; closed loop or stopping, for a
 * reply. At most 100 ms, so a stop and the end of the drain are seen. */
#define WAIT_NS_MAX 100000000u
static uint64_t wait_due_ns(const struct run_worker *w, int stopping)
{
	uint64_t t = load_now_ns(), wait = w->next_due > t ? w->next_due - t : 0;
	if (!w->interval || stopping || onsale_inflight(w->c) >= run_opt.depth ||
	    wait > WAIT_NS_MAX)
		wait = WAIT_NS_MAX;
	return wait;
}

/* Stopping with replies still in flight: true once RUN_DRAIN_MS passed
 * since this worker saw the stop, with what is still in flight counted
 * missing. The drain had no limit: a server stopped (SIGSTOP) kept
 * onsale-bench waiting for as long as it was stopped. */
static bool drain_over(struct run_worker *w)
{
	uint64_t now = load_now_ns();
	if (!w->drain_end)
		w->drain_end = now + (uint64_t)RUN_DRAIN_MS * 1000000u;
	if (now < w->drain_end)
		return false;
	w->missing = onsale_inflight(w->c);
	assert(w->missing > 0);
	return true;
}

/* Nothing in flight and nothing started (a closed-loop slot paused after a
 * 73, an open-loop start not yet due): how long to wait (ns). */
static uint64_t idle_ns(const struct run_worker *w)
{
	uint64_t t = load_now_ns();
	if (w->interval && w->next_due > t && w->next_due - t < 200000u)
		return w->next_due - t;
	return 200000u;
}

/* Starts what idle slots have to do: the number started, or -errno. */
static int start_idle(struct run_worker *w)
{
	uint64_t interval = w->interval, now = load_now_ns();
	int started = 0;
	for (unsigned i = 0; i < run_opt.depth; i++) {
		if (w->slots[i].busy || w->slots[i].not_before > now)
			continue;
		if (interval && load_now_ns() < w->next_due)
			break;
		int rc = start_next(w, i, interval ? w->next_due : 0);
		if (rc < 0)
			return rc;
		if (rc > 0 && interval)
			w->next_due += interval;
		if (rc > 0 && ++w->starts % OPEN_RESCHEDULE == 0)
			interval = w->interval = start_interval(w);
		started += rc;
	}
	return started;
}

/* One pass over worker w, never blocking: false when it is done (finished,
 * failed, or stopped with its drain over). Else *wait_ns is how long it may wait before the next pass
 * (0: pass again at once) and *pfd its socket with the events to wait for
 * (fd -1: nothing in flight, only time). ready: its socket may have
 * replies (a poll said so, or the last pass took a full batch); set for
 * the next pass. */
#define STEP_REPLIES_MAX 64u /* completions taken per pass */
static bool step(struct run_worker *w, bool *ready, struct pollfd *pfd, uint64_t *wait_ns)
{
	struct onsale_completion cps[STEP_REPLIES_MAX];
	int stopping = atomic_load_explicit(&run_stop, memory_order_relaxed);
	int started = stopping ? 0 : start_idle(w);
	if (started < 0) {
		fail(w, started);
		return false;
	}
	pfd->fd = -1;
	if (!onsale_inflight(w->c)) {
		if (stopping || (!started && finished(w)))
			return false;
		*wait_ns = started ? 0 : idle_ns(w);
		return true;
	}
	if (stopping && drain_over(w))
		return false;
	long pending = onsale_flush(w->c);
	int n = *ready ? onsale_poll(w->c, cps, STEP_REPLIES_MAX, 0) : 0;
	if (n < 0) {
		fail(w, n);
		return false;
	}
	*ready = n == (int)STEP_REPLIES_MAX; /* more may wait in the library's buffer */
	uint64_t t1 = n > 0 ? load_now_ns() : 0;
	for (int k = 0; k < n; k++) {
		int rc = complete(w, &cps[k], t1);
		if (rc < 0) {
			fail(w, rc);
			return false;
		}
	}
	/* replies still to come: the poll learns when they are there */
	*pfd = (struct pollfd){.fd = onsale_fd(w->c),
			       .events = (short)(POLLIN | (pending > 0 ? POLLOUT : 0))};
	*wait_ns = n > 0 ? 0 : wait_due_ns(w, stopping);
	return true;
}

/* One load thread: the workers index, index + run_opt.threads, ... in
 * turns: each pass steps all of them, then one ppoll over the sockets of
 * those with requests in flight, returning at once when one of them has
 * more to do now (then it only learns which sockets are ready), else
 * waiting until the soonest start is due. A socket is read only when the
 * poll said it is ready (or its last read took a full batch); so a thread
 * drives many connections with one system call per pass plus what their
 * I/O needs, instead of one blocking thread per connection (threads on one
 * CPU queue for it, and their wake-ups add to the latency measured). */
void *flow_thread_main(void *arg)
{
	unsigned index = (unsigned)(uintptr_t)arg, n = 0;
	struct run_worker *mine[RUN_CONNECTIONS_MAX];
	struct pollfd pfds[RUN_CONNECTIONS_MAX];
	unsigned at[RUN_CONNECTIONS_MAX]; /* pfds[i] is mine[at[i]]'s */
	bool ready[RUN_CONNECTIONS_MAX], done[RUN_CONNECTIONS_MAX];
	assert(run_opt.threads >= 1 && index < run_opt.threads);
	for (unsigned k = index; k < run_opt.connections; k += run_opt.threads) {
		struct run_worker *w = &run_workers[k];
		w->starts = w->completions = 0;
		w->drain_end = 0;
		w->missing = 0;
		w->interval = start_interval(w); /* open loop: this connection's share */
		w->next_due = load_now_ns();
		ready[n] = true;
		done[n] = false;
		mine[n++] = w;
	}
	for (;;) {
		unsigned live = 0, nfds = 0;
		uint64_t wait = WAIT_NS_MAX;
		for (unsigned i = 0; i < n; i++) {
			struct pollfd pfd;
			uint64_t w_ns;
			if (done[i] || !step(mine[i], &ready[i], &pfd, &w_ns)) {
				done[i] = true;
				continue;
			}
			live++;
			if (w_ns < wait)
				wait = w_ns;
			if (pfd.fd >= 0) {
				at[nfds] = i;
				pfds[nfds++] = pfd;
			}
		}
		if (!live)
			break;
		if (!nfds && !wait)
			continue;
		struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
		if (ppoll(pfds, nfds, &ts, NULL) > 0)
			for (unsigned k = 0; k < nfds; k++)
				if (pfds[k].revents)
					ready[at[k]] = true;
	}
	return NULL;
}
