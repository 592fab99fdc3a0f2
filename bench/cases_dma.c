/* SPDX-License-Identifier: MIT */
/*
 * dma.* cases: map + unmap of one 4 KiB buffer on an x86_64 table (48-bit)
 * and a default IOVA domain, 32-bit DMA mask, in command mode for VT-d
 * first stage (PASID-based descriptors, PSI, MAMV 9): the layer plans real
 * descriptors; the driver's queue costs nothing (it only counts).
 * Commands and waits per unmap go to stderr.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <iopt/dma.h>

#include "bench.h"

#define PAIRS 2000000ull
#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

struct bdrv {
	_Atomic uint64_t cmds, waits;
};

static void b_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	struct bdrv *d = ctx;

	(void)cmds;
	atomic_fetch_add_explicit(&d->cmds, n, memory_order_relaxed);
}

static void b_wait(void *ctx)
{
	struct bdrv *d = ctx;

	atomic_fetch_add_explicit(&d->waits, 1, memory_order_relaxed);
}

struct bsetup {
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
	struct iopt_dma_domain *dom;
	struct bdrv drv;
};

static void b_up(struct bsetup *s, enum iopt_dma_mode mode, unsigned flags)
{
	struct iopt_pt_cfg pc = { .format = IOPT_PT_X86_64, .ias = 48 };

	atomic_init(&s->drv.cmds, 0);
	atomic_init(&s->drv.waits, 0);
	struct iopt_dma_cfg dc = {
		.mode = mode,
		.flags = IOPT_DMA_F_MSI_X86 | flags,
		.ops = { .submit = b_submit, .wait = b_wait, .ctx = &s->drv },
		.inv = { .vendor = IOPT_INV_VTD,
			 .caps.vtd = { .psi = true, .mamv = 9 },
			 .scope.vtd = { .domain = 1, .has_pasid = true, .pasid = 1 } },
	};
	if (iopt_pt_create(&pc, &s->pt) || iopt_iova_domain_create(NULL, &s->iovad)) {
		fprintf(stderr, "iopt-bench: setup failed\n");
		exit(1);
	}
	dc.pt = s->pt;
	dc.iovad = s->iovad;
	if (iopt_dma_create(&dc, &s->dom)) {
		fprintf(stderr, "iopt-bench: dma create failed\n");
		exit(1);
	}
}

static void b_down(struct bsetup *s, const char *name, uint64_t unmaps)
{
	fprintf(stderr, "%s: %.5f commands/unmap, %.5f waits/unmap\n", name,
		(double)atomic_load(&s->drv.cmds) / (double)unmaps,
		(double)atomic_load(&s->drv.waits) / (double)unmaps);
	iopt_dma_destroy(s->dom);
	iopt_iova_domain_destroy(s->iovad);
	iopt_pt_free(s->pt);
}

static double b_pairs(struct iopt_dma_domain *dom, uint64_t n, uint64_t phys)
{
	uint64_t iova;
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < n; i++) {
		if (iopt_dma_map(dom, phys, 4096, RW, 0xFFFFFFFFull, &iova) ||
		    iopt_dma_unmap(dom, iova, 4096)) {
			fprintf(stderr, "iopt-bench: map/unmap failed\n");
			exit(1);
		}
	}
	return bench_now_ns() - t0;
}

static struct bench_result b_single(enum iopt_dma_mode mode, unsigned flags, const char *name)
{
	struct bsetup s;
	double ns;

	b_up(&s, mode, flags);
	b_pairs(s.dom, 1000, 0x100000); /* warm: tables and caches in place */
	atomic_store(&s.drv.cmds, 0);
	atomic_store(&s.drv.waits, 0);
	ns = b_pairs(s.dom, PAIRS, 0x100000);
	b_down(&s, name, PAIRS);
	return (struct bench_result){ ns, PAIRS };
}

static struct bench_result map_unmap_4k_strict(void)
{
	return b_single(IOPT_DMA_STRICT, 0, "dma.map_unmap_4k_strict");
}

static struct bench_result map_unmap_4k_lazy(void)
{
	return b_single(IOPT_DMA_LAZY, 0, "dma.map_unmap_4k_lazy");
}

/* The same with IOPT_DMA_F_TRUSTED: no IOVA-tree lookup on unmap. */
static struct bench_result trusted_strict(void)
{
	return b_single(IOPT_DMA_STRICT, IOPT_DMA_F_TRUSTED, "dma.trusted_map_unmap_4k_strict");
}

static struct bench_result trusted_lazy(void)
{
	return b_single(IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED, "dma.trusted_map_unmap_4k_lazy");
}

struct bthread {
	struct iopt_dma_domain *dom;
	pthread_barrier_t *go;
	uint64_t phys;
	double ns;
};

static void *b_thread_main(void *arg)
{
	struct bthread *t = arg;

	b_pairs(t->dom, 1000, t->phys);
	pthread_barrier_wait(t->go);
	t->ns = b_pairs(t->dom, PAIRS, t->phys);
	return NULL;
}

static struct bench_result b_threads2(unsigned flags, const char *name)
{
	struct bsetup s;
	struct bthread bt[2];
	pthread_barrier_t go;
	pthread_t th[2];

	b_up(&s, IOPT_DMA_LAZY, flags);
	pthread_barrier_init(&go, NULL, 2);
	for (int i = 0; i < 2; i++) {
		bt[i] = (struct bthread){ s.dom, &go, 0x100000 + 0x1000 * (uint64_t)i, 0 };
		pthread_create(&th[i], NULL, b_thread_main, &bt[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	pthread_barrier_destroy(&go);
	b_down(&s, name, 2 * (PAIRS + 1000));
	/* ns per pair per thread: the mean of the two threads' own rates. */
	return (struct bench_result){ (bt[0].ns + bt[1].ns) / 2, PAIRS };
}

static struct bench_result map_unmap_4k_lazy_threads2(void)
{
	return b_threads2(0, "dma.map_unmap_4k_lazy_threads2");
}

static struct bench_result trusted_lazy_threads2(void)
{
	return b_threads2(IOPT_DMA_F_TRUSTED, "dma.trusted_map_unmap_4k_lazy_threads2");
}

const struct bench_case bench_dma_cases[] = {
	{ "dma.map_unmap_4k_strict", "map+unmap pair (commands/unmap on stderr)",
	  map_unmap_4k_strict },
	{ "dma.map_unmap_4k_lazy", "map+unmap pair (commands/unmap on stderr)", map_unmap_4k_lazy },
	{ "dma.map_unmap_4k_lazy_threads2", "map+unmap pair per thread (2 threads)",
	  map_unmap_4k_lazy_threads2 },
	{ "dma.trusted_map_unmap_4k_strict", "pair, IOPT_DMA_F_TRUSTED", trusted_strict },
	{ "dma.trusted_map_unmap_4k_lazy", "pair, IOPT_DMA_F_TRUSTED", trusted_lazy },
	{ "dma.trusted_map_unmap_4k_lazy_threads2", "pair per thread, IOPT_DMA_F_TRUSTED",
	  trusted_lazy_threads2 },
	{ 0 },
};
