/*
 * wal_summary.c — the replay subcommand: rebuilds each shard's state
 * (wal_state.c) and prints its state hash and a summary an operator can
 * compare with what the server reports: events, tiers with capacity, free,
 * held, sold and killed units, live holds, tickets issued, records replayed
 * and the last LSN.
 *
 * The summary reads the state only through core's queries; the events are
 * every event of the state (core_event_ids), snapshot included, then the
 * retired ones (core_retired_ids), from the summaries their retirement kept.
 */
#include "tools/wal/wal_tool.h"

#include <inttypes.h>
#include <stdlib.h>

static enum status ask(struct core *c, uint8_t type, uint32_t event_id, struct result *res)
{
	struct cmd cmd = {.type = type};
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};

	cmd.query.event_id = event_id;
	return core_execute(c, &cmd, 0, res, &rb);
}

static const char *const kind_names[] = {"ga", "reserved"};
static const char *const state_names[EVENT_STATE_COUNT] = {"draft", "on_sale", "paused", "closed"};

static void print_tiers(FILE *out, const struct availability_view *a)
{
	fprintf(out, "    %-4s %-8s %9s %9s %9s %9s %9s %12s\n", "tier", "kind", "capacity", "free",
		"held", "sold", "killed", "price_minor");
	for (unsigned i = 0; i < a->tier_count; i++) {
		const struct tier_view *t = &a->tiers[i];

		if (!t->defined)
			continue;
		fprintf(out,
			"    %-4u %-8s %9" PRIu32 " %9" PRIu32 " %9" PRIu32 " %9" PRIu32
			" %9" PRIu32 " %12" PRIu64 "%s\n",
			i, kind_names[t->kind & 1], t->capacity, t->free, t->held, t->sold,
			t->killed, t->price_minor, t->low_stock ? "  low stock" : "");
	}
}

/* One event; adds its live holds and tickets to the totals. */
static void print_event(FILE *out, struct core *c, uint32_t event_id, uint64_t *holds,
			uint64_t *tickets)
{
	struct result res;
	const struct event_view *e = &res.event;

	if (ask(c, CMD_Q_EVENT, event_id, &res) != ST_OK) {
		fprintf(out, "  event %" PRIu32 ": not in the state\n", event_id);
		return;
	}
	fprintf(out,
		"  event %" PRIu32 " \"%.*s\" %s: units placed %" PRIu32 ", holds live %" PRIu32
		", tickets issued %" PRIu32 "\n",
		event_id, NAME_BYTES, e->event.name,
		e->retired                           ? "retired"
		: e->event.state < EVENT_STATE_COUNT ? state_names[e->event.state]
						     : "unknown",
		e->units_placed, e->live_holds, e->tickets_issued);
	*holds += e->live_holds;
	*tickets += e->tickets_issued;
	if (ask(c, CMD_Q_AVAILABILITY, event_id, &res) == ST_OK)
		print_tiers(out, &res.avail);
}

static void print_retired(FILE *out, struct core *c, uint64_t *tickets)
{
	static uint32_t ids[RETIRED_MAX];
	uint32_t n = core_retired_ids(c, ids, RETIRED_MAX);
	uint64_t holds = 0;

	fprintf(out, "  retired_events %" PRIu32 "\n", n);
	for (uint32_t i = 0; i < n && i < RETIRED_MAX; i++)
		print_event(out, c, ids[i], &holds, tickets);
}

void wt_summary_print(FILE *out, uint8_t shard, const struct wt_replay *r)
{
	struct state_hash h = core_state_hash(r->core);
	uint32_t ids[EVENTS_MAX], n = core_event_ids(r->core, ids, EVENTS_MAX);
	uint64_t holds = 0, tickets = 0;

	fprintf(out, "shard %u\n", shard);
	fprintf(out, "  state_hash %016" PRIx64 "%016" PRIx64 "\n", h.hi, h.lo);
	if (r->from_snapshot)
		fprintf(out, "  start: snapshot at LSN %" PRIu64 "\n", r->snapshot_lsn);
	else
		fprintf(out, "  start: empty state\n");
	fprintf(out, "  records_replayed %" PRIu64 "\n  last_lsn %" PRIu64 "\n", r->records,
		r->last_lsn);
	fprintf(out, "  events %" PRIu32 "\n", n);
	for (uint32_t i = 0; i < n; i++)
		print_event(out, r->core, ids[i], &holds, &tickets);
	print_retired(out, r->core, &tickets);
	fprintf(out, "  holds_live %" PRIu64 "\n  tickets_issued %" PRIu64 "\n", holds, tickets);
}

/* Says why a replay stopped early; returns the exit status it means. */
static int replay_verdict(uint8_t shard, const struct wt_replay *r)
{
	if (r->chain_mismatch) {
		fprintf(stderr,
			"shard %u: CORRUPT: the WAL after LSN %" PRIu64 " does not continue the "
			"snapshot (chain values differ)\n",
			shard, r->snapshot_lsn);
		return WT_EXIT_CORRUPT;
	}
	if (r->refused != ST_OK) {
		fprintf(stderr,
			"shard %u: replay stopped: core refused the record at LSN %" PRIu64
			" (%s); the state shown is the one before it\n",
			shard, r->refused_lsn, status_name(r->refused));
		return WT_EXIT_CORRUPT;
	}
	wt_report_damage(shard, &r->scan);
	return wt_exit_of_scan(r->scan.status);
}

int wt_cmd_replay(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	int worst = WT_EXIT_OK;

	for (size_t i = 0; i < n; i++) {
		struct wt_replay r;
		int ex;

		if (wt_replay_shard(&sh[i], o->to_lsn, o->to_lsn, NULL, NULL, &r))
			return WT_EXIT_USAGE;
		wt_summary_print(stdout, sh[i].id, &r);
		ex = replay_verdict(sh[i].id, &r);
		worst = ex > worst ? ex : worst;
		core_destroy(r.core);
	}
	return worst;
}
