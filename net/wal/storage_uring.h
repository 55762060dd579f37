/*
 * storage_uring.h — the io_uring implementation of the storage interface
 * (core/storage.h) on a real directory.
 */
#ifndef ONSALE_STORAGE_URING_H
#define ONSALE_STORAGE_URING_H

#include "core/storage.h"

/* Open files with O_DIRECT (page-aligned I/O only, no page cache). */
#define STORAGE_URING_DIRECT 1u
/* O_DIRECT where the directory's filesystem supports it (probed once at
 * open with a dot file, which storage_list never shows), else buffered:
 * tmpfs has no O_DIRECT. */
#define STORAGE_URING_DIRECT_TRY 2u

/* Opens (creating it if missing) the directory dir as a storage instance
 * with its own ring. Returns 0 or -errno. */
int storage_uring_open(struct storage *out, const char *dir, unsigned flags);
/* The same on the directory dir_fd names (through a descriptor of its own:
 * dir_fd may be closed afterwards), e.g. a second instance on a shard's
 * directory for another thread. Returns 0 or -errno. */
int storage_uring_open_at(struct storage *out, int dir_fd, unsigned flags);
/* 1 when st (a storage_uring instance) opens its files O_DIRECT. */
int storage_uring_direct(const struct storage *st);

#endif
