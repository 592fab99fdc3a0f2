/* SPDX-License-Identifier: MIT */
/*
 * dma.* cases: map + unmap of one 4 KiB buffer on an x86_64 table (48-bit)
 * and a default IOVA domain, 32-bit DMA mask, in command mode for VT-d
 * first stage (PASID-based descriptors, PSI, MAMV 9): the layer plans real
 * descriptors; the driver's queue costs nothing (it only counts).
 * Commands and waits per unmap go to stderr.
 *
 * The pair loop is written once over struct dma_api. With -Dpeers every
 * case also runs on each kernel's peer: dma-iommu.c's own __iommu_dma_map /
 * __iommu_dma_unmap (and, lazy, its flush queue) over iova.c and
 * amd/io_pgtable_v2.c (peers.h, LX(dma_*)). Linux never looks the IOVA up
 * on unmap, so the trusted cases have the same peers as the others.
 * Under callgrind (bench_ops) each thread runs 1/16 of the pairs.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include <iopt/dma.h>

#include "bench.h"
#include "bench_peers.h"

#define PAIRS bench_ops(2000000)
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

/* One API table per kernel: P##_dma_* is that kernel's glue (peers.h). */
#define LX_DMA_API(P)                                                                     \
	static void *P##_up(enum iopt_dma_mode mode, unsigned flags)                      \
	{                                                                                 \
		struct lx_dma *d = P##_dma_create(mode == IOPT_DMA_LAZY);                 \
                                                                                          \
		(void)flags;                                                              \
		if (!d) {                                                                 \
			fprintf(stderr, "iopt-bench: %s dma create failed\n", BENCH_NAME_##P); \
			exit(1);                                                          \
		}                                                                         \
		return d;                                                                 \
	}                                                                                 \
	static void P##_down(void *s, const char *name, uint64_t unmaps)                  \
	{                                                                                 \
		fprintf(stderr, "%s (%s): %.5f flushes/unmap\n", name, BENCH_NAME_##P,   \
			(double)P##_dma_flushes(s) / (double)unmaps);                     \
		P##_dma_destroy(s);                                                       \
	}                                                                                 \
	static int P##_map(void *s, uint64_t phys, uint64_t *iova)                        \
	{                                                                                 \
		return P##_dma_map(s, phys, 4096, 0xFFFFFFFFull, iova);                   \
	}                                                                                 \
	static int P##_unmap(void *s, uint64_t iova) { return P##_dma_unmap(s, iova, 4096); } \
	static const struct dma_api P##_api = { P##_up, P##_down, P##_map, P##_unmap };
BENCH_FOR_EACH_PEER(LX_DMA_API)

BENCH_INLINE void b_pairs(const struct dma_api *a, void *s, uint64_t n, uint64_t phys)
{
	uint64_t iova;

	for (uint64_t i = 0; i < n; i++) {
		if (a->map(s, phys, &iova) || a->unmap(s, iova)) {
			fprintf(stderr, "iopt-bench: map/unmap failed\n");
			exit(1);
		}
	}
}

/* n pairs, after 1000 untimed ones that put tables and caches in place. */
BENCH_INLINE double b_timed_pairs(const struct dma_api *a, void *s, uint64_t n, uint64_t phys)
{
	b_pairs(a, s, 1000, phys);
	double t0 = bench_begin();

	b_pairs(a, s, n, phys);
	return bench_end(t0);
}

BENCH_INLINE struct bench_result b_single(const struct dma_api *a, enum iopt_dma_mode mode,
					  unsigned flags, const char *name)
{
	void *s = a->up(mode, flags);
	double ns = b_timed_pairs(a, s, PAIRS, 0x100000);

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

/* One side's thread body: warm, wait for the others, then the timed pairs. */
#define DMA_THREAD_MAIN(P)                                          \
	static void *thread_main_##P(void *arg)                     \
	{                                                           \
		struct bthread *t = arg;                            \
		b_pairs(&P##_api, t->s, 1000, t->phys);             \
		pthread_barrier_wait(t->go);                        \
		double t0 = bench_begin();                          \
		b_pairs(&P##_api, t->s, PAIRS, t->phys);            \
		t->ns = bench_end(t0);                              \
		return NULL;                                        \
	}

/*
 * Every dma.* case, in table order: X(P, function stem, name, unit, mode,
 * flags, threads (0: one, no thread of its own), thread-scaling).
 * IOPT_DMA_F_TRUSTED: no IOVA-tree lookup on unmap.
 */
#define DMA_LIST(X, P)                                                                         \
	X(P, strict, "map_unmap_4k_strict", "map+unmap pair (commands/unmap on stderr)",      \
	  IOPT_DMA_STRICT, 0, 0, 0)                                                           \
	X(P, lazy, "map_unmap_4k_lazy", "map+unmap pair (commands/unmap on stderr)",          \
	  IOPT_DMA_LAZY, 0, 0, 0)                                                             \
	X(P, lazy_threads2, "map_unmap_4k_lazy_threads2", "map+unmap pair per thread (2 threads)", \
	  IOPT_DMA_LAZY, 0, 2, 0)                                                             \
	X(P, trusted_strict, "trusted_map_unmap_4k_strict", "pair, IOPT_DMA_F_TRUSTED",       \
	  IOPT_DMA_STRICT, IOPT_DMA_F_TRUSTED, 0, 0)                                          \
	X(P, trusted_lazy, "trusted_map_unmap_4k_lazy", "pair, IOPT_DMA_F_TRUSTED",           \
	  IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED, 0, 0)                                            \
	X(P, trusted_lazy_threads2, "trusted_map_unmap_4k_lazy_threads2",                     \
	  "pair per thread, IOPT_DMA_F_TRUSTED", IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED, 2, 0)     \
	X(P, strict_threads, "map_unmap_4k_strict_threads",                                   \
	  "map+unmap pair per thread (--threads)", IOPT_DMA_STRICT, 0, bench_threads, 1)      \
	X(P, lazy_threads, "map_unmap_4k_lazy_threads", "map+unmap pair per thread (--threads)", \
	  IOPT_DMA_LAZY, 0, bench_threads, 1)                                                 \
	X(P, trusted_lazy_threads, "trusted_map_unmap_4k_lazy_threads",                       \
	  "pair per thread, TRUSTED (--threads)", IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED,          \
	  bench_threads, 1)

#define DMA_FN(P, FN, NAME, UNIT, MODE, FLAGS, THREADS, SCALING)                              \
	static struct bench_result FN##_##P(void)                                             \
	{                                                                                     \
		if (THREADS)                                                                  \
			return b_threads(&P##_api, THREADS, MODE, FLAGS, "dma." NAME,         \
					 thread_main_##P);                                    \
		return b_single(&P##_api, MODE, FLAGS, "dma." NAME);                          \
	}
#define DMA_SIDE(P) DMA_THREAD_MAIN(P) DMA_LIST(DMA_FN, P)

DMA_SIDE(iopt)
BENCH_FOR_EACH_PEER(DMA_SIDE)

#define DMA_ENTRY(P, FN, NAME, UNIT, MODE, FLAGS, THREADS, SCALING) \
	{ "dma." NAME, UNIT, FN##_iopt, BENCH_PEERS(FN), SCALING },

const struct bench_case bench_dma_cases[] = {
	DMA_LIST(DMA_ENTRY, iopt)
	{ 0 },
};
