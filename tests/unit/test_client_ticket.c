/*
 * test_client_ticket.c — libonsale's public-key file reader: the file
 * onsaled writes loads; comments and blank lines are skipped; a bad id, a
 * bad or short key, a repeated id or more than TOKEN_KEYS_MAX keys is
 * -EINVAL; a missing file is its -errno.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/client/onsale.h"

static char path[64];

static void write_file(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, struct token_keys *keys)
{
	write_file(text);
	return onsale_ticket_keys_load(path, keys);
}

/* "<id> <base64url of 32 bytes of v>\n" */
static void key_line(char *out, size_t cap, unsigned id, uint8_t v)
{
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES];
	char b64[64];
	memset(pk, v, sizeof pk);
	token_b64_encode(pk, sizeof pk, b64, sizeof b64);
	snprintf(out, cap, "%u %s\n", id, b64);
}

static void loads(void **state)
{
	char a[80], b[80], text[400];
	struct token_keys keys;

	(void)state;
	key_line(a, sizeof a, 1, 0x11);
	key_line(b, sizeof b, 7, 0x77);
	snprintf(text, sizeof text, "# onsale ticket keys\n\n%s%s", a, b);
	assert_int_equal(load(text, &keys), 0);
	assert_int_equal(keys.count, 2);
	assert_int_equal(keys.keys[0].key_id, 1);
	assert_int_equal(keys.keys[1].key_id, 7);
	assert_int_equal(keys.keys[1].pk[31], 0x77);
	assert_non_null(token_keys_find(&keys, 7));
	assert_null(token_keys_find(&keys, 2));
}

static void refuses(void **state)
{
	char a[80], text[2048] = "";
	struct token_keys keys;

	(void)state;
	key_line(a, sizeof a, 1, 0x11);
	assert_int_equal(load("0 AAAA\n", &keys), -EINVAL);
	assert_int_equal(load("x JljXtZi6BFnPJ-CRQc85wUggjBlrg0l_Ex2dZUVWff0\n", &keys), -EINVAL);
	assert_int_equal(load("1 JljXtZi6BFnPJ-CRQc85wUggjBlrg0l_Ex2dZUVW\n", &keys), -EINVAL);
	assert_int_equal(load("1 JljXtZi6BFnPJ+CRQc85wUggjBlrg0l/Ex2dZUVWff0\n", &keys), -EINVAL);
	snprintf(text, sizeof text, "%s%s", a, a);
	assert_int_equal(load(text, &keys), -EINVAL); /* the same id twice */
	text[0] = 0;
	for (unsigned id = 1; id <= TOKEN_KEYS_MAX + 1; id++) {
		key_line(a, sizeof a, id, (uint8_t)id);
		strncat(text, a, sizeof text - strlen(text) - 1);
	}
	assert_int_equal(load(text, &keys), -EINVAL); /* one too many */
	unlink(path);
	assert_int_equal(onsale_ticket_keys_load(path, &keys), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(loads),
		cmocka_unit_test(refuses),
	};
	int fd;

	snprintf(path, sizeof path, "/tmp/onsale-keys-XXXXXX");
	fd = mkstemp(path);
	if (fd < 0)
		return 1;
	close(fd);
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return rc;
}
