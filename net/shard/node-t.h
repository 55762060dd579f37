/*
 * node-t.h — the pure cross-shard layer: types only.
 *
 * A node is the part of a shard that decides: it routes a client's request
 * to the shards that own what it touches (coordinator), executes commands
 * on the inventory this shard owns (executor), moves GA stock between
 * shards exactly once, keeps per-customer counts for the customers homed
 * here, and recovers all of it after a crash. It does no I/O, reads no
 * clock and starts no thread: messages come in through node_deliver, time
 * through node_set_now, and everything that leaves goes out through the
 * driver's struct node_env (send a message to a peer, hand back a finished
 * request). The io_uring server (net/server/) drives it in production; a
 * seeded single-threaded simulator (tests/sim/test_server_sim.c) drives it
 * in tests. Its durable state is the shard's store (net/store/shard_store.h,
 * over real files or the simulated disk).
 *
 * Layers (each calls only the ones above it in this list):
 *   node_pool.c   pools of messages and requests, the local inbox, the
 *                 durable FIFO, sending through the env
 *   shed.c        load shedding: a request taken in, or answered 73 at once
 *   counts.c      per-customer units on other shards (home shard)
 *   exec.c        executor: commands on the store, customer reservations
 *   xfer.c        GA stock transfers: ask, give, take, acknowledge
 *   xchg.c        exchanges to a seat on another node
 *   sell.c        executor of holds and exchanges
 *   route.c       coordinator: placement, fan-out, combining answers
 *   node.c        the entry points: request, deliver, poll, expire, recover
 */
#ifndef ONSALE_NODE_T_H
#define ONSALE_NODE_T_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/cmd-t.h"
#include "core/limits.h"
#include "net/proto/proto.h"

struct shard_store;

#define NIL32 UINT32_MAX
#define NIL8 UINT8_MAX
#define SEAT_SHARD_SHIFT 24
#define SEAT_LOCAL_MASK ((1u << SEAT_SHARD_SHIFT) - 1)

/* ---- messages between nodes ------------------------------------------------- */

enum msg_kind {
	MSG_EXEC = 1,        /* execute cmd on the target's store, result back */
	MSG_PROBE = 2,       /* best available without taking: score back */
	MSG_RESERVE = 3,     /* home shard: count qty units against the customer */
	MSG_UNRESERVE = 4,   /* home shard: give them back (one-way, returns empty) */
	MSG_STOCK_ASK = 5,   /* giver: STOCK_OUT up to cmd.stock.qty units */
	MSG_STATS = 6,       /* server counters of the target */
	MSG_SEATS = 7,       /* seat states of a section into big */
	MSG_STOCK_ACK = 8,   /* giver: the taker has transfers up to cmd.stock durable */
	MSG_CODE_TAKE = 9,   /* presale code owner: count one use of the hold's code */
	MSG_CODE_GIVE = 10,  /* presale code owner: code `score` has one use less */
	MSG_UNITS_TAKE = 11, /* event home: room for cmd.tier.capacity more units? */
	MSG_UNITS_GIVE = 12, /* event home: `score` of them were placed */
	MSG_STOCK_GIVE = 13, /* taker: STOCK_IN of a transfer pending too long */
	MSG_XCHG_IN = 14,    /* an exchange's seat node: XCHG_IN (the request's own message) */
	MSG_XCHG_END = 15,   /* back to the ticket's node: XCHG_END with the IN's answer */
};

struct msg {
	struct msg *next; /* local lists: durable FIFO, overflow, inbox */
	uint8_t kind;
	uint8_t owner;       /* whose pool */
	uint8_t at;          /* the shard it is sent to */
	uint8_t reserved;    /* MSG_EXEC of a hold: the home shard counted it */
	uint8_t over_limit;  /* MSG_EXEC of a hold: only a replay of its key may pass */
	uint8_t code_taken;  /* MSG_EXEC of a hold: its presale code's owner counted it */
	uint8_t code_over;   /* MSG_EXEC of a hold: the code is used up unless a replay */
	uint8_t code_check;  /* MSG_EXEC of a hold: this node owns its code and counts it */
	uint8_t peers_tried; /* stock: peers asked so far */
	uint8_t back;        /* on its way back to its owner */
	uint8_t forward;     /* in the durable FIFO: sent to `at` (not returned) once durable */
	uint8_t xchg_sure;   /* an exchange whose IN reached the seat's node: the ticket's
			      * XCHG_OUT is durable, so a store stopping under it leaves
			      * the outcome unknown, never unavailable (xchg_recover ends it) */
	uint32_t req;        /* owner's request slot, NIL32: none */
	uint32_t index;      /* slot in the owner's pool */
	uint32_t score;      /* MSG_PROBE: score back; MSG_SEATS: the section asked;
			   * MSG_EXEC of a hold: 1 when the tier here is below its
			   * low-stock threshold after it */
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
	STEP_ONE = 0,      /* one message, its result is the reply */
	STEP_BROADCAST,    /* admin: every shard, first refusal wins */
	STEP_SUM,          /* query: every shard, results summed */
	STEP_RESERVE,      /* hold: waiting for the home shard's reservation */
	STEP_PROBE,        /* best available: waiting for every shard's probe */
	STEP_HOLD,         /* hold: waiting for the executing shard */
	STEP_STATS,        /* server stats from every shard */
	STEP_CODE,         /* hold: waiting for the presale code's owner */
	STEP_UNITS,        /* TIER_ADD, SECTION_LOAD: waiting for the event's home */
	STEP_LOW_STOCK,    /* hold: the tier's free units summed over every shard */
	STEP_RETIRE_CHECK, /* EVENT_RETIRE: every shard's event first (closed, no holds) */
};

struct req {
	uint32_t next; /* free list, or the driver's waiting-reply list */
	uint32_t conn; /* the driver's: who asked */
	uint32_t conn_gen;
	uint64_t request_id;
	uint8_t opcode;
	uint8_t step;
	uint8_t pending;    /* messages out */
	uint8_t tries;      /* best available: candidates tried */
	bool reserved;      /* units are reserved at the home shard */
	bool keyed;         /* its idempotency key is marked in flight at home */
	bool over_limit;    /* home said: over the limit unless it is a replay */
	uint8_t replay_at;  /* best available: the shard that has the key, or NIL8 */
	uint8_t code_owner; /* the presale code's owner, NIL8: no code or one shard */
	uint8_t code_index; /* the code the owner counted, PRESALE_CODE_NONE: none */
	bool code_asked;    /* the owner answered */
	bool code_over;     /* the owner said: used up, unless it is a replay */
	bool units_taken;   /* the event's home counts units_asked for it */
	uint32_t units_asked, units_placed;
	bool low_here;     /* the hold left its tier below the threshold where it ran */
	uint64_t start_ms; /* taken in: its queue delay at the reply (shed.c) */
	bool answered;     /* handed to the driver's reply callback */
	/* what a query to every shard adds up: STEP_LOW_STOCK the tier's free
	 * units and its threshold, STEP_RETIRE_CHECK live holds and shards
	 * that do not have the event closed */
	uint32_t tally[2];
	bool have_res; /* res holds the first answer (SUM, BROADCAST) */
	uint8_t exec_shard;
	uint8_t *big; /* a big buffer held for the reply */
	struct cmd cmd;
	struct result res;
	struct proto_reply extra;   /* STATS, seat-state replies */
	uint32_t score[SHARDS_MAX]; /* best available probes, UINT32_MAX: none */
};

/* ---- per-customer counts on the home shard ------------------------------------ */

struct count_slot {
	uint64_t customer_id; /* 0: empty */
	uint64_t key;         /* 0: units; else an idempotency key in flight */
	uint32_t event_id;
	uint32_t units; /* on shards other than this one */
};

/* counts entries of presale codes: (event, CODE_CUSTOMER, code index + 1),
 * units = the code's uses on other nodes (kept by the code's owner). */
#define CODE_CUSTOMER UINT64_MAX
/* counts entries of an event's units at its home node (event_id % n):
 * (event, EVENT_UNITS, 0) placed on all nodes, (event, EVENT_UNITS, 1)
 * asked for by admin commands under way. */
#define EVENT_UNITS (UINT64_MAX - 1)

struct counts {
	struct count_slot *slots;
	uint32_t mask, used;
};

/* ---- the driver ----------------------------------------------------------------- */

struct node;

struct node_env {
	/* Enqueue m for node `to` (never the sender itself): delivered to
	 * node_deliver there, in order per (sender, receiver) pair. */
	void (*send)(void *user, struct msg *m, uint8_t to);
	/* A request finished: its answer is in r->res (r->extra for STATS and
	 * seat states). The driver replies and then calls node_req_free. */
	void (*reply)(void *user, struct req *r);
	/* The driver's own counters into v (STATS); may be NULL. */
	void (*stats)(void *user, uint64_t v[PROTO_STAT_SLOTS]);
	void *user;
};

struct node_counters {
	uint64_t holds_expired, stock_transfers, stock_redelivered;
	uint64_t exchanges_moved;    /* tickets exchanged to a seat on another node */
	uint64_t exchanges_resumed;  /* of them, ended at a start after a stop cut them */
	uint64_t exchanges_repeated; /* repeats of them answered by the new ticket's node */
	uint64_t requests_shed;      /* answered 73 by load shedding (shed.c) */
};

/* ---- load shedding (shed.c) ------------------------------------------------------ */

/* 0 turns a signal off; shed_config_default gives core/limits.h's values. */
struct shed_config {
	uint32_t slots;     /* requests in flight from which every new hold is shed */
	uint32_t target_ms; /* queue delay target */
	uint32_t interval_ms;
	uint32_t queue_min; /* in flight, at least, for the delay signal to count */
};

struct shed {
	struct shed_config cfg;
	uint64_t interval_start_ms;
	uint32_t min_sojourn_ms; /* of the requests answered this interval, UINT32_MAX: none */
	uint32_t level;          /* sixteenths of new holds shed, 0..SHED_LEVELS */
	uint32_t seq;            /* sheddable requests seen: spreads the share */
};

/* ---- a node --------------------------------------------------------------------- */

struct node {
	uint8_t id;
	uint32_t n; /* nodes in the server */
	struct node_env env;
	struct shard_store *store;
	uint64_t now_ms;
	uint64_t holds_live; /* when > 0 the driver runs the expiry timer */

	struct req *reqs;
	uint32_t req_free, reqs_used;
	/* of reqs_used: answered, the reply waiting in the driver for a client
	 * that does not read (not the node's load: shedding leaves them out) */
	uint32_t reqs_answered;

	struct msg *msgs;
	struct msg *msg_free;
	_Atomic uint32_t msgs_used;          /* the server's stop reads it from another thread */
	struct msg *inbox_head, *inbox_tail; /* messages to myself */
	struct msg *durable_head, *durable_tail; /* waiting for their LSN */

	uint8_t *bigbufs;
	uint32_t big_free_mask;

	struct counts counts;
	struct node_counters ctr;
	struct shed shed;

	/* transfers this node gave: the oldest pending seq per taker at the
	 * last resend tick (xfer.c) */
	uint64_t resend_at_ms;
	uint64_t oldest_seen[SHARDS_MAX];
	struct xfer pending[XFER_PENDING_MAX]; /* scratch of a resend tick */
};

#endif
