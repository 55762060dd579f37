/*
 * xfer.c — GA stock moved between nodes, exactly once (the bookkeeping is
 * core state: core/stock.c).
 *
 *   taker T (a GA hold found its allotment short)      giver G
 *   MSG_STOCK_ASK(qty + chunk) ----------------------->  STOCK_OUT: G decides
 *                                                        id = G|T|seq, keeps it
 *                                                        pending  [WAL]
 *                  <---------------------------------  once STOCK_OUT is durable
 *   STOCK_IN(id)  [WAL], the hold again at once
 *   once STOCK_IN is durable: MSG_STOCK_ACK(id) ------>  STOCK_ACK(id)  [WAL]:
 *                                                        no longer pending
 *
 * At start (node_recover, before any request) every transfer a giver
 * still has pending is applied on its taker again; the taker's STOCK_IN
 * applies it only if it does not have it (seq per giver), the taker syncs,
 * and the giver acknowledges. While serving, a giver sends again what a
 * taker has left unacknowledged for a resend tick (XFER_RESEND_MS): a
 * STOCK_IN the taker could not take then (its WAL paused) is taken once it
 * can. So a transfer is applied once and
 * never lost, whatever the crash point and whichever snapshot each shard
 * recovered from. A giver with nothing to spare answers at once; after
 * every peer was asked the hold is sold_out. Units in flight are in no
 * tier; a hold can be refused while units move between two other nodes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/inspect.h"
#include "net/shard/parts.h"
#include "net/store/shard_store.h"
#include "net/wal/log.h"

bool xfer_ask(struct node *nd, struct msg *m, uint32_t event_id, uint8_t tier, uint32_t qty)
{
	if (nd->n < 2 || m->peers_tried >= nd->n - 1)
		return false;
	struct msg *a = pool_msg_alloc(nd);
	if (!a)
		return false;
	m->peers_tried++;
	a->kind = MSG_STOCK_ASK;
	a->parent = m;
	a->cmd.type = CMD_STOCK_OUT;
	a->cmd.stock.event_id = event_id;
	a->cmd.stock.tier = tier;
	a->cmd.stock.peer_shard = nd->id;
	a->cmd.stock.qty = qty + STOCK_CHUNK_UNITS;
	pool_send(nd, a, (uint8_t)((nd->id + m->peers_tried) % nd->n));
	return true;
}

static uint32_t free_units(struct node *nd, uint32_t event_id, uint8_t tier)
{
	struct result av;
	if (tier >= TIERS_MAX || exec_query(nd, CMD_Q_AVAILABILITY, event_id, 0, &av) != ST_OK)
		return 0;
	return av.avail.tiers[tier].free;
}

void xfer_give(struct node *nd, struct msg *a)
{
	struct cmd_stock *st = &a->cmd.stock;
	uint32_t spare = free_units(nd, st->event_id, st->tier);
	assert(st->peer_shard == a->owner);
	if (st->qty > spare)
		st->qty = spare;
	if (!st->qty) {
		memset(&a->res, 0, sizeof a->res);
		a->res.status = ST_SOLD_OUT;
		pool_return(nd, a);
		return;
	}
	if (exec_cmd(nd, &a->cmd, &a->res, &a->wait_lsn) == ST_OK)
		nd->ctr.stock_transfers++;
	exec_finish(nd, a);
}

/* STOCK_IN of a transfer given by `giver`; its result in *res, *wait_lsn. */
static enum status take(struct node *nd, const struct cmd_stock *given, uint8_t giver,
			struct result *res, uint64_t *wait_lsn)
{
	struct cmd in = {.type = CMD_STOCK_IN};
	in.stock = *given;
	in.stock.peer_shard = giver;
	enum status st = exec_cmd(nd, &in, res, wait_lsn);
	if (st == ST_OK && !res->replayed)
		nd->ctr.stock_transfers++;
	if (st != ST_OK)
		log_line(LOG_WARN, nd->id,
			 "msg=\"STOCK_IN refused; the transfer stays pending on "
			 "its giver and is sent again\" transfer=%016" PRIx64 " giver=%u status=%s",
			 given->transfer_id, giver, status_name(st));
	return st;
}

static void send_ack(struct node *nd, uint8_t giver, uint64_t transfer_id, uint64_t wait_lsn)
{
	struct msg *k = pool_msg_alloc(nd);
	if (!k)
		return; /* the giver keeps it pending: sent again at the next start */
	k->kind = MSG_STOCK_ACK;
	k->cmd.type = CMD_STOCK_ACK;
	k->cmd.stock.peer_shard = nd->id;
	k->cmd.stock.transfer_id = transfer_id;
	k->at = giver;
	k->forward = 1;
	k->wait_lsn = wait_lsn;
	pool_when_durable(nd, k);
}

struct msg *xfer_ask_back(struct node *nd, struct msg *a)
{
	struct msg *m = a->parent;
	if (a->res.status == ST_OK) {
		struct result res;
		uint64_t wait;
		if (take(nd, &a->res.stock, a->at, &res, &wait) == ST_OK)
			send_ack(nd, a->at, a->res.stock.transfer_id, wait);
	}
	pool_msg_free(nd, a);
	return m;
}

void xfer_acked(struct node *nd, struct msg *k)
{
	struct result res;
	uint64_t wait;
	assert(k->cmd.stock.peer_shard == k->owner);
	if (exec_cmd(nd, &k->cmd, &res, &wait) != ST_OK)
		log_line(LOG_WARN, nd->id,
			 "msg=\"acknowledgement of a transfer refused\" "
			 "transfer=%016" PRIx64 " status=%s",
			 k->cmd.stock.transfer_id, status_name(res.status));
	pool_return(nd, k);
}

void xfer_take_given(struct node *nd, struct msg *g)
{
	take(nd, &g->cmd.stock, g->owner, &g->res, &g->wait_lsn);
	exec_finish(nd, g);
}

void xfer_give_back(struct node *nd, struct msg *g)
{
	if (g->res.status == ST_OK) {
		struct cmd ack = {.type = CMD_STOCK_ACK};
		struct result res;
		uint64_t wait;
		ack.stock.peer_shard = g->at;
		ack.stock.transfer_id = g->cmd.stock.transfer_id;
		exec_cmd(nd, &ack, &res, &wait);
		nd->ctr.stock_redelivered++;
	}
	pool_msg_free(nd, g);
}

/* Sends again every transfer pending to taker t, in order (the ring keeps
 * it), and only once this node's WAL has everything it appended so far:
 * a pending transfer's STOCK_OUT may still be in a batch in flight, and a
 * taker that applied it before a crash took the STOCK_OUT back would
 * double its units. */
static void resend(struct node *nd, uint8_t t, const struct xfer *pending, uint32_t count)
{
	uint64_t upto = shard_store_last_lsn(nd->store);
	for (uint32_t i = 0; i < count; i++) {
		struct msg *g = pool_msg_alloc(nd);
		if (!g)
			return; /* the next tick tries again */
		g->kind = MSG_STOCK_GIVE;
		g->cmd.type = CMD_STOCK_IN;
		g->cmd.stock = (struct cmd_stock){.event_id = pending[i].event_id,
						  .tier = pending[i].tier,
						  .qty = pending[i].qty,
						  .transfer_id = pending[i].transfer_id};
		g->at = t;
		g->forward = 1;
		g->wait_lsn = upto;
		pool_when_durable(nd, g);
	}
}

bool xfer_tick(struct node *nd)
{
	struct xfer *pending = nd->pending; /* one per node: every shard ticks at once */
	const struct core *core = shard_store_core(nd->store);
	bool any = false;
	if (nd->now_ms < nd->resend_at_ms)
		return core_xfers_any(core);
	nd->resend_at_ms = nd->now_ms + XFER_RESEND_MS;
	for (uint32_t t = 0; t < nd->n; t++) {
		uint32_t count = t == nd->id ? 0
					     : core_xfers_pending(core, (uint8_t)t, pending,
								  XFER_PENDING_MAX);
		uint64_t oldest = count ? XFER_SEQ(pending[0].transfer_id) : 0;
		if (count && oldest == nd->oldest_seen[t])
			resend(nd, (uint8_t)t, pending, count);
		nd->oldest_seen[t] = oldest;
		any |= count != 0;
	}
	return any;
}

/* Recovery, giver g to taker t: every transfer g still has pending is
 * applied on t unless t has it (STOCK_IN is once per seq), made durable,
 * and acknowledged on g. */
static int redeliver(struct node *g, struct node *t)
{
	static struct xfer pending[XFER_PENDING_MAX];
	uint32_t count = core_xfers_pending(shard_store_core(g->store), t->id, pending,
					    XFER_PENDING_MAX);
	uint32_t applied = 0, i;
	struct result res;
	uint64_t wait;
	for (i = 0; i < count; i++) {
		struct cmd_stock given = {.event_id = pending[i].event_id,
					  .tier = pending[i].tier,
					  .qty = pending[i].qty,
					  .transfer_id = pending[i].transfer_id};
		if (take(t, &given, g->id, &res, &wait) != ST_OK)
			break; /* the rest would be gaps: they stay pending */
		applied += !res.replayed;
	}
	if (!i)
		return 0;
	int rc = shard_store_sync(t->store);
	if (rc)
		return rc;
	struct cmd ack = {.type = CMD_STOCK_ACK};
	ack.stock.peer_shard = t->id;
	ack.stock.transfer_id = pending[i - 1].transfer_id;
	exec_cmd(g, &ack, &res, &wait);
	log_line(LOG_INFO, g->id,
		 "msg=\"stock transfers were not acknowledged\" taker=%u "
		 "transfers=%u applied_now=%u applied_before=%u",
		 t->id, count, applied, i - applied);
	g->ctr.stock_redelivered += i;
	return 0;
}

int xfer_recover(struct node *const *nodes, uint32_t n)
{
	static struct xfer one[1];
	for (uint32_t g = 0; g < n; g++) {
		const struct core *core = shard_store_core(nodes[g]->store);
		for (uint32_t t = n; t < SHARDS_MAX; t++) {
			uint32_t count = core_xfers_pending(core, (uint8_t)t, one, 1);
			if (count) {
				log_msg(LOG_ERROR, g,
					"%u stock transfers to shard %u but only "
					"%u shards run: start with the shard count the data "
					"was written with",
					count, t, n);
				return -EUCLEAN;
			}
		}
		for (uint32_t t = 0; t < n; t++) {
			int rc = t == g ? 0 : redeliver(nodes[g], nodes[t]);
			if (rc)
				return rc;
		}
	}
	return 0;
}
