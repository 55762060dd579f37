/*
 * vfile_event.c — the venue file's event lines (event, name, venue, state,
 * times, limit, hold_ttl, units), tier, code and stage lines, and the
 * keyword table that names every line kind.
 */
#include "tools/ctl/vfile_parse.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int text(struct vparse *p, char *dst, size_t size, const char *what)
{
	const struct vtok *t = &p->tok[1];

	if (strlen(t->s) >= size)
		return vp_fail(p, t->col, "%s longer than %zu bytes", what, size - 1);
	memcpy(dst, t->s, strlen(t->s) + 1);
	return 0;
}

static int kw_event(struct vparse *p)
{
	uint64_t id;

	if (vp_uint(p, 1, "event id", 1, UINT32_MAX, &id))
		return -EINVAL;
	p->v->event.event_id = (uint32_t)id;
	return 0;
}

static int kw_name(struct vparse *p)
{
	return text(p, p->v->event.name, sizeof p->v->event.name, "name");
}

static int kw_venue(struct vparse *p)
{
	return text(p, p->v->event.venue, sizeof p->v->event.venue, "venue");
}

static int kw_state(struct vparse *p)
{
	int st = vfile_state(p->tok[1].s);

	if (st < 0)
		return vp_fail(p, p->tok[1].col, "state '%s': draft, on_sale, paused or closed",
			       p->tok[1].s);
	p->v->event.state = (uint8_t)st;
	return 0;
}

static int kw_time(struct vparse *p)
{
	struct cmd_event *e = &p->v->event;
	const char *k = p->tok[0].s;
	uint64_t *dst = !strcmp(k, "starts")    ? &e->starts_at_ms
			: !strcmp(k, "presale") ? &e->presale_start_ms
			: !strcmp(k, "public")  ? &e->public_start_ms
						: &e->sales_end_ms;

	if (vfile_time(p->tok[1].s, p->now_ms, dst))
		return vp_fail(p, p->tok[1].col,
			       "time '%s': 2027-06-01T20:00:00Z, now, now+7d, now-1h or @MS",
			       p->tok[1].s);
	return 0;
}

static int kw_limit(struct vparse *p)
{
	uint64_t n;

	if (vp_uint(p, 1, "limit", 0, CUSTOMER_LIMIT_MAX, &n))
		return -EINVAL;
	p->v->event.customer_limit = (uint16_t)n;
	return 0;
}

static int kw_hold_ttl(struct vparse *p)
{
	uint64_t ms;

	if (vfile_duration(p->tok[1].s, &ms))
		return vp_fail(p, p->tok[1].col, "hold_ttl '%s': a duration like 10m, 90s, 1h",
			       p->tok[1].s);
	if (ms < HOLD_TTL_MS_MIN || ms > HOLD_TTL_MS_MAX)
		return vp_fail(p, p->tok[1].col, "hold_ttl %s out of range (1s to 1h)",
			       p->tok[1].s);
	p->v->event.hold_ttl_ms = (uint32_t)ms;
	return 0;
}

static int kw_units(struct vparse *p)
{
	uint64_t n;

	if (vp_uint(p, 1, "units", 1, EVENT_UNITS_MAX, &n))
		return -EINVAL;
	p->v->event.units_max = (uint32_t)n;
	return 0;
}

static int kw_code(struct vparse *p)
{
	struct vfile *v = p->v;
	const struct vtok *t = &p->tok[1];
	size_t len = strlen(t->s);
	uint64_t uses = 0;

	if (v->code_count == PRESALE_CODES_MAX)
		return vp_fail(p, p->tok[0].col, "more than %u presale codes", PRESALE_CODES_MAX);
	if (len < 1 || len > PRESALE_CODE_BYTES_MAX)
		return vp_fail(p, t->col, "a presale code is 1 to %u bytes",
			       PRESALE_CODE_BYTES_MAX);
	if (p->ntok == 3 || (p->ntok == 4 && strcmp(p->tok[2].s, "uses")))
		return vp_fail(p, p->tok[2].col, "after the code: 'uses N' or nothing");
	if (p->ntok == 4 && vp_uint(p, 3, "uses", 0, UINT32_MAX, &uses))
		return -EINVAL;
	for (unsigned i = 0; i < v->code_count; i++)
		if (v->codes[i].code_len == len && !memcmp(v->codes[i].code, t->s, len))
			return vp_fail(p, t->col, "presale code '%s' given twice", t->s);
	memcpy(v->codes[v->code_count].code, t->s, len);
	v->codes[v->code_count].code_len = (uint8_t)len;
	v->codes[v->code_count++].use_limit = (uint32_t)uses;
	return 0;
}

/* Four numbers from token i: x y w h, in seat units. */
static int box(struct vparse *p, unsigned i, int32_t out[4])
{
	static const char *const what[4] = {"x", "y", "width", "height"};
	int64_t x;

	for (unsigned k = 0; k < 4; k++) {
		if (vp_int(p, i + k, what[k], k < 2 ? -100000 : 1, 100000, &x))
			return -EINVAL;
		out[k] = (int32_t)x;
	}
	return 0;
}

static int kw_stage(struct vparse *p)
{
	return box(p, 1, p->v->stage);
}

/* tier T "NAME" ga CAPACITY|reserved price P [low N] [area X Y W H] */
static int tier_options(struct vparse *p, unsigned i, struct cmd_tier *t, struct vfile_area *a)
{
	uint64_t n;
	int32_t b[4];

	for (; i < p->ntok; i += 2) {
		const char *k = p->tok[i].s;

		if (i + 1 >= p->ntok)
			return vp_fail(p, p->tok[i].col, "'%s' needs a value", k);
		if (!strcmp(k, "price")) {
			if (vfile_money(p->tok[i + 1].s, &t->price_minor))
				return vp_fail(p, p->tok[i + 1].col, "price '%s': like 89 or 89.50",
					       p->tok[i + 1].s);
		} else if (!strcmp(k, "low")) {
			if (vp_uint(p, i + 1, "low", 0, UINT32_MAX, &n))
				return -EINVAL;
			t->low_stock_threshold = (uint32_t)n;
		} else if (!strcmp(k, "area") && t->kind == TIER_GA) {
			if (i + 4 >= p->ntok || box(p, i + 1, b))
				return i + 4 >= p->ntok ? vp_fail(p, p->tok[i].col, "area X Y W H")
							: -EINVAL;
			memcpy(&a->x, b, sizeof b);
			a->placed = 1;
			i += 3;
		} else {
			return vp_fail(p, p->tok[i].col, "unknown tier option '%s' (price, low%s)",
				       k, t->kind == TIER_GA ? ", area" : "");
		}
	}
	return 0;
}

static int kw_tier(struct vparse *p)
{
	struct vfile *v = p->v;
	struct cmd_tier t = {.event_id = 0};
	uint64_t idx, cap;
	unsigned i = 4;

	if (vp_uint(p, 1, "tier", 0, TIERS_MAX - 1, &idx))
		return -EINVAL;
	if (v->tier_mask >> idx & 1)
		return vp_fail(p, p->tok[1].col, "tier %llu defined twice",
			       (unsigned long long)idx);
	t.tier = (uint8_t)idx;
	if (!p->tok[2].quoted || strlen(p->tok[2].s) >= sizeof t.name)
		return vp_fail(p, p->tok[2].col,
			       "a tier's name: a \"quoted string\" under %zu bytes", sizeof t.name);
	strcpy(t.name, p->tok[2].s);
	if (!strcmp(p->tok[3].s, "ga")) {
		if (p->ntok < 5 || vp_uint(p, 4, "capacity", 1, EVENT_UNITS_MAX, &cap))
			return p->ntok < 5 ? vp_fail(p, p->tok[3].col, "ga CAPACITY") : -EINVAL;
		t.kind = TIER_GA, t.capacity = (uint32_t)cap, i = 5;
	} else if (!strcmp(p->tok[3].s, "reserved")) {
		t.kind = TIER_RESERVED;
	} else {
		return vp_fail(p, p->tok[3].col, "a tier is 'ga CAPACITY' or 'reserved'");
	}
	if (tier_options(p, i, &t, &v->areas[idx]))
		return -EINVAL;
	v->tiers[idx] = t;
	v->tier_mask |= 1u << idx;
	return 0;
}

const struct vp_keyword vp_keywords[] = {
	{"event", VP_SEEN_EVENT, 1, 1, "an id: event 2027", kw_event},
	{"name", VP_SEEN_NAME, 1, 1, "one \"quoted name\"", kw_name},
	{"venue", VP_SEEN_VENUE, 1, 1, "one \"quoted name\"", kw_venue},
	{"state", VP_SEEN_STATE, 1, 1, "draft, on_sale, paused or closed", kw_state},
	{"starts", VP_SEEN_STARTS, 1, 1, "one time", kw_time},
	{"presale", VP_SEEN_PRESALE, 1, 1, "one time", kw_time},
	{"public", VP_SEEN_PUBLIC, 1, 1, "one time", kw_time},
	{"end", VP_SEEN_END, 1, 1, "one time", kw_time},
	{"limit", VP_SEEN_LIMIT, 1, 1, "tickets per customer: limit 8", kw_limit},
	{"hold_ttl", VP_SEEN_TTL, 1, 1, "a duration: hold_ttl 10m", kw_hold_ttl},
	{"units", VP_SEEN_UNITS, 1, 1, "a count: units 30000", kw_units},
	{"stage", VP_SEEN_STAGE, 4, 4, "X Y W H", kw_stage},
	{"code", 0, 1, 3, "CODE [uses N]", kw_code},
	{"tier", 0, 3, 16, "T \"NAME\" ga CAPACITY|reserved price P [low N] [area X Y W H]",
	 kw_tier},
	{"section", 0, 2, 12, "N \"NAME\" [tier T] [rank R] [rowstep S] [at X Y] [rotate DEG]",
	 vp_section},
	{"row", 0, 3, VP_TOKENS_MAX - 1, "LABELS seats FIRST-LAST [options]", vp_row},
	{NULL, 0, 0, 0, NULL, NULL},
};
