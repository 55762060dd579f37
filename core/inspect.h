/*
 * inspect.h — read-only views of a shard's state for the server (net/).
 *
 * The shard runtime needs two things the command interface does not give:
 * every customer's held + owned units of an event (to rebuild per-customer
 * counts on the customers' home shards), and how good the seats are that
 * best available would pick now, without taking them (to send a hold to
 * the shard with the best block). None of these changes the state: core/
 * stays pure and deterministic.
 */
#ifndef ONSALE_INSPECT_H
#define ONSALE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"
#include "core/status.h"

struct core;

/* Calls fn(ctx, customer_id, units) for every customer with held + owned
 * units in the event, in table order; stops early when fn returns nonzero
 * (and returns that). ST_EVENT_UNKNOWN as -status when the event is unknown. */
typedef int (*core_customer_fn)(void *ctx, uint64_t customer_id, uint32_t units);
int core_customers_each(const struct core *c, uint32_t event_id, core_customer_fn fn, void *ctx);

/* What best available would choose for qty seats of the tier now (flags:
 * enum hold_flag): ST_OK and *score, the sum of the chosen seats' ranks
 * (lower is better), or the refusal a hold would get (ST_EVENT_UNKNOWN,
 * ST_TIER_UNKNOWN, ST_TIER_KIND_MISMATCH, ST_BAD_ARGUMENT,
 * ST_NO_ADJACENT_SEATS). Does not check sales windows or limits. */
enum status core_best_probe(const struct core *c, uint32_t event_id, uint8_t tier, uint8_t qty,
			    uint8_t flags, uint32_t *score);

/* The event's per-customer unit limit; 0 when it has none or is unknown.
 * What CMD_Q_EVENT would say, without building a result: the server asks
 * it on every GA hold. */
uint16_t core_event_limit(const struct core *c, uint32_t event_id);

/* The event's start time (0 when it has none or is unknown): the server
 * asks it to sign a ticket's token (its validity window, core/token.h). */
uint64_t core_event_starts_ms(const struct core *c, uint32_t event_id);

/* Live holds of the event (0 when unknown): the server's expiry timer
 * runs while a shard has any. */
uint32_t core_live_holds(const struct core *c, uint32_t event_id);

/* The hold this shard took for the customer with that idempotency key, 0
 * when none (a retry of it is answered with it: the cross-shard layer uses
 * this to send a retry where the first hold is). */
uint64_t core_idem_hold(const struct core *c, uint32_t event_id, uint64_t customer_id,
			uint64_t idem_key);

/* Units (GA capacity and seats) placed on this shard for the event, and
 * its units_max (0 when the event is unknown). */
uint32_t core_units_placed(const struct core *c, uint32_t event_id, uint32_t *units_max);

/* Why an event id names no event here: ST_EVENT_RETIRED (it did, and was
 * retired) or ST_EVENT_UNKNOWN. */
enum status core_event_missing(const struct core *c, uint32_t event_id);

/* Free units of a tier on this shard and its low-stock threshold (0: no
 * alerts, or the tier is unknown). */
uint32_t core_tier_free(const struct core *c, uint32_t event_id, uint8_t tier,
			uint32_t *low_stock_threshold);

/* Presale codes across shards. A code's owner shard is chosen by its key
 * (the first 8 bytes of its hash, from the code's text or from the stored
 * code); the owner counts its uses on every shard.
 *   core_code_key      the key of a code's text
 *   core_code_count    codes of the event (0 when unknown)
 *   core_code_uses     uses here of code i (live and confirmed holds), its
 *                      key and use limit (0: unlimited); i < count
 *   core_code_window   what a hold's sales window asks: ST_OK and the code
 *                      it would use (PRESALE_CODE_NONE: none needed), or
 *                      the refusal (not on sale, code invalid, exhausted
 *                      by this shard's own uses, ...) */
uint64_t core_code_key(uint32_t event_id, const char *code, uint8_t len);
uint8_t core_code_count(const struct core *c, uint32_t event_id);
uint32_t core_code_uses(const struct core *c, uint32_t event_id, uint8_t code_index, uint64_t *key,
			uint32_t *use_limit);
enum status core_code_window(const struct core *c, const struct cmd_hold *h, uint64_t now_ms,
			     uint8_t *code_index);

/* GA stock transfers this shard gave the taker that the taker has not yet
 * acknowledged, oldest first, into out[cap]; returns how many there are
 * (at most XFER_PENDING_MAX, may exceed cap). The server redelivers them
 * after a crash; STOCK_IN applies each once. */
uint32_t core_xfers_pending(const struct core *c, uint8_t taker, struct xfer *out, uint32_t cap);
/* The id of an order's unit-th ticket. */
uint64_t core_order_ticket_id(uint64_t order_id, uint8_t unit);
/* Tickets leaving for another shard (an exchange whose end is not
 * applied), up to cap into out; returns how many there are. Scans every
 * ticket: for recovery, not for the loop. */
uint32_t core_xchgs_pending(const struct core *c, struct xchg_pending *out, uint32_t cap);
/* Any transfer given and not yet acknowledged, to any taker. */
bool core_xfers_any(const struct core *c);
/* The seq of the last transfer applied from the giver (0: none). */
uint64_t core_xfer_applied(const struct core *c, uint8_t giver);

/* The transfer seqs of this shard with one peer: as giver, given up to
 * out_seq and acknowledged up to acked_seq; as taker, applied up to in_seq.
 * onsale-wal checks them across shards (tools/wal/wal_peers.c). */
struct xfer_seqs {
	uint64_t out_seq, acked_seq, in_seq;
};
void core_xfer_seqs(const struct core *c, uint8_t peer, struct xfer_seqs *out);

#endif
