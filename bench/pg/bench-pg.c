/*
 * bench-pg.c — the PostgreSQL peer of onsale-bench (`make
 * compare`): the same flash-crowd scenarios, ga-flash and seat-flash,
 * against a PostgreSQL server built the way a team would build ticket
 * on-sales on it (schema and stored functions: bench/pg/pg_schema.c).
 *
 * One thread per connection (libpq, blocking), one transaction in flight
 * per connection: each buyer holds (ga-flash: 1-4 GA units; seat-flash:
 * 1-6 adjacent best-available seats in a random tier), then confirms (80 %)
 * or releases (20 %), and again, until sold out, --duration or --ops. Every
 * operation is a prepared `SELECT fn(...)`: one round trip, one transaction
 * committed with synchronous_commit on. The main thread prints progress each
 * second and runs the hold-expiry sweep (sent without waiting for it, so a
 * stalled server cannot stop the run's clock). Once the run stops, replies
 * still missing after LOAD_DRAIN_MS mean the server stalled or is gone: the
 * run says so and exits 1. --verify checks the outcome with SQL afterwards. Pipelining (--depth) would not add concurrency: a backend
 * runs one transaction at a time and each commit waits for its WAL flush,
 * so concurrency comes from connections (default 16, the best measured).
 */
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/common/opts.h"
#include "bench/common/report.h"
#include "bench/pg/pg.h"

static const char *const op_names[OPS] = {"hold", "confirm", "release"};

static uint64_t sum_field(size_t off)
{
	return load_sum(pg_workers, pg_opt.connections, sizeof *pg_workers, off);
}

static void snap_all(struct hist_snap *s, int op) /* op < 0: every type */
{
	load_snap(s, pg_workers, pg_opt.connections, sizeof *pg_workers,
		  offsetof(struct worker, hist), OPS, op);
}

static const struct opt options[] = {
	OPT_STR("host", "H", &pg_opt.host, "server (127.0.0.1)"),
	OPT_UINT("port", "P", &pg_opt.port, 1, 65535, "port (5432)"),
	OPT_STR("dbname", "D", &pg_opt.dbname, "database (bench)"),
	OPT_STR("user", "U", &pg_opt.user, "role (bench)"),
	OPT_FN("scenario", "S", &pg_opt.scenario_name, opts_flash_scenario,
	       "ga-flash (default) | seat-flash"),
	OPT_UINT("connections", "N", &pg_opt.connections, 1, CONNECTIONS_MAX,
		 "connections, one thread each, one transaction in\n"
		 "flight each (16, at most " OPTS_STR(CONNECTIONS_MAX) ")"),
	OPT_UINT("depth", "N", &pg_opt.depth, 1, UINT32_MAX,
		 "accepted so the same options drive every bench;\n"
		 "ignored (noted on stderr): a backend runs one\n"
		 "transaction at a time, use --connections"),
	OPT_REAL("duration", "S", &pg_opt.duration, 1,
		 "stop after S seconds (default: sold out or " OPTS_STR(DURATION_DEFAULT_S) " s)"),
	OPT_U64("ops", "N", &pg_opt.ops, 1, UINT64_MAX,
		"stop after N operations, or at --duration (default\n" OPTS_STR(
			DURATION_DEFAULT_S) " s) if that comes first"),
	OPT_UINT("units", "N", &pg_opt.units, 1, UNITS_MAX, "ga-flash: GA units (100000)"),
	OPT_UINT("seats", "N", &pg_opt.seats, 1, UNITS_MAX, "seat-flash: seats (20000)"),
	OPT_UINT("buckets", "N", &pg_opt.buckets, 0, UNITS_MAX,
		 "ga-flash: stock counter rows (default: --connections)"),
	OPT_UINT("customer-limit", "N", &pg_opt.limit, 0, 1000000,
		 "units per customer (0: counted, not capped; default)"),
	OPT_UINT("confirm", "PCT", &pg_opt.confirm_pct, 0, 100,
		 "holds confirmed, the rest released (80)"),
	OPT_UINT("abandon", "PCT", &pg_opt.abandon_pct, 0, 100,
		 "holds neither confirmed nor released: left to expire\n"
		 "and be swept back (0)"),
	OPT_UINT("hold-ttl", "MS", &pg_opt.hold_ttl_ms, 1, HOLD_TTL_MS_MAX,
		 "hold time to live (" OPTS_STR(HOLD_TTL_MS) ", at most " OPTS_STR(
			 HOLD_TTL_MS_MAX) ")"),
	OPT_U64("seed", "N", &pg_opt.seed, 0, UINT64_MAX, "random seed"),
	OPT_FLAG("json", &pg_opt.json,
		 "print one JSON object on stdout, nothing else (the\n"
		 "table goes to stderr)"),
	OPT_FLAG("verify", &pg_opt.verify, "check the outcome with SQL; exit 1 if broken"),
	OPT_FLAG("verify-only", &pg_opt.verify_only,
		 "no run: check the schema an earlier run left\n"
		 "(counts, seats; not its acknowledged orders)"),
};

static const struct opts_cmd cmd = OPTS_CMD(
	"bench-pg",
	"onsale-bench's ga-flash and seat-flash against PostgreSQL (the peer of\n"
	"`make compare`): schema \"onsale_peer\" is created afresh in the database,\n"
	"every operation is one stored-function transaction (synchronous_commit as\n"
	"the server is configured; bench/scripts/peer-pg.sh starts a suitable\n"
	"server). A connection still waiting for a reply " OPTS_STR(
		LOAD_DRAIN_MS) " ms after the\n"
			       "run stops is reported (the server stalled or is gone): exit 1.\n",
	options);

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv)
{
	int rc = opts_parse_seeded(&cmd, argc, argv, &pg_opt.seed);
	if (rc)
		return rc;
	pg_opt.sc = strcmp(pg_opt.scenario_name, "ga-flash") ? SC_SEAT : SC_GA;
	if (pg_opt.depth != 1)
		fprintf(stderr,
			"bench-pg: --depth %u ignored: each connection has one transaction in"
			" flight (JSON says depth 1); use --connections for concurrency\n",
			pg_opt.depth);
	if (pg_opt.verify_only)
		pg_opt.verify = 1;
	if (!pg_opt.buckets)
		pg_opt.buckets = pg_opt.connections;
	if (pg_opt.buckets > pg_opt.units)
		pg_opt.buckets = pg_opt.units;
	if (pg_opt.duration <= 0) /* never unbounded, also with --ops */
		pg_opt.duration = DURATION_DEFAULT_S;
	return 0;
}

/* The hold-expiry sweep on the admin connection: sent once a second, its
 * result taken when it has come (sweep_poll), never waited for in the run. */
static bool sweep_busy;

static void sweep_send(PGconn *admin)
{
	char a[16];
	const char *v[1] = {a};
	snprintf(a, sizeof a, "%d", SWEEP_MAX);
	sweep_busy = PQsendQueryParams(admin, "SELECT expire_holds($1::int)", 1, NULL, v, NULL,
				       NULL, 0);
	if (!sweep_busy)
		fprintf(stderr, "bench-pg: expiry sweep: %s", PQerrorMessage(admin));
}

/* Takes the sweep's result if it is there: true once none is outstanding. */
static bool sweep_poll(PGconn *admin)
{
	if (sweep_busy && !PQconsumeInput(admin)) {
		fprintf(stderr, "bench-pg: expiry sweep: %s", PQerrorMessage(admin));
		sweep_busy = false;
	}
	while (sweep_busy && !PQisBusy(admin)) {
		PGresult *r = PQgetResult(admin);
		if (!r) {
			sweep_busy = false;
			break;
		}
		if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1)
			fprintf(stderr, "bench-pg: expiry sweep: %s", PQresultErrorMessage(r));
		else if (!PQgetisnull(r, 0, 0) && strtoll(PQgetvalue(r, 0, 0), NULL, 10))
			fprintf(stderr, "bench-pg: %s holds expired\n", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	return !sweep_busy;
}

/* Waits for the sweep's result until deadline (load_now_ns()): true when
 * it came (or none was out), false when the server did not answer. */
static bool sweep_wait(PGconn *admin, uint64_t deadline)
{
	while (!sweep_poll(admin)) {
		uint64_t t = load_now_ns();
		if (t >= deadline)
			return false;
		struct pollfd p = {.fd = PQsocket(admin), .events = POLLIN};
		poll(&p, 1, (int)((deadline - t) / 1000000u) + 1);
	}
	return true;
}

/* Connections (and the sweep) still waiting for the server LOAD_DRAIN_MS
 * after the run stopped. */
static unsigned stalled;

/* Waits for the workers, printing progress each second and running the
 * expiry sweep; fills the timeline. Returns the measured seconds. */
static double run(PGconn *admin, struct report_timeline *tl)
{
	static struct hist_snap cur;
	uint64_t t_start = load_now_ns(), last = t_start;
	while (!atomic_load(&pg_stop)) {
		usleep(10000);
		uint64_t t = load_now_ns();
		uint64_t ops = load_sum_array(pg_workers, pg_opt.connections, sizeof *pg_workers,
					      offsetof(struct worker, done), OPS);
		if ((pg_opt.duration > 0 && (double)(t - t_start) / 1e9 >= pg_opt.duration) ||
		    (pg_opt.ops && ops >= pg_opt.ops))
			atomic_store(&pg_stop, 1);
		if (!sweep_poll(admin) || t - last < 1000000000u)
			continue;
		sweep_send(admin);
		snap_all(&cur, -1);
		report_progress(stderr,
				report_timeline_tick(tl, &cur, (double)(t - t_start) / 1e9,
						     sum_field(offsetof(struct worker, errors)),
						     pg_capacity -
							     atomic_load(&pg_units_confirmed)));
		last = t;
	}
	uint64_t stop_t = load_now_ns(), deadline = stop_t + (uint64_t)LOAD_DRAIN_MS * 1000000u;
	stalled = !sweep_wait(admin, deadline);
	uint64_t now = load_now_ns();
	unsigned left_ms = now < deadline ? (unsigned)((deadline - now) / 1000000u) : 0;
	stalled += load_join_drained(pg_workers, pg_opt.connections, sizeof *pg_workers,
				     offsetof(struct worker, th), left_ms);
	double secs = (double)(load_now_ns() - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) { /* the last part second */
		snap_all(&cur, -1);
		report_timeline_tick(tl, &cur, secs, sum_field(offsetof(struct worker, errors)),
				     pg_capacity - atomic_load(&pg_units_confirmed));
	}
	return secs > 0 ? secs : 1e-9;
}

/* Connects the workers and starts their threads: 0 or -1. */
static int start_workers(void)
{
	pg_workers = calloc(pg_opt.connections, sizeof *pg_workers);
	if (!pg_workers) {
		fprintf(stderr, "bench-pg: out of memory\n");
		return -1;
	}
	for (unsigned k = 0; k < pg_opt.connections; k++) {
		pg_workers[k].id = k;
		pg_workers[k].rng = pg_opt.seed * 0x100000001b3ull + k + 1;
		if (!(pg_workers[k].pg = pg_connect()) || pg_prepare(pg_workers[k].pg))
			return -1;
	}
	for (unsigned k = 0; k < pg_opt.connections; k++)
		pthread_create(&pg_workers[k].th, NULL, pg_worker_main, &pg_workers[k]);
	return 0;
}

/* The summary table, or with --json the JSON object alone on stdout and
 * the table on stderr. */
static void report(double secs, const struct report_timeline *tl, const char *vres)
{
	static struct hist_snap per_op[OPS];
	char extra[96];
	for (int o = 0; o < OPS; o++)
		snap_all(&per_op[o], o);
	snprintf(extra, sizeof extra, "\"buckets\":%u,\"customer_limit\":%u",
		 pg_opt.sc == SC_GA ? pg_opt.buckets : 0, pg_opt.limit);
	struct report_run r = {.system = "postgresql",
			       .scenario = pg_opt.scenario_name,
			       .units = pg_capacity,
			       .connections = pg_opt.connections,
			       .depth = 1,
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
	report_print(&r, pg_opt.json);
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	PGconn *admin = pg_connect();
	if (!admin)
		return 1;
	if (pg_opt.verify_only)
		return pg_verify_only(admin);
	if (pg_setup(admin)) {
		fprintf(stderr, "bench-pg: schema set-up failed\n");
		PQfinish(admin);
		return 1;
	}
	fprintf(stderr, "bench-pg: %s, %llu units, %u connections (one transaction each)%s\n",
		pg_opt.scenario_name, (unsigned long long)pg_capacity, pg_opt.connections,
		pg_opt.sc == SC_GA ? "" : ", best available in seat rows");
	struct report_timeline tl;
	if (report_timeline_init(&tl)) {
		fprintf(stderr, "bench-pg: out of memory\n");
		return 1;
	}
	if (start_workers())
		return 1;
	double secs = run(admin, &tl);
	int failed = 0;
	for (unsigned k = 0; k < pg_opt.connections; k++)
		failed |= pg_workers[k].failed;
	char vbuf[256];
	const char *vres = "skipped";
	if (pg_opt.verify && stalled) { /* the server did not answer: nor would it now */
		vres = "connections waiting for replies (outcomes unknown)";
	} else if (pg_opt.verify) {
		const char *bad = pg_verify(admin, vbuf, sizeof vbuf);
		vres = bad ? bad : "ok";
	}
	report(secs, &tl, vres);
	report_timeline_free(&tl);
	if (stalled) {
		report_stalled("bench-pg", stalled);
		return 1; /* their threads still use what PQfinish() would free */
	}
	for (unsigned k = 0; k < pg_opt.connections; k++) {
		PQfinish(pg_workers[k].pg);
		free(pg_workers[k].orders);
	}
	PQfinish(admin);
	free(pg_workers);
	return (pg_opt.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
