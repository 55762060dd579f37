/*
 * pg.c — bench-pg's shared state (bench/pg/pg.h): the options with their
 * defaults, the event's tiers and capacity, the flags and totals every
 * thread reads, the workers. Defined apart so pg_conn.c and pg_flow.c do
 * not call each other.
 */
#include "bench/pg/pg.h"

struct opts pg_opt = {.host = "127.0.0.1",
		      .dbname = "bench",
		      .user = "bench",
		      .scenario_name = "ga-flash",
		      .port = 5432,
		      .connections = 16,
		      .depth = 1,
		      .units = 100000,
		      .seats = 20000,
		      .confirm_pct = 80,
		      .hold_ttl_ms = HOLD_TTL_MS};
unsigned pg_tier_lo, pg_tier_hi;
uint64_t pg_capacity;
_Atomic int pg_stop;
_Atomic uint8_t pg_empty[TIERS];
_Atomic long pg_live_holds;
_Atomic uint64_t pg_units_confirmed;
struct worker *pg_workers;
