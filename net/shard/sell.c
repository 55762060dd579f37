/*
 * sell.c — the executor of holds: a hold runs on the node that owns its
 * inventory (the customer's home node for GA, the seats' node otherwise).
 *
 * On the customer's home node a hold is first checked against the
 * customer's units on every node (its core counts its own; counts.c the
 * others) unless the coordinator already reserved them there. A GA hold
 * that finds its allotment short asks the peers for stock one after the
 * other (xfer.c) and is tried again as each answer comes back, in the same
 * turn as the STOCK_IN, so no other hold takes the units in between. An
 * exchange into a GA tier whose units are all on other shards does the same.
 */
#include <string.h>

#include "core/inspect.h"
#include "net/shard/parts.h"
#include "net/store/shard_store.h"

/* The code's owner running the hold itself (the coordinator says so:
 * code_check): is the code used up over all nodes? */
static bool code_over(struct node *nd, const struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	uint8_t idx;
	if (m->code_over)
		return true; /* the code's owner said so */
	if (!m->code_check)
		return false;
	assert(!m->code_taken && nd->n > 1);
	if (core_code_window(shard_store_core(nd->store), h, nd->now_ms, &idx) != ST_OK ||
	    idx == PRESALE_CODE_NONE)
		return false; /* the core refuses, or needs no code */
	return exec_code_over(nd, h->event_id, idx);
}

static bool over_limit(struct node *nd, const struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	if (m->over_limit)
		return true; /* the home node said so */
	if (m->reserved || nd->n == 1 || node_home(nd->n, h->customer_id) != nd->id ||
	    !exec_event_limit(nd, h->event_id))
		return false;
	/* without units elsewhere the core's own count is the whole count */
	if (!counts_get(&nd->counts, h->event_id, h->customer_id, 0))
		return false;
	return exec_over_limit(nd, h->event_id, h->customer_id, h->qty);
}

void sell_hold(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_HOLD);
	/* a retry of a hold taken here is answered with it, limit or not */
	bool replay = h->idem_key && core_idem_hold(shard_store_core(nd->store), h->event_id,
						    h->customer_id, h->idem_key);
	enum status refuse = replay              ? ST_OK
			     : over_limit(nd, m) ? ST_CUSTOMER_LIMIT
			     : code_over(nd, m)  ? ST_PRESALE_CODE_EXHAUSTED
						 : ST_OK;
	if (refuse != ST_OK) {
		memset(&m->res, 0, sizeof m->res);
		m->res.status = refuse;
		m->wait_lsn = shard_store_last_lsn(nd->store);
		exec_finish(nd, m);
		return;
	}
	exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn);
	if (m->res.status == ST_SOLD_OUT && h->mode == HOLD_GA &&
	    xfer_ask(nd, m, h->event_id, h->tier, h->qty))
		return; /* continues when the answer comes back */
	if (m->res.status == ST_OK && !m->res.replayed && nd->n > 1) {
		/* the tier can be low over all shards only if it is low here */
		uint32_t threshold;
		uint32_t free_units = core_tier_free(shard_store_core(nd->store), h->event_id,
						     h->tier, &threshold);
		m->score = threshold && free_units < threshold;
	}
	exec_done(nd, m);
}

static bool tier_is_ga(struct node *nd, uint32_t event_id, uint8_t tier)
{
	struct result av;
	return tier < TIERS_MAX && exec_query(nd, CMD_Q_AVAILABILITY, event_id, 0, &av) == ST_OK &&
	       av.avail.tiers[tier].defined && av.avail.tiers[tier].kind == TIER_GA;
}

void sell_exchange(struct node *nd, struct msg *m)
{
	const struct cmd_ticket_ref *x = &m->cmd.ticket;
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_EXCHANGE);
	if (xchg_again(nd, m))
		return; /* a repeat: the new ticket's node answers */
	if (xchg_start(nd, m))
		return; /* a seat on another node: on its way */
	exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn);
	/* a GA tier with nothing here may have units on another shard */
	if (m->res.status == ST_SOLD_OUT && x->seat == SEAT_NONE && nd->n > 1) {
		if (tier_is_ga(nd, x->event_id, x->tier)) {
			if (xfer_ask(nd, m, x->event_id, x->tier, 1))
				return;
		} else if (xchg_best_elsewhere(nd, m)) {
			return; /* the best free seat of the next node that has one */
		}
	}
	exec_done(nd, m);
}

void sell_again(struct node *nd, struct msg *m)
{
	if (m->cmd.type == CMD_EXCHANGE)
		sell_exchange(nd, m);
	else
		sell_hold(nd, m);
}
