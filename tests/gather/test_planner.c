/* SPDX-License-Identifier: MIT */
/*
 * Invalidation planner tests: known-answer encodings (words derived by hand
 * from hw-facts section 5, derivations beside each), decode round trips,
 * brute-force minimality on small cases, coverage/overshoot on random
 * large cases, capability fallbacks and error paths.
 */
#include <string.h>

#include <iopt/invalidate.h>

#include "tap.h"

#define KiB 1024ull
#define MiB (1024ull * KiB)
#define PG 4096ull

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1Dull;
}

static struct iopt_inv_cmd out[IOPT_INV_MAX_BUDGET + 8];

static struct iopt_inv_req req1(struct iopt_inv_range *r, uint64_t start, uint64_t len,
				uint64_t stride, bool leaf)
{
	r->start = start;
	r->end = start + len - 1;
	return (struct iopt_inv_req){ r, 1, stride, leaf };
}

#define W(i, a, b)                                                                      \
	do {                                                                            \
		CHECK_EQ(out[i].w[0], a);                                               \
		CHECK_EQ(out[i].w[1], b);                                               \
	} while (0)

/* ------------------------------------------------------------ KATs */

static void kat_vtd(void)
{
	struct iopt_inv_range r[2];
	struct iopt_inv_req q;
	struct iopt_inv_policy pol = { 256, 0 };
	struct iopt_vtd_inv_caps caps = { .psi = true, .mamv = 18 };
	struct iopt_vtd_inv_scope sc = { 5, false, 0 };
	struct iopt_inv_decoded d0;

	TEST("vtd: one 4K page, leaf, did 5");
	/* qw0 = type 2 | gran 3 << 4 | did 5 << 16 = 0x50032;
	 * qw1 = ADDR 0x10000000 | IH (bit 6) | AM 0 = 0x10000040 */
	q = req1(r, 0x10000000, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50032ull, 0x10000040ull);

	TEST("vtd: one 2M leaf entry, non-leaf change, DW+DR, did 0x1234");
	/* qw0 = 2 | 3<<4 | DW 1<<6 | DR 1<<7 | 0x1234<<16 = 0x123400F2;
	 * qw1 = 0x200000 | IH 0 | AM 9 (512 pages) = 0x200009 */
	caps.drain_read = caps.drain_write = true;
	sc.domain = 0x1234;
	q = req1(r, 0x200000, 2 * MiB, 2 * MiB, false);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x123400F2ull, 0x200009ull);
	caps.drain_read = caps.drain_write = false;
	sc.domain = 5;

	TEST("vtd: pages 1..6, exact: [1] [2,3] [4,5] [6]");
	q = req1(r, PG, 6 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 4);
	W(0, 0x50032ull, 0x1040ull);
	W(1, 0x50032ull, 0x2041ull);
	W(2, 0x50032ull, 0x4041ull);
	W(3, 0x50032ull, 0x6040ull);
	TEST("vtd: pages 1..6, overshoot 1 page: [1] [2,3] [4..7]");
	/* Unions within 1 extra page: [1,6] 4 cmds, [0,6] 3, [1,7] 3: tie on
	 * overshoot; the first found (exact left side) wins. */
	pol.max_overshoot = PG;
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 3);
	W(2, 0x50032ull, 0x4042ull);
	TEST("vtd: pages 1..6, overshoot 2 pages: one AM=3 block at 0");
	pol.max_overshoot = 2 * PG;
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50032ull, 0x43ull);
	pol.max_overshoot = 0;

	TEST("vtd: PASID form (type 6), did 7, pasid 0x12345, page 0x5000");
	/* qw0 = 6 | 3<<4 | 7<<16 | 0x12345<<32 = 0x0001234500070036 */
	struct iopt_vtd_inv_scope ps = { 7, true, 0x12345 };
	q = req1(r, 0x5000, PG, PG, true);
	caps.scalable = true; /* type 6 exists in scalable mode only */
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &ps, out, 8), 1);
	W(0, 0x0001234500070036ull, 0x5040ull);

	TEST("vtd: no CAP.PSI -> one DSI (2 | 2<<4 | did<<16)");
	caps.psi = false;
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50022ull, 0ull);
	TEST("vtd: no CAP.PSI with PASID -> PASID-selective (6 | 2<<4 | ...)");
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &ps, out, 8), 1);
	W(0, 0x0001234500070026ull, 0ull);
	caps.psi = true;
	caps.scalable = false;

	TEST("vtd: MAMV 9: 4 MiB aligned range -> two AM=9 blocks");
	caps.mamv = 9;
	q = req1(r, 4 * MiB, 4 * MiB, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 2);
	W(0, 0x50032ull, 0x400049ull);
	W(1, 0x50032ull, 0x600049ull);
	TEST("vtd: MAMV 9: 1 GiB needs 512 blocks > budget -> DSI");
	pol.max_cmds = 16;
	q = req1(r, 1024 * MiB, 1024 * MiB, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50022ull, 0ull);
	TEST("vtd: same 1 GiB with MAMV 18: one AM=18 block");
	caps.mamv = 18;
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50032ull, 0x40000052ull);
	TEST("vtd: budget 2, pages 1..6 exact needs 4 -> DSI");
	pol.max_cmds = 2;
	q = req1(r, PG, 6 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x50022ull, 0ull);
	pol.max_cmds = 256;

	TEST("vtd: wait descriptor, status 0xCAFE -> 0x1000, fence");
	/* qw0 = 5 | SW 1<<5 | FN 1<<6 | 0xCAFE<<32 = 0x0000CAFE00000065 */
	CHECK_EQ(iopt_inv_wait_vtd(&caps, 0x1000, 0xCAFE, IOPT_VTD_WAIT_FENCE, out), 0);
	W(0, 0x0000CAFE00000065ull, 0x1000ull);
	CHECK_EQ(iopt_inv_wait_vtd(&caps, 0x1002, 0, 0, out), -EINVAL);
	TEST("vtd: wait with page-request drain only where ECAP.PDS says so");
	/* qw0 = 5 | SW 1<<5 | PD 1<<7 | 7<<32 = 0x00000007000000A5 */
	CHECK_EQ(iopt_inv_wait_vtd(&caps, 0x2000, 7, IOPT_VTD_WAIT_DRAIN, out), -EOPNOTSUPP);
	W(0, 0x0000CAFE00000065ull, 0x1000ull); /* untouched */
	caps.page_drain = true;
	CHECK_EQ(iopt_inv_wait_vtd(&caps, 0x2000, 7, IOPT_VTD_WAIT_DRAIN, out), 0);
	W(0, 0x00000007000000A5ull, 0x2000ull);
	caps.page_drain = false;

	TEST("vtd: global IOTLB invalidate, DR/DW per caps");
	/* qw0 = 2 | gran 1 << 4 = 0x12; with DW 1<<6 | DR 1<<7: 0xD2; qw1 = 0 */
	CHECK_EQ(iopt_inv_global_vtd(&caps, out), 0);
	W(0, 0x12ull, 0ull);
	caps.drain_read = caps.drain_write = true;
	CHECK_EQ(iopt_inv_global_vtd(&caps, out), 0);
	W(0, 0xD2ull, 0ull);
	CHECK(iopt_inv_decode_vtd(&out[0], &d0) == 0 && d0.kind == IOPT_INV_GLOBAL);
	caps.drain_read = caps.drain_write = false;

	TEST("vtd: a PASID scope without scalable mode: -EOPNOTSUPP, nothing written");
	sc.has_pasid = true;
	sc.pasid = 9;
	q = req1(r, PG, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), -EOPNOTSUPP);
	W(0, 0xD2ull, 0ull);
	/* a malformed request is still -EINVAL first */
	q = req1(r, PG + 1, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), -EINVAL);
	struct iopt_inv_target tv = { .vendor = IOPT_INV_VTD, .caps.vtd = caps, .scope.vtd = sc };
	CHECK_EQ(iopt_inv_plan_scope(&tv, out), -EOPNOTSUPP);
	tv.caps.vtd.scalable = true;
	CHECK_EQ(iopt_inv_plan_scope(&tv, out), 1);
	/* type 6 | gran 2 << 4 | did 5 << 16 | pasid 9 << 32 */
	W(0, 0x0000000900050026ull, 0ull);
	sc.has_pasid = false;
	sc.pasid = 0;

	TEST("vtd: decode");
	struct iopt_inv_decoded d;
	struct iopt_inv_cmd c = { { 0x50032ull, 0x403043ull } }; /* AM 3: ADDR low bits ignored */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), 0);
	CHECK(d.kind == IOPT_INV_RANGE && d.start == 0x400000 && d.end == 0x407FFF && d.leaf_only &&
	      d.domain == 5 && !d.has_pasid);
	c.w[0] = 0x0001234500070026ull;
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), 0);
	CHECK(d.kind == IOPT_INV_SCOPE && d.has_pasid && d.pasid == 0x12345 && d.domain == 7);
	c.w[0] = 0x12; /* type 2 global */
	CHECK(iopt_inv_decode_vtd(&c, &d) == 0 && d.kind == IOPT_INV_GLOBAL);
	c.w[0] = 0x02; /* granularity 0: reserved */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), -EINVAL);
	c.w[0] = 0x04; /* type 4: not ours */
	CHECK_EQ(iopt_inv_decode_vtd(&c, &d), -EINVAL);
	c.w[0] = 0x65;
	CHECK(iopt_inv_decode_vtd(&c, &d) == 0 && d.kind == IOPT_INV_SYNC);
}

static void kat_amd(void)
{
	struct iopt_inv_range r[1];
	struct iopt_inv_req q;
	struct iopt_inv_policy pol = { 256, 0 };
	struct iopt_amd_inv_caps caps = { 0 };
	struct iopt_amd_inv_scope sc = { 0x42, false, 0 };
	struct iopt_inv_decoded d;

	TEST("amd: one page 0x5000, leaf, domain 0x42");
	/* w0 = domain 0x42 << 32 | opcode 3 << 60; w1 = 0x5000, S=0, PDE=0 */
	q = req1(r, 0x5000, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x3000004200000000ull, 0x5000ull);
	TEST("amd: 8 KiB at 0x4000, non-leaf: bit 12 clear, S=1, PDE=1");
	q = req1(r, 0x4000, 2 * PG, PG, false);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x3000004200000000ull, 0x4003ull);
	TEST("amd: 16 KiB at 0x8000, non-leaf: bit 12 set, bit 13 clear");
	q = req1(r, 0x8000, 4 * PG, PG, false);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x3000004200000000ull, 0x9003ull);
	TEST("amd: 2 MiB at 0x200000, leaf: bits 19:12 set, bit 20 clear");
	q = req1(r, 0x200000, 2 * MiB, 2 * MiB, true);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x3000004200000000ull, 0x2FF001ull);
	TEST("amd: pages 1..6 exact: 1 + 2 + 2 + 1 pages");
	q = req1(r, PG, 6 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 4);
	W(0, 0x3000004200000000ull, 0x1000ull);
	W(1, 0x3000004200000000ull, 0x2001ull);
	W(2, 0x3000004200000000ull, 0x4001ull);
	W(3, 0x3000004200000000ull, 0x6000ull);

	TEST("amd: over budget with PASID 0x10 -> all pages, GN, PDE");
	/* w0 = PASID 0x10 | 0x42<<32 | 3<<60; w1 = 0x7FFF_FFFF_FFFF_F000 | S | PDE | GN */
	pol.max_cmds = 2;
	sc.has_pasid = true;
	sc.pasid = 0x10;
	q = req1(r, PG, 6 * PG, PG, false);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 1);
	W(0, 0x3000004200000010ull, 0x7FFFFFFFFFFFF007ull);
	CHECK(iopt_inv_decode_amd(&out[0], &d) == 0 && d.kind == IOPT_INV_SCOPE && d.has_pasid &&
	      d.pasid == 0x10 && d.domain == 0x42 && !d.leaf_only);
	pol.max_cmds = 256;
	sc.has_pasid = false;

	TEST("amd: max_order 13 (8 KiB): 16 KiB range -> two 8K commands");
	caps.max_order = 13;
	q = req1(r, 0x8000, 4 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 8), 2);
	W(0, 0x3000004200000000ull, 0x8001ull);
	W(1, 0x3000004200000000ull, 0xA001ull);
	caps.max_order = 0;

	TEST("amd: COMPLETION_WAIT store 0x1122334455667788 at 0x1000");
	/* w0 = addr 0x1000 | store bit 0 | opcode 1 << 60; w1 = data */
	CHECK_EQ(iopt_inv_wait_amd(0x1000, 0x1122334455667788ull, false, out), 0);
	W(0, 0x1000000000001001ull, 0x1122334455667788ull);
	CHECK(iopt_inv_decode_amd(out, &d) == 0 && d.kind == IOPT_INV_SYNC);
	CHECK_EQ(iopt_inv_wait_amd(0x1004, 0, false, out), -EINVAL);

	TEST("amd: decode S=1 code with address bits inside the block");
	struct iopt_inv_cmd c = { { 0x3000004200000000ull, 0x2FF001ull } };
	CHECK(iopt_inv_decode_amd(&c, &d) == 0 && d.kind == IOPT_INV_RANGE && d.start == 0x200000 &&
	      d.end == 0x3FFFFF && d.leaf_only);
	c.w[1] = 0x7001; /* bits 14:12 set, 15 clear: 64 KiB block at 0 */
	CHECK(iopt_inv_decode_amd(&c, &d) == 0 && d.start == 0 && d.end == 0xFFFF);
	c.w[0] = 0x4ull << 60;
	CHECK_EQ(iopt_inv_decode_amd(&c, &d), -EINVAL);
}

static void kat_smmu(void)
{
	struct iopt_inv_range r[1];
	struct iopt_inv_req q;
	struct iopt_inv_policy pol = { 256, 0 };
	struct iopt_smmu_inv_caps caps = { true, 12 };
	struct iopt_smmu_inv_scope s1 = { 1, 3, 0 }, s2 = { 2, 0, 9 };
	struct iopt_inv_decoded d;

	TEST("smmu: NH_VA range, 1 page 0x40000, leaf, 4K: NUM 0 SCALE 0 TTL 3 TG 1");
	/* dw0 = 0x12 | ASID 3 << 48; dw1 = VA | LEAF | TTL 3 << 8 | TG 1 << 10 */
	q = req1(r, 0x40000, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 1);
	W(0, 0x0003000000000012ull, 0x40701ull);
	TEST("smmu: 33 pages exact: [1 page] + [32 pages = NUM 0, SCALE 5]");
	q = req1(r, 0x100000, 33 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 2);
	W(0, 0x0003000000000012ull, 0x100701ull);
	W(1, 0x0003000000500012ull, 0x101701ull);
	TEST("smmu: 33 pages, overshoot 1 page: 34 = 17 x 2^1 -> NUM 16 SCALE 1");
	pol.max_overshoot = PG;
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 1);
	W(0, 0x0003000000110012ull, 0x100701ull); /* 0x12 | NUM 16 << 12 | SCALE 1 << 20 */
	pol.max_overshoot = 0;
	TEST("smmu: 2M leaf stride: TTL 2");
	q = req1(r, 0x200000, 2 * MiB, 2 * MiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 1);
	/* 512 pages = 1 x 2^9: NUM 0, SCALE 9; dw1 TTL 2 */
	W(0, 0x0003000000900012ull, 0x200601ull);

	TEST("smmu: S2_IPA non-leaf, 1 page: TTL 0 -> no NUM=SCALE=0, two pages");
	/* dw0 = 0x2A | SCALE 1 << 20 | VMID 9 << 32; dw1 = IPA | TG 1 << 10 */
	q = req1(r, 0x7000, PG, PG, false);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s2, out, 8), 1);
	W(0, 0x000000090010002Aull, 0x7400ull);
	TEST("smmu: non-leaf 33 pages exact: 2 commands, neither with NUM = SCALE = 0");
	q = req1(r, 0x100000, 33 * PG, PG, false);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s2, out, 8), 2);
	CHECK(((out[0].w[0] >> 12) & 31) != 0 || ((out[0].w[0] >> 20) & 31) != 0);
	CHECK(((out[1].w[0] >> 12) & 31) != 0 || ((out[1].w[0] >> 20) & 31) != 0);

	TEST("smmu: no RIL: 3 pages -> 3 TG=0 commands");
	caps.range_inv = false;
	q = req1(r, 0x10000, 3 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 3);
	W(0, 0x0003000000000012ull, 0x10001ull);
	W(2, 0x0003000000000012ull, 0x12001ull);
	TEST("smmu: no RIL, 2M stride over 4 MiB -> 2 commands");
	q = req1(r, 0x400000, 4 * MiB, 2 * MiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 2);
	W(1, 0x0003000000000012ull, 0x600001ull);
	/*
	 * A 64K stride under a 4K granule is a contiguous run of 16 descriptors;
	 * an SMMU may cache each one, and a TG=0 command drops one descriptor's
	 * entries (QEMU 7.2 does exactly that): one command per 4K page. The
	 * planner used to emit one command for the whole run (issue 12).
	 */
	TEST("smmu: no RIL, 64K contiguous run -> 16 commands, one per 4K descriptor");
	struct iopt_inv_cmd big[32];
	q = req1(r, 0x4000000000ull, 64 * KiB, 64 * KiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, big, 32), 16);
	for (int i = 0; i < 16; i++) {
		CHECK_EQ(big[i].w[0], 0x0003000000000012ull);
		CHECK_EQ(big[i].w[1], 0x4000000000ull + (uint64_t)i * PG + 1);
	}
	TEST("smmu: no RIL, 32M run of 2M blocks -> 16 commands at 2M steps");
	q = req1(r, 0x40000000, 32 * MiB, 32 * MiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, big, 32), 16);
	CHECK_EQ(big[1].w[1], 0x40000000ull + 2 * MiB + 1);
	CHECK_EQ(big[15].w[1], 0x40000000ull + 30 * MiB + 1);
	TEST("smmu: no RIL, 16K granule, 2M run of 16K pages: 128 commands (over 16 -> scope)");
	caps.granule_shift = 14;
	q = req1(r, 0x200000, 2 * MiB, 2 * MiB, true);
	pol.max_cmds = 16;
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, big, 32), 1);
	CHECK_EQ(big[0].w[0] & 0xFF, 0x11ull);
	TEST("smmu: no RIL, 16K granule, 32M block stride: one command");
	q = req1(r, 0x2000000, 32 * MiB, 32 * MiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, big, 32), 1);
	CHECK_EQ(big[0].w[1], 0x2000001ull);
	caps.granule_shift = 12;
	pol.max_cmds = 256;
	TEST("smmu: no RIL over budget -> NH_ASID / S12_VMALL");
	pol.max_cmds = 4;
	s1.vmid = 2;
	q = req1(r, 0x10000, 5 * PG, PG, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 1);
	W(0, 0x0003000200000011ull, 0ull);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s2, out, 8), 1);
	W(0, 0x0000000900000028ull, 0ull);
	CHECK(iopt_inv_decode_smmu(out, &d) == 0 && d.kind == IOPT_INV_SCOPE && d.stage == 2 &&
	      d.domain == 9);
	pol.max_cmds = 256;
	caps.range_inv = true;
	s1.vmid = 0;

	TEST("smmu: 16K granule: TG 2, TTL 3 for a 16K leaf");
	caps.granule_shift = 14;
	q = req1(r, 0x40000, 16 * KiB, 16 * KiB, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s1, out, 8), 1);
	W(0, 0x0003000000000012ull, 0x40B01ull);
	caps.granule_shift = 12;

	TEST("smmu: CMD_SYNC, MSI 0xABCD -> 0x80000");
	/* dw0 = 0x46 | CS 1 << 12 | MSIData << 32; dw1 = MSI address */
	CHECK_EQ(iopt_inv_sync_smmu(1, 0x80000, 0xABCD, out), 0);
	W(0, 0x0000ABCD00001046ull, 0x80000ull);
	CHECK(iopt_inv_decode_smmu(out, &d) == 0 && d.kind == IOPT_INV_SYNC);
	CHECK_EQ(iopt_inv_sync_smmu(3, 0, 0, out), -EINVAL);

	TEST("smmu: decode range NUM 16 SCALE 1 TG 1 = 34 pages");
	struct iopt_inv_cmd c = { { 0x0003000000110012ull, 0x100701ull } };
	CHECK(iopt_inv_decode_smmu(&c, &d) == 0 && d.kind == IOPT_INV_RANGE && d.start == 0x100000 &&
	      d.end == 0x100000 + 34 * PG - 1 && d.asid == 3 && d.leaf_only && d.stage == 1);
	c.w[0] = 0x13;
	CHECK_EQ(iopt_inv_decode_smmu(&c, &d), -EINVAL);

	TEST("smmu: stage-2 IPA above 2^52 -> -ERANGE");
	q = req1(r, 1ull << 52, PG, PG, true);
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &caps, &s2, out, 8), -ERANGE);
}

/* ------------------------------------------------------ references */

/*
 * True minimum number of naturally aligned blocks (<= 2^kmax pages) whose
 * union contains [a, e] with at most `over` extra pages: for every left end
 * a' in [a - over, a], a DP over all aligned blocks gives the fewest blocks
 * that exactly tile [a', x) for each x; the answer is the best x - 1 >= e
 * within the remaining overshoot. Independent of the planner's split.
 */
static unsigned ref_blocks(uint64_t a, uint64_t e, unsigned kmax, uint64_t over)
{
	enum { MAXL = 512 };
	static unsigned dp[MAXL + 1];
	unsigned best = ~0u;
	for (uint64_t lo = a; lo + over >= a && lo <= a; lo--) {
		uint64_t room = over - (a - lo), hi_ex = e + 1 + room, len = hi_ex - lo;
		REQUIRE(len <= MAXL);
		for (uint64_t i = 0; i <= len; i++)
			dp[i] = ~0u;
		dp[0] = 0;
		for (uint64_t i = 0; i < len; i++) {
			if (dp[i] == ~0u)
				continue;
			uint64_t x = lo + i;
			for (unsigned k = 0; k <= kmax && k < 20; k++) {
				if (x & ((1ull << k) - 1))
					break;
				if (i + (1ull << k) > len)
					break;
				if (dp[i] + 1 < dp[i + (1ull << k)])
					dp[i + (1ull << k)] = dp[i] + 1;
			}
		}
		for (uint64_t x = e + 1 - lo; x <= len; x++)
			if (dp[x] < best)
				best = dp[x];
		if (lo == 0)
			break;
	}
	return best;
}

/* BFS table: fewest SMMU range terms n x 2^s (1 <= n <= 32) summing to p. */
enum { SREF = 700 };
static unsigned sref[2][SREF];
static void sref_init(void)
{
	for (int ns = 0; ns < 2; ns++) {
		sref[ns][0] = 0;
		for (unsigned p = 1; p < SREF; p++) {
			unsigned b = ~0u;
			for (unsigned s = 0; s < 10; s++)
				for (unsigned n = 1; n <= 32; n++) {
					unsigned t = n << s;
					if (t > p || (ns && t == 1))
						continue;
					if (sref[ns][p - t] != ~0u && sref[ns][p - t] + 1 < b)
						b = sref[ns][p - t] + 1;
				}
			sref[ns][p] = b;
		}
	}
}

/*
 * Decode cmds[0..n) and check they are disjoint ranges whose union contains
 * every byte of [start, end]. Returns extra bytes covered (overshoot), or
 * UINT64_MAX on a hole / non-range command / decode failure.
 */
typedef int (*decode_fn)(const struct iopt_inv_cmd *, struct iopt_inv_decoded *);
static uint64_t cover_check(decode_fn dec, int n, const struct iopt_inv_range *rs, size_t nr,
			    uint64_t leaf)
{
	struct iopt_inv_decoded d[IOPT_INV_MAX_BUDGET];
	uint64_t total = 0, in = 0;
	for (int i = 0; i < n; i++) {
		if (dec(&out[i], &d[i]) || d[i].kind != IOPT_INV_RANGE)
			return UINT64_MAX;
		/* A single-page command also drops the whole leaf it lands in. */
		if (d[i].end - d[i].start + 1 < leaf) {
			d[i].start &= ~(leaf - 1);
			d[i].end = d[i].start + leaf - 1;
		}
		total += d[i].end - d[i].start + 1;
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (d[i].start <= d[j].end && d[j].start <= d[i].end)
				return UINT64_MAX; /* overlap: a wasted command */
	for (size_t k = 0; k < nr; k++) {
		uint64_t x = rs[k].start;
		for (;;) { /* walk the range through the decoded pieces */
			int hit = -1;
			for (int i = 0; i < n; i++)
				if (d[i].start <= x && x <= d[i].end)
					hit = i;
			if (hit < 0)
				return UINT64_MAX;
			uint64_t stop = d[hit].end < rs[k].end ? d[hit].end : rs[k].end;
			in += stop - x + 1;
			if (stop == rs[k].end)
				break;
			x = stop + 1;
		}
	}
	return total - in;
}

/* ------------------------------------------------------- properties */

static void prop_blocks_min(int vendor)
{
	unsigned bad_cov = 0, bad_min = 0, bad_over = 0, cases = 3000;
	TEST(vendor ? "amd: brute-force minimality, ranges within 256 pages" :
		      "vtd: brute-force minimality, ranges within 256 pages");
	for (unsigned t = 0; t < cases; t++) {
		uint64_t base = (rnd() % 4096) << 16; /* page number, high bits vary */
		uint64_t a = base + rnd() % 256, len = 1 + rnd() % (rnd() % 4 ? 16 : 200);
		uint64_t e = a + len - 1, over = rnd() % 3 ? rnd() % 40 : 0;
		unsigned kmax = vendor ? 1 + rnd() % 10 : rnd() % 11;
		struct iopt_inv_range r = { a * PG, e * PG + PG - 1 };
		struct iopt_inv_req q = { &r, 1, PG, rnd() & 1 };
		struct iopt_inv_policy pol = { 256, over * PG + rnd() % PG };
		int n;
		if (vendor) {
			struct iopt_amd_inv_caps caps = { 12 + kmax };
			struct iopt_amd_inv_scope sc = { 1, false, 0 };
			n = iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, 256);
		} else {
			struct iopt_vtd_inv_caps caps = { .psi = true, .mamv = kmax };
			struct iopt_vtd_inv_scope sc = { 1, false, 0 };
			n = iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 256);
		}
		uint64_t ov = cover_check(vendor ? iopt_inv_decode_amd : iopt_inv_decode_vtd, n, &r,
					  1, 1);
		if (n < 1 || ov == UINT64_MAX) {
			bad_cov++;
			continue;
		}
		if (ov > over * PG)
			bad_over++;
		if ((unsigned)n != ref_blocks(a, e, kmax, over)) {
			if (!bad_min)
				printf("# a=%llu e=%llu kmax=%u over=%llu got %d want %u\n",
				       (unsigned long long)a, (unsigned long long)e, kmax,
				       (unsigned long long)over, n, ref_blocks(a, e, kmax, over));
			bad_min++;
		}
	}
	CHECK_EQ(bad_cov, 0);
	CHECK_EQ(bad_over, 0);
	CHECK_EQ(bad_min, 0);
}

static void prop_smmu_min(void)
{
	unsigned bad_cov = 0, bad_min = 0, bad_over = 0;
	TEST("smmu: BFS minimality of range terms, counts < 400, leaf and non-leaf");
	sref_init();
	for (unsigned t = 0; t < 4000; t++) {
		uint64_t pages = 1 + rnd() % (rnd() % 2 ? 40 : 380), over = rnd() % 2 ? rnd() % 50 : 0;
		bool leaf = rnd() & 1;
		uint64_t start = (rnd() % (1ull << 30)) * PG;
		struct iopt_inv_range r = { start, start + pages * PG - 1 };
		struct iopt_inv_req q = { &r, 1, PG, leaf };
		struct iopt_inv_policy pol = { 256, over * PG };
		struct iopt_smmu_inv_caps caps = { true, 12 };
		struct iopt_smmu_inv_scope sc = { 1 + (rnd() & 1), 1, 1 };
		int n = iopt_inv_plan_smmu(&q, &pol, &caps, &sc, out, 256);
		uint64_t ov = cover_check(iopt_inv_decode_smmu, n, &r, 1, PG);
		unsigned want = ~0u;
		for (uint64_t p = pages; p <= pages + over; p++)
			if (sref[!leaf][p] < want)
				want = sref[!leaf][p];
		if (!leaf && pages == 1)
			want = 1; /* the lone-granule exception: two granules, one command */
		if (n < 1 || ov == UINT64_MAX) {
			bad_cov++;
			continue;
		}
		if (ov > over * PG && !(!leaf && pages == 1 && ov == PG))
			bad_over++;
		for (int i = 0; i < n && !leaf; i++)
			if (!(out[i].w[0] & (0x1Full << 12 | 0x1Full << 20)))
				bad_min++; /* NUM = SCALE = 0 with TTL = 0 */
		if ((unsigned)n != want) {
			if (!bad_min)
				printf("# pages=%llu over=%llu leaf=%d got %d want %u\n",
				       (unsigned long long)pages, (unsigned long long)over, leaf, n, want);
			bad_min++;
		}
	}
	CHECK_EQ(bad_cov, 0);
	CHECK_EQ(bad_over, 0);
	CHECK_EQ(bad_min, 0);
}

/* Large random requests (1-4 ranges, any size, strides 4K..1G): coverage + budget. */
static void prop_random_cover(void)
{
	unsigned bad[3] = { 0, 0, 0 }, fallback[3] = { 0, 0, 0 }, bad_fields = 0;
	TEST("all vendors: random multi-range requests, coverage and overshoot bound");
	for (unsigned t = 0; t < 6000; t++) {
		struct iopt_inv_range rs[4];
		unsigned nr = 1 + rnd() % 4, sh = 12 + (unsigned)(rnd() % 4) * 9 % 31;
		if (sh > 30)
			sh = 12;
		uint64_t stride = 1ull << sh, x = (rnd() % (1ull << 20)) << sh;
		for (unsigned i = 0; i < nr; i++) {
			uint64_t len = (1 + rnd() % (rnd() % 4 ? 8 : 5000)) << sh;
			rs[i].start = x;
			rs[i].end = x + len - 1;
			x += len + ((1 + rnd() % 64) << sh);
		}
		struct iopt_inv_req q = { rs, nr, stride, rnd() & 1 };
		uint64_t over = rnd() % 2 ? 0 : rnd() % 4 ? (rnd() % 64) * PG : rnd() >> (rnd() % 64);
		struct iopt_inv_policy pol = { 1 + rnd() % 64, over };
		int v = t % 3, n;
		if (v == 0) {
			struct iopt_vtd_inv_caps caps = { .psi = true, .mamv = (unsigned)(rnd() % 40) };
			struct iopt_vtd_inv_scope sc = { 1, false, 0 };
			n = iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, IOPT_INV_MAX_BUDGET);
		} else if (v == 1) {
			struct iopt_amd_inv_caps caps = { 13 + (unsigned)(rnd() % 39) };
			struct iopt_amd_inv_scope sc = { 1, false, 0 };
			n = iopt_inv_plan_amd(&q, &pol, &caps, &sc, out, IOPT_INV_MAX_BUDGET);
		} else {
			struct iopt_smmu_inv_caps caps = { rnd() % 4 != 0, 12 };
			struct iopt_smmu_inv_scope sc = { 1, 1, 1 };
			n = iopt_inv_plan_smmu(&q, &pol, &caps, &sc, out, IOPT_INV_MAX_BUDGET);
		}
		decode_fn dec = v == 0 ? iopt_inv_decode_vtd :
				v == 1 ? iopt_inv_decode_amd : iopt_inv_decode_smmu;
		struct iopt_inv_decoded d;
		if (n < 1 || (unsigned)n > pol.max_cmds) {
			bad[v]++;
			continue;
		}
		/* Round trip of the scope fields and the leaf flag. */
		for (int i = 0; i < n; i++)
			if (dec(&out[i], &d) || d.domain != 1 || (v == 2 && d.asid != 1) ||
			    (d.kind == IOPT_INV_RANGE && d.leaf_only != q.leaf_only))
				bad_fields++;
		if (n == 1 && dec(out, &d) == 0 && d.kind == IOPT_INV_SCOPE) {
			fallback[v]++;
			continue;
		}
		uint64_t ov = cover_check(dec, n, rs, nr, v == 2 ? stride : 1);
		/* bound is per range; SMMU non-leaf may add one granule for a lone page */
		if (ov == UINT64_MAX || ov > (over >> 12 << 12) * nr + (v == 2 ? PG * nr : 0)) {
			if (!bad[v])
				printf("# vendor %d nr %u stride %llu over %llu n %d ov %llu\n", v, nr,
				       (unsigned long long)stride, (unsigned long long)over, n,
				       (unsigned long long)ov);
			bad[v]++;
		}
	}
	CHECK_EQ(bad[0], 0);
	CHECK_EQ(bad[1], 0);
	CHECK_EQ(bad[2], 0);
	CHECK_EQ(bad_fields, 0);
	printf("# scope-wide fallbacks: vtd %u amd %u smmu %u of 2000 each\n", fallback[0],
	       fallback[1], fallback[2]);
	CHECK(fallback[0] > 0 && fallback[0] < 2000);
}

/* ----------------------------------------------------------- errors */

static int untouched(void)
{
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		if (out[i].w[0] != 0xA5A5A5A5A5A5A5A5ull || out[i].w[1] != 0xA5A5A5A5A5A5A5A5ull)
			return 0;
	return 1;
}

static int plan_any(int v, const struct iopt_inv_req *q, const struct iopt_inv_policy *pol,
		    size_t cap)
{
	struct iopt_vtd_inv_caps vc = { .psi = true, .mamv = 20 };
	struct iopt_vtd_inv_scope vs = { 1, false, 0 };
	struct iopt_amd_inv_caps ac = { 0 };
	struct iopt_amd_inv_scope as = { 1, false, 0 };
	struct iopt_smmu_inv_caps sc = { true, 12 };
	struct iopt_smmu_inv_scope ss = { 1, 1, 1 };
	memset(out, 0xA5, sizeof(out));
	if (v == 0)
		return iopt_inv_plan_vtd(q, pol, &vc, &vs, out, cap);
	if (v == 1)
		return iopt_inv_plan_amd(q, pol, &ac, &as, out, cap);
	return iopt_inv_plan_smmu(q, pol, &sc, &ss, out, cap);
}

static void errors(void)
{
	struct iopt_inv_policy pol = { 256, 0 };
	for (int v = 0; v < 3; v++) {
		struct iopt_inv_range r[2];
		struct iopt_inv_req q;
		TEST(v == 0 ? "vtd: error paths" : v == 1 ? "amd: error paths" : "smmu: error paths");
		q = req1(r, PG, 6 * PG, PG, true); /* needs 4 (VT-d/AMD) or 1 (SMMU) */
		CHECK(plan_any(v, &q, &pol, 0) == -ENOSPC && untouched());
		if (v < 2)
			CHECK(plan_any(v, &q, &pol, 3) == -ENOSPC && untouched());
		pol.max_cmds = 1; /* fallback needs one slot */
		CHECK(plan_any(v, &q, &pol, 0) == -ENOSPC && untouched());
		pol.max_cmds = IOPT_INV_MAX_BUDGET + 1;
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		pol.max_cmds = 256;
		r[0].start = PG;
		r[0].end = PG - 1; /* end < start */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, 0x800, PG, PG, true); /* not 4K aligned */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, 0, PG + 1, PG, true); /* end + 1 not aligned */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, 0, 3 * PG, 3 * PG, true); /* stride not a power of two */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, 0, PG, 2048, true); /* stride below 4K */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, PG, 2 * MiB, 2 * MiB, true); /* range not stride aligned */
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q = req1(r, 0, PG, PG, true);
		q.nr_ranges = 0;
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		q.nr_ranges = IOPT_INV_MAX_RANGES + 1;
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		r[1] = (struct iopt_inv_range){ 0, 2 * PG - 1 }; /* overlaps r[0] */
		q.nr_ranges = 2;
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
		r[1] = (struct iopt_inv_range){ PG, 2 * PG - 1 }; /* touches: merged, 1 block */
		CHECK(plan_any(v, &q, &pol, 8) == 1);
		q.ranges = NULL;
		CHECK(plan_any(v, &q, &pol, 8) == -EINVAL && untouched());
	}
	TEST("scope errors");
	struct iopt_inv_range r;
	struct iopt_inv_req q = req1(&r, 0, PG, PG, true);
	struct iopt_vtd_inv_caps vc = { .psi = true, .mamv = 64 };
	struct iopt_vtd_inv_scope vs = { 1, true, 0x100000 };
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &vc, &vs, out, 8), -EINVAL);
	vc.mamv = 9;
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &vc, &vs, out, 8), -EINVAL);
	struct iopt_smmu_inv_caps sc = { true, 13 };
	struct iopt_smmu_inv_scope ss = { 1, 1, 1 };
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &sc, &ss, out, 8), -EINVAL);
	sc.granule_shift = 16; /* 4K range with a 64K granule */
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &sc, &ss, out, 8), -EINVAL);
	sc.granule_shift = 12;
	ss.stage = 3;
	CHECK_EQ(iopt_inv_plan_smmu(&q, &pol, &sc, &ss, out, 8), -EINVAL);
	struct iopt_amd_inv_caps ac = { 52 };
	struct iopt_amd_inv_scope as = { 1, false, 0 };
	CHECK_EQ(iopt_inv_plan_amd(&q, &pol, &ac, &as, out, 8), -EINVAL);
}

/* Two ranges whose over-covering blocks nest: the contained block is dropped. */
static void multi_range(void)
{
	TEST("vtd: multi-range: nested over-cover is deduplicated");
	struct iopt_inv_range rs[2] = { { 8 * PG, 8 * PG + PG - 1 }, { PG, 3 * PG - 1 } };
	struct iopt_inv_req q = { rs, 2, PG, true };
	struct iopt_inv_policy pol = { 256, 16 * PG };
	struct iopt_vtd_inv_caps caps = { .psi = true, .mamv = 20 };
	struct iopt_vtd_inv_scope sc = { 1, false, 0 };
	/* [1,2] -> one 2-page block? 2 pages at 1: left [1,2) right [2,3): exact 2,
	 * [0..3] 1 block (over 2). Page 8 exact 1 block. Total 2. */
	CHECK_EQ(iopt_inv_plan_vtd(&q, &pol, &caps, &sc, out, 8), 2);
	W(0, 0x10032ull, 0x42ull);
	W(1, 0x10032ull, 0x8040ull);
	TEST("NULL policy: default budget, exact cover");
	CHECK_EQ(iopt_inv_plan_vtd(&q, NULL, &caps, &sc, out, 8), 3);
}

/* The run-time vendor dispatch gives the vendor planner's exact output. */
static void target_dispatch(void)
{
	struct iopt_inv_range rg = { 0x10000, 0x2ffff };
	struct iopt_inv_req req = { &rg, 1, 4096, true };
	struct iopt_inv_target t = { .vendor = IOPT_INV_VTD, .caps.vtd = { .psi = true, .mamv = 9 },
				     .scope.vtd = { .domain = 4 } };
	struct iopt_inv_cmd a[8], b[8], sc = { { 7, 7 } };
	struct iopt_inv_decoded d;
	int n;

	TEST("iopt_inv_plan / plan_scope / decode dispatch by vendor");
	n = iopt_inv_plan(&t, &req, a, 8);
	CHECK_EQ(n, iopt_inv_plan_vtd(&req, &t.policy, &t.caps.vtd, &t.scope.vtd, b, 8));
	CHECK(n > 0 && memcmp(a, b, (size_t)n * sizeof(a[0])) == 0);
	CHECK_EQ(iopt_inv_plan_scope(&t, &sc), 1);
	CHECK_EQ(iopt_inv_decode(IOPT_INV_VTD, &sc, &d), 0);
	CHECK(d.kind == IOPT_INV_SCOPE && d.domain == 4);

	t = (struct iopt_inv_target){ .vendor = IOPT_INV_AMD, .scope.amd = { .domain = 9 } };
	n = iopt_inv_plan(&t, &req, a, 8);
	CHECK_EQ(n, iopt_inv_plan_amd(&req, &t.policy, &t.caps.amd, &t.scope.amd, b, 8));
	CHECK(n > 0 && memcmp(a, b, (size_t)n * sizeof(a[0])) == 0);
	CHECK_EQ(iopt_inv_plan_scope(&t, &sc), 1);
	CHECK_EQ(iopt_inv_decode(IOPT_INV_AMD, &sc, &d), 0);
	CHECK(d.kind == IOPT_INV_SCOPE && d.domain == 9 && !d.leaf_only); /* PDE=1 */

	t = (struct iopt_inv_target){ .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true },
				      .scope.smmu = { .stage = 2, .vmid = 3 } };
	n = iopt_inv_plan(&t, &req, a, 8);
	CHECK_EQ(n, iopt_inv_plan_smmu(&req, &t.policy, &t.caps.smmu, &t.scope.smmu, b, 8));
	CHECK(n > 0 && memcmp(a, b, (size_t)n * sizeof(a[0])) == 0);
	CHECK_EQ(iopt_inv_plan_scope(&t, &sc), 1);
	CHECK_EQ(iopt_inv_decode(IOPT_INV_SMMU, &sc, &d), 0);
	CHECK(d.kind == IOPT_INV_SCOPE && d.domain == 3 && d.stage == 2);

	TEST("dispatch errors: unknown vendor, bad caps/scope/policy, nothing written");
	struct iopt_inv_cmd keep = { { 1, 2 } }, c = keep;
	CHECK_EQ(iopt_inv_plan(NULL, &req, a, 8), -EINVAL);
	CHECK_EQ(iopt_inv_plan_scope(NULL, &c), -EINVAL);
	CHECK_EQ(iopt_inv_decode(0, &sc, &d), -EINVAL);
	t.vendor = 0;
	CHECK_EQ(iopt_inv_plan(&t, &req, a, 8), -EINVAL);
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t.vendor = IOPT_INV_SMMU;
	t.scope.smmu.stage = 0;
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t.scope.smmu.stage = 1;
	t.caps.smmu.granule_shift = 13;
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t = (struct iopt_inv_target){ .vendor = IOPT_INV_VTD, .caps.vtd = { .mamv = 64 } };
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t.caps.vtd.mamv = 9;
	t.scope.vtd = (struct iopt_vtd_inv_scope){ .has_pasid = true, .pasid = 1u << 20 };
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t = (struct iopt_inv_target){ .vendor = IOPT_INV_AMD, .caps.amd = { .max_order = 11 } };
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	t.caps.amd.max_order = 0;
	t.policy.max_cmds = IOPT_INV_MAX_BUDGET + 1;
	CHECK_EQ(iopt_inv_plan_scope(&t, &c), -EINVAL);
	CHECK(c.w[0] == keep.w[0] && c.w[1] == keep.w[1]);
}

int main(void)
{
	kat_vtd();
	kat_amd();
	kat_smmu();
	multi_range();
	prop_blocks_min(0);
	prop_blocks_min(1);
	prop_smmu_min();
	prop_random_cover();
	errors();
	target_dispatch();
	return tap_done();
}
