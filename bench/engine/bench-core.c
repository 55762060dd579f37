/*
 * bench-core.c — the state machine alone, in process, on one core.
 *
 * Two runs, each from empty to sold out:
 *   ga:   one GA tier of 1,000,000 units; each hold of 1-4 units is followed
 *         by its confirm (80 %) or release (20 %); a pair counts once.
 *   best: a 100,000-seat venue (50 sections x 40 rows x 50 seats, 4 tiers);
 *         best-available holds of 1-6 adjacent seats, each confirmed (80 %)
 *         or released (20 %; no more releases than seats, which bounds the
 *         run), until every tier is sold out. Each hold's execution is timed
 *         alone for the latency percentiles.
 * Records are encoded exactly as for the WAL and then dropped: this measures
 * the engine, not the disk (see bench-wal for that).
 *
 * Prints a table, then one JSON object as the last line.
 */
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/common/opts.h"
#include "core/core.h"

/* The best-available run: a hold asks for 1-BEST_QTY_MAX adjacent seats of
 * one of BEST_TIERS tiers. */
#define BEST_QTY_MAX 6u
#define BEST_TIERS 4u

struct opts {
	uint32_t ga_units;
	uint32_t sections, rows, seats_per_row;
	uint64_t seed;
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint8_t rec_bytes[RECORD_BYTES_MAX];

static enum status exec(struct core *c, const struct cmd *cmd, uint64_t now, struct result *res)
{
	struct rec_buf rb = {rec_bytes, sizeof rec_bytes, 0};

	return core_execute(c, cmd, now, res, &rb);
}

static void must(enum status st, const char *what)
{
	if (st != ST_OK) {
		fprintf(stderr, "bench-core: %s failed: %s\n", what, status_name(st));
		exit(1);
	}
}

static void make_event(struct core *c, uint32_t id, uint32_t units, uint64_t now)
{
	struct cmd cmd = {.type = CMD_EVENT_CREATE};
	struct result res;

	cmd.event.event_id = id;
	cmd.event.state = EVENT_ON_SALE;
	cmd.event.units_max = units;
	cmd.event.presale_start_ms = cmd.event.public_start_ms = now - 1000;
	snprintf(cmd.event.name, sizeof cmd.event.name, "bench %u", id);
	must(exec(c, &cmd, now, &res), "event create");
}

static void make_tier(struct core *c, uint32_t ev, uint8_t tier, uint8_t kind, uint32_t cap,
		      uint64_t now)
{
	struct cmd cmd = {.type = CMD_TIER_ADD};
	struct result res;

	cmd.tier.event_id = ev;
	cmd.tier.tier = tier;
	cmd.tier.kind = kind;
	cmd.tier.capacity = cap;
	cmd.tier.price_minor = 5000 + 1000 * tier;
	must(exec(c, &cmd, now, &res), "tier add");
}

/* Confirms (80 %) or, if may_release, releases (20 %) a hold just taken;
 * returns 1 if it released it. */
static int finish(struct core *c, uint32_t ev, const struct result *held, uint64_t now,
		  int may_release)
{
	struct cmd cmd = {.type = CMD_CONFIRM};
	struct result res;

	cmd.ref.event_id = ev;
	cmd.ref.hold_id = held->hold.hold_id;
	if (rnd() % 5 == 0 && may_release) {
		cmd.type = CMD_HOLD_RELEASE;
	} else {
		cmd.ref.amount_minor = held->hold.amount_due_minor;
		memcpy(cmd.ref.payment_ref, "psp-bench", 9);
	}
	must(exec(c, &cmd, now, &res), "confirm/release");
	return cmd.type == CMD_HOLD_RELEASE;
}

struct ga_result {
	uint64_t pairs, ns;
};

static struct ga_result bench_ga(const struct opts *o)
{
	struct core *c = core_create(0);
	uint64_t now = 1800000000000ull, t0;
	struct cmd cmd = {.type = CMD_HOLD};
	struct result res;
	struct ga_result r = {0, 0};

	make_event(c, 1, o->ga_units, now);
	make_tier(c, 1, 0, TIER_GA, o->ga_units, now);
	cmd.hold.event_id = 1;
	cmd.hold.mode = HOLD_GA;
	t0 = now_ns();
	for (;;) {
		uint64_t x = rnd();

		cmd.hold.qty = (uint8_t)(1 + (x & 3));
		cmd.hold.customer_id = 1 + (x >> 8) % 5000000;
		cmd.hold.idem_key = x | 1;
		if (exec(c, &cmd, now, &res) != ST_OK) {
			cmd.hold.qty = 1; /* the last few units */
			if (exec(c, &cmd, now, &res) != ST_OK)
				break;
		}
		finish(c, 1, &res, now, 1);
		r.pairs++;
	}
	r.ns = now_ns() - t0;
	core_destroy(c);
	return r;
}

static void load_venue(struct core *c, const struct opts *o, uint64_t now)
{
	struct row_spec *rows = calloc(o->rows, sizeof *rows);
	struct seat_spec *seats = calloc((size_t)o->rows * o->seats_per_row, sizeof *seats);
	struct cmd cmd = {.type = CMD_SECTION_LOAD};
	struct result res;

	for (uint8_t t = 0; t < BEST_TIERS; t++)
		make_tier(c, 2, t, TIER_RESERVED, 0, now);
	for (uint32_t s = 0; s < o->sections; s++) {
		for (uint32_t r = 0; r < o->rows; r++) {
			snprintf(rows[r].label, sizeof rows[r].label, "%u", (r + 1) % 10000000);
			rows[r].seat_count = (uint16_t)o->seats_per_row;
			rows[r].first_number = 1;
			for (uint32_t k = 0; k < o->seats_per_row; k++) {
				struct seat_spec *sp = &seats[r * o->seats_per_row + k];
				int d = (int)k - (int)o->seats_per_row / 2;

				sp->tier = (uint8_t)(s * BEST_TIERS / o->sections);
				sp->rank = (uint16_t)((s % 10) * 1000 + r * 20 + (d < 0 ? -d : d));
			}
		}
		cmd.section.event_id = 2;
		cmd.section.section = (uint16_t)s;
		cmd.section.row_count = (uint16_t)o->rows;
		snprintf(cmd.section.name, sizeof cmd.section.name, "S%u", s + 1);
		cmd.section.rows = rows;
		cmd.section.seats = seats;
		must(exec(c, &cmd, now, &res), "section load");
	}
	free(rows);
	free(seats);
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct best_result {
	uint64_t holds, attempts, ns, seats;
	uint32_t p50, p90, p99, p999, max;
};

/* The attempts bench_best makes at most, the size of its latency buffer:
 * a confirmed hold takes at least one seat for good (venue of them at
 * most), holds are released at most venue times, and a refused attempt
 * lowers the quantity asked for (at most BEST_QTY_MAX per tier, so an empty
 * tier or a venue of fragments still costs a few attempts). */
static uint64_t best_attempts_max(uint32_t venue)
{
	return 2ull * venue + BEST_TIERS * BEST_QTY_MAX;
}

static struct best_result bench_best(const struct opts *o)
{
	uint32_t venue = o->sections * o->rows * o->seats_per_row;
	struct core *c = core_create(0);
	uint64_t now = 1800000000000ull, releases = 0;
	uint64_t attempts_max = best_attempts_max(venue);
	uint32_t *lat = malloc(sizeof(uint32_t) * attempts_max);
	struct best_result r = {0};
	struct cmd cmd = {.type = CMD_HOLD};
	struct result res;

	if (!c || !lat) {
		fprintf(stderr, "bench-core: out of memory for a %u-seat venue\n", venue);
		exit(1);
	}
	make_event(c, 2, venue, now);
	load_venue(c, o, now);
	cmd.hold.event_id = 2;
	cmd.hold.mode = HOLD_BEST;
	for (uint8_t tier = 0; tier < BEST_TIERS; tier++) {
		uint8_t qty_max = BEST_QTY_MAX;

		cmd.hold.tier = tier;
		while (qty_max > 0) {
			uint64_t x = rnd(), t0, t1;
			enum status st;

			cmd.hold.qty = (uint8_t)(1 + x % qty_max);
			cmd.hold.customer_id = 1 + (x >> 8) % 5000000;
			t0 = now_ns();
			st = exec(c, &cmd, now, &res);
			t1 = now_ns();
			assert(r.attempts < attempts_max);
			lat[r.attempts++] = (uint32_t)(t1 - t0);
			r.ns += t1 - t0;
			if (st != ST_OK) {
				qty_max = cmd.hold.qty - 1; /* fragments left: ask for fewer */
				continue;
			}
			r.holds++;
			if (rnd() % 5 != 0)
				r.seats += cmd.hold.qty;
			releases += finish(c, 2, &res, now, releases < venue);
		}
	}
	qsort(lat, r.attempts, sizeof *lat, cmp_u32);
	r.p50 = lat[r.attempts * 50 / 100];
	r.p90 = lat[r.attempts * 90 / 100];
	r.p99 = lat[r.attempts * 99 / 100];
	r.p999 = lat[r.attempts * 999 / 1000];
	r.max = lat[r.attempts - 1];
	free(lat);
	core_destroy(c);
	return r;
}

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv, struct opts *o)
{
	const struct opt options[] = {
		OPT_UINT("ga-units", "N", &o->ga_units, 1, EVENT_UNITS_MAX,
			 "GA tier size (default 1000000)"),
		OPT_UINT("sections", "N", &o->sections, 1, SECTIONS_MAX,
			 "venue sections (default 50)"),
		OPT_UINT("rows", "N", &o->rows, 1, SECTION_ROWS_MAX,
			 "rows per section (default 40)"),
		OPT_UINT("seats-per-row", "N", &o->seats_per_row, 1, ROW_SEATS_MAX,
			 "seats per row (default 50); the venue, sections x rows\n"
			 "x seats, within core/limits.h's SEATS_MAX and\n"
			 "SECTION_SEATS_MAX"),
		OPT_U64("seed", "N", &o->seed, 0, UINT64_MAX, "random seed (default 1)"),
	};
	const struct opts_cmd cmd =
		OPTS_CMD("bench-core",
			 "The state machine in process on one core: GA hold+confirm/release pairs\n"
			 "until a GA tier sells out, then best-available holds until a seated\n"
			 "venue sells out. Prints a table and, last, one JSON line.\n",
			 options);
	int rc = opts_parse(&cmd, argc, argv);
	if (rc)
		return rc;
	char what[96], why[64];
	if (o->rows * o->seats_per_row > SECTION_SEATS_MAX) {
		snprintf(what, sizeof what, "--rows %u x --seats-per-row %u", o->rows,
			 o->seats_per_row);
		snprintf(why, sizeof why, "more than %u seats a section",
			 (unsigned)SECTION_SEATS_MAX);
		return opts_bad(&cmd, what, why);
	}
	if ((uint64_t)o->sections * o->rows * o->seats_per_row > SEATS_MAX) {
		snprintf(what, sizeof what, "--sections %u x --rows %u x --seats-per-row %u",
			 o->sections, o->rows, o->seats_per_row);
		snprintf(why, sizeof why, "more than %u seats", SEATS_MAX);
		return opts_bad(&cmd, what, why);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = {1000000, 50, 40, 50, 1};
	struct ga_result ga;
	struct best_result best;
	double ga_rate, best_rate;

	int rc = parse(argc, argv, &o);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	rng_state = o.seed;
	ga = bench_ga(&o);
	best = bench_best(&o);
	ga_rate = (double)ga.pairs * 1e9 / (double)ga.ns;
	best_rate = (double)best.attempts * 1e9 / (double)best.ns;
	printf("%-34s %14s\n", "measure", "value");
	printf("%-34s %14u\n", "ga tier units", o.ga_units);
	printf("%-34s %14" PRIu64 "\n", "ga hold+confirm/release pairs", ga.pairs);
	printf("%-34s %14.0f\n", "ga pairs per second", ga_rate);
	printf("%-34s %14u\n", "venue seats", o.sections * o.rows * o.seats_per_row);
	printf("%-34s %14" PRIu64 "\n", "best-available holds (ok)", best.holds);
	printf("%-34s %14" PRIu64 "\n", "best-available attempts", best.attempts);
	printf("%-34s %14.0f\n", "best-available holds per second", best_rate);
	printf("%-34s %14u\n", "best-available p50 ns", best.p50);
	printf("%-34s %14u\n", "best-available p90 ns", best.p90);
	printf("%-34s %14u\n", "best-available p99 ns", best.p99);
	printf("%-34s %14u\n", "best-available p99.9 ns", best.p999);
	printf("%-34s %14u\n", "best-available max ns", best.max);
	printf("{\"ga_units\":%u,\"ga_pairs\":%" PRIu64 ",\"ga_holds_per_s\":%.0f,"
	       "\"venue_seats\":%u,\"best_available_attempts\":%" PRIu64
	       ",\"best_available_holds_per_s\":%.0f,\"best_available_p50_ns\":%u,"
	       "\"best_available_p99_ns\":%u,\"best_available_p999_ns\":%u,"
	       "\"best_available_max_ns\":%u}\n",
	       o.ga_units, ga.pairs, ga_rate, o.sections * o.rows * o.seats_per_row, best.attempts,
	       best_rate, best.p50, best.p99, best.p999, best.max);
	return 0;
}
