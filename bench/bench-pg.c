/*
 * bench-pg.c — the PostgreSQL peer of onsale-bench (issue 5, `make
 * compare`): the same flash-crowd scenarios, ga-flash and seat-flash,
 * against a PostgreSQL server built the way a team would build ticket
 * on-sales on it (schema and stored functions: bench/bp_schema.c).
 *
 * One thread per connection (libpq, blocking), one transaction in flight
 * per connection: each buyer holds (ga-flash: 1-4 GA units; seat-flash:
 * 1-6 adjacent best-available seats in a random tier), then confirms (80 %)
 * or releases (20 %), and again, until sold out, --duration or --ops. Every
 * operation is a prepared `SELECT fn(...)`: one round trip, one transaction
 * committed with synchronous_commit on. The main thread prints progress each
 * second and runs the hold-expiry sweep. --verify checks the outcome with
 * SQL afterwards. Pipelining (--depth) would not add concurrency: a backend
 * runs one transaction at a time and each commit waits for its WAL flush,
 * so concurrency comes from connections (default 32).
 */
#include <errno.h>
#include <getopt.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bp_schema.h"
#include "bench/ob_hist.h"
#include "bench/ob_report.h"

enum op { OP_HOLD, OP_CONFIRM, OP_RELEASE, OPS };
static const char *const op_names[OPS] = {"hold", "confirm", "release"};
enum scenario { SC_GA, SC_SEAT };

/* Every limit and constant of the peer. The venue matches onsale-bench's. */
#define SEAT_TIERS 4
#define TIERS (SEAT_TIERS + 1)
#define ROW_SEATS 40
#define SECTION_ROWS 100
#define PRICE 5000
#define CUSTOMERS 65536
#define HOLD_TTL_MS 600000   /* onsale's default hold TTL, 10 minutes */
#define ROW_TRIES 64         /* seat rows a best-available hold looks at */
#define SWEEP_MAX 1000       /* holds expired per sweep */
#define CONNECTIONS_MAX 200  /* tools/peer-pg.sh allows 256 */
#define UNITS_MAX 10000000u
#define RECHECKS_MAX 100     /* sold-out rechecks at the end of a run */
#define DURATION_DEFAULT_S 15 /* PostgreSQL sells some thousand units/s */

struct opts {
	const char *host, *dbname, *user, *scenario_name;
	unsigned port, connections, units, seats, buckets, limit;
	double duration;
	uint64_t ops, seed;
	int json, verify, verify_only;
	enum scenario sc;
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
	struct ob_hist hist[OPS];
	_Atomic uint64_t done[OPS], errors, refused, units_sold;
	struct order *orders;
	size_t n_orders, cap_orders;
	int failed;
};

static struct opts O = {.host = "127.0.0.1", .dbname = "bench", .user = "bench",
			.scenario_name = "ga-flash", .port = 5432, .connections = 32,
			.units = 100000, .seats = 20000};
static unsigned tier_lo, tier_hi;
static uint64_t capacity;
static _Atomic int stop, errors_shown;
static _Atomic uint8_t empty[TIERS];
static _Atomic long live_holds;
static _Atomic uint64_t units_confirmed_all;
static struct worker *W;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t rnd(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- libpq ---- */

static PGconn *connect_pg(void)
{
	char port[16];
	snprintf(port, sizeof port, "%u", O.port);
	const char *const keys[] = {"host", "port", "dbname", "user", "options",
				    "application_name", NULL};
	const char *const vals[] = {O.host, port, O.dbname, O.user, "-c search_path=onsale_peer",
				    "bench-pg", NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench-pg: %s:%u: %s", O.host, O.port, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs a prepared statement or SQL text (stmt NULL) that returns one
 * integer; *v is the value. 0 on success, -1 on an SQL error (shown for the
 * first few), -2 when the connection is gone. */
static int call(PGconn *c, const char *stmt, const char *sql, int n, const char *const *vals,
		long long *v)
{
	PGresult *r = stmt ? PQexecPrepared(c, stmt, n, vals, NULL, NULL, 0)
			   : PQexecParams(c, sql, n, NULL, vals, NULL, NULL, 0);
	if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 1) {
		if (atomic_fetch_add(&errors_shown, 1) < 5)
			fprintf(stderr, "bench-pg: %s: %s", stmt ? stmt : sql, PQerrorMessage(c));
		PQclear(r);
		return PQstatus(c) == CONNECTION_OK ? -1 : -2;
	}
	*v = PQgetisnull(r, 0, 0) ? 0 : strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	PQclear(r);
	return 0;
}

static int exec_ok(PGconn *c, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	int st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "bench-pg: %.60s...: %s", sql, PQerrorMessage(c));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

static int prepare(PGconn *c)
{
	static const char *const st[][2] = {
		{"ga_hold", "SELECT ga_hold($1, $2, $3, $4, $5, $6)"},
		{"seat_hold", "SELECT seat_hold($1, $2, $3, $4, $5, $6)"},
		{"confirm", "SELECT confirm_hold($1)"},
		{"release", "SELECT release_hold($1)"},
	};
	for (size_t k = 0; k < sizeof st / sizeof st[0]; k++) {
		PGresult *r = PQprepare(c, st[k][0], st[k][1], 0, NULL);
		int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
		if (!ok)
			fprintf(stderr, "bench-pg: prepare %s: %s", st[k][0], PQerrorMessage(c));
		PQclear(r);
		if (!ok)
			return -1;
	}
	/* Warm the session (PL/pgSQL compiled, plans cached) with calls that
	 * change nothing: a hold larger than any bucket or row, unknown holds. */
	const char *const hold[6] = {O.sc == SC_GA ? "0" : "1", "1000000000", "1", "0", "1000", "1"};
	const char *const none[1] = {"0"};
	long long v;
	for (int k = 0; k < 2; k++)
		if (call(c, O.sc == SC_GA ? "ga_hold" : "seat_hold", NULL, 6, hold, &v) || v != -1 ||
		    call(c, "confirm", NULL, 1, none, &v) || call(c, "release", NULL, 1, none, &v))
			return -1;
	return 0;
}

/* Fresh schema, then the event's stock or seats (not measured). */
static int setup(PGconn *c)
{
	char a[5][24];
	const char *v[5] = {a[0], a[1], a[2], a[3], a[4]};
	long long out;
	if (exec_ok(c, bp_schema_sql))
		return -1;
	if (O.sc == SC_GA) {
		snprintf(a[0], sizeof a[0], "%u", O.units);
		snprintf(a[1], sizeof a[1], "%u", O.buckets);
		snprintf(a[2], sizeof a[2], "%d", PRICE);
		if (call(c, NULL, "SELECT 0 FROM load_ga($1, $2, $3)", 3, v, &out))
			return -1;
		tier_lo = tier_hi = 0;
	} else {
		snprintf(a[0], sizeof a[0], "%u", O.seats);
		snprintf(a[1], sizeof a[1], "%d", ROW_SEATS);
		snprintf(a[2], sizeof a[2], "%d", SECTION_ROWS);
		snprintf(a[3], sizeof a[3], "%d", SEAT_TIERS);
		snprintf(a[4], sizeof a[4], "%d", PRICE);
		if (call(c, NULL, "SELECT 0 FROM load_seats($1, $2, $3, $4, $5)", 5, v, &out))
			return -1;
		tier_lo = 1;
		tier_hi = SEAT_TIERS;
	}
	if (exec_ok(c, "ANALYZE tier, stock, seat_row, seat") ||
	    call(c, NULL, "SELECT coalesce(sum(capacity), 0) FROM tier", 0, NULL, &out))
		return -1;
	capacity = (uint64_t)out;
	return 0;
}

/* ---- the load ---- */

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

static void add_order(struct worker *w, int64_t id, int qty)
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
	w->orders[w->n_orders++] = (struct order){.id = id, .qty = qty};
}

/* One timed call; records its latency under op. */
static int timed(struct worker *w, enum op op, const char *stmt, int n, const char *const *vals,
		 long long *v)
{
	uint64_t t0 = now_ns();
	int rc = call(w->pg, stmt, NULL, n, vals, v);
	ob_hist_record(&w->hist[op], now_ns() - t0);
	count(&w->done[op], 1);
	if (rc)
		count(&w->errors, 1);
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
	if (atomic_fetch_add(&rechecks, 1) >= RECHECKS_MAX)
		return 0;
	int any = 0;
	for (unsigned t = tier_lo; t <= tier_hi; t++) {
		char a[16];
		const char *v[1] = {a};
		long long free_units;
		snprintf(a, sizeof a, "%u", t);
		if (call(w->pg, NULL, q[O.sc == SC_SEAT], 1, v, &free_units) == 0 && free_units > 0) {
			atomic_store(&empty[t], 0);
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
	unsigned maxq = O.sc == SC_GA ? 4 : 6;
	unsigned qty = w->small[t] ? 1 : (unsigned)(1 + rnd(&w->rng) % maxq);
	snprintf(a[0], sizeof a[0], "%u", t);
	snprintf(a[1], sizeof a[1], "%u", qty);
	snprintf(a[2], sizeof a[2], "%llu", (unsigned long long)(1 + rnd(&w->rng) % CUSTOMERS));
	snprintf(a[3], sizeof a[3], "%u", O.limit);
	snprintf(a[4], sizeof a[4], "%d", HOLD_TTL_MS);
	if (O.sc == SC_GA)
		snprintf(a[5], sizeof a[5], "%llu", (unsigned long long)(rnd(&w->rng) % O.buckets));
	else
		snprintf(a[5], sizeof a[5], "%d", ROW_TRIES);
	long long hid, n;
	atomic_fetch_add(&live_holds, 1);
	int rc = timed(w, OP_HOLD, O.sc == SC_GA ? "ga_hold" : "seat_hold", 6, v, &hid);
	if (rc || hid <= 0) {
		if (!rc) {
			count(&w->refused, 1);
			if (hid == -1 && qty > 1)
				w->small[t] = 1;
			else if (hid == -1)
				atomic_store(&empty[t], 1);
		}
		atomic_fetch_sub(&live_holds, 1);
		return rc == -2 ? rc : 0;
	}
	w->small[t] = 0;
	int confirm = rnd(&w->rng) % 100 < 80;
	snprintf(a[0], sizeof a[0], "%lld", hid);
	rc = timed(w, confirm ? OP_CONFIRM : OP_RELEASE, confirm ? "confirm" : "release", 1, v, &n);
	if (!rc && n != (long long)qty) {
		count(&w->errors, 1); /* hold gone (expired) */
	} else if (!rc && confirm) {
		count(&w->units_sold, qty);
		atomic_fetch_add(&units_confirmed_all, qty);
		add_order(w, hid, (int)qty);
	} else if (!rc) {
		atomic_store(&empty[t], 0);
		w->small[t] = 0;
	}
	atomic_fetch_sub(&live_holds, 1);
	return rc == -2 ? rc : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned n = tier_hi - tier_lo + 1;
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		unsigned t = tier_lo + (unsigned)(rnd(&w->rng) % n);
		for (unsigned k = 0; k < n && atomic_load_explicit(&empty[t], memory_order_relaxed); k++)
			t = t == tier_hi ? tier_lo : t + 1;
		if (atomic_load_explicit(&empty[t], memory_order_relaxed)) {
			if (atomic_load(&live_holds) == 0 && all_empty() && !units_free(w)) {
				atomic_store(&stop, 1);
				break;
			}
			usleep(1000);
			continue;
		}
		if (buyer(w, t) == -2) {
			fprintf(stderr, "bench-pg: connection %u lost\n", w->id);
			w->failed = 1;
			atomic_store(&stop, 1);
		}
	}
	return NULL;
}

/* ---- verification ---- */

/* One integer from SQL text; problem written to buf on failure. */
static int q1(PGconn *c, const char *sql, long long *v, char *buf, size_t bufsz)
{
	if (call(c, NULL, sql, 0, NULL, v)) {
		snprintf(buf, bufsz, "verify query failed: %.120s", sql);
		return -1;
	}
	return 0;
}

/* Every acknowledged confirm has its order (same quantity) and exactly that
 * many tickets: the acknowledged ids go up as two arrays. */
static const char *verify_orders(PGconn *c, char *buf, size_t bufsz, size_t *n_orders)
{
	size_t total = 0, len = 0;
	for (unsigned k = 0; k < O.connections; k++)
		total += W[k].n_orders;
	*n_orders = total;
	char *ids = malloc(total * 21 + 3), *qtys = malloc(total * 3 + 3);
	if (!ids || !qtys) {
		free(ids);
		free(qtys);
		snprintf(buf, bufsz, "verify: out of memory");
		return buf;
	}
	size_t lq = 0;
	ids[len++] = '{';
	qtys[lq++] = '{';
	for (unsigned k = 0; k < O.connections; k++)
		for (size_t m = 0; m < W[k].n_orders; m++) {
			len += (size_t)sprintf(ids + len, "%s%lld", len > 1 ? "," : "",
					       (long long)W[k].orders[m].id);
			lq += (size_t)sprintf(qtys + lq, "%s%d", lq > 1 ? "," : "", W[k].orders[m].qty);
		}
	strcpy(ids + len, "}");
	strcpy(qtys + lq, "}");
	const char *v[2] = {ids, qtys};
	long long bad;
	int rc = call(c, NULL,
		      "SELECT coalesce(min(a.id), 0) FROM unnest($1::bigint[], $2::int[]) a(id, qty)"
		      " LEFT JOIN orders o ON o.id = a.id WHERE o.id IS NULL OR o.qty <> a.qty"
		      " OR (SELECT count(*) FROM ticket t WHERE t.order_id = a.id) <> a.qty",
		      2, v, &bad);
	free(ids);
	free(qtys);
	if (rc) {
		snprintf(buf, bufsz, "verify query of the acknowledged orders failed");
		return buf;
	}
	if (bad) {
		snprintf(buf, bufsz, "acknowledged order %lld: missing, wrong quantity or tickets", bad);
		return buf;
	}
	return NULL;
}

static const char *verify(PGconn *c, char *buf, size_t bufsz)
{
	long long cap, free_units, held, sold, tickets, cust, v;
	int seats = O.sc == SC_SEAT;
	if (q1(c, "SELECT coalesce(sum(capacity), 0) FROM tier", &cap, buf, bufsz) ||
	    q1(c,
	       seats ? "SELECT count(*) FROM seat WHERE status = 0"
		     : "SELECT coalesce(sum(available), 0) FROM stock",
	       &free_units, buf, bufsz) ||
	    q1(c, "SELECT coalesce(sum(qty), 0) FROM hold", &held, buf, bufsz) ||
	    q1(c, "SELECT coalesce(sum(qty), 0) FROM orders", &sold, buf, bufsz) ||
	    q1(c, "SELECT count(*) FROM ticket", &tickets, buf, bufsz) ||
	    q1(c, "SELECT coalesce(sum(units), 0) FROM customer_units", &cust, buf, bufsz))
		return buf;
	if ((uint64_t)cap != capacity) {
		snprintf(buf, bufsz, "capacity %lld, loaded %llu", cap, (unsigned long long)capacity);
		return buf;
	}
	if (sold > cap) {
		snprintf(buf, bufsz, "oversold: %lld sold of %lld", sold, cap);
		return buf;
	}
	if (free_units + held + sold != cap) {
		snprintf(buf, bufsz, "free %lld + held %lld + sold %lld != capacity %lld", free_units,
			 held, sold, cap);
		return buf;
	}
	if (tickets != sold || cust != held + sold) {
		snprintf(buf, bufsz, "%lld tickets and %lld customer units for %lld sold, %lld held",
			 tickets, cust, sold, held);
		return buf;
	}
	if ((uint64_t)sold < atomic_load(&units_confirmed_all)) {
		snprintf(buf, bufsz, "%lld units sold, %llu acknowledged", sold,
			 (unsigned long long)atomic_load(&units_confirmed_all));
		return buf;
	}
	if (seats) {
		static const char *const checks[][2] = {
			{"SELECT count(*) FROM (SELECT seat_id FROM ticket WHERE seat_id IS NOT NULL"
			 " GROUP BY seat_id HAVING count(*) > 1) d",
			 "seats in two tickets"},
			{"SELECT count(*) FROM ticket t LEFT JOIN seat s ON s.id = t.seat_id"
			 " WHERE s.id IS NULL OR s.status <> 2",
			 "tickets without a sold seat"},
			{"SELECT count(*) FROM seat WHERE status = 2", "sold seats"},
			{"SELECT count(*) FROM seat WHERE status = 1", "held seats"},
			{"SELECT count(*) FROM seat_row r WHERE free <>"
			 " (SELECT count(*) FROM seat s WHERE s.row_id = r.id AND s.status = 0)",
			 "rows whose free count is wrong"},
		};
		const long long want[] = {0, 0, sold, held, 0};
		for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
			if (q1(c, checks[k][0], &v, buf, bufsz))
				return buf;
			if (v != want[k]) {
				snprintf(buf, bufsz, "%lld %s, expected %lld", v, checks[k][1], want[k]);
				return buf;
			}
		}
	}
	for (unsigned k = 0; k < O.connections; k++)
		if (W[k].failed) {
			snprintf(buf, bufsz, "connection %u failed (orders not all recorded)", k);
			return buf;
		}
	size_t n_orders;
	const char *bad = verify_orders(c, buf, bufsz, &n_orders);
	if (bad)
		return bad;
	fprintf(stderr, "verify: %lld units sold of %lld, %lld held; %zu acknowledged orders checked\n",
		sold, cap, held, n_orders);
	return NULL;
}

/* ---- reporting ---- */

static uint64_t sum_done(int op) /* op < 0: every type */
{
	uint64_t n = 0;
	for (unsigned k = 0; k < O.connections; k++)
		for (int o = 0; o < OPS; o++)
			if (op < 0 || o == op)
				n += atomic_load_explicit(&W[k].done[o], memory_order_relaxed);
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
		"usage: bench-pg [options]\n"
		"onsale-bench's ga-flash and seat-flash against PostgreSQL (the peer of\n"
		"`make compare`): schema \"onsale_peer\" is created afresh in the database,\n"
		"every operation is one stored-function transaction (synchronous_commit as\n"
		"the server is configured; tools/peer-pg.sh starts a suitable server).\n"
		"  --host H            server (127.0.0.1)\n"
		"  --port P            port (5432)\n"
		"  --dbname D          database (bench)\n"
		"  --user U            role (bench)\n"
		"  --scenario S        ga-flash (default) | seat-flash\n"
		"  --connections N     connections, one thread each, one transaction in\n"
		"                      flight each (32, at most %d)\n"
		"  --depth N           accepted for onsale-bench compatibility; only 1: a\n"
		"                      backend runs one transaction at a time\n"
		"  --duration S        stop after S seconds (default: sold out or 15 s)\n"
		"  --ops N             stop after N operations\n"
		"  --units N           ga-flash: GA units (100000)\n"
		"  --seats N           seat-flash: seats (20000)\n"
		"  --buckets N         ga-flash: stock counter rows (default: --connections)\n"
		"  --customer-limit N  units per customer (0: counted, not capped; default)\n"
		"  --seed N            random seed\n"
		"  --json              print one JSON object last\n"
		"  --verify            check the outcome with SQL; exit 1 if broken\n"
		"  --verify-only       no run: check the schema left by an earlier run\n"
		"                      of --scenario (counts, seats; not its orders)\n",
		CONNECTIONS_MAX);
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", required_argument, NULL, 'H'}, {"port", required_argument, NULL, 'p'},
		{"dbname", required_argument, NULL, 'b'}, {"user", required_argument, NULL, 'U'},
		{"scenario", required_argument, NULL, 's'},
		{"connections", required_argument, NULL, 'n'}, {"depth", required_argument, NULL, 'd'},
		{"duration", required_argument, NULL, 'D'}, {"ops", required_argument, NULL, 'o'},
		{"units", required_argument, NULL, 'u'}, {"seats", required_argument, NULL, 'S'},
		{"buckets", required_argument, NULL, 'B'},
		{"customer-limit", required_argument, NULL, 'L'},
		{"seed", required_argument, NULL, 'r'}, {"json", no_argument, NULL, 'j'},
		{"verify", no_argument, NULL, 'v'}, {"verify-only", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	int o;
	unsigned long depth = 1;
	O.seed = (uint64_t)time(NULL);
	while ((o = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end = NULL;
		unsigned long long x = 0;
		if (optarg && o != 'H' && o != 'b' && o != 'U' && o != 's' && o != 'D') {
			errno = 0;
			x = strtoull(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-') {
				fprintf(stderr, "bench-pg: not a number: %s\n", optarg);
				return 2;
			}
		}
		switch (o) {
		case 'H': O.host = optarg; break;
		case 'p': O.port = x <= 65535 ? (unsigned)x : 0; break;
		case 'b': O.dbname = optarg; break;
		case 'U': O.user = optarg; break;
		case 's': O.scenario_name = optarg; break;
		case 'n': O.connections = x <= CONNECTIONS_MAX ? (unsigned)x : 0; break;
		case 'd': depth = (unsigned long)x; break;
		case 'D': O.duration = strtod(optarg, &end);
			if (end == optarg || *end || O.duration <= 0) {
				fprintf(stderr, "bench-pg: bad --duration %s\n", optarg);
				return 2;
			}
			break;
		case 'o': O.ops = x; break;
		case 'u': O.units = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'S': O.seats = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'B': O.buckets = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'L': O.limit = x <= 1000000 ? (unsigned)x : 0; break;
		case 'r': O.seed = x; break;
		case 'j': O.json = 1; break;
		case 'v': O.verify = 1; break;
		case 'V': O.verify = O.verify_only = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !O.port || !O.connections || !O.units || !O.seats) {
		fprintf(stderr, "bench-pg: bad arguments (a number out of range?); see --help\n");
		return 2;
	}
	if (depth != 1) {
		fprintf(stderr, "bench-pg: --depth %lu: each connection has one transaction in flight;"
				" use --connections for concurrency\n", depth);
		return 2;
	}
	if (!strcmp(O.scenario_name, "ga-flash")) {
		O.sc = SC_GA;
	} else if (!strcmp(O.scenario_name, "seat-flash")) {
		O.sc = SC_SEAT;
	} else {
		fprintf(stderr, "bench-pg: scenario %s: only ga-flash and seat-flash\n", O.scenario_name);
		return 2;
	}
	if (!O.buckets)
		O.buckets = O.connections;
	if (O.buckets > O.units)
		O.buckets = O.units;
	if (O.duration <= 0 && !O.ops)
		O.duration = DURATION_DEFAULT_S;
	return 0;
}

/* --verify-only: the checks of --verify on what an earlier run left (no
 * acknowledged orders known). */
static int verify_only(PGconn *admin)
{
	char vbuf[256];
	long long cap;
	tier_lo = O.sc == SC_GA ? 0 : 1;
	tier_hi = O.sc == SC_GA ? 0 : SEAT_TIERS;
	W = calloc(O.connections, sizeof *W);
	const char *bad = !W ? "out of memory"
		: q1(admin, "SELECT coalesce(sum(capacity), 0) FROM tier", &cap, vbuf, sizeof vbuf)
		? vbuf : (capacity = (uint64_t)cap, verify(admin, vbuf, sizeof vbuf));
	printf("verify: %s\n", bad ? bad : "ok");
	free(W);
	PQfinish(admin);
	return bad ? 1 : 0;
}

/* Waits for the workers, printing progress each second and running the
 * expiry sweep; fills the timeline. Returns the measured seconds. */
static double run(PGconn *admin, struct ob_timeline *tl)
{
	static struct ob_snap cur;
	uint64_t t_start = now_ns(), last = t_start;
	while (!atomic_load(&stop)) {
		usleep(10000);
		uint64_t t = now_ns(), ops = sum_done(-1);
		if ((O.duration > 0 && (double)(t - t_start) / 1e9 >= O.duration) ||
		    (O.ops && ops >= O.ops))
			atomic_store(&stop, 1);
		if (t - last < 1000000000u)
			continue;
		char a[16];
		const char *v[1] = {a};
		long long expired = 0;
		snprintf(a, sizeof a, "%d", SWEEP_MAX);
		if (call(admin, NULL, "SELECT expire_holds($1::int)", 1, v, &expired) == 0 && expired)
			fprintf(stderr, "bench-pg: %lld holds expired\n", expired);
		snap_all(&cur, -1);
		ob_progress(stderr, ob_timeline_tick(tl, &cur, (double)(t - t_start) / 1e9,
						     sum_field(offsetof(struct worker, errors)),
						     capacity - atomic_load(&units_confirmed_all)));
		last = t;
	}
	for (unsigned k = 0; k < O.connections; k++)
		pthread_join(W[k].th, NULL);
	double secs = (double)(now_ns() - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) { /* the last part second */
		snap_all(&cur, -1);
		ob_timeline_tick(tl, &cur, secs, sum_field(offsetof(struct worker, errors)),
				 capacity - atomic_load(&units_confirmed_all));
	}
	return secs > 0 ? secs : 1e-9;
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc;
	PGconn *admin = connect_pg();
	if (!admin)
		return 1;
	if (O.verify_only)
		return verify_only(admin);
	if (setup(admin)) {
		fprintf(stderr, "bench-pg: schema set-up failed\n");
		PQfinish(admin);
		return 1;
	}
	fprintf(stderr, "bench-pg: %s, %llu units, %u connections (one transaction each)%s\n",
		O.scenario_name, (unsigned long long)capacity, O.connections,
		O.sc == SC_GA ? "" : ", best available in seat rows");
	W = calloc(O.connections, sizeof *W);
	struct ob_timeline tl;
	if (!W || ob_timeline_init(&tl)) {
		fprintf(stderr, "bench-pg: out of memory\n");
		return 1;
	}
	for (unsigned k = 0; k < O.connections; k++) {
		W[k].id = k;
		W[k].rng = O.seed * 0x100000001b3ull + k + 1;
		if (!(W[k].pg = connect_pg()) || prepare(W[k].pg))
			return 1;
	}
	for (unsigned k = 0; k < O.connections; k++)
		pthread_create(&W[k].th, NULL, worker_main, &W[k]);
	double secs = run(admin, &tl);
	int failed = 0;
	for (unsigned k = 0; k < O.connections; k++)
		failed |= W[k].failed;
	char vbuf[256], extra[96];
	const char *vres = "skipped";
	if (O.verify) {
		const char *bad = verify(admin, vbuf, sizeof vbuf);
		vres = bad ? bad : "ok";
	}
	static struct ob_snap per_op[OPS];
	for (int o = 0; o < OPS; o++)
		snap_all(&per_op[o], o);
	snprintf(extra, sizeof extra, "\"buckets\":%u,\"customer_limit\":%u",
		 O.sc == SC_GA ? O.buckets : 0, O.limit);
	struct ob_run r = {.system = "postgresql", .scenario = O.scenario_name,
			   .units = capacity, .connections = O.connections, .depth = 1,
			   .seconds = secs,
			   .units_sold = sum_field(offsetof(struct worker, units_sold)),
			   .refused = sum_field(offsetof(struct worker, refused)),
			   .errors = sum_field(offsetof(struct worker, errors)), .verify = vres,
			   .n_ops = OPS, .op_names = op_names, .per_op = per_op, .ticks = tl.ticks,
			   .n_ticks = tl.n, .extra_json = extra};
	ob_print_table(stdout, &r);
	if (O.json)
		ob_print_json(stdout, &r);
	ob_timeline_free(&tl);
	for (unsigned k = 0; k < O.connections; k++) {
		PQfinish(W[k].pg);
		free(W[k].orders);
	}
	PQfinish(admin);
	free(W);
	return (O.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
