/*
 * cmd_gen.c — seeded command stream for durability tests (see cmd_gen.h).
 * Test code: everything it remembers is in fixed arrays.
 */
#include "tests/support/cmd_gen.h"

#include <stdio.h>
#include <string.h>

#define EV_GA 1
#define EV_SEATS 2
#define EV_MIXED 3
#define EV_CHURN 4
#define CHURN_UNITS 8
#define EV_RETIRE_FIRST 100 /* short-lived events: created, sold, closed, retired */

static uint64_t rnd(struct cmd_gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct cmd_gen *g, uint32_t n)
{
	return (uint32_t)(rnd(g) % n);
}

void cmd_gen_init(struct cmd_gen *g, uint64_t seed, uint64_t now_ms, uint32_t scale)
{
	memset(g, 0, sizeof *g);
	g->rng = seed * 0x9e3779b97f4a7c15ull + 7;
	g->now_ms = now_ms;
	g->scale = scale ? scale : 1;
}

void cmd_gen_restart(struct cmd_gen *g)
{
	g->setup_step = 0;
}

/* ---- setup ------------------------------------------------------------- */

static void event_cmd(struct cmd_gen *g, struct cmd *c, uint32_t id, uint32_t units, uint16_t limit)
{
	c->type = CMD_EVENT_CREATE;
	c->event.event_id = id;
	c->event.state = EVENT_ON_SALE;
	c->event.customer_limit = limit;
	c->event.units_max = units * g->scale;
	c->event.hold_ttl_ms = 20000 + below(g, 40000);
	c->event.presale_start_ms = 1; /* open long before any clock a test uses */
	c->event.public_start_ms = 2;
	snprintf(c->event.name, sizeof c->event.name, "gen %u", id);
}

static void code_cmd(struct cmd *c, uint32_t id)
{
	c->type = CMD_PRESALE_CODE_ADD;
	c->code.event_id = id;
	c->code.code_len = 6;
	memcpy(c->code.code, "FANS01", 6);
	c->code.use_limit = 30;
}

static void tier_cmd(struct cmd_gen *g, struct cmd *c, uint32_t ev, uint8_t tier, uint8_t kind,
		     uint32_t cap, uint64_t price)
{
	c->type = CMD_TIER_ADD;
	c->tier.event_id = ev;
	c->tier.tier = tier;
	c->tier.kind = kind;
	c->tier.capacity = cap * g->scale;
	c->tier.price_minor = price;
	c->tier.low_stock_threshold = cap ? cap * g->scale / 10 : 5;
}

static void section_cmd(struct cmd_gen *g, struct cmd *c, uint32_t ev, uint16_t section, uint8_t t0,
			uint8_t t1)
{
	uint16_t nrows = (uint16_t)(3 + below(g, 8));
	uint32_t n = 0;
	for (uint16_t r = 0; r < nrows; r++) {
		memset(&g->rows[r], 0, sizeof g->rows[r]);
		g->rows[r].label[0] = (char)('A' + r);
		g->rows[r].seat_count = (uint16_t)(6 + below(g, 15));
		g->rows[r].first_number = 1;
		for (uint16_t i = 0; i < g->rows[r].seat_count; i++, n++) {
			g->seats[n].tier = (r % 3 == 2) ? t1 : t0;
			g->seats[n].rank = (uint16_t)(r * 50 + below(g, 40));
			g->seats[n].flags = below(g, 25) == 0 ? SEAT_ACCESSIBLE : 0;
			if (below(g, 40) == 0)
				g->seats[n].flags |= SEAT_KILLED;
		}
	}
	c->type = CMD_SECTION_LOAD;
	c->section.event_id = ev;
	c->section.section = section;
	c->section.row_count = nrows;
	c->section.rows = g->rows;
	c->section.seats = g->seats;
}

/* Setup command number step; 0 when past the last. */
static int setup_cmd(struct cmd_gen *g, unsigned step, struct cmd *c)
{
	switch (step) {
	case 0: event_cmd(g, c, EV_GA, 600, (uint16_t)(4 + below(g, 5))); return 1;
	case 1: code_cmd(c, EV_GA); return 1;
	case 2: tier_cmd(g, c, EV_GA, 0, TIER_GA, 100 + below(g, 200), 5000); return 1;
	case 3: tier_cmd(g, c, EV_GA, 1, TIER_GA, 20 + below(g, 50), 12000); return 1;
	case 4: event_cmd(g, c, EV_SEATS, 800, (uint16_t)(6 + below(g, 4))); return 1;
	case 5: code_cmd(c, EV_SEATS); return 1;
	case 6: tier_cmd(g, c, EV_SEATS, 0, TIER_RESERVED, 0, 9000); return 1;
	case 7: tier_cmd(g, c, EV_SEATS, 3, TIER_RESERVED, 0, 15000); return 1;
	case 8: section_cmd(g, c, EV_SEATS, 0, 0, 3); return 1;
	case 9: section_cmd(g, c, EV_SEATS, 1, 3, 0); return 1;
	case 10: event_cmd(g, c, EV_MIXED, 700, 0); return 1;
	case 11: code_cmd(c, EV_MIXED); return 1;
	case 12: tier_cmd(g, c, EV_MIXED, 0, TIER_GA, 50 + below(g, 80), 3000); return 1;
	case 13: tier_cmd(g, c, EV_MIXED, 1, TIER_RESERVED, 0, 7000); return 1;
	case 14: section_cmd(g, c, EV_MIXED, 5, 1, 1); return 1;
	case 15: event_cmd(g, c, EV_CHURN, CHURN_UNITS, 0); return 1;
	case 16: tier_cmd(g, c, EV_CHURN, 0, TIER_GA, CHURN_UNITS, 2000); return 1;
	}
	return 0;
}

/* ---- traffic ------------------------------------------------------------- */

static uint32_t pick_event(struct cmd_gen *g)
{
	static const uint32_t evs[] = {EV_GA, EV_SEATS, EV_MIXED};
	return evs[below(g, 3)];
}

static void hold_cmd(struct cmd_gen *g, struct cmd *c)
{
	uint32_t e = pick_event(g);
	c->type = CMD_HOLD;
	c->hold.event_id = e;
	c->hold.customer_id = 1 + below(g, CMD_GEN_CUSTOMERS);
	c->hold.channel = (uint8_t)below(g, CHANNELS);
	c->hold.qty = (uint8_t)(1 + below(g, 4));
	c->hold.idem_key = below(g, 2) ? rnd(g) : 0;
	if (below(g, 2)) {
		c->hold.code_len = 6;
		memcpy(c->hold.code, below(g, 8) ? "FANS01" : "WRONG1", 6);
	}
	if (e == EV_GA || (e == EV_MIXED && below(g, 2))) {
		c->hold.tier = e == EV_GA ? (uint8_t)below(g, 2) : 0;
		c->hold.mode = HOLD_GA;
		return;
	}
	c->hold.tier = e == EV_MIXED ? 1 : (below(g, 2) ? 0 : 3);
	c->hold.mode = below(g, 3) ? HOLD_BEST : HOLD_SEATS;
	c->hold.flags = below(g, 20) == 0 ? HOLD_F_ACCESSIBLE : 0;
	for (uint8_t i = 0; i < c->hold.qty; i++)
		c->hold.seats[i] = below(g, 250);
}

static int hold_ref_cmd(struct cmd_gen *g, struct cmd *c, uint8_t type)
{
	uint32_t i = below(g, CMD_GEN_REMEMBER);
	if (!g->holds[i])
		return 0;
	c->type = type;
	c->ref.event_id = g->hold_ev[i];
	c->ref.hold_id = g->holds[i];
	if (type == CMD_CONFIRM) {
		c->ref.amount_minor = g->hold_due[i] + (below(g, 30) == 0);
		snprintf(c->ref.payment_ref, sizeof c->ref.payment_ref, "psp-%u", below(g, 100000));
	}
	return 1;
}

static int ticket_cmd(struct cmd_gen *g, struct cmd *c, uint8_t type)
{
	uint32_t i = below(g, CMD_GEN_REMEMBER);
	if (!g->tickets[i])
		return 0;
	c->type = type;
	c->ticket.event_id = g->ticket_ev[i];
	c->ticket.ticket_id = g->tickets[i];
	c->ticket.gate_id = 1 + below(g, 9);
	c->ticket.seat = SEAT_NONE;
	if (type == CMD_REFUND) {
		c->ticket.fee_minor = below(g, 3) * 100;
		c->ticket.kill = below(g, 6) == 0;
	}
	if (type == CMD_EXCHANGE) {
		uint32_t ev = g->ticket_ev[i];
		c->ticket.tier = ev == EV_GA      ? (uint8_t)below(g, 2)
				 : ev == EV_SEATS ? (below(g, 2) ? 0 : 3)
						  : (uint8_t)below(g, 2);
		if (below(g, 3) == 0)
			c->ticket.seat = below(g, 250);
	}
	return 1;
}

/* The small event: a hold of one unit, its confirm, its ticket's refund. */
static int churn_cmd(struct cmd_gen *g, struct cmd *c)
{
	if (g->churn_ticket) {
		c->type = CMD_REFUND;
		c->ticket.event_id = EV_CHURN;
		c->ticket.ticket_id = g->churn_ticket;
		c->ticket.seat = SEAT_NONE;
		g->churn_ticket = 0;
		return 1;
	}
	if (g->churn_hold) {
		c->type = CMD_CONFIRM;
		c->ref.event_id = EV_CHURN;
		c->ref.hold_id = g->churn_hold;
		c->ref.amount_minor = 2000;
		g->churn_hold = 0;
		return 1;
	}
	c->type = CMD_HOLD;
	c->hold.event_id = EV_CHURN;
	c->hold.customer_id = 1 + below(g, CMD_GEN_CUSTOMERS);
	c->hold.qty = 1;
	c->hold.mode = HOLD_GA;
	return 1;
}

/* The next step of the current short-lived event: create, GA tier, a hold
 * and its confirm, close, retire; then the next event. */
static int retire_cmd(struct cmd_gen *g, struct cmd *c)
{
	uint32_t ev = EV_RETIRE_FIRST + g->retire_count;

	switch (g->retire_step++) {
	case 0: event_cmd(g, c, ev, 20, 0); return 1;
	case 1: tier_cmd(g, c, ev, 0, TIER_GA, 10, 1000); return 1;
	case 2:
		c->type = CMD_HOLD;
		c->hold.event_id = ev;
		c->hold.customer_id = 1 + below(g, CMD_GEN_CUSTOMERS);
		c->hold.qty = 2;
		c->hold.mode = HOLD_GA;
		return 1;
	case 3:
		c->type = CMD_CONFIRM;
		c->ref.event_id = ev;
		c->ref.hold_id = g->retire_hold;
		c->ref.amount_minor = 2000;
		return 1;
	case 4:
		event_cmd(g, c, ev, 20, 0);
		c->type = CMD_EVENT_UPDATE;
		c->event.state = EVENT_CLOSED;
		return 1;
	}
	c->type = CMD_EVENT_RETIRE;
	c->query.event_id = ev;
	g->retire_step = 0;
	g->retire_count++;
	return 1;
}

static int query_cmd(struct cmd_gen *g, struct cmd *c)
{
	static const uint8_t types[] = {CMD_Q_EVENT, CMD_Q_AVAILABILITY, CMD_Q_STATS,
					CMD_Q_CUSTOMER};
	c->type = types[below(g, 4)];
	c->query.event_id = pick_event(g);
	c->query.tier = (uint8_t)below(g, 4);
	c->query.customer_id = 1 + below(g, CMD_GEN_CUSTOMERS);
	return 1;
}

int cmd_gen_next(struct cmd_gen *g, struct cmd *c)
{
	memset(c, 0, sizeof *c);
	if (setup_cmd(g, g->setup_step, c)) {
		g->setup_step++;
		return 1;
	}
	uint32_t r = below(g, 100);
	if (r < 34) {
		hold_cmd(g, c);
		return 1;
	}
	if (r < 38) {
		*c = g->last_hold;
		return c->type == CMD_HOLD && c->hold.idem_key;
	}
	if (r < 41)
		return hold_ref_cmd(g, c, CMD_HOLD_EXTEND);
	if (r < 49)
		return hold_ref_cmd(g, c, CMD_HOLD_RELEASE);
	if (r < 66)
		return hold_ref_cmd(g, c, CMD_CONFIRM);
	if (r < 74)
		return ticket_cmd(g, c, CMD_REDEEM);
	if (r < 80)
		return ticket_cmd(g, c, CMD_REFUND);
	if (r < 85)
		return ticket_cmd(g, c, CMD_EXCHANGE);
	if (r < 87)
		return query_cmd(g, c);
	if (r < 92)
		return churn_cmd(g, c);
	if (r < 94)
		return retire_cmd(g, c);
	g->now_ms += below(g, 3000);
	return 0;
}

void cmd_gen_result(struct cmd_gen *g, const struct cmd *c, enum status st,
		    const struct result *res)
{
	if (st != ST_OK)
		return;
	if (c->type == CMD_HOLD && c->hold.event_id >= EV_RETIRE_FIRST) {
		g->retire_hold = res->hold.hold_id;
	} else if (c->type == CMD_CONFIRM && c->ref.event_id >= EV_RETIRE_FIRST) {
		/* its ticket stays out of the shared lists: the event retires */
	} else if (c->type == CMD_HOLD && c->hold.event_id == EV_CHURN) {
		g->churn_hold = res->hold.hold_id;
	} else if (c->type == CMD_CONFIRM && c->ref.event_id == EV_CHURN) {
		if (!res->replayed)
			g->churn_ticket = res->hold.first_ticket_id;
	} else if (c->type == CMD_HOLD) {
		uint32_t i = below(g, CMD_GEN_REMEMBER);
		g->holds[i] = res->hold.hold_id;
		g->hold_due[i] = res->hold.amount_due_minor;
		g->hold_ev[i] = c->hold.event_id;
		g->last_hold = *c;
	} else if (c->type == CMD_CONFIRM && !res->replayed) {
		for (uint8_t k = 0; k < res->hold.qty; k++) {
			uint32_t i = below(g, CMD_GEN_REMEMBER);
			g->tickets[i] = res->hold.first_ticket_id + k;
			g->ticket_ev[i] = c->ref.event_id;
		}
	} else if (c->type == CMD_EXCHANGE) {
		uint32_t i = below(g, CMD_GEN_REMEMBER);
		g->tickets[i] = res->ticket.ticket_id;
		g->ticket_ev[i] = c->ticket.event_id;
	}
}
