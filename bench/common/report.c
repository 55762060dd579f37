/*
 * report.c — progress line, summary table, JSON object and per-second
 * timeline shared by the bench programs, see bench/common/report.h.
 * Everything here runs outside the measured loops (once a second or at the
 * end), so it favours plain code over speed.
 */
#include "bench/common/load.h"
#include "bench/common/report.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

const double report_curve_pct[REPORT_CURVE_POINTS] = {50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100};

const char *report_us(uint64_t ns)
{
	static char bufs[16][32];
	static unsigned next;
	char *b = bufs[next++ % 16];
	double v = (double)ns / 1000.0;
	if (v <= 0) {
		snprintf(b, 32, "0");
		return b;
	}
	int mag = (int)floor(log10(v));
	double scale = pow(10.0, 2 - mag);
	v = round(v * scale) / scale;
	if (v >= pow(10.0, mag + 1)) /* 999.6 rounds up to 1000: one digit more */
		mag++;
	int dec = 2 - mag > 0 ? 2 - mag : 0;
	snprintf(b, 32, "%.*f", dec, v);
	return b;
}

void report_progress(FILE *f, const struct report_tick *t)
{
	fprintf(f, "[%5.1fs] %10.0f ops/s  p99 %8s us  errors %llu  units left %llu\n", t->t,
		t->ops_per_s, report_us((uint64_t)(t->p99_us * 1000.0 + 0.5)),
		(unsigned long long)t->errors, (unsigned long long)t->units_left);
}

static double secs_of(const struct report_run *r)
{
	return r->seconds > 0 ? r->seconds : 1e-9;
}

static const char *verify_of(const struct report_run *r)
{
	return r->verify ? r->verify : "skipped";
}

static void table_row(FILE *f, const char *name, const struct hist_snap *s, double secs)
{
	fprintf(f, "%-9s %10llu %11.0f %9s %9s %9s %9s %9s\n", name, (unsigned long long)s->total,
		(double)s->total / secs, report_us(hist_snap_pct(s, 50)),
		report_us(hist_snap_pct(s, 90)), report_us(hist_snap_pct(s, 99)),
		report_us(hist_snap_pct(s, 99.9)), report_us(s->max));
}

void report_table(FILE *f, const struct report_run *r)
{
	double secs = secs_of(r);
	struct hist_snap *all = malloc(sizeof *all);
	fprintf(f, "%s %s: event %u, %llu units, %u connections x depth %u, %.2f s\n", r->system,
		r->scenario, r->event_id, (unsigned long long)r->units, r->connections, r->depth,
		r->seconds);
	fprintf(f, "%-9s %10s %11s %9s %9s %9s %9s %9s\n", "op", "count", "per s", "p50 us",
		"p90 us", "p99 us", "p99.9 us", "max us");
	if (all) {
		hist_snap_sum(all, r->per_op, r->n_ops);
		table_row(f, "all", all, secs);
		free(all);
	}
	for (unsigned o = 0; o < r->n_ops; o++)
		table_row(f, r->op_names[o], &r->per_op[o], secs);
	fprintf(f, "units sold %llu (measured), refused %llu, errors %llu\n",
		(unsigned long long)r->units_sold, (unsigned long long)r->refused,
		(unsigned long long)r->errors);
	if (strcmp(verify_of(r), "skipped"))
		fprintf(f, "verify: %s\n", verify_of(r));
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static const struct hist_snap *op_snap(const struct report_run *r, const char *name)
{
	for (unsigned o = 0; o < r->n_ops; o++)
		if (!strcmp(r->op_names[o], name))
			return &r->per_op[o];
	return NULL;
}

static double rate_of(const struct report_run *r, const char *name)
{
	const struct hist_snap *s = op_snap(r, name);
	return s ? (double)s->total / secs_of(r) : 0;
}

static void curve(FILE *f, const char *key, const struct hist_snap *s)
{
	fprintf(f, ",\"%s\":[", key);
	for (unsigned i = 0; s && s->total && i < REPORT_CURVE_POINTS; i++)
		fprintf(f, "%s[%g,%s]", i ? "," : "", report_curve_pct[i],
			report_us(hist_snap_pct(s, report_curve_pct[i])));
	fputc(']', f);
}

void report_json(FILE *f, const struct report_run *r)
{
	double secs = secs_of(r);
	struct hist_snap *all = malloc(sizeof *all);
	if (!all) {
		fprintf(f, "{\"system\":\"%s\",\"verify\":\"out of memory\"}\n", r->system);
		return;
	}
	hist_snap_sum(all, r->per_op, r->n_ops);
	fputs("{\"system\":", f);
	json_str(f, r->system);
	fputs(",\"scenario\":", f);
	json_str(f, r->scenario);
	fprintf(f,
		",\"event_id\":%u,\"units\":%llu,\"connections\":%u,\"depth\":%u,\"rate\":%.0f,"
		"\"seconds\":%.3f,\"ops\":%llu,\"ops_per_s\":%.0f,\"holds_per_s\":%.0f,"
		"\"confirms_per_s\":%.0f,\"releases_per_s\":%.0f,\"p50_us\":%s,\"p90_us\":%s,"
		"\"p99_us\":%s,\"p999_us\":%s,\"max_us\":%s",
		r->event_id, (unsigned long long)r->units, r->connections, r->depth, r->rate,
		r->seconds, (unsigned long long)all->total, (double)all->total / secs,
		rate_of(r, "hold"), rate_of(r, "confirm"), rate_of(r, "release"),
		report_us(hist_snap_pct(all, 50)), report_us(hist_snap_pct(all, 90)),
		report_us(hist_snap_pct(all, 99)), report_us(hist_snap_pct(all, 99.9)),
		report_us(all->max));
	for (unsigned o = 0; o < r->n_ops; o++) {
		const struct hist_snap *s = &r->per_op[o];
		fputc(',', f);
		json_str(f, r->op_names[o]);
		fprintf(f,
			":{\"count\":%llu,\"p50_us\":%s,\"p99_us\":%s,\"p999_us\":%s,\"max_us\":%s}",
			(unsigned long long)s->total, report_us(hist_snap_pct(s, 50)),
			report_us(hist_snap_pct(s, 99)), report_us(hist_snap_pct(s, 99.9)),
			report_us(s->max));
	}
	fprintf(f, ",\"units_sold\":%llu,\"refused\":%llu,\"errors\":%llu,\"verify\":",
		(unsigned long long)r->units_sold, (unsigned long long)r->refused,
		(unsigned long long)r->errors);
	json_str(f, verify_of(r));
	curve(f, "latency_curve_us", all);
	curve(f, "hold_curve_us", op_snap(r, "hold"));
	fputs(",\"timeline\":[", f);
	for (size_t i = 0; i < r->n_ticks; i++)
		fprintf(f, "%s[%.1f,%.0f,%s]", i ? "," : "", r->ticks[i].t, r->ticks[i].ops_per_s,
			report_us((uint64_t)(r->ticks[i].p99_us * 1000.0 + 0.5)));
	fputc(']', f);
	if (r->extra_json && *r->extra_json)
		fprintf(f, ",%s", r->extra_json);
	fputs("}\n", f);
	free(all);
}

FILE *report_table_file(int json)
{
	return json ? stderr : stdout;
}

void report_print(const struct report_run *r, int json)
{
	report_table(report_table_file(json), r);
	if (json)
		report_json(stdout, r);
}

int report_timeline_init(struct report_timeline *tl)
{
	memset(tl, 0, sizeof *tl);
	tl->ticks = calloc(REPORT_TIMELINE_MAX, sizeof *tl->ticks);
	tl->prev = calloc(1, sizeof *tl->prev);
	tl->diff = malloc(sizeof *tl->diff);
	if (!tl->ticks || !tl->prev || !tl->diff) {
		report_timeline_free(tl);
		return -ENOMEM;
	}
	return 0;
}

void report_timeline_free(struct report_timeline *tl)
{
	free(tl->ticks);
	free(tl->prev);
	free(tl->diff);
	memset(tl, 0, sizeof *tl);
}

const struct report_tick *report_timeline_tick(struct report_timeline *tl,
					       const struct hist_snap *cur, double t,
					       uint64_t errors, uint64_t units_left)
{
	double dt = t - tl->last_t;
	*tl->diff = *cur;
	hist_snap_sub(tl->diff, tl->prev);
	*tl->prev = *cur;
	tl->last_t = t;
	tl->last = (struct report_tick){.t = t,
					.ops_per_s = dt > 0 ? (double)tl->diff->total / dt : 0,
					.p99_us = (double)hist_snap_pct(tl->diff, 99) / 1000.0,
					.errors = errors,
					.units_left = units_left};
	if (tl->n < REPORT_TIMELINE_MAX)
		tl->ticks[tl->n++] = tl->last;
	return &tl->last;
}

void report_stalled(const char *prog, unsigned connections)
{
	fprintf(stderr,
		"%s: %u connections still waiting for a reply %.1f s after the stop (server "
		"stalled or gone): their outcomes are unknown\n",
		prog, connections, LOAD_DRAIN_MS / 1000.0);
}
