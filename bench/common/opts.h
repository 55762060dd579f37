/*
 * opts.h — the command line of the load generators (onsale-bench,
 * bench-redis, bench-pg) and of the in-process benches of bench/engine/
 * (bench-core, bench-wal, bench-snapshot, bench-retire). Each program
 * describes the options it takes in one table of struct opt (the options
 * the load generators share read the same in each:
 * --host, --port, --scenario, --connections, --depth, --duration, --ops,
 * --units, --seats, --confirm, --seed, --json, --verify; then its extras).
 * opts_parse() runs getopt_long over that table and stores each value
 * where its entry points; opts_usage() builds --help from the same table.
 * A bad value is refused with one wording in every program, saying which
 * option and what it must be:
 *
 *   bench-redis: --connections 300: not a whole number in 1-256 (see --help)
 *
 * Entries are written with the OPT_* constructors below, which check at
 * compile time that dst has the type the kind stores into.
 */
#ifndef ONSALE_BENCH_OPTS_H
#define ONSALE_BENCH_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Options a table may hold (plus --help, which every program has). */
#define OPTS_MAX 32u

enum opt_kind {
	OPT_KIND_FLAG, /* no value: *(int *)dst = 1 */
	OPT_KIND_STR,  /* *(const char **)dst = the value */
	OPT_KIND_UINT, /* a whole number in [lo, hi] into *(unsigned *)dst */
	OPT_KIND_U64,  /* a whole number in [lo, hi] into *(uint64_t *)dst */
	OPT_KIND_REAL, /* a decimal number >= 0 (> 0 if positive) into *(double *)dst */
	OPT_KIND_FN,   /* fn(value, dst) parses and stores the value */
};

/* A custom value: NULL when stored, else what the value must be
 * ("ga-flash or seat-flash"), for the error message. */
typedef const char *opt_fn(const char *value, void *dst);

struct opt {
	const char *name; /* the long option, without "--" */
	const char *meta; /* the value's name in --help ("N"); NULL for a flag */
	const char *help; /* its text in --help; '\n' starts another line */
	enum opt_kind kind;
	void *dst;
	uint64_t lo, hi; /* OPT_KIND_UINT, OPT_KIND_U64 */
	int positive;    /* OPT_KIND_REAL: 0 is refused too */
	opt_fn *fn;      /* OPT_KIND_FN */
};

/* What a program takes: its name for messages, the text --help prints
 * between the usage line and the options, and its table. */
struct opts_cmd {
	const char *prog;
	const char *intro;
	const struct opt *opt;
	size_t n_opt;
};

/* An opts_cmd over a whole static table. */
/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define OPTS_CMD(prog_, intro_, table) \
	{.prog = (prog_), .intro = (intro_), .opt = (table), \
	 .n_opt = sizeof(table) / sizeof((table)[0])}

#define OPT_TYPED_(dst, type) ((void *)(1 ? (dst) : (type *)0))

#define OPT_FLAG(name, dst, help) {(name), NULL, (help), OPT_KIND_FLAG, OPT_TYPED_(dst, int)}
#define OPT_STR(name, meta, dst, help)                                                         \
	{(name), (meta), (help), OPT_KIND_STR, OPT_TYPED_(dst, const char *)}
#define OPT_UINT(name, meta, dst, lo, hi, help)                                                \
	{(name), (meta), (help), OPT_KIND_UINT, OPT_TYPED_(dst, unsigned), (lo), (hi)}
#define OPT_U64(name, meta, dst, lo, hi, help)                                                 \
	{(name), (meta), (help), OPT_KIND_U64, OPT_TYPED_(dst, uint64_t), (lo), (hi)}
#define OPT_REAL(name, meta, dst, positive, help)                                              \
	{(name), (meta), (help), OPT_KIND_REAL, OPT_TYPED_(dst, double), 0, 0, (positive)}
#define OPT_FN(name, meta, dst, fn, help)                                                      \
	{(name), (meta), (help), OPT_KIND_FN, (dst), 0, 0, 0, (fn)}
// clang-format on

/* A macro's value as a string, for help texts: OPTS_STR(CONNECTIONS_MAX). */
#define OPTS_STR_(x) #x
#define OPTS_STR(x) OPTS_STR_(x)

/* Returned by opts_parse after printing --help on stdout: exit 0. */
#define OPTS_HELP 1
/* Returned after an error message on stderr: the exit status for bad usage. */
#define OPTS_BAD 2

/* Parses argv by cmd's table (stray arguments are refused): 0, OPTS_HELP
 * or OPTS_BAD. Entries not given keep the values their dst held. */
int opts_parse(const struct opts_cmd *cmd, int argc, char **argv);
/* An OPT_FN for the peers' --scenario: "ga-flash" or "seat-flash" into
 * dst (a const char *); NULL, or what it must be. */
const char *opts_flash_scenario(const char *arg, void *dst);
/* opts_parse for a load generator: *seed is the time unless --seed says. */
int opts_parse_seeded(const struct opts_cmd *cmd, int argc, char **argv, uint64_t *seed);

/* The --help text: usage line, intro, one entry per option (in the
 * table's order, the last ends the text). */
void opts_usage(FILE *f, const struct opts_cmd *cmd);

/* Prints "PROG: WHAT: WHY (see --help)" on stderr for a check after the
 * parse (options that do not fit together); returns OPTS_BAD. */
int opts_bad(const struct opts_cmd *cmd, const char *what, const char *why);

#endif
