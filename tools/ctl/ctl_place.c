/*
 * ctl_place.c — seats by the names people use: "Section 105 row A seat 12"
 * to the server's seat number and back, with the venue file the event was
 * created from (--venue FILE).
 *
 * The server numbers a section's seats first_seat + i, row after row, and
 * first_seat carries the owning shard, so it is asked for (Q_SECTION_SEATS,
 * once per section, kept for the run) rather than computed; the file gives
 * the rows. A place is SECTION:ROW:SEATS, the section by its name, the
 * last word of its name ("105") or its index, the seats a number or a
 * range: "105:A:12-13".
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl/vfile.h"

static struct vfile *venue;
static uint32_t first_seat[SECTIONS_MAX]; /* by venue section index; SEAT_NONE: not asked yet */

const struct vfile *ctl_venue(void)
{
	return venue;
}

int ctl_venue_open(struct ctl *c)
{
	static char err[VFILE_ERR_BYTES];
	const char *path = ctl_opt(c, "venue");
	int rc;

	if (!path || venue)
		return 0;
	venue = vfile_new();
	if (!venue)
		return CTL_EXIT_IO;
	rc = vfile_load(venue, path, ctl_wall_ms(), err, sizeof err);
	if (rc) {
		fprintf(stderr, "onsale-ctl %s: %s\n", c->cmd->words, err);
		vfile_free(venue);
		venue = NULL;
		return rc == -EINVAL ? CTL_EXIT_USAGE : CTL_EXIT_IO;
	}
	memset(first_seat, 0xff, sizeof first_seat);
	return 0;
}

static int section_first(struct ctl *c, uint32_t ev, unsigned i, uint32_t *first)
{
	static struct onsale_seat_states st;
	int rc;

	if (first_seat[i] == SEAT_NONE) {
		rc = onsale_query_section_seats(c->conn, ev, venue->sections[i].section, &st);
		if (rc != ST_OK)
			return ctl_result(c, rc, "section");
		if (st.seat_count != venue->sections[i].seat_count) {
			fprintf(stderr,
				"onsale-ctl %s: %s has %" PRIu32 " seats on the server, %" PRIu32
				" in the venue file: not this event's\n",
				c->cmd->words, venue->sections[i].name, st.seat_count,
				venue->sections[i].seat_count);
			return CTL_EXIT_MISMATCH;
		}
		first_seat[i] = st.first_seat;
	}
	*first = first_seat[i];
	return 0;
}

static int find_section(const char *name, size_t len)
{
	char *end;
	unsigned long idx = strtoul(name, &end, 10);

	for (unsigned i = 0; i < venue->section_count; i++) {
		const char *n = venue->sections[i].name, *last = strrchr(n, ' ');

		if ((strlen(n) == len && !strncmp(n, name, len)) ||
		    (last && strlen(last + 1) == len && !strncmp(last + 1, name, len)))
			return (int)i;
	}
	for (unsigned i = 0; end == name + len && i < venue->section_count; i++)
		if (venue->sections[i].section == idx)
			return (int)i;
	return -1;
}

/* The offset in its section of row label's seat number, or -1. */
static long seat_offset(const struct vfile_section *s, const char *label, size_t len,
			unsigned long number)
{
	long off = 0;

	for (unsigned r = 0; r < s->row_count; r++) {
		const struct row_spec *row = &venue->rows[s->row_first + r];

		if (strlen(row->label) == len && !strncmp(row->label, label, len)) {
			if (number < row->first_number ||
			    number >= row->first_number + row->seat_count)
				return -1;
			return off + (long)(number - row->first_number);
		}
		off += row->seat_count;
	}
	return -1;
}

int ctl_place_seats(struct ctl *c, uint32_t ev, const char *spec, uint32_t *seats, unsigned max,
		    unsigned *count)
{
	const char *row = strchr(spec, ':'), *nums = row ? strchr(row + 1, ':') : NULL;
	unsigned long a, b;
	uint32_t first;
	char *end;
	int i, rc;

	if (!venue)
		return ctl_usage_error(c, "--place needs --venue FILE (the event's venue file)");
	if (!nums || nums == row + 1)
		return ctl_usage_error(c, "--place %s: SECTION:ROW:SEATS, like 105:A:12-13", spec);
	i = find_section(spec, (size_t)(row - spec));
	if (i < 0)
		return ctl_usage_error(c, "--place %s: no such section in the venue file", spec);
	a = b = strtoul(nums + 1, &end, 10);
	if (*end == '-')
		b = strtoul(end + 1, &end, 10);
	if (end == nums + 1 || *end || b < a || b - a >= max)
		return ctl_usage_error(c, "--place %s: SEATS is a number or a range of at most %u",
				       spec, max);
	if ((rc = section_first(c, ev, (unsigned)i, &first)) != 0)
		return rc;
	for (*count = 0; a <= b; a++) {
		long off = seat_offset(&venue->sections[i], row + 1, (size_t)(nums - row - 1), a);

		if (off < 0)
			return ctl_usage_error(c, "--place %s: %s has no row %.*s seat %lu", spec,
					       venue->sections[i].name, (int)(nums - row - 1),
					       row + 1, a);
		seats[(*count)++] = first + (uint32_t)off;
	}
	return 0;
}

/* "Section 105 row A seat 12" of a server seat number, or 0 when not known. */
int ctl_seat_name(struct ctl *c, uint32_t ev, uint32_t seat, char *buf, size_t size)
{
	uint32_t first;

	for (unsigned i = 0; venue && seat != SEAT_NONE && i < venue->section_count; i++) {
		const struct vfile_section *s = &venue->sections[i];
		uint32_t off;

		if (section_first(c, ev, i, &first) || seat < first ||
		    seat - first >= s->seat_count)
			continue;
		off = seat - first;
		for (unsigned r = 0; r < s->row_count; r++) {
			const struct row_spec *row = &venue->rows[s->row_first + r];

			if (off < row->seat_count) {
				snprintf(buf, size, "%s row %s seat %u", s->name, row->label,
					 row->first_number + off);
				return 1;
			}
			off -= row->seat_count;
		}
	}
	return 0;
}
