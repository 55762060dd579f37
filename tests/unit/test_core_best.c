/*
 * test_core_best.c — best available: N adjacent free seats of one tier in
 * one row, the best-ranked row first and the best placement in it, no
 * single orphan seat left when another choice exists, accessible seats only
 * for accessible requests, killed seats never, and a stadium filled to the
 * last seat.
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

#define EV 5
#define TA 1 /* reserved tier "A" */
#define TB 2 /* reserved tier "B" */

struct rowdef {
	const char *seats; /* a char a seat: '.' A, 'a' A accessible, 'k' A killed, 'b' B */
	const char *ranks; /* a digit a seat, added to row * 100; NULL: distance from the centre */
};

static struct fx *event(uint32_t units_max)
{
	struct fx *f = fx_new(0);

	assert_int_equal(fx_event(f, EV, units_max, 0), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, TA, 5000), ST_OK);
	assert_int_equal(fx_reserved_tier(f, EV, TB, 3000), ST_OK);
	return f;
}

static void load(struct fx *f, uint16_t section, const struct rowdef *def, uint16_t nrows)
{
	static struct row_spec rows[SECTION_ROWS_MAX];
	static struct seat_spec seats[SECTION_SEATS_MAX];
	struct cmd c = {.type = CMD_SECTION_LOAD};
	uint32_t n = 0;

	for (uint16_t r = 0; r < nrows; r++) {
		uint16_t len = (uint16_t)strlen(def[r].seats);

		memset(&rows[r], 0, sizeof rows[r]);
		rows[r].seat_count = len;
		rows[r].first_number = 1;
		for (uint16_t s = 0; s < len; s++, n++) {
			char k = def[r].seats[s];
			int d = s - len / 2;

			seats[n].tier = k == 'b' ? TB : TA;
			seats[n].flags = k == 'a' ? SEAT_ACCESSIBLE : k == 'k' ? SEAT_KILLED : 0;
			seats[n].rank = (uint16_t)(r * 100 + (def[r].ranks ? def[r].ranks[s] - '0'
									   : (d < 0 ? -d : d)));
		}
	}
	c.section.event_id = EV;
	c.section.section = section;
	c.section.row_count = nrows;
	c.section.rows = rows;
	c.section.seats = seats;
	assert_int_equal(fx_exec(f, &c), ST_OK);
}

static enum status best(struct fx *f, uint8_t tier, uint8_t qty, uint8_t flags)
{
	struct cmd c = {.type = CMD_HOLD};

	c.hold.event_id = EV;
	c.hold.tier = tier;
	c.hold.mode = HOLD_BEST;
	c.hold.qty = qty;
	c.hold.flags = flags;
	c.hold.customer_id = 1;
	return fx_exec(f, &c);
}

/* Best available of qty seats must succeed with seats first..first+qty-1. */
static void best_is(struct fx *f, uint8_t tier, uint8_t qty, uint8_t flags, uint32_t first)
{
	assert_string_equal(status_name(best(f, tier, qty, flags)), "ok");
	assert_int_equal(f->res.hold.qty, qty);
	for (uint8_t i = 0; i < qty; i++)
		assert_int_equal(f->res.hold.seats[i], first + i);
}

static void hold_seat(struct fx *f, uint8_t tier, uint32_t seat)
{
	assert_int_equal(fx_hold_seats(f, EV, tier, &seat, 1, 2), ST_OK);
}

static void seat_states(struct fx *f, uint16_t section, uint8_t *out, size_t cap)
{
	assert_true(core_section_seats(f->c, EV, section, out, cap, NULL) > 0);
}

static void adjacent_in_best_row(void **state)
{
	struct fx *f = event(100);
	uint8_t st[50];

	(void)state;
	assert_int_equal(fx_section(f, EV, 0, 5, 10, TA), ST_OK);
	/* centre of the front row: ranks 2 1 0 1 around seat 5, leftmost on a tie */
	best_is(f, TA, 4, 0, 3);
	seat_states(f, 0, st, sizeof st);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(st[i], i >= 3 && i <= 6 ? SEAT_HELD : SEAT_FREE);
	/* row 0 has 0-2 and 7-9 left: any pair there strands a seat, so row 1 */
	best_is(f, TA, 2, 0, 14);
	/* singles fit row 0 cleanly at an end of a run of three */
	best_is(f, TA, 1, 0, 7);
	best_is(f, TA, 1, 0, 2);
	/* row 0 now has two pairs: a single there strands one, so row 1 again */
	best_is(f, TA, 1, 0, 16);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void best_row_by_rank(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {
		{"......", "999999"}, /* rank 9 */
		{"......", "999999"}, /* rank 109 */
		{"......", "999999"}, /* rank 209 */
	};
	static const struct rowdef other[] = {
		{"........", "99999999"}, /* rank 9 */
		{"........", "00000000"}, /* rank 100 */
	};
	static const struct rowdef best_row[] = {{"....", "0000"}}; /* rank 0 */

	(void)state;
	/* rows are ordered by rank, not by load order */
	load(f, 0, rows, 3);     /* seats 0..17 */
	load(f, 1, other, 2);    /* seats 18..33 */
	load(f, 2, best_row, 1); /* seats 34..37 */
	best_is(f, TA, 4, 0, 34);
	/* then the two rank-9 rows, on a tie in load order */
	best_is(f, TA, 6, 0, 0);
	best_is(f, TA, 2, 0, 18);
	best_is(f, TA, 6, 0, 20);
	/* then rank 100 (section 1 row 1) before rank 109 (section 0 row 1) */
	best_is(f, TA, 2, 0, 26);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void best_placement_by_rank(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef row[] = {{"..........", "9876543210"}};

	(void)state;
	load(f, 0, row, 1);
	best_is(f, TA, 3, 0, 7); /* the right end is best here */
	best_is(f, TA, 3, 0, 4);
	best_is(f, TA, 2, 0, 2); /* better ranked than 0,1; 1,2 would strand seat 0 */
	best_is(f, TA, 2, 0, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void no_orphan_when_avoidable(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef row[] = {{".....", "50005"}};

	(void)state;
	load(f, 0, row, 1);
	/* 1..3 has the best ranks but strands seats 0 and 4 alone */
	best_is(f, TA, 3, 0, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void orphan_when_unavoidable(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef row[] = {{"....", "0009"}};
	uint8_t st[4];

	(void)state;
	load(f, 0, row, 1);
	/* every placement of 3 in 4 seats leaves one: the best of them is taken */
	best_is(f, TA, 3, 0, 0);
	seat_states(f, 0, st, sizeof st);
	assert_int_equal(st[3], SEAT_FREE);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void orphan_avoided_in_a_worse_row(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {
		{"....", NULL}, /* seats 0..3: any 3 leave an orphan */
		{"...", NULL},  /* seats 4..6: 3 fit exactly */
	};

	(void)state;
	load(f, 0, rows, 2);
	best_is(f, TA, 3, 0, 4);
	best_is(f, TA, 3, 0, 1); /* now only row 0 is left: ranks 2 1 0 1 */
	assert_int_equal(best(f, TA, 1, 0), ST_OK);
	assert_int_equal(f->res.hold.seats[0], 0);
	assert_int_equal(best(f, TA, 1, 0), ST_SOLD_OUT);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* A candidate row whose every placement strands a seat is taken only when
 * none of the next BA_ORPHAN_LOOKAHEAD_SEGMENTS candidate rows avoids one. */
static void orphan_lookahead_bound(void **state)
{
	struct rowdef rows[BA_ORPHAN_LOOKAHEAD_SEGMENTS + 2];

	(void)state;
	for (unsigned clean_at = BA_ORPHAN_LOOKAHEAD_SEGMENTS;
	     clean_at <= BA_ORPHAN_LOOKAHEAD_SEGMENTS + 1; clean_at++) {
		struct fx *f = event(100);

		for (unsigned r = 0; r <= clean_at; r++)
			rows[r] = (struct rowdef){r == clean_at ? "..." : "....", NULL};
		load(f, 0, rows, (uint16_t)(clean_at + 1));
		if (clean_at == BA_ORPHAN_LOOKAHEAD_SEGMENTS)
			best_is(f, TA, 3, 0, 4 * clean_at); /* within reach: the clean row */
		else
			best_is(f, TA, 3, 0, 1); /* past it: the first row's best, orphan and all */
		assert_null(fx_replay_check(f));
		fx_free(f);
	}
}

static void accessible_seats(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {
		{"....aa....", NULL}, /* seats 0..9, centre seats 4, 5 accessible */
		{"a.a", NULL},        /* seats 10..12 */
	};

	(void)state;
	load(f, 0, rows, 2);
	/* general requests skip the accessible centre */
	best_is(f, TA, 2, 0, 6);
	best_is(f, TA, 2, 0, 2);
	/* an accessible request takes accessible seats only */
	best_is(f, TA, 2, HOLD_F_ACCESSIBLE, 4);
	best_is(f, TA, 1, HOLD_F_ACCESSIBLE, 10);
	best_is(f, TA, 1, HOLD_F_ACCESSIBLE, 12);
	assert_int_equal(best(f, TA, 1, HOLD_F_ACCESSIBLE), ST_NO_ADJACENT_SEATS);
	assert_int_equal(f->last_rec_len, 0);
	/* general seats left: 0 1 8 9 11 */
	best_is(f, TA, 2, 0, 8);
	best_is(f, TA, 2, 0, 0);
	best_is(f, TA, 1, 0, 11);
	assert_int_equal(best(f, TA, 1, 0), ST_SOLD_OUT);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void accessible_only_left(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {{"..aa..", NULL}};
	uint32_t seat = 2;

	(void)state;
	load(f, 0, rows, 1);
	best_is(f, TA, 2, 0, 4);
	best_is(f, TA, 2, 0, 0);
	/* two accessible seats free: a general request gets none of them */
	assert_int_equal(best(f, TA, 1, 0), ST_NO_ADJACENT_SEATS);
	assert_int_equal(best(f, TA, 2, 0), ST_NO_ADJACENT_SEATS);
	/* a named accessible seat may be held by anyone */
	assert_int_equal(fx_hold_seats(f, EV, TA, &seat, 1, 9), ST_OK);
	best_is(f, TA, 1, HOLD_F_ACCESSIBLE, 3);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void killed_seats(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {{"..k.k..", NULL}}; /* killed: 2, 4 */
	uint8_t st[7];
	uint32_t seat = 2;
	struct cmd q = {.type = CMD_Q_AVAILABILITY};

	(void)state;
	load(f, 0, rows, 1);
	q.query.event_id = EV;
	assert_int_equal(fx_exec(f, &q), ST_OK);
	assert_int_equal(f->res.avail.tiers[TA].capacity, 7);
	assert_int_equal(f->res.avail.tiers[TA].killed, 2);
	assert_int_equal(f->res.avail.tiers[TA].free, 5);
	assert_int_equal(best(f, TA, 3, 0), ST_NO_ADJACENT_SEATS);
	best_is(f, TA, 2, 0, 0); /* ranks 3 2 | 1 0 1 | 2 3: 0,1 and 5,6 tie */
	best_is(f, TA, 2, 0, 5);
	best_is(f, TA, 1, 0, 3);
	assert_int_equal(best(f, TA, 1, 0), ST_SOLD_OUT);
	assert_int_equal(fx_hold_seats(f, EV, TA, &seat, 1, 9), ST_SEAT_UNAVAILABLE);
	seat_states(f, 0, st, sizeof st);
	assert_int_equal(st[2], SEAT_KILLED_STATE);
	assert_int_equal(st[4], SEAT_KILLED_STATE);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void scattered_seats(void **state)
{
	struct fx *f = event(100);

	(void)state;
	assert_int_equal(fx_section(f, EV, 0, 1, 10, TA), ST_OK);
	for (uint32_t s = 1; s < 10; s += 2)
		hold_seat(f, TA, s);
	/* five free seats, no two side by side */
	assert_int_equal(best(f, TA, 2, 0), ST_NO_ADJACENT_SEATS);
	assert_int_equal(f->last_rec_len, 0);
	best_is(f, TA, 1, 0, 4);
	assert_int_equal(best(f, TA, 5, 0), ST_SOLD_OUT);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

static void tiers_share_a_row(void **state)
{
	struct fx *f = event(100);
	static const struct rowdef rows[] = {{".....bbbbb", NULL}};

	(void)state;
	load(f, 0, rows, 1);
	assert_int_equal(best(f, TB, 6, 0), ST_SOLD_OUT);
	best_is(f, TB, 5, 0, 5); /* all of tier B, none of A beside it */
	assert_int_equal(best(f, TB, 1, 0), ST_SOLD_OUT);
	best_is(f, TA, 5, 0, 0);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* Every hold of a section by pairs is adjacent, rows fill front to back,
 * and the section sells out to the last seat. */
static void sell_out_section(void **state)
{
	struct fx *f = event(100);
	uint8_t st[50];

	(void)state;
	assert_int_equal(fx_section(f, EV, 0, 5, 10, TA), ST_OK);
	for (unsigned i = 0; i < 25; i++) {
		assert_int_equal(best(f, TA, 2, 0), ST_OK);
		assert_int_equal(f->res.hold.seats[1], f->res.hold.seats[0] + 1);
		assert_int_equal(f->res.hold.seats[0] / 10, i / 5); /* row by row */
		assert_int_equal(f->res.hold.seats[1] / 10, i / 5);
	}
	assert_int_equal(best(f, TA, 1, 0), ST_SOLD_OUT);
	seat_states(f, 0, st, sizeof st);
	for (unsigned i = 0; i < 50; i++)
		assert_int_equal(st[i], SEAT_HELD);
	assert_null(fx_replay_check(f));
	fx_free(f);
}

/* 100,000 seats in 50 sections of 40 rows x 50 seats, filled by best
 * available in blocks of 8, then pairs, then singles, to sold out. */
static void stadium_sells_out(void **state)
{
	enum { SECTIONS = 50, ROWS = 40, PER_ROW = 50, SEATS = SECTIONS * ROWS * PER_ROW };
	struct fx *f = event(SEATS);
	static const uint8_t sizes[] = {8, 2, 1};
	uint32_t holds = 0, seats = 0;
	struct cmd q = {.type = CMD_Q_AVAILABILITY};

	(void)state;
	for (uint16_t s = 0; s < SECTIONS; s++)
		assert_int_equal(fx_section(f, EV, s, ROWS, PER_ROW, TA), ST_OK);
	/* the very first block: front row of the first section, centred on seat 25 */
	best_is(f, TA, 8, 0, 21);
	holds++;
	seats += 8;
	for (unsigned k = 0; k < sizeof sizes; k++) {
		enum status st;

		while ((st = best(f, TA, sizes[k], 0)) == ST_OK) {
			const struct hold_view *h = &f->res.hold;

			for (uint8_t i = 1; i < h->qty; i++) {
				assert_int_equal(h->seats[i], h->seats[0] + i);
				assert_int_equal(h->seats[i] / PER_ROW, h->seats[0] / PER_ROW);
			}
			holds++;
			seats += h->qty;
		}
		assert_true(st == ST_NO_ADJACENT_SEATS || st == ST_SOLD_OUT);
	}
	assert_int_equal(seats, SEATS);
	q.query.event_id = EV;
	assert_int_equal(fx_exec(f, &q), ST_OK);
	assert_int_equal(f->res.avail.tiers[TA].free, 0);
	assert_int_equal(f->res.avail.tiers[TA].held, SEATS);
	/* each row of 50 goes the same way: blocks of 8 at 21, 29, 13, 37, 5
	 * (nearest the centre first) leave runs of 5 at each end; each end
	 * then takes two pairs (the second strands a seat: by then no row has
	 * a better choice) and a single */
	assert_int_equal(holds, SECTIONS * ROWS * (5 + 2 * (2 + 1)));
	assert_null(fx_replay_check(f));
	fx_free(f);
}

int main(void)
{
	const char *only = getenv("TEST_ONLY"); /* a cmocka filter pattern */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(adjacent_in_best_row),
		cmocka_unit_test(best_row_by_rank),
		cmocka_unit_test(best_placement_by_rank),
		cmocka_unit_test(no_orphan_when_avoidable),
		cmocka_unit_test(orphan_when_unavoidable),
		cmocka_unit_test(orphan_avoided_in_a_worse_row),
		cmocka_unit_test(orphan_lookahead_bound),
		cmocka_unit_test(accessible_seats),
		cmocka_unit_test(accessible_only_left),
		cmocka_unit_test(killed_seats),
		cmocka_unit_test(scattered_seats),
		cmocka_unit_test(tiers_share_a_row),
		cmocka_unit_test(sell_out_section),
		cmocka_unit_test(stadium_sells_out),
	};

	if (only)
		cmocka_set_test_filter(only);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
