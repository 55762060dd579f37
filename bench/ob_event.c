/*
 * ob_event.c — onsale-bench's event under load (issue 5): a GA tier
 * (ga-flash, gate-rush), a seated venue of OB_SEAT_TIERS tiers by distance
 * from the stage (seat-flash, seat-pick), or both (mixed). Keeps the seat
 * map the load needs: each seat's global id, tier and row, and the seats
 * ordered from best to worst (seat-pick picks from the front of that list).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/ob_load.h"

struct ob_venue ob_ven;

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int seated(void)
{
	return ob_opt.sc == SC_SEAT || ob_opt.sc == SC_PICK || ob_opt.sc == SC_MIXED;
}

static int has_ga(void)
{
	return ob_opt.sc == SC_GA || ob_opt.sc == SC_GATE || ob_opt.sc == SC_MIXED;
}

/* Seat quality: front rows first, then the middle of the row. */
static uint32_t seat_score(uint32_t i)
{
	unsigned pos = i % OB_ROW_SEATS; /* rows are full but the last */
	unsigned off = pos < OB_ROW_SEATS / 2 ? OB_ROW_SEATS / 2 - pos : pos - OB_ROW_SEATS / 2;
	return (uint32_t)ob_ven.seat_row[i] * 64u + off;
}

static int cmp_best(const void *a, const void *b)
{
	uint32_t x = seat_score(*(const uint32_t *)a), y = seat_score(*(const uint32_t *)b);
	return x < y ? -1 : x > y;
}

static int alloc_seat_map(unsigned n)
{
	ob_ven.n_seats = n;
	ob_ven.seat_id = calloc(n, sizeof *ob_ven.seat_id);
	ob_ven.seat_tier = calloc(n, sizeof *ob_ven.seat_tier);
	ob_ven.seat_row = calloc(n, sizeof *ob_ven.seat_row);
	ob_ven.best = calloc(n, sizeof *ob_ven.best);
	return ob_ven.seat_id && ob_ven.seat_tier && ob_ven.seat_row && ob_ven.best ? 0 : -ENOMEM;
}

/* Fills rows[]/seats[] of one section of up to OB_SECTION_ROWS rows. */
static unsigned fill_section(struct row_spec *rows, struct seat_spec *seats, unsigned *left,
			     unsigned row0, unsigned total_rows, unsigned *nseats)
{
	unsigned nrows = 0;
	*nseats = 0;
	while (nrows < OB_SECTION_ROWS && *left) {
		unsigned n = *left < OB_ROW_SEATS ? *left : OB_ROW_SEATS;
		struct row_spec *r = &rows[nrows];
		memset(r, 0, sizeof *r);
		snprintf(r->label, sizeof r->label, "%u", nrows + 1);
		r->seat_count = (uint16_t)n;
		r->first_number = 1;
		unsigned grow = row0 + nrows; /* rows over all sections: tiers by distance */
		for (unsigned i = 0; i < n; i++) {
			struct seat_spec *st = &seats[*nseats + i];
			uint32_t k = (uint32_t)(grow * OB_ROW_SEATS + i);
			unsigned off = i < OB_ROW_SEATS / 2 ? OB_ROW_SEATS / 2 - i : i - OB_ROW_SEATS / 2;
			st->tier = (uint8_t)(1 + (uint64_t)grow * OB_SEAT_TIERS / total_rows);
			st->flags = 0;
			st->rank = (uint16_t)(nrows * 64 + off);
			ob_ven.seat_tier[k] = st->tier;
			ob_ven.seat_row[k] = (uint16_t)grow;
		}
		*nseats += n;
		*left -= n;
		nrows++;
	}
	return nrows;
}

static int load_sections(struct onsale *c)
{
	static struct row_spec rows[OB_SECTION_ROWS];
	static struct seat_spec seats[OB_SECTION_ROWS * OB_ROW_SEATS];
	unsigned left = ob_opt.seats, total_rows = (ob_opt.seats + OB_ROW_SEATS - 1) / OB_ROW_SEATS;
	unsigned row0 = 0;
	struct result res;
	if (alloc_seat_map(ob_opt.seats))
		return -ENOMEM;
	for (uint16_t s = 0; left; s++) {
		unsigned nseats, nrows = fill_section(rows, seats, &left, row0, total_rows, &nseats);
		struct cmd_section sec = {.event_id = ob_ven.event_id, .section = s,
					  .row_count = (uint16_t)nrows, .rows = rows, .seats = seats};
		snprintf(sec.name, sizeof sec.name, "Bench %u", (unsigned)s + 1u);
		int rc = onsale_section_load(c, &sec, &res);
		if (rc)
			return rc;
		for (unsigned i = 0; i < nseats; i++)
			ob_ven.seat_id[row0 * OB_ROW_SEATS + i] = (uint32_t)res.section.seat_first + i;
		row0 += nrows;
	}
	for (uint32_t i = 0; i < ob_ven.n_seats; i++)
		ob_ven.best[i] = i;
	qsort(ob_ven.best, ob_ven.n_seats, sizeof *ob_ven.best, cmp_best);
	return 0;
}

static int add_tiers(struct onsale *c)
{
	struct result res;
	int rc;
	ob_ven.tier_lo = has_ga() ? OB_GA_TIER : 1;
	ob_ven.tier_hi = seated() ? OB_SEAT_TIERS : OB_GA_TIER;
	if (has_ga()) {
		struct cmd_tier t = {.event_id = ob_ven.event_id, .tier = OB_GA_TIER, .kind = TIER_GA,
				     .capacity = ob_opt.units, .price_minor = OB_PRICE};
		snprintf(t.name, sizeof t.name, "GA");
		if ((rc = onsale_tier_add(c, &t, &res)))
			return rc;
	}
	for (uint8_t k = 1; seated() && k <= OB_SEAT_TIERS; k++) {
		struct cmd_tier t = {.event_id = ob_ven.event_id, .tier = k, .kind = TIER_RESERVED,
				     .price_minor = OB_PRICE + 1000u * (OB_SEAT_TIERS - k)};
		snprintf(t.name, sizeof t.name, "Tier %u", k);
		if ((rc = onsale_tier_add(c, &t, &res)))
			return rc;
	}
	return seated() ? load_sections(c) : 0;
}

static int create(struct onsale *c)
{
	struct result res;
	uint64_t units = (has_ga() ? ob_opt.units : 0) + (seated() ? ob_opt.seats : 0);
	/* mixed resells refunded units: room for their new tickets and holds */
	if (ob_opt.sc == SC_MIXED)
		units = units * 4 < EVENT_UNITS_MAX ? units * 4 : EVENT_UNITS_MAX;
	struct cmd_event ev = {.event_id = ob_ven.event_id, .state = EVENT_ON_SALE,
			       .customer_limit = 0, .units_max = (uint32_t)units,
			       .starts_at_ms = wall_ms() + 86400000ull, .presale_start_ms = 1,
			       .public_start_ms = 2, .sales_end_ms = wall_ms() + 86400000ull};
	snprintf(ev.name, sizeof ev.name, "onsale-bench %s", ob_opt.scenario_name);
	snprintf(ev.venue, sizeof ev.venue, "Bench venue");
	int rc = onsale_event_create(c, &ev, &res);
	return rc ? rc : add_tiers(c);
}

int ob_event_setup(struct onsale *admin)
{
	uint64_t seed = ob_opt.seed;
	int rc;
	for (int tries = 0;; tries++) {
		ob_ven.event_id =
			(uint32_t)(((uint64_t)time(NULL) * 1000003u + obu_rnd(&seed)) % 0x7fffffffu) + 1u;
		rc = create(admin);
		if (rc != ST_EVENT_EXISTS || tries > 8)
			break;
	}
	if (rc)
		return rc;
	struct result res;
	if ((rc = onsale_query_availability(admin, ob_ven.event_id, &res)))
		return rc;
	for (unsigned t = ob_ven.tier_lo; t <= ob_ven.tier_hi && t < res.avail.tier_count; t++)
		ob_ven.capacity += res.avail.tiers[t].capacity;
	return 0;
}

void ob_event_free(void)
{
	free(ob_ven.seat_id);
	free(ob_ven.seat_tier);
	free(ob_ven.seat_row);
	free(ob_ven.best);
}
