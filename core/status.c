/*
 * status.c — names of the status codes, for logs, tools and tests.
 */
#include "core/status.h"

#include <stddef.h>

static const char *const names[] = {
	[ST_OK] = "ok",
	[ST_BAD_COMMAND] = "bad_command",
	[ST_BAD_ARGUMENT] = "bad_argument",
	[ST_RECORD_INVALID] = "record_invalid",
	[ST_EVENT_UNKNOWN] = "event_unknown",
	[ST_EVENT_EXISTS] = "event_exists",
	[ST_EVENT_TABLE_FULL] = "event_table_full",
	[ST_EVENT_NOT_ON_SALE] = "event_not_on_sale",
	[ST_SALES_NOT_STARTED] = "sales_not_started",
	[ST_SALES_ENDED] = "sales_ended",
	[ST_EVENT_FULL] = "event_full",
	[ST_TIER_UNKNOWN] = "tier_unknown",
	[ST_TIER_EXISTS] = "tier_exists",
	[ST_TIER_KIND_MISMATCH] = "tier_kind_mismatch",
	[ST_SECTION_EXISTS] = "section_exists",
	[ST_SEATMAP_FULL] = "seatmap_full",
	[ST_SEAT_UNKNOWN] = "seat_unknown",
	[ST_PRESALE_CODE_REQUIRED] = "presale_code_required",
	[ST_PRESALE_CODE_INVALID] = "presale_code_invalid",
	[ST_PRESALE_CODE_EXHAUSTED] = "presale_code_exhausted",
	[ST_PRESALE_CODE_TABLE_FULL] = "presale_code_table_full",
	[ST_PRESALE_CODE_EXISTS] = "presale_code_exists",
	[ST_SOLD_OUT] = "sold_out",
	[ST_SEAT_UNAVAILABLE] = "seat_unavailable",
	[ST_NO_ADJACENT_SEATS] = "no_adjacent_seats",
	[ST_CUSTOMER_LIMIT] = "customer_limit",
	[ST_HOLD_UNKNOWN] = "hold_unknown",
	[ST_HOLD_EXPIRED] = "hold_expired",
	[ST_HOLD_RELEASED] = "hold_released",
	[ST_HOLD_CONFIRMED] = "hold_confirmed",
	[ST_HOLD_NOT_DUE] = "hold_not_due",
	[ST_HOLD_TABLE_FULL] = "hold_table_full",
	[ST_AMOUNT_MISMATCH] = "amount_mismatch",
	[ST_TICKET_TABLE_FULL] = "ticket_table_full",
	[ST_TICKET_UNKNOWN] = "ticket_unknown",
	[ST_TICKET_ALREADY_REDEEMED] = "ticket_already_redeemed",
	[ST_TICKET_REFUNDED] = "ticket_refunded",
	[ST_TICKET_EXCHANGED] = "ticket_exchanged",
	[ST_TICKET_REDEEMED] = "ticket_redeemed",
	[ST_EVENT_RETIRED] = "event_retired",
	[ST_EVENT_NOT_CLOSED] = "event_not_closed",
	[ST_EVENT_HOLDS_LIVE] = "event_holds_live",
	[ST_EVENT_TRANSFER_PENDING] = "event_transfer_pending",
	[ST_RETIRED_TABLE_FULL] = "retired_table_full",
	[ST_UNAUTHENTICATED] = "unauthenticated",
	[ST_TOKEN_INVALID] = "token_invalid",
	[ST_TOKEN_KEY_UNKNOWN] = "token_key_unknown",
	[ST_TOKEN_OTHER_EVENT] = "token_other_event",
	[ST_TOKEN_NOT_YET_VALID] = "token_not_yet_valid",
	[ST_TOKEN_EXPIRED] = "token_expired",
	[ST_TOKEN_REVOKED] = "token_revoked",
	[ST_FORBIDDEN] = "forbidden",
	[ST_BAD_FRAME] = "bad_frame",
	[ST_OVERLOADED] = "overloaded",
	[ST_INTERNAL] = "internal",
	[ST_UNAVAILABLE] = "unavailable",
	[ST_OUTCOME_UNKNOWN] = "outcome_unknown",
	[ST_DISK_FULL] = "disk_full",
	[ST_TIMEOUT] = "timeout",
	[ST_TOO_MANY_CONNECTIONS] = "too_many_connections",
};

const char *status_name(enum status st)
{
	if ((unsigned)st < sizeof names / sizeof names[0] && names[st])
		return names[st];
	return "unknown";
}
