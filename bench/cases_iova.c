/* SPDX-License-Identifier: MIT */
/*
 * iova.* cases: granule 4 KiB, start pfn 1; "32-bit limit" = pfn 0xFFFFF.
 * The workloads are fixed by the issue that defined them; each is written
 * once over a small allocator API (struct iova_api) and instantiated for
 * iopt and, with -Dpeers, for each kernel's drivers/iommu/iova.c, so all
 * run the very same sequences.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <iopt/iova.h>

#include "bench.h"
#include "bench_peers.h"

#define LIMIT32 0xFFFFFull

struct iova_api {
	void *(*create)(bool rcache);
	void (*destroy)(void *dom);
	int (*alloc)(void *dom, uint64_t size, uint64_t limit, bool align, uint64_t *pfn);
	int (*free)(void *dom, uint64_t pfn, uint64_t size);
};

static void *i_create(bool rcache)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *dom;

	iopt_iova_config_init(&cfg);
	cfg.flags = rcache ? 0 : IOPT_IOVA_NO_RCACHE;
	if (iopt_iova_domain_create(&cfg, &dom))
		return NULL;
	return dom;
}

static void i_destroy(void *dom)
{
	iopt_iova_domain_destroy(dom);
}

static int i_alloc(void *dom, uint64_t size, uint64_t limit, bool align, uint64_t *pfn)
{
	return iopt_iova_alloc(dom, size, limit, align ? IOPT_IOVA_ALIGN : 0, pfn);
}

static int i_free(void *dom, uint64_t pfn, uint64_t size)
{
	return iopt_iova_free(dom, pfn, size);
}

static const struct iova_api iopt_api = { i_create, i_destroy, i_alloc, i_free };

/* One API table per kernel: P##_iova_* is that kernel's glue (peers.h). */
#define LX_IOVA_API(P)                                                                    \
	static void *P##_create(bool rcache) { return P##_iova_create(rcache); }          \
	static void P##_destroy(void *dom) { P##_iova_destroy(dom); }                     \
	static int P##_alloc(void *dom, uint64_t size, uint64_t limit, bool align,        \
			     uint64_t *pfn)                                               \
	{                                                                                 \
		return P##_iova_alloc(dom, size, limit, align, pfn);                      \
	}                                                                                 \
	static int P##_free(void *dom, uint64_t pfn, uint64_t size)                       \
	{                                                                                 \
		return P##_iova_free(dom, pfn, size);                                     \
	}                                                                                 \
	static const struct iova_api P##_api = { P##_create, P##_destroy, P##_alloc, P##_free };
BENCH_FOR_EACH_PEER(LX_IOVA_API)

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "iopt-bench: %s failed: %d\n", what, r);
		exit(1);
	}
}

BENCH_INLINE void *mkdom(const struct iova_api *a, bool rcache)
{
	void *dom = a->create(rcache);

	if (!dom) {
		fprintf(stderr, "iopt-bench: domain create failed\n");
		exit(1);
	}
	return dom;
}

BENCH_INLINE struct bench_result w_cached_pair(const struct iova_api *a)
{
	void *dom = mkdom(a, true);
	uint64_t pfn, n = bench_ops(5000000);
	double t0 = bench_begin();
	for (uint64_t i = 0; i < n; i++) {
		must(a->alloc(dom, 1, LIMIT32, true, &pfn), "alloc");
		must(a->free(dom, pfn, 1), "free");
	}
	double ns = bench_end(t0);
	a->destroy(dom);
	return (struct bench_result){ ns, n };
}

/* rounds x {alloc 512, free the 512 in allocation order}; sizes 1..32 when mixed. */
#define ROUNDS bench_ops(5000)
BENCH_INLINE double ring512(const struct iova_api *a, void *dom, unsigned rounds, int mixed)
{
	uint64_t pfns[512], sizes[512], seed = 0x9E3779B97F4A7C15ull;
	double t0 = bench_begin();
	for (unsigned r = 0; r < rounds; r++) {
		for (int i = 0; i < 512; i++) {
			sizes[i] = mixed ? 1ull << (bench_rand(&seed) % 6) : 1;
			must(a->alloc(dom, sizes[i], LIMIT32, true, &pfns[i]), "alloc");
		}
		for (int i = 0; i < 512; i++)
			must(a->free(dom, pfns[i], sizes[i]), "free");
	}
	return bench_end(t0);
}

BENCH_INLINE struct bench_result w_ring(const struct iova_api *a, int mixed)
{
	void *dom = mkdom(a, true);
	double ns = ring512(a, dom, (unsigned)ROUNDS, mixed);
	a->destroy(dom);
	return (struct bench_result){ ns, ROUNDS * 1024 };
}

BENCH_INLINE struct bench_result w_cached_ring512(const struct iova_api *a)
{
	return w_ring(a, 0);
}

BENCH_INLINE struct bench_result w_cached_mixed_sizes(const struct iova_api *a)
{
	return w_ring(a, 1);
}

BENCH_INLINE struct bench_result w_rbtree_fragmented(const struct iova_api *a)
{
	void *dom = mkdom(a, false);
	const uint64_t limit = (1ull << 36) - 1, nset = 200000, n = bench_ops(1000000);
	uint64_t seed = 42, *pfn = malloc(nset * sizeof(*pfn)), *sz = malloc(nset * sizeof(*sz));
	for (uint64_t i = 0; i < nset; i++) {
		sz[i] = 1 + bench_rand(&seed) % 32;
		must(a->alloc(dom, sz[i], limit, true, &pfn[i]), "alloc");
	}
	for (uint64_t i = 0; i < nset; i += 2)
		must(a->free(dom, pfn[i], sz[i]), "free");
	double t0 = bench_begin();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p, s = 1 + bench_rand(&seed) % 32;
		must(a->alloc(dom, s, limit, true, &p), "alloc");
		must(a->free(dom, p, s), "free");
	}
	double ns = bench_end(t0);
	a->destroy(dom);
	free(pfn);
	free(sz);
	return (struct bench_result){ ns, n };
}

BENCH_INLINE struct bench_result w_rbtree_worstcase(const struct iova_api *a)
{
	void *dom = mkdom(a, false);
	const uint64_t nset = 262144, iters = bench_ops(200);
	uint64_t p, top = 0;
	for (uint64_t i = 0; i < nset; i++) {
		must(a->alloc(dom, 1, LIMIT32, false, &p), "alloc");
		if (!i)
			top = p;
		if (i % 2 == 0)
			continue;
		must(a->free(dom, p, 1), "free");
	}
	/* 131,072 one-granule holes at the top; the topmost single is live at `top`. */
	double t0 = bench_begin();
	for (uint64_t i = 0; i < iters; i++) {
		must(a->free(dom, top, 1), "free");
		must(a->alloc(dom, 1, LIMIT32, false, &top), "alloc");
		must(a->alloc(dom, 4, LIMIT32, true, &p), "alloc4");
		must(a->free(dom, p, 4), "free4");
	}
	double ns = bench_end(t0);
	a->destroy(dom);
	return (struct bench_result){ ns, iters };
}

struct ring_thread {
	void *dom;
	pthread_barrier_t *go;
	double ns;
};

/* n threads each run ring512 on one shared domain; ns per op per thread (mean of rates). */
BENCH_INLINE struct bench_result w_threads(const struct iova_api *a, unsigned n,
					   void *(*main_fn)(void *))
{
	void *dom = mkdom(a, true);
	pthread_barrier_t go;
	pthread_t th[BENCH_MAX_THREADS];
	struct ring_thread rt[BENCH_MAX_THREADS];
	double sum = 0;
	pthread_barrier_init(&go, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		rt[i] = (struct ring_thread){ dom, &go, 0 };
		pthread_create(&th[i], NULL, main_fn, &rt[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		sum += rt[i].ns;
	}
	pthread_barrier_destroy(&go);
	a->destroy(dom);
	return (struct bench_result){ sum / n, ROUNDS * 1024 };
}

/* One set of entry points per API: the workload, then its threaded cases. */
#define IOVA_PEER(P, API)                                                                   \
	static struct bench_result cached_pair_##P(void) { return w_cached_pair(API); }   \
	static struct bench_result cached_ring512_##P(void) { return w_cached_ring512(API); } \
	static struct bench_result cached_mixed_sizes_##P(void)                            \
	{                                                                                  \
		return w_cached_mixed_sizes(API);                                          \
	}                                                                                  \
	static struct bench_result rbtree_fragmented_##P(void)                             \
	{                                                                                  \
		return w_rbtree_fragmented(API);                                           \
	}                                                                                  \
	static struct bench_result rbtree_worstcase_##P(void) { return w_rbtree_worstcase(API); } \
	static void *ring_main_##P(void *arg)                                              \
	{                                                                                  \
		struct ring_thread *rt = arg;                                              \
		pthread_barrier_wait(rt->go);                                              \
		rt->ns = ring512(API, rt->dom, (unsigned)ROUNDS, 0);                       \
		return NULL;                                                               \
	}                                                                                  \
	static struct bench_result threads2_ring512_##P(void)                              \
	{                                                                                  \
		return w_threads(API, 2, ring_main_##P);                                   \
	}                                                                                  \
	static struct bench_result threads_ring512_##P(void)                               \
	{                                                                                  \
		return w_threads(API, bench_threads, ring_main_##P);                       \
	}

IOVA_PEER(iopt, &iopt_api)
#define IOVA_LX(P) IOVA_PEER(P, &P##_api)
BENCH_FOR_EACH_PEER(IOVA_LX)

#define IOVA_ENTRY(C, UNIT, T) { "iova." #C, UNIT, C##_iopt, BENCH_PEERS(C), T }

const struct bench_case bench_iova_cases[] = {
	IOVA_ENTRY(cached_pair, "alloc+free pair, 1 granule", 0),
	IOVA_ENTRY(cached_ring512, "op (alloc or free)", 0),
	IOVA_ENTRY(cached_mixed_sizes, "op (alloc or free)", 0),
	IOVA_ENTRY(rbtree_fragmented, "alloc+free pair, tree only", 0),
	IOVA_ENTRY(rbtree_worstcase, "iteration (4 tree ops)", 0),
	IOVA_ENTRY(threads2_ring512, "op per thread", 0),
	IOVA_ENTRY(threads_ring512, "op per thread (--threads)", 1),
	{ 0 },
};
