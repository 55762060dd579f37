/*
 * accept_pause.c — pausing the accept of a shard out of files or memory
 * (accept_pause.h).
 */
#include <assert.h>
#include <errno.h>

#include "core/limits.h"
#include "net/guard/accept_pause.h"

static bool out_of_resources(int err)
{
	return err == -EMFILE || err == -ENFILE || err == -ENOBUFS || err == -ENOMEM;
}

bool accept_pause_failed(struct accept_pause *ap, int err, uint64_t now_ms)
{
	assert(err < 0);
	if (!out_of_resources(err))
		return false;
	if (!ap->paused)
		ap->pauses++;
	ap->paused = true;
	ap->until_ms = now_ms + GUARD_ACCEPT_PAUSE_MS;
	if (ap->logged && now_ms - ap->logged_ms < GUARD_ACCEPT_LOG_MS)
		return false;
	ap->logged = true;
	ap->logged_ms = now_ms;
	return true;
}

void accept_pause_resume(struct accept_pause *ap)
{
	ap->paused = false;
}

bool accept_pause_may_arm(struct accept_pause *ap, uint64_t now_ms)
{
	if (ap->paused && now_ms >= ap->until_ms)
		ap->paused = false;
	return !ap->paused;
}

uint32_t accept_pause_wait_ms(const struct accept_pause *ap, uint64_t now_ms)
{
	if (!ap->paused)
		return 0;
	if (now_ms >= ap->until_ms)
		return 1;
	uint64_t wait_ms = ap->until_ms - now_ms;
	return wait_ms > GUARD_ACCEPT_PAUSE_MS ? GUARD_ACCEPT_PAUSE_MS : (uint32_t)wait_ms;
}
