/*
 * server-t.h — the shard-per-core runtime of onsaled (types only).
 *
 * One struct server holds N struct shard, one per pinned thread. A shard
 * owns everything it touches: its io_uring, its listener, its connections,
 * its request slots, its message pool, its durable state (shard_store) and
 * the per-customer counts of the customers whose home it is. Shards share
 * nothing mutable but the SPSC rings between them (one per ordered pair)
 * and each other's `sleeping` flag and eventfd for wake-ups.
 *
 * Two roles inside a shard (docs/ARCHITECTURE.md §3):
 *   coordinator  the shard a client is connected to: decodes, checks the
 *                role, routes the request to the shards that own what it
 *                touches (struct req), combines their answers, replies;
 *   executor     the shard that owns the inventory: executes a command on
 *                its store and hands the result back once it is durable
 *                (struct msg), moving GA stock from peers when short.
 * A message goes out from its owner's pool, is executed by another shard
 * (or by its owner, through the local inbox) and comes back to its owner,
 * which frees it: buffers always return to the shard that owns them.
 */
#ifndef ONSALE_SERVER_T_H
#define ONSALE_SERVER_T_H

#include <ck_ring.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cmd-t.h"
#include "core/limits.h"
#include "core/storage.h"
#include "net/proto.h"

struct shard_store;
struct server;
struct shard;

#define NIL32 UINT32_MAX
#define SEAT_SHARD_SHIFT 24
#define SEAT_LOCAL_MASK ((1u << SEAT_SHARD_SHIFT) - 1)

/* ---- configuration -------------------------------------------------------- */

struct server_config {
	char listen_host[64];
	uint16_t listen_port;
	uint32_t shards;
	char data_dir[256];
	char config_path[256];
	bool no_fsync;     /* benchmarking only: fdatasync is skipped */
	bool demo;         /* load the demo event if the data has no events */
	bool pin;          /* pin shard threads to cores */
	/* snapshot policy (net/shard_store.h): 0 the default,
	 * SHARD_SNAPSHOT_OFF (UINT64_MAX) never */
	uint64_t snapshot_records, snapshot_bytes, snapshot_interval_ms;
	char wal_archive[256]; /* "": WAL segments are removed, not archived */
	uint64_t wal_segment_bytes; /* 0: WAL_SEGMENT_BYTES_DEFAULT */
	bool has_key[PROTO_ROLES];
	uint8_t keys[PROTO_ROLES][PROTO_KEY_BYTES];
};

/* ---- cross-shard messages --------------------------------------------------- */

enum msg_kind {
	MSG_EXEC = 1,      /* execute cmd on the target's store, result back */
	MSG_PROBE = 2,     /* best available without taking: score back */
	MSG_RESERVE = 3,   /* home shard: count qty units against the customer */
	MSG_UNRESERVE = 4, /* home shard: give them back (one-way, returns empty) */
	MSG_STOCK_ASK = 5, /* giver: STOCK_OUT up to cmd.stock.qty units */
	MSG_STATS = 6,     /* server counters of the target */
	MSG_SEATS = 7,     /* seat states of a section into big */
};

struct msg {
	struct msg *next; /* local lists: durable FIFO, overflow, inbox */
	uint8_t kind;
	uint8_t owner;    /* whose pool */
	uint8_t at;       /* the shard it is sent to */
	uint8_t reserved; /* MSG_EXEC of a hold: the home shard counted it */
	uint8_t peers_tried; /* stock: peers asked so far */
	uint8_t back;     /* on its way back to its owner */
	uint32_t req;     /* owner's request slot, NIL32: none */
	uint32_t index;   /* slot in the owner's pool */
	uint32_t score;   /* MSG_PROBE: score back; MSG_SEATS: the section asked */
	uint64_t wait_lsn;
	struct msg *parent; /* MSG_STOCK_ASK: the hold waiting for the stock */
	uint8_t *big;       /* SECTION_LOAD rows/seats, MSG_SEATS states */
	struct cmd cmd;
	union {
		struct result res;
		uint64_t counters[PROTO_STAT_SLOTS]; /* MSG_STATS */
	};
};

/* ---- client requests (coordinator side) ------------------------------------ */

enum req_step {
	STEP_ONE = 0,     /* one message, its result is the reply */
	STEP_BROADCAST,   /* admin: every shard, first refusal wins */
	STEP_SUM,         /* query: every shard, results summed */
	STEP_RESERVE,     /* hold: waiting for the home shard's reservation */
	STEP_PROBE,       /* best available: waiting for every shard's probe */
	STEP_HOLD,        /* hold: waiting for the executing shard */
	STEP_STATS,       /* server stats from every shard */
};

struct req {
	uint32_t next; /* free list, or the connection's waiting-reply list */
	uint32_t conn;
	uint32_t conn_gen;
	uint64_t request_id;
	uint8_t opcode;
	uint8_t step;
	uint8_t pending;   /* messages out */
	uint8_t tries;     /* best available: candidates tried */
	bool reserved;     /* a reservation is held at the home shard */
	bool have_res;     /* res holds the first answer (SUM, BROADCAST) */
	uint8_t exec_shard;
	uint8_t *big;      /* a big buffer held for the reply */
	struct cmd cmd;
	struct result res;
	struct proto_reply extra; /* HELLO, STATS, seat-state replies */
	uint32_t score[SHARDS_MAX]; /* best available probes, UINT32_MAX: none */
};

/* ---- connections ------------------------------------------------------------ */

struct conn {
	int fd;          /* -1: slot free */
	uint32_t gen;
	uint8_t role;    /* enum proto_role */
	bool recv_busy, send_busy;
	bool closing;    /* no more reading; close once the output is sent */
	bool dead;       /* closed: the slot frees when no I/O is in flight */
	bool stalled;    /* stopped parsing for lack of a slot */
	bool dirty;      /* output to send at the end of the turn */
	uint32_t inflight;
	uint32_t in_len, in_off;
	uint32_t out_len, out_sending;
	uint32_t wait_head, wait_tail; /* requests whose reply did not fit */
	uint32_t next_dirty, next_stalled;
	uint8_t *in;  /* CONN_IN_BYTES */
	uint8_t *out; /* CONN_OUT_BYTES */
};

/* ---- per-customer counts on the home shard ------------------------------------ */

struct count_slot {
	uint64_t customer_id; /* 0: empty */
	uint32_t event_id;
	uint32_t units;       /* on shards other than this one */
};

struct counts {
	struct count_slot *slots;
	uint32_t mask, used;
};

/* ---- a shard ------------------------------------------------------------------ */

struct shard_counters {
	uint64_t conns_open, conns_total, requests, bad_frames, refused, bytes_in, bytes_out;
	uint64_t holds_expired, stock_transfers;
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
	int wake_fd;                /* eventfd: peers write it when we sleep */
	_Atomic int sleeping;       /* read by peers */
	_Atomic uint32_t msgs_used; /* read by peers at shutdown */
	uint64_t wake_val;
	bool accept_armed, wake_armed, wal_armed, timer_armed;
	int wal_fd;
	struct __kernel_timespec tick;

	struct storage st;
	struct shard_store *store;
	uint64_t snapshot_lsn; /* of the recovered snapshot: recon scans after it */
	uint64_t holds_live; /* when > 0 the expiry timer runs */

	struct conn *conns;
	uint32_t conn_free; /* free slot search hint */
	uint32_t dirty_head, stalled_head;

	struct req *reqs;
	uint32_t req_free, reqs_used;

	struct msg *msgs;
	struct msg *msg_free;
	struct msg *inbox_head, *inbox_tail;   /* messages to myself */
	struct msg *durable_head, *durable_tail; /* waiting for their LSN */
	struct msg *over_head[SHARDS_MAX], *over_tail[SHARDS_MAX]; /* ring full */
	uint64_t sent_to; /* bit per peer written this turn (wake them) */

	uint8_t *bigbufs;
	uint32_t big_free_mask;

	struct counts counts;
	struct shard_counters ctr;
	struct proto_section_buf *secbuf; /* decode scratch */
	uint64_t now_ms, started_ms;
};

struct server {
	struct server_config cfg;
	uint32_t n; /* shards */
	struct shard *shards;
	struct ring_pair *rings; /* [from * n + to] */
	_Atomic int stop; /* 1: stop taking requests and drain; 2: leave the loops */
	uint64_t started_ms;
};

#endif
