/*
 * test_wal_uring.c — the WAL on the io_uring file backend
 * (net/wal/storage_uring.c), buffered and O_DIRECT: the wait fd wakes an event
 * loop when a batch completes, segments roll over as real preallocated
 * files that are zero-filled (no unwritten extent left, where the
 * filesystem reports extents), and the log reads back whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/wal/storage_uring.h"
#include "net/wal/wal.h"
#include "net/wal/wal_read.h"
#include "tests/support/wal_check.h"

#define SHARD 9
#define SEED 4
#define LEN_MAX 2000u
#define SEGMENT_BYTES (256u << 10)

static int count_record(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	uint64_t *count = ctx;
	assert_int_equal(lsn, *count + 1);
	assert_int_equal(wal_check_body(body, len, SEED, lsn, LEN_MAX, NULL), 0);
	++*count;
	return 0;
}

static int remove_file(void *ctx, const char *name)
{
	storage_unlink(ctx, name);
	return 0;
}

/* Unwritten (allocated, never written) extents of path; 0 when the
 * filesystem has no FIEMAP (then there is nothing to check). */
static int unwritten_extents(const char *path)
{
	enum { EXTENTS = 64 };
	static union {
		struct fiemap fm;
		uint8_t bytes[sizeof(struct fiemap) + EXTENTS * sizeof(struct fiemap_extent)];
	} u;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	memset(&u, 0, sizeof u);
	u.fm.fm_length = FIEMAP_MAX_OFFSET;
	u.fm.fm_flags = FIEMAP_FLAG_SYNC;
	u.fm.fm_extent_count = EXTENTS;
	int n = 0;
	if (ioctl(fd, FS_IOC_FIEMAP, &u.fm) == 0)
		for (unsigned i = 0; i < u.fm.fm_mapped_extents; i++)
			n += !!(u.fm.fm_extents[i].fe_flags & FIEMAP_EXTENT_UNWRITTEN);
	close(fd);
	return n;
}

static void run(unsigned flags)
{
	char dir[] = "/tmp/onsale-wal-uring-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct storage st;
	assert_int_equal(storage_uring_open(&st, dir, flags), 0);
	struct wal *w;
	struct wal_options o = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
	assert_int_equal(wal_open(&w, &st, &o, NULL), 0);
	int fd = wal_wait_fd(w);
	assert_true(fd >= 0);

	/* one record: the fd wakes the loop, the record becomes durable */
	uint8_t body[LEN_MAX];
	uint32_t len = wal_check_make(body, SEED, 1, 0, LEN_MAX);
	assert_int_equal(wal_append(w, body, len, NULL), 0);
	assert_int_equal(wal_flush(w), 0);
	while (wal_durable_lsn(w) < 1) {
		struct pollfd p = {fd, POLLIN, 0};
		assert_int_equal(poll(&p, 1, 5000), 1);
		assert_int_equal(wal_poll(w), 0);
	}

	/* enough records for several segments */
	for (uint64_t lsn = 2; lsn <= 6000;) {
		len = wal_check_make(body, SEED, lsn, 0, LEN_MAX);
		int rc = wal_append(w, body, len, NULL);
		if (rc == -EAGAIN) {
			assert_int_equal(wal_wait(w), 0);
			continue;
		}
		assert_int_equal(rc, 0);
		lsn++;
	}
	assert_int_equal(wal_sync(w), 0);
	assert_true(wal_stats(w)->segments_created >= 3);
	uint64_t segments = wal_stats(w)->segments_created;
	wal_close(w);

	/* segments are full-size preallocated files */
	char path[128];
	struct stat sb;
	snprintf(path, sizeof path, "%s/wal-009-000000000000.seg", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, SEGMENT_BYTES);
	/* zero-filled before use: written extents only, also in the spare */
	assert_int_equal(unwritten_extents(path), 0);
	snprintf(path, sizeof path, "%s/wal-009-%012llu.seg", dir, (unsigned long long)segments);
	assert_int_equal(unwritten_extents(path), 0);

	struct wal_scan s;
	uint64_t count = 0;
	assert_int_equal(wal_read(&st, SHARD, 0, count_record, &count, &s), 0);
	assert_int_equal(s.status, WAL_READ_CLEAN);
	assert_int_equal(count, 6000);
	storage_list(&st, remove_file, &st);
	storage_destroy(&st);
	assert_int_equal(rmdir(dir), 0);
}

static void buffered_files(void **state)
{
	(void)state;
	run(0);
}

static void direct_files(void **state)
{
	(void)state;
	run(STORAGE_URING_DIRECT);
}

/* STORAGE_URING_DIRECT_TRY: O_DIRECT exactly when the directory takes it,
 * and the probe leaves no file behind (rmdir of the directory works). */
static void direct_where_supported(void **state)
{
	(void)state;
	char dir[] = "/tmp/onsale-wal-uring-XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/probe", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	assert_int_equal(unlink(path), 0);
	struct storage st;
	assert_int_equal(storage_uring_open(&st, dir, STORAGE_URING_DIRECT_TRY), 0);
	assert_int_equal(storage_uring_direct(&st), fd >= 0);
	storage_destroy(&st);
	assert_int_equal(rmdir(dir), 0);
	run(STORAGE_URING_DIRECT_TRY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buffered_files),
		cmocka_unit_test(direct_files),
		cmocka_unit_test(direct_where_supported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
