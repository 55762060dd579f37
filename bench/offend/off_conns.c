/*
 * off_conns.c — offenders that cost the server connections rather than
 * requests: a flood of connections past the server's limit and a crowd
 * of idle ones (neither ever sends a byte, so no key is needed), and
 * clients that send requests but never read a reply. The flood and the
 * idle crowd also try what a newcomer meets meanwhile: a fresh platform
 * client from 127.0.0.1 that says HELLO and pings. The idle crowd reports
 * the server's memory per idle connection.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/offend/offend.h"
#include "net/proto/proto.h"

/* Time the server gets to settle (accept, or close what it will not keep)
 * before it is measured. */
#define SETTLE_MS 1000u
#define POLL_MS 100
/* enough for 16 on each of two shards whatever SO_REUSEPORT picks */
#define NOREAD_CONNS 48u
#define NOREAD_BATCH 64u

static int fds[OFF_CONNS_MAX];
static uint64_t opened[OFF_CONNS_MAX];
static struct pollfd pf[OFF_CONNS_MAX];

/* A newcomer's fate: "ok" or why it could not buy. */
static const char *newcomer(const struct off_env *env)
{
	struct onsale *c;
	struct onsale_options opt = {.connect_timeout_ms = 2000, .call_timeout_ms = 2000};
	int rc = onsale_open(env->host, env->port, ONSALE_ROLE_PLATFORM,
			     env->keys[ONSALE_ROLE_PLATFORM], &opt, &c);
	if (rc)
		return onsale_strerror(rc);
	rc = onsale_ping(c);
	onsale_close(c);
	return rc ? onsale_strerror(rc) : "ok";
}

/* Polls the connections until end_ns, counting those the server closes. */
static void watch(struct off_seen *seen, unsigned n, uint64_t end_ns)
{
	for (uint64_t now; (now = load_now_ns()) < end_ns;) {
		for (unsigned k = 0; k < n; k++)
			pf[k] = (struct pollfd){.fd = fds[k], .events = POLLIN | POLLRDHUP};
		int ready = poll(pf, n, POLL_MS);
		for (unsigned k = 0; ready > 0 && k < n; k++) {
			if (fds[k] < 0 || !pf[k].revents)
				continue;
			off_raw_closed(seen, opened[k], load_now_ns());
			close(fds[k]);
			fds[k] = -1;
		}
	}
}

/* Opens count connections that never send; watches them until end_ns. */
static void crowd(const struct off_env *env, struct off_seen *seen, uint64_t end_ns, unsigned count,
		  int measure)
{
	unsigned n = count < OFF_CONNS_MAX ? count : OFF_CONNS_MAX;
	uint64_t rss_before = off_venue_rss_kib(env);
	long open_before = off_venue_open_conns(env);
	uint64_t t0 = load_now_ns();
	for (unsigned k = 0; k < n; k++) {
		opened[k] = load_now_ns();
		fds[k] = load_now_ns() < end_ns ? off_raw_connect(env, k, seen) : -1;
	}
	uint64_t open_ms = (load_now_ns() - t0) / 1000000u;
	watch(seen, n, load_now_ns() + SETTLE_MS * 1000000ull);
	uint64_t rss_during = off_venue_rss_kib(env);
	long open_during = off_venue_open_conns(env);
	const char *nc = newcomer(env);
	watch(seen, n, end_ns);
	/* the server's count when it still answers STATS, else what is open here */
	long kept = open_during >= 0 && open_before >= 0 ? open_during - open_before : 0;
	for (unsigned k = 0; open_during < 0 && k < n; k++)
		kept += fds[k] >= 0;
	char per[32] = "null"; /* RSS not known: no figure */
	if (rss_before && rss_during)
		snprintf(per, sizeof per, "%.0f",
			 measure && kept > 0 && rss_during > rss_before
				 ? (double)(rss_during - rss_before) * 1024.0 / (double)kept
				 : 0);
	snprintf(seen->note, sizeof seen->note,
		 "\"asked\":%u,\"open_ms\":%llu,\"server_open_before\":%ld,"
		 "\"server_open_during\":%ld,\"newcomer\":\"%s\",\"rss_before_kib\":%s,"
		 "\"kept\":%ld,\"rss_crowd_kib\":%s,\"bytes_per_conn\":%s",
		 n, (unsigned long long)open_ms, open_before, open_during, nc,
		 off_venue_kib_json(rss_before), kept, off_venue_kib_json(rss_during), per);
	for (unsigned k = 0; k < n; k++)
		if (fds[k] >= 0) {
			seen->open_at_end++;
			close(fds[k]);
		}
}

void off_conns_flood(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	crowd(env, seen, end_ns, env->flood_conns, 0);
}

void off_conns_idle(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	crowd(env, seen, end_ns, env->idle_conns, 1);
}

void off_conns_noread(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	static uint8_t batch[NOREAD_BATCH * (PROTO_HEADER_BYTES + 32)];
	size_t len = 0;
	for (unsigned i = 0; i < NOREAD_BATCH; i++) {
		struct cmd cmd;
		onsale_prep_lookup(&cmd, CMD_Q_TICKET, env->event_id, 1 + i);
		len += proto_encode_cmd(batch + len, sizeof batch - len, i + 2, &cmd);
	}
	struct off_pipe p = {.role = ONSALE_ROLE_SCANNER,
			     .batch = batch,
			     .batch_len = len,
			     .batch_frames = NOREAD_BATCH,
			     .conns = NOREAD_CONNS,
			     .window = UINT64_MAX,
			     .read = 0};
	off_raw_pipeline(env, &p, seen, end_ns);
}
