/*
 * venue.c — onsale-bench's event under load: a GA tier
 * (ga-flash, gate-rush), a seated venue of VENUE_SEAT_TIERS tiers by distance
 * from the stage (seat-flash, seat-pick), or both (mixed). Keeps the seat
 * map the load needs: each seat's global id, tier and row, and the seats
 * ordered from best to worst (seat-pick picks from the front of that list).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/onsale/run.h"

struct venue venue;

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int seated(void)
{
	return run_opt.sc == SC_SEAT || run_opt.sc == SC_PICK || run_opt.sc == SC_MIXED;
}

static int has_ga(void)
{
	return run_opt.sc == SC_GA || run_opt.sc == SC_GATE || run_opt.sc == SC_MIXED;
}

/* Seat quality: front rows first, then the middle of the row. */
static uint32_t seat_score(uint32_t i)
{
	unsigned pos = i % VENUE_ROW_SEATS; /* rows are full but the last */
	unsigned off = pos < VENUE_ROW_SEATS / 2 ? VENUE_ROW_SEATS / 2 - pos
						 : pos - VENUE_ROW_SEATS / 2;
	return (uint32_t)venue.seat_row[i] * 64u + off;
}

static int cmp_best(const void *a, const void *b)
{
	uint32_t x = seat_score(*(const uint32_t *)a), y = seat_score(*(const uint32_t *)b);
	return x < y ? -1 : x > y;
}

static int alloc_seat_map(unsigned n)
{
	venue.n_seats = n;
	venue.seat_id = calloc(n, sizeof *venue.seat_id);
	venue.seat_tier = calloc(n, sizeof *venue.seat_tier);
	venue.seat_row = calloc(n, sizeof *venue.seat_row);
	venue.best = calloc(n, sizeof *venue.best);
	return venue.seat_id && venue.seat_tier && venue.seat_row && venue.best ? 0 : -ENOMEM;
}

/* Fills rows[]/seats[] of one section of up to VENUE_SECTION_ROWS rows. */
static unsigned fill_section(struct row_spec *rows, struct seat_spec *seats, unsigned *left,
			     unsigned row0, unsigned total_rows, unsigned *nseats)
{
	unsigned nrows = 0;
	*nseats = 0;
	while (nrows < VENUE_SECTION_ROWS && *left) {
		unsigned n = *left < VENUE_ROW_SEATS ? *left : VENUE_ROW_SEATS;
		struct row_spec *r = &rows[nrows];
		memset(r, 0, sizeof *r);
		snprintf(r->label, sizeof r->label, "%u", nrows + 1);
		r->seat_count = (uint16_t)n;
		r->first_number = 1;
		unsigned grow = row0 + nrows; /* rows over all sections: tiers by distance */
		for (unsigned i = 0; i < n; i++) {
			struct seat_spec *st = &seats[*nseats + i];
			uint32_t k = (uint32_t)(grow * VENUE_ROW_SEATS + i);
			unsigned off = i < VENUE_ROW_SEATS / 2 ? VENUE_ROW_SEATS / 2 - i
							       : i - VENUE_ROW_SEATS / 2;
			st->tier = (uint8_t)(1 + (uint64_t)grow * VENUE_SEAT_TIERS / total_rows);
			st->flags = 0;
			st->rank = (uint16_t)(nrows * 64 + off);
			venue.seat_tier[k] = st->tier;
			venue.seat_row[k] = (uint16_t)grow;
		}
		*nseats += n;
		*left -= n;
		nrows++;
	}
	return nrows;
}

static int load_sections(struct onsale *c)
{
	static struct row_spec rows[VENUE_SECTION_ROWS];
	static struct seat_spec seats[VENUE_SECTION_ROWS * VENUE_ROW_SEATS];
	unsigned left = run_opt.seats;
	unsigned total_rows = (run_opt.seats + VENUE_ROW_SEATS - 1) / VENUE_ROW_SEATS;
	unsigned row0 = 0;
	struct result res;
	if (alloc_seat_map(run_opt.seats))
		return -ENOMEM;
	for (uint16_t s = 0; left; s++) {
		unsigned nseats,
			nrows = fill_section(rows, seats, &left, row0, total_rows, &nseats);
		struct cmd_section sec = {.event_id = venue.event_id,
					  .section = s,
					  .row_count = (uint16_t)nrows,
					  .rows = rows,
					  .seats = seats};
		snprintf(sec.name, sizeof sec.name, "Bench %u", (unsigned)s + 1u);
		int rc = onsale_section_load(c, &sec, &res);
		if (rc)
			return rc;
		for (unsigned i = 0; i < nseats; i++)
			venue.seat_id[row0 * VENUE_ROW_SEATS + i] =
				(uint32_t)res.section.seat_first + i;
		row0 += nrows;
	}
	for (uint32_t i = 0; i < venue.n_seats; i++)
		venue.best[i] = i;
	qsort(venue.best, venue.n_seats, sizeof *venue.best, cmp_best);
	return 0;
}

static int add_tiers(struct onsale *c)
{
	struct result res;
	int rc;
	venue.tier_lo = has_ga() ? VENUE_GA_TIER : 1;
	venue.tier_hi = seated() ? VENUE_SEAT_TIERS : VENUE_GA_TIER;
	if (has_ga()) {
		struct cmd_tier t = {.event_id = venue.event_id,
				     .tier = VENUE_GA_TIER,
				     .kind = TIER_GA,
				     .capacity = run_opt.units,
				     .price_minor = VENUE_PRICE};
		snprintf(t.name, sizeof t.name, "GA");
		if ((rc = onsale_tier_add(c, &t, &res)))
			return rc;
	}
	for (uint8_t k = 1; seated() && k <= VENUE_SEAT_TIERS; k++) {
		struct cmd_tier t = {.event_id = venue.event_id,
				     .tier = k,
				     .kind = TIER_RESERVED,
				     .price_minor = VENUE_PRICE + 1000u * (VENUE_SEAT_TIERS - k)};
		snprintf(t.name, sizeof t.name, "Tier %u", k);
		if ((rc = onsale_tier_add(c, &t, &res)))
			return rc;
	}
	return seated() ? load_sections(c) : 0;
}

uint64_t venue_units_max(void)
{
	uint64_t units = (has_ga() ? run_opt.units : 0) + (seated() ? run_opt.seats : 0);
	/* mixed resells refunded units: room for their new tickets and holds */
	if (run_opt.sc == SC_MIXED)
		units = units * 4 < EVENT_UNITS_MAX ? units * 4 : EVENT_UNITS_MAX;
	return units;
}

static int create(struct onsale *c)
{
	struct result res;
	struct cmd_event ev = {.event_id = venue.event_id,
			       .state = EVENT_ON_SALE,
			       .customer_limit = 0,
			       .units_max = (uint32_t)venue_units_max(),
			       .starts_at_ms = wall_ms() + 86400000ull,
			       .presale_start_ms = 1,
			       .public_start_ms = 2,
			       .sales_end_ms = wall_ms() + 86400000ull};
	snprintf(ev.name, sizeof ev.name, "onsale-bench %s", run_opt.scenario_name);
	snprintf(ev.venue, sizeof ev.venue, "Bench venue");
	int rc = onsale_event_create(c, &ev, &res);
	return rc ? rc : add_tiers(c);
}

int venue_setup(struct onsale *admin)
{
	uint64_t seed = run_opt.seed;
	int rc;
	for (int tries = 0;; tries++) {
		uint64_t r = (uint64_t)time(NULL) * 1000003u + load_rnd(&seed);
		venue.event_id = (uint32_t)(r % 0x7fffffffu) + 1u;
		rc = create(admin);
		if (rc != ST_EVENT_EXISTS || tries > 8)
			break;
	}
	if (rc)
		return rc;
	struct result res;
	if ((rc = onsale_query_availability(admin, venue.event_id, &res)))
		return rc;
	for (unsigned t = venue.tier_lo; t <= venue.tier_hi && t < res.avail.tier_count; t++)
		venue.capacity += res.avail.tiers[t].capacity;
	return 0;
}

void venue_free(void)
{
	free(venue.seat_id);
	free(venue.seat_tier);
	free(venue.seat_row);
	free(venue.best);
}
