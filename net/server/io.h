/*
 * io.h — a shard's io_uring submissions (io.c) and the user
 * data that tells its completions apart.
 */
#ifndef ONSALE_SHARD_IO_H
#define ONSALE_SHARD_IO_H

#include "net/server/server-t.h"

enum ud_kind { UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_WAKE, UD_WAL, UD_IGNORE };

#define UD(kind, ci) (((uint64_t)(kind) << 32) | (ci))
#define RING_ENTRIES 4096u

void io_arm_recv(struct shard *s, uint32_t ci);
void io_arm_send(struct shard *s, uint32_t ci);
/* These three arm once and stay armed until their completion says not. */
void io_arm_accept(struct shard *s);
void io_arm_wake(struct shard *s);
void io_arm_wal(struct shard *s);
/* The sooner of two waits in ms, 0 meaning none. */
static inline uint32_t io_sooner_ms(uint32_t a_ms, uint32_t b_ms)
{
	return !a_ms ? b_ms : !b_ms ? a_ms : a_ms < b_ms ? a_ms : b_ms;
}

/* Wall-clock ms: the time the shard loop hands its node each turn. */
uint64_t io_now_ms(void);

#endif
