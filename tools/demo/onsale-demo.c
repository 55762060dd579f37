/*
 * onsale-demo.c — an on-sale, in process, start to sold out, narrated.
 *
 * Builds an arena (20,000 reserved seats in four price tiers plus a 5,000-unit
 * GA floor), lets simulated buyers race for it on a simulated clock (holds by
 * best available and GA, 80 % confirmed, 10 % released, 10 % abandoned and
 * left to expire), then shows what a platform would see: availability, sales
 * by tier and channel, a ticket with its signed token verified, a gate scan
 * and a refused second scan, and finally replays every WAL record the sale
 * produced on a fresh state and compares state hashes.
 */
#include <inttypes.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/token.h"
#include "tools/demo/demo_arena.h"

static uint8_t rec[RECORD_BYTES_MAX];
static uint8_t *wal;
static size_t wal_len, wal_cap, wal_records;
static uint64_t rng = 42;
static uint64_t first_ticket_id; /* of the first confirm: the ticket shown */

static uint64_t rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static enum status run(struct core *c, const struct cmd *cmd, uint64_t now, struct result *res)
{
	struct rec_buf rb = {rec, sizeof rec, 0};
	enum status st = core_execute(c, cmd, now, res, &rb);

	if (rb.len) {
		if (wal_len + rb.len + 4 > wal_cap) {
			wal_cap = (wal_cap + rb.len + 4) * 2;
			wal = realloc(wal, wal_cap);
			if (!wal)
				abort();
		}
		memcpy(wal + wal_len, &rb.len, 4);
		memcpy(wal + wal_len + 4, rb.bytes, rb.len);
		wal_len += 4 + rb.len;
		wal_records++;
	}
	return st;
}

static void must(enum status st, const char *what)
{
	if (st != ST_OK) {
		fprintf(stderr, "onsale-demo: %s: %s\n", what, status_name(st));
		exit(1);
	}
}

static void build_arena(struct core *c, uint64_t now)
{
	static const char *tier_names[] = {"Floor GA", "Lower bowl", "Club", "Upper bowl", "Gods"};
	static const uint64_t prices[] = {8900, 14900, 24900, 6900, 3900};
	static struct row_spec rows[DEMO_ROWS];
	static struct seat_spec seats[DEMO_ROWS * DEMO_SEATS_PER_ROW];
	struct cmd cmd = {.type = CMD_EVENT_CREATE};
	struct result res;

	cmd.event.event_id = DEMO_EVENT;
	cmd.event.state = EVENT_ON_SALE;
	cmd.event.customer_limit = 8;
	cmd.event.units_max = DEMO_FLOOR_UNITS + DEMO_SECTIONS * DEMO_ROWS * DEMO_SEATS_PER_ROW;
	cmd.event.hold_ttl_ms = 5 * 60 * 1000;
	cmd.event.presale_start_ms = cmd.event.public_start_ms = now;
	cmd.event.starts_at_ms = now + 90ull * 24 * 3600 * 1000;
	snprintf(cmd.event.name, sizeof cmd.event.name, "Stadium Tour 2027");
	snprintf(cmd.event.venue, sizeof cmd.event.venue, "Demo Arena");
	must(run(c, &cmd, now, &res), "create event");
	for (uint8_t t = 0; t <= DEMO_SEAT_TIERS; t++) {
		memset(&cmd, 0, sizeof cmd);
		cmd.type = CMD_TIER_ADD;
		cmd.tier.event_id = DEMO_EVENT;
		cmd.tier.tier = t;
		cmd.tier.kind = t == DEMO_FLOOR_TIER ? TIER_GA : TIER_RESERVED;
		cmd.tier.capacity = t == DEMO_FLOOR_TIER ? DEMO_FLOOR_UNITS : 0;
		cmd.tier.price_minor = prices[t];
		cmd.tier.low_stock_threshold = t == DEMO_FLOOR_TIER ? 500 : 400;
		snprintf(cmd.tier.name, sizeof cmd.tier.name, "%s", tier_names[t]);
		must(run(c, &cmd, now, &res), "add tier");
	}
	for (uint16_t s = 0; s < DEMO_SECTIONS; s++) {
		for (uint16_t r = 0; r < DEMO_ROWS; r++) {
			snprintf(rows[r].label, sizeof rows[r].label, "%c", 'A' + r);
			rows[r].seat_count = DEMO_SEATS_PER_ROW;
			rows[r].first_number = 1;
			for (uint16_t k = 0; k < DEMO_SEATS_PER_ROW; k++) {
				struct seat_spec *sp = &seats[r * DEMO_SEATS_PER_ROW + k];
				int d = k - DEMO_SEATS_PER_ROW / 2;

				sp->tier = (uint8_t)(1 + (r < 5 ? 1 : r < 15 ? 0 : r < 22 ? 2 : 3));
				sp->rank = (uint16_t)(abs((int)s - DEMO_SECTIONS / 2) * 300 +
						      r * 10 + abs(d));
				sp->flags = (r == DEMO_ROWS - 1 && k < 4) ? SEAT_ACCESSIBLE : 0;
				if (r == 0 && s == 0 && k < 6)
					sp->flags = SEAT_KILLED; /* camera platform */
			}
		}
		memset(&cmd, 0, sizeof cmd);
		cmd.type = CMD_SECTION_LOAD;
		cmd.section.event_id = DEMO_EVENT;
		cmd.section.section = s;
		cmd.section.row_count = DEMO_ROWS;
		snprintf(cmd.section.name, sizeof cmd.section.name, "Section %u", 101u + s);
		cmd.section.rows = rows;
		cmd.section.seats = seats;
		must(run(c, &cmd, now, &res), "load section");
	}
}

struct tally {
	uint64_t holds, confirms, releases, expiries, refused, alerts;
};

static void buyer(struct core *c, uint64_t now, struct tally *t)
{
	struct cmd cmd = {.type = CMD_HOLD};
	struct result res;
	uint64_t x = rnd();

	cmd.hold.event_id = DEMO_EVENT;
	cmd.hold.customer_id = 1 + x % 400000;
	cmd.hold.channel = (uint8_t)((x >> 20) % 10 == 0   ? CHANNEL_BOX_OFFICE
				     : (x >> 20) % 10 == 1 ? CHANNEL_KIOSK
							   : CHANNEL_ONLINE);
	cmd.hold.idem_key = x | 1;
	cmd.hold.tier = (uint8_t)((x >> 8) % (DEMO_SEAT_TIERS + 1));
	cmd.hold.mode = cmd.hold.tier == DEMO_FLOOR_TIER ? HOLD_GA : HOLD_BEST;
	cmd.hold.qty = (uint8_t)(1 + (x >> 32) % 4);
	if ((x >> 50) % 50 == 0 && cmd.hold.mode == HOLD_BEST) {
		cmd.hold.flags = HOLD_F_ACCESSIBLE; /* some buyers need accessible seats */
		cmd.hold.qty = 2;
	}
	if (run(c, &cmd, now, &res) != ST_OK) {
		t->refused++;
		return;
	}
	t->holds++;
	if (res.low_stock_tiers)
		t->alerts++;
	if ((x >> 40) % 10 == 9)
		return; /* abandoned: the timer wheel will expire it */
	memset(&cmd, 0, sizeof cmd);
	cmd.ref.event_id = DEMO_EVENT;
	cmd.ref.hold_id = res.hold.hold_id;
	if ((x >> 40) % 10 == 8) {
		cmd.type = CMD_HOLD_RELEASE;
		must(run(c, &cmd, now, &res), "release");
		t->releases++;
		return;
	}
	cmd.type = CMD_CONFIRM;
	cmd.ref.amount_minor = res.hold.amount_due_minor;
	snprintf(cmd.ref.payment_ref, sizeof cmd.ref.payment_ref, "psp_%016" PRIx64, x);
	must(run(c, &cmd, now, &res), "confirm");
	if (!first_ticket_id)
		first_ticket_id = res.hold.first_ticket_id;
	t->confirms++;
}

static int sold_out(struct core *c, uint64_t now, uint32_t *free_units, uint32_t *held)
{
	struct cmd q = {.type = CMD_Q_AVAILABILITY};
	struct result res;

	q.query.event_id = DEMO_EVENT;
	run(c, &q, now, &res);
	*free_units = *held = 0;
	for (unsigned t = 0; t < res.avail.tier_count; t++) {
		*free_units += res.avail.tiers[t].free;
		*held += res.avail.tiers[t].held;
	}
	return *free_units == 0 && *held == 0;
}

static void show_tiers(struct core *c, uint64_t now)
{
	static const char *channels[] = {"online", "box office", "kiosk"};
	struct cmd q = {.type = CMD_Q_AVAILABILITY};
	struct result res, st;

	q.query.event_id = DEMO_EVENT;
	run(c, &q, now, &res);
	printf("\n%-5s %-4s %9s %7s %7s %7s %7s  %-10s %8s %14s\n", "tier", "kind", "capacity",
	       "free", "held", "sold", "killed", "channel", "sold", "revenue");
	for (uint8_t t = 0; t < res.avail.tier_count; t++) {
		const struct tier_view *tv = &res.avail.tiers[t];

		q.type = CMD_Q_STATS;
		q.query.tier = t;
		run(c, &q, now, &st);
		printf("%-5u %-4s %9u %7u %7u %7u %7u", t, tv->kind == TIER_GA ? "GA" : "seat",
		       tv->capacity, tv->free, tv->held, tv->sold, tv->killed);
		for (unsigned ch = 0; ch < CHANNELS; ch++)
			printf("%*s  %-10s %8" PRIu64 " %11" PRIu64 ".%02u\n", ch ? 47 : 0, "",
			       channels[ch], st.stats.channels[ch].sold,
			       st.stats.channels[ch].revenue_minor / 100,
			       (unsigned)(st.stats.channels[ch].revenue_minor % 100));
	}
}

static void show_ticket(struct core *c, uint64_t now)
{
	uint8_t seed[TOKEN_SEED_BYTES] = "onsale demo organiser key seed!",
		pk[TOKEN_PUBLIC_KEY_BYTES];
	uint8_t tok[TOKEN_BYTES];
	struct token_signer signer = {.key_id = 1};
	struct token_keys keys = {0};
	struct cmd cmd = {.type = CMD_Q_TICKET};
	struct token_claims cl;
	struct result res;
	char text[TOKEN_TEXT_CHARS + 1];

	cmd.ticket.event_id = DEMO_EVENT;
	cmd.ticket.ticket_id = first_ticket_id;
	must(run(c, &cmd, now, &res), "query ticket");
	token_keypair_from_seed(seed, pk, signer.sk);
	token_keys_add(&keys, signer.key_id, pk);
	token_claims_of(&res.ticket, 0, signer.key_id, &cl);
	token_sign(&signer, &cl, tok);
	token_to_text(tok, text);
	printf("\nticket %" PRIu64 ": order %" PRIu64 ", customer %" PRIu64 ", tier %u, seat %u\n",
	       res.ticket.ticket_id, res.ticket.order_id, res.ticket.customer_id, res.ticket.tier,
	       res.ticket.seat);
	printf("  token (%d bytes, base64url): %.32s...  offline check: %s\n", TOKEN_BYTES, text,
	       status_name(token_check(&keys, tok, DEMO_EVENT, now, &cl)));
	cmd.type = CMD_REDEEM;
	cmd.ticket.gate_id = 3;
	printf("  scan at gate 3: %s\n", status_name(run(c, &cmd, now, &res)));
	cmd.ticket.gate_id = 9;
	printf("  scan at gate 9: %s (first scan: gate %u at +%" PRIu64 " ms)\n",
	       status_name(run(c, &cmd, now + 1500, &res)), res.ticket.gate_id,
	       res.ticket.redeemed_at_ms - now);
}

static int replay_matches(const struct core *c)
{
	struct core *r = core_create(0);
	struct state_hash a = core_state_hash(c), b;
	int ok = 1;

	for (size_t off = 0; off < wal_len;) {
		uint32_t len;

		memcpy(&len, wal + off, 4);
		if (core_apply(r, wal + off + 4, len) != ST_OK)
			ok = 0;
		off += 4 + len;
	}
	b = core_state_hash(r);
	printf("\nreplayed %zu WAL records (%zu bytes) on a fresh state:\n", wal_records, wal_len);
	printf("  live   state hash %016" PRIx64 "%016" PRIx64 "\n", a.hi, a.lo);
	printf("  replay state hash %016" PRIx64 "%016" PRIx64 "  %s\n", b.hi, b.lo,
	       ok && a.lo == b.lo && a.hi == b.hi ? "identical" : "DIFFERENT");
	ok = ok && a.lo == b.lo && a.hi == b.hi && !core_check_invariants(r);
	core_destroy(r);
	return ok;
}

int main(int argc, char **argv)
{
	static const char usage[] = "usage: onsale-demo\n  Runs an in-process on-sale of a "
				    "25,000-unit arena to sold out and narrates it.\n";
	uint64_t now = 1800000000000ull, t0 = now;
	uint32_t free_units = 0, held = 0;
	uint64_t shown = 0;
	struct tally t = {0};
	struct cmd exp;
	struct result res;

	int arg = 1;
	bool help = argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
	if (help)
		arg++;
	if (arg < argc) { /* it takes no arguments: one ran the whole demo */
		fprintf(stderr, "onsale-demo: %s: unexpected argument\n%s", argv[arg], usage);
		return 2;
	}
	if (help) {
		fputs(usage, stdout);
		return 0;
	}
	struct core *c = core_create(0);
	build_arena(c, now);
	printf("onsale demo: \"Stadium Tour 2027\" at Demo Arena — 20,000 seats in 4 tiers + "
	       "5,000 GA floor\n(simulated clock; buyers hold, 80%% pay, 10%% release, 10%% "
	       "abandon and expire after 5 min)\n\n");
	while (!sold_out(c, now, &free_units, &held)) {
		uint64_t before = t.holds;

		for (int i = 0; i < 200 && free_units; i++)
			buyer(c, now, &t);
		if (t.holds == before && held == 0)
			break; /* what is left cannot be sold as asked (single seats apart) */
		now += 1000;
		while (core_next_expiry(c, now, &exp)) {
			must(run(c, &exp, now, &res), "expire");
			t.expiries++;
		}
		if ((now - t0) % 30000 == 0 && t.holds != shown && (shown = t.holds))
			printf("  t+%3" PRIu64 "s  free %6u  held %5u  holds %6" PRIu64
			       "  confirmed %6" PRIu64 "  released %5" PRIu64 "  expired %5" PRIu64
			       "  refused %5" PRIu64 "\n",
			       (now - t0) / 1000, free_units, held, t.holds, t.confirms, t.releases,
			       t.expiries, t.refused);
	}
	printf("  %s after %" PRIu64 " simulated seconds: %" PRIu64 " holds, %" PRIu64
	       " orders, %" PRIu64 " released, %" PRIu64 " expired, %" PRIu64
	       " refused (sold out / no adjacent seats / limit), %" PRIu64 " low-stock alerts\n",
	       free_units ? "sales stopped (only scattered single seats left)" : "sold out",
	       (now - t0) / 1000, t.holds, t.confirms, t.releases, t.expiries, t.refused, t.alerts);
	show_tiers(c, now);
	show_ticket(c, now);
	printf("\ninvariants: %s\n",
	       core_check_invariants(c) ? core_check_invariants(c) : "all hold");
	if (!replay_matches(c))
		return 1;
	printf("\nNext: `make test` runs the test suite; docs/ARCHITECTURE.md explains the engine.\n");
	core_destroy(c);
	free(wal);
	return 0;
}
