/*
 * meta.c — the data directory records its shard count.
 *
 * What a shard owns is found by shard number: the inventory placed on shard
 * k lives in <data>/shard-<k>/, and a customer's counts live on the shard
 * their id hashes to modulo the shard count. Starting with another count
 * would ignore some shard directories and move every customer's home, so
 * the count belongs to the data. <data>/shards holds one line,
 *
 *   shards=<N>
 *
 * written on the first start once shard-0..N-1 exist (temp file, fsync,
 * rename, directory fsync) and compared at every start before any shard is
 * recovered. A data directory from before the file existed adopts the count
 * its shard-<k> directories show when they are exactly shard-0..K-1.
 * Resharding is not supported: every mismatch is refused with a message
 * that says what the data holds and what to do (docs/OPERATIONS.md).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/wal/log.h"
#include "net/server/server.h"

/* the shard-<k> directories found are kept as a bit set */
_Static_assert(SHARDS_MAX <= 64, "shard directories are a 64-bit set");

#define META_NAME "shards"
#define META_BYTES_MAX 32

struct meta_dirs {
	uint64_t present; /* bit k: shard-<k>/ exists */
	int stray;        /* a shard-<k>/ with k >= SHARDS_MAX, or -1 */
};

static const char *const resharding_note =
	"changing the shard count of a data directory (resharding) is not supported";

/* k of a directory entry named exactly "shard-<k>" (no leading zeros), or -1. */
static int shard_of_name(const char *name)
{
	char back[32];
	unsigned k;
	if (sscanf(name, "shard-%6u", &k) != 1)
		return -1;
	snprintf(back, sizeof back, "shard-%u", k);
	return strcmp(back, name) ? -1 : (int)k;
}

static int dirs_scan(const char *data_dir, struct meta_dirs *d)
{
	DIR *dir = opendir(data_dir);
	if (!dir)
		return -errno;
	d->present = 0;
	d->stray = -1;
	struct dirent *e;
	while ((e = readdir(dir))) {
		int k = shard_of_name(e->d_name);
		struct stat st;
		if (k < 0 || fstatat(dirfd(dir), e->d_name, &st, 0) || !S_ISDIR(st.st_mode))
			continue;
		if (k < SHARDS_MAX)
			d->present |= 1ull << k;
		else
			d->stray = k;
	}
	closedir(dir);
	return 0;
}

static uint64_t all_below(uint32_t count)
{
	return count >= 64 ? ~0ull : (1ull << count) - 1;
}

static int fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* 0 with *count, -ENOENT when there is no file, -EINVAL (reported) when it
 * does not hold one valid "shards=<N>" line, else -errno. */
static int count_read(const char *data_dir, uint32_t *count)
{
	char path[320], buf[META_BYTES_MAX + 1];
	snprintf(path, sizeof path, "%s/" META_NAME, data_dir);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, META_BYTES_MAX);
	int rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc)
		return rc;
	buf[n] = 0;
	char *end = NULL;
	unsigned long v = strncmp(buf, "shards=", 7) ? 0 : strtoul(buf + 7, &end, 10);
	if (v < 1 || v > SHARDS_MAX || !end || strcmp(end, "\n")) {
		log_msg(LOG_ERROR, LOG_SHARD_NONE,
			"%s does not hold one line \"shards=<N>\" with N in 1..%u; onsaled will "
			"not start. Treat it as damage: restore the data directory, or this "
			"file, from a backup (docs/OPERATIONS.md, \"The shard count\")",
			path, SHARDS_MAX);
		return -EINVAL;
	}
	*count = (uint32_t)v;
	return 0;
}

/* Writes the file under a temp name, syncs it, renames it into place and
 * syncs the directory, so a crash leaves either no file or the whole one. */
static int count_write(const char *data_dir, uint32_t count)
{
	char tmp[320], path[320], line[META_BYTES_MAX];
	snprintf(tmp, sizeof tmp, "%s/" META_NAME ".tmp", data_dir);
	snprintf(path, sizeof path, "%s/" META_NAME, data_dir);
	int len = snprintf(line, sizeof line, "shards=%u\n", count);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	errno = EIO; /* a short write sets none */
	int rc = write(fd, line, (size_t)len) == len ? 0 : -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (!rc)
		rc = fsync_path(data_dir, O_RDONLY | O_DIRECTORY);
	if (rc)
		log_msg(LOG_ERROR, LOG_SHARD_NONE, "cannot record the shard count in %s: %s", path,
			strerror(-rc));
	return rc;
}

/* First start: shard-0..N-1 exist (and are durable) before the count is. */
static int record_new(const char *data_dir, uint32_t shards)
{
	char dir[320];
	for (uint32_t k = 0; k < shards; k++) {
		snprintf(dir, sizeof dir, "%s/shard-%u", data_dir, k);
		if (mkdir(dir, 0755) && errno != EEXIST)
			return -errno;
	}
	int rc = fsync_path(data_dir, O_RDONLY | O_DIRECTORY);
	return rc ? rc : count_write(data_dir, shards);
}

/* The shard-<k> directories of a data directory that records count. */
static int check_dirs(const char *data_dir, uint32_t count, const struct meta_dirs *d)
{
	uint64_t extra = d->present & ~all_below(count);
	uint64_t missing = all_below(count) & ~d->present;
	if (d->stray >= 0 || extra) {
		int k = d->stray >= 0 ? d->stray : __builtin_ctzll(extra);
		log_msg(LOG_ERROR, LOG_SHARD_NONE,
			"%s records %u shards (file %s/" META_NAME ") but also has "
			"shard-%d/, which belongs to no shard of that count; onsaled will "
			"not start. Find out where it came from (onsale-wal stats --data %s "
			"--shard %d) and restore the data directory from a backup; %s",
			data_dir, count, data_dir, k, data_dir, k, resharding_note);
		return -EINVAL;
	}
	if (missing) {
		int k = __builtin_ctzll(missing);
		log_msg(LOG_ERROR, LOG_SHARD_NONE,
			"%s records %u shards but shard-%d/ is missing: its "
			"inventory, holds and tickets would be lost; onsaled will not start. "
			"Restore shard-%d/ from a backup (docs/OPERATIONS.md, Backups)",
			data_dir, count, k, k);
		return -EINVAL;
	}
	return 0;
}

/* recorded: the count comes from the file, else from the shard-<k> dirs */
static int refuse_count(const char *data_dir, uint32_t count, uint32_t shards, bool recorded)
{
	char where[320];
	if (recorded)
		snprintf(where, sizeof where, "recorded in %s/" META_NAME, data_dir);
	else
		snprintf(where, sizeof where, "shard-0..shard-%u found, no " META_NAME " file yet",
			 count - 1);
	log_msg(LOG_ERROR, LOG_SHARD_NONE,
		"%s holds the data of %u shard%s (%s) but --shards is "
		"%u; onsaled will not start. Start it with --shards %u; %s",
		data_dir, count, count == 1 ? "" : "s", where, shards, count, resharding_note);
	return -EINVAL;
}

/* A data directory without the file: new, or written before it existed. */
static int adopt(const char *data_dir, uint32_t shards, const struct meta_dirs *d)
{
	if (!d->present && d->stray < 0)
		return record_new(data_dir, shards);
	uint32_t count = 64 - (uint32_t)__builtin_clzll(d->present | 1);
	if (d->stray >= 0 || d->present != all_below(count)) {
		log_msg(LOG_ERROR, LOG_SHARD_NONE,
			"%s has no " META_NAME " file and its shard-<k> directories "
			"are not shard-0..shard-K-1 (shard-%d/ is %s), so the shard count "
			"its data was written with is unknown; onsaled will not start. "
			"Restore the data directory from a backup; %s",
			data_dir, d->stray >= 0 ? d->stray : __builtin_ctzll(~d->present),
			d->stray >= 0 ? "too high" : "missing", resharding_note);
		return -EINVAL;
	}
	if (count != shards)
		return refuse_count(data_dir, count, shards, false);
	int rc = count_write(data_dir, count);
	if (!rc)
		log_msg(LOG_INFO, LOG_SHARD_NONE,
			"%s: recorded its shard count %u in %s/" META_NAME, data_dir, count,
			data_dir);
	return rc;
}

int meta_shards_open(const char *data_dir, uint32_t shards)
{
	assert(shards >= 1 && shards <= SHARDS_MAX);
	struct meta_dirs d = {.present = 0, .stray = -1};
	int rc = dirs_scan(data_dir, &d);
	if (rc) {
		log_msg(LOG_ERROR, LOG_SHARD_NONE, "%s: %s", data_dir, strerror(-rc));
		return rc;
	}
	uint32_t count;
	rc = count_read(data_dir, &count);
	if (rc == -ENOENT)
		return adopt(data_dir, shards, &d);
	if (rc) {
		if (rc != -EINVAL)
			log_msg(LOG_ERROR, LOG_SHARD_NONE, "%s/" META_NAME ": %s", data_dir,
				strerror(-rc));
		return rc;
	}
	if (count != shards)
		return refuse_count(data_dir, count, shards, true);
	return check_dirs(data_dir, count, &d);
}
