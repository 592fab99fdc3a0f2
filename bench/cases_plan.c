/* SPDX-License-Identifier: MIT */
/*
 * plan.* cases: plan 1,000,000 pre-generated gathered ranges (stride 4 KiB)
 * with each vendor's planner. Mix (fixed-seed xorshift): 90% 1-16 pages,
 * 10% 17-512 pages (up to 2 MiB); starts are random 4 KiB pages below 4 GiB.
 * The unit string is the op; the commands per plan go to stderr.
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

/* Default budget (16), overshoot bound 16 KiB. */
#define POLICY { .max_cmds = 0, .max_overshoot = 16384 }

/* Plan every range through the run-time dispatch (what the DMA layer calls). */
static struct bench_result run(const char *name, const struct iopt_inv_target *t)
{
	struct iopt_inv_cmd out[IOPT_INV_DEFAULT_BUDGET];
	uint64_t cmds = 0, nplan = bench_ops(NPLAN);

	gen();
	double t0 = bench_begin();
	for (unsigned i = 0; i < nplan; i++) {
		struct iopt_inv_req q = { &ranges[i], 1, 4096, i & 1 };
		int n = iopt_inv_plan(t, &q, out, IOPT_INV_DEFAULT_BUDGET);
		bench_keep(out[0].w[1]);
		cmds += (uint64_t)n;
	}
	double ns = bench_end(t0);
	fprintf(stderr, "# %s: %.3f commands per plan\n", name, (double)cmds / (double)nplan);
	return (struct bench_result){ ns, nplan };
}

static struct bench_result vtd(void)
{
	static const struct iopt_inv_target t = {
		.vendor = IOPT_INV_VTD, .policy = POLICY,
		.caps.vtd = { .psi = true, .mamv = 9, .drain_read = true, .drain_write = true },
		.scope.vtd = { .domain = 1 } };
	return run("plan.vtd_1m_random", &t);
}

static struct bench_result amd(void)
{
	static const struct iopt_inv_target t = {
		.vendor = IOPT_INV_AMD, .policy = POLICY, .scope.amd = { .domain = 1 } };
	return run("plan.amd_1m_random", &t);
}

static struct bench_result smmu(void)
{
	static const struct iopt_inv_target t = {
		.vendor = IOPT_INV_SMMU, .policy = POLICY,
		.caps.smmu = { .range_inv = true, .granule_shift = 12 },
		.scope.smmu = { .stage = 1, .asid = 1 } };
	return run("plan.smmu_1m_random", &t);
}

const struct bench_case bench_plan_cases[] = {
	{ "plan.vtd_1m_random", "plan (VT-d, MAMV 9)", vtd, BENCH_NO_PEER, 0 },
	{ "plan.amd_1m_random", "plan (AMD)", amd, BENCH_NO_PEER, 0 },
	{ "plan.smmu_1m_random", "plan (SMMUv3 RIL)", smmu, BENCH_NO_PEER, 0 },
	{ 0 },
};
