/*
 * heap.c — glibc's heap for test programs that create and destroy many
 * cores (linked into every test, set before main).
 *
 * An event's hold and ticket tables come from mem_table_alloc (core/mem.h),
 * which touches every page so that a sale never page-faults. Tables under
 * 2 MiB are malloc'd, and glibc gives each one above its mmap threshold a
 * mapping of its own and unmaps it at free. A simulation that builds a core
 * for every seed and another for every snapshot it reads back then
 * page-faults all of that memory in again each time: on this project's
 * paravirtualized machines that was most of test_core_sim's time (113 s for
 * its million commands; 38 s with the heap kept) and test_core_stock's
 * (3.2 s; 0.07 s). Kept in the heap, freed tables are reused, still zeroed
 * by mem_table_alloc. onsaled uses jemalloc and is not affected; nor are
 * the sanitizer builds, whose allocator ignores these settings.
 */
#include <malloc.h>

#define TEST_HEAP_MMAP_THRESHOLD (32 << 20) /* above any table under 2 MiB */
#define TEST_HEAP_TRIM_THRESHOLD (256 << 20)

__attribute__((constructor)) static void test_heap_keep(void)
{
	mallopt(M_MMAP_THRESHOLD, TEST_HEAP_MMAP_THRESHOLD);
	mallopt(M_TRIM_THRESHOLD, TEST_HEAP_TRIM_THRESHOLD);
}
