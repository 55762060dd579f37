/*
 * node.h — the pure cross-shard layer's functions (types in node-t.h).
 *
 * A driver (the io_uring server, or the simulator) owns N nodes, one per
 * shard, and for each: opens its store, calls node_init/node_attach, then
 * node_recover once for all of them before any request, and then loops:
 *
 *   node_set_now(nd, now)              the driver's clock, once per turn
 *   node_request(nd, ...)              a decoded client request
 *   node_deliver(nd, m)                a message a peer sent (env.send)
 *   node_poll(nd)                      local messages, replies now durable
 *   node_expire(nd)                    holds due to expire
 *
 * and between turns polls the store (shard_store_poll) so durability moves.
 * Everything a node sends leaves through env.send (to a peer) or env.reply
 * (a finished request). One node is single-threaded: all calls for it come
 * from one thread; messages cross to other nodes only through env.send.
 */
#ifndef ONSALE_NODE_H
#define ONSALE_NODE_H

#include "net/shard/node-t.h"

/* Tables for one node (allocated here, once). 0 or -ENOMEM. */
int node_init(struct node *nd, uint8_t id, uint32_t n, const struct node_env *env);
void node_fini(struct node *nd);
/* The node's store, once recovered. */
void node_attach(struct node *nd, struct shard_store *store);

/* Load shedding (shed.c): core/limits.h's thresholds, and the node's own
 * (any signal 0: off), set before requests come. */
struct shed_config shed_config_default(void);
void node_shed_config(struct node *nd, const struct shed_config *cfg);

static inline void node_set_now(struct node *nd, uint64_t now_ms)
{
	nd->now_ms = now_ms;
}

/* After every node's store has recovered, before any request: rebuilds the
 * customer counts of every home node, counts live holds, and applies every
 * GA stock transfer a giver still has pending on its taker (once, whatever
 * was applied before the crash), synced and acknowledged. nodes[k]->id == k.
 * 0, or -EUCLEAN when the state cannot be served (a transfer to a node
 * that does not exist; the message says which), -ENOSPC when a table is
 * too small. */
int node_recover(struct node *const *nodes, uint32_t n);

/* A decoded client request (sec: the rows and seats of a SECTION_LOAD).
 * 0, or -EAGAIN when a slot (request, message, buffer) is missing: nothing
 * was done, offer it again later. */
int node_request(struct node *nd, uint32_t conn, uint32_t conn_gen, const struct proto_request *pr,
		 const struct proto_section_buf *sec);
/* As node_request, for a request whose bytes arrived at arrived_ms (the
 * driver's clock, <= now) and waited before it was taken in: a reader
 * paused for lack of a slot. Its queue delay then counts from arrival, so
 * load shedding (shed.c) also sees a queue that forms in front of the
 * node, in sockets the driver stopped reading. */
int node_request_since(struct node *nd, uint32_t conn, uint32_t conn_gen,
		       const struct proto_request *pr, const struct proto_section_buf *sec,
		       uint64_t arrived_ms);

/* Requests of this opcode take one of the node's big buffers (seat-map
 * queries, section loads): the driver's fair share of them counts these. */
bool node_op_big(uint8_t opcode);

/* A message from a peer (or one of ours coming back). */
void node_deliver(struct node *nd, struct msg *m);

/* Runs the local inbox and releases the answers whose WAL LSN is now
 * durable. Returns how many messages it handled. */
unsigned node_poll(struct node *nd);

/* Expires the holds due at now (bounded per call). */
void node_expire(struct node *nd);

/* Timed work, once per turn: sends again GA stock transfers a taker left
 * unacknowledged too long. Returns the ms after which the driver should
 * call again even if nothing else happens (0: no timer needed). */
uint32_t node_tick(struct node *nd);

/* Work is waiting that node_poll would do now. */
bool node_ready(const struct node *nd);
/* Messages of this node's pool are out (a request or transfer in flight). */
static inline uint32_t node_msgs_out(const struct node *nd)
{
	return atomic_load_explicit(&nd->msgs_used, memory_order_relaxed);
}

/* The driver's side of a request: its slot by index, and its release once
 * the reply is encoded (or its client is gone). */
struct req *node_req(struct node *nd, uint32_t index);
uint32_t node_req_index(const struct node *nd, const struct req *r);
void node_req_free(struct node *nd, struct req *r);

/* Home node of a customer: where the customer's counts and GA holds live. */
static inline uint8_t node_home(uint32_t n, uint64_t customer_id)
{
	uint64_t z = customer_id + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint8_t)((z ^ (z >> 31)) % n);
}

#endif
