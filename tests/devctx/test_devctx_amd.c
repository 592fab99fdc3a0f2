/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi structures above the page table (include/iopt/amd.h): known
 * answers derived by hand from the layouts (the derivation next to each
 * expected word; sources as in src/devctx/amd.c: QEMU 7.2 amd_iommu.h,
 * Linux 6.12 amd_iommu_types.h) and every -EINVAL / -EOPNOTSUPP path, each
 * with its output left untouched.
 */
#include <string.h>

#include <iopt/amd.h>

#include "../tap.h"

#define POISON 0xA5A5A5A5A5A5A5A5ull
#define QEMU_EFR 0x29d3ull /* QEMU 7.2 AMDVI_EXT_FEATURES, read from a live machine too */
/*
 * A synthetic EFR with the guest features QEMU lacks:
 *   PPR bit 1 (0x2) | GT bit 4 (0x10) | GATS 1 at 13:12 (0x1000) | GLX 1 at
 *   15:14 (0x4000) | PASmax 15 at 36:32 (0xF << 32) | GIoSup bit 48 |
 *   HDSup bit 52; HATS 0 (4 host levels); no IA.
 *   = 0x0011_000F_0000_5012
 */
#define FULL_EFR 0x0011000F00005012ull

static struct iopt_amd_hw qemu_hw, full_hw, nohost_hw;

static bool poisoned4(const uint64_t w[4])
{
	return w[0] == POISON && w[1] == POISON && w[2] == POISON && w[3] == POISON;
}

static bool cmd_poisoned(const struct iopt_inv_cmd *c)
{
	return c->w[0] == POISON && c->w[1] == POISON;
}

/* The bits QEMU 7.2 flags as reserved (amd_iommu.c, amdvi_validate_dte). */
static bool qemu_dte_ok(const uint64_t w[4])
{
	uint64_t q0 = 0x7Cull | 1ull << 63;      /* AMDVI_DTE_QUAD0_RESERVED: 6:2, 63 */
	uint64_t q2 = 3ull << 52;                /* QUAD2: 53:52 */
	uint64_t q3 = 0x7FFFull | 0x3Full << 48; /* QUAD3: 14:0, 53:48 */
	return !(w[0] & q0) && !(w[2] & q2) && !(w[3] & q3);
}

/* The bits QEMU 7.2 flags in each command it executes (amdvi_cmdbuf_exec's callees). */
static bool qemu_cmd_ok(const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1];
	switch (w0 >> 60) {
	case 0x1: /* amdvi_completion_wait: w0 59:52 */
		return !((w0 >> 52) & 0xFF);
	case 0x2: /* amdvi_inval_devtab_entry: w0 59:16, w1 */
		return !((w0 >> 16) & 0xFFFFFFFFFFFull) && !w1;
	case 0x3: /* amdvi_inval_pages: w0 31:20, w0 59:48, w1 11:3 */
		return !((w0 >> 20) & 0xFFF) && !((w0 >> 48) & 0xFFF) && !((w1 >> 3) & 0x1FF);
	case 0x8: /* amdvi_inval_all: w0 59:0, w1 */
		return !(w0 & ((1ull << 60) - 1)) && !w1;
	default:
		return false;
	}
}

static bool dte_eq(const struct iopt_amd_dte *a, const struct iopt_amd_dte *b)
{
	return a->valid == b->valid && a->tv == b->tv && a->mode == b->mode && a->root == b->root &&
	       a->ir == b->ir && a->iw == b->iw && a->domain == b->domain && a->ppr == b->ppr &&
	       a->dirty == b->dirty && a->gv == b->gv && a->giov == b->giov && a->glx == b->glx &&
	       a->gcr3 == b->gcr3 && a->guest_levels == b->guest_levels;
}

static void kat_efr(void)
{
	TEST("EFR: QEMU 7.2's 0x29d3 and a synthetic register with the guest features");
	CHECK_EQ(iopt_amd_hw_decode(QEMU_EFR, &qemu_hw), 0);
	/*
	 * 0x29d3 = 0b10_1001_1101_0011: bits 0, 1 (PreF, PPR), 4 (GT), 6, 7
	 * (IA, GA), 8 (HE), 11 (HATS 11:10 = 10b = 2), 13 (GATS 13:12 = 10b
	 * = 2, reserved: Linux knows 0 = 4-level and 1 = 5-level only).
	 */
	CHECK(qemu_hw.efr == QEMU_EFR && qemu_hw.pref && qemu_hw.ppr && !qemu_hw.xt &&
	      !qemu_hw.nx && qemu_hw.gt && qemu_hw.ia && qemu_hw.ga && qemu_hw.he && !qemu_hw.pc);
	CHECK(qemu_hw.hats == 2 && qemu_hw.gats == 2 && qemu_hw.glx == 0 && qemu_hw.smif == 0 &&
	      qemu_hw.pasmax == 0 && !qemu_hw.gio && !qemu_hw.ha && !qemu_hw.hd);
	CHECK_EQ(qemu_hw.host_levels, 6);  /* 4 + HATS */
	CHECK_EQ(qemu_hw.guest_levels, 0); /* GT with a reserved GATS: nothing to walk */
	CHECK_EQ(qemu_hw.pasid_bits, 0);

	CHECK_EQ(iopt_amd_hw_decode(FULL_EFR, &full_hw), 0);
	CHECK(full_hw.ppr && full_hw.gt && !full_hw.ia && full_hw.gio && full_hw.hd && !full_hw.ha);
	CHECK(full_hw.hats == 0 && full_hw.gats == 1 && full_hw.glx == 1 && full_hw.pasmax == 15);
	CHECK_EQ(full_hw.host_levels, 4);  /* 4 + 0 */
	CHECK_EQ(full_hw.guest_levels, 5); /* GATS 1 */
	CHECK_EQ(full_hw.pasid_bits, 16);  /* PASmax + 1 */

	/* Every single-bit field at its position: bit k set alone. */
	static const struct { unsigned bit; size_t off; } one[] = {
		{ 0, offsetof(struct iopt_amd_hw, pref) }, { 1, offsetof(struct iopt_amd_hw, ppr) },
		{ 2, offsetof(struct iopt_amd_hw, xt) },   { 3, offsetof(struct iopt_amd_hw, nx) },
		{ 4, offsetof(struct iopt_amd_hw, gt) },   { 6, offsetof(struct iopt_amd_hw, ia) },
		{ 7, offsetof(struct iopt_amd_hw, ga) },   { 8, offsetof(struct iopt_amd_hw, he) },
		{ 9, offsetof(struct iopt_amd_hw, pc) },   { 48, offsetof(struct iopt_amd_hw, gio) },
		{ 49, offsetof(struct iopt_amd_hw, ha) },  { 52, offsetof(struct iopt_amd_hw, hd) },
	};
	bool all = true;
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		struct iopt_amd_hw h;
		iopt_amd_hw_decode(1ull << one[i].bit, &h);
		all &= *(const bool *)((const char *)&h + one[i].off);
		all &= h.pref + h.ppr + h.xt + h.nx + h.gt + h.ia + h.ga + h.he + h.pc + h.gio +
			       h.ha + h.hd == 1;
	}
	CHECK(all);
	/* SmiFSup 17:16 = 3 and HATS 11:10 = 3: host translation unusable. */
	CHECK_EQ(iopt_amd_hw_decode(3ull << 16 | 3ull << 10, &nohost_hw), 0);
	CHECK(nohost_hw.smif == 3 && nohost_hw.hats == 3 && nohost_hw.host_levels == 0);
	/* GT without GATS 5-level: 4 levels; GATS 3 reserved; GATS without GT: nothing. */
	struct iopt_amd_hw h;
	iopt_amd_hw_decode(1ull << 4, &h);
	CHECK(h.guest_levels == 4 && h.pasid_bits == 1);
	iopt_amd_hw_decode(1ull << 4 | 3ull << 12, &h);
	CHECK(h.guest_levels == 0 && h.pasid_bits == 0);
	iopt_amd_hw_decode(1ull << 12 | 31ull << 32, &h);
	CHECK(h.guest_levels == 0 && h.pasid_bits == 0 && h.pasmax == 31);
	CHECK_EQ(iopt_amd_hw_decode(QEMU_EFR, NULL), -EINVAL);
}

static void kat_pt_cfg(void)
{
	struct iopt_pt_cfg c;
	struct iopt_pt *pt;

	TEST("pt_cfg: AMD v1 on QEMU (6 levels) and on a 4-level IOMMU");
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_AMD_V1, 0, 0, IOPT_PT_F_SPLIT, &c), 0);
	/* 6 levels reach 12 + 54 = 66 bits: the format's 64. */
	CHECK(c.format == IOPT_PT_AMD_V1 && c.ias == 64 && c.start_levels == 0 &&
	      c.flags == IOPT_PT_F_SPLIT && !c.provider && !c.change_top);
	/*
	 * Leaves live at levels 1..5 (the 6th holds none): 4 KiB .. 2^56 - 1,
	 * cut at 2^51 (52-bit OA): bits 12..51 = 0x000F_FFFF_FFFF_F000, minus
	 * 512 GiB (bit 39, 0x80_0000_0000) = 0x000F_FF7F_FFFF_F000.
	 */
	CHECK(c.pgsize_bitmap == 0x000FFF7FFFFFF000ull);
	REQUIRE(iopt_pt_create(&c, &pt) == 0);
	CHECK(iopt_pt_pgsize_bitmap(pt) == c.pgsize_bitmap); /* the format agrees */
	iopt_pt_free(pt);

	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_AMD_V1, 0, 2, IOPT_PT_F_HW_DIRTY, &c), 0);
	/* 4 levels: 48 bits; leaves at levels 1..4: bits 12..47 minus 39 = 0x0000_FF7F_FFFF_F000. */
	CHECK(c.ias == 48 && c.start_levels == 2 && c.flags == IOPT_PT_F_HW_DIRTY);
	CHECK(c.pgsize_bitmap == 0x0000FF7FFFFFF000ull);
	REQUIRE(iopt_pt_create(&c, &pt) == 0);
	uint64_t root;
	unsigned levels;
	iopt_pt_root(pt, &root, &levels);
	CHECK_EQ(levels, 2);
	CHECK(iopt_pt_pgsize_bitmap(pt) == c.pgsize_bitmap);
	iopt_pt_free(pt);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_AMD_V1, 39, 0, 0, &c), 0);
	CHECK(c.ias == 39);

	TEST("pt_cfg: AMD v2 (x86-64) with 5-level guest tables");
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_X86_64, 0, 0, 0, &c), 0);
	/* 5 levels without sign extension: 56 bits (hw-facts 3.2); 4K | 2M | 1G = 0x4020_1000. */
	CHECK(c.format == IOPT_PT_X86_64 && c.ias == 56 && c.pgsize_bitmap == 0x40201000ull);
	REQUIRE(iopt_pt_create(&c, &pt) == 0);
	iopt_pt_free(pt);
	struct iopt_amd_hw h4;
	iopt_amd_hw_decode(1ull << 4, &h4); /* GT, GATS 0 */
	CHECK_EQ(iopt_amd_pt_cfg(&h4, IOPT_PT_X86_64, 0, 0, 0, &c), 0);
	CHECK_EQ(c.ias, 47);

	TEST("pt_cfg: -EINVAL / -EOPNOTSUPP, cfg untouched");
	struct iopt_pt_cfg keep;
	memset(&c, 0xA5, sizeof(c));
	keep = c;
	CHECK_EQ(iopt_amd_pt_cfg(NULL, IOPT_PT_AMD_V1, 0, 0, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_AMD_V1, 0, 0, 0, NULL), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_VTD_SS, 0, 0, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_LPAE_S1, 0, 0, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_AMD_V1, 20, 0, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_AMD_V1, 0, 7, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_X86_64, 0, 1, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_X86_64, 0, 0, IOPT_PT_F_SIGN_EXTEND, &c),
		 -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_X86_64, 20, 0, 0, &c), -EINVAL);
	CHECK_EQ(iopt_amd_pt_cfg(&nohost_hw, IOPT_PT_AMD_V1, 0, 0, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_AMD_V1, 49, 0, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_AMD_V1, 0, 5, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_AMD_V1, 0, 0, IOPT_PT_F_HW_DIRTY, &c),
		 -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&qemu_hw, IOPT_PT_X86_64, 0, 0, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&full_hw, IOPT_PT_X86_64, 57, 0, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&h4, IOPT_PT_X86_64, 48, 0, 0, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_pt_cfg(&h4, IOPT_PT_X86_64, 0, 0, IOPT_PT_F_HW_DIRTY, &c), -EOPNOTSUPP);
	CHECK(memcmp(&c, &keep, sizeof(c)) == 0);
}

static void kat_inv(void)
{
	struct iopt_amd_inv_caps caps = { 7 };
	struct iopt_inv_target t;
	struct iopt_inv_cmd c = { { POISON, POISON } };

	TEST("inv caps / target: max_order 51, the scope command QEMU accepts");
	CHECK_EQ(iopt_amd_inv_caps(&qemu_hw, &caps), 0);
	CHECK_EQ(caps.max_order, 51);
	struct iopt_amd_inv_scope sc = { .domain = 0xFFFF };
	CHECK_EQ(iopt_amd_inv_target(&qemu_hw, &sc, &t), 0);
	CHECK(t.vendor == IOPT_INV_AMD && t.caps.amd.max_order == 51 && t.scope.amd.domain == 0xFFFF &&
	      !t.scope.amd.has_pasid && t.policy.max_cmds == 0 && t.policy.max_overshoot == 0);
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), 1);
	/*
	 * w0: domain 0xFFFF at 47:32, opcode 3 at 63:60 = 0x3000_FFFF_0000_0000;
	 * w1: all-pages address 0x7FFF_FFFF_FFFF_F000 | PDE (bit 1) | S (bit 0).
	 */
	CHECK(c.w[0] == 0x3000FFFF00000000ull && c.w[1] == 0x7FFFFFFFFFFFF003ull);
	CHECK(qemu_cmd_ok(&c));
	/* With guest translation a PASID (GN) is allowed: 16 bits on full_hw. */
	sc = (struct iopt_amd_inv_scope){ .domain = 1, .has_pasid = true, .pasid = 0xFFFF };
	CHECK_EQ(iopt_amd_inv_target(&full_hw, &sc, &t), 0);
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), 1);
	/* w0 = PASID 0xFFFF | domain 1 << 32 | 3 << 60; w1 gains GN (bit 2). */
	CHECK(c.w[0] == 0x300000010000FFFFull && c.w[1] == 0x7FFFFFFFFFFFF007ull);

	TEST("inv target: a PASID without guest translation or too wide: -EOPNOTSUPP / -EINVAL");
	memset(&t, 0xA5, sizeof(t));
	struct iopt_inv_target keep = t;
	sc.pasid = 0;
	CHECK_EQ(iopt_amd_inv_target(&qemu_hw, &sc, &t), -EOPNOTSUPP); /* GT but GATS reserved */
	sc.pasid = 0x10000;
	CHECK_EQ(iopt_amd_inv_target(&full_hw, &sc, &t), -EOPNOTSUPP); /* 17 bits > 16 */
	sc.pasid = 0x100000;
	CHECK_EQ(iopt_amd_inv_target(&full_hw, &sc, &t), -EINVAL); /* above 20 bits */
	CHECK_EQ(iopt_amd_inv_target(NULL, &sc, &t), -EINVAL);
	CHECK_EQ(iopt_amd_inv_target(&full_hw, NULL, &t), -EINVAL);
	CHECK_EQ(iopt_amd_inv_target(&full_hw, &sc, NULL), -EINVAL);
	CHECK(memcmp(&t, &keep, sizeof(t)) == 0);
	caps.max_order = 7;
	CHECK_EQ(iopt_amd_inv_caps(NULL, &caps), -EINVAL);
	CHECK_EQ(iopt_amd_inv_caps(&qemu_hw, NULL), -EINVAL);
	CHECK_EQ(caps.max_order, 7);

	TEST("INVALIDATE_DEVTAB_ENTRY / INVALIDATE_IOMMU_ALL: words, decoders, errors");
	CHECK_EQ(iopt_amd_inv_dte(0x0008, &c), 0);
	/* w0 = devid 0x0008 at 15:0 | opcode 2 at 63:60; w1 = 0 (Linux build_inv_dte). */
	CHECK(c.w[0] == 0x2000000000000008ull && c.w[1] == 0);
	CHECK(qemu_cmd_ok(&c));
	uint16_t devid = 0;
	CHECK(iopt_amd_inv_dte_decode(&c, &devid) == 0 && devid == 8);
	CHECK_EQ(iopt_amd_inv_dte(0xFFFF, &c), 0);
	CHECK(c.w[0] == 0x200000000000FFFFull && iopt_amd_inv_dte_decode(&c, &devid) == 0 &&
	      devid == 0xFFFF);
	struct iopt_inv_decoded d;
	CHECK_EQ(iopt_inv_decode_amd(&c, &d), -EINVAL); /* not a planner command */
	devid = 0x1234;
	c.w[0] |= 1ull << 16; /* reserved bit: QEMU flags it */
	CHECK_EQ(iopt_amd_inv_dte_decode(&c, &devid), -EINVAL);
	c.w[0] = 0x2000000000000008ull;
	c.w[1] = 1;
	CHECK_EQ(iopt_amd_inv_dte_decode(&c, &devid), -EINVAL);
	c.w[0] = 0x3000000000000008ull; /* INVALIDATE_IOMMU_PAGES */
	c.w[1] = 0;
	CHECK_EQ(iopt_amd_inv_dte_decode(&c, &devid), -EINVAL);
	CHECK_EQ(iopt_amd_inv_dte_decode(NULL, &devid), -EINVAL);
	CHECK_EQ(iopt_amd_inv_dte_decode(&c, NULL), -EINVAL);
	CHECK_EQ(devid, 0x1234);

	CHECK_EQ(iopt_amd_inv_all(&qemu_hw, &c), 0);
	/* opcode 8 at 63:60, nothing else (Linux build_inv_all; QEMU amdvi_inval_all). */
	CHECK(c.w[0] == 0x8000000000000000ull && c.w[1] == 0 && qemu_cmd_ok(&c));
	CHECK(iopt_inv_decode_amd(&c, &d) == 0 && d.kind == IOPT_INV_GLOBAL && d.start == 0 &&
	      d.end == UINT64_MAX);
	c = (struct iopt_inv_cmd){ { POISON, POISON } };
	CHECK(iopt_amd_inv_all(&full_hw, &c) == -EOPNOTSUPP && cmd_poisoned(&c)); /* no IASup */
	CHECK(iopt_amd_inv_all(NULL, &c) == -EINVAL && cmd_poisoned(&c));
	CHECK_EQ(iopt_amd_inv_all(&qemu_hw, NULL), -EINVAL);
	CHECK_EQ(iopt_amd_inv_dte(1, NULL), -EINVAL);

	TEST("COMPLETION_WAIT as QEMU 7.2 reads it (amdvi_completion_wait)");
	CHECK_EQ(iopt_inv_wait_amd(0x12345678, 0x1122334455667788ull, true, &c), 0);
	/* w0 = address 0x12345678 (bits 51:3) | store (bit 0) | interrupt (bit 1) | 1 << 60. */
	CHECK(c.w[0] == 0x100000001234567Bull && c.w[1] == 0x1122334455667788ull);
	/* QEMU: addr = extract64(w0, 3, 49) << 3, store = bit 0, irq = bit 1, data = w1. */
	CHECK(((c.w[0] >> 3) & ((1ull << 49) - 1)) << 3 == 0x12345678 && (c.w[0] & 3) == 3);
	CHECK(qemu_cmd_ok(&c));
	CHECK_EQ(iopt_inv_wait_amd(0x000FFFFFFFFFFFF8ull, 1, false, &c), 0);
	/* The highest store address: bits 51:3 all set, 59:52 clear. */
	CHECK(c.w[0] == 0x100FFFFFFFFFFFF9ull && qemu_cmd_ok(&c));

	TEST("INVALIDATE_IOMMU_PAGES plans never set a bit QEMU 7.2 flags (random ranges)");
	uint64_t seed = 0xA3D1;
	bool ok = true;
	for (int i = 0; i < 2000; i++) {
		uint64_t a = test_xrand(&seed) & 0x000FFFFFFFFFF000ull;
		uint64_t len = ((test_xrand(&seed) % 4096) + 1) << 12;
		if (a + len < a)
			continue;
		struct iopt_inv_range r = { a, a + len - 1 };
		struct iopt_inv_req req = { &r, 1, 4096, i & 1 };
		struct iopt_amd_inv_scope s2 = { .domain = (uint16_t)test_xrand(&seed) };
		struct iopt_inv_target tt;
		struct iopt_inv_cmd out[IOPT_INV_MAX_BUDGET];
		REQUIRE(iopt_amd_inv_target(&qemu_hw, &s2, &tt) == 0);
		tt.policy.max_overshoot = i & 2 ? UINT64_MAX : 0;
		int n = iopt_inv_plan(&tt, &req, out, IOPT_INV_MAX_BUDGET);
		ok &= n > 0;
		for (int k = 0; k < n; k++)
			ok &= qemu_cmd_ok(&out[k]) && !(out[k].w[1] & 4); /* and never GN */
	}
	CHECK(ok);
}

static void kat_dte(void)
{
	uint64_t w[4];
	struct iopt_amd_dte d;

	TEST("DTE: a translating entry, a blocking one, a cleared one");
	struct iopt_amd_dte in = { .valid = true, .tv = true, .mode = 3, .root = 0x12345000,
				   .ir = true, .iw = true, .domain = 0x42 };
	CHECK_EQ(iopt_amd_dte_encode(&qemu_hw, &in, w), 0);
	/*
	 * w0 = V (bit 0) | TV (1) | mode 3 << 9 (0x600) | root 0x12345000 |
	 *      IR (61) | IW (62) = 0x6000_0000_1234_5603; w1 = domain 0x42.
	 */
	CHECK(w[0] == 0x6000000012345603ull && w[1] == 0x42 && w[2] == 0 && w[3] == 0);
	CHECK(qemu_dte_ok(w));
	CHECK(iopt_amd_dte_decode(w, &d) == 0 && dte_eq(&d, &in));
	in = (struct iopt_amd_dte){ .valid = true, .tv = true };
	CHECK_EQ(iopt_amd_dte_encode(&qemu_hw, &in, w), 0);
	/* V | TV, mode 0, IR = IW = 0: every DMA refused (Linux clear_dte_entry). */
	CHECK(w[0] == 0x3 && w[1] == 0 && w[2] == 0 && w[3] == 0);
	in = (struct iopt_amd_dte){ .valid = false };
	CHECK_EQ(iopt_amd_dte_encode(&qemu_hw, &in, w), 0);
	CHECK(w[0] == 0 && w[1] == 0);
	in = (struct iopt_amd_dte){ .valid = true, .ir = true };
	CHECK_EQ(iopt_amd_dte_encode(&qemu_hw, &in, w), 0);
	CHECK(w[0] == 0x2000000000000001ull); /* V | IR: TV 0, untranslated reads */
	in = (struct iopt_amd_dte){ .valid = true, .tv = true, .mode = 6, .root = 0xFFFFFFFFFF000ull };
	CHECK_EQ(iopt_amd_dte_encode(&qemu_hw, &in, w), 0);
	/* mode 6 << 9 = 0xC00, the highest root (bits 51:12 all set). */
	CHECK(w[0] == 0x000FFFFFFFFFFC03ull);

	TEST("DTE: every guest field, PPR and HAD on an IOMMU that has them");
	/*
	 * gcr3 built from its three DTE pieces: bits 14:12 = 5, 30:15 = 0x1234,
	 * 51:31 = 0x1ABCDE: 5 << 12 | 0x1234 << 15 | 0x1ABCDE << 31
	 * = 0x5000 + 0x91A_0000 + 0xD_5E6F_0000_0000 = 0xD_5E6F_091A_5000.
	 */
	in = (struct iopt_amd_dte){ .valid = true, .tv = true, .mode = 4, .root = 0x12345000,
				    .ir = true, .domain = 0xBEEF, .ppr = true, .dirty = true,
				    .gv = true, .giov = true, .glx = 1, .gcr3 = 0xD5E6F091A5000ull,
				    .guest_levels = 5 };
	CHECK_EQ(iopt_amd_dte_encode(&full_hw, &in, w), 0);
	/*
	 * w0 low 12 bits: V | TV (0x3) | HAD 11b << 7 (0x180) | mode 4 << 9
	 * (0x800) = 0x983; root 0x12345000; bit 52 PPR (0x0010 << 48), 54 GIOV
	 * (0x0040), 55 GV (0x0080), GLX 1 << 56 (0x0100), gcr3[14:12] = 5 << 58
	 * (0x1400), 61 IR (0x2000): top 16 bits 0x35D0.
	 * w1 = 0x1ABCDE << 43 (0xD5E6_F000_0000_0000) | 0x1234 << 16 | 0xBEEF.
	 * w2 = guest paging mode 1 (5-level) << 54.
	 */
	CHECK(w[0] == 0x35D0000012345983ull);
	CHECK(w[1] == 0xD5E6F0001234BEEFull);
	CHECK(w[2] == 0x0040000000000000ull && w[3] == 0);
	CHECK(qemu_dte_ok(w));
	CHECK(iopt_amd_dte_decode(w, &d) == 0 && dte_eq(&d, &in));
	in.guest_levels = 0; /* 0 means 4: w2 stays 0, decodes as 4 */
	CHECK(iopt_amd_dte_encode(&full_hw, &in, w) == 0 && w[2] == 0);
	CHECK(iopt_amd_dte_decode(w, &d) == 0 && d.guest_levels == 4);

	TEST("DTE top: mode and root replaced, every other bit kept");
	uint64_t w0;
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x6000000012345603ull, 0x777000, 4, &w0), 0);
	/* 0x6000_0000_1234_5603 without mode (0xE00) and root, | 4 << 9 (0x800) | 0x777000. */
	CHECK(w0 == 0x6000000000777803ull);
	CHECK_EQ(iopt_amd_dte_top(&full_hw, 0x35D0000012345983ull, 0xFFFFFFFFFF000ull, 1, &w0), 0);
	/* 0x983 -> 0x383 (mode 1 << 9 = 0x200); the guest bits 63:52 untouched. */
	CHECK(w0 == 0x35DFFFFFFFFFF383ull);

	TEST("DTE encode: -EINVAL before -EOPNOTSUPP, output untouched");
	static const struct {
		struct iopt_amd_dte in;
		const struct iopt_amd_hw *hw;
		int err;
	} bad[] = {
		{ { .valid = 1, .tv = 1, .mode = 7, .root = 0x1000 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .mode = 3, .root = 0x1800 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .mode = 3, .root = 1ull << 52 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .mode = 0, .root = 0x1000 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 0, .mode = 3, .root = 0x1000 }, &qemu_hw, -EINVAL },
		{ { .valid = 0, .ir = 1 }, &qemu_hw, -EINVAL },
		{ { .valid = 0, .tv = 1 }, &qemu_hw, -EINVAL },
		{ { .valid = 0, .domain = 1 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .giov = 1 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .glx = 1 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gcr3 = 0x1000 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .guest_levels = 4 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gv = 1, .glx = 2 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gv = 1, .gcr3 = 0x1008 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gv = 1, .gcr3 = 1ull << 52 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gv = 1, .guest_levels = 3 }, &full_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .gv = 1, .glx = 2 }, &qemu_hw, -EINVAL },
		{ { .valid = 1, .tv = 1, .mode = 5, .root = 0x1000 }, &full_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .mode = 1, .root = 0x1000 }, &nohost_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .dirty = 1 }, &qemu_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .ppr = 1 }, &nohost_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .gv = 1 }, &qemu_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .gv = 1, .glx = 1 }, &qemu_hw, -EOPNOTSUPP },
		{ { .valid = 1, .tv = 1, .gv = 1, .giov = 1 }, &qemu_hw, -EOPNOTSUPP },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		w[0] = w[1] = w[2] = w[3] = POISON;
		int r = iopt_amd_dte_encode(bad[i].hw, &bad[i].in, w);
		if (!tap_check(r == bad[i].err && poisoned4(w), "bad DTE refused", __FILE__, __LINE__))
			printf("#   case %zu: got %d\n", i, r);
	}
	/* guest features one by one on hardware that has all but the one. */
	struct iopt_amd_hw h = full_hw;
	h.glx = 0;
	in = (struct iopt_amd_dte){ .valid = 1, .tv = 1, .gv = 1, .glx = 1 };
	CHECK(iopt_amd_dte_encode(&h, &in, w) == -EOPNOTSUPP && poisoned4(w));
	h = full_hw;
	h.gio = false;
	in = (struct iopt_amd_dte){ .valid = 1, .tv = 1, .gv = 1, .giov = 1 };
	CHECK(iopt_amd_dte_encode(&h, &in, w) == -EOPNOTSUPP && poisoned4(w));
	h = full_hw;
	h.guest_levels = 4;
	in = (struct iopt_amd_dte){ .valid = 1, .tv = 1, .gv = 1, .guest_levels = 5 };
	CHECK(iopt_amd_dte_encode(&h, &in, w) == -EOPNOTSUPP && poisoned4(w));
	CHECK(iopt_amd_dte_encode(NULL, &in, w) == -EINVAL && poisoned4(w));
	CHECK(iopt_amd_dte_encode(&full_hw, NULL, w) == -EINVAL && poisoned4(w));
	CHECK_EQ(iopt_amd_dte_encode(&full_hw, &in, NULL), -EINVAL);

	TEST("DTE decode / top: -EINVAL and -EOPNOTSUPP, output untouched");
	uint64_t m7[4] = { 0xE03, 0, 0, 0 }; /* mode 7 */
	memset(&d, 0xA5, sizeof(d));
	struct iopt_amd_dte dkeep = d;
	CHECK_EQ(iopt_amd_dte_decode(m7, &d), -EINVAL);
	uint64_t gpt2[4] = { 0x0080000000000003ull, 0, 2ull << 54, 0 }; /* GV, guest mode 2 */
	CHECK_EQ(iopt_amd_dte_decode(gpt2, &d), -EINVAL);
	gpt2[0] = 0x3; /* without GV the guest mode is not read */
	CHECK(iopt_amd_dte_decode(gpt2, &dkeep) == 0 && dkeep.guest_levels == 0 && !dkeep.gv);
	memset(&dkeep, 0xA5, sizeof(dkeep));
	CHECK_EQ(iopt_amd_dte_decode(NULL, &d), -EINVAL);
	CHECK_EQ(iopt_amd_dte_decode(m7, NULL), -EINVAL);
	CHECK(memcmp(&d, &dkeep, sizeof(d)) == 0);
	w0 = POISON;
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x2, 0x1000, 3, &w0), -EINVAL);  /* no V */
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x1, 0x1000, 3, &w0), -EINVAL);  /* no TV */
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x3, 0x1000, 0, &w0), -EINVAL);
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x3, 0x1000, 7, &w0), -EINVAL);
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x3, 0x1040, 3, &w0), -EINVAL);
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x3, 1ull << 52, 3, &w0), -EINVAL);
	CHECK_EQ(iopt_amd_dte_top(NULL, 0x3, 0x1000, 3, &w0), -EINVAL);
	CHECK_EQ(iopt_amd_dte_top(&full_hw, 0x3, 0x1000, 5, &w0), -EOPNOTSUPP);
	CHECK_EQ(iopt_amd_dte_top(&qemu_hw, 0x3, 0x1000, 3, NULL), -EINVAL);
	CHECK(w0 == POISON);
}

int main(void)
{
	kat_efr();
	kat_pt_cfg();
	kat_inv();
	kat_dte();
	return tap_done();
}
