/*
 * run.c — onsale-bench's shared state (bench/onsale/run.h): the options
 * with their defaults, the workers, the flags and totals every thread
 * reads. Defined apart from the program so the parts (venue.c, flow.c,
 * verify.c) only call down into it and onsale-bench.c calls them.
 */
#include "bench/onsale/run.h"

const char *const run_op_names[RUN_OPS] = {"hold",   "confirm", "release", "query",
					   "refund", "redeem",  "rescan"};

struct run_opts run_opt = {.host = "127.0.0.1",
			   .config = "var/onsaled.conf",
			   .scenario_name = "ga-flash",
			   .port = ONSALE_PORT_DEFAULT,
			   .connections = 4,
			   .depth = 32,
			   .units = 100000,
			   .seats = 20000,
			   .double_scan_pct = 2,
			   .mix_hold = 40,
			   .mix_query = 50,
			   .mix_refund = 10,
			   .confirm_pct = 80};
struct run_worker *run_workers;
_Atomic int run_stop, run_recording;
_Atomic uint64_t run_started;
_Atomic uint64_t run_units_confirmed_all, run_units_refunded_all;

const char *run_why(int rc)
{
	return rc > 0 ? status_name((enum status)rc) : onsale_strerror(rc);
}
