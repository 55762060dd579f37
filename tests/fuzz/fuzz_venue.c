/*
 * fuzz_venue.c — libFuzzer target for onsale-ctl's venue file parser
 * (tools/ctl/vfile*.c, through vfile_parse: the path `onsale-ctl event
 * create FILE` takes after reading the file).
 *
 * A venue file comes from whoever builds seat maps, and a mistake in one
 * must be a "FILE:LINE:COL: what" message, never a crash or a venue half
 * read. Beyond "no crash, no leak, no read past the input", a file that
 * parses must describe what the server takes:
 *
 * - every section's rows and seats lie inside the venue's arrays, one after
 *   the other, each row of 1 to ROW_SEATS_MAX seats and the rows adding up
 *   to the section's seat count;
 * - every section encodes as a SECTION_LOAD frame (proto_encode_request
 *   refuses nothing the parser let through: what onsale-ctl sends is never
 *   a bad frame), and every seat's tier is a reserved tier of the file;
 * - parsing the same bytes again gives the same venue.
 * A refusal must come with a message naming the file.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/proto/proto.h"
#include "tools/ctl/vfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1767225600000ull /* 2026-01-01: "now" in times */

static uint8_t frame[PROTO_FRAME_BYTES_MAX];

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_section(const struct vfile *v, const struct vfile_section *s)
{
	struct proto_request req = {.opcode = PROTO_OP_SECTION_LOAD};
	uint32_t seats = 0;

	check(s->row_first + s->row_count <= v->row_count);
	check(s->seat_first + s->seat_count <= v->seat_count);
	for (unsigned r = 0; r < s->row_count; r++) {
		const struct row_spec *row = &v->rows[s->row_first + r];

		check(row->seat_count >= 1 && row->seat_count <= ROW_SEATS_MAX);
		seats += row->seat_count;
	}
	check(seats == s->seat_count);
	for (uint32_t i = 0; i < s->seat_count; i++) {
		uint8_t t = v->seats[s->seat_first + i].tier;

		check(t < TIERS_MAX && (v->tier_mask >> t & 1) &&
		      v->tiers[t].kind == TIER_RESERVED);
	}
	req.cmd.section = (struct cmd_section){.event_id = v->event.event_id,
					       .section = s->section,
					       .row_count = s->row_count,
					       .rows = &v->rows[s->row_first],
					       .seats = &v->seats[s->seat_first]};
	check(proto_encode_request(frame, sizeof frame, &req) > 0);
}

static void check_venue(const struct vfile *v)
{
	uint32_t rows = 0, seats = 0;

	check(v->section_count <= SECTIONS_MAX && v->row_count <= ROWS_MAX &&
	      v->seat_count <= SEATS_MAX && v->code_count <= PRESALE_CODES_MAX);
	for (unsigned i = 0; i < v->section_count; i++) {
		const struct vfile_section *s = &v->sections[i];

		check(s->row_first == rows && s->seat_first == seats);
		check_section(v, s);
		rows += s->row_count;
		seats += s->seat_count;
	}
	check(rows == v->row_count && seats == v->seat_count);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char err[VFILE_ERR_BYTES], err_again[VFILE_ERR_BYTES];
	struct vfile *a = vfile_new(), *b = vfile_new();
	char *text = malloc(size ? size : 1);
	int rc;

	check(a && b && text);
	memcpy(text, data, size); /* exactly size bytes: ASan sees a read past them */
	err[0] = 0;
	rc = vfile_parse(a, "fuzz.venue", text, size, NOW_MS, err, sizeof err);
	check(rc == 0 || rc == -EINVAL);
	if (rc) {
		check(strncmp(err, "fuzz.venue:", 11) == 0);
	} else {
		check_venue(a);
		check(vfile_parse(b, "fuzz.venue", text, size, NOW_MS, err_again,
				  sizeof err_again) == 0);
		check(memcmp(&a->event, &b->event, sizeof a->event) == 0);
		check(a->section_count == b->section_count && a->row_count == b->row_count &&
		      a->seat_count == b->seat_count && a->tier_mask == b->tier_mask);
		check(memcmp(a->rows, b->rows, a->row_count * sizeof a->rows[0]) == 0);
		check(memcmp(a->seats, b->seats, a->seat_count * sizeof a->seats[0]) == 0);
	}
	vfile_free(a);
	vfile_free(b);
	free(text);
	return 0;
}
