/* SPDX-License-Identifier: MIT */
/*
 * The gap tree: a B+-tree of the allocated/reserved ranges, keyed by first
 * pfn. Every free pfn belongs to exactly one gap, the free range just below
 * a range (its owner); an anchor range at end_pfn + 1 owns the top free
 * range, and the lowest range's gap starts at start_pfn.
 *
 * Why wide nodes: a tree operation is a chain of dependent loads, one per
 * level, each a likely cache miss. A binary tree of 100k ranges is ~17
 * levels deep, and an alloc+free pair walked it four times (search, insert,
 * locate, erase: ~60 dependent loads). With 32-wide nodes the same tree is
 * 4 levels, and the work per level is a linear scan of one contiguous array
 * that the prefetcher streams. Updates touch one path and stop as soon as a
 * parent's summary is unchanged.
 *
 * Layout. Leaves hold up to 32 ranges as parallel lo[]/hi[] arrays; a
 * range's gap is not stored but derived: from the previous range's hi, or
 * for entry 0 from the leaf's region start. Inner nodes hold, per child,
 * the first pfn of its region (key), its summary (largest gap, and largest
 * gap key: see below) and the pointer. Regions tile
 * [start_pfn, end_pfn + 1]: a child's region ends at its last range's hi,
 * and the next child's starts right after, so a free range never straddles
 * two leaves and keys are absolute (moving entries between siblings never
 * rewrites them). Removing a leaf's last range therefore moves the boundary
 * with the next leaf, whose first gap grows: the one update that touches a
 * second path. Splits allocate every node they need before changing
 * anything, so -ENOMEM leaves the tree as it was.
 *
 * Search: the anchor's gap first (the highest; top-down allocation changes
 * it on nearly every op, so it is kept out of the summaries and found via
 * t->last), then top-down, taking at each level the rightmost child whose
 * region starts at or below the limit and whose summary may hold the
 * request. Only the child straddling the limit can fail for an exact
 * request (one per level), so it is O(height * width). Unaligned requests,
 * power-of-two aligned ones and aligned ones up to 32 pfns are exact; a
 * larger non-power-of-two aligned request prunes by a necessary bound and
 * gives up after MISFIT_MAX misaligned gaps (see _iopt_tree_alloc), also
 * bounded. The search starts on the path the previous one took when
 * nothing right of it fits (search_path), which skips the descent's chain
 * of dependent loads but visits what the descent would.
 *
 * Updates: summaries are updated from the stored old value, rescanning a
 * node only when a field that held its maximum shrank; leaves also record
 * their second largest gap and key. An allocation that needs no split is
 * left pending on the finger (struct iova_tree) and written by the next
 * tree call, unless that call frees it: the common alloc/free pair touches
 * no node but for its search.
 *
 * Occupancy: every node but the root holds 16..32 entries (split 33 into
 * 16 + 17; an underflowing node borrows from a sibling or, when the sibling
 * is at the minimum, merges into 31). A leaf is 536 bytes, so at worst
 * 33.5 bytes per range, plus inner nodes (776 bytes per >= 16 children:
 * < 3.3 bytes per range over all levels): < 37 bytes per range, plus the
 * root, which alone may be less full. Random workloads sit near 29.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "iova_internal.h"

#define LEAF_CAP 32
#define LEAF_MIN (LEAF_CAP / 2)
#define INNER_CAP 32
#define INNER_MIN (INNER_CAP / 2)

/*
 * pfns are below 2^55 (granule >= 512 B), so the top bits of a leaf's hi
 * word hold small fields: bits 0..55 last pfn; 56 reserved range; 57..63
 * the key of the gap below the range (on top: one compare tests it).
 *
 * A gap's key encodes o, order+1 of its largest naturally aligned free
 * block (0 for an empty gap), and for o <= 5 also f, the free run from the
 * gap's first 2^o-aligned pfn on (below 2^o, or there would be an aligned
 * 2^o block). A request of s pfns aligned to 2^j fits a gap exactly when
 * o > j (an aligned 2^j block holds it), or o == j and f >= s (the gap has
 * an aligned 2^(j-1) block but no 2^j one, which leaves only the first
 * 2^j-aligned start); o < j cannot (s > 2^(j-1) pfns from an aligned start
 * hold an aligned 2^(j-1) block). The encoding (key_code) keeps that order
 * as numbers, so a subtree's largest key answers for all of it, in 7 bits.
 * Above 32 pfns f is not kept and o >= j is only necessary (the misfit
 * bound below).
 *
 * A summary word: bits 0..56 largest gap; 57..63 largest key.
 */
#define PFN_MASK ((1ull << 56) - 1)
#define RESERVED (1ull << 56)
#define KEY_SHIFT 57
#define KEY_MASK (127ull << KEY_SHIFT)
#define KEY_F_ORDERS 5 /* f kept for o <= 5: aligned sizes up to 32 are exact */
#define GAP_MASK ((1ull << 57) - 1)

/* Both kinds start with n and level (0: leaf), so the checker can tell them apart. */
struct leaf {
	uint32_t n;
	uint16_t level;
	uint8_t g2_ok, o2_ok; /* second's gap / key field is exact (else unknown) */
	uint64_t start;  /* first pfn of this leaf's region (= parent's key) */
	uint64_t second; /* summary word of the second largest gap and key (see leaf_changed) */
	uint64_t lo[LEAF_CAP];
	uint64_t hi[LEAF_CAP];
};

struct inner {
	uint32_t n;
	uint16_t level, pad;
	uint64_t key[INNER_CAP]; /* first pfn of child c's region; key[0] is this node's */
	uint64_t sum[INNER_CAP]; /* child c's summary */
	void *child[INNER_CAP];
};

/* The occupancy bound in the header comment rests on these sizes. */
_Static_assert(sizeof(struct leaf) == 536 && sizeof(struct inner) == 776, "node size");

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

static inline uint64_t e_hi(const struct leaf *l, unsigned i)
{
	return l->hi[i] & PFN_MASK;
}


/* First pfn of the gap below entry i. */
static inline uint64_t e_glo(const struct leaf *l, unsigned i)
{
	return i ? e_hi(l, i - 1) + 1 : l->start;
}

/* Key of (o, f): 0; 2^o - 1 + f for o <= 5 (f < 2^o); 63 + o - 6 above. Monotone, below 128. */
static inline uint64_t key_code(unsigned o, uint64_t f)
{
	return o <= KEY_F_ORDERS ? (1ull << o) - 1 + f : 63 + o - (KEY_F_ORDERS + 1);
}

/* The key of the free range [glo, lo - 1] (see the top of the file). */
static inline uint64_t gap_key(uint64_t glo, uint64_t lo)
{
	unsigned o = gap_order1(glo, lo - glo);
	uint64_t f = 0;
	if (o && o <= KEY_F_ORDERS) {
		uint64_t a = 1ull << o, x = (glo + a - 1) & ~(a - 1);
		f = x < lo ? lo - x : 0;
	}
	return key_code(o, f);
}

static inline uint64_t e_key(const struct leaf *l, unsigned i)
{
	return l->hi[i] >> KEY_SHIFT;
}

static inline void set_key(struct leaf *l, unsigned i)
{
	l->hi[i] = (l->hi[i] & ~KEY_MASK) | gap_key(e_glo(l, i), l->lo[i]) << KEY_SHIFT;
}

/* Smallest key of a gap that holds s pfns aligned to a = 2^j (a = 1: unaligned, any key). */
static uint64_t key_need(uint64_t s, uint64_t a)
{
	unsigned j = iopt_fls64(a) - 1;
	if (a == 1)
		return 0;
	if (s == a)
		return key_code(j + 1, 0);
	return key_code(j, j <= KEY_F_ORDERS ? s : 0);
}

static inline bool is_anchor(const struct iova_tree *t, const struct leaf *l, unsigned i)
{
	return l->lo[i] == t->end_pfn + 1;
}

/* Fieldwise max of two summary words. */
static inline uint64_t smax(uint64_t a, uint64_t b)
{
	uint64_t g = (a & GAP_MASK) > (b & GAP_MASK) ? a & GAP_MASK : b & GAP_MASK;
	uint64_t k = a >> KEY_SHIFT > b >> KEY_SHIFT ? a >> KEY_SHIFT : b >> KEY_SHIFT;
	return g | k << KEY_SHIFT;
}

/* Entry i's gap as a summary word; 0 for the anchor, whose gap summaries leave out. */
static inline uint64_t e_part(const struct iova_tree *t, const struct leaf *l, unsigned i)
{
	if (iopt_unlikely(is_anchor(t, l, i)))
		return 0;
	return (l->lo[i] - e_glo(l, i)) | (l->hi[i] & KEY_MASK);
}

/* Largest and second largest of each field over l's gaps (0 where none), as summary words. */
static uint64_t leaf_scan(const struct iova_tree *t, const struct leaf *l, uint64_t *second)
{
	unsigned n = l->n - is_anchor(t, l, l->n - 1);
	uint64_t g1 = 0, g2 = 0, o1 = 0, o2 = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t g = l->lo[i] - e_glo(l, i), o = e_key(l, i);
		if (g > g1) {
			g2 = g1;
			g1 = g;
		} else if (g > g2) {
			g2 = g;
		}
		if (o > o1) {
			o2 = o1;
			o1 = o;
		} else if (o > o2) {
			o2 = o;
		}
	}
	*second = g2 | o2 << KEY_SHIFT;
	return g1 | o1 << KEY_SHIFT;
}

/* Rescan l: its summary, with the exact second largest values recorded. */
static uint64_t leaf_sum(const struct iova_tree *t, struct leaf *l)
{
	uint64_t sum = leaf_scan(t, l, &l->second);
	l->g2_ok = l->o2_ok = 1;
	return sum;
}

static uint64_t inner_sum(const struct inner *in)
{
	uint64_t g = 0, o = 0;
	for (unsigned c = 0; c < in->n; c++) {
		uint64_t gc = in->sum[c] & GAP_MASK, oc = in->sum[c] >> KEY_SHIFT;
		g = gc > g ? gc : g;
		o = oc > o ? oc : o;
	}
	return g | o << KEY_SHIFT;
}

static inline uint64_t node_sum(const struct iova_tree *t, void *nd, bool is_leaf)
{
	return is_leaf ? leaf_sum(t, nd) : inner_sum(nd);
}

/* Splits and merges are rare next to lookups: plain malloc is fine here. */
static iopt_noinline void *node_alloc(struct iova_tree *t, bool is_leaf)
{
	void *nd;

	if (is_leaf && t->spare_leaf) {
		nd = t->spare_leaf;
		t->spare_leaf = NULL;
		return nd;
	}
	if (!is_leaf && t->nspare_inner)
		return t->spare_inner[--t->nspare_inner];
	return _iopt_malloc(is_leaf ? sizeof(struct leaf) : sizeof(struct inner));
}


int _iopt_tree_prealloc(struct iova_tree *t)
{
	if (!t->spare_leaf && !(t->spare_leaf = _iopt_malloc(sizeof(struct leaf))))
		return -ENOMEM;
	/* a split climbs at most every level and may add a root */
	while (t->nspare_inner < t->height && t->nspare_inner < IOVA_TREE_MAX_HEIGHT + 1) {
		void *nd = _iopt_malloc(sizeof(struct inner));
		if (!nd)
			return -ENOMEM;
		t->spare_inner[t->nspare_inner++] = nd;
	}
	return 0;
}

int _iopt_tree_init(struct iova_tree *t, uint64_t start_pfn, uint64_t end_pfn)
{
	memset(t, 0, sizeof(*t));
	t->start_pfn = start_pfn;
	t->end_pfn = end_pfn;
	struct leaf *l = node_alloc(t, true);
	if (!l)
		return -ENOMEM;
	l->start = start_pfn;
	l->n = 1;
	l->level = 0;
	l->second = 0;
	l->g2_ok = l->o2_ok = 0;
	l->lo[0] = end_pfn + 1;
	l->hi[0] = end_pfn + 1;
	set_key(l, 0);
	t->root = l;
	t->last = l;
	t->height = 1;
	t->leaves = 1;
	return 0;
}

static void free_sub(void *nd, unsigned h)
{
	if (h > 1) {
		struct inner *in = nd;
		for (unsigned c = 0; c < in->n; c++)
			free_sub(in->child[c], h - 1);
	}
	_iopt_free(nd);
}

void _iopt_tree_destroy(struct iova_tree *t)
{
	if (t->root)
		free_sub(t->root, t->height);
	t->root = NULL;
	_iopt_free(t->spare_leaf);
	t->spare_leaf = NULL;
	while (t->nspare_inner)
		_iopt_free(t->spare_inner[--t->nspare_inner]);
}

/* Path to the leaf whose region holds pfn (the first leaf for pfn below it all). */
static struct leaf *route(const struct iova_tree *t, uint64_t pfn, struct iova_path *p)
{
	void *nd = t->root;
	for (unsigned d = 0; d + 1 < t->height; d++) {
		const struct inner *in = nd;
		/* From the top: allocation is top-down, so the hot ranges are high. */
		unsigned c = in->n - 1;
		while (c && in->key[c] > pfn)
			c--;
		p->node[d] = nd;
		p->idx[d] = c;
		nd = in->child[c];
	}
	p->node[t->height - 1] = nd;
	return nd;
}

/* Entries of l that start at or below pfn. */
static inline unsigned leaf_rank(const struct leaf *l, uint64_t pfn)
{
	unsigned r = l->n;
	while (r && l->lo[r - 1] > pfn)
		r--;
	return r;
}

/* ---- search ---- */

/*
 * Subtrees are pruned by largest gap and largest key. For unaligned
 * requests, power-of-two aligned ones and aligned ones up to 64 pfns that
 * is exact: a pruned-in subtree holds a fit unless the limit cuts it (only
 * the child straddling the limit). A larger non-power-of-two aligned
 * request starts with the necessary bound (key_need) and gives up on it
 * after MISFIT_MAX gaps that were long enough but misaligned, which bounds
 * the search; the second pass asks for a whole aligned next-power-of-two
 * block, which is sufficient.
 */
#define MISFIT_MAX 16
#define FOUND 1
#define NONE (-1)
#define GAVE_UP (-2)

struct search {
	const struct iova_req *q;
	uint64_t need; /* key a gap or subtree must reach, shifted to KEY_SHIFT */
	bool exact;    /* need is exact: misfits only at the limit, never give up */
	unsigned misfits;
	uint64_t pfn;
};

/*
 * Highest entry in [from, upto] of l whose gap holds the request (s->pfn:
 * where), NONE or GAVE_UP. A key below s->need rules a gap out at once.
 */
static int leaf_search(const struct leaf *l, int from, int upto, struct search *s)
{
	const struct iova_req *q = s->q;
	for (int i = upto; i >= from; i--) {
		if (l->hi[i] < s->need) /* the key is on top */
			continue;
		uint64_t glo = e_glo(l, (unsigned)i), lo = l->lo[i];
		if (lo - glo < q->size || glo > q->limit)
			continue;
		uint64_t top = lo - 1 < q->limit ? lo - 1 : q->limit;
		if (top - glo + 1 < q->size)
			continue;
		uint64_t pfn = (top - q->size + 1) & ~(q->align - 1);
		if (pfn < glo) {
			if (++s->misfits > MISFIT_MAX && !s->exact)
				return GAVE_UP;
			continue;
		}
		s->pfn = pfn;
		return i;
	}
	return NONE;
}

/* Children of in that start at or below the limit: the rest hold nothing usable. */
static inline int top_child(const struct inner *in, uint64_t limit)
{
	int c = (int)in->n - 1;
	while (c > 0 && in->key[c] > limit)
		c--;
	return c;
}

static inline bool sum_fits(const struct search *s, uint64_t sm)
{
	return (sm & GAP_MASK) >= s->q->size && sm >= s->need; /* the key is on top */
}

/* The leaf on p at depth d: FOUND (p->idx[d] set), NONE or GAVE_UP. */
static inline int search_leaf(const struct iova_tree *t, struct search *s, struct iova_path *p, unsigned d)
{
	const struct leaf *l = p->node[d];
	/* search() has tried the anchor already. */
	int i = leaf_search(l, 0, (int)l->n - 1 - (l == t->last), s);
	if (i < 0)
		return i;
	p->idx[d] = (unsigned)i;
	return FOUND;
}

/*
 * Top-down over the summaries: at each level the rightmost child whose
 * summary may hold the request; a leaf that does not (only the one
 * straddling the limit, or a misfit) sends the search back up to the next
 * child to the left. Iterative, with the path as the stack: this goes on
 * from child c of p->node[d], with p valid above it.
 */
static int search_from(const struct iova_tree *t, struct search *s, struct iova_path *p, unsigned d, int c)
{
	unsigned ld = t->height - 1;
	for (;;) {
		while (c < 0) {
			if (!d)
				return NONE;
			c = (int)p->idx[--d] - 1;
		}
		const struct inner *in = p->node[d];
		if (!sum_fits(s, in->sum[c])) {
			c--;
			continue;
		}
		p->idx[d] = (unsigned)c;
		p->node[++d] = in->child[c];
		if (d < ld) {
			c = top_child(p->node[d], s->q->limit);
			continue;
		}
		int r = search_leaf(t, s, p, d);
		if (r != NONE)
			return r;
		c = (int)p->idx[--d] - 1;
	}
}

/*
 * The same search started on the finger's path (t->path_ok), which the
 * last search left and the pair's free kept: where no child right of the
 * path fits and the path's own children do, the search above would walk
 * exactly this path, so it starts at its leaf and takes over from the
 * first level where that stops being true. Saves the descent's chain of
 * dependent loads, not a single check.
 */
static int search_path(const struct iova_tree *t, struct search *s, struct iova_path *p)
{
	unsigned ld = t->height - 1;
	for (unsigned d = 0; d < ld; d++) {
		const struct inner *in = p->node[d];
		int c = top_child(in, s->q->limit), c0 = (int)p->idx[d];
		while (c > c0 && !sum_fits(s, in->sum[c]))
			c--;
		/* A fitting child right of the path, or the path's above the limit: go on from there. */
		if (c != c0)
			return search_from(t, s, p, d, c);
		if (!sum_fits(s, in->sum[c0]))
			return search_from(t, s, p, d, c0 - 1);
	}
	int r = search_leaf(t, s, p, ld);
	if (r != NONE || !ld)
		return r;
	return search_from(t, s, p, ld - 1, (int)p->idx[ld - 1] - 1);
}

/*
 * The anchor's gap is the highest and is in no summary: try it first, from
 * the last leaf directly, and walk the rightmost path only on a hit. Then
 * the summaries guide the search over everything else. p is garbage unless
 * FOUND.
 */
static int search(const struct iova_tree *t, struct search *s, struct iova_path *p)
{
	const struct leaf *last = t->last;
	int r = leaf_search(last, (int)last->n - 1, (int)last->n - 1, s);
	if (r == GAVE_UP)
		return r;
	if (r == NONE) {
		if (t->path_ok)
			return search_path(t, s, p);
		p->node[0] = t->root;
		if (t->height == 1)
			return search_leaf(t, s, p, 0);
		return search_from(t, s, p, 0, top_child(t->root, s->q->limit));
	}
	void *nd = t->root;
	for (unsigned d = 0; d + 1 < t->height; d++) {
		const struct inner *in = nd;
		p->node[d] = nd;
		p->idx[d] = in->n - 1;
		nd = in->child[in->n - 1];
	}
	p->node[t->height - 1] = nd;
	p->idx[t->height - 1] = (unsigned)r;
	return FOUND;
}

/* ---- updates ---- */

/* Recompute summaries from the leaf up; stop at the first unchanged one. */
static void fix_sums(struct iova_tree *t, const struct iova_path *p)
{
	unsigned ld = t->height - 1;
	uint64_t cur = leaf_sum(t, p->node[ld]);
	for (int d = (int)ld - 1; d >= 0; d--) {
		struct inner *in = p->node[d];
		unsigned c = p->idx[d];
		if (in->sum[c] == cur)
			return;
		in->sum[c] = cur;
		cur = inner_sum(in);
	}
}

/*
 * Child p->idx[d] of p->node[d] now has summary nsum: store it and carry
 * the change up. A parent's summary is a max, so it is recomputed from
 * the stored old one (its own parent's slot) and rescanned only when a
 * field that held the maximum shrank.
 */
static void propagate(const struct iova_path *p, int d, uint64_t nsum)
{
	for (; d >= 0; d--) {
		struct inner *in = p->node[d];
		unsigned c = p->idx[d];
		uint64_t old = in->sum[c];
		if (old == nsum)
			return;
		in->sum[c] = nsum;
		if (!d)
			return;
		uint64_t tot = ((const struct inner *)p->node[d - 1])->sum[p->idx[d - 1]];
		bool shrank = ((nsum & GAP_MASK) < (old & GAP_MASK) && (old & GAP_MASK) == (tot & GAP_MASK)) ||
			      (nsum >> KEY_SHIFT < old >> KEY_SHIFT && old >> KEY_SHIFT == tot >> KEY_SHIFT);
		nsum = shrank ? inner_sum(in) : smax(tot, nsum);
	}
}

/*
 * Largest (m) and second largest (s, exact when *ok) of a multiset of
 * gap lengths or keys padded with zeros. Removing the largest promotes
 * the second (then unknown); removing a value >= s makes s unknown;
 * adding a value >= m makes the old m the exact second. Only removing the
 * largest while the second is unknown needs a rescan (returns false).
 */
static inline bool top2_remove(uint64_t *m, uint64_t *s, uint8_t *ok, uint64_t y)
{
	if (!y)
		return true;
	if (y >= *m) {
		if (!*ok)
			return false;
		*m = *s;
		*ok = 0;
	} else if (y >= *s) {
		*ok = 0;
	}
	return true;
}

static inline void top2_add(uint64_t *m, uint64_t *s, uint8_t *ok, uint64_t x)
{
	if (x >= *m) {
		*s = *m;
		*m = x;
		*ok = 1;
	} else if (*ok && x > *s) {
		*s = x;
	}
}

/*
 * The path's leaf lost the gaps gone[0..1] and gained added[0..1] (summary
 * words, 0: none). Its summary is the parent's copy; with the recorded
 * second largest values an alloc that takes the leaf's largest gap and the
 * free that gives it back both update in O(1). A rescan is needed only
 * when the largest goes while the second is unknown.
 */
static void leaf_changed(struct iova_tree *t, const struct iova_path *p, const uint64_t gone[2],
			 const uint64_t added[2])
{
	unsigned ld = t->height - 1;
	if (!ld)
		return; /* a root leaf's summary is stored nowhere; a split rescans it */
	struct leaf *l = p->node[ld];
	uint64_t tot = ((const struct inner *)p->node[ld - 1])->sum[p->idx[ld - 1]];
	uint64_t mg = tot & GAP_MASK, mo = tot >> KEY_SHIFT;
	uint64_t sg = l->second & GAP_MASK, so = l->second >> KEY_SHIFT;
	for (int k = 0; k < 2; k++) {
		if (!top2_remove(&mg, &sg, &l->g2_ok, gone[k] & GAP_MASK) ||
		    !top2_remove(&mo, &so, &l->o2_ok, gone[k] >> KEY_SHIFT)) {
			propagate(p, (int)ld - 1, leaf_sum(t, l));
			return;
		}
	}
	for (int k = 0; k < 2; k++) {
		top2_add(&mg, &sg, &l->g2_ok, added[k] & GAP_MASK);
		top2_add(&mo, &so, &l->o2_ok, added[k] >> KEY_SHIFT);
	}
	l->second = sg | so << KEY_SHIFT;
	propagate(p, (int)ld - 1, mg | mo << KEY_SHIFT);
}

/*
 * Open (close) slot h (i) of a leaf. These move a few entries (allocation
 * is near the top of a leaf); as one loop over both arrays they cost one
 * mispredicted exit, where two memmove calls branch on their sizes (~15%
 * of iova.rbtree_fragmented). The empty asm hides the index from GCC,
 * which would otherwise turn each loop back into memmove calls.
 */
static inline void ents_up(struct leaf *l, unsigned h)
{
	for (unsigned k = l->n; k > h; k--) {
		__asm__("" : "+r"(k));
		l->lo[k] = l->lo[k - 1];
		l->hi[k] = l->hi[k - 1];
	}
}

static inline void ents_down(struct leaf *l, unsigned i)
{
	for (unsigned k = i; k + 1 < l->n; k++) {
		__asm__("" : "+r"(k));
		l->lo[k] = l->lo[k + 1];
		l->hi[k] = l->hi[k + 1];
	}
}

static inline void leaf_put(struct leaf *l, unsigned h, uint64_t lo, uint64_t hib)
{
	ents_up(l, h);
	l->lo[h] = lo;
	l->hi[h] = hib;
	l->n++;
	set_key(l, h);
	set_key(l, h + 1); /* the owner of the gap, now above the new range */
}

static void inner_put(struct inner *in, unsigned c, uint64_t key, uint64_t sum, void *child)
{
	unsigned k = in->n - c;
	memmove(&in->key[c + 1], &in->key[c], k * sizeof(in->key[0]));
	memmove(&in->sum[c + 1], &in->sum[c], k * sizeof(in->sum[0]));
	memmove(&in->child[c + 1], &in->child[c], k * sizeof(in->child[0]));
	in->key[c] = key;
	in->sum[c] = sum;
	in->child[c] = child;
	in->n++;
}

static void inner_cut(struct inner *in, unsigned c)
{
	unsigned k = in->n - c - 1;
	memmove(&in->key[c], &in->key[c + 1], k * sizeof(in->key[0]));
	memmove(&in->sum[c], &in->sum[c + 1], k * sizeof(in->sum[0]));
	memmove(&in->child[c], &in->child[c + 1], k * sizeof(in->child[0]));
	in->n--;
}

/* Move entries [from, n) of a full node to the empty node r. */
static void leaf_move_tail(struct leaf *l, struct leaf *r, unsigned from)
{
	r->n = l->n - from;
	memcpy(r->lo, &l->lo[from], r->n * sizeof(l->lo[0]));
	memcpy(r->hi, &l->hi[from], r->n * sizeof(l->hi[0]));
	l->n = from;
	r->start = e_hi(l, from - 1) + 1;
}

static void inner_move_tail(struct inner *in, struct inner *r, unsigned from)
{
	r->n = in->n - from;
	memcpy(r->key, &in->key[from], r->n * sizeof(in->key[0]));
	memcpy(r->sum, &in->sum[from], r->n * sizeof(in->sum[0]));
	memcpy(r->child, &in->child[from], r->n * sizeof(in->child[0]));
	in->n = from;
}

/*
 * Write the finger's pending insertion into its leaf (struct iova_tree):
 * every tree call but the free of that range does this first. Entry h's
 * gap splits in two: the new range's and what is left of h's.
 */
static void settle(struct iova_tree *t)
{
	if (!t->finger_ok)
		return;
	t->finger_ok = false;
	unsigned ld = t->height - 1, h = t->finger.idx[ld];
	struct leaf *l = t->finger.node[ld];
	uint64_t gone[2] = { e_part(t, l, h), 0 };
	leaf_put(l, h, t->finger_lo, t->finger_hib);
	uint64_t added[2] = { e_part(t, l, h), e_part(t, l, h + 1) };
	leaf_changed(t, &t->finger, gone, added);
}

/*
 * Insert range [lo, hib & PFN_MASK] (hib: the hi word, flags included)
 * before entry p->idx[leaf] of the path's leaf, in whose gap it lies; p is
 * t->finger. Without a split the insertion is left pending on the finger
 * (settle); a split is done at once. Every node a split needs is allocated
 * first: -ENOMEM leaves the tree as it was.
 */
static iopt_noinline int leaf_insert_split(struct iova_tree *t, struct iova_path *p, uint64_t lo, uint64_t hib)
{
	unsigned ld = t->height - 1, nspare = 0, used = 0;
	void *spare[IOVA_TREE_MAX_HEIGHT + 1];
	struct leaf *l = p->node[ld];

	t->path_ok = false; /* nodes move */
	/* Full nodes from the leaf up split once each; a full root also needs a new root. */
	for (unsigned d = ld;; d--) {
		if (!(spare[nspare] = node_alloc(t, d == ld)))
			goto oom;
		nspare++;
		if (!d) {
			if (t->height == IOVA_TREE_MAX_HEIGHT || !(spare[nspare] = node_alloc(t, false)))
				goto oom;
			nspare++;
			break;
		}
		if (((struct inner *)p->node[d - 1])->n < INNER_CAP)
			break;
	}

	unsigned h = p->idx[ld];
	struct leaf *nl, *tl = l;
	nl = spare[used++];
	nl->level = 0;
	t->leaves++;
	leaf_move_tail(l, nl, LEAF_MIN);
	if (t->last == l)
		t->last = nl;
	/* Entry LEAF_MIN's gap starts at nl's region start: it moved to nl with its gap. */
	if (h >= LEAF_MIN) {
		tl = nl;
		h -= LEAF_MIN;
	}
	leaf_put(tl, h, lo, hib);

	/* Bottom-up: the path node's new summary, and the new right sibling if it split. */
	uint64_t cur = leaf_sum(t, l), nsum = leaf_sum(t, nl);
	void *nnode = nl;
	uint64_t nkey = nl->start;
	for (int d = (int)ld - 1; d >= 0; d--) {
		struct inner *in = p->node[d];
		unsigned c = p->idx[d];
		if (iopt_likely(!nnode)) {
			if (in->sum[c] == cur)
				return 0;
			in->sum[c] = cur;
			cur = inner_sum(in);
			continue;
		}
		in->sum[c] = cur;
		struct inner *r = NULL, *ti = in;
		unsigned pos = c + 1;
		if (in->n == INNER_CAP) {
			r = spare[used++];
			r->level = in->level;
			t->inners++;
			inner_move_tail(in, r, INNER_MIN);
			if (pos >= INNER_MIN) {
				ti = r;
				pos -= INNER_MIN;
			}
		}
		inner_put(ti, pos, nkey, nsum, nnode);
		cur = inner_sum(in);
		nnode = r;
		if (r) {
			nsum = inner_sum(r);
			nkey = r->key[0];
		}
	}
	if (nnode) {
		struct inner *root = spare[used++];
		root->level = t->height;
		t->inners++;
		root->n = 2;
		root->key[0] = t->start_pfn;
		root->key[1] = nkey;
		root->sum[0] = cur;
		root->sum[1] = nsum;
		root->child[0] = t->root;
		root->child[1] = nnode;
		t->root = root;
		t->height++;
	}
	return 0;
oom:
	while (nspare)
		_iopt_free(spare[--nspare]);
	return -ENOMEM;
}

static inline int leaf_insert(struct iova_tree *t, struct iova_path *p, uint64_t lo, uint64_t hib)
{
	const struct leaf *l = p->node[t->height - 1];

	if (iopt_unlikely(l->n == LEAF_CAP))
		return leaf_insert_split(t, p, lo, hib);
	t->finger_lo = lo;
	t->finger_hib = hib;
	t->finger_ok = true;
	return 0;
}

/*
 * The leaf on p lost its last range: its region now ends at b - 1 and the
 * freed space joins the next leaf's first gap. Move the boundary there.
 */
static void move_boundary(struct iova_tree *t, const struct iova_path *p, uint64_t b)
{
	unsigned ld = t->height - 1;
	struct iova_path q = *p;
	int d = (int)ld - 1;
	while (d >= 0 && q.idx[d] + 1 == ((struct inner *)q.node[d])->n)
		d--;
	if (d < 0)
		return; /* no next leaf: the anchor is never removed */
	struct inner *in = q.node[d];
	q.idx[d]++;
	in->key[q.idx[d]] = b;
	void *nd = in->child[q.idx[d]];
	for (unsigned e = (unsigned)d + 1; e < ld; e++) {
		struct inner *x = nd;
		x->key[0] = b;
		q.node[e] = x;
		q.idx[e] = 0;
		nd = x->child[0];
	}
	struct leaf *nl = nd;
	nl->start = b;
	set_key(nl, 0);
	q.node[ld] = nl;
	fix_sums(t, &q);
}

/* Rebalance R (right of L) so both hold about half; both stay >= the minimum. */
static void leaf_balance(struct leaf *L, struct leaf *R)
{
	unsigned tot = L->n + R->n, ln = tot / 2;
	if (L->n > ln) {
		unsigned k = L->n - ln;
		memmove(&R->lo[k], R->lo, R->n * sizeof(R->lo[0]));
		memmove(&R->hi[k], R->hi, R->n * sizeof(R->hi[0]));
		memcpy(R->lo, &L->lo[ln], k * sizeof(R->lo[0]));
		memcpy(R->hi, &L->hi[ln], k * sizeof(R->hi[0]));
	} else {
		unsigned k = ln - L->n;
		memcpy(&L->lo[L->n], R->lo, k * sizeof(R->lo[0]));
		memcpy(&L->hi[L->n], R->hi, k * sizeof(R->hi[0]));
		memmove(R->lo, &R->lo[k], (R->n - k) * sizeof(R->lo[0]));
		memmove(R->hi, &R->hi[k], (R->n - k) * sizeof(R->hi[0]));
	}
	L->n = ln;
	R->n = tot - ln;
	R->start = e_hi(L, ln - 1) + 1;
}

static void inner_balance(struct inner *L, struct inner *R)
{
	unsigned tot = L->n + R->n, ln = tot / 2;
	if (L->n > ln) {
		unsigned k = L->n - ln;
		memmove(&R->key[k], R->key, R->n * sizeof(R->key[0]));
		memmove(&R->sum[k], R->sum, R->n * sizeof(R->sum[0]));
		memmove(&R->child[k], R->child, R->n * sizeof(R->child[0]));
		memcpy(R->key, &L->key[ln], k * sizeof(R->key[0]));
		memcpy(R->sum, &L->sum[ln], k * sizeof(R->sum[0]));
		memcpy(R->child, &L->child[ln], k * sizeof(R->child[0]));
	} else {
		unsigned k = ln - L->n;
		memcpy(&L->key[L->n], R->key, k * sizeof(R->key[0]));
		memcpy(&L->sum[L->n], R->sum, k * sizeof(R->sum[0]));
		memcpy(&L->child[L->n], R->child, k * sizeof(R->child[0]));
		memmove(R->key, &R->key[k], (R->n - k) * sizeof(R->key[0]));
		memmove(R->sum, &R->sum[k], (R->n - k) * sizeof(R->sum[0]));
		memmove(R->child, &R->child[k], (R->n - k) * sizeof(R->child[0]));
	}
	L->n = ln;
	R->n = tot - ln;
}

/*
 * Child c of in fell below the minimum: merge it with a sibling at the
 * minimum (31 entries: two inserts from the next split), else borrow so
 * both hold >= the minimum. Keys are absolute: only the right one's changes.
 */
static void fix_underflow(struct iova_tree *t, struct inner *in, unsigned c, bool leaf_kids)
{
	unsigned a = c ? c - 1 : 0;
	if (leaf_kids) {
		struct leaf *L = in->child[a], *R = in->child[a + 1];
		if (L->n + R->n < LEAF_CAP) {
			memcpy(&L->lo[L->n], R->lo, R->n * sizeof(R->lo[0]));
			memcpy(&L->hi[L->n], R->hi, R->n * sizeof(R->hi[0]));
			L->n += R->n;
			if (t->last == R)
				t->last = L;
			_iopt_free(R);
			t->leaves--;
			inner_cut(in, a + 1);
		} else {
			leaf_balance(L, R);
			in->key[a + 1] = R->start;
			in->sum[a + 1] = leaf_sum(t, R);
		}
		in->sum[a] = leaf_sum(t, L);
	} else {
		struct inner *L = in->child[a], *R = in->child[a + 1];
		if (L->n + R->n < INNER_CAP) {
			memcpy(&L->key[L->n], R->key, R->n * sizeof(R->key[0]));
			memcpy(&L->sum[L->n], R->sum, R->n * sizeof(R->sum[0]));
			memcpy(&L->child[L->n], R->child, R->n * sizeof(R->child[0]));
			L->n += R->n;
			_iopt_free(R);
			t->inners--;
			inner_cut(in, a + 1);
		} else {
			inner_balance(L, R);
			in->key[a + 1] = R->key[0];
			in->sum[a + 1] = inner_sum(R);
		}
		in->sum[a] = inner_sum(L);
	}
}

/* Remove entry p->idx[leaf] (not the anchor); its range and gap join the next gap. */
static void leaf_remove(struct iova_tree *t, struct iova_path *p)
{
	unsigned ld = t->height - 1;
	struct leaf *l = p->node[ld];
	unsigned i = p->idx[ld];

	t->path_ok = false; /* a merge or borrow moves nodes */
	t->count--;
	t->reserved -= !!(l->hi[i] & RESERVED);
	bool last = i + 1 == l->n;
	uint64_t gone[2] = { e_part(t, l, i), last ? 0 : e_part(t, l, i + 1) };
	ents_down(l, i);
	l->n--;
	if (iopt_likely(!last)) {
		set_key(l, i);
		if (iopt_likely(l->n >= LEAF_MIN || !ld)) {
			/* i's range and gap join i + 1's gap. */
			uint64_t added[2] = { e_part(t, l, i), 0 };
			leaf_changed(t, p, gone, added);
			return;
		}
	} else {
		move_boundary(t, p, e_hi(l, l->n - 1) + 1);
	}

	bool under = l->n < LEAF_MIN;
	for (int d = (int)ld - 1; d >= 0; d--) {
		struct inner *in = p->node[d];
		unsigned c = p->idx[d];
		bool leaf_kids = (unsigned)d + 1 == ld;
		if (iopt_likely(!under)) {
			uint64_t s = node_sum(t, in->child[c], leaf_kids);
			if (in->sum[c] == s)
				return;
			in->sum[c] = s;
		} else {
			fix_underflow(t, in, c, leaf_kids);
		}
		under = in->n < INNER_MIN;
	}
	if (t->height > 1 && ((struct inner *)t->root)->n == 1) {
		struct inner *old = t->root;
		t->root = old->child[0];
		t->height--;
		t->inners--;
		_iopt_free(old);
	}
}

int _iopt_tree_alloc(struct iova_tree *t, const struct iova_req *q, uint64_t *pfn)
{
	struct search s = { .q = q, .need = key_need(q->size, q->align) << KEY_SHIFT };
	struct iova_path *p = &t->finger; /* searched in place: no copy to keep it */

	settle(t);
	s.exact = q->align == 1 || q->align == q->size || q->align <= 1ull << KEY_F_ORDERS;
	int r;
	/* Only the bounded pass gives up; ask for a whole aligned block then. */
	while ((r = search(t, &s, p)) == GAVE_UP) {
		s.need = key_need(q->align, q->align) << KEY_SHIFT;
		s.exact = true;
	}
	t->path_ok = r == FOUND;
	if (r != FOUND)
		return -ENOSPC; /* no fit: unlike -ENOMEM (host memory), worth a cache flush */
	int e = leaf_insert(t, p, s.pfn, s.pfn + q->size - 1);
	if (e)
		return e;
	t->count++;
	*pfn = s.pfn;
	return 0;
}

int _iopt_tree_insert_range(struct iova_tree *t, uint64_t lo, uint64_t hi, bool reserved)
{
	settle(t);
	struct leaf *l = route(t, lo, &t->finger);
	t->path_ok = true;
	unsigned h = leaf_rank(l, lo); /* the range goes below entry h, in its gap */
	if (hi < lo || h == l->n || lo < e_glo(l, h) || hi >= l->lo[h])
		return -EINVAL; /* overlap: a caller bug, refused rather than corrupting */
	t->finger.idx[t->height - 1] = h;
	int e = leaf_insert(t, &t->finger, lo, hi | (reserved ? RESERVED : 0));
	settle(t); /* the finger is for allocations only */
	if (e)
		return e;
	t->count++;
	t->reserved += reserved;
	return 0;
}

int _iopt_tree_free(struct iova_tree *t, uint64_t pfn, uint64_t size)
{
	unsigned ld = t->height - 1, i;
	struct iova_path p;
	struct leaf *l;

	if (t->finger_ok && t->finger_lo == pfn) {
		/* The last allocation, not written yet: dropping it restores the tree exactly. */
		if ((t->finger_hib & PFN_MASK) != pfn + size - 1)
			return -ENOENT;
		t->finger_ok = false;
		t->count--;
		return 0;
	}
	settle(t);
	l = route(t, pfn, &p);
	unsigned r = leaf_rank(l, pfn);
	if (!r)
		return -ENOENT;
	i = r - 1;
	if (l->lo[i] != pfn || (l->hi[i] & RESERVED) || e_hi(l, i) != pfn + size - 1 || is_anchor(t, l, i))
		return -ENOENT;
	p.idx[ld] = i;
	leaf_remove(t, &p);
	return 0;
}

static void to_range(const struct leaf *l, unsigned i, struct iova_range *r)
{
	r->lo = l->lo[i];
	r->hi = e_hi(l, i);
	r->reserved = l->hi[i] & RESERVED;
}

bool _iopt_tree_find(struct iova_tree *t, uint64_t pfn, struct iova_range *r)
{
	struct iova_path p;

	settle(t);
	const struct leaf *l = route(t, pfn, &p);
	unsigned k = leaf_rank(l, pfn);
	if (!k || e_hi(l, k - 1) < pfn || is_anchor(t, l, k - 1))
		return false;
	to_range(l, k - 1, r);
	return true;
}

bool _iopt_tree_first_overlap(struct iova_tree *t, uint64_t lo, uint64_t hi, struct iova_range *r)
{
	struct iova_path p;

	settle(t);
	/* Ranges in earlier leaves end below this leaf's region, which holds lo. */
	const struct leaf *l = route(t, lo, &p);
	unsigned i = 0;
	while (i < l->n && e_hi(l, i) < lo)
		i++;
	if (i == l->n || is_anchor(t, l, i) || l->lo[i] > hi)
		return false;
	to_range(l, i, r);
	return true;
}

void _iopt_tree_erase(struct iova_tree *t, uint64_t lo)
{
	struct iova_path p;

	settle(t);
	struct leaf *l = route(t, lo, &p);
	unsigned r = leaf_rank(l, lo);
	if (!r || l->lo[r - 1] != lo || is_anchor(t, l, r - 1))
		return; /* no such range: nothing to erase */
	p.idx[t->height - 1] = r - 1;
	leaf_remove(t, &p);
}

uint64_t _iopt_tree_bytes(const struct iova_tree *t)
{
	return (uint64_t)(t->leaves + !!t->spare_leaf) * sizeof(struct leaf) +
	       (uint64_t)(t->inners + t->nspare_inner) * sizeof(struct inner);
}

/* ---- invariant checker (tests, iopt_iova_check) ---- */

struct walk {
	uint64_t prev_end; /* first pfn after the previous range: the next region's start */
	uint32_t entries, reserved, leaves, inners;
	uint32_t budget;   /* nodes left to visit: a cycle reports -EFAULT, not a hang */
	bool anchor_seen;
	const struct leaf *last; /* the last leaf visited */
};

static int check_leaf(const struct iova_tree *t, const struct leaf *l, bool root, struct walk *w)
{
	if (!l->n || l->n > LEAF_CAP || (!root && l->n < LEAF_MIN) || l->start != w->prev_end)
		return -EFAULT;
	for (unsigned i = 0; i < l->n; i++) {
		uint64_t lo = l->lo[i], hi = e_hi(l, i), glo = e_glo(l, i);
		/* Order, no overlap (each gap starts after the previous range), recorded key. */
		if (w->anchor_seen || lo < glo || hi < lo || e_key(l, i) != gap_key(glo, lo))
			return -EFAULT;
		if (is_anchor(t, l, i)) {
			if (hi != lo || (l->hi[i] & RESERVED))
				return -EFAULT;
			w->anchor_seen = true;
		} else if (hi > t->end_pfn) {
			return -EFAULT;
		}
		w->entries++;
		w->reserved += !!(l->hi[i] & RESERVED);
	}
	w->prev_end = e_hi(l, l->n - 1) + 1;
	w->leaves++;
	w->last = l;
	return 0;
}

static int check_at(const struct iova_tree *t, const void *nd, unsigned d, struct walk *w, uint64_t *sum)
{
	if (!nd || !w->budget || ((const struct leaf *)nd)->level != t->height - 1 - d)
		return -EFAULT;
	w->budget--;
	if (d + 1 == t->height) {
		const struct leaf *l = nd;
		uint64_t second;
		if (check_leaf(t, l, !d, w))
			return -EFAULT;
		*sum = leaf_scan(t, l, &second);
		/* A root leaf's are not kept; elsewhere, what is marked exact must be. */
		if (d && ((l->g2_ok && (l->second & GAP_MASK) != (second & GAP_MASK)) ||
			  (l->o2_ok && l->second >> KEY_SHIFT != second >> KEY_SHIFT)))
			return -EFAULT;
		return 0;
	}
	const struct inner *in = nd;
	if (in->n > INNER_CAP || in->n < (d ? INNER_MIN : 2))
		return -EFAULT;
	for (unsigned c = 0; c < in->n; c++) {
		/* Regions tile the space: child c starts right after child c - 1's last range. */
		uint64_t s;
		if (in->key[c] != w->prev_end || check_at(t, in->child[c], d + 1, w, &s) || s != in->sum[c])
			return -EFAULT;
	}
	w->inners++;
	*sum = inner_sum(in);
	return 0;
}

int _iopt_tree_check(struct iova_tree *t)
{
	settle(t);
	struct walk w = { .prev_end = t->start_pfn, .budget = t->leaves + t->inners };
	uint64_t sum;
	if (!t->root || !t->height || t->height > IOVA_TREE_MAX_HEIGHT || check_at(t, t->root, 0, &w, &sum))
		return -EFAULT;
	if (!w.anchor_seen || w.last != t->last || w.entries != t->count + 1 || w.reserved != t->reserved ||
	    w.leaves != t->leaves || w.inners != t->inners)
		return -EFAULT;
	return 0;
}
