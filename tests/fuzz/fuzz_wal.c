/*
 * fuzz_wal.c — libFuzzer target for WAL frames, segment headers and the
 * recovery reader (core/wal_format.c, net/wal/wal_read.c).
 *
 * What recovery reads from disk is whatever a crash, a bad disk or a
 * careless operator left there. Two ways in:
 *
 * - Raw (first byte's top bit clear): the bytes are a frame and a segment
 *   header as found on disk. Whatever verifies must describe a frame inside
 *   the bytes given, and encoding its fields again must verify to the same
 *   fields and the same chain value.
 *
 * - Structured (top bit set): checksums stop raw bytes at the first check,
 *   so the input is a recipe for a log instead, written to the simulated
 *   disk of tests/support and read back by wal_read. Byte 1 picks the
 *   segment count (1-3); then chunks of [op][len u16][len bytes]: op & 3 is
 *   0 a good frame of that body, 1 a good frame then a byte of it flipped,
 *   2 the bytes raw (torn or foreign data), 3 the next segment. Op bit 2
 *   sets the frame's synced_lsn to its own LSN - 1. The reader must end
 *   with a status, hand out only records it verified in LSN order, and
 *   never crash, leak or read past what it was given.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/bytes.h"
#include "core/wal_format.h"
#include "net/wal/wal_read.h"
#include "tests/support/sim_disk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SHARD 3
#define SEGMENTS 3
#define SEGMENT_BYTES (64u << 10)

static uint8_t frame[WALFMT_FRAME_BYTES_MAX];

static void check(int ok)
{
	if (!ok)
		abort();
}

static void raw(const uint8_t *data, size_t size)
{
	struct walfmt_frame f, h, again;
	struct walfmt_segment s, s2;
	uint8_t seg[WALFMT_SEGMENT_HEADER_BYTES];

	if (walfmt_decode_header(data, size, SHARD, &h) == WALFMT_OK)
		check(h.frame_bytes >= WALFMT_FRAME_HEADER_BYTES + h.body_bytes && h.lsn);
	if (walfmt_decode(data, size, SHARD, &f) == WALFMT_OK) {
		check(f.frame_bytes <= size && f.body == data + WALFMT_FRAME_HEADER_BYTES);
		if (f.lsn > f.synced_lsn) { /* the encoder's precondition */
			walfmt_encode(frame, SHARD, f.lsn, f.synced_lsn, f.prev_chain, f.body,
				      f.body_bytes);
			check(walfmt_decode(frame, f.frame_bytes, SHARD, &again) == WALFMT_OK);
			check(again.lsn == f.lsn && again.body_bytes == f.body_bytes);
			check(memcmp(again.body, f.body, f.body_bytes) == 0);
		}
	}
	if (walfmt_segment_decode(data, size, SHARD, &s) == WALFMT_OK) {
		walfmt_segment_encode(seg, &s);
		check(walfmt_segment_decode(seg, sizeof seg, SHARD, &s2) == WALFMT_OK);
		check(s2.first_lsn == s.first_lsn && s2.segment == s.segment);
	}
}

struct log {
	struct sim_disk *disk;
	struct storage st;
	uint64_t segment, lsn, off;
	struct walfmt_sum chain;
	char name[STORAGE_NAME_BYTES_MAX];
};

static void segment_start(struct log *l)
{
	struct walfmt_segment s = {l->segment, l->lsn, SEGMENT_BYTES, l->chain, SHARD};
	uint8_t hdr[WALFMT_SEGMENT_HEADER_BYTES];
	int file;

	wal_segment_name(l->name, sizeof l->name, SHARD, l->segment);
	file = storage_create(&l->st, l->name, SEGMENT_BYTES);
	check(file > 0);
	storage_close(&l->st, file);
	walfmt_segment_encode(hdr, &s);
	check(sim_disk_poke(l->disk, l->name, 0, hdr, sizeof hdr) == 0);
	l->off = WALFMT_SEGMENT_HEADER_BYTES;
}

/* One chunk of the recipe; returns the bytes it used, 0 at the end. */
static size_t chunk(struct log *l, const uint8_t *p, size_t size)
{
	uint8_t op;
	uint32_t len, n;

	if (size < 3)
		return 0;
	op = p[0];
	len = get_u16(p + 1);
	len = len > size - 3 ? (uint32_t)(size - 3) : len;
	if ((op & 3) == 3) {
		l->segment++;
		segment_start(l);
		return 3;
	}
	if ((op & 3) == 2) {
		n = len;
		memcpy(frame, p + 3, n);
	} else {
		l->chain = walfmt_encode(frame, SHARD, l->lsn, (op & 4) ? l->lsn - 1 : 0, l->chain,
					 p + 3, len);
		n = walfmt_frame_bytes(len);
		l->lsn++;
		if ((op & 3) == 1)
			frame[(op >> 3) % n] ^= 1;
	}
	if (l->off + n > SEGMENT_BYTES)
		return 0;
	check(sim_disk_poke(l->disk, l->name, l->off, frame, n) == 0);
	l->off += n;
	return 3 + len;
}

struct seen {
	uint64_t next, records;
};

static int on_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t body_bytes)
{
	struct seen *s = ctx;

	check(lsn == s->next && body_bytes <= RECORD_BYTES_MAX && (body || !body_bytes));
	s->next++;
	s->records++;
	return 0;
}

static void structured(const uint8_t *data, size_t size)
{
	struct log l = {.lsn = 1};
	struct seen seen = {1, 0};
	struct wal_scan scan;
	size_t off = 2, used;
	unsigned segments = 0;

	if (size < 2)
		return;
	l.disk = sim_disk_create(data[1]);
	sim_disk_storage(l.disk, &l.st);
	segment_start(&l);
	while (segments < SEGMENTS && (used = chunk(&l, data + off, size - off)) > 0) {
		segments += (data[off] & 3) == 3;
		off += used;
	}
	check(wal_read(&l.st, SHARD, 1, on_record, &seen, &scan) == 0);
	check(scan.records == seen.records && scan.status <= WAL_READ_CORRUPT);
	check(scan.status == WAL_READ_CORRUPT || scan.end.next_lsn == seen.next);
	storage_destroy(&l.st);
	sim_disk_destroy(l.disk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	check(copy != NULL);
	memcpy(copy, data, size); /* exactly size bytes: ASan sees a read past them */
	if (size > 0 && (copy[0] & 0x80))
		structured(copy, size);
	else
		raw(copy, size);
	free(copy);
	return 0;
}
