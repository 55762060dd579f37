/*
 * test_wal_kill.c — the WAL on real files through io_uring, killed with
 * SIGKILL at random moments. A child process recovers the WAL, then appends
 * self-checking records as fast as it can and reports every durable LSN to
 * the parent through a pipe; the parent kills it after a random delay,
 * recovers the log itself and checks that every LSN the child reported
 * durable is there with the bytes that child wrote, in order, and nothing
 * after it is half-present. Bounded: KILL_CYCLES cycles of at most half a
 * second each. SEED=n repeats a run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "net/wal/storage_uring.h"
#include "net/wal/wal.h"
#include "net/wal/wal_read.h"
#include "tests/support/wal_check.h"

#define SHARD 7
#define LEN_MAX 200u
#define LSN_MAX (2u << 20)
#define KILL_CYCLES 12
#define SEGMENT_BYTES (4u << 20)

struct parent {
	uint64_t seed;
	uint64_t acked;
	uint64_t recovered;
	uint8_t *epoch_of; /* LSN_MAX + 1 */
	uint32_t epoch;
	const char *failure;
};

static int check(void *ctx, uint64_t lsn, const uint8_t *body, uint32_t len)
{
	struct parent *p = ctx;
	uint32_t epoch;
	if (lsn != p->recovered + 1 || lsn > LSN_MAX) {
		p->failure = "records out of order";
		return 1;
	}
	if (wal_check_body(body, len, p->seed, lsn, LEN_MAX, &epoch)) {
		p->failure = "record bytes differ from what was written";
		return 1;
	}
	if (epoch > p->epoch || (lsn <= p->acked && epoch != p->epoch_of[lsn])) {
		p->failure = "reported-durable record replaced";
		return 1;
	}
	p->epoch_of[lsn] = (uint8_t)epoch;
	p->recovered = lsn;
	return 0;
}

/* The child: recover, then append and report durable LSNs until killed. */
static void child(const char *dir, uint64_t seed, uint32_t epoch, int out_fd)
{
	struct storage st;
	struct wal *w;
	struct wal_options o = {.shard = SHARD, .segment_bytes = SEGMENT_BYTES};
	unsigned flags = epoch % 2 ? STORAGE_URING_DIRECT : 0;
	if (storage_uring_open(&st, dir, flags) || wal_open(&w, &st, &o, NULL))
		_exit(3);
	uint8_t body[LEN_MAX];
	uint64_t reported = wal_durable_lsn(w);
	srand((unsigned)(seed + epoch));
	for (;;) {
		int burst = 1 + rand() % 256; /* many batches, many moments to die in */
		for (int k = 0; k < burst && wal_next_lsn(w) <= LSN_MAX; k++) {
			uint64_t lsn = wal_next_lsn(w);
			uint32_t len = wal_check_make(body, seed, lsn, epoch, LEN_MAX);
			if (wal_append(w, body, len, NULL))
				break;
		}
		if (wal_wait(w))
			_exit(4);
		uint64_t d = wal_durable_lsn(w);
		if (d > reported) {
			if (write(out_fd, &d, sizeof d) != sizeof d)
				_exit(5);
			reported = d;
		}
	}
}

static uint64_t read_reports(int fd, uint64_t acked)
{
	uint64_t v;
	while (read(fd, &v, sizeof v) == sizeof v)
		if (v > acked)
			acked = v;
	return acked;
}

static void recover_and_check(struct parent *p, const char *dir)
{
	struct storage st;
	struct wal_scan s;
	assert_int_equal(storage_uring_open(&st, dir, 0), 0);
	p->recovered = 0;
	int rc = wal_read(&st, SHARD, 0, check, p, &s);
	storage_destroy(&st);
	if (p->failure)
		fail_msg("seed %llu epoch %u: %s at LSN %llu", (unsigned long long)p->seed,
			 p->epoch, p->failure, (unsigned long long)p->recovered + 1);
	assert_int_equal(rc, 0);
	assert_int_not_equal(s.status, WAL_READ_CORRUPT);
	if (p->recovered < p->acked)
		fail_msg("seed %llu: reported durable %llu, recovered %llu",
			 (unsigned long long)p->seed, (unsigned long long)p->acked,
			 (unsigned long long)p->recovered);
	p->acked = p->recovered; /* the next child continues after these */
}

static int remove_all(void *ctx, const char *name)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", (const char *)ctx, name);
	unlink(path);
	return 0;
}

static void killed_writer_keeps_every_reported_record(void **state)
{
	(void)state;
	static struct parent p;
	p.seed = getenv("SEED") ? strtoull(getenv("SEED"), NULL, 10) : (uint64_t)time(NULL);
	p.epoch_of = calloc(LSN_MAX + 1, 1);
	assert_non_null(p.epoch_of);
	print_message("seed %llu (SEED=%llu to repeat)\n", (unsigned long long)p.seed,
		      (unsigned long long)p.seed);
	char dir[] = "/tmp/onsale-wal-kill-XXXXXX";
	assert_non_null(mkdtemp(dir));
	srand((unsigned)p.seed);
	for (p.epoch = 1; p.epoch <= KILL_CYCLES; p.epoch++) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child(dir, p.seed, p.epoch, fds[1]);
		}
		close(fds[1]);
		struct timespec nap = {0, (20 + rand() % 480) * 1000000L};
		nanosleep(&nap, NULL);
		kill(pid, SIGKILL);
		int status;
		waitpid(pid, &status, 0);
		assert_true(WIFSIGNALED(status)); /* it was still running when killed */
		uint64_t before = p.acked;
		p.acked = read_reports(fds[0], p.acked);
		close(fds[0]);
		for (uint64_t lsn = before + 1; lsn <= p.acked; lsn++)
			p.epoch_of[lsn] = (uint8_t)p.epoch;
		print_message("cycle %u: killed after %ld ms, %llu reported durable\n", p.epoch,
			      nap.tv_nsec / 1000000, (unsigned long long)p.acked);
		recover_and_check(&p, dir);
	}
	assert_true(p.acked > 0);
	struct storage st;
	assert_int_equal(storage_uring_open(&st, dir, 0), 0);
	storage_list(&st, remove_all, dir);
	storage_destroy(&st);
	rmdir(dir);
	free(p.epoch_of);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(killed_writer_keeps_every_reported_record),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
