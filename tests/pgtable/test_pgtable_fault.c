/* SPDX-License-Identifier: MIT */
/*
 * Fault injection (SQLite-style classes): the N-th allocation fails,
 * transiently (only that one) or persistently (that one and every later
 * one), for every N the workload reaches, on every format. Two sources:
 * the table provider (table pages) and host memory (iopt_fault_inject:
 * struct iopt_pt, map reservations, freed-table nodes, the default pool's
 * chunks) over map, map_range, unmap with splits and dirty tracking. A
 * failing call must return -ENOMEM, leave every translation as
 * it was, and (for maps) leave the provider's live table count where it
 * was; an unmap that could not get freed-table nodes still unmaps (it keeps
 * the emptied tables), so a run whose calls all succeeded ends with the
 * translations of a run without faults. After teardown no table page and
 * no host allocation is live.
 */
#include <iopt/fault.h>

#include "pt_test.h"

enum { OP_MAP, OP_RANGE, OP_UNMAP, OP_DIRTY };
struct fop {
	int kind;
	uint64_t va, pa, pgsize, count; /* RANGE: count = bytes */
};

static const struct fop workload[] = {
	{ OP_MAP, 0x1000, 0x10001000, 4096, 3 },
	{ OP_MAP, 0x400000, 0x20000000, 2u << 20, 1 },
	{ OP_RANGE, 0x800000, 0x30000000, 0, (5u << 20) + 0x3000 },
	{ OP_MAP, 0x40000000, 0x40000000, 4096, 600 },
	{ OP_MAP, 0x8000000000ull, 0x50000000, 4096, 1 },
	{ OP_UNMAP, 0x401000, 0, 4096, 1 },     /* splits a 2M leaf */
	{ OP_UNMAP, 0x900000, 0, 4096, 2 },     /* splits a range leaf */
	{ OP_MAP, 0x401000, 0x60000000, 4096, 1 },
	{ OP_UNMAP, 0, 0, 2u << 20, 8 },
	{ OP_MAP, 0x80000000, 0x80000000, 4096, 9 * 512 + 1 }, /* > 8 new tables: one reservation */
	{ OP_UNMAP, 0x80000000, 0, 2u << 20, 2 },             /* whole tables detached */
	{ OP_MAP, 0xC0000000, 0x90000000, 4096, 1 },
	{ OP_UNMAP, 0xC0000000, 0, 4096, 1 },                 /* leaves an empty table */
	{ OP_MAP, 0xC0000000, 0xA0000000, 2u << 20, 1 },      /* a 2M leaf replaces it */
	{ OP_DIRTY, 0, 0, 0, 1ull << 32 },                    /* allocates nothing: never fails */
};

#define NSAMPLE 400
static uint64_t probe(struct iopt_pt *pt, uint64_t va)
{
	uint64_t pa = 0;

	return iopt_pt_iova_to_phys(pt, va, &pa) ? ~0ull : pa;
}

static void snapshot(struct iopt_pt *pt, uint64_t *out)
{
	unsigned k = 0;

	for (uint64_t i = 0; i < 276; i++)
		out[k++] = probe(pt, i * 0x10000 + 0x123);
	for (uint64_t i = 0; i < 20; i++)
		out[k++] = probe(pt, 0x80000000 + i * 0x100000 + 0x456);
	for (uint64_t i = 0; i < 4; i++)
		out[k++] = probe(pt, 0xC0000000 + i * 0x80000 + 0x789);
	for (uint64_t i = 0; i < 90; i++)
		out[k++] = probe(pt, 0x40000000 + i * 0x7000);
	for (uint64_t i = 0; k < NSAMPLE; i++)
		out[k++] = probe(pt, 0x8000000000ull + i * 0x800);
	/* Where the split unmaps land. */
	out[0] ^= probe(pt, 0x400000) ^ probe(pt, 0x401000) ^ probe(pt, 0x402000);
	out[1] ^= probe(pt, 0x900000) ^ probe(pt, 0x901000) ^ probe(pt, 0x902000);
}

static void no_dirty(void *ctx, uint64_t iova, uint64_t size)
{
	(void)ctx;
	(void)iova;
	(void)size;
}

static int run_op(struct iopt_pt *pt, const struct fop *o)
{
	struct iopt_gather g;
	uint64_t done;
	int r;

	switch (o->kind) {
	case OP_MAP:
		return iopt_pt_map_pages(pt, o->va, o->pa, o->pgsize, o->count, IOPT_PROT_READ, &done);
	case OP_RANGE:
		return iopt_pt_map_range(pt, o->va, o->pa, o->count, IOPT_PROT_READ, &done);
	case OP_DIRTY:
		iopt_gather_init(&g, false, NULL, NULL);
		r = iopt_pt_set_dirty_tracking(pt, true, &g);
		if (!r)
			r = iopt_pt_read_and_clear_dirty(pt, o->va, o->count, 0, no_dirty, NULL, &g);
		iopt_gather_sync(&g);
		return r;
	default:
		iopt_gather_init(&g, false, NULL, NULL);
		r = iopt_pt_unmap_pages(pt, o->va, o->pgsize, o->count, &g, &done);
		iopt_gather_sync(&g);
		return r;
	}
}

/* host: fail host allocations (iopt_fault_inject), else the provider's pages. */
static void run(const char *name, struct iopt_pt_cfg cfg, bool persistent, bool host)
{
	static uint64_t before[NSAMPLE], after[NSAMPLE], clean[NSAMPLE];
	unsigned bad = 0, failures = 0;
	long n;

	for (n = 0;; n++) { /* n = 0: the run without faults, the reference */
		struct test_prov tp;
		struct iopt_pt *pt;
		bool failed = false;

		test_prov_init(&tp);
		tp.fail_at = host ? 0 : n;
		tp.persistent = persistent;
		cfg.provider = &tp.p;
		iopt_fault_inject(host ? (uint64_t)n : 0, persistent);
		int r = iopt_pt_create(&cfg, &pt);

		if (r) {
			bad += r != -ENOMEM || atomic_load(&tp.live) != 0 ||
			       iopt_fault_live_allocs() != 0;
			failures++;
			iopt_fault_inject(0, false);
			continue;
		}
		for (size_t i = 0; i < sizeof(workload) / sizeof(workload[0]); i++) {
			long live = atomic_load(&tp.live);

			snapshot(pt, before);
			r = run_op(pt, &workload[i]);
			if (!r)
				continue;
			snapshot(pt, after);
			failures++;
			failed = true;
			if (r != -ENOMEM || memcmp(before, after, sizeof(before)) ||
			    (workload[i].kind != OP_UNMAP && atomic_load(&tp.live) != live)) {
				bad++;
				printf("# %s N=%ld op %zu: r=%d live %ld -> %ld\n", name, n, i, r, live,
				       atomic_load(&tp.live));
			}
			break;
		}
		bool hit = iopt_fault_inject(0, false) != 0;
		if (!failed) { /* every call succeeded: the same translations as without faults */
			snapshot(pt, after);
			if (n == 0)
				memcpy(clean, after, sizeof(clean));
			else if (memcmp(clean, after, sizeof(clean))) {
				bad++;
				printf("# %s N=%ld: translations differ from the run without faults\n",
				       name, n);
			}
		}
		iopt_pt_free(pt);
		if (atomic_load(&tp.live) != 0 || iopt_fault_live_allocs() != 0) {
			bad++;
			printf("# %s N=%ld: %ld tables, %lld host allocations leaked\n", name, n,
			       atomic_load(&tp.live), (long long)iopt_fault_live_allocs());
		}
		if (n && !failed && !hit)
			break; /* N beyond every allocation the workload makes */
	}
	printf("# %s %s %s: %ld allocation points, %u injected failures\n", name,
	       host ? "host" : "provider", persistent ? "persistent" : "transient", n - 1, failures);
	CHECK(n > 5);
	CHECK_EQ(bad, 0);
}

int main(void)
{
	const struct {
		const char *name;
		struct iopt_pt_cfg cfg;
	} fmts[] = {
		{ "vtd_ss", { .format = IOPT_PT_VTD_SS, .ias = 48, .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_HW_DIRTY } },
		{ "x86_64", { .format = IOPT_PT_X86_64, .ias = 48, .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_HW_DIRTY } },
		{ "amd_v1", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1, .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_HW_DIRTY } },
		{ "lpae_s1", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12, .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_HW_DIRTY } },
		{ "lpae_s2", { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12, .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_HW_DIRTY } },
	};

	/* First use of the default pool in this process: its chunk allocation fails. */
	TEST("default provider: pool chunk allocation failure");
	const struct iopt_pt_provider *dp = iopt_pt_default_provider();
	uint64_t pa = 0;
	iopt_fault_inject(1, false);
	CHECK(dp->alloc(dp->ctx, 4096, &pa) == NULL);
	CHECK_EQ(iopt_fault_inject(0, false), 1);
	CHECK_EQ(iopt_pt_default_provider_live(), 0);
	void *page = dp->alloc(dp->ctx, 4096, &pa);
	CHECK(page != NULL);
	dp->free(dp->ctx, page, 4096);
	CHECK_EQ(iopt_pt_default_provider_live(), 0);

	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++) {
		TEST(fmts[i].name);
		for (int host = 0; host < 2; host++) {
			run(fmts[i].name, fmts[i].cfg, false, host);
			run(fmts[i].name, fmts[i].cfg, true, host);
		}
	}
	return tap_done();
}
