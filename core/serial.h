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

/* A new core from a stream; checks every field and then every invariant.
 * NULL (and *why, a static string) when the stream is refused. */
struct core *core_deserialize(const uint8_t *bytes, size_t len, const char **why);

#endif
