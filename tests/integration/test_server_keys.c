/*
 * test_server_keys.c — role keys reloaded on SIGHUP, on a real onsaled
 * (2 shards, so both shards' copies of the keys are exercised):
 *
 *   reload_replaces_key    after SIGHUP the new platform key opens new
 *                          connections and the old one is refused, while a
 *                          connection opened with the old key keeps its
 *                          role and goes on working (before, SIGHUP killed
 *                          the server)
 *   rotation_overlap       platform_key plus platform_key_next: both open
 *                          the role; dropping the old one then refuses it
 *   broken_file_keeps_keys a file that does not parse, and one with no key
 *                          at all, are logged and the keys in use stay
 *   keyless_start_refused  a start with a file that names no key is
 *                          refused (exit 1), as its reload is
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"

/* HELLOs tried per check: connections spread over the shards */
#define TRIES 8
/* how long a reload may take to show: 200 x 10 ms */
#define WAIT_ROUNDS 200

static const char *argv0;
static struct srv h;

static int setup(void **state)
{
	(void)state;
	srv_init(&h, argv0, 2);
	return srv_start(&h);
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void fill_key(uint8_t key[ONSALE_KEY_BYTES], uint8_t seed)
{
	for (int i = 0; i < ONSALE_KEY_BYTES; i++)
		key[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

static void put_hex(FILE *f, const char *name, const uint8_t key[ONSALE_KEY_BYTES])
{
	fprintf(f, "%s=", name);
	for (int i = 0; i < ONSALE_KEY_BYTES; i++)
		fprintf(f, "%02x", key[i]);
	fprintf(f, "\n");
}

/* The config file: the harness's admin key, platform (and platform_next
 * when not NULL), or, with text, exactly that text. */
static void write_config(const uint8_t *platform, const uint8_t *next, const char *text)
{
	char path[320];
	snprintf(path, sizeof path, "%s/onsaled.conf", h.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	if (text) {
		fputs(text, f);
	} else {
		put_hex(f, "admin_key", h.keys[ONSALE_ROLE_ADMIN]);
		put_hex(f, "platform_key", platform);
		if (next)
			put_hex(f, "platform_key_next", next);
	}
	assert_int_equal(fclose(f), 0);
}

/* 1 when a HELLO as platform with key succeeds, 0 when it is refused. */
static int opens(const uint8_t key[ONSALE_KEY_BYTES])
{
	struct onsale *c = NULL;
	int rc = onsale_open("127.0.0.1", h.port, ONSALE_ROLE_PLATFORM, key, NULL, &c);
	if (rc == 0) {
		assert_int_equal(onsale_ping(c), ST_OK);
		onsale_close(c);
		return 1;
	}
	assert_int_equal(rc, -EACCES);
	return 0;
}

/* Every one of TRIES connections agrees: key opens the role, or not. */
static void expect_opens(const uint8_t key[ONSALE_KEY_BYTES], int want)
{
	for (int i = 0; i < TRIES; i++)
		assert_int_equal(opens(key), want);
}

/* SIGHUP, then waits until key opens (bounded). */
static void reload_until_opens(const uint8_t key[ONSALE_KEY_BYTES])
{
	assert_int_equal(kill(h.pid, SIGHUP), 0);
	for (int i = 0; i < WAIT_ROUNDS && !opens(key); i++)
		sleep_ms(10);
	expect_opens(key, 1);
}

/* Lines in onsaled.log holding text. */
static int log_count(const char *text)
{
	char path[320], line[1024];
	int n = 0;
	snprintf(path, sizeof path, "%s/onsaled.log", h.dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, text) != NULL;
	fclose(f);
	return n;
}

static void reload_refused(void)
{
	int before = log_count("role keys not reloaded");
	assert_int_equal(kill(h.pid, SIGHUP), 0);
	for (int i = 0; i < WAIT_ROUNDS && log_count("role keys not reloaded") == before; i++)
		sleep_ms(10);
	assert_int_equal(log_count("role keys not reloaded"), before + 1);
}

static void reload_replaces_key(void **state)
{
	(void)state;
	uint8_t old[ONSALE_KEY_BYTES], fresh[ONSALE_KEY_BYTES];
	memcpy(old, h.keys[ONSALE_ROLE_PLATFORM], sizeof old);
	fill_key(fresh, 1);
	struct onsale *before = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(before);
	expect_opens(fresh, 0);

	write_config(fresh, NULL, NULL);
	reload_until_opens(fresh);
	expect_opens(old, 0);
	assert_int_equal(onsale_ping(before), ST_OK); /* keeps its role */
	struct result res;
	assert_int_equal(onsale_query_hold(before, 4242, 1, &res), ST_EVENT_UNKNOWN);
	assert_int_equal(onsale_error(before), 0);
	onsale_close(before);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN); /* the admin key stayed */
	assert_non_null(admin);
	onsale_close(admin);
}

static void rotation_overlap(void **state)
{
	(void)state;
	uint8_t k1[ONSALE_KEY_BYTES], k2[ONSALE_KEY_BYTES];
	fill_key(k1, 2);
	fill_key(k2, 3);
	write_config(k1, NULL, NULL);
	reload_until_opens(k1);
	write_config(k1, k2, NULL);
	reload_until_opens(k2);
	expect_opens(k1, 1);
	write_config(k2, NULL, NULL);
	assert_int_equal(kill(h.pid, SIGHUP), 0);
	for (int i = 0; i < WAIT_ROUNDS && opens(k1); i++)
		sleep_ms(10);
	expect_opens(k1, 0);
	expect_opens(k2, 1);
}

static void broken_file_keeps_keys(void **state)
{
	(void)state;
	uint8_t k[ONSALE_KEY_BYTES], other[ONSALE_KEY_BYTES];
	fill_key(k, 4);
	fill_key(other, 5);
	write_config(k, NULL, NULL);
	reload_until_opens(k);

	write_config(NULL, NULL, "platform_key=0123 not hex\n");
	reload_refused();
	expect_opens(k, 1);
	write_config(NULL, NULL, "# no keys at all\n");
	reload_refused();
	expect_opens(k, 1);
	expect_opens(other, 0);
	assert_int_equal(kill(h.pid, 0), 0); /* still running */
}

/* A start whose file names no key at all is refused (exit 1, saying so)
 * as a reload of it is: before, onsaled ran with no key, and no client
 * could ever authenticate. */
static void keyless_start_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/onsale-keyless-XXXXXX", cmd[2048];
	assert_non_null(mkdtemp(dir));
	snprintf(cmd, sizeof cmd,
		 "printf '# no keys\\nidle_timeout_ms=1000\\n' > %s/onsaled.conf &&"
		 " timeout 10 '%s' -s 1 -d %s/data -c %s/onsaled.conf -l 127.0.0.1:%u"
		 " --metrics off 2> %s/log; echo $? > %s/rc",
		 dir, h.bin, dir, dir, (unsigned)h.port, dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(cmd, sizeof cmd, "grep -qx 1 %s/rc && grep -q 'names no role key' %s/log", dir,
		 dir);
	int rc = system(cmd);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(rc, 0);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reload_replaces_key),
		cmocka_unit_test(rotation_overlap),
		cmocka_unit_test(broken_file_keeps_keys),
		cmocka_unit_test(keyless_start_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
