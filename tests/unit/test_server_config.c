/*
 * test_server_config.c — onsaled's config file (net/server/server_config.c)
 * for the connection policy: the defaults, the keys, a bad value refused,
 * and an option given on the command line winning over the file; and
 * --gen-config's file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/server/server.h"

static int parse(struct server_config *cfg, const char *text)
{
	return server_config_parse(cfg, text, strlen(text), "test.conf");
}

static void guard_defaults_and_keys(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	assert_int_equal(cfg.deadlines.hello_ms, GUARD_HELLO_MS_DEFAULT);
	assert_int_equal(cfg.deadlines.frame_ms, GUARD_FRAME_MS_DEFAULT);
	assert_int_equal(cfg.deadlines.idle_ms, GUARD_IDLE_MS_DEFAULT);
	assert_int_equal(cfg.conns_max, 0);
	assert_int_equal(cfg.conns_per_addr_max, GUARD_CONNS_PER_ADDR_DEFAULT);
	assert_int_equal(parse(&cfg, "# policy\n"
				     "hello_timeout_ms=2000\n"
				     "frame_timeout_ms=3000\r\n"
				     "idle_timeout_ms=0\n"
				     "max_connections=5000\n"
				     "max_connections_per_address=0\n"),
			 0);
	assert_int_equal(cfg.deadlines.hello_ms, 2000);
	assert_int_equal(cfg.deadlines.frame_ms, 3000);
	assert_int_equal(cfg.deadlines.idle_ms, 0);
	assert_int_equal(cfg.conns_max, 5000);
	assert_int_equal(cfg.conns_per_addr_max, 0);
}

static void guard_bad_values_refused(void **state)
{
	(void)state;
	static const char *const bad[] = {"idle_timeout_ms=\n", "idle_timeout_ms=-1\n",
					  "idle_timeout_ms=10s\n", "max_connections=4294967296\n",
					  "hello_timeout=5\n"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct server_config cfg;
		server_config_defaults(&cfg);
		assert_int_equal(parse(&cfg, bad[i]), -EINVAL);
		assert_int_equal(cfg.deadlines.idle_ms, GUARD_IDLE_MS_DEFAULT);
		assert_int_equal(cfg.conns_max, 0);
	}
}

static void guard_option_wins_over_the_file(void **state)
{
	(void)state;
	struct server_config cfg;
	server_config_defaults(&cfg);
	assert_int_equal(server_config_guard_set(&cfg, GUARD_KEY_IDLE, "1500"), 0);
	cfg.guard_from_args |= 1u << GUARD_KEY_IDLE; /* as onsaled's option does */
	assert_int_equal(parse(&cfg, "idle_timeout_ms=99\nhello_timeout_ms=700\n"), 0);
	assert_int_equal(cfg.deadlines.idle_ms, 1500);
	assert_int_equal(cfg.deadlines.hello_ms, 700);
	assert_string_equal(server_config_guard_name(GUARD_KEY_CONNS_PER_ADDR),
			    "max_connections_per_address");
}

/* --gen-config makes the file's directory (the data directory of a fresh
 * tree: `onsaled --gen-config var/onsaled.conf` failed there), one level:
 * a path further from anything that exists is still refused. */
static void generate_makes_its_directory(void **state)
{
	(void)state;
	char top[] = "/tmp/onsale-genconf-XXXXXX", path[256];
	assert_non_null(mkdtemp(top));
	snprintf(path, sizeof path, "%s/var/onsaled.conf", top);
	assert_int_equal(server_config_generate(path), 0);
	assert_int_equal(access(path, R_OK), 0);
	assert_int_equal(server_config_generate(path), -EEXIST); /* never overwritten */
	unlink(path);
	snprintf(path, sizeof path, "%s/var", top);
	rmdir(path);
	snprintf(path, sizeof path, "%s/a/b/onsaled.conf", top);
	assert_int_equal(server_config_generate(path), -ENOENT);
	rmdir(top);
}

/* A line is read whole, however long: a comment of 600 bytes was cut into
 * 511-byte pieces and the rest refused as a bad line (named one line too
 * far on); and a file that cannot be read (a directory) is an error, not
 * a file with no line. */
static void long_lines_and_read_errors(void **state)
{
	(void)state;
	struct server_config cfg;
	char text[2048];
	char key[2 * PROTO_KEY_BYTES + 1];
	memset(key, 'a', sizeof key - 1);
	key[sizeof key - 1] = 0;
	memset(text, 0, sizeof text);
	text[0] = '#';
	memset(text + 1, 'x', 600);
	snprintf(text + 601, sizeof text - 601, "\nplatform_key=%s\n", key);
	server_config_defaults(&cfg);
	assert_int_equal(parse(&cfg, text), 0);
	assert_true(cfg.has_key[PROTO_ROLE_PLATFORM]);
	assert_int_equal(cfg.keys[PROTO_ROLE_PLATFORM][0], 0xaa);
	server_config_defaults(&cfg);
	assert_int_not_equal(server_config_load(&cfg, "."), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(guard_defaults_and_keys),
		cmocka_unit_test(guard_bad_values_refused),
		cmocka_unit_test(guard_option_wins_over_the_file),
		cmocka_unit_test(generate_makes_its_directory),
		cmocka_unit_test(long_lines_and_read_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
