/*
 * hist.c — the latency histogram of the load generators (onsale-bench,
 * bench-redis, bench-pg).
 *
 * HDR-style log-linear buckets over nanoseconds with fixed memory: values
 * below 2048 ns count exactly; above, every power of two is cut into 1024
 * linear sub-buckets, so a recorded value is off by less than 0.1 % (three
 * significant digits) up to 2^41 ns. One writer thread per histogram; the
 * counters are relaxed atomics so the progress thread may read them while
 * the writer counts.
 */
#include "bench/common/hist.h"

#include <string.h>

static unsigned bucket_of(uint64_t v)
{
	if (v < 2048)
		return (unsigned)v;
	unsigned lz = (unsigned)__builtin_clzll(v);
	unsigned msb = 63u - lz;    /* >= 11 */
	unsigned shift = msb - 10u; /* v >> shift is in [1024, 2048) */
	if (shift > HIST_EXP_MAX)
		return HIST_BUCKETS - 1;
	return 2048u + (shift - 1u) * 1024u + (unsigned)((v >> shift) - 1024u);
}

/* The highest value a bucket holds (percentiles report it, as HDR does). */
static uint64_t bucket_high(unsigned b)
{
	if (b < 2048)
		return b;
	unsigned shift = (b - 2048u) / 1024u + 1u;
	uint64_t sub = (b - 2048u) % 1024u + 1024u;
	return ((sub + 1u) << shift) - 1u;
}

void hist_record(struct hist *h, uint64_t ns)
{
	unsigned b = bucket_of(ns);
	atomic_store_explicit(&h->counts[b],
			      atomic_load_explicit(&h->counts[b], memory_order_relaxed) + 1u,
			      memory_order_relaxed);
	atomic_store_explicit(&h->total, atomic_load_explicit(&h->total, memory_order_relaxed) + 1u,
			      memory_order_relaxed);
	if (ns > atomic_load_explicit(&h->max, memory_order_relaxed))
		atomic_store_explicit(&h->max, ns, memory_order_relaxed);
}

void hist_snap_clear(struct hist_snap *s)
{
	memset(s, 0, sizeof *s);
}

void hist_snap_add(struct hist_snap *s, struct hist *h)
{
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		s->counts[b] += atomic_load_explicit(&h->counts[b], memory_order_relaxed);
	s->total += atomic_load_explicit(&h->total, memory_order_relaxed);
	uint64_t m = atomic_load_explicit(&h->max, memory_order_relaxed);
	if (m > s->max)
		s->max = m;
}

void hist_snap_sum(struct hist_snap *out, const struct hist_snap *per_op, unsigned n)
{
	hist_snap_clear(out);
	for (unsigned o = 0; o < n; o++) {
		for (unsigned b = 0; b < HIST_BUCKETS; b++)
			out->counts[b] += per_op[o].counts[b];
		out->total += per_op[o].total;
		if (per_op[o].max > out->max)
			out->max = per_op[o].max;
	}
}

void hist_snap_sub(struct hist_snap *s, const struct hist_snap *older)
{
	for (unsigned b = 0; b < HIST_BUCKETS; b++)
		s->counts[b] -= older->counts[b];
	s->total -= older->total;
}

uint64_t hist_snap_pct(const struct hist_snap *s, double pct)
{
	if (!s->total)
		return 0;
	uint64_t want = (uint64_t)((double)s->total * pct / 100.0 + 0.5);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < HIST_BUCKETS; b++) {
		seen += s->counts[b];
		if (seen >= want) {
			uint64_t v = bucket_high(b);
			return s->max && v > s->max ? s->max : v;
		}
	}
	return s->max;
}
