/*
 * metrics.h — what onsaled counts for Prometheus (metrics.c: counting,
 * publishing, the text exposition; metrics_http.c: the /metrics responder
 * on its own thread). The series are listed in docs/OPERATIONS.md.
 *
 * The shard threads never wait for the metrics thread: they count into
 * their own struct shard_metrics (server-t.h) with relaxed atomic loads
 * and stores, and every METRICS_PUBLISH_MS copy what lives elsewhere (the
 * node's and the store's counters, the WAL's histograms) next to it. The
 * metrics thread only reads.
 */
#ifndef ONSALE_METRICS_H
#define ONSALE_METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "net/server/server-t.h"

/* The owner's add: one plain load and store (the shard is the only writer). */
static inline void metrics_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

static inline uint64_t metrics_get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* metrics.c, on the shard's thread */
int metrics_shard_init(struct shard *s);
void metrics_shard_fini(struct shard *s);
/* A reply went out: opcode and status counted; with start_ns (monotonic,
 * 0: none) its time since the request arrived goes into the histogram. */
void metrics_reply(struct shard *s, uint8_t opcode, uint16_t status, uint64_t start_ns);
/* Before the node takes a request: its arrival time, kept by the request
 * slot the node will take (route_request takes the head of its free list;
 * a request slot the node takes otherwise never reaches conn_reply). */
static inline void metrics_request(struct shard *s)
{
	uint32_t next = s->node.req_free;
	if (next < SHARD_REQS_MAX)
		s->met.req_start_ns[next] = s->turn_ns;
}

/* The arrival time of the request in slot index (0: unknown). */
static inline uint64_t metrics_request_start(const struct shard *s, uint32_t index)
{
	return index < SHARD_REQS_MAX ? s->met.req_start_ns[index] : 0;
}
void metrics_snapshot_written(struct shard *s, uint64_t write_us);
/* At the end of a turn: copies the figures due (cheap when none is). */
void metrics_publish(struct shard *s);
/* In how many ms the figures of a turn metrics_publish did not copy yet
 * are due (0: every turn's are copied): an idle shard wakes for them, so
 * /metrics never stays behind STATS (at most 1 wake-up per figure). */
uint32_t metrics_wait_ms(const struct shard *s);
uint64_t metrics_now_ns(void);

/* metrics.c, on the metrics thread: the text exposition (format 0.0.4)
 * into buf[cap]; its length, or 0 when it does not fit. scratch is
 * metrics_scratch_bytes() of memory the renderer may use. */
size_t metrics_render(const struct server *srv, char *buf, size_t cap, void *scratch);
size_t metrics_scratch_bytes(void);

/* metrics_http.c: binds cfg's metrics address and starts the responder
 * thread. 0 (srv->http set; also 0 with metrics_off) or -errno. */
int metrics_http_start(struct server *srv);
void metrics_http_stop(struct server *srv);

#endif
