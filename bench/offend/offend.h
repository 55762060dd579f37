/*
 * offend.h — onsale-offend, the offender benchmark: a well-behaved platform
 * client holds and confirms at a fixed open-loop rate against a running
 * onsaled, first alone and then beside one offender kind at a time, and
 * each run reports the client's latency and errors, what the offender saw
 * (statuses, disconnects and how long they took) and the server's RSS.
 *
 *   onsale-offend.c  options, the phases, the table and JSON lines
 *   off_good.c       the well-behaved client (open loop, its own thread)
 *   off_raw.c        raw sockets from other loopback addresses, frame reading
 *   off_wire.c       offenders that send bad bytes or requests: slowloris,
 *                    garbage, malformed, before HELLO, wrong role, wrong key
 *   off_conns.c      offenders that hold connections: flood, idle, no-read
 *   off_load.c       offenders that load the server: pipelining, seat maps,
 *                    the inventory-holding bot
 *   off_venue.c      the event, the final check that nothing was lost, RSS
 *
 * Offenders write whatever they see into a struct off_seen, whatever the
 * server does (today's main has no deadlines or connection limits; the
 * defences land in other branches): the benchmark reports, it does not
 * judge. Every loop is bounded by the phase's end time and a count.
 */
#ifndef ONSALE_BENCH_OFFEND_H
#define ONSALE_BENCH_OFFEND_H

#include <stdatomic.h>
#include <stdint.h>

#include "bench/common/hist.h"
#include "net/client/onsale.h"

/* Statuses counted one by one (all of enum status fits under 256). */
#define OFF_STATUS_SLOTS 256u
/* Confirms remembered for the final check; past it they are counted only. */
#define OFF_CONFIRMS_MAX 65536u
/* Connections one offender holds at most (the idle kind's ceiling). */
#define OFF_CONNS_MAX 20000u
/* Source addresses offenders spread over: 127.0.0.2 onwards. */
#define OFF_SOURCES_MAX 200u
/* The event's layout: GA tiers for the client and the bot, and a reserved
 * tier of sections for seat-map queries. */
#define OFF_TIER_GOOD 0
#define OFF_TIER_BOT 1
#define OFF_TIER_SEATS 2
#define OFF_SECTIONS 4u
#define OFF_SECTION_ROWS 16u
#define OFF_ROW_SEATS 125u
#define OFF_CUSTOMER_LIMIT 4u
#define OFF_BOT_CUSTOMERS 256u
/* The client waits this long after a phase for the replies still to come;
 * those that do not are unanswered: the phase fails and the run stops
 * (the server stalled or is gone; each later phase would only wait). */
#define OFF_GOOD_DRAIN_MS 3000u
/* A phase also fails when the client had replies to fewer than this share
 * of the holds due in it (--rate x --duration): a stalled or lost server
 * shows as a failed phase, never as a fast one with few requests. */
#define OFF_GOOD_REPLIED_PCT_MIN 90u

/* What the whole run shares (read-only while offenders run). */
struct off_env {
	const char *host;
	uint16_t port;
	uint8_t keys[5][ONSALE_KEY_BYTES]; /* by enum onsale_role */
	uint32_t event_id;
	uint32_t seat_first[OFF_SECTIONS]; /* section k's first global seat */
	double seconds;                    /* one phase */
	double rate;                       /* the client's holds per second */
	uint64_t seed;
	unsigned sources; /* offender source addresses 127.0.0.2 .. */
	unsigned idle_conns, flood_conns;
	int server_pid; /* 0: RSS not reported */
};

/* What one offender kind saw. */
struct off_seen {
	uint64_t connects;      /* connections opened */
	uint64_t connect_fails; /* connect() refused, reset or timed out */
	uint64_t frames_sent;
	uint64_t bytes_sent;
	uint64_t replies;
	uint64_t status[OFF_STATUS_SLOTS];
	uint64_t bad_reason[8];              /* of status bad_frame */
	uint64_t closed;                     /* connections the server closed (EOF or reset) */
	uint64_t close_ms_min, close_ms_max; /* from connect to that close */
	uint64_t open_at_end;                /* still open when the phase ended */
	char note[256]; /* kind-specific findings, as JSON fields ("\"k\":v,...") */
};

/* The well-behaved client's results of one phase. */
struct off_good_run {
	struct hist hist; /* hold and confirm latency, from the intended start */
	_Atomic uint64_t holds, confirms, errors;
	uint64_t status[OFF_STATUS_SLOTS]; /* refusals and failures by status */
	uint64_t rss_max_kib;              /* sampled while it ran */
	uint64_t hold_replies;             /* holds answered, ok or not */
	unsigned unanswered;               /* in flight OFF_GOOD_DRAIN_MS after the end */
	int lost;                          /* the connection failed with this -errno */
};

/* The client's connection and the confirms it was acknowledged (all phases). */
struct off_good {
	struct onsale *c;
	uint64_t customer_next;
	uint64_t confirmed[OFF_CONFIRMS_MAX];
	uint64_t n_confirmed, n_confirmed_all;
};

typedef void off_kind_fn(const struct off_env *env, struct off_seen *seen, uint64_t end_ns);

/* off_good.c */
int off_good_open(const struct off_env *env, struct off_good *g);
/* Runs the open-loop client until end_ns (its own thread; the caller
 * joins it): holds of one unit of OFF_TIER_GOOD at env->rate, each
 * confirmed when it comes back. */
int off_good_start(const struct off_env *env, struct off_good *g, struct off_good_run *run,
		   uint64_t end_ns);
void off_good_join(void);

/* off_raw.c */
/* A TCP connection from source address k (127.0.0.2 + k % env->sources),
 * non-blocking, TCP_NODELAY; -1 (counted in seen) when it fails in time. */
int off_raw_connect(const struct off_env *env, unsigned k, struct off_seen *seen);
/* The frame of a HELLO as role with key into buf (cap >= 64): its length. */
size_t off_raw_hello(uint8_t *buf, size_t cap, uint8_t role, const uint8_t *key, uint64_t rid);
/* Reading replies: a frame's header and reply head across recv calls. */
struct off_rx {
	uint8_t head[32];
	uint32_t have; /* bytes of head[] held */
	uint64_t skip; /* body bytes of the current frame still to pass over */
};
/* Reads what fd has without blocking, counting replies and statuses in
 * seen: 0 while open, 1 once the server closed (EOF or reset). */
int off_raw_drain(int fd, struct off_rx *rx, struct off_seen *seen);
/* Waits up to wait_ms for the server to close fd, counting replies:
 * 1 closed, 0 not. */
int off_raw_await_close(int fd, struct off_rx *rx, struct off_seen *seen, int wait_ms);
/* Records a close seen at now of a connection opened at opened_ns. */
void off_raw_closed(struct off_seen *seen, uint64_t opened_ns, uint64_t now_ns);
/* Sends without blocking: bytes taken, 0 when the socket is full, -1 when
 * the connection is gone. */
long off_raw_send(int fd, const void *buf, size_t len);
/* A pipelined offender: conns connections (at most OFF_PIPE_CONNS_MAX),
 * each says HELLO as role with its key (role 0: no HELLO), then sends batch
 * (batch_frames frames of one size) again and again, at most window
 * frames ahead of its replies; read 0: never reads, sends while the
 * socket takes bytes. Until end_ns. */
#define OFF_PIPE_CONNS_MAX 64u
struct off_pipe {
	uint8_t role;
	const uint8_t *batch;
	size_t batch_len;
	unsigned batch_frames;
	unsigned conns;
	uint64_t window;
	int read;
	/* called once when half the time is gone, connections still open */
	void (*at_half)(const struct off_env *env, struct off_seen *seen);
};
void off_raw_pipeline(const struct off_env *env, const struct off_pipe *p, struct off_seen *seen,
		      uint64_t end_ns);
/* Raises RLIMIT_NOFILE to want (or the hard limit): the soft limit. */
unsigned long off_raw_nofile(unsigned long want);

/* off_wire.c, off_conns.c, off_load.c: the kinds */
off_kind_fn off_wire_slowloris, off_wire_garbage, off_wire_malformed, off_wire_prehello,
	off_wire_wrong_role, off_wire_wrong_key;
off_kind_fn off_conns_flood, off_conns_idle, off_conns_noread;
off_kind_fn off_load_pipeline, off_load_seatmap, off_load_seatmap_noread, off_load_bot;

/* off_venue.c */
/* Creates event env->event_id (on sale now; the good, bot and seated tiers). */
int off_venue_create(struct off_env *env);
/* Every confirm g was acknowledged is a confirmed order: NULL, or what broke. */
const char *off_venue_verify(const struct off_env *env, const struct off_good *g);
/* The server's VmRSS in KiB, 0 when not known (no --server-pid, or it
 * is gone). */
uint64_t off_venue_rss_kib(const struct off_env *env);
/* kib as a JSON value, "null" when 0 (not known); rotates over 8 buffers. */
const char *off_venue_kib_json(uint64_t kib);
/* The server's open connection count (STATS), or -1. */
long off_venue_open_conns(const struct off_env *env);

#endif
