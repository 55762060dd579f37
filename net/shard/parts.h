/*
 * parts.h — the functions the files of the cross-shard layer call on each
 * other (the public entry points are in node.h). One prefix per file, in
 * layer order: each calls only the ones above it.
 *
 *   pool_*    node_pool.c   messages, requests, big buffers, inbox, durable FIFO
 *   shed_*    shed.c        load shedding: take a request in or answer 73
 *   counts_*  counts.c      per-customer units on other shards (home node)
 *   exec_*    exec.c        executor: commands on the store
 *   xfer_*    xfer.c        GA stock transfers between nodes
 *   xchg_*    xchg.c        exchanges to a seat on another node
 *   sell_*    sell.c        executor of holds: limits, stock from peers
 *   route_*   route.c       coordinator: placement and routing
 */
#ifndef ONSALE_SHARD_PARTS_H
#define ONSALE_SHARD_PARTS_H

#include "net/shard/node.h"

/* shed.c: cfg's signals (0: off); 73 for the request now? (counted);
 * the reply of a request taken in at start_ms (a queue-delay sample). */
void shed_init(struct shed *sh, const struct shed_config *cfg);
bool shed_sheddable(uint8_t opcode);
bool shed_refuse(struct shed *sh, uint64_t now_ms, uint32_t in_flight, uint8_t opcode);
void shed_answered(struct shed *sh, uint64_t now_ms, uint32_t in_flight, uint64_t start_ms);

/* node_pool.c */
int pool_init(struct node *nd);
void pool_fini(struct node *nd);
struct msg *pool_msg_alloc(struct node *nd);
void pool_msg_free(struct node *nd, struct msg *m);
/* m (owned, back home) as if freshly allocated, to send again. */
void pool_msg_reuse(struct node *nd, struct msg *m);
uint32_t pool_msgs_free(const struct node *nd);
uint8_t *pool_big_alloc(struct node *nd);
void pool_big_free(struct node *nd, uint8_t *big);
struct req *pool_req_alloc(struct node *nd);
/* m goes to node `to` (the local inbox when it is this node). */
void pool_send(struct node *nd, struct msg *m, uint8_t to);
/* m goes to node `to` once everything this node appended so far is
 * durable: news of a change (a release that gives units back) never runs
 * ahead of the change, which a crash could still take back. */
void pool_send_durable(struct node *nd, struct msg *m, uint8_t to);
/* m goes back to its owner. */
void pool_return(struct node *nd, struct msg *m);
/* m leaves once everything up to m->wait_lsn is durable: returned to its
 * owner, or, with m->forward, sent on to m->at. */
void pool_when_durable(struct node *nd, struct msg *m);
/* Releases what the durable FIFO holds up to the store's durable LSN; when
 * the store stopped, the rest with ST_OUTCOME_UNKNOWN (a change in the
 * batch that failed) or ST_UNAVAILABLE (shard_store_lost_status). */
unsigned pool_release_durable(struct node *nd);
/* Takes the inbox as it is now; the caller dispatches each message. */
struct msg *pool_take_inbox(struct node *nd);

/* counts.c */
int counts_init(struct counts *ct, uint32_t max);
void counts_fini(struct counts *ct);
/* key 0: the customer's units elsewhere; else 1 while that key is in flight. */
uint32_t counts_get(const struct counts *ct, uint32_t event_id, uint64_t customer_id, uint64_t key);
/* Twice the slots, every entry kept (start-up only). 0 or -ENOMEM/-ENOSPC. */
int counts_grow(struct counts *ct);
/* Adds delta (clamped at 0). 0, or -ENOSPC when the table is full. */
int counts_add(struct counts *ct, uint32_t event_id, uint64_t customer_id, uint64_t key,
	       int64_t delta);

/* Forgets every entry of the event (it was retired: no hold can come). */
uint32_t counts_drop_event(struct counts *ct, uint32_t event_id);

/* exec.c */
/* Bytes of struct result a command's answer uses: the head and the view
 * its reply packs (hold, ticket), the whole result for the others. Takes a
 * command type or an opcode (a core command's opcode is its type). */
size_t exec_result_bytes(uint8_t type);
enum status exec_cmd(struct node *nd, const struct cmd *cmd, struct result *res,
		     uint64_t *wait_lsn);
uint16_t exec_event_limit(struct node *nd, uint32_t event_id);
/* A query on this node's store (customer_id: Q_CUSTOMER's). */
enum status exec_query(struct node *nd, uint8_t type, uint32_t event_id, uint64_t customer_id,
		       struct result *res);
/* Side effects of a command that ran: live holds, customer counts. */
void exec_after(struct node *nd, const struct cmd *cmd, const struct result *res);
/* Seat ids in a result become global ((node << 24) | local seat). */
void exec_globalize(struct node *nd, uint8_t type, struct result *res);
/* A message for this node's inventory (MSG_EXEC but holds, PROBE, RESERVE,
 * UNRESERVE, STATS, SEATS). */
void exec_msg(struct node *nd, struct msg *m);
/* Home node: would qty more units pass the customer's limit over all nodes? */
bool exec_over_limit(struct node *nd, uint32_t event_id, uint64_t customer_id, uint32_t qty);
/* The owner node of a presale code (by core_code_key). */
static inline uint8_t exec_code_owner(const struct node *nd, uint64_t code_key)
{
	return (uint8_t)(code_key % nd->n);
}
/* Owner: would one more use of code i pass its limit over all nodes? */
bool exec_code_over(struct node *nd, uint32_t event_id, uint8_t code_index);
/* The owner of code i forgets one use of it (a hold that ended). */
void exec_code_give(struct node *nd, uint32_t event_id, uint8_t code_index, struct msg *m);
/* m's answer is ready: back to its owner once everything it shows is durable. */
void exec_finish(struct node *nd, struct msg *m);
/* A command of m ran here: its side effects, global seat ids, finish. */
void exec_done(struct node *nd, struct msg *m);
void exec_expire(struct node *nd);
/* A customer's unit of the event moved from this node to node `to` (an
 * exchange): the home node's count follows where it counts either side. */
void exec_count_moved(struct node *nd, uint32_t event_id, uint64_t customer_id, uint8_t to);

/* xfer.c */
/* A GA hold or exchange m found the tier's allotment short: ask the next
 * peer for qty units (and a chunk more). false when every peer was asked
 * (or no message is free): answer m as it is. */
bool xfer_ask(struct node *nd, struct msg *m, uint32_t event_id, uint8_t tier, uint32_t qty);
/* Giver side: MSG_STOCK_ASK (STOCK_OUT), MSG_STOCK_ACK (STOCK_ACK). */
void xfer_acked(struct node *nd, struct msg *a);
void xfer_give(struct node *nd, struct msg *a);
/* Taker side: a MSG_STOCK_ASK came back: STOCK_IN and, once durable, the
 * acknowledgement; returns the hold it carries, for the caller to retry. */
struct msg *xfer_ask_back(struct node *nd, struct msg *a);
/* Taker: a transfer sent again (STOCK_IN, answered once durable); giver:
 * its answer came back (STOCK_ACK when applied). */
void xfer_take_given(struct node *nd, struct msg *g);
void xfer_give_back(struct node *nd, struct msg *g);
/* Giver, each turn: sends again the transfers a taker left pending for a
 * resend tick. true while any transfer is pending (the driver keeps a
 * timer). */
bool xfer_tick(struct node *nd);
/* Recovery, before any request: every transfer pending on a giver is
 * applied on its taker (once), synced, acknowledged. 0 or -errno. */
int xfer_recover(struct node *const *nodes, uint32_t n);

/* xchg.c */
/* A MSG_EXEC exchange of a ticket already exchanged to another node's
 * seat: the repeat goes there, to be answered with the first result
 * (core/xchg.c `again`); false when the core here answers. */
bool xchg_again(struct node *nd, struct msg *m);
/* A MSG_EXEC exchange (its seat a global id) to a seat on another node:
 * starts it (XCHG_OUT) and takes m on its way; false when the seat is
 * this node's (made local) or none. */
bool xchg_start(struct node *nd, struct msg *m);
/* An exchange to the best seat of a reserved tier found none here: asks
 * the next node not asked yet (m->peers_tried); false when all were. */
bool xchg_best_elsewhere(struct node *nd, struct msg *m);
/* MSG_XCHG_IN on the seat's node, MSG_XCHG_END back on the ticket's. */
void xchg_arrived(struct node *nd, struct msg *m);
/* Recovery, after the transfers: every ticket still leaving is ended with
 * its seat's node. 0 or -errno. */
int xchg_recover(struct node *const *nodes, uint32_t n);

/* sell.c */
/* A MSG_EXEC hold on this node's inventory. */
void sell_hold(struct node *nd, struct msg *m);
/* A MSG_EXEC exchange: into a GA tier short here, with stock from peers. */
void sell_exchange(struct node *nd, struct msg *m);
/* A hold or exchange whose stock request came back: try it again. */
void sell_again(struct node *nd, struct msg *m);

/* route.c */
int route_request(struct node *nd, uint32_t conn, uint32_t conn_gen, const struct proto_request *pr,
		  const struct proto_section_buf *sec, uint64_t arrived_ms);
void route_done(struct node *nd, struct msg *m);

#endif
