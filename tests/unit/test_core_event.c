/*
 * test_core_event.c — the admin commands of the state machine: event create
 * and update, tier add, presale code add, section load, and the read-only
 * views of an event (event, availability, stats, customer, section seats).
 * Every rejection is checked to write no record and to change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/state.h"
#include "tests/support/fixture.h"

#define EV 7
#define HOUR_MS (3600ull * 1000)

static struct row_spec rows[SECTION_ROWS_MAX + 1];
static struct seat_spec seats[SECTION_SEATS_MAX + ROW_SEATS_MAX + 1];

static struct cmd event_cmd(uint8_t type, uint32_t id, uint32_t units_max)
{
	struct cmd c = {.type = type};

	c.event.event_id = id;
	c.event.state = EVENT_ON_SALE;
	c.event.units_max = units_max;
	c.event.customer_limit = 4;
	c.event.starts_at_ms = FX_T0 + 48 * HOUR_MS;
	c.event.presale_start_ms = FX_T0 - 2 * HOUR_MS;
	c.event.public_start_ms = FX_T0 - HOUR_MS;
	c.event.sales_end_ms = FX_T0 + 24 * HOUR_MS;
	snprintf(c.event.name, sizeof c.event.name, "concert %u", id);
	snprintf(c.event.venue, sizeof c.event.venue, "arena");
	return c;
}

static struct cmd tier_cmd(uint32_t ev, uint8_t tier, uint8_t kind, uint32_t capacity)
{
	struct cmd c = {.type = CMD_TIER_ADD};

	c.tier.event_id = ev;
	c.tier.tier = tier;
	c.tier.kind = kind;
	c.tier.capacity = capacity;
	c.tier.price_minor = 2500;
	c.tier.low_stock_threshold = 1;
	snprintf(c.tier.name, sizeof c.tier.name, "tier %u", tier);
	return c;
}

static struct cmd code_cmd(uint32_t ev, const char *code)
{
	struct cmd c = {.type = CMD_PRESALE_CODE_ADD};

	c.code.event_id = ev;
	c.code.code_len = (uint8_t)strlen(code);
	memcpy(c.code.code, code, c.code.code_len);
	return c;
}

/* A section of nrows rows of per_row seats of one tier, flags 0, rank = seat. */
static struct cmd section_cmd(uint32_t ev, uint16_t section, uint16_t nrows, uint16_t per_row,
			      uint8_t tier)
{
	struct cmd c = {.type = CMD_SECTION_LOAD};
	uint32_t n = 0;

	for (uint16_t r = 0; r < nrows && r <= SECTION_ROWS_MAX; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		snprintf(rows[r].label, sizeof rows[r].label, "R%u", r);
		rows[r].seat_count = per_row;
		rows[r].first_number = 1;
		for (uint16_t s = 0; s < per_row && n < sizeof seats / sizeof seats[0]; s++, n++)
			seats[n] = (struct seat_spec){.tier = tier, .flags = 0, .rank = s};
	}
	c.section.event_id = ev;
	c.section.section = section;
	c.section.row_count = nrows;
	snprintf(c.section.name, sizeof c.section.name, "S%u", section);
	c.section.rows = rows;
	c.section.seats = seats;
	return c;
}

/* Executes a command that must be refused with want, write no record and
 * change nothing. */
static void refused(struct fx *f, const struct cmd *c, enum status want)
{
	struct state_hash a = core_state_hash(f->c), b;

	assert_string_equal(status_name(fx_exec(f, c)), status_name(want));
	assert_int_equal(f->res.status, want);
	assert_int_equal(f->last_rec_len, 0);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

static void ok(struct fx *f, const struct cmd *c)
{
	assert_string_equal(status_name(fx_exec(f, c)), "ok");
	assert_true(f->last_rec_len > 0);
}

static struct tier_view avail(struct fx *f, uint32_t ev, uint8_t tier)
{
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, ev, 0), ST_OK);
	return f->res.avail.tiers[tier];
}

/* ---- events ---- */

static void event_create_and_view(void **state)
{
	struct fx *f = fx_new(3);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 1000);

	(void)state;
	c.event.hold_ttl_ms = 0;
	ok(f, &c);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->last_rec_len, 0);
	assert_int_equal(f->res.event.event.event_id, EV);
	assert_int_equal(f->res.event.event.state, EVENT_ON_SALE);
	assert_int_equal(f->res.event.event.units_max, 1000);
	assert_int_equal(f->res.event.event.customer_limit, 4);
	assert_int_equal(f->res.event.event.hold_ttl_ms, HOLD_TTL_MS_DEFAULT);
	assert_int_equal(f->res.event.event.public_start_ms, FX_T0 - HOUR_MS);
	assert_int_equal(f->res.event.event.sales_end_ms, FX_T0 + 24 * HOUR_MS);
	assert_string_equal(f->res.event.event.name, "concert 7");
	assert_string_equal(f->res.event.event.venue, "arena");
	assert_int_equal(f->res.event.units_placed, 0);
	assert_int_equal(f->res.event.seat_count, 0);
	assert_int_equal(f->res.event.section_count, 0);
	assert_int_equal(f->res.event.live_holds, 0);
	assert_int_equal(f->res.event.tickets_issued, 0);
	/* a second event lives beside the first */
	c = event_cmd(CMD_EVENT_CREATE, EV + 1, 10);
	c.event.hold_ttl_ms = 5000;
	ok(f, &c);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV + 1, 0), ST_OK);
	assert_int_equal(f->res.event.event.hold_ttl_ms, 5000);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.event.units_max, 1000);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void event_create_bad_arguments(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c;

	(void)state;
	c = event_cmd(CMD_EVENT_CREATE, 0, 10);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	c.event.state = EVENT_STATE_COUNT;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	c.event.customer_limit = CUSTOMER_LIMIT_MAX + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	c.event.hold_ttl_ms = HOLD_TTL_MS_MIN - 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c.event.hold_ttl_ms = HOLD_TTL_MS_MAX + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, 0);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, EVENT_UNITS_MAX + 1);
	refused(f, &c, ST_BAD_ARGUMENT);
	/* window order: presale <= public < end (end 0: none) */
	c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	c.event.presale_start_ms = c.event.public_start_ms + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	c.event.sales_end_ms = c.event.public_start_ms;
	refused(f, &c, ST_BAD_ARGUMENT);
	assert_int_equal(f->records, 0);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_EVENT_UNKNOWN);

	/* the limits themselves are accepted (EVENT_UNITS_MAX is not tried:
	 * its tables are gigabytes, allocated and touched at create) */
	c = event_cmd(CMD_EVENT_CREATE, EV, 1000);
	c.event.customer_limit = CUSTOMER_LIMIT_MAX;
	c.event.hold_ttl_ms = HOLD_TTL_MS_MAX;
	c.event.presale_start_ms = c.event.public_start_ms;
	c.event.sales_end_ms = c.event.public_start_ms + 1;
	ok(f, &c);
	c = event_cmd(CMD_EVENT_CREATE, EV + 1, 1);
	c.event.hold_ttl_ms = HOLD_TTL_MS_MIN;
	c.event.sales_end_ms = 0;
	ok(f, &c);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void event_create_exists(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 10);

	(void)state;
	ok(f, &c);
	c.event.units_max = 20;
	refused(f, &c, ST_EVENT_EXISTS);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.event.units_max, 10);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void event_table_full(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c;

	(void)state;
	for (uint32_t i = 1; i <= EVENTS_MAX; i++) {
		c = event_cmd(CMD_EVENT_CREATE, i * 11, 1);
		ok(f, &c);
	}
	c = event_cmd(CMD_EVENT_CREATE, 5, 1);
	refused(f, &c, ST_EVENT_TABLE_FULL);
	/* an existing id is still "exists", not "full" */
	c = event_cmd(CMD_EVENT_CREATE, 11, 1);
	refused(f, &c, ST_EVENT_EXISTS);
	/* every event is found, the first and the last */
	assert_int_equal(fx_query(f, CMD_Q_EVENT, 11, 0), ST_OK);
	assert_int_equal(f->res.event.event.event_id, 11);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EVENTS_MAX * 11, 0), ST_OK);
	assert_int_equal(f->res.event.event.event_id, EVENTS_MAX * 11);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void event_update(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 10);

	(void)state;
	ok(f, &c);
	c = event_cmd(CMD_EVENT_UPDATE, EV, 999); /* units_max is fixed at create */
	c.event.state = EVENT_PAUSED;
	c.event.customer_limit = 2;
	c.event.hold_ttl_ms = 0;
	snprintf(c.event.name, sizeof c.event.name, "renamed");
	ok(f, &c);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.event.state, EVENT_PAUSED);
	assert_int_equal(f->res.event.event.customer_limit, 2);
	assert_int_equal(f->res.event.event.units_max, 10);
	assert_int_equal(f->res.event.event.hold_ttl_ms, HOLD_TTL_MS_DEFAULT);
	assert_string_equal(f->res.event.event.name, "renamed");

	c = event_cmd(CMD_EVENT_UPDATE, EV + 1, 10);
	refused(f, &c, ST_EVENT_UNKNOWN);
	c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
	c.event.sales_end_ms = c.event.public_start_ms - 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
	c.event.presale_start_ms = c.event.public_start_ms + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
	c.event.state = 9;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
	c.event.hold_ttl_ms = 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = event_cmd(CMD_EVENT_UPDATE, 0, 10);
	refused(f, &c, ST_BAD_ARGUMENT);
	/* every state is reachable */
	for (uint8_t s = 0; s < EVENT_STATE_COUNT; s++) {
		c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
		c.event.state = s;
		ok(f, &c);
		assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
		assert_int_equal(f->res.event.event.state, s);
	}
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- tiers ---- */

static void tier_add(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 100);
	struct tier_view tv;

	(void)state;
	ok(f, &c);
	c = tier_cmd(EV, 2, TIER_GA, 60);
	c.tier.low_stock_threshold = 10;
	c.tier.price_minor = 4200;
	ok(f, &c);
	c = tier_cmd(EV, 5, TIER_RESERVED, 0);
	ok(f, &c);
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	assert_int_equal(f->res.avail.event_id, EV);
	assert_int_equal(f->res.avail.tier_count, 6);
	assert_int_equal(f->res.avail.tiers[0].defined, 0);
	assert_int_equal(f->res.avail.tiers[3].defined, 0);
	tv = f->res.avail.tiers[2];
	assert_int_equal(tv.defined, 1);
	assert_int_equal(tv.kind, TIER_GA);
	assert_int_equal(tv.price_minor, 4200);
	assert_int_equal(tv.capacity, 60);
	assert_int_equal(tv.free, 60);
	assert_int_equal(tv.held + tv.sold + tv.killed, 0);
	assert_int_equal(tv.low_stock_threshold, 10);
	assert_int_equal(tv.low_stock, 0);
	tv = f->res.avail.tiers[5];
	assert_int_equal(tv.defined, 1);
	assert_int_equal(tv.kind, TIER_RESERVED);
	assert_int_equal(tv.capacity, 0);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.units_placed, 60);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void tier_add_refused(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 100);

	(void)state;
	ok(f, &c);
	c = tier_cmd(EV + 1, 0, TIER_GA, 10);
	refused(f, &c, ST_EVENT_UNKNOWN);
	c = tier_cmd(EV, TIERS_MAX, TIER_GA, 10);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = tier_cmd(EV, 0, 2, 10);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = tier_cmd(EV, 0, TIER_GA, 0); /* a GA tier is its quantity */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = tier_cmd(EV, 0, TIER_RESERVED, 5); /* a reserved tier's capacity is its seats */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = tier_cmd(EV, 0, TIER_GA, 101);
	refused(f, &c, ST_EVENT_FULL);
	c = tier_cmd(EV, 0, TIER_GA, 70);
	ok(f, &c);
	refused(f, &c, ST_TIER_EXISTS);
	c = tier_cmd(EV, 0, TIER_RESERVED, 0);
	refused(f, &c, ST_TIER_EXISTS);
	c = tier_cmd(EV, 1, TIER_GA, 31);
	refused(f, &c, ST_EVENT_FULL);
	c = tier_cmd(EV, TIERS_MAX - 1, TIER_GA, 30); /* exactly fills the event */
	ok(f, &c);
	c = tier_cmd(EV, 1, TIER_GA, 1);
	refused(f, &c, ST_EVENT_FULL);
	c = tier_cmd(EV, 1, TIER_RESERVED, 0); /* a reserved tier places nothing yet */
	ok(f, &c);
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	assert_int_equal(f->res.avail.tier_count, TIERS_MAX);
	assert_int_equal(f->res.avail.tiers[0].capacity, 70);
	assert_int_equal(f->res.avail.tiers[TIERS_MAX - 1].capacity, 30);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- presale codes ---- */

static void presale_code_add(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 100);
	char code[PRESALE_CODE_BYTES_MAX + 2];

	(void)state;
	ok(f, &c);
	c = event_cmd(CMD_EVENT_CREATE, EV + 1, 100);
	ok(f, &c);
	c = code_cmd(EV, "FANCLUB");
	c.code.use_limit = 3;
	ok(f, &c);
	refused(f, &c, ST_PRESALE_CODE_EXISTS);
	c.code.use_limit = 0; /* the same code with another limit is still the same code */
	refused(f, &c, ST_PRESALE_CODE_EXISTS);
	c = code_cmd(EV + 1, "FANCLUB"); /* codes are per event */
	ok(f, &c);
	c = code_cmd(EV, "FANCLUB2");
	ok(f, &c);
	c = code_cmd(EV + 2, "X");
	refused(f, &c, ST_EVENT_UNKNOWN);
	c = code_cmd(EV, "");
	refused(f, &c, ST_BAD_ARGUMENT);
	memset(code, 'a', sizeof code);
	c = code_cmd(EV, "");
	memcpy(c.code.code, code, PRESALE_CODE_BYTES_MAX);
	c.code.code_len = PRESALE_CODE_BYTES_MAX + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c.code.code_len = PRESALE_CODE_BYTES_MAX; /* the longest code */
	ok(f, &c);
	/* the stored form is a hash, never the code */
	assert_null(memmem(f->log, f->log_len, "FANCLUB", 7));
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void presale_code_table_full(void **state)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 100);
	char code[16];

	(void)state;
	ok(f, &c);
	for (int i = 0; i < PRESALE_CODES_MAX; i++) {
		snprintf(code, sizeof code, "CODE%d", i);
		c = code_cmd(EV, code);
		ok(f, &c);
	}
	c = code_cmd(EV, "ONEMORE");
	refused(f, &c, ST_PRESALE_CODE_TABLE_FULL);
	c = code_cmd(EV, "CODE0");
	refused(f, &c, ST_PRESALE_CODE_TABLE_FULL);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- sections ---- */

static struct fx *seated_event(uint32_t units_max)
{
	struct fx *f = fx_new(0);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, units_max);

	ok(f, &c);
	c = tier_cmd(EV, 0, TIER_RESERVED, 0);
	ok(f, &c);
	c = tier_cmd(EV, 1, TIER_RESERVED, 0);
	ok(f, &c);
	c = tier_cmd(EV, 2, TIER_GA, 5);
	ok(f, &c);
	return f;
}

static void section_load(void **state)
{
	struct fx *f = seated_event(1000);
	struct cmd c = section_cmd(EV, 3, 4, 10, 0);
	uint8_t st[64];
	uint32_t first = 99;
	struct tier_view tv;

	(void)state;
	seats[0].tier = 1; /* row 0 starts with a tier 1 seat */
	seats[5].flags = SEAT_KILLED;
	seats[6].flags = SEAT_ACCESSIBLE | SEAT_RESTRICTED_VIEW;
	ok(f, &c);
	assert_int_equal(f->res.section.seat_first, 0);
	assert_int_equal(f->res.section.seat_count, 40);
	c = section_cmd(EV, 1, 2, 3, 1);
	ok(f, &c);
	assert_int_equal(f->res.section.seat_first, 40); /* seats are numbered in load order */
	assert_int_equal(f->res.section.seat_count, 6);
	tv = avail(f, EV, 0);
	assert_int_equal(tv.capacity, 39);
	assert_int_equal(tv.killed, 1);
	assert_int_equal(tv.free, 38);
	tv = avail(f, EV, 1);
	assert_int_equal(tv.capacity, 7);
	assert_int_equal(tv.free, 7);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.units_placed, 5 + 46);
	assert_int_equal(f->res.event.seat_count, 46);
	assert_int_equal(f->res.event.section_count, 2);

	assert_int_equal(core_section_seats(f->c, EV, 3, st, sizeof st, &first), 40);
	assert_int_equal(first, 0);
	assert_int_equal(st[5], SEAT_KILLED_STATE);
	assert_int_equal(st[4], SEAT_FREE);
	assert_int_equal(st[6], SEAT_FREE);
	assert_int_equal(core_section_seats(f->c, EV, 1, st, sizeof st, &first), 6);
	assert_int_equal(first, 40);
	assert_int_equal(core_section_seats(f->c, EV, 1, st, 5, NULL), -(long)ST_BAD_ARGUMENT);
	assert_int_equal(core_section_seats(f->c, EV, 2, st, sizeof st, NULL),
			 -(long)ST_SEAT_UNKNOWN);
	assert_int_equal(core_section_seats(f->c, EV, SECTIONS_MAX, st, sizeof st, NULL),
			 -(long)ST_SEAT_UNKNOWN);
	assert_int_equal(core_section_seats(f->c, EV + 1, 1, st, sizeof st, NULL),
			 -(long)ST_EVENT_UNKNOWN);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void section_load_refused(void **state)
{
	struct fx *f = seated_event(1000);
	struct cmd c;

	(void)state;
	c = section_cmd(EV + 1, 0, 2, 4, 0);
	refused(f, &c, ST_EVENT_UNKNOWN);
	c = section_cmd(EV, 0, 2, 4, 3); /* tier 3 is not defined */
	refused(f, &c, ST_TIER_UNKNOWN);
	c = section_cmd(EV, 0, 2, 4, 0);
	seats[7].tier = TIERS_MAX;
	refused(f, &c, ST_TIER_UNKNOWN);
	c = section_cmd(EV, 0, 2, 4, 2); /* tier 2 is GA: no seats */
	refused(f, &c, ST_TIER_KIND_MISMATCH);
	c = section_cmd(EV, 0, 2, 4, 0);
	seats[3].flags = SEAT_FLAGS_ALL + 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, SECTIONS_MAX, 2, 4, 0);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, 0, 4, 0);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, SECTION_ROWS_MAX + 1, 1, 0);
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, 2, ROW_SEATS_MAX + 1, 0); /* a row too long */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, 2, 4, 0);
	rows[1].seat_count = 0; /* an empty row */
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, 2, 4, 0);
	c.section.seats = NULL;
	refused(f, &c, ST_BAD_ARGUMENT);
	c = section_cmd(EV, 0, 2, 4, 0);
	c.section.rows = NULL;
	refused(f, &c, ST_BAD_ARGUMENT);
	assert_int_equal(f->records, 4); /* event and three tiers */

	c = section_cmd(EV, 0, 2, 4, 0);
	ok(f, &c);
	refused(f, &c, ST_SECTION_EXISTS);
	c = section_cmd(EV, 0, 1, 1, 1);
	refused(f, &c, ST_SECTION_EXISTS);
	/* the event holds 1000 units: 5 GA + 8 seats placed */
	c = section_cmd(EV, 1, 99, 10, 1);
	rows[98].seat_count = 8; /* 988 seats: one too many */
	refused(f, &c, ST_EVENT_FULL);
	rows[98].seat_count = 7; /* 987 exactly: the event is full */
	ok(f, &c);
	c = section_cmd(EV, 2, 1, 1, 0);
	refused(f, &c, ST_EVENT_FULL);
	c = tier_cmd(EV, 9, TIER_GA, 1);
	refused(f, &c, ST_EVENT_FULL);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.units_placed, 1000);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void section_too_many_seats(void **state)
{
	struct fx *f = seated_event(100000);
	struct cmd c;

	(void)state;
	/* SECTION_SEATS_MAX + 1 seats in one section */
	c = section_cmd(EV, 0, SECTION_SEATS_MAX / ROW_SEATS_MAX + 1, ROW_SEATS_MAX, 0);
	rows[SECTION_SEATS_MAX / ROW_SEATS_MAX].seat_count = 1;
	refused(f, &c, ST_BAD_ARGUMENT);
	c.section.row_count--; /* exactly SECTION_SEATS_MAX */
	ok(f, &c);
	assert_int_equal(f->res.section.seat_count, SECTION_SEATS_MAX);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void seatmap_full_rows(void **state)
{
	struct fx *f = seated_event(ROWS_MAX + 10);
	uint16_t sections = ROWS_MAX / SECTION_ROWS_MAX;
	struct cmd c;

	(void)state;
	for (uint16_t s = 0; s < sections; s++) {
		c = section_cmd(EV, s, SECTION_ROWS_MAX, 1, 0);
		ok(f, &c);
	}
	c = section_cmd(EV, sections, 1, 1, 0); /* seats to spare, but no rows */
	refused(f, &c, ST_SEATMAP_FULL);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.seat_count, ROWS_MAX);
	assert_int_equal(fx_hold_best(f, EV, 0, 1, 42), ST_OK);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void seatmap_full_seats(void **state)
{
	struct fx *f = seated_event(SEATS_MAX + 100);
	uint16_t sections = SEATS_MAX / SECTION_SEATS_MAX;
	struct cmd c;

	(void)state;
	for (uint16_t s = 0; s < sections; s++) {
		c = section_cmd(EV, s, SECTION_SEATS_MAX / ROW_SEATS_MAX, ROW_SEATS_MAX, 0);
		ok(f, &c);
	}
	c = section_cmd(EV, sections, 1, 1, 0); /* units to spare, but no seats */
	refused(f, &c, ST_SEATMAP_FULL);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.seat_count, SEATS_MAX);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* ---- views ---- */

static void queries(void **state)
{
	struct fx *f = seated_event(100);
	struct cmd c = section_cmd(EV, 0, 1, 6, 0);
	struct state_hash a, b;
	uint8_t st[8];

	(void)state;
	ok(f, &c);
	assert_int_equal(fx_hold_ga(f, EV, 2, 2, 77), ST_OK);
	assert_int_equal(fx_hold_best(f, EV, 0, 2, 77), ST_OK);
	a = core_state_hash(f->c);
	assert_int_equal(fx_query(f, CMD_Q_CUSTOMER, EV, 77), ST_OK);
	assert_int_equal(f->res.customer.event_id, EV);
	assert_int_equal(f->res.customer.customer_id, 77);
	assert_int_equal(f->res.customer.units, 4);
	assert_int_equal(f->res.customer.limit, 4); /* event_cmd's limit */
	assert_int_equal(fx_query(f, CMD_Q_CUSTOMER, EV, 78), ST_OK);
	assert_int_equal(f->res.customer.units, 0);
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, 2), ST_OK);
	assert_int_equal(f->res.stats.event_id, EV);
	assert_int_equal(f->res.stats.tier, 2);
	assert_int_equal(f->res.stats.channels[CHANNEL_ONLINE].held, 2);
	assert_int_equal(f->res.stats.channels[CHANNEL_BOX_OFFICE].held, 0);
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, 3), ST_TIER_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_STATS, EV, TIERS_MAX), ST_TIER_UNKNOWN);
	assert_int_equal(fx_query(f, CMD_Q_EVENT, EV, 0), ST_OK);
	assert_int_equal(f->res.event.live_holds, 2);
	assert_int_equal(core_section_seats(f->c, EV, 0, st, sizeof st, NULL), 6);
	assert_int_equal(st[0] + st[1] + st[2] + st[3] + st[4] + st[5], 2 * SEAT_HELD);
	/* every query of an unknown event is refused */
	for (uint8_t t = CMD_Q_EVENT; t <= CMD_Q_CUSTOMER; t++)
		assert_int_equal(fx_query(f, t, EV + 1, 0), ST_EVENT_UNKNOWN);
	/* unknown command types */
	c.type = 0;
	assert_int_equal(fx_exec(f, &c), ST_BAD_COMMAND);
	c.type = 30;
	assert_int_equal(fx_exec(f, &c), ST_BAD_COMMAND);
	c.type = CMD_Q_CUSTOMER + 1;
	c.query.event_id = EV;
	assert_int_equal(fx_exec(f, &c), ST_BAD_COMMAND);
	/* nothing above wrote a record or changed the state */
	assert_int_equal(f->records, 7);
	b = core_state_hash(f->c);
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void state_hash_depends_on_state(void **state)
{
	struct fx *f = fx_new(0), *g = fx_new(1);
	struct cmd c = event_cmd(CMD_EVENT_CREATE, EV, 10);
	struct state_hash a, b;

	(void)state;
	/* same commands, other shard id: other hash */
	ok(f, &c);
	ok(g, &c);
	a = core_state_hash(f->c);
	b = core_state_hash(g->c);
	assert_true(a.lo != b.lo || a.hi != b.hi);
	/* a renamed event hashes differently */
	c = event_cmd(CMD_EVENT_UPDATE, EV, 10);
	snprintf(c.event.name, sizeof c.event.name, "other");
	ok(f, &c);
	b = core_state_hash(f->c);
	assert_true(a.lo != b.lo || a.hi != b.hi);
	assert_null(fx_replay_check(f));
	assert_null(fx_replay_check(g));
	fx_free(f);
	fx_free(g);
}

/* The hold and ticket tables take memory chunk by chunk as they are first
 * used, not units_max's worth at creation; a snapshot read back allocates
 * only the chunks its holds and tickets need. */
/* Tables are sized when units are placed (two holds and a ticket per unit,
 * event_tables_fit), not for units_max, and grow a chunk at a time past that
 * when released holds keep taking fresh slots. */
static void tables_grow_in_chunks(void **state)
{
	struct fx *f = fx_new(0);
	const char *why = NULL;
	const uint32_t units = HOLD_CHUNK_SLOTS / 4; /* 2 x units + 4096 fit one chunk */
	const struct event *ev;
	struct core *copy;
	uint64_t id;

	(void)state;
	assert_int_equal(fx_event(f, EV, EVENT_UNITS_MAX, 0), ST_OK);
	ev = event_find(f->c, EV);
	assert_int_equal(ev->hold_chunk_count, 0); /* nothing placed, nothing allocated */
	assert_int_equal(ev->ticket_chunk_count, 0);
	assert_int_equal(fx_ga_tier(f, EV, 0, units, 100), ST_OK);
	assert_int_equal(ev->hold_chunk_count, 1);
	assert_int_equal(ev->ticket_chunk_count, 1);
	for (uint32_t i = 0; i < HOLD_CHUNK_SLOTS; i++) { /* churn: a fresh slot each */
		assert_int_equal(fx_hold_ga(f, EV, 0, 1, 1 + i % 1000), ST_OK);
		assert_int_equal(fx_hold_ref(f, CMD_HOLD_RELEASE, EV, f->res.hold.hold_id), ST_OK);
	}
	assert_int_equal(ev->hold_chunk_count, 1);
	assert_int_equal(fx_hold_ga(f, EV, 0, 1, 1), ST_OK); /* the next chunk's first slot */
	assert_int_equal(ev->hold_chunk_count, 2);
	id = f->res.hold.hold_id;
	assert_int_equal(fx_confirm(f, EV, id, 100), ST_OK);
	assert_int_equal(ev->ticket_chunk_count, 1);
	assert_int_equal(fx_query(f, CMD_Q_TICKET, EV, f->res.hold.first_ticket_id), ST_OK);
	copy = fx_snapshot_copy(f->c, &why);
	assert_non_null(copy);
	assert_int_equal(event_find(copy, EV)->hold_chunk_count, 2);
	assert_int_equal(event_find(copy, EV)->ticket_chunk_count, 1);
	assert_true(core_state_hash(copy).lo == core_state_hash(f->c).lo);
	core_destroy(copy);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* The idempotency and customer maps take memory for the units a shard
 * owns, not for units_max: an event of EVENT_UNITS_MAX units took 640 MiB
 * of them on every shard at creation, placed or not. A GA tier sizes them
 * for a customer per unit and a key per hold slot (event_tables_fit), so
 * ten thousand holds by distinct customers, each with a key, split
 * nothing; a snapshot read back rebuilds them with every key still found. */
static void maps_grow_with_their_keys(void **state)
{
	enum { HOLDS = 10000 };
	struct fx *f = fx_new(0);
	const char *why = NULL;
	const struct event *ev;
	struct core *copy;
	size_t empty, placed;
	uint32_t segs;

	(void)state;
	assert_int_equal(fx_event(f, EV, EVENT_UNITS_MAX, 4), ST_OK);
	ev = event_find(f->c, EV);
	empty = htab_bytes(&ev->idem) + htab_bytes(&ev->customers);
	assert_true(empty < (512u << 10));
	assert_int_equal(fx_ga_tier(f, EV, 0, 2 * HOLDS, 100), ST_OK);
	placed = htab_bytes(&ev->idem) + htab_bytes(&ev->customers);
	/* 20,000 units: customers in 16 segments of 64 KiB, keys (two hold
	 * slots a unit and 4,096) in 32, each map's taken in one slab */
	assert_true(placed > empty && placed < (4u << 20));
	assert_int_equal(ev->customers.seg_count, 16);
	assert_int_equal(ev->idem.seg_count, 32);
	segs = ev->idem.seg_count + ev->customers.seg_count;
	for (uint32_t i = 0; i < HOLDS; i++) {
		struct cmd c = fx_hold_cmd(EV, 0, HOLD_GA, 1, 1000 + i);

		c.hold.idem_key = 77;
		assert_int_equal(fx_exec(f, &c), ST_OK);
		assert_int_equal(f->res.replayed, 0);
	}
	assert_int_equal(ev->idem.seg_count + ev->customers.seg_count, segs);
	assert_int_equal(ev->idem.count, HOLDS);
	assert_int_equal(ev->customers.count, HOLDS);
	copy = fx_snapshot_copy(f->c, &why);
	assert_non_null(copy);
	ev = event_find(copy, EV);
	for (uint32_t i = 0; i < HOLDS; i++) {
		const uint32_t *slot = htab_find(&ev->idem, hold_idem_key(1000 + i, 77));

		assert_non_null(slot);
		assert_int_equal(hold_at(ev, *slot)->customer_id, 1000 + i);
		assert_int_equal(customer_units(ev, 1000 + i), 1);
	}
	assert_true(core_state_hash(copy).lo == core_state_hash(f->c).lo);
	core_destroy(copy);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern, e.g. "section_*" */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(event_create_and_view),
		cmocka_unit_test(event_create_bad_arguments),
		cmocka_unit_test(event_create_exists),
		cmocka_unit_test(event_table_full),
		cmocka_unit_test(event_update),
		cmocka_unit_test(tier_add),
		cmocka_unit_test(tier_add_refused),
		cmocka_unit_test(presale_code_add),
		cmocka_unit_test(presale_code_table_full),
		cmocka_unit_test(section_load),
		cmocka_unit_test(section_load_refused),
		cmocka_unit_test(section_too_many_seats),
		cmocka_unit_test(seatmap_full_rows),
		cmocka_unit_test(seatmap_full_seats),
		cmocka_unit_test(queries),
		cmocka_unit_test(state_hash_depends_on_state),
		cmocka_unit_test(tables_grow_in_chunks),
		cmocka_unit_test(maps_grow_with_their_keys),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
