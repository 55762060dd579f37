/*
 * client_ticket.c — libonsale's e-ticket helpers that need no new wire
 * code: the public-key file onsaled writes for scanners, and a scanner's
 * incremental fetch of an event's revocation list over every shard
 * (docs/TICKETS.md). Verifying a token is core/token.h's token_check().
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/client/onsale.h"

#define KEYS_LINE_BYTES 256

/* "<key_id> <base64url public key>": 0, or -EINVAL. */
static int key_line(const char *line, struct token_keys *keys)
{
	char *end;
	unsigned long id = strtoul(line, &end, 10);
	uint8_t pk[TOKEN_PUBLIC_KEY_BYTES];
	size_t len;

	if (end == line || *end != ' ' || id == 0 || id > UINT32_MAX)
		return -EINVAL;
	line = end + 1;
	len = strcspn(line, " \t\r\n");
	if (token_b64_decode(line, len, pk, sizeof pk))
		return -EINVAL;
	return token_keys_add(keys, (uint32_t)id, pk) ? -EINVAL : 0;
}

int onsale_ticket_keys_load(const char *path, struct token_keys *keys)
{
	char line[KEYS_LINE_BYTES];
	int rc = 0;
	FILE *f;

	if (sodium_init() < 0)
		return -ENOSYS;
	memset(keys, 0, sizeof(*keys));
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (!rc && fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		rc = key_line(line, keys);
	}
	if (!rc && ferror(f))
		rc = -EIO;
	fclose(f);
	return rc;
}

/* One shard's pages until it has no more: ST_OK, a status or -errno. */
static int sync_shard(struct onsale *c, struct onsale_revocations *st, uint16_t shard,
		      void (*fn)(void *arg, uint64_t ticket_id), void *arg, uint64_t *count)
{
	struct result res;

	do {
		int rc = onsale_query_revoked(c, st->event_id, shard, st->last_seq[shard], &res);

		if (rc != ST_OK)
			return rc;
		st->gap |= res.revoked.gap;
		for (unsigned i = 0; i < res.revoked.count; i++)
			fn(arg, res.revoked.ticket_ids[i]);
		*count += res.revoked.count;
		st->last_seq[shard] = res.revoked.last_seq;
	} while (res.revoked.more);
	return ST_OK;
}

int onsale_revoked_sync(struct onsale *c, struct onsale_revocations *st,
			void (*fn)(void *arg, uint64_t ticket_id), void *arg, uint64_t *count)
{
	*count = 0;
	if (st->shard_count == 0 || st->shard_count > SHARDS_MAX)
		return -EINVAL;
	for (uint16_t s = 0; s < st->shard_count; s++) {
		int rc = sync_shard(c, st, s, fn, arg, count);

		if (rc != ST_OK)
			return rc;
	}
	return ST_OK;
}
