/* SPDX-License-Identifier: MIT */
/*
 * lx_dma_*: the strict-mode map/unmap path of Linux 6.1's dma-iommu.c,
 * assembled from the peers (iova.c's rcache allocator + the AMD v2 page
 * table) in the order dma-iommu.c calls them: map = alloc_iova_fast with
 * the device's limit, then map_pages; unmap = unmap_pages into an on-stack
 * gather, iotlb_sync (a counted flush), then free_iova_fast. The dma-iommu
 * layer itself (scatterlists, swiotlb, flush queue) is not part of 6.1's
 * files used here, so there is no lazy-mode peer.
 */
#include "peers.h"

#include <errno.h>
#include <stdlib.h>

struct lx_dma {
	struct lx_iova *iovad;
	struct lx_pt *pt;
};

struct lx_dma *lx_dma_create(void)
{
	struct lx_dma *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->iovad = lx_iova_create(true);
	d->pt = lx_pt_create(LX_PT_AMD_V2);
	if (!d->iovad || !d->pt) {
		lx_dma_destroy(d);
		return NULL;
	}
	return d;
}

void lx_dma_destroy(struct lx_dma *d)
{
	if (d->iovad)
		lx_iova_destroy(d->iovad);
	if (d->pt)
		lx_pt_free(d->pt);
	free(d);
}

int lx_dma_map(struct lx_dma *d, uint64_t phys, uint64_t size, uint64_t dma_limit, uint64_t *iova)
{
	uint64_t off = phys & 4095, pages = (off + size + 4095) >> 12, pfn;
	int r = lx_iova_alloc(d->iovad, pages, dma_limit >> 12, true, &pfn);

	if (r)
		return r;
	r = lx_pt_map(d->pt, pfn << 12, phys - off, 4096, pages);
	if (r) {
		lx_iova_free(d->iovad, pfn, pages);
		return r;
	}
	*iova = (pfn << 12) + off;
	return 0;
}

int lx_dma_unmap(struct lx_dma *d, uint64_t iova, uint64_t size)
{
	uint64_t off = iova & 4095, pages = (off + size + 4095) >> 12;

	if (lx_pt_unmap_sync(d->pt, iova - off, 4096, pages) != pages << 12)
		return -EINVAL;
	lx_iova_free(d->iovad, iova >> 12, pages);
	return 0;
}

unsigned long lx_dma_flushes(const struct lx_dma *d)
{
	return lx_pt_flushes(d->pt);
}
