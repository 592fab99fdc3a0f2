/* SPDX-License-Identifier: MIT */
/*
 * dma.* cases: map + unmap of one 4 KiB buffer on an x86_64 table (48-bit)
 * and a default IOVA domain, 32-bit DMA mask, in command mode for VT-d
 * first stage (PASID-based descriptors, PSI, MAMV 9): the layer plans real
 * descriptors; the driver's queue costs nothing (it only counts).
 * Commands and waits per unmap go to stderr.
 *
 * The pair loop is written once over struct dma_api. With -Dpeers=linux61
 * the strict cases also run on the Linux 6.1 peer: dma-iommu.c's strict
 * path assembled from iova.c and amd/io_pgtable_v2.c (peers.h, lx_dma_*).
 * Linux never looks the IOVA up on unmap, so the trusted strict cases have
 * the same peer; lazy mode has none (6.1's flush queue is in dma-iommu.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <iopt/dma.h>

#include "bench.h"
#ifdef IOPT_BENCH_PEER_LINUX61
#include "peers.h"
#endif

#define PAIRS 2000000ull
#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

/*
 * The fake driver counts with one shared atomic per completed invalidation,
 * as the Linux peer's counted flush does: waits in the top 24 bits, the
 * commands submitted since this thread's last wait below them. More shared
 * writes would make the threaded cases time the counter, not the library.
 */
#define WAIT_ONE (1ull << 40)

struct bdrv {
	_Atomic uint64_t packed;
};

static __thread uint64_t t_cmds;

static void b_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	(void)ctx;
	(void)cmds;
	t_cmds += n;
}

static void b_wait(void *ctx)
{
	struct bdrv *d = ctx;

	atomic_fetch_add_explicit(&d->packed, WAIT_ONE | t_cmds, memory_order_relaxed);
	t_cmds = 0;
}

/* One DMA domain of either peer; mode and flags only mean something to iopt. */
struct bsetup {
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
	struct iopt_dma_domain *dom;
	struct bdrv drv;
};

struct dma_api {
	void *(*up)(enum iopt_dma_mode mode, unsigned flags);
	void (*down)(void *s, const char *name, uint64_t unmaps);
	int (*map)(void *s, uint64_t phys, uint64_t *iova);
	int (*unmap)(void *s, uint64_t iova);
};

static void *i_up(enum iopt_dma_mode mode, unsigned flags)
{
	struct bsetup *s = calloc(1, sizeof(*s));
	struct iopt_pt_cfg pc = { .format = IOPT_PT_X86_64, .ias = 48 };

	if (!s) {
		fprintf(stderr, "iopt-bench: out of memory\n");
		exit(1);
	}
	atomic_init(&s->drv.packed, 0);
	struct iopt_dma_cfg dc = {
		.mode = mode,
		.flags = IOPT_DMA_F_MSI_X86 | flags,
		.ops = { .submit = b_submit, .wait = b_wait, .ctx = &s->drv },
		.inv = { .vendor = IOPT_INV_VTD,
			 .caps.vtd = { .psi = true, .mamv = 9, .scalable = true },
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
	return s;
}

static void i_down(void *p, const char *name, uint64_t unmaps)
{
	struct bsetup *s = p;

	fprintf(stderr, "%s: %.5f commands/unmap, %.5f waits/unmap\n", name,
		(double)(atomic_load(&s->drv.packed) & (WAIT_ONE - 1)) / (double)unmaps,
		(double)(atomic_load(&s->drv.packed) >> 40) / (double)unmaps);
	iopt_dma_destroy(s->dom);
	iopt_iova_domain_destroy(s->iovad);
	iopt_pt_free(s->pt);
	free(s);
}

static int i_map(void *s, uint64_t phys, uint64_t *iova)
{
	return iopt_dma_map(((struct bsetup *)s)->dom, phys, 4096, RW, 0xFFFFFFFFull, iova);
}

static int i_unmap(void *s, uint64_t iova)
{
	return iopt_dma_unmap(((struct bsetup *)s)->dom, iova, 4096);
}

static const struct dma_api iopt_api = { i_up, i_down, i_map, i_unmap };

#ifdef IOPT_BENCH_PEER_LINUX61
static void *l_up(enum iopt_dma_mode mode, unsigned flags)
{
	struct lx_dma *d = lx_dma_create();

	(void)mode;
	(void)flags;
	if (!d) {
		fprintf(stderr, "iopt-bench: linux dma create failed\n");
		exit(1);
	}
	return d;
}

static void l_down(void *s, const char *name, uint64_t unmaps)
{
	fprintf(stderr, "%s (linux-6.1): %.5f flushes/unmap\n", name,
		(double)lx_dma_flushes(s) / (double)unmaps);
	lx_dma_destroy(s);
}

static int l_map(void *s, uint64_t phys, uint64_t *iova)
{
	return lx_dma_map(s, phys, 4096, 0xFFFFFFFFull, iova);
}

static int l_unmap(void *s, uint64_t iova)
{
	return lx_dma_unmap(s, iova, 4096);
}

static const struct dma_api lx_api = { l_up, l_down, l_map, l_unmap };
#endif

BENCH_INLINE double b_pairs(const struct dma_api *a, void *s, uint64_t n, uint64_t phys)
{
	uint64_t iova;
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < n; i++) {
		if (a->map(s, phys, &iova) || a->unmap(s, iova)) {
			fprintf(stderr, "iopt-bench: map/unmap failed\n");
			exit(1);
		}
	}
	return bench_now_ns() - t0;
}

BENCH_INLINE struct bench_result b_single(const struct dma_api *a, enum iopt_dma_mode mode,
					  unsigned flags, const char *name)
{
	void *s = a->up(mode, flags);

	b_pairs(a, s, 1000, 0x100000); /* warm: tables and caches in place */
	double ns = b_pairs(a, s, PAIRS, 0x100000);
	a->down(s, name, PAIRS + 1000);
	return (struct bench_result){ ns, PAIRS };
}

struct bthread {
	void *s;
	pthread_barrier_t *go;
	uint64_t phys;
	double ns;
};

/* n threads map+unmap their own buffer on one domain; ns per pair per thread (mean). */
BENCH_INLINE struct bench_result b_threads(const struct dma_api *a, unsigned n,
					   enum iopt_dma_mode mode, unsigned flags,
					   const char *name, void *(*main_fn)(void *))
{
	struct bthread bt[BENCH_MAX_THREADS];
	pthread_barrier_t go;
	pthread_t th[BENCH_MAX_THREADS];
	void *s = a->up(mode, flags);
	double sum = 0;

	pthread_barrier_init(&go, NULL, n);
	for (unsigned i = 0; i < n; i++) {
		bt[i] = (struct bthread){ s, &go, 0x100000 + 0x1000 * (uint64_t)i, 0 };
		pthread_create(&th[i], NULL, main_fn, &bt[i]);
	}
	for (unsigned i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		sum += bt[i].ns;
	}
	pthread_barrier_destroy(&go);
	a->down(s, name, n * (PAIRS + 1000));
	return (struct bench_result){ sum / n, PAIRS };
}

#define DMA_THREAD_MAIN(P, API)                                     \
	static void *thread_main_##P(void *arg)                     \
	{                                                           \
		struct bthread *t = arg;                            \
		b_pairs(API, t->s, 1000, t->phys);                  \
		pthread_barrier_wait(t->go);                        \
		t->ns = b_pairs(API, t->s, PAIRS, t->phys);         \
		return NULL;                                        \
	}

DMA_THREAD_MAIN(iopt, &iopt_api)
#ifdef IOPT_BENCH_PEER_LINUX61
DMA_THREAD_MAIN(lx, &lx_api)
#endif

#define STRICT(P, API)                                                                        \
	static struct bench_result strict_##P(void)                                           \
	{                                                                                     \
		return b_single(API, IOPT_DMA_STRICT, 0, "dma.map_unmap_4k_strict");          \
	}                                                                                     \
	static struct bench_result trusted_strict_##P(void)                                   \
	{                                                                                     \
		return b_single(API, IOPT_DMA_STRICT, IOPT_DMA_F_TRUSTED,                     \
				"dma.trusted_map_unmap_4k_strict");                           \
	}                                                                                     \
	static struct bench_result strict_threads_##P(void)                                   \
	{                                                                                     \
		return b_threads(API, bench_threads, IOPT_DMA_STRICT, 0,                      \
				 "dma.map_unmap_4k_strict_threads", thread_main_##P);          \
	}

STRICT(iopt, &iopt_api)
#ifdef IOPT_BENCH_PEER_LINUX61
STRICT(lx, &lx_api)
#endif

static struct bench_result lazy(void)
{
	return b_single(&iopt_api, IOPT_DMA_LAZY, 0, "dma.map_unmap_4k_lazy");
}

/* The same with IOPT_DMA_F_TRUSTED: no IOVA-tree lookup on unmap. */
static struct bench_result trusted_lazy(void)
{
	return b_single(&iopt_api, IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED,
			"dma.trusted_map_unmap_4k_lazy");
}

static struct bench_result lazy_threads2(void)
{
	return b_threads(&iopt_api, 2, IOPT_DMA_LAZY, 0, "dma.map_unmap_4k_lazy_threads2",
			 thread_main_iopt);
}

static struct bench_result trusted_lazy_threads2(void)
{
	return b_threads(&iopt_api, 2, IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED,
			 "dma.trusted_map_unmap_4k_lazy_threads2", thread_main_iopt);
}

static struct bench_result lazy_threads(void)
{
	return b_threads(&iopt_api, bench_threads, IOPT_DMA_LAZY, 0,
			 "dma.map_unmap_4k_lazy_threads", thread_main_iopt);
}

static struct bench_result trusted_lazy_threads(void)
{
	return b_threads(&iopt_api, bench_threads, IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED,
			 "dma.trusted_map_unmap_4k_lazy_threads", thread_main_iopt);
}

const struct bench_case bench_dma_cases[] = {
	{ "dma.map_unmap_4k_strict", "map+unmap pair (commands/unmap on stderr)", strict_iopt,
	  BENCH_PEER(strict_lx), 0 },
	{ "dma.map_unmap_4k_lazy", "map+unmap pair (commands/unmap on stderr)", lazy, NULL, 0 },
	{ "dma.map_unmap_4k_lazy_threads2", "map+unmap pair per thread (2 threads)",
	  lazy_threads2, NULL, 0 },
	{ "dma.trusted_map_unmap_4k_strict", "pair, IOPT_DMA_F_TRUSTED", trusted_strict_iopt,
	  BENCH_PEER(trusted_strict_lx), 0 },
	{ "dma.trusted_map_unmap_4k_lazy", "pair, IOPT_DMA_F_TRUSTED", trusted_lazy, NULL, 0 },
	{ "dma.trusted_map_unmap_4k_lazy_threads2", "pair per thread, IOPT_DMA_F_TRUSTED",
	  trusted_lazy_threads2, NULL, 0 },
	/* Thread-scaling cases (--threads). */
	{ "dma.map_unmap_4k_strict_threads", "map+unmap pair per thread (--threads)",
	  strict_threads_iopt, BENCH_PEER(strict_threads_lx), 1 },
	{ "dma.map_unmap_4k_lazy_threads", "map+unmap pair per thread (--threads)", lazy_threads,
	  NULL, 1 },
	{ "dma.trusted_map_unmap_4k_lazy_threads", "pair per thread, TRUSTED (--threads)",
	  trusted_lazy_threads, NULL, 1 },
	{ 0 },
};
