/*
 * cmd-t.h — commands into the state machine and results out of it (types only).
 *
 * A command is what a client asks for; the state machine validates it against
 * the state at time `now`, decides everything that needs deciding (ids, seats
 * chosen by best available, expiry times) and writes that decision as a WAL
 * record (record.h). Queries are commands that change nothing and write no
 * record. Every field is fixed-size so the protocol codec (net/) can map
 * frames onto these structs one to one.
 */
#ifndef ONSALE_CMD_T_H
#define ONSALE_CMD_T_H

#include <stdint.h>
#include "core/limits.h"
#include "core/status.h"

enum cmd_type {
	/* admin: change state */
	CMD_EVENT_CREATE = 1,
	CMD_EVENT_UPDATE = 2,
	CMD_TIER_ADD = 3,
	CMD_SECTION_LOAD = 4,
	CMD_PRESALE_CODE_ADD = 5,
	CMD_EVENT_RETIRE = 6, /* a closed event's tables freed, its summary kept */
	/* sales: change state */
	CMD_HOLD = 10,
	CMD_HOLD_EXTEND = 11,
	CMD_HOLD_RELEASE = 12,
	CMD_HOLD_EXPIRE = 13,
	CMD_CONFIRM = 14,
	CMD_REDEEM = 15,
	CMD_REFUND = 16,
	CMD_EXCHANGE = 17,
	/* stock moved between shards (GA allotments) */
	CMD_STOCK_OUT = 20,
	CMD_STOCK_IN = 21,
	CMD_STOCK_ACK = 22, /* giver: the taker has transfers up to this id durable */
	/* a ticket exchanged for a seat on another shard (core/xchg.c) */
	CMD_XCHG_OUT = 23, /* the ticket's shard: the ticket is leaving, kept until END */
	CMD_XCHG_IN = 24,  /* the seat's shard: a one-ticket order for the new seat */
	CMD_XCHG_END = 25, /* the ticket's shard: exchanged, or valid again */
	/* queries: change nothing, write no record */
	CMD_Q_EVENT = 40,
	CMD_Q_AVAILABILITY = 41,
	CMD_Q_HOLD = 42,
	CMD_Q_ORDER = 43,
	CMD_Q_TICKET = 44,
	CMD_Q_STATS = 45,
	CMD_Q_CUSTOMER = 46,
	/* one shard's revoked tickets of an event (core/revoked.c); 47..50 stay
	 * free: opcodes 0x2f..0x32 are taken by requests that are not commands */
	CMD_Q_REVOKED = 51,
};
#define CMD_TYPE_MAX 64
#define CMD_IS_QUERY(t) ((t) >= CMD_Q_EVENT)

enum event_state { EVENT_DRAFT = 0, EVENT_ON_SALE = 1, EVENT_PAUSED = 2, EVENT_CLOSED = 3 };
#define EVENT_STATE_COUNT 4
enum tier_kind { TIER_GA = 0, TIER_RESERVED = 1 };
enum channel { CHANNEL_ONLINE = 0, CHANNEL_BOX_OFFICE = 1, CHANNEL_KIOSK = 2 };
#define CHANNELS 3
enum seat_flag { SEAT_ACCESSIBLE = 1, SEAT_RESTRICTED_VIEW = 2, SEAT_KILLED = 4 };
#define SEAT_FLAGS_ALL 7
enum seat_state { SEAT_FREE = 0, SEAT_HELD = 1, SEAT_SOLD = 2, SEAT_KILLED_STATE = 3 };
enum hold_mode { HOLD_GA = 0, HOLD_SEATS = 1, HOLD_BEST = 2 };
enum hold_flag { HOLD_F_ACCESSIBLE = 1 }; /* best available among accessible seats only */
enum hold_state { HOLD_LIVE = 1, HOLD_CONFIRMED = 2, HOLD_RELEASED = 3, HOLD_EXPIRED = 4 };
enum ticket_state {
	TICKET_VALID = 1,
	TICKET_REDEEMED = 2,
	TICKET_REFUNDED = 3,
	TICKET_EXCHANGED = 4
};

#define SEAT_NONE UINT32_MAX /* a GA ticket, or "best available" in an exchange */
#define PRESALE_CODE_NONE 0xff

struct cmd_event {
	uint32_t event_id; /* chosen by the platform, nonzero */
	uint8_t state;
	uint16_t customer_limit; /* 0: no limit */
	uint32_t hold_ttl_ms;    /* 0: HOLD_TTL_MS_DEFAULT */
	uint32_t units_max;      /* create only: units (GA + seats) this shard will place */
	uint64_t starts_at_ms;
	uint64_t presale_start_ms; /* sales open (with a code until public start) */
	uint64_t public_start_ms;
	uint64_t sales_end_ms;
	char name[NAME_BYTES];
	char venue[NAME_BYTES];
};

struct cmd_tier {
	uint32_t event_id;
	uint8_t tier; /* index chosen by the admin, < TIERS_MAX */
	uint8_t kind;
	uint32_t capacity;            /* GA only; a reserved tier's capacity comes from its seats */
	uint32_t low_stock_threshold; /* alert when free units fall below; 0: never */
	uint64_t price_minor;
	char name[NAME_BYTES];
};

struct row_spec {
	char label[LABEL_BYTES];
	uint16_t seat_count;
	uint16_t first_number; /* printed number of the row's first seat */
};

struct seat_spec {
	uint8_t tier;
	uint8_t flags; /* enum seat_flag */
	uint16_t rank; /* quality: lower is better */
};

struct cmd_section {
	uint32_t event_id;
	uint16_t section; /* index chosen by the admin, < SECTIONS_MAX */
	uint16_t row_count;
	char name[NAME_BYTES];
	const struct row_spec *rows;   /* row_count rows */
	const struct seat_spec *seats; /* every row's seats, row after row */
};

struct cmd_presale_code {
	uint32_t event_id;
	uint32_t use_limit; /* 0: unlimited */
	uint8_t code_len;
	char code[PRESALE_CODE_BYTES_MAX];
};

struct cmd_hold {
	uint32_t event_id;
	uint8_t tier;
	uint8_t mode; /* enum hold_mode */
	uint8_t qty;  /* units; for HOLD_SEATS the number of seats listed */
	uint8_t channel;
	uint8_t flags;        /* enum hold_flag */
	uint8_t code_len;     /* presale code, 0: none */
	uint32_t ttl_ms;      /* 0: the event's hold TTL */
	uint64_t customer_id; /* nonzero */
	uint64_t idem_key;    /* 0: none; else a repeat returns the first hold */
	uint32_t seats[HOLD_UNITS_MAX];
	char code[PRESALE_CODE_BYTES_MAX];
};

struct cmd_hold_ref { /* extend, release, expire, confirm, query hold/order */
	uint32_t event_id;
	uint32_t ttl_ms; /* extend: new TTL from now; 0: the event's */
	uint64_t hold_id;
	uint64_t amount_minor; /* confirm */
	char payment_ref[PAYMENT_REF_BYTES];
};

struct cmd_ticket_ref { /* redeem, refund, exchange, query ticket */
	uint32_t event_id;
	uint32_t gate_id; /* redeem */
	uint64_t ticket_id;
	uint64_t fee_minor; /* refund */
	uint8_t kill;       /* refund: kill the unit instead of selling it again */
	uint8_t tier;       /* exchange: target tier */
	uint32_t seat;      /* exchange: target seat, SEAT_NONE: GA or best available */
};

/* A GA stock transfer between shards (core/stock.c). transfer_id is
 * giver << 56 | taker << 48 | seq, seq counting from 1 per ordered pair;
 * STOCK_OUT decides it (the command's is ignored), STOCK_IN and STOCK_ACK
 * name it. peer_shard: the taker for OUT and ACK, the giver for IN. ACK
 * needs no event, tier or qty. */
struct cmd_stock {
	uint32_t event_id;
	uint8_t tier;
	uint8_t peer_shard;
	uint32_t qty;
	uint64_t transfer_id;
};
/* A transfer given and not yet acknowledged (core_xfers_pending). */
struct xfer {
	uint64_t transfer_id;
	uint32_t event_id, qty;
	uint8_t tier;
};
#define XFER_SEQ_MASK ((1ull << 48) - 1)
#define XFER_ID(giver, taker, seq) \
	(((uint64_t)(giver) << 56) | ((uint64_t)(taker) << 48) | ((seq)&XFER_SEQ_MASK))
#define XFER_GIVER(id) ((uint8_t)((id) >> 56))
#define XFER_TAKER(id) ((uint8_t)((id) >> 48))
#define XFER_SEQ(id) ((id)&XFER_SEQ_MASK)

/* An exchange between two shards (core/xchg.c), all three steps. OUT:
 * ticket_id, tier, seat and peer_shard (the seat's shard); IN (on the
 * seat's shard): ticket_id (the old one: the new order's idempotency key),
 * customer_id, channel, tier, seat and peer_shard (the ticket's shard);
 * END: ticket_id, status (the IN's answer) and new_ticket_id when it is
 * ok. Seats are the seat's shard's own numbers. An IN with `again` is a
 * client's repeat of an exchange done: it answers the order the first IN
 * made, if tier and seat name what it got and its ticket is still stored,
 * and never makes one. */
struct cmd_xchg {
	uint32_t event_id;
	uint8_t tier;
	uint8_t channel;
	uint8_t peer_shard;
	uint8_t status; /* END: enum status of the IN */
	uint32_t seat;
	uint8_t again; /* IN: replay only */
	uint64_t ticket_id;
	uint64_t customer_id;
	uint64_t new_ticket_id;
};

/* A ticket still leaving for another shard (core_xchgs_pending): the IN
 * to send to peer_shard again. */
struct xchg_pending {
	uint64_t ticket_id, customer_id;
	uint32_t event_id, seat;
	uint8_t tier, channel, peer_shard;
};

struct cmd_revoked { /* Q_REVOKED: a page of one shard's revocations */
	uint32_t event_id;
	uint16_t shard;     /* the shard whose list this is */
	uint64_t since_seq; /* revocations after this one (0: from the first) */
};

struct cmd_query { /* also EVENT_RETIRE: only event_id */
	uint32_t event_id;
	uint8_t tier;
	uint64_t customer_id;
};

struct cmd {
	uint8_t type; /* enum cmd_type */
	union {
		struct cmd_event event;
		struct cmd_tier tier;
		struct cmd_section section;
		struct cmd_presale_code code;
		struct cmd_hold hold;
		struct cmd_hold_ref ref;
		struct cmd_ticket_ref ticket;
		struct cmd_stock stock;
		struct cmd_xchg xchg;
		struct cmd_query query;
		struct cmd_revoked revoked;
	};
};

/* ---- results ---- */

struct hold_view {
	uint64_t hold_id; /* also the order id once confirmed */
	uint64_t customer_id;
	uint64_t expires_at_ms;
	uint64_t amount_due_minor;
	uint64_t first_ticket_id; /* confirmed: tickets first_ticket_id.. +qty */
	uint64_t amount_paid_minor;
	uint32_t event_id;
	uint8_t tier;
	uint8_t state; /* enum hold_state */
	uint8_t channel;
	uint8_t qty;
	uint8_t code_index; /* presale code it used, PRESALE_CODE_NONE: none (not on the wire) */
	uint32_t seats[HOLD_UNITS_MAX]; /* reserved tiers: seat indexes */
	char payment_ref[PAYMENT_REF_BYTES];
};

struct ticket_view {
	uint64_t ticket_id;
	uint64_t order_id;
	uint64_t customer_id;
	uint64_t price_minor;
	uint64_t redeemed_at_ms;
	uint64_t refund_fee_minor;
	uint64_t replaced_by; /* exchanged: the new ticket */
	uint32_t event_id;
	uint32_t seat; /* SEAT_NONE for GA */
	uint32_t gate_id;
	uint8_t tier;
	uint8_t state; /* enum ticket_state */
};

struct tier_view {
	uint64_t price_minor;
	uint32_t capacity, free, held, sold, killed;
	uint32_t low_stock_threshold;
	uint8_t kind;
	uint8_t defined;
	uint8_t low_stock; /* free is below the threshold */
};

struct availability_view {
	uint32_t event_id;
	uint8_t tier_count; /* highest defined tier index + 1 */
	struct tier_view tiers[TIERS_MAX];
};

struct channel_stats {
	uint64_t held;          /* units in live holds now */
	uint64_t sold;          /* units sold and not refunded */
	uint64_t revenue_minor; /* paid, less refunds (fees kept), plus exchange deltas */
	uint64_t redeemed;
	uint64_t refunded;
};

struct stats_view {
	uint32_t event_id;
	uint8_t tier;
	struct channel_stats channels[CHANNELS];
};

struct event_view {
	struct cmd_event event;
	uint32_t units_placed; /* GA capacity + seats loaded */
	uint32_t seat_count;
	uint32_t live_holds;
	uint32_t tickets_issued;
	uint16_t section_count;
	uint8_t retired; /* answered from the summary a retirement kept */
};

struct customer_view {
	uint32_t event_id;
	uint64_t customer_id;
	uint32_t units; /* held + owned, counted against the limit */
	uint16_t limit;
};

/* A page of one shard's revoked tickets of an event (refunded or exchanged,
 * oldest first). The shard's k-th revocation of the event has seq k (from
 * 1), derived from its ticket table (core/revoked.c), so it survives
 * restarts. The page holds seq first_seq .. last_seq; the scanner has
 * everything up to last_seq and asks again with since_seq = last_seq.
 * gap: revocations after since_seq and before first_seq are forgotten (their
 * slots were reused; the server answers their ids ticket_unknown). */
struct revoked_view {
	uint32_t event_id;
	uint16_t shard;
	uint16_t count; /* ids in the page */
	uint64_t first_seq;
	uint64_t last_seq;
	uint8_t more; /* revocations after last_seq: ask again now */
	uint8_t gap;
	uint64_t ticket_ids[REVOKED_PAGE_MAX];
};

struct result {
	enum status status;
	uint8_t replayed;         /* an idempotent repeat: nothing changed */
	uint32_t low_stock_tiers; /* tiers that crossed below their threshold */
	union {
		struct hold_view hold; /* hold, extend, release, expire, confirm, Q_HOLD, Q_ORDER */
		struct ticket_view
			ticket; /* redeem (also when refused as a second scan), refund, exchange, Q_TICKET */
		struct availability_view avail;
		struct stats_view stats;
		struct event_view event;
		struct customer_view customer;
		struct revoked_view revoked; /* Q_REVOKED */
		struct cmd_stock stock;      /* STOCK_OUT, STOCK_IN, STOCK_ACK: what was decided */
		struct {
			uint64_t seat_first; /* section load: index of its first seat */
			uint32_t seat_count;
		} section;
	};
};

#endif
