/*
 * pieces.h — a byte stream handed out in pieces (core/serial.h's
 * serial_source), as a reader of a file hands it out, for the tests of
 * core_deserialize_from and snapshot_image_check_from. Linked into every
 * test program (see the Makefile).
 */
#ifndef ONSALE_TEST_PIECES_H
#define ONSALE_TEST_PIECES_H

#include <stddef.h>
#include <stdint.h>
#include "core/serial.h"

/* The first `first` bytes (0: `size`), then `size` at a time; nothing once
 * `stop` bytes were handed out (an I/O error; SIZE_MAX: never). */
struct pieces {
	const uint8_t *p;
	size_t left, first, size, stop;
	unsigned reads; /* read calls so far */
};

struct serial_source pieces_source(struct pieces *q);

#endif
