/*
 * reconcile.c — after every shard has recovered, before any serves: finish
 * stock transfers a crash cut in half, rebuild the per-customer counts of
 * home shards, count live holds (they start the expiry timer).
 *
 * Stock transfers. A transfer is STOCK_OUT on the giver (durable first),
 * then STOCK_IN with the same transfer id on the taker. A crash between the
 * two leaves units out of the giver and in nobody: recon scans each shard's
 * WAL after its snapshot, collects every STOCK_OUT and STOCK_IN, and for
 * each STOCK_OUT whose STOCK_IN the taker does not have, executes the
 * STOCK_IN on the taker now (and syncs it) before any client is served.
 * Why the WAL after the snapshot is enough: the server takes snapshots only
 * at a clean shutdown, after every shard has drained its messages (every
 * transfer begun is finished), so no transfer spans a snapshot; a crash
 * takes no snapshot. A STOCK_IN without its STOCK_OUT cannot happen (the
 * giver answers only once its STOCK_OUT is durable) and is reported.
 *
 * Customer counts are derived state: every shard's core knows each
 * customer's held + owned units there; the units on shards other than the
 * customer's home are added to the home's table (counts.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/inspect.h"
#include "core/record.h"
#include "net/server.h"
#include "net/shard_store.h"
#include "net/wal_read.h"

struct xfer {
	uint64_t id;
	uint32_t event_id, qty;
	uint8_t tier, giver, taker;
};

struct xfers {
	struct xfer *v;
	size_t len, cap;
};

struct scan_ctx {
	uint8_t shard;
	struct xfers *outs, *ins;
	int err;
};

static int push(struct xfers *x, const struct xfer *e)
{
	if (x->len == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		struct xfer *v = realloc(x->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->len++] = *e;
	return 0;
}

static int collect(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct scan_ctx *c = ctx;
	struct rec r;
	(void)lsn;
	if (len < 1 || (body[0] != CMD_STOCK_OUT && body[0] != CMD_STOCK_IN))
		return 0;
	if (rec_decode(body, len, &r) != ST_OK)
		return 0; /* replay accepted it; cannot happen */
	struct xfer e = {.id = r.stock.transfer_id, .event_id = r.event_id, .qty = r.stock.qty,
			 .tier = r.stock.tier};
	bool out = r.type == CMD_STOCK_OUT;
	e.giver = out ? c->shard : r.stock.peer_shard;
	e.taker = out ? r.stock.peer_shard : c->shard;
	c->err = push(out ? c->outs : c->ins, &e);
	return c->err ? 1 : 0;
}

static int by_id(const void *a, const void *b)
{
	const struct xfer *x = a, *y = b;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int complete(struct server *srv, const struct xfer *o)
{
	struct shard *t = &srv->shards[o->taker];
	struct cmd in = {.type = CMD_STOCK_IN};
	struct result res;
	uint64_t wait;
	in.stock.event_id = o->event_id;
	in.stock.tier = o->tier;
	in.stock.qty = o->qty;
	in.stock.peer_shard = o->giver;
	in.stock.transfer_id = o->id;
	enum status st = shard_store_execute(t->store, &in, server_now_ms(), &res, &wait);
	fprintf(stderr, "onsaled: reconcile: transfer %016" PRIx64 " (%u units of event %u tier %u, "
			"shard %u -> %u) was cut by a crash: STOCK_IN on shard %u: %s\n",
		o->id, o->qty, o->event_id, o->tier, o->giver, o->taker, o->taker, status_name(st));
	if (st != ST_OK)
		return -EUCLEAN;
	return shard_store_sync(t->store);
}

static int transfers(struct server *srv)
{
	struct xfers outs = {0}, ins = {0};
	int rc = 0;
	for (uint32_t k = 0; k < srv->n && !rc; k++) {
		struct shard *s = &srv->shards[k];
		struct scan_ctx c = {.shard = (uint8_t)k, .outs = &outs, .ins = &ins};
		struct wal_scan scan;
		rc = wal_read(&s->st, (uint8_t)k, s->snapshot_lsn + 1, collect, &c, &scan);
		if (!rc)
			rc = c.err;
	}
	if (rc)
		goto out_free;
	if (ins.len)
		qsort(ins.v, ins.len, sizeof *ins.v, by_id);
	size_t done = 0;
	for (size_t i = 0; i < outs.len && !rc; i++) {
		const struct xfer *o = &outs.v[i];
		if (o->taker >= srv->n) {
			fprintf(stderr, "onsaled: reconcile: transfer %016" PRIx64 " goes to shard %u "
					"but only %u shards run: restart with the shard count "
					"it was written with\n", o->id, o->taker, srv->n);
			rc = -EUCLEAN;
			break;
		}
		if (!ins.len || !bsearch(o, ins.v, ins.len, sizeof *ins.v, by_id))
			rc = complete(srv, o);
		else
			done++;
	}
	if (outs.len)
		fprintf(stderr, "onsaled: reconcile: %zu stock transfers since the snapshots, %zu "
				"complete, %zu completed now\n", outs.len, done, outs.len - done);
out_free:
	free(outs.v);
	free(ins.v);
	return rc;
}

struct count_ctx {
	struct server *srv;
	uint8_t shard;
	uint32_t event_id;
	int err;
};

static int count_one(void *ctx, uint64_t customer_id, uint32_t units)
{
	struct count_ctx *c = ctx;
	uint8_t home = route_home(c->srv, customer_id);
	if (home != c->shard)
		c->err = counts_add(&c->srv->shards[home].counts, c->event_id, customer_id, units);
	return c->err;
}

static int counts_and_holds(struct server *srv)
{
	static uint32_t ids[EVENTS_MAX];
	for (uint32_t k = 0; k < srv->n; k++) {
		struct shard *s = &srv->shards[k];
		const struct core *core = shard_store_core(s->store);
		uint32_t n = core_event_ids(core, ids, EVENTS_MAX);
		for (uint32_t e = 0; e < n; e++) {
			struct count_ctx c = {.srv = srv, .shard = (uint8_t)k, .event_id = ids[e]};
			struct cmd q = {.type = CMD_Q_EVENT};
			struct result res;
			uint64_t wait;
			core_customers_each(core, ids[e], count_one, &c);
			if (c.err)
				return c.err;
			q.query.event_id = ids[e];
			if (shard_store_execute(s->store, &q, server_now_ms(), &res, &wait) == ST_OK)
				s->holds_live += res.event.live_holds;
		}
	}
	return 0;
}

int recon_run(struct server *srv)
{
	int rc = transfers(srv);
	return rc ? rc : counts_and_holds(srv);
}
