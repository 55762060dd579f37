/*
 * storage_nosync.c — a storage wrapper that skips fdatasync, for `onsaled
 * --no-fsync` (benchmarking only: an acknowledged change can be lost in a
 * power failure or kernel crash; a process crash loses nothing, the page
 * cache has it).
 *
 * Every operation goes to the wrapped storage except fsync of a file, which
 * becomes a zero-length write with the same cookie: it completes through
 * the same queue with res 0, exactly as the fdatasync would have, so the
 * WAL's group commit runs unchanged. Directory fsyncs (file creation) stay.
 */
#include <errno.h>
#include <stdlib.h>

#include "net/wal/storage_nosync.h"

struct nosync {
	struct storage inner;
};

static _Alignas(4096) const uint8_t nothing[4096];

#define INNER(impl) (&((struct nosync *)(impl))->inner)

static int ns_create(void *i, const char *name, uint64_t bytes)
{
	return storage_create(INNER(i), name, bytes);
}
static int ns_open(void *i, const char *name)
{
	return storage_open(INNER(i), name);
}
static void ns_close(void *i, int file)
{
	storage_close(INNER(i), file);
}
static int ns_size(void *i, int file, uint64_t *bytes)
{
	return storage_size(INNER(i), file, bytes);
}
static int ns_allocate(void *i, int file, uint64_t bytes)
{
	return storage_allocate(INNER(i), file, bytes);
}
static int64_t ns_read(void *i, int file, void *buf, uint32_t len, uint64_t off)
{
	return storage_read(INNER(i), file, buf, len, off);
}
static int ns_write(void *i, int file, const void *buf, uint32_t len, uint64_t off, uint64_t cookie)
{
	return storage_write(INNER(i), file, buf, len, off, cookie);
}
static int ns_fsync(void *i, int file, uint64_t cookie)
{
	if (file == STORAGE_DIR)
		return storage_fsync(INNER(i), file, cookie);
	return storage_write(INNER(i), file, nothing, 0, 0, cookie);
}
static int ns_submit(void *i)
{
	return storage_submit(INNER(i));
}
static int ns_poll(void *i, struct storage_cqe *out, int max, int wait_min)
{
	return storage_poll(INNER(i), out, max, wait_min);
}
static int ns_rename(void *i, const char *from, const char *to)
{
	return storage_rename(INNER(i), from, to);
}
static int ns_unlink(void *i, const char *name)
{
	return storage_unlink(INNER(i), name);
}
static int ns_list(void *i, storage_list_fn fn, void *ctx)
{
	return storage_list(INNER(i), fn, ctx);
}
static int ns_sync_dir(void *i)
{
	return storage_sync_dir(INNER(i));
}
static int ns_wait_fd(void *i)
{
	return storage_wait_fd(INNER(i));
}
static void ns_destroy(void *i)
{
	storage_destroy(INNER(i));
	free(i);
}

static const struct storage_ops nosync_ops = {
	.create = ns_create,
	.open = ns_open,
	.close = ns_close,
	.size = ns_size,
	.allocate = ns_allocate,
	.read = ns_read,
	.write = ns_write,
	.fsync = ns_fsync,
	.submit = ns_submit,
	.poll = ns_poll,
	.rename = ns_rename,
	.unlink = ns_unlink,
	.list = ns_list,
	.sync_dir = ns_sync_dir,
	.wait_fd = ns_wait_fd,
	.destroy = ns_destroy,
};

int storage_nosync_wrap(struct storage *st)
{
	struct nosync *n = malloc(sizeof *n);
	if (!n)
		return -ENOMEM;
	n->inner = *st;
	st->ops = &nosync_ops;
	st->impl = n;
	return 0;
}
