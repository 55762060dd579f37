/*
 * onsale-offend.c — the offender benchmark against a running onsaled.
 *
 * A well-behaved platform client (bench/offend/off_good.c) holds and
 * confirms at a fixed open-loop rate for --duration seconds, first alone
 * ("alone") and then beside one offender kind at a time (off_wire.c,
 * off_conns.c, off_load.c), each from loopback source addresses other
 * than the client's. Per kind it reports the client's p50/p99/p99.9 and
 * the ratio of its p99 to the p99 alone (the hardening goal: within 2x),
 * the client's errors, what the offender saw (statuses, bad-frame
 * reasons, disconnects and the time until them), the server's RSS before,
 * during and after (--server-pid), and its open connection count after.
 * At the end every confirm the client was acknowledged is looked up
 * (off_venue.c): nothing acknowledged may be lost.
 *
 * A human table on stdout; with --json one JSON object per kind on stdout
 * instead (the table then goes to stderr). bench/scripts/offend-local.sh
 * (`make bench-offenders`) runs it against a fresh onsaled.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/common/opts.h"
#include "bench/common/report.h"
#include "bench/offend/offend.h"

/* Time after a phase for the server to close what the offender left. */
#define SETTLE_MS 500u
#define KINDS_MAX 16u

struct kind {
	const char *name;
	off_kind_fn *fn;
};

static const struct kind kinds[] = {
	{"alone", NULL},
	{"slowloris", off_wire_slowloris},
	{"garbage", off_wire_garbage},
	{"malformed", off_wire_malformed},
	{"before-hello", off_wire_prehello},
	{"wrong-role", off_wire_wrong_role},
	{"wrong-key", off_wire_wrong_key},
	{"conn-flood", off_conns_flood},
	{"idle", off_conns_idle},
	{"no-read", off_conns_noread},
	{"pipeline", off_load_pipeline},
	{"seatmap", off_load_seatmap},
	{"seatmap-noread", off_load_seatmap_noread},
	{"bot", off_load_bot},
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])
/* The client alone once more at the end: how far the machine's own noise
 * moved its latency meanwhile. */
static const struct kind alone_after = {"alone-after", NULL};
/* The client alone before "alone", not reported: the server's first holds
 * on a fresh event map its tables, which no later phase pays. */
static const struct kind warm_up = {"warm-up", NULL};
static double warmup_seconds = 1;
_Static_assert(N_KINDS + 1 <= KINDS_MAX, "every kind and alone-after fit a run");

/* One phase's results. */
struct row {
	const struct kind *kind;
	char error[192]; /* why the phase failed; "" when it did not */
	uint64_t p50_ns, p99_ns, p999_ns;
	uint64_t holds, confirms, errors;
	uint64_t good_status[OFF_STATUS_SLOTS];
	uint64_t rss_before, rss_during, rss_after;
	long open_after;
	struct off_seen seen;
};

static struct off_env env = {.host = "127.0.0.1",
			     .port = ONSALE_PORT_DEFAULT,
			     .seconds = 5,
			     .rate = 200,
			     .sources = 8,
			     .idle_conns = 10000,
			     .flood_conns = 3000};
static const char *config = "var/onsaled.conf";
static unsigned server_pid, event_id, port = ONSALE_PORT_DEFAULT, offender_nice;
static int json;
static const struct kind *chosen[KINDS_MAX];
static unsigned n_chosen;
static struct row rows[KINDS_MAX];
static struct off_good good;
static struct off_good_run run;

static const char *kinds_of(const char *list, void *dst)
{
	static char buf[256];
	(void)dst;
	snprintf(buf, sizeof buf, "%s", list);
	n_chosen = 0;
	chosen[n_chosen++] = &kinds[0];
	for (char *save, *k = strtok_r(buf, ",", &save); k; k = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		if (!strcmp(k, "all")) {
			for (i = 1; i < N_KINDS; i++)
				chosen[i] = &kinds[i];
			n_chosen = N_KINDS;
			continue;
		}
		while (i < N_KINDS && strcmp(k, kinds[i].name))
			i++;
		if (i == N_KINDS || i == 0 || n_chosen + 1 >= KINDS_MAX)
			return "a comma-separated list of the kinds below, or all";
		chosen[n_chosen++] = &kinds[i];
	}
	return n_chosen > 1 ? NULL : "a comma-separated list of the kinds below, or all";
}

static const struct opt options[] = {
	OPT_STR("host", "H", &env.host, "server (127.0.0.1)"),
	OPT_UINT("port", "P", &port, 1, 65535, "port (" OPTS_STR(ONSALE_PORT_DEFAULT) ")"),
	OPT_STR("config", "FILE", &config,
		"role keys: admin_key, platform_key, scanner_key\n(var/onsaled.conf)"),
	OPT_FN("kinds", "LIST", &n_chosen, kinds_of,
	       "offenders to run, comma-separated (all): slowloris,\n"
	       "garbage, malformed, before-hello, wrong-role, wrong-key,\n"
	       "conn-flood, idle, no-read, pipeline, seatmap,\n"
	       "seatmap-noread, bot;\n"
	       "the client alone always runs first and last"),
	OPT_REAL("duration", "S", &env.seconds, 1, "seconds per phase (5)"),
	OPT_REAL("warmup", "S", &warmup_seconds, 0,
		 "seconds of the client alone before \"alone\", not reported (1)"),
	OPT_REAL("rate", "R", &env.rate, 1,
		 "the client's holds per second, each confirmed (200;\n"
		 "keep it well below the server's peak)"),
	OPT_UINT("idle", "N", &env.idle_conns, 1, OFF_CONNS_MAX,
		 "idle: connections opened (10000; RLIMIT_NOFILE is raised)"),
	OPT_UINT("flood", "N", &env.flood_conns, 1, OFF_CONNS_MAX,
		 "conn-flood: connections opened (3000)"),
	OPT_UINT("sources", "N", &env.sources, 1, OFF_SOURCES_MAX,
		 "offender source addresses 127.0.0.2 onwards (8)"),
	OPT_UINT("server-pid", "PID", &server_pid, 1, 4194304,
		 "the server's pid, for its RSS (/proc/PID/status);\n"
		 "default: RSS not reported (- in the table, null in JSON)"),
	OPT_UINT("event", "ID", &event_id, 1, UINT32_MAX, "event id to create (from the seed)"),
	OPT_U64("seed", "N", &env.seed, 0, UINT64_MAX, "random seed (the time)"),
	OPT_UINT("offender-nice", "N", &offender_nice, 0, 19,
		 "the offender's thread runs at this nice value (0), the\n"
		 "client's at the process's own: 19 stands for an offender on\n"
		 "another machine, whose CPU is not the server's or the client's"),
	OPT_FLAG("json", &json, "one JSON object per kind on stdout (table on stderr)"),
};

static const struct opts_cmd cmd =
	OPTS_CMD("onsale-offend",
		 "A well-behaved client's latency beside one offender kind at a time,\n"
		 "against a running onsaled; creates its own event.\n",
		 options);

static int load_keys(void)
{
	static const int roles[] = {ONSALE_ROLE_ADMIN, ONSALE_ROLE_PLATFORM, ONSALE_ROLE_SCANNER};
	for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
		int rc = onsale_key_from_config(config, (enum onsale_role)roles[i],
						env.keys[roles[i]]);
		if (rc) {
			fprintf(stderr, "onsale-offend: %s: role %d key: %s\n", config, roles[i],
				onsale_strerror(rc));
			return rc;
		}
	}
	return 0;
}

struct offender {
	const struct kind *kind;
	struct row *row;
	uint64_t end_ns;
};

static void *offender_main(void *arg)
{
	struct offender *o = arg;
	/* Linux: the nice value of this thread alone */
	if (offender_nice && setpriority(PRIO_PROCESS, 0, (int)offender_nice))
		fprintf(stderr, "onsale-offend: nice %u: %s\n", offender_nice, strerror(errno));
	o->kind->fn(&env, &o->row->seen, o->end_ns);
	return NULL;
}

/* Kind k's offender until end_ns, in a thread of its own so that its nice
 * value is its own (the client's thread keeps the process's). */
static void offend(const struct kind *k, struct row *r, uint64_t end_ns)
{
	struct offender o = {.kind = k, .row = r, .end_ns = end_ns};
	pthread_t t;
	int rc = pthread_create(&t, NULL, offender_main, &o);
	if (rc) { /* here, unniced: the client's threads inherit this one's nice */
		fprintf(stderr, "onsale-offend: offender thread: %s; it runs unniced\n",
			strerror(rc));
		k->fn(&env, &r->seen, end_ns);
		return;
	}
	pthread_join(t, NULL);
}

/* The client's connection for a phase: the one before unless it failed
 * (counted in the phase it failed in), then a new one. 0, or the phase
 * fails: the server is gone or not answering. */
static int good_connection(struct row *r)
{
	if (good.c && !onsale_error(good.c))
		return 0;
	onsale_close(good.c);
	int rc = off_good_open(&env, &good); /* good.c NULL when it fails */
	if (rc)
		snprintf(r->error, sizeof r->error, "the client cannot connect: %s",
			 onsale_strerror(rc));
	return rc;
}

/* Whether the client's phase just ended failed (r->error says why): -1
 * when the run must stop (replies unanswered: the server stalled or is
 * gone), else 0. A phase with few or no replies reported p99 0, as if
 * the server had been fast. */
static int client_failed(struct row *r)
{
	uint64_t due = (uint64_t)(env.rate * env.seconds);
	if (run.unanswered) {
		snprintf(r->error, sizeof r->error,
			 "%u requests unanswered %.1f s after the phase (the server stalled or is "
			 "gone)",
			 run.unanswered, OFF_GOOD_DRAIN_MS / 1000.0);
		onsale_close(good.c); /* not to be reused with requests in flight */
		good.c = NULL;
		return -1;
	}
	if (run.lost)
		snprintf(r->error, sizeof r->error,
			 "the client's connection failed: %s (replies to %llu of %llu holds due)",
			 onsale_strerror(run.lost), (unsigned long long)run.hold_replies,
			 (unsigned long long)due);
	else if (run.hold_replies * 100u < due * OFF_GOOD_REPLIED_PCT_MIN)
		snprintf(r->error, sizeof r->error,
			 "replies to %llu of %llu holds due (the server stalled or fell behind)",
			 (unsigned long long)run.hold_replies, (unsigned long long)due);
	return 0;
}

/* Kind k's phase into r: 0, or -1 when it failed so that the run must
 * stop (r->error says why). */
static int one_phase(const struct kind *k, struct row *r)
{
	struct hist_snap *snap = malloc(sizeof *snap);
	memset(&run, 0, sizeof run);
	memset(r, 0, sizeof *r);
	r->kind = k;
	r->rss_before = off_venue_rss_kib(&env);
	if (good_connection(r)) {
		free(snap);
		r->open_after = -1;
		return -1;
	}
	uint64_t end = load_now_ns() + (uint64_t)(env.seconds * 1e9);
	int rc = off_good_start(&env, &good, &run, end);
	if (rc) {
		snprintf(r->error, sizeof r->error, "client thread: %s", strerror(-rc));
		free(snap);
		return -1;
	}
	if (k->fn)
		offend(k, r, end);
	off_good_join();
	int stop = client_failed(r);
	usleep(SETTLE_MS * 1000u);
	r->rss_during = run.rss_max_kib;
	r->rss_after = off_venue_rss_kib(&env);
	r->open_after = stop ? -1 : off_venue_open_conns(&env); /* it would only wait */
	r->holds = run.holds, r->confirms = run.confirms, r->errors = run.errors;
	memcpy(r->good_status, run.status, sizeof r->good_status);
	if (snap) {
		hist_snap_clear(snap);
		hist_snap_add(snap, &run.hist);
		r->p50_ns = hist_snap_pct(snap, 50);
		r->p99_ns = hist_snap_pct(snap, 99);
		r->p999_ns = hist_snap_pct(snap, 99.9);
		free(snap);
	}
	return stop;
}

/* "70:12 72:3" of the nonzero counters (at most the first few). */
static const char *counts(const uint64_t *c, unsigned n, int as_json)
{
	static char buf[4][160];
	static unsigned turn;
	char *b = buf[turn++ % 4];
	size_t len = 0;
	b[0] = 0;
	for (unsigned i = 0; i < n && len + 32 < sizeof buf[0]; i++)
		if (c[i])
			len += (size_t)snprintf(b + len, sizeof buf[0] - len,
						as_json ? "%s\"%u\":%llu" : "%s%u:%llu",
						len ? (as_json ? "," : " ") : "", i,
						(unsigned long long)c[i]);
	return b;
}

/* A latency of r for the table or JSON: "-" or null when its phase
 * failed (the client's replies did not come: no figure stands for them). */
static const char *latency(const struct row *r, uint64_t ns, int as_json)
{
	return r->error[0] ? (as_json ? "null" : "-") : report_us(ns);
}

/* r's p99 over the p99 alone: "-" or null when either phase failed. */
static const char *ratio(const struct row *r, int as_json)
{
	static char buf[4][32];
	static unsigned turn;
	char *b = buf[turn++ % 4];
	if (r->error[0] || rows[0].error[0] || !rows[0].p99_ns)
		return as_json ? "null" : "-";
	snprintf(b, sizeof buf[0], as_json ? "%.3f" : "%.2f",
		 (double)r->p99_ns / (double)rows[0].p99_ns);
	return b;
}

/* RSS in MiB for the table, "-" when not known (0). */
static const char *rss_mib(uint64_t kib)
{
	static char buf[4][24];
	static unsigned turn;
	char *b = buf[turn++ % 4];
	if (!kib)
		return "-";
	snprintf(b, sizeof buf[0], "%.1f", kib / 1024.0);
	return b;
}

/* The first n_run rows, then a line for each that failed. */
static void table(FILE *f, unsigned n_run)
{
	fprintf(f, "%-12s %8s %8s %8s %6s %6s | %7s %8s %-18s %7s %13s %6s | %s\n", "kind",
		"p50 us", "p99 us", "p99.9 us", "x p99", "errors", "conns", "replies", "statuses",
		"closed", "close ms", "open", "RSS MiB before/during/after");
	for (unsigned i = 0; i < n_run; i++) {
		const struct row *r = &rows[i];
		char close_ms[32];
		snprintf(close_ms, sizeof close_ms, "%llu-%llu",
			 (unsigned long long)r->seen.close_ms_min,
			 (unsigned long long)r->seen.close_ms_max);
		fprintf(f,
			"%-12s %8s %8s %8s %6s %6llu | %7llu %8llu %-18s %7llu %13s %6llu | "
			"%s/%s/%s\n",
			r->kind->name, latency(r, r->p50_ns, 0), latency(r, r->p99_ns, 0),
			latency(r, r->p999_ns, 0), ratio(r, 0), (unsigned long long)r->errors,
			(unsigned long long)r->seen.connects, (unsigned long long)r->seen.replies,
			counts(r->seen.status, OFF_STATUS_SLOTS, 0),
			(unsigned long long)r->seen.closed, r->seen.closed ? close_ms : "-",
			(unsigned long long)r->seen.open_at_end, rss_mib(r->rss_before),
			rss_mib(r->rss_during), rss_mib(r->rss_after));
	}
	for (unsigned i = 0; i < n_run; i++)
		if (rows[i].error[0])
			fprintf(f, "%s failed: %s\n", rows[i].kind->name, rows[i].error);
}

static void json_row(FILE *f, const struct row *r)
{
	const struct off_seen *s = &r->seen;
	fprintf(f,
		"{\"kind\":\"%s\",%s%s%s\"seconds\":%g,\"rate\":%g,\"offender_nice\":%u,"
		"\"good\":{\"holds\":%llu,"
		"\"confirms\":%llu,\"errors\":%llu,\"errors_by_status\":{%s},\"p50_us\":%s,"
		"\"p99_us\":%s,\"p999_us\":%s,\"p99_ratio\":%s},",
		r->kind->name, r->error[0] ? "\"error\":\"" : "", r->error,
		r->error[0] ? "\"," : "", env.seconds, env.rate, offender_nice,
		(unsigned long long)r->holds, (unsigned long long)r->confirms,
		(unsigned long long)r->errors, counts(r->good_status, OFF_STATUS_SLOTS, 1),
		latency(r, r->p50_ns, 1), latency(r, r->p99_ns, 1), latency(r, r->p999_ns, 1),
		ratio(r, 1));
	fprintf(f,
		"\"offender\":{\"connects\":%llu,\"connect_fails\":%llu,\"frames_sent\":%llu,"
		"\"bytes_sent\":%llu,\"replies\":%llu,\"statuses\":{%s},\"bad_reasons\":{%s},"
		"\"closed\":%llu,\"close_ms_min\":%llu,\"close_ms_max\":%llu,\"open_at_end\":%llu%s%s},",
		(unsigned long long)s->connects, (unsigned long long)s->connect_fails,
		(unsigned long long)s->frames_sent, (unsigned long long)s->bytes_sent,
		(unsigned long long)s->replies, counts(s->status, OFF_STATUS_SLOTS, 1),
		counts(s->bad_reason, 8, 1), (unsigned long long)s->closed,
		(unsigned long long)s->close_ms_min, (unsigned long long)s->close_ms_max,
		(unsigned long long)s->open_at_end, s->note[0] ? "," : "", s->note);
	if (env.server_pid) /* each null when not known (the server gone) */
		fprintf(f, "\"rss_kib\":{\"before\":%s,\"during\":%s,\"after\":%s},",
			off_venue_kib_json(r->rss_before), off_venue_kib_json(r->rss_during),
			off_venue_kib_json(r->rss_after));
	else
		fprintf(f, "\"rss_kib\":null,");
	fprintf(f, "\"server_open_after\":%ld}\n", r->open_after);
}

/* Runs the warm-up and the chosen phases until one fails so that the run
 * must stop: the phases run (rows 0 .. return - 1), *stopped_at the kind
 * it stopped at (NULL: it did not), *failed set when any phase failed. */
static unsigned phases(const struct kind **stopped_at, int *failed)
{
	*stopped_at = NULL;
	*failed = 0;
	if (warmup_seconds > 0) {
		double seconds = env.seconds;
		env.seconds = warmup_seconds;
		fprintf(stderr, "== %s (%g s)\n", warm_up.name, env.seconds);
		int rc = one_phase(&warm_up, &rows[0]);
		env.seconds = seconds;
		if (rows[0].error[0]) {
			fprintf(stderr, "onsale-offend: %s failed: %s\n", warm_up.name,
				rows[0].error);
			*failed = 1;
		}
		if (rc) {
			*stopped_at = &warm_up;
			return 0;
		}
	}
	for (unsigned i = 0; i < n_chosen; i++) {
		fprintf(stderr, "== %s (%g s)\n", chosen[i]->name, env.seconds);
		int rc = one_phase(chosen[i], &rows[i]);
		if (rows[i].error[0]) {
			fprintf(stderr, "onsale-offend: %s failed: %s\n", chosen[i]->name,
				rows[i].error);
			*failed = 1;
		}
		if (json)
			json_row(stdout, &rows[i]);
		fflush(stdout);
		if (rc) {
			*stopped_at = chosen[i];
			return i + 1;
		}
	}
	return n_chosen;
}

/* --server-pid names a process whose RSS can be read; else says so. It
 * printed RSS 0 for a pid that did not exist. */
static int pid_readable(unsigned pid)
{
	char path[64], what[48];
	snprintf(path, sizeof path, "/proc/%u/status", pid);
	if (!access(path, R_OK))
		return 1;
	snprintf(what, sizeof what, "--server-pid %u", pid);
	opts_bad(&cmd, what, errno == ENOENT ? "no such process" : strerror(errno));
	return 0;
}

int main(int argc, char **argv)
{
	kinds_of("all", NULL);
	env.seed = (uint64_t)time(NULL);
	int rc = opts_parse_seeded(&cmd, argc, argv, &env.seed);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	if (server_pid && !pid_readable(server_pid))
		return OPTS_BAD;
	chosen[n_chosen++] = &alone_after;
	env.server_pid = (int)server_pid;
	env.port = (uint16_t)port;
	env.event_id = event_id ? event_id : 1 + (uint32_t)(env.seed % 1000000u);
	if (load_keys())
		return 1;
	off_raw_nofile(env.idle_conns + env.flood_conns + 256u);
	if ((rc = off_venue_create(&env)) || (rc = off_good_open(&env, &good))) {
		fprintf(stderr, "onsale-offend: event %u on %s:%u: %s\n", env.event_id, env.host,
			env.port, onsale_strerror(rc));
		return 1;
	}
	const struct kind *stopped_at;
	int failed;
	unsigned n_run = phases(&stopped_at, &failed);
	static char why[160];
	const char *lost = NULL;
	if (stopped_at) { /* the server is gone or not answering: no check could run */
		fprintf(stderr, "onsale-offend: the run stops at %s\n", stopped_at->name);
		snprintf(why, sizeof why, "not checked: the run stopped at %s", stopped_at->name);
		lost = why;
	} else {
		lost = off_venue_verify(&env, &good);
	}
	uint64_t checked = stopped_at ? 0 : good.n_confirmed;
	table(json ? stderr : stdout, n_run);
	if (json)
		printf("{\"kind\":\"verify\",\"confirms\":%llu,\"checked\":%llu,\"result\":\"%s\"}\n",
		       (unsigned long long)good.n_confirmed_all, (unsigned long long)checked,
		       lost ? lost : "ok");
	fprintf(stderr, "verify: %llu confirms acknowledged, %llu looked up: %s\n",
		(unsigned long long)good.n_confirmed_all, (unsigned long long)checked,
		lost ? lost : "ok");
	onsale_close(good.c);
	return lost || failed ? 1 : 0;
}
