/*
 * wal_tool.h — the parts of onsale-wal (tools/wal/onsale-wal.c), the operators'
 * WAL tool, and what they share. The program is a thin main over these
 * files, each with one purpose:
 *
 *   wal_open.c      finding the shard directories of a data directory
 *   wal_cursor.c    walking raw frames with their segment and offset
 *   wal_dump.c      dump: records as text or JSON lines
 *   wal_print.c     one record as a text line or a JSON line; --type names
 *   wal_recfile.c   the .walrec file truncate saves dropped records into
 *   wal_snap.c      the snapshot a replay starts from
 *   wal_state.c     rebuilding a shard's state: snapshot + WAL through core_apply
 *   wal_summary.c   the state summary replay prints
 *   wal_verify.c    verify: checksums, chain, replay, invariants, ticket ids
 *   wal_peers.c     what shards agree on: stock transfers, GA capacity over
 *                   shards; where truncate must cut on peers
 *   wal_xchg.c      what shards agree on about exchanges to another shard's
 *                   seat (verify, and for truncate's cuts)
 *   wal_report.c    report: sales CSV by hour, event, tier and channel
 *   wal_stats.c     stats: record counts, bytes, segments, LSN and time ranges
 *   wal_truncate.c  truncate: save, cut, check that the server can open it
 *   wal_follow.c    follow: the change feed
 *
 * Shards are read through net/wal/storage_ro.h (read-only, with the
 * archive when one is named).
 *
 * Exit statuses are the tool's contract with scripts (docs/OPERATIONS.md).
 */
#ifndef ONSALE_WAL_TOOL_H
#define ONSALE_WAL_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"
#include "core/storage.h"
#include "core/wal_format.h"
#include "net/wal/storage_ro.h"
#include "net/wal/wal_read.h"

enum wt_exit {
	WT_EXIT_OK = 0,      /* healthy */
	WT_EXIT_TORN = 1,    /* torn tail: the server truncates it at start */
	WT_EXIT_CORRUPT = 2, /* damage before the tail, a broken invariant, or records gone */
	WT_EXIT_USAGE = 3,   /* bad arguments or an I/O error */
};

#define WT_LSN_MAX UINT64_MAX
#define WT_PATH_BYTES 4096
#define WT_DIR_BYTES 3840 /* a shard directory: room left for file names */

/* Every option of every subcommand; each subcommand accepts a subset. */
struct wt_opts {
	const char *data_dir;
	const char *archive_dir;   /* NULL: the live WAL only */
	int shard;                 /* -1: every shard found */
	uint64_t from_lsn, to_lsn; /* inclusive; to_lsn WT_LSN_MAX: no bound */
	bool has_from;             /* --from given (follow: else from the current end) */
	uint32_t event_id;
	bool has_event;
	uint64_t type_mask; /* bit per record type; 0: all */
	bool json;
	const char *file; /* dump --file: a .walrec file instead of the WAL */
	uint64_t at_lsn;  /* truncate */
	bool has_at;
	bool backup_confirmed;
	const char *save;
	bool with_peers;      /* truncate: cut other shards as the transfers need */
	uint32_t interval_ms; /* follow */
	bool revocations;     /* follow: revoked e-tickets only */
};

/* ---- wal_open.c ---- */

struct wt_shard {
	uint8_t id;
	char dir[WT_DIR_BYTES];
	struct storage st; /* read-only */
};

/* The shards of data_dir (all "shard-<k>" directories, or only k when
 * shard >= 0), in order, each with a read-only storage (spanning
 * archive_dir/shard-<k>/ too when archive_dir is not NULL). Prints what is
 * wrong to stderr and returns -1 when none can be opened. */
int wt_shards_open(const char *data_dir, const char *archive_dir, int shard, struct wt_shard **out,
		   size_t *count);
void wt_shards_close(struct wt_shard *shards, size_t count);

/* Exit status for a scan outcome. */
enum wt_exit wt_exit_of_scan(enum wal_read_status s);
/* One line to stderr saying where a torn tail or corruption is. */
void wt_report_damage(uint8_t shard, const struct wal_scan *scan);

/* ---- wal_cursor.c ---- */

/* Walks a shard's frames in LSN order across segments, verifying each
 * frame and the chain, and remembers where each frame lies. It stops at the
 * first frame that does not verify or continue the chain; calling next
 * again re-reads the file there (follow). */
struct wt_cursor {
	struct storage *st;
	uint8_t shard;
	int file; /* open segment handle, 0: none */
	uint64_t segment;
	uint64_t segment_bytes;
	uint64_t size;           /* of the open segment file */
	uint64_t offset;         /* of the next frame */
	uint64_t next_lsn;       /* LSN the next frame must have */
	struct walfmt_sum chain; /* chain value of next_lsn - 1 */
	uint64_t base;           /* buf holds file bytes [base, base + len) */
	uint32_t len;
	uint8_t *buf;
};

/* Where a frame lies. */
struct wt_frame_at {
	uint64_t segment, offset;
};

/* Positions the cursor at the first frame with lsn >= from_lsn. Returns 0,
 * -ENOENT when the shard has no segment with a valid header, -ERANGE when
 * from_lsn is before the oldest record kept, or -errno. */
int wt_cursor_open(struct wt_cursor *c, struct storage *st, uint8_t shard, uint64_t from_lsn);
void wt_cursor_close(struct wt_cursor *c);
/* The next frame: 1 (f, at, and raw set; raw is f->frame_bytes long and
 * valid until the next call), 0 at the end of the valid frames, -errno. */
int wt_cursor_next(struct wt_cursor *c, struct walfmt_frame *f, struct wt_frame_at *at,
		   const uint8_t **raw);
/* Forgets cached bytes so the next call sees what was written since. */
void wt_cursor_refresh(struct wt_cursor *c);
/* Reads and verifies the frame at a position in the current segment
 * (follow's rewrite check). 1 and *f when a valid frame is there, 0 when
 * not, -EXDEV when at is in another segment, -errno. */
int wt_cursor_frame_at(struct wt_cursor *c, const struct wt_frame_at *at, struct walfmt_frame *f);

/* ---- wal_print.c ---- */

struct wt_filter {
	uint64_t from_lsn, to_lsn;
	uint32_t event_id;
	bool has_event;
	uint64_t type_mask;
};

void wt_filter_from_opts(struct wt_filter *f, const struct wt_opts *o);
bool wt_filter_match(const struct wt_filter *f, uint64_t lsn, const struct rec *r);
/* Parses "hold,confirm" into a mask of record types. -1 (and a message to
 * stderr) on an unknown name. */
int wt_type_mask_parse(const char *names, uint64_t *mask);
/* Writes the record types, comma separated, for --help. */
void wt_type_names_print(FILE *out);
/* One record, one line: text or JSON. */
void wt_print_record(FILE *out, uint8_t shard, uint64_t lsn, const struct rec *r, bool json);
/* The e-ticket a record revokes, as one line; false (nothing printed) when
 * it revokes none: a refund, an exchange, an XCHG_END with status 0. */
bool wt_print_revocation(FILE *out, const struct wt_filter *flt, uint8_t shard, uint64_t lsn,
			 const uint8_t *body, uint32_t body_bytes, bool json);
/* A body that does not decode: still one line with its LSN. */
void wt_print_undecodable(FILE *out, uint8_t shard, uint64_t lsn, uint32_t body_bytes, bool json);
/* "2027-01-15T08:00:00.000Z" into out[32]. */
void wt_format_time(char *out, size_t cap, uint64_t ms);

/* Decodes a body and prints it when it passes the filter. */
void wt_print_body(FILE *out, const struct wt_filter *flt, uint8_t shard, uint64_t lsn,
		   const uint8_t *body, uint32_t body_bytes, bool json);

/* ---- wal_recfile.c ---- */

/* A .walrec file: a 32-byte header, then WAL frames verbatim (layout in
 * wal_recfile.c and docs/OPERATIONS.md). */
struct wt_recfile {
	int fd;
	uint64_t records, bytes;
};

int wt_recfile_create(struct wt_recfile *rf, const char *path, uint8_t shard, uint64_t cut_lsn);
int wt_recfile_add(struct wt_recfile *rf, const uint8_t *frame, uint32_t frame_bytes);
/* fsyncs the file and its directory, closes it. */
int wt_recfile_finish(struct wt_recfile *rf, const char *path);

typedef int (*wt_recfile_fn)(void *ctx, uint8_t shard, uint64_t lsn, const uint8_t *body,
			     uint32_t body_bytes);
/* Reads every frame of a .walrec file, verifying its checksums. 0, or -1
 * with a message to stderr. */
int wt_recfile_read(const char *path, wt_recfile_fn fn, void *ctx);

/* ---- wal_snap.c ---- */

/* The newest valid snapshot of the shard with lsn <= lsn_max: 0 with *out,
 * *lsn and the chain value of that record, -ENOENT when there is none
 * (start from an empty state), other -errno with a message to stderr. */
int wt_snapshot_load(struct wt_shard *sh, uint64_t lsn_max, struct core **out, uint64_t *lsn,
		     uint8_t chain[16]);

/* ---- wal_state.c ---- */

/* Called before each record is applied (the state is the one before it). */
typedef int (*wt_apply_fn)(void *ctx, struct core *c, uint64_t lsn, const struct rec *r);

struct wt_replay {
	struct core *core;
	uint64_t snapshot_lsn; /* 0: started from an empty state */
	bool from_snapshot;
	uint8_t snapshot_chain[16];
	bool chain_mismatch; /* the WAL does not continue the snapshot */
	bool records_gone;   /* failed: the WAL no longer holds what follows the state */
	uint64_t records;    /* applied from the WAL */
	uint64_t last_lsn;   /* last LSN in the state */
	struct wal_scan scan;
	enum status refused; /* ST_OK, or why a record was refused */
	uint64_t refused_lsn;
	uint64_t events[EVENTS_MAX]; /* event ids seen in records */
	uint32_t event_count;
};

/* Rebuilds a shard's state up to to_lsn: the newest snapshot at or before
 * snapshot_lsn_max (empty state when none), then the WAL. hook may be
 * NULL. Returns 0 (check out->refused and out->scan.status), or -1 with a
 * message to stderr. The caller destroys out->core. */
int wt_replay_shard(struct wt_shard *sh, uint64_t snapshot_lsn_max, uint64_t to_lsn,
		    wt_apply_fn hook, void *ctx, struct wt_replay *out);

/* ---- wal_peers.c ---- */

/* A GA TIER_ADD, a stock record (STOCK_OUT, STOCK_IN, STOCK_ACK) or an
 * exchange record (XCHG_OUT, XCHG_IN, XCHG_END) as a shard's WAL holds it. */
struct wt_xrec {
	uint64_t lsn;
	uint64_t id;     /* transfer id; the old ticket's id (XCHG_*); 0 for a TIER_ADD */
	uint64_t new_id; /* XCHG_IN: the new order; XCHG_END: the new ticket (0: refused) */
	uint32_t event_id;
	uint32_t qty; /* capacity for a TIER_ADD; 0 for a STOCK_ACK */
	uint8_t type, shard, tier;
	uint8_t peer;   /* XCHG_OUT: the seat's shard; XCHG_IN: the ticket's */
	uint8_t status; /* XCHG_END: 0 exchanged, else the refusal */
};

/* Those records of every shard's kept WAL, sorted by type, id, event,
 * shard, LSN. */
struct wt_peers {
	struct wt_xrec *v;
	size_t len, cap;
	uint64_t present;               /* shard ids read */
	uint64_t first_lsn[SHARDS_MAX]; /* oldest record kept (1: the whole WAL; 0: none) */
};

/* Reads every shard's kept WAL up to its end or damage. 0, or -1 with a
 * message to stderr. */
int wt_peers_collect(struct wt_shard *sh, size_t n, struct wt_peers *p);
void wt_peers_free(struct wt_peers *p);
const struct wt_xrec *wt_peers_find(const struct wt_peers *p, uint8_t type, uint64_t id);
/* Index of the first record at or after (type, id) in their order. */
size_t wt_peers_lower(const struct wt_peers *p, uint8_t type, uint64_t id);
/* The cross-shard checks on the replayed states (cores by shard id, NULL
 * for a shard not in the directory); prints what it found. An enum wt_exit. */
int wt_peers_verify(const struct wt_peers *p, struct core *const *cores);

/* Where truncate cuts: the first LSN dropped, by shard id (WT_LSN_MAX: no cut). */
struct wt_plan {
	uint64_t at[SHARDS_MAX];
};
/* Lowers the cuts of plan until no transfer or exchange is split: a kept
 * STOCK_IN whose STOCK_OUT is cut, a kept STOCK_ACK covering a cut
 * STOCK_IN, a kept XCHG_IN its ticket's shard no longer explains, a kept
 * XCHG_END 0 whose XCHG_IN is cut (wal_xchg.c). Each cut it adds or moves
 * is explained on why. 0, or -1 (message on stderr) when no cut keeps a
 * transfer or an exchange together. */
int wt_peers_plan(struct wt_shard *sh, size_t n, const struct wt_peers *p, struct wt_plan *plan,
		  FILE *why);

/* ---- wal_xchg.c ---- */

/* A record whose other side of an exchange does not agree with it. */
enum wt_xkind {
	WT_X_IN_ALONE,   /* an XCHG_IN its ticket's shard does not explain */
	WT_X_END_ALONE,  /* an XCHG_END 0 whose new ticket's shard lacks the IN */
	WT_X_END_HIDDEN, /* truncate: an XCHG_IN cut whose END 0 is only in a snapshot */
	WT_X_UNCHECKED,  /* the other side only in a snapshot, and forgotten since */
};

struct wt_xfind {
	enum wt_xkind kind;
	const struct wt_xrec *rec; /* the XCHG_IN or XCHG_END */
	uint8_t other;             /* the other side's shard */
	bool missing;              /* the data directory does not have it */
	uint64_t new_ticket_id;
	/* WT_X_IN_ALONE: what the ticket's shard says */
	const struct xchg_pending *leaving; /* the ticket leaving elsewhere, or NULL */
	const struct wt_xrec *refused;      /* its last kept XCHG_END refusing, or NULL */
	bool out_kept;                      /* an XCHG_OUT of it to the IN's shard kept */
	struct ticket_view ticket;          /* state 0: not known there */
};
/* Returns nonzero to stop the check (the check returns it). */
typedef int (*wt_xchg_fn)(void *ctx, const struct wt_xfind *f);

/* Calls fn for every exchange record the other side does not agree with,
 * in the states cores (by shard id) and the records before the cuts at
 * (by shard id, WT_LSN_MAX none; NULL: no cuts). 0, fn's nonzero, or
 * -ENOMEM. */
int wt_xchg_check(const struct wt_peers *p, struct core *const *cores, const uint64_t *at,
		  wt_xchg_fn fn, void *ctx);

struct wt_xsum {
	uint64_t rounds, exchanged, refused; /* XCHG_OUTs, XCHG_ENDs 0 and not */
	uint64_t leaving;                    /* tickets leaving in the states */
	unsigned bad, unchecked;
};
/* verify's check across shards: prints one CORRUPT line per record that
 * disagrees. 0 (see s->bad) or -ENOMEM. */
int wt_xchg_verify(const struct wt_peers *p, struct core *const *cores, struct wt_xsum *s);

/* ---- subcommands (each returns an enum wt_exit) ---- */

int wt_cmd_dump(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_dump_file(const struct wt_opts *o);
int wt_cmd_verify(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_replay(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_report(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_stats(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_truncate(struct wt_shard *sh, size_t n, const struct wt_opts *o);
int wt_cmd_follow(struct wt_shard *sh, size_t n, const struct wt_opts *o);

/* Prints the replayed state: hash, events, tiers, holds, tickets. */
void wt_summary_print(FILE *out, uint8_t shard, const struct wt_replay *r);

#endif
