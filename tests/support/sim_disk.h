/*
 * sim_disk.h — a simulated in-memory disk behind the storage interface, for
 * deterministic crash and fault tests of the WAL (and later snapshots).
 *
 * Every file has two images: what a reader sees now (volatile) and what
 * survives a power loss (durable). A write changes the volatile image and
 * is remembered as unsynced; a completed fsync of the file moves its unsynced
 * writes into the durable image; an fsync of the directory makes names
 * (creates, renames, unlinks) durable. sim_disk_crash() throws the volatile
 * state away: by default every unsynced write is lost; in "some survive"
 * mode a seeded choice of them survives whole or torn at a random byte, as a
 * real page cache might have written some back before the power went.
 *
 * Faults, all drawn from the disk's seed so a run repeats exactly: short
 * writes (only a prefix written, reported short), misdirected writes (land at
 * another offset, reported fine), EIO on write, fsync or read; and direct
 * damage to the durable image (bit flips, zeroed ranges) for tests. A space
 * limit makes creates, allocations and writes that would grow the files
 * past it fail with -ENOSPC, as a full filesystem does.
 * Asynchronous operations complete in submission order, a seeded number per
 * poll, so a crash can land with operations still in flight.
 */
#ifndef ONSALE_SIM_DISK_H
#define ONSALE_SIM_DISK_H

#include <stdint.h>
#include "core/storage.h"

struct sim_disk;

/* Per-operation fault chances in parts per million. */
struct sim_disk_faults {
	uint32_t short_write_ppm;
	uint32_t misdirect_write_ppm;
	uint32_t eio_write_ppm;
	uint32_t eio_fsync_ppm;
	uint32_t eio_read_ppm;
};

struct sim_disk_stats {
	uint64_t writes, fsyncs, dir_fsyncs, bytes_written;
	uint64_t short_writes, misdirected_writes, eio_writes, eio_fsyncs, eio_reads;
	uint64_t crashes, unsynced_kept, unsynced_torn, unsynced_dropped;
};

enum sim_disk_crash_mode {
	SIM_CRASH_DROP_UNSYNCED = 0, /* every write not covered by an fsync is lost */
	SIM_CRASH_SOME_SURVIVE = 1,  /* each one is lost, kept, or kept torn (seeded) */
};

struct sim_disk *sim_disk_create(uint64_t seed);
void sim_disk_destroy(struct sim_disk *d);
void sim_disk_set_faults(struct sim_disk *d, const struct sim_disk_faults *f);
const struct sim_disk_stats *sim_disk_stats(const struct sim_disk *d);

/* A storage instance on this disk (one at a time). Destroying the storage
 * leaves the disk and its files. */
void sim_disk_storage(struct sim_disk *d, struct storage *out);

/* Power loss. Call it before freeing whatever buffers in-flight writes
 * point at. Open handles and queued operations are gone afterwards. */
void sim_disk_crash(struct sim_disk *d, enum sim_disk_crash_mode mode);

/* One-shot faults for the next matching operation. */
void sim_disk_fail_next_fsync(struct sim_disk *d, int err);
void sim_disk_fail_next_read(struct sim_disk *d, int err);
void sim_disk_fail_next_write(struct sim_disk *d, int err);

/* The disk holds at most bytes of file data, summed over every file's size
 * (0: unlimited, the default). Growing past it fails with -ENOSPC; raising
 * it or removing files gives the space back. */
void sim_disk_set_space(struct sim_disk *d, uint64_t bytes);
uint64_t sim_disk_used(const struct sim_disk *d);
void sim_disk_short_next_write(struct sim_disk *d, uint32_t bytes);
void sim_disk_misdirect_next_write(struct sim_disk *d, int64_t delta_bytes);

/* Direct access to both images of a file by name (tests): damage and
 * inspection. Return 0 or -ENOENT / -EINVAL. */
int sim_disk_flip_bit(struct sim_disk *d, const char *name, uint64_t off, unsigned bit);
int sim_disk_zero(struct sim_disk *d, const char *name, uint64_t off, uint64_t len);
int sim_disk_poke(struct sim_disk *d, const char *name, uint64_t off, const void *buf,
		  uint64_t len);
int sim_disk_peek(struct sim_disk *d, const char *name, uint64_t off, void *buf, uint64_t len);
int64_t sim_disk_file_bytes(struct sim_disk *d, const char *name);
/* Unsynced writes pending (not yet covered by an fsync). */
uint64_t sim_disk_unsynced(const struct sim_disk *d);

#endif
