/*
 * wal_snap.c — where onsale-wal gets a shard's starting state: the newest
 * valid snapshot at or before an LSN (net/store/snapshot.h), or nothing.
 *
 * Kept apart from the replay loop (wal_state.c) so the one place that
 * depends on the snapshot file code is small. Snapshots after the LSN are
 * hidden from the loader by the read-only storage (net/wal/storage_ro.c); damaged
 * ones are skipped by the loader and reported here on stderr.
 */
#include "tools/wal/wal_tool.h"

#include <errno.h>
#include <string.h>

#include "net/store/snapshot.h"

int wt_snapshot_load(struct wt_shard *sh, uint64_t lsn_max, struct core **out, uint64_t *lsn,
		     uint8_t chain[16])
{
	struct snapshot_info info;
	char why[512];
	int rc;

	storage_ro_hide_snapshots_after(&sh->st, lsn_max);
	rc = snapshot_load_newest(&sh->st, sh->id, out, &info, why, sizeof why);
	storage_ro_hide_snapshots_after(&sh->st, WT_LSN_MAX);
	size_t n = strlen(why);
	while (n && (why[n - 1] == ' ' || why[n - 1] == ';')) /* the loader's "; " */
		why[--n] = '\0';
	if (n)
		fprintf(stderr,
			"shard %u: damaged snapshot(s) skipped: %s (onsaled skips them too and starts"
			" from an older snapshot or the whole WAL; copy them away to investigate)\n",
			sh->id, why);
	if (rc == 0) {
		*lsn = info.lsn;
		memcpy(chain, info.chain, sizeof info.chain);
	} else if (rc != -ENOENT)
		fprintf(stderr, "onsale-wal: shard %u: loading a snapshot in %s: %s\n", sh->id,
			sh->dir, strerror(-rc));
	return rc;
}
