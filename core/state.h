/*
 * state.h — functions shared by the state machine's files (internal).
 *
 * Each command has a plan step and an apply step. Plan reads the state,
 * refuses with a status or decides the change and writes it into a
 * `struct rec`; apply performs a decided change and is also what replay
 * runs. Plan never mutates; apply never refuses a record that plan made.
 *
 * Calls between the files go one way, down this list (`make layers` fails
 * on two files that call each other or a longer loop); a file calls only
 * files on lines below its own:
 *
 *   inspect.c, serial.c   inspection for tools; the state stream (serial
 *                         calls core.c and check.c)
 *   core.c                execute and apply: one plan and apply per command
 *   check.c               the invariants
 *   xchg.c                exchanges across shards (a hold and its confirm)
 *   ticket.c              orders and tickets (ends holds)
 *   hold.c                holds, the timer wheel, customer counts
 *   retire.c, stock.c     retired events; GA stock between shards
 *   seatmap.c             sections and seats
 *   query.c               queries and the views results are made of
 *   revoked.c             an event's revocation list for scanners
 *   event.c               events, tiers, codes; every per-event table
 *   lookup.c              look-ups by id and the id arithmetic
 *   best.c, htab.c, record.c, status.c, token.c, wal_format.c
 *                         call no other file of core/
 */
#ifndef ONSALE_STATE_H
#define ONSALE_STATE_H

#include "core/core.h"
#include "core/mem.h"
#include "core/state-t.h"

/* Cheap checks stay on in every build; full invariant scans only in debug
 * and test builds (-DONSALE_DEBUG_CHECKS). */
#include <assert.h>

/* Look-ups by id (lookup.c). retired_find: the summary, NULL when the id
 * was never retired here. event_missing: the status for an id with no live
 * event (ST_EVENT_RETIRED or ST_EVENT_UNKNOWN). */
#define SLOT_OF(id) ((uint32_t)(id)) /* the pool slot a hold id carries */
struct event *event_find(const struct core *c, uint32_t event_id);
struct retired *retired_find(const struct core *c, uint32_t event_id);
enum status event_missing(const struct core *c, uint32_t event_id);
struct hold *hold_by_id(const struct event *ev, uint64_t hold_id);
uint32_t customer_units(const struct event *ev, uint64_t customer_id);
struct ticket *ticket_by_id(const struct core *c, const struct event *ev, uint64_t ticket_id,
			    uint32_t *index);
uint64_t ticket_id_of(const struct event *ev, uint32_t index); /* of a stored ticket */
uint64_t order_ticket_id(const struct hold *h, uint8_t unit);  /* of an order's unit-th ticket */
uint32_t tickets_free(const struct event *ev);                 /* slots never used or reusable */
/* Q_REVOKED: a page of the event's revoked tickets here (revoked.c). */
enum status revoked_page(const struct core *c, const struct event *ev, const struct cmd_revoked *q,
			 struct revoked_view *out);
/* Valid, and being exchanged to another shard (xchg.c). */
bool ticket_leaving(const struct ticket *tk);
/* A repeat of an exchange names what the first one got: its tier, and its
 * seat unless it asked for a GA unit or the best seat (SEAT_NONE). */
static inline bool xchg_target_is(uint8_t tier, uint32_t seat, uint8_t got_tier, uint32_t got_seat)
{
	return tier == got_tier && (seat == SEAT_NONE || seat == got_seat);
}

/* Hold and ticket slots, in their chunks. The slot must be below
 * holds_used / tickets_used, or made addressable by event_*_ensure first. */
static inline struct hold *hold_at(const struct event *ev, uint32_t slot)
{
	return &ev->hold_chunks[slot / HOLD_CHUNK_SLOTS][slot % HOLD_CHUNK_SLOTS];
}

static inline struct ticket *ticket_at(const struct event *ev, uint32_t slot)
{
	return &ev->ticket_chunks[slot / TICKET_CHUNK_SLOTS][slot % TICKET_CHUNK_SLOTS];
}

/* Makes slots [0, n) addressable, allocating the chunks not there yet (only
 * when a table first grows into them). 0 or -ENOMEM; nothing else changes. */
int event_holds_grow(struct event *ev, uint32_t n);
/* Chunks for two holds per unit placed (+ HOLDS_RETAINED_MIN) and a ticket
 * per unit, and map segments for a customer per unit and a key per hold
 * slot, allocated now (best effort). */
void event_tables_fit(struct event *ev);
int event_tickets_grow(struct event *ev, uint32_t n);

static inline int event_holds_ensure(struct event *ev, uint32_t n)
{
	return n <= ev->hold_chunk_count * HOLD_CHUNK_SLOTS ? 0 : event_holds_grow(ev, n);
}

/* Makes the slots the next n tickets may take addressable (ticket.c):
 * 0 or -ENOMEM, nothing else changes. */
int tickets_ensure(struct event *ev, uint32_t n);

static inline int event_tickets_ensure(struct event *ev, uint32_t n)
{
	return n <= ev->ticket_chunk_count * TICKET_CHUNK_SLOTS ? 0 : event_tickets_grow(ev, n);
}
struct event *event_new(const struct cmd_event *cfg); /* tables allocated, nothing in them */
void event_free(struct event *ev);
uint8_t event_slot_pick(struct core *c); /* a slot no live event has; advances slot_next */
uint64_t hold_idem_key(uint64_t customer_id, uint64_t key); /* idempotency map key */

/* Shared helpers on inventory. */
void seat_take(struct event *ev, uint32_t seat, uint8_t state, uint32_t owner);
void seat_release(struct event *ev, uint32_t seat, uint8_t state);
void tier_check_low_stock(struct event *ev, uint8_t tier, uint32_t *alerts);
/* Room for customer_id in the event's customer counts (0 if it is there):
 * 0 or a negative errno (htab_reserve). customer_add of a customer not
 * there asserts this was made. */
int customer_room(struct event *ev, uint64_t customer_id);
void customer_add(struct event *ev, uint64_t customer_id, int32_t delta);
void presale_code_hash(uint32_t event_id, const char *code, uint8_t len, uint8_t *out);
/* ST_OK for a valid ticket, else what a change of it is refused with. */
enum status ticket_refusal(uint8_t state);
/* Refunded or exchanged away: the slot may be reused, the order may end. */
void ticket_retire(struct event *ev, uint32_t index);
/* A valid ticket exchanged for new_ticket_id on another shard (xchg.c). */
void ticket_leave(struct event *ev, uint32_t index, uint64_t new_ticket_id, uint32_t *alerts);
/* The slot and id the next hold takes; NIL when the table is full. */
uint32_t hold_next_id(const struct core *c, const struct event *ev, uint64_t *id);
void hold_ended_push(struct event *ev, uint32_t slot); /* may be reused, oldest first */
void wheel_insert(struct event *ev, uint32_t slot);
void wheel_remove(struct event *ev, uint32_t slot);
void hold_end(struct event *ev, uint32_t slot, uint8_t state, uint32_t *alerts);

/* Best available: chooses qty adjacent free seats of tier into seats[].
 * ST_OK, or ST_NO_ADJACENT_SEATS. */
enum status best_available(const struct event *ev, uint8_t tier, uint8_t qty, uint8_t flags,
			   uint32_t *seats);
int seatmap_alloc(struct event *ev);
void seatmap_derive_rows(struct event *ev, uint32_t first_row);
void seatmap_index_rebuild(struct event *ev);
void seatmap_segment_refresh(struct event *ev, uint32_t seg);

/* plan / apply, by command family */
enum status plan_event(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r);
enum status plan_tier(struct core *c, const struct cmd *cmd, struct rec *r);
enum status plan_code(struct core *c, const struct cmd *cmd, struct rec *r);
enum status plan_section(struct core *c, const struct cmd *cmd, struct rec *r);
enum status apply_event(struct core *c, const struct rec *r);
enum status apply_tier(struct core *c, const struct rec *r, uint32_t *alerts);
enum status apply_code(struct core *c, const struct rec *r);
enum status apply_section(struct core *c, const struct rec *r, uint32_t *alerts);

enum status plan_hold(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
		      struct result *res);
enum status plan_hold_ref(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
			  struct result *res);
enum status apply_hold(struct core *c, const struct rec *r, uint32_t *alerts);
/* Sales window and presale code of a hold at now: ST_OK and the index of
 * the code it uses (PRESALE_CODE_NONE: none needed), or the refusal. */
enum status hold_check_window(const struct event *ev, const struct cmd_hold *h, uint64_t now,
			      uint8_t *code_index);
enum status apply_hold_ref(struct core *c, const struct rec *r, uint32_t *alerts);

enum status plan_ticket(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
			struct result *res);
enum status apply_confirm(struct core *c, const struct rec *r);
enum status apply_ticket(struct core *c, const struct rec *r, uint32_t *alerts);

enum status plan_stock(struct core *c, const struct cmd *cmd, struct rec *r, struct result *res);
enum status apply_stock(struct core *c, const struct rec *r, uint32_t *alerts);
const char *stock_check(const struct core *c);

enum status plan_xchg(struct core *c, const struct cmd *cmd, uint64_t now, struct rec *r,
		      struct result *res);
enum status apply_xchg(struct core *c, const struct rec *r, uint32_t *alerts);

/* Retired events (retire.c). */
struct retired *retired_new(uint8_t tier_count);
enum status plan_retire(struct core *c, const struct cmd *cmd, struct result *res);
enum status apply_retire(struct core *c, const struct rec *r);
enum status plan_retired_in(const struct core *c, const struct cmd *cmd, struct rec *r);
enum status apply_retired_in(struct core *c, const struct rec *r);
const char *retired_check(const struct core *c);

/* queries and views */
enum status query(const struct core *c, const struct cmd *cmd, struct result *res);
void view_hold(const struct event *ev, const struct hold *h, struct hold_view *v);
void view_ticket(const struct core *c, const struct event *ev, uint32_t index,
		 struct ticket_view *v);

#endif
