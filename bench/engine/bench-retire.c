/*
 * bench-retire.c — what EVENT_RETIRE gives back (core/retire.c).
 *
 * One shard's state in process: a GA event of --units units (default
 * 1,000,000) sold out the way bench-core sells it (holds of 1-4 units, 80 %
 * confirmed, 20 % released), one ticket in 20 refunded; then the event is
 * closed and retired. Prints, before and after the retirement, the
 * process's resident memory (/proc/self/statm), the allocator's bytes in
 * use (mallinfo2: heap in use + mmapped), and the state's serialized size
 * (what a snapshot writes); then the same after a second event of the same
 * size is created and sold in the freed table slot, to show the memory is
 * reused rather than grown; last, what one more event of the same size
 * costs a shard that owns none of its units (created, no tier: what every
 * other shard of a server pays for an event). Last line: one JSON object.
 */
#include <malloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/opts.h"
#include "core/core.h"
#include "core/serial.h"

struct mem {
	uint64_t rss_bytes, heap_bytes, state_bytes;
};

static uint8_t rec_bytes[RECORD_BYTES_MAX];
static uint64_t rng_state = 42;

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static enum status exec(struct core *c, struct cmd *cmd, struct result *res)
{
	struct rec_buf rb = {rec_bytes, sizeof rec_bytes, 0};

	return core_execute(c, cmd, 1800000000000ull, res, &rb);
}

static void must(enum status st, const char *what)
{
	if (st != ST_OK) {
		fprintf(stderr, "bench-retire: %s: %s\n", what, status_name(st));
		exit(1);
	}
}

static struct mem measure(const struct core *c)
{
	struct mallinfo2 mi = mallinfo2();
	unsigned long size = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	struct mem m;

	if (!f || fscanf(f, "%lu %lu", &size, &resident) != 2)
		resident = 0;
	if (f)
		fclose(f);
	m.rss_bytes = (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
	m.heap_bytes = mi.uordblks + mi.hblkhd;
	m.state_bytes = core_serialized_bytes(c);
	return m;
}

static void event_state(struct core *c, struct cmd_event *e, uint8_t type, uint8_t state)
{
	struct cmd cmd = {.type = type};
	struct result res;

	e->state = state;
	cmd.event = *e;
	must(exec(c, &cmd, &res), "event");
}

/* Creates the event and sells it out; returns the tickets issued. */
static uint64_t sell_out(struct core *c, struct cmd_event *e, uint32_t units)
{
	struct cmd cmd = {.type = CMD_TIER_ADD};
	struct result res;
	uint64_t tickets = 0;

	e->units_max = units;
	e->public_start_ms = 1;
	snprintf(e->name, sizeof e->name, "bench %u", e->event_id);
	event_state(c, e, CMD_EVENT_CREATE, EVENT_ON_SALE);
	cmd.tier = (struct cmd_tier){.event_id = e->event_id,
				     .kind = TIER_GA,
				     .capacity = units,
				     .price_minor = 2500};
	must(exec(c, &cmd, &res), "tier");
	for (;;) {
		uint64_t x = rnd();
		struct cmd h = {.type = CMD_HOLD};

		h.hold = (struct cmd_hold){.event_id = e->event_id,
					   .mode = HOLD_GA,
					   .qty = (uint8_t)(1 + (x & 3)),
					   .customer_id = 1 + (x >> 8) % 5000000,
					   .idem_key = x | 1};
		if (exec(c, &h, &res) != ST_OK) {
			h.hold.qty = 1; /* the last few units */
			if (exec(c, &h, &res) != ST_OK)
				break;
		}
		cmd = (struct cmd){.type = rnd() % 5 ? CMD_CONFIRM : CMD_HOLD_RELEASE};
		cmd.ref.event_id = e->event_id;
		cmd.ref.hold_id = res.hold.hold_id;
		cmd.ref.amount_minor = res.hold.amount_due_minor;
		must(exec(c, &cmd, &res), "confirm/release");
		if (cmd.type != CMD_CONFIRM)
			continue;
		tickets += res.hold.qty;
		if (rnd() % 20 == 0) {
			cmd = (struct cmd){.type = CMD_REFUND};
			cmd.ticket.event_id = e->event_id;
			cmd.ticket.ticket_id = res.hold.first_ticket_id;
			must(exec(c, &cmd, &res), "refund");
		}
	}
	return tickets;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void print_row(const char *what, struct mem m)
{
	printf("%-34s %12.1f %12.1f %14" PRIu64 "\n", what, m.rss_bytes / 1048576.0,
	       m.heap_bytes / 1048576.0, m.state_bytes);
}

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv, unsigned *units)
{
	const struct opt options[] = {
		OPT_UINT("units", "N", units, 1, EVENT_UNITS_MAX,
			 "GA units of each event (default 1000000)"),
	};
	const struct opts_cmd cmd = OPTS_CMD(
		"bench-retire",
		"What EVENT_RETIRE gives back: memory and state size of one shard before\n"
		"and after a sold-out GA event is retired, then with a second sold in its\n"
		"slot and a third created with nothing placed. Prints a table and, last,\n"
		"one JSON line.\n",
		options);
	return opts_parse(&cmd, argc, argv);
}

int main(int argc, char **argv)
{
	unsigned units = 1000000;
	int rc = parse(argc, argv, &units);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	struct core *c = core_create(0);
	struct cmd_event e = {.event_id = 1};
	struct cmd retire = {.type = CMD_EVENT_RETIRE};
	struct result res;
	struct mem empty, sold, retired, again, unplaced;
	uint64_t tickets, t0, retire_ns;

	if (!c) {
		fprintf(stderr, "bench-retire: out of memory\n");
		return 1;
	}
	empty = measure(c);
	tickets = sell_out(c, &e, units);
	event_state(c, &e, CMD_EVENT_UPDATE, EVENT_CLOSED);
	sold = measure(c);
	retire.query.event_id = e.event_id;
	t0 = now_ns();
	must(exec(c, &retire, &res), "retire");
	retire_ns = now_ns() - t0;
	retired = measure(c);
	e = (struct cmd_event){.event_id = 2};
	sell_out(c, &e, units);
	again = measure(c);
	e = (struct cmd_event){.event_id = 3, .units_max = units, .public_start_ms = 1};
	event_state(c, &e, CMD_EVENT_CREATE, EVENT_ON_SALE);
	unplaced = measure(c);
	printf("%u-unit GA event, %" PRIu64 " tickets issued; EVENT_RETIRE took %.2f ms\n", units,
	       tickets, retire_ns / 1e6);
	printf("%-34s %12s %12s %14s\n", "", "RSS MiB", "malloc MiB", "state bytes");
	print_row("empty shard", empty);
	print_row("sold out and closed", sold);
	print_row("retired", retired);
	print_row("a second one sold out in its slot", again);
	print_row("and a third created, none placed", unplaced);
	printf("{\"units\":%u,\"tickets\":%" PRIu64 ",\"rss_sold\":%" PRIu64
	       ",\"rss_retired\":%" PRIu64 ",\"heap_sold\":%" PRIu64 ",\"heap_retired\":%" PRIu64
	       ",\"state_sold\":%" PRIu64 ",\"state_retired\":%" PRIu64 ",\"rss_again\":%" PRIu64
	       ",\"unplaced_rss\":%" PRId64 ",\"unplaced_heap\":%" PRId64 ",\"retire_ms\":%.3f}\n",
	       units, tickets, sold.rss_bytes, retired.rss_bytes, sold.heap_bytes,
	       retired.heap_bytes, sold.state_bytes, retired.state_bytes, again.rss_bytes,
	       (int64_t)(unplaced.rss_bytes - again.rss_bytes),
	       (int64_t)(unplaced.heap_bytes - again.heap_bytes), retire_ns / 1e6);
	core_destroy(c);
	return 0;
}
