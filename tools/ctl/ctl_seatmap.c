/*
 * ctl_seatmap.c — seatmap: the live state of every seat of a section or
 * of the whole venue (Q_SECTION_SEATS, one request per section) drawn over
 * the venue file's rows as SVG (seatmap_svg.c), or counted as JSON.
 *
 * The server keeps seat states, not the rows' shape or flags, so the
 * venue file the event was created from gives those; a section whose seat
 * count differs on the server is refused (exit 5): the file is not the
 * event's.
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "tools/ctl/seatmap_svg.h"
#include "tools/ctl/vfile.h"

static uint8_t states[SEATS_MAX];
static uint8_t drawn[SECTIONS_MAX];
static struct seatmap_ga ga[TIERS_MAX];

static int fetch(struct ctl *c, const struct vfile *v, uint32_t ev)
{
	static struct onsale_seat_states st;
	char what[64];

	for (unsigned i = 0; i < v->section_count; i++) {
		const struct vfile_section *s = &v->sections[i];
		int rc;

		if (!drawn[i])
			continue;
		snprintf(what, sizeof what, "section %u", s->section);
		rc = onsale_query_section_seats(c->conn, ev, s->section, &st);
		if (rc != ST_OK)
			return ctl_result(c, rc, what);
		if (st.seat_count != s->seat_count) {
			fprintf(stderr,
				"onsale-ctl seatmap: section %u has %" PRIu32
				" seats on the server, "
				"%" PRIu32 " in %s: not this event's venue file\n",
				s->section, st.seat_count, s->seat_count, c->args[1]);
			return CTL_EXIT_MISMATCH;
		}
		memcpy(&states[s->seat_first], st.states, s->seat_count);
	}
	return 0;
}

static int fetch_ga(struct ctl *c, uint32_t ev)
{
	static struct result res;
	int rc = onsale_query_availability(c->conn, ev, &res);

	if (rc != ST_OK)
		return ctl_result(c, rc, "availability");
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		ga[t] = (struct seatmap_ga){v->free, v->held, v->sold};
	}
	return 0;
}

static void counts_json(const struct vfile *v)
{
	struct ctl_json j = {.out = stdout};

	cj_open(&j, NULL, '{');
	cj_u64(&j, "event_id", v->event.event_id);
	cj_open(&j, "sections", '[');
	for (unsigned i = 0; i < v->section_count; i++) {
		const struct vfile_section *s = &v->sections[i];
		uint32_t n[4] = {0};

		if (!drawn[i])
			continue;
		for (uint32_t k = 0; k < s->seat_count; k++)
			n[states[s->seat_first + k] & 3]++;
		cj_open(&j, NULL, '{');
		cj_u64(&j, "section", s->section);
		cj_str(&j, "name", s->name);
		cj_u64(&j, "seats", s->seat_count);
		for (unsigned st = 0; st < 4; st++)
			cj_u64(&j, ctl_seat_state_name(st), n[st]);
		cj_close(&j, '}');
	}
	cj_close(&j, ']');
	cj_close(&j, '}');
}

static int choose(struct ctl *c, const struct vfile *v)
{
	const char *only = ctl_opt(c, "section");
	uint64_t sec;

	memset(drawn, !only, sizeof drawn);
	if (!only)
		return 0;
	if (ctl_u64(only, "--section", 0, SECTIONS_MAX - 1, &sec))
		return CTL_EXIT_USAGE;
	for (unsigned i = 0; i < v->section_count; i++)
		if (v->sections[i].section == sec)
			return drawn[i] = 1, 0;
	return ctl_usage_error(c, "%s has no section %" PRIu64, c->args[1], sec);
}

static int write_svg(struct ctl *c, const struct vfile *v, uint32_t ev)
{
	const char *path = ctl_opt(c, "out");
	char title[160];
	FILE *out = path ? fopen(path, "w") : stdout;
	int rc;

	if (!out) {
		fprintf(stderr, "onsale-ctl seatmap: %s: %s\n", path, strerror(errno));
		return CTL_EXIT_IO;
	}
	const struct vfile_section *one = NULL;

	for (unsigned i = 0; ctl_opt(c, "section") && i < v->section_count; i++)
		one = drawn[i] ? &v->sections[i] : one;
	snprintf(title, sizeof title, "%s, event %" PRIu32 ": %s", v->event.name, ev,
		 one ? one->name : "the whole venue");
	rc = seatmap_svg(&(struct seatmap){v, states, drawn, ga, title}, out);
	if ((path && fclose(out)) || rc) {
		fprintf(stderr, "onsale-ctl seatmap: %s: write failed\n", path ? path : "stdout");
		return CTL_EXIT_IO;
	}
	return 0;
}

static int seatmap(struct ctl *c)
{
	static char err[VFILE_ERR_BYTES];
	struct vfile *v = vfile_new();
	uint64_t ev;
	int rc;

	if (!v)
		return CTL_EXIT_IO;
	if (ctl_u64(c->args[0], "event", 1, UINT32_MAX, &ev))
		return vfile_free(v), CTL_EXIT_USAGE;
	rc = vfile_load(v, c->args[1], ctl_wall_ms(), err, sizeof err);
	if (rc)
		fprintf(stderr, "onsale-ctl seatmap: %s\n", err);
	rc = rc == -EINVAL ? CTL_EXIT_USAGE : rc ? CTL_EXIT_IO : choose(c, v);
	if (!rc)
		rc = ctl_connect(c);
	if (!rc)
		rc = fetch(c, v, (uint32_t)ev);
	if (!rc)
		rc = fetch_ga(c, (uint32_t)ev);
	if (!rc && c->json)
		counts_json(v);
	else if (!rc)
		rc = write_svg(c, v, (uint32_t)ev);
	vfile_free(v);
	return rc;
}

static const struct ctl_opt seatmap_opts[] = {
	{"section", "N", "only section N (default: the whole venue)"},
	{"out", "FILE", "write the SVG to FILE (default: standard output)"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_seatmap_cmds[] = {
	{"seatmap", "EVENT VENUE_FILE", 2, 2, ONSALE_ROLE_ADMIN, 1,
	 "Draws the seat map as SVG: every seat coloured by its state now (free, held,\n"
	 "sold, killed), accessible seats ringed, with a legend. VENUE_FILE is the file the\n"
	 "event was created from (the server keeps states, the file the rows' shape).\n"
	 "--json prints the counts per section instead.",
	 seatmap_opts, seatmap},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
