/*
 * wal_peers.c — what the shards of a data directory must agree on: the GA
 * stock transfers between them (core/stock.c), and exchanges of a ticket
 * for a seat on another shard (wal_xchg.c, core/xchg.c). A transfer is
 * STOCK_OUT on the giver, STOCK_IN with the same id (giver << 56 | taker
 * << 48 | seq) on the taker, and later a cumulative STOCK_ACK on the giver.
 * Each shard's state keeps, per peer, the seqs given, acknowledged and
 * applied, and the transfers given and not yet acknowledged (redelivered
 * at start).
 *
 * verify (all shards): per ordered pair, the taker applied no seq the giver
 * did not give (units created) and the giver holds no acknowledgement of a
 * seq the taker does not have (units lost, never sent again); every STOCK_IN
 * names what its STOCK_OUT gave; per event and GA tier, the capacity in the
 * shards' tiers plus the units in flight (given, not applied) equals what
 * the TIER_ADD records created; every exchange's sides agree (wal_xchg.c).
 * Records come from the whole kept WAL, seqs from the replayed states, so
 * the checks hold across snapshots.
 *
 * truncate: a cut on one shard may force cuts on others (wt_peers_plan):
 * a STOCK_OUT cut away takes its kept STOCK_IN with it, a STOCK_IN cut away
 * takes the kept STOCK_ACK that covers it; an XCHG_IN its ticket's shard no
 * longer explains goes, and an XCHG_END 0 whose XCHG_IN went goes with it;
 * until nothing changes.
 */
#include "tools/wal/wal_tool.h"

#include "core/inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- records ---- */

struct collect_ctx {
	struct wt_peers *p;
	uint8_t shard;
	int err;
};

static int push(struct wt_peers *p, const struct wt_xrec *x)
{
	if (p->len == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 256;
		struct wt_xrec *v = realloc(p->v, cap * sizeof *v);

		if (!v)
			return -ENOMEM;
		p->v = v;
		p->cap = cap;
	}
	p->v[p->len++] = *x;
	return 0;
}

static bool wanted(const uint8_t *body, uint32_t len)
{
	return len >= 1 &&
	       (body[0] == CMD_TIER_ADD || body[0] == CMD_STOCK_OUT || body[0] == CMD_STOCK_IN ||
		body[0] == CMD_STOCK_ACK || body[0] == CMD_XCHG_OUT || body[0] == CMD_XCHG_IN ||
		body[0] == CMD_XCHG_END);
}

static int collect_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct collect_ctx *c = ctx;
	struct wt_xrec x = {.lsn = lsn, .shard = c->shard};
	struct rec r;

	if (!wanted(body, len) || rec_decode(body, len, &r) != ST_OK)
		return 0; /* an undecodable record: verify reports it per shard */
	if (r.type == CMD_TIER_ADD && r.tier.kind != TIER_GA)
		return 0;
	x.type = r.type;
	x.event_id = r.event_id;
	if (r.type == CMD_TIER_ADD) {
		x.tier = r.tier.tier;
		x.qty = r.tier.capacity;
	} else if (r.type >= CMD_XCHG_OUT) {
		x.id = r.xchg.ticket_id;
		x.new_id = r.xchg.new_id;
		x.tier = r.xchg.tier;
		x.peer = r.xchg.peer_shard;
		x.status = r.xchg.status;
	} else {
		x.id = r.stock.transfer_id;
		x.tier = r.stock.tier;
		x.qty = r.stock.qty;
	}
	c->err = push(c->p, &x);
	return c->err ? 1 : 0;
}

static int by_key(const void *a, const void *b)
{
	const struct wt_xrec *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	if (x->event_id != y->event_id)
		return x->event_id < y->event_id ? -1 : 1;
	if (x->shard != y->shard)
		return x->shard < y->shard ? -1 : 1;
	return x->lsn < y->lsn ? -1 : x->lsn > y->lsn;
}

int wt_peers_collect(struct wt_shard *sh, size_t n, struct wt_peers *p)
{
	memset(p, 0, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		struct collect_ctx c = {p, sh[i].id, 0};
		struct wal_scan scan;
		int rc = wal_read(&sh[i].st, sh[i].id, 0, collect_one, &c, &scan);

		if (!rc)
			rc = c.err;
		if (rc < 0) {
			fprintf(stderr, "onsale-wal: shard %u: reading the WAL: %s\n", sh[i].id,
				strerror(-rc));
			wt_peers_free(p);
			return -1;
		}
		p->present |= 1ull << sh[i].id;
		p->first_lsn[sh[i].id] = scan.first_lsn;
	}
	if (p->len)
		qsort(p->v, p->len, sizeof *p->v, by_key);
	return 0;
}

void wt_peers_free(struct wt_peers *p)
{
	free(p->v);
	memset(p, 0, sizeof *p);
}

/* The first STOCK_ACK of pair giver -> taker acknowledging seq or later. */
static const struct wt_xrec *first_ack(const struct wt_peers *p, uint8_t giver, uint8_t taker,
				       uint64_t seq)
{
	size_t i = wt_peers_lower(p, CMD_STOCK_ACK, XFER_ID(giver, taker, seq));

	if (i < p->len && p->v[i].type == CMD_STOCK_ACK &&
	    p->v[i].id >> 48 == XFER_ID(giver, taker, 0) >> 48)
		return &p->v[i];
	return NULL;
}

/* ---- the cross-shard checks of verify ---- */

struct seqs_pair {
	struct xfer_seqs g, t; /* the giver's seqs with the taker, the taker's with the giver */
};

static void pair_seqs(struct core *const *cores, unsigned g, unsigned t, struct seqs_pair *s)
{
	core_xfer_seqs(cores[g], (uint8_t)t, &s->g);
	core_xfer_seqs(cores[t], (uint8_t)g, &s->t);
}

/* STOCK_INs the taker applied beyond what the giver gave. */
static unsigned report_created(const struct wt_peers *p, unsigned g, unsigned t,
			       const struct seqs_pair *s)
{
	unsigned found = 0;

	for (uint64_t q = s->g.out_seq + 1; q <= s->t.in_seq; q++) {
		const struct wt_xrec *in = wt_peers_find(p, CMD_STOCK_IN, XFER_ID(g, t, q));

		if (!in)
			continue;
		printf("shards: CORRUPT: shard %u LSN %" PRIu64 ": STOCK_IN of transfer %016" PRIx64
		       " (%u units of event %u tier %u from shard %u), but shard %u gave transfers "
		       "to shard %u only up to seq %" PRIu64 ": its STOCK_OUT is missing and the "
		       "units exist twice\n",
		       t, in->lsn, in->id, in->qty, in->event_id, in->tier, g, g, t, s->g.out_seq);
		found++;
	}
	if (!found)
		printf("shards: CORRUPT: shard %u applied transfers from shard %u up to seq %" PRIu64
		       ", but shard %u gave only up to seq %" PRIu64 " (units created)\n",
		       t, g, s->t.in_seq, g, s->g.out_seq);
	return found ? found : 1;
}

/* STOCK_ACKs on the giver of transfers the taker does not have. */
static unsigned report_lost(const struct wt_peers *p, unsigned g, unsigned t,
			    const struct seqs_pair *s)
{
	const struct wt_xrec *ack = first_ack(p, (uint8_t)g, (uint8_t)t, s->t.in_seq + 1);
	unsigned found = 0;

	for (; ack && ack < p->v + p->len && ack->type == CMD_STOCK_ACK &&
	       ack->id >> 48 == XFER_ID(g, t, 0) >> 48;
	     ack++, found++)
		printf("shards: CORRUPT: shard %u LSN %" PRIu64
		       ": STOCK_ACK of transfer %016" PRIx64 " (seq %" PRIu64
		       " to shard %u), but shard %u applied transfers from shard "
		       "%u only up to seq %" PRIu64 ": shard %u will not send seqs %" PRIu64
		       "..%" PRIu64 " again and their units are lost\n",
		       g, ack->lsn, ack->id, (uint64_t)XFER_SEQ(ack->id), t, t, g, s->t.in_seq, g,
		       s->t.in_seq + 1, (uint64_t)XFER_SEQ(ack->id));
	if (!found)
		printf("shards: CORRUPT: shard %u has transfers to shard %u acknowledged up to seq "
		       "%" PRIu64 ", but shard %u applied only up to seq %" PRIu64
		       " (units lost)\n",
		       g, t, s->g.acked_seq, t, s->t.in_seq);
	return found ? found : 1;
}

static unsigned check_pairs(const struct wt_peers *p, struct core *const *cores)
{
	unsigned bad = 0;

	for (unsigned g = 0; g < SHARDS_MAX; g++) {
		for (unsigned t = 0; cores[g] && t < SHARDS_MAX; t++) {
			struct seqs_pair s;

			if (t == g)
				continue;
			core_xfer_seqs(cores[g], (uint8_t)t, &s.g);
			if (!cores[t]) {
				if (s.g.out_seq)
					printf("shards: CORRUPT: shard %u gave stock transfers to shard "
					       "%u, which the data directory does not have\n",
					       g, t);
				bad += s.g.out_seq != 0;
				continue;
			}
			pair_seqs(cores, g, t, &s);
			if (s.t.in_seq > s.g.out_seq)
				bad += report_created(p, g, t, &s);
			if (s.g.acked_seq > s.t.in_seq)
				bad += report_lost(p, g, t, &s);
		}
	}
	return bad;
}

/* The giver's record of what a STOCK_IN applied: its STOCK_OUT when the WAL
 * still has it, else the transfer it keeps pending. false: neither is left. */
static bool given(const struct wt_peers *p, struct core *const *cores, const struct wt_xrec *in,
		  struct wt_xrec *out)
{
	static struct xfer pending[XFER_PENDING_MAX];
	uint8_t g = XFER_GIVER(in->id), t = XFER_TAKER(in->id);
	const struct wt_xrec *o = wt_peers_find(p, CMD_STOCK_OUT, in->id);
	struct xfer_seqs s;
	uint32_t count;

	if (o) {
		*out = *o;
		return true;
	}
	if (!cores[g])
		return false;
	core_xfer_seqs(cores[g], t, &s);
	if (XFER_SEQ(in->id) <= s.acked_seq || XFER_SEQ(in->id) > s.out_seq)
		return false;
	count = core_xfers_pending(cores[g], t, pending, XFER_PENDING_MAX);
	if (XFER_SEQ(in->id) - s.acked_seq > count)
		return false;
	const struct xfer *x = &pending[XFER_SEQ(in->id) - s.acked_seq - 1];
	*out = (struct wt_xrec){.id = x->transfer_id,
				.event_id = x->event_id,
				.qty = x->qty,
				.tier = x->tier,
				.shard = g,
				.type = CMD_STOCK_OUT};
	return true;
}

/* Every STOCK_IN moved what its STOCK_OUT gave. */
static unsigned check_contents(const struct wt_peers *p, struct core *const *cores)
{
	unsigned bad = 0;

	for (size_t i = wt_peers_lower(p, CMD_STOCK_IN, 0);
	     i < p->len && p->v[i].type == CMD_STOCK_IN; i++) {
		const struct wt_xrec *in = &p->v[i];
		struct wt_xrec o;

		if (!given(p, cores, in, &o) ||
		    (o.qty == in->qty && o.event_id == in->event_id && o.tier == in->tier))
			continue;
		printf("shards: CORRUPT: shard %u LSN %" PRIu64 ": STOCK_IN of transfer %016" PRIx64
		       " moved %u units of event %u tier %u, but shard %u gave %u units of event %u "
		       "tier %u\n",
		       in->shard, in->lsn, in->id, in->qty, in->event_id, in->tier, o.shard, o.qty,
		       o.event_id, o.tier);
		bad++;
	}
	return bad;
}

/* ---- capacity per event and GA tier, over shards ---- */

struct tier_sum {
	uint32_t event_id;
	uint8_t tier;
	uint64_t created, in_tiers, in_flight;
	uint64_t defined_on, added_on; /* shard bit sets */
};

struct sums {
	struct tier_sum *v;
	size_t len, cap;
	uint64_t flight_xfers, flight_units;
};

static struct tier_sum *sum_of(struct sums *s, uint32_t event_id, uint8_t tier)
{
	for (size_t i = 0; i < s->len; i++)
		if (s->v[i].event_id == event_id && s->v[i].tier == tier)
			return &s->v[i];
	if (s->len == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 64;
		struct tier_sum *v = realloc(s->v, cap * sizeof *v);

		if (!v)
			return NULL;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->len] = (struct tier_sum){.event_id = event_id, .tier = tier};
	return &s->v[s->len++];
}

/* Capacity in the GA tiers of one event on one shard's state (a retired
 * event's from its summary, which keeps its tiers' capacity). */
static int add_event_tiers(struct sums *s, struct core *c, unsigned k, uint32_t event_id)
{
	struct cmd q = {.type = CMD_Q_AVAILABILITY};
	struct result res;
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};

	q.query.event_id = event_id;
	if (core_execute(c, &q, 0, &res, &rb) != ST_OK)
		return 0;
	for (uint8_t t = 0; t < res.avail.tier_count && t < TIERS_MAX; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		struct tier_sum *ts;

		if (!v->defined || v->kind != TIER_GA)
			continue;
		if (!(ts = sum_of(s, event_id, t)))
			return -1;
		ts->in_tiers += v->capacity;
		ts->defined_on |= 1ull << k;
	}
	return 0;
}

/* Capacity in the GA tiers of one shard's state, live and retired events. */
static int add_tiers(struct sums *s, struct core *c, unsigned k)
{
	static uint32_t ids[EVENTS_MAX + RETIRED_MAX];
	uint32_t n = core_event_ids(c, ids, EVENTS_MAX);

	n = n < EVENTS_MAX ? n : EVENTS_MAX;
	n += core_retired_ids(c, ids + n, RETIRED_MAX);
	for (uint32_t e = 0; e < n && e < EVENTS_MAX + RETIRED_MAX; e++)
		if (add_event_tiers(s, c, k, ids[e]))
			return -1;
	return 0;
}

/* Units given by g and not applied by its taker: in no tier. */
static int add_in_flight(struct sums *s, struct core *const *cores, unsigned g)
{
	static struct xfer pending[XFER_PENDING_MAX];

	for (unsigned t = 0; t < SHARDS_MAX; t++) {
		uint64_t applied = cores[t] && t != g ? core_xfer_applied(cores[t], (uint8_t)g) : 0;
		uint32_t count = t == g ? 0
					: core_xfers_pending(cores[g], (uint8_t)t, pending,
							     XFER_PENDING_MAX);

		for (uint32_t i = 0; i < count && i < XFER_PENDING_MAX; i++) {
			struct tier_sum *ts;

			if (XFER_SEQ(pending[i].transfer_id) <= applied)
				continue;
			if (!(ts = sum_of(s, pending[i].event_id, pending[i].tier)))
				return -1;
			ts->in_flight += pending[i].qty;
			s->flight_xfers++;
			s->flight_units += pending[i].qty;
		}
	}
	return 0;
}

static int fill_sums(struct sums *s, const struct wt_peers *p, struct core *const *cores)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		if (cores[k] && (add_tiers(s, cores[k], k) || add_in_flight(s, cores, k)))
			return -1;
	for (size_t i = 0; i < p->len && p->v[i].type == CMD_TIER_ADD; i++) {
		struct tier_sum *ts = sum_of(s, p->v[i].event_id, p->v[i].tier);

		if (!ts)
			return -1;
		ts->created += p->v[i].qty;
		ts->added_on |= 1ull << p->v[i].shard;
	}
	return 0;
}

/* Returns the tiers that do not add up; *unchecked: tiers whose TIER_ADD
 * is no longer in some shard's WAL (only in its snapshot). */
static unsigned check_sums(const struct sums *s, unsigned *checked, unsigned *unchecked)
{
	unsigned bad = 0;

	for (size_t i = 0; i < s->len; i++) {
		const struct tier_sum *ts = &s->v[i];

		if (ts->defined_on & ~ts->added_on) {
			++*unchecked;
			continue;
		}
		++*checked;
		if (ts->created == ts->in_tiers + ts->in_flight)
			continue;
		printf("shards: CORRUPT: event %u tier %u: the TIER_ADDs created %" PRIu64
		       " units, "
		       "but the shards' tiers hold %" PRIu64 " and %" PRIu64 " are in flight "
		       "(%+" PRId64 ")\n",
		       ts->event_id, ts->tier, ts->created, ts->in_tiers, ts->in_flight,
		       (int64_t)(ts->in_tiers + ts->in_flight - ts->created));
		bad++;
	}
	return bad;
}

int wt_peers_verify(const struct wt_peers *p, struct core *const *cores)
{
	struct sums s = {0};
	struct wt_xsum x;
	unsigned checked = 0, unchecked = 0;
	unsigned bad = check_pairs(p, cores) + check_contents(p, cores);
	size_t outs = wt_peers_lower(p, CMD_STOCK_IN, 0) - wt_peers_lower(p, CMD_STOCK_OUT, 0);

	if (fill_sums(&s, p, cores) || wt_xchg_verify(p, cores, &x)) {
		fprintf(stderr, "onsale-wal: out of memory\n");
		free(s.v);
		return WT_EXIT_USAGE;
	}
	bad += check_sums(&s, &checked, &unchecked) + x.bad;
	if (!bad)
		printf("shards: ok together: %zu stock transfer(s) in the WALs, %" PRIu64
		       " in flight "
		       "(%" PRIu64 " units, sent again at start); %" PRIu64
		       " exchange round(s) between "
		       "shards in the WALs (%" PRIu64 " exchanged, %" PRIu64 " refused), %" PRIu64
		       " ticket(s) leaving (ended at start); GA capacity over shards plus units in "
		       "flight equals the TIER_ADDs for %u tier(s)%s%s\n",
		       outs, s.flight_xfers, s.flight_units, x.rounds, x.exchanged, x.refused,
		       x.leaving, checked,
		       unchecked ? "; some tiers not compared: their TIER_ADD is only in a snapshot"
				 : "",
		       x.unchecked
			       ? "; some exchange records not compared: their other side is only "
				 "in a snapshot"
			       : "");
	free(s.v);
	return bad ? WT_EXIT_CORRUPT : WT_EXIT_OK;
}

/* ---- where truncate must cut ---- */

struct planner {
	const struct wt_peers *p;
	struct wt_plan *plan;
	FILE *why;
	struct wt_shard *by_id[SHARDS_MAX];
	struct core *cores[SHARDS_MAX]; /* each shard's state after its cut */
	bool stale[SHARDS_MAX];
};

/* The state the server will recover after a cut at `cut` (WT_LSN_MAX: none):
 * the newest snapshot before it, then the WAL up to it. */
static int replay_to(struct wt_shard *sh, uint64_t cut, struct core **out)
{
	uint64_t to = cut == WT_LSN_MAX ? WT_LSN_MAX : cut - 1;
	struct wt_replay r;

	if (wt_replay_shard(sh, to, to, NULL, NULL, &r))
		return -1;
	if (r.refused != ST_OK) {
		fprintf(stderr,
			"onsale-wal: shard %u: core refuses the record at LSN %" PRIu64
			" (%s); run verify\n",
			sh->id, r.refused_lsn, status_name(r.refused));
		core_destroy(r.core);
		return -1;
	}
	*out = r.core;
	return 0;
}

static int refresh(struct planner *pl)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++) {
		if (!pl->by_id[k] || !pl->stale[k])
			continue;
		core_destroy(pl->cores[k]);
		pl->cores[k] = NULL;
		if (replay_to(pl->by_id[k], pl->plan->at[k], &pl->cores[k]))
			return -1;
		pl->stale[k] = false;
	}
	return 0;
}

/* Moves shard x->shard's cut to x (a STOCK_IN, STOCK_ACK, XCHG_IN or
 * XCHG_END) unless it is there already; other: the shard whose cut forces
 * it. 1: moved. */
static int cut_at(struct planner *pl, const struct wt_xrec *x, unsigned other)
{
	if (x->lsn >= pl->plan->at[x->shard])
		return 0;
	pl->plan->at[x->shard] = x->lsn;
	pl->stale[x->shard] = true;
	fprintf(pl->why, "  shard %u from LSN %" PRIu64 ": ", x->shard, x->lsn);
	if (x->type == CMD_STOCK_IN)
		fprintf(pl->why,
			"its STOCK_IN of transfer %016" PRIx64 " (%u units of event %u tier "
			"%u) must go with the STOCK_OUT cut on shard %u; kept alone, the "
			"units would exist twice\n",
			x->id, x->qty, x->event_id, x->tier, other);
	else if (x->type == CMD_STOCK_ACK)
		fprintf(pl->why,
			"its STOCK_ACK of transfer %016" PRIx64 " covers a STOCK_IN cut on "
			"shard %u; kept, shard %u would never send that transfer again and "
			"its units would be lost\n",
			x->id, other, x->shard);
	else if (x->type == CMD_XCHG_IN)
		fprintf(pl->why,
			"its XCHG_IN of ticket 0x%016" PRIx64 " (event %u, the order for "
			"its new seat) must go with the XCHG_OUT cut on shard %u; kept, the "
			"old ticket and its new order would both be valid\n",
			x->id, x->event_id, other);
	else
		fprintf(pl->why,
			"its XCHG_END of ticket 0x%016" PRIx64 " (event %u, exchanged for "
			"ticket 0x%016" PRIx64 ") must go with the XCHG_IN cut on shard %u; "
			"kept, the old ticket would be exchanged and no new one exist (cut, "
			"the exchange is in flight and ended again at start)\n",
			x->id, x->event_id, x->new_id, other);
	return 1;
}

static int no_record(unsigned shard, const char *type, uint64_t id)
{
	fprintf(stderr,
		"onsale-wal: refusing: the cut needs shard %u cut at its %s of transfer "
		"%016" PRIx64 ", which is no longer in its WAL (only in a snapshot): no cut "
		"keeps both sides of that transfer together; restore from a backup instead\n",
		shard, type, id);
	return -1;
}

/* 1: a cut moved, 0: this pair agrees after the cuts, -1: it cannot. */
static int tighten_pair(struct planner *pl, unsigned g, unsigned t)
{
	struct seqs_pair s;
	const struct wt_xrec *x;
	int moved = 0;

	pair_seqs(pl->cores, g, t, &s);
	if (s.t.in_seq > s.g.out_seq) {
		x = wt_peers_find(pl->p, CMD_STOCK_IN, XFER_ID(g, t, s.g.out_seq + 1));
		if (!x)
			return no_record(t, "STOCK_IN", XFER_ID(g, t, s.g.out_seq + 1));
		moved |= cut_at(pl, x, g);
	}
	if (s.g.acked_seq > s.t.in_seq) {
		x = first_ack(pl->p, (uint8_t)g, (uint8_t)t, s.t.in_seq + 1);
		if (!x)
			return no_record(g, "STOCK_ACK", XFER_ID(g, t, s.t.in_seq + 1));
		moved |= cut_at(pl, x, t);
	}
	return moved;
}

struct xchg_cuts {
	struct planner *pl;
	int moved;
};

/* An exchange record the cuts leave alone goes too (wal_xchg.c). */
static int cut_xchg(void *ctx, const struct wt_xfind *f)
{
	struct xchg_cuts *c = ctx;

	if (f->kind == WT_X_UNCHECKED)
		return 0;
	if (f->kind == WT_X_END_HIDDEN) {
		fprintf(stderr,
			"onsale-wal: refusing: the cut drops shard %u's XCHG_IN of ticket "
			"0x%016" PRIx64 " (event %u), and shard %u has that ticket exchanged "
			"for it, but its XCHG_END is no longer in its WAL (only in a snapshot): "
			"no cut keeps both sides of that exchange together; restore from a "
			"backup instead\n",
			f->rec->shard, f->rec->id, f->rec->event_id, f->other);
		return -1;
	}
	c->moved |= cut_at(c->pl, f->rec, f->other);
	return 0;
}

/* 1: a cut moved, 0: every exchange agrees after the cuts, -1: refused. */
static int tighten_xchgs(struct planner *pl)
{
	uint64_t at[SHARDS_MAX]; /* the cuts pl->cores were replayed to */
	struct xchg_cuts c = {pl, 0};
	int rc;

	memcpy(at, pl->plan->at, sizeof at);
	rc = wt_xchg_check(pl->p, pl->cores, at, cut_xchg, &c);
	if (rc == -ENOMEM)
		fprintf(stderr, "onsale-wal: out of memory\n");
	return rc ? -1 : c.moved;
}

static int tighten(struct planner *pl)
{
	int moved = 0;

	for (unsigned g = 0; g < SHARDS_MAX; g++)
		for (unsigned t = 0; pl->cores[g] && t < SHARDS_MAX; t++) {
			int rc = t == g || !pl->cores[t] ? 0 : tighten_pair(pl, g, t);

			if (rc < 0)
				return rc;
			moved |= rc;
		}
	/* exchanges are judged on states replayed to the same cuts */
	return moved ? moved : tighten_xchgs(pl);
}

int wt_peers_plan(struct wt_shard *sh, size_t n, const struct wt_peers *p, struct wt_plan *plan,
		  FILE *why)
{
	struct planner pl = {.p = p, .plan = plan, .why = why};
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		pl.by_id[sh[i].id] = &sh[i];
		pl.stale[sh[i].id] = true;
	}
	/* every round that moves a cut moves it to an earlier record: bounded */
	for (size_t round = 0; round <= p->len + 1; round++) {
		rc = refresh(&pl);
		if (!rc)
			rc = tighten(&pl);
		if (rc <= 0)
			break;
	}
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		core_destroy(pl.cores[k]);
	return rc ? -1 : 0;
}
