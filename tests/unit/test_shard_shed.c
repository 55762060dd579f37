/*
 * test_shard_shed.c — load shedding (net/shard/shed.c) with a fake clock:
 * the decision alone (slots in flight, the queue-delay share rising over
 * intervals with a standing queue and falling once replies are fast
 * again, the in-flight floor, signals off), then one node over a
 * simulated disk, where replies wait for a WAL sync the test controls:
 * with its slots taken, new holds and availability reads get 73 at once
 * while the confirm of a hold taken earlier goes through and succeeds,
 * and holds are taken again once the replies are out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "net/shard/parts.h"
#include "net/store/shard_store.h"
#include "tests/support/sim_disk.h"

#define T0 1000000u
#define QUEUE (SHED_QUEUE_MIN + 10u) /* in flight: a queue */

static struct shed_config cfg(uint32_t slots, uint32_t target_ms)
{
	struct shed_config c = shed_config_default();
	c.slots = slots;
	c.target_ms = target_ms;
	return c;
}

static void holds_shed_confirms_never(void **state)
{
	(void)state;
	struct shed sh;
	struct shed_config c = cfg(8, 0);
	shed_init(&sh, &c);
	assert_false(shed_refuse(&sh, T0, 7, PROTO_OP_HOLD));
	assert_true(shed_refuse(&sh, T0, 8, PROTO_OP_HOLD));
	assert_true(shed_refuse(&sh, T0, 9, PROTO_OP_Q_AVAILABILITY));
	assert_true(shed_refuse(&sh, T0, 9, PROTO_OP_Q_SECTION_SEATS));
	static const uint8_t never[] = {PROTO_OP_CONFIRM,      PROTO_OP_CONFIRM_TOKENS,
					PROTO_OP_HOLD_RELEASE, PROTO_OP_HOLD_EXTEND,
					PROTO_OP_REFUND,       PROTO_OP_REDEEM,
					PROTO_OP_EXCHANGE,     PROTO_OP_Q_HOLD,
					PROTO_OP_EVENT_CREATE, PROTO_OP_TIER_ADD,
					PROTO_OP_STATS,        PROTO_OP_REDEEM_TOKEN};
	for (unsigned i = 0; i < sizeof never; i++)
		assert_false(shed_refuse(&sh, T0, SHARD_REQS_MAX, never[i]));
}

/* Sheddable requests shed among the next `of` at now. */
static unsigned shed_count(struct shed *sh, uint64_t now, uint32_t in_flight, unsigned of)
{
	unsigned n = 0;
	for (unsigned i = 0; i < of; i++)
		n += shed_refuse(sh, now, in_flight, PROTO_OP_HOLD);
	return n;
}

/* One interval from now (where the last one ended) in which every answer
 * took sojourn_ms; returns its end, where the next call judges it. */
static uint64_t interval(struct shed *sh, uint64_t now, uint32_t in_flight, uint32_t sojourn_ms)
{
	for (unsigned i = 0; i < 10; i++) {
		uint64_t t = now + SHED_INTERVAL_MS / 20 + i * (SHED_INTERVAL_MS / 10);
		shed_answered(sh, t, in_flight, t - sojourn_ms);
	}
	return now + SHED_INTERVAL_MS;
}

static void standing_queue_rises_and_falls(void **state)
{
	(void)state;
	struct shed sh;
	struct shed_config c = cfg(0, SHED_TARGET_MS);
	shed_init(&sh, &c);
	uint64_t now = T0;
	assert_int_equal(shed_count(&sh, now, QUEUE, 64), 0);
	/* a burst: some answers are fast, so no standing queue */
	now = interval(&sh, now, QUEUE, 0);
	shed_answered(&sh, now, QUEUE, now - 50);
	now = interval(&sh, now, QUEUE, 1);
	assert_int_equal(shed_count(&sh, now, QUEUE, 64), 0);
	/* a standing queue: the share rises interval by interval */
	unsigned before = 0;
	for (unsigned k = 0; k < SHED_LEVELS / SHED_STEP_UP; k++) {
		now = interval(&sh, now, QUEUE, SHED_TARGET_MS + 5);
		unsigned shed = shed_count(&sh, now, QUEUE, 64);
		assert_true(shed > before);
		before = shed;
	}
	assert_int_equal(before, 64); /* all of them */
	/* the load falls: answers are fast again, the share falls to none */
	unsigned k = 0;
	while (shed_count(&sh, now, QUEUE, 64) && k++ < 2 * SHED_LEVELS)
		now = interval(&sh, now, QUEUE, 0);
	assert_true(k >= SHED_LEVELS - 1 && k <= SHED_LEVELS);
	assert_int_equal(shed_count(&sh, now, QUEUE, 64), 0);
}

static void floor_idle_and_off(void **state)
{
	(void)state;
	struct shed sh;
	struct shed_config c = cfg(0, SHED_TARGET_MS);
	shed_init(&sh, &c);
	uint64_t now = T0;
	/* a slow disk at light load: slow answers but few in flight */
	for (unsigned k = 0; k < 8; k++)
		now = interval(&sh, now, SHED_QUEUE_MIN - 1, 3 * SHED_TARGET_MS);
	assert_int_equal(shed_count(&sh, now, SHED_QUEUE_MIN - 1, 64), 0);
	/* stuck: nothing answered for intervals with a queue in flight */
	for (unsigned k = 0; k < 8; k++) {
		now += SHED_INTERVAL_MS;
		shed_refuse(&sh, now, SHED_QUEUE_MIN, PROTO_OP_CONFIRM);
	}
	assert_int_equal(shed_count(&sh, now, SHED_QUEUE_MIN, 64), 64);
	/* quiet for a long time: nothing left of it */
	now += 100u * SHED_INTERVAL_MS;
	assert_int_equal(shed_count(&sh, now, 0, 64), 0);
	/* both signals off: nothing is ever shed */
	c = cfg(0, 0);
	shed_init(&sh, &c);
	for (unsigned k = 0; k < 8; k++)
		now = interval(&sh, now, SHARD_REQS_MAX, 1000);
	assert_int_equal(shed_count(&sh, now, SHARD_REQS_MAX, 64), 0);
}

/* ---- one node over a simulated disk --------------------------------------- */

#define EV 7u
#define REPLIES 64u

static struct {
	uint64_t id[REPLIES], start_ms[REPLIES];
	struct result res[REPLIES];
	unsigned n;
	bool park; /* keep the requests, as a driver does for a client that does not read */
	struct req *parked[REPLIES]; /* ... these, freed later */
	unsigned parked_n;
} got;

static void no_peer(void *user, struct msg *m, uint8_t to)
{
	(void)user, (void)m, (void)to;
	fail_msg("one node sent a message to a peer");
}

static void answered(void *user, struct req *r)
{
	struct node *nd = user;
	assert_true(got.n < REPLIES);
	got.id[got.n] = r->request_id;
	got.start_ms[got.n] = r->start_ms;
	got.res[got.n++] = r->res;
	if (got.park)
		got.parked[got.parked_n++] = r;
	else
		node_req_free(nd, r);
}

/* The answer to request id, NULL while there is none. */
static const struct result *answer(uint64_t id)
{
	for (unsigned i = 0; i < got.n; i++)
		if (got.id[i] == id)
			return &got.res[i];
	return NULL;
}

static void request(struct node *nd, uint64_t id, uint8_t opcode, const struct cmd *c)
{
	struct proto_request pr = {.request_id = id, .opcode = opcode};
	pr.cmd = *c;
	assert_int_equal(node_request(nd, 1, 1, &pr, NULL), 0);
}

static void hold(struct node *nd, uint64_t id)
{
	struct cmd c = {.type = CMD_HOLD};
	c.hold = (struct cmd_hold){
		.event_id = EV, .tier = 0, .mode = HOLD_GA, .qty = 1, .customer_id = id};
	request(nd, id, PROTO_OP_HOLD, &c);
}

/* A turn: the inbox runs, the WAL syncs, replies waiting for it go out. */
static void sync_and_poll(struct node *nd, struct shard_store *store)
{
	unsigned turns = 0;
	do
		assert_int_equal(shard_store_sync(store), 0);
	while (node_poll(nd) && ++turns < 8);
}

static struct shard_store *open_store(struct sim_disk *disk, struct storage *st)
{
	struct shard_store_options o = {.snapshot_records = UINT64_MAX,
					.snapshot_wal_bytes = UINT64_MAX};
	struct shard_store_recovery rec;
	struct shard_store *store;
	struct result res;
	uint64_t wait;
	sim_disk_storage(disk, st);
	assert_int_equal(shard_store_open(&store, st, &o, &rec), 0);
	struct cmd c = {.type = CMD_EVENT_CREATE};
	c.event = (struct cmd_event){.event_id = EV,
				     .state = EVENT_ON_SALE,
				     .units_max = 1000,
				     .presale_start_ms = 1,
				     .public_start_ms = 2};
	assert_int_equal(shard_store_execute(store, &c, T0, &res, &wait), ST_OK);
	c = (struct cmd){.type = CMD_TIER_ADD};
	c.tier = (struct cmd_tier){
		.event_id = EV, .tier = 0, .kind = TIER_GA, .capacity = 1000, .price_minor = 5};
	assert_int_equal(shard_store_execute(store, &c, T0, &res, &wait), ST_OK);
	assert_int_equal(shard_store_sync(store), 0);
	return store;
}

static void node_sheds_holds_confirm_pays(void **state)
{
	(void)state;
	static struct node nd;
	struct storage st;
	struct sim_disk *disk = sim_disk_create(5);
	assert_non_null(disk);
	struct shard_store *store = open_store(disk, &st);
	struct node_env env = {.send = no_peer, .reply = answered, .user = &nd};
	struct node *ptr = &nd;
	memset(&got, 0, sizeof got);
	assert_int_equal(node_init(&nd, 0, 1, &env), 0);
	node_attach(&nd, store);
	assert_int_equal(node_recover(&ptr, 1), 0);
	struct shed_config c = cfg(4, 0);
	node_shed_config(&nd, &c);
	node_set_now(&nd, T0 + 10);

	hold(&nd, 1); /* the buyer who will pay */
	sync_and_poll(&nd, store);
	assert_non_null(answer(1));
	assert_int_equal(answer(1)->status, ST_OK);
	uint64_t hold_id = answer(1)->hold.hold_id;

	for (uint64_t id = 2; id <= 5; id++) /* four in flight: the slots are taken */
		hold(&nd, id);
	assert_null(answer(5));
	hold(&nd, 6);
	assert_non_null(answer(6));
	assert_int_equal(answer(6)->status, ST_OVERLOADED);
	struct cmd q = {.type = CMD_Q_AVAILABILITY};
	q.query.event_id = EV;
	request(&nd, 7, PROTO_OP_Q_AVAILABILITY, &q);
	assert_int_equal(answer(7)->status, ST_OVERLOADED);
	struct cmd pay = {.type = CMD_CONFIRM};
	pay.ref = (struct cmd_hold_ref){.event_id = EV, .hold_id = hold_id, .amount_minor = 5};
	request(&nd, 8, PROTO_OP_CONFIRM, &pay);
	assert_null(answer(8)); /* taken in, waiting for the WAL like any change */
	assert_int_equal(nd.ctr.requests_shed, 2);

	sync_and_poll(&nd, store);
	assert_non_null(answer(8));
	assert_int_equal(answer(8)->status, ST_OK);
	for (uint64_t id = 2; id <= 5; id++)
		assert_int_equal(answer(id)->status, ST_OK);
	hold(&nd, 9); /* the load fell: holds are taken again */
	sync_and_poll(&nd, store);
	assert_int_equal(answer(9)->status, ST_OK);
	assert_int_equal(nd.ctr.requests_shed, 2);

	/* a request that waited in front of the node counts from its arrival
	 * (never from after now) */
	struct cmd h = {.type = CMD_HOLD};
	h.hold = (struct cmd_hold){
		.event_id = EV, .tier = 0, .mode = HOLD_GA, .qty = 1, .customer_id = 10};
	struct proto_request pr = {.request_id = 10, .opcode = PROTO_OP_HOLD};
	pr.cmd = h;
	assert_int_equal(node_request_since(&nd, 1, 1, &pr, NULL, T0 + 10 - 30), 0);
	pr.request_id = 11;
	pr.cmd.hold.customer_id = 11;
	assert_int_equal(node_request_since(&nd, 1, 1, &pr, NULL, T0 + 10 + 30), 0);
	sync_and_poll(&nd, store);
	assert_int_equal(answer(10)->status, ST_OK);
	assert_int_equal(got.start_ms[got.n - 2], T0 + 10 - 30);
	assert_int_equal(got.start_ms[got.n - 1], T0 + 10);

	/* replies a client does not read hold their slots in the driver, but
	 * they are no work of the node's: they do not make it shed */
	got.park = true;
	for (uint64_t id = 12; id <= 17; id++) { /* one at a time: none in flight together */
		hold(&nd, id);
		sync_and_poll(&nd, store);
	}
	assert_int_equal(got.parked_n, 6);
	assert_true(nd.reqs_used >= 6);
	got.park = false;
	hold(&nd, 18);
	sync_and_poll(&nd, store);
	assert_int_equal(answer(18)->status, ST_OK);
	assert_int_equal(nd.ctr.requests_shed, 2);
	for (unsigned i = 0; i < got.parked_n; i++)
		node_req_free(&nd, got.parked[i]);
	assert_int_equal(nd.reqs_used, 0);
	assert_int_equal(nd.reqs_answered, 0);

	node_fini(&nd);
	shard_store_close(store);
	storage_destroy(&st);
	sim_disk_destroy(disk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(holds_shed_confirms_never),
		cmocka_unit_test(standing_queue_rises_and_falls),
		cmocka_unit_test(floor_idle_and_off),
		cmocka_unit_test(node_sheds_holds_confirm_pays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
