/*
 * deadline.c — the connection deadlines of onsaled: HELLO, frame in
 * progress, idle (deadline.h). Pure: the time comes in as an argument.
 */
#include <assert.h>

#include "core/limits.h"
#include "net/guard/deadline.h"

/* Whether limit_ms (0: off) has passed since since_ms. A clock that reads
 * before since_ms has not passed anything. */
static bool passed(uint64_t since_ms, uint32_t limit_ms, uint64_t now_ms)
{
	return limit_ms && now_ms > since_ms && now_ms - since_ms >= limit_ms;
}

enum deadline_kind deadline_due(const struct deadline_config *cfg, const struct deadline_conn *c,
				uint64_t now_ms)
{
	assert(cfg && c);
	if (!c->authenticated && passed(c->accepted_ms, cfg->hello_ms, now_ms))
		return DEADLINE_HELLO;
	if (c->partial && !c->stalled && passed(c->partial_ms, cfg->frame_ms, now_ms))
		return DEADLINE_FRAME;
	if (!c->partial && !c->busy && passed(c->active_ms, cfg->idle_ms, now_ms))
		return DEADLINE_IDLE;
	return DEADLINE_NONE;
}

const char *deadline_name(enum deadline_kind k)
{
	switch (k) {
	case DEADLINE_HELLO: return "hello";
	case DEADLINE_FRAME: return "frame";
	case DEADLINE_IDLE: return "idle";
	case DEADLINE_NONE: break;
	}
	return "none";
}

bool deadline_sweep_due(struct deadline_sweep *sw, uint64_t now_ms)
{
	if (now_ms < sw->next_ms)
		return false;
	sw->next_ms = now_ms + GUARD_SWEEP_MS;
	return true;
}

uint32_t deadline_sweep_wait_ms(const struct deadline_sweep *sw, uint64_t now_ms)
{
	if (now_ms >= sw->next_ms)
		return 1;
	uint64_t wait_ms = sw->next_ms - now_ms;
	return wait_ms > GUARD_SWEEP_MS ? GUARD_SWEEP_MS : (uint32_t)wait_ms;
}

bool deadline_any(const struct deadline_config *cfg)
{
	return cfg->hello_ms || cfg->frame_ms || cfg->idle_ms;
}
