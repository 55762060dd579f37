/*
 * bench-hello.c — how long a HELLO takes with the right key, a key wrong in
 * its first byte and one wrong in its last byte, against a running onsaled
 * over loopback: the check the server makes must not tell them apart
 * (role_keys_check, net/server/role_keys.c; docs/PERFORMANCE.md).
 *
 * Each round opens one connection per kind, in a random order (so drift in
 * the machine's load, and the work a HELLO leaves the server for the next
 * one — a refused connection is closed by the server, a good one by us —
 * fall on every kind alike); it times onsale_auth alone:
 * the HELLO's round trip, not the connect. Prints per kind the count and the
 * p10, p50, p90, p99 and mean in microseconds.
 *
 * The key is the role's line in the server's config file; --kind restricts
 * the run to one kind (for callgrind, one server run per kind).
 */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/client/onsale.h"

#define ROUNDS_MAX 1000000u
#define KINDS 3

static const char *const kind_names[KINDS] = {"right", "wrong_first", "wrong_last"};

struct opts {
	char host[64];
	uint16_t port;
	const char *config;
	unsigned rounds;
	int kind; /* -1: all */
};

static void usage(FILE *f)
{
	fprintf(f, "usage: bench-hello --config FILE [options]\n"
		   "  -c, --config FILE  onsaled's config file: the platform_key line is used\n"
		   "  -H, --host HOST    server address (default 127.0.0.1)\n"
		   "  -p, --port PORT    server port (default 7400)\n"
		   "  -n, --rounds N     HELLOs per kind, 1..1000000 (default 2000)\n"
		   "  -k, --kind K       only one kind: right, wrong_first or wrong_last\n"
		   "                     (default: all three, interleaved)\n"
		   "  -h, --help         this text\n"
		   "Prints, per kind, the HELLO round trip in microseconds (p10 p50 p90 p99\n"
		   "mean). The connect is not timed; a refused HELLO is closed by the server.\n");
}

static int parse(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{"config", required_argument, NULL, 'c'},
		{"host", required_argument, NULL, 'H'},
		{"port", required_argument, NULL, 'p'},
		{"rounds", required_argument, NULL, 'n'},
		{"kind", required_argument, NULL, 'k'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int c;
	char *end;
	unsigned long v;

	while ((c = getopt_long(argc, argv, "c:H:p:n:k:h", lo, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'H': snprintf(o->host, sizeof o->host, "%s", optarg); break;
		case 'p':
		case 'n':
			v = strtoul(optarg, &end, 10);
			if (*end || !v || (c == 'p' ? v > 65535 : v > ROUNDS_MAX))
				return fprintf(stderr, "bench-hello: bad -%c %s\n", c, optarg), 2;
			if (c == 'p')
				o->port = (uint16_t)v;
			else
				o->rounds = (unsigned)v;
			break;
		case 'k':
			o->kind = -2;
			for (int k = 0; k < KINDS; k++)
				if (!strcmp(optarg, kind_names[k]))
					o->kind = k;
			if (o->kind == -2)
				return fprintf(stderr, "bench-hello: bad --kind %s\n", optarg), 2;
			break;
		case 'h': usage(stdout); return -1;
		default: usage(stderr); return 2;
		}
	}
	if (!o->config)
		return fprintf(stderr, "bench-hello: --config FILE is required\n"), 2;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One HELLO of kind: its round trip in ns, or 0 when it went wrong. */
static uint64_t one_hello(const struct opts *o, const uint8_t good[ONSALE_KEY_BYTES], int kind)
{
	uint8_t key[ONSALE_KEY_BYTES];
	struct onsale *c = NULL;
	uint64_t t0, t1;
	int rc;

	memcpy(key, good, sizeof key);
	if (kind == 1)
		key[0] ^= 0x01;
	if (kind == 2)
		key[ONSALE_KEY_BYTES - 1] ^= 0x80;
	if (onsale_connect(o->host, o->port, NULL, &c))
		return 0;
	t0 = now_ns();
	rc = onsale_auth(c, ONSALE_ROLE_PLATFORM, key, NULL);
	t1 = now_ns();
	onsale_close(c);
	return rc == (kind ? -EACCES : 0) ? t1 - t0 : 0;
}

/* A random order of the kinds for one round (xorshift64, fixed seed). */
static void shuffle(int order[KINDS], uint64_t *seed)
{
	for (int k = 0; k < KINDS; k++)
		order[k] = k;
	for (int k = KINDS - 1; k > 0; k--) {
		int j, t;

		*seed ^= *seed << 13, *seed ^= *seed >> 7, *seed ^= *seed << 17;
		j = (int)(*seed % (uint64_t)(k + 1));
		t = order[k], order[k] = order[j], order[j] = t;
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *name, uint64_t *ns, unsigned n)
{
	double sum = 0;

	if (!n)
		return;
	qsort(ns, n, sizeof ns[0], cmp_u64);
	for (unsigned i = 0; i < n; i++)
		sum += (double)ns[i];
	printf("%-12s %7u %8.1f %8.1f %8.1f %8.1f %8.1f\n", name, n, ns[n / 10] / 1e3,
	       ns[n / 2] / 1e3, ns[n * 9 / 10] / 1e3, ns[n * 99 / 100] / 1e3, sum / n / 1e3);
}

int main(int argc, char **argv)
{
	struct opts o = {.host = "127.0.0.1", .port = 7400, .rounds = 2000, .kind = -1};
	uint8_t key[ONSALE_KEY_BYTES];
	uint64_t *ns[KINDS];
	unsigned got[KINDS] = {0}, failed = 0;
	uint64_t seed = 0x9e3779b97f4a7c15ull;
	int rc = parse(&o, argc, argv);

	if (rc)
		return rc < 0 ? 0 : rc;
	rc = onsale_key_from_config(o.config, ONSALE_ROLE_PLATFORM, key);
	if (rc)
		return fprintf(stderr, "bench-hello: %s: %s\n", o.config, strerror(-rc)), 2;
	for (int k = 0; k < KINDS; k++)
		if (!(ns[k] = calloc(o.rounds, sizeof(uint64_t))))
			return fprintf(stderr, "bench-hello: out of memory\n"), 1;
	for (unsigned r = 0; r < o.rounds; r++) {
		int order[KINDS];

		shuffle(order, &seed);
		for (int j = 0; j < KINDS; j++) {
			int k = order[j];
			uint64_t t = o.kind < 0 || o.kind == k ? one_hello(&o, key, k) : 0;

			if (t)
				ns[k][got[k]++] = t;
			else if (o.kind < 0 || o.kind == k)
				failed++;
		}
	}
	printf("%-12s %7s %8s %8s %8s %8s %8s\n", "kind", "hellos", "p10_us", "p50_us", "p90_us",
	       "p99_us", "mean_us");
	for (int k = 0; k < KINDS; k++)
		report(kind_names[k], ns[k], got[k]);
	if (failed)
		fprintf(stderr,
			"bench-hello: %u HELLOs failed (connect, or an unexpected answer)\n",
			failed);
	for (int k = 0; k < KINDS; k++)
		free(ns[k]);
	return failed ? 1 : 0;
}
