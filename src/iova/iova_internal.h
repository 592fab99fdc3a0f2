/* SPDX-License-Identifier: MIT */
/* IOVA allocator internals: the gap tree, the rcache and the domain. */
#ifndef IOPT_IOVA_INTERNAL_H
#define IOPT_IOVA_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <iopt/iova.h>

#include "util.h"

/*
 * The domain's tree lock and each thread cache's lock: a test-and-set
 * word. Taking it is one atomic exchange and dropping it a plain release
 * store, inline; a pthread mutex pair is two atomics and ~55 instructions,
 * a tenth of a whole tree allocation (iova.rbtree_fragmented). Waiters
 * spin briefly, then yield the CPU between looks, so a preempted holder
 * costs them no spinning timeslices; the sections are a tree call or a
 * magazine's worth of them.
 */
struct iova_lock {
	_Atomic uint32_t v;
};

void _iopt_lock_wait(struct iova_lock *l);

static inline void iova_lock(struct iova_lock *l)
{
	if (iopt_unlikely(atomic_exchange_explicit(&l->v, 1, memory_order_acquire)))
		_iopt_lock_wait(l);
}

static inline void iova_unlock(struct iova_lock *l)
{
	atomic_store_explicit(&l->v, 0, memory_order_release);
}

/*
 * The gap tree (tree.c): a B+-tree of ranges. Node layout is private to
 * tree.c; iova.c reads count and reserved for statistics.
 */
#define IOVA_TREE_MAX_HEIGHT 12 /* 2^32 ranges need at most 1 + log16(2^32 / 16) = 8 */

/* Root-to-leaf path: node[d] and the child (inner) or entry (leaf) index taken there. */
struct iova_path {
	void *node[IOVA_TREE_MAX_HEIGHT];
	unsigned idx[IOVA_TREE_MAX_HEIGHT];
};

struct iova_tree {
	void *root;              /* a leaf when height == 1 */
	void *last;              /* the last leaf: it holds the anchor */
	uint32_t height;         /* levels, leaves included */
	uint32_t count;          /* ranges, reserved included, anchor excluded */
	uint32_t reserved;       /* of which reserved */
	uint32_t leaves, inners; /* nodes held */
	uint64_t start_pfn, end_pfn;
	/* Nodes set aside by _iopt_tree_prealloc so a later split cannot fail. */
	void *spare_leaf;
	void *spare_inner[IOVA_TREE_MAX_HEIGHT + 1];
	uint32_t nspare_inner;
	/*
	 * Finger: the path the last search took. While finger_ok, the range it
	 * placed (finger_lo, finger_hib: its hi word) is pending: counted but
	 * not yet written into the leaf, which had room. Freeing it (the
	 * alloc/free pair) just drops it; every other tree call first writes
	 * it (tree.c, settle), so none of them sees the difference.
	 */
	bool finger_ok;
	/* finger's node[] and inner idx[] are a path (no node moved since): the next search starts there. */
	bool path_ok;
	uint64_t finger_lo, finger_hib;
	struct iova_path finger;
};

/* A placement request: size granules, start aligned to align (power of two), last pfn <= limit. */
struct iova_req {
	uint64_t size, align, limit;
};

/* A range as the tree reports it. */
struct iova_range {
	uint64_t lo, hi; /* inclusive */
	bool reserved;
};

/*
 * tree.c: every call needs the domain's tree lock held by the caller. The
 * tree keeps count (ranges, reserved included) and reserved up to date.
 */
int _iopt_tree_init(struct iova_tree *t, uint64_t start_pfn, uint64_t end_pfn);
void _iopt_tree_destroy(struct iova_tree *t);
/* Highest placement for q; -ENOSPC when none fits, -ENOMEM out of host memory. */
int _iopt_tree_alloc(struct iova_tree *t, const struct iova_req *q, uint64_t *pfn);
/* Remove the allocated (not reserved) range [pfn, pfn + size - 1]; -ENOENT if no such range. */
int _iopt_tree_free(struct iova_tree *t, uint64_t pfn, uint64_t size);
/* The range containing pfn. */
bool _iopt_tree_find(struct iova_tree *t, uint64_t pfn, struct iova_range *r);
/* The lowest range that overlaps [lo, hi]. */
bool _iopt_tree_first_overlap(struct iova_tree *t, uint64_t lo, uint64_t hi, struct iova_range *r);
/* Remove the range starting at lo (it must exist; reserved or not). */
void _iopt_tree_erase(struct iova_tree *t, uint64_t lo);
/* Insert [lo, hi], which must not overlap any range; -ENOMEM; -EINVAL (tree unchanged) if it does. */
/*
 * Set aside the nodes one insertion may need (a leaf and a full path of
 * inner nodes), so that a sequence of erases followed by one insert cannot
 * fail half-way. 0 or -ENOMEM (the tree unchanged either way).
 */
int _iopt_tree_prealloc(struct iova_tree *t);
int _iopt_tree_insert_range(struct iova_tree *t, uint64_t lo, uint64_t hi, bool reserved);
/* Host memory held by the tree. */
uint64_t _iopt_tree_bytes(const struct iova_tree *t);
/* Verify every invariant; -EFAULT on the first broken one. */
int _iopt_tree_check(struct iova_tree *t);

/* ---- rcache ---- */

#define IOVA_NR_CLASSES 6   /* 1, 2, 4, 8, 16, 32 granules */
#define IOVA_MAG_SIZE 127   /* entries per magazine: with the header, 2 KiB */
#define IOVA_DEPOT_MAX 64   /* full magazines per class in the depot */
#define IOVA_RECLAIM_NS 100000000ull
#define IOVA_LEAF_WAYS 8    /* a ring of mixed sizes spans several live-map leaves */
#define IOVA_SPARES 4       /* a thread cycling 512 ranges of one class trades ~3 magazines each way */

/* A cached range and its live-map byte: a pop then needs no lookup. */
struct iova_ment {
	uint64_t pfn;
	_Atomic uint8_t *live;
};

struct iova_mag {
	uint64_t n; /* entries; see iova_tclass for a magazine that is loaded */
	uint64_t pad;
	struct iova_ment e[IOVA_MAG_SIZE];
};

struct iova_depot {
	struct iova_lock lock; /* held for a few pointer moves only */
	uint32_t n;   /* full magazines held */
	uint32_t low; /* fewest held since the last reclaim: the idle excess */
	struct iova_mag *mags[IOVA_DEPOT_MAX];
	const void *home[IOVA_DEPOT_MAX]; /* tcache that pushed each magazine */
};

/*
 * One size class of a thread cache as the fast path sees it: the loaded
 * magazine as a stack of entries [base, top), one cache line. While the
 * cache is on (iova_tcache.key set), top is the loaded magazine's count and
 * its n is stale; off, n counts and top/base/end are stale. Bit 0 of top is
 * set while the owner is inside a fast-path call on the class (entries are
 * 16-byte aligned): the flush handshake in rcache.c. Only top is written
 * outside the owner's locked slow path, and only the owner writes it.
 */
struct iova_tclass {
	_Atomic uintptr_t top;
	uintptr_t base, end; /* top == base: empty; top == end: full */
	uint64_t mask;       /* class size - 1 */
	uint64_t leaf_key;   /* live-map leaf the last slow free of this class used (pfn >> LIVE_LEAF_SHIFT) */
	uintptr_t leaf_base; /* that leaf minus leaf_key << LIVE_LEAF_SHIFT: a pfn's byte is leaf_base + pfn */
	_Atomic uint64_t hits; /* allocations the class served; the owner is the only writer */
	uint8_t tag;         /* the live byte of an allocation of this class: class + 1 */
} __attribute__((aligned(64)));

/*
 * Per-thread, per-domain cache. Only its thread touches the magazines on
 * the fast path, without a lock; a remote flusher takes @lock, clears @key,
 * makes the owner's stores visible, waits until no class is marked busy and
 * empties the magazines. An owner that finds @key cleared takes its slow
 * path, which always runs under @lock and turns the cache back on.
 */
struct iova_tcache {
	/* Read by every fast-path call. */
	_Atomic(struct iopt_iova_domain *) key; /* dom while the cache is on, else NULL */
	/* [size]: the class of a cached size; [0]: cls[IOVA_NR_CLASSES], always empty and full. */
	struct iova_tclass *by_size[IOPT_IOVA_CACHE_MAX_SIZE + 1];
	struct iova_tclass cls[IOVA_NR_CLASSES + 1];

	_Atomic(struct iopt_iova_domain *) dom; /* NULL once the domain is gone */
	struct iova_lock lock;
	struct iova_mag *loaded[IOVA_NR_CLASSES];
	struct iova_mag *prev[IOVA_NR_CLASSES];
	/* Empty magazines (of any class) kept for depot pushes: malloc'ing one costs ~250 ns. */
	struct iova_mag *spare[IOVA_SPARES];
	unsigned nspare;
	/* Live-map leaves this thread's slow paths used last, direct-mapped by leaf key. */
	uint64_t leaf_key[IOVA_LEAF_WAYS];
	_Atomic uint8_t *leaf[IOVA_LEAF_WAYS];
	_Atomic uint64_t misses;                 /* written by the owner only */
	struct iova_tcache *dom_next, *dom_prev; /* domain's list: registry lock */
	struct iova_tcache *thr_next;            /* owner thread's list */
} __attribute__((aligned(64))); /* owner-written: keep other threads' lines apart */

/*
 * Live map: one byte per granule, class+1 for a live cached-size
 * allocation, 0 otherwise. Lets free() tell a live range from a double or
 * bogus free without a lock. A 4-level radix of 2048-entry nodes over
 * (pfn >> 12), leaves of 4096 bytes, installed with compare-and-swap.
 */
#define LIVE_LEAF_SHIFT 16
#define LIVE_LVL_BITS 10
#define LIVE_LEVELS 4

struct iopt_iova_domain {
	/* Read-mostly, shared by every thread's fast path. */
	uint64_t granule;
	uint64_t start_pfn, end_pfn;
	bool rcache;

	struct iova_lock tree_lock;
	struct iova_tree tree;

	struct iova_depot depot[IOVA_NR_CLASSES];
	_Atomic(void *) live_root;
	_Atomic uint64_t live_bytes;
	_Atomic uint64_t mags;          /* magazines allocated (bytes_used) */
	_Atomic uint64_t next_reclaim;  /* CLOCK_MONOTONIC ns */
	_Atomic uint64_t flushes;
	_Atomic uint64_t gone_hits, gone_misses; /* counters of exited threads */
	struct iova_tcache *tcaches;    /* registry lock */
};

/* rcache.c */
int _iopt_rcache_init(struct iopt_iova_domain *dom);
void _iopt_rcache_destroy(struct iopt_iova_domain *dom);
int _iopt_rcache_alloc_slow(struct iopt_iova_domain *dom, uint64_t size, uint64_t limit,
			    unsigned int flags, uint64_t *pfn);
int _iopt_rcache_free_slow(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size);
bool _iopt_rcache_is_live(struct iopt_iova_domain *dom, const struct iova_range *r);
void _iopt_rcache_stats(struct iopt_iova_domain *dom, struct iopt_iova_stats *st);

/* One tree call under the domain's tree lock. */
static inline int _iopt_iova_tree_alloc(struct iopt_iova_domain *dom, const struct iova_req *q, uint64_t *pfn)
{
	iova_lock(&dom->tree_lock);
	int r = _iopt_tree_alloc(&dom->tree, q, pfn);
	iova_unlock(&dom->tree_lock);
	return r;
}

static inline int _iopt_iova_tree_free(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	iova_lock(&dom->tree_lock);
	int r = _iopt_tree_free(&dom->tree, pfn, size);
	iova_unlock(&dom->tree_lock);
	return r;
}

#endif /* IOPT_IOVA_INTERNAL_H */
