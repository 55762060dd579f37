/*
 * wal_stats.c — the stats subcommand: what a shard's WAL holds, at a
 * glance: records by type with their bytes, segment files, LSN range, the
 * time range of the records, and how the log ends (clean, torn, corrupt).
 * Frames are walked with wal_cursor.c (frame bytes need the frames), the
 * ending is the recovery reader's verdict.
 */
#include "tools/wal/wal_tool.h"

#include <inttypes.h>
#include <errno.h>
#include <string.h>

struct type_count {
	uint64_t records, body_bytes;
};

struct stats {
	struct type_count types[CMD_TYPE_MAX];
	uint64_t records, frame_bytes, undecodable;
	uint64_t first_lsn, last_lsn;
	uint64_t first_ms, last_ms;
};

static void count(struct stats *s, uint64_t lsn, const struct walfmt_frame *f)
{
	struct rec r;

	if (!s->records)
		s->first_lsn = lsn;
	s->last_lsn = lsn;
	s->records++;
	s->frame_bytes += f->frame_bytes;
	if (rec_decode(f->body, f->body_bytes, &r) != ST_OK) {
		s->undecodable++;
		return;
	}
	s->types[r.type].records++;
	s->types[r.type].body_bytes += f->body_bytes;
	if (!s->first_ms || r.now_ms < s->first_ms)
		s->first_ms = r.now_ms;
	if (r.now_ms > s->last_ms)
		s->last_ms = r.now_ms;
}

static int walk(struct wt_shard *sh, struct stats *s)
{
	struct wt_cursor c;
	struct walfmt_frame f;
	struct wt_frame_at at;
	const uint8_t *raw;
	int rc = wt_cursor_open(&c, &sh->st, sh->id, 0);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	while ((rc = wt_cursor_next(&c, &f, &at, &raw)) == 1)
		count(s, f.lsn, &f);
	wt_cursor_close(&c);
	return rc;
}

static void print_text(uint8_t shard, const struct stats *s, const struct wal_scan *scan)
{
	char a[40], b[40];

	printf("shard %u\n  ending %s\n  segments %" PRIu64 "\n  records %" PRIu64
	       "\n  frame_bytes %" PRIu64 "\n",
	       shard, wal_read_status_name(scan->status), scan->segments, s->records,
	       s->frame_bytes);
	if (s->records)
		printf("  lsn_range %" PRIu64 "..%" PRIu64 "\n", s->first_lsn, s->last_lsn);
	if (s->first_ms) {
		wt_format_time(a, sizeof a, s->first_ms);
		wt_format_time(b, sizeof b, s->last_ms);
		printf("  time_range %s..%s\n", a, b);
	}
	printf("  %-18s %10s %14s\n", "type", "records", "body_bytes");
	for (int t = 0; t < CMD_TYPE_MAX; t++)
		if (s->types[t].records)
			printf("  %-18s %10" PRIu64 " %14" PRIu64 "\n", rec_type_name((uint8_t)t),
			       s->types[t].records, s->types[t].body_bytes);
	if (s->undecodable)
		printf("  %-18s %10" PRIu64 "\n", "undecodable", s->undecodable);
}

static void print_json(uint8_t shard, const struct stats *s, const struct wal_scan *scan)
{
	const char *sep = "";

	printf("{\"shard\":%u,\"ending\":\"%s\",\"segments\":%" PRIu64 ",\"records\":%" PRIu64
	       ",\"frame_bytes\":%" PRIu64 ",\"first_lsn\":%" PRIu64 ",\"last_lsn\":%" PRIu64
	       ",\"first_ms\":%" PRIu64 ",\"last_ms\":%" PRIu64 ",\"undecodable\":%" PRIu64
	       ",\"types\":{",
	       shard, wal_read_status_name(scan->status), scan->segments, s->records,
	       s->frame_bytes, s->first_lsn, s->last_lsn, s->first_ms, s->last_ms, s->undecodable);
	for (int t = 0; t < CMD_TYPE_MAX; t++) {
		if (!s->types[t].records)
			continue;
		printf("%s\"%s\":{\"records\":%" PRIu64 ",\"body_bytes\":%" PRIu64 "}", sep,
		       rec_type_name((uint8_t)t), s->types[t].records, s->types[t].body_bytes);
		sep = ",";
	}
	printf("}}\n");
}

int wt_cmd_stats(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	int worst = WT_EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		struct stats s;
		struct wal_scan scan;
		int rc = wal_read(&sh[i].st, sh[i].id, 0, NULL, NULL, &scan);
		int ex;

		memset(&s, 0, sizeof s);
		if (!rc)
			rc = walk(&sh[i], &s);
		if (rc) {
			fprintf(stderr, "onsale-wal: shard %u: %s\n", sh[i].id, strerror(-rc));
			return WT_EXIT_USAGE;
		}
		(o->json ? print_json : print_text)(sh[i].id, &s, &scan);
		wt_report_damage(sh[i].id, &scan);
		ex = wt_exit_of_scan(scan.status);
		worst = ex > worst ? ex : worst;
	}
	return worst;
}
