/*
 * server.h — onsaled's runtime: the functions its modules call on each
 * other (types in server-t.h). One prefix per file, in layer order (each
 * calls only the ones below it, and the pure layer net/shard/node.h):
 *
 *   server_*  server.c, server_config.c   start-up, config, threads, stop
 *   meta_*    meta.c                      the shard count the data dir records
 *   shard_*   shard_loop.c                the per-shard io_uring loop
 *   conn_*    conn.c                      connections, framing, auth, replies
 *   msg_*     msg.c                       SPSC rings between shards, wake-ups
 *   tickets_* tickets.c                   e-ticket tokens into replies, token redeem
 *   ticket_keys_* ticket_keys.c           the signing keys in <data>/keys/
 *   io_*      io.c (io.h)                 io_uring submissions: the lowest
 *
 * Beside them, called from any of them, each with its own header:
 *   metrics_* metrics.c, metrics_http.c  counters, /metrics (metrics.h)
 *   notify_*  notify.c                    sd_notify (notify.h)
 *   role_keys_* role_keys.c               role keys: publish, copy, check
 * and the log, lower down: net/wal/log.h (log_*, logfmt lines on stderr).
 */
#ifndef ONSALE_SERVER_H
#define ONSALE_SERVER_H

#include "net/server/server-t.h"
#include "net/shard/node.h"

/* server_config.c */
void server_config_defaults(struct server_config *cfg);
/* Reads keys from a config file ("role_key=<64 hex>" lines). 0 or -errno
 * (-EINVAL with a message on stderr for a malformed line). */
int server_config_load(struct server_config *cfg, const char *path);
/* The role keys the config names (keys and _next keys). */
unsigned server_config_keys(const struct server_config *cfg);
/* The same from len bytes of text in memory; name stands for the path in
 * messages. */
int server_config_parse(struct server_config *cfg, const char *text, size_t len, const char *name);
/* Writes a config file with fresh random keys (mode 0600). 0 or -errno. */
int server_config_generate(const char *path);
int server_parse_hex_key(const char *hex, uint8_t out[PROTO_KEY_BYTES]);
/* A connection policy setting from its text (a decimal number): 0, or
 * -EINVAL and nothing set. Its config key's name (also the option's, with
 * '-' for '_'). */
int server_config_guard_set(struct server_config *cfg, enum guard_key k, const char *value);
const char *server_config_guard_name(enum guard_key k);

/* SIGHUP: reads srv->cfg.config_path again and publishes its role keys
 * (role_keys.c); a file that cannot be read, does not parse or names no key
 * is logged and the current keys stay. 0 or -errno. */
int server_keys_reload(struct server *srv);

/* role_keys.c: the role keys HELLO is checked against, published by the
 * main thread at start and on SIGHUP (server_keys_reload), copied by shards.
 * role_keys_from_config: the keys a parsed config file names.
 * role_keys_publish: the main thread (the only writer) makes keys the
 *   current ones for every shard's next HELLO.
 * role_keys_pickup: a shard's copy of the current keys into *out, when they
 *   changed since *seq (then updated); false when unchanged or caught in the
 *   middle of a publish (the old copy stays, to be taken later).
 * role_keys_check: whether key opens role, in time independent of the key
 *   and of which slot matched (every slot of the role is compared). */
void role_keys_from_config(const struct server_config *cfg, struct role_keys *out);
void role_keys_publish(struct role_keys_pub *pub, const struct role_keys *keys);
bool role_keys_pickup(const struct role_keys_pub *pub, uint32_t *seq, struct role_keys *out);
bool role_keys_check(const struct role_keys *keys, unsigned role,
		     const uint8_t key[PROTO_KEY_BYTES]);

/* meta.c: checks the shard count the data directory (made and locked by
 * server_run) records against shards (records it on the first start), before
 * any shard is recovered. 0, or -errno with what the data holds and what to
 * do on stderr (-EINVAL: refused, another count or missing shard dirs). */
int meta_shards_open(const char *data_dir, uint32_t shards);

/* server.c: runs until SIGINT/SIGTERM; 0 after a clean stop, else -errno. */
int server_run(const struct server_config *cfg);

/* tickets.c: a token opcode's reply, with its tokens signed now; a
 * REDEEM_TOKEN's token checked (ST_OK and the REDEEM to route in *out, or
 * the refusal in *res); the TICKET_KEYS reply. */
size_t tickets_encode(struct shard *s, struct req *r, uint8_t *buf, size_t cap);
enum status tickets_redeem_check(struct shard *s, const struct proto_request *pr,
				 struct proto_request *out, struct result *res);
size_t tickets_keys_reply(struct shard *s, const struct proto_request *pr, uint8_t *buf,
			  size_t cap);

/* The ticket signing keys in <data>/keys/, created on the first start and
 * rotated as cfg asks; writes the public key file. 0 or -errno (reported). */
int ticket_keys_open(const struct server_config *cfg, struct server_tickets *out);
/* Before anything starts: an unknown --ticket-key-retire id is refused
 * (said, -ENOENT), and so is a data directory that has served but has no
 * key file left (said, -ENOKEY; --ticket-key-new accepts a new key),
 * without changing the keys; ticket_keys_open, once the shards recovered,
 * makes the changes. */
int ticket_keys_check(const struct server_config *cfg);

/* shard_loop.c */
int shard_init(struct server *srv, uint8_t id);
void shard_fini(struct shard *s);
void *shard_main(void *arg);

/* conn.c */
int conn_tables_init(struct shard *s);
void conn_accepted(struct shard *s, int fd);
void conn_received(struct shard *s, uint32_t ci, int res);
void conn_sent(struct shard *s, uint32_t ci, int res);
void conn_end_turn(struct shard *s);
void conn_close_all(struct shard *s);
/* The ms after which the output deadlines want a turn (0: none). */
uint32_t conn_tick_ms(const struct shard *s);
/* Closes the connections past a deadline (status timeout first), at most
 * once per GUARD_SWEEP_MS. */
void conn_sweep(struct shard *s);
/* Ms the loop may sleep before the deadline sweep or the end of an
 * accept pause wants a turn (0: neither). */
uint32_t conn_guard_wait_ms(const struct shard *s);
/* The node's env.reply: the reply of a finished request, encoded into its
 * connection (or kept until there is room), then the request slot freed. */
void conn_reply(void *shard, struct req *r);

/* msg.c */
int msg_rings_init(struct server *srv);
/* The node's env.send: m onto the ring (shard, to), or the overflow list. */
void msg_send(void *shard, struct msg *m, uint8_t to);
/* Every message the peers sent, into the node; then the node's own. */
unsigned msg_drain(struct shard *s);
void msg_end_turn(struct shard *s);
bool msg_incoming(struct shard *s);

#endif
