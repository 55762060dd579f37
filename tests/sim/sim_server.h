/*
 * sim_server.h — a seeded, single-threaded simulation of a whole onsaled:
 * N nodes (net/shard/node.h), each over its own shard store on its own
 * simulated disk, the rings between them as one FIFO per ordered pair, the
 * clients as a table of requests and what came back, and a scheduler that
 * lets the seed choose every interleaving (tests/sim/test_server_sim.c).
 *
 *   sim_server.c   nodes, stores, pair queues, clock, crashes and restarts,
 *                  snapshot damage, the scheduler
 *   sim_client.c   the clients: requests (holds of every kind, confirms,
 *                  releases, refunds, queries, retries with the same key)
 *                  and the model of what was acknowledged
 *   sim_check.c    the checks: conservation of GA units over nodes and
 *                  transfers in flight, core invariants, customer limits
 *                  over nodes, acknowledged work present after a crash,
 *                  one answer per idempotency key, and once settled every
 *                  request answered and no count leaked
 *
 * Everything a run does comes from its seed, so `SIM_SEED=n` replays it.
 */
#ifndef ONSALE_SIM_SERVER_H
#define ONSALE_SIM_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/storage.h"
#include "net/shard/node.h"
#include "tests/support/sim_disk.h"

#define SIM_NODES_MAX 4
#define SIM_PAIR_MSGS_MAX 4096u /* >= every node's message pool */
#define SIM_REQS_MAX 2048u      /* client requests per run */
#define SIM_CUSTOMERS 6u        /* few, so per-customer limits bite */
#define SIM_CUSTOMER_BASE 7001u /* their ids: 7001.. */
#define SIM_EVENTS 2u
#define SIM_SECTIONS_MAX 6u
#define SIM_FAILURE_BYTES 512

enum sim_req_state {
	SIM_REQ_WAITING = 1, /* sent, no answer yet */
	SIM_REQ_ANSWERED,    /* res holds the answer */
	SIM_REQ_LOST,        /* the process crashed before the answer */
	SIM_REQ_BUSY,        /* node_request said -EAGAIN: never sent */
};

/* One client request and what came back. */
struct sim_req {
	struct cmd cmd; /* as sent (a seat hold's seats are global ids) */
	uint32_t first; /* a retry: index of the request it repeats; else NIL32 */
	uint8_t state;  /* enum sim_req_state */
	uint8_t at;     /* the node it was sent to */
	uint64_t step;  /* when it was sent */
	uint64_t answered_step;
	struct result res; /* the answer: head and hold / ticket view */
};

struct sim_event {
	uint32_t event_id;
	uint16_t limit;           /* per-customer units, 0: none */
	uint32_t ga_capacity;     /* created: summed over nodes (+ in flight) forever */
	uint64_t price_minor[2];  /* tier 0 (GA), tier 1 (seats) */
	uint8_t codes;            /* presale codes "code0".. (0: none) */
	uint32_t code_use_limit;  /* each code's uses over all nodes */
	uint64_t public_start_ms; /* the presale (codes needed) ends */
	uint8_t sections;         /* loaded at setup; more may be loaded while selling */
	uint32_t seat_first[SIM_SECTIONS_MAX];    /* global id of each section's first seat */
	uint16_t section_seats[SIM_SECTIONS_MAX]; /* 0: not acknowledged (yet) */
};

/* The cross-shard promises the simulation checks. Each fails the run,
 * unless SIM_LENIENT=1, which only counts and reports them (the first seed
 * and message) unless that one's own switch is 1 (sim_known_switch). */
enum sim_known {
	SIM_KNOWN_BEST_IDEM,  /* a best-available retry answered with another hold */
	SIM_KNOWN_LIMIT_IDEM, /* a retry of an acknowledged hold refused customer_limit */
	SIM_KNOWN_LIMIT_OVER, /* a customer over the event's limit over all nodes */
	SIM_KNOWN_CODE_OVER,  /* a presale code used more than its limit over all nodes */
	SIM_KNOWN_CODE_IDEM,  /* a retry of an acknowledged hold refused code exhausted */
	SIM_KNOWN_UNITS_OVER, /* units placed over all nodes past the event's units_max */
	SIM_KNOWN_COUNT
};

/* Totals over runs, printed at the end. */
struct sim_stats {
	uint64_t runs, steps, crashes, requests, answered, acked, busy, delivered;
	uint64_t transfers, redelivered, exchanges_moved, exchanges_resumed, exchanges_repeated,
		checks, snapshots, snapshot_damage;
	uint64_t fsync_failures, stopped, expiries;
	uint64_t recoveries_failed;           /* a write of recovery failed: started again */
	uint64_t dry_answers;                 /* stock answers taken with the pool empty */
	uint64_t known_runs[SIM_KNOWN_COUNT]; /* runs in which a known deviation showed */
	uint64_t known_seed[SIM_KNOWN_COUNT]; /* the first of them */
	char known_first[SIM_KNOWN_COUNT][SIM_FAILURE_BYTES]; /* and what it was */
};

struct sim;

struct sim_node_ctx {
	struct sim *sim;
	uint8_t id;
};

struct sim_pair {
	struct msg *q[SIM_PAIR_MSGS_MAX];
	uint32_t head, count;
	uint64_t stall_until_step; /* a long delay the seed chose */
};

struct sim {
	uint64_t seed, rng, step;
	uint32_t n;
	uint64_t now_ms;
	bool strict[SIM_KNOWN_COUNT];     /* a known deviation fails the run */
	bool known_seen[SIM_KNOWN_COUNT]; /* in this run */
	bool trace;                       /* SIM_TRACE=1: every action on stdout */
	bool resend; /* node_tick every turn, as the server does (SIM_XFER_RESEND=0: not) */
	struct sim_disk *disk[SIM_NODES_MAX];
	struct storage st[SIM_NODES_MAX];
	struct shard_store *store[SIM_NODES_MAX];
	struct node node[SIM_NODES_MAX];
	struct sim_node_ctx ctx[SIM_NODES_MAX];
	bool up; /* nodes initialised and recovered */
	struct sim_pair pair[SIM_NODES_MAX][SIM_NODES_MAX];
	struct sim_req reqs[SIM_REQS_MAX];
	uint32_t reqs_used;
	uint32_t epoch; /* conn_gen: answers of an earlier process are impossible */
	struct sim_event ev[SIM_EVENTS];
	uint32_t events;
	uint64_t next_idem_key;
	uint64_t crash_due_step;            /* a stopped store: crash by then (0: none) */
	struct msg *dry[SIM_PAIR_MSGS_MAX]; /* a node's free messages, held (sim_server.c) */
	bool dry_since_start;               /* an acknowledgement went without a message */
	uint64_t snapshot_records;
	uint64_t checked_lsn[SIM_NODES_MAX]; /* every node's last LSN at the last check */
	uint32_t wal_trimmed_mask;           /* nodes whose WAL no longer starts at LSN 1 */
	uint32_t damaged_mask;               /* nodes whose snapshots the run damaged */
	char failure[SIM_FAILURE_BYTES];     /* empty while nothing broke */
	struct sim_stats *stats;
};

uint64_t sim_rnd(struct sim *s);
static inline uint64_t sim_below(struct sim *s, uint64_t n)
{
	return n ? sim_rnd(s) % n : 0;
}
/* Records the first failure (printf format); later ones are dropped. */
void sim_fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A known deviation (enum sim_known): a failure when strict, else counted. */
void sim_known(struct sim *s, enum sim_known k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The environment variable that makes known deviation k fail runs. */
const char *sim_known_switch(enum sim_known k);
/* One line of the run's trace (SIM_TRACE=1). */
void sim_trace(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline bool sim_failed(const struct sim *s)
{
	return s->failure[0] != 0;
}

/* sim_server.c */
/* Disks, stores, nodes, recovery and the events; false when setup failed
 * (s->failure says why). */
bool sim_start(struct sim *s, uint64_t seed, struct sim_stats *stats);
/* One scheduler step (the seed picks the action), then the checks. */
void sim_step(struct sim *s);
/* The whole process dies and restarts: every store recovers from its disk. */
void sim_crash(struct sim *s);
/* Delivers, polls and syncs until nothing moves (bounded). */
void sim_settle(struct sim *s, unsigned rounds_max);
/* The end of a run: settles, then moves the clock on by resend ticks,
 * settling after each, so a giver sends again what was not acknowledged. */
void sim_settle_last(struct sim *s, unsigned rounds_max);
void sim_end(struct sim *s);

/* sim_client.c */
/* Sends a request to node `at`; returns its index, or NIL32 when the table
 * is full or the node was busy. */
uint32_t sim_send(struct sim *s, uint8_t at, const struct cmd *cmd);
/* A random client request (or a retry of an earlier one). */
void sim_client_step(struct sim *s);
/* The env.reply of node ctx. */
void sim_on_reply(void *ctx, struct req *r);
/* Every waiting request is lost (the process died). */
void sim_client_crash(struct sim *s);
/* The admin requests that create the events (answered before sales). */
bool sim_client_setup(struct sim *s);

/* sim_check.c */
/* The checks after every step: invariants, conservation, limits. */
void sim_check_step(struct sim *s);
/* After a recovery: the above, and everything acknowledged is there. */
void sim_check_recovered(struct sim *s);
/* After sim_settle, with every store sound: every request answered, and
 * the nodes' counts exactly what they derive from (nothing leaked). */
void sim_check_settled(struct sim *s);
/* Settled, every store sound: no stock transfer left unacknowledged (when:
 * the failure's words for the moment). */
void sim_check_transfers_settled(struct sim *s, const char *when);
/* A request was answered: one hold per idempotency key, retried confirms. */
void sim_check_answer(struct sim *s, uint32_t index);

#endif
