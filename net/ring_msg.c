/*
 * ring_msg.c — messages between shards: the pool, the SPSC rings, wake-ups.
 *
 * Every ordered pair of shards (a, b) has one concurrencykit SPSC ring that
 * only a enqueues to and only b dequeues from. A message is a fixed-size
 * struct msg from the sender's pool; the receiver acts on it and sends the
 * same struct back through the ring (b, a), and the owner frees it. A shard
 * talking to itself skips the rings: its messages go through a local inbox
 * processed in the same loop.
 *
 * Batching and wake-up: messages are enqueued as they are made; at the end
 * of a loop turn the sender wakes each peer it wrote to, and only if that
 * peer said it is going to sleep (`sleeping`, set before it blocks and
 * re-checked against its rings after, so a message is never left behind:
 * the receiver stores sleeping = 1 then looks at its rings; the sender
 * enqueues then looks at sleeping — one of the two sees the other). The
 * wake-up is an eventfd the sleeper's io_uring has a read armed on.
 *
 * A full ring is not an error: the message waits in the sender's overflow
 * list for that peer, in order, and is retried every turn.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/server.h"

int msg_rings_init(struct server *srv)
{
	size_t pairs = (size_t)srv->n * srv->n;
	srv->rings = aligned_alloc(64, pairs * sizeof *srv->rings);
	if (!srv->rings)
		return -ENOMEM;
	memset(srv->rings, 0, pairs * sizeof *srv->rings);
	for (size_t i = 0; i < pairs; i++) {
		srv->rings[i].buf = calloc(MSG_RING_SLOTS, sizeof *srv->rings[i].buf);
		if (!srv->rings[i].buf)
			return -ENOMEM; /* server_run frees what was made */
		ck_ring_init(&srv->rings[i].ring, MSG_RING_SLOTS);
	}
	return 0;
}

int msg_pool_init(struct shard *s)
{
	s->msgs = calloc(SHARD_MSGS_MAX, sizeof *s->msgs);
	s->bigbufs = malloc((size_t)SHARD_BIGBUFS * PROTO_FRAME_BYTES_MAX);
	if (!s->msgs || !s->bigbufs)
		return -ENOMEM;
	for (uint32_t i = SHARD_MSGS_MAX; i-- > 0;) {
		s->msgs[i].index = i;
		s->msgs[i].owner = s->id;
		s->msgs[i].next = s->msg_free;
		s->msg_free = &s->msgs[i];
	}
	s->big_free_mask = SHARD_BIGBUFS >= 32 ? UINT32_MAX : (1u << SHARD_BIGBUFS) - 1;
	return 0;
}

struct msg *msg_alloc(struct shard *s)
{
	struct msg *m = s->msg_free;
	if (!m)
		return NULL;
	s->msg_free = m->next;
	uint32_t index = m->index;
	memset(m, 0, offsetof(struct msg, cmd));
	m->index = index;
	m->owner = s->id;
	m->req = NIL32;
	m->cmd.type = 0;
	m->res.status = ST_OK;
	atomic_store_explicit(&s->msgs_used, atomic_load_explicit(&s->msgs_used, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	return m;
}

void msg_free(struct shard *s, struct msg *m)
{
	assert(m->owner == s->id);
	m->next = s->msg_free;
	s->msg_free = m;
	atomic_store_explicit(&s->msgs_used, atomic_load_explicit(&s->msgs_used, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

uint8_t *msg_big_alloc(struct shard *s)
{
	if (!s->big_free_mask)
		return NULL;
	unsigned i = (unsigned)__builtin_ctz(s->big_free_mask);
	s->big_free_mask &= ~(1u << i);
	return s->bigbufs + (size_t)i * PROTO_FRAME_BYTES_MAX;
}

void msg_big_free(struct shard *s, uint8_t *big)
{
	if (!big)
		return;
	size_t i = (size_t)(big - s->bigbufs) / PROTO_FRAME_BYTES_MAX;
	assert(i < SHARD_BIGBUFS);
	s->big_free_mask |= 1u << i;
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

static struct ring_pair *pair(struct server *srv, uint8_t from, uint8_t to)
{
	return &srv->rings[(size_t)from * srv->n + to];
}

static void deliver(struct shard *s, struct msg *m, uint8_t to)
{
	if (to == s->id) {
		push(&s->inbox_head, &s->inbox_tail, m);
		return;
	}
	struct ring_pair *p = pair(s->srv, s->id, to);
	if (s->over_head[to] || !ck_ring_enqueue_spsc(&p->ring, p->buf, m)) {
		push(&s->over_head[to], &s->over_tail[to], m);
		return;
	}
	s->sent_to |= 1ull << to;
}

void msg_send(struct shard *s, struct msg *m, uint8_t to)
{
	m->at = to;
	m->back = 0;
	deliver(s, m, to);
}

void msg_return(struct shard *s, struct msg *m)
{
	m->back = 1;
	deliver(s, m, m->owner);
}

static void dispatch(struct shard *s, struct msg *m)
{
	if (m->back)
		route_done(s, m);
	else
		exec_msg(s, m);
}

unsigned msg_drain(struct shard *s)
{
	unsigned n = 0;
	for (uint32_t from = 0; from < s->srv->n; from++) {
		if (from == s->id)
			continue;
		struct ring_pair *p = pair(s->srv, (uint8_t)from, s->id);
		void *v;
		/* bounded per turn so one busy peer cannot starve the sockets */
		for (unsigned i = 0; i < MSG_RING_SLOTS && ck_ring_dequeue_spsc(&p->ring, p->buf, &v); i++) {
			dispatch(s, v);
			n++;
		}
	}
	/* the inbox may grow while it drains; take what is there now */
	struct msg *m = s->inbox_head;
	s->inbox_head = s->inbox_tail = NULL;
	while (m) {
		struct msg *next = m->next;
		dispatch(s, m);
		m = next;
		n++;
	}
	return n;
}

bool msg_incoming(struct shard *s)
{
	if (s->inbox_head)
		return true;
	for (uint32_t from = 0; from < s->srv->n; from++)
		if (from != s->id && ck_ring_size(&pair(s->srv, (uint8_t)from, s->id)->ring))
			return true;
	return false;
}

static void retry_overflow(struct shard *s, uint8_t to)
{
	struct ring_pair *p = pair(s->srv, s->id, to);
	while (s->over_head[to]) {
		struct msg *m = s->over_head[to];
		if (!ck_ring_enqueue_spsc(&p->ring, p->buf, m))
			break;
		s->over_head[to] = m->next;
		if (!s->over_head[to])
			s->over_tail[to] = NULL;
		s->sent_to |= 1ull << to;
	}
}

void msg_end_turn(struct shard *s)
{
	for (uint32_t to = 0; to < s->srv->n; to++)
		if (s->over_head[to])
			retry_overflow(s, (uint8_t)to);
	if (!s->sent_to)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	for (uint32_t to = 0; to < s->srv->n; to++) {
		if (!(s->sent_to & (1ull << to)))
			continue;
		struct shard *peer = &s->srv->shards[to];
		if (atomic_load(&peer->sleeping) && atomic_exchange(&peer->sleeping, 0)) {
			uint64_t one = 1;
			(void)!write(peer->wake_fd, &one, sizeof one);
		}
	}
	s->sent_to = 0;
}
