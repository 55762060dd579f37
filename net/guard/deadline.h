/*
 * deadline.h — when a connection has waited too long (net/guard/).
 *
 * Three deadlines: HELLO within hello_ms of the accept, a frame complete
 * within frame_ms of its first byte (slowloris), and idle_ms with nothing
 * in flight, no partial frame and nothing to send. The shard keeps the
 * times in its connection and asks deadline_due on a coarse sweep
 * (deadline_sweep_*: every GUARD_SWEEP_MS while connections are open), so
 * no loop turn pays for every connection and a deadline is late by at most
 * one sweep. Times are monotonic ms passed in: tests use a fake clock.
 */
#ifndef ONSALE_GUARD_DEADLINE_H
#define ONSALE_GUARD_DEADLINE_H

#include <stdbool.h>
#include <stdint.h>

struct deadline_config {
	uint32_t hello_ms, frame_ms, idle_ms; /* 0: that deadline is off */
};

/* What the shard knows of one connection. */
struct deadline_conn {
	uint64_t accepted_ms;
	uint64_t active_ms;  /* the last byte received or sent */
	uint64_t partial_ms; /* the first byte of the unfinished frame, if partial */
	bool partial;        /* a frame has begun and is not complete */
	bool authenticated;  /* a HELLO succeeded */
	bool busy;           /* requests in flight or output not yet sent */
	bool stalled;        /* the server stopped reading it (back-pressure) */
};

enum deadline_kind { DEADLINE_NONE = 0, DEADLINE_HELLO, DEADLINE_FRAME, DEADLINE_IDLE };

/* The deadline c has passed at now_ms, the first of HELLO, frame, idle;
 * DEADLINE_NONE while none has. A stalled connection misses no frame
 * deadline: the server, not the client, holds its frame up. */
enum deadline_kind deadline_due(const struct deadline_config *cfg, const struct deadline_conn *c,
				uint64_t now_ms);

/* "hello", "frame", "idle" (logs and tests). */
const char *deadline_name(enum deadline_kind k);

struct deadline_sweep {
	uint64_t next_ms; /* 0: sweep at the first chance */
};

/* Whether a sweep is due at now_ms; when it is, the next is due one
 * GUARD_SWEEP_MS after now (never in the past: a late sweep does not make
 * the following ones run back to back). */
bool deadline_sweep_due(struct deadline_sweep *sw, uint64_t now_ms);

/* Ms until the next sweep is due, at least 1: how long the loop may
 * sleep while connections are open. */
uint32_t deadline_sweep_wait_ms(const struct deadline_sweep *sw, uint64_t now_ms);

/* Whether any deadline is on. */
bool deadline_any(const struct deadline_config *cfg);

#endif
