/*
 * sim_disk.c — the simulated disk (model in sim_disk.h). Test code: it
 * allocates freely, but every table is still bounded and every decision
 * comes from one seeded generator so a failing run can be replayed.
 */
#include "tests/support/sim_disk.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define SIM_FILES_MAX 256
#define SIM_QUEUE_MAX STORAGE_OPS_INFLIGHT_MAX

struct image {
	uint8_t *bytes;
	uint64_t size, cap;
};

struct sim_file {
	bool exists, durable_exists;
	char name[STORAGE_NAME_BYTES_MAX];
	char durable_name[STORAGE_NAME_BYTES_MAX];
	struct image vol, dur;
};

struct unsynced {
	int file;
	uint64_t off;
	uint32_t len;
	uint8_t *data;
};

struct op {
	bool is_write;
	int handle;
	const uint8_t *buf;
	uint32_t len;
	uint64_t off;
	uint64_t cookie;
};

struct sim_disk {
	uint64_t rng;
	struct sim_disk_faults faults;
	struct sim_disk_stats stats;
	struct sim_file files[SIM_FILES_MAX];
	int handles[STORAGE_FILES_MAX + 1]; /* handle -> file index + 1, 0 free */
	struct op queue[SIM_QUEUE_MAX];
	unsigned queue_head, queue_count;
	struct unsynced *unsynced;
	size_t unsynced_count, unsynced_cap;
	int next_fsync_err, next_read_err, next_write_err;
	uint64_t space_bytes; /* 0: unlimited */
	uint32_t next_short;
	int64_t next_misdirect;
};

static uint64_t rnd(struct sim_disk *d)
{
	uint64_t z = (d->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool chance(struct sim_disk *d, uint32_t ppm)
{
	return ppm && rnd(d) % 1000000 < ppm;
}

static void image_put(struct image *im, uint64_t off, const uint8_t *p, uint64_t len)
{
	if (off + len > im->cap) {
		uint64_t cap = im->cap ? im->cap : 4096;
		while (cap < off + len)
			cap *= 2;
		uint8_t *b = realloc(im->bytes, cap);
		if (!b)
			abort();
		memset(b + im->cap, 0, cap - im->cap);
		im->bytes = b;
		im->cap = cap;
	}
	if (off > im->size)
		memset(im->bytes + im->size, 0, off - im->size); /* no stale bytes past the end */
	if (p)
		memcpy(im->bytes + off, p, len);
	else
		memset(im->bytes + off, 0, len);
	if (off + len > im->size)
		im->size = off + len;
}

static void image_copy(struct image *dst, const struct image *src)
{
	dst->size = 0;
	if (src->size)
		image_put(dst, 0, src->bytes, src->size);
	if (dst->size > src->size)
		dst->size = src->size;
}

static void image_free(struct image *im)
{
	free(im->bytes);
	*im = (struct image){0};
}

static int find_name(struct sim_disk *d, const char *name)
{
	for (int i = 0; i < SIM_FILES_MAX; i++)
		if (d->files[i].exists && !strcmp(d->files[i].name, name))
			return i;
	return -ENOENT;
}

static int free_slot(struct sim_disk *d)
{
	for (int i = 0; i < SIM_FILES_MAX; i++)
		if (!d->files[i].exists && !d->files[i].durable_exists)
			return i;
	return -ENOSPC;
}

static int file_of(struct sim_disk *d, int handle)
{
	if (handle < 1 || handle > (int)STORAGE_FILES_MAX || !d->handles[handle])
		return -EBADF;
	return d->handles[handle] - 1;
}

static int new_handle(struct sim_disk *d, int file)
{
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++) {
		if (!d->handles[h]) {
			d->handles[h] = file + 1;
			return h;
		}
	}
	return -EMFILE;
}

static void unsynced_add(struct sim_disk *d, int file, uint64_t off, const uint8_t *p, uint32_t len)
{
	if (d->unsynced_count == d->unsynced_cap) {
		size_t cap = d->unsynced_cap ? d->unsynced_cap * 2 : 64;
		struct unsynced *u = realloc(d->unsynced, cap * sizeof *u);
		if (!u)
			abort();
		d->unsynced = u;
		d->unsynced_cap = cap;
	}
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		abort();
	memcpy(copy, p, len);
	d->unsynced[d->unsynced_count++] = (struct unsynced){file, off, len, copy};
}

/* Moves file's unsynced writes into its durable image, in order. */
static void make_durable(struct sim_disk *d, int file)
{
	size_t keep = 0;
	for (size_t i = 0; i < d->unsynced_count; i++) {
		struct unsynced *u = &d->unsynced[i];
		if (u->file != file) {
			d->unsynced[keep++] = *u;
			continue;
		}
		image_put(&d->files[file].dur, u->off, u->data, u->len);
		free(u->data);
	}
	d->unsynced_count = keep;
	struct sim_file *f = &d->files[file];
	if (f->dur.size < f->vol.size) /* preallocated length becomes durable too */
		image_put(&f->dur, f->vol.size, NULL, 0);
}

static void sync_dir_now(struct sim_disk *d)
{
	d->stats.dir_fsyncs++;
	for (int i = 0; i < SIM_FILES_MAX; i++) {
		struct sim_file *f = &d->files[i];
		f->durable_exists = f->exists;
		if (f->exists) {
			memcpy(f->durable_name, f->name, sizeof f->name);
		} else {
			image_free(&f->vol);
			image_free(&f->dur);
		}
	}
}

/* Whether growing file i (-1: a new file) to end bytes fits the space
 * limit: the sum of every existing file's size. */
static bool fits(const struct sim_disk *d, int i, uint64_t end)
{
	if (!d->space_bytes)
		return true;
	uint64_t used = 0;
	for (int k = 0; k < SIM_FILES_MAX; k++)
		if (d->files[k].exists && k != i)
			used += d->files[k].vol.size;
	uint64_t now = i >= 0 ? d->files[i].vol.size : 0;
	return used + (end > now ? end : now) <= d->space_bytes;
}

/* ---- storage operations -------------------------------------------- */

static int sim_create(void *impl, const char *name, uint64_t bytes)
{
	struct sim_disk *d = impl;
	if (strlen(name) >= STORAGE_NAME_BYTES_MAX)
		return -ENAMETOOLONG;
	if (find_name(d, name) >= 0)
		return -EEXIST;
	if (!fits(d, -1, bytes))
		return -ENOSPC; /* the real create removes a file it could not allocate */
	int i = free_slot(d);
	if (i < 0)
		return i;
	int h = new_handle(d, i);
	if (h < 0)
		return h;
	struct sim_file *f = &d->files[i];
	image_free(&f->vol);
	image_free(&f->dur);
	f->exists = true;
	strcpy(f->name, name);
	image_put(&f->vol, 0, NULL, bytes);
	make_durable(d, i);
	sync_dir_now(d);
	return h;
}

static int sim_open(void *impl, const char *name)
{
	struct sim_disk *d = impl;
	int i = find_name(d, name);
	return i < 0 ? i : new_handle(d, i);
}

static void sim_close(void *impl, int file)
{
	struct sim_disk *d = impl;
	if (file_of(d, file) >= 0)
		d->handles[file] = 0;
}

static int sim_size(void *impl, int file, uint64_t *bytes)
{
	struct sim_disk *d = impl;
	int i = file_of(d, file);
	if (i < 0)
		return i;
	*bytes = d->files[i].vol.size;
	return 0;
}

static int sim_allocate(void *impl, int file, uint64_t bytes)
{
	struct sim_disk *d = impl;
	int i = file_of(d, file);
	if (i < 0)
		return i;
	struct image *im = &d->files[i].vol;
	if (!fits(d, i, bytes))
		return -ENOSPC;
	if (bytes > im->size)
		image_put(im, im->size, NULL, bytes - im->size);
	return 0;
}

static int64_t sim_read(void *impl, int file, void *buf, uint32_t len, uint64_t off)
{
	struct sim_disk *d = impl;
	int i = file_of(d, file);
	if (i < 0)
		return i;
	if (d->next_read_err || chance(d, d->faults.eio_read_ppm)) {
		int err = d->next_read_err ? d->next_read_err : -EIO;
		d->next_read_err = 0;
		d->stats.eio_reads++;
		return err;
	}
	struct image *im = &d->files[i].vol;
	if (off >= im->size)
		return 0;
	uint64_t n = im->size - off < len ? im->size - off : len;
	memcpy(buf, im->bytes + off, n);
	return (int64_t)n;
}

static int enqueue(struct sim_disk *d, struct op op)
{
	if (file_of(d, op.handle) < 0 && !(!op.is_write && op.handle == STORAGE_DIR))
		return -EBADF;
	if (d->queue_count == SIM_QUEUE_MAX)
		return -EAGAIN;
	d->queue[(d->queue_head + d->queue_count++) % SIM_QUEUE_MAX] = op;
	return 0;
}

static int sim_write(void *impl, int file, const void *buf, uint32_t len, uint64_t off,
		     uint64_t cookie)
{
	return enqueue(impl, (struct op){true, file, buf, len, off, cookie});
}

static int sim_fsync(void *impl, int file, uint64_t cookie)
{
	return enqueue(impl, (struct op){false, file, NULL, 0, 0, cookie});
}

static int sim_submit(void *impl)
{
	(void)impl;
	return 0;
}

static int32_t complete_write(struct sim_disk *d, const struct op *op)
{
	int i = file_of(d, op->handle);
	if (i < 0)
		return i;
	d->stats.writes++;
	if (d->next_write_err || chance(d, d->faults.eio_write_ppm)) {
		int err = d->next_write_err ? d->next_write_err : -EIO;
		d->next_write_err = 0;
		d->stats.eio_writes++;
		return err;
	}
	uint32_t len = op->len;
	uint64_t off = op->off;
	if (!fits(d, i, off + len))
		return -ENOSPC;
	if (d->next_short || (len > 1 && chance(d, d->faults.short_write_ppm))) {
		uint32_t n = d->next_short ? d->next_short : 1 + (uint32_t)(rnd(d) % (len - 1));
		d->next_short = 0;
		if (n < len) {
			len = n;
			d->stats.short_writes++;
		}
	}
	if (d->next_misdirect || chance(d, d->faults.misdirect_write_ppm)) {
		int64_t delta = d->next_misdirect ? d->next_misdirect
						  : (int64_t)(1 + rnd(d) % 16) * 4096;
		d->next_misdirect = 0;
		if ((int64_t)off + delta >= 0)
			off = (uint64_t)((int64_t)off + delta);
		d->stats.misdirected_writes++;
	}
	image_put(&d->files[i].vol, off, op->buf, len);
	unsynced_add(d, i, off, op->buf, len);
	d->stats.bytes_written += len;
	return (int32_t)len;
}

static int32_t complete_fsync(struct sim_disk *d, const struct op *op)
{
	if (op->handle == STORAGE_DIR) {
		sync_dir_now(d);
		return 0;
	}
	int i = file_of(d, op->handle);
	if (i < 0)
		return i;
	d->stats.fsyncs++;
	if (d->next_fsync_err || chance(d, d->faults.eio_fsync_ppm)) {
		int err = d->next_fsync_err ? d->next_fsync_err : -EIO;
		d->next_fsync_err = 0;
		d->stats.eio_fsyncs++;
		return err;
	}
	make_durable(d, i);
	return 0;
}

static int sim_poll(void *impl, struct storage_cqe *out, int max, int wait_min)
{
	struct sim_disk *d = impl;
	if (max <= 0 || !d->queue_count)
		return 0;
	/* Complete a seeded number (but at least wait_min) of queued ops. */
	int n = (int)(d->queue_count < (unsigned)max ? d->queue_count : (unsigned)max);
	int want = 1 + (int)(rnd(d) % (uint64_t)n);
	if (want < wait_min)
		want = wait_min < n ? wait_min : n;
	for (int k = 0; k < want; k++) {
		struct op op = d->queue[d->queue_head];
		d->queue_head = (d->queue_head + 1) % SIM_QUEUE_MAX;
		d->queue_count--;
		out[k].cookie = op.cookie;
		out[k].res = op.is_write ? complete_write(d, &op) : complete_fsync(d, &op);
	}
	return want;
}

static int sim_rename(void *impl, const char *from, const char *to)
{
	struct sim_disk *d = impl;
	int i = find_name(d, from);
	if (i < 0)
		return i;
	if (strlen(to) >= STORAGE_NAME_BYTES_MAX)
		return -ENAMETOOLONG;
	int j = find_name(d, to);
	if (j >= 0 && j != i)
		d->files[j].exists = false;
	strcpy(d->files[i].name, to);
	return 0;
}

static int sim_unlink(void *impl, const char *name)
{
	struct sim_disk *d = impl;
	int i = find_name(d, name);
	if (i < 0)
		return i;
	d->files[i].exists = false;
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++)
		if (d->handles[h] == i + 1)
			d->handles[h] = 0;
	return 0;
}

static int sim_list(void *impl, storage_list_fn fn, void *ctx)
{
	struct sim_disk *d = impl;
	for (int i = 0; i < SIM_FILES_MAX; i++) {
		if (d->files[i].exists) {
			int rc = fn(ctx, d->files[i].name);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int sim_sync_dir(void *impl)
{
	sync_dir_now(impl);
	return 0;
}

static int sim_wait_fd(void *impl)
{
	(void)impl;
	return -1;
}

static void sim_storage_destroy(void *impl)
{
	struct sim_disk *d = impl;
	memset(d->handles, 0, sizeof d->handles);
}

static const struct storage_ops sim_ops = {
	.create = sim_create,
	.open = sim_open,
	.close = sim_close,
	.size = sim_size,
	.allocate = sim_allocate,
	.read = sim_read,
	.write = sim_write,
	.fsync = sim_fsync,
	.submit = sim_submit,
	.poll = sim_poll,
	.rename = sim_rename,
	.unlink = sim_unlink,
	.list = sim_list,
	.sync_dir = sim_sync_dir,
	.wait_fd = sim_wait_fd,
	.destroy = sim_storage_destroy,
};

/* ---- the disk ------------------------------------------------------- */

struct sim_disk *sim_disk_create(uint64_t seed)
{
	struct sim_disk *d = calloc(1, sizeof *d);
	if (d)
		d->rng = seed * 0x2545f4914f6cdd1dull + 1;
	return d;
}

void sim_disk_destroy(struct sim_disk *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->unsynced_count; i++)
		free(d->unsynced[i].data);
	free(d->unsynced);
	for (int i = 0; i < SIM_FILES_MAX; i++) {
		image_free(&d->files[i].vol);
		image_free(&d->files[i].dur);
	}
	free(d);
}

void sim_disk_set_faults(struct sim_disk *d, const struct sim_disk_faults *f)
{
	d->faults = f ? *f : (struct sim_disk_faults){0};
}

const struct sim_disk_stats *sim_disk_stats(const struct sim_disk *d)
{
	return &d->stats;
}

void sim_disk_storage(struct sim_disk *d, struct storage *out)
{
	out->ops = &sim_ops;
	out->impl = d;
}

/* Writes still queued at the crash may or may not have reached the page
 * cache: treat them as unsynced writes too. */
static void queued_to_unsynced(struct sim_disk *d)
{
	for (; d->queue_count; d->queue_count--) {
		struct op *op = &d->queue[d->queue_head];
		d->queue_head = (d->queue_head + 1) % SIM_QUEUE_MAX;
		int i = file_of(d, op->handle);
		if (op->is_write && i >= 0)
			unsynced_add(d, i, op->off, op->buf, op->len);
	}
	d->queue_head = 0;
}

static void crash_unsynced(struct sim_disk *d, enum sim_disk_crash_mode mode)
{
	for (size_t k = 0; k < d->unsynced_count; k++) {
		struct unsynced *u = &d->unsynced[k];
		unsigned fate = mode == SIM_CRASH_SOME_SURVIVE ? (unsigned)(rnd(d) % 3) : 0;
		uint32_t len = u->len;
		if (fate == 2 && len > 1)
			len = (uint32_t)(rnd(d) % len);
		if (fate && d->files[u->file].durable_exists)
			image_put(&d->files[u->file].dur, u->off, u->data, len);
		d->stats.unsynced_dropped += fate == 0;
		d->stats.unsynced_kept += fate == 1;
		d->stats.unsynced_torn += fate == 2;
		free(u->data);
	}
	d->unsynced_count = 0;
}

void sim_disk_crash(struct sim_disk *d, enum sim_disk_crash_mode mode)
{
	d->stats.crashes++;
	queued_to_unsynced(d);
	crash_unsynced(d, mode);
	for (int i = 0; i < SIM_FILES_MAX; i++) {
		struct sim_file *f = &d->files[i];
		f->exists = f->durable_exists;
		if (!f->exists) {
			image_free(&f->vol);
			image_free(&f->dur);
			continue;
		}
		memcpy(f->name, f->durable_name, sizeof f->name);
		image_copy(&f->vol, &f->dur);
	}
	memset(d->handles, 0, sizeof d->handles);
	d->next_fsync_err = d->next_read_err = d->next_write_err = 0;
	d->next_short = 0;
	d->next_misdirect = 0;
}

void sim_disk_fail_next_fsync(struct sim_disk *d, int err)
{
	d->next_fsync_err = err;
}

void sim_disk_fail_next_read(struct sim_disk *d, int err)
{
	d->next_read_err = err;
}

void sim_disk_fail_next_write(struct sim_disk *d, int err)
{
	d->next_write_err = err;
}

void sim_disk_set_space(struct sim_disk *d, uint64_t bytes)
{
	d->space_bytes = bytes;
}

uint64_t sim_disk_used(const struct sim_disk *d)
{
	uint64_t used = 0;
	for (int k = 0; k < SIM_FILES_MAX; k++)
		if (d->files[k].exists)
			used += d->files[k].vol.size;
	return used;
}

void sim_disk_short_next_write(struct sim_disk *d, uint32_t bytes)
{
	d->next_short = bytes;
}

void sim_disk_misdirect_next_write(struct sim_disk *d, int64_t delta_bytes)
{
	d->next_misdirect = delta_bytes;
}

static struct sim_file *named(struct sim_disk *d, const char *name)
{
	int i = find_name(d, name);
	return i < 0 ? NULL : &d->files[i];
}

int sim_disk_flip_bit(struct sim_disk *d, const char *name, uint64_t off, unsigned bit)
{
	struct sim_file *f = named(d, name);
	if (!f)
		return -ENOENT;
	if (off >= f->vol.size || bit > 7)
		return -EINVAL;
	f->vol.bytes[off] ^= (uint8_t)(1u << bit);
	if (off < f->dur.size)
		f->dur.bytes[off] ^= (uint8_t)(1u << bit);
	return 0;
}

int sim_disk_zero(struct sim_disk *d, const char *name, uint64_t off, uint64_t len)
{
	struct sim_file *f = named(d, name);
	if (!f)
		return -ENOENT;
	if (off + len > f->vol.size)
		return -EINVAL;
	memset(f->vol.bytes + off, 0, len);
	if (off + len <= f->dur.size)
		memset(f->dur.bytes + off, 0, len);
	return 0;
}

int sim_disk_poke(struct sim_disk *d, const char *name, uint64_t off, const void *buf, uint64_t len)
{
	struct sim_file *f = named(d, name);
	if (!f)
		return -ENOENT;
	if (off + len > f->vol.size)
		return -EINVAL;
	memcpy(f->vol.bytes + off, buf, len);
	if (off + len <= f->dur.size)
		memcpy(f->dur.bytes + off, buf, len);
	return 0;
}

int sim_disk_peek(struct sim_disk *d, const char *name, uint64_t off, void *buf, uint64_t len)
{
	struct sim_file *f = named(d, name);
	if (!f)
		return -ENOENT;
	if (off + len > f->vol.size)
		return -EINVAL;
	memcpy(buf, f->vol.bytes + off, len);
	return 0;
}

int64_t sim_disk_file_bytes(struct sim_disk *d, const char *name)
{
	struct sim_file *f = named(d, name);
	return f ? (int64_t)f->vol.size : -ENOENT;
}

uint64_t sim_disk_unsynced(const struct sim_disk *d)
{
	return d->unsynced_count;
}
