/* SPDX-License-Identifier: MIT */
/*
 * The simulator's IOTLB and invalidation queue:
 *  - two independent readers agree: for random plans of every vendor, the
 *    sim's decoder (written from hw-facts §5) and the library's decoders give
 *    the same kind, range, leaf flag and scope;
 *  - a planned invalidation, executed by the sim, leaves no entry of the
 *    range in the IOTLB (and keeps entries outside it);
 *  - IOTLB mechanics: sizes, tags, LRU, TTL level hints, PWC.
 */
#include <string.h>

#include "hw/invq.h"
#include "tap.h"

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
			struct sim_cmd s = sim_cmd_decode(v, &c[i]);
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
		REQUIRE(sim_invq_init(&q, v) == 0);
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
	CHECK(sim_cmd_decode(IOPT_INV_VTD, &c).kind == SIM_CMD_BAD);
	c.w[0] = 2; /* type 2, granularity 0 */
	CHECK(sim_cmd_decode(IOPT_INV_VTD, &c).kind == SIM_CMD_BAD);
	c.w[0] = 0x5ull << 60;
	CHECK(sim_cmd_decode(IOPT_INV_AMD, &c).kind == SIM_CMD_BAD);
	c.w[0] = 0x40;
	CHECK(sim_cmd_decode(IOPT_INV_SMMU, &c).kind == SIM_CMD_BAD);
	CHECK(sim_cmd_decode((enum iopt_inv_vendor)9, &c).kind == SIM_CMD_BAD);
}

int main(void)
{
	readers_agree();
	plan_clears_range();
	iotlb_mechanics();
	bad_commands();
	return tap_done();
}
