/*
 * io.c — what a shard asks of its io_uring: receive and send on a
 * connection, accept on the listener, read the peers' wake-up eventfd,
 * poll the WAL's completion eventfd; and the clock. The lowest layer of the server: it
 * calls nothing of the server's own; the loop (shard_loop.c) and the
 * connections (conn.c) call it. Each request carries its kind and
 * connection in its user data (UD) for the loop's completion handler.
 */
#include <assert.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include "net/server/server.h"
#include "net/server/io.h"
#include "net/store/shard_store.h"

static struct io_uring_sqe *sqe_get(struct shard *s)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&s->ring);
	if (!sqe) {
		io_uring_submit(&s->ring);
		sqe = io_uring_get_sqe(&s->ring);
	}
	assert(sqe); /* the ring is sized for every connection's ops */
	return sqe;
}

void io_arm_recv(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, CONN_IN_BYTES - c->in_len, 0);
	io_uring_sqe_set_data64(sqe, UD(UD_RECV, ci));
	c->recv_busy = true;
}

void io_arm_send(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_send(sqe, c->fd, c->out, c->out_len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(UD_SEND, ci));
	c->send_busy = true;
}

void io_arm_accept(struct shard *s)
{
	assert(s->accepts_armed <= SHARD_ACCEPTS_ARMED);
	if (s->listen_fd < 0)
		return;
	while (s->accepts_armed < SHARD_ACCEPTS_ARMED) {
		struct io_uring_sqe *sqe = sqe_get(s);
		io_uring_prep_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, UD(UD_ACCEPT, 0));
		s->accepts_armed++;
	}
}

void io_arm_wake(struct shard *s)
{
	if (s->wake_armed)
		return;
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_read(sqe, s->wake_fd, &s->wake_val, sizeof s->wake_val, 0);
	io_uring_sqe_set_data64(sqe, UD(UD_WAKE, 0));
	s->wake_armed = true;
}

void io_arm_wal(struct shard *s)
{
	if (s->wal_armed || s->wal_fd < 0 || shard_store_error(s->store))
		return;
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_poll_add(sqe, s->wal_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD(UD_WAL, 0));
	s->wal_armed = true;
}

uint64_t io_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}
