/*
 * test_server_agree.c — shards that agree, on a real onsaled: the failures
 * an operator saw when the cross-shard logic depended on snapshot timing
 * or on where a request landed, each as a test.
 *
 *   snapshot_fallback_no_oversell  units moved between shards, a clean stop,
 *                                  the giver's newest snapshot damaged: after
 *                                  the restart the tier still has exactly its
 *                                  capacity (it had 150 of 100 before)
 *   kill_mid_transfers_conserves   SIGKILL while GA stock moves between
 *                                  shards, several times: never more than the
 *                                  capacity held, every acknowledged hold kept
 */
#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/shard/node.h"
#include "tests/unit/srv_event.h"
#include "tests/unit/srv_harness.h"

static const char *argv0;

static uint64_t homed(unsigned shards, unsigned shard, uint64_t from)
{
	while (node_home(shards, from) != shard)
		from++;
	return from;
}

/* One-unit GA holds for n customers from cust (homed on `shard` unless it
 * is -1); returns how many were granted. Other answers must be sold_out. */
static unsigned ga_holds(struct onsale *c, uint32_t event_id, unsigned n, uint64_t *cust,
			 unsigned shards, int shard)
{
	unsigned ok = 0;
	for (unsigned i = 0; i < n; i++, (*cust)++) {
		struct result res;
		if (shard >= 0)
			*cust = homed(shards, (unsigned)shard, *cust);
		int rc = onsale_hold_ga(c, event_id, TV_TIER_GA, 1, *cust, 0, &res);
		if (rc == ST_OK)
			ok++;
		else
			assert_string_equal(status_name((enum status)rc), "sold_out");
	}
	return ok;
}

static struct tier_view ga(struct onsale *c, uint32_t event_id)
{
	struct result res;
	assert_int_equal(onsale_query_availability(c, event_id, &res), ST_OK);
	return res.avail.tiers[TV_TIER_GA];
}

/* Flips a byte in the body of the newest snapshot of shard k. */
static void damage_newest_snapshot(const struct srv *h, unsigned k)
{
	char dir[400], newest[300] = "", path[720];
	snprintf(dir, sizeof dir, "%s/shard-%u", h->dir, k);
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *e; (e = readdir(d));)
		if (!strncmp(e->d_name, "snap-", 5) && strstr(e->d_name, ".osnp") &&
		    strcmp(e->d_name, newest) > 0)
			snprintf(newest, sizeof newest, "%s", e->d_name);
	closedir(d);
	assert_true(newest[0]);
	snprintf(path, sizeof path, "%s/%s", dir, newest);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	uint8_t b;
	assert_int_equal(pread(fd, &b, 1, 100), 1);
	b ^= 0x40;
	assert_int_equal(pwrite(fd, &b, 1, 100), 1);
	close(fd);
}

static void snapshot_fallback_no_oversell(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	uint64_t cust = 1000;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(tv_load(admin, &tv, 31, 100, 0, 0, 0), 0);
	onsale_close(admin);
	assert_int_equal(srv_stop(&h), 0); /* first snapshots: 50 + 50 */

	assert_int_equal(srv_spawn(&h), 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	/* 60 customers homed on shard 0: it takes 50 units from shard 1 */
	assert_int_equal(ga_holds(c, 31, 60, &cust, 2, 0), 60);
	onsale_close(c);
	assert_int_equal(srv_stop(&h), 0);

	damage_newest_snapshot(&h, 1); /* shard 1 falls back to the older one */
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	struct tier_view t = ga(c, 31);
	assert_int_equal(t.capacity, 100);
	assert_int_equal(t.held, 60);
	assert_int_equal(t.free, 40);
	assert_int_equal(ga_holds(c, 31, 90, &cust, 2, -1), 40);
	t = ga(c, 31);
	assert_int_equal(t.capacity, 100);
	assert_int_equal(t.held, 100);
	onsale_close(c);
	assert_int_equal(srv_stop(&h), 0);
	srv_cleanup(&h);
}

static void kill_mid_transfers_conserves(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	uint64_t cust = 5000;
	unsigned held = 0;
	srv_init(&h, argv0, 3);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(tv_load(admin, &tv, 32, 300, 0, 0, 0), 0);
	onsale_close(admin);
	for (unsigned round = 0; round < 4; round++) {
		if (round == 1) { /* snapshots, so later rounds mix their ages */
			assert_int_equal(srv_stop(&h), 0);
			assert_int_equal(srv_spawn(&h), 0);
		}
		struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
		/* customers of one shard, so its allotment runs short */
		held += ga_holds(c, 32, 40, &cust, 3, (int)(round % 3));
		onsale_close(c);
		if (round >= 2)
			damage_newest_snapshot(&h, round % 3);
		srv_kill(&h);
		assert_int_equal(srv_spawn(&h), 0);
		c = srv_open(&h, ONSALE_ROLE_PLATFORM);
		struct tier_view t = ga(c, 32);
		assert_int_equal(t.capacity, 300);
		assert_int_equal(t.held, held); /* every acknowledged hold kept */
		assert_int_equal(t.free, 300 - held);
		onsale_close(c);
	}
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	held += ga_holds(c, 32, 400, &cust, 3, -1);
	assert_int_equal(held, 300);
	assert_int_equal(ga(c, 32).held, 300);
	onsale_close(c);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(snapshot_fallback_no_oversell),
		cmocka_unit_test(kill_mid_transfers_conserves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
