/* SPDX-License-Identifier: MIT */
/*
 * QEMU 7.2's SMMUv3 (virt,iommu=smmuv3) as the judge of the library's
 * stage-1 tables, context descriptors, stream tables and invalidations
 * (docs/QEMU.md, "Arm SMMUv3"). The edu device (StreamID = its PCI RID)
 * does real DMA through the SMMU; the reference driver is smmu_drv.c.
 *
 * Every configuration is a fresh machine and checks, for each leaf it maps:
 *   (a) data arrives through the mapped IOVA, both directions;
 *   (b) negative control: after the PTEs are cleared WITHOUT invalidating,
 *       the warmed translation still works (QEMU's IOTLB really caches);
 *   (c) after the library's invalidation (iopt_inv_plan -> command queue ->
 *       CMD_SYNC) the DMA faults: an F_TRANSLATION event names the StreamID,
 *       the IOVA and the direction; memory is untouched / data does not come;
 *   (d) what the configuration is about (sizes, granules, runs, RIL, split,
 *       2-level stream table, configuration caching, the DMA layer).
 *
 * Probes: each descriptor of a leaf gets one (two when the test's data
 * arena lies inside it). A probe whose target is RAM this test owns checks
 * data and events; one past the end of RAM (blocks and runs reach there) is
 * judged by the event queue alone; device space below RAM and RAM in use
 * (the DTB, tables, queues) are not probed.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "smmu_drv.h"
#include "tap.h"

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (256ull << 20)
#define RAM_END (RAM_BASE + RAM_SIZE)
#define ARENA_SIZE (96ull << 20)
#define SCRATCH_IOVA 0x10000ull /* one granule, mapped for the whole test */
#define PROBE 64u
#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define MAX_TGT 160
#define MAX_CMDS IOPT_INV_MAX_BUDGET
#define MAX_EVT 4096

#define KiB (1ull << 10)
#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* A check with details on failure. */
#define EXPECT(cond, ...)                                                         \
	do {                                                                      \
		if (!tap_check(!!(cond), #cond, __FILE__, __LINE__)) {            \
			printf("#   ");                                              \
			printf(__VA_ARGS__);                                          \
			printf("\n");                                                 \
		}                                                                 \
	} while (0)

struct mach {
	struct qm m;
	struct qm_edu edu[2];
	struct qm_edu *e;         /* the device probes use */
	struct smmu_drv d;
	uint64_t low;              /* RAM this test owns: 31 MiB at 0x40100000 ... */
	uint64_t arena, arena_brk; /* ... and 96 MiB at 0x42000000 (data of the leaves) */
	struct iopt_pt *pt;
	uint64_t scratch;         /* 64 KiB at SCRATCH_IOVA in every table */
	struct iopt_inv_target t;
	struct iopt_inv_cmd last[MAX_CMDS]; /* the latest invalidation's commands */
	int nlast;
	struct smmu_evt ev[MAX_EVT]; /* the latest probe batch's events */
	unsigned nev, stray;
};

static struct mach M; /* one machine at a time */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double t_start;

static struct mach *start(const char *name, unsigned split, const char *const *args)
{
	struct mach *x = &M;

	TEST(name);
	t_start = now();
	memset(x, 0, sizeof(*x));
	REQUIRE(qm_start(&x->m, &(struct qm_cfg){ .arch = QM_ARM, .machine_opts = ",iommu=smmuv3",
						  .args = args, .ram_size = RAM_SIZE }) == 0);
	/* First allocations: everything below 0x48000000 but the DTB's first MiB. */
	x->low = qm_alloc(&x->m, 31 * MiB, MiB);
	x->arena = qm_alloc(&x->m, ARENA_SIZE, 32 * MiB);
	REQUIRE(x->low == RAM_BASE + MiB && x->arena == x->low + 31 * MiB);
	qm_edu_init(&x->m, &x->edu[0]);
	x->e = &x->edu[0];
	smmu_init(&x->d, &x->m, split);
	return x;
}

static void stop(struct mach *x)
{
	if (x->pt)
		iopt_pt_free(x->pt);
	x->pt = NULL;
	qm_stop(&x->m);
	printf("#   %.2f s\n", now() - t_start);
}

/* Bump allocation inside the arena (data regions of the leaves). */
static uint64_t arena(struct mach *x, uint64_t size, uint64_t align)
{
	uint64_t a = (x->arena + x->arena_brk + align - 1) & ~(align - 1);
	REQUIRE(a + size <= x->arena + ARENA_SIZE);
	x->arena_brk = a + size - x->arena;
	return a;
}

/* A stage-1 table of granule @g for the probing device, ASID @asid. */
static struct iopt_pt *new_table(struct mach *x, unsigned g, unsigned flags, uint16_t asid,
				 bool ril)
{
	struct iopt_pt_cfg cfg;
	struct iopt_pt *pt = NULL;
	uint64_t mapped;

	REQUIRE(iopt_smmu_pt_cfg(&x->d.hw, 1, g, 48, flags, &cfg) == 0);
	cfg.provider = qm_provider(&x->m);
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	if (!x->scratch)
		x->scratch = qm_alloc(&x->m, 64 * KiB, 64 * KiB);
	REQUIRE(iopt_pt_map_pages(pt, SCRATCH_IOVA, x->scratch, 1ull << g, 1, RW, &mapped) == 0);
	smmu_attach(&x->d, x->e->bdf, pt, asid);
	x->t = (struct iopt_inv_target){ .vendor = IOPT_INV_SMMU,
					 .policy = { .max_cmds = MAX_CMDS },
					 .scope.smmu = { .stage = 1, .asid = asid } };
	REQUIRE(iopt_smmu_inv_caps(&x->d.hw, g, &x->t.caps.smmu) == 0);
	x->t.caps.smmu.range_inv &= ril; /* a driver may always choose TG=0 commands */
	return pt;
}

/* ---- probes ---- */

/* A probe target: @pa is the RAM behind @iova when this test owns it, 0 for event-only. */
struct tgt {
	uint64_t iova, pa;
};

struct res {
	bool arrived;   /* data made it (event-only: no event for it) */
	bool untouched; /* write: the target kept its contents */
	bool faulted;   /* an F_TRANSLATION at the probe's IOVA naming the device and direction */
	unsigned nevt;  /* events inside the probe's range */
	unsigned nbad;  /* of which not such a translation fault */
};

static uint32_t seed = 1;

static uint32_t next_seed(void)
{
	seed += 2; /* qm_fill uses seed | 1: keep every pattern distinct */
	return seed;
}

/* Read the events and give each probe those inside [iova, iova + PROBE). */
static void attribute(struct mach *x, const struct tgt *t, unsigned n, bool to_dev, struct res *r)
{
	x->nev = smmu_events(&x->d, x->ev, MAX_EVT);
	REQUIRE(x->nev <= MAX_EVT);
	for (unsigned k = 0; k < x->nev; k++) {
		const struct smmu_evt *e = &x->ev[k];
		unsigned i = 0;
		while (i < n && (e->addr < t[i].iova || e->addr >= t[i].iova + PROBE))
			i++;
		if (i == n) {
			x->stray++;
			continue;
		}
		bool ours = e->type == SMMU_EVT_F_TRANSLATION && e->sid == x->e->bdf &&
			    e->rnw == to_dev && !e->ssv;
		r[i].nevt++;
		r[i].nbad += !ours;
		r[i].faulted |= ours && e->addr == t[i].iova;
	}
	for (unsigned i = 0; i < n; i++)
		if (!t[i].pa)
			r[i].arrived = r[i].nevt == 0;
}

/* edu buffer -> RAM through each target; one round of events. */
static void write_all(struct mach *x, const struct tgt *t, unsigned n, struct res *r)
{
	static uint8_t before[MAX_TGT][PROBE];

	qm_fill(&x->m, x->scratch, PROBE, next_seed());
	qm_edu_dma(x->e, true, SCRATCH_IOVA, 0, PROBE);
	smmu_events(&x->d, NULL, 0); /* only what the probes cause counts */
	for (unsigned i = 0; i < n; i++) {
		r[i] = (struct res){ 0 };
		if (t[i].pa) {
			qm_fill(&x->m, t[i].pa, PROBE, next_seed());
			memcpy(before[i], qm_gpa(&x->m, t[i].pa, PROBE), PROBE);
		}
		qm_edu_dma(x->e, false, t[i].iova, 0, PROBE);
	}
	for (unsigned i = 0; i < n; i++) {
		if (!t[i].pa)
			continue;
		r[i].arrived = qm_same(&x->m, t[i].pa, x->scratch, PROBE);
		r[i].untouched = !memcmp(before[i], qm_gpa(&x->m, t[i].pa, PROBE), PROBE);
	}
	attribute(x, t, n, false, r);
}

/* RAM -> edu buffer through each target (a slot each), the buffer back out in chunks. */
static void read_all(struct mach *x, const struct tgt *t, unsigned n, struct res *r)
{
	const unsigned per = QM_EDU_MAX / PROBE;

	smmu_events(&x->d, NULL, 0);
	for (unsigned i0 = 0; i0 < n; i0 += per) {
		unsigned k = n - i0 < per ? n - i0 : per;
		for (unsigned j = 0; j < k; j++) {
			r[i0 + j] = (struct res){ 0 };
			if (t[i0 + j].pa)
				qm_fill(&x->m, t[i0 + j].pa, PROBE, next_seed());
			qm_edu_dma(x->e, true, t[i0 + j].iova, j * PROBE, PROBE);
		}
		qm_edu_dma(x->e, false, SCRATCH_IOVA, 0, k * PROBE);
		for (unsigned j = 0; j < k; j++)
			if (t[i0 + j].pa)
				r[i0 + j].arrived = qm_same(&x->m, t[i0 + j].pa, x->scratch + j * PROBE, PROBE);
	}
	attribute(x, t, n, true, r);
}

enum want { REACH, FAULT };

static void expect_all(struct mach *x, const struct tgt *t, unsigned n, bool to_dev, enum want w,
		       const char *what, const char *phase)
{
	static struct res r[MAX_TGT];
	unsigned bad = 0, first = 0;

	x->stray = 0;
	if (to_dev)
		read_all(x, t, n, r);
	else
		write_all(x, t, n, r);
	for (unsigned i = 0; i < n; i++) {
		bool ok = w == REACH ? r[i].arrived && r[i].nevt == 0
				     : r[i].faulted && r[i].nbad == 0 &&
					       (!t[i].pa || (to_dev ? !r[i].arrived : r[i].untouched));
		if (!ok && !bad++)
			first = i;
	}
	EXPECT(bad == 0 && x->stray == 0,
	       "%s, %s, %s: %u of %u probes wrong (first: iova 0x%llx pa 0x%llx arrived %d "
	       "untouched %d faulted %d events %u), %u stray events",
	       what, phase, to_dev ? "read" : "write", bad, n, (unsigned long long)t[first].iova,
	       (unsigned long long)t[first].pa, r[first].arrived, r[first].untouched,
	       r[first].faulted, r[first].nevt, x->stray);
}

static void expect_reach(struct mach *x, const struct tgt *t, unsigned n, const char *what,
			 const char *phase)
{
	expect_all(x, t, n, false, REACH, what, phase);
	expect_all(x, t, n, true, REACH, what, phase);
}

static void expect_fault(struct mach *x, const struct tgt *t, unsigned n, const char *what,
			 const char *phase)
{
	expect_all(x, t, n, false, FAULT, what, phase);
	expect_all(x, t, n, true, FAULT, what, phase);
}

/* ---- targets: one probe per descriptor ---- */

static bool owned(const struct mach *x, uint64_t pa)
{
	return (pa >= x->low && pa + PROBE <= x->arena + ARENA_SIZE) ||
	       (pa >= x->m.brk && pa + PROBE <= RAM_END);
}

static void add_tgt(const struct mach *x, struct tgt *t, unsigned *n, uint64_t iova, uint64_t pa)
{
	if (pa < RAM_END && !owned(x, pa))
		return; /* device space, or RAM in use: not probed */
	REQUIRE(*n < MAX_TGT);
	t[(*n)++] = (struct tgt){ iova, pa < RAM_END ? pa : 0 };
}

static unsigned targets(const struct mach *x, uint64_t iova, uint64_t pa, uint64_t size,
			uint64_t step, struct tgt *t)
{
	unsigned n = 0;
	for (uint64_t o = 0; o < size; o += step) {
		uint64_t mid = o + (step > 4 * KiB ? step / 2 : 2 * KiB);
		add_tgt(x, t, &n, iova + mid, pa + mid);
		/* The descriptor holding the arena gets a data probe there too. */
		if (x->arena >= pa + o && x->arena < pa + o + step && !owned(x, pa + mid))
			add_tgt(x, t, &n, iova + (x->arena - pa) + 2 * KiB, x->arena + 2 * KiB);
	}
	return n;
}

/* ---- invalidation through the hardware queue ---- */

static int plan(struct mach *x, uint64_t start, uint64_t end, uint64_t stride, bool leaf,
		struct iopt_inv_cmd *c)
{
	struct iopt_inv_range r = { start, end };
	struct iopt_inv_req req = { .ranges = &r, .nr_ranges = 1, .stride = stride, .leaf_only = leaf };
	return iopt_inv_plan(&x->t, &req, c, MAX_CMDS);
}

/*
 * Plan the gather's range, submit, CMD_SYNC; release its tables after.
 * The commands stay in x->last; returns their count.
 */
static int invalidate(struct mach *x, struct iopt_gather *g)
{
	int n = plan(x, g->start, g->end, g->pgsize, g->freelist == NULL, x->last);
	REQUIRE(n > 0);
	smmu_submit(&x->d, x->last, (unsigned)n);
	smmu_sync(&x->d);
	iopt_gather_sync(g); /* no flush callback: the tables go after the SYNC above */
	x->nlast = n;
	return n;
}

/* Decoded commands: one range command covering [s, e]. */
static bool one_range_over(const struct iopt_inv_cmd *c, int n, uint64_t s, uint64_t e)
{
	struct iopt_inv_decoded d;
	return n == 1 && iopt_inv_decode_smmu(&c[0], &d) == 0 && d.kind == IOPT_INV_RANGE &&
	       (c[0].w[1] >> 10 & 3) != 0 && d.start <= s && d.end >= e;
}

/* ... or one TG=0 command per descriptor, every @step from @s. */
static bool per_descriptor(const struct iopt_inv_cmd *c, int n, uint64_t s, uint64_t size,
			   uint64_t step)
{
	if (n < 0 || (uint64_t)n != size / step)
		return false;
	for (int i = 0; i < n; i++) {
		struct iopt_inv_decoded d;
		if (iopt_inv_decode_smmu(&c[i], &d) || d.kind != IOPT_INV_RANGE ||
		    (c[i].w[1] >> 10 & 3) != 0 || d.start != s + (uint64_t)i * step)
			return false;
	}
	return true;
}

/*
 * One leaf of @size at @iova -> @pa (a page, block or contiguous run),
 * descriptors of @step: (a), (b), (c). The plan's commands are in x->last.
 */
static void leaf(struct mach *x, const char *what, uint64_t iova, uint64_t pa, uint64_t size,
		 uint64_t step)
{
	static struct tgt t[MAX_TGT];
	struct iopt_gather g;
	uint64_t done = 0, phys = 0;

	EXPECT(iopt_pt_map_pages(x->pt, iova, pa, size, 1, RW, &done) == 0 && done == size,
	       "%s: map 0x%llx bytes", what, (unsigned long long)size);
	unsigned n = targets(x, iova, pa, size, step, t);
	expect_reach(x, t, n, what, "mapped");

	iopt_gather_init(&g, false, NULL, NULL);
	EXPECT(iopt_pt_unmap_pages(x->pt, iova, size, 1, &g, &done) == 0 && done == size, "%s: unmap",
	       what);
	EXPECT(iopt_pt_iova_to_phys(x->pt, iova, &phys) == -ENOENT, "%s: PTE still there", what);
	expect_all(x, t, n, false, REACH, what, "PTEs cleared, no TLBI (QEMU's IOTLB still has them)");
	invalidate(x, &g);
	expect_fault(x, t, n, what, "after TLBI + CMD_SYNC");
}

/* ---- configurations ---- */

/* Every event of the last batch is @type from @sid (configuration errors carry no address). */
static bool all_events(const struct mach *x, unsigned type, uint32_t sid)
{
	unsigned k = 0;
	while (k < x->nev && x->ev[k].type == type && x->ev[k].sid == sid)
		k++;
	return x->nev > 0 && k == x->nev;
}

static void pages_4k(void)
{
	struct iopt_pt_cfg cfg;
	struct iopt_gather g;
	struct res r;
	uint64_t done, w[8];

	struct mach *x = start("lpae_s1 4K granule, 4K pages: raw map/unmap + TLBI + CMD_SYNC; CFGI_CD, CFGI_STE", 0, NULL);
	/* (d) what QEMU advertises, and that stage 2 is never handed to it. */
	CHECK(x->d.hw.s1p && !x->d.hw.s2p && x->d.hw.oas == 44 && x->d.hw.ril && x->d.hw.sidsize == 16);
	CHECK(x->d.hw.gran4k && x->d.hw.gran16k && x->d.hw.gran64k && x->d.hw.bbml == 2 && !x->d.hw.httu);
	CHECK_EQ(iopt_smmu_pt_cfg(&x->d.hw, 2, 12, 0, 0, &cfg), -EOPNOTSUPP);
	struct iopt_smmu_ste s2 = { .valid = true, .config = IOPT_SMMU_STE_S2, .s2_granule_lg2 = 12,
				    .s2_ias = 40, .s2_levels = 3, .s2_oas = 40, .s2_ttb = x->arena };
	CHECK_EQ(iopt_smmu_ste_encode(&x->d.hw, &s2, w), -EOPNOTSUPP);

	x->pt = new_table(x, 12, 0, 1, true);
	uint64_t iova = 0x200000, pa = arena(x, 4 * 4096, 4096);
	CHECK(iopt_pt_map_pages(x->pt, iova, pa, 4096, 4, RW, &done) == 0 && done == 4 * 4096);

	/* (a) every page both ways, and RAM -> edu -> RAM through two mapped IOVAs. */
	struct tgt t[4];
	for (int i = 0; i < 4; i++)
		t[i] = (struct tgt){ iova + 4096 * i + 0x100, pa + 4096 * i + 0x100 };
	expect_reach(x, t, 4, "4K pages", "mapped");
	qm_fill(&x->m, pa, QM_EDU_MAX, next_seed());
	qm_edu_dma(x->e, true, iova, 0, QM_EDU_MAX);
	qm_edu_dma(x->e, false, iova + 3 * 4096, 0, QM_EDU_MAX);
	CHECK(qm_same(&x->m, pa, pa + 3 * 4096, QM_EDU_MAX));

	/* (b) + (c): page 1 with a range command (RIL), page 2 with TG=0 (a driver's choice). */
	iopt_gather_init(&g, false, NULL, NULL);
	CHECK(iopt_pt_unmap_pages(x->pt, iova + 4096, 4096, 1, &g, &done) == 0 && done == 4096);
	expect_all(x, &t[1], 1, false, REACH, "page 1", "PTE cleared, no TLBI");
	int n = invalidate(x, &g);
	CHECK(one_range_over(x->last, n, iova + 4096, iova + 8191));
	expect_fault(x, &t[1], 1, "page 1", "after a range TLBI_NH_VA + CMD_SYNC");
	x->t.caps.smmu.range_inv = false;
	iopt_gather_init(&g, false, NULL, NULL);
	CHECK(iopt_pt_unmap_pages(x->pt, iova + 2 * 4096, 4096, 1, &g, &done) == 0 && done == 4096);
	expect_all(x, &t[2], 1, true, REACH, "page 2", "PTE cleared, no TLBI");
	n = invalidate(x, &g);
	CHECK(per_descriptor(x->last, n, iova + 2 * 4096, 4096, 4096));
	expect_fault(x, &t[2], 1, "page 2", "after a TG=0 TLBI_NH_VA + CMD_SYNC");
	expect_reach(x, &t[0], 1, "page 0", "neighbour kept");
	expect_reach(x, &t[3], 1, "page 3", "neighbour kept");

	/* (d) QEMU caches the CD until CFGI_CD: an invalid CD still translates before it. */
	uint32_t sid = x->e->bdf;
	struct iopt_smmu_ste_loc loc;
	REQUIRE(iopt_smmu_strtab_locate(&x->d.st, sid, &loc) == 0);
	uint64_t *ste = qm_gpa(&x->m, x->d.st.base + loc.ste_off, 64);
	struct iopt_smmu_ste live;
	REQUIRE(iopt_smmu_ste_decode(ste, &live) == 0 && live.config == IOPT_SMMU_STE_S1);
	uint64_t *cdp = qm_gpa(&x->m, live.s1_ctx_ptr, 64), saved[8];
	memcpy(saved, cdp, 64);
	CHECK_EQ(iopt_smmu_cd_encode(&x->d.hw, &(struct iopt_smmu_cd){ 0 }, w), 0);
	memcpy(cdp, w, 64);
	expect_reach(x, &t[0], 1, "CD invalid, no CFGI_CD", "config cached");
	smmu_cfgi(&x->d, &(struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_CD, .sid = sid, .leaf = true });
	smmu_sync(&x->d);
	write_all(x, &t[0], 1, &r);
	CHECK(!r.arrived && r.untouched && all_events(x, SMMU_EVT_C_BAD_CD, sid));
	memcpy(cdp, saved, 64);
	smmu_cfgi(&x->d, &(struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_CD_ALL, .sid = sid });
	smmu_sync(&x->d);
	expect_reach(x, &t[0], 1, "CD restored, CFGI_CD_ALL", "mapped");

	/* ... and the STE until CFGI_STE: an abort STE aborts after it, recording nothing. */
	CHECK_EQ(iopt_smmu_ste_encode(&x->d.hw,
				      &(struct iopt_smmu_ste){ .valid = true, .config = IOPT_SMMU_STE_ABORT },
				      w), 0);
	memcpy(saved, ste, 64);
	memcpy(ste, w, 64);
	expect_reach(x, &t[0], 1, "abort STE, no CFGI_STE", "config cached");
	smmu_cfgi(&x->d, &(struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_STE, .sid = sid, .leaf = true });
	smmu_sync(&x->d);
	write_all(x, &t[0], 1, &r);
	CHECK(!r.arrived && r.untouched && x->nev == 0);
	memcpy(ste, saved, 64);
	smmu_cfgi(&x->d, &(struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_STE_RANGE, .sid = sid, .range = 3 });
	smmu_sync(&x->d);
	expect_reach(x, &t[0], 1, "STE restored, CFGI_STE_RANGE", "mapped");
	stop(x);
}

/*
 * A contiguous run with RIL off: the planner's one TG=0 command per
 * descriptor (commit 494512e). The negative control first sends what the
 * planner used to: one TG=0 command at the run's first page, which leaves
 * the other descriptors' IOTLB entries (QEMU caches each separately).
 */
static void run_ril_off(struct mach *x, const char *what, uint64_t iova, uint64_t pa,
			uint64_t size, uint64_t step)
{
	static struct tgt t[MAX_TGT];
	static struct res r[MAX_TGT];
	struct iopt_inv_cmd c[MAX_CMDS];
	struct iopt_gather g;
	uint64_t done = 0;

	EXPECT(iopt_pt_map_pages(x->pt, iova, pa, size, 1, RW, &done) == 0 && done == size, "%s: map",
	       what);
	unsigned n = targets(x, iova, pa, size, step, t);
	expect_reach(x, t, n, what, "mapped");
	iopt_gather_init(&g, false, NULL, NULL);
	EXPECT(iopt_pt_unmap_pages(x->pt, iova, size, 1, &g, &done) == 0 && done == size, "%s: unmap", what);
	/* The gather's stride is the descriptor (one slot of the run), not the run. */
	CHECK(g.pgsize == step && !g.mixed);

	int k = plan(x, iova, iova + step - 1, step, true, c);
	CHECK(per_descriptor(c, k, iova, step, step));
	smmu_submit(&x->d, c, (unsigned)k);
	smmu_sync(&x->d);
	x->stray = 0;
	write_all(x, t, n, r);
	unsigned stale = 0, first = 0, nfirst = 0;
	for (unsigned i = 0; i < n; i++) {
		if (t[i].iova < iova + step) {
			nfirst++;
			first += r[i].faulted && r[i].nbad == 0 && (!t[i].pa || r[i].untouched);
		} else {
			stale += r[i].arrived && r[i].nevt == 0;
		}
	}
	/* (16G runs: the first descriptor is device space, never probed.) */
	EXPECT(first == nfirst && stale == n - nfirst && stale > 0 && x->stray == 0,
	       "%s: TLBI of the first page only: %u of %u faulted, %u of %u still reachable", what,
	       first, nfirst, stale, n - nfirst);

	int nc = plan(x, g.start, g.end, g.pgsize, g.freelist == NULL, c);
	EXPECT(per_descriptor(c, nc, iova, size, step), "%s: %d commands for %llu descriptors", what,
	       nc, (unsigned long long)(size / step));
	smmu_submit(&x->d, c, (unsigned)nc);
	smmu_sync(&x->d);
	iopt_gather_sync(&g);
	expect_fault(x, t, n, what, "after one TG=0 TLBI_NH_VA per descriptor");
}

struct leaf_spec {
	uint64_t size, step;
	uint64_t pa;   /* ~0: a region of the arena */
	uint64_t iova;
};

/*
 * One granule: a page, its blocks, its contiguous runs with RIL on (one
 * range command each) and off (run_ril_off). IOVAs of the RIL-off cases are
 * 64 GiB higher; the data regions are reused.
 */
static void granule(const char *name, unsigned g, const struct leaf_spec *blk, unsigned nblk,
		    const struct leaf_spec *run, unsigned nrun)
{
	struct mach *x = start(name, 0, NULL);
	char what[80];

	x->pt = new_table(x, g, 0, 3, true);
	uint64_t gsz = 1ull << g, pa = arena(x, 2 * gsz, gsz);
	leaf(x, "page", 0x40000000, pa, gsz, gsz);
	CHECK(one_range_over(x->last, x->nlast, 0x40000000, 0x40000000 + gsz - 1));
	for (unsigned i = 0; i < nblk; i++) {
		const struct leaf_spec *b = &blk[i];
		uint64_t bpa = b->pa != ~0ull ? b->pa : arena(x, b->size, b->size);
		snprintf(what, sizeof(what), "%llu MiB block", (unsigned long long)(b->size >> 20));
		leaf(x, what, b->iova, bpa, b->size, b->size);
		/* One range command: (NUM + 1) x 2^SCALE granules, TTL = the block's level. */
		EXPECT(one_range_over(x->last, x->nlast, b->iova, b->iova + b->size - 1), "%s: %d commands",
		       what, x->nlast);
	}
	uint64_t rpa[4];
	for (unsigned i = 0; i < nrun; i++) {
		const struct leaf_spec *r = &run[i];
		rpa[i] = r->pa != ~0ull ? r->pa : arena(x, r->size, r->size);
		snprintf(what, sizeof(what), "RIL on, %llu KiB run of %llu KiB", (unsigned long long)(r->size >> 10),
			 (unsigned long long)(r->step >> 10));
		leaf(x, what, r->iova, rpa[i], r->size, r->step);
		EXPECT(one_range_over(x->last, x->nlast, r->iova, r->iova + r->size - 1), "%s: %d commands",
		       what, x->nlast);
	}
	x->t.caps.smmu.range_inv = false;
	for (unsigned i = 0; i < nrun; i++) {
		const struct leaf_spec *r = &run[i];
		snprintf(what, sizeof(what), "RIL off, %llu KiB run of %llu KiB", (unsigned long long)(r->size >> 10),
			 (unsigned long long)(r->step >> 10));
		run_ril_off(x, what, r->iova + 64 * GiB, rpa[i], r->size, r->step);
	}
	stop(x);
}

static void split(void)
{
	struct iopt_gather g;
	uint64_t done, phys;

	struct mach *x = start("split: unmap 4K inside a 2M block (IOPT_PT_F_SPLIT, allowed by IDR3.BBML 2)", 0, NULL);
	x->pt = new_table(x, 12, IOPT_PT_F_SPLIT, 5, true);
	uint64_t iova = 0x40000000, pa = arena(x, 2 * MiB, 2 * MiB);
	CHECK(iopt_pt_map_pages(x->pt, iova, pa, 2 * MiB, 1, RW, &done) == 0);
	static const uint64_t off[] = { 0x800, 0x1800, 0x2800, MiB + 0x800 };
	struct tgt t[4];
	for (int i = 0; i < 4; i++)
		t[i] = (struct tgt){ iova + off[i], pa + off[i] };
	expect_reach(x, t, 4, "2M block", "mapped");
	iopt_gather_init(&g, false, NULL, NULL);
	CHECK(iopt_pt_unmap_pages(x->pt, iova + 0x1000, 4096, 1, &g, &done) == 0 && done == 4096);
	CHECK(iopt_pt_iova_to_phys(x->pt, iova + 0x1000, &phys) == -ENOENT);
	CHECK(iopt_pt_iova_to_phys(x->pt, iova + 0x2000, &phys) == 0 && phys == pa + 0x2000);
	/* (b) the 2M IOTLB entry still translates the hole. */
	expect_all(x, &t[1], 1, false, REACH, "hole in the split block", "no TLBI");
	int n = invalidate(x, &g);
	CHECK(one_range_over(x->last, n, iova + 0x1000, iova + 0x1fff));
	expect_fault(x, &t[1], 1, "hole in the split block", "after TLBI + CMD_SYNC");
	/* The rest of the block translates through the table that replaced it. */
	expect_reach(x, &t[0], 1, "split block, page 0", "kept");
	expect_reach(x, &t[2], 2, "split block, page 2 and +1M", "kept");
	stop(x);
}

/*
 * A page size above the leaves: 2 MiB unmapped with pgsize 2M over 512 4K
 * pages (callers that pick the page size from alignment alone, as Linux's
 * iommu_unmap does, ask for this). The gather's stride must be the 4K
 * leaves removed: with RIL off that is one TG=0 per page (here over the
 * budget: one TLBI_NH_ASID). Until 2026-12 the stride was the caller's
 * page size, one TG=0 per 2 MiB, which QEMU shows leaves 511 pages
 * reachable (the negative control; found by the simulator).
 */
static void stride_above_leaves(void)
{
	static struct tgt t[MAX_TGT];
	struct iopt_inv_cmd c[MAX_CMDS];
	struct iopt_gather g;
	uint64_t done;

	struct mach *x = start("pgsize above the leaves: 2M unmapped over 512 4K pages, RIL off", 0, NULL);
	x->pt = new_table(x, 12, 0, 4, true);
	x->t.caps.smmu.range_inv = false;
	uint64_t iova = 0x40000000, pa = arena(x, 2 * MiB, 2 * MiB);
	CHECK(iopt_pt_map_pages(x->pt, iova, pa, 4096, 512, RW, &done) == 0 && done == 2 * MiB);
	unsigned n = targets(x, iova, pa, 64 * KiB, 4 * KiB, t);
	add_tgt(x, t, &n, iova + 2 * MiB - 2 * KiB, pa + 2 * MiB - 2 * KiB);
	expect_reach(x, t, n, "512 4K pages", "mapped");
	iopt_gather_init(&g, false, NULL, NULL);
	CHECK(iopt_pt_unmap_pages(x->pt, iova, 2 * MiB, 1, &g, &done) == 0 && done == 2 * MiB);
	CHECK(g.pgsize == 4096 && !g.mixed && g.freelist); /* the leaf table went too */
	/* The old stride: one TG=0 at the first page; the other pages stay cached. */
	int k = plan(x, iova, iova + 2 * MiB - 1, 2 * MiB, false, c);
	CHECK_EQ(k, 1);
	smmu_submit(&x->d, c, (unsigned)k);
	smmu_sync(&x->d);
	expect_all(x, t + 1, n - 1, false, REACH, "4K pages 1..", "one TG=0 per 2 MiB (old stride)");
	invalidate(x, &g);
	CHECK(x->nlast == 1 && (x->last[0].w[0] & 0xff) == 0x11); /* 512 > budget: NH_ASID */
	expect_fault(x, t, n, "512 4K pages", "after the gather's stride-4K plan");
	stop(x);
}

static void two_level(void)
{
	static const char *const args[] = { "-device", "edu,addr=1f.0,dma_mask=0xffffffffffffffff", NULL };
	uint64_t l2, desc0, done;
	unsigned span;
	struct res r;

	struct mach *x = start("2-level stream table (SPLIT 6): edu 01.0 (StreamID 8) and 1f.0 (StreamID 0xf8)", 6, args);
	qm_edu_init_at(&x->m, &x->edu[1], 0xf8);
	CHECK(x->d.st.split == 6 && x->d.st.log2size == 16);
	/* StreamID 0xf8: level-1 index 3, STE 56 of its level-2 table. */
	x->e = &x->edu[1];
	x->pt = new_table(x, 12, 0, 6, true);
	uint64_t l1 = *(uint64_t *)qm_gpa(&x->m, x->d.st.base + 3 * 8, 8);
	CHECK(iopt_smmu_l1_decode(l1, &l2, &span) == 0 && span == 7 && l2);
	struct iopt_smmu_ste e;
	CHECK(iopt_smmu_ste_decode(qm_gpa(&x->m, l2 + 56 * 64, 64), &e) == 0 && e.valid &&
	      e.config == IOPT_SMMU_STE_S1);
	desc0 = *(uint64_t *)qm_gpa(&x->m, x->d.st.base, 8);
	CHECK_EQ(desc0, 0);
	leaf(x, "StreamID 0xf8, 4K page", 0x100000, arena(x, 4096, 4096), 4096, 4096);

	/* StreamID 8: its level-1 descriptor is invalid: C_BAD_STREAMID, nothing moves. */
	x->e = &x->edu[0];
	uint64_t pa = arena(x, 4096, 4096);
	struct tgt t = { 0x300000 + 0x100, pa + 0x100 };
	write_all(x, &t, 1, &r);
	CHECK(!r.arrived && r.untouched && all_events(x, SMMU_EVT_C_BAD_STREAMID, 8));

	/* Attach StreamID 8 to a table of its own: level-1 index 0 gets a level-2 table. */
	struct iopt_pt *pt1 = x->pt;
	x->pt = new_table(x, 12, 0, 7, true);
	desc0 = *(uint64_t *)qm_gpa(&x->m, x->d.st.base, 8);
	uint64_t l2b;
	CHECK(iopt_smmu_l1_decode(desc0, &l2b, &span) == 0 && span == 7 && l2b && l2b != l2);
	CHECK(iopt_pt_map_pages(x->pt, 0x300000, pa, 4096, 1, RW, &done) == 0);
	expect_reach(x, &t, 1, "StreamID 8 attached", "mapped");
	/* StreamID 0xf8 keeps its own table, which never mapped 0x300000. */
	x->e = &x->edu[1];
	expect_fault(x, &t, 1, "StreamID 0xf8 at StreamID 8's IOVA", "never mapped");
	iopt_pt_free(pt1);
	stop(x);
}

/* The DMA layer in command mode: submit/wait are the command queue and CMD_SYNC. */
static void dma_mode(struct mach *x, bool lazy, uint16_t asid)
{
	struct iopt_iova_domain *iovad = NULL;
	struct iopt_dma_domain *dom = NULL;
	struct iopt_iova_config ic;
	uint64_t phys, i1, i2;
	struct res r;

	TEST(lazy ? "  lazy: unmap queues; the flush queue's TLBI_NH_ASID + CMD_SYNC make it fault"
		  : "  strict: iopt_dma_unmap returns after its TLBI + CMD_SYNC completed");
	if (x->pt)
		iopt_pt_free(x->pt);
	x->pt = new_table(x, 12, 0, asid, true);
	iopt_iova_config_init(&ic);
	ic.start_pfn = 0x100; /* clear of the scratch page */
	ic.end_pfn = (1ull << 36) - 1;
	REQUIRE(iopt_iova_domain_create(&ic, &iovad) == 0);
	struct iopt_dma_cfg dc = {
		.pt = x->pt,
		.iovad = iovad,
		.mode = lazy ? IOPT_DMA_LAZY : IOPT_DMA_STRICT,
		.ops = { .submit = smmu_dma_submit, .wait = smmu_dma_wait, .ctx = &x->d },
		.inv = x->t,
	};
	REQUIRE(iopt_dma_create(&dc, &dom) == 0);

	/* A 2 KiB buffer at an odd offset and a 4 MiB one (two 2M blocks). */
	uint64_t b1 = arena(x, 4096, 4096) + 0x440, b2 = arena(x, 4 * MiB, 2 * MiB);
	CHECK_EQ(iopt_dma_map(dom, b1, QM_EDU_MAX, RW, (1ull << 48) - 1, &i1), 0);
	CHECK_EQ(iopt_dma_map(dom, b2, 4 * MiB, RW, (1ull << 48) - 1, &i2), 0);
	CHECK((i1 & 0xfff) == 0x440 && (i2 & (4 * MiB - 1)) == 0);
	struct tgt small = { i1, b1 }, big[2] = { { i2 + 0x1000, b2 + 0x1000 }, { i2 + 3 * MiB, b2 + 3 * MiB } };
	expect_reach(x, &small, 1, "dma_map 2K", "mapped");
	expect_reach(x, big, 2, "dma_map 4M", "mapped");

	unsigned long cmds = x->d.cmds, syncs = x->d.syncs;
	CHECK_EQ(iopt_dma_unmap(dom, i1, QM_EDU_MAX), 0);
	if (lazy) {
		/* Queued, nothing sent: the PTE is gone but QEMU's IOTLB still has it. */
		CHECK(x->d.cmds == cmds && x->d.syncs == syncs);
		CHECK(iopt_pt_iova_to_phys(x->pt, i1, &phys) == -ENOENT);
		write_all(x, &small, 1, &r);
		CHECK(r.arrived && x->nev == 0);
		iopt_flushq_flush(iopt_dma_flush_queue(dom));
		CHECK(x->d.cmds == cmds + 1 && x->d.syncs == syncs + 1); /* one TLBI_NH_ASID */
	} else {
		CHECK(x->d.cmds > cmds && x->d.syncs > syncs);
	}
	expect_fault(x, &small, 1, "dma_unmap 2K", lazy ? "after the flush" : "returned");
	cmds = x->d.cmds;
	CHECK_EQ(iopt_dma_unmap(dom, i2, 4 * MiB), 0);
	if (lazy) {
		CHECK_EQ(x->d.cmds, cmds);
		iopt_flushq_drain(iopt_dma_flush_queue(dom));
	}
	CHECK(x->d.cmds > cmds);
	expect_fault(x, big, 2, "dma_unmap 4M", lazy ? "after the drain" : "returned");
	iopt_dma_destroy(dom);
	iopt_iova_domain_destroy(iovad);
}

int main(void)
{
	QM_SKIP_UNLESS(QM_ARM);
	double t0 = now();

	pages_4k();
	/*
	 * Blocks (in the arena, or over all RAM from 0x40000000) and runs:
	 * 16 x 4K and 16 x 2M | 128 x 16K and 32 x 32M | 32 x 64K and 32 x 512M
	 * (the 16G run's OA starts at 0: RAM is its third descriptor).
	 */
	granule("4K granule: 2M and 1G blocks; runs of 16 x 4K and 16 x 2M, RIL on and off", 12,
		(const struct leaf_spec[]){ { 2 * MiB, 2 * MiB, ~0ull, 8 * MiB },
					    { GiB, GiB, RAM_BASE, 4 * GiB } }, 2,
		(const struct leaf_spec[]){ { 64 * KiB, 4 * KiB, ~0ull, 16 * MiB },
					    { 32 * MiB, 2 * MiB, ~0ull, 2 * GiB } }, 2);
	granule("16K granule: 16K page, 32M block; runs of 128 x 16K and 32 x 32M, RIL on and off", 14,
		(const struct leaf_spec[]){ { 32 * MiB, 32 * MiB, ~0ull, 128 * MiB } }, 1,
		(const struct leaf_spec[]){ { 2 * MiB, 16 * KiB, ~0ull, 16 * MiB },
					    { GiB, 32 * MiB, RAM_BASE, 2 * GiB } }, 2);
	granule("64K granule: 64K page, 512M block; runs of 32 x 64K and 32 x 512M, RIL on and off", 16,
		(const struct leaf_spec[]){ { 512 * MiB, 512 * MiB, RAM_BASE, 2 * GiB } }, 1,
		(const struct leaf_spec[]){ { 2 * MiB, 64 * KiB, ~0ull, 16 * MiB },
					    { 16 * GiB, 512 * MiB, 0, 16 * GiB } }, 2);
	split();
	stride_above_leaves();
	two_level();
	struct mach *x = start("DMA layer (command mode) on 4K tables, strict then lazy", 0, NULL);
	dma_mode(x, false, 9);
	dma_mode(x, true, 10);
	stop(x);
	printf("# all configurations: %.2f s\n", now() - t0);
	return tap_done();
}
