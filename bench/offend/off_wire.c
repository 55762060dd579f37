/*
 * off_wire.c — offenders that send what the protocol does not allow:
 * slowloris (frames a byte at a time), seeded garbage streams, malformed
 * frames (oversized length, bad magic, version and opcode, frames cut
 * short and left hanging), requests before HELLO, requests the role may
 * not send, and HELLO with a wrong key. docs/PROTOCOL.md says what each
 * should get; the offenders only count what they do get.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/offend/offend.h"
#include "net/proto/proto.h"

#define SLOW_CONNS 32u
#define SLOW_BYTE_GAP_MS 100u  /* each slowloris connection sends 10 bytes/s */
#define SLOW_ROUNDS_MAX 36000u /* an hour of them */
#define GARBAGE_BYTES 4096u
/* How long a one-shot offender waits for the server to close on it. */
#define SHOT_WAIT_MS 2000
/* A frame cut short is left hanging this long before the offender gives up. */
#define HANG_WAIT_MS 300
#define SHOTS_MAX 100000u
#define PIPE_CONNS 4u
#define PIPE_WINDOW 256u
#define PIPE_BATCH 64u

/* One connection that sends bytes (then half-closes when asked) and waits
 * for the server to close: its replies counted, the close timed. */
static void one_shot(const struct off_env *env, struct off_seen *seen, unsigned k,
		     const uint8_t *bytes, size_t len, int half_close, int wait_ms)
{
	struct off_rx rx = {0};
	uint64_t opened = load_now_ns();
	int fd = off_raw_connect(env, k, seen);
	if (fd < 0)
		return;
	long n = off_raw_send(fd, bytes, len);
	if (n > 0) {
		seen->bytes_sent += (uint64_t)n;
		seen->frames_sent++;
	}
	if (half_close)
		shutdown(fd, SHUT_WR);
	if (off_raw_await_close(fd, &rx, seen, wait_ms))
		off_raw_closed(seen, opened, load_now_ns());
	else
		seen->open_at_end++; /* given up on: it was still open */
	close(fd);
}

static size_t hold_frame(const struct off_env *env, uint8_t *b, size_t cap, uint64_t rid)
{
	struct cmd cmd;
	onsale_prep_hold_ga(&cmd, env->event_id, OFF_TIER_BOT, 1, 7000000 + rid, rid);
	return proto_encode_cmd(b, cap, rid, &cmd);
}

void off_wire_slowloris(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	uint8_t frame[256];
	int fd[SLOW_CONNS];
	uint64_t opened[SLOW_CONNS];
	struct off_rx rx[SLOW_CONNS];
	size_t len = off_raw_hello(frame, sizeof frame, ONSALE_ROLE_PLATFORM,
				   env->keys[ONSALE_ROLE_PLATFORM], 1);
	len += hold_frame(env, frame + len, sizeof frame - len, 2);
	for (unsigned k = 0; k < SLOW_CONNS; k++) {
		fd[k] = off_raw_connect(env, k, seen);
		opened[k] = load_now_ns();
		memset(&rx[k], 0, sizeof rx[k]);
	}
	for (size_t i = 0; i < SLOW_ROUNDS_MAX && load_now_ns() < end_ns; i++) {
		for (unsigned k = 0; k < SLOW_CONNS; k++) {
			if (fd[k] < 0)
				continue;
			if (off_raw_send(fd[k], frame + i % len, 1) == 1)
				seen->bytes_sent++;
			seen->frames_sent += i % len == len - 1;
			if (!off_raw_drain(fd[k], &rx[k], seen))
				continue;
			off_raw_closed(seen, opened[k], load_now_ns());
			close(fd[k]);
			fd[k] = -1;
		}
		usleep(SLOW_BYTE_GAP_MS * 1000u);
	}
	for (unsigned k = 0; k < SLOW_CONNS; k++)
		if (fd[k] >= 0) {
			seen->open_at_end++;
			close(fd[k]);
		}
}

/* Seed k's stream: noise, noise after a right magic and version, or hold
 * requests with one byte in four frames damaged. */
static size_t garbage(const struct off_env *env, uint8_t *b, size_t cap, uint64_t k)
{
	uint64_t s = env->seed ^ (k * 0x9e3779b97f4a7c15ull);
	size_t n = 0;
	for (size_t i = 0; i < cap; i++)
		b[i] = (uint8_t)load_rnd(&s);
	if (k % 3 == 1)
		memcpy(b, "ONSL\x01", 5);
	if (k % 3 != 2)
		return cap;
	while (n + PROTO_HEADER_BYTES + 128 <= cap) {
		uint8_t flip = b[n];
		size_t f = hold_frame(env, b + n, cap - n, n + 1);
		if (!f)
			break;
		if (flip < 64)
			b[n + flip % f] ^= (uint8_t)(flip | 1);
		n += f;
	}
	return n;
}

void off_wire_garbage(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	static uint8_t b[GARBAGE_BYTES];
	for (unsigned k = 0; k < SHOTS_MAX && load_now_ns() < end_ns; k++) {
		size_t len = garbage(env, b, sizeof b, k);
		one_shot(env, seen, k, b, len, 1, SHOT_WAIT_MS);
	}
}

/* Malformed frame number k % 5 into b: its length. */
static size_t malformed(const struct off_env *env, uint8_t *b, size_t cap, unsigned k)
{
	size_t n = hold_frame(env, b, cap, k + 1);
	switch (k % 5) {
	case 0: /* body_len one past the largest */
		b[8] = (uint8_t)((PROTO_BODY_BYTES_MAX + 1) & 0xff);
		b[9] = (uint8_t)(((PROTO_BODY_BYTES_MAX + 1) >> 8) & 0xff);
		b[10] = (uint8_t)((PROTO_BODY_BYTES_MAX + 1) >> 16);
		return PROTO_HEADER_BYTES;
	case 1: b[0] = 'X'; return n;
	case 2: b[4] = 2; return n;
	case 3: b[5] = 0x3f; return n;
	default: /* cut short and left hanging */ return n / 2;
	}
}

void off_wire_malformed(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	uint8_t b[256];
	for (unsigned k = 0; k < SHOTS_MAX && load_now_ns() < end_ns; k++) {
		size_t len = malformed(env, b, sizeof b, k);
		int hang = k % 5 == 4;
		one_shot(env, seen, k, b, len, 0, hang ? HANG_WAIT_MS : SHOT_WAIT_MS);
	}
}

void off_wire_wrong_key(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	uint8_t key[ONSALE_KEY_BYTES], b[64];
	memcpy(key, env->keys[ONSALE_ROLE_PLATFORM], sizeof key);
	for (unsigned k = 0; k < SHOTS_MAX && load_now_ns() < end_ns; k++) {
		key[k % sizeof key] ^= (uint8_t)(1u << (k % 8));
		size_t len = off_raw_hello(b, sizeof b, ONSALE_ROLE_PLATFORM, key, k + 1);
		one_shot(env, seen, k, b, len, 0, SHOT_WAIT_MS);
		memcpy(key, env->keys[ONSALE_ROLE_PLATFORM], sizeof key);
	}
}

/* Holds pipelined as role (0: before any HELLO). */
static void pipelined_holds(const struct off_env *env, struct off_seen *seen, uint64_t end_ns,
			    uint8_t role)
{
	static uint8_t batch[PIPE_BATCH * (PROTO_HEADER_BYTES + 128)];
	size_t len = 0;
	for (unsigned i = 0; i < PIPE_BATCH; i++)
		len += hold_frame(env, batch + len, sizeof batch - len, i + 2);
	struct off_pipe p = {.role = role,
			     .batch = batch,
			     .batch_len = len,
			     .batch_frames = PIPE_BATCH,
			     .conns = PIPE_CONNS,
			     .window = PIPE_WINDOW,
			     .read = 1};
	off_raw_pipeline(env, &p, seen, end_ns);
}

void off_wire_prehello(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	pipelined_holds(env, seen, end_ns, 0);
}

void off_wire_wrong_role(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	pipelined_holds(env, seen, end_ns, ONSALE_ROLE_SCANNER);
}
