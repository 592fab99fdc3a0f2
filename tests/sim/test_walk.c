/* SPDX-License-Identifier: MIT */
/*
 * The simulator's hardware walkers against the engine and a reference model,
 * every format and geometry: random mappings of random sizes (large pages,
 * AMD NextLevel=7 sizes, ARM contiguous runs, concatenated stage-2 roots,
 * 52-bit output), then first/last/random bytes of each mapping and holes:
 * sim_walk == model == iopt_pt_iova_to_phys; the descriptor a walk read maps
 * a part of the leaf (all of it without runs). Permissions: read-only, no-exec,
 * privileged-only. Nested pairs: the composition of the two models. Dirty:
 * a hardware write walk is what read_and_clear_dirty reports.
 */
#include <string.h>

#include "hw/mem.h"
#include "hw/walk.h"
#include "tap.h"

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define NMAP 96

struct geo {
	const char *name;
	struct iopt_pt_cfg cfg;
	uint64_t base; /* where mappings go (x86 upper half with SIGN_EXTEND) */
};

struct map {
	uint64_t iova, len, phys;
	unsigned prot;
};

struct model {
	struct map m[NMAP];
	unsigned n;
};

static const struct map *model_at(const struct model *md, uint64_t a)
{
	for (unsigned i = 0; i < md->n; i++)
		if (a - md->m[i].iova < md->m[i].len)
			return &md->m[i];
	return NULL;
}

static bool model_free(const struct model *md, uint64_t a, uint64_t len)
{
	for (unsigned i = 0; i < md->n; i++)
		if (a < md->m[i].iova + md->m[i].len && md->m[i].iova < a + len)
			return false;
	return true;
}

static struct sim_walk_cfg walk_cfg(struct iopt_pt *pt, const struct iopt_pt_cfg *c)
{
	struct sim_walk_cfg w = { .format = c->format, .ias = c->ias, .oas = c->oas,
				  .granule_lg2 = c->granule_lg2, .flags = c->flags,
				  .mem = sim_mem_identity };

	iopt_pt_root(pt, &w.root, &w.levels);
	return w;
}

/* Random mappings: sizes from one page to several large pages, aligned to be mergeable. */
static void populate(struct iopt_pt *pt, const struct geo *g, struct model *md, uint64_t *seed,
		     uint64_t span)
{
	uint64_t gran = 1ull << (g->cfg.granule_lg2 ? g->cfg.granule_lg2 : 12);

	md->n = 0;
	for (int tries = 0; md->n < NMAP && tries < 4 * NMAP; tries++) {
		uint64_t r = test_xrand(seed);
		unsigned k = (unsigned)(r % 8);
		/* lengths: 1..16 granules, or up to several MiB/GiB-ish blocks */
		uint64_t len = k < 5 ? gran * (1 + (r >> 8) % 16)
				     : (gran << (4 + (r >> 8) % 14)) * (1 + ((r >> 20) & 1));
		uint64_t align = len & -len;
		uint64_t iova = g->base + ((test_xrand(seed) % span) & ~(align - 1));
		uint64_t phys = ((test_xrand(seed) % (1ull << 38)) & ~(align - 1)) |
				(k == 3 ? gran : 0); /* sometimes misaligned: small pages only */
		unsigned prot = RW;
		switch ((r >> 40) % 6) {
		case 0:
			prot = IOPT_PROT_READ;
			break;
		case 1:
			prot = RW | IOPT_PROT_NOEXEC;
			break;
		case 2:
			if (g->cfg.format == IOPT_PT_X86_64 || g->cfg.format == IOPT_PT_LPAE_S1)
				prot = RW | IOPT_PROT_PRIV;
			break;
		}
		if (iova + len < iova || !model_free(md, iova, len))
			continue;
		if (iopt_pt_map_range(pt, iova, phys, len, prot, NULL))
			continue;
		md->m[md->n++] = (struct map){ iova, len, phys, prot };
	}
}

static unsigned runs_seen; /* translations whose descriptor maps less than the leaf */

/* Leaves of several descriptors: AMD replicated pages, ARM contiguous runs. */
static bool has_runs(enum iopt_pt_format f, unsigned flags)
{
	return f == IOPT_PT_AMD_V1 ||
	       ((f == IOPT_PT_LPAE_S1 || f == IOPT_PT_LPAE_S2) && !(flags & IOPT_PT_F_NO_CONTIG));
}

/* One address: walker vs model vs engine, for a read, a write, an exec, a user access. */
static unsigned check_addr(const struct sim_walk_cfg *w, struct iopt_pt *pt, const struct model *md,
			   uint64_t a, enum iopt_pt_format f)
{
	const struct map *m = model_at(md, a);
	struct sim_access rd = { .priv = true }, wr = { .write = true, .priv = true };
	struct sim_access ex = { .exec = true, .priv = true }, user = { 0 };
	struct sim_xlate x;
	uint64_t phys;
	unsigned bad = 0;
	int er = iopt_pt_iova_to_phys(pt, a, &phys);

	if (sim_walk(w, a, &rd, &x))
		return 1;
	if (!m) {
		bad += x.fault == SIM_OK || er == 0;
		return bad;
	}
	uint64_t want = m->phys + (a - m->iova);
	bad += x.fault != SIM_OK || x.pa != want || er != 0 || phys != want;
	/* the leaf the walk found lies inside the mapping */
	uint64_t leaf = a & ~(x.page_size - 1);
	bad += x.page_size == 0 || (x.page_size & (x.page_size - 1)) || leaf < m->iova ||
	       leaf + x.page_size - m->iova > m->len;
	/* the descriptor read maps a power-of-two part of it; all of it where no runs exist */
	bad += !x.entry_size || (x.entry_size & (x.entry_size - 1)) || x.page_size % x.entry_size ||
	       (!has_runs(f, w->flags) && x.entry_size != x.page_size);
	runs_seen += x.entry_size < x.page_size;
	(void)sim_walk(w, a, &wr, &x);
	bad += (x.fault == SIM_F_PERM) != !(m->prot & IOPT_PROT_WRITE);
	bool has_xn = f == IOPT_PT_X86_64 || f == IOPT_PT_LPAE_S1 || f == IOPT_PT_LPAE_S2;
	(void)sim_walk(w, a, &ex, &x);
	bad += has_xn && (x.fault == SIM_F_PERM) != !!(m->prot & IOPT_PROT_NOEXEC);
	(void)sim_walk(w, a, &user, &x);
	bad += (x.fault == SIM_F_PERM) != !!(m->prot & IOPT_PROT_PRIV);
	return bad;
}

static void cross(const struct geo *g)
{
	struct iopt_pt *pt = NULL;
	struct model md;
	uint64_t seed = 0xABCD ^ (uint64_t)g->cfg.format << 8 ^ g->cfg.ias ^ g->cfg.granule_lg2 << 20;
	unsigned bad = 0, checked = 0;

	runs_seen = 0;
	printf("# %s: walker == model == engine\n", g->name);
	REQUIRE(iopt_pt_create(&g->cfg, &pt) == 0);
	unsigned ias = g->cfg.ias > 48 ? 48 : g->cfg.ias;
	populate(pt, g, &md, &seed, 1ull << (ias - 1));
	struct sim_walk_cfg w = walk_cfg(pt, &g->cfg);
	for (unsigned i = 0; i < md.n; i++) {
		const struct map *m = &md.m[i];
		uint64_t pts[] = { m->iova, m->iova + m->len - 1, m->iova + test_xrand(&seed) % m->len,
				   m->iova - 1, m->iova + m->len };
		for (unsigned k = 0; k < 5; k++, checked++)
			bad += check_addr(&w, pt, &md, pts[k], g->cfg.format);
	}
	for (int k = 0; k < 500; k++, checked++)
		bad += check_addr(&w, pt, &md, g->base + test_xrand(&seed) % (1ull << (ias - 1)),
				  g->cfg.format);
	printf("#   %u mappings, %u addresses, %u in multi-descriptor leaves\n", md.n, checked,
	       runs_seen);
	CHECK(md.n > NMAP / 2);
	CHECK_EQ(bad, 0);
	CHECK(has_runs(g->cfg.format, g->cfg.flags) == (runs_seen > 0));
	/* beyond the input size: address-size fault */
	struct sim_access rd = { .priv = true };
	struct sim_xlate x;
	if (g->cfg.ias < 64 && !(g->cfg.flags & IOPT_PT_F_SIGN_EXTEND)) {
		CHECK_EQ(sim_walk(&w, 1ull << g->cfg.ias, &rd, &x), 0);
		CHECK_EQ(x.fault, SIM_F_ADDR_SIZE);
	}
	iopt_pt_free(pt);
}

static const struct geo geos[] = {
	{ "vtd_ss 3 levels", { .format = IOPT_PT_VTD_SS, .ias = 39 }, 0 },
	{ "vtd_ss 4 levels", { .format = IOPT_PT_VTD_SS, .ias = 48 }, 0 },
	{ "vtd_ss 5 levels", { .format = IOPT_PT_VTD_SS, .ias = 57 }, 0 },
	{ "x86_64 4 levels", { .format = IOPT_PT_X86_64, .ias = 48 }, 0 },
	{ "x86_64 5 levels", { .format = IOPT_PT_X86_64, .ias = 57 }, 0 },
	{ "x86_64 upper half", { .format = IOPT_PT_X86_64, .ias = 48,
				 .flags = IOPT_PT_F_SIGN_EXTEND }, 0xFFFF800000000000ull },
	{ "amd_v1 grown from 1 level", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1 }, 0 },
	{ "amd_v1 3 levels", { .format = IOPT_PT_AMD_V1, .ias = 48 }, 0 },
	{ "lpae_s1 4K", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12 }, 0 },
	{ "lpae_s1 4K 39-bit", { .format = IOPT_PT_LPAE_S1, .ias = 39, .granule_lg2 = 12 }, 0 },
	{ "lpae_s1 16K", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 14 }, 0 },
	{ "lpae_s1 64K", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 16 }, 0 },
	{ "lpae_s1 64K LPA 52-bit", { .format = IOPT_PT_LPAE_S1, .ias = 52, .oas = 52, .granule_lg2 = 16,
				      .flags = IOPT_PT_F_LPA }, 0 },
	{ "lpae_s2 4K 40-bit (2 concatenated)", { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12 }, 0 },
	{ "lpae_s2 4K 42-bit (8 concatenated)", { .format = IOPT_PT_LPAE_S2, .ias = 42, .granule_lg2 = 12 }, 0 },
	{ "lpae_s2 16K 48-bit", { .format = IOPT_PT_LPAE_S2, .ias = 48, .granule_lg2 = 14 }, 0 },
	{ "lpae_s2 64K", { .format = IOPT_PT_LPAE_S2, .ias = 48, .granule_lg2 = 16 }, 0 },
	{ "lpae_s1 4K no contiguous", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12,
					.flags = IOPT_PT_F_NO_CONTIG }, 0 },
};

/* Nested: stage-1 tables in guest RAM, walked through stage 2. */
static void nested(enum iopt_pt_format f1, enum iopt_pt_format f2)
{
	struct sim_ram ram;
	struct iopt_pt *s1 = NULL, *s2 = NULL;
	const uint64_t guest = 1ull << 32, hpa = 1ull << 39, tables = 8ull << 20;

	printf("# nested %s over %s\n", f1 == IOPT_PT_X86_64 ? "x86_64" : "lpae_s1",
	       f2 == IOPT_PT_VTD_SS ? "vtd_ss" : "lpae_s2");
	REQUIRE(sim_ram_init(&ram, guest, tables) == 0);
	struct iopt_pt_cfg c2 = { .format = f2, .ias = 40, .granule_lg2 = 12 };
	struct iopt_pt_cfg c1 = { .format = f1, .ias = 48, .granule_lg2 = 12, .provider = &ram.prov };
	REQUIRE(iopt_pt_create(&c2, &s2) == 0);
	/* guest RAM [0, 4 GiB) -> hpa + GPA; the table arena -> its host memory */
	REQUIRE(iopt_pt_map_range(s2, 0, hpa, guest, RW, NULL) == 0);
	REQUIRE(iopt_pt_map_range(s2, guest, (uint64_t)(uintptr_t)ram.host, tables, RW, NULL) == 0);
	REQUIRE(iopt_pt_create(&c1, &s1) == 0);
	struct sim_walk_cfg w2 = walk_cfg(s2, &c2), w1 = walk_cfg(s1, &c1);
	w1.s2 = &w2;
	unsigned bad = 0, n = 0;
	uint64_t seed = 9;
	for (int i = 0; i < 200; i++) {
		uint64_t iova = (test_xrand(&seed) % (1ull << 35)) & ~0xFFFull;
		uint64_t phys = (test_xrand(&seed) % (1ull << 31)) & ~0xFFFull;
		if (iopt_pt_map_range(s1, iova, phys, 4096, RW, NULL))
			continue;
		n++;
		struct sim_access rd = { .priv = true };
		struct sim_xlate x;
		uint64_t a = iova + test_xrand(&seed) % 4096;
		bad += sim_walk(&w1, a, &rd, &x) || x.fault || x.pa != hpa + phys + (a - iova) ||
		       x.page_size != 4096;
	}
	CHECK(n > 150);
	CHECK_EQ(bad, 0);
	/* a hole in stage 2 under a stage-1 output: the fault is stage 2's */
	uint64_t out;
	REQUIRE(iopt_pt_map_range(s1, 1ull << 40, 3ull << 32, 4096, RW, NULL) == 0);
	struct sim_access rd = { .priv = true };
	struct sim_xlate x;
	CHECK_EQ(iopt_pt_iova_to_phys(s1, 1ull << 40, &out), 0);
	CHECK_EQ(sim_walk(&w1, 1ull << 40, &rd, &x), 0);
	CHECK(x.fault != SIM_OK && x.fault_s2);
	iopt_pt_free(s1);
	iopt_pt_free(s2);
	sim_ram_destroy(&ram);
}

/*
 * Hardware dirtying (write walks) is what read_and_clear_dirty reports: every
 * written page, and for formats without multi-page leaves here nothing else.
 */
static void dirty(const struct geo *g)
{
	struct iopt_pt_cfg c = g->cfg;
	struct iopt_pt *pt = NULL;
	uint64_t bits[4] = { 0 }, seen[4] = { 0 }, seed = 3;
	struct iopt_dirty_bitmap bm = { bits, 0, 256, 12 };
	unsigned faults = 0, missing = 0, extra = 0;

	printf("# %s: hardware dirty state == read_and_clear_dirty\n", g->name);
	c.flags |= IOPT_PT_F_HW_DIRTY;
	REQUIRE(iopt_pt_create(&c, &pt) == 0);
	REQUIRE(iopt_pt_map_range(pt, 0, 1ull << 30, 256 * 4096, RW, NULL) == 0);
	struct iopt_gather gt;
	iopt_gather_init(&gt, false, NULL, NULL); /* a fresh table: nothing cached to flush */
	REQUIRE(iopt_pt_set_dirty_tracking(pt, true, &gt) == 0);
	iopt_gather_sync(&gt);
	struct sim_walk_cfg w = walk_cfg(pt, &c);
	w.dirty_tracking = true;
	for (int i = 0; i < 40; i++) {
		uint64_t page = test_xrand(&seed) % 256;
		struct sim_access wr = { .write = true, .priv = true };
		struct sim_xlate x;
		REQUIRE(sim_walk(&w, page * 4096 + 8, &wr, &x) == 0);
		faults += x.fault != SIM_OK;
		seen[page / 64] |= 1ull << (page % 64);
	}
	REQUIRE(iopt_pt_read_and_clear_dirty(pt, 0, 256 * 4096, IOPT_DIRTY_NO_CLEAR,
					     iopt_dirty_bitmap_record, &bm, NULL) == 0);
	for (int k = 0; k < 4; k++) {
		missing += (unsigned)__builtin_popcountll(seen[k] & ~bits[k]);
		extra += (unsigned)__builtin_popcountll(bits[k] & ~seen[k]);
	}
	CHECK_EQ(faults, 0);
	CHECK_EQ(missing, 0);
	if (c.format == IOPT_PT_VTD_SS || c.format == IOPT_PT_X86_64)
		CHECK_EQ(extra, 0); /* 4 KiB leaves only: exactly the written pages */
	iopt_pt_free(pt);
}

int main(void)
{
	for (unsigned i = 0; i < sizeof(geos) / sizeof(geos[0]); i++)
		cross(&geos[i]);
	nested(IOPT_PT_X86_64, IOPT_PT_VTD_SS);
	nested(IOPT_PT_LPAE_S1, IOPT_PT_LPAE_S2);
	dirty(&geos[1]);
	dirty(&geos[3]);
	dirty(&geos[7]);
	dirty(&geos[8]);
	dirty(&geos[13]);
	return tap_done();
}
