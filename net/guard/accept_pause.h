/*
 * accept_pause.h — when a shard stops accepting, and for how long
 * (net/guard/).
 *
 * An accept that fails for lack of files or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM) fails again at once while the connection waits in the
 * backlog: re-armed every turn it would spin the shard. Instead the shard
 * pauses accepting for GUARD_ACCEPT_PAUSE_MS, or until one of its own
 * connections closes (a file is free again), and logs at most once per
 * GUARD_ACCEPT_LOG_MS. Other errors (a peer that reset before the accept)
 * concern one connection only: accepting goes on. Pure: time passed in.
 */
#ifndef ONSALE_GUARD_ACCEPT_PAUSE_H
#define ONSALE_GUARD_ACCEPT_PAUSE_H

#include <stdbool.h>
#include <stdint.h>

struct accept_pause {
	bool paused;
	bool logged; /* a log line was written, at logged_ms */
	uint64_t until_ms, logged_ms;
	uint64_t pauses; /* times accepting paused */
};

/* Accept failed with err (-errno) at now_ms. True when the shard should
 * log it (the pause began and nothing was logged for a while). */
bool accept_pause_failed(struct accept_pause *ap, int err, uint64_t now_ms);

/* A connection of the shard closed: a file is free, accept again. */
void accept_pause_resume(struct accept_pause *ap);

/* Whether accepting may be armed at now_ms (ends a pause that is over). */
bool accept_pause_may_arm(struct accept_pause *ap, uint64_t now_ms);

/* Ms until the pause ends, at least 1; 0 when not paused. */
uint32_t accept_pause_wait_ms(const struct accept_pause *ap, uint64_t now_ms);

#endif
