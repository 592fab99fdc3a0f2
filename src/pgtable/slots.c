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

typedef uint64_t pt_v4 __attribute__((vector_size(32), aligned(8), may_alias));

/* The loops, inlined into each variant below (and so compiled for its ISA). */
#define PT_BODY static inline __attribute__((always_inline))

static inline void pt_prefetch_lines(const uint64_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i += 8)
		__builtin_prefetch(&p[i], 1);
}

PT_BODY uint64_t slots_or(const uint64_t *p, uint64_t n)
{
	pt_v4 a = { 0, 0, 0, 0 }, b = a;
	uint64_t i = 0, r;

	pt_prefetch_lines(p, n);
	for (; i + 8 <= n; i += 8) {
		a |= *(const pt_v4 *)&p[i];
		b |= *(const pt_v4 *)&p[i + 4];
	}
	a |= b;
	r = a[0] | a[1] | a[2] | a[3];
	for (; i < n; i++)
		r |= p[i];
	return r;
}

PT_BODY void slots_fill(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	pt_v4 x0 = { v, v + step, v + 2 * step, v + 3 * step };
	pt_v4 d4 = { 4 * step, 4 * step, 4 * step, 4 * step }, x1 = x0 + d4, d8 = d4 + d4;
	uint64_t i = 0;

	for (; i + 8 <= n; i += 8) {
		*(pt_v4 *)&p[i] = x0;
		*(pt_v4 *)&p[i + 4] = x1;
		x0 += d8;
		x1 += d8;
	}
	for (; i < n; i++)
		p[i] = v + i * step;
}

/* Zero n slots, return how many were non-zero (counted as n - zeros). */
PT_BODY uint64_t slots_clear(uint64_t *p, uint64_t n)
{
	const pt_v4 z = { 0, 0, 0, 0 };
	pt_v4 a = z, b = z;
	uint64_t i = 0, zeros;

	pt_prefetch_lines(p, n);
	for (; i + 8 <= n; i += 8) {
		pt_v4 x0 = *(pt_v4 *)&p[i], x1 = *(pt_v4 *)&p[i + 4];

		a += (pt_v4)(x0 == z); /* -1 per zero entry */
		b += (pt_v4)(x1 == z);
		*(pt_v4 *)&p[i] = z;
		*(pt_v4 *)&p[i + 4] = z;
	}
	a += b;
	zeros = -(a[0] + a[1] + a[2] + a[3]);
	for (; i < n; i++) {
		zeros += p[i] == 0;
		p[i] = 0;
	}
	return n - zeros;
}

#if defined(__x86_64__)
/*
 * NAME: an ifunc that the loader binds to NAME_avx2 or NAME_base, both the
 * body above compiled for their ISA (RET: "return", or nothing for void).
 */
#define PT_VARIANTS(type, RET, name, body, params, args)                                    \
	static __attribute__((target("avx2"))) type name##_avx2 params { RET body args; }    \
	static type name##_base params { RET body args; }                                    \
	static __attribute__((used)) type (*name##_pick(void)) params                        \
	{                                                                                     \
		__builtin_cpu_init();                                                         \
		return __builtin_cpu_supports("avx2") ? name##_avx2 : name##_base;            \
	}                                                                                     \
	type name params __attribute__((ifunc(#name "_pick")));
#else
#define PT_VARIANTS(type, RET, name, body, params, args) \
	type name params { RET body args; }
#endif

PT_VARIANTS(uint64_t, return, _iopt_pt_slots_or_bulk, slots_or, (const uint64_t *p, uint64_t n),
	    (p, n))
PT_VARIANTS(void, , _iopt_pt_slots_fill_bulk, slots_fill,
	    (uint64_t *p, uint64_t n, uint64_t v, uint64_t step), (p, n, v, step))
PT_VARIANTS(uint64_t, return, _iopt_pt_slots_clear_bulk, slots_clear, (uint64_t *p, uint64_t n),
	    (p, n))

#endif /* !__SANITIZE_THREAD__ */
