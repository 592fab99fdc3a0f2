/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU INVALIDATE_IOMMU_PAGES / COMPLETION_WAIT planner and decoder
 * (hw-facts 5.2). As 64-bit words (32-bit word k is bits 32k+31:32k):
 *   w0: PASID 19:0, domain id 47:32, opcode 63:60
 *   w1: S 0, PDE 1, GN 2, address 63:12
 * S=1 size code (same rule as the PTE size code, hw-facts 2.4): a block of
 * 2^n bytes (n >= 13) has address bits 12..n-2 set and bit n-1 clear.
 * QEMU 7.2 (amdvi_inval_pages) flags w0 31:20, w0 59:48 and w1 11:3 as
 * reserved, none of which is ever set here, and then drops every IOTLB entry
 * of the domain whatever the address, S, PDE and GN say (docs/QEMU.md).
 */
#include "gather/planner.h"

#define AMD_OP_COMPLETION_WAIT 0x1ull
#define AMD_OP_INV_PAGES 0x3ull
#define AMD_OP_INV_ALL 0x8ull /* INVALIDATE_IOMMU_ALL (include/iopt/amd.h encodes it) */
#define AMD_ALL_PAGES 0x7FFFFFFFFFFFF000ull
#define AMD_MAX_PASID 0xFFFFFu
#define AMD_DEFAULT_MAX_ORDER 51u

static uint64_t _amd_w0(const struct iopt_amd_inv_scope *sc)
{
	return (sc->has_pasid ? sc->pasid : 0) | (uint64_t)sc->domain << 32 |
	       AMD_OP_INV_PAGES << 60;
}

static uint64_t _amd_w1(const struct iopt_amd_inv_scope *sc, bool leaf_only, uint64_t addr,
			bool s)
{
	/* PDE=0 only when no non-leaf entry changed; Linux always sets it. */
	return addr | (uint64_t)s | (uint64_t)!leaf_only << 1 | (uint64_t)sc->has_pasid << 2;
}

int _iopt_inv_check_amd(const struct iopt_amd_inv_caps *caps, const struct iopt_amd_inv_scope *scope)
{
	if (!caps || !scope || (caps->max_order && (caps->max_order < 12 || caps->max_order > 51)) ||
	    (scope->has_pasid && scope->pasid > AMD_MAX_PASID))
		return -EINVAL;
	return 0;
}

void _iopt_inv_scope_amd(const struct iopt_amd_inv_scope *scope, bool leaf_only,
			 struct iopt_inv_cmd *out)
{
	out->w[0] = _amd_w0(scope);
	out->w[1] = _amd_w1(scope, leaf_only, AMD_ALL_PAGES, true);
}

int iopt_inv_plan_amd(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
		      const struct iopt_amd_inv_caps *caps,
		      const struct iopt_amd_inv_scope *scope, struct iopt_inv_cmd *out, size_t cap)
{
	struct _iopt_urange ur[IOPT_INV_MAX_RANGES];
	struct _iopt_blk b[IOPT_INV_MAX_BUDGET];
	unsigned int budget = _iopt_inv_budget(pol);

	if (!out || !budget || _iopt_inv_check_amd(caps, scope))
		return -EINVAL;
	unsigned int max_order = caps->max_order ? caps->max_order : AMD_DEFAULT_MAX_ORDER;
	int n = _iopt_inv_prepare(req, 12, ur);
	if (n < 0)
		return n;

	uint64_t nb = _iopt_blk_plan(ur, n, max_order - 12, _iopt_inv_over_units(pol, 12),
				     budget, b);
	uint64_t w0 = _amd_w0(scope);
	if (nb > budget) {
		if (cap < 1)
			return -ENOSPC;
		_iopt_inv_scope_amd(scope, req->leaf_only, out);
		return 1;
	}
	if (nb > cap)
		return -ENOSPC;
	for (uint64_t i = 0; i < nb; i++) {
		uint64_t addr = b[i].pg << 12;
		if (b[i].order)
			addr |= ((1ull << (b[i].order - 1)) - 1) << 12;
		out[i].w[0] = w0;
		out[i].w[1] = _amd_w1(scope, req->leaf_only, addr, b[i].order != 0);
	}
	return (int)nb;
}

/*
 * COMPLETION_WAIT layout (hw-facts 5.2 only names the opcode): word0 bit 0
 * store, bit 1 interrupt, store address 51:3 in words 0-1, opcode in word1
 * 31:28, 64-bit data in words 2-3 (Linux build_completion_wait). QEMU 7.2
 * amdvi_completion_wait reads the same: address = w0 bits 51:3, store = bit
 * 0, interrupt = bit 1, data = w1; w0 59:52 set is an illegal command.
 */
int iopt_inv_wait_amd(uint64_t store_addr, uint64_t data, bool irq, struct iopt_inv_cmd *out)
{
	if (!out || (store_addr & 7) || (store_addr >> 52))
		return -EINVAL;
	out->w[0] = store_addr | 1 | (uint64_t)irq << 1 | AMD_OP_COMPLETION_WAIT << 60;
	out->w[1] = data;
	return 0;
}

int iopt_inv_decode_amd(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d)
{
	if (!cmd || !d)
		return -EINVAL;
	uint64_t w0 = cmd->w[0], w1 = cmd->w[1], op = w0 >> 60;
	struct iopt_inv_decoded r = { .start = 0, .end = UINT64_MAX };

	if (op == AMD_OP_COMPLETION_WAIT || op == AMD_OP_INV_ALL) {
		r.kind = op == AMD_OP_INV_ALL ? IOPT_INV_GLOBAL : IOPT_INV_SYNC;
		*d = r;
		return 0;
	}
	if (op != AMD_OP_INV_PAGES)
		return -EINVAL;
	r.domain = (uint32_t)(w0 >> 32) & 0xFFFF;
	r.has_pasid = (w1 >> 2) & 1;
	r.pasid = r.has_pasid ? (uint32_t)w0 & AMD_MAX_PASID : 0;
	r.leaf_only = !((w1 >> 1) & 1);
	uint64_t addr = w1 & ~0xFFFull;
	if (!(w1 & 1)) {
		r.kind = IOPT_INV_RANGE;
		r.start = addr;
		r.end = addr | 0xFFF;
	} else {
		/* Lowest clear bit k >= 12 gives a 2^(k+1)-byte block. */
		unsigned int k = _iopt_ctz(~(addr | 0xFFF));
		if (k + 1 >= 64) {
			r.kind = IOPT_INV_SCOPE;
		} else {
			uint64_t mask = (1ull << (k + 1)) - 1;
			r.kind = IOPT_INV_RANGE;
			r.start = addr & ~mask;
			r.end = r.start | mask;
		}
	}
	*d = r;
	return 0;
}
