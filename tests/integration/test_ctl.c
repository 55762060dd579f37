/*
 * test_ctl.c — onsale-ctl (tools/ctl/) end to end against a real onsaled
 * (two shards, tests/support/srv_harness.h), run as a shell runs it: the
 * sample arena created from docs/venues/arena.venue, a ticket's life
 * (hold, confirm, look-ups, redeem, a second scan refused, refund), the
 * box office's GA hold and release, an exchange, stats, watch and report,
 * the seat map as SVG (well-formed, one circle per seat, the right states
 * and colours), and the exit code and message of each kind of bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/srv_harness.h"
#include "tools/ctl/seatmap_svg.h"

#define OUT_BYTES (1u << 20)
#define ARGS_MAX 24
#define EVENT "3001"

static const char *argv0;
static struct srv h;
static char ctl[PATH_MAX], arena[PATH_MAX], conf[PATH_MAX], port[16];
static char out[OUT_BYTES], err[OUT_BYTES];

/* Runs onsale-ctl with the words of line (split at spaces) and the
 * server's --port and --config; stdout into out, stderr into err. */
static int run(const char *fmt, ...)
{
	char line[1024], *args[ARGS_MAX + 6] = {ctl};
	int po[2], pe[2], st, n = 1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	for (char *w = strtok(line, " "); w && n < ARGS_MAX; w = strtok(NULL, " "))
		args[n++] = w;
	args[n++] = "--port", args[n++] = port, args[n++] = "--config", args[n++] = conf;
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1), dup2(pe[1], 2);
		close(po[0]), close(pe[0]);
		execv(ctl, args);
		_exit(127);
	}
	close(po[1]), close(pe[1]);
	/* small replies: stderr is read after stdout, both fit the pipes' order */
	ssize_t k, got = 0;
	while ((k = read(po[0], out + got, sizeof out - 1 - (size_t)got)) > 0)
		got += k;
	out[got] = 0;
	got = 0;
	while ((k = read(pe[0], err + got, sizeof err - 1 - (size_t)got)) > 0)
		got += k;
	err[got] = 0;
	close(po[0]), close(pe[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* The number after "key": in out (JSON). */
static uint64_t json_u64(const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof pat, "\"%s\":", key);
	p = strstr(out, pat);
	if (!p)
		fail_msg("no %s in %s", key, out);
	return strtoull(p + strlen(pat), NULL, 10);
}

static void contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("\"%s\" not in:\n%s", needle, hay);
}

static int setup(void **state)
{
	char path[PATH_MAX];

	(void)state;
	if (!realpath(argv0, path))
		return -1;
	snprintf(ctl, sizeof ctl, "%s/../../bin/onsale-ctl", dirname(path));
	if (!realpath(ctl, path)) /* BUILD/bin/onsale-ctl: the tree is three up */
		return -1;
	snprintf(ctl, sizeof ctl, "%s", path);
	/* the tree: the first folder above BUILD/bin (BUILD may be nested,
	 * build/asan) that has the sample venues */
	for (char *dir = dirname(path);; dir = dirname(dir)) {
		snprintf(arena, sizeof arena, "%s/docs/venues/arena.venue", dir);
		if (access(arena, R_OK) == 0)
			break;
		if (!strcmp(dir, "/"))
			return -1;
	}
	srv_init(&h, argv0, 2);
	if (srv_start(&h))
		return -1;
	snprintf(conf, sizeof conf, "%s/onsaled.conf", h.dir);
	snprintf(port, sizeof port, "%u", h.port);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	return 0;
}

static void create_arena(void **state)
{
	(void)state;
	assert_int_equal(run("event create %s", arena), 0);
	contains(out, "created event 3001 \"Arena Tour 2027\"");
	contains(
		out,
		"5 tiers, 20 sections, 20000 seats, 5000 GA units, 1 presale codes, state on_sale");
	assert_int_equal(run("event create %s", arena), 1);
	contains(err, "onsale-ctl event create: event: refused: event_exists (11)");
	/* a refusal the operator can act on says how */
	assert_int_equal(run("event retire " EVENT), 1);
	contains(err, "event_not_closed (61) (close it first: onsale-ctl event update EVENT"
		      " --state closed)");
	assert_int_equal(run("event show " EVENT " --json"), 0);
	assert_int_equal(json_u64("seat_count"), 20000);
	assert_int_equal(json_u64("units_placed"), 25000);
	contains(out, "\"state\":\"on_sale\"");
	assert_int_equal(run("event show " EVENT), 0);
	contains(out, "event 3001 \"Arena Tour 2027\" at \"Sample Arena\"");
}

/* hold, confirm, look up, redeem twice, refund; returns nothing, checks all. */
static void ticket_life(void **state)
{
	uint64_t hold, t1;

	(void)state;
	assert_int_equal(run("hold " EVENT " 1 2 --customer 42 --json"), 0);
	hold = json_u64("hold_id");
	contains(out, "\"state\":\"live\"");
	assert_int_equal(json_u64("amount_due_minor"), 29800);
	assert_int_equal(run("confirm " EVENT " %" PRIu64 " --payment-ref psp-1 --json", hold), 0);
	contains(out, "\"state\":\"confirmed\"");
	assert_int_equal(json_u64("amount_paid_minor"), 29800);
	t1 = strtoull(strstr(out, "\"tickets\":[") + 11, NULL, 10);
	assert_int_equal(run("show order " EVENT " %" PRIu64, hold), 0);
	contains(out, "confirmed");
	contains(out, "payment \"psp-1\"");
	assert_int_equal(run("show customer " EVENT " 42 --json"), 0);
	assert_int_equal(json_u64("units"), 2);
	assert_int_equal(json_u64("limit"), 8);
	assert_int_equal(run("show ticket " EVENT " %" PRIu64 " --json", t1), 0);
	contains(out, "\"state\":\"valid\"");
	assert_int_equal(json_u64("price_minor"), 14900);
	assert_int_equal(run("redeem " EVENT " %" PRIu64 " --gate 7", t1), 0);
	contains(out, "redeemed");
	assert_int_equal(run("redeem " EVENT " %" PRIu64 " --gate 9 --json", t1), 1);
	assert_int_equal(json_u64("gate_id"), 7); /* the first scan's gate */
	contains(err, "ticket_already_redeemed (53)");
	assert_int_equal(run("refund " EVENT " %" PRIu64 " --fee 5", t1), 1);
	contains(err, "ticket_redeemed");
	/* a fee above the price: said so (it said only bad_argument) */
	assert_int_equal(run("refund " EVENT " %" PRIu64 " --fee 1000", t1 + 1), 1);
	contains(err, "--fee 1000 is more than the ticket's price");
	assert_int_equal(run("refund " EVENT " %" PRIu64 " --fee 5 --json", t1 + 1), 0);
	contains(out, "\"state\":\"refunded\"");
	assert_int_equal(json_u64("refund_fee_minor"), 500);
	assert_int_equal(run("show customer " EVENT " 42 --json"), 0);
	assert_int_equal(json_u64("units"), 1);
}

static void box_office_and_exchange(void **state)
{
	uint64_t hold, t;

	(void)state;
	assert_int_equal(run("hold " EVENT " 0 3 --customer 43 --role box_office --json"), 0);
	contains(out, "\"channel\":\"box_office\"");
	contains(out, "\"seats\":[]");
	hold = json_u64("hold_id");
	assert_int_equal(run("extend " EVENT " %" PRIu64 " --ttl 2m", hold), 0);
	assert_int_equal(run("release " EVENT " %" PRIu64, hold), 0);
	contains(out, "released");
	assert_int_equal(run("release " EVENT " %" PRIu64, hold), 0); /* a retry: the same answer */
	contains(out, "released");
	assert_int_equal(run("hold " EVENT " 4 1 --customer 44 --json"), 0);
	hold = json_u64("hold_id");
	assert_int_equal(run("confirm " EVENT " %" PRIu64 " --json", hold), 0);
	t = strtoull(strstr(out, "\"tickets\":[") + 11, NULL, 10);
	assert_int_equal(run("exchange " EVENT " %" PRIu64 " 3 --json", t), 0);
	contains(out, "\"state\":\"valid\"");
	assert_int_equal(json_u64("tier"), 3);
	assert_int_equal(run("show ticket " EVENT " %" PRIu64, t), 0);
	contains(out, "exchanged");
	/* seats by name at the counter, with the venue file */
	assert_int_equal(run("hold " EVENT " 2 --place 105:X:1-2 --venue %s --customer 45 --role "
			     "box_office --confirm --json",
			     arena),
			 0);
	contains(out, "\"seat_names\":[\"Section 105 row X seat 1\",\"Section 105 row X seat 2\"]");
	t = strtoull(strstr(out, "\"tickets\":[") + 11, NULL, 10);
	assert_int_equal(run("show ticket " EVENT " %" PRIu64 " --venue %s", t, arena), 0);
	contains(out, "(Section 105 row X seat 1)");
	assert_int_equal(run("hold " EVENT " 2 --place 105:X:41 --venue %s --customer 45", arena),
			 2);
	contains(err, "Section 105 has no row X seat 41");
	assert_int_equal(run("hold " EVENT " 2 --place 105:X:1 --customer 45"), 2);
	contains(err, "--place needs --venue FILE");
}

static void figures(void **state)
{
	(void)state;
	assert_int_equal(run("stats " EVENT), 0);
	contains(
		out,
		"   1 reserved      4800     4793        0        1        6        154.00        1        1");
	contains(out, "   1 online            0        1        154.00        1        1");
	assert_int_equal(run("stats " EVENT " --json"), 0);
	contains(out, "\"channels\":{\"online\":{");
	assert_int_equal(run("avail " EVENT " --json"), 0);
	contains(out, "\"killed\":6");
	assert_int_equal(run("watch " EVENT " --count 2 --interval 50ms"), 0);
	assert_non_null(strstr(strstr(out, "event 3001 at") + 1, "event 3001 at"));
	assert_int_equal(run("report " EVENT), 0);
	contains(out, "hour_utc,sampled_at_utc,event,tier,channel,held_units,sold_units,"
		      "net_revenue_minor,redemptions,refunds\n");
	unsigned lines = 0;
	for (const char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 1 + 5 * 3); /* a header, 5 tiers x 3 channels */
	assert_int_equal(run("server --json"), 0);
	assert_int_equal(json_u64("shards"), 2);
	assert_int_equal(run("ping"), 0);
}

/* Seat circles by class in an SVG file: counts[state], accessible seats. */
static unsigned circles(const char *path, unsigned counts[4], unsigned *accessible)
{
	FILE *f = fopen(path, "r");
	static char line[4096];
	unsigned total = 0;

	assert_non_null(f);
	memset(counts, 0, 4 * sizeof counts[0]);
	*accessible = 0;
	while (fgets(line, sizeof line, f)) {
		for (const char *p = line; (p = strstr(p, "<circle class=\"s")); p++) {
			unsigned st = (unsigned)(p[16] - '0');
			assert_true(st < 4);
			counts[st]++, total++;
			*accessible += p[17] == ' ' && p[18] == 'a';
		}
	}
	fclose(f);
	return total;
}

static void well_formed(const char *path)
{
	char cmd[PATH_MAX + 64];

	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		print_message("xmllint missing (libxml2-utils): well-formedness not checked\n");
		return;
	}
	snprintf(cmd, sizeof cmd, "xmllint --noout '%s'", path);
	assert_int_equal(system(cmd), 0);
}

static void seatmap(void **state)
{
	char svg[PATH_MAX + 32], *text;
	unsigned n[4], acc, legend = 5; /* the legend's circles: one per state, one ringed */
	FILE *f;
	long size;

	(void)state;
	snprintf(svg, sizeof svg, "%s/arena.svg", h.dir);
	assert_int_equal(run("seatmap " EVENT " %s --out %s", arena, svg), 0);
	well_formed(svg);
	assert_int_equal(circles(svg, n, &acc), 20000 + legend);
	assert_int_equal(n[SEAT_SOLD] - 1,
			 4); /* the redeemed ticket, the exchanged-to seat, 105 X 1-2 */
	assert_int_equal(n[SEAT_HELD] - 1, 0);
	assert_int_equal(n[SEAT_KILLED_STATE] - 1, 6); /* the camera platform */
	assert_int_equal(n[SEAT_FREE] - 2, 20000 - 10);
	assert_int_equal(acc - 1, 80);
	f = fopen(svg, "r");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	text = malloc((size_t)size + 1);
	assert_int_equal(fread(text, 1, (size_t)size, f), (size_t)size);
	text[size] = 0;
	fclose(f);
	contains(text, ".s0{fill:" SEATMAP_FREE_RGB "}.s1{fill:" SEATMAP_HELD_RGB
		       "}.s2{fill:" SEATMAP_SOLD_RGB "}.s3{fill:" SEATMAP_KILLED_RGB "}");
	contains(text, "sold 4</text>");
	contains(text, "Floor (GA): 5000 free, 0 held, 0 sold");
	free(text);
	assert_int_equal(run("seatmap " EVENT " %s --section 4 --out %s", arena, svg), 0);
	well_formed(svg);
	assert_int_equal(circles(svg, n, &acc), 1000 + legend);
	assert_int_equal(n[SEAT_KILLED_STATE] - 1, 6);
	assert_int_equal(run("seatmap " EVENT " %s --json", arena), 0);
	contains(out,
		 "{\"section\":4,\"name\":\"Section 105\",\"seats\":1000,\"free\":992,\"held\":0,"
		 "\"sold\":2,\"killed\":6}");
}

static void bad_input(void **state)
{
	char path[PATH_MAX + 32], stadium[PATH_MAX];
	FILE *f;

	(void)state;
	assert_int_equal(run("hold " EVENT), 2);
	contains(err, "onsale-ctl hold: needs EVENT TIER [QTY] (onsale-ctl hold --help)");
	assert_int_equal(run("hold " EVENT " 1 2"), 2);
	contains(err, "--customer ID is needed");
	assert_int_equal(run("hold " EVENT " 1 2 --customer x"), 2);
	contains(err, "--customer 'x': not a number");
	assert_int_equal(run("hold " EVENT " 1 --seats 5-2 --customer 1"), 2);
	assert_int_equal(run("stats " EVENT " --colour"), 2);
	contains(err, "unknown option --colour");
	assert_int_equal(run("frobnicate"), 2);
	assert_int_equal(run("release " EVENT " 1 --json --ttl 1s"), 2);
	assert_int_equal(run("event create /nonexistent/x.venue"), 4);
	contains(err, "/nonexistent/x.venue: No such file or directory");
	snprintf(path, sizeof path, "%s/bad.venue", h.dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("event 9\ntier 1 \"T\" reserved price 10\nsection 0 \"S\" tier 1\nrow A seats 1-0\n",
	      f);
	fclose(f);
	assert_int_equal(run("event create %s", path), 2);
	contains(err, "bad.venue:4:13: seats FIRST-LAST: '1-0' is not a range like 1-40");
	assert_int_equal(run("event create %s --json", arena), 2);
	contains(err, "--json is for reads");
	assert_int_equal(run("ping --key %064d", 0), 3);
	contains(err, "key refused");
	char kept[PATH_MAX]; /* a key file that cannot be read is a local file: 4 (it said 3) */
	memcpy(kept, conf, sizeof kept);
	snprintf(conf, sizeof conf, "/nonexistent-onsale/onsaled.conf");
	assert_int_equal(run("ping"), 4);
	contains(err, "/nonexistent-onsale/onsaled.conf: No such file or directory");
	memcpy(conf, kept, sizeof conf);
	assert_int_equal(run("stats " EVENT " --role platform"), 1);
	contains(err, "forbidden (71) (another --role?)");
	assert_int_equal(run("show ticket " EVENT " 12345"), 1);
	contains(err, "ticket_unknown");
	snprintf(stadium, sizeof stadium, "%s", arena);
	strcpy(strrchr(stadium, '/') + 1, "stadium.venue");
	assert_int_equal(run("seatmap " EVENT " %s", stadium), 5);
	contains(err, "not this event's venue file");
}

static void help_everywhere(void **state)
{
	static const char *const cmds[] = {
		"event create", "event update", "event show",    "event retire", "tier add",
		"code add",     "hold",         "confirm",       "release",      "extend",
		"refund",       "exchange",     "redeem",        "show",         "avail",
		"server",       "ping",         "stats",         "watch",        "report",
		"seatmap",      "ticket token", "ticket verify", "ticket qr",    "ticket print"};

	(void)state;
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		assert_int_equal(run("%s --help", cmds[i]), 0);
		contains(out, "usage: onsale-ctl ");
		contains(out, "exit codes: 0 ok");
	}
	assert_int_equal(run("--help"), 0);
	contains(out, "seatmap");
}

/* Runs cmd (a shell line) and its first output line into line: 1 when it ran. */
static int shell_line(const char *cmd, char *line, size_t size)
{
	FILE *p = popen(cmd, "r");
	int ok;

	if (!p)
		return 0;
	ok = fgets(line, (int)size, p) != NULL;
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	return ok;
}

static int have(const char *tool)
{
	char cmd[128];

	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", tool);
	if (system(cmd) == 0)
		return 1;
	print_message("%s missing: its check skipped\n", tool);
	return 0;
}

/* The QR code in an image decodes (zbarimg) back to token. */
static void qr_reads_back(const char *png, const char *token)
{
	char cmd[PATH_MAX + 64], line[512];

	if (!have("zbarimg"))
		return;
	snprintf(cmd, sizeof cmd, "zbarimg --raw -q '%s' 2>/dev/null", png);
	assert_true(shell_line(cmd, line, sizeof line));
	assert_string_equal(line, token);
}

/* A ticket's life with its e-ticket: token, offline verify (and a forged
 * one refused), QR code read back, a printed page, a gate scan by token,
 * and a refunded ticket's token refused as revoked. */
static void e_tickets(void **state)
{
	char tok[160], tok2[160], keys[PATH_MAX + 32], png[PATH_MAX + 32], svg[PATH_MAX + 32];
	uint64_t t;

	(void)state;
	snprintf(keys, sizeof keys, "%s/keys/ticket-keys.pub", h.dir);
	assert_int_equal(run("event update " EVENT " --starts now+1h"), 0); /* tokens valid now */
	assert_int_equal(run("hold " EVENT " 1 2 --customer 60 --confirm --json"), 0);
	t = strtoull(strstr(out, "\"tickets\":[") + 11, NULL, 10);
	assert_int_equal(run("ticket token " EVENT " %" PRIu64, t), 0);
	assert_int_equal(strlen(out), 129);
	snprintf(tok, sizeof tok, "%.128s", out);
	assert_int_equal(run("ticket verify %s --keys %s --event " EVENT, tok, keys), 0);
	contains(out, "valid: ticket ");
	assert_int_equal(run("ticket verify %s --keys %s --event 3002", tok, keys), 1);
	contains(err, "token_other_event");
	snprintf(tok2, sizeof tok2, "%s", tok);
	tok2[70] = tok2[70] == 'A' ? 'B' : 'A'; /* one character altered */
	assert_int_equal(run("ticket verify %s --keys %s", tok2, keys), 1);
	contains(err, "token_invalid");
	snprintf(png, sizeof png, "%s/t.png", h.dir);
	snprintf(svg, sizeof svg, "%s/t.svg", h.dir);
	assert_int_equal(run("ticket qr " EVENT " %" PRIu64 " --png %s --svg %s", t, png, svg), 0);
	contains(out, "QR code version 8, 49 x 49 modules");
	well_formed(svg);
	qr_reads_back(png, tok);
	snprintf(svg, sizeof svg, "%s/page.svg", h.dir);
	assert_int_equal(run("ticket print " EVENT " %" PRIu64 " --venue %s --out %s", t, arena,
			     svg),
			 0);
	well_formed(svg);
	if (have("rsvg-convert")) { /* the printed page scans as the phone's code */
		char cmd[3 * PATH_MAX];
		snprintf(cmd, sizeof cmd, "rsvg-convert -w 900 '%s' -o '%s'", svg, png);
		assert_int_equal(system(cmd), 0);
		qr_reads_back(png, tok);
	}
	assert_int_equal(run("ticket token " EVENT " %" PRIu64, t + 1), 0);
	snprintf(tok2, sizeof tok2, "%.128s", out);
	assert_int_equal(run("refund " EVENT " %" PRIu64, t + 1), 0);
	assert_int_equal(run("ticket token " EVENT " %" PRIu64, t + 1), 1);
	contains(err, "is refunded: it has no token");
	assert_int_equal(run("redeem " EVENT " --token %s --gate 4", tok2), 1);
	contains(err, "token_revoked");
	/* event 0: a token of any event (it said "event 0 out of range") */
	assert_int_equal(run("redeem 0 --token %s --gate 4", tok2), 1);
	contains(err, "token_revoked");
	assert_int_equal(run("redeem " EVENT " --token %s --gate 4", tok), 0);
	assert_int_equal(run("redeem " EVENT " --token %s --gate 5", tok), 1);
	contains(err, "ticket_already_redeemed");
}

static void update_and_codes(void **state)
{
	(void)state;
	assert_int_equal(run("event update " EVENT " --state paused --limit 4"), 0);
	assert_int_equal(run("hold " EVENT " 1 1 --customer 50"), 1);
	contains(err, "event_not_on_sale");
	assert_int_equal(run("event update " EVENT " --state on_sale --public now+1d"), 0);
	assert_int_equal(run("hold " EVENT " 1 1 --customer 50"), 1);
	contains(err, "presale_code_required");
	assert_int_equal(run("code add " EVENT " EARLY --uses 1"), 0);
	assert_int_equal(run("hold " EVENT " 1 1 --customer 50 --code EARLY"), 0);
	assert_int_equal(run("hold " EVENT " 1 1 --customer 51 --code FANCLUB"), 0);
	/* the file's units are all placed: no room for another tier */
	assert_int_equal(run("tier add " EVENT " 5 --ga 100 --price 20 --name Terrace"), 1);
	contains(err, "event_full (16)");
	assert_int_equal(run("event show " EVENT " --json"), 0);
	assert_int_equal(json_u64("customer_limit"), 4);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(create_arena),
		cmocka_unit_test(ticket_life),
		cmocka_unit_test(box_office_and_exchange),
		cmocka_unit_test(figures),
		cmocka_unit_test(seatmap),
		cmocka_unit_test(bad_input),
		cmocka_unit_test(help_everywhere),
		cmocka_unit_test(e_tickets),
		cmocka_unit_test(update_and_codes),
	};

	(void)argc;
	argv0 = argv[0];
	return cmocka_run_group_tests(tests, setup, teardown);
}
