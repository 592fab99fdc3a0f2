/* SPDX-License-Identifier: MIT */
/*
 * The rcache's fast paths (rcache.c explains the design and the
 * owner/flusher handshake), inline here so that the DMA layer runs them
 * without a call: a DMA map+unmap is three of them (alloc, the unmap's
 * check, free), and the calls with their argument checks were a tenth of
 * its instructions. Each returns true when it did the whole job; false
 * sends the caller to the public function (its slow path).
 */
#ifndef IOPT_IOVA_RCACHE_FAST_H
#define IOPT_IOVA_RCACHE_FAST_H

#include "iova_internal.h"

#if defined(__SANITIZE_THREAD__)
#define IOPT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define IOPT_TSAN 1
#endif
#endif

/* initial-exec: a TLS access is one load, no __tls_get_addr call */
#define IOPT_IE __attribute__((tls_model("initial-exec")))

/* The cache of the last domain this thread used; never NULL (rcache.c). */
extern __thread struct iova_tcache *_iopt_t_last IOPT_IE __attribute__((visibility("hidden")));

/* Every flag iopt_iova_alloc accepts. */
#define IOVA_ALL_FLAGS (IOPT_IOVA_ALIGN | IOPT_IOVA_NO_RETRY)

/* ---- owner/flusher handshake (rcache.c, top of the file) ---- */

#ifdef IOPT_TSAN
#define FAST_ORDER memory_order_seq_cst
#else
#define FAST_ORDER memory_order_relaxed
#endif

/* Owner: class k's top (only the owner writes it: no mark needed to read it). */
static inline uintptr_t cls_top(const struct iova_tclass *k)
{
	return atomic_load_explicit(&k->top, memory_order_relaxed);
}

/* Owner: mark class k, whose top is top, busy for one fast-path call. */
static inline void cls_enter(struct iova_tclass *k, uintptr_t top)
{
	atomic_store_explicit(&k->top, top + 1, FAST_ORDER);
	atomic_signal_fence(memory_order_seq_cst); /* the flusher's membarrier orders the rest */
}

/* Owner, after cls_enter: may the call go on (this domain's cache, and on)? */
static inline bool cls_on(struct iova_tcache *tc, const struct iopt_iova_domain *dom)
{
	return atomic_load_explicit(&tc->key, FAST_ORDER) == dom;
}

/* Owner: end the call with the class's new top (unmarked). */
static inline void cls_leave(struct iova_tclass *k, uintptr_t top)
{
	atomic_store_explicit(&k->top, top, memory_order_release);
}

/* A counter with one writer: a relaxed load and store, no read-modify-write. */
static inline uint64_t relaxed_inc(_Atomic uint64_t *c, uint64_t v)
{
	uint64_t n = atomic_load_explicit(c, memory_order_relaxed) + v;
	atomic_store_explicit(c, n, memory_order_relaxed);
	return n;
}

/*
 * Hit counter: the owner is its only writer, so one add to memory does.
 * The relaxed load and store C offers compile to three instructions on the
 * fast path; TSan needs to see the store.
 */
static inline void owner_inc(_Atomic uint64_t *c)
{
#if defined(__x86_64__) && !defined(IOPT_TSAN)
	__asm__("addq $1, %0" : "+m"(*(uint64_t *)c));
#else
	relaxed_inc(c, 1);
#endif
}

/* iopt_iova_alloc's fast path: pop class k's loaded magazine. */
static inline bool _iopt_rcache_alloc_fast(struct iopt_iova_domain *dom, uint64_t size,
					   uint64_t limit_pfn, unsigned flags, uint64_t *pfn_out)
{
	struct iova_tcache *tc = _iopt_t_last;
	if (iopt_likely(size <= IOPT_IOVA_CACHE_MAX_SIZE && !(flags & ~IOVA_ALL_FLAGS))) {
		struct iova_tclass *k = tc->by_size[size];
		uintptr_t top = cls_top(k);
		if (iopt_likely(top != k->base)) {
			cls_enter(k, top);
			/* Off (or a destroyed domain's cache): the entries may be gone, read none. */
			if (iopt_likely(cls_on(tc, dom))) {
				struct iova_ment *e = (struct iova_ment *)top - 1;
				uint64_t pfn = e->pfn;
				if (iopt_likely((pfn | k->mask) <= limit_pfn)) { /* size-aligned: its end */
					atomic_store_explicit(e->live, k->tag, memory_order_relaxed);
					cls_leave(k, (uintptr_t)e);
					owner_inc(&k->hits);
					*pfn_out = pfn;
					return true;
				}
			}
			cls_leave(k, top);
		}
	}
	return false;
}

/*
 * iopt_iova_free_check's fast path, the free's test without the push:
 * pfn's byte in its class's last live-map leaf says "live, this class".
 * Read only, so no handshake: the key says the cache is this domain's, and
 * the leaf lives as long as the domain.
 */
static inline bool _iopt_rcache_check_fast(struct iopt_iova_domain *dom, uint64_t pfn,
					   uint64_t size)
{
	struct iova_tcache *tc = _iopt_t_last;
	if (iopt_likely(size - 1 < IOPT_IOVA_CACHE_MAX_SIZE)) {
		const struct iova_tclass *k = tc->by_size[size];
		return cls_on(tc, dom) && pfn >> LIVE_LEAF_SHIFT == k->leaf_key &&
		       atomic_load_explicit((_Atomic uint8_t *)(k->leaf_base + pfn),
					    memory_order_relaxed) == k->tag;
	}
	return false;
}

/* iopt_iova_free's fast path: the live byte says "live, this class"; push onto class k's magazine. */
static inline bool _iopt_rcache_free_fast(struct iopt_iova_domain *dom, uint64_t pfn, uint64_t size)
{
	struct iova_tcache *tc = _iopt_t_last;
	if (iopt_likely(size <= IOPT_IOVA_CACHE_MAX_SIZE)) {
		struct iova_tclass *k = tc->by_size[size];
		uintptr_t top = cls_top(k);
		if (iopt_likely(top != k->end)) {
			cls_enter(k, top);
			_Atomic uint8_t *b = (_Atomic uint8_t *)(k->leaf_base + pfn);
			if (iopt_likely(cls_on(tc, dom) && pfn >> LIVE_LEAF_SHIFT == k->leaf_key &&
					atomic_load_explicit(b, memory_order_relaxed) == k->tag)) {
				atomic_store_explicit(b, 0, memory_order_relaxed);
				struct iova_ment *e = (struct iova_ment *)top;
				*e = (struct iova_ment){ pfn, b };
				cls_leave(k, (uintptr_t)(e + 1));
				return true;
			}
			cls_leave(k, top);
		}
	}
	return false;
}

#endif /* IOPT_IOVA_RCACHE_FAST_H */
