/*
 * notify.c — sd_notify for systemd's Type=notify (notify.h).
 *
 * READY=1 goes out once every shard is recovered and listening, STOPPING=1
 * when a stop signal arrives, STATUS= lines on the way. With WatchdogSec=
 * in the unit, the main thread (which otherwise only waits for signals)
 * sends WATCHDOG=1 at half the interval, but only while every shard is
 * alive: asleep in io_uring waiting for work, or its loop has turned since
 * the last ping (server-t.h, struct shard_metrics.turns). A shard stuck in
 * a loop stops the pings and systemd restarts onsaled.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

#include "net/server/metrics.h"
#include "net/server/notify.h"
#include "net/server/server.h"

void notify_status(const char *fmt, ...)
{
	char text[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", text);
}

void notify_ready(const struct server *srv)
{
	sd_notifyf(0, "READY=1\nSTATUS=serving: %u shards on %s:%u", srv->n, srv->cfg.listen_host,
		   srv->cfg.listen_port);
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping: draining, syncing, writing snapshots");
}

uint64_t notify_watchdog_ms(void)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || !usec)
		return 0;
	return usec / 2000 ? usec / 2000 : 1;
}

void notify_watchdog(const struct server *srv)
{
	static uint64_t last[SHARDS_MAX]; /* the main thread's only */
	bool alive = true;
	for (uint32_t k = 0; k < srv->n; k++) {
		const struct shard *s = &srv->shards[k];
		uint64_t turns = metrics_get(&s->met.turns);
		if (turns == last[k] && !atomic_load(&s->sleeping))
			alive = false;
		last[k] = turns;
	}
	if (alive)
		sd_notify(0, "WATCHDOG=1");
}
