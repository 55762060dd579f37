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
 * - Holds live in a pool whose size is fixed at event creation but whose
 *   memory comes in chunks of TABLE_CHUNK_BYTES, each allocated when its
 *   first slot is first used (a shard's memory for an event follows the holds
 *   and tickets it has, not units_max). A hold id carries its pool
 *   slot (and a reuse count), so lookups index the pool directly and check the
 *   id. Released and expired holds, and orders (confirmed holds) none of
 *   whose tickets is valid or redeemed any more, queue in `ended_*` and are
 *   reused oldest first once the pool has no never-used slot.
 * - Tickets live in a pool of their own. A ticket id is its order's hold id
 *   (slot and reuse count) plus the ticket's number in the order (limits.h),
 *   so an order's tickets have consecutive ids wherever they are stored; each
 *   order chains its tickets (`ticket_head`, `order_next`). Refunded and
 *   exchanged-away tickets queue in `tfree_*` and their slots are reused
 *   oldest first once the pool has no never-used slot; a reused ticket leaves
 *   its order's chain, so its old id is unknown from then on.
 * - Every live hold reserves ticket slots for its units (`tickets_reserved`):
 *   a hold is granted only if its tickets will fit, so a confirm never finds
 *   the ticket pool full.
 * - Idempotency keys and customer counts, whose keys are chosen by clients,
 *   are in xxh3 hash maps (htab.h).
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
	uint64_t amount_minor;           /* paid, once confirmed */
	uint32_t wheel_prev, wheel_next; /* live holds, by expiry slot */
	uint32_t ended_next;             /* ended (see ended_head), oldest first */
	uint32_t reuse;                  /* times the slot was reused */
	uint32_t ticket_head;            /* order: its tickets still stored, newest first */
	uint8_t tier, channel, qty, state, code_index;
	uint8_t tickets_issued; /* order: tickets ever issued, the next unit number */
	uint8_t tickets_live;   /* order: its valid and redeemed tickets */
	char payment_ref[PAYMENT_REF_BYTES];
	uint32_t seats[HOLD_UNITS_MAX]; /* reserved tiers; seats[0] == SEAT_NONE for GA */
};

struct ticket {
	uint64_t price_minor;
	uint64_t redeemed_at_ms;
	uint64_t fee_minor;
	uint32_t hold; /* slot of the order (a confirmed hold); NIL once that slot is reused */
	uint32_t seat; /* SEAT_NONE for GA */
	uint32_t gate_id;
	uint32_t order_next; /* next ticket of the same order, or NIL */
	uint32_t free_next;  /* refunded / exchanged: next in the reuse queue, or NIL */
	uint8_t unit;        /* number in its order: the low byte of its id */
	uint8_t replaced_by; /* exchanged: unit number of the new ticket (same order);
			      * valid: XCHG_LEAVING while exchanged to another shard */
	uint8_t tier;
	uint8_t state; /* enum ticket_state */
};

/* A valid ticket's replaced_by while an exchange takes it to another shard
 * (core/xchg.c); its fee_minor then holds the target. */
#define XCHG_LEAVING 0xffu
/* A revoked ticket's replaced_by once its order's hold slot was reused
 * (hold.c slot_take): no id lookup reaches it any more, and its fee_minor
 * holds its id, for the revocation list (revoked.c). */
#define TICKET_DETACHED 0xfeu

struct event {
	struct cmd_event cfg;
	uint8_t slot;           /* index in core.events: part of every id it generates */
	uint32_t units_placed;  /* GA capacity + seats, including stock moved in */
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

	struct hold **hold_chunks; /* HOLD_CHUNK_SLOTS holds each, allocated when first needed */
	uint32_t hold_chunk_count; /* chunks allocated: they cover slots [0, count x chunk) */
	uint32_t holds_max, holds_used, live_holds;
	uint32_t ended_head, ended_tail;
	struct htab idem; /* mix(customer, key) -> hold slot */

	struct ticket **ticket_chunks; /* as hold_chunks */
	uint32_t ticket_chunk_count;
	uint32_t tickets_max;
	uint32_t tickets_used; /* slots ever used: [tickets_used, max) never were */
	uint32_t tfree_head, tfree_tail, tfree_count; /* reusable slots, oldest first */
	uint32_t tickets_reserved; /* units of live holds: slots their confirms will take */
	uint32_t tickets_issued;   /* ever, reused slots included (wraps) */

	struct htab customers; /* customer id -> units held + owned */

	uint64_t wheel_tick; /* every slot before this tick has been drained */
	uint32_t wheel[WHEEL_SLOTS];
};

/* Slots per chunk of the hold and ticket tables (limits.h). */
#define HOLD_CHUNK_SLOTS ((uint32_t)(TABLE_CHUNK_BYTES / sizeof(struct hold)))
#define TICKET_CHUNK_SLOTS ((uint32_t)(TABLE_CHUNK_BYTES / sizeof(struct ticket)))
static_assert(TABLE_CHUNK_BYTES / sizeof(struct hold) >= 1024, "a hold chunk holds many holds");
static_assert((uint64_t)EVENT_UNITS_MAX * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN +
			      TABLE_CHUNK_BYTES / sizeof(struct ticket) <
		      (1ull << 32),
	      "chunk count x slots per chunk fits a uint32_t");

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

/* What a retired event leaves behind (core/retire.c): its config as it was
 * closed, its counts, and its tiers 0 .. tier_count - 1 as they stood (held
 * 0, no seat-map order). Stock moved in after retirement (a transfer given
 * before the giver retired it too) is added to its tier, so capacity over
 * shards still adds up. */
struct retired {
	struct cmd_event cfg;
	uint32_t units_placed, seat_count, tickets_issued;
	uint16_t section_count;
	uint8_t tier_count;
	struct tier tiers[]; /* tier_count */
};

struct core {
	uint8_t shard_id;
	uint8_t slot_next;       /* event slot (in ids) the next event tries first */
	struct xfer_peer *peers; /* SHARDS_MAX */
	uint32_t
		event_count; /* events[0, count) are live; retiring one moves the last into its index */
	uint32_t last_event;     /* index of the event found last (a cache) */
	struct htab event_index; /* event id -> index in events */
	struct event *events[EVENTS_MAX];
	uint32_t retired_count;    /* retired[0, count), in retirement order; never removed */
	struct htab retired_index; /* event id -> index in retired */
	struct retired **retired;  /* RETIRED_MAX */
};

#endif
