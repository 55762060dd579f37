/*
 * sell.c — the executor of holds: a hold runs on the node that owns its
 * inventory (the customer's home node for GA, the seats' node otherwise).
 *
 * On the customer's home node a hold is first checked against the
 * customer's units on every node (its core counts its own; counts.c the
 * others) unless the coordinator already reserved them there. A GA hold
 * that finds its allotment short asks the peers for stock one after the
 * other (xfer.c) and is tried again as each answer comes back, in the same
 * turn as the STOCK_IN, so no other hold takes the units in between.
 */
#include <string.h>

#include "net/shard/parts.h"
#include "net/shard_store.h"

static bool over_limit(struct node *nd, const struct cmd_hold *h)
{
	/* without units elsewhere the core's own count is the whole count */
	if (!counts_get(&nd->counts, h->event_id, h->customer_id))
		return false;
	return exec_over_limit(nd, h->event_id, h->customer_id, h->qty);
}

void sell_hold(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_HOLD);
	if (!m->reserved && node_home(nd->n, h->customer_id) == nd->id && over_limit(nd, h)) {
		memset(&m->res, 0, sizeof m->res);
		m->res.status = ST_CUSTOMER_LIMIT;
		m->wait_lsn = shard_store_last_lsn(nd->store);
		exec_finish(nd, m);
		return;
	}
	exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn);
	if (m->res.status == ST_SOLD_OUT && h->mode == HOLD_GA && xfer_ask(nd, m))
		return; /* continues when the answer comes back */
	exec_after(nd, &m->cmd, &m->res);
	exec_globalize(nd, m->cmd.type, &m->res);
	exec_finish(nd, m);
}
