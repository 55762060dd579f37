/*
 * rundir.c — the fresh directory of an in-process bench run, made and
 * removed without a shell, also at SIGINT and SIGTERM (rundir.h).
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/common/rundir.h"

/* Passes over a directory before it is given up as not empty: entries
 * unlinked during a getdents64 pass may hide others on some filesystems. */
#define REMOVE_PASSES 3u
/* getdents64's buffer: a few dozen entries per call. */
#define DENTS_BYTES 4096u

/* The rundir the signal handler removes; NULL when none. */
static struct rundir *volatile active;

/* Unlinks every entry of the open directory fd; a subdirectory is
 * emptied first while depth allows, then removed. Async-signal-safe. */
static void empty_dir(int fd, unsigned depth)
{
	union {
		struct dirent64 first;
		char bytes[DENTS_BYTES];
	} buf;
	for (unsigned seen = 0; seen < RUNDIR_ENTRIES_MAX;) {
		ssize_t n = getdents64(fd, buf.bytes, sizeof buf.bytes);
		if (n <= 0)
			return;
		for (ssize_t off = 0; off < n; seen++) {
			struct dirent64 *e = (struct dirent64 *)(buf.bytes + off);
			off += e->d_reclen;
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (!unlinkat(fd, e->d_name, 0) || errno != EISDIR || !depth)
				continue;
			int sub = openat(fd, e->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0)
				continue;
			empty_dir(sub, depth - 1);
			close(sub);
			unlinkat(fd, e->d_name, AT_REMOVEDIR);
		}
	}
}

/* Removes path and what is in it (subdirectories one level deep). */
static void remove_tree(const char *path)
{
	for (unsigned pass = 0; pass < REMOVE_PASSES; pass++) {
		int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return;
		empty_dir(fd, 1);
		close(fd);
		if (!rmdir(path) || errno != ENOTEMPTY)
			return;
	}
}

void rundir_remove(struct rundir *d)
{
	assert(d);
	if (d->path[0])
		remove_tree(d->path);
	d->path[0] = 0;
	for (unsigned i = d->n_made; i-- > 0;)
		rmdir(d->made[i]); /* fails, as it should, unless left empty */
	d->n_made = 0;
	active = NULL;
}

void rundir_keep(struct rundir *d)
{
	assert(d && d == active);
	active = NULL;
}

/* Removes the run's directory, then lets the signal do what it does by
 * default (SA_RESETHAND restored it; it is blocked until we return). */
static void on_signal(int sig)
{
	int saved = errno;
	struct rundir *d = active;
	if (d)
		rundir_remove(d);
	errno = saved;
	raise(sig);
}

/* SIGINT and SIGTERM, unless the process was started with them ignored. */
static void catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESETHAND}, old;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!sigaction(sigs[i], NULL, &old) && old.sa_handler != SIG_IGN)
			sigaction(sigs[i], &sa, NULL);
}

/* Makes path, after up to levels - 1 of its missing parents; notes in d
 * each directory made, outermost first. 0 or -errno. */
static int make_dirs(struct rundir *d, const char *path, unsigned levels)
{
	if (!mkdir(path, 0755))
		goto made;
	if (errno == EEXIST)
		return 0;
	if (errno != ENOENT || levels < 2)
		return -errno;
	char parent[RUNDIR_PATH_BYTES];
	snprintf(parent, sizeof parent, "%s", path);
	char *slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -ENOENT;
	*slash = 0;
	int rc = make_dirs(d, parent, levels - 1);
	if (rc)
		return rc;
	if (mkdir(path, 0755))
		return -errno;
made:
	assert(d->n_made < RUNDIR_MADE_MAX);
	snprintf(d->made[d->n_made++], RUNDIR_PATH_BYTES, "%s", path);
	return 0;
}

int rundir_make(struct rundir *d, const char *dir, const char *prog, unsigned levels)
{
	assert(d && dir && prog && !strchr(prog, '/'));
	assert(levels >= 1 && levels <= RUNDIR_MADE_MAX);
	assert(!active); /* one per process: the handler removes one */
	size_t n = strlen(dir);
	while (n > 1 && dir[n - 1] == '/')
		n--;
	d->path[0] = 0;
	d->n_made = 0;
	if (!n)
		return -ENOENT;
	char base[RUNDIR_PATH_BYTES];
	int len = snprintf(d->path, sizeof d->path, "%.*s/%s.XXXXXX", (int)n, dir, prog);
	if (len < 0 || (size_t)len >= sizeof d->path)
		return -ENAMETOOLONG;
	snprintf(base, sizeof base, "%.*s", (int)n, dir);
	int rc = make_dirs(d, base, levels);
	if (!rc && !mkdtemp(d->path))
		rc = -errno;
	if (rc) {
		d->path[0] = 0;
		rundir_remove(d); /* what make_dirs made */
		return rc;
	}
	active = d;
	catch_signals();
	return 0;
}
