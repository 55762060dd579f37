/*
 * vfile_value.c — the values a venue file and the command line share:
 * money in major units with at most two decimals, durations with a unit,
 * times in UTC or relative to now, event states by name. Strict: the whole
 * string must be the value, so "12x" or "1.999" are refused, never cut.
 */
#include "tools/ctl/vfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const state_names[EVENT_STATE_COUNT] = {"draft", "on_sale", "paused", "closed"};

/* Digits only, into *out without overflow past max. */
static int digits(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;

	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		if (x > (max - (uint64_t)(s[i] - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*out = x;
	return 0;
}

int vfile_money(const char *s, uint64_t *minor)
{
	const char *dot = strchr(s, '.');
	size_t whole_len = dot ? (size_t)(dot - s) : strlen(s);
	uint64_t whole, cents = 0;

	if (digits(s, whole_len, UINT64_MAX / 100 - 1, &whole))
		return -EINVAL;
	if (dot) {
		size_t n = strlen(dot + 1);

		if (n < 1 || n > 2 || digits(dot + 1, n, 99, &cents))
			return -EINVAL;
		if (n == 1)
			cents *= 10;
	}
	*minor = whole * 100 + cents;
	return 0;
}

int vfile_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
	size_t n = 0;
	uint64_t x;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
		if (strcmp(s + n, units[u].unit) != 0)
			continue;
		if (digits(s, n, UINT64_MAX / units[u].ms, &x))
			return -EINVAL;
		*ms = x * units[u].ms;
		return 0;
	}
	return -EINVAL;
}

/* "2027-06-01T20:00:00Z" exactly. */
static int iso_time(const char *s, uint64_t *ms)
{
	struct tm tm = {0};
	const char *end;

	if (strlen(s) != 20)
		return -EINVAL;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end)
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t < 0)
		return -EINVAL;
	*ms = (uint64_t)t * 1000u;
	return 0;
}

int vfile_time(const char *s, uint64_t now_ms, uint64_t *ms)
{
	uint64_t d;

	if (s[0] == '@')
		return digits(s + 1, strlen(s + 1), UINT64_MAX, ms);
	if (strncmp(s, "now", 3) != 0)
		return iso_time(s, ms);
	if (s[3] == 0) {
		*ms = now_ms;
		return 0;
	}
	if ((s[3] != '+' && s[3] != '-') || vfile_duration(s + 4, &d))
		return -EINVAL;
	if (s[3] == '-' && d > now_ms)
		return -EINVAL;
	*ms = s[3] == '+' ? now_ms + d : now_ms - d;
	return 0;
}

int vfile_state(const char *s)
{
	for (int i = 0; i < EVENT_STATE_COUNT; i++)
		if (strcmp(s, state_names[i]) == 0)
			return i;
	return -EINVAL;
}

const char *vfile_state_name(unsigned state)
{
	return state < EVENT_STATE_COUNT ? state_names[state] : "unknown";
}
