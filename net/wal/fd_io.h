/*
 * fd_io.h — the two plain-syscall file operations both storage
 * implementations need outside their write paths: a file's size and a full
 * pread (retried on EINTR and short reads, stopping at end of file). Used
 * by net/wal/storage_uring.c (recovery reads, not on the io_uring write path)
 * and net/wal/storage_ro.c (the read-only store).
 */
#ifndef ONSALE_FD_IO_H
#define ONSALE_FD_IO_H

#include <errno.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

/* *bytes = the file's size; 0 or -errno. */
static inline int fd_size(int fd, uint64_t *bytes)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	*bytes = (uint64_t)st.st_size;
	return 0;
}

/* Reads len bytes at off: the bytes read (fewer only at end of file) or -errno. */
static inline int64_t fd_pread_full(int fd, void *buf, uint32_t len, uint64_t off)
{
	uint32_t done = 0;
	while (done < len) {
		ssize_t n = pread(fd, (char *)buf + done, len - done, (off_t)(off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		done += (uint32_t)n;
	}
	return done;
}

#endif
