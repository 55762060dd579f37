/*
 * node.c — the cross-shard layer's entry points (node.h): start-up and
 * recovery, a client request in, a message in, a turn's polling.
 *
 * Dispatch of a message that arrives: on its way out it is work for this
 * node as executor (exec.c, sell.c) or as a transfer's giver or taker
 * (xfer.c); on its way back it is an answer for this node as coordinator
 * (route.c) or as the owner of a transfer message (xfer.c).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/inspect.h"
#include "net/shard/parts.h"
#include "net/store/shard_store.h"
#include "net/wal/log.h"

int node_init(struct node *nd, uint8_t id, uint32_t n, const struct node_env *env)
{
	assert(n >= 1 && n <= SHARDS_MAX && id < n);
	assert(env && env->send && env->reply);
	memset(nd, 0, sizeof *nd);
	nd->id = id;
	nd->n = n;
	nd->env = *env;
	struct shed_config shed = shed_config_default();
	shed_init(&nd->shed, &shed);
	int rc = pool_init(nd);
	if (!rc)
		rc = counts_init(&nd->counts, SHARD_REMOTE_COUNTS_MAX);
	if (rc)
		node_fini(nd);
	return rc;
}

void node_fini(struct node *nd)
{
	pool_fini(nd);
	counts_fini(&nd->counts);
}

void node_attach(struct node *nd, struct shard_store *store)
{
	assert(core_shard_id(shard_store_core(store)) == nd->id);
	nd->store = store;
}

void node_shed_config(struct node *nd, const struct shed_config *cfg)
{
	shed_init(&nd->shed, cfg);
}

/* ---- recovery ---------------------------------------------------------------- */

struct count_ctx {
	struct node *const *nodes;
	uint32_t n;
	uint8_t at;
	uint32_t event_id;
	int err;
};

static int count_one(void *ctx, uint64_t customer_id, uint32_t units)
{
	struct count_ctx *c = ctx;
	uint8_t home = node_home(c->n, customer_id);
	if (home != c->at)
		c->err = counts_add(&c->nodes[home]->counts, c->event_id, customer_id, 0, units);
	return c->err;
}

/* Uses of the event's presale codes on node k, counted at each code's owner. */
static int code_uses(struct node *const *nodes, uint32_t n, uint32_t k, uint32_t event_id)
{
	const struct core *core = shard_store_core(nodes[k]->store);
	for (uint8_t i = 0; i < core_code_count(core, event_id); i++) {
		uint64_t key;
		uint32_t limit, uses = core_code_uses(core, event_id, i, &key, &limit);
		struct node *owner = nodes[key % n];
		if (uses && owner != nodes[k] &&
		    counts_add(&owner->counts, event_id, CODE_CUSTOMER, i + 1u, uses))
			return -ENOSPC;
	}
	return 0;
}

/* Customer counts of home nodes (events with a limit), presale code uses
 * at their owners, and live holds. */
static int counts_and_holds(struct node *const *nodes, uint32_t n)
{
	static uint32_t ids[EVENTS_MAX];
	for (uint32_t k = 0; k < n; k++) {
		const struct core *core = shard_store_core(nodes[k]->store);
		uint32_t events = core_event_ids(core, ids, EVENTS_MAX);
		nodes[k]->holds_live = 0;
		for (uint32_t e = 0; e < events; e++) {
			struct count_ctx c = {.nodes = nodes,
					      .n = n,
					      .at = (uint8_t)k,
					      .event_id = ids[e]};
			if (core_event_limit(core, ids[e]))
				core_customers_each(core, ids[e], count_one, &c);
			if (!c.err)
				c.err = code_uses(nodes, n, k, ids[e]);
			uint32_t units_max, placed = core_units_placed(core, ids[e], &units_max);
			if (!c.err && placed)
				c.err = counts_add(&nodes[ids[e] % n]->counts, ids[e], EVENT_UNITS,
						   0, placed);
			if (c.err)
				return c.err;
			nodes[k]->holds_live += core_live_holds(core, ids[e]);
		}
	}
	return 0;
}

/* A counts table that filled up during recovery grows; the counts start
 * again from nothing. */
static int recount(struct node *const *nodes, uint32_t n)
{
	int rc;
	while ((rc = counts_and_holds(nodes, n)) == -ENOSPC) {
		for (uint32_t k = 0; k < n && rc == -ENOSPC; k++)
			if (nodes[k]->counts.used >= (nodes[k]->counts.mask + 1) / 2)
				rc = counts_grow(&nodes[k]->counts);
		if (rc)
			return rc;
		for (uint32_t k = 0; k < n; k++) {
			memset(nodes[k]->counts.slots, 0,
			       (nodes[k]->counts.mask + 1ull) * sizeof *nodes[k]->counts.slots);
			nodes[k]->counts.used = 0;
		}
		log_line(LOG_INFO, LOG_SHARD_NONE,
			 "msg=\"recovery: a node's count table grew for "
			 "the state it recovered\"");
	}
	return rc;
}

int node_recover(struct node *const *nodes, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		assert(nodes[k]->id == k && nodes[k]->n == n && nodes[k]->store);
	/* transfers first: then every unit is in some node's units_placed */
	int rc = xfer_recover(nodes, n);
	if (!rc)
		rc = xchg_recover(nodes, n); /* before the counts: it moves units */
	return rc ? rc : recount(nodes, n);
}

/* ---- a turn ------------------------------------------------------------------- */

bool node_op_big(uint8_t opcode)
{
	return opcode == PROTO_OP_Q_SECTION_SEATS || opcode == PROTO_OP_SECTION_LOAD;
}

int node_request(struct node *nd, uint32_t conn, uint32_t conn_gen, const struct proto_request *pr,
		 const struct proto_section_buf *sec)
{
	return route_request(nd, conn, conn_gen, pr, sec, nd->now_ms);
}

int node_request_since(struct node *nd, uint32_t conn, uint32_t conn_gen,
		       const struct proto_request *pr, const struct proto_section_buf *sec,
		       uint64_t arrived_ms)
{
	return route_request(nd, conn, conn_gen, pr, sec, arrived_ms);
}

static void arrived(struct node *nd, struct msg *m)
{
	switch (m->kind) {
	case MSG_EXEC:
		if (m->cmd.type == CMD_HOLD)
			sell_hold(nd, m);
		else if (m->cmd.type == CMD_EXCHANGE)
			sell_exchange(nd, m);
		else
			exec_msg(nd, m);
		break;
	case MSG_STOCK_ASK: xfer_give(nd, m); break;
	case MSG_STOCK_ACK: xfer_acked(nd, m); break;
	case MSG_STOCK_GIVE: xfer_take_given(nd, m); break;
	case MSG_XCHG_IN:
	case MSG_XCHG_END: xchg_arrived(nd, m); break;
	default: exec_msg(nd, m); break;
	}
}

static void came_back(struct node *nd, struct msg *m)
{
	switch (m->kind) {
	case MSG_STOCK_ASK: sell_again(nd, xfer_ask_back(nd, m)); break;
	case MSG_STOCK_ACK: pool_msg_free(nd, m); break;
	case MSG_STOCK_GIVE: xfer_give_back(nd, m); break;
	default: route_done(nd, m); break;
	}
}

void node_deliver(struct node *nd, struct msg *m)
{
	assert(m->back ? m->owner == nd->id : m->at == nd->id);
	if (m->back)
		came_back(nd, m);
	else
		arrived(nd, m);
}

unsigned node_poll(struct node *nd)
{
	unsigned n = 0;
	/* the inbox may grow while it is run; take what is there now */
	for (struct msg *m = pool_take_inbox(nd), *next; m; m = next, n++) {
		next = m->next;
		node_deliver(nd, m);
	}
	return n + pool_release_durable(nd);
}

void node_expire(struct node *nd)
{
	exec_expire(nd);
}

uint32_t node_tick(struct node *nd)
{
	bool transfers = nd->n > 1 && xfer_tick(nd);
	if (nd->holds_live)
		return SHARD_EXPIRY_TICK_MS;
	return transfers ? XFER_RESEND_MS : 0;
}

bool node_ready(const struct node *nd)
{
	if (nd->inbox_head)
		return true;
	if (!nd->durable_head)
		return false;
	return shard_store_error(nd->store) ||
	       nd->durable_head->wait_lsn <= shard_store_durable_lsn(nd->store);
}
