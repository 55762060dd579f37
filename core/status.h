/*
 * status.h — the one status vocabulary of onsale.
 *
 * Every command result, every protocol reply and every tool exit reason
 * speaks in these codes. Domain rejections (sold out, limit reached, hold
 * expired) are statuses, not errors: the request was understood and refused.
 * The numbers travel on the wire and in docs/PROTOCOL.md, so they never
 * change once released; new codes are appended within their group.
 */
#ifndef ONSALE_STATUS_H
#define ONSALE_STATUS_H

enum status {
	ST_OK = 0,

	/* request shape */
	ST_BAD_COMMAND = 1,    /* unknown command type */
	ST_BAD_ARGUMENT = 2,   /* a field out of range or inconsistent */
	ST_RECORD_INVALID = 3, /* a WAL record failed to decode (replay) */

	/* events */
	ST_EVENT_UNKNOWN = 10,
	ST_EVENT_EXISTS = 11,
	ST_EVENT_TABLE_FULL = 12,
	ST_EVENT_NOT_ON_SALE = 13, /* draft, paused or closed */
	ST_SALES_NOT_STARTED = 14, /* before the presale (or public) window */
	ST_SALES_ENDED = 15,
	ST_EVENT_FULL = 16, /* the event's declared units are all placed */

	/* tiers and seat maps */
	ST_TIER_UNKNOWN = 20,
	ST_TIER_EXISTS = 21,
	ST_TIER_KIND_MISMATCH = 22, /* seats asked of a GA tier, or a quantity of a reserved one */
	ST_SECTION_EXISTS = 23,
	ST_SEATMAP_FULL = 24,
	ST_SEAT_UNKNOWN = 25,

	/* presale access codes */
	ST_PRESALE_CODE_REQUIRED = 30,
	ST_PRESALE_CODE_INVALID = 31,
	ST_PRESALE_CODE_EXHAUSTED = 32,
	ST_PRESALE_CODE_TABLE_FULL = 33,
	ST_PRESALE_CODE_EXISTS = 34,

	/* holds */
	ST_SOLD_OUT = 40,          /* not enough free units in the tier */
	ST_SEAT_UNAVAILABLE = 41,  /* a requested seat is held, sold or killed */
	ST_NO_ADJACENT_SEATS = 42, /* best available found no block of that size */
	ST_CUSTOMER_LIMIT = 43,    /* held + owned would pass the event's limit */
	ST_HOLD_UNKNOWN = 44,
	ST_HOLD_EXPIRED = 45,
	ST_HOLD_RELEASED = 46,
	ST_HOLD_CONFIRMED = 47,
	ST_HOLD_NOT_DUE = 48, /* expiry asked before the hold's time */
	ST_HOLD_TABLE_FULL = 49,

	/* orders and tickets */
	ST_AMOUNT_MISMATCH = 50,
	ST_TICKET_TABLE_FULL = 51,
	ST_TICKET_UNKNOWN = 52,
	ST_TICKET_ALREADY_REDEEMED = 53, /* second scan: the reply carries the first */
	ST_TICKET_REFUNDED = 54,
	ST_TICKET_EXCHANGED = 55,
	ST_TICKET_REDEEMED = 56, /* refund or exchange of a used ticket */

	/* retired events (EVENT_RETIRE) */
	ST_EVENT_RETIRED = 60,          /* its tables are freed: only its summary answers */
	ST_EVENT_NOT_CLOSED = 61,       /* only a closed event can be retired */
	ST_EVENT_HOLDS_LIVE = 62,       /* release them or let them expire, then retry */
	ST_EVENT_TRANSFER_PENDING = 63, /* stock given to a peer not yet acknowledged: retry */
	ST_RETIRED_TABLE_FULL = 64,     /* RETIRED_MAX summaries kept already */

	/* server and protocol (net/) */
	ST_UNAUTHENTICATED = 70,
	ST_FORBIDDEN = 71, /* the role may not use this operation */
	ST_BAD_FRAME = 72,
	ST_OVERLOADED = 73,
	ST_INTERNAL = 74,
	ST_UNAVAILABLE = 75, /* the owning shard is stopped */
	/* applied, but the WAL batch that held it failed to become durable: it
	 * may or may not be there after a restart; retry with the same key/id
	 * once the server is back */
	ST_OUTCOME_UNKNOWN = 76,
	/* the shard's WAL is paused for lack of disk space: nothing was
	 * applied; retry later (queries still work) */
	ST_DISK_FULL = 77,
	/* a deadline passed (HELLO, a frame in progress, idle): sent unasked
	 * (request id 0, opcode 0), then the connection is closed */
	ST_TIMEOUT = 78,
	/* the server or this peer address has all the connections it may:
	 * sent unasked on a new connection, which is then closed */
	ST_TOO_MANY_CONNECTIONS = 79,

	/* e-ticket tokens (core/token.h): a scanner and REDEEM_TOKEN refuse */
	ST_TOKEN_INVALID = 80,       /* bad form, or the signature fails: forged or altered */
	ST_TOKEN_KEY_UNKNOWN = 81,   /* signed by a key that is retired or never was ours */
	ST_TOKEN_OTHER_EVENT = 82,   /* a real token, of another event */
	ST_TOKEN_NOT_YET_VALID = 83, /* before its window */
	ST_TOKEN_EXPIRED = 84,       /* after its window */
	ST_TOKEN_REVOKED = 85,       /* its ticket was refunded or exchanged */
};

/* Stable lower-case name of a status ("sold_out"), "unknown" if none. */
const char *status_name(enum status st);

#endif
