/* SPDX-License-Identifier: MIT */
/*
 * IOTLB gather slow path: sync = owner flush, grace period, release,
 * re-init; and the range-list ("no gaps") mode's close/merge.
 */
#include <iopt/gather.h>

#include <urcu/urcu-memb.h>

void iopt_gather_init_list(struct iopt_gather *g, bool queued, unsigned max_ranges,
			   iopt_gather_flush_fn flush, void *flush_ctx)
{
	g->start = UINT64_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->mixed = false;
	g->freelist = NULL;
	g->nr_freed = 0;
	g->queued = queued;
	g->flush = flush;
	g->flush_ctx = flush_ctx;
	if (max_ranges > IOPT_GATHER_MAX_RANGES)
		max_ranges = IOPT_GATHER_MAX_RANGES;
	g->max_ranges = max_ranges;
	g->nr_ranges = 0;
}

void iopt_gather_init(struct iopt_gather *g, bool queued, iopt_gather_flush_fn flush,
		      void *flush_ctx)
{
	iopt_gather_init_list(g, queued, 0, flush, flush_ctx);
}

/*
 * Insert [s, e] into the sorted closed list, merging with every range it
 * overlaps or touches, so the list stays sorted, disjoint and non-touching.
 * Needs one free slot (the caller keeps nr_ranges <= IOPT_GATHER_MAX_RANGES).
 */
static void _iopt_gather_insert(struct iopt_gather *g, uint64_t s, uint64_t e)
{
	struct iopt_gather_range *r = g->ranges;
	unsigned n = g->nr_ranges, i = 0, j;

	while (i < n && r[i].end != UINT64_MAX && r[i].end + 1 < s)
		i++; /* r[i] ends before s with a gap */
	j = i;
	while (j < n && (e == UINT64_MAX || r[j].start <= e + 1)) {
		/* r[j] overlaps or touches [s, e]: absorb it */
		if (r[j].start < s)
			s = r[j].start;
		if (r[j].end > e)
			e = r[j].end;
		j++;
	}
	/* r[i..j) collapse into one slot at i */
	if (j == i) {
		for (unsigned k = n; k > i; k--)
			r[k] = r[k - 1];
		n++;
	} else {
		for (unsigned k = j; k < n; k++)
			r[i + 1 + k - j] = r[k];
		n -= j - i - 1;
	}
	r[i].start = s;
	r[i].end = e;
	g->nr_ranges = n;
}

/* Merge sorted neighbours with the smallest gap until at most max remain. */
static void _iopt_gather_shrink(struct iopt_gather *g, unsigned max)
{
	struct iopt_gather_range *r = g->ranges;

	while (g->nr_ranges > max) {
		unsigned best = 0;
		uint64_t best_gap = UINT64_MAX;

		for (unsigned i = 0; i + 1 < g->nr_ranges; i++) {
			uint64_t gap = r[i + 1].start - r[i].end;

			if (gap < best_gap) {
				best_gap = gap;
				best = i;
			}
		}
		r[best].end = r[best + 1].end;
		for (unsigned k = best + 1; k + 1 < g->nr_ranges; k++)
			r[k] = r[k + 1];
		g->nr_ranges--;
	}
}

void _iopt_gather_close(struct iopt_gather *g)
{
	if (g->end == 0)
		return;
	_iopt_gather_insert(g, g->start, g->end);
	/* keep one range's room for the open range that follows */
	_iopt_gather_shrink(g, g->max_ranges > 1 ? g->max_ranges - 1 : 1);
	g->start = UINT64_MAX;
	g->end = 0;
}

/* Fill ranges[] with what the flush must cover; [start, end] = hull. */
static void _iopt_gather_finish(struct iopt_gather *g)
{
	if (!g->max_ranges) {
		g->nr_ranges = 0;
		if (g->end != 0) {
			g->ranges[0].start = g->start;
			g->ranges[0].end = g->end;
			g->nr_ranges = 1;
		}
		return;
	}
	if (g->end != 0)
		_iopt_gather_insert(g, g->start, g->end);
	_iopt_gather_shrink(g, g->max_ranges);
	if (g->nr_ranges) {
		g->start = g->ranges[0].start;
		g->end = g->ranges[g->nr_ranges - 1].end;
	}
}

void iopt_gather_sync(struct iopt_gather *g)
{
	struct iopt_gather_freed *n = g->freelist;

	if (g->flush && (g->end != 0 || g->nr_ranges || n)) {
		_iopt_gather_finish(g);
		g->flush(g, g->flush_ctx);
	}
	if (n) {
		/*
		 * The IOMMU no longer walks the pages (flush done); wait for
		 * CPU readers (iopt_pt_iova_to_phys under the read lock).
		 */
		urcu_memb_synchronize_rcu();
		while (n) {
			struct iopt_gather_freed *next = n->next;

			n->release(n);
			n = next;
		}
	}
	iopt_gather_init_list(g, g->queued, g->max_ranges, g->flush, g->flush_ctx);
}
