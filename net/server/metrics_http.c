/*
 * metrics_http.c — the /metrics responder: a small HTTP/1.0 and 1.1 server
 * on its own thread and its own port (default 127.0.0.1:9400), apart from
 * the shards' loops, which it never touches but through the atomics they
 * publish (metrics.c).
 *
 * GET /metrics (a query string is ignored) gets 200 and the text
 * exposition; any other path 404, any other method 405; a request whose
 * line and headers exceed METRICS_REQUEST_BYTES_MAX gets 431. One answer
 * per connection, then close. At most METRICS_CONNS_MAX scrapers at once
 * (the rest wait in the backlog), each with METRICS_DEADLINE_MS to send its
 * request and read the answer, else it is closed. Memory is allocated at
 * start: one render buffer and one answer buffer per connection slot,
 * reserved with MAP_NORESERVE so only what answers touch is backed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net/server/metrics.h"
#include "net/server/server.h"

#define HEAD_BYTES_MAX 256u /* status line and headers of an answer */

struct metrics_conn {
	int fd; /* -1: free */
	uint64_t deadline_ns;
	uint32_t in_len;
	char in[METRICS_REQUEST_BYTES_MAX];
	char *out;               /* HEAD_BYTES_MAX + METRICS_BODY_BYTES_MAX */
	size_t out_len, out_off; /* out_len 0: still reading the request */
};

struct metrics_http {
	struct server *srv;
	int listen_fd, stop_fd;
	pthread_t thread;
	char *body;    /* METRICS_BODY_BYTES_MAX */
	void *scratch; /* metrics_scratch_bytes() */
	uint8_t *mem;  /* the mapping behind out buffers and body */
	size_t mem_bytes;
	struct metrics_conn conns[METRICS_CONNS_MAX];
};

static int bind_metrics(const struct server_config *cfg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(cfg->metrics_port)};
	if (inet_pton(AF_INET, cfg->metrics_host, &a.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, 16)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

static void conn_end(struct metrics_conn *c)
{
	close(c->fd);
	c->fd = -1;
}

/* The answer for a whole request head in c->in. */
static void answer(struct metrics_http *h, struct metrics_conn *c, bool too_long)
{
	const char *status = "200 OK", *type = "text/plain; version=0.0.4; charset=utf-8";
	size_t body_len = 0;
	const char *body = h->body;
	if (too_long) {
		status = "431 Request Header Fields Too Large", body = "request too long\n";
	} else if (strncmp(c->in, "GET ", 4)) {
		status = "405 Method Not Allowed", body = "only GET /metrics\n";
	} else if (strncmp(c->in + 4, "/metrics", 8) || (c->in[12] != ' ' && c->in[12] != '?')) {
		status = "404 Not Found", body = "only GET /metrics\n";
	} else if (!(body_len = metrics_render(h->srv, h->body, METRICS_BODY_BYTES_MAX,
					       h->scratch))) {
		status = "500 Internal Server Error", body = "metrics larger than the buffer\n";
	}
	if (body != h->body) {
		type = "text/plain; charset=utf-8";
		body_len = strlen(body);
	}
	int n = snprintf(c->out, HEAD_BYTES_MAX,
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 status, type, body_len);
	memcpy(c->out + n, body, body_len);
	c->out_len = (size_t)n + body_len;
	c->out_off = 0;
}

static void on_readable(struct metrics_http *h, struct metrics_conn *c)
{
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			conn_end(c);
		return;
	}
	c->in_len += (uint32_t)n;
	c->in[c->in_len] = 0;
	bool whole = strstr(c->in, "\r\n\r\n") || strstr(c->in, "\n\n");
	if (whole || c->in_len == sizeof c->in - 1)
		answer(h, c, !whole);
}

static void on_writable(struct metrics_conn *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_end(c);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len)
		conn_end(c);
}

static void accept_one(struct metrics_http *h)
{
	for (unsigned i = 0; i < METRICS_CONNS_MAX; i++) {
		struct metrics_conn *c = &h->conns[i];
		if (c->fd >= 0)
			continue;
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		c->fd = fd;
		c->in_len = 0;
		c->out_len = c->out_off = 0;
		c->deadline_ns = metrics_now_ns() + METRICS_DEADLINE_MS * 1000000ull;
		return;
	}
}

/* Fills the poll set (stop, listener while a slot is free, connections);
 * returns how many entries and the poll timeout to the nearest deadline. */
static nfds_t poll_set(struct metrics_http *h, struct pollfd *p, int *timeout_ms)
{
	nfds_t n = 0;
	bool slot = false;
	uint64_t now = metrics_now_ns(), soonest = UINT64_MAX;
	p[n++] = (struct pollfd){.fd = h->stop_fd, .events = POLLIN};
	for (unsigned i = 0; i < METRICS_CONNS_MAX; i++) {
		struct metrics_conn *c = &h->conns[i];
		if (c->fd >= 0 && now >= c->deadline_ns)
			conn_end(c); /* too slow */
		if (c->fd < 0) {
			slot = true;
			continue;
		}
		p[n++] = (struct pollfd){.fd = c->fd, .events = c->out_len ? POLLOUT : POLLIN};
		if (c->deadline_ns < soonest)
			soonest = c->deadline_ns;
	}
	if (slot)
		p[n++] = (struct pollfd){.fd = h->listen_fd, .events = POLLIN};
	*timeout_ms = soonest == UINT64_MAX ? -1 : (int)((soonest - now) / 1000000 + 1);
	return n;
}

static void *responder(void *arg)
{
	struct metrics_http *h = arg;
	struct pollfd p[METRICS_CONNS_MAX + 2];
	for (;;) {
		int timeout_ms;
		nfds_t n = poll_set(h, p, &timeout_ms);
		if (poll(p, n, timeout_ms) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			break; /* stop */
		for (nfds_t i = 1; i < n; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == h->listen_fd) {
				accept_one(h);
				continue;
			}
			for (unsigned k = 0; k < METRICS_CONNS_MAX; k++) {
				struct metrics_conn *c = &h->conns[k];
				if (c->fd != p[i].fd)
					continue;
				if (c->out_len)
					on_writable(c);
				else
					on_readable(h, c);
			}
		}
	}
	return NULL;
}

static void http_free(struct metrics_http *h)
{
	for (unsigned i = 0; i < METRICS_CONNS_MAX; i++)
		if (h->conns[i].fd >= 0)
			conn_end(&h->conns[i]);
	if (h->mem)
		munmap(h->mem, h->mem_bytes);
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->stop_fd >= 0)
		close(h->stop_fd);
	free(h->scratch);
	free(h);
}

static int http_alloc(struct metrics_http *h)
{
	size_t per = HEAD_BYTES_MAX + METRICS_BODY_BYTES_MAX;
	h->mem_bytes = per * METRICS_CONNS_MAX + METRICS_BODY_BYTES_MAX;
	h->mem = mmap(NULL, h->mem_bytes, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (h->mem == MAP_FAILED) {
		h->mem = NULL;
		return -errno;
	}
	for (unsigned i = 0; i < METRICS_CONNS_MAX; i++) {
		h->conns[i].fd = -1;
		h->conns[i].out = (char *)h->mem + per * i;
	}
	h->body = (char *)h->mem + per * METRICS_CONNS_MAX;
	h->scratch = malloc(metrics_scratch_bytes());
	return h->scratch ? 0 : -ENOMEM;
}

int metrics_http_start(struct server *srv)
{
	const struct server_config *cfg = &srv->cfg;
	if (cfg->metrics_off)
		return 0;
	struct metrics_http *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->srv = srv;
	h->stop_fd = -1;
	h->listen_fd = bind_metrics(cfg);
	int rc = h->listen_fd < 0 ? h->listen_fd : http_alloc(h);
	if (!rc) {
		h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		rc = h->stop_fd < 0 ? -errno : -pthread_create(&h->thread, NULL, responder, h);
	}
	if (rc) {
		http_free(h);
		return rc;
	}
	srv->http = h;
	return 0;
}

void metrics_http_stop(struct server *srv)
{
	struct metrics_http *h = srv->http;
	if (!h)
		return;
	uint64_t one = 1;
	(void)!write(h->stop_fd, &one, sizeof one);
	pthread_join(h->thread, NULL);
	http_free(h);
	srv->http = NULL;
}
