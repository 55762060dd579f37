/*
 * test_bench_report.c — the bench programs' shared reporting
 * (bench/common/report.c): report_us's three significant digits, the JSON
 * object (valid JSON, the contract's fields with the numbers of known histograms,
 * latency curves, timeline) and the per-second timeline's differences.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bench/common/report.h"

static void us_format(void **state)
{
	(void)state;
	assert_string_equal(report_us(0), "0");
	assert_string_equal(report_us(850), "0.850");
	assert_string_equal(report_us(12345), "12.3");
	assert_string_equal(report_us(965000), "965");
	assert_string_equal(report_us(1290000), "1290");
	assert_string_equal(report_us(999600), "1000");
	assert_string_equal(report_us(99960), "100");
	assert_string_equal(report_us(1234567890), "1230000");
	/* sixteen results usable at once */
	const char *a = report_us(1000), *b = report_us(2000);
	assert_string_equal(a, "1.00");
	assert_string_equal(b, "2.00");
}

/* A minimal JSON syntax check: 1 when s is one valid JSON value. */
static const char *value(const char *p);

static const char *ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static const char *string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		p += *p == '\\' ? 2 : 1;
	}
	return *p == '"' ? p + 1 : NULL;
}

static const char *number(const char *p)
{
	const char *s = p;
	if (*p == '-')
		p++;
	if (*p == '0' && p[1] >= '0' && p[1] <= '9')
		return NULL; /* leading zero */
	while ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' ||
	       *p == '-')
		p++;
	return p > s && (s[0] != '.') ? p : NULL;
}

static const char *list(const char *p, char close, int keyed)
{
	p = ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (keyed) {
			if (!(p = string(ws(p))))
				return NULL;
			p = ws(p);
			if (*p++ != ':')
				return NULL;
		}
		if (!(p = value(p)))
			return NULL;
		p = ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static const char *value(const char *p)
{
	p = ws(p);
	if (*p == '{')
		return list(p, '}', 1);
	if (*p == '[')
		return list(p, ']', 0);
	if (*p == '"')
		return string(p);
	if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	return number(p);
}

static int valid_json(const char *s)
{
	const char *end = value(s);
	return end && *ws(end) == 0;
}

static void json_checker(void **state)
{
	(void)state;
	assert_true(valid_json("{\"a\":[1,2.5,{\"b\":\"x\\\"y\"}],\"c\":true}\n"));
	assert_false(valid_json("{\"a\":1,}"));
	assert_false(valid_json("{\"a\":01}"));
	assert_false(valid_json("{\"a\":[1,2}"));
}

static struct hist h[2];
static struct hist_snap per_op[2];

static char *run_json(const struct report_run *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	report_json(f, r);
	fclose(f);
	return buf;
}

/* holds: 1..1000 us; confirms: 1000 x 2 ms (once for every test) */
static void fill(void)
{
	static int done;
	if (done++)
		return;
	for (uint64_t v = 1; v <= 1000; v++) {
		hist_record(&h[0], v * 1000u);
		hist_record(&h[1], 2000000u);
	}
	for (int o = 0; o < 2; o++) {
		hist_snap_clear(&per_op[o]);
		hist_snap_add(&per_op[o], &h[o]);
	}
}

static void json_numbers(void **state)
{
	(void)state;
	fill();
	static const char *const names[] = {"hold", "confirm"};
	const struct report_tick ticks[2] = {{1.0, 1500, 900.4, 0, 10}, {2.0, 500, 2000, 0, 0}};
	struct report_run r = {.system = "onsale",
			       .scenario = "ga-flash",
			       .event_id = 42,
			       .units = 1000,
			       .connections = 2,
			       .depth = 8,
			       .seconds = 2.0,
			       .units_sold = 800,
			       .refused = 3,
			       .errors = 1,
			       .verify = "seat \"7\" twice",
			       .n_ops = 2,
			       .op_names = names,
			       .per_op = per_op,
			       .ticks = ticks,
			       .n_ticks = 2,
			       .extra_json = "\"double_scans\":5"};
	char *j = run_json(&r);
	assert_true(valid_json(j));
	assert_non_null(
		strstr(j, "{\"system\":\"onsale\",\"scenario\":\"ga-flash\",\"event_id\":42,"));
	assert_non_null(strstr(j, "\"ops\":2000,\"ops_per_s\":1000,\"holds_per_s\":500,"
				  "\"confirms_per_s\":500,\"releases_per_s\":0,"));
	/* all: 1000 values 1..1000 us and 1000 at 2000 us */
	assert_non_null(strstr(j, "\"p50_us\":1000,\"p90_us\":2000,"));
	assert_non_null(strstr(j, "\"max_us\":2000,\"hold\":{\"count\":1000,\"p50_us\":500,"
				  "\"p99_us\":990,\"p999_us\":999,\"max_us\":1000}"));
	assert_non_null(strstr(j, "\"confirm\":{\"count\":1000,\"p50_us\":2000,"));
	assert_non_null(strstr(j, "\"units_sold\":800,\"refused\":3,\"errors\":1,"
				  "\"verify\":\"seat \\\"7\\\" twice\""));
	assert_non_null(strstr(j, "\"hold_curve_us\":[[50,500],[75,750],[90,900],[95,950],"
				  "[99,990],[99.5,995],[99.9,999],[99.99,1000],[100,1000]]"));
	assert_non_null(strstr(j, "\"latency_curve_us\":[[50,1000],[75,2000],"));
	assert_non_null(strstr(j, "\"timeline\":[[1.0,1500,900],[2.0,500,2000]]"));
	assert_non_null(strstr(j, ",\"double_scans\":5}\n"));
	free(j);

	/* no hold op type: empty hold curve, zero hold rate, still valid */
	r.n_ops = 1;
	r.op_names = names + 1;
	r.per_op = per_op + 1;
	r.n_ticks = 0;
	r.extra_json = NULL;
	r.verify = NULL;
	j = run_json(&r);
	assert_true(valid_json(j));
	assert_non_null(strstr(j, "\"holds_per_s\":0,"));
	assert_non_null(strstr(j, "\"hold_curve_us\":[]"));
	assert_non_null(strstr(j, "\"timeline\":[]"));
	assert_non_null(strstr(j, "\"verify\":\"skipped\""));
	free(j);
}

static void timeline(void **state)
{
	(void)state;
	static struct hist t;
	static struct hist_snap cur;
	struct report_timeline tl;
	assert_int_equal(report_timeline_init(&tl), 0);
	for (int i = 0; i < 100; i++)
		hist_record(&t, 1000u);
	hist_snap_clear(&cur);
	hist_snap_add(&cur, &t);
	const struct report_tick *k = report_timeline_tick(&tl, &cur, 1.0, 0, 50);
	assert_true(k->ops_per_s == 100.0);
	assert_true(k->p99_us == 1.0);
	for (int i = 0; i < 50; i++)
		hist_record(&t, 5000000u);
	hist_snap_clear(&cur);
	hist_snap_add(&cur, &t);
	k = report_timeline_tick(&tl, &cur, 1.5, 2, 0);
	assert_true(k->ops_per_s == 100.0); /* 50 in half a second */
	assert_true(k->p99_us >= 4995.0 && k->p99_us <= 5000.0);
	assert_int_equal(k->errors, 2);
	assert_int_equal(tl.n, 2);
	assert_true(tl.ticks[0].t == 1.0 && tl.ticks[1].t == 1.5);
	report_timeline_free(&tl);
}

static void table(void **state)
{
	(void)state;
	static const char *const names[] = {"hold", "confirm"};
	fill();
	struct report_run r = {.system = "redis",
			       .scenario = "seat-flash",
			       .seconds = 2.0,
			       .n_ops = 2,
			       .op_names = names,
			       .per_op = per_op,
			       .verify = "ok"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	report_table(f, &r);
	fclose(f);
	assert_non_null(strstr(buf, "redis seat-flash: "));
	assert_non_null(strstr(buf, "\nall             2000        1000 "));
	assert_non_null(strstr(buf, "\nhold            1000         500       500 "));
	assert_non_null(strstr(buf, "\nverify: ok\n"));
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(us_format),    cmocka_unit_test(json_checker),
		cmocka_unit_test(json_numbers), cmocka_unit_test(timeline),
		cmocka_unit_test(table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
