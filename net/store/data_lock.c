/*
 * data_lock.c — the exclusive lock of a data directory (data_lock.h).
 */
#include "net/store/data_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define DATA_LOCK_NAME "lock"

static int held_fd = -1;

/* In a forked child: its copy of the descriptor goes (the parent's lock
 * stays: a flock is dropped only when every copy is closed). */
static void drop_in_child(void)
{
	if (held_fd >= 0)
		close(held_fd);
	held_fd = -1;
}

static long holder_of(int fd)
{
	char buf[24];
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtol(buf, NULL, 10);
}

int data_lock_take(const char *data_dir, unsigned tries, unsigned wait_ms, long *holder)
{
	char path[PATH_MAX], pid[24];
	*holder = 0;
	if (held_fd >= 0)
		return -EALREADY; /* one data directory per process */
	if (snprintf(path, sizeof path, "%s/" DATA_LOCK_NAME, data_dir) >= (int)sizeof path)
		return -ENAMETOOLONG;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int rc;
	for (unsigned i = 0;
	     (rc = flock(fd, LOCK_EX | LOCK_NB) ? -errno : 0) == -EWOULDBLOCK && i < tries; i++) {
		struct timespec t = {(time_t)(wait_ms / 1000), (long)(wait_ms % 1000) * 1000000L};
		nanosleep(&t, NULL);
	}
	if (rc) {
		*holder = holder_of(fd);
		close(fd);
		return rc == -EWOULDBLOCK ? -EBUSY : rc;
	}
	int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)len, 0) != len) {
		rc = -errno;
		close(fd);
		return rc;
	}
	static bool registered;
	if (!registered && pthread_atfork(NULL, NULL, drop_in_child)) {
		close(fd);
		return -ENOMEM;
	}
	registered = true;
	held_fd = fd;
	return 0;
}

void data_lock_release(void)
{
	if (held_fd >= 0)
		close(held_fd); /* the only copy: the lock goes with it */
	held_fd = -1;
}
