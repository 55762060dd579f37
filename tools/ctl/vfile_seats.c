/*
 * vfile_seats.c — section and row lines. A row line may stand for a range
 * of rows ("row A-Y seats 1-40"): each gets the same seats, tiers and
 * flags, and its own rank. A seat's rank is its row's rank plus its
 * distance from the row's centre; a row's rank is the section's rank plus
 * its place in the section times the section's rowstep, unless the line
 * gives one ("rank R": the first row of the range, later ones a rowstep
 * more each). Lower is better, as best available takes it.
 */
#include "tools/ctl/vfile_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWSTEP_DEFAULT 10u

struct row_tpl {
	uint16_t first_number, seat_count;
	uint8_t tier[ROW_SEATS_MAX];
	uint8_t flags[ROW_SEATS_MAX];
	int64_t rank; /* -1: from the section */
};

static int section_tier(struct vparse *p, unsigned i, uint8_t *tier)
{
	uint64_t t;

	if (vp_uint(p, i, "tier", 0, TIERS_MAX - 1, &t))
		return -EINVAL;
	if (!(p->v->tier_mask >> t & 1))
		return vp_fail(p, p->tok[i].col, "tier %llu is not defined above",
			       (unsigned long long)t);
	if (p->v->tiers[t].kind != TIER_RESERVED)
		return vp_fail(p, p->tok[i].col,
			       "tier %llu is general admission: seats need a "
			       "reserved tier",
			       (unsigned long long)t);
	*tier = (uint8_t)t;
	return 0;
}

static int section_option(struct vparse *p, unsigned i, struct vfile_section *s)
{
	const char *k = p->tok[i].s;
	uint64_t n;
	int64_t x;

	if (!strcmp(k, "tier"))
		return section_tier(p, i + 1, &p->section_tier) ? -EINVAL : 2;
	if (!strcmp(k, "rank") || !strcmp(k, "rowstep")) {
		if (vp_uint(p, i + 1, k, 0, UINT16_MAX, &n))
			return -EINVAL;
		*(k[1] == 'a' ? &p->section_rank : &p->section_rowstep) = (uint32_t)n;
		return 2;
	}
	if (!strcmp(k, "rotate")) {
		if (vp_int(p, i + 1, "rotate", -360, 360, &x))
			return -EINVAL;
		s->rotate_deg = (int16_t)x;
		return 2;
	}
	if (!strcmp(k, "at") && i + 2 < p->ntok) {
		if (vp_int(p, i + 1, "x", -100000, 100000, &x))
			return -EINVAL;
		s->x = (int32_t)x;
		if (vp_int(p, i + 2, "y", -100000, 100000, &x))
			return -EINVAL;
		s->y = (int32_t)x, s->placed = 1;
		return 3;
	}
	return vp_fail(p, p->tok[i].col,
		       "unknown section option '%s' (tier, rank, rowstep, at X Y, "
		       "rotate)",
		       k);
}

int vp_section(struct vparse *p)
{
	struct vfile *v = p->v;
	struct vfile_section *s;
	uint64_t idx;
	int n;

	if (p->section_open && vp_section_close(p))
		return -EINVAL;
	if (v->section_count == SECTIONS_MAX)
		return vp_fail(p, p->tok[0].col, "more than %u sections", SECTIONS_MAX);
	if (vp_uint(p, 1, "section", 0, SECTIONS_MAX - 1, &idx))
		return -EINVAL;
	if (vfile_section_find(v, (uint16_t)idx))
		return vp_fail(p, p->tok[1].col, "section %llu defined twice",
			       (unsigned long long)idx);
	if (!p->tok[2].quoted || strlen(p->tok[2].s) >= NAME_BYTES)
		return vp_fail(p, p->tok[2].col,
			       "a section's name: a \"quoted string\" under %u bytes", NAME_BYTES);
	s = &v->sections[v->section_count];
	memset(s, 0, sizeof *s);
	s->section = (uint16_t)idx;
	strcpy(s->name, p->tok[2].s);
	s->row_first = (uint16_t)v->row_count;
	s->seat_first = v->seat_count;
	p->section_tier = TIERS_MAX;
	p->section_rank = 0;
	p->section_rowstep = ROWSTEP_DEFAULT;
	for (unsigned i = 3; i < p->ntok; i += (unsigned)n) {
		if (i + 1 >= p->ntok)
			return vp_fail(p, p->tok[i].col, "'%s' needs a value", p->tok[i].s);
		n = section_option(p, i, s);
		if (n < 0)
			return -EINVAL;
	}
	v->section_count++;
	p->section_open = 1;
	p->section_line = p->line;
	p->section_col = p->tok[0].col;
	return 0;
}

int vp_section_close(struct vparse *p)
{
	const struct vfile_section *s = &p->v->sections[p->v->section_count - 1];

	p->section_open = 0;
	if (s->row_count == 0) {
		p->line = p->section_line;
		return vp_fail(p, p->section_col, "section %u has no rows", s->section);
	}
	return 0;
}

/* A seat list: "all" or "1-4,37,39-40" of printed numbers in the row. */
static int seat_list(struct vparse *p, unsigned i, const struct row_tpl *r, uint8_t *mark)
{
	const char *s = p->tok[i].s;
	unsigned last = r->first_number + r->seat_count - 1u;

	if (!strcmp(s, "all")) {
		memset(mark, 1, r->seat_count);
		return 0;
	}
	while (*s) {
		unsigned col = p->tok[i].col + (unsigned)(s - p->tok[i].s);
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;

		if (end == s || *s < '0' || *s > '9')
			return vp_fail(p, col, "a seat list is 'all' or numbers and ranges: 1-4,9");
		if (*end == '-') {
			s = end + 1;
			b = strtoul(s, &end, 10);
			if (end == s || *s < '0' || *s > '9')
				return vp_fail(p, col, "a range is FIRST-LAST: 1-4");
		}
		if (a > b || a < r->first_number || b > last)
			return vp_fail(p, col, "seats %lu-%lu are not all in the row's seats %u-%u",
				       a, b, r->first_number, last);
		memset(mark + (a - r->first_number), 1, b - a + 1);
		s = end;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return vp_fail(p, col, "a seat list is 'all' or numbers and ranges: 1-4,9");
	}
	return 0;
}

/* "seats FIRST-LAST" at tokens i, i+1. */
static int seat_range(struct vparse *p, unsigned i, struct row_tpl *r)
{
	const struct vtok *t = &p->tok[i + 1];
	unsigned long a, b;
	char *end;

	if (strcmp(p->tok[i].s, "seats"))
		return vp_fail(p, p->tok[i].col, "after the row labels: seats FIRST-LAST");
	a = strtoul(t->s, &end, 10);
	if (end == t->s || *end != '-' || t->s[0] < '0' || t->s[0] > '9')
		return vp_fail(p, t->col, "seats FIRST-LAST: '%s' is not a range like 1-40", t->s);
	b = strtoul(end + 1, &end, 10);
	if (*end || b < a || a > UINT16_MAX || b > UINT16_MAX)
		return vp_fail(p, t->col, "seats FIRST-LAST: '%s' is not a range like 1-40", t->s);
	if (b - a + 1 > ROW_SEATS_MAX)
		return vp_fail(p, t->col, "%lu seats in a row, at most %u", b - a + 1,
			       ROW_SEATS_MAX);
	r->first_number = (uint16_t)a;
	r->seat_count = (uint16_t)(b - a + 1);
	return 0;
}

/* Options after "seats A-B": tier T [LIST], rank R, accessible|restricted|killed LIST. */
static int row_option(struct vparse *p, unsigned i, struct row_tpl *r)
{
	static const char *const flag_names[] = {"accessible", "restricted", "killed"};
	static const uint8_t flag_bits[] = {SEAT_ACCESSIBLE, SEAT_RESTRICTED_VIEW, SEAT_KILLED};
	uint8_t mark[ROW_SEATS_MAX] = {0};
	const char *k = p->tok[i].s;
	uint8_t tier;
	uint64_t n;

	if (!strcmp(k, "tier")) {
		if (section_tier(p, i + 1, &tier))
			return -EINVAL;
		int list = i + 2 < p->ntok && p->tok[i + 2].s[0] >= '0' &&
			   p->tok[i + 2].s[0] <= '9';
		if (!list)
			memset(mark, 1, r->seat_count);
		else if (seat_list(p, i + 2, r, mark))
			return -EINVAL;
		for (unsigned s = 0; s < r->seat_count; s++)
			r->tier[s] = mark[s] ? tier : r->tier[s];
		return list ? 3 : 2;
	}
	if (!strcmp(k, "rank")) {
		if (vp_uint(p, i + 1, "rank", 0, UINT16_MAX, &n))
			return -EINVAL;
		r->rank = (int64_t)n;
		return 2;
	}
	for (unsigned f = 0; f < 3; f++) {
		if (strcmp(k, flag_names[f]))
			continue;
		if (seat_list(p, i + 1, r, mark))
			return -EINVAL;
		for (unsigned s = 0; s < r->seat_count; s++)
			r->flags[s] |= mark[s] ? flag_bits[f] : 0;
		return 2;
	}
	return vp_fail(p, p->tok[i].col,
		       "unknown row option '%s' (tier, rank, accessible, "
		       "restricted, killed)",
		       k);
}

/* Row labels: "A", "A-Y", "AA-AZ" (letters, same length) or "1-40".
 * *numeric: 1 numbers, 0 letters, -1 one label taken as it is. */
static int row_labels(struct vparse *p, char first[LABEL_BYTES], unsigned *count, int *numeric)
{
	const struct vtok *t = &p->tok[1];
	const char *dash = strchr(t->s, '-');
	size_t n = dash ? (size_t)(dash - t->s) : strlen(t->s);

	if (n == 0 || n >= LABEL_BYTES || (dash && strlen(dash + 1) >= LABEL_BYTES))
		return vp_fail(p, t->col, "a row label is 1 to %u characters", LABEL_BYTES - 1);
	memcpy(first, t->s, n);
	first[n] = 0;
	*count = 1;
	*numeric = -1;
	if (!dash)
		return 0;
	*numeric = 0;
	const char *last = dash + 1;
	if (strspn(first, "0123456789") == n && strspn(last, "0123456789") == strlen(last) &&
	    *last) {
		long a = atol(first), b = atol(last);
		*numeric = 1;
		*count = b >= a ? (unsigned)(b - a + 1) : 0;
	} else if (strspn(first, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n && strlen(last) == n &&
		   strspn(last, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == n) {
		long a = 0, b = 0;
		for (size_t i = 0; i < n; i++)
			a = a * 26 + (first[i] - 'A'), b = b * 26 + (last[i] - 'A');
		*count = b >= a ? (unsigned)(b - a + 1) : 0;
	} else {
		return vp_fail(p, t->col,
			       "row range '%s': numbers (1-40) or capitals of one length "
			       "(A-Z, AA-AZ)",
			       t->s);
	}
	if (*count == 0)
		return vp_fail(p, t->col, "row range '%s' runs backwards", t->s);
	return 0;
}

/* The label k rows after first, as row_labels counted them. */
static void label_next(char label[LABEL_BYTES], const char *first, unsigned k, int numeric)
{
	size_t n = strlen(first);

	if (numeric < 0) {
		memcpy(label, first, n + 1);
		return;
	}
	if (numeric) {
		snprintf(label, LABEL_BYTES, "%ld", atol(first) + (long)k);
		return;
	}
	unsigned long x = 0;
	for (size_t i = 0; i < n; i++)
		x = x * 26 + (unsigned long)(first[i] - 'A');
	x += k;
	label[n] = 0;
	for (size_t i = n; i-- > 0; x /= 26)
		label[i] = (char)('A' + x % 26);
}

/* Appends the rows of one row line, as row_labels and the template say. */
static int rows_add(struct vparse *p, const struct row_tpl *r, const char *first, unsigned count,
		    int numeric)
{
	struct vfile *v = p->v;
	struct vfile_section *s = &v->sections[v->section_count - 1];

	if (s->row_count + count > SECTION_ROWS_MAX)
		return vp_fail(p, p->tok[1].col, "more than %u rows in section %u",
			       SECTION_ROWS_MAX, s->section);
	if (v->row_count + count > ROWS_MAX)
		return vp_fail(p, p->tok[1].col, "more than %u rows in the venue", ROWS_MAX);
	if (s->seat_count + (uint64_t)count * r->seat_count > SECTION_SEATS_MAX)
		return vp_fail(p, p->tok[1].col, "more than %u seats in section %u",
			       SECTION_SEATS_MAX, s->section);
	if (v->seat_count + (uint64_t)count * r->seat_count > SEATS_MAX)
		return vp_fail(p, p->tok[1].col, "more than %u seats in the venue", SEATS_MAX);
	for (unsigned k = 0; k < count; k++) {
		struct row_spec *row = &v->rows[v->row_count++];
		uint64_t base = r->rank >= 0 ? (uint64_t)r->rank + (uint64_t)k * p->section_rowstep
					     : p->section_rank + (uint64_t)(s->row_count) *
									 p->section_rowstep;

		memset(row, 0, sizeof *row);
		label_next(row->label, first, k, numeric);
		row->seat_count = r->seat_count;
		row->first_number = r->first_number;
		for (unsigned i = 0; i < r->seat_count; i++) {
			struct seat_spec *seat = &v->seats[v->seat_count++];
			unsigned off2 = 2 * i > r->seat_count - 1u ? 2 * i - (r->seat_count - 1u)
								   : (r->seat_count - 1u) - 2 * i;
			uint64_t rank = base + off2 / 2;

			if (rank > UINT16_MAX)
				return vp_fail(p, p->tok[1].col,
					       "row %s: seat ranks pass %u (lower rank "
					       "or rowstep)",
					       row->label, UINT16_MAX);
			*seat = (struct seat_spec){r->tier[i], r->flags[i], (uint16_t)rank};
		}
		s->row_count++;
		s->seat_count += r->seat_count;
		if (r->seat_count > s->width_seats)
			s->width_seats = r->seat_count;
	}
	return 0;
}

int vp_row(struct vparse *p)
{
	static struct row_tpl r; /* 520 bytes: kept off the stack */
	char first[LABEL_BYTES] = "";
	unsigned count = 0;
	int numeric = 0, n;

	if (!p->section_open)
		return vp_fail(p, p->tok[0].col, "a row before any section");
	if (row_labels(p, first, &count, &numeric) || seat_range(p, 2, &r))
		return -EINVAL;
	memset(r.tier, p->section_tier, sizeof r.tier);
	memset(r.flags, 0, sizeof r.flags);
	r.rank = -1;
	for (unsigned i = 4; i < p->ntok; i += (unsigned)n) {
		if (i + 1 >= p->ntok)
			return vp_fail(p, p->tok[i].col, "'%s' needs a value", p->tok[i].s);
		n = row_option(p, i, &r);
		if (n < 0)
			return -EINVAL;
	}
	for (unsigned i = 0; i < r.seat_count; i++)
		if (r.tier[i] == TIERS_MAX)
			return vp_fail(p, p->tok[0].col,
				       "seat %u has no tier (give 'tier T' on the row "
				       "or its section)",
				       r.first_number + i);
	return rows_add(p, &r, first, count, numeric);
}
