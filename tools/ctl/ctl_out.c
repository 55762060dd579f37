/*
 * ctl_out.c — onsale-ctl's output: a JSON writer small enough to read
 * (objects and arrays written as they go, strings escaped), money and
 * times formatted one way everywhere, names of the protocol's enums.
 */
#include "tools/ctl/ctl.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static void sep(struct ctl_json *j, const char *key)
{
	if (j->depth && !j->first[j->depth])
		fputc(',', j->out);
	if (j->depth)
		j->first[j->depth] = 0;
	if (key)
		fprintf(j->out, "\"%s\":", key);
}

void cj_open(struct ctl_json *j, const char *key, char brace)
{
	sep(j, key);
	fputc(brace, j->out);
	j->depth++;
	j->first[j->depth] = 1;
}

void cj_close(struct ctl_json *j, char brace)
{
	fputc(brace, j->out);
	j->depth--;
	if (!j->depth)
		fputc('\n', j->out);
}

void cj_u64(struct ctl_json *j, const char *key, uint64_t x)
{
	sep(j, key);
	fprintf(j->out, "%" PRIu64, x);
}

void cj_money(struct ctl_json *j, const char *key, uint64_t minor)
{
	cj_u64(j, key, minor);
}

void cj_bool(struct ctl_json *j, const char *key, int b)
{
	sep(j, key);
	fputs(b ? "true" : "false", j->out);
}

void cj_str(struct ctl_json *j, const char *key, const char *s)
{
	sep(j, key);
	fputc('"', j->out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(j->out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(j->out, "\\u%04x", ch);
		else
			fputc(ch, j->out);
	}
	fputc('"', j->out);
}

const char *ctl_fmt_money(char *buf, size_t size, uint64_t minor)
{
	snprintf(buf, size, "%" PRIu64 ".%02u", minor / 100, (unsigned)(minor % 100));
	return buf;
}

const char *ctl_fmt_time(char *buf, size_t size, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "-");
	return buf;
}

static const char *name_of(const char *const *names, unsigned n, unsigned i)
{
	return i < n && names[i] ? names[i] : "unknown";
}

const char *ctl_channel_name(unsigned channel)
{
	static const char *const n[] = {"online", "box_office", "kiosk"};
	return name_of(n, 3, channel);
}

const char *ctl_hold_state_name(unsigned state)
{
	static const char *const n[] = {NULL, "live", "confirmed", "released", "expired"};
	return name_of(n, 5, state);
}

const char *ctl_ticket_state_name(unsigned state)
{
	static const char *const n[] = {NULL, "valid", "redeemed", "refunded", "exchanged"};
	return name_of(n, 5, state);
}

const char *ctl_seat_state_name(unsigned state)
{
	static const char *const n[] = {"free", "held", "sold", "killed"};
	return name_of(n, 4, state);
}

void cj_tier(struct ctl_json *j, unsigned tier, const struct tier_view *v)
{
	cj_open(j, NULL, '{');
	cj_u64(j, "tier", tier);
	cj_str(j, "kind", v->kind == TIER_GA ? "ga" : "reserved");
	cj_money(j, "price_minor", v->price_minor);
	cj_u64(j, "capacity", v->capacity);
	cj_u64(j, "free", v->free);
	cj_u64(j, "held", v->held);
	cj_u64(j, "sold", v->sold);
	cj_u64(j, "killed", v->killed);
	cj_u64(j, "low_stock_threshold", v->low_stock_threshold);
	cj_bool(j, "low_stock", v->low_stock);
	cj_close(j, '}');
}
