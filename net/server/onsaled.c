/*
 * onsaled.c — the onsale server: options, then server_run (net/server/server.c).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sodium.h>
#include <arpa/inet.h>

#include "core/htab.h"
#include "net/wal/log.h"
#include "net/wal/wal.h"
#include "net/server/server.h"
#include "net/store/shard_store.h"

/* --output-deadline-ms at most: a day. */
#define OUTPUT_DEADLINE_MS_MAX 86400000u

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onsaled [options]\n"
		"  -l, --listen HOST:PORT   IPv4 address to listen on (default 127.0.0.1:7400)\n"
		"  -s, --shards N           shard threads, one per core (default: online cores,\n"
		"                           at most %u); DIR records N at the first start\n"
		"                           and another N is refused later\n"
		"  -d, --data DIR           data directory: DIR/shard-<k>/ per shard (default ./var)\n"
		"  -c, --config FILE        role keys (default DIR/onsaled.conf); lines\n"
		"                           admin_key=, platform_key=, box_office_key=,\n"
		"                           scanner_key= with 64 hex digits each\n"
		"      --gen-config FILE    write FILE with fresh random keys and exit\n"
		"      --no-fsync           skip fdatasync (BENCHMARKS ONLY: acknowledged\n"
		"                           changes can be lost in a power failure)\n"
		"      --no-pin             do not pin shard threads to cores\n"
		"      --snapshot-records N a snapshot after N WAL records (default %llu)\n"
		"      --snapshot-bytes N   ... or N bytes of WAL, suffix k/M/G (default %llu MiB)\n"
		"      --snapshot-seconds N ... or N seconds with anything logged (default %llu)\n"
		"                           0 or off: that trigger never fires; with all three\n"
		"                           off, snapshots are taken only at a clean stop\n"
		"      --snapshot-writer W  who writes them while the shard serves: replay (a\n"
		"                           thread with a second copy of the state, replayed\n"
		"                           from the WAL: no fork, twice the memory; default)\n"
		"                           or fork (a child process: copy on write)\n"
		"      --wal-archive DIR    move WAL segments no snapshot needs any more to\n"
		"                           DIR/shard-<k>/ (same filesystem as --data) instead\n"
		"                           of removing them: the WAL is the audit log\n"
		"      --wal-segment-bytes N  WAL segment size, suffix k/M/G, a multiple of 4k\n"
		"                           from 72k to 4G (default 64M; small ones for tests:\n"
		"                           archiving goes by segment)\n"
		"      --metrics HOST:PORT  serve Prometheus metrics on http://HOST:PORT/metrics\n"
		"                           (default 127.0.0.1:9400); off: no metrics port\n"
		"      --ticket-key-new     add an e-ticket signing key at start: new tokens\n"
		"                           use it, older keys keep verifying (DIR/keys/)\n"
		"      --ticket-key-retire ID  retire ticket key ID at start: its tokens stop\n"
		"                           verifying (docs/TICKETS.md)\n"
		"      --output-deadline-ms N  close a client whose replies stand unsent\n"
		"                           N ms (it reads nothing), %u..%u (default %u);\n"
		"                           with replies waiting for room: %u ms at most\n"
		"      --shed-slots N       load shedding: with N requests of a shard's %u in\n"
		"                           flight, new holds and availability/seat-map reads\n"
		"                           get 73 overloaded at once (default %u; 0 or off:\n"
		"                           never); confirms and the rest are never shed\n"
		"      --shed-target-ms N   ... and a rising share of them while every reply of\n"
		"                           %u ms took N ms or more (default %u; 0 or off: never)\n"
		"Connection policy (also config keys of the same name with '_'; options win;\n"
		"docs/OPERATIONS.md). A client past a deadline gets status timeout and is\n"
		"closed; one over a limit gets status too_many_connections and is closed.\n"
		"      --hello-timeout-ms N HELLO within N ms of connecting (default %u; 0 off)\n"
		"      --frame-timeout-ms N a frame complete within N ms of its first byte\n"
		"                           (default %u; 0 off)\n"
		"      --idle-timeout-ms N  close a connection idle for N ms: nothing in flight,\n"
		"                           nothing partial (default %u = 10 min; 0 off)\n"
		"      --max-connections N  connections open at once, over every shard\n"
		"                           (default 0: every slot, %u per shard)\n"
		"      --max-connections-per-address N  from one peer address (default %u;\n"
		"                           0 no limit); both split evenly over the shards\n"
		"  -h, --help               this text\n"
		"It recovers every shard from DIR at start and logs what it found (logfmt\n"
		"lines on stderr); SIGINT or SIGTERM stops it cleanly (drain, sync, snapshot).\n"
		"SIGHUP reads the config file's role keys again: connections keep their\n"
		"role, new HELLOs use the new keys; a file that does not parse changes\n"
		"nothing. <role>_key_next= names a second key a role accepts while keys\n"
		"are rotated (docs/OPERATIONS.md).\n"
		"Under systemd (Type=notify) it sends READY=1, STOPPING=1 and WATCHDOG=1.\n",
		(unsigned)SHARDS_MAX, SHARD_SNAPSHOT_RECORDS_DEFAULT,
		SHARD_SNAPSHOT_WAL_BYTES_DEFAULT >> 20, SHARD_SNAPSHOT_INTERVAL_MS_DEFAULT / 1000,
		CONN_OUTPUT_CHECK_MS, OUTPUT_DEADLINE_MS_MAX, CONN_OUTPUT_DEADLINE_MS_DEFAULT,
		CONN_OUTPUT_FULL_MS, SHARD_REQS_MAX, SHED_SLOTS, SHED_INTERVAL_MS, SHED_TARGET_MS,
		GUARD_HELLO_MS_DEFAULT, GUARD_FRAME_MS_DEFAULT, GUARD_IDLE_MS_DEFAULT,
		SERVER_CONNS_PER_SHARD_MAX, GUARD_CONNS_PER_ADDR_DEFAULT);
}

/* HOST:PORT into host[64] and *port. 0 or -EINVAL. */
static int parse_addr(const char *arg, char host[64], uint16_t *port)
{
	const char *colon = strrchr(arg, ':');
	if (!colon || colon - arg >= 64)
		return -EINVAL;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || p <= 0 || p > 65535)
		return -EINVAL;
	memcpy(host, arg, (size_t)(colon - arg));
	host[colon - arg] = 0;
	*port = (uint16_t)p;
	struct in_addr ia; /* what the listeners bind: an IPv4 address, not a name */
	return inet_pton(AF_INET, host, &ia) == 1 ? 0 : -EINVAL;
}

/* A snapshot threshold: a count with an optional k/M/G (powers of 1024
 * when binary) suffix, "0" or "off" for never. 0, or -EINVAL. */
static int parse_threshold(const char *arg, bool binary, uint64_t *out)
{
	if (!strcmp(arg, "off")) {
		*out = SHARD_SNAPSHOT_OFF;
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	uint64_t unit = 1, k = binary ? 1024 : 1000;
	if (*end == 'k' || *end == 'K')
		unit = k, end++;
	else if (*end == 'M')
		unit = k * k, end++;
	else if (*end == 'G')
		unit = k * k * k, end++;
	if (errno || *end || end == arg || arg[0] == '-' || v > UINT64_MAX / unit / 2)
		return -EINVAL;
	*out = v ? v * unit : SHARD_SNAPSHOT_OFF;
	return 0;
}

enum {
	OPT_GEN = 256,
	OPT_NO_FSYNC,
	OPT_NO_PIN,
	OPT_SNAP_RECORDS,
	OPT_SNAP_BYTES,
	OPT_SNAP_SECONDS,
	OPT_WAL_ARCHIVE,
	OPT_WAL_SEGMENT,
	OPT_SNAP_WRITER,
	OPT_METRICS,
	OPT_TICKET_KEY_NEW,
	OPT_TICKET_KEY_RETIRE,
	OPT_OUTPUT_DEADLINE,
	OPT_SHED_SLOTS,
	OPT_SHED_TARGET,
	OPT_GUARD /* + enum guard_key */
};

/* --output-deadline-ms: 0, or 2 with a message. */
static int parse_output_deadline(struct server_config *cfg, const char *arg)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(arg, &end, 10);
	if (errno || *end || end == arg || arg[0] == '-' || v < CONN_OUTPUT_CHECK_MS ||
	    v > OUTPUT_DEADLINE_MS_MAX) {
		fprintf(stderr, "onsaled: --output-deadline-ms %s: a number of ms, %u..%u\n", arg,
			CONN_OUTPUT_CHECK_MS, OUTPUT_DEADLINE_MS_MAX);
		return 2;
	}
	cfg->output_deadline_ms = (uint32_t)v;
	return 0;
}

/* --shed-slots N, --shed-target-ms N: 0 or off turns the signal off.
 * 0, or 2 after saying what is wrong. */
static int parse_shed_option(struct server_config *cfg, int o, const char *arg)
{
	bool slots = o == OPT_SHED_SLOTS;
	unsigned long max = slots ? SHARD_REQS_MAX : SHED_INTERVAL_MS - 1;
	unsigned long v = 0;
	char *end = NULL;
	if (strcmp(arg, "off")) {
		errno = 0;
		v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || arg[0] == '-' || v > max)
			return fprintf(stderr, "onsaled: bad --shed-%s %s (0..%lu or off)\n",
				       slots ? "slots" : "target-ms", arg, max),
			       2;
	}
	if (slots)
		cfg->shed.slots = (uint32_t)v;
	else
		cfg->shed.target_ms = (uint32_t)v;
	return 0;
}

static int parse_snapshot_option(struct server_config *cfg, int o, const char *arg)
{
	uint64_t v;
	if (o == OPT_SNAP_WRITER) {
		if (!strcmp(arg, "replay"))
			cfg->snapshot_writer = SHARD_SNAPSHOT_REPLAY;
		else if (!strcmp(arg, "fork"))
			cfg->snapshot_writer = SHARD_SNAPSHOT_FORK;
		else
			return fprintf(stderr,
				       "onsaled: --snapshot-writer replay or fork, not %s\n", arg),
			       2;
		return 0;
	}
	if (o == OPT_WAL_ARCHIVE) {
		if (snprintf(cfg->wal_archive, sizeof cfg->wal_archive, "%s", arg) >=
		    (int)sizeof cfg->wal_archive)
			return fprintf(stderr, "onsaled: --wal-archive: path too long\n"), 2;
		return 0;
	}
	if (parse_threshold(arg, o == OPT_SNAP_BYTES || o == OPT_WAL_SEGMENT, &v))
		return fprintf(stderr,
			       "onsaled: bad --%s %s (a number, k, M or G after it, or off)\n",
			       o == OPT_SNAP_RECORDS  ? "snapshot-records"
			       : o == OPT_SNAP_BYTES  ? "snapshot-bytes"
			       : o == OPT_WAL_SEGMENT ? "wal-segment-bytes"
						      : "snapshot-seconds",
			       arg),
		       2;
	if (o == OPT_SNAP_RECORDS)
		cfg->snapshot_records = v;
	else if (o == OPT_SNAP_BYTES)
		cfg->snapshot_bytes = v;
	else if (o == OPT_WAL_SEGMENT) {
		if (v == SHARD_SNAPSHOT_OFF || !wal_segment_bytes_ok(v))
			return fprintf(stderr,
				       "onsaled: bad --wal-segment-bytes %s (a multiple of 4k from"
				       " %lluk to 4G)\n",
				       arg, (unsigned long long)(wal_segment_bytes_min() >> 10)),
			       2;
		cfg->wal_segment_bytes = v;
	} else
		cfg->snapshot_interval_ms = v == SHARD_SNAPSHOT_OFF ? v : v * 1000;
	return 0;
}

/* The option of a connection policy setting: its config name with
 * dashes ("max-connections"). */
static void guard_option_name(enum guard_key k, char name[64])
{
	snprintf(name, 64, "%s", server_config_guard_name(k));
	for (char *p = name; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* A connection policy option: a number of ms or connections; the
 * config file keeps its hands off it. 0, or 2 with a message. */
static int parse_guard_option(struct server_config *cfg, enum guard_key k, const char *arg)
{
	char name[64];
	guard_option_name(k, name);
	if (server_config_guard_set(cfg, k, arg) || strchr(arg, ' ')) {
		fprintf(stderr, "onsaled: --%s takes a number 0..%u, not \"%s\"\n", name,
			UINT32_MAX, arg);
		return 2;
	}
	cfg->guard_from_args |= 1u << k;
	return 0;
}

/* The connection limits split into per-shard quotas of at least one
 * (net/guard/addr_limit.h): a limit below the shard count is refused with
 * what to do, not quietly raised. 0, or 2 after the message. */
static int check_limits(const struct server_config *cfg)
{
	static const enum guard_key keys[] = {GUARD_KEY_CONNS, GUARD_KEY_CONNS_PER_ADDR};
	const uint32_t values[] = {cfg->conns_max, cfg->conns_per_addr_max};
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (addr_limit_splits(values[i], cfg->shards))
			continue;
		char name[64];
		guard_option_name(keys[i], name);
		fprintf(stderr,
			"onsaled: --%s %u (%s= in the config) is below the %u shards: each shard"
			" admits its own share of it, at least one; give at least %u, or 0 for no"
			" limit\n",
			name, values[i], server_config_guard_name(keys[i]), cfg->shards,
			cfg->shards);
		return 2;
	}
	return 0;
}

/* The file limit up to the hard limit: every connection is a file. */
static void raise_file_limit(const struct server_config *cfg)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max;
	if (rl.rlim_cur != was && setrlimit(RLIMIT_NOFILE, &rl))
		rl.rlim_cur = was;
	uint64_t conns = cfg->conns_max ? cfg->conns_max
					: (uint64_t)cfg->shards * SERVER_CONNS_PER_SHARD_MAX;
	log_line(LOG_INFO, LOG_SHARD_NONE, "msg=\"file limit\" was=%llu now=%llu hard=%llu",
		 (unsigned long long)was, (unsigned long long)rl.rlim_cur,
		 (unsigned long long)rl.rlim_max);
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < conns + 64)
		log_line(LOG_WARN, LOG_SHARD_NONE,
			 "msg=\"file limit below the connection limit\" files=%llu connections=%llu"
			 " hint=\"connections past it are not accepted until others close"
			 " (accept pauses); raise the hard limit (LimitNOFILE=) or lower"
			 " --max-connections\"",
			 (unsigned long long)rl.rlim_cur, (unsigned long long)conns);
}

static const struct option opts[] = {
	{"listen", required_argument, NULL, 'l'},
	{"shards", required_argument, NULL, 's'},
	{"data", required_argument, NULL, 'd'},
	{"config", required_argument, NULL, 'c'},
	{"gen-config", required_argument, NULL, OPT_GEN},
	{"no-fsync", no_argument, NULL, OPT_NO_FSYNC},
	{"no-pin", no_argument, NULL, OPT_NO_PIN},
	{"help", no_argument, NULL, 'h'},
	{"snapshot-records", required_argument, NULL, OPT_SNAP_RECORDS},
	{"snapshot-bytes", required_argument, NULL, OPT_SNAP_BYTES},
	{"snapshot-seconds", required_argument, NULL, OPT_SNAP_SECONDS},
	{"wal-archive", required_argument, NULL, OPT_WAL_ARCHIVE},
	{"wal-segment-bytes", required_argument, NULL, OPT_WAL_SEGMENT},
	{"snapshot-writer", required_argument, NULL, OPT_SNAP_WRITER},
	{"metrics", required_argument, NULL, OPT_METRICS},
	{"ticket-key-new", no_argument, NULL, OPT_TICKET_KEY_NEW},
	{"ticket-key-retire", required_argument, NULL, OPT_TICKET_KEY_RETIRE},
	{"hello-timeout-ms", required_argument, NULL, OPT_GUARD + GUARD_KEY_HELLO},
	{"frame-timeout-ms", required_argument, NULL, OPT_GUARD + GUARD_KEY_FRAME},
	{"idle-timeout-ms", required_argument, NULL, OPT_GUARD + GUARD_KEY_IDLE},
	{"max-connections", required_argument, NULL, OPT_GUARD + GUARD_KEY_CONNS},
	{"max-connections-per-address", required_argument, NULL,
	 OPT_GUARD + GUARD_KEY_CONNS_PER_ADDR},
	{"output-deadline-ms", required_argument, NULL, OPT_OUTPUT_DEADLINE},
	{"shed-slots", required_argument, NULL, OPT_SHED_SLOTS},
	{"shed-target-ms", required_argument, NULL, OPT_SHED_TARGET},
	{0},
};

static int parse(struct server_config *cfg, int argc, char **argv)
{
	int o;
	long n;
	char *end;
	while ((o = getopt_long(argc, argv, "l:s:d:c:h", opts, NULL)) != -1) {
		if (o >= OPT_GUARD && o < OPT_GUARD + GUARD_KEYS) {
			if (parse_guard_option(cfg, (enum guard_key)(o - OPT_GUARD), optarg))
				return 2;
			continue;
		}
		switch (o) {
		case 'l':
			if (parse_addr(optarg, cfg->listen_host, &cfg->listen_port))
				return fprintf(stderr, "onsaled: bad --listen %s (IPV4:PORT)\n",
					       optarg),
				       2;
			break;
		case 's':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > SHARDS_MAX)
				return fprintf(stderr, "onsaled: --shards 1..%u\n",
					       (unsigned)SHARDS_MAX),
				       2;
			cfg->shards = (uint32_t)n;
			break;
		case 'd': snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", optarg); break;
		case 'c': snprintf(cfg->config_path, sizeof cfg->config_path, "%s", optarg); break;
		case OPT_GEN: {
			int rc = server_config_generate(optarg);
			if (rc)
				fprintf(stderr, "onsaled: %s: %s\n", optarg, strerror(-rc));
			return rc ? 1 : -1;
		}
		case OPT_NO_FSYNC: cfg->no_fsync = true; break;
		case OPT_NO_PIN: cfg->pin = false; break;
		case OPT_SNAP_RECORDS:
		case OPT_SNAP_BYTES:
		case OPT_SNAP_SECONDS:
		case OPT_WAL_ARCHIVE:
		case OPT_WAL_SEGMENT:
		case OPT_SNAP_WRITER:
			if (parse_snapshot_option(cfg, o, optarg))
				return 2;
			break;
		case OPT_METRICS:
			cfg->metrics_off = !strcmp(optarg, "off");
			if (!cfg->metrics_off &&
			    parse_addr(optarg, cfg->metrics_host, &cfg->metrics_port))
				return fprintf(stderr,
					       "onsaled: bad --metrics %s (IPV4:PORT or off)\n",
					       optarg),
				       2;
			break;
		case OPT_TICKET_KEY_NEW: cfg->ticket_key_new = true; break;
		case OPT_TICKET_KEY_RETIRE:
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || n < 1 || n > INT32_MAX)
				return fprintf(stderr, "onsaled: bad --ticket-key-retire %s\n",
					       optarg),
				       2;
			cfg->ticket_key_retire = (uint32_t)n;
			break;
		case OPT_OUTPUT_DEADLINE:
			if (parse_output_deadline(cfg, optarg))
				return 2;
			break;
		case OPT_SHED_SLOTS:
		case OPT_SHED_TARGET:
			if (parse_shed_option(cfg, o, optarg))
				return 2;
			break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) /* a data directory given without -d served ./var */
		return fprintf(stderr, "onsaled: %s: unexpected argument (onsaled --help)\n",
			       argv[optind]),
		       2;
	return 0;
}

int main(int argc, char **argv)
{
	struct server_config cfg;
	server_config_defaults(&cfg);
	int rc = parse(&cfg, argc, argv);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!cfg.config_path[0])
		if (snprintf(cfg.config_path, sizeof cfg.config_path, "%.200s/onsaled.conf",
			     cfg.data_dir) >= (int)sizeof cfg.config_path)
			return 2;
	rc = server_config_load(&cfg, cfg.config_path);
	if (!rc && !server_config_keys(&cfg)) {
		/* as a reload refuses such a file: no client could authenticate */
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"config names no role key\" path=\"%s\""
			 " hint=\"onsaled --gen-config FILE makes one\"",
			 cfg.config_path);
		return 1;
	}
	if (rc) {
		log_line(LOG_ERROR, LOG_SHARD_NONE, "msg=\"config\" path=\"%s\" err=\"%s\"%s",
			 cfg.config_path, strerror(-rc),
			 rc == -ENOENT   ? " hint=\"onsaled --gen-config FILE makes one\""
			 : rc == -EINVAL ? " hint=\"correct the line named above; the file's keys"
					   " stay as they are\""
					 : "");
		return 1;
	}
	rc = check_limits(&cfg);
	if (rc)
		return rc;
	/* signals go to sigwait in server_run, never to a shard thread */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP); /* reload the role keys */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_file_limit(&cfg);
	/* the maps' hash is secret from the clients who choose their keys
	 * (core/htab.h); before any shard makes a map */
	uint64_t seed;
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(&seed, sizeof seed);
	htab_seed(seed);
	rc = server_run(&cfg);
	return rc ? 1 : 0;
}
