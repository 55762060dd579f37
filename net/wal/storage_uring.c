/*
 * storage_uring.c — the storage interface (core/storage.h) on real files
 * through io_uring (liburing): one directory, one ring per instance.
 *
 * Writes and fdatasyncs go through the ring with the caller's cookie as
 * user_data; the rest (create, read, rename, list) are plain syscalls, as
 * they are rare and recovery-time. create preallocates with fallocate and
 * fsyncs the new file and the directory before returning, so a file that
 * exists after a crash has its full length and its name.
 *
 * With STORAGE_URING_DIRECT files are opened O_DIRECT: buffers, offsets and
 * lengths must then be multiples of WAL_PAGE_BYTES (the WAL's always are).
 */
#include "net/wal/storage_uring.h"
#include "net/wal/fd_io.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

struct uring_storage {
	struct io_uring ring;
	int dir_fd;
	int event_fd; /* -1 until wait_fd is asked for */
	int open_flags;
	unsigned inflight;
	int fds[STORAGE_FILES_MAX + 1]; /* handle -> fd, -1 free; [0] the directory */
};

static int new_handle(struct uring_storage *u, int fd)
{
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++) {
		if (u->fds[h] < 0) {
			u->fds[h] = fd;
			return h;
		}
	}
	return -EMFILE;
}

static int fd_of(struct uring_storage *u, int file)
{
	if (file < 0 || file > (int)STORAGE_FILES_MAX || u->fds[file] < 0)
		return -EBADF;
	return u->fds[file];
}

static int ur_create(void *impl, const char *name, uint64_t bytes)
{
	struct uring_storage *u = impl;
	int fd = openat(u->dir_fd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | u->open_flags,
			0644);
	if (fd < 0)
		return -errno;
	int rc = 0;
	if (bytes && fallocate(fd, 0, 0, (off_t)bytes))
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	if (!rc && fsync(u->dir_fd))
		rc = -errno;
	if (rc)
		goto out_unlink;
	int h = new_handle(u, fd);
	if (h < 0) {
		rc = h;
		goto out_close;
	}
	return h;

out_unlink:
	unlinkat(u->dir_fd, name, 0);
out_close:
	close(fd);
	return rc;
}

static int ur_open(void *impl, const char *name)
{
	struct uring_storage *u = impl;
	int fd = openat(u->dir_fd, name, O_RDWR | O_CLOEXEC | u->open_flags);
	if (fd < 0)
		return -errno;
	int h = new_handle(u, fd);
	if (h < 0)
		close(fd);
	return h;
}

static void ur_close(void *impl, int file)
{
	struct uring_storage *u = impl;
	int fd = file > 0 ? fd_of(u, file) : -EBADF;
	if (fd >= 0) { /* so file is a handle: 1..STORAGE_FILES_MAX */
		close(fd);
		u->fds[file] = -1;
	}
}

static int ur_size(void *impl, int file, uint64_t *bytes)
{
	int fd = fd_of(impl, file);
	return fd < 0 ? fd : fd_size(fd, bytes);
}

static int ur_allocate(void *impl, int file, uint64_t bytes)
{
	int fd = fd_of(impl, file);
	if (fd < 0)
		return fd;
	return fallocate(fd, 0, 0, (off_t)bytes) ? -errno : 0;
}

static int64_t ur_read(void *impl, int file, void *buf, uint32_t len, uint64_t off)
{
	int fd = fd_of(impl, file);
	return fd < 0 ? fd : fd_pread_full(fd, buf, len, off);
}

static struct io_uring_sqe *get_sqe(struct uring_storage *u)
{
	if (u->inflight >= STORAGE_OPS_INFLIGHT_MAX)
		return NULL;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	if (!sqe && io_uring_submit(&u->ring) >= 0)
		sqe = io_uring_get_sqe(&u->ring);
	if (sqe)
		u->inflight++;
	return sqe;
}

static int ur_write(void *impl, int file, const void *buf, uint32_t len, uint64_t off,
		    uint64_t cookie)
{
	struct uring_storage *u = impl;
	int fd = fd_of(u, file);
	if (fd < 0 || file == STORAGE_DIR)
		return -EBADF;
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_write(sqe, fd, buf, len, off);
	io_uring_sqe_set_data64(sqe, cookie);
	return 0;
}

static int ur_fsync(void *impl, int file, uint64_t cookie)
{
	struct uring_storage *u = impl;
	int fd = fd_of(u, file);
	if (fd < 0)
		return fd;
	struct io_uring_sqe *sqe = get_sqe(u);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_fsync(sqe, fd, file == STORAGE_DIR ? 0 : IORING_FSYNC_DATASYNC);
	io_uring_sqe_set_data64(sqe, cookie);
	return 0;
}

static int ur_submit(void *impl)
{
	struct uring_storage *u = impl;
	int rc = io_uring_submit(&u->ring);
	return rc < 0 ? rc : 0;
}

static int ur_poll(void *impl, struct storage_cqe *out, int max, int wait_min)
{
	struct uring_storage *u = impl;
	if (wait_min > (int)u->inflight)
		wait_min = (int)u->inflight;
	int rc = wait_min > 0 ? io_uring_submit_and_wait(&u->ring, (unsigned)wait_min)
			      : io_uring_submit(&u->ring);
	if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	if (u->event_fd >= 0) {
		uint64_t v;
		(void)!read(u->event_fd, &v, sizeof v); /* non-blocking: clears readiness */
	}
	int n = 0;
	struct io_uring_cqe *cqe;
	while (n < max && io_uring_peek_cqe(&u->ring, &cqe) == 0) {
		out[n].cookie = io_uring_cqe_get_data64(cqe);
		out[n].res = cqe->res;
		io_uring_cqe_seen(&u->ring, cqe);
		u->inflight--;
		n++;
	}
	return n;
}

static int ur_rename(void *impl, const char *from, const char *to)
{
	struct uring_storage *u = impl;
	return renameat(u->dir_fd, from, u->dir_fd, to) ? -errno : 0;
}

static int ur_unlink(void *impl, const char *name)
{
	struct uring_storage *u = impl;
	return unlinkat(u->dir_fd, name, 0) ? -errno : 0;
}

static int ur_list(void *impl, storage_list_fn fn, void *ctx)
{
	struct uring_storage *u = impl;
	int fd = dup(u->dir_fd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	int rc = 0;
	struct dirent *e;
	while (!rc && (e = readdir(d)))
		if (e->d_type == DT_REG || e->d_type == DT_UNKNOWN)
			rc = e->d_name[0] == '.' ? 0 : fn(ctx, e->d_name);
	closedir(d);
	return rc;
}

static int ur_sync_dir(void *impl)
{
	struct uring_storage *u = impl;
	return fsync(u->dir_fd) ? -errno : 0;
}

static int ur_wait_fd(void *impl)
{
	struct uring_storage *u = impl;
	if (u->event_fd >= 0)
		return u->event_fd;
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = io_uring_register_eventfd(&u->ring, fd);
	if (rc) {
		close(fd);
		return rc;
	}
	u->event_fd = fd;
	return fd;
}

static void ur_destroy(void *impl)
{
	struct uring_storage *u = impl;
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++)
		if (u->fds[h] >= 0)
			close(u->fds[h]);
	io_uring_queue_exit(&u->ring);
	if (u->event_fd >= 0)
		close(u->event_fd);
	close(u->dir_fd);
	free(u);
}

static const struct storage_ops uring_ops = {
	.create = ur_create,
	.open = ur_open,
	.close = ur_close,
	.size = ur_size,
	.allocate = ur_allocate,
	.read = ur_read,
	.write = ur_write,
	.fsync = ur_fsync,
	.submit = ur_submit,
	.poll = ur_poll,
	.rename = ur_rename,
	.unlink = ur_unlink,
	.list = ur_list,
	.sync_dir = ur_sync_dir,
	.wait_fd = ur_wait_fd,
	.destroy = ur_destroy,
};

/* Whether the directory's filesystem takes O_DIRECT (tmpfs does not). */
static bool direct_works(int dir_fd)
{
	static const char probe[] = ".odirect-probe";
	unlinkat(dir_fd, probe, 0); /* left over by a crash */
	int fd = openat(dir_fd, probe, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	unlinkat(dir_fd, probe, 0);
	return fd >= 0;
}

int storage_uring_direct(const struct storage *st)
{
	return st->ops == &uring_ops && ((struct uring_storage *)st->impl)->open_flags & O_DIRECT;
}

/* mkdir -p: creates dir and any missing parents. */
static int make_dirs(const char *dir)
{
	char path[4096];
	size_t n = strlen(dir);
	if (n >= sizeof path)
		return -ENAMETOOLONG;
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != 0)
			continue;
		char c = path[i];
		path[i] = 0;
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		path[i] = c;
	}
	return 0;
}

/* The rest of an open, once u->dir_fd is the directory's own descriptor. */
static int open_ring(struct storage *out, struct uring_storage *u, unsigned flags)
{
	int rc = io_uring_queue_init(STORAGE_OPS_INFLIGHT_MAX, &u->ring, 0);
	if (rc) {
		close(u->dir_fd);
		free(u);
		return rc;
	}
	u->event_fd = -1;
	u->open_flags = flags & STORAGE_URING_DIRECT ? O_DIRECT : 0;
	if (flags & STORAGE_URING_DIRECT_TRY && direct_works(u->dir_fd))
		u->open_flags = O_DIRECT;
	u->fds[0] = u->dir_fd;
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++)
		u->fds[h] = -1;
	out->ops = &uring_ops;
	out->impl = u;
	return 0;
}

int storage_uring_open(struct storage *out, const char *dir, unsigned flags)
{
	struct uring_storage *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	int rc = make_dirs(dir);
	if (!rc) {
		u->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = u->dir_fd < 0 ? -errno : 0;
	}
	if (rc) {
		free(u);
		return rc;
	}
	return open_ring(out, u, flags);
}

int storage_uring_open_at(struct storage *out, int dir_fd, unsigned flags)
{
	struct uring_storage *u = calloc(1, sizeof *u);
	if (!u)
		return -ENOMEM;
	u->dir_fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (u->dir_fd < 0) {
		int rc = -errno;
		free(u);
		return rc;
	}
	return open_ring(out, u, flags);
}
