/*
 * notify.h — onsaled and systemd (notify.c): sd_notify over libsystemd
 * for a Type=notify unit (docs/onsaled.service). Without NOTIFY_SOCKET in
 * the environment every call does nothing.
 */
#ifndef ONSALE_NOTIFY_H
#define ONSALE_NOTIFY_H

#include <stdint.h>

struct server;

/* STATUS=<text> */
void notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* READY=1 and a STATUS line: recovery is done and clients are accepted. */
void notify_ready(const struct server *srv);
/* STOPPING=1 and a STATUS line. */
void notify_stopping(void);
/* The interval to send WATCHDOG=1 at (half of WATCHDOG_USEC), in ms; 0
 * when systemd watches no watchdog. */
uint64_t notify_watchdog_ms(void);
/* WATCHDOG=1, only when every shard either sleeps or has turned its loop
 * since the last call (a stuck shard lets systemd's watchdog fire). */
void notify_watchdog(const struct server *srv);

#endif
