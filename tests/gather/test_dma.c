/* SPDX-License-Identifier: MIT */
/*
 * DMA layer with an instrumented fake driver (dma_fake.h): strict and lazy
 * lifecycles (no IOVA re-handed-out before the flush covering its unmap
 * returned; lazy flush rate), largest page sizes, sg coalescing, reserved
 * regions, DMA masks, and every error path with "nothing changed or
 * leaked" checks (IOVA tree nodes, live tables).
 */
#include <string.h>

#include "dma_fake.h"

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define M32 0xFFFFFFFFull
#define M48 0xFFFFFFFFFFFFull

struct env {
	struct dma_parts d;
	struct iopt_dma_domain *dom;
	struct fake f;
	uint64_t now;
};

static uint64_t env_clock(void *ctx)
{
	return ((struct env *)ctx)->now;
}

/* inv: command mode for that target (fake_cmd_ops), NULL: range mode. */
static void env_up_inv(struct env *e, enum iopt_dma_mode mode, unsigned iova_flags,
		       unsigned dma_flags, unsigned granges, const struct iopt_inv_target *inv)
{
	memset(e, 0, sizeof(*e));
	dma_parts_up(&e->d, iova_flags);
	e->f.track = true;
	struct iopt_dma_cfg dc = {
		.pt = e->d.pt, .iovad = e->d.iovad, .mode = mode, .flags = dma_flags,
		.gather_ranges = granges, .clock = env_clock, .clock_ctx = e,
		.ops = inv ? fake_cmd_ops(&e->f, inv->vendor) : fake_ops(&e->f),
	};
	if (inv)
		dc.inv = *inv;
	REQUIRE(iopt_dma_create(&dc, &e->dom) == 0);
}

static void env_up(struct env *e, enum iopt_dma_mode mode, unsigned iova_flags,
		   unsigned dma_flags, unsigned granges)
{
	env_up_inv(e, mode, iova_flags, dma_flags, granges, NULL);
}

static void env_down(struct env *e)
{
	iopt_dma_destroy(e->dom);
	dma_parts_down(&e->d);
}

static uint64_t tree_nodes(struct env *e)
{
	struct iopt_iova_stats st;

	iopt_iova_stats(e->d.iovad, &st);
	return st.tree_nodes;
}

static int map(struct env *e, uint64_t phys, uint64_t size, uint64_t mask, uint64_t *iova)
{
	int r = iopt_dma_map(e->dom, phys, size, RW, mask, iova);

	if (!r)
		fake_mapped(&e->f, *iova, size);
	return r;
}

static int unmap(struct env *e, uint64_t iova, uint64_t size)
{
	fake_unmapping(&e->f, iova, size);
	return iopt_dma_unmap(e->dom, iova, size);
}

static void lifecycle(enum iopt_dma_mode mode, unsigned granges)
{
	struct env e;
	uint64_t seed = 7 + mode, iovas[64], sizes[64], physs[64], phys;
	unsigned n = 0, unmaps = 0;

	printf("# lifecycle %s, gather_ranges %u\n", mode ? "lazy" : "strict", granges);
	env_up(&e, mode, 0, 0, granges);
	for (int step = 0; step < 20000; step++) {
		if (n < 64 && (n == 0 || test_xrand(&seed) % 2)) {
			sizes[n] = 1 + test_xrand(&seed) % (6 * 4096);
			physs[n] = (test_xrand(&seed) % (1ull << 30)) & ~7ull;
			REQUIRE(map(&e, physs[n], sizes[n], test_xrand(&seed) & 1 ? M32 : M48,
				    &iovas[n]) == 0);
			if (iopt_pt_iova_to_phys(e.d.pt, iovas[n], &phys) || phys != physs[n])
				CHECK(0);
			n++;
		} else {
			unsigned i = (unsigned)(test_xrand(&seed) % n);

			if (unmap(&e, iovas[i], sizes[i]))
				CHECK(0);
			unmaps++;
			if (mode == IOPT_DMA_STRICT && e.f.npend)
				CHECK(0); /* strict: flushed before unmap returned */
			n--;
			iovas[i] = iovas[n];
			sizes[i] = sizes[n];
			physs[i] = physs[n];
		}
	}
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	if (mode == IOPT_DMA_STRICT) {
		CHECK_EQ(atomic_load(&e.f.flush_ranges), unmaps);
		CHECK_EQ(atomic_load(&e.f.flush_alls), 0);
		CHECK(e.f.max_nr <= (granges ? granges : 1));
	} else {
		CHECK(atomic_load(&e.f.flush_alls) * 200 <= unmaps);
		CHECK(iopt_flushq_pending(iopt_dma_flush_queue(e.dom)) > 0);
	}
	while (n--)
		CHECK_EQ(unmap(&e, iovas[n], sizes[n]), 0);
	env_down(&e);
}

/* Lazy steady state with 256-entry rings: at most 1 flush per 200 unmaps. */
static void lazy_rate(void)
{
	struct env e;
	uint64_t iova, start;

	TEST("lazy flush rate");
	env_up(&e, IOPT_DMA_LAZY, 0, 0, 0);
	for (int i = 0; i < 20000; i++) {
		REQUIRE(map(&e, 0x1000, 4096, M32, &iova) == 0);
		REQUIRE(unmap(&e, iova, 4096) == 0);
	}
	start = atomic_load(&e.f.flush_alls);
	CHECK(start > 0);
	CHECK(start * 200 <= 20000);
	CHECK_EQ(atomic_load(&e.f.flush_ranges), 0);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	/* the injected clock drives the timeout */
	struct iopt_flushq *fq = iopt_dma_flush_queue(e.dom);
	CHECK(iopt_flushq_pending(fq) > 0);
	CHECK(!iopt_flushq_poll(fq, IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS - 1));
	CHECK(iopt_flushq_poll(fq, IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS));
	CHECK_EQ(iopt_flushq_pending(fq), 0);
	env_down(&e);
}

static void page_sizes_and_offsets(void)
{
	struct env e;
	uint64_t iova, phys;
	long live;

	TEST("size-aligned IOVA, largest pages, offsets");
	env_up(&e, IOPT_DMA_STRICT, 0, 0, 0);
	live = atomic_load(&e.d.tp.live);
	CHECK_EQ(map(&e, 0x40000000, 2u << 20, M48, &iova), 0);
	CHECK_EQ(iova & ((2u << 20) - 1), 0);           /* size-aligned */
	CHECK_EQ(atomic_load(&e.d.tp.live) - live, 2);     /* L3 + L2: a 2 MiB leaf */
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, iova + 0x12345, &phys), 0);
	CHECK_EQ(phys, 0x40012345);
	CHECK_EQ(unmap(&e, iova, 2u << 20), 0);
	/* sub-granule offset kept; size rounded up to cover it */
	CHECK_EQ(map(&e, 0x5123, 0x1000, M32, &iova), 0);
	CHECK_EQ(iova & 0xfff, 0x123);
	CHECK(iova <= M32);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, iova + 0xefd, &phys), 0);
	CHECK_EQ(phys, 0x6020);
	CHECK_EQ(unmap(&e, iova, 0x1000), 0);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
}

static void sg(enum iopt_dma_mode mode)
{
	struct env e;
	struct iopt_dma_sg s[3] = {
		{ .phys = 0x10000800, .len = 0x800 },
		{ .phys = 0x20000000, .len = 0x2000 },
		{ .phys = 0x30000000, .len = 0x100 },
	};
	uint64_t phys, nodes;
	long live;

	printf("# sg coalescing, %s\n", mode ? "lazy" : "strict");
	env_up(&e, mode, IOPT_IOVA_NO_RCACHE, 0, 0);
	CHECK_EQ(iopt_dma_map_sg(e.dom, s, 3, RW, M32), 0);
	CHECK_EQ(s[0].dma_addr & 0xfff, 0x800);
	CHECK_EQ(s[1].dma_addr, (s[0].dma_addr & ~0xfffull) + 0x1000);
	CHECK_EQ(s[2].dma_addr, s[1].dma_addr + 0x2000);
	CHECK_EQ(s[1].dma_len, 0x2000);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, s[0].dma_addr + 0x7ff, &phys), 0);
	CHECK_EQ(phys, 0x10000fff);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, s[1].dma_addr + 0x1abc, &phys), 0);
	CHECK_EQ(phys, 0x20001abc);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, s[2].dma_addr + 0xff, &phys), 0);
	CHECK_EQ(phys, 0x300000ff);
	fake_unmapping(&e.f, s[0].dma_addr, s[2].dma_addr + 0x100 - s[0].dma_addr);
	CHECK_EQ(iopt_dma_unmap_sg(e.dom, s, 3), 0);
	CHECK_EQ(iopt_dma_unmap_sg(e.dom, s, 3), -ENOENT);
	if (mode == IOPT_DMA_STRICT)
		CHECK_EQ(atomic_load(&e.f.flush_ranges), 1); /* one flush for the list */
	/* a middle segment not granule-aligned: -EINVAL, nothing changed */
	if (mode == IOPT_DMA_LAZY)
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
	nodes = tree_nodes(&e);
	live = atomic_load(&e.d.tp.live);
	struct iopt_dma_sg bad[2] = { { .phys = 0x1000, .len = 0x1000 },
				      { .phys = 0x2010, .len = 0x100 } };
	CHECK_EQ(iopt_dma_map_sg(e.dom, bad, 2, RW, M32), -EINVAL);
	bad[1].phys = 0x2000;
	bad[0].len = 0x800; /* first segment ends mid-granule */
	CHECK_EQ(iopt_dma_map_sg(e.dom, bad, 2, RW, M32), -EINVAL);
	CHECK_EQ(iopt_dma_map_sg(e.dom, bad, 0, RW, M32), -EINVAL);
	bad[0].len = 0;
	CHECK_EQ(iopt_dma_map_sg(e.dom, bad, 1, RW, M32), -EINVAL);
	CHECK_EQ(bad[0].dma_addr, 0);
	CHECK_EQ(tree_nodes(&e), nodes);
	CHECK_EQ(atomic_load(&e.d.tp.live), live);
	/* table provider fails on the second segment: all undone */
	struct iopt_dma_sg two[2] = { { .phys = 0x1000, .len = 0x1000 },
				      { .phys = 0x80000000, .len = 4u << 20 } };
	e.d.tp.fail_at = 1;
	e.d.tp.persistent = true;
	atomic_store(&e.d.tp.allocs, 0);
	int r = iopt_dma_map_sg(e.dom, two, 2, RW, M48); /* segment 1 needs new tables */
	e.d.tp.fail_at = 0;
	CHECK_EQ(r, -ENOMEM);
	CHECK_EQ(tree_nodes(&e), nodes);
	CHECK_EQ(two[0].dma_addr, 0);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
}

static void errors(enum iopt_dma_mode mode)
{
	struct env e;
	uint64_t iova, iova2, nodes, pfn;
	long live;

	printf("# error paths, %s\n", mode ? "lazy" : "strict");
	env_up(&e, mode, IOPT_IOVA_NO_RCACHE, 0, 0);
	CHECK_EQ(map(&e, 0x100000, 64 * 4096, M32, &iova), 0);
	if (mode == IOPT_DMA_LAZY)
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
	nodes = tree_nodes(&e);
	live = atomic_load(&e.d.tp.live);
	long dlive = iopt_pt_default_provider_live();
	/* unmap: unknown, inside but not the start, size mismatch, size 0 */
	CHECK_EQ(iopt_dma_unmap(e.dom, 0x1000, 4096), -ENOENT);
	CHECK_EQ(iopt_dma_unmap(e.dom, iova + 4096, 4096), -ENOENT);
	CHECK_EQ(iopt_dma_unmap(e.dom, iova, 63 * 4096), -EINVAL);
	CHECK_EQ(iopt_dma_unmap(e.dom, iova, 65 * 4096), -EINVAL);
	CHECK_EQ(iopt_dma_unmap(e.dom, iova, 0), -EINVAL);
	/* map: size 0, wrap, bad prot, mask below the domain, NULL out */
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 0, RW, M32, &iova2), -EINVAL);
	CHECK_EQ(iopt_dma_map(e.dom, UINT64_MAX - 10, 100, RW, M32, &iova2), -EINVAL);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, 0, M32, &iova2), -EINVAL);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, RW, 0xfff, &iova2), -ERANGE);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, RW, M32, NULL), -EINVAL);
	/* the table provider fails midway: nothing mapped, no IOVA held */
	e.d.tp.fail_at = 2;
	e.d.tp.persistent = true;
	atomic_store(&e.d.tp.allocs, 0);
	CHECK_EQ(iopt_dma_map(e.dom, 0x40000000, 8u << 20, RW, M48, &iova2), -ENOMEM);
	e.d.tp.fail_at = 0;
	CHECK_EQ(tree_nodes(&e), nodes);
	CHECK_EQ(atomic_load(&e.d.tp.live), live);
	CHECK_EQ(iopt_pt_default_provider_live(), dlive);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	/* the mapping is intact after all that */
	uint64_t phys;
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, iova + 5 * 4096, &phys), 0);
	CHECK_EQ(phys, 0x105000);
	CHECK_EQ(unmap(&e, iova, 64 * 4096), 0);
	/* double unmap: strict (IOVA free) and lazy (IOVA queued, PTEs gone) */
	CHECK_EQ(iopt_dma_unmap(e.dom, iova, 64 * 4096), -ENOENT);
	if (mode == IOPT_DMA_LAZY) {
		CHECK_EQ(iopt_flushq_pending(iopt_dma_flush_queue(e.dom)), 1);
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
	}
	CHECK_EQ(tree_nodes(&e), nodes - 1);
	/* mask: a tiny mask fills up and then reports -ENOMEM */
	uint64_t a[3];
	for (int i = 0; i < 3; i++)
		CHECK_EQ(map(&e, 0x1000, 4096, 0x3fff, &a[i]), 0);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, RW, 0x3fff, &iova2), -ENOMEM);
	for (int i = 0; i < 3; i++) {
		CHECK(a[i] <= 0x3fff);
		CHECK_EQ(unmap(&e, a[i], 4096), 0);
	}
	/* reserved region: never handed out; unmap of it is -ENOENT */
	CHECK_EQ(iopt_dma_reserve(e.dom, 0x8000, 0x3000), 0);
	CHECK_EQ(iopt_dma_reserve(e.dom, 0x8000, 0), -EINVAL);
	CHECK_EQ(iopt_dma_unmap(e.dom, 0x8000, 0x1000), -ENOENT);
	if (mode == IOPT_DMA_LAZY)
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
	for (int i = 0; i < 8; i++) { /* pfns 1..0xb less the 3 reserved */
		uint64_t x;
		CHECK_EQ(map(&e, 0x1000, 4096, 0xbfff, &x), 0);
		CHECK(x < 0x8000 || x > 0xafff);
	}
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, RW, 0xbfff, &iova2), -ENOMEM);
	CHECK(iopt_iova_find(e.d.iovad, 0x9, &pfn, NULL, NULL) == 0 && pfn == 0x8);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
}

static void msi_and_create(void)
{
	struct env e;
	uint64_t iova;
	bool reserved = false;
	unsigned overlap = 0;

	TEST("x86 MSI window and bad configs");
	env_up(&e, IOPT_DMA_STRICT, IOPT_IOVA_NO_RCACHE, IOPT_DMA_F_MSI_X86, 0);
	CHECK_EQ(iopt_iova_find(e.d.iovad, 0xFEE00, NULL, NULL, &reserved), 0);
	CHECK(reserved);
	for (int i = 0; i < 40; i++) { /* top-down from 4 GiB, across the window */
		CHECK_EQ(map(&e, 0x100000, 1u << 20, M32, &iova), 0);
		overlap += iova <= IOPT_DMA_MSI_X86_END && iova + (1u << 20) > IOPT_DMA_MSI_X86_START;
	}
	CHECK(iova < IOPT_DMA_MSI_X86_START);
	CHECK_EQ(overlap, 0);
	env_down(&e);

	struct iopt_dma_cfg dc = { .mode = IOPT_DMA_STRICT };
	struct iopt_dma_domain *d = NULL;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	CHECK_EQ(iopt_dma_create(NULL, &d), -EINVAL);
	CHECK(d == NULL);
}

/* List-mode gather: one unmap flush never covers more than requested. */
static void list_gather(void)
{
	struct env e;
	uint64_t iova;

	TEST("list gather on the DMA path");
	env_up(&e, IOPT_DMA_STRICT, 0, 0, 4);
	CHECK_EQ(map(&e, 0x200000, 16 * 4096, M32, &iova), 0);
	CHECK_EQ(unmap(&e, iova, 16 * 4096), 0);
	CHECK_EQ(atomic_load(&e.f.ranges), 1);
	CHECK_EQ(e.f.npend, 0);
	env_down(&e);
}

/* A detached leaf table is released only after the flush covering it. */
static void table_pages(enum iopt_dma_mode mode)
{
	struct env e;
	uint64_t iova;
	long live;

	printf("# table pages, %s\n", mode ? "lazy" : "strict");
	env_up(&e, mode, 0, 0, 0);
	/* phys not 2 MiB-aligned: 512 x 4 KiB leaves in one table */
	CHECK_EQ(map(&e, 0x40001000, 2u << 20, M48, &iova), 0);
	CHECK_EQ(iova & ((2u << 20) - 1), 0);
	live = atomic_load(&e.d.tp.live);
	CHECK_EQ(unmap(&e, iova, 2u << 20), 0);
	if (mode == IOPT_DMA_STRICT) {
		CHECK_EQ(atomic_load(&e.d.tp.live), live - 1);
		CHECK_EQ(atomic_load(&e.f.flush_ranges), 1);
	} else {
		CHECK_EQ(atomic_load(&e.d.tp.live), live); /* waits in the queue */
		CHECK_EQ(atomic_load(&e.f.flush_alls), 0);
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
		CHECK_EQ(atomic_load(&e.f.flush_alls), 1);
		CHECK_EQ(atomic_load(&e.d.tp.live), live - 1);
	}
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
}

static const struct iopt_inv_target targets[] = {
	{ .vendor = IOPT_INV_VTD, .caps.vtd = { .psi = true, .mamv = 9, .scalable = true },
	  .scope.vtd = { .domain = 3, .has_pasid = true, .pasid = 5 } },
	{ .vendor = IOPT_INV_AMD, .scope.amd = { .domain = 3 } },
	{ .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true },
	  .scope.smmu = { .stage = 1, .asid = 2, .vmid = 1 } },
	{ .vendor = IOPT_INV_SMMU, .policy = { .max_cmds = 4 }, /* no RIL: many fall back */
	  .scope.smmu = { .stage = 2, .vmid = 1 } },
};

/*
 * Command mode: every strict unmap returns only after the decoded, waited-for
 * commands cover its range; the leaf-only hint only for buffers too short
 * for a 2 MiB leaf; lazy flushes submit the scope-wide command.
 */
static void commands(const struct iopt_inv_target *t, enum iopt_dma_mode mode)
{
	struct env e;
	uint64_t seed = 99 + t->vendor, iovas[32], sizes[32], iova, leaf;
	unsigned n = 0, unmaps = 0;

	printf("# command mode, vendor %d, %s\n", t->vendor, mode ? "lazy" : "strict");
	env_up_inv(&e, mode, 0, 0, 0, t);
	for (int step = 0; step < 3000; step++) {
		if (n < 32 && (n == 0 || test_xrand(&seed) % 2)) {
			/* sizes up to 3 MiB, phys 2 MiB-aligned half the time: large leaves */
			sizes[n] = 1 + test_xrand(&seed) % (test_xrand(&seed) % 8 ? 65536 : 3u << 20);
			uint64_t phys = (test_xrand(&seed) % 512) << (test_xrand(&seed) % 2 ? 21 : 12);
			REQUIRE(map(&e, phys, sizes[n], M48, &iovas[n]) == 0);
			n++;
		} else {
			unsigned i = (unsigned)(test_xrand(&seed) % n);

			CHECK_EQ(unmap(&e, iovas[i], sizes[i]), 0);
			unmaps++;
			if (mode == IOPT_DMA_STRICT && e.f.npend)
				CHECK(0); /* completed commands did not cover the range */
			n--;
			iovas[i] = iovas[n];
			sizes[i] = sizes[n];
		}
	}
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	CHECK_EQ(atomic_load(&e.f.bad_cmds), 0);
	if (mode == IOPT_DMA_STRICT) {
		/* one wait per unmap, plus one per large map over an emptied table */
		CHECK(atomic_load(&e.f.waits) >= unmaps);
		CHECK(atomic_load(&e.f.cmds) >= unmaps);
	} else {
		iopt_flushq_drain(iopt_dma_flush_queue(e.dom));
		CHECK_EQ(e.f.npend, 0);
		CHECK(atomic_load(&e.f.scope_cmds) >= 1);
	}
	while (n--)
		CHECK_EQ(unmap(&e, iovas[n], sizes[n]), 0);
	if (mode == IOPT_DMA_STRICT && t->policy.max_cmds == 0) {
		/* one 4 KiB buffer: leaf-only; a 2 MiB one on a 2 MiB page: not */
		leaf = atomic_load(&e.f.leaf_cmds);
		CHECK_EQ(map(&e, 0x1000, 4096, M48, &iova), 0);
		CHECK_EQ(unmap(&e, iova, 4096), 0);
		CHECK(atomic_load(&e.f.leaf_cmds) > leaf);
		leaf = atomic_load(&e.f.leaf_cmds);
		CHECK_EQ(map(&e, 2u << 20, 2u << 20, M48, &iova), 0);
		CHECK_EQ(unmap(&e, iova, 2u << 20), 0);
		CHECK_EQ(atomic_load(&e.f.leaf_cmds), leaf);
		CHECK_EQ(e.f.npend, 0);
	}
	env_down(&e);
}

/* Command mode: did the last submit (its first 4 commands) cover [s, e], none of them leaf-only? */
static bool last_covers(const struct fake *f, uint64_t s, uint64_t e)
{
	struct iopt_inv_decoded d[4];
	unsigned n = f->nlast < 4 ? f->nlast : 4;

	for (unsigned i = 0; i < n; i++)
		if (iopt_inv_decode(f->vendor, &f->last[i], &d[i]) || d[i].leaf_only)
			return false;
	for (uint64_t a = s; a <= e; a += 4096) {
		bool hit = false;

		for (unsigned i = 0; i < n && !hit; i++)
			hit = d[i].kind == IOPT_INV_SCOPE || d[i].kind == IOPT_INV_GLOBAL ||
			      (d[i].kind == IOPT_INV_RANGE && d[i].start <= a && a + 4095 <= d[i].end);
		if (!hit)
			return false;
	}
	return true;
}

/*
 * IOPT_DMA_F_FLUSH_ON_MAP (VT-d caching mode): every successful map
 * (fast path, range map, sg) is invalidated, upper levels included,
 * before it returns; a failed map and a domain without the flag send
 * nothing. inv NULL: range mode.
 */
static void flush_on_map(const struct iopt_inv_target *inv, enum iopt_dma_mode mode)
{
	struct env e;
	uint64_t iova, calls;
	struct iopt_dma_sg s[2] = { { .phys = 0x10000800, .len = 0x800 },
				    { .phys = 0x20000000, .len = 0x3000 } };
	static const uint64_t sizes[] = { 4096, 100, 3u << 20, 2u << 20 };

	printf("# flush on map, %s, %s\n", inv ? "command mode" : "range mode",
	       mode ? "lazy" : "strict");
#define FLUSHES(e) (inv ? atomic_load(&(e).f.waits) : atomic_load(&(e).f.flush_ranges))
	env_up_inv(&e, mode, 0, IOPT_DMA_F_FLUSH_ON_MAP, 0, inv);
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t phys = 0x40000000 + (i << 22) + (sizes[i] < 4096 ? 0x123 : 0);

		calls = FLUSHES(e);
		CHECK_EQ(map(&e, phys, sizes[i], M48, &iova), 0);
		CHECK_EQ(FLUSHES(e), calls + 1);
		if (inv)
			CHECK(last_covers(&e.f, iova & ~4095ull, ((iova + sizes[i] + 4095) & ~4095ull) - 1));
		CHECK_EQ(unmap(&e, iova, sizes[i]), 0);
	}
	calls = FLUSHES(e);
	CHECK_EQ(iopt_dma_map_sg(e.dom, s, 2, RW, M32), 0);
	CHECK_EQ(FLUSHES(e), calls + 1); /* one for the whole list */
	if (inv)
		CHECK(last_covers(&e.f, s[0].dma_addr & ~4095ull, s[1].dma_addr + 0x3000 - 1));
	fake_unmapping(&e.f, s[0].dma_addr, s[1].dma_addr + 0x3000 - s[0].dma_addr);
	CHECK_EQ(iopt_dma_unmap_sg(e.dom, s, 2), 0);
	/* failures invalidate nothing: bad size, bad prot, a table page refused */
	calls = FLUSHES(e);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 0, RW, M48, &iova), -EINVAL);
	CHECK_EQ(iopt_dma_map(e.dom, 0x1000, 4096, 0, M48, &iova), -EINVAL);
	e.d.tp.fail_at = 1;
	e.d.tp.persistent = true;
	atomic_store(&e.d.tp.allocs, 0);
	CHECK_EQ(iopt_dma_map(e.dom, 0x80000000, 4u << 20, RW, 0xFFFFFFFFFFull, &iova), -ENOMEM);
	e.d.tp.fail_at = 0;
	CHECK_EQ(FLUSHES(e), calls);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
	/* without the flag a map sends nothing */
	env_up_inv(&e, mode, 0, 0, 0, inv);
	calls = FLUSHES(e);
	CHECK_EQ(map(&e, 0x40000000, 4096, M48, &iova), 0);
	CHECK_EQ(map(&e, 0x40400000, 3u << 20, M48, &iova), 0);
	CHECK_EQ(FLUSHES(e), calls);
	env_down(&e);
#undef FLUSHES
}

/*
 * A 2 MiB map over an emptied leaf table replaces it: the table's flush is
 * the domain's, so the old table is invalidated before it is freed.
 */
static void table_replaced(const struct iopt_inv_target *inv)
{
	struct env e;
	uint64_t a, b;
	long live;

	TEST(inv ? "large map over an empty table: command-mode flush first"
		 : "large map over an empty table: range-mode flush first");
	env_up_inv(&e, IOPT_DMA_STRICT, IOPT_IOVA_NO_RCACHE, 0, 0, inv);
	CHECK_EQ(map(&e, 0x1000, 4096, M32, &a), 0);
	CHECK_EQ(unmap(&e, a, 4096), 0); /* its leaf table stays, empty */
	live = atomic_load(&e.d.tp.live);
	uint64_t w = atomic_load(&e.f.waits), fa = atomic_load(&e.f.flush_alls);
	uint64_t fr = atomic_load(&e.f.flush_ranges), leaf = atomic_load(&e.f.leaf_cmds);
	CHECK_EQ(map(&e, 2u << 20, 2u << 20, M32, &b), 0);
	CHECK_EQ(b, a & ~((2ull << 20) - 1)); /* same 2 MiB slot, top-down */
	CHECK_EQ(atomic_load(&e.d.tp.live), live - 1);
	if (inv) {
		CHECK_EQ(atomic_load(&e.f.waits), w + 1);
		CHECK_EQ(atomic_load(&e.f.leaf_cmds), leaf); /* a table went: not leaf-only */
	} else {
		CHECK_EQ(atomic_load(&e.f.flush_alls) + atomic_load(&e.f.flush_ranges), fa + fr + 1);
	}
	CHECK_EQ(unmap(&e, b, 2u << 20), 0);
	env_down(&e);
}

/*
 * The inline plans: a buffer within one granule (leaf fast path) and an
 * rcache-sized block (gather path) are invalidated by exactly the
 * planner's plan for the granules that were mapped, leaf-only, as one
 * submit + wait; also when the thread's cached table is elsewhere (the
 * fast path declines) and for sizes without a template (3, 33 granules).
 */
static void inline_plans(const struct iopt_inv_target *t)
{
	static const uint64_t sizes[] = { 1, 100, 4096, 2 * 4096, 3 * 4096, 4 * 4096, 16 * 4096,
					  32 * 4096, 33 * 4096 };
	struct env e;
	uint64_t iova, big[2], bad = 0;

	printf("# inline plans = planner, vendor %d\n", t->vendor);
	env_up_inv(&e, IOPT_DMA_STRICT, 0, 0, 0, t);
	for (int round = 0; round < 3; round++) {
		/* round 1: a 2 MiB leaf mapped last points the thread's cache elsewhere */
		if (round == 1)
			CHECK_EQ(map(&e, 2u << 20, 2u << 20, M48, &big[0]), 0);
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint64_t off = sizes[i] < 4096 ? 0x123 : 0, len, w = atomic_load(&e.f.waits);
			struct iopt_inv_cmd ref[4];

			CHECK_EQ(map(&e, 0x40000000 + off, sizes[i], M48, &iova), 0);
			if (round == 1 && i == 0)
				CHECK_EQ(map(&e, 4u << 20, 2u << 20, M48, &big[1]), 0);
			len = (off + sizes[i] + 4095) & ~4095ull; /* what is mapped, not the IOVA class */
			struct iopt_inv_range r = { iova - off, iova - off + len - 1 };
			struct iopt_inv_req q = { &r, 1, 4096, true };
			int n = iopt_inv_plan(t, &q, ref, 4);
			if (n < 0)
				n = iopt_inv_plan_scope(t, ref);
			CHECK_EQ(unmap(&e, iova, sizes[i]), 0);
			CHECK_EQ(atomic_load(&e.f.waits), w + 1);
			if (n > 4 || e.f.nlast != (unsigned)n ||
			    memcmp(e.f.last, ref, (size_t)n * sizeof(ref[0]))) {
				printf("#   round %d size %#llx: %u commands, planner %d\n", round,
				       (unsigned long long)sizes[i], e.f.nlast, n);
				bad++;
			}
		}
		if (round == 1) {
			CHECK_EQ(unmap(&e, big[0], 2u << 20), 0);
			CHECK_EQ(unmap(&e, big[1], 2u << 20), 0);
		}
	}
	CHECK_EQ(bad, 0);
	CHECK_EQ(e.f.npend, 0);
	CHECK_EQ(atomic_load(&e.f.bad_cmds), 0);
	env_down(&e);
}

/*
 * The one-granule unmap fast path refuses what the full checks refuse,
 * with the same errno, before anything changes: a size of another class
 * (-EINVAL), inside an allocation or never allocated (-ENOENT), a second
 * unmap of a freed (strict) or queued (lazy) buffer (-ENOENT), size 0.
 * No command, flush or queue entry comes out of a refused call.
 */
static void fast_refusals(enum iopt_dma_mode mode, unsigned dma_flags)
{
	struct env e;
	uint64_t a, b, c, phys, nodes, pend = 0;
	struct iopt_flushq *fq;
	bool trusted = dma_flags & IOPT_DMA_F_TRUSTED;

	printf("# one-granule refusals, %s%s\n", mode ? "lazy" : "strict", trusted ? ", trusted" : "");
	env_up_inv(&e, mode, 0, dma_flags, 0, &targets[0]);
	fq = iopt_dma_flush_queue(e.dom);
	CHECK_EQ(map(&e, 0x10000, 4096, M32, &a), 0);
	CHECK_EQ(map(&e, 0x20000, 2 * 4096, M32, &b), 0);
	CHECK_EQ(map(&e, 0x30123, 0x100, M32, &c), 0);
	nodes = tree_nodes(&e);
	uint64_t cmds = atomic_load(&e.f.cmds), waits = atomic_load(&e.f.waits);
	if (!trusted)
		CHECK_EQ(iopt_dma_unmap(e.dom, b, 4096), -EINVAL); /* 1 granule of a 2-granule buffer */
	if (!trusted)
		CHECK_EQ(iopt_dma_unmap(e.dom, b + 4096, 4096), -ENOENT); /* inside: trusted would unmap it */
	CHECK_EQ(iopt_dma_unmap(e.dom, 0x1000, 4096), -ENOENT);   /* never allocated */
	CHECK_EQ(iopt_dma_unmap(e.dom, a, 0), -EINVAL);
	CHECK_EQ(atomic_load(&e.f.cmds), cmds);
	CHECK_EQ(atomic_load(&e.f.waits), waits);
	CHECK_EQ(tree_nodes(&e), nodes);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, b + 4096, &phys), 0);
	CHECK_EQ(phys, 0x21000);
	CHECK_EQ(iopt_pt_iova_to_phys(e.d.pt, a, &phys), 0);
	if (fq)
		pend = iopt_flushq_pending(fq);
	CHECK_EQ(unmap(&e, c, 0x100), 0);
	CHECK_EQ(unmap(&e, a, 4096), 0);
	if (fq)
		CHECK_EQ(iopt_flushq_pending(fq), pend + 2);
	cmds = atomic_load(&e.f.cmds);
	waits = atomic_load(&e.f.waits);
	CHECK_EQ(iopt_dma_unmap(e.dom, c, 0x100), -ENOENT);
	CHECK_EQ(iopt_dma_unmap(e.dom, a, 4096), -ENOENT);
	CHECK_EQ(atomic_load(&e.f.cmds), cmds);
	CHECK_EQ(atomic_load(&e.f.waits), waits);
	if (fq)
		CHECK_EQ(iopt_flushq_pending(fq), pend + 2);
	CHECK_EQ(unmap(&e, b, 2 * 4096), 0);
	CHECK_EQ(atomic_load(&e.f.violations), 0);
	env_down(&e);
}

/* Command-mode configuration errors. */
static void command_cfg_errors(void)
{
	struct env e;
	struct iopt_dma_domain *d = (void *)1;

	TEST("command mode: bad targets and missing callbacks are -EINVAL");
	env_up(&e, IOPT_DMA_STRICT, 0, 0, 0);
	struct iopt_dma_cfg dc = { .pt = e.d.pt, .iovad = e.d.iovad, .inv = targets[0] };
	dc.ops = fake_ops(&e.f); /* range callbacks only */
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	dc.ops = fake_cmd_ops(&e.f, IOPT_INV_VTD);
	dc.ops.wait = NULL;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	dc.ops = fake_cmd_ops(&e.f, IOPT_INV_VTD);
	dc.inv.caps.vtd.mamv = 64;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	dc.inv = targets[0];
	dc.inv.vendor = 7;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	dc.inv = targets[2];
	dc.inv.scope.smmu.stage = 3;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	dc.inv = targets[1];
	dc.inv.policy.max_cmds = IOPT_INV_MAX_BUDGET + 1;
	CHECK_EQ(iopt_dma_create(&dc, &d), -EINVAL);
	CHECK(d == (void *)1);
	dc.inv = targets[1];
	dc.ops = fake_cmd_ops(&e.f, IOPT_INV_AMD);
	CHECK_EQ(iopt_dma_create(&dc, &d), 0);
	iopt_dma_destroy(d);
	env_down(&e);
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		commands(&targets[i], IOPT_DMA_STRICT);
		commands(&targets[i], IOPT_DMA_LAZY);
	}
	command_cfg_errors();
	for (enum iopt_dma_mode m = IOPT_DMA_STRICT; m <= IOPT_DMA_LAZY; m++) {
		flush_on_map(NULL, m);
		for (unsigned i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
			flush_on_map(&targets[i], m);
	}
	for (unsigned i = 0; i < sizeof(targets) / sizeof(targets[0]); i++)
		inline_plans(&targets[i]);
	fast_refusals(IOPT_DMA_STRICT, 0);
	fast_refusals(IOPT_DMA_LAZY, 0);
	fast_refusals(IOPT_DMA_STRICT, IOPT_DMA_F_TRUSTED);
	fast_refusals(IOPT_DMA_LAZY, IOPT_DMA_F_TRUSTED);
	table_replaced(NULL);
	table_replaced(&targets[0]);
	table_pages(IOPT_DMA_STRICT);
	table_pages(IOPT_DMA_LAZY);
	lifecycle(IOPT_DMA_STRICT, 0);
	lifecycle(IOPT_DMA_STRICT, 4);
	lifecycle(IOPT_DMA_LAZY, 0);
	lazy_rate();
	page_sizes_and_offsets();
	sg(IOPT_DMA_STRICT);
	sg(IOPT_DMA_LAZY);
	errors(IOPT_DMA_STRICT);
	errors(IOPT_DMA_LAZY);
	msi_and_create();
	list_gather();
	return tap_done();
}
