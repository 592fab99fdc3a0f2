/* SPDX-License-Identifier: MIT */
/*
 * ARM SMMUv3 TLBI planner and decoder (hw-facts 5.3).
 *   dw0: opcode 7:0, NUM 16:12, SCALE 24:20, VMID 47:32, ASID 63:48
 *   dw1: LEAF 0, TTL 9:8, TG 11:10, VA 63:12 (NH_VA) / IPA 51:12 (S2_IPA)
 * A range command (TG != 0) covers (NUM+1) x 2^SCALE granules from VA; the
 * start needs no alignment beyond the granule. CMD_SYNC: CS 13:12,
 * MSIData 63:32, dw1 MSI address 51:2.
 */
#include "gather/planner.h"

#define SMMU_OP_NH_ASID 0x11ull
#define SMMU_OP_NH_VA 0x12ull
#define SMMU_OP_S12_VMALL 0x28ull
#define SMMU_OP_S2_IPA 0x2Aull
#define SMMU_OP_NSNH_ALL 0x30ull
#define SMMU_OP_SYNC 0x46ull
#define SMMU_IPA_MASK 0x000FFFFFFFFFF000ull
#define SMMU_MSI_MASK 0x000FFFFFFFFFFFFCull

/*
 * TTL = level of the leaf that changed, Linux's formula
 * 4 - (log2(stride) - 3) / (tg - 3); 0 (no hint) for non-leaf invalidations
 * and for strides that are not a level size of this granule.
 */
static unsigned int _smmu_ttl(bool leaf_only, unsigned int g, uint64_t stride)
{
	unsigned int s = _iopt_fls(stride);
	if (!leaf_only || (s - g) % (g - 3))
		return 0;
	int ttl = 4 - (int)((s - 3) / (g - 3));
	return ttl >= 1 && ttl <= 3 ? (unsigned int)ttl : 0;
}

static void _smmu_va(struct iopt_inv_cmd *c, const struct iopt_smmu_inv_scope *sc, uint64_t va,
		     unsigned int num, unsigned int scale, unsigned int ttl, unsigned int tg,
		     bool leaf)
{
	uint64_t w0 = (uint64_t)num << 12 | (uint64_t)scale << 20 | (uint64_t)sc->vmid << 32;
	if (sc->stage == 1) {
		c->w[0] = SMMU_OP_NH_VA | w0 | (uint64_t)sc->asid << 48;
		c->w[1] = va;
	} else {
		c->w[0] = SMMU_OP_S2_IPA | w0;
		c->w[1] = va & SMMU_IPA_MASK;
	}
	c->w[1] |= (uint64_t)leaf | (uint64_t)ttl << 8 | (uint64_t)tg << 10;
}

int _iopt_inv_check_smmu(const struct iopt_smmu_inv_caps *caps,
			 const struct iopt_smmu_inv_scope *scope)
{
	unsigned int g = caps ? caps->granule_shift : 0;

	if (!caps || !scope || (g && g != 12 && g != 14 && g != 16) ||
	    (scope->stage != 1 && scope->stage != 2))
		return -EINVAL;
	return 0;
}

void _iopt_inv_scope_smmu(const struct iopt_smmu_inv_scope *scope, struct iopt_inv_cmd *out)
{
	if (scope->stage == 1)
		out->w[0] = SMMU_OP_NH_ASID | (uint64_t)scope->vmid << 32 | (uint64_t)scope->asid << 48;
	else
		out->w[0] = SMMU_OP_S12_VMALL | (uint64_t)scope->vmid << 32;
	out->w[1] = 0;
}

int iopt_inv_plan_smmu(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
		       const struct iopt_smmu_inv_caps *caps,
		       const struct iopt_smmu_inv_scope *scope, struct iopt_inv_cmd *out,
		       size_t cap)
{
	struct _iopt_urange ur[IOPT_INV_MAX_RANGES];
	struct _iopt_run r[IOPT_INV_MAX_BUDGET];
	unsigned int budget = _iopt_inv_budget(pol);
	uint64_t nc = 0;

	if (!out || !budget || _iopt_inv_check_smmu(caps, scope))
		return -EINVAL;
	unsigned int g = caps->granule_shift ? caps->granule_shift : 12;
	int n = _iopt_inv_prepare(req, g, ur);
	if (n < 0)
		return n;
	/* Units of 2^g: the top unit of the space is this (IPA: 52 bits). */
	uint64_t umax = scope->stage == 2 ? (SMMU_IPA_MASK | 0xFFF) >> g : UINT64_MAX >> g;
	for (int i = 0; i < n; i++)
		if (ur[i].hi > umax)
			return -ERANGE;

	unsigned int ttl = _smmu_ttl(req->leaf_only, g, req->stride);
	unsigned int tg = (g - 10) / 2;
	if (caps->range_inv) {
		uint64_t over = _iopt_inv_over_units(pol, g);
		for (int i = 0; i < n && nc <= budget; i++) {
			uint64_t pages = ur[i].hi - ur[i].lo + 1; /* no wrap: hi < 2^52 */
			/*
			 * Grow at the end, never into the next range (the extra
			 * would be invalidated twice) nor out of the space.
			 */
			uint64_t room = i + 1 < n ? ur[i + 1].lo - ur[i].hi - 1 : umax - ur[i].hi;
			uint64_t p = _iopt_run_choose(pages, over < room ? over : room, ttl == 0,
						      budget);
			uint64_t lo = ur[i].lo;
			if (p - pages > room) { /* only the lone-granule bump gets here */
				if (lo > (i ? ur[i - 1].hi + 1 : 0))
					lo--;
				else
					p = pages; /* no room either side: hw takes NUM = SCALE = 0 */
			}
			nc += _iopt_run_split(lo, p, ttl == 0, budget - nc, r + nc);
		}
	} else {
		/*
		 * No RIL: a TG=0 command drops the TLB entries of ONE descriptor.
		 * A stride that is not a level size is a contiguous run (hw-facts
		 * 4.4), and the contiguous bit is only a hint: hardware may cache
		 * each descriptor of the run on its own (QEMU does). So step by the
		 * largest level size within the stride: one command per descriptor.
		 */
		unsigned int ss = _iopt_fls(req->stride) - g;
		ss -= ss % (g - 3);
		for (int i = 0; i < n && nc <= budget; i++) {
			uint64_t steps = ((ur[i].hi - ur[i].lo) >> ss) + 1;
			if (steps > budget - nc) {
				nc = (uint64_t)budget + 1;
				break;
			}
			for (uint64_t k = 0; k < steps; k++)
				r[nc++] = (struct _iopt_run){ ur[i].lo + (k << ss), 0, 0 };
		}
	}

	if (nc > budget) {
		if (cap < 1)
			return -ENOSPC;
		_iopt_inv_scope_smmu(scope, out);
		return 1;
	}
	if (nc > cap)
		return -ENOSPC;
	for (uint64_t i = 0; i < nc; i++) {
		if (caps->range_inv)
			_smmu_va(&out[i], scope, r[i].pg << g, r[i].num, r[i].scale, ttl, tg,
				 req->leaf_only);
		else /* TG=0: NUM/SCALE/TTL are not used (Linux leaves them 0) */
			_smmu_va(&out[i], scope, r[i].pg << g, 0, 0, 0, 0, req->leaf_only);
	}
	return (int)nc;
}

int iopt_inv_sync_smmu(unsigned int cs, uint64_t msi_addr, uint32_t msi_data,
		       struct iopt_inv_cmd *out)
{
	if (!out || cs > 2 || (cs == 1 && (msi_addr & ~SMMU_MSI_MASK)))
		return -EINVAL;
	out->w[0] = SMMU_OP_SYNC | (uint64_t)cs << 12 | (cs == 1 ? (uint64_t)msi_data << 32 : 0);
	out->w[1] = cs == 1 ? msi_addr : 0;
	return 0;
}

int iopt_inv_decode_smmu(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d)
{
	if (!cmd || !d)
		return -EINVAL;
	uint64_t w0 = cmd->w[0], w1 = cmd->w[1], op = w0 & 0xFF;
	struct iopt_inv_decoded r = { .start = 0, .end = UINT64_MAX };

	r.domain = (uint32_t)(w0 >> 32) & 0xFFFF;
	switch (op) {
	case SMMU_OP_SYNC:
		r.kind = IOPT_INV_SYNC;
		r.domain = 0;
		break;
	case SMMU_OP_NH_ASID:
		r.kind = IOPT_INV_SCOPE;
		r.stage = 1;
		r.asid = (uint32_t)(w0 >> 48);
		break;
	case SMMU_OP_S12_VMALL:
		r.kind = IOPT_INV_SCOPE;
		r.stage = 2;
		break;
	case SMMU_OP_NSNH_ALL: /* bring-up: every non-secure, non-hyp entry */
		r.kind = IOPT_INV_GLOBAL;
		r.domain = 0;
		break;
	case SMMU_OP_NH_VA:
	case SMMU_OP_S2_IPA: {
		unsigned int tg = (unsigned int)(w1 >> 10) & 3;
		uint64_t va = op == SMMU_OP_NH_VA ? w1 & ~0xFFFull : w1 & SMMU_IPA_MASK;
		r.kind = IOPT_INV_RANGE;
		r.stage = op == SMMU_OP_NH_VA ? 1 : 2;
		r.asid = op == SMMU_OP_NH_VA ? (uint32_t)(w0 >> 48) : 0;
		r.leaf_only = w1 & 1;
		r.start = va;
		if (!tg) {
			r.end = va | 0xFFF;
		} else {
			unsigned int g = 10 + 2 * tg;
			uint64_t num = (w0 >> 12) & 31, scale = (w0 >> 20) & 31;
			uint64_t len = (num + 1) << scale << g; /* < 2^64: 32 x 2^31 x 2^16 */
			r.end = va + len - 1 < va ? UINT64_MAX : va + len - 1;
		}
		break;
	}
	default:
		return -EINVAL;
	}
	*d = r;
	return 0;
}
