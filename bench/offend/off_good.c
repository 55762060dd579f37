/*
 * off_good.c — the well-behaved platform client of onsale-offend: one
 * connection, open loop. A hold of one GA unit starts every 1/rate
 * seconds on schedule whatever the server does (so a slow server shows as
 * latency, not as fewer requests), and each hold that comes back ok is
 * confirmed at once. Latency runs from the hold's intended start to its
 * reply, and from the confirm's submission to its reply: what a buyer
 * would wait. It samples the server's RSS while it runs. After the phase
 * it waits OFF_GOOD_DRAIN_MS for the replies still to come and counts
 * those that do not (onsale-offend.c fails the phase then).
 */
#include <assert.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>

#include "bench/common/load.h"
#include "bench/offend/offend.h"

/* Requests in flight at most; a server that falls this far behind shows
 * as errors (the schedule is not held back). */
#define GOOD_WINDOW 1024u
#define RSS_SAMPLE_NS (200u * 1000000u)
#define CUSTOMER_BASE 1000000000ull
#define COOKIE_CONFIRM (1ull << 63)

static pthread_t thread;

struct good_arg {
	const struct off_env *env;
	struct off_good *g;
	struct off_good_run *run;
	uint64_t end_ns;
};
static struct good_arg arg;

int off_good_open(const struct off_env *env, struct off_good *g)
{
	struct onsale_options opt = {.window = GOOD_WINDOW};
	g->customer_next = CUSTOMER_BASE;
	return onsale_open(env->host, env->port, ONSALE_ROLE_PLATFORM,
			   env->keys[ONSALE_ROLE_PLATFORM], &opt, &g->c);
}

static void failed(struct off_good_run *run, int rc)
{
	unsigned st = rc >= 0 && rc < (int)OFF_STATUS_SLOTS ? (unsigned)rc : OFF_STATUS_SLOTS - 1;
	run->status[st]++;
	load_count(&run->errors, 1);
}

static void submit_hold(const struct off_env *env, struct off_good *g, struct off_good_run *run,
			uint64_t due_ns)
{
	struct cmd cmd;
	uint64_t customer = g->customer_next++;
	onsale_prep_hold_ga(&cmd, env->event_id, OFF_TIER_GOOD, 1, customer, customer);
	int rc = onsale_submit(g->c, &cmd, due_ns, NULL);
	if (rc)
		failed(run, rc);
}

static void completed(const struct off_env *env, struct off_good *g, struct off_good_run *run,
		      const struct onsale_completion *d)
{
	uint64_t now = load_now_ns();
	uint64_t started = d->cookie & ~COOKIE_CONFIRM;
	if (!(d->cookie & COOKIE_CONFIRM) && d->rc >= 0)
		run->hold_replies++;
	if (d->rc != ST_OK) {
		failed(run, d->rc);
		return;
	}
	hist_record(&run->hist, now > started ? now - started : 0);
	if (d->cookie & COOKIE_CONFIRM) {
		load_count(&run->confirms, 1);
		g->n_confirmed_all++;
		if (g->n_confirmed < OFF_CONFIRMS_MAX)
			g->confirmed[g->n_confirmed++] = d->res.hold.hold_id;
		return;
	}
	load_count(&run->holds, 1);
	struct cmd cmd;
	onsale_prep_confirm(&cmd, env->event_id, d->res.hold.hold_id, 5000, "offend");
	int rc = onsale_submit(g->c, &cmd, now | COOKIE_CONFIRM, NULL);
	if (rc)
		failed(run, rc);
}

/* Waits for replies until at most until_ns; handles what came. */
static int reap(struct good_arg *a, uint64_t until_ns)
{
	struct onsale_completion done[64];
	long pending = onsale_flush(a->g->c);
	uint64_t now = load_now_ns();
	int wait_ms = until_ns > now ? (int)((until_ns - now) / 1000000u) : 0;
	struct pollfd p = {.fd = onsale_fd(a->g->c),
			   .events = POLLIN | (pending > 0 ? POLLOUT : 0)};
	if (pending < 0)
		return (int)pending;
	poll(&p, 1, wait_ms);
	/* replies already read may wait in the library's buffer */
	for (int round = 0; round < 1024; round++) {
		int n = onsale_poll(a->g->c, done, 64, 0);
		for (int i = 0; i < n; i++)
			completed(a->env, a->g, a->run, &done[i]);
		if (n < 64)
			return n < 0 ? n : 0;
	}
	return 0;
}

static void *run_good(void *p)
{
	struct good_arg *a = p;
	uint64_t step = (uint64_t)(1e9 / a->env->rate), next = load_now_ns(), rss_at = 0;
	for (uint64_t now; (now = load_now_ns()) < a->end_ns;) {
		while (next <= now && next < a->end_ns) {
			submit_hold(a->env, a->g, a->run, next);
			next += step;
		}
		if (now >= rss_at) {
			uint64_t kib = off_venue_rss_kib(a->env);
			a->run->rss_max_kib = kib > a->run->rss_max_kib ? kib : a->run->rss_max_kib;
			rss_at = now + RSS_SAMPLE_NS;
		}
		int rc = reap(a, next < a->end_ns ? next : a->end_ns);
		if (rc < 0) {
			a->run->lost = rc; /* the next phase connects again */
			return NULL;
		}
	}
	uint64_t drain_end = load_now_ns() + (uint64_t)OFF_GOOD_DRAIN_MS * 1000000u;
	while (onsale_inflight(a->g->c) && load_now_ns() < drain_end) {
		int rc = reap(a, drain_end);
		if (rc < 0) {
			a->run->lost = rc;
			return NULL;
		}
	}
	a->run->unanswered = onsale_inflight(a->g->c);
	return NULL;
}

int off_good_start(const struct off_env *env, struct off_good *g, struct off_good_run *run,
		   uint64_t end_ns)
{
	assert(env->rate > 0 && g->c);
	arg = (struct good_arg){.env = env, .g = g, .run = run, .end_ns = end_ns};
	return -pthread_create(&thread, NULL, run_good, &arg);
}

void off_good_join(void)
{
	pthread_join(thread, NULL);
}
