/*
 * ctl.h — onsale-ctl's shared parts: the subcommand table entry, the
 * parsed command line, the connection, exit codes, output helpers.
 *
 * Every subcommand is one struct ctl_cmd: its words ("event create"), its
 * positional arguments, its options (each with a line of help) and a run
 * function. onsale-ctl.c finds the subcommand, ctl_args.c parses its
 * options and the common ones (--host, --port, --config, --key, --role,
 * --json, --help) into struct ctl, and the run function connects with
 * ctl_connect() when it needs the server. Exit codes are docs/CTL.md's.
 */
#ifndef ONSALE_CTL_H
#define ONSALE_CTL_H

#include <stdint.h>
#include <stdio.h>
#include "net/client/onsale.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_REFUSED = 1,  /* the server answered with a refusal (a status) */
	CTL_EXIT_USAGE = 2,    /* bad command line or bad input file */
	CTL_EXIT_CONNECT = 3,  /* no server, bad key, connection lost, timeout */
	CTL_EXIT_IO = 4,       /* a local file could not be read or written */
	CTL_EXIT_MISMATCH = 5, /* the venue file does not match the event on the server */
};

#define CTL_OPTS_MAX 16
#define CTL_ARGS_MAX 8

struct ctl_opt {
	const char *name; /* without "--" */
	const char *arg;  /* the value's name in help, NULL: a flag */
	const char *help;
};

struct ctl;

struct ctl_cmd {
	const char *words; /* "event create" */
	const char *args;  /* positional, for help: "EVENT HOLD" */
	unsigned args_min, args_max;
	enum onsale_role role;      /* the role it connects as unless --role says */
	int is_read;                /* takes --json */
	const char *about;          /* a paragraph for --help */
	const struct ctl_opt *opts; /* ends with a NULL name; may be NULL */
	int (*run)(struct ctl *c);
};

struct ctl {
	const struct ctl_cmd *cmd;
	const char
		*val[CTL_OPTS_MAX]; /* by index in cmd->opts: the value, "" for a flag, or NULL */
	char *args[CTL_ARGS_MAX];
	unsigned nargs;
	const char *host;
	uint16_t port;
	const char *config;  /* role keys file (onsaled --gen-config) */
	const char *key_hex; /* a key given directly, for the role */
	enum onsale_role role;
	int json;
	struct onsale *conn;
	struct onsale_hello_info hello;
};

extern const struct ctl_cmd ctl_event_cmds[], ctl_sale_cmds[], ctl_query_cmds[], ctl_watch_cmds[],
	ctl_seatmap_cmds[], ctl_ticket_cmds[];

/* ctl_args.c */
/* Parses argv (after the subcommand's words) into c: 0, or an exit code
 * (CTL_EXIT_USAGE with a message printed; -1 for --help, printed). */
int ctl_args_parse(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv);
void ctl_help(const struct ctl_cmd *cmd, FILE *out);
/* The value of option name (as in cmd->opts), or NULL when not given. */
const char *ctl_opt(const struct ctl *c, const char *name);
/* Parsers for arguments and option values: 0 and *out, or a message
 * naming what and CTL_EXIT_USAGE. */
int ctl_u64(const char *s, const char *what, uint64_t min, uint64_t max, uint64_t *out);
int ctl_money(const char *s, const char *what, uint64_t *minor);
int ctl_duration(const char *s, const char *what, uint64_t *ms);
int ctl_channel(const char *s, uint8_t *channel);
int ctl_seats(const char *s, uint32_t *seats, unsigned max, unsigned *count);
int ctl_usage_error(const struct ctl *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ctl_conn.c */
/* Connects and authenticates as c->role: 0 or CTL_EXIT_CONNECT (message printed). */
int ctl_connect(struct ctl *c);
void ctl_close(struct ctl *c);
/* Exit code of a call's rc, with a message for anything but ok:
 * "onsale-ctl hold: sold_out (40)" / "...: Connection refused". */
int ctl_result(const struct ctl *c, int rc, const char *what);
uint64_t ctl_wall_ms(void);

/* ctl_out.c — JSON objects written as they go (one level of nesting per
 * call pair), and plain-text helpers. */
struct ctl_json {
	FILE *out;
	unsigned depth;
	int first[8];
};
void cj_open(struct ctl_json *j, const char *key, char brace); /* key NULL in arrays/top */
void cj_close(struct ctl_json *j, char brace);
void cj_u64(struct ctl_json *j, const char *key, uint64_t x);
void cj_str(struct ctl_json *j, const char *key, const char *s);
void cj_bool(struct ctl_json *j, const char *key, int b);
void cj_money(struct ctl_json *j, const char *key, uint64_t minor); /* a number, minor units */
/* One tier of an availability view as a JSON object (avail, event show). */
void cj_tier(struct ctl_json *j, unsigned tier, const struct tier_view *v);
/* "149.50" into buf; returns buf. */
const char *ctl_fmt_money(char *buf, size_t size, uint64_t minor);
/* "2027-06-01T20:00:00Z" (or "-" for 0); returns buf. */
const char *ctl_fmt_time(char *buf, size_t size, uint64_t ms);
const char *ctl_channel_name(unsigned channel);
const char *ctl_hold_state_name(unsigned state);
const char *ctl_ticket_state_name(unsigned state);
const char *ctl_seat_state_name(unsigned state);

/* ctl_place.c — seats by section, row and number, with --venue FILE. */
struct vfile;
/* The venue file --venue loaded, or NULL. */
const struct vfile *ctl_venue(void);
/* Loads --venue if given: 0 or an exit code (message printed). */
int ctl_venue_open(struct ctl *c);
/* SECTION:ROW:SEATS ("105:A:12-13") to server seat numbers: 0 or an exit code. */
int ctl_place_seats(struct ctl *c, uint32_t ev, const char *spec, uint32_t *seats, unsigned max,
		    unsigned *count);
/* "Section 105 row A seat 12" into buf: 1, or 0 when no venue or no such seat. */
int ctl_seat_name(struct ctl *c, uint32_t ev, uint32_t seat, char *buf, size_t size);

/* Views shared by the subcommands that print them (ctl_query.c). */
void ctl_print_hold(struct ctl *c, const struct hold_view *h, int replayed);
void ctl_print_ticket(struct ctl *c, const struct ticket_view *t, int replayed);

#endif
