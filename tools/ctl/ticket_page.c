/*
 * ticket_page.c — the printable ticket. Units are millimetres (the SVG's
 * width and height say 148mm x 105mm, so it prints at size); the QR code
 * takes 50 mm on the right, 1 mm a module at version 8 with its quiet
 * zone, well above what gate scanners need.
 */
#include "tools/ctl/ticket_page.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>

#define PAGE_W_MM 148
#define PAGE_H_MM 105
#define QR_MM 50.0

static void text(FILE *out, double x, double y, double size_mm, const char *weight, const char *s)
{
	fprintf(out, "<text x=\"%.1f\" y=\"%.1f\" font-size=\"%.1f\" font-weight=\"%s\">", x, y,
		size_mm, weight);
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", out);
		else if (*s == '<')
			fputs("&lt;", out);
		else if (*s == '>')
			fputs("&gt;", out);
		else
			fputc(*s, out);
	}
	fputs("</text>\n", out);
}

static void when(char *buf, size_t size, uint64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (!ms || !gmtime_r(&t, &tm) || !strftime(buf, size, "%a %d %b %Y, %H:%M UTC", &tm))
		snprintf(buf, size, "%s", "");
}

static void details(const struct ticket_page *p, FILE *out)
{
	const struct ticket_view *t = p->ticket;
	char line[160], date[64];

	when(date, sizeof date, p->starts_at_ms);
	text(out, 8, 16, 7, "bold", p->event_name);
	text(out, 8, 24, 4.2, "normal", p->venue_name);
	text(out, 8, 30, 4.2, "normal", date);
	if (p->seat_name[0])
		text(out, 8, 46, 5.5, "bold", p->seat_name);
	else if (t->seat == SEAT_NONE)
		text(out, 8, 46, 5.5, "bold", "General admission");
	else
		snprintf(line, sizeof line, "Seat %" PRIu32, t->seat),
			text(out, 8, 46, 5.5, "bold", line);
	snprintf(line, sizeof line, "%s%stier %u, %" PRIu64 ".%02u", p->tier_name,
		 p->tier_name[0] ? ", " : "", t->tier, t->price_minor / 100,
		 (unsigned)(t->price_minor % 100));
	text(out, 8, 54, 4.2, "normal", line);
	snprintf(line, sizeof line, "ticket %" PRIu64, t->ticket_id);
	text(out, 8, 68, 3.5, "normal", line);
	snprintf(line, sizeof line, "order %" PRIu64 ", event %" PRIu32, t->order_id, t->event_id);
	text(out, 8, 73, 3.5, "normal", line);
}

int ticket_page_svg(const struct ticket_page *p, FILE *out)
{
	double unit = QR_MM / (p->qr->width + 2 * QR_QUIET_MODULES);
	size_t half = strlen(p->token) / 2;
	char a[80], b[80];

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%dmm\" height=\"%dmm\" "
		"viewBox=\"0 0 %d %d\">\n<style>text{font-family:DejaVu Sans,Arial,sans-serif;"
		"fill:#111}.tok text{font-family:DejaVu Sans Mono,monospace}</style>\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n"
		"<rect x=\"2\" y=\"2\" width=\"%d\" height=\"%d\" rx=\"4\" fill=\"none\" "
		"stroke=\"#1565c0\" stroke-width=\"0.8\"/>\n",
		PAGE_W_MM, PAGE_H_MM, PAGE_W_MM, PAGE_H_MM, PAGE_W_MM, PAGE_H_MM, PAGE_W_MM - 4,
		PAGE_H_MM - 4);
	details(p, out);
	qr_svg_path(p->qr, PAGE_W_MM - QR_MM - 6, 10, unit, out);
	text(out, PAGE_W_MM - QR_MM + 5, 66, 3, "normal", "scan at the gate");
	snprintf(a, sizeof a, "%.*s", (int)half, p->token);
	snprintf(b, sizeof b, "%s", p->token + half);
	fprintf(out, "<g class=\"tok\">\n");
	text(out, 8, 88, 2.6, "normal", a);
	text(out, 8, 92, 2.6, "normal", b);
	fprintf(out, "</g>\n</svg>\n");
	return ferror(out) ? -EIO : 0;
}
