/*
 * bytes.h — little-endian field access for every on-disk and on-wire layout.
 *
 * Formats are written and read through these helpers, never by casting a
 * struct over bytes, so layouts are exact whatever the compiler pads and the
 * bytes may sit at any alignment. On a little-endian host (checked below)
 * each helper is one unaligned move.
 */
#ifndef ONSALE_BYTES_H
#define ONSALE_BYTES_H

#include <stdint.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "onsale formats are little-endian; add byte swaps for this host"
#endif

static inline void put_u8(uint8_t *p, uint8_t v)
{
	p[0] = v;
}
static inline void put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof v);
}
static inline void put_u32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof v);
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof v);
}
static inline uint8_t get_u8(const uint8_t *p)
{
	return p[0];
}
static inline uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof v);
	return v;
}
static inline uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof v);
	return v;
}
static inline uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof v);
	return v;
}
static inline void put_bytes(uint8_t *p, const void *src, size_t n)
{
	memcpy(p, src, n);
}
static inline void get_bytes(const uint8_t *p, void *dst, size_t n)
{
	memcpy(dst, p, n);
}

#endif
