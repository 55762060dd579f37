/*
 * wal_state.c — rebuilds a shard's state as the server would at start:
 * the newest valid snapshot (at or before the LSN asked for), then every WAL
 * record after it through core_apply, verified frame by frame and along the
 * hash chain by the recovery reader (net/wal/wal_read.c).
 *
 * replay, verify and report all run this loop; verify and report look at
 * each record, with the state as it was before the record, through a hook.
 * A record core_apply refuses stops the replay and is reported with its LSN:
 * the server would refuse it too.
 */
#include "tools/wal/wal_tool.h"

#include "core/bytes.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#define STOP_PAST_END 1 /* a record after to_lsn: stop, not an error */
#define STOP_REFUSED 2

struct apply_ctx {
	struct wt_replay *out;
	uint64_t to_lsn;
	wt_apply_fn hook;
	void *hook_ctx;
	int hook_rc;
};

static void note_event(struct wt_replay *r, uint32_t event_id)
{
	for (uint32_t i = 0; i < r->event_count; i++)
		if (r->events[i] == event_id)
			return;
	if (r->event_count < EVENTS_MAX)
		r->events[r->event_count++] = event_id;
}

static int apply_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t body_bytes)
{
	struct apply_ctx *a = ctx;
	struct wt_replay *r = a->out;
	struct rec rec;
	enum status st;

	if (lsn > a->to_lsn)
		return STOP_PAST_END;
	st = rec_decode(body, body_bytes, &rec);
	if (st == ST_OK && a->hook) {
		a->hook_rc = a->hook(a->hook_ctx, r->core, lsn, &rec);
		if (a->hook_rc)
			return STOP_REFUSED;
	}
	if (st == ST_OK)
		st = core_apply(r->core, body, body_bytes);
	if (st != ST_OK) {
		r->refused = st;
		r->refused_lsn = lsn;
		return STOP_REFUSED;
	}
	note_event(r, rec.event_id);
	r->records++;
	r->last_lsn = lsn;
	return 0;
}

static int start_state(struct wt_shard *sh, uint64_t snapshot_lsn_max, struct wt_replay *out)
{
	int rc;

	rc = wt_snapshot_load(sh, snapshot_lsn_max, &out->core, &out->snapshot_lsn,
			      out->snapshot_chain);
	if (rc == 0) {
		out->from_snapshot = true;
		out->last_lsn = out->snapshot_lsn;
		return 0;
	}
	if (rc != -ENOENT)
		return -1;
	out->core = core_create(sh->id);
	if (!out->core) {
		fprintf(stderr, "onsale-wal: out of memory\n");
		return -1;
	}
	return 0;
}

/* The record before the first one replayed must be the one the snapshot
 * ends with (same chain value), or the snapshot belongs to another log. */
static void check_snapshot_chain(struct wt_replay *out)
{
	const struct wal_scan *s = &out->scan;

	if (!out->from_snapshot || !s->has_from_chain)
		return;
	out->chain_mismatch = s->from_chain.lo != get_u64(out->snapshot_chain) ||
			      s->from_chain.hi != get_u64(out->snapshot_chain + 8);
}

static void explain_read_error(struct wt_shard *sh, const struct wt_replay *out, int rc)
{
	if (rc == -ERANGE && out->from_snapshot)
		fprintf(stderr,
			"onsale-wal: shard %u: records after LSN %" PRIu64
			" are no longer in the WAL (removed after a later snapshot), and the"
			" snapshot at LSN %" PRIu64 " is the newest at or before the LSN asked"
			" for (--to); --archive DIR reads archived segments\n",
			sh->id, out->snapshot_lsn, out->snapshot_lsn);
	else if (rc == -ERANGE)
		fprintf(stderr,
			"onsale-wal: shard %u: the WAL no longer starts at LSN 1 (segments removed"
			" after a snapshot), and no snapshot of this shard could be read (damaged or"
			" none at or before --to): onsaled cannot start it either, unless its"
			" --wal-archive holds the segments removed (then it reads them). Read them"
			" here with --archive DIR, or restore the snapshots from a backup\n",
			sh->id);
	else
		fprintf(stderr, "onsale-wal: shard %u: reading the WAL in %s: %s\n", sh->id,
			sh->dir, strerror(-rc));
}

int wt_replay_shard(struct wt_shard *sh, uint64_t snapshot_lsn_max, uint64_t to_lsn,
		    wt_apply_fn hook, void *ctx, struct wt_replay *out)
{
	struct apply_ctx a;
	int rc;

	memset(out, 0, sizeof *out);
	a = (struct apply_ctx){out, to_lsn, hook, ctx, 0};
	if (snapshot_lsn_max > to_lsn)
		snapshot_lsn_max = to_lsn;
	if (start_state(sh, snapshot_lsn_max, out))
		return -1;
	rc = wal_read(&sh->st, sh->id, out->snapshot_lsn + 1, apply_one, &a, &out->scan);
	check_snapshot_chain(out);
	if (rc == STOP_PAST_END) {
		out->scan.status = WAL_READ_CLEAN; /* the prefix asked for is whole */
		return 0;
	}
	if (rc == STOP_REFUSED && a.hook_rc < 0)
		rc = a.hook_rc;
	if (rc < 0) {
		out->records_gone = rc == -ERANGE;
		explain_read_error(sh, out, rc);
		core_destroy(out->core);
		out->core = NULL;
		return -1;
	}
	return 0;
}
