/* SPDX-License-Identifier: MIT */
/*
 * SMMUv3 device context (include/iopt/smmu.h): known answers derived by
 * hand from the field tables (Linux arm-smmu-v3.h, QEMU smmuv3-internal.h;
 * the derivation is next to each expected word), round trips through the
 * decoders, and every -EINVAL / -EOPNOTSUPP / -ERANGE path with the output
 * left unwritten.
 */
#include <string.h>

#include <iopt/iopt.h>

#include "../tap.h"

#define POISON 0xA5A5A5A5A5A5A5A5ull

static void poison(uint64_t *w, int n)
{
	for (int i = 0; i < n; i++)
		w[i] = POISON;
}

static bool poisoned(const uint64_t *w, int n)
{
	for (int i = 0; i < n; i++)
		if (w[i] != POISON)
			return false;
	return true;
}

/*
 * QEMU 7.2 virt,iommu=smmuv3 (read from the model: smmuv3_init_regs).
 * IDR0 0x0d40101a: S1P (bit 1), TTF 2 (3:2 = 0b10: AArch64), COHACC (4),
 * ASID16 (12), TTENDIAN 2 (22:21, 0x400000: little-endian), STALL_MODEL 1
 * (0x1000000), TERM_MODEL (26, 0x4000000), ST_LEVEL 1 (0x8000000).
 * IDR1 0x02730010: SIDSIZE 16 (5:0), EVENTQS 19 (20:16 = 0x13), CMDQS 19
 * (25:21: 0x02730010 >> 21 = 0x13). IDR3 0x1404: HAD (2), RIL (10), BBML 2
 * (12:11 = 0b10). IDR5 0x74: OAS 4 = 44 bits, GRAN4K/16K/64K (6:4).
 */
static const uint32_t qemu_idr[6] = { 0x0d40101a, 0x02730010, 0, 0x1404, 0, 0x74 };

/*
 * A made-up full SMMU: IDR0 = S2P 0x1 | S1P 0x2 | TTF 3 0xC | COHACC 0x10 |
 * HTTU 2 0x80 | HYP 0x200 | ATS 0x400 | ASID16 0x1000 | MSI 0x2000 | SEV
 * 0x4000 | PRI 0x10000 | VMID16 0x40000 | CD2L 0x80000 | ST_LEVEL 1
 * 0x8000000 = 0x080D769F (TTENDIAN 0 mixed, STALL_MODEL 0, TERM_MODEL 0).
 * IDR1 = SIDSIZE 32 0x20 | SSIDSIZE 20 (20 << 6 = 0x500) | PRIQS 19
 * (0x9800) | EVENTQS 19 (0x130000) | CMDQS 19 (0x2600000) | ATTR_TYPES_OVR
 * (0x8000000) = 0x0A739D20. IDR3 = RIL 0x400 | BBML 1 0x800 = 0xC00.
 * IDR5 = OAS 6 (52) | GRAN4K 0x10 | GRAN64K 0x40 | VAX 1 (0x400) |
 * STALL_MAX 0x80 (0x800000) = 0x00800456.
 */
static const uint32_t full_idr[6] = { 0x080D769F, 0x0A739D20, 0, 0xC00, 0, 0x00800456 };

static struct iopt_smmu_hw qemu, full;

/* Field-wise equality: the structs have padding, memcmp would compare it. */
static bool cd_eq(const struct iopt_smmu_cd *a, const struct iopt_smmu_cd *b)
{
	return a->valid == b->valid && a->granule_lg2 == b->granule_lg2 && a->ias == b->ias &&
	       a->oas == b->oas && a->ttb0 == b->ttb0 && a->irgn0 == b->irgn0 &&
	       a->orgn0 == b->orgn0 && a->sh0 == b->sh0 && a->epd0 == b->epd0 &&
	       a->endi == b->endi && a->affd == b->affd && a->ha == b->ha && a->hd == b->hd &&
	       a->s == b->s && a->r == b->r && a->a == b->a && a->aset == b->aset &&
	       a->asid == b->asid && a->mair == b->mair;
}

static bool ste_eq(const struct iopt_smmu_ste *a, const struct iopt_smmu_ste *b)
{
	return a->valid == b->valid && a->config == b->config && a->s1_ctx_ptr == b->s1_ctx_ptr &&
	       a->s1_fmt == b->s1_fmt && a->s1_cdmax == b->s1_cdmax && a->s1_dss == b->s1_dss &&
	       a->s1_cir == b->s1_cir && a->s1_cor == b->s1_cor && a->s1_csh == b->s1_csh &&
	       a->s1_stalld == b->s1_stalld && a->eats == b->eats && a->strw == b->strw &&
	       a->shcfg == b->shcfg && a->s2_vmid == b->s2_vmid &&
	       a->s2_granule_lg2 == b->s2_granule_lg2 && a->s2_ias == b->s2_ias &&
	       a->s2_levels == b->s2_levels && a->s2_oas == b->s2_oas && a->s2_ir0 == b->s2_ir0 &&
	       a->s2_or0 == b->s2_or0 && a->s2_sh0 == b->s2_sh0 && a->s2_endi == b->s2_endi &&
	       a->s2_ptw == b->s2_ptw && a->s2_s == b->s2_s && a->s2_r == b->s2_r &&
	       a->s2_ttb == b->s2_ttb;
}

static bool cmd_eq(const struct iopt_smmu_cmd *a, const struct iopt_smmu_cmd *b)
{
	return a->op == b->op && a->sid == b->sid && a->ssid == b->ssid && a->ssv == b->ssv &&
	       a->leaf == b->leaf && a->range == b->range;
}

/* A provider with predictable physical addresses: 0x80000000 upward, size-aligned. */
static uint8_t arena[1 << 20] __attribute__((aligned(1 << 16)));
static uint64_t arena_brk;
#define ARENA_PHYS 0x80000000ull

static void *ar_alloc(void *ctx, size_t size, uint64_t *phys)
{
	(void)ctx;
	uint64_t a = (arena_brk + size - 1) & ~(uint64_t)(size - 1);
	if (a + size > sizeof(arena))
		return NULL;
	arena_brk = a + size;
	memset(arena + a, 0, size);
	*phys = ARENA_PHYS + a;
	return arena + a;
}

static void ar_free(void *ctx, void *virt, size_t size)
{
	(void)ctx;
	(void)virt;
	(void)size;
}

static void *ar_p2v(void *ctx, uint64_t phys)
{
	(void)ctx;
	return arena + (phys - ARENA_PHYS);
}

static const struct iopt_pt_provider ar_prov = { .alloc = ar_alloc, .free = ar_free,
						  .phys_to_virt = ar_p2v };

static struct iopt_pt *mkpt(const struct iopt_smmu_hw *hw, unsigned stage, unsigned g,
			    unsigned ias, unsigned flags)
{
	struct iopt_pt_cfg cfg;
	struct iopt_pt *pt = NULL;

	arena_brk = 0; /* every table starts at ARENA_PHYS: known root addresses */
	REQUIRE(iopt_smmu_pt_cfg(hw, stage, g, ias, flags, &cfg) == 0);
	cfg.provider = &ar_prov;
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	return pt;
}

static void hw_decode(void)
{
	struct iopt_smmu_hw h;

	TEST("hw_decode: QEMU 7.2's IDR0..5 field by field");
	CHECK_EQ(iopt_smmu_hw_decode(qemu_idr, &qemu), 0);
	CHECK(qemu.s1p && !qemu.s2p && qemu.ttf == 2 && qemu.cohacc && qemu.httu == 0);
	CHECK(qemu.asid16 && !qemu.vmid16 && !qemu.cd2l && !qemu.hyp && !qemu.ats && !qemu.msi);
	CHECK(qemu.ttendian == 2 && qemu.stall_model == 1 && qemu.term_model && qemu.st_2lvl);
	CHECK(qemu.sidsize == 16 && qemu.ssidsize == 0 && qemu.eventqs == 19 && qemu.cmdqs == 19);
	CHECK(qemu.had && qemu.ril && qemu.bbml == 2);
	CHECK(qemu.oas == 44 && qemu.gran4k && qemu.gran16k && qemu.gran64k && !qemu.vax);
	CHECK(qemu.idr[0] == qemu_idr[0] && qemu.idr[5] == qemu_idr[5]);

	TEST("hw_decode: every other field (made-up full SMMU)");
	CHECK_EQ(iopt_smmu_hw_decode(full_idr, &full), 0);
	CHECK(full.s1p && full.s2p && full.ttf == 3 && full.cohacc && full.httu == 2);
	CHECK(full.hyp && full.ats && full.asid16 && full.msi && full.sev && full.pri);
	CHECK(full.vmid16 && full.cd2l && full.ttendian == 0 && full.stall_model == 0);
	CHECK(!full.term_model && full.st_2lvl);
	CHECK(full.sidsize == 32 && full.ssidsize == 20 && full.priqs == 19);
	CHECK(full.eventqs == 19 && full.cmdqs == 19 && full.attr_types_ovr && !full.rel);
	CHECK(full.ril && !full.had && full.bbml == 1);
	CHECK(full.oas == 52 && full.gran4k && !full.gran16k && full.gran64k && full.vax);
	CHECK_EQ(full.stall_max, 0x80);

	TEST("hw_decode: reserved values and NULL -> -EINVAL, *hw untouched");
	static const struct {
		int reg;
		uint32_t clear, set;
	} bad[] = {
		{ 0, 0xC, 0 },           /* TTF 0 */
		{ 0, 0, 0xC0 },          /* HTTU 3 */
		{ 0, 0x600000, 0x200000 }, /* TTENDIAN 1 */
		{ 0, 0, 0x3000000 },     /* STALL_MODEL 3 */
		{ 0, 0x18000000, 0x10000000 }, /* ST_LEVEL 2 */
		{ 0, 0x3, 0 },           /* no stage */
		{ 1, 0x3F, 33 },         /* SIDSIZE 33 */
		{ 1, 0x7C0, 21 << 6 },   /* SSIDSIZE 21 */
		{ 3, 0, 0x1800 },        /* BBML 3 */
		{ 5, 0x7, 0x7 },         /* OAS 7 */
		{ 5, 0x70, 0 },          /* no granule */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint32_t r[6];
		memcpy(r, qemu_idr, sizeof(r));
		r[bad[i].reg] = (r[bad[i].reg] & ~bad[i].clear) | bad[i].set;
		memset(&h, 0x5A, sizeof(h));
		CHECK(iopt_smmu_hw_decode(r, &h) == -EINVAL && h.idr[0] == 0x5A5A5A5A);
	}
	CHECK_EQ(iopt_smmu_hw_decode(NULL, &h), -EINVAL);
	CHECK_EQ(iopt_smmu_hw_decode(qemu_idr, NULL), -EINVAL);
}

static void caps_and_cfg(void)
{
	struct iopt_smmu_inv_caps caps = { true, 99 };
	struct iopt_pt_cfg cfg;

	TEST("inv_caps: range_inv = IDR3.RIL, granule as asked; bad or missing granule");
	CHECK_EQ(iopt_smmu_inv_caps(&qemu, 14, &caps), 0);
	CHECK(caps.range_inv && caps.granule_shift == 14);
	struct iopt_smmu_hw noril = qemu;
	noril.ril = false;
	CHECK(iopt_smmu_inv_caps(&noril, 12, &caps) == 0 && !caps.range_inv && caps.granule_shift == 12);
	caps = (struct iopt_smmu_inv_caps){ true, 99 };
	CHECK(iopt_smmu_inv_caps(&full, 14, &caps) == -EOPNOTSUPP && caps.granule_shift == 99);
	CHECK(iopt_smmu_inv_caps(&qemu, 13, &caps) == -EINVAL && caps.granule_shift == 99);
	CHECK_EQ(iopt_smmu_inv_caps(NULL, 12, &caps), -EINVAL);
	CHECK_EQ(iopt_smmu_inv_caps(&qemu, 12, NULL), -EINVAL);

	TEST("pt_cfg: stage 1 on QEMU: ias 48, oas 44 (IDR5.OAS), flags kept; the table builds");
	CHECK_EQ(iopt_smmu_pt_cfg(&qemu, 1, 12, 0, IOPT_PT_F_SPLIT, &cfg), 0);
	CHECK(cfg.format == IOPT_PT_LPAE_S1 && cfg.ias == 48 && cfg.oas == 44);
	CHECK(cfg.granule_lg2 == 12 && cfg.flags == IOPT_PT_F_SPLIT && cfg.pgsize_bitmap == 0);
	CHECK(cfg.provider == NULL && cfg.start_levels == 0);
	struct iopt_pt *pt = NULL;
	CHECK(iopt_pt_create(&cfg, &pt) == 0);
	iopt_pt_free(pt);

	TEST("pt_cfg: stage 2 + LPA on the full SMMU: oas 52, ias default 48; stage-1 52-bit VA with VAX");
	CHECK_EQ(iopt_smmu_pt_cfg(&full, 2, 16, 0, IOPT_PT_F_LPA, &cfg), 0);
	CHECK(cfg.format == IOPT_PT_LPAE_S2 && cfg.ias == 48 && cfg.oas == 52);
	CHECK_EQ(iopt_smmu_pt_cfg(&full, 2, 12, 0, 0, &cfg), 0);
	CHECK(cfg.oas == 48); /* no LPA: the format stops at 48 bits */
	CHECK_EQ(iopt_smmu_pt_cfg(&full, 1, 16, 52, IOPT_PT_F_LPA | IOPT_PT_F_HW_DIRTY, &cfg), 0);
	CHECK(cfg.ias == 52 && cfg.oas == 52 && cfg.flags == (IOPT_PT_F_LPA | IOPT_PT_F_HW_DIRTY));
	pt = NULL;
	CHECK(iopt_pt_create(&cfg, &pt) == 0);
	iopt_pt_free(pt);
	struct iopt_smmu_hw small = full;
	small.oas = 40;
	CHECK(iopt_smmu_pt_cfg(&small, 2, 12, 0, 0, &cfg) == 0 && cfg.ias == 40 && cfg.oas == 40);

	TEST("pt_cfg: what the SMMU lacks -> -EOPNOTSUPP, what no SMMU has -> -EINVAL; cfg untouched");
	struct iopt_pt_cfg keep;
	memset(&keep, 0x5A, sizeof(keep));
	struct {
		const struct iopt_smmu_hw *hw;
		unsigned stage, g, ias, flags;
		int err;
	} bad[] = {
		{ &qemu, 2, 12, 0, 0, -EOPNOTSUPP },                    /* no S2P */
		{ &qemu, 1, 12, 0, IOPT_PT_F_HW_DIRTY, -EOPNOTSUPP },   /* HTTU 0 */
		{ &full, 2, 12, 0, IOPT_PT_F_HW_DIRTY, -EOPNOTSUPP },   /* stage-2 dirty: not done */
		{ &full, 1, 12, 0, IOPT_PT_F_SPLIT, -EOPNOTSUPP },      /* BBML 1 */
		{ &full, 1, 14, 0, 0, -EOPNOTSUPP },                    /* no GRAN16K */
		{ &qemu, 1, 16, 0, IOPT_PT_F_LPA, -EOPNOTSUPP },        /* OAS 44 */
		{ &small, 2, 12, 44, 0, -EOPNOTSUPP },                  /* IPA above OAS */
		{ &qemu, 3, 12, 0, 0, -EINVAL },
		{ &qemu, 1, 13, 0, 0, -EINVAL },
		{ &qemu, 1, 12, 0, IOPT_PT_F_SIGN_EXTEND, -EINVAL },
		{ &qemu, 1, 12, 0, 1u << 7, -EINVAL },
		{ &qemu, 1, 12, 0, IOPT_PT_F_LPA, -EINVAL },           /* LPA without 64K */
		{ &qemu, 1, 12, 24, 0, -EINVAL },                      /* T0SZ 40 */
		{ &qemu, 1, 16, 28, 0, -EINVAL },                      /* 64K needs 29 bits */
		{ &qemu, 1, 12, 49, 0, -EINVAL },
		{ &full, 1, 16, 49, 0, -EINVAL },                      /* > 48 needs LPA */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(&cfg, &keep, sizeof(cfg));
		int r = iopt_smmu_pt_cfg(bad[i].hw, bad[i].stage, bad[i].g, bad[i].ias, bad[i].flags, &cfg);
		if (!tap_check(r == bad[i].err && !memcmp(&cfg, &keep, sizeof(cfg)), "bad pt_cfg", __FILE__,
			       __LINE__))
			printf("#   case %zu: got %d\n", i, r);
	}
	struct iopt_smmu_hw no1 = full;
	no1.s1p = false;
	CHECK_EQ(iopt_smmu_pt_cfg(&no1, 1, 12, 0, 0, &cfg), -EOPNOTSUPP);
	struct iopt_smmu_hw a32 = full;
	a32.ttf = 1;
	CHECK_EQ(iopt_smmu_pt_cfg(&a32, 2, 12, 0, 0, &cfg), -EOPNOTSUPP);
	struct iopt_smmu_hw novax = full;
	novax.vax = false;
	CHECK_EQ(iopt_smmu_pt_cfg(&novax, 1, 16, 52, IOPT_PT_F_LPA, &cfg), -EOPNOTSUPP);
	CHECK_EQ(iopt_smmu_pt_cfg(NULL, 1, 12, 0, 0, &cfg), -EINVAL);
	CHECK_EQ(iopt_smmu_pt_cfg(&qemu, 1, 12, 0, 0, NULL), -EINVAL);
}

/* Walk a 4K-granule table in the arena to the leaf of @iova. */
static uint64_t leaf_of(struct iopt_pt *pt, uint64_t iova)
{
	struct iopt_pt_info in;
	iopt_pt_get_info(pt, &in);
	uint64_t pa = in.root_phys;
	for (int l = (int)in.levels - 1; l >= 0; l--) {
		uint64_t e = ((uint64_t *)ar_p2v(NULL, pa))[(iova >> (12 + 9 * l)) & 511];
		if (l == 0 || (e & 3) == 1)
			return e;
		pa = e & 0x0000fffffffff000ull;
	}
	return 0;
}

static void cd(void)
{
	uint64_t w[8], v[8];
	struct iopt_smmu_cd c, d;

	TEST("cd_from_pt + cd_encode: 4K, ias 48, QEMU (coherent), ASID 0x1234: exact words");
	struct iopt_pt *pt = mkpt(&qemu, 1, 12, 48, 0);
	CHECK_EQ(iopt_smmu_cd_from_pt(&qemu, pt, 0x1234, &c), 0);
	CHECK_EQ(iopt_smmu_cd_encode(&qemu, &c, w), 0);
	/*
	 * w0 bits 31:0: T0SZ 64 - 48 = 16 (0x10) | TG0 0 (4K) | IRGN0 1 << 8
	 * (0x100) | ORGN0 1 << 10 (0x400) | SH0 3 << 12 (0x3000) | EPD1 bit 30
	 * | V bit 31 = 0xC0003510. Bits 63:32: IPS 4 (44 bits) | AA64 (bit 41
	 * = 0x200) | R (45: 0x2000) | A (46: 0x4000) | ASET (47: 0x8000) | ASID
	 * 0x1234 << 16 = 0x1234E204. As Linux arm_smmu_make_s1_cd builds it.
	 */
	CHECK_EQ(w[0], 0x1234E204C0003510ull);
	CHECK_EQ(w[1], ARENA_PHYS); /* TTB0 = the root, the arena's first page */
	CHECK_EQ(w[2], 0);
	CHECK_EQ(w[3], 0xf404ff44ull); /* MAIR0: 0x44 | 0xff << 8 | 0x04 << 16 | 0xf4 << 24 */
	CHECK(!w[4] && !w[5] && !w[6] && !w[7]);
	CHECK(iopt_smmu_cd_decode(w, &d) == 0 && cd_eq(&c, &d));

	TEST("cd: MAIR bytes at the AttrIndx the LPAE format writes mean what the prot asked");
	uint64_t mapped;
	CHECK_EQ(iopt_pt_map_pages(pt, 0x10000, 0x100000, 4096, 1, IOPT_PROT_READ, &mapped), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x11000, 0x101000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_CACHE, &mapped), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x12000, 0x102000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_MMIO, &mapped), 0);
	static const uint8_t want[3] = { 0x44, 0xff, 0x04 }; /* Normal NC, WB RWA, Device-nGnRE */
	for (int i = 0; i < 3; i++) {
		unsigned idx = (unsigned)(leaf_of(pt, 0x10000 + 0x1000 * i) >> 2) & 7;
		CHECK_EQ((c.mair >> (8 * idx)) & 0xff, want[i]);
	}
	iopt_pt_free(pt);

	TEST("cd: 16K and 64K granules (TG0 2 / 1), non-coherent walks, HW dirty -> HA|HD");
	struct iopt_smmu_hw nc = full;
	nc.cohacc = false;
	pt = mkpt(&qemu, 1, 14, 48, 0);
	CHECK(iopt_smmu_cd_from_pt(&qemu, pt, 7, &c) == 0 && iopt_smmu_cd_encode(&qemu, &c, w) == 0);
	CHECK_EQ(w[0], 0x0007E204C0003590ull); /* TG0 2 << 6 = 0x80 on top of 0x3510; ASID 7 */
	iopt_pt_free(pt);
	pt = mkpt(&full, 1, 16, 42, IOPT_PT_F_HW_DIRTY);
	CHECK(iopt_smmu_cd_from_pt(&nc, pt, 0x100, &c) == 0 && iopt_smmu_cd_encode(&nc, &c, w) == 0);
	/*
	 * T0SZ 22 (0x16) | TG0 1 << 6 (0x40) | IRGN0/ORGN0 0 | SH0 2 << 12 (0x2000)
	 * | EPD1 | V = 0xC0002056; IPS: oas 48 (no LPA) -> 5; AA64 0x200 | HD
	 * (42: 0x400) | HA (43: 0x800) | R | A | ASET (0xE000) | ASID 0x100 << 16
	 * = 0x0100EE05.
	 */
	CHECK_EQ(w[0], 0x0100EE05C0002056ull);
	CHECK(iopt_smmu_cd_decode(w, &d) == 0 && cd_eq(&c, &d));
	iopt_pt_free(pt);

	TEST("cd: invalid CD is all zero; from_pt refuses a stage-2 table and NULL");
	memset(&c, 0, sizeof(c));
	poison(w, 8);
	CHECK(iopt_smmu_cd_encode(&qemu, &c, w) == 0 && !w[0] && !w[1] && !w[3] && !w[7]);
	CHECK(iopt_smmu_cd_decode(w, &d) == 0 && !d.valid);
	pt = mkpt(&full, 2, 12, 40, 0);
	memset(&d, 0x5A, sizeof(d));
	CHECK(iopt_smmu_cd_from_pt(&full, pt, 1, &d) == -EINVAL && d.asid == 0x5A5A);
	CHECK_EQ(iopt_smmu_cd_from_pt(NULL, pt, 1, &d), -EINVAL);
	CHECK_EQ(iopt_smmu_cd_from_pt(&full, NULL, 1, &d), -EINVAL);
	iopt_pt_free(pt);

	TEST("cd_encode: every refused field, nothing written");
	struct iopt_smmu_cd base = { .valid = true, .granule_lg2 = 12, .ias = 48, .oas = 44,
				     .ttb0 = 0x40000000, .irgn0 = 1, .orgn0 = 1, .sh0 = 3,
				     .r = true, .a = true, .aset = true, .asid = 1,
				     .mair = IOPT_SMMU_MAIR_LPAE };
	CHECK_EQ(iopt_smmu_cd_encode(&qemu, &base, w), 0);
	struct iopt_smmu_hw a8 = qemu, a32 = qemu, be = qemu, raz = qemu;
	a8.asid16 = false;
	a32.ttf = 1;
	be.ttendian = 3;
	raz.term_model = false;
	struct iopt_smmu_cd inval = { .asid = 3 }; /* an invalid CD with a field set */
	poison(w, 8);
	CHECK(iopt_smmu_cd_encode(&qemu, &inval, w) == -EINVAL && poisoned(w, 8));
#define CD_BAD(hw_, field, val, err_)                                                      \
	do {                                                                               \
		struct iopt_smmu_cd x = base;                                              \
		x.field = val;                                                             \
		poison(w, 8);                                                              \
		int r_ = iopt_smmu_cd_encode(hw_, &x, w);                                  \
		if (!tap_check(r_ == (err_) && (!(err_) || poisoned(w, 8)), "cd " #field " = " #val,    \
			       __FILE__, __LINE__))                                        \
			printf("#   got %d\n", r_);                                        \
	} while (0)
	CD_BAD(&qemu, granule_lg2, 13, -EINVAL);
	CD_BAD(&qemu, ias, 24, -EINVAL);
	CD_BAD(&qemu, ias, 49, -EINVAL);       /* 49..52 only with 64K */
	CD_BAD(&qemu, oas, 45, -EINVAL);
	CD_BAD(&qemu, irgn0, 4, -EINVAL);
	CD_BAD(&qemu, orgn0, 4, -EINVAL);
	CD_BAD(&qemu, sh0, 1, -EINVAL);
	CD_BAD(&qemu, hd, true, -EINVAL);      /* HD without HA */
	CD_BAD(&qemu, ttb0, 0x40000008, -EINVAL);
	CD_BAD(&qemu, ttb0, 0x40000800, -EINVAL); /* 4K ias 48: the start table is 4K */
	CD_BAD(&qemu, ttb0, 1ull << 52, -EINVAL);
	CD_BAD(&full, granule_lg2, 14, -EOPNOTSUPP);
	CD_BAD(&qemu, oas, 48, -EOPNOTSUPP);
	CD_BAD(&qemu, endi, true, -EOPNOTSUPP); /* TTENDIAN: little-endian only */
	CD_BAD(&be, endi, false, -EOPNOTSUPP);
	CD_BAD(&qemu, ha, true, -EOPNOTSUPP);   /* HTTU 0 */
	CD_BAD(&qemu, s, true, -EOPNOTSUPP);    /* STALL_MODEL 1 */
	CD_BAD(&qemu, a, false, -EOPNOTSUPP);   /* TERM_MODEL 1 */
	CD_BAD(&a8, asid, 0x100, -EOPNOTSUPP);
	CD_BAD(&a32, asid, 1, -EOPNOTSUPP);     /* AArch32 tables only */
	CD_BAD(&qemu, ttb0, 1ull << 44, -ERANGE);
	CD_BAD(&raz, a, false, 0);              /* RAZ/WI allowed there */
	CD_BAD(&a8, asid, 0xff, 0);
	struct iopt_smmu_cd x = base;
	x.granule_lg2 = 16;
	x.ias = 52;
	poison(w, 8);
	CHECK(iopt_smmu_cd_encode(&qemu, &x, w) == -EOPNOTSUPP && poisoned(w, 8)); /* no VAX */
	x.oas = 52;
	x.ttb0 = 0;
	CHECK_EQ(iopt_smmu_cd_encode(&full, &x, w), 0);
	x = base;
	x.ha = x.hd = true;
	CHECK_EQ(iopt_smmu_cd_encode(&full, &x, w), 0);
	x.hd = false;
	struct iopt_smmu_hw ha1 = full;
	ha1.httu = 1;
	CHECK_EQ(iopt_smmu_cd_encode(&ha1, &x, w), 0);
	x.hd = true;
	CHECK_EQ(iopt_smmu_cd_encode(&ha1, &x, w), -EOPNOTSUPP);
	CHECK_EQ(iopt_smmu_cd_encode(NULL, &base, w), -EINVAL);
	CHECK_EQ(iopt_smmu_cd_encode(&qemu, NULL, w), -EINVAL);
	CHECK_EQ(iopt_smmu_cd_encode(&qemu, &base, NULL), -EINVAL);

	TEST("cd_decode: bits this library never writes -> -EINVAL, *out untouched");
	CHECK_EQ(iopt_smmu_cd_encode(&qemu, &base, v), 0);
	static const struct {
		int word;
		uint64_t flip;
	} flips[] = {
		{ 0, 1ull << 30 },   /* EPD1 cleared */
		{ 0, 1ull << 41 },   /* AA64 cleared */
		{ 0, 3ull << 6 },    /* TG0 0 -> 3 */
		{ 0, 1ull << 16 },   /* T1SZ */
		{ 0, 1ull << 36 },   /* WXN */
		{ 0, 1ull << 38 },   /* TBI0 */
		{ 1, 1ull << 1 },    /* HAD0 */
		{ 1, 1ull << 52 },   /* TTB0 above 51 */
		{ 2, 1 },            /* TTB1 */
		{ 5, 1 },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(w, v, sizeof(w));
		w[flips[i].word] ^= flips[i].flip;
		memset(&d, 0x5A, sizeof(d));
		if (!tap_check(iopt_smmu_cd_decode(w, &d) == -EINVAL && d.asid == 0x5A5A, "cd_decode flip",
			       __FILE__, __LINE__))
			printf("#   flip %zu\n", i);
	}
	memcpy(w, v, sizeof(w));
	w[0] |= 7ull << 32; /* IPS 7 */
	CHECK_EQ(iopt_smmu_cd_decode(w, &d), -EINVAL);
	memcpy(w, v, sizeof(w));
	w[0] = (w[0] & ~(3ull << 12)) | 1ull << 12; /* SH0 1 */
	CHECK_EQ(iopt_smmu_cd_decode(w, &d), -EINVAL);
	memset(w, 0, sizeof(w));
	w[3] = 1; /* invalid CD with a MAIR */
	CHECK_EQ(iopt_smmu_cd_decode(w, &d), -EINVAL);
	CHECK_EQ(iopt_smmu_cd_decode(NULL, &d), -EINVAL);
	CHECK_EQ(iopt_smmu_cd_decode(v, NULL), -EINVAL);

	TEST("cd_offset: 64 * ssid inside 2^s1cdmax CDs");
	uint64_t off = 7;
	CHECK(iopt_smmu_cd_offset(4, 15, &off) == 0 && off == 960);
	CHECK(iopt_smmu_cd_offset(0, 0, &off) == 0 && off == 0);
	off = 7;
	CHECK(iopt_smmu_cd_offset(4, 16, &off) == -ERANGE && off == 7);
	CHECK(iopt_smmu_cd_offset(0, 1, &off) == -ERANGE && off == 7);
	CHECK(iopt_smmu_cd_offset(21, 0, &off) == -EINVAL && off == 7);
	CHECK_EQ(iopt_smmu_cd_offset(4, 0, NULL), -EINVAL);
}

static void ste(void)
{
	uint64_t w[8];
	struct iopt_smmu_ste e, d;

	TEST("ste: stage 1 to a CD at 0x40001000, WB-RA inner shareable fetches: exact words");
	e = (struct iopt_smmu_ste){ .valid = true, .config = IOPT_SMMU_STE_S1,
				    .s1_ctx_ptr = 0x40001000, .s1_cir = 1, .s1_cor = 1, .s1_csh = 3 };
	CHECK_EQ(iopt_smmu_ste_encode(&qemu, &e, w), 0);
	/* V 1 | Config 0b101 << 1 (0xA) | S1ContextPtr = 0x4000100B; S1CIR 1 << 2 | S1COR 1 << 4 | S1CSH 3 << 6 = 0xD4 */
	CHECK_EQ(w[0], 0x4000100Bull);
	CHECK_EQ(w[1], 0xD4);
	CHECK(!w[2] && !w[3] && !w[4] && !w[7]);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && ste_eq(&e, &d));

	TEST("ste: abort 0x1, bypass 0x9, invalid 0; a linear CD table of 2^4 with S1DSS 2 on the full SMMU");
	e = (struct iopt_smmu_ste){ .valid = true, .config = IOPT_SMMU_STE_ABORT };
	CHECK(iopt_smmu_ste_encode(&qemu, &e, w) == 0 && w[0] == 1 && !w[1]);
	e.config = IOPT_SMMU_STE_BYPASS;
	CHECK(iopt_smmu_ste_encode(&qemu, &e, w) == 0 && w[0] == 9 && !w[1]);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && d.valid && d.config == IOPT_SMMU_STE_BYPASS);
	e = (struct iopt_smmu_ste){ 0 };
	poison(w, 8);
	CHECK(iopt_smmu_ste_encode(&qemu, &e, w) == 0 && !w[0] && !w[3] && !w[7]);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && !d.valid);
	e = (struct iopt_smmu_ste){ .valid = true, .config = IOPT_SMMU_STE_S1, .s1_ctx_ptr = 0x1000,
				    .s1_cdmax = 4, .s1_fmt = 1, .s1_dss = 2, .s1_stalld = true,
				    .eats = 1, .strw = 2, .shcfg = 1, .s2_vmid = 0x1234 };
	CHECK_EQ(iopt_smmu_ste_encode(&full, &e, w), 0);
	/*
	 * 0x1000 | S1Fmt 1 << 4 | 0xA | V = 0x101B, S1CDMax 4 << 59 = 0x2000 << 48;
	 * dword 1: S1DSS 2 | S1STALLD 1 << 27 (0x08000000) | EATS 1 << 28
	 * (0x10000000) | STRW 2 << 30 (0x80000000) | SHCFG 1 << 44.
	 */
	CHECK_EQ(w[0], 0x200000000000101Bull);
	CHECK_EQ(w[1], 0x0000100098000002ull);
	CHECK_EQ(w[2], 0x1234);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && ste_eq(&e, &d));

	TEST("ste_s2_from_pt: 4K, IPA 40 (2 concatenated start tables), VMID 0x4321: exact words; QEMU refuses it");
	struct iopt_pt *pt = mkpt(&full, 2, 12, 40, 0);
	struct iopt_pt_info in;
	iopt_pt_get_info(pt, &in);
	CHECK(in.format == IOPT_PT_LPAE_S2 && in.levels == 3 && in.root_size == 8192);
	CHECK(in.ias == 40 && in.oas == 48 && in.granule_lg2 == 12 && in.root_phys == ARENA_PHYS);
	CHECK_EQ(iopt_smmu_ste_s2_from_pt(&full, pt, 0x4321, &e), 0);
	CHECK_EQ(iopt_smmu_ste_encode(&full, &e, w), 0);
	/*
	 * V | Config 0b110 << 1 = 0xD. dword 2 = S2VMID 0x4321; bits 63:32:
	 * S2T0SZ 64 - 40 = 0x18 | S2SL0 1 (start level 1 = 4 - 3 levels; 4K:
	 * SL0 = 2 - start) << 6 (0x40) | S2IR0 1 << 8 | S2OR0 1 << 10 | S2SH0 3
	 * << 12 (0x3500) | S2TG 0 | S2PS 5 (48) << 16 | S2AA64 << 19 (0x80000)
	 * | S2PTW (54: 1 << 22) | S2R (58: 1 << 26) = 0x044D3558; as Linux
	 * arm_smmu_make_s2_domain_ste and io-pgtable-arm's vtcr.
	 */
	CHECK_EQ(w[0], 0xD);
	CHECK_EQ(w[1], 0);
	CHECK_EQ(w[2], 0x044D355800004321ull);
	CHECK_EQ(w[3], ARENA_PHYS);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && ste_eq(&e, &d));
	poison(w, 8);
	CHECK(iopt_smmu_ste_encode(&qemu, &e, w) == -EOPNOTSUPP && poisoned(w, 8)); /* no S2P */
	memset(&d, 0x5A, sizeof(d));
	CHECK(iopt_smmu_ste_s2_from_pt(&full, NULL, 1, &d) == -EINVAL && d.s2_vmid == 0x5A5A);
	iopt_pt_free(pt);
	pt = mkpt(&qemu, 1, 12, 48, 0);
	CHECK(iopt_smmu_ste_s2_from_pt(&full, pt, 1, &d) == -EINVAL && d.s2_vmid == 0x5A5A);
	CHECK_EQ(iopt_smmu_ste_s2_from_pt(NULL, pt, 1, &d), -EINVAL);
	iopt_pt_free(pt);

	TEST("iopt_pt_get_info: every other format names itself, with its geometry");
	static const struct iopt_pt_cfg other[] = {
		{ .format = IOPT_PT_VTD_SS, .ias = 48 },
		{ .format = IOPT_PT_X86_64, .ias = 57 },
		{ .format = IOPT_PT_AMD_V1, .ias = 64, .start_levels = 2 },
	};
	static const unsigned other_levels[] = { 4, 5, 2 };
	for (int i = 0; i < 3; i++) {
		struct iopt_pt_cfg oc = other[i];
		oc.provider = &ar_prov;
		arena_brk = 0;
		pt = NULL;
		REQUIRE(iopt_pt_create(&oc, &pt) == 0);
		iopt_pt_get_info(pt, &in);
		CHECK(in.format == oc.format && in.ias == oc.ias && in.oas == 52 && in.granule_lg2 == 12);
		CHECK(in.levels == other_levels[i] && in.root_phys == ARENA_PHYS && in.root_size == 4096);
		iopt_pt_free(pt);
	}

	TEST("ste: 64K, IPA 48 (3 levels: SL0 3 - 1 = 2, TG 1), nested with a CD");
	pt = mkpt(&full, 2, 16, 48, 0);
	CHECK_EQ(iopt_smmu_ste_s2_from_pt(&full, pt, 2, &e), 0);
	e.config = IOPT_SMMU_STE_NESTED;
	e.s1_ctx_ptr = 0x2000;
	CHECK_EQ(iopt_smmu_ste_encode(&full, &e, w), 0);
	/* 0x2000 | V | 0b111 << 1; S2T0SZ 16 | SL0 2 << 6 (0x80) | 0x3500 | TG 1 << 14 | 0x50000 | 0x80000 | 0x4400000 */
	CHECK_EQ(w[0], 0x200F);
	CHECK_EQ(w[2], 0x044D7590ull << 32 | 2);
	CHECK(iopt_smmu_ste_decode(w, &d) == 0 && ste_eq(&e, &d));
	iopt_pt_free(pt);

	TEST("ste_encode: every refused field, nothing written");
	struct iopt_smmu_ste s1 = { .valid = true, .config = IOPT_SMMU_STE_S1, .s1_ctx_ptr = 0x1000 };
	pt = mkpt(&full, 2, 12, 40, 0);
	struct iopt_smmu_ste s2;
	REQUIRE(iopt_smmu_ste_s2_from_pt(&full, pt, 1, &s2) == 0);
	iopt_pt_free(pt);
	CHECK_EQ(iopt_smmu_ste_encode(&full, &s2, w), 0);
	struct iopt_smmu_hw v8 = full, be = full, nostall = full, a32 = full;
	v8.vmid16 = false;
	be.ttendian = 3;
	nostall.stall_model = 1;
	a32.ttf = 1;
#define STE_BAD(hw_, from, field, val, err_)                                                \
	do {                                                                                \
		struct iopt_smmu_ste x = from;                                              \
		x.field = val;                                                              \
		poison(w, 8);                                                               \
		int r_ = iopt_smmu_ste_encode(hw_, &x, w);                                  \
		if (!tap_check(r_ == (err_) && (!(err_) || poisoned(w, 8)), "ste " #from "." #field " = " #val, \
			       __FILE__, __LINE__))                                         \
			printf("#   got %d\n", r_);                                         \
	} while (0)
	STE_BAD(&full, s1, valid, false, -EINVAL);      /* invalid with fields */
	STE_BAD(&full, s1, config, 2, -EINVAL);         /* reserved Config */
	STE_BAD(&full, s1, config, IOPT_SMMU_STE_BYPASS, -EINVAL); /* S1 fields in bypass */
	STE_BAD(&full, s1, s2_ias, 40, -EINVAL);        /* S2 field in an S1 STE */
	STE_BAD(&full, s1, s1_ctx_ptr, 0x1020, -EINVAL);
	STE_BAD(&full, s1, s1_ctx_ptr, 1ull << 52, -EINVAL);
	STE_BAD(&full, s1, s1_fmt, 3, -EINVAL);
	STE_BAD(&full, s1, s1_fmt, 1, -EINVAL);         /* 2-level CD table with one CD */
	STE_BAD(&full, s1, s1_cdmax, 21, -EINVAL);
	STE_BAD(&full, s1, s1_dss, 3, -EINVAL);
	STE_BAD(&full, s1, s1_cir, 4, -EINVAL);
	STE_BAD(&full, s1, s1_csh, 1, -EINVAL);
	STE_BAD(&full, s1, eats, 3, -EINVAL);
	STE_BAD(&full, s1, strw, 1, -EINVAL);
	STE_BAD(&full, s1, strw, 3, -EINVAL);
	STE_BAD(&full, s1, shcfg, 4, -EINVAL);
	STE_BAD(&full, s2, s2_granule_lg2, 13, -EINVAL);
	STE_BAD(&full, s2, s2_ias, 24, -EINVAL);
	STE_BAD(&full, s2, s2_levels, 2, -EINVAL);      /* 40 bits in 2 levels: 19 at the start */
	STE_BAD(&full, s2, s2_levels, 1, -EINVAL);
	STE_BAD(&full, s2, s2_oas, 46, -EINVAL);
	STE_BAD(&full, s2, s2_sh0, 1, -EINVAL);
	STE_BAD(&full, s2, s2_ttb, s2.s2_ttb + 0x1000, -EINVAL); /* 2 concatenated tables: 8K aligned */
	STE_BAD(&full, s2, s2_ttb, s2.s2_ttb | 8, -EINVAL);
	STE_BAD(&qemu, s2, valid, true, -EOPNOTSUPP);   /* no S2P */
	STE_BAD(&qemu, s1, s1_cdmax, 1, -EOPNOTSUPP);   /* SSIDSIZE 0 */
	STE_BAD(&qemu, s1, s2_vmid, 1, -EOPNOTSUPP);    /* VMID without stage 2 */
	STE_BAD(&v8, s1, s2_vmid, 0x100, -EOPNOTSUPP);
	STE_BAD(&qemu, s1, eats, 1, -EOPNOTSUPP);       /* no ATS */
	STE_BAD(&qemu, s1, strw, 2, -EOPNOTSUPP);       /* no HYP */
	STE_BAD(&qemu, s1, shcfg, 1, -EOPNOTSUPP);      /* no ATTR_TYPES_OVR */
	STE_BAD(&qemu, s1, s1_stalld, true, -EOPNOTSUPP); /* STALL_MODEL 1 */
	STE_BAD(&a32, s1, valid, true, -EOPNOTSUPP);    /* AArch32 tables only */
	STE_BAD(&full, s2, s2_granule_lg2, 14, -EOPNOTSUPP);
	STE_BAD(&full, s2, s2_endi, true, 0);           /* mixed endian */
	STE_BAD(&be, s2, s2_endi, false, -EOPNOTSUPP);
	STE_BAD(&nostall, s2, s2_s, true, -EOPNOTSUPP);
	STE_BAD(&qemu, s1, s1_ctx_ptr, 1ull << 44, -ERANGE);
	STE_BAD(&full, s1, s1_ctx_ptr, 1ull << 51, 0);
	struct iopt_smmu_ste x = s2;
	x.s2_oas = 44;
	x.s2_ttb = 1ull << 44;
	poison(w, 8);
	CHECK(iopt_smmu_ste_encode(&full, &x, w) == -ERANGE && poisoned(w, 8));
	struct iopt_smmu_ste nofmt = s1;
	nofmt.s1_cdmax = 4;
	nofmt.s1_fmt = 1;
	struct iopt_smmu_hw nocd2l = full;
	nocd2l.cd2l = false;
	CHECK_EQ(iopt_smmu_ste_encode(&nocd2l, &nofmt, w), -EOPNOTSUPP);
	CHECK_EQ(iopt_smmu_ste_encode(NULL, &s1, w), -EINVAL);
	CHECK_EQ(iopt_smmu_ste_encode(&full, NULL, w), -EINVAL);
	CHECK_EQ(iopt_smmu_ste_encode(&full, &s1, NULL), -EINVAL);

	TEST("ste_decode: reserved values and foreign bits -> -EINVAL, *out untouched");
	uint64_t v1[8], v2[8];
	REQUIRE(iopt_smmu_ste_encode(&full, &s1, v1) == 0 && iopt_smmu_ste_encode(&full, &s2, v2) == 0);
	static const struct {
		bool stage2;
		int word;
		uint64_t flip;
	} flips[] = {
		{ false, 0, 0xE },         /* Config 0b101 -> 0b011 */
		{ false, 0, 3ull << 4 },   /* S1Fmt 3 */
		{ false, 0, 1ull << 52 },  /* above S1ContextPtr */
		{ false, 1, 3 },           /* S1DSS 3 */
		{ false, 1, 1ull << 30 },  /* STRW 1 */
		{ false, 1, 3ull << 28 },  /* EATS 3 */
		{ false, 1, 1ull << 8 },   /* a field not written (S2HWU) */
		{ false, 2, 1ull << 32 },  /* VTCR in a stage-1 STE */
		{ false, 3, 0x10 },        /* S2TTB in a stage-1 STE */
		{ false, 4, 1 },
		{ true, 2, 3ull << 46 },   /* S2TG 3 */
		{ true, 2, 2ull << 48 },   /* S2PS 5 -> 7 */
		{ true, 2, 2ull << 38 },   /* SL0 1 -> 3 */
		{ true, 2, 1ull << 51 },   /* S2AA64 0 */
		{ true, 2, 1ull << 55 },   /* S2HD: not written */
		{ true, 2, 1ull << 53 },   /* S2AFFD: not written */
		{ true, 3, 1ull << 52 },
	};
	for (size_t i = 0; i < sizeof(flips) / sizeof(flips[0]); i++) {
		memcpy(w, flips[i].stage2 ? v2 : v1, sizeof(w));
		w[flips[i].word] ^= flips[i].flip;
		memset(&d, 0x5A, sizeof(d));
		if (!tap_check(iopt_smmu_ste_decode(w, &d) == -EINVAL && d.s2_vmid == 0x5A5A, "ste_decode flip",
			       __FILE__, __LINE__))
			printf("#   flip %zu\n", i);
	}
	CHECK_EQ(iopt_smmu_ste_decode(NULL, &d), -EINVAL);
	CHECK_EQ(iopt_smmu_ste_decode(v1, NULL), -EINVAL);
}

static void strtab(void)
{
	uint64_t base = 7, desc = 7, l2 = 7;
	uint32_t cfg = 7;
	unsigned span = 7;
	struct iopt_smmu_ste_loc loc = { 7, 7 };

	TEST("strtab_regs: linear 2^16 at 0x40000000 with RA; 2-level split 8");
	struct iopt_smmu_strtab lin = { .base = 0x40000000, .log2size = 16, .ra = true };
	CHECK_EQ(iopt_smmu_strtab_regs(&qemu, &lin, &base, &cfg), 0);
	CHECK_EQ(base, 0x4000000040000000ull); /* ADDR | RA (bit 62) */
	CHECK_EQ(cfg, 16);                     /* FMT 0, SPLIT 0, LOG2SIZE 16 */
	struct iopt_smmu_strtab two = { .base = 0x40000800, .log2size = 16, .split = 8 };
	CHECK_EQ(iopt_smmu_strtab_regs(&qemu, &two, &base, &cfg), 0);
	CHECK_EQ(base, 0x40000800); /* the L1 table: 2^8 descriptors, 2 KiB, 2 KiB aligned */
	CHECK_EQ(cfg, 0x10210);     /* FMT 1 << 16 | SPLIT 8 << 6 | LOG2SIZE 16 */

	TEST("strtab_locate: StreamID 0x12F8 linear and with SPLIT 6 / 8 / 10");
	lin.log2size = 13;
	CHECK(iopt_smmu_strtab_locate(&lin, 0x12F8, &loc) == 0 && loc.l1_off == 0 &&
	      loc.ste_off == 64 * 0x12F8);
	/* split 6: L1 index 0x12F8 >> 6 = 0x4B (offset 0x258), L2 index 0x38 (0xE00); L1 8 KiB */
	two.split = 6;
	two.base = 0x40002000;
	CHECK(iopt_smmu_strtab_locate(&two, 0x12F8, &loc) == 0 && loc.l1_off == 0x258 && loc.ste_off == 0xE00);
	two.split = 8; /* 0x12 (0x90), 0xF8 (0x3E00) */
	two.base = 0x40000800;
	CHECK(iopt_smmu_strtab_locate(&two, 0x12F8, &loc) == 0 && loc.l1_off == 0x90 && loc.ste_off == 0x3E00);
	two.split = 10; /* 4 (0x20), 0x2F8 (0xBE00); L1 table 2^6 x 8 = 512 bytes */
	two.base = 0x40000200;
	CHECK(iopt_smmu_strtab_locate(&two, 0x12F8, &loc) == 0 && loc.l1_off == 0x20 && loc.ste_off == 0xBE00);
	loc = (struct iopt_smmu_ste_loc){ 7, 7 };
	CHECK(iopt_smmu_strtab_locate(&two, 0x10000, &loc) == -ERANGE && loc.l1_off == 7);
	CHECK(iopt_smmu_strtab_locate(&lin, 0x2000, &loc) == -ERANGE && loc.ste_off == 7);
	struct iopt_smmu_strtab all = { .log2size = 32, .split = 10 };
	CHECK(iopt_smmu_strtab_locate(&all, 0xFFFFFFFF, &loc) == 0 && loc.l1_off == 8ull * 0x3FFFFF &&
	      loc.ste_off == 64 * 0x3FF);

	TEST("l1_desc: SPAN split + 1 and L2Ptr; decode back");
	two.split = 8;
	two.base = 0x40000800;
	CHECK_EQ(iopt_smmu_l1_desc(&qemu, &two, 0x40010000, &desc), 0);
	CHECK_EQ(desc, 0x40010009); /* L2 table of 2^8 STEs = 16 KiB, 16 KiB aligned; SPAN 9 (as Linux) */
	CHECK(iopt_smmu_l1_decode(desc, &l2, &span) == 0 && l2 == 0x40010000 && span == 9);
	CHECK(iopt_smmu_l1_decode(0, &l2, &span) == 0 && l2 == 0 && span == 0);

	TEST("stream table: refused geometry, nothing written");
	base = desc = l2 = 7;
	cfg = 7;
	span = 7;
	loc = (struct iopt_smmu_ste_loc){ 7, 7 };
	struct iopt_smmu_strtab bad[] = {
		{ .base = 0x40000000, .log2size = 33 },
		{ .base = 0x40000000, .log2size = 16, .split = 7 },
		{ .base = 0x40000000, .log2size = 5, .split = 6 },   /* split above log2size */
		{ .base = 0x40020000, .log2size = 16 },              /* linear 4 MiB: misaligned */
		{ .base = 0x40000400, .log2size = 16, .split = 8 },  /* L1 2 KiB: misaligned */
		{ .base = 0x40000020, .log2size = 6, .split = 6 },   /* one descriptor: 64 bytes at least */
		{ .base = 1ull << 52, .log2size = 6 },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(iopt_smmu_strtab_regs(&full, &bad[i], &base, &cfg) == -EINVAL && base == 7 && cfg == 7);
		CHECK(iopt_smmu_strtab_locate(&bad[i], 0, &loc) == -EINVAL && loc.l1_off == 7);
	}
	struct iopt_smmu_strtab big = { .base = 0, .log2size = 17 };
	CHECK(iopt_smmu_strtab_regs(&qemu, &big, &base, &cfg) == -EOPNOTSUPP && base == 7); /* SIDSIZE 16 */
	struct iopt_smmu_hw lin_only = qemu;
	lin_only.st_2lvl = false;
	CHECK(iopt_smmu_strtab_regs(&lin_only, &two, &base, &cfg) == -EOPNOTSUPP && cfg == 7);
	struct iopt_smmu_strtab far = { .base = 1ull << 44, .log2size = 6 };
	CHECK(iopt_smmu_strtab_regs(&qemu, &far, &base, &cfg) == -ERANGE && base == 7);
	CHECK_EQ(iopt_smmu_strtab_regs(NULL, &lin, &base, &cfg), -EINVAL);
	CHECK_EQ(iopt_smmu_strtab_regs(&qemu, NULL, &base, &cfg), -EINVAL);
	CHECK_EQ(iopt_smmu_strtab_regs(&qemu, &lin, NULL, &cfg), -EINVAL);
	CHECK_EQ(iopt_smmu_strtab_regs(&qemu, &lin, &base, NULL), -EINVAL);
	CHECK_EQ(iopt_smmu_strtab_locate(&lin, 0, NULL), -EINVAL);
	CHECK_EQ(iopt_smmu_strtab_locate(NULL, 0, &loc), -EINVAL);
	CHECK(iopt_smmu_l1_desc(&qemu, &two, 0x40012000, &desc) == -EINVAL && desc == 7); /* 16K alignment */
	CHECK(iopt_smmu_l1_desc(&qemu, &two, 1ull << 52, &desc) == -EINVAL && desc == 7);
	CHECK(iopt_smmu_l1_desc(&qemu, &lin, 0x40010000, &desc) == -EINVAL && desc == 7); /* linear */
	CHECK(iopt_smmu_l1_desc(&qemu, &bad[1], 0x40010000, &desc) == -EINVAL && desc == 7);
	CHECK(iopt_smmu_l1_desc(&qemu, &two, 1ull << 44, &desc) == -ERANGE && desc == 7);
	CHECK_EQ(iopt_smmu_l1_desc(NULL, &two, 0x40010000, &desc), -EINVAL);
	CHECK_EQ(iopt_smmu_l1_desc(&qemu, &two, 0x40010000, NULL), -EINVAL);
	CHECK(iopt_smmu_l1_decode(0x40010000 | 13, &l2, &span) == -EINVAL && span == 7); /* SPAN 13 */
	CHECK(iopt_smmu_l1_decode(0x40010000 | 0x20 | 9, &l2, &span) == -EINVAL && l2 == 7); /* bit 5 */
	CHECK(iopt_smmu_l1_decode(1ull << 52 | 9, &l2, &span) == -EINVAL && l2 == 7);
	CHECK_EQ(iopt_smmu_l1_decode(9, NULL, &span), -EINVAL);
	CHECK_EQ(iopt_smmu_l1_decode(9, &l2, NULL), -EINVAL);
}

static void cmds(void)
{
	struct iopt_inv_cmd c;
	struct iopt_smmu_cmd k, d;
	struct iopt_inv_decoded inv;

	TEST("cmd_encode: CFGI_STE / STE_RANGE (CFGI_ALL) / CD / CD_ALL, PREFETCH_CONFIG, TLBI_NSNH_ALL");
	static const struct {
		const struct iopt_smmu_hw *hw;
		struct iopt_smmu_cmd in;
		uint64_t w0, w1;
	} kat[] = {
		/* opcode 0x03 | SID 8 << 32; dword 1 LEAF */
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE, .sid = 8, .leaf = true }, 0x0000000800000003ull, 1 },
		/* opcode 0x04, Range 31 in dword 1 bits 4:0: Linux's CFGI_ALL */
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE_RANGE, .range = IOPT_SMMU_CFGI_ALL_RANGE }, 0x4, 0x1F },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE_RANGE, .sid = 0x40, .range = 5 }, 0x0000004000000004ull, 5 },
		/* 0x05 | SSID 5 << 12 | SID 8 << 32; LEAF */
		{ &full, { .op = IOPT_SMMU_CMD_CFGI_CD, .sid = 8, .ssid = 5, .leaf = true }, 0x0000000800005005ull, 1 },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_CD, .sid = 8 }, 0x0000000800000005ull, 0 },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_CD_ALL, .sid = 0xFFFF }, 0x0000FFFF00000006ull, 0 },
		/* 0x01 | SSV (bit 11) | SSID 3 << 12 | SID 8 << 32 */
		{ &full, { .op = IOPT_SMMU_CMD_PREFETCH_CONFIG, .sid = 8, .ssid = 3, .ssv = true }, 0x0000000800003801ull, 0 },
		{ &full, { .op = IOPT_SMMU_CMD_CFGI_STE, .sid = 0xFFFFFFFF }, 0xFFFFFFFF00000003ull, 0 },
		{ &qemu, { .op = IOPT_SMMU_CMD_TLBI_NSNH_ALL }, 0x30, 0 },
	};
	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		c.w[0] = c.w[1] = POISON;
		int r = iopt_smmu_cmd_encode(kat[i].hw, &kat[i].in, &c);
		if (!tap_check(r == 0 && c.w[0] == kat[i].w0 && c.w[1] == kat[i].w1, "cmd KAT", __FILE__, __LINE__))
			printf("#   case %zu: %d %016llx %016llx\n", i, r, (unsigned long long)c.w[0],
			       (unsigned long long)c.w[1]);
		CHECK(iopt_smmu_cmd_decode(&c, &d) == 0 && cmd_eq(&d, &kat[i].in));
	}
	c = (struct iopt_inv_cmd){ { 0x30, 0 } };
	CHECK(iopt_inv_decode_smmu(&c, &inv) == 0 && inv.kind == IOPT_INV_GLOBAL && inv.start == 0 &&
	      inv.end == UINT64_MAX);

	TEST("cmd_encode: fields the opcode has not, widths, what the SMMU lacks; nothing written");
	static const struct {
		const struct iopt_smmu_hw *hw;
		struct iopt_smmu_cmd in;
		int err;
	} bad[] = {
		{ &qemu, { .op = 0x07 }, -EINVAL },                 /* QEMU's CFGI_ALL enum: not an opcode */
		{ &qemu, { .op = 0x12 }, -EINVAL },                 /* TLBI_NH_VA: invalidate.h's */
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE, .ssid = 1 }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE, .range = 1 }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE_RANGE, .leaf = true }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE_RANGE, .range = 32 }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_CD_ALL, .leaf = true }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_CD, .ssv = true }, -EINVAL },
		{ &full, { .op = IOPT_SMMU_CMD_CFGI_CD, .ssid = 1u << 20 }, -EINVAL },
		{ &full, { .op = IOPT_SMMU_CMD_PREFETCH_CONFIG, .ssid = 1 }, -EINVAL }, /* SSID without SSV */
		{ &qemu, { .op = IOPT_SMMU_CMD_TLBI_NSNH_ALL, .sid = 1 }, -EINVAL },
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_STE, .sid = 0x10000 }, -EOPNOTSUPP }, /* SIDSIZE 16 */
		{ &qemu, { .op = IOPT_SMMU_CMD_CFGI_CD, .sid = 8, .ssid = 1 }, -EOPNOTSUPP }, /* SSIDSIZE 0 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c.w[0] = c.w[1] = POISON;
		int r = iopt_smmu_cmd_encode(bad[i].hw, &bad[i].in, &c);
		if (!tap_check(r == bad[i].err && c.w[0] == POISON && c.w[1] == POISON, "bad cmd", __FILE__,
			       __LINE__))
			printf("#   case %zu: got %d\n", i, r);
	}
	k = (struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_STE };
	CHECK_EQ(iopt_smmu_cmd_encode(NULL, &k, &c), -EINVAL);
	CHECK_EQ(iopt_smmu_cmd_encode(&qemu, NULL, &c), -EINVAL);
	CHECK_EQ(iopt_smmu_cmd_encode(&qemu, &k, NULL), -EINVAL);

	TEST("cmd_decode: other opcodes, SSec, bits outside the fields -> -EINVAL, *out untouched");
	static const struct iopt_inv_cmd foreign[] = {
		{ { 0x02, 0 } },                      /* PREFETCH_ADDR */
		{ { 0x46, 0 } },                      /* CMD_SYNC */
		{ { 0x03 | 1u << 10, 0 } },           /* SSec */
		{ { 0x03 | 1u << 12, 0 } },           /* SSID in CFGI_STE */
		{ { 0x03, 2 } },                      /* dword 1 beyond LEAF */
		{ { 0x04, 0x20 } },                   /* beyond Range */
		{ { 0x06, 1 } },                      /* LEAF in CFGI_CD_ALL */
		{ { 0x30 | 1ull << 32, 0 } },         /* SID in TLBI_NSNH_ALL */
		{ { 0x01 | 3u << 12, 0 } },           /* PREFETCH SSID without SSV */
	};
	for (size_t i = 0; i < sizeof(foreign) / sizeof(foreign[0]); i++) {
		memset(&d, 0x5A, sizeof(d));
		CHECK(iopt_smmu_cmd_decode(&foreign[i], &d) == -EINVAL && d.sid == 0x5A5A5A5A);
	}
	CHECK_EQ(iopt_smmu_cmd_decode(NULL, &d), -EINVAL);
	CHECK_EQ(iopt_smmu_cmd_decode(&foreign[0], NULL), -EINVAL);
}

int main(void)
{
	hw_decode();
	caps_and_cfg();
	cd();
	ste();
	strtab();
	cmds();
	return tap_done();
}
