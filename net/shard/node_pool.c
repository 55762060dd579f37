/*
 * node_pool.c — a node's fixed pools and lists: messages, requests, big
 * buffers, the local inbox and the durable FIFO. Everything is allocated
 * once in pool_init; nothing is allocated per request.
 *
 * A message is taken from its owner's pool, sent to another node through
 * the driver (env.send) or, to itself, through the local inbox; the other
 * node acts on it and returns it the same way; the owner frees it. Answers
 * that show a state change wait in the durable FIFO until the store's WAL
 * has that LSN on disk (LSNs only grow, so the FIFO is in LSN order).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/shard/parts.h"
#include "net/store/shard_store.h"

int pool_init(struct node *nd)
{
	nd->msgs = calloc(SHARD_MSGS_MAX, sizeof *nd->msgs);
	nd->reqs = calloc(SHARD_REQS_MAX, sizeof *nd->reqs);
	nd->bigbufs = malloc((size_t)SHARD_BIGBUFS * PROTO_FRAME_BYTES_MAX);
	if (!nd->msgs || !nd->reqs || !nd->bigbufs)
		return -ENOMEM;
	for (uint32_t i = SHARD_MSGS_MAX; i-- > 0;) {
		nd->msgs[i].index = i;
		nd->msgs[i].owner = nd->id;
		nd->msgs[i].next = nd->msg_free;
		nd->msg_free = &nd->msgs[i];
	}
	nd->req_free = NIL32;
	for (uint32_t i = SHARD_REQS_MAX; i-- > 0;) {
		nd->reqs[i].next = nd->req_free;
		nd->req_free = i;
	}
	static_assert(SHARD_BIGBUFS <= 32, "one bit each in big_free_mask");
	nd->big_free_mask = SHARD_BIGBUFS == 32 ? UINT32_MAX : (1u << SHARD_BIGBUFS) - 1;
	return 0;
}

void pool_fini(struct node *nd)
{
	free(nd->msgs);
	free(nd->reqs);
	free(nd->bigbufs);
	nd->msgs = NULL;
	nd->reqs = NULL;
	nd->bigbufs = NULL;
}

static void used_add(struct node *nd, int d)
{
	uint32_t u = atomic_load_explicit(&nd->msgs_used, memory_order_relaxed);
	atomic_store_explicit(&nd->msgs_used, u + (uint32_t)d, memory_order_relaxed);
}

void pool_msg_reuse(struct node *nd, struct msg *m)
{
	assert(m->owner == nd->id);
	uint32_t index = m->index;
	memset(m, 0, offsetof(struct msg, cmd));
	m->index = index;
	m->owner = nd->id;
	m->req = NIL32;
	m->cmd.type = 0;
	m->res.status = ST_OK;
}

struct msg *pool_msg_alloc(struct node *nd)
{
	struct msg *m = nd->msg_free;
	if (!m)
		return NULL;
	nd->msg_free = m->next;
	pool_msg_reuse(nd, m);
	used_add(nd, 1);
	return m;
}

void pool_msg_free(struct node *nd, struct msg *m)
{
	assert(m->owner == nd->id);
	assert(m >= nd->msgs && m < nd->msgs + SHARD_MSGS_MAX);
	m->next = nd->msg_free;
	nd->msg_free = m;
	used_add(nd, -1);
}

uint32_t pool_msgs_free(const struct node *nd)
{
	return SHARD_MSGS_MAX - node_msgs_out(nd);
}

uint8_t *pool_big_alloc(struct node *nd)
{
	if (!nd->big_free_mask)
		return NULL;
	unsigned i = (unsigned)__builtin_ctz(nd->big_free_mask);
	nd->big_free_mask &= ~(1u << i);
	return nd->bigbufs + (size_t)i * PROTO_FRAME_BYTES_MAX;
}

void pool_big_free(struct node *nd, uint8_t *big)
{
	if (!big)
		return;
	size_t i = (size_t)(big - nd->bigbufs) / PROTO_FRAME_BYTES_MAX;
	assert(i < SHARD_BIGBUFS && !(nd->big_free_mask & (1u << i)));
	nd->big_free_mask |= 1u << i;
}

struct req *pool_req_alloc(struct node *nd)
{
	if (nd->req_free == NIL32)
		return NULL;
	struct req *r = &nd->reqs[nd->req_free];
	nd->req_free = r->next;
	nd->reqs_used++;
	r->next = NIL32;
	r->step = STEP_ONE;
	r->pending = r->tries = 0;
	r->reserved = r->have_res = r->keyed = r->over_limit = r->answered = false;
	r->replay_at = r->code_owner = NIL8;
	r->code_index = PRESALE_CODE_NONE;
	r->code_asked = r->units_taken = r->code_over = r->low_here = false;
	r->units_asked = r->units_placed = 0;
	r->big = NULL;
	/* the head only: every path writes the rest before a reply reads it
	 * (an answer, a refusal, a sum's first answer); STATS reads the status */
	memset(&r->res, 0, offsetof(struct result, hold));
	return r;
}

struct req *node_req(struct node *nd, uint32_t index)
{
	assert(index < SHARD_REQS_MAX);
	return &nd->reqs[index];
}

uint32_t node_req_index(const struct node *nd, const struct req *r)
{
	assert(r >= nd->reqs && r < nd->reqs + SHARD_REQS_MAX);
	return (uint32_t)(r - nd->reqs);
}

void node_req_free(struct node *nd, struct req *r)
{
	assert(nd->reqs_used > 0);
	if (r->answered) {
		assert(nd->reqs_answered > 0);
		nd->reqs_answered--;
		r->answered = false;
	}
	pool_big_free(nd, r->big);
	r->big = NULL;
	r->next = nd->req_free;
	nd->req_free = node_req_index(nd, r);
	nd->reqs_used--;
}

static void push(struct msg **head, struct msg **tail, struct msg *m)
{
	m->next = NULL;
	if (*tail)
		(*tail)->next = m;
	else
		*head = m;
	*tail = m;
}

static void deliver(struct node *nd, struct msg *m, uint8_t to)
{
	assert(to < nd->n);
	if (to == nd->id)
		push(&nd->inbox_head, &nd->inbox_tail, m);
	else
		nd->env.send(nd->env.user, m, to);
}

void pool_send(struct node *nd, struct msg *m, uint8_t to)
{
	m->at = to;
	m->back = 0;
	deliver(nd, m, to);
}

void pool_send_durable(struct node *nd, struct msg *m, uint8_t to)
{
	m->at = to;
	m->forward = 1;
	m->wait_lsn = shard_store_last_lsn(nd->store);
	pool_when_durable(nd, m);
}

void pool_return(struct node *nd, struct msg *m)
{
	m->back = 1;
	deliver(nd, m, m->owner);
}

struct msg *pool_take_inbox(struct node *nd)
{
	struct msg *m = nd->inbox_head;
	nd->inbox_head = nd->inbox_tail = NULL;
	return m;
}

static void leave(struct node *nd, struct msg *m)
{
	if (m->forward) {
		m->forward = 0;
		pool_send(nd, m, m->at);
	} else {
		pool_return(nd, m);
	}
}

void pool_when_durable(struct node *nd, struct msg *m)
{
	if (m->wait_lsn > shard_store_durable_lsn(nd->store)) {
		assert(!nd->durable_tail || nd->durable_tail->wait_lsn <= m->wait_lsn);
		push(&nd->durable_head, &nd->durable_tail, m);
		return;
	}
	leave(nd, m);
}

unsigned pool_release_durable(struct node *nd)
{
	uint64_t durable = shard_store_durable_lsn(nd->store);
	bool stopped = shard_store_error(nd->store) != 0;
	unsigned n = 0;
	while (nd->durable_head && (stopped || nd->durable_head->wait_lsn <= durable)) {
		struct msg *m = nd->durable_head;
		nd->durable_head = m->next;
		if (!nd->durable_head)
			nd->durable_tail = NULL;
		n++;
		if (stopped && m->wait_lsn > durable && m->forward) {
			if (m->req == NIL32) {
				pool_msg_free(nd,
					      m); /* an acknowledgement of what is not durable */
				continue;
			}
			m->forward = 0; /* a request on its way on (an exchange): back, told */
		}
		if (stopped && m->wait_lsn > durable) { /* never durable: say so */
			bool changed = m->res.status == ST_OK && !CMD_IS_QUERY(m->cmd.type);
			memset(&m->res, 0, sizeof m->res);
			/* an exchange past its ticket's durable XCHG_OUT: the next
			 * start ends it either way (unavailable would say nothing
			 * of the request survives) */
			m->res.status = m->xchg_sure
						? ST_OUTCOME_UNKNOWN
						: shard_store_lost_status(nd->store, m->wait_lsn,
									  changed);
		}
		leave(nd, m);
	}
	return n;
}
