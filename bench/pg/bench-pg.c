/*
 * bench-pg.c — the PostgreSQL peer of onsale-bench (issue 5, `make
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
 * second and runs the hold-expiry sweep. --verify checks the outcome with
 * SQL afterwards. Pipelining (--depth) would not add concurrency: a backend
 * runs one transaction at a time and each commit waits for its WAL flush,
 * so concurrency comes from connections (default 16, the best measured).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/pg/pg.h"
#include "bench/common/report.h"
#include "bench/common/load.h"

static const char *const op_names[OPS] = {"hold", "confirm", "release"};

static uint64_t sum_field(size_t off)
{
	return load_sum(pg_workers, pg_opt.connections, sizeof *pg_workers, off);
}

static void snap_all(struct hist_snap *s, int op) /* op < 0: every type */
{
	load_snap(s, pg_workers, pg_opt.connections, sizeof *pg_workers, offsetof(struct worker, hist), OPS, op);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bench-pg [options]\n"
		"onsale-bench's ga-flash and seat-flash against PostgreSQL (the peer of\n"
		"`make compare`): schema \"onsale_peer\" is created afresh in the database,\n"
		"every operation is one stored-function transaction (synchronous_commit as\n"
		"the server is configured; bench/scripts/peer-pg.sh starts a suitable server).\n"
		"  --host H            server (127.0.0.1)\n"
		"  --port P            port (5432)\n"
		"  --dbname D          database (bench)\n"
		"  --user U            role (bench)\n"
		"  --scenario S        ga-flash (default) | seat-flash\n"
		"  --connections N     connections, one thread each, one transaction in\n"
		"                      flight each (16, at most %d)\n"
		"  --depth N           accepted so the same options drive every bench;\n"
		"                      ignored (noted on stderr): a backend runs one\n"
		"                      transaction at a time, use --connections\n"
		"  --duration S        stop after S seconds (default: sold out or 15 s)\n"
		"  --ops N             stop after N operations\n"
		"  --units N           ga-flash: GA units (100000)\n"
		"  --seats N           seat-flash: seats (20000)\n"
		"  --buckets N         ga-flash: stock counter rows (default: --connections)\n"
		"  --customer-limit N  units per customer (0: counted, not capped; default)\n"
		"  --confirm PCT       holds confirmed, the rest released (80)\n"
		"  --abandon PCT       holds neither confirmed nor released: left to expire\n"
		"                      and be swept back (0)\n"
		"  --hold-ttl MS       hold time to live (600000, at most 3600000)\n"
		"  --seed N            random seed\n"
		"  --json              print one JSON object last\n"
		"  --verify            check the outcome with SQL; exit 1 if broken\n"
		"  --verify-only       no run: check the schema an earlier run left\n"
		"                      (counts, seats; not its acknowledged orders)\n",
		CONNECTIONS_MAX);
}

static int parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"dbname", required_argument, NULL, 'b'},
		{"user", required_argument, NULL, 'U'},
		{"scenario", required_argument, NULL, 's'},
		{"connections", required_argument, NULL, 'n'},
		{"depth", required_argument, NULL, 'd'},
		{"duration", required_argument, NULL, 'D'},
		{"ops", required_argument, NULL, 'o'},
		{"units", required_argument, NULL, 'u'},
		{"seats", required_argument, NULL, 'S'},
		{"buckets", required_argument, NULL, 'B'},
		{"customer-limit", required_argument, NULL, 'L'},
		{"confirm", required_argument, NULL, 'C'},
		{"abandon", required_argument, NULL, 'A'},
		{"hold-ttl", required_argument, NULL, 'T'},
		{"seed", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"verify", no_argument, NULL, 'v'},
		{"verify-only", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int o;
	unsigned long depth = 1;
	pg_opt.seed = (uint64_t)time(NULL);
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
		case 'H': pg_opt.host = optarg; break;
		case 'p': pg_opt.port = x <= 65535 ? (unsigned)x : 0; break;
		case 'b': pg_opt.dbname = optarg; break;
		case 'U': pg_opt.user = optarg; break;
		case 's': pg_opt.scenario_name = optarg; break;
		case 'n': pg_opt.connections = x <= CONNECTIONS_MAX ? (unsigned)x : 0; break;
		case 'd': depth = (unsigned long)x; break;
		case 'D':
			pg_opt.duration = strtod(optarg, &end);
			if (end == optarg || *end || pg_opt.duration <= 0) {
				fprintf(stderr, "bench-pg: bad --duration %s\n", optarg);
				return 2;
			}
			break;
		case 'o': pg_opt.ops = x; break;
		case 'u': pg_opt.units = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'S': pg_opt.seats = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'B': pg_opt.buckets = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'L': pg_opt.limit = x <= 1000000 ? (unsigned)x : 0; break;
		case 'C': pg_opt.confirm_pct = x <= 100 ? (unsigned)x : 101; break;
		case 'A': pg_opt.abandon_pct = x <= 100 ? (unsigned)x : 101; break;
		case 'T': pg_opt.hold_ttl_ms = x <= HOLD_TTL_MS_MAX ? (unsigned)x : 0; break;
		case 'r': pg_opt.seed = x; break;
		case 'j': pg_opt.json = 1; break;
		case 'v': pg_opt.verify = 1; break;
		case 'V': pg_opt.verify = pg_opt.verify_only = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !pg_opt.port || !pg_opt.connections || !pg_opt.units ||
	    !pg_opt.seats || pg_opt.confirm_pct > 100 || pg_opt.abandon_pct > 100 ||
	    !pg_opt.hold_ttl_ms) {
		fprintf(stderr, "bench-pg: bad arguments (a number out of range?); see --help\n");
		return 2;
	}
	if (!depth) {
		fprintf(stderr, "bench-pg: --depth 0\n");
		return 2;
	}
	if (depth != 1)
		fprintf(stderr,
			"bench-pg: --depth %lu ignored: each connection has one transaction in"
			" flight (JSON says depth 1); use --connections for concurrency\n",
			depth);
	if (!strcmp(pg_opt.scenario_name, "ga-flash")) {
		pg_opt.sc = SC_GA;
	} else if (!strcmp(pg_opt.scenario_name, "seat-flash")) {
		pg_opt.sc = SC_SEAT;
	} else {
		fprintf(stderr, "bench-pg: scenario %s: only ga-flash and seat-flash\n",
			pg_opt.scenario_name);
		return 2;
	}
	if (!pg_opt.buckets)
		pg_opt.buckets = pg_opt.connections;
	if (pg_opt.buckets > pg_opt.units)
		pg_opt.buckets = pg_opt.units;
	if (pg_opt.duration <= 0 && !pg_opt.ops)
		pg_opt.duration = DURATION_DEFAULT_S;
	return 0;
}

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
		if (t - last < 1000000000u)
			continue;
		char a[16];
		const char *v[1] = {a};
		long long expired = 0;
		snprintf(a, sizeof a, "%d", SWEEP_MAX);
		if (pg_call(admin, NULL, "SELECT expire_holds($1::int)", 1, v, &expired) == 0 &&
		    expired)
			fprintf(stderr, "bench-pg: %lld holds expired\n", expired);
		snap_all(&cur, -1);
		report_progress(stderr,
			    report_timeline_tick(tl, &cur, (double)(t - t_start) / 1e9,
					     sum_field(offsetof(struct worker, errors)),
					     pg_capacity - atomic_load(&pg_units_confirmed)));
		last = t;
	}
	for (unsigned k = 0; k < pg_opt.connections; k++)
		pthread_join(pg_workers[k].th, NULL);
	double secs = (double)(load_now_ns() - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) { /* the last part second */
		snap_all(&cur, -1);
		report_timeline_tick(tl, &cur, secs, sum_field(offsetof(struct worker, errors)),
				 pg_capacity - atomic_load(&pg_units_confirmed));
	}
	return secs > 0 ? secs : 1e-9;
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc;
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
	pg_workers = calloc(pg_opt.connections, sizeof *pg_workers);
	struct report_timeline tl;
	if (!pg_workers || report_timeline_init(&tl)) {
		fprintf(stderr, "bench-pg: out of memory\n");
		return 1;
	}
	for (unsigned k = 0; k < pg_opt.connections; k++) {
		pg_workers[k].id = k;
		pg_workers[k].rng = pg_opt.seed * 0x100000001b3ull + k + 1;
		if (!(pg_workers[k].pg = pg_connect()) || pg_prepare(pg_workers[k].pg))
			return 1;
	}
	for (unsigned k = 0; k < pg_opt.connections; k++)
		pthread_create(&pg_workers[k].th, NULL, pg_worker_main, &pg_workers[k]);
	double secs = run(admin, &tl);
	int failed = 0;
	for (unsigned k = 0; k < pg_opt.connections; k++)
		failed |= pg_workers[k].failed;
	char vbuf[256], extra[96];
	const char *vres = "skipped";
	if (pg_opt.verify) {
		const char *bad = pg_verify(admin, vbuf, sizeof vbuf);
		vres = bad ? bad : "ok";
	}
	static struct hist_snap per_op[OPS];
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
			   .ticks = tl.ticks,
			   .n_ticks = tl.n,
			   .extra_json = extra};
	report_table(stdout, &r);
	if (pg_opt.json)
		report_json(stdout, &r);
	report_timeline_free(&tl);
	for (unsigned k = 0; k < pg_opt.connections; k++) {
		PQfinish(pg_workers[k].pg);
		free(pg_workers[k].orders);
	}
	PQfinish(admin);
	free(pg_workers);
	return (pg_opt.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
