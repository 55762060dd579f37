/*
 * fuzz_config.c — libFuzzer target for onsaled's config file
 * (net/server/server_config.c, through server_config_parse: the same line
 * reader a file goes through).
 *
 * The file is the operator's, but it is read before anything else runs and
 * a bad line must be an error message, never a crash or a key half read.
 * A file that parses must have taken every key from a line of 64 hex
 * digits: parsing the text again gives the same keys.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "net/server/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct server_config a, b;
	char *text = malloc(size ? size : 1);
	int rc;

	check(text != NULL);
	memcpy(text, data, size); /* exactly size bytes: ASan sees a read past them */
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	rc = server_config_parse(&a, text, size, "fuzz");
	check(rc == 0 || rc == -EINVAL);
	if (rc == 0) {
		check(server_config_parse(&b, text, size, "fuzz") == 0);
		check(memcmp(a.keys, b.keys, sizeof a.keys) == 0);
		check(memcmp(a.has_key, b.has_key, sizeof a.has_key) == 0);
		check(memcmp(a.keys_next, b.keys_next, sizeof a.keys_next) == 0);
		check(memcmp(a.has_key_next, b.has_key_next, sizeof a.has_key_next) == 0);
	}
	free(text);
	return 0;
}
