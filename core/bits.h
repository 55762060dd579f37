/*
 * bits.h — operations on a row's 256-bit seat masks.
 *
 * A window of a row (one segment: a run of one tier's seats) is shifted down
 * to bit 0 so runs of free seats are found with ctz over a few words.
 */
#ifndef ONSALE_BITS_H
#define ONSALE_BITS_H

#include <stdint.h>
#include "core/limits.h"

#define MASK_WORDS (ROW_SEATS_MAX / 64)

/* out = bits [start, start + len) of src, moved to bit 0; higher bits zero. */
static inline void bits_window(const uint64_t *src, unsigned start, unsigned len,
			       uint64_t out[MASK_WORDS])
{
	for (unsigned w = 0; w < MASK_WORDS; w++) {
		unsigned b = start + 64 * w, i = b / 64, sh = b % 64;
		uint64_t x = 0;

		if (i < MASK_WORDS)
			x = src[i] >> sh;
		if (sh && i + 1 < MASK_WORDS)
			x |= src[i + 1] << (64 - sh);
		if (64 * w >= len)
			x = 0;
		else if (len - 64 * w < 64)
			x &= (1ull << (len - 64 * w)) - 1;
		out[w] = x;
	}
}

/* First bit at or after pos that is set (want = 1) or clear (want = 0),
 * below len; len when none. */
static inline unsigned bits_next(const uint64_t m[MASK_WORDS], unsigned pos, unsigned len, int want)
{
	while (pos < len) {
		unsigned w = pos / 64;
		uint64_t x = (want ? m[w] : ~m[w]) & (~0ull << (pos % 64));

		if (x) {
			unsigned at = 64 * w + (unsigned)__builtin_ctzll(x);
			return at < len ? at : len;
		}
		pos = 64 * (w + 1);
	}
	return len;
}

static inline unsigned bits_longest_run(const uint64_t m[MASK_WORDS], unsigned len)
{
	unsigned best = 0, pos = 0;

	while (pos < len) {
		unsigned s = bits_next(m, pos, len, 1), z;

		if (s >= len)
			break;
		z = bits_next(m, s, len, 0);
		if (z - s > best)
			best = z - s;
		pos = z;
	}
	return best;
}

static inline void bit_set(uint64_t *m, unsigned i)
{
	m[i / 64] |= 1ull << (i % 64);
}
static inline void bit_clear(uint64_t *m, unsigned i)
{
	m[i / 64] &= ~(1ull << (i % 64));
}
static inline int bit_test(const uint64_t *m, unsigned i)
{
	return (int)(m[i / 64] >> (i % 64) & 1);
}

#endif
