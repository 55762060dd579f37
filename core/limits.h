/*
 * limits.h — every compile-time limit of onsale, in one place.
 *
 * Each limit has a default that can be overridden at build time
 * (-DNAME=value) and a line on why it has the value it has. The asserts at
 * the bottom keep the limits consistent with each other and with the
 * on-disk and on-wire formats, which store some of them in narrow fields.
 * Nothing in onsale grows past these numbers: every table is sized from them
 * when an event is created and every queue is bounded by them.
 */
#ifndef ONSALE_LIMITS_H
#define ONSALE_LIMITS_H

#include <assert.h>
#include <stdint.h>

/* Shards (one per core). Shard ids fit the top byte of every generated id. */
#ifndef SHARDS_MAX
#define SHARDS_MAX 64
#endif

/* Events one shard keeps in memory at once. Event state is allocated when the
 * event is created; 256 concurrently on-sale events per core is far past what
 * one platform runs at the same minute. */
#ifndef EVENTS_MAX
#define EVENTS_MAX 256
#endif

/* Retired events one shard remembers (core/retire.c): id, name, final
 * statistics per tier and channel and availability totals, so the id is
 * never created again and queries still answer. A summary is 160 bytes
 * and 216 per tier up to its highest defined one: a typical 5-tier event
 * is ~1.2 KiB, the worst (32 tiers) ~6.9 KiB, so the table is at most
 * ~28 MiB per shard and ~5 MiB in practice; 4096 is ten on-sales a day
 * for a year. Full: EVENT_RETIRE is refused (retired_table_full). */
#ifndef RETIRED_MAX
#define RETIRED_MAX 4096u
#endif

/* Tiers (price levels) per event: a tier index fits a byte, and per-event
 * bitmasks of tiers (low-stock alerts) fit a uint32_t. */
#ifndef TIERS_MAX
#define TIERS_MAX 32
#endif

/* Sellable units (GA units + seats) per event on one shard. Sizes the hold,
 * ticket and customer tables. A 1,000,000-unit GA tier must fit with room. */
#ifndef EVENT_UNITS_MAX
#define EVENT_UNITS_MAX (4u << 20)
#endif

/* Seats per event: a 100,000-seat stadium with room for standing decks. */
#ifndef SEATS_MAX
#define SEATS_MAX (1u << 18)
#endif

/* Seat map shape. A row is at most 256 seats so its state is four 64-bit
 * words; a section is loaded with one command whose record must fit
 * RECORD_BYTES_MAX. */
#ifndef ROW_SEATS_MAX
#define ROW_SEATS_MAX 256
#endif
#ifndef SECTION_ROWS_MAX
#define SECTION_ROWS_MAX 128
#endif
#ifndef SECTION_SEATS_MAX
#define SECTION_SEATS_MAX 8192
#endif
#ifndef SECTIONS_MAX
#define SECTIONS_MAX 1024
#endif
#ifndef ROWS_MAX
#define ROWS_MAX 16384
#endif

/* Units (GA units or seats) one hold may take. A box-office group sale is
 * the largest case; per-customer limits are usually far lower. */
#ifndef HOLD_UNITS_MAX
#define HOLD_UNITS_MAX 16
#endif

/* Per-customer ticket limit an event may set (0 means no limit). */
#ifndef CUSTOMER_LIMIT_MAX
#define CUSTOMER_LIMIT_MAX 1000
#endif

/* Hold time-to-live bounds, and the default when an event gives none. */
#ifndef HOLD_TTL_MS_MIN
#define HOLD_TTL_MS_MIN 1000u
#endif
#ifndef HOLD_TTL_MS_MAX
#define HOLD_TTL_MS_MAX (60u * 60u * 1000u)
#endif
#ifndef HOLD_TTL_MS_DEFAULT
#define HOLD_TTL_MS_DEFAULT (10u * 60u * 1000u)
#endif

/* Ended holds (released, expired, and orders none of whose tickets is valid
 * or redeemed any more) are kept so retries and idempotency keys still find
 * them. The hold table has units_max x TICKETS_PER_UNIT_MAX + this many
 * slots. Live holds and orders with a valid or redeemed ticket each have a
 * unit held or sold, so together they never take more than units_max slots
 * (units placed on a shard never exceed units_max) and a new hold always
 * finds a slot: a never-used one, else the oldest ended hold, forgotten. */
#ifndef HOLDS_RETAINED_MIN
#define HOLDS_RETAINED_MIN 4096u
#endif

/* Ticket slots per event, as a multiple of its units. Valid and redeemed
 * tickets are sold units and every live hold reserves a slot per unit, so
 * together they take at most units_max slots; the rest keep refunded and
 * exchanged-away tickets answerable until their slots are reused (oldest
 * first, only once no slot is left that was never used). */
#ifndef TICKETS_PER_UNIT_MAX
#define TICKETS_PER_UNIT_MAX 2u
#endif

/* Hold and ticket tables are allocated in chunks of this many bytes, each
 * when the table first grows into it, so an event's memory on a shard
 * follows the holds and tickets that shard has had, not units_max. One huge
 * page: a chunk is one allocation and, with transparent huge pages, one
 * page fault (4 KiB-page chunks took 40 times bench-core's page faults),
 * 11,915 holds or 43,690 tickets; a table's last chunk is cut to its size. */
#ifndef TABLE_CHUNK_BYTES
#define TABLE_CHUNK_BYTES (2u << 20)
#endif

/* Hash maps (core/htab.c: idempotency keys, customer counts, event ids)
 * grow a segment at a time: a segment is an open-addressing table of this
 * many 16-byte slots (64 KiB; a map bounded below half of it is one smaller
 * segment), split in two once it is 3/4 full. A split moves one segment's
 * entries (a few microseconds), never the whole map, so a map's memory
 * follows the keys it holds, not its bound. */
#ifndef HTAB_SEG_SLOTS
#define HTAB_SEG_SLOTS 4096u
#endif

/* Leading hash bits that pick a key's segment: a map's directory has at
 * most 2^this entries (4 MiB of them; evenly hashed keys need about
 * log2(entries / 2,300) + 3 bits, 15 for the largest event's map). A
 * segment whose keys share every one of these bits cannot split: the map
 * then refuses a key there, as it does past its entry bound. */
#ifndef HTAB_DEPTH_MAX
#define HTAB_DEPTH_MAX 20u
#endif

/* Fixed-size text fields, NUL-padded, not necessarily NUL-terminated. */
#define NAME_BYTES 48
#define LABEL_BYTES 8
#define PAYMENT_REF_BYTES 32
#define PRESALE_CODE_BYTES_MAX 32
#define PRESALE_CODE_HASH_BYTES 32

/* Presale access codes per event. */
#ifndef PRESALE_CODES_MAX
#define PRESALE_CODES_MAX 64
#endif

/* Largest WAL record body: one seat-map section. */
#define RECORD_BYTES_MAX 65536u

/* Timer wheel: slots of WHEEL_TICK_MS; a hold further out than one turn
 * waits in its slot for later turns. 4096 x 64 ms = 262 s per turn. */
#ifndef WHEEL_SLOTS
#define WHEEL_SLOTS 4096u
#endif
#ifndef WHEEL_TICK_MS
#define WHEEL_TICK_MS 64u
#endif

/* Best available: when every placement in the best row would leave a single
 * orphan seat, look this many further rows for one that would not. */
#ifndef BA_ORPHAN_LOOKAHEAD_SEGMENTS
#define BA_ORPHAN_LOOKAHEAD_SEGMENTS 8u
#endif

/* Rows per summary group in the best-available index (one 64-bit mask). */
#define BA_GROUP_SEGMENTS 64u

/* Generated ids carry who made them, so (shard, event) never collide:
 *   hold   = shard (8) | event slot (8) | slot use count (16, from 1) | pool slot (32)
 *   ticket = shard (8) | event slot (8) | order's use count (16) | order's slot (24) | unit (8)
 * The event slot is the event's index on its shard (EVENTS_MAX <= 256). A
 * ticket id is its order's hold id with the unit number (0.. at confirm, then
 * one more per exchange) below the slot, so an order's tickets are
 * first_ticket_id + 0 .. qty - 1 wherever they are stored, and an old ticket
 * id stops matching once its order's hold slot is reused (until the 16-bit
 * use count wraps, as for holds). */
#define ID_SHARD_SHIFT 56
#define ID_EVENT_SHIFT 48
#define ID_REUSE_SHIFT 32
#define ID_REUSE_MASK 0xffffu
#define ID_TICKET_SLOT_SHIFT 8
#define ID_TICKET_SLOT_MASK 0xffffffu
#define ID_TICKET_UNIT_MASK 0xffu

/* Tickets one order issues over its life: one per unit at confirm and one
 * per exchange of any of them. The unit number is the low byte of the id;
 * an exchange past this is refused (ticket_table_full). */
#define ORDER_TICKETS_MAX 255u

/* Longest a hold may live, extensions included. */
#ifndef HOLD_LIFETIME_MS_MAX
#define HOLD_LIFETIME_MS_MAX (2u * 60u * 60u * 1000u)
#endif

static_assert(SHARDS_MAX <= 256, "shard id is stored in 8 bits");
static_assert(EVENTS_MAX <= 256, "event slot is stored in 8 bits of ids");
static_assert(RETIRED_MAX >= EVENTS_MAX && RETIRED_MAX <= (1u << 16),
	      "a full event table can retire; the retired table and its index stay small");
static_assert(HOLD_TTL_MS_MAX <= HOLD_LIFETIME_MS_MAX, "one TTL fits a hold's lifetime");
static_assert(TIERS_MAX <= 32, "tier bitmasks are uint32_t");
static_assert(ROW_SEATS_MAX % 64 == 0 && ROW_SEATS_MAX <= 256,
	      "row state is whole 64-bit words; run lengths fit a uint8_t plus one");
static_assert(SECTION_SEATS_MAX <= SEATS_MAX, "a section fits the venue");
static_assert(SECTION_ROWS_MAX * ROW_SEATS_MAX >= SECTION_SEATS_MAX,
	      "a section's rows can hold its seats");
static_assert(SEATS_MAX <= EVENT_UNITS_MAX, "seats are units");
static_assert((uint64_t)EVENT_UNITS_MAX * TICKETS_PER_UNIT_MAX < (1ull << 32),
	      "ticket table indexes are uint32_t");
static_assert(TICKETS_PER_UNIT_MAX >= 1, "live tickets and reserved slots fit the ticket table");
static_assert((uint64_t)EVENT_UNITS_MAX * TICKETS_PER_UNIT_MAX + HOLDS_RETAINED_MIN <=
		      ID_TICKET_SLOT_MASK + 1ull,
	      "an order's hold slot fits the 24 bits a ticket id has for it");
static_assert(HOLD_UNITS_MAX <= ORDER_TICKETS_MAX && ORDER_TICKETS_MAX <= ID_TICKET_UNIT_MASK,
	      "a confirm's tickets fit an order; unit numbers fit the ticket id's low byte");
static_assert(HOLD_UNITS_MAX <= 255, "hold unit count is a uint8_t");
static_assert(TABLE_CHUNK_BYTES >= (64u << 10), "a chunk is worth an allocation");
static_assert(HTAB_SEG_SLOTS >= 16 && (HTAB_SEG_SLOTS & (HTAB_SEG_SLOTS - 1)) == 0,
	      "hash map segments are a power of two slots");
static_assert(
	HTAB_DEPTH_MAX + 32 <= 64 && HTAB_DEPTH_MAX <= 30,
	"segment bits and slot bits of a key's hash do not overlap; the directory is indexed by uint32_t");
static_assert((WHEEL_SLOTS & (WHEEL_SLOTS - 1)) == 0, "wheel slots are a power of two");
static_assert(HOLD_TTL_MS_MIN <= HOLD_TTL_MS_DEFAULT && HOLD_TTL_MS_DEFAULT <= HOLD_TTL_MS_MAX,
	      "default hold TTL within bounds");
static_assert(SECTION_SEATS_MAX * 4 + SECTION_ROWS_MAX * 16 + 256 <= RECORD_BYTES_MAX,
	      "a section record fits the record limit");
static_assert(BA_GROUP_SEGMENTS == 64, "one summary bit per row in a uint64_t");

/* ---- Write-ahead log and storage (net/wal/) -----------------------------
 * The WAL writes whole pages: every batch write starts and ends on a
 * WAL_PAGE_BYTES boundary (the partial last page is rewritten by the next
 * batch), so the same code works with O_DIRECT and with buffered files. */
#ifndef WAL_PAGE_BYTES
#define WAL_PAGE_BYTES 4096u
#endif

/* One batch (one write + one fdatasync) carries at most this many bytes of
 * frames. This disk does an O_DIRECT 1 MiB write + fdatasync in about 1 ms,
 * so 1 MiB bounds the time a full batch is in flight to about a millisecond
 * while still carrying ~7,000 64-byte records per fdatasync. */
#ifndef WAL_BATCH_BYTES_MAX
#define WAL_BATCH_BYTES_MAX (1u << 20)
#endif

/* Batches whose write or fdatasync is in flight at once. One: the next batch
 * fills in memory while the previous one syncs, and only the batch in flight
 * can be torn by a crash, which is what lets recovery tell a torn tail from
 * damage before it (docs/WAL.md). */
#ifndef WAL_BATCHES_INFLIGHT_MAX
#define WAL_BATCHES_INFLIGHT_MAX 1u
#endif

/* Batch buffers per WAL: the ones in flight plus one filling. Appends past
 * them get -EAGAIN (back-pressure), never an allocation. */
#define WAL_BATCH_BUFFERS (WAL_BATCHES_INFLIGHT_MAX + 1u)

/* Segment files: preallocated, rolled over when the next frame does not fit.
 * 64 MiB is a quarter of a second of writes at the 2M records/s target and
 * keeps a segment's recovery scan short. Tests use small segments. */
#ifndef WAL_SEGMENT_BYTES_DEFAULT
#define WAL_SEGMENT_BYTES_DEFAULT (64ull << 20)
#endif
#ifndef WAL_SEGMENT_BYTES_MAX
#define WAL_SEGMENT_BYTES_MAX (1ull << 32)
#endif

/* Snapshots while serving (net/store/snapshot_fork.c). The forked writer waits at
 * most this long for the shard to report its WAL durable up to the
 * snapshot's LSN (the shard reports every loop turn; a sync takes a few ms
 * under load), so a stuck or dead parent never leaves it behind; and its
 * retention pass looks at most this many segments (64 MiB each: 256 GiB of
 * log, far more than two snapshot intervals keep). */
#ifndef SNAPSHOT_DURABLE_WAIT_MS_MAX
#define SNAPSHOT_DURABLE_WAIT_MS_MAX 30000u
#endif
#ifndef SNAPSHOT_SEGMENTS_SCAN_MAX
#define SNAPSHOT_SEGMENTS_SCAN_MAX 4096u
#endif
static_assert(SNAPSHOT_DURABLE_WAIT_MS_MAX >= 1000, "the writer outwaits a slow fdatasync");
static_assert(SNAPSHOT_SEGMENTS_SCAN_MAX >= 16, "retention can reach past two intervals of log");

/* The recovery reader reads segments in chunks of this size; a frame never
 * spans more than two chunks. */
#ifndef WAL_READ_CHUNK_BYTES
#define WAL_READ_CHUNK_BYTES (1u << 20)
#endif

/* Files one storage instance keeps open at once (segments, snapshots). */
#ifndef STORAGE_FILES_MAX
#define STORAGE_FILES_MAX 16u
#endif

/* Asynchronous storage operations (writes, fsyncs) in flight per instance;
 * sizes the io_uring submission queue. */
#ifndef STORAGE_OPS_INFLIGHT_MAX
#define STORAGE_OPS_INFLIGHT_MAX 64u
#endif

/* A new WAL segment is zero-filled (really written) before use, one
 * write of this many zero bytes at a time, so that appends overwrite
 * initialized extents (docs/WAL.md "Files"). Smaller chunks delay a commit
 * that meets one less (bench-wal O_DIRECT commit p99 3.1-3.4 ms with 256
 * KiB against 4.1-5.0 ms with 1 MiB, docs/PERFORMANCE.md). */
#ifndef WAL_ZERO_CHUNK_BYTES
#define WAL_ZERO_CHUNK_BYTES (256u << 10)
#endif

/* Segment files one WAL directory may hold for a shard (segments before the
 * last snapshot are removed, so this is far above normal). */
#ifndef WAL_SEGMENTS_MAX
#define WAL_SEGMENTS_MAX 4096u
#endif

/* While the next WAL segment cannot be created for lack of disk space, a
 * shard tries again this often (on the loop's clock; changes are refused
 * with disk_full meanwhile). A create is a fallocate and two fsyncs, cheap
 * at two a second; resuming within half a second of space coming back is
 * well inside what a client retrying a refused request waits anyway. */
#ifndef WAL_SPACE_RETRY_MS
#define WAL_SPACE_RETRY_MS 500u
#endif

static_assert(WAL_SPACE_RETRY_MS >= 100 && WAL_SPACE_RETRY_MS <= 1000,
	      "space retries neither hammer the disk nor keep a shard paused long");
static_assert(WAL_ZERO_CHUNK_BYTES % WAL_PAGE_BYTES == 0, "zero chunks are whole pages");
static_assert((WAL_PAGE_BYTES & (WAL_PAGE_BYTES - 1)) == 0, "WAL page is a power of two");
static_assert(WAL_BATCH_BYTES_MAX % WAL_PAGE_BYTES == 0, "batches are whole pages");
static_assert(WAL_BATCH_BYTES_MAX >= 2 * (RECORD_BYTES_MAX + WAL_PAGE_BYTES),
	      "a batch holds the largest frame with room to spare");
static_assert(WAL_BATCHES_INFLIGHT_MAX == 1,
	      "recovery's torn-tail rule assumes one batch in flight (docs/WAL.md)");
static_assert(WAL_SEGMENT_BYTES_DEFAULT >= 2ull * WAL_BATCH_BYTES_MAX + WAL_PAGE_BYTES &&
		      WAL_SEGMENT_BYTES_DEFAULT <= WAL_SEGMENT_BYTES_MAX,
	      "a default segment holds a few full batches");
static_assert(WAL_READ_CHUNK_BYTES >= 2 * (RECORD_BYTES_MAX + WAL_PAGE_BYTES),
	      "a read chunk holds the largest frame");
static_assert(STORAGE_OPS_INFLIGHT_MAX >= 4 * WAL_BATCH_BUFFERS,
	      "room for a WAL's writes and syncs");

/* ---- E-ticket tokens (core/token.h, docs/TICKETS.md) ---------------------
 * Signing keys a server keeps unretired at once, and so the public keys a
 * scanner holds: rotation adds one, retiring removes one; a handful covers
 * a key per season with the last one still verifying. */
#ifndef TOKEN_KEYS_MAX
#define TOKEN_KEYS_MAX 16u
#endif

/* A token's validity window around its event's start: it admits from this
 * long before the show (two days: early entry, will-call queues, a scanner
 * or a server clock a little off) and stops this long after it starts (two
 * days: a show that runs past midnight, a two-day festival on one ticket). An event without a
 * start time (0) gives tokens without a window. */
#ifndef TOKEN_VALID_BEFORE_START_MS
#define TOKEN_VALID_BEFORE_START_MS (48ull * 60 * 60 * 1000)
#endif
#ifndef TOKEN_VALID_AFTER_START_MS
#define TOKEN_VALID_AFTER_START_MS (48ull * 60 * 60 * 1000)
#endif

/* Revoked ticket ids one Q_REVOKED reply carries (a page; the scanner asks
 * again from the reply's next_seq). 128 ids is 1 KiB: the page travels in
 * the core's result, which the availability view already makes that big. */
#ifndef REVOKED_PAGE_MAX
#define REVOKED_PAGE_MAX 128u
#endif

static_assert(TOKEN_KEYS_MAX >= 2 && TOKEN_KEYS_MAX <= 256,
	      "a rotation keeps the old key next to the new; key sets stay small");
static_assert(TOKEN_VALID_BEFORE_START_MS <= 7ull * 24 * 60 * 60 * 1000 &&
		      TOKEN_VALID_AFTER_START_MS <= 7ull * 24 * 60 * 60 * 1000,
	      "a token's window is days around the show, not an open pass");
static_assert(REVOKED_PAGE_MAX >= 16 && REVOKED_PAGE_MAX * 8 <= 2048,
	      "a page is worth a round trip and fits the core's result");

/* ---- Wire protocol (net/proto/proto.h) ----------------------------------
 * Largest protocol frame, header included. The largest request is a section
 * load (64 + 12 x SECTION_ROWS_MAX + 4 x SECTION_SEATS_MAX bytes of body:
 * 34,368 at the defaults) and the largest reply a section's seat states
 * (one byte a seat). 64 KiB holds either with room, and is what each
 * connection's receive buffer must hold to always make progress; a frame
 * announcing more is refused from its header, before its body is read. */
#ifndef PROTO_FRAME_BYTES_MAX
#define PROTO_FRAME_BYTES_MAX 65536u
#endif

static_assert(PROTO_FRAME_BYTES_MAX >= 24 + 64 + SECTION_ROWS_MAX * 12 + SECTION_SEATS_MAX * 4,
	      "a section load (header, head, rows, seats) fits one frame");
static_assert(PROTO_FRAME_BYTES_MAX <= (1u << 30), "frame lengths fit a long on every target");

#endif

/* ---- Server runtime (net/server/server-t.h) -----------------------------
 * Every table of a shard's runtime is allocated when the server starts and
 * never grows. When one is full the shard stops reading from the connection
 * that needs it (back-pressure) until a slot frees; nothing is dropped. */

/* Connections one shard serves at once (its table; more are refused with
 * status too_many_connections and closed). 8,192 lets a two-shard server
 * hold 10,000 idle connections: the table costs ~100 bytes a slot, and a
 * connection's buffers (CONN_IN_BYTES + CONN_OUT_BYTES, 384 KiB) are
 * reserved MAP_NORESERVE, backed only where a connection touches them
 * (docs/OPERATIONS.md, "Connections and memory", has the measurement). */
#ifndef SERVER_CONNS_PER_SHARD_MAX
#define SERVER_CONNS_PER_SHARD_MAX 8192u
#endif

/* Requests in flight on one connection; at the limit the shard stops reading
 * from it until replies go out. 256 covers a pipelining client at a few
 * 100k requests/s with millisecond fsyncs. */
#ifndef CONN_INFLIGHT_MAX
#define CONN_INFLIGHT_MAX 256u
#endif

/* A connection's input buffer holds two largest frames, so a partial frame
 * after the last whole one always leaves room for a whole frame more. */
#define CONN_IN_BYTES (2u * PROTO_FRAME_BYTES_MAX)

/* When a connection that filled its input buffer past this many bytes
 * closes, the rest of the buffer is given back to the kernel (madvise):
 * otherwise clients without a key, each sending one large partial frame,
 * would leave the server's memory raised for good (a slot's pages stay
 * resident once touched). A platform client's pipelined requests stay
 * below it; the call costs the other shard threads a TLB flush, so it is
 * made only for the rare connection that went past it. */
#define CONN_IN_KEEP_BYTES (16u * 1024u)
static_assert(CONN_IN_KEEP_BYTES % 4096u == 0 && CONN_IN_KEEP_BYTES < CONN_IN_BYTES,
	      "a whole number of pages, less than the buffer");

/* A connection's output buffer. Reading stops while more than half of it
 * waits to be sent; a reply that does not fit waits in its request. */
#ifndef CONN_OUT_BYTES
#define CONN_OUT_BYTES (4u * PROTO_FRAME_BYTES_MAX)
#endif

/* The kernel's send buffer of each client socket (SO_SNDBUF; the kernel
 * caps it at net.core.wmem_max, 208 KiB by default, and doubles it). Left
 * to autotuning it grows to tcp_wmem's maximum (4 MiB on Debian), so a
 * client that stops reading has megabytes of replies made
 * and copied for it before its connection stalls, and 10,000 connections
 * could pin 40 GiB of kernel memory. 256 KiB is several times what a
 * pipelining client has in flight (256 requests) on a LAN. */
#ifndef CONN_SNDBUF_BYTES
#define CONN_SNDBUF_BYTES (256u * 1024u)
#endif
static_assert(CONN_SNDBUF_BYTES >= CONN_OUT_BYTES / 2,
	      "the kernel takes at least half a full output buffer");

/* Client requests in flight per shard (all its connections together). */
#ifndef SHARD_REQS_MAX
#define SHARD_REQS_MAX 4096u
#endif

/* ---- Fair shares of a shard (net/guard/fair.c) ---------------------------
 * No few connections may take everything a shard has. Of its
 * SHARD_REQS_MAX request slots the last SHARD_REQS_RESERVE are kept for
 * (a quarter) for connections with fewer than CONN_INFLIGHT_SMALL requests in flight: once
 * the shared part is taken, a connection already holding that many waits
 * (it is not read) while a newcomer still gets in. 12 connections at
 * CONN_INFLIGHT_MAX fill the shared part; the reserve then serves 128
 * connections CONN_INFLIGHT_SMALL deep. */
#ifndef SHARD_REQS_RESERVE
#define SHARD_REQS_RESERVE (SHARD_REQS_MAX / 4u)
#endif
#ifndef CONN_INFLIGHT_SMALL
#define CONN_INFLIGHT_SMALL 8u
#endif

/* Refusals in a row (unauthenticated, forbidden) a connection may draw:
 * the next one is answered and the connection closed. They take no slot,
 * so without this a client pipelining requests it may not send is
 * answered as fast as the shard can, taking its turn from everyone. */
#ifndef CONN_REFUSED_ROW_MAX
#define CONN_REFUSED_ROW_MAX 64u
#endif
static_assert(CONN_REFUSED_ROW_MAX >= 1, "a refusal is answered before any close");

/* Big buffers (section loads, seat-map replies) one connection may hold at
 * once; it takes one only while its output buffer has room for the reply
 * of each it holds, so the reply never waits in the buffer for the client
 * to read. Over its share it waits (it is not read); others go on. */
#ifndef CONN_BIGBUFS_MAX
#define CONN_BIGBUFS_MAX 2u
#endif

/* A connection whose output made no send progress (the client reads
 * nothing) for this long is closed, and its request slots freed; a
 * connection whose output buffer is full with replies waiting in slots
 * gets CONN_OUTPUT_FULL_MS at most. onsaled --output-deadline-ms changes
 * the first. The second is short: such a client pins slots and buffers
 * others need; a client that reads, however slowly, moves its output on. */
#ifndef CONN_OUTPUT_DEADLINE_MS_DEFAULT
#define CONN_OUTPUT_DEADLINE_MS_DEFAULT 10000u
#endif
#ifndef CONN_OUTPUT_FULL_MS
#define CONN_OUTPUT_FULL_MS 1000u
#endif
/* How often a shard with output waiting on a socket checks those deadlines. */
#ifndef CONN_OUTPUT_CHECK_MS
#define CONN_OUTPUT_CHECK_MS 100u
#endif

/* Cross-shard messages a shard may have out at once (its pool). */
#ifndef SHARD_MSGS_MAX
#define SHARD_MSGS_MAX 8192u
#endif

/* Slots of each SPSC ring between two shards (one ring per ordered pair);
 * a message that does not fit waits in the sender's overflow list. */
#ifndef MSG_RING_SLOTS
#define MSG_RING_SLOTS 4096u
#endif

/* Large buffers per shard (section loads, seat-state replies), each
 * PROTO_FRAME_BYTES_MAX bytes. */
#ifndef SHARD_BIGBUFS
#define SHARD_BIGBUFS 16u
#endif

/* Customers (per event) with units on other shards that one home shard
 * tracks for per-customer limits; the table holds only nonzero counts. */
#ifndef SHARD_REMOTE_COUNTS_MAX
#define SHARD_REMOTE_COUNTS_MAX (1u << 18)
#endif

/* GA units a shard asks a peer for beyond what the hold needs, so a run of
 * small holds does not ask once per hold. */
#ifndef STOCK_CHUNK_UNITS
#define STOCK_CHUNK_UNITS 64u
#endif

/* GA stock transfers a giver keeps per taker until the taker says it has
 * them durable (core/stock.c). Acknowledgements follow within a WAL batch
 * or two, so a few are outstanding at a time; a giver with this many
 * outstanding to one taker gives it nothing more until acknowledgements
 * come (the hold asks the next peer). 128 x 64 peers x 24 bytes = 192 KiB
 * per shard. */
/* Tickets a start ends per scan when exchanges to other shards were cut
 * by a stop (net/shard/xchg.c); the scan repeats until none is left. */
#ifndef XCHG_RECOVER_BATCH
#define XCHG_RECOVER_BATCH 256u
#endif

#ifndef XFER_PENDING_MAX
#define XFER_PENDING_MAX 128u
#endif

/* A giver sends again the transfers a taker has not acknowledged for this
 * long (one tick with the same oldest pending transfer): a STOCK_IN the
 * taker refused (its WAL paused for space, say) is applied once it can be,
 * without a restart. Acknowledgements normally take a WAL batch or two. */
#ifndef XFER_RESEND_MS
#define XFER_RESEND_MS 1000u
#endif

/* How often a shard with live holds looks for expired ones. */
#ifndef SHARD_EXPIRY_TICK_MS
#define SHARD_EXPIRY_TICK_MS 100u
#endif

/* Keys a role accepts at once: its key and, while a key is rotated, the
 * next one (config lines <role>_key and <role>_key_next; docs/OPERATIONS.md,
 * "How to rotate a key"). Every HELLO is compared with all of them, present
 * or not, so the time it takes says nothing about which one matched. */
#ifndef ROLE_KEYS_PER_ROLE
#define ROLE_KEYS_PER_ROLE 2u
#endif

/* The listen backlog of each shard's listener (one per shard, SO_REUSEPORT):
 * connections the kernel completes before the shard accepts them. A storm
 * of connects waits here (SHARD_ACCEPTS_ARMED a turn are taken); past it
 * the kernel drops SYNs and clients retry after about a second. Linux
 * caps it at net.core.somaxconn (4,096 by default since 5.4). */
#ifndef SERVER_LISTEN_BACKLOG
#define SERVER_LISTEN_BACKLOG 4096
#endif

/* A --listen address something else listens on is asked again this often,
 * this far apart (1 s in all), before the start fails: the listener of a
 * process killed a moment ago lives until the kernel has torn its io_uring
 * down (net/server/server.c, address_free). */
#ifndef SERVER_LISTEN_PROBES
#define SERVER_LISTEN_PROBES 20
#endif
#ifndef SERVER_LISTEN_PROBE_MS
#define SERVER_LISTEN_PROBE_MS 50
#endif

/* A data directory whose lock another process holds is asked again this
 * often, this far apart (2 s in all), before the start fails: a killed
 * onsaled's lock goes only once its memory is torn down (18 ms for a
 * 0.7 GB server here; more for a larger one) (net/store/data_lock.h). */
#ifndef SERVER_LOCK_TRIES
#define SERVER_LOCK_TRIES 40
#endif
#ifndef SERVER_LOCK_TRY_MS
#define SERVER_LOCK_TRY_MS 50
#endif

/* Accepts a shard keeps armed on its listener (one-shot each, re-armed at
 * the end of a turn): at most this many connections enter per loop turn.
 * A multishot accept took every connection waiting in the listen queue in
 * one go, inside whichever system call ran its task work: after a storm
 * of connects (10,000 from an idle-connection flood) the shard spent up to
 * 400 ms accepting and refusing them while its clients' requests waited.
 * The rest wait in the kernel's listen queue (its backlog, somaxconn),
 * which is where a storm belongs. */
#ifndef SHARD_ACCEPTS_ARMED
#define SHARD_ACCEPTS_ARMED 16u
#endif
static_assert(SHARD_ACCEPTS_ARMED >= 1 && SHARD_ACCEPTS_ARMED <= 256,
	      "a few connections per turn, not a queue's worth");

/* Longest a shard sleeps in io_uring_enter, 0: until something happens.
 * Only for profiling: valgrind 3.19 (Debian bookworm) does not treat
 * io_uring_enter as a blocking call, so a shard asleep in it keeps
 * valgrind's big lock and the other threads never run; build with
 * EXTRA_CFLAGS=-DSHARD_WAIT_MS_MAX=1 to profile onsaled under callgrind. */
#ifndef SHARD_WAIT_MS_MAX
#define SHARD_WAIT_MS_MAX 0u
#endif

/* Load shedding (net/shard/shed.c): a shard over capacity answers new
 * demand (holds, availability and seat-map reads) with status 73 at once
 * instead of queueing it; confirms, releases, refunds, redeems, exchanges
 * and admin requests are never shed (they wait for a slot as before).
 * Two signals, each tunable in onsaled (--shed-slots, --shed-target-ms):
 *
 *  - slots: with SHED_SLOTS requests of the shard's SHARD_REQS_MAX in
 *    flight, every new hold is shed, so the last eighth of the slots is
 *    kept for buyers who already hold seats and want to pay. It lies
 *    halfway into the fair shares' reserve (SHARD_REQS_RESERVE): a few
 *    deep pipelines stop at the reserve and are not read (fair.c), so
 *    they alone never make the shard shed a light client's holds; only
 *    many clients at once (real overload) reach it;
 *  - queue delay (CoDel-like): when every request the shard answered in
 *    one SHED_INTERVAL_MS took at least SHED_TARGET_MS from intake to
 *    reply (a standing queue, not a burst) while SHED_QUEUE_MIN or more
 *    were in flight, the shed share of new holds rises by SHED_STEP_UP
 *    sixteenths; each interval under the target lowers it by one. A
 *    fully shedding shard is back to no shedding 1.6 s after its load
 *    falls. 10 ms is ten times the goal for a hold's p99
 *    (docs/PERFORMANCE.md): a healthy shard never answers everything that
 *    slowly for 100 ms, only a queue does. The in-flight floor, one
 *    pipelining connection's window (CONN_INFLIGHT_MAX), keeps a slow disk
 *    or a CPU taken by other processes (replies slow at light load) from
 *    shedding: a machine shared by seven test runs shed 44 % of holds at
 *    a tenth of the peak with a floor of 16 (docs/PERFORMANCE.md). */
#ifndef SHED_SLOTS
#define SHED_SLOTS (SHARD_REQS_MAX - SHARD_REQS_RESERVE / 2u)
#endif
#ifndef SHED_TARGET_MS
#define SHED_TARGET_MS 10u
#endif
#ifndef SHED_INTERVAL_MS
#define SHED_INTERVAL_MS 100u
#endif
#ifndef SHED_QUEUE_MIN
#define SHED_QUEUE_MIN CONN_INFLIGHT_MAX
#endif
#define SHED_LEVELS 16u /* the shed share of new holds in sixteenths */
#define SHED_STEP_UP 2u

static_assert(SHED_SLOTS >= 1 && SHED_SLOTS <= SHARD_REQS_MAX,
	      "the slot threshold is a slot count");
static_assert(SHED_SLOTS > SHARD_REQS_MAX - SHARD_REQS_RESERVE,
	      "deep pipelines stopped by their fair share alone do not shed others' holds");
static_assert(SHED_INTERVAL_MS > SHED_TARGET_MS, "an interval sees several target delays");
static_assert(SHED_STEP_UP >= 1 && SHED_STEP_UP <= SHED_LEVELS, "a step is a share");

static_assert((XFER_PENDING_MAX & (XFER_PENDING_MAX - 1)) == 0, "pending transfers: a ring by seq");
static_assert(XCHG_RECOVER_BATCH >= 1 && XCHG_RECOVER_BATCH <= 65536,
	      "a recovery batch fits a static buffer");
static_assert((MSG_RING_SLOTS & (MSG_RING_SLOTS - 1)) == 0, "ck_ring sizes are powers of two");
static_assert(CONN_OUT_BYTES >= 2u * PROTO_FRAME_BYTES_MAX, "half the output buffer holds a frame");
static_assert(SHARD_REQS_RESERVE >= CONN_INFLIGHT_SMALL && SHARD_REQS_RESERVE < SHARD_REQS_MAX,
	      "the reserve serves a newcomer and leaves a shared part");
static_assert(CONN_INFLIGHT_SMALL >= 1 && CONN_INFLIGHT_SMALL <= CONN_INFLIGHT_MAX,
	      "a newcomer may use the reserve");
static_assert(CONN_BIGBUFS_MAX >= 1 && CONN_BIGBUFS_MAX < SHARD_BIGBUFS,
	      "one connection never holds every big buffer");
static_assert(CONN_BIGBUFS_MAX * PROTO_FRAME_BYTES_MAX <= CONN_OUT_BYTES / 2,
	      "the replies of a connection's big buffers fit the half of its output kept free");
static_assert(CONN_OUTPUT_FULL_MS <= CONN_OUTPUT_DEADLINE_MS_DEFAULT &&
		      CONN_OUTPUT_CHECK_MS <= CONN_OUTPUT_FULL_MS,
	      "the deadlines are checked often enough");
static_assert(SHARD_MSGS_MAX >= 4u * SHARDS_MAX, "room for a broadcast to every shard");
static_assert(SEATS_MAX <= (1u << 24), "a global seat id is shard << 24 | local seat");

/* ---- Connection policy (net/guard/) ----------------------------------------
 * Deadlines and connection limits onsaled holds its clients to; each is an
 * option and a config key (docs/OPERATIONS.md, "Deadlines and connection
 * limits"), these are the defaults. A deadline of 0 is off. */

/* A connection must authenticate (HELLO) this soon after it is accepted:
 * a client's HELLO is its first frame, sent as soon as it connects. */
#ifndef GUARD_HELLO_MS_DEFAULT
#define GUARD_HELLO_MS_DEFAULT 5000u
#endif

/* A frame must be complete this soon after its first byte arrived
 * (slowloris). The largest frame is 64 KiB: 10 s is 6.5 KB/s. */
#ifndef GUARD_FRAME_MS_DEFAULT
#define GUARD_FRAME_MS_DEFAULT 10000u
#endif

/* A connection with nothing in flight, no partial frame and nothing to
 * send is closed after this long. 10 minutes: longer than the idle time of
 * common connection pools (HikariCP and the like default to 10 minutes
 * and ping or replace a connection before then), short enough that
 * forgotten sockets of a dead client do not pile up over an on-sale. */
#ifndef GUARD_IDLE_MS_DEFAULT
#define GUARD_IDLE_MS_DEFAULT 600000u
#endif

/* How often a shard with connections open looks for deadlines passed: the
 * deadlines are this coarse, and the sweep (one pass over the table) costs
 * nothing per turn. */
#ifndef GUARD_SWEEP_MS
#define GUARD_SWEEP_MS 250u
#endif

/* Connections one peer address may hold open, over every shard (0: no
 * limit). 64 covers a platform node's pool several times; many clients
 * behind one NAT need it raised. */
#ifndef GUARD_CONNS_PER_ADDR_DEFAULT
#define GUARD_CONNS_PER_ADDR_DEFAULT 64u
#endif

/* When accept fails for lack of files or memory (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM), the shard stops accepting for this long, or until one
 * of its connections closes; the log says so at most once per
 * GUARD_ACCEPT_LOG_MS. */
#ifndef GUARD_ACCEPT_PAUSE_MS
#define GUARD_ACCEPT_PAUSE_MS 100u
#endif
#ifndef GUARD_ACCEPT_LOG_MS
#define GUARD_ACCEPT_LOG_MS 10000u
#endif

static_assert(GUARD_SWEEP_MS >= 10 && GUARD_SWEEP_MS <= 1000,
	      "deadlines coarse enough to cost nothing, fine enough to hold");
static_assert(GUARD_HELLO_MS_DEFAULT >= 2 * GUARD_SWEEP_MS &&
		      GUARD_FRAME_MS_DEFAULT >= 2 * GUARD_SWEEP_MS,
	      "a deadline spans several sweeps");
static_assert(GUARD_IDLE_MS_DEFAULT == 0 || GUARD_IDLE_MS_DEFAULT >= GUARD_FRAME_MS_DEFAULT,
	      "idle is the longest deadline");
static_assert(GUARD_CONNS_PER_ADDR_DEFAULT <= SERVER_CONNS_PER_SHARD_MAX,
	      "one address fits a shard's table");
static_assert(GUARD_ACCEPT_PAUSE_MS >= 10 && GUARD_ACCEPT_PAUSE_MS <= GUARD_ACCEPT_LOG_MS,
	      "a pause long enough not to spin");

/* ---- Metrics and logs (net/server/metrics*.c) -------------------------------
 * onsaled serves Prometheus text on its own port from its own thread; the
 * shards publish relaxed atomic counters it reads, never a lock. */

/* Counters per (opcode, status): opcodes are below 0x40 (TICKET_KEYS is
 * 0x37) and statuses below 96 (the e-ticket token group is 80-85,
 * core/status.h), asserted in metrics.c; anything else is counted in the
 * last slot. 64 x 96 x 8 bytes = 48 KiB per shard. */
#define METRICS_OPCODES 64u
#define METRICS_STATUSES 96u

/* How often a shard copies its figures (STATS counters, WAL histograms,
 * live holds) for the metrics thread, and its events' per-tier figures. */
#ifndef METRICS_PUBLISH_MS
#define METRICS_PUBLISH_MS 100u
#endif
#ifndef METRICS_EVENTS_PUBLISH_MS
#define METRICS_EVENTS_PUBLISH_MS 1000u
#endif

/* Events with per-tier sold, held and available series: the busiest by
 * units held + sold over all shards, so the label count stays bounded
 * (16 events x TIERS_MAX tiers x 3 series at most). */
#ifndef METRICS_EVENTS_TOP
#define METRICS_EVENTS_TOP 16u
#endif

/* The metrics responder: scrapers served at once (more wait in the
 * listen backlog), a request's bytes (GET line and headers), the time a
 * scraper has to send its request and read the answer, and the largest
 * answer (64 shards of every series fit in about 1 MiB). */
#ifndef METRICS_CONNS_MAX
#define METRICS_CONNS_MAX 4u
#endif
#define METRICS_REQUEST_BYTES_MAX 4096u
#ifndef METRICS_DEADLINE_MS
#define METRICS_DEADLINE_MS 5000u
#endif
#ifndef METRICS_BODY_BYTES_MAX
#define METRICS_BODY_BYTES_MAX (4u << 20)
#endif

static_assert(METRICS_OPCODES <= 256 && METRICS_STATUSES <= 256, "opcodes and statuses are bytes");
static_assert(METRICS_EVENTS_TOP >= 1 && METRICS_EVENTS_TOP <= EVENTS_MAX,
	      "top events fit a shard's");
static_assert(METRICS_CONNS_MAX >= 1 && METRICS_CONNS_MAX <= 64, "a small poll set");
static_assert(METRICS_BODY_BYTES_MAX >= (1u << 20), "room for every shard's series");
static_assert(ROLE_KEYS_PER_ROLE >= 2 && ROLE_KEYS_PER_ROLE <= 8,
	      "a key and its successor; every HELLO compares them all");
