/*
 * vfile.c — the venue file parser: lines of whitespace-separated tokens,
 * the first a keyword (docs/CTL.md "Venue files"). Event and tier lines
 * fill the protocol's structs directly; section and row lines expand into
 * the row and seat arrays SECTION_LOAD sends, with ranks computed from
 * each row's place (front rows and centre seats best). Every check names
 * the token at fault by line and column.
 */
#include "tools/ctl/vfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tools/ctl/vfile_parse.h"

struct vfile *vfile_new(void)
{
	return calloc(1, sizeof(struct vfile));
}

void vfile_free(struct vfile *v)
{
	free(v);
}

/* Splits p->buf into tokens; "quoted strings" are one token without quotes. */
static int tokenize(struct vparse *p)
{
	char *s = p->buf;

	p->ntok = 0;
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			return 0;
		if (p->ntok == VP_TOKENS_MAX)
			return vp_fail(p, (unsigned)(s - p->buf) + 1,
				       "too many words on a line (at most %u)", VP_TOKENS_MAX);
		struct vtok *t = &p->tok[p->ntok++];
		t->col = (unsigned)(s - p->buf) + 1;
		t->quoted = *s == '"';
		if (t->quoted) {
			char *end = strchr(s + 1, '"');
			if (!end)
				return vp_fail(p, t->col, "string without its closing quote");
			t->s = s + 1;
			*end = 0;
			s = end + 1;
			if (*s && *s != ' ' && *s != '\t' && *s != '\r')
				return vp_fail(p, (unsigned)(s - p->buf) + 1,
					       "a space must follow a string");
			continue;
		}
		t->s = s;
		while (*s && *s != ' ' && *s != '\t' && *s != '\r' && *s != '"')
			s++;
		if (*s == '"')
			return vp_fail(p, (unsigned)(s - p->buf) + 1, "a quote inside a word");
		if (*s)
			*s++ = 0;
	}
}

static int parse_line(struct vparse *p)
{
	const struct vp_keyword *k;

	if (tokenize(p))
		return -EINVAL;
	if (p->ntok == 0)
		return 0;
	if (p->tok[0].quoted)
		return vp_fail(p, p->tok[0].col, "a line starts with a keyword, not a string");
	for (k = vp_keywords; k->name; k++)
		if (strcmp(k->name, p->tok[0].s) == 0)
			break;
	if (!k->name)
		return vp_fail(p, p->tok[0].col, "unknown keyword '%s' (see docs/CTL.md)",
			       p->tok[0].s);
	if (k->once) {
		if (p->seen & k->once)
			return vp_fail(p, p->tok[0].col, "'%s' given twice", k->name);
		p->seen |= k->once;
	}
	if (p->ntok - 1 < k->args_min || p->ntok - 1 > k->args_max)
		return vp_fail(p, p->tok[0].col, "'%s' takes %s", k->name, k->usage);
	return k->parse(p);
}

/* What needs the whole file: an event id, a tier, units to place. */
static int finish(struct vparse *p)
{
	struct vfile *v = p->v;
	uint64_t units = v->seat_count;

	p->line++;
	if (!(p->seen & VP_SEEN_EVENT))
		return vp_fail(p, 1, "no 'event ID' line");
	if (!v->tier_mask)
		return vp_fail(p, 1, "no tier defined");
	if (p->section_open && vp_section_close(p))
		return -EINVAL;
	for (unsigned t = 0; t < TIERS_MAX; t++)
		if (v->tier_mask >> t & 1 && v->tiers[t].kind == TIER_GA)
			units += v->tiers[t].capacity;
	if (units > EVENT_UNITS_MAX)
		return vp_fail(p, 1, "%llu units in all, more than a server places (%u)",
			       (unsigned long long)units, EVENT_UNITS_MAX);
	if (!v->event.units_max)
		v->event.units_max = (uint32_t)units;
	else if (v->event.units_max < units)
		return vp_fail(p, 1, "'units %u' is fewer than the %llu units the file places",
			       v->event.units_max, (unsigned long long)units);
	return 0;
}

int vfile_parse(struct vfile *v, const char *name, const char *text, size_t len, uint64_t now_ms,
		char *err, size_t err_bytes)
{
	struct vparse p = {
		.v = v, .name = name, .now_ms = now_ms, .err = err, .err_bytes = err_bytes};
	size_t at = 0;

	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;

		p.line++;
		if (n >= sizeof p.buf)
			return vp_fail(&p, sizeof p.buf, "line longer than %zu bytes",
				       sizeof p.buf - 1);
		if (memchr(text + at, 0, n))
			return vp_fail(&p, 1, "a NUL byte in the line");
		memcpy(p.buf, text + at, n);
		p.buf[n] = 0;
		if (parse_line(&p))
			return -EINVAL;
		at += n + 1;
	}
	return finish(&p);
}

static ssize_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int vfile_load(struct vfile *v, const char *path, uint64_t now_ms, char *err, size_t err_bytes)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;
	ssize_t n;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_bytes, "%s: %s", path, strerror(-rc));
		return rc;
	}
	text = malloc(VFILE_BYTES_MAX);
	if (!text) {
		close(fd);
		snprintf(err, err_bytes, "%s: out of memory", path);
		return -ENOMEM;
	}
	n = read_all(fd, text, VFILE_BYTES_MAX);
	rc = n < 0 ? (int)n : 0;
	close(fd);
	if (rc)
		snprintf(err, err_bytes, "%s: %s", path, strerror(-rc));
	else if ((size_t)n == VFILE_BYTES_MAX)
		rc = -EFBIG,
		snprintf(err, err_bytes, "%s: larger than %u bytes", path, VFILE_BYTES_MAX);
	else
		rc = vfile_parse(v, path, text, (size_t)n, now_ms, err, err_bytes);
	free(text);
	return rc;
}
