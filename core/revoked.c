/*
 * revoked.c — an event's revocation list on one shard, for scanners.
 *
 * A refunded or exchanged ticket's token still verifies offline, so gate
 * scanners fetch the ids of revoked tickets (Q_REVOKED, docs/TICKETS.md).
 * The list is derived from the ticket table, never stored: refunded and
 * exchanged tickets queue in tfree (ticket.c) in the order they were
 * retired, and leave it only from the head when their slot is reused. Every
 * issued ticket takes a never-used slot or the queue's head, so the slots
 * taken from the queue so far are tickets_issued - tickets_used, and the
 * i-th queued ticket (from 0) is revocation number popped + i + 1 on this
 * shard. The numbers are a function of the state, so they are the same
  * after a replay or a snapshot, and a scanner's "since" stays valid across
 * restarts. A queued ticket whose order's hold slot was reused is listed by
 * the id it kept (TICKET_DETACHED, hold.c).
 */
#include "core/state.h"

#include <string.h>

/* Revocations forgotten because their slots were reused. */
static uint64_t popped(const struct event *ev)
{
	return (uint32_t)(ev->tickets_issued - ev->tickets_used);
}

enum status revoked_page(const struct core *c, const struct event *ev, const struct cmd_revoked *q,
			 struct revoked_view *out)
{
	uint64_t gone = popped(ev), total = gone + ev->tfree_count;
	uint64_t since = q->since_seq <= total ? q->since_seq : 0;
	uint64_t start = since > gone ? since : gone;
	uint32_t i = ev->tfree_head, walked = 0;

	memset(out, 0, offsetof(struct revoked_view, ticket_ids));
	out->event_id = ev->cfg.event_id;
	out->shard = c->shard_id;
	out->gap = since < gone;
	for (uint64_t skip = start - gone; skip > 0; skip--)
		i = ticket_at(ev, i)->free_next;
	out->first_seq = start + 1;
	for (; i != NIL && walked < REVOKED_PAGE_MAX; i = ticket_at(ev, i)->free_next) {
		const struct ticket *tk = ticket_at(ev, i);

		walked++;
		if (tk->hold != NIL)
			out->ticket_ids[out->count++] = ticket_id_of(ev, i);
		else if (tk->replaced_by == TICKET_DETACHED) /* its order's slot reused */
			out->ticket_ids[out->count++] = tk->fee_minor;
		else /* detached by a server before TICKET_DETACHED: its id is lost */
			out->gap = 1;
	}
	out->last_seq = start + walked;
	out->more = out->last_seq < total;
	return ST_OK;
}

static_assert(sizeof(struct revoked_view) <= sizeof(struct availability_view),
	      "a page does not make struct result (copied per reply) larger");
