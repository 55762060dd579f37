/*
 * onsale.h — libonsale, the C client library of onsaled.
 *
 * One struct onsale is one TCP connection to onsaled speaking the wire
 * protocol of docs/PROTOCOL.md. It offers two ways to talk:
 *
 * - Synchronous calls, one per operation (onsale_hold_ga, onsale_confirm,
 *   ...): send one request, wait for its reply. They return the reply's
 *   status (>= 0, enum status: 0 is ok, > 0 a refusal such as
 *   ST_SOLD_OUT) or a negative errno when no reply came (connection lost,
 *   timeout). They are thin wrappers over onsale_call().
 *
 * - A pipelined asynchronous interface: onsale_submit() queues a request
 *   (each gets a request id and carries a caller's cookie), onsale_flush()
 *   writes the queue to the socket, onsale_poll() / onsale_wait() return
 *   completions in the order the replies arrive, which need not be the order
 *   of submission. At most `window` requests are in flight; past that,
 *   submit says -EBUSY until completions are reaped.
 *
 * Every buffer and request slot is allocated by onsale_connect(); nothing is
 * allocated per request. The socket is non-blocking; onsale_fd() gives it to
 * an event loop: wait for POLLIN (and POLLOUT while onsale_flush() reports
 * bytes pending), then call onsale_poll() with timeout 0 until it returns
 * fewer than max, since replies already read may wait in the library's
 * buffer with nothing left on the socket to wake the loop.
 *
 * Operations take and fill the core's own types (core/cmd-t.h): struct cmd
 * for requests, struct result for replies. "prep" helpers fill a struct cmd
 * for the common cases; a caller may change any field before sending it.
 *
 * Rules:
 * - A connection is used by one thread at a time.
 * - A synchronous call needs no asynchronous request in flight on the same
 *   connection (-EBUSY otherwise); use a second connection to mix them.
 * - A synchronous call that times out closes the connection (-ETIMEDOUT):
 *   its outcome is unknown, retry on a new connection with the same
 *   idempotency key / hold id / ticket id.
 * - Once a connection fails, every request in flight completes with the
 *   failure's -errno and later calls return it; close and reconnect.
 * - Pointer arguments are not checked: every one must be valid, except
 *   where a comment says NULL is fine (onsale_close's c, the options of
 *   onsale_connect / onsale_open, onsale_auth's info, the request_id of
 *   the submit calls, a payment_ref). A NULL struct onsale, cmd, res, out
 *   or callback is a crash, not -EINVAL.
 *
 * Build and link: see docs/CLIENT.md (pkg-config --cflags --libs onsale).
 * C++ callers include it as it is: every declaration here and in the core
 * headers it brings has C linkage.
 */
#ifndef ONSALE_CLIENT_H
#define ONSALE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "core/cmd-t.h"
#include "core/status.h"
#include "core/token.h"

#define ONSALE_VERSION "0.1.0"
#define ONSALE_KEY_BYTES 32
#define ONSALE_PORT_DEFAULT 7400

/* Defaults and bounds of struct onsale_options. By Little's law a window of
 * 256 allows 2.5 M requests/s on one connection at a 100 us round trip (a
 * durable write's fdatasync takes longer: raise it for write-heavy load).
 * The buffers hold a whole default window of ordinary requests (at most
 * 168 bytes each, 42 KiB) and at least one frame of the largest size
 * (64 KiB, a section load). */
#define ONSALE_WINDOW_DEFAULT 256u
#define ONSALE_WINDOW_MAX 65536u
#define ONSALE_TX_BYTES_DEFAULT (256u * 1024u)
#define ONSALE_RX_BYTES_DEFAULT (256u * 1024u)
#define ONSALE_BUFFER_BYTES_MIN (64u * 1024u)
#define ONSALE_BUFFER_BYTES_MAX (64u * 1024u * 1024u)
#define ONSALE_CONNECT_TIMEOUT_MS_DEFAULT 5000
#ifndef ONSALE_CALL_TIMEOUT_MS_DEFAULT /* a profiling build (valgrind) sets more */
#define ONSALE_CALL_TIMEOUT_MS_DEFAULT 10000
#endif

/* Roles a connection authenticates as (HELLO). */
enum onsale_role {
	ONSALE_ROLE_ADMIN = 1,
	ONSALE_ROLE_PLATFORM = 2,
	ONSALE_ROLE_BOX_OFFICE = 3,
	ONSALE_ROLE_SCANNER = 4,
};

/* Opcodes of the requests that are not core commands. A core command's
 * opcode is its enum cmd_type (CMD_HOLD is opcode 0x0a, and so on). */
enum onsale_op {
	ONSALE_OP_SECTION_SEATS = 0x2f,
	ONSALE_OP_HELLO = 0x30,
	ONSALE_OP_PING = 0x31,
	ONSALE_OP_STATS = 0x32,
	/* e-tickets (docs/TICKETS.md); Q_REVOKED is the core command CMD_Q_REVOKED */
	ONSALE_OP_CONFIRM_TOKENS = 0x34,
	ONSALE_OP_Q_TICKET_TOKEN = 0x35,
	ONSALE_OP_REDEEM_TOKEN = 0x36,
	ONSALE_OP_TICKET_KEYS = 0x37,
};

/* Server counters of a STATS reply, docs/PROTOCOL.md "server stats". */
enum onsale_stat {
	ONSALE_STAT_UPTIME_MS = 0,
	ONSALE_STAT_SHARDS = 1,
	ONSALE_STAT_CONNECTIONS_OPEN = 2,
	ONSALE_STAT_CONNECTIONS_TOTAL = 3,
	ONSALE_STAT_REQUESTS = 4,
	ONSALE_STAT_BAD_FRAMES = 5,
	ONSALE_STAT_REFUSED = 6,
	ONSALE_STAT_BYTES_IN = 7,
	ONSALE_STAT_BYTES_OUT = 8,
	ONSALE_STAT_WAL_RECORDS = 9,
	ONSALE_STAT_WAL_BYTES = 10,
	ONSALE_STAT_WAL_FSYNCS = 11,
	ONSALE_STAT_HOLDS_EXPIRED = 12,
	ONSALE_STAT_STOCK_TRANSFERS = 13,
	ONSALE_STAT_WAL_ERRORS = 14,       /* shards stopped by a failed WAL write/fsync */
	ONSALE_STAT_WAL_PAUSED = 15,       /* shards refusing changes for lack of space now */
	ONSALE_STAT_DISK_FULL_EVENTS = 16, /* times a shard paused for lack of space */

	/* clients closed: their output deadline passed (they read nothing) */
	ONSALE_STAT_CLOSED_NOT_READING = 17,
	/* request slots in use now (requests in flight, replies waiting) */
	ONSALE_STAT_REQS_IN_FLIGHT = 18,
	ONSALE_STAT_REQUESTS_SHED = 19,         /* answered 73 by load shedding: retry later */
	ONSALE_STAT_CONNECTIONS_REFUSED = 20,   /* over a connection limit */
	ONSALE_STAT_CONNECTIONS_TIMED_OUT = 21, /* closed by a deadline */
};
#define ONSALE_STAT_SLOTS 24

struct onsale_options {
	unsigned window;        /* requests in flight at most; 0: ONSALE_WINDOW_DEFAULT */
	int connect_timeout_ms; /* 0: the default; < 0: wait as long as the kernel does */
	int call_timeout_ms;    /* synchronous calls; 0: the default; < 0: forever */
	size_t tx_bytes;        /* send buffer; 0: the default */
	size_t rx_bytes;        /* receive buffer; 0: the default */
};

struct onsale_hello_info {
	uint8_t role;
	uint16_t shard_id;
	uint16_t shard_count;
	uint64_t now_ms; /* the server's clock; hold expiry times are on it */
};

struct onsale_server_stats {
	uint64_t counters[ONSALE_STAT_SLOTS]; /* indexed by enum onsale_stat */
};

struct onsale_seat_states {
	uint32_t first_seat; /* seat number of the section's first seat */
	uint32_t seat_count;
	uint8_t states[SECTION_SEATS_MAX]; /* enum seat_state, row after row */
};

/*
 * One finished request. rc is what a synchronous call would have returned:
 * the reply's status (>= 0, also in res.status), or -errno when no reply
 * came (the connection failed: -ECONNRESET, -EPIPE, -EPROTO for a reply
 * that could not be decoded, -ETIMEDOUT after a sync call's timeout or a
 * server deadline (status 78), -ECONNREFUSED when the server refused the
 * connection over a connection limit (status 79)); then
 * res is zero and the outcome is unknown.
 */
struct onsale_completion {
	uint64_t request_id;
	uint64_t cookie; /* as given to the submit call */
	int rc;
	uint8_t opcode;           /* enum cmd_type for core commands, else enum onsale_op */
	uint8_t bad_frame_reason; /* rc == ST_BAD_FRAME: why (docs/PROTOCOL.md) */
	struct result res;        /* core commands */
	union {
		struct onsale_hello_info hello;    /* ONSALE_OP_HELLO */
		struct onsale_server_stats server; /* ONSALE_OP_STATS */
		struct {
			uint32_t first_seat;
			uint32_t seat_count;
			/* seat_count bytes in the receive buffer, valid until the
			 * next poll, wait or synchronous call on the connection */
			const uint8_t *states;
		} seats; /* ONSALE_OP_SECTION_SEATS */
		struct {
			uint8_t count;
			/* count x TOKEN_BYTES in the receive buffer, valid as
			 * seats.states; token k is ticket first_ticket_id + k */
			const uint8_t *bytes;
		} tokens; /* ONSALE_OP_CONFIRM_TOKENS, ONSALE_OP_Q_TICKET_TOKEN */
		struct {
			uint8_t count;
			const uint8_t *wire; /* as seats.states; onsale_ticket_keys() reads it */
		} keys;                      /* ONSALE_OP_TICKET_KEYS */
	};
};

/* Tokens of a CONFIRM_TOKENS or Q_TICKET_TOKEN reply, copied out. */
struct onsale_tokens {
	uint8_t count;
	uint8_t bytes[HOLD_UNITS_MAX][TOKEN_BYTES];
};

/* A scanner's place in an event's revocation list: one seq per shard
 * (docs/TICKETS.md). Zero it, set event_id and shard_count (from
 * onsale_hello_info), then call onsale_revoked_sync() as often as wanted. */
struct onsale_revocations {
	uint32_t event_id;
	uint16_t shard_count;
	uint64_t last_seq[SHARDS_MAX];
	uint8_t gap; /* set when a shard had forgotten revocations we missed */
};

struct onsale;

/* ---- connection ---- */

/* Connects to host (name or address) and port with TCP_NODELAY. opt may be
 * NULL for the defaults. 0 and *out set, or -errno (-EHOSTUNREACH when the
 * name does not resolve, -ETIMEDOUT, -ECONNREFUSED, -EINVAL bad options,
 * -ENOSYS when libsodium cannot initialise). Calls sodium_init(). */
int onsale_connect(const char *host, uint16_t port, const struct onsale_options *opt,
		   struct onsale **out);

/* HELLO: authenticates as role with its 32-byte key. 0 on success (info,
 * if not NULL, filled); -EACCES when the server refused the key, after
 * which the connection is closed; another status or -errno otherwise. */
int onsale_auth(struct onsale *c, enum onsale_role role, const uint8_t key[ONSALE_KEY_BYTES],
		struct onsale_hello_info *info);

/* onsale_connect and onsale_auth; on failure nothing is left open. */
int onsale_open(const char *host, uint16_t port, enum onsale_role role,
		const uint8_t key[ONSALE_KEY_BYTES], const struct onsale_options *opt,
		struct onsale **out);

/* Closes the socket and frees everything; requests in flight are dropped
 * without completions. NULL is fine. */
void onsale_close(struct onsale *c);

/* The socket, for the caller's event loop; do not read, write or close it. */
int onsale_fd(const struct onsale *c);

/* 0 while the connection works, else the -errno it failed with. */
int onsale_error(const struct onsale *c);

/* What rc (a status or -errno) means: "ok", "sold_out", "Connection reset
 * by peer". */
const char *onsale_strerror(int rc);

/* 64 hex digits into a key: 0, or -EINVAL. */
int onsale_key_from_hex(const char *hex, uint8_t key[ONSALE_KEY_BYTES]);

/* role's key from onsaled's config file (`<role>_key=<64 hex>` lines, see
 * onsaled --help): 0, -ENOENT when the file has none, -EINVAL when it is
 * malformed, or the -errno of opening the file. */
int onsale_key_from_config(const char *path, enum onsale_role role, uint8_t key[ONSALE_KEY_BYTES]);

/* ---- request builders: fill *cmd (zeroing it first) ---- */

void onsale_prep_presale_code_add(struct cmd *cmd, uint32_t event_id, const char *code,
				  uint8_t code_len, uint32_t use_limit);
/* Online channel, the event's TTL, no presale code, no flags. */
void onsale_prep_hold_ga(struct cmd *cmd, uint32_t event_id, uint8_t tier, uint8_t qty,
			 uint64_t customer_id, uint64_t idem_key);
void onsale_prep_hold_seats(struct cmd *cmd, uint32_t event_id, uint8_t tier, const uint32_t *seats,
			    uint8_t count, uint64_t customer_id, uint64_t idem_key);
void onsale_prep_hold_best(struct cmd *cmd, uint32_t event_id, uint8_t tier, uint8_t qty,
			   uint64_t customer_id, uint64_t idem_key);
void onsale_prep_hold_extend(struct cmd *cmd, uint32_t event_id, uint64_t hold_id, uint32_t ttl_ms);
void onsale_prep_hold_release(struct cmd *cmd, uint32_t event_id, uint64_t hold_id);
/* payment_ref: a string, cut to PAYMENT_REF_BYTES; NULL for none. */
void onsale_prep_confirm(struct cmd *cmd, uint32_t event_id, uint64_t hold_id,
			 uint64_t amount_minor, const char *payment_ref);
void onsale_prep_redeem(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint32_t gate_id);
void onsale_prep_refund(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint64_t fee_minor,
			int kill);
/* seat: the target seat number, or SEAT_NONE for GA / best available. */
void onsale_prep_exchange(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint8_t tier,
			  uint32_t seat);
/* Queries: type is CMD_Q_EVENT, CMD_Q_AVAILABILITY, CMD_Q_STATS (tier) or
 * CMD_Q_CUSTOMER (customer_id); unused arguments 0. */
void onsale_prep_query(struct cmd *cmd, uint8_t type, uint32_t event_id, uint8_t tier,
		       uint64_t customer_id);
/* CMD_Q_HOLD, CMD_Q_ORDER (id: the hold / order id) or CMD_Q_TICKET. */
void onsale_prep_lookup(struct cmd *cmd, uint8_t type, uint32_t event_id, uint64_t id);

/* ---- synchronous calls: status (>= 0) or -errno; res filled ---- */

/* Any core command a client may send (CMD_HOLD_EXPIRE, the stock transfers
 * CMD_STOCK_* and the exchange legs CMD_XCHG_* are the server's own: -EINVAL,
 * as is an unknown type). */
int onsale_call(struct onsale *c, const struct cmd *cmd, struct result *res);

int onsale_event_create(struct onsale *c, const struct cmd_event *ev, struct result *res);
int onsale_event_update(struct onsale *c, const struct cmd_event *ev, struct result *res);
int onsale_tier_add(struct onsale *c, const struct cmd_tier *tier, struct result *res);
/* res->section: the section's first seat number and seat count. */
int onsale_section_load(struct onsale *c, const struct cmd_section *sec, struct result *res);
int onsale_presale_code_add(struct onsale *c, uint32_t event_id, const char *code, uint8_t code_len,
			    uint32_t use_limit, struct result *res);
/* Frees a closed event's tables on every shard, keeping its summary: its
 * final statistics and availability still answer Q_STATS, Q_AVAILABILITY
 * and Q_EVENT (retired = 1); anything else about it is event_retired, and
 * the id cannot be created again. Refused with event_not_closed,
 * event_holds_live, event_transfer_pending (retry shortly) or
 * retired_table_full; retiring a retired event is ok (replayed). */
int onsale_event_retire(struct onsale *c, uint32_t event_id, struct result *res);

int onsale_hold(struct onsale *c, const struct cmd_hold *hold, struct result *res);
int onsale_hold_ga(struct onsale *c, uint32_t event_id, uint8_t tier, uint8_t qty,
		   uint64_t customer_id, uint64_t idem_key, struct result *res);
int onsale_hold_seats(struct onsale *c, uint32_t event_id, uint8_t tier, const uint32_t *seats,
		      uint8_t count, uint64_t customer_id, uint64_t idem_key, struct result *res);
int onsale_hold_best(struct onsale *c, uint32_t event_id, uint8_t tier, uint8_t qty,
		     uint64_t customer_id, uint64_t idem_key, struct result *res);
int onsale_hold_extend(struct onsale *c, uint32_t event_id, uint64_t hold_id, uint32_t ttl_ms,
		       struct result *res);
int onsale_hold_release(struct onsale *c, uint32_t event_id, uint64_t hold_id, struct result *res);
int onsale_confirm(struct onsale *c, uint32_t event_id, uint64_t hold_id, uint64_t amount_minor,
		   const char *payment_ref, struct result *res);
int onsale_redeem(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint32_t gate_id,
		  struct result *res);
int onsale_refund(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint64_t fee_minor,
		  int kill, struct result *res);
int onsale_exchange(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint8_t tier,
		    uint32_t seat, struct result *res);

int onsale_query_event(struct onsale *c, uint32_t event_id, struct result *res);
int onsale_query_availability(struct onsale *c, uint32_t event_id, struct result *res);
int onsale_query_hold(struct onsale *c, uint32_t event_id, uint64_t hold_id, struct result *res);
int onsale_query_order(struct onsale *c, uint32_t event_id, uint64_t order_id, struct result *res);
int onsale_query_ticket(struct onsale *c, uint32_t event_id, uint64_t ticket_id,
			struct result *res);
int onsale_query_stats(struct onsale *c, uint32_t event_id, uint8_t tier, struct result *res);
int onsale_query_customer(struct onsale *c, uint32_t event_id, uint64_t customer_id,
			  struct result *res);
int onsale_query_section_seats(struct onsale *c, uint32_t event_id, uint16_t section,
			       struct onsale_seat_states *out);

int onsale_ping(struct onsale *c);
int onsale_server_stats(struct onsale *c, struct onsale_server_stats *out);

/* ---- e-tickets (docs/TICKETS.md) ----
 *
 * A ticket's token (core/token.h) is 96 bytes, 128 characters as base64url
 * (token_to_text, token_from_text). Offline, a scanner verifies it with
 * token_check() and the public keys alone, and refuses the ids of the
 * revocation list; these calls get tokens, keys and that list from the
 * server. Call sodium_init() before token_check() when the program does
 * not call onsale_ticket_keys_load() or onsale_connect() first (both do).
 */

/* CONFIRM whose reply also carries the order's tokens (tokens->count =
 * qty when ok, 0 when refused; token k is ticket first_ticket_id + k).
 * The same request otherwise, also when replayed. */
int onsale_confirm_tokens(struct onsale *c, uint32_t event_id, uint64_t hold_id,
			  uint64_t amount_minor, const char *payment_ref, struct result *res,
			  struct onsale_tokens *tokens);
/* Q_TICKET and the ticket's current token (count 1 when the ticket is
 * valid or redeemed; else 0: a refunded or exchanged ticket has none). */
int onsale_query_ticket_token(struct onsale *c, uint32_t event_id, uint64_t ticket_id,
			      struct result *res, struct onsale_tokens *tokens);
/* A gate scan of a token: the server checks it (the token statuses:
 * token_invalid, token_key_unknown, token_other_event, token_not_yet_valid,
 * token_expired, token_revoked) and then redeems the ticket it names, as
 * onsale_redeem(). */
int onsale_redeem_token(struct onsale *c, uint32_t event_id, const uint8_t token[TOKEN_BYTES],
			uint32_t gate_id, struct result *res);
/* The public keys that verify tokens now (every key not retired). */
int onsale_ticket_keys(struct onsale *c, struct token_keys *keys);
/* One page of shard's revoked ticket ids of event_id after since_seq
 * (res->revoked). */
int onsale_query_revoked(struct onsale *c, uint32_t event_id, uint16_t shard, uint64_t since_seq,
			 struct result *res);
/* Everything revoked since the last sync of st, from every shard: fn (not
 * NULL) is called once per ticket id (ids seen by an earlier sync are not
 * repeated) and *count says how many; -EINVAL when st->shard_count is 0 or
 * over SHARDS_MAX. ST_OK, or the status / -errno of the first page
 * that failed (st keeps what was fetched before it: sync again later). */
int onsale_revoked_sync(struct onsale *c, struct onsale_revocations *st,
			void (*fn)(void *arg, uint64_t ticket_id), void *arg, uint64_t *count);

/* The public-key file onsaled writes (DATA/keys/ticket-keys.pub; lines
 * "<key_id> <base64url public key>", '#' comments): 0, -EINVAL when
 * malformed, or the -errno of reading it. Also calls sodium_init(). */
int onsale_ticket_keys_load(const char *path, struct token_keys *keys);

/* The general forms: a CMD_CONFIRM sent as ONSALE_OP_CONFIRM_TOKENS or a
 * CMD_Q_TICKET as ONSALE_OP_Q_TICKET_TOKEN (-EINVAL for anything else).
 * An asynchronous completion has its tokens in tokens.count / tokens.bytes. */
int onsale_call_tokens(struct onsale *c, uint8_t opcode, const struct cmd *cmd, struct result *res,
		       struct onsale_tokens *tokens);
int onsale_submit_tokens(struct onsale *c, uint8_t opcode, const struct cmd *cmd, uint64_t cookie,
			 uint64_t *request_id);
int onsale_submit_confirm_tokens(struct onsale *c, uint32_t event_id, uint64_t hold_id,
				 uint64_t amount_minor, const char *payment_ref, uint64_t cookie,
				 uint64_t *request_id);

/* ---- pipelined asynchronous interface ---- */

/*
 * Queue a request: 0 and *request_id (if not NULL) set, or -EBUSY (window
 * full: reap completions first), -EAGAIN (send buffer full and the socket
 * takes no more now: poll, then retry), -EINVAL (cannot be encoded), or the
 * connection's failure. Nothing is written before onsale_flush() or
 * onsale_poll(), except to make room in a full send buffer.
 */
int onsale_submit(struct onsale *c, const struct cmd *cmd, uint64_t cookie, uint64_t *request_id);
int onsale_submit_section_seats(struct onsale *c, uint32_t event_id, uint16_t section,
				uint64_t cookie, uint64_t *request_id);
int onsale_submit_hello(struct onsale *c, enum onsale_role role,
			const uint8_t key[ONSALE_KEY_BYTES], uint64_t cookie, uint64_t *request_id);
int onsale_submit_ping(struct onsale *c, uint64_t cookie, uint64_t *request_id);
int onsale_submit_stats(struct onsale *c, uint64_t cookie, uint64_t *request_id);

/* Writes queued requests without blocking: the bytes still queued (wait
 * for POLLOUT on onsale_fd() while > 0), or -errno. */
long onsale_flush(struct onsale *c);

/*
 * Up to max completions into out: their number (> 0); 0 when none came
 * within timeout_ms (0: do not wait; < 0: wait as long as needed) or none
 * can come (nothing in flight); or the connection's -errno once it failed
 * and every request in flight has been completed; -EINVAL when max is 0.
 * Writes queued requests while it waits.
 */
int onsale_poll(struct onsale *c, struct onsale_completion *out, unsigned max, int timeout_ms);

/* One completion: 1, 0 or -errno as onsale_poll. */
int onsale_wait(struct onsale *c, struct onsale_completion *out, int timeout_ms);

unsigned onsale_inflight(const struct onsale *c); /* submitted, not yet completed */
unsigned onsale_window(const struct onsale *c);

#ifdef __cplusplus
}
#endif

#endif
