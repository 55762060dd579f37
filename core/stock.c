/*
 * stock.c — GA stock moved between shards, exactly once.
 *
 * A GA tier's capacity is split into per-shard allotments. A shard that runs
 * short asks a peer; the peer (giver) takes units out of its free stock with
 * STOCK_OUT, the asker (taker) adds them with STOCK_IN, each logged on its
 * own WAL; each side's tier stays conserved, capacity moves with the units.
 *
 * Exactly once, whatever the crash point and whatever the age of each
 * shard's snapshot, because the bookkeeping is state (struct xfer_peer, in
 * snapshots and the state hash), never an assumption about what a WAL scan
 * will find:
 *   - STOCK_OUT decides transfer_id = giver | taker | seq, seq the next of
 *     that ordered pair, and keeps the transfer pending on the giver;
 *   - STOCK_IN applies seq only if it is the taker's next from that giver;
 *     a seq it already has is an idempotent repeat (replayed, no record);
 *   - STOCK_ACK on the giver drops the pending transfers up to an id once
 *     the taker said it has them durable.
 * Units in flight (pending on the giver, not yet applied by the taker) are
 * in no tier; conservation over shards counts them (docs/ARCHITECTURE.md).
 * After a crash the server redelivers every pending transfer from the
 * giver's state (core_xfers_pending); the taker's seq makes that safe.
 */
#include "core/inspect.h"
#include "core/state.h"

static struct xfer *pending_slot(struct xfer_peer *p, uint64_t seq)
{
	return &p->pending[seq % XFER_PENDING_MAX];
}

static enum status ga_tier(const struct core *c, uint32_t event_id, uint8_t tier)
{
	const struct event *ev = event_find(c, event_id);

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (tier >= TIERS_MAX || !ev->tiers[tier].defined)
		return ST_TIER_UNKNOWN;
	return ev->tiers[tier].kind == TIER_GA ? ST_OK : ST_TIER_KIND_MISMATCH;
}

static enum status plan_out(struct core *c, const struct cmd_stock *s, struct rec *r)
{
	const struct xfer_peer *p = &c->peers[s->peer_shard];
	enum status st = ga_tier(c, s->event_id, s->tier);

	if (st != ST_OK)
		return st;
	if (s->qty == 0)
		return ST_BAD_ARGUMENT;
	if (event_find(c, s->event_id)->tiers[s->tier].free < s->qty)
		return ST_SOLD_OUT;
	if (p->out_seq - p->acked_seq >= XFER_PENDING_MAX)
		return ST_OVERLOADED; /* acknowledgements first */
	r->stock = *s;
	r->stock.transfer_id = XFER_ID(c->shard_id, s->peer_shard, p->out_seq + 1);
	return ST_OK;
}

static enum status plan_in(struct core *c, const struct cmd_stock *s, struct rec *r,
			   struct result *res)
{
	const struct xfer_peer *p = &c->peers[s->peer_shard];
	uint64_t seq = XFER_SEQ(s->transfer_id);
	enum status st;

	if (XFER_GIVER(s->transfer_id) != s->peer_shard ||
	    XFER_TAKER(s->transfer_id) != c->shard_id)
		return ST_BAD_ARGUMENT;
	if (seq != 0 && seq <= p->in_seq) {
		res->replayed = 1; /* delivered before: applied once */
		res->stock = *s;
		return ST_OK;
	}
	if (seq != p->in_seq + 1 || s->qty == 0)
		return ST_BAD_ARGUMENT; /* a gap: the giver sends in order */
	st = ga_tier(c, s->event_id, s->tier);
	if (st != ST_OK)
		return st;
	r->stock = *s;
	return ST_OK;
}

static enum status plan_ack(struct core *c, const struct cmd_stock *s, struct rec *r,
			    struct result *res)
{
	const struct xfer_peer *p = &c->peers[s->peer_shard];
	uint64_t seq = XFER_SEQ(s->transfer_id);

	if (XFER_GIVER(s->transfer_id) != c->shard_id ||
	    XFER_TAKER(s->transfer_id) != s->peer_shard || seq > p->out_seq)
		return ST_BAD_ARGUMENT;
	if (seq <= p->acked_seq) {
		res->replayed = 1;
		res->stock = *s;
		return ST_OK;
	}
	r->event_id = 0;
	r->stock = *s;
	r->stock.event_id = 0;
	r->stock.tier = 0;
	r->stock.qty = 0;
	return ST_OK;
}

enum status plan_stock(struct core *c, const struct cmd *cmd, struct rec *r, struct result *res)
{
	const struct cmd_stock *s = &cmd->stock;

	if (s->peer_shard >= SHARDS_MAX || s->peer_shard == c->shard_id)
		return ST_BAD_ARGUMENT;
	switch (cmd->type) {
	case CMD_STOCK_OUT: return plan_out(c, s, r);
	case CMD_STOCK_IN: return plan_in(c, s, r, res);
	default: return plan_ack(c, s, r, res);
	}
}

static enum status apply_ack(struct core *c, const struct rec *r)
{
	struct xfer_peer *p = &c->peers[r->stock.peer_shard];
	uint64_t seq = XFER_SEQ(r->stock.transfer_id);

	if (XFER_GIVER(r->stock.transfer_id) != c->shard_id || seq <= p->acked_seq ||
	    seq > p->out_seq)
		return ST_RECORD_INVALID;
	for (uint64_t s = p->acked_seq + 1; s <= seq; s++)
		*pending_slot(p, s) = (struct xfer){0};
	p->acked_seq = seq;
	return ST_OK;
}

/* The seq bookkeeping of OUT and IN; ST_RECORD_INVALID when the record is
 * not the next of its pair (a record execution could not have written). */
static enum status apply_seq(struct core *c, const struct rec *r)
{
	struct xfer_peer *p = &c->peers[r->stock.peer_shard];
	uint64_t id = r->stock.transfer_id, seq = XFER_SEQ(id);

	if (r->type == CMD_STOCK_IN) {
		if (XFER_TAKER(id) != c->shard_id || XFER_GIVER(id) != r->stock.peer_shard ||
		    seq != p->in_seq + 1)
			return ST_RECORD_INVALID;
		p->in_seq = seq;
		return ST_OK;
	}
	if (XFER_GIVER(id) != c->shard_id || XFER_TAKER(id) != r->stock.peer_shard ||
	    seq != p->out_seq + 1 || p->out_seq - p->acked_seq >= XFER_PENDING_MAX)
		return ST_RECORD_INVALID;
	p->out_seq = seq;
	*pending_slot(p, seq) = (struct xfer){.transfer_id = id,
					      .event_id = r->event_id,
					      .qty = r->stock.qty,
					      .tier = r->stock.tier};
	return ST_OK;
}

enum status apply_stock(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	struct tier *t = ev && r->stock.tier < TIERS_MAX ? &ev->tiers[r->stock.tier] : NULL;
	uint32_t q = r->stock.qty;

	if (r->stock.peer_shard >= SHARDS_MAX || r->stock.peer_shard == c->shard_id)
		return ST_RECORD_INVALID;
	if (r->type == CMD_STOCK_ACK)
		return apply_ack(c, r);
	if (!t || !t->defined || t->kind != TIER_GA || q == 0 ||
	    (r->type == CMD_STOCK_OUT && t->free < q))
		return ST_RECORD_INVALID;
	if (apply_seq(c, r) != ST_OK)
		return ST_RECORD_INVALID;
	if (r->type == CMD_STOCK_OUT) {
		t->free -= q;
		t->capacity -= q;
		ev->units_placed -= q;
	} else {
		/* never refused: the units exist, they only move (an event's
		 * units_max bounds the units placed over all shards together) */
		t->free += q;
		t->capacity += q;
		ev->units_placed += q;
	}
	tier_check_low_stock(ev, r->stock.tier, alerts);
	return ST_OK;
}

uint32_t core_xfers_pending(const struct core *c, uint8_t taker, struct xfer *out, uint32_t cap)
{
	const struct xfer_peer *p = &c->peers[taker];
	uint32_t n = 0;

	assert(c && (out || cap == 0));
	assert(taker < SHARDS_MAX);
	for (uint64_t s = p->acked_seq + 1; s <= p->out_seq; s++, n++)
		if (n < cap)
			out[n] = p->pending[s % XFER_PENDING_MAX];
	return n;
}

bool core_xfers_any(const struct core *c)
{
	assert(c);
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		if (c->peers[k].out_seq != c->peers[k].acked_seq)
			return true;
	return false;
}

uint64_t core_xfer_applied(const struct core *c, uint8_t giver)
{
	assert(c);
	assert(giver < SHARDS_MAX);
	return c->peers[giver].in_seq;
}

const char *stock_check(const struct core *c)
{
	for (unsigned k = 0; k < SHARDS_MAX; k++) {
		const struct xfer_peer *p = &c->peers[k];

		if (k == c->shard_id && (p->out_seq || p->in_seq))
			return "a transfer with itself";
		if (p->acked_seq > p->out_seq || p->out_seq - p->acked_seq > XFER_PENDING_MAX)
			return "pending transfers out of range";
		for (uint64_t s = p->acked_seq + 1; s <= p->out_seq; s++) {
			const struct xfer *x = &p->pending[s % XFER_PENDING_MAX];
			const struct event *ev = event_find(c, x->event_id);

			if (x->transfer_id != XFER_ID(c->shard_id, k, s) || !x->qty || !ev ||
			    x->tier >= TIERS_MAX || ev->tiers[x->tier].kind != TIER_GA)
				return "a pending transfer does not match its seq";
		}
	}
	return NULL;
}
