/* SPDX-License-Identifier: MIT */
/*
 * LX(pt_*): peers.h over the kernel's io-pgtable (ARM LPAE stage 1) and the
 * AMD v1/v2 page tables. The glue plays the driver: it sets the domain up
 * the way arm-smmu-v3 and amd/iommu.c do, gathers unmapped ranges the way
 * their unmap paths do, and stands in for the hardware flushes with
 * counters. For the DMA glue it also plays the iommu.c core over an AMD
 * domain (iommu_map, iommu_unmap_fast; glue.h).
 */
#include <linux/io-pgtable.h>

#include "amd_iommu_types.h"
#include "amd_iommu.h"
#include "glue.h"

struct lx_pt {
	struct io_pgtable_ops *ops;
	enum lx_pt_fmt fmt;
	struct protection_domain pdom; /* AMD only: the driver's domain */
	struct iommu_iotlb_gather gather;
	unsigned long flushes; /* atomic: the DMA peer's threads share a table */
	void (*on_flush)(void *arg); /* test hook inside flush_iotlb_all */
	void *on_flush_arg;
};

static void count_flush(struct lx_pt *pt)
{
	__atomic_fetch_add(&pt->flushes, 1, __ATOMIC_RELAXED);
}

/* The hardware side of the AMD driver: every flush request is only counted. */
static void amd_count(struct protection_domain *d)
{
	count_flush(container_of(d, struct lx_pt, pdom));
}

void amd_iommu_update_and_flush_device_table(struct protection_domain *d) { (void)d; }
#if LX_VERSION < 612
void amd_iommu_domain_flush_complete(struct protection_domain *d) { (void)d; }
void amd_iommu_domain_flush_tlb_pde(struct protection_domain *d) { amd_count(d); }
void amd_iommu_domain_update(struct protection_domain *d) { (void)d; }
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
#else
/* init.c's defaults: no 5-level guest tables, v1 page sizes of the spec. */
int amd_iommu_gpt_level = PAGE_MODE_4_LEVEL;
unsigned long amd_iommu_pgsize_bitmap = AMD_IOMMU_PGSIZES;

void amd_iommu_domain_flush_pages(struct protection_domain *d, u64 address, size_t size)
{
	amd_count(d);
}
#endif

static void gather_reset(struct iommu_iotlb_gather *g)
{
	g->start = ULONG_MAX;
	g->end = 0;
	g->pgsize = 0;
	g->queued = false;
	INIT_LIST_HEAD(&g->freelist);
}

/* iotlb_sync of either driver: one (counted) flush for what g holds. */
static void gather_sync(struct lx_pt *pt, struct iommu_iotlb_gather *g)
{
	if (g->pgsize)
		count_flush(pt);
	gather_reset(g);
}

/*
 * Grow g by [iova, iova + size); a disjoint range flushes first (as
 * iommu.h). Inline, as the kernel's helper is into the driver's unmap.
 */
static __always_inline void gather_add(struct lx_pt *pt, struct iommu_iotlb_gather *g, unsigned long iova,
		       size_t size)
{
	unsigned long end = iova + size - 1;

	if (g->pgsize && (g->pgsize != size || end + 1 < g->start || iova > g->end + 1))
		gather_sync(pt, g);
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
	gather_add(cookie, g, iova, granule);
}

static const struct iommu_flush_ops arm_tlb = {
	.tlb_flush_all = arm_flush_all,
	.tlb_flush_walk = arm_flush_walk,
	.tlb_add_page = arm_add_page,
};

static struct lx_pt *domain_pt(struct iommu_domain *dom)
{
	return container_of(dom, struct lx_pt, pdom.domain);
}

/* The AMD driver's domain ops that the iommu core and dma-iommu.c call. */
static void amd_iotlb_sync(struct iommu_domain *dom, struct iommu_iotlb_gather *g)
{
	gather_sync(domain_pt(dom), g);
}

static void amd_flush_iotlb_all(struct iommu_domain *dom)
{
	struct lx_pt *pt = domain_pt(dom);

	if (unlikely(pt->on_flush))
		pt->on_flush(pt->on_flush_arg);
	count_flush(pt);
}

static const struct iommu_domain_ops amd_domain_ops = {
	.iotlb_sync = amd_iotlb_sync,
	.flush_iotlb_all = amd_flush_iotlb_all,
};

/* As amd/iommu.c's domain set-up for v1/v2 (6.1: with a 4-level v1 root). */
static struct io_pgtable_ops *amd_create(struct lx_pt *pt)
{
	struct protection_domain *d = &pt->pdom;
	bool v2 = pt->fmt == LX_PT_AMD_V2;

	spin_lock_init(&d->lock);
	d->domain.ops = &amd_domain_ops;
	/* The driver's aperture: 48 bits with 4 levels, which dma-iommu.c enforces. */
	d->domain.geometry.aperture_end = (1ull << 48) - 1;
	d->domain.geometry.force_aperture = true;
#if LX_VERSION < 612
	if (v2) {
		d->flags |= PD_IOMMUV2_MASK;
	} else {
		u64 *root = (u64 *)get_zeroed_page(GFP_KERNEL);

		if (!root)
			return NULL;
		amd_iommu_domain_set_pgtable(d, root, PAGE_MODE_4_LEVEL);
	}
	struct io_pgtable_ops *ops = alloc_io_pgtable_ops(v2 ? AMD_IOMMU_V2 : AMD_IOMMU_V1,
							  &d->iop.pgtbl_cfg, d);
	if (!ops)
		free_page(d->iop.root);
	return ops;
#else
	/* The v1 table starts at 3 levels and grows when an IOVA needs more. */
	d->pd_mode = v2 ? PD_MODE_V2 : PD_MODE_V1;
	d->iop.pgtbl.cfg.amd.nid = NUMA_NO_NODE;
	return alloc_io_pgtable_ops(v2 ? AMD_IOMMU_V2 : AMD_IOMMU_V1, &d->iop.pgtbl.cfg, d);
#endif
}

struct lx_pt *LX(pt_create)(enum lx_pt_fmt fmt)
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
		pt->ops = amd_create(pt);
	}
	if (!pt->ops) {
		free(pt);
		return NULL;
	}
	return pt;
}

void LX(pt_free)(struct lx_pt *pt)
{
	free_io_pgtable_ops(pt->ops);
	free(pt);
}

int LX(pt_map)(struct lx_pt *pt, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t count)
{
	size_t mapped = 0;

	return pt->ops->map_pages(pt->ops, iova, pa, pgsize, count, IOMMU_READ | IOMMU_WRITE,
				  GFP_KERNEL, &mapped);
}

/* As amd_iommu_unmap_pages: the table's unmap, then the range into the gather. */
static __always_inline size_t amd_unmap(struct lx_pt *pt, unsigned long iova, size_t pgsize,
					size_t count, struct iommu_iotlb_gather *g)
{
	size_t r = pt->ops->unmap_pages(pt->ops, iova, pgsize, count, NULL);

	if (r)
		gather_add(pt, g, iova, r);
	return r;
}

uint64_t LX(pt_unmap)(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count)
{
	/* ARM gathers from inside the walk. */
	if (pt->fmt == LX_PT_ARM_S1)
		return pt->ops->unmap_pages(pt->ops, iova, pgsize, count, &pt->gather);
	return amd_unmap(pt, iova, pgsize, count, &pt->gather);
}

void LX(pt_sync)(struct lx_pt *pt)
{
	gather_sync(pt, &pt->gather);
}

unsigned long LX(pt_flushes)(const struct lx_pt *pt)
{
	return __atomic_load_n(&pt->flushes, __ATOMIC_RELAXED);
}

uint64_t LX(pt_iova_to_phys)(struct lx_pt *pt, uint64_t iova)
{
	return pt->ops->iova_to_phys(pt->ops, iova);
}

struct iommu_domain *lx_pt_domain(struct lx_pt *pt)
{
	return pt->fmt == LX_PT_ARM_S1 ? NULL : &pt->pdom.domain;
}

void lx_pt_on_flush(struct lx_pt *pt, void (*fn)(void *), void *arg)
{
	pt->on_flush = fn;
	pt->on_flush_arg = arg;
}

/*
 * The iommu.c core over an AMD domain, for the sizes the bench uses (4 KiB
 * multiples, so no page-size split): the driver's map_pages / unmap_pages,
 * the latter adding the range to the gather as amd_iommu_unmap_pages does.
 */
static int domain_map(struct iommu_domain *dom, unsigned long iova, phys_addr_t paddr,
		      size_t size, int prot)
{
	struct lx_pt *pt = domain_pt(dom);
	size_t mapped = 0;

	return pt->ops->map_pages(pt->ops, iova, paddr, SZ_4K, size / SZ_4K, prot, GFP_ATOMIC,
				  &mapped);
}

#if LX_VERSION < 612
int iommu_map_atomic(struct iommu_domain *dom, unsigned long iova, phys_addr_t paddr,
		     size_t size, int prot)
{
	return domain_map(dom, iova, paddr, size, prot);
}
#else
int iommu_map(struct iommu_domain *dom, unsigned long iova, phys_addr_t paddr, size_t size,
	      int prot, gfp_t gfp)
{
	return domain_map(dom, iova, paddr, size, prot);
}
#endif

size_t iommu_unmap_fast(struct iommu_domain *dom, unsigned long iova, size_t size,
			struct iommu_iotlb_gather *g)
{
	return amd_unmap(domain_pt(dom), iova, SZ_4K, size / SZ_4K, g);
}
