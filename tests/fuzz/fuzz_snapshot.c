/*
 * fuzz_snapshot.c — libFuzzer target for snapshots: the state stream
 * (core/serial.c core_deserialize) and the file around it
 * (net/store/snapshot_image.c snapshot_image_check).
 *
 * A snapshot is read back at every start; a damaged one must be refused
 * with a reason (the loader then falls back to an older one or to the WAL),
 * never crash the shard or load a state that breaks an invariant. Three
 * ways in, by the first byte:
 *
 * - top bit clear: the bytes are a state stream. A stream that loads must
 *   pass core_check_invariants (core_deserialize checks it) and survive a
 *   round trip: serialized again it loads again, to the same bytes. Read
 *   in pieces (core_deserialize_from, as snapshot files are loaded), cut
 *   where its own bytes say, it must be refused for the same reason or
 *   load the same state.
 * - 0x80-0xbf: the rest is a stream wrapped by the harness in a header
 *   with the right checksums and LSN, so the file checks pass and the
 *   stream and state hash checks are reached through snapshot_image_check.
 * - 0xc0-0xff: the rest is a whole snapshot file as found on disk.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>
#include "core/bytes.h"
#include "core/serial.h"
#include "net/store/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SHARD 2
#define LSN 7

static void check(int ok)
{
	if (!ok)
		abort();
}

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static void buf_write(void *ctx, const void *bytes, size_t len)
{
	struct buf *b = ctx;

	check(b->len + len <= b->cap);
	memcpy(b->p + b->len, bytes, len);
	b->len += len;
}

static struct buf serialize(const struct core *c)
{
	struct buf b = {NULL, 0, core_serialized_bytes(c)};
	struct serial_sink sink = {buf_write, &b};

	b.p = malloc(b.cap ? b.cap : 1);
	check(b.p != NULL);
	core_serialize(c, &sink);
	check(b.len == b.cap);
	return b;
}

/* Pieces of 1 to 64 bytes, each as long as the byte it starts with says. */
struct pieces {
	const uint8_t *p;
	size_t left;
};

static size_t piece_read(void *ctx, const uint8_t **bytes)
{
	struct pieces *q = ctx;
	size_t n = q->left ? 1u + q->p[0] % 64u : 0;

	n = n < q->left ? n : q->left;
	*bytes = q->p;
	q->p += n, q->left -= n;
	return n;
}

static void stream(const uint8_t *data, size_t size)
{
	const char *why = NULL, *why_pieces = NULL;
	struct core *c = core_deserialize(data, size, &why), *again;
	struct pieces q = {data, size};
	struct serial_source src = {piece_read, &q};
	struct core *in_pieces = core_deserialize_from(&src, size, &why_pieces);
	struct buf one, two;

	check((c == NULL) == (in_pieces == NULL));
	if (!c) {
		check(why != NULL && why_pieces != NULL && strcmp(why, why_pieces) == 0);
		return;
	}
	struct state_hash h1 = core_state_hash(c), h2 = core_state_hash(in_pieces);
	check(h1.lo == h2.lo && h1.hi == h2.hi);
	core_destroy(in_pieces);
	check(core_check_invariants(c) == NULL);
	one = serialize(c);
	again = core_deserialize(one.p, one.len, &why);
	check(again != NULL);
	two = serialize(again);
	check(one.len == two.len && memcmp(one.p, two.p, one.len) == 0);
	free(one.p);
	free(two.p);
	core_destroy(again);
	core_destroy(c);
}

static void put_sum(uint8_t *p, XXH128_hash_t h)
{
	put_u64(p, h.low64);
	put_u64(p + 8, h.high64);
}

/* Header layout in net/store/snapshot.h. */
static void wrapped(const uint8_t *body, size_t size)
{
	size_t n = SNAPSHOT_HEADER_BYTES + size;
	uint8_t *img = calloc(1, n);
	struct core *c = NULL;
	XXH128_hash_t sum = XXH3_128bits(body, size);

	check(img != NULL);
	put_u32(img, 0x504e534fu); /* "OSNP" */
	img[4] = 1;
	img[5] = SHARD;
	put_u64(img + 8, LSN);
	memset(img + 16, 0x5a, 16);
	put_u64(img + 32, size);
	put_sum(img + 40, sum);
	put_sum(img + 56, sum);
	put_sum(img + 72, XXH3_128bits(img, 72));
	memcpy(img + SNAPSHOT_HEADER_BYTES, body, size);
	if (snapshot_image_check(img, n, SHARD, LSN, &c) == NULL) {
		check(c != NULL && core_shard_id(c) == SHARD);
		core_destroy(c);
	}
	free(img);
}

static void file(const uint8_t *img, size_t size)
{
	struct core *c = NULL;

	if (size < SNAPSHOT_HEADER_BYTES) /* the loader refuses these before */
		return;
	if (snapshot_image_check(img, size, SHARD, get_u64(img + 8), &c) == NULL) {
		check(c != NULL);
		core_destroy(c);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy = malloc(size ? size : 1);

	check(copy != NULL);
	memcpy(copy, data, size); /* exactly size bytes: ASan sees a read past them */
	if (size == 0 || !(copy[0] & 0x80))
		stream(copy, size);
	else if (!(copy[0] & 0x40))
		wrapped(copy + 1, size - 1);
	else
		file(copy + 1, size - 1);
	free(copy);
	return 0;
}
