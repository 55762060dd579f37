/*
 * verify.c — onsale-bench --verify: after the run, through
 * the admin connection, check that the event's counters add up per tier
 * (free + held + sold + killed = capacity, nothing oversold), that the
 * units sold are exactly the acknowledged confirms less the acknowledged
 * refunds (every request got its reply, or verify fails anyway),
 * that every acknowledged order is confirmed with its quantity, that each
 * of its tickets is in the state the run left it (valid, refunded,
 * redeemed), that no seat is in two live tickets, and for gate-rush that
 * the server counts every scan the run saw acknowledged. A run with
 * replies missing (the server stopped answering) fails at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench/onsale/run.h"

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

struct checked {
	struct run_order *all;
	size_t n_orders, n_tickets;
	uint32_t *seats;             /* seats of live (valid or redeemed) tickets */
	size_t n_seats, seated_live; /* seated units the orders say are live */
	uint64_t redeemed;
};

static unsigned expected_state(const struct run_order *o, unsigned u)
{
	if (o->refunded & (1u << u))
		return TICKET_REFUNDED;
	return o->redeemed & (1u << u) ? TICKET_REDEEMED : TICKET_VALID;
}

static const char *check_order(const struct run_order *o, const struct hold_view *h, char *buf,
			       size_t bufsz)
{
	if (h->state == HOLD_CONFIRMED && h->qty == o->qty)
		return NULL;
	snprintf(buf, bufsz, "order %llu: state %u qty %u, confirmed qty %u",
		 (unsigned long long)o->order_id, h->state, h->qty, o->qty);
	return buf;
}

static const char *check_ticket(struct checked *k, const struct run_order *o, unsigned u,
				const struct ticket_view *t, char *buf, size_t bufsz)
{
	unsigned want = expected_state(o, u);
	if (t->order_id != o->order_id || t->state != want) {
		snprintf(buf, bufsz,
			 "ticket %llu: order %llu state %u, expected order %llu state %u",
			 (unsigned long long)t->ticket_id, (unsigned long long)t->order_id,
			 t->state, (unsigned long long)o->order_id, want);
		return buf;
	}
	if (t->seat != SEAT_NONE && want != TICKET_REFUNDED)
		k->seats[k->n_seats++] = t->seat;
	k->redeemed += want == TICKET_REDEEMED;
	k->n_tickets++;
	return NULL;
}

/* Pipelined lookups on the admin connection: pass 0 Q_ORDER per order,
 * pass 1 Q_TICKET per ticket (cookie = order index << 5 | unit). They
 * give up once RUN_DRAIN_MS pass without a reply (they waited for as
 * long as a stopped server kept them waiting). */
static const char *lookups(struct onsale *c, struct checked *k, int pass, char *buf, size_t bufsz)
{
	struct onsale_completion cps[64];
	size_t next = 0;
	unsigned unit = 0;
	uint64_t last_reply = load_now_ns();
	for (;;) {
		while (next < k->n_orders) {
			const struct run_order *o = &k->all[next];
			struct cmd cmd;
			if (pass == 0)
				onsale_prep_lookup(&cmd, CMD_Q_ORDER, venue.event_id, o->order_id);
			else
				onsale_prep_lookup(&cmd, CMD_Q_TICKET, venue.event_id,
						   o->first_ticket + unit);
			int rc = onsale_submit(c, &cmd, (uint64_t)next << 5 | unit, NULL);
			if (rc == -EBUSY || rc == -EAGAIN)
				break;
			if (rc) {
				snprintf(buf, bufsz, "verify connection: %s", run_why(rc));
				return buf;
			}
			if (pass == 0 || ++unit == o->qty) {
				next++;
				unit = 0;
			}
		}
		if (!onsale_inflight(c))
			return NULL;
		onsale_flush(c);
		int n = onsale_poll(c, cps, 64, 1000);
		if (n < 0) {
			snprintf(buf, bufsz, "verify connection: %s", run_why(n));
			return buf;
		}
		uint64_t now = load_now_ns();
		if (n > 0) {
			last_reply = now;
		} else if (now - last_reply >= (uint64_t)RUN_DRAIN_MS * 1000000u) {
			snprintf(buf, bufsz, "verify: %u look-ups unanswered for %.1f s",
				 onsale_inflight(c), RUN_DRAIN_MS / 1000.0);
			return buf;
		}
		for (int j = 0; j < n; j++) {
			const struct run_order *o = &k->all[cps[j].cookie >> 5];
			unsigned u = (unsigned)(cps[j].cookie & 31);
			const char *bad;
			if (cps[j].rc != ST_OK) {
				snprintf(buf, bufsz, "%s %llu of an acknowledged confirm: %s",
					 pass ? "ticket" : "order",
					 (unsigned long long)(pass ? o->first_ticket + u
								   : o->order_id),
					 run_why(cps[j].rc));
				bad = buf;
			} else if (pass == 0) {
				bad = check_order(o, &cps[j].res.hold, buf, bufsz);
			} else {
				bad = check_ticket(k, o, u, &cps[j].res.ticket, buf, bufsz);
			}
			if (bad)
				return bad;
		}
	}
}

static int gather(struct checked *k)
{
	size_t total = 0;
	for (unsigned w = 0; w < run_opt.connections; w++)
		total += run_workers[w].n_orders;
	k->all = malloc((total ? total : 1) * sizeof *k->all);
	if (!k->all)
		return -ENOMEM;
	size_t units = 0;
	for (unsigned w = 0, j = 0; w < run_opt.connections; w++)
		for (size_t m = 0; m < run_workers[w].n_orders; m++, j++) {
			const struct run_order *o = &k->all[j];
			k->all[j] = run_workers[w].orders[m];
			units += o->qty;
			if (o->tier != VENUE_GA_TIER || run_opt.sc == SC_SEAT ||
			    run_opt.sc == SC_PICK)
				k->seated_live += (size_t)o->qty -
						  (size_t)__builtin_popcount(o->refunded);
		}
	k->n_orders = total;
	k->seats = malloc((units ? units : 1) * sizeof *k->seats);
	return k->seats ? 0 : -ENOMEM;
}

static const char *verify_orders(struct onsale *c, struct checked *k, char *buf, size_t bufsz)
{
	if (gather(k)) {
		snprintf(buf, bufsz, "verify: out of memory");
		return buf;
	}
	const char *bad = lookups(c, k, 0, buf, bufsz);
	if (!bad)
		bad = lookups(c, k, 1, buf, bufsz);
	if (bad)
		return bad;
	qsort(k->seats, k->n_seats, sizeof *k->seats, cmp_u32);
	for (size_t j = 1; j < k->n_seats; j++)
		if (k->seats[j] == k->seats[j - 1]) {
			snprintf(buf, bufsz, "seat %u in two tickets", k->seats[j]);
			return buf;
		}
	if (k->n_seats != k->seated_live) {
		snprintf(buf, bufsz, "%zu seated tickets for %zu confirmed seats", k->n_seats,
			 k->seated_live);
		return buf;
	}
	return NULL;
}

/* Per tier: free + held + sold + killed = capacity; sums capacity, sold. */
static const char *check_tiers(const struct result *res, uint64_t *cap, uint64_t *sold, char *buf,
			       size_t bufsz)
{
	*cap = *sold = 0;
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi && t < res->avail.tier_count; t++) {
		const struct tier_view *v = &res->avail.tiers[t];
		if ((uint64_t)v->free + v->held + v->sold + v->killed != v->capacity) {
			snprintf(buf, bufsz,
				 "tier %u: free %u + held %u + sold %u + killed %u != capacity %u",
				 t, v->free, v->held, v->sold, v->killed, v->capacity);
			return buf;
		}
		*cap += v->capacity;
		*sold += v->sold;
	}
	return NULL;
}

/* The server's redeemed counters (every channel, every tier in play). */
static const char *server_redeemed(struct onsale *c, uint64_t *n, char *buf, size_t bufsz)
{
	struct result res;
	*n = 0;
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi; t++) {
		int rc = onsale_query_stats(c, venue.event_id, (uint8_t)t, &res);
		if (rc) {
			snprintf(buf, bufsz, "stats of tier %u: %s", t, run_why(rc));
			return buf;
		}
		for (unsigned ch = 0; ch < CHANNELS; ch++)
			*n += res.stats.channels[ch].redeemed;
	}
	return NULL;
}

static const char *check_counts(struct onsale *c, uint64_t *sold, char *buf, size_t bufsz)
{
	struct result res;
	uint64_t cap;
	*sold = 0;
	for (unsigned w = 0; w < run_opt.connections; w++) {
		if (run_workers[w].failed) { /* replies lost: outcomes unknown */
			snprintf(buf, bufsz, "connection %u failed (orders not all recorded)", w);
			return buf;
		}
		if (run_workers[w].missing) { /* the server did not answer: nor would it now */
			snprintf(buf, bufsz, "connection %u: %u replies missing (outcomes unknown)",
				 w, run_workers[w].missing);
			return buf;
		}
	}
	int rc = onsale_query_availability(c, venue.event_id, &res);
	if (rc) {
		snprintf(buf, bufsz, "availability query: %s", run_why(rc));
		return buf;
	}
	const char *bad = check_tiers(&res, &cap, sold, buf, bufsz);
	if (bad)
		return bad;
	if (cap != venue.capacity) {
		snprintf(buf, bufsz, "capacity %llu, loaded %llu", (unsigned long long)cap,
			 (unsigned long long)venue.capacity);
		return buf;
	}
	uint64_t acked = atomic_load(&run_units_confirmed_all) -
			 atomic_load(&run_units_refunded_all);
	/* every reply came: a refused confirm or refund changed nothing */
	if (*sold > cap || *sold != acked) {
		snprintf(buf, bufsz,
			 "%llu units sold of %llu, %llu acknowledged (confirms less refunds)",
			 (unsigned long long)*sold, (unsigned long long)cap,
			 (unsigned long long)acked);
		return buf;
	}
	return NULL;
}

static const char *check_gate(struct onsale *c, const struct checked *k, char *buf, size_t bufsz)
{
	uint64_t scans = 0, rescans = 0, refused = 0, server;
	for (unsigned w = 0; w < run_opt.connections; w++) {
		scans += atomic_load(&run_workers[w].redeemed);
		rescans += atomic_load(&run_workers[w].rescans);
		refused += atomic_load(&run_workers[w].rescans_refused);
	}
	const char *bad = server_redeemed(c, &server, buf, bufsz);
	if (bad)
		return bad;
	if (server != scans || k->redeemed != scans) {
		snprintf(buf, bufsz,
			 "server counts %llu redeemed, tickets show %llu, run acknowledged %llu",
			 (unsigned long long)server, (unsigned long long)k->redeemed,
			 (unsigned long long)scans);
		return buf;
	}
	if (refused != rescans) {
		snprintf(buf, bufsz, "%llu of %llu double scans refused with the first scan",
			 (unsigned long long)refused, (unsigned long long)rescans);
		return buf;
	}
	/* stopped early (--duration, --ops) is fine; finished means all */
	int all_done = 1;
	for (unsigned w = 0; w < run_opt.connections; w++)
		all_done &= run_workers[w].redeem_next >= run_workers[w].n_orders;
	if (all_done && scans != k->n_tickets) {
		snprintf(buf, bufsz, "%zu tickets, %llu redeemed", k->n_tickets,
			 (unsigned long long)scans);
		return buf;
	}
	return NULL;
}

const char *verify_outcome(struct onsale *c, char *buf, size_t bufsz)
{
	uint64_t sold;
	struct checked k = {0};
	const char *bad = check_counts(c, &sold, buf, bufsz);
	if (!bad)
		bad = verify_orders(c, &k, buf, bufsz);
	if (!bad && run_opt.sc == SC_GATE)
		bad = check_gate(c, &k, buf, bufsz);
	if (!bad)
		fprintf(stderr,
			"verify: %llu units sold of %llu; %zu orders and %zu tickets checked, %llu redeemed\n",
			(unsigned long long)sold, (unsigned long long)venue.capacity, k.n_orders,
			k.n_tickets, (unsigned long long)k.redeemed);
	free(k.all);
	free(k.seats);
	return bad;
}
