/*
 * test_server_crash.c — process-level crash test of onsaled (2 shards).
 *
 * Each cycle loads the real server through libonsale with pipelined holds
 * (GA, mostly for customers homed on shard 0 so its allotment runs dry and
 * stock moves from shard 1; and best available over both shards), confirms
 * and releases, while a thread SIGKILLs the server at a random moment.
 * After each restart:
 *   - every confirm that was acknowledged is there (Q_ORDER: confirmed,
 *     same units, same seats);
 *   - no seat is in two acknowledged orders;
 *   - every tier is conserved, GA capacity summed over the shards is still
 *     exactly what was created (a transfer cut by the kill was applied at
 *     the next start from the giver's state, never lost or doubled), and GA held + sold never
 *     exceeds it.
 * crash_cycles_snapshotting does the same with a snapshot policy so small
 * that every cycle's load takes snapshots while serving on both shards,
 * kills landing before, during and after them, so recovery starts from
 * snapshots of every age on each shard.
 * Bounded: CYCLES cycles of at most KILL_MS_MAX of load. SEED=n reruns one.
 */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "net/server/server.h"
#include "net/store/shard_store.h"
#include "net/wal/storage_uring.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define SHARDS 2
#define CYCLES 6
#define GA_CAPACITY 30000
#define PREFILL_UNITS 14800 /* of shard 0's 15000: its next sales pull stock */
#define KILL_MS_MIN 20
#define KILL_MS_MAX 150
#define INFLIGHT 32
#define ACKED_MAX 8192

static const char *argv0;
static uint64_t rng;

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct order {
	uint64_t hold_id;
	uint8_t tier, qty;
	uint32_t seats[HOLD_UNITS_MAX];
};

static struct order acked[ACKED_MAX];
static unsigned acked_count;

enum { K_HOLD = 1, K_CONFIRM, K_RELEASE };
struct pend {
	uint8_t kind;
	struct order o;
};
static struct pend pend[4096];
static uint32_t pend_next;

struct killer {
	pid_t pid;
	unsigned ms;
};

static void *kill_later(void *arg)
{
	struct killer *k = arg;
	struct timespec t = {k->ms / 1000, (long)(k->ms % 1000) * 1000000};
	nanosleep(&t, NULL);
	kill(k->pid, SIGKILL);
	return NULL;
}

static uint64_t customer_homed(unsigned shard)
{
	for (;;) {
		uint64_t c = 1 + rnd() % 1000000000ull;
		if (node_home(SHARDS, c) == shard)
			return c;
	}
}

static void submit_hold(struct onsale *c, uint32_t event_id)
{
	struct cmd cmd;
	uint32_t slot = pend_next++ % 4096;
	unsigned pick = (unsigned)(rnd() % 10);
	if (pick < 8) /* GA, 95 % of it for customers of shard 0 */
		onsale_prep_hold_ga(&cmd, event_id, TV_TIER_GA, (uint8_t)(1 + rnd() % 3),
				    customer_homed(rnd() % 20 ? 0 : 1), 0);
	else
		onsale_prep_hold_best(&cmd, event_id, pick < 9 ? TV_TIER_A : TV_TIER_B,
				      (uint8_t)(1 + rnd() % 3), 1 + rnd() % 1000000000ull, 0);
	pend[slot].kind = K_HOLD;
	assert_int_equal(onsale_submit(c, &cmd, slot, NULL), 0);
}

static void completed(struct onsale *c, uint32_t event_id, const struct onsale_completion *d)
{
	struct pend *p = &pend[d->cookie];
	if (d->rc != ST_OK)
		return;
	if (p->kind == K_CONFIRM) {
		assert_true(acked_count < ACKED_MAX);
		acked[acked_count++] = p->o;
		return;
	}
	if (p->kind != K_HOLD)
		return;
	const struct hold_view *v = &d->res.hold;
	uint32_t slot = pend_next++ % 4096;
	struct cmd cmd;
	struct pend *n = &pend[slot];
	n->o.hold_id = v->hold_id;
	n->o.tier = v->tier;
	n->o.qty = v->qty;
	memcpy(n->o.seats, v->seats, sizeof n->o.seats);
	if (rnd() % 10 < 8) {
		n->kind = K_CONFIRM;
		onsale_prep_confirm(&cmd, event_id, v->hold_id, v->amount_due_minor, "crash");
	} else {
		n->kind = K_RELEASE;
		onsale_prep_hold_release(&cmd, event_id, v->hold_id);
	}
	onsale_submit(c, &cmd, slot, NULL); /* may fail once the server is gone */
}

/* Load until the server dies under us. */
static void load(struct srv *h, uint32_t event_id)
{
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	if (!c)
		return; /* killed before we got in */
	struct onsale_completion done[64];
	for (;;) {
		while (onsale_inflight(c) < INFLIGHT && onsale_error(c) == 0)
			submit_hold(c, event_id);
		int n = onsale_poll(c, done, 64, 1000);
		if (n < 0 || onsale_error(c))
			break;
		for (int i = 0; i < n; i++) {
			if (done[i].rc < 0)
				goto out_close;
			completed(c, event_id, &done[i]);
		}
	}
out_close:
	onsale_close(c);
}

/* Live holds of shard-0 customers take most of shard 0's allotment, so
 * during the cycles nearly every GA sale there moves stock from shard 1. */
static void prefill(struct srv *h, uint32_t event_id)
{
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	struct onsale_completion d[64];
	unsigned sent = 0, done = 0, n = PREFILL_UNITS / HOLD_UNITS_MAX;
	assert_non_null(c);
	while (done < n) {
		while (sent < n && onsale_inflight(c) < INFLIGHT) {
			struct cmd cmd;
			onsale_prep_hold_ga(&cmd, event_id, TV_TIER_GA, HOLD_UNITS_MAX,
					    customer_homed(0), 0);
			assert_int_equal(onsale_submit(c, &cmd, sent++, NULL), 0);
		}
		int got = onsale_poll(c, d, 64, 5000);
		assert_true(got > 0);
		for (int i = 0; i < got; i++)
			assert_int_equal(d[i].rc, ST_OK);
		done += (unsigned)got;
	}
	onsale_close(c);
}

static void verify(struct srv *h, uint32_t event_id)
{
	struct onsale *c = srv_open(h, ONSALE_ROLE_PLATFORM);
	struct result res;
	static uint8_t seen[SHARDS][1 << 16];
	assert_non_null(c);
	memset(seen, 0, sizeof seen);
	for (unsigned i = 0; i < acked_count; i++) {
		const struct order *o = &acked[i];
		assert_int_equal(onsale_query_order(c, event_id, o->hold_id, &res), ST_OK);
		assert_int_equal(res.hold.state, HOLD_CONFIRMED);
		assert_int_equal(res.hold.qty, o->qty);
		if (o->tier == TV_TIER_GA)
			continue;
		for (unsigned k = 0; k < o->qty; k++) {
			uint32_t s = o->seats[k];
			assert_int_equal(res.hold.seats[k], s);
			assert_int_equal(seen[s >> 24][s & 0xffff], 0); /* never sold twice */
			seen[s >> 24][s & 0xffff] = 1;
		}
	}
	assert_int_equal(onsale_query_availability(c, event_id, &res), ST_OK);
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *v = &res.avail.tiers[t];
		assert_int_equal(v->free + v->held + v->sold + v->killed, v->capacity);
	}
	const struct tier_view *ga = &res.avail.tiers[TV_TIER_GA];
	assert_int_equal(ga->capacity, GA_CAPACITY);
	assert_true(ga->held + ga->sold <= GA_CAPACITY);
	onsale_close(c);
}

/* Lines of the server's log (appended over restarts) that contain what. */
static unsigned log_lines(const struct srv *h, const char *what)
{
	char path[400], line[1024];
	unsigned n = 0;
	snprintf(path, sizeof path, "%s/onsaled.log", h->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void cycles(const char *const *args)
{
	struct srv h;
	struct tv tv;
	const char *seed = getenv("SEED");
	rng = seed ? strtoull(seed, NULL, 0) : (uint64_t)time(NULL);
	printf("SEED=%llu\n", (unsigned long long)rng);
	acked_count = pend_next = 0; /* a new server: nothing acknowledged yet */
	srv_init(&h, argv0, SHARDS);
	for (unsigned i = 0; args && args[i]; i++)
		h.args[i] = args[i];
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	assert_int_equal(tv_load(admin, &tv, 21, GA_CAPACITY, 0, 0, 1), 0);
	onsale_close(admin);
	prefill(&h, 21);
	unsigned before = 0;
	for (int cycle = 0; cycle < CYCLES; cycle++) {
		struct killer k = {.pid = h.pid,
				   .ms = KILL_MS_MIN +
					 (unsigned)(rnd() % (KILL_MS_MAX - KILL_MS_MIN))};
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, kill_later, &k), 0);
		load(&h, 21);
		pthread_join(t, NULL);
		srv_kill(&h);
		assert_int_equal(srv_spawn(&h), 0);
		verify(&h, 21);
		printf("cycle %d: killed after %u ms, %u confirms acknowledged so far\n", cycle,
		       k.ms, acked_count);
		before = acked_count;
	}
	(void)before;
	assert_int_equal(srv_stop(&h), 0); /* a clean stop and start keep it all */
	assert_int_equal(srv_spawn(&h), 0);
	verify(&h, 21);
	unsigned taken = log_lines(&h, "msg=\"snapshot written\"");
	printf("%u snapshots written (the clean stop's included), %u failed\n", taken,
	       log_lines(&h, "msg=\"snapshot failed\""));
	/* the policy really ran under the load: more than the clean stop's one
	 * per shard (how many more depends on how much the load got done
	 * between kills, which a busy machine shrinks: 6 cycles once wrote 5) */
	if (args)
		assert_true(taken > SHARDS);
	srv_cleanup(&h);
}

static void crash_cycles(void **state)
{
	(void)state;
	cycles(NULL);
}

static void crash_cycles_snapshotting(void **state)
{
	(void)state;
	static const char *const policy[] = {"--snapshot-records", "100", NULL};
	cycles(policy);
}

/* A STOCK_OUT made durable on shard 0 whose STOCK_IN never reached shard 1
 * (as a kill between the two leaves it): the next start completes it. */
static void cut_transfer(void **state)
{
	(void)state;
	struct srv h;
	struct tv tv;
	struct result res;
	srv_init(&h, argv0, SHARDS);
	assert_int_equal(srv_start(&h), 0);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_int_equal(tv_load(admin, &tv, 22, 1000, 0, 0, 0), 0);
	onsale_close(admin);
	assert_int_equal(srv_stop(&h), 0);

	char dir[400];
	struct storage st;
	struct shard_store *s;
	struct shard_store_recovery rec;
	struct shard_store_options o = {.shard = 0,
					.snapshot_records = UINT64_MAX,
					.snapshot_wal_bytes = UINT64_MAX,
					.no_shutdown_snapshot = true};
	snprintf(dir, sizeof dir, "%s/shard-0", h.dir);
	assert_int_equal(storage_uring_open(&st, dir, 0), 0);
	assert_int_equal(shard_store_open(&s, &st, &o, &rec), 0);
	struct cmd out = {.type = CMD_STOCK_OUT};
	uint64_t wait;
	out.stock.event_id = 22;
	out.stock.tier = TV_TIER_GA;
	out.stock.qty = 50;
	out.stock.peer_shard = 1;
	out.stock.transfer_id = shard_store_last_lsn(s) + 1;
	assert_int_equal(shard_store_execute(s, &out, 1, &res, &wait), ST_OK);
	assert_int_equal(shard_store_sync(s), 0);
	shard_store_close(s);
	storage_destroy(&st);

	assert_int_equal(srv_spawn(&h), 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(onsale_query_availability(c, 22, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].capacity, 1000);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].free, 1000);
	onsale_close(c);
	/* once: a second start finds the transfer whole */
	assert_int_equal(srv_stop(&h), 0);
	assert_int_equal(srv_spawn(&h), 0);
	c = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_int_equal(onsale_query_availability(c, 22, &res), ST_OK);
	assert_int_equal(res.avail.tiers[TV_TIER_GA].capacity, 1000);
	onsale_close(c);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cut_transfer),
		cmocka_unit_test(crash_cycles),
		cmocka_unit_test(crash_cycles_snapshotting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
