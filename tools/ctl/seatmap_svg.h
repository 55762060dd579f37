/*
 * seatmap_svg.h — a venue's seat map as SVG: every seat a circle coloured
 * by its state (free, held, sold, killed), accessible seats ringed, each
 * section drawn where the venue file puts it (or laid out on a grid), the
 * stage and GA areas, a title and a legend. Pure: venue and states in,
 * text out to a FILE.
 */
#ifndef ONSALE_CTL_SEATMAP_SVG_H
#define ONSALE_CTL_SEATMAP_SVG_H

#include <stdint.h>
#include <stdio.h>
#include "tools/ctl/vfile.h"

/* Colours of the seat states (enum seat_state), in the legend and the test. */
#define SEATMAP_FREE_RGB "#3fa34d"
#define SEATMAP_HELD_RGB "#f2a900"
#define SEATMAP_SOLD_RGB "#d1495b"
#define SEATMAP_KILLED_RGB "#555555"
#define SEATMAP_ACCESSIBLE_RGB "#1565c0"

struct seatmap_ga { /* a GA tier's figures, drawn in its area */
	uint32_t free, held, sold;
};

struct seatmap {
	const struct vfile *v;
	const uint8_t *states;       /* by venue seat index; enum seat_state */
	const uint8_t *drawn;        /* by venue section index: 1 to draw it */
	const struct seatmap_ga *ga; /* by tier; NULL: no GA areas */
	const char *title;
};

/* Writes the SVG: 0, or -EIO when the stream failed. */
int seatmap_svg(const struct seatmap *m, FILE *out);

#endif
