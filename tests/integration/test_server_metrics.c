/*
 * test_server_metrics.c — a real onsaled (2 shards) with its metrics port:
 * /metrics under a little load passes `promtool check metrics` and agrees
 * with STATS; the per-tier series name only the 16 busiest events; the
 * responder's refusals (404, 405, 431); the log is logfmt (time, level,
 * shard, msg, well-formed pairs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/proc_stat.h"
#include "tests/support/srv_harness.h"

#define BODY_BYTES_MAX (4u << 20)

static const char *argv0;
static struct srv h;
static char metrics_arg[64];
static char *body; /* BODY_BYTES_MAX */

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static uint16_t metrics_port;

/* A 2-shard server with its metrics on a free port, which becomes
 * metrics_port; arg (64 bytes) holds the option's value while it runs. */
static int start_with_metrics(struct srv *s, char *arg)
{
	srv_init(s, argv0, 2);
	metrics_port = free_port();
	snprintf(arg, 64, "127.0.0.1:%u", metrics_port);
	s->args[0] = "--metrics";
	s->args[1] = arg;
	return srv_start(s);
}

static int setup(void **state)
{
	(void)state;
	body = malloc(BODY_BYTES_MAX);
	return body ? start_with_metrics(&h, metrics_arg) : -1;
}

static int teardown(void **state)
{
	(void)state;
	srv_cleanup(&h);
	free(body);
	return 0;
}

/* Sends req raw to the metrics port; the whole answer (head and body) into
 * body, its length returned. */
static size_t http(const char *req, size_t req_len)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(metrics_port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(send(fd, req, req_len, MSG_NOSIGNAL), (ssize_t)req_len);
	size_t len = 0;
	ssize_t n;
	while ((n = recv(fd, body + len, BODY_BYTES_MAX - 1 - len, 0)) > 0)
		len += (size_t)n;
	close(fd);
	body[len] = 0;
	return len;
}

static const char *get_metrics(void)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	http(req, sizeof req - 1);
	assert_non_null(strstr(body, "HTTP/1.1 200 OK\r\n"));
	char *start = strstr(body, "\r\n\r\n");
	assert_non_null(start);
	return start + 4;
}

/* Sum of every sample of the series name (any labels) whose labels
 * contain label (NULL: any); -1 when there is none. */
static double sum_of(const char *text, const char *name, const char *label)
{
	double sum = -1;
	size_t nlen = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (*p == '#' || strncmp(p, name, nlen) || (p[nlen] != '{' && p[nlen] != ' '))
			continue;
		const char *eol = strchr(p, '\n');
		const char *sp = eol ? eol : p + strlen(p);
		while (sp > p && sp[-1] != ' ')
			sp--;
		if (label) {
			const char *l = strstr(p, label);
			if (!l || (eol && l > eol))
				continue;
		}
		sum = (sum < 0 ? 0 : sum) + strtod(sp, NULL);
	}
	return sum;
}

static void promtool(const char *text)
{
	if (system("command -v promtool >/dev/null 2>&1")) {
		print_message("promtool not found (Debian's prometheus): exposition not linted\n");
		return;
	}
	char path[320], cmd[700];
	snprintf(path, sizeof path, "%s/metrics.txt", h.dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
	assert_int_equal(system(cmd), 0);
}

static void load(struct onsale *plat, uint32_t event_id, unsigned holds, unsigned confirms)
{
	struct result res;
	for (unsigned i = 0; i < holds; i++) {
		assert_int_equal(onsale_hold_ga(plat, event_id, TV_TIER_GA, 1, 5000 + i, 0, &res),
				 ST_OK);
		if (i < confirms)
			assert_int_equal(onsale_confirm(plat, event_id, res.hold.hold_id,
							TV_PRICE_GA, "pay", &res),
					 ST_OK);
	}
	assert_int_equal(onsale_hold_ga(plat, event_id, TV_TIER_GA, 0, 9999, 0, &res),
			 ST_BAD_ARGUMENT); /* one refusal counted */
}

/* Every STATS counter the server fills, against the sum of its series. */
static void compare(const char *text, const struct onsale_server_stats *ss)
{
	static const struct {
		int index;
		const char *name;
		bool grows;
	} map[] = {
		{ONSALE_STAT_CONNECTIONS_OPEN, "onsale_connections_open", false},
		{ONSALE_STAT_CONNECTIONS_TOTAL, "onsale_connections_total", false},
		{ONSALE_STAT_REQUESTS, "onsale_requests_total", true},
		{ONSALE_STAT_BAD_FRAMES, "onsale_bad_frames_total", false},
		{ONSALE_STAT_REFUSED, "onsale_refused_total", false},
		{ONSALE_STAT_BYTES_IN, "onsale_received_bytes_total", true},
		{ONSALE_STAT_BYTES_OUT, "onsale_sent_bytes_total", true},
		{ONSALE_STAT_WAL_RECORDS, "onsale_wal_records_total", false},
		{ONSALE_STAT_WAL_BYTES, "onsale_wal_written_bytes_total", false},
		{ONSALE_STAT_WAL_FSYNCS, "onsale_wal_fsyncs_total", false},
		{ONSALE_STAT_HOLDS_EXPIRED, "onsale_holds_expired_total", false},
		{ONSALE_STAT_STOCK_TRANSFERS, "onsale_stock_transfers_total", false},
		{ONSALE_STAT_WAL_ERRORS, "onsale_wal_stopped", false},
		{ONSALE_STAT_WAL_PAUSED, "onsale_wal_paused", false},
		{ONSALE_STAT_DISK_FULL_EVENTS, "onsale_disk_full_events_total", false},
		{ONSALE_STAT_CLOSED_NOT_READING, "onsale_closed_not_reading_total", false},
		{ONSALE_STAT_REQUESTS_SHED, "onsale_requests_shed_total", false},
		{ONSALE_STAT_CONNECTIONS_REFUSED, "onsale_connections_refused_total", false},
		{ONSALE_STAT_CONNECTIONS_TIMED_OUT, "onsale_connections_timed_out_total", false},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		double m = sum_of(text, map[i].name, NULL);
		uint64_t s = ss->counters[map[i].index];
		print_message("%-32s STATS %10llu  /metrics %10.0f\n", map[i].name,
			      (unsigned long long)s, m);
		if (map[i].grows) /* the STATS request itself and its reply come after */
			assert_true(m >= (double)s && m <= (double)s + 4096);
		else
			assert_true(m == (double)s);
	}
	assert_true(sum_of(text, "onsale_shards", NULL) == ss->counters[ONSALE_STAT_SHARDS]);
}

static void metrics_match_stats(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct tv tv;
	struct result res;
	assert_int_equal(tv_load(admin, &tv, 32, 10, 0, 1000, 0), 0); /* holds live 1 s */
	assert_int_equal(onsale_hold_ga(plat, 32, TV_TIER_GA, 2, 7000, 0, &res), ST_OK);
	assert_int_equal(tv_load(admin, &tv, 31, 100, 0, 0, 0), 0);
	load(plat, 31, 100, 40); /* every unit: one shard runs short and asks the other */
	struct onsale *none = srv_open(&h, 0);
	assert_non_null(none);
	assert_int_equal(onsale_ping(none), ST_UNAUTHENTICATED); /* refused */
	onsale_close(none);
	int raw = srv_raw(&h);
	uint8_t junk[64];
	memset(junk, 0xff, sizeof junk);
	assert_int_equal(send(raw, junk, sizeof junk, MSG_NOSIGNAL), (ssize_t)sizeof junk);
	while (recv(raw, junk, sizeof junk, 0) > 0) /* a bad_frame reply, then the close */
		;
	close(raw);
	usleep(1300 * 1000); /* event 32's hold expires */
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	assert_true(ss.counters[ONSALE_STAT_WAL_BYTES] > 0);
	assert_true(ss.counters[ONSALE_STAT_WAL_FSYNCS] > 0);
	assert_true(ss.counters[ONSALE_STAT_WAL_RECORDS] >= 140);
	assert_true(ss.counters[ONSALE_STAT_HOLDS_EXPIRED] >= 1);
	assert_true(ss.counters[ONSALE_STAT_STOCK_TRANSFERS] >= 1);
	assert_true(ss.counters[ONSALE_STAT_REFUSED] >= 1);
	assert_true(ss.counters[ONSALE_STAT_BAD_FRAMES] == 1);
	usleep(1100 * 1000); /* the shards publish every 100 ms, events every second */
	const char *text = get_metrics();
	promtool(text);
	compare(text, &ss);
	assert_true(sum_of(text, "onsale_operations_total", "op=\"hold\",status=\"ok\"") >= 101);
	assert_true(sum_of(text, "onsale_operations_total",
			   "op=\"hold\",status=\"bad_argument\"") == 1);
	assert_true(sum_of(text, "onsale_operations_total", "op=\"confirm\",status=\"ok\"") == 40);
	assert_true(sum_of(text, "onsale_request_duration_seconds_count", NULL) >= 142);
	assert_true(sum_of(text, "onsale_wal_fsync_duration_seconds_count", NULL) ==
		    ss.counters[ONSALE_STAT_WAL_FSYNCS]);
	assert_true(sum_of(text, "onsale_tier_sold_units", "event=\"31\",tier=\"0\"") == 40);
	assert_true(sum_of(text, "onsale_tier_held_units", "event=\"31\",tier=\"0\"") == 60);
	assert_true(sum_of(text, "onsale_tier_available_units", "event=\"31\",tier=\"0\"") == 0);
	assert_true(sum_of(text, "onsale_tier_available_units", "event=\"32\",tier=\"0\"") == 10);
	assert_true(sum_of(text, "onsale_holds_active", NULL) == 60);
	assert_true(sum_of(text, "onsale_disk_free_bytes", NULL) > 0);
	double jem = sum_of(text, "onsale_jemalloc_allocated_bytes", NULL);
	print_message("jemalloc allocated %.0f bytes (-1: not linked, as under ASan)\n", jem);
	assert_true(jem != 0);
	onsale_close(admin);
	onsale_close(plat);
}

/* 20 more events, event 100 + i with i + 1 units held: with event 31 (100
 * units held or sold, from metrics_match_stats) the tier series name the
 * 16 busiest, 31 and 105..119, and no other (not 32: nothing moves there). */
static void metrics_top_events(void **state)
{
	(void)state;
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct result res;
	for (uint32_t i = 0; i < 20; i++) {
		struct tv tv;
		assert_int_equal(tv_load(admin, &tv, 100 + i, 40, 0, 0, 0), 0);
		uint8_t first = i < 10 ? (uint8_t)(i + 1) : 10; /* a hold takes 16 units at most */
		assert_int_equal(onsale_hold_ga(plat, 100 + i, TV_TIER_GA, first, 77, 0, &res),
				 ST_OK);
		if (i >= 10)
			assert_int_equal(onsale_hold_ga(plat, 100 + i, TV_TIER_GA, (uint8_t)(i - 9),
							78, 0, &res),
					 ST_OK);
	}
	usleep(1300 * 1000);
	const char *text = get_metrics();
	promtool(text);
	for (uint32_t i = 0; i < 20; i++) {
		char label[64];
		snprintf(label, sizeof label, "event=\"%u\",tier=\"0\"", 100 + i);
		double held = sum_of(text, "onsale_tier_held_units", label);
		if (i < 5)
			assert_true(held < 0);
		else
			assert_true(held == i + 1);
	}
	assert_true(sum_of(text, "onsale_tier_sold_units", "event=\"31\",tier=\"0\"") == 40);
	unsigned series = 0;
	for (const char *p = strstr(text, "\nonsale_tier_sold_units{"); p;
	     p = strstr(p + 1, "\nonsale_tier_sold_units{"))
		series++;
	assert_int_equal(series, 16 * 3); /* three tiers each (tv_load) */
	onsale_close(admin);
	onsale_close(plat);
}

/* Figures of a shard that then goes quiet reach /metrics without another
 * request: an idle shard (no connection, no live hold: nothing to wake it)
 * slept until the next request, so its last turns' figures stayed behind
 * STATS. A server of its own: the other cases leave holds live. */
static void metrics_catch_up_when_idle(void **state)
{
	(void)state;
	struct srv quiet;
	char arg[64];
	uint16_t port = metrics_port;
	assert_int_equal(start_with_metrics(&quiet, arg), 0);
	struct onsale *admin = srv_open(&quiet, ONSALE_ROLE_ADMIN);
	struct onsale *plat = srv_open(&quiet, ONSALE_ROLE_PLATFORM);
	assert_non_null(admin);
	assert_non_null(plat);
	struct tv tv;
	struct result res;
	assert_int_equal(tv_load(admin, &tv, 200, 40, 0, 0, 0), 0);
	usleep(1100 * 1000);
	/* the first hold's turn copies its shard's figures (a second since
	 * the last copy); what follows on that shard (the customer's home)
	 * comes within the second after, which that copy missed */
	assert_int_equal(onsale_hold_ga(plat, 200, TV_TIER_GA, 1, 81, 0, &res), ST_OK);
	assert_int_equal(onsale_confirm(plat, 200, res.hold.hold_id, TV_PRICE_GA, "pay", &res),
			 ST_OK);
	assert_int_equal(onsale_hold_ga(plat, 200, TV_TIER_GA, 14, 81, 0, &res), ST_OK);
	assert_int_equal(onsale_confirm(plat, 200, res.hold.hold_id, 14 * TV_PRICE_GA, "pay", &res),
			 ST_OK);
	onsale_close(admin);
	onsale_close(plat);
	usleep(1300 * 1000);
	const char *text = get_metrics();
	assert_true(sum_of(text, "onsale_tier_sold_units", "event=\"200\",tier=\"0\"") == 15);
	assert_true(sum_of(text, "onsale_tier_available_units", "event=\"200\",tier=\"0\"") == 25);
	/* and then it sleeps: nothing due, nothing to wake for (a wait of 1 ms
	 * for figures the stats' period held back once made it spin) */
	long before = proc_wakeups(quiet.pid);
	usleep(1000 * 1000);
	long woke = proc_wakeups(quiet.pid) - before;
	print_message("quiet server: %ld wake-ups in 1 s\n", woke);
	assert_true(before >= 0 && woke <= 5);
	/* the events' figures falling due within 100 ms of a stats copy are
	 * copied with the next stats, one wake-up (it woke every 1 ms until
	 * then): a request copies both, one 950 ms later the stats only */
	plat = srv_open(&quiet, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_ping(plat), ST_OK);
	usleep(950 * 1000);
	assert_int_equal(onsale_ping(plat), ST_OK);
	onsale_close(plat);
	before = proc_wakeups(quiet.pid);
	usleep(400 * 1000);
	woke = proc_wakeups(quiet.pid) - before;
	print_message("events due after the stats: %ld wake-ups in 400 ms\n", woke);
	assert_true(woke <= 10);
	srv_cleanup(&quiet);
	metrics_port = port;
}

static void http_refusals(void **state)
{
	(void)state;
	static const char nf[] = "GET /foo HTTP/1.0\r\n\r\n";
	http(nf, sizeof nf - 1);
	assert_non_null(strstr(body, "HTTP/1.1 404 "));
	static const char post[] = "POST /metrics HTTP/1.1\r\n\r\n";
	http(post, sizeof post - 1);
	assert_non_null(strstr(body, "HTTP/1.1 405 "));
	static char big[8192];
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', sizeof big - 26);
	http(big, sizeof big);
	assert_non_null(strstr(body, "HTTP/1.1 431 "));
	static const char q[] = "GET /metrics?x=1 HTTP/1.0\r\n\r\n";
	http(q, sizeof q - 1);
	assert_non_null(strstr(body, "HTTP/1.1 200 "));
}

/* One logfmt value at p (bare or quoted with \-escapes); its end. */
static const char *value_end(const char *p)
{
	if (*p != '"') {
		while (*p && *p != ' ' && *p != '\n')
			p++;
		return p;
	}
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	assert_int_equal(*p, '"');
	return p + 1;
}

static void check_line(const char *line, unsigned *with_shard)
{
	assert_int_equal(strncmp(line, "time=", 5), 0);
	unsigned y, mo, d, hh, mm, ss, ms;
	char z;
	assert_int_equal(sscanf(line + 5, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &y, &mo, &d, &hh, &mm,
				&ss, &ms, &z),
			 8);
	assert_int_equal(z, 'Z');
	assert_true(line[5 + 24] == ' ');
	const char *p = line + 30;
	assert_true(!strncmp(p, "level=info ", 11) || !strncmp(p, "level=warn ", 11) ||
		    !strncmp(p, "level=error ", 12) || !strncmp(p, "level=debug ", 12));
	*with_shard += strstr(line, " shard=") != NULL;
	assert_non_null(strstr(line, " msg=\""));
	while (*p && *p != '\n') { /* key=value pairs, one space apart */
		const char *eq = p;
		while (*eq && *eq != '=' && *eq != ' ' && *eq != '\n')
			eq++;
		assert_int_equal(*eq, '=');
		assert_true(eq > p);
		p = value_end(eq + 1);
		assert_true(*p == ' ' || *p == '\n' || !*p);
		if (*p == ' ')
			p++;
	}
}

static void logfmt(void **state)
{
	(void)state;
	char path[320], line[4096];
	snprintf(path, sizeof path, "%s/onsaled.log", h.dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	unsigned lines = 0, with_shard = 0;
	while (fgets(line, sizeof line, f)) {
		check_line(line, &with_shard);
		lines++;
	}
	fclose(f);
	print_message("%u log lines, %u name a shard\n", lines, with_shard);
	assert_true(lines >= 4);      /* recovered x 2, listening, metrics */
	assert_true(with_shard >= 2); /* recovered, one per shard */
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(metrics_match_stats),
		cmocka_unit_test(metrics_top_events),
		cmocka_unit_test(http_refusals),
		cmocka_unit_test(logfmt),
		cmocka_unit_test(metrics_catch_up_when_idle),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
