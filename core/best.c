/*
 * best.c — best available: N adjacent free seats of one tier in one row.
 *
 * Rows (segments) are tried in quality order: a segment's quality is its
 * best seat rank. Groups of 64 segments whose longest free run is too short
 * are skipped with one byte compare, so a nearly sold-out stadium costs a
 * few dozen compares, not a walk over 100,000 seats.
 *
 * Inside a segment every placement of the block is scored by the sum of its
 * seat ranks (lower is better, leftmost on ties). A placement that leaves a
 * single free seat stranded beside it (an orphan) is taken only when no
 * placement in this segment or in the next BA_ORPHAN_LOOKAHEAD_SEGMENTS
 * candidate segments avoids one; then the best orphaning placement of the
 * first candidate segment wins.
 *
 * General requests never take accessible seats; HOLD_F_ACCESSIBLE requests
 * take only accessible seats (rare: a linear pass over the tier's segments).
 */
#include "core/bits.h"
#include "core/state.h"

struct placement {
	uint32_t first_seat; /* NIL: none */
	uint32_t score;
};

struct choice {
	struct placement clean, orphan;
};

static void consider(struct placement *best, uint32_t seat, uint32_t score)
{
	if (best->first_seat == NIL || score < best->score) {
		best->first_seat = seat;
		best->score = score;
	}
}

/* Scores every placement of qty seats in the free runs of segment s. */
static struct choice evaluate(const struct event *ev, const struct segment *s, unsigned qty,
			      int accessible)
{
	const struct row *rw = &ev->rows[s->row];
	const struct seat *seats = &ev->seats[rw->first_seat + s->start];
	uint64_t mask[MASK_WORDS], win[MASK_WORDS];
	struct choice ch = {{NIL, 0}, {NIL, 0}};
	unsigned pos = 0;

	for (unsigned w = 0; w < MASK_WORDS; w++)
		mask[w] = rw->free[w] & (accessible ? rw->access[w] : ~rw->access[w]);
	bits_window(mask, s->start, s->len, win);
	while (pos < s->len) {
		unsigned a = bits_next(win, pos, s->len, 1), z, i;
		uint32_t score = 0;

		if (a >= s->len)
			break;
		z = bits_next(win, a, s->len, 0);
		pos = z;
		if (z - a < qty)
			continue;
		for (i = a; i < a + qty; i++)
			score += seats[i].rank;
		for (i = a;; i++) {
			unsigned left = i - a, right = z - (i + qty);
			struct placement *p = (left == 1 || right == 1) ? &ch.orphan : &ch.clean;

			consider(p, rw->first_seat + s->start + i, score);
			if (i + qty >= z)
				break;
			score += seats[i + qty].rank;
			score -= seats[i].rank;
		}
	}
	return ch;
}

static void fill(uint32_t first, uint8_t qty, uint32_t *seats)
{
	for (uint8_t i = 0; i < qty; i++)
		seats[i] = first + i;
}

static enum status search_accessible(const struct event *ev, const struct tier *t, uint8_t qty,
				     uint32_t *seats)
{
	for (uint32_t p = t->ord_first; p < t->ord_first + t->ord_count; p++) {
		struct choice ch;

		if (ev->ord_seg[p] == NIL)
			break;
		ch = evaluate(ev, &ev->segs[ev->ord_seg[p]], qty, 1);
		if (ch.clean.first_seat != NIL || ch.orphan.first_seat != NIL) {
			fill(ch.clean.first_seat != NIL ? ch.clean.first_seat
							: ch.orphan.first_seat,
			     qty, seats);
			return ST_OK;
		}
	}
	return ST_NO_ADJACENT_SEATS;
}

enum status best_available(const struct event *ev, uint8_t tier, uint8_t qty, uint8_t flags,
			   uint32_t *seats)
{
	const struct tier *t = &ev->tiers[tier];
	uint32_t fallback = NIL, lookahead = 0;
	uint32_t group_end = (t->ord_first + t->ord_count) / BA_GROUP_SEGMENTS;

	if (!ev->seats || t->free < qty)
		return ST_NO_ADJACENT_SEATS;
	if (flags & HOLD_F_ACCESSIBLE)
		return search_accessible(ev, t, qty, seats);
	for (uint32_t g = t->ord_first / BA_GROUP_SEGMENTS; g < group_end; g++) {
		if (ev->group_run[g] < qty)
			continue;
		for (uint32_t p = g * BA_GROUP_SEGMENTS; p < (g + 1) * BA_GROUP_SEGMENTS; p++) {
			struct choice ch;

			if (ev->ord_run[p] < qty)
				continue;
			ch = evaluate(ev, &ev->segs[ev->ord_seg[p]], qty, 0);
			if (ch.clean.first_seat != NIL) {
				fill(ch.clean.first_seat, qty, seats);
				return ST_OK;
			}
			if (fallback == NIL) {
				fallback = ch.orphan.first_seat;
				lookahead = BA_ORPHAN_LOOKAHEAD_SEGMENTS;
			} else if (--lookahead == 0) {
				goto out_fallback;
			}
		}
	}
	if (fallback == NIL)
		return ST_NO_ADJACENT_SEATS;
out_fallback:
	fill(fallback, qty, seats);
	return ST_OK;
}
