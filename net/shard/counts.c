/*
 * counts.c — what a home node knows of its customers on other nodes.
 *
 * Two kinds of entries, one table: (event, customer, key 0) counts the
 * units the customer holds or owns on other nodes; (event, customer, key K)
 * marks a hold with idempotency key K in flight (units 1), so a retry that
 * arrives meanwhile on any node is told to retry instead of holding twice.
 *
 * The home shard of a customer (node_home) enforces the event's limit over
 * all shards: its own core counts the units held and owned here, and this
 * table the units the customer holds or owns on every other shard,
 * reserved here before the hold there and given back on release, expiry
 * and refund. It is derived state: node_recover rebuilds it at start from
 * every shard's recovered customers. Open addressing keyed by (event,
 * customer), linear probing, backward-shift deletion: only nonzero counts
 * stay, so its bound is the live remote holdings, not the history. At
 * start the table grows as far as the recovered state needs (counts_grow:
 * a day of events with limits must not keep a server from starting);
 * while serving it stays bounded and a full table refuses the reservation
 * (overloaded).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "net/shard/parts.h"

static uint32_t slot_of(const struct counts *ct, uint32_t event_id, uint64_t customer_id,
			uint64_t key)
{
	uint64_t z = customer_id ^ ((uint64_t)event_id << 32) ^ event_id ^
		     (key * 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 33)) * 0xff51afd7ed558ccdull;
	z = (z ^ (z >> 33)) * 0xc4ceb9fe1a85ec53ull;
	return (uint32_t)(z ^ (z >> 33)) & ct->mask;
}

int counts_init(struct counts *ct, uint32_t max)
{
	uint32_t size = 1;
	while (size < 2 * max)
		size <<= 1;
	ct->slots = calloc(size, sizeof *ct->slots);
	if (!ct->slots)
		return -ENOMEM;
	ct->mask = size - 1;
	ct->used = 0;
	return 0;
}

void counts_fini(struct counts *ct)
{
	free(ct->slots);
	ct->slots = NULL;
}

static struct count_slot *find(const struct counts *ct, uint32_t event_id, uint64_t customer_id,
			       uint64_t key)
{
	for (uint32_t i = slot_of(ct, event_id, customer_id, key);; i = (i + 1) & ct->mask) {
		struct count_slot *e = &ct->slots[i];
		if (!e->customer_id ||
		    (e->customer_id == customer_id && e->event_id == event_id && e->key == key))
			return e;
	}
}

int counts_grow(struct counts *ct)
{
	struct counts bigger;
	uint32_t size = ct->mask + 1;
	if (size > UINT32_MAX / 4)
		return -ENOSPC;
	int rc = counts_init(&bigger, size); /* twice the slots: half may be used */
	if (rc)
		return rc;
	for (uint32_t i = 0; i < size; i++) {
		const struct count_slot *e = &ct->slots[i];
		if (e->customer_id)
			*find(&bigger, e->event_id, e->customer_id, e->key) = *e;
	}
	bigger.used = ct->used;
	counts_fini(ct);
	*ct = bigger;
	return 0;
}

uint32_t counts_get(const struct counts *ct, uint32_t event_id, uint64_t customer_id, uint64_t key)
{
	const struct count_slot *e = find(ct, event_id, customer_id, key);
	return e->customer_id ? e->units : 0;
}

static void remove_at(struct counts *ct, uint32_t hole)
{
	for (uint32_t i = (hole + 1) & ct->mask; ct->slots[i].customer_id; i = (i + 1) & ct->mask) {
		uint32_t home = slot_of(ct, ct->slots[i].event_id, ct->slots[i].customer_id,
					ct->slots[i].key);
		/* move i into the hole when its home is not in (hole, i] */
		if (((i - home) & ct->mask) >= ((i - hole) & ct->mask)) {
			ct->slots[hole] = ct->slots[i];
			hole = i;
		}
	}
	memset(&ct->slots[hole], 0, sizeof ct->slots[hole]);
	ct->used--;
}

int counts_add(struct counts *ct, uint32_t event_id, uint64_t customer_id, uint64_t key,
	       int64_t delta)
{
	struct count_slot *e = find(ct, event_id, customer_id, key);
	if (!customer_id || !delta)
		return 0;
	if (!e->customer_id) {
		if (delta < 0)
			return 0;
		if (ct->used >= (ct->mask + 1) / 2)
			return -ENOSPC;
		e->customer_id = customer_id;
		e->event_id = event_id;
		e->key = key;
		e->units = 0;
		ct->used++;
	}
	int64_t units = (int64_t)e->units + delta;
	if (units <= 0) {
		remove_at(ct, (uint32_t)(e - ct->slots));
		return 0;
	}
	e->units = (uint32_t)units;
	return 0;
}

uint32_t counts_drop_event(struct counts *ct, uint32_t event_id)
{
	uint32_t dropped = 0;
	/* a removal may shift a later entry into slot i: look at i again */
	for (uint32_t i = 0; i <= ct->mask;) {
		if (ct->slots[i].customer_id && ct->slots[i].event_id == event_id) {
			remove_at(ct, i);
			dropped++;
			continue;
		}
		i++;
	}
	return dropped;
}
