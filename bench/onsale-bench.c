/*
 * onsale-bench.c — flash-crowd load generator against a running onsaled
 * (issue 5, first cut: ga-flash and seat-flash, closed loop).
 *
 * Creates its own event through the admin role, then drives it over
 * --connections platform connections, one thread each, with --depth
 * requests in flight per connection (libonsale's pipelined interface).
 * Each in-flight slot is one buyer: hold 1-4 GA units (ga-flash) or 1-6
 * adjacent best-available seats in a random tier (seat-flash), then confirm
 * (80 %) or release (20 %), and again, until sold out, --duration or --ops.
 * Latency is measured from submit to completion per operation type in a
 * log-linear histogram (bench/ob_hist.c). --verify checks the result
 * through the server afterwards (availability counters, every acknowledged
 * order and its tickets, no seat twice).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/ob_hist.h"
#include "bench/ob_report.h"
#include "net/onsale.h"

enum op { OP_HOLD, OP_CONFIRM, OP_RELEASE, OPS };
static const char *const op_names[OPS] = {"hold", "confirm", "release"};
enum scenario { SC_GA, SC_SEAT };

#define SEAT_TIERS 4
#define ROW_SEATS 40
#define SECTION_ROWS 100
#define PRICE 5000u

struct opts {
	const char *host, *config, *scenario_name;
	uint16_t port;
	unsigned connections, depth, units, seats;
	double duration, warmup, rate;
	uint64_t ops, seed;
	int json, verify;
	enum scenario sc;
};

struct order {
	uint64_t order_id, first_ticket;
	uint8_t qty, tier;
};

struct slot {
	uint64_t t0, hold_id, amount;
	uint8_t op, tier, qty, busy;
};

struct worker {
	pthread_t th;
	unsigned id;
	struct onsale *c;
	uint64_t rng;
	struct slot *slots;
	uint8_t small[TIERS_MAX]; /* ask this tier for one unit only */
	struct ob_hist hist[OPS];
	_Atomic uint64_t done[OPS], errors, refused, units_sold;
	struct order *orders;
	size_t n_orders, cap_orders;
	int failed;
	uint64_t next_due; /* open loop: intended start of the next hold */
};

static struct opts O = {.host = "127.0.0.1", .config = "var/onsaled.conf",
			.scenario_name = "ga-flash", .port = ONSALE_PORT_DEFAULT,
			.connections = 4, .depth = 32, .units = 100000, .seats = 20000};
static uint32_t event_id;
static unsigned tier_lo, tier_hi; /* tiers in play */
static uint64_t capacity;
static _Atomic int stop, recording;
static _Atomic uint8_t empty[TIERS_MAX];
static _Atomic long live_holds;
static _Atomic uint64_t units_confirmed_all; /* also during warm-up */
static uint8_t key_platform[ONSALE_KEY_BYTES], key_admin[ONSALE_KEY_BYTES];
static struct worker *W;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static uint64_t rnd(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static const char *why(int rc)
{
	return rc > 0 ? status_name((enum status)rc) : onsale_strerror(rc);
}

/* ---- setup: the event ---- */

static int load_sections(struct onsale *c)
{
	static struct row_spec rows[SECTION_ROWS];
	static struct seat_spec seats[SECTION_ROWS * ROW_SEATS];
	unsigned left = O.seats, total_rows = (O.seats + ROW_SEATS - 1) / ROW_SEATS, row0 = 0;
	struct result res;
	for (uint16_t s = 0; left; s++) {
		unsigned nrows = 0, nseats = 0;
		while (nrows < SECTION_ROWS && left) {
			unsigned n = left < ROW_SEATS ? left : ROW_SEATS;
			struct row_spec *r = &rows[nrows];
			memset(r, 0, sizeof *r);
			snprintf(r->label, sizeof r->label, "%u", nrows + 1);
			r->seat_count = (uint16_t)n;
			r->first_number = 1;
			unsigned grow = row0 + nrows; /* rows over all sections: tiers by distance */
			for (unsigned i = 0; i < n; i++) {
				struct seat_spec *st = &seats[nseats + i];
				unsigned off = i < ROW_SEATS / 2 ? ROW_SEATS / 2 - i : i - ROW_SEATS / 2;
				st->tier = (uint8_t)(1 + (uint64_t)grow * SEAT_TIERS / total_rows);
				st->flags = 0;
				st->rank = (uint16_t)(nrows * 64 + off);
			}
			nseats += n;
			left -= n;
			nrows++;
		}
		struct cmd_section sec = {.event_id = event_id, .section = s,
					  .row_count = (uint16_t)nrows, .rows = rows, .seats = seats};
		snprintf(sec.name, sizeof sec.name, "Bench %u", (unsigned)s + 1u);
		int rc = onsale_section_load(c, &sec, &res);
		if (rc)
			return rc;
		row0 += nrows;
	}
	return 0;
}

static int setup_event(struct onsale *c)
{
	struct result res;
	unsigned units = O.sc == SC_GA ? O.units : O.seats;
	struct cmd_event ev = {.event_id = event_id, .state = EVENT_ON_SALE, .customer_limit = 0,
			       .units_max = units, .starts_at_ms = wall_ms() + 86400000ull,
			       .presale_start_ms = 1, .public_start_ms = 2,
			       .sales_end_ms = wall_ms() + 86400000ull};
	snprintf(ev.name, sizeof ev.name, "onsale-bench %s", O.scenario_name);
	snprintf(ev.venue, sizeof ev.venue, "Bench venue");
	int rc = onsale_event_create(c, &ev, &res);
	if (rc)
		return rc;
	if (O.sc == SC_GA) {
		struct cmd_tier t = {.event_id = event_id, .tier = 0, .kind = TIER_GA,
				     .capacity = O.units, .price_minor = PRICE};
		snprintf(t.name, sizeof t.name, "GA");
		tier_lo = tier_hi = 0;
		return onsale_tier_add(c, &t, &res);
	}
	for (uint8_t k = 1; k <= SEAT_TIERS; k++) {
		struct cmd_tier t = {.event_id = event_id, .tier = k, .kind = TIER_RESERVED,
				     .price_minor = PRICE + 1000u * (SEAT_TIERS - k)};
		snprintf(t.name, sizeof t.name, "Tier %u", k);
		if ((rc = onsale_tier_add(c, &t, &res)))
			return rc;
	}
	tier_lo = 1;
	tier_hi = SEAT_TIERS;
	return load_sections(c);
}

/* ---- the load ---- */

static void add_order(struct worker *w, const struct hold_view *h)
{
	if (!O.verify)
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
	w->orders[w->n_orders++] = (struct order){.order_id = h->hold_id,
						  .first_ticket = h->first_ticket_id,
						  .qty = h->qty, .tier = h->tier};
}

static void count(_Atomic uint64_t *a, uint64_t n)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static int all_empty(void)
{
	for (unsigned t = tier_lo; t <= tier_hi; t++)
		if (!atomic_load(&empty[t]))
			return 0;
	return 1;
}

/* Starts the next request of an idle slot: 1 submitted, 0 nothing to do now,
 * -errno on a connection failure. */
static int start_hold(struct worker *w, unsigned i, uint64_t t0)
{
	struct slot *s = &w->slots[i];
	struct cmd cmd;
	if (atomic_load_explicit(&stop, memory_order_relaxed))
		return 0;
	unsigned n = tier_hi - tier_lo + 1, t = tier_lo + (unsigned)(rnd(&w->rng) % n);
	for (unsigned k = 0; k < n && atomic_load_explicit(&empty[t], memory_order_relaxed); k++)
		t = t == tier_hi ? tier_lo : t + 1;
	if (atomic_load_explicit(&empty[t], memory_order_relaxed))
		return 0;
	unsigned maxq = O.sc == SC_GA ? 4 : 6;
	uint8_t qty = w->small[t] ? 1 : (uint8_t)(1 + rnd(&w->rng) % maxq);
	uint64_t cust = 1 + rnd(&w->rng) % 65536;
	if (O.sc == SC_GA)
		onsale_prep_hold_ga(&cmd, event_id, (uint8_t)t, qty, cust, 0);
	else
		onsale_prep_hold_best(&cmd, event_id, (uint8_t)t, qty, cust, 0);
	s->op = OP_HOLD;
	s->tier = (uint8_t)t;
	s->qty = qty;
	s->t0 = t0 ? t0 : now_ns();
	int rc = onsale_submit(w->c, &cmd, i, NULL);
	if (rc)
		return rc == -EBUSY || rc == -EAGAIN ? 0 : rc;
	s->busy = 1;
	atomic_fetch_add(&live_holds, 1);
	return 1;
}

static int follow_up(struct worker *w, unsigned i, enum op op)
{
	struct slot *s = &w->slots[i];
	struct cmd cmd;
	if (op == OP_CONFIRM)
		onsale_prep_confirm(&cmd, event_id, s->hold_id, s->amount, "bench");
	else
		onsale_prep_hold_release(&cmd, event_id, s->hold_id);
	s->op = (uint8_t)op;
	s->t0 = now_ns();
	int rc;
	while ((rc = onsale_submit(w->c, &cmd, i, NULL)) == -EAGAIN)
		onsale_flush(w->c);
	return rc;
}

/* One completion: records it and submits the slot's next step if any. */
static int complete(struct worker *w, const struct onsale_completion *cp, uint64_t t1)
{
	unsigned i = (unsigned)cp->cookie;
	struct slot *s = &w->slots[i];
	int rec = atomic_load_explicit(&recording, memory_order_relaxed);
	if (rec) {
		ob_hist_record(&w->hist[s->op], t1 - s->t0);
		count(&w->done[s->op], 1);
	}
	s->busy = 0;
	if (cp->rc < 0)
		return cp->rc;
	if (s->op == OP_HOLD) {
		if (cp->rc == ST_OK) {
			s->hold_id = cp->res.hold.hold_id;
			s->amount = cp->res.hold.amount_due_minor;
			s->qty = cp->res.hold.qty;
			w->small[s->tier] = 0;
			int confirm = rnd(&w->rng) % 100 < 80;
			int rc = follow_up(w, i, confirm ? OP_CONFIRM : OP_RELEASE);
			if (rc)
				return rc;
			s->busy = 1;
			return 0;
		}
		atomic_fetch_sub(&live_holds, 1);
		if (cp->rc == ST_SOLD_OUT || cp->rc == ST_NO_ADJACENT_SEATS) {
			if (rec)
				count(&w->refused, 1);
			if (s->qty > 1)
				w->small[s->tier] = 1;
			else
				atomic_store(&empty[s->tier], 1);
		} else if (rec) {
			count(&w->errors, 1);
		}
		return 0;
	}
	if (cp->rc != ST_OK) {
		if (rec)
			count(&w->errors, 1);
	} else if (s->op == OP_CONFIRM) {
		if (rec)
			count(&w->units_sold, s->qty);
		atomic_fetch_add(&units_confirmed_all, s->qty);
		add_order(w, &cp->res.hold);
	} else {
		atomic_store(&empty[s->tier], 0);
		w->small[s->tier] = 0;
	}
	atomic_fetch_sub(&live_holds, 1);
	return 0;
}

/* Every tier refused a single unit and no hold is live: sold out, unless a
 * refusal was transient (GA stock on its way between shards). Asks the
 * server (a synchronous call, nothing in flight here); free units found
 * reopen their tiers. 1 if so, 0 when sold out (or after 100 rechecks). */
static int units_free(struct worker *w)
{
	static _Atomic unsigned rechecks;
	struct result res;
	if (atomic_fetch_add(&rechecks, 1) >= 100 ||
	    onsale_query_availability(w->c, event_id, &res) != ST_OK)
		return 0;
	int any = 0;
	for (unsigned t = tier_lo; t <= tier_hi && t < res.avail.tier_count; t++)
		if (res.avail.tiers[t].free) {
			atomic_store(&empty[t], 0);
			w->small[t] = 0;
			any = 1;
		}
	return any;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct onsale_completion cps[64];
	unsigned depth = O.depth;
	/* open loop: this connection's share of the holds, half of --rate */
	uint64_t interval = O.rate > 0 ? (uint64_t)(2e9 * O.connections / O.rate) : 0;
	w->next_due = now_ns();
	for (;;) {
		int stopping = atomic_load_explicit(&stop, memory_order_relaxed);
		unsigned started = 0;
		for (unsigned i = 0; i < depth && !stopping; i++) {
			if (w->slots[i].busy)
				continue;
			if (interval && now_ns() < w->next_due)
				break;
			int rc = start_hold(w, i, interval ? w->next_due : 0);
			if (rc > 0 && interval)
				w->next_due += interval;
			if (rc < 0) {
				fprintf(stderr, "onsale-bench: connection %u: %s\n", w->id, why(rc));
				w->failed = 1;
				atomic_store(&stop, 1);
				return NULL;
			}
			started += (unsigned)rc;
		}
		if (!onsale_inflight(w->c)) {
			if (stopping)
				break;
			if (all_empty() && atomic_load(&live_holds) == 0 && !units_free(w)) {
				atomic_store(&stop, 1);
				break;
			}
			if (!started) {
				uint64_t t = now_ns();
				if (interval && w->next_due > t && w->next_due - t < 200000u) {
					struct timespec ts = {0, (long)(w->next_due - t)};
					nanosleep(&ts, NULL);
				} else {
					usleep(200);
				}
			}
			continue;
		}
		long pending = onsale_flush(w->c);
		int n;
		if (!interval) {
			n = onsale_poll(w->c, cps, 64, 100);
		} else if (!(n = onsale_poll(w->c, cps, 64, 0))) {
			/* sleep until a reply or the next hold is due, whichever first */
			uint64_t t = now_ns(), wait = w->next_due > t ? w->next_due - t : 0;
			if (wait > 100000000u)
				wait = 100000000u;
			struct pollfd pfd = {.fd = onsale_fd(w->c),
					     .events = (short)(POLLIN | (pending > 0 ? POLLOUT : 0))};
			struct timespec ts = {(time_t)(wait / 1000000000u), (long)(wait % 1000000000u)};
			if (wait)
				ppoll(&pfd, 1, &ts, NULL);
			continue;
		}
		if (n < 0) {
			fprintf(stderr, "onsale-bench: connection %u: %s\n", w->id, why(n));
			w->failed = 1;
			atomic_store(&stop, 1);
			return NULL;
		}
		uint64_t t1 = now_ns();
		for (int k = 0; k < n; k++) {
			int rc = complete(w, &cps[k], t1);
			if (rc < 0) {
				fprintf(stderr, "onsale-bench: connection %u: %s\n", w->id, why(rc));
				w->failed = 1;
				atomic_store(&stop, 1);
				return NULL;
			}
		}
	}
	return NULL;
}

/* ---- verification ---- */

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Pipelined lookups on the admin connection: for each order Q_ORDER, then
 * Q_TICKET for each of its tickets. Returns a problem or NULL. */
static const char *verify_orders(struct onsale *c, char *buf, size_t bufsz, uint64_t *n_orders,
				 uint64_t *n_tickets)
{
	size_t total = 0, nt = 0;
	for (unsigned k = 0; k < O.connections; k++)
		total += W[k].n_orders;
	struct order *all = malloc((total ? total : 1) * sizeof *all);
	size_t units = 0;
	for (unsigned k = 0, j = 0; k < O.connections; k++)
		for (size_t m = 0; m < W[k].n_orders; m++, j++) {
			all[j] = W[k].orders[m];
			units += all[j].qty;
		}
	uint32_t *seats = malloc((units ? units : 1) * sizeof *seats);
	size_t nseats = 0;
	struct onsale_completion cps[64];
	const char *bad = NULL;
	/* pass 0: orders; pass 1: tickets (cookie = order index << 5 | unit) */
	for (int pass = 0; pass < 2 && !bad; pass++) {
		size_t next = 0, unit = 0;
		for (;;) {
			while (next < total) {
				struct cmd cmd;
				if (pass == 0)
					onsale_prep_lookup(&cmd, CMD_Q_ORDER, event_id, all[next].order_id);
				else
					onsale_prep_lookup(&cmd, CMD_Q_TICKET, event_id,
							   all[next].first_ticket + unit);
				int rc = onsale_submit(c, &cmd, (uint64_t)next << 5 | unit, NULL);
				if (rc == -EBUSY || rc == -EAGAIN)
					break;
				if (rc) {
					snprintf(buf, bufsz, "verify connection: %s", why(rc));
					bad = buf;
					goto out;
				}
				if (pass == 0 || ++unit == all[next].qty) {
					next++;
					unit = 0;
				}
			}
			if (!onsale_inflight(c))
				break;
			onsale_flush(c);
			int n = onsale_poll(c, cps, 64, 1000);
			if (n < 0) {
				snprintf(buf, bufsz, "verify connection: %s", why(n));
				bad = buf;
				goto out;
			}
			for (int k = 0; k < n && !bad; k++) {
				const struct order *o = &all[cps[k].cookie >> 5];
				unsigned u = (unsigned)(cps[k].cookie & 31);
				if (cps[k].rc != ST_OK) {
					snprintf(buf, bufsz, "%s %llu of an acknowledged confirm: %s",
						 pass ? "ticket" : "order",
						 (unsigned long long)(pass ? o->first_ticket + u : o->order_id),
						 why(cps[k].rc));
					bad = buf;
				} else if (pass == 0 && (cps[k].res.hold.state != HOLD_CONFIRMED ||
							 cps[k].res.hold.qty != o->qty)) {
					snprintf(buf, bufsz, "order %llu: state %u qty %u, confirmed qty %u",
						 (unsigned long long)o->order_id, cps[k].res.hold.state,
						 cps[k].res.hold.qty, o->qty);
					bad = buf;
				} else if (pass == 1) {
					const struct ticket_view *t = &cps[k].res.ticket;
					if (t->order_id != o->order_id || t->state != TICKET_VALID) {
						snprintf(buf, bufsz,
							 "ticket %llu: order %llu state %u, expected order %llu valid",
							 (unsigned long long)t->ticket_id,
							 (unsigned long long)t->order_id, t->state,
							 (unsigned long long)o->order_id);
						bad = buf;
					} else if (t->seat != SEAT_NONE) {
						seats[nseats++] = t->seat;
					}
					nt++;
				}
			}
		}
	}
	if (!bad && nseats) {
		qsort(seats, nseats, sizeof *seats, cmp_u32);
		for (size_t k = 1; k < nseats && !bad; k++)
			if (seats[k] == seats[k - 1]) {
				snprintf(buf, bufsz, "seat %u in two tickets", seats[k]);
				bad = buf;
			}
	}
	if (!bad && O.sc == SC_SEAT && nseats != units) {
		snprintf(buf, bufsz, "%zu seated tickets for %zu confirmed seats", nseats, units);
		bad = buf;
	}
out:
	*n_orders = total;
	*n_tickets = nt;
	free(all);
	free(seats);
	return bad;
}

static const char *verify(struct onsale *c, char *buf, size_t bufsz)
{
	struct result res;
	int rc = onsale_query_availability(c, event_id, &res);
	if (rc) {
		snprintf(buf, bufsz, "availability query: %s", why(rc));
		return buf;
	}
	uint64_t cap = 0, sold = 0;
	for (unsigned t = tier_lo; t <= tier_hi && t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		if ((uint64_t)v->free + v->held + v->sold + v->killed != v->capacity) {
			snprintf(buf, bufsz, "tier %u: free %u + held %u + sold %u + killed %u != capacity %u",
				 t, v->free, v->held, v->sold, v->killed, v->capacity);
			return buf;
		}
		cap += v->capacity;
		sold += v->sold;
	}
	if (cap != capacity) {
		snprintf(buf, bufsz, "capacity %llu, loaded %llu", (unsigned long long)cap,
			 (unsigned long long)capacity);
		return buf;
	}
	if (sold > cap) {
		snprintf(buf, bufsz, "oversold: %llu sold of %llu", (unsigned long long)sold,
			 (unsigned long long)cap);
		return buf;
	}
	uint64_t acked = atomic_load(&units_confirmed_all);
	if (sold < acked) {
		snprintf(buf, bufsz, "%llu units sold, %llu acknowledged", (unsigned long long)sold,
			 (unsigned long long)acked);
		return buf;
	}
	for (unsigned k = 0; k < O.connections; k++)
		if (W[k].failed) {
			snprintf(buf, bufsz, "connection %u failed (orders not all recorded)", k);
			return buf;
		}
	uint64_t no, nt;
	const char *bad = verify_orders(c, buf, bufsz, &no, &nt);
	if (bad)
		return bad;
	fprintf(stderr, "verify: %llu units sold of %llu; %llu orders and %llu tickets checked\n",
		(unsigned long long)sold, (unsigned long long)cap, (unsigned long long)no,
		(unsigned long long)nt);
	return NULL;
}

/* ---- reporting ---- */

static uint64_t sum_done(enum op op)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < O.connections; k++)
		n += atomic_load_explicit(&W[k].done[op], memory_order_relaxed);
	return n;
}

static uint64_t sum_field(size_t off)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < O.connections; k++)
		n += atomic_load_explicit((_Atomic uint64_t *)((char *)&W[k] + off),
					  memory_order_relaxed);
	return n;
}

static void snap_all(struct ob_snap *s, int op) /* op < 0: every type */
{
	ob_snap_clear(s);
	for (unsigned k = 0; k < O.connections; k++)
		for (int o = 0; o < OPS; o++)
			if (op < 0 || o == op)
				ob_snap_add(s, &W[k].hist[o]);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onsale-bench [options]\n"
		"Flash-crowd load against a running onsaled; creates its own event.\n"
		"  --host H            server (127.0.0.1)\n"
		"  --port P            port (%u)\n"
		"  --config FILE       role keys (var/onsaled.conf; admin_key, platform_key)\n"
		"  --scenario S        ga-flash (default) | seat-flash; seat-pick, mixed,\n"
		"                      gate-rush: not implemented yet\n"
		"  --connections N     connections, one thread each (4)\n"
		"  --depth N           requests in flight per connection (32)\n"
		"  --duration S        stop after S seconds (default: sold out or 30 s)\n"
		"  --ops N             stop after N operations\n"
		"  --warmup S          seconds not measured at the start (0)\n"
		"  --rate R            open loop: R operations/s in all (holds started at R/2\n"
		"                      on schedule, latency from the intended start); default:\n"
		"                      closed loop\n"
		"  --units N           ga-flash: GA units (100000)\n"
		"  --seats N           seat-flash: seats (20000)\n"
		"  --seed N            random seed (also picks the event id)\n"
		"  --json              print one JSON object last\n"
		"  --verify            check the outcome through the server; exit 1 if broken\n",
		(unsigned)ONSALE_PORT_DEFAULT);
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'}, {"scenario", required_argument, NULL, 's'},
		{"connections", required_argument, NULL, 'n'}, {"depth", required_argument, NULL, 'd'},
		{"duration", required_argument, NULL, 'D'}, {"ops", required_argument, NULL, 'o'},
		{"warmup", required_argument, NULL, 'w'}, {"units", required_argument, NULL, 'u'},
		{"seats", required_argument, NULL, 'S'}, {"seed", required_argument, NULL, 'r'},
		{"rate", required_argument, NULL, 'R'},
		{"json", no_argument, NULL, 'j'}, {"verify", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	int o;
	O.seed = (uint64_t)time(NULL);
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (o) {
		case 'H': O.host = optarg; break;
		case 'p': O.port = (uint16_t)atoi(optarg); break;
		case 'c': O.config = optarg; break;
		case 's': O.scenario_name = optarg; break;
		case 'n': O.connections = (unsigned)atoi(optarg); break;
		case 'd': O.depth = (unsigned)atoi(optarg); break;
		case 'D': O.duration = atof(optarg); break;
		case 'o': O.ops = strtoull(optarg, NULL, 10); break;
		case 'w': O.warmup = atof(optarg); break;
		case 'u': O.units = (unsigned)atoi(optarg); break;
		case 'S': O.seats = (unsigned)atoi(optarg); break;
		case 'r': O.seed = strtoull(optarg, NULL, 10); break;
		case 'R': O.rate = atof(optarg); break;
		case 'j': O.json = 1; break;
		case 'v': O.verify = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !O.connections || O.connections > 256 || !O.depth ||
	    O.depth > ONSALE_WINDOW_MAX || !O.units || O.units > EVENT_UNITS_MAX || !O.seats ||
	    O.seats > SEATS_MAX) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(O.scenario_name, "ga-flash")) {
		O.sc = SC_GA;
	} else if (!strcmp(O.scenario_name, "seat-flash")) {
		O.sc = SC_SEAT;
	} else if (!strcmp(O.scenario_name, "seat-pick") || !strcmp(O.scenario_name, "mixed") ||
		   !strcmp(O.scenario_name, "gate-rush")) {
		fprintf(stderr, "onsale-bench: scenario %s: not implemented yet\n", O.scenario_name);
		return 2;
	} else {
		fprintf(stderr, "onsale-bench: unknown scenario %s\n", O.scenario_name);
		return 2;
	}
	if (O.duration <= 0 && !O.ops)
		O.duration = 30;
	return 0;
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc;
	if ((rc = onsale_key_from_config(O.config, ONSALE_ROLE_ADMIN, key_admin)) ||
	    (rc = onsale_key_from_config(O.config, ONSALE_ROLE_PLATFORM, key_platform))) {
		fprintf(stderr, "onsale-bench: keys from %s: %s\n", O.config, why(rc));
		return 1;
	}
	struct onsale *admin;
	if ((rc = onsale_open(O.host, O.port, ONSALE_ROLE_ADMIN, key_admin, NULL, &admin))) {
		fprintf(stderr, "onsale-bench: %s:%u: %s\n", O.host, O.port, why(rc));
		return 1;
	}
	uint64_t seed = O.seed;
	for (int tries = 0;; tries++) {
		event_id = (uint32_t)(((uint64_t)time(NULL) * 1000003u + rnd(&seed)) % 0x7fffffffu) + 1u;
		rc = setup_event(admin);
		if (rc != ST_EVENT_EXISTS || tries > 8)
			break;
	}
	if (rc) {
		fprintf(stderr, "onsale-bench: creating event %u: %s\n", event_id, why(rc));
		onsale_close(admin);
		return 1;
	}
	struct result res;
	if ((rc = onsale_query_availability(admin, event_id, &res))) {
		fprintf(stderr, "onsale-bench: availability: %s\n", why(rc));
		return 1;
	}
	for (unsigned t = tier_lo; t <= tier_hi && t < res.avail.tier_count; t++)
		capacity += res.avail.tiers[t].capacity;
	fprintf(stderr, "onsale-bench: %s, event %u, %llu units, %u connections x depth %u\n",
		O.scenario_name, event_id, (unsigned long long)capacity, O.connections, O.depth);

	W = calloc(O.connections, sizeof *W);
	struct onsale_options copt = {.window = O.depth};
	for (unsigned k = 0; k < O.connections; k++) {
		W[k].id = k;
		W[k].rng = O.seed * 0x100000001b3ull + k + 1;
		W[k].slots = calloc(O.depth, sizeof *W[k].slots);
		rc = onsale_open(O.host, O.port, ONSALE_ROLE_PLATFORM, key_platform, &copt, &W[k].c);
		if (rc) {
			fprintf(stderr, "onsale-bench: platform connection: %s\n", why(rc));
			return 1;
		}
	}
	if (O.warmup <= 0)
		atomic_store(&recording, 1);
	uint64_t t_begin = now_ns(), t_start = t_begin, t_end = 0;
	for (unsigned k = 0; k < O.connections; k++)
		pthread_create(&W[k].th, NULL, worker_main, &W[k]);

	static struct ob_snap cur;
	struct ob_timeline tl;
	if (ob_timeline_init(&tl)) {
		fprintf(stderr, "onsale-bench: out of memory\n");
		return 1;
	}
	uint64_t last_tick = t_begin;
	while (!atomic_load(&stop)) {
		usleep(10000);
		uint64_t t = now_ns();
		if (!atomic_load(&recording)) {
			if ((double)(t - t_begin) / 1e9 >= O.warmup) {
				atomic_store(&recording, 1);
				t_start = t;
				last_tick = t;
			}
			continue;
		}
		uint64_t ops = sum_done(OP_HOLD) + sum_done(OP_CONFIRM) + sum_done(OP_RELEASE);
		if ((O.duration > 0 && (double)(t - t_start) / 1e9 >= O.duration) ||
		    (O.ops && ops >= O.ops))
			atomic_store(&stop, 1);
		if (t - last_tick >= 1000000000u) {
			snap_all(&cur, -1);
			uint64_t left = capacity - atomic_load(&units_confirmed_all);
			ob_progress(stderr, ob_timeline_tick(&tl, &cur, (double)(t - t_start) / 1e9,
							     sum_field(offsetof(struct worker, errors)),
							     left));
			last_tick = t;
		}
	}
	for (unsigned k = 0; k < O.connections; k++)
		pthread_join(W[k].th, NULL);
	t_end = now_ns();
	if (!atomic_load(&recording))
		t_start = t_end;
	else if ((double)(t_end - t_start) / 1e9 - tl.last_t >= 0.05) { /* the last part second */
		snap_all(&cur, -1);
		ob_timeline_tick(&tl, &cur, (double)(t_end - t_start) / 1e9,
				 sum_field(offsetof(struct worker, errors)),
				 capacity - atomic_load(&units_confirmed_all));
	}
	double secs = (double)(t_end - t_start) / 1e9;
	if (secs <= 0)
		secs = 1e-9;

	uint64_t errors = sum_field(offsetof(struct worker, errors));
	uint64_t refused = sum_field(offsetof(struct worker, refused));
	uint64_t sold = sum_field(offsetof(struct worker, units_sold));
	int failed = 0;
	for (unsigned k = 0; k < O.connections; k++)
		failed |= W[k].failed;

	char vbuf[256];
	const char *vres = "skipped";
	if (O.verify) {
		const char *bad = verify(admin, vbuf, sizeof vbuf);
		vres = bad ? bad : "ok";
	}
	static struct ob_snap per_op[OPS];
	for (int o = 0; o < OPS; o++)
		snap_all(&per_op[o], o);
	struct ob_run run = {.system = "onsale", .scenario = O.scenario_name,
			     .event_id = event_id, .units = capacity,
			     .connections = O.connections, .depth = O.depth, .rate = O.rate,
			     .seconds = secs, .units_sold = sold, .refused = refused,
			     .errors = errors, .verify = vres, .n_ops = OPS,
			     .op_names = op_names, .per_op = per_op, .ticks = tl.ticks,
			     .n_ticks = tl.n};
	ob_print_table(stdout, &run);
	if (O.json)
		ob_print_json(stdout, &run);
	ob_timeline_free(&tl);
	for (unsigned k = 0; k < O.connections; k++) {
		onsale_close(W[k].c);
		free(W[k].slots);
		free(W[k].orders);
	}
	onsale_close(admin);
	free(W);
	return (O.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
