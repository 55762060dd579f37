/*
 * test_core_serial.c — core_deserialize refuses damaged state streams with
 * a reason instead of asserting or reading out of bounds: the streams that
 * once crashed fuzz_snapshot (tests/fuzz/corpus-snapshot/crash-*, read from
 * the source tree: make test runs from its top), and a hand-made one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "core/bytes.h"
#include "core/serial.h"

static const char *refused(const uint8_t *p, size_t len)
{
	const char *why = NULL;
	struct core *c = core_deserialize(p, len, &why);

	assert_null(c);
	assert_non_null(why);
	return why;
}

/* version 4, shard, slot_next 0, no events, no retired events, no peers */
static void shard_out_of_range(void **state)
{
	uint8_t s[15] = {0};
	const char *why = NULL;
	struct core *c;

	(void)state;
	put_u32(s, 4);
	s[4] = SHARDS_MAX - 1;
	c = core_deserialize(s, sizeof s, &why);
	assert_non_null(c);
	core_destroy(c);
	s[4] = SHARDS_MAX;
	assert_string_equal(refused(s, sizeof s), "shard id out of range");
}

static void crash_input(const char *name, const char *why)
{
	char path[256];
	FILE *f;
	long len;
	uint8_t *p;

	snprintf(path, sizeof path, "tests/fuzz/corpus-snapshot/%s", name);
	f = fopen(path, "rb");
	if (!f) {
		print_message("%s not found (run from the source tree's top)\n", path);
		fail();
	}
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	p = malloc((size_t)len);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_string_equal(refused(p, (size_t)len), why);
	free(p);
}

static void fuzz_crashes(void **state)
{
	(void)state;
	crash_input("crash-shard-out-of-range", "shard id out of range");
	crash_input("crash-hold-customer-zero", "hold out of range");
	crash_input("crash-ticket-seat-out-of-range",
		    "valid ticket's seat is not sold to it (seat sold twice?)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(shard_out_of_range),
		cmocka_unit_test(fuzz_crashes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
