/*
 * check.c — the invariant checker: a full scan that recomputes every counter
 * from the holds, tickets and seats it summarises and compares.
 *
 *   1. conservation: free + held + sold + killed == capacity, per tier;
 *   2. a seat is in at most one live hold or valid ticket, and its state,
 *      owner and free bit agree with that hold or ticket;
 *   3. tier and channel counters equal the holds and tickets behind them;
 *   4. per-customer counts equal live hold units + valid/redeemed tickets;
 *   5. the hold and ticket pools: the ended-hold queue holds exactly the
 *      ended holds (released, expired, orders with no valid or redeemed
 *      ticket); the reusable-ticket queue holds exactly the refunded and
 *      exchanged tickets; never-used + reusable + valid/redeemed slots ==
 *      the table; each order's chain holds exactly its stored tickets, with
 *      distinct unit numbers; reserved ticket slots == units of live holds
 *      and fit the free slots.
 *
 * For tests, the WAL tool and debug builds; never on the hot path.
 */
#include <stdlib.h>

#include "core/bits.h"
#include "core/state.h"

struct tally {
	uint64_t held[TIERS_MAX], sold[TIERS_MAX], ch_held[TIERS_MAX], ch_sold[TIERS_MAX];
	uint32_t seat_state[TIERS_MAX][4];
};

static const char *check_tiers(const struct event *ev, const struct tally *t)
{
	for (unsigned i = 0; i < TIERS_MAX; i++) {
		const struct tier *tr = &ev->tiers[i];

		if (!tr->defined)
			continue;
		if ((uint64_t)tr->free + tr->held + tr->sold + tr->killed != tr->capacity)
			return "conservation: free + held + sold + killed != capacity";
		if (tr->held != t->held[i] || tr->sold != t->sold[i])
			return "tier held/sold differ from its holds and tickets";
		if (tr->held != t->ch_held[i] || tr->sold != t->ch_sold[i])
			return "channel held/sold do not add up to the tier";
		if (tr->kind == TIER_RESERVED &&
		    (t->seat_state[i][SEAT_FREE] != tr->free ||
		     t->seat_state[i][SEAT_HELD] != tr->held ||
		     t->seat_state[i][SEAT_SOLD] != tr->sold ||
		     t->seat_state[i][SEAT_KILLED_STATE] != tr->killed))
			return "reserved tier counters differ from its seats";
		if (tr->low_stock != (tr->free < tr->low_stock_threshold))
			return "low-stock flag stale";
	}
	return NULL;
}

static const char *check_seats(const struct event *ev, struct tally *t)
{
	for (uint32_t i = 0; i < ev->seat_count; i++) {
		const struct seat *s = &ev->seats[i];
		const struct row *rw = &ev->rows[s->row];

		if (s->state > SEAT_KILLED_STATE || i < rw->first_seat ||
		    i >= rw->first_seat + rw->seat_count)
			return "seat state or row out of range";
		t->seat_state[s->tier][s->state]++;
		if (bit_test(rw->free, i - rw->first_seat) != (s->state == SEAT_FREE))
			return "row free mask disagrees with seat state";
		if (s->state == SEAT_HELD) {
			const struct hold *h = s->owner < ev->holds_used ? hold_at(ev, s->owner)
									 : NULL;
			int found = 0;

			if (!h || h->state != HOLD_LIVE)
				return "held seat not owned by a live hold";
			for (uint8_t j = 0; j < h->qty; j++)
				found += h->seats[j] == i;
			if (found != 1)
				return "held seat missing from its hold";
		} else if (s->state == SEAT_SOLD) {
			const struct ticket *tk = s->owner < ev->tickets_used
							  ? ticket_at(ev, s->owner)
							  : NULL;

			if (!tk || tk->seat != i ||
			    (tk->state != TICKET_VALID && tk->state != TICKET_REDEEMED))
				return "sold seat not owned by a valid ticket";
		} else if (s->owner != NIL) {
			return "free or killed seat has an owner";
		}
	}
	return NULL;
}

/* Adds n units to customer in m; 0 when m has no room for another
 * customer (it is sized by the event's own count: more customers than that
 * is itself a broken invariant). */
static int customer_count(struct htab *m, uint64_t customer, uint32_t n)
{
	uint32_t *v = htab_upsert(m, customer);

	if (v)
		*v += n;
	return v != NULL;
}

#define CUSTOMERS_MISCOUNTED "customer count table has the wrong number of customers"

static const char *check_holds(const struct event *ev, struct tally *t, struct htab *cust)
{
	uint32_t live = 0;

	for (uint32_t i = 0; i < ev->holds_used; i++) {
		const struct hold *h = hold_at(ev, i);

		if ((uint32_t)h->id != i)
			return "hold id does not carry its slot";
		if (h->state != HOLD_LIVE)
			continue;
		live++;
		t->held[h->tier] += h->qty;
		if (!customer_count(cust, h->customer_id, h->qty))
			return CUSTOMERS_MISCOUNTED;
		for (uint8_t j = 0; h->seats[0] != SEAT_NONE && j < h->qty; j++) {
			uint32_t s = h->seats[j];

			if (s >= ev->seat_count || ev->seats[s].state != SEAT_HELD ||
			    ev->seats[s].owner != i)
				return "live hold's seat is not held by it (seat in two holds?)";
		}
	}
	if (live != ev->live_holds)
		return "live hold count wrong";
	for (uint32_t i = 0; i < ev->tickets_used; i++) {
		const struct ticket *tk = ticket_at(ev, i);

		if (tk->state != TICKET_VALID && tk->state != TICKET_REDEEMED)
			continue;
		t->sold[tk->tier]++;
		if (!customer_count(cust, hold_at(ev, tk->hold)->customer_id, 1))
			return CUSTOMERS_MISCOUNTED;
		if (tk->seat != SEAT_NONE &&
		    (tk->seat >= ev->seat_count || ev->seats[tk->seat].state != SEAT_SOLD ||
		     ev->seats[tk->seat].owner != i))
			return "valid ticket's seat is not sold to it (seat sold twice?)";
	}
	return NULL;
}

static int hold_ended(const struct hold *h)
{
	return h->state == HOLD_RELEASED || h->state == HOLD_EXPIRED ||
	       (h->state == HOLD_CONFIRMED && h->tickets_live == 0);
}

static const char *check_ended_queue(const struct event *ev)
{
	uint32_t queued = 0, ended = 0, last = NIL;

	for (uint32_t i = ev->ended_head; i != NIL; i = hold_at(ev, i)->ended_next) {
		if (i >= ev->holds_used || ++queued > ev->holds_used || !hold_ended(hold_at(ev, i)))
			return "ended-hold queue holds a slot that is not an ended hold";
		last = i;
	}
	for (uint32_t i = 0; i < ev->holds_used; i++)
		ended += hold_ended(hold_at(ev, i));
	if (queued != ended || last != ev->ended_tail)
		return "ended-hold queue misses an ended hold";
	return NULL;
}

static int ticket_live(const struct ticket *tk)
{
	return tk->state == TICKET_VALID || tk->state == TICKET_REDEEMED;
}

/* One order's chain; adds its length to *chained. */
static const char *check_order(const struct event *ev, uint32_t slot, uint32_t *chained)
{
	const struct hold *h = hold_at(ev, slot);
	uint64_t units[4] = {0};
	uint32_t n = 0, live = 0;

	if (h->state != HOLD_CONFIRMED)
		return h->ticket_head != NIL || h->tickets_issued || h->tickets_live
			       ? "a hold that is not an order has tickets"
			       : NULL;
	if (h->tickets_issued < h->qty)
		return "order issued fewer tickets than its units";
	for (uint32_t i = h->ticket_head; i != NIL; i = ticket_at(ev, i)->order_next) {
		const struct ticket *tk = i < ev->tickets_used ? ticket_at(ev, i) : NULL;

		if (!tk || ++n > h->tickets_issued || tk->hold != slot ||
		    tk->unit >= h->tickets_issued || bit_test(units, tk->unit))
			return "order's ticket chain is broken";
		bit_set(units, tk->unit);
		live += ticket_live(tk);
	}
	if (live != h->tickets_live)
		return "order's live ticket count differs from its tickets";
	*chained += n;
	return NULL;
}

static const char *check_ticket_pool(const struct event *ev)
{
	uint32_t queued = 0, live = 0, owned = 0, chained = 0, reserved = 0, last = NIL;
	const char *bad;

	if (ev->tickets_used > ev->tickets_max || ev->tfree_count > ev->tickets_used)
		return "ticket pool counters out of range";
	if ((uint64_t)ev->hold_chunk_count * HOLD_CHUNK_SLOTS < ev->holds_used ||
	    (uint64_t)ev->ticket_chunk_count * TICKET_CHUNK_SLOTS < ev->tickets_used)
		return "a used hold or ticket slot has no chunk";
	for (uint32_t i = ev->tfree_head; i != NIL; i = ticket_at(ev, i)->free_next) {
		if (i >= ev->tickets_used || ++queued > ev->tfree_count ||
		    ticket_live(ticket_at(ev, i)))
			return "reusable-ticket queue holds a slot that is not reusable";
		last = i;
	}
	for (uint32_t i = 0; i < ev->tickets_used; i++) {
		live += ticket_live(ticket_at(ev, i));
		owned += ticket_at(ev, i)->hold != NIL;
		if (ticket_at(ev, i)->hold == NIL && ticket_live(ticket_at(ev, i)))
			return "valid ticket without an order";
	}
	if (queued != ev->tfree_count || last != ev->tfree_tail ||
	    ev->tickets_max - ev->tickets_used + ev->tfree_count + live != ev->tickets_max)
		return "ticket slots: never used + reusable + valid != the table";
	for (uint32_t i = 0; i < ev->holds_used; i++) {
		bad = check_order(ev, i, &chained);
		if (bad)
			return bad;
		reserved += hold_at(ev, i)->state == HOLD_LIVE ? hold_at(ev, i)->qty : 0;
	}
	if (chained != owned)
		return "a ticket is missing from its order's chain";
	if (reserved != ev->tickets_reserved || reserved > tickets_free(ev))
		return "reserved ticket slots differ from live hold units or do not fit";
	return check_ended_queue(ev);
}

static const char *check_customers(const struct event *ev, const struct htab *cust)
{
	if (cust->count != ev->customers.count)
		return CUSTOMERS_MISCOUNTED;
	uint64_t pos = 0;

	for (const struct htab_slot *e; (e = htab_next(cust, &pos));) {
		const uint32_t *v = htab_find(&ev->customers, e->key);

		if (!v || *v != e->val)
			return "customer units differ from their holds and tickets";
	}
	return NULL;
}

/* A code's uses are its live and confirmed holds. */
static const char *check_codes(const struct event *ev)
{
	uint32_t uses[PRESALE_CODES_MAX] = {0};

	for (uint32_t i = 0; i < ev->holds_used; i++) {
		const struct hold *h = hold_at(ev, i);

		if (h->code_index == PRESALE_CODE_NONE ||
		    (h->state != HOLD_LIVE && h->state != HOLD_CONFIRMED))
			continue;
		if (h->code_index >= ev->code_count)
			return "a hold names a presale code that does not exist";
		uses[h->code_index]++;
	}
	for (uint8_t i = 0; i < ev->code_count; i++)
		if (uses[i] != ev->codes[i].uses)
			return "a presale code's uses differ from its holds";
	return NULL;
}

static const char *check_event(const struct event *ev)
{
	struct tally *t = calloc(1, sizeof *t);
	struct htab cust;
	const char *bad;

	/* bounded by one customer more than the event counts, so a miscount
	 * either way shows (when it was sized by units_max it was most of a
	 * restart's time to zero for a large event: docs/PERFORMANCE.md,
	 * "Restart under 3 s") */
	if (!t || htab_init(&cust, ev->customers.count + 1)) {
		free(t);
		return "out of memory while checking";
	}
	for (unsigned i = 0; i < TIERS_MAX; i++)
		for (unsigned ch = 0; ch < CHANNELS; ch++) {
			t->ch_held[i] += ev->tiers[i].ch[ch].held;
			t->ch_sold[i] += ev->tiers[i].ch[ch].sold;
		}
	bad = check_seats(ev, t);
	if (!bad)
		bad = check_holds(ev, t, &cust);
	if (!bad)
		bad = check_tiers(ev, t);
	if (!bad)
		bad = check_customers(ev, &cust);
	if (!bad)
		bad = check_ticket_pool(ev);
	if (!bad)
		bad = check_codes(ev);
	htab_fini(&cust);
	free(t);
	return bad;
}

const char *core_check_invariants(const struct core *c)
{
	const char *xfer = stock_check(c);

	assert(c);
	if (xfer)
		return xfer;
	if ((xfer = retired_check(c)))
		return xfer;
	for (uint32_t i = 0; i < c->event_count; i++) {
		const char *bad = check_event(c->events[i]);

		if (bad)
			return bad;
	}
	return NULL;
}
