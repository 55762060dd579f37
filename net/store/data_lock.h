/*
 * data_lock.h — one process at a time changes a data directory.
 *
 * onsaled and `onsale-wal truncate` take an exclusive flock(2) on
 * <data>/lock for as long as they run; a second one is refused before it
 * reads or writes anything. Two servers on one directory each append to
 * the same WAL segments from their own idea of the next LSN and
 * acknowledge sales the other overwrites; a truncate under a running
 * server removes the segments and snapshots it is writing. Readers
 * (onsale-wal dump, verify, report, follow) take no lock: they read a
 * running server's data as designed.
 *
 * The lock goes with the process: the kernel drops it when the process
 * exits however it ends (kill -9 included), so a crash never leaves a
 * stale lock. The file holds the holder's pid, for the refusal's message.
 * A forked child (the snapshot writer) closes its copy at once, so a child
 * that outlives its parent for a moment cannot keep the next start out.
 */
#ifndef ONSALE_DATA_LOCK_H
#define ONSALE_DATA_LOCK_H

/* Takes the lock of data_dir for the rest of the process: 0, or -EBUSY
 * when another process holds it (its pid in *holder, 0 if unknown) and
 * still did after tries attempts wait_ms apart, or -errno when the lock
 * file cannot be opened. (The kernel drops a killed process's lock late in
 * its exit, after its memory is gone: a restart right after kill -9 of a
 * large server can find it held for a moment.) */
int data_lock_take(const char *data_dir, unsigned tries, unsigned wait_ms, long *holder);
/* Lets the lock go (the process is done with the directory). */
void data_lock_release(void);

#endif
