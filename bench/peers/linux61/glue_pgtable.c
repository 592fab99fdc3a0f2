/* SPDX-License-Identifier: MIT */
/*
 * lx_pt_*: peers.h over Linux 6.1 io-pgtable (ARM LPAE stage 1) and the AMD
 * v1/v2 page tables. The glue plays the driver: it sets the domain up the way
 * arm-smmu-v3 and amd/iommu.c do, gathers unmapped ranges the way their
 * unmap paths do, and stands in for the hardware flushes with counters.
 */
#include <linux/io-pgtable.h>

#include "amd_iommu_types.h"
#include "amd_iommu.h"
#include "peers.h"

struct lx_pt {
	struct io_pgtable_ops *ops;
	enum lx_pt_fmt fmt;
	struct protection_domain pdom; /* AMD only: the driver's domain */
	struct iommu_iotlb_gather gather;
	unsigned long flushes; /* atomic: the DMA peer's threads share a table */
};

/* The hardware side of the AMD driver: every flush request is only counted. */
static void amd_count(struct protection_domain *d)
{
	__atomic_fetch_add(&container_of(d, struct lx_pt, pdom)->flushes, 1, __ATOMIC_RELAXED);
}

void amd_iommu_domain_flush_complete(struct protection_domain *d) { (void)d; }
void amd_iommu_domain_flush_tlb_pde(struct protection_domain *d) { amd_count(d); }
void amd_iommu_domain_update(struct protection_domain *d) { (void)d; }
void amd_iommu_update_and_flush_device_table(struct protection_domain *d) { (void)d; }
int amd_iommu_flush_page(struct iommu_domain *d, u32 pasid, u64 a)
{
	amd_count(container_of(d, struct protection_domain, domain));
	return 0;
}
int amd_iommu_flush_tlb(struct iommu_domain *d, u32 pasid)
{
	amd_count(container_of(d, struct protection_domain, domain));
	return 0;
}
int amd_iommu_domain_set_gcr3(struct iommu_domain *d, u32 pasid, unsigned long cr3)
{
	(void)d, (void)pasid, (void)cr3;
	return 0;
}

/* Grow the gather by [iova, iova + size); a disjoint range flushes first (as iommu.h). */
static void gather_add(struct lx_pt *pt, unsigned long iova, size_t size)
{
	struct iommu_iotlb_gather *g = &pt->gather;
	unsigned long end = iova + size - 1;

	if (g->pgsize && (g->pgsize != size || end + 1 < g->start || iova > g->end + 1))
		lx_pt_sync(pt);
	g->pgsize = size;
	if (iova < g->start)
		g->start = iova;
	if (end > g->end)
		g->end = end;
}

static void arm_flush_all(void *cookie)
{
	((struct lx_pt *)cookie)->flushes++;
}

static void arm_flush_walk(unsigned long iova, size_t size, size_t granule, void *cookie)
{
	(void)iova, (void)size, (void)granule;
	((struct lx_pt *)cookie)->flushes++;
}

static void arm_add_page(struct iommu_iotlb_gather *g, unsigned long iova, size_t granule,
			 void *cookie)
{
	(void)g;
	gather_add(cookie, iova, granule);
}

static const struct iommu_flush_ops arm_tlb = {
	.tlb_flush_all = arm_flush_all,
	.tlb_flush_walk = arm_flush_walk,
	.tlb_add_page = arm_add_page,
};

static void gather_reset(struct iommu_iotlb_gather *g)
{
	g->start = ULONG_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->queued = false;
	INIT_LIST_HEAD(&g->freelist);
}

struct lx_pt *lx_pt_create(enum lx_pt_fmt fmt)
{
	struct lx_pt *pt = calloc(1, sizeof(*pt));

	if (!pt)
		return NULL;
	pt->fmt = fmt;
	gather_reset(&pt->gather);
	if (fmt == LX_PT_ARM_S1) {
		struct io_pgtable_cfg cfg = {
			.pgsize_bitmap = SZ_4K | SZ_2M | SZ_1G,
			.ias = 48,
			.oas = 48,
			.coherent_walk = true,
			.tlb = &arm_tlb,
		};
		pt->ops = alloc_io_pgtable_ops(ARM_64_LPAE_S1, &cfg, pt);
	} else {
		/* As amd/iommu.c's protection_domain_init_v1/v2, with a 4-level root. */
		struct protection_domain *d = &pt->pdom;

		spin_lock_init(&d->lock);
		if (fmt == LX_PT_AMD_V2) {
			d->flags |= PD_IOMMUV2_MASK;
		} else {
			u64 *root = (u64 *)get_zeroed_page(GFP_KERNEL);

			if (root)
				amd_iommu_domain_set_pgtable(d, root, PAGE_MODE_4_LEVEL);
		}
		if (fmt == LX_PT_AMD_V2 || d->iop.root)
			pt->ops = alloc_io_pgtable_ops(fmt == LX_PT_AMD_V2 ? AMD_IOMMU_V2 : AMD_IOMMU_V1,
						       &d->iop.pgtbl_cfg, d);
	}
	if (!pt->ops) {
		free_page(pt->pdom.iop.root);
		free(pt);
		return NULL;
	}
	return pt;
}

void lx_pt_free(struct lx_pt *pt)
{
	free_io_pgtable_ops(pt->ops);
	free(pt);
}

int lx_pt_map(struct lx_pt *pt, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t count)
{
	size_t mapped = 0;

	return pt->ops->map_pages(pt->ops, iova, pa, pgsize, count, IOMMU_READ | IOMMU_WRITE,
				  GFP_KERNEL, &mapped);
}

uint64_t lx_pt_unmap(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count)
{
	size_t r = pt->ops->unmap_pages(pt->ops, iova, pgsize, count, &pt->gather);

	/* ARM gathers from inside the walk; the AMD driver adds the range afterwards. */
	if (pt->fmt != LX_PT_ARM_S1 && r)
		gather_add(pt, iova, r);
	return r;
}

uint64_t lx_pt_unmap_sync(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count)
{
	struct iommu_iotlb_gather g;
	size_t r;

	gather_reset(&g);
	r = pt->ops->unmap_pages(pt->ops, iova, pgsize, count, &g);
	/* The AMD driver gathers the range after the walk; its sync is one flush. */
	if (r)
		__atomic_fetch_add(&pt->flushes, 1, __ATOMIC_RELAXED);
	return r;
}

void lx_pt_sync(struct lx_pt *pt)
{
	if (pt->gather.pgsize)
		__atomic_fetch_add(&pt->flushes, 1, __ATOMIC_RELAXED);
	gather_reset(&pt->gather);
}

unsigned long lx_pt_flushes(const struct lx_pt *pt)
{
	return __atomic_load_n(&pt->flushes, __ATOMIC_RELAXED);
}

uint64_t lx_pt_iova_to_phys(struct lx_pt *pt, uint64_t iova)
{
	return pt->ops->iova_to_phys(pt->ops, iova);
}
