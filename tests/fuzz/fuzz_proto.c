/*
 * fuzz_proto.c — libFuzzer target for the protocol decoder (net/proto/proto.c).
 *
 * The decoder reads bytes straight off client sockets, so it must never
 * crash, hang or read past what it was given, whatever arrives. The input is
 * decoded as a stream of requests and, separately, as a stream of replies
 * (what the client library reads). Every frame that decodes is also checked
 * for the codec's own promises: each of its proper prefixes asks for more
 * bytes; it encodes again to a frame of the same length; and that frame
 * decodes and encodes to the very same bytes. A broken promise aborts.
 *
 * Raw bytes rarely form a valid header, so an input whose first byte has
 * its top bit set is read as a structured one instead: byte 0 bit 0 picks
 * request or reply, byte 1 is the opcode, bytes 2-3 the status, and the
 * rest is the body, framed by a valid header in a buffer of exactly the
 * frame's size (so AddressSanitizer sees any read past it). That takes the
 * fuzzer straight to the body decoders of every opcode.
 *
 * Built by `make fuzz` and `make test` (clang -fsanitize=fuzzer,address,
 * undefined); corpus in tests/fuzz/corpus-proto.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "net/proto/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct proto_section_buf sec, sec_again;
static struct proto_request req, req_again;
static struct proto_reply rep, rep_again;
static uint8_t out[PROTO_FRAME_BYTES_MAX], out_again[PROTO_FRAME_BYTES_MAX];

static void check(int ok)
{
	if (!ok)
		abort();
}

static void request_frame(const uint8_t *p, long len)
{
	size_t n;

	check(proto_decode_request(p, (size_t)len - 1, &req_again, &sec_again) == 0);
	n = proto_encode_request(out, sizeof(out), &req);
	check(n == (size_t)len);
	check(proto_decode_request(out, n, &req_again, &sec_again) == len);
	check(proto_encode_request(out_again, sizeof(out_again), &req_again) == n);
	check(memcmp(out, out_again, n) == 0);
}

static void reply_frame(const uint8_t *p, long len)
{
	size_t n;

	check(proto_decode_reply(p, (size_t)len - 1, &rep_again) == 0);
	n = proto_encode_reply(out, sizeof(out), &rep);
	check(n == (size_t)len);
	check(proto_decode_reply(out, n, &rep_again) == len);
	check(proto_encode_reply(out_again, sizeof(out_again), &rep_again) == n);
	check(memcmp(out, out_again, n) == 0);
}

static void streams(const uint8_t *data, size_t size)
{
	size_t off;
	long rc;

	for (off = 0; (rc = proto_decode_request(data + off, size - off, &req, &sec)) > 0;
	     off += (size_t)rc) {
		check((size_t)rc <= size - off && (size_t)rc <= PROTO_FRAME_BYTES_MAX);
		request_frame(data + off, rc);
	}
	check(rc >= -PROTO_BAD_BODY);
	for (off = 0; (rc = proto_decode_reply(data + off, size - off, &rep)) > 0;
	     off += (size_t)rc) {
		check((size_t)rc <= size - off && (size_t)rc <= PROTO_FRAME_BYTES_MAX);
		reply_frame(data + off, rc);
	}
	check(rc >= -PROTO_BAD_BODY);
}

static void put_le(uint8_t *p, uint64_t v, unsigned width)
{
	for (unsigned i = 0; i < width; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void structured(const uint8_t *data, size_t size)
{
	size_t body = size - 4, n = PROTO_HEADER_BYTES + body;
	uint8_t *frame;

	if (size < 4 || n > PROTO_FRAME_BYTES_MAX)
		return;
	frame = malloc(n);
	check(frame != NULL);
	put_le(frame, PROTO_MAGIC, 4);
	frame[4] = PROTO_VERSION;
	frame[5] = data[1];
	put_le(frame + 6, data[0] & PROTO_F_REPLY, 2);
	put_le(frame + 8, body, 4);
	memcpy(frame + 12, data + 2, 2);
	put_le(frame + 14, 0, 2);
	put_le(frame + 16, 0x0123456789abcdefull, 8);
	memcpy(frame + PROTO_HEADER_BYTES, data + 4, body);
	streams(frame, n);
	free(frame);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && (data[0] & 0x80))
		structured(data, size);
	else
		streams(data, size);
	return 0;
}
