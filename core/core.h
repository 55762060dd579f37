/*
 * core.h — the per-shard state machine: the public entry points.
 *
 * One `struct core` holds everything one shard owns: its events, their tiers,
 * seat maps, holds, orders, tickets and per-customer counts. It does no I/O,
 * reads no clock and starts no thread; time comes in as `now_ms`.
 *
 *   core_execute(c, cmd, now, res, rec)   validate, decide, write the record,
 *                                         apply it, fill the result
 *   core_apply(c, body, len)              replay one record
 *
 * A command that changes state writes exactly one record; a rejected command
 * or a query writes none (rec->len == 0). Replaying, on a fresh core with the
 * same shard id, the records an execution produced gives the same
 * core_state_hash().
 */
#ifndef ONSALE_CORE_H
#define ONSALE_CORE_H

#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"
#include "core/record.h"

struct core;

/* Where core_execute writes the record body. cap must be >= RECORD_BYTES_MAX. */
struct rec_buf {
	uint8_t *bytes;
	uint32_t cap;
	uint32_t len; /* 0 when the command changed nothing */
};

/* Creates an empty state for one shard; NULL when out of memory. */
struct core *core_create(uint8_t shard_id);
void core_destroy(struct core *c);
uint8_t core_shard_id(const struct core *c);

enum status core_execute(struct core *c, const struct cmd *cmd, uint64_t now_ms, struct result *res,
			 struct rec_buf *rec);

/* Replays one record body. ST_RECORD_INVALID if it does not decode or does
 * not fit the state (a record that execution could not have produced). */
enum status core_apply(struct core *c, const uint8_t *body, size_t len);

/* The next hold due to expire at now_ms, written as a CMD_HOLD_EXPIRE
 * command into *cmd; 0 when none is due. Advances the timer wheels' cursors
 * (derived state, not part of the hash). Execute the command to expire it. */
int core_next_expiry(struct core *c, uint64_t now_ms, struct cmd *cmd);

/* The ids of the shard's live events, in table order (creation order until
 * a retirement moves the last event into the freed index), into out[cap];
 * returns how many there are (may exceed cap). */
uint32_t core_event_ids(const struct core *c, uint32_t *out, uint32_t cap);

/* The ids of the shard's retired events (EVENT_RETIRE), in retirement
 * order, into out[cap]; returns how many there are (may exceed cap).
 * Q_EVENT, Q_AVAILABILITY and Q_STATS answer for them from their summary. */
uint32_t core_retired_ids(const struct core *c, uint32_t *out, uint32_t cap);

/* A 128-bit hash of the whole logical state, independent of memory layout
 * and of how the tables were filled. */
struct state_hash {
	uint64_t lo, hi;
};
struct state_hash core_state_hash(const struct core *c);

/* Seat states of a section (enum seat_state, one byte per seat, row after
 * row) into out[cap]; returns the seat count, or -status on refusal
 * (ST_EVENT_UNKNOWN, ST_SEAT_UNKNOWN for an unknown section, ST_BAD_ARGUMENT
 * when cap is too small). */
long core_section_seats(const struct core *c, uint32_t event_id, uint16_t section, uint8_t *out,
			size_t cap, uint32_t *first_seat);

/* Checks every invariant (conservation per tier, seats agree with holds and
 * tickets, customer counts agree with holds and tickets). Customer limits are
 * enforced when a hold is taken; lowering an event's limit later does not
 * revoke what customers already have, so limits are not checked here.
 * Retired summaries are checked too (conserved, nothing held, indexed).
 * Returns NULL when all hold, else a static description of the first broken
 * one. Costs a full scan: for tests, tools and debug builds. */
const char *core_check_invariants(const struct core *c);

#endif
