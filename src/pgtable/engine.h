/* SPDX-License-Identifier: MIT */
/*
 * The page-table engine: "templated C". One algorithm for map, unmap,
 * iova_to_phys, dirty read-and-clear and teardown, compiled once per format.
 *
 * An instantiation (src/pgtable/<fmt>.c) includes its format header, which
 * binds the common pt_* accessor names to static inline functions, defines
 * NS(x) to mangle this file's symbols per format, and includes this file.
 * Every accessor inlines into the loops below: no indirect call per entry.
 *
 * Format accessor contract (e is a non-zero entry, level counts from 0):
 *   PT_FMT_MAX_LEVELS             compile-time bound on levels
 *   pt_granule_lg2(pt), pt_bpl(pt) geometry (constants where the format has)
 *   pt_is_table(pt, e, level)     e points to a lower table
 *   pt_table_pa(pt, e)            its physical address
 *   pt_make_table(pt, pa, level)  table entry stored at level
 *   pt_leaf_lg2(pt, e, level)     log2 bytes of the page/run e belongs to
 *   pt_oa_lg2(pt, e, level)       log2 bytes the OA of e describes
 *   pt_leaf_oa(pt, e, level)      that OA
 *   pt_install(pt, slots, level, lg2, oa, attrs, npages)
 *                                 write npages pages of 2^lg2 bytes (each
 *                                 2^(lg2-shift) slots: replicated/contiguous)
 *   pt_leaf_attrs(pt, e, level)   attrs that pt_install reproduces e with
 *   pt_prot_attrs(pt, prot, &a)   IOPT_PROT_* -> attrs, or -EINVAL
 *   pt_fmt_sizes(pt, level)       bitmap of leaf sizes possible at level
 *   pt_is_dirty(pt, e), pt_clean(pt, slot)  dirty test / atomic clean
 *   pt_fmt_init(pt, cfg)          geometry, limits; 0 or -EINVAL
 *   PT_FMT_DYNAMIC_TOP            (optional) top grows on demand
 *
 * Concurrency (see include/iopt/pgtable.h for the contract):
 *   - Leaves are written with relaxed single-copy-atomic stores: disjoint
 *     ranges never share a leaf slot.
 *   - Tables are installed with a release CAS on an empty slot; the loser
 *     keeps its (still zero) table for its next need or frees it.
 *   - Detached tables go through the caller's gather and so are released
 *     only after the IOTLB flush and an RCU grace period. pt->gen is bumped
 *     on every detach; per-thread caches of "the last table I ended in"
 *     are valid only while gen is unchanged, which is how sequential
 *     single-page calls skip the walk from the root without locks.
 */
#ifndef NS
#error "define NS() and include a format header before engine.h"
#endif

#include <stdlib.h>

/* ------------------------------------------------------------------ */
/* Geometry helpers                                                    */

static inline unsigned NS(shift)(const struct iopt_pt *pt, unsigned level)
{
	return pt_granule_lg2(pt) + pt_bpl(pt) * level;
}

static inline uint64_t NS(idx)(const struct iopt_pt *pt, uint64_t va, unsigned level,
			       unsigned toplevel)
{
	uint64_t m = level == toplevel ? pt->top_mask : (1ull << pt_bpl(pt)) - 1;

	return (va >> NS(shift)(pt, level)) & m;
}

static inline uint64_t NS(nentries)(const struct iopt_pt *pt, unsigned level, unsigned toplevel)
{
	return level == toplevel ? pt->top_mask + 1 : 1ull << pt_bpl(pt);
}

static inline uint64_t *NS(child)(const struct iopt_pt *pt, uint64_t e)
{
	return (uint64_t *)_pt_p2v(pt, pt_table_pa(pt, e));
}

static inline uint64_t NS(load_top)(const struct iopt_pt *pt, uint64_t **root, unsigned *toplevel)
{
	uint64_t top = atomic_load_explicit(&pt->top, memory_order_acquire);

	*root = (uint64_t *)_pt_p2v(pt, top & ~0xfffull);
	*toplevel = (unsigned)(top & 0xf) - 1;
	return top;
}

/* Last IOVA + 1 a table of `levels` levels reaches (0 = all of 2^64). */
static inline uint64_t NS(reach)(const struct iopt_pt *pt, unsigned levels)
{
	unsigned s = NS(shift)(pt, levels - 1) + pt->top_bits;

	return s >= 64 ? 0 : 1ull << s;
}

static inline bool NS(va_ok)(const struct iopt_pt *pt, uint64_t va, uint64_t last)
{
	if (pt_likely(last <= pt->va_last))
		return true;
	/* Sign-extended upper half: both ends at or above ~va_last. */
	return pt->sign_extend && va >= ~pt->va_last;
}

/* Base IOVA of the entry at level that holds va. */
static inline uint64_t NS(ebase)(const struct iopt_pt *pt, uint64_t va, unsigned level)
{
	return va & ~pt_mask_lg2(NS(shift)(pt, level));
}

static inline size_t NS(table_size)(const struct iopt_pt *pt, unsigned level, unsigned toplevel)
{
	return level == toplevel ? pt->root_size : (size_t)8 << pt_bpl(pt);
}

/* ------------------------------------------------------------------ */
/* Per-thread caches                                                   */

/*
 * wc: table of the last leaves mapped/unmapped; pc: the table above the
 * last leaves mapped (where the next table of a sequential map goes);
 * rc: level-1 table of the last lookup.
 */
static PT_TLS struct pt_tcache NS(wc);
static PT_TLS struct pt_tcache NS(pc);
static PT_TLS struct pt_tcache NS(rc);

static inline uint64_t NS(gen)(const struct iopt_pt *pt)
{
	return atomic_load_explicit(&pt->gen, memory_order_acquire);
}

/* Does the cache hold a live table at some level covering [va, last]? */
static inline bool NS(cache_hit)(const struct iopt_pt *pt, const struct pt_tcache *c, uint64_t va,
				 uint64_t last)
{
	/* gen starts at uid << 32, so one compare checks object and generation. */
	return c->gen == NS(gen)(pt) && (((va ^ c->base) | (last ^ c->base)) >> c->span) == 0;
}

static inline void NS(cache_set)(const struct iopt_pt *pt, struct pt_tcache *c, uint64_t gen,
				 uint64_t *table, unsigned level, uint64_t va)
{
	c->gen = gen;
	c->table = table;
	c->level = level;
	c->span = NS(shift)(pt, level + 1);
	c->shift = NS(shift)(pt, level);
	c->base = va & ~pt_mask_lg2(c->span);
}

/* ------------------------------------------------------------------ */
/* Freeing tables                                                      */

struct NS(freed) {
	struct iopt_gather_freed node;
	void (*p_free)(void *ctx, void *virt, size_t size);
	void *p_ctx;
	void *virt;
	size_t size;
};

static void NS(release)(struct iopt_gather_freed *node)
{
	struct NS(freed) *f = (struct NS(freed) *)node;

	f->p_free(f->p_ctx, f->virt, f->size);
	_iopt_free(f);
}

/*
 * Queue a detached table on the gather. The node is host memory, not the
 * table page: readers may still walk the page until the grace period.
 * @spare: nodes taken before anything was detached (NS(take_nodes), map's
 * reservation), so the detach cannot fail half way. Only a caller racing
 * on the same range (a contract breach) can find it empty; the node is
 * then allocated here and, if even that fails, the page is leaked rather
 * than freed before the flush.
 */
static void NS(queue_free)(const struct iopt_pt *pt, struct iopt_gather *g, void *virt, size_t size,
			   struct iopt_gather_freed **spare)
{
	struct NS(freed) *f;

	if (*spare) {
		f = (struct NS(freed) *)*spare;
		*spare = (*spare)->next;
	} else if (pt_unlikely(!(f = _iopt_malloc(sizeof(*f))))) {
		return;
	}
	f->node.release = NS(release);
	f->p_free = pt->p_free;
	f->p_ctx = pt->p_ctx;
	f->virt = virt;
	f->size = size;
	iopt_gather_add_freed(g, &f->node);
}

/* Tables below table (a level-@level table), not counting itself. */
static uint64_t NS(count_tables)(const struct iopt_pt *pt, uint64_t *table, unsigned level)
{
	uint64_t n = 0;

	for (uint64_t i = 0; level && i < 1ull << pt_bpl(pt); i++) {
		uint64_t e = pt_load(&table[i]);

		if (e && pt_is_table(pt, e, level))
			n += 1 + NS(count_tables)(pt, NS(child)(pt, e), level - 1);
	}
	return n;
}

static void NS(drop_nodes)(struct iopt_gather_freed *spare)
{
	while (spare) {
		struct iopt_gather_freed *next = spare->next;

		_iopt_free(spare);
		spare = next;
	}
}

/*
 * Nodes for table and every table below it, so that detaching it cannot
 * fail half way. false (nothing held) when host memory ran out.
 */
static bool NS(take_nodes)(const struct iopt_pt *pt, uint64_t *table, unsigned level,
			   struct iopt_gather_freed **spare)
{
	*spare = NULL;
	for (uint64_t n = 1 + NS(count_tables)(pt, table, level); n; n--) {
		struct NS(freed) *f = _iopt_malloc(sizeof(*f));

		if (!f) {
			NS(drop_nodes)(*spare);
			*spare = NULL;
			return false;
		}
		f->node.next = *spare;
		*spare = &f->node;
	}
	return true;
}

/*
 * Count the leaf bytes below a detached table and queue every sub-table;
 * *lv gets bit L for every level L that held a leaf (NULL: not wanted).
 */
static uint64_t NS(collect)(const struct iopt_pt *pt, uint64_t *table, unsigned level,
			    struct iopt_gather *g, struct iopt_gather_freed **spare, unsigned *lv)
{
	uint64_t bytes = 0, n = 1ull << pt_bpl(pt);
	uint64_t sz = 1ull << NS(shift)(pt, level);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = pt_load(&table[i]);

		if (!e)
			continue;
		if (level && pt_is_table(pt, e, level)) {
			uint64_t *c = NS(child)(pt, e);

			bytes += NS(collect)(pt, c, level - 1, g, spare, lv);
			NS(queue_free)(pt, g, c, (size_t)8 << pt_bpl(pt), spare);
		} else {
			bytes += sz;
			if (lv)
				*lv |= 1u << level;
		}
	}
	return bytes;
}

/*
 * After an unmap that removed leaves at the levels in lv (bit L = a leaf
 * at level L) from [iova, iova + len): make the gather's stride the
 * smallest leaf descriptor removed, and mark it mixed when a larger one was
 * removed too (include/iopt/gather.h). The caller's pgsize says nothing
 * about the leaves: unmapping 2 MiB over 4K leaves, a stride of 2 MiB
 * would let an SMMU without range invalidation keep 511 of them, and a 4K
 * stride over a 2 MiB block gives a TTL hint that skips the block.
 * fresh: this call started the batch, so only its leaves count.
 */
static void NS(gather_leaves)(const struct iopt_pt *pt, struct iopt_gather *g, bool fresh,
			      unsigned lv, uint64_t iova, uint64_t len)
{
	if (!lv)
		return;
	uint64_t lo = 1ull << NS(shift)(pt, (unsigned)__builtin_ctz(lv));
	uint64_t hi = 1ull << NS(shift)(pt, 31 - (unsigned)__builtin_clz(lv));

	if (fresh && !((iova | len) & (lo - 1))) {
		g->pgsize = lo;
		g->mixed = lo != hi;
		return;
	}
	if (lo < g->pgsize) {
		g->pgsize = lo; /* earlier ranges stay aligned; their leaves are larger */
		g->mixed = true;
	}
	if (hi > g->pgsize)
		g->mixed = true;
}

static bool NS(subtree_empty)(const struct iopt_pt *pt, const uint64_t *table, unsigned level)
{
	uint64_t n = 1ull << pt_bpl(pt);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = pt_load(&table[i]);

		if (!e)
			continue;
		if (!level || !pt_is_table(pt, e, level) ||
		    !NS(subtree_empty)(pt, NS(child)(pt, e), level - 1))
			return false;
	}
	return true;
}

static void NS(free_tree)(const struct iopt_pt *pt, uint64_t *table, unsigned level,
			  unsigned toplevel)
{
	uint64_t n = NS(nentries)(pt, level, toplevel);

	if (level) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t e = pt_load(&table[i]);

			if (e && pt_is_table(pt, e, level))
				NS(free_tree)(pt, NS(child)(pt, e), level - 1, toplevel);
		}
	}
	pt->p_free(pt->p_ctx, table, NS(table_size)(pt, level, toplevel));
}

/* ------------------------------------------------------------------ */
/* Map                                                                 */

/* A run of pages of one size: [va, va + (n << lg2)) -> pa. */
struct NS(seg) {
	uint64_t va, pa, n;
	unsigned lg2, level;
};

/* Tables (and nodes for the tables a map replaces) allocated before anything is written, so ENOMEM changes nothing. */
struct NS(pool) {
	uint64_t n, used;
	struct { void *v; uint64_t pa; } *t, buf[8];
	struct iopt_gather_freed *spare;
};

struct NS(mapctx) {
	uint64_t attrs;
	uint64_t done;            /* IOVA up to which leaves are written */
	const struct NS(seg) *seg;
	struct NS(pool) pool;
	struct iopt_gather fg;    /* tables replaced by large pages */
	uint64_t gen;
};

static void NS(pool_release)(const struct iopt_pt *pt, struct NS(pool) *p)
{
	for (uint64_t i = p->used; i < p->n; i++)
		pt->p_free(pt->p_ctx, p->t[i].v, (size_t)8 << pt_bpl(pt));
	if (p->t != p->buf)
		_iopt_free(p->t);
	NS(drop_nodes)(p->spare);
	p->spare = NULL;
	p->n = p->used = 0;
	p->t = p->buf;
}

static int NS(pool_fill)(const struct iopt_pt *pt, struct NS(pool) *p, uint64_t need,
			 uint64_t nodes)
{
	p->n = p->used = 0;
	p->t = p->buf;
	p->spare = NULL;
	for (; nodes; nodes--) {
		struct NS(freed) *f = _iopt_malloc(sizeof(*f));

		if (!f) {
			NS(pool_release)(pt, p);
			return -ENOMEM;
		}
		f->node.next = p->spare;
		p->spare = &f->node;
	}
	if (!need)
		return 0;
	if (need > sizeof(p->buf) / sizeof(p->buf[0])) {
		if (need > SIZE_MAX / sizeof(p->buf[0]))
			return -ENOMEM;
		p->t = _iopt_malloc((size_t)need * sizeof(p->buf[0]));
		if (!p->t) {
			p->t = p->buf;
			NS(pool_release)(pt, p);
			return -ENOMEM;
		}
	}
	for (; p->n < need; p->n++) {
		p->t[p->n].v = pt->p_alloc(pt->p_ctx, (size_t)8 << pt_bpl(pt), &p->t[p->n].pa);
		if (!p->t[p->n].v) {
			NS(pool_release)(pt, p);
			return -ENOMEM;
		}
	}
	return 0;
}

/* Take a zeroed table; only a race with a concurrent mapper can run dry. */
static void *NS(pool_get)(const struct iopt_pt *pt, struct NS(pool) *p, uint64_t *pa)
{
	if (pt_likely(p->used < p->n)) {
		*pa = p->t[p->used].pa;
		return p->t[p->used++].v;
	}
	return pt->p_alloc(pt->p_ctx, (size_t)8 << pt_bpl(pt), pa);
}

static void NS(pool_put)(struct NS(pool) *p, void *v, uint64_t pa)
{
	/* Still zero: it was never published. used > 0 since it came from us. */
	p->used--;
	p->t[p->used].v = v;
	p->t[p->used].pa = pa;
}

/* Tables needed under an empty entry at `level` for leaves at leaf_level. */
static uint64_t NS(need_below)(const struct iopt_pt *pt, unsigned level, unsigned leaf_level,
			       uint64_t a, uint64_t b)
{
	uint64_t need = 0;

	for (unsigned j = leaf_level; j < level; j++) {
		unsigned s = NS(shift)(pt, j + 1);

		need += s >= 64 ? 1 : (b >> s) - (a >> s) + 1;
	}
	return need;
}

/*
 * Pre-pass: read-only walk that finds every conflict (-EBUSY) and counts
 * the tables the write pass will need and the empty tables it will
 * replace (@nodes), so that failures (conflict or ENOMEM) happen before
 * anything is written.
 */
static int NS(prep)(const struct iopt_pt *pt, uint64_t *table, unsigned level, unsigned toplevel,
		    uint64_t va, uint64_t last, unsigned leaf_level, uint64_t *need,
		    uint64_t *nodes)
{
	unsigned s = NS(shift)(pt, level);
	uint64_t i0 = NS(idx)(pt, va, level, toplevel), i1 = NS(idx)(pt, last, level, toplevel);
	uint64_t base = NS(ebase)(pt, va, level);

	for (uint64_t i = i0; i <= i1; i++, base += 1ull << s) {
		uint64_t e = pt_load(&table[i]);
		uint64_t a = i == i0 ? va : base;
		uint64_t b = i == i1 ? last : base + pt_mask_lg2(s);

		if (level == leaf_level) {
			if (i == i0 && !pt_slots_or(&table[i0], i1 - i0 + 1))
				return 0; /* all empty: the common case */
			if (e && !(level && pt_is_table(pt, e, level) &&
				   NS(subtree_empty)(pt, NS(child)(pt, e), level - 1)))
				return -EBUSY;
			if (e)
				*nodes += 1 + NS(count_tables)(pt, NS(child)(pt, e), level - 1);
		} else if (!e) {
			*need += NS(need_below)(pt, level, leaf_level, a, b);
		} else if (!pt_is_table(pt, e, level)) {
			return -EBUSY;
		} else {
			int r = NS(prep)(pt, NS(child)(pt, e), level - 1, toplevel, a, b, leaf_level, need,
					 nodes);

			if (r)
				return r;
		}
	}
	return 0;
}

/* Replace empty tables under leaf slots [first, first + n) (rare path). */
static pt_noinline int NS(clear_empty_tables)(struct iopt_pt *pt, uint64_t *slots, uint64_t n,
					      unsigned level, uint64_t va, struct NS(mapctx) *mc)
{
	unsigned s = NS(shift)(pt, level);

	for (uint64_t i = 0; i < n; i++) {
		uint64_t e = pt_load(&slots[i]);

		if (!e)
			continue;
		if (!level || !pt_is_table(pt, e, level))
			return -EBUSY;
		uint64_t *c = NS(child)(pt, e);

		if (!NS(subtree_empty)(pt, c, level - 1) || !pt_cas_release(&slots[i], &e, 0))
			return -EBUSY;
		atomic_fetch_add(&pt->gen, 1);
		iopt_gather_add_range(&mc->fg, va + (i << s), 1ull << s);
		NS(collect)(pt, c, level - 1, &mc->fg, &mc->pool.spare, NULL); /* empty */
		NS(queue_free)(pt, &mc->fg, c, (size_t)8 << pt_bpl(pt), &mc->pool.spare);
	}
	return 0;
}

/* fresh: this call just installed table, so our slots in it are empty. */
static int NS(map_level)(struct iopt_pt *pt, uint64_t *table, unsigned level, unsigned toplevel,
			 uint64_t va, uint64_t last, struct NS(mapctx) *mc, bool fresh)
{
	const struct NS(seg) *sg = mc->seg;
	unsigned s = NS(shift)(pt, level);
	uint64_t i0 = NS(idx)(pt, va, level, toplevel);

	if (level == sg->level) {
		uint64_t n = ((last - va) >> s) + 1;
		uint64_t *slots = &table[i0];

		if (!fresh && pt_unlikely(pt_slots_or(slots, n))) {
			int r = NS(clear_empty_tables)(pt, slots, n, level, va, mc);

			if (r)
				return r;
		}
		pt_install(pt, slots, level, sg->lg2, sg->pa + (va - sg->va), mc->attrs,
			   n >> (sg->lg2 - s));
		_pt_written(pt, slots, n * 8);
		mc->done = last + 1;
		if (level != toplevel)
			NS(cache_set)(pt, &NS(wc), mc->gen, table, level, va);
		return 0;
	}

	uint64_t i1 = NS(idx)(pt, last, level, toplevel);
	uint64_t base = NS(ebase)(pt, va, level);

	if (level == sg->level + 1 && level != toplevel)
		NS(cache_set)(pt, &NS(pc), mc->gen, table, level, va);
	for (uint64_t i = i0; i <= i1; i++, base += 1ull << s) {
		uint64_t e = pt_load(&table[i]);
		uint64_t a = i == i0 ? va : base;
		uint64_t b = i == i1 ? last : base + pt_mask_lg2(s);

		bool made = false;

		if (!e) {
			uint64_t pa;
			void *nt = NS(pool_get)(pt, &mc->pool, &pa);

			if (!nt)
				return -ENOMEM;
			uint64_t ne = pt_make_table(pt, pa, level);

			if (pt_cas_release(&table[i], &e, ne)) {
				_pt_written(pt, &table[i], 8);
				e = ne;
				made = true;
			} else if (mc->pool.used) {
				NS(pool_put)(&mc->pool, nt, pa);
			} else {
				pt->p_free(pt->p_ctx, nt, (size_t)8 << pt_bpl(pt));
			}
		}
		if (!pt_is_table(pt, e, level))
			return -EBUSY;
		int r = NS(map_level)(pt, NS(child)(pt, e), level - 1, toplevel, a, b, mc, made);

		if (r)
			return r;
	}
	return 0;
}

static uint64_t NS(unmap_level)(struct iopt_pt *pt, uint64_t *table, unsigned level,
				unsigned toplevel, uint64_t va, uint64_t last,
				struct iopt_gather *g, bool *freed, unsigned *lv, uint64_t gen);

#ifdef PT_FMT_DYNAMIC_TOP
/* Grow the top until it reaches last (hw-facts §7.2); tables from the pool. */
static int NS(grow)(struct iopt_pt *pt, unsigned target, struct NS(pool) *pool)
{
	pthread_mutex_lock(&pt->grow_lock);
	uint64_t top = atomic_load_explicit(&pt->top, memory_order_relaxed);
	unsigned levels = (unsigned)(top & 0xf);

	while (levels < target) {
		uint64_t pa;
		uint64_t *nt = NS(pool_get)(pt, pool, &pa);

		if (!nt) {
			pthread_mutex_unlock(&pt->grow_lock);
			return -ENOMEM;
		}
		/* New top: entry 0 points at the old root (only new IOVA appears). */
		pt_store(&nt[0], pt_make_table(pt, top & ~0xfffull, levels));
		_pt_written(pt, nt, 8);
		levels++;
		top = pa | levels;
		atomic_store_explicit(&pt->top, top, memory_order_release);
		if (pt->change_top)
			pt->change_top(pt->change_top_ctx, pa, levels);
	}
	pthread_mutex_unlock(&pt->grow_lock);
	return 0;
}
#endif

/* Undo the leaves [va, done) of a failed map (tables it made stay, empty). */
static void NS(undo)(struct iopt_pt *pt, uint64_t va, uint64_t done)
{
	struct iopt_gather g;
	uint64_t *root;
	unsigned toplevel;
	bool freed = false;

	if (done <= va)
		return;
	iopt_gather_init(&g, false, pt->flush, pt->flush_ctx);
	NS(load_top)(pt, &root, &toplevel);
	iopt_gather_add_range(&g, va, done - va);
	unsigned lv = 0;

	NS(unmap_level)(pt, root, toplevel, toplevel, va, done - 1, &g, &freed, &lv, NS(gen)(pt));
	NS(gather_leaves)(pt, &g, true, lv, va, done - va);
	if (freed)
		atomic_fetch_add(&pt->gen, 1);
	iopt_gather_sync(&g);
}

/* The slow path shared by map_pages and map_range. */
static pt_noinline int NS(map_segs)(struct iopt_pt *pt, const struct NS(seg) *segs, unsigned nseg,
				    uint64_t attrs, uint64_t *mapped)
{
	struct NS(mapctx) mc;
	uint64_t *root, need = 0, nodes = 0, va0 = segs[0].va;
	uint64_t last = segs[nseg - 1].va + (segs[nseg - 1].n << segs[nseg - 1].lg2) - 1;
	unsigned toplevel;
	int r = 0;

	memset(&mc, 0, sizeof(mc));
	iopt_gather_init(&mc.fg, false, pt->flush, pt->flush_ctx);
	mc.attrs = attrs;
	mc.done = va0;
	mc.gen = NS(gen)(pt);
	NS(load_top)(pt, &root, &toplevel);

	unsigned grow_to = toplevel + 1;
#ifdef PT_FMT_DYNAMIC_TOP
	/* Levels needed: reach the last byte and hold the largest leaf. */
	while (NS(reach)(pt, grow_to) && last >= NS(reach)(pt, grow_to))
		grow_to++;
	for (unsigned k = 0; k < nseg; k++)
		if (segs[k].level + 1 > grow_to)
			grow_to = segs[k].level + 1;
	if (grow_to > pt->max_levels)
		return -ERANGE;
	need += grow_to - (toplevel + 1);
	uint64_t reach = NS(reach)(pt, toplevel + 1);
#else
	/*
	 * A fixed top reaches every valid IOVA, including the x86 upper
	 * canonical half (above "reach" as a number): prep walks it all.
	 */
	uint64_t reach = 0;
#endif

	for (unsigned k = 0; k < nseg; k++) {
		uint64_t a = segs[k].va, b = a + (segs[k].n << segs[k].lg2) - 1;

		if (segs[k].level > toplevel && grow_to == toplevel + 1)
			return -EINVAL;
		if (reach && b >= reach) {
			/* Beyond the current top: all new (overcounts by <= growth). */
			uint64_t a2 = a >= reach ? a : reach;

			need += NS(need_below)(pt, grow_to - 1, segs[k].level, a2, b);
			if (a >= reach)
				continue;
			b = reach - 1;
		}
		if (segs[k].level > toplevel) {
			/*
			 * Dynamic top: a leaf above the current top over old
			 * IOVA will replace the (grown) slot holding the old
			 * root; allowed only if nothing is mapped under it.
			 */
			if (!NS(subtree_empty)(pt, root, toplevel))
				return -EBUSY;
			nodes += 1 + NS(count_tables)(pt, root, toplevel);
			continue;
		}
		r = NS(prep)(pt, root, toplevel, toplevel, a, b, segs[k].level, &need, &nodes);
		if (r)
			return r;
	}
	r = NS(pool_fill)(pt, &mc.pool, need, nodes);
	if (r)
		return r;
#ifdef PT_FMT_DYNAMIC_TOP
	if (grow_to > toplevel + 1) {
		r = NS(grow)(pt, grow_to, &mc.pool);
		if (!r)
			NS(load_top)(pt, &root, &toplevel);
	}
#endif
	for (unsigned k = 0; k < nseg && !r; k++) {
		uint64_t a = segs[k].va, b = a + (segs[k].n << segs[k].lg2) - 1;

		mc.seg = &segs[k];
		r = NS(map_level)(pt, root, toplevel, toplevel, a, b, &mc, false);
		if (r)
			break;
	}
	if (r) {
		/* Only reachable through a contract-breaking race: undo. */
		if (mapped)
			*mapped = mc.done - va0;
		NS(undo)(pt, va0, mc.done);
	}
	NS(pool_release)(pt, &mc.pool);
	if (mc.fg.end || mc.fg.freelist)
		iopt_gather_sync(&mc.fg);
	(void)last;
	return r;
}

static inline int NS(check_map_args)(const struct iopt_pt *pt, uint64_t iova, uint64_t paddr,
				     uint64_t len, unsigned prot, uint64_t *attrs)
{
	uint64_t last = iova + len - 1;

	if (pt_unlikely(last < iova || !NS(va_ok)(pt, iova, last)))
		return -ERANGE;
	if (pt_unlikely(paddr + len - 1 < paddr || paddr + len - 1 > pt->oa_last))
		return -ERANGE;
	return pt_prot_attrs(pt, prot, attrs);
}

/* Everything but the cached fast path: validation, then the walk. */
static pt_noinline int NS(map_slow)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr,
				    uint64_t pgsize, uint64_t pgcount, unsigned prot,
				    uint64_t *mapped)
{
	uint64_t attrs;
	int r;

	if (mapped)
		*mapped = 0;
	if (pt_unlikely(!pgcount || (pgsize & (pgsize - 1)) || !(pgsize & pt->pgsize_bitmap) ||
			((iova | paddr) & (pgsize - 1))))
		return -EINVAL;
	unsigned lg2 = (unsigned)__builtin_ctzll(pgsize);

	if (pt_unlikely(pgcount > (UINT64_MAX >> lg2)))
		return -ERANGE;
	uint64_t len = pgcount << lg2;

	r = NS(check_map_args)(pt, iova, paddr, len, prot, &attrs);
	if (pt_unlikely(r))
		return r;

	struct NS(seg) sg = { .va = iova, .pa = paddr, .n = pgcount, .lg2 = lg2,
			      .level = (unsigned)pt->lvl_of_lg2[lg2] };

	r = NS(map_segs)(pt, &sg, 1, attrs, mapped);
	if (!r && mapped)
		*mapped = len;
	return r;
}

/*
 * A run that needs a new table (the next table of a sequential map): the
 * table above it is this thread's cached parent (pc) and the run lies in
 * one of its entries, which is empty. The provider's pages are zeroed, so
 * once the release CAS has installed the table the leaves go in with no
 * conflict check and no pre-pass (nothing else maps into our run). The
 * CAS comes first, as in the slow path: a locked operation after the leaf
 * stores would wait for all of them to reach the cache. -ENOMEM changes
 * nothing. 1: not this case (entry in use, lost race), the slow path
 * decides.
 */
static pt_noinline int NS(map_fresh)(struct iopt_pt *pt, uint64_t iova, uint64_t last,
				     uint64_t paddr, unsigned lg2, uint64_t pgcount,
				     uint64_t attrs, unsigned level)
{
	const struct pt_tcache *p = &NS(pc);
	uint64_t gen = p->gen, *slot = &p->table[(iova >> p->shift) & ((1ull << pt_bpl(pt)) - 1)];
	uint64_t e = 0, pa;

	if (((iova ^ last) >> p->shift) || pt_load(slot))
		return 1;
	uint64_t *nt = pt->p_alloc(pt->p_ctx, (size_t)8 << pt_bpl(pt), &pa);

	if (pt_unlikely(!nt))
		return -ENOMEM;
	uint64_t s = NS(shift)(pt, level), n = ((last - iova) >> s) + 1;
	uint64_t *slots = &nt[(iova >> s) & ((1ull << pt_bpl(pt)) - 1)];

	if (!pt_cas_release(slot, &e, pt_make_table(pt, pa, level + 1))) {
		pt->p_free(pt->p_ctx, nt, (size_t)8 << pt_bpl(pt));
		return 1;
	}
	_pt_written(pt, slot, 8);
	pt_install(pt, slots, level, lg2, paddr, attrs, pgcount);
	_pt_written(pt, slots, n * 8);
	NS(cache_set)(pt, &NS(wc), gen, nt, level, iova);
	return 0;
}

/*
 * Fast path for a run (mimalloc style): the run lands in the table the last
 * call of this thread ended in, validated by gen (object and generation) +
 * span, or in a new table under its parent (map_fresh); anything else
 * (including every error) goes to the slow path. A hit implies [iova, last]
 * is valid IOVA: a non-top table's span is.
 */
static pt_noinline int NS(map_run)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr,
				   uint64_t pgsize, uint64_t pgcount, unsigned prot,
				   uint64_t *mapped)
{
	const struct pt_tcache *c = &NS(wc);
	uint64_t attrs;

	if (pt_likely(pgcount && !(pgsize & (pgsize - 1)) && (pgsize & pt->pgsize_bitmap) &&
		      !((iova | paddr) & (pgsize - 1)))) {
		unsigned lg2 = (unsigned)__builtin_ctzll(pgsize);
		unsigned level = (unsigned)pt->lvl_of_lg2[lg2];
		uint64_t len = pgcount << lg2, last = iova + len - 1;

		if (pt_unlikely(pgcount > (UINT64_MAX >> lg2) || paddr + len - 1 < paddr ||
				paddr + len - 1 > pt->oa_last || pt_prot_attrs(pt, prot, &attrs)))
			goto slow;
		if (pt_likely(c->level == level && NS(cache_hit)(pt, c, iova, last))) {
			unsigned s = c->shift;
			uint64_t *slots = &c->table[(iova >> s) & ((1ull << pt_bpl(pt)) - 1)];
			uint64_t n = len >> s;

			if (pt_unlikely(pt_slots_or(slots, n)))
				goto slow;
			pt_install(pt, slots, level, lg2, paddr, attrs, pgcount);
			_pt_written(pt, slots, n * 8);
		} else if (NS(pc).level != level + 1 || !NS(cache_hit)(pt, &NS(pc), iova, last)) {
			goto slow;
		} else {
			int r = NS(map_fresh)(pt, iova, last, paddr, lg2, pgcount, attrs, level);

			if (r > 0)
				goto slow;
			if (r) {
				if (mapped)
					*mapped = 0;
				return r;
			}
		}
		if (mapped)
			*mapped = len;
		return 0;
	}
slow:
	return NS(map_slow)(pt, iova, paddr, pgsize, pgcount, prot, mapped);
}

/* Fastest path: one page that is one slot of the cached table; a leaf function. */
static int NS(map)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t pgsize,
		   uint64_t pgcount, unsigned prot, uint64_t *mapped)
{
	const struct pt_tcache *c = &NS(wc);
	uint64_t attrs;

	if (pt_likely(pgcount == 1 && pgsize == (1ull << c->shift) && (pgsize & pt->pgsize_bitmap) &&
		      !((iova | paddr) & (pgsize - 1)) && NS(cache_hit)(pt, c, iova, iova) &&
		      paddr + pgsize - 1 <= pt->oa_last && pt_prot_attrs(pt, prot, &attrs) == 0)) {
		uint64_t *slot = &c->table[(iova >> c->shift) & ((1ull << pt_bpl(pt)) - 1)];

		if (pt_likely(!pt_load_leaf(slot) && !pt->p_written)) {
			pt_install(pt, slot, c->level, c->shift, paddr, attrs, 1);
			if (mapped)
				*mapped = pgsize;
			return 0;
		}
	}
	return NS(map_run)(pt, iova, paddr, pgsize, pgcount, prot, mapped);
}

/*
 * prot -> attrs for the object this thread last mapped a leaf in with
 * NS(map_leaf): pt_prot_attrs depends only on prot and the flags fixed at
 * create, so uid + prot is the key.
 */
static PT_TLS struct {
	uint64_t uid;
	unsigned prot;
	uint64_t attrs;
} NS(pm);

static int NS(map_leaf)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, unsigned prot);

/* Memo miss: pt_prot_attrs, then the fast path again (declined for a bad prot). */
static pt_noinline int NS(map_leaf_slow)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr,
					 unsigned prot)
{
	uint64_t attrs;

	if (pt_prot_attrs(pt, prot, &attrs))
		return 0;
	NS(pm).uid = pt->uid;
	NS(pm).prot = prot;
	NS(pm).attrs = attrs;
	return NS(map_leaf)(pt, iova, paddr, prot);
}

/*
 * iopt_pt_map_leaf: one granule into the table this thread's last
 * map/unmap ended in, attributes from the memo. Anything unusual (other
 * table, occupied slot, written hook, bad arguments) is declined unchanged
 * and the caller's iopt_pt_map_pages decides, errors included. A leaf
 * function: the memo miss is a tail call.
 */
static int NS(map_leaf)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, unsigned prot)
{
	const struct pt_tcache *c = &NS(wc);
	const unsigned g = pt_granule_lg2(pt);

	if (pt_unlikely(NS(pm).uid != pt->uid || NS(pm).prot != prot))
		return NS(map_leaf_slow)(pt, iova, paddr, prot);
	if (pt_likely(c->level == 0 && !((iova | paddr) & pt_mask_lg2(g)) &&
		      NS(cache_hit)(pt, c, iova, iova) && paddr <= pt->oa_last - pt_mask_lg2(g) &&
		      !pt->p_written)) {
		uint64_t *slot = &c->table[(iova >> g) & ((1ull << pt_bpl(pt)) - 1)];

		if (pt_likely(!pt_load_leaf(slot))) {
			pt_install(pt, slot, 0, g, paddr, NS(pm).attrs, 1);
			return 1;
		}
	}
	return 0;
}

/*
 * Largest page for (va, pa, left), per hw-facts §6.4 / §7.3: allowed by the
 * bitmap, both addresses aligned to it, not above what is left.
 */
static inline unsigned NS(best_lg2)(const struct iopt_pt *pt, uint64_t va, uint64_t pa,
				    uint64_t left)
{
	uint64_t cand = pt->pgsize_bitmap;
	unsigned hi = 63 - (unsigned)__builtin_clzll(left);

	if (hi < 63)
		cand &= (2ull << hi) - 1;
	if (va | pa)
		cand &= ((va | pa) & -(va | pa)) * 2 - 1;
	return cand ? 63 - (unsigned)__builtin_clzll(cand) : 64;
}

#define NS_MAX_SEGS 130

static int NS(map_range)(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t size,
			 unsigned prot, uint64_t *mapped)
{
	struct NS(seg) segs[NS_MAX_SEGS];
	uint64_t attrs, min = pt->pgsize_bitmap & -pt->pgsize_bitmap;
	unsigned nseg = 0;
	int r;

	if (mapped)
		*mapped = 0;
	if (pt_unlikely(!size || ((iova | paddr | size) & (min - 1))))
		return -EINVAL;
	r = NS(check_map_args)(pt, iova, paddr, size, prot, &attrs);
	if (r)
		return r;

	/* Plan: each step takes the best size, runs of equal size are one seg. */
	uint64_t va = iova, pa = paddr, left = size;

	while (left) {
		unsigned lg2 = NS(best_lg2)(pt, va, pa, left);

		if (lg2 >= 64)
			return -EINVAL;
		uint64_t pg = 1ull << lg2, n;
		uint64_t bigger = pt->pgsize_bitmap & ~((pg << 1) - 1);

		if (lg2 < 63 && bigger) {
			uint64_t p = bigger & -bigger; /* next larger size P */

			if ((va ^ pa) & (p - 1)) {
				n = left >> lg2;
			} else {
				uint64_t dist = (p - (va & (p - 1))) & (p - 1);

				n = dist && dist + p <= left ? dist >> lg2 : left >> lg2;
				if (!n)
					n = left >> lg2;
			}
		} else {
			n = left >> lg2;
		}
		if (nseg == NS_MAX_SEGS)
			return -EINVAL;
		segs[nseg++] = (struct NS(seg)){ .va = va, .pa = pa, .n = n, .lg2 = lg2,
						 .level = (unsigned)pt->lvl_of_lg2[lg2] };
		va += n << lg2;
		pa += n << lg2;
		left -= n << lg2;
	}
	r = NS(map_segs)(pt, segs, nseg, attrs, mapped);
	if (!r && mapped)
		*mapped = size;
	return r;
}

/* ------------------------------------------------------------------ */
/* Unmap                                                               */

/*
 * Clear the leaves of [va, last] below table (at level), detaching tables
 * the range covers whole. *lv gets bit L for every level L a leaf was
 * removed at (NS(gather_leaves) turns that into the gather's stride).
 */
static uint64_t NS(unmap_level)(struct iopt_pt *pt, uint64_t *table, unsigned level,
				unsigned toplevel, uint64_t va, uint64_t last,
				struct iopt_gather *g, bool *freed, unsigned *lv, uint64_t gen)
{
	unsigned s = NS(shift)(pt, level);
	uint64_t i0 = NS(idx)(pt, va, level, toplevel), i1 = NS(idx)(pt, last, level, toplevel);
	uint64_t bytes = 0, sz = 1ull << s;
	bool descended = false;

	if (!level) {
		bytes = pt_slots_clear(&table[i0], i1 - i0 + 1) << s;
		if (bytes)
			*lv |= 1;
	} else {
		uint64_t base = NS(ebase)(pt, va, level);

		for (uint64_t i = i0; i <= i1; i++, base += sz) {
			uint64_t e = pt_load(&table[i]);

			if (!e)
				continue;
			if (!pt_is_table(pt, e, level)) {
				pt_store(&table[i], 0);
				bytes += sz;
				*lv |= 1u << level;
				continue;
			}
			uint64_t a = i == i0 ? va : base, b = i == i1 ? last : base + sz - 1;
			uint64_t *c = NS(child)(pt, e);
			struct iopt_gather_freed *spare;

			if (a == base && b == base + sz - 1 && NS(take_nodes)(pt, c, level - 1, &spare)) {
				/* Whole table covered: detach, count, free after flush. */
				pt_store(&table[i], 0);
				bytes += NS(collect)(pt, c, level - 1, g, &spare, lv);
				NS(queue_free)(pt, g, c, (size_t)8 << pt_bpl(pt), &spare);
				*freed = true;
			} else {
				/* (Or no memory for the nodes: clear it, keep the empty table.) */
				bytes += NS(unmap_level)(pt, c, level - 1, toplevel, a, b, g, freed, lv,
							 gen);
				descended = true;
			}
		}
	}
	_pt_written(pt, &table[i0], (i1 - i0 + 1) * 8);
	/* Cache the deepest table of the walk for the next sequential call. */
	if (level != toplevel && !descended && !*freed)
		NS(cache_set)(pt, &NS(wc), gen, table, level, va);
	return bytes;
}

/* Walk to the leaf holding va: 0 no leaf, else its slot; *level, *e set. */
static uint64_t *NS(find_leaf)(const struct iopt_pt *pt, uint64_t va, unsigned *lvl, uint64_t *ent)
{
	uint64_t *table;
	unsigned level, toplevel;
	uint64_t top = NS(load_top)(pt, &table, &toplevel);
	uint64_t reach = NS(reach)(pt, (unsigned)(top & 0xf));

	if (reach && va >= reach && !pt->sign_extend)
		return NULL;
	for (level = toplevel;; level--) {
		uint64_t *slot = &table[NS(idx)(pt, va, level, toplevel)];
		uint64_t e = pt_load(slot);

		if (!e)
			return NULL;
		if (level && pt_is_table(pt, e, level)) {
			table = NS(child)(pt, e);
			continue;
		}
		*lvl = level;
		*ent = e;
		return slot;
	}
}

/* Is there a leaf/run that straddles boundary b (b is inside it, not its start)? */
static bool NS(straddles)(const struct iopt_pt *pt, uint64_t b)
{
	unsigned level;
	uint64_t e;

	if (!NS(va_ok)(pt, b, b) || !NS(find_leaf)(pt, b, &level, &e))
		return false;
	return (b & pt_mask_lg2(pt_leaf_lg2(pt, e, level))) != 0;
}

/*
 * Split so that no leaf straddles b (IOPT_PT_F_SPLIT): a replicated or
 * contiguous run is rewritten as single slots; a single large slot becomes
 * a table of the next level's largest pages. Translations never change,
 * so this is safe to leave done if a later step fails. On ARM this is a
 * block-to-table change without break-before-make (hw-facts §4.9: not
 * hitless on SMMUv3 without BBML support; documented limitation).
 */
static int NS(split_at)(struct iopt_pt *pt, uint64_t b)
{
	for (;;) {
		unsigned level;
		uint64_t e;
		uint64_t *slot = NS(find_leaf)(pt, b, &level, &e);

		if (!slot)
			return 0;
		unsigned run = pt_leaf_lg2(pt, e, level), s = NS(shift)(pt, level);

		if (!(b & pt_mask_lg2(run)))
			return 0;
		uint64_t attrs = pt_leaf_attrs(pt, e, level);

		if (run > s) {
			uint64_t n = 1ull << (run - s);
			uint64_t *first = slot - (((uintptr_t)slot / 8) & (n - 1));
			uint64_t va = b & ~pt_mask_lg2(run);

			/* Pieces must be sizes this table may use (cfg bitmap). */
			if (!(pt->lvl_sizes[level] & pt->pgsize_bitmap & (1ull << s)))
				return -EINVAL; /* e.g. AMD 512 GiB: no natural leaf (§2.4) */
			for (uint64_t k = 0; k < n; k++, va += 1ull << s) {
				uint64_t ek = pt_load(&first[k]);
				uint64_t pa = pt_leaf_oa(pt, ek, level) +
					      (va & pt_mask_lg2(pt_oa_lg2(pt, ek, level)));

				pt_install(pt, &first[k], level, s, pa, pt_leaf_attrs(pt, ek, level), 1);
			}
			_pt_written(pt, first, n * 8);
			continue;
		}
		if (!level)
			return -EINVAL;
		uint64_t sizes = pt->lvl_sizes[level - 1] & pt->pgsize_bitmap & ((1ull << s) - 1);

		if (!sizes)
			return -EINVAL;
		unsigned lg2 = 63 - (unsigned)__builtin_clzll(sizes);
		uint64_t va = b & ~pt_mask_lg2(s), pa;
		uint64_t oa = pt_leaf_oa(pt, e, level) + (va & pt_mask_lg2(pt_oa_lg2(pt, e, level)));
		uint64_t *nt = pt->p_alloc(pt->p_ctx, (size_t)8 << pt_bpl(pt), &pa);

		if (!nt)
			return -ENOMEM;
		pt_install(pt, nt, level - 1, lg2, oa, attrs, 1ull << (s - lg2));
		_pt_written(pt, nt, (size_t)8 << pt_bpl(pt));
		if (!pt_cas_release(slot, &e, pt_make_table(pt, pa, level))) {
			/* Hardware set A/D meanwhile: redo with the new value. */
			pt->p_free(pt->p_ctx, nt, (size_t)8 << pt_bpl(pt));
			continue;
		}
		_pt_written(pt, slot, 8);
	}
}

static pt_noinline int NS(unmap_slow)(struct iopt_pt *pt, uint64_t iova, uint64_t last,
				      uint64_t pgsize, struct iopt_gather *g, uint64_t *unmapped)
{
	uint64_t gen = NS(gen)(pt);
	int r;

	if (NS(straddles)(pt, iova) || (last != UINT64_MAX && NS(straddles)(pt, last + 1))) {
		if (!(pt->flags & IOPT_PT_F_SPLIT))
			return -EINVAL;
		r = NS(split_at)(pt, iova);
		if (!r && last != UINT64_MAX && NS(va_ok)(pt, last + 1, last + 1))
			r = NS(split_at)(pt, last + 1);
		if (r)
			return r;
	}
	bool fresh = iopt_gather_add_page(g, iova, last - iova + 1, pgsize);
	unsigned lv = 0;
	uint64_t *root;
	unsigned toplevel;
	uint64_t top = NS(load_top)(pt, &root, &toplevel);
	uint64_t reach = NS(reach)(pt, (unsigned)(top & 0xf));
	bool freed = false;

	if (reach && !pt->sign_extend) {
		if (iova >= reach) {
			*unmapped = 0;
			return 0;
		}
		if (last >= reach)
			last = reach - 1;
	}
	*unmapped = NS(unmap_level)(pt, root, toplevel, toplevel, iova, last, g, &freed, &lv, gen);
	NS(gather_leaves)(pt, g, fresh, lv, iova, last - iova + 1);
	if (freed)
		atomic_fetch_add(&pt->gen, 1);
	return 0;
}

static pt_noinline int NS(unmap_rest)(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize,
				      uint64_t pgcount, struct iopt_gather *g, uint64_t *unmapped)
{
	uint64_t dummy;

	if (!unmapped)
		unmapped = &dummy;
	*unmapped = 0;
	if (pt_unlikely(!pgcount || (pgsize & (pgsize - 1)) || !(pgsize & pt->pgsize_bitmap) ||
			(iova & (pgsize - 1)) || !g))
		return -EINVAL;
	unsigned lg2 = (unsigned)__builtin_ctzll(pgsize);

	if (pt_unlikely(pgcount > (UINT64_MAX >> lg2)))
		return -ERANGE;
	uint64_t len = pgcount << lg2, last = iova + len - 1;

	if (pt_unlikely(last < iova || !NS(va_ok)(pt, iova, last)))
		return -ERANGE;

	struct pt_tcache *c = &NS(wc);

	/*
	 * Range inside one table (the cached one, or the one a single walk
	 * ends in), not all of it (a fully covered table must be freed).
	 */
	uint64_t *t = NULL;
	unsigned level = 0;

	if (pt_likely(NS(cache_hit)(pt, c, iova, last))) {
		t = c->table;
		level = c->level;
	} else {
		uint64_t *root;
		unsigned toplevel;
		uint64_t gen = NS(gen)(pt);
		uint64_t top = NS(load_top)(pt, &root, &toplevel);
		uint64_t reach = NS(reach)(pt, (unsigned)(top & 0xf));

		if (!reach || iova < reach || pt->sign_extend) {
			t = root;
			for (level = toplevel; level; level--) {
				uint64_t e = pt_load(&t[NS(idx)(pt, iova, level, toplevel)]);

				if (!e || !pt_is_table(pt, e, level))
					break;
				t = NS(child)(pt, e);
			}
			if (level == toplevel)
				t = NULL;
			else
				NS(cache_set)(pt, &NS(wc), gen, t, level, iova);
		}
		if (t && !NS(cache_hit)(pt, c, iova, last))
			t = NULL;
	}
	if (t && pt_likely(len < (1ull << NS(shift)(pt, level + 1)))) {
		unsigned s = NS(shift)(pt, level);
		uint64_t m = (1ull << pt_bpl(pt)) - 1;
		uint64_t i0 = (iova >> s) & m, i1 = (last >> s) & m;
		uint64_t e0 = pt_load(&t[i0]), e1 = pt_load(&t[i1]);
		bool ok = true;

		if (level) {
			for (uint64_t i = i0; i <= i1 && ok; i++) {
				uint64_t e = pt_load(&t[i]);

				ok = !e || !pt_is_table(pt, e, level);
			}
		}
		if (ok && e0 && (iova & pt_mask_lg2(pt_leaf_lg2(pt, e0, level))))
			ok = false;
		if (ok && e1 && ((last + 1) & pt_mask_lg2(pt_leaf_lg2(pt, e1, level))))
			ok = false;
		if (pt_likely(ok)) {
			bool fresh = iopt_gather_add_page(g, iova, len, pgsize);

			*unmapped = pt_slots_clear(&t[i0], i1 - i0 + 1) << s;
			_pt_written(pt, &t[i0], (i1 - i0 + 1) * 8);
			NS(gather_leaves)(pt, g, fresh, *unmapped ? 1u << level : 0, iova, len);
			return 0;
		}
	}
	return NS(unmap_slow)(pt, iova, last, pgsize, g, unmapped);
}


/* Fast path: one page that is exactly one leaf of the cached table. */
static int NS(unmap)(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t pgcount,
		     struct iopt_gather *g, uint64_t *unmapped)
{
	const struct pt_tcache *c = &NS(wc);

	/* pgsize == the cached level's slot size implies a power of two. */
	if (pt_likely(pgcount == 1 && pgsize == (1ull << c->shift) && !(iova & (pgsize - 1)) &&
		      NS(cache_hit)(pt, c, iova, iova) && (pgsize & pt->pgsize_bitmap) && g &&
		      unmapped)) {
		uint64_t *slot = &c->table[(iova >> c->shift) & ((1ull << pt_bpl(pt)) - 1)];
		uint64_t e = pt_load_leaf(slot);

		/*
		 * No call on this path (a leaf function, no frame): a gather
		 * that needs a sync first, or a provider with a written hook,
		 * take the general path.
		 */
		if (pt_likely(e && !pt_is_table(pt, e, c->level) &&
			      pt_leaf_lg2(pt, e, c->level) == c->shift && !pt->p_written)) {
			if (pt_likely(g->pgsize == pgsize && iova == g->end + 1 && iova)) {
				g->end += pgsize; /* sequential: extend the batch */
			} else if ((g->pgsize == pgsize || !g->pgsize) &&
				   !iopt_gather_is_disjoint(g, iova, pgsize)) {
				g->pgsize = pgsize;
				iopt_gather_add_range(g, iova, pgsize);
			} else {
				return NS(unmap_rest)(pt, iova, pgsize, pgcount, g, unmapped);
			}
			pt_store(slot, 0);
			*unmapped = pgsize;
			return 0;
		}
	}
	return NS(unmap_rest)(pt, iova, pgsize, pgcount, g, unmapped);
}

/*
 * iopt_pt_unmap_leaf: one granule leaf of the table this thread's last
 * map/unmap ended in, cleared without a gather. A hit with an empty slot is
 * a definite "not mapped" (the table is live and covers iova); everything
 * else is declined unchanged for iopt_pt_unmap_pages. A leaf function.
 */
static int NS(unmap_leaf)(struct iopt_pt *pt, uint64_t iova)
{
	const struct pt_tcache *c = &NS(wc);

	if (pt_likely(c->level == 0 && !(iova & pt_mask_lg2(pt_granule_lg2(pt))) &&
		      NS(cache_hit)(pt, c, iova, iova) && !pt->p_written)) {
		uint64_t *slot = &c->table[(iova >> pt_granule_lg2(pt)) & ((1ull << pt_bpl(pt)) - 1)];
		uint64_t e = pt_load_leaf(slot);

		if (!e)
			return -ENOENT;
		if (pt_likely(pt_leaf_lg2(pt, e, 0) == pt_granule_lg2(pt))) {
			pt_store(slot, 0);
			return 1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Lookup                                                              */

/*
 * Everything but a cache hit that ends in a leaf: validation, the walk from
 * the root, refilling the level-1 cache (only without phys_to_virt, so a hit
 * may follow table entries as host pointers), -ENOENT.
 */
static pt_noinline int NS(iova_to_phys_slow)(struct iopt_pt *pt, uint64_t iova, uint64_t *phys)
{
	struct pt_tcache *c = &NS(rc);
	uint64_t *table;
	unsigned level, toplevel;

	if (pt_unlikely(!NS(va_ok)(pt, iova, iova)))
		return -ERANGE;
	uint64_t gen = NS(gen)(pt);
	uint64_t top = NS(load_top)(pt, &table, &toplevel);
	uint64_t reach = NS(reach)(pt, (unsigned)(top & 0xf));

	if (reach && iova >= reach && !pt->sign_extend)
		return -ENOENT;
	for (level = toplevel;;) {
		uint64_t e = pt_load(&table[NS(idx)(pt, iova, level, toplevel)]);

		if (!e)
			return -ENOENT;
		if (level && pt_is_table(pt, e, level)) {
			table = NS(child)(pt, e);
			level--;
			if (level == 1 && toplevel > 1 && !pt->p_p2v)
				NS(cache_set)(pt, c, gen, table, 1, iova);
			continue;
		}
		*phys = pt_leaf_oa(pt, e, level) + (iova & pt_mask_lg2(pt_oa_lg2(pt, e, level)));
		return 0;
	}
}

/*
 * Fast path: this thread's cached level-1 table covers iova (a hit also
 * proves the IOVA valid: the cached table's whole span is) and the walk
 * ends in a level-0 leaf: two loads. The level-1 geometry is constant per
 * instantiation, so nothing of the cache but gen, base and table is read.
 * A leaf function; everything else (a miss, a hole, a level-1 leaf) goes
 * to the slow path, which walks again.
 */
static int NS(iova_to_phys)(struct iopt_pt *pt, uint64_t iova, uint64_t *phys)
{
	const struct pt_tcache *c = &NS(rc);
	const uint64_t m = (1ull << pt_bpl(pt)) - 1;

	/* One branch for both: same object and generation, iova inside the table. */
	if (pt_likely(!((c->gen ^ NS(gen)(pt)) | ((iova ^ c->base) >> NS(shift)(pt, 2))))) {
		uint64_t e = pt_load(&c->table[(iova >> NS(shift)(pt, 1)) & m]);

		if (pt_likely(pt_is_table(pt, e, 1) && e)) {
			const uint64_t *t = (const uint64_t *)(uintptr_t)pt_table_pa(pt, e);
			uint64_t e0 = pt_load_leaf(&t[(iova >> pt_granule_lg2(pt)) & m]);

			if (pt_likely(e0)) {
				*phys = pt_leaf_oa(pt, e0, 0) +
					(iova & pt_mask_lg2(pt_oa_lg2(pt, e0, 0)));
				return 0;
			}
		}
	}
	return NS(iova_to_phys_slow)(pt, iova, phys);
}

/* ------------------------------------------------------------------ */
/* Dirty tracking                                                      */

struct NS(dctx) {
	unsigned flags;
	iopt_dirty_fn fn;
	void *ctx;
	struct iopt_gather *g;
};

static void NS(dirty_level)(struct iopt_pt *pt, uint64_t *table, unsigned level, unsigned toplevel,
			    uint64_t va, uint64_t last, const struct NS(dctx) *d)
{
	unsigned s = NS(shift)(pt, level);
	uint64_t i0 = NS(idx)(pt, va, level, toplevel), i1 = NS(idx)(pt, last, level, toplevel);
	uint64_t base0 = NS(ebase)(pt, va, level);

	for (uint64_t i = i0; i <= i1;) {
		uint64_t e = pt_load(&table[i]);
		uint64_t base = base0 + ((i - i0) << s);

		if (!e) {
			i++;
			continue;
		}
		if (level && pt_is_table(pt, e, level)) {
			uint64_t a = i == i0 ? va : base, b = i == i1 ? last : base + pt_mask_lg2(s);

			NS(dirty_level)(pt, NS(child)(pt, e), level - 1, toplevel, a, b, d);
			i++;
			continue;
		}
		/* A run is one item: OR the copies, report it whole, clean all. */
		unsigned run = pt_leaf_lg2(pt, e, level);
		uint64_t n = 1ull << (run - s), first = i & ~(n - 1);
		bool dirty = false;

		for (uint64_t k = first; k < first + n; k++)
			dirty |= pt_is_dirty(pt, pt_load(&table[k]));
		if (dirty) {
			uint64_t rva = base & ~pt_mask_lg2(run);

			if (d->fn)
				d->fn(d->ctx, rva, 1ull << run);
			if (!(d->flags & IOPT_DIRTY_NO_CLEAR)) {
				for (uint64_t k = first; k < first + n; k++)
					pt_clean(pt, &table[k]);
				_pt_written(pt, &table[first], n * 8);
				if (d->g)
					iopt_gather_add_range(d->g, rva, 1ull << run);
			}
		}
		i = first + n;
	}
}

static int NS(dirty)(struct iopt_pt *pt, uint64_t iova, uint64_t size, unsigned flags,
		     iopt_dirty_fn fn, void *ctx, struct iopt_gather *g)
{
	struct NS(dctx) d = { .flags = flags, .fn = fn, .ctx = ctx, .g = g };
	uint64_t *root, last = iova + size - 1;
	unsigned toplevel;

	if (!(pt->flags & IOPT_PT_F_HW_DIRTY))
		return -EOPNOTSUPP;
	if (!size || (iova & pt_mask_lg2(pt_granule_lg2(pt))) ||
	    (size & pt_mask_lg2(pt_granule_lg2(pt))))
		return -EINVAL;
	if (last < iova || !NS(va_ok)(pt, iova, last))
		return -ERANGE;
	uint64_t top = NS(load_top)(pt, &root, &toplevel);
	uint64_t reach = NS(reach)(pt, (unsigned)(top & 0xf));

	if (reach && !pt->sign_extend) {
		if (iova >= reach)
			return 0;
		if (last >= reach)
			last = reach - 1;
	}
	NS(dirty_level)(pt, root, toplevel, toplevel, iova, last, &d);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Create / free                                                       */

static void NS(teardown)(struct iopt_pt *pt)
{
	uint64_t *root;
	unsigned toplevel;

	NS(load_top)(pt, &root, &toplevel);
	NS(free_tree)(pt, root, toplevel, toplevel);
	atomic_fetch_add(&pt->gen, 1);
}

static int NS(init)(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg)
{
	unsigned levels = 0;
	int r = pt_fmt_init(pt, cfg, &levels);

	if (r)
		return r;
	if (levels < 1 || levels > PT_FMT_MAX_LEVELS || pt->max_levels > PT_FMT_MAX_LEVELS)
		return -EINVAL;
	pt->top_bits = (unsigned)__builtin_popcountll(pt->top_mask);
	atomic_store(&pt->gen, pt->uid << 32);
	pt->pgsize_bitmap = 0;
	memset(pt->lvl_of_lg2, -1, sizeof(pt->lvl_of_lg2));
	for (unsigned l = 0; l < pt->max_levels; l++) {
		pt->lvl_sizes[l] = pt_fmt_sizes(pt, l);
		for (unsigned b = 0; b < 64; b++)
			if (pt->lvl_sizes[l] & (1ull << b))
				pt->lvl_of_lg2[b] = (int8_t)l;
		pt->pgsize_bitmap |= pt->lvl_sizes[l];
	}
	if (cfg->pgsize_bitmap)
		pt->pgsize_bitmap &= cfg->pgsize_bitmap;
	if (!pt->pgsize_bitmap)
		return -EINVAL;

	uint64_t pa;
	void *root = pt->p_alloc(pt->p_ctx, pt->root_size, &pa);

	if (!root)
		return -ENOMEM;
	if (pa & 0xfff) {
		pt->p_free(pt->p_ctx, root, pt->root_size);
		return -EINVAL;
	}
	atomic_store(&pt->top, pa | levels);
	return 0;
}

const struct pt_ops NS(ops) = {
	.init = NS(init),
	.map = NS(map),
	.map_range = NS(map_range),
	.map_leaf = NS(map_leaf),
	.unmap = NS(unmap),
	.unmap_leaf = NS(unmap_leaf),
	.iova_to_phys = NS(iova_to_phys),
	.dirty = NS(dirty),
	.teardown = NS(teardown),
};
