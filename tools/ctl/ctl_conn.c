/*
 * ctl_conn.c — onsale-ctl's connection: the role's key (--key, ONSALE_KEY,
 * or the config file onsaled reads), onsale_open, and the one place that
 * turns a call's result into a message and an exit code.
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

uint64_t ctl_wall_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

static const char *role_name(enum onsale_role r)
{
	static const char *const names[] = {"", "admin", "platform", "box_office", "scanner"};

	return r >= ONSALE_ROLE_ADMIN && r <= ONSALE_ROLE_SCANNER ? names[r] : "?";
}

int ctl_connect(struct ctl *c)
{
	const char *w = c->cmd->words;
	uint8_t key[ONSALE_KEY_BYTES];
	int rc;

	if (c->key_hex) {
		if (onsale_key_from_hex(c->key_hex, key)) {
			fprintf(stderr, "onsale-ctl %s: --key: 64 hex digits expected\n", w);
			return CTL_EXIT_USAGE;
		}
	} else if (access(c->config, R_OK)) { /* the file itself: a local file (CTL.md) */
		fprintf(stderr, "onsale-ctl %s: %s: %s (--config FILE, or --key HEX)\n", w,
			c->config, strerror(errno));
		return CTL_EXIT_IO;
	} else if ((rc = onsale_key_from_config(c->config, c->role, key)) != 0) {
		fprintf(stderr, "onsale-ctl %s: %s key from %s: %s%s\n", w, role_name(c->role),
			c->config, rc == -ENOENT ? "no such key or file" : onsale_strerror(rc),
			rc == -ENOENT ? " (--config FILE, or --key HEX)" : "");
		return CTL_EXIT_CONNECT;
	}
	rc = onsale_connect(c->host, c->port, NULL, &c->conn);
	if (!rc && (rc = onsale_auth(c->conn, c->role, key, &c->hello)) != 0) {
		onsale_close(c->conn);
		c->conn = NULL;
	}
	if (rc) {
		fprintf(stderr, "onsale-ctl %s: %s:%u as %s: %s\n", w, c->host, c->port,
			role_name(c->role), rc == -EACCES ? "key refused" : onsale_strerror(rc));
		c->conn = NULL;
		return CTL_EXIT_CONNECT;
	}
	return 0;
}

void ctl_close(struct ctl *c)
{
	onsale_close(c->conn);
	c->conn = NULL;
}

/* What to do about a refusal an operator can act on; "" for the rest. */
static const char *refusal_hint(int rc)
{
	switch (rc) {
	case ST_FORBIDDEN: return " (another --role?)";
	case ST_EVENT_NOT_CLOSED:
		return " (close it first: onsale-ctl event update EVENT --state closed)";
	case ST_OVERLOADED: /* shed load, or the shard's messages or transfers are all taken */
		return " (the server did not take it now: nothing was done; try again shortly)";
	case ST_UNAVAILABLE:
		return " (the shard is stopped, its WAL failed: nothing was done; retry once"
		       " onsaled is restarted, docs/OPERATIONS.md \"fsync failure\")";
	case ST_OUTCOME_UNKNOWN:
		return " (the shard's WAL stopped: it may or may not have been done; once the"
		       " server is back, look it up or repeat it with the same --idem key or id)";
	case ST_DISK_FULL:
		return " (the server's disk is full: nothing was done; retry once space is freed,"
		       " docs/OPERATIONS.md \"Disk full\")";
	default: return "";
	}
}

int ctl_result(const struct ctl *c, int rc, const char *what)
{
	if (rc == ST_OK)
		return CTL_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "onsale-ctl %s: %s: %s\n", c->cmd->words, what,
			onsale_strerror(rc));
		return CTL_EXIT_CONNECT;
	}
	fprintf(stderr, "onsale-ctl %s: %s: refused: %s (%d)%s\n", c->cmd->words, what,
		status_name((enum status)rc), rc, refusal_hint(rc));
	return CTL_EXIT_REFUSED;
}
