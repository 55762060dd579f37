/*
 * log.c — logfmt lines on stderr (format in log.h).
 *
 * A line is formatted on the caller's stack and written with one write(2)
 * on descriptor 2: stdio's buffer is shared by the shard threads and would
 * take a lock and split lines under load. Logging happens at start, stop and
 * on rare events (snapshots, disk full), never per request.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/wal/log.h"

static const char *const level_names[] = {
	[LOG_DEBUG] = "debug", [LOG_INFO] = "info", [LOG_WARN] = "warn", [LOG_ERROR] = "error"};

void log_time(char *out, size_t cap, unsigned long long wall_ms)
{
	time_t secs = (time_t)(wall_ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(wall_ms % 1000));
}

void log_line(enum log_level level, int shard, const char *fmt, ...)
{
	char line[LOG_LINE_BYTES_MAX], when[32];
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	log_time(when, sizeof when,
		 (unsigned long long)t.tv_sec * 1000u + (unsigned long long)t.tv_nsec / 1000000u);
	int n = shard == LOG_SHARD_NONE
			? snprintf(line, sizeof line, "time=%s level=%s ", when, level_names[level])
			: snprintf(line, sizeof line, "time=%s level=%s shard=%d ", when,
				   level_names[level], shard);
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	size_t len = (size_t)n + (size_t)(m < 0 ? 0 : m);
	if (len > sizeof line - 2)
		len = sizeof line - 2; /* cut: the newline still ends it */
	line[len++] = '\n';
	(void)!write(2, line, len);
}

const char *log_quote(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 5 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else if (c == '\t') {
			out[o++] = '\\';
			out[o++] = 't';
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o < cap ? o : cap - 1] = 0;
	return out;
}

void log_msg(enum log_level level, int shard, const char *fmt, ...)
{
	char text[LOG_LINE_BYTES_MAX], quoted[LOG_LINE_BYTES_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	log_line(level, shard, "msg=\"%s\"", log_quote(quoted, sizeof quoted, text));
}
