/*
 * bench-cpu.c — what this machine's CPUs give a thread that never sleeps:
 * the time a pinned, always-runnable thread does not run, with the other
 * CPUs idle, partly busy or busy (docs/PERFORMANCE.md, "Latency curve").
 * It is the floor under every latency the benchmarks measure: a request
 * that arrives while the shard's CPU is taken away waits as long.
 *
 * A probe thread pinned to one CPU reads the clock in a loop and records
 * every gap between two reads longer than GAP_NS_MIN. Load threads, one
 * pinned to each other CPU the process may run on, keep their CPU busy DUTY % of every
 * LOAD_PERIOD_NS and sleep the rest; one phase per duty in --duties, the
 * probe alone at 0. A gap this kernel counted as the probe's own running
 * time (its CPU clock, CLOCK_THREAD_CPUTIME_ID, read with the wall clock,
 * moved by at least half the gap) is counted as the host's: the probe was
 * the running thread, but the virtual CPU itself did not run (this guest
 * accounts no steal time). The count is a lower bound: a host stall that
 * begins while another thread is current (a kernel worker preempting the
 * probe for microseconds) is charged to that thread and counted as this
 * kernel's; `perf sched timehist` tells them apart. On this project's
 * paravirtualized machine the host's gaps are what make the
 * benchmarks' "dedicated" cores not dedicated once both are busy.
 *
 * Pure measurement: no files, no network; bounded by --seconds per phase.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/common/opts.h"

#define SECONDS_MAX 600
#define DUTIES_MAX 8
#define DUTIES_WHY "up to " OPTS_STR(DUTIES_MAX) " percentages 0-100 split by commas"
#define GAP_NS_MIN 1000000u      /* a gap: the probe did not run for 1 ms */
#define GAP_NS_LONG 10000000u    /* counted apart: 10 ms */
#define GAP_NS_STALL 50000000u   /* and 50 ms */
#define LOAD_PERIOD_NS 10000000u /* a load thread's busy + sleep cycle */
#define LOAD_THREADS_MAX CPU_SETSIZE

struct config {
	double seconds;
	unsigned duty[DUTIES_MAX], n_duty;
	unsigned cpu; /* the probe's CPU */
	int json;
};

struct phase {
	unsigned duty;
	unsigned load_cpus;
	double seconds;
	uint64_t gaps, gaps_long, gaps_stall, host_gaps_long;
	uint64_t longest_ns, lost_ns; /* lost: the sum of gaps */
	uint64_t host_lost_ns;        /* of which the host's */
};

static atomic_int phase_over;

static uint64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static int pin(unsigned cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/* The calling thread's CPU time as this kernel counts it. */
static uint64_t thread_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct load {
	pthread_t thread;
	unsigned cpu, duty;
	bool pinned; /* it ran on its CPU (else it ended at once) */
};

/* The CPUs this process may run on (its affinity, taskset's). */
static cpu_set_t allowed;

/* A load thread: busy duty % of each LOAD_PERIOD_NS until the phase ends. */
static void *load_main(void *arg)
{
	struct load *l = arg;
	l->pinned = pin(l->cpu) == 0;
	if (!l->pinned)
		return NULL;
	uint64_t busy = (uint64_t)LOAD_PERIOD_NS * l->duty / 100;
	while (!atomic_load_explicit(&phase_over, memory_order_relaxed)) {
		uint64_t start = now_ns(), end = start + LOAD_PERIOD_NS;
		while (now_ns() - start < busy)
			;
		if (l->duty < 100) {
			struct timespec t = {(time_t)(end / 1000000000u),
					     (long)(end % 1000000000u)};
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		}
	}
	return NULL;
}

/* The probe, on the calling thread (already pinned): fills p's gaps. */
static void probe(const struct config *c, struct phase *p)
{
	uint64_t start = now_ns(), end = start + (uint64_t)(c->seconds * 1e9);
	uint64_t prev = start, prev_cpu = thread_ns();
	for (;;) {
		uint64_t t = now_ns(), cpu = thread_ns(), gap = t - prev, ran = cpu - prev_cpu;
		prev = t;
		prev_cpu = cpu;
		if (t >= end)
			break;
		if (gap < GAP_NS_MIN)
			continue;
		bool host = ran >= gap / 2;
		p->gaps++;
		p->lost_ns += gap;
		p->host_lost_ns += host ? gap : 0;
		if (gap > p->longest_ns)
			p->longest_ns = gap;
		p->gaps_long += gap >= GAP_NS_LONG;
		p->gaps_stall += gap >= GAP_NS_STALL;
		p->host_gaps_long += gap >= GAP_NS_LONG && host;
	}
	p->seconds = (double)(prev - start) / 1e9;
}

/* One phase: load threads on every allowed CPU but the probe's, at duty;
 * -1 when none could run there. */
static int run_phase(const struct config *c, unsigned duty, struct phase *p)
{
	static struct load loads[LOAD_THREADS_MAX];
	unsigned n = 0, others = 0;
	*p = (struct phase){.duty = duty};
	atomic_store(&phase_over, 0);
	for (unsigned cpu = 0; duty && cpu < LOAD_THREADS_MAX; cpu++) {
		if (cpu == c->cpu || !CPU_ISSET(cpu, &allowed))
			continue;
		others++;
		loads[n] = (struct load){.cpu = cpu, .duty = duty};
		int rc = pthread_create(&loads[n].thread, NULL, load_main, &loads[n]);
		if (rc) {
			fprintf(stderr, "bench-cpu: a load thread: %s\n", strerror(rc));
			break;
		}
		n++;
	}
	probe(c, p);
	atomic_store(&phase_over, 1);
	for (unsigned i = 0; i < n; i++) {
		pthread_join(loads[i].thread, NULL);
		p->load_cpus += loads[i].pinned;
	}
	return others && !p->load_cpus ? -1 : 0;
}

/* ns as a share of the phase, in percent */
static double pct(const struct phase *p, uint64_t ns)
{
	return p->seconds > 0 ? 100.0 * (double)ns / (p->seconds * 1e9) : 0.0;
}

static void print_phase(FILE *f, const struct config *c, const struct phase *p)
{
	fprintf(f,
		"{\"bench\":\"cpu\",\"probe_cpu\":%u,\"load_cpus\":%u,\"duty_pct\":%u,"
		"\"seconds\":%.2f,\"gaps_over_1ms\":%llu,\"gaps_over_10ms\":%llu,"
		"\"gaps_over_50ms\":%llu,\"host_gaps_over_10ms\":%llu,\"longest_ms\":%.1f,"
		"\"lost_pct\":%.2f,\"host_lost_pct\":%.2f}\n",
		c->cpu, p->load_cpus, p->duty, p->seconds, (unsigned long long)p->gaps,
		(unsigned long long)p->gaps_long, (unsigned long long)p->gaps_stall,
		(unsigned long long)p->host_gaps_long, (double)p->longest_ns / 1e6,
		pct(p, p->lost_ns), pct(p, p->host_lost_ns));
}

/* An OPT_FN: "0,75,100" into the config's duty list. */
static const char *parse_duties(const char *arg, void *dst)
{
	static const char why[] = DUTIES_WHY;
	struct config *c = dst;
	const char *s = arg;
	c->n_duty = 0;
	for (;;) {
		char *end;
		if (*s < '0' || *s > '9' || c->n_duty == DUTIES_MAX)
			return why;
		errno = 0;
		unsigned long v = strtoul(s, &end, 10);
		if (errno || v > 100)
			return why;
		c->duty[c->n_duty++] = (unsigned)v;
		if (!*end)
			return NULL;
		if (*end != ',')
			return why;
		s = end + 1;
	}
}

/* 0, OPTS_HELP (printed) or OPTS_BAD (shown). */
static int parse(int argc, char **argv, struct config *c)
{
	unsigned last = 0;
	if (sched_getaffinity(0, sizeof allowed, &allowed))
		CPU_ZERO(&allowed);
	for (unsigned cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &allowed))
			last = cpu;
	const struct opt options[] = {
		OPT_REAL("seconds", "S", &c->seconds, 1,
			 "each phase's length (default 10, at most " OPTS_STR(SECONDS_MAX) ")"),
		OPT_FN("duties", "LIST", c, parse_duties,
		       "the other CPUs' load per phase, percent of each 10 ms\n"
		       "busy (default 0,50,75,90,100; 0: idle)"),
		OPT_UINT("cpu", "N", &c->cpu, 0, CPU_SETSIZE - 1,
			 "the probe's CPU (default the last one this process\n"
			 "may run on; the load threads take the others)"),
		OPT_FLAG("json", &c->json, "only the JSON lines on stdout (the table on stderr)"),
	};
	const struct opts_cmd cmd = OPTS_CMD(
		"bench-cpu",
		"How long a pinned thread that never sleeps goes without running, with the\n"
		"other CPUs idle or busy: the gaps over 1 ms, 10 ms and 50 ms, the longest,\n"
		"the share of time lost, and which gaps were the host's (this kernel counted\n"
		"them as the thread's running time: the virtual CPU did not run). One JSON\n"
		"line per phase.\n",
		options);
	*c = (struct config){.seconds = 10, .duty = {0, 50, 75, 90, 100}, .n_duty = 5, .cpu = last};
	int rc = opts_parse(&cmd, argc, argv);
	if (rc)
		return rc;
	char what[64];
	if (c->seconds > SECONDS_MAX) {
		snprintf(what, sizeof what, "--seconds %g", c->seconds);
		return opts_bad(&cmd, what, "not a number in (0, " OPTS_STR(SECONDS_MAX) "]");
	}
	if (pin(c->cpu)) {
		snprintf(what, sizeof what, "--cpu %u", c->cpu);
		return opts_bad(&cmd, what, "not a CPU this process may run on");
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct config c = {0};
	struct phase p[DUTIES_MAX];
	int rc = parse(argc, argv, &c);
	if (rc)
		return rc == OPTS_HELP ? 0 : rc;
	FILE *table = c.json ? stderr : stdout;
	fprintf(table, "%-5s %-9s %8s %8s %8s %8s %11s %8s %8s\n", "duty", "load CPUs", ">1ms",
		">10ms", ">50ms", "host>10", "longest ms", "lost %", "host %");
	int failed = 0;
	for (unsigned i = 0; i < c.n_duty; i++) {
		if (run_phase(&c, c.duty[i], &p[i]))
			failed = 1;
		fprintf(table, "%-5u %-9u %8llu %8llu %8llu %8llu %11.1f %8.2f %8.2f\n", p[i].duty,
			p[i].load_cpus, (unsigned long long)p[i].gaps,
			(unsigned long long)p[i].gaps_long, (unsigned long long)p[i].gaps_stall,
			(unsigned long long)p[i].host_gaps_long, (double)p[i].longest_ns / 1e6,
			pct(&p[i], p[i].lost_ns), pct(&p[i], p[i].host_lost_ns));
		fflush(table);
	}
	for (unsigned i = 0; i < c.n_duty; i++)
		print_phase(stdout, &c, &p[i]);
	return failed;
}
