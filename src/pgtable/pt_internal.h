/* SPDX-License-Identifier: MIT */
/*
 * Internal definitions shared by the page-table engine (engine.h, compiled
 * once per format), the per-format headers (src/formats/<fmt>.h) and the
 * dispatch/provider code (api.c, provider.c).
 *
 * Levels count from 0 at the leaf (Linux generic_pt convention); the top
 * table is level levels-1. Entries are 64-bit; an all-zero entry is empty in
 * every format (the engine never writes a non-zero non-present entry).
 */
#ifndef IOPT_PT_INTERNAL_H
#define IOPT_PT_INTERNAL_H

#include <iopt/pgtable.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "util.h"

#define pt_likely(x)   __builtin_expect(!!(x), 1)
#define pt_unlikely(x) __builtin_expect(!!(x), 0)
#define pt_noinline    __attribute__((noinline))

#define PT_MAX_LEVELS 6

struct iopt_pt;

/* One function pointer per API call: the only indirect call on a path. */
struct pt_ops {
	int (*init)(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg);
	int (*map)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t pgsize,
		   uint64_t pgcount, unsigned prot, uint64_t *mapped);
	int (*map_range)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t size,
			 unsigned prot, uint64_t *mapped);
	int (*unmap)(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t pgcount,
		     struct iopt_gather *g, uint64_t *unmapped);
	int (*map_leaf)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, unsigned prot);
	int (*unmap_leaf)(struct iopt_pt *pt, uint64_t iova);
	int (*iova_to_phys)(struct iopt_pt *pt, uint64_t iova, uint64_t *phys);
	int (*dirty)(struct iopt_pt *pt, uint64_t iova, uint64_t size, unsigned flags,
		     iopt_dirty_fn fn, void *ctx, struct iopt_gather *g);
	void (*teardown)(struct iopt_pt *pt);
};

struct iopt_pt {
	/*
	 * First cache line: everything a fast path reads (dispatch, cache
	 * stamp, argument limits, the written hook); the object is 64-byte
	 * aligned (api.c).
	 */
	const struct pt_ops *ops;
	/*
	 * Bumped whenever a table is detached; starts at uid << 32 so a cache
	 * stamp also names the object (stale after 2^32 detaches of one
	 * object at the earliest).
	 */
	_Atomic uint64_t gen;
	uint64_t pgsize_bitmap;           /* effective map_pages sizes */
	uint64_t va_last;      /* last valid IOVA (lower half when sign-extended) */
	uint64_t oa_last;      /* last valid output address */
	void (*p_written)(void *ctx, void *virt, size_t len);
	void *(*p_p2v)(void *ctx, uint64_t phys);
	unsigned flags;
	bool sign_extend;
	bool dirty_tracking;

	/*
	 * Root physical address | level count, published together so a
	 * lock-free reader never pairs a new root with an old count (AMD v1
	 * grows the top while others map; the root is at least 4 KiB aligned).
	 */
	_Atomic uint64_t top;
	int8_t lvl_of_lg2[64];            /* leaf level of a size, -1 = none */
	unsigned granule_lg2;  /* log2 bytes mapped by a level-0 entry */
	unsigned bpl;          /* index bits of a non-top table */
	unsigned max_levels;   /* levels the ias needs (AMD may start lower) */
	uint64_t top_mask;     /* index mask of the top table */
	unsigned top_bits;     /* popcount(top_mask) */
	size_t root_size;      /* bytes of the top table (S2 concatenation) */
	unsigned ias, oas;
	uint64_t lvl_sizes[PT_MAX_LEVELS];/* leaf sizes possible per level (format) */
	uint64_t uid;                     /* never 0, unique per object */
	unsigned fmt_u;                   /* format private (LPAE stage etc.) */

	/* The rest of the provider. */
	void *(*p_alloc)(void *ctx, size_t size, uint64_t *phys);
	void (*p_free)(void *ctx, void *virt, size_t size);
	void *p_ctx;

	pthread_mutex_t grow_lock;
	iopt_pt_change_top_fn change_top;
	void *change_top_ctx;
	iopt_gather_flush_fn flush;
	void *flush_ctx;
};

/* Per-thread cache of the last table a path ended in (see engine.h). */
struct pt_tcache {
	uint64_t gen;      /* pt->gen when filled: object + generation */
	uint64_t base;     /* first IOVA the cached table translates */
	uint64_t *table;
	unsigned level;
	unsigned span;     /* log2 bytes the table translates */
	unsigned shift;    /* log2 bytes one of its entries translates */
};

#define PT_TLS __thread __attribute__((tls_model("initial-exec")))

/* Format instantiations (src/pgtable/<fmt>.c). */
extern const struct pt_ops _iopt_pt_vtdss_ops;
extern const struct pt_ops _iopt_pt_x86_64_ops;
extern const struct pt_ops _iopt_pt_amdv1_ops;
extern const struct pt_ops _iopt_pt_lpae_s1_4k_ops, _iopt_pt_lpae_s1_16k_ops, _iopt_pt_lpae_s1_64k_ops;
extern const struct pt_ops _iopt_pt_lpae_s2_4k_ops, _iopt_pt_lpae_s2_16k_ops, _iopt_pt_lpae_s2_64k_ops;

/* api.c */
uint64_t _iopt_pt_new_uid(void);

static inline void *_pt_p2v(const struct iopt_pt *pt, uint64_t pa)
{
	if (pt_likely(!pt->p_p2v))
		return (void *)(uintptr_t)pa;
	return pt->p_p2v(pt->p_ctx, pa);
}

static inline void _pt_written(const struct iopt_pt *pt, void *virt, size_t len)
{
	if (pt_unlikely(pt->p_written != NULL))
		pt->p_written(pt->p_ctx, virt, len);
}

/*
 * Single-copy-atomic entry access: the IOMMU and readers race us. Loads
 * are acquire so a walker that follows a freshly CAS-installed table
 * pointer sees the table's zeroed contents (pairs with pt_cas_release);
 * on x86-64 this is a plain mov.
 */
static inline uint64_t pt_load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}
/* For a leaf entry nothing is reached through: relaxed is enough. */
static inline uint64_t pt_load_leaf(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}
static inline void pt_store(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}
/* Publishing a table pointer: release, so its zeroed contents are seen first. */
static inline bool pt_cas_release(uint64_t *p, uint64_t *old, uint64_t v)
{
	return __atomic_compare_exchange_n(p, old, v, false, __ATOMIC_RELEASE, __ATOMIC_ACQUIRE);
}

/*
 * Slot helpers for the runs of leaves written by one call. Outside TSan
 * builds they use plain (vectorised) aligned 8-byte accesses instead of
 * the relaxed atomics: every aligned 64-bit element access is single-copy
 * atomic on the hosts we build for (x86-64, arm64), and the slots belong to
 * this call's range (disjoint-range contract). One slot is an atomic
 * access; shorter runs than PT_SLOTS_BULK take the 16-byte loops of
 * slots_loops.h inline; longer ones go out of line to slots.c, which on
 * x86-64 runs the AVX2 build of the same loops where the CPU has it.
 */
#define PT_SLOTS_BULK 32

#if defined(__SANITIZE_THREAD__)
/*
 * TSan cannot see that the vector accesses are per-element atomic: under
 * it, the helpers are loops of relaxed atomics, so the checker judges the
 * real access pattern instead of reporting the vector stores.
 */
static inline uint64_t pt_slots_or(const uint64_t *p, uint64_t n)
{
	uint64_t r = n == 1 ? pt_load(p) : 0;
	for (uint64_t i = n == 1; i < n; i++)
		r |= pt_load_leaf(&p[i]);
	return r;
}

static inline void pt_slots_fill(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	for (uint64_t i = 0; i < n; i++)
		pt_store(&p[i], v + i * step);
}

static inline uint64_t pt_slots_clear(uint64_t *p, uint64_t n)
{
	uint64_t r = 0;
	for (uint64_t i = 0; i < n; i++) {
		r += pt_load_leaf(&p[i]) != 0;
		pt_store(&p[i], 0);
	}
	return r;
}
#else
typedef uint64_t pt_v2 __attribute__((vector_size(16), aligned(8), may_alias));

/*
 * Prefetch the lines of n slots, from 8 lines on: then every miss of the
 * range is outstanding at once (prefetches retire at once), where the loop
 * alone has as many as the load/store queues hold. A plain loop: GCC drops
 * unrolled prefetch-only loops.
 */
static inline void pt_prefetch_lines(const uint64_t *p, uint64_t n)
{
	if (n < 64)
		return;
	for (const char *c = (const char *)p, *e = (const char *)(p + n); c < e; c += 64)
		__builtin_prefetch(c, 1);
}

/* The loops over 16-byte vectors (SSE2, NEON): slots_or_v2 & co. */
#define SLOTS_V          pt_v2
#define SLOTS_FN(x)      x##_v2
#define SLOTS_ATTR       inline
#if defined(__x86_64__)
/* SSE2 has no 64-bit compare: the sign of x | -x is set iff x != 0. */
#define SLOTS_TALLY(x, z)   (((x) | ((z) - (x))) >> 63)
#define SLOTS_TALLY_FROM(k) 0
#else
#define SLOTS_TALLY(x, z)   ((pt_v2)((x) == (z)))
#define SLOTS_TALLY_FROM(k) (k)
#endif
#define SLOTS_RAMP(v, s) { (v), (v) + (s) }
#include "pgtable/slots_loops.h"
#undef SLOTS_V
#undef SLOTS_FN
#undef SLOTS_ATTR
#undef SLOTS_TALLY
#undef SLOTS_TALLY_FROM
#undef SLOTS_RAMP

/* slots.c */
uint64_t _iopt_pt_slots_or_bulk(const uint64_t *p, uint64_t n);
void _iopt_pt_slots_fill_bulk(uint64_t *p, uint64_t n, uint64_t v, uint64_t step);
uint64_t _iopt_pt_slots_clear_bulk(uint64_t *p, uint64_t n);

/* OR of n slots (0: all empty). */
static inline uint64_t pt_slots_or(const uint64_t *p, uint64_t n)
{
	if (n == 1)
		return pt_load(p);
	return n < PT_SLOTS_BULK ? slots_or_v2(p, n) : _iopt_pt_slots_or_bulk(p, n);
}

/* p[i] = v + i * step for i < n. */
static inline void pt_slots_fill(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	if (n == 1)
		pt_store(p, v);
	else if (n < PT_SLOTS_BULK)
		slots_fill_v2(p, n, v, step);
	else
		_iopt_pt_slots_fill_bulk(p, n, v, step);
}

/* Zero n slots, return how many were non-zero. */
static inline uint64_t pt_slots_clear(uint64_t *p, uint64_t n)
{
	if (n == 1) {
		uint64_t r = pt_load(p) != 0;

		pt_store(p, 0);
		return r;
	}
	return n < PT_SLOTS_BULK ? slots_clear_v2(p, n) : _iopt_pt_slots_clear_bulk(p, n);
}
#endif /* __SANITIZE_THREAD__ */

static inline uint64_t pt_mask_lg2(unsigned lg2)
{
	return lg2 >= 64 ? ~0ull : (1ull << lg2) - 1;
}

#endif /* IOPT_PT_INTERNAL_H */
