/* SPDX-License-Identifier: MIT */
/*
 * Multi-thread stress: 6 threads allocate and free random sizes (1..40:
 * cached and tree paths) on one rcache domain while another thread keeps
 * flushing, reclaiming and reading stats. A shared per-pfn owner map catches
 * any range handed out twice; at the end the space must be whole again.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include <iopt/iova.h>

#include "tap.h"

#define END (1u << 16)
#define THREADS 6

static _Atomic unsigned char owner[END + 64];
static struct iopt_iova_domain *dom;
static atomic_int overlaps, bad_frees, stop;
static unsigned iters;

/* What the allocator really reserves: cached sizes round to a power of two. */
static uint64_t held(uint64_t size)
{
	uint64_t p = 1;
	if (size > IOPT_IOVA_CACHE_MAX_SIZE)
		return size;
	while (p < size)
		p <<= 1;
	return p;
}

static void claim(uint64_t pfn, uint64_t size, unsigned char v)
{
	for (uint64_t j = 0; j < held(size); j++)
		if (v ? atomic_exchange(&owner[pfn + j], v) != 0 : (atomic_store(&owner[pfn + j], 0), 0))
			atomic_fetch_add(&overlaps, 1);
}

static void *worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9E3779B97F4A7C15ull + 1, pfn[256], size[256];
	unsigned n = 0, me = (unsigned)(uintptr_t)arg;
	/* Odd threads exit early: their caches must flow back while others run. */
	unsigned todo = me & 1 ? iters / 3 : iters;

	for (unsigned it = 0; it < todo; it++) {
		if (n < 256 && (!n || test_xrand(&seed) % 2)) {
			uint64_t s = 1 + test_xrand(&seed) % 40, limit = END / 2 + test_xrand(&seed) % (END / 2);
			if (iopt_iova_alloc(dom, s, limit, IOPT_IOVA_ALIGN, &pfn[n]))
				continue;
			if (pfn[n] + held(s) - 1 > limit)
				atomic_fetch_add(&overlaps, 1);
			claim(pfn[n], s, (unsigned char)me);
			size[n++] = s;
		} else {
			unsigned k = (unsigned)(test_xrand(&seed) % n);
			claim(pfn[k], size[k], 0);
			if (iopt_iova_free(dom, pfn[k], size[k]))
				atomic_fetch_add(&bad_frees, 1);
			pfn[k] = pfn[--n];
			size[k] = size[n];
		}
	}
	while (n--) {
		claim(pfn[n], size[n], 0);
		if (iopt_iova_free(dom, pfn[n], size[n]))
			atomic_fetch_add(&bad_frees, 1);
	}
	return NULL;
}

static void *flusher(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		struct iopt_iova_stats st;
		iopt_iova_cache_flush(dom);
		(void)iopt_iova_cache_reclaim(dom);
		iopt_iova_stats(dom, &st);
		for (int i = 0; i < 2000 && !atomic_load(&stop); i++)
			__asm__ volatile("" ::: "memory"); /* let the workers run between flushes */
	}
	return NULL;
}

int main(void)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_stats st;
	pthread_t th[THREADS], fl;
	uint64_t pfn;

	iters = getenv("CI") ? 100000 : 200000;
	iopt_iova_config_init(&cfg);
	cfg.end_pfn = END;
	REQUIRE(iopt_iova_domain_create(&cfg, &dom) == 0);

	pthread_create(&fl, NULL, flusher, NULL);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, worker, (void *)(i + 1));
	for (int i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(fl, NULL);

	TEST("no range handed out twice, every free accepted");
	CHECK_EQ(atomic_load(&overlaps), 0);
	CHECK_EQ(atomic_load(&bad_frees), 0);

	TEST("full accounting after the last free");
	iopt_iova_cache_flush(dom);
	iopt_iova_stats(dom, &st);
	CHECK_EQ(st.tree_nodes, 0);
	CHECK_EQ(st.cache_pfns, 0);
	CHECK(st.flushes > 0);
	CHECK_EQ(iopt_iova_check(dom), 0);
	CHECK_EQ(iopt_iova_alloc(dom, END, END, 0, &pfn), 0); /* the whole space is one block again */
	CHECK_EQ(pfn, 1);
	iopt_iova_domain_destroy(dom);
	return tap_done();
}
