/*
 * wal_truncate.c — the truncate subcommand: drops the records of one shard
 * from an LSN on, the only subcommand that writes to the data directory.
 *
 * Order of work, so a crash at any step loses nothing that was not saved:
 *   1. refuse without --yes-i-have-a-backup, or when the cut makes no sense
 *      (before the oldest record kept, after damage it would leave behind);
 *   2. save every dropped record, as its verbatim frame, into a .walrec file
 *      (wal_recfile.c) and fsync it: the chained records from the cut to
 *      where the chain stops, then any frame that still verifies after a
 *      corruption (salvaged: acknowledged sales an operator may re-enter);
 *   3. zero the cut segment from the cut to its end and fdatasync it, delete
 *      the segments after it, and move snapshots that cover a dropped record
 *      out of the server's way (renamed dropped-snap-<lsn>.osnp.bak);
 *      fsync the directory;
 *   4. scan again as the server will at start: the log must now end cleanly
 *      just before the cut.
 * The server must be stopped while this runs (docs/OPERATIONS.md).
 *
 * Shards exchange GA stock (core/stock.c), so a cut on one shard can split
 * a transfer: a kept STOCK_IN whose STOCK_OUT is cut (the units exist
 * twice), or a kept STOCK_ACK on the giver covering a STOCK_IN cut on the
 * taker (never sent again: lost). An exchange to another shard's seat
 * (core/xchg.c) splits the same way: a kept XCHG_IN whose XCHG_OUT is cut
 * (the old ticket valid and its new order too), or a kept XCHG_END 0 whose
 * XCHG_IN is cut (the old ticket exchanged, no new one). wal_peers.c finds
 * the cuts on other shards that keep every transfer and exchange whole;
 * truncate refuses and lists them,
 * or with --with-peers makes them: every cut is checked first, then each
 * shard is cut in turn as above. A cut that stops half-way is finished by
 * running the same command again (the cut shard then has nothing to drop,
 * its peers still do).
 */
#include "tools/wal/wal_tool.h"

#include "core/bytes.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZERO_CHUNK_BYTES (1u << 20)

struct cut {
	struct wt_shard *sh;
	uint64_t at_lsn;
	uint64_t segment, offset; /* where the first dropped frame starts */
	uint64_t chained_last;    /* last chained LSN dropped (0: none) */
	uint64_t salvaged;
	char save[WT_PATH_BYTES];
	struct wt_recfile rf;
};

static int path_of(char *out, const struct wt_shard *sh, const char *name)
{
	return snprintf(out, WT_PATH_BYTES, "%s/%s", sh->dir, name) >= WT_PATH_BYTES ? -ENAMETOOLONG
										     : 0;
}

/* ---- 1. checks ---- */

struct kept_snapshot {
	uint64_t lsn_min, lsn_below;
	bool found;
};

static int note_kept(void *ctx, const char *name)
{
	struct kept_snapshot *k = ctx;
	unsigned long long lsn;
	int end = 0;

	if (sscanf(name, "snap-%20llu.osnp%n", &lsn, &end) == 1 && !name[end] &&
	    lsn >= k->lsn_min && lsn < k->lsn_below)
		k->found = true;
	return 0;
}

/* When older segments are gone, a snapshot the cut keeps must cover them. */
static int check_snapshot_kept(struct cut *k, uint64_t first)
{
	struct kept_snapshot ks = {first - 1, k->at_lsn, false};

	if (first <= 1 || (storage_list(&k->sh->st, note_kept, &ks) == 0 && ks.found))
		return -1;
	fprintf(stderr,
		"onsale-wal: refusing: records before LSN %" PRIu64 " live only in snapshots "
		"that the cut would have to drop; the shard could not be rebuilt\n",
		first);
	return WT_EXIT_USAGE;
}

static int check_cut(struct cut *k, const struct wal_scan *scan)
{
	uint64_t first = scan->first_lsn ? scan->first_lsn : 1;
	uint64_t readable_end = scan->status == WAL_READ_CORRUPT ? scan->damage.lsn
								 : scan->end.next_lsn;

	if (k->at_lsn < first) {
		fprintf(stderr,
			"onsale-wal: refusing: LSN %" PRIu64 " is before the oldest record kept "
			"(%" PRIu64 "); earlier records live only in a snapshot\n",
			k->at_lsn, first);
		return WT_EXIT_USAGE;
	}
	if (k->at_lsn > readable_end ||
	    (k->at_lsn == readable_end && scan->status == WAL_READ_CLEAN)) {
		if (scan->status == WAL_READ_CLEAN) {
			printf("shard %u: nothing to drop: the log ends at LSN %" PRIu64 "\n",
			       k->sh->id, scan->end.next_lsn - 1);
			return WT_EXIT_OK;
		}
		fprintf(stderr,
			"onsale-wal: refusing: the log is damaged at LSN %" PRIu64
			"; a cut after it would leave the damage in place (cut at or before it)\n",
			readable_end);
		return WT_EXIT_USAGE;
	}
	return check_snapshot_kept(k, first); /* -1: go on */
}

/* ---- 2. save ---- */

static int save_chained(struct cut *k)
{
	struct wt_cursor c;
	struct walfmt_frame f;
	struct wt_frame_at at;
	const uint8_t *raw;
	int rc = wt_cursor_open(&c, &k->sh->st, k->sh->id, k->at_lsn);

	if (rc)
		return rc;
	k->segment = c.segment;
	k->offset = c.offset;
	while ((rc = wt_cursor_next(&c, &f, &at, &raw)) == 1) {
		if (f.lsn < k->at_lsn) {
			k->segment = c.segment;
			k->offset = c.offset;
			continue;
		}
		if (f.lsn == k->at_lsn)
			k->segment = at.segment, k->offset = at.offset;
		k->chained_last = f.lsn;
		rc = wt_recfile_add(&k->rf, raw, f.frame_bytes);
		if (rc)
			break;
	}
	if (!rc && !k->chained_last && c.next_lsn != k->at_lsn)
		rc = -ESPIPE; /* the cut is not where the readable chain ends */
	wt_cursor_close(&c);
	return rc;
}

/* Saves every frame that verifies in [from, end of file) of a segment. */
static int salvage_file(struct cut *k, const char *name, uint64_t from)
{
	char path[WT_PATH_BYTES];
	struct stat sb;
	uint8_t *p;
	int fd, rc = path_of(path, k->sh, name);

	if (rc || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return rc ? rc : -errno;
	if (fstat(fd, &sb) || (uint64_t)sb.st_size <= from) {
		close(fd);
		return 0;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return -errno;
	for (uint64_t pos = (from + 7) & ~7ull;
	     !rc && pos + WALFMT_FRAME_HEADER_BYTES <= (uint64_t)sb.st_size;) {
		struct walfmt_frame f;

		/* a frame starts with its magic: the checksum is computed only
		 * where one could start (a 64 MiB segment of zeros was 8 M of
		 * them, about a second of CPU for each segment cut) */
		if (get_u32(p + pos) != WALFMT_FRAME_MAGIC) {
			pos += WALFMT_FRAME_ALIGN_BYTES;
			continue;
		}
		if (walfmt_decode(p + pos, (size_t)sb.st_size - pos, k->sh->id, &f) == WALFMT_OK &&
		    f.lsn > k->chained_last && f.lsn >= k->at_lsn) {
			rc = wt_recfile_add(&k->rf, p + pos, f.frame_bytes);
			k->salvaged++;
			pos += f.frame_bytes;
			continue;
		}
		pos += WALFMT_FRAME_ALIGN_BYTES;
	}
	munmap(p, (size_t)sb.st_size);
	return rc;
}

struct later {
	struct cut *k;
	uint64_t segs[WAL_SEGMENTS_MAX];
	size_t n;
};

static int add_later(void *ctx, const char *name)
{
	struct later *l = ctx;
	uint64_t seg;

	if (!wal_segment_parse(name, l->k->sh->id, &seg) && seg > l->k->segment &&
	    l->n < WAL_SEGMENTS_MAX)
		l->segs[l->n++] = seg;
	return 0;
}

static int list_later(struct cut *k, struct later *l)
{
	l->k = k;
	l->n = 0;
	return storage_list(&k->sh->st, add_later, l);
}

/* Frames past the end of the chain (after a corruption) that still verify. */
static int salvage(struct cut *k, struct later *l)
{
	char name[STORAGE_NAME_BYTES_MAX];
	uint64_t skip = k->chained_last ? 0 : WALFMT_FRAME_ALIGN_BYTES;
	int rc;

	wal_segment_name(name, sizeof name, k->sh->id, k->segment);
	rc = salvage_file(k, name, k->offset + skip);
	for (size_t i = 0; !rc && i < l->n; i++) {
		wal_segment_name(name, sizeof name, k->sh->id, l->segs[i]);
		rc = salvage_file(k, name, WALFMT_SEGMENT_HEADER_BYTES);
	}
	return rc;
}

/* ---- 3. cut ---- */

static int zero_rest(struct cut *k)
{
	char name[STORAGE_NAME_BYTES_MAX], path[WT_PATH_BYTES];
	static const uint8_t zeros[ZERO_CHUNK_BYTES];
	struct stat sb;
	int fd, rc;

	wal_segment_name(name, sizeof name, k->sh->id, k->segment);
	rc = path_of(path, k->sh, name);
	if (rc || (fd = open(path, O_RDWR | O_CLOEXEC)) < 0)
		return rc ? rc : -errno;
	rc = fstat(fd, &sb) ? -errno : 0;
	for (uint64_t pos = k->offset; !rc && pos < (uint64_t)sb.st_size;) {
		size_t len = (uint64_t)sb.st_size - pos < sizeof zeros
				     ? (size_t)((uint64_t)sb.st_size - pos)
				     : sizeof zeros;
		ssize_t w = pwrite(fd, zeros, len, (off_t)pos);

		if (w < 0 && errno != EINTR)
			rc = -errno;
		pos += w > 0 ? (uint64_t)w : 0;
	}
	if (!rc && fdatasync(fd))
		rc = -errno;
	close(fd);
	return rc;
}

static int unlink_in(struct cut *k, const char *name)
{
	char path[WT_PATH_BYTES];
	int rc = path_of(path, k->sh, name);

	return rc ? rc : unlink(path) ? -errno : 0;
}

static int delete_later(struct cut *k, const struct later *l)
{
	char name[STORAGE_NAME_BYTES_MAX];

	for (size_t i = 0; i < l->n; i++) {
		wal_segment_name(name, sizeof name, k->sh->id, l->segs[i]);
		int rc = unlink_in(k, name);

		if (rc)
			return rc;
		printf("  deleted %s\n", name);
	}
	return 0;
}

static int move_snapshot(void *ctx, const char *name)
{
	struct cut *k = ctx;
	unsigned long long lsn;
	int end = 0;
	char from[WT_PATH_BYTES], to[WT_PATH_BYTES];

	if (sscanf(name, "snap-%20llu.osnp%n", &lsn, &end) != 1 || name[end] || lsn < k->at_lsn)
		return 0;
	path_of(from, k->sh, name);
	if (snprintf(to, sizeof to, "%s/dropped-%s.bak", k->sh->dir, name) >= (int)sizeof to ||
	    rename(from, to))
		return -errno;
	printf("  moved snapshot %s (covers dropped records) to dropped-%s.bak\n", name, name);
	return 0;
}

static int sync_dir(const struct wt_shard *sh)
{
	int fd = open(sh->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -errno;
	rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* ---- the subcommand ---- */

static int save_all(struct cut *k, struct later *l)
{
	int rc = wt_recfile_create(&k->rf, k->save, k->sh->id, k->at_lsn);

	if (rc) {
		fprintf(stderr, "onsale-wal: cannot create %s: %s\n", k->save, strerror(-rc));
		return rc;
	}
	rc = save_chained(k);
	if (!rc)
		rc = list_later(k, l);
	if (!rc)
		rc = salvage(k, l);
	if (!rc)
		rc = wt_recfile_finish(&k->rf, k->save);
	else
		close(k->rf.fd);
	if (rc)
		fprintf(stderr,
			"onsale-wal: saving the dropped records to %s failed: %s; nothing was "
			"cut\n",
			k->save, strerror(-rc));
	return rc;
}

static int cut_all(struct cut *k, const struct later *l)
{
	int rc = zero_rest(k);

	if (!rc)
		rc = delete_later(k, l);
	if (!rc)
		rc = storage_list(&k->sh->st, move_snapshot, k);
	if (!rc)
		rc = sync_dir(k->sh);
	if (rc)
		fprintf(stderr,
			"onsale-wal: cutting the WAL failed: %s; the dropped records are saved "
			"in %s\n",
			strerror(-rc), k->save);
	return rc;
}

static int check_after(struct cut *k)
{
	struct wal_scan scan;
	int rc = wal_read(&k->sh->st, k->sh->id, 0, NULL, NULL, &scan);

	if (rc || scan.status != WAL_READ_CLEAN || scan.end.next_lsn != k->at_lsn) {
		fprintf(stderr,
			"onsale-wal: after the cut the WAL does not end cleanly at LSN %" PRIu64
			" (%s); run verify\n",
			k->at_lsn - 1, rc ? strerror(-rc) : wal_read_status_name(scan.status));
		return WT_EXIT_CORRUPT;
	}
	printf("shard %u: the WAL now ends at LSN %" PRIu64 "; the server continues at LSN %" PRIu64
	       "\n",
	       k->sh->id, k->at_lsn - 1, k->at_lsn);
	return WT_EXIT_OK;
}

static int refuse_args(const struct wt_opts *o, int target)
{
	if (!o->has_at)
		fprintf(stderr,
			"onsale-wal: truncate needs --at LSN (see onsale-wal truncate --help)\n");
	else if (target < 0)
		fprintf(stderr, "onsale-wal: truncate works on one shard: give --shard K\n");
	else if (!o->backup_confirmed)
		fprintf(stderr,
			"onsale-wal: refusing to truncate: it deletes records from LSN %" PRIu64
			" on. Stop the server, copy the data directory, then run again with "
			"--yes-i-have-a-backup\n",
			o->at_lsn);
	else
		return 0;
	return 1;
}

/* -1: the cut can go ahead; else an exit status (nothing to drop, refused). */
static int cut_prepare(struct cut *k)
{
	struct wal_scan scan;
	int rc = wal_read(&k->sh->st, k->sh->id, 0, NULL, NULL, &scan);

	if (rc) {
		fprintf(stderr, "onsale-wal: shard %u: reading the WAL: %s\n", k->sh->id,
			strerror(-rc));
		return WT_EXIT_USAGE;
	}
	return check_cut(k, &scan);
}

static int cut_run(struct cut *k, const char *save)
{
	static struct later l;

	if (save)
		snprintf(k->save, sizeof k->save, "%s", save);
	else
		snprintf(k->save, sizeof k->save, "%s/truncated-%" PRIu64 ".walrec", k->sh->dir,
			 k->at_lsn);
	if (save_all(k, &l))
		return WT_EXIT_USAGE;
	printf("shard %u: saved %" PRIu64 " dropped record(s) (%s%" PRIu64 " salvaged after the "
	       "damage) to %s\n",
	       k->sh->id, k->rf.records, k->chained_last ? "" : "none chained, ", k->salvaged,
	       k->save);
	if (k->chained_last)
		printf("  chained records dropped: LSN %" PRIu64 "..%" PRIu64 "\n", k->at_lsn,
		       k->chained_last);
	if (cut_all(k, &l))
		return WT_EXIT_USAGE;
	return check_after(k);
}

/* Cuts on the other shards that keep every stock transfer and exchange
 * whole (wal_peers.c); refused unless --with-peers. 0 or -1. */
static int plan_peers(struct wt_shard *sh, size_t n, const struct wt_opts *o, int target,
		      struct wt_plan *plan)
{
	struct wt_peers p;
	char *why = NULL;
	size_t why_bytes = 0, others = 0;
	FILE *f;
	int rc;

	if (n < 2)
		return 0;
	if (wt_peers_collect(sh, n, &p))
		return -1;
	if (!(f = open_memstream(&why, &why_bytes))) {
		wt_peers_free(&p);
		return -1;
	}
	rc = wt_peers_plan(sh, n, &p, plan, f);
	fclose(f);
	wt_peers_free(&p);
	for (unsigned k = 0; k < SHARDS_MAX; k++) /* the shard's own cut may move earlier too */
		others += k == (unsigned)target ? plan->at[k] != o->at_lsn
						: plan->at[k] != WT_LSN_MAX;
	if (!rc && others && !o->with_peers) {
		fprintf(stderr,
			"onsale-wal: refusing: the cut on shard %d at LSN %" PRIu64 " would "
			"split stock transfers or exchanges between shards, which duplicates "
			"or loses their units or tickets. These cuts keep each one whole:\n%s"
			"Back up every shard directory, then run again with --with-peers to "
			"make them (each shard saves its dropped records as this one does); "
			"or restore from a backup instead (docs/OPERATIONS.md)\n",
			target, o->at_lsn, why);
		rc = -1;
	} else if (!rc && why_bytes) {
		printf("cutting other shards too, so no stock transfer or exchange is split:\n%s",
		       why);
	}
	free(why);
	return rc;
}

static struct wt_shard *shard_by_id(struct wt_shard *sh, size_t n, int id)
{
	for (size_t i = 0; i < n; i++)
		if (sh[i].id == id)
			return &sh[i];
	return NULL;
}

int wt_cmd_truncate(struct wt_shard *sh, size_t n, const struct wt_opts *o)
{
	static struct cut cuts[SHARDS_MAX];
	int target = o->shard >= 0 ? o->shard : n == 1 ? sh[0].id : -1;
	struct wt_plan plan;
	size_t count = 0;
	int worst = WT_EXIT_OK;

	if (refuse_args(o, target))
		return WT_EXIT_USAGE;
	cuts[0] = (struct cut){.sh = shard_by_id(sh, n, target), .at_lsn = o->at_lsn};
	if (!cuts[0].sh) {
		fprintf(stderr, "onsale-wal: no shard-%d directory in %s\n", target, o->data_dir);
		return WT_EXIT_USAGE;
	}
	int first = cut_prepare(&cuts[0]), rc;
	if (first > WT_EXIT_OK) /* refused; nothing to drop still checks the peers */
		return first;
	for (unsigned k = 0; k < SHARDS_MAX; k++)
		plan.at[k] = WT_LSN_MAX;
	plan.at[target] = o->at_lsn;
	if (plan_peers(sh, n, o, target, &plan))
		return WT_EXIT_USAGE;
	/* every cut is checked before any is made */
	for (size_t i = 0; i < n; i++) {
		struct cut *k = &cuts[count];

		if (plan.at[sh[i].id] == WT_LSN_MAX)
			continue;
		*k = (struct cut){.sh = &sh[i], .at_lsn = plan.at[sh[i].id]};
		rc = sh[i].id == target && k->at_lsn == o->at_lsn ? first : cut_prepare(k);
		if (rc > WT_EXIT_OK)
			return rc;
		count += rc < 0;
	}
	for (size_t i = 0; i < count && worst < WT_EXIT_CORRUPT; i++) {
		int ex = cut_run(&cuts[i], cuts[i].sh->id == target ? o->save : NULL);

		worst = ex > worst ? ex : worst;
		if (ex >= WT_EXIT_CORRUPT && i + 1 < count)
			fprintf(stderr,
				"onsale-wal: stopped before cutting the other shards; fix this "
				"one, then run the same command again\n");
	}
	return worst;
}
