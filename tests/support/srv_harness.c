/*
 * srv_harness.c — a real onsaled for integration tests (srv_harness.h).
 */
#include "tests/support/srv_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

void srv_init(struct srv *h, const char *argv0, unsigned shards)
{
	memset(h, 0, sizeof *h);
	const char *slash = strrchr(argv0, '/');
	int dlen = slash ? (int)(slash - argv0) : 1;
	snprintf(h->bin, sizeof h->bin, "%.*s/../../bin/onsaled", dlen, slash ? argv0 : ".");
	h->shards = shards;
	h->pid = -1;
	h->exit_status = -1;
}

static uint16_t free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) ||
	    getsockname(fd, (struct sockaddr *)&a, &len))
		return 0;
	close(fd);
	return ntohs(a.sin_port);
}

static int read_keys(struct srv *h)
{
	static const char *const names[5] = {"", "admin_key=", "platform_key=", "box_office_key=",
					     "scanner_key="};
	char path[320], line[256];
	snprintf(path, sizeof path, "%s/onsaled.conf", h->dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "\r\n")] = 0;
		for (int r = 1; r < 5; r++)
			if (!strncmp(line, names[r], strlen(names[r])))
				onsale_key_from_hex(line + strlen(names[r]), h->keys[r]);
	}
	fclose(f);
	return 0;
}

static int run_wait(char *const argv[])
{
	pid_t pid = fork();
	if (pid == 0) {
		execv(argv[0], argv);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ONSALED_WRAP="valgrind --tool=memcheck ...": onsaled runs under that
 * command (words split at spaces; `make memcheck` sets it). */
#define WRAP_ENV "ONSALED_WRAP"
#define WRAP_WORDS_MAX 32

static void exec_wrapped(const char **argv)
{
	static char words[1024];
	const char *all[WRAP_WORDS_MAX + 32];
	const char *wrap = getenv(WRAP_ENV);
	size_t n = 0;

	if (!wrap || !*wrap || strlen(wrap) >= sizeof words) {
		execv(argv[0], (char *const *)argv);
		return;
	}
	strcpy(words, wrap);
	for (char *w = strtok(words, " "); w && n < WRAP_WORDS_MAX; w = strtok(NULL, " "))
		all[n++] = w;
	for (size_t i = 0; argv[i] && n < sizeof all / sizeof all[0] - 1; i++)
		all[n++] = argv[i];
	all[n] = NULL;
	execvp(all[0], (char *const *)all);
}

int srv_prepare(struct srv *h)
{
	snprintf(h->dir, sizeof h->dir, "/tmp/onsale-srv-XXXXXX");
	if (!mkdtemp(h->dir))
		return -errno;
	char conf[320];
	snprintf(conf, sizeof conf, "%s/onsaled.conf", h->dir);
	char *argv[] = {h->bin, "--gen-config", conf, NULL};
	if (run_wait(argv))
		return -EIO;
	return read_keys(h);
}

int srv_start(struct srv *h)
{
	int rc = srv_prepare(h);
	return rc ? rc : srv_spawn(h);
}

static int try_connect(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons(port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		close(fd);
		return -1;
	}
	return fd;
}

int srv_spawn(struct srv *h)
{
	if (!h->port)
		h->port = free_port();
	char listen[64], shards[16], log[320];
	h->exit_status = -1;
	snprintf(listen, sizeof listen, "127.0.0.1:%u", h->port);
	snprintf(shards, sizeof shards, "%u", h->shards);
	snprintf(log, sizeof log, "%s/onsaled.log", h->dir);
	h->pid = fork();
	if (h->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive a failed test */
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		/* no metrics port unless a test asks (tests run side by side) */
		const char *argv[11 + sizeof h->args / sizeof h->args[0]] = {
			/* NULL-ended */
			h->bin, "-l",   listen,     "-s",        shards,
			"-d",   h->dir, "--no-pin", "--metrics", "off"};
		for (size_t i = 0; i < sizeof h->args / sizeof h->args[0] && h->args[i]; i++)
			argv[10 + i] = h->args[i];
		exec_wrapped(argv);
		_exit(127);
	}
	/* up to 10 s; under a wrapper (valgrind) up to 120 s */
	for (int i = 0; i < (getenv(WRAP_ENV) ? 12000 : 1000); i++) {
		int fd = try_connect(h->port);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		int st;
		if (waitpid(h->pid, &st, WNOHANG) == h->pid) {
			h->pid = -1;
			h->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return -ECHILD;
		}
		struct timespec t = {0, 10 * 1000000};
		nanosleep(&t, NULL);
	}
	return -ETIMEDOUT;
}

/* The kernel tears a dead process's io_uring down asynchronously; wait
 * until nothing listens on the port any more (at most 2 s). */
static void wait_port_free(struct srv *h)
{
	for (int i = 0; i < 200; i++) {
		int fd = try_connect(h->port);
		if (fd < 0)
			return;
		close(fd);
		struct timespec t = {0, 10 * 1000000};
		nanosleep(&t, NULL);
	}
}

int srv_stop(struct srv *h)
{
	int st = 0;
	if (h->pid <= 0)
		return 0;
	kill(h->pid, SIGTERM);
	waitpid(h->pid, &st, 0);
	h->pid = -1;
	wait_port_free(h);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void srv_kill(struct srv *h)
{
	if (h->pid <= 0)
		return;
	kill(h->pid, SIGKILL);
	waitpid(h->pid, NULL, 0);
	h->pid = -1;
	wait_port_free(h);
}

void srv_cleanup(struct srv *h)
{
	srv_stop(h);
	if (h->dir[0] && !getenv("KEEP_SRV_DIR")) {
		char *argv[] = {"/bin/rm", "-rf", h->dir, NULL};
		run_wait(argv);
	}
}

struct onsale *srv_open(struct srv *h, int role)
{
	struct onsale *c = NULL;
	int rc = role ? onsale_open("127.0.0.1", h->port, (enum onsale_role)role, h->keys[role],
				    NULL, &c)
		      : onsale_connect("127.0.0.1", h->port, NULL, &c);
	if (rc)
		fprintf(stderr, "srv_open(role %d, port %u): %d %s\n", role, h->port, rc,
			onsale_strerror(rc));
	return rc ? NULL : c;
}

int srv_raw(struct srv *h)
{
	return try_connect(h->port);
}

long srv_log_size(const struct srv *h)
{
	char path[320];
	struct stat st;
	snprintf(path, sizeof path, "%s/onsaled.log", h->dir);
	return stat(path, &st) ? 0 : (long)st.st_size;
}

void srv_log_since(const struct srv *h, long offset, char *buf, size_t bytes)
{
	char path[320];
	snprintf(path, sizeof path, "%s/onsaled.log", h->dir);
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t n = fseek(f, offset, SEEK_SET) ? 0 : fread(buf, 1, bytes - 1, f);
	buf[n] = 0;
	fclose(f);
}
