/*
 * vfile_tok.c — what every part of the venue parser uses: the one message
 * format (FILE:LINE:COL), numbers from tokens with their ranges, and
 * finding a section by its server index.
 */
#include "tools/ctl/vfile_parse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

const struct vfile_section *vfile_section_find(const struct vfile *v, uint16_t section)
{
	for (unsigned i = 0; i < v->section_count; i++)
		if (v->sections[i].section == section)
			return &v->sections[i];
	return NULL;
}

int vp_fail(struct vparse *p, unsigned col, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->err_bytes, "%s:%u:%u: ", p->name, p->line, col);

	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < p->err_bytes)
		vsnprintf(p->err + n, p->err_bytes - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int vp_uint(struct vparse *p, unsigned i, const char *what, uint64_t min, uint64_t max,
	    uint64_t *out)
{
	const struct vtok *t = &p->tok[i];
	char *end;

	if (t->s[0] < '0' || t->s[0] > '9')
		return vp_fail(p, t->col, "%s: '%s' is not a number", what, t->s);
	errno = 0;
	unsigned long long x = strtoull(t->s, &end, 10);
	if (*end || errno)
		return vp_fail(p, t->col, "%s: '%s' is not a number", what, t->s);
	if (x < min || x > max)
		return vp_fail(p, t->col, "%s %llu out of range (%llu to %llu)", what, x,
			       (unsigned long long)min, (unsigned long long)max);
	*out = x;
	return 0;
}

int vp_int(struct vparse *p, unsigned i, const char *what, int64_t min, int64_t max, int64_t *out)
{
	const struct vtok *t = &p->tok[i];
	char *end;

	errno = 0;
	long long x = strtoll(t->s, &end, 10);
	if (!t->s[0] || *end || errno)
		return vp_fail(p, t->col, "%s: '%s' is not a number", what, t->s);
	if (x < min || x > max)
		return vp_fail(p, t->col, "%s %lld out of range (%lld to %lld)", what, x,
			       (long long)min, (long long)max);
	*out = x;
	return 0;
}
