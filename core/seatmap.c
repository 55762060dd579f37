/*
 * seatmap.c — loading sections, seat state changes, and the best-available
 * index (segments in quality order with cached free runs; see state-t.h).
 *
 * A section is loaded by one command. Its seats are appended to the event's
 * seat array, so a seat's index (its id on the wire) is fixed by load order.
 * Loading is an admin operation and may allocate; changing a seat's state is
 * a sales operation and touches one mask word, one cached run and one group.
 */
#include <stdlib.h>
#include <string.h>

#include "core/bits.h"
#include "core/bytes.h"
#include "core/state.h"

static int cmp_rank(const void *a, const void *b, void *arg)
{
	const struct segment *segs = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	if (segs[x].rank != segs[y].rank)
		return segs[x].rank < segs[y].rank ? -1 : 1;
	return x < y ? -1 : x > y;
}

static unsigned segment_run(const struct event *ev, const struct segment *s)
{
	const struct row *rw = &ev->rows[s->row];
	uint64_t general[MASK_WORDS], win[MASK_WORDS];
	unsigned run;

	for (unsigned w = 0; w < MASK_WORDS; w++)
		general[w] = rw->free[w] & ~rw->access[w];
	bits_window(general, s->start, s->len, win);
	run = bits_longest_run(win, s->len);
	return run > 255 ? 255 : run;
}

static void group_refresh(struct event *ev, uint32_t group)
{
	const uint8_t *run = ev->ord_run + (size_t)group * BA_GROUP_SEGMENTS;
	uint8_t best = 0;

	for (unsigned i = 0; i < BA_GROUP_SEGMENTS; i++)
		best = run[i] > best ? run[i] : best;
	ev->group_run[group] = best;
}

void seatmap_segment_refresh(struct event *ev, uint32_t seg)
{
	const struct segment *s = &ev->segs[seg];
	uint8_t run = (uint8_t)segment_run(ev, s);
	uint8_t old = ev->ord_run[s->ord];
	uint32_t group = s->ord / BA_GROUP_SEGMENTS;

	ev->ord_run[s->ord] = run;
	if (run > ev->group_run[group])
		ev->group_run[group] = run;
	else if (old == ev->group_run[group] && run < old)
		group_refresh(ev, group);
}

/* Orders every reserved tier's segments by quality, each tier's range padded
 * to whole groups, and recomputes every cached run. */
void seatmap_index_rebuild(struct event *ev)
{
	uint32_t len = 0, *order = malloc(sizeof(uint32_t) * (ev->seg_count + 1));
	uint32_t pos = 0;

	for (unsigned t = 0; t < TIERS_MAX; t++) {
		uint32_t n = 0;

		for (uint32_t s = 0; s < ev->seg_count; s++)
			n += ev->segs[s].tier == t;
		len += (n + BA_GROUP_SEGMENTS - 1) / BA_GROUP_SEGMENTS * BA_GROUP_SEGMENTS;
	}
	free(ev->ord_seg);
	free(ev->ord_run);
	free(ev->group_run);
	ev->ord_len = len;
	ev->ord_seg = malloc(sizeof(uint32_t) * (len + 1));
	ev->ord_run = calloc(len + 1, 1);
	ev->group_run = calloc(len / BA_GROUP_SEGMENTS + 1, 1);
	if (!order || !ev->ord_seg || !ev->ord_run || !ev->group_run)
		abort(); /* out of memory while loading a seat map */
	memset(ev->ord_seg, 0xff, sizeof(uint32_t) * (len + 1));
	for (unsigned t = 0; t < TIERS_MAX; t++) {
		struct tier *tr = &ev->tiers[t];
		uint32_t n = 0;

		for (uint32_t s = 0; s < ev->seg_count; s++)
			if (ev->segs[s].tier == t)
				order[n++] = s;
		qsort_r(order, n, sizeof *order, cmp_rank, ev->segs);
		tr->ord_first = pos;
		tr->ord_count = (n + BA_GROUP_SEGMENTS - 1) / BA_GROUP_SEGMENTS * BA_GROUP_SEGMENTS;
		for (uint32_t i = 0; i < n; i++) {
			ev->ord_seg[pos + i] = order[i];
			ev->segs[order[i]].ord = pos + i;
			ev->ord_run[pos + i] = (uint8_t)segment_run(ev, &ev->segs[order[i]]);
		}
		pos += tr->ord_count;
	}
	for (uint32_t g = 0; g < len / BA_GROUP_SEGMENTS; g++)
		group_refresh(ev, g);
	free(order);
}

void seat_take(struct event *ev, uint32_t seat, uint8_t state, uint32_t owner)
{
	struct seat *s = &ev->seats[seat];
	struct row *rw = &ev->rows[s->row];
	unsigned bit = seat - rw->first_seat;
	int was_free = s->state == SEAT_FREE;

	s->state = state;
	s->owner = owner;
	bit_clear(rw->free, bit);
	if (was_free)
		seatmap_segment_refresh(ev, s->seg);
}

void seat_release(struct event *ev, uint32_t seat, uint8_t state)
{
	struct seat *s = &ev->seats[seat];
	struct row *rw = &ev->rows[s->row];

	s->state = state;
	s->owner = NIL;
	if (state == SEAT_FREE) {
		bit_set(rw->free, seat - rw->first_seat);
		seatmap_segment_refresh(ev, s->seg);
	}
}

static enum status check_seats(const struct event *ev, const struct cmd_section *sec,
			       uint32_t seat_total)
{
	for (uint32_t i = 0; i < seat_total; i++) {
		const struct seat_spec *sp = &sec->seats[i];

		if (sp->tier >= TIERS_MAX || !ev->tiers[sp->tier].defined)
			return ST_TIER_UNKNOWN;
		if (ev->tiers[sp->tier].kind != TIER_RESERVED)
			return ST_TIER_KIND_MISMATCH;
		if (sp->flags & ~SEAT_FLAGS_ALL)
			return ST_BAD_ARGUMENT;
	}
	return ST_OK;
}

enum status plan_section(struct core *c, const struct cmd *cmd, struct rec *r)
{
	const struct cmd_section *sec = &cmd->section;
	const struct event *ev = event_find(c, sec->event_id);
	uint32_t seats = 0;

	if (!ev)
		return ST_EVENT_UNKNOWN;
	if (sec->section >= SECTIONS_MAX || sec->row_count == 0 ||
	    sec->row_count > SECTION_ROWS_MAX || !sec->rows || !sec->seats)
		return ST_BAD_ARGUMENT;
	if (ev->sections && ev->sections[sec->section].defined)
		return ST_SECTION_EXISTS;
	for (uint16_t i = 0; i < sec->row_count; i++) {
		if (sec->rows[i].seat_count == 0 || sec->rows[i].seat_count > ROW_SEATS_MAX)
			return ST_BAD_ARGUMENT;
		seats += sec->rows[i].seat_count;
	}
	if (seats > SECTION_SEATS_MAX)
		return ST_BAD_ARGUMENT;
	if (ev->seat_count + seats > SEATS_MAX || ev->row_count + sec->row_count > ROWS_MAX)
		return ST_SEATMAP_FULL;
	if ((uint64_t)ev->units_placed + seats > ev->cfg.units_max)
		return ST_EVENT_FULL;
	r->section.section = sec->section;
	return check_seats(ev, sec, seats);
}

int seatmap_alloc(struct event *ev)
{
	ev->seats_max = ev->cfg.units_max < SEATS_MAX ? ev->cfg.units_max : SEATS_MAX;
	ev->sections = calloc(SECTIONS_MAX, sizeof *ev->sections);
	ev->rows = calloc(ROWS_MAX, sizeof *ev->rows);
	ev->seats = calloc(ev->seats_max, sizeof *ev->seats);
	ev->segs = calloc(ev->seats_max, sizeof *ev->segs);
	return ev->sections && ev->rows && ev->seats && ev->segs ? 0 : -1;
}

/* Derives what rows from first_row on imply: seat row links, the free and
 * accessible masks, and segments (a new one wherever the tier changes). Used
 * by section loads and by snapshot reads. */
void seatmap_derive_rows(struct event *ev, uint32_t first_row)
{
	for (uint32_t r = first_row; r < ev->row_count; r++) {
		struct row *rw = &ev->rows[r];

		for (uint16_t i = 0; i < rw->seat_count; i++) {
			struct seat *s = &ev->seats[rw->first_seat + i];
			struct segment *sg;

			s->row = (uint16_t)r;
			if (s->flags & SEAT_ACCESSIBLE)
				bit_set(rw->access, i);
			if (s->state == SEAT_FREE)
				bit_set(rw->free, i);
			if (i == 0 || s->tier != s[-1].tier) {
				sg = &ev->segs[ev->seg_count++];
				sg->row = r;
				sg->start = i;
				sg->tier = s->tier;
				sg->rank = s->rank;
			}
			sg = &ev->segs[ev->seg_count - 1];
			sg->len++;
			sg->rank = s->rank < sg->rank ? s->rank : sg->rank;
			s->seg = ev->seg_count - 1;
		}
	}
}

/* Adds one row's seats from a section record. */
static void load_row(struct event *ev, const uint8_t *row_bytes, const uint8_t *seat_bytes,
		     uint16_t section, uint32_t *tiers_touched)
{
	struct row *rw = &ev->rows[ev->row_count++];
	uint16_t n = get_u16(row_bytes + 8);

	get_bytes(row_bytes, rw->label, LABEL_BYTES);
	rw->seat_count = n;
	rw->first_number = get_u16(row_bytes + 10);
	rw->section = section;
	rw->first_seat = ev->seat_count;
	for (uint16_t i = 0; i < n; i++) {
		struct seat *s = &ev->seats[ev->seat_count + i];
		struct tier *t;

		s->tier = get_u8(seat_bytes + 4 * i);
		s->flags = get_u8(seat_bytes + 4 * i + 1);
		s->rank = get_u16(seat_bytes + 4 * i + 2);
		s->owner = NIL;
		s->state = (s->flags & SEAT_KILLED) ? SEAT_KILLED_STATE : SEAT_FREE;
		t = &ev->tiers[s->tier];
		t->capacity++;
		if (s->state == SEAT_FREE)
			t->free++;
		else
			t->killed++;
		*tiers_touched |= 1u << s->tier;
	}
	ev->seat_count += n;
}

enum status apply_section(struct core *c, const struct rec *r, uint32_t *alerts)
{
	struct event *ev = event_find(c, r->event_id);
	uint32_t seats = r->section.seat_count, touched = 0;
	const uint8_t *seat_bytes = r->section.seats;
	struct section *sec;

	if (!ev || r->section.section >= SECTIONS_MAX)
		return ST_RECORD_INVALID;
	if (!ev->sections && seatmap_alloc(ev))
		return ST_INTERNAL;
	sec = &ev->sections[r->section.section];
	if (sec->defined || ev->seat_count + seats > ev->seats_max ||
	    ev->row_count + r->section.row_count > ROWS_MAX ||
	    (uint64_t)ev->units_placed + seats > ev->cfg.units_max)
		return ST_RECORD_INVALID;
	for (uint32_t i = 0; i < seats; i++) {
		uint8_t t = get_u8(seat_bytes + 4 * i);

		if (t >= TIERS_MAX || !ev->tiers[t].defined || ev->tiers[t].kind != TIER_RESERVED)
			return ST_RECORD_INVALID;
	}
	sec->defined = 1;
	sec->first_row = ev->row_count;
	sec->first_seat = ev->seat_count;
	sec->seat_count = seats;
	sec->row_count = r->section.row_count;
	memcpy(sec->name, r->section.name, NAME_BYTES);
	for (uint16_t i = 0; i < r->section.row_count; i++) {
		const uint8_t *row_bytes = r->section.rows + 16 * i;

		load_row(ev, row_bytes, seat_bytes, r->section.section, &touched);
		seat_bytes += 4 * get_u16(row_bytes + 8);
	}
	seatmap_derive_rows(ev, sec->first_row);
	ev->section_count++;
	ev->units_placed += seats;
	seatmap_index_rebuild(ev);
	for (unsigned t = 0; t < TIERS_MAX; t++)
		if (touched & (1u << t))
			tier_check_low_stock(ev, (uint8_t)t, alerts);
	return ST_OK;
}

long core_section_seats(const struct core *c, uint32_t event_id, uint16_t section, uint8_t *out,
			size_t cap, uint32_t *first_seat)
{
	const struct event *ev;
	const struct section *sec;

	assert(c && (out || cap == 0));
	ev = event_find(c, event_id);
	if (!ev)
		return -(long)event_missing(c, event_id);
	if (!ev->sections || section >= SECTIONS_MAX || !ev->sections[section].defined)
		return -(long)ST_SEAT_UNKNOWN;
	sec = &ev->sections[section];
	if (cap < sec->seat_count)
		return -(long)ST_BAD_ARGUMENT;
	for (uint32_t i = 0; i < sec->seat_count; i++)
		out[i] = ev->seats[sec->first_seat + i].state;
	if (first_seat)
		*first_seat = sec->first_seat;
	return sec->seat_count;
}
