/*
 * onsale-bench.c — flash-crowd load generator against a running onsaled:
 * scenarios ga-flash, seat-flash, seat-pick, mixed, gate-rush.
 *
 * Creates its own event through the admin role (bench/onsale/venue.c), then
 * drives it over --connections platform (gate-rush: scanner) connections,
 * one thread each unless --threads says fewer (a thread then drives several
 * with one poll), with --depth requests in flight per connection
 * (bench/onsale/flow.c), closed loop or open loop (--rate). Latency per
 * operation type goes into log-linear histograms (bench/common/hist.c); a
 * progress line each second, the summary table and the JSON object come
 * from bench/common/report.c (with --json the object alone on stdout, the
 * rest on stderr). --verify checks the result through the server
 * afterwards (bench/onsale/verify.c). gate-rush first sells the event out
 * (unmeasured), then measures the scans.
 */
#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/opts.h"
#include "bench/common/report.h"
#include "bench/onsale/run.h"

static uint8_t key_admin[ONSALE_KEY_BYTES], key_load[ONSALE_KEY_BYTES];

/* ---- sums over the workers ---- */

static uint64_t sum_field(size_t off)
{
	return load_sum(run_workers, run_opt.connections, sizeof *run_workers, off);
}

static uint64_t sum_ops(void)
{
	return load_sum_array(run_workers, run_opt.connections, sizeof *run_workers,
			      offsetof(struct run_worker, done), RUN_OPS);
}

static void snap_all(struct hist_snap *s, int op) /* op < 0: every type */
{
	load_snap(s, run_workers, run_opt.connections, sizeof *run_workers,
		  offsetof(struct run_worker, hist), RUN_OPS, op);
}

/* Units still to sell, or (gate-rush) tickets still to scan. */
static uint64_t units_left(void)
{
	if (run_opt.sc == SC_GATE && !flow_selling) {
		uint64_t tickets = atomic_load(&run_units_confirmed_all);
		uint64_t scanned = sum_field(offsetof(struct run_worker, redeemed));
		return tickets > scanned ? tickets - scanned : 0;
	}
	return venue.capacity - atomic_load(&run_units_confirmed_all) +
	       atomic_load(&run_units_refunded_all);
}

/* ---- options ---- */

static const char *scenario_of(const char *name, void *dst)
{
	static const char *const names[] = {"ga-flash", "seat-flash", "seat-pick", "mixed",
					    "gate-rush"};
	struct run_opts *o = dst;
	for (int i = 0; i < 5; i++)
		if (!strcmp(name, names[i])) {
			o->scenario_name = names[i];
			o->sc = (enum run_scenario)i;
			return NULL;
		}
	return "ga-flash, seat-flash, seat-pick, mixed or gate-rush";
}

static const char *mix_of(const char *s, void *dst)
{
	struct run_opts *o = dst;
	unsigned h, q, r;
	char tail;
	if (sscanf(s, "%u,%u,%u%c", &h, &q, &r, &tail) != 3 || h > 1000 || q > 1000 || r > 1000 ||
	    !(h + q + r))
		return "H,Q,R: three weights 0-1000, not all 0";
	o->mix_hold = h;
	o->mix_query = q;
	o->mix_refund = r;
	return NULL;
}

static char scenario_help[768];

static const struct opt options[] = {
	OPT_STR("host", "H", &run_opt.host, "server (127.0.0.1)"),
	OPT_UINT("port", "P", &run_opt.port, 1, 65535, "port (" OPTS_STR(ONSALE_PORT_DEFAULT) ")"),
	OPT_STR("config", "FILE", &run_opt.config,
		"role keys (var/onsaled.conf; admin_key, platform_key,\n"
		"scanner_key for gate-rush)"),
	OPT_FN("scenario", "S", &run_opt, scenario_of, scenario_help),
	OPT_UINT("connections", "N", &run_opt.connections, 1, RUN_CONNECTIONS_MAX,
		 "connections (4)"),
	OPT_UINT("threads", "N", &run_opt.threads, 1, RUN_CONNECTIONS_MAX,
		 "load threads, each driving every N-th connection\n"
		 "(default: one per connection)"),
	OPT_UINT("depth", "N", &run_opt.depth, 1, ONSALE_WINDOW_MAX,
		 "requests in flight per connection (32)"),
	OPT_REAL("duration", "S", &run_opt.duration, 1,
		 "stop after S seconds, > 0 (default: when done, or\n"
		 "after " OPTS_STR(RUN_DURATION_S_DEFAULT) " s; mixed without --ops " OPTS_STR(
			 RUN_DURATION_S_MIXED) " s)"),
	OPT_U64("ops", "N", &run_opt.ops, 1, UINT64_MAX,
		"stop after N operations (and one more per flow under way:\n"
		"a hold taken is still confirmed or released), or at\n"
		"--duration (default " OPTS_STR(RUN_DURATION_S_DEFAULT) " s) if that comes first"),
	OPT_REAL("warmup", "S", &run_opt.warmup, 0, "seconds not measured at the start (0)"),
	OPT_REAL("rate", "R", &run_opt.rate, 0,
		 "open loop: R operations/s in all (flows started on\n"
		 "schedule, spaced by the operations per flow seen so\n"
		 "far; latency from the intended start); default:\n"
		 "closed loop"),
	OPT_UINT("units", "N", &run_opt.units, 1, EVENT_UNITS_MAX,
		 "GA units (ga-flash, mixed, gate-rush; 100000)"),
	OPT_UINT("seats", "N", &run_opt.seats, 1, SEATS_MAX,
		 "seats (seat-flash, seat-pick, mixed; 20000)"),
	OPT_UINT("confirm", "PCT", &run_opt.confirm_pct, 0, 100,
		 "holds confirmed, the rest released (80)"),
	OPT_FN("mix", "H,Q,R", &run_opt, mix_of,
	       "mixed: weights of holds, queries, refunds (40,50,10)"),
	OPT_UINT("double-scan", "PCT", &run_opt.double_scan_pct, 0, 100,
		 "gate-rush: tickets scanned twice (2)"),
	OPT_U64("seed", "N", &run_opt.seed, 0, UINT64_MAX, "random seed (also picks the event id)"),
	OPT_FLAG("json", &run_opt.json,
		 "print one JSON object on stdout, nothing else (the\n"
		 "table goes to stderr)"),
	OPT_FLAG("verify", &run_opt.verify,
		 "check the outcome through the server; exit 1 if broken\n"
		 "(or if a look-up goes " OPTS_STR(RUN_DRAIN_MS) " ms without a reply)"),
};

/* the intro's limits from run.h: clang-format 14 breaks strings around OPTS_STR */
// clang-format off
static const struct opts_cmd cmd = OPTS_CMD(
	"onsale-bench",
	"Flash-crowd load against a running onsaled; creates its own event.\n"
	"Replies still outstanding " OPTS_STR(RUN_DRAIN_MS) " ms after the run stops are reported\n"
	"missing (the server stalled or is gone): exit 1. Set-up and --verify calls\n"
	"wait " OPTS_STR(RUN_SETUP_MS_BASE) " ms plus " OPTS_STR(RUN_SETUP_MS_PER_MUNIT) " ms per million units of the event\n"
	"(" OPTS_STR(RUN_SETUP_MS_MAX) " ms at most) for an answer. Ctrl-C (SIGINT) stops the run:\n"
	"it reports what it measured (not verified) and exits 130.\n",
	options);
// clang-format on

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv)
{
	snprintf(scenario_help, sizeof scenario_help,
		 "ga-flash (default): hold 1-4 GA units, confirm 80 %%,\n"
		 "  release 20 %%, until sold out;\n"
		 "seat-flash: best-available holds of 1-6 adjacent seats\n"
		 "  in a random tier of a seated venue, until sold out;\n"
		 "seat-pick: holds of 1-4 named seats in one row, %u %% of\n"
		 "  them among the best %u %% still unsold (they collide;\n"
		 "  a taken seat is a refusal), until sold out;\n"
		 "mixed: GA and seats; holds, availability queries and\n"
		 "  refunds of earlier orders by --mix, for --duration\n"
		 "  (%u s unless --ops);\n"
		 "gate-rush: sell the event out (not measured; cut at\n"
		 "  --duration: exit 1), then scan\n"
		 "  every ticket once as fast as possible, plus second\n"
		 "  scans the server must refuse",
		 RUN_PICK_HOT_PCT, RUN_PICK_BEST_PCT, (unsigned)RUN_DURATION_S_MIXED);
	int rc = opts_parse_seeded(&cmd, argc, argv, &run_opt.seed);
	if (rc)
		return rc;
	if (run_opt.sc == SC_MIXED && (uint64_t)run_opt.units + run_opt.seats > EVENT_UNITS_MAX)
		return opts_bad(&cmd, "--units + --seats", "more than an event holds");
	if (!run_opt.threads)
		run_opt.threads = run_opt.connections;
	if (run_opt.threads > run_opt.connections)
		return opts_bad(&cmd, "--threads", "more than --connections");
	if (run_opt.duration <= 0) /* never unbounded, also with --ops */
		run_opt.duration = run_opt.sc == SC_MIXED && !run_opt.ops ? RUN_DURATION_S_MIXED
									  : RUN_DURATION_S_DEFAULT;
	return 0;
}

/* ---- a run ---- */

static int open_workers(void)
{
	struct onsale_options copt = {.window = run_opt.depth,
				      .call_timeout_ms = RUN_SETUP_MS_BASE};
	run_workers = calloc(run_opt.connections, sizeof *run_workers);
	if (!run_workers)
		return -ENOMEM;
	for (unsigned k = 0; k < run_opt.connections; k++) {
		struct run_worker *w = &run_workers[k];
		w->id = k;
		w->rng = run_opt.seed * 0x100000001b3ull + k + 1;
		w->slots = calloc(run_opt.depth, sizeof *w->slots);
		if (!w->slots)
			return -ENOMEM;
		/* gate-rush sells on platform connections first, see sell_out() */
		int rc = onsale_open(run_opt.host, run_opt.port, ONSALE_ROLE_PLATFORM, key_load,
				     &copt, &w->c);
		if (rc)
			return rc;
	}
	return 0;
}

static pthread_t load_threads[RUN_CONNECTIONS_MAX];

static void run_threads(void)
{
	for (unsigned t = 0; t < run_opt.threads; t++)
		pthread_create(&load_threads[t], NULL, flow_thread_main, (void *)(uintptr_t)t);
}

static void join_threads(void)
{
	for (unsigned t = 0; t < run_opt.threads; t++)
		pthread_join(load_threads[t], NULL);
}

/* gate-rush: every unit sold (not measured) on the platform connections,
 * which then become scanner connections (open_scanners). The selling stops at --duration
 * too (the drain bounded as ever): it had no time bound, so a server
 * stopped meanwhile (SIGSTOP) held the run for as long as it stayed
 * stopped. A cut sell-out is said on stderr and fails the run. */
static int sell_out(void)
{
	uint64_t t0 = load_now_ns();
	assert(run_opt.duration > 0);
	flow_selling = 1;
	flow_init();
	run_threads();
	while (!atomic_load(&run_stop) && (double)(load_now_ns() - t0) / 1e9 < run_opt.duration)
		usleep(10000);
	int cut = !atomic_exchange(&run_stop, 1); /* not stopped by the workers */
	join_threads();
	flow_selling = 0;
	if (cut) {
		fprintf(stderr,
			"onsale-bench: selling the event out (before the scans) cut at --duration "
			"%.0f s: %llu of %llu units sold\n",
			run_opt.duration, (unsigned long long)atomic_load(&run_units_confirmed_all),
			(unsigned long long)venue.capacity);
		return -ETIMEDOUT;
	}
	for (unsigned k = 0; k < run_opt.connections; k++) {
		if (run_workers[k].failed)
			return -EIO;
		if (run_workers[k].missing)
			return -ETIMEDOUT;
	}
	fprintf(stderr, "onsale-bench: sold %llu units in %.2f s (not measured)\n",
		(unsigned long long)atomic_load(&run_units_confirmed_all),
		(double)(load_now_ns() - t0) / 1e9);
	atomic_store(&run_stop, 0);
	atomic_store(&run_started, 0);
	return 0;
}

/* gate-rush, once sold out: the load connections become scanners. */
static int open_scanners(const uint8_t *key_scanner)
{
	struct onsale_options copt = {.window = run_opt.depth,
				      .call_timeout_ms = RUN_SETUP_MS_BASE};
	for (unsigned k = 0; k < run_opt.connections; k++) {
		onsale_close(run_workers[k].c);
		int rc = onsale_open(run_opt.host, run_opt.port, ONSALE_ROLE_SCANNER, key_scanner,
				     &copt, &run_workers[k].c);
		if (rc)
			return rc;
	}
	return 0;
}

/* SIGINT during the measured phase: the run stops as at --duration (the
 * drain bounded as ever), reports what it measured and exits 130; it
 * ended with no report at all. Every SIGINT does only that (timeout(1)
 * signals its child and then its process group: a handler reset by the
 * first let the second kill the run before its report). */
static volatile sig_atomic_t interrupted;
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "run_stop may be stored from a signal handler");

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
	atomic_store(&run_stop, 1); /* lock-free: fine in a handler */
}

static void catch_sigint(void)
{
	struct sigaction sa = {.sa_handler = on_sigint};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
}

/* The measured phase: progress each second until the workers stop (done,
 * --duration, --ops, SIGINT). Returns the measured seconds. */
static double measure(struct report_timeline *tl)
{
	static struct hist_snap cur;
	uint64_t t_begin = load_now_ns(), t_start = t_begin, last_tick = t_begin;
	assert(run_opt.duration > 0); /* every run has a time bound (parse) */
	catch_sigint();
	if (run_opt.warmup <= 0)
		atomic_store(&run_recording, 1);
	flow_init();
	run_threads();
	while (!atomic_load(&run_stop)) {
		usleep(10000);
		uint64_t t = load_now_ns();
		if (!atomic_load(&run_recording)) {
			if ((double)(t - t_begin) / 1e9 >= run_opt.warmup) {
				atomic_store(&run_recording, 1);
				t_start = last_tick = t;
			}
			continue;
		}
		if ((double)(t - t_start) / 1e9 >= run_opt.duration ||
		    (run_opt.ops && sum_ops() >= run_opt.ops))
			atomic_store(&run_stop, 1);
		if (t - last_tick >= 1000000000u) {
			snap_all(&cur, -1);
			report_progress(stderr,
					report_timeline_tick(tl, &cur, (double)(t - t_start) / 1e9,
							     sum_field(offsetof(struct run_worker,
										errors)),
							     units_left()));
			last_tick = t;
		}
	}
	join_threads();
	uint64_t t_end = load_now_ns();
	if (!atomic_load(&run_recording))
		return 0;
	double secs = (double)(t_end - t_start) / 1e9;
	if (secs - tl->last_t >= 0.05) { /* the last part of a second */
		snap_all(&cur, -1);
		report_timeline_tick(tl, &cur, secs, sum_field(offsetof(struct run_worker, errors)),
				     units_left());
	}
	return secs;
}

/* Requests of op answered 73 (shed), and the share of its replies they are. */
static uint64_t shed_of(int op, double *fraction)
{
	uint64_t shed = load_sum(run_workers, run_opt.connections, sizeof *run_workers,
				 offsetof(struct run_worker, shed) + (size_t)op * sizeof(uint64_t));
	uint64_t served = load_sum(run_workers, run_opt.connections, sizeof *run_workers,
				   offsetof(struct run_worker, done) +
					   (size_t)op * sizeof(uint64_t));
	*fraction = shed + served ? (double)shed / (double)(shed + served) : 0.0;
	return shed;
}

/* "shed":{"hold":N,...,"all":N},"shed_fraction":{"hold":F,...,"all":F}:
 * load shedding apart from refusals (sold out, seats taken) and errors. */
static void shed_json(char *buf, size_t cap)
{
	char counts[384] = "", fractions[512] = "";
	size_t nc = 0, nf = 0;
	uint64_t all = 0;
	double f;
	for (int o = 0; o < RUN_OPS; o++) {
		uint64_t shed = shed_of(o, &f);
		all += shed;
		nc += (size_t)snprintf(counts + nc, sizeof counts - nc, "\"%s\":%llu,",
				       run_op_names[o], (unsigned long long)shed);
		nf += (size_t)snprintf(fractions + nf, sizeof fractions - nf, "\"%s\":%.6f,",
				       run_op_names[o], f);
	}
	uint64_t served = sum_ops();
	snprintf(buf, cap, "\"shed\":{%s\"all\":%llu},\"shed_fraction\":{%s\"all\":%.6f}", counts,
		 (unsigned long long)all, fractions,
		 all + served ? (double)all / (double)(all + served) : 0.0);
}

/* One line under the table when anything was shed. */
static void shed_table(FILE *f)
{
	double fr;
	uint64_t all = 0;
	for (int o = 0; o < RUN_OPS; o++)
		all += shed_of(o, &fr);
	if (!all)
		return;
	fprintf(f, "shed (73 overloaded, not in the latencies above):");
	for (int o = 0; o < RUN_OPS; o++)
		if (shed_of(o, &fr))
			fprintf(f, " %s %llu (%.1f%%)", run_op_names[o],
				(unsigned long long)shed_of(o, &fr), 100.0 * fr);
	fprintf(f, "\n");
}

/* mixed and gate-rush: what else they did, under the table. It was the
 * JSON fields themselves, a fragment on stdout before the JSON object. */
static void extras_table(FILE *f)
{
	if (run_opt.sc == SC_MIXED)
		fprintf(f, "units refunded %llu\n",
			(unsigned long long)sum_field(offsetof(struct run_worker, units_refunded)));
	if (run_opt.sc == SC_GATE)
		fprintf(f, "tickets redeemed %llu, scanned twice %llu (refused %llu)\n",
			(unsigned long long)sum_field(offsetof(struct run_worker, redeemed)),
			(unsigned long long)sum_field(offsetof(struct run_worker, rescans)),
			(unsigned long long)sum_field(
				offsetof(struct run_worker, rescans_refused)));
}

/* Replies still outstanding when the workers gave up on them. */
static uint64_t replies_missing(void)
{
	uint64_t n = 0;
	for (unsigned k = 0; k < run_opt.connections; k++)
		n += run_workers[k].missing;
	return n;
}

static void report(double secs, const struct report_timeline *tl, const char *vres)
{
	static struct hist_snap per_op[RUN_OPS];
	const char *names[RUN_OPS];
	unsigned n = 0;
	for (int o = 0; o < RUN_OPS; o++) {
		snap_all(&per_op[n], o);
		/* hold, confirm, release always (gate-rush: none); others when used */
		if (per_op[n].total || (o <= OP_RELEASE && run_opt.sc != SC_GATE))
			names[n++] = run_op_names[o];
	}
	char extra[1024];
	int len = snprintf(
		extra, sizeof extra,
		"\"threads\":%u,\"units_refunded\":%llu,\"redeemed\":%llu,\"double_scans\":%llu,"
		"\"double_scans_refused\":%llu,\"replies_missing\":%llu,",
		run_opt.threads,
		(unsigned long long)sum_field(offsetof(struct run_worker, units_refunded)),
		(unsigned long long)sum_field(offsetof(struct run_worker, redeemed)),
		(unsigned long long)sum_field(offsetof(struct run_worker, rescans)),
		(unsigned long long)sum_field(offsetof(struct run_worker, rescans_refused)),
		(unsigned long long)replies_missing());
	shed_json(extra + len, sizeof extra - (size_t)len);
	struct report_run run = {
		.system = "onsale",
		.scenario = run_opt.scenario_name,
		.event_id = venue.event_id,
		.units = venue.capacity,
		.connections = run_opt.connections,
		.depth = run_opt.depth,
		.rate = run_opt.rate,
		.seconds = secs,
		.units_sold = sum_field(offsetof(struct run_worker, units_sold)),
		/* refused holds; gate-rush: second scans refused as they must be */
		.refused = sum_field(offsetof(struct run_worker, refused)) +
			   sum_field(offsetof(struct run_worker, rescans_refused)),
		.errors = sum_field(offsetof(struct run_worker, errors)),
		.verify = vres,
		.n_ops = n,
		.op_names = names,
		.per_op = per_op,
		.ticks = tl->ticks,
		.n_ticks = tl->n,
		.extra_json = extra};
	report_print(&run, run_opt.json); /* --json: stdout holds the JSON alone */
	shed_table(report_table_file(run_opt.json));
	extras_table(report_table_file(run_opt.json));
}

static int load_keys(uint8_t *key_scanner)
{
	enum onsale_role role = run_opt.sc == SC_GATE ? ONSALE_ROLE_SCANNER : ONSALE_ROLE_PLATFORM;
	int rc;
	if ((rc = onsale_key_from_config(run_opt.config, ONSALE_ROLE_ADMIN, key_admin)) ||
	    (rc = onsale_key_from_config(run_opt.config, ONSALE_ROLE_PLATFORM, key_load)) ||
	    (role == ONSALE_ROLE_SCANNER &&
	     (rc = onsale_key_from_config(run_opt.config, role, key_scanner)))) {
		fprintf(stderr, "onsale-bench: keys from %s: %s\n", run_opt.config, run_why(rc));
		return 1;
	}
	return 0;
}

/* The admin connection's call timeout (run.h, RUN_SETUP_MS_BASE). */
static int setup_timeout_ms(void)
{
	uint64_t ms = RUN_SETUP_MS_BASE + venue_units_max() * RUN_SETUP_MS_PER_MUNIT / 1000000u;
	return ms < RUN_SETUP_MS_MAX ? (int)ms : RUN_SETUP_MS_MAX;
}

static void close_all(struct onsale *admin)
{
	for (unsigned k = 0; run_workers && k < run_opt.connections; k++) {
		onsale_close(run_workers[k].c);
		free(run_workers[k].slots);
		free(run_workers[k].orders);
	}
	free(run_workers);
	onsale_close(admin);
	venue_free();
}

int main(int argc, char **argv)
{
	static uint8_t key_scanner[ONSALE_KEY_BYTES];
	struct onsale *admin;
	int rc = parse(argc, argv);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	if (load_keys(key_scanner))
		return 1;
	struct onsale_options aopt = {.call_timeout_ms = setup_timeout_ms()};
	if ((rc = onsale_open(run_opt.host, run_opt.port, ONSALE_ROLE_ADMIN, key_admin, &aopt,
			      &admin))) {
		fprintf(stderr, "onsale-bench: %s:%u: %s\n", run_opt.host, run_opt.port,
			run_why(rc));
		return 1;
	}
	if ((rc = venue_setup(admin))) {
		fprintf(stderr, "onsale-bench: creating event %u: %s\n", venue.event_id,
			run_why(rc));
		close_all(admin);
		return 1;
	}
	fprintf(stderr, "onsale-bench: %s, event %u, %llu units, %u connections x depth %u\n",
		run_opt.scenario_name, venue.event_id, (unsigned long long)venue.capacity,
		run_opt.connections, run_opt.depth);
	const char *what = "load connections";
	if (!(rc = open_workers()) && run_opt.sc == SC_GATE) {
		what = "selling the event out (before the scans)";
		if (!(rc = sell_out())) {
			what = "scanner connections";
			rc = open_scanners(key_scanner);
		}
	}
	if (rc) {
		fprintf(stderr, "onsale-bench: %s: %s\n", what, run_why(rc));
		close_all(admin);
		return 1;
	}
	struct report_timeline tl;
	if (report_timeline_init(&tl)) {
		fprintf(stderr, "onsale-bench: out of memory\n");
		close_all(admin);
		return 1;
	}
	double secs = measure(&tl);
	int failed = 0;
	for (unsigned k = 0; k < run_opt.connections; k++)
		failed |= run_workers[k].failed;
	if (replies_missing()) {
		fprintf(stderr,
			"onsale-bench: %llu replies still outstanding %.1f s after the stop (server "
			"stalled or gone): their outcomes are unknown\n",
			(unsigned long long)replies_missing(), RUN_DRAIN_MS / 1000.0);
		failed = 1;
	}
	if (run_opt.ops && sum_ops() < run_opt.ops && secs >= run_opt.duration)
		fprintf(stderr, "onsale-bench: --ops %llu not reached in %.0f s (--duration)\n",
			(unsigned long long)run_opt.ops, run_opt.duration);
	char vbuf[256];
	const char *vres = "skipped";
	if (interrupted) {
		fprintf(stderr, "onsale-bench: interrupted after %.1f s%s\n", secs,
			run_opt.verify ? ", not verified" : "");
	} else if (run_opt.verify) {
		const char *broke = verify_outcome(admin, vbuf, sizeof vbuf);
		vres = broke ? broke : "ok";
	}
	report(secs, &tl, vres);
	report_timeline_free(&tl);
	close_all(admin);
	if (interrupted)
		return 128 + SIGINT;
	return (run_opt.verify && strcmp(vres, "ok")) || failed ? 1 : 0;
}
