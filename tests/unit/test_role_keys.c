/*
 * test_role_keys.c — the role keys a HELLO is checked against
 * (net/server/role_keys.c), in process:
 *
 *   check_slots          a role opens with its key or its next key, never
 *                        with another role's, a key one bit off (first or
 *                        last byte), an absent slot's zero key, role 0 or
 *                        a role out of range
 *   config_next_lines    <role>_key_next lines parse into the second slot;
 *                        a misspelt name is a bad line
 *   pickup_whole_copies  a writer thread publishing key sets as fast as it
 *                        can while this thread copies: every copy taken is
 *                        one whole set, and the last one is taken
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/server/server.h"

#define PUBLISHES 20000

static void set_keys(struct role_keys *k, uint8_t v)
{
	memset(k, 0, sizeof *k);
	for (unsigned r = 1; r < PROTO_ROLES; r++)
		for (unsigned i = 0; i < ROLE_KEYS_PER_ROLE; i++) {
			k->present[r][i] = 1;
			memset(k->key[r][i], v, PROTO_KEY_BYTES);
		}
}

static void check_slots(void **state)
{
	(void)state;
	struct role_keys k;
	uint8_t key[PROTO_KEY_BYTES];
	memset(&k, 0, sizeof k);
	k.present[PROTO_ROLE_PLATFORM][0] = 1;
	memset(k.key[PROTO_ROLE_PLATFORM][0], 0xa1, PROTO_KEY_BYTES);
	k.present[PROTO_ROLE_PLATFORM][1] = 1;
	memset(k.key[PROTO_ROLE_PLATFORM][1], 0xb2, PROTO_KEY_BYTES);

	memset(key, 0xa1, sizeof key);
	assert_true(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	assert_false(role_keys_check(&k, PROTO_ROLE_ADMIN, key));
	assert_false(role_keys_check(&k, PROTO_ROLE_NONE, key));
	assert_false(role_keys_check(&k, PROTO_ROLES, key));
	assert_false(role_keys_check(&k, 255, key));
	key[0] ^= 1;
	assert_false(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	key[0] ^= 1, key[PROTO_KEY_BYTES - 1] ^= 0x80;
	assert_false(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	memset(key, 0xb2, sizeof key);
	assert_true(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	k.present[PROTO_ROLE_PLATFORM][1] = 0;
	assert_false(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	memset(key, 0, sizeof key); /* an absent slot's bytes never open it */
	assert_false(role_keys_check(&k, PROTO_ROLE_ADMIN, key));
	assert_false(role_keys_check(&k, PROTO_ROLE_NONE, key));
}

static void config_next_lines(void **state)
{
	(void)state;
	static const char text[] =
		"platform_key=1111111111111111111111111111111111111111111111111111111111111111\n"
		"platform_key_next=2222222222222222222222222222222222222222222222222222222222222222\n"
		"scanner_key_next=3333333333333333333333333333333333333333333333333333333333333333\n";
	static const char bad[] =
		"platform_key_nxt=2222222222222222222222222222222222222222222222222222222222222222\n";
	struct server_config cfg;
	struct role_keys k;
	uint8_t key[PROTO_KEY_BYTES];
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(server_config_parse(&cfg, text, sizeof text - 1, "t"), 0);
	role_keys_from_config(&cfg, &k);
	memset(key, 0x11, sizeof key);
	assert_true(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	memset(key, 0x22, sizeof key);
	assert_true(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	memset(key, 0x33, sizeof key);
	assert_true(role_keys_check(&k, PROTO_ROLE_SCANNER, key));
	assert_false(role_keys_check(&k, PROTO_ROLE_PLATFORM, key));
	memset(&cfg, 0, sizeof cfg);
	assert_int_equal(server_config_parse(&cfg, bad, sizeof bad - 1, "t"), -EINVAL);
}

static struct role_keys_pub pub;
static _Atomic int writer_done;

static void *writer(void *arg)
{
	(void)arg;
	struct role_keys k;
	for (unsigned i = 1; i <= PUBLISHES; i++) {
		set_keys(&k, (uint8_t)i);
		role_keys_publish(&pub, &k);
	}
	atomic_store(&writer_done, 1);
	return NULL;
}

/* Every slot holds the same byte: one whole set, not two halves. */
static void expect_whole(const struct role_keys *k)
{
	uint8_t v = k->key[1][0][0];
	for (unsigned r = 1; r < PROTO_ROLES; r++)
		for (unsigned i = 0; i < ROLE_KEYS_PER_ROLE; i++) {
			assert_int_equal(k->present[r][i], 1);
			for (unsigned b = 0; b < PROTO_KEY_BYTES; b++)
				assert_int_equal(k->key[r][i][b], v);
		}
}

static void pickup_whole_copies(void **state)
{
	(void)state;
	struct role_keys k, mine;
	uint32_t seq = 0;
	unsigned copies = 0;
	pthread_t t;
	set_keys(&k, 0);
	role_keys_publish(&pub, &k);
	assert_true(role_keys_pickup(&pub, &seq, &mine));
	assert_false(role_keys_pickup(&pub, &seq, &mine)); /* nothing new */
	assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
	while (!atomic_load(&writer_done)) /* bounded: the writer's loop is */
		if (role_keys_pickup(&pub, &seq, &mine)) {
			expect_whole(&mine);
			copies++;
		}
	pthread_join(t, NULL);
	role_keys_pickup(&pub, &seq, &mine);
	assert_int_equal(seq, 2u * (PUBLISHES + 1));
	assert_int_equal(mine.key[1][0][0], (uint8_t)PUBLISHES);
	expect_whole(&mine);
	print_message("%u copies taken while the writer published %u sets\n", copies, PUBLISHES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(check_slots),
		cmocka_unit_test(config_next_lines),
		cmocka_unit_test(pickup_whole_copies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
