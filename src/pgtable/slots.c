/* SPDX-License-Identifier: MIT */
/*
 * The engine's bulk slot loops (pt_slots_* in pt_internal.h) for runs of
 * PT_SLOTS_BULK slots and more: the leaves one map_pages/unmap_pages call
 * writes or clears in one table.
 *
 * Written once over 32-byte vectors. On x86-64 each function is compiled
 * twice, baseline (the vectors become SSE2 pairs) and AVX2, and the loader
 * picks one (ifunc). Why bother: these runs are usually in table pages that
 * are not in the cache, and the number of lines in flight is bounded by the
 * load and store queues; 32-byte accesses put twice the bytes in each entry
 * (measured on the EPYC VM, 2 KiB into cold lines: 1,400 instead of 2,000
 * cycles to fill, 1,200 instead of 1,750 to read-and-clear).
 *
 * Ranges that are read first (or, clear) are prefetched for writing line
 * by line before the loop: prefetches retire at once, so every miss of the
 * range is outstanding together, and the lines arrive writable.
 *
 * Atomicity: every aligned 8-byte element of a vector access is
 * single-copy atomic on the hosts we build for (x86-64, arm64), which is
 * all the IOMMU and concurrent readers may rely on; the slots belong to the
 * caller's range (disjoint-range contract). TSan builds do not use this
 * file (pt_internal.h: relaxed atomics per entry).
 */
#include "pgtable/pt_internal.h"

#if !defined(__SANITIZE_THREAD__)

typedef uint64_t pt_v2 __attribute__((vector_size(16), aligned(8), may_alias));
typedef uint64_t pt_v4 __attribute__((vector_size(32), aligned(8), may_alias));

/* Prefetch the lines of n slots (GCC drops unrolled prefetch-only loops: keep it plain). */
static inline void pt_prefetch_lines(const uint64_t *p, uint64_t n)
{
	for (const char *c = (const char *)p, *e = (const char *)(p + n); c < e; c += 64)
		__builtin_prefetch(c, 1);
}

/* Baseline: 16-byte vectors (SSE2, NEON). */
#define SLOTS_V         pt_v2
#define SLOTS_FN(x)     x##_base
#define SLOTS_ATTR
#if defined(__x86_64__)
/* SSE2 has no 64-bit compare: the sign of x | -x is set iff x != 0. */
#define SLOTS_ISZERO(x, z) ((((x) | ((z) - (x))) >> 63) - 1)
#else
#define SLOTS_ISZERO(x, z) ((pt_v2)((x) == (z)))
#endif
#include "pgtable/slots_loops.h"
#undef SLOTS_V
#undef SLOTS_FN
#undef SLOTS_ATTR
#undef SLOTS_ISZERO

#if defined(__x86_64__)
#define SLOTS_V         pt_v4
#define SLOTS_FN(x)     x##_avx2
#define SLOTS_ATTR      __attribute__((target("avx2")))
#define SLOTS_ISZERO(x, z) ((pt_v4)((x) == (z)))
#include "pgtable/slots_loops.h"

/* NAME: an ifunc the loader binds to BODY_avx2 or BODY_base (RET: return, or nothing). */
#define PT_VARIANTS(type, RET, name, body, params, args)                                    \
	static __attribute__((used)) type (*name##_pick(void)) params                        \
	{                                                                                     \
		__builtin_cpu_init();                                                         \
		return __builtin_cpu_supports("avx2") ? body##_avx2 : body##_base;            \
	}                                                                                     \
	type name params __attribute__((ifunc(#name "_pick")));
#else
#define PT_VARIANTS(type, RET, name, body, params, args) \
	type name params { RET body##_base args; }
#endif

PT_VARIANTS(uint64_t, return, _iopt_pt_slots_or_bulk, slots_or, (const uint64_t *p, uint64_t n),
	    (p, n))
PT_VARIANTS(void, , _iopt_pt_slots_fill_bulk, slots_fill,
	    (uint64_t *p, uint64_t n, uint64_t v, uint64_t step), (p, n, v, step))
PT_VARIANTS(uint64_t, return, _iopt_pt_slots_clear_bulk, slots_clear, (uint64_t *p, uint64_t n),
	    (p, n))

#endif /* !__SANITIZE_THREAD__ */
