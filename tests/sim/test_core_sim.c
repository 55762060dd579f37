/*
 * test_core_sim.c — deterministic simulation of the state machine.
 *
 * Each seed builds a shard with a GA event, a reserved-seat event and a mixed
 * one, then runs a random stream of commands: GA, named-seat and
 * best-available holds, idempotent retries, extends, releases, expiries
 * driven by the timer wheel, confirms (some with a wrong amount), redemptions
 * (with double scans), refunds (some killing the unit), exchanges, queries,
 * and clock jumps; and a fourth, small GA event (6 units, 12 ticket slots)
 * churned by hold, confirm, exchange, refund, so its ticket slots are
 * reused over and over while old ticket ids are still being asked for.
 * After every step it checks:
 *
 *   - every invariant (core_check_invariants: conservation per tier, no seat
 *     in two live holds or valid tickets, counters agree with their holds
 *     and tickets);
 *   - every customer within the event's limit;
 *   - a replica core that applies each record as it is written has the same
 *     state hash as the live one (replay reproduces the state);
 *   - retries act once: a repeated idempotency key, confirm, release or
 *     refund changes nothing and returns the first result;
 *   - no status outside the expected set (never record_invalid or internal,
 *     and never hold_table_full or ticket_table_full: the tables are sized
 *     so that neither can happen, docs/PROTOCOL.md);
 *   - every 500 steps, the state written as a snapshot stream and read back
 *     has the same hash, and then serves as the replica from there on.
 *
 * SEEDS (default 500) seeds of STEPS (default 2000) commands each: one
 * million commands. A failure prints its seed; SEED=n runs that seed alone.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/serial.h"
#include "core/state-t.h"

#define EV_GA 1
#define EV_SEATS 2
#define EV_MIXED 3
#define EV_CHURN 4
#define CHURN_UNITS 6
#define CUSTOMERS 40
#define REMEMBER 256

struct sim {
	uint64_t rng;
	uint64_t seed;
	uint64_t now;
	struct core *live, *replica;
	uint8_t rec[RECORD_BYTES_MAX];
	struct result res;
	uint64_t holds[REMEMBER]; /* recent hold ids (event in the top bits of the slot below) */
	uint32_t hold_ev[REMEMBER];
	uint64_t tickets[REMEMBER];
	uint32_t ticket_ev[REMEMBER];
	struct cmd last_hold; /* for idempotent retries */
	uint64_t last_hold_id;
	uint64_t steps, records;
	uint64_t counts[CMD_TYPE_MAX][2]; /* per command: ok, refused */
};

static uint64_t rnd(struct sim *s)
{
	/* splitmix64: a seed fully determines the stream */
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t below(struct sim *s, uint32_t n)
{
	return (uint32_t)(rnd(s) % n);
}

#define FAIL(s, ...)                                                                           \
	do {                                                                                   \
		fprintf(stderr, "seed %" PRIu64 " step %" PRIu64 ": ", (s)->seed, (s)->steps); \
		fprintf(stderr, __VA_ARGS__);                                                  \
		fprintf(stderr, "\n  re-run: SEED=%" PRIu64 " %s\n", (s)->seed, prog);         \
		exit(1);                                                                       \
	} while (0)

static const char *prog;

static int status_expected(enum status st)
{
	return st != ST_RECORD_INVALID && st != ST_INTERNAL && st != ST_BAD_COMMAND &&
	       st != ST_HOLD_TABLE_FULL && st != ST_TICKET_TABLE_FULL;
}

static enum status run(struct sim *s, const struct cmd *cmd)
{
	struct rec_buf rb = {s->rec, sizeof s->rec, 0};
	enum status st = core_execute(s->live, cmd, s->now, &s->res, &rb);

	if (!status_expected(st))
		FAIL(s, "%s returned %s", rec_type_name(cmd->type), status_name(st));
	s->counts[cmd->type][st != ST_OK]++;
	if (rb.len) {
		enum status rst = core_apply(s->replica, rb.bytes, rb.len);

		if (rst != ST_OK)
			FAIL(s, "replica refused %s record: %s", rec_type_name(cmd->type),
			     status_name(rst));
		s->records++;
	}
	if ((st != ST_OK || s->res.replayed) && rb.len)
		FAIL(s, "a refused or replayed %s wrote a record", rec_type_name(cmd->type));
	return st;
}

static void build_event(struct sim *s, uint32_t id, uint32_t units, uint16_t limit)
{
	struct cmd c = {.type = CMD_EVENT_CREATE};

	c.event.event_id = id;
	c.event.state = EVENT_ON_SALE;
	c.event.customer_limit = limit;
	c.event.units_max = units;
	c.event.hold_ttl_ms = 20000 + below(s, 40000);
	c.event.presale_start_ms = s->now;
	c.event.public_start_ms = s->now + 60000; /* a presale minute first */
	snprintf(c.event.name, sizeof c.event.name, "sim %u", id);
	if (run(s, &c) != ST_OK)
		FAIL(s, "event create");
	memset(&c, 0, sizeof c);
	c.type = CMD_PRESALE_CODE_ADD;
	c.code.event_id = id;
	c.code.code_len = 6;
	memcpy(c.code.code, "FANS01", 6);
	c.code.use_limit = 30;
	if (run(s, &c) != ST_OK)
		FAIL(s, "presale code");
}

static void build_tier(struct sim *s, uint32_t ev, uint8_t tier, uint8_t kind, uint32_t cap,
		       uint64_t price)
{
	struct cmd c = {.type = CMD_TIER_ADD};

	c.tier.event_id = ev;
	c.tier.tier = tier;
	c.tier.kind = kind;
	c.tier.capacity = cap;
	c.tier.price_minor = price;
	c.tier.low_stock_threshold = cap ? cap / 10 : 5;
	if (run(s, &c) != ST_OK)
		FAIL(s, "tier add");
}

/* A section with rows of 6-20 seats, tiers alternating by row, a few
 * accessible and killed seats. */
static void build_section(struct sim *s, uint32_t ev, uint16_t section, uint8_t t0, uint8_t t1)
{
	static struct row_spec rows[12];
	static struct seat_spec seats[12 * 20];
	struct cmd c = {.type = CMD_SECTION_LOAD};
	uint16_t nrows = (uint16_t)(3 + below(s, 8));
	uint32_t n = 0;

	for (uint16_t r = 0; r < nrows; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		rows[r].label[0] = (char)('A' + r);
		rows[r].seat_count = (uint16_t)(6 + below(s, 15));
		rows[r].first_number = 1;
		for (uint16_t i = 0; i < rows[r].seat_count; i++, n++) {
			seats[n].tier = (r % 3 == 2) ? t1 : t0;
			seats[n].rank = (uint16_t)(r * 50 + below(s, 40));
			seats[n].flags = below(s, 25) == 0 ? SEAT_ACCESSIBLE : 0;
			if (below(s, 40) == 0)
				seats[n].flags |= SEAT_KILLED;
		}
	}
	c.section.event_id = ev;
	c.section.section = section;
	c.section.row_count = nrows;
	c.section.rows = rows;
	c.section.seats = seats;
	if (run(s, &c) != ST_OK)
		FAIL(s, "section load");
}

static void setup(struct sim *s)
{
	build_event(s, EV_GA, 600, (uint16_t)(4 + below(s, 5)));
	build_tier(s, EV_GA, 0, TIER_GA, 100 + below(s, 200), 5000);
	build_tier(s, EV_GA, 1, TIER_GA, 20 + below(s, 50), 12000);
	build_event(s, EV_SEATS, 800, (uint16_t)(6 + below(s, 4)));
	build_tier(s, EV_SEATS, 0, TIER_RESERVED, 0, 9000);
	build_tier(s, EV_SEATS, 3, TIER_RESERVED, 0, 15000);
	build_section(s, EV_SEATS, 0, 0, 3);
	build_section(s, EV_SEATS, 1, 3, 0);
	build_event(s, EV_MIXED, 700, 0);
	build_tier(s, EV_MIXED, 0, TIER_GA, 50 + below(s, 80), 3000);
	build_tier(s, EV_MIXED, 1, TIER_RESERVED, 0, 7000);
	build_section(s, EV_MIXED, 5, 1, 1);
	build_event(s, EV_CHURN, CHURN_UNITS, 0);
	build_tier(s, EV_CHURN, 0, TIER_GA, CHURN_UNITS, 2000);
}

static uint32_t pick_event(struct sim *s)
{
	static const uint32_t evs[] = {EV_GA, EV_SEATS, EV_MIXED};

	return evs[below(s, 3)];
}

static void remember_hold(struct sim *s, uint32_t ev, uint64_t id)
{
	uint32_t i = below(s, REMEMBER);

	s->holds[i] = id;
	s->hold_ev[i] = ev;
}

static void remember_tickets(struct sim *s, uint32_t ev, uint64_t first, uint8_t qty)
{
	for (uint8_t k = 0; k < qty; k++) {
		uint32_t i = below(s, REMEMBER);

		s->tickets[i] = first + k;
		s->ticket_ev[i] = ev;
	}
}

static void do_hold(struct sim *s)
{
	struct cmd c = {.type = CMD_HOLD};
	uint32_t e = pick_event(s);

	c.hold.event_id = e;
	c.hold.customer_id = 1 + below(s, CUSTOMERS);
	c.hold.channel = (uint8_t)below(s, CHANNELS);
	c.hold.qty = (uint8_t)(1 + below(s, 4));
	c.hold.idem_key = below(s, 2) ? rnd(s) : 0;
	if (below(s, 2)) {
		c.hold.code_len = 6;
		memcpy(c.hold.code, below(s, 8) ? "FANS01" : "WRONG1", 6);
	}
	if (e == EV_GA) {
		c.hold.tier = (uint8_t)below(s, 2);
		c.hold.mode = HOLD_GA;
	} else if (e == EV_MIXED && below(s, 2)) {
		c.hold.tier = 0;
		c.hold.mode = HOLD_GA;
	} else {
		c.hold.tier = e == EV_MIXED ? 1 : (below(s, 2) ? 0 : 3);
		c.hold.mode = below(s, 3) ? HOLD_BEST : HOLD_SEATS;
		c.hold.flags = below(s, 20) == 0 ? HOLD_F_ACCESSIBLE : 0;
		for (uint8_t i = 0; i < c.hold.qty; i++)
			c.hold.seats[i] = below(s, 250);
	}
	if (run(s, &c) == ST_OK) {
		remember_hold(s, e, s->res.hold.hold_id);
		s->last_hold = c;
		s->last_hold_id = s->res.hold.hold_id;
		if (s->res.hold.qty != c.hold.qty)
			FAIL(s, "hold of %u units holds %u", c.hold.qty, s->res.hold.qty);
	}
}

/* A retry of the last hold with its idempotency key acts once. */
static void do_retry(struct sim *s)
{
	struct state_hash before, after;

	if (!s->last_hold.hold.idem_key)
		return;
	before = core_state_hash(s->live);
	if (run(s, &s->last_hold) != ST_OK)
		return; /* the first hold was forgotten (slot reused): a new hold may be refused */
	after = core_state_hash(s->live);
	if (s->res.replayed) {
		if (s->res.hold.hold_id != s->last_hold_id || before.lo != after.lo)
			FAIL(s, "idempotent retry changed state or returned another hold");
	}
}

static void do_hold_ref(struct sim *s, uint8_t type)
{
	uint32_t i = below(s, REMEMBER);
	struct cmd c = {.type = type};
	enum status st;

	if (!s->holds[i])
		return;
	c.ref.event_id = s->hold_ev[i];
	c.ref.hold_id = s->holds[i];
	if (type == CMD_CONFIRM) {
		struct cmd q = {.type = CMD_Q_HOLD};

		q.ref = c.ref;
		if (run(s, &q) != ST_OK)
			return;
		c.ref.amount_minor = s->res.hold.amount_due_minor + (below(s, 30) == 0);
		snprintf(c.ref.payment_ref, sizeof c.ref.payment_ref, "psp-%" PRIu64,
			 rnd(s) % 100000);
	}
	st = run(s, &c);
	if (st == ST_OK && type == CMD_CONFIRM) {
		uint64_t first = s->res.hold.first_ticket_id;

		if (!s->res.replayed)
			remember_tickets(s, s->hold_ev[i], first, s->res.hold.qty);
		if (run(s, &c) != ST_OK || !s->res.replayed || s->res.hold.first_ticket_id != first)
			FAIL(s, "a repeated confirm did not return the same order");
	}
}

static void do_ticket(struct sim *s, uint8_t type)
{
	uint32_t i = below(s, REMEMBER);
	struct cmd c = {.type = type};
	enum status st;

	if (!s->tickets[i])
		return;
	c.ticket.event_id = s->ticket_ev[i];
	c.ticket.ticket_id = s->tickets[i];
	c.ticket.gate_id = 1 + below(s, 9);
	c.ticket.seat = SEAT_NONE;
	if (type == CMD_REFUND) {
		c.ticket.fee_minor = below(s, 3) * 100;
		c.ticket.kill = below(s, 6) == 0;
	}
	if (type == CMD_EXCHANGE) {
		c.ticket.tier = s->ticket_ev[i] == EV_GA      ? (uint8_t)below(s, 2)
				: s->ticket_ev[i] == EV_SEATS ? (below(s, 2) ? 0 : 3)
				: s->ticket_ev[i] == EV_CHURN ? 0
							      : (uint8_t)below(s, 2);
		if (below(s, 3) == 0)
			c.ticket.seat = below(s, 250);
	}
	st = run(s, &c);
	if (st == ST_OK && type == CMD_EXCHANGE) {
		uint64_t fresh = s->res.ticket.ticket_id;
		uint32_t seat = s->res.ticket.seat;

		if (run(s, &c) != ST_OK || !s->res.replayed || s->res.ticket.ticket_id != fresh ||
		    s->res.ticket.seat != seat)
			FAIL(s, "a repeated exchange did not return the same new ticket: %s",
			     status_name(s->res.status));
		s->tickets[i] = fresh;
		return;
	}
	if (st == ST_OK && type == CMD_REDEEM) {
		uint32_t gate = c.ticket.gate_id;

		c.ticket.gate_id = gate + 1;
		if (run(s, &c) != ST_TICKET_ALREADY_REDEEMED || s->res.ticket.gate_id != gate ||
		    s->res.ticket.redeemed_at_ms != s->now)
			FAIL(s,
			     "a second scan was not refused with the first scan's gate and time");
	}
}

/* On the small event: hold, confirm, and refund the tickets again (some
 * exchanged first, a few kept for the other steps to find). */
static void do_churn(struct sim *s)
{
	struct cmd c = {.type = CMD_HOLD};
	uint64_t first;
	uint8_t qty;

	c.hold.event_id = EV_CHURN;
	c.hold.customer_id = 1 + below(s, CUSTOMERS);
	c.hold.channel = (uint8_t)below(s, CHANNELS);
	c.hold.qty = (uint8_t)(1 + below(s, 2));
	c.hold.mode = HOLD_GA;
	if (run(s, &c) != ST_OK)
		return; /* sold out: the kept tickets hold every unit */
	memset(&c, 0, sizeof c);
	c.type = CMD_CONFIRM;
	c.ref.event_id = EV_CHURN;
	c.ref.hold_id = s->res.hold.hold_id;
	c.ref.amount_minor = s->res.hold.amount_due_minor;
	if (run(s, &c) != ST_OK)
		FAIL(s, "a granted hold was not confirmed: %s", status_name(s->res.status));
	first = s->res.hold.first_ticket_id;
	qty = s->res.hold.qty;
	remember_tickets(s, EV_CHURN, first, qty);
	for (uint8_t k = 0; k < qty; k++) {
		memset(&c, 0, sizeof c);
		c.ticket.event_id = EV_CHURN;
		c.ticket.ticket_id = first + k;
		c.ticket.seat = SEAT_NONE;
		c.type = CMD_EXCHANGE;
		if (below(s, 6) == 0 && run(s, &c) == ST_OK) { /* needs a free unit */
			c.ticket.ticket_id = s->res.ticket.ticket_id;
			remember_tickets(s, EV_CHURN, c.ticket.ticket_id, 1);
		}
		if (below(s, 10) == 0)
			continue; /* kept */
		c.type = CMD_REFUND;
		if (run(s, &c) != ST_OK)
			FAIL(s, "refund of a churned ticket: %s", status_name(s->res.status));
	}
}

static void do_expire(struct sim *s)
{
	struct cmd c;
	int n = 0;

	while (core_next_expiry(s->live, s->now, &c) && n++ < 64) {
		if (run(s, &c) != ST_OK)
			FAIL(s, "the wheel offered a hold that would not expire");
	}
}

static void do_query(struct sim *s)
{
	static const uint8_t types[] = {CMD_Q_EVENT, CMD_Q_AVAILABILITY, CMD_Q_STATS,
					CMD_Q_CUSTOMER};
	struct cmd c = {.type = types[below(s, 4)]};

	c.query.event_id = pick_event(s);
	c.query.tier = (uint8_t)below(s, 4);
	c.query.customer_id = 1 + below(s, CUSTOMERS);
	run(s, &c);
}

static void step(struct sim *s)
{
	uint32_t r = below(s, 100);

	if (r < 34)
		do_hold(s);
	else if (r < 38)
		do_retry(s);
	else if (r < 41)
		do_hold_ref(s, CMD_HOLD_EXTEND);
	else if (r < 49)
		do_hold_ref(s, CMD_HOLD_RELEASE);
	else if (r < 66)
		do_hold_ref(s, CMD_CONFIRM);
	else if (r < 74)
		do_ticket(s, CMD_REDEEM);
	else if (r < 80)
		do_ticket(s, CMD_REFUND);
	else if (r < 85)
		do_ticket(s, CMD_EXCHANGE);
	else if (r < 88)
		do_query(s);
	else if (r < 92)
		do_churn(s);
	else
		s->now += below(s, 3000);
	do_expire(s);
}

static void check_limits(struct sim *s)
{
	for (uint32_t e = EV_GA; e <= EV_CHURN; e++)
		for (uint64_t cu = 1; cu <= CUSTOMERS; cu++) {
			struct cmd q = {.type = CMD_Q_CUSTOMER};

			q.query.event_id = e;
			q.query.customer_id = cu;
			run(s, &q);
			if (s->res.customer.limit && s->res.customer.units > s->res.customer.limit)
				FAIL(s, "customer %" PRIu64 " has %u units over limit %u", cu,
				     s->res.customer.units, s->res.customer.limit);
		}
}

static void check(struct sim *s)
{
	struct state_hash a = core_state_hash(s->live), b = core_state_hash(s->replica);
	const char *bad = core_check_invariants(s->live);

	if (bad)
		FAIL(s, "invariant broken: %s", bad);
	if (a.lo != b.lo || a.hi != b.hi)
		FAIL(s, "replica state hash differs from the live state");
}

static void grow(void *ctx, const void *p, size_t n)
{
	struct {
		uint8_t *b;
		size_t len, cap;
	} *g = ctx;

	if (g->len + n > g->cap) {
		g->cap = (g->len + n) * 2;
		g->b = realloc(g->b, g->cap);
	}
	memcpy(g->b + g->len, p, n);
	g->len += n;
}

/* The live state through a snapshot stream and back: same hash, and the
 * copy replaces the replica, so replay continues from a snapshot. */
static void check_snapshot(struct sim *s)
{
	struct {
		uint8_t *b;
		size_t len, cap;
	} g = {0};
	struct serial_sink sink = {grow, &g};
	struct state_hash a = core_state_hash(s->live), b;
	const char *why = NULL;
	struct core *copy;

	core_serialize(s->live, &sink);
	if (g.len != core_serialized_bytes(s->live))
		FAIL(s, "snapshot size differs from core_serialized_bytes");
	copy = core_deserialize(g.b, g.len, &why);
	if (!copy)
		FAIL(s, "snapshot refused on read: %s", why);
	b = core_state_hash(copy);
	if (a.lo != b.lo || a.hi != b.hi)
		FAIL(s, "state read back from a snapshot hashes differently");
	if (core_deserialize(g.b, g.len - 1, &why))
		FAIL(s, "a truncated snapshot was accepted");
	core_destroy(s->replica);
	s->replica = copy;
	free(g.b);
}

static uint64_t totals[CMD_TYPE_MAX][2];

static void run_seed(uint64_t seed, uint64_t steps, uint64_t *commands, uint64_t *records)
{
	struct sim *s = calloc(1, sizeof *s);

	s->seed = s->rng = seed;
	s->now = 1800000000000ull;
	s->live = core_create(0);
	s->replica = core_create(0);
	setup(s);
	check(s);
	for (s->steps = 0; s->steps < steps; s->steps++) {
		step(s);
		check(s);
		if (s->steps % 256 == 0)
			check_limits(s);
		if (s->steps % 500 == 0)
			check_snapshot(s);
	}
	check_limits(s);
	for (unsigned t = 0; t < CMD_TYPE_MAX; t++)
		for (unsigned k = 0; k < 2; k++)
			totals[t][k] += s->counts[t][k];
	*commands += s->steps;
	*records += s->records;
	core_destroy(s->live);
	core_destroy(s->replica);
	free(s);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);

	return v && *v ? strtoull(v, NULL, 0) : dflt;
}

int main(int argc, char **argv)
{
	uint64_t steps = env_u64("STEPS", 2000), seeds = env_u64("SEEDS", 500);
	uint64_t one = env_u64("SEED", 0), commands = 0, records = 0;

	(void)argc;
	prog = argv[0];
	if (one) {
		run_seed(one, steps, &commands, &records);
		seeds = 1;
	} else {
		for (uint64_t i = 1; i <= seeds; i++)
			run_seed(i * 7919, steps, &commands, &records);
	}
	for (unsigned t = 0; t < CMD_TYPE_MAX; t++)
		if (totals[t][0] + totals[t][1])
			printf("  %-18s %9" PRIu64 " ok %9" PRIu64 " refused\n",
			       t >= CMD_Q_EVENT ? "query" : rec_type_name((uint8_t)t), totals[t][0],
			       totals[t][1]);
	for (unsigned t = CMD_HOLD; t <= CMD_EXCHANGE; t++)
		if (totals[t][0] == 0) {
			fprintf(stderr, "%s never succeeded: the simulation does not exercise it\n",
				rec_type_name((uint8_t)t));
			return 1;
		}
	printf("%" PRIu64 " seeds, %" PRIu64 " commands, %" PRIu64
	       " records: invariants and replay hash held after every step\n",
	       seeds, commands, records);
	return 0;
}
