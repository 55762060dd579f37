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

#include "bench/bp.h"
#include "bench/ob_report.h"
#include "bench/ob_util.h"

static const char *const op_names[OPS] = {"hold", "confirm", "release"};

static uint64_t sum_field(size_t off)
{
	return obu_sum(bp_w, bp_opt.connections, sizeof *bp_w, off);
}

static void snap_all(struct ob_snap *s, int op) /* op < 0: every type */
{
	obu_snap(s, bp_w, bp_opt.connections, sizeof *bp_w, offsetof(struct worker, hist), OPS, op);
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
	bp_opt.seed = (uint64_t)time(NULL);
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
		case 'H': bp_opt.host = optarg; break;
		case 'p': bp_opt.port = x <= 65535 ? (unsigned)x : 0; break;
		case 'b': bp_opt.dbname = optarg; break;
		case 'U': bp_opt.user = optarg; break;
		case 's': bp_opt.scenario_name = optarg; break;
		case 'n': bp_opt.connections = x <= CONNECTIONS_MAX ? (unsigned)x : 0; break;
		case 'd': depth = (unsigned long)x; break;
		case 'D':
			bp_opt.duration = strtod(optarg, &end);
			if (end == optarg || *end || bp_opt.duration <= 0) {
				fprintf(stderr, "bench-pg: bad --duration %s\n", optarg);
				return 2;
			}
			break;
		case 'o': bp_opt.ops = x; break;
		case 'u': bp_opt.units = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'S': bp_opt.seats = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'B': bp_opt.buckets = x <= UNITS_MAX ? (unsigned)x : 0; break;
		case 'L': bp_opt.limit = x <= 1000000 ? (unsigned)x : 0; break;
		case 'C': bp_opt.confirm_pct = x <= 100 ? (unsigned)x : 101; break;
		case 'A': bp_opt.abandon_pct = x <= 100 ? (unsigned)x : 101; break;
		case 'T': bp_opt.hold_ttl_ms = x <= HOLD_TTL_MS_MAX ? (unsigned)x : 0; break;
		case 'r': bp_opt.seed = x; break;
		case 'j': bp_opt.json = 1; break;
		case 'v': bp_opt.verify = 1; break;
		case 'V': bp_opt.verify = bp_opt.verify_only = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !bp_opt.port || !bp_opt.connections || !bp_opt.units ||
	    !bp_opt.seats || bp_opt.confirm_pct > 100 || bp_opt.abandon_pct > 100 ||
	    !bp_opt.hold_ttl_ms) {
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
	if (!strcmp(bp_opt.scenario_name, "ga-flash")) {
		bp_opt.sc = SC_GA;
	} else if (!strcmp(bp_opt.scenario_name, "seat-flash")) {
		bp_opt.sc = SC_SEAT;
	} else {
		fprintf(stderr, "bench-pg: scenario %s: only ga-flash and seat-flash\n",
			bp_opt.scenario_name);
		return 2;
	}
	if (!bp_opt.buckets)
		bp_opt.buckets = bp_opt.connections;
	if (bp_opt.buckets > bp_opt.units)
		bp_opt.buckets = bp_opt.units;
	if (bp_opt.duration <= 0 && !bp_opt.ops)
		bp_opt.duration = DURATION_DEFAULT_S;
	return 0;
}

/* Waits for the workers, printing progress each second and running the
 * expiry sweep; fills the timeline. Returns the measured seconds. */
static double run(PGconn *admin, struct ob_timeline *tl)
{
	static struct ob_snap cur;
	uint64_t t_start = obu_now_ns(), last = t_start;
	while (!atomic_load(&bp_stop)) {
		usleep(10000);
		uint64_t t = obu_now_ns();
		uint64_t ops = obu_sum_array(bp_w, bp_opt.connections, sizeof *bp_w,
					     offsetof(struct worker, done), OPS);
		if ((bp_opt.duration > 0 && (double)(t - t_start) / 1e9 >= bp_opt.duration) ||
		    (bp_opt.ops && ops >= bp_opt.ops))
			atomic_store(&bp_stop, 1);
		if (t - last < 1000000000u)
			continue;
		char a[16];
		const char *v[1] = {a};
		long long expired = 0;
		snprintf(a, sizeof a, "%d", SWEEP_MAX);
		if (bp_call(admin, NULL, "SELECT expire_holds($1::int)", 1, v, &expired) == 0 &&
		    expired)
			fprintf(stderr, "bench-pg: %lld holds expired\n", expired);
		snap_all(&cur, -1);
		ob_progress(stderr,
			    ob_timeline_tick(tl, &cur, (double)(t - t_start) / 1e9,
					     sum_field(offsetof(struct worker, errors)),
					     bp_capacity - atomic_load(&bp_units_confirmed)));
		last = t;
	}
	for (unsigned k = 0; k < bp_opt.connections; k++)
		pthread_join(bp_w[k].th, NULL);
	double secs = (double)(obu_now_ns() - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) { /* the last part second */
		snap_all(&cur, -1);
		ob_timeline_tick(tl, &cur, secs, sum_field(offsetof(struct worker, errors)),
				 bp_capacity - atomic_load(&bp_units_confirmed));
	}
	return secs > 0 ? secs : 1e-9;
}

int main(int argc, char **argv)
{
	int rc = parse(argc, argv);
	if (rc)
		return rc;
	PGconn *admin = bp_connect();
	if (!admin)
		return 1;
	if (bp_opt.verify_only)
		return bp_verify_only(admin);
	if (bp_setup(admin)) {
		fprintf(stderr, "bench-pg: schema set-up failed\n");
		PQfinish(admin);
		return 1;
	}
	fprintf(stderr, "bench-pg: %s, %llu units, %u connections (one transaction each)%s\n",
		bp_opt.scenario_name, (unsigned long long)bp_capacity, bp_opt.connections,
		bp_opt.sc == SC_GA ? "" : ", best available in seat rows");
	bp_w = calloc(bp_opt.connections, sizeof *bp_w);
	struct ob_timeline tl;
	if (!bp_w || ob_timeline_init(&tl)) {
		fprintf(stderr, "bench-pg: out of memory\n");
		return 1;
	}
	for (unsigned k = 0; k < bp_opt.connections; k++) {
		bp_w[k].id = k;
		bp_w[k].rng = bp_opt.seed * 0x100000001b3ull + k + 1;
		if (!(bp_w[k].pg = bp_connect()) || bp_prepare(bp_w[k].pg))
			return 1;
	}
	for (unsigned k = 0; k < bp_opt.connections; k++)
		pthread_create(&bp_w[k].th, NULL, bp_worker_main, &bp_w[k]);
	double secs = run(admin, &tl);
	int failed = 0;
	for (unsigned k = 0; k < bp_opt.connections; k++)
		failed |= bp_w[k].failed;
	char vbuf[256], extra[96];
	const char *vres = "skipped";
	if (bp_opt.verify) {
		const char *bad = bp_verify(admin, vbuf, sizeof vbuf);
		vres = bad ? bad : "ok";
	}
	static struct ob_snap per_op[OPS];
	for (int o = 0; o < OPS; o++)
		snap_all(&per_op[o], o);
	snprintf(extra, sizeof extra, "\"buckets\":%u,\"customer_limit\":%u",
		 bp_opt.sc == SC_GA ? bp_opt.buckets : 0, bp_opt.limit);
	struct ob_run r = {.system = "postgresql",
			   .scenario = bp_opt.scenario_name,
			   .units = bp_capacity,
			   .connections = bp_opt.connections,
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
	ob_print_table(stdout, &r);
	if (bp_opt.json)
		ob_print_json(stdout, &r);
	ob_timeline_free(&tl);
	for (unsigned k = 0; k < bp_opt.connections; k++) {
		PQfinish(bp_w[k].pg);
		free(bp_w[k].orders);
	}
	PQfinish(admin);
	free(bp_w);
	return (bp_opt.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
