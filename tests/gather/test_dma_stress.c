/* SPDX-License-Identifier: MIT */
/*
 * Stress: 4 threads map/unmap random buffers on one lazy DMA domain
 * (per-thread flush-queue rings) while a fifth thread drives the timeout
 * with iopt_flushq_poll. Every mapping translates to its buffer while live;
 * after destroy (drain) every IOVA is back and every table is freed with
 * the page table. Meant to run under TSan as well.
 */
#include "dma_fake.h"

#define THREADS 4
#define ITERS 30000
#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

static struct iopt_dma_domain *dom;
static struct iopt_pt *pt;
static _Atomic unsigned bad, done_threads;

static void *worker(void *arg)
{
	uint64_t seed = 0x1234 + (uintptr_t)arg, iova[16], size[16], phys[16], p;
	unsigned n = 0;

	for (int i = 0; i < ITERS; i++) {
		if (n < 16 && (n == 0 || test_xrand(&seed) % 2)) {
			size[n] = 1 + test_xrand(&seed) % (16 * 4096);
			phys[n] = (test_xrand(&seed) % (1ull << 32)) & ~3ull;
			if (iopt_dma_map(dom, phys[n], size[n], RW, 0xFFFFFFFFull, &iova[n])) {
				atomic_fetch_add(&bad, 1);
				continue;
			}
			n++;
		} else {
			unsigned k = (unsigned)(test_xrand(&seed) % n);

			if (iopt_pt_iova_to_phys(pt, iova[k] + size[k] - 1, &p) ||
			    p != phys[k] + size[k] - 1)
				atomic_fetch_add(&bad, 1);
			if (iopt_dma_unmap(dom, iova[k], size[k]))
				atomic_fetch_add(&bad, 1);
			n--;
			iova[k] = iova[n];
			size[k] = size[n];
			phys[k] = phys[n];
		}
	}
	while (n--)
		if (iopt_dma_unmap(dom, iova[n], size[n]))
			atomic_fetch_add(&bad, 1);
	atomic_fetch_add(&done_threads, 1);
	return NULL;
}

static void *poller(void *arg)
{
	struct iopt_flushq *fq = arg;
	uint64_t now = 0;

	while (atomic_load(&done_threads) < THREADS) {
		now += IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS / 4;
		iopt_flushq_poll(fq, now);
	}
	return NULL;
}

static uint64_t zero_clock(void *ctx)
{
	(void)ctx;
	return 0;
}

int main(void)
{
	struct test_prov tp;
	struct iopt_pt_cfg pc = { .format = IOPT_PT_X86_64, .ias = 48 };
	struct iopt_iova_domain *iovad;
	struct iopt_iova_stats st;
	struct fake f = { .track = false };
	pthread_t t[THREADS + 1];

	TEST("4 threads, lazy");
	test_prov_init(&tp);
	pc.provider = &tp.p;
	REQUIRE(iopt_pt_create(&pc, &pt) == 0);
	REQUIRE(iopt_iova_domain_create(NULL, &iovad) == 0);
	struct iopt_dma_cfg dc = { .pt = pt, .iovad = iovad, .mode = IOPT_DMA_LAZY,
				   .flags = IOPT_DMA_F_MSI_X86, .clock = zero_clock,
				   .ops = fake_ops(&f) };
	REQUIRE(iopt_dma_create(&dc, &dom) == 0);
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	pthread_create(&t[THREADS], NULL, poller, iopt_dma_flush_queue(dom));
	for (int i = 0; i <= THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(atomic_load(&bad), 0);
	CHECK(atomic_load(&f.flush_alls) > 0);
	iopt_dma_destroy(dom);
	iopt_iova_cache_flush(iovad);
	iopt_iova_stats(iovad, &st);
	CHECK_EQ(st.tree_nodes, st.reserved_nodes); /* every IOVA came back */
	CHECK_EQ(iopt_iova_check(iovad), 0);
	iopt_iova_domain_destroy(iovad);
	iopt_pt_free(pt);
	CHECK_EQ(atomic_load(&tp.live), 0);
	return tap_done();
}
