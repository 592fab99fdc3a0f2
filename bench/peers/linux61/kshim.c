/* SPDX-License-Identifier: MIT */
/*
 * Run-time half of shim/kshim.h: per-CPU slots, slab caches, pages. See
 * docs/BENCH.md ("Shim semantics") for how each differs from the kernel.
 */
#include <pthread.h>

#include "kshim.h"

/* Bit i of word i / 64: slot i held by a live thread. */
static unsigned long long slots_used[KSHIM_NR_CPUS / 64];
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static _Thread_local int my_slot = -1;

static void slot_release(void *arg)
{
	unsigned s = (unsigned)((uintptr_t)arg - 1);

	__atomic_fetch_and(&slots_used[s / 64], ~(1ull << (s % 64)), __ATOMIC_RELEASE);
}

static void slot_key_init(void)
{
	if (pthread_key_create(&slot_key, slot_release))
		abort();
}

/*
 * The thread's slot: the lowest one free when it first asks, given back when
 * it exits, so live threads never share per-CPU data (as tasks on distinct
 * CPUs would not). More than KSHIM_NR_CPUS live threads is a set-up error.
 */
unsigned int kshim_this_cpu(void)
{
	if (likely(my_slot >= 0))
		return (unsigned int)my_slot;
	pthread_once(&slot_once, slot_key_init);
	for (unsigned w = 0; w < KSHIM_NR_CPUS / 64; w++) {
		unsigned long long used = __atomic_load_n(&slots_used[w], __ATOMIC_RELAXED);

		while (used != ~0ull) {
			int b = __builtin_ctzll(~used);

			if (__atomic_compare_exchange_n(&slots_used[w], &used, used | (1ull << b),
							false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				my_slot = (int)(w * 64 + (unsigned)b);
				pthread_setspecific(slot_key, (void *)(uintptr_t)(my_slot + 1));
				return (unsigned int)my_slot;
			}
		}
	}
	fprintf(stderr, "linux61 shim: more than %d live threads\n", KSHIM_NR_CPUS);
	abort();
}

void *kshim_alloc_percpu(size_t size)
{
	size_t total = KSHIM_PCPU_STRIDE(size) * KSHIM_NR_CPUS;
	void *p = aligned_alloc(64, total);

	if (p)
		memset(p, 0, total);
	return p;
}

struct kmem_cache *kshim_kmem_cache_create(size_t size)
{
	struct kmem_cache *c = malloc(sizeof(*c));

	if (c)
		c->size = size;
	return c;
}

/*
 * Order-0 pages come from a free list carved out of 2 MiB chunks that are
 * never given back, as the kernel's per-CPU page lists hand out pages that
 * are already resident: no page faults in timed code. Bigger orders (not
 * used by the formats benchmarked) go to aligned_alloc.
 */
#define KSHIM_CHUNK (2ul << 20)
static spinlock_t page_lock;
static void *page_free_list;

struct page *kshim_alloc_pages(gfp_t gfp, unsigned int order)
{
	void *p;

	if (order) {
		p = aligned_alloc(PAGE_SIZE, PAGE_SIZE << order);
		if (p && (gfp & __GFP_ZERO))
			memset(p, 0, PAGE_SIZE << order);
		return p;
	}
	spin_lock(&page_lock);
	if (!page_free_list) {
		char *c = aligned_alloc(KSHIM_CHUNK, KSHIM_CHUNK);

		if (!c) {
			spin_unlock(&page_lock);
			return NULL;
		}
		memset(c, 0, KSHIM_CHUNK); /* fault it in once, outside later timings */
		for (unsigned long off = 0; off < KSHIM_CHUNK; off += PAGE_SIZE) {
			*(void **)(c + off) = page_free_list;
			page_free_list = c + off;
		}
	}
	p = page_free_list;
	page_free_list = *(void **)p;
	spin_unlock(&page_lock);
	if (gfp & __GFP_ZERO)
		memset(p, 0, PAGE_SIZE);
	return p;
}

void kshim_free_pages(void *p, unsigned int order)
{
	if (!p)
		return;
	if (order) {
		free(p);
		return;
	}
	spin_lock(&page_lock);
	*(void **)p = page_free_list;
	page_free_list = p;
	spin_unlock(&page_lock);
}

void put_pages_list(struct list_head *pages)
{
	while (!list_empty(pages)) {
		struct list_head *n = pages->next;

		list_del(n);
		kshim_free_pages(container_of(n, struct page, lru), 0);
	}
}
