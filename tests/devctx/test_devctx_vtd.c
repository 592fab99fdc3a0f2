/* SPDX-License-Identifier: MIT */
/*
 * VT-d device context (include/iopt/vtd.h): known answers derived by hand
 * from the bit positions in QEMU 7.2 intel_iommu_internal.h and Linux 6.12
 * intel/iommu.h, pasid.h (the derivation next to each expected word), the
 * decoders' round trips, and every -EINVAL / -ERANGE / -EOPNOTSUPP path with
 * the outputs checked untouched.
 */
#include <string.h>

#include <iopt/vtd.h>

#include "tap.h"

#define POISON 0xA5A5A5A5A5A5A5A5ull

/* What QEMU 7.2 reports (docs/QEMU.md; read from a running machine by tests/qemu). */
#define QEMU_CAP 0x00d2008c22260206ull
#define QEMU_ECAP 0x0000000000f00f4aull
#define QEMU_ECAP_SM 0x0000480080f00f4aull

#define ECAP_DT (1ull << 2)
#define ECAP_SC (1ull << 7)
#define ECAP_NEST (1ull << 26)
#define ECAP_PRS (1ull << 29)
#define ECAP_SRS (1ull << 31)
#define ECAP_PASID (1ull << 40)
#define ECAP_PDS (1ull << 42)
#define ECAP_SMTS (1ull << 43)
#define ECAP_SSADS (1ull << 45)
#define ECAP_SLTS (1ull << 46)
#define ECAP_FLTS (1ull << 47)
#define ECAP_SMPWC (1ull << 48)
#define ECAP_RPS (1ull << 49)
#define CAP_CM (1ull << 7)
#define CAP_FL1GP (1ull << 56)
#define CAP_FL5LP (1ull << 60)
/* CAP with SAGAW (12:8) and MGAW (21:16) replaced. */
#define CAP_GAW(cap, sagaw, mgaw) \
	(((cap) & ~(0x1Full << 8 | 0x3Full << 16)) | (uint64_t)(sagaw) << 8 | (uint64_t)((mgaw) - 1) << 16)

static struct iopt_vtd_hw hw_of(uint64_t cap, uint64_t ecap)
{
	struct iopt_vtd_hw hw;

	REQUIRE(iopt_vtd_hw_decode(cap, ecap, &hw) == 0);
	return hw;
}

static bool poisoned(const uint64_t *w, int n)
{
	for (int i = 0; i < n; i++)
		if (w[i] != POISON)
			return false;
	return true;
}

static void poison(uint64_t *w, int n)
{
	for (int i = 0; i < n; i++)
		w[i] = POISON;
}

/* ------------------------------------------------------------ capabilities */

static void kat_decode(void)
{
	struct iopt_vtd_hw hw;

	TEST("hw_decode: QEMU 7.2 CAP 0x00d2008c22260206, ECAP 0xf00f4a");
	CHECK_EQ(iopt_vtd_hw_decode(QEMU_CAP, QEMU_ECAP, &hw), 0);
	/*
	 * CAP: ND 2:0 = 6 -> 4 + 12 = 16-bit DIDs; SAGAW 12:8 = 0x02 (3-level
	 * only); MGAW 21:16 = 0x26 = 38 -> 39 bits; FRO 33:24 = 0x022 -> 0x220;
	 * bits 39, 35, 34 of 0x8c00000000: PSI, 1G, 2M; NFR 47:40 = 0 -> 1;
	 * 0xd2 in 55:48: DRD, DWD, MAMV 0x12 = 18; CM (7) clear.
	 */
	CHECK_EQ(hw.did_bits, 16);
	CHECK_EQ(hw.sagaw, 2);
	CHECK_EQ(hw.mgaw, 39);
	CHECK_EQ(hw.fro, 0x220);
	CHECK(hw.sllps_2m && hw.sllps_1g && hw.psi && hw.drd && hw.dwd);
	CHECK_EQ(hw.nfr, 1);
	CHECK_EQ(hw.mamv, 18);
	CHECK(!hw.caching_mode && !hw.afl && !hw.rwbf && !hw.fl1gp && !hw.fl5lp);
	/*
	 * ECAP 0x4a = bits 1 (QI), 3 (IR), 6 (PT); IRO 17:8 = 0x00f -> 0xf0;
	 * MHMV 23:20 = 0xf. No C, DT, EIM, SC, nothing scalable.
	 */
	CHECK(hw.qi && hw.ir && hw.pt);
	CHECK(!hw.coherent && !hw.dt && !hw.eim && !hw.sc && !hw.smts && !hw.pds && !hw.pasid);
	CHECK_EQ(hw.iro, 0xf0);
	CHECK_EQ(hw.mhmv, 15);
	CHECK_EQ(hw.haw, 52);
	CHECK(hw.cap == QEMU_CAP && hw.ecap == QEMU_ECAP);

	TEST("hw_decode: QEMU 7.2 x-scalable-mode ECAP 0x480080f00f4a");
	/* 0x4800 in 47:32: bits 46 (SLTS) and 43 (SMTS); bit 31: SRS. No FLTS, PASID, PDS. */
	hw = hw_of(QEMU_CAP, QEMU_ECAP_SM);
	CHECK(hw.smts && hw.slts && hw.srs);
	CHECK(!hw.flts && !hw.pasid && !hw.pds && !hw.nest && !hw.ssads && !hw.rps && !hw.sc);
	CHECK_EQ(hw.pasid_bits, 1);

	TEST("hw_decode: every other bit");
	/* PSS 39:35 = 19 -> 20-bit PASIDs; ND 0 -> 4-bit DIDs; NFR 0xff -> 256. */
	hw = hw_of(CAP_CM | CAP_FL1GP | CAP_FL5LP | 1ull << 3 | 1ull << 4 | 0xFFull << 40,
		   1 | ECAP_DT | ECAP_SC | 1ull << 4 | ECAP_NEST | ECAP_PRS | 19ull << 35 | ECAP_PASID |
			   ECAP_PDS | ECAP_SSADS | ECAP_FLTS | ECAP_SMPWC | ECAP_RPS);
	CHECK(hw.caching_mode && hw.fl1gp && hw.fl5lp && hw.afl && hw.rwbf);
	CHECK_EQ(hw.nfr, 256);
	CHECK_EQ(hw.did_bits, 4);
	CHECK(hw.coherent && hw.dt && hw.sc && hw.eim && hw.nest && hw.prs && hw.pasid && hw.pds &&
	      hw.ssads && hw.flts && hw.smpwc && hw.rps);
	CHECK_EQ(hw.pasid_bits, 20);

	TEST("hw_decode: NULL, CAP.ND 7 (reserved): -EINVAL, hw untouched");
	memset(&hw, 0x5A, sizeof(hw));
	struct iopt_vtd_hw keep = hw;
	CHECK_EQ(iopt_vtd_hw_decode(QEMU_CAP, QEMU_ECAP, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_hw_decode(QEMU_CAP | 7, QEMU_ECAP, &hw), -EINVAL);
	CHECK(!memcmp(&hw, &keep, sizeof(hw)));
}

static void kat_inv_caps(void)
{
	struct iopt_vtd_inv_caps c, keep;
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP);

	TEST("inv_caps: PSI, MAMV, DRD/DWD from CAP; PDS, SMTS from ECAP");
	CHECK_EQ(iopt_vtd_inv_caps(&hw, &c), 0);
	CHECK(c.psi && c.mamv == 18 && c.drain_read && c.drain_write && !c.page_drain && !c.scalable);
	hw = hw_of(QEMU_CAP & ~(1ull << 39 | 3ull << 54), QEMU_ECAP_SM | ECAP_PDS);
	CHECK_EQ(iopt_vtd_inv_caps(&hw, &c), 0);
	CHECK(!c.psi && !c.drain_read && !c.drain_write && c.page_drain && c.scalable);

	TEST("inv_caps: NULL: -EINVAL, caps untouched");
	memset(&c, 0x5A, sizeof(c));
	keep = c;
	CHECK_EQ(iopt_vtd_inv_caps(NULL, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_caps(&hw, NULL), -EINVAL);
	CHECK(!memcmp(&c, &keep, sizeof(c)));
}

static void levels_of(const struct iopt_pt_cfg *cfg, unsigned want)
{
	struct iopt_pt *pt;
	uint64_t root;
	unsigned levels = 0;

	if (!CHECK(iopt_pt_create(cfg, &pt) == 0))
		return;
	iopt_pt_root(pt, &root, &levels);
	CHECK_EQ(levels, want);
	iopt_pt_free(pt);
}

static void kat_pt_cfg(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_pt_cfg cfg, keep;

	TEST("pt_cfg: QEMU legacy: SS, 39 bits (SAGAW 3-level, MGAW 39), 4K|2M|1G, no snoop");
	hw.haw = 39; /* QEMU: HAW = aw-bits */
	memset(&cfg, 0, sizeof(cfg));
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 0, IOPT_PT_F_SPLIT, &cfg), 0);
	CHECK(cfg.format == IOPT_PT_VTD_SS && cfg.ias == 39 && cfg.oas == 39 && cfg.granule_lg2 == 12);
	CHECK_EQ(cfg.pgsize_bitmap, 0x40201000ull);
	CHECK_EQ(cfg.flags, IOPT_PT_F_SPLIT);
	levels_of(&cfg, 3);

	TEST("pt_cfg: snoop control (ECAP.SC) adds IOPT_PT_F_SNOOP; no SLLPS: 4K only");
	hw = hw_of(QEMU_CAP & ~(3ull << 34), QEMU_ECAP | ECAP_SC);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 39, 0, &cfg), 0);
	CHECK_EQ(cfg.flags, IOPT_PT_F_SNOOP);
	CHECK_EQ(cfg.pgsize_bitmap, 0x1000ull);
	CHECK_EQ(cfg.oas, 52);

	TEST("pt_cfg: aw-bits=48 (SAGAW 39|48, MGAW 48): 0 -> 4 levels, 39 -> 3, 40 -> 4");
	hw = hw_of(CAP_GAW(QEMU_CAP, 0x6, 48), QEMU_ECAP);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 0, 0, &cfg), 0);
	CHECK_EQ(cfg.ias, 48);
	levels_of(&cfg, 4);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 39, 0, &cfg), 0);
	CHECK_EQ(cfg.ias, 39);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 40, 0, &cfg), 0);
	CHECK_EQ(cfg.ias, 48);

	TEST("pt_cfg: SAGAW 4-level only with MGAW 39: a 39-bit request gets the 4-level table");
	hw = hw_of(CAP_GAW(QEMU_CAP, 0x4, 39), QEMU_ECAP);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 0, 0, &cfg), 0);
	CHECK_EQ(cfg.ias, 48);
	levels_of(&cfg, 4);

	TEST("pt_cfg: SS dirty tracking needs scalable mode and SSADS");
	hw = hw_of(CAP_GAW(QEMU_CAP, 0x8, 57), QEMU_ECAP_SM | ECAP_SSADS);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_VTD_SS, 0, IOPT_PT_F_HW_DIRTY, &cfg), 0);
	CHECK(cfg.ias == 57 && cfg.flags == IOPT_PT_F_HW_DIRTY);
	levels_of(&cfg, 5);

	TEST("pt_cfg: first stage (x86_64): FLTS; 48 bits, 57 with FL5LP; 1G with FL1GP");
	hw = hw_of(QEMU_CAP, QEMU_ECAP_SM | ECAP_FLTS);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 0, IOPT_PT_F_SIGN_EXTEND, &cfg), 0);
	CHECK(cfg.format == IOPT_PT_X86_64 && cfg.ias == 48 && cfg.flags == IOPT_PT_F_SIGN_EXTEND);
	CHECK_EQ(cfg.pgsize_bitmap, 0x201000ull);
	levels_of(&cfg, 4);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 57, 0, &cfg), -EOPNOTSUPP);
	hw = hw_of(QEMU_CAP | CAP_FL1GP | CAP_FL5LP, QEMU_ECAP_SM | ECAP_FLTS);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 49, 0, &cfg), 0);
	CHECK(cfg.ias == 57 && cfg.pgsize_bitmap == 0x40201000ull);
	levels_of(&cfg, 5);

	TEST("pt_cfg: provider, change_top and flush are left as set");
	cfg.provider = iopt_pt_default_provider();
	cfg.flush_ctx = &cfg;
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 0, 0, &cfg), 0);
	CHECK(cfg.provider == iopt_pt_default_provider() && cfg.flush_ctx == &cfg);

	TEST("pt_cfg: bad input -EINVAL, unadvertised -EOPNOTSUPP, cfg untouched");
	struct iopt_vtd_hw q = hw_of(QEMU_CAP, QEMU_ECAP), qsm = hw_of(QEMU_CAP, QEMU_ECAP_SM);
	memset(&cfg, 0x5A, sizeof(cfg));
	keep = cfg;
	CHECK_EQ(iopt_vtd_pt_cfg(NULL, IOPT_PT_VTD_SS, 0, 0, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, 0, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_AMD_V1, 0, 0, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 58, 0, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, 1u << 20, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, IOPT_PT_F_LPA, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, IOPT_PT_F_SIGN_EXTEND, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 0, IOPT_PT_F_HW_DIRTY, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&hw, IOPT_PT_X86_64, 0, IOPT_PT_F_SNOOP, &cfg), -EINVAL);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 40, 0, &cfg), -EOPNOTSUPP);    /* > MGAW */
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, IOPT_PT_F_SNOOP, &cfg), -EOPNOTSUPP);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 0, IOPT_PT_F_HW_DIRTY, &cfg), -EOPNOTSUPP);
	CHECK_EQ(iopt_vtd_pt_cfg(&qsm, IOPT_PT_VTD_SS, 0, IOPT_PT_F_HW_DIRTY, &cfg), -EOPNOTSUPP);
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_X86_64, 0, 0, &cfg), -EOPNOTSUPP);     /* no SMTS */
	CHECK_EQ(iopt_vtd_pt_cfg(&qsm, IOPT_PT_X86_64, 0, 0, &cfg), -EOPNOTSUPP);   /* no FLTS */
	struct iopt_vtd_hw nodma = hw_of(CAP_GAW(QEMU_CAP, 0, 39), QEMU_ECAP); /* dma-translation=off */
	CHECK_EQ(iopt_vtd_pt_cfg(&nodma, IOPT_PT_VTD_SS, 0, 0, &cfg), -EOPNOTSUPP);
	/* -EINVAL before -EOPNOTSUPP */
	CHECK_EQ(iopt_vtd_pt_cfg(&q, IOPT_PT_VTD_SS, 40, IOPT_PT_F_SIGN_EXTEND, &cfg), -EINVAL);
	CHECK(!memcmp(&cfg, &keep, sizeof(cfg)));
}

/* ------------------------------------------------------------- legacy mode */

static void kat_root(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_vtd_root r;
	uint64_t w[2];

	TEST("root entry: P (bit 0) | context table 63:12; qw1 0");
	/* 0x12345000 | P = 0x12345001 */
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ true, 0x12345000 }, w), 0);
	CHECK(w[0] == 0x12345001ull && w[1] == 0);
	CHECK_EQ(iopt_vtd_root_decode(w, &r), 0);
	CHECK(r.present && r.ctp == 0x12345000);
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ 0 }, w), 0);
	CHECK(w[0] == 0 && w[1] == 0);
	CHECK(iopt_vtd_root_decode(w, &r) == 0 && !r.present && !r.ctp);

	TEST("root entry: bad input: -EINVAL / -ERANGE, nothing written");
	hw.haw = 39;
	poison(w, 2);
	CHECK_EQ(iopt_vtd_root_encode(NULL, &(struct iopt_vtd_root){ true, 0x1000 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_root_encode(&hw, NULL, w), -EINVAL);
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ true, 0x1000 }, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ true, 0x1800 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ false, 0x1000 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ true, 1ull << 39 }, w), -ERANGE);
	CHECK(poisoned(w, 2));
	CHECK_EQ(iopt_vtd_root_encode(&hw, &(struct iopt_vtd_root){ true, (1ull << 39) - 4096 }, w), 0);

	TEST("root decode: reserved bits 11:1, qw1 in legacy mode: -EINVAL");
	memset(&r, 0x5A, sizeof(r));
	struct iopt_vtd_root keep = r;
	CHECK_EQ(iopt_vtd_root_decode((uint64_t[2]){ 0x1003, 0 }, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_root_decode((uint64_t[2]){ 0x1001, 0x2001 }, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_root_decode(NULL, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_root_decode(w, NULL), -EINVAL);
	CHECK(!memcmp(&r, &keep, sizeof(r)));
}

static void kat_context(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_vtd_context c;
	uint64_t w[2];

	TEST("context entry: SS table, 3 levels, DID 0x42");
	/* qw0 = 0x7654000 | TT 0 | P = 0x7654001; qw1 = DID 0x42 << 8 | AW 1 = 0x4201 */
	struct iopt_vtd_context in = { .present = true, .slptptr = 0x7654000, .levels = 3, .did = 0x42 };
	CHECK_EQ(iopt_vtd_context_encode(&hw, &in, w), 0);
	CHECK(w[0] == 0x7654001ull && w[1] == 0x4201ull);
	CHECK_EQ(iopt_vtd_context_decode(w, &c), 0);
	CHECK(c.present && !c.fpd && c.tt == IOPT_VTD_TT_SS && c.slptptr == 0x7654000 &&
	      c.levels == 3 && c.did == 0x42);
	/* FPD is bit 1: 0x7654003 */
	in.fpd = true;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &in, w), 0);
	CHECK(w[0] == 0x7654003ull && w[1] == 0x4201ull);
	CHECK(iopt_vtd_context_decode(w, &c) == 0 && c.fpd);

	TEST("context entry: pass-through (ECAP.PT): TT 2 -> qw0 0x9, AW names SAGAW's level");
	/* TT 2 << 2 | P = 0x9; qw1 = 7 << 8 | AW 1 = 0x701 */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &(struct iopt_vtd_context){
		.present = true, .tt = IOPT_VTD_TT_PASSTHROUGH, .levels = 3, .did = 7 }, w), 0);
	CHECK(w[0] == 0x9ull && w[1] == 0x701ull);
	CHECK(iopt_vtd_context_decode(w, &c) == 0 && c.tt == IOPT_VTD_TT_PASSTHROUGH && !c.slptptr);

	TEST("context entry: device TLB (ECAP.DT): TT 1 -> 0x5; not present with FPD -> 0x2");
	struct iopt_vtd_hw dt = hw_of(CAP_GAW(QEMU_CAP, 0xE, 57), QEMU_ECAP | ECAP_DT);
	CHECK_EQ(iopt_vtd_context_encode(&dt, &(struct iopt_vtd_context){
		.present = true, .tt = IOPT_VTD_TT_SS_DEVTLB, .slptptr = 0x1000, .levels = 5, .did = 1 }, w), 0);
	/* 0x1000 | 1 << 2 | 1 = 0x1005; qw1 = 1 << 8 | AW 3 = 0x103 */
	CHECK(w[0] == 0x1005ull && w[1] == 0x103ull);
	CHECK(iopt_vtd_context_decode(w, &c) == 0 && c.levels == 5 && c.tt == IOPT_VTD_TT_SS_DEVTLB);
	CHECK_EQ(iopt_vtd_context_encode(&hw, &(struct iopt_vtd_context){ .fpd = true }, w), 0);
	CHECK(w[0] == 2 && w[1] == 0);
	CHECK(iopt_vtd_context_decode(w, &c) == 0 && !c.present && c.fpd && !c.levels);

	TEST("context entry: bad input -EINVAL, above HAW -ERANGE, unadvertised -EOPNOTSUPP");
	struct iopt_vtd_hw cm = hw_of(QEMU_CAP | CAP_CM, QEMU_ECAP), nd0 = hw_of(QEMU_CAP & ~7ull, QEMU_ECAP);
	struct iopt_vtd_hw nopt = hw_of(QEMU_CAP, QEMU_ECAP & ~(1ull << 6));
	struct iopt_vtd_context ok = { .present = true, .slptptr = 0x2000, .levels = 3, .did = 1 }, b;
	hw.haw = 39;
	poison(w, 2);
	CHECK_EQ(iopt_vtd_context_encode(NULL, &ok, w), -EINVAL);
	CHECK_EQ(iopt_vtd_context_encode(&hw, NULL, w), -EINVAL);
	CHECK_EQ(iopt_vtd_context_encode(&hw, &ok, NULL), -EINVAL);
	b = ok, b.tt = 3;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.levels = 2;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.levels = 6;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.slptptr = 0x2010;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.tt = IOPT_VTD_TT_PASSTHROUGH; /* pass-through with a table pointer */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.present = false; /* fields in a non-present entry */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.did = 0; /* DID 0 is reserved under caching mode */
	CHECK_EQ(iopt_vtd_context_encode(&cm, &b, w), -EINVAL);
	b = ok, b.slptptr = 1ull << 39;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -ERANGE);
	b = ok, b.levels = 4; /* SAGAW: 3-level only */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EOPNOTSUPP);
	b = ok, b.tt = IOPT_VTD_TT_SS_DEVTLB; /* no ECAP.DT */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EOPNOTSUPP);
	b = ok, b.tt = IOPT_VTD_TT_PASSTHROUGH, b.slptptr = 0;
	CHECK_EQ(iopt_vtd_context_encode(&nopt, &b, w), -EOPNOTSUPP);
	b = ok, b.did = 16; /* ND 0: 4-bit DIDs */
	CHECK_EQ(iopt_vtd_context_encode(&nd0, &b, w), -EOPNOTSUPP);
	b = ok, b.levels = 4, b.slptptr = 0x2010; /* -EINVAL before -EOPNOTSUPP */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.levels = 4, b.slptptr = 1ull << 40; /* -ERANGE before -EOPNOTSUPP */
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), -ERANGE);
	CHECK(poisoned(w, 2));
	b = ok, b.did = 0;
	CHECK_EQ(iopt_vtd_context_encode(&hw, &b, w), 0); /* DID 0 is fine without CM */
	b = ok, b.did = 15;
	CHECK_EQ(iopt_vtd_context_encode(&nd0, &b, w), 0);

	TEST("context decode: reserved qw0 11:4, qw1 bit 7 and 63:24, TT 3: -EINVAL");
	memset(&c, 0x5A, sizeof(c));
	struct iopt_vtd_context keep = c;
	CHECK_EQ(iopt_vtd_context_decode((uint64_t[2]){ 0x1011, 0x101 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_context_decode((uint64_t[2]){ 0x100D, 0x101 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_context_decode((uint64_t[2]){ 0x1001, 0x181 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_context_decode((uint64_t[2]){ 0x1001, 0x1000101 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_context_decode(NULL, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_context_decode(w, NULL), -EINVAL);
	CHECK(!memcmp(&c, &keep, sizeof(c)));
	/* bits 6:3 of qw1 are available to software: decoded, ignored */
	CHECK(iopt_vtd_context_decode((uint64_t[2]){ 0x1001, 0x179 }, &c) == 0 && c.levels == 3 &&
	      c.did == 1);
}

/* ----------------------------------------------------------- scalable mode */

static void kat_sm_root(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP_SM), legacy = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_vtd_sm_root r;
	uint64_t w[2];

	TEST("scalable root entry: lower / upper context tables");
	/* qw0 = 0x1000 | LP = 0x1001; upper absent: qw1 = 0 */
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1000, false, 0 }, w), 0);
	CHECK(w[0] == 0x1001ull && w[1] == 0);
	/* both: qw1 = 0x2000 | UP = 0x2001 */
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1000, true, 0x2000 }, w), 0);
	CHECK(w[0] == 0x1001ull && w[1] == 0x2001ull);
	CHECK_EQ(iopt_vtd_sm_root_decode(w, &r), 0);
	CHECK(r.lower_present && r.lower_ctp == 0x1000 && r.upper_present && r.upper_ctp == 0x2000);

	TEST("scalable root entry: bad input, no ECAP.SMTS: nothing written");
	hw.haw = 39;
	poison(w, 2);
	CHECK_EQ(iopt_vtd_sm_root_encode(NULL, &r, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, NULL, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &r, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1001, false, 0 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1000, true, 0x2800 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1000, false, 0x2000 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ false, 0x1000, false, 0 }, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_encode(&hw, &(struct iopt_vtd_sm_root){ true, 0x1000, true, 1ull << 39 }, w), -ERANGE);
	CHECK_EQ(iopt_vtd_sm_root_encode(&legacy, &(struct iopt_vtd_sm_root){ true, 0x1000, false, 0 }, w), -EOPNOTSUPP);
	CHECK(poisoned(w, 2));
	memset(&r, 0x5A, sizeof(r));
	struct iopt_vtd_sm_root keep = r;
	CHECK_EQ(iopt_vtd_sm_root_decode((uint64_t[2]){ 0x1001, 0x2003 }, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_decode((uint64_t[2]){ 0x1801, 0 }, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_decode(NULL, &r), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_root_decode(w, NULL), -EINVAL);
	CHECK(!memcmp(&r, &keep, sizeof(r)));
}

static void kat_sm_context(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP_SM), legacy = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_vtd_hw all = hw_of(QEMU_CAP, QEMU_ECAP_SM | ECAP_DT | ECAP_PASID | ECAP_PRS | ECAP_RPS);
	struct iopt_vtd_sm_context c;
	uint64_t w[4];

	TEST("scalable context entry: PASID directory 0x3000, RID_PASID 0");
	/* qw0 = 0x3000 | P = 0x3001; qw1..3 = 0 */
	struct iopt_vtd_sm_context in = { .present = true, .pasid_dir = 0x3000 };
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &in, w), 0);
	CHECK(w[0] == 0x3001ull && w[1] == 0 && w[2] == 0 && w[3] == 0);
	CHECK_EQ(iopt_vtd_sm_context_decode(w, &c), 0);
	CHECK(c.present && c.pasid_dir == 0x3000 && !c.pdts && !c.rid_pasid && !c.fpd);
	/* FPD bit 1, PDTS 7 in 11:9 = 0xE00: 0x3E03 */
	in.fpd = true;
	in.pdts = 7;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &in, w), 0);
	CHECK(w[0] == 0x3E03ull && w[1] == 0);

	TEST("scalable context entry: DTE 2, PASIDE 3, PRE 4, RID_PASID (ECAP.RPS)");
	/* 0x3000 | PDTS 1 << 9 (0x200) | PRE 0x10 | PASIDE 0x8 | DTE 0x4 | P = 0x321D; qw1 = 0x2000 */
	in = (struct iopt_vtd_sm_context){ .present = true, .dte = true, .paside = true, .pre = true,
					   .pdts = 1, .pasid_dir = 0x3000, .rid_pasid = 0x2000 };
	CHECK_EQ(iopt_vtd_sm_context_encode(&all, &in, w), 0);
	CHECK(w[0] == 0x321Dull && w[1] == 0x2000ull && w[2] == 0 && w[3] == 0);
	CHECK_EQ(iopt_vtd_sm_context_decode(w, &c), 0);
	CHECK(c.dte && c.paside && c.pre && c.pdts == 1 && c.rid_pasid == 0x2000);
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &(struct iopt_vtd_sm_context){ .fpd = true }, w), 0);
	CHECK(w[0] == 2 && w[1] == 0 && w[2] == 0 && w[3] == 0);

	TEST("scalable context entry: bad input, unadvertised features: nothing written");
	struct iopt_vtd_sm_context ok = { .present = true, .pasid_dir = 0x3000 }, b;
	hw.haw = 39;
	poison(w, 4);
	CHECK_EQ(iopt_vtd_sm_context_encode(NULL, &ok, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, NULL, w), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &ok, NULL), -EINVAL);
	b = ok, b.pdts = 8;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.pasid_dir = 0x3008;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.rid_pasid = 1u << 20;
	CHECK_EQ(iopt_vtd_sm_context_encode(&all, &b, w), -EINVAL);
	b = ok, b.rid_pasid = 0x2000; /* directory entry 128 of a 128-entry directory */
	CHECK_EQ(iopt_vtd_sm_context_encode(&all, &b, w), -EINVAL);
	b = ok, b.present = false;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EINVAL);
	b = ok, b.pasid_dir = 1ull << 39;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -ERANGE);
	CHECK_EQ(iopt_vtd_sm_context_encode(&legacy, &ok, w), -EOPNOTSUPP);
	CHECK_EQ(iopt_vtd_sm_context_encode(&legacy, &(struct iopt_vtd_sm_context){ 0 }, w), -EOPNOTSUPP);
	b = ok, b.dte = true;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EOPNOTSUPP);
	b = ok, b.paside = true;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EOPNOTSUPP);
	b = ok, b.pre = true;
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EOPNOTSUPP);
	b = ok, b.rid_pasid = 1; /* QEMU 7.2 honours it but does not advertise RPS */
	CHECK_EQ(iopt_vtd_sm_context_encode(&hw, &b, w), -EOPNOTSUPP);
	CHECK(poisoned(w, 4));

	TEST("scalable context decode: reserved qw0 8:5, qw1 63:20, qw2, qw3: -EINVAL");
	memset(&c, 0x5A, sizeof(c));
	struct iopt_vtd_sm_context keep = c;
	CHECK_EQ(iopt_vtd_sm_context_decode((uint64_t[4]){ 0x3021, 0, 0, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_decode((uint64_t[4]){ 0x3001, 1u << 20, 0, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_decode((uint64_t[4]){ 0x3001, 0, 1, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_decode((uint64_t[4]){ 0x3001, 0, 0, 1 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_decode(NULL, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_sm_context_decode(w, NULL), -EINVAL);
	CHECK(!memcmp(&c, &keep, sizeof(c)));
}

static void kat_pasid_dir(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP_SM), legacy = hw_of(QEMU_CAP, QEMU_ECAP);
	struct iopt_vtd_pasid_dir d;
	uint64_t w;

	TEST("PASID directory entry: table 0x5000 | P = 0x5001; FPD bit 1");
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ true, false, 0x5000 }, &w), 0);
	CHECK_EQ(w, 0x5001ull);
	CHECK(iopt_vtd_pasid_dir_decode(w, &d) == 0 && d.present && !d.fpd && d.table == 0x5000);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ true, true, 0x5000 }, &w), 0);
	CHECK_EQ(w, 0x5003ull);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ false, true, 0 }, &w), 0);
	CHECK_EQ(w, 0x2ull);
	CHECK(iopt_vtd_pasid_dir_decode(w, &d) == 0 && !d.present && d.fpd);

	TEST("PASID directory entry: bad input, no SMTS: nothing written");
	hw.haw = 39;
	w = POISON;
	CHECK_EQ(iopt_vtd_pasid_dir_encode(NULL, &d, &w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, NULL, &w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &d, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ true, false, 0x5004 }, &w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ false, false, 0x5000 }, &w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&hw, &(struct iopt_vtd_pasid_dir){ true, false, 1ull << 40 }, &w), -ERANGE);
	CHECK_EQ(iopt_vtd_pasid_dir_encode(&legacy, &(struct iopt_vtd_pasid_dir){ true, false, 0x5000 }, &w), -EOPNOTSUPP);
	CHECK_EQ(w, POISON);
	memset(&d, 0x5A, sizeof(d));
	struct iopt_vtd_pasid_dir keep = d;
	CHECK_EQ(iopt_vtd_pasid_dir_decode(0x5005, &d), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_dir_decode(0x5001, NULL), -EINVAL);
	CHECK(!memcmp(&d, &keep, sizeof(d)));
}

/* Field by field: the struct has padding. */
static bool pasid_eq(const struct iopt_vtd_pasid_encode *a, const struct iopt_vtd_pasid_encode *b)
{
	return a->present == b->present && a->fpd == b->fpd && a->pgtt == b->pgtt &&
	       a->did == b->did && a->ssptptr == b->ssptptr && a->ss_levels == b->ss_levels &&
	       a->ssade == b->ssade && a->flptptr == b->flptptr && a->fs_levels == b->fs_levels &&
	       a->sre == b->sre && a->pwsnp == b->pwsnp && a->pgsnp == b->pgsnp;
}

static void kat_pasid_entry(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP_SM), legacy = hw_of(QEMU_CAP, QEMU_ECAP);
	/* Everything: SAGAW 39|48|57, FL1GP/FL5LP, nested, SSADS, SRS, SMPWC, SC. */
	struct iopt_vtd_hw all = hw_of(CAP_GAW(QEMU_CAP, 0xE, 57) | CAP_FL5LP,
				       QEMU_ECAP_SM | ECAP_FLTS | ECAP_NEST | ECAP_SSADS | ECAP_SMPWC |
					       ECAP_SC);
	struct iopt_vtd_pasid_encode p;
	uint64_t w[8];

	TEST("PASID entry: second stage (QEMU's only translating type), 3 levels, DID 1");
	/* qw0 = 0x8000 | PGTT 2 << 6 (0x80) | AW 1 << 2 (0x4) | P = 0x8085; qw1 = DID 1 */
	struct iopt_vtd_pasid_encode ss = { .present = true, .pgtt = IOPT_VTD_PGTT_SS, .did = 1,
					   .ssptptr = 0x8000, .ss_levels = 3 };
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &ss, w), 0);
	CHECK(w[0] == 0x8085ull && w[1] == 1 && w[2] == 0);
	CHECK(w[3] == 0 && w[4] == 0 && w[5] == 0 && w[6] == 0 && w[7] == 0);
	CHECK_EQ(iopt_vtd_pasid_decode(w, &p), 0);
	CHECK(pasid_eq(&p, &ss));

	TEST("PASID entry: pass-through, AW = the largest SAGAW level (as Linux's iommu->agaw)");
	/* PGTT 4 << 6 = 0x100 | AW 1 << 2 | P = 0x105; qw1 = 2 */
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &(struct iopt_vtd_pasid_encode){
		.present = true, .pgtt = IOPT_VTD_PGTT_PT, .did = 2 }, w), 0);
	CHECK(w[0] == 0x105ull && w[1] == 2 && w[2] == 0);
	CHECK(iopt_vtd_pasid_decode(w, &p) == 0 && p.pgtt == IOPT_VTD_PGTT_PT && p.ss_levels == 0);

	TEST("PASID entry: nested with every option");
	/*
	 * qw0 = 0x8000 | SSADE 0x200 | PGTT 3 << 6 (0xC0) | AW 2 << 2 (0x8) | P = 0x82C9
	 * qw1 = PGSNP 1 << 24 | PWSNP 1 << 23 | DID 0x33 = 0x1800033
	 * qw2 = 0x9000 | FLPM 1 << 2 | SRE = 0x9005   (all: ECAP.SRS from QEMU_ECAP_SM)
	 */
	struct iopt_vtd_pasid_encode nested = {
		.present = true, .fpd = false, .pgtt = IOPT_VTD_PGTT_NESTED, .did = 0x33,
		.ssptptr = 0x8000, .ss_levels = 4, .ssade = true, .flptptr = 0x9000, .fs_levels = 5,
		.sre = true, .pwsnp = true, .pgsnp = true };
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &nested, w), 0);
	CHECK(w[0] == 0x82C9ull && w[1] == 0x1800033ull && w[2] == 0x9005ull && w[3] == 0);
	CHECK_EQ(iopt_vtd_pasid_decode(w, &p), 0);
	CHECK(pasid_eq(&p, &nested));

	TEST("PASID entry: first stage, 4-level, FPD; not present with FPD");
	/* qw0 = PGTT 1 << 6 (0x40) | AW 3 << 2 (0xC) | FPD 2 | P = 0x4F; qw1 = 9; qw2 = 0xA000 */
	struct iopt_vtd_pasid_encode fs = { .present = true, .fpd = true, .pgtt = IOPT_VTD_PGTT_FS,
					   .did = 9, .flptptr = 0xA000, .fs_levels = 4 };
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &fs, w), 0);
	CHECK(w[0] == 0x4Full && w[1] == 9 && w[2] == 0xA000ull);
	CHECK(iopt_vtd_pasid_decode(w, &p) == 0 && pasid_eq(&p, &fs));
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &(struct iopt_vtd_pasid_encode){ .fpd = true }, w), 0);
	CHECK(w[0] == 2 && w[1] == 0 && w[2] == 0);
	CHECK(iopt_vtd_pasid_decode(w, &p) == 0 && !p.present && p.fpd && !p.pgtt);

	TEST("PASID entry: malformed -EINVAL, above HAW -ERANGE, nothing written");
	struct iopt_vtd_hw cm = hw_of(QEMU_CAP | CAP_CM, QEMU_ECAP_SM), b_hw = all;
	struct iopt_vtd_pasid_encode b;
	b_hw.haw = 39;
	poison(w, 8);
	CHECK_EQ(iopt_vtd_pasid_encode(NULL, &ss, w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, NULL, w), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &ss, NULL), -EINVAL);
	b = ss, b.pgtt = 0;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	b = ss, b.pgtt = 5;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	b = ss, b.ss_levels = 2;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	b = ss, b.flptptr = 0x9000; /* a first-stage field in an SS entry */
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &b, w), -EINVAL);
	b = fs, b.ss_levels = 4; /* a second-stage field in an FS entry */
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &b, w), -EINVAL);
	b = fs, b.ssade = true;
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &b, w), -EINVAL);
	b = fs, b.fs_levels = 3;
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &b, w), -EINVAL);
	b = ss, b.ssptptr = 0x8100;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	b = nested, b.flptptr = 0x9800;
	CHECK_EQ(iopt_vtd_pasid_encode(&all, &b, w), -EINVAL);
	b = ss, b.did = 0;
	CHECK_EQ(iopt_vtd_pasid_encode(&cm, &b, w), -EINVAL);
	b = ss, b.present = false;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	b = nested, b.flptptr = 1ull << 39;
	CHECK_EQ(iopt_vtd_pasid_encode(&b_hw, &b, w), -ERANGE);
	b = nested, b.ssptptr = 1ull << 45;
	CHECK_EQ(iopt_vtd_pasid_encode(&b_hw, &b, w), -ERANGE);
	CHECK(poisoned(w, 8));

	TEST("PASID entry: unadvertised type or option -EOPNOTSUPP, nothing written");
	CHECK_EQ(iopt_vtd_pasid_encode(&legacy, &ss, w), -EOPNOTSUPP);            /* SMTS */
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &fs, w), -EOPNOTSUPP);                /* FLTS */
	b = nested, b.fs_levels = 4, b.sre = b.pwsnp = b.pgsnp = b.ssade = false, b.ss_levels = 3;
	struct iopt_vtd_hw nonest = hw_of(QEMU_CAP, QEMU_ECAP_SM | ECAP_FLTS);
	CHECK_EQ(iopt_vtd_pasid_encode(&nonest, &b, w), -EOPNOTSUPP);             /* NEST */
	b.pgtt = IOPT_VTD_PGTT_FS, b.ssptptr = 0, b.ss_levels = 0;
	CHECK_EQ(iopt_vtd_pasid_encode(&nonest, &b, w), 0);                        /* FS alone is fine */
	poison(w, 8);
	struct iopt_vtd_hw nopt = hw_of(QEMU_CAP, QEMU_ECAP_SM & ~(1ull << 6));
	CHECK_EQ(iopt_vtd_pasid_encode(&nopt, &(struct iopt_vtd_pasid_encode){
		.present = true, .pgtt = IOPT_VTD_PGTT_PT, .did = 2 }, w), -EOPNOTSUPP); /* PT */
	struct iopt_vtd_hw noslts = hw_of(QEMU_CAP, QEMU_ECAP_SM & ~ECAP_SLTS);
	CHECK_EQ(iopt_vtd_pasid_encode(&noslts, &ss, w), -EOPNOTSUPP);            /* SLTS */
	b = ss, b.ss_levels = 4;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EOPNOTSUPP);                 /* SAGAW */
	b = ss, b.ssade = true;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EOPNOTSUPP);                 /* SSADS */
	b = ss, b.pgsnp = true;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EOPNOTSUPP);                 /* SC */
	b = ss, b.pwsnp = true;
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EOPNOTSUPP);                 /* SMPWC */
	struct iopt_vtd_hw nosrs = hw_of(QEMU_CAP, QEMU_ECAP_SM & ~ECAP_SRS);
	b = ss, b.sre = true;
	CHECK_EQ(iopt_vtd_pasid_encode(&nosrs, &b, w), -EOPNOTSUPP);              /* SRS */
	struct iopt_vtd_hw no5 = hw_of(QEMU_CAP, QEMU_ECAP_SM | ECAP_FLTS);
	b = fs, b.fs_levels = 5;
	CHECK_EQ(iopt_vtd_pasid_encode(&no5, &b, w), -EOPNOTSUPP);                /* FL5LP */
	struct iopt_vtd_hw nd0 = hw_of(QEMU_CAP & ~7ull, QEMU_ECAP_SM);
	b = ss, b.did = 16;
	CHECK_EQ(iopt_vtd_pasid_encode(&nd0, &b, w), -EOPNOTSUPP);                /* ND */
	CHECK_EQ(iopt_vtd_pasid_encode(&legacy, &(struct iopt_vtd_pasid_encode){ 0 }, w), -EOPNOTSUPP);
	b = ss, b.ss_levels = 4, b.ssptptr = 0x8001; /* -EINVAL first */
	CHECK_EQ(iopt_vtd_pasid_encode(&hw, &b, w), -EINVAL);
	CHECK(poisoned(w, 8));

	TEST("PASID decode: reserved bits, qw3..7, PGTT 0 present or > 4, FLPM 2: -EINVAL");
	memset(&p, 0x5A, sizeof(p));
	struct iopt_vtd_pasid_encode keep = p;
	uint64_t e[8] = { 0x8085, 1 };
	CHECK_EQ(iopt_vtd_pasid_decode(e, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_pasid_decode(NULL, &p), -EINVAL);
	e[0] = 0x8085 | 1u << 10;
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[0] = 0x8085 | 1u << 5; /* SSEE: deprecated, not written */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[0] = 0x8005; /* present, PGTT 0 */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[0] = 0x8145; /* PGTT 5 */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[0] = 0x8085;
	e[1] = 1ull << 25; /* CD: not written */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[1] = 1;
	e[2] = 0x8; /* FLPM 2 */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[2] = 0x10; /* WPE */
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	e[2] = 0;
	e[5] = 1;
	CHECK_EQ(iopt_vtd_pasid_decode(e, &p), -EINVAL);
	CHECK(!memcmp(&p, &keep, sizeof(p)));
}

/* ---------------------------------------------------------- invalidations */

static void kat_inv(void)
{
	struct iopt_vtd_hw hw = hw_of(QEMU_CAP, QEMU_ECAP), sm = hw_of(QEMU_CAP, QEMU_ECAP_SM);
	struct iopt_vtd_hw nd0 = hw_of(QEMU_CAP & ~7ull, QEMU_ECAP_SM);
	struct iopt_inv_cmd c;
	struct iopt_vtd_cc_inv cc;
	struct iopt_vtd_pc_inv pc;

	TEST("context-cache invalidate: global 0x11, domain 5 0x50021, device 00:03.0 in 5");
	/* type 1 | G 1 << 4 = 0x11 */
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_GLOBAL, 0, 0, 0 }, &c), 0);
	CHECK(c.w[0] == 0x11ull && c.w[1] == 0);
	/* 1 | 2 << 4 | DID 5 << 16 = 0x50021 */
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DOMAIN, 5, 0, 0 }, &c), 0);
	CHECK(c.w[0] == 0x50021ull && c.w[1] == 0);
	/* 1 | 3 << 4 | 5 << 16 | SID 0x18 << 32 = 0x0000001800050031; FM 3 << 48 */
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DEVICE, 5, 0x18, 0 }, &c), 0);
	CHECK(c.w[0] == 0x0000001800050031ull && c.w[1] == 0);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DEVICE, 5, 0x18, 3 }, &c), 0);
	CHECK_EQ(c.w[0], 0x0003001800050031ull);
	/* QEMU's reserved mask VTD_INV_DESC_CC_RSVD = 0xfffc00000000ffc0: none of ours */
	CHECK(!(c.w[0] & 0xfffc00000000ffc0ull));
	CHECK_EQ(iopt_vtd_inv_context_decode(&c, &cc), 0);
	CHECK(cc.gran == IOPT_VTD_CC_DEVICE && cc.did == 5 && cc.sid == 0x18 && cc.fm == 3);

	TEST("context-cache invalidate: bad input -EINVAL, DID beyond ND -EOPNOTSUPP");
	c.w[0] = c.w[1] = POISON;
	CHECK_EQ(iopt_vtd_inv_context(NULL, &cc, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, NULL, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &cc, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ 0, 0, 0, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ 4, 0, 0, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_GLOBAL, 1, 0, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DOMAIN, 1, 8, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DOMAIN, 1, 0, 1 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&hw, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DEVICE, 1, 8, 4 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context(&nd0, &(struct iopt_vtd_cc_inv){ IOPT_VTD_CC_DOMAIN, 16, 0, 0 }, &c), -EOPNOTSUPP);
	CHECK(c.w[0] == POISON && c.w[1] == POISON);
	memset(&cc, 0x5A, sizeof(cc));
	struct iopt_vtd_cc_inv cck = cc;
	CHECK_EQ(iopt_vtd_inv_context_decode(&(struct iopt_inv_cmd){ { 0x12, 0 } }, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(&(struct iopt_inv_cmd){ { 0x01, 0 } }, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(&(struct iopt_inv_cmd){ { 0x51, 0 } }, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(&(struct iopt_inv_cmd){ { 0x11, 1 } }, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(&(struct iopt_inv_cmd){ { 0x11 | 1ull << 50, 0 } }, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(NULL, &cc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_context_decode(&c, NULL), -EINVAL);
	CHECK(!memcmp(&cc, &cck, sizeof(cc)));

	TEST("PASID-cache invalidate: PASID-selective, domain-selective, global (type 7)");
	/* 7 | G 1 << 4 | DID 1 << 16 | PASID 0 = 0x10017 */
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_PASID, 1, 0 }, &c), 0);
	CHECK(c.w[0] == 0x10017ull && c.w[1] == 0);
	/* 7 | 1 << 4 | 3 << 16 | 0x12345 << 32 = 0x0001234500030017 */
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_PASID, 3, 0x12345 }, &c), 0);
	CHECK_EQ(c.w[0], 0x0001234500030017ull);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&c, &pc), 0);
	CHECK(pc.gran == IOPT_VTD_PC_PASID && pc.did == 3 && pc.pasid == 0x12345);
	/* domain: 7 | 0 << 4 | 3 << 16 = 0x30007; global: 7 | 3 << 4 = 0x37 */
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_DOMAIN, 3, 0 }, &c), 0);
	CHECK_EQ(c.w[0], 0x30007ull);
	CHECK(iopt_vtd_inv_pasid_cache_decode(&c, &pc) == 0 && pc.gran == IOPT_VTD_PC_DOMAIN && pc.did == 3);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_GLOBAL, 0, 0 }, &c), 0);
	CHECK(c.w[0] == 0x37ull && c.w[1] == 0);

	TEST("PASID-cache invalidate: bad input -EINVAL, legacy / DID beyond ND -EOPNOTSUPP");
	c.w[0] = c.w[1] = POISON;
	CHECK_EQ(iopt_vtd_inv_pasid_cache(NULL, &pc, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, NULL, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &pc, NULL), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ 2, 1, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_PASID, 1, 1u << 20 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_DOMAIN, 1, 5 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&sm, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_GLOBAL, 1, 0 }, &c), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&hw, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_PASID, 1, 0 }, &c), -EOPNOTSUPP);
	CHECK_EQ(iopt_vtd_inv_pasid_cache(&nd0, &(struct iopt_vtd_pc_inv){ IOPT_VTD_PC_PASID, 16, 0 }, &c), -EOPNOTSUPP);
	CHECK(c.w[0] == POISON && c.w[1] == POISON);
	memset(&pc, 0x5A, sizeof(pc));
	struct iopt_vtd_pc_inv pck = pc;
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&(struct iopt_inv_cmd){ { 0x27, 0 } }, &pc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&(struct iopt_inv_cmd){ { 0x11, 0 } }, &pc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&(struct iopt_inv_cmd){ { 0x17 | 1ull << 52, 0 } }, &pc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&(struct iopt_inv_cmd){ { 0x17, 4 } }, &pc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(NULL, &pc), -EINVAL);
	CHECK_EQ(iopt_vtd_inv_pasid_cache_decode(&c, NULL), -EINVAL);
	CHECK(!memcmp(&pc, &pck, sizeof(pc)));
}

static void kat_fault(void)
{
	struct iopt_vtd_fault f;

	TEST("fault record: QEMU's shape for a read of page 0x123456000 by 00:03.0, reason 6");
	/* hi = F 1<<63 | T 1<<62 | FR 6 << 32 | SID 0x18 = 0xC000000600000018 */
	uint64_t r[2] = { 0x123456000ull, 0xC000000600000018ull };
	CHECK_EQ(iopt_vtd_fault_decode(r, &f), 0);
	CHECK(f.addr == 0x123456000ull && f.sid == 0x18 && f.reason == 6 && f.read && !f.has_pasid);
	/* write (T 0), PP bit 95 (hi 31), PASID 0x12345 in 123:104 (hi 59:40), reason 0xc */
	r[1] = 1ull << 63 | 0x12345ull << 40 | 0xCull << 32 | 1ull << 31 | 0x0100;
	r[0] = 0x7000 | 0xABC; /* bits 11:0 are not address */
	CHECK_EQ(iopt_vtd_fault_decode(r, &f), 0);
	CHECK(f.addr == 0x7000 && f.sid == 0x100 && f.reason == 0xc && !f.read && f.has_pasid &&
	      f.pasid == 0x12345);

	TEST("fault record: F clear -ENOENT, NULL -EINVAL, out untouched");
	memset(&f, 0x5A, sizeof(f));
	struct iopt_vtd_fault keep = f;
	r[1] &= ~(1ull << 63);
	CHECK_EQ(iopt_vtd_fault_decode(r, &f), -ENOENT);
	CHECK_EQ(iopt_vtd_fault_decode(NULL, &f), -EINVAL);
	CHECK_EQ(iopt_vtd_fault_decode(r, NULL), -EINVAL);
	CHECK(!memcmp(&f, &keep, sizeof(f)));
}

int main(void)
{
	kat_decode();
	kat_inv_caps();
	kat_pt_cfg();
	kat_root();
	kat_context();
	kat_sm_root();
	kat_sm_context();
	kat_pasid_dir();
	kat_pasid_entry();
	kat_inv();
	kat_fault();
	return tap_done();
}
