/*
 * hist.h — the load generators' fixed-memory log-linear latency histogram
 * (three significant digits, nanoseconds), see bench/common/hist.c.
 */
#ifndef ONSALE_BENCH_HIST_H
#define ONSALE_BENCH_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define HIST_EXP_MAX 30u
#define HIST_BUCKETS (2048u + HIST_EXP_MAX * 1024u)

/* Written by one thread, read by any. */
struct hist {
	_Atomic uint64_t counts[HIST_BUCKETS];
	_Atomic uint64_t total;
	_Atomic uint64_t max;
};

/* A plain copy (or a sum of several) to compute percentiles from. */
struct hist_snap {
	uint64_t counts[HIST_BUCKETS];
	uint64_t total;
	uint64_t max;
};

void hist_record(struct hist *h, uint64_t ns);
void hist_snap_clear(struct hist_snap *s);
void hist_snap_add(struct hist_snap *s, struct hist *h);
/* Sums the n snapshots into out (cleared first). */
void hist_snap_sum(struct hist_snap *out, const struct hist_snap *per_op, unsigned n);
void hist_snap_sub(struct hist_snap *s, const struct hist_snap *older);
/* The value at percentile pct (0..100), in ns; 0 when empty. */
uint64_t hist_snap_pct(const struct hist_snap *s, double pct);

#endif
