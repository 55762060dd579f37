/*
 * server-t.h — the shard-per-core runtime of onsaled (types only).
 *
 * One struct server holds N struct shard, one per pinned thread. A shard
 * owns everything it touches: its io_uring, its listener, its connections,
 * its durable state (shard_store) and its node — the pure cross-shard
 * layer (net/shard/node-t.h) that routes requests, executes commands,
 * moves stock and counts customers. The shard only drives the node: it
 * decodes requests into it, carries its messages over the rings, encodes
 * its replies, and tells it the time. Shards share nothing mutable but the
 * SPSC rings between them (one per ordered pair) and each other's
 * `sleeping` flag and eventfd for wake-ups.
 */
#ifndef ONSALE_SERVER_T_H
#define ONSALE_SERVER_T_H

#include <assert.h>
#include <ck_ring.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cmd-t.h"
#include "core/limits.h"
#include "core/storage.h"
#include "core/token.h"
#include "net/guard/accept_pause.h"
#include "net/guard/addr_limit.h"
#include "net/guard/deadline.h"
#include "net/proto/proto.h"
#include "net/shard/node-t.h"
#include "net/wal/wal.h"

struct shard_store;
struct metrics_http;
struct server;
struct shard;

/* ---- configuration -------------------------------------------------------- */

struct server_config {
	char listen_host[64];
	uint16_t listen_port;
	uint32_t shards;
	char data_dir[256];
	char config_path[256];
	bool no_fsync; /* benchmarking only: fdatasync is skipped */
	bool demo;     /* load the demo event if the data has no events */
	bool pin;      /* pin shard threads to cores */
	/* snapshot policy (net/store/shard_store.h): 0 the default,
	 * SHARD_SNAPSHOT_OFF (UINT64_MAX) never */
	uint64_t snapshot_records, snapshot_bytes, snapshot_interval_ms;
	/* who writes them while serving: SHARD_SNAPSHOT_REPLAY or _FORK
	 * (0: SERVER_SNAPSHOT_WRITER_DEFAULT, net/server/server.c) */
	uint8_t snapshot_writer;
	char wal_archive[256];      /* "": WAL segments are removed, not archived */
	uint64_t wal_segment_bytes; /* 0: WAL_SEGMENT_BYTES_DEFAULT */
	/* Prometheus text on http://metrics_host:metrics_port/metrics
	 * (metrics_http.c); metrics_off: no listener */
	char metrics_host[64];
	uint16_t metrics_port;
	bool metrics_off;
	bool has_key[PROTO_ROLES];
	uint8_t keys[PROTO_ROLES][PROTO_KEY_BYTES];
	bool has_key_next[PROTO_ROLES]; /* <role>_key_next: also accepted (rotation) */
	uint8_t keys_next[PROTO_ROLES][PROTO_KEY_BYTES];
	bool ticket_key_new;        /* add a ticket signing key at start (ticket_keys.c) */
	uint32_t ticket_key_retire; /* retire this ticket key id at start, 0: none */

	/* close a client whose output stands still this long (net/guard/fair.h) */
	uint32_t output_deadline_ms;
	struct shed_config shed; /* load shedding (net/shard/shed.c), 0: a signal off */
	/* connection policy (net/guard/, docs/OPERATIONS.md): deadlines (0:
	 * off), limits over every shard (conns_max 0: every table slot,
	 * conns_per_addr_max 0: none); guard_from_args: bit per GUARD_KEY_*
	 * set by an option, which the config file does not override */
	struct deadline_config deadlines;
	uint32_t conns_max, conns_per_addr_max;
	uint32_t guard_from_args;
};

/* The connection policy's settings, as options and config keys. */
enum guard_key {
	GUARD_KEY_HELLO,
	GUARD_KEY_FRAME,
	GUARD_KEY_IDLE,
	GUARD_KEY_CONNS,
	GUARD_KEY_CONNS_PER_ADDR,
	GUARD_KEYS
};

/* ---- role keys (role_keys.c) ------------------------------------------------ */

/* The keys a HELLO may present, by role; present[r][i]: 1 when key[r][i]
 * is one (0 or 1, used as a mask by the constant-time check). */
struct role_keys {
	uint8_t present[PROTO_ROLES][ROLE_KEYS_PER_ROLE];
	uint8_t key[PROTO_ROLES][ROLE_KEYS_PER_ROLE][PROTO_KEY_BYTES];
};

#define ROLE_KEYS_WORDS ((sizeof(struct role_keys) + 7) / 8)

/* The role keys as the main thread last published them (at start, then on
 * each SIGHUP that read a good file): a sequence lock over relaxed atomic
 * words. seq is odd while the main thread writes, and seq / 2 is the
 * generation; a shard copies the words when seq moved since its copy. */
struct role_keys_pub {
	_Atomic uint32_t seq;
	_Atomic uint64_t words[ROLE_KEYS_WORDS];
};

/* E-ticket keys (ticket_keys.c): read-only once the server serves. */
struct server_tickets {
	struct token_keys keys;     /* every key not retired: what verifies */
	struct token_signer signer; /* the highest of them: what signs */
};

/* ---- connections ------------------------------------------------------------ */

struct conn {
	/* The slot's, kept from one connection to the next (conn_accepted):
	 * the generation, the buffers, and the links of the turn's dirty and
	 * stalled lists, which a slot freed and taken again within one turn
	 * may still be in (the walks take the new connection as they find it). */
	uint32_t gen;
	bool stalled; /* stopped parsing for lack of a slot */
	bool dirty;   /* output to send at the end of the turn */
	uint32_t next_dirty, next_stalled;
	uint8_t *in;  /* CONN_IN_BYTES */
	uint8_t *out; /* CONN_OUT_BYTES */
	/* The connection's, zeroed when one is accepted: from fd on. */
	int fd;       /* -1: slot free */
	uint8_t role; /* enum proto_role */
	bool recv_busy, send_busy;
	bool closing; /* no more reading; close once every request read has its reply out */
	bool dead;    /* closed: the slot frees when no I/O is in flight */
	uint32_t inflight;
	uint32_t refused_row;  /* refusals in a row (net/guard/fair.h) */
	uint32_t bigs;         /* of inflight, requests with a big buffer (fair.h) */
	uint64_t out_moved_ms; /* the send was armed or last moved bytes then (monotonic) */
	uint32_t in_len, in_off;
	uint32_t in_peak; /* the most of in[] received into: past CONN_IN_KEEP_BYTES, returned */
	uint32_t out_len, out_sending;
	uint32_t wait_head, wait_tail; /* requests whose reply did not fit */
	uint64_t held_since_ms;        /* node clock: the shard had no room since (0: none) */
	/* deadlines (net/guard/deadline.h), monotonic ms */
	bool partial; /* a frame has begun and is not complete */
	uint64_t accepted_ms, active_ms, partial_ms;
	struct addr_key peer; /* counted in the shard's addr_limit */
};
static_assert(offsetof(struct conn, gen) < offsetof(struct conn, fd) &&
		      offsetof(struct conn, next_stalled) < offsetof(struct conn, fd) &&
		      offsetof(struct conn, out) < offsetof(struct conn, fd),
	      "conn_accepted zeroes from fd on: what a slot keeps comes first");

/* ---- a shard ------------------------------------------------------------------ */

struct shard_counters {
	uint64_t conns_open, conns_total, requests, bad_frames, refused, bytes_in, bytes_out;
	uint64_t closed_not_reading; /* output deadline passed (net/guard/fair.h) */
	uint64_t conns_refused;      /* over a connection limit: refused with a status */
	uint64_t conns_timed_out;    /* closed by a deadline */
};

/* ---- metrics a shard publishes (metrics.c) ------------------------------------
 * Written by the shard only, read by the metrics thread: every field is a
 * relaxed atomic the shard updates with a plain load and store (no locked
 * instruction on the hot path), so a reader sees each value whole. */

#define METRICS_LATENCY_BUCKETS 15  /* request time: bounds in metrics.c, the last: more */
#define METRICS_SNAPSHOT_BUCKETS 12 /* snapshot write time: bounds in metrics.c */

struct metrics_tier {
	_Atomic uint32_t sold, held, free;
};

struct metrics_event {
	_Atomic uint32_t id;
	_Atomic uint32_t defined; /* bit per defined tier */
	struct metrics_tier tier[TIERS_MAX];
};

struct shard_metrics {
	/* counted as replies go out */
	_Atomic uint64_t ops[METRICS_OPCODES][METRICS_STATUSES];
	_Atomic uint64_t latency[METRICS_LATENCY_BUCKETS], latency_ns_sum;
	_Atomic uint64_t snapshot[METRICS_SNAPSHOT_BUCKETS], snapshot_us_sum;
	/* copied every METRICS_PUBLISH_MS: this shard's STATS counters (as a
	 * STATS request would sum them), live holds, the WAL's histograms */
	_Atomic uint64_t stat[PROTO_STAT_SLOTS];
	_Atomic uint64_t holds_live;
	_Atomic uint64_t wal_batch_records[WAL_BATCH_RECORDS_BUCKETS], wal_batch_records_sum;
	_Atomic uint64_t wal_fsync_us[WAL_FSYNC_US_BUCKETS], wal_fsync_us_sum;
	_Atomic uint64_t turns; /* loop turns: the watchdog sees the shard move */
	/* every METRICS_EVENTS_PUBLISH_MS: events[0, event_count) */
	_Atomic uint32_t event_count;
	struct metrics_event *events; /* EVENTS_MAX */
	/* the shard's own */
	uint64_t published_ms, events_published_ms;
	bool stats_behind, events_behind; /* a turn ran since they were copied */
	uint64_t *req_start_ns;           /* SHARD_REQS_MAX, by request slot */
	uint64_t reply_ns, reply_turn;    /* the clock read by this turn's first reply */
	uint64_t bucket_start_ns;         /* the arrival turn whose bucket is known */
	unsigned bucket;
};

struct ring_pair {
	ck_ring_t ring;
	ck_ring_buffer_t *buf; /* MSG_RING_SLOTS */
} __attribute__((aligned(64)));

struct shard {
	struct server *srv;
	uint8_t id;
	pthread_t thread;
	struct io_uring ring;
	int listen_fd;
	int wake_fd;          /* eventfd: peers write it when we sleep */
	_Atomic int sleeping; /* read by peers */
	uint64_t wake_val;
	uint16_t accepts_armed; /* one-shot accepts on the listener, <= SHARD_ACCEPTS_ARMED */
	bool wake_armed, wal_armed, timer_armed;
	int wal_fd;
	struct __kernel_timespec tick;

	struct storage st;
	struct shard_store *store;
	struct node node; /* what decides: routing, executing, transfers */
	uint32_t tick_ms; /* the node's timed work wants a turn after this (0: none) */

	struct conn *conns;
	/* slots with no connection, a stack: the last freed is reused first */
	uint32_t *free_slots, free_count;
	uint32_t dirty_head, stalled_head;
	bool out_watch;           /* some send is outstanding: check output deadlines */
	uint64_t out_check_at_ms; /* next check of them (monotonic) */
	/* the connection policy (net/guard/): this shard's quotas, deadline
	 * sweep and accept pause; guard_ms: monotonic ms at the turn's start */
	struct addr_limit limit;
	struct addr_slot *limit_slots;
	struct deadline_sweep sweep;
	struct accept_pause accept_pause;
	uint64_t guard_ms;

	struct msg *over_head[SHARDS_MAX], *over_tail[SHARDS_MAX]; /* ring full */
	uint64_t sent_to; /* bit per peer written this turn (wake them) */

	struct shard_counters ctr;
	struct proto_section_buf *secbuf;            /* decode scratch */
	uint8_t tokens[HOLD_UNITS_MAX][TOKEN_BYTES]; /* a reply's tokens, signed as it is encoded */
	uint64_t now_ms, started_ms;
	uint64_t turn_ns; /* monotonic, at the turn's start: when its requests arrived */
	struct shard_metrics met;
	struct role_keys role_keys; /* this shard's copy of srv->role_keys */
	uint32_t role_keys_seq;     /* the sequence it was copied at; 0: none yet */
};

struct server {
	struct server_config cfg;
	uint32_t n; /* shards */
	struct shard *shards;
	struct ring_pair *rings; /* [from * n + to] */
	_Atomic int stop;        /* 1: stop taking requests and drain; 2: leave the loops */
	struct server_tickets tickets;
	uint64_t started_ms;
	struct metrics_http *http;      /* NULL: no metrics listener */
	struct role_keys_pub role_keys; /* written by the main thread only */
};

#endif
