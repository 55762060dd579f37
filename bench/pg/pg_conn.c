/*
 * pg_conn.c — bench-pg's libpq calls: connections with the peer's
 * search_path, one-integer calls of prepared statements or SQL, the
 * prepared operations with a session warm-up, and the schema set-up of a
 * run (bench/pg/pg_schema.c, then the event's stock or seats).
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench/pg/pg.h"
#include "bench/pg/pg_schema.h"

static _Atomic int errors_shown;

PGconn *pg_connect(void)
{
	char port[16];
	snprintf(port, sizeof port, "%u", pg_opt.port);
	const char *const keys[] = {"host", "port", "dbname", "user", "options", "application_name",
				    NULL};
	const char *const vals[] = {
		pg_opt.host, port, pg_opt.dbname, pg_opt.user, "-c search_path=onsale_peer",
		"bench-pg",  NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 0);
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "bench-pg: %s:%u: %s", pg_opt.host, pg_opt.port, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* Runs a prepared statement or SQL text (stmt NULL) that returns one
 * integer; *v is the value. 0 on success, -1 on an SQL error (shown for the
 * first few), -2 when the connection is gone. */
int pg_call(PGconn *c, const char *stmt, const char *sql, int n, const char *const *vals,
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

int pg_exec(PGconn *c, const char *sql)
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

int pg_prepare(PGconn *c)
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
	const char *const hold[6] = {
		pg_opt.sc == SC_GA ? "0" : "1", "1000000000", "1", "0", "1000", "1"};
	const char *const none[1] = {"0"};
	long long v;
	for (int k = 0; k < 2; k++)
		if (pg_call(c, pg_opt.sc == SC_GA ? "ga_hold" : "seat_hold", NULL, 6, hold, &v) ||
		    v != -1 || pg_call(c, "confirm", NULL, 1, none, &v) ||
		    pg_call(c, "release", NULL, 1, none, &v))
			return -1;
	return 0;
}

/* Fresh schema, then the event's stock or seats (not measured). */
int pg_setup(PGconn *c)
{
	char a[5][24];
	const char *v[5] = {a[0], a[1], a[2], a[3], a[4]};
	long long out;
	if (pg_exec(c, pg_schema_sql))
		return -1;
	if (pg_opt.sc == SC_GA) {
		snprintf(a[0], sizeof a[0], "%u", pg_opt.units);
		snprintf(a[1], sizeof a[1], "%u", pg_opt.buckets);
		snprintf(a[2], sizeof a[2], "%d", PRICE);
		if (pg_call(c, NULL, "SELECT 0 FROM load_ga($1, $2, $3)", 3, v, &out))
			return -1;
		pg_tier_lo = pg_tier_hi = 0;
	} else {
		snprintf(a[0], sizeof a[0], "%u", pg_opt.seats);
		snprintf(a[1], sizeof a[1], "%d", ROW_SEATS);
		snprintf(a[2], sizeof a[2], "%d", SECTION_ROWS);
		snprintf(a[3], sizeof a[3], "%d", SEAT_TIERS);
		snprintf(a[4], sizeof a[4], "%d", PRICE);
		if (pg_call(c, NULL, "SELECT 0 FROM load_seats($1, $2, $3, $4, $5)", 5, v, &out))
			return -1;
		pg_tier_lo = 1;
		pg_tier_hi = SEAT_TIERS;
	}
	if (pg_exec(c, "ANALYZE tier, stock, seat_row, seat") ||
	    pg_call(c, NULL, "SELECT coalesce(sum(capacity), 0) FROM tier", 0, NULL, &out))
		return -1;
	pg_capacity = (uint64_t)out;
	return 0;
}
