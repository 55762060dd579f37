/*
 * ob_hist.h — onsale-bench's fixed-memory log-linear latency histogram
 * (three significant digits, nanoseconds), see bench/ob_hist.c.
 */
#ifndef OB_HIST_H
#define OB_HIST_H

#include <stdatomic.h>
#include <stdint.h>

#define OB_HIST_EXP_MAX 30u
#define OB_HIST_BUCKETS (2048u + OB_HIST_EXP_MAX * 1024u)

/* Written by one thread, read by any. */
struct ob_hist {
	_Atomic uint64_t counts[OB_HIST_BUCKETS];
	_Atomic uint64_t total;
	_Atomic uint64_t max;
};

/* A plain copy (or a sum of several) to compute percentiles from. */
struct ob_snap {
	uint64_t counts[OB_HIST_BUCKETS];
	uint64_t total;
	uint64_t max;
};

void ob_hist_record(struct ob_hist *h, uint64_t ns);
void ob_snap_clear(struct ob_snap *s);
void ob_snap_add(struct ob_snap *s, struct ob_hist *h);
void ob_snap_sub(struct ob_snap *s, const struct ob_snap *older);
/* The value at percentile pct (0..100), in ns; 0 when empty. */
uint64_t ob_snap_pct(const struct ob_snap *s, double pct);

#endif
