/*
 * qr.h — a ticket token as a QR code (libqrencode, byte mode, error
 * correction M: a 128-character token is version 8, 49 x 49 modules),
 * written as SVG or PNG with the four-module quiet zone scanners need.
 * The PNG writer is zlib alone (8-bit grey, one IDAT), so nothing but
 * libqrencode and zlib is linked for it.
 */
#ifndef ONSALE_CTL_QR_H
#define ONSALE_CTL_QR_H

#include <stdio.h>

#define QR_QUIET_MODULES 4
#define QR_SCALE_MAX 64

struct qr {
	int width;                 /* modules per side, without the quiet zone */
	const unsigned char *data; /* width * width; bit 0 set: dark */
	void *code;                /* the QRcode to free */
};

/* 0, or -errno (-EINVAL: too long for a QR code, -ENOMEM). */
int qr_encode(struct qr *q, const char *text);
void qr_free(struct qr *q);
/* A whole SVG document, scale px per module. 0 or -EIO. */
int qr_svg(const struct qr *q, int scale, FILE *out);
/* The dark modules as one SVG path element, one unit per module, the
 * quiet zone included, at x, y (to embed in a page). */
void qr_svg_path(const struct qr *q, double x, double y, double unit, FILE *out);
/* A PNG, scale px per module (1 to QR_SCALE_MAX). 0 or -errno. */
int qr_png(const struct qr *q, int scale, FILE *out);

#endif
