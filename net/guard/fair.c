/*
 * fair.c — each connection's fair share of its shard (fair.h): pure
 * arithmetic on counts the server passes in, and the time as an argument.
 */
#include <assert.h>

#include "core/limits.h"
#include "net/guard/fair.h"

/* Output bytes a connection's big buffers keep free for their replies. */
static size_t reserved_bytes(const struct fair_conn *c)
{
	return (size_t)c->bigs * PROTO_FRAME_BYTES_MAX;
}

bool fair_read_ok(const struct fair_conn *c)
{
	assert(c->bigs <= CONN_BIGBUFS_MAX && c->bigs <= c->inflight);
	return c->inflight < CONN_INFLIGHT_MAX &&
	       c->out_bytes + reserved_bytes(c) <= CONN_OUT_BYTES / 2;
}

bool fair_slot_ok(const struct fair_conn *c, uint32_t shard_reqs_used)
{
	assert(shard_reqs_used <= SHARD_REQS_MAX);
	if (c->inflight >= CONN_INFLIGHT_MAX)
		return false;
	if (shard_reqs_used < SHARD_REQS_MAX - SHARD_REQS_RESERVE)
		return true;
	return c->inflight < CONN_INFLIGHT_SMALL; /* the reserve */
}

bool fair_big_ok(const struct fair_conn *c)
{
	return c->bigs < CONN_BIGBUFS_MAX &&
	       c->out_bytes + reserved_bytes(c) + PROTO_FRAME_BYTES_MAX <= CONN_OUT_BYTES;
}

size_t fair_put_room(const struct fair_conn *c, bool big)
{
	assert(!big || c->bigs > 0);
	size_t taken = c->out_bytes + reserved_bytes(c) - (big ? PROTO_FRAME_BYTES_MAX : 0);
	return taken < CONN_OUT_BYTES ? CONN_OUT_BYTES - taken : 0;
}

enum fair_verdict fair_output_check(const struct fair_output *o, uint64_t now_ms,
				    uint32_t deadline_ms)
{
	if (!o->sending || now_ms < o->progress_ms)
		return FAIR_OK;
	uint64_t still_ms = now_ms - o->progress_ms;
	uint32_t full_ms = deadline_ms < CONN_OUTPUT_FULL_MS ? deadline_ms : CONN_OUTPUT_FULL_MS;
	if (o->replies_waiting && still_ms >= full_ms)
		return FAIR_FULL;
	return still_ms >= deadline_ms ? FAIR_STALLED : FAIR_OK;
}

bool fair_refusals_close(uint32_t refused_row)
{
	return refused_row > CONN_REFUSED_ROW_MAX;
}
