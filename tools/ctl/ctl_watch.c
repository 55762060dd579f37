/*
 * ctl_watch.c — live figures of one event: stats (a table per tier, with
 * channels), watch (the same table refreshed, with low-stock alerts as
 * tiers cross their thresholds) and report (CSV by tier and channel).
 *
 * A sample is Q_AVAILABILITY (free, held, sold, killed, low-stock per
 * tier) plus Q_STATS for each defined tier (held, sold, revenue, redeemed,
 * refunded per channel): 1 + tiers round trips, each answered by summing
 * over shards, so a sample is not one instant of the whole server but
 * each tier's figures are.
 */
#include "tools/ctl/ctl.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct sample {
	uint64_t at_ms;
	struct availability_view avail;
	struct stats_view stats[TIERS_MAX];
};

static int take(struct ctl *c, uint32_t ev, struct sample *s)
{
	static struct result res;
	int rc = onsale_query_availability(c->conn, ev, &res);

	if (rc != ST_OK)
		return ctl_result(c, rc, "availability");
	s->at_ms = ctl_wall_ms();
	s->avail = res.avail;
	for (unsigned t = 0; t < s->avail.tier_count; t++) {
		memset(&s->stats[t], 0, sizeof s->stats[t]);
		if (!s->avail.tiers[t].defined)
			continue;
		rc = onsale_query_stats(c->conn, ev, (uint8_t)t, &res);
		if (rc != ST_OK)
			return ctl_result(c, rc, "stats");
		s->stats[t] = res.stats;
	}
	return 0;
}

static struct channel_stats sum(const struct stats_view *v)
{
	struct channel_stats a = {0};

	for (unsigned ch = 0; ch < CHANNELS; ch++) {
		a.held += v->channels[ch].held;
		a.sold += v->channels[ch].sold;
		a.revenue_minor += v->channels[ch].revenue_minor;
		a.redeemed += v->channels[ch].redeemed;
		a.refunded += v->channels[ch].refunded;
	}
	return a;
}

static void table(const struct sample *s)
{
	struct channel_stats all = {0};
	char r[32], when[32];

	printf("event %" PRIu32 " at %s\n%4s %-8s %9s %8s %8s %8s %8s %13s %8s %8s  %s\n",
	       s->avail.event_id, ctl_fmt_time(when, sizeof when, s->at_ms), "tier", "kind",
	       "capacity", "free", "held", "sold", "killed", "revenue", "redeemed", "refunded",
	       "alert");
	for (unsigned t = 0; t < s->avail.tier_count; t++) {
		const struct tier_view *v = &s->avail.tiers[t];
		struct channel_stats a = sum(&s->stats[t]);

		if (!v->defined)
			continue;
		printf("%4u %-8s %9" PRIu32 " %8" PRIu32 " %8" PRIu32 " %8" PRIu32 " %8" PRIu32
		       " %13s %8" PRIu64 " %8" PRIu64 "  %s\n",
		       t, v->kind == TIER_GA ? "ga" : "reserved", v->capacity, v->free, v->held,
		       v->sold, v->killed, ctl_fmt_money(r, sizeof r, a.revenue_minor), a.redeemed,
		       a.refunded, v->low_stock ? "LOW STOCK" : "");
		all.held += a.held, all.sold += a.sold, all.revenue_minor += a.revenue_minor;
		all.redeemed += a.redeemed, all.refunded += a.refunded;
	}
	printf("%4s %-8s %9s %8s %8" PRIu64 " %8" PRIu64 " %8s %13s %8" PRIu64 " %8" PRIu64 "\n",
	       "all", "", "", "", all.held, all.sold, "",
	       ctl_fmt_money(r, sizeof r, all.revenue_minor), all.redeemed, all.refunded);
}

static void channels(const struct sample *s)
{
	char r[32];

	printf("\n%4s %-10s %8s %8s %13s %8s %8s\n", "tier", "channel", "held", "sold", "revenue",
	       "redeemed", "refunded");
	for (unsigned t = 0; t < s->avail.tier_count; t++)
		for (unsigned ch = 0; s->avail.tiers[t].defined && ch < CHANNELS; ch++) {
			const struct channel_stats *x = &s->stats[t].channels[ch];
			if (x->held || x->sold || x->refunded)
				printf("%4u %-10s %8" PRIu64 " %8" PRIu64 " %13s %8" PRIu64
				       " %8" PRIu64 "\n",
				       t, ctl_channel_name(ch), x->held, x->sold,
				       ctl_fmt_money(r, sizeof r, x->revenue_minor), x->redeemed,
				       x->refunded);
		}
}

static void sample_json(const struct sample *s)
{
	struct ctl_json j = {.out = stdout};

	cj_open(&j, NULL, '{');
	cj_u64(&j, "event_id", s->avail.event_id);
	cj_u64(&j, "at_ms", s->at_ms);
	cj_open(&j, "tiers", '[');
	for (unsigned t = 0; t < s->avail.tier_count; t++) {
		const struct tier_view *v = &s->avail.tiers[t];
		if (!v->defined)
			continue;
		cj_open(&j, NULL, '{');
		cj_u64(&j, "tier", t);
		cj_u64(&j, "capacity", v->capacity);
		cj_u64(&j, "free", v->free);
		cj_u64(&j, "held", v->held);
		cj_u64(&j, "sold", v->sold);
		cj_u64(&j, "killed", v->killed);
		cj_bool(&j, "low_stock", v->low_stock);
		cj_open(&j, "channels", '{');
		for (unsigned ch = 0; ch < CHANNELS; ch++) {
			const struct channel_stats *x = &s->stats[t].channels[ch];
			cj_open(&j, ctl_channel_name(ch), '{');
			cj_u64(&j, "held", x->held);
			cj_u64(&j, "sold", x->sold);
			cj_money(&j, "revenue_minor", x->revenue_minor);
			cj_u64(&j, "redeemed", x->redeemed);
			cj_u64(&j, "refunded", x->refunded);
			cj_close(&j, '}');
		}
		cj_close(&j, '}');
		cj_close(&j, '}');
	}
	cj_close(&j, ']');
	cj_close(&j, '}');
}

static int event_of(struct ctl *c, uint32_t *ev)
{
	uint64_t x;

	if (ctl_u64(c->args[0], "event", 1, UINT32_MAX, &x))
		return CTL_EXIT_USAGE;
	*ev = (uint32_t)x;
	return ctl_connect(c);
}

static int stats(struct ctl *c)
{
	static struct sample s;
	uint32_t ev;
	int rc;

	if ((rc = event_of(c, &ev)) != 0 || (rc = take(c, ev, &s)) != 0)
		return rc;
	if (c->json)
		sample_json(&s);
	else
		table(&s), channels(&s);
	return 0;
}

/* Alerts for tiers that crossed below (or back above) their threshold. */
static void alerts(const struct sample *prev, const struct sample *s)
{
	char when[32];

	for (unsigned t = 0; t < s->avail.tier_count; t++) {
		const struct tier_view *v = &s->avail.tiers[t];
		int was = prev && t < prev->avail.tier_count && prev->avail.tiers[t].low_stock;

		if (v->defined && v->low_stock != was && (v->low_stock || prev))
			printf("%s ALERT tier %u %s: %" PRIu32 " free, threshold %" PRIu32 "\n",
			       ctl_fmt_time(when, sizeof when, s->at_ms), t,
			       v->low_stock ? "low stock" : "back above its threshold", v->free,
			       v->low_stock_threshold);
	}
}

static int watch(struct ctl *c)
{
	static struct sample s[2];
	const char *every = ctl_opt(c, "interval"), *count = ctl_opt(c, "count");
	uint64_t interval_ms = 2000, n = 0;
	int tty = isatty(STDOUT_FILENO), rc;
	uint32_t ev;

	if ((every && ctl_duration(every, "--interval", &interval_ms)) ||
	    (count && ctl_u64(count, "--count", 1, UINT32_MAX, &n)))
		return CTL_EXIT_USAGE;
	if ((rc = event_of(c, &ev)) != 0)
		return rc;
	for (uint64_t i = 0; !n || i < n; i++) {
		struct sample *cur = &s[i & 1], *prev = i ? &s[(i + 1) & 1] : NULL;

		if ((rc = take(c, ev, cur)) != 0)
			return rc;
		if (c->json) {
			sample_json(cur);
		} else {
			if (tty)
				printf("\033[H\033[2J");
			table(cur);
			alerts(prev, cur);
		}
		fflush(stdout);
		if (n && i + 1 == n)
			break;
		struct timespec d = {(time_t)(interval_ms / 1000),
				     (long)(interval_ms % 1000) * 1000000};
		nanosleep(&d, NULL);
	}
	return 0;
}

static int report(struct ctl *c)
{
	static struct sample s;
	char hour[32], at[32];
	uint32_t ev;
	int rc;

	if ((rc = event_of(c, &ev)) != 0 || (rc = take(c, ev, &s)) != 0)
		return rc;
	if (c->json)
		return sample_json(&s), 0;
	ctl_fmt_time(hour, sizeof hour, s.at_ms - s.at_ms % 3600000u);
	ctl_fmt_time(at, sizeof at, s.at_ms);
	printf("hour_utc,sampled_at_utc,event,tier,channel,held_units,sold_units,"
	       "net_revenue_minor,redemptions,refunds\n");
	for (unsigned t = 0; t < s.avail.tier_count; t++)
		for (unsigned ch = 0; s.avail.tiers[t].defined && ch < CHANNELS; ch++) {
			const struct channel_stats *x = &s.stats[t].channels[ch];
			printf("%s,%s,%" PRIu32 ",%u,%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64
			       ",%" PRIu64 ",%" PRIu64 "\n",
			       hour, at, ev, t, ctl_channel_name(ch), x->held, x->sold,
			       x->revenue_minor, x->redeemed, x->refunded);
		}
	return 0;
}

static const struct ctl_opt watch_opts[] = {
	{"interval", "DURATION", "time between refreshes (default 2s)"},
	{"count", "N", "stop after N refreshes (default: until interrupted)"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_watch_cmds[] = {
	{"stats", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 1,
	 "Sales per tier (capacity, free, held, sold, killed, revenue, redeemed, refunded,\n"
	 "low-stock alert), then per tier and channel.",
	 NULL, stats},
	{"watch", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 1,
	 "The stats table, refreshed; a line for each tier that falls below its low-stock\n"
	 "threshold (or climbs back). --json prints one object per refresh.",
	 watch_opts, watch},
	{"report", "EVENT", 1, 1, ONSALE_ROLE_ADMIN, 1,
	 "Sales as CSV, one row per tier and channel: units held and sold, net revenue,\n"
	 "redemptions, refunds, as the live server counts them now; hour_utc is the hour of\n"
	 "the sample (run it hourly for an hourly series). The hour-by-hour history of\n"
	 "past sales comes from the WAL: onsale-wal report (docs/CTL.md). --json: as stats.",
	 NULL, report},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
