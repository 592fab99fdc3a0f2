/* SPDX-License-Identifier: MIT */
/* IOVA domain: creation, the tree-side public calls, statistics. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "iova_internal.h"

/* ---- the lock's contended half (iova_lock) ---- */

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ volatile("yield");
#endif
}

void _iopt_lock_wait(struct iova_lock *l)
{
	for (unsigned i = 1;; i++) {
		if (!atomic_load_explicit(&l->v, memory_order_relaxed) &&
		    !atomic_exchange_explicit(&l->v, 1, memory_order_acquire))
			return;
		if (i % 128)
			cpu_relax();
		else
			sched_yield(); /* the holder may be preempted: let it run */
	}
}

void iopt_iova_config_init(struct iopt_iova_config *cfg)
{
	cfg->granule = 4096;
	cfg->start_pfn = 1;
	cfg->end_pfn = UINT64_MAX / 4096;
	cfg->flags = 0;
}

int iopt_iova_domain_create(const struct iopt_iova_config *cfg, struct iopt_iova_domain **out)
{
	struct iopt_iova_config def;
	if (!out)
		return -EINVAL;
	if (!cfg) {
		iopt_iova_config_init(&def);
		cfg = &def;
	}
	if (!iopt_is_pow2(cfg->granule) || cfg->granule < IOPT_IOVA_GRANULE_MIN ||
	    cfg->granule > IOPT_IOVA_GRANULE_MAX || cfg->end_pfn < cfg->start_pfn ||
	    cfg->end_pfn > UINT64_MAX / cfg->granule || (cfg->flags & ~IOPT_IOVA_NO_RCACHE))
		return -EINVAL;

	struct iopt_iova_domain *dom = _iopt_calloc(1, sizeof(*dom));
	if (!dom)
		return -ENOMEM;
	dom->granule = cfg->granule;
	dom->start_pfn = cfg->start_pfn;
	dom->end_pfn = cfg->end_pfn;
	dom->rcache = !(cfg->flags & IOPT_IOVA_NO_RCACHE);
	if (_iopt_tree_init(&dom->tree, cfg->start_pfn, cfg->end_pfn)) {
		_iopt_free(dom);
		return -ENOMEM;
	}
	if (dom->rcache)
		_iopt_rcache_init(dom);
	*out = dom;
	return 0;
}

void iopt_iova_domain_destroy(struct iopt_iova_domain *dom)
{
	if (!dom)
		return;
	if (dom->rcache)
		_iopt_rcache_destroy(dom);
	_iopt_tree_destroy(&dom->tree);
	_iopt_free(dom);
}

uint64_t iopt_iova_granule(const struct iopt_iova_domain *dom)
{
	return dom->granule;
}

int iopt_iova_find(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t *lo, uint64_t *hi, bool *reserved)
{
	int r = -ENOENT;
	iova_lock(&dom->tree_lock);
	struct iova_range rg;
	if (_iopt_tree_find(&dom->tree, pfn, &rg) && (rg.reserved || _iopt_rcache_is_live(dom, &rg))) {
		if (lo)
			*lo = rg.lo;
		if (hi)
			*hi = rg.hi;
		if (reserved)
			*reserved = rg.reserved;
		r = 0;
	}
	iova_unlock(&dom->tree_lock);
	return r;
}

/*
 * Under the tree lock: reserve [lo, hi], merging reserved ranges that overlap
 * or touch it. Returns -EBUSY on an overlapping allocation; *cached tells
 * whether that allocation is only sitting in a cache (a flush frees it).
 */
static int reserve_locked(struct iopt_iova_domain *dom, uint64_t lo, uint64_t hi, bool *cached)
{
	struct iova_tree *t = &dom->tree;
	uint64_t wlo = lo > t->start_pfn ? lo - 1 : lo, whi = hi < t->end_pfn ? hi + 1 : hi;
	struct iova_range n;

	/* Validate first so a refusal changes nothing. */
	for (uint64_t at = wlo; _iopt_tree_first_overlap(t, at, whi, &n); at = n.hi + 1) {
		if (!n.reserved && n.hi >= lo && n.lo <= hi) {
			*cached = !_iopt_rcache_is_live(dom, &n);
			return -EBUSY;
		}
		if (n.hi >= whi)
			break;
	}
	/*
	 * Merge: absorb each reserved neighbour, then insert the union. The
	 * insert's nodes are set aside first: once a neighbour is erased,
	 * nothing may fail (an ENOMEM here used to drop reserved ranges).
	 */
	int e = _iopt_tree_prealloc(t);
	if (e)
		return e;
	while (_iopt_tree_first_overlap(t, wlo, whi, &n)) {
		if (!n.reserved) { /* touching allocation: skip past it */
			if (n.hi >= whi)
				break;
			wlo = n.hi + 1;
			continue;
		}
		lo = n.lo < lo ? n.lo : lo;
		hi = n.hi > hi ? n.hi : hi;
		_iopt_tree_erase(t, n.lo);
	}
	return _iopt_tree_insert_range(t, lo, hi, true);
}

int iopt_iova_reserve(struct iopt_iova_domain *dom, uint64_t lo_pfn, uint64_t hi_pfn)
{
	if (hi_pfn < lo_pfn)
		return -EINVAL;
	if (hi_pfn < dom->start_pfn || lo_pfn > dom->end_pfn)
		return 0; /* nothing of it inside the space */
	lo_pfn = lo_pfn < dom->start_pfn ? dom->start_pfn : lo_pfn;
	hi_pfn = hi_pfn > dom->end_pfn ? dom->end_pfn : hi_pfn;

	for (int attempt = 0;; attempt++) {
		bool cached = false;
		iova_lock(&dom->tree_lock);
		int r = reserve_locked(dom, lo_pfn, hi_pfn, &cached);
		iova_unlock(&dom->tree_lock);
		if (r != -EBUSY || !cached || attempt)
			return r;
		iopt_iova_cache_flush(dom); /* the overlap was a freed range in a cache */
	}
}

void iopt_iova_stats(struct iopt_iova_domain *dom, struct iopt_iova_stats *st)
{
	memset(st, 0, sizeof(*st));
	iova_lock(&dom->tree_lock);
	st->tree_nodes = dom->tree.count;
	st->reserved_nodes = dom->tree.reserved;
	st->bytes_used = sizeof(*dom) + _iopt_tree_bytes(&dom->tree);
	iova_unlock(&dom->tree_lock);
	if (dom->rcache)
		_iopt_rcache_stats(dom, st);
}

int iopt_iova_check(struct iopt_iova_domain *dom)
{
	iova_lock(&dom->tree_lock);
	int r = _iopt_tree_check(&dom->tree);
	iova_unlock(&dom->tree_lock);
	return r;
}
