/*
 * test_server_guard.c — a real onsaled against clients that misbehave as
 * an attacker or a careless client would (net/guard/, docs/OPERATIONS.md
 * "Deadlines and connection limits"): thousands of silent sockets from
 * one address, a socket that never says HELLO, a slowloris frame, idle
 * connections, a flood past the connection limits, 10,000 idle
 * connections and their memory, the memory of closed connections that
 * sent large partial frames, and a server out of files. Offenders come
 * from 127.0.0.2 and up, the well-behaved client from 127.0.0.1. Every
 * wait is bounded; small deadlines by option keep each case to seconds.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "net/proto/proto.h"
#include "tests/support/proc_stat.h"
#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

static const char *argv0;

#define HEAD_BYTES (PROTO_HEADER_BYTES + PROTO_REPLY_HEAD_BYTES) /* a head-only reply */

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000};
	nanosleep(&t, NULL);
}

/* As many files as the hard limit allows: the floods below need them. */
static void raise_nofile(void)
{
	struct rlimit rl;
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
}

/* A connection to the server from source address src (127.0.0.x). */
static int connect_from(const struct srv *h, const char *src)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	int one = 1; /* the port is chosen at connect, by the whole 4-tuple */
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	struct sockaddr_in a = {.sin_family = AF_INET};
	inet_pton(AF_INET, src, &a.sin_addr);
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(h->port)};
	inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) ||
	    connect(fd, (struct sockaddr *)&to, sizeof to)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* The status of the next head-only reply on fd within timeout_ms; -1:
 * nothing came, -2: EOF or reset first. */
static int read_status(int fd, int timeout_ms)
{
	uint8_t buf[HEAD_BYTES];
	size_t got = 0;
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	while (got < sizeof buf) {
		int left_ms = (int)(end > now_ms() ? end - now_ms() : 0);
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, left_ms) <= 0)
			return -1;
		ssize_t n = recv(fd, buf + got, sizeof buf - got, 0);
		if (n <= 0)
			return -2;
		got += (size_t)n;
	}
	struct proto_reply rep;
	assert_int_equal(proto_decode_reply(buf, sizeof buf, &rep), (long)sizeof buf);
	assert_int_equal(rep.request_id, 0);
	return (int)rep.res.status;
}

/* Whether fd reads EOF (an orderly close) within timeout_ms. */
static bool eof_within(int fd, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint8_t b;
	return poll(&p, 1, timeout_ms) == 1 && recv(fd, &b, 1, 0) == 0;
}

static size_t frame(uint8_t *buf, size_t cap, const struct proto_request *req)
{
	size_t n = proto_encode_request(buf, cap, req);
	assert_true(n > 0);
	return n;
}

/* Sends HELLO as role on a raw socket (the reply is read later). */
static void send_hello(const struct srv *h, int fd, int role)
{
	struct proto_request req = {.request_id = 1, .opcode = PROTO_OP_HELLO};
	req.hello.role = (uint8_t)role;
	memcpy(req.hello.key, h->keys[role], PROTO_KEY_BYTES);
	uint8_t buf[256];
	size_t n = frame(buf, sizeof buf, &req);
	assert_int_equal(send(fd, buf, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* The HELLO reply on fd: its status. */
static int hello_status(int fd)
{
	uint8_t buf[256];
	size_t got = 0;
	struct proto_reply rep;
	long n = 0;
	while (n == 0) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		assert_int_equal(poll(&p, 1, 5000), 1);
		ssize_t r = recv(fd, buf + got, sizeof buf - got, 0);
		assert_true(r > 0);
		got += (size_t)r;
		n = proto_decode_reply(buf, got, &rep);
	}
	assert_true(n > 0);
	assert_int_equal(rep.opcode, PROTO_OP_HELLO);
	return (int)rep.res.status;
}

static uint64_t stat_of(struct onsale *admin, int slot)
{
	struct onsale_server_stats ss;
	assert_int_equal(onsale_server_stats(admin, &ss), ST_OK);
	return ss.counters[slot];
}

static void start(struct srv *h, unsigned shards, const char *const *args)
{
	srv_init(h, argv0, shards);
	for (int i = 0; args && args[i]; i++)
		h->args[i] = args[i];
	assert_int_equal(srv_start(h), 0);
}

/* A connection limit below the shard count cannot give every shard a
 * quota: onsaled exits 2 and says what to give, from the option or the
 * config file alike (before, it quietly let each shard take one, so
 * --max-connections 1 on 2 shards held 2). */
static void limit_below_the_shards_refused(void **state)
{
	(void)state;
	static const char *const runs[][2] = {{"--max-connections", "1"},
					      {"--max-connections-per-address", "1"},
					      {NULL, NULL}};
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		struct srv h;
		char path[600], log[2048];
		srv_init(&h, argv0, 2);
		assert_int_equal(srv_prepare(&h), 0);
		h.args[0] = runs[i][0];
		h.args[1] = runs[i][1];
		if (!runs[i][0]) { /* the config file's line instead of an option */
			snprintf(path, sizeof path, "%s/onsaled.conf", h.dir);
			FILE *f = fopen(path, "a");
			assert_non_null(f);
			fputs("max_connections=1\n", f);
			fclose(f);
		}
		assert_int_equal(srv_spawn(&h), -ECHILD);
		assert_int_equal(h.exit_status, 2);
		srv_log_since(&h, 0, log, sizeof log);
		assert_non_null(strstr(log, "is below the 2 shards"));
		assert_non_null(strstr(log, "give at least 2, or 0 for no limit"));
		srv_cleanup(&h);
	}
}

/* 3,000 sockets from one address that connect and never send a byte:
 * they get the address's 64 connections and no more (the rest read
 * too_many_connections), and a platform client still connects and buys. */
static void silent_flood_leaves_room_for_a_buyer(void **state)
{
	(void)state;
	enum { FLOOD = 3000 };
	static int fds[FLOOD];
	struct srv h;
	struct tv tv;
	struct result res;
	raise_nofile();
	start(&h, 2, NULL);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	assert_int_equal(tv_load(admin, &tv, 7, 100, 0, 0, 1), 0);
	for (int i = 0; i < FLOOD; i++) {
		fds[i] = connect_from(&h, "127.0.0.2");
		assert_true(fds[i] >= 0);
	}
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	assert_int_equal(onsale_hold_ga(plat, 7, TV_TIER_GA, 2, 1001, 55, &res), ST_OK);
	assert_int_equal(onsale_confirm(plat, 7, res.hold.hold_id, 2 * TV_PRICE_GA, "pay-1", &res),
			 ST_OK);
	static bool done[FLOOD];
	int refused = 0;
	for (int pass = 0; pass < 30 && refused < FLOOD - (int)GUARD_CONNS_PER_ADDR_DEFAULT;
	     pass++) {
		for (int i = 0; i < FLOOD; i++) /* nothing waits: refusals come at accept */
			if (!done[i] && read_status(fds[i], 0) == ST_TOO_MANY_CONNECTIONS)
				done[i] = true, refused++;
		sleep_ms(100);
	}
	assert_int_equal(refused, FLOOD - (int)GUARD_CONNS_PER_ADDR_DEFAULT);
	assert_int_equal(stat_of(admin, ONSALE_STAT_CONNECTIONS_REFUSED), refused);
	for (int i = 0; i < FLOOD; i++)
		close(fds[i]);
	onsale_close(plat);
	onsale_close(admin);
	srv_cleanup(&h);
}

/* A socket that never says HELLO reads status timeout after the HELLO
 * deadline, then EOF; an authenticated client carries on. */
static void hello_deadline(void **state)
{
	(void)state;
	static const char *const args[] = {"--hello-timeout-ms", "600", NULL};
	struct srv h;
	start(&h, 2, args);
	struct onsale *plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	assert_non_null(plat);
	uint64_t t0 = now_ms();
	int fd = connect_from(&h, "127.0.0.2");
	assert_true(fd >= 0);
	assert_int_equal(read_status(fd, 3000), ST_TIMEOUT);
	assert_true(now_ms() - t0 >= 550);
	assert_true(eof_within(fd, 2000));
	close(fd);
	sleep_ms(300); /* plat is past the HELLO deadline too: authenticated, it stays */
	assert_int_equal(onsale_ping(plat), ST_OK);
	onsale_close(plat);
	srv_cleanup(&h);
}

/* Slowloris: a PING sent a byte every 150 ms (3.6 s for the frame)
 * against a 1 s frame deadline is cut off with status timeout before it
 * is complete. */
static void slowloris_frame_deadline(void **state)
{
	(void)state;
	static const char *const args[] = {"--frame-timeout-ms", "1000", NULL};
	struct srv h;
	start(&h, 2, args);
	int fd = connect_from(&h, "127.0.0.2");
	assert_true(fd >= 0);
	send_hello(&h, fd, ONSALE_ROLE_PLATFORM);
	assert_int_equal(hello_status(fd), ST_OK);
	struct proto_request ping = {.request_id = 2, .opcode = PROTO_OP_PING};
	uint8_t buf[64];
	size_t n = frame(buf, sizeof buf, &ping), sent = 0;
	uint64_t t0 = now_ms();
	int st = -1;
	while (sent < n && st == -1) {
		if (send(fd, buf + sent, 1, MSG_NOSIGNAL) != 1)
			break;
		sent++;
		st = read_status(fd, 150);
	}
	if (st == -1)
		st = read_status(fd, 2000);
	assert_int_equal(st, ST_TIMEOUT);
	assert_true(sent < n);
	assert_true(now_ms() - t0 >= 900);
	assert_true(eof_within(fd, 2000));
	close(fd);
	srv_cleanup(&h);
}

/* An idle authenticated connection is closed after the idle timeout with
 * status timeout; one that keeps sending requests across it is not. */
static void idle_timeout(void **state)
{
	(void)state;
	static const char *const args[] = {"--idle-timeout-ms", "1000", NULL};
	struct srv h;
	start(&h, 2, args);
	struct onsale *busy = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(busy);
	int fd = connect_from(&h, "127.0.0.2");
	assert_true(fd >= 0);
	send_hello(&h, fd, ONSALE_ROLE_PLATFORM);
	assert_int_equal(hello_status(fd), ST_OK);
	uint64_t t0 = now_ms();
	int st = -1;
	for (int i = 0; i < 15 && st == -1; i++) { /* 3 s at most */
		assert_int_equal(onsale_ping(busy), ST_OK);
		st = read_status(fd, 200);
	}
	assert_int_equal(st, ST_TIMEOUT);
	uint64_t idle_ms = now_ms() - t0;
	assert_true(idle_ms >= 950 && idle_ms < 3000);
	assert_true(eof_within(fd, 2000));
	close(fd);
	for (int i = 0; i < 8; i++) { /* 1.6 s more of requests: still open */
		assert_int_equal(onsale_ping(busy), ST_OK);
		sleep_ms(200);
	}
	assert_int_equal(stat_of(busy, ONSALE_STAT_CONNECTIONS_TIMED_OUT), 1);
	onsale_close(busy);
	srv_cleanup(&h);
}

/* A flood from six addresses past --max-connections 20 and
 * --max-connections-per-address 8: every refused connection reads
 * too_many_connections then EOF, no address holds more than 8, and
 * connections_open never passes 20. */
static void flood_past_the_limits(void **state)
{
	(void)state;
	static const char *const args[] = {"--max-connections", "20",
					   "--max-connections-per-address", "8", NULL};
	enum { ADDRS = 6, EACH = 12 };
	struct srv h;
	int fds[ADDRS][EACH];
	start(&h, 2, args);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	for (int a = 0; a < ADDRS; a++) {
		char src[32];
		snprintf(src, sizeof src, "127.0.0.%d", 3 + a);
		for (int i = 0; i < EACH; i++) {
			fds[a][i] = connect_from(&h, src);
			assert_true(fds[a][i] >= 0);
		}
		sleep_ms(50);
		assert_true(stat_of(admin, ONSALE_STAT_CONNECTIONS_OPEN) <= 20);
	}
	int accepted = 0, refused = 0;
	sleep_ms(200); /* refusals come at accept; let-in sockets read nothing */
	for (int a = 0; a < ADDRS; a++) {
		int here = 0;
		for (int i = 0; i < EACH; i++) {
			int st = read_status(fds[a][i], 0);
			if (st == -1) { /* let in: nothing to read */
				here++;
				continue;
			}
			assert_int_equal(st, ST_TOO_MANY_CONNECTIONS);
			assert_true(eof_within(fds[a][i], 1000));
			refused++;
		}
		assert_true(here <= 8);
		accepted += here;
	}
	assert_true(accepted >= 1 && accepted <= 19); /* the admin has one of 20 */
	assert_int_equal(accepted + refused, ADDRS * EACH);
	assert_int_equal(stat_of(admin, ONSALE_STAT_CONNECTIONS_REFUSED), refused);
	assert_true(stat_of(admin, ONSALE_STAT_CONNECTIONS_OPEN) <= 20);
	for (int a = 0; a < ADDRS; a++)
		for (int i = 0; i < EACH; i++)
			close(fds[a][i]);
	/* libonsale from 127.0.0.1 (the admin's address) past its 8: refused */
	struct onsale *more[12] = {0};
	int opened = 0, refused_open = 0;
	for (int i = 0; i < 12; i++) {
		int rc = onsale_open("127.0.0.1", h.port, ONSALE_ROLE_PLATFORM,
				     h.keys[ONSALE_ROLE_PLATFORM], NULL, &more[i]);
		if (rc == 0)
			opened++;
		else
			assert_int_equal(rc, -ECONNREFUSED), refused_open++;
	}
	assert_true(opened <= 7 && refused_open >= 5);
	for (int i = 0; i < 12; i++)
		if (more[i])
			onsale_close(more[i]);
	onsale_close(admin);
	srv_cleanup(&h);
}

static long rss_kib(pid_t pid)
{
	long kib = proc_rss_kib(pid);
	assert_true(kib > 0);
	return kib;
}

/* 10,000 authenticated idle connections from four addresses on a
 * two-shard server: all held, and the server's memory grows by less than
 * GUARD_TEST_KIB_PER_CONN each (docs/OPERATIONS.md, "Connections and
 * memory"). */
#define GUARD_TEST_CONNS 10000
#define GUARD_TEST_KIB_PER_CONN 16
static void ten_thousand_idle_connections(void **state)
{
	(void)state;
	static const char *const args[] = {"--max-connections-per-address", "0", NULL};
	static int fds[GUARD_TEST_CONNS];
	struct srv h;
	raise_nofile();
	start(&h, 2, args);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	long before = rss_kib(h.pid);
	for (int i = 0; i < GUARD_TEST_CONNS; i++) {
		char src[32];
		snprintf(src, sizeof src, "127.0.0.%d", 2 + i % 4);
		fds[i] = connect_from(&h, src);
		assert_true(fds[i] >= 0);
		send_hello(&h, fds[i], ONSALE_ROLE_PLATFORM);
	}
	for (int i = 0; i < GUARD_TEST_CONNS; i++)
		assert_int_equal(hello_status(fds[i]), ST_OK);
	assert_int_equal(stat_of(admin, ONSALE_STAT_CONNECTIONS_OPEN), GUARD_TEST_CONNS + 1);
	long after = rss_kib(h.pid);
	print_message("rss before %ld KiB, with %d connections %ld KiB: %.2f KiB each\n", before,
		      GUARD_TEST_CONNS, after, (double)(after - before) / GUARD_TEST_CONNS);
	assert_true(after - before < (long)GUARD_TEST_CONNS * GUARD_TEST_KIB_PER_CONN);
	for (int i = 0; i < GUARD_TEST_CONNS; i++)
		close(fds[i]);
	onsale_close(admin);
	srv_cleanup(&h);
}

/* 150 connections without a key, each sending the first 60,000 bytes of
 * a 65,512-byte frame and no more, raise the server's memory by their
 * input buffers; once they close, most of it comes back (all but the first
 * CONN_IN_KEEP_BYTES of each: under half the rise). Before, a slot's pages
 * stayed resident once touched: clients with no key could raise the
 * server's memory for good. */
#define PARTIAL_CONNS 150
#define PARTIAL_BYTES 60000
static void partial_frames_give_memory_back(void **state)
{
	(void)state;
	static const char *const args[] = {"--max-connections-per-address", "0", NULL};
	static int fds[PARTIAL_CONNS];
	static uint8_t frame_start[PROTO_HEADER_BYTES + PARTIAL_BYTES];
	struct srv h;
	start(&h, 1, args);
	struct onsale *admin = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(admin);
	uint32_t magic = PROTO_MAGIC, body = PROTO_BODY_BYTES_MAX;
	memcpy(frame_start, &magic, 4);
	frame_start[4] = PROTO_VERSION;
	frame_start[5] =
		PROTO_OP_SECTION_LOAD; /* a counted body: its length is checked at its end */
	memcpy(frame_start + 8, &body, 4);
	frame_start[16] = 1; /* request_id 1 */
	long before = rss_kib(h.pid), peak = before;
	for (int i = 0; i < PARTIAL_CONNS; i++) {
		fds[i] = connect_from(&h, "127.0.0.2");
		assert_true(fds[i] >= 0);
		assert_int_equal(send(fds[i], frame_start, sizeof frame_start, MSG_NOSIGNAL),
				 (ssize_t)sizeof frame_start);
	}
	long rise_min = (long)PARTIAL_CONNS * (PARTIAL_BYTES / 2 / 1024);
	for (uint64_t end = now_ms() + 5000; peak - before < rise_min && now_ms() < end;) {
		sleep_ms(50);
		peak = rss_kib(h.pid);
	}
	assert_true(peak - before >= rise_min); /* the server did read them */
	for (int i = 0; i < PARTIAL_CONNS; i++)
		close(fds[i]);
	for (uint64_t end = now_ms() + 5000;
	     stat_of(admin, ONSALE_STAT_CONNECTIONS_OPEN) > 1 && now_ms() < end;)
		sleep_ms(50);
	assert_int_equal(stat_of(admin, ONSALE_STAT_CONNECTIONS_OPEN), 1);
	long after = rss_kib(h.pid);
	print_message("rss before %ld KiB, with the partial frames %ld KiB, after they closed "
		      "%ld KiB\n",
		      before, peak, after);
	assert_true(after - before < (peak - before) / 2);
	onsale_close(admin);
	srv_cleanup(&h);
}

static long cpu_ticks(pid_t pid)
{
	long ticks = proc_cpu_ticks(pid);
	assert_true(ticks >= 0);
	return ticks;
}

static int open_files(pid_t pid)
{
	char cmd[96];
	snprintf(cmd, sizeof cmd, "ls /proc/%d/fd | wc -l", (int)pid);
	FILE *p = popen(cmd, "r");
	int n = -1;
	assert_non_null(p);
	assert_int_equal(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}

static int log_count(const struct srv *h, const char *what)
{
	char path[320], line[1024];
	int n = 0;
	snprintf(path, sizeof path, "%s/onsaled.log", h->dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof line, f))
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

/* A server out of files (its limit lowered under it) with connections
 * waiting: it does not spin (CPU over 2 s stays small), logs once, and
 * accepts again once sockets close. */
static void out_of_files_pauses_accept(void **state)
{
	(void)state;
	enum { SOCKS = 40 };
	int fds[SOCKS];
	struct srv h;
	start(&h, 1, NULL);
	int files = open_files(h.pid);
	struct rlimit rl = {.rlim_cur = (rlim_t)files + 8, .rlim_max = (rlim_t)files + 8};
	assert_int_equal(prlimit(h.pid, RLIMIT_NOFILE, &rl, NULL), 0);
	for (int i = 0; i < SOCKS; i++) {
		fds[i] = connect_from(&h, "127.0.0.2");
		assert_true(fds[i] >= 0);
	}
	sleep_ms(300);
	long t0 = cpu_ticks(h.pid);
	sleep_ms(2000);
	long spent = cpu_ticks(h.pid) - t0;
	long hz = sysconf(_SC_CLK_TCK);
	print_message("server CPU over 2 s out of files: %ld ticks of %ld/s\n", spent, hz);
	assert_true(spent < hz / 2); /* a spinning shard burns ~2 s of it */
	assert_int_equal(log_count(&h, "accept paused"), 1);
	assert_int_equal(log_count(&h, "pauses=1 "), 1); /* the first of many */
	for (int i = 0; i < SOCKS; i++)
		close(fds[i]);
	struct onsale *plat = NULL;
	for (int i = 0; i < 6 && !plat; i++) { /* 3 s at most */
		sleep_ms(500);
		plat = srv_open(&h, ONSALE_ROLE_PLATFORM);
	}
	assert_non_null(plat);
	assert_int_equal(onsale_ping(plat), ST_OK);
	onsale_close(plat);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(limit_below_the_shards_refused),
		cmocka_unit_test(silent_flood_leaves_room_for_a_buyer),
		cmocka_unit_test(hello_deadline),
		cmocka_unit_test(slowloris_frame_deadline),
		cmocka_unit_test(idle_timeout),
		cmocka_unit_test(flood_past_the_limits),
		cmocka_unit_test(ten_thousand_idle_connections),
		cmocka_unit_test(partial_frames_give_memory_back),
		cmocka_unit_test(out_of_files_pauses_accept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
