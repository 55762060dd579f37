/*
 * ctl_args.c — onsale-ctl's command-line parser: the common options, each
 * subcommand's own (from its table, so --help and the parser never
 * disagree), positional arguments counted against the table, and the
 * value parsers every subcommand uses. Bad input is a message naming the
 * subcommand and exit code 2.
 */
#include "tools/ctl/ctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl/vfile.h"

static const struct ctl_opt common_opts[] = {
	{"host", "HOST", "server address (env ONSALE_HOST; default 127.0.0.1)"},
	{"port", "PORT", "server port (env ONSALE_PORT; default 7400)"},
	{"config", "FILE",
	 "role keys, as onsaled --gen-config writes them (env ONSALE_CONFIG; "
	 "default ./var/onsaled.conf)"},
	{"key", "HEX", "the role's 64-hex-digit key instead of --config (env ONSALE_KEY)"},
	{"role", "ROLE", "admin, platform, box_office or scanner (default: the subcommand's)"},
	{"json", NULL, "print the reply as one JSON object (reads only)"},
	{"help", NULL, "this help"},
	{NULL, NULL, NULL},
};

static const char *const role_names[] = {"", "admin", "platform", "box_office", "scanner"};

int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "onsale-ctl %s: ", c->cmd ? c->cmd->words : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (onsale-ctl %s --help)\n", c->cmd ? c->cmd->words : "");
	return CTL_EXIT_USAGE;
}

static void help_opts(const struct ctl_opt *o, FILE *out)
{
	char head[48];

	for (; o && o->name; o++) {
		snprintf(head, sizeof head, "--%s%s%s", o->name, o->arg ? " " : "",
			 o->arg ? o->arg : "");
		fprintf(out, "  %-22s %s\n", head, o->help);
	}
}

void ctl_help(const struct ctl_cmd *cmd, FILE *out)
{
	fprintf(out, "usage: onsale-ctl %s [options] %s\n\n%s\n\noptions:\n", cmd->words, cmd->args,
		cmd->about);
	help_opts(cmd->opts, out);
	fprintf(out, "common options (role: %s by default):\n", role_names[cmd->role]);
	for (const struct ctl_opt *o = common_opts; o->name; o++)
		if (strcmp(o->name, "json") || cmd->is_read)
			help_opts((const struct ctl_opt[]){*o, {NULL, NULL, NULL}}, out);
	fprintf(out, "exit codes: 0 ok, 1 refused by the server, 2 bad usage or input, "
		     "3 connection, 4 local file, 5 venue file does not match (docs/CTL.md)\n");
}

static int common(struct ctl *c, const char *name, const char *val)
{
	uint64_t port;

	if (!strcmp(name, "host"))
		c->host = val;
	else if (!strcmp(name, "port")) {
		if (ctl_u64(val, "--port", 1, UINT16_MAX, &port))
			return CTL_EXIT_USAGE;
		c->port = (uint16_t)port;
	} else if (!strcmp(name, "config"))
		c->config = val;
	else if (!strcmp(name, "key"))
		c->key_hex = val;
	else if (!strcmp(name, "role")) {
		for (c->role = ONSALE_ROLE_ADMIN; c->role <= ONSALE_ROLE_SCANNER; c->role++)
			if (!strcmp(val, role_names[c->role]))
				return 0;
		return ctl_usage_error(c, "--role %s: admin, platform, box_office or scanner", val);
	} else if (!strcmp(name, "json")) {
		if (!c->cmd->is_read)
			return ctl_usage_error(c, "--json is for reads; this one changes state");
		c->json = 1;
	}
	return 0;
}

/* -1: not an option of either table; else its index (common: CTL_OPTS_MAX + i). */
static int find_opt(const struct ctl_cmd *cmd, const char *name, const struct ctl_opt **o)
{
	for (int i = 0; cmd->opts && cmd->opts[i].name; i++)
		if (!strcmp(cmd->opts[i].name, name))
			return *o = &cmd->opts[i], i;
	for (int i = 0; common_opts[i].name; i++)
		if (!strcmp(common_opts[i].name, name))
			return *o = &common_opts[i], CTL_OPTS_MAX + i;
	return -1;
}

static void defaults(struct ctl *c, const struct ctl_cmd *cmd)
{
	const char *port = getenv("ONSALE_PORT");

	memset(c, 0, sizeof *c);
	c->cmd = cmd;
	c->role = cmd->role;
	c->host = getenv("ONSALE_HOST") ? getenv("ONSALE_HOST") : "127.0.0.1";
	c->port = port && atoi(port) > 0 && atoi(port) <= UINT16_MAX ? (uint16_t)atoi(port)
								     : ONSALE_PORT_DEFAULT;
	c->config = getenv("ONSALE_CONFIG") ? getenv("ONSALE_CONFIG") : "./var/onsaled.conf";
	c->key_hex = getenv("ONSALE_KEY");
}

int ctl_args_parse(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	defaults(c, cmd);
	for (int i = 0; i < argc; i++) {
		const struct ctl_opt *o;
		char *a = argv[i], *eq;
		int k;

		if (strncmp(a, "--", 2) || !a[2]) {
			if (c->nargs == CTL_ARGS_MAX || c->nargs == cmd->args_max)
				return ctl_usage_error(c, "unexpected argument '%s'", a);
			c->args[c->nargs++] = a;
			continue;
		}
		eq = strchr(a, '=');
		if (eq)
			*eq = 0;
		k = find_opt(cmd, a + 2, &o);
		if (k < 0)
			return ctl_usage_error(c, "unknown option %s", a);
		if (!strcmp(o->name, "help"))
			return ctl_help(cmd, stdout), -1;
		const char *val = eq ? eq + 1 : "";
		if (o->arg && !eq && (i + 1 >= argc || !strncmp(argv[i + 1], "--", 2)))
			return ctl_usage_error(c, "%s needs a value (%s)", a, o->arg);
		if (o->arg && !eq)
			val = argv[++i];
		if (!o->arg && eq)
			return ctl_usage_error(c, "%s takes no value", a);
		if (k >= CTL_OPTS_MAX && common(c, o->name, val))
			return CTL_EXIT_USAGE;
		if (k < CTL_OPTS_MAX)
			c->val[k] = val;
	}
	if (c->nargs < cmd->args_min)
		return ctl_usage_error(c, "needs %s", cmd->args);
	return 0;
}

const char *ctl_opt(const struct ctl *c, const char *name)
{
	for (int i = 0; c->cmd->opts && c->cmd->opts[i].name; i++)
		if (!strcmp(c->cmd->opts[i].name, name))
			return c->val[i];
	return NULL;
}

static int say(const char *what, const char *s, const char *expect)
{
	fprintf(stderr, "onsale-ctl: %s '%s': %s\n", what, s, expect);
	return CTL_EXIT_USAGE;
}

int ctl_u64(const char *s, const char *what, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end || errno)
		return say(what, s, "not a number");
	if (x < min || x > max) {
		fprintf(stderr, "onsale-ctl: %s %llu out of range (%llu to %llu)\n", what, x,
			(unsigned long long)min, (unsigned long long)max);
		return CTL_EXIT_USAGE;
	}
	*out = x;
	return 0;
}

int ctl_money(const char *s, const char *what, uint64_t *minor)
{
	return vfile_money(s, minor) ? say(what, s, "an amount like 149 or 149.50") : 0;
}

int ctl_duration(const char *s, const char *what, uint64_t *ms)
{
	return vfile_duration(s, ms) ? say(what, s, "a duration like 10m, 90s, 1h, 500ms") : 0;
}

int ctl_channel(const char *s, uint8_t *channel)
{
	for (unsigned ch = 0; ch < CHANNELS; ch++)
		if (!strcmp(s, ctl_channel_name(ch)))
			return *channel = (uint8_t)ch, 0;
	return say("--channel", s, "online, box_office or kiosk");
}

int ctl_seats(const char *s, uint32_t *seats, unsigned max, unsigned *count)
{
	char *end;

	*count = 0;
	while (*s) {
		unsigned long long a, b;

		errno = 0;
		a = strtoull(s, &end, 10);
		b = a;
		if (*s < '0' || *s > '9' || errno)
			return say("--seats", s, "seat numbers and ranges: 120,121 or 120-123");
		if (*end == '-') {
			b = strtoull(end + 1, &end, 10);
			if (b < a || b >= SEAT_NONE)
				return say("--seats", s,
					   "a range FIRST-LAST, first not above last");
		}
		for (; a <= b; a++) {
			if (*count == max) {
				fprintf(stderr, "onsale-ctl: --seats: more than %u seats\n", max);
				return CTL_EXIT_USAGE;
			}
			seats[(*count)++] = (uint32_t)a;
		}
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return say("--seats", end, "seat numbers and ranges: 120,121 or 120-123");
	}
	return *count ? 0 : say("--seats", s, "at least one seat");
}
