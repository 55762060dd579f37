/*
 * load.h — small helpers every load generator needs
 * (onsale-bench, bench-redis, bench-pg): a monotonic clock, a seeded
 * random stream, a single-writer counter add, and sums of a counter or a
 * set of histograms over an array of worker structs (each program has its
 * own worker struct; the field is given by offset, the array by stride),
 * and the bounded wait for the load threads once a run stops.
 */
#ifndef ONSALE_BENCH_LOAD_H
#define ONSALE_BENCH_LOAD_H

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "bench/common/hist.h"

static inline uint64_t load_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline uint64_t load_rnd(uint64_t *s) /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Adds n to a counter only its owner thread writes (others read it). */
static inline void load_count(_Atomic uint64_t *a, uint64_t n)
{
	atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

/* Sum of the _Atomic uint64_t at offset off of n structs stride bytes apart. */
static inline uint64_t load_sum(const void *base, size_t n, size_t stride, size_t off)
{
	uint64_t s = 0;
	for (size_t k = 0; k < n; k++)
		s += atomic_load_explicit((const _Atomic uint64_t *)((const char *)base +
								     k * stride + off),
					  memory_order_relaxed);
	return s;
}

/* Sum of count consecutive _Atomic uint64_t counters (an array such as
 * done[op]) starting at offset off, over n structs stride bytes apart. */
static inline uint64_t load_sum_array(const void *base, size_t n, size_t stride, size_t off,
				      size_t count)
{
	uint64_t s = 0;
	for (size_t o = 0; o < count; o++)
		s += load_sum(base, n, stride, off + o * sizeof(_Atomic uint64_t));
	return s;
}

/* out = the histograms hist[op] (op < 0: all n_ops of them), hist an
 * array of n_ops struct hist at offset off, of n structs stride apart. */
static inline void load_snap(struct hist_snap *out, const void *base, size_t n, size_t stride,
			     size_t off, int n_ops, int op)
{
	hist_snap_clear(out);
	for (size_t k = 0; k < n; k++)
		for (int o = 0; o < n_ops; o++)
			if (op < 0 || o == op)
				hist_snap_add(out,
					      (struct hist *)((char *)base + k * stride + off) + o);
}

/* How long a stopped run waits for the replies still in flight before it
 * counts them missing (the server stalled or is gone), in every load
 * generator. Without it a server stopped mid-run (SIGSTOP) kept the
 * generator waiting for as long as it stayed stopped. */
#define LOAD_DRAIN_MS 3000

/* Joins the n threads (the pthread_t at offset off of n structs stride
 * bytes apart) of a run that has stopped, waiting ms (at most
 * LOAD_DRAIN_MS) in all. Returns how many did not end in time: they are
 * still waiting for a server and are left running, so what they use must
 * not be freed (the caller reports and exits). */
static inline unsigned load_join_drained(void *base, size_t n, size_t stride, size_t off,
					 unsigned ms)
{
	struct timespec dl;
	unsigned left = 0;
	assert(ms <= LOAD_DRAIN_MS);
	clock_gettime(CLOCK_REALTIME, &dl); /* pthread_timedjoin_np's clock */
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	for (size_t k = 0; k < n; k++) {
		int rc = pthread_timedjoin_np(*(pthread_t *)((char *)base + k * stride + off), NULL,
					      &dl);
		assert(rc == 0 || rc == ETIMEDOUT);
		left += rc != 0;
	}
	return left;
}

#endif
