/*
 * ticket_keys.c — the Ed25519 keys that sign e-ticket tokens, kept in the
 * data directory (docs/TICKETS.md "Keys").
 *
 * <data>/keys/ holds one file per key, named by its key id:
 *
 *   ticket-<id>.key      the 64-byte libsodium secret key, mode 0600
 *   ticket-<id>.retired  the same, retired: no longer loaded, so its
 *                        tokens stop verifying (kept for audits)
 *   ticket-keys.pub      the public keys of every key not retired, one
 *                        "<id> <base64url key>" line each, for scanners
 *
 * The first start creates key 1. A data directory that has served (its
 * shard-0/ holds WAL segments) but has no key file at all lost its keys/
 * (a restore that left it out): onsaled refuses to start there rather than
 * sign new tokens with a new key under the lost key's id, unless
 * --ticket-key-new says to make one. --ticket-key-new adds key max + 1 (ids are
 * never reused, retired ones included) and new tokens are signed with it:
 * the signing key is always the highest id not retired, and the older ones
 * keep verifying until --ticket-key-retire ID retires them. Every file is
 * written under a temp name, fsynced, renamed and its directory fsynced, so
 * a crash leaves a whole key or none. Runs once at start, before any shard:
 * the key set is read-only while serving, shared by every shard thread.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/server/server.h"
#include "net/wal/log.h"
#include "net/wal/wal_read.h"

#define KEYS_DIR "keys"
#define PUB_NAME "ticket-keys.pub"
#define PATH_BYTES 400
#define PUB_TEXT_BYTES (TOKEN_KEYS_MAX * 80 + 200) /* ticket-keys.pub's text */

struct key_scan {
	uint32_t max_id; /* over every key file, retired ones too */
	uint32_t ids[TOKEN_KEYS_MAX];
	uint32_t count; /* ids of keys not retired */
	bool too_many;
};

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = fsync(fd) ? -errno : 0;
	close(fd);
	return rc;
}

/* Writes len bytes to dir/name atomically with mode. 0 or -errno. */
static int file_write(const char *dir, const char *name, const void *buf, size_t len, int mode)
{
	char tmp[PATH_BYTES], path[PATH_BYTES];
	snprintf(tmp, sizeof tmp, "%.330s/%.40s.tmp", dir, name);
	snprintf(path, sizeof path, "%.330s/%.40s", dir, name);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	errno = EIO; /* a short write sets none */
	int rc = write(fd, buf, len) == (ssize_t)len ? 0 : -errno;
	if (!rc && fchmod(fd, (mode_t)mode)) /* whatever the umask said */
		rc = -errno;
	if (!rc && fsync(fd))
		rc = -errno;
	close(fd);
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc ? rc : fsync_dir(dir);
}

/* Whether dir/name holds exactly len bytes of buf (and is readable). */
static bool file_same(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[PATH_BYTES], old[PUB_TEXT_BYTES + 1];
	snprintf(path, sizeof path, "%.330s/%.40s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = len < sizeof old ? read(fd, old, len + 1) : -1; /* + 1: a longer file */
	close(fd);
	return n == (ssize_t)len && memcmp(old, buf, len) == 0;
}

/* id of "ticket-<id>.<suffix>" (no leading zeros), or 0. */
static uint32_t id_of(const char *name, const char *suffix)
{
	char back[64];
	unsigned id;
	if (sscanf(name, "ticket-%9u.", &id) != 1 || id == 0)
		return 0;
	snprintf(back, sizeof back, "ticket-%u.%s", id, suffix);
	return strcmp(back, name) ? 0 : id;
}

static int scan(const char *dir, struct key_scan *ks)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	memset(ks, 0, sizeof *ks);
	for (struct dirent *e; (e = readdir(d));) {
		uint32_t live = id_of(e->d_name, "key"),
			 id = live ? live : id_of(e->d_name, "retired");
		if (id > ks->max_id)
			ks->max_id = id;
		if (live && ks->count < TOKEN_KEYS_MAX)
			ks->ids[ks->count++] = live;
		else if (live)
			ks->too_many = true;
	}
	closedir(d);
	return 0;
}

static int key_create(const char *dir, uint32_t id)
{
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES], sk[TOKEN_SECRET_KEY_BYTES];
	char name[64];
	crypto_sign_keypair(pk, sk);
	snprintf(name, sizeof name, "ticket-%u.key", id);
	int rc = file_write(dir, name, sk, sizeof sk, 0600);
	sodium_memzero(sk, sizeof sk);
	if (!rc)
		log_line(LOG_INFO, LOG_SHARD_NONE, "msg=\"ticket key created\" key_id=%u", id);
	return rc;
}

static void no_such_key(const char *dir, uint32_t id)
{
	log_msg(LOG_ERROR, LOG_SHARD_NONE,
		"--ticket-key-retire %u: there is no ticket key %u in %s"
		" (its ids are in ticket-keys.pub there)",
		id, id, dir);
}

static int key_retire(const char *dir, uint32_t id)
{
	char from[PATH_BYTES], to[PATH_BYTES];
	snprintf(from, sizeof from, "%.330s/ticket-%u.key", dir, id);
	snprintf(to, sizeof to, "%.330s/ticket-%u.retired", dir, id);
	if (rename(from, to)) {
		int rc = -errno;
		if (rc == -ENOENT && access(to, F_OK) == 0) { /* a repeat: nothing to do */
			log_line(LOG_INFO, LOG_SHARD_NONE,
				 "msg=\"ticket key retired already\" key_id=%u", id);
			return 0;
		}
		if (rc == -ENOENT)
			no_such_key(dir, id);
		else
			log_msg(LOG_ERROR, LOG_SHARD_NONE, "--ticket-key-retire %u: %s: %s", id,
				from, strerror(-rc));
		return rc;
	}
	log_line(LOG_INFO, LOG_SHARD_NONE, "msg=\"ticket key retired\" key_id=%u", id);
	return fsync_dir(dir);
}

/* Reads key id into out (and the signer when it is the highest). */
static int key_load(const char *dir, uint32_t id, struct server_tickets *out)
{
	uint8_t sk[TOKEN_SECRET_KEY_BYTES + 1], pk[TOKEN_PUBLIC_KEY_BYTES];
	char path[PATH_BYTES];
	snprintf(path, sizeof path, "%.330s/ticket-%u.key", dir, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, sk, sizeof sk);
	close(fd);
	if (n != TOKEN_SECRET_KEY_BYTES) {
		log_msg(LOG_ERROR, LOG_SHARD_NONE, "%s is not a %d-byte Ed25519 secret key", path,
			TOKEN_SECRET_KEY_BYTES);
		return -EINVAL;
	}
	crypto_sign_ed25519_sk_to_pk(pk, sk);
	token_keys_add(&out->keys, id, pk);
	if (id > out->signer.key_id) {
		out->signer.key_id = id;
		memcpy(out->signer.sk, sk, TOKEN_SECRET_KEY_BYTES);
	}
	sodium_memzero(sk, sizeof sk);
	return 0;
}

/* The public keys file, rewritten only when its text changes. */
static int pub_write(const char *dir, const struct token_keys *keys)
{
	char text[PUB_TEXT_BYTES], b64[64];
	size_t len = (size_t)
		snprintf(text, sizeof text,
			 "# onsale ticket keys: <key id> <Ed25519 public key, base64url>;"
			 " tokens name their key id\n");
	for (uint32_t i = 0; i < keys->count; i++) {
		token_b64_encode(keys->keys[i].pk, TOKEN_PUBLIC_KEY_BYTES, b64, sizeof b64);
		len += (size_t)snprintf(text + len, sizeof text - len, "%u %s\n",
					keys->keys[i].key_id, b64);
	}
	if (file_same(dir, PUB_NAME, text, len))
		return 0; /* a restart on a full disk must not fail here */
	return file_write(dir, PUB_NAME, text, len, 0644);
}

/* Add a key when asked or when none is left. */
static int rotate(const struct server_config *cfg, const char *dir, struct key_scan *ks)
{
	int rc = scan(dir, ks);
	if (!rc && (cfg->ticket_key_new || ks->count == 0)) {
		if (ks->count >= TOKEN_KEYS_MAX || ks->too_many) {
			log_msg(LOG_ERROR, LOG_SHARD_NONE,
				"%u ticket keys are in use already: retire one (--ticket-key-retire ID) "
				"before adding another",
				TOKEN_KEYS_MAX);
			return -ENOSPC;
		}
		rc = key_create(dir, ks->max_id + 1);
		if (!rc)
			rc = scan(dir, ks);
	}
	return rc;
}

/* Whether shard 0's directory holds a WAL segment: the data directory
 * has served (a first start makes them only after the keys check). */
static bool has_served(const char *data_dir)
{
	char path[PATH_BYTES];
	uint64_t segment;
	bool wal = false;
	snprintf(path, sizeof path, "%.300s/shard-0", data_dir);
	DIR *d = opendir(path);
	for (struct dirent *e; d && !wal && (e = readdir(d));)
		wal = wal_segment_parse(e->d_name, 0, &segment) == 0;
	if (d)
		closedir(d);
	return wal;
}

/* No key file at all (live or retired) where the data has served. */
static int keys_lost(const struct server_config *cfg, const char *dir)
{
	struct key_scan ks = {0};
	if (cfg->ticket_key_new || (scan(dir, &ks) == 0 && ks.max_id) || !has_served(cfg->data_dir))
		return 0;
	log_line(
		LOG_ERROR, LOG_SHARD_NONE,
		"msg=\"ticket keys missing\" dir=\"%.300s\" hint=\"the data directory has served but"
		" has no key: restore %.300s from the backup it came with (tokens issued so far"
		" verify only with those keys), or start once with --ticket-key-new to make a new"
		" signing key (tokens issued so far then stop verifying: re-issue them with"
		" Q_TICKET_TOKEN)\"",
		dir, dir);
	return -ENOKEY;
}

int ticket_keys_check(const struct server_config *cfg)
{
	char dir[PATH_BYTES], key[PATH_BYTES], retired[PATH_BYTES];
	uint32_t id = cfg->ticket_key_retire;
	snprintf(dir, sizeof dir, "%.300s/" KEYS_DIR, cfg->data_dir);
	int rc = keys_lost(cfg, dir);
	if (rc || !id)
		return rc;
	snprintf(key, sizeof key, "%.330s/ticket-%u.key", dir, id);
	snprintf(retired, sizeof retired, "%.330s/ticket-%u.retired", dir, id);
	if (access(key, F_OK) == 0 || access(retired, F_OK) == 0)
		return 0;
	no_such_key(dir, id);
	return -ENOENT;
}

int ticket_keys_open(const struct server_config *cfg, struct server_tickets *out)
{
	char dir[PATH_BYTES];
	struct key_scan ks;
	if (sodium_init() < 0)
		return -ENOSYS;
	memset(out, 0, sizeof *out);
	snprintf(dir, sizeof dir, "%.300s/" KEYS_DIR, cfg->data_dir);
	int rc = mkdir(dir, 0700) && errno != EEXIST ? -errno : 0;
	if (!rc && cfg->ticket_key_retire && (rc = key_retire(dir, cfg->ticket_key_retire)))
		return rc; /* said why */
	if (!rc)
		rc = rotate(cfg, dir, &ks);
	if (!rc && ks.too_many)
		rc = -E2BIG;
	for (uint32_t i = 0; !rc && i < ks.count; i++)
		rc = key_load(dir, ks.ids[i], out);
	if (!rc)
		rc = pub_write(dir, &out->keys);
	if (rc) {
		log_msg(LOG_ERROR, LOG_SHARD_NONE, "ticket keys in %s: %s", dir, strerror(-rc));
		return rc;
	}
	char q[PATH_BYTES];
	log_line(LOG_INFO, LOG_SHARD_NONE,
		 "msg=\"ticket keys\" signing_key_id=%u keys=%u public_keys=\"%s/" PUB_NAME "\"",
		 out->signer.key_id, out->keys.count, log_quote(q, sizeof q, dir));
	return 0;
}
