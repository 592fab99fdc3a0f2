/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d device context (include/iopt/vtd.h): CAP/ECAP decoding, the
 * capabilities other components get from them, and the root / context /
 * PASID structures and their invalidation descriptors.
 *
 * Bit positions, each read in two sources (the header names the fields):
 *   CAP/ECAP:  QEMU intel_iommu_internal.h VTD_CAP_* / VTD_ECAP_* and
 *              Linux intel/iommu.h cap_* / ecap_* (FL1GP, FL5LP, C, NEST,
 *              PRS, PSS, PDS, SSADS, FLTS, SMPWC, RPS only in Linux: QEMU
 *              7.2 does not implement them).
 *   root/context: QEMU VTD_ROOT_ENTRY_*, VTD_CONTEXT_ENTRY_*,
 *              VTD_SM_CONTEXT_ENTRY_*; Linux context_set_* / context_pdts.
 *   PASID:     QEMU VTD_PASID_* / VTD_SM_PASID_ENTRY_*; Linux pasid.h
 *              pasid_set_* (DID, AW, PGTT, SSADE, SRE, PWSNP, PGSNP, FLPM,
 *              FLPTPTR).
 *   descriptors: QEMU VTD_INV_DESC_CC_* / VTD_INV_DESC_PC (type only) and
 *              Linux QI_CC_* / QI_PC_*.
 *   faults:    QEMU VTD_FRCD_*, Linux dma_frcd_* (dmar.c reads the upper
 *              dwords at +8 and +12).
 *
 * Validation order: every -EINVAL condition first, then -ERANGE (pointers
 * above the host address width), then -EOPNOTSUPP, so a caller sees the
 * most basic problem.
 */
#include <iopt/vtd.h>

#define BIT(n) (1ull << (n))
#define FIELD(v, lo, w) (((v) >> (lo)) & ((1ull << (w)) - 1))

#define VTD_PTR 0xFFFFFFFFFFFFF000ull /* bits 63:12 of every table pointer */
#define VTD_PASID_MAX 0xFFFFFu

/* ---------------------------------------------------------------- helpers */

static bool vtd_unaligned(uint64_t p)
{
	return p & ~VTD_PTR;
}

static bool vtd_above_haw(const struct iopt_vtd_hw *hw, uint64_t p)
{
	return hw->haw < 64 && (p >> hw->haw);
}

/* Domain id: 0 is reserved under caching mode (-EINVAL, checked by the caller first). */
static bool vtd_did_reserved(const struct iopt_vtd_hw *hw, uint16_t did)
{
	return did == 0 && hw->caching_mode;
}

static bool vtd_did_unsupported(const struct iopt_vtd_hw *hw, uint16_t did)
{
	return hw->did_bits < 16 && (did >> hw->did_bits);
}

/* A second-stage level count (3..5 is -EINVAL-checked by the caller) SAGAW lacks. */
static bool vtd_levels_unsupported(const struct iopt_vtd_hw *hw, unsigned int levels)
{
	return !(hw->sagaw & (1u << (levels - 2)));
}

/* ------------------------------------------------------------ capabilities */

int iopt_vtd_hw_decode(uint64_t cap, uint64_t ecap, struct iopt_vtd_hw *hw)
{
	if (!hw || FIELD(cap, 0, 3) == 7)
		return -EINVAL;
	*hw = (struct iopt_vtd_hw){
		.cap = cap,
		.ecap = ecap,
		.did_bits = 4 + 2 * (unsigned int)FIELD(cap, 0, 3),
		.afl = cap & BIT(3),
		.rwbf = cap & BIT(4),
		.caching_mode = cap & BIT(7),
		.sagaw = (unsigned int)FIELD(cap, 8, 5),
		.mgaw = (unsigned int)FIELD(cap, 16, 6) + 1,
		.fro = (unsigned int)FIELD(cap, 24, 10) * 16,
		.sllps_2m = cap & BIT(34),
		.sllps_1g = cap & BIT(35),
		.psi = cap & BIT(39),
		.nfr = (unsigned int)FIELD(cap, 40, 8) + 1,
		.mamv = (unsigned int)FIELD(cap, 48, 6),
		.dwd = cap & BIT(54),
		.drd = cap & BIT(55),
		.fl1gp = cap & BIT(56),
		.fl5lp = cap & BIT(60),
		.coherent = ecap & BIT(0),
		.qi = ecap & BIT(1),
		.dt = ecap & BIT(2),
		.ir = ecap & BIT(3),
		.eim = ecap & BIT(4),
		.pt = ecap & BIT(6),
		.sc = ecap & BIT(7),
		.iro = (unsigned int)FIELD(ecap, 8, 10) * 16,
		.mhmv = (unsigned int)FIELD(ecap, 20, 4),
		.nest = ecap & BIT(26),
		.prs = ecap & BIT(29),
		.srs = ecap & BIT(31),
		.pasid_bits = (unsigned int)FIELD(ecap, 35, 5) + 1,
		.pasid = ecap & BIT(40),
		.pds = ecap & BIT(42),
		.smts = ecap & BIT(43),
		.ssads = ecap & BIT(45),
		.slts = ecap & BIT(46),
		.flts = ecap & BIT(47),
		.smpwc = ecap & BIT(48),
		.rps = ecap & BIT(49),
		.haw = 52,
	};
	return 0;
}

int iopt_vtd_inv_caps(const struct iopt_vtd_hw *hw, struct iopt_vtd_inv_caps *caps)
{
	if (!hw || !caps)
		return -EINVAL;
	*caps = (struct iopt_vtd_inv_caps){ .psi = hw->psi, .mamv = hw->mamv,
					    .drain_read = hw->drd, .drain_write = hw->dwd,
					    .page_drain = hw->pds, .scalable = hw->smts };
	return 0;
}

int iopt_vtd_pt_cfg(const struct iopt_vtd_hw *hw, enum iopt_pt_format format, unsigned int ias,
		    unsigned int flags, struct iopt_pt_cfg *cfg)
{
	const unsigned int known = IOPT_PT_F_SPLIT | IOPT_PT_F_SIGN_EXTEND | IOPT_PT_F_HW_DIRTY |
				   IOPT_PT_F_SNOOP;
	uint64_t sizes = 1ull << 12;
	unsigned int levels;

	if (!hw || !cfg || ias > 57 || (flags & ~known))
		return -EINVAL;
	if (format == IOPT_PT_VTD_SS) {
		unsigned int want = ias ? ias : hw->mgaw;

		if (flags & IOPT_PT_F_SIGN_EXTEND)
			return -EINVAL;
		/* The smallest SAGAW level count whose width (12 + 9 * levels) covers want. */
		for (levels = 3; levels <= 5; levels++)
			if (!vtd_levels_unsupported(hw, levels) && 12 + 9 * levels >= want)
				break;
		if (want > hw->mgaw || levels > 5)
			return -EOPNOTSUPP;
		/* A/D updates need a PASID entry with SSADE: scalable mode with SSADS. */
		if ((flags & IOPT_PT_F_HW_DIRTY) && !(hw->smts && hw->ssads))
			return -EOPNOTSUPP;
		if ((flags & IOPT_PT_F_SNOOP) && !hw->sc)
			return -EOPNOTSUPP;
		if (hw->sc)
			flags |= IOPT_PT_F_SNOOP;
		sizes |= (hw->sllps_2m ? 1ull << 21 : 0) | (hw->sllps_1g ? 1ull << 30 : 0);
	} else if (format == IOPT_PT_X86_64) {
		/* Dirty tracking is second-stage only (SSADS), as in Linux; SNP is an SS bit. */
		if (flags & (IOPT_PT_F_HW_DIRTY | IOPT_PT_F_SNOOP))
			return -EINVAL;
		levels = ias > 48 ? 5 : 4;
		if (!hw->smts || !hw->flts || (levels == 5 && !hw->fl5lp))
			return -EOPNOTSUPP;
		sizes |= 1ull << 21 | (hw->fl1gp ? 1ull << 30 : 0);
	} else {
		return -EINVAL;
	}
	cfg->format = format;
	cfg->ias = 12 + 9 * levels;
	cfg->oas = hw->haw < 52 ? hw->haw : 52;
	cfg->granule_lg2 = 12;
	cfg->start_levels = 0;
	cfg->flags = flags;
	cfg->pgsize_bitmap = sizes;
	return 0;
}

/* ------------------------------------------------------------- legacy mode */

int iopt_vtd_root_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_root *in,
			uint64_t out[2])
{
	if (!hw || !in || !out || (!in->present && in->ctp) || vtd_unaligned(in->ctp))
		return -EINVAL;
	if (vtd_above_haw(hw, in->ctp))
		return -ERANGE;
	out[0] = in->ctp | (in->present ? BIT(0) : 0);
	out[1] = 0; /* reserved in legacy mode */
	return 0;
}

int iopt_vtd_root_decode(const uint64_t in[2], struct iopt_vtd_root *out)
{
	if (!in || !out || (in[0] & 0xFFE) || in[1])
		return -EINVAL;
	*out = (struct iopt_vtd_root){ .present = in[0] & BIT(0), .ctp = in[0] & VTD_PTR };
	return 0;
}

int iopt_vtd_context_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_context *in,
			   uint64_t out[2])
{
	if (!hw || !in || !out)
		return -EINVAL;
	if (!in->present) {
		if (in->tt || in->slptptr || in->levels || in->did)
			return -EINVAL;
		out[0] = in->fpd ? BIT(1) : 0;
		out[1] = 0;
		return 0;
	}
	bool pt = in->tt == IOPT_VTD_TT_PASSTHROUGH;

	if ((unsigned int)in->tt > IOPT_VTD_TT_PASSTHROUGH || in->levels < 3 || in->levels > 5 ||
	    (pt && in->slptptr) || vtd_unaligned(in->slptptr) || vtd_did_reserved(hw, in->did))
		return -EINVAL;
	if (vtd_above_haw(hw, in->slptptr))
		return -ERANGE;
	/* QEMU checks AW against SAGAW for every TT (vtd_dev_to_context_entry). */
	if ((in->tt == IOPT_VTD_TT_SS_DEVTLB && !hw->dt) || (pt && !hw->pt) ||
	    vtd_levels_unsupported(hw, in->levels) || vtd_did_unsupported(hw, in->did))
		return -EOPNOTSUPP;
	out[0] = in->slptptr | (uint64_t)in->tt << 2 | (in->fpd ? BIT(1) : 0) | BIT(0);
	out[1] = (uint64_t)in->did << 8 | (in->levels - 2);
	return 0;
}

int iopt_vtd_context_decode(const uint64_t in[2], struct iopt_vtd_context *out)
{
	/* qw0 11:4 reserved; qw1: bits 6:3 are software-available, 7 and 63:24 reserved. */
	if (!in || !out || (in[0] & 0xFF0) || FIELD(in[0], 2, 2) == 3 ||
	    (in[1] & 0xFFFFFFFFFF000080ull))
		return -EINVAL;
	bool present = in[0] & BIT(0);

	*out = (struct iopt_vtd_context){
		.present = present,
		.fpd = in[0] & BIT(1),
		.tt = (enum iopt_vtd_tt)FIELD(in[0], 2, 2),
		.slptptr = in[0] & VTD_PTR,
		.levels = present ? (unsigned int)FIELD(in[1], 0, 3) + 2 : 0,
		.did = (uint16_t)FIELD(in[1], 8, 16),
	};
	return 0;
}

/* ----------------------------------------------------------- scalable mode */

int iopt_vtd_sm_root_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_sm_root *in,
			   uint64_t out[2])
{
	if (!hw || !in || !out || (!in->lower_present && in->lower_ctp) ||
	    (!in->upper_present && in->upper_ctp) || vtd_unaligned(in->lower_ctp) ||
	    vtd_unaligned(in->upper_ctp))
		return -EINVAL;
	if (vtd_above_haw(hw, in->lower_ctp) || vtd_above_haw(hw, in->upper_ctp))
		return -ERANGE;
	if (!hw->smts)
		return -EOPNOTSUPP;
	out[0] = in->lower_ctp | (in->lower_present ? BIT(0) : 0);
	out[1] = in->upper_ctp | (in->upper_present ? BIT(0) : 0);
	return 0;
}

int iopt_vtd_sm_root_decode(const uint64_t in[2], struct iopt_vtd_sm_root *out)
{
	if (!in || !out || (in[0] & 0xFFE) || (in[1] & 0xFFE))
		return -EINVAL;
	*out = (struct iopt_vtd_sm_root){ .lower_present = in[0] & BIT(0), .lower_ctp = in[0] & VTD_PTR,
					  .upper_present = in[1] & BIT(0), .upper_ctp = in[1] & VTD_PTR };
	return 0;
}

int iopt_vtd_sm_context_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_sm_context *in,
			      uint64_t out[4])
{
	if (!hw || !in || !out)
		return -EINVAL;
	if (!in->present) {
		if (in->dte || in->paside || in->pre || in->pdts || in->pasid_dir || in->rid_pasid)
			return -EINVAL;
		if (!hw->smts)
			return -EOPNOTSUPP;
		out[0] = in->fpd ? BIT(1) : 0;
		out[1] = out[2] = out[3] = 0;
		return 0;
	}
	/* The directory holds 2^(pdts + 7) entries of 64 PASIDs: RID_PASID must be in it. */
	if (in->pdts > 7 || in->rid_pasid > VTD_PASID_MAX || (in->rid_pasid >> 6) >> (in->pdts + 7) ||
	    vtd_unaligned(in->pasid_dir))
		return -EINVAL;
	if (vtd_above_haw(hw, in->pasid_dir))
		return -ERANGE;
	if (!hw->smts || (in->dte && !hw->dt) || (in->paside && !hw->pasid) ||
	    (in->pre && !hw->prs) || (in->rid_pasid && !hw->rps))
		return -EOPNOTSUPP;
	out[0] = in->pasid_dir | (uint64_t)in->pdts << 9 | (in->pre ? BIT(4) : 0) |
		 (in->paside ? BIT(3) : 0) | (in->dte ? BIT(2) : 0) | (in->fpd ? BIT(1) : 0) | BIT(0);
	out[1] = in->rid_pasid;
	out[2] = out[3] = 0;
	return 0;
}

int iopt_vtd_sm_context_decode(const uint64_t in[4], struct iopt_vtd_sm_context *out)
{
	/* qw0 8:5 and qw1 63:20 as this library writes them (QEMU reserves 63:21). */
	if (!in || !out || (in[0] & 0x1E0) || (in[1] >> 20) || in[2] || in[3])
		return -EINVAL;
	*out = (struct iopt_vtd_sm_context){
		.present = in[0] & BIT(0),
		.fpd = in[0] & BIT(1),
		.dte = in[0] & BIT(2),
		.paside = in[0] & BIT(3),
		.pre = in[0] & BIT(4),
		.pdts = (unsigned int)FIELD(in[0], 9, 3),
		.pasid_dir = in[0] & VTD_PTR,
		.rid_pasid = (uint32_t)in[1],
	};
	return 0;
}

int iopt_vtd_pasid_dir_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_pasid_dir *in,
			     uint64_t *out)
{
	if (!hw || !in || !out || (!in->present && in->table) || vtd_unaligned(in->table))
		return -EINVAL;
	if (vtd_above_haw(hw, in->table))
		return -ERANGE;
	if (!hw->smts)
		return -EOPNOTSUPP;
	*out = in->table | (in->fpd ? BIT(1) : 0) | (in->present ? BIT(0) : 0);
	return 0;
}

int iopt_vtd_pasid_dir_decode(uint64_t in, struct iopt_vtd_pasid_dir *out)
{
	if (!out || (in & 0xFFC))
		return -EINVAL;
	*out = (struct iopt_vtd_pasid_dir){ .present = in & BIT(0), .fpd = in & BIT(1),
					    .table = in & VTD_PTR };
	return 0;
}

/* The largest SAGAW level count as an AW value (FS and pass-through entries, as Linux). */
static unsigned int vtd_max_aw(const struct iopt_vtd_hw *hw)
{
	return hw->sagaw & 8 ? 3 : hw->sagaw & 4 ? 2 : hw->sagaw & 2 ? 1 : 0;
}

int iopt_vtd_pasid_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_pasid_encode *in,
			 uint64_t out[8])
{
	if (!hw || !in || !out)
		return -EINVAL;
	bool ss = in->pgtt == IOPT_VTD_PGTT_SS || in->pgtt == IOPT_VTD_PGTT_NESTED;
	bool fs = in->pgtt == IOPT_VTD_PGTT_FS || in->pgtt == IOPT_VTD_PGTT_NESTED;
	bool ss_set = in->ssptptr || in->ss_levels || in->ssade;
	bool fs_set = in->flptptr || in->fs_levels;

	if (!in->present) {
		if (in->pgtt || in->did || ss_set || fs_set || in->sre || in->pwsnp || in->pgsnp)
			return -EINVAL;
	} else if (in->pgtt < IOPT_VTD_PGTT_FS || in->pgtt > IOPT_VTD_PGTT_PT ||
		   (ss ? in->ss_levels < 3 || in->ss_levels > 5 : ss_set) ||
		   (fs ? in->fs_levels != 4 && in->fs_levels != 5 : fs_set) ||
		   vtd_unaligned(in->ssptptr) || vtd_unaligned(in->flptptr) ||
		   vtd_did_reserved(hw, in->did)) {
		return -EINVAL;
	}
	if (vtd_above_haw(hw, in->ssptptr) || vtd_above_haw(hw, in->flptptr))
		return -ERANGE;
	if (!hw->smts)
		return -EOPNOTSUPP;
	if (in->present &&
	    ((fs && !hw->flts) || (ss && !hw->slts) ||
	     (in->pgtt == IOPT_VTD_PGTT_NESTED && !hw->nest) ||
	     (in->pgtt == IOPT_VTD_PGTT_PT && !hw->pt) ||
	     (ss && vtd_levels_unsupported(hw, in->ss_levels)) || (in->ssade && !hw->ssads) ||
	     (in->fs_levels == 5 && !hw->fl5lp) || (in->sre && !hw->srs) ||
	     (in->pwsnp && !hw->smpwc) || (in->pgsnp && !hw->sc) || vtd_did_unsupported(hw, in->did)))
		return -EOPNOTSUPP;
	for (int i = 0; i < 8; i++)
		out[i] = 0;
	if (!in->present) {
		out[0] = in->fpd ? BIT(1) : 0;
		return 0;
	}
	unsigned int aw = ss ? in->ss_levels - 2 : vtd_max_aw(hw);

	out[0] = in->ssptptr | (in->ssade ? BIT(9) : 0) | (uint64_t)in->pgtt << 6 |
		 (uint64_t)aw << 2 | (in->fpd ? BIT(1) : 0) | BIT(0);
	out[1] = (in->pgsnp ? BIT(24) : 0) | (in->pwsnp ? BIT(23) : 0) | in->did;
	out[2] = in->flptptr | (fs ? (uint64_t)(in->fs_levels - 4) << 2 : 0) | (in->sre ? BIT(0) : 0);
	return 0;
}

int iopt_vtd_pasid_decode(const uint64_t in[8], struct iopt_vtd_pasid_encode *out)
{
	if (!in || !out)
		return -EINVAL;
	unsigned int pgtt = (unsigned int)FIELD(in[0], 6, 3), flpm = (unsigned int)FIELD(in[2], 2, 2);
	bool present = in[0] & BIT(0);
	uint64_t rest = in[3] | in[4] | in[5] | in[6] | in[7];

	/* qw0 bits 5, 11:10; qw1 all but 15:0, 23, 24; qw2 bit 1 and 11:4; FLPM 2, 3. */
	if ((in[0] & 0xC20) || (in[1] & ~0x180FFFFull) || (in[2] & 0xFF2) || rest || flpm > 1 ||
	    pgtt > IOPT_VTD_PGTT_PT || (present && !pgtt))
		return -EINVAL;
	bool ss = pgtt == IOPT_VTD_PGTT_SS || pgtt == IOPT_VTD_PGTT_NESTED;
	bool fs = pgtt == IOPT_VTD_PGTT_FS || pgtt == IOPT_VTD_PGTT_NESTED;

	*out = (struct iopt_vtd_pasid_encode){
		.present = present,
		.fpd = in[0] & BIT(1),
		.pgtt = (enum iopt_vtd_pgtt)pgtt,
		.did = (uint16_t)in[1],
		.ssptptr = in[0] & VTD_PTR,
		.ss_levels = ss ? (unsigned int)FIELD(in[0], 2, 3) + 2 : 0,
		.ssade = in[0] & BIT(9),
		.flptptr = in[2] & VTD_PTR,
		.fs_levels = fs ? 4 + flpm : 0,
		.sre = in[2] & BIT(0),
		.pwsnp = in[1] & BIT(23),
		.pgsnp = in[1] & BIT(24),
	};
	return 0;
}

/* ---------------------------------------------------------- invalidations */

#define VTD_T_CC 1ull
#define VTD_T_PC 7ull
/* Reserved bits of qw0 of both: 15:6 and above the last field (QEMU VTD_INV_DESC_CC_RSVD). */
#define VTD_CC_RSVD 0xFFFC00000000FFC0ull
#define VTD_PC_RSVD 0xFFF000000000FFC0ull

int iopt_vtd_inv_context(const struct iopt_vtd_hw *hw, const struct iopt_vtd_cc_inv *in,
			 struct iopt_inv_cmd *out)
{
	if (!hw || !in || !out || in->gran < IOPT_VTD_CC_GLOBAL || in->gran > IOPT_VTD_CC_DEVICE ||
	    in->fm > 3 || (in->gran == IOPT_VTD_CC_GLOBAL && in->did) ||
	    (in->gran != IOPT_VTD_CC_DEVICE && (in->sid || in->fm)))
		return -EINVAL;
	if (vtd_did_unsupported(hw, in->did))
		return -EOPNOTSUPP;
	out->w[0] = (uint64_t)in->fm << 48 | (uint64_t)in->sid << 32 | (uint64_t)in->did << 16 |
		    (uint64_t)in->gran << 4 | VTD_T_CC;
	out->w[1] = 0;
	return 0;
}

int iopt_vtd_inv_context_decode(const struct iopt_inv_cmd *cmd, struct iopt_vtd_cc_inv *out)
{
	if (!cmd || !out || FIELD(cmd->w[0], 0, 4) != VTD_T_CC || !FIELD(cmd->w[0], 4, 2) ||
	    (cmd->w[0] & VTD_CC_RSVD) || cmd->w[1])
		return -EINVAL;
	*out = (struct iopt_vtd_cc_inv){ .gran = (enum iopt_vtd_cc_gran)FIELD(cmd->w[0], 4, 2),
					 .did = (uint16_t)FIELD(cmd->w[0], 16, 16),
					 .sid = (uint16_t)FIELD(cmd->w[0], 32, 16),
					 .fm = (unsigned int)FIELD(cmd->w[0], 48, 2) };
	return 0;
}

int iopt_vtd_inv_pasid_cache(const struct iopt_vtd_hw *hw, const struct iopt_vtd_pc_inv *in,
			     struct iopt_inv_cmd *out)
{
	if (!hw || !in || !out ||
	    (in->gran != IOPT_VTD_PC_DOMAIN && in->gran != IOPT_VTD_PC_PASID &&
	     in->gran != IOPT_VTD_PC_GLOBAL) ||
	    in->pasid > VTD_PASID_MAX || (in->gran == IOPT_VTD_PC_GLOBAL && in->did) ||
	    (in->gran != IOPT_VTD_PC_PASID && in->pasid))
		return -EINVAL;
	if (!hw->smts || vtd_did_unsupported(hw, in->did))
		return -EOPNOTSUPP;
	out->w[0] = (uint64_t)in->pasid << 32 | (uint64_t)in->did << 16 | (uint64_t)in->gran << 4 |
		    VTD_T_PC;
	out->w[1] = 0;
	return 0;
}

int iopt_vtd_inv_pasid_cache_decode(const struct iopt_inv_cmd *cmd, struct iopt_vtd_pc_inv *out)
{
	if (!cmd || !out || FIELD(cmd->w[0], 0, 4) != VTD_T_PC || FIELD(cmd->w[0], 4, 2) == 2 ||
	    (cmd->w[0] & VTD_PC_RSVD) || cmd->w[1])
		return -EINVAL;
	*out = (struct iopt_vtd_pc_inv){ .gran = (enum iopt_vtd_pc_gran)FIELD(cmd->w[0], 4, 2),
					 .did = (uint16_t)FIELD(cmd->w[0], 16, 16),
					 .pasid = (uint32_t)FIELD(cmd->w[0], 32, 20) };
	return 0;
}

/* ------------------------------------------------------------------ faults */

int iopt_vtd_fault_decode(const uint64_t frcd[2], struct iopt_vtd_fault *out)
{
	if (!frcd || !out)
		return -EINVAL;
	if (!(frcd[1] & BIT(63)))
		return -ENOENT;
	*out = (struct iopt_vtd_fault){ .addr = frcd[0] & VTD_PTR,
					.sid = (uint16_t)frcd[1],
					.reason = (uint8_t)FIELD(frcd[1], 32, 8),
					.read = frcd[1] & BIT(62),
					.has_pasid = frcd[1] & BIT(31),
					.pasid = (uint32_t)FIELD(frcd[1], 40, 20) };
	return 0;
}
