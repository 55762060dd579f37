/*
 * gen_corpus.c — writes the seed corpora of the fuzz targets
 * (tests/fuzz/corpus-<target>/) from the encoders themselves, so every seed
 * is an input the system really produces: `make fuzz-corpus` runs it.
 *
 * A seeded command stream (tests/support/cmd_gen.c) runs on a small core;
 * the first few commands of each opcode give request frames, their results
 * reply frames, their WAL records record bodies, frames and log recipes
 * (fuzz_wal.c's structured form); the state at a few points gives state
 * streams, wrapped streams and whole snapshot files. Cross-shard records
 * (stock, exchange), the server's own frames, tokens and config files are
 * made by hand. Names say what a seed is; the output is deterministic.
 * corpus-replay holds copies of corpus-record's seeds (fuzz_replay.c runs
 * the same generator, so the first ones fit its state).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "core/bytes.h"
#include "core/core.h"
#include "core/record.h"
#include "core/serial.h"
#include "core/token.h"
#include "core/wal_format.h"
#include "net/proto/proto.h"
#include "net/store/snapshot.h"
#include "tests/support/cmd_gen.h"

#define SHARD_SNAPSHOT 2 /* fuzz_snapshot.c's SHARD */
#define SHARD_WAL 3      /* fuzz_wal.c's SHARD */
#define PER_KIND 2       /* seeds kept per opcode or record type */
#define STEPS 3000

static const char *dir;
static unsigned req_seen[256], rec_seen[256];
static uint8_t recipe[1 << 16];
static size_t recipe_len;

static void save(const char *target, const char *name, const void *p, size_t n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/corpus-%s", dir, target);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/corpus-%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f)) {
		fprintf(stderr, "gen_corpus: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

/* A chunk of fuzz_wal.c's log recipe: [op][len u16][body]. */
static void recipe_add(uint8_t op, const uint8_t *body, uint16_t len)
{
	if (recipe_len + 3u + len > sizeof recipe)
		return;
	recipe[recipe_len] = op;
	put_u16(recipe + recipe_len + 1, len);
	memcpy(recipe + recipe_len + 3, body, len);
	recipe_len += 3u + len;
}

static void keep_record(const uint8_t *body, uint32_t len)
{
	static struct walfmt_sum chain;
	static uint64_t lsn;
	static uint8_t frame[WALFMT_FRAME_BYTES_MAX];
	char name[64];
	uint8_t type = body[0];

	lsn++;
	chain = walfmt_encode(frame, SHARD_WAL, lsn, lsn - 1, chain, body, len);
	if (recipe_len < 6000)
		recipe_add(lsn % 7 == 0 ? 3 : 4, body, (uint16_t)len);
	if (rec_seen[type]++ >= PER_KIND)
		return;
	snprintf(name, sizeof name, "%s-%u", rec_type_name(type), rec_seen[type]);
	save("record", name, body, len);
	save("replay", name, body, len);
	snprintf(name, sizeof name, "frame-%s-%u", rec_type_name(type), rec_seen[type]);
	save("wal", name, frame, walfmt_frame_bytes(len));
}

static void keep_frames(const struct cmd *cmd, const struct result *res, uint64_t id)
{
	static uint8_t buf[PROTO_FRAME_BYTES_MAX];
	uint8_t op = proto_op_of_cmd(cmd->type);
	char name[64];
	size_t n;

	if (!op || req_seen[op]++ >= PER_KIND)
		return;
	n = proto_encode_cmd(buf, sizeof buf, id, cmd);
	snprintf(name, sizeof name, "req-%s-%u", proto_op_name(op), req_seen[op]);
	if (n)
		save("proto", name, buf, n);
	n = proto_encode_result(buf, sizeof buf, id, op, res);
	snprintf(name, sizeof name, "rep-%s-%u", proto_op_name(op), req_seen[op]);
	if (n)
		save("proto", name, buf, n);
}

static void run_one(struct core *c, struct cmd_gen *g, const struct cmd *cmd, uint64_t id)
{
	static uint8_t body[RECORD_BYTES_MAX];
	struct rec_buf rec = {body, sizeof body, 0};
	struct result res;
	enum status st = core_execute(c, cmd, g->now_ms, &res, &rec);

	res.status = st;
	keep_frames(cmd, &res, id);
	if (rec.len)
		keep_record(body, rec.len);
	cmd_gen_result(g, cmd, st, &res);
}

struct buf {
	uint8_t *p;
	size_t len;
};

static void buf_write(void *ctx, const void *bytes, size_t len)
{
	struct buf *b = ctx;

	memcpy(b->p + b->len, bytes, len);
	b->len += len;
}

static void keep_state(const struct core *c, const char *name)
{
	struct buf b = {malloc(core_serialized_bytes(c) + 1), 1};
	struct serial_sink sink = {buf_write, &b};
	uint8_t chain[16] = {0}, *img;
	uint64_t img_bytes;
	char n2[64];

	core_serialize(c, &sink);
	save("snapshot", name, b.p + 1, b.len - 1);
	b.p[0] = 0x80; /* fuzz_snapshot.c: wrapped in a header by the harness */
	snprintf(n2, sizeof n2, "wrapped-%s", name);
	save("snapshot", n2, b.p, b.len);
	free(b.p);
	memset(chain, 0x5a, sizeof chain);
	if (snapshot_image(c, 7, chain, &img, &img_bytes) == 0) {
		uint8_t *f = malloc(img_bytes + 1);

		f[0] = 0xc0; /* fuzz_snapshot.c: a whole file */
		memcpy(f + 1, img, img_bytes);
		snprintf(n2, sizeof n2, "file-%s", name);
		save("snapshot", n2, f, img_bytes + 1);
		free(f);
		munmap(img, img_bytes);
	}
}

static void commands(void)
{
	struct core *c = core_create(SHARD_SNAPSHOT);
	struct cmd_gen g;
	struct cmd cmd;
	uint64_t id = 1;

	keep_state(c, "empty");
	cmd_gen_init(&g, 7, 1700000000000ull, 1);
	for (unsigned i = 0; i < STEPS; i++) {
		if (cmd_gen_next(&g, &cmd))
			run_one(c, &g, &cmd, id++);
		while (core_next_expiry(c, g.now_ms, &cmd))
			run_one(c, &g, &cmd, id++);
		if (i == 60 || i == 400)
			keep_state(c, i == 60 ? "setup" : "early");
	}
	core_destroy(c);
}

/* A stream whose one event declares the most holds (or tickets) its
 * units_max allows and holds none of them: refused before their tables are
 * allocated. units_max 65536 fits fuzz_snapshot's small limits. Offsets
 * from the end: holds_used 37, tickets_used 25 (test_core_serial.c). */
static void declared_counts(void)
{
	static const uint32_t units_max = 65536;
	struct core *c = core_create(SHARD_SNAPSHOT);
	struct cmd cmd = {.type = CMD_EVENT_CREATE};
	struct result res;
	uint8_t rec[RECORD_BYTES_MAX];
	struct rec_buf rb = {rec, sizeof rec, 0};
	struct buf b;
	struct serial_sink sink = {buf_write, &b};

	cmd.event.event_id = 9;
	cmd.event.units_max = units_max;
	if (core_execute(c, &cmd, 1000, &res, &rb) != ST_OK)
		abort();
	b.len = 0;
	b.p = malloc(core_serialized_bytes(c));
	core_serialize(c, &sink);
	put_u32(b.p + b.len - 37, units_max * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN);
	save("snapshot", "declared-holds", b.p, b.len);
	put_u32(b.p + b.len - 37, 0);
	put_u32(b.p + b.len - 25, units_max * TICKETS_PER_UNIT_MAX);
	save("snapshot", "declared-tickets", b.p, b.len);
	free(b.p);
	core_destroy(c);
}

/* Records only the cross-shard layer makes. */
static void cross_shard_records(void)
{
	static const uint8_t types[] = {CMD_STOCK_OUT, CMD_STOCK_IN, CMD_STOCK_ACK,
					CMD_XCHG_OUT,  CMD_XCHG_IN,  CMD_XCHG_END};
	uint8_t body[RECORD_BYTES_MAX];

	for (unsigned i = 0; i < sizeof types; i++) {
		struct rec r = {.type = types[i], .event_id = 5, .now_ms = 1700000000000ull};

		if (types[i] <= CMD_STOCK_ACK) {
			r.stock = (struct cmd_stock){5, 1, 1, 40, (2ull << 56) | (1ull << 48) | 3};
		} else {
			r.xchg.ticket_id = 77;
			r.xchg.new_id = 91;
			r.xchg.customer_id = 1234;
			r.xchg.price_minor = 4500;
			r.xchg.seat = 17;
			r.xchg.tier = 1;
			r.xchg.peer_shard = 1;
		}
		keep_record(body, (uint32_t)rec_encode(&r, NULL, body, sizeof body));
	}
}

/* Frames the server and client make themselves, not from a command. */
static void server_frames(void)
{
	static uint8_t buf[PROTO_FRAME_BYTES_MAX];
	static const uint8_t states[6] = {0, 1, 2, 3, 0, 1};
	struct proto_request req = {.request_id = 9, .opcode = PROTO_OP_HELLO};
	struct proto_reply rep = {.request_id = 9, .opcode = PROTO_OP_HELLO};

	req.hello.role = PROTO_ROLE_PLATFORM;
	memset(req.hello.key, 0xab, sizeof req.hello.key);
	save("proto", "req-hello", buf, proto_encode_request(buf, sizeof buf, &req));
	req.opcode = PROTO_OP_PING;
	save("proto", "req-ping", buf, proto_encode_request(buf, sizeof buf, &req));
	req.opcode = PROTO_OP_STATS;
	save("proto", "req-stats", buf, proto_encode_request(buf, sizeof buf, &req));
	req.opcode = PROTO_OP_Q_SECTION_SEATS;
	req.seats = (struct proto_seats_query){3, 1};
	save("proto", "req-q_section_seats", buf, proto_encode_request(buf, sizeof buf, &req));
	rep.hello = (struct proto_hello_reply){PROTO_ROLE_PLATFORM, 1, 2, 1700000000000ull};
	save("proto", "rep-hello", buf, proto_encode_reply(buf, sizeof buf, &rep));
	rep.opcode = PROTO_OP_PING;
	save("proto", "rep-ping", buf, proto_encode_reply(buf, sizeof buf, &rep));
	rep.opcode = PROTO_OP_STATS;
	for (unsigned i = 0; i < PROTO_STAT_SLOTS; i++)
		rep.server.counters[i] = i * 1000;
	save("proto", "rep-stats", buf, proto_encode_reply(buf, sizeof buf, &rep));
	rep.opcode = PROTO_OP_Q_SECTION_SEATS;
	rep.seats = (struct proto_seat_states){40, sizeof states, states};
	save("proto", "rep-q_section_seats", buf, proto_encode_reply(buf, sizeof buf, &rep));
	save("proto", "rep-bad_frame", buf,
	     proto_encode_bad_frame(buf, sizeof buf, 9, PROTO_OP_HOLD, PROTO_BAD_BODY));
}

static void wal_seeds(void)
{
	struct walfmt_segment s = {4, 100, 1u << 20, {0x1234, 0x5678}, SHARD_WAL};
	uint8_t hdr[WALFMT_SEGMENT_HEADER_BYTES];
	uint8_t torn[] = {0x4f, 0x53, 0x57, 0x52, 1, SHARD_WAL, 0, 0};

	walfmt_segment_encode(hdr, &s);
	save("wal", "segment-header", hdr, WALFMT_SEGMENT_HEADER_USED_BYTES);
	/* fuzz_wal.c's structured form: 0x80, disk seed, then the chunks. */
	recipe[0] = 0x80;
	recipe[1] = 1;
	save("wal", "log-clean", recipe, recipe_len);
	recipe_add(1 | 8 * 5, recipe + 5, 30); /* a damaged frame */
	recipe_add(4, recipe + 5, 30);         /* and one after it */
	save("wal", "log-damaged", recipe, recipe_len);
	recipe_len = 2;
	recipe_add(4, recipe + 5, 0);
	recipe_add(2, torn, sizeof torn); /* a torn tail */
	save("wal", "log-torn", recipe, recipe_len);
}

static void token_seeds(void)
{
	static const uint8_t seed[32] = {"onsale fuzz token key seed 0123"}; /* fuzz_token.c's */
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], token[TOKEN_BYTES];
	char text[TOKEN_TEXT_CHARS + 1];
	struct token_signer signer = {.key_id = 7}; /* fuzz_token.c's KEY_ID */
	struct token_claims c;
	struct ticket_view v = {
		.ticket_id = 8123, .order_id = 77, .event_id = 5, .seat = 12, .tier = 1};
	uint8_t claims[32] = {0x80, 1, 5};

	token_keypair_from_seed(seed, pk, signer.sk);
	token_claims_of(&v, 1800000000000ull, signer.key_id, &c);
	token_sign(&signer, &c, token);
	save("token", "seat", token, sizeof token);
	token_to_text(token, text);
	save("token", "seat-text", text, TOKEN_TEXT_CHARS);
	v.seat = SEAT_NONE;
	token_claims_of(&v, 0, signer.key_id, &c);
	token_sign(&signer, &c, token);
	save("token", "ga", token, sizeof token);
	token[40] ^= 4;
	save("token", "ga-bad-signature", token, sizeof token);
	put_u64(claims + 6, 8123);
	save("token", "claims", claims, sizeof claims);
}

static void config_seeds(void)
{
	static const char *const full =
		"# onsaled role keys (32 bytes, hex). Clients send the key of their role\n"
		"# in HELLO. Keep this file private.\n"
		"admin_key=00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
		"platform_key=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		"box_office_key=FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210FEDCBA9876543210\n"
		"scanner_key=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\n";
	static const char *const some =
		"\n  # comment\n\tplatform_key="
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef \r\n";
	static const char *const bad = "admin_key=0011\n";
	static const char *const next =
		"platform_key=1111111111111111111111111111111111111111111111111111111111111111\n"
		"platform_key_next=2222222222222222222222222222222222222222222222222222222222222222\n"
		"# rotation\n"
		"admin_key_next=abcdefABCDEF0123456789abcdefABCDEF0123456789abcdefABCDEF01234567\n";

	save("config", "full", full, strlen(full));
	save("config", "some", some, strlen(some));
	save("config", "bad", bad, strlen(bad));
	save("config", "next", next, strlen(next));
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR (corpus-<target>/ are written in DIR)\n");
		return 2;
	}
	dir = argv[1];
	recipe[0] = 0x80;
	recipe_len = 2;
	commands();
	declared_counts();
	cross_shard_records();
	server_frames();
	wal_seeds();
	token_seeds();
	config_seeds();
	return 0;
}
