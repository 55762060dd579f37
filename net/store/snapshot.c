/*
 * snapshot.c — snapshot files (contract and byte table in snapshot.h, the
 * policy that decides when to take one in shard_store.c, the story in
 * docs/WAL.md).
 *
 * Writing: the state is serialized into one page-aligned buffer behind the
 * header (a memory copy of the whole state), checksummed once (the body sum
 * is the state hash: core_state_hash hashes exactly this stream), then
 * written to "snap-<lsn>.osnp.tmp", fsynced, renamed to its final name and
 * the directory fsynced. The file is padded with zeros to whole pages so the
 * same code works on O_DIRECT storage. A crash at any point leaves either
 * the old set of snapshots or the new one plus maybe a temp file, which
 * loading ignores and snapshot_remove_temps deletes.
 *
 * Loading trusts nothing it has not checked: header sum first, then the
 * fields, the body sum, core_deserialize (every field and invariant), and
 * finally the state hash of the loaded core against the header. A damaged
 * snapshot is skipped with a line in `why` and the next older one is tried.
 */
#include "net/store/snapshot.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xxhash.h>

#include "core/serial.h"
#include "core/bytes.h"

#define SNAPSHOT_MAGIC 0x504e534fu /* "OSNP" little-endian */
#define SNAPSHOT_VERSION 1
#define SNAPSHOTS_LISTED_MAX 256u /* snapshot files looked at when loading */
#define SNAPSHOT_COOKIE (0x534e4150ull << 32) /* "SNAP": not a WAL cookie */

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
_Static_assert(SNAPSHOT_IO_CHUNK_BYTES % WAL_PAGE_BYTES == 0, "chunks keep O_DIRECT alignment");

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

/* ---- synchronous I/O over the asynchronous interface ------------------ */

/* Waits for the one operation in flight (snapshot I/O runs only when the
 * shard's WAL has nothing in flight, so any other completion is a bug). */
static int wait_op(struct storage *st)
{
	struct storage_cqe cq;
	for (;;) {
		int n = storage_poll(st, &cq, 1, 1);
		if (n < 0 && n != -EINTR && n != -EAGAIN)
			return n;
		if (n == 1)
			return cq.cookie == SNAPSHOT_COOKIE ? cq.res : -EPROTO;
	}
}

/* Writes the chunk of buf that starts at done. The bytes now done, or
 * -errno. A short write is finished from a page boundary (O_DIRECT). */
static int64_t write_chunk(struct storage *st, int file, const uint8_t *buf, uint64_t len,
			   uint64_t done)
{
	uint64_t left = len - done;
	uint32_t n = left < SNAPSHOT_IO_CHUNK_BYTES ? (uint32_t)left : SNAPSHOT_IO_CHUNK_BYTES;
	int rc = storage_write(st, file, buf + done, n, done, SNAPSHOT_COOKIE);
	if (!rc)
		rc = storage_submit(st);
	if (!rc)
		rc = wait_op(st);
	if (rc == -EINTR || rc == -EAGAIN)
		return (int64_t)done;
	if (rc <= 0)
		return rc < 0 ? rc : -EIO;
	return (int64_t)(done + ((uint64_t)rc & ~(uint64_t)(WAL_PAGE_BYTES - 1)));
}

static int sync_file(struct storage *st, int file)
{
	int rc = storage_fsync(st, file, SNAPSHOT_COOKIE);
	if (!rc)
		rc = storage_submit(st);
	return rc ? rc : wait_op(st);
}

static int write_all(struct storage *st, int file, const uint8_t *buf, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		int64_t now = write_chunk(st, file, buf, len, done);
		if (now < 0)
			return (int)now;
		done = (uint64_t)now;
	}
	return sync_file(st, file);
}

static int read_all(struct storage *st, int file, uint8_t *buf, uint64_t len)
{
	for (uint64_t done = 0; done < len;) {
		uint64_t left = len - done;
		uint32_t n = left < SNAPSHOT_IO_CHUNK_BYTES ? (uint32_t)left : SNAPSHOT_IO_CHUNK_BYTES;
		int64_t got = storage_read(st, file, buf + done, n, done);
		if (got < 0)
			return (int)got;
		if ((uint64_t)got < n)
			return -ENODATA; /* the file is shorter than its size said */
		done += n;
	}
	return 0;
}

/* ---- writing ---------------------------------------------------------- */

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

static void fill_info(struct snapshot_info *out, const uint8_t *h, uint64_t lsn)
{
	if (!out)
		return;
	out->lsn = get_u64(h + OFF_LSN);
	memcpy(out->chain, h + OFF_CHAIN, 16);
	out->shard = h[OFF_SHARD];
	out->body_bytes = get_u64(h + OFF_BODY_BYTES);
	out->hash = (struct state_hash){get_u64(h + OFF_STATE_HASH), get_u64(h + OFF_STATE_HASH + 8)};
	snapshot_file_name(out->name, sizeof out->name, lsn, false);
}

/* Writes the finished image under a temp name, syncs, renames into place. */
static int publish(struct storage *st, const uint8_t *img, uint64_t img_bytes, uint64_t lsn)
{
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, lsn, true);
	snapshot_file_name(name, sizeof name, lsn, false);
	int rc = storage_unlink(st, tmp); /* a leftover of a crashed attempt */
	if (rc && rc != -ENOENT)
		return rc;
	int file = storage_create(st, tmp, img_bytes);
	if (file < 0)
		return file;
	rc = write_all(st, file, img, img_bytes);
	storage_close(st, file);
	if (rc)
		goto out_unlink_tmp;
	rc = storage_rename(st, tmp, name);
	if (rc)
		goto out_unlink_tmp;
	return storage_sync_dir(st);

out_unlink_tmp:
	storage_unlink(st, tmp);
	return rc;
}

int snapshot_image(const struct core *c, uint64_t lsn, const uint8_t chain[16],
		      uint8_t **out, uint64_t *out_bytes)
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

int snapshot_write(struct storage *st, const struct core *c, uint64_t lsn,
		   const uint8_t chain[16], struct snapshot_info *out)
{
	uint8_t *img;
	uint64_t img_bytes;
	int rc = snapshot_image(c, lsn, chain, &img, &img_bytes);
	if (rc)
		return rc;
	rc = publish(st, img, img_bytes, lsn);
	if (!rc)
		fill_info(out, img, lsn);
	munmap(img, img_bytes);
	return rc;
}

/* ---- a snapshot written while the shard keeps serving ------------------ */

int snapshot_job_begin(struct snapshot_job *j, const struct core *c, uint64_t lsn,
		       const uint8_t chain[16])
{
	memset(j, 0, sizeof *j);
	j->lsn = lsn;
	j->step = SNAPSHOT_STEP_CREATE;
	return snapshot_image(c, lsn, chain, &j->img, &j->img_bytes);
}

/* Renames the written temp file into place once the WAL is durable up to
 * its LSN (1: not yet). */
static int step_rename(struct snapshot_job *j, struct storage *st)
{
	if (j->durable_lsn < j->lsn)
		return 1;
	char tmp[40], name[40];
	snapshot_file_name(tmp, sizeof tmp, j->lsn, true);
	snapshot_file_name(name, sizeof name, j->lsn, false);
	int rc = storage_rename(st, tmp, name);
	if (rc)
		return rc;
	j->step = SNAPSHOT_STEP_SYNC_DIR;
	return 1;
}

static int step_create(struct snapshot_job *j, struct storage *st)
{
	char tmp[40];
	snapshot_file_name(tmp, sizeof tmp, j->lsn, true);
	int rc = storage_unlink(st, tmp); /* a leftover of a crashed attempt */
	if (rc && rc != -ENOENT)
		return rc;
	rc = storage_create(st, tmp, j->img_bytes);
	if (rc < 0)
		return rc;
	j->file = rc;
	j->step = SNAPSHOT_STEP_WRITE;
	return 1;
}

/* One step of an in-process job (each is one synchronous operation). */
static int step(struct snapshot_job *j, struct storage *st)
{
	int rc;
	int64_t done;
	switch (j->step) {
	case SNAPSHOT_STEP_CREATE:
		return step_create(j, st);
	case SNAPSHOT_STEP_WRITE:
		done = write_chunk(st, j->file, j->img, j->img_bytes, j->written);
		if (done < 0)
			return (int)done;
		j->written = (uint64_t)done;
		if (j->written == j->img_bytes)
			j->step = SNAPSHOT_STEP_SYNC;
		return 1;
	case SNAPSHOT_STEP_SYNC:
		rc = sync_file(st, j->file);
		storage_close(st, j->file);
		j->file = 0;
		if (rc)
			return rc;
		j->step = SNAPSHOT_STEP_RENAME;
		return 1;
	case SNAPSHOT_STEP_RENAME:
		return step_rename(j, st);
	case SNAPSHOT_STEP_SYNC_DIR:
		rc = storage_sync_dir(st);
		if (rc)
			return rc;
		j->step = SNAPSHOT_STEP_PUBLISHED;
		return 0;
	case SNAPSHOT_STEP_PUBLISHED:
		return 0;
	}
	assert(0 && "a snapshot step out of range");
	return -EINVAL;
}

int snapshot_job_poll(struct snapshot_job *j, struct storage *st, bool block)
{
	if (j->pid)
		return snapshot_fork_poll(j, block);
	int rc;
	do
		rc = step(j, st);
	while (rc == 1 && block && !(j->step == SNAPSHOT_STEP_RENAME && j->durable_lsn < j->lsn));
	return rc;
}

void snapshot_job_end(struct snapshot_job *j, struct storage *st)
{
	snapshot_fork_end(j);
	if (j->file)
		storage_close(st, j->file);
	j->file = 0;
	if (j->img)
		munmap(j->img, j->img_bytes);
	j->img = NULL;
}

/* ---- loading ---------------------------------------------------------- */

void snapshot_vnote(char *why, size_t cap, const char *fmt, va_list ap)
{
	size_t used;

	if (!why || !cap)
		return;
	used = strnlen(why, cap);
	if (used + 1 < cap)
		vsnprintf(why + used, cap - used, fmt, ap);
}

void snapshot_note(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	snapshot_vnote(why, cap, fmt, ap);
	va_end(ap);
}

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

/* Verifies a whole image; on success *out is the loaded core. */
static const char *check_image(const uint8_t *img, uint64_t file_bytes, uint8_t shard,
			       uint64_t lsn, struct core **out)
{
	const char *bad = check_header(img, shard, lsn, file_bytes);
	if (bad)
		return bad;
	uint64_t body_bytes = get_u64(img + OFF_BODY_BYTES);
	const uint8_t *body = img + SNAPSHOT_HEADER_BYTES;
	if (!sum_eq(img + OFF_BODY_SUM, XXH3_128bits(body, body_bytes)))
		return "bad body checksum";
	const char *why = "state refused";
	struct core *c = core_deserialize(body, body_bytes, &why);
	if (!c)
		return why;
	struct state_hash h = core_state_hash(c);
	if (core_shard_id(c) != shard || h.lo != get_u64(img + OFF_STATE_HASH) ||
	    h.hi != get_u64(img + OFF_STATE_HASH + 8)) {
		core_destroy(c);
		return "state hash differs from the header";
	}
	*out = c;
	return NULL;
}

/* Reads and verifies snapshot lsn. 0 (*out set), 1 (damaged: reported), or
 * -errno on an I/O error. */
static int load_one(struct storage *st, uint8_t shard, uint64_t lsn, struct core **out,
		    struct snapshot_info *info, char *why, size_t why_cap)
{
	char name[40];
	uint64_t bytes;
	snapshot_file_name(name, sizeof name, lsn, false);
	int file = storage_open(st, name);
	if (file < 0)
		return file;
	int rc = storage_size(st, file, &bytes);
	if (rc)
		goto out_close;
	const char *bad = "shorter than its header";
	uint8_t *img = NULL;
	if (bytes >= SNAPSHOT_HEADER_BYTES) {
		rc = -ENOMEM;
		img = aligned_alloc(WAL_PAGE_BYTES, round_page(bytes));
		if (!img)
			goto out_close;
		rc = read_all(st, file, img, bytes);
		if (rc == -ENODATA)
			bad = "shorter than its size";
		else if (rc)
			goto out_free_img;
		else
			bad = check_image(img, bytes, shard, lsn, out);
	}
	rc = 1;
	if (!bad) {
		fill_info(info, img, lsn);
		rc = 0;
	} else {
		snapshot_note(why, why_cap, "%s: %s, skipped; ", name, bad);
	}
out_free_img:
	free(img);
out_close:
	storage_close(st, file);
	return rc;
}

struct snap_list {
	uint64_t lsn[SNAPSHOTS_LISTED_MAX];
	size_t count;
	bool temps; /* list temp files instead */
	int err;
};

static int list_one(void *ctx, const char *name)
{
	struct snap_list *l = ctx;
	uint64_t lsn;
	if (snapshot_parse_name(name, &lsn, l->temps))
		return 0;
	if (l->count == SNAPSHOTS_LISTED_MAX) {
		l->err = -EMFILE;
		return 1;
	}
	l->lsn[l->count++] = lsn;
	return 0;
}

static int cmp_desc(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x > y ? -1 : x < y;
}

static int list_snapshots(struct storage *st, struct snap_list *l, bool temps)
{
	l->count = 0;
	l->temps = temps;
	l->err = 0;
	int rc = storage_list(st, list_one, l);
	if (l->err)
		return l->err;
	if (rc < 0)
		return rc;
	qsort(l->lsn, l->count, sizeof *l->lsn, cmp_desc);
	return 0;
}

int snapshot_load_newest(struct storage *st, uint8_t shard, struct core **out,
			 struct snapshot_info *info, char *why, size_t why_cap)
{
	if (why && why_cap)
		why[0] = 0;
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, false);
	for (size_t i = 0; !rc && i < l->count; i++) {
		rc = load_one(st, shard, l->lsn[i], out, info, why, why_cap);
		if (rc == 1)
			rc = 0; /* damaged: try the next older one */
		else if (!rc)
			goto out_free_list;
	}
	if (!rc)
		rc = -ENOENT;
out_free_list:
	free(l);
	return rc;
}

static int remove_listed(struct storage *st, const struct snap_list *l, uint64_t keep_lsn,
			 bool temps)
{
	size_t removed = 0;
	for (size_t i = 0; i < l->count; i++) {
		char name[40];
		if (!temps && l->lsn[i] >= keep_lsn)
			continue;
		snapshot_file_name(name, sizeof name, l->lsn[i], temps);
		int rc = storage_unlink(st, name);
		if (rc && rc != -ENOENT)
			return rc;
		removed++;
	}
	return removed ? storage_sync_dir(st) : 0;
}

int snapshot_remove_older(struct storage *st, uint8_t shard, uint64_t keep_lsn)
{
	(void)shard; /* names carry no shard: one snapshot directory per shard */
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, false);
	if (!rc)
		rc = remove_listed(st, l, keep_lsn, false);
	free(l);
	return rc;
}

int snapshot_remove_temps(struct storage *st)
{
	struct snap_list *l = malloc(sizeof *l);
	if (!l)
		return -ENOMEM;
	int rc = list_snapshots(st, l, true);
	if (!rc)
		rc = remove_listed(st, l, 0, true);
	free(l);
	return rc;
}

int snapshot_name(char *out, size_t cap, uint64_t lsn)
{
	int n = snprintf(out, cap, "snap-%020" PRIu64 ".osnp", lsn);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
