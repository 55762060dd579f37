/*
 * seatmap_svg.c — the seat map's SVG. One seat is one circle, PITCH_PX
 * apart, with class s0..s3 (its state) and "a" when accessible, so the
 * file stays small (a 20,000-seat arena is ~1 MB) and a test can count
 * seats by class. Sections are groups translated and rotated as the venue
 * file says; those it does not place go on a grid below the others.
 */
#include "tools/ctl/seatmap_svg.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#define PITCH_PX 10.0
#define SEAT_R_PX 4.0
#define MARGIN_PX 30.0
#define TITLE_PX 40.0
#define LEGEND_PX 40.0
#define GRID_GAP_SEATS 4

struct place {
	double x, y, deg; /* px; the section's top left and rotation */
};

struct bbox {
	double x0, y0, x1, y1;
};

static void grow(struct bbox *b, double x, double y)
{
	b->x0 = fmin(b->x0, x), b->y0 = fmin(b->y0, y);
	b->x1 = fmax(b->x1, x), b->y1 = fmax(b->y1, y);
}

static double section_h(const struct vfile_section *s)
{
	return (s->row_count + 1) * PITCH_PX;
}

static void grow_section(struct bbox *b, const struct vfile_section *s, const struct place *p)
{
	double w = s->width_seats * PITCH_PX, h = section_h(s), r = p->deg * M_PI / 180.0;
	double cx[4] = {0, w, 0, w}, cy[4] = {0, 0, h, h};

	for (int k = 0; k < 4; k++)
		grow(b, p->x + cx[k] * cos(r) - cy[k] * sin(r),
		     p->y + cx[k] * sin(r) + cy[k] * cos(r));
}

/* Places every drawn section; returns the bounding box of everything. */
static struct bbox layout(const struct seatmap *m, struct place *pl, unsigned drawn)
{
	const struct vfile *v = m->v;
	struct bbox b = {1e18, 1e18, -1e18, -1e18};
	unsigned cols = (unsigned)ceil(sqrt((double)drawn)), k = 0;
	double cell_w = 0, cell_h = 0, top;

	for (unsigned i = 0; i < v->section_count; i++) {
		const struct vfile_section *s = &v->sections[i];
		if (!m->drawn[i])
			continue;
		cell_w = fmax(cell_w, (s->width_seats + GRID_GAP_SEATS) * PITCH_PX);
		cell_h = fmax(cell_h, section_h(s) + GRID_GAP_SEATS * PITCH_PX);
		pl[i] = (struct place){s->x * PITCH_PX, s->y * PITCH_PX, s->rotate_deg};
		if (drawn == 1)
			pl[i] = (struct place){0, 0, 0};
		if (s->placed || drawn == 1)
			grow_section(&b, s, &pl[i]);
	}
	if (drawn > 1 && v->stage[2])
		grow(&b, v->stage[0] * PITCH_PX, v->stage[1] * PITCH_PX),
			grow(&b, (v->stage[0] + v->stage[2]) * PITCH_PX,
			     (v->stage[1] + v->stage[3]) * PITCH_PX);
	for (unsigned t = 0; drawn > 1 && m->ga && t < TIERS_MAX; t++) {
		const struct vfile_area *a = &v->areas[t];
		if (v->tier_mask >> t & 1 && a->placed)
			grow(&b, a->x * PITCH_PX, a->y * PITCH_PX),
				grow(&b, (a->x + a->w) * PITCH_PX, (a->y + a->h) * PITCH_PX);
	}
	top = b.y1 > b.y0 ? b.y1 + GRID_GAP_SEATS * PITCH_PX : 0;
	for (unsigned i = 0; i < v->section_count; i++) {
		if (!m->drawn[i] || v->sections[i].placed || drawn == 1)
			continue;
		pl[i] = (struct place){(k % cols) * cell_w, top + (k / cols) * cell_h, 0};
		grow_section(&b, &v->sections[i], &pl[i]);
		k++;
	}
	return b;
}

static void text_escaped(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else if (*s == '"')
			fputs("&quot;", out);
		else
			fputc(*s, out);
	}
}

/* One section's group; counts[state] grows by its seats. */
static void section(const struct seatmap *m, unsigned i, const struct place *p, FILE *out,
		    uint32_t counts[4])
{
	const struct vfile *v = m->v;
	const struct vfile_section *s = &v->sections[i];
	uint32_t seat = s->seat_first;

	fprintf(out,
		"<g class=\"section\" id=\"section-%u\" transform=\"translate(%.1f %.1f) "
		"rotate(%.1f)\">\n<text class=\"sl\" x=\"%.1f\" y=\"%.1f\">",
		s->section, p->x, p->y, p->deg, s->width_seats * PITCH_PX / 2, PITCH_PX * 0.7);
	text_escaped(out, s->name);
	fputs("</text>\n", out);
	for (unsigned r = 0; r < s->row_count; r++) {
		const struct row_spec *row = &v->rows[s->row_first + r];
		double x0 = (s->width_seats - row->seat_count) / 2.0 * PITCH_PX;
		double y = (r + 1.5) * PITCH_PX;

		fprintf(out, "<text class=\"rl\" x=\"%.1f\" y=\"%.1f\">", x0 - 2, y + 2);
		text_escaped(out, row->label);
		fputs("</text>\n", out);
		for (unsigned k = 0; k < row->seat_count; k++, seat++) {
			unsigned st = m->states[seat] & 3;

			counts[st]++;
			fprintf(out,
				"<circle class=\"s%u%s\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>\n",
				st, v->seats[seat].flags & SEAT_ACCESSIBLE ? " a" : "",
				x0 + (k + 0.5) * PITCH_PX, y, SEAT_R_PX);
		}
	}
	fputs("</g>\n", out);
}

static void areas(const struct seatmap *m, FILE *out)
{
	const struct vfile *v = m->v;

	if (v->stage[2])
		fprintf(out,
			"<rect class=\"stage\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"/>\n<text class=\"al\" fill=\"#fff\" x=\"%.1f\" y=\"%.1f\">"
			"STAGE</text>\n",
			v->stage[0] * PITCH_PX, v->stage[1] * PITCH_PX, v->stage[2] * PITCH_PX,
			v->stage[3] * PITCH_PX, (v->stage[0] + v->stage[2] / 2.0) * PITCH_PX,
			(v->stage[1] + v->stage[3] / 2.0) * PITCH_PX + 5);
	for (unsigned t = 0; m->ga && t < TIERS_MAX; t++) {
		const struct vfile_area *a = &v->areas[t];
		const struct seatmap_ga *g = &m->ga[t];

		if (!(v->tier_mask >> t & 1) || !a->placed)
			continue;
		fprintf(out,
			"<rect class=\"ga\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n"
			"<text class=\"al\" x=\"%.1f\" y=\"%.1f\">",
			a->x * PITCH_PX, a->y * PITCH_PX, a->w * PITCH_PX, a->h * PITCH_PX,
			(a->x + a->w / 2.0) * PITCH_PX, (a->y + a->h / 2.0) * PITCH_PX);
		text_escaped(out, v->tiers[t].name);
		fprintf(out, " (GA): %u free, %u held, %u sold</text>\n", g->free, g->held,
			g->sold);
	}
}

/* k scales the legend with the map, so it stays legible on a stadium. */
static void legend(FILE *out, double x, double y, double k, const uint32_t counts[4])
{
	static const char *const names[4] = {"free", "held", "sold", "killed"};

	for (unsigned st = 0; st < 4; st++) {
		fprintf(out,
			"<circle class=\"s%u\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>"
			"<text class=\"lg\" font-size=\"%.0f\" x=\"%.1f\" y=\"%.1f\">%s %u</text>\n",
			st, x + st * 150.0 * k, y, 7 * k, 14 * k, x + (st * 150.0 + 12) * k,
			y + 5 * k, names[st], counts[st]);
	}
	fprintf(out,
		"<circle class=\"s0 a\" cx=\"%.1f\" cy=\"%.1f\" r=\"%.1f\"/>"
		"<text class=\"lg\" font-size=\"%.0f\" x=\"%.1f\" y=\"%.1f\">accessible (ring)</text>\n",
		x + 600.0 * k, y, 7 * k, 14 * k, x + 612.0 * k, y + 5 * k);
}

static void head(FILE *out, const struct bbox *b, double w, double h)
{
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		"viewBox=\"%.1f %.1f %.1f %.1f\">\n<style>\n"
		".s0{fill:" SEATMAP_FREE_RGB "}.s1{fill:" SEATMAP_HELD_RGB "}"
		".s2{fill:" SEATMAP_SOLD_RGB "}.s3{fill:" SEATMAP_KILLED_RGB "}\n"
		".a{stroke:" SEATMAP_ACCESSIBLE_RGB ";stroke-width:2}\n"
		"text{font-family:DejaVu Sans,Arial,sans-serif}.sl{font-size:12px;text-anchor:middle;"
		"font-weight:bold}.rl{font-size:6px;text-anchor:end;fill:#777}"
		".al{font-size:22px;text-anchor:middle}.tt{"
		"font-weight:bold}\n.stage{fill:#222}.ga{fill:#e8f1e4;stroke:#9bbf8f}\n</style>\n"
		"<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#fff\"/>\n",
		w, h, b->x0, b->y0, w, h, b->x0, b->y0, w, h);
}

int seatmap_svg(const struct seatmap *m, FILE *out)
{
	static struct place pl[SECTIONS_MAX];
	const struct vfile *v = m->v;
	uint32_t counts[4] = {0};
	unsigned drawn = 0;
	struct bbox b;
	double k;

	for (unsigned i = 0; i < v->section_count; i++)
		drawn += m->drawn[i] != 0;
	b = layout(m, pl, drawn);
	if (b.x1 < b.x0)
		b = (struct bbox){0, 0, 400, 100};
	k = fmax(1.0, (b.x1 - b.x0) / 1200.0);
	b.x0 -= MARGIN_PX * k, b.y0 -= (MARGIN_PX + TITLE_PX) * k;
	b.x1 = fmax(b.x1 + MARGIN_PX * k, b.x0 + 800.0), b.y1 += (MARGIN_PX + LEGEND_PX) * k;
	head(out, &b, b.x1 - b.x0, b.y1 - b.y0);
	fprintf(out, "<text class=\"tt\" font-size=\"%.0f\" x=\"%.1f\" y=\"%.1f\">", 20 * k,
		b.x0 + MARGIN_PX * k, b.y0 + MARGIN_PX * k);
	text_escaped(out, m->title);
	fputs("</text>\n", out);
	if (drawn > 1)
		areas(m, out);
	for (unsigned i = 0; i < v->section_count; i++)
		if (m->drawn[i])
			section(m, i, &pl[i], out, counts);
	legend(out, b.x0 + MARGIN_PX * k, b.y1 - MARGIN_PX * k, k, counts);
	fputs("</svg>\n", out);
	return ferror(out) ? -EIO : 0;
}
