/*
 * storage_ro.h — a read-only storage on a shard directory, optionally with
 * the WAL archive beside it read as part of the same log. See storage_ro.c.
 */
#ifndef ONSALE_STORAGE_RO_H
#define ONSALE_STORAGE_RO_H

#include <stdint.h>

#include "core/storage.h"

/* A storage on dir that can only open, size, read and list; every other
 * operation fails with -EROFS. Files are opened O_RDONLY. With archive_dir
 * (may be NULL, or missing: then none), files missing from dir are looked
 * for there and list shows both, live ones first. 0 or -errno. */
int storage_ro_open(struct storage *out, const char *dir, const char *archive_dir);
/* The same on directories already open (archive_fd -1: none); the storage
 * opens them again (its own offsets), the caller keeps its own. */
int storage_ro_open_fds(struct storage *out, int dir_fd, int archive_fd);
/* Hides snapshot files (snap-<lsn>.osnp) with a larger LSN from list. */
void storage_ro_hide_snapshots_after(struct storage *st, uint64_t snapshot_lsn_max);

#endif
