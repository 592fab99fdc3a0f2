/* SPDX-License-Identifier: MIT */
/*
 * VT-d IOTLB invalidation planner and decoder (hw-facts 5.1).
 *
 * Type 2 (IOTLB invalidate) qw0: type 3:0, granularity 5:4 (1 global,
 * 2 domain, 3 page-selective-within-domain), DW 6, DR 7, DID 31:16.
 * Type 6 (PASID-based IOTLB) qw0: type 3:0, granularity 5:4 (2 = all
 * non-global entries of the PASID, 3 = page-selective within PASID),
 * DID 31:16, PASID 51:32. Both: qw1 AM 5:0, IH 6, ADDR 63:12.
 * Type 5 (wait) qw0: SW 5, FN 6, PD 7, status data 63:32; qw1 status address.
 * Nothing the caps do not advertise is written: DR/DW only with CAP.DRD/DWD,
 * PD only with ECAP.PDS, type 6 only in scalable mode (QEMU 7.2 faults PD:
 * VTD_INV_DESC_WAIT_RSVD_LO covers bits 31:7).
 */
#include "gather/planner.h"

#define VTD_T_IOTLB 2ull
#define VTD_T_WAIT 5ull
#define VTD_T_PIOTLB 6ull
#define VTD_G_GLOBAL 1ull
#define VTD_G_DOMAIN 2ull /* type 6: all non-global entries of the PASID */
#define VTD_G_PAGE 3ull
#define VTD_MAX_PASID 0xFFFFFu

static uint64_t _vtd_qw0(const struct iopt_vtd_inv_caps *caps,
			 const struct iopt_vtd_inv_scope *sc, uint64_t gran)
{
	if (sc->has_pasid)
		return VTD_T_PIOTLB | gran << 4 | (uint64_t)sc->domain << 16 |
		       (uint64_t)sc->pasid << 32;
	/* DW/DR exist in type 2 only; Linux sets them when CAP.DWD/DRD say so. */
	return VTD_T_IOTLB | gran << 4 | (uint64_t)caps->drain_write << 6 |
	       (uint64_t)caps->drain_read << 7 | (uint64_t)sc->domain << 16;
}

int _iopt_inv_check_vtd(const struct iopt_vtd_inv_caps *caps, const struct iopt_vtd_inv_scope *scope)
{
	if (!caps || !scope || caps->mamv > 63 || (scope->has_pasid && scope->pasid > VTD_MAX_PASID))
		return -EINVAL;
	return 0;
}

int _iopt_inv_support_vtd(const struct iopt_vtd_inv_caps *caps, const struct iopt_vtd_inv_scope *scope)
{
	/* Type 6 exists only in scalable mode (legacy hardware: invalid descriptor). */
	return scope->has_pasid && !caps->scalable ? -EOPNOTSUPP : 0;
}

void _iopt_inv_scope_vtd(const struct iopt_vtd_inv_caps *caps,
			 const struct iopt_vtd_inv_scope *scope, struct iopt_inv_cmd *out)
{
	out->w[0] = _vtd_qw0(caps, scope, VTD_G_DOMAIN);
	out->w[1] = 0;
}

int iopt_inv_plan_vtd(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
		      const struct iopt_vtd_inv_caps *caps,
		      const struct iopt_vtd_inv_scope *scope, struct iopt_inv_cmd *out, size_t cap)
{
	struct _iopt_urange ur[IOPT_INV_MAX_RANGES];
	struct _iopt_blk b[IOPT_INV_MAX_BUDGET];
	unsigned int budget = _iopt_inv_budget(pol);
	uint64_t nb;

	if (!out || !budget || _iopt_inv_check_vtd(caps, scope))
		return -EINVAL;
	int n = _iopt_inv_prepare(req, 12, ur);
	if (n < 0)
		return n;
	if (_iopt_inv_support_vtd(caps, scope))
		return -EOPNOTSUPP;

	/* Without CAP.PSI only DSI exists; a plan over budget is cheaper as DSI. */
	nb = caps->psi ? _iopt_blk_plan(ur, n, caps->mamv, _iopt_inv_over_units(pol, 12),
				       budget, b)
		       : (uint64_t)budget + 1;
	if (nb > budget) {
		if (cap < 1)
			return -ENOSPC;
		_iopt_inv_scope_vtd(caps, scope, out);
		return 1;
	}
	if (nb > cap)
		return -ENOSPC;
	uint64_t w0 = _vtd_qw0(caps, scope, VTD_G_PAGE);
	/* IH=1 only when no non-leaf entry changed (5.1: else walk caches go stale). */
	uint64_t ih = req->leaf_only ? 1ull << 6 : 0;
	for (uint64_t i = 0; i < nb; i++) {
		out[i].w[0] = w0;
		out[i].w[1] = b[i].pg << 12 | ih | b[i].order;
	}
	return (int)nb;
}

int iopt_inv_wait_vtd(const struct iopt_vtd_inv_caps *caps, uint64_t status_addr,
		      uint32_t status_data, unsigned int flags, struct iopt_inv_cmd *out)
{
	/* The status write is a 32-bit store: address bits 1:0 are not an address. */
	if (!caps || !out || (status_addr & 3) ||
	    (flags & ~(IOPT_VTD_WAIT_FENCE | IOPT_VTD_WAIT_DRAIN)))
		return -EINVAL;
	if ((flags & IOPT_VTD_WAIT_DRAIN) && !caps->page_drain)
		return -EOPNOTSUPP;
	out->w[0] = VTD_T_WAIT | 1ull << 5 |
		    (uint64_t)!!(flags & IOPT_VTD_WAIT_FENCE) << 6 |
		    (uint64_t)!!(flags & IOPT_VTD_WAIT_DRAIN) << 7 | (uint64_t)status_data << 32;
	out->w[1] = status_addr;
	return 0;
}

int iopt_inv_global_vtd(const struct iopt_vtd_inv_caps *caps, struct iopt_inv_cmd *out)
{
	static const struct iopt_vtd_inv_scope none;

	if (!out || _iopt_inv_check_vtd(caps, &none))
		return -EINVAL;
	out->w[0] = _vtd_qw0(caps, &none, VTD_G_GLOBAL);
	out->w[1] = 0;
	return 0;
}

int iopt_inv_decode_vtd(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d)
{
	if (!cmd || !d)
		return -EINVAL;
	uint64_t w0 = cmd->w[0], w1 = cmd->w[1], type = w0 & 0xF, gran = (w0 >> 4) & 3;
	struct iopt_inv_decoded r = { .start = 0, .end = UINT64_MAX };

	if (type == VTD_T_WAIT) {
		r.kind = IOPT_INV_SYNC;
		*d = r;
		return 0;
	}
	if (type != VTD_T_IOTLB && type != VTD_T_PIOTLB)
		return -EINVAL;
	r.domain = (uint32_t)(w0 >> 16) & 0xFFFF;
	if (type == VTD_T_PIOTLB) {
		r.has_pasid = true;
		r.pasid = (uint32_t)(w0 >> 32) & VTD_MAX_PASID;
		if (gran != VTD_G_DOMAIN && gran != VTD_G_PAGE)
			return -EINVAL;
	} else if (gran == 0) {
		return -EINVAL;
	}
	if (gran == VTD_G_GLOBAL) {
		r.kind = IOPT_INV_GLOBAL;
	} else if (gran == VTD_G_DOMAIN) {
		r.kind = IOPT_INV_SCOPE;
	} else {
		/* Hardware ignores ADDR bits below 12 + AM: the naturally aligned block. */
		unsigned int am = (unsigned int)(w1 & 0x3F);
		uint64_t mask = am + 12 >= 64 ? UINT64_MAX : (1ull << (am + 12)) - 1;
		r.kind = IOPT_INV_RANGE;
		r.start = w1 & ~0xFFFull & ~mask;
		r.end = r.start | mask;
		r.leaf_only = (w1 >> 6) & 1;
	}
	*d = r;
	return 0;
}
