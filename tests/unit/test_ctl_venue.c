/*
 * test_ctl_venue.c — onsale-ctl's venue files (tools/ctl/vfile.h): the
 * sample arena and stadium parse to the seat counts they claim; a small
 * file gives the rows, seats, tiers, flags and ranks docs/CTL.md promises;
 * and every kind of bad input is refused with its own message at the
 * right FILE:LINE:COL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl/vfile.h"

#define NOW_MS 1800000000000ull

static char top[PATH_MAX]; /* the tree: argv0 is BUILD/tests/unit/test_ctl_venue */

static struct vfile *parse_ok(const char *text)
{
	struct vfile *v = vfile_new();
	char err[VFILE_ERR_BYTES] = "";

	assert_non_null(v);
	if (vfile_parse(v, "t.venue", text, strlen(text), NOW_MS, err, sizeof err))
		fail_msg("refused: %s", err);
	return v;
}

static void sample(const char *name, uint32_t seats, unsigned sections, uint32_t units)
{
	struct vfile *v = vfile_new();
	char path[PATH_MAX + 64], err[VFILE_ERR_BYTES] = "";

	snprintf(path, sizeof path, "%s/docs/venues/%s", top, name);
	if (vfile_load(v, path, NOW_MS, err, sizeof err))
		fail_msg("%s", err);
	assert_int_equal(v->seat_count, seats);
	assert_int_equal(v->section_count, sections);
	assert_int_equal(v->event.units_max, units);
	assert_int_equal(v->event.state, EVENT_ON_SALE);
	assert_int_equal(v->event.presale_start_ms, NOW_MS);
	vfile_free(v);
}

static void samples(void **state)
{
	(void)state;
	sample("arena.venue", 20000, 20, 25000);
	sample("stadium.venue", 100000, 80, 100000);
}

static const char small[] = "# a small hall\n"
			    "event 7\n"
			    "name \"Small Hall Night\"\n"
			    "venue \"Small Hall\"\n"
			    "state paused\n"
			    "presale 2027-06-01T10:00:00Z\n"
			    "public now+1h\n"
			    "end @1900000000000\n"
			    "limit 4\n"
			    "hold_ttl 90s\n"
			    "code FRIENDS uses 10\n"
			    "code PRESS\n"
			    "tier 0 \"Standing\" ga 300 price 25.5 low 30\n"
			    "tier 1 \"Stalls\" reserved price 40\n"
			    "tier 2 \"Boxes\" reserved price 95.25\n"
			    "section 3 \"Stalls\" tier 1 rank 100 rowstep 20\n"
			    "row A-C seats 1-5 accessible 1,5\n"
			    "row D seats 10-13 tier 2 12-13 killed 10 restricted all\n";

static void small_file(void **state)
{
	struct vfile *v = parse_ok(small);
	const struct vfile_section *s = vfile_section_find(v, 3);

	(void)state;
	assert_int_equal(v->event.event_id, 7);
	assert_string_equal(v->event.name, "Small Hall Night");
	assert_int_equal(v->event.state, EVENT_PAUSED);
	assert_int_equal(v->event.presale_start_ms, 1811844000000ull);
	assert_int_equal(v->event.public_start_ms, NOW_MS + 3600000);
	assert_int_equal(v->event.sales_end_ms, 1900000000000ull);
	assert_int_equal(v->event.customer_limit, 4);
	assert_int_equal(v->event.hold_ttl_ms, 90000);
	assert_int_equal(v->event.units_max, 300 + 19);
	assert_int_equal(v->code_count, 2);
	assert_int_equal(v->codes[0].use_limit, 10);
	assert_int_equal(v->codes[1].code_len, 5);
	assert_int_equal(v->tier_mask, 7);
	assert_int_equal(v->tiers[0].price_minor, 2550);
	assert_int_equal(v->tiers[0].capacity, 300);
	assert_int_equal(v->tiers[0].low_stock_threshold, 30);
	assert_int_equal(v->tiers[2].price_minor, 9525);
	assert_non_null(s);
	assert_int_equal(s->row_count, 4);
	assert_int_equal(s->seat_count, 19);
	assert_string_equal(v->rows[2].label, "C");
	assert_int_equal(v->rows[3].first_number, 10);
	/* row A: rank 100 + distance from the centre; flags on seats 1 and 5 */
	assert_int_equal(v->seats[0].rank, 102);
	assert_int_equal(v->seats[2].rank, 100);
	assert_int_equal(v->seats[0].flags, SEAT_ACCESSIBLE);
	assert_int_equal(v->seats[1].flags, 0);
	assert_int_equal(v->seats[4].flags, SEAT_ACCESSIBLE);
	/* row B: one rowstep more */
	assert_int_equal(v->seats[7].rank, 120);
	/* row D (seats 15..18): seats 12-13 tier 2, seat 10 killed, all restricted */
	assert_int_equal(v->seats[15].tier, 1);
	assert_int_equal(v->seats[17].tier, 2);
	assert_int_equal(v->seats[18].tier, 2);
	assert_int_equal(v->seats[15].flags, SEAT_KILLED | SEAT_RESTRICTED_VIEW);
	assert_int_equal(v->seats[16].flags, SEAT_RESTRICTED_VIEW);
	assert_int_equal(v->seats[15].rank, 160 + 1);
	vfile_free(v);
}

static void labels(void **state)
{
	struct vfile *v = parse_ok(
		"event 1\ntier 1 \"T\" reserved price 1\nsection 0 \"S\" tier 1\n"
		"row AY-BB seats 1-2\nrow 9-11 seats 1-1\nrow 2B seats 1-1\n");
	static const char *const want[] = {"AY", "AZ", "BA", "BB", "9", "10", "11", "2B"};

	(void)state;
	assert_int_equal(v->row_count, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_string_equal(v->rows[i].label, want[i]);
	vfile_free(v);
}

#define BASE "event 1\ntier 1 \"T\" reserved price 10\n"
#define SEC BASE "section 0 \"S\" tier 1\n"

static const struct {
	const char *text, *err;
} bad[] = {
	{"event 7\nbogus 1\n", "t.venue:2:1: unknown keyword 'bogus' (see docs/CTL.md)"},
	{"tier 0 \"A\" ga 5 price 1\n", "t.venue:2:1: no 'event ID' line"},
	{"event 1\n", "t.venue:2:1: no tier defined"},
	{"event 1\nevent 2\n", "t.venue:2:1: 'event' given twice"},
	{"event 1 2\n", "t.venue:1:1: 'event' takes an id: event 2027"},
	{"event 0\n", "t.venue:1:7: event id 0 out of range (1 to 4294967295)"},
	{"event x1\n", "t.venue:1:7: event id: 'x1' is not a number"},
	{"\"x\"\n", "t.venue:1:1: a line starts with a keyword, not a string"},
	{"event 1\nname \"abc\n", "t.venue:2:6: string without its closing quote"},
	{"event 1\nname ab\"c\"\n", "t.venue:2:8: a quote inside a word"},
	{"event 1\nstate open\n", "t.venue:2:7: state 'open': draft, on_sale, paused or closed"},
	{"event 1\npresale tomorrow\n",
	 "t.venue:2:9: time 'tomorrow': 2027-06-01T20:00:00Z, now, now+7d, now-1h or @MS"},
	{"event 1\nlimit 5000\n", "t.venue:2:7: limit 5000 out of range (0 to 1000)"},
	{"event 1\nhold_ttl 2h\n", "t.venue:2:10: hold_ttl 2h out of range (1s to 1h)"},
	{"event 1\nhold_ttl 10\n", "t.venue:2:10: hold_ttl '10': a duration like 10m, 90s, 1h"},
	{"event 1\ncode X limit 5\n", "t.venue:2:8: after the code: 'uses N' or nothing"},
	{"event 1\ncode X\ncode X\n", "t.venue:3:6: presale code 'X' given twice"},
	{BASE "tier 1 \"X\" reserved price 1\n", "t.venue:3:6: tier 1 defined twice"},
	{"event 1\ntier 2 Floor ga 10 price 1\n",
	 "t.venue:2:8: a tier's name: a \"quoted string\" under 48 bytes"},
	{"event 1\ntier 2 \"F\" seated price 1\n",
	 "t.venue:2:12: a tier is 'ga CAPACITY' or 'reserved'"},
	{"event 1\ntier 2 \"F\" ga 10 price 1.999\n",
	 "t.venue:2:24: price '1.999': like 89 or 89.50"},
	{"event 1\ntier 2 \"F\" reserved price 1 area 1 2 3 4\n",
	 "t.venue:2:29: unknown tier option 'area' (price, low)"},
	{"event 1\ntier 32 \"F\" reserved price 1\n",
	 "t.venue:2:6: tier 32 out of range (0 to 31)"},
	{BASE "row A seats 1-2\n", "t.venue:3:1: a row before any section"},
	{SEC "section 1 \"T\" tier 1\nrow A seats 1-2\n", "t.venue:3:1: section 0 has no rows"},
	{SEC "row A seats 1-2\nsection 0 \"U\" tier 1\n", "t.venue:5:9: section 0 defined twice"},
	{BASE "section 0 \"S\" tier 5\n", "t.venue:3:20: tier 5 is not defined above"},
	{"event 1\ntier 0 \"G\" ga 10 price 1\nsection 0 \"S\" tier 0\n",
	 "t.venue:3:20: tier 0 is general admission: seats need a reserved tier"},
	{BASE "section 0 \"S\" tier 1 turn 90\n",
	 "t.venue:3:22: unknown section option 'turn' (tier, rank, rowstep, at X Y, rotate)"},
	{SEC "row A seats 5-2\n", "t.venue:4:13: seats FIRST-LAST: '5-2' is not a range like 1-40"},
	{SEC "row A places 1-2\n", "t.venue:4:7: after the row labels: seats FIRST-LAST"},
	{SEC "row A seats 1-300\n", "t.venue:4:13: 300 seats in a row, at most 256"},
	{SEC "row A seats 1-10 accessible 3,12\n",
	 "t.venue:4:31: seats 12-12 are not all in the row's seats 1-10"},
	{SEC "row A seats 1-10 killed 3,,4\n",
	 "t.venue:4:27: a seat list is 'all' or numbers and ranges: 1-4,9"},
	{BASE "section 0 \"S\"\nrow A seats 1-2\n",
	 "t.venue:4:1: seat 1 has no tier (give 'tier T' on the row or its section)"},
	{SEC "row C-A seats 1-2\n", "t.venue:4:5: row range 'C-A' runs backwards"},
	{SEC "row A-10 seats 1-2\n",
	 "t.venue:4:5: row range 'A-10': numbers (1-40) or capitals of one length (A-Z, AA-AZ)"},
	{SEC "row A seats 1-2 wheelchair 1\n",
	 "t.venue:4:17: unknown row option 'wheelchair' (tier, rank, accessible, restricted, "
	 "killed)"},
	{SEC "row A seats 1-2 killed\n", "t.venue:4:17: 'killed' needs a value"},
	{BASE "section 0 \"S\" tier 1 rank 65530\nrow A seats 1-40\n",
	 "t.venue:4:5: row A: seat ranks pass 65535 (lower rank or rowstep)"},
	{SEC "row 1-129 seats 1-1\n", "t.venue:4:5: more than 128 rows in section 0"},
	{SEC "row A-Z seats 1-256\nrow AA-AH seats 1-256\n",
	 "t.venue:5:5: more than 8192 seats in section 0"},
	{BASE "units 1\nsection 0 \"S\" tier 1\nrow A seats 1-2\n",
	 "t.venue:6:1: 'units 1' is fewer than the 2 units the file places"},
};

static void bad_input(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct vfile *v = vfile_new();
		char err[VFILE_ERR_BYTES] = "";
		int rc = vfile_parse(v, "t.venue", bad[i].text, strlen(bad[i].text), NOW_MS, err,
				     sizeof err);

		if (rc != -EINVAL || strcmp(err, bad[i].err))
			fail_msg("case %zu:\n  %s\n  got  %d \"%s\"\n  want \"%s\"", i, bad[i].text,
				 rc, err, bad[i].err);
		vfile_free(v);
	}
}

static void long_line_and_missing_file(void **state)
{
	static char text[2048];
	struct vfile *v = vfile_new();
	char err[VFILE_ERR_BYTES];

	(void)state;
	memset(text, 'x', sizeof text - 1);
	assert_int_equal(vfile_parse(v, "t.venue", text, strlen(text), NOW_MS, err, sizeof err),
			 -EINVAL);
	assert_string_equal(err, "t.venue:1:1024: line longer than 1023 bytes");
	assert_int_equal(vfile_load(v, "/nonexistent/x.venue", NOW_MS, err, sizeof err), -ENOENT);
	assert_string_equal(err, "/nonexistent/x.venue: No such file or directory");
	vfile_free(v);
}

static void values(void **state)
{
	uint64_t x;

	(void)state;
	assert_int_equal(vfile_money("149", &x), 0);
	assert_int_equal(x, 14900);
	assert_int_equal(vfile_money("0.5", &x), 0);
	assert_int_equal(x, 50);
	assert_int_equal(vfile_money("1.", &x), -EINVAL);
	assert_int_equal(vfile_money("-1", &x), -EINVAL);
	assert_int_equal(vfile_duration("500ms", &x), 0);
	assert_int_equal(x, 500);
	assert_int_equal(vfile_duration("2d", &x), 0);
	assert_int_equal(x, 172800000);
	assert_int_equal(vfile_duration("m", &x), -EINVAL);
	assert_int_equal(vfile_time("now-1h", NOW_MS, &x), 0);
	assert_int_equal(x, NOW_MS - 3600000);
	assert_int_equal(vfile_time("2027-06-01T10:00:00", NOW_MS, &x), -EINVAL);
	assert_int_equal(vfile_state("on_sale"), EVENT_ON_SALE);
	assert_int_equal(vfile_state("sold"), -EINVAL);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(samples),
		cmocka_unit_test(small_file),
		cmocka_unit_test(labels),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(long_line_and_missing_file),
		cmocka_unit_test(values),
	};
	char path[PATH_MAX];

	(void)argc;
	if (!realpath(argv[0], path))
		return 1;
	snprintf(top, sizeof top, "%s", dirname(dirname(dirname(dirname(path)))));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
