/* SPDX-License-Identifier: MIT */
/* Compiler hints and small helpers shared by every component. */
#ifndef IOPT_UTIL_H
#define IOPT_UTIL_H

#include <stdint.h>

#define iopt_likely(x) __builtin_expect(!!(x), 1)
#define iopt_unlikely(x) __builtin_expect(!!(x), 0)
/* Slow paths stay out of line so the fast path around them compiles small. */
#define iopt_noinline __attribute__((noinline))
#define iopt_cold __attribute__((noinline, cold))

static inline unsigned iopt_fls64(uint64_t x) /* 1-based index of the top set bit; 0 for 0 */
{
	return x ? 64u - (unsigned)__builtin_clzll(x) : 0;
}

static inline uint64_t iopt_roundup_pow2(uint64_t x) /* x >= 1, x <= 2^63 */
{
	return x <= 1 ? 1 : 1ull << iopt_fls64(x - 1);
}

static inline int iopt_is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/*
 * Host-memory allocation for every component: malloc/calloc/aligned_alloc
 * that fail on demand under iopt_fault_inject() (src/fault.c) and count live
 * objects (iopt_fault_live_allocs). The check is one relaxed load while
 * disarmed.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

extern _Atomic uint64_t _iopt_fault_armed;
bool _iopt_fault_slow(void);

static inline bool _iopt_fault(void)
{
	return iopt_unlikely(atomic_load_explicit(&_iopt_fault_armed, memory_order_relaxed)) &&
	       _iopt_fault_slow();
}

void *_iopt_malloc(size_t size);
void *_iopt_calloc(size_t n, size_t size);
void *_iopt_aligned_alloc(size_t align, size_t size);
void _iopt_free(void *p); /* for memory from the three above (keeps the live count) */

#endif /* IOPT_UTIL_H */
