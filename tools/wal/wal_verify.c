/*
 * wal_verify.c — the verify subcommand: is this shard's data safe to start
 * from, and if not, where is it damaged?
 *
 * Per shard: (1) the recovery reader walks the whole WAL, checking every
 * header and body checksum, the padding, LSN sequence and hash chain, and
 * says clean, torn tail or corrupt (with segment, offset and LSN); (2) the
 * state is rebuilt as the server would (wal_state.c), with core_apply
 * refusing any record execution could not have made; (3) every ticket id a
 * record issues must be new to its event, both in the state and among the
 * ids seen (an id names a ticket with its event: a later event may reuse a
 * retired one's event slot, limits.h, and so its ids);
 * (4) core_check_invariants on the result: conservation per tier, no seat
 * in two live holds or valid tickets, customer counts. Then, with every
 * shard of the directory sound, the shards together (wal_peers.c): stock
 * transfers and GA capacity over shards. Read-only.
 *
 * Exit: 0 healthy, 1 torn tail (the server will truncate it), 2 corrupt or
 * an invariant broken, 3 usage or I/O error.
 */
#include "tools/wal/wal_tool.h"
#include "core/inspect.h"
#include "net/store/snapshot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Ticket ids seen: an open-addressing set (ids are never 0). */
struct id_set {
	uint64_t *slots;
	size_t cap, count;
};

static int set_grow(struct id_set *s)
{
	struct id_set g = {calloc(s->cap ? s->cap * 2 : 1024, sizeof(uint64_t)), 0, 0};

	if (!g.slots)
		return -1;
	g.cap = s->cap ? s->cap * 2 : 1024;
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->slots[i])
			continue;
		size_t k = (size_t)(s->slots[i] * 0x9e3779b97f4a7c15ull) & (g.cap - 1);

		while (g.slots[k])
			k = (k + 1) & (g.cap - 1);
		g.slots[k] = s->slots[i];
		g.count++;
	}
	free(s->slots);
	*s = g;
	return 0;
}

/* 1 added, 0 already there, -1 out of memory. */
static int set_add(struct id_set *s, uint64_t id)
{
	size_t k;

	if ((s->count + 1) * 2 > s->cap && set_grow(s))
		return -1;
	k = (size_t)(id * 0x9e3779b97f4a7c15ull) & (s->cap - 1);
	while (s->slots[k]) {
		if (s->slots[k] == id)
			return 0;
		k = (k + 1) & (s->cap - 1);
	}
	s->slots[k] = id;
	s->count++;
	return 1;
}

struct verify_ctx {
	uint8_t shard;
	struct id_set tickets;
	uint64_t bad_lsn, bad_ticket;
};

/* The set's key for a ticket of an event: one-to-one within an event. */
static uint64_t ticket_key(uint32_t event_id, uint64_t id)
{
	uint64_t k = id ^ ((uint64_t)event_id * 0x9e3779b97f4a7c15ull);

	return k ? k : 1; /* 0 marks an empty slot */
}

/* A ticket id a record issues: new to the state and to the log. */
static int check_new_ticket(struct verify_ctx *v, struct core *c, uint64_t lsn, uint32_t event_id,
			    uint64_t id)
{
	struct cmd q = {.type = CMD_Q_TICKET};
	struct result res;
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};
	int added;

	q.ticket.event_id = event_id;
	q.ticket.ticket_id = id;
	added = set_add(&v->tickets, ticket_key(event_id, id));
	if (added < 0)
		return -1;
	if (added && core_execute(c, &q, 0, &res, &rb) == ST_TICKET_UNKNOWN)
		return 0;
	v->bad_lsn = lsn;
	v->bad_ticket = id;
	return 1;
}

static int units_of_hold(struct core *c, uint32_t event_id, uint64_t hold_id)
{
	struct cmd q = {.type = CMD_Q_HOLD};
	struct result res;
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};

	q.ref.event_id = event_id;
	q.ref.hold_id = hold_id;
	return core_execute(c, &q, 0, &res, &rb) == ST_OK ? res.hold.qty : 0;
}

static int check_record(void *ctx, struct core *c, uint64_t lsn, const struct rec *r)
{
	struct verify_ctx *v = ctx;
	int rc = 0;

	if (r->type == CMD_EXCHANGE)
		return check_new_ticket(v, c, lsn, r->event_id, r->exchange.new_ticket_id);
	if (r->type == CMD_XCHG_IN) /* the new order's one ticket */
		return check_new_ticket(v, c, lsn, r->event_id,
					core_order_ticket_id(r->xchg.new_id, 0));
	if (r->type != CMD_CONFIRM)
		return 0;
	for (int i = 0, n = units_of_hold(c, r->event_id, r->confirm.hold_id); !rc && i < n; i++)
		rc = check_new_ticket(v, c, lsn, r->event_id,
				      r->confirm.first_ticket_id + (uint64_t)i);
	return rc;
}

/* The state checks after a replay; returns the exit status they mean. */
static int judge_state(struct wt_shard *sh, const struct wt_replay *r, const struct verify_ctx *v)
{
	const char *broken;
	uint64_t newest;

	if (v->bad_ticket) {
		printf("shard %u: CORRUPT: ticket id 0x%016" PRIx64 " issued again at LSN %" PRIu64
		       "\n",
		       sh->id, v->bad_ticket, v->bad_lsn);
		return WT_EXIT_CORRUPT;
	}
	if (r->chain_mismatch) {
		printf("shard %u: CORRUPT: the WAL after LSN %" PRIu64
		       " does not continue the snapshot "
		       "(chain values differ)\n",
		       sh->id, r->snapshot_lsn);
		return WT_EXIT_CORRUPT;
	}
	if (r->refused != ST_OK) {
		printf("shard %u: CORRUPT: core refuses the record at LSN %" PRIu64
		       " (%s): it does not "
		       "fit the state before it\n",
		       sh->id, r->refused_lsn, status_name(r->refused));
		return WT_EXIT_CORRUPT;
	}
	/* a snapshot is written only once the WAL is durable to its LSN: one
	 * past the log's end, readable or not, means records were lost
	 * (onsaled refuses such a shard: net/store/shard_store.c) */
	if (snapshot_newest_named(&sh->st, &newest) == 0 && newest > r->last_lsn) {
		printf("shard %u: CORRUPT: snapshot file snap-%020" PRIu64
		       ".osnp names LSN %" PRIu64 " but the WAL ends at LSN %" PRIu64
		       ": WAL records are missing (segments removed or moved?); onsaled refuses"
		       " to start it\n",
		       sh->id, newest, newest, r->last_lsn);
		return WT_EXIT_CORRUPT;
	}
	broken = core_check_invariants(r->core);
	if (broken) {
		printf("shard %u: CORRUPT: invariant broken after LSN %" PRIu64 ": %s\n", sh->id,
		       r->last_lsn, broken);
		return WT_EXIT_CORRUPT;
	}
	return WT_EXIT_OK;
}

static void print_healthy(struct wt_shard *sh, const struct wal_scan *full,
			  const struct wt_replay *r, const struct verify_ctx *v)
{
	struct state_hash h = core_state_hash(r->core);

	printf("shard %u: %s: %" PRIu64 " segment(s), LSN %" PRIu64 "..%" PRIu64
	       ", checksums and chain verified; replayed %" PRIu64 " record(s) from %s; invariants "
	       "hold; %zu ticket id(s) issued, all unique; state_hash %016" PRIx64 "%016" PRIx64
	       "\n",
	       sh->id, full->status == WAL_READ_CLEAN ? "ok" : "ok before the torn tail",
	       full->segments, full->first_lsn, full->end.next_lsn - 1, r->records,
	       r->from_snapshot ? "a snapshot" : "an empty state", v->tickets.count, h.hi, h.lo);
}

/* keep: when the shard is sound, its replayed state is handed over there
 * for the checks across shards. */
static int verify_shard(struct wt_shard *sh, struct core **keep)
{
	struct wal_scan full;
	struct wt_replay r;
	struct verify_ctx v = {.shard = sh->id};
	int rc = wal_read(&sh->st, sh->id, 0, NULL, NULL, &full);
	int ex;

	if (rc) {
		fprintf(stderr, "onsale-wal: shard %u: reading the WAL: %s\n", sh->id,
			strerror(-rc));
		return WT_EXIT_USAGE;
	}
	wt_report_damage(sh->id, &full);
	if (wt_replay_shard(sh, WT_LSN_MAX, WT_LSN_MAX, check_record, &v, &r)) {
		free(v.tickets.slots);
		/* records the server needs are gone: damage, not an I/O error */
		return full.status == WAL_READ_CORRUPT || r.records_gone ? WT_EXIT_CORRUPT
									 : WT_EXIT_USAGE;
	}
	ex = judge_state(sh, &r, &v);
	if (ex == WT_EXIT_OK) {
		ex = wt_exit_of_scan(full.status);
		if (ex != WT_EXIT_CORRUPT)
			print_healthy(sh, &full, &r, &v);
	}
	if (keep && ex != WT_EXIT_CORRUPT)
		*keep = r.core;
	else
		core_destroy(r.core);
	free(v.tickets.slots);
	return ex;
}

/* The shards together (wal_peers.c), once each is sound by itself. */
static int verify_together(struct wt_shard *sh, size_t n, struct core *const *cores)
{
	struct wt_peers p;
	int ex;

	for (size_t i = 0; i < n; i++)
		if (!cores[sh[i].id]) {
			printf("shards: not checked together: shard %u is not sound by itself\n",
			       sh[i].id);
			return WT_EXIT_OK;
		}
	if (wt_peers_collect(sh, n, &p))
		return WT_EXIT_USAGE;
	ex = wt_peers_verify(&p, cores);
	wt_peers_free(&p);
	return ex;
}

int wt_cmd_verify(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	static struct core *cores[SHARDS_MAX];
	bool together = n > 1 && o->shard < 0;
	int worst = WT_EXIT_OK, ex;

	for (size_t i = 0; i < n; i++) {
		ex = verify_shard(&sh[i], together ? &cores[sh[i].id] : NULL);
		worst = ex > worst ? ex : worst;
	}
	if (together) {
		ex = verify_together(sh, n, cores);
		worst = ex > worst ? ex : worst;
	}
	for (unsigned k = 0; k < SHARDS_MAX; k++) {
		core_destroy(cores[k]);
		cores[k] = NULL;
	}
	return worst;
}
