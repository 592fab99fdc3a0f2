/* SPDX-License-Identifier: MIT */
/*
 * The rcache: per-thread magazines in front of the gap tree, a bounded
 * depot of full magazines per size class, and the live map that validates
 * frees. iopt_iova_alloc() and iopt_iova_free() live here because their
 * fast path is the cache: a TLS load, a magazine pop or push and a live-map
 * byte, with no atomic read-modify-write and no shared lock. The fast
 * paths themselves are inline in rcache_fast.h, which the DMA layer
 * includes too.
 *
 * Why per-thread and not per-CPU: user space has no cheap preemption-proof
 * CPU id (rseq would do it, at the cost of restartable sequences in every
 * caller); a thread's cache needs no lock against itself. The price is that
 * idle threads hold ranges: the depot bound, the idle reclaim, the flush on
 * exhaustion and the flush at thread exit return them.
 *
 * The fast path is one cache line of per-class state (struct iova_tclass):
 * a pop or push on the loaded magazine, the live byte, and the flush
 * handshake folded into the magazine's top pointer. Every size maps to its
 * class through a per-cache table (no bit scan: its latency sat on the
 * path of every call), and an entry carries its live-map byte's address so
 * that a pop needs no lookup; a free finds the byte through its class's last
 * live-map leaf. Everything else is the named slow paths (alloc_slow,
 * free_slow), under the cache's lock.
 *
 * Remote flush (exhaustion, iopt_iova_cache_flush) against a lock-free
 * owner: the owner marks the class it works on by storing its top + 1, then
 * reads the cache's key; the flusher clears the key, then
 * membarrier(PRIVATE_EXPEDITED) makes every thread's prior stores (the
 * marks) visible, then waits until no class is marked. Either the flusher
 * sees the mark, or the owner sees the key cleared, puts top back and takes
 * its locked slow path, which turns the cache back on once the flusher is
 * done. Under TSan, which does not model membarrier, the owner's mark and
 * read are seq_cst instead; without membarrier the cache stays off and
 * every cached-size call takes the slow path.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/membarrier.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "rcache_fast.h"



static pthread_mutex_t registry = PTHREAD_MUTEX_INITIALIZER; /* tcache lists */
static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static bool use_membarrier;

/*
 * Stands in for "no cache yet", so the fast path needs no NULL test: never
 * on, and every size maps to its extra class, empty and full, which sends
 * a call to the slow path before it writes anything to this shared object.
 */
static struct iova_tcache tc_none = {
	.by_size = { [0 ... IOPT_IOVA_CACHE_MAX_SIZE] = &tc_none.cls[IOVA_NR_CLASSES] },
};
/* The cache of the last domain this thread used (rcache_fast.h). */
__thread struct iova_tcache *_iopt_t_last IOPT_IE = &tc_none;
static __thread struct iova_tcache *t_list IOPT_IE; /* every cache of this thread */

#define LIVE_LEAF_SIZE (1u << LIVE_LEAF_SHIFT)
#define LIVE_FANOUT (1u << LIVE_LVL_BITS)

static void thread_exit(void *arg);

static void global_init(void)
{
	(void)pthread_key_create(&exit_key, thread_exit);
#ifndef IOPT_TSAN
	long cmds = syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	if (cmds > 0 && (cmds & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
	    !syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0))
		use_membarrier = true;
#endif
}

static inline unsigned size_class(uint64_t size) /* 1..32 -> 0..5 */
{
	/* fls(size - 1) without fls64's zero test: random sizes mispredicted it */
	return 63u - (unsigned)__builtin_clzll(((size - 1) << 1) | 1);
}

static inline uint64_t clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- magazine counts are read by stats from other threads: relaxed atomics ---- */

static inline uint64_t mag_n(const struct iova_mag *m)
{
	return atomic_load_explicit((_Atomic uint64_t *)&m->n, memory_order_relaxed);
}

static inline void mag_set_n(struct iova_mag *m, uint64_t n)
{
	atomic_store_explicit((_Atomic uint64_t *)&m->n, n, memory_order_relaxed);
}

/* ---- owner/flusher handshake (see the top of the file) ---- */


/* Under tc->lock (key changes only under it): is the cache on (top counts the loaded magazines)? */
static inline bool tc_on(struct iova_tcache *tc)
{
	return atomic_load_explicit(&tc->key, memory_order_relaxed) != NULL;
}

/* Entries below class k's top (read from the owner or, with it out, under tc->lock). */
static uint64_t cls_count(struct iova_tclass *k)
{
	uintptr_t top = atomic_load_explicit(&k->top, memory_order_relaxed) & ~(uintptr_t)1;
	return (top - k->base) / sizeof(struct iova_ment);
}

/* Under tc->lock: entries in class c's loaded magazine. */
static uint64_t loaded_n(struct iova_tcache *tc, unsigned c)
{
	return tc_on(tc) ? cls_count(&tc->cls[c]) : mag_n(tc->loaded[c]);
}

/* Under tc->lock, the owner out of the fast path: make class c's magazine count exact. */
static void cls_sync(struct iova_tcache *tc, unsigned c)
{
	mag_set_n(tc->loaded[c], cls_count(&tc->cls[c]));
}

/* Under tc->lock: point class c's fast path at its loaded magazine. */
static void cls_load(struct iova_tcache *tc, unsigned c)
{
	struct iova_tclass *k = &tc->cls[c];
	struct iova_mag *m = tc->loaded[c];
	k->base = (uintptr_t)m->e;
	k->end = (uintptr_t)(m->e + IOVA_MAG_SIZE);
	atomic_store_explicit(&k->top, (uintptr_t)(m->e + mag_n(m)), memory_order_relaxed);
}

/* The fast path exists where a flusher can see the owner's marks. */
#ifdef IOPT_TSAN
#define FAST_PATH true
#else
#define FAST_PATH use_membarrier
#endif

/*
 * Owner: lock the cache for a slow-path change of class c, whose loaded
 * magazine then counts in n (the cache may be on or flushed off).
 */
static void tc_lock(struct iova_tcache *tc, unsigned c)
{
	iova_lock(&tc->lock);
	if (tc_on(tc))
		cls_sync(tc, c);
}

/* Owner: hand class c back to the fast path; after a flush, every class and the key. */
static void tc_unlock(struct iova_tcache *tc, unsigned c)
{
	if (tc_on(tc)) {
		cls_load(tc, c);
	} else if (FAST_PATH) {
		for (unsigned i = 0; i < IOVA_NR_CLASSES; i++)
			cls_load(tc, i);
		atomic_store_explicit(&tc->key, atomic_load_explicit(&tc->dom, memory_order_relaxed),
				      memory_order_release);
	}
	iova_unlock(&tc->lock);
}

/* Under tc->lock: turn the cache off so that every count is in n (thread exit). */
static void tc_off(struct iova_tcache *tc)
{
	if (!tc_on(tc))
		return;
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++)
		cls_sync(tc, c);
	atomic_store_explicit(&tc->key, NULL, memory_order_relaxed);
}


/* ---- live map ---- */

static iopt_noinline _Atomic uint8_t *live_slot(struct iopt_iova_domain *dom, uint64_t pfn, bool create)
{
	uint64_t key = pfn >> LIVE_LEAF_SHIFT;
	_Atomic(void *) *slot = &dom->live_root;

	for (int d = 0; d <= LIVE_LEVELS; d++) {
		void *p = atomic_load_explicit(slot, memory_order_acquire);
		if (!p) {
			size_t bytes = d < LIVE_LEVELS ? LIVE_FANOUT * sizeof(void *) : LIVE_LEAF_SIZE;
			void *fresh;
			if (!create || !(fresh = _iopt_calloc(1, bytes)))
				return NULL;
			if (atomic_compare_exchange_strong_explicit(slot, &p, fresh, memory_order_acq_rel,
								    memory_order_acquire)) {
				atomic_fetch_add_explicit(&dom->live_bytes, bytes, memory_order_relaxed);
				p = fresh;
			} else {
				_iopt_free(fresh); /* another thread installed it first */
			}
		}
		if (d == LIVE_LEVELS)
			return &((_Atomic uint8_t *)p)[pfn & (LIVE_LEAF_SIZE - 1)];
		unsigned shift = (unsigned)(LIVE_LEVELS - 1 - d) * LIVE_LVL_BITS;
		slot = &((_Atomic(void *) *)p)[(key >> shift) & (LIVE_FANOUT - 1)];
	}
	return NULL;
}

/* The live-map byte of pfn through the thread's cached leaf; NULL on a leaf miss. */
static inline _Atomic uint8_t *live_fast(struct iova_tcache *tc, uint64_t pfn)
{
	uint64_t key = pfn >> LIVE_LEAF_SHIFT;
	unsigned w = key & (IOVA_LEAF_WAYS - 1);
	if (iopt_likely(tc->leaf_key[w] == key))
		return &tc->leaf[w][pfn & (LIVE_LEAF_SIZE - 1)];
	return NULL;
}

static _Atomic uint8_t *live_tc(struct iopt_iova_domain *dom, struct iova_tcache *tc, uint64_t pfn,
				bool create)
{
	_Atomic uint8_t *b = tc ? live_fast(tc, pfn) : NULL;
	if (b)
		return b;
	b = live_slot(dom, pfn, create);
	if (b && tc) {
		uint64_t key = pfn >> LIVE_LEAF_SHIFT;
		tc->leaf_key[key & (IOVA_LEAF_WAYS - 1)] = key;
		tc->leaf[key & (IOVA_LEAF_WAYS - 1)] = b - (pfn & (LIVE_LEAF_SIZE - 1));
	}
	return b;
}

static void live_free(void *p, int d)
{
	if (!p)
		return;
	if (d < LIVE_LEVELS)
		for (unsigned i = 0; i < LIVE_FANOUT; i++)
			live_free(atomic_load_explicit(&((_Atomic(void *) *)p)[i], memory_order_relaxed), d + 1);
	_iopt_free(p);
}

bool _iopt_rcache_is_live(struct iopt_iova_domain *dom, const struct iova_range *n)
{
	uint64_t size = n->hi - n->lo + 1;
	if (!dom->rcache || size > IOPT_IOVA_CACHE_MAX_SIZE)
		return true;
	_Atomic uint8_t *b = live_slot(dom, n->lo, false);
	return b && atomic_load_explicit(b, memory_order_relaxed) == size_class(size) + 1;
}

/* ---- magazines, depot ---- */

static struct iova_mag *mag_new(struct iopt_iova_domain *dom)
{
	/* Line-aligned: a magazine never shares a cache line with another thread's. */
	struct iova_mag *m = _iopt_aligned_alloc(64, sizeof(*m));
	if (m) {
		mag_set_n(m, 0);
		atomic_fetch_add_explicit(&dom->mags, 1, memory_order_relaxed);
	}
	return m;
}

static void mag_free(struct iopt_iova_domain *dom, struct iova_mag *m)
{
	if (m) {
		atomic_fetch_sub_explicit(&dom->mags, 1, memory_order_relaxed);
		_iopt_free(m);
	}
}

/* Give every range in m back to the tree. */
static void mag_to_tree(struct iopt_iova_domain *dom, struct iova_mag *m, unsigned c)
{
	uint64_t n = m ? mag_n(m) : 0;
	if (!n)
		return;
	iova_lock(&dom->tree_lock);
	for (uint64_t i = 0; i < n; i++)
		(void)_iopt_tree_free(&dom->tree, m->e[i].pfn, 1ull << c); /* cached ranges are tree nodes */
	iova_unlock(&dom->tree_lock);
	mag_set_n(m, 0);
}

static void maybe_reclaim(struct iopt_iova_domain *dom)
{
	uint64_t now = clock_ns(), due = atomic_load_explicit(&dom->next_reclaim, memory_order_relaxed);
	if (now >= due && atomic_compare_exchange_strong(&dom->next_reclaim, &due, now + IOVA_RECLAIM_NS))
		(void)iopt_iova_cache_reclaim(dom);
}

static bool depot_push(struct iopt_iova_domain *dom, unsigned c, struct iova_mag *m, const void *home)
{
	struct iova_depot *d = &dom->depot[c];
	bool ok = false;
	iova_lock(&d->lock);
	if (d->n < IOVA_DEPOT_MAX) {
		d->home[d->n] = home;
		d->mags[d->n++] = m;
		ok = true;
	}
	iova_unlock(&d->lock);
	maybe_reclaim(dom);
	return ok;
}

/*
 * Pop a full magazine, preferring one this thread pushed: threads that
 * trade magazines end up with interleaved ranges, and then their live-map
 * stores share cache lines (measured: 5x slower in iova.threads2_ring512).
 */
static struct iova_mag *depot_pop(struct iopt_iova_domain *dom, unsigned c, const void *home)
{
	struct iova_depot *d = &dom->depot[c];
	struct iova_mag *m = NULL;
	iova_lock(&d->lock);
	if (d->n) {
		uint32_t i = d->n - 1;
		while (i && d->home[i] != home)
			i--;
		if (d->home[i] != home)
			i = d->n - 1;
		m = d->mags[i];
		d->n--;
		/* Keep the age order (oldest at the bottom) for the idle reclaim. */
		memmove(&d->mags[i], &d->mags[i + 1], (d->n - i) * sizeof(d->mags[0]));
		memmove(&d->home[i], &d->home[i + 1], (d->n - i) * sizeof(d->home[0]));
		if (d->n < d->low)
			d->low = d->n;
	}
	iova_unlock(&d->lock);
	maybe_reclaim(dom);
	return m;
}

unsigned int iopt_iova_cache_reclaim(struct iopt_iova_domain *dom)
{
	unsigned total = 0;
	for (unsigned c = 0; dom->rcache && c < IOVA_NR_CLASSES; c++) {
		struct iova_depot *d = &dom->depot[c];
		struct iova_mag *idle[IOVA_DEPOT_MAX];
		iova_lock(&d->lock);
		/* The oldest magazines sit at the bottom; the low-water count of them went unused. */
		uint32_t k = d->low;
		memcpy(idle, d->mags, k * sizeof(idle[0]));
		memmove(d->mags, d->mags + k, (d->n - k) * sizeof(d->mags[0]));
		memmove(d->home, d->home + k, (d->n - k) * sizeof(d->home[0]));
		d->n -= k;
		d->low = d->n;
		iova_unlock(&d->lock);
		for (uint32_t i = 0; i < k; i++) {
			mag_to_tree(dom, idle[i], c);
			mag_free(dom, idle[i]);
		}
		total += k;
	}
	return total;
}

/* Owner, under tc->lock: an empty magazine, a kept one if any. */
static struct iova_mag *spare_get(struct iopt_iova_domain *dom, struct iova_tcache *tc)
{
	return tc->nspare ? tc->spare[--tc->nspare] : mag_new(dom);
}

/* Owner, under tc->lock: keep the empty magazine m for a later depot push. */
static void spare_put(struct iopt_iova_domain *dom, struct iova_tcache *tc, struct iova_mag *m)
{
	if (tc->nspare < IOVA_SPARES)
		tc->spare[tc->nspare++] = m;
	else
		mag_free(dom, m);
}

/* Owner, under tc->lock: pop a cached range of class c whose end is <= limit. */
static bool mag_get(struct iopt_iova_domain *dom, struct iova_tcache *tc, unsigned c, uint64_t limit,
		    struct iova_ment *e)
{
	struct iova_mag *m = tc->loaded[c];
	if (!mag_n(m)) {
		if (mag_n(tc->prev[c])) {
			tc->loaded[c] = tc->prev[c];
			tc->prev[c] = m;
		} else {
			struct iova_mag *full = depot_pop(dom, c, tc);
			if (!full)
				return false;
			spare_put(dom, tc, m); /* the next depot push needs an empty one */
			tc->loaded[c] = full;
		}
		m = tc->loaded[c];
	}
	/* Scan from the top for a range under the caller's limit (a 32-bit device asking). */
	uint64_t n = mag_n(m), sz = 1ull << c;
	for (uint64_t i = n; i-- > 0;) {
		if (m->e[i].pfn + sz - 1 <= limit) {
			*e = m->e[i];
			m->e[i] = m->e[n - 1];
			mag_set_n(m, n - 1);
			return true;
		}
	}
	return false;
}

/* Owner, under tc->lock: cache pfn, live byte b, in class c (never fails: overflow goes to the tree). */
static void mag_put(struct iopt_iova_domain *dom, struct iova_tcache *tc, unsigned c, uint64_t pfn,
		    _Atomic uint8_t *b)
{
	struct iova_mag *m = tc->loaded[c];
	if (mag_n(m) == IOVA_MAG_SIZE) {
		if (mag_n(tc->prev[c]) < IOVA_MAG_SIZE) {
			tc->loaded[c] = tc->prev[c];
			tc->prev[c] = m;
		} else {
			struct iova_mag *empty = spare_get(dom, tc);
			if (empty && depot_push(dom, c, m, tc)) {
				tc->loaded[c] = empty;
			} else {
				if (empty)
					spare_put(dom, tc, empty);
				mag_to_tree(dom, m, c); /* depot full or no memory */
			}
		}
		m = tc->loaded[c];
	}
	uint64_t n = mag_n(m);
	m->e[n] = (struct iova_ment){ pfn, b };
	mag_set_n(m, n + 1);
}

/* ---- per-thread caches ---- */

static uint64_t tc_hits(struct iova_tcache *tc)
{
	uint64_t n = 0;
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++)
		n += atomic_load_explicit(&tc->cls[c].hits, memory_order_relaxed);
	return n;
}

static void tc_free_mags(struct iopt_iova_domain *dom, struct iova_tcache *tc, bool to_tree)
{
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
		struct iova_mag *ms[2] = { tc->loaded[c], tc->prev[c] };
		for (int j = 0; j < 2; j++) {
			/* A full magazine is worth keeping in the depot; the rest goes to the tree. */
			if (to_tree && !(mag_n(ms[j]) == IOVA_MAG_SIZE && depot_push(dom, c, ms[j], NULL))) {
				mag_to_tree(dom, ms[j], c);
				mag_free(dom, ms[j]);
			} else if (!to_tree) {
				mag_free(dom, ms[j]);
			}
		}
		tc->loaded[c] = tc->prev[c] = NULL;
	}
	while (tc->nspare)
		mag_free(dom, tc->spare[--tc->nspare]);
}

static void tc_unlink(struct iopt_iova_domain *dom, struct iova_tcache *tc)
{
	if (tc->dom_prev)
		tc->dom_prev->dom_next = tc->dom_next;
	else
		dom->tcaches = tc->dom_next;
	if (tc->dom_next)
		tc->dom_next->dom_prev = tc->dom_prev;
}

/* Thread exit: hand every cache back to its domain (full magazines to the depot). */
static void thread_exit(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&registry);
	for (struct iova_tcache *tc = t_list, *next; tc; tc = next) {
		struct iopt_iova_domain *dom = atomic_load_explicit(&tc->dom, memory_order_acquire);
		next = tc->thr_next;
		if (dom) {
			iova_lock(&tc->lock);
			tc_off(tc);
			tc_free_mags(dom, tc, true);
			iova_unlock(&tc->lock);
			relaxed_inc(&dom->gone_hits, tc_hits(tc));
			relaxed_inc(&dom->gone_misses, atomic_load_explicit(&tc->misses, memory_order_relaxed));
			tc_unlink(dom, tc);
		}
		_iopt_free(tc);
	}
	t_list = NULL;
	_iopt_t_last = &tc_none;
	pthread_mutex_unlock(&registry);
}

static iopt_noinline struct iova_tcache *tc_create(struct iopt_iova_domain *dom)
{
	struct iova_tcache *tc = _iopt_aligned_alloc(64, sizeof(*tc));
	if (!tc)
		return NULL;
	memset(tc, 0, sizeof(*tc));
	memset(tc->leaf_key, 0xff, sizeof(tc->leaf_key));
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
		if (!(tc->loaded[c] = mag_new(dom)) || !(tc->prev[c] = mag_new(dom))) {
			tc_free_mags(dom, tc, false);
			_iopt_free(tc);
			return NULL;
		}
		tc->cls[c].mask = (1ull << c) - 1;
		tc->cls[c].tag = (uint8_t)(c + 1);
		tc->cls[c].leaf_key = UINT64_MAX; /* no pfn's leaf */
		cls_load(tc, c);
	}
	/* The extra class stays empty and full: top == base == end sends size 0 to the slow paths. */
	tc->cls[IOVA_NR_CLASSES].leaf_key = UINT64_MAX;
	tc->by_size[0] = &tc->cls[IOVA_NR_CLASSES];
	for (unsigned s = 1; s <= IOPT_IOVA_CACHE_MAX_SIZE; s++)
		tc->by_size[s] = &tc->cls[size_class(s)];
	if (pthread_setspecific(exit_key, (void *)1)) {
		tc_free_mags(dom, tc, false);
		_iopt_free(tc);
		return NULL;
	}
	atomic_store_explicit(&tc->dom, dom, memory_order_relaxed);
	if (FAST_PATH)
		atomic_store_explicit(&tc->key, dom, memory_order_relaxed);
	pthread_mutex_lock(&registry);
	tc->dom_next = dom->tcaches;
	if (dom->tcaches)
		dom->tcaches->dom_prev = tc;
	dom->tcaches = tc;
	pthread_mutex_unlock(&registry);
	tc->thr_next = t_list;
	t_list = tc;
	return tc;
}

/* This thread's cache for dom, created on first use; NULL when out of memory. */
static iopt_noinline struct iova_tcache *tc_get(struct iopt_iova_domain *dom)
{
	struct iova_tcache *tc = _iopt_t_last;
	if (atomic_load_explicit(&tc->dom, memory_order_relaxed) == dom)
		return tc;
	for (struct iova_tcache **p = &t_list; (tc = *p);) {
		struct iopt_iova_domain *d = atomic_load_explicit(&tc->dom, memory_order_acquire);
		if (d == dom)
			break;
		if (!d) { /* its domain was destroyed: the destroyer is done with it */
			*p = tc->thr_next;
			_iopt_free(tc);
			continue;
		}
		p = &tc->thr_next;
	}
	if (!tc)
		tc = tc_create(dom);
	_iopt_t_last = tc ? tc : &tc_none;
	return tc;
}

/* Take a running thread's magazines (see the handshake at the top). Registry lock held. */
static void tc_steal(struct iopt_iova_domain *dom, struct iova_tcache *tc)
{
	iova_lock(&tc->lock);
	if (tc_on(tc)) {
		atomic_store_explicit(&tc->key, NULL, memory_order_seq_cst);
		if (use_membarrier) /* makes every owner's marks visible before we look */
			syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
		for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
			while (atomic_load_explicit(&tc->cls[c].top, memory_order_seq_cst) & 1)
				sched_yield();
			/* An owner call that starts from here on puts top back untouched. */
			cls_sync(tc, c);
		}
	}
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
		mag_to_tree(dom, tc->loaded[c], c);
		mag_to_tree(dom, tc->prev[c], c);
	}
	iova_unlock(&tc->lock);
}

void iopt_iova_cache_flush(struct iopt_iova_domain *dom)
{
	if (!dom->rcache)
		return;
	pthread_mutex_lock(&registry);
	for (struct iova_tcache *tc = dom->tcaches; tc; tc = tc->dom_next)
		tc_steal(dom, tc);
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
		struct iova_depot *d = &dom->depot[c];
		struct iova_mag *all[IOVA_DEPOT_MAX];
		iova_lock(&d->lock);
		uint32_t n = d->n;
		memcpy(all, d->mags, n * sizeof(all[0]));
		d->n = d->low = 0;
		iova_unlock(&d->lock);
		for (uint32_t i = 0; i < n; i++) {
			mag_to_tree(dom, all[i], c);
			mag_free(dom, all[i]);
		}
	}
	pthread_mutex_unlock(&registry);
	atomic_fetch_add_explicit(&dom->flushes, 1, memory_order_relaxed);
}

/* ---- domain hooks ---- */

int _iopt_rcache_init(struct iopt_iova_domain *dom)
{
	pthread_once(&global_once, global_init);
	atomic_store(&dom->next_reclaim, clock_ns() + IOVA_RECLAIM_NS);
	return 0;
}

void _iopt_rcache_destroy(struct iopt_iova_domain *dom)
{
	pthread_mutex_lock(&registry);
	for (struct iova_tcache *tc = dom->tcaches; tc; tc = tc->dom_next) {
		tc_free_mags(dom, tc, false);
		/* Off for good: a later domain at the same address must not match. */
		atomic_store_explicit(&tc->key, NULL, memory_order_relaxed);
		/* Last touch: once the owner reads NULL it may free tc. */
		atomic_store_explicit(&tc->dom, NULL, memory_order_release);
	}
	dom->tcaches = NULL;
	pthread_mutex_unlock(&registry);
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++)
		for (uint32_t i = 0; i < dom->depot[c].n; i++)
			mag_free(dom, dom->depot[c].mags[i]);
	live_free(atomic_load_explicit(&dom->live_root, memory_order_relaxed), 0);
}

void _iopt_rcache_stats(struct iopt_iova_domain *dom, struct iopt_iova_stats *st)
{
	st->cache_hits = atomic_load_explicit(&dom->gone_hits, memory_order_relaxed);
	st->cache_misses = atomic_load_explicit(&dom->gone_misses, memory_order_relaxed);
	st->flushes = atomic_load_explicit(&dom->flushes, memory_order_relaxed);
	st->bytes_used += atomic_load_explicit(&dom->live_bytes, memory_order_relaxed) +
			  atomic_load_explicit(&dom->mags, memory_order_relaxed) * sizeof(struct iova_mag);
	pthread_mutex_lock(&registry);
	for (struct iova_tcache *tc = dom->tcaches; tc; tc = tc->dom_next) {
		st->cache_hits += tc_hits(tc);
		st->cache_misses += atomic_load_explicit(&tc->misses, memory_order_relaxed);
		st->bytes_used += sizeof(*tc);
		/* The owner may swap its magazines concurrently: lock them still for this read. */
		iova_lock(&tc->lock);
		for (unsigned c = 0; c < IOVA_NR_CLASSES; c++)
			st->cache_pfns += loaded_n(tc, c) + mag_n(tc->prev[c]);
		iova_unlock(&tc->lock);
	}
	for (unsigned c = 0; c < IOVA_NR_CLASSES; c++) {
		iova_lock(&dom->depot[c].lock);
		st->depot_mags += dom->depot[c].n;
		st->cache_pfns += (uint64_t)dom->depot[c].n * IOVA_MAG_SIZE;
		iova_unlock(&dom->depot[c].lock);
	}
	pthread_mutex_unlock(&registry);
}

/* ---- alloc / free ---- */

/*
 * Tree allocation with the flush-and-retry rule: only running out of space
 * is worth a flush (cached ranges may fill the gap); a host-memory failure
 * is not. Both are -ENOMEM to the caller.
 */
static int tree_alloc_retry(struct iopt_iova_domain *dom, const struct iova_req *q, unsigned flags,
			    uint64_t *pfn)
{
	int r = _iopt_iova_tree_alloc(dom, q, pfn);
	if (r == -ENOSPC && dom->rcache && !(flags & IOPT_IOVA_NO_RETRY)) {
		iopt_iova_cache_flush(dom);
		r = _iopt_iova_tree_alloc(dom, q, pfn);
	}
	return r == -ENOSPC ? -ENOMEM : r;
}

static void refill(struct iopt_iova_domain *dom, struct iova_tcache *tc, unsigned c,
		   const struct iova_req *q);

/* A size the cache does not hold (or no cache): straight to the tree. */
static iopt_noinline int alloc_tree(struct iopt_iova_domain *dom, uint64_t size, uint64_t limit, unsigned flags,
				    uint64_t *out)
{
	struct iova_req q = { size, (flags & IOPT_IOVA_ALIGN) ? iopt_roundup_pow2(size) : 1, limit };
	return tree_alloc_retry(dom, &q, flags, out);
}

/* A cached size that the fast path could not serve: the cache under its lock, else the tree and a refill. */
static iopt_noinline int alloc_cached(struct iopt_iova_domain *dom, uint64_t size, uint64_t limit,
				      unsigned flags, uint64_t *out)
{
	unsigned c = size_class(size);
	uint64_t pfn;
	struct iova_tcache *tc = tc_get(dom);
	if (tc) {
		struct iova_ment e;
		tc_lock(tc, c);
		bool hit = mag_get(dom, tc, c, limit, &e);
		tc_unlock(tc, c);
		relaxed_inc(hit ? &tc->cls[c].hits : &tc->misses, 1);
		if (hit) {
			atomic_store_explicit(e.live, c + 1, memory_order_relaxed);
			*out = e.pfn;
			return 0;
		}
	}
	struct iova_req q = { 1ull << c, 1ull << c, limit };
	int r = tree_alloc_retry(dom, &q, flags, &pfn);
	if (r)
		return r;
	_Atomic uint8_t *b = live_tc(dom, tc, pfn, true);
	if (!b) {
		(void)_iopt_iova_tree_free(dom, pfn, 1ull << c);
		return -ENOMEM;
	}
	atomic_store_explicit(b, c + 1, memory_order_relaxed);
	if (tc)
		refill(dom, tc, c, &q);
	*out = pfn;
	return 0;
}

/* Everything the fast path does not do: arguments checked, then the cache's or the tree's slow path. */
static iopt_noinline int alloc_slow(struct iopt_iova_domain *dom, uint64_t size, uint64_t limit,
				    unsigned flags, uint64_t *out)
{
	if (!size || (flags & ~IOVA_ALL_FLAGS) || limit < dom->start_pfn)
		return -EINVAL;
	if (size > dom->end_pfn - dom->start_pfn + 1)
		return -ERANGE;
	if (limit > dom->end_pfn)
		limit = dom->end_pfn;
	if (!dom->rcache || size > IOPT_IOVA_CACHE_MAX_SIZE)
		return alloc_tree(dom, size, limit, flags, out);
	return alloc_cached(dom, size, limit, flags, out);
}

/*
 * After a miss, take up to 64 granules' worth of ranges of the class from
 * the tree in one lock hold and cache them. Besides amortizing the lock,
 * this keeps each thread's ranges (and their live-map bytes) contiguous:
 * interleaved single ranges made two threads' live-map stores share cache
 * lines, which cost 6x in iova.threads2_ring512. A range whose live-map
 * leaf cannot be allocated goes back to the tree.
 */
#define REFILL_GRANULES 64

static void refill(struct iopt_iova_domain *dom, struct iova_tcache *tc, unsigned c,
		   const struct iova_req *q)
{
	uint64_t pfns[REFILL_GRANULES];
	_Atomic uint8_t *live[REFILL_GRANULES];
	unsigned want = REFILL_GRANULES >> c, got = 0;

	tc_lock(tc, c);
	uint64_t room = IOVA_MAG_SIZE - mag_n(tc->loaded[c]);
	tc_unlock(tc, c);
	want = want - 1 < room ? want - 1 : (unsigned)room;
	iova_lock(&dom->tree_lock);
	while (got < want && !_iopt_tree_alloc(&dom->tree, q, &pfns[got]))
		got++;
	iova_unlock(&dom->tree_lock);
	for (unsigned i = 0; i < got; i++)
		if (!(live[i] = live_tc(dom, tc, pfns[i], true)))
			(void)_iopt_iova_tree_free(dom, pfns[i], 1ull << c);
	tc_lock(tc, c);
	while (got--)
		if (live[got]) /* the highest comes out first: top-down kept */
			mag_put(dom, tc, c, pfns[got], live[got]);
	tc_unlock(tc, c);
}

int iopt_iova_alloc(struct iopt_iova_domain *dom, uint64_t size, uint64_t limit_pfn, unsigned int flags,
		    uint64_t *pfn_out)
{
	if (iopt_likely(_iopt_rcache_alloc_fast(dom, size, limit_pfn, flags, pfn_out)))
		return 0;
	return alloc_slow(dom, size, limit_pfn, flags, pfn_out);
}

/* A cached size that the fast path could not take back: checked against the live map, then cached under the lock. */
static iopt_noinline int free_cached(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	unsigned c = size_class(size);
	struct iova_tcache *tc = tc_get(dom);
	_Atomic uint8_t *b = live_tc(dom, tc, pfn, false);
	if (!b || atomic_load_explicit(b, memory_order_relaxed) != c + 1)
		return -ENOENT; /* never allocated, double free, or another size */
	if (!tc) {
		int r = _iopt_iova_tree_free(dom, pfn, 1ull << c);
		if (!r)
			atomic_store_explicit(b, 0, memory_order_relaxed);
		return r;
	}
	tc_lock(tc, c);
	atomic_store_explicit(b, 0, memory_order_relaxed);
	mag_put(dom, tc, c, pfn, b);
	/* The fast path's leaf for this class from now on. */
	struct iova_tclass *k = &tc->cls[c];
	k->leaf_key = pfn >> LIVE_LEAF_SHIFT;
	k->leaf_base = (uintptr_t)b - pfn;
	tc_unlock(tc, c);
	return 0;
}

static iopt_noinline int free_slow(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	if (!size)
		return -EINVAL;
	if (pfn < dom->start_pfn || pfn > dom->end_pfn || size - 1 > dom->end_pfn - pfn)
		return -ERANGE;
	if (!dom->rcache || size > IOPT_IOVA_CACHE_MAX_SIZE)
		return _iopt_iova_tree_free(dom, pfn, size);
	return free_cached(dom, pfn, size);
}

/* Everything iopt_iova_free_check's fast path does not answer: the thread's leaf ways, the live map, the tree. */
static iopt_noinline int free_check_slow(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	uint64_t lo, hi;
	bool reserved;

	if (!size)
		return -EINVAL;
	if (dom->rcache && size <= IOPT_IOVA_CACHE_MAX_SIZE) {
		/* The live byte of a cached-size allocation's first pfn holds its class. */
		_Atomic uint8_t *b = live_tc(dom, tc_get(dom), pfn, false);
		unsigned v = b ? atomic_load_explicit(b, memory_order_relaxed) : 0;
		if (v)
			return v == size_class(size) + 1 ? 0 : -EINVAL;
	}
	/* Slow path: a tree-sized allocation, or nothing starts at pfn. */
	if (iopt_iova_find(dom, pfn, &lo, &hi, &reserved) || reserved || lo != pfn)
		return -ENOENT;
	return size == hi - lo + 1 ? 0 : -EINVAL;
}

int iopt_iova_free_check(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	if (iopt_likely(_iopt_rcache_check_fast(dom, pfn, size)))
		return 0;
	return free_check_slow(dom, pfn, size);
}

int iopt_iova_free(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	if (iopt_likely(_iopt_rcache_free_fast(dom, pfn, size)))
		return 0;
	return free_slow(dom, pfn, size);
}
