/*
 * onsale-ctl.c — the admin and box-office command line over libonsale:
 * events from venue files, every sale and gate operation, look-ups,
 * statistics live, seat maps as SVG, sales reports as CSV. This file finds
 * the subcommand by its words and runs it; each subcommand's table entry
 * (tools/ctl/ctl_*.c) holds its help, options and run function. Usage and
 * exit codes: docs/CTL.md.
 */
#include <stdio.h>
#include <string.h>

#include "tools/ctl/ctl.h"

static const struct ctl_cmd *const tables[] = {ctl_event_cmds, ctl_sale_cmds,    ctl_query_cmds,
					       ctl_watch_cmds, ctl_seatmap_cmds, ctl_ticket_cmds};
#define TABLES (sizeof tables / sizeof tables[0])

static void usage(FILE *out)
{
	fprintf(out, "usage: onsale-ctl SUBCOMMAND [options] [arguments]\n\n"
		     "Drives onsaled over its protocol (docs/CTL.md). Subcommands:\n");
	for (unsigned t = 0; t < TABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->words; c++)
			fprintf(out, "  %-16s %s\n", c->words, c->args);
	fprintf(out, "\n'onsale-ctl SUBCOMMAND --help' tells more. The server and key come from\n"
		     "--host, --port, --config FILE or --key HEX (or ONSALE_HOST, ONSALE_PORT,\n"
		     "ONSALE_CONFIG, ONSALE_KEY); the default is ./var/onsaled.conf on\n"
		     "127.0.0.1:7400, as `make run` starts it.\n");
}

/* The subcommand named by argv[0] (and argv[1]); *words says how many. */
static const struct ctl_cmd *find(int argc, char **argv, int *words)
{
	for (unsigned t = 0; t < TABLES; t++) {
		for (const struct ctl_cmd *c = tables[t]; c->words; c++) {
			size_t n = strlen(argv[0]);

			if (strncmp(c->words, argv[0], n))
				continue;
			if (c->words[n] == 0)
				return *words = 1, c;
			if (c->words[n] == ' ' && argc > 1 && !strcmp(c->words + n + 1, argv[1]))
				return *words = 2, c;
		}
	}
	return NULL;
}

/* A first word that starts two-word subcommands ("event"): lists them. */
static int group(const char *word)
{
	size_t n = strlen(word);
	int found = 0;

	for (unsigned t = 0; t < TABLES; t++)
		for (const struct ctl_cmd *c = tables[t]; c->words; c++)
			if (!strncmp(c->words, word, n) && c->words[n] == ' ') {
				fprintf(stderr, "%s  onsale-ctl %s %s\n", found ? "" : "usage:\n",
					c->words, c->args);
				found = 1;
			}
	return found;
}

int main(int argc, char **argv)
{
	const struct ctl_cmd *cmd;
	struct ctl c;
	int words, rc;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? CTL_EXIT_USAGE : CTL_EXIT_OK;
	}
	cmd = find(argc - 1, argv + 1, &words);
	if (!cmd && group(argv[1]))
		return CTL_EXIT_USAGE;
	if (!cmd) {
		fprintf(stderr, "onsale-ctl: unknown subcommand '%s%s%s' (onsale-ctl --help)\n",
			argv[1], argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
		return CTL_EXIT_USAGE;
	}
	rc = ctl_args_parse(&c, cmd, argc - 1 - words, argv + 1 + words);
	if (rc)
		return rc < 0 ? CTL_EXIT_OK : rc;
	rc = cmd->run(&c);
	ctl_close(&c);
	return rc;
}
