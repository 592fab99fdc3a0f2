/* SPDX-License-Identifier: MIT */
/* DMA layer: IOVA + page table + gather + flush queue (include/iopt/dma.h). */
#include <iopt/dma.h>

#include <stdlib.h>

#include "gather/planner.h"
#include "iova/rcache_fast.h"
#include "util.h"

/* Block sizes (in granules, log2) that get an inline plan: the rcache's classes. */
#define DMA_BLK_ORDERS 6u
_Static_assert(1u << (DMA_BLK_ORDERS - 1) == IOPT_IOVA_CACHE_MAX_SIZE, "one per rcache class");

struct iopt_dma_domain {
	/* What map and unmap read: the first cache line. */
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
	struct iopt_flushq *fq;  /* lazy mode only */
	uint64_t granule;
	unsigned shift;
	bool trusted;
	bool granule_is_page;    /* the granule is a page size of pt */
	bool leaf_fast;          /* ... and the smallest one: iopt_pt_unmap_leaf applies */
	bool map_fast;           /* leaf_fast and no flush on map: iopt_pt_map_leaf applies */
	bool flush_on_map;       /* IOPT_DMA_F_FLUSH_ON_MAP (maps take the slow path) */
	uint8_t blk_ok;          /* bit k: blk[k] plans a block of 2^k granules */
	struct iopt_dma_ops ops;
	struct iopt_inv_cmd blk[DMA_BLK_ORDERS]; /* _iopt_inv_block_tmpl, stride = granule */
	unsigned gather_ranges;
	uint64_t big_leaf;       /* smallest page size above the granule (0: none) */
	struct iopt_inv_target inv; /* command mode when inv.vendor != 0 */
};

/*
 * The inline plan of [start, start + len) with stride = granule and no
 * table freed, when it is one aligned block with a template (every
 * rcache-sized buffer): the planner's own plan for it, without the planner.
 */
static inline bool _iopt_dma_blk_cmd(const struct iopt_dma_domain *dom, uint64_t start,
				     uint64_t len, struct iopt_inv_cmd *cmd)
{
	if (!iopt_is_pow2(len) || (start & (len - 1)) || start >= _IOPT_INV_TMPL_LIMIT)
		return false;
	unsigned k = (unsigned)__builtin_ctzll(len) - dom->shift;

	if (k >= DMA_BLK_ORDERS || !(dom->blk_ok >> k & 1))
		return false;
	*cmd = (struct iopt_inv_cmd){ { dom->blk[k].w[0], dom->blk[k].w[1] | start } };
	return true;
}

/*
 * Command mode: plan the ranges, submit, wait. leaf_only is claimed only
 * when no table went away and every range is too short to have held a leaf
 * larger than the granule (the gather's stride is the granule, and an SMMU
 * TTL hint derived from it must not skip a larger cached leaf); templates
 * exist only for such blocks. A request the planner refuses becomes the
 * scope-wide command: more, never less.
 */
static iopt_noinline void _iopt_dma_invalidate(struct iopt_dma_domain *dom,
					       const struct iopt_gather_range *r, unsigned nr,
					       uint64_t pgsize, bool not_leaf)
{
	struct iopt_inv_cmd cmds[IOPT_INV_MAX_BUDGET];
	struct iopt_inv_range ir[IOPT_GATHER_MAX_RANGES + 1];
	bool leaf_only = !not_leaf; /* no table freed, no leaf above the stride */
	int n = -EINVAL;

	if (nr == 1 && leaf_only && pgsize == dom->granule &&
	    _iopt_dma_blk_cmd(dom, r->start, r->end - r->start + 1, cmds)) {
		n = 1;
	} else if (nr) {
		for (unsigned i = 0; i < nr; i++) {
			ir[i] = (struct iopt_inv_range){ r[i].start, r[i].end };
			if (dom->big_leaf && r[i].end - r[i].start >= dom->big_leaf - 1)
				leaf_only = false;
		}
		struct iopt_inv_req req = { ir, nr, pgsize, leaf_only };
		n = iopt_inv_plan(&dom->inv, &req, cmds, IOPT_INV_MAX_BUDGET);
	}
	if (n < 0)
		n = iopt_inv_plan_scope(&dom->inv, cmds); /* validated at create: 1 */
	dom->ops.submit(dom->ops.ctx, cmds, (unsigned)n);
	dom->ops.wait(dom->ops.ctx);
}

/* Invalidate one granule cleared by iopt_pt_unmap_leaf (no gather, no table freed). */
static inline void _iopt_dma_flush_one(struct iopt_dma_domain *dom, uint64_t base)
{
	if (iopt_likely((dom->blk_ok & 1) && base < _IOPT_INV_TMPL_LIMIT)) {
		struct iopt_inv_cmd c = { { dom->blk[0].w[0], dom->blk[0].w[1] | base } };

		dom->ops.submit(dom->ops.ctx, &c, 1);
		dom->ops.wait(dom->ops.ctx);
		return;
	}
	struct iopt_gather_range r = { base, base + dom->granule - 1 };

	if (dom->inv.vendor)
		_iopt_dma_invalidate(dom, &r, 1, dom->granule, false);
	else
		dom->ops.flush_range(dom->ops.ctx, &r, 1, dom->granule);
}

/*
 * IOPT_DMA_F_FLUSH_ON_MAP: invalidate [base, base + len) once mapped, not
 * leaf-only: the tables the map created replaced not-present entries that
 * the IOMMU may have cached too.
 */
static iopt_noinline void _iopt_dma_flush_new(struct iopt_dma_domain *dom, uint64_t base,
					      uint64_t len)
{
	struct iopt_gather_range r = { base, base + len - 1 };

	if (dom->inv.vendor)
		_iopt_dma_invalidate(dom, &r, 1, dom->granule, true);
	else
		dom->ops.flush_range(dom->ops.ctx, &r, 1, dom->granule);
}

static void _iopt_dma_flush_all(struct iopt_dma_domain *dom)
{
	if (dom->inv.vendor)
		_iopt_dma_invalidate(dom, NULL, 0, 0, true);
	else
		dom->ops.flush_all(dom->ops.ctx);
}

/*
 * Gather sync callback. A queued gather leaves range work to the flush
 * queue's flush_all, unless table pages are pending: sync releases them
 * right after this returns, so they must be flushed now.
 */
static void _iopt_dma_gather_flush(struct iopt_gather *g, void *ctx)
{
	struct iopt_dma_domain *dom = ctx;

	if (g->queued && !g->freelist)
		return;
	if (dom->inv.vendor)
		_iopt_dma_invalidate(dom, g->ranges, g->nr_ranges, g->pgsize, g->freelist || g->mixed);
	else if (g->nr_ranges)
		dom->ops.flush_range(dom->ops.ctx, g->ranges, g->nr_ranges, g->pgsize);
	else
		dom->ops.flush_all(dom->ops.ctx);
}

static void _iopt_dma_fq_flush_all(void *ctx)
{
	_iopt_dma_flush_all(ctx);
}

/*
 * IOVA release of a range validated at unmap (live, this size class): the
 * rcache's inline push, else the call.
 */
static inline void _iopt_dma_iova_release(struct iopt_dma_domain *dom, uint64_t pfn,
					  uint64_t npages)
{
	if (!_iopt_rcache_free_fast(dom->iovad, pfn, npages))
		(void)iopt_iova_free(dom->iovad, pfn, npages);
}

static void _iopt_dma_fq_release(void *ctx, uint64_t pfn, uint64_t npages)
{
	_iopt_dma_iova_release(ctx, pfn, npages);
}

int iopt_dma_create(const struct iopt_dma_cfg *cfg, struct iopt_dma_domain **out)
{
	struct iopt_dma_domain *dom;
	struct iopt_inv_cmd probe;
	int r;

	if (!cfg || !out || !cfg->pt || !cfg->iovad ||
	    (cfg->mode != IOPT_DMA_STRICT && cfg->mode != IOPT_DMA_LAZY) ||
	    (cfg->flags & ~(IOPT_DMA_F_MSI_X86 | IOPT_DMA_F_FQ_SINGLE | IOPT_DMA_F_FQ_TIMER |
			    IOPT_DMA_F_TRUSTED | IOPT_DMA_F_FLUSH_ON_MAP)) ||
	    cfg->gather_ranges > IOPT_GATHER_MAX_RANGES)
		return -EINVAL;
	if (cfg->inv.vendor ? (!cfg->ops.submit || !cfg->ops.wait ||
			       iopt_inv_plan_scope(&cfg->inv, &probe) < 0)
			    : (!cfg->ops.flush_range || !cfg->ops.flush_all))
		return -EINVAL;
	dom = _iopt_calloc(1, sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->pt = cfg->pt;
	dom->iovad = cfg->iovad;
	dom->granule = iopt_iova_granule(cfg->iovad);
	dom->shift = (unsigned)__builtin_ctzll(dom->granule);
	dom->gather_ranges = cfg->gather_ranges;
	dom->trusted = !!(cfg->flags & IOPT_DMA_F_TRUSTED);
	dom->flush_on_map = !!(cfg->flags & IOPT_DMA_F_FLUSH_ON_MAP);
	dom->granule_is_page = !!(iopt_pt_pgsize_bitmap(cfg->pt) & dom->granule);
	dom->ops = cfg->ops;
	dom->inv = cfg->inv;
	uint64_t sizes = iopt_pt_pgsize_bitmap(cfg->pt), above = sizes & ~((dom->granule << 1) - 1);
	dom->big_leaf = above & -above;
	dom->leaf_fast = (sizes & -sizes) == dom->granule;
	dom->map_fast = dom->leaf_fast && !dom->flush_on_map;
	for (unsigned k = 0; k < DMA_BLK_ORDERS && dom->inv.vendor; k++)
		if ((!dom->big_leaf || dom->granule << k < dom->big_leaf) &&
		    _iopt_inv_block_tmpl(&dom->inv, dom->shift, k, &dom->blk[k]))
			dom->blk_ok |= (uint8_t)(1u << k);
	if (cfg->mode == IOPT_DMA_LAZY) {
		struct iopt_flushq_cfg fc = {
			.single = !!(cfg->flags & IOPT_DMA_F_FQ_SINGLE),
			.timer_thread = !!(cfg->flags & IOPT_DMA_F_FQ_TIMER),
			.entries = cfg->fq_entries,
			.timeout_ns = cfg->fq_timeout_ns,
			.flush_all = _iopt_dma_fq_flush_all,
			.release = _iopt_dma_fq_release,
			.ctx = dom,
			.clock = cfg->clock,
			.clock_ctx = cfg->clock_ctx,
		};

		r = iopt_flushq_create(&fc, &dom->fq);
		if (r) {
			_iopt_free(dom);
			return r;
		}
	}
	if (cfg->flags & IOPT_DMA_F_MSI_X86) {
		r = iopt_dma_reserve(dom, IOPT_DMA_MSI_X86_START,
				     IOPT_DMA_MSI_X86_END - IOPT_DMA_MSI_X86_START + 1);
		if (r) {
			iopt_flushq_destroy(dom->fq);
			_iopt_free(dom);
			return r;
		}
	}
	/* Tables a large-page map replaces are invalidated like any other. */
	iopt_pt_set_flush(dom->pt, _iopt_dma_gather_flush, dom);
	*out = dom;
	return 0;
}

void iopt_dma_destroy(struct iopt_dma_domain *dom)
{
	if (!dom)
		return;
	iopt_flushq_destroy(dom->fq);
	iopt_pt_set_flush(dom->pt, NULL, NULL);
	_iopt_free(dom);
}

struct iopt_flushq *iopt_dma_flush_queue(struct iopt_dma_domain *dom)
{
	return dom->fq;
}

int iopt_dma_reserve(struct iopt_dma_domain *dom, uint64_t iova, uint64_t size)
{
	if (!size || iova + size - 1 < iova)
		return -EINVAL;
	return iopt_iova_reserve(dom->iovad, iova >> dom->shift, (iova + size - 1) >> dom->shift);
}

/* Granule-rounded length of [addr, addr + size); 0 on wrap or size 0. */
static inline uint64_t _iopt_dma_span(const struct iopt_dma_domain *dom, uint64_t addr,
				      uint64_t size)
{
	uint64_t off = addr & (dom->granule - 1);

	if (!size || size > UINT64_MAX - off - dom->granule)
		return 0;
	return (off + size + dom->granule - 1) & ~(dom->granule - 1);
}

static int _iopt_dma_alloc(struct iopt_dma_domain *dom, uint64_t len, uint64_t dma_mask,
			   uint64_t *pfn)
{
	int r = iopt_iova_alloc(dom->iovad, len >> dom->shift, dma_mask >> dom->shift,
				IOPT_IOVA_ALIGN, pfn);

	/* size and flags are valid here: -EINVAL can only mean the mask */
	return r == -EINVAL ? -ERANGE : r;
}

/*
 * Remove [base, base + len) from the page table into a stack gather and
 * sync it (driver flush_range returned) unless queued. Shared by strict
 * unmap and the map_sg failure path.
 */
static int _iopt_dma_unmap_pt(struct iopt_dma_domain *dom, uint64_t base, uint64_t len,
			      struct iopt_gather *g, bool queued)
{
	uint64_t unmapped;
	int r;

	iopt_gather_init_list(g, queued, dom->gather_ranges, _iopt_dma_gather_flush, dom);
	r = iopt_pt_unmap_pages(dom->pt, base, dom->granule, len >> dom->shift, g, &unmapped);
	if (!queued)
		iopt_gather_sync(g);
	return r;
}

/*
 * Map [base, base + len) -> phys: map_range undoes its own partial work on
 * failure, then the IOVA goes back. One granule that is a page size has
 * only one choice of page, so the single-page call maps exactly what
 * map_range would.
 */
static iopt_noinline int _iopt_dma_map_at(struct iopt_dma_domain *dom, uint64_t pfn,
					  uint64_t phys, uint64_t off, uint64_t len, unsigned prot,
					  uint64_t *iova)
{
	uint64_t base = pfn << dom->shift;
	int r;

	if (len == dom->granule && dom->granule_is_page)
		r = iopt_pt_map_pages(dom->pt, base, phys - off, len, 1, prot, NULL);
	else
		r = iopt_pt_map_range(dom->pt, base, phys - off, len, prot, NULL);
	if (r) {
		(void)iopt_iova_free(dom->iovad, pfn, len >> dom->shift);
		return r;
	}
	if (dom->flush_on_map)
		_iopt_dma_flush_new(dom, base, len);
	*iova = base + off;
	return 0;
}

static iopt_noinline int _iopt_dma_map_slow(struct iopt_dma_domain *dom, uint64_t phys,
					    uint64_t size, unsigned prot, uint64_t dma_mask,
					    uint64_t *iova)
{
	uint64_t len = _iopt_dma_span(dom, phys, size), pfn;
	int r;

	if (!len || !iova || phys + size - 1 < phys)
		return -EINVAL;
	r = _iopt_dma_alloc(dom, len, dma_mask, &pfn);
	if (r)
		return r;
	return _iopt_dma_map_at(dom, pfn, phys, phys & (dom->granule - 1), len, prot, iova);
}

/* Fast path: within one granule (nothing can wrap), into the cached leaf table. */
int iopt_dma_map(struct iopt_dma_domain *dom, uint64_t phys, uint64_t size, unsigned prot,
		 uint64_t dma_mask, uint64_t *iova)
{
	uint64_t off = phys & (dom->granule - 1), pfn;

	if (iopt_likely(size - 1 < dom->granule - off && dom->map_fast && iova)) {
		if (iopt_unlikely(!_iopt_rcache_alloc_fast(dom->iovad, 1, dma_mask >> dom->shift,
							   IOPT_IOVA_ALIGN, &pfn))) {
			int r = _iopt_dma_alloc(dom, dom->granule, dma_mask, &pfn);

			if (r)
				return r;
		}
		if (iopt_likely(iopt_pt_map_leaf(dom->pt, pfn << dom->shift, phys - off, prot) == 1)) {
			*iova = (pfn << dom->shift) + off;
			return 0;
		}
		return _iopt_dma_map_at(dom, pfn, phys, off, dom->granule, prot, iova);
	}
	return _iopt_dma_map_slow(dom, phys, size, prot, dma_mask, iova);
}

/*
 * After iopt_iova_free_check said @owned (0 or -EINVAL) for [base, +len):
 * the mapped test, then the unmap through a gather.
 */
static iopt_noinline int _iopt_dma_unmap_checked(struct iopt_dma_domain *dom, uint64_t base,
						 uint64_t len, int owned)
{
	uint64_t pfn = base >> dom->shift, npages = len >> dom->shift, phys;
	struct iopt_gather g;
	int r;

	/* Lazy: a queued range is still allocated; its PTEs are already gone. */
	if (iopt_pt_iova_to_phys(dom->pt, base, &phys))
		return -ENOENT;
	if (owned)
		return owned;
	if (!dom->fq) {
		r = _iopt_dma_unmap_pt(dom, base, len, &g, false);
		/* flush_range returned: no IOTLB entry can still use the range */
		if (!r)
			(void)iopt_iova_free(dom->iovad, pfn, npages);
		return r;
	}
	r = _iopt_dma_unmap_pt(dom, base, len, &g, true);
	if (r) {
		iopt_gather_sync(&g);
		return r;
	}
	r = iopt_flushq_queue(dom->fq, pfn, npages, &g);
	if (r) {
		/* No ring for this thread: invalidate now, as strict mode. */
		g.queued = false;
		iopt_gather_sync(&g);
		(void)iopt_iova_free(dom->iovad, pfn, npages);
	}
	return 0;
}

/* Everything but one granule: the checks in full, then a gather. */
static iopt_noinline int _iopt_dma_unmap_slow(struct iopt_dma_domain *dom, uint64_t iova,
					      uint64_t size)
{
	uint64_t len = _iopt_dma_span(dom, iova, size), base = iova & ~(dom->granule - 1);
	int owned = 0;

	if (!len)
		return -EINVAL;
	if (!dom->trusted) {
		owned = iopt_iova_free_check(dom->iovad, base >> dom->shift, len >> dom->shift);
		if (owned == -ENOENT)
			return -ENOENT;
	}
	return _iopt_dma_unmap_checked(dom, base, len, owned);
}

/*
 * Fast path: a buffer within one granule, the common 4 KiB unmap. One
 * live-map load validates it (iopt_iova_free_check), the leaf is cleared
 * in the thread's cached table (an empty slot there is a double unmap of
 * a queued range), and the inline plan invalidates it: no gather, no
 * planner, no grace period (no table was freed).
 */
int iopt_dma_unmap(struct iopt_dma_domain *dom, uint64_t iova, uint64_t size)
{
	uint64_t off = iova & (dom->granule - 1);

	if (iopt_likely(size && size <= dom->granule - off && dom->leaf_fast)) {
		uint64_t base = iova - off, pfn = base >> dom->shift;
		int r = dom->trusted || _iopt_rcache_check_fast(dom->iovad, pfn, 1)
				? 0 : iopt_iova_free_check(dom->iovad, pfn, 1);

		if (iopt_likely(!r))
			r = iopt_pt_unmap_leaf(dom->pt, base);
		if (iopt_likely(r == 1)) {
			if (dom->fq && !iopt_flushq_queue(dom->fq, pfn, 1, NULL))
				return 0;
			/* Strict, or lazy without a ring: invalidate, then the IOVA may go. */
			_iopt_dma_flush_one(dom, base);
			_iopt_dma_iova_release(dom, pfn, 1);
			return 0;
		}
		if (r == -ENOENT)
			return -ENOENT;
		/* declined (0), or another class (-EINVAL): mapped at all? then a gather */
		return _iopt_dma_unmap_checked(dom, base, dom->granule, r);
	}
	return _iopt_dma_unmap_slow(dom, iova, size);
}

/* The sg rule of iommu_dma_map_sg; returns the total IOVA length or 0. */
static uint64_t _iopt_dma_sg_len(const struct iopt_dma_domain *dom, const struct iopt_dma_sg *sg,
				 unsigned nents)
{
	uint64_t mask = dom->granule - 1, total = 0;

	if (!nents)
		return 0;
	for (unsigned i = 0; i < nents; i++) {
		uint64_t l = _iopt_dma_span(dom, sg[i].phys, sg[i].len);

		if (!l || sg[i].phys + sg[i].len - 1 < sg[i].phys)
			return 0;
		if ((i > 0 && (sg[i].phys & mask)) ||
		    (i + 1 < nents && ((sg[i].phys + sg[i].len) & mask)))
			return 0;
		if (total + l < total)
			return 0;
		total += l;
	}
	return total;
}

int iopt_dma_map_sg(struct iopt_dma_domain *dom, struct iopt_dma_sg *sg, unsigned nents,
		    unsigned prot, uint64_t dma_mask)
{
	uint64_t total = _iopt_dma_sg_len(dom, sg, nents), pfn, base, cur = 0;
	int r;

	if (!total)
		return -EINVAL;
	r = _iopt_dma_alloc(dom, total, dma_mask, &pfn);
	if (r)
		return r;
	base = pfn << dom->shift;
	for (unsigned i = 0; i < nents; i++) {
		uint64_t off = sg[i].phys & (dom->granule - 1);
		uint64_t l = _iopt_dma_span(dom, sg[i].phys, sg[i].len);

		r = iopt_pt_map_range(dom->pt, base + cur, sg[i].phys - off, l, prot, NULL);
		if (r) {
			struct iopt_gather g;

			/* never given to the device, but the IOTLB may have cached it */
			if (cur)
				(void)_iopt_dma_unmap_pt(dom, base, cur, &g, false);
			(void)iopt_iova_free(dom->iovad, pfn, total >> dom->shift);
			return r;
		}
		cur += l;
	}
	if (dom->flush_on_map)
		_iopt_dma_flush_new(dom, base, total);
	cur = 0;
	for (unsigned i = 0; i < nents; i++) {
		uint64_t off = sg[i].phys & (dom->granule - 1);

		sg[i].dma_addr = base + cur + off;
		sg[i].dma_len = sg[i].len;
		cur += _iopt_dma_span(dom, sg[i].phys, sg[i].len);
	}
	return 0;
}

int iopt_dma_unmap_sg(struct iopt_dma_domain *dom, const struct iopt_dma_sg *sg, unsigned nents)
{
	uint64_t first, end;

	if (!nents)
		return -EINVAL;
	first = sg[0].dma_addr;
	end = sg[nents - 1].dma_addr + sg[nents - 1].dma_len;
	if (end <= first)
		return -EINVAL;
	return iopt_dma_unmap(dom, first, end - first);
}
