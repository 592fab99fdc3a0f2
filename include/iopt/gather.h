/* SPDX-License-Identifier: MIT */
/*
 * iopt IOTLB gather: batches the IOVA ranges and the table pages that one
 * or more unmap operations produced, so the owner flushes the IOTLB once
 * and only then releases the pages (hw-facts §6.3, Linux
 * struct iommu_iotlb_gather).
 *
 * Contract:
 *   - [start, end] is inclusive. An empty gather has start = UINT64_MAX,
 *     end = 0 (so "end != 0" means non-empty).
 *   - pgsize is the flush stride: every leaf entry (descriptor) removed
 *     in the batch maps at least pgsize bytes, and every range is aligned
 *     to it. The page-table code sets it to the smallest leaf it actually
 *     removed (a slot of a contiguous run counts as one descriptor of the
 *     slot's size), whatever page size the caller asked to unmap with.
 *   - mixed: some leaf removed maps more than pgsize. Then no leaf-size
 *     hint may be derived from pgsize (SMMU TTL, a per-leaf-size flush):
 *     the planners get leaf_only = false from the DMA layer.
 *   - freelist holds table pages detached from a page table. They may still
 *     be walked by the IOMMU (paging-structure caches) until the flush and by
 *     iopt_pt_iova_to_phys readers until an RCU grace period has passed, so
 *     they are released only by iopt_gather_sync(): owner flush first, then
 *     an urcu-memb grace period, then each page's release callback.
 *   - queued: the owner will flush everything later (flush queue); the
 *     owner's sync callback may then skip range work. It does not change
 *     what iopt_gather_sync() releases.
 *   - Range-list ("no gaps") mode, chosen with iopt_gather_init_list():
 *     [start, end] is the open range and ranges[0..nr_ranges) the closed
 *     ones. A range disjoint from the open one closes it (no sync) instead
 *     of widening it over the gap, so a shadowing hypervisor that replays
 *     every invalidation is not asked to flush IOVA that was not unmapped
 *     (until the list overflows). At most max_ranges ranges are kept in
 *     all; the online merge may also over-cover when a later range bridges
 *     earlier ones after a merge was forced. When one more is
 *     needed, the two closest closed ranges (smallest gap between sorted
 *     neighbours) merge into one, over-covering that gap only. A stride
 *     change still syncs first, as in the single-range mode.
 *   - Flush callbacks read ranges[0..nr_ranges): iopt_gather_sync() fills
 *     them in both modes (single mode: one range = [start, end]; list
 *     mode: sorted, disjoint, non-touching, at most max_ranges), and
 *     [start, end] is then their hull.
 *
 * Barriers: the page-table code publishes every entry clear before it adds
 * the range (plain stores ordered by the sync callback's own barrier, which
 * the owner's IOTLB flush must issue anyway). iopt_gather_sync() issues a
 * full grace period (urcu_memb_synchronize_rcu, which implies smp_mb) before
 * releasing any page.
 *
 * Synchronization: a gather belongs to one thread at a time; nothing here
 * is thread-safe. Init/sync are the pair: every gather that got pages must
 * be synced or have them taken (iopt_gather_take_freelist, the flush
 * queue's hand-off); a gather dropped with pages on its freelist leaks them.
 */
#ifndef IOPT_GATHER_H
#define IOPT_GATHER_H

#include <iopt/common.h>

IOPT_BEGIN_DECLS

struct iopt_gather;

/*
 * A freed table page waiting for the flush. The page-table code owns the
 * node (it is not stored inside the page, which RCU readers may still
 * read); release() gives the page back to its provider and the node away.
 */
struct iopt_gather_freed {
	struct iopt_gather_freed *next;
	void (*release)(struct iopt_gather_freed *node);
};

/*
 * The owner's IOTLB flush for g->ranges[0..g->nr_ranges) (hull
 * [g->start, g->end]) with stride g->pgsize; nr_ranges may be 0 when only
 * pages are pending. Called by iopt_gather_sync() on a non-empty gather or
 * one with pages; must return only once the invalidation completed.
 */
typedef void (*iopt_gather_flush_fn)(struct iopt_gather *g, void *ctx);

/* Most ranges a list-mode gather keeps (iopt_gather_init_list). */
#define IOPT_GATHER_MAX_RANGES 8u

/* One inclusive IOVA range handed to a flush callback. */
struct iopt_gather_range {
	uint64_t start;
	uint64_t end;
};

struct iopt_gather {
	uint64_t start;                      /* first byte, UINT64_MAX if empty */
	uint64_t end;                        /* last byte (inclusive), 0 if empty */
	uint64_t pgsize;                     /* flush stride, 0 = not set yet */
	bool mixed;                          /* a leaf removed is larger than pgsize */
	struct iopt_gather_freed *freelist;  /* pages to release after flush */
	size_t nr_freed;                     /* length of freelist */
	bool queued;                         /* a flush-all will come later */
	iopt_gather_flush_fn flush;          /* may be NULL: nothing to flush */
	void *flush_ctx;
	unsigned max_ranges;                 /* 0: single range; else list mode */
	unsigned nr_ranges;                  /* valid entries of ranges[] */
	/* list mode: closed ranges, sorted; one spare slot for the sync merge */
	struct iopt_gather_range ranges[IOPT_GATHER_MAX_RANGES + 1];
};

/*
 * iopt_gather_init - empty gather with the owner's flush callback.
 * Context: any. The gather must not hold pages (use sync, not init, to
 * recycle one that might).
 */
IOPT_API void iopt_gather_init(struct iopt_gather *g, bool queued, iopt_gather_flush_fn flush,
			       void *flush_ctx);

/*
 * iopt_gather_init_list - empty gather in range-list ("no gaps") mode.
 * @max_ranges: most disjoint ranges one flush is given, 1 to
 * IOPT_GATHER_MAX_RANGES (larger values are clamped to it; 1 behaves like
 * the single-range mode except that disjoint ranges do not sync); 0 gives
 * the single-range mode (iopt_gather_init).
 * Context: any; as iopt_gather_init.
 */
IOPT_API void iopt_gather_init_list(struct iopt_gather *g, bool queued, unsigned max_ranges,
				    iopt_gather_flush_fn flush, void *flush_ctx);

/*
 * _iopt_gather_close - list mode: move the open range into ranges[]
 * (merging the closest pair if that would exceed max_ranges - 1 closed
 * ranges) and leave the gather's open range empty. Internal to the inline
 * helpers below.
 */
IOPT_API void _iopt_gather_close(struct iopt_gather *g);

/*
 * iopt_gather_take_freelist - detach the pending table pages.
 * Return: the freelist (NULL if none); the gather keeps its ranges. The
 * caller now owns the pages and must release them only after an IOTLB flush
 * that started after they were detached and an urcu-memb grace period (the
 * flush queue does this).
 */
static inline struct iopt_gather_freed *iopt_gather_take_freelist(struct iopt_gather *g)
{
	struct iopt_gather_freed *f = g->freelist;

	g->freelist = NULL;
	g->nr_freed = 0;
	return f;
}

/*
 * iopt_gather_sync - flush, release the freelist, re-initialise.
 * Runs the owner flush callback (if the gather is non-empty or has pages),
 * then, if pages are pending, waits for an urcu-memb grace period and calls
 * each page's release. Keeps queued/flush/flush_ctx/max_ranges. Before the
 * callback, ranges[0..nr_ranges) holds the ranges to flush (see above).
 * Context: must not be called inside an RCU read-side critical section
 * (it may call urcu_memb_synchronize_rcu). May sleep.
 */
IOPT_API void iopt_gather_sync(struct iopt_gather *g);

/* Does [iova, iova + size - 1] neither overlap nor touch the pending range? */
static inline bool iopt_gather_is_disjoint(const struct iopt_gather *g, uint64_t iova,
					   uint64_t size)
{
	uint64_t last = iova + size - 1;

	return g->end != 0 && (last + 1 < g->start || iova > g->end + 1);
}

/*
 * Widen the pending range to cover [iova, iova + size - 1]; never syncs.
 * List mode: a range disjoint from the open one closes that one first (it
 * stays pending in ranges[]), so no gap is covered.
 */
static inline void iopt_gather_add_range(struct iopt_gather *g, uint64_t iova, uint64_t size)
{
	uint64_t last = iova + size - 1;

	if (__builtin_expect(g->max_ranges != 0, 0) && iopt_gather_is_disjoint(g, iova, size))
		_iopt_gather_close(g);

	if (iova < g->start)
		g->start = iova;
	if (last > g->end)
		g->end = last;
}

/*
 * iopt_gather_add_page - add a range removed with leaves of size pgsize.
 * If the gather already has another stride, or (single-range mode) the
 * range is disjoint from the pending one, the pending batch is synced first
 * (hw-facts §6.3), so one flush never covers a gap it would have to
 * over-invalidate. In list mode a disjoint range is kept as another range
 * instead (see iopt_gather_add_range).
 * Return: true when the range starts a new batch (nothing was pending, or
 * the pending batch was synced first).
 * Context: as iopt_gather_sync when a sync can happen.
 */
static inline bool iopt_gather_add_page(struct iopt_gather *g, uint64_t iova, uint64_t size,
					uint64_t pgsize)
{
	if ((g->pgsize && g->pgsize != pgsize) ||
	    (!g->max_ranges && iopt_gather_is_disjoint(g, iova, size)))
		iopt_gather_sync(g);
	bool fresh = !g->end && !g->nr_ranges;

	g->pgsize = pgsize;
	iopt_gather_add_range(g, iova, size);
	return fresh;
}

/* Queue a detached table page; released by the next iopt_gather_sync(). */
static inline void iopt_gather_add_freed(struct iopt_gather *g, struct iopt_gather_freed *node)
{
	node->next = g->freelist;
	g->freelist = node;
	g->nr_freed++;
}

IOPT_END_DECLS

#endif /* IOPT_GATHER_H */
