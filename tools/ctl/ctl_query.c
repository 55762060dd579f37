/*
 * ctl_query.c — look-ups: show hold, order, ticket, customer; avail;
 * server (the server's own counters); ping. Also how a hold and a ticket
 * are printed, as text or JSON, for every subcommand that gets one back.
 */
#include "tools/ctl/ctl.h"

#include <inttypes.h>
#include <string.h>

/* A GA hold's seats are SEAT_NONE. */
static int has_seats(const struct hold_view *h)
{
	return h->qty && h->seats[0] != SEAT_NONE;
}

static void hold_json(struct ctl *c, const struct hold_view *h, int replayed)
{
	struct ctl_json j = {.out = stdout};
	char name[96];

	cj_open(&j, NULL, '{');
	cj_u64(&j, "hold_id", h->hold_id);
	cj_u64(&j, "event_id", h->event_id);
	cj_str(&j, "state", ctl_hold_state_name(h->state));
	cj_u64(&j, "customer_id", h->customer_id);
	cj_u64(&j, "tier", h->tier);
	cj_str(&j, "channel", ctl_channel_name(h->channel));
	cj_u64(&j, "qty", h->qty);
	cj_open(&j, "seats", '[');
	for (unsigned i = 0; has_seats(h) && i < h->qty && i < HOLD_UNITS_MAX; i++)
		cj_u64(&j, NULL, h->seats[i]);
	cj_close(&j, ']');
	if (has_seats(h) && ctl_seat_name(c, h->event_id, h->seats[0], name, sizeof name)) {
		cj_open(&j, "seat_names", '[');
		for (unsigned i = 0; i < h->qty && i < HOLD_UNITS_MAX; i++)
			if (ctl_seat_name(c, h->event_id, h->seats[i], name, sizeof name))
				cj_str(&j, NULL, name);
		cj_close(&j, ']');
	}
	cj_u64(&j, "expires_at_ms", h->expires_at_ms);
	cj_money(&j, "amount_due_minor", h->amount_due_minor);
	cj_money(&j, "amount_paid_minor", h->amount_paid_minor);
	cj_str(&j, "payment_ref", h->payment_ref);
	cj_open(&j, "tickets", '[');
	for (unsigned i = 0; h->state == HOLD_CONFIRMED && i < h->qty; i++)
		cj_u64(&j, NULL, h->first_ticket_id + i);
	cj_close(&j, ']');
	cj_bool(&j, "replayed", replayed);
	cj_close(&j, '}');
}

void ctl_print_hold(struct ctl *c, const struct hold_view *h, int replayed)
{
	char a[32], b[32], t[32], name[96];

	if (c->json)
		return hold_json(c, h, replayed);
	printf("hold %" PRIu64 " %s%s: event %" PRIu32 " tier %u, %u unit%s for customer %" PRIu64
	       " (%s)\n",
	       h->hold_id, ctl_hold_state_name(h->state), replayed ? " (replayed)" : "",
	       h->event_id, h->tier, h->qty, h->qty == 1 ? "" : "s", h->customer_id,
	       ctl_channel_name(h->channel));
	if (has_seats(h)) {
		printf("  seats");
		for (unsigned i = 0; i < h->qty && i < HOLD_UNITS_MAX; i++)
			printf(" %" PRIu32, h->seats[i]);
		printf("\n");
		for (unsigned i = 0; i < h->qty && i < HOLD_UNITS_MAX; i++)
			if (ctl_seat_name(c, h->event_id, h->seats[i], name, sizeof name))
				printf("    %" PRIu32 ": %s\n", h->seats[i], name);
	}
	printf("  amount due %s, paid %s, expires %s\n",
	       ctl_fmt_money(a, sizeof a, h->amount_due_minor),
	       ctl_fmt_money(b, sizeof b, h->amount_paid_minor),
	       ctl_fmt_time(t, sizeof t, h->expires_at_ms));
	if (h->state == HOLD_CONFIRMED)
		printf("  order %" PRIu64 ", payment \"%.*s\", tickets %" PRIu64 "..%" PRIu64 "\n",
		       h->hold_id, PAYMENT_REF_BYTES, h->payment_ref, h->first_ticket_id,
		       h->first_ticket_id + h->qty - 1);
}

static void ticket_json(struct ctl *c, const struct ticket_view *t, int replayed)
{
	struct ctl_json j = {.out = stdout};
	char name[96];

	cj_open(&j, NULL, '{');
	cj_u64(&j, "ticket_id", t->ticket_id);
	cj_u64(&j, "event_id", t->event_id);
	cj_str(&j, "state", ctl_ticket_state_name(t->state));
	cj_u64(&j, "order_id", t->order_id);
	cj_u64(&j, "customer_id", t->customer_id);
	cj_u64(&j, "tier", t->tier);
	if (t->seat != SEAT_NONE)
		cj_u64(&j, "seat", t->seat);
	if (ctl_seat_name(c, t->event_id, t->seat, name, sizeof name))
		cj_str(&j, "seat_name", name);
	cj_money(&j, "price_minor", t->price_minor);
	cj_u64(&j, "redeemed_at_ms", t->redeemed_at_ms);
	cj_u64(&j, "gate_id", t->gate_id);
	cj_money(&j, "refund_fee_minor", t->refund_fee_minor);
	cj_u64(&j, "replaced_by", t->replaced_by);
	cj_bool(&j, "replayed", replayed);
	cj_close(&j, '}');
}

void ctl_print_ticket(struct ctl *c, const struct ticket_view *t, int replayed)
{
	char a[32], w[32], name[96];

	if (c->json)
		return ticket_json(c, t, replayed);
	printf("ticket %" PRIu64 " %s%s: event %" PRIu32 " tier %u ", t->ticket_id,
	       ctl_ticket_state_name(t->state), replayed ? " (replayed)" : "", t->event_id,
	       t->tier);
	if (t->seat == SEAT_NONE)
		printf("general admission");
	else if (ctl_seat_name(c, t->event_id, t->seat, name, sizeof name))
		printf("seat %" PRIu32 " (%s)", t->seat, name);
	else
		printf("seat %" PRIu32, t->seat);
	printf(", order %" PRIu64 ", customer %" PRIu64 ", price %s\n", t->order_id, t->customer_id,
	       ctl_fmt_money(a, sizeof a, t->price_minor));
	if (t->redeemed_at_ms)
		printf("  redeemed %s at gate %" PRIu32 "\n",
		       ctl_fmt_time(w, sizeof w, t->redeemed_at_ms), t->gate_id);
	if (t->state == TICKET_REFUNDED)
		printf("  refunded, fee %s\n", ctl_fmt_money(a, sizeof a, t->refund_fee_minor));
	if (t->replaced_by)
		printf("  exchanged for ticket %" PRIu64 "\n", t->replaced_by);
}

static void customer_print(const struct ctl *c, const struct customer_view *v)
{
	struct ctl_json j = {.out = stdout};

	if (!c->json) {
		printf("customer %" PRIu64 " at event %" PRIu32 ": %" PRIu32
		       " units held or owned, "
		       "limit %u%s\n",
		       v->customer_id, v->event_id, v->units, v->limit, v->limit ? "" : " (none)");
		return;
	}
	cj_open(&j, NULL, '{');
	cj_u64(&j, "event_id", v->event_id);
	cj_u64(&j, "customer_id", v->customer_id);
	cj_u64(&j, "units", v->units);
	cj_u64(&j, "limit", v->limit);
	cj_close(&j, '}');
}

/* show hold|order|ticket|customer EVENT ID */
static int show(struct ctl *c)
{
	static const char *const kinds[] = {"hold", "order", "ticket", "customer"};
	struct result res;
	uint64_t ev, id;
	unsigned k;
	int rc;

	for (k = 0; k < 4 && strcmp(c->args[0], kinds[k]); k++)
		;
	if (k == 4)
		return ctl_usage_error(c, "'%s': hold, order, ticket or customer", c->args[0]);
	if (ctl_u64(c->args[1], "event", 1, UINT32_MAX, &ev) ||
	    ctl_u64(c->args[2], kinds[k], 1, UINT64_MAX, &id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_venue_open(c)) != 0 || (rc = ctl_connect(c)) != 0)
		return rc;
	rc = k == 0   ? onsale_query_hold(c->conn, (uint32_t)ev, id, &res)
	     : k == 1 ? onsale_query_order(c->conn, (uint32_t)ev, id, &res)
	     : k == 2 ? onsale_query_ticket(c->conn, (uint32_t)ev, id, &res)
		      : onsale_query_customer(c->conn, (uint32_t)ev, id, &res);
	if (rc != ST_OK)
		return ctl_result(c, rc, kinds[k]);
	if (k < 2)
		ctl_print_hold(c, &res.hold, 0);
	else if (k == 2)
		ctl_print_ticket(c, &res.ticket, 0);
	else
		customer_print(c, &res.customer);
	return 0;
}

static void avail_print(const struct ctl *c, const struct availability_view *av)
{
	struct ctl_json j = {.out = stdout};
	char p[32];

	if (c->json)
		cj_open(&j, NULL, '{'), cj_u64(&j, "event_id", av->event_id),
			cj_open(&j, "tiers", '[');
	else
		printf("%4s %-8s %9s %9s %8s %8s %8s %8s\n", "tier", "kind", "price", "capacity",
		       "free", "held", "sold", "killed");
	for (unsigned t = 0; t < av->tier_count; t++) {
		const struct tier_view *v = &av->tiers[t];
		if (!v->defined)
			continue;
		if (!c->json) {
			printf("%4u %-8s %9s %9" PRIu32 " %8" PRIu32 " %8" PRIu32 " %8" PRIu32
			       " %8" PRIu32 "%s\n",
			       t, v->kind == TIER_GA ? "ga" : "reserved",
			       ctl_fmt_money(p, sizeof p, v->price_minor), v->capacity, v->free,
			       v->held, v->sold, v->killed, v->low_stock ? "  LOW" : "");
			continue;
		}
		cj_tier(&j, t, v);
	}
	if (c->json)
		cj_close(&j, ']'), cj_close(&j, '}');
}

static int avail(struct ctl *c)
{
	static struct result res;
	uint64_t ev;
	int rc;

	if (ctl_u64(c->args[0], "event", 1, UINT32_MAX, &ev))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_query_availability(c->conn, (uint32_t)ev, &res);
	if (rc == ST_OK)
		avail_print(c, &res.avail);
	return ctl_result(c, rc, "availability");
}

static int server(struct ctl *c)
{
	static const char *const names[] = {"uptime_ms",
					    "shards",
					    "connections_open",
					    "connections_total",
					    "requests",
					    "bad_frames",
					    "refused",
					    "bytes_in",
					    "bytes_out",
					    "wal_records",
					    "wal_bytes",
					    "wal_fsyncs",
					    "holds_expired",
					    "stock_transfers",
					    "wal_errors",
					    "wal_paused",
					    "disk_full_events",
					    "closed_not_reading",
					    "reqs_in_flight",
					    "requests_shed",
					    "connections_refused",
					    "connections_timed_out"};
	static_assert(sizeof names / sizeof names[0] == ONSALE_STAT_CONNECTIONS_TIMED_OUT + 1,
		      "a name for every counter the server fills");
	struct onsale_server_stats st;
	struct ctl_json j = {.out = stdout};
	int rc;

	if ((rc = ctl_connect(c)) != 0)
		return rc;
	if ((rc = onsale_server_stats(c->conn, &st)) != ST_OK)
		return ctl_result(c, rc, "server stats");
	if (c->json)
		cj_open(&j, NULL, '{');
	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (c->json)
			cj_u64(&j, names[i], st.counters[i]);
		else
			printf("%-18s %" PRIu64 "\n", names[i], st.counters[i]);
	}
	if (c->json)
		cj_close(&j, '}');
	return 0;
}

static int ping(struct ctl *c)
{
	uint64_t t0 = ctl_wall_ms();
	struct ctl_json j = {.out = stdout};
	int rc = ctl_connect(c);

	if (rc)
		return rc;
	rc = onsale_ping(c->conn);
	if (rc != ST_OK)
		return ctl_result(c, rc, "ping");
	if (!c->json) {
		printf("%s:%u answers: shard %u of %u, server clock %" PRIu64 " ms, %" PRIu64
		       " ms\n",
		       c->host, c->port, c->hello.shard_id, c->hello.shard_count, c->hello.now_ms,
		       ctl_wall_ms() - t0);
		return 0;
	}
	cj_open(&j, NULL, '{');
	cj_str(&j, "host", c->host);
	cj_u64(&j, "port", c->port);
	cj_u64(&j, "shard_id", c->hello.shard_id);
	cj_u64(&j, "shard_count", c->hello.shard_count);
	cj_u64(&j, "server_now_ms", c->hello.now_ms);
	cj_u64(&j, "round_trip_ms", ctl_wall_ms() - t0);
	cj_close(&j, '}');
	return 0;
}

static const struct ctl_opt show_opts[] = {
	{"venue", "FILE", "the event's venue file: seats also by section, row and number"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_query_cmds[] = {
	{"show", "hold|order|ticket|customer EVENT ID", 3, 3, ONSALE_ROLE_ADMIN, 1,
	 "Looks up a hold, an order (its id is the hold's), a ticket, or a customer's units\n"
	 "counted against the event's limit.",
	 show_opts, show},
	{"avail", "EVENT", 1, 1, ONSALE_ROLE_PLATFORM, 1,
	 "Availability per tier: capacity, free, held, sold, killed, low-stock flag.", NULL, avail},
	{"server", "", 0, 0, ONSALE_ROLE_ADMIN, 1,
	 "The server's counters (STATS): uptime, shards, connections, requests, WAL.", NULL,
	 server},
	{"ping", "", 0, 0, ONSALE_ROLE_PLATFORM, 1,
	 "Connects, authenticates and pings: is the server there and is the key right?", NULL,
	 ping},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
