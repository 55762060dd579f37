/*
 * client_ops.c — libonsale's per-operation surface: builders that fill a
 * struct cmd for each operation, and the synchronous call of each, which is
 * its builder followed by onsale_call() (client.c). Nothing here touches
 * the connection; asynchronous users pass the same builders' output to
 * onsale_submit().
 */
#include <string.h>
#include "net/client/onsale.h"

/* ---- builders ---- */

void onsale_prep_presale_code_add(struct cmd *cmd, uint32_t event_id, const char *code,
				  uint8_t code_len, uint32_t use_limit)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = CMD_PRESALE_CODE_ADD;
	cmd->code.event_id = event_id;
	cmd->code.use_limit = use_limit;
	/* a longer code is sent as its first bytes with its true length, so
	 * the server refuses it (bad_argument) rather than selling on a prefix */
	cmd->code.code_len = code_len;
	memcpy(cmd->code.code, code,
	       code_len < PRESALE_CODE_BYTES_MAX ? code_len : PRESALE_CODE_BYTES_MAX);
}

static void prep_hold(struct cmd *cmd, uint32_t event_id, uint8_t tier, uint8_t mode, uint8_t qty,
		      uint64_t customer_id, uint64_t idem_key)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = CMD_HOLD;
	cmd->hold.event_id = event_id;
	cmd->hold.tier = tier;
	cmd->hold.mode = mode;
	cmd->hold.qty = qty;
	cmd->hold.channel = CHANNEL_ONLINE;
	cmd->hold.customer_id = customer_id;
	cmd->hold.idem_key = idem_key;
}

void onsale_prep_hold_ga(struct cmd *cmd, uint32_t event_id, uint8_t tier, uint8_t qty,
			 uint64_t customer_id, uint64_t idem_key)
{
	prep_hold(cmd, event_id, tier, HOLD_GA, qty, customer_id, idem_key);
}

void onsale_prep_hold_seats(struct cmd *cmd, uint32_t event_id, uint8_t tier, const uint32_t *seats,
			    uint8_t count, uint64_t customer_id, uint64_t idem_key)
{
	prep_hold(cmd, event_id, tier, HOLD_SEATS, count, customer_id, idem_key);
	/* more than HOLD_UNITS_MAX seats: the first ones are sent with the
	 * true count, which the server refuses (bad_argument) */
	memcpy(cmd->hold.seats, seats,
	       (count < HOLD_UNITS_MAX ? count : HOLD_UNITS_MAX) * sizeof(seats[0]));
}

void onsale_prep_hold_best(struct cmd *cmd, uint32_t event_id, uint8_t tier, uint8_t qty,
			   uint64_t customer_id, uint64_t idem_key)
{
	prep_hold(cmd, event_id, tier, HOLD_BEST, qty, customer_id, idem_key);
}

static void prep_hold_ref(struct cmd *cmd, uint8_t type, uint32_t event_id, uint64_t hold_id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = type;
	cmd->ref.event_id = event_id;
	cmd->ref.hold_id = hold_id;
}

void onsale_prep_hold_extend(struct cmd *cmd, uint32_t event_id, uint64_t hold_id, uint32_t ttl_ms)
{
	prep_hold_ref(cmd, CMD_HOLD_EXTEND, event_id, hold_id);
	cmd->ref.ttl_ms = ttl_ms;
}

void onsale_prep_hold_release(struct cmd *cmd, uint32_t event_id, uint64_t hold_id)
{
	prep_hold_ref(cmd, CMD_HOLD_RELEASE, event_id, hold_id);
}

void onsale_prep_confirm(struct cmd *cmd, uint32_t event_id, uint64_t hold_id,
			 uint64_t amount_minor, const char *payment_ref)
{
	prep_hold_ref(cmd, CMD_CONFIRM, event_id, hold_id);
	cmd->ref.amount_minor = amount_minor;
	if (payment_ref)
		memcpy(cmd->ref.payment_ref, payment_ref, strnlen(payment_ref, PAYMENT_REF_BYTES));
}

static void prep_ticket_ref(struct cmd *cmd, uint8_t type, uint32_t event_id, uint64_t ticket_id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = type;
	cmd->ticket.event_id = event_id;
	cmd->ticket.ticket_id = ticket_id;
}

void onsale_prep_redeem(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint32_t gate_id)
{
	prep_ticket_ref(cmd, CMD_REDEEM, event_id, ticket_id);
	cmd->ticket.gate_id = gate_id;
}

void onsale_prep_refund(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint64_t fee_minor,
			int kill)
{
	prep_ticket_ref(cmd, CMD_REFUND, event_id, ticket_id);
	cmd->ticket.fee_minor = fee_minor;
	cmd->ticket.kill = kill != 0;
}

void onsale_prep_exchange(struct cmd *cmd, uint32_t event_id, uint64_t ticket_id, uint8_t tier,
			  uint32_t seat)
{
	prep_ticket_ref(cmd, CMD_EXCHANGE, event_id, ticket_id);
	cmd->ticket.tier = tier;
	cmd->ticket.seat = seat;
}

void onsale_prep_query(struct cmd *cmd, uint8_t type, uint32_t event_id, uint8_t tier,
		       uint64_t customer_id)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->type = type;
	cmd->query.event_id = event_id;
	cmd->query.tier = tier;
	cmd->query.customer_id = customer_id;
}

void onsale_prep_lookup(struct cmd *cmd, uint8_t type, uint32_t event_id, uint64_t id)
{
	if (type == CMD_Q_TICKET)
		prep_ticket_ref(cmd, type, event_id, id);
	else
		prep_hold_ref(cmd, type, event_id, id);
}

/* ---- synchronous calls ---- */

int onsale_event_create(struct onsale *c, const struct cmd_event *ev, struct result *res)
{
	struct cmd cmd = {.type = CMD_EVENT_CREATE, .event = *ev};

	return onsale_call(c, &cmd, res);
}

int onsale_event_update(struct onsale *c, const struct cmd_event *ev, struct result *res)
{
	struct cmd cmd = {.type = CMD_EVENT_UPDATE, .event = *ev};

	return onsale_call(c, &cmd, res);
}

int onsale_tier_add(struct onsale *c, const struct cmd_tier *tier, struct result *res)
{
	struct cmd cmd = {.type = CMD_TIER_ADD, .tier = *tier};

	return onsale_call(c, &cmd, res);
}

int onsale_section_load(struct onsale *c, const struct cmd_section *sec, struct result *res)
{
	struct cmd cmd = {.type = CMD_SECTION_LOAD, .section = *sec};

	return onsale_call(c, &cmd, res);
}

int onsale_presale_code_add(struct onsale *c, uint32_t event_id, const char *code, uint8_t code_len,
			    uint32_t use_limit, struct result *res)
{
	struct cmd cmd;

	onsale_prep_presale_code_add(&cmd, event_id, code, code_len, use_limit);
	return onsale_call(c, &cmd, res);
}

int onsale_event_retire(struct onsale *c, uint32_t event_id, struct result *res)
{
	struct cmd cmd = {.type = CMD_EVENT_RETIRE};

	cmd.query.event_id = event_id;
	return onsale_call(c, &cmd, res);
}

int onsale_hold(struct onsale *c, const struct cmd_hold *hold, struct result *res)
{
	struct cmd cmd = {.type = CMD_HOLD, .hold = *hold};

	return onsale_call(c, &cmd, res);
}

int onsale_hold_ga(struct onsale *c, uint32_t event_id, uint8_t tier, uint8_t qty,
		   uint64_t customer_id, uint64_t idem_key, struct result *res)
{
	struct cmd cmd;

	onsale_prep_hold_ga(&cmd, event_id, tier, qty, customer_id, idem_key);
	return onsale_call(c, &cmd, res);
}

int onsale_hold_seats(struct onsale *c, uint32_t event_id, uint8_t tier, const uint32_t *seats,
		      uint8_t count, uint64_t customer_id, uint64_t idem_key, struct result *res)
{
	struct cmd cmd;

	onsale_prep_hold_seats(&cmd, event_id, tier, seats, count, customer_id, idem_key);
	return onsale_call(c, &cmd, res);
}

int onsale_hold_best(struct onsale *c, uint32_t event_id, uint8_t tier, uint8_t qty,
		     uint64_t customer_id, uint64_t idem_key, struct result *res)
{
	struct cmd cmd;

	onsale_prep_hold_best(&cmd, event_id, tier, qty, customer_id, idem_key);
	return onsale_call(c, &cmd, res);
}

int onsale_hold_extend(struct onsale *c, uint32_t event_id, uint64_t hold_id, uint32_t ttl_ms,
		       struct result *res)
{
	struct cmd cmd;

	onsale_prep_hold_extend(&cmd, event_id, hold_id, ttl_ms);
	return onsale_call(c, &cmd, res);
}

int onsale_hold_release(struct onsale *c, uint32_t event_id, uint64_t hold_id, struct result *res)
{
	struct cmd cmd;

	onsale_prep_hold_release(&cmd, event_id, hold_id);
	return onsale_call(c, &cmd, res);
}

int onsale_confirm(struct onsale *c, uint32_t event_id, uint64_t hold_id, uint64_t amount_minor,
		   const char *payment_ref, struct result *res)
{
	struct cmd cmd;

	onsale_prep_confirm(&cmd, event_id, hold_id, amount_minor, payment_ref);
	return onsale_call(c, &cmd, res);
}

int onsale_redeem(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint32_t gate_id,
		  struct result *res)
{
	struct cmd cmd;

	onsale_prep_redeem(&cmd, event_id, ticket_id, gate_id);
	return onsale_call(c, &cmd, res);
}

int onsale_refund(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint64_t fee_minor,
		  int kill, struct result *res)
{
	struct cmd cmd;

	onsale_prep_refund(&cmd, event_id, ticket_id, fee_minor, kill);
	return onsale_call(c, &cmd, res);
}

int onsale_exchange(struct onsale *c, uint32_t event_id, uint64_t ticket_id, uint8_t tier,
		    uint32_t seat, struct result *res)
{
	struct cmd cmd;

	onsale_prep_exchange(&cmd, event_id, ticket_id, tier, seat);
	return onsale_call(c, &cmd, res);
}

static int query(struct onsale *c, uint8_t type, uint32_t event_id, uint8_t tier,
		 uint64_t customer_id, struct result *res)
{
	struct cmd cmd;

	onsale_prep_query(&cmd, type, event_id, tier, customer_id);
	return onsale_call(c, &cmd, res);
}

static int lookup(struct onsale *c, uint8_t type, uint32_t event_id, uint64_t id,
		  struct result *res)
{
	struct cmd cmd;

	onsale_prep_lookup(&cmd, type, event_id, id);
	return onsale_call(c, &cmd, res);
}

int onsale_query_event(struct onsale *c, uint32_t event_id, struct result *res)
{
	return query(c, CMD_Q_EVENT, event_id, 0, 0, res);
}

int onsale_query_availability(struct onsale *c, uint32_t event_id, struct result *res)
{
	return query(c, CMD_Q_AVAILABILITY, event_id, 0, 0, res);
}

int onsale_query_stats(struct onsale *c, uint32_t event_id, uint8_t tier, struct result *res)
{
	return query(c, CMD_Q_STATS, event_id, tier, 0, res);
}

int onsale_query_customer(struct onsale *c, uint32_t event_id, uint64_t customer_id,
			  struct result *res)
{
	return query(c, CMD_Q_CUSTOMER, event_id, 0, customer_id, res);
}

int onsale_query_hold(struct onsale *c, uint32_t event_id, uint64_t hold_id, struct result *res)
{
	return lookup(c, CMD_Q_HOLD, event_id, hold_id, res);
}

int onsale_query_order(struct onsale *c, uint32_t event_id, uint64_t order_id, struct result *res)
{
	return lookup(c, CMD_Q_ORDER, event_id, order_id, res);
}

int onsale_query_ticket(struct onsale *c, uint32_t event_id, uint64_t ticket_id, struct result *res)
{
	return lookup(c, CMD_Q_TICKET, event_id, ticket_id, res);
}

/* ---- e-tickets (docs/TICKETS.md) ---- */

int onsale_confirm_tokens(struct onsale *c, uint32_t event_id, uint64_t hold_id,
			  uint64_t amount_minor, const char *payment_ref, struct result *res,
			  struct onsale_tokens *tokens)
{
	struct cmd cmd;

	onsale_prep_confirm(&cmd, event_id, hold_id, amount_minor, payment_ref);
	return onsale_call_tokens(c, ONSALE_OP_CONFIRM_TOKENS, &cmd, res, tokens);
}

int onsale_submit_confirm_tokens(struct onsale *c, uint32_t event_id, uint64_t hold_id,
				 uint64_t amount_minor, const char *payment_ref, uint64_t cookie,
				 uint64_t *request_id)
{
	struct cmd cmd;

	onsale_prep_confirm(&cmd, event_id, hold_id, amount_minor, payment_ref);
	return onsale_submit_tokens(c, ONSALE_OP_CONFIRM_TOKENS, &cmd, cookie, request_id);
}

int onsale_query_ticket_token(struct onsale *c, uint32_t event_id, uint64_t ticket_id,
			      struct result *res, struct onsale_tokens *tokens)
{
	struct cmd cmd;

	onsale_prep_lookup(&cmd, CMD_Q_TICKET, event_id, ticket_id);
	return onsale_call_tokens(c, ONSALE_OP_Q_TICKET_TOKEN, &cmd, res, tokens);
}

int onsale_query_revoked(struct onsale *c, uint32_t event_id, uint16_t shard, uint64_t since_seq,
			 struct result *res)
{
	struct cmd cmd = {.type = CMD_Q_REVOKED};

	cmd.revoked.event_id = event_id;
	cmd.revoked.shard = shard;
	cmd.revoked.since_seq = since_seq;
	return onsale_call(c, &cmd, res);
}
