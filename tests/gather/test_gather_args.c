/* SPDX-License-Identifier: MIT */
/*
 * Bad input for the gather, the planners' encoders and decoders, the flush
 * queue, the DMA layer and the fault-injection control: the cells of
 * docs/BAD_INPUT.md that no other test asserts. Every refused call must
 * return the documented error and leave its outputs and the object as
 * they were.
 */
#include <string.h>

#include <iopt/fault.h>
#include <iopt/invalidate.h>

#include "dma_fake.h"

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define M48 0xFFFFFFFFFFFFull
#define POISON 0xA5A5A5A5A5A5A5A5ull

static unsigned flushes;

static void count_flush(struct iopt_gather *g, void *ctx)
{
	(void)g;
	(void)ctx;
	flushes++;
}

static void gather_args(void)
{
	struct iopt_gather g;

	TEST("gather: list size clamped to IOPT_GATHER_MAX_RANGES, 0 is single mode; empty sync flushes nothing");
	iopt_gather_init_list(&g, false, 0, count_flush, NULL);
	CHECK_EQ(g.max_ranges, 0);
	iopt_gather_init_list(&g, false, 1000, count_flush, NULL);
	CHECK_EQ(g.max_ranges, IOPT_GATHER_MAX_RANGES);
	flushes = 0;
	iopt_gather_sync(&g);
	CHECK_EQ(flushes, 0);
	CHECK_EQ(g.max_ranges, IOPT_GATHER_MAX_RANGES); /* sync keeps the mode */
	CHECK(g.start == UINT64_MAX && g.end == 0 && g.nr_ranges == 0);
}

static bool poisoned(const struct iopt_inv_cmd *c)
{
	return c->w[0] == POISON && c->w[1] == POISON;
}

static void encoder_args(void)
{
	struct iopt_inv_cmd c = { { POISON, POISON } };
	struct iopt_inv_decoded d;

	struct iopt_vtd_inv_caps vc = { .psi = true, .mamv = 9 };

	TEST("wait/sync encoders: unaligned or too wide address, unknown flag or CS, NULL: -EINVAL");
	CHECK(iopt_inv_wait_vtd(&vc, 0x1002, 1, 0, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_wait_vtd(&vc, 0x1000, 1, 0x4, &c) == -EINVAL && poisoned(&c));
	CHECK_EQ(iopt_inv_wait_vtd(&vc, 0x1000, 1, 0, NULL), -EINVAL);
	CHECK(iopt_inv_wait_vtd(NULL, 0x1000, 1, 0, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_global_vtd(NULL, &c) == -EINVAL && poisoned(&c));
	CHECK_EQ(iopt_inv_global_vtd(&vc, NULL), -EINVAL);
	vc.mamv = 64;
	CHECK(iopt_inv_global_vtd(&vc, &c) == -EINVAL && poisoned(&c));
	vc.mamv = 9;
	TEST("wait encoder: drain without ECAP.PDS (caps.page_drain): -EOPNOTSUPP, nothing written");
	CHECK(iopt_inv_wait_vtd(&vc, 0x1000, 1, IOPT_VTD_WAIT_DRAIN, &c) == -EOPNOTSUPP &&
	      poisoned(&c));
	CHECK(iopt_inv_wait_vtd(&vc, 0x1000, 1, IOPT_VTD_WAIT_DRAIN | IOPT_VTD_WAIT_FENCE, &c) ==
		      -EOPNOTSUPP && poisoned(&c));
	/* An unaligned address is -EINVAL even when drain is also unsupported. */
	CHECK(iopt_inv_wait_vtd(&vc, 0x1001, 1, IOPT_VTD_WAIT_DRAIN, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_wait_amd(0x1004, 1, false, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_wait_amd(1ull << 52, 1, false, &c) == -EINVAL && poisoned(&c));
	CHECK_EQ(iopt_inv_wait_amd(0x1000, 1, false, NULL), -EINVAL);
	CHECK(iopt_inv_sync_smmu(3, 0, 0, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_sync_smmu(1, 0x1002, 0, &c) == -EINVAL && poisoned(&c));
	CHECK(iopt_inv_sync_smmu(1, 1ull << 52, 0, &c) == -EINVAL && poisoned(&c));
	CHECK_EQ(iopt_inv_sync_smmu(0, 0, 0, NULL), -EINVAL);

	TEST("decoders: other opcode/type, reserved granularity, NULL: -EINVAL, *d untouched");
	memset(&d, 0x5A, sizeof(d));
	struct iopt_inv_decoded keep = d;
	c = (struct iopt_inv_cmd){ { 0x1, 0 } }; /* VT-d type 1 (context cache) */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), -EINVAL);
	c = (struct iopt_inv_cmd){ { 0x2, 0 } }; /* type 2, granularity 0 */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), -EINVAL);
	c = (struct iopt_inv_cmd){ { 0x6 | 1 << 4, 0 } }; /* type 6, granularity 1 */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), -EINVAL);
	CHECK_EQ(iopt_inv_decode_vtd(NULL, &d), -EINVAL);
	CHECK_EQ(iopt_inv_decode_vtd(&c, NULL), -EINVAL);
	c = (struct iopt_inv_cmd){ { 0x2ull << 60, 0 } }; /* AMD opcode 2 */
	CHECK_EQ(iopt_inv_decode_amd(&c, &d), -EINVAL);
	CHECK_EQ(iopt_inv_decode_amd(NULL, &d), -EINVAL);
	c = (struct iopt_inv_cmd){ { 0x03, 0 } }; /* SMMU CFGI_STE */
	CHECK_EQ(iopt_inv_decode_smmu(&c, &d), -EINVAL);
	CHECK_EQ(iopt_inv_decode_smmu(NULL, &d), -EINVAL);
	CHECK(memcmp(&d, &keep, sizeof(d)) == 0);
}

static void planner_null_args(void)
{
	static struct iopt_inv_cmd out[4];
	struct iopt_inv_range r = { 0, 0xFFF };
	struct iopt_inv_req q = { &r, 1, 4096, true };
	struct iopt_vtd_inv_caps vc = { .psi = true, .mamv = 9 };
	struct iopt_vtd_inv_scope vs = { 1, false, 0 };
	struct iopt_amd_inv_caps ac = { 0 };
	struct iopt_amd_inv_scope as = { 1, false, 0 };
	struct iopt_smmu_inv_caps sc = { true, 12 };
	struct iopt_smmu_inv_scope ss = { 1, 1, 1 };

	TEST("planners: NULL caps/scope/out, AMD max_order and PASID out of range: -EINVAL");
	memset(out, 0xA5, sizeof(out));
	CHECK_EQ(iopt_inv_plan_vtd(&q, NULL, NULL, &vs, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_vtd(&q, NULL, &vc, NULL, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_vtd(&q, NULL, &vc, &vs, NULL, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, NULL, &as, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, &ac, NULL, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, &ac, &as, NULL, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_smmu(&q, NULL, NULL, &ss, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_smmu(&q, NULL, &sc, NULL, out, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_smmu(&q, NULL, &sc, &ss, NULL, 4), -EINVAL);
	CHECK_EQ(iopt_inv_plan_vtd(NULL, NULL, &vc, &vs, out, 4), -EINVAL);
	ac.max_order = 11;
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, &ac, &as, out, 4), -EINVAL);
	ac.max_order = 0;
	as = (struct iopt_amd_inv_scope){ 1, true, 0x100000 };
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, &ac, &as, out, 4), -EINVAL);
	for (int i = 0; i < 4; i++)
		CHECK(poisoned(&out[i]));
	/* The boundary values are accepted. */
	ac.max_order = 12;
	as.pasid = 0xFFFFF;
	CHECK_EQ(iopt_inv_plan_amd(&q, NULL, &ac, &as, out, 4), 1);
}

static void fq_flush(void *ctx)
{
	(void)ctx;
}

static void fq_release(void *ctx, uint64_t pfn, uint64_t size)
{
	(void)ctx;
	(void)pfn;
	(void)size;
}

static void flushq_args(void)
{
	struct iopt_flushq_cfg cfg = { .flush_all = fq_flush, .release = fq_release };
	struct iopt_flushq *fq = (void *)0x1;

	TEST("flushq: NULL cfg/out, missing flush_all, odd entries: -EINVAL; destroy(NULL)");
	CHECK_EQ(iopt_flushq_create(NULL, &fq), -EINVAL);
	CHECK_EQ(iopt_flushq_create(&cfg, NULL), -EINVAL);
	cfg.flush_all = NULL;
	CHECK_EQ(iopt_flushq_create(&cfg, &fq), -EINVAL);
	cfg.flush_all = fq_flush;
	cfg.entries = 3;
	CHECK_EQ(iopt_flushq_create(&cfg, &fq), -EINVAL);
	CHECK(fq == (void *)0x1);
	iopt_flushq_destroy(NULL);
	CHECK_EQ(iopt_fault_live_allocs(), 0);
}

struct env {
	struct dma_parts d;
	struct fake f;
};

static void env_up(struct env *e)
{
	memset(e, 0, sizeof(*e));
	dma_parts_up(&e->d, 0);
}

static void env_down(struct env *e)
{
	dma_parts_down(&e->d);
}

static void dma_args(void)
{
	struct env e;
	struct iopt_dma_domain *dom = (void *)0x1;

	TEST("dma create: missing pt/iovad/callback, unknown mode/flags, gather_ranges > 8, bad fq_entries: -EINVAL");
	env_up(&e);
	struct iopt_dma_cfg ok = { .pt = e.d.pt, .iovad = e.d.iovad, .mode = IOPT_DMA_LAZY, .ops = fake_ops(&e.f) };
	struct iopt_dma_cfg c;
	c = ok, c.pt = NULL;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.iovad = NULL;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.ops.flush_range = NULL;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.ops.flush_all = NULL;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.mode = (enum iopt_dma_mode)7;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.flags = 1u << 30;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.gather_ranges = IOPT_GATHER_MAX_RANGES + 1;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	c = ok, c.fq_entries = 3;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EINVAL);
	CHECK_EQ(iopt_dma_create(&ok, NULL), -EINVAL);
	CHECK(dom == (void *)0x1);
	iopt_dma_destroy(NULL);

	TEST("dma create: MSI window over a live IOVA allocation: -EBUSY");
	uint64_t pfn;
	REQUIRE(iopt_iova_reserve(e.d.iovad, 0, 0xFEDFF) == 0); /* so the next range lands in the window */
	REQUIRE(iopt_iova_alloc(e.d.iovad, 1, 0xFEE00, 0, &pfn) == 0 && pfn == 0xFEE00);
	c = ok, c.flags = IOPT_DMA_F_MSI_X86;
	CHECK_EQ(iopt_dma_create(&c, &dom), -EBUSY);
	CHECK(dom == (void *)0x1);
	REQUIRE(iopt_iova_free(e.d.iovad, pfn, 1) == 0);
	env_down(&e);

	TEST("dma reserve/unmap/unmap_sg: wrap, overlap, unknown address: errors, nothing changed");
	env_up(&e);
	c = ok;
	c.pt = e.d.pt, c.iovad = e.d.iovad, c.mode = IOPT_DMA_STRICT, c.ops = fake_ops(&e.f);
	REQUIRE(iopt_dma_create(&c, &dom) == 0);
	CHECK(iopt_dma_flush_queue(dom) == NULL); /* strict: no queue */
	uint64_t iova, pa;
	REQUIRE(iopt_dma_map(dom, 0x100000, 0x4000, RW, M48, &iova) == 0);
	CHECK_EQ(iopt_dma_reserve(dom, UINT64_MAX - 0xFFF, 0x2000), -EINVAL); /* wraps */
	CHECK_EQ(iopt_dma_reserve(dom, iova, 0x1000), -EBUSY);                /* live mapping */
	struct iopt_dma_sg sg[2] = { { 0x200000, 0x1000, 0x7000000, 0x1000 },
				     { 0x300000, 0x1000, 0x7001000, 0x1000 } };
	CHECK_EQ(iopt_dma_unmap_sg(dom, sg, 2), -ENOENT); /* never mapped */
	CHECK_EQ(iopt_dma_unmap(dom, UINT64_MAX - 0xFFF, 0x2000), -ENOENT);  /* wraps: no mapping there */
	CHECK(iopt_pt_iova_to_phys(e.d.pt, iova + 0x3000, &pa) == 0 && pa == 0x103000);
	CHECK_EQ(iopt_dma_unmap(dom, iova, 0x4000), 0);
	CHECK_EQ(iopt_dma_unmap(dom, iova, 0x4000), -ENOENT); /* double unmap */
	iopt_dma_destroy(dom);
	env_down(&e);
}

static void fault_args(void)
{
	TEST("fault control: 0 disarms, the count of injected failures is returned once");
	iopt_fault_inject(0, false);
	int64_t base = iopt_fault_live_allocs(); /* this thread's IOVA caches of destroyed domains */
	struct iopt_gather g;
	iopt_gather_init(&g, false, NULL, NULL);
	struct iopt_flushq_cfg cfg = { .flush_all = fq_flush, .release = fq_release };
	struct iopt_flushq *fq = (void *)0x1;
	iopt_fault_inject(1, true);
	CHECK_EQ(iopt_flushq_create(&cfg, &fq), -ENOMEM);
	CHECK_EQ(iopt_flushq_create(&cfg, &fq), -ENOMEM); /* persistent */
	CHECK_EQ(iopt_fault_inject(0, false), 2);
	CHECK_EQ(iopt_fault_inject(0, false), 0);
	CHECK(fq == (void *)0x1);
	CHECK_EQ(iopt_flushq_create(&cfg, &fq), 0); /* disarmed */
	iopt_flushq_destroy(fq);
	CHECK_EQ(iopt_fault_live_allocs(), base);
}

int main(void)
{
	gather_args();
	encoder_args();
	planner_null_args();
	flushq_args();
	dma_args();
	fault_args();
	return tap_done();
}
