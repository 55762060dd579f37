/*
 * pg_verify.c — bench-pg's --verify: after the run, with SQL on
 * the admin connection: capacity as loaded, nothing oversold, free + held +
 * sold = capacity, tickets = units sold, customer counts = held + sold; for
 * seats no seat in two tickets, every ticket's seat sold, seat states
 * matching holds and orders, every row's free count right; and every
 * acknowledged confirm has its order (same quantity) with that many
 * tickets. --verify-only runs the same checks on what an earlier run left
 * (its scenario told by the seat table).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/pg/pg.h"

/* One integer from SQL text; problem written to buf on failure. */
static int query_one(PGconn *c, const char *sql, long long *v, char *buf, size_t bufsz)
{
	if (pg_call(c, NULL, sql, 0, NULL, v)) {
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
	for (unsigned k = 0; k < pg_opt.connections; k++)
		total += pg_workers[k].n_orders;
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
	for (unsigned k = 0; k < pg_opt.connections; k++)
		for (size_t m = 0; m < pg_workers[k].n_orders; m++) {
			len += (size_t)sprintf(ids + len, "%s%lld", len > 1 ? "," : "",
					       (long long)pg_workers[k].orders[m].id);
			lq += (size_t)sprintf(qtys + lq, "%s%d", lq > 1 ? "," : "",
					      pg_workers[k].orders[m].qty);
		}
	strcpy(ids + len, "}");
	strcpy(qtys + lq, "}");
	const char *v[2] = {ids, qtys};
	long long bad;
	int rc = pg_call(
		c, NULL,
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
		snprintf(buf, bufsz, "acknowledged order %lld: missing, wrong quantity or tickets",
			 bad);
		return buf;
	}
	return NULL;
}

/* Units by state, as the tables hold them. */
struct counts {
	long long cap, free_units, held, sold, tickets, cust;
};

/* The counts add up: capacity as loaded, nothing oversold, free + held +
 * sold = capacity, tickets = units sold, customer counts = held + sold, no
 * acknowledged unit missing. NULL, or what broke (in buf). */
static const char *verify_counts(PGconn *c, struct counts *n, char *buf, size_t bufsz)
{
	if (query_one(c, "SELECT coalesce(sum(capacity), 0) FROM tier", &n->cap, buf, bufsz) ||
	    query_one(c,
		      pg_opt.sc == SC_SEAT ? "SELECT count(*) FROM seat WHERE status = 0"
					   : "SELECT coalesce(sum(available), 0) FROM stock",
		      &n->free_units, buf, bufsz) ||
	    query_one(c, "SELECT coalesce(sum(qty), 0) FROM hold", &n->held, buf, bufsz) ||
	    query_one(c, "SELECT coalesce(sum(qty), 0) FROM orders", &n->sold, buf, bufsz) ||
	    query_one(c, "SELECT count(*) FROM ticket", &n->tickets, buf, bufsz) ||
	    query_one(c, "SELECT coalesce(sum(units), 0) FROM customer_units", &n->cust, buf,
		      bufsz))
		return buf;
	if ((uint64_t)n->cap != pg_capacity)
		snprintf(buf, bufsz, "capacity %lld, loaded %llu", n->cap,
			 (unsigned long long)pg_capacity);
	else if (n->sold > n->cap)
		snprintf(buf, bufsz, "oversold: %lld sold of %lld", n->sold, n->cap);
	else if (n->free_units + n->held + n->sold != n->cap)
		snprintf(buf, bufsz, "free %lld + held %lld + sold %lld != capacity %lld",
			 n->free_units, n->held, n->sold, n->cap);
	else if (n->tickets != n->sold || n->cust != n->held + n->sold)
		snprintf(buf, bufsz,
			 "%lld tickets and %lld customer units for %lld sold, %lld held",
			 n->tickets, n->cust, n->sold, n->held);
	else if ((uint64_t)n->sold < atomic_load(&pg_units_confirmed))
		snprintf(buf, bufsz, "%lld units sold, %llu acknowledged", n->sold,
			 (unsigned long long)atomic_load(&pg_units_confirmed));
	else
		return NULL;
	return buf;
}

/* Seats: none in two tickets, every ticket's seat sold, seat states
 * matching holds and orders, every row's free count right. */
static const char *verify_seats(PGconn *c, const struct counts *n, char *buf, size_t bufsz)
{
	static const char *const checks[][2] = {
		{"SELECT count(*) FROM (SELECT seat_id FROM ticket WHERE seat_id IS NOT "
		 "NULL"
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
	const long long want[] = {0, 0, n->sold, n->held, 0};
	for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
		long long v;
		if (query_one(c, checks[k][0], &v, buf, bufsz))
			return buf;
		if (v != want[k]) {
			snprintf(buf, bufsz, "%lld %s, expected %lld", v, checks[k][1], want[k]);
			return buf;
		}
	}
	return NULL;
}

const char *pg_verify(PGconn *c, char *buf, size_t bufsz)
{
	struct counts n;
	const char *bad = verify_counts(c, &n, buf, bufsz);
	if (!bad && pg_opt.sc == SC_SEAT)
		bad = verify_seats(c, &n, buf, bufsz);
	if (bad)
		return bad;
	for (unsigned k = 0; k < pg_opt.connections; k++)
		if (pg_workers[k].failed) {
			snprintf(buf, bufsz, "connection %u failed (orders not all recorded)", k);
			return buf;
		}
	size_t n_orders;
	bad = verify_orders(c, buf, bufsz, &n_orders);
	if (bad)
		return bad;
	fprintf(stderr,
		"verify: %lld units sold of %lld, %lld held; %zu acknowledged orders checked\n",
		n.sold, n.cap, n.held, n_orders);
	return NULL;
}

/* --verify-only: the checks of --verify on what an earlier run left (no
 * acknowledged orders known). */
int pg_verify_only(PGconn *admin)
{
	char vbuf[256];
	long long cap, seats;
	const char *bad = vbuf;
	pg_workers = calloc(pg_opt.connections, sizeof *pg_workers);
	if (!pg_workers) {
		bad = "out of memory";
	} else if (!query_one(admin, "SELECT count(*) FROM seat", &seats, vbuf, sizeof vbuf) &&
		   !query_one(admin, "SELECT coalesce(sum(capacity), 0) FROM tier", &cap, vbuf,
			      sizeof vbuf)) {
		pg_opt.sc = seats ? SC_SEAT : SC_GA; /* the scenario the run left */
		pg_tier_lo = seats ? 1 : 0;
		pg_tier_hi = seats ? SEAT_TIERS : 0;
		pg_capacity = (uint64_t)cap;
		bad = pg_verify(admin, vbuf, sizeof vbuf);
	}
	printf("verify: %s\n", bad ? bad : "ok");
	free(pg_workers);
	PQfinish(admin);
	return bad ? 1 : 0;
}
