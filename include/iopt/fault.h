/* SPDX-License-Identifier: MIT */
/*
 * iopt fault injection: a test-only control that makes the library's own
 * host-memory allocations fail on demand (SQLite-style), so tests and
 * fuzzers can prove that every allocation failure returns a clear error and
 * leaves the object unchanged. Covers every internal allocation of the IOVA
 * allocator (domain, tree nodes, thread caches, magazines, live-map
 * leaves). Page-table memory comes from the caller's provider, which fails
 * on its own terms (see pgtable.h).
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

IOPT_END_DECLS

#endif /* IOPT_FAULT_H */
