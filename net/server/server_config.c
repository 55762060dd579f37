/*
 * server_config.c — onsaled's defaults and its config file.
 *
 * The config file holds the role keys, one per line, 64 hex digits each
 * (32 bytes); '#' starts a comment, blank lines are ignored:
 *
 *   admin_key=<64 hex>
 *   platform_key=<64 hex>
 *   box_office_key=<64 hex>
 *   scanner_key=<64 hex>
 *
 * and may set the connection policy (docs/OPERATIONS.md, "Deadlines and
 * connection limits"), a decimal number each, which an option of the same
 * name overrides:
 *
 *   hello_timeout_ms=  frame_timeout_ms=  idle_timeout_ms=
 *   max_connections=   max_connections_per_address=
 *
 * A role without a key cannot authenticate. `onsaled --gen-config FILE`
 * (and `make run`) writes one with fresh random keys, mode 0600.
 *
 * While a key is rotated, `<role>_key_next=<64 hex>` names a second key the
 * role also accepts (docs/OPERATIONS.md, "How to rotate a key"). SIGHUP
 * reads the file again (server_keys_reload): connections keep their role,
 * later HELLOs are checked against the new keys; a file that does not parse
 * or names no key at all is logged and the keys in use stay.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/wal/log.h"
#include "net/server/server.h"
#include "net/shard/node.h"

#define NEXT_SUFFIX "_next"

static const char *const key_names[PROTO_ROLES] = {
	[PROTO_ROLE_ADMIN] = "admin_key",
	[PROTO_ROLE_PLATFORM] = "platform_key",
	[PROTO_ROLE_BOX_OFFICE] = "box_office_key",
	[PROTO_ROLE_SCANNER] = "scanner_key",
};

void server_config_defaults(struct server_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
	cfg->listen_port = 7400;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	cfg->shards = n > 0 ? (uint32_t)(n > SHARDS_MAX ? SHARDS_MAX : n) : 1;
	snprintf(cfg->data_dir, sizeof cfg->data_dir, "./var");
	cfg->pin = true;
	cfg->output_deadline_ms = CONN_OUTPUT_DEADLINE_MS_DEFAULT;
	cfg->shed = shed_config_default();
	snprintf(cfg->metrics_host, sizeof cfg->metrics_host, "127.0.0.1");
	cfg->metrics_port = 9400;
	cfg->deadlines = (struct deadline_config){.hello_ms = GUARD_HELLO_MS_DEFAULT,
						  .frame_ms = GUARD_FRAME_MS_DEFAULT,
						  .idle_ms = GUARD_IDLE_MS_DEFAULT};
	cfg->conns_per_addr_max = GUARD_CONNS_PER_ADDR_DEFAULT;
}

static const char *const guard_names[GUARD_KEYS] = {
	[GUARD_KEY_HELLO] = "hello_timeout_ms",
	[GUARD_KEY_FRAME] = "frame_timeout_ms",
	[GUARD_KEY_IDLE] = "idle_timeout_ms",
	[GUARD_KEY_CONNS] = "max_connections",
	[GUARD_KEY_CONNS_PER_ADDR] = "max_connections_per_address",
};

const char *server_config_guard_name(enum guard_key k)
{
	assert(k < GUARD_KEYS);
	return guard_names[k];
}

int server_config_guard_set(struct server_config *cfg, enum guard_key k, const char *value)
{
	assert(k < GUARD_KEYS);
	char *end;
	errno = 0;
	unsigned long long v = strtoull(value, &end, 10);
	if (errno || end == value || value[0] == '-' || v > UINT32_MAX ||
	    (*end && *end != '\n' && *end != '\r' && *end != ' '))
		return -EINVAL;
	uint32_t *field[GUARD_KEYS] = {
		[GUARD_KEY_HELLO] = &cfg->deadlines.hello_ms,
		[GUARD_KEY_FRAME] = &cfg->deadlines.frame_ms,
		[GUARD_KEY_IDLE] = &cfg->deadlines.idle_ms,
		[GUARD_KEY_CONNS] = &cfg->conns_max,
		[GUARD_KEY_CONNS_PER_ADDR] = &cfg->conns_per_addr_max,
	};
	*field[k] = (uint32_t)v;
	return 0;
}

/* A connection policy line (name=value): 1 taken, 0 not one, -EINVAL. An
 * option given for the same setting wins over the file. */
static int guard_line(struct server_config *cfg, const char *name, const char *value)
{
	for (int k = 0; k < GUARD_KEYS; k++) {
		if (strcmp(name, guard_names[k]))
			continue;
		if (cfg->guard_from_args & (1u << k))
			return 1;
		return server_config_guard_set(cfg, (enum guard_key)k, value) ? -EINVAL : 1;
	}
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int server_parse_hex_key(const char *hex, uint8_t out[PROTO_KEY_BYTES])
{
	for (int i = 0; i < PROTO_KEY_BYTES; i++) {
		int hi = hexval(hex[2 * i]), lo = hi < 0 ? -1 : hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	const char *end = hex + 2 * PROTO_KEY_BYTES;
	return (*end == 0 || *end == '\n' || *end == ' ' || *end == '\r') ? 0 : -EINVAL;
}

static int parse_line(struct server_config *cfg, char *line, const char *path, int no)
{
	char *p = line + strspn(line, " \t");
	if (*p == '#' || *p == '\n' || *p == 0)
		return 0;
	char *eq = strchr(p, '=');
	if (eq) {
		*eq = 0;
		int g = guard_line(cfg, p, eq + 1);
		if (g > 0)
			return 0;
		if (g < 0) {
			log_msg(LOG_ERROR, LOG_SHARD_NONE, "%s:%d: %s= takes a number", path, no,
				p);
			return -EINVAL;
		}
		for (int r = 1; r < PROTO_ROLES; r++) {
			size_t n = strlen(key_names[r]);
			bool next = !strcmp(p + n, NEXT_SUFFIX);

			if (strncmp(p, key_names[r], n) || (p[n] && !next))
				continue;
			if (server_parse_hex_key(eq + 1, next ? cfg->keys_next[r] : cfg->keys[r]))
				break;
			*(next ? &cfg->has_key_next[r] : &cfg->has_key[r]) = true;
			return 0;
		}
	}
	log_msg(LOG_ERROR, LOG_SHARD_NONE,
		"%s:%d: expected <role>_key=<64 hex digits> or <role>_key_next=<64 hex digits>",
		path, no);
	return -EINVAL;
}

/* Each line whole, however long (a long comment is one line); a file that
 * cannot be read (a directory, an I/O error) is an error, not an empty
 * file. */
static int read_lines(struct server_config *cfg, FILE *f, const char *path)
{
	char *line = NULL;
	size_t cap = 0;
	int no = 0, rc = 0;
	while (!rc && getline(&line, &cap, f) >= 0)
		rc = parse_line(cfg, line, path, ++no);
	if (!rc && ferror(f))
		rc = errno ? -errno : -EIO;
	if (line) {
		sodium_memzero(line, cap); /* it held keys */
		free(line);
	}
	return rc;
}

int server_config_load(struct server_config *cfg, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	int rc = read_lines(cfg, f, path);
	fclose(f);
	return rc;
}

/* The same reader over bytes in memory (fmemopen), so the parser is
 * tested and fuzzed on exactly the path a file takes. */
int server_config_parse(struct server_config *cfg, const char *text, size_t len, const char *name)
{
	if (len == 0)
		return 0;
	FILE *f = fmemopen((void *)text, len, "r");
	if (!f)
		return -errno;
	int rc = read_lines(cfg, f, name);
	fclose(f);
	return rc;
}

int server_config_generate(const char *path)
{
	if (sodium_init() < 0)
		return -EIO;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == ENOENT) { /* its directory (the data directory): made */
		char dir[PATH_MAX];
		const char *slash = strrchr(path, '/');
		if (slash && slash != path && (size_t)(slash - path) < sizeof dir) {
			memcpy(dir, path, (size_t)(slash - path));
			dir[slash - path] = 0;
			if (!mkdir(dir, 0755)) /* else errno says why not */
				fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		}
	}
	if (fd < 0)
		return -errno;
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -errno;
	}
	fprintf(f, "# onsaled role keys (32 bytes, hex). Clients send the key of their role\n"
		   "# in HELLO. Keep this file private.\n");
	for (int r = 1; r < PROTO_ROLES; r++) {
		uint8_t k[PROTO_KEY_BYTES];
		char hex[2 * PROTO_KEY_BYTES + 1];
		randombytes_buf(k, sizeof k);
		sodium_bin2hex(hex, sizeof hex, k, sizeof k);
		fprintf(f, "%s=%s\n", key_names[r], hex);
	}
	int rc = fflush(f) || fsync(fd) ? -errno : 0;
	fclose(f);
	return rc;
}

unsigned server_config_keys(const struct server_config *cfg)
{
	unsigned n = 0;

	for (int r = 1; r < PROTO_ROLES; r++)
		n += (unsigned)cfg->has_key[r] + (unsigned)cfg->has_key_next[r];
	return n;
}

int server_keys_reload(struct server *srv)
{
	struct server_config cfg;
	struct role_keys keys;
	unsigned n = 0;
	int rc;

	memset(&cfg, 0, sizeof cfg);
	rc = server_config_load(&cfg, srv->cfg.config_path);
	n = rc ? 0 : server_config_keys(&cfg);
	rc = rc ? rc : n ? 0 : -ENOKEY;
	if (rc) {
		log_line(LOG_ERROR, LOG_SHARD_NONE,
			 "msg=\"role keys not reloaded; the keys in use stay\" path=\"%s\""
			 " err=\"%s\"",
			 srv->cfg.config_path, strerror(-rc));
	} else {
		role_keys_from_config(&cfg, &keys);
		role_keys_publish(&srv->role_keys, &keys);
		log_line(LOG_INFO, LOG_SHARD_NONE,
			 "msg=\"role keys reloaded\" path=\"%s\" keys=%u generation=%u",
			 srv->cfg.config_path, n,
			 atomic_load_explicit(&srv->role_keys.seq, memory_order_relaxed) / 2);
		sodium_memzero(&keys, sizeof keys);
	}
	sodium_memzero(&cfg, sizeof cfg);
	return rc;
}
