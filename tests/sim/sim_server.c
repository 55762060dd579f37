/*
 * sim_server.c — the simulated server (model in sim_server.h): nodes over
 * shard stores over simulated disks, one FIFO per ordered pair of nodes
 * (the only ordering the rings promise), the clock, the scheduler, and the
 * whole process crashing and restarting.
 *
 * A crash is what SIGKILL and a power loss do together: every disk drops
 * (or, in "some survive" mode, keeps whole or torn) what was not synced,
 * every store is closed without I/O, every queued message and every node is
 * gone. The restart opens every store again (recovery), inits the nodes and
 * runs node_recover over all of them, as onsaled does at start. Before a
 * restart the seed may damage a node's snapshots: a flipped byte in the
 * newest (recovery falls back to the previous one) or all of them removed
 * (replay from the first WAL record), only where the WAL still reaches back
 * far enough for that to be a fair test.
 *
 * Now and then a stock answer reaches its taker while the taker's message
 * pool is empty (deliver_dry), so its acknowledgement is lost and only the
 * giver's resend ends the transfer; the last settle of a run moves the
 * clock on by resend ticks for it (sim_settle_last).
 */
#include "tests/sim/sim_server.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/shard/parts.h"
#include "net/store/shard_store.h"
#include "net/store/snapshot.h"

#define T0_MS 1800000000000ull
#define SEGMENT_BYTES (80u << 10)
#define BATCH_BYTES (34u * 4096u) /* the smallest the WAL takes */
#define OPEN_TRIES_MAX 20
#define STOPPED_CRASH_STEPS_MAX 30
#define RESEND_TICKS 3

uint64_t sim_rnd(struct sim *s)
{
	uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void sim_fail(struct sim *s, const char *fmt, ...)
{
	if (sim_failed(s))
		return;
	int k = snprintf(s->failure, sizeof s->failure, "step %" PRIu64 ": ", s->step);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->failure + k, sizeof s->failure - (size_t)k, fmt, ap);
	va_end(ap);
}

const char *sim_known_switch(enum sim_known k)
{
	static const char *names[SIM_KNOWN_COUNT] = {"SIM_BEST_IDEM",  "SIM_LIMIT_IDEM",
						     "SIM_LIMIT_OVER", "SIM_CODE_OVER",
						     "SIM_CODE_IDEM",  "SIM_UNITS_OVER"};
	return names[k];
}

void sim_known(struct sim *s, enum sim_known k, const char *fmt, ...)
{
	char what[SIM_FAILURE_BYTES];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (s->strict[k]) {
		sim_fail(s, "%s", what);
		return;
	}
	if (s->known_seen[k])
		return;
	s->known_seen[k] = true;
	if (!s->stats->known_runs[k]++) {
		s->stats->known_seed[k] = s->seed;
		snprintf(s->stats->known_first[k], SIM_FAILURE_BYTES, "step %" PRIu64 ": %.440s",
			 s->step, what);
	}
}

void sim_trace(struct sim *s, const char *fmt, ...)
{
	if (!s->trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("  [%" PRIu64 "] ", s->step);
	vprintf(fmt, ap);
	va_end(ap);
}

/* ---- the rings: one FIFO per ordered pair ---------------------------------------- */

static void on_send(void *user, struct msg *m, uint8_t to)
{
	struct sim_node_ctx *c = user;
	struct sim *s = c->sim;
	struct sim_pair *p = &s->pair[c->id][to];
	assert(to < s->n && to != c->id);
	if (p->count == SIM_PAIR_MSGS_MAX) {
		sim_fail(s, "queue %u->%u full (a node sent more than its pool)", c->id, to);
		return;
	}
	p->q[(p->head + p->count++) % SIM_PAIR_MSGS_MAX] = m;
}

static struct msg *pair_pop(struct sim_pair *p)
{
	struct msg *m = p->q[p->head];
	p->head = (p->head + 1) % SIM_PAIR_MSGS_MAX;
	p->count--;
	return m;
}

/* A giver's answer to a stock ask reaching its taker while the taker's
 * message pool is empty (a flood of work holds every message): the taker
 * applies the stock and retries the hold, but its acknowledgement goes
 * without a message, and only the giver's resend (node_tick) ends the
 * transfer. Every free message is held for that one delivery. */
static void deliver_dry(struct sim *s, uint8_t to, struct msg *m)
{
	uint32_t held = 0;
	struct msg *d;
	while (held < SIM_PAIR_MSGS_MAX && (d = pool_msg_alloc(&s->node[to])))
		s->dry[held++] = d;
	sim_trace(s, "node %u: message pool empty (%u held)\n", to, held);
	node_deliver(&s->node[to], m);
	while (held)
		pool_msg_free(&s->node[to], s->dry[--held]);
	s->stats->dry_answers++;
	s->dry_since_start = true;
}

static void deliver(struct sim *s, uint8_t from, uint8_t to)
{
	struct msg *m = pair_pop(&s->pair[from][to]);
	sim_trace(s, "deliver %u->%u kind %u%s\n", from, to, m->kind, m->back ? " back" : "");
	if (m->back && m->kind == MSG_STOCK_ASK && m->res.status == ST_OK && sim_below(s, 4) == 0)
		deliver_dry(s, to, m);
	else
		node_deliver(&s->node[to], m);
	s->stats->delivered++;
}

/* A random non-empty pair that is not stalled (all == true: stalls too). */
static bool pick_pair(struct sim *s, bool all, uint8_t *from, uint8_t *to)
{
	uint32_t n = s->n, start = (uint32_t)sim_below(s, n * n);
	for (uint32_t i = 0; i < n * n; i++) {
		uint32_t k = (start + i) % (n * n);
		const struct sim_pair *p = &s->pair[k / n][k % n];
		if (p->count && (all || p->stall_until_step <= s->step)) {
			*from = (uint8_t)(k / n);
			*to = (uint8_t)(k % n);
			return true;
		}
	}
	return false;
}

/* ---- stores and nodes ------------------------------------------------------------ */

static bool open_store(struct sim *s, uint8_t k)
{
	struct shard_store_options o = {.shard = k,
					.segment_bytes = SEGMENT_BYTES,
					.batch_bytes_max = BATCH_BYTES,
					.snapshot_records = s->snapshot_records,
					.snapshot_wal_bytes = UINT64_MAX};
	static struct shard_store_recovery rec;
	for (int tries = 0; tries < OPEN_TRIES_MAX; tries++) {
		int rc = shard_store_open(&s->store[k], &s->st[k], &o, &rec);
		if (!rc)
			return true;
		if (rc != -EIO) {
			sim_fail(s, "node %u refused to start: %s: %s", k, strerror(-rc),
				 rec.message);
			return false;
		}
		sim_disk_crash(s->disk[k], SIM_CRASH_DROP_UNSYNCED); /* a failed read: again */
	}
	sim_fail(s, "node %u: recovery kept failing with EIO", k);
	return false;
}

/* The nodes over the open stores, recovered as onsaled does at start: 0,
 * or node_recover's error (not yet a failure: see restart), or -ENOMEM
 * (the run failed). */
static int nodes_up(struct sim *s)
{
	struct node *ptrs[SIM_NODES_MAX];
	struct node_env env = {.send = on_send, .reply = sim_on_reply};
	for (uint8_t k = 0; k < s->n; k++) {
		s->ctx[k] = (struct sim_node_ctx){.sim = s, .id = k};
		env.user = &s->ctx[k];
		if (node_init(&s->node[k], k, s->n, &env)) {
			sim_fail(s, "node_init %u: out of memory", k);
			return -ENOMEM;
		}
		node_attach(&s->node[k], s->store[k]);
		node_set_now(&s->node[k], s->now_ms);
		ptrs[k] = &s->node[k];
	}
	s->up = true;
	s->dry_since_start = false;
	s->epoch++;
	return node_recover(ptrs, s->n);
}

/* What a node's counters say goes into the totals before the node goes. */
static void nodes_down(struct sim *s)
{
	for (uint8_t k = 0; k < s->n && s->up; k++) {
		s->stats->transfers += s->node[k].ctr.stock_transfers;
		s->stats->redelivered += s->node[k].ctr.stock_redelivered;
		s->stats->exchanges_moved += s->node[k].ctr.exchanges_moved;
		s->stats->exchanges_resumed += s->node[k].ctr.exchanges_resumed;
		s->stats->exchanges_repeated += s->node[k].ctr.exchanges_repeated;
		s->stats->expiries += s->node[k].ctr.holds_expired;
		node_fini(&s->node[k]);
	}
	s->up = false;
	memset(s->pair, 0, sizeof s->pair);
}

static void set_faults(struct sim *s, uint8_t k)
{
	struct sim_disk_faults f = {0};
	if (sim_below(s, 3) == 0) {
		f.short_write_ppm = (uint32_t)sim_below(s, 100000);
		f.eio_read_ppm = (uint32_t)sim_below(s, 2000);
	}
	if (sim_below(s, 8) == 0)
		f.eio_write_ppm = (uint32_t)sim_below(s, 2000);
	sim_disk_set_faults(s->disk[k], &f);
}

bool sim_start(struct sim *s, uint64_t seed, struct sim_stats *stats)
{
	bool strict[SIM_KNOWN_COUNT], tr = s->trace, resend = s->resend;
	memcpy(strict, s->strict, sizeof strict);
	memset(s, 0, sizeof *s);
	memcpy(s->strict, strict, sizeof strict);
	s->trace = tr;
	s->resend = resend;
	s->stats = stats;
	s->seed = s->rng = seed;
	s->now_ms = T0_MS;
	static const uint8_t nodes[10] = {1, 2, 2, 2, 3, 3, 3, 4, 4, 4};
	s->n = nodes[sim_below(s, 10)];
	s->snapshot_records = sim_below(s, 2) ? UINT64_MAX : 20 + sim_below(s, 200);
	for (uint8_t k = 0; k < s->n; k++) {
		s->disk[k] = sim_disk_create(seed * 131 + k);
		if (!s->disk[k])
			return sim_fail(s, "out of memory"), false;
		sim_disk_storage(s->disk[k], &s->st[k]);
		if (!open_store(s, k))
			return false;
	}
	stats->runs++;
	int rc = nodes_up(s);
	if (rc && rc != -ENOMEM)
		sim_fail(s, "node_recover: %s", strerror(-rc));
	if (rc || !sim_client_setup(s))
		return false;
	for (uint8_t k = 0; k < s->n; k++) /* the events exist: now the disks may fail */
		set_faults(s, k);
	return true;
}

void sim_end(struct sim *s)
{
	for (uint8_t k = 0; k < s->n; k++)
		if (s->disk[k])
			sim_disk_crash(s->disk[k], SIM_CRASH_DROP_UNSYNCED);
	nodes_down(s);
	for (uint8_t k = 0; k < s->n; k++) {
		if (s->store[k])
			shard_store_close(s->store[k]);
		storage_destroy(&s->st[k]);
		sim_disk_destroy(s->disk[k]);
		s->store[k] = NULL;
		s->disk[k] = NULL;
	}
}

/* ---- snapshot damage before a restart ---------------------------------------------- */

struct snap_list {
	uint64_t newest, count;
};

static int note_snapshot(void *ctx, const char *name)
{
	struct snap_list *l = ctx;
	unsigned long long lsn;
	char tail[8];
	if (sscanf(name, "snap-%20llu.%7s", &lsn, tail) == 2 && !strcmp(tail, "osnp")) {
		l->count++;
		if (lsn > l->newest)
			l->newest = lsn;
	}
	return 0;
}

static int unlink_snapshot(void *ctx, const char *name)
{
	if (!strncmp(name, "snap-", 5))
		storage_unlink(ctx, name); /* the list is of names, not handles: safe */
	return 0;
}

/* A flipped byte in the newest snapshot, or every snapshot gone. Only where
 * recovery can still be exact: two snapshots (the older one and the WAL
 * from it are kept) of which the older was never damaged, or a WAL that
 * still starts at its first record (no segment was ever removed). */
static void damage_snapshots(struct sim *s, uint8_t k)
{
	bool wal_whole = !(s->wal_trimmed_mask >> k & 1);
	bool older_sound = !(s->damaged_mask >> k & 1);
	struct snap_list l = {0};
	storage_list(&s->st[k], note_snapshot, &l);
	if (!l.count)
		return;
	if (sim_below(s, 2) && wal_whole) {
		storage_list(&s->st[k], unlink_snapshot, &s->st[k]);
		storage_sync_dir(&s->st[k]);
		sim_trace(s, "node %u: every snapshot removed\n", k);
	} else if ((l.count >= 2 && older_sound) || wal_whole) {
		char name[40];
		uint64_t body = 0;
		snapshot_name(name, sizeof name, l.newest);
		sim_disk_peek(s->disk[k], name, 32, &body, sizeof body);
		uint64_t off = sim_below(s, SNAPSHOT_HEADER_BYTES + body);
		sim_disk_flip_bit(s->disk[k], name, off, (unsigned)sim_below(s, 8));
		sim_trace(s, "node %u: bit flipped in %s at %" PRIu64 "\n", k, name, off);
	} else {
		return;
	}
	s->damaged_mask |= 1u << k;
	s->stats->snapshot_damage++;
}

/* ---- a crash of the whole process ---------------------------------------------------- */

/* Opens every store and recovers the nodes. Recovery writes records (the
 * transfers and exchanges it ends); when one of those writes fails, the
 * store stops with EIO and node_recover fails (with that error, or with
 * what the stopped store's answer made of it): onsaled exits with an error
 * and its operator starts it again, which is what this does, a bounded
 * number of times, after dropping what was not synced. A recovery that
 * fails with every store sound fails the run. */
static void restart(struct sim *s)
{
	for (int tries = 0;; tries++) {
		for (uint8_t k = 0; k < s->n; k++)
			if (!open_store(s, k))
				return;
		int rc = nodes_up(s);
		if (!rc) {
			sim_check_recovered(s);
			return;
		}
		if (rc == -ENOMEM)
			return;
		bool disk_failed = false; /* an injected write error stopped a store */
		for (uint8_t k = 0; k < s->n; k++)
			disk_failed |= shard_store_error(s->store[k]) == -EIO;
		if (!disk_failed || tries + 1 == OPEN_TRIES_MAX) {
			sim_fail(s, "node_recover: %s (start %d)", strerror(-rc), tries + 1);
			return;
		}
		sim_trace(s, "recovery failed: %s; started again\n", strerror(-rc));
		s->stats->recoveries_failed++;
		for (uint8_t k = 0; k < s->n; k++) {
			sim_disk_crash(s->disk[k], SIM_CRASH_DROP_UNSYNCED);
			shard_store_close(s->store[k]);
			s->store[k] = NULL;
		}
		nodes_down(s);
	}
}

void sim_crash(struct sim *s)
{
	enum sim_disk_crash_mode mode = sim_below(s, 3) ? SIM_CRASH_DROP_UNSYNCED
							: SIM_CRASH_SOME_SURVIVE;
	sim_trace(s, "crash (%s)\n",
		  mode == SIM_CRASH_DROP_UNSYNCED ? "unsynced dropped" : "some survive");
	s->stats->crashes++;
	sim_client_crash(s);
	for (uint8_t k = 0; k < s->n; k++) {
		sim_disk_crash(s->disk[k], mode); /* before the buffers writes point at go */
		if (shard_store_stats(s->store[k])->segments_removed)
			s->wal_trimmed_mask |= 1u << k;
		shard_store_close(s->store[k]);
		s->store[k] = NULL;
	}
	nodes_down(s);
	s->crash_due_step = 0;
	for (uint8_t k = 0; k < s->n; k++)
		if (sim_below(s, 6) == 0)
			damage_snapshots(s, k);
	restart(s);
}

/* ---- the actions ------------------------------------------------------------------------ */

static void poll_node(struct sim *s, uint8_t k)
{
	shard_store_poll(s->store[k]);
	node_poll(&s->node[k]);
	if (s->resend) /* transfers left unacknowledged are sent again */
		node_tick(&s->node[k]);
	shard_store_flush(s->store[k]);
	if (shard_store_error(s->store[k]) && !s->crash_due_step) {
		sim_trace(s, "node %u stopped: %s\n", k, strerror(-shard_store_error(s->store[k])));
		s->stats->stopped++;
		s->crash_due_step = s->step + 1 + sim_below(s, STOPPED_CRASH_STEPS_MAX);
	}
}

static void tick(struct sim *s)
{
	uint64_t r = sim_below(s, 10);
	s->now_ms += r < 6   ? sim_below(s, 2000)
		     : r < 9 ? sim_below(s, 20000)
			     : sim_below(s, 200000);
	for (uint8_t k = 0; k < s->n; k++)
		node_set_now(&s->node[k], s->now_ms);
	uint8_t k = (uint8_t)sim_below(s, s->n);
	sim_trace(s, "clock %" PRIu64 ", expire on node %u\n", s->now_ms, k);
	node_expire(&s->node[k]);
}

static void stall_pair(struct sim *s)
{
	uint8_t from, to;
	if (!pick_pair(s, false, &from, &to))
		return;
	s->pair[from][to].stall_until_step = s->step + 1 + sim_below(s, 40);
	sim_trace(s, "pair %u->%u delayed\n", from, to);
}

static void snapshot(struct sim *s)
{
	uint8_t k = (uint8_t)sim_below(s, s->n);
	sim_trace(s, "snapshot on node %u\n", k);
	if (!shard_store_snapshot(s->store[k]))
		s->stats->snapshots++;
}

static void fail_fsync(struct sim *s)
{
	uint8_t k = (uint8_t)sim_below(s, s->n);
	sim_trace(s, "next fsync of node %u fails\n", k);
	sim_disk_fail_next_fsync(s->disk[k], -EIO);
	s->stats->fsync_failures++;
}

/* Many clients at once: the nodes' pools run dry (busy, overloaded). */
static void burst(struct sim *s)
{
	uint64_t count = 10 + sim_below(s, 120);
	sim_trace(s, "burst of %" PRIu64 " requests\n", count);
	for (uint64_t i = 0; i < count && !sim_failed(s); i++)
		sim_client_step(s);
}

void sim_step(struct sim *s)
{
	uint8_t from, to;
	uint64_t r = sim_below(s, 1000);
	s->step++;
	s->stats->steps++;
	if (s->crash_due_step && s->step >= s->crash_due_step)
		sim_crash(s);
	else if (r < 325)
		sim_client_step(s);
	else if (r < 330)
		burst(s);
	else if (r < 640 && pick_pair(s, false, &from, &to))
		deliver(s, from, to);
	else if (r < 880)
		poll_node(s, (uint8_t)sim_below(s, s->n));
	else if (r < 950)
		tick(s);
	else if (r < 965)
		stall_pair(s);
	else if (r < 978)
		snapshot(s);
	else if (r < 981)
		fail_fsync(s);
	else if (r < 985)
		sim_crash(s);
	if (!sim_failed(s))
		sim_check_step(s);
}

/* ---- settling --------------------------------------------------------------------------- */

/* A request without its answer, a message in a ring, or one a node keeps
 * for itself (its inbox, its durable FIFO: an UNRESERVE to the home node
 * that is this one, an acknowledgement waiting for the disk). */
static bool busy(struct sim *s)
{
	for (uint32_t i = 0; i < s->reqs_used; i++)
		if (s->reqs[i].state == SIM_REQ_WAITING)
			return true;
	for (uint8_t k = 0; k < s->n; k++)
		if (s->up && (s->node[k].inbox_head || s->node[k].durable_head))
			return true;
	uint8_t from, to;
	return pick_pair(s, true, &from, &to);
}

void sim_settle(struct sim *s, unsigned rounds_max)
{
	for (unsigned i = 0; i < rounds_max && busy(s) && !sim_failed(s); i++) {
		uint8_t from, to;
		while (pick_pair(s, true, &from, &to) && !sim_failed(s))
			deliver(s, from, to);
		for (uint8_t k = 0; k < s->n; k++) {
			shard_store_sync(s->store[k]);
			poll_node(s, k);
		}
	}
}

void sim_settle_last(struct sim *s, unsigned rounds_max)
{
	sim_settle(s, rounds_max);
	if (!s->dry_since_start && !sim_failed(s)) /* every acknowledgement was sent */
		sim_check_transfers_settled(s, "before any resend");
	for (unsigned i = 0; i < RESEND_TICKS && s->resend && !sim_failed(s); i++) {
		s->now_ms += XFER_RESEND_MS;
		for (uint8_t k = 0; k < s->n; k++) {
			node_set_now(&s->node[k], s->now_ms);
			poll_node(s, k);
		}
		sim_settle(s, rounds_max);
	}
}
