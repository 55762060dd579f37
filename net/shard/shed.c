/*
 * shed.c — load shedding: whether a shard takes a client request in or
 * answers it 73 (overloaded, retry later) at once, decided from the node's
 * own figures and the time argument only (limits and rationale in
 * core/limits.h, "Load shedding"; what a client does in docs/CLIENT.md).
 *
 * Only new demand is shed: holds, and the availability and seat-map reads
 * a shop polls while buyers browse. A buyer who already holds seats must
 * be able to pay, so confirms, extends, releases, refunds, exchanges,
 * redeems, look-ups of a hold/order/ticket, admin requests and STATS are
 * never shed; when every slot is taken they wait (back-pressure) as before.
 *
 * Two signals:
 *   slots        requests the node is working on at or over cfg.slots:
 *                every sheddable request is shed (immediate, for bursts);
 *                answered requests whose replies wait in the driver for a
 *                client that does not read are not counted (they are no
 *                load, and the fair shares of net/guard/ deal with them);
 *   queue delay  CoDel's idea on the shard's intake-to-reply time: an
 *                interval in which even the fastest answer took at least
 *                cfg.target_ms means a standing queue, not a burst. Each
 *                such interval raises the shed share by SHED_STEP_UP
 *                sixteenths, each interval under it lowers it by one; the
 *                share is spread evenly over the sheddable requests by a
 *                counter, so the outcome is deterministic.
 * Requests answered 73 here are not samples: their delay is no queue's.
 */
#include <string.h>

#include "net/shard/parts.h"

struct shed_config shed_config_default(void)
{
	return (struct shed_config){.slots = SHED_SLOTS,
				    .target_ms = SHED_TARGET_MS,
				    .interval_ms = SHED_INTERVAL_MS,
				    .queue_min = SHED_QUEUE_MIN};
}

void shed_init(struct shed *sh, const struct shed_config *cfg)
{
	assert(!cfg->target_ms || cfg->interval_ms > cfg->target_ms);
	memset(sh, 0, sizeof *sh);
	sh->cfg = *cfg;
	sh->min_sojourn_ms = UINT32_MAX;
}

bool shed_sheddable(uint8_t opcode)
{
	return opcode == PROTO_OP_HOLD || opcode == PROTO_OP_Q_AVAILABILITY ||
	       opcode == PROTO_OP_Q_SECTION_SEATS;
}

/* Ends the intervals that are over at now: the first by what it saw, any
 * further ones (nothing answered, nothing asked) as under the target. */
static void roll(struct shed *sh, uint64_t now_ms, uint32_t in_flight)
{
	uint32_t iv = sh->cfg.interval_ms;
	if (!sh->cfg.target_ms || now_ms < sh->interval_start_ms + iv)
		return;
	uint64_t over_count = (now_ms - sh->interval_start_ms) / iv;
	bool queue = in_flight >= sh->cfg.queue_min;
	/* nothing answered for a whole interval with a queue in flight: stuck */
	bool over = queue &&
		    (sh->min_sojourn_ms == UINT32_MAX || sh->min_sojourn_ms >= sh->cfg.target_ms);
	if (over) {
		sh->level += SHED_STEP_UP;
		if (sh->level > SHED_LEVELS)
			sh->level = SHED_LEVELS;
		over_count--;
	}
	sh->level = over_count >= sh->level ? 0 : sh->level - (uint32_t)over_count;
	sh->interval_start_ms = now_ms;
	sh->min_sojourn_ms = UINT32_MAX;
}

bool shed_refuse(struct shed *sh, uint64_t now_ms, uint32_t in_flight, uint8_t opcode)
{
	roll(sh, now_ms, in_flight);
	if (!shed_sheddable(opcode))
		return false;
	bool full = sh->cfg.slots && in_flight >= sh->cfg.slots;
	/* of every SHED_LEVELS sheddable requests, the first `level` are shed */
	bool share = sh->level && sh->seq % SHED_LEVELS < sh->level;
	sh->seq++;
	return full || share; /* per opcode: onsale_operations_total{status="overloaded"} */
}

void shed_answered(struct shed *sh, uint64_t now_ms, uint32_t in_flight, uint64_t start_ms)
{
	assert(now_ms >= start_ms);
	roll(sh, now_ms, in_flight);
	uint64_t sojourn_ms = now_ms - start_ms;
	if (sojourn_ms < sh->min_sojourn_ms)
		sh->min_sojourn_ms = (uint32_t)(sojourn_ms < UINT32_MAX - 1 ? sojourn_ms
									    : UINT32_MAX - 1);
}
