/*
 * test_server_tickets.c — e-tickets against a real onsaled (1 and 3
 * shards): keys created on the first start (mode 0600, the public key file
 * a scanner loads), tokens in CONFIRM_TOKENS and Q_TICKET_TOKEN replies that
 * verify offline, REDEEM_TOKEN refusing a forged, altered, other-event,
 * out-of-window, revoked (refunded, exchanged) or retired-key token, the
 * revocation list with its versions after refunds and exchanges, and key
 * rotation across restarts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tests/support/srv_event.h"
#include "tests/support/srv_harness.h"

#define EV 7
#define EV_OTHER 8
#define EV_LATER 9
#define DAY_MS (24ull * 60 * 60 * 1000)

static const char *argv0;

static uint64_t wall_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct conns {
	struct onsale *admin, *plat, *scan;
	uint16_t shards;
};

static void open_all(struct srv *h, struct conns *c)
{
	c->admin = srv_open(h, ONSALE_ROLE_ADMIN);
	c->plat = srv_open(h, ONSALE_ROLE_PLATFORM);
	c->scan = srv_open(h, ONSALE_ROLE_SCANNER);
	assert_non_null(c->admin);
	assert_non_null(c->plat);
	assert_non_null(c->scan);
	c->shards = (uint16_t)h->shards;
}

static void close_all(struct conns *c)
{
	onsale_close(c->admin);
	onsale_close(c->plat);
	onsale_close(c->scan);
}

/* Buys qty GA units for customer with their tokens; the hold view in *res. */
static void buy(struct conns *c, uint32_t event_id, uint8_t qty, uint64_t customer,
		struct result *res, struct onsale_tokens *tok)
{
	assert_int_equal(onsale_hold_ga(c->plat, event_id, TV_TIER_GA, qty, customer, 0, res),
			 ST_OK);
	uint64_t hold = res->hold.hold_id;
	assert_int_equal(onsale_confirm_tokens(c->plat, event_id, hold, qty * TV_PRICE_GA, "pay",
					       res, tok),
			 ST_OK);
	assert_int_equal(tok->count, qty);
}

static void keys_of(struct srv *h, struct conns *c, struct token_keys *keys)
{
	char path[400];
	struct token_keys file;
	struct stat st;
	snprintf(path, sizeof path, "%s/keys/ticket-keys.pub", h->dir);
	assert_int_equal(onsale_ticket_keys_load(path, &file), 0);
	assert_int_equal(onsale_ticket_keys(c->scan, keys), ST_OK);
	assert_int_equal(file.count, keys->count);
	assert_memory_equal(&file.keys, &keys->keys, keys->count * sizeof keys->keys[0]);
	for (uint32_t i = 0; i < keys->count; i++) {
		snprintf(path, sizeof path, "%s/keys/ticket-%u.key", h->dir, keys->keys[i].key_id);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
}

/* Tokens of a confirm verify offline and are the tokens Q_TICKET_TOKEN gives. */
static void tokens_verify(struct conns *c, const struct token_keys *keys,
			  const struct result *order, const struct onsale_tokens *tok)
{
	struct token_claims cl;
	struct onsale_tokens again;
	struct result res;
	for (unsigned k = 0; k < tok->count; k++) {
		assert_int_equal(token_check(keys, tok->bytes[k], EV, wall_now_ms(), &cl), ST_OK);
		assert_int_equal(cl.ticket_id, order->hold.first_ticket_id + k);
		assert_int_equal(cl.event_id, EV);
		assert_int_equal(cl.seat, SEAT_NONE);
		assert_int_equal(onsale_query_ticket_token(c->plat, EV, cl.ticket_id, &res, &again),
				 ST_OK);
		assert_int_equal(again.count, 1);
		assert_memory_equal(again.bytes[0], tok->bytes[k], TOKEN_BYTES);
	}
}

/* What the gate refuses, each with its own status, and what it admits. */
static void redeem_refusals(struct conns *c, const struct onsale_tokens *tok)
{
	uint8_t bad[TOKEN_BYTES];
	struct result res;
	struct onsale_tokens other;

	memcpy(bad, tok->bytes[0], TOKEN_BYTES);
	bad[40] ^= 0x01; /* a forged signature */
	assert_int_equal(onsale_redeem_token(c->scan, EV, bad, 3, &res), ST_TOKEN_INVALID);
	memcpy(bad, tok->bytes[0], TOKEN_BYTES);
	bad[8] ^= 0x01; /* another ticket id: altered */
	assert_int_equal(onsale_redeem_token(c->scan, EV, bad, 3, &res), ST_TOKEN_INVALID);
	bad[8] ^= 0x01;
	bad[20] ^= 0x40; /* a key id we do not have */
	assert_int_equal(onsale_redeem_token(c->scan, EV, bad, 3, &res), ST_TOKEN_KEY_UNKNOWN);

	buy(c, EV_OTHER, 1, 501, &res, &other);
	assert_int_equal(onsale_redeem_token(c->scan, EV, other.bytes[0], 3, &res),
			 ST_TOKEN_OTHER_EVENT);
	assert_int_equal(res.ticket.event_id, EV_OTHER);
	buy(c, EV_LATER, 1, 502, &res, &other);
	assert_int_equal(onsale_redeem_token(c->scan, EV_LATER, other.bytes[0], 3, &res),
			 ST_TOKEN_NOT_YET_VALID);

	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[0], 3, &res), ST_OK);
	assert_int_equal(res.ticket.state, TICKET_REDEEMED);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[0], 4, &res),
			 ST_TICKET_ALREADY_REDEEMED);
	assert_int_equal(res.ticket.gate_id, 3);
}

struct seen {
	uint64_t ids[64];
	unsigned n;
};

static void note(void *arg, uint64_t ticket_id)
{
	struct seen *s = arg;
	assert_true(s->n < 64);
	s->ids[s->n++] = ticket_id;
}

static int seen_has(const struct seen *s, uint64_t id)
{
	for (unsigned i = 0; i < s->n; i++)
		if (s->ids[i] == id)
			return 1;
	return 0;
}

/* A refund and an exchange revoke: REDEEM_TOKEN says so, the list has
 * them, and a second sync fetches nothing again. */
static void revocations(struct conns *c, const struct result *order,
			const struct onsale_tokens *tok, struct onsale_revocations *rv)
{
	struct result res;
	struct seen seen = {0};
	struct onsale_tokens none;
	uint64_t n;
	uint64_t refunded = order->hold.first_ticket_id + 1,
		 exchanged = order->hold.first_ticket_id + 2;

	assert_int_equal(onsale_refund(c->plat, EV, refunded, 0, 0, &res), ST_OK);
	assert_int_equal(onsale_exchange(c->plat, EV, exchanged, TV_TIER_GA, SEAT_NONE, &res),
			 ST_OK);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[1], 3, &res),
			 ST_TOKEN_REVOKED);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[2], 3, &res),
			 ST_TOKEN_REVOKED);
	assert_int_equal(onsale_query_ticket_token(c->plat, EV, refunded, &res, &none), ST_OK);
	assert_int_equal(res.ticket.state, TICKET_REFUNDED);
	assert_int_equal(none.count, 0); /* a revoked ticket has no token */

	assert_int_equal(onsale_revoked_sync(c->scan, rv, note, &seen, &n), ST_OK);
	assert_int_equal(n, 2);
	assert_true(seen_has(&seen, refunded) && seen_has(&seen, exchanged));
	assert_false(rv->gap);
	/* offline, the scanner's copy of the list refuses them too */
	struct token_keys keys;
	struct token_claims cl;
	uint64_t sorted[2] = {refunded < exchanged ? refunded : exchanged,
			      refunded < exchanged ? exchanged : refunded};
	assert_int_equal(onsale_ticket_keys(c->scan, &keys), ST_OK);
	assert_int_equal(token_check_revoked(&keys, tok->bytes[1], EV, wall_now_ms(), sorted, 2,
					     &cl),
			 ST_TOKEN_REVOKED);
	assert_int_equal(token_check_revoked(&keys, tok->bytes[2], EV, wall_now_ms(), sorted, 2,
					     &cl),
			 ST_TOKEN_REVOKED);
	assert_int_equal(token_check_revoked(&keys, tok->bytes[3], EV, wall_now_ms(), sorted, 2,
					     &cl),
			 ST_OK);
	assert_int_equal(onsale_revoked_sync(c->scan, rv, note, &seen, &n), ST_OK);
	assert_int_equal(n, 0);
	uint16_t at = (uint16_t)(refunded >> 56);
	assert_int_equal(onsale_query_revoked(c->scan, EV, at, 0, &res), ST_OK);
	assert_int_equal(res.revoked.first_seq, 1);
	assert_int_equal(res.revoked.last_seq, 2);
	assert_int_equal(res.revoked.more, 0);
	assert_int_equal(onsale_query_revoked(c->scan, EV, at, 1, &res), ST_OK);
	assert_int_equal(res.revoked.count, 1);
	assert_int_equal(res.revoked.ticket_ids[0], exchanged);
	assert_int_equal(onsale_query_revoked(c->scan, EV, c->shards, 0, &res), ST_BAD_ARGUMENT);
}

/* onsale-wal follow --revocations streams one line per revoked ticket
 * (from the WAL of every shard), and nothing for other records. */
static void follow_shows(struct srv *h, uint64_t a, uint64_t b)
{
	char tool[600], buf[8192], want_a[40], want_b[40];
	size_t len = 0;
	int fds[2];
	snprintf(tool, sizeof tool, "%s", h->bin);
	char *slash = strrchr(tool, '/');
	assert_non_null(slash);
	snprintf(slash + 1, sizeof tool - (size_t)(slash + 1 - tool), "onsale-wal");
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(tool, tool, "follow", "--revocations", "--from", "1", "--interval-ms", "20",
		      "--data", h->dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	snprintf(want_a, sizeof want_a, "ticket=0x%016llx", (unsigned long long)a);
	snprintf(want_b, sizeof want_b, "ticket=0x%016llx", (unsigned long long)b);
	buf[0] = 0;
	while (!strstr(buf, want_a) || !strstr(buf, want_b)) {
		ssize_t n = read(fds[0], buf + len, sizeof buf - 1 - len);
		assert_true(n > 0);
		len += (size_t)n;
		buf[len] = 0;
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	close(fds[0]);
	assert_non_null(strstr(buf, "reason=refund"));
	assert_non_null(strstr(buf, "reason=exchange new_ticket=0x"));
	unsigned lines = 0;
	for (const char *p = buf; (p = strstr(p, " revoked ")); p++)
		lines++;
	assert_int_equal(lines, 2);
}

static void load_events(struct conns *c, struct tv *tv_main)
{
	struct tv tv;
	struct cmd_event ev;
	struct result res;
	assert_int_equal(tv_load(c->admin, tv_main, EV, 60, 0, 0, 0), 0);
	assert_int_equal(tv_load(c->admin, &tv, EV_OTHER, 60, 0, 0, 0), 0);
	assert_int_equal(tv_load(c->admin, &tv, EV_LATER, 60, 0, 0, 0), 0);
	assert_int_equal(onsale_query_event(c->admin, EV_LATER, &res), ST_OK);
	ev = res.event.event;
	ev.starts_at_ms = wall_now_ms() + 5 * DAY_MS; /* its gates open in three days */
	assert_int_equal(onsale_event_update(c->admin, &ev, &res), ST_OK);
}

/* An exchange to a seat another shard owns revokes the old ticket at its
 * end (XCHG_END): the old ticket's shard lists it, its token is refused,
 * and the new ticket's token (from the seat's shard) admits. */
static void exchange_elsewhere(struct conns *c, const struct tv *tv, struct onsale_revocations *rv)
{
	struct result res;
	struct onsale_tokens tok, fresh;
	struct seen seen = {0};
	uint64_t n;
	uint32_t seat = tv->seat_first[0] + 5, target = tv->seat_first[1] + 5;

	assert_int_not_equal(seat >> 24, target >> 24); /* two shards */
	assert_int_equal(onsale_hold_seats(c->plat, EV, TV_TIER_A, &seat, 1, 2002, 0, &res), ST_OK);
	assert_int_equal(onsale_confirm_tokens(c->plat, EV, res.hold.hold_id, TV_PRICE_A, "pay",
					       &res, &tok),
			 ST_OK);
	uint64_t old = res.hold.first_ticket_id;
	assert_int_equal(onsale_exchange(c->plat, EV, old, TV_TIER_A, target, &res), ST_OK);
	uint64_t new_id = res.ticket.ticket_id;
	assert_int_equal(res.ticket.seat, target);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok.bytes[0], 3, &res), ST_TOKEN_REVOKED);
	assert_int_equal(onsale_revoked_sync(c->scan, rv, note, &seen, &n), ST_OK);
	assert_int_equal(n, 1);
	assert_int_equal(seen.ids[0], old);
	assert_int_equal(onsale_query_ticket_token(c->plat, EV, new_id, &res, &fresh), ST_OK);
	assert_int_equal(fresh.count, 1);
	assert_int_equal(onsale_redeem_token(c->scan, EV, fresh.bytes[0], 3, &res), ST_OK);
	assert_int_equal(res.ticket.ticket_id, new_id);
}

static void restart(struct srv *h, struct conns *c, const char *opt, const char *arg)
{
	close_all(c);
	assert_int_equal(srv_stop(h), 0);
	h->args[0] = opt;
	h->args[1] = arg;
	h->args[2] = NULL;
	assert_int_equal(srv_spawn(h), 0);
	open_all(h, c);
}

/* keys/ lost from a data directory that has served (a restore that left it
 * out): the start is refused, saying what to do (it made key 1 afresh, under
 * the id of a lost key, and started); --ticket-key-new makes a new key, and
 * the tokens of the lost ones no longer verify. */
static void keys_lost(struct srv *h, struct conns *c, const struct onsale_tokens *tok)
{
	char cmd[512], said[4096];
	struct token_keys keys;
	struct result res;
	close_all(c);
	assert_int_equal(srv_stop(h), 0);
	snprintf(cmd, sizeof cmd, "rm -r '%s/keys'", h->dir);
	assert_int_equal(system(cmd), 0);
	long at = srv_log_size(h);
	h->args[0] = NULL;
	assert_int_equal(srv_spawn(h), -ECHILD);
	assert_int_equal(h->exit_status, 1);
	srv_log_since(h, at, said, sizeof said);
	assert_non_null(strstr(said, "msg=\"ticket keys missing\""));
	assert_non_null(strstr(said, "--ticket-key-new"));
	assert_null(strstr(said, "msg=\"recovered\""));
	h->args[0] = "--ticket-key-new";
	assert_int_equal(srv_spawn(h), 0);
	open_all(h, c);
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[2], 3, &res),
			 ST_TOKEN_INVALID);

	/* nothing can be written in keys/ (here its temp file name is taken by
	 * a directory; on a full disk alike): a start that changes no key
	 * writes nothing there and starts (it rewrote ticket-keys.pub and
	 * failed) */
	close_all(c);
	assert_int_equal(srv_stop(h), 0);
	snprintf(cmd, sizeof cmd, "%s/keys/ticket-keys.pub.tmp", h->dir);
	assert_int_equal(mkdir(cmd, 0700), 0);
	h->args[0] = NULL;
	assert_int_equal(srv_spawn(h), 0);
	open_all(h, c);
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(rmdir(cmd), 0);
}

/* A new key signs new tokens while the old one verifies, also after a
 * restart; retired, the old key's tokens are refused. */
static void rotation(struct srv *h, struct conns *c, const struct onsale_tokens *tok)
{
	struct token_keys keys;
	struct token_claims cl;
	struct onsale_tokens now;
	struct result res;

	restart(h, c, "--ticket-key-new", NULL);
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 2);
	assert_int_equal(token_check(&keys, tok->bytes[3], EV, wall_now_ms(), &cl), ST_OK);
	assert_int_equal(cl.key_id, 1);
	assert_int_equal(onsale_query_ticket_token(c->plat, EV, cl.ticket_id, &res, &now), ST_OK);
	assert_int_equal(token_check(&keys, now.bytes[0], EV, wall_now_ms(), &cl), ST_OK);
	assert_int_equal(cl.key_id, 2);
	restart(h, c, NULL, NULL); /* the rotation is in the data directory */
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 2);
	struct onsale_tokens replayed; /* derived from the recovered state: the same bytes */
	assert_int_equal(onsale_query_ticket_token(c->plat, EV, cl.ticket_id, &res, &replayed),
			 ST_OK);
	assert_int_equal(replayed.count, 1);
	assert_memory_equal(replayed.bytes[0], now.bytes[0], TOKEN_BYTES);

	restart(h, c, "--ticket-key-retire", "1");
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(keys.keys[0].key_id, 2);
	assert_int_equal(token_check(&keys, tok->bytes[3], EV, wall_now_ms(), &cl),
			 ST_TOKEN_KEY_UNKNOWN);
	assert_int_equal(onsale_redeem_token(c->scan, EV, tok->bytes[3], 3, &res),
			 ST_TOKEN_KEY_UNKNOWN);
	assert_int_equal(onsale_redeem_token(c->scan, EV, now.bytes[0], 3, &res), ST_OK);

	/* the same option again (left in a unit file): nothing to do, it
	 * starts (it failed, saying the keys directory did not exist) */
	restart(h, c, "--ticket-key-retire", "1");
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(keys.keys[0].key_id, 2);

	/* a key that does not exist: refused before any shard is recovered
	 * (it was refused after them, a long wait on a large WAL) */
	close_all(c);
	assert_int_equal(srv_stop(h), 0);
	long at = srv_log_size(h);
	h->args[0] = "--ticket-key-retire";
	h->args[1] = "99";
	assert_int_equal(srv_spawn(h), -ECHILD);
	char said[4096];
	srv_log_since(h, at, said, sizeof said);
	assert_non_null(strstr(said, "there is no ticket key 99"));
	assert_null(strstr(said, "msg=\"recovered\""));
	/* a start that fails (its port taken) changes no key: a retried
	 * --ticket-key-new added a key per attempt */
	int busy = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(h->port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(busy, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(busy, 1), 0);
	h->args[0] = "--ticket-key-new";
	h->args[1] = NULL;
	srv_spawn(h); /* may take our listener for the server's */
	int st = 0;
	for (int i = 0; i < 1000 && h->pid > 0 && waitpid(h->pid, &st, WNOHANG) == 0; i++)
		usleep(10000);
	/* refused: seen exiting by srv_spawn, or by the loop above */
	assert_int_equal(h->pid <= 0 ? h->exit_status : WIFEXITED(st) ? WEXITSTATUS(st) : -1, 1);
	h->pid = -1;
	close(busy);
	h->args[0] = NULL;
	assert_int_equal(srv_spawn(h), 0);
	open_all(h, c);
	keys_of(h, c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(keys.keys[0].key_id, 2);
	keys_lost(h, c, tok);
}

static void run(unsigned shards)
{
	struct srv h;
	struct conns c;
	struct token_keys keys;
	struct result order;
	struct onsale_tokens tok;
	struct onsale_revocations rv = {.event_id = EV};
	struct tv tv;

	srv_init(&h, argv0, shards);
	assert_int_equal(srv_start(&h), 0);
	open_all(&h, &c);
	rv.shard_count = c.shards;
	keys_of(&h, &c, &keys);
	assert_int_equal(keys.count, 1);
	assert_int_equal(keys.keys[0].key_id, 1);
	load_events(&c, &tv);

	buy(&c, EV, 4, 1001, &order, &tok);
	tokens_verify(&c, &keys, &order, &tok);
	redeem_refusals(&c, &tok);
	revocations(&c, &order, &tok, &rv);
	follow_shows(&h, order.hold.first_ticket_id + 1, order.hold.first_ticket_id + 2);
	if (shards > 1)
		exchange_elsewhere(&c, &tv, &rv);
	rotation(&h, &c, &tok);

	close_all(&c);
	srv_cleanup(&h);
}

static void one_shard(void **state)
{
	(void)state;
	run(1);
}

static void three_shards(void **state)
{
	(void)state;
	run(3);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(one_shard),
		cmocka_unit_test(three_shards),
	};
	(void)argc;
	argv0 = argv[0];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
