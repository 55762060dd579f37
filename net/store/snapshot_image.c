/*
 * snapshot_image.c — the bytes of a snapshot file: its name, its header
 * (byte table in snapshot.h), the image a writer writes and the checks a
 * loader makes of one.
 *
 * No I/O here: the writers (snapshot.c through the shard's storage, the
 * forked one in snapshot_fork.c with plain syscalls) and the loader
 * (snapshot.c) all call down into this file, and it calls neither, so the
 * two writers share the format without calling each other.
 */
#include "net/store/snapshot.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#define XXH_STATIC_LINKING_ONLY /* XXH3_state_t on the stack */
#include <xxhash.h>

#include "core/serial.h"
#include "core/bytes.h"

#define SNAPSHOT_MAGIC 0x504e534fu /* "OSNP" little-endian */
#define SNAPSHOT_VERSION 1

enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_SHARD = 5,
	OFF_RESERVED = 6,
	OFF_LSN = 8,
	OFF_CHAIN = 16,
	OFF_BODY_BYTES = 32,
	OFF_BODY_SUM = 40,
	OFF_STATE_HASH = 56,
	OFF_HEADER_SUM = 72,
};
_Static_assert(OFF_HEADER_SUM + 16 == SNAPSHOT_HEADER_BYTES, "header table adds up");

/* ---- little-endian fields ------------------------------------------- */

static void put_sum(uint8_t *p, XXH128_hash_t h)
{
	put_u64(p, h.low64);
	put_u64(p + 8, h.high64);
}

static bool sum_eq(const uint8_t *p, XXH128_hash_t h)
{
	return get_u64(p) == h.low64 && get_u64(p + 8) == h.high64;
}

static uint64_t round_page(uint64_t v)
{
	return (v + WAL_PAGE_BYTES - 1) & ~(uint64_t)(WAL_PAGE_BYTES - 1);
}

/* ---- names ----------------------------------------------------------- */

void snapshot_file_name(char *out, size_t cap, uint64_t lsn, bool temp)
{
	snprintf(out, cap, "snap-%020" PRIu64 ".osnp%s", lsn, temp ? ".tmp" : "");
}

/* 0 and *lsn when name is a snapshot name ("snap-<20 digits>.osnp"). */
int snapshot_parse_name(const char *name, uint64_t *lsn, bool temp)
{
	size_t len = strlen(name), want = SNAPSHOT_NAME_BYTES - 1 + (temp ? 4 : 0);
	if (len != want || memcmp(name, "snap-", 5) || memcmp(name + 25, ".osnp", 5))
		return -EINVAL;
	if (temp && strcmp(name + 30, ".tmp"))
		return -EINVAL;
	uint64_t v = 0;
	for (int i = 5; i < 25; i++) {
		if (name[i] < '0' || name[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(name[i] - '0');
	}
	*lsn = v;
	return 0;
}

/* ---- the image --------------------------------------------------------- */

struct fill {
	uint8_t *at;
};

static void fill_write(void *ctx, const void *bytes, size_t len)
{
	struct fill *f = ctx;
	memcpy(f->at, bytes, len);
	f->at += len;
}

static void encode_header(uint8_t *h, uint8_t shard, uint64_t lsn, const uint8_t chain[16],
			  uint64_t body_bytes, XXH128_hash_t body_sum)
{
	memset(h, 0, SNAPSHOT_HEADER_BYTES);
	put_u32(h + OFF_MAGIC, SNAPSHOT_MAGIC);
	h[OFF_VERSION] = SNAPSHOT_VERSION;
	h[OFF_SHARD] = shard;
	put_u64(h + OFF_LSN, lsn);
	memcpy(h + OFF_CHAIN, chain, 16);
	put_u64(h + OFF_BODY_BYTES, body_bytes);
	put_sum(h + OFF_BODY_SUM, body_sum);
	put_sum(h + OFF_STATE_HASH, body_sum); /* core_state_hash = XXH3-128 of the stream */
	put_sum(h + OFF_HEADER_SUM, XXH3_128bits(h, OFF_HEADER_SUM));
}

void snapshot_image_header(uint8_t *h, uint8_t shard, uint64_t lsn, const uint8_t chain[16],
			   uint64_t body_bytes, const uint8_t body_sum[16])
{
	XXH128_hash_t sum = {get_u64(body_sum), get_u64(body_sum + 8)};
	encode_header(h, shard, lsn, chain, body_bytes, sum);
}

void snapshot_image_info(struct snapshot_info *out, const uint8_t *h, uint64_t lsn)
{
	if (!out)
		return;
	out->lsn = get_u64(h + OFF_LSN);
	memcpy(out->chain, h + OFF_CHAIN, 16);
	out->shard = h[OFF_SHARD];
	out->body_bytes = get_u64(h + OFF_BODY_BYTES);
	out->hash = (struct state_hash){get_u64(h + OFF_STATE_HASH),
					get_u64(h + OFF_STATE_HASH + 8)};
	snapshot_file_name(out->name, sizeof out->name, lsn, false);
}

int snapshot_image(const struct core *c, uint64_t lsn, const uint8_t chain[16], uint8_t **out,
		   uint64_t *out_bytes)
{
	static const uint8_t zero[16];
	if (!lsn && memcmp(chain, zero, 16))
		return -EINVAL;
	uint64_t body_bytes = core_serialized_bytes(c);
	uint64_t img_bytes = round_page(SNAPSHOT_HEADER_BYTES + body_bytes);
	/* MAP_POPULATE maps every page in one go: faulting 60 MB page by page
	 * while serializing cost more than the serializing itself. */
	uint8_t *img = mmap(NULL, img_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (img == MAP_FAILED)
		return -ENOMEM;
	struct fill f = {img + SNAPSHOT_HEADER_BYTES};
	struct serial_sink sink = {fill_write, &f};
	core_serialize(c, &sink);
	assert((uint64_t)(f.at - img) == SNAPSHOT_HEADER_BYTES + body_bytes);
	memset(f.at, 0, img_bytes - SNAPSHOT_HEADER_BYTES - body_bytes);
	XXH128_hash_t sum = XXH3_128bits(img + SNAPSHOT_HEADER_BYTES, body_bytes);
#ifdef ONSALE_DEBUG_CHECKS
	struct state_hash h = core_state_hash(c);
	assert(h.lo == sum.low64 && h.hi == sum.high64);
#endif
	encode_header(img, core_shard_id(c), lsn, chain, body_bytes, sum);
	*out = img;
	*out_bytes = img_bytes;
	return 0;
}

/* ---- checking an image ------------------------------------------------- */

/* Checks a header: NULL when it verifies, else what is wrong. */
static const char *check_header(const uint8_t *h, uint8_t shard, uint64_t name_lsn,
				uint64_t file_bytes)
{
	static const uint8_t zero[16];
	if (!sum_eq(h + OFF_HEADER_SUM, XXH3_128bits(h, OFF_HEADER_SUM)))
		return "bad header checksum";
	if (get_u32(h + OFF_MAGIC) != SNAPSHOT_MAGIC || h[OFF_VERSION] != SNAPSHOT_VERSION ||
	    h[OFF_RESERVED] || h[OFF_RESERVED + 1])
		return "bad magic, version or reserved field";
	if (h[OFF_SHARD] != shard)
		return "written by another shard";
	if (get_u64(h + OFF_LSN) != name_lsn)
		return "LSN differs from the file name";
	if (!name_lsn && memcmp(h + OFF_CHAIN, zero, 16))
		return "chain value without a record";
	if (get_u64(h + OFF_BODY_BYTES) > file_bytes - SNAPSHOT_HEADER_BYTES)
		return "body longer than the file";
	return NULL;
}

/* The body as core_deserialize_from reads it: the pieces of the file
 * after the header, cut at the body's end, summed as they pass. */
struct body {
	struct serial_source *file;
	const uint8_t *first; /* what the header's piece held of the body */
	size_t first_len;
	uint64_t left; /* body bytes not yet given */
	XXH3_state_t sum;
};

static size_t body_read(void *ctx, const uint8_t **bytes)
{
	struct body *b = ctx;
	size_t n = b->first_len;
	if (b->first && n) /* the header's piece held some of the body */
		*bytes = b->first;
	else
		n = b->left ? b->file->read(b->file->ctx, bytes) : 0;
	b->first = NULL, b->first_len = 0;
	n = n < b->left ? n : (size_t)b->left;
	b->left -= n;
	if (n)
		XXH3_128bits_update(&b->sum, *bytes, n);
	return n;
}

const char *snapshot_image_check_from(struct serial_source *file, uint64_t file_bytes,
				      uint8_t shard, uint64_t lsn, struct core **out,
				      uint8_t header[SNAPSHOT_HEADER_BYTES])
{
	const uint8_t *p = NULL;
	size_t n = file->read(file->ctx, &p);
	if (n < SNAPSHOT_HEADER_BYTES || file_bytes < SNAPSHOT_HEADER_BYTES)
		return "shorter than its header";
	memcpy(header, p, SNAPSHOT_HEADER_BYTES); /* the piece is the reader's to reuse */
	const char *bad = check_header(header, shard, lsn, file_bytes);
	if (bad)
		return bad;
	struct body b = {.file = file,
			 .first = p + SNAPSHOT_HEADER_BYTES,
			 .first_len = n - SNAPSHOT_HEADER_BYTES,
			 .left = get_u64(header + OFF_BODY_BYTES)};
	struct serial_source body = {body_read, &b};
	const char *why = "state refused";
	XXH3_128bits_reset(&b.sum);
	struct core *c = core_deserialize_from(&body, b.left, &why);
	while (b.left && body_read(&b, &p)) /* a refused stream: is it damage? */
		;
	if (b.left)
		why = "shorter than its size";
	else if (!sum_eq(header + OFF_BODY_SUM, XXH3_128bits_digest(&b.sum)))
		why = "bad body checksum";
	else if (c)
		why = NULL;
	if (why) {
		core_destroy(c);
		return why;
	}
	struct state_hash h = core_state_hash(c);
	if (core_shard_id(c) != shard || h.lo != get_u64(header + OFF_STATE_HASH) ||
	    h.hi != get_u64(header + OFF_STATE_HASH + 8)) {
		core_destroy(c);
		return "state hash differs from the header";
	}
	*out = c;
	return NULL;
}

const char *snapshot_image_check(const uint8_t *img, uint64_t file_bytes, uint8_t shard,
				 uint64_t lsn, struct core **out)
{
	struct serial_bytes whole = {img, file_bytes};
	struct serial_source file = {serial_bytes_read, &whole};
	uint8_t header[SNAPSHOT_HEADER_BYTES];
	return snapshot_image_check_from(&file, file_bytes, shard, lsn, out, header);
}
