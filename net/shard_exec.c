/*
 * shard_exec.c — the executor side of a shard: messages that act on the
 * inventory this shard owns.
 *
 * MSG_EXEC runs a command on the shard's store and sends the result back
 * once the WAL says the change (or, for a query or refusal, everything the
 * result may show) is durable: the message waits in a FIFO ordered by LSN
 * and leaves when shard_store_durable_lsn() passes its wait LSN. Seat ids in
 * results become global here ((shard << 24) | local seat).
 *
 * GA stock (docs/ARCHITECTURE.md §3): a GA hold that finds its allotment
 * short asks the peers, one after the other, for stock. The giver executes
 * STOCK_OUT (transfer id = giver << 56 | the record's LSN, unique forever)
 * and answers once it is durable; the taker then executes STOCK_IN with the
 * same transfer id and retries the hold at once, in the same turn, so no
 * other hold can take the units in between. The hold's reply waits for its
 * own LSN, which is after the STOCK_IN's.
 *
 * Customer limits: the home shard of a customer counts the units the
 * customer has on other shards (counts.c). MSG_RESERVE asks it to count a
 * hold's units before the hold is taken elsewhere; MSG_UNRESERVE gives them
 * back. A hold executed on the home shard itself is checked against its
 * local count plus that table. Releases, expiries and refunds on a shard
 * that is not the customer's home send MSG_UNRESERVE there.
 */
#include <stdio.h>
#include <string.h>

#include "core/inspect.h"
#include "net/server.h"
#include "net/shard_store.h"

enum status exec_cmd(struct shard *s, const struct cmd *cmd, struct result *res,
		     uint64_t *wait_lsn)
{
	memset(res, 0, route_result_bytes(cmd->type)); /* what the answer shows */
	return shard_store_execute(s->store, cmd, s->now_ms, res, wait_lsn);
}

/* An internal query's result, without waiting for anything. */
static enum status query(struct shard *s, uint8_t type, uint32_t event_id, uint8_t tier,
			 uint64_t customer_id, struct result *res)
{
	struct cmd q = {.type = type};
	uint64_t wait;
	q.query.event_id = event_id;
	q.query.tier = tier;
	q.query.customer_id = customer_id;
	return exec_cmd(s, &q, res, &wait);
}

uint16_t exec_event_limit(struct shard *s, uint32_t event_id)
{
	return core_event_limit(shard_store_core(s->store), event_id);
}

static uint32_t local_units(struct shard *s, uint32_t event_id, uint64_t customer_id)
{
	struct result res;
	if (query(s, CMD_Q_CUSTOMER, event_id, 0, customer_id, &res) != ST_OK)
		return 0;
	return res.customer.units;
}

static uint32_t seat_global(struct shard *s, uint32_t seat)
{
	return seat == SEAT_NONE ? seat : ((uint32_t)s->id << SEAT_SHARD_SHIFT) | seat;
}

static void globalize(struct shard *s, uint8_t type, struct result *res)
{
	switch (type) {
	case CMD_HOLD: case CMD_HOLD_EXTEND: case CMD_HOLD_RELEASE: case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: case CMD_Q_HOLD: case CMD_Q_ORDER:
		if (res->hold.seats[0] == SEAT_NONE)
			break;
		for (unsigned i = 0; i < res->hold.qty && i < HOLD_UNITS_MAX; i++)
			res->hold.seats[i] = seat_global(s, res->hold.seats[i]);
		break;
	case CMD_REDEEM: case CMD_REFUND: case CMD_EXCHANGE: case CMD_Q_TICKET:
		res->ticket.seat = seat_global(s, res->ticket.seat);
		break;
	case CMD_SECTION_LOAD:
		if (res->status == ST_OK)
			res->section.seat_first = seat_global(s, (uint32_t)res->section.seat_first);
		break;
	default:
		break;
	}
}

/* Back to its owner once everything its result shows is durable. */
static void finish(struct shard *s, struct msg *m)
{
	if (m->wait_lsn > shard_store_durable_lsn(s->store)) {
		m->next = NULL;
		if (s->durable_tail)
			s->durable_tail->next = m;
		else
			s->durable_head = m;
		s->durable_tail = m;
		return;
	}
	msg_return(s, m);
}

void exec_durable(struct shard *s)
{
	uint64_t durable = shard_store_durable_lsn(s->store);
	bool stopped = shard_store_error(s->store) != 0;
	while (s->durable_head && (stopped || s->durable_head->wait_lsn <= durable)) {
		struct msg *m = s->durable_head;
		s->durable_head = m->next;
		if (!s->durable_head)
			s->durable_tail = NULL;
		if (stopped && m->wait_lsn > durable) { /* never durable: say so */
			bool changed = m->res.status == ST_OK && !CMD_IS_QUERY(m->cmd.type);
			memset(&m->res, 0, sizeof m->res);
			m->res.status = shard_store_lost_status(s->store, m->wait_lsn, changed);
		}
		msg_return(s, m);
	}
}

/* The home shard forgets units the customer no longer has here. */
static void unreserve_at_home(struct shard *s, uint32_t event_id, uint64_t customer_id,
			      uint32_t units)
{
	uint8_t home = route_home(s->srv, customer_id);
	if (home == s->id || !units || !exec_event_limit(s, event_id))
		return;
	struct msg *u = msg_alloc(s);
	if (!u) {
		fprintf(stderr, "onsaled: shard %u: message pool empty, customer count of %llu "
				"stays high until restart\n", s->id, (unsigned long long)customer_id);
		return;
	}
	u->kind = MSG_UNRESERVE;
	u->cmd.type = CMD_HOLD;
	u->cmd.hold.event_id = event_id;
	u->cmd.hold.customer_id = customer_id;
	u->cmd.hold.qty = (uint8_t)units;
	msg_send(s, u, home);
}

/* Side effects of a command that ran: live-hold count, customer counts. */
static void after(struct shard *s, const struct cmd *cmd, const struct result *res)
{
	if (res->status != ST_OK || res->replayed)
		return;
	switch (cmd->type) {
	case CMD_HOLD:
		s->holds_live++;
		break;
	case CMD_CONFIRM:
		s->holds_live -= s->holds_live > 0;
		break;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
		s->holds_live -= s->holds_live > 0;
		unreserve_at_home(s, res->hold.event_id, res->hold.customer_id, res->hold.qty);
		break;
	case CMD_REFUND:
		unreserve_at_home(s, res->ticket.event_id, res->ticket.customer_id, 1);
		break;
	default:
		break;
	}
}

/* Runs m's command here, then finish(). */
static void run(struct shard *s, struct msg *m)
{
	exec_cmd(s, &m->cmd, &m->res, &m->wait_lsn);
	after(s, &m->cmd, &m->res);
	globalize(s, m->cmd.type, &m->res);
	finish(s, m);
}

/* ---- GA stock -------------------------------------------------------------- */

static bool ask_stock(struct shard *s, struct msg *m)
{
	if (s->srv->n < 2 || m->peers_tried >= s->srv->n - 1)
		return false;
	struct msg *a = msg_alloc(s);
	if (!a)
		return false;
	m->peers_tried++;
	a->kind = MSG_STOCK_ASK;
	a->parent = m;
	a->cmd.type = CMD_STOCK_OUT;
	a->cmd.stock.event_id = m->cmd.hold.event_id;
	a->cmd.stock.tier = m->cmd.hold.tier;
	a->cmd.stock.peer_shard = s->id;
	a->cmd.stock.qty = m->cmd.hold.qty + STOCK_CHUNK_UNITS;
	msg_send(s, a, (uint8_t)((s->id + m->peers_tried) % s->srv->n));
	return true;
}

static bool over_limit(struct shard *s, const struct cmd_hold *h)
{
	uint16_t limit = exec_event_limit(s, h->event_id);
	if (!limit)
		return false;
	uint32_t remote = counts_get(&s->counts, h->event_id, h->customer_id);
	if (!remote)
		return false; /* the core checks its own count */
	return local_units(s, h->event_id, h->customer_id) + remote + h->qty > limit;
}

static void exec_hold(struct shard *s, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	if (!m->reserved && route_home(s->srv, h->customer_id) == s->id && over_limit(s, h)) {
		memset(&m->res, 0, sizeof m->res);
		m->res.status = ST_CUSTOMER_LIMIT;
		m->wait_lsn = shard_store_last_lsn(s->store);
		finish(s, m);
		return;
	}
	exec_cmd(s, &m->cmd, &m->res, &m->wait_lsn);
	if (m->res.status == ST_SOLD_OUT && h->mode == HOLD_GA && ask_stock(s, m))
		return; /* continues in exec_stock_back */
	after(s, &m->cmd, &m->res);
	globalize(s, m->cmd.type, &m->res);
	finish(s, m);
}

/* Giver: STOCK_OUT of what it can spare, answered once durable. */
static void give_stock(struct shard *s, struct msg *a)
{
	struct result av;
	struct cmd_stock *st = &a->cmd.stock;
	uint32_t free_units = 0;
	if (query(s, CMD_Q_AVAILABILITY, st->event_id, 0, 0, &av) == ST_OK && st->tier < TIERS_MAX)
		free_units = av.avail.tiers[st->tier].free;
	if (st->qty > free_units)
		st->qty = free_units;
	if (!st->qty) {
		memset(&a->res, 0, sizeof a->res);
		a->res.status = ST_SOLD_OUT;
		msg_return(s, a);
		return;
	}
	st->transfer_id = ((uint64_t)s->id << ID_SHARD_SHIFT) | (shard_store_last_lsn(s->store) + 1);
	exec_cmd(s, &a->cmd, &a->res, &a->wait_lsn);
	if (a->res.status == ST_OK)
		s->ctr.stock_transfers++;
	finish(s, a);
}

void exec_stock_back(struct shard *s, struct msg *a)
{
	struct msg *m = a->parent;
	if (a->res.status == ST_OK) {
		struct cmd in = {.type = CMD_STOCK_IN};
		struct result res;
		uint64_t wait;
		in.stock = a->cmd.stock;
		in.stock.peer_shard = a->at;
		if (exec_cmd(s, &in, &res, &wait) != ST_OK)
			fprintf(stderr, "onsaled: shard %u: STOCK_IN of transfer %llx refused (%s); "
					"recovery completes it at the next start\n",
				s->id, (unsigned long long)in.stock.transfer_id,
				status_name(res.status));
		else
			s->ctr.stock_transfers++;
	}
	msg_free(s, a);
	exec_hold(s, m);
}

/* ---- the other kinds ---------------------------------------------------------- */

static void reserve(struct shard *s, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	uint16_t limit = exec_event_limit(s, h->event_id);
	memset(&m->res, 0, sizeof m->res);
	if (limit && local_units(s, h->event_id, h->customer_id) +
				counts_get(&s->counts, h->event_id, h->customer_id) + h->qty > limit)
		m->res.status = ST_CUSTOMER_LIMIT;
	else if (counts_add(&s->counts, h->event_id, h->customer_id, h->qty))
		m->res.status = ST_OVERLOADED;
	msg_return(s, m);
}

static void probe(struct shard *s, struct msg *m)
{
	const struct cmd_hold *h = &m->cmd.hold;
	memset(&m->res, 0, sizeof m->res);
	m->res.status = core_best_probe(shard_store_core(s->store), h->event_id, h->tier, h->qty,
					h->flags, &m->score);
	msg_return(s, m);
}

static void seats(struct shard *s, struct msg *m)
{
	uint32_t first = 0;
	long n = core_section_seats(shard_store_core(s->store), m->cmd.query.event_id,
				    (uint16_t)m->score, m->big, SECTION_SEATS_MAX,
				    &first);
	memset(&m->res, 0, sizeof m->res);
	m->res.status = n < 0 ? (enum status)-n : ST_OK;
	m->res.section.seat_first = n < 0 ? 0 : seat_global(s, first);
	m->res.section.seat_count = n < 0 ? 0 : (uint32_t)n;
	m->wait_lsn = shard_store_last_lsn(s->store);
	finish(s, m);
}

static void stats(struct shard *s, struct msg *m)
{
	const struct shard_counters *c = &s->ctr;
	uint64_t *v = m->counters;
	memset(v, 0, sizeof m->counters);
	v[PROTO_STAT_CONNECTIONS_OPEN] = c->conns_open;
	v[PROTO_STAT_CONNECTIONS_TOTAL] = c->conns_total;
	v[PROTO_STAT_REQUESTS] = c->requests;
	v[PROTO_STAT_BAD_FRAMES] = c->bad_frames;
	v[PROTO_STAT_REFUSED] = c->refused;
	v[PROTO_STAT_BYTES_IN] = c->bytes_in;
	v[PROTO_STAT_BYTES_OUT] = c->bytes_out;
	v[PROTO_STAT_WAL_RECORDS] = shard_store_stats(s->store)->records;
	v[PROTO_STAT_WAL_BYTES] = shard_store_wal_stats(s->store)->bytes_written;
	v[PROTO_STAT_WAL_FSYNCS] = shard_store_wal_stats(s->store)->fsyncs;
	v[PROTO_STAT_HOLDS_EXPIRED] = c->holds_expired;
	v[PROTO_STAT_STOCK_TRANSFERS] = c->stock_transfers;
	v[PROTO_STAT_WAL_ERRORS] = shard_store_error(s->store) != 0;
	v[PROTO_STAT_WAL_PAUSED] = shard_store_paused(s->store);
	v[PROTO_STAT_DISK_FULL_EVENTS] = shard_store_stats(s->store)->disk_full_events;
	msg_return(s, m);
}

void exec_msg(struct shard *s, struct msg *m)
{
	switch (m->kind) {
	case MSG_EXEC:
		if (m->cmd.type == CMD_HOLD)
			exec_hold(s, m);
		else
			run(s, m);
		break;
	case MSG_PROBE: probe(s, m); break;
	case MSG_RESERVE: reserve(s, m); break;
	case MSG_UNRESERVE:
		counts_add(&s->counts, m->cmd.hold.event_id, m->cmd.hold.customer_id,
			   -(int64_t)m->cmd.hold.qty);
		msg_return(s, m);
		break;
	case MSG_STOCK_ASK: give_stock(s, m); break;
	case MSG_STATS: stats(s, m); break;
	case MSG_SEATS: seats(s, m); break;
	default:
		m->res.status = ST_INTERNAL;
		msg_return(s, m);
	}
}

void exec_expire(struct shard *s)
{
	struct cmd cmd;
	struct result res;
	uint64_t wait;
	/* bounded per turn: a burst of expiries cannot starve the sockets */
	for (unsigned i = 0; i < 4096 && shard_store_next_expiry(s->store, s->now_ms, &cmd); i++) {
		if (exec_cmd(s, &cmd, &res, &wait) == ST_OK)
			s->ctr.holds_expired++;
		after(s, &cmd, &res);
	}
}
