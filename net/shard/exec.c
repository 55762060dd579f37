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
#include "net/store/shard_store.h"
#include "net/wal/log.h"

size_t exec_result_bytes(uint8_t type)
{
	switch (type) {
	case CMD_HOLD:
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM:
	case CMD_Q_HOLD:
	case CMD_Q_ORDER: return offsetof(struct result, hold) + sizeof(struct hold_view);
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE:
	case CMD_Q_TICKET: return offsetof(struct result, ticket) + sizeof(struct ticket_view);
	default: return sizeof(struct result);
	}
}

enum status exec_cmd(struct node *nd, const struct cmd *cmd, struct result *res, uint64_t *wait_lsn)
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
	case CMD_HOLD:
	case CMD_HOLD_EXTEND:
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM:
	case CMD_Q_HOLD:
	case CMD_Q_ORDER:
		if (res->hold.seats[0] == SEAT_NONE)
			break;
		for (unsigned i = 0; i < res->hold.qty && i < HOLD_UNITS_MAX; i++)
			res->hold.seats[i] = seat_global(nd, res->hold.seats[i]);
		break;
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE:
	case CMD_Q_TICKET:
		/* a refusal's view is all zero (PROTOCOL.md): it names no seat */
		if (res->ticket.ticket_id)
			res->ticket.seat = seat_global(nd, res->ticket.seat);
		break;
	case CMD_SECTION_LOAD:
		if (res->status == ST_OK)
			res->section.seat_first = seat_global(nd,
							      (uint32_t)res->section.seat_first);
		break;
	default: break;
	}
}

void exec_finish(struct node *nd, struct msg *m)
{
	pool_when_durable(nd, m);
}

bool exec_code_over(struct node *nd, uint32_t event_id, uint8_t code_index)
{
	uint64_t key;
	uint32_t limit;
	uint32_t here = core_code_uses(shard_store_core(nd->store), event_id, code_index, &key,
				       &limit);
	uint32_t elsewhere = counts_get(&nd->counts, event_id, CODE_CUSTOMER, code_index + 1u);
	return limit && here + elsewhere + 1 > limit;
}

void exec_code_give(struct node *nd, uint32_t event_id, uint8_t code_index, struct msg *m)
{
	uint64_t key;
	uint32_t limit;
	core_code_uses(shard_store_core(nd->store), event_id, code_index, &key, &limit);
	uint8_t owner = exec_code_owner(nd, key);
	if (m)
		pool_msg_reuse(nd, m);
	else
		m = pool_msg_alloc(nd);
	if (!m) {
		log_line(LOG_WARN, nd->id,
			 "msg=\"message pool empty, a use of a presale code "
			 "stays counted until restart\" code=%u event=%u",
			 code_index, event_id);
		return;
	}
	m->kind = MSG_CODE_GIVE;
	m->cmd.type = CMD_HOLD;
	m->cmd.hold.event_id = event_id;
	m->score = code_index;
	pool_send_durable(nd, m, owner);
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
		log_line(LOG_WARN, nd->id,
			 "msg=\"message pool empty, a customer count stays high "
			 "until restart\" customer=%llu",
			 (unsigned long long)customer_id);
		return;
	}
	u->kind = MSG_UNRESERVE;
	u->cmd.type = CMD_HOLD;
	u->cmd.hold.event_id = event_id;
	u->cmd.hold.customer_id = customer_id;
	u->cmd.hold.qty = (uint8_t)units;
	pool_send_durable(nd, u, home);
}

void exec_count_moved(struct node *nd, uint32_t event_id, uint64_t customer_id, uint8_t to)
{
	uint8_t home = node_home(nd->n, customer_id);
	assert(to != nd->id && to < nd->n);
	if (!exec_event_limit(nd, event_id))
		return;
	if (home == to)
		unreserve_at_home(nd, event_id, customer_id, 1); /* no longer elsewhere */
	else if (home == nd->id &&
		 counts_add(&nd->counts, event_id, customer_id, 0, 1)) /* now elsewhere */
		log_line(LOG_WARN, nd->id,
			 "msg=\"count table full, a customer count stays low "
			 "until restart\" customer=%llu",
			 (unsigned long long)customer_id);
}

/* A hold that used a presale code ended here: its owner, if another
 * node, counted the use and forgets it now. */
static void give_code_back(struct node *nd, uint32_t event_id, uint8_t code_index)
{
	uint64_t key;
	uint32_t limit;
	core_code_uses(shard_store_core(nd->store), event_id, code_index, &key, &limit);
	if (exec_code_owner(nd, key) != nd->id)
		exec_code_give(nd, event_id, code_index, NULL);
}

void exec_after(struct node *nd, const struct cmd *cmd, const struct result *res)
{
	if (res->status != ST_OK || res->replayed)
		return;
	switch (cmd->type) {
	case CMD_HOLD: nd->holds_live++; break;
	case CMD_CONFIRM: nd->holds_live -= nd->holds_live > 0; break;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
		nd->holds_live -= nd->holds_live > 0;
		unreserve_at_home(nd, res->hold.event_id, res->hold.customer_id, res->hold.qty);
		if (res->hold.code_index != PRESALE_CODE_NONE && nd->n > 1)
			give_code_back(nd, res->hold.event_id, res->hold.code_index);
		break;
	case CMD_REFUND:
		unreserve_at_home(nd, res->ticket.event_id, res->ticket.customer_id, 1);
		break;
	case CMD_EVENT_RETIRE: /* closed and gone: no hold can come to count */
		counts_drop_event(&nd->counts, cmd->query.event_id);
		break;
	default: break;
	}
}

void exec_done(struct node *nd, struct msg *m)
{
	exec_after(nd, &m->cmd, &m->res);
	exec_globalize(nd, m->cmd.type, &m->res);
	exec_finish(nd, m);
}

static void run(struct node *nd, struct msg *m)
{
	exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn);
	exec_done(nd, m);
}

enum status exec_query(struct node *nd, uint8_t type, uint32_t event_id, uint64_t customer_id,
		       struct result *res)
{
	struct cmd q = {.type = type};
	uint64_t wait;
	assert(CMD_IS_QUERY(type));
	q.query.event_id = event_id;
	q.query.customer_id = customer_id;
	return exec_cmd(nd, &q, res, &wait);
}

static uint32_t local_units(struct node *nd, uint32_t event_id, uint64_t customer_id)
{
	struct result res;
	enum status st = exec_query(nd, CMD_Q_CUSTOMER, event_id, customer_id, &res);
	if (st == ST_EVENT_UNKNOWN)
		return 0;
	/* a store that cannot answer cannot vouch for the limit */
	return st == ST_OK ? res.customer.units : UINT16_MAX;
}

/* Home node: would qty more units pass the customer's limit over all nodes? */
bool exec_over_limit(struct node *nd, uint32_t event_id, uint64_t customer_id, uint32_t qty)
{
	uint16_t limit = exec_event_limit(nd, event_id);
	if (!limit)
		return false;
	uint32_t remote = counts_get(&nd->counts, event_id, customer_id, 0);
	return local_units(nd, event_id, customer_id) + remote + qty > limit;
}

/* An owner whose store stopped cannot count (its core may hold changes
 * that never reach the disk): it refuses, unavailable. */
static bool owner_stopped(struct node *nd, struct msg *m)
{
	if (!shard_store_error(nd->store))
		return false;
	memset(&m->res, 0, sizeof m->res);
	m->res.status = ST_UNAVAILABLE;
	pool_return(nd, m);
	return true;
}

/* An owner's answer from its counts leaves once everything it appended is
 * durable: the counts may already show a release a crash could undo. */
static void answer_durable(struct node *nd, struct msg *m)
{
	m->wait_lsn = shard_store_last_lsn(nd->store);
	exec_finish(nd, m);
}

/* Home node, before a hold that may be taken on another node: marks a
 * best-available hold's idempotency key in flight (a second request with
 * the same key meanwhile is told `overloaded`: retry), then counts the
 * units against the customer's limit. Answers ok (units reserved when the
 * event has a limit), customer_limit (nothing reserved; with a key the
 * mark stays: the coordinator still looks for a first hold to replay), or
 * overloaded (nothing kept). */
static void reserve(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	uint64_t mark = h->mode == HOLD_BEST ? h->idem_key : 0;
	struct counts *ct = &nd->counts;
	if (owner_stopped(nd, m))
		return;
	memset(&m->res, 0, sizeof m->res);
	if (mark && (counts_get(ct, h->event_id, h->customer_id, mark) ||
		     counts_add(ct, h->event_id, h->customer_id, mark, 1))) {
		m->res.status = ST_OVERLOADED;
	} else if (exec_over_limit(nd, h->event_id, h->customer_id, h->qty)) {
		m->res.status = ST_CUSTOMER_LIMIT;
	} else if (exec_event_limit(nd, h->event_id) &&
		   counts_add(ct, h->event_id, h->customer_id, 0, h->qty)) {
		counts_add(ct, h->event_id, h->customer_id, mark, -1);
		m->res.status = ST_OVERLOADED;
	}
	answer_durable(nd, m);
}

/* Home node: a hold that reserved here ended its request: units back
 * (qty, may be 0) and its key no longer in flight. */
static void unreserve(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	if (h->qty)
		counts_add(&nd->counts, h->event_id, h->customer_id, 0, -(int64_t)h->qty);
	if (h->idem_key)
		counts_add(&nd->counts, h->event_id, h->customer_id, h->idem_key, -1);
	pool_return(nd, m);
}

/* Presale code owner, before a hold on another node: counts one use of
 * the code the hold would use now (none: nothing counted), or refuses as
 * the hold would be refused. The code's index goes back in score. */
static void code_take(struct node *nd, struct msg *m)
{
	if (owner_stopped(nd, m))
		return;
	uint8_t idx = PRESALE_CODE_NONE;
	enum status st = core_code_window(shard_store_core(nd->store), &m->cmd.hold, nd->now_ms,
					  &idx);
	if (st == ST_OK && idx != PRESALE_CODE_NONE) {
		if (exec_code_over(nd, m->cmd.hold.event_id, idx))
			st = ST_PRESALE_CODE_EXHAUSTED;
		else if (counts_add(&nd->counts, m->cmd.hold.event_id, CODE_CUSTOMER, idx + 1u, 1))
			st = ST_OVERLOADED;
	}
	memset(&m->res, 0, sizeof m->res);
	m->res.status = st;
	m->score = st == ST_OK ? idx : PRESALE_CODE_NONE;
	answer_durable(nd, m);
}

/* Event home, before units are placed (TIER_ADD, SECTION_LOAD): room for
 * them under units_max, counting every node's units and what other admin
 * commands under way asked for? */
static void units_take(struct node *nd, struct msg *m)
{
	if (owner_stopped(nd, m))
		return;
	uint32_t ev = m->cmd.tier.event_id, asked = m->cmd.tier.capacity, units_max;
	struct counts *ct = &nd->counts;
	const struct core *core = shard_store_core(nd->store);
	core_units_placed(core, ev, &units_max);
	uint64_t placed = counts_get(ct, ev, EVENT_UNITS, 0) + counts_get(ct, ev, EVENT_UNITS, 1);
	memset(&m->res, 0, sizeof m->res);
	if (!units_max)
		m->res.status = core_event_missing(core, ev); /* retired or never made */
	else if (placed + asked > units_max)
		m->res.status = ST_EVENT_FULL;
	else if (counts_add(ct, ev, EVENT_UNITS, 1, asked))
		m->res.status = ST_OVERLOADED;
	answer_durable(nd, m);
}

static void units_give(struct node *nd, struct msg *m)
{
	uint32_t ev = m->cmd.tier.event_id;
	counts_add(&nd->counts, ev, EVENT_UNITS, 1, -(int64_t)m->cmd.tier.capacity);
	counts_add(&nd->counts, ev, EVENT_UNITS, 0, m->score);
	pool_return(nd, m);
}

static void probe(struct node *nd, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	const struct core *core = shard_store_core(nd->store);
	memset(&m->res, 0, sizeof m->res);
	if (h->idem_key && core_idem_hold(core, h->event_id, h->customer_id, h->idem_key)) {
		m->res.replayed = 1; /* the first hold with this key is here */
		pool_return(nd, m);
		return;
	}
	m->res.status = core_best_probe(core, h->event_id, h->tier, h->qty, h->flags, &m->score);
	pool_return(nd, m);
}

static void seats(struct node *nd, struct msg *m)
{
	uint32_t first = 0;
	long n = core_section_seats(shard_store_core(nd->store), m->cmd.query.event_id,
				    (uint16_t)m->score, m->big, SECTION_SEATS_MAX, &first);
	memset(&m->res, 0, sizeof m->res);
	m->res.status = n < 0 ? (enum status) - n : ST_OK;
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
	v[PROTO_STAT_WAL_BYTES] = shard_store_wal_stats(nd->store)->bytes_written;
	v[PROTO_STAT_WAL_FSYNCS] = shard_store_wal_stats(nd->store)->fsyncs;
	v[PROTO_STAT_HOLDS_EXPIRED] = nd->ctr.holds_expired;
	v[PROTO_STAT_STOCK_TRANSFERS] = nd->ctr.stock_transfers;
	v[PROTO_STAT_WAL_ERRORS] = shard_store_error(nd->store) != 0;
	v[PROTO_STAT_WAL_PAUSED] = shard_store_paused(nd->store);
	v[PROTO_STAT_DISK_FULL_EVENTS] = shard_store_stats(nd->store)->disk_full_events;
	v[PROTO_STAT_REQUESTS_SHED] = nd->ctr.requests_shed;
	pool_return(nd, m);
}

void exec_msg(struct node *nd, struct msg *m)
{
	switch (m->kind) {
	case MSG_EXEC: run(nd, m); break;
	case MSG_PROBE: probe(nd, m); break;
	case MSG_RESERVE: reserve(nd, m); break;
	case MSG_UNRESERVE: unreserve(nd, m); break;
	case MSG_CODE_TAKE: code_take(nd, m); break;
	case MSG_UNITS_TAKE: units_take(nd, m); break;
	case MSG_UNITS_GIVE: units_give(nd, m); break;
	case MSG_CODE_GIVE:
		counts_add(&nd->counts, m->cmd.hold.event_id, CODE_CUSTOMER, m->score + 1u, -1);
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
	for (unsigned i = 0; i < 4096 && shard_store_next_expiry(nd->store, nd->now_ms, &cmd);
	     i++) {
		if (exec_cmd(nd, &cmd, &res, &wait) == ST_OK)
			nd->ctr.holds_expired++;
		exec_after(nd, &cmd, &res);
	}
}
