/*
 * msg.c — messages between shards: the SPSC rings and wake-ups. The
 * messages themselves belong to the nodes (net/shard/node_pool.c); this
 * file only carries them between threads: it is the node's env.send.
 *
 * Every ordered pair of shards (a, b) has one concurrencykit SPSC ring that
 * only a enqueues to and only b dequeues from. A message sent to a peer is
 * enqueued here, dequeued by the peer's loop and handed to its node
 * (node_deliver); answers travel back the same way.
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

#include "net/server/server.h"

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

void msg_send(void *shard, struct msg *m, uint8_t to)
{
	struct shard *s = shard;
	assert(to != s->id && to < s->srv->n);
	struct ring_pair *p = pair(s->srv, s->id, to);
	if (s->over_head[to] || !ck_ring_enqueue_spsc(&p->ring, p->buf, m)) {
		push(&s->over_head[to], &s->over_tail[to], m);
		return;
	}
	s->sent_to |= 1ull << to;
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
		for (unsigned i = 0;
		     i < MSG_RING_SLOTS && ck_ring_dequeue_spsc(&p->ring, p->buf, &v); i++) {
			node_deliver(&s->node, v);
			n++;
		}
	}
	return n + node_poll(&s->node);
}

bool msg_incoming(struct shard *s)
{
	if (node_ready(&s->node))
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
