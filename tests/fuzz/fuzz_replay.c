/*
 * fuzz_replay.c — libFuzzer target for replaying WAL records into a state
 * (core_apply: core/record.c's decoder, then the apply path every command
 * shares with recovery).
 *
 * Recovery applies whatever bodies the WAL reader returns to the state the
 * snapshot gave. A body that decodes but does not fit that state (an
 * unknown hold, a seat already sold, a tier not defined) must come back as
 * ST_RECORD_INVALID, never crash or corrupt the state: after any record that
 * applies, every invariant still holds (core_check_invariants). The state is
 * a small shard after a seeded command stream (tests/support/cmd_gen.c),
 * loaded fresh for each input from its serialized bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "core/core.h"
#include "core/limits.h"
#include "core/serial.h"
#include "tests/support/cmd_gen.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STEPS 200

static uint8_t *base;
static size_t base_len;

static void check(int ok)
{
	if (!ok)
		abort();
}

static void grow(void *ctx, const void *bytes, size_t len)
{
	(void)ctx;
	base = realloc(base, base_len + len);
	check(base != NULL);
	memcpy(base + base_len, bytes, len);
	base_len += len;
}

/* The same shard every run: the records of the corpus were made on it
 * (gen_corpus.c runs the same generator with the same seed). */
static void make_base(void)
{
	static uint8_t body[RECORD_BYTES_MAX];
	struct core *c = core_create(2);
	struct serial_sink sink = {grow, NULL};
	struct cmd_gen g;
	struct cmd cmd;

	check(c != NULL);
	cmd_gen_init(&g, 7, 1700000000000ull, 1);
	for (unsigned i = 0; i < STEPS; i++) {
		struct rec_buf rec = {body, sizeof body, 0};
		struct result res;

		if (!cmd_gen_next(&g, &cmd))
			continue;
		cmd_gen_result(&g, &cmd, core_execute(c, &cmd, g.now_ms, &res, &rec), &res);
	}
	core_serialize(c, &sink);
	core_destroy(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint8_t *body;
	struct core *c;

	if (!base)
		make_base();
	c = core_deserialize(base, base_len, &why);
	check(c != NULL);
	body = malloc(size ? size : 1); /* exactly size bytes: ASan sees a read past them */
	check(body != NULL);
	memcpy(body, data, size);
	if (core_apply(c, body, size) == ST_OK)
		check(core_check_invariants(c) == NULL);
	free(body);
	core_destroy(c);
	return 0;
}
