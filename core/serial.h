/*
 * serial.h — the whole logical state of a shard as a byte stream.
 *
 * The same walker writes snapshots, reads them back and feeds the state hash
 * (core_state_hash in core.h hashes exactly these bytes). The snapshot file
 * around the stream (header, LSN, checksums) is the durability layer's.
 */
#ifndef ONSALE_SERIAL_H
#define ONSALE_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include "core/core.h"

struct serial_sink {
	void (*write)(void *ctx, const void *bytes, size_t len);
	void *ctx;
};

/* Writes the state to sink, in pieces of any size. */
void core_serialize(const struct core *c, struct serial_sink *sink);

/* Exact size of core_serialize's output. */
size_t core_serialized_bytes(const struct core *c);

/* Where a stream of known length is read from in pieces: read points
 * *bytes at the next piece and returns its size, 0 when it has none (an
 * I/O error: the stream is then refused as truncated). Pieces may be of
 * any size up to what is left of the stream (a longer one is refused as
 * truncated too); each stays valid until the next read. */
struct serial_source {
	size_t (*read)(void *ctx, const uint8_t **bytes);
	void *ctx;
};

/* A source of bytes already in memory, all in one piece: serial_bytes_read
 * with a struct serial_bytes as its ctx. */
struct serial_bytes {
	const uint8_t *p;
	uint64_t len;
};
size_t serial_bytes_read(void *ctx, const uint8_t **bytes);

/* A new core from a stream; checks every field and then every invariant.
 * NULL (and *why, a static string) when the stream is refused. */
struct core *core_deserialize(const uint8_t *bytes, size_t len, const char **why);

/* The same from len bytes read from src: the reader needs no copy of the
 * whole stream in memory (a 375 MB buffer faulted in and filled took a
 * third of a restart, docs/PERFORMANCE.md "Restart"). */
struct core *core_deserialize_from(struct serial_source *src, uint64_t len, const char **why);

#endif
