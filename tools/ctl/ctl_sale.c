/*
 * ctl_sale.c — the platform's and box office's operations: hold (GA, named
 * seats, best available), confirm, release, extend, refund, exchange, and
 * the scanner's redeem. Each prints the hold or ticket the server answers
 * with (ctl_query.c prints them), so a shell script can chain them.
 */
#include "tools/ctl/ctl.h"

#include "core/token.h"

#include <inttypes.h>
#include <string.h>

static int id_arg(const struct ctl *c, unsigned i, const char *what, uint64_t max, uint64_t *out)
{
	return ctl_u64(c->args[i], what, 1, max, out);
}

/* The mode for a quantity: GA for a GA tier, best available for a reserved one. */
static int qty_mode(struct ctl *c, struct cmd_hold *h)
{
	static struct result av;
	int rc;

	if (ctl_opt(c, "best"))
		return h->mode = HOLD_BEST, 0;
	rc = onsale_query_availability(c->conn, h->event_id, &av);
	if (rc != ST_OK)
		return ctl_result(c, rc, "availability");
	if (h->tier >= av.avail.tier_count || !av.avail.tiers[h->tier].defined) {
		fprintf(stderr, "onsale-ctl hold: event %" PRIu32 " has no tier %u\n", h->event_id,
			h->tier);
		return CTL_EXIT_REFUSED;
	}
	h->mode = av.avail.tiers[h->tier].kind == TIER_GA ? HOLD_GA : HOLD_BEST;
	return 0;
}

static int hold_options(struct ctl *c, struct cmd_hold *h)
{
	const char *s;
	uint64_t x;
	unsigned n;

	if (!(s = ctl_opt(c, "customer")))
		return ctl_usage_error(c, "--customer ID is needed");
	if (ctl_u64(s, "--customer", 1, UINT64_MAX, &h->customer_id))
		return CTL_EXIT_USAGE;
	if (c->role == ONSALE_ROLE_BOX_OFFICE)
		h->channel = CHANNEL_BOX_OFFICE; /* the counter's sales, unless told */
	if ((s = ctl_opt(c, "channel")) && ctl_channel(s, &h->channel))
		return CTL_EXIT_USAGE;
	if ((s = ctl_opt(c, "idem")) && ctl_u64(s, "--idem", 1, UINT64_MAX, &h->idem_key))
		return CTL_EXIT_USAGE;
	if ((s = ctl_opt(c, "ttl"))) {
		if (ctl_duration(s, "--ttl", &x))
			return CTL_EXIT_USAGE;
		h->ttl_ms = (uint32_t)(x > UINT32_MAX ? UINT32_MAX : x);
	}
	if ((s = ctl_opt(c, "code"))) {
		if (strlen(s) < 1 || strlen(s) > PRESALE_CODE_BYTES_MAX)
			return ctl_usage_error(c, "--code: 1 to %u bytes", PRESALE_CODE_BYTES_MAX);
		h->code_len = (uint8_t)strlen(s);
		memcpy(h->code, s, h->code_len);
	}
	h->flags = ctl_opt(c, "accessible") ? HOLD_F_ACCESSIBLE : 0;
	if ((s = ctl_opt(c, "payment-ref")) && strlen(s) > PAYMENT_REF_BYTES)
		return ctl_usage_error(c, "--payment-ref: at most %u bytes", PAYMENT_REF_BYTES);
	if (ctl_opt(c, "seats") && ctl_opt(c, "place"))
		return ctl_usage_error(c, "--seats or --place, not both");
	if ((s = ctl_opt(c, "seats"))) {
		if (ctl_seats(s, h->seats, HOLD_UNITS_MAX, &n))
			return CTL_EXIT_USAGE;
		h->mode = HOLD_SEATS, h->qty = (uint8_t)n;
	} else if (ctl_opt(c, "place")) {
		h->mode = HOLD_SEATS; /* resolved once connected */
	} else if (c->nargs < 3) {
		return ctl_usage_error(c, "give QTY, --seats LIST or --place SECTION:ROW:SEATS");
	} else if (ctl_u64(c->args[2], "quantity", 1, HOLD_UNITS_MAX, &x)) {
		return CTL_EXIT_USAGE;
	} else {
		h->qty = (uint8_t)x;
	}
	return 0;
}

static int hold(struct ctl *c)
{
	struct cmd cmd = {.type = CMD_HOLD};
	struct cmd_hold *h = &cmd.hold;
	struct result res;
	uint64_t ev, tier;
	int rc;

	if (id_arg(c, 0, "event", UINT32_MAX, &ev) ||
	    ctl_u64(c->args[1], "tier", 0, TIERS_MAX - 1, &tier))
		return CTL_EXIT_USAGE;
	h->event_id = (uint32_t)ev, h->tier = (uint8_t)tier;
	if ((rc = hold_options(c, h)) != 0 || (rc = ctl_venue_open(c)) != 0 ||
	    (rc = ctl_connect(c)) != 0)
		return rc;
	if (h->mode != HOLD_SEATS && (rc = qty_mode(c, h)) != 0)
		return rc;
	if (ctl_opt(c, "place")) {
		unsigned n;

		if ((rc = ctl_place_seats(c, h->event_id, ctl_opt(c, "place"), h->seats,
					  HOLD_UNITS_MAX, &n)) != 0)
			return rc;
		h->qty = (uint8_t)n;
	}
	rc = onsale_hold(c->conn, h, &res);
	if (rc == ST_OK && ctl_opt(c, "confirm")) /* a sale at the counter: paid at once */
		rc = onsale_confirm(c->conn, h->event_id, res.hold.hold_id,
				    res.hold.amount_due_minor, ctl_opt(c, "payment-ref"), &res);
	if (rc == ST_OK)
		ctl_print_hold(c, &res.hold, res.replayed);
	return ctl_result(c, rc, ctl_opt(c, "confirm") ? "hold and confirm" : "hold");
}

static int hold_ref(struct ctl *c, uint32_t *ev, uint64_t *hold_id)
{
	uint64_t x;

	if (id_arg(c, 0, "event", UINT32_MAX, &x) || id_arg(c, 1, "hold", UINT64_MAX, hold_id))
		return CTL_EXIT_USAGE;
	*ev = (uint32_t)x;
	return ctl_venue_open(c) ? CTL_EXIT_USAGE : ctl_connect(c);
}

static int confirm(struct ctl *c)
{
	const char *amount = ctl_opt(c, "amount"), *ref = ctl_opt(c, "payment-ref");
	struct result res;
	uint64_t hold_id, minor = 0;
	uint32_t ev;
	int rc;

	if (amount && ctl_money(amount, "--amount", &minor))
		return CTL_EXIT_USAGE;
	if (ref && strlen(ref) > PAYMENT_REF_BYTES)
		return ctl_usage_error(c, "--payment-ref: at most %u bytes", PAYMENT_REF_BYTES);
	if ((rc = hold_ref(c, &ev, &hold_id)) != 0)
		return rc;
	if (!amount) { /* the amount due, as the hold says */
		rc = onsale_query_hold(c->conn, ev, hold_id, &res);
		if (rc != ST_OK)
			return ctl_result(c, rc, "hold");
		minor = res.hold.amount_due_minor;
	}
	rc = onsale_confirm(c->conn, ev, hold_id, minor, ref, &res);
	if (rc == ST_OK)
		ctl_print_hold(c, &res.hold, res.replayed);
	return ctl_result(c, rc, "confirm");
}

static int release_or_extend(struct ctl *c)
{
	const char *ttl = ctl_opt(c, "ttl");
	struct result res;
	uint64_t hold_id, ms = 0;
	uint32_t ev;
	int rc;

	if (ttl && ctl_duration(ttl, "--ttl", &ms))
		return CTL_EXIT_USAGE;
	if ((rc = hold_ref(c, &ev, &hold_id)) != 0)
		return rc;
	if (c->cmd->words[0] == 'r')
		rc = onsale_hold_release(c->conn, ev, hold_id, &res);
	else
		rc = onsale_hold_extend(c->conn, ev, hold_id, (uint32_t)(ms > UINT32_MAX ? 0 : ms),
					&res);
	if (rc == ST_OK)
		ctl_print_hold(c, &res.hold, res.replayed);
	return ctl_result(c, rc, c->cmd->words);
}

static int ticket_ref(struct ctl *c, uint32_t *ev, uint64_t *ticket_id)
{
	uint64_t x;

	if (id_arg(c, 0, "event", UINT32_MAX, &x) || id_arg(c, 1, "ticket", UINT64_MAX, ticket_id))
		return CTL_EXIT_USAGE;
	*ev = (uint32_t)x;
	return 0;
}

static int refund(struct ctl *c)
{
	const char *fee = ctl_opt(c, "fee");
	struct result res;
	uint64_t ticket_id, minor = 0;
	uint32_t ev;
	int rc;

	if (ticket_ref(c, &ev, &ticket_id) || (fee && ctl_money(fee, "--fee", &minor)))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_venue_open(c)) != 0 || (rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_refund(c->conn, ev, ticket_id, minor, ctl_opt(c, "kill") != NULL, &res);
	if (rc == ST_OK)
		ctl_print_ticket(c, &res.ticket, res.replayed);
	rc = ctl_result(c, rc, "refund");
	if (rc == CTL_EXIT_REFUSED && res.status == ST_BAD_ARGUMENT && fee) /* kill: 0 or 1 */
		fprintf(stderr, "onsale-ctl refund: --fee %s is more than the ticket's price\n",
			fee);
	return rc;
}

static int exchange(struct ctl *c)
{
	const char *seat = ctl_opt(c, "seat");
	struct result res;
	uint64_t ticket_id, tier, seat_no = SEAT_NONE;
	uint32_t ev;
	int rc;

	if (ticket_ref(c, &ev, &ticket_id) ||
	    ctl_u64(c->args[2], "tier", 0, TIERS_MAX - 1, &tier) ||
	    (seat && ctl_u64(seat, "--seat", 0, SEAT_NONE - 1, &seat_no)))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_venue_open(c)) != 0 || (rc = ctl_connect(c)) != 0)
		return rc;
	if (ctl_opt(c, "place")) {
		uint32_t one;
		unsigned n;

		if ((rc = ctl_place_seats(c, ev, ctl_opt(c, "place"), &one, 1, &n)) != 0)
			return rc;
		seat_no = one;
	}
	rc = onsale_exchange(c->conn, ev, ticket_id, (uint8_t)tier, (uint32_t)seat_no, &res);
	if (rc == ST_OK)
		ctl_print_ticket(c, &res.ticket, res.replayed);
	return ctl_result(c, rc, "exchange");
}

/* A gate scan of a token: the server checks it (forged, other event,
 * window, revoked) before redeeming the ticket it names. */
static int redeem_token(struct ctl *c, uint32_t ev, uint32_t gate_id)
{
	uint8_t tok[TOKEN_BYTES];
	struct result res;
	int rc;

	if (token_from_text(ctl_opt(c, "token"), strlen(ctl_opt(c, "token")), tok))
		return ctl_usage_error(c, "--token: %u base64url characters expected",
				       TOKEN_TEXT_CHARS);
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_redeem_token(c->conn, ev, tok, gate_id, &res);
	if (rc == ST_OK || rc == ST_TICKET_ALREADY_REDEEMED)
		ctl_print_ticket(c, &res.ticket, res.replayed);
	return ctl_result(c, rc, "redeem");
}

static int redeem(struct ctl *c)
{
	const char *gate = ctl_opt(c, "gate");
	struct result res;
	uint64_t ticket_id, gate_id = 0, x;
	uint32_t ev;
	int rc;

	if (gate && ctl_u64(gate, "--gate", 0, UINT32_MAX, &gate_id))
		return CTL_EXIT_USAGE;
	if (ctl_opt(c, "token")) {
		if (c->nargs != 1 || ctl_u64(c->args[0], "event", 0, UINT32_MAX, &x)) /* 0: any */
			return c->nargs != 1 ? ctl_usage_error(c, "with --token: EVENT only")
					     : CTL_EXIT_USAGE;
		return redeem_token(c, (uint32_t)x, (uint32_t)gate_id);
	}
	if (c->nargs != 2)
		return ctl_usage_error(c, "give EVENT TICKET, or EVENT --token TEXT");
	if (ticket_ref(c, &ev, &ticket_id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_redeem(c->conn, ev, ticket_id, (uint32_t)gate_id, &res);
	if (rc == ST_OK || rc == ST_TICKET_ALREADY_REDEEMED)
		ctl_print_ticket(c, &res.ticket, res.replayed); /* a second scan: the first one's */
	return ctl_result(c, rc, "redeem");
}

static const struct ctl_opt hold_opts[] = {
	{"customer", "ID", "the buyer (nonzero); limits count per customer"},
	{"seats", "LIST", "these seat numbers instead of a quantity: 120,121 or 120-123"},
	{"place", "PLACE", "these seats by name, with --venue: SECTION:ROW:SEATS, 105:A:12-13"},
	{"venue", "FILE", "the event's venue file: seats by section, row and number"},
	{"best", NULL, "best available (what QTY means for a reserved tier anyway)"},
	{"accessible", NULL, "best available among accessible seats only"},
	{"channel", "CH", "online (default), box_office (default as --role box_office), kiosk"},
	{"code", "CODE", "presale access code"},
	{"ttl", "DURATION", "how long the hold lasts: 5m (default: the event's)"},
	{"idem", "KEY", "idempotency key: the same key again returns the first hold"},
	{"confirm", NULL, "confirm it at once for the amount due (a sale at the counter)"},
	{"payment-ref", "REF", "with --confirm: the payment's reference"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt confirm_opts[] = {
	{"venue", "FILE", "the event's venue file: seats also by section, row and number"},
	{"amount", "AMOUNT", "amount paid: 149.50 (default: the hold's amount due)"},
	{"payment-ref", "REF", "the payment's reference (at most 32 bytes)"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt extend_opts[] = {
	{"venue", "FILE", "the event's venue file: seats also by section, row and number"},
	{"ttl", "DURATION", "new time to live from now (default: the event's)"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt refund_opts[] = {
	{"venue", "FILE", "the event's venue file: seats also by section, row and number"},
	{"fee", "AMOUNT", "fee kept (default 0)"},
	{"kill", NULL, "take the seat or unit out of sale instead of selling it again"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt exchange_opts[] = {
	{"seat", "SEAT", "the new seat number (default: GA, or best available)"},
	{"place", "PLACE", "the new seat by name, with --venue: SECTION:ROW:SEAT"},
	{"venue", "FILE", "the event's venue file: seats by section, row and number"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt redeem_opts[] = {
	{"gate", "ID", "the gate scanning (default 0)"},
	{"token", "TEXT", "scan this e-ticket token instead of a ticket id: checked first"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_sale_cmds[] = {
	{"hold", "EVENT TIER [QTY]", 2, 3, ONSALE_ROLE_PLATFORM, 1,
	 "Holds QTY units of a tier for a customer (GA units, or the best adjacent seats of a\n"
	 "reserved tier), or the seats --seats names. Prints the hold: its id, expiry, amount due.",
	 hold_opts, hold},
	{"confirm", "EVENT HOLD", 2, 2, ONSALE_ROLE_PLATFORM, 1,
	 "Confirms a paid hold: an order (same id) and one ticket per unit.", confirm_opts,
	 confirm},
	{"release", "EVENT HOLD", 2, 2, ONSALE_ROLE_PLATFORM, 1,
	 "Releases a live hold: its units are free again.", NULL, release_or_extend},
	{"extend", "EVENT HOLD", 2, 2, ONSALE_ROLE_PLATFORM, 1, "Gives a live hold more time.",
	 extend_opts, release_or_extend},
	{"refund", "EVENT TICKET", 2, 2, ONSALE_ROLE_PLATFORM, 1,
	 "Refunds a valid ticket: its unit goes back on sale (or is killed).", refund_opts, refund},
	{"exchange", "EVENT TICKET TIER", 3, 3, ONSALE_ROLE_PLATFORM, 1,
	 "Swaps a valid ticket for one in TIER (a named seat, GA or best available), atomically.\n"
	 "Prints the new ticket.",
	 exchange_opts, exchange},
	{"redeem", "EVENT [TICKET]", 1, 2, ONSALE_ROLE_SCANNER, 1,
	 "Scans a ticket at a gate, by id or by its token (--token: forged, other event, out\n"
	 "of window and revoked tokens refused). A second scan is refused\n"
	 "(ticket_already_redeemed, exit 1) and prints when and where the first was.",
	 redeem_opts, redeem},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
