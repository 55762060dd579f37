/*
 * log.h — onsaled's log: one logfmt line per event on stderr (log.c). It
 * lives at the lowest I/O layer so the store (net/store/), the cross-shard
 * layer (net/shard/) and the server (net/server/) share it.
 *
 *   time=2026-12-04T23:10:00.123Z level=info shard=1 msg="snapshot written" lsn=1234 ms=12
 *
 * time is RFC 3339 UTC with milliseconds, level one of debug, info, warn,
 * error; shard is left out of lines about the whole server. The caller's
 * format adds msg="..." first and then its own key=value pairs; string
 * values that may hold spaces, quotes or newlines go through log_quote.
 * Each line is written with one write(2), so lines from shard threads do
 * not interleave. docs/OPERATIONS.md lists the lines.
 */
#ifndef ONSALE_LOG_H
#define ONSALE_LOG_H

#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

#define LOG_SHARD_NONE (-1)
#define LOG_LINE_BYTES_MAX 2048 /* longer lines are cut, still ending in a newline */

/* One line: time, level, shard (unless LOG_SHARD_NONE), then fmt. */
void log_line(enum log_level level, int shard, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A line whose whole text is prose: msg="<fmt, quoted>". For refusals at
 * start that explain what to do; events with figures use log_line. */
void log_msg(enum log_level level, int shard, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* s as a logfmt value body: '"' and '\' escaped, control characters as
 * \n, \t or \xNN, into out[cap] (cut to fit, always terminated); returns out,
 * for use as log_line(..., "msg=\"x\" path=\"%s\"", log_quote(buf, sizeof buf, p)). */
const char *log_quote(char *out, size_t cap, const char *s);

/* RFC 3339 UTC with milliseconds of a wall-clock time in ms, into out
 * (at least 25 bytes). */
void log_time(char *out, size_t cap, unsigned long long wall_ms);

#endif
