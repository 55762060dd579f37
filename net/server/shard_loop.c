/*
 * shard_loop.c — one shard's thread: a single io_uring loop for its
 * listener, its connections, its peers' wake-ups and its WAL.
 *
 * A loop turn: reap every completion (accepts, receives — which decode and
 * route requests —, sends, wake-ups, WAL readiness), drain the rings from
 * the peers and the local inbox, reap the WAL (durable LSN moves: waiting
 * results go back), expire due holds, then end the turn: send the filling
 * WAL batch, time out connections past a deadline (a sweep at most every
 * GUARD_SWEEP_MS), one send per connection with output, retry stalled
 * connections, wake the peers written to. Then sleep in io_uring until
 * something happens: the listener (one-shot accepts), a socket, the
 * eventfd peers write when they sent us something while we slept
 * (msg.c), the WAL's completion eventfd, or — only while holds are
 * live — the expiry tick, or — only while the WAL waits for disk space —
 * the store's retry tick, or — only while a send is out — the output
 * deadline check (conn.c), or — only while connections are open — the
 * deadline sweep (GUARD_SWEEP_MS), or — only while accepting is paused for
 * lack of files — the end of the pause, or — only until a quiet shard's
 * last figures are copied for /metrics (metrics_wait_ms) and, with records
 * logged since the last snapshot, until the time policy takes one — those
 * moments. A server with no connections and nothing left to do makes no
 * system calls. A stopped
 * store's WAL is no longer watched: its late completions would keep the
 * eventfd readable and the loop spinning, with nothing left to reap.
 *
 * Receives are plain one-shot recvs into each connection's own buffer
 * (provided buffer rings would copy every frame that straddles two
 * buffers); accepts are one-shot, SHARD_ACCEPTS_ARMED of them armed at a
 * time, so a storm of connects enters a few per turn.
 */
#include <assert.h>
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

#include "net/server/server.h"
#include "net/server/io.h"
#include "net/server/metrics.h"
#include "net/store/shard_store.h"
#include "net/wal/log.h"

/* The node's env.stats: this shard's own counters for STATS. */
static void stats(void *shard, uint64_t v[PROTO_STAT_SLOTS])
{
	const struct shard *s = shard;
	const struct shard_counters *c = &s->ctr;
	v[PROTO_STAT_CONNECTIONS_OPEN] = c->conns_open;
	v[PROTO_STAT_CONNECTIONS_TOTAL] = c->conns_total;
	v[PROTO_STAT_REQUESTS] = c->requests;
	v[PROTO_STAT_BAD_FRAMES] = c->bad_frames;
	v[PROTO_STAT_REFUSED] = c->refused;
	v[PROTO_STAT_BYTES_IN] = c->bytes_in;
	v[PROTO_STAT_BYTES_OUT] = c->bytes_out;
	v[PROTO_STAT_CLOSED_NOT_READING] = c->closed_not_reading;
	v[PROTO_STAT_REQS_IN_FLIGHT] = s->node.reqs_used;
	v[PROTO_STAT_CONNECTIONS_REFUSED] = c->conns_refused;
	v[PROTO_STAT_CONNECTIONS_TIMED_OUT] = c->conns_timed_out;
}

int shard_init(struct server *srv, uint8_t id)
{
	struct shard *s = &srv->shards[id];
	s->srv = srv;
	s->id = id;
	s->listen_fd = s->wake_fd = s->wal_fd = -1;
	int rc = io_uring_queue_init(RING_ENTRIES, &s->ring, 0);
	if (rc)
		return rc;
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->wake_fd < 0)
		return -errno;
	s->secbuf = malloc(sizeof *s->secbuf);
	if (!s->secbuf)
		return -ENOMEM;
	struct node_env env = {.send = msg_send, .reply = conn_reply, .stats = stats, .user = s};
	rc = node_init(&s->node, id, srv->n, &env);
	if (!rc)
		node_shed_config(&s->node, &srv->cfg.shed);
	if (!rc)
		rc = conn_tables_init(s);
	if (!rc)
		rc = metrics_shard_init(s);
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
	free(s->limit_slots);
	free(s->free_slots);
	free(s->secbuf);
	metrics_shard_fini(s);
	node_fini(&s->node);
}

static void completion(struct shard *s, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	uint32_t ci = (uint32_t)ud;
	switch (ud >> 32) {
	case UD_ACCEPT:
		if (cqe->res >= 0)
			conn_accepted(s, cqe->res);
		else if (accept_pause_failed(&s->accept_pause, cqe->res, s->guard_ms))
			log_line(
				LOG_WARN, s->id,
				"msg=\"accept paused\" err=\"%s\" open=%llu pause_ms=%u pauses=%llu"
				" hint=\"out of files or memory: raise the file limit (ulimit -n)"
				" or lower --max-connections\"",
				strerror(-cqe->res), (unsigned long long)s->ctr.conns_open,
				GUARD_ACCEPT_PAUSE_MS, (unsigned long long)s->accept_pause.pauses);
		assert(s->accepts_armed > 0 && !(cqe->flags & IORING_CQE_F_MORE));
		s->accepts_armed--;
		break;
	case UD_RECV: conn_received(s, ci, cqe->res); break;
	case UD_SEND: conn_sent(s, ci, cqe->res); break;
	case UD_WAKE: s->wake_armed = false; break;
	case UD_WAL: s->wal_armed = false; break;
	case UD_IGNORE: break;
	default: /* every submission on this ring sets one of the kinds above */
		assert(0 && "a completion of unknown kind");
	}
}

static unsigned reap(struct shard *s)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;
	io_uring_for_each_cqe(&s->ring, head, cqe)
	{
		completion(s, cqe);
		n++;
	}
	io_uring_cq_advance(&s->ring, n);
	return n;
}

/* One loop turn; returns the ms the store's space tick wants (0: none). */
static uint32_t turn(struct shard *s, bool intake)
{
	s->now_ms = io_now_ms();
	s->turn_ns = metrics_now_ns();
	s->guard_ms = s->turn_ns / 1000000u;
	node_set_now(&s->node, s->now_ms);
	reap(s);
	msg_drain(s);
	shard_store_poll_at(s->store, s->now_ms);
	uint32_t space_ms = shard_store_tick(s->store, s->now_ms);
	node_poll(&s->node); /* answers made durable by the poll */
	if (intake && s->node.holds_live)
		node_expire(&s->node);
	s->tick_ms = node_tick(&s->node);
	shard_store_flush(s->store);
	conn_sweep(s);
	conn_end_turn(s);
	msg_end_turn(s);
	metrics_publish(s);
	if (intake && accept_pause_may_arm(&s->accept_pause, s->guard_ms))
		io_arm_accept(s);
	io_arm_wake(s);
	io_arm_wal(s);
	return space_ms;
}

/* Blocks until there is something to do. */
static void sleep_until_work(struct shard *s, unsigned timeout_ms)
{
	atomic_store(&s->sleeping, 1);
	if (msg_incoming(s)) {
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

/* New clients are refused. shutdown first: the armed accepts hold
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
		uint32_t space_ms = turn(s, stop == 0);
		if (stop)
			stop_listening(s);
		/* a background snapshot is finished by a later turn */
		unsigned timeout = stop || shard_store_snapshot_running(s->store)
					   ? 10
					   : io_sooner_ms(io_sooner_ms(io_sooner_ms(s->tick_ms,
										    space_ms),
								       conn_tick_ms(s)),
							  conn_guard_wait_ms(s));
		timeout = io_sooner_ms(io_sooner_ms(timeout, metrics_wait_ms(s)),
				       shard_store_snapshot_wait_ms(s->store));
		sleep_until_work(s, timeout);
	}
	stop_listening(s);
	/* replies already durable go out; the rest are lost with the connection */
	shard_store_sync(s->store);
	s->now_ms = io_now_ms();
	node_set_now(&s->node, s->now_ms);
	node_poll(&s->node);
	conn_end_turn(s);
	io_uring_submit(&s->ring);
	conn_close_all(s);
	io_uring_submit(&s->ring);
	return NULL;
}
