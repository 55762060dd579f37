/*
 * shard_loop.c — one shard's thread: a single io_uring loop for its
 * listener, its connections, its peers' wake-ups and its WAL.
 *
 * A loop turn: reap every completion (accepts, receives — which decode and
 * route requests —, sends, wake-ups, WAL readiness), drain the rings from
 * the peers and the local inbox, reap the WAL (durable LSN moves: waiting
 * results go back), expire due holds, then end the turn: send the filling
 * WAL batch, one send per connection with output, retry stalled
 * connections, wake the peers written to. Then sleep in io_uring until
 * something happens: the listener (multishot accept), a socket, the
 * eventfd peers write when they sent us something while we slept
 * (ring_msg.c), the WAL's completion eventfd, or — only while holds are
 * live — the expiry tick. An idle server makes no system calls.
 *
 * Receives are plain one-shot recvs into each connection's own buffer
 * (provided buffer rings would copy every frame that straddles two
 * buffers); accepts are multishot.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/server.h"
#include "net/shard_store.h"

enum ud_kind { UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_WAKE, UD_WAL, UD_IGNORE };

#define UD(kind, ci) (((uint64_t)(kind) << 32) | (ci))
#define RING_ENTRIES 4096u

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

void shard_arm_recv(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, CONN_IN_BYTES - c->in_len, 0);
	io_uring_sqe_set_data64(sqe, UD(UD_RECV, ci));
	c->recv_busy = true;
}

void shard_arm_send(struct shard *s, uint32_t ci)
{
	struct conn *c = &s->conns[ci];
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_send(sqe, c->fd, c->out, c->out_len, MSG_NOSIGNAL);
	io_uring_sqe_set_data64(sqe, UD(UD_SEND, ci));
	c->send_busy = true;
}

static void arm_accept(struct shard *s)
{
	if (s->accept_armed || s->listen_fd < 0)
		return;
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_multishot_accept(sqe, s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	io_uring_sqe_set_data64(sqe, UD(UD_ACCEPT, 0));
	s->accept_armed = true;
}

static void arm_wake(struct shard *s)
{
	if (s->wake_armed)
		return;
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_read(sqe, s->wake_fd, &s->wake_val, sizeof s->wake_val, 0);
	io_uring_sqe_set_data64(sqe, UD(UD_WAKE, 0));
	s->wake_armed = true;
}

static void arm_wal(struct shard *s)
{
	if (s->wal_armed || s->wal_fd < 0)
		return;
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_poll_add(sqe, s->wal_fd, POLLIN);
	io_uring_sqe_set_data64(sqe, UD(UD_WAL, 0));
	s->wal_armed = true;
}

int shard_init(struct server *srv, uint8_t id)
{
	struct shard *s = &srv->shards[id];
	s->srv = srv;
	s->id = id;
	s->listen_fd = s->wake_fd = s->wal_fd = -1;
	s->req_free = NIL32;
	int rc = io_uring_queue_init(RING_ENTRIES, &s->ring, 0);
	if (rc)
		return rc;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return -errno;
	s->reqs = calloc(SHARD_REQS_MAX, sizeof *s->reqs);
	s->secbuf = malloc(sizeof *s->secbuf);
	if (!s->reqs || !s->secbuf)
		return -ENOMEM;
	for (uint32_t i = SHARD_REQS_MAX; i-- > 0;) {
		s->reqs[i].next = s->req_free;
		s->req_free = i;
	}
	rc = msg_pool_init(s);
	if (!rc)
		rc = conn_tables_init(s);
	if (!rc)
		rc = counts_init(&s->counts, SHARD_REMOTE_COUNTS_MAX);
	return rc;
}

void shard_fini(struct shard *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	if (s->ring.ring_fd > 0)
		io_uring_queue_exit(&s->ring);
	if (s->conns)
		munmap(s->conns[0].in,
		       ((size_t)CONN_IN_BYTES + CONN_OUT_BYTES) * SERVER_CONNS_PER_SHARD_MAX);
	free(s->conns);
	free(s->reqs);
	free(s->secbuf);
	free(s->msgs);
	free(s->bigbufs);
	counts_fini(&s->counts);
}

static void completion(struct shard *s, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t ci = (uint32_t)ud;
	switch (ud >> 32) {
	case UD_ACCEPT:
		if (cqe->res >= 0)
			conn_accepted(s, cqe->res);
		if (!(cqe->flags & IORING_CQE_F_MORE))
			s->accept_armed = false;
		break;
	case UD_RECV:
		conn_received(s, ci, cqe->res);
		break;
	case UD_SEND:
		conn_sent(s, ci, cqe->res);
		break;
	case UD_WAKE:
		s->wake_armed = false;
		break;
	case UD_WAL:
		s->wal_armed = false;
		break;
	default:
		break;
	}
}

static unsigned reap(struct shard *s)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&s->ring, head, cqe) {
		completion(s, cqe);
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	return n;
}

static void turn(struct shard *s, bool intake)
{
	s->now_ms = server_now_ms();
	reap(s);
	msg_drain(s);
	shard_store_tick(s->store, s->now_ms);
	exec_durable(s);
	if (intake && s->holds_live)
		exec_expire(s);
	shard_store_flush(s->store);
	conn_end_turn(s);
	msg_end_turn(s);
	if (intake)
		arm_accept(s);
	arm_wake(s);
	arm_wal(s);
}

/* Blocks until there is something to do. */
static void sleep_until_work(struct shard *s, unsigned timeout_ms)
{
	atomic_store(&s->sleeping, 1);
	if (msg_incoming(s) || (s->durable_head && shard_store_durable_lsn(s->store) >=
						    s->durable_head->wait_lsn)) {
		atomic_store(&s->sleeping, 0);
		io_uring_submit(&s->ring);
		return;
	}
	struct io_uring_cqe *cqe;
	if (SHARD_WAIT_MS_MAX && (!timeout_ms || timeout_ms > SHARD_WAIT_MS_MAX))
		timeout_ms = SHARD_WAIT_MS_MAX;
	if (timeout_ms) {
		struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
					       .tv_nsec = (long long)(timeout_ms % 1000) * 1000000};
		io_uring_submit_and_wait_timeout(&s->ring, &cqe, 1, &ts, NULL);
	} else {
		io_uring_submit_and_wait(&s->ring, 1);
	}
	atomic_store(&s->sleeping, 0);
}

/* New clients are refused. shutdown first: the armed multishot accept holds
 * the socket open until the ring is torn down, which the kernel finishes
 * after the process is gone; a listener left open meanwhile would take
 * connections meant for the next onsaled on this port and reset them. */
static void stop_listening(struct shard *s)
{
	if (s->listen_fd < 0)
		return;
	shutdown(s->listen_fd, SHUT_RDWR);
	close(s->listen_fd);
	s->listen_fd = -1;
}

void *shard_main(void *arg)
{
	struct shard *s = arg;
	s->wal_fd = shard_store_wait_fd(s->store);
	for (;;) {
		int stop = atomic_load(&s->srv->stop);
		if (stop >= 2)
			break;
		turn(s, stop == 0);
		if (stop)
			stop_listening(s);
		/* a background snapshot is finished by a later turn */
		unsigned timeout = stop || shard_store_snapshot_running(s->store) ? 10
				   : s->holds_live ? SHARD_EXPIRY_TICK_MS : 0;
		sleep_until_work(s, timeout);
	}
	stop_listening(s);
	/* replies already durable go out; the rest are lost with the connection */
	shard_store_sync(s->store);
	s->now_ms = server_now_ms();
	exec_durable(s);
	conn_end_turn(s);
	io_uring_submit(&s->ring);
	conn_close_all(s);
	io_uring_submit(&s->ring);
	return NULL;
}
