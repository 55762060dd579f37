/*
 * ctl_ticket.c — e-tickets (docs/TICKETS.md): ticket token (a ticket's
 * current token from the server), ticket verify (offline, with the public
 * keys file alone), ticket qr (the token as a QR code, PNG or SVG) and
 * ticket print (a printable ticket page for the box office: event, seat,
 * price, QR, as SVG).
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "core/token.h"
#include "tools/ctl/qr.h"
#include "tools/ctl/ticket_page.h"
#include "tools/ctl/vfile.h"

static int ticket_args(struct ctl *c, uint32_t *ev, uint64_t *ticket_id)
{
	uint64_t x;

	if (ctl_u64(c->args[0], "event", 1, UINT32_MAX, &x) ||
	    ctl_u64(c->args[1], "ticket", 1, UINT64_MAX, ticket_id))
		return CTL_EXIT_USAGE;
	*ev = (uint32_t)x;
	return 0;
}

/* The ticket and its token text from the server: 0 or an exit code. */
static int fetch_token(struct ctl *c, uint32_t ev, uint64_t ticket_id, struct result *res,
		       char text[TOKEN_TEXT_CHARS + 1])
{
	static struct onsale_tokens tok;
	int rc = onsale_query_ticket_token(c->conn, ev, ticket_id, res, &tok);

	if (rc != ST_OK)
		return ctl_result(c, rc, "ticket");
	if (!tok.count) {
		fprintf(stderr, "onsale-ctl %s: ticket %" PRIu64 " is %s: it has no token\n",
			c->cmd->words, ticket_id, ctl_ticket_state_name(res->ticket.state));
		return CTL_EXIT_REFUSED;
	}
	token_to_text(tok.bytes[0], text);
	return 0;
}

static int token(struct ctl *c)
{
	static struct result res;
	char text[TOKEN_TEXT_CHARS + 1];
	struct ctl_json j = {.out = stdout};
	uint64_t ticket_id;
	uint32_t ev;
	int rc;

	if (ticket_args(c, &ev, &ticket_id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0 || (rc = fetch_token(c, ev, ticket_id, &res, text)) != 0)
		return rc;
	if (!c->json) {
		printf("%s\n", text);
		return 0;
	}
	cj_open(&j, NULL, '{');
	cj_u64(&j, "ticket_id", ticket_id);
	cj_u64(&j, "event_id", ev);
	cj_str(&j, "state", ctl_ticket_state_name(res.ticket.state));
	cj_str(&j, "token", text);
	cj_close(&j, '}');
	return 0;
}

static void claims_print(const struct ctl *c, const struct token_claims *cl, enum status st)
{
	struct ctl_json j = {.out = stdout};
	char a[32], b[32];

	if (!c->json) {
		printf("%s: ticket %" PRIu64 " of event %" PRIu32 ", tier %u, ",
		       st == ST_OK ? "valid" : status_name(st), cl->ticket_id, cl->event_id,
		       cl->tier);
		if (cl->seat == SEAT_NONE)
			printf("general admission");
		else
			printf("seat %" PRIu32, cl->seat);
		printf(", key %" PRIu32 ", valid %s to %s\n", cl->key_id,
		       cl->valid_from_s ? ctl_fmt_time(a, sizeof a, cl->valid_from_s * 1000ull)
					: "always",
		       cl->valid_until_s != TOKEN_UNTIL_NONE
			       ? ctl_fmt_time(b, sizeof b, cl->valid_until_s * 1000ull)
			       : "forever");
		return;
	}
	cj_open(&j, NULL, '{');
	cj_str(&j, "status", status_name(st));
	cj_bool(&j, "valid", st == ST_OK);
	cj_u64(&j, "ticket_id", cl->ticket_id);
	cj_u64(&j, "event_id", cl->event_id);
	cj_u64(&j, "tier", cl->tier);
	if (cl->seat != SEAT_NONE)
		cj_u64(&j, "seat", cl->seat);
	cj_u64(&j, "key_id", cl->key_id);
	cj_u64(&j, "valid_from_s", cl->valid_from_s);
	cj_u64(&j, "valid_until_s", cl->valid_until_s);
	cj_close(&j, '}');
}

static int read_token_text(struct ctl *c, const char *arg, uint8_t tok[TOKEN_BYTES])
{
	char line[512];

	if (!strcmp(arg, "-")) { /* from standard input, as a scanner would pipe it */
		if (!fgets(line, sizeof line, stdin))
			return ctl_usage_error(c, "no token on standard input");
		arg = line;
	}
	if (token_from_text(arg, strlen(arg), tok)) {
		fprintf(stderr,
			"onsale-ctl %s: refused: token_invalid (%d): not a token (%u base64url "
			"characters)\n",
			c->cmd->words, ST_TOKEN_INVALID, (unsigned)TOKEN_TEXT_CHARS);
		return CTL_EXIT_REFUSED;
	}
	return 0;
}

static int verify(struct ctl *c)
{
	const char *keys_path = ctl_opt(c, "keys"), *ev_s = ctl_opt(c, "event"),
		   *at = ctl_opt(c, "at");
	static struct token_keys keys;
	uint8_t tok[TOKEN_BYTES];
	struct token_claims cl = {0};
	uint64_t ev = 0, now_ms = ctl_wall_ms();
	enum status st;
	int rc;

	if (!keys_path)
		keys_path = getenv("ONSALE_TICKET_KEYS") ? getenv("ONSALE_TICKET_KEYS")
							 : "./var/keys/ticket-keys.pub";
	if ((ev_s && ctl_u64(ev_s, "--event", 1, UINT32_MAX, &ev)) ||
	    (at && vfile_time(at, now_ms, &now_ms)))
		return at ? ctl_usage_error(c, "--at %s: a time like now or 2027-06-01T20:00:00Z",
					    at)
			  : CTL_EXIT_USAGE;
	if ((rc = onsale_ticket_keys_load(keys_path, &keys)) != 0) {
		fprintf(stderr, "onsale-ctl %s: %s: %s\n", c->cmd->words, keys_path,
			rc == -EINVAL ? "not a public keys file" : strerror(-rc));
		return CTL_EXIT_IO;
	}
	if ((rc = read_token_text(c, c->args[0], tok)) != 0)
		return rc;
	st = token_check(&keys, tok, (uint32_t)ev, now_ms, &cl);
	if (st == ST_OK || token_decode(tok, &cl) == 0)
		claims_print(c, &cl, st);
	if (st != ST_OK)
		fprintf(stderr, "onsale-ctl %s: refused: %s (%d)\n", c->cmd->words, status_name(st),
			st);
	return st == ST_OK ? CTL_EXIT_OK : CTL_EXIT_REFUSED;
}

static int write_file(struct ctl *c, const char *path, const struct qr *q, int png, int scale)
{
	FILE *out = fopen(path, png ? "wb" : "w");
	int rc;

	if (!out) {
		fprintf(stderr, "onsale-ctl %s: %s: %s\n", c->cmd->words, path, strerror(errno));
		return CTL_EXIT_IO;
	}
	rc = png ? qr_png(q, scale, out) : qr_svg(q, scale, out);
	if (fclose(out) || rc) {
		fprintf(stderr, "onsale-ctl %s: %s: write failed\n", c->cmd->words, path);
		return CTL_EXIT_IO;
	}
	return 0;
}

/* The token text: --token, or the server's for EVENT TICKET. */
static int token_text(struct ctl *c, char text[TOKEN_TEXT_CHARS + 1], struct result *res)
{
	const char *given = ctl_opt(c, "token");
	uint8_t tok[TOKEN_BYTES];
	uint64_t ticket_id;
	uint32_t ev;
	int rc;

	if (given) {
		if ((rc = read_token_text(c, given, tok)) != 0)
			return rc;
		token_to_text(tok, text);
		return 0;
	}
	if (c->nargs != 2)
		return ctl_usage_error(c, "give EVENT TICKET, or --token TEXT");
	if (ticket_args(c, &ev, &ticket_id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_connect(c)) != 0)
		return rc;
	return fetch_token(c, ev, ticket_id, res, text);
}

static int qr(struct ctl *c)
{
	static struct result res;
	const char *png = ctl_opt(c, "png"), *svg = ctl_opt(c, "svg"),
		   *scale_s = ctl_opt(c, "scale");
	char text[TOKEN_TEXT_CHARS + 1];
	uint64_t scale = 8;
	struct qr q;
	int rc;

	if (!png && !svg)
		return ctl_usage_error(c, "give --png FILE, --svg FILE or both");
	if (scale_s && ctl_u64(scale_s, "--scale", 1, QR_SCALE_MAX, &scale))
		return CTL_EXIT_USAGE;
	if ((rc = token_text(c, text, &res)) != 0)
		return rc;
	if ((rc = qr_encode(&q, text)) != 0) {
		fprintf(stderr, "onsale-ctl ticket qr: %s\n", strerror(-rc));
		return CTL_EXIT_IO;
	}
	rc = png ? write_file(c, png, &q, 1, (int)scale) : 0;
	if (!rc && svg)
		rc = write_file(c, svg, &q, 0, (int)scale);
	if (!rc)
		printf("QR code version %d, %d x %d modules, of %s\n", (q.width - 17) / 4, q.width,
		       q.width, text);
	qr_free(&q);
	return rc;
}

/* Event name, venue and start: Q_EVENT when the role may ask, else the venue file. */
static void event_of(struct ctl *c, uint32_t ev, struct cmd_event *e)
{
	static struct result res;
	const struct vfile *v = ctl_venue();

	memset(e, 0, sizeof *e);
	if (onsale_query_event(c->conn, ev, &res) == ST_OK)
		*e = res.event.event;
	else if (v)
		memcpy(e->name, v->event.name, sizeof e->name),
			memcpy(e->venue, v->event.venue, sizeof e->venue);
	else
		snprintf(e->name, sizeof e->name, "Event %" PRIu32, ev);
}

static int print_page(struct ctl *c)
{
	static struct result res;
	const char *path = ctl_opt(c, "out");
	char text_[TOKEN_TEXT_CHARS + 1], seat[96] = "";
	const struct vfile *v;
	struct cmd_event e;
	uint64_t ticket_id;
	uint32_t ev;
	struct qr q;
	FILE *out;
	int rc;

	if (!path)
		return ctl_usage_error(c, "--out FILE is needed");
	if (ticket_args(c, &ev, &ticket_id))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_venue_open(c)) != 0 || (rc = ctl_connect(c)) != 0 ||
	    (rc = fetch_token(c, ev, ticket_id, &res, text_)) != 0)
		return rc;
	struct ticket_view t = res.ticket;
	event_of(c, ev, &e);
	ctl_seat_name(c, ev, t.seat, seat, sizeof seat);
	v = ctl_venue();
	if ((rc = qr_encode(&q, text_)) != 0)
		return fprintf(stderr, "onsale-ctl ticket print: %s\n", strerror(-rc)), CTL_EXIT_IO;
	if (!(out = fopen(path, "w"))) {
		fprintf(stderr, "onsale-ctl ticket print: %s: %s\n", path, strerror(errno));
		return qr_free(&q), CTL_EXIT_IO;
	}
	struct ticket_page page = {
		e.name,         e.venue,
		e.starts_at_ms, v && t.tier < TIERS_MAX ? v->tiers[t.tier].name : "",
		seat,           &t,
		text_,          &q};
	rc = ticket_page_svg(&page, out);
	qr_free(&q);
	if (fclose(out) || rc)
		return fprintf(stderr, "onsale-ctl ticket print: %s: write failed\n", path),
		       CTL_EXIT_IO;
	printf("ticket %" PRIu64 " printed to %s\n", ticket_id, path);
	return 0;
}

static const struct ctl_opt verify_opts[] = {
	{"keys", "FILE",
	 "public keys (env ONSALE_TICKET_KEYS; default ./var/keys/ticket-keys.pub)"},
	{"event", "ID", "admit only tokens of this event"},
	{"at", "TIME", "check the window at TIME instead of now"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt qr_opts[] = {
	{"png", "FILE", "write the QR code as PNG"},
	{"svg", "FILE", "write the QR code as SVG"},
	{"scale", "N", "pixels per module (default 8)"},
	{"token", "TEXT", "this token instead of EVENT TICKET's (no server needed)"},
	{NULL, NULL, NULL},
};
static const struct ctl_opt print_opts[] = {
	{"out", "FILE", "the page, as SVG (148 x 105 mm)"},
	{"venue", "FILE", "the event's venue file: the seat's and tier's names"},
	{NULL, NULL, NULL},
};

const struct ctl_cmd ctl_ticket_cmds[] = {
	{"ticket token", "EVENT TICKET", 2, 2, ONSALE_ROLE_PLATFORM, 1,
	 "Prints a ticket's token (128 base64url characters), signed by the server now.", NULL,
	 token},
	{"ticket verify", "TOKEN|-", 1, 1, ONSALE_ROLE_SCANNER, 1,
	 "Verifies a token offline, with the public keys alone, as a gate scanner does: exit 0\n"
	 "when valid, 1 when forged or altered (token_invalid), signed by an unknown key, of\n"
	 "another event, or outside its window. Revocation is the server's (redeem --token).",
	 verify_opts, verify},
	{"ticket qr", "[EVENT TICKET]", 0, 2, ONSALE_ROLE_PLATFORM, 0,
	 "Renders a ticket's token as a QR code (libqrencode, error correction M).", qr_opts, qr},
	{"ticket print", "EVENT TICKET", 2, 2, ONSALE_ROLE_ADMIN, 0,
	 "Writes a printable ticket (event, date, seat, price, QR code and token) as SVG for\n"
	 "the box office's paper tickets.",
	 print_opts, print_page},
	{NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};
