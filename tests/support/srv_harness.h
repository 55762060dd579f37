/*
 * srv_harness.h — starts a real onsaled for integration tests: a temp data
 * directory with a generated config, a free port on 127.0.0.1, fork/exec of
 * build/bin/onsaled, stop (SIGTERM), kill (SIGKILL) and restart on the same
 * data. Clients come from libonsale (net/client/onsale.h).
 */
#ifndef ONSALE_SRV_HARNESS_H
#define ONSALE_SRV_HARNESS_H

#include <stdint.h>
#include <sys/types.h>
#include "net/client/onsale.h"

struct srv {
	char bin[512];
	char dir[256];
	uint16_t port;
	unsigned shards;
	pid_t pid;
	int exit_status; /* of a server that exited while srv_spawn waited, else -1 */
	uint8_t keys[5][ONSALE_KEY_BYTES]; /* by role */
	const char *args[10]; /* more onsaled options, NULL-terminated (later ones win) */
};

/* Finds the onsaled binary next to the test (argv0: build/tests/x/test_y). */
void srv_init(struct srv *h, const char *argv0, unsigned shards);
/* Fresh data dir + config, then start. 0 or -errno. */
int srv_start(struct srv *h);
/* srv_start without the start: the data dir and config only. */
int srv_prepare(struct srv *h);
/* (Re)starts on the existing data dir; waits until it accepts. -ECHILD when
 * it exits first (its status in exit_status, its messages in dir/onsaled.log). */
int srv_spawn(struct srv *h);
int srv_stop(struct srv *h);     /* SIGTERM and wait; exit status */
void srv_kill(struct srv *h);    /* SIGKILL and wait */
void srv_cleanup(struct srv *h); /* stop if running, remove the data dir */
/* A connection authenticated as role (0: none). NULL on failure. */
struct onsale *srv_open(struct srv *h, int role);
/* A raw TCP socket to the server (for malformed frames). */
int srv_raw(struct srv *h);
/* The size of dir/onsaled.log (every start appends to it), and what it
 * holds from offset on, NUL-terminated in buf (cut to bytes - 1). */
long srv_log_size(const struct srv *h);
void srv_log_since(const struct srv *h, long offset, char *buf, size_t bytes);

#endif
