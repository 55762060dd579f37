/*
 * redis_verify.c — bench-redis --verify: after the run, reads the
 * event back from Redis (key layout: bench/redis/redis_lua.c) and checks that
 *   - per tier, free + held + sold = capacity and sold <= capacity
 *     (held: the live holds of the expiry set, expired or not);
 *   - the orders add up to the sold counters, each at qty x price;
 *   - customer counts add up (held + bought, bought = sold);
 *   - every acknowledged confirm has its order with its quantity;
 *   - seat-flash: no seat in two orders or holds, and every row's seat
 *     bytes are exactly what the orders ('s') and holds ('h') say.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/redis/redis.h"

#define VERIFY_BATCH 1000 /* commands pipelined at once */

struct tally {
	long long free_, held, sold, orders_units, cap;
};

/* A parsed hold or order value "tier|customer|qty|row|first[|amount]". */
struct val {
	unsigned tier, qty, first;
	int row;
	unsigned long long cust, amount;
};

static int parse_val(const char *s, struct val *v)
{
	v->amount = 0;
	int n = sscanf(s, "%u|%llu|%u|%d|%u|%llu", &v->tier, &v->cust, &v->qty, &v->row, &v->first,
		       &v->amount);
	return n >= 5 && v->tier < REDIS_TIERS && v->qty > 0 ? n : -1;
}

/* One integer reply (nil: 0); -1 on failure. */
static int int_cmd(redisContext *c, long long *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	int rc = 0;
	if (!r || r->type == REDIS_REPLY_ERROR)
		rc = -1;
	else if (r->type == REDIS_REPLY_INTEGER)
		*out = r->integer;
	else if (r->type == REDIS_REPLY_STRING)
		*out = strtoll(r->str, NULL, 10);
	else if (r->type == REDIS_REPLY_NIL)
		*out = 0;
	else
		rc = -1;
	freeReplyObject(r);
	return rc;
}

/* Sum of a hash's values (customer counts); -1 if one is negative. */
static int hash_sum(redisContext *c, const char *key, long long *sum)
{
	redisReply *r = redisCommand(c, "HVALS %s", key);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return -1;
	}
	*sum = 0;
	int rc = 0;
	for (size_t k = 0; k < r->elements; k++) {
		long long v = strtoll(r->element[k]->str, NULL, 10);
		rc |= v < 0 ? -1 : 0;
		*sum += v;
	}
	freeReplyObject(r);
	return rc;
}

/* Marks a hold's or order's seats in want[] (by seat index); 0, or -1 when
 * a seat is marked already or out of the venue. */
static int mark(char *want, const struct redis_event *ev, const struct val *v, char state)
{
	if (!want)
		return 0;
	if (v->row < 0 || (unsigned)v->row >= ev->rows || v->first + v->qty > REDIS_ROW_SEATS)
		return -1;
	for (unsigned k = 0; k < v->qty; k++) {
		char *s = &want[(size_t)v->row * REDIS_ROW_SEATS + v->first + k];
		if (*s != '.')
			return -1;
		*s = state;
	}
	return 0;
}

/* The live holds (expiry set) into t[].held and want[]. */
static const char *holds(redisContext *c, const struct redis_event *ev, struct tally *t, char *want,
			 char *buf, size_t bufsz)
{
	redisReply *r = redisCommand(c, "ZRANGE %sexp 0 -1", ev->p);
	if (!r || r->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		return "verify: reading the expiry set failed";
	}
	const char *bad = NULL;
	for (size_t k = 0; k < r->elements && !bad; k++) {
		const char *m = strchr(r->element[k]->str, '|');
		struct val v;
		if (!m || parse_val(m + 1, &v) < 0)
			bad = "verify: a malformed hold in the expiry set";
		else if (mark(want, ev, &v, 'h'))
			bad = "a seat in two holds, or a hold outside the venue";
		else
			t[v.tier].held += v.qty;
	}
	freeReplyObject(r);
	if (bad)
		snprintf(buf, bufsz, "%s", bad);
	return bad ? buf : NULL;
}

/* Every order (SCAN) into t[].orders_units and want[]; *n_orders. */
static const char *orders(redisContext *c, const struct redis_event *ev, struct tally *t,
			  char *want, size_t *n_orders, char *buf, size_t bufsz)
{
	char cursor[32] = "0";
	*n_orders = 0;
	do {
		redisReply *r = redisCommand(c, "SCAN %s MATCH %so:* COUNT %d", cursor, ev->p,
					     VERIFY_BATCH);
		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			freeReplyObject(r);
			return "verify: SCAN failed";
		}
		snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
		redisReply *keys = r->element[1];
		for (size_t k = 0; k < keys->elements; k++)
			redisAppendCommand(c, "GET %s", keys->element[k]->str);
		const char *bad = NULL;
		for (size_t k = 0; k < keys->elements; k++) {
			redisReply *o = NULL;
			struct val v;
			if (redisGetReply(c, (void **)&o) != REDIS_OK) {
				freeReplyObject(r);
				return "verify: connection lost";
			}
			if (bad) {
			} else if (o->type != REDIS_REPLY_STRING || parse_val(o->str, &v) != 6) {
				bad = "a malformed order";
			} else if (v.amount != (unsigned long long)v.qty * REDIS_PRICE) {
				bad = "an order's amount is not qty x price";
			} else if (mark(want, ev, &v, 's')) {
				bad = "a seat sold twice (or held and sold), or outside the venue";
			} else {
				t[v.tier].orders_units += v.qty;
				++*n_orders;
			}
			freeReplyObject(o);
		}
		freeReplyObject(r);
		if (bad) {
			snprintf(buf, bufsz, "%s", bad);
			return buf;
		}
	} while (strcmp(cursor, "0"));
	return NULL;
}

/* Every acknowledged confirm has its order with its quantity. */
static const char *acknowledged(redisContext *c, const struct redis_event *ev,
				const struct redis_orders *lists, unsigned n_lists, size_t *n_acked,
				char *buf, size_t bufsz)
{
	*n_acked = 0;
	for (unsigned l = 0; l < n_lists; l++)
		for (size_t k = 0; k < lists[l].n; k += VERIFY_BATCH) {
			size_t n = lists[l].n - k < VERIFY_BATCH ? lists[l].n - k : VERIFY_BATCH;
			for (size_t m = 0; m < n; m++)
				redisAppendCommand(c, "GET %so:%llu", ev->p,
						   (unsigned long long)lists[l].o[k + m].id);
			unsigned long long missing = 0;
			for (size_t m = 0; m < n; m++) {
				redisReply *o = NULL;
				struct val v;
				if (redisGetReply(c, (void **)&o) != REDIS_OK)
					return "verify: connection lost";
				if (!missing &&
				    (o->type != REDIS_REPLY_STRING || parse_val(o->str, &v) < 0 ||
				     v.qty != lists[l].o[k + m].qty))
					missing = lists[l].o[k + m].id;
				freeReplyObject(o);
			}
			if (missing) {
				snprintf(buf, bufsz,
					 "acknowledged confirm of hold %llu: no order or"
					 " another quantity",
					 missing);
				return buf;
			}
			*n_acked += n;
		}
	return NULL;
}

/* Every row's seat bytes against want[]; free seats counted per tier. */
static const char *rows(redisContext *c, const struct redis_event *ev, const char *want,
			long long *free_seats, char *buf, size_t bufsz)
{
	for (unsigned r0 = 0; r0 < ev->rows; r0 += VERIFY_BATCH) {
		unsigned n = ev->rows - r0 < VERIFY_BATCH ? ev->rows - r0 : VERIFY_BATCH;
		for (unsigned k = 0; k < n; k++)
			redisAppendCommand(c, "GET %srow:%u", ev->p, r0 + k);
		int bad_row = -1;
		for (unsigned k = 0; k < n; k++) {
			unsigned r = r0 + k, t = 1;
			redisReply *o = NULL;
			if (redisGetReply(c, (void **)&o) != REDIS_OK)
				return "verify: connection lost";
			while (t < REDIS_SEAT_TIERS && r > ev->row_hi[t])
				t++;
			size_t len = o->type == REDIS_REPLY_STRING ? o->len : 0;
			const char *w = want + (size_t)r * REDIS_ROW_SEATS;
			if (bad_row < 0 &&
			    (!len || len > REDIS_ROW_SEATS || memcmp(o->str, w, len) ||
			     (len < REDIS_ROW_SEATS && w[len] != '.')))
				bad_row = (int)r;
			for (size_t s = 0; s < len; s++)
				free_seats[t] += o->str[s] == '.';
			freeReplyObject(o);
		}
		if (bad_row >= 0) {
			snprintf(buf, bufsz,
				 "row %d: its seats are not what the orders and holds say",
				 bad_row);
			return buf;
		}
	}
	return NULL;
}

static const char *tiers(redisContext *c, const struct redis_event *ev, struct tally *t,
			 const long long *free_seats, char *buf, size_t bufsz)
{
	for (unsigned k = ev->tier_lo; k <= ev->tier_hi; k++) {
		struct tally *x = &t[k];
		if (int_cmd(c, &x->free_, "GET %sstock:%u", ev->p, k) ||
		    int_cmd(c, &x->sold, "GET %ssold:%u", ev->p, k) ||
		    int_cmd(c, &x->cap, "HGET %scap %u", ev->p, k))
			return "verify: reading the counters failed";
		if ((unsigned long long)x->cap != ev->tier_cap[k])
			snprintf(buf, bufsz, "tier %u: capacity %lld, loaded %llu", k, x->cap,
				 (unsigned long long)ev->tier_cap[k]);
		else if (x->sold > x->cap || x->free_ < 0)
			snprintf(buf, bufsz, "tier %u oversold: %lld sold of %lld, %lld free", k,
				 x->sold, x->cap, x->free_);
		else if (x->free_ + x->held + x->sold != x->cap)
			snprintf(buf, bufsz,
				 "tier %u: free %lld + held %lld + sold %lld != capacity %lld", k,
				 x->free_, x->held, x->sold, x->cap);
		else if (x->orders_units != x->sold)
			snprintf(buf, bufsz, "tier %u: orders hold %lld units, %lld sold", k,
				 x->orders_units, x->sold);
		else if (free_seats && free_seats[k] != x->free_)
			snprintf(buf, bufsz, "tier %u: %lld free seats in its rows, counter %lld",
				 k, free_seats[k], x->free_);
		else
			continue;
		return buf;
	}
	return NULL;
}

const char *redis_verify(redisContext *c, const struct redis_event *ev,
			 const struct redis_orders *lists, unsigned n_lists, uint64_t confirmed,
			 char *buf, size_t bufsz)
{
	struct tally t[REDIS_TIERS] = {{0}};
	long long free_seats[REDIS_TIERS] = {0}, held = 0, sold = 0, cust, bought;
	char *want = NULL;
	size_t n_orders, n_acked;
	const char *bad;
	if (ev->rows) {
		want = malloc((size_t)ev->rows * REDIS_ROW_SEATS);
		if (!want)
			return "verify: out of memory";
		memset(want, '.', (size_t)ev->rows * REDIS_ROW_SEATS);
	}
	if ((bad = holds(c, ev, t, want, buf, bufsz)) ||
	    (bad = orders(c, ev, t, want, &n_orders, buf, bufsz)) ||
	    (want && (bad = rows(c, ev, want, free_seats, buf, bufsz))) ||
	    (bad = tiers(c, ev, t, want ? free_seats : NULL, buf, bufsz)) ||
	    (bad = acknowledged(c, ev, lists, n_lists, &n_acked, buf, bufsz))) {
		free(want);
		return bad;
	}
	free(want);
	for (unsigned k = ev->tier_lo; k <= ev->tier_hi; k++) {
		held += t[k].held;
		sold += t[k].sold;
	}
	char key[64];
	snprintf(key, sizeof key, "%scust", ev->p);
	int rc = hash_sum(c, key, &cust);
	snprintf(key, sizeof key, "%sbought", ev->p);
	if (rc || hash_sum(c, key, &bought)) {
		snprintf(buf, bufsz, "verify: customer counts unreadable or negative");
		return buf;
	}
	if (cust != held + sold || bought != sold) {
		snprintf(buf, bufsz,
			 "customers hold %lld and bought %lld units; %lld held, %lld sold", cust,
			 bought, held, sold);
		return buf;
	}
	if ((unsigned long long)sold < confirmed) {
		snprintf(buf, bufsz, "%lld units sold, %llu acknowledged", sold,
			 (unsigned long long)confirmed);
		return buf;
	}
	fprintf(stderr,
		"verify: %lld units sold of %llu, %lld held; %zu orders, %zu acknowledged"
		" confirms checked\n",
		sold, (unsigned long long)ev->capacity, held, n_orders, n_acked);
	return NULL;
}
