/*
 * exec.c — the executor side of a node: messages that act on the inventory
 * this shard owns, and the side effects of commands that ran.
 *
 * A command runs on the shard's store; its answer goes back once the WAL
 * says everything the answer shows is durable (a refusal or query waits for
 * the last LSN appended when it ran, so it never shows state a crash could
 * take back). Seat ids in results become global ((shard << 24) | local
 * seat) here.
 *
 * Customer limits: the home node of a customer counts the units the
 * customer has on other nodes (counts.c). MSG_RESERVE asks it to count a
 * hold's units before the hold is taken elsewhere; MSG_UNRESERVE gives them
 * back. Releases, expiries and refunds on a node that is not the
 * customer's home send MSG_UNRESERVE there.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/inspect.h"
#include "net/shard/parts.h"
#include "net/shard_store.h"

size_t exec_result_bytes(uint8_t type)
{
	switch (type) {
	case CMD_HOLD: case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		return offsetof(struct result, hold) + sizeof(struct hold_view);
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		return offsetof(struct result, ticket) + sizeof(struct ticket_view);
	default:
		return sizeof(struct result);
	}
}

enum status exec_cmd(struct node *nd, const struct cmd *cmd, struct result *res,
		     uint64_t *wait_lsn)
{
	memset(res, 0, exec_result_bytes(cmd->type)); /* what the answer shows */
	return shard_store_execute(nd->store, cmd, nd->now_ms, res, wait_lsn);
}

uint16_t exec_event_limit(struct node *nd, uint32_t event_id)
{
	return core_event_limit(shard_store_core(nd->store), event_id);
}

static uint32_t seat_global(const struct node *nd, uint32_t seat)
{
	return seat == SEAT_NONE ? seat : ((uint32_t)nd->id << SEAT_SHARD_SHIFT) | seat;
}

void exec_globalize(struct node *nd, uint8_t type, struct result *res)
{
	switch (type) {
	case CMD_HOLD: case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		if (res->hold.seats[0] == SEAT_NONE)
			break;
		for (unsigned i = 0; i < res->hold.qty && i < HOLD_UNITS_MAX; i++)
			res->hold.seats[i] = seat_global(nd, res->hold.seats[i]);
		break;
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		res->ticket.seat = seat_global(nd, res->ticket.seat);
		break;
	case CMD_SECTION_LOAD:
		if (res->status == ST_OK)
			res->section.seat_first = seat_global(nd, (uint32_t)res->section.seat_first);
		break;
	default:
		break;
	}
}

void exec_finish(struct node *nd, struct msg *m)
{
	pool_when_durable(nd, m);
}

/* The home node forgets units the customer no longer has here. */
static void unreserve_at_home(struct node *nd, uint32_t event_id, uint64_t customer_id,
			      uint32_t units)
{
	uint8_t home = node_home(nd->n, customer_id);
	if (home == nd->id || !units || !exec_event_limit(nd, event_id))
		return;
	struct msg *u = pool_msg_alloc(nd);
	if (!u) {
		fprintf(stderr, "onsaled: shard %u: message pool empty, customer count of %llu "
				"stays high until restart\n", nd->id, (unsigned long long)customer_id);
		return;
	}
	u->kind = MSG_UNRESERVE;
	u->cmd.type = CMD_HOLD;
	u->cmd.hold.event_id = event_id;
	u->cmd.hold.customer_id = customer_id;
	u->cmd.hold.qty = (uint8_t)units;
	pool_send(nd, u, home);
}

void exec_after(struct node *nd, const struct cmd *cmd, const struct result *res)
{
	if (res->status != ST_OK || res->replayed)
		return;
	switch (cmd->type) {
	case CMD_HOLD:
		nd->holds_live++;
		break;
	case CMD_CONFIRM:
		nd->holds_live -= nd->holds_live > 0;
		break;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
		nd->holds_live -= nd->holds_live > 0;
		unreserve_at_home(nd, res->hold.event_id, res->hold.customer_id, res->hold.qty);
		break;
	case CMD_REFUND:
		unreserve_at_home(nd, res->ticket.event_id, res->ticket.customer_id, 1);
		break;
	default:
		break;
	}
}

static void run(struct node *nd, struct msg *m)
{
	exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn);
	exec_after(nd, &m->cmd, &m->res);
	exec_globalize(nd, m->cmd.type, &m->res);
	exec_finish(nd, m);
}

static uint32_t local_units(struct node *nd, uint32_t event_id, uint64_t customer_id)
{
	struct cmd q = {.type = CMD_Q_CUSTOMER};
	struct result res;
	uint64_t wait;
	q.query.event_id = event_id;
	q.query.customer_id = customer_id;
	if (exec_cmd(nd, &q, &res, &wait) != ST_OK)
		return 0;
	return res.customer.units;
}

/* Home node: would qty more units pass the customer's limit over all nodes? */
bool exec_over_limit(struct node *nd, uint32_t event_id, uint64_t customer_id, uint32_t qty)
{
	uint16_t limit = exec_event_limit(nd, event_id);
	if (!limit)
		return false;
	uint32_t remote = counts_get(&nd->counts, event_id, customer_id);
	return local_units(nd, event_id, customer_id) + remote + qty > limit;
}

static void reserve(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	memset(&m->res, 0, sizeof m->res);
	if (exec_over_limit(nd, h->event_id, h->customer_id, h->qty))
		m->res.status = ST_CUSTOMER_LIMIT;
	else if (counts_add(&nd->counts, h->event_id, h->customer_id, h->qty))
		m->res.status = ST_OVERLOADED;
	pool_return(nd, m);
}

static void probe(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	memset(&m->res, 0, sizeof m->res);
	m->res.status = core_best_probe(shard_store_core(nd->store), h->event_id, h->tier, h->qty,
					h->flags, &m->score);
	pool_return(nd, m);
}

static void seats(struct node *nd, struct msg *m)
{
	uint32_t first = 0;
	long n = core_section_seats(shard_store_core(nd->store), m->cmd.query.event_id,
				    (uint16_t)m->score, m->big, SECTION_SEATS_MAX, &first);
	memset(&m->res, 0, sizeof m->res);
	m->res.status = n < 0 ? (enum status)-n : ST_OK;
	m->res.section.seat_first = n < 0 ? 0 : seat_global(nd, first);
	m->res.section.seat_count = n < 0 ? 0 : (uint32_t)n;
	m->wait_lsn = shard_store_last_lsn(nd->store);
	exec_finish(nd, m);
}

static void stats(struct node *nd, struct msg *m)
{
	uint64_t *v = m->counters;
	memset(v, 0, sizeof m->counters);
	if (nd->env.stats)
		nd->env.stats(nd->env.user, v);
	v[PROTO_STAT_WAL_RECORDS] = shard_store_stats(nd->store)->records;
	v[PROTO_STAT_HOLDS_EXPIRED] = nd->ctr.holds_expired;
	v[PROTO_STAT_STOCK_TRANSFERS] = nd->ctr.stock_transfers;
	pool_return(nd, m);
}

void exec_msg(struct node *nd, struct msg *m)
{
	switch (m->kind) {
	case MSG_EXEC: run(nd, m); break;
	case MSG_PROBE: probe(nd, m); break;
	case MSG_RESERVE: reserve(nd, m); break;
	case MSG_UNRESERVE:
		counts_add(&nd->counts, m->cmd.hold.event_id, m->cmd.hold.customer_id,
			   -(int64_t)m->cmd.hold.qty);
		pool_return(nd, m);
		break;
	case MSG_STATS: stats(nd, m); break;
	case MSG_SEATS: seats(nd, m); break;
	default:
		assert(0 && "a message kind the executor does not take");
		m->res.status = ST_INTERNAL;
		pool_return(nd, m);
	}
}

void exec_expire(struct node *nd)
{
	struct cmd cmd;
	struct result res;
	uint64_t wait;
	/* bounded per call: a burst of expiries cannot starve the sockets */
	for (unsigned i = 0; i < 4096 && shard_store_next_expiry(nd->store, nd->now_ms, &cmd); i++) {
		if (exec_cmd(nd, &cmd, &res, &wait) == ST_OK)
			nd->ctr.holds_expired++;
		exec_after(nd, &cmd, &res);
	}
}
