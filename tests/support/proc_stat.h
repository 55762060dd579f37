/*
 * proc_stat.h — what /proc says of a process (a server under test): its
 * CPU time and wake-ups, to show a loop does not spin, and its resident
 * memory.
 */
#ifndef ONSALE_TEST_PROC_STAT_H
#define ONSALE_TEST_PROC_STAT_H

#include <sys/types.h>

/* User + system CPU time so far, in clock ticks (sysconf(_SC_CLK_TCK) a
 * second); -1 when /proc cannot tell. */
long proc_cpu_ticks(pid_t pid);

/* Resident memory (VmRSS) in KiB; -1 when /proc cannot tell. */
long proc_rss_kib(pid_t pid);

/* Times its threads so far went to sleep and woke (voluntary context
 * switches, summed over its threads): a loop that wakes for nothing shows
 * here long before in CPU time. -1 when /proc cannot tell. */
long proc_wakeups(pid_t pid);

#endif
