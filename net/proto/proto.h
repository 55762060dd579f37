/*
 * proto.h — the onsale wire protocol: frame layouts, opcodes, roles, codec.
 *
 * Clients (platform, box office, scanners, admin tools) talk to onsaled over
 * TCP in frames. A frame is a fixed 24-byte header and a body whose layout
 * is fixed per opcode; requests are pipelined and every reply echoes the
 * request id of its request, so replies may come back in any order. The
 * codec here is pure: no I/O, no allocation, nothing larger than one frame
 * (PROTO_FRAME_BYTES_MAX, core/limits.h) is ever read or written. Request
 * bodies map one to one onto the commands of core/cmd-t.h, reply bodies onto
 * its results. docs/PROTOCOL.md repeats these tables for client writers.
 *
 * All integers little-endian. Text fields are fixed-size, NUL-padded, not
 * necessarily NUL-terminated. Reserved bytes are sent as 0 and ignored.
 *
 * Frame header (24 bytes), both directions:
 *
 *   off size field
 *     0    4 magic        PROTO_MAGIC: the bytes "ONSL"
 *     4    1 version      PROTO_VERSION
 *     5    1 opcode       enum proto_op; a reply carries its request's
 *     6    2 flags        requests 0; replies PROTO_F_REPLY
 *     8    4 body_len     bytes after the header, <= PROTO_BODY_BYTES_MAX
 *    12    2 status       replies: enum status (core/status.h); requests 0
 *    14    2 reserved
 *    16    8 request_id   chosen by the client, echoed by the reply
 *
 * Request bodies, by opcode (offsets from the end of the header):
 *
 * EVENT_CREATE, EVENT_UPDATE (144)
 *     0    4 event_id           4  1 state          5  1 reserved
 *     6    2 customer_limit     8  4 hold_ttl_ms   12  4 units_max
 *    16    8 starts_at_ms      24  8 presale_start_ms
 *    32    8 public_start_ms   40  8 sales_end_ms
 *    48   48 name              96 48 venue
 *
 * TIER_ADD (72)
 *     0    4 event_id    4 1 tier   5 1 kind   6 2 reserved
 *     8    4 capacity   12 4 low_stock_threshold   16 8 price_minor
 *    24   48 name
 *
 * SECTION_LOAD (64 + 12 x row_count + 4 x seat_count)
 *     0    4 event_id    4 2 section   6 2 row_count   8 4 seat_count
 *    12    4 reserved   16 48 name
 *    64   12 x row_count: 0 8 label, 8 2 seat_count, 10 2 first_number
 *     ..   4 x seat_count (every row's seats, row after row):
 *                         0 1 tier, 1 1 flags, 2 2 rank
 *   row_count <= SECTION_ROWS_MAX, seat_count <= SECTION_SEATS_MAX and
 *   seat_count is the sum of the rows' seat counts.
 *
 * PRESALE_CODE_ADD (48)
 *     0    4 event_id    4 4 use_limit   8 1 code_len   9 7 reserved
 *    16   32 code
 *
 * HOLD (128)
 *     0    4 event_id    4 1 tier     5 1 mode      6 1 qty    7 1 channel
 *     8    1 flags       9 1 code_len 10 2 reserved 12 4 ttl_ms
 *    16    8 customer_id                24 8 idem_key
 *    32   32 code
 *    64   64 seats: PROTO_HOLD_SEATS x u32 (HOLD_SEATS: the first qty)
 *
 * HOLD_EXTEND, HOLD_RELEASE, CONFIRM, Q_HOLD, Q_ORDER (56)
 *     0    4 event_id    4 4 ttl_ms    8 8 hold_id   16 8 amount_minor
 *    24   32 payment_ref
 *
 * REDEEM, REFUND, EXCHANGE, Q_TICKET (32)
 *     0    4 event_id    4 4 gate_id   8 8 ticket_id   16 8 fee_minor
 *    24    1 kill       25 1 tier     26 2 reserved   28 4 seat
 *
 * Q_EVENT, Q_AVAILABILITY, Q_STATS, Q_CUSTOMER, EVENT_RETIRE (16)
 *     0    4 event_id    4 1 tier   5 3 reserved   8 8 customer_id
 *   EVENT_RETIRE reads event_id only; tier and customer_id are sent as 0.
 *
 * Q_SECTION_SEATS (8):  0 4 event_id   4 2 section   6 2 reserved
 * HELLO (40):           0 1 role   1 7 reserved   8 32 key
 * PING, STATS, TICKET_KEYS (0)
 *
 * CONFIRM_TOKENS: as CONFIRM (56); Q_TICKET_TOKEN: as Q_TICKET (32)
 * Q_REVOKED (16):       0 4 event_id   4 2 shard   6 2 reserved   8 8 since_seq
 * REDEEM_TOKEN (104):   0 4 event_id   4 4 gate_id   8 96 token (core/token.h)
 *
 * Reply bodies: an 8-byte reply head, then the opcode's reply body. A reply
 * whose status is in the server group (>= ST_UNAUTHENTICATED: refused by
 * the server before the core saw it) carries the head alone; every other
 * reply carries the whole reply body, zero where the result does not apply.
 *
 * Reply head (8)
 *     0    1 replayed (an idempotent repeat)   1 1 bad_frame reason
 *     2    2 reserved   4 4 low_stock_tiers (bit per tier)
 *
 * HOLD view: HOLD, HOLD_EXTEND, HOLD_RELEASE, CONFIRM, Q_HOLD, Q_ORDER (152)
 *     0    8 hold_id          8 8 customer_id     16 8 expires_at_ms
 *    24    8 amount_due_minor 32 8 first_ticket_id 40 8 amount_paid_minor
 *    48    4 event_id   52 1 tier   53 1 state   54 1 channel   55 1 qty
 *    56   64 seats: PROTO_HOLD_SEATS x u32     120 32 payment_ref
 *   seats: the first qty are seat numbers (SEAT_NONE for GA), the rest zero
 *
 * TICKET view: REDEEM, REFUND, EXCHANGE, Q_TICKET (72)
 *     0    8 ticket_id        8 8 order_id      16 8 customer_id
 *    24    8 price_minor     32 8 redeemed_at_ms 40 8 refund_fee_minor
 *    48    8 replaced_by     56 4 event_id      60 4 seat
 *    64    4 gate_id         68 1 tier          69 1 state   70 2 reserved
 *
 * AVAILABILITY: Q_AVAILABILITY (8 + 40 x tier_count)
 *     0    4 event_id    4 1 tier_count (<= TIERS_MAX)   5 3 reserved
 *     8   40 x tier_count:
 *            0 8 price_minor   8 4 capacity   12 4 free   16 4 held
 *           20 4 sold         24 4 killed    28 4 low_stock_threshold
 *           32 1 kind         33 1 defined   34 1 low_stock   35 5 reserved
 *
 * STATS view: Q_STATS (128)
 *     0    4 event_id    4 1 tier   5 3 reserved
 *     8   40 x 3 channels (online, box office, kiosk):
 *            0 8 held   8 8 sold   16 8 revenue_minor   24 8 redeemed
 *           32 8 refunded
 *
 * EVENT view: Q_EVENT (168)
 *     0  144 the EVENT_CREATE request body
 *   144    4 units_placed  148 4 seat_count   152 4 live_holds
 *   156    4 tickets_issued 160 2 section_count 162 1 retired (1: answered
 *                                                   from a retired event's summary)
 *   163    5 reserved
 *
 * CUSTOMER view: Q_CUSTOMER (24)
 *     0    4 event_id    4 4 units   8 8 customer_id   16 2 limit
 *    18    6 reserved
 *
 * SECTION: SECTION_LOAD (16)
 *     0    8 seat_first   8 4 seat_count   12 4 reserved
 *
 * SEAT STATES: Q_SECTION_SEATS (8 + seat_count)
 *     0    4 first_seat   4 4 seat_count (<= SECTION_SEATS_MAX)
 *     8    seat_count bytes, enum seat_state, row after row
 *
 * HELLO (16)
 *     0    1 role   1 1 reserved   2 2 shard_id   4 2 shard_count
 *     6    2 reserved   8 8 now_ms (server clock)
 *
 * STATS (192): PROTO_STAT_SLOTS x u64, indexed by enum proto_stat
 *
 * CONFIRM_TOKENS (152 + 8 + 96 x count): the HOLD view, then
 *   152  1 count (the order's tickets, 0 when refused)   153 7 reserved
 *   160  96 x count tokens: token k is ticket first_ticket_id + k
 * Q_TICKET_TOKEN (72 + 8 + 96 x count): the TICKET view, then
 *    72  1 count (1 for a valid or redeemed ticket, else 0)   73 7 reserved
 *    80  96 x count: the ticket's token
 * REDEEM_TOKEN (72): the TICKET view
 * Q_REVOKED (32 + 8 x count)
 *     0  4 event_id   4 2 shard   6 2 count (<= REVOKED_PAGE_MAX)
 *     8  8 first_seq 16 8 last_seq  24 1 more   25 1 gap   26 6 reserved
 *    32  8 x count ticket ids, oldest revocation first
 * TICKET_KEYS (8 + 40 x count)
 *     0  1 count (<= TOKEN_KEYS_MAX)   1 7 reserved
 *     8 40 x count: 0 4 key_id   4 4 reserved   8 32 Ed25519 public key
 *
 * EVENT_CREATE, EVENT_UPDATE, EVENT_RETIRE, TIER_ADD, PRESALE_CODE_ADD,
 * PING: the reply head alone.
 */
#ifndef ONSALE_PROTO_H
#define ONSALE_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"
#include "core/limits.h"
#include "core/status.h"
#include "core/token.h"

#define PROTO_MAGIC 0x4c534e4fu /* "ONSL" read as a little-endian u32 */
#define PROTO_VERSION 1
#define PROTO_HEADER_BYTES 24u
#define PROTO_REPLY_HEAD_BYTES 8u
#define PROTO_BODY_BYTES_MAX (PROTO_FRAME_BYTES_MAX - PROTO_HEADER_BYTES)
#define PROTO_F_REPLY 1u
#define PROTO_KEY_BYTES 32
#define PROTO_HOLD_SEATS 16           /* seat slots in HOLD bodies and hold views */
#define PROTO_HOLD_VIEW_QTY_OFF 55u   /* hold view: qty, u8 */
#define PROTO_HOLD_VIEW_SEATS_OFF 56u /* hold view: seats; past qty zero */
#define PROTO_STAT_SLOTS 24           /* u64 counters in a STATS reply */

/* Body sizes the byte tables above give; the codec's layouts are checked
 * against them by proto_check_tables(). */
#define PROTO_SECTION_HEAD_BYTES 64u
#define PROTO_ROW_BYTES 12u
#define PROTO_SEAT_BYTES 4u
#define PROTO_AVAIL_HEAD_BYTES 8u
#define PROTO_TIER_BYTES 40u
#define PROTO_SEATS_HEAD_BYTES 8u
#define PROTO_TOKENS_HEAD_BYTES 8u
#define PROTO_KEYS_HEAD_BYTES 8u
#define PROTO_KEY_ENTRY_BYTES 40u
#define PROTO_REVOKED_HEAD_BYTES 32u

/* Opcodes. Core operations keep the number of their enum cmd_type. */
enum proto_op {
	PROTO_OP_EVENT_CREATE = 0x01,
	PROTO_OP_EVENT_UPDATE = 0x02,
	PROTO_OP_TIER_ADD = 0x03,
	PROTO_OP_SECTION_LOAD = 0x04,
	PROTO_OP_PRESALE_CODE_ADD = 0x05,
	PROTO_OP_EVENT_RETIRE = 0x06,
	PROTO_OP_HOLD = 0x0a,
	PROTO_OP_HOLD_EXTEND = 0x0b,
	PROTO_OP_HOLD_RELEASE = 0x0c,
	PROTO_OP_CONFIRM = 0x0e,
	PROTO_OP_REDEEM = 0x0f,
	PROTO_OP_REFUND = 0x10,
	PROTO_OP_EXCHANGE = 0x11,
	PROTO_OP_Q_EVENT = 0x28,
	PROTO_OP_Q_AVAILABILITY = 0x29,
	PROTO_OP_Q_HOLD = 0x2a,
	PROTO_OP_Q_ORDER = 0x2b,
	PROTO_OP_Q_TICKET = 0x2c,
	PROTO_OP_Q_STATS = 0x2d,
	PROTO_OP_Q_CUSTOMER = 0x2e,
	PROTO_OP_Q_SECTION_SEATS = 0x2f,
	PROTO_OP_HELLO = 0x30,
	PROTO_OP_PING = 0x31,
	PROTO_OP_STATS = 0x32,
	/* e-tickets (docs/TICKETS.md) */
	PROTO_OP_Q_REVOKED = 0x33,      /* core command CMD_Q_REVOKED */
	PROTO_OP_CONFIRM_TOKENS = 0x34, /* CONFIRM, its tickets' tokens in the reply */
	PROTO_OP_Q_TICKET_TOKEN = 0x35, /* Q_TICKET, the ticket's token in the reply */
	PROTO_OP_REDEEM_TOKEN = 0x36,   /* REDEEM of the ticket a token names, checked first */
	PROTO_OP_TICKET_KEYS = 0x37,    /* the public keys that verify tokens */
};
#define PROTO_OP_LIMIT 0x40 /* every opcode is below */

/* Roles a connection authenticates as. NONE: before HELLO succeeds. */
enum proto_role {
	PROTO_ROLE_NONE = 0,
	PROTO_ROLE_ADMIN = 1,
	PROTO_ROLE_PLATFORM = 2,
	PROTO_ROLE_BOX_OFFICE = 3,
	PROTO_ROLE_SCANNER = 4,
};
#define PROTO_ROLES 5

/* Why a frame is bad. Sent in the reply head of an ST_BAD_FRAME reply. */
enum proto_bad {
	PROTO_BAD_MAGIC = 1,
	PROTO_BAD_VERSION = 2,
	PROTO_BAD_FLAGS = 3,       /* a reply where a request was due, or back */
	PROTO_BAD_OPCODE = 4,      /* unknown opcode */
	PROTO_BAD_TOO_LONG = 5,    /* body_len over PROTO_BODY_BYTES_MAX */
	PROTO_BAD_BODY_LENGTH = 6, /* body_len not the opcode's body size */
	PROTO_BAD_BODY = 7,        /* counts in the body over a limit or inconsistent */
};
#define PROTO_BAD_LIMIT 8

/* Server counters of a STATS reply. New ones are appended. */
enum proto_stat {
	PROTO_STAT_UPTIME_MS = 0,
	PROTO_STAT_SHARDS = 1,
	PROTO_STAT_CONNECTIONS_OPEN = 2,
	PROTO_STAT_CONNECTIONS_TOTAL = 3,
	PROTO_STAT_REQUESTS = 4,
	PROTO_STAT_BAD_FRAMES = 5,
	PROTO_STAT_REFUSED = 6, /* unauthenticated or forbidden */
	PROTO_STAT_BYTES_IN = 7,
	PROTO_STAT_BYTES_OUT = 8,
	PROTO_STAT_WAL_RECORDS = 9,
	PROTO_STAT_WAL_BYTES = 10,
	PROTO_STAT_WAL_FSYNCS = 11,
	PROTO_STAT_HOLDS_EXPIRED = 12,
	PROTO_STAT_STOCK_TRANSFERS = 13,
	PROTO_STAT_WAL_ERRORS = 14,       /* shards stopped by a failed WAL write/fsync */
	PROTO_STAT_WAL_PAUSED = 15,       /* shards refusing changes for lack of space now */
	PROTO_STAT_DISK_FULL_EVENTS = 16, /* times a shard paused for lack of space */

	/* clients closed: their output deadline passed (they read nothing) */
	PROTO_STAT_CLOSED_NOT_READING = 17,
	/* request slots in use now (requests in flight, replies waiting) */
	PROTO_STAT_REQS_IN_FLIGHT = 18,
	PROTO_STAT_REQUESTS_SHED = 19,         /* answered 73 by load shedding (net/shard/shed.c) */
	PROTO_STAT_CONNECTIONS_REFUSED = 20,   /* over a connection limit: status, then closed */
	PROTO_STAT_CONNECTIONS_TIMED_OUT = 21, /* closed by a deadline (HELLO, frame, idle) */
	PROTO_STAT_COUNT = 22,
};

static_assert(PROTO_STAT_COUNT <= PROTO_STAT_SLOTS, "counters fit the STATS reply");
static_assert(HOLD_UNITS_MAX <= PROTO_HOLD_SEATS, "a hold's seats fit its wire slots");
static_assert(TIERS_MAX <= 255, "tier_count is a u8");
static_assert(CHANNELS == 3, "the STATS view has three channel blocks");
static_assert(PROTO_BODY_BYTES_MAX >= PROTO_SECTION_HEAD_BYTES +
					      SECTION_ROWS_MAX * PROTO_ROW_BYTES +
					      SECTION_SEATS_MAX * PROTO_SEAT_BYTES,
	      "the largest section load fits one frame");
static_assert(PROTO_BODY_BYTES_MAX >=
		      PROTO_REPLY_HEAD_BYTES + PROTO_SEATS_HEAD_BYTES + SECTION_SEATS_MAX,
	      "the largest seat-state reply fits one frame");
static_assert(PROTO_BODY_BYTES_MAX >= PROTO_REPLY_HEAD_BYTES + PROTO_AVAIL_HEAD_BYTES +
					      TIERS_MAX * PROTO_TIER_BYTES,
	      "the largest availability fits one frame");

struct proto_hello {
	uint8_t role; /* enum proto_role */
	uint8_t key[PROTO_KEY_BYTES];
};

struct proto_seats_query {
	uint32_t event_id;
	uint16_t section;
};

/* A request. Core opcodes use cmd (cmd.type set from the opcode); HELLO
 * uses hello, Q_SECTION_SEATS seats; PING and STATS have no body. */
/* REDEEM_TOKEN: not a core command as it arrives; the server checks the
 * token and redeems the ticket it names (a CMD_REDEEM). */
struct proto_token_redeem {
	uint32_t event_id;
	uint32_t gate_id;
	uint8_t token[TOKEN_BYTES];
};

struct proto_request {
	uint64_t request_id;
	uint8_t opcode; /* enum proto_op */
	union {
		struct cmd cmd;
		struct proto_hello hello;
		struct proto_seats_query seats;
		struct proto_token_redeem redeem;
	};
};

/* Where a decoded SECTION_LOAD puts its rows and seats: the wire packs them
 * little-endian and unaligned, so they are copied out, never pointed at. */
struct proto_section_buf {
	struct row_spec rows[SECTION_ROWS_MAX];
	struct seat_spec seats[SECTION_SEATS_MAX];
};

struct proto_hello_reply {
	uint8_t role;
	uint16_t shard_id;
	uint16_t shard_count;
	uint64_t now_ms;
};

struct proto_server_stats {
	uint64_t counters[PROTO_STAT_SLOTS]; /* indexed by enum proto_stat */
};

struct proto_seat_states {
	uint32_t first_seat;
	uint32_t seat_count;
	const uint8_t *states; /* seat_count bytes; decoded: points into the frame */
};

/* Tokens after a hold or ticket view (CONFIRM_TOKENS, Q_TICKET_TOKEN):
 * count x TOKEN_BYTES at bytes; encoding reads them there, decoding points
 * bytes into the frame. */
struct proto_tokens {
	uint8_t count;
	const uint8_t *bytes;
};

/* TICKET_KEYS: encoding reads keys; decoding points wire at the count
 * entries of PROTO_KEY_ENTRY_BYTES in the frame (proto_ticket_key_get). */
struct proto_ticket_keys {
	uint8_t count;
	const struct token_keys *keys;
	const uint8_t *wire;
};

/* A reply. res.status is the frame's status; res.replayed and
 * res.low_stock_tiers travel in the reply head; the body goes to the member
 * of res (core opcodes) or of the union (HELLO, STATS, Q_SECTION_SEATS) the
 * opcode names. */
struct proto_reply {
	uint64_t request_id;
	uint8_t opcode;
	uint8_t bad_reason; /* enum proto_bad when res.status is ST_BAD_FRAME */
	struct result res;
	union {
		struct proto_hello_reply hello;
		struct proto_server_stats server;
		struct proto_seat_states seats;
		struct proto_tokens tokens;
		struct proto_ticket_keys keys;
	};
};

/*
 * Decoding from a byte stream: buf holds the len bytes received so far,
 * starting at a frame boundary. Returns the frame's length in bytes (> 0)
 * when a whole frame was decoded, 0 when more bytes are needed, or
 * -enum proto_bad when the bytes cannot be a valid frame (decided as early
 * as the bytes allow: a bad magic from its first byte). On a bad frame
 * whose magic and version were right, request_id and opcode are filled in
 * for the error reply; otherwise they are 0.
 *
 * proto_decode_request: SECTION_LOAD copies rows and seats into *sec and
 * points cmd.section at them; sec must not be NULL.
 * proto_decode_reply: a seat-state reply points seats.states into buf.
 */
long proto_decode_request(const uint8_t *buf, size_t len, struct proto_request *req,
			  struct proto_section_buf *sec);
long proto_decode_reply(const uint8_t *buf, size_t len, struct proto_reply *rep);

/*
 * Encoding: returns the frame's length, or 0 when cap is too small or the
 * message cannot be sent (unknown opcode, counts over the limits).
 *
 * proto_encode_cmd: a core command as the request of its opcode.
 * proto_encode_result: a core result as the reply to opcode, with its body
 *   unless the status is a server one (see the reply tables above).
 * proto_encode_bad_frame: the ST_BAD_FRAME reply before closing.
 */
size_t proto_encode_request(uint8_t *buf, size_t cap, const struct proto_request *req);
size_t proto_encode_cmd(uint8_t *buf, size_t cap, uint64_t request_id, const struct cmd *cmd);
size_t proto_encode_reply(uint8_t *buf, size_t cap, const struct proto_reply *rep);
size_t proto_encode_result(uint8_t *buf, size_t cap, uint64_t request_id, uint8_t opcode,
			   const struct result *res);
size_t proto_encode_bad_frame(uint8_t *buf, size_t cap, uint64_t request_id, uint8_t opcode,
			      enum proto_bad why);

/* Nonzero when role may send opcode. Before HELLO (PROTO_ROLE_NONE) only
 * HELLO is allowed; unknown roles and opcodes are refused. */
int proto_role_allows(enum proto_role role, uint8_t opcode);

/* The opcode of a core command type, 0 when it has none (expiry, stock). */
uint8_t proto_op_of_cmd(uint8_t cmd_type);

/* Nonzero when status is in the server group: such replies carry no body. */
int proto_status_is_server(enum status st);

/* Entry i of a decoded TICKET_KEYS reply (i < keys.count). */
void proto_ticket_key_get(const struct proto_ticket_keys *keys, unsigned i,
			  struct token_pubkey *out);

/* Stable lower-case names ("hold", "bad_magic"); "unknown" if none. */
const char *proto_op_name(uint8_t opcode);
const char *proto_bad_name(enum proto_bad why);
const char *proto_role_name(enum proto_role role);

/* Checks the codec's layout tables (fields inside their body, no overlap,
 * sizes as documented). NULL when sound, else a description. For tests. */
const char *proto_check_tables(void);

#endif
