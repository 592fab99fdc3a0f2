/* SPDX-License-Identifier: MIT */
/*
 * iopt fault injection: a test-only control that makes the library's own
 * host-memory allocations fail on demand (SQLite-style), so tests and
 * fuzzers can prove that every allocation failure returns a clear error and
 * leaves the object unchanged. Covers every internal allocation of the IOVA
 * allocator (domain, tree nodes, thread caches, magazines, live-map
 * leaves), of the page tables (struct iopt_pt, map reservations, freed-table
 * nodes, the default provider's pool chunks), of the flush queue (queue,
 * per-CPU rings and their entries) and of the DMA layer (domain). Table
 * pages from a caller's provider fail on that provider's own terms (see
 * pgtable.h).
 *
 * Not for production: the control is process-wide, so arm it only in a
 * test that owns the process.
 */
#ifndef IOPT_FAULT_H
#define IOPT_FAULT_H

#include <iopt/common.h>

IOPT_BEGIN_DECLS

/*
 * iopt_fault_inject() - arm or disarm allocation failure.
 * @nth: the nth allocation from now fails (1: the next one); 0 disarms.
 * @persistent: that one and every later one fail (until re-armed).
 * Context: any thread; takes effect for allocations in every thread.
 * Return: how many allocations failed by injection since the previous
 * call (so a test knows whether its run reached the armed allocation).
 */
IOPT_API uint64_t iopt_fault_inject(uint64_t nth, bool persistent);

/*
 * iopt_fault_live_allocs() - test hook: host allocations the library made
 * and has not freed yet (every object and node above; the default
 * provider's pool chunks are a process-lifetime cache and not counted).
 * A test that destroyed everything it created reads 0 here once the threads
 * that used an IOVA domain have exited (a thread's IOVA cache of a
 * destroyed domain is freed by that thread, at its exit or next IOVA call).
 * Context: any thread; a relaxed snapshot while other threads allocate.
 */
IOPT_API int64_t iopt_fault_live_allocs(void);

IOPT_END_DECLS

#endif /* IOPT_FAULT_H */
