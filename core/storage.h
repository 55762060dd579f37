/*
 * storage.h — the small file interface the WAL (and later snapshots) sit on.
 *
 * One storage instance is one directory and one completion queue. Slow,
 * frequent operations (writes, fdatasyncs) are asynchronous: they are
 * queued with a caller cookie, sent by storage_submit, and come back through
 * storage_poll. Rare operations (create, read at recovery, rename, unlink,
 * list) are synchronous. Two implementations:
 *
 *   net/wal/storage_uring.c   real files through io_uring (liburing)
 *   tests/support/sim_disk.c  an in-memory disk that can crash, tear writes,
 *                             flip bits, misdirect writes, fail reads and syncs
 *
 * Files are small integer handles (1..STORAGE_FILES_MAX); STORAGE_DIR (0)
 * names the directory itself, so storage_fsync(st, STORAGE_DIR, ...) makes
 * its entries durable. Errors are -errno. A write may complete short (res <
 * len); the caller writes the rest.
 */
#ifndef ONSALE_STORAGE_H
#define ONSALE_STORAGE_H

#include <stddef.h>
#include <stdint.h>
#include "core/limits.h"

#define STORAGE_DIR 0
#define STORAGE_NAME_BYTES_MAX 64

/* One finished asynchronous operation. */
struct storage_cqe {
	uint64_t cookie;
	int32_t res; /* bytes written, 0 for a sync, or -errno */
};

/* storage_list calls this once per regular file name; nonzero stops. */
typedef int (*storage_list_fn)(void *ctx, const char *name);

struct storage_ops {
	/* Creates name (it must not exist), preallocates bytes (zero-filled),
	 * fsyncs the file and the directory. Returns a handle or -errno. */
	int (*create)(void *impl, const char *name, uint64_t bytes);
	/* Opens an existing file read-write. Returns a handle or -errno. */
	int (*open)(void *impl, const char *name);
	void (*close)(void *impl, int file);
	int (*size)(void *impl, int file, uint64_t *bytes);
	/* Preallocates [0, bytes) of an open file (extends, never shrinks). */
	int (*allocate)(void *impl, int file, uint64_t bytes);
	/* Synchronous read; returns the bytes read (short only at end of
	 * file) or -errno. */
	int64_t (*read)(void *impl, int file, void *buf, uint32_t len, uint64_t off);
	/* Asynchronous write and fdatasync. They return 0 once queued or
	 * -errno (-EAGAIN when STORAGE_OPS_INFLIGHT_MAX are in flight). The
	 * buffer must stay untouched until the completion. */
	int (*write)(void *impl, int file, const void *buf, uint32_t len, uint64_t off,
		     uint64_t cookie);
	int (*fsync)(void *impl, int file, uint64_t cookie);
	/* Sends queued operations to the device. Returns 0 or -errno. */
	int (*submit)(void *impl);
	/* Submits, then returns up to max completions (at least wait_min,
	 * blocking for them) into out. Returns the count or -errno. */
	int (*poll)(void *impl, struct storage_cqe *out, int max, int wait_min);
	int (*rename)(void *impl, const char *from, const char *to);
	int (*unlink)(void *impl, const char *name);
	int (*list)(void *impl, storage_list_fn fn, void *ctx);
	/* Synchronous fsync of the directory. */
	int (*sync_dir)(void *impl);
	/* A file descriptor that becomes readable when completions are ready
	 * (for an event loop), or -1 if the implementation has none. */
	int (*wait_fd)(void *impl);
	void (*destroy)(void *impl);
};

struct storage {
	const struct storage_ops *ops;
	void *impl;
};

static inline int storage_create(struct storage *s, const char *name, uint64_t bytes)
{
	return s->ops->create(s->impl, name, bytes);
}
static inline int storage_open(struct storage *s, const char *name)
{
	return s->ops->open(s->impl, name);
}
static inline void storage_close(struct storage *s, int file)
{
	s->ops->close(s->impl, file);
}
static inline int storage_size(struct storage *s, int file, uint64_t *bytes)
{
	return s->ops->size(s->impl, file, bytes);
}
static inline int storage_allocate(struct storage *s, int file, uint64_t bytes)
{
	return s->ops->allocate(s->impl, file, bytes);
}
static inline int64_t storage_read(struct storage *s, int file, void *buf, uint32_t len,
				   uint64_t off)
{
	return s->ops->read(s->impl, file, buf, len, off);
}
static inline int storage_write(struct storage *s, int file, const void *buf, uint32_t len,
				uint64_t off, uint64_t cookie)
{
	return s->ops->write(s->impl, file, buf, len, off, cookie);
}
static inline int storage_fsync(struct storage *s, int file, uint64_t cookie)
{
	return s->ops->fsync(s->impl, file, cookie);
}
static inline int storage_submit(struct storage *s)
{
	return s->ops->submit(s->impl);
}
static inline int storage_poll(struct storage *s, struct storage_cqe *out, int max, int wait_min)
{
	return s->ops->poll(s->impl, out, max, wait_min);
}
static inline int storage_rename(struct storage *s, const char *from, const char *to)
{
	return s->ops->rename(s->impl, from, to);
}
static inline int storage_unlink(struct storage *s, const char *name)
{
	return s->ops->unlink(s->impl, name);
}
static inline int storage_list(struct storage *s, storage_list_fn fn, void *ctx)
{
	return s->ops->list(s->impl, fn, ctx);
}
static inline int storage_sync_dir(struct storage *s)
{
	return s->ops->sync_dir(s->impl);
}
static inline int storage_wait_fd(struct storage *s)
{
	return s->ops->wait_fd(s->impl);
}
static inline void storage_destroy(struct storage *s)
{
	if (s->ops)
		s->ops->destroy(s->impl);
	s->ops = NULL;
	s->impl = NULL;
}

#endif
