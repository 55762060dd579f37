/*
 * bytes.h — little-endian field access for every on-disk and on-wire layout.
 *
 * Formats are written and read through these helpers, never by casting a
 * struct over bytes, so layouts are exact whatever the compiler pads and the
 * bytes may sit at any alignment. On x86-64 each compiles to one move.
 */
#ifndef ONSALE_BYTES_H
#define ONSALE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline void put_u8(uint8_t *p, uint8_t v) { p[0] = v; }
static inline void put_u16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put_u32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void put_u64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint8_t get_u8(const uint8_t *p) { return p[0]; }
static inline uint16_t get_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get_u32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static inline uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static inline void put_bytes(uint8_t *p, const void *src, size_t n) { memcpy(p, src, n); }
static inline void get_bytes(const uint8_t *p, void *dst, size_t n) { memcpy(dst, p, n); }

#endif
