/*
 * test_core_hold.c — holds: GA and named seats, every refusal (arguments,
 * kind, stock, customer limit, sales windows, presale codes, seats),
 * idempotency keys, extend, release, expiry through the timer wheel, and
 * the reuse of ended hold slots (released, expired, fully refunded orders)
 * when the pool is full.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/support/fixture.h"

#define EV 9
#define GA 0   /* GA tier, 20 units at 1500 */
#define RES 1  /* reserved tier: section 0, 3 rows x 8 seats, at 4000 */
#define RES2 2 /* reserved tier: section 1, 1 row x 4 seats, at 9000 */
#define HOUR_MS (3600ull * 1000)

static struct fx *setup(uint8_t shard, uint16_t limit)
{
	struct fx *f = fx_new(shard);

	assert_int_equal(fx_event(f, EV, 100, limit), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 20, 1500), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, RES, 4000), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, RES2, 9000), ST_OK);
	assert_int_equal(fx_section(f, EV, 0, 3, 8, RES), ST_OK);
	assert_int_equal(fx_section(f, EV, 1, 1, 4, RES2), ST_OK);
	return f;
}

/* The event's settings as an update command, to change and execute. */
static struct cmd event_update(struct fx *f)
{
	struct cmd c = {.type = CMD_EVENT_UPDATE};

	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	c.event = f->res.event.event;
	return c;
}

static void refused(struct fx *f, const struct cmd *c, enum status want)
{
	struct state_hash a = core_state_hash(f->c), b;

	assert_string_equal(status_name(fx_exec(f, c)), status_name(want));
	assert_int_equal(f->last_rec_len, 0);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

static uint64_t held(struct fx *f, const struct cmd *c)
{
	assert_string_equal(status_name(fx_exec(f, c)), "ok");
	assert_int_equal(f->res.replayed, 0);
	assert_true(f->last_rec_len > 0);
	return f->res.hold.hold_id;
}

static struct tier_view avail(struct fx *f, uint8_t tier)
{
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	return f->res.avail.tiers[tier];
}

static uint32_t customer_units(struct fx *f, uint64_t customer)
{
	assert_int_equal(fx_query(f, CMD_Q_CUSTOMER, EV, customer), ST_OK);
	return f->res.customer.units;
}

static uint8_t hold_state(struct fx *f, uint64_t hold_id)
{
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, hold_id), ST_OK);
	return f->res.hold.state;
}

static struct cmd ref_cmd(uint8_t type, uint64_t hold_id, uint32_t ttl_ms)
{
	struct cmd c = {.type = type};

	c.ref.event_id = EV;
	c.ref.hold_id = hold_id;
	c.ref.ttl_ms = ttl_ms;
	return c;
}

/* ---- taking a hold ---- */

static void ga_hold(void **state)
{
	struct fx *f = setup(5, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 3, 1234);
	struct tier_view tv;
	uint64_t id, id2;

	(void)state;
	c.hold.channel = CHANNEL_KIOSK;
	id = held(f, &c);
	assert_int_equal(id >> 56, 5); /* the shard is in the id */
	assert_int_equal(f->res.hold.customer_id, 1234);
	assert_int_equal(f->res.hold.event_id, EV);
	assert_int_equal(f->res.hold.tier, GA);
	assert_int_equal(f->res.hold.qty, 3);
	assert_int_equal(f->res.hold.channel, CHANNEL_KIOSK);
	assert_int_equal(f->res.hold.state, HOLD_LIVE);
	assert_int_equal(f->res.hold.expires_at_ms, FX_T0 + HOLD_TTL_MS_DEFAULT);
	assert_int_equal(f->res.hold.amount_due_minor, 4500);
	assert_int_equal(f->res.hold.amount_paid_minor, 0);
	assert_int_equal(f->res.hold.first_ticket_id, 0);
	assert_int_equal(f->res.hold.seats[0], SEAT_NONE);
	tv = avail(f, GA);
	assert_int_equal(tv.free, 17);
	assert_int_equal(tv.held, 3);
	assert_int_equal(tv.sold, 0);
	assert_int_equal(customer_units(f, 1234), 3);
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, GA), ST_OK);
	assert_int_equal(f->res.stats.channels[CHANNEL_KIOSK].held, 3);
	assert_int_equal(f->res.stats.channels[CHANNEL_ONLINE].held, 0);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, id), ST_OK);
	assert_int_equal(f->res.hold.hold_id, id);
	assert_int_equal(f->res.hold.qty, 3);
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, id), ST_HOLD_UNKNOWN); /* not an order yet */
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, id + 1), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, id ^ (1ull << 56)), ST_HOLD_UNKNOWN);
	/* a TTL of its own */
	f->now += 10;
	c.hold.ttl_ms = 5000;
	id2 = held(f, &c);
	assert_true(id2 != id);
	assert_int_equal(f->res.hold.expires_at_ms, FX_T0 + 10 + 5000);
	assert_int_equal(customer_units(f, 1234), 6);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void sold_out(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c;

	(void)state;
	c = fx_hold_cmd(EV, GA, HOLD_GA, 16, 1);
	held(f, &c);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 5, 2);
	refused(f, &c, ST_SOLD_OUT);
	c.hold.qty = 4; /* exactly the rest */
	held(f, &c);
	c.hold.qty = 1;
	refused(f, &c, ST_SOLD_OUT);
	assert_int_equal(avail(f, GA).free, 0);
	/* reserved: best available of more than is free */
	c = fx_hold_cmd(EV, RES2, HOLD_BEST, 3, 3);
	held(f, &c);
	c.hold.qty = 2;
	refused(f, &c, ST_SOLD_OUT);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void bad_arguments(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c;

	(void)state;
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 0); /* no customer */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	c.hold.channel = CHANNELS;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 0, 1);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_GA, HOLD_UNITS_MAX + 1, 1);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_BEST + 1, 1, 1);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, RES, HOLD_BEST, 1, 1);
	c.hold.flags = HOLD_F_ACCESSIBLE << 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	c.hold.code_len = PRESALE_CODE_BYTES_MAX + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	c.hold.ttl_ms = HOLD_TTL_MS_MIN - 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c.hold.ttl_ms = HOLD_TTL_MS_MAX + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = fx_hold_cmd(EV, 7, HOLD_GA, 1, 1); /* tier not defined */
	refused(f, &c, ST_TIER_UNKNOWN);
	c = fx_hold_cmd(EV, TIERS_MAX, HOLD_GA, 1, 1);
	refused(f, &c, ST_TIER_UNKNOWN);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	c.hold.event_id = EV + 1;
	refused(f, &c, ST_EVENT_UNKNOWN);
	assert_int_equal(avail(f, GA).free, 20);
	/* the TTL bounds themselves are accepted */
	c = fx_hold_cmd(EV, GA, HOLD_GA, HOLD_UNITS_MAX, 1);
	c.hold.ttl_ms = HOLD_TTL_MS_MIN;
	held(f, &c);
	c.hold.qty = 1;
	c.hold.ttl_ms = HOLD_TTL_MS_MAX;
	held(f, &c);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void kind_mismatch(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c;

	(void)state;
	c = fx_hold_cmd(EV, RES, HOLD_GA, 1, 1); /* a quantity of a reserved tier */
	refused(f, &c, ST_TIER_KIND_MISMATCH);
	c = fx_hold_cmd(EV, GA, HOLD_BEST, 1, 1); /* seats of a GA tier */
	refused(f, &c, ST_TIER_KIND_MISMATCH);
	c = fx_hold_cmd(EV, GA, HOLD_SEATS, 1, 1);
	c.hold.seats[0] = 0;
	refused(f, &c, ST_TIER_KIND_MISMATCH);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void customer_limit(void **state)
{
	struct fx *f = setup(0, 4);
	struct cmd c;
	uint64_t a, b;

	(void)state;
	c = fx_hold_cmd(EV, GA, HOLD_GA, 3, 1);
	a = held(f, &c);
	c = fx_hold_cmd(EV, RES, HOLD_BEST, 2, 1); /* counted over every tier */
	refused(f, &c, ST_CUSTOMER_LIMIT);
	c.hold.channel = CHANNEL_BOX_OFFICE; /* the box office is limited too */
	refused(f, &c, ST_CUSTOMER_LIMIT);
	c.hold.qty = 1;
	b = held(f, &c);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	refused(f, &c, ST_CUSTOMER_LIMIT);
	c.hold.customer_id = 2; /* another customer is not affected */
	held(f, &c);
	/* owned tickets count like held ones */
	assert_int_equal(fx_confirm(f, EV, a, 4500), ST_OK);
	assert_int_equal(customer_units(f, 1), 4);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	refused(f, &c, ST_CUSTOMER_LIMIT);
	/* a release gives room back */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, b), ST_OK);
	assert_int_equal(customer_units(f, 1), 3);
	held(f, &c);
	refused(f, &c, ST_CUSTOMER_LIMIT);
	assert_int_equal(fx_query(f, CMD_Q_CUSTOMER, EV, 1), ST_OK);
	assert_int_equal(f->res.customer.units, 4);
	assert_int_equal(f->res.customer.limit, 4);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void sales_windows(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1), u;

	(void)state;
	static const uint8_t closed[] = {EVENT_DRAFT, EVENT_PAUSED, EVENT_CLOSED};
	for (unsigned i = 0; i < sizeof closed; i++) {
		u = event_update(f);
		u.event.state = closed[i];
		assert_int_equal(fx_exec(f, &u), ST_OK);
		refused(f, &c, ST_EVENT_NOT_ON_SALE);
		c.hold.channel = CHANNEL_BOX_OFFICE; /* no channel sells off sale */
		refused(f, &c, ST_EVENT_NOT_ON_SALE);
		c.hold.channel = CHANNEL_ONLINE;
	}
	u = event_update(f);
	u.event.state = EVENT_ON_SALE;
	u.event.presale_start_ms = u.event.public_start_ms = FX_T0 + 1000;
	u.event.sales_end_ms = FX_T0 + 5000;
	assert_int_equal(fx_exec(f, &u), ST_OK);
	refused(f, &c, ST_SALES_NOT_STARTED);
	c.hold.channel = CHANNEL_BOX_OFFICE; /* the box office waits for the window too */
	refused(f, &c, ST_SALES_NOT_STARTED);
	c.hold.channel = CHANNEL_ONLINE;
	f->now = FX_T0 + 999;
	refused(f, &c, ST_SALES_NOT_STARTED);
	f->now = FX_T0 + 1000;
	held(f, &c);
	f->now = FX_T0 + 4999;
	held(f, &c);
	f->now = FX_T0 + 5000;
	refused(f, &c, ST_SALES_ENDED);
	f->now = FX_T0 + 50000;
	refused(f, &c, ST_SALES_ENDED);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void add_code(struct fx *f, const char *code, uint32_t use_limit)
{
	struct cmd c = {.type = CMD_PRESALE_CODE_ADD};

	c.code.event_id = EV;
	c.code.code_len = (uint8_t)strlen(code);
	memcpy(c.code.code, code, c.code.code_len);
	c.code.use_limit = use_limit;
	assert_int_equal(fx_exec(f, &c), ST_OK);
}

static void with_code(struct cmd *c, const char *code)
{
	c->hold.code_len = (uint8_t)strlen(code);
	memset(c->hold.code, 0, sizeof c->hold.code);
	memcpy(c->hold.code, code, c->hold.code_len);
}

static void presale(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1), u;
	uint64_t id, due;

	(void)state;
	/* presale from an hour ago, public sale in an hour */
	u = event_update(f);
	u.event.presale_start_ms = FX_T0 - HOUR_MS;
	u.event.public_start_ms = FX_T0 + HOUR_MS;
	assert_int_equal(fx_exec(f, &u), ST_OK);
	add_code(f, "FANS", 2);
	add_code(f, "PRESS", 0);
	refused(f, &c, ST_PRESALE_CODE_REQUIRED);
	with_code(&c, "FAN");
	refused(f, &c, ST_PRESALE_CODE_INVALID);
	with_code(&c, "fans"); /* codes are exact */
	refused(f, &c, ST_PRESALE_CODE_INVALID);
	with_code(&c, "FANSX");
	refused(f, &c, ST_PRESALE_CODE_INVALID);
	with_code(&c, "FANS");
	id = held(f, &c);
	held(f, &c);
	refused(f, &c, ST_PRESALE_CODE_EXHAUSTED);
	/* a released (or expired) hold gives its use back; a confirmed one keeps it */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	id = held(f, &c);
	due = f->res.hold.amount_due_minor;
	refused(f, &c, ST_PRESALE_CODE_EXHAUSTED);
	assert_int_equal(fx_confirm(f, EV, id, due), ST_OK);
	refused(f, &c, ST_PRESALE_CODE_EXHAUSTED);
	with_code(&c, "PRESS"); /* no use limit */
	for (int i = 0; i < 5; i++)
		held(f, &c);
	/* the box office needs no code */
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	c.hold.channel = CHANNEL_BOX_OFFICE;
	held(f, &c);
	c.hold.channel = CHANNEL_KIOSK; /* a kiosk does */
	refused(f, &c, ST_PRESALE_CODE_REQUIRED);
	/* a code of another event is not valid here */
	assert_int_equal(fx_event(f, EV + 1, 10, 0), ST_OK);
	{
		struct cmd k = {.type = CMD_PRESALE_CODE_ADD};

		k.code.event_id = EV + 1;
		k.code.code_len = 5;
		memcpy(k.code.code, "OTHER", 5);
		assert_int_equal(fx_exec(f, &k), ST_OK);
	}
	with_code(&c, "OTHER");
	refused(f, &c, ST_PRESALE_CODE_INVALID);
	/* once the public sale starts no code is needed, and an exhausted one is ignored */
	f->now = FX_T0 + HOUR_MS;
	c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	held(f, &c);
	with_code(&c, "FANS");
	held(f, &c);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void specific_seats(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, RES, HOLD_SEATS, 3, 1);
	uint32_t first;
	uint8_t st[24];
	uint64_t id;

	(void)state;
	assert_int_equal(core_section_seats(f->c, EV, 1, st, sizeof st, &first), 4);
	c.hold.seats[0] = 3;
	c.hold.seats[1] = 17;
	c.hold.seats[2] = 9;
	id = held(f, &c);
	assert_int_equal(f->res.hold.seats[0], 3);
	assert_int_equal(f->res.hold.seats[1], 17);
	assert_int_equal(f->res.hold.seats[2], 9);
	assert_int_equal(f->res.hold.amount_due_minor, 12000);
	assert_int_equal(core_section_seats(f->c, EV, 0, st, sizeof st, NULL), 24);
	for (unsigned i = 0; i < 24; i++)
		assert_int_equal(st[i], (i == 3 || i == 17 || i == 9) ? SEAT_HELD : SEAT_FREE);
	assert_int_equal(avail(f, RES).held, 3);

	c = fx_hold_cmd(EV, RES, HOLD_SEATS, 2, 2);
	c.hold.seats[0] = 4;
	c.hold.seats[1] = 24 + 4; /* past the last seat */
	refused(f, &c, ST_SEAT_UNKNOWN);
	c.hold.seats[1] = UINT32_MAX;
	refused(f, &c, ST_SEAT_UNKNOWN);
	c.hold.seats[1] = first; /* a seat of another tier */
	refused(f, &c, ST_BAD_ARGUMENT);
	c.hold.seats[1] = 4; /* the same seat twice */
	refused(f, &c, ST_BAD_ARGUMENT);
	c.hold.seats[1] = 17; /* held */
	refused(f, &c, ST_SEAT_UNAVAILABLE);
	/* sold seats are unavailable too */
	assert_int_equal(fx_confirm(f, EV, id, 12000), ST_OK);
	refused(f, &c, ST_SEAT_UNAVAILABLE);
	/* once released, a seat can be held again */
	c.hold.seats[1] = 5;
	id = held(f, &c);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	c.hold.customer_id = 3;
	held(f, &c);
	/* a seat of the other tier, asked of that tier */
	c = fx_hold_cmd(EV, RES2, HOLD_SEATS, 1, 4);
	c.hold.seats[0] = first + 3;
	held(f, &c);
	assert_int_equal(f->res.hold.amount_due_minor, 9000);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- idempotency ---- */

static void idempotency_key(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, RES, HOLD_BEST, 2, 1);
	struct state_hash a, b;
	uint64_t id, records;
	struct hold_view first;

	(void)state;
	c.hold.idem_key = 0xabcdef;
	id = held(f, &c);
	first = f->res.hold;
	records = f->records;
	a = core_state_hash(f->c);
	f->now += 1000;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(f->records, records);
	assert_int_equal(f->res.hold.hold_id, id);
	assert_int_equal(f->res.hold.expires_at_ms, first.expires_at_ms);
	assert_int_equal(f->res.hold.seats[0], first.seats[0]);
	assert_int_equal(f->res.hold.seats[1], first.seats[1]);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
	assert_int_equal(avail(f, RES).held, 2);
	/* the repeat answers with the first hold even if it would now be refused */
	c.hold.qty = 16;
	c.hold.tier = GA;
	c.hold.mode = HOLD_GA;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.hold_id, id);
	assert_int_equal(f->res.hold.qty, 2);
	c = fx_hold_cmd(EV, RES, HOLD_BEST, 2, 1);
	c.hold.idem_key = 0xabcdef;
	/* and after the hold ended, with its state */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.hold_id, id);
	assert_int_equal(f->res.hold.state, HOLD_RELEASED);
	assert_int_equal(f->last_rec_len, 0);
	/* the same key from another customer is another hold */
	c.hold.customer_id = 2;
	assert_true(held(f, &c) != id);
	/* another key from the same customer is another hold */
	c.hold.customer_id = 1;
	c.hold.idem_key = 0xabcdee;
	assert_true(held(f, &c) != id);
	/* no key: every request is a new hold */
	c.hold.idem_key = 0;
	id = held(f, &c);
	assert_true(held(f, &c) != id);
	/* a refused request records no key: a retry is decided afresh */
	c = fx_hold_cmd(EV, GA, HOLD_GA, 16, 5);
	c.hold.idem_key = 77;
	held(f, &c);
	c = fx_hold_cmd(EV, GA, HOLD_GA, 8, 6);
	c.hold.idem_key = 78;
	refused(f, &c, ST_SOLD_OUT);
	c.hold.qty = 4;
	held(f, &c);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- extend, release, expire ---- */

static void extend(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1), x;
	uint64_t id, gone, done, late;
	struct cmd due;

	(void)state;
	c.hold.ttl_ms = 10000;
	id = held(f, &c);
	f->now += 4000;
	x = ref_cmd(CMD_HOLD_EXTEND, id, 30000);
	assert_int_equal(fx_exec(f, &x), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.hold.expires_at_ms, FX_T0 + 4000 + 30000);
	assert_int_equal(f->res.hold.state, HOLD_LIVE);
	/* the wheel moved it: nothing is due at the old expiry */
	assert_int_equal(core_next_expiry(f->c, FX_T0 + 10000, &due), 0);
	x.ref.ttl_ms = 0; /* the event's TTL */
	assert_int_equal(fx_exec(f, &x), ST_OK);
	assert_int_equal(f->res.hold.expires_at_ms, FX_T0 + 4000 + HOLD_TTL_MS_DEFAULT);
	x.ref.ttl_ms = HOLD_TTL_MS_MIN - 1;
	refused(f, &x, ST_BAD_ARGUMENT);
	x.ref.ttl_ms = HOLD_TTL_MS_MAX + 1;
	refused(f, &x, ST_BAD_ARGUMENT);
	x = ref_cmd(CMD_HOLD_EXTEND, id + 1000, 5000);
	refused(f, &x, ST_HOLD_UNKNOWN);
	x.ref.event_id = EV + 1;
	refused(f, &x, ST_EVENT_UNKNOWN);
	/* past its expiry, a live hold cannot be extended */
	c.hold.ttl_ms = 2000;
	late = held(f, &c);
	f->now += 2000;
	x = ref_cmd(CMD_HOLD_EXTEND, late, 5000);
	refused(f, &x, ST_HOLD_EXPIRED);
	assert_int_equal(hold_state(f, late), HOLD_LIVE);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, late), ST_OK);
	refused(f, &x, ST_HOLD_EXPIRED);
	/* released and confirmed holds neither */
	gone = held(f, &c);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, gone), ST_OK);
	x = ref_cmd(CMD_HOLD_EXTEND, gone, 5000);
	refused(f, &x, ST_HOLD_RELEASED);
	done = held(f, &c);
	assert_int_equal(fx_confirm(f, EV, done, 1500), ST_OK);
	x = ref_cmd(CMD_HOLD_EXTEND, done, 5000);
	refused(f, &x, ST_HOLD_CONFIRMED);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void release(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, RES, HOLD_BEST, 4, 1);
	uint64_t id, done, late;
	uint8_t st[24];

	(void)state;
	id = held(f, &c);
	assert_int_equal(avail(f, RES).free, 20);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.hold.state, HOLD_RELEASED);
	assert_int_equal(f->res.replayed, 0);
	assert_int_equal(avail(f, RES).free, 24);
	assert_int_equal(avail(f, RES).held, 0);
	assert_int_equal(customer_units(f, 1), 0);
	assert_int_equal(core_section_seats(f->c, EV, 0, st, sizeof st, NULL), 24);
	for (unsigned i = 0; i < 24; i++)
		assert_int_equal(st[i], SEAT_FREE);
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, RES), ST_OK);
	assert_int_equal(f->res.stats.channels[CHANNEL_ONLINE].held, 0);
	/* a repeat changes nothing and says so */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.state, HOLD_RELEASED);
	assert_int_equal(f->last_rec_len, 0);
	/* a released hold does not expire */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, id), ST_HOLD_RELEASED);
	/* confirmed and expired holds cannot be released */
	done = held(f, &c);
	assert_int_equal(fx_confirm(f, EV, done, 16000), ST_OK);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, done), ST_HOLD_CONFIRMED);
	assert_int_equal(f->last_rec_len, 0);
	late = held(f, &c);
	f->now += HOLD_TTL_MS_DEFAULT;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, late), ST_OK);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, late), ST_HOLD_EXPIRED);
	assert_int_equal(f->last_rec_len, 0);
	/* a live hold past its expiry can still be released (the buyer gave up first) */
	late = held(f, &c);
	f->now += HOLD_TTL_MS_DEFAULT + 5;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, late), ST_OK);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, 12345), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV + 1, id), ST_EVENT_UNKNOWN);
	assert_int_equal(avail(f, RES).free, 20);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void expiry(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 2, 1), due;
	uint64_t a, b;

	(void)state;
	c.hold.ttl_ms = 5000;
	a = held(f, &c);
	f->now += 100;
	c.hold.customer_id = 2;
	b = held(f, &c);
	assert_int_equal(core_next_expiry(f->c, FX_T0 + 4999, &due), 0);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, a), ST_HOLD_NOT_DUE);
	assert_int_equal(f->last_rec_len, 0);
	f->now = FX_T0 + 4999;
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, a), ST_HOLD_NOT_DUE);
	/* exactly at expires_at */
	f->now = FX_T0 + 5000;
	assert_int_equal(core_next_expiry(f->c, f->now, &due), 1);
	assert_int_equal(due.type, CMD_HOLD_EXPIRE);
	assert_int_equal(due.ref.event_id, EV);
	assert_int_equal(due.ref.hold_id, a);
	assert_int_equal(fx_exec(f, &due), ST_OK);
	assert_true(f->last_rec_len > 0);
	assert_int_equal(f->res.hold.state, HOLD_EXPIRED);
	assert_int_equal(avail(f, GA).free, 18);
	assert_int_equal(customer_units(f, 1), 0);
	assert_int_equal(core_next_expiry(f->c, f->now, &due), 0); /* b is 100 ms later */
	/* a repeat of the expiry is answered, not applied */
	assert_int_equal(fx_exec(f, &due), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->last_rec_len, 0);
	f->now = FX_T0 + 5100;
	assert_int_equal(core_next_expiry(f->c, f->now, &due), 1);
	assert_int_equal(due.ref.hold_id, b);
	assert_int_equal(fx_exec(f, &due), ST_OK);
	assert_int_equal(core_next_expiry(f->c, f->now + HOUR_MS, &due), 0);
	/* an expired hold cannot be confirmed or expired as something else */
	assert_int_equal(fx_confirm(f, EV, a, 3000), ST_HOLD_EXPIRED);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, 999), ST_HOLD_UNKNOWN);
	assert_int_equal(avail(f, GA).free, 20);
	assert_int_equal(avail(f, GA).held, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* Holds due in a random order, some further out than one turn of the wheel,
 * come out of the wheel each at its time, and every one of them. */
static void expiry_order(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1), due;
	uint64_t id[20], at[20], t0 = f->now, end = 0;
	uint64_t turn_ms = (uint64_t)WHEEL_SLOTS * WHEEL_TICK_MS;
	unsigned expired = 0;

	(void)state;
	for (unsigned i = 0; i < 20; i++) {
		c.hold.ttl_ms = (uint32_t)(HOLD_TTL_MS_MIN +
					   (i * 7919u * 1009u) %
						   (HOLD_TTL_MS_MAX - HOLD_TTL_MS_MIN));
		c.hold.customer_id = i + 1;
		id[i] = held(f, &c);
		at[i] = t0 + c.hold.ttl_ms;
		end = at[i] > end ? at[i] : end;
	}
	assert_true(end - t0 > turn_ms); /* some wait for a later turn */
	/* walk time forward in uneven steps; nothing comes out early or twice */
	for (uint64_t now = t0; now < end + 14000; now += 777 + now % 13000) {
		f->now = now;
		while (core_next_expiry(f->c, now, &due)) {
			unsigned i = 0;

			while (i < 20 && id[i] != due.ref.hold_id)
				i++;
			assert_true(i < 20);
			assert_true(at[i] <= now);
			assert_int_equal(fx_exec(f, &due), ST_OK);
			assert_int_equal(f->res.replayed, 0);
			expired++;
		}
		/* whatever is due has come out */
		for (unsigned i = 0; i < 20; i++)
			if (at[i] <= now)
				assert_int_equal(hold_state(f, id[i]), HOLD_EXPIRED);
			else
				assert_int_equal(hold_state(f, id[i]), HOLD_LIVE);
	}
	assert_int_equal(expired, 20);
	assert_int_equal(avail(f, GA).free, 20);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* A clock jump of many turns still finds every due hold. */
static void expiry_after_clock_jump(void **state)
{
	struct fx *f = setup(0, 0);
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1), due;
	unsigned n = 0;

	(void)state;
	for (unsigned i = 0; i < 10; i++) {
		c.hold.ttl_ms = HOLD_TTL_MS_MIN * (i + 1) * 37;
		held(f, &c);
	}
	f->now += 48 * HOUR_MS;
	while (core_next_expiry(f->c, f->now, &due)) {
		assert_int_equal(fx_exec(f, &due), ST_OK);
		n++;
	}
	assert_int_equal(n, 10);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.live_holds, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- the hold pool ---- */

/* An event of one unit has units_max * TICKETS_PER_UNIT_MAX +
 * HOLDS_RETAINED_MIN hold slots. Once all are used, each new hold reuses
 * the oldest released or expired slot and forgets that hold. */
static void hold_slot_reuse(void **state)
{
	struct fx *f = fx_new(0);
	uint32_t slots = 1 * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN;
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	uint64_t first, second, id = 0, fresh;

	(void)state;
	assert_int_equal(fx_event(f, EV, 1, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, 1, 100), ST_OK);
	c.hold.idem_key = 1;
	first = held(f, &c);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, first), ST_OK);
	c.hold.idem_key = 2;
	second = held(f, &c);
	f->now += HOLD_TTL_MS_DEFAULT; /* this one expires */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_EXPIRE, EV, second), ST_OK);
	for (uint32_t i = 2; i < slots; i++) {
		c.hold.idem_key = 1000 + i;
		id = held(f, &c);
		assert_int_equal((uint32_t)id, i); /* fresh slots first */
		assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	}
	/* still remembered: the pool is full but nothing was reused yet */
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, first), ST_OK);
	c.hold.idem_key = 1;
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.hold_id, first);

	/* the next hold takes the oldest ended slot: the first hold's */
	c.hold.idem_key = 0;
	fresh = held(f, &c);
	assert_int_equal((uint32_t)fresh, (uint32_t)first);
	assert_true(fresh != first);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, first), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, first), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_confirm(f, EV, first, 100), ST_HOLD_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, fresh), ST_OK);
	assert_int_equal(f->res.hold.state, HOLD_LIVE);
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, fresh), ST_OK);
	/* the forgotten hold's key no longer replays: it makes a new hold, in
	 * the next oldest slot (the expired second hold's) */
	c.hold.idem_key = 1;
	id = held(f, &c);
	assert_true(id != first);
	assert_int_equal((uint32_t)id, (uint32_t)second);
	assert_int_equal(fx_query(f, CMD_Q_HOLD, EV, second), ST_HOLD_UNKNOWN);
	/* and from now on that key replays the new hold */
	assert_int_equal(fx_exec(f, &c), ST_OK);
	assert_int_equal(f->res.replayed, 1);
	assert_int_equal(f->res.hold.hold_id, id);
	/* the expired second hold's key is forgotten too */
	assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
	c.hold.idem_key = 2;
	assert_true(held(f, &c) != second);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.live_holds, 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* Live holds and orders with a valid ticket never take more slots than the
 * event has units, so the pool (2 x units + HOLDS_RETAINED_MIN) never
 * refuses a hold: with every unit but one held, holds taken and released
 * and orders bought and refunded past the pool's size all find a slot, the
 * oldest ended one once every slot was used. */
static void hold_table_never_full(void **state)
{
	struct fx *f = fx_new(0);
	uint32_t units = 4;
	uint32_t slots = units * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN;
	struct cmd c = fx_hold_cmd(EV, GA, HOLD_GA, 1, 1);
	uint64_t id, first = 0;

	(void)state;
	assert_int_equal(fx_event(f, EV, units, 0), ST_OK);
	assert_int_equal(fx_ga_tier(f, EV, GA, units, 100), ST_OK);
	for (uint32_t i = 0; i + 1 < units; i++)
		held(f, &c);
	for (uint32_t i = 0; i < slots + 8; i++) {
		id = held(f, &c);
		first = first ? first : id;
		if (i % 2) {
			assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, id), ST_OK);
			continue;
		}
		assert_int_equal(fx_confirm(f, EV, id, 100), ST_OK);
		assert_int_equal(fx_ticket_op(f, CMD_REFUND, EV, f->res.hold.first_ticket_id),
				 ST_OK);
	}
	assert_int_equal(avail(f, GA).free, 1);
	assert_int_equal(fx_query(f, CMD_Q_ORDER, EV, first), ST_HOLD_UNKNOWN); /* reused */
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.live_holds, units - 1);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ga_hold),         cmocka_unit_test(sold_out),
		cmocka_unit_test(bad_arguments),   cmocka_unit_test(kind_mismatch),
		cmocka_unit_test(customer_limit),  cmocka_unit_test(sales_windows),
		cmocka_unit_test(presale),         cmocka_unit_test(specific_seats),
		cmocka_unit_test(idempotency_key), cmocka_unit_test(extend),
		cmocka_unit_test(release),         cmocka_unit_test(expiry),
		cmocka_unit_test(expiry_order),    cmocka_unit_test(expiry_after_clock_jump),
		cmocka_unit_test(hold_slot_reuse), cmocka_unit_test(hold_table_never_full),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
