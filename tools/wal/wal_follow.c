/*
 * wal_follow.c — the follow subcommand: a change feed. Prints each new
 * record of every shard (like dump, text or JSON lines) as the server
 * appends it, until SIGINT or SIGTERM.
 *
 * It polls: every interval it re-reads each shard's WAL from where it
 * stopped (wal_cursor.c) and prints the frames that verify and continue the
 * chain. A frame is only complete once its batch's write finished, and the
 * server fdatasyncs that write before it acknowledges anything, so what
 * follow shows is what the server has written; in the instant between the
 * write and its fdatasync a power loss can still take the last batch away.
 * Then the server, on restart, writes different records under the same
 * LSNs: follow notices that the frame it last printed changed and exits with
 * status 2, so a consumer never silently mixes two histories (see
 * docs/OPERATIONS.md, "The change feed"). With --revocations it prints
 * only the e-tickets records revoke (docs/TICKETS.md): what a scanner's
 * deny list needs, streamed.
 */
#include "tools/wal/wal_tool.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FOLLOW_INTERVAL_MS_DEFAULT 200u

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct feed {
	struct wt_shard *sh;
	struct wt_cursor c;
	bool open;
	bool printed; /* last is set */
	struct wt_frame_at last;
	struct walfmt_sum last_chain;
	uint64_t last_lsn;
};

/* Reads everything new on one shard; print only when show. 0 or -errno. */
static int drain(struct feed *fd, const struct wt_filter *flt, bool show, const struct wt_opts *o)
{
	bool json = o->json;
	struct walfmt_frame f;
	struct wt_frame_at at;
	const uint8_t *raw;
	int rc;

	wt_cursor_refresh(&fd->c);
	while ((rc = wt_cursor_next(&fd->c, &f, &at, &raw)) == 1) {
		if (show && o->revocations)
			wt_print_revocation(stdout, flt, fd->sh->id, f.lsn, f.body, f.body_bytes,
					    json);
		else if (show)
			wt_print_body(stdout, flt, fd->sh->id, f.lsn, f.body, f.body_bytes, json);
		fd->printed = true;
		fd->last = at;
		fd->last_chain = f.chain;
		fd->last_lsn = f.lsn;
	}
	return rc;
}

/* Opens the shard's cursor once the shard has a segment. 1 open, 0 not yet. */
static int try_open(struct feed *fd, const struct wt_opts *o, bool from_given,
		    const struct wt_filter *flt)
{
	int rc;

	if (fd->open)
		return 1;
	rc = wt_cursor_open(&fd->c, &fd->sh->st, fd->sh->id, from_given ? o->from_lsn : 0);
	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	fd->open = true;
	/* without --from, start after what is there now */
	return from_given ? 1 : (drain(fd, flt, false, o) < 0 ? -EIO : 1);
}

/* The frame printed last must still be there: else the log was rewritten. */
static int check_history(struct feed *fd)
{
	struct walfmt_frame f;
	int rc;

	if (!fd->printed)
		return 0;
	rc = wt_cursor_frame_at(&fd->c, &fd->last, &f);
	if (rc == -EXDEV)
		return 0;
	if (rc < 0)
		return rc;
	if (rc == 1 && f.lsn == fd->last_lsn && walfmt_sum_eq(f.chain, fd->last_chain))
		return 0;
	fprintf(stderr,
		"onsale-wal: shard %u: the log was rewritten at or before LSN %" PRIu64
		" (the server restarted after a crash that lost records follow had shown); "
		"resynchronise from a verified LSN\n",
		fd->sh->id, fd->last_lsn);
	return 1;
}

static void sleep_ms(uint32_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL); /* a signal ends it early */
}

static int poll_once(struct feed *feeds, size_t n, const struct wt_opts *o,
		     const struct wt_filter *flt)
{
	bool from_given = o->has_from; /* --from 0 too: from the first record */

	for (size_t i = 0; i < n; i++) {
		int rc = try_open(&feeds[i], o, from_given, flt);

		if (rc <= 0) {
			if (rc < 0)
				fprintf(stderr, "onsale-wal: shard %u: %s\n", feeds[i].sh->id,
					strerror(-rc));
			if (rc < 0)
				return WT_EXIT_USAGE;
			continue;
		}
		rc = drain(&feeds[i], flt, true, o);
		if (rc == 0)
			rc = check_history(&feeds[i]);
		if (rc)
			return rc > 0 ? WT_EXIT_CORRUPT : WT_EXIT_USAGE;
	}
	fflush(stdout);
	return WT_EXIT_OK;
}

int wt_cmd_follow(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	struct feed *feeds = calloc(n, sizeof *feeds);
	struct sigaction sa = {.sa_handler = on_signal};
	struct wt_filter flt;
	int ex = WT_EXIT_OK;

	if (!feeds)
		return WT_EXIT_USAGE;
	wt_filter_from_opts(&flt, o);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	for (size_t i = 0; i < n; i++)
		feeds[i].sh = &sh[i];
	while (!stop_requested && ex == WT_EXIT_OK) {
		ex = poll_once(feeds, n, o, &flt);
		if (ex == WT_EXIT_OK && !stop_requested)
			sleep_ms(o->interval_ms ? o->interval_ms : FOLLOW_INTERVAL_MS_DEFAULT);
	}
	for (size_t i = 0; i < n; i++)
		if (feeds[i].open)
			wt_cursor_close(&feeds[i].c);
	free(feeds);
	return ex;
}
