/*
 * opts.c — the load generators' one options parser and --help builder
 * (bench/common/opts.h): getopt_long over a program's table of struct opt.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/common/opts.h"

/* getopt_long's value for table entry k; below it, 'h' for --help. */
#define VAL_FIRST 256

/* Column where an option's help text starts. */
#define HELP_COLUMN 22

/* A whole number in [lo, hi] (digits only: no sign, no spaces) into *v. */
static int whole(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	char *end;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* A finite decimal number >= 0 (> 0 if positive) into *v. */
static int real(const char *s, int positive, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(x) || x < 0 || (positive && x == 0))
		return -1;
	*v = x;
	return 0;
}

/* What a whole number for o must be, in buf. */
static const char *range(const struct opt *o, char *buf, size_t bufsz)
{
	if (o->hi != UINT64_MAX)
		snprintf(buf, bufsz, "not a whole number in %" PRIu64 "-%" PRIu64, o->lo, o->hi);
	else if (o->lo)
		snprintf(buf, bufsz, "not a whole number >= %" PRIu64, o->lo);
	else
		snprintf(buf, bufsz, "not a whole number");
	return buf;
}

static int refuse(const struct opts_cmd *cmd, const struct opt *o, const char *value,
		  const char *why)
{
	fprintf(stderr, "%s: --%s %s: %s (see --help)\n", cmd->prog, o->name, value, why);
	return OPTS_BAD;
}

/* Stores value (NULL for a flag) where o says: 0 or OPTS_BAD (shown). */
static int store(const struct opts_cmd *cmd, const struct opt *o, const char *value)
{
	char why[96];
	uint64_t x;
	const char *must;
	switch (o->kind) {
	case OPT_KIND_FLAG: *(int *)o->dst = 1; return 0;
	case OPT_KIND_STR: *(const char **)o->dst = value; return 0;
	case OPT_KIND_UINT:
	case OPT_KIND_U64:
		if (whole(value, o->lo, o->hi, &x))
			return refuse(cmd, o, value, range(o, why, sizeof why));
		if (o->kind == OPT_KIND_UINT)
			*(unsigned *)o->dst = (unsigned)x;
		else
			*(uint64_t *)o->dst = x;
		return 0;
	case OPT_KIND_REAL:
		if (real(value, o->positive, o->dst))
			return refuse(cmd, o, value,
				      o->positive ? "not a number > 0" : "not a number >= 0");
		return 0;
	case OPT_KIND_FN:
		must = o->fn(value, o->dst);
		if (!must)
			return 0;
		snprintf(why, sizeof why, "not %s", must);
		return refuse(cmd, o, value, why);
	}
	assert(0 && "an option kind without a case");
	return OPTS_BAD;
}

/* The getopt_long table of cmd: entry k answers VAL_FIRST + k. */
static void long_options(const struct opts_cmd *cmd, struct option *lo)
{
	for (size_t k = 0; k < cmd->n_opt; k++) {
		const struct opt *o = &cmd->opt[k];
		assert(o->name && o->dst && (o->kind != OPT_KIND_FLAG) == (o->meta != NULL));
		assert(o->kind != OPT_KIND_FN || o->fn);
		assert(o->lo <= o->hi);
		assert(o->kind != OPT_KIND_UINT || o->hi <= UINT32_MAX);
		lo[k] = (struct option){o->name, o->meta ? required_argument : no_argument, NULL,
					VAL_FIRST + (int)k};
	}
	lo[cmd->n_opt] = (struct option){"help", no_argument, NULL, 'h'};
	lo[cmd->n_opt + 1] = (struct option){0};
}

int opts_parse(const struct opts_cmd *cmd, int argc, char **argv)
{
	struct option lo[OPTS_MAX + 2];
	assert(cmd->n_opt <= OPTS_MAX);
	long_options(cmd, lo);
	optind = 0; /* glibc: start afresh, also when called again */
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (c == 'h') {
			opts_usage(stdout, cmd);
			return OPTS_HELP;
		}
		if (c < VAL_FIRST || c >= VAL_FIRST + (int)cmd->n_opt) {
			opts_usage(stderr, cmd); /* getopt_long said what was wrong */
			return OPTS_BAD;
		}
		int rc = store(cmd, &cmd->opt[c - VAL_FIRST], optarg);
		if (rc)
			return rc;
	}
	if (optind < argc) {
		fprintf(stderr, "%s: stray argument: %s (see --help)\n", cmd->prog, argv[optind]);
		return OPTS_BAD;
	}
	return 0;
}

/* "  --name META" padded to the help column, then the help's lines. */
static void usage_entry(FILE *f, const char *name, const char *meta, const char *help)
{
	int w = fprintf(f, "  --%s%s%s", name, meta ? " " : "", meta ? meta : "");
	fprintf(f, "%*s", w < HELP_COLUMN ? HELP_COLUMN - w : 1, "");
	for (const char *line = help;;) {
		const char *nl = strchr(line, '\n');
		if (!nl) {
			fprintf(f, "%s\n", line);
			return;
		}
		fprintf(f, "%.*s\n%*s", (int)(nl - line), line, HELP_COLUMN, "");
		line = nl + 1;
	}
}

void opts_usage(FILE *f, const struct opts_cmd *cmd)
{
	fprintf(f, "usage: %s [options]\n%s", cmd->prog, cmd->intro);
	for (size_t k = 0; k < cmd->n_opt; k++)
		usage_entry(f, cmd->opt[k].name, cmd->opt[k].meta, cmd->opt[k].help);
}

int opts_bad(const struct opts_cmd *cmd, const char *what, const char *why)
{
	fprintf(stderr, "%s: %s: %s (see --help)\n", cmd->prog, what, why);
	return OPTS_BAD;
}
