/* SPDX-License-Identifier: MIT */
/* LX(iova_*): peers.h over the kernel's drivers/iommu/iova.c. */
#include <linux/iova.h>

#include "peers.h"

struct lx_iova {
	struct iova_domain d;
	bool rcache;
};

struct lx_iova *LX(iova_create)(bool rcache)
{
	struct lx_iova *x = calloc(1, sizeof(*x));

	if (!x || iova_cache_get()) {
		free(x);
		return NULL;
	}
	init_iova_domain(&x->d, 4096, 1);
	x->rcache = rcache;
	if (rcache && iova_domain_init_rcaches(&x->d)) {
		put_iova_domain(&x->d);
		iova_cache_put();
		free(x);
		return NULL;
	}
	return x;
}

void LX(iova_destroy)(struct lx_iova *x)
{
	put_iova_domain(&x->d);
	iova_cache_put();
	free(x);
}

int LX(iova_alloc)(struct lx_iova *x, uint64_t size, uint64_t limit_pfn, bool align,
		   uint64_t *pfn)
{
	if (x->rcache) {
		/* flush_rcache = true: what dma-iommu.c passes on its second try. */
		unsigned long p = alloc_iova_fast(&x->d, size, limit_pfn, true);

		if (!p)
			return -ENOMEM;
		*pfn = p;
		return 0;
	}
	struct iova *i = alloc_iova(&x->d, size, limit_pfn, align);

	if (!i)
		return -ENOMEM;
	*pfn = i->pfn_lo;
	return 0;
}

int LX(iova_free)(struct lx_iova *x, uint64_t pfn, uint64_t size)
{
	if (x->rcache) {
		free_iova_fast(&x->d, pfn, size);
		return 0;
	}
	/* free_iova: find + __free_iova under one lock hold, the kernel's cheapest. */
	free_iova(&x->d, pfn);
	return 0;
}
