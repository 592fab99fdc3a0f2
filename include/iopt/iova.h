/* SPDX-License-Identifier: MIT */
/*
 * iopt IOVA allocator: a range allocator over an I/O virtual address space,
 * counted in granules ("pfns"), fronted by a per-thread magazine cache
 * (the rcache).
 *
 * Placement is top-down like Linux drivers/iommu/iova.c: the highest free
 * block below the caller's limit, which keeps low (32-bit) space for devices
 * that need it. Unlike Linux, a tree allocation costs O(log n) whatever the
 * fragmentation: the tree is a B+-tree of allocated ranges (32 per node),
 * each child summarised by its largest free gap and largest naturally
 * aligned free block, so whole subtrees that cannot hold a request are
 * skipped.
 *
 * rcache: allocations of 1..32 granules are cached per size class (1, 2, 4,
 * 8, 16, 32; smaller sizes are rounded up to the class so a free lands in
 * the right class, and such allocations are always size-aligned). Each
 * thread has two magazines per class (loaded and previous, 127 pfns each);
 * full magazines go to a bounded per-domain depot; the depot's idle excess
 * goes back to the tree (iopt_iova_cache_reclaim, also run by the slow path
 * every 100 ms). A thread's magazines go back to the domain when it exits.
 *
 * Synchronization table (for one domain):
 *
 *                      alloc  free  find  reserve  cache_*  stats  destroy
 *   alloc / free         -     -     -      -        -       -       X
 *   find / reserve       -     -     -      -        -       -       X
 *   cache_flush/reclaim  -     -     -      -        -       -       X
 *   stats / check        -     -     -      -        -       -       X
 *   destroy              X     X     X      X        X       X       X
 *
 * "-": may run concurrently from any threads. "X": the caller must exclude
 * (destroy must not run concurrently with any other call on that domain).
 * The cached alloc/free path takes no lock shared between threads; tree
 * operations take the domain's tree lock.
 *
 * Memory: under 37 bytes of tree per live range in the worst case (nodes
 * are kept at least half full), ~29 measured; cached ranges are still tree
 * ranges, as in Linux. An rcache domain also keeps one byte per
 * granule of the 64 Ki-granule regions where cached-size allocations live
 * (the live map that lets free detect double and bogus frees without taking
 * a lock), and each thread that uses it 2 KiB per magazine.
 */
#ifndef IOPT_IOVA_H
#define IOPT_IOVA_H

#include <iopt/common.h>

IOPT_BEGIN_DECLS

struct iopt_iova_domain;

/* Domain flags (iopt_iova_config.flags). */
#define IOPT_IOVA_NO_RCACHE 0x1u /* no per-thread cache: every call uses the tree */

/* Allocation flags (iopt_iova_alloc flags). */
#define IOPT_IOVA_ALIGN 0x1u    /* start aligned to roundup_pow_of_two(size) */
#define IOPT_IOVA_NO_RETRY 0x2u /* on exhaustion, fail without flushing caches */

#define IOPT_IOVA_CACHE_MAX_SIZE 32u /* largest cached allocation, granules */
#define IOPT_IOVA_GRANULE_MIN 512u
#define IOPT_IOVA_GRANULE_MAX (1ull << 30)

/*
 * Domain configuration. Initialise with iopt_iova_config_init() and change
 * what you need.
 *   granule:   bytes per pfn; a power of two in [512 B, 1 GiB]. Default 4096.
 *   start_pfn: lowest pfn ever handed out. Default 1 (IOVA 0 never given).
 *   end_pfn:   highest pfn ever handed out (inclusive). Default: the last
 *              granule of the 64-bit space. Must be >= start_pfn.
 *   flags:     IOPT_IOVA_NO_RCACHE or 0.
 */
struct iopt_iova_config {
	uint64_t granule;
	uint64_t start_pfn;
	uint64_t end_pfn;
	unsigned int flags;
};

/* Statistics snapshot (iopt_iova_stats). Counters are totals since create. */
struct iopt_iova_stats {
	uint64_t cache_hits;    /* allocations served by a magazine */
	uint64_t cache_misses;  /* cached-size allocations that went to the tree */
	uint64_t cache_pfns;    /* ranges now held in magazines and the depot */
	uint64_t depot_mags;    /* full magazines now in the depot */
	uint64_t tree_nodes;    /* nodes in the tree: live + cached + reserved */
	uint64_t reserved_nodes; /* of which reserved ranges */
	uint64_t bytes_used;    /* host memory held by the domain */
	uint64_t flushes;       /* full cache flushes (explicit or on exhaustion) */
};

/*
 * iopt_iova_config_init() - fill @cfg with the defaults listed above.
 * Context: any.
 */
IOPT_API void iopt_iova_config_init(struct iopt_iova_config *cfg);

/*
 * iopt_iova_domain_create() - create an IOVA domain.
 * @cfg: configuration; NULL means the defaults. Not kept after the call.
 * @out: receives the domain on success; untouched on failure.
 * Context: any thread. The domain is owned by the caller and released with
 * iopt_iova_domain_destroy().
 * Return: 0; -EINVAL for a NULL @out, a granule that is not a power of two
 * in range, end_pfn < start_pfn, end_pfn beyond the 64-bit space or
 * unknown flags; -ENOMEM. *@out is untouched on failure.
 */
IOPT_API int iopt_iova_domain_create(const struct iopt_iova_config *cfg,
				     struct iopt_iova_domain **out);

/*
 * iopt_iova_domain_destroy() - free the domain, every range in it and every
 * thread's cache for it. Ranges still allocated are simply forgotten.
 * Context: no other call on @dom may run concurrently or follow. NULL is a
 * no-op.
 */
IOPT_API void iopt_iova_domain_destroy(struct iopt_iova_domain *dom);

/*
 * iopt_iova_granule() - the domain's granule in bytes. Context: any.
 */
IOPT_API uint64_t iopt_iova_granule(const struct iopt_iova_domain *dom);

/*
 * iopt_iova_alloc() - allocate @size granules, highest placement first, with
 * the last granule at or below @limit_pfn (the DMA mask as a pfn).
 * @flags: IOPT_IOVA_ALIGN, IOPT_IOVA_NO_RETRY. In an rcache domain, sizes up
 *         to 32 are rounded up to a power of two and always size-aligned;
 *         the rounded size is what iopt_iova_find() reports and what is kept.
 * @pfn_out: receives the first pfn on success; untouched on failure.
 * Context: any thread, concurrently with any call but destroy. The cached
 * path is lock-free; the tree path takes the domain's tree lock.
 * Exhaustion: when the tree cannot satisfy the request, every thread's
 * magazines and the depot are flushed back to the tree and the tree is
 * searched once more (unless IOPT_IOVA_NO_RETRY).
 * Placement note: unaligned requests, power-of-two sizes and size-aligned
 * requests up to 32 granules are placed exactly top-down. A larger
 * size-aligned request whose size is not a power of two is placed exactly
 * while fewer than 16 misaligned candidate gaps have been seen; past that,
 * the highest free block of the next power of two is used (an O(log n)
 * bound; it can only fail where no free aligned block of that power of two
 * exists below the limit).
 * Return: 0; -EINVAL for size 0, unknown flags, or @limit_pfn below the
 * domain's start_pfn; -ERANGE for a size larger than the domain's space;
 * -ENOMEM when no block fits below the limit, or host memory ran out.
 */
IOPT_API int iopt_iova_alloc(struct iopt_iova_domain *dom, uint64_t size,
			     uint64_t limit_pfn, unsigned int flags,
			     uint64_t *pfn_out);

/*
 * iopt_iova_free() - free a range returned by iopt_iova_alloc().
 * @pfn, @size: the range's first pfn and the size given at allocation (in
 * an rcache domain, any size that rounds to the same class is accepted).
 * Context: any thread, concurrently with any call but destroy.
 * Return: 0; -EINVAL for size 0; -ERANGE for a range outside the domain;
 * -ENOENT when no allocation starts at @pfn with that size: never
 * allocated, already freed (double free), a reserved range, or a size
 * mismatch. Nothing changes on failure. Two threads racing to free the same
 * range is a caller bug that is not guaranteed to be detected.
 */
IOPT_API int iopt_iova_free(struct iopt_iova_domain *dom, uint64_t pfn,
			    uint64_t size);

/*
 * iopt_iova_free_check() - would iopt_iova_free(@dom, @pfn, @size) free an
 * allocation now? Frees nothing. Callers that must refuse a bad release
 * before undoing other state first (a DMA unmap clears page-table entries
 * before the IOVA goes back) ask this, then free.
 * Context: any thread, concurrently with any call but destroy. Lock-free
 * for sizes the rcache serves (one live-map load); other sizes take the
 * tree lock.
 * Return: 0 when an allocation starts at @pfn and @size matches it (iova_free's
 * rule); -EINVAL for size 0, or an allocation starting at @pfn whose size
 * @size does not match; -ENOENT when no allocation starts at @pfn (never
 * allocated, freed, reserved, or @pfn inside another allocation).
 */
IOPT_API int iopt_iova_free_check(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size);

/*
 * iopt_iova_find() - look up the allocated or reserved range that contains
 * @pfn.
 * @lo, @hi: receive the range (inclusive); either may be NULL.
 * @reserved: receives true for a reserved range; may be NULL.
 * Context: any thread; takes the tree lock.
 * Return: 0; -ENOENT when @pfn is free (including ranges sitting freed in
 * a cache).
 */
IOPT_API int iopt_iova_find(struct iopt_iova_domain *dom, uint64_t pfn,
			    uint64_t *lo, uint64_t *hi, bool *reserved);

/*
 * iopt_iova_reserve() - make [@lo_pfn, @hi_pfn] permanently unavailable
 * (MSI window, bridge windows). The part outside [start_pfn, end_pfn] is
 * ignored. Reserved ranges that overlap or touch merge into one.
 * Context: any thread; takes the tree lock. Ranges freed into caches are
 * flushed back to the tree first if they overlap.
 * Return: 0; -EINVAL when @hi_pfn < @lo_pfn; -EBUSY when the range overlaps
 * a live allocation (nothing is reserved then); -ENOMEM.
 */
IOPT_API int iopt_iova_reserve(struct iopt_iova_domain *dom, uint64_t lo_pfn,
			       uint64_t hi_pfn);

/*
 * iopt_iova_cache_flush() - return every thread's magazines and the whole
 * depot to the tree. Threads keep working meanwhile: a thread that touches
 * its cache during the flush waits for it on its next call.
 * Context: any thread; takes the cache registry and tree locks.
 */
IOPT_API void iopt_iova_cache_flush(struct iopt_iova_domain *dom);

/*
 * iopt_iova_cache_reclaim() - return the depot's idle excess to the tree:
 * the magazines that stayed unused in the depot since the previous reclaim
 * (the working-set rule of Bonwick's magazine depot). Call it from a timer
 * on an idle domain; busy domains run it from their slow path every 100 ms.
 * Context: any thread.
 * Return: the number of magazines returned to the tree.
 */
IOPT_API unsigned int iopt_iova_cache_reclaim(struct iopt_iova_domain *dom);

/*
 * iopt_iova_stats() - fill @st with a snapshot. Counters are read without
 * stopping other threads, so a concurrent snapshot is approximate.
 * Context: any thread.
 */
IOPT_API void iopt_iova_stats(struct iopt_iova_domain *dom,
			      struct iopt_iova_stats *st);

/*
 * iopt_iova_check() - verify the tree's invariants (ordering, no overlap,
 * balance, augmented gaps, bounds) and the cache accounting.
 * Context: any thread; takes the tree lock. O(n): meant for tests.
 * Return: 0, or -EFAULT when an invariant is broken.
 */
IOPT_API int iopt_iova_check(struct iopt_iova_domain *dom);

IOPT_END_DECLS

#endif /* IOPT_IOVA_H */
