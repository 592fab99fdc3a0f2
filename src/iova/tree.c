/* SPDX-License-Identifier: MIT */
/*
 * The gap tree: an AVL tree of allocated/reserved ranges keyed by first pfn.
 * Each node records the free gap just below it, and each subtree the largest
 * gap and the largest naturally aligned free block (as order+1) inside it.
 * A top-down search visits the right subtree first and skips every subtree
 * whose summary cannot hold the request, so it touches O(log n) nodes
 * (Linux walks gaps one by one from a cached node: O(n) when fragmented).
 *
 * Gap ownership: a free range belongs to the node just above it. An anchor
 * node at end_pfn + 1 owns the top free range, and the lowest node's gap
 * starts at start_pfn, so every free pfn lies in exactly one gap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iova_internal.h"

/*
 * Tree node: one allocated or reserved range. 40 bytes, no pointers: child
 * links are 32-bit indices into the domain's node array, which keeps the
 * node inside the 40-byte budget while still carrying the two subtree
 * summaries the O(log n) search needs. pfns are below 2^55 (granule >=
 * 512 B), so the top bits of the 64-bit words hold small fields:
 *   hi:       bits 0..55 last pfn; 56..61 order+1 of the largest aligned
 *             block in this node's own gap; bit 63 reserved range.
 *   gap:      bits 0..57 free pfns just below lo; 58..63 AVL height.
 *   max_gap:  bits 0..57 largest gap in the subtree; 58..63 largest order+1.
 * Index 0 is a zeroed sentinel, so a missing child reads as height 0 and
 * empty summaries without a branch.
 */
struct iova_node {
	uint64_t lo;
	uint64_t hi_bits;
	uint64_t gap_bits;
	uint64_t max_bits;
	uint32_t left, right;
};

#define IOVA_PFN_MASK ((1ull << 56) - 1)
#define IOVA_GAP_MASK ((1ull << 58) - 1)
#define IOVA_ORD_SHIFT 56
#define IOVA_HGT_SHIFT 58
#define IOVA_RESERVED (1ull << 63)

static inline uint64_t node_hi(const struct iova_node *n)
{
	return n->hi_bits & IOVA_PFN_MASK;
}

static inline bool node_reserved(const struct iova_node *n)
{
	return n->hi_bits & IOVA_RESERVED;
}


#define N(t, i) (&(t)->nodes[(i)])

static inline uint64_t gap_of(const struct iova_node *n)
{
	return n->gap_bits & IOVA_GAP_MASK;
}

static inline unsigned height_of(const struct iova_node *n)
{
	return (unsigned)(n->gap_bits >> IOVA_HGT_SHIFT);
}

static inline uint64_t max_gap_of(const struct iova_node *n)
{
	return n->max_bits & IOVA_GAP_MASK;
}

static inline unsigned max_ord_of(const struct iova_node *n)
{
	return (unsigned)(n->max_bits >> IOVA_HGT_SHIFT);
}

static inline unsigned own_ord_of(const struct iova_node *n)
{
	return (unsigned)((n->hi_bits >> IOVA_ORD_SHIFT) & 63);
}

/* Order+1 of the largest 2^k-aligned 2^k block inside [a, a + len - 1]; 0 for len 0. */
static unsigned gap_order1(uint64_t a, uint64_t len)
{
	if (!len)
		return 0;
	unsigned k = iopt_fls64(len) - 1;
	uint64_t blk = 1ull << k;
	uint64_t s = (a + blk - 1) & ~(blk - 1);
	/* If 2^k does not fit, 2^(k-1) does: it starts at most 2^(k-1) - 1 past a
	 * and so ends by a + 2^k - 2 < a + len. */
	return s + blk - a <= len ? k + 1 : k;
}

static inline void set_gap(struct iova_node *n, uint64_t gap)
{
	n->gap_bits = (n->gap_bits & ~IOVA_GAP_MASK) | gap;
	n->hi_bits = (n->hi_bits & ~(63ull << IOVA_ORD_SHIFT)) |
		     ((uint64_t)gap_order1(n->lo - gap, gap) << IOVA_ORD_SHIFT);
}

/* Recompute height and subtree summaries of node i from its children. */
static inline void pull(struct iova_tree *t, uint32_t i)
{
	struct iova_node *n = N(t, i);
	const struct iova_node *l = N(t, n->left), *r = N(t, n->right);
	unsigned hl = height_of(l), hr = height_of(r);
	uint64_t g = gap_of(n), gl = max_gap_of(l), gr = max_gap_of(r);
	unsigned o = own_ord_of(n), ol = max_ord_of(l), or_ = max_ord_of(r);

	g = g > gl ? g : gl;
	g = g > gr ? g : gr;
	o = o > ol ? o : ol;
	o = o > or_ ? o : or_;
	n->gap_bits = gap_of(n) | ((uint64_t)(1 + (hl > hr ? hl : hr)) << IOVA_HGT_SHIFT);
	n->max_bits = g | ((uint64_t)o << IOVA_HGT_SHIFT);
}

static uint32_t rotate_right(struct iova_tree *t, uint32_t i)
{
	uint32_t l = N(t, i)->left;
	N(t, i)->left = N(t, l)->right;
	N(t, l)->right = i;
	pull(t, i);
	pull(t, l);
	return l;
}

static uint32_t rotate_left(struct iova_tree *t, uint32_t i)
{
	uint32_t r = N(t, i)->right;
	N(t, i)->right = N(t, r)->left;
	N(t, r)->left = i;
	pull(t, i);
	pull(t, r);
	return r;
}

static inline int balance_of(struct iova_tree *t, uint32_t i)
{
	return (int)height_of(N(t, N(t, i)->left)) - (int)height_of(N(t, N(t, i)->right));
}

/*
 * Restore the AVL property at i (children already balanced); returns the
 * subtree root. *settled: i came out exactly as it was, so its ancestors
 * need no update for its sake (see fixup).
 */
static uint32_t rebalance(struct iova_tree *t, uint32_t i, bool *settled)
{
	struct iova_node *n = N(t, i);
	uint64_t gb = n->gap_bits, mb = n->max_bits;
	pull(t, i);
	int b = balance_of(t, i);
	if (b > 1) {
		if (balance_of(t, n->left) < 0)
			n->left = rotate_left(t, n->left);
		*settled = false;
		return rotate_right(t, i);
	}
	if (b < -1) {
		if (balance_of(t, n->right) > 0)
			n->right = rotate_right(t, n->right);
		*settled = false;
		return rotate_left(t, i);
	}
	*settled = n->gap_bits == gb && n->max_bits == mb;
	return i;
}

/*
 * Updates walk down once, recording the path, and fix summaries and balance
 * bottom-up along it: no recursion, no second descent. 64 levels bound any
 * AVL tree of 2^32 nodes (height <= 1.44 log2 n).
 */
#define TREE_MAX_DEPTH 64

struct path {
	unsigned n;
	uint32_t at[TREE_MAX_DEPTH]; /* at[0] is the root */
};

static inline void push(struct path *p, uint32_t i)
{
	p->at[p->n++] = i;
}

/* Make at[k]'s parent (or the root) point to nw instead of old. */
static inline void relink(struct iova_tree *t, const struct path *p, int k, uint32_t old, uint32_t nw)
{
	if (!k) {
		t->root = nw;
	} else {
		struct iova_node *par = N(t, p->at[k - 1]);
		if (par->left == old)
			par->left = nw;
		else
			par->right = nw;
	}
}

/*
 * Rebalance levels k..0 bottom-up. Level k always changed. Once a level
 * comes out unchanged, the levels above are unchanged too, except the one
 * whose own gap this update changed (touched, or -1): jump there, or stop.
 */
static void fixup(struct iova_tree *t, struct path *p, int k, int touched)
{
	for (; k >= 0; k--) {
		bool settled;
		uint32_t i = p->at[k], r = rebalance(t, i, &settled);
		if (r != i) {
			relink(t, p, k, i, r);
			p->at[k] = r;
		} else if (settled) {
			if (touched >= k)
				return;
			k = touched + 1;
		}
	}
}

/* Path from the root to where key lo would be a new leaf; *pl, *sl: levels of
 * its predecessor and successor on the path (-1: none). */
static void path_to_leaf(const struct iova_tree *t, uint64_t lo, struct path *p, int *pl, int *sl)
{
	*pl = *sl = -1;
	p->n = 0;
	for (uint32_t i = t->root; i;) {
		push(p, i);
		if (lo < N(t, i)->lo) {
			*sl = (int)p->n - 1;
			i = N(t, i)->left;
		} else {
			*pl = (int)p->n - 1;
			i = N(t, i)->right;
		}
	}
}

/* Hang leaf ni under the last node of p and fix the path. */
static void link_leaf(struct iova_tree *t, struct path *p, uint32_t ni, int touched)
{
	struct iova_node *par = N(t, p->at[p->n - 1]);
	pull(t, ni);
	if (N(t, ni)->lo < par->lo)
		par->left = ni;
	else
		par->right = ni;
	fixup(t, p, (int)p->n - 1, touched);
}

/*
 * Remove at[d] from the tree; its range and gap join its successor's gap.
 * sl: level of the successor on the path when at[d] has no right subtree.
 */
static void erase_path(struct iova_tree *t, struct path *p, int d, int sl)
{
	uint32_t del = p->at[d];
	struct iova_node *n = N(t, del);
	uint64_t glo = n->lo - gap_of(n);

	if (!n->right) {
		struct iova_node *su = N(t, p->at[sl]);
		set_gap(su, su->lo - glo);
		relink(t, p, d, del, n->left);
		fixup(t, p, d - 1, sl);
		return;
	}
	/* The successor is the leftmost node of the right subtree: it takes del's place. */
	uint32_t m = n->right;
	push(p, m);
	while (N(t, m)->left) {
		m = N(t, m)->left;
		push(p, m);
	}
	int lm = (int)p->n - 1;
	struct iova_node *mn = N(t, m);
	set_gap(mn, mn->lo - glo);
	mn->left = n->left;
	if (lm == d + 1) {
		p->n = (unsigned)d + 1;
	} else {
		N(t, p->at[lm - 1])->left = mn->right;
		mn->right = n->right;
		p->n = (unsigned)lm;
	}
	relink(t, p, d, del, m);
	p->at[d] = m;
	/* fixup's early stop compares a node with what its parent last saw: for m
	 * in del's place, that is del's height and summaries. */
	mn->gap_bits = gap_of(mn) | (n->gap_bits & ~IOVA_GAP_MASK);
	mn->max_bits = n->max_bits;
	fixup(t, p, (int)p->n - 1, d);
}

/* Slow path: grow the node array by half. The caller re-derives node pointers. */
static iopt_noinline int grow(struct iova_tree *t)
{
	uint64_t cap = t->cap + t->cap / 2 + 16;
	if (cap > UINT32_MAX)
		return -ENOMEM;
	struct iova_node *nodes = realloc(t->nodes, cap * sizeof(*nodes));
	if (!nodes)
		return -ENOMEM;
	for (uint64_t i = t->cap; i < cap; i++)
		nodes[i].left = i + 1 < cap ? (uint32_t)(i + 1) : t->free_head;
	t->free_head = t->cap;
	t->nodes = nodes;
	t->cap = (uint32_t)cap;
	return 0;
}

static inline int node_new(struct iova_tree *t, uint64_t lo, uint64_t hi, uint32_t *out)
{
	if (iopt_unlikely(!t->free_head) && grow(t))
		return -ENOMEM;
	uint32_t i = t->free_head;
	struct iova_node *n = N(t, i);
	t->free_head = n->left;
	n->lo = lo;
	n->hi_bits = hi;
	n->gap_bits = 0;
	n->max_bits = 0;
	n->left = n->right = 0;
	*out = i;
	return 0;
}

static inline void node_put(struct iova_tree *t, uint32_t i)
{
	N(t, i)->left = t->free_head;
	t->free_head = i;
}

int _iopt_tree_init(struct iova_tree *t, uint64_t start_pfn, uint64_t end_pfn)
{
	memset(t, 0, sizeof(*t));
	t->start_pfn = start_pfn;
	t->end_pfn = end_pfn;
	if (grow(t))
		return -ENOMEM;
	/* Slot 0 is the sentinel: take it off the free list and zero it. */
	t->free_head = N(t, 0)->left;
	memset(N(t, 0), 0, sizeof(struct iova_node));
	if (node_new(t, end_pfn + 1, end_pfn + 1, &t->anchor)) {
		free(t->nodes);
		return -ENOMEM;
	}
	set_gap(N(t, t->anchor), end_pfn + 1 - start_pfn);
	pull(t, t->anchor);
	t->root = t->anchor;
	return 0;
}

void _iopt_tree_destroy(struct iova_tree *t)
{
	free(t->nodes);
	t->nodes = NULL;
}

/* Node with the largest lo <= pfn, or 0. */
static uint32_t floor_node(const struct iova_tree *t, uint64_t pfn)
{
	uint32_t i = t->root, best = 0;
	while (i) {
		const struct iova_node *n = N(t, i);
		if (n->lo <= pfn) {
			best = i;
			i = n->right;
		} else {
			i = n->left;
		}
	}
	return best;
}

/* Node with the smallest lo > pfn (the anchor bounds it). */
static uint32_t succ_node(const struct iova_tree *t, uint64_t pfn)
{
	uint32_t i = t->root, best = 0;
	while (i) {
		const struct iova_node *n = N(t, i);
		if (n->lo > pfn) {
			best = i;
			i = n->left;
		} else {
			i = n->right;
		}
	}
	return best;
}

/*
 * Search state. pass 1 prunes subtrees by largest gap (exact for unaligned
 * requests); pass 2 by largest aligned order (exact for power-of-two
 * aligned requests). A non-power-of-two aligned request starts in pass 1
 * and gives up on it after MISFIT_MAX gaps that were long enough but
 * misaligned, which bounds the search at O(log n).
 */
#define MISFIT_MAX 16

struct search {
	const struct iova_req *q;
	unsigned need_ord; /* order+1 a subtree must hold (pass 1: a necessary bound) */
	bool pass2;
	unsigned misfits;
	uint64_t pfn;
};

/* Does node n's own gap hold the request? Sets s->pfn to the highest placement. */
static inline bool gap_fits(const struct iova_node *n, struct search *s)
{
	const struct iova_req *q = s->q;
	uint64_t gap = gap_of(n);
	if (gap < q->size)
		return false;
	uint64_t glo = n->lo - gap;
	uint64_t top = n->lo - 1 < q->limit ? n->lo - 1 : q->limit;
	if (top < glo || top - glo + 1 < q->size)
		return false;
	uint64_t pfn = (top - q->size + 1) & ~(q->align - 1);
	if (pfn < glo) {
		s->misfits++;
		return false;
	}
	s->pfn = pfn;
	return true;
}

/* Highest node in subtree i whose gap holds the request; p gets the path to it. */
static uint32_t search_at(const struct iova_tree *t, uint32_t i, struct search *s, struct path *p)
{
	unsigned base = p->n;
	while (i) {
		const struct iova_node *n = N(t, i);
		if (max_ord_of(n) < s->need_ord || max_gap_of(n) < s->q->size)
			break;
		if (!s->pass2 && s->misfits > MISFIT_MAX)
			break;
		push(p, i);
		/* Gaps in the right subtree start above n->hi: useless once n->hi >= limit. */
		if (node_hi(n) < s->q->limit && search_at(t, n->right, s, p))
			return p->at[p->n - 1];
		if (n->lo - gap_of(n) <= s->q->limit && gap_fits(n, s))
			return i;
		i = n->left; /* tail position: iterate instead of recursing */
	}
	p->n = base;
	return 0;
}

int _iopt_tree_alloc(struct iova_tree *t, const struct iova_req *q, uint64_t *pfn)
{
	/*
	 * A block of size s aligned to A = 2^k (s > A/2) contains an aligned
	 * A/2 block: pass 1 prunes by that order and by length, both
	 * necessary. Pass 2 asks for a whole aligned A block: sufficient, and
	 * exact when s == A.
	 */
	struct search s = { .q = q, .need_ord = iopt_fls64(q->align) - 1 };
	struct path p = { 0 };
	uint32_t hit = 0;
	bool pow2 = q->align == q->size;

	if (q->align == 1 || !pow2)
		hit = search_at(t, t->root, &s, &p);
	/* Pass 1 that ended without giving up was exhaustive: no second pass. */
	if (!hit && q->align > 1 && (pow2 || s.misfits > MISFIT_MAX)) {
		s.need_ord = iopt_fls64(q->align); /* log2(align) + 1 */
		s.pass2 = true;
		hit = search_at(t, t->root, &s, &p);
	}
	if (!hit)
		return -ENOMEM;

	uint32_t ni;
	uint64_t at = s.pfn;
	if (node_new(t, at, at + q->size - 1, &ni))
		return -ENOMEM;
	struct iova_node *h = N(t, hit);
	set_gap(N(t, ni), at - (h->lo - gap_of(h)));
	set_gap(h, h->lo - (at + q->size));
	/* The new node is hit's predecessor: hit's left child, or the rightmost below it. */
	int hl = (int)p.n - 1;
	for (uint32_t i = h->left; i; i = N(t, i)->right)
		push(&p, i);
	link_leaf(t, &p, ni, hl);
	t->count++;
	*pfn = at;
	return 0;
}

int _iopt_tree_insert_range(struct iova_tree *t, uint64_t lo, uint64_t hi, bool reserved)
{
	struct path p;
	uint32_t ni;
	int pl, sl;

	if (node_new(t, lo, hi | (reserved ? IOVA_RESERVED : 0), &ni))
		return -ENOMEM;
	path_to_leaf(t, lo, &p, &pl, &sl);
	struct iova_node *su = N(t, p.at[sl]); /* the anchor bounds every key */
	set_gap(N(t, ni), lo - (pl < 0 ? t->start_pfn : node_hi(N(t, p.at[pl])) + 1));
	set_gap(su, su->lo - (hi + 1));
	link_leaf(t, &p, ni, sl);
	t->count++;
	t->reserved += reserved;
	return 0;
}

/* Path to the node whose lo == pfn (returns its level, or -1); *sl: level of
 * the last left turn, the successor when that node has no right subtree. */
static int locate(const struct iova_tree *t, uint64_t pfn, struct path *p, int *sl)
{
	p->n = 0;
	*sl = -1;
	for (uint32_t i = t->root; i;) {
		const struct iova_node *n = N(t, i);
		push(p, i);
		if (pfn < n->lo) {
			*sl = (int)p->n - 1;
			i = n->left;
		} else if (pfn > n->lo) {
			i = n->right;
		} else {
			return (int)p->n - 1;
		}
	}
	return -1;
}

static void erase_level(struct iova_tree *t, struct path *p, int d, int sl)
{
	const struct iova_node *n = N(t, p->at[d]);
	uint32_t i = p->at[d];
	t->count--;
	t->reserved -= node_reserved(n);
	erase_path(t, p, d, sl);
	node_put(t, i);
}

int _iopt_tree_free(struct iova_tree *t, uint64_t pfn, uint64_t size)
{
	struct path p;
	int sl, d = locate(t, pfn, &p, &sl);
	if (d < 0)
		return -ENOENT;
	const struct iova_node *n = N(t, p.at[d]);
	if (p.at[d] == t->anchor || node_reserved(n) || node_hi(n) != pfn + size - 1)
		return -ENOENT;
	erase_level(t, &p, d, sl);
	return 0;
}

static void to_range(const struct iova_node *n, struct iova_range *r)
{
	r->lo = n->lo;
	r->hi = node_hi(n);
	r->reserved = node_reserved(n);
}

bool _iopt_tree_find(const struct iova_tree *t, uint64_t pfn, struct iova_range *r)
{
	uint32_t i = floor_node(t, pfn);
	if (!i || i == t->anchor || node_hi(N(t, i)) < pfn)
		return false;
	to_range(N(t, i), r);
	return true;
}

bool _iopt_tree_first_overlap(const struct iova_tree *t, uint64_t lo, uint64_t hi, struct iova_range *r)
{
	uint32_t i = floor_node(t, lo);
	if (!i || node_hi(N(t, i)) < lo)
		i = succ_node(t, lo);
	if (!i || i == t->anchor || N(t, i)->lo > hi)
		return false;
	to_range(N(t, i), r);
	return true;
}

void _iopt_tree_erase(struct iova_tree *t, uint64_t lo)
{
	struct path p;
	int sl, d = locate(t, lo, &p, &sl);
	erase_level(t, &p, d, sl);
}

uint64_t _iopt_tree_bytes(const struct iova_tree *t)
{
	return (uint64_t)t->cap * sizeof(struct iova_node);
}

/* ---- invariant checker (tests, iopt_iova_check) ---- */

struct walk {
	uint64_t prev_end; /* first pfn after the previous node */
	uint32_t nodes, reserved;
	uint32_t budget;   /* bounds the walk: a cycle reports -EFAULT, not a hang */
};

static int check_at(const struct iova_tree *t, uint32_t i, struct walk *w, unsigned *h,
		    uint64_t *mg, unsigned *mo)
{
	if (!i) {
		*h = 0;
		*mg = 0;
		*mo = 0;
		return 0;
	}
	if (i >= t->cap || !w->budget--)
		return -EFAULT;
	const struct iova_node *n = N(t, i);
	unsigned hl, hr, ol, or_;
	uint64_t gl, gr;
	if (check_at(t, n->left, w, &hl, &gl, &ol))
		return -EFAULT;
	/* Order, no overlap, bounds and the recorded gap. */
	uint64_t hi = node_hi(n);
	if (n->lo < w->prev_end || hi < n->lo || gap_of(n) != n->lo - w->prev_end)
		return -EFAULT;
	if (own_ord_of(n) != gap_order1(n->lo - gap_of(n), gap_of(n)))
		return -EFAULT;
	if (i == t->anchor ? n->lo != t->end_pfn + 1 : hi > t->end_pfn)
		return -EFAULT;
	w->prev_end = hi + 1;
	w->nodes++;
	w->reserved += node_reserved(n);
	if (check_at(t, n->right, w, &hr, &gr, &or_))
		return -EFAULT;
	*h = 1 + (hl > hr ? hl : hr);
	*mg = gap_of(n);
	*mg = *mg > gl ? *mg : gl;
	*mg = *mg > gr ? *mg : gr;
	*mo = own_ord_of(n);
	*mo = *mo > ol ? *mo : ol;
	*mo = *mo > or_ ? *mo : or_;
	int b = (int)hl - (int)hr;
	if (b < -1 || b > 1 || *h != height_of(n) || *mg != max_gap_of(n) || *mo != max_ord_of(n))
		return -EFAULT;
	return 0;
}

int _iopt_tree_check(const struct iova_tree *t)
{
	struct walk w = { .prev_end = t->start_pfn, .budget = t->cap };
	unsigned h, mo;
	uint64_t mg;
	if (check_at(t, t->root, &w, &h, &mg, &mo))
		return -EFAULT;
	if (w.nodes != t->count + 1 || w.reserved != t->reserved || memcmp(N(t, 0), &(struct iova_node){ 0 }, sizeof(struct iova_node)))
		return -EFAULT;
	return 0;
}
