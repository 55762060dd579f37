/*
 * proc_stat.c — a process's CPU time and resident memory from /proc
 * (proc_stat.h).
 */
#include "tests/support/proc_stat.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')'); /* fields after the command name */
	long utime = 0, stime = 0;
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &utime,
			 &stime) != 2)
		return -1;
	return utime + stime;
}

/* The number after "key" in a /proc status file, -1 when none. */
static long status_field(const char *path, const char *key)
{
	char line[256];
	long v = -1;
	size_t len = strlen(key);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, len))
			v = strtol(line + len, NULL, 10);
	fclose(f);
	return v;
}

long proc_rss_kib(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	return status_field(path, "VmRSS:");
}

long proc_wakeups(pid_t pid)
{
	char dir[64], path[320];
	long sum = 0;
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof path, "%s/%.200s/status", dir, e->d_name) >=
		    (int)sizeof path)
			continue;
		long v = status_field(path, "voluntary_ctxt_switches:");
		sum += v > 0 ? v : 0;
	}
	closedir(d);
	return sum;
}
