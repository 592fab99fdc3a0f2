/* SPDX-License-Identifier: MIT */
/* IOTLB gather slow path: sync = owner flush, grace period, release, re-init. */
#include <iopt/gather.h>

#include <urcu/urcu-memb.h>

void iopt_gather_init(struct iopt_gather *g, bool queued, iopt_gather_flush_fn flush,
		      void *flush_ctx)
{
	g->start = UINT64_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->freelist = NULL;
	g->nr_freed = 0;
	g->queued = queued;
	g->flush = flush;
	g->flush_ctx = flush_ctx;
}

void iopt_gather_sync(struct iopt_gather *g)
{
	struct iopt_gather_freed *n = g->freelist;

	if (g->flush && (g->end != 0 || n))
		g->flush(g, g->flush_ctx);
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
	iopt_gather_init(g, g->queued, g->flush, g->flush_ctx);
}
