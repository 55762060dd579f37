/*
 * ticket_page.h — a printable ticket for the box office: one SVG page
 * (A6 landscape, 148 x 105 mm) with the event, venue, date, seat, tier,
 * price, ticket and order ids, the QR code of its token and the token's
 * text, so a paper ticket scans like a phone's. Pure: data in, SVG out.
 */
#ifndef ONSALE_CTL_TICKET_PAGE_H
#define ONSALE_CTL_TICKET_PAGE_H

#include <stdint.h>
#include <stdio.h>
#include "core/cmd-t.h"
#include "tools/ctl/qr.h"

struct ticket_page {
	const char *event_name;
	const char *venue_name; /* "" when not known */
	uint64_t starts_at_ms;  /* 0: not known */
	const char *tier_name;  /* "" when not known */
	const char *seat_name;  /* "Section 105 row A seat 12", or "" */
	const struct ticket_view *ticket;
	const char *token;   /* its text */
	const struct qr *qr; /* of the token */
};

/* 0, or -EIO when the stream failed. */
int ticket_page_svg(const struct ticket_page *p, FILE *out);

#endif
