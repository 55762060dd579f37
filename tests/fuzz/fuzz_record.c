/*
 * fuzz_record.c — libFuzzer target for WAL record bodies (core/record.c).
 *
 * Recovery hands rec_decode every body the WAL reader returns; a body that
 * passed its checksums may still be nonsense (a bug that wrote it, a disk
 * that returned another record's bytes, a hand-edited log), so decoding
 * must refuse what it cannot read and never read past the body. Every body
 * that decodes is also held to the codec's round trip: it encodes again to
 * the same length, and that encoding decodes and encodes to the very same
 * bytes (reserved bytes may differ from the input only: they are ignored
 * going in and written as zero going out). A broken promise aborts.
 *
 * Built by `make fuzz` and `make test` (clang, -fsanitize=fuzzer,address,
 * undefined); corpus in tests/fuzz/corpus-record.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/bytes.h"
#include "core/limits.h"
#include "core/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rec r1, r2;
static struct row_spec rows[SECTION_ROWS_MAX];
static struct seat_spec seats[SECTION_SEATS_MAX];
static uint8_t once[RECORD_BYTES_MAX], twice[RECORD_BYTES_MAX];

static void check(int ok)
{
	if (!ok)
		abort();
}

/* A decoded section keeps its rows and seats encoded; the encoder takes
 * them from a command, so they are read back here (layout in record.h). */
static void section_cmd(const struct rec *r, struct cmd_section *sec)
{
	memset(sec, 0, sizeof *sec);
	memcpy(sec->name, r->section.name, NAME_BYTES);
	sec->row_count = r->section.row_count;
	sec->rows = rows;
	sec->seats = seats;
	for (uint16_t i = 0; i < r->section.row_count; i++) {
		const uint8_t *p = r->section.rows + 16 * i;

		memcpy(rows[i].label, p, sizeof rows[i].label);
		rows[i].seat_count = get_u16(p + 8);
		rows[i].first_number = get_u16(p + 10);
	}
	for (uint32_t i = 0; i < r->section.seat_count; i++) {
		const uint8_t *p = r->section.seats + 4 * i;

		seats[i].tier = p[0];
		seats[i].flags = p[1];
		seats[i].rank = get_u16(p + 2);
	}
}

static size_t encode(const struct rec *r, uint8_t *out)
{
	struct cmd_section sec;

	if (r->type == CMD_SECTION_LOAD)
		section_cmd(r, &sec);
	return rec_encode(r, r->type == CMD_SECTION_LOAD ? &sec : NULL, out, RECORD_BYTES_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n1, n2;

	/* A copy of exactly size bytes, so ASan sees a read past the body. */
	uint8_t *body = malloc(size ? size : 1);

	check(body != NULL);
	memcpy(body, data, size);
	if (rec_decode(body, size, &r1) == ST_OK) {
		check(rec_type_name(r1.type)[0] != 'u'); /* a known type */
		n1 = encode(&r1, once);
		check(n1 == size);
		check(rec_decode(once, n1, &r2) == ST_OK);
		n2 = encode(&r2, twice);
		check(n2 == n1 && memcmp(once, twice, n1) == 0);
	}
	free(body);
	return 0;
}
