/*
 * wal_report.c — the report subcommand: sales as CSV, one row per hour
 * (UTC, of the record's time), event, tier and sales channel, summed over
 * every shard, from the data directory alone (no server needed).
 *
 * Each record is attributed with the state as it was just before it,
 * rebuilt by replay (wal_state.c): a confirm, release or expiry names only
 * a hold, a refund only a ticket, and the hold or ticket says tier, channel,
 * units and price. Columns (docs/OPERATIONS.md has the same list):
 *
 *   hour_utc           start of the hour, 2027-01-15T08:00:00Z
 *   event, tier, channel
 *   holds, held_units          holds taken, units in them
 *   confirms, sold_units       orders confirmed, tickets issued by them
 *   sales_minor                amounts paid at confirm
 *   releases, released_units   holds released by the buyer
 *   expiries, expired_units    holds that ran out
 *   refunds                    tickets refunded (one unit each)
 *   refund_fees_minor          fees kept on refunds
 *   refunded_minor             money returned (price - fee)
 *   redemptions                gate scans accepted
 *   exchanges_out, exchanges_in tickets exchanged away from / into the row
 *   net_revenue_minor          sales - refunded + exchange price changes;
 *                              summed over all hours it equals the live
 *                              revenue statistic of the tier and channel
 *
 * Only records still in the WAL count: sales folded into a snapshot before
 * the oldest segment kept are not in the report.
 */
#include "tools/wal/wal_tool.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>

#define HOUR_MS 3600000ull

enum col {
	C_HOLDS,
	C_HELD_UNITS,
	C_CONFIRMS,
	C_SOLD_UNITS,
	C_SALES,
	C_RELEASES,
	C_RELEASED_UNITS,
	C_EXPIRIES,
	C_EXPIRED_UNITS,
	C_REFUNDS,
	C_REFUND_FEES,
	C_REFUNDED,
	C_REDEMPTIONS,
	C_EXCHANGES_OUT,
	C_EXCHANGES_IN,
	C_NET_REVENUE,
	COLS
};

static const char *const col_names[COLS] = {
	"holds",         "held_units",    "confirms",          "sold_units",
	"sales_minor",   "releases",      "released_units",    "expiries",
	"expired_units", "refunds",       "refund_fees_minor", "refunded_minor",
	"redemptions",   "exchanges_out", "exchanges_in",      "net_revenue_minor",
};

struct row {
	uint64_t hour_ms;
	uint32_t event_id;
	uint8_t tier, channel;
	int64_t v[COLS];
};

struct report {
	struct row *rows;
	size_t count, cap;
	struct wt_filter filter;
	int oom;
};

/* Where a record's units belong. */
struct where {
	uint64_t hour_ms;
	uint32_t event_id;
	uint8_t tier, channel;
};

static struct row *row_of(struct report *rp, const struct where *w)
{
	for (size_t i = rp->count; i-- > 0;) {
		struct row *r = &rp->rows[i];

		if (r->hour_ms == w->hour_ms && r->event_id == w->event_id && r->tier == w->tier &&
		    r->channel == w->channel)
			return r;
	}
	if (rp->count == rp->cap) {
		size_t cap = rp->cap ? rp->cap * 2 : 256;
		struct row *rows = realloc(rp->rows, cap * sizeof *rows);

		if (!rows)
			return NULL;
		rp->rows = rows;
		rp->cap = cap;
	}
	memset(&rp->rows[rp->count], 0, sizeof rp->rows[0]);
	rp->rows[rp->count] = (struct row){w->hour_ms, w->event_id, w->tier, w->channel, {0}};
	return &rp->rows[rp->count++];
}

/* Adds values to columns: pairs of (column, value), ended by COLS. */
static void add(struct report *rp, const struct where *w, const int64_t *pairs)
{
	struct row *r = row_of(rp, w);

	if (!r) {
		rp->oom = 1;
		return;
	}
	for (; pairs[0] != COLS; pairs += 2)
		r->v[pairs[0]] += pairs[1];
}

static enum status ask(struct core *c, uint8_t type, uint32_t event_id, uint64_t id,
		       struct result *res)
{
	struct cmd q = {.type = type};
	uint8_t none[1];
	struct rec_buf rb = {none, 0, 0};

	q.ref.event_id = event_id;
	if (type == CMD_Q_TICKET)
		q.ticket.ticket_id = id;
	else
		q.ref.hold_id = id;
	return core_execute(c, &q, 0, res, &rb);
}

/* The hold's tier, channel and units. */
static int hold_where(struct core *c, const struct rec *r, uint64_t hold_id, struct where *w,
		      int64_t *units)
{
	struct result res;

	if (ask(c, CMD_Q_HOLD, r->event_id, hold_id, &res) != ST_OK)
		return -1;
	w->tier = res.hold.tier;
	w->channel = res.hold.channel;
	*units = res.hold.qty;
	return 0;
}

/* The ticket's tier, channel (its order's) and price. */
static int ticket_where(struct core *c, const struct rec *r, uint64_t ticket_id, struct where *w,
			int64_t *price)
{
	struct result res;
	int64_t units;

	if (ask(c, CMD_Q_TICKET, r->event_id, ticket_id, &res) != ST_OK)
		return -1;
	*price = (int64_t)res.ticket.price_minor;
	if (hold_where(c, r, res.ticket.order_id, w, &units))
		return -1;
	w->tier = res.ticket.tier;
	return 0;
}

static void count_hold_ref(struct report *rp, struct core *c, const struct rec *r, struct where *w)
{
	int64_t units;
	int confirm = r->type == CMD_CONFIRM, release = r->type == CMD_HOLD_RELEASE;

	if (hold_where(c, r, r->end.hold_id, w, &units))
		return;
	if (confirm)
		add(rp, w,
		    (const int64_t[]){C_CONFIRMS, 1, C_SOLD_UNITS, units, C_SALES,
				      (int64_t)r->confirm.amount_minor, C_NET_REVENUE,
				      (int64_t)r->confirm.amount_minor, COLS});
	else
		add(rp, w,
		    (const int64_t[]){release ? C_RELEASES : C_EXPIRIES, 1,
				      release ? C_RELEASED_UNITS : C_EXPIRED_UNITS, units, COLS});
}

static void count_ticket(struct report *rp, struct core *c, const struct rec *r, struct where *w)
{
	int64_t price, fee = (int64_t)r->refund.fee_minor;

	if (ticket_where(c, r, r->redeem.ticket_id, w, &price))
		return;
	if (r->type == CMD_REDEEM) {
		add(rp, w, (const int64_t[]){C_REDEMPTIONS, 1, COLS});
	} else if (r->type == CMD_REFUND) {
		add(rp, w,
		    (const int64_t[]){C_REFUNDS, 1, C_REFUND_FEES, fee, C_REFUNDED, price - fee,
				      C_NET_REVENUE, fee - price, COLS});
	} else {
		add(rp, w, (const int64_t[]){C_EXCHANGES_OUT, 1, C_NET_REVENUE, -price, COLS});
		w->tier = r->exchange.tier;
		add(rp, w,
		    (const int64_t[]){C_EXCHANGES_IN, 1, C_NET_REVENUE,
				      (int64_t)r->exchange.price_minor, COLS});
	}
}

/* An exchange to another shard's seat (core/xchg.c): the new ticket comes
 * in on the seat's shard (XCHG_IN, a one-ticket order at the tier's
 * price), the old one goes out on its own shard when the exchange ends
 * (XCHG_END, ok). XCHG_OUT changes no figure. */
static void count_xchg_in(struct report *rp, const struct rec *r, struct where *w)
{
	w->tier = r->xchg.tier;
	w->channel = r->xchg.channel;
	add(rp, w,
	    (const int64_t[]){C_EXCHANGES_IN, 1, C_NET_REVENUE, (int64_t)r->xchg.price_minor,
			      COLS});
}

static void count_xchg_end(struct report *rp, struct core *c, const struct rec *r, struct where *w)
{
	int64_t price;

	if (r->xchg.status != ST_OK || ticket_where(c, r, r->xchg.ticket_id, w, &price))
		return;
	add(rp, w, (const int64_t[]){C_EXCHANGES_OUT, 1, C_NET_REVENUE, -price, COLS});
}

static int count_record(void *ctx, struct core *c, uint64_t lsn, const struct rec *r)
{
	struct report *rp = ctx;
	struct where w = {r->now_ms / HOUR_MS * HOUR_MS, r->event_id, 0, 0};

	if (!wt_filter_match(&rp->filter, lsn, r))
		return 0;
	switch (r->type) {
	case CMD_HOLD:
		w.tier = r->hold.tier;
		w.channel = r->hold.channel;
		add(rp, &w, (const int64_t[]){C_HOLDS, 1, C_HELD_UNITS, r->hold.qty, COLS});
		break;
	case CMD_HOLD_RELEASE:
	case CMD_HOLD_EXPIRE:
	case CMD_CONFIRM: count_hold_ref(rp, c, r, &w); break;
	case CMD_REDEEM:
	case CMD_REFUND:
	case CMD_EXCHANGE: count_ticket(rp, c, r, &w); break;
	case CMD_XCHG_IN: count_xchg_in(rp, r, &w); break;
	case CMD_XCHG_END: count_xchg_end(rp, c, r, &w); break;
	}
	return rp->oom ? -1 : 0;
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->hour_ms != y->hour_ms)
		return x->hour_ms < y->hour_ms ? -1 : 1;
	if (x->event_id != y->event_id)
		return x->event_id < y->event_id ? -1 : 1;
	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	return (int)x->channel - (int)y->channel;
}

static const char *const channel_names[CHANNELS] = {"online", "box_office", "kiosk"};

static void print_csv(FILE *out, struct report *rp)
{
	char when[40];

	qsort(rp->rows, rp->count, sizeof rp->rows[0], cmp_row);
	fputs("hour_utc,event,tier,channel", out);
	for (int c = 0; c < COLS; c++)
		fprintf(out, ",%s", col_names[c]);
	fputc('\n', out);
	for (size_t i = 0; i < rp->count; i++) {
		const struct row *r = &rp->rows[i];

		wt_format_time(when, sizeof when, r->hour_ms);
		fprintf(out, "%.19sZ,%" PRIu32 ",%u,%s", when, r->event_id, r->tier,
			r->channel < CHANNELS ? channel_names[r->channel] : "unknown");
		for (int c = 0; c < COLS; c++)
			fprintf(out, ",%" PRId64, r->v[c]);
		fputc('\n', out);
	}
}

/* The oldest snapshot that covers at least up to lsn_min. */
struct oldest {
	uint64_t lsn_min, lsn;
};

static int note_snapshot(void *ctx, const char *name)
{
	struct oldest *o = ctx;
	unsigned long long lsn;
	int end = 0;

	if (sscanf(name, "snap-%20llu.osnp%n", &lsn, &end) == 1 && !name[end] &&
	    lsn >= o->lsn_min && lsn < o->lsn)
		o->lsn = lsn;
	return 0;
}

/* The report counts every record the WAL still holds, so it starts from
 * the state just before the oldest one: empty when the log starts at LSN 1,
 * else the oldest snapshot not older than that; records between the WAL's
 * start and that snapshot are left out (said on stderr). */
static int replay_for_report(struct wt_shard *sh, struct report *rp, struct wt_replay *r)
{
	struct wal_scan scan;
	struct oldest old = {0, WT_LSN_MAX};
	int rc = wal_read(&sh->st, sh->id, 0, NULL, NULL, &scan);

	if (!rc && scan.first_lsn > 1) {
		old.lsn_min = scan.first_lsn - 1;
		rc = storage_list(&sh->st, note_snapshot, &old);
	}
	if (rc) {
		fprintf(stderr, "onsale-wal: shard %u: reading the WAL: %s\n", sh->id,
			strerror(-rc));
		return -1;
	}
	if (scan.first_lsn <= 1)
		old.lsn = 0;
	else if (old.lsn > scan.first_lsn - 1 && old.lsn != WT_LSN_MAX)
		fprintf(stderr,
			"shard %u: records %" PRIu64 "..%llu are before the oldest snapshot "
			"kept: not in the report\n",
			sh->id, scan.first_lsn, (unsigned long long)old.lsn);
	return wt_replay_shard(sh, old.lsn, WT_LSN_MAX, count_record, rp, r);
}

int wt_cmd_report(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	struct report rp = {0};
	int worst = WT_EXIT_OK;

	wt_filter_from_opts(&rp.filter, o);
	for (size_t i = 0; i < n && worst != WT_EXIT_USAGE; i++) {
		struct wt_replay r;
		int ex;

		if (replay_for_report(&sh[i], &rp, &r)) {
			worst = WT_EXIT_USAGE;
			break;
		}
		wt_report_damage(sh[i].id, &r.scan);
		ex = r.refused != ST_OK ? WT_EXIT_CORRUPT : wt_exit_of_scan(r.scan.status);
		worst = ex > worst ? ex : worst;
		core_destroy(r.core);
	}
	if (worst != WT_EXIT_USAGE)
		print_csv(stdout, &rp);
	free(rp.rows);
	return worst;
}
