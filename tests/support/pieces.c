/*
 * pieces.c — a byte stream in pieces (pieces.h).
 */
#include "tests/support/pieces.h"

static size_t pieces_read(void *ctx, const uint8_t **bytes)
{
	struct pieces *q = ctx;
	size_t n = q->first ? q->first : q->size;

	n = n < q->left ? n : q->left;
	n = n < q->stop ? n : q->stop;
	q->first = 0;
	*bytes = q->p;
	q->p += n, q->left -= n, q->stop -= n;
	q->reads++;
	return n;
}

struct serial_source pieces_source(struct pieces *q)
{
	return (struct serial_source){pieces_read, q};
}
