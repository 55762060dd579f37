/*
 * fixture.h — a state machine under test: a core, a clock, and the log of
 * every record it wrote, so any test can check that replaying the log on a
 * fresh core gives the same state hash and that every invariant holds.
 * Linked into every test program (see the Makefile).
 */
#ifndef ONSALE_TEST_FIXTURE_H
#define ONSALE_TEST_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

struct fx {
	struct core *c;
	uint64_t now;          /* ms; tests move it by hand */
	struct result res;     /* of the last fx_exec */
	uint32_t last_rec_len; /* of the last fx_exec; 0: nothing changed */
	uint8_t *log;          /* records, each as u32 length + body */
	size_t log_len, log_cap;
	uint64_t records;
	uint8_t rec[RECORD_BYTES_MAX];
};

#define FX_T0 1800000000000ull /* 2027-01-15, a fixed "now" */

struct fx *fx_new(uint8_t shard_id);
void fx_free(struct fx *f);

/* Executes cmd at f->now; appends the record (if any) to the log. */
enum status fx_exec(struct fx *f, const struct cmd *cmd);

/* Replays the log on a fresh core; returns NULL when the hash matches and
 * every invariant holds on both cores, else what went wrong. */
const char *fx_replay_check(const struct fx *f);

/* The core written as a snapshot body and read back (core/serial.h): the
 * copy, or NULL and why it was refused. */
struct core *fx_snapshot_copy(const struct core *c, const char **why);

/* Builders. Events are on sale from FX_T0 - 1 h (public) with no end. */
enum status fx_event(struct fx *f, uint32_t event_id, uint32_t units_max, uint16_t limit);
enum status fx_ga_tier(struct fx *f, uint32_t event_id, uint8_t tier, uint32_t capacity,
		       uint64_t price);
enum status fx_reserved_tier(struct fx *f, uint32_t event_id, uint8_t tier, uint64_t price);
/* A section of rows x seats_per_row seats of one tier; seat rank = row * 100
 * + distance from the row's centre (front rows and centre seats are best). */
enum status fx_section(struct fx *f, uint32_t event_id, uint16_t section, uint16_t rows,
		       uint16_t seats_per_row, uint8_t tier);

/* A hold command to adjust before fx_exec. */
struct cmd fx_hold_cmd(uint32_t event_id, uint8_t tier, uint8_t mode, uint8_t qty,
		       uint64_t customer);
enum status fx_hold_ga(struct fx *f, uint32_t event_id, uint8_t tier, uint8_t qty,
		       uint64_t customer);
enum status fx_hold_best(struct fx *f, uint32_t event_id, uint8_t tier, uint8_t qty,
			 uint64_t customer);
enum status fx_hold_seats(struct fx *f, uint32_t event_id, uint8_t tier, const uint32_t *seats,
			  uint8_t qty, uint64_t customer);
enum status fx_hold_ref(struct fx *f, uint8_t type, uint32_t event_id, uint64_t hold_id);
enum status fx_confirm(struct fx *f, uint32_t event_id, uint64_t hold_id, uint64_t amount);
enum status fx_ticket_op(struct fx *f, uint8_t type, uint32_t event_id, uint64_t ticket_id);
enum status fx_query(struct fx *f, uint8_t type, uint32_t event_id, uint64_t id);

#endif
