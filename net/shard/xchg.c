/*
 * xchg.c — a ticket exchanged for a seat on another node (the bookkeeping
 * is core state: core/xchg.c).
 *
 *   coordinator           ticket's node A                 seat's node B
 *   MSG_EXEC EXCHANGE --> XCHG_OUT: the ticket is
 *                         leaving  [WAL]
 *                         once durable: MSG_XCHG_IN ----> XCHG_IN: a one-ticket
 *                                                         order, keyed by the old
 *                                                         ticket  [WAL]
 *                         XCHG_END: exchanged, or <------ once durable:
 *                         valid again  [WAL]              MSG_XCHG_END (answer)
 *   <-------------------- once durable: B's answer (the new ticket)
 *
 * A repeat of a done exchange (xchg_again) goes to B as an IN marked
 * `again`, which answers the order the first IN made and makes none; B
 * sends the answer straight back to the coordinator.
 *
 * The request's one message travels the whole way, so nothing is
 * allocated and no answer can be lost in between. A node whose store
 * stopped sends it straight back to the coordinator with the status that
 * says whether its change may be on disk; a ticket left leaving (A's END
 * never ran) is ended at the next start (xchg_recover): B's IN is applied
 * again, which its key makes a repeat when B has it. Nothing is sent
 * again while serving: the rings lose nothing, and B's refusal, not
 * remembered, must not meet a second IN that could succeed.
 *
 * A customer's units move from A to B: the customer's home node, counting
 * units on other nodes for events with a limit, is told when the move
 * changes what it counts (exec_count_moved).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "core/inspect.h"
#include "net/shard/parts.h"
#include "net/store/shard_store.h"
#include "net/wal/log.h"

/* The customer and channel of the ticket's order (A). */
static enum status order_of(struct node *nd, uint32_t event_id, uint64_t order_id,
			    uint64_t *customer_id, uint8_t *channel)
{
	struct cmd q = {.type = CMD_Q_ORDER};
	struct result res;
	uint64_t wait;
	q.ref.event_id = event_id;
	q.ref.hold_id = order_id;
	if (exec_cmd(nd, &q, &res, &wait) != ST_OK)
		return res.status;
	*customer_id = res.hold.customer_id;
	*channel = res.hold.channel;
	return ST_OK;
}

/* XCHG_OUT of m's ticket to `seat` (its local number, or SEAT_NONE: the
 * best free seat) on node peer, and m on its way there once durable. */
static void leave_for(struct node *nd, struct msg *m, uint8_t peer, uint32_t seat)
{
	const struct cmd_ticket_ref x = m->cmd.ticket;
	struct cmd out = {.type = CMD_XCHG_OUT};
	uint64_t customer_id = 0;
	uint8_t channel = 0;
	assert(peer < nd->n && peer != nd->id);
	out.xchg = (struct cmd_xchg){.event_id = x.event_id,
				     .tier = x.tier,
				     .peer_shard = peer,
				     .seat = seat,
				     .ticket_id = x.ticket_id};
	if (exec_cmd(nd, &out, &m->res, &m->wait_lsn) != ST_OK ||
	    order_of(nd, x.event_id, m->res.ticket.order_id, &customer_id, &channel) != ST_OK) {
		exec_finish(nd, m); /* refused: nothing is leaving */
		return;
	}
	m->kind = MSG_XCHG_IN;
	m->cmd.type = CMD_XCHG_IN;
	m->cmd.xchg = out.xchg;
	m->cmd.xchg.peer_shard = nd->id;
	m->cmd.xchg.customer_id = customer_id;
	m->cmd.xchg.channel = channel;
	m->at = peer;
	m->forward = 1; /* to B once XCHG_OUT is durable */
	pool_when_durable(nd, m);
}

bool xchg_start(struct node *nd, struct msg *m)
{
	uint32_t seat = m->cmd.ticket.seat;
	uint8_t peer = (uint8_t)(seat >> SEAT_SHARD_SHIFT);
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_EXCHANGE);
	if (seat == SEAT_NONE)
		return false;
	if (peer == nd->id) { /* a seat of this node: its own number */
		m->cmd.ticket.seat &= SEAT_LOCAL_MASK;
		return false;
	}
	leave_for(nd, m, peer, seat & SEAT_LOCAL_MASK);
	return true;
}

bool xchg_best_elsewhere(struct node *nd, struct msg *m)
{
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_EXCHANGE &&
	       m->cmd.ticket.seat == SEAT_NONE);
	if (m->peers_tried >= nd->n - 1)
		return false;
	m->peers_tried++;
	leave_for(nd, m, (uint8_t)((nd->id + m->peers_tried) % nd->n), SEAT_NONE);
	return true;
}

bool xchg_again(struct node *nd, struct msg *m)
{
	const struct cmd_ticket_ref x = m->cmd.ticket;
	struct cmd q = {.type = CMD_Q_TICKET};
	struct result old;
	uint64_t wait;
	uint8_t b;
	assert(m->kind == MSG_EXEC && m->cmd.type == CMD_EXCHANGE);
	q.ticket.event_id = x.event_id;
	q.ticket.ticket_id = x.ticket_id;
	if (nd->n == 1 || exec_cmd(nd, &q, &old, &wait) != ST_OK ||
	    old.ticket.state != TICKET_EXCHANGED)
		return false;
	b = (uint8_t)(old.ticket.replaced_by >> ID_SHARD_SHIFT);
	if (b == nd->id || b >= nd->n || (x.seat != SEAT_NONE && x.seat >> SEAT_SHARD_SHIFT != b))
		return false; /* exchanged here, or not for that seat: the core answers */
	m->kind = MSG_XCHG_IN;
	m->cmd.type = CMD_XCHG_IN;
	m->cmd.xchg = (struct cmd_xchg){.event_id = x.event_id,
					.tier = x.tier,
					.peer_shard = nd->id,
					.seat = x.seat == SEAT_NONE ? SEAT_NONE
								    : x.seat & SEAT_LOCAL_MASK,
					.again = 1,
					.ticket_id = x.ticket_id,
					.customer_id = old.ticket.customer_id};
	m->wait_lsn = wait; /* the end of the exchange durable first */
	m->at = b;
	m->forward = 1;
	pool_when_durable(nd, m);
	return true;
}

/* B: the answer to a repeat, straight back to the coordinator. */
static void answer_again(struct node *nd, struct msg *m)
{
	const struct cmd_xchg x = m->cmd.xchg;
	if (exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn) == ST_OK) {
		exec_globalize(nd, CMD_Q_TICKET, &m->res);
		nd->ctr.exchanges_repeated++;
	}
	m->kind = MSG_EXEC;
	m->cmd.type = CMD_EXCHANGE;
	m->cmd.ticket = (struct cmd_ticket_ref){
		.event_id = x.event_id,
		.ticket_id = x.ticket_id,
		.tier = x.tier,
		.seat = x.seat == SEAT_NONE ? SEAT_NONE
					    : (uint32_t)nd->id << SEAT_SHARD_SHIFT | x.seat};
	exec_finish(nd, m); /* the request as the client sent it */
}

/* B: the order for the seat, then back to A once it is durable. */
static void take_seat(struct node *nd, struct msg *m)
{
	uint8_t a = m->cmd.xchg.peer_shard;
	assert(a < nd->n && a != nd->id);
	if (m->cmd.xchg.again) {
		answer_again(nd, m);
		return;
	}
	m->xchg_sure = 1; /* sent once the ticket's XCHG_OUT was durable */
	if (exec_cmd(nd, &m->cmd, &m->res, &m->wait_lsn) == ST_OK)
		exec_globalize(nd, CMD_Q_TICKET, &m->res);
	m->kind = MSG_XCHG_END;
	m->at = a;
	m->forward = 1;
	pool_when_durable(nd, m);
}

/* A: B's answer ends the exchange; the reply leaves once the end is durable.
 * Outcome unknown on B (its batch failed after the order was made): the
 * ticket stays leaving, for the next start to end. */
static void end(struct node *nd, struct msg *m)
{
	struct cmd_xchg *x = &m->cmd.xchg;
	struct cmd e = {.type = CMD_XCHG_END};
	struct result res;
	enum status st = m->res.status;
	assert(x->peer_shard == nd->id);
	if (st != ST_OUTCOME_UNKNOWN) {
		e.xchg = (struct cmd_xchg){.event_id = x->event_id,
					   .ticket_id = x->ticket_id,
					   .status = (uint8_t)st,
					   .new_ticket_id = st == ST_OK ? m->res.ticket.ticket_id
									: 0};
		if (exec_cmd(nd, &e, &res, &m->wait_lsn) != ST_OK)
			log_line(LOG_WARN, nd->id,
				 "msg=\"end of an exchange refused\" "
				 "ticket=%016" PRIx64 " status=%s",
				 x->ticket_id, status_name(res.status));
		else if (st == ST_OK && ++nd->ctr.exchanges_moved)
			exec_count_moved(nd, x->event_id, x->customer_id,
					 (uint8_t)(m->res.ticket.seat >> SEAT_SHARD_SHIFT));
	}
	m->kind = MSG_EXEC;
	m->forward = 0;
	if (x->seat == SEAT_NONE) { /* best available: the ticket ref again */
		struct cmd_ticket_ref ref = {.event_id = x->event_id,
					     .ticket_id = x->ticket_id,
					     .tier = x->tier,
					     .seat = SEAT_NONE};
		m->cmd.type = CMD_EXCHANGE;
		m->cmd.ticket = ref;
		if (st == ST_SOLD_OUT && xchg_best_elsewhere(nd, m))
			return; /* the next node */
	}
	m->cmd.type = CMD_EXCHANGE;
	exec_finish(nd, m);
}

void xchg_arrived(struct node *nd, struct msg *m)
{
	if (m->kind == MSG_XCHG_IN)
		take_seat(nd, m);
	else
		end(nd, m);
}

/* Recovery: ticket p, leaving node a, ended with its seat's node b. */
static int resume(struct node *a, struct node *b, const struct xchg_pending *p)
{
	struct cmd in = {.type = CMD_XCHG_IN}, e = {.type = CMD_XCHG_END};
	struct result res, ended;
	uint64_t wait;
	enum status st;
	in.xchg = (struct cmd_xchg){.event_id = p->event_id,
				    .tier = p->tier,
				    .channel = p->channel,
				    .peer_shard = a->id,
				    .seat = p->seat,
				    .ticket_id = p->ticket_id,
				    .customer_id = p->customer_id};
	st = exec_cmd(b, &in, &res, &wait);
	if (st == ST_DISK_FULL || st == ST_UNAVAILABLE || st == ST_INTERNAL)
		return -EAGAIN; /* b cannot decide now: the ticket stays leaving */
	int rc = shard_store_sync(b->store);
	if (rc)
		return rc;
	e.xchg = (struct cmd_xchg){.event_id = p->event_id,
				   .ticket_id = p->ticket_id,
				   .status = (uint8_t)st,
				   .new_ticket_id = st == ST_OK ? res.ticket.ticket_id : 0};
	if (exec_cmd(a, &e, &ended, &wait) != ST_OK)
		return -EUCLEAN;
	a->ctr.exchanges_moved += st == ST_OK;
	a->ctr.exchanges_resumed++;
	log_line(LOG_INFO, a->id,
		 "msg=\"an exchange cut by a stop ended\" ticket=%016" PRIx64
		 " seat_shard=%u outcome=%s status=%s",
		 p->ticket_id, b->id, st == ST_OK ? "exchanged" : "refused",
		 res.replayed ? "made_before" : status_name(st));
	return 0;
}

int xchg_recover(struct node *const *nodes, uint32_t n)
{
	static struct xchg_pending pending[XCHG_RECOVER_BATCH];
	for (uint32_t k = 0; k < n; k++) {
		const struct core *core = shard_store_core(nodes[k]->store);
		uint32_t left = core_xchgs_pending(core, pending, XCHG_RECOVER_BATCH);
		while (left) {
			uint32_t batch = left < XCHG_RECOVER_BATCH ? left : XCHG_RECOVER_BATCH,
				 done = 0;
			for (uint32_t i = 0; i < batch; i++) {
				const struct xchg_pending *p = &pending[i];
				if (p->peer_shard >= n) {
					log_line(LOG_ERROR, (int)k,
						 "msg=\"a ticket is leaving for "
						 "a shard that does not run: start with the shard "
						 "count the data was written with\" seat_shard=%u "
						 "shards=%u",
						 p->peer_shard, n);
					return -EUCLEAN;
				}
				int rc = resume(nodes[k], nodes[p->peer_shard], p);
				if (rc && rc != -EAGAIN)
					return rc;
				done += rc == 0;
			}
			if (!done)
				break; /* what is left waits for a start that can decide it */
			left = core_xchgs_pending(core, pending, XCHG_RECOVER_BATCH);
		}
	}
	return 0;
}
