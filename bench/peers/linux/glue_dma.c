/* SPDX-License-Identifier: MIT */
/*
 * LX(dma_*): the kernel's own dma-iommu.c map/unmap path and flush queue.
 * dma-iommu-part.h is the part of the kernel's drivers/iommu/dma-iommu.c
 * that extract.py takes at build time (meson.build lists the pieces):
 * __iommu_dma_map / __iommu_dma_unmap, iommu_dma_alloc_iova /
 * iommu_dma_free_iova, the cookie, and the whole flush queue (queue_iova,
 * fq_ring_*, fq_flush_iotlb, fq_flush_timeout, iommu_dma_init_fq, ...).
 *
 * The glue plays what calls them and what they call: the device (a trusted,
 * coherent PCI device whose group's default domain is an AMD v2 table),
 * iommu_dma_init_domain's set-up of the cookie (granule 4 KiB, base pfn 1,
 * no reserved regions), the iommu core (glue_pgtable.c) and the driver's
 * flush_iotlb_all (a counted flush). iommu_dma_map_page's swiotlb and
 * non-coherent checks around __iommu_dma_map are left out.
 */
#include <linux/iova.h>
#include <linux/io-pgtable.h>

#if LX_VERSION >= 612
#include "iommu-pages.h"
#endif
#include "glue.h"

/* Kernel code: its own warning profile, not ours. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-prototypes"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "dma-iommu-part.h"
#pragma GCC diagnostic pop

struct lx_dma {
	struct device dev;
	struct dev_iommu dev_iommu;
	struct lx_pt *pt;
	struct iommu_domain *domain;
	struct iommu_dma_cookie *cookie;
};

/* The group's default domain: the one this device's lx_dma set up. */
struct iommu_domain *iommu_get_dma_domain(struct device *dev)
{
	return container_of(dev, struct lx_dma, dev)->domain;
}

struct lx_dma *LX(dma_create)(bool lazy)
{
	struct lx_dma *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (iova_cache_get()) {
		free(d);
		return NULL;
	}
	d->pt = LX(pt_create)(LX_PT_AMD_V2);
	d->domain = d->pt ? lx_pt_domain(d->pt) : NULL;
	d->cookie = d->domain ? cookie_alloc(IOMMU_DMA_IOVA_COOKIE) : NULL;
	if (!d->cookie)
		goto fail;
	mutex_init(&d->cookie->mutex);
	/* As probe and iommu_dma_init_domain would leave a trusted PCI device. */
	d->dev_iommu.pci_32bit_workaround = true;
	d->dev.iommu = &d->dev_iommu;
	d->domain->iova_cookie = d->cookie;
	init_iova_domain(&d->cookie->iovad, SZ_4K, 1);
	if (iova_domain_init_rcaches(&d->cookie->iovad))
		goto fail;
#if LX_VERSION >= 612
	iommu_dma_init_options(&d->cookie->options, &d->dev);
#endif
	if (lazy && iommu_dma_init_fq(d->domain))
		goto fail;
	return d;
fail:
	LX(dma_destroy)(d);
	return NULL;
}

void LX(dma_destroy)(struct lx_dma *d)
{
	if (d->cookie) {
		/* As iommu_put_dma_cookie. */
		iommu_dma_free_fq(d->cookie);
		put_iova_domain(&d->cookie->iovad);
		kfree(d->cookie);
	}
	if (d->pt)
		LX(pt_free)(d->pt);
	iova_cache_put();
	free(d);
}

int LX(dma_map)(struct lx_dma *d, uint64_t phys, uint64_t size, uint64_t dma_limit,
		uint64_t *iova)
{
	/* dma_info_to_prot(DMA_BIDIRECTIONAL) for a coherent device. */
	dma_addr_t a = __iommu_dma_map(&d->dev, phys, size,
				       IOMMU_READ | IOMMU_WRITE | IOMMU_CACHE, dma_limit);

	if (a == DMA_MAPPING_ERROR)
		return -ENOMEM;
	*iova = a;
	return 0;
}

int LX(dma_unmap)(struct lx_dma *d, uint64_t iova, uint64_t size)
{
	__iommu_dma_unmap(&d->dev, iova, size);
	return 0;
}

unsigned long LX(dma_flushes)(const struct lx_dma *d)
{
	return LX(pt_flushes)(d->pt);
}

static struct iova_fq *cpu_fq(struct lx_dma *d, int cpu)
{
#if LX_VERSION < 612
	return per_cpu_ptr(d->cookie->fq, cpu);
#else
	return per_cpu_ptr(d->cookie->percpu_fq, cpu);
#endif
}

unsigned LX(dma_queued)(struct lx_dma *d)
{
	unsigned n = 0, i;
	int cpu;

	if (!d->cookie->fq_domain)
		return 0;
	for_each_possible_cpu(cpu) {
		struct iova_fq *fq = cpu_fq(d, cpu);
		unsigned long flags;

		spin_lock_irqsave(&fq->lock, flags);
		fq_ring_for_each(i, fq)
			n++;
		spin_unlock_irqrestore(&fq->lock, flags);
	}
	return n;
}

void LX(dma_flush_queue)(struct lx_dma *d)
{
	fq_flush_timeout(&d->cookie->fq_timer);
}

void LX(dma_on_flush)(struct lx_dma *d, void (*fn)(void *), void *arg)
{
	lx_pt_on_flush(d->pt, fn, arg);
}

void LX(timers_hold)(bool hold)
{
	kshim_timers_hold(hold);
}
