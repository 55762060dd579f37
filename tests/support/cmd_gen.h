/*
 * cmd_gen.h — a seeded generator of real core commands for durability
 * tests (shard store crash simulation and kill test): three events (GA,
 * reserved seats, mixed) with presale codes, then a random stream of GA,
 * named-seat and best-available holds, idempotent retries, extends,
 * releases, confirms (some with a wrong amount), redemptions, refunds
 * (some killing the unit), exchanges, queries and clock jumps; and a fourth,
 * small GA event churned by hold, confirm, refund in a row, so its ticket and
 * hold slots are reused across crashes. Modelled on tests/sim/test_core_sim.c.
 *
 * The generator keeps no state machine of its own: it remembers ids the
 * results handed back and asks for them later. After a crash takes state
 * back, some of those ids are gone and their commands are refused, which
 * is fine. Expiries come from the store's timer wheel, not from here.
 */
#ifndef ONSALE_CMD_GEN_H
#define ONSALE_CMD_GEN_H

#include <stdint.h>
#include "core/cmd-t.h"

#define CMD_GEN_REMEMBER 256
#define CMD_GEN_CUSTOMERS 40

struct cmd_gen {
	uint64_t rng;
	uint64_t now_ms;
	uint32_t scale;      /* multiplies tier capacities and event sizes */
	unsigned setup_step; /* next setup command; done when past the list */
	uint64_t holds[CMD_GEN_REMEMBER];
	uint64_t hold_due[CMD_GEN_REMEMBER];
	uint32_t hold_ev[CMD_GEN_REMEMBER];
	uint64_t tickets[CMD_GEN_REMEMBER];
	uint32_t ticket_ev[CMD_GEN_REMEMBER];
	struct cmd last_hold;
	uint64_t churn_hold, churn_ticket;  /* the churn's next confirm / refund */
	uint32_t retire_count, retire_step; /* short-lived events: done, step of the next */
	uint64_t retire_hold;
	struct row_spec rows[12];
	struct seat_spec seats[12 * 20];
};

void cmd_gen_init(struct cmd_gen *g, uint64_t seed, uint64_t now_ms, uint32_t scale);
/* Sends the setup commands again (after a crash may have lost them; the
 * ones that survived are refused as existing). */
void cmd_gen_restart(struct cmd_gen *g);
/* The next command into *cmd; 0 when this step only moved the clock. The
 * command may point into g (section rows): execute it before the next call. */
int cmd_gen_next(struct cmd_gen *g, struct cmd *cmd);
/* Feeds back the outcome of the last command. */
void cmd_gen_result(struct cmd_gen *g, const struct cmd *cmd, enum status st,
		    const struct result *res);

#endif
