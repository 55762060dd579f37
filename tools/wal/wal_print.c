/*
 * wal_print.c — one WAL record as one line of text or JSON, shared by dump,
 * follow and dump --file; and the record filter (LSN range, event, types).
 *
 * What each record type shows is a table of fields (name, kind, where in
 * the decoded struct rec), so text and JSON can never disagree and a new
 * record type is one table entry. Text lines are key=value pairs after the
 * LSN, shard, time and type; JSON lines are objects with the same keys.
 * 64-bit ids are hex strings in JSON ("0x..."), customer ids decimal
 * strings: JSON readers in JavaScript lose integers above 2^53. Amounts are
 * integers in minor currency units, as core keeps them.
 */
#include "tools/wal/wal_tool.h"

#include <assert.h>
#include <inttypes.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

enum kind {
	K_UINT,    /* unsigned integer of size bytes */
	K_ID,      /* u64 id, hex */
	K_CUST,    /* u64 customer id, decimal */
	K_TIME,    /* u64 ms since the epoch; 0: none */
	K_STR,     /* char[size], NUL padded */
	K_CHANNEL, /* u8 enum channel */
	K_KIND,    /* u8 enum tier_kind */
	K_STATE,   /* u8 enum event_state */
	K_BOOL,    /* u8 */
	K_SEAT,    /* u32 seat index, SEAT_NONE: ga */
	K_SEATS,   /* hold seats (qty of them), absent for GA holds */
	K_HASH,    /* 32-byte hash: the first 8 bytes, hex */
};

struct field {
	const char *name;
	uint8_t kind;
	uint8_t size;
	uint16_t off; /* in struct rec */
};

/* initializer macros stay as written: clang-format 14 would make blocks of them */
// clang-format off
#define F(name, kind, member) {name, kind, sizeof(((struct rec *)0)->member), offsetof(struct rec, member)}
// clang-format on
#define FIELDS_MAX 12

static const struct field event_fields[FIELDS_MAX] = {
	F("state", K_STATE, event.state),
	F("name", K_STR, event.name),
	F("venue", K_STR, event.venue),
	F("customer_limit", K_UINT, event.customer_limit),
	F("hold_ttl_ms", K_UINT, event.hold_ttl_ms),
	F("units_max", K_UINT, event.units_max),
	F("starts_at", K_TIME, event.starts_at_ms),
	F("presale_start", K_TIME, event.presale_start_ms),
	F("public_start", K_TIME, event.public_start_ms),
	F("sales_end", K_TIME, event.sales_end_ms),
};

static const struct field hold_end_fields[FIELDS_MAX] = {F("hold", K_ID, end.hold_id)};

static const struct field stock_fields[FIELDS_MAX] = {
	F("transfer", K_ID, stock.transfer_id),
	F("tier", K_UINT, stock.tier),
	F("qty", K_UINT, stock.qty),
	F("peer_shard", K_UINT, stock.peer_shard),
};

static const struct field *const type_fields[CMD_TYPE_MAX] = {
	[CMD_EVENT_CREATE] = event_fields,
	[CMD_EVENT_UPDATE] = event_fields,
	[CMD_TIER_ADD] = (const struct field[FIELDS_MAX]){F("tier", K_UINT, tier.tier),
							  F("kind", K_KIND, tier.kind),
							  F("capacity", K_UINT, tier.capacity),
							  F("price_minor", K_UINT,
							    tier.price_minor),
							  F("low_stock_threshold", K_UINT,
							    tier.low_stock_threshold),
							  F("name", K_STR, tier.name)},
	[CMD_SECTION_LOAD] = (const struct field[FIELDS_MAX]){F("section", K_UINT, section.section),
							      F("rows", K_UINT, section.row_count),
							      F("seats", K_UINT,
								section.seat_count),
							      F("name", K_STR, section.name)},
	[CMD_PRESALE_CODE_ADD] =
		(const struct field[FIELDS_MAX]){F("code_index", K_UINT, code.code_index),
						 F("use_limit", K_UINT, code.use_limit),
						 F("code_hash", K_HASH, code.hash)},
	/* no payload: the summary kept is the state's, at this point */
	[CMD_EVENT_RETIRE] = (const struct field[FIELDS_MAX]){{0}},
	[CMD_HOLD] = (const struct field[FIELDS_MAX]){F("hold", K_ID, hold.hold_id),
						      F("customer", K_CUST, hold.customer_id),
						      F("tier", K_UINT, hold.tier),
						      F("channel", K_CHANNEL, hold.channel),
						      F("qty", K_UINT, hold.qty),
						      F("seats", K_SEATS, hold.seats),
						      F("expires_at", K_TIME, hold.expires_at_ms),
						      F("idem_key", K_ID, hold.idem_key),
						      F("code_index", K_UINT, hold.code_index)},
	[CMD_HOLD_EXTEND] = (const struct field[FIELDS_MAX]){F("hold", K_ID, extend.hold_id),
							     F("expires_at", K_TIME,
							       extend.expires_at_ms)},
	[CMD_HOLD_RELEASE] = hold_end_fields,
	[CMD_HOLD_EXPIRE] = hold_end_fields,
	[CMD_CONFIRM] =
		(const struct field[FIELDS_MAX]){F("hold", K_ID, confirm.hold_id),
						 F("amount_minor", K_UINT, confirm.amount_minor),
						 F("first_ticket", K_ID, confirm.first_ticket_id),
						 F("payment_ref", K_STR, confirm.payment_ref)},
	[CMD_REDEEM] = (const struct field[FIELDS_MAX]){F("ticket", K_ID, redeem.ticket_id),
							F("gate", K_UINT, redeem.gate_id)},
	[CMD_REFUND] = (const struct field[FIELDS_MAX]){F("ticket", K_ID, refund.ticket_id),
							F("fee_minor", K_UINT, refund.fee_minor),
							F("kill", K_BOOL, refund.kill)},
	[CMD_EXCHANGE] =
		(const struct field[FIELDS_MAX]){F("ticket", K_ID, exchange.ticket_id),
						 F("new_ticket", K_ID, exchange.new_ticket_id),
						 F("tier", K_UINT, exchange.tier),
						 F("seat", K_SEAT, exchange.seat),
						 F("price_minor", K_UINT, exchange.price_minor)},
	[CMD_STOCK_OUT] = stock_fields,
	[CMD_STOCK_IN] = stock_fields,
	/* the last transfer to peer_shard the taker has durable */
	[CMD_STOCK_ACK] = (const struct field[FIELDS_MAX]){F("transfer", K_ID, stock.transfer_id),
							   F("peer_shard", K_UINT,
							     stock.peer_shard)},
	/* an exchange to another shard's seat: the ticket's shard */
	[CMD_XCHG_OUT] = (const struct field[FIELDS_MAX]){F("ticket", K_ID, xchg.ticket_id),
							  F("peer_shard", K_UINT, xchg.peer_shard),
							  F("tier", K_UINT, xchg.tier),
							  F("seat", K_SEAT, xchg.seat)},
	/* the seat's shard: a confirmed one-ticket order */
	[CMD_XCHG_IN] = (const struct field[FIELDS_MAX]){F("ticket", K_ID, xchg.ticket_id),
							 F("order", K_ID, xchg.new_id),
							 F("customer", K_CUST, xchg.customer_id),
							 F("peer_shard", K_UINT, xchg.peer_shard),
							 F("tier", K_UINT, xchg.tier),
							 F("seat", K_SEAT, xchg.seat),
							 F("channel", K_CHANNEL, xchg.channel),
							 F("price_minor", K_UINT,
							   xchg.price_minor)},
	[CMD_XCHG_END] = (const struct field[FIELDS_MAX]){F("ticket", K_ID, xchg.ticket_id),
							  F("new_ticket", K_ID, xchg.new_id),
							  F("status", K_UINT, xchg.status)},
};

static const char *const channel_names[CHANNELS] = {"online", "box_office", "kiosk"};
static const char *const kind_names[] = {"ga", "reserved"};
static const char *const state_names[EVENT_STATE_COUNT] = {"draft", "on_sale", "paused", "closed"};

static const char *name_of(const char *const *names, unsigned count, unsigned v)
{
	return v < count ? names[v] : "unknown";
}

static uint64_t get_uint(const uint8_t *p, uint8_t size)
{
	uint8_t v8;
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (size) {
	case 1: memcpy(&v8, p, 1); return v8;
	case 2: memcpy(&v16, p, 2); return v16;
	case 4: memcpy(&v32, p, 4); return v32;
	default:
		assert(size == 8);
		memcpy(&v64, p, 8);
		return v64;
	}
}

void wt_format_time(char *out, size_t cap, uint64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	char day[24];

	gmtime_r(&s, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, cap, "%s.%03uZ", day, (unsigned)(ms % 1000));
}

static void print_json_string(FILE *out, const char *s, size_t max)
{
	fputc('"', out);
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* A text value: no spaces (names get underscores would lose data, so
 * strings are quoted when they hold anything but plain characters). */
static void print_text_string(FILE *out, const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	int plain = n > 0;

	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] == '"' || s[i] >= 0x7f)
			plain = 0;
	if (plain)
		fprintf(out, "%.*s", (int)n, s);
	else
		print_json_string(out, s, max);
}

static void print_seats(FILE *out, const struct rec *r, bool json)
{
	fputs(json ? "[" : "", out);
	for (uint8_t i = 0; i < r->hold.qty; i++)
		fprintf(out, "%s%" PRIu32, i ? "," : "", r->hold.seats[i]);
	fputs(json ? "]" : "", out);
}

/* The value of one field (text or JSON). */
static void print_value(FILE *out, const struct field *fd, const struct rec *r, bool json)
{
	const uint8_t *p = (const uint8_t *)r + fd->off;
	uint64_t v = fd->kind == K_STR || fd->kind == K_SEATS || fd->kind == K_HASH
			     ? 0
			     : get_uint(p, fd->size);
	const char *q = json ? "\"" : "";
	char when[40];

	switch (fd->kind) {
	case K_UINT: fprintf(out, "%" PRIu64, v); break;
	case K_ID: fprintf(out, "%s0x%016" PRIx64 "%s", q, v, q); break;
	case K_CUST: fprintf(out, "%s%" PRIu64 "%s", q, v, q); break;
	case K_TIME:
		if (json)
			fprintf(out, "%" PRIu64, v);
		else if (!v)
			fputs("none", out);
		else
			wt_format_time(when, sizeof when, v), fputs(when, out);
		break;
	case K_STR:
		(json ? print_json_string : print_text_string)(out, (const char *)p, fd->size);
		break;
	case K_CHANNEL:
		fprintf(out, "%s%s%s", q, name_of(channel_names, CHANNELS, (unsigned)v), q);
		break;
	case K_KIND: fprintf(out, "%s%s%s", q, name_of(kind_names, 2, (unsigned)v), q); break;
	case K_STATE:
		fprintf(out, "%s%s%s", q, name_of(state_names, EVENT_STATE_COUNT, (unsigned)v), q);
		break;
	case K_BOOL: fputs(v ? "true" : "false", out); break;
	case K_SEAT:
		if (v == SEAT_NONE)
			fprintf(out, "%sga%s", q, q);
		else
			fprintf(out, "%" PRIu64, v);
		break;
	case K_SEATS: print_seats(out, r, json); break;
	case K_HASH:
		fputs(q, out);
		for (int i = 0; i < 8; i++)
			fprintf(out, "%02x", p[i]);
		fputs(q, out);
		break;
	}
}

static bool field_shown(const struct field *fd, const struct rec *r)
{
	if (fd->kind == K_SEATS)
		return r->hold.seats[0] != SEAT_NONE;
	if (fd->off == offsetof(struct rec, hold.idem_key) && r->type == CMD_HOLD)
		return r->hold.idem_key != 0;
	if (fd->off == offsetof(struct rec, hold.code_index) && r->type == CMD_HOLD)
		return r->hold.code_index != PRESALE_CODE_NONE;
	return true;
}

static void print_head(FILE *out, uint8_t shard, uint64_t lsn, uint64_t now_ms, const char *type,
		       bool json)
{
	char when[40];

	wt_format_time(when, sizeof when, now_ms);
	if (json)
		fprintf(out,
			"{\"lsn\":%" PRIu64 ",\"shard\":%u,\"time_ms\":%" PRIu64
			",\"time\":\"%s\",\"type\":\"%s\"",
			lsn, shard, now_ms, when, type);
	else
		fprintf(out, "lsn=%" PRIu64 " shard=%u time=%s %s", lsn, shard, when, type);
}

void wt_print_record(FILE *out, uint8_t shard, uint64_t lsn, const struct rec *r, bool json)
{
	const struct field *fields = r->type < CMD_TYPE_MAX ? type_fields[r->type] : NULL;

	print_head(out, shard, lsn, r->now_ms, rec_type_name(r->type), json);
	fprintf(out, json ? ",\"event\":%" PRIu32 : " event=%" PRIu32, r->event_id);
	for (int i = 0; fields && i < FIELDS_MAX && fields[i].name; i++) {
		const struct field *fd = &fields[i];
		bool time = fd->kind == K_TIME && json;

		if (!field_shown(fd, r))
			continue;
		fprintf(out, json ? ",\"%s%s\":" : " %s%s=", fd->name, time ? "_ms" : "");
		print_value(out, fd, r, json);
	}
	fputs(json ? "}\n" : "\n", out);
}

void wt_print_undecodable(FILE *out, uint8_t shard, uint64_t lsn, uint32_t body_bytes, bool json)
{
	if (json)
		fprintf(out,
			"{\"lsn\":%" PRIu64
			",\"shard\":%u,\"type\":\"undecodable\",\"bytes\":%u}\n",
			lsn, shard, body_bytes);
	else
		fprintf(out, "lsn=%" PRIu64 " shard=%u undecodable bytes=%u\n", lsn, shard,
			body_bytes);
}

/* ---- filter ---- */

void wt_filter_from_opts(struct wt_filter *f, const struct wt_opts *o)
{
	f->from_lsn = o->from_lsn;
	f->to_lsn = o->to_lsn;
	f->event_id = o->event_id;
	f->has_event = o->has_event;
	f->type_mask = o->type_mask;
}

bool wt_filter_match(const struct wt_filter *f, uint64_t lsn, const struct rec *r)
{
	if (lsn < f->from_lsn || lsn > f->to_lsn)
		return false;
	if (f->has_event && r->event_id != f->event_id)
		return false;
	return !f->type_mask || (r->type < 64 && (f->type_mask >> r->type & 1));
}

void wt_print_body(FILE *out, const struct wt_filter *flt, uint8_t shard, uint64_t lsn,
		   const uint8_t *body, uint32_t body_bytes, bool json)
{
	struct rec r;

	if (rec_decode(body, body_bytes, &r) != ST_OK) {
		if (lsn >= flt->from_lsn && lsn <= flt->to_lsn && !flt->has_event &&
		    !flt->type_mask)
			wt_print_undecodable(out, shard, lsn, body_bytes, json);
		return;
	}
	if (wt_filter_match(flt, lsn, &r))
		wt_print_record(out, shard, lsn, &r, json);
}

/* The ticket r revokes and why, or 0. An exchange to another shard
 * revokes its ticket at XCHG_END with status 0 (XCHG_OUT only marks it
 * leaving; another status gives it back). */
static uint64_t revoked_by(const struct rec *r, const char **reason, uint64_t *new_id)
{
	*new_id = 0;
	switch (r->type) {
	case CMD_REFUND:
		*reason = r->refund.kill ? "refund_kill" : "refund";
		return r->refund.ticket_id;
	case CMD_EXCHANGE:
		*reason = "exchange";
		*new_id = r->exchange.new_ticket_id;
		return r->exchange.ticket_id;
	case CMD_XCHG_END:
		*reason = "exchange";
		*new_id = r->xchg.new_id;
		return r->xchg.status == ST_OK ? r->xchg.ticket_id : 0;
	default: return 0;
	}
}

bool wt_print_revocation(FILE *out, const struct wt_filter *flt, uint8_t shard, uint64_t lsn,
			 const uint8_t *body, uint32_t body_bytes, bool json)
{
	const char *reason = NULL;
	uint64_t ticket, new_id;
	struct rec r;

	if (rec_decode(body, body_bytes, &r) != ST_OK || !wt_filter_match(flt, lsn, &r))
		return false;
	ticket = revoked_by(&r, &reason, &new_id);
	if (!ticket)
		return false;
	print_head(out, shard, lsn, r.now_ms, "revoked", json);
	fprintf(out,
		json ? ",\"event\":%" PRIu32 ",\"ticket\":\"0x%016" PRIx64 "\",\"reason\":\"%s\""
		     : " event=%" PRIu32 " ticket=0x%016" PRIx64 " reason=%s",
		r.event_id, ticket, reason);
	if (new_id)
		fprintf(out,
			json ? ",\"new_ticket\":\"0x%016" PRIx64 "\"" : " new_ticket=0x%016" PRIx64,
			new_id);
	fputs(json ? "}\n" : "\n", out);
	return true;
}

int wt_type_mask_parse(const char *names, uint64_t *mask)
{
	char buf[512];
	char *save = NULL;

	if (snprintf(buf, sizeof buf, "%s", names) >= (int)sizeof buf)
		return -1;
	*mask = 0;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int t = 0;

		while (t < CMD_TYPE_MAX &&
		       (!type_fields[t] || strcmp(rec_type_name((uint8_t)t), tok)))
			t++;
		if (t == CMD_TYPE_MAX) {
			fprintf(stderr, "onsale-wal: unknown record type '%s' (known: ", tok);
			wt_type_names_print(stderr);
			fputs(")\n", stderr);
			return -1;
		}
		*mask |= 1ull << t;
	}
	return *mask ? 0 : -1;
}

void wt_type_names_print(FILE *out)
{
	const char *sep = "";

	for (int t = 0; t < CMD_TYPE_MAX; t++) {
		if (type_fields[t]) {
			fprintf(out, "%s%s", sep, rec_type_name((uint8_t)t));
			sep = ",";
		}
	}
}
