/*
 * test_server_notify.c — onsaled under a Type=notify supervisor, played by
 * the test: it binds an AF_UNIX datagram socket, hands it to onsaled in
 * NOTIFY_SOCKET (with WATCHDOG_USEC), and reads STATUS= while recovering,
 * READY=1 once clients are accepted, WATCHDOG=1 pings at about half the
 * interval, then STOPPING=1 at SIGTERM.
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
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_harness.h"

static const char *argv0;

/* Reads datagrams for up to timeout_ms until one holds what; counts the
 * ones holding also (may be NULL). True when what came. */
static bool expect(int fd, const char *what, int timeout_ms, const char *also, unsigned *seen)
{
	char msg[1024];
	for (int waited = 0; waited < timeout_ms; waited += 10) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = recv(fd, msg, sizeof msg - 1, 0);
		if (n <= 0)
			continue;
		msg[n] = 0;
		print_message("notify: %s\n", msg);
		if (also && seen && strstr(msg, also))
			(*seen)++;
		if (strstr(msg, what))
			return true;
	}
	return false;
}

static void ready_watchdog_stopping(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 2);
	assert_int_equal(srv_prepare(&h), 0);
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int len = snprintf(a.sun_path, sizeof a.sun_path, "%.90s/notify.sock", h.dir);
	assert_true(len > 0 && (size_t)len < sizeof a.sun_path);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	setenv("NOTIFY_SOCKET", a.sun_path, 1);
	setenv("WATCHDOG_USEC", "200000", 1); /* pings every 100 ms */
	assert_int_equal(srv_spawn(&h), 0);
	unsetenv("NOTIFY_SOCKET");
	unsetenv("WATCHDOG_USEC");
	unsigned status = 0, pings = 0;
	assert_true(expect(fd, "READY=1", 10000, "STATUS=", &status));
	assert_true(status >= 1);                           /* recovering */
	struct onsale *c = srv_open(&h, ONSALE_ROLE_ADMIN); /* READY means it accepts */
	assert_non_null(c);
	assert_int_equal(onsale_ping(c), ST_OK);
	onsale_close(c);
	for (int i = 0; i < 3; i++)
		assert_true(expect(fd, "WATCHDOG=1", 2000, "WATCHDOG=1", &pings));
	assert_int_equal(srv_stop(&h), 0);
	assert_true(expect(fd, "STOPPING=1", 2000, NULL, NULL));
	close(fd);
	srv_cleanup(&h);
}

/* Without NOTIFY_SOCKET nothing changes: it starts, serves and stops. */
static void no_supervisor(void **state)
{
	(void)state;
	struct srv h;
	srv_init(&h, argv0, 1);
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(srv_start(&h), 0);
	struct onsale *c = srv_open(&h, ONSALE_ROLE_ADMIN);
	assert_non_null(c);
	assert_int_equal(onsale_ping(c), ST_OK);
	onsale_close(c);
	assert_int_equal(srv_stop(&h), 0);
	srv_cleanup(&h);
}

int main(int argc, char **argv)
{
	(void)argc;
	argv0 = argv[0];
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ready_watchdog_stopping),
		cmocka_unit_test(no_supervisor),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
