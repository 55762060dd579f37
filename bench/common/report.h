/*
 * report.h — shared reporting of the bench programs:
 * onsale-bench, bench-redis and bench-pg all print the same progress line,
 * summary table and JSON object, so their runs compare side by side.
 *
 * A program keeps one hist per (thread, operation type), sums them into
 * one hist_snap per operation type at the end and fills a struct report_run:
 *
 *   static struct hist_snap per_op[N];           // summed per op type
 *   struct report_run r = {.system = "redis", .scenario = "ga-flash", ...,
 *                      .n_ops = N, .op_names = names, .per_op = per_op,
 *                      .ticks = tl.ticks, .n_ticks = tl.n};
 *   report_print(&r, json);  // json: the JSON object alone on stdout,
 *                            // the table on stderr; else the table on stdout
 *
 * Once a second during the measured run the program sums every histogram
 * (all op types) into one hist_snap and calls report_timeline_tick(), which
 * keeps the per-second entry for the JSON "timeline" and returns it for
 * report_progress() (the live line on stderr).
 *
 * JSON fields (the shared contract): system, scenario, event_id, units,
 * connections, depth, rate, seconds, ops, ops_per_s, holds_per_s,
 * confirms_per_s, releases_per_s, p50_us, p90_us, p99_us, p999_us, max_us
 * (over all ops), one object per op type {"hold":{count,p50_us,p99_us,
 * p999_us,max_us},...}, units_sold, refused, errors, verify,
 * latency_curve_us and hold_curve_us ([[pct,us],...] at report_curve_pct;
 * hold_curve_us is [] when there were no holds), timeline
 * ([[t_s,ops_per_s,p99_us],...]) and then the caller's extra_json fields.
 * Per-second rates count the op types named "hold", "confirm", "release"
 * (0 when a program has none of that name).
 */
#ifndef ONSALE_BENCH_REPORT_H
#define ONSALE_BENCH_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bench/common/hist.h"

/* Percentiles of the JSON latency curves. */
#define REPORT_CURVE_POINTS 9
extern const double report_curve_pct[REPORT_CURVE_POINTS];

/* Timeline entries kept at most (one per second: an hour). */
#define REPORT_TIMELINE_MAX 3600u

/* One second of the measured run. */
struct report_tick {
	double t;         /* seconds since the measured run started */
	double ops_per_s; /* all op types, over the last interval */
	double p99_us;    /* p99 of the ops completed in the interval */
	uint64_t errors;  /* errors so far */
	uint64_t units_left;
};

struct report_run {
	const char *system;   /* "onsale" | "redis" | "postgresql" */
	const char *scenario; /* "ga-flash", ... */
	uint32_t event_id;    /* 0 if the system has none */
	uint64_t units;       /* capacity of the event */
	unsigned connections, depth;
	double rate;    /* open loop ops/s, 0 = closed loop */
	double seconds; /* measured time */
	uint64_t units_sold, refused, errors;
	const char *verify; /* "ok", "skipped" or what broke; NULL = "skipped" */
	unsigned n_ops;
	const char *const *op_names;     /* n_ops names */
	const struct hist_snap *per_op;  /* n_ops summed histograms */
	const struct report_tick *ticks; /* timeline, may be NULL */
	size_t n_ticks;
	/* Appended verbatim inside the JSON object when not NULL/empty:
	 * "\"key\":value,..." (no leading or trailing comma). */
	const char *extra_json;
};

/* ns as microseconds with three significant digits, no exponent: "965",
 * "1290", "12.3", "0.85", "0". Rotates over 16 static buffers, so up to 16
 * results may be used in one printf; not thread-safe. */
const char *report_us(uint64_t ns);

/* The live line on stderr:
 * "[  3.0s]     812345 ops/s  p99      512 us  errors 0  units left 1234". */
void report_progress(FILE *f, const struct report_tick *t);

/* Summary: a header line, one row per op type and "all" (count, per s,
 * p50, p90, p99, p99.9, max in us), units sold / refused / errors, and the
 * verify result unless skipped. */
void report_table(FILE *f, const struct report_run *r);

/* The JSON object of the contract above on one line, with a newline. */
void report_json(FILE *f, const struct report_run *r);

/* The summary of every bench program: with json (--json) stdout holds the
 * JSON object alone, one line (scripts read it as stdout's last line), and
 * the table goes to stderr; without json the table on stdout. A program's
 * own lines under the table go to report_table_file(json). bench-redis and
 * bench-pg printed the table and the object both on stdout. */
FILE *report_table_file(int json);
void report_print(const struct report_run *r, int json);

/* On stderr: "PROG: N connections still waiting for a reply 3.0 s after
 * the stop (server stalled or gone): their outcomes are unknown", for a
 * run whose load threads were not all joined (load_join_drained). */
void report_stalled(const char *prog, unsigned connections);

/* Per-second timeline from cumulative snapshots of all op types. */
struct report_timeline {
	struct report_tick *ticks; /* REPORT_TIMELINE_MAX entries */
	size_t n;
	struct report_tick last; /* the latest, also once the array is full */
	double last_t;
	struct hist_snap *prev, *diff; /* heap: large */
};

int report_timeline_init(struct report_timeline *tl); /* 0 or -ENOMEM */
void report_timeline_free(struct report_timeline *tl);
/* cur: all ops recorded since the measured run started; t: seconds since
 * then. Appends an entry (unless REPORT_TIMELINE_MAX are kept already) and
 * returns it; the caller prints it with report_progress(). */
const struct report_tick *report_timeline_tick(struct report_timeline *tl,
					       const struct hist_snap *cur, double t,
					       uint64_t errors, uint64_t units_left);

#endif
