/* SPDX-License-Identifier: MIT */
/*
 * plan.* cases: plan 1,000,000 pre-generated gathered ranges (stride 4 KiB)
 * with each vendor's planner. Mix (fixed-seed xorshift): 90% 1-16 pages,
 * 10% 17-512 pages (up to 2 MiB); starts are random 4 KiB pages below 4 GiB.
 * Policy: default budget (16), overshoot bound 16 KiB. The unit string is
 * the op; the commands per plan go to stderr.
 */
#include <stdio.h>
#include <stdlib.h>

#include <iopt/invalidate.h>

#include "bench.h"

#define NPLAN 1000000u

static struct iopt_inv_range *ranges;

static void gen(void)
{
	uint64_t seed = 0x9E3779B97F4A7C15ull;
	if (ranges)
		return;
	ranges = malloc(NPLAN * sizeof(*ranges));
	if (!ranges) {
		fprintf(stderr, "iopt-bench: out of memory\n");
		exit(1);
	}
	for (unsigned i = 0; i < NPLAN; i++) {
		uint64_t r = bench_rand(&seed);
		uint64_t pages = r % 10 ? 1 + (r >> 8) % 16 : 17 + (r >> 8) % 496;
		uint64_t start = ((r >> 20) % (1ull << 20)) << 12;
		ranges[i].start = start;
		ranges[i].end = start + (pages << 12) - 1;
	}
}

static const struct iopt_inv_policy pol = { 0, 16384 };

static struct bench_result report(const char *who, double t0, uint64_t cmds)
{
	double t1 = bench_now_ns();
	fprintf(stderr, "# %s: %.3f commands per plan\n", who, (double)cmds / NPLAN);
	return (struct bench_result){ t1 - t0, NPLAN };
}

static struct bench_result vtd(void)
{
	struct iopt_vtd_inv_caps caps = { true, 9, true, true };
	struct iopt_vtd_inv_scope sc = { 1, false, 0 };
	struct iopt_inv_cmd out[IOPT_INV_DEFAULT_BUDGET];
	uint64_t cmds = 0;
	gen();
	double t0 = bench_now_ns();
	for (unsigned i = 0; i < NPLAN; i++) {
		struct iopt_inv_req q = { &ranges[i], 1, 4096, i & 1 };
		int n = iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, IOPT_INV_DEFAULT_BUDGET);
		bench_keep(out[0].w[1]);
		cmds += (uint64_t)n;
	}
	return report("plan.vtd_1m_random", t0, cmds);
}

static struct bench_result amd(void)
{
	struct iopt_amd_inv_caps caps = { 0 };
	struct iopt_amd_inv_scope sc = { 1, false, 0 };
	struct iopt_inv_cmd out[IOPT_INV_DEFAULT_BUDGET];
	uint64_t cmds = 0;
	gen();
	double t0 = bench_now_ns();
	for (unsigned i = 0; i < NPLAN; i++) {
		struct iopt_inv_req q = { &ranges[i], 1, 4096, i & 1 };
		int n = iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, IOPT_INV_DEFAULT_BUDGET);
		bench_keep(out[0].w[1]);
		cmds += (uint64_t)n;
	}
	return report("plan.amd_1m_random", t0, cmds);
}

static struct bench_result smmu(void)
{
	struct iopt_smmu_inv_caps caps = { true, 12 };
	struct iopt_smmu_inv_scope sc = { 1, 1, 0 };
	struct iopt_inv_cmd out[IOPT_INV_DEFAULT_BUDGET];
	uint64_t cmds = 0;
	gen();
	double t0 = bench_now_ns();
	for (unsigned i = 0; i < NPLAN; i++) {
		struct iopt_inv_req q = { &ranges[i], 1, 4096, i & 1 };
		int n = iopt_inv_plan_smmu(&q, &pol, &caps, &sc, out, IOPT_INV_DEFAULT_BUDGET);
		bench_keep(out[0].w[1]);
		cmds += (uint64_t)n;
	}
	return report("plan.smmu_1m_random", t0, cmds);
}

const struct bench_case bench_plan_cases[] = {
	{ "plan.vtd_1m_random", "plan (VT-d, MAMV 9)", vtd, NULL, 0 },
	{ "plan.amd_1m_random", "plan (AMD)", amd, NULL, 0 },
	{ "plan.smmu_1m_random", "plan (SMMUv3 RIL)", smmu, NULL, 0 },
	{ NULL, NULL, NULL, NULL, 0 },
};
