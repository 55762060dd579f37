/*
 * metrics.c — what onsaled counts, and the Prometheus text it serves.
 *
 * Shard side (the shard's thread): replies are counted by opcode and
 * status and timed from the turn their request arrived in; snapshot write
 * times come from the store's callback; every METRICS_PUBLISH_MS the
 * shard copies its STATS counters (the same expressions a STATS request
 * sums), its live holds and its WAL's histograms, and every
 * METRICS_EVENTS_PUBLISH_MS each live event's per-tier sold, held and free
 * units (one Q_AVAILABILITY per event, a query: no record, no change).
 *
 * Metrics side (the responder's thread, metrics_http.c): metrics_render
 * reads those atomics, the rings' depths (ck_ring_size), the data
 * directory's free space and jemalloc's statistics, and writes the text
 * exposition format 0.0.4, HELP and TYPE before each family. The series
 * are listed in docs/OPERATIONS.md.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "core/core.h"
#include "core/status.h"
#include "net/server/metrics.h"
#include "net/server/server.h"
#include "net/store/shard_store.h"

static_assert(PROTO_OP_TICKET_KEYS < METRICS_OPCODES, "every opcode has its counters");
static_assert(ST_TOKEN_REVOKED < METRICS_STATUSES, "every status has its counters");

/* Request time buckets (upper bounds, us); the last bucket is +Inf. */
static const uint32_t latency_us_bounds[METRICS_LATENCY_BUCKETS - 1] = {
	25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
/* Snapshot write time buckets (ms). */
static const uint32_t snapshot_ms_bounds[METRICS_SNAPSHOT_BUCKETS - 1] = {10,   25,    50,   100,
									  250,  500,   1000, 2500,
									  5000, 10000, 30000};

/* jemalloc's control interface when onsaled is linked with it (weak: the
 * test programs and ASan builds run on the libc allocator and export no
 * allocator figures). */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen)
	__attribute__((weak));

uint64_t metrics_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* ---- the shard's side --------------------------------------------------------------- */

int metrics_shard_init(struct shard *s)
{
	struct shard_metrics *m = &s->met;
	m->events = calloc(EVENTS_MAX, sizeof *m->events);
	m->req_start_ns = calloc(SHARD_REQS_MAX, sizeof *m->req_start_ns);
	return m->events && m->req_start_ns ? 0 : -ENOMEM;
}

void metrics_shard_fini(struct shard *s)
{
	free(s->met.events);
	free(s->met.req_start_ns);
	s->met.events = NULL;
	s->met.req_start_ns = NULL;
}

void metrics_reply(struct shard *s, uint8_t opcode, uint16_t status, uint64_t start_ns)
{
	struct shard_metrics *m = &s->met;
	unsigned op = opcode < METRICS_OPCODES ? opcode : METRICS_OPCODES - 1;
	unsigned st = status < METRICS_STATUSES ? status : METRICS_STATUSES - 1;
	metrics_add(&m->ops[op][st], 1);
	if (!start_ns)
		return;
	/* one clock read per turn that replies, one bucket search per turn
	 * the requests arrived in: replies go out in bursts (a durable WAL
	 * batch answers all its requests at once) */
	uint64_t turn = atomic_load_explicit(&m->turns, memory_order_relaxed);
	if (m->reply_turn != turn) {
		m->reply_turn = turn;
		m->reply_ns = metrics_now_ns();
		m->bucket_start_ns = 0;
	}
	uint64_t ns = m->reply_ns > start_ns ? m->reply_ns - start_ns : 0;
	if (m->bucket_start_ns != start_ns) {
		uint64_t us = ns / 1000;
		unsigned i = 0;
		while (i < METRICS_LATENCY_BUCKETS - 1 && us > latency_us_bounds[i])
			i++;
		m->bucket = i;
		m->bucket_start_ns = start_ns;
	}
	metrics_add(&m->latency[m->bucket], 1);
	metrics_add(&m->latency_ns_sum, ns);
}

void metrics_snapshot_written(struct shard *s, uint64_t write_us)
{
	unsigned i = 0;
	while (i < METRICS_SNAPSHOT_BUCKETS - 1 && write_us > snapshot_ms_bounds[i] * 1000ull)
		i++;
	metrics_add(&s->met.snapshot[i], 1);
	metrics_add(&s->met.snapshot_us_sum, write_us);
}

static void set(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, v, memory_order_relaxed);
}

/* What exec.c's STATS answer holds for this shard, and what the node's
 * env.stats (shard_loop.c) adds. */
static void publish_stats(struct shard *s)
{
	_Atomic uint64_t *v = s->met.stat;
	const struct shard_counters *c = &s->ctr;
	const struct shard_store *st = s->store;
	set(&v[PROTO_STAT_CONNECTIONS_OPEN], c->conns_open);
	set(&v[PROTO_STAT_CONNECTIONS_TOTAL], c->conns_total);
	set(&v[PROTO_STAT_REQUESTS], c->requests);
	set(&v[PROTO_STAT_BAD_FRAMES], c->bad_frames);
	set(&v[PROTO_STAT_REFUSED], c->refused);
	set(&v[PROTO_STAT_BYTES_IN], c->bytes_in);
	set(&v[PROTO_STAT_BYTES_OUT], c->bytes_out);
	set(&v[PROTO_STAT_CLOSED_NOT_READING], c->closed_not_reading);
	set(&v[PROTO_STAT_REQS_IN_FLIGHT], s->node.reqs_used);
	set(&v[PROTO_STAT_CONNECTIONS_REFUSED], c->conns_refused);
	set(&v[PROTO_STAT_CONNECTIONS_TIMED_OUT], c->conns_timed_out);
	set(&v[PROTO_STAT_WAL_RECORDS], shard_store_stats(st)->records);
	set(&v[PROTO_STAT_WAL_BYTES], shard_store_wal_stats(st)->bytes_written);
	set(&v[PROTO_STAT_WAL_FSYNCS], shard_store_wal_stats(st)->fsyncs);
	set(&v[PROTO_STAT_HOLDS_EXPIRED], s->node.ctr.holds_expired);
	set(&v[PROTO_STAT_STOCK_TRANSFERS], s->node.ctr.stock_transfers);
	set(&v[PROTO_STAT_WAL_ERRORS], shard_store_error(st) != 0);
	set(&v[PROTO_STAT_WAL_PAUSED], shard_store_paused(st));
	set(&v[PROTO_STAT_DISK_FULL_EVENTS], shard_store_stats(st)->disk_full_events);
	set(&v[PROTO_STAT_REQUESTS_SHED], s->node.ctr.requests_shed);
	set(&s->met.holds_live, s->node.holds_live);
	const struct wal_stats *w = shard_store_wal_stats(st);
	for (unsigned i = 0; i < WAL_BATCH_RECORDS_BUCKETS; i++)
		set(&s->met.wal_batch_records[i], w->batch_records[i]);
	for (unsigned i = 0; i < WAL_FSYNC_US_BUCKETS; i++)
		set(&s->met.wal_fsync_us[i], w->fsync_us[i]);
	set(&s->met.wal_batch_records_sum, w->batch_records_sum);
	set(&s->met.wal_fsync_us_sum, w->fsync_us_sum);
}

static void publish_event(struct metrics_event *e, const struct availability_view *av)
{
	uint32_t defined = 0;
	for (unsigned t = 0; t < av->tier_count && t < TIERS_MAX; t++) {
		const struct tier_view *tv = &av->tiers[t];
		if (!tv->defined)
			continue;
		defined |= 1u << t;
		atomic_store_explicit(&e->tier[t].sold, tv->sold, memory_order_relaxed);
		atomic_store_explicit(&e->tier[t].held, tv->held, memory_order_relaxed);
		atomic_store_explicit(&e->tier[t].free, tv->free, memory_order_relaxed);
	}
	atomic_store_explicit(&e->id, av->event_id, memory_order_relaxed);
	atomic_store_explicit(&e->defined, defined, memory_order_relaxed);
}

/* A query through the core itself, not the store: the store would count it
 * and start its snapshot clock; a query changes nothing but the core's
 * event lookup cache, so the const is cast away knowingly. */
static void publish_events(struct shard *s)
{
	uint32_t ids[EVENTS_MAX];
	struct core *c = (struct core *)shard_store_core(s->store);
	uint32_t n = core_event_ids(c, ids, EVENTS_MAX), k = 0;
	struct result res;
	struct rec_buf rb = {NULL, 0, 0};
	for (uint32_t i = 0; i < n && i < EVENTS_MAX; i++) {
		struct cmd q = {.type = CMD_Q_AVAILABILITY, .query.event_id = ids[i]};
		if (core_execute(c, &q, s->now_ms, &res, &rb) != ST_OK)
			continue;
		publish_event(&s->met.events[k++], &res.avail);
	}
	atomic_store_explicit(&s->met.event_count, k, memory_order_relaxed);
}

void metrics_publish(struct shard *s)
{
	struct shard_metrics *m = &s->met;
	metrics_add(&m->turns, 1);
	m->stats_behind = m->events_behind = true;
	if (s->now_ms - m->published_ms < METRICS_PUBLISH_MS)
		return;
	m->published_ms = s->now_ms;
	publish_stats(s);
	m->stats_behind = false;
	if (s->now_ms - m->events_published_ms < METRICS_EVENTS_PUBLISH_MS)
		return;
	m->events_published_ms = s->now_ms;
	publish_events(s);
	m->events_behind = false;
}

static uint32_t left_ms(uint64_t now_ms, uint64_t since_ms, uint32_t period_ms)
{
	uint64_t passed = now_ms - since_ms;
	return passed >= period_ms ? 1 : (uint32_t)(period_ms - passed);
}

uint32_t metrics_wait_ms(const struct shard *s)
{
	const struct shard_metrics *m = &s->met;
	uint32_t stats_due = left_ms(s->now_ms, m->published_ms, METRICS_PUBLISH_MS);
	uint32_t events_due = left_ms(s->now_ms, m->events_published_ms, METRICS_EVENTS_PUBLISH_MS);
	/* the events are copied only by a call that copies the stats too: not
	 * before those are due (else a wake-up every 1 ms until they are) */
	if (events_due < stats_due)
		events_due = stats_due;
	uint32_t stats = m->stats_behind ? stats_due : 0,
		 events = m->events_behind ? events_due : 0;
	return !stats || (events && events < stats) ? events : stats;
}

/* ---- the text exposition (the metrics thread) ------------------------------------ */

struct out {
	char *buf;
	size_t cap, len;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	if (o->full)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->cap - o->len)
		o->full = true;
	else
		o->len += (size_t)n;
}

static void family(struct out *o, const char *name, const char *type, const char *help)
{
	put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The STATS counters as series per shard (uptime and shards are server-wide). */
struct stat_series {
	uint8_t index; /* enum proto_stat */
	bool gauge;
	const char *name, *help;
};

static const struct stat_series stat_series[] = {
	{PROTO_STAT_CONNECTIONS_OPEN, true, "onsale_connections_open",
	 "Client connections open now."},
	{PROTO_STAT_CONNECTIONS_TOTAL, false, "onsale_connections_total",
	 "Client connections accepted."},
	{PROTO_STAT_REQUESTS, false, "onsale_requests_total",
	 "Request frames decoded (STATS requests)."},
	{PROTO_STAT_BAD_FRAMES, false, "onsale_bad_frames_total",
	 "Malformed frames (the connection is closed)."},
	{PROTO_STAT_REFUSED, false, "onsale_refused_total",
	 "Requests refused unauthenticated or forbidden."},
	{PROTO_STAT_BYTES_IN, false, "onsale_received_bytes_total", "Bytes received from clients."},
	{PROTO_STAT_BYTES_OUT, false, "onsale_sent_bytes_total", "Bytes sent to clients."},
	{PROTO_STAT_WAL_RECORDS, false, "onsale_wal_records_total", "WAL records appended."},
	{PROTO_STAT_WAL_BYTES, false, "onsale_wal_written_bytes_total",
	 "Bytes of WAL batch writes (whole pages)."},
	{PROTO_STAT_WAL_FSYNCS, false, "onsale_wal_fsyncs_total",
	 "WAL batch fdatasyncs completed."},
	{PROTO_STAT_HOLDS_EXPIRED, false, "onsale_holds_expired_total",
	 "Holds expired by the timer."},
	{PROTO_STAT_STOCK_TRANSFERS, false, "onsale_stock_transfers_total",
	 "GA stock transfers between shards."},
	{PROTO_STAT_WAL_ERRORS, true, "onsale_wal_stopped",
	 "1 when the shard's WAL stopped on a failed write or fdatasync."},
	{PROTO_STAT_WAL_PAUSED, true, "onsale_wal_paused",
	 "1 while the shard refuses changes for lack of disk space."},
	{PROTO_STAT_DISK_FULL_EVENTS, false, "onsale_disk_full_events_total",
	 "Times the shard paused for lack of disk space."},
	{PROTO_STAT_CLOSED_NOT_READING, false, "onsale_closed_not_reading_total",
	 "Clients closed because their output stood still past the output deadline."},
	{PROTO_STAT_REQS_IN_FLIGHT, true, "onsale_requests_in_flight",
	 "Request slots in use (requests in flight or replies waiting)."},
	{PROTO_STAT_REQUESTS_SHED, false, "onsale_requests_shed_total",
	 "Requests answered 73 (overloaded) by load shedding; per opcode: "
	 "onsale_operations_total{status=\"overloaded\"}."},
	{PROTO_STAT_CONNECTIONS_REFUSED, false, "onsale_connections_refused_total",
	 "Connections refused over a connection limit (status too_many_connections)."},
	{PROTO_STAT_CONNECTIONS_TIMED_OUT, false, "onsale_connections_timed_out_total",
	 "Connections closed by a deadline: HELLO, a frame in progress, idle (status timeout)."},
};

static void render_stats(const struct server *srv, struct out *o)
{
	family(o, "onsale_uptime_seconds", "gauge", "Seconds since the shards started.");
	uint64_t now_ms = 0;
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	now_ms = (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
	put(o, "onsale_uptime_seconds %.3f\n",
	    srv->started_ms && now_ms > srv->started_ms ? (now_ms - srv->started_ms) / 1e3 : 0.0);
	family(o, "onsale_shards", "gauge", "Shard threads.");
	put(o, "onsale_shards %u\n", srv->n);
	for (size_t i = 0; i < sizeof stat_series / sizeof stat_series[0]; i++) {
		const struct stat_series *ss = &stat_series[i];
		family(o, ss->name, ss->gauge ? "gauge" : "counter", ss->help);
		for (uint32_t k = 0; k < srv->n; k++)
			put(o, "%s{shard=\"%u\"} %" PRIu64 "\n", ss->name, k,
			    metrics_get(&srv->shards[k].met.stat[ss->index]));
	}
	family(o, "onsale_holds_active", "gauge", "Live holds on the shard.");
	for (uint32_t k = 0; k < srv->n; k++)
		put(o, "onsale_holds_active{shard=\"%u\"} %" PRIu64 "\n", k,
		    metrics_get(&srv->shards[k].met.holds_live));
}

static void render_ops(const struct server *srv, struct out *o)
{
	family(o, "onsale_operations_total", "counter",
	       "Replies sent, by shard (the one the client is connected to), operation and status.");
	for (uint32_t k = 0; k < srv->n; k++) {
		const struct shard_metrics *m = &srv->shards[k].met;
		for (unsigned op = 0; op < METRICS_OPCODES; op++)
			for (unsigned st = 0; st < METRICS_STATUSES; st++) {
				uint64_t v = metrics_get(&m->ops[op][st]);
				if (v)
					put(o,
					    "onsale_operations_total{shard=\"%u\",op=\"%s\","
					    "status=\"%s\"} %" PRIu64 "\n",
					    k, proto_op_name((uint8_t)op),
					    status_name((enum status)st), v);
			}
	}
}

/* One histogram series: buckets[n] (the last +Inf) with upper bounds
 * bounds[n - 1] in units of scale (1e-6: us as seconds), sum already scaled. */
struct hist {
	const char *name;
	const _Atomic uint64_t *buckets;
	const uint32_t *bounds;
	unsigned n;
	double scale, sum;
};

static void render_hist(struct out *o, const struct hist *h, uint32_t shard)
{
	uint64_t cum = 0;
	for (unsigned i = 0; i < h->n; i++) {
		cum += metrics_get(&h->buckets[i]);
		if (i + 1 < h->n)
			put(o, "%s_bucket{shard=\"%u\",le=\"%g\"} %" PRIu64 "\n", h->name, shard,
			    h->bounds[i] * h->scale, cum);
		else
			put(o, "%s_bucket{shard=\"%u\",le=\"+Inf\"} %" PRIu64 "\n", h->name, shard,
			    cum);
	}
	put(o, "%s_sum{shard=\"%u\"} %.6f\n%s_count{shard=\"%u\"} %" PRIu64 "\n", h->name, shard,
	    h->sum, h->name, shard, cum);
}

static const uint32_t batch_records_bounds[WAL_BATCH_RECORDS_BUCKETS - 1] = {1,   2,   4,   8,
									     16,  32,  64,  128,
									     256, 512, 1024};

static void render_hists(const struct server *srv, struct out *o)
{
	static const char *const names[4] = {"onsale_request_duration_seconds",
					     "onsale_wal_batch_records",
					     "onsale_wal_fsync_duration_seconds",
					     "onsale_snapshot_duration_seconds"};
	static const char *const helps[4] = {
		"Time from the loop turn a request arrived in to its reply (durable for changes).",
		"WAL records per durable batch (group commit).",
		"Time from a WAL batch's fdatasync submission to its completion.",
		"Time a background snapshot took to write and fsync."};
	for (unsigned f = 0; f < 4; f++) {
		family(o, names[f], "histogram", helps[f]);
		for (uint32_t k = 0; k < srv->n; k++) {
			const struct shard_metrics *m = &srv->shards[k].met;
			struct hist h[4] = {
				{names[0], m->latency, latency_us_bounds, METRICS_LATENCY_BUCKETS,
				 1e-6, metrics_get(&m->latency_ns_sum) / 1e9},
				{names[1], m->wal_batch_records, batch_records_bounds,
				 WAL_BATCH_RECORDS_BUCKETS, 1,
				 (double)metrics_get(&m->wal_batch_records_sum)},
				{names[2], m->wal_fsync_us, wal_fsync_us_bounds,
				 WAL_FSYNC_US_BUCKETS, 1e-6,
				 metrics_get(&m->wal_fsync_us_sum) / 1e6},
				{names[3], m->snapshot, snapshot_ms_bounds,
				 METRICS_SNAPSHOT_BUCKETS, 1e-3,
				 metrics_get(&m->snapshot_us_sum) / 1e6},
			};
			render_hist(o, &h[f], k);
		}
	}
}

static void render_rings(const struct server *srv, struct out *o)
{
	family(o, "onsale_ring_messages", "gauge",
	       "Cross-shard messages waiting in the rings to the shard (from every peer).");
	for (uint32_t to = 0; to < srv->n; to++) {
		uint64_t depth = 0;
		for (uint32_t from = 0; from < srv->n; from++)
			if (from != to)
				depth += ck_ring_size(&srv->rings[(size_t)from * srv->n + to].ring);
		put(o, "onsale_ring_messages{shard=\"%u\"} %" PRIu64 "\n", to, depth);
	}
}

/* An event's figures summed over the shards; activity = units held + sold. */
struct event_sum {
	uint32_t id, defined;
	uint64_t activity;
	uint64_t sold[TIERS_MAX], held[TIERS_MAX], free[TIERS_MAX];
};

size_t metrics_scratch_bytes(void)
{
	return (size_t)EVENTS_MAX * sizeof(struct event_sum);
}

static void add_event(struct event_sum *sums, uint32_t *count, const struct metrics_event *e)
{
	uint32_t id = atomic_load_explicit(&e->id, memory_order_relaxed);
	uint32_t i = 0;
	while (i < *count && sums[i].id != id)
		i++;
	if (i == *count) {
		if (*count == EVENTS_MAX)
			return; /* shards disagree on more ids than a shard holds: not shown */
		memset(&sums[i], 0, sizeof sums[i]);
		sums[i].id = id;
		(*count)++;
	}
	struct event_sum *x = &sums[i];
	uint32_t defined = atomic_load_explicit(&e->defined, memory_order_relaxed);
	x->defined |= defined;
	for (unsigned t = 0; t < TIERS_MAX; t++) {
		if (!(defined & (1u << t)))
			continue;
		uint32_t sold = atomic_load_explicit(&e->tier[t].sold, memory_order_relaxed);
		uint32_t held = atomic_load_explicit(&e->tier[t].held, memory_order_relaxed);
		x->sold[t] += sold;
		x->held[t] += held;
		x->free[t] += atomic_load_explicit(&e->tier[t].free, memory_order_relaxed);
		x->activity += (uint64_t)sold + held;
	}
}

/* The METRICS_EVENTS_TOP busiest to the front of sums (a partial selection). */
static uint32_t pick_top(struct event_sum *sums, uint32_t count)
{
	uint32_t top = count < METRICS_EVENTS_TOP ? count : METRICS_EVENTS_TOP;
	for (uint32_t i = 0; i < top; i++) {
		uint32_t best = i;
		for (uint32_t j = i + 1; j < count; j++)
			if (sums[j].activity > sums[best].activity ||
			    (sums[j].activity == sums[best].activity && sums[j].id < sums[best].id))
				best = j;
		struct event_sum tmp = sums[i];
		sums[i] = sums[best];
		sums[best] = tmp;
	}
	return top;
}

static void render_events(const struct server *srv, struct out *o, struct event_sum *sums)
{
	static const char *const names[3] = {"onsale_tier_sold_units", "onsale_tier_held_units",
					     "onsale_tier_available_units"};
	static const char *const helps[3] = {
		"Units sold and not refunded, per tier of the busiest events (held + sold).",
		"Units in live holds, per tier of the busiest events.",
		"Units free to sell, per tier of the busiest events."};
	uint32_t count = 0;
	for (uint32_t k = 0; k < srv->n; k++) {
		const struct shard_metrics *m = &srv->shards[k].met;
		uint32_t n = atomic_load_explicit(&m->event_count, memory_order_relaxed);
		for (uint32_t i = 0; i < n && i < EVENTS_MAX; i++)
			add_event(sums, &count, &m->events[i]);
	}
	uint32_t top = pick_top(sums, count);
	for (unsigned f = 0; f < 3; f++) {
		family(o, names[f], "gauge", helps[f]);
		for (uint32_t i = 0; i < top; i++)
			for (unsigned t = 0; t < TIERS_MAX; t++) {
				if (!(sums[i].defined & (1u << t)))
					continue;
				uint64_t v = f == 0   ? sums[i].sold[t]
					     : f == 1 ? sums[i].held[t]
						      : sums[i].free[t];
				put(o, "%s{event=\"%u\",tier=\"%u\"} %" PRIu64 "\n", names[f],
				    sums[i].id, t, v);
			}
	}
}

static void render_host(const struct server *srv, struct out *o)
{
	struct statvfs v;
	if (!statvfs(srv->cfg.data_dir, &v)) {
		family(o, "onsale_disk_free_bytes", "gauge",
		       "Bytes free to onsaled on the data directory's filesystem.");
		put(o, "onsale_disk_free_bytes %" PRIu64 "\n", (uint64_t)v.f_bavail * v.f_frsize);
		family(o, "onsale_disk_size_bytes", "gauge",
		       "Size of the data directory's filesystem.");
		put(o, "onsale_disk_size_bytes %" PRIu64 "\n", (uint64_t)v.f_blocks * v.f_frsize);
	}
	if (!mallctl)
		return;
	uint64_t epoch = 1;
	size_t allocated = 0, resident = 0, len = sizeof epoch;
	mallctl("epoch", &epoch, &len, &epoch, sizeof epoch); /* refreshes the statistics */
	len = sizeof allocated;
	if (mallctl("stats.allocated", &allocated, &len, NULL, 0))
		return;
	len = sizeof resident;
	if (mallctl("stats.resident", &resident, &len, NULL, 0))
		return;
	family(o, "onsale_jemalloc_allocated_bytes", "gauge",
	       "Bytes the application allocated (jemalloc).");
	put(o, "onsale_jemalloc_allocated_bytes %zu\n", allocated);
	family(o, "onsale_jemalloc_resident_bytes", "gauge",
	       "Bytes in physically resident data pages mapped by jemalloc.");
	put(o, "onsale_jemalloc_resident_bytes %zu\n", resident);
}

size_t metrics_render(const struct server *srv, char *buf, size_t cap, void *scratch)
{
	struct out o = {.buf = buf, .cap = cap};
	render_stats(srv, &o);
	render_ops(srv, &o);
	render_hists(srv, &o);
	render_rings(srv, &o);
	render_events(srv, &o, scratch);
	render_host(srv, &o);
	return o.full ? 0 : o.len;
}
