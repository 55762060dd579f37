/*
 * qr.c — QR codes of tokens as SVG and PNG. The SVG is one path of unit
 * squares (one per dark module) so it scales without blur; the PNG is
 * 8-bit grey, rows filtered "none", compressed by zlib in one IDAT chunk,
 * with CRCs from zlib's crc32: the smallest writer that every viewer and
 * zbarimg read.
 */
#include "tools/ctl/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

int qr_encode(struct qr *q, const char *text)
{
	QRcode *code = QRcode_encodeData((int)strlen(text), (const unsigned char *)text, 0,
					 QR_ECLEVEL_M);

	if (!code)
		return errno == ERANGE || errno == EINVAL ? -EINVAL : -ENOMEM;
	q->width = code->width;
	q->data = code->data;
	q->code = code;
	return 0;
}

void qr_free(struct qr *q)
{
	QRcode_free(q->code);
	q->code = NULL;
}

void qr_svg_path(const struct qr *q, double x, double y, double unit, FILE *out)
{
	fprintf(out, "<path fill=\"#000\" transform=\"translate(%.2f %.2f) scale(%.4f)\" d=\"", x,
		y, unit);
	for (int r = 0; r < q->width; r++)
		for (int c = 0; c < q->width; c++)
			if (q->data[r * q->width + c] & 1)
				fprintf(out, "M%d %dh1v1h-1z", c + QR_QUIET_MODULES,
					r + QR_QUIET_MODULES);
	fputs("\"/>\n", out);
}

int qr_svg(const struct qr *q, int scale, FILE *out)
{
	int side = q->width + 2 * QR_QUIET_MODULES;

	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\">\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
		side * scale, side * scale, side, side, side, side);
	qr_svg_path(q, 0, 0, 1, out);
	fputs("</svg>\n", out);
	return ferror(out) ? -EIO : 0;
}

static void put_be32(uint8_t *p, uint32_t x)
{
	p[0] = (uint8_t)(x >> 24), p[1] = (uint8_t)(x >> 16), p[2] = (uint8_t)(x >> 8);
	p[3] = (uint8_t)x;
}

static void chunk(FILE *out, const char *type, const uint8_t *data, uint32_t len)
{
	uint8_t head[8];
	uLong crc = crc32(0, (const Bytef *)type, 4);

	put_be32(head, len);
	memcpy(head + 4, type, 4);
	fwrite(head, 1, 8, out);
	if (len) { /* crc32() of a NULL buffer returns the initial value */
		fwrite(data, 1, len, out);
		crc = crc32(crc, data, len);
	}
	put_be32(head, (uint32_t)crc);
	fwrite(head, 1, 4, out);
}

/* The image's rows, each a filter byte 0 then side * scale grey pixels. */
static void raster(const struct qr *q, int scale, uint8_t *img)
{
	int side = q->width + 2 * QR_QUIET_MODULES, px = side * scale;

	for (int y = 0; y < px; y++) {
		uint8_t *row = img + (size_t)y * (size_t)(px + 1);
		int r = y / scale - QR_QUIET_MODULES;

		row[0] = 0;
		for (int x = 0; x < px; x++) {
			int c = x / scale - QR_QUIET_MODULES;
			int dark = r >= 0 && r < q->width && c >= 0 && c < q->width &&
				   (q->data[r * q->width + c] & 1);
			row[1 + x] = dark ? 0 : 255;
		}
	}
}

int qr_png(const struct qr *q, int scale, FILE *out)
{
	static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	int px = (q->width + 2 * QR_QUIET_MODULES) * scale;
	size_t raw_len = (size_t)px * (size_t)(px + 1);
	uLongf z_len = compressBound(raw_len);
	uint8_t ihdr[13] = {0}, *raw = malloc(raw_len), *z = malloc(z_len);
	int rc = 0;

	if (scale < 1 || scale > QR_SCALE_MAX)
		rc = -EINVAL;
	else if (!raw || !z)
		rc = -ENOMEM;
	if (!rc) {
		raster(q, scale, raw);
		if (compress2(z, &z_len, raw, raw_len, Z_BEST_COMPRESSION) != Z_OK)
			rc = -ENOMEM;
	}
	if (!rc) {
		put_be32(ihdr, (uint32_t)px);
		put_be32(ihdr + 4, (uint32_t)px);
		ihdr[8] = 8; /* bit depth; colour type 0 (grey), no interlace */
		fwrite(sig, 1, sizeof sig, out);
		chunk(out, "IHDR", ihdr, sizeof ihdr);
		chunk(out, "IDAT", z, (uint32_t)z_len);
		chunk(out, "IEND", NULL, 0);
		rc = ferror(out) ? -EIO : 0;
	}
	free(raw);
	free(z);
	return rc;
}
