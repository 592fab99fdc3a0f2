/* SPDX-License-Identifier: MIT */
/*
 * The engine's slot loops for runs of PT_SLOTS_BULK slots and more (the
 * leaves one map_pages/unmap_pages call writes or clears in one table),
 * out of line so that x86-64 can run them with 32-byte vectors: the loops
 * of slots_loops.h built for AVX2 here, or the 16-byte build that
 * pt_internal.h inlines for short runs, bound once at load time (ifunc).
 *
 * Why: these runs are mostly in table pages that are not in the cache, and
 * the lines in flight are bounded by the load and store queues, where a
 * 32-byte access carries twice the bytes. Measured on the EPYC VM (callgrind
 * and interleaved A/B, docs/PGTABLE.md): lpae_s1_4k.map_256x4k 931 -> 658
 * instructions per call, 3-5% faster; unmap_256x4k 1,460 -> 651, 2-5%.
 *
 * Atomicity: every aligned 8-byte element of a vector access is
 * single-copy atomic on the hosts we build for (x86-64, arm64), which is
 * all the IOMMU and concurrent readers may rely on; the slots belong to the
 * caller's range (disjoint-range contract). TSan builds do not use this
 * file (pt_internal.h: relaxed atomics per entry).
 */
#include "pgtable/pt_internal.h"

#if !defined(__SANITIZE_THREAD__)

#if defined(__x86_64__)
typedef uint64_t pt_v4 __attribute__((vector_size(32), aligned(8), may_alias));

#define SLOTS_V          pt_v4
#define SLOTS_FN(x)      x##_avx2
#define SLOTS_ATTR       __attribute__((target("avx2")))
#define SLOTS_TALLY(x, z)   ((pt_v4)((x) == (z)))
#define SLOTS_TALLY_FROM(k) (k)
#define SLOTS_RAMP(v, s) { (v), (v) + (s), (v) + 2 * (s), (v) + 3 * (s) }
#include "pgtable/slots_loops.h"

/* NAME: an ifunc the loader binds to BODY_avx2 or to BODY_v2 (pt_internal.h). */
#define PT_VARIANTS(type, RET, name, body, params, args)                                    \
	static type name##_v2 params { RET body##_v2 args; }                                 \
	static __attribute__((used)) type (*name##_pick(void)) params                        \
	{                                                                                     \
		__builtin_cpu_init();                                                         \
		return __builtin_cpu_supports("avx2") ? body##_avx2 : name##_v2;              \
	}                                                                                     \
	type name params __attribute__((ifunc(#name "_pick")));
#else
#define PT_VARIANTS(type, RET, name, body, params, args) \
	type name params { RET body##_v2 args; }
#endif

PT_VARIANTS(uint64_t, return, _iopt_pt_slots_or_bulk, slots_or, (const uint64_t *p, uint64_t n),
	    (p, n))
PT_VARIANTS(void, , _iopt_pt_slots_fill_bulk, slots_fill,
	    (uint64_t *p, uint64_t n, uint64_t v, uint64_t step), (p, n, v, step))
PT_VARIANTS(uint64_t, return, _iopt_pt_slots_clear_bulk, slots_clear, (uint64_t *p, uint64_t n),
	    (p, n))

#endif /* !__SANITIZE_THREAD__ */
