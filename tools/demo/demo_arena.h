/*
 * demo_arena.h — the demo venue's shape, shared by the in-process demo
 * (onsale-demo) and the loader of a running server (onsale-demo-load).
 *
 * Event 2027 in an arena of 20 sections of 25 rows of 40 seats (20,000
 * reserved seats) in four seated tiers, plus a 5,000-unit GA floor as tier
 * 0. Each program chooses its own names, prices and seat ranks.
 */
#ifndef ONSALE_DEMO_ARENA_H
#define ONSALE_DEMO_ARENA_H

#define DEMO_EVENT 2027u
#define DEMO_FLOOR_TIER 0
#define DEMO_SEAT_TIERS 4
#define DEMO_SECTIONS 20
#define DEMO_ROWS 25
#define DEMO_SEATS_PER_ROW 40
#define DEMO_FLOOR_UNITS 5000

#endif
