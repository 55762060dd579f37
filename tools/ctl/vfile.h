/*
 * vfile.h — the venue file of `onsale-ctl event create`: one text file
 * describing an event, its tiers, presale codes and seat map (format in
 * docs/CTL.md). The parser is pure (text in, struct vfile out, no I/O but
 * vfile_load's read of the file) so tests feed it strings; every refusal is
 * one message "FILE:LINE:COL: what", the column of the token at fault.
 *
 * A parsed venue holds exactly what the protocol sends: the struct
 * cmd_event, one struct cmd_tier per defined tier, the presale codes, and
 * per section its rows and seats (struct row_spec / seat_spec, in the
 * order SECTION_LOAD takes them), plus where the seat map draws it.
 */
#ifndef ONSALE_CTL_VFILE_H
#define ONSALE_CTL_VFILE_H

#include <stddef.h>
#include <stdint.h>
#include "core/cmd-t.h"

#define VFILE_ERR_BYTES 256
#define VFILE_BYTES_MAX (16u << 20) /* a 100,000-seat stadium is ~20 KB */

struct vfile_section {
	uint16_t section;   /* index on the server, < SECTIONS_MAX */
	uint16_t row_first; /* into venue.rows */
	uint16_t row_count;
	uint16_t width_seats; /* the longest row: rows are centred on it */
	uint32_t seat_first;  /* into venue.seats */
	uint32_t seat_count;
	int32_t x, y;       /* seat map position of its top left, in seat units */
	int16_t rotate_deg; /* clockwise, about its top left */
	uint8_t placed;     /* x, y given; else the seat map lays it out */
	char name[NAME_BYTES];
};

struct vfile_code {
	char code[PRESALE_CODE_BYTES_MAX];
	uint8_t code_len;
	uint32_t use_limit;
};

struct vfile_area { /* a GA tier's place on the seat map, in seat units */
	int32_t x, y, w, h;
	uint8_t placed;
};

struct vfile {
	struct cmd_event event;
	uint32_t tier_mask; /* bit t: tiers[t] defined */
	struct cmd_tier tiers[TIERS_MAX];
	struct vfile_area areas[TIERS_MAX];
	struct vfile_code codes[PRESALE_CODES_MAX];
	unsigned code_count;
	int32_t stage[4]; /* x, y, w, h; w == 0: no stage drawn */
	uint16_t section_count;
	uint32_t row_count;
	uint32_t seat_count;
	struct vfile_section sections[SECTIONS_MAX];
	struct row_spec rows[ROWS_MAX];
	struct seat_spec seats[SEATS_MAX];
};

/* A zeroed venue (about 1.5 MB, so it lives on the heap), or NULL. */
struct vfile *vfile_new(void);
void vfile_free(struct vfile *v);

/* Parses text (len bytes, need not end in NUL) named name in messages;
 * now_ms is what "now" means in times. 0, or -EINVAL with the message in
 * err. v must be fresh from vfile_new. */
int vfile_parse(struct vfile *v, const char *name, const char *text, size_t len, uint64_t now_ms,
		char *err, size_t err_bytes);

/* Reads the file at path and parses it: 0, -EINVAL (err: FILE:LINE:COL),
 * or the -errno of reading it (err says so). */
int vfile_load(struct vfile *v, const char *path, uint64_t now_ms, char *err, size_t err_bytes);

/* The section with server index section, or NULL. */
const struct vfile_section *vfile_section_find(const struct vfile *v, uint16_t section);

/* Shared with the command line: "149.50" or "149" -> 14950 minor units;
 * "10m", "90s", "1h", "500ms" -> ms; "2027-06-01T20:00:00Z", "now",
 * "now+7d", "now-2h", "@1767225600000" -> ms since the epoch. 0 or -EINVAL. */
int vfile_money(const char *s, uint64_t *minor);
int vfile_duration(const char *s, uint64_t *ms);
int vfile_time(const char *s, uint64_t now_ms, uint64_t *ms);
/* "draft", "on_sale", "paused", "closed" -> enum event_state, or -EINVAL. */
int vfile_state(const char *s);
const char *vfile_state_name(unsigned state);

#endif
