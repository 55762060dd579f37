/*
 * srv_event.c — the test venue of srv_event.h.
 */
#include "tests/support/srv_event.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint64_t wall_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static int section(struct onsale *admin, struct tv *tv, uint16_t idx, unsigned best)
{
	struct row_spec rows[TV_ROWS];
	struct seat_spec seats[TV_SECTION_SEATS];
	struct cmd_section s = {.event_id = tv->event_id,
				.section = idx,
				.row_count = TV_ROWS,
				.rows = rows,
				.seats = seats};
	struct result res;
	snprintf(s.name, sizeof s.name, "S%u", idx);
	for (unsigned r = 0; r < TV_ROWS; r++) {
		memset(&rows[r], 0, sizeof rows[r]);
		rows[r].label[0] = (char)('A' + r);
		rows[r].seat_count = TV_ROW_SEATS;
		rows[r].first_number = 1;
		for (unsigned i = 0; i < TV_ROW_SEATS; i++) {
			struct seat_spec *st = &seats[r * TV_ROW_SEATS + i];
			st->tier = idx < 3 ? TV_TIER_A : TV_TIER_B;
			st->flags = 0;
			st->rank = (uint16_t)((idx == best ? 0 : 100 + idx * 100) + r * 10 + i % 5);
		}
	}
	int rc = onsale_section_load(admin, &s, &res);
	if (rc)
		return rc;
	tv->seat_first[idx] = (uint32_t)res.section.seat_first;
	return 0;
}

int tv_load(struct onsale *admin, struct tv *tv, uint32_t event_id, uint32_t ga_capacity,
	    uint16_t customer_limit, uint32_t ttl_ms, unsigned best_section)
{
	struct cmd_event ev = {.event_id = event_id,
			       .state = EVENT_ON_SALE,
			       .customer_limit = customer_limit,
			       .hold_ttl_ms = ttl_ms,
			       .units_max = ga_capacity + TV_SECTIONS * TV_SECTION_SEATS + 64,
			       .starts_at_ms = wall_ms() + 86400000ull,
			       .presale_start_ms = 1,
			       .public_start_ms = 2,
			       .sales_end_ms = wall_ms() + 86400000ull};
	struct result res;
	int rc;
	memset(tv, 0, sizeof *tv);
	tv->event_id = event_id;
	tv->ga_capacity = ga_capacity;
	snprintf(ev.name, sizeof ev.name, "Test %u", event_id);
	snprintf(ev.venue, sizeof ev.venue, "Hall");
	if ((rc = onsale_event_create(admin, &ev, &res)))
		return rc;
	struct cmd_tier t = {.event_id = event_id,
			     .tier = TV_TIER_GA,
			     .kind = TIER_GA,
			     .capacity = ga_capacity,
			     .price_minor = TV_PRICE_GA};
	snprintf(t.name, sizeof t.name, "Floor");
	if ((rc = onsale_tier_add(admin, &t, &res)))
		return rc;
	t.tier = TV_TIER_A, t.kind = TIER_RESERVED, t.capacity = 0, t.price_minor = TV_PRICE_A;
	if ((rc = onsale_tier_add(admin, &t, &res)))
		return rc;
	t.tier = TV_TIER_B, t.price_minor = TV_PRICE_B;
	if ((rc = onsale_tier_add(admin, &t, &res)))
		return rc;
	for (uint16_t i = 0; i < TV_SECTIONS; i++)
		if ((rc = section(admin, tv, i, best_section)))
			return rc;
	return 0;
}
