/*
 * test_core_stock.c — GA stock transfers between two shards' cores,
 * exactly once (core/stock.c): the giver decides the transfer id and keeps
 * the transfer pending until acknowledged; the taker applies each seq of a
 * giver once; both sides' bookkeeping survives a snapshot round trip and
 * replay; any order of redelivery conserves the tier over both cores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/inspect.h"
#include "tests/support/fixture.h"

#define EV 7
#define GA 0

struct pair {
	struct fx *g, *t; /* giver shard 0, taker shard 1 */
};

static struct pair setup(uint32_t cap_each)
{
	struct pair p = {fx_new(0), fx_new(1)};
	assert_int_equal(fx_event(p.g, EV, 1000, 0), ST_OK);
	assert_int_equal(fx_event(p.t, EV, 1000, 0), ST_OK);
	assert_int_equal(fx_ga_tier(p.g, EV, GA, cap_each, 100), ST_OK);
	assert_int_equal(fx_ga_tier(p.t, EV, GA, cap_each, 100), ST_OK);
	return p;
}

static struct tier_view tier(struct fx *f)
{
	assert_int_equal(fx_query(f, CMD_Q_AVAILABILITY, EV, 0), ST_OK);
	return f->res.avail.tiers[GA];
}

static struct cmd_stock out(struct fx *g, uint8_t taker, uint32_t qty, enum status want)
{
	struct cmd c = {.type = CMD_STOCK_OUT};
	c.stock.event_id = EV;
	c.stock.tier = GA;
	c.stock.peer_shard = taker;
	c.stock.qty = qty;
	c.stock.transfer_id = 12345; /* ignored: the giver decides */
	assert_string_equal(status_name(fx_exec(g, &c)), status_name(want));
	return g->res.stock;
}

static enum status in(struct fx *t, uint8_t giver, const struct cmd_stock *given)
{
	struct cmd c = {.type = CMD_STOCK_IN};
	c.stock = *given;
	c.stock.peer_shard = giver;
	return fx_exec(t, &c);
}

static enum status ack(struct fx *g, uint8_t taker, uint64_t id)
{
	struct cmd c = {.type = CMD_STOCK_ACK};
	c.stock.peer_shard = taker;
	c.stock.transfer_id = id;
	return fx_exec(g, &c);
}

static uint32_t pending(struct fx *g, uint8_t taker)
{
	struct xfer x[XFER_PENDING_MAX];
	return core_xfers_pending(g->c, taker, x, XFER_PENDING_MAX);
}

static void ids_decided_by_the_giver(void **state)
{
	struct pair p = setup(50);
	(void)state;
	struct cmd_stock a = out(p.g, 1, 10, ST_OK);
	struct cmd_stock b = out(p.g, 1, 5, ST_OK);
	assert_true(a.transfer_id == XFER_ID(0, 1, 1));
	assert_true(b.transfer_id == XFER_ID(0, 1, 2));
	assert_int_equal(a.qty, 10);
	assert_int_equal(tier(p.g).capacity, 35);
	assert_int_equal(pending(p.g, 1), 2);
	/* a third peer has its own sequence */
	struct cmd_stock c = out(p.g, 2, 1, ST_OK);
	assert_true(c.transfer_id == XFER_ID(0, 2, 1));
	/* never to itself, never more than is free */
	out(p.g, 0, 1, ST_BAD_ARGUMENT);
	out(p.g, 1, 35, ST_SOLD_OUT);
	assert_null(fx_replay_check(p.g));
	fx_free(p.g);
	fx_free(p.t);
}

static void delivered_twice_applied_once(void **state)
{
	struct pair p = setup(50);
	(void)state;
	struct cmd_stock a = out(p.g, 1, 10, ST_OK);
	assert_int_equal(in(p.t, 0, &a), ST_OK);
	assert_int_equal(p.t->res.replayed, 0);
	assert_int_equal(tier(p.t).capacity, 60);
	/* again: an idempotent repeat, nothing written, nothing added */
	uint64_t records = p.t->records;
	assert_int_equal(in(p.t, 0, &a), ST_OK);
	assert_int_equal(p.t->res.replayed, 1);
	assert_int_equal(p.t->records, records);
	assert_int_equal(tier(p.t).capacity, 60);
	assert_int_equal(tier(p.g).capacity + tier(p.t).capacity, 100);
	assert_true(core_xfer_applied(p.t->c, 0) == 1);
	/* a gap is refused: the giver sends in order */
	struct cmd_stock b = out(p.g, 1, 1, ST_OK);
	struct cmd_stock c = out(p.g, 1, 1, ST_OK);
	assert_int_equal(in(p.t, 0, &c), ST_BAD_ARGUMENT);
	assert_int_equal(in(p.t, 0, &b), ST_OK);
	assert_int_equal(in(p.t, 0, &c), ST_OK);
	/* an id naming other shards is refused */
	struct cmd_stock wrong = c;
	wrong.transfer_id = XFER_ID(2, 1, 4);
	assert_int_equal(in(p.t, 0, &wrong), ST_BAD_ARGUMENT);
	wrong.transfer_id = XFER_ID(0, 3, 4);
	assert_int_equal(in(p.t, 0, &wrong), ST_BAD_ARGUMENT);
	assert_null(fx_replay_check(p.g));
	assert_null(fx_replay_check(p.t));
	fx_free(p.g);
	fx_free(p.t);
}

static void acknowledged_ones_leave(void **state)
{
	struct pair p = setup(50);
	(void)state;
	struct cmd_stock a = out(p.g, 1, 1, ST_OK);
	struct cmd_stock b = out(p.g, 1, 2, ST_OK);
	out(p.g, 1, 3, ST_OK);
	assert_int_equal(pending(p.g, 1), 3);
	assert_int_equal(ack(p.g, 1, b.transfer_id), ST_OK); /* cumulative */
	assert_int_equal(pending(p.g, 1), 1);
	uint64_t records = p.g->records;
	assert_int_equal(ack(p.g, 1, a.transfer_id), ST_OK); /* old news */
	assert_int_equal(p.g->res.replayed, 1);
	assert_int_equal(p.g->records, records);
	assert_int_equal(ack(p.g, 1, XFER_ID(0, 1, 9)), ST_BAD_ARGUMENT); /* never given */
	assert_int_equal(ack(p.g, 2, XFER_ID(0, 1, 3)), ST_BAD_ARGUMENT); /* other taker */
	assert_null(fx_replay_check(p.g));
	fx_free(p.g);
	fx_free(p.t);
}

static void pending_is_bounded(void **state)
{
	struct pair p = setup(1000);
	(void)state;
	struct cmd_stock first = out(p.g, 1, 1, ST_OK);
	for (unsigned i = 1; i < XFER_PENDING_MAX; i++)
		out(p.g, 1, 1, ST_OK);
	out(p.g, 1, 1, ST_OVERLOADED);
	out(p.g, 2, 1, ST_OK); /* another taker is not held up */
	assert_int_equal(ack(p.g, 1, first.transfer_id), ST_OK);
	out(p.g, 1, 1, ST_OK);
	assert_null(fx_replay_check(p.g));
	fx_free(p.g);
	fx_free(p.t);
}

/* The bookkeeping is state: a snapshot carries it and hashes it. */
static void snapshot_carries_it(void **state)
{
	struct pair p = setup(50);
	(void)state;
	struct cmd_stock a = out(p.g, 1, 4, ST_OK);
	out(p.g, 1, 5, ST_OK);
	assert_int_equal(ack(p.g, 1, a.transfer_id), ST_OK);
	assert_int_equal(in(p.t, 0, &a), ST_OK);
	struct fx *both[2] = {p.g, p.t};
	for (int k = 0; k < 2; k++) {
		const char *why = NULL;
		struct core *copy = fx_snapshot_copy(both[k]->c, &why);
		assert_non_null(copy);
		struct state_hash h1 = core_state_hash(both[k]->c), h2 = core_state_hash(copy);
		assert_true(h1.lo == h2.lo && h1.hi == h2.hi);
		assert_int_equal(core_xfer_applied(copy, 0), core_xfer_applied(both[k]->c, 0));
		struct xfer x[4];
		assert_int_equal(core_xfers_pending(copy, 1, x, 4), k == 0 ? 1 : 0);
		core_destroy(copy);
	}
	/* a pending transfer changes the hash */
	struct state_hash before = core_state_hash(p.g->c);
	out(p.g, 1, 1, ST_OK);
	struct state_hash after = core_state_hash(p.g->c);
	assert_false(before.lo == after.lo && before.hi == after.hi);
	fx_free(p.g);
	fx_free(p.t);
}

/* Seeded: transfers both ways, redelivered at random, in order per pair,
 * acknowledged at random; capacity + in flight stays 100 throughout. */
static void random_redelivery_conserves(void **state)
{
	(void)state;
	for (unsigned seed = 1; seed <= 200; seed++) {
		struct pair p = setup(50);
		struct fx *fx[2] = {p.g, p.t};
		srandom(seed);
		for (int step = 0; step < 200; step++) {
			int g = (int)(random() % 2), t = 1 - g;
			struct xfer x[XFER_PENDING_MAX];
			uint32_t n = core_xfers_pending(fx[g]->c, (uint8_t)t, x, XFER_PENDING_MAX);
			uint32_t in_flight[2] = {0, 0};
			switch (random() % 3) {
			case 0:
				if (tier(fx[g]).free > 0)
					out(fx[g], (uint8_t)t,
					    1 + (uint32_t)random() % tier(fx[g]).free, ST_OK);
				break;
			case 1: /* redeliver everything pending, from the oldest */
				for (uint32_t i = 0; i < n; i++) {
					struct cmd_stock s = {.event_id = x[i].event_id,
							      .tier = x[i].tier,
							      .qty = x[i].qty,
							      .transfer_id = x[i].transfer_id};
					assert_int_equal(in(fx[t], (uint8_t)g, &s), ST_OK);
				}
				break;
			default: /* acknowledge what the taker has */
				if (n && XFER_SEQ(x[0].transfer_id) <=
						 core_xfer_applied(fx[t]->c, (uint8_t)g))
					assert_int_equal(
						ack(fx[g], (uint8_t)t,
						    XFER_ID(g, t,
							    core_xfer_applied(fx[t]->c,
									      (uint8_t)g))),
						ST_OK);
			}
			for (int k = 0; k < 2; k++) {
				n = core_xfers_pending(fx[k]->c, (uint8_t)(1 - k), x,
						       XFER_PENDING_MAX);
				for (uint32_t i = 0; i < n; i++)
					if (XFER_SEQ(x[i].transfer_id) >
					    core_xfer_applied(fx[1 - k]->c, (uint8_t)k))
						in_flight[k] += x[i].qty;
			}
			assert_int_equal(tier(p.g).capacity + tier(p.t).capacity + in_flight[0] +
						 in_flight[1],
					 100);
		}
		assert_null(fx_replay_check(p.g));
		assert_null(fx_replay_check(p.t));
		fx_free(p.g);
		fx_free(p.t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_decided_by_the_giver),
		cmocka_unit_test(delivered_twice_applied_once),
		cmocka_unit_test(acknowledged_ones_leave),
		cmocka_unit_test(pending_is_bounded),
		cmocka_unit_test(snapshot_carries_it),
		cmocka_unit_test(random_redelivery_conserves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
