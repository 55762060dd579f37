/*
 * off_venue.c — what onsale-offend needs of the server besides load: its
 * event (a GA tier for the well-behaved client, one for the bot, and a
 * reserved tier in sections for seat-map queries), the check at the end
 * that every confirm the client was acknowledged is a confirmed order,
 * and the server's memory and connection count.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bench/offend/offend.h"

#define GOOD_UNITS 1000000u
#define BOT_UNITS 100000u
#define PRICE_MINOR 5000u

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int section(struct onsale *admin, struct off_env *env, uint16_t idx)
{
	static struct row_spec rows[OFF_SECTION_ROWS];
	static struct seat_spec seats[OFF_SECTION_ROWS * OFF_ROW_SEATS];
	struct cmd_section s = {.event_id = env->event_id,
				.section = idx,
				.row_count = OFF_SECTION_ROWS,
				.rows = rows,
				.seats = seats};
	struct result res;
	snprintf(s.name, sizeof s.name, "S%u", idx);
	for (unsigned r = 0; r < OFF_SECTION_ROWS; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		snprintf(rows[r].label, sizeof rows[r].label, "%u", r + 1);
		rows[r].seat_count = OFF_ROW_SEATS;
		rows[r].first_number = 1;
	}
	for (unsigned i = 0; i < OFF_SECTION_ROWS * OFF_ROW_SEATS; i++)
		seats[i] = (struct seat_spec){.tier = OFF_TIER_SEATS, .rank = (uint16_t)i};
	int rc = onsale_section_load(admin, &s, &res);
	if (rc == ST_OK)
		env->seat_first[idx] = (uint32_t)res.section.seat_first;
	return rc;
}

static int tier(struct onsale *admin, uint32_t event_id, uint8_t t, uint8_t kind, uint32_t cap)
{
	struct cmd_tier ct = {.event_id = event_id,
			      .tier = t,
			      .kind = kind,
			      .capacity = cap,
			      .price_minor = PRICE_MINOR};
	struct result res;
	snprintf(ct.name, sizeof ct.name, "T%u", t);
	return onsale_tier_add(admin, &ct, &res);
}

int off_venue_create(struct off_env *env)
{
	struct onsale *admin;
	struct result res;
	uint32_t seats = OFF_SECTIONS * OFF_SECTION_ROWS * OFF_ROW_SEATS;
	struct cmd_event ev = {.event_id = env->event_id,
			       .state = EVENT_ON_SALE,
			       .customer_limit = OFF_CUSTOMER_LIMIT,
			       .units_max = GOOD_UNITS + BOT_UNITS + seats,
			       .starts_at_ms = wall_ms() + 86400000ull,
			       .presale_start_ms = 1,
			       .public_start_ms = 2,
			       .sales_end_ms = wall_ms() + 86400000ull};
	int rc = onsale_open(env->host, env->port, ONSALE_ROLE_ADMIN, env->keys[ONSALE_ROLE_ADMIN],
			     NULL, &admin);
	if (rc)
		return rc;
	snprintf(ev.name, sizeof ev.name, "Offenders %u", env->event_id);
	snprintf(ev.venue, sizeof ev.venue, "Loopback Hall");
	rc = onsale_event_create(admin, &ev, &res);
	if (!rc)
		rc = tier(admin, env->event_id, OFF_TIER_GOOD, TIER_GA, GOOD_UNITS);
	if (!rc)
		rc = tier(admin, env->event_id, OFF_TIER_BOT, TIER_GA, BOT_UNITS);
	if (!rc)
		rc = tier(admin, env->event_id, OFF_TIER_SEATS, TIER_RESERVED, 0);
	for (uint16_t k = 0; !rc && k < OFF_SECTIONS; k++)
		rc = section(admin, env, k);
	onsale_close(admin);
	return rc;
}

const char *off_venue_verify(const struct off_env *env, const struct off_good *g)
{
	static char why[160];
	struct onsale *c;
	struct result res;
	if (onsale_open(env->host, env->port, ONSALE_ROLE_PLATFORM, env->keys[ONSALE_ROLE_PLATFORM],
			NULL, &c))
		return "no connection to check the orders";
	why[0] = 0;
	for (uint64_t i = 0; i < g->n_confirmed && !why[0]; i++) {
		int rc = onsale_query_order(c, env->event_id, g->confirmed[i], &res);
		if (rc != ST_OK || res.hold.state != HOLD_CONFIRMED)
			snprintf(why, sizeof why, "order %llu: %s, state %u",
				 (unsigned long long)g->confirmed[i], onsale_strerror(rc),
				 res.hold.state);
	}
	onsale_close(c);
	return why[0] ? why : NULL;
}

uint64_t off_venue_rss_kib(const struct off_env *env)
{
	char path[64], line[128];
	unsigned long long kib = 0;
	if (env->server_pid <= 0)
		return 0;
	snprintf(path, sizeof path, "/proc/%d/status", env->server_pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %llu kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

const char *off_venue_kib_json(uint64_t kib)
{
	static char buf[8][24];
	static unsigned turn;
	char *b = buf[turn++ % 8];
	if (!kib)
		return "null";
	snprintf(b, sizeof buf[0], "%llu", (unsigned long long)kib);
	return b;
}

long off_venue_open_conns(const struct off_env *env)
{
	struct onsale *c;
	struct onsale_server_stats ss;
	if (onsale_open(env->host, env->port, ONSALE_ROLE_ADMIN, env->keys[ONSALE_ROLE_ADMIN], NULL,
			&c))
		return -1;
	int rc = onsale_server_stats(c, &ss);
	onsale_close(c);
	/* less the connection that asked */
	return rc == ST_OK ? (long)ss.counters[ONSALE_STAT_CONNECTIONS_OPEN] - 1 : -1;
}
