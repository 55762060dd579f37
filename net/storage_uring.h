/*
 * storage_uring.h — the io_uring implementation of the storage interface
 * (core/storage.h) on a real directory.
 */
#ifndef ONSALE_STORAGE_URING_H
#define ONSALE_STORAGE_URING_H

#include "core/storage.h"

/* Open files with O_DIRECT (page-aligned I/O only, no page cache). */
#define STORAGE_URING_DIRECT 1u

/* Opens (creating it if missing) the directory dir as a storage instance
 * with its own ring. Returns 0 or -errno. */
int storage_uring_open(struct storage *out, const char *dir, unsigned flags);

#endif
