/*
 * server.c — onsaled from start to stop.
 *
 * Start: check the shard count the data directory records (meta.c),
 * allocate every shard's tables and bind its SO_REUSEPORT listener
 * (the kernel spreads new connections over the shards), recover every
 * shard's store from <data>/shard-<k>/ (snapshot + WAL; what was found is
 * logged), all shards in parallel, one thread each, then recover across
 * shards (node_recover: pending stock transfers
 * applied once, derived counts rebuilt), then start one thread per shard,
 * pinned to a core, and wait for SIGINT or SIGTERM (SIGHUP: reload the
 * role keys, server_config.c).
 *
 * Stop: (1) shards stop accepting and reading requests but keep running
 * their loops, so requests already taken finish, messages come back and
 * stock transfers complete; (2) once no shard has a message out, three
 * checks in a row 20 ms apart, the loops end, durable replies are sent and
 * connections closed; (3) each store syncs and writes its snapshot. A stop
 * that ends with messages still in the rings loses nothing: a transfer
 * stays pending on its giver until acknowledged and is applied at the
 * next start.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "net/wal/log.h"
#include "net/server/metrics.h"
#include "net/server/notify.h"
#include "net/server/server.h"
#include "net/server/io.h"
#include "net/store/data_lock.h"
#include "net/store/shard_store.h"
#include "net/wal/storage_nosync.h"
#include "net/wal/storage_uring.h"

/* Who writes snapshots while the shards serve, unless --snapshot-writer
 * says: the replaying thread (no fork, no copy-on-write in the shard's
 * loop; the state twice in memory). docs/PERFORMANCE.md, "Snapshot stall",
 * compares the two. */
#define SERVER_SNAPSHOT_WRITER_DEFAULT SHARD_SNAPSHOT_REPLAY

/* Whether anything listens on the address already: every shard's
 * listener sets SO_REUSEPORT, which would let this server share a port
 * another onsaled (on other data) listens on, and the kernel would split
 * the clients between the two. A socket without it cannot share: bound
 * and closed before the listeners, it finds an owner first (0 or
 * -EADDRINUSE). */
static int address_probe(const struct server_config *cfg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(cfg->listen_port)};
	if (!cfg->listen_port || inet_pton(AF_INET, cfg->listen_host, &a.sin_addr) != 1)
		return 0; /* an ephemeral port is never shared; a bad host fails below */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, rc = 0;
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    bind(fd, (struct sockaddr *)&a, sizeof a))
		rc = -errno;
	close(fd);
	return rc;
}

/* address_probe, again for a while when taken: the listener of a process
 * killed a moment ago lives until the kernel has torn its io_uring down
 * (milliseconds; a running server's stays). */
static int address_free(const struct server_config *cfg)
{
	int rc = address_probe(cfg);
	for (unsigned i = 0; rc == -EADDRINUSE && i < SERVER_LISTEN_PROBES; i++) {
		struct timespec t = {0, SERVER_LISTEN_PROBE_MS * 1000000L};
		nanosleep(&t, NULL);
		rc = address_probe(cfg);
	}
	return rc;
}

static int listen_on(const struct server_config *cfg)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(cfg->listen_port)};
	if (inet_pton(AF_INET, cfg->listen_host, &a.sin_addr) != 1)
		return -EINVAL;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* accepted sockets inherit the send buffer's size (CONN_SNDBUF_BYTES) */
	int one = 1, sndbuf = (int)CONN_SNDBUF_BYTES;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf) ||
	    bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, SERVER_LISTEN_BACKLOG)) {
		int rc = -errno;
		close(fd);
		return rc;
	}
	return fd;
}

/* What a shard's background snapshots and archiving need besides its
 * storage: the directories as plain descriptors (the forked writer uses no
 * io_uring). */
struct store_dirs {
	uint8_t shard;
	struct shard *sh; /* its metrics */
	int dir_fd;
	int archive_fd; /* -1: segments are removed */
};

/* Moves a segment into the archive: one rename (same filesystem, checked
 * at start; never over an archived file of the same name), the archive
 * directory fsynced before the caller fsyncs the shard's, so the segment
 * is never in neither. */
static int archive_segment(void *user, const char *name)
{
	struct store_dirs *d = user;
	if (renameat2(d->dir_fd, name, d->archive_fd, name, RENAME_NOREPLACE))
		return -errno;
	return fsync(d->archive_fd) ? -errno : 0;
}

static enum shard_snapshot_writer snapshot_writer(const struct server_config *cfg)
{
	return cfg->snapshot_writer ? cfg->snapshot_writer : SERVER_SNAPSHOT_WRITER_DEFAULT;
}

static void snapshot_done(void *user, uint64_t lsn, const struct shard_store_stats *st)
{
	struct store_dirs *d = user;
	if (!lsn && st->snapshot_error) { /* a snapshot at LSN 0 (an empty store) is no failure */
		log_line(LOG_ERROR, d->shard,
			 "msg=\"snapshot failed\" err=\"%s\" failures=%" PRIu64
			 " retry=\"at the next threshold, the WAL keeps everything\"",
			 strerror(-st->snapshot_error), st->snapshot_failures);
		return;
	}
	metrics_snapshot_written(d->sh, st->snapshot_write_us_last);
	log_line(LOG_INFO, d->shard,
		 "msg=\"snapshot written\" snapshot=%" PRIu64 " lsn=%" PRIu64 " start_us=%" PRIu64
		 " cpu_us=%" PRIu64 " cpu_max_us=%" PRIu64 " ms=%" PRIu64 " faults=%" PRIu64
		 " writer_cpu_ms=%" PRIu64 " segments_removed=%" PRIu64
		 " segments_archived=%" PRIu64,
		 st->snapshots, lsn, st->snapshot_last_us, st->snapshot_start_cpu_us_last,
		 st->snapshot_start_cpu_us_max, st->snapshot_write_us_last / 1000,
		 st->snapshot_faults_last, st->snapshot_writer_cpu_us_last / 1000,
		 st->segments_removed, st->segments_archived);
	/* said as an error of its own: it was a last_err= on the info line
	 * above, where a grep for errors never found it */
	if (st->retain_error_last)
		log_line(LOG_ERROR, d->shard,
			 "msg=\"snapshot written, but the WAL segments it made obsolete stay\""
			 " err=\"%s\" hint=\"nothing is lost, but the shard directory's WAL"
			 " grows; it is tried again at the next snapshot%s\"",
			 strerror(-st->retain_error_last),
			 st->retain_error_last == -EEXIST
				 ? ". File exists: the WAL archive already holds a segment of that"
				   " name, from a data directory started afresh next to it; it is"
				   " never overwritten: move that archive away (docs/OPERATIONS.md,"
				   " Archive)"
				 : "");
}

static void dirs_close(struct store_dirs *d)
{
	if (!d)
		return;
	if (d->archive_fd >= 0)
		close(d->archive_fd);
	if (d->dir_fd >= 0)
		close(d->dir_fd);
	free(d);
}

/* Opens <archive>/shard-<k>, which must be on the data's filesystem. */
static int open_archive(const struct server *srv, struct store_dirs *d)
{
	char dir[512];
	struct stat a, b;
	snprintf(dir, sizeof dir, "%s/shard-%u", srv->cfg.wal_archive, d->shard);
	if ((mkdir(srv->cfg.wal_archive, 0755) && errno != EEXIST) ||
	    (mkdir(dir, 0755) && errno != EEXIST))
		return -errno;
	d->archive_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->archive_fd < 0)
		return -errno;
	if (fstat(d->archive_fd, &a) || fstat(d->dir_fd, &b))
		return -errno;
	if (a.st_dev != b.st_dev) {
		log_msg(LOG_ERROR, d->shard,
			"--wal-archive %s is on another filesystem than the "
			"data directory; segments are archived by rename",
			dir);
		return -EXDEV;
	}
	return 0;
}

/* What the operator can do about an error opening the data directory's
 * files, as a hint= field; "" for the errors this says nothing about. */
static const char *access_hint(int rc)
{
	switch (-rc) {
	case EACCES:
	case EPERM:
		return " hint=\"the user onsaled runs as cannot read or write it: the data"
		       " directory, its shard-<k>/ and keys/ and every file in them must"
		       " belong to that user and be writable by it (ls -ln; chown -R)\"";
	case EROFS: return " hint=\"the filesystem is mounted read-only: remount it read-write\"";
	default: return "";
	}
}

static int open_dirs(const struct server *srv, uint8_t shard, const char *dir,
		     struct store_dirs **out)
{
	struct store_dirs *d = malloc(sizeof *d);
	if (!d)
		return -ENOMEM;
	*d = (struct store_dirs){.shard = shard, .sh = &srv->shards[shard], .archive_fd = -1};
	d->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = d->dir_fd < 0 ? -errno : 0;
	if (rc)
		log_line(LOG_ERROR, shard,
			 "msg=\"cannot open the shard directory\" dir=\"%s\" err=\"%s\"%s", dir,
			 strerror(-rc), access_hint(rc));
	if (!rc && srv->cfg.wal_archive[0] && (rc = open_archive(srv, d)) && rc != -EXDEV)
		log_line(LOG_ERROR, shard,
			 "msg=\"cannot open the WAL archive\" archive=\"%s\" err=\"%s\""
			 " hint=\"--wal-archive names a directory (made if missing, its parent must"
			 " exist) on the data directory's filesystem\"",
			 srv->cfg.wal_archive, strerror(-rc));
	if (rc) {
		dirs_close(d);
		return rc;
	}
	*out = d;
	return 0;
}

static struct shard_store_options store_options(const struct server *srv, struct shard *s,
						struct store_dirs *d)
{
	return (struct shard_store_options){
		.shard = s->id,
		.segment_bytes = srv->cfg.wal_segment_bytes,
		.snapshot_records = srv->cfg.snapshot_records,
		.snapshot_wal_bytes = srv->cfg.snapshot_bytes,
		.snapshot_interval_ms = srv->cfg.snapshot_interval_ms,
		.snapshot_writer = snapshot_writer(&srv->cfg),
		.snapshot_dir_fd = d->dir_fd,
		.archive_dir_fd = d->archive_fd,
		.archive = d->archive_fd >= 0 ? archive_segment : NULL,
		.on_snapshot = snapshot_done,
		.snapshot_user = d,
	};
}

static void log_recovery(uint8_t shard, const char *data_dir, const char *dir, int rc,
			 const struct shard_store_recovery *rec, int direct)
{
	char detail[512], hint[1024] = "";
	/* what to do, on the line an operator greps for (the runbook's
	 * first step, and for a WAL whose start is in no snapshot the two
	 * ways out) */
	if (rc && !*access_hint(rc))
		snprintf(
			hint, sizeof hint,
			" hint=\"this shard did not start: with onsaled"
			" stopped run onsale-wal verify --data %s --shard %u, then follow"
			" docs/OPERATIONS.md, Shard K refuses to start%s\"",
			data_dir, shard,
			strstr(rec->message, "are gone")
				? "; the WAL before the shard directory's first segment is in no"
				  " readable snapshot: start with --wal-archive DIR if an archive"
				  " holds those segments (onsale-wal verify --archive DIR shows it),"
				  " else restore the shard's snapshots from a backup"
				: "");
	log_line(rc ? LOG_ERROR : LOG_INFO, shard,
		 "msg=\"%s\"%s%s%s snapshot_lsn=%" PRIu64 " records_replayed=%" PRIu64
		 " last_lsn=%" PRIu64 " torn_tail=%s state_hash=%016" PRIx64 "%016" PRIx64
		 " io=%s detail=\"%s\"%s",
		 rc ? "recovery failed" : "recovered", rc ? " err=\"" : "", rc ? strerror(-rc) : "",
		 rc ? "\"" : "", rec->snapshot_lsn, rec->records_replayed, rec->last_lsn,
		 rec->wal_status == WAL_READ_TORN_TAIL ? "truncated" : "none", rec->hash.hi,
		 rec->hash.lo, direct ? "O_DIRECT" : "buffered",
		 log_quote(detail, sizeof detail, rec->message), hint);
	if (rc && *access_hint(rc))
		log_line(LOG_ERROR, shard,
			 "msg=\"cannot use the shard directory\" dir=\"%s\""
			 " err=\"%s\"%s",
			 dir, strerror(-rc), access_hint(rc));
	if (!rc && rec->from_archive)
		log_line(
			LOG_WARN, shard,
			"msg=\"recovered with the WAL archive\" hint=\"no snapshot after the"
			" shard directory's first WAL record could be read; the archived segments"
			" filled in%s\"",
			rec->archive_snapshot_error
				? ", and the snapshot that would make them unneeded failed (see"
				  " detail): the next start reads them again; the writer reads"
				  " them meanwhile"
				: ", and a snapshot was written so the next start needs them no more");
	/* a damaged snapshot is damage, though the shard starts: said where a
	 * grep for warnings finds it (net/store/snapshot.c notes "skipped") */
	if (!rc && strstr(rec->message, ", skipped"))
		log_line(LOG_WARN, shard,
			 "msg=\"damaged snapshot skipped\" detail=\"%s\" hint=\"the shard started"
			 " from %s; copy the damaged file away to investigate (the next snapshot"
			 " of the same LSN replaces it)\"",
			 detail,
			 rec->has_snapshot ? "an older snapshot and its WAL" : "its whole WAL");
}

static int open_store(struct server *srv, struct shard *s)
{
	char dir[512];
	snprintf(dir, sizeof dir, "%s/shard-%u", srv->cfg.data_dir, s->id);
	/* O_DIRECT: with zero-filled WAL segments (net/wal/wal.c) a WAL write then
	 * completes without an io_uring worker and an fdatasync writes back no
	 * page cache (docs/PERFORMANCE.md, "Zero-filled segments"). It makes and
	 * opens the directory: a failure is said here, not only returned (the
	 * caller logs nothing more, and the start would fail unexplained) */
	int rc = storage_uring_open(&s->st, dir, STORAGE_URING_DIRECT_TRY);
	if (rc) {
		log_line(LOG_ERROR, s->id,
			 "msg=\"cannot open the shard directory or set up its storage\""
			 " dir=\"%s\" err=\"%s\"%s",
			 dir, strerror(-rc), access_hint(rc));
		return rc;
	}
	int direct = storage_uring_direct(&s->st);
	if (srv->cfg.no_fsync && (rc = storage_nosync_wrap(&s->st)))
		return rc;
	struct store_dirs *d;
	if ((rc = open_dirs(srv, s->id, dir, &d)))
		return rc;
	struct shard_store_options opt = store_options(srv, s, d);
	struct shard_store_recovery rec;
	rc = shard_store_open(&s->store, &s->st, &opt, &rec);
	if (rc)
		dirs_close(d);
	else
		node_attach(&s->node, s->store);
	log_recovery(s->id, srv->cfg.data_dir, dir, rc, &rec, direct);
	return rc;
}

/* Thread t on shard s's core when --pin: the shard's loop, and before it
 * the thread that recovers the shard's store, so that the core's tables
 * are first touched (placed) on the core that will use them. */
static void pin_to(const struct shard *s, pthread_t t)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (!s->srv->cfg.pin || cpus <= 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET((int)(s->id % cpus), &set);
	pthread_setaffinity_np(t, sizeof set, &set);
}

static void pin(struct shard *s)
{
	pin_to(s, s->thread);
}

struct open_job {
	struct server *srv;
	struct shard *s;
	pthread_t thread;
	bool threaded;
	int rc;
};

/* A shard's store, opened on its own thread: nothing open_store reaches
 * (its storage, directories, store and core, log_line's one write) is
 * shared with another shard's. A shard that failed keeps no storage. */
static void *open_one(void *arg)
{
	struct open_job *j = arg;
	if (j->threaded)
		pin_to(j->s, pthread_self());
	j->rc = open_store(j->srv, j->s);
	if (j->rc)
		storage_destroy(&j->s->st);
	return NULL;
}

/* Every shard's store, recovered in parallel (snapshot load and WAL
 * replay are per shard; restart time is then the slowest shard's, not
 * the sum). All are joined before returning: the first failure by shard
 * index is returned and the stores that did open stay for
 * shutdown_stores to close. A thread that cannot be created is replaced
 * by recovering that shard here. */
static int open_stores(struct server *srv)
{
	struct open_job jobs[SHARDS_MAX];
	assert(srv->n <= SHARDS_MAX);
	for (uint32_t k = 0; k < srv->n; k++) {
		struct open_job *j = &jobs[k];
		*j = (struct open_job){.srv = srv, .s = &srv->shards[k], .threaded = true};
		if (pthread_create(&j->thread, NULL, open_one, j)) {
			j->threaded = false;
			open_one(j);
		}
	}
	int first = 0;
	for (uint32_t k = 0; k < srv->n; k++) {
		if (jobs[k].threaded)
			pthread_join(jobs[k].thread, NULL);
		if (jobs[k].rc && !first)
			first = jobs[k].rc;
	}
	return first;
}

static void wake_all(struct server *srv)
{
	for (uint32_t k = 0; k < srv->n; k++) {
		uint64_t one = 1;
		(void)!write(srv->shards[k].wake_fd, &one, sizeof one);
	}
}

static bool drained(struct server *srv)
{
	for (uint32_t k = 0; k < srv->n; k++)
		if (node_msgs_out(&srv->shards[k].node))
			return false;
	return true;
}

static void stop_and_drain(struct server *srv)
{
	atomic_store(&srv->stop, 1);
	wake_all(srv);
	struct timespec step = {0, 20 * 1000000};
	for (int quiet = 0, waited = 0; quiet < 3 && waited < 500; waited++) {
		nanosleep(&step, NULL);
		quiet = drained(srv) ? quiet + 1 : 0;
	}
	atomic_store(&srv->stop, 2);
	wake_all(srv);
}

static int start_shards(struct server *srv)
{
	for (uint32_t k = 0; k < srv->n; k++) {
		struct shard *s = &srv->shards[k];
		int rc = pthread_create(&s->thread, NULL, shard_main, s);
		if (rc) {
			srv->n = k; /* the ones started are stopped and joined */
			return -rc;
		}
		pin(s);
	}
	return 0;
}

/* Waits for SIGINT or SIGTERM, reloading the role keys on each SIGHUP;
 * meanwhile pings systemd's watchdog when the unit has one (notify.c). */
static int wait_for_signal(struct server *srv)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	uint64_t every_ms = notify_watchdog_ms();
	struct timespec ts = {.tv_sec = (time_t)(every_ms / 1000),
			      .tv_nsec = (long)(every_ms % 1000) * 1000000};
	for (;;) {
		int sig = 0;
		if (every_ms) {
			notify_watchdog(srv);
			sig = sigtimedwait(&set, NULL, &ts);
		} else {
			sigwait(&set, &sig);
		}
		if (sig == SIGHUP)
			server_keys_reload(srv);
		else if (sig > 0)
			return sig;
	}
}

static void serving(struct server *srv)
{
	log_line(LOG_INFO, LOG_SHARD_NONE,
		 "msg=\"listening\" shards=%u addr=%s:%u data=\"%s\""
		 " fsync=%s snapshot_writer=%s",
		 srv->n, srv->cfg.listen_host, srv->cfg.listen_port, srv->cfg.data_dir,
		 srv->cfg.no_fsync ? "false" : "true",
		 snapshot_writer(&srv->cfg) == SHARD_SNAPSHOT_FORK ? "fork" : "replay");
	int rc = metrics_http_start(srv);
	if (rc)
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"metrics listener failed; serving without "
			 "/metrics\" addr=%s:%u err=\"%s\"",
			 srv->cfg.metrics_host, srv->cfg.metrics_port, strerror(-rc));
	else if (srv->http)
		log_line(LOG_INFO, LOG_SHARD_NONE, "msg=\"metrics\" url=http://%s:%u/metrics",
			 srv->cfg.metrics_host, srv->cfg.metrics_port);
	notify_ready(srv);
}

static int serve(struct server *srv)
{
	struct node *nodes[SHARDS_MAX];
	for (uint32_t k = 0; k < srv->n; k++)
		nodes[k] = &srv->shards[k].node;
	int rc = node_recover(nodes, srv->n);
	if (rc) {
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"recovery across shards failed\" err=\"%s\"", strerror(-rc));
		return rc;
	}
	srv->started_ms = io_now_ms();
	rc = start_shards(srv);
	if (rc) {
		log_line(LOG_ERROR, LOG_SHARD_NONE, "msg=\"threads\" err=\"%s\"", strerror(-rc));
	} else {
		serving(srv);
		int sig = wait_for_signal(srv);
		notify_stopping();
		log_line(LOG_INFO, LOG_SHARD_NONE, "msg=\"stopping\" signal=\"%s\"",
			 strsignal(sig));
		metrics_http_stop(srv);
	}
	stop_and_drain(srv);
	for (uint32_t k = 0; k < srv->n; k++)
		pthread_join(srv->shards[k].thread, NULL);
	return rc;
}

/* clean: sync and snapshot (only after the shards drained: no transfer is
 * half done); else close without I/O, leaving the WAL for the next start. */
static int shutdown_stores(struct server *srv, bool clean)
{
	int first = 0;
	/* every shard, not srv->n: start_shards lowers that to the threads
	 * it started when one cannot be */
	for (uint32_t k = 0; k < srv->cfg.shards; k++) {
		struct shard *s = &srv->shards[k];
		if (!s->store)
			continue; /* its recovery failed: nothing open */
		int rc = 0;
		bool synced = false;
		struct store_dirs *d = shard_store_options_of(s->store)->snapshot_user;
		if (clean) {
			/* the sync first, alone: the log must say whether the WAL
			 * holds everything (only the snapshot failed) or not */
			rc = shard_store_sync(s->store);
			synced = !rc;
		}
		uint64_t durable = shard_store_durable_lsn(s->store);
		if (synced)
			rc = shard_store_shutdown(s->store); /* synced: the snapshot */
		else
			shard_store_close(s->store);
		dirs_close(d);
		if (!rc)
			log_line(LOG_INFO, (int)k, "msg=\"%s\"",
				 clean ? "synced, snapshot written" : "closed");
		else if (synced)
			log_line(LOG_ERROR, (int)k,
				 "msg=\"stop: the WAL is synced but the final snapshot failed\""
				 " err=\"%s\" hint=\"nothing acknowledged is lost: the next start"
				 " replays the WAL from the last snapshot (a longer start); free"
				 " space in the data directory if it is full (docs/OPERATIONS.md,"
				 " Disk full)\"",
				 strerror(-rc));
		else
			log_line(LOG_ERROR, (int)k,
				 "msg=\"stop: the WAL could not be synced\" err=\"%s\""
				 " durable_lsn=%" PRIu64 " hint=\"no change after durable_lsn was"
				 " acknowledged as done; the next start recovers what is on the"
				 " disk; check the device first (docs/OPERATIONS.md, fsync"
				 " failure)\"",
				 strerror(-rc), durable);
		if (rc && !first)
			first = rc;
		storage_destroy(&s->st);
	}
	return first;
}

/* The server, on a data directory this process holds. */
static int run_on(const struct server_config *cfg)
{
	int rc;
	struct server *srv = calloc(1, sizeof *srv);
	if (!srv)
		return -ENOMEM;
	srv->cfg = *cfg;
	srv->n = cfg->shards;
	struct role_keys keys;
	role_keys_from_config(cfg, &keys);
	role_keys_publish(&srv->role_keys, &keys); /* shards copy them at their first HELLO */
	rc = -ENOMEM;
	uint32_t inited = 0;
	size_t bytes = (sizeof *srv->shards * srv->n + 63) & ~(size_t)63; /* C11: a multiple */
	srv->shards = aligned_alloc(64, bytes);
	if (!srv->shards)
		goto out_free_srv;
	memset(srv->shards, 0, bytes);
	if (cfg->no_fsync)
		log_msg(LOG_WARN, LOG_SHARD_NONE,
			"--no-fsync: acknowledged changes are NOT durable "
			"against power loss or a kernel crash. For benchmarks only.");
	/* before any port or shard: an unknown --ticket-key-retire is said at
	 * once, not after a long recovery (the keys change only once the
	 * shards recovered: a failed start leaves them as they were) */
	rc = ticket_keys_check(cfg);
	if (!rc)
		rc = msg_rings_init(srv);
	for (; !rc && inited < srv->n; inited++)
		rc = shard_init(srv, (uint8_t)inited);
	if (!rc && (rc = address_free(cfg)))
		log_line(LOG_ERROR, LOG_SHARD_NONE, "msg=\"cannot listen\" addr=%s:%u err=\"%s\"%s",
			 cfg->listen_host, (unsigned)cfg->listen_port, strerror(-rc),
			 rc == -EADDRINUSE ? " hint=\"another process (another onsaled?) listens"
					     " there: stop it or choose another --listen\""
					   : "");
	for (uint32_t k = 0; !rc && k < srv->n; k++) {
		int fd = listen_on(cfg);
		if (fd < 0)
			rc = fd;
		else
			srv->shards[k].listen_fd = fd;
	}
	if (rc) {
		log_line(LOG_ERROR, LOG_SHARD_NONE, "msg=\"start-up failed\" err=\"%s\"",
			 strerror(-rc));
		goto out_fini_shards;
	}
	notify_status("recovering %u shards from %s", srv->n, cfg->data_dir);
	rc = open_stores(srv);
	if (!rc)
		rc = ticket_keys_open(cfg, &srv->tickets);
	if (!rc)
		rc = serve(srv);
	int rc2 = shutdown_stores(srv, rc == 0);
	if (!rc)
		rc = rc2;
out_fini_shards:
	for (uint32_t k = 0; k < inited; k++)
		shard_fini(&srv->shards[k]);
	if (srv->rings)
		for (size_t i = 0; i < (size_t)srv->n * srv->n; i++)
			free(srv->rings[i].buf);
	free(srv->rings);
	free(srv->shards);
out_free_srv:
	free(srv);
	return rc;
}

int server_run(const struct server_config *cfg)
{
	/* first (the directory made on a first start), before its shard count
	 * is read or written: a second writer of the directory would
	 * interleave its WAL appends with ours and lose what both
	 * acknowledged */
	long holder;
	int rc = mkdir(cfg->data_dir, 0755) && errno != EEXIST ? -errno : 0;
	if (!rc)
		rc = data_lock_take(cfg->data_dir, SERVER_LOCK_TRIES, SERVER_LOCK_TRY_MS, &holder);
	if (rc == -EBUSY)
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"data directory in use\" data=\"%s\" pid=%ld"
			 " hint=\"another onsaled, or onsale-wal truncate, is running on it;"
			 " stop it first (one process per data directory)\"",
			 cfg->data_dir, holder);
	else if (rc)
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"data directory unusable\" data=\"%s\" err=\"%s\"%s", cfg->data_dir,
			 strerror(-rc), access_hint(rc));
	if (rc)
		return rc;
	/* before anything is bound or recovered: a data dir of another shard
	 * count would lose shards and move customers' home shards */
	rc = meta_shards_open(cfg->data_dir, cfg->shards);
	if (!rc)
		rc = run_on(cfg);
	data_lock_release();
	return rc;
}
