/*
 * test_shard_kill.c — the shard store on real files through io_uring,
 * killed with SIGKILL at random moments.
 *
 * A child process opens (recovers) the store in a temp directory, then runs
 * random real commands (tests/support/cmd_gen.h) as fast as it can, with a small
 * snapshot policy so snapshots, segment rollover and segment removal happen
 * too. Whenever records become durable it sends them through a pipe: LSN,
 * length and body, packed into writes of at most PIPE_BUF bytes so the
 * parent never sees half a message. The parent keeps a reference core that
 * applies every record the child reported durable. After the kill the
 * parent recovers the store itself and checks:
 *   - every reported record is there (recovered last LSN >= reported);
 *   - records durable but not yet reported are read from the WAL and
 *     applied to the reference too; then the recovered state hash equals
 *     the reference's, and the invariants hold.
 * Bounded: KILL_CYCLES cycles of at most 0.4 s each. SEED=n repeats a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/core.h"
#include "net/store/shard_store.h"
#include "net/wal/storage_uring.h"
#include "net/wal/wal_read.h"
#include "tests/support/cmd_gen.h"

#define SHARD 9
#define KILL_CYCLES 10
#define SEGMENT_BYTES (1u << 20)
#define HIST_RECORDS_MAX (1u << 20)
#define HIST_BYTES_MAX (64u << 20)
#define MSG_HEAD_BYTES 12 /* u64 lsn, u32 length */
#define T0_MS 1800000000000ull

/* ---- child ------------------------------------------------------------------ */

struct child {
	struct shard_store *s;
	int fd;
	uint8_t *bytes; /* bodies of records not yet reported */
	uint32_t *off;  /* by LSN - base */
	uint64_t base, last, reported;
	uint8_t out[PIPE_BUF];
	size_t out_len;
};

static void flush_out(struct child *k)
{
	if (k->out_len && write(k->fd, k->out, k->out_len) != (ssize_t)k->out_len)
		_exit(5);
	k->out_len = 0;
}

/* Sends records reported+1..durable; then starts the buffers over when
 * everything held has been sent. */
static void report(struct child *k, uint64_t durable)
{
	for (uint64_t lsn = k->reported + 1; lsn <= durable; lsn++) {
		uint32_t o = k->off[lsn - k->base], len = k->off[lsn - k->base + 1] - o;
		if (k->out_len + MSG_HEAD_BYTES + len > sizeof k->out)
			flush_out(k);
		memcpy(k->out + k->out_len, &lsn, 8);
		memcpy(k->out + k->out_len + 8, &len, 4);
		memcpy(k->out + k->out_len + MSG_HEAD_BYTES, k->bytes + o, len);
		k->out_len += MSG_HEAD_BYTES + len;
	}
	flush_out(k);
	k->reported = durable;
	if (k->reported == k->last) { /* nothing pending: reuse the buffers */
		k->base = k->last + 1;
		k->off[0] = 0;
	}
}

static void keep(struct child *k)
{
	uint32_t len;
	const uint8_t *body = shard_store_last_record(k->s, &len);
	if (!len)
		return;
	uint64_t lsn = shard_store_last_lsn(k->s), i = lsn - k->base;
	if (i + 1 >= HIST_RECORDS_MAX || k->off[i] + len > HIST_BYTES_MAX)
		_exit(6);
	memcpy(k->bytes + k->off[i], body, len);
	k->off[i + 1] = k->off[i] + len;
	k->last = lsn;
}

static void child(const char *dir, uint64_t seed, uint32_t epoch, int fd)
{
	static struct child k;
	static struct cmd_gen g;
	struct storage st;
	struct shard_store_recovery rec;
	struct shard_store_options o = {.shard = SHARD,
					.segment_bytes = SEGMENT_BYTES,
					.snapshot_records = 3000 + seed % 5000};
	unsigned flags = epoch % 2 ? STORAGE_URING_DIRECT : 0;
	if (storage_uring_open(&st, dir, flags) || shard_store_open(&k.s, &st, &o, &rec))
		_exit(3);
	k.fd = fd;
	k.bytes = malloc(HIST_BYTES_MAX);
	k.off = calloc(HIST_RECORDS_MAX + 1, sizeof *k.off);
	if (!k.bytes || !k.off)
		_exit(4);
	k.reported = k.last = rec.last_lsn;
	k.base = k.last + 1;
	cmd_gen_init(&g, seed * 131 + epoch, T0_MS + epoch * 3600000ull, 50);
	for (;;) {
		for (int n = 0; n < 64; n++) {
			struct cmd c;
			struct result res;
			uint64_t wait;
			if (cmd_gen_next(&g, &c)) {
				enum status stt = shard_store_execute(k.s, &c, g.now_ms, &res,
								      &wait);
				keep(&k);
				cmd_gen_result(&g, &c, stt, &res);
			}
			while (shard_store_next_expiry(k.s, g.now_ms, &c)) {
				shard_store_execute(k.s, &c, g.now_ms, &res, &wait);
				keep(&k);
			}
		}
		if (shard_store_wait(k.s))
			_exit(7);
		if (shard_store_durable_lsn(k.s) > k.reported)
			report(&k, shard_store_durable_lsn(k.s));
	}
}

/* ---- parent ------------------------------------------------------------------ */

struct parent {
	uint64_t seed;
	struct core *ref; /* every reported record applied */
	uint64_t acked;
	uint8_t *in;
	size_t in_len;
	const char *failure;
};

static void apply_ref(struct parent *p, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	if (lsn != p->acked + 1) {
		p->failure = "reported records out of order";
		return;
	}
	if (core_apply(p->ref, body, len) != ST_OK)
		p->failure = "reference refused a reported record";
	p->acked = lsn;
}

/* Consumes whole messages from p->in. */
static void consume(struct parent *p)
{
	size_t pos = 0;
	while (!p->failure && p->in_len - pos >= MSG_HEAD_BYTES) {
		uint64_t lsn;
		uint32_t len;
		memcpy(&lsn, p->in + pos, 8);
		memcpy(&len, p->in + pos + 8, 4);
		if (p->in_len - pos < MSG_HEAD_BYTES + len)
			break;
		apply_ref(p, lsn, p->in + pos + MSG_HEAD_BYTES, len);
		pos += MSG_HEAD_BYTES + len;
	}
	memmove(p->in, p->in + pos, p->in_len - pos);
	p->in_len -= pos;
}

/* Reads what the child sends until the deadline (ms from now), or to EOF
 * when ms < 0. */
static void drain(struct parent *p, int fd, long ms)
{
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = -1;
		if (ms >= 0) {
			clock_gettime(CLOCK_MONOTONIC, &t);
			left = ms -
			       ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (left <= 0)
				return;
		}
		struct pollfd pfd = {fd, POLLIN, 0};
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		ssize_t n = read(fd, p->in + p->in_len, (1u << 20) - p->in_len);
		if (n <= 0)
			return;
		p->in_len += (size_t)n;
		consume(p);
	}
}

static int extra_one(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	apply_ref(ctx, lsn, body, len);
	return 0;
}

static void recover_and_check(struct parent *p, const char *dir, uint32_t epoch)
{
	struct storage st;
	struct wal_scan scan;
	assert_int_equal(storage_uring_open(&st, dir, 0), 0);
	/* durable records the child had no time to report */
	uint64_t reported = p->acked;
	int rc = wal_read(&st, SHARD, p->acked + 1, extra_one, p, &scan);
	if (rc == -ERANGE)
		fail_msg("seed %" PRIu64 ": WAL after LSN %" PRIu64 " is gone", p->seed, p->acked);
	assert_int_equal(rc, 0);
	assert_null(p->failure);
	struct shard_store *s;
	struct shard_store_recovery rec;
	struct shard_store_options o = {.shard = SHARD,
					.segment_bytes = SEGMENT_BYTES,
					.snapshot_records = UINT64_MAX,
					.no_shutdown_snapshot = true};
	rc = shard_store_open(&s, &st, &o, &rec);
	if (rc)
		fail_msg("seed %" PRIu64 " epoch %u: recovery refused: %s", p->seed, epoch,
			 rec.message);
	if (rec.last_lsn < reported)
		fail_msg("seed %" PRIu64 ": reported durable %" PRIu64 ", recovered %" PRIu64,
			 p->seed, reported, rec.last_lsn);
	struct state_hash want = core_state_hash(p->ref);
	if (rec.last_lsn != p->acked || want.lo != rec.hash.lo || want.hi != rec.hash.hi)
		fail_msg("seed %" PRIu64 " epoch %u: recovered state (LSN %" PRIu64
			 ") differs from the reported records (LSN %" PRIu64 ")",
			 p->seed, epoch, rec.last_lsn, p->acked);
	assert_null(core_check_invariants(shard_store_core(s)));
	print_message("cycle %u: %" PRIu64 " reported, %" PRIu64 " recovered (snapshot %" PRIu64
		      ", %" PRIu64 " replayed)\n",
		      epoch, reported, rec.last_lsn, rec.snapshot_lsn, rec.records_replayed);
	shard_store_close(s);
	storage_destroy(&st);
}

static int remove_all(void *ctx, const char *name)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
	unlink(path);
	return 0;
}

static void killed_shard_keeps_every_reported_record(void **state)
{
	(void)state;
	static struct parent p;
	p.seed = getenv("SEED") ? strtoull(getenv("SEED"), NULL, 10) : (uint64_t)time(NULL);
	p.ref = core_create(SHARD);
	p.in = malloc(1u << 20);
	assert_non_null(p.ref);
	assert_non_null(p.in);
	print_message("seed %" PRIu64 " (SEED=%" PRIu64 " to repeat)\n", p.seed, p.seed);
	char dir[] = "/tmp/onsale-shard-kill-XXXXXX";
	assert_non_null(mkdtemp(dir));
	srand((unsigned)p.seed);
	for (uint32_t epoch = 1; epoch <= KILL_CYCLES; epoch++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(dir, p.seed, epoch, fds[1]);
		}
		close(fds[1]);
		drain(&p, fds[0], 30 + rand() % 370);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		if (!WIFSIGNALED(status))
			fail_msg("child exited with %d before the kill", WEXITSTATUS(status));
		drain(&p, fds[0], -1);
		close(fds[0]);
		assert_null(p.failure);
		p.in_len = 0; /* a message cut by the kill is not reported */
		recover_and_check(&p, dir, epoch);
	}
	assert_true(p.acked > 0);
	struct storage st;
	assert_int_equal(storage_uring_open(&st, dir, 0), 0);
	storage_list(&st, remove_all, dir);
	storage_destroy(&st);
	rmdir(dir);
	core_destroy(p.ref);
	free(p.in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_shard_keeps_every_reported_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
