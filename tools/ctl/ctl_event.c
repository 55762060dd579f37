/*
 * ctl_event.c — admin subcommands: event create (from a venue file),
 * event update, event show, event retire, tier add, code add.
 *
 * create sends the event as a draft, then its tiers, sections and presale
 * codes, and only then the state the file asks for, so no buyer sees an
 * event whose seat map is half loaded.
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tools/ctl/vfile.h"

static int load_venue(struct ctl *c, struct vfile *v)
{
	static char err[VFILE_ERR_BYTES];
	const char *id = ctl_opt(c, "event"), *state = ctl_opt(c, "state");
	uint64_t x;
	int rc = vfile_load(v, c->args[0], ctl_wall_ms(), err, sizeof err);

	if (rc) {
		fprintf(stderr, "onsale-ctl %s: %s\n", c->cmd->words, err);
		return rc == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_IO;
	}
	if (id) {
		if (ctl_u64(id, "--event", 1, UINT32_MAX, &x))
			return CTL_EXIT_USAGE;
		v->event.event_id = (uint32_t)x;
	}
	if (state && vfile_state(state) < 0)
		return ctl_usage_error(c, "--state %s: draft, on_sale, paused or closed", state);
	if (state)
		v->event.state = (uint8_t)vfile_state(state);
	return 0;
}

static int send_tiers_and_codes(struct ctl *c, const struct vfile *v)
{
	struct result res;
	char what[64];
	int rc;

	for (unsigned t = 0; t < TIERS_MAX; t++) {
		struct cmd_tier tier = v->tiers[t];

		if (!(v->tier_mask >> t & 1))
			continue;
		tier.event_id = v->event.event_id;
		snprintf(what, sizeof what, "tier %u", t);
		if ((rc = onsale_tier_add(c->conn, &tier, &res)) != ST_OK)
			return ctl_result(c, rc, what);
	}
	for (unsigned i = 0; i < v->code_count; i++) {
		const struct vfile_code *k = &v->codes[i];

		rc = onsale_presale_code_add(c->conn, v->event.event_id, k->code, k->code_len,
					     k->use_limit, &res);
		if (rc != ST_OK)
			return ctl_result(c, rc, "presale code");
	}
	return 0;
}

static int send_sections(struct ctl *c, const struct vfile *v)
{
	struct result res;
	char what[64];
	int rc;

	for (unsigned i = 0; i < v->section_count; i++) {
		const struct vfile_section *s = &v->sections[i];
		struct cmd_section sec = {.event_id = v->event.event_id,
					  .section = s->section,
					  .row_count = s->row_count,
					  .rows = &v->rows[s->row_first],
					  .seats = &v->seats[s->seat_first]};

		memcpy(sec.name, s->name, sizeof sec.name);
		snprintf(what, sizeof what, "section %u", s->section);
		if ((rc = onsale_section_load(c->conn, &sec, &res)) != ST_OK)
			return ctl_result(c, rc, what);
	}
	return 0;
}

static void summary(const struct ctl *c, const struct vfile *v, const char *verb)
{
	unsigned tiers = 0;
	uint64_t ga = 0;

	for (unsigned t = 0; t < TIERS_MAX; t++) {
		tiers += v->tier_mask >> t & 1;
		if (v->tier_mask >> t & 1 && v->tiers[t].kind == TIER_GA)
			ga += v->tiers[t].capacity;
	}
	printf("%s event %" PRIu32 " \"%s\" from %s: %u tiers, %u sections, %" PRIu32
	       " seats, %" PRIu64 " GA units, %u presale codes, state %s\n",
	       verb, v->event.event_id, v->event.name, c->args[0], tiers, v->section_count,
	       v->seat_count, ga, v->code_count, vfile_state_name(v->event.state));
}

static int event_create(struct ctl *c)
{
	struct vfile *v = vfile_new();
	struct cmd_event ev;
	struct result res;
	int rc;

	if (!v)
		return fprintf(stderr, "onsale-ctl: out of memory\n"), CTL_EXIT_IO;
	rc = load_venue(c, v);
	if (rc || ctl_opt(c, "dry-run")) {
		if (!rc)
			summary(c, v, "checked");
		return vfile_free(v), rc;
	}
	if ((rc = ctl_connect(c)) != 0)
		return vfile_free(v), rc;
	ev = v->event;
	ev.state = EVENT_DRAFT;
	rc = onsale_event_create(c->conn, &ev, &res);
	rc = rc != ST_OK ? ctl_result(c, rc, "event") : send_tiers_and_codes(c, v);
	if (!rc)
		rc = send_sections(c, v);
	if (!rc && v->event.state != EVENT_DRAFT) {
		rc = onsale_event_update(c->conn, &v->event, &res);
		rc = ctl_result(c, rc, "state");
	}
	if (!rc)
		summary(c, v, "created");
	vfile_free(v);
	return rc;
}

static const struct ctl_opt create_opts[] = {
	{"event", "ID", "event id instead of the file's"},
	{"state", "STATE", "state instead of the file's (draft, on_sale, paused, closed)"},
	{"dry-run", NULL, "check the file and print what it holds; send nothing"},
	{NULL, NULL, NULL},
};

static int event_arg(const struct ctl *c, unsigned i, uint32_t *id)
{
	uint64_t x;

	if (ctl_u64(c->args[i], "event", 1, UINT32_MAX, &x))
		return CTL_EXIT_USAGE;
	*id = (uint32_t)x;
	return 0;
}

static int update_time(struct ctl *c, const char *opt, uint64_t *dst)
{
	const char *s = ctl_opt(c, opt);

	if (s && vfile_time(s, ctl_wall_ms(), dst))
		return ctl_usage_error(c, "--%s %s: 2027-06-01T20:00:00Z, now, now+7d or @MS", opt,
				       s);
	return 0;
}

/* The options of event update over the event as the server has it. */
static int update_fields(struct ctl *c, struct cmd_event *e)
{
	const char *s;
	uint64_t x;

	if ((s = ctl_opt(c, "state")) && vfile_state(s) < 0)
		return ctl_usage_error(c, "--state %s: draft, on_sale, paused or closed", s);
	if (s)
		e->state = (uint8_t)vfile_state(s);
	if ((s = ctl_opt(c, "limit"))) {
		if (ctl_u64(s, "--limit", 0, CUSTOMER_LIMIT_MAX, &x))
			return CTL_EXIT_USAGE;
		e->customer_limit = (uint16_t)x;
	}
	if ((s = ctl_opt(c, "hold-ttl"))) {
		if (ctl_duration(s, "--hold-ttl", &x))
			return CTL_EXIT_USAGE;
		e->hold_ttl_ms = (uint32_t)(x > UINT32_MAX ? UINT32_MAX : x);
	}
	if ((s = ctl_opt(c, "name")) && strlen(s) >= sizeof e->name)
		return ctl_usage_error(c, "--name: at most %zu bytes", sizeof e->name - 1);
	if (s)
		strcpy(e->name, s);
	if (update_time(c, "starts", &e->starts_at_ms) ||
	    update_time(c, "presale", &e->presale_start_ms) ||
	    update_time(c, "public", &e->public_start_ms) ||
	    update_time(c, "end", &e->sales_end_ms))
		return CTL_EXIT_USAGE;
	return 0;
}

/* The event the first argument names, connected and looked up: 0, or
 * the exit status (the message is printed). */
static int event_fetch(struct ctl *c, uint32_t *id, struct result *res)
{
	int rc;

	if (event_arg(c, 0, id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_query_event(c->conn, *id, res);
	return rc == ST_OK ? 0 : ctl_result(c, rc, "event");
}

static int event_update(struct ctl *c)
{
	struct result res;
	struct cmd_event e;
	uint32_t id;
	int rc;

	if ((rc = event_fetch(c, &id, &res)) != 0)
		return rc;
	e = res.event.event;
	if ((rc = update_fields(c, &e)) != 0)
		return rc;
	rc = onsale_event_update(c->conn, &e, &res);
	if (rc == ST_OK)
		printf("event %" PRIu32 " updated: state %s\n", id, vfile_state_name(e.state));
	return ctl_result(c, rc, "update");
}

static void show_json(const struct event_view *ev, const struct availability_view *av)
{
	struct ctl_json j = {.out = stdout};
	const struct cmd_event *e = &ev->event;

	cj_open(&j, NULL, '{');
	cj_u64(&j, "event_id", e->event_id);
	cj_str(&j, "name", e->name);
	cj_str(&j, "venue", e->venue);
	cj_str(&j, "state", vfile_state_name(e->state));
	cj_u64(&j, "customer_limit", e->customer_limit);
	cj_u64(&j, "hold_ttl_ms", e->hold_ttl_ms);
	cj_u64(&j, "units_max", e->units_max);
	cj_u64(&j, "starts_at_ms", e->starts_at_ms);
	cj_u64(&j, "presale_start_ms", e->presale_start_ms);
	cj_u64(&j, "public_start_ms", e->public_start_ms);
	cj_u64(&j, "sales_end_ms", e->sales_end_ms);
	cj_u64(&j, "units_placed", ev->units_placed);
	cj_u64(&j, "seat_count", ev->seat_count);
	cj_u64(&j, "section_count", ev->section_count);
	cj_u64(&j, "live_holds", ev->live_holds);
	cj_u64(&j, "tickets_issued", ev->tickets_issued);
	cj_bool(&j, "retired", ev->retired);
	cj_open(&j, "tiers", '[');
	for (unsigned t = 0; av && t < av->tier_count; t++) {
		const struct tier_view *v = &av->tiers[t];
		if (!v->defined)
			continue;
		cj_tier(&j, t, v);
	}
	cj_close(&j, ']');
	cj_close(&j, '}');
}

static void show_text(const struct event_view *ev, const struct availability_view *av)
{
	const struct cmd_event *e = &ev->event;
	char a[32], b[32], d[32], m[32];

	printf("event %" PRIu32 " \"%s\" at \"%s\"%s\n  state %s, limit %u per customer, "
	       "holds last %" PRIu32 " ms\n",
	       e->event_id, e->name, e->venue, ev->retired ? " (retired)" : "",
	       vfile_state_name(e->state), e->customer_limit, e->hold_ttl_ms);
	printf("  presale %s, public %s, sales end %s, show %s\n",
	       ctl_fmt_time(a, sizeof a, e->presale_start_ms),
	       ctl_fmt_time(b, sizeof b, e->public_start_ms),
	       ctl_fmt_time(d, sizeof d, e->sales_end_ms),
	       ctl_fmt_time(m, sizeof m, e->starts_at_ms));
	printf("  %u sections, %" PRIu32 " seats, %" PRIu32 " of %" PRIu32 " units placed, "
	       "%" PRIu32 " live holds, %" PRIu32 " tickets issued\n",
	       ev->section_count, ev->seat_count, ev->units_placed, e->units_max, ev->live_holds,
	       ev->tickets_issued);
	printf("  %4s %-8s %9s %9s %8s %8s %8s %8s %10s\n", "tier", "kind", "price", "capacity",
	       "free", "held", "sold", "killed", "low_stock");
	for (unsigned t = 0; av && t < av->tier_count; t++) {
		const struct tier_view *v = &av->tiers[t];
		if (v->defined)
			printf("  %4u %-8s %9s %9" PRIu32 " %8" PRIu32 " %8" PRIu32 " %8" PRIu32
			       " %8" PRIu32 " %6" PRIu32 "%s\n",
			       t, v->kind == TIER_GA ? "ga" : "reserved",
			       ctl_fmt_money(a, sizeof a, v->price_minor), v->capacity, v->free,
			       v->held, v->sold, v->killed, v->low_stock_threshold,
			       v->low_stock ? " LOW" : "");
	}
}

static int event_show(struct ctl *c)
{
	static struct result ev, av;
	uint32_t id;
	int rc;

	if ((rc = event_fetch(c, &id, &ev)) != 0)
		return rc;
	rc = onsale_query_availability(c->conn, id, &av);
	if (rc != ST_OK)
		return ctl_result(c, rc, "availability");
	if (c->json)
		show_json(&ev.event, &av.avail);
	else
		show_text(&ev.event, &av.avail);
	return 0;
}

static int event_retire(struct ctl *c)
{
	struct result res;
	uint32_t id;
	int rc;

	if (event_arg(c, 0, &id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_event_retire(c->conn, id, &res);
	if (rc == ST_OK)
		printf("event %" PRIu32 " retired%s\n", id, res.replayed ? " (already)" : "");
	return ctl_result(c, rc, "retire");
}

static int tier_fields(struct ctl *c, struct cmd_tier *t)
{
	const char *ga = ctl_opt(c, "ga"), *name = ctl_opt(c, "name"), *low = ctl_opt(c, "low");
	uint64_t x;

	if (!!ga == !!ctl_opt(c, "reserved"))
		return ctl_usage_error(c, "give --ga CAPACITY or --reserved");
	if (!ctl_opt(c, "price"))
		return ctl_usage_error(c, "--price is needed");
	if (ctl_money(ctl_opt(c, "price"), "--price", &t->price_minor))
		return CTL_EXIT_USAGE;
	t->kind = ga ? TIER_GA : TIER_RESERVED;
	if (ga && ctl_u64(ga, "--ga", 1, EVENT_UNITS_MAX, &x))
		return CTL_EXIT_USAGE;
	t->capacity = ga ? (uint32_t)x : 0;
	if (low && ctl_u64(low, "--low", 0, UINT32_MAX, &x))
		return CTL_EXIT_USAGE;
	t->low_stock_threshold = low ? (uint32_t)x : 0;
	if (name && strlen(name) >= sizeof t->name)
		return ctl_usage_error(c, "--name: at most %zu bytes", sizeof t->name - 1);
	snprintf(t->name, sizeof t->name, "%s", name ? name : "");
	return 0;
}

static int tier_add(struct ctl *c)
{
	struct cmd_tier t = {0};
	struct result res;
	uint64_t x;
	int rc;

	if (event_arg(c, 0, &t.event_id) || ctl_u64(c->args[1], "tier", 0, TIERS_MAX - 1, &x))
		return CTL_EXIT_USAGE;
	t.tier = (uint8_t)x;
	if ((rc = tier_fields(c, &t)) != 0 || (rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_tier_add(c->conn, &t, &res);
	if (rc == ST_OK)
		printf("tier %u added to event %" PRIu32 "\n", t.tier, t.event_id);
	return ctl_result(c, rc, "tier");
}

static int code_add(struct ctl *c)
{
	const char *code = c->args[1], *uses = ctl_opt(c, "uses");
	struct result res;
	uint32_t id;
	uint64_t n = 0;
	int rc;

	if (event_arg(c, 0, &id) || (uses && ctl_u64(uses, "--uses", 0, UINT32_MAX, &n)))
		return CTL_EXIT_USAGE;
	if (strlen(code) < 1 || strlen(code) > PRESALE_CODE_BYTES_MAX)
		return ctl_usage_error(c, "a presale code is 1 to %u bytes",
				       PRESALE_CODE_BYTES_MAX);
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	rc = onsale_presale_code_add(c->conn, id, code, (uint8_t)strlen(code), (uint32_t)n, &res);
	if (rc == ST_OK)
		printf("presale code added to event %" PRIu32 "\n", id);
	return ctl_result(c, rc, "code");
}

static const struct ctl_opt update_opts[] = {
	{"state", "STATE", "draft, on_sale, paused or closed"},
	{"presale", "TIME", "presale start: 2027-06-01T10:00:00Z, now, now+1d, @MS"},
	{"public", "TIME", "public sale start"},
	{"end", "TIME", "sales end"},
	{"starts", "TIME", "the show"},
	{"limit", "N", "tickets per customer, held + owned (0: none)"},
	{"hold-ttl", "DURATION", "how long a hold lasts: 10m, 90s"},
	{"name", "NAME", "the event's name"},
	{NULL, NULL, NULL},
};

static const struct ctl_opt tier_opts[] = {
	{"ga", "CAPACITY", "a general-admission tier of CAPACITY units"},
	{"reserved", NULL, "a reserved tier (its seats come with sections)"},
	{"price", "PRICE", "price per unit: 89 or 89.50"},
	{"low", "N", "low-stock alert below N free units (0: none)"},
	{"name", "NAME", "the tier's name"},
	{NULL, NULL, NULL},
};

static const struct ctl_opt code_opts[] = {
	{"uses", "N", "live or confirmed holds the code may have at once (0: unlimited)"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_event_cmds[] = {
	{"event create", "VENUE_FILE", 1, 1, ONSALE_ROLE_ADMIN, 0,
	 "Creates the event a venue file describes (format in docs/CTL.md): the event as a\n"
	 "draft, its tiers, presale codes and seat-map sections, then the file's state.",
	 create_opts, event_create},
	{"event update", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 0,
	 "Changes an event's state, windows, limit or hold time; what is not given stays.\n"
	 "Tier prices are fixed once added (the protocol has no tier update).",
	 update_opts, event_update},
	{"event show", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 1,
	 "Prints an event: state, windows, limits, and every tier's availability.", NULL,
	 event_show},
	{"event retire", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 0,
	 "Frees a closed event's tables on the server, keeping its final statistics.", NULL,
	 event_retire},
	{"tier add", "EVENT TIER", 2, 2, ONSALE_ROLE_ADMIN, 0,
	 "Adds a price tier to an event: general admission with a capacity, or reserved.",
	 tier_opts, tier_add},
	{"code add", "EVENT CODE", 2, 2, ONSALE_ROLE_ADMIN, 0,
	 "Adds a presale access code: holds before the public start must give one.", code_opts,
	 code_add},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
