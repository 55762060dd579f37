/*
 * server.h — onsaled's runtime: the functions its modules call on each
 * other (types in server-t.h). One prefix per file:
 *
 *   server_*  server.c, server_config.c   start-up, config, threads, stop
 *   meta_*    server_meta.c               the shard count the data dir records
 *   recon_*   reconcile.c                 after recovery: cut stock transfers,
 *                                         customer counts, live holds
 *   shard_*   shard_loop.c                the per-shard io_uring loop
 *   conn_*    conn.c                      connections, framing, auth, replies
 *   msg_*     ring_msg.c                  message pool, SPSC rings, wake-ups
 *   route_*   route.c                     coordinator: placement and routing
 *   exec_*    shard_exec.c                executor: commands on the store
 *   counts_*  counts.c                    per-customer counts (home shard)
 */
#ifndef ONSALE_SERVER_H
#define ONSALE_SERVER_H

#include "net/server-t.h"

/* server_config.c */
void server_config_defaults(struct server_config *cfg);
/* Reads keys from a config file ("role_key=<64 hex>" lines). 0 or -errno
 * (-EINVAL with a message on stderr for a malformed line). */
int server_config_load(struct server_config *cfg, const char *path);
/* Writes a config file with fresh random keys (mode 0600). 0 or -errno. */
int server_config_generate(const char *path);
int server_parse_hex_key(const char *hex, uint8_t out[PROTO_KEY_BYTES]);

/* server_meta.c: creates the data directory if missing and checks the shard
 * count it records against shards (records it on the first start), before
 * any shard is recovered. 0, or -errno with what the data holds and what to
 * do on stderr (-EINVAL: refused, another count or missing shard dirs). */
int meta_shards_open(const char *data_dir, uint32_t shards);

/* server.c: runs until SIGINT/SIGTERM; 0 after a clean stop, else -errno. */
int server_run(const struct server_config *cfg);
uint64_t server_now_ms(void);

/* reconcile.c: after every shard recovered, before any serves. */
int recon_run(struct server *srv);

/* shard_loop.c */
int shard_init(struct server *srv, uint8_t id);
void shard_fini(struct shard *s);
void *shard_main(void *arg);
void shard_arm_recv(struct shard *s, uint32_t ci);
void shard_arm_send(struct shard *s, uint32_t ci);
void shard_close_fd(struct shard *s, uint32_t ci);

/* conn.c */
int conn_tables_init(struct shard *s);
void conn_accepted(struct shard *s, int fd);
void conn_received(struct shard *s, uint32_t ci, int res);
void conn_sent(struct shard *s, uint32_t ci, int res);
void conn_end_turn(struct shard *s);
void conn_close_all(struct shard *s);
/* The reply of a finished request: encoded into its connection (or kept
 * until there is room), then the request slot is freed. */
void conn_reply(struct shard *s, struct req *r);

/* ring_msg.c */
int msg_rings_init(struct server *srv);
int msg_pool_init(struct shard *s);
struct msg *msg_alloc(struct shard *s);
void msg_free(struct shard *s, struct msg *m);
void msg_send(struct shard *s, struct msg *m, uint8_t to);
void msg_return(struct shard *s, struct msg *m);
unsigned msg_drain(struct shard *s);
void msg_end_turn(struct shard *s);
bool msg_incoming(struct shard *s);
uint8_t *msg_big_alloc(struct shard *s);
void msg_big_free(struct shard *s, uint8_t *big);

/* route.c */
static inline uint8_t route_home(const struct server *srv, uint64_t customer_id)
{
	uint64_t z = customer_id + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint8_t)((z ^ (z >> 31)) % srv->n);
}
static inline uint8_t route_id_shard(uint64_t id)
{
	return (uint8_t)(id >> ID_SHARD_SHIFT);
}
/* Routes one decoded request of connection ci. 0, or -EAGAIN when a slot
 * (request, message, buffer) is missing: the frame is left unread. */
int route_request(struct shard *s, uint32_t ci, const struct proto_request *pr);
/* A message came back to its owner. */
void route_done(struct shard *s, struct msg *m);
struct req *route_req(struct shard *s, uint32_t index);
/* Bytes of struct result a command's answer uses: the head and the view
 * its reply packs (hold, ticket), the whole result for the others. Takes a
 * command type or an opcode (a core command's opcode is its type, which
 * proto_check_tables holds). */
size_t route_result_bytes(uint8_t type);
void route_req_free(struct shard *s, struct req *r);

/* shard_exec.c */
void exec_msg(struct shard *s, struct msg *m);
void exec_durable(struct shard *s);
void exec_expire(struct shard *s);
/* A MSG_STOCK_ASK came back to the taker: STOCK_IN, then retry the hold. */
void exec_stock_back(struct shard *s, struct msg *a);
/* Executes cmd on this shard's store (now: s->now_ms). */
enum status exec_cmd(struct shard *s, const struct cmd *cmd, struct result *res,
		     uint64_t *wait_lsn);
uint16_t exec_event_limit(struct shard *s, uint32_t event_id);

/* counts.c */
int counts_init(struct counts *ct, uint32_t max);
void counts_fini(struct counts *ct);
uint32_t counts_get(const struct counts *ct, uint32_t event_id, uint64_t customer_id);
/* Adds delta (clamped at 0). 0, or -ENOSPC when the table is full. */
int counts_add(struct counts *ct, uint32_t event_id, uint64_t customer_id, int64_t delta);

#endif
