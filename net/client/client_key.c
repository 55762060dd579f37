/*
 * client_key.c — libonsale's role keys: from hex, and from onsaled's config
 * file, so clients (tools, the bench, integration tests) read the same file
 * the server does. The file (net/server/server_config.c) has one key per line,
 * `<role>_key=<64 hex digits>`, '#' comments and blank lines.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "net/client/onsale.h"

#define CONFIG_LINE_BYTES 512

static const char *const key_names[] = {
	[ONSALE_ROLE_ADMIN] = "admin_key",
	[ONSALE_ROLE_PLATFORM] = "platform_key",
	[ONSALE_ROLE_BOX_OFFICE] = "box_office_key",
	[ONSALE_ROLE_SCANNER] = "scanner_key",
};
#define ROLE_LIMIT (sizeof(key_names) / sizeof(key_names[0]))

static int hex_digit(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* 64 hex digits at hex, then the end of the string or white space. */
static int key_parse(const char *hex, uint8_t key[ONSALE_KEY_BYTES])
{
	int hi, lo;

	for (unsigned i = 0; i < ONSALE_KEY_BYTES; i++) {
		hi = hex_digit(hex[2 * i]);
		lo = hi < 0 ? -1 : hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	hex += 2 * ONSALE_KEY_BYTES;
	return *hex == 0 || isspace((unsigned char)*hex) ? 0 : -EINVAL;
}

int onsale_key_from_hex(const char *hex, uint8_t key[ONSALE_KEY_BYTES])
{
	if (strlen(hex) != 2 * ONSALE_KEY_BYTES)
		return -EINVAL;
	return key_parse(hex, key);
}

int onsale_key_from_config(const char *path, enum onsale_role role, uint8_t key[ONSALE_KEY_BYTES])
{
	char line[CONFIG_LINE_BYTES];
	size_t name_len;
	const char *p;
	int rc = -ENOENT;
	FILE *f;

	if ((unsigned)role >= ROLE_LIMIT || !key_names[role])
		return -EINVAL;
	name_len = strlen(key_names[role]);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (rc == -ENOENT && fgets(line, sizeof(line), f)) {
		p = line + strspn(line, " \t");
		if (strncmp(p, key_names[role], name_len) == 0 && p[name_len] == '=')
			rc = key_parse(p + name_len + 1, key);
	}
	fclose(f);
	return rc;
}
