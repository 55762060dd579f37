/*
 * record.h — the body of a WAL record: one decided state change.
 *
 * The state machine never replays commands; it replays decisions. Executing
 * a command decides everything (ids, chosen seats, expiry times) and writes
 * it here; applying the record performs exactly that change. Execution and
 * replay share the apply path, so a replayed state equals the live one.
 * The WAL frame around a body (magic, LSN, checksums) is in wal_format.h.
 *
 * All integers little-endian, no padding beyond what the tables show.
 *
 * Common head (16 bytes), every record:
 *
 *   off size field
 *     0    1 type        enum cmd_type of the command that made it
 *     1    1 version     RECORD_VERSION
 *     2    2 reserved    0
 *     4    4 event_id
 *     8    8 now_ms      the time the command was executed at
 *
 * Payload, by type (offsets from byte 16):
 *
 * EVENT_CREATE, EVENT_UPDATE (140)
 *     0    8 starts_at_ms        8  8 presale_start_ms
 *    16    8 public_start_ms    24  8 sales_end_ms
 *    32    4 hold_ttl_ms        36  4 units_max
 *    40    2 customer_limit     42  1 state        43 1 reserved
 *    44   48 name               92 48 venue
 *
 * TIER_ADD (72)
 *     0    1 tier   1 1 kind   2 2 reserved   4 4 capacity   8 4 low_stock_threshold
 *    12    4 reserved   16 8 price_minor   24 48 name
 *
 * SECTION_LOAD (56 + 16 x rows + 4 x seats)
 *     0    2 section   2 2 row_count   4 4 seat_count   8 48 name
 *    56  16 x row_count:  label[8], seat_count u16, first_number u16, reserved u32
 *     ..   4 x seat_count: tier u8, flags u8, rank u16
 *
 * PRESALE_CODE_ADD (40)
 *     0    1 code_index   1 3 reserved   4 4 use_limit   8 32 code_hash (BLAKE2b-256)
 *
 * EVENT_RETIRE (0): no payload; the summary kept is derived from the state
 *
 * HOLD (40 + 4 x qty when the tier is reserved)
 *     0    8 hold_id    8 8 customer_id   16 8 idem_key   24 8 expires_at_ms
 *    32    1 tier      33 1 channel      34 1 qty        35 1 code_index (0xff: none)
 *    36    4 reserved
 *    40  4 x qty seat indexes (reserved tiers only)
 *
 * HOLD_EXTEND (16): 0 8 hold_id   8 8 expires_at_ms
 * HOLD_RELEASE, HOLD_EXPIRE (8): 0 8 hold_id
 *
 * CONFIRM (56)
 *     0    8 hold_id    8 8 amount_minor   16 8 first_ticket_id   24 32 payment_ref
 *
 * REDEEM (16):  0 8 ticket_id   8 4 gate_id   12 4 reserved
 * REFUND (24):  0 8 ticket_id   8 8 fee_minor  16 1 kill   17 7 reserved
 * EXCHANGE (32)
 *     0    8 ticket_id   8 8 new_ticket_id   16 8 price_minor (new ticket)
 *    24    4 seat (SEAT_NONE: GA)   28 1 tier   29 3 reserved
 *
 * STOCK_OUT, STOCK_IN, STOCK_ACK (16)
 *     0    8 transfer_id   8 4 qty   12 1 tier   13 1 peer_shard   14 2 reserved
 *   transfer_id = giver << 56 | taker << 48 | seq (cmd-t.h XFER_ID); peer_shard
 *   is the taker on OUT and ACK, the giver on IN. ACK: event_id, qty and
 *   tier are 0; its id is the last transfer the taker has durable.
 *
 * XCHG_OUT, XCHG_IN, XCHG_END (40): an exchange to another shard's seat
 *     0    8 ticket_id (the old ticket, on the shard of OUT and END)
 *     8    8 new_id     IN: the new order's id; END: the new ticket's id (0: refused)
 *    16    8 customer_id (IN)   24 8 price_minor (IN: the new ticket's)
 *    32    4 seat (OUT, IN: the seat's shard's number)   36 1 tier (OUT, IN)
 *    37    1 channel (IN)   38 1 peer_shard (OUT: the seat's, IN: the ticket's)
 *    39    1 status (END: the IN's answer, 0 ok)
 */
#ifndef ONSALE_RECORD_H
#define ONSALE_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"

#define RECORD_VERSION 1
#define RECORD_HEAD_BYTES 16

/* A record in decoded form. Section seat and row arrays point into the
 * encoded bytes (or into the command) and are only valid with them. */
struct rec {
	uint8_t type;
	uint32_t event_id;
	uint64_t now_ms;
	union {
		struct cmd_event event;
		struct cmd_tier tier;
		struct {
			uint16_t section;
			uint16_t row_count;
			uint32_t seat_count;
			char name[NAME_BYTES];
			const uint8_t *rows;  /* encoded, 16 bytes each */
			const uint8_t *seats; /* encoded, 4 bytes each */
		} section;
		struct {
			uint8_t code_index;
			uint32_t use_limit;
			uint8_t hash[PRESALE_CODE_HASH_BYTES];
		} code;
		struct {
			uint64_t hold_id, customer_id, idem_key, expires_at_ms;
			uint8_t tier, channel, qty, code_index;
			uint32_t seats[HOLD_UNITS_MAX];
		} hold;
		struct {
			uint64_t hold_id, expires_at_ms;
		} extend;
		struct {
			uint64_t hold_id;
		} end; /* release, expire */
		struct {
			uint64_t hold_id, amount_minor, first_ticket_id;
			char payment_ref[PAYMENT_REF_BYTES];
		} confirm;
		struct {
			uint64_t ticket_id;
			uint32_t gate_id;
		} redeem;
		struct {
			uint64_t ticket_id, fee_minor;
			uint8_t kill;
		} refund;
		struct {
			uint64_t ticket_id, new_ticket_id, price_minor;
			uint32_t seat;
			uint8_t tier;
		} exchange;
		struct cmd_stock stock;
		struct {
			uint64_t ticket_id, new_id, customer_id, price_minor;
			uint32_t seat;
			uint8_t tier, channel, peer_shard, status;
		} xchg;
	};
};

/* Encodes r into buf (capacity cap >= RECORD_BYTES_MAX is always enough).
 * For SECTION_LOAD, rows/seats come from the command: pass it as sec.
 * Returns the body length. */
size_t rec_encode(const struct rec *r, const struct cmd_section *sec, uint8_t *buf, size_t cap);

/* Decodes and checks the shape of a body (type known, length exact, fields
 * in range). Returns ST_OK or ST_RECORD_INVALID. */
enum status rec_decode(const uint8_t *buf, size_t len, struct rec *r);

/* Lower-case name of a record type ("hold"), "unknown" if none. */
const char *rec_type_name(uint8_t type);

/* Checks the codec's tables (fields inside their body and their member, no
 * overlap, sane widths). NULL when sound, else a description. For tests. */
const char *rec_check_tables(void);

#endif
