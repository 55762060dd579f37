/*
 * fair.h — each connection's fair share of its shard: request slots,
 * output buffer bytes, big buffers, and how long its output may stand
 * still. Pure decisions (fair.c); net/server/conn.c carries them out.
 *
 * The shares (limits in core/limits.h, what a client sees in
 * docs/OPERATIONS.md):
 *
 * - Request slots: at most CONN_INFLIGHT_MAX in flight per connection, and
 *   the last SHARD_REQS_RESERVE of a shard's SHARD_REQS_MAX slots only for
 *   connections with fewer than CONN_INFLIGHT_SMALL in flight. A few deep
 *   pipelines can take the shared part; a new client still gets in.
 * - Big buffers: at most CONN_BIGBUFS_MAX per connection, and each one it
 *   holds reserves a largest frame of its output buffer, so the reply that
 *   frees the buffer always fits: a client that does not read can hold a
 *   big buffer only while the shard works on its request, never after.
 *   Other replies use the output buffer less those reservations.
 * - Reading: a connection is read while it has fewer than
 *   CONN_INFLIGHT_MAX requests in flight and its queued output plus its
 *   reservations fill at most half its output buffer; so one reply
 *   decided at once (a largest frame at most) always fits.
 * - Refusals: requests before HELLO or that the role may not send take no
 *   slot and are answered at once; more than CONN_REFUSED_ROW_MAX of them
 *   in a row close the connection (after the reply of the last).
 * - Output: a connection whose send made no progress for the output
 *   deadline is closed (the client reads nothing), sooner
 *   (CONN_OUTPUT_FULL_MS) when replies wait in slots for room in its full
 *   output buffer. Its slots free as the node hands their replies back.
 */
#ifndef ONSALE_GUARD_FAIR_H
#define ONSALE_GUARD_FAIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What the shard knows of one connection's use. */
struct fair_conn {
	uint32_t inflight;  /* requests in flight (slots held) */
	uint32_t bigs;      /* of them, with a big buffer (a big reply to come) */
	uint32_t out_bytes; /* queued in its output buffer (CONN_OUT_BYTES) */
};

/* Its output, for the deadlines. */
struct fair_output {
	bool sending;         /* a send is outstanding on its socket */
	bool replies_waiting; /* replies wait in slots for room in its output */
	uint64_t progress_ms; /* the send was armed or last moved bytes then */
};

enum fair_verdict {
	FAIR_OK = 0,
	FAIR_STALLED, /* no send progress for the output deadline: close */
	FAIR_FULL,    /* output full, replies waiting, no progress: close */
};

/* The connection may decode its next frame (it is read). */
bool fair_read_ok(const struct fair_conn *c);
/* It may take a request slot now, the shard having shard_reqs_used. */
bool fair_slot_ok(const struct fair_conn *c, uint32_t shard_reqs_used);
/* It may start a request that takes a big buffer. */
bool fair_big_ok(const struct fair_conn *c);
/* Output bytes a reply may use now: a big one (its buffer's reservation
 * is its own) or another. */
size_t fair_put_room(const struct fair_conn *c, bool big);
/* After a refusal (unauthenticated, forbidden) that made refused_row in a
 * row: whether to close the connection once that reply is sent. */
bool fair_refusals_close(uint32_t refused_row);
/* What to do about a connection's output at now_ms. */
enum fair_verdict fair_output_check(const struct fair_output *o, uint64_t now_ms,
				    uint32_t deadline_ms);

#endif
