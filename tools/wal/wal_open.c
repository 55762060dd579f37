/*
 * wal_open.c — finds the shards of a data directory for onsale-wal.
 *
 * Layout (docs/OPERATIONS.md): <data>/shard-<k>/ holds shard k's WAL
 * segments and snapshots. Each shard found gets a read-only storage
 * (net/wal/storage_ro.h, with the archive when --archive names one). Also here: how a scan outcome becomes an exit status and
 * a message, so every subcommand words damage the same way.
 */
#include "tools/wal/wal_tool.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Shard number of a directory entry named "shard-<k>", or -1. */
static int shard_of_name(const char *name)
{
	unsigned k;
	int end = 0;

	if (sscanf(name, "shard-%3u%n", &k, &end) != 1 || name[end] != 0 || k >= SHARDS_MAX)
		return -1;
	return (int)k;
}

static int open_one(const char *data_dir, const char *archive_dir, int k, struct wt_shard *sh)
{
	char arch[WT_DIR_BYTES];
	int rc;

	sh->id = (uint8_t)k;
	if (snprintf(sh->dir, sizeof sh->dir, "%s/shard-%d", data_dir, k) >= (int)sizeof sh->dir ||
	    (archive_dir &&
	     snprintf(arch, sizeof arch, "%s/shard-%d", archive_dir, k) >= (int)sizeof arch)) {
		fprintf(stderr, "onsale-wal: path too long: %s\n", data_dir);
		return -1;
	}
	rc = storage_ro_open(&sh->st, sh->dir, archive_dir ? arch : NULL);
	if (rc) {
		fprintf(stderr, "onsale-wal: cannot open %s: %s\n", sh->dir, strerror(-rc));
		return -1;
	}
	return 0;
}

/* The shard numbers present in data_dir, as a bit set. */
static int shards_present(const char *data_dir, uint64_t *present)
{
	DIR *d = opendir(data_dir);
	struct dirent *e;

	if (!d) {
		fprintf(stderr, "onsale-wal: cannot open data directory %s: %s\n", data_dir,
			strerror(errno));
		return -1;
	}
	*present = 0;
	while ((e = readdir(d))) {
		int k = shard_of_name(e->d_name);

		if (k >= 0)
			*present |= 1ull << k;
	}
	closedir(d);
	return 0;
}

int wt_shards_open(const char *data_dir, const char *archive_dir, int shard, struct wt_shard **out,
		   size_t *count)
{
	uint64_t present;
	struct wt_shard *sh;
	size_t n = 0;

	if (shards_present(data_dir, &present))
		return -1;
	/* a shard that never archived has no directory there; the archive
	 * itself missing is a wrong path (it read the live WAL alone) */
	struct stat st;
	int bad = !archive_dir             ? 0
		  : stat(archive_dir, &st) ? errno
		  : !S_ISDIR(st.st_mode)   ? ENOTDIR
					   : 0;
	if (bad) {
		fprintf(stderr, "onsale-wal: cannot open archive directory %s: %s\n", archive_dir,
			strerror(bad));
		return -1;
	}
	if (shard >= 0)
		present &= 1ull << shard;
	if (!present) {
		fprintf(stderr, "onsale-wal: no %s in %s\n",
			shard >= 0 ? "such shard directory" : "shard-<k> directories", data_dir);
		return -1;
	}
	sh = calloc((size_t)__builtin_popcountll(present), sizeof *sh);
	if (!sh)
		return -1;
	for (int k = 0; k < SHARDS_MAX; k++) {
		if (!(present >> k & 1))
			continue;
		if (open_one(data_dir, archive_dir, k, &sh[n])) {
			wt_shards_close(sh, n);
			return -1;
		}
		n++;
	}
	*out = sh;
	*count = n;
	return 0;
}

void wt_shards_close(struct wt_shard *shards, size_t count)
{
	for (size_t i = 0; i < count; i++)
		storage_destroy(&shards[i].st);
	free(shards);
}

enum wt_exit wt_exit_of_scan(enum wal_read_status s)
{
	switch (s) {
	case WAL_READ_CLEAN: return WT_EXIT_OK;
	case WAL_READ_TORN_TAIL: return WT_EXIT_TORN;
	case WAL_READ_CORRUPT: return WT_EXIT_CORRUPT;
	}
	return WT_EXIT_CORRUPT;
}

void wt_report_damage(uint8_t shard, const struct wal_scan *scan)
{
	const struct wal_damage *d = &scan->damage;
	char seg[STORAGE_NAME_BYTES_MAX];

	if (scan->status == WAL_READ_CLEAN)
		return;
	wal_segment_name(seg, sizeof seg, shard, d->segment);
	if (scan->status == WAL_READ_TORN_TAIL)
		fprintf(stderr,
			"shard %u: torn tail at LSN %llu (%s offset %llu: %s); the records before it "
			"are whole, and the server truncates the tail when it starts\n",
			shard, (unsigned long long)d->lsn, seg, (unsigned long long)d->offset,
			d->what);
	else
		fprintf(stderr,
			"shard %u: CORRUPT at LSN %llu (%s offset %llu: %s, verdict %s); the server "
			"refuses to start; see docs/OPERATIONS.md\n",
			shard, (unsigned long long)d->lsn, seg, (unsigned long long)d->offset,
			d->what, walfmt_verdict_name(d->verdict));
}
