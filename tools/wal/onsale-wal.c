/*
 * onsale-wal.c — the operators' WAL tool: inspect, verify, replay, report
 * on and (with an explicit flag) truncate a data directory's write-ahead
 * logs, and follow them as a change feed. docs/OPERATIONS.md is the
 * runbook around it.
 *
 * This file is the thin part: the table of subcommands with the options
 * each accepts and its help, option parsing, and opening the shards. Each
 * subcommand lives in its own tools/wal/wal_*.c (list in wal_tool.h).
 *
 * Exit status: 0 healthy, 1 torn tail, 2 corrupt (or an invariant broken),
 * 3 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "core/htab.h"
#include "net/store/data_lock.h"
#include "tools/wal/wal_tool.h"

enum opt {
	O_DATA = 1 << 0,
	O_SHARD = 1 << 1,
	O_JSON = 1 << 2,
	O_FROM = 1 << 3,
	O_TO = 1 << 4,
	O_EVENT = 1 << 5,
	O_TYPE = 1 << 6,
	O_FILE = 1 << 7,
	O_AT = 1 << 8,
	O_YES = 1 << 9,
	O_SAVE = 1 << 10,
	O_INTERVAL = 1 << 11,
	O_HELP = 1 << 12,
	O_PEERS = 1 << 13,
	O_ARCHIVE = 1 << 14,
	O_REVOKED = 1 << 15,
};
#define O_WHERE (O_DATA | O_SHARD | O_HELP)
#define O_READ (O_WHERE | O_ARCHIVE) /* subcommands that only read may span the archive */
#define O_FILTER (O_FROM | O_TO | O_EVENT | O_TYPE)

struct subcommand {
	const char *name;
	int (*run)(struct wt_shard *sh, size_t n, const struct wt_opts *o);
	unsigned opts;
	const char *usage;
	const char *help;
};

static const struct subcommand subcommands[] = {
	{"dump", wt_cmd_dump, O_READ | O_FILTER | O_JSON | O_FILE,
	 "dump [--json] [--from LSN] [--to LSN] [--event ID] [--type NAME[,NAME]] [--file F.walrec]",
	 "Prints each record as one line (text key=value, or JSON with --json): LSN, shard, time,\n"
	 "type, event and the decoded fields. --file reads a file saved by truncate instead."},
	{"verify", wt_cmd_verify, O_READ, "verify",
	 "Checks checksums and the hash chain, replays snapshot + WAL through the state machine,\n"
	 "checks invariants (conservation, no double-sold seat) and unique ticket ids. Without\n"
	 "--shard, also the shards together: stock transfers (no STOCK_IN without its STOCK_OUT,\n"
	 "no STOCK_ACK of a transfer the taker lacks) and GA capacity over shards plus units in\n"
	 "flight equal to the TIER_ADDs. Run it on a stopped server or a copy.\n"
	 "Exit 0 healthy, 1 torn tail (the server truncates it at start), 2 corrupt, 3 error."},
	{"replay", wt_cmd_replay, O_READ | O_TO, "replay [--to LSN]",
	 "Rebuilds the state (newest valid snapshot + WAL, or only up to --to LSN) and prints its\n"
	 "state hash and a summary: events, tiers, holds live, tickets issued, records, last LSN."},
	{"truncate", wt_cmd_truncate, O_WHERE | O_AT | O_YES | O_SAVE | O_PEERS,
	 "truncate --shard K --at LSN --yes-i-have-a-backup [--save FILE] [--with-peers]",
	 "Drops the records from LSN on (the server must be stopped). First saves them to FILE\n"
	 "(default <shard dir>/truncated-<LSN>.walrec; read it with dump --file), then zeroes the\n"
	 "log after the cut, deletes later segments and checks the result opens cleanly.\n"
	 "Refuses a cut that splits a stock transfer between shards (a STOCK_IN kept whose\n"
	 "STOCK_OUT is cut, or a STOCK_ACK kept for a STOCK_IN cut) and lists the cuts on the\n"
	 "other shards that keep it whole; --with-peers makes those cuts too."},
	{"report", wt_cmd_report, O_READ | O_FILTER,
	 "report [--from LSN] [--to LSN] [--event ID] [--type NAMES]",
	 "Sales CSV by hour (UTC), event, tier and channel: holds, confirms with units and money,\n"
	 "releases, expiries, refunds with fees, redemptions, exchanges, net revenue.\n"
	 "Columns are described in docs/OPERATIONS.md."},
	{"stats", wt_cmd_stats, O_READ | O_JSON, "stats [--json]",
	 "Counts records by type with their bytes; segments, LSN range, time range, ending."},
	{"follow", wt_cmd_follow,
	 O_READ | O_JSON | O_FROM | O_EVENT | O_TYPE | O_INTERVAL | O_REVOKED,
	 "follow [--json] [--from LSN] [--event ID] [--type NAMES] [--interval-ms N] [--revocations]",
	 "Streams records as the server writes them (a change feed), like dump, until SIGINT.\n"
	 "Without --from it starts after the current end. Exits 2 if the log is rewritten under it.\n"
	 "--revocations: instead, one line per revoked e-ticket (a refund, an exchange, or an\n"
	 "exchange to another shard once it ended): revoked event=ID ticket=ID reason=..."},
};
#define SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static const struct option long_opts[] = {
	{"data", required_argument, NULL, O_DATA},
	{"shard", required_argument, NULL, O_SHARD},
	{"json", no_argument, NULL, O_JSON},
	{"from", required_argument, NULL, O_FROM},
	{"to", required_argument, NULL, O_TO},
	{"event", required_argument, NULL, O_EVENT},
	{"type", required_argument, NULL, O_TYPE},
	{"file", required_argument, NULL, O_FILE},
	{"at", required_argument, NULL, O_AT},
	{"yes-i-have-a-backup", no_argument, NULL, O_YES},
	{"save", required_argument, NULL, O_SAVE},
	{"interval-ms", required_argument, NULL, O_INTERVAL},
	{"with-peers", no_argument, NULL, O_PEERS},
	{"help", no_argument, NULL, O_HELP},
	{"archive", required_argument, NULL, O_ARCHIVE},
	{"revocations", no_argument, NULL, O_REVOKED},
	{NULL, 0, NULL, 0},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: onsale-wal SUBCOMMAND [--data DIR] [--shard K] [options]\n\n"
		     "Reads <DIR>/shard-<K>/ (DIR default ./var; all shards unless --shard).\n"
		     "--archive ADIR: also the segments onsaled --wal-archive ADIR moved to\n"
		     "ADIR/shard-<K>/, so dump, verify, replay, report, stats and follow span\n"
		     "the archived and the live WAL as one log.\n"
		     "Subcommands (onsale-wal SUBCOMMAND --help for more):\n");
	for (size_t i = 0; i < SUBCOMMANDS; i++)
		fprintf(out, "  %s\n", subcommands[i].usage);
	fprintf(out, "\nExit status: 0 healthy, 1 torn tail, 2 corrupt, 3 usage or I/O error.\n");
}

static void sub_help(const struct subcommand *s)
{
	printf("usage: onsale-wal %s [--data DIR]%s%s\n\n%s\n", s->usage,
	       strstr(s->usage, "--shard K") ? "" : " [--shard K]", /* truncate's is not optional */
	       s->opts & O_ARCHIVE ? " [--archive ADIR]" : "", s->help);
	if (s->opts & O_TYPE) {
		printf("\nRecord types: ");
		wt_type_names_print(stdout);
		printf("\n");
	}
	printf("\nExit status: 0 healthy, 1 torn tail, 2 corrupt, 3 usage or I/O error.\n");
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int bad_value(int opt, const char *arg)
{
	for (const struct option *lo = long_opts; lo->name; lo++)
		if (lo->val == opt)
			fprintf(stderr, "onsale-wal: bad value for --%s: '%s'\n", lo->name, arg);
	return -1;
}

/* One option into o. 0, or -1 after a message. */
static int set_opt(struct wt_opts *o, int opt, const char *arg)
{
	uint64_t v = 0;

	switch (opt) {
	case O_DATA: o->data_dir = arg; return 0;
	case O_ARCHIVE: o->archive_dir = arg; return 0;
	case O_JSON: o->json = true; return 0;
	case O_FILE: o->file = arg; return 0;
	case O_YES: o->backup_confirmed = true; return 0;
	case O_SAVE: o->save = arg; return 0;
	case O_PEERS: o->with_peers = true; return 0;
	case O_REVOKED: o->revocations = true; return 0;
	case O_TYPE: return wt_type_mask_parse(arg, &o->type_mask) ? bad_value(opt, arg) : 0;
	case O_HELP: return 0;
	}
	if (parse_u64(arg,
		      opt == O_SHARD                        ? SHARDS_MAX - 1
		      : opt == O_EVENT || opt == O_INTERVAL ? UINT32_MAX
							    : WT_LSN_MAX,
		      &v))
		return bad_value(opt, arg);
	switch (opt) {
	case O_SHARD: o->shard = (int)v; break;
	case O_FROM: o->from_lsn = v, o->has_from = true; break;
	case O_TO: o->to_lsn = v; break;
	case O_EVENT: o->event_id = (uint32_t)v, o->has_event = true; break;
	case O_AT: o->at_lsn = v, o->has_at = v > 0; break;
	case O_INTERVAL: o->interval_ms = (uint32_t)v; break;
	}
	return 0;
}

/* Parses argv after the subcommand; *given gets the options seen. */
static int parse(int argc, char **argv, const struct subcommand *s, struct wt_opts *o,
		 unsigned *given)
{
	int opt;

	optind = 2;
	*given = 0;
	while ((opt = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
		if (opt == '?')
			return -1;
		if (!(s->opts & (unsigned)opt)) {
			fprintf(stderr, "onsale-wal: %s does not take %s\n", s->name,
				argv[optind - 1]);
			return -1;
		}
		*given |= (unsigned)opt;
		if (set_opt(o, opt, optarg))
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "onsale-wal: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (o->from_lsn > o->to_lsn) {
		fprintf(stderr, "onsale-wal: --from is after --to\n");
		return -1;
	}
	return 0;
}

static const struct subcommand *find_subcommand(const char *name)
{
	for (size_t i = 0; i < SUBCOMMANDS; i++)
		if (!strcmp(subcommands[i].name, name))
			return &subcommands[i];
	return NULL;
}

static int run(const struct subcommand *s, const struct wt_opts *o)
{
	struct wt_shard *shards;
	size_t n;
	int ex;

	if (s->run == wt_cmd_dump && o->file)
		return wt_cmd_dump_file(o);
	/* a cut under a running server removes what it is writing */
	long holder;
	int rc = s->run == wt_cmd_truncate ? data_lock_take(o->data_dir, 0, 0, &holder) : 0;
	if (rc == -EBUSY) {
		fprintf(stderr,
			"onsale-wal: %s is in use by process %ld (a running onsaled?): stop it"
			" before truncate\n",
			o->data_dir, holder);
		return WT_EXIT_USAGE;
	}
	if (rc) {
		fprintf(stderr, "onsale-wal: %s: cannot lock: %s\n", o->data_dir, strerror(-rc));
		return WT_EXIT_USAGE;
	}
	/* truncate reads every shard: a cut may have to go with cuts on peers */
	if (wt_shards_open(o->data_dir, o->archive_dir, s->run == wt_cmd_truncate ? -1 : o->shard,
			   &shards, &n))
		return WT_EXIT_USAGE;
	ex = s->run(shards, n, o);
	wt_shards_close(shards, n);
	return ex;
}

int main(int argc, char **argv)
{
	struct wt_opts o = {.data_dir = "./var", .shard = -1, .to_lsn = WT_LSN_MAX};
	const struct subcommand *s;
	unsigned given;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? WT_EXIT_USAGE : WT_EXIT_OK;
	}
	s = find_subcommand(argv[1]);
	if (!s) {
		fprintf(stderr, "onsale-wal: unknown subcommand '%s'\n", argv[1]);
		usage(stderr);
		return WT_EXIT_USAGE;
	}
	if (parse(argc, argv, s, &o, &given))
		return WT_EXIT_USAGE;
	if (given & O_HELP) {
		sub_help(s);
		return WT_EXIT_OK;
	}
	/* replaying a log must never refuse a key the server took: hash the
	 * maps with a secret too, as onsaled does (core/htab.h) */
	uint64_t seed;
	if (sodium_init() < 0)
		return WT_EXIT_USAGE;
	randombytes_buf(&seed, sizeof seed);
	htab_seed(seed);
	return run(s, &o);
}
