/*
 * vfile_parse.h — the venue parser's insides, shared by its files:
 * vfile.c (lines, tokens, the file), vfile_event.c (event, tier, code and
 * stage lines), vfile_seats.c (section and row lines).
 */
#ifndef ONSALE_CTL_VFILE_PARSE_H
#define ONSALE_CTL_VFILE_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include "tools/ctl/vfile.h"

#define VP_LINE_BYTES 1024
#define VP_TOKENS_MAX 48

struct vtok {
	const char *s;
	unsigned col;
	int quoted;
};

/* Lines that may be given once (bits of vparse.seen). */
enum {
	VP_SEEN_EVENT = 1u << 0,
	VP_SEEN_NAME = 1u << 1,
	VP_SEEN_VENUE = 1u << 2,
	VP_SEEN_STATE = 1u << 3,
	VP_SEEN_STARTS = 1u << 4,
	VP_SEEN_PRESALE = 1u << 5,
	VP_SEEN_PUBLIC = 1u << 6,
	VP_SEEN_END = 1u << 7,
	VP_SEEN_LIMIT = 1u << 8,
	VP_SEEN_TTL = 1u << 9,
	VP_SEEN_UNITS = 1u << 10,
	VP_SEEN_STAGE = 1u << 11,
};

struct vparse {
	struct vfile *v;
	const char *name;
	uint64_t now_ms;
	char *err;
	size_t err_bytes;
	unsigned line;
	uint32_t seen;
	char buf[VP_LINE_BYTES];
	struct vtok tok[VP_TOKENS_MAX];
	unsigned ntok;
	/* the section being read (the last one) */
	int section_open;
	unsigned section_line, section_col;
	uint8_t section_tier; /* TIERS_MAX: none given */
	uint32_t section_rank, section_rowstep;
};

struct vp_keyword {
	const char *name;
	uint32_t once; /* VP_SEEN_* bit, or 0: repeatable */
	unsigned args_min, args_max;
	const char *usage;
	int (*parse)(struct vparse *p);
};
extern const struct vp_keyword vp_keywords[]; /* NULL-terminated by name */

/* Sets the message "NAME:LINE:COL: ..." and returns -EINVAL. */
int vp_fail(struct vparse *p, unsigned col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Token i as an unsigned number in [min, max], or a message naming what. */
int vp_uint(struct vparse *p, unsigned i, const char *what, uint64_t min, uint64_t max,
	    uint64_t *out);
/* Token i as a signed number in [min, max]. */
int vp_int(struct vparse *p, unsigned i, const char *what, int64_t min, int64_t max, int64_t *out);

int vp_section(struct vparse *p);
int vp_row(struct vparse *p);
/* Checks the open section once its rows are in (it has at least one). */
int vp_section_close(struct vparse *p);

#endif
