/*
 * onsale-demo-load.c — loads the demo on-sale into a running onsaled over
 * the protocol (libonsale), unless it is there already, and shows its
 * availability.
 *
 * The demo event 2027 is an arena: 20 sections of 25 rows of 40 seats
 * (20,000 reserved seats) in four price tiers by distance from the stage,
 * plus a 5,000-unit GA floor, on sale now for a week, limit 8 per customer.
 *
 *   onsale-demo-load [--host H] [--port P] --config FILE [--show]
 *
 * A bad option or a stray argument is refused (exit 2); --help exits 0.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/client/onsale.h"
#include "tools/demo/demo_arena.h"

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int section(struct onsale *c, uint16_t s)
{
	static struct row_spec rows[DEMO_ROWS];
	static struct seat_spec seats[DEMO_ROWS * DEMO_SEATS_PER_ROW];
	struct cmd_section sec = {.event_id = DEMO_EVENT,
				  .section = s,
				  .row_count = DEMO_ROWS,
				  .rows = rows,
				  .seats = seats};
	struct result res;
	unsigned ring = s % 10 < 5 ? s % 10 : 9 - s % 10; /* 0: facing the stage */
	snprintf(sec.name, sizeof sec.name, "Section %u", 101u + s);
	for (unsigned r = 0; r < DEMO_ROWS; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		snprintf(rows[r].label, sizeof rows[r].label, "%c", 'A' + r);
		rows[r].seat_count = DEMO_SEATS_PER_ROW;
		rows[r].first_number = 1;
		for (unsigned i = 0; i < DEMO_SEATS_PER_ROW; i++) {
			struct seat_spec *st = &seats[r * DEMO_SEATS_PER_ROW + i];
			unsigned mid = DEMO_SEATS_PER_ROW / 2, off = i < mid ? mid - i : i - mid;
			st->tier = (uint8_t)(1 + (ring * 2 + r / 13) * DEMO_SEAT_TIERS / 10);
			st->flags = (r == 0 && i < 4) ? 1 : 0; /* accessible places, front row */
			st->rank = (uint16_t)(ring * 1000 + r * 30 + off);
		}
	}
	return onsale_section_load(c, &sec, &res);
}

static int load(struct onsale *c)
{
	static const char *const names[] = {"Floor", "Lower bowl front", "Lower bowl", "Upper bowl",
					    "Upper bowl rear"};
	static const uint64_t prices[] = {8900, 19900, 14900, 9900, 6900};
	struct result res;
	struct cmd_event ev = {.event_id = DEMO_EVENT,
			       .state = EVENT_ON_SALE,
			       .customer_limit = 8,
			       .units_max = DEMO_SECTIONS * DEMO_ROWS * DEMO_SEATS_PER_ROW +
					    DEMO_FLOOR_UNITS,
			       .starts_at_ms = wall_ms() + 7 * 86400000ull,
			       .presale_start_ms = 1,
			       .public_start_ms = 2,
			       .sales_end_ms = wall_ms() + 7 * 86400000ull};
	snprintf(ev.name, sizeof ev.name, "onsale demo: Arena tour 2027");
	snprintf(ev.venue, sizeof ev.venue, "Demo Arena");
	int rc = onsale_event_create(c, &ev, &res);
	for (uint8_t t = 0; !rc && t <= DEMO_SEAT_TIERS; t++) {
		struct cmd_tier tier = {.event_id = DEMO_EVENT,
					.tier = t,
					.kind = t == DEMO_FLOOR_TIER ? TIER_GA : TIER_RESERVED,
					.capacity = t == DEMO_FLOOR_TIER ? DEMO_FLOOR_UNITS : 0,
					.low_stock_threshold = t == DEMO_FLOOR_TIER ? 250 : 100,
					.price_minor = prices[t]};
		snprintf(tier.name, sizeof tier.name, "%s", names[t]);
		rc = onsale_tier_add(c, &tier, &res);
	}
	for (uint16_t s = 0; !rc && s < DEMO_SECTIONS; s++)
		rc = section(c, s);
	return rc;
}

static void show(struct onsale *c)
{
	struct result res;
	if (onsale_query_availability(c, DEMO_EVENT, &res) != ST_OK)
		return;
	printf("event %u availability:\n  tier   capacity     free     held     sold    price\n",
	       DEMO_EVENT);
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		printf("  %4u %10u %8u %8u %8u %8.2f\n", t, v->capacity, v->free, v->held, v->sold,
		       (double)v->price_minor / 100);
	}
}

/* A port number 1-65535 into *port: 0, or -1 (said on stderr). It took
 * (uint16_t)atoi: --port 99999 connected to 34463, --port abc to 0. */
static int port_of(const char *s, uint16_t *port)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || errno || *end || v < 1 || v > 65535) {
		fprintf(stderr, "onsale-demo-load: --port %s: not a port number 1-65535\n", s);
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

static int usage(FILE *f, int status)
{
	fprintf(f,
		"usage: onsale-demo-load [--host H] [--port P] [--config FILE] [--show]\n"
		"Loads the demo event %u into onsaled (admin key from FILE) unless it\n"
		"is there, then prints its availability.\n",
		DEMO_EVENT);
	return status;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *config = "./var/onsaled.conf";
	uint16_t port = ONSALE_PORT_DEFAULT;
	int only_show = 0, o;
	static const struct option opts[] = {
		{"host", required_argument, NULL, 'H'},   {"port", required_argument, NULL, 'p'},
		{"config", required_argument, NULL, 'c'}, {"show", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},         {0},
	};
	while ((o = getopt_long(argc, argv, "H:p:c:sh", opts, NULL)) != -1) {
		switch (o) {
		case 'H': host = optarg; break;
		case 'p':
			if (port_of(optarg, &port))
				return 2;
			break;
		case 'c': config = optarg; break;
		case 's': only_show = 1; break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2); /* getopt said what is wrong */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "onsale-demo-load: %s: unexpected argument (see --help)\n",
			argv[optind]);
		return 2;
	}
	uint8_t key[ONSALE_KEY_BYTES];
	struct onsale *c;
	struct result res;
	int rc = onsale_key_from_config(config, ONSALE_ROLE_ADMIN, key);
	if (!rc)
		rc = onsale_open(host, port, ONSALE_ROLE_ADMIN, key, NULL, &c);
	if (rc) {
		fprintf(stderr, "onsale-demo-load: %s:%u with %s: %s\n", host, port, config,
			onsale_strerror(rc));
		return 1;
	}
	rc = onsale_query_event(c, DEMO_EVENT, &res);
	if (rc == ST_EVENT_UNKNOWN && !only_show) {
		printf("loading demo event %u (20,000 seats in 4 tiers, 5,000 GA)...\n",
		       DEMO_EVENT);
		rc = load(c);
		if (rc)
			fprintf(stderr, "onsale-demo-load: load failed: %s\n",
				rc > 0 ? status_name((enum status)rc) : onsale_strerror(rc));
	} else if (rc == ST_OK) {
		rc = 0;
	}
	if (!rc)
		show(c);
	onsale_close(c);
	return rc ? 1 : 0;
}
