/*
 * off_load.c — offenders that are authenticated and send valid requests,
 * only too many of them: a pipelining flood of availability queries, many
 * seat-map queries in flight (each reply is a large buffer on the server),
 * and a bot that holds inventory for a crowd of customers as fast as the
 * server answers. The bot's holds live HOLD_TTL_MS_MIN; afterwards it
 * checks that no customer got past the event's limit (their counts live
 * on their home shards, the bot's connections on any shard) and that its
 * tier's held units come back once the holds expire.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bench/common/load.h"
#include "bench/offend/offend.h"
#include "net/proto/proto.h"

#define PIPE_CONNS 4u
#define PIPE_BATCH 64u
#define PIPE_WINDOW 4096u
#define SEATMAP_CONNS 16u
#define SEATMAP_WINDOW 16u
#define SEATMAP_NOREAD_CONNS 16u
#define SEATMAP_PROBE_MS 2000
#define BOT_CONNS 4u
#define BOT_WINDOW 256u
#define BOT_TRIES (OFF_CUSTOMER_LIMIT + 2u) /* holds per customer per round */
#define BOT_FRAME_BYTES (PROTO_HEADER_BYTES + 128u)
/* A look's replies are waited for this long each. */
#define BOT_LOOK_WAIT_MS 2000
/* Looks at the held units after the bot stops: every 100 ms, 5 s at most. */
#define BOT_LOOK_GAP_MS 100u
#define BOT_LOOKS_MAX 50u
/* What the bot leaves the server to expire its holds within the phase: the
 * TTL, a timer wheel tick and the WAL's fsync. */
#define BOT_EXPIRY_WAIT_MS (HOLD_TTL_MS_MIN + 1000u)

void off_load_pipeline(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	static uint8_t batch[PIPE_BATCH * (PROTO_HEADER_BYTES + 16)];
	size_t len = 0;
	for (unsigned i = 0; i < PIPE_BATCH; i++) {
		struct cmd cmd;
		onsale_prep_query(&cmd, CMD_Q_AVAILABILITY, env->event_id, 0, 0);
		len += proto_encode_cmd(batch + len, sizeof batch - len, i + 2, &cmd);
	}
	struct off_pipe p = {.role = ONSALE_ROLE_PLATFORM,
			     .batch = batch,
			     .batch_len = len,
			     .batch_frames = PIPE_BATCH,
			     .conns = PIPE_CONNS,
			     .window = PIPE_WINDOW,
			     .read = 1};
	off_raw_pipeline(env, &p, seen, end_ns);
}

/* One seat-map query of each section into batch: its length. */
static size_t seatmap_batch(const struct off_env *env, uint8_t *batch, size_t cap)
{
	size_t len = 0;
	for (unsigned k = 0; k < OFF_SECTIONS; k++) {
		struct proto_request req = {.request_id = k + 2,
					    .opcode = PROTO_OP_Q_SECTION_SEATS};
		req.seats.event_id = env->event_id;
		req.seats.section = (uint16_t)k;
		len += proto_encode_request(batch + len, cap - len, &req);
	}
	return len;
}

void off_load_seatmap(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	uint8_t batch[OFF_SECTIONS * (PROTO_HEADER_BYTES + 8)];
	struct off_pipe p = {.role = ONSALE_ROLE_PLATFORM,
			     .batch = batch,
			     .batch_len = seatmap_batch(env, batch, sizeof batch),
			     .batch_frames = OFF_SECTIONS,
			     .conns = SEATMAP_CONNS,
			     .window = SEATMAP_WINDOW,
			     .read = 1};
	off_raw_pipeline(env, &p, seen, end_ns);
}

/* A newcomer's seat-map query: "ok" or what it got instead. */
static const char *seatmap_probe(const struct off_env *env)
{
	static struct onsale_seat_states states;
	struct onsale *c;
	struct onsale_options opt = {.connect_timeout_ms = SEATMAP_PROBE_MS,
				     .call_timeout_ms = SEATMAP_PROBE_MS};
	int rc = onsale_open(env->host, env->port, ONSALE_ROLE_PLATFORM,
			     env->keys[ONSALE_ROLE_PLATFORM], &opt, &c);
	if (!rc) {
		rc = onsale_query_section_seats(c, env->event_id, 0, &states);
		onsale_close(c);
	}
	return rc ? onsale_strerror(rc) : "ok";
}

static void seatmap_probe_during(const struct off_env *env, struct off_seen *seen)
{
	snprintf(seen->note, sizeof seen->note, "\"probe_during\":\"%s\"", seatmap_probe(env));
}

/* Seat-map queries on connections that never read their replies: each
 * reply holds one of a shard's SHARD_BIGBUFS large buffers until it can
 * be written. A newcomer's seat-map query is tried half-way and again once
 * the offender has gone. */
void off_load_seatmap_noread(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	uint8_t batch[OFF_SECTIONS * (PROTO_HEADER_BYTES + 8)];
	struct off_pipe p = {.role = ONSALE_ROLE_PLATFORM,
			     .batch = batch,
			     .batch_len = seatmap_batch(env, batch, sizeof batch),
			     .batch_frames = OFF_SECTIONS,
			     .conns = SEATMAP_NOREAD_CONNS,
			     .window = UINT64_MAX,
			     .read = 0,
			     .at_half = seatmap_probe_during};
	off_raw_pipeline(env, &p, seen, end_ns);
	size_t len = strlen(seen->note);
	snprintf(seen->note + len, sizeof seen->note - len, ",\"probe_after\":\"%s\"",
		 seatmap_probe(env));
}

/* The bot's tier's held units, then its customers' largest count, all
 * pipelined on one connection so the look takes milliseconds, not a hold's
 * lifetime. */
static int bot_look(const struct off_env *env, uint32_t *units_max, uint32_t *held)
{
	struct onsale *c;
	struct onsale_options opt = {.window = OFF_BOT_CUSTOMERS + 1};
	struct onsale_completion d;
	struct cmd q;
	int rc = onsale_open(env->host, env->port, ONSALE_ROLE_PLATFORM,
			     env->keys[ONSALE_ROLE_PLATFORM], &opt, &c);
	if (rc)
		return rc;
	*units_max = *held = 0;
	onsale_prep_query(&q, CMD_Q_AVAILABILITY, env->event_id, 0, 0);
	rc = onsale_submit(c, &q, 0, NULL);
	for (unsigned k = 0; !rc && k < OFF_BOT_CUSTOMERS; k++) {
		onsale_prep_query(&q, CMD_Q_CUSTOMER, env->event_id, 0, 8000000 + k);
		rc = onsale_submit(c, &q, k + 1, NULL);
	}
	for (unsigned k = 0; !rc && k <= OFF_BOT_CUSTOMERS; k++) {
		if (onsale_wait(c, &d, BOT_LOOK_WAIT_MS) != 1 || d.rc != ST_OK)
			rc = d.rc ? d.rc : -ETIMEDOUT;
		else if (d.cookie == 0)
			*held = d.res.avail.tiers[OFF_TIER_BOT].held;
		else if (d.res.customer.units > *units_max)
			*units_max = d.res.customer.units;
	}
	onsale_close(c);
	return rc;
}

void off_load_bot(const struct off_env *env, struct off_seen *seen, uint64_t end_ns)
{
	static uint8_t batch[OFF_BOT_CUSTOMERS * BOT_TRIES * BOT_FRAME_BYTES];
	size_t len = 0;
	for (unsigned i = 0; i < OFF_BOT_CUSTOMERS * BOT_TRIES; i++) {
		struct cmd cmd;
		onsale_prep_hold_ga(&cmd, env->event_id, OFF_TIER_BOT, 1, 8000000 + i / BOT_TRIES,
				    0);
		cmd.hold.ttl_ms = HOLD_TTL_MS_MIN;
		len += proto_encode_cmd(batch + len, sizeof batch - len, i + 2, &cmd);
	}
	struct off_pipe p = {.role = ONSALE_ROLE_PLATFORM,
			     .batch = batch,
			     .batch_len = len,
			     .batch_frames = OFF_BOT_CUSTOMERS * BOT_TRIES,
			     .conns = BOT_CONNS,
			     .window = BOT_WINDOW,
			     .read = 1};
	/* the bot stops early enough for its holds to expire in the phase */
	uint64_t wait_ns = BOT_EXPIRY_WAIT_MS * 1000000ull, now = load_now_ns();
	uint64_t stop = end_ns > now + 2 * wait_ns ? end_ns - wait_ns : now + wait_ns;
	off_raw_pipeline(env, &p, seen, stop);
	uint32_t units_max = 0, held_stop = 0, held, unused;
	int rc = bot_look(env, &units_max, &held_stop);
	held = held_stop;
	/* how long until every hold expired and gave its unit back (bounded) */
	uint64_t back_ms = 0;
	for (unsigned i = 0; !rc && held && i < BOT_LOOKS_MAX; i++) {
		usleep(BOT_LOOK_GAP_MS * 1000u);
		rc = bot_look(env, &unused, &held);
		back_ms = (load_now_ns() - stop) / 1000000u;
	}
	snprintf(seen->note, sizeof seen->note,
		 "\"customers\":%u,\"customer_limit\":%u,\"customer_units_max\":%u,"
		 "\"held_at_stop\":%u,\"held_after_ttl\":%u,\"returned_ms\":%llu,\"ttl_ms\":%u,"
		 "\"look\":\"%s\"",
		 OFF_BOT_CUSTOMERS, OFF_CUSTOMER_LIMIT, units_max, held_stop, held,
		 (unsigned long long)back_ms, HOLD_TTL_MS_MIN, onsale_strerror(rc));
}
