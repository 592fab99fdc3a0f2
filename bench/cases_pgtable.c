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
 * The unmap cases time the unmaps and the final gather sync; the mapping
 * they undo is built untimed. Teardown is never timed.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iopt/iopt.h>

#include "bench.h"

#define PHYS_OFF (1ull << 32)
#define PROT     (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define pt_unlikely_bench(x) __builtin_expect(!!(x), 0)

static struct iopt_pt *bpt_new(enum iopt_pt_format f)
{
	struct iopt_pt_cfg cfg = { .format = f, .ias = 48, .start_levels = 4, .granule_lg2 = 12 };
	struct iopt_pt *pt;

	if (iopt_pt_create(&cfg, &pt)) {
		fprintf(stderr, "iopt-bench: iopt_pt_create failed\n");
		exit(1);
	}
	return pt;
}

static void bpt_map_all(struct iopt_pt *pt, uint64_t size, uint64_t pgsize)
{
	uint64_t per = pgsize == 4096 ? 512 : 1;

	for (uint64_t va = 0; va < size; va += per * pgsize)
		if (iopt_pt_map_pages(pt, va, va + PHYS_OFF, pgsize, per, PROT, NULL)) {
			fprintf(stderr, "iopt-bench: set-up map failed\n");
			exit(1);
		}
}

static struct bench_result bpt_map(enum iopt_pt_format f, uint64_t size, uint64_t pgsize,
				   uint64_t count)
{
	uint64_t step = pgsize * count, n = size / step;
	double t0 = bench_now_ns();
	struct iopt_pt *pt = bpt_new(f);

	for (uint64_t va = 0; va < size; va += step)
		if (pt_unlikely_bench(iopt_pt_map_pages(pt, va, va + PHYS_OFF, pgsize, count, PROT, NULL)))
			exit(1);
	double t1 = bench_now_ns();

	iopt_pt_free(pt);
	return (struct bench_result){ .ns = t1 - t0, .ops = n };
}

static struct bench_result bpt_unmap(enum iopt_pt_format f, uint64_t size, uint64_t pgsize,
				     uint64_t count)
{
	uint64_t step = pgsize * count, n = size / step, got, sum = 0;
	struct iopt_pt *pt = bpt_new(f);
	struct iopt_gather g;

	bpt_map_all(pt, size, pgsize);
	iopt_gather_init(&g, false, NULL, NULL);
	double t0 = bench_now_ns();

	for (uint64_t va = 0; va < size; va += step) {
		iopt_pt_unmap_pages(pt, va, pgsize, count, &g, &got);
		sum += got;
	}
	iopt_gather_sync(&g);
	double t1 = bench_now_ns();

	if (sum != size) {
		fprintf(stderr, "iopt-bench: unmapped %llu of %llu\n", (unsigned long long)sum,
			(unsigned long long)size);
		exit(1);
	}
	iopt_pt_free(pt);
	return (struct bench_result){ .ns = t1 - t0, .ops = n };
}

static struct bench_result bpt_lookup(enum iopt_pt_format f)
{
	const uint64_t size = 1ull << 30, n = 2000000;
	struct iopt_pt *pt = bpt_new(f);
	uint64_t seed = 0x9e3779b97f4a7c15ull, acc = 0, pa;

	bpt_map_all(pt, size, 4096);
	double t0 = bench_now_ns();

	for (uint64_t i = 0; i < n; i++) {
		uint64_t va = (bench_rand(&seed) % (size >> 12)) << 12;

		iopt_pt_iova_to_phys(pt, va, &pa);
		acc += pa;
	}
	double t1 = bench_now_ns();

	bench_keep(acc);
	if (acc == 0)
		exit(1);
	iopt_pt_free(pt);
	return (struct bench_result){ .ns = t1 - t0, .ops = n };
}

#define GiB (1ull << 30)
#define CASES(F, FMT)                                                                        \
	static struct bench_result F##_map_4k(void) { return bpt_map(FMT, GiB, 4096, 1); }    \
	static struct bench_result F##_unmap_4k(void) { return bpt_unmap(FMT, GiB, 4096, 1); }\
	static struct bench_result F##_map_256x4k(void) { return bpt_map(FMT, 4 * GiB, 4096, 256); } \
	static struct bench_result F##_unmap_256x4k(void) { return bpt_unmap(FMT, 4 * GiB, 4096, 256); } \
	static struct bench_result F##_map_2m(void) { return bpt_map(FMT, 64 * GiB, 2ull << 20, 1); } \
	static struct bench_result F##_unmap_2m(void) { return bpt_unmap(FMT, 64 * GiB, 2ull << 20, 1); } \
	static struct bench_result F##_iova_to_phys(void) { return bpt_lookup(FMT); }

CASES(vtd_ss, IOPT_PT_VTD_SS)
CASES(x86_64, IOPT_PT_X86_64)
CASES(amd_v1, IOPT_PT_AMD_V1)
CASES(lpae_s1_4k, IOPT_PT_LPAE_S1)

#define ENTRIES(F)                                                            \
	{ #F ".map_4k", "call (1 x 4K)", F##_map_4k },                        \
	{ #F ".unmap_4k", "call (1 x 4K)", F##_unmap_4k },                    \
	{ #F ".map_256x4k", "call (256 x 4K)", F##_map_256x4k },              \
	{ #F ".unmap_256x4k", "call (256 x 4K)", F##_unmap_256x4k },          \
	{ #F ".map_2m", "call (1 x 2M)", F##_map_2m },                        \
	{ #F ".unmap_2m", "call (1 x 2M)", F##_unmap_2m },                    \
	{ #F ".iova_to_phys", "lookup", F##_iova_to_phys }

const struct bench_case bench_pgtable_cases[] = {
	ENTRIES(vtd_ss),
	ENTRIES(x86_64),
	ENTRIES(amd_v1),
	ENTRIES(lpae_s1_4k),
	{ NULL, NULL, NULL },
};
