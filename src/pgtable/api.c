/* SPDX-License-Identifier: MIT */
/*
 * Public page-table API: argument-independent set-up and one indirect call
 * per API call into the format's engine instantiation.
 */
#include <stdlib.h>

#include "pgtable/pt_internal.h"

static const struct pt_ops *const pt_formats[IOPT_PT_NR_FORMATS] = {
	[IOPT_PT_VTD_SS] = &_iopt_pt_vtdss_ops,
	[IOPT_PT_X86_64] = &_iopt_pt_x86_64_ops,
	[IOPT_PT_AMD_V1] = &_iopt_pt_amdv1_ops,
	[IOPT_PT_LPAE_S1] = &_iopt_pt_lpae_s1_4k_ops,
	[IOPT_PT_LPAE_S2] = &_iopt_pt_lpae_s2_4k_ops,
};

/* ARM: one instantiation per granule, so the granule is a constant. */
static const struct pt_ops *pt_pick_ops(const struct iopt_pt_cfg *cfg)
{
	bool s1 = cfg->format == IOPT_PT_LPAE_S1;

	if (cfg->format != IOPT_PT_LPAE_S1 && cfg->format != IOPT_PT_LPAE_S2)
		return pt_formats[cfg->format];
	switch (cfg->granule_lg2) {
	case 14:
		return s1 ? &_iopt_pt_lpae_s1_16k_ops : &_iopt_pt_lpae_s2_16k_ops;
	case 16:
		return s1 ? &_iopt_pt_lpae_s1_64k_ops : &_iopt_pt_lpae_s2_64k_ops;
	default: /* 0 = 4K; a bad granule is refused by pt_fmt_init */
		return pt_formats[cfg->format];
	}
}

static _Atomic uint64_t pt_uid_next = 1;

uint64_t _iopt_pt_new_uid(void)
{
	return atomic_fetch_add(&pt_uid_next, 1);
}

int iopt_pt_create(const struct iopt_pt_cfg *cfg, struct iopt_pt **out)
{
	const struct iopt_pt_provider *prov;
	struct iopt_pt *pt;
	int r;

	/* IOPT_PT_F_SNOOP is the highest flag: anything above is unknown. */
	if (!cfg || !out || (unsigned)cfg->format >= IOPT_PT_NR_FORMATS ||
	    (cfg->flags & ~((IOPT_PT_F_SNOOP << 1) - 1)))
		return -EINVAL;
	prov = cfg->provider ? cfg->provider : iopt_pt_default_provider();
	if (!prov->alloc || !prov->free)
		return -EINVAL;
	pt = _iopt_aligned_alloc(64, (sizeof(*pt) + 63) & ~(size_t)63);
	if (!pt)
		return -ENOMEM;
	memset(pt, 0, sizeof(*pt));
	pt->ops = pt_pick_ops(cfg);
	pt->ias = cfg->ias;
	pt->flags = cfg->flags;
	pt->p_alloc = prov->alloc;
	pt->p_free = prov->free;
	pt->p_p2v = prov->phys_to_virt;
	pt->p_written = prov->entries_written;
	pt->p_ctx = prov->ctx;
	pt->change_top = cfg->change_top;
	pt->change_top_ctx = cfg->change_top_ctx;
	pt->flush = cfg->flush;
	pt->flush_ctx = cfg->flush_ctx;
	pt->uid = _iopt_pt_new_uid();
	pthread_mutex_init(&pt->grow_lock, NULL);
	r = pt->ops->init(pt, cfg);
	if (r) {
		pthread_mutex_destroy(&pt->grow_lock);
		_iopt_free(pt);
		return r;
	}
	*out = pt;
	return 0;
}

void iopt_pt_free(struct iopt_pt *pt)
{
	if (!pt)
		return;
	pt->ops->teardown(pt);
	pthread_mutex_destroy(&pt->grow_lock);
	_iopt_free(pt);
}

int iopt_pt_map_pages(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t pgsize,
		      uint64_t pgcount, unsigned prot, uint64_t *mapped)
{
	return pt->ops->map(pt, iova, paddr, pgsize, pgcount, prot, mapped);
}

int iopt_pt_map_range(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t size,
		      unsigned prot, uint64_t *mapped)
{
	return pt->ops->map_range(pt, iova, paddr, size, prot, mapped);
}

int iopt_pt_unmap_pages(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t pgcount,
			struct iopt_gather *g, uint64_t *unmapped)
{
	return pt->ops->unmap(pt, iova, pgsize, pgcount, g, unmapped);
}

int iopt_pt_map_leaf(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, unsigned prot)
{
	return pt->ops->map_leaf(pt, iova, paddr, prot);
}

int iopt_pt_unmap_leaf(struct iopt_pt *pt, uint64_t iova)
{
	return pt->ops->unmap_leaf(pt, iova);
}

int iopt_pt_iova_to_phys(struct iopt_pt *pt, uint64_t iova, uint64_t *phys)
{
	return pt->ops->iova_to_phys(pt, iova, phys);
}

int iopt_pt_read_and_clear_dirty(struct iopt_pt *pt, uint64_t iova, uint64_t size, unsigned flags,
				 iopt_dirty_fn fn, void *ctx, struct iopt_gather *g)
{
	if (!(flags & IOPT_DIRTY_NO_CLEAR) && !g)
		return -EINVAL;
	return pt->ops->dirty(pt, iova, size, flags, fn, ctx, g);
}

int iopt_pt_set_dirty_tracking(struct iopt_pt *pt, bool enable, struct iopt_gather *g)
{
	if (!(pt->flags & IOPT_PT_F_HW_DIRTY))
		return -EOPNOTSUPP;
	if (enable && !pt->dirty_tracking) {
		int r;

		if (!g)
			return -EINVAL;
		/* Lower range [0, va_last] (in two halves when it is all of 2^64). */
		if (pt->va_last == UINT64_MAX) {
			r = pt->ops->dirty(pt, 0, 1ull << 63, 0, NULL, NULL, g);
			if (!r)
				r = pt->ops->dirty(pt, 1ull << 63, 1ull << 63, 0, NULL, NULL, g);
		} else {
			r = pt->ops->dirty(pt, 0, pt->va_last + 1, 0, NULL, NULL, g);
		}
		if (!r && pt->sign_extend)
			r = pt->ops->dirty(pt, ~pt->va_last, pt->va_last + 1, 0, NULL, NULL, g);
		if (r)
			return r;
	}
	pt->dirty_tracking = enable;
	return 0;
}

void iopt_pt_root(struct iopt_pt *pt, uint64_t *root_phys, unsigned *levels)
{
	uint64_t top = atomic_load_explicit(&pt->top, memory_order_acquire);

	if (root_phys)
		*root_phys = top & ~0xfffull;
	if (levels)
		*levels = (unsigned)(top & 0xf);
}

void iopt_pt_set_flush(struct iopt_pt *pt, iopt_gather_flush_fn flush, void *flush_ctx)
{
	pt->flush = flush;
	pt->flush_ctx = flush_ctx;
}

uint64_t iopt_pt_pgsize_bitmap(const struct iopt_pt *pt)
{
	return pt->pgsize_bitmap;
}

void iopt_pt_get_info(const struct iopt_pt *pt, struct iopt_pt_info *info)
{
	uint64_t top = atomic_load_explicit(&pt->top, memory_order_acquire);
	enum iopt_pt_format f = pt->fmt_u == 2 ? IOPT_PT_LPAE_S2 : IOPT_PT_LPAE_S1;

	/* The formats before LPAE have one ops each; LPAE keeps its stage in fmt_u. */
	for (unsigned i = 0; i < IOPT_PT_LPAE_S1; i++)
		if (pt->ops == pt_formats[i])
			f = (enum iopt_pt_format)i;
	*info = (struct iopt_pt_info){
		.format = f,
		.ias = pt->ias,
		.oas = pt->oas,
		.granule_lg2 = pt->granule_lg2,
		.levels = (unsigned)(top & 0xf),
		.flags = pt->flags,
		.root_phys = top & ~0xfffull,
		.root_size = pt->root_size,
	};
}

void iopt_dirty_bitmap_record(void *bitmap, uint64_t iova, uint64_t size)
{
	struct iopt_dirty_bitmap *bm = bitmap;
	uint64_t first, last;

	if (iova + size - 1 < bm->base)
		return;
	first = (iova < bm->base ? 0 : iova - bm->base) >> bm->pgshift;
	last = (iova + size - 1 - bm->base) >> bm->pgshift;
	if (last >= bm->nbits)
		last = bm->nbits - 1;
	if (!bm->nbits || first > last)
		return;
	for (uint64_t b = first; b <= last; b++)
		bm->bits[b / 64] |= 1ull << (b % 64);
}
