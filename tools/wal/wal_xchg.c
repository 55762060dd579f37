/*
 * wal_xchg.c — what the shards of a data directory must agree on about
 * exchanges of a ticket for a seat on another shard (core/xchg.c). The
 * ticket's shard A logs XCHG_OUT (the ticket leaves for shard B), B logs
 * XCHG_IN (a one-ticket order for the seat, keyed by the old ticket), A
 * logs XCHG_END (B's answer: status 0 exchanged for the new ticket new_id,
 * else refused and valid again). All three name the old ticket by
 * (event_id, ticket_id).
 *
 * Rounds. A ticket may leave more than once: best available tries node
 * after node, and a refused exchange may be asked again. A's records of one
 * ticket alternate OUT, END, OUT, END, ... (core refuses an OUT of a leaving
 * ticket and an END of one that is not); at most one END has status 0, and
 * it is the last (the ticket is then exchanged for good); an OUT without an
 * END is the one round in flight, and A's state keeps it
 * (core_xchgs_pending). B writes an IN only when it makes the order: a
 * refusal writes nothing, and an IN sent again at start finds the order
 * by its key, answers with it and writes nothing. So each IN belongs to
 * exactly one round to its shard that was not refused: the one in flight,
 * or the one that ended with status 0. Which round that is cannot be told
 * from LSNs (each shard counts its own), and need not be: A's state after
 * its last record says what its last round became.
 *
 * The rule, checked from both sides:
 *   (IN)  an XCHG_IN on B of ticket T from A, making order n, is explained
 *         when A's state has T leaving for B (in flight: at A's next start
 *         the IN is sent again and its key answers with order n), or T
 *         exchanged for n's ticket. Else B sold a seat for a ticket A still
 *         has (valid after a refused round, or never sent): broken. Refused
 *         rounds to B before a round to B in flight or exchanged do not
 *         count against the IN: it is the later round's.
 *   (END) an XCHG_END with status 0 on A of T, naming new ticket N, is
 *         explained when N's shard has the IN of T making N, or, when that
 *         IN is no longer in its WAL, knows ticket N. Else the old ticket
 *         is exchanged and no new one exists: broken.
 *   An OUT without IN or END, or an IN without END, is in flight: fine.
 * When the other side is in neither the kept WAL nor the state (its record
 * only in a snapshot and the ticket since forgotten: a retired event, a
 * reused slot), the record is not compared, as a TIER_ADD only in a
 * snapshot is not; when that shard keeps its whole WAL (from LSN 1), or its
 * record is among those a cut drops, it is broken instead.
 *
 * truncate (wal_peers.c) asks the same of the states after its planned
 * cuts, keeping only the records before each cut: an IN no longer
 * explained goes (B's cut moves to it), an END whose IN went goes too (the
 * ticket is in flight again, ended at start), and an IN cut whose END 0
 * lives only in A's snapshot cannot be kept whole.
 */
#include "tools/wal/wal_tool.h"

#include "core/inspect.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct xctx {
	const struct wt_peers *p;
	struct core *const *cores;
	const uint64_t *at; /* first LSN cut, by shard; NULL: nothing cut */
	struct {
		struct xchg_pending *v;
		uint32_t n;
	} left[SHARDS_MAX]; /* each shard's leaving tickets, by (event, ticket) */
};

static bool kept(const struct xctx *x, const struct wt_xrec *r)
{
	return !x->at || r->lsn < x->at[r->shard];
}

static bool whole(const struct wt_peers *p, uint8_t shard)
{
	return p->first_lsn[shard] == 1;
}

static int by_ticket(const void *a, const void *b)
{
	const struct xchg_pending *x = a, *y = b;

	if (x->event_id != y->event_id)
		return x->event_id < y->event_id ? -1 : 1;
	return x->ticket_id < y->ticket_id ? -1 : x->ticket_id > y->ticket_id;
}

static int leaving_load(struct xctx *x)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++) {
		uint32_t n = x->cores[k] ? core_xchgs_pending(x->cores[k], NULL, 0) : 0;

		if (!n)
			continue;
		x->left[k].v = malloc(n * sizeof *x->left[k].v);
		if (!x->left[k].v)
			return -ENOMEM;
		x->left[k].n = core_xchgs_pending(x->cores[k], x->left[k].v, n);
		qsort(x->left[k].v, x->left[k].n, sizeof *x->left[k].v, by_ticket);
	}
	return 0;
}

static void leaving_free(struct xctx *x)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		free(x->left[k].v);
}

static const struct xchg_pending *leaving_find(const struct xctx *x, uint8_t shard,
					       uint32_t event_id, uint64_t ticket_id)
{
	struct xchg_pending key = {.event_id = event_id, .ticket_id = ticket_id};

	if (!x->left[shard].n)
		return NULL;
	return bsearch(&key, x->left[shard].v, x->left[shard].n, sizeof key, by_ticket);
}

/* A shard's view of a ticket: ST_OK, ST_TICKET_UNKNOWN, or the event unknown. */
static enum status ticket_of(struct core *c, uint32_t event_id, uint64_t ticket_id,
			     struct ticket_view *v)
{
	struct cmd q = {.type = CMD_Q_TICKET};
	struct result res;
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};
	enum status st;

	q.ticket.event_id = event_id;
	q.ticket.ticket_id = ticket_id;
	st = core_execute(c, &q, 0, &res, &rb);
	*v = st == ST_OK ? res.ticket : (struct ticket_view){0};
	return st;
}

/* What A's WAL holds about ticket (in->event_id, in->id), an IN's ticket. */
struct a_side {
	const struct wt_xrec *end_ok;  /* a kept END with status 0 */
	const struct wt_xrec *refused; /* the last kept END refusing it */
	bool out_kept, out_dropped;    /* an OUT of it to B kept, one cut */
};

static void a_side(const struct xctx *x, uint8_t a, const struct wt_xrec *in, struct a_side *s)
{
	const struct wt_peers *p = x->p;

	memset(s, 0, sizeof *s);
	for (size_t i = wt_peers_lower(p, CMD_XCHG_OUT, in->id);
	     i < p->len && p->v[i].type == CMD_XCHG_OUT && p->v[i].id == in->id; i++) {
		const struct wt_xrec *o = &p->v[i];

		if (o->shard != a || o->event_id != in->event_id || o->peer != in->shard)
			continue;
		s->out_kept |= kept(x, o);
		s->out_dropped |= !kept(x, o);
	}
	for (size_t i = wt_peers_lower(p, CMD_XCHG_END, in->id);
	     i < p->len && p->v[i].type == CMD_XCHG_END && p->v[i].id == in->id; i++) {
		const struct wt_xrec *e = &p->v[i];

		if (e->shard != a || e->event_id != in->event_id || !kept(x, e))
			continue;
		if (!e->status)
			s->end_ok = e;
		else if (!s->refused || e->lsn > s->refused->lsn)
			s->refused = e;
	}
}

/* (IN): 0 explained, 1 alone, 2 not compared. */
static int judge_in(const struct xctx *x, const struct wt_xrec *in, struct wt_xfind *f)
{
	uint8_t a = in->peer;
	uint64_t n = core_order_ticket_id(in->new_id, 0);
	struct a_side s;
	enum status st;

	*f = (struct wt_xfind){.kind = WT_X_IN_ALONE, .rec = in, .other = a, .new_ticket_id = n};
	if (a >= SHARDS_MAX || a == in->shard || !x->cores[a]) {
		f->missing = true;
		return x->at ? 0 : 1; /* truncate cannot cut a shard it does not have */
	}
	f->leaving = leaving_find(x, a, in->event_id, in->id);
	if (f->leaving)
		return f->leaving->peer_shard == in->shard ? 0 : 1;
	a_side(x, a, in, &s);
	f->refused = s.refused;
	f->out_kept = s.out_kept;
	st = ticket_of(x->cores[a], in->event_id, in->id, &f->ticket);
	if (st == ST_OK)
		return f->ticket.state == TICKET_EXCHANGED && f->ticket.replaced_by == n ? 0 : 1;
	if (s.end_ok && s.end_ok->new_id == n)
		return 0; /* exchanged, and A has forgotten the old ticket since */
	if (s.out_dropped)
		return 1;
	return st == ST_TICKET_UNKNOWN && whole(x->p, a) ? 1 : 2;
}

/* truncate: an IN its cut drops, whose exchange A keeps (its state says
 * exchanged for that order's ticket) with no END left to cut: 1. */
static int judge_cut_in(const struct xctx *x, const struct wt_xrec *in, struct wt_xfind *f)
{
	uint8_t a = in->peer;
	uint64_t n = core_order_ticket_id(in->new_id, 0);
	struct ticket_view v;
	struct a_side s;

	if (a >= SHARDS_MAX || a == in->shard || !x->cores[a] ||
	    ticket_of(x->cores[a], in->event_id, in->id, &v) != ST_OK ||
	    v.state != TICKET_EXCHANGED || v.replaced_by != n)
		return 0;
	a_side(x, a, in, &s);
	if (s.end_ok)
		return 0; /* (END) cuts it */
	*f = (struct wt_xfind){.kind = WT_X_END_HIDDEN, .rec = in, .other = a, .new_ticket_id = n};
	return 1;
}

/* (END): 0 explained, 1 alone, 2 not compared. */
static int judge_end(const struct xctx *x, const struct wt_xrec *end, struct wt_xfind *f)
{
	const struct wt_peers *p = x->p;
	uint8_t b = (uint8_t)(end->new_id >> ID_SHARD_SHIFT);
	bool dropped = false;
	struct ticket_view v;
	enum status st;

	*f = (struct wt_xfind){.kind = WT_X_END_ALONE,
			       .rec = end,
			       .other = b,
			       .new_ticket_id = end->new_id};
	if (b >= SHARDS_MAX || b == end->shard || !x->cores[b]) {
		f->missing = true;
		return x->at ? 0 : 1;
	}
	for (size_t i = wt_peers_lower(p, CMD_XCHG_IN, end->id);
	     i < p->len && p->v[i].type == CMD_XCHG_IN && p->v[i].id == end->id; i++) {
		const struct wt_xrec *in = &p->v[i];

		if (in->shard != b || in->peer != end->shard || in->event_id != end->event_id ||
		    core_order_ticket_id(in->new_id, 0) != end->new_id)
			continue;
		if (kept(x, in))
			return 0;
		dropped = true;
	}
	st = ticket_of(x->cores[b], end->event_id, end->new_id, &v);
	if (st == ST_OK)
		return 0; /* its IN only in B's snapshot */
	if (dropped)
		return 1;
	return st == ST_TICKET_UNKNOWN && whole(p, b) ? 1 : 2;
}

static int report(const struct wt_xfind *f, int judged, wt_xchg_fn fn, void *ctx)
{
	struct wt_xfind u;

	if (!judged)
		return 0;
	if (judged == 1)
		return fn(ctx, f);
	u = *f;
	u.kind = WT_X_UNCHECKED;
	return fn(ctx, &u);
}

int wt_xchg_check(const struct wt_peers *p, struct core *const *cores, const uint64_t *at,
		  wt_xchg_fn fn, void *ctx)
{
	struct xctx x = {.p = p, .cores = cores, .at = at};
	struct wt_xfind f;
	int rc = leaving_load(&x);

	for (size_t i = wt_peers_lower(p, CMD_XCHG_IN, 0);
	     !rc && i < p->len && p->v[i].type == CMD_XCHG_IN; i++) {
		const struct wt_xrec *in = &p->v[i];

		rc = report(&f, kept(&x, in) ? judge_in(&x, in, &f) : judge_cut_in(&x, in, &f), fn,
			    ctx);
	}
	for (size_t i = wt_peers_lower(p, CMD_XCHG_END, 0);
	     !rc && i < p->len && p->v[i].type == CMD_XCHG_END; i++) {
		const struct wt_xrec *end = &p->v[i];

		if (!end->status && kept(&x, end))
			rc = report(&f, judge_end(&x, end, &f), fn, ctx);
	}
	leaving_free(&x);
	return rc;
}

/* ---- verify ---- */

static const char *state_name(uint8_t state)
{
	switch (state) {
	case TICKET_VALID: return "valid";
	case TICKET_REDEEMED: return "redeemed";
	case TICKET_REFUNDED: return "refunded";
	case TICKET_EXCHANGED: return "exchanged";
	default: return "unknown";
	}
}

/* Why A does not explain the IN, into buf. */
static void why_in(const struct wt_xfind *f, char *buf, size_t cap)
{
	const struct wt_xrec *in = f->rec;

	if (f->missing)
		snprintf(buf, cap, "the data directory has no shard %u", f->other);
	else if (f->leaving)
		snprintf(buf, cap, "shard %u has the ticket leaving for shard %u", f->other,
			 f->leaving->peer_shard);
	else if (f->ticket.state == TICKET_EXCHANGED)
		snprintf(buf, cap, "shard %u exchanged it for ticket 0x%016" PRIx64 " instead",
			 f->other, f->ticket.replaced_by);
	else if (f->refused)
		snprintf(buf, cap,
			 "shard %u ended its exchange refused at LSN %" PRIu64 " (status %u, "
			 "%s) and has no later round to shard %u in flight or exchanged",
			 f->other, f->refused->lsn, f->refused->status,
			 status_name(f->refused->status), in->shard);
	else if (!f->out_kept)
		snprintf(buf, cap, "shard %u has no XCHG_OUT of it to shard %u in its WAL",
			 f->other, in->shard);
	else
		snprintf(buf, cap, "shard %u does not have it leaving for shard %u", f->other,
			 in->shard);
}

static void print_in(const struct wt_xfind *f)
{
	const struct wt_xrec *in = f->rec;
	char why[256];

	why_in(f, why, sizeof why);
	printf("shards: CORRUPT: shard %u LSN %" PRIu64 ": XCHG_IN of ticket 0x%016" PRIx64
	       " (event %u) from shard %u made order 0x%016" PRIx64 ", but %s: ",
	       in->shard, in->lsn, in->id, in->event_id, in->peer, in->new_id, why);
	if (f->missing)
		printf("nothing says whether the old ticket left\n");
	else if (f->ticket.state == TICKET_EXCHANGED || f->leaving)
		printf("two new tickets may exist for it\n");
	else if (f->ticket.state)
		printf("the ticket is %s on shard %u and its new seat sold on shard %u\n",
		       state_name(f->ticket.state), f->other, in->shard);
	else
		printf("shard %u does not know the ticket, and its new seat is sold on shard %u\n",
		       f->other, in->shard);
}

static void print_end(const struct wt_xfind *f)
{
	const struct wt_xrec *e = f->rec;
	char where[128];

	if (f->missing)
		snprintf(where, sizeof where, "the data directory has no shard %u", f->other);
	else
		snprintf(where, sizeof where,
			 "shard %u has no XCHG_IN of it and does not know that "
			 "ticket",
			 f->other);
	printf("shards: CORRUPT: shard %u LSN %" PRIu64 ": XCHG_END of ticket 0x%016" PRIx64
	       " (event %u) exchanged for ticket 0x%016" PRIx64 ", but %s: the old ticket is "
	       "exchanged and no new one exists\n",
	       e->shard, e->lsn, e->id, e->event_id, e->new_id, where);
}

static int print_finding(void *ctx, const struct wt_xfind *f)
{
	struct wt_xsum *s = ctx;

	if (f->kind == WT_X_UNCHECKED) {
		s->unchecked++;
		return 0;
	}
	s->bad++;
	if (f->kind == WT_X_IN_ALONE)
		print_in(f);
	else
		print_end(f);
	return 0;
}

int wt_xchg_verify(const struct wt_peers *p, struct core *const *cores, struct wt_xsum *s)
{
	memset(s, 0, sizeof *s);
	for (size_t i = wt_peers_lower(p, CMD_XCHG_OUT, 0);
	     i < p->len && p->v[i].type <= CMD_XCHG_END; i++) {
		s->rounds += p->v[i].type == CMD_XCHG_OUT;
		s->exchanged += p->v[i].type == CMD_XCHG_END && !p->v[i].status;
		s->refused += p->v[i].type == CMD_XCHG_END && p->v[i].status;
	}
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		s->leaving += cores[k] ? core_xchgs_pending(cores[k], NULL, 0) : 0;
	return wt_xchg_check(p, cores, NULL, print_finding, s);
}
