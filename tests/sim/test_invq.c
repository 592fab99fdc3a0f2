/* SPDX-License-Identifier: MIT */
/*
 * The simulator's IOTLB and invalidation queue:
 *  - two independent readers agree: for random plans of every vendor, the
 *    sim's decoder (written from hw-facts §5) and the library's decoders give
 *    the same kind, range, leaf flag and scope;
 *  - a planned invalidation, executed by the sim, leaves no entry of the
 *    range in the IOTLB (and keeps entries outside it);
 *  - IOTLB mechanics: sizes, tags, LRU, TTL level hints, PWC;
 *  - capabilities: every checked flag or field is an error without its
 *    capability and accepted with it; the default registers are QEMU 7.2's.
 */
#include <string.h>

#include "hw/invq.h"
#include "tap.h"

/* Hardware that advertises everything: the decoders' field checks alone. */
static const struct sim_hw_caps all_caps = { UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT32_MAX,
					     UINT32_MAX, UINT32_MAX };

static uint64_t tag_of(enum iopt_inv_vendor v, const struct iopt_inv_decoded *d)
{
	switch (v) {
	case IOPT_INV_VTD:
		return sim_tag_vtd((uint16_t)d->domain, d->has_pasid, d->pasid);
	case IOPT_INV_AMD:
		return sim_tag_amd((uint16_t)d->domain, d->has_pasid, d->pasid);
	default:
		return sim_tag_smmu(d->stage, (uint16_t)(d->stage == 1 ? d->asid : 0), (uint16_t)d->domain);
	}
}

static struct iopt_inv_target random_target(uint64_t *seed, enum iopt_inv_vendor v)
{
	struct iopt_inv_target t = { .vendor = v };
	uint64_t r = test_xrand(seed);

	t.policy.max_cmds = (unsigned)(r % 3 == 0 ? 2 + r % 20 : 0);
	t.policy.max_overshoot = r % 5 == 0 ? (r >> 8) % (1u << 22) : 0;
	switch (v) {
	case IOPT_INV_VTD:
		t.caps.vtd = (struct iopt_vtd_inv_caps){ .psi = r % 11 != 0, .mamv = 4 + (r >> 16) % 15,
							 .scalable = true };
		t.scope.vtd = (struct iopt_vtd_inv_scope){ .domain = (uint16_t)(r >> 24),
							   .has_pasid = r & 1,
							   .pasid = (uint32_t)(r >> 40) & 0xFFFFF };
		break;
	case IOPT_INV_AMD:
		t.scope.amd = (struct iopt_amd_inv_scope){ .domain = (uint16_t)(r >> 24),
							   .has_pasid = r & 1,
							   .pasid = (uint32_t)(r >> 40) & 0xFFFFF };
		break;
	default:
		t.caps.smmu = (struct iopt_smmu_inv_caps){ .range_inv = r & 2, .granule_shift = 12 };
		t.scope.smmu = (struct iopt_smmu_inv_scope){ .stage = 1 + (r & 1),
							     .asid = (uint16_t)(r >> 24),
							     .vmid = (uint16_t)(r >> 44) };
		break;
	}
	return t;
}

static void readers_agree(void)
{
	uint64_t seed = 0x51A1, bad = 0, plans = 0, cmds = 0;

	TEST("sim decoder == library decoder on random plans of every vendor");
	for (int it = 0; it < 30000; it++) {
		enum iopt_inv_vendor v = (enum iopt_inv_vendor)(1 + it % 3);
		struct iopt_inv_target t = random_target(&seed, v);
		uint64_t stride = 4096ull << (test_xrand(&seed) % 3 == 0 ? 9 : 0);
		uint64_t pages = 1 + test_xrand(&seed) % (test_xrand(&seed) % 4 ? 40 : 5000);
		uint64_t start = (test_xrand(&seed) % (1ull << 26)) * stride;
		struct iopt_inv_range rg = { start, start + pages * stride - 1 };
		struct iopt_inv_req req = { &rg, 1, stride, test_xrand(&seed) & 1 };
		struct iopt_inv_cmd c[IOPT_INV_MAX_BUDGET + 1];
		int n = iopt_inv_plan(&t, &req, c, IOPT_INV_MAX_BUDGET);

		if (n < 0)
			continue;
		plans++;
		if (v == IOPT_INV_VTD)
			(void)iopt_inv_wait_vtd(&t.caps.vtd, 0x1000, 7, 0, &c[n++]);
		else if (v == IOPT_INV_AMD)
			(void)iopt_inv_wait_amd(0x1000, 7, false, &c[n++]);
		else
			(void)iopt_inv_sync_smmu(0, 0, 0, &c[n++]);
		for (int i = 0; i < n; i++) {
			struct iopt_inv_decoded d;
			struct sim_cmd s = sim_cmd_decode(v, &all_caps, &c[i]);
			bool ok = iopt_inv_decode(v, &c[i], &d) == 0;

			cmds++;
			if (!ok || s.kind == SIM_CMD_BAD) {
				bad++;
				continue;
			}
			switch (d.kind) {
			case IOPT_INV_RANGE:
				/* the library decodes a one-address SMMU command as its 4 KiB page */
				if (s.kind != SIM_CMD_RANGE || s.start > d.start || s.end < d.start ||
				    (s.end != d.end && s.start != s.end) || s.leaf_only != d.leaf_only ||
				    s.tag != tag_of(v, &d))
					bad++;
				break;
			case IOPT_INV_SCOPE:
				if (s.kind != SIM_CMD_TAG || (s.tag & s.tag_mask) != (tag_of(v, &d) & s.tag_mask))
					bad++;
				break;
			case IOPT_INV_SYNC:
				bad += s.kind != SIM_CMD_SYNC;
				break;
			default:
				bad++;
			}
		}
	}
	printf("# %llu plans, %llu commands compared\n", (unsigned long long)plans,
	       (unsigned long long)cmds);
	CHECK(plans > 20000);
	CHECK_EQ(bad, 0);
}

/* Fill pages around a range, plan its invalidation, run it: inside gone, outside kept. */
static void plan_clears_range(void)
{
	uint64_t seed = 0xC0FFEE, leftover = 0, lost = 0;

	TEST("an executed plan clears every IOTLB entry of the range, and only those (exact policy)");
	for (int it = 0; it < 3000; it++) {
		enum iopt_inv_vendor v = (enum iopt_inv_vendor)(1 + it % 3);
		struct iopt_inv_target t = random_target(&seed, v);
		t.policy = (struct iopt_inv_policy){ .max_cmds = IOPT_INV_MAX_BUDGET };
		if (v == IOPT_INV_VTD)
			t.caps.vtd.psi = true;
		struct sim_iotlb tlb;
		struct sim_invq q;
		REQUIRE(sim_iotlb_init(&tlb, 1024, 8, 0) == 0);
		REQUIRE(sim_invq_init(&q, v, &all_caps) == 0);
		uint64_t tag = v == IOPT_INV_VTD ? sim_tag_vtd(t.scope.vtd.domain, t.scope.vtd.has_pasid,
							      t.scope.vtd.pasid)
			       : v == IOPT_INV_AMD ? sim_tag_amd(t.scope.amd.domain, t.scope.amd.has_pasid,
							     t.scope.amd.pasid)
			       : sim_tag_smmu(t.scope.smmu.stage,
					      t.scope.smmu.stage == 1 ? t.scope.smmu.asid : 0,
					      t.scope.smmu.vmid);
		uint64_t pages = 1 + test_xrand(&seed) % 60;
		uint64_t start = (1024 + test_xrand(&seed) % 4096) * 4096;
		for (uint64_t p = start - 8 * 4096; p < start + (pages + 8) * 4096; p += 4096)
			sim_iotlb_fill(&tlb, tag, p, p + (1ull << 40), 12, SIM_PERM_R, 1);
		struct iopt_inv_range rg = { start, start + pages * 4096 - 1 };
		struct iopt_inv_req req = { &rg, 1, 4096, true };
		struct iopt_inv_cmd c[IOPT_INV_MAX_BUDGET];
		int n = iopt_inv_plan(&t, &req, c, IOPT_INV_MAX_BUDGET);
		REQUIRE(n > 0);
		REQUIRE(sim_invq_push(&q, c, (unsigned)n) == 0);
		sim_invq_run(&q, &tlb);
		struct sim_tlb_hit h;
		for (uint64_t p = start - 8 * 4096; p < start + (pages + 8) * 4096; p += 4096) {
			bool in = p >= rg.start && p <= rg.end, hit = sim_iotlb_probe(&tlb, tag, p, &h);
			leftover += in && hit;
			lost += !in && !hit;
		}
		sim_invq_destroy(&q);
		sim_iotlb_destroy(&tlb);
	}
	CHECK_EQ(leftover, 0);
	CHECK_EQ(lost, 0);
}

static void iotlb_mechanics(void)
{
	struct sim_iotlb t;
	struct sim_tlb_hit h;

	TEST("IOTLB: sizes, tags, LRU eviction, TTL hint, PWC");
	CHECK_EQ(sim_iotlb_init(&t, 12, 8, 0), -EINVAL);
	REQUIRE(sim_iotlb_init(&t, 16, 2, 4) == 0);
	sim_iotlb_fill(&t, 7, 0x200000, 0x40000000, 21, SIM_PERM_R | SIM_PERM_W, 1);
	CHECK(sim_iotlb_lookup(&t, 7, 0x3FFFFF, &h) && h.pa == 0x401FFFFF && h.lg2 == 21);
	CHECK(!sim_iotlb_lookup(&t, 8, 0x3FFFFF, &h)); /* other tag */
	CHECK(!sim_iotlb_lookup(&t, 7, 0x400000, &h));
	CHECK_EQ(t.hits, 1);
	CHECK_EQ(t.misses, 2);
	/* a TTL hint for level-3 (4 KiB) leaves keeps the 2 MiB entry */
	sim_iotlb_inv_range(&t, 7, 0x200000, 0x200FFF, 12, 21, true);
	CHECK(sim_iotlb_probe(&t, 7, 0x200000, &h));
	sim_iotlb_inv_range(&t, 7, 0x3FF000, 0x3FFFFF, 0, 0, true);
	CHECK(!sim_iotlb_probe(&t, 7, 0x200000, &h));
	/* LRU: three 4K pages mapping to one set of two ways */
	uint64_t a = 0, b = 8ull << 12, c = 16ull << 12; /* 8 sets: same set */
	sim_iotlb_fill(&t, 1, a, a, 12, SIM_PERM_R, 1);
	sim_iotlb_fill(&t, 1, b, b, 12, SIM_PERM_R, 1);
	CHECK(sim_iotlb_lookup(&t, 1, a, &h)); /* a is now the most recent */
	sim_iotlb_fill(&t, 1, c, c, 12, SIM_PERM_R, 1);
	CHECK(sim_iotlb_probe(&t, 1, a, &h));
	CHECK(!sim_iotlb_probe(&t, 1, b, &h));
	CHECK(sim_iotlb_owned(&t, 1, 1, c, c) && !sim_iotlb_owned(&t, 1, 2, c, c));
	sim_iotlb_inv_tag(&t, 1, UINT64_MAX);
	CHECK(!sim_iotlb_any(&t, 1, 0, UINT64_MAX));
	/* PWC: a region is cached after its first walk; non-leaf invalidation drops it */
	CHECK(!sim_pwc_lookup(&t, 1, 0x1234000));
	CHECK(sim_pwc_lookup(&t, 1, 0x1200000));
	sim_iotlb_inv_range(&t, 1, 0x1200000, 0x1200FFF, 0, 0, true);
	CHECK(sim_pwc_lookup(&t, 1, 0x1200000));
	sim_iotlb_inv_range(&t, 1, 0x1200000, 0x1200FFF, 0, 0, false);
	CHECK(!sim_pwc_lookup(&t, 1, 0x1200000));
	sim_iotlb_destroy(&t);
}

static void bad_commands(void)
{
	struct iopt_inv_cmd c = { { 0x9, 0 } };

	TEST("commands the hardware does not know decode as errors");
	CHECK(sim_cmd_decode(IOPT_INV_VTD, &all_caps, &c).kind == SIM_CMD_BAD);
	c.w[0] = 2; /* type 2, granularity 0 */
	CHECK(sim_cmd_decode(IOPT_INV_VTD, &all_caps, &c).kind == SIM_CMD_BAD);
	c.w[0] = 0x5ull << 60;
	CHECK(sim_cmd_decode(IOPT_INV_AMD, &all_caps, &c).kind == SIM_CMD_BAD);
	c.w[0] = 0x40;
	CHECK(sim_cmd_decode(IOPT_INV_SMMU, &all_caps, &c).kind == SIM_CMD_BAD);
	CHECK(sim_cmd_decode((enum iopt_inv_vendor)9, &all_caps, &c).kind == SIM_CMD_BAD);
}

static enum sim_cmd_kind kind(enum iopt_inv_vendor v, const struct sim_hw_caps *hw, uint64_t w0,
			      uint64_t w1)
{
	struct iopt_inv_cmd c = { { w0, w1 } };

	return sim_cmd_decode(v, hw, &c).kind;
}

/* The one command the library plans for [start, start + len) with these VT-d caps. */
static struct iopt_inv_cmd vtd_plan(struct iopt_vtd_inv_caps caps, bool pasid, uint64_t start,
				    uint64_t len)
{
	struct iopt_vtd_inv_scope sc = { .domain = 3, .has_pasid = pasid, .pasid = 5 };
	struct iopt_inv_range rg = { start, start + len - 1 };
	struct iopt_inv_req req = { &rg, 1, 4096, true };
	struct iopt_inv_cmd c[4];

	REQUIRE(iopt_inv_plan_vtd(&req, NULL, &caps, &sc, c, 4) == 1);
	return c[0];
}

static void vtd_caps(void)
{
	struct sim_opts o = { .format = IOPT_PT_VTD_SS };
	struct sim_hw_caps q, h;
	struct iopt_inv_cmd c;

	TEST("VT-d: the defaults are QEMU 7.2's CAP/ECAP (legacy; scalable + PASID for first stage)");
	sim_hw_caps_default(&o, &q);
	CHECK_EQ(q.vtd_cap & ~0x1F3F00ull, 0x00d2008c22260206ull & ~0x1F3F00ull); /* but SAGAW/MGAW */
	CHECK((q.vtd_cap >> 8 & 0x1F) == 6 && (q.vtd_cap >> 16 & 0x3F) == 47); /* 39+48 bits, MGAW 48 */
	CHECK_EQ(q.vtd_ecap, 0xf00f4aull);
	CHECK((q.vtd_cap & SIM_VTD_CAP_PSI) && SIM_VTD_CAP_MAMV(q.vtd_cap) == 18 &&
	      (q.vtd_cap & SIM_VTD_CAP_DRD) && (q.vtd_cap & SIM_VTD_CAP_DWD) &&
	      SIM_VTD_CAP_ND(q.vtd_cap) == 16);
	CHECK(!(q.vtd_ecap & (SIM_VTD_ECAP_SC | SIM_VTD_ECAP_PDS | SIM_VTD_ECAP_SMTS)));
	o.format = IOPT_PT_X86_64;
	sim_hw_caps_default(&o, &h);
	CHECK_EQ(h.vtd_ecap & ~(SIM_VTD_ECAP_PASID | SIM_VTD_ECAP_FLTS), 0x480080f00f4aull);
	CHECK(h.vtd_ecap & SIM_VTD_ECAP_PASID);

	TEST("VT-d: wait PD only with ECAP.PDS (QEMU faults it), other wait bits reserved");
	struct iopt_vtd_inv_caps nopd = { .psi = true, .mamv = 9 }, pd = nopd;
	pd.page_drain = true;
	REQUIRE(iopt_inv_wait_vtd(&nopd, 0x1000, 1, IOPT_VTD_WAIT_FENCE, &c) == 0);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_SYNC);
	/* The library refuses PD without the capability; told it is there, it writes it. */
	CHECK_EQ(iopt_inv_wait_vtd(&nopd, 0x1000, 1, IOPT_VTD_WAIT_DRAIN, &c), -EOPNOTSUPP);
	REQUIRE(iopt_inv_wait_vtd(&pd, 0x1000, 1, IOPT_VTD_WAIT_FENCE | IOPT_VTD_WAIT_DRAIN, &c) == 0);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_BAD);
	h = q;
	h.vtd_ecap |= SIM_VTD_ECAP_PDS;
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_SYNC);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0] | 1ull << 8, c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1] | 2), SIM_CMD_BAD);

	TEST("VT-d: DR/DW only with CAP.DRD/DWD, PSI only with CAP.PSI and AM <= MAMV");
	struct iopt_vtd_inv_caps lc = { .psi = true, .mamv = 63, .drain_read = true };
	c = vtd_plan(lc, false, 0x10000, 0x4000);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_RANGE);
	h.vtd_cap = q.vtd_cap & ~SIM_VTD_CAP_DRD;
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_BAD);
	lc = (struct iopt_vtd_inv_caps){ .psi = true, .mamv = 63, .drain_write = true };
	c = vtd_plan(lc, false, 0x10000, 0x4000);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_RANGE);
	h.vtd_cap = q.vtd_cap & ~SIM_VTD_CAP_DWD;
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_BAD);
	lc.drain_write = false;
	c = vtd_plan(lc, false, 0, 4096ull << 18); /* AM 18 = MAMV */
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_RANGE);
	c = vtd_plan(lc, false, 0, 4096ull << 19);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_BAD);
	c = vtd_plan(lc, false, 0x10000, 4096);
	h.vtd_cap = q.vtd_cap & ~SIM_VTD_CAP_PSI;
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_BAD);
	lc.psi = false; /* what a driver reading CAP plans instead: DSI */
	c = vtd_plan(lc, false, 0x10000, 4096);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_TAG);
	/* reserved fields; a domain id wider than CAP.ND */
	c = vtd_plan((struct iopt_vtd_inv_caps){ .psi = true, .mamv = 9 }, false, 0x10000, 4096);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0] | 1ull << 8, c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0] | 1ull << 32, c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1] | 1ull << 7), SIM_CMD_BAD);
	h.vtd_cap = (q.vtd_cap & ~7ull) | 4; /* ND 4: 12-bit domain ids */
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_RANGE);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0] | 0x1000ull << 16, c.w[1]), SIM_CMD_BAD);

	TEST("VT-d: PASID-based (type 6) descriptors only in scalable mode with PASID");
	/* The library plans type 6 only when told the hardware is in scalable mode. */
	c = vtd_plan((struct iopt_vtd_inv_caps){ .psi = true, .mamv = 9, .scalable = true }, true,
		     0x10000, 4096);
	CHECK_EQ(kind(IOPT_INV_VTD, &q, c.w[0], c.w[1]), SIM_CMD_BAD); /* legacy mode */
	o.format = IOPT_PT_X86_64;
	sim_hw_caps_default(&o, &h);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_RANGE);
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0] | 1ull << 7, c.w[1]), SIM_CMD_BAD); /* no DR in type 6 */
	h.vtd_ecap &= ~SIM_VTD_ECAP_PASID;
	CHECK_EQ(kind(IOPT_INV_VTD, &h, c.w[0], c.w[1]), SIM_CMD_BAD);
}

static void amd_caps(void)
{
	struct sim_opts o = { .format = IOPT_PT_AMD_V1 };
	struct iopt_amd_inv_scope sc = { .domain = 2, .has_pasid = true, .pasid = 9 };
	struct iopt_inv_range rg = { 0x20000, 0x20FFF };
	struct iopt_inv_req req = { &rg, 1, 4096, true };
	struct sim_hw_caps q, h;
	struct iopt_inv_cmd c;

	TEST("AMD: EFR 0x29d3; GN only with EFR.GT, INVALIDATE_IOMMU_ALL only with EFR.IA");
	sim_hw_caps_default(&o, &q);
	CHECK_EQ(q.amd_efr, 0x29d3);
	REQUIRE(iopt_inv_plan_amd(&req, NULL, &(struct iopt_amd_inv_caps){ 0 }, &sc, &c, 1) == 1);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0], c.w[1]), SIM_CMD_RANGE);
	h = q;
	h.amd_efr &= ~SIM_AMD_EFR_GT;
	CHECK_EQ(kind(IOPT_INV_AMD, &h, c.w[0], c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0] | 1ull << 20, c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0] | 1ull << 48, c.w[1]), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0], c.w[1] | 1ull << 3), SIM_CMD_BAD);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, 0x8ull << 60, 0), SIM_CMD_TAG);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, 0x8ull << 60 | 1, 0), SIM_CMD_BAD);
	h.amd_efr = q.amd_efr & ~SIM_AMD_EFR_IA;
	CHECK_EQ(kind(IOPT_INV_AMD, &h, 0x8ull << 60, 0), SIM_CMD_BAD);
	REQUIRE(iopt_inv_wait_amd(0x1000, 1, false, &c) == 0);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0], c.w[1]), SIM_CMD_SYNC);
	CHECK_EQ(kind(IOPT_INV_AMD, &q, c.w[0] | 1ull << 52, c.w[1]), SIM_CMD_BAD);
}

/* Plan [0x40000, 0x4FFFF] (one 64K run of 4K pages) for SMMU stage `stage`. */
static int smmu_plan(bool ril, unsigned stage, uint16_t asid, uint16_t vmid,
		     struct iopt_inv_cmd *c)
{
	struct iopt_smmu_inv_caps caps = { .range_inv = ril, .granule_shift = 12 };
	struct iopt_smmu_inv_scope sc = { .stage = stage, .asid = asid, .vmid = vmid };
	struct iopt_inv_range rg = { 0x40000, 0x4FFFF };
	struct iopt_inv_req req = { &rg, 1, 0x10000, true };

	return iopt_inv_plan_smmu(&req, NULL, &caps, &sc, c, IOPT_INV_MAX_BUDGET);
}

static unsigned bad_of(const struct sim_hw_caps *hw, const struct iopt_inv_cmd *c, int n)
{
	unsigned bad = 0;

	for (int i = 0; i < n; i++)
		bad += kind(IOPT_INV_SMMU, hw, c[i].w[0], c[i].w[1]) == SIM_CMD_BAD;
	return bad;
}

static void smmu_caps(void)
{
	struct sim_opts o = { .format = IOPT_PT_LPAE_S1 };
	struct iopt_inv_cmd c[IOPT_INV_MAX_BUDGET];
	struct sim_hw_caps q, h;
	int n;

	TEST("SMMU: IDR0 0x0d40101a IDR3 0x1404 IDR5 0x74 (stage 1; S2P added for stage 2)");
	sim_hw_caps_default(&o, &q);
	CHECK(q.smmu_idr0 == 0x0d40101a && q.smmu_idr3 == 0x1404 && q.smmu_idr5 == 0x74);
	CHECK((q.smmu_idr3 & SIM_SMMU_IDR3_RIL) && (q.smmu_idr0 & SIM_SMMU_IDR0_ASID16) &&
	      !(q.smmu_idr0 & SIM_SMMU_IDR0_VMID16) && (q.smmu_idr5 & SIM_SMMU_IDR5_GRAN(1)));
	o.format = IOPT_PT_LPAE_S2;
	sim_hw_caps_default(&o, &h);
	CHECK_EQ(h.smmu_idr0, 0x0d40101a | SIM_SMMU_IDR0_S2P);
	o = (struct sim_opts){ .format = IOPT_PT_LPAE_S1, .nested = true, .s2_format = IOPT_PT_LPAE_S2 };
	sim_hw_caps_default(&o, &h);
	CHECK(h.smmu_idr0 & SIM_SMMU_IDR0_S2P);

	TEST("SMMU: range commands (TG != 0) only with IDR3.RIL and an IDR5 granule");
	n = smmu_plan(true, 1, 1, 1, c);
	REQUIRE(n == 1);
	CHECK_EQ(bad_of(&q, c, n), 0);
	h = q;
	h.smmu_idr3 &= ~SIM_SMMU_IDR3_RIL;
	CHECK_EQ(bad_of(&h, c, n), 1);
	h = q;
	h.smmu_idr5 &= ~SIM_SMMU_IDR5_GRAN(1);
	CHECK_EQ(bad_of(&h, c, n), 1);
	h = q;
	h.smmu_idr3 &= ~SIM_SMMU_IDR3_RIL;
	n = smmu_plan(false, 1, 1, 1, c); /* what the library plans without RIL: one per page */
	CHECK_EQ(n, 16);
	CHECK_EQ(bad_of(&h, c, n), 0);

	TEST("SMMU: ASIDs/VMIDs above 8 bits need IDR0.ASID16/VMID16; NH_* S1P, S2_IPA S2P");
	n = smmu_plan(true, 1, 0x100, 1, c);
	CHECK_EQ(bad_of(&q, c, n), 0); /* ASID16 */
	h = q;
	h.smmu_idr0 &= ~SIM_SMMU_IDR0_ASID16;
	CHECK_EQ(bad_of(&h, c, n), 1);
	n = smmu_plan(true, 1, 1, 0x100, c);
	CHECK_EQ(bad_of(&q, c, n), 1); /* QEMU 7.2: 8-bit VMIDs */
	h = q;
	h.smmu_idr0 |= SIM_SMMU_IDR0_VMID16;
	CHECK_EQ(bad_of(&h, c, n), 0);
	h.smmu_idr0 &= ~SIM_SMMU_IDR0_S1P;
	CHECK_EQ(bad_of(&h, c, n), 1);
	n = smmu_plan(true, 2, 0, 1, c);
	CHECK_EQ(bad_of(&q, c, n), 1); /* stage 2 on a stage-1 SMMU */
	h = q;
	h.smmu_idr0 |= SIM_SMMU_IDR0_S2P;
	CHECK_EQ(bad_of(&h, c, n), 0);
}

int main(void)
{
	readers_agree();
	plan_clears_range();
	iotlb_mechanics();
	bad_commands();
	vtd_caps();
	amd_caps();
	smmu_caps();
	return tap_done();
}
