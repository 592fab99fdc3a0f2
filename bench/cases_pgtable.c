/* SPDX-License-Identifier: MIT */
/*
 * Page-table cases, for F in vtd_ss, x86_64, amd_v1, lpae_s1_4k: 48-bit
 * input, 4 levels, phys = iova + 2^32, prot read|write, default provider,
 * each repetition on a fresh table (creation timed in the map cases).
 *
 *   F.map_4k / F.unmap_4k          one 4 KiB page per call, sequential, 1 GiB
 *   F.map_256x4k / F.unmap_256x4k  4 KiB x 256 per call, sequential, 4 GiB
 *   F.map_2m / F.unmap_2m          one 2 MiB page per call, sequential, 64 GiB
 *   F.iova_to_phys                 2,000,000 lookups at random 4K-aligned
 *                                  IOVAs in 1 GiB mapped with 4 KiB pages
 *   F.map_Nx4k / F.unmap_Nx4k     N x 4 KiB per call, N = 2, 4, ..., 128, 512,
 *                                  sequential, 1 GiB: with map_4k (N = 1) and
 *                                  map_256x4k, the pages-per-call sweep
 * The unmap cases time the unmaps and the final gather sync; the mapping
 * they undo is built untimed. Teardown is never timed.
 *
 * Each workload is written once over struct pt_api and instantiated for iopt
 * and, with -Dpeers, for each kernel: x86_64 <-> amd/io_pgtable_v2.c,
 * amd_v1 <-> amd/io_pgtable.c, lpae_s1_4k <-> io-pgtable-arm.c ARM_64_LPAE_S1.
 * vtd_ss has no peer (the VT-d page table lives inside the Intel driver).
 * Under callgrind (bench_ops) the map/unmap ranges and the lookups shrink
 * 16-fold; the lookups still land in 1 GiB.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iopt/iopt.h>

#include "bench.h"
#include "bench_peers.h"

#define PHYS_OFF (1ull << 32)
#define PROT     (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define pt_unlikely_bench(x) __builtin_expect(!!(x), 0)

/* Formats by index: the iopt format and, per peer, its counterpart. */
enum { F_VTD_SS, F_X86_64, F_AMD_V1, F_LPAE_S1 };

struct pt_api {
	void *(*create)(int f);
	void (*destroy)(void *pt);
	int (*map)(void *pt, uint64_t va, uint64_t pa, uint64_t pgsize, uint64_t count);
	uint64_t (*unmap)(void *pt, uint64_t va, uint64_t pgsize, uint64_t count); /* bytes */
	void (*sync)(void *pt); /* flush what the unmaps gathered */
	uint64_t (*lookup)(void *pt, uint64_t va);
};

/* An iopt table with the gather its unmaps fill. */
struct ipt {
	struct iopt_pt *pt;
	struct iopt_gather g;
};

static void *i_create(int f)
{
	static const enum iopt_pt_format fmt[] = { IOPT_PT_VTD_SS, IOPT_PT_X86_64, IOPT_PT_AMD_V1,
						   IOPT_PT_LPAE_S1 };
	struct iopt_pt_cfg cfg = { .format = fmt[f], .ias = 48, .start_levels = 4, .granule_lg2 = 12 };
	struct ipt *t = malloc(sizeof(*t));

	if (!t || iopt_pt_create(&cfg, &t->pt)) {
		free(t);
		return NULL;
	}
	iopt_gather_init(&t->g, false, NULL, NULL);
	return t;
}

static void i_destroy(void *pt)
{
	struct ipt *t = pt;

	iopt_pt_free(t->pt);
	free(t);
}

static int i_map(void *pt, uint64_t va, uint64_t pa, uint64_t pgsize, uint64_t count)
{
	return iopt_pt_map_pages(((struct ipt *)pt)->pt, va, pa, pgsize, count, PROT, NULL);
}

static uint64_t i_unmap(void *pt, uint64_t va, uint64_t pgsize, uint64_t count)
{
	struct ipt *t = pt;
	uint64_t got = 0;

	iopt_pt_unmap_pages(t->pt, va, pgsize, count, &t->g, &got);
	return got;
}

static void i_sync(void *pt)
{
	iopt_gather_sync(&((struct ipt *)pt)->g);
}

static uint64_t i_lookup(void *pt, uint64_t va)
{
	uint64_t pa = 0;

	iopt_pt_iova_to_phys(((struct ipt *)pt)->pt, va, &pa);
	return pa;
}

static const struct pt_api iopt_api = { i_create, i_destroy, i_map, i_unmap, i_sync, i_lookup };

/* One API table per kernel: P##_pt_* is that kernel's glue (peers.h). */
#define LX_PT_API(P)                                                                      \
	static void *P##_new(int f)                                                       \
	{                                                                                 \
		static const enum lx_pt_fmt fmt[] = { 0, LX_PT_AMD_V2, LX_PT_AMD_V1,      \
						       LX_PT_ARM_S1 };                    \
		return P##_pt_create(fmt[f]);                                             \
	}                                                                                 \
	static void P##_destroy(void *pt) { P##_pt_free(pt); }                            \
	static int P##_map(void *pt, uint64_t va, uint64_t pa, uint64_t pgsize,           \
			   uint64_t count)                                                \
	{                                                                                 \
		return P##_pt_map(pt, va, pa, pgsize, count);                             \
	}                                                                                 \
	static uint64_t P##_unmap(void *pt, uint64_t va, uint64_t pgsize, uint64_t count) \
	{                                                                                 \
		return P##_pt_unmap(pt, va, pgsize, count);                               \
	}                                                                                 \
	static void P##_sync(void *pt) { P##_pt_sync(pt); }                               \
	static uint64_t P##_lookup(void *pt, uint64_t va) { return P##_pt_iova_to_phys(pt, va); } \
	static const struct pt_api P##_api = { P##_new, P##_destroy, P##_map, P##_unmap,  \
					       P##_sync, P##_lookup };
BENCH_FOR_EACH_PEER(LX_PT_API)

BENCH_INLINE void *bpt_new(const struct pt_api *a, int f)
{
	void *pt = a->create(f);

	if (!pt) {
		fprintf(stderr, "iopt-bench: page table create failed\n");
		exit(1);
	}
	return pt;
}

BENCH_INLINE void bpt_map_all(const struct pt_api *a, void *pt, uint64_t size, uint64_t pgsize)
{
	uint64_t per = pgsize == 4096 ? 512 : 1;

	for (uint64_t va = 0; va < size; va += per * pgsize)
		if (a->map(pt, va, va + PHYS_OFF, pgsize, per)) {
			fprintf(stderr, "iopt-bench: set-up map failed\n");
			exit(1);
		}
}

BENCH_INLINE struct bench_result bpt_map(const struct pt_api *a, int f, uint64_t size,
					 uint64_t pgsize, uint64_t count)
{
	uint64_t step = pgsize * count, n;

	size = bench_ops(size);
	n = size / step;
	double t0 = bench_begin();
	void *pt = bpt_new(a, f);

	for (uint64_t va = 0; va < size; va += step)
		if (pt_unlikely_bench(a->map(pt, va, va + PHYS_OFF, pgsize, count)))
			exit(1);
	double ns = bench_end(t0);

	a->destroy(pt);
	return (struct bench_result){ .ns = ns, .ops = n };
}

BENCH_INLINE struct bench_result bpt_unmap(const struct pt_api *a, int f, uint64_t size,
					   uint64_t pgsize, uint64_t count)
{
	uint64_t step = pgsize * count, n, sum = 0;
	void *pt = bpt_new(a, f);

	size = bench_ops(size);
	n = size / step;
	bpt_map_all(a, pt, size, pgsize);
	double t0 = bench_begin();

	for (uint64_t va = 0; va < size; va += step)
		sum += a->unmap(pt, va, pgsize, count);
	a->sync(pt);
	double ns = bench_end(t0);

	if (sum != size) {
		fprintf(stderr, "iopt-bench: unmapped %llu of %llu\n", (unsigned long long)sum,
			(unsigned long long)size);
		exit(1);
	}
	a->destroy(pt);
	return (struct bench_result){ .ns = ns, .ops = n };
}

BENCH_INLINE struct bench_result bpt_lookup(const struct pt_api *a, int f)
{
	const uint64_t size = 1ull << 30, n = bench_ops(2000000);
	void *pt = bpt_new(a, f);
	uint64_t seed = 0x9e3779b97f4a7c15ull, acc = 0;

	bpt_map_all(a, pt, size, 4096);
	double t0 = bench_begin();

	for (uint64_t i = 0; i < n; i++) {
		uint64_t va = (bench_rand(&seed) % (size >> 12)) << 12;

		acc += a->lookup(pt, va);
	}
	double ns = bench_end(t0);

	bench_keep(acc);
	if (acc == 0)
		exit(1);
	a->destroy(pt);
	return (struct bench_result){ .ns = ns, .ops = n };
}

#define GiB (1ull << 30)
#define SWEEP(F, P, FMT, API, N)                                                             \
	static struct bench_result F##_map_##N##x4k_##P(void) { return bpt_map(API, FMT, GiB, 4096, N); } \
	static struct bench_result F##_unmap_##N##x4k_##P(void)                               \
	{                                                                                     \
		return bpt_unmap(API, FMT, GiB, 4096, N);                                     \
	}
#define CASES(F, P, FMT, API)                                                                \
	static struct bench_result F##_map_4k_##P(void) { return bpt_map(API, FMT, GiB, 4096, 1); } \
	static struct bench_result F##_unmap_4k_##P(void) { return bpt_unmap(API, FMT, GiB, 4096, 1); } \
	static struct bench_result F##_map_256x4k_##P(void)                                   \
	{                                                                                     \
		return bpt_map(API, FMT, 4 * GiB, 4096, 256);                                 \
	}                                                                                     \
	static struct bench_result F##_unmap_256x4k_##P(void)                                 \
	{                                                                                     \
		return bpt_unmap(API, FMT, 4 * GiB, 4096, 256);                               \
	}                                                                                     \
	static struct bench_result F##_map_2m_##P(void)                                       \
	{                                                                                     \
		return bpt_map(API, FMT, 64 * GiB, 2ull << 20, 1);                            \
	}                                                                                     \
	static struct bench_result F##_unmap_2m_##P(void)                                     \
	{                                                                                     \
		return bpt_unmap(API, FMT, 64 * GiB, 2ull << 20, 1);                          \
	}                                                                                     \
	static struct bench_result F##_iova_to_phys_##P(void) { return bpt_lookup(API, FMT); } \
	SWEEP(F, P, FMT, API, 2) SWEEP(F, P, FMT, API, 4) SWEEP(F, P, FMT, API, 8)            \
	SWEEP(F, P, FMT, API, 16) SWEEP(F, P, FMT, API, 32) SWEEP(F, P, FMT, API, 64)         \
	SWEEP(F, P, FMT, API, 128) SWEEP(F, P, FMT, API, 512)

CASES(vtd_ss, iopt, F_VTD_SS, &iopt_api)
CASES(x86_64, iopt, F_X86_64, &iopt_api)
CASES(amd_v1, iopt, F_AMD_V1, &iopt_api)
CASES(lpae_s1_4k, iopt, F_LPAE_S1, &iopt_api)
#define LX_CASES(P)                                \
	CASES(x86_64, P, F_X86_64, &P##_api)       \
	CASES(amd_v1, P, F_AMD_V1, &P##_api)       \
	CASES(lpae_s1_4k, P, F_LPAE_S1, &P##_api)
BENCH_FOR_EACH_PEER(LX_CASES)

/* PEERS_F(fn): the peers' functions for a case of format F; vtd_ss has none. */
#define PEERS_vtd_ss(fn) BENCH_NO_PEER
#define PEERS_x86_64(fn) BENCH_PEERS(fn)
#define PEERS_amd_v1(fn) BENCH_PEERS(fn)
#define PEERS_lpae_s1_4k(fn) BENCH_PEERS(fn)
#define ENTRY(F, C, UNIT) { #F "." #C, UNIT, F##_##C##_iopt, PEERS_##F(F##_##C), 0 }
#define SWEEP_ENTRIES(F, N)                                \
	ENTRY(F, map_##N##x4k, "call (" #N " x 4K, 1 GiB)"), \
	ENTRY(F, unmap_##N##x4k, "call (" #N " x 4K, 1 GiB)")
#define ENTRIES(F)                                                                  \
	ENTRY(F, map_4k, "call (1 x 4K)"), ENTRY(F, unmap_4k, "call (1 x 4K)"),     \
	ENTRY(F, map_256x4k, "call (256 x 4K)"), ENTRY(F, unmap_256x4k, "call (256 x 4K)"), \
	ENTRY(F, map_2m, "call (1 x 2M)"), ENTRY(F, unmap_2m, "call (1 x 2M)"),     \
	ENTRY(F, iova_to_phys, "lookup")
#define SWEEPS(F)                                                                   \
	SWEEP_ENTRIES(F, 2), SWEEP_ENTRIES(F, 4), SWEEP_ENTRIES(F, 8), SWEEP_ENTRIES(F, 16), \
	SWEEP_ENTRIES(F, 32), SWEEP_ENTRIES(F, 64), SWEEP_ENTRIES(F, 128), SWEEP_ENTRIES(F, 512)

const struct bench_case bench_pgtable_cases[] = {
	ENTRIES(vtd_ss),
	ENTRIES(x86_64),
	ENTRIES(amd_v1),
	ENTRIES(lpae_s1_4k),
	SWEEPS(vtd_ss),
	SWEEPS(x86_64),
	SWEEPS(amd_v1),
	SWEEPS(lpae_s1_4k),
	{ 0 },
};
