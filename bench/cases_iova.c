/* SPDX-License-Identifier: MIT */
/*
 * iova.* cases: granule 4 KiB, start pfn 1; "32-bit limit" = pfn 0xFFFFF.
 * The workloads are fixed by the issue that defined them so the Linux peer
 * runs the very same sequences.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <iopt/iova.h>

#include "bench.h"

#define LIMIT32 0xFFFFFull

static struct iopt_iova_domain *mkdom(unsigned flags)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *dom;
	iopt_iova_config_init(&cfg);
	cfg.flags = flags;
	if (iopt_iova_domain_create(&cfg, &dom)) {
		fprintf(stderr, "iopt-bench: domain create failed\n");
		exit(1);
	}
	return dom;
}

static void must(int r, const char *what)
{
	if (r) {
		fprintf(stderr, "iopt-bench: %s failed: %d\n", what, r);
		exit(1);
	}
}

static struct bench_result cached_pair(void)
{
	struct iopt_iova_domain *dom = mkdom(0);
	uint64_t pfn, n = 5000000;
	double t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		must(iopt_iova_alloc(dom, 1, LIMIT32, IOPT_IOVA_ALIGN, &pfn), "alloc");
		must(iopt_iova_free(dom, pfn, 1), "free");
	}
	double t1 = bench_now_ns();
	iopt_iova_domain_destroy(dom);
	return (struct bench_result){ t1 - t0, n };
}

/* rounds x {alloc 512, free the 512 in allocation order}; sizes from mask (0: all 1). */
static double ring512(struct iopt_iova_domain *dom, unsigned rounds, int mixed)
{
	uint64_t pfns[512], sizes[512], seed = 0x9E3779B97F4A7C15ull;
	double t0 = bench_now_ns();
	for (unsigned r = 0; r < rounds; r++) {
		for (int i = 0; i < 512; i++) {
			sizes[i] = mixed ? 1ull << (bench_rand(&seed) % 6) : 1;
			must(iopt_iova_alloc(dom, sizes[i], LIMIT32, IOPT_IOVA_ALIGN, &pfns[i]), "alloc");
		}
		for (int i = 0; i < 512; i++)
			must(iopt_iova_free(dom, pfns[i], sizes[i]), "free");
	}
	return bench_now_ns() - t0;
}

static struct bench_result cached_ring512(void)
{
	struct iopt_iova_domain *dom = mkdom(0);
	double ns = ring512(dom, 5000, 0);
	iopt_iova_domain_destroy(dom);
	return (struct bench_result){ ns, 5000ull * 1024 };
}

static struct bench_result cached_mixed_sizes(void)
{
	struct iopt_iova_domain *dom = mkdom(0);
	double ns = ring512(dom, 5000, 1);
	iopt_iova_domain_destroy(dom);
	return (struct bench_result){ ns, 5000ull * 1024 };
}

static struct bench_result rbtree_fragmented(void)
{
	struct iopt_iova_domain *dom = mkdom(IOPT_IOVA_NO_RCACHE);
	const uint64_t limit = (1ull << 36) - 1, nset = 200000, n = 1000000;
	uint64_t seed = 42, *pfn = malloc(nset * sizeof(*pfn)), *sz = malloc(nset * sizeof(*sz));
	for (uint64_t i = 0; i < nset; i++) {
		sz[i] = 1 + bench_rand(&seed) % 32;
		must(iopt_iova_alloc(dom, sz[i], limit, IOPT_IOVA_ALIGN, &pfn[i]), "alloc");
	}
	for (uint64_t i = 0; i < nset; i += 2)
		must(iopt_iova_free(dom, pfn[i], sz[i]), "free");
	double t0 = bench_now_ns();
	for (uint64_t i = 0; i < n; i++) {
		uint64_t p, s = 1 + bench_rand(&seed) % 32;
		must(iopt_iova_alloc(dom, s, limit, IOPT_IOVA_ALIGN, &p), "alloc");
		must(iopt_iova_free(dom, p, s), "free");
	}
	double t1 = bench_now_ns();
	iopt_iova_domain_destroy(dom);
	free(pfn);
	free(sz);
	return (struct bench_result){ t1 - t0, n };
}

static struct bench_result rbtree_worstcase(void)
{
	struct iopt_iova_domain *dom = mkdom(IOPT_IOVA_NO_RCACHE);
	const uint64_t nset = 262144, iters = 200;
	uint64_t p, top = 0;
	for (uint64_t i = 0; i < nset; i++) {
		must(iopt_iova_alloc(dom, 1, LIMIT32, 0, &p), "alloc");
		if (!i)
			top = p;
		if (i % 2 == 0)
			continue;
		must(iopt_iova_free(dom, p, 1), "free");
	}
	/* 131,072 one-granule holes at the top; the topmost single is live at `top`. */
	double t0 = bench_now_ns();
	for (uint64_t i = 0; i < iters; i++) {
		must(iopt_iova_free(dom, top, 1), "free");
		must(iopt_iova_alloc(dom, 1, LIMIT32, 0, &top), "alloc");
		must(iopt_iova_alloc(dom, 4, LIMIT32, IOPT_IOVA_ALIGN, &p), "alloc4");
		must(iopt_iova_free(dom, p, 4), "free4");
	}
	double t1 = bench_now_ns();
	iopt_iova_domain_destroy(dom);
	return (struct bench_result){ t1 - t0, iters };
}

struct ring_thread {
	struct iopt_iova_domain *dom;
	pthread_barrier_t *go;
	double ns;
};

static void *ring_thread_main(void *arg)
{
	struct ring_thread *rt = arg;
	pthread_barrier_wait(rt->go);
	rt->ns = ring512(rt->dom, 5000, 0);
	return NULL;
}

static struct bench_result threads2_ring512(void)
{
	struct iopt_iova_domain *dom = mkdom(0);
	pthread_barrier_t go;
	pthread_t th[2];
	struct ring_thread rt[2];
	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++) {
		rt[i] = (struct ring_thread){ dom, &go, 0 };
		pthread_create(&th[i], NULL, ring_thread_main, &rt[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	iopt_iova_domain_destroy(dom);
	/* ns per op per thread: the mean of the two threads' own rates. */
	return (struct bench_result){ (rt[0].ns + rt[1].ns) / 2, 5000ull * 1024 };
}

const struct bench_case bench_iova_cases[] = {
	{ "iova.cached_pair", "alloc+free pair, 1 granule", cached_pair },
	{ "iova.cached_ring512", "op (alloc or free)", cached_ring512 },
	{ "iova.cached_mixed_sizes", "op (alloc or free)", cached_mixed_sizes },
	{ "iova.rbtree_fragmented", "alloc+free pair, tree only", rbtree_fragmented },
	{ "iova.rbtree_worstcase", "iteration (4 tree ops)", rbtree_worstcase },
	{ "iova.threads2_ring512", "op per thread", threads2_ring512 },
	{ 0 },
};
