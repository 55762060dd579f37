/*
 * off_raw.c — the offenders' sockets: connections from other loopback
 * source addresses (so a per-address limit meets the offender, not the
 * well-behaved client on 127.0.0.1), and a reader that counts reply
 * statuses and bad-frame reasons from the frame headers alone, so one
 * small state per connection serves thousands of them.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/offend/offend.h"
#include "net/proto/proto.h"

/* A connect that takes longer counts as failed (a full accept queue). */
#define CONNECT_WAIT_MS 1000
/* recv calls one drain makes at most: a connection that keeps sending is
 * read again on the next turn of the offender's loop. */
#define DRAIN_READS_MAX 64

static int resolve(const struct off_env *env, struct sockaddr_in *to)
{
	memset(to, 0, sizeof *to);
	to->sin_family = AF_INET;
	to->sin_port = htons(env->port);
	if (inet_pton(AF_INET, env->host, &to->sin_addr) == 1)
		return 0;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai;
	if (getaddrinfo(env->host, NULL, &hints, &ai))
		return -1;
	to->sin_addr = ((struct sockaddr_in *)ai->ai_addr)->sin_addr;
	freeaddrinfo(ai);
	return 0;
}

static int wait_connected(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	int err = 0;
	socklen_t len = sizeof err;
	if (poll(&p, 1, CONNECT_WAIT_MS) != 1)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) || err)
		return -1;
	return 0;
}

int off_raw_connect(const struct off_env *env, unsigned k, struct off_seen *seen)
{
	struct sockaddr_in to, from = {.sin_family = AF_INET};
	int one = 1;
	assert(env->sources > 0);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || resolve(env, &to))
		goto out_fail;
	/* loopback servers only: elsewhere 127.0.0.x is no source address */
	if ((ntohl(to.sin_addr.s_addr) >> 24) == 127) {
		from.sin_addr.s_addr = htonl(0x7f000002u + k % env->sources);
		/* the port is picked at connect, per source address */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		if (bind(fd, (struct sockaddr *)&from, sizeof from))
			goto out_fail;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&to, sizeof to) && errno != EINPROGRESS)
		goto out_fail;
	if (wait_connected(fd))
		goto out_fail;
	seen->connects++;
	return fd;
out_fail:
	if (fd >= 0)
		close(fd);
	seen->connect_fails++;
	return -1;
}

size_t off_raw_hello(uint8_t *buf, size_t cap, uint8_t role, const uint8_t *key, uint64_t rid)
{
	struct proto_request req = {.request_id = rid, .opcode = PROTO_OP_HELLO};
	assert(key && role);
	req.hello.role = role;
	memcpy(req.hello.key, key, PROTO_KEY_BYTES);
	return proto_encode_request(buf, cap, &req);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One reply's header (and reply head when it has one) is complete. */
static void count_reply(struct off_rx *rx, struct off_seen *seen)
{
	unsigned st = (unsigned)(rx->head[12] | rx->head[13] << 8);
	seen->replies++;
	seen->status[st < OFF_STATUS_SLOTS ? st : OFF_STATUS_SLOTS - 1]++;
	if (st == ST_BAD_FRAME)
		seen->bad_reason[rx->head[PROTO_HEADER_BYTES + 1] & 7]++;
}

/* Bytes of a reply's start to keep: the header, then its reply head when
 * the body has one (the head says how long the body is). */
static size_t head_want(const struct off_rx *rx)
{
	if (rx->have < PROTO_HEADER_BYTES)
		return PROTO_HEADER_BYTES;
	uint32_t body = le32(rx->head + 8);
	return PROTO_HEADER_BYTES + (body < PROTO_REPLY_HEAD_BYTES ? body : PROTO_REPLY_HEAD_BYTES);
}

/* Walks n received bytes through the frame boundaries. */
static void walk(struct off_rx *rx, const uint8_t *p, size_t n, struct off_seen *seen)
{
	while (n) {
		if (rx->skip) {
			size_t s = rx->skip < n ? (size_t)rx->skip : n;
			rx->skip -= s, p += s, n -= s;
			continue;
		}
		size_t want = head_want(rx);
		size_t take = want - rx->have < n ? want - rx->have : n;
		memcpy(rx->head + rx->have, p, take);
		rx->have += (uint32_t)take, p += take, n -= take;
		if (rx->have < head_want(rx))
			continue;
		count_reply(rx, seen);
		rx->skip = le32(rx->head + 8) - (rx->have - PROTO_HEADER_BYTES);
		rx->have = 0;
	}
}

int off_raw_drain(int fd, struct off_rx *rx, struct off_seen *seen)
{
	uint8_t buf[16384];
	for (int i = 0; i < DRAIN_READS_MAX; i++) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n > 0) {
			walk(rx, buf, (size_t)n, seen);
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		return 1; /* EOF, reset or another failure: gone */
	}
	return 0;
}

int off_raw_await_close(int fd, struct off_rx *rx, struct off_seen *seen, int wait_ms)
{
	uint64_t end = load_now_ns() + (uint64_t)wait_ms * 1000000u;
	for (uint64_t now; (now = load_now_ns()) < end;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, (int)((end - now) / 1000000u) + 1) < 0 && errno != EINTR)
			return 0;
		if (off_raw_drain(fd, rx, seen))
			return 1;
	}
	return 0;
}

void off_raw_closed(struct off_seen *seen, uint64_t opened_ns, uint64_t now_ns)
{
	uint64_t ms = (now_ns - opened_ns) / 1000000u;
	if (!seen->closed || ms < seen->close_ms_min)
		seen->close_ms_min = ms;
	if (ms > seen->close_ms_max)
		seen->close_ms_max = ms;
	seen->closed++;
}

long off_raw_send(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n >= 0)
		return (long)n;
	return errno == EAGAIN || errno == EINTR ? 0 : -1;
}

unsigned long off_raw_nofile(unsigned long want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < want) {
		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	return (unsigned long)rl.rlim_cur;
}

/* One connection of a pipelined offender. */
struct pipe_conn {
	int fd;
	uint64_t opened_ns;
	uint64_t bytes_sent; /* of the batch stream, HELLO not counted */
	uint64_t replies;    /* HELLO's included */
	uint64_t hellos;     /* 1 once HELLO went out */
	struct off_rx rx;
};

static int pipe_open(const struct off_env *env, const struct off_pipe *p, unsigned k,
		     struct pipe_conn *c, struct off_seen *seen)
{
	uint8_t hello[64];
	memset(c, 0, sizeof *c);
	c->fd = off_raw_connect(env, k, seen);
	c->opened_ns = load_now_ns();
	if (c->fd < 0 || !p->role)
		return c->fd;
	size_t n = off_raw_hello(hello, sizeof hello, p->role, env->keys[p->role], 1);
	if (off_raw_send(c->fd, hello, n) == (long)n) {
		seen->frames_sent++, seen->bytes_sent += n;
		c->hellos = 1;
	}
	return c->fd;
}

/* Sends what the window allows of the batch stream. */
static void pipe_send(const struct off_pipe *p, struct pipe_conn *c, struct off_seen *seen)
{
	size_t frame = p->batch_len / p->batch_frames;
	uint64_t out = c->bytes_sent / frame + c->hellos;
	uint64_t in_flight = out > c->replies ? out - c->replies : 0;
	if (p->read && in_flight >= p->window)
		return;
	size_t off = (size_t)(c->bytes_sent % p->batch_len), len = p->batch_len - off;
	if (p->read && (p->window - in_flight) * frame < len)
		len = (size_t)(p->window - in_flight) * frame;
	long n = off_raw_send(c->fd, p->batch + off, len);
	if (n > 0) {
		seen->frames_sent += (c->bytes_sent + (uint64_t)n) / frame - c->bytes_sent / frame;
		seen->bytes_sent += (uint64_t)n;
		c->bytes_sent += (uint64_t)n;
	}
}

/* Handles poll's answer for one connection: 1 when it closed. */
static int pipe_event(const struct off_pipe *p, struct pipe_conn *c, short revents,
		      struct off_seen *seen)
{
	if (p->read && (revents & (POLLIN | POLLHUP | POLLERR))) {
		uint64_t before = seen->replies;
		int gone = off_raw_drain(c->fd, &c->rx, seen);
		c->replies += seen->replies - before;
		if (gone)
			return 1;
	}
	if (!p->read && (revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return 1;
	if (revents & POLLOUT)
		pipe_send(p, c, seen);
	return 0;
}

void off_raw_pipeline(const struct off_env *env, const struct off_pipe *p, struct off_seen *seen,
		      uint64_t end_ns)
{
	static struct pipe_conn conns[OFF_PIPE_CONNS_MAX];
	struct pollfd pf[OFF_PIPE_CONNS_MAX];
	unsigned n = p->conns < OFF_PIPE_CONNS_MAX ? p->conns : OFF_PIPE_CONNS_MAX;
	assert(p->batch_frames > 0 && p->batch_len % p->batch_frames == 0);
	assert(p->role < sizeof env->keys / sizeof env->keys[0]);
	assert(!p->read || p->window > 0);
	for (unsigned k = 0; k < n; k++)
		pipe_open(env, p, k, &conns[k], seen);
	uint64_t half = load_now_ns() + (end_ns - load_now_ns()) / 2;
	for (uint64_t now; (now = load_now_ns()) < end_ns;) {
		if (p->at_half && now >= half) {
			p->at_half(env, seen);
			half = UINT64_MAX;
		}
		for (unsigned k = 0; k < n; k++)
			pf[k] = (struct pollfd){.fd = conns[k].fd,
						.events = POLLOUT | (p->read ? POLLIN : POLLRDHUP)};
		poll(pf, n, (int)((end_ns - now) / 1000000u) < 50 ? 1 : 50);
		for (unsigned k = 0; k < n; k++) {
			if (conns[k].fd < 0 || !pipe_event(p, &conns[k], pf[k].revents, seen))
				continue;
			off_raw_closed(seen, conns[k].opened_ns, load_now_ns());
			close(conns[k].fd);
			conns[k].fd = -1;
		}
	}
	for (unsigned k = 0; k < n; k++)
		if (conns[k].fd >= 0) {
			seen->open_at_end++;
			close(conns[k].fd);
		}
}
