/*
 * wal_recfile.c — the .walrec file: records `truncate` dropped, kept so an
 * operator can read (`dump --file`) or re-enter them.
 *
 * The records are stored as their WAL frames, verbatim, so each one keeps
 * its LSN, shard and checksums and can be shown to be exactly what the log
 * held. Frames need not be consecutive: records salvaged from after a
 * corruption follow a gap. All integers little-endian.
 *
 *   off size field
 *     0    8 magic     "OSWALREC"
 *     8    4 version   1
 *    12    1 shard
 *    13    3 reserved  0
 *    16    8 cut_lsn   the LSN truncate cut at (first record dropped)
 *    24    8 reserved  0
 *    32    . frames    core/wal_format.h frames back to back (8-byte aligned)
 */
#include "tools/wal/wal_tool.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/bytes.h"

#define RECFILE_MAGIC "OSWALREC"
#define RECFILE_VERSION 1u
#define RECFILE_HEADER_BYTES 32u

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int wt_recfile_create(struct wt_recfile *rf, const char *path, uint8_t shard, uint64_t cut_lsn)
{
	uint8_t h[RECFILE_HEADER_BYTES] = {0};
	int rc;

	memcpy(h, RECFILE_MAGIC, 8);
	put_u32(h + 8, RECFILE_VERSION);
	put_u8(h + 12, shard);
	put_u64(h + 16, cut_lsn);
	rf->records = rf->bytes = 0;
	rf->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (rf->fd < 0)
		return -errno;
	rc = write_all(rf->fd, h, sizeof h);
	if (rc)
		close(rf->fd);
	return rc;
}

int wt_recfile_add(struct wt_recfile *rf, const uint8_t *frame, uint32_t frame_bytes)
{
	int rc = write_all(rf->fd, frame, frame_bytes);

	if (!rc) {
		rf->records++;
		rf->bytes += frame_bytes;
	}
	return rc;
}

int wt_recfile_finish(struct wt_recfile *rf, const char *path)
{
	char dir[WT_PATH_BYTES];
	int rc = fsync(rf->fd) ? -errno : 0;
	int dfd;

	close(rf->fd);
	if (rc)
		return rc;
	snprintf(dir, sizeof dir, "%s", path);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	rc = fsync(dfd) ? -errno : 0;
	close(dfd);
	return rc;
}

/* Walks the frames after the header. */
static int read_frames(const char *path, const uint8_t *p, size_t len, wt_recfile_fn fn, void *ctx)
{
	uint8_t shard = p[12];

	for (size_t off = RECFILE_HEADER_BYTES; off < len;) {
		struct walfmt_frame f;
		enum walfmt_verdict v = walfmt_decode(p + off, len - off, shard, &f);
		int rc;

		if (v != WALFMT_OK) {
			fprintf(stderr, "onsale-wal: %s: damaged frame at offset %zu (%s)\n", path,
				off, walfmt_verdict_name(v));
			return -1;
		}
		rc = fn(ctx, shard, f.lsn, f.body, f.body_bytes);
		if (rc)
			return rc;
		off += f.frame_bytes;
	}
	return 0;
}

int wt_recfile_read(const char *path, wt_recfile_fn fn, void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	uint8_t *p;
	int rc = -1;

	if (fd < 0 || fstat(fd, &sb)) {
		fprintf(stderr, "onsale-wal: cannot open %s: %s\n", path, strerror(errno));
		goto out_close;
	}
	if ((size_t)sb.st_size < RECFILE_HEADER_BYTES) {
		fprintf(stderr, "onsale-wal: %s: not a .walrec file (too short)\n", path);
		goto out_close;
	}
	p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "onsale-wal: cannot map %s: %s\n", path, strerror(errno));
		goto out_close;
	}
	if (memcmp(p, RECFILE_MAGIC, 8) || get_u32(p + 8) != RECFILE_VERSION)
		fprintf(stderr, "onsale-wal: %s: not a .walrec file (bad magic or version)\n",
			path);
	else
		rc = read_frames(path, p, (size_t)sb.st_size, fn, ctx);
	munmap(p, (size_t)sb.st_size);
out_close:
	if (fd >= 0)
		close(fd);
	return rc;
}
