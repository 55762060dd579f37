/*
 * wal_check.c — self-checking record bodies for the WAL tests (see
 * wal_check.h).
 */
#include "tests/support/wal_check.h"

#include <string.h>

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t body_len(uint64_t seed, uint64_t lsn, uint32_t epoch, uint32_t len_max)
{
	uint64_t h = mix(seed ^ mix(lsn * 31 + epoch));
	uint32_t span = len_max - WAL_CHECK_BODY_BYTES_MIN + 1;
	/* mostly small records, now and then a large one */
	if (h % 16)
		span = span < 200 ? span : 200;
	return WAL_CHECK_BODY_BYTES_MIN + (uint32_t)((h >> 8) % span);
}

static uint8_t pattern(uint64_t seed, uint64_t lsn, uint32_t epoch, uint32_t i)
{
	return (uint8_t)(mix(seed + lsn * 0x9e3779b97f4a7c15ull + epoch * 131 + (i >> 3)) >>
			 (8 * (i & 7)));
}

uint32_t wal_check_make(uint8_t *out, uint64_t seed, uint64_t lsn, uint32_t epoch, uint32_t len_max)
{
	uint32_t len = body_len(seed, lsn, epoch, len_max);
	memcpy(out, &lsn, 8);
	memcpy(out + 8, &epoch, 4);
	memcpy(out + 12, &len, 4);
	for (uint32_t i = WAL_CHECK_BODY_BYTES_MIN; i < len; i++)
		out[i] = pattern(seed, lsn, epoch, i);
	return len;
}

int wal_check_body(const uint8_t *body, uint32_t len, uint64_t seed, uint64_t lsn, uint32_t len_max,
		   uint32_t *epoch)
{
	uint64_t l;
	uint32_t e, n;
	if (len < WAL_CHECK_BODY_BYTES_MIN)
		return -1;
	memcpy(&l, body, 8);
	memcpy(&e, body + 8, 4);
	memcpy(&n, body + 12, 4);
	if (l != lsn || n != len || len != body_len(seed, lsn, e, len_max))
		return -1;
	for (uint32_t i = WAL_CHECK_BODY_BYTES_MIN; i < len; i++)
		if (body[i] != pattern(seed, lsn, e, i))
			return -1;
	if (epoch)
		*epoch = e;
	return 0;
}
