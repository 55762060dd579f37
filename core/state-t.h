/*
 * state-t.h — the in-memory state of one shard (types only).
 *
 * Layout choices, for a 100,000-seat stadium and a 1,000,000-unit GA tier:
 *
 * - GA tiers are counters. A GA unit has no identity until it becomes a
 *   ticket, so holding 4 GA units touches one tier and one hold.
 * - Seats sit in one array per event, row after row, section after section,
 *   in load order; a seat's index is its id. Each row keeps its free seats
 *   and its accessible seats as 256-bit masks, so finding a block of free
 *   adjacent seats is a few word operations, never a walk over seat structs.
 * - A segment is a run of one tier's seats inside one row. Each tier orders
 *   its segments by quality (best seat rank first) in `ord_*`, with the
 *   longest free run of each segment cached in `ord_run` and the longest of
 *   each 64 segments in `group_run`: best available skips whole groups that
 *   cannot fit the request and never scans the whole venue.
 * - Holds live in a pool sized at event creation. A hold id carries its pool
 *   slot (and a reuse count), so lookups index the pool directly and check the
 *   id. Released and expired holds queue in `ended_*` and are reused oldest
 *   first once the pool is full; confirmed holds are orders and stay.
 * - Tickets live in a pool indexed by their sequence number, also carried in
 *   the id. Idempotency keys and customer counts, whose keys are chosen by
 *   clients, are in xxh3 hash maps (htab.h).
 * - A timer wheel per event links live holds by expiry (intrusive links in
 *   the hold), so expiry finds due holds without scanning.
 *
 * What is derived (masks, segment order and runs, hash maps, wheel) is not
 * part of the state hash and is rebuilt on replay by the same apply code.
 */
#ifndef ONSALE_STATE_T_H
#define ONSALE_STATE_T_H

#include <stdint.h>
#include "core/cmd-t.h"
#include "core/htab.h"
#include "core/limits.h"

#define NIL UINT32_MAX
#define ROW_WORDS (ROW_SEATS_MAX / 64)

struct channel_counts {
	uint64_t held, sold, revenue_minor, redeemed, refunded;
};

struct tier {
	uint64_t price_minor;
	uint32_t capacity, free, held, sold, killed;
	uint32_t low_stock_threshold;
	uint32_t ord_first, ord_count; /* reserved: this tier's range of ord_* (multiple of 64) */
	uint8_t defined;
	uint8_t kind;
	uint8_t low_stock; /* free < threshold; re-armed when free climbs back */
	char name[NAME_BYTES];
	struct channel_counts ch[CHANNELS];
};

struct seat {
	uint32_t owner; /* hold slot (HELD) or ticket index (SOLD), else NIL */
	uint32_t seg;   /* segment index */
	uint16_t rank;
	uint16_t row;
	uint8_t tier;
	uint8_t flags;
	uint8_t state; /* enum seat_state */
};

struct row {
	uint64_t free[ROW_WORDS];   /* bit i: seat first_seat + i is free */
	uint64_t access[ROW_WORDS]; /* bit i: seat is accessible */
	uint32_t first_seat;
	uint16_t seat_count;
	uint16_t section;
	uint16_t first_number;
	char label[LABEL_BYTES];
};

struct segment {
	uint32_t row;
	uint32_t ord; /* position in the tier's quality order */
	uint16_t start, len;
	uint16_t rank; /* best seat rank in the segment */
	uint8_t tier;
};

struct section {
	uint32_t first_row, first_seat, seat_count;
	uint16_t row_count;
	uint8_t defined;
	char name[NAME_BYTES];
};

struct presale_code {
	uint8_t hash[PRESALE_CODE_HASH_BYTES];
	uint32_t use_limit, uses;
};

struct hold {
	uint64_t id;
	uint64_t customer_id;
	uint64_t idem_key;
	uint64_t created_ms;
	uint64_t expires_at_ms;
	uint64_t amount_minor;    /* paid, once confirmed */
	uint64_t first_ticket_id; /* once confirmed */
	uint32_t wheel_prev, wheel_next; /* live holds, by expiry slot */
	uint32_t ended_next;             /* released / expired, oldest first */
	uint32_t reuse;                  /* times the slot was reused */
	uint8_t tier, channel, qty, state, code_index;
	char payment_ref[PAYMENT_REF_BYTES];
	uint32_t seats[HOLD_UNITS_MAX]; /* reserved tiers; seats[0] == SEAT_NONE for GA */
};

struct ticket {
	uint64_t price_minor;
	uint64_t redeemed_at_ms;
	uint64_t fee_minor;
	uint32_t hold;        /* slot of the order (a confirmed hold) */
	uint32_t seat;        /* SEAT_NONE for GA */
	uint32_t gate_id;
	uint32_t replaced_by; /* exchanged: index of the new ticket */
	uint8_t tier;
	uint8_t state; /* enum ticket_state */
};

struct event {
	struct cmd_event cfg;
	uint8_t slot; /* index in core.events: part of every id it generates */
	uint32_t units_placed; /* GA capacity + seats, including stock moved in */
	uint32_t tiers_defined; /* bitmask */
	struct tier tiers[TIERS_MAX];

	/* seat map: sized at the first section load from units_max */
	struct section *sections; /* SECTIONS_MAX */
	uint16_t section_count;
	struct seat *seats;
	uint32_t seat_count, seats_max;
	struct row *rows;
	uint32_t row_count;
	struct segment *segs;
	uint32_t seg_count;
	uint32_t *ord_seg;  /* NIL for padding */
	uint8_t *ord_run;   /* longest free general run of the segment, saturated at 255 */
	uint8_t *group_run; /* longest of each BA_GROUP_SEGMENTS */
	uint32_t ord_len;

	struct presale_code codes[PRESALE_CODES_MAX];
	uint8_t code_count;

	struct hold *holds;
	uint32_t holds_max, holds_used, live_holds;
	uint32_t ended_head, ended_tail;
	struct htab idem; /* mix(customer, key) -> hold slot */

	struct ticket *tickets;
	uint32_t tickets_max, tickets_used;

	struct htab customers; /* customer id -> units held + owned */

	uint64_t wheel_tick; /* every slot before this tick has been drained */
	uint32_t wheel[WHEEL_SLOTS];
};

/* GA stock transfers with one peer shard (core/stock.c). As giver: seqs
 * up to out_seq were given, up to acked_seq the peer has durable; the ones
 * between are kept in pending[seq % XFER_PENDING_MAX] and redelivered after
 * a crash. As taker: in_seq is the last seq applied from this peer, so a
 * transfer delivered twice is applied once. Part of the state hash and of
 * snapshots: exactly-once does not depend on when snapshots were taken. */
struct xfer_peer {
	uint64_t out_seq, acked_seq, in_seq;
	struct xfer pending[XFER_PENDING_MAX];
};

struct core {
	uint8_t shard_id;
	struct xfer_peer *peers; /* SHARDS_MAX */
	uint32_t event_count;
	uint32_t last_event; /* index of the event found last (a cache) */
	struct htab event_index; /* event id -> index in events */
	struct event *events[EVENTS_MAX];
};

#endif
