/*
 * test_snapshot.c — snapshot files (net/store/snapshot.h) on the simulated disk:
 * a round trip keeps the state hash and the header fields; damage to any
 * header byte, to any header field (with a recomputed header checksum, so
 * the field check itself is what refuses), or to the body is
 * refused and reported, and loading falls back to the next older snapshot;
 * temp files of an interrupted write are ignored and removed; older
 * snapshots are removed on request; a load asked to stop stops; a file
 * read in pieces of any size (the header alone first, odd sizes after)
 * verifies and loads as read whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <xxhash.h>

#include "core/core.h"
#include "core/serial.h"
#include "net/store/snapshot.h"
#include "tests/support/sim_disk.h"
#include "tests/support/fixture.h"
#include "tests/support/pieces.h"

#define SHARD 4

struct env {
	struct sim_disk *disk;
	struct storage st;
	struct fx *f;
	uint8_t chain[16];
};

static void env_open(struct env *e)
{
	e->disk = sim_disk_create(1);
	sim_disk_storage(e->disk, &e->st);
	e->f = fx_new(SHARD);
	assert_int_equal(fx_event(e->f, 1, 2000, 0), ST_OK);
	assert_int_equal(fx_ga_tier(e->f, 1, 0, 500, 1000), ST_OK);
	assert_int_equal(fx_reserved_tier(e->f, 1, 1, 3000), ST_OK);
	assert_int_equal(fx_section(e->f, 1, 0, 5, 10, 1), ST_OK);
	assert_int_equal(fx_hold_ga(e->f, 1, 0, 3, 42), ST_OK);
	for (int i = 0; i < 16; i++)
		e->chain[i] = (uint8_t)(i * 7 + 1);
}

static void env_close(struct env *e)
{
	fx_free(e->f);
	storage_destroy(&e->st);
	sim_disk_destroy(e->disk);
}

static void hash_eq(struct state_hash a, struct state_hash b)
{
	assert_int_equal(a.lo, b.lo);
	assert_int_equal(a.hi, b.hi);
}

static void round_trip_keeps_state_and_header(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	struct snapshot_info w, r;
	assert_int_equal(snapshot_write(&e.st, e.f->c, 5, e.chain, &w), 0);
	assert_string_equal(w.name, "snap-00000000000000000005.osnp");
	hash_eq(w.hash, core_state_hash(e.f->c));
	struct core *c;
	char why[256];
	assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, &r, why, sizeof why), 0);
	assert_string_equal(why, "");
	hash_eq(core_state_hash(c), core_state_hash(e.f->c));
	assert_int_equal(r.lsn, 5);
	assert_int_equal(r.shard, SHARD);
	assert_int_equal(r.body_bytes, w.body_bytes);
	assert_memory_equal(r.chain, e.chain, 16);
	assert_null(core_check_invariants(c));
	core_destroy(c);
	/* lsn 0 carries no chain value */
	assert_int_equal(snapshot_write(&e.st, e.f->c, 0, e.chain, NULL), -EINVAL);
	env_close(&e);
}

static const char *check_in_pieces(const uint8_t *img, uint64_t bytes, size_t first, size_t size,
				   struct core **c)
{
	struct pieces q = {.p = img, .left = bytes, .first = first, .size = size, .stop = SIZE_MAX};
	struct serial_source src = pieces_source(&q);
	uint8_t header[SNAPSHOT_HEADER_BYTES];

	*c = NULL;
	return snapshot_image_check_from(&src, bytes, SHARD, 5, c, header);
}

static void an_image_in_pieces_loads_as_whole(void **state)
{
	(void)state;
	static const size_t cuts[][2] = {{SNAPSHOT_HEADER_BYTES, 7},
					 {SNAPSHOT_HEADER_BYTES, 4096},
					 {SNAPSHOT_HEADER_BYTES + 5, 1},
					 {4096, 100000}};
	struct env e;
	env_open(&e);
	uint8_t *img;
	uint64_t bytes;
	assert_int_equal(snapshot_image(e.f->c, 5, e.chain, &img, &bytes), 0);
	struct state_hash want = core_state_hash(e.f->c);
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		struct core *c;
		const char *bad = check_in_pieces(img, bytes, cuts[i][0], cuts[i][1], &c);
		if (bad)
			fail_msg("pieces %zu then %zu: %s", cuts[i][0], cuts[i][1], bad);
		hash_eq(core_state_hash(c), want);
		core_destroy(c);
	}
	img[SNAPSHOT_HEADER_BYTES + 40] ^= 0x10; /* one bit of the body */
	struct core *c;
	assert_string_equal(check_in_pieces(img, bytes, SNAPSHOT_HEADER_BYTES, 7, &c),
			    "bad body checksum");
	assert_null(c);
	munmap(img, bytes);
	env_close(&e);
}

/* The replaying writer's load: stopped by its flag, loaded without it. */
static void a_cancelled_load_loads_nothing(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	assert_int_equal(snapshot_write(&e.st, e.f->c, 5, e.chain, NULL), 0);
	atomic_bool cancel = true;
	struct core *c = NULL;
	struct snapshot_info info;
	assert_int_equal(snapshot_load_newest_or_cancel(&e.st, SHARD, &cancel, &c, &info),
			 -ECANCELED);
	assert_null(c);
	atomic_store(&cancel, false);
	assert_int_equal(snapshot_load_newest_or_cancel(&e.st, SHARD, &cancel, &c, &info), 0);
	assert_int_equal(info.lsn, 5);
	hash_eq(core_state_hash(c), core_state_hash(e.f->c));
	core_destroy(c);
	env_close(&e);
}

static void no_snapshot_is_enoent(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	struct core *c;
	char why[64];
	assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, NULL, why, sizeof why), -ENOENT);
	env_close(&e);
}

/* Writes an old (lsn 3) and a new (lsn 9) snapshot; returns the new one's
 * name in name. */
static void two_snapshots(struct env *e, char *name, struct state_hash *old_hash)
{
	assert_int_equal(snapshot_write(&e->st, e->f->c, 3, e->chain, NULL), 0);
	*old_hash = core_state_hash(e->f->c);
	assert_int_equal(fx_hold_ga(e->f, 1, 0, 2, 43), ST_OK);
	assert_int_equal(snapshot_write(&e->st, e->f->c, 9, e->chain, NULL), 0);
	snapshot_name(name, 40, 9);
}

/* Loads and expects the fallback to lsn 3 with a report naming the file. */
static void expect_fallback(struct env *e, struct state_hash old_hash, const char *what)
{
	struct core *c;
	struct snapshot_info info;
	char why[512];
	assert_int_equal(snapshot_load_newest(&e->st, SHARD, &c, &info, why, sizeof why), 0);
	assert_int_equal(info.lsn, 3);
	hash_eq(core_state_hash(c), old_hash);
	assert_non_null(strstr(why, "snap-00000000000000000009.osnp"));
	if (what && !strstr(why, what))
		fail_msg("expected \"%s\" in \"%s\"", what, why);
	core_destroy(c);
}

static void every_header_bit_flip_falls_back(void **state)
{
	(void)state;
	for (uint32_t byte = 0; byte < SNAPSHOT_HEADER_BYTES; byte++) {
		struct env e;
		struct state_hash old_hash;
		char name[40];
		env_open(&e);
		two_snapshots(&e, name, &old_hash);
		assert_int_equal(sim_disk_flip_bit(e.disk, name, byte, byte % 8), 0);
		expect_fallback(&e, old_hash, "bad header checksum");
		env_close(&e);
	}
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Each field changed with the header checksum recomputed: refused by the
 * field check (or by the body / state checks behind it). */
static void every_header_field_checked(void **state)
{
	(void)state;
	static const struct {
		uint32_t off, len;
		const char *what;
	} fields[] = {
		{0, 4, "bad magic"}, {4, 1, "bad magic"},       {5, 1, "another shard"},
		{6, 2, "bad magic"}, {8, 8, "LSN differs"},     {16, 16, NULL},
		{32, 8, NULL},       {40, 16, "body checksum"}, {56, 16, "state hash"},
	};
	for (size_t k = 0; k < sizeof fields / sizeof fields[0]; k++) {
		struct env e;
		struct state_hash old_hash;
		char name[40];
		uint8_t h[SNAPSHOT_HEADER_BYTES];
		env_open(&e);
		two_snapshots(&e, name, &old_hash);
		assert_int_equal(sim_disk_peek(e.disk, name, 0, h, sizeof h), 0);
		h[fields[k].off] ^= 0x10;
		XXH128_hash_t sum = XXH3_128bits(h, 72);
		put64(h + 72, sum.low64);
		put64(h + 80, sum.high64);
		assert_int_equal(sim_disk_poke(e.disk, name, 0, h, sizeof h), 0);
		if (fields[k].off == 16) { /* the chain is only checked against the WAL */
			struct core *c;
			struct snapshot_info info;
			assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, &info, NULL, 0), 0);
			assert_int_equal(info.lsn, 9);
			assert_int_not_equal(info.chain[0], e.chain[0]);
			core_destroy(c);
		} else {
			expect_fallback(&e, old_hash, fields[k].what);
		}
		env_close(&e);
	}
}

static void body_damage_falls_back(void **state)
{
	(void)state;
	for (int kind = 0; kind < 3; kind++) {
		struct env e;
		struct state_hash old_hash;
		char name[40];
		env_open(&e);
		two_snapshots(&e, name, &old_hash);
		uint64_t body_bytes = core_serialized_bytes(e.f->c);
		if (kind == 0)
			assert_int_equal(sim_disk_flip_bit(e.disk, name, SNAPSHOT_HEADER_BYTES + 1,
							   0),
					 0);
		else if (kind == 1) /* the last byte of the state stream */
			assert_int_equal(sim_disk_flip_bit(e.disk, name,
							   SNAPSHOT_HEADER_BYTES + body_bytes - 1,
							   2),
					 0);
		else
			assert_int_equal(sim_disk_zero(e.disk, name, 100, 64), 0);
		expect_fallback(&e, old_hash, "body checksum");
		env_close(&e);
	}
}

static void temp_files_are_ignored_and_removed(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	assert_int_equal(snapshot_write(&e.st, e.f->c, 3, e.chain, NULL), 0);
	int file = storage_create(&e.st, "snap-00000000000000000011.osnp.tmp", 8192);
	assert_true(file > 0);
	storage_close(&e.st, file);
	struct core *c;
	struct snapshot_info info;
	assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, &info, NULL, 0), 0);
	assert_int_equal(info.lsn, 3);
	core_destroy(c);
	assert_int_equal(snapshot_remove_temps(&e.st), 0);
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000011.osnp.tmp") < 0);
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000003.osnp") > 0);
	env_close(&e);
}

static void remove_older_keeps_the_named_and_newer(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	for (uint64_t lsn = 1; lsn <= 4; lsn++)
		assert_int_equal(snapshot_write(&e.st, e.f->c, lsn, e.chain, NULL), 0);
	assert_int_equal(snapshot_remove_older(&e.st, SHARD, 3), 0);
	sim_disk_crash(e.disk, SIM_CRASH_DROP_UNSYNCED); /* removals were made durable */
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000001.osnp") < 0);
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000002.osnp") < 0);
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000003.osnp") > 0);
	assert_true(sim_disk_file_bytes(e.disk, "snap-00000000000000000004.osnp") > 0);
	env_close(&e);
}

static void a_written_snapshot_survives_a_crash(void **state)
{
	(void)state;
	struct env e;
	env_open(&e);
	assert_int_equal(snapshot_write(&e.st, e.f->c, 7, e.chain, NULL), 0);
	sim_disk_crash(e.disk, SIM_CRASH_DROP_UNSYNCED);
	struct core *c;
	assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, NULL, NULL, 0), 0);
	hash_eq(core_state_hash(c), core_state_hash(e.f->c));
	core_destroy(c);
	/* a failed fsync fails the write and leaves no snapshot behind */
	sim_disk_fail_next_fsync(e.disk, -EIO);
	assert_int_equal(snapshot_write(&e.st, e.f->c, 8, e.chain, NULL), -EIO);
	sim_disk_crash(e.disk, SIM_CRASH_DROP_UNSYNCED);
	struct snapshot_info info;
	assert_int_equal(snapshot_load_newest(&e.st, SHARD, &c, &info, NULL, 0), 0);
	assert_int_equal(info.lsn, 7);
	core_destroy(c);
	env_close(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_keeps_state_and_header),
		cmocka_unit_test(no_snapshot_is_enoent),
		cmocka_unit_test(a_cancelled_load_loads_nothing),
		cmocka_unit_test(an_image_in_pieces_loads_as_whole),
		cmocka_unit_test(every_header_bit_flip_falls_back),
		cmocka_unit_test(every_header_field_checked),
		cmocka_unit_test(body_damage_falls_back),
		cmocka_unit_test(temp_files_are_ignored_and_removed),
		cmocka_unit_test(remove_older_keeps_the_named_and_newer),
		cmocka_unit_test(a_written_snapshot_survives_a_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
