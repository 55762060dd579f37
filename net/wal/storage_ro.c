/*
 * storage_ro.c — a read-only storage instance (core/storage.h) on one
 * shard directory, and optionally the WAL archive beside it.
 *
 * The recovery reader (net/wal/wal_read.c) and the snapshot loader only open,
 * size, read and list; this implementation offers just those with plain
 * syscalls and O_RDONLY files, so reading a WAL through it can never change
 * it, needs no io_uring, and works on a read-only mount or a copy. Every
 * writing operation fails with -EROFS. With an archive directory (onsaled
 * --wal-archive) a file missing from the shard directory is opened from
 * the archive and listed from there, so the WAL reader sees the archived
 * segments and the live ones as one log: onsale-wal's inspecting
 * subcommands read through it, and so does a shard's recovery when its
 * live WAL no longer reaches back to the state it starts from
 * (net/store/shard_store.c). It can also hide snapshots newer than an LSN
 * from the listing, which is how `onsale-wal replay --to` picks an older
 * snapshot through the unchanged snapshot loader.
 */
#include "net/wal/storage_ro.h"
#include "net/wal/fd_io.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ro_store {
	int dir_fd;
	int archive_fd; /* -1: none */
	uint64_t snapshot_lsn_max;
	int fds[STORAGE_FILES_MAX + 1]; /* handle -> fd, -1 free */
};

static int ro_fd(struct ro_store *s, int file)
{
	if (file <= 0 || file > (int)STORAGE_FILES_MAX || s->fds[file] < 0)
		return -EBADF;
	return s->fds[file];
}

static int ro_open(void *impl, const char *name)
{
	struct ro_store *s = impl;
	int fd = openat(s->dir_fd, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT && s->archive_fd >= 0)
		fd = openat(s->archive_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++) {
		if (s->fds[h] < 0) {
			s->fds[h] = fd;
			return h;
		}
	}
	close(fd);
	return -EMFILE;
}

static void ro_close(void *impl, int file)
{
	struct ro_store *s = impl;

	if (ro_fd(s, file) >= 0) {
		close(s->fds[file]);
		s->fds[file] = -1;
	}
}

static int ro_size(void *impl, int file, uint64_t *bytes)
{
	int fd = ro_fd(impl, file);
	return fd < 0 ? fd : fd_size(fd, bytes);
}

static int64_t ro_read(void *impl, int file, void *buf, uint32_t len, uint64_t off)
{
	int fd = ro_fd(impl, file);
	return fd < 0 ? fd : fd_pread_full(fd, buf, len, off);
}

/* A snapshot name hidden by snapshot_lsn_max. */
static int hidden(const struct ro_store *s, const char *name)
{
	unsigned long long lsn;
	int end = 0;

	if (sscanf(name, "snap-%20llu.osnp%n", &lsn, &end) != 1 || name[end] != 0)
		return 0;
	return lsn > s->snapshot_lsn_max;
}

/* Lists dir_fd's regular files; skip_fd >= 0: not those it has too. */
static int list_dir(struct ro_store *s, int dir_fd, int skip_fd, storage_list_fn fn, void *ctx)
{
	int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;
	struct dirent *e;
	int rc = 0;

	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while (!rc && (e = readdir(d))) {
		if ((e->d_type == DT_REG || e->d_type == DT_UNKNOWN) && e->d_name[0] != '.' &&
		    !hidden(s, e->d_name) &&
		    (skip_fd < 0 || faccessat(skip_fd, e->d_name, F_OK, 0)))
			rc = fn(ctx, e->d_name);
	}
	closedir(d);
	return rc;
}

/* The live directory, then what only the archive has. */
static int ro_list(void *impl, storage_list_fn fn, void *ctx)
{
	struct ro_store *s = impl;
	int rc = list_dir(s, s->dir_fd, -1, fn, ctx);

	if (!rc && s->archive_fd >= 0)
		rc = list_dir(s, s->archive_fd, s->dir_fd, fn, ctx);
	return rc;
}

static void ro_destroy(void *impl)
{
	struct ro_store *s = impl;

	for (int h = 1; h <= (int)STORAGE_FILES_MAX; h++)
		if (s->fds[h] >= 0)
			close(s->fds[h]);
	if (s->archive_fd >= 0)
		close(s->archive_fd);
	close(s->dir_fd);
	free(s);
}

/* The refused operations, one per signature. */
static int ro_create(void *impl, const char *name, uint64_t bytes)
{
	(void)impl, (void)name, (void)bytes;
	return -EROFS;
}
static int ro_allocate(void *impl, int file, uint64_t bytes)
{
	(void)impl, (void)file, (void)bytes;
	return -EROFS;
}
static int ro_write(void *impl, int file, const void *buf, uint32_t len, uint64_t off,
		    uint64_t cookie)
{
	(void)impl, (void)file, (void)buf, (void)len, (void)off, (void)cookie;
	return -EROFS;
}
static int ro_fsync(void *impl, int file, uint64_t cookie)
{
	(void)impl, (void)file, (void)cookie;
	return -EROFS;
}
static int ro_impl_only(void *impl)
{
	(void)impl;
	return -EROFS;
}
static int ro_poll(void *impl, struct storage_cqe *out, int max, int wait_min)
{
	(void)impl, (void)out, (void)max, (void)wait_min;
	return 0;
}
static int ro_two_names(void *impl, const char *from, const char *to)
{
	(void)impl, (void)from, (void)to;
	return -EROFS;
}
static int ro_unlink(void *impl, const char *name)
{
	(void)impl, (void)name;
	return -EROFS;
}
static int ro_wait_fd(void *impl)
{
	(void)impl;
	return -1;
}

static const struct storage_ops ro_ops = {
	.create = ro_create,
	.open = ro_open,
	.close = ro_close,
	.size = ro_size,
	.allocate = ro_allocate,
	.read = ro_read,
	.write = ro_write,
	.fsync = ro_fsync,
	.submit = ro_impl_only,
	.poll = ro_poll,
	.rename = ro_two_names,
	.unlink = ro_unlink,
	.list = ro_list,
	.sync_dir = ro_impl_only,
	.wait_fd = ro_wait_fd,
	.destroy = ro_destroy,
};

static int ro_new(struct storage *out, int dir_fd, int archive_fd)
{
	struct ro_store *s = calloc(1, sizeof *s);

	if (!s)
		return -ENOMEM;
	s->dir_fd = dir_fd;
	s->archive_fd = archive_fd;
	s->snapshot_lsn_max = UINT64_MAX;
	for (int h = 0; h <= (int)STORAGE_FILES_MAX; h++)
		s->fds[h] = -1;
	out->ops = &ro_ops;
	out->impl = s;
	return 0;
}

/* Closes what ro_new did not take. */
static int ro_new_or_close(struct storage *out, int dir_fd, int archive_fd)
{
	int rc = ro_new(out, dir_fd, archive_fd);

	if (rc) {
		close(dir_fd);
		if (archive_fd >= 0)
			close(archive_fd);
	}
	return rc;
}

int storage_ro_open(struct storage *out, const char *dir, const char *archive_dir)
{
	int dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), archive_fd = -1;

	if (dir_fd < 0)
		return -errno;
	if (archive_dir) {
		archive_fd = open(archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (archive_fd < 0 && errno != ENOENT) {
			int rc = -errno;

			close(dir_fd);
			return rc;
		}
	}
	return ro_new_or_close(out, dir_fd, archive_fd);
}

int storage_ro_open_fds(struct storage *out, int dir_fd, int archive_fd)
{
	/* opened again, not duplicated: listing moves no offset of the caller's */
	int d = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), a = -1;

	if (d < 0)
		return -errno;
	if (archive_fd >= 0 &&
	    (a = openat(archive_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		int rc = -errno;

		close(d);
		return rc;
	}
	return ro_new_or_close(out, d, a);
}

void storage_ro_hide_snapshots_after(struct storage *st, uint64_t snapshot_lsn_max)
{
	struct ro_store *s = st->impl;

	assert(st->ops == &ro_ops);
	s->snapshot_lsn_max = snapshot_lsn_max;
}
