/* SPDX-License-Identifier: MIT */
/*
 * Default table provider: a process-wide pool of pre-zeroed, size-aligned
 * host pages, one free stack per power-of-two size (4 KiB .. 1 MiB), with a
 * small per-thread magazine in front of the 4 KiB stack. Pages are zeroed
 * when they come back (free), so alloc is a pop and one store; chunks are
 * carved 2 MiB at a time and never returned to the OS. A shared stack is
 * an array of page pointers; the free pages themselves are not touched.
 *
 * Chunks are 2 MiB aligned and asked for as transparent huge pages: the
 * CPU walks these pages too (lookups, every map and unmap), and a kernel's
 * tables sit in its large-page direct map. One TLB entry then covers 512
 * tables instead of one (lpae_s1_4k.map_256x4k, A/B: 13-16% faster, a new
 * 4 KiB table per 2 MiB mapped otherwise costs a TLB miss, a nested walk
 * under virtualization). Without THP (or when the kernel has no huge page
 * at hand) the chunk is ordinary memory.
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "pgtable/pt_internal.h"

#define POOL_MIN_LG2 12
#define POOL_MAX_LG2 20
#define POOL_CHUNK   (2u << 20)

/*
 * A class's free pages, as a stack of pointers with room for every page
 * ever carved (so a free always fits). Not a list through the pages: a
 * magazine refill would then chase POOL_MAG / 2 cold pages one after the
 * other (~8 dependent misses, a sizeable part of a large map's time).
 */
struct pool_class {
	pthread_mutex_t lock;
	void **free;
	size_t n, cap;
};

static struct pool_class pool[POOL_MAX_LG2 - POOL_MIN_LG2 + 1] = {
	[0 ... POOL_MAX_LG2 - POOL_MIN_LG2] = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 },
};
static _Atomic long pool_live;

static int pool_class_of(size_t size)
{
	unsigned lg2 = POOL_MIN_LG2;

	while (((size_t)1 << lg2) < size)
		lg2++;
	return lg2 > POOL_MAX_LG2 ? -1 : (int)(lg2 - POOL_MIN_LG2);
}

/* Slow path: carve a fresh zeroed chunk onto the class's stack (empty). */
static pt_noinline bool pool_refill(struct pool_class *c, size_t sz)
{
	/*
	 * Chunks and the stack live as long as the process (a cache, not an
	 * object), so they honour fault injection but stay out of the live
	 * count.
	 */
	size_t pages = POOL_CHUNK / sz;
	void **st = _iopt_fault() ? NULL : realloc(c->free, (c->cap + pages) * sizeof(*st));

	if (!st)
		return false;
	c->free = st;
	char *chunk = _iopt_fault() ? NULL : aligned_alloc(POOL_CHUNK, POOL_CHUNK);

	if (!chunk)
		return false;
	c->cap += pages;
	/* Before the first touch, so the fault can take a huge page; advice only. */
	(void)madvise(chunk, POOL_CHUNK, MADV_HUGEPAGE);
	memset(chunk, 0, POOL_CHUNK);
	for (size_t off = POOL_CHUNK; off > 0; off -= sz)
		c->free[c->n++] = chunk + off - sz; /* popped in address order */
	return true;
}

/* Pop from a class stack; the caller holds its lock. */
static void *pool_pop(struct pool_class *c, size_t sz)
{
	if (!c->n && !pool_refill(c, sz))
		return NULL;
	return c->free[--c->n];
}

/*
 * Per-thread magazine of 4 KiB pages (the common table size), so a mapper
 * takes the shared lock once per POOL_MAG / 2 tables, not once per table.
 * Pages parked here are counted as free; a thread's magazine goes back to
 * the shared stack when the thread exits (else every short-lived thread
 * that mapped would strand up to POOL_MAG pages for good).
 */
#define POOL_MAG 16
static PT_TLS struct {
	unsigned n;
	bool registered; /* mag_key set for this thread: mag_flush runs at exit */
	void *p[POOL_MAG];
} mag;
static pthread_key_t mag_key;
static pthread_once_t mag_once = PTHREAD_ONCE_INIT;
static bool mag_key_ok;

static void mag_flush(void *unused)
{
	struct pool_class *c = &pool[0];

	(void)unused;
	/* A later free in this thread's exit (another key's destructor) registers again. */
	mag.registered = false;
	pthread_mutex_lock(&c->lock);
	while (mag.n)
		c->free[c->n++] = mag.p[--mag.n];
	pthread_mutex_unlock(&c->lock);
}

static void mag_key_init(void)
{
	mag_key_ok = pthread_key_create(&mag_key, mag_flush) == 0;
}

/* First page parked in this thread's magazine: arrange for mag_flush at exit. */
static pt_noinline void mag_register(void)
{
	pthread_once(&mag_once, mag_key_init);
	mag.registered = mag_key_ok && pthread_setspecific(mag_key, (void *)1) == 0;
}

/*
 * Start fetching the page the next 4 KiB allocation will get. Pages wait
 * in the pool long after they were zeroed (out of the cache by then), and
 * tables are taken in runs: a map of many 4 KiB pages takes one per 2 MiB,
 * and its first leaves go into it at once (map_fresh). The prefetch does
 * not change the page; an unused one costs 64 cache-line fetches.
 */
static inline void mag_prefetch_next(void)
{
	if (mag.n) {
		const char *q = mag.p[mag.n - 1];

		for (unsigned off = 0; off < (1u << POOL_MIN_LG2); off += 64)
			__builtin_prefetch(q + off, 1);
	}
}

static void *pool_alloc(void *ctx, size_t size, uint64_t *phys)
{
	int k = pool_class_of(size);
	void *p = NULL;

	(void)ctx;
	if (k < 0)
		return NULL;
	size_t sz = (size_t)1 << (k + POOL_MIN_LG2);

	if (k == 0 && pt_likely(mag.n)) {
		p = mag.p[--mag.n];
	} else {
		struct pool_class *c = &pool[k];

		pthread_mutex_lock(&c->lock);
		p = pool_pop(c, sz);
		/* Refill this thread's magazine while holding the lock. */
		if (p && k == 0 && pt_unlikely(!mag.registered))
			mag_register();
		while (p && k == 0 && mag.registered && mag.n < POOL_MAG / 2) {
			void *q = pool_pop(c, sz);

			if (!q)
				break;
			mag.p[mag.n++] = q;
		}
		pthread_mutex_unlock(&c->lock);
		if (!p)
			return NULL;
	}
	if (k == 0)
		mag_prefetch_next();
	atomic_fetch_add_explicit(&pool_live, 1, memory_order_relaxed);
	*phys = (uint64_t)(uintptr_t)p;
	return p;
}

static void pool_free(void *ctx, void *virt, size_t size)
{
	int k = pool_class_of(size);

	(void)ctx;
	if (k < 0 || !virt)
		return;
	struct pool_class *c = &pool[k];

	memset(virt, 0, (size_t)1 << (k + POOL_MIN_LG2));
	atomic_fetch_sub_explicit(&pool_live, 1, memory_order_relaxed);
	if (k == 0 && pt_unlikely(!mag.registered))
		mag_register();
	if (k == 0 && mag.registered && mag.n < POOL_MAG) {
		mag.p[mag.n++] = virt;
		return;
	}
	pthread_mutex_lock(&c->lock);
	c->free[c->n++] = virt;
	pthread_mutex_unlock(&c->lock);
}

static const struct iopt_pt_provider default_provider = {
	.alloc = pool_alloc,
	.free = pool_free,
};

const struct iopt_pt_provider *iopt_pt_default_provider(void)
{
	return &default_provider;
}

long iopt_pt_default_provider_live(void)
{
	return atomic_load_explicit(&pool_live, memory_order_relaxed);
}
