/* SPDX-License-Identifier: MIT */
/*
 * White-box: the block templates the DMA layer plans inline with
 * (_iopt_inv_block_tmpl) against the planner itself. For every target
 * below, stride 4K..2M and blocks of 1..32 strides: where a template
 * exists it must give exactly the planner's single command at random
 * aligned bases and at both ends of the range it claims; and it must exist
 * exactly where the hardware has a one-command form (else the DMA fast
 * path would silently fall back, or use a template where it is wrong).
 */
#include <string.h>

#include <iopt/invalidate.h>

#include "gather/planner.h"
#include "tap.h"

struct tcase {
	const char *name;
	struct iopt_inv_target t;
};

/* Where a template must exist: one command, base | fixed bits, for every base below 2^52. */
static bool expect_tmpl(const struct iopt_inv_target *t, unsigned shift, unsigned order)
{
	unsigned lg2 = shift + order;

	switch (t->vendor) {
	case IOPT_INV_VTD:
		return t->caps.vtd.psi && lg2 - 12 <= t->caps.vtd.mamv;
	case IOPT_INV_AMD:
		return lg2 <= (t->caps.amd.max_order ? t->caps.amd.max_order : 51);
	case IOPT_INV_SMMU: {
		unsigned g = t->caps.smmu.granule_shift ? t->caps.smmu.granule_shift : 12;

		if (shift < g)
			return false; /* stride below the granule: refused */
		/*
		 * Without RIL one TG=0 command per descriptor: one block of one
		 * stride that is a level size (a contiguous run is several
		 * descriptors); with it one range command (the erratum's NUM =
		 * SCALE = 0, TTL = 0 needs a lone granule with a stride that is
		 * no level size: never both).
		 */
		return t->caps.smmu.range_inv || (order == 0 && (shift - g) % (g - 3) == 0);
	}
	}
	return false;
}

static void check_case(const struct tcase *c, uint64_t *seed, unsigned *made)
{
	static const unsigned shifts[] = { 12, 13, 14, 16, 21 };
	unsigned bad = 0, wrong_exist = 0;

	TEST(c->name);
	for (unsigned si = 0; si < sizeof(shifts) / sizeof(shifts[0]); si++) {
		for (unsigned order = 0; order < 6; order++) {
			unsigned shift = shifts[si], lg2 = shift + order;
			struct iopt_inv_cmd tmpl = { { 0xdead, 0xbeef } };
			bool got = _iopt_inv_block_tmpl(&c->t, shift, order, &tmpl);

			if (got != expect_tmpl(&c->t, shift, order)) {
				printf("#   shift %u order %u: template %s\n", shift, order,
				       got ? "made" : "refused");
				wrong_exist++;
			}
			if (!got)
				continue;
			(*made)++;
			uint64_t top = (_IOPT_INV_TMPL_LIMIT - 1) & ~((1ull << lg2) - 1);

			for (int i = 0; i < 300; i++) {
				uint64_t base = i == 0 ? 0 : i == 1 ? top :
					(test_xrand(seed) & (_IOPT_INV_TMPL_LIMIT - 1)) & ~((1ull << lg2) - 1);
				struct iopt_inv_range r = { base, base + (1ull << lg2) - 1 };
				struct iopt_inv_req q = { &r, 1, 1ull << shift, true };
				struct iopt_inv_cmd out[4];
				int n = iopt_inv_plan(&c->t, &q, out, 4);

				if (n != 1 || out[0].w[0] != tmpl.w[0] || out[0].w[1] != (tmpl.w[1] | base)) {
					if (bad++ < 4)
						printf("#   shift %u order %u base %#llx: planner %d %#llx %#llx,"
						       " template %#llx %#llx\n", shift, order,
						       (unsigned long long)base, n,
						       (unsigned long long)out[0].w[0],
						       (unsigned long long)out[0].w[1],
						       (unsigned long long)tmpl.w[0],
						       (unsigned long long)(tmpl.w[1] | base));
				}
			}
		}
	}
	CHECK_EQ(wrong_exist, 0);
	CHECK_EQ(bad, 0);
}

int main(void)
{
	const uint64_t MiB = 1ull << 20;
	const struct tcase cases[] = {
		{ "vtd: PSI, MAMV 9, PASID",
		  { .vendor = IOPT_INV_VTD, .caps.vtd = { .psi = true, .mamv = 9, .scalable = true },
		    .scope.vtd = { .domain = 3, .has_pasid = true, .pasid = 0xABCDE } } },
		{ "vtd: PSI, MAMV 2, DW+DR, no PASID, overshoot allowed",
		  { .vendor = IOPT_INV_VTD, .policy = { 4, 64 * MiB },
		    .caps.vtd = { .psi = true, .mamv = 2, .drain_read = true, .drain_write = true },
		    .scope.vtd = { .domain = 0xFFFF } } },
		{ "vtd: PSI, MAMV 0, budget 1",
		  { .vendor = IOPT_INV_VTD, .policy = { 1, 0 }, .caps.vtd = { .psi = true },
		    .scope.vtd = { .domain = 1 } } },
		{ "vtd: no PSI (domain-selective only)",
		  { .vendor = IOPT_INV_VTD, .caps.vtd = { .mamv = 9 }, .scope.vtd = { .domain = 1 } } },
		{ "amd: default order, PASID",
		  { .vendor = IOPT_INV_AMD, .scope.amd = { .domain = 0x42, .has_pasid = true, .pasid = 7 } } },
		{ "amd: max_order 14",
		  { .vendor = IOPT_INV_AMD, .caps.amd = { .max_order = 14 }, .scope.amd = { .domain = 1 } } },
		{ "amd: single pages only (max_order 12), any overshoot",
		  { .vendor = IOPT_INV_AMD, .policy = { 0, UINT64_MAX }, .caps.amd = { .max_order = 12 },
		    .scope.amd = { .domain = 1 } } },
		{ "smmu: stage 1, RIL, 4K",
		  { .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true },
		    .scope.smmu = { .stage = 1, .asid = 0xBEEF, .vmid = 9 } } },
		{ "smmu: stage 2, RIL, 4K",
		  { .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true },
		    .scope.smmu = { .stage = 2, .vmid = 9 } } },
		{ "smmu: stage 1, RIL, 16K granule",
		  { .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true, .granule_shift = 14 },
		    .scope.smmu = { .stage = 1, .asid = 1 } } },
		{ "smmu: stage 2, RIL, 64K granule",
		  { .vendor = IOPT_INV_SMMU, .caps.smmu = { .range_inv = true, .granule_shift = 16 },
		    .scope.smmu = { .stage = 2, .vmid = 1 } } },
		{ "smmu: stage 1, no RIL",
		  { .vendor = IOPT_INV_SMMU, .scope.smmu = { .stage = 1, .asid = 2 } } },
		{ "smmu: stage 2, no RIL, budget 4",
		  { .vendor = IOPT_INV_SMMU, .policy = { 4, 0 }, .scope.smmu = { .stage = 2, .vmid = 3 } } },
	};
	uint64_t seed = 0x7e3d;
	unsigned made = 0;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(&cases[i], &seed, &made);
	TEST("bad targets: no template");
	struct iopt_inv_cmd c;
	struct iopt_inv_target t = cases[0].t;
	t.caps.vtd.mamv = 64;
	CHECK(!_iopt_inv_block_tmpl(&t, 12, 0, &c));
	t.vendor = 0;
	CHECK(!_iopt_inv_block_tmpl(&t, 12, 0, &c));
	CHECK(!_iopt_inv_block_tmpl(&cases[0].t, 50, 2, &c)); /* block reaches 2^52 */
	CHECK(made > 100);
	return tap_done();
}
