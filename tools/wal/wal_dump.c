/*
 * wal_dump.c — the dump subcommand: every record of the WAL (or of a .walrec
 * file that truncate saved) as one line of text or JSON, through the
 * filters. Records come from the recovery reader, so only records that
 * verify and continue the chain are shown; where the log is torn or
 * corrupt, dump says so on stderr and exits 1 or 2 after the records
 * before the damage.
 */
#include "tools/wal/wal_tool.h"

#include <errno.h>
#include <string.h>

#define STOP_PAST_TO 1

struct dump_ctx {
	struct wt_filter filter;
	uint8_t shard;
	bool json;
};

static int dump_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t body_bytes)
{
	struct dump_ctx *d = ctx;

	if (lsn > d->filter.to_lsn)
		return STOP_PAST_TO;
	wt_print_body(stdout, &d->filter, d->shard, lsn, body, body_bytes, d->json);
	return 0;
}

static int dump_saved(void *ctx, uint8_t shard, uint64_t lsn, const uint8_t *body,
		      uint32_t body_bytes)
{
	struct dump_ctx *d = ctx;

	wt_print_body(stdout, &d->filter, shard, lsn, body, body_bytes, d->json);
	return 0;
}

int wt_cmd_dump_file(const struct wt_opts *o)
{
	struct dump_ctx d = {.json = o->json};

	wt_filter_from_opts(&d.filter, o);
	return wt_recfile_read(o->file, dump_saved, &d) ? WT_EXIT_USAGE : WT_EXIT_OK;
}

int wt_cmd_dump(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	int worst = WT_EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		struct dump_ctx d = {.shard = sh[i].id, .json = o->json};
		struct wal_scan scan;
		int rc, ex;

		wt_filter_from_opts(&d.filter, o);
		rc = wal_read(&sh[i].st, sh[i].id, o->from_lsn, dump_one, &d, &scan);
		if (rc == STOP_PAST_TO)
			continue;
		if (rc == -ERANGE) /* --from before the oldest record kept: show what is there */
			rc = wal_read(&sh[i].st, sh[i].id, 0, dump_one, &d, &scan);
		if (rc && rc != STOP_PAST_TO) {
			fprintf(stderr, "onsale-wal: shard %u: reading the WAL: %s\n", sh[i].id,
				strerror(rc < 0 ? -rc : rc));
			return WT_EXIT_USAGE;
		}
		wt_report_damage(sh[i].id, &scan);
		ex = rc == STOP_PAST_TO ? WT_EXIT_OK : wt_exit_of_scan(scan.status);
		worst = ex > worst ? ex : worst;
	}
	fflush(stdout);
	return worst;
}
