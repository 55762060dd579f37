/*
 * srv_event.h — a small test venue loaded into a real onsaled over libonsale:
 * a GA tier and two reserved tiers in sections spread over the shards.
 */
#ifndef ONSALE_SRV_EVENT_H
#define ONSALE_SRV_EVENT_H

#include <stdint.h>
#include "net/client/onsale.h"

#define TV_TIER_GA 0
#define TV_TIER_A 1 /* sections 0..2 */
#define TV_TIER_B 2 /* sections 3..5 */
#define TV_SECTIONS 6
#define TV_ROWS 4
#define TV_ROW_SEATS 10
#define TV_SECTION_SEATS (TV_ROWS * TV_ROW_SEATS)
#define TV_PRICE_GA 2500u
#define TV_PRICE_A 9000u
#define TV_PRICE_B 4000u

struct tv {
	uint32_t event_id;
	uint32_t ga_capacity;
	uint32_t seat_first[TV_SECTIONS]; /* global seat id of each section's first seat */
};

/* Creates the event (on sale now, customer_limit, hold TTL ttl_ms or the
 * default when 0) with its tiers and sections. The best-ranked section is
 * best_section (its seats rank lowest). Returns 0 or the first failing status. */
int tv_load(struct onsale *admin, struct tv *tv, uint32_t event_id, uint32_t ga_capacity,
	    uint16_t customer_limit, uint32_t ttl_ms, unsigned best_section);

#endif
