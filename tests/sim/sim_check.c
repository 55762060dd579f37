/*
 * sim_check.c — what the server simulation holds the server to (model in
 * sim_server.h), read straight from every node's recovered or running core:
 *
 *   conservation   per event, the GA tier's capacity summed over nodes plus
 *                  the units in flight (given, pending on the giver, with a
 *                  seq the taker has not applied) is what was created
 *   invariants     core_check_invariants on every node (free + held + sold
 *                  + killed == capacity, no seat twice, counts agree)
 *   limits         a customer's held + owned units summed over nodes never
 *                  pass the event's limit (a known deviation for now:
 *                  SIM_LIMIT_OVER=1 makes it fail). A stopped store's state
 *                  is left out until the restart shows what of it survived.
 *   codes          a presale code's uses summed over nodes never pass its
 *                  limit (SIM_CODE_OVER=1 makes it fail)
 *   units          units placed over nodes (and in flight) within the
 *                  event's units_max (SIM_UNITS_OVER=1 makes it fail)
 *   settled        once nothing moves (the end of a run, every store
 *                  sound): every request answered, every stock transfer
 *                  acknowledged (before the clock moves when no stock
 *                  answer met an empty pool since the start, else after
 *                  the giver's resend), and every node's counts
 *                  what they derive from: a customer's units on other
 *                  nodes, presale code uses (in the presale or after), units
 *                  placed, no key or admin request left marked in flight
 *   exchanges      after a restart and once settled: an order a node made
 *                  for another node's ticket (XCHG_IN) means that ticket
 *                  ended exchanged for the order's ticket
 *   durability     after a restart: every acknowledged hold, confirm (with
 *                  its tickets), release, refund, redemption, exchange and
 *                  section load is there
 *   one answer     every OK answer for one idempotency key names one hold;
 *                  every OK answer for one confirm names one order, for one
 *                  refund its ticket, for one exchange one new ticket; a
 *                  retry of something acknowledged is not refused. Known
 *                  deviations are counted, not failed, unless switched on:
 *                  a best-available retry answered with another hold
 *                  (SIM_BEST_IDEM=1), a hold retry refused by the nodes'
 *                  customer-limit (SIM_LIMIT_IDEM=1) or presale-code
 *                  (SIM_CODE_IDEM=1) count, which run before the core's
 *                  idempotent replay.
 */
#include "tests/sim/sim_server.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/core.h"
#include "core/inspect.h"
#include "core/state.h"
#include "net/shard/parts.h"
#include "net/store/shard_store.h"

static const struct core *core_of(struct sim *s, uint8_t k)
{
	return shard_store_core(s->store[k]);
}

/* ---- conservation ---------------------------------------------------------------------- */

static uint64_t in_flight(struct sim *s, uint32_t event_id, uint8_t tier)
{
	static struct xfer pending[XFER_PENDING_MAX];
	uint64_t units = 0;
	for (uint8_t g = 0; g < s->n; g++) {
		for (uint8_t t = 0; t < s->n; t++) {
			if (g == t)
				continue;
			uint32_t count = core_xfers_pending(core_of(s, g), t, pending,
							    XFER_PENDING_MAX);
			uint64_t applied = core_xfer_applied(core_of(s, t), g);
			for (uint32_t i = 0; i < count && i < XFER_PENDING_MAX; i++)
				if (XFER_SEQ(pending[i].transfer_id) > applied &&
				    pending[i].event_id == event_id && pending[i].tier == tier)
					units += pending[i].qty;
		}
	}
	return units;
}

static void check_conservation(struct sim *s)
{
	for (uint32_t e = 0; e < s->events; e++) {
		const struct sim_event *ev = &s->ev[e];
		struct cmd q = {.type = CMD_Q_AVAILABILITY};
		struct result res;
		uint64_t capacity = 0;
		q.query.event_id = ev->event_id;
		for (uint8_t k = 0; k < s->n; k++) {
			if (query(core_of(s, k), &q, &res) != ST_OK)
				return sim_fail(s, "event %u unknown on node %u", ev->event_id, k);
			capacity += res.avail.tiers[0].capacity;
		}
		uint64_t moving = in_flight(s, ev->event_id, 0);
		if (capacity + moving != ev->ga_capacity)
			return sim_fail(s,
					"GA units of event %u not conserved: %" PRIu64
					" on the nodes + %" PRIu64 " in flight != %u created",
					ev->event_id, capacity, moving, ev->ga_capacity);
	}
}

/* Units placed (GA capacity and seats) over nodes and transfers in flight
 * within the event's units_max. */
static void check_units(struct sim *s)
{
	for (uint32_t e = 0; e < s->events; e++) {
		const struct sim_event *ev = &s->ev[e];
		uint64_t placed = in_flight(s, ev->event_id, 0);
		uint32_t units_max = 0;
		for (uint8_t k = 0; k < s->n; k++) {
			uint32_t here = core_units_placed(core_of(s, k), ev->event_id, &units_max);
			placed += shard_store_error(s->store[k]) ? 0 : here; /* as for limits */
		}
		if (placed > units_max)
			return sim_known(s, SIM_KNOWN_UNITS_OVER,
					 "event %u has %" PRIu64 " units "
					 "placed over all nodes, its units_max is %u",
					 ev->event_id, placed, units_max);
	}
}

/* ---- per-customer limits over nodes -------------------------------------------------------- */

struct units_ctx {
	uint64_t customer[64];
	uint32_t units[64];
	uint32_t count;
};

static int add_units(void *ctx, uint64_t customer_id, uint32_t units)
{
	struct units_ctx *u = ctx;
	uint32_t i = 0;
	while (i < u->count && u->customer[i] != customer_id)
		i++;
	if (i == u->count) {
		if (u->count == 64)
			return 0; /* more customers than the clients use: not ours */
		u->customer[u->count++] = customer_id;
	}
	u->units[i] += units;
	return 0;
}

static void over_limit(struct sim *s, const struct sim_event *ev, uint64_t customer, uint32_t units)
{
	char where[64] = "";
	for (uint8_t k = 0; k < s->n; k++) {
		struct units_ctx one = {.count = 0};
		core_customers_each(core_of(s, k), ev->event_id, add_units, &one);
		for (uint32_t i = 0; i < one.count; i++)
			if (one.customer[i] == customer)
				snprintf(where + strlen(where), sizeof where - strlen(where),
					 " %u:%u", k, one.units[i]);
	}
	sim_known(s, SIM_KNOWN_LIMIT_OVER,
		  "customer %" PRIu64 " (home node %u) has %u units of "
		  "event %u over all nodes (node:units%s), the limit is %u",
		  customer, node_home(s->n, customer), units, ev->event_id, where, ev->limit);
}

/* A ticket leaving for another node (an exchange between its two ends)
 * counts on its node until the end, and its new order on the seat's node
 * counts from the IN: the same unit twice, for a moment (a hold meanwhile
 * sees more, never less). It is one unit: take the leaving one off. */
static void leaving_units(struct sim *s, uint32_t event_id, struct units_ctx *u)
{
	static struct xchg_pending p[64];
	for (uint8_t k = 0; k < s->n; k++) {
		if (shard_store_error(s->store[k]))
			continue;
		uint32_t n = core_xchgs_pending(core_of(s, k), p, 64);
		for (uint32_t j = 0; j < n && j < 64; j++)
			for (uint32_t i = 0; p[j].event_id == event_id && i < u->count; i++)
				if (u->customer[i] == p[j].customer_id && u->units[i])
					u->units[i]--;
	}
}

static void check_limits(struct sim *s)
{
	for (uint32_t e = 0; e < s->events; e++) {
		const struct sim_event *ev = &s->ev[e];
		struct units_ctx u = {.count = 0};
		if (!ev->limit)
			continue;
		for (uint8_t k = 0; k < s->n; k++)
			if (!shard_store_error(s->store[k]))
				core_customers_each(core_of(s, k), ev->event_id, add_units, &u);
		leaving_units(s, ev->event_id, &u);
		for (uint32_t i = 0; i < u.count; i++)
			if (u.units[i] > ev->limit)
				return over_limit(s, ev, u.customer[i], u.units[i]);
	}
}

/* Core state changes only by records: a step that appended none on any
 * node (a probe, a query, a poll, a delivery of an answer) changed nothing
 * the checks read. */
static bool unchanged(struct sim *s)
{
	bool same = true;
	for (uint8_t k = 0; k < s->n; k++) {
		uint64_t lsn = shard_store_last_lsn(s->store[k]);
		same = same && lsn == s->checked_lsn[k];
		s->checked_lsn[k] = lsn;
	}
	return same;
}

/* ---- presale code uses over nodes ------------------------------------------------------ */

static void check_codes(struct sim *s)
{
	for (uint32_t e = 0; e < s->events; e++) {
		const struct sim_event *ev = &s->ev[e];
		for (uint8_t i = 0; i < ev->codes; i++) {
			uint64_t key = 0, uses = 0;
			uint32_t limit = 0;
			for (uint8_t k = 0; k < s->n; k++) {
				uint64_t key_k;
				if (i >= core_code_count(core_of(s, k), ev->event_id))
					return sim_fail(s, "node %u lost presale code %u", k, i);
				uint32_t here = core_code_uses(core_of(s, k), ev->event_id, i,
							       &key_k, &limit);
				uses += shard_store_error(s->store[k]) ? 0
								       : here; /* as for limits */
				if (k && key_k != key)
					return sim_fail(s, "presale code %u differs between nodes",
							i);
				key = key_k;
			}
			if (limit != ev->code_use_limit)
				return sim_fail(s, "presale code %u: use limit %u, created %u", i,
						limit, ev->code_use_limit);
			if (uses > limit)
				return sim_known(s, SIM_KNOWN_CODE_OVER,
						 "presale code %u of event %u "
						 "used %" PRIu64
						 " times over all nodes, its limit is %u",
						 i, ev->event_id, uses, limit);
		}
	}
}

void sim_check_step(struct sim *s)
{
	if (!s->up || unchanged(s))
		return;
	for (uint8_t k = 0; k < s->n && !sim_failed(s); k++) {
		const char *why = core_check_invariants(core_of(s, k));
		if (why)
			sim_fail(s, "node %u: invariant broken: %s", k, why);
	}
	if (!sim_failed(s))
		check_conservation(s);
	if (!sim_failed(s))
		check_limits(s);
	if (!sim_failed(s))
		check_codes(s);
	if (!sim_failed(s))
		check_units(s);
	s->stats->checks++;
}

/* ---- durability of what was acknowledged ---------------------------------------------------- */

static enum status ask(struct sim *s, uint64_t id, struct cmd *q, struct result *res)
{
	uint8_t k = (uint8_t)(id >> ID_SHARD_SHIFT);
	if (k >= s->n)
		return ST_HOLD_UNKNOWN;
	return query(core_of(s, k), q, res);
}

static enum status hold_now(struct sim *s, const struct hold_view *h, uint8_t type,
			    struct result *res)
{
	struct cmd q = {.type = type};
	q.ref.event_id = h->event_id;
	q.ref.hold_id = h->hold_id;
	return ask(s, h->hold_id, &q, res);
}

static enum status ticket_now(struct sim *s, uint32_t event_id, uint64_t ticket_id,
			      struct result *res)
{
	struct cmd q = {.type = CMD_Q_TICKET};
	q.ticket.event_id = event_id;
	q.ticket.ticket_id = ticket_id;
	return ask(s, ticket_id, &q, res);
}

/* The acknowledged view (global seat ids) against the core's (local ids). */
static bool same_hold(const struct hold_view *acked, const struct hold_view *now)
{
	if (now->customer_id != acked->customer_id || now->qty != acked->qty ||
	    now->tier != acked->tier)
		return false;
	for (unsigned k = 0; k < acked->qty && acked->seats[0] != SEAT_NONE; k++)
		if ((acked->seats[k] & SEAT_LOCAL_MASK) != now->seats[k] ||
		    acked->seats[k] >> SEAT_SHARD_SHIFT != acked->hold_id >> ID_SHARD_SHIFT)
			return false;
	return true;
}

static void check_confirmed(struct sim *s, uint32_t i, const struct hold_view *h)
{
	static struct result now;
	if (hold_now(s, h, CMD_Q_ORDER, &now) != ST_OK || now.hold.state != HOLD_CONFIRMED ||
	    now.hold.first_ticket_id != h->first_ticket_id || !same_hold(h, &now.hold))
		return sim_fail(s,
				"acknowledged confirm (request %u) of hold %016" PRIx64
				" lost: order %s, state %u",
				i, h->hold_id, status_name(hold_now(s, h, CMD_Q_ORDER, &now)),
				now.hold.state);
	for (unsigned t = 0; t < h->qty; t++)
		if (ticket_now(s, h->event_id, h->first_ticket_id + t, &now) != ST_OK ||
		    now.ticket.order_id != h->hold_id)
			return sim_fail(s, "ticket %u of acknowledged order %016" PRIx64 " lost", t,
					h->hold_id);
}

static void check_section(struct sim *s, uint32_t i)
{
	static uint8_t states[SECTION_SEATS_MAX];
	const struct sim_req *e = &s->reqs[i];
	uint8_t k = (uint8_t)(e->res.section.seat_first >> SEAT_SHARD_SHIFT);
	uint32_t first = 0;
	long n = k < s->n
			 ? core_section_seats(core_of(s, k), e->cmd.section.event_id,
					      e->cmd.section.section, states, sizeof states, &first)
			 : -1;
	if (n != (long)e->res.section.seat_count ||
	    first != (e->res.section.seat_first & SEAT_LOCAL_MASK))
		sim_fail(s, "acknowledged section %u of event %u lost or changed (%ld seats)",
			 e->cmd.section.section, e->cmd.section.event_id, n);
}

static void check_acked(struct sim *s, uint32_t i)
{
	static struct result now;
	const struct sim_req *e = &s->reqs[i];
	const struct hold_view *h = &e->res.hold;
	switch (e->cmd.type) {
	case CMD_HOLD:
		if (hold_now(s, h, CMD_Q_HOLD, &now) != ST_OK)
			sim_fail(s, "acknowledged hold %016" PRIx64 " (request %u) lost: %s",
				 h->hold_id, i, status_name(hold_now(s, h, CMD_Q_HOLD, &now)));
		else if (!same_hold(h, &now.hold))
			sim_fail(s, "acknowledged hold %016" PRIx64 " (request %u) changed",
				 h->hold_id, i);
		break;
	case CMD_CONFIRM: check_confirmed(s, i, h); break;
	case CMD_HOLD_RELEASE:
		if (hold_now(s, h, CMD_Q_HOLD, &now) != ST_OK || now.hold.state != HOLD_RELEASED)
			sim_fail(s, "acknowledged release of %016" PRIx64 " lost", h->hold_id);
		break;
	case CMD_SECTION_LOAD: check_section(s, i); break;
	case CMD_EXCHANGE:
		if (e->cmd.ticket.seat != SEAT_NONE && e->res.ticket.seat != e->cmd.ticket.seat)
			sim_fail(s, "exchange of ticket %016" PRIx64 " to seat %08x got seat %08x",
				 e->cmd.ticket.ticket_id, e->cmd.ticket.seat, e->res.ticket.seat);
		if (ticket_now(s, e->cmd.ticket.event_id, e->cmd.ticket.ticket_id, &now) != ST_OK ||
		    now.ticket.state != TICKET_EXCHANGED ||
		    now.ticket.replaced_by != e->res.ticket.ticket_id ||
		    ticket_now(s, e->res.ticket.event_id, e->res.ticket.ticket_id, &now) != ST_OK)
			sim_fail(s,
				 "acknowledged exchange of ticket %016" PRIx64 " for %016" PRIx64
				 " lost",
				 e->cmd.ticket.ticket_id, e->res.ticket.ticket_id);
		break;
	case CMD_REFUND:
	case CMD_REDEEM:
		if (ticket_now(s, e->res.ticket.event_id, e->res.ticket.ticket_id, &now) != ST_OK ||
		    now.ticket.state !=
			    (e->cmd.type == CMD_REFUND ? TICKET_REFUNDED : TICKET_REDEEMED))
			sim_fail(s, "acknowledged %s of ticket %016" PRIx64 " lost",
				 e->cmd.type == CMD_REFUND ? "refund" : "redemption",
				 e->res.ticket.ticket_id);
		break;
	default: break;
	}
}

/* Units of the customer in the event on node k (held + owned). */
static uint32_t units_on(struct sim *s, uint8_t k, uint32_t event_id, uint64_t customer)
{
	struct units_ctx one = {.count = 0};
	core_customers_each(core_of(s, k), event_id, add_units, &one);
	for (uint32_t i = 0; i < one.count; i++)
		if (one.customer[i] == customer)
			return one.units[i];
	return 0;
}

/* Right after node_recover, and once everything settled, the home nodes'
 * counts are exactly what they derive from: a customer's units on the other nodes, for events with a
 * limit only (none for the others), and an event's units placed on every
 * node at its home. */
static void check_home_counts(struct sim *s)
{
	for (uint32_t e = 0; e < s->events && !sim_failed(s); e++) {
		const struct sim_event *ev = &s->ev[e];
		uint64_t placed = 0;
		for (uint32_t c = 0; c < SIM_CUSTOMERS && !sim_failed(s); c++) {
			uint64_t cust = SIM_CUSTOMER_BASE + c;
			uint8_t home = node_home(s->n, cust);
			uint32_t want = 0,
				 have = counts_get(&s->node[home].counts, ev->event_id, cust, 0);
			for (uint8_t k = 0; k < s->n && ev->limit; k++)
				want += k == home ? 0 : units_on(s, k, ev->event_id, cust);
			if (have != want)
				sim_fail(s,
					 "node %u counts %u units of customer %" PRIu64
					 " of event %u "
					 "elsewhere, the nodes have %u (limit %u)",
					 home, have, cust, ev->event_id, want, ev->limit);
		}
		for (uint8_t k = 0; k < s->n; k++) {
			uint32_t units_max;
			placed += core_units_placed(core_of(s, k), ev->event_id, &units_max);
		}
		uint32_t at_home = counts_get(&s->node[ev->event_id % s->n].counts, ev->event_id,
					      EVENT_UNITS, 0);
		if (!sim_failed(s) && at_home != placed)
			sim_fail(s,
				 "event %u's home counts %u units placed, the nodes have %" PRIu64,
				 ev->event_id, at_home, placed);
	}
}

/* The two ends of every exchange the clients asked for agree: an order
 * another node made for the ticket (an XCHG_IN, keyed by the old ticket's
 * id) means the ticket's node ended it exchanged for that order's ticket.
 * Only with no ticket leaving: right after node_recover, or settled. A
 * ticket still valid beside such an order is sold twice. */
static void check_exchanges(struct sim *s)
{
	static struct result old, order;
	for (uint32_t i = 0; i < s->reqs_used && !sim_failed(s); i++) {
		const struct sim_req *e = &s->reqs[i];
		uint32_t event_id = e->cmd.ticket.event_id;
		uint64_t t = e->cmd.ticket.ticket_id;
		uint8_t a = (uint8_t)(t >> ID_SHARD_SHIFT);
		if (e->cmd.type != CMD_EXCHANGE || e->first != NIL32 || e->state == SIM_REQ_BUSY ||
		    ticket_now(s, event_id, t, &old) != ST_OK)
			continue;
		for (uint8_t b = 0; b < s->n && !sim_failed(s); b++) {
			struct cmd q = {.type = CMD_Q_ORDER};
			q.ref.event_id = event_id;
			q.ref.hold_id = b == a ? 0
					       : core_idem_hold(core_of(s, b), event_id,
								old.ticket.customer_id, t);
			if (!q.ref.hold_id || query(core_of(s, b), &q, &order) != ST_OK)
				continue;
			if (old.ticket.state != TICKET_EXCHANGED ||
			    old.ticket.replaced_by != order.hold.first_ticket_id)
				sim_fail(s,
					 "ticket %016" PRIx64 " (state %u, replaced by %016" PRIx64
					 ") and the order %016" PRIx64 " node %u made for it in an "
					 "exchange (ticket %016" PRIx64 ")",
					 t, old.ticket.state, old.ticket.replaced_by, q.ref.hold_id,
					 b, order.hold.first_ticket_id);
		}
	}
}

/* Whether any exchange of ticket t (of event_id) may have acted: one
 * answered ok or outcome_unknown, or never answered (in flight when the
 * process died). Refusals, overloaded and unavailable say nothing of it
 * survives; a request never sent (busy) did nothing. */
static bool exchange_may_have_acted(const struct sim *s, uint32_t event_id, uint64_t t)
{
	for (uint32_t j = 0; j < s->reqs_used; j++) {
		const struct sim_req *e = &s->reqs[j];
		if (e->cmd.type != CMD_EXCHANGE || e->cmd.ticket.event_id != event_id ||
		    e->cmd.ticket.ticket_id != t || e->state == SIM_REQ_BUSY)
			continue;
		if (e->state != SIM_REQ_ANSWERED || e->res.status == ST_OK ||
		    e->res.status == ST_OUTCOME_UNKNOWN)
			return true;
	}
	return false;
}

/* A ticket every exchange of which was answered with a refusal (unavailable
 * and overloaded included: nothing of the request survives, PROTOCOL.md)
 * is not exchanged, once everything settled. */
static void check_refused_exchanges(struct sim *s)
{
	static struct result old;
	for (uint32_t i = 0; i < s->reqs_used && !sim_failed(s); i++) {
		const struct sim_req *e = &s->reqs[i];
		uint32_t event_id = e->cmd.ticket.event_id;
		uint64_t t = e->cmd.ticket.ticket_id;
		if (e->cmd.type != CMD_EXCHANGE || e->first != NIL32 ||
		    e->state != SIM_REQ_ANSWERED || exchange_may_have_acted(s, event_id, t) ||
		    ticket_now(s, event_id, t, &old) != ST_OK)
			continue;
		if (old.ticket.state == TICKET_EXCHANGED)
			sim_fail(s,
				 "ticket %016" PRIx64 " is exchanged, but every exchange of it was "
				 "refused (the first: %s)",
				 t, status_name(e->res.status));
	}
}

/* Presale code uses at each code's owner: the uses on every other node,
 * after a recovery and once everything settled, in the presale or after. */
static void check_code_counts(struct sim *s)
{
	for (uint32_t e = 0; e < s->events && !sim_failed(s); e++) {
		uint32_t event_id = s->ev[e].event_id;
		for (uint8_t i = 0; i < s->ev[e].codes && !sim_failed(s); i++) {
			uint64_t key = 0, want = 0;
			uint32_t limit, uses[SIM_NODES_MAX];
			for (uint8_t k = 0; k < s->n; k++)
				uses[k] = core_code_uses(core_of(s, k), event_id, i, &key, &limit);
			uint8_t owner = exec_code_owner(&s->node[0], key);
			for (uint8_t k = 0; k < s->n; k++)
				want += k == owner ? 0 : uses[k];
			uint32_t have = counts_get(&s->node[owner].counts, event_id, CODE_CUSTOMER,
						   i + 1u);
			if (have != want)
				sim_fail(s,
					 "node %u counts %u uses of presale code %u of event %u "
					 "elsewhere, the nodes have %" PRIu64,
					 owner, have, i, event_id, want);
		}
	}
}

void sim_check_recovered(struct sim *s)
{
	static struct xfer one[1];
	for (uint8_t g = 0; g < s->n && !sim_failed(s); g++)
		for (uint8_t t = 0; t < s->n; t++)
			if (t != g && core_xfers_pending(core_of(s, g), t, one, 1))
				sim_fail(s,
					 "node %u: transfers to node %u still pending after "
					 "node_recover",
					 g, t);
	if (!sim_failed(s))
		check_home_counts(s);
	if (!sim_failed(s))
		check_code_counts(s);
	for (uint32_t i = 0; i < s->reqs_used && !sim_failed(s); i++)
		if (s->reqs[i].state == SIM_REQ_ANSWERED && s->reqs[i].res.status == ST_OK)
			check_acked(s, i);
	if (!sim_failed(s))
		check_exchanges(s);
	memset(s->checked_lsn, 0xff, sizeof s->checked_lsn); /* check this state whole */
	if (!sim_failed(s))
		sim_check_step(s);
}

/* ---- settled: nothing left moving ------------------------------------------------------ */

/* Entries that only live while a request is under way: an idempotency key
 * in flight (a best-available hold's mark at its customer's home), units
 * asked for by an admin command (an event's home). */
static void check_count_marks(struct sim *s)
{
	for (uint8_t k = 0; k < s->n && !sim_failed(s); k++) {
		const struct counts *ct = &s->node[k].counts;
		for (uint32_t i = 0; i <= ct->mask; i++) {
			const struct count_slot *c = &ct->slots[i];
			if (!c->customer_id || c->customer_id == CODE_CUSTOMER || !c->key)
				continue;
			return sim_fail(s,
					"node %u still marks %u in flight for event %u, customer "
					"%" PRIu64 ", key %" PRIu64 ", with nothing under way",
					k, c->units, c->event_id, c->customer_id, c->key);
		}
	}
}

void sim_check_transfers_settled(struct sim *s, const char *when)
{
	static struct xfer one[1];
	for (uint8_t k = 0; k < s->n; k++)
		if (!s->up || shard_store_error(s->store[k]))
			return; /* the restart redelivers */
	for (uint8_t g = 0; g < s->n; g++)
		for (uint8_t t = 0; t < s->n; t++)
			if (t != g && core_xfers_pending(core_of(s, g), t, one, 1))
				return sim_fail(s,
						"node %u: transfer %016" PRIx64
						" to node %u not acknowledged %s, with nothing "
						"else moving",
						g, one[0].transfer_id, t, when);
}

void sim_check_settled(struct sim *s)
{
	if (!s->up || sim_failed(s))
		return;
	for (uint8_t k = 0; k < s->n; k++)
		if (shard_store_error(s->store[k]))
			return; /* outcomes unknown stay counted: the restart decides */
	for (uint32_t i = 0; i < s->reqs_used; i++)
		if (s->reqs[i].state == SIM_REQ_WAITING)
			return sim_fail(s,
					"request %u (node %u, step %" PRIu64
					") not answered, with nothing else moving",
					i, s->reqs[i].at, s->reqs[i].step);
	if (s->n == 1)
		return; /* one node keeps no counts while serving */
	if (s->resend)
		sim_check_transfers_settled(s, "after the resend ticks");
	if (!sim_failed(s))
		check_home_counts(s);
	if (!sim_failed(s))
		check_code_counts(s);
	if (!sim_failed(s))
		check_count_marks(s);
	if (!sim_failed(s))
		check_exchanges(s);
	if (!sim_failed(s))
		check_refused_exchanges(s);
}

/* ---- one answer per key ------------------------------------------------------------------------ */

/* Answers that refuse nothing: try again later, or the outcome is unknown
 * (a failed fsync stopped the store; the restart shows what survived). */
static bool transient(enum status st)
{
	return st == ST_OVERLOADED || st == ST_UNAVAILABLE || st == ST_OUTCOME_UNKNOWN;
}

/* The id an OK answer names: the hold (holds), its tickets (confirms), the
 * ticket refunded or the new ticket an exchange made. */
static uint64_t named(const struct sim_req *e)
{
	switch (e->cmd.type) {
	case CMD_CONFIRM: return e->res.hold.first_ticket_id;
	case CMD_REFUND:
	case CMD_EXCHANGE: return e->res.ticket.ticket_id;
	default: return e->res.hold.hold_id;
	}
}

static const char *what_of(const struct sim_req *e)
{
	switch (e->cmd.type) {
	case CMD_CONFIRM: return "confirm";
	case CMD_REFUND: return "refund";
	case CMD_EXCHANGE: return "exchange";
	default:
		return e->cmd.hold.mode == HOLD_GA      ? "GA hold"
		       : e->cmd.hold.mode == HOLD_SEATS ? "seat hold"
							: "best-available hold";
	}
}

/* Another answer of the group that contradicts answer i, or NIL32. */
static uint32_t contradiction(struct sim *s, uint32_t root, uint32_t i)
{
	const struct sim_req *a = &s->reqs[i];
	for (uint32_t j = root; j < s->reqs_used; j++) {
		const struct sim_req *b = &s->reqs[j];
		if (j == i || (j != root && b->first != root) || b->state != SIM_REQ_ANSWERED ||
		    b->res.status != ST_OK)
			continue;
		if (a->res.status == ST_OK && named(a) != named(b))
			return j;
		/* a refusal of a retry sent after b was acknowledged */
		if (a->res.status != ST_OK && !transient(a->res.status) && a->first != NIL32 &&
		    b->answered_step < a->step)
			return j;
	}
	return NIL32;
}

void sim_check_answer(struct sim *s, uint32_t i)
{
	const struct sim_req *a = &s->reqs[i];
	uint8_t type = a->cmd.type, mode = a->cmd.hold.mode;
	if ((type != CMD_HOLD || !a->cmd.hold.idem_key) && type != CMD_CONFIRM &&
	    type != CMD_REFUND && type != CMD_EXCHANGE)
		return;
	uint32_t j = contradiction(s, a->first == NIL32 ? i : a->first, i);
	if (j == NIL32)
		return;
	char what[SIM_FAILURE_BYTES];
	snprintf(what, sizeof what,
		 "%s sent again (request %u, node %u) answered %s %016" PRIx64
		 ", but request %u (node %u) was acknowledged with %016" PRIx64,
		 what_of(a), i, a->at, status_name(a->res.status), named(a), j, s->reqs[j].at,
		 named(&s->reqs[j]));
	if (type == CMD_HOLD && a->res.status == ST_CUSTOMER_LIMIT)
		sim_known(s, SIM_KNOWN_LIMIT_IDEM, "%s", what);
	else if (type == CMD_HOLD && a->res.status == ST_PRESALE_CODE_EXHAUSTED)
		sim_known(s, SIM_KNOWN_CODE_IDEM, "%s", what);
	else if (type == CMD_HOLD && mode == HOLD_BEST)
		sim_known(s, SIM_KNOWN_BEST_IDEM, "%s", what);
	else
		sim_fail(s, "%s", what);
}
