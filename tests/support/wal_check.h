/*
 * wal_check.h — record bodies for WAL tests that check themselves: each
 * body carries its LSN, the epoch (crash count) it was written in and a
 * pattern derived from both, so a test can tell a whole record of the
 * right LSN from a stale, torn or misplaced one without keeping copies.
 */
#ifndef ONSALE_WAL_CHECK_H
#define ONSALE_WAL_CHECK_H

#include <stdint.h>

#define WAL_CHECK_BODY_BYTES_MIN 16u

/* Writes the body of lsn for (seed, epoch) into out; its length is between
 * WAL_CHECK_BODY_BYTES_MIN and len_max, chosen from the same inputs.
 * Returns the length. */
uint32_t wal_check_make(uint8_t *out, uint64_t seed, uint64_t lsn, uint32_t epoch,
			uint32_t len_max);

/* 0 when body is exactly what wal_check_make wrote for lsn (and some
 * epoch, stored in *epoch), else -1. */
int wal_check_body(const uint8_t *body, uint32_t len, uint64_t seed, uint64_t lsn, uint32_t len_max,
		   uint32_t *epoch);

#endif
