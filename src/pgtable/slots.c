/* SPDX-License-Identifier: MIT */
/*
 * The engine's slot loops for runs of PT_SLOTS_BULK slots and more (the
 * leaves one map_pages/unmap_pages call writes or clears in one table),
 * out of line so that x86-64 can run them with 32-byte vectors: the loops
 * of slots_loops.h built for AVX2 here, or the 16-byte build that
 * pt_internal.h inlines for short runs, picked on the first call.
 *
 * Why: these runs are mostly in table pages that are not in the cache, and
 * the lines in flight are bounded by the load and store queues, where a
 * 32-byte access carries twice the bytes. Measured on the EPYC VM (callgrind
 * and interleaved A/B, docs/PGTABLE.md): lpae_s1_4k.map_256x4k 931 -> 658
 * instructions per call, 1.5-5% faster; unmap_256x4k 1,460 -> 651, 2-5%.
 *
 * Not an ifunc: its resolver runs while the loader relocates, before the
 * sanitizer runtimes are up, and instrumented code there crashes.
 *
 * Atomicity: every aligned 8-byte element of a vector access is
 * single-copy atomic on the hosts we build for (x86-64, arm64), which is
 * all the IOMMU and concurrent readers may rely on; the slots belong to the
 * caller's range (disjoint-range contract). TSan builds do not use this
 * file (pt_internal.h: relaxed atomics per entry).
 */
#include "pgtable/pt_internal.h"

#if !defined(__SANITIZE_THREAD__)

struct slots_impl {
	uint64_t (*or)(const uint64_t *p, uint64_t n);
	void (*fill)(uint64_t *p, uint64_t n, uint64_t v, uint64_t step);
	uint64_t (*clear)(uint64_t *p, uint64_t n);
};

/* The inline 16-byte loops, as functions. */
static uint64_t or_v2(const uint64_t *p, uint64_t n)
{
	return slots_or_v2(p, n);
}
static void fill_v2(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	slots_fill_v2(p, n, v, step);
}
static uint64_t clear_v2(uint64_t *p, uint64_t n)
{
	return slots_clear_v2(p, n);
}
static const struct slots_impl impl_v2 = { or_v2, fill_v2, clear_v2 };

#if defined(__x86_64__)
typedef uint64_t pt_v4 __attribute__((vector_size(32), aligned(8), may_alias));

#define SLOTS_V             pt_v4
#define SLOTS_FN(x)         x##_avx2
#define SLOTS_ATTR          __attribute__((target("avx2")))
#define SLOTS_TALLY(x, z)   ((pt_v4)((x) == (z)))
#define SLOTS_TALLY_FROM(k) (k)
#define SLOTS_RAMP(v, s)    { (v), (v) + (s), (v) + 2 * (s), (v) + 3 * (s) }
#include "pgtable/slots_loops.h"

static const struct slots_impl impl_avx2 = { slots_or_avx2, slots_fill_avx2, slots_clear_avx2 };
#endif

/* NULL until the first bulk call picks (racing first calls pick the same). */
static const struct slots_impl *_Atomic impl;

static pt_noinline const struct slots_impl *slots_pick(void)
{
	const struct slots_impl *i = &impl_v2;

#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2"))
		i = &impl_avx2;
#endif
	atomic_store_explicit(&impl, i, memory_order_relaxed);
	return i;
}

static inline const struct slots_impl *slots(void)
{
	const struct slots_impl *i = atomic_load_explicit(&impl, memory_order_relaxed);

	return pt_likely(i) ? i : slots_pick();
}

uint64_t _iopt_pt_slots_or_bulk(const uint64_t *p, uint64_t n)
{
	return slots()->or(p, n);
}

void _iopt_pt_slots_fill_bulk(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	slots()->fill(p, n, v, step);
}

uint64_t _iopt_pt_slots_clear_bulk(uint64_t *p, uint64_t n)
{
	return slots()->clear(p, n);
}

#endif /* !__SANITIZE_THREAD__ */
