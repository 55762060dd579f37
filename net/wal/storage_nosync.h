/*
 * storage_nosync.h — wraps a storage so file fsyncs are skipped (onsaled
 * --no-fsync, benchmarking only). See storage_nosync.c.
 */
#ifndef ONSALE_STORAGE_NOSYNC_H
#define ONSALE_STORAGE_NOSYNC_H

#include "core/storage.h"

/* Replaces *st by a wrapper around it (destroying the wrapper destroys the
 * wrapped storage). 0 or -ENOMEM (st unchanged). */
int storage_nosync_wrap(struct storage *st);

#endif
