/* SPDX-License-Identifier: MIT */
/*
 * AMD-Vi device-table entries, EFR capabilities and the DTE commands
 * (include/iopt/amd.h). Where each field comes from: "Q" = QEMU 7.2
 * hw/i386/amd_iommu.h, "L" = Linux 6.12 drivers/iommu/amd/amd_iommu_types.h
 * (iommu.c set_dte_entry / build_* for the command layouts), "H" =
 * shared/docs/hw-facts.md.
 */
#include <iopt/amd.h>

/* ---- Extended Feature Register ---- */
#define EFR_PREF   (1ull << 0)  /* Q AMDVI_FEATURE_PREFETCH, L FEATURE_PREFETCH */
#define EFR_PPR    (1ull << 1)  /* Q AMDVI_FEATURE_PPR, L FEATURE_PPR */
#define EFR_XT     (1ull << 2)  /* L FEATURE_X2APIC, IOMMU_EFR_XTSUP_SHIFT (Q: none) */
#define EFR_NX     (1ull << 3)  /* L FEATURE_NX (Q: none) */
#define EFR_GT     (1ull << 4)  /* Q AMDVI_FEATURE_GT, L FEATURE_GT */
#define EFR_IA     (1ull << 6)  /* Q AMDVI_FEATURE_IA, L FEATURE_IA, H 5.2 */
#define EFR_GA     (1ull << 7)  /* Q AMDVI_FEATURE_GA, L FEATURE_GA */
#define EFR_HE     (1ull << 8)  /* Q AMDVI_FEATURE_HE, L FEATURE_HE */
#define EFR_PC     (1ull << 9)  /* Q AMDVI_FEATURE_PC, L FEATURE_PC */
#define EFR_HATS_SHIFT 10       /* Q AMDVI_HATS_MODE (2 << 10), H 2.1: bits 11:10 */
#define EFR_GATS_SHIFT 12       /* Q AMDVI_GATS_MODE (2 << 12), L FEATURE_GATS 13:12 */
#define EFR_GLX_SHIFT  14       /* L FEATURE_GLX 15:14 (Q: none) */
#define EFR_SMIF_SHIFT 16       /* AMD spec only (see amd.h) */
#define EFR_PASMAX_SHIFT 32     /* L FEATURE_PASMAX 36:32 (Q: none) */
#define EFR_GIO    (1ull << 48) /* L FEATURE_GIOSUP */
#define EFR_HA     (1ull << 49) /* L FEATURE_HASUP */
#define EFR_HD     (1ull << 52) /* L FEATURE_HDSUP */

/* ---- DTE word 0 (Q AMDVI_DEV_*, L DTE_FLAG_* / DEV_ENTRY_*, H 2.1) ---- */
#define DTE_V      (1ull << 0)
#define DTE_TV     (1ull << 1)
#define DTE_HAD    (3ull << 7)  /* L DTE_FLAG_HAD; 11b = access + dirty */
#define DTE_MODE_SHIFT 9        /* Q AMDVI_DEV_MODE_RSHIFT, L DEV_ENTRY_MODE_SHIFT */
#define DTE_MODE   (7ull << 9)
#define DTE_ADDR   0x000ffffffffff000ull /* Q AMDVI_DEV_PT_ROOT_MASK 51:12 */
#define DTE_PPR    (1ull << 52) /* L DEV_ENTRY_PPR 0x34, H 2.1 */
#define DTE_GIOV   (1ull << 54) /* L DTE_FLAG_GIOV, H 2.1 */
#define DTE_GV     (1ull << 55) /* L DTE_FLAG_GV, H 2.1 */
#define DTE_GLX_SHIFT 56        /* L DTE_GLX_SHIFT, H 2.1 57:56 */
#define DTE_IR     (1ull << 61) /* Q AMDVI_DEV_PERM_READ, L DTE_FLAG_IR */
#define DTE_IW     (1ull << 62) /* Q AMDVI_DEV_PERM_WRITE, L DTE_FLAG_IW */
/*
 * GCR3 table root split over three fields (L DTE_GCR3_VAL_[ABC] and
 * DTE_GCR3_SHIFT_[ABC]): bits 14:12 -> w0 60:58, 30:15 -> w1 31:16,
 * 51:31 -> w1 63:43. QEMU reserves none of these bits (AMDVI_DTE_QUAD*).
 */
#define GCR3_A_SHIFT 58
#define GCR3_B_SHIFT 16
#define GCR3_C_SHIFT 43
/* Word 1: domain id 15:0 (Q AMDVI_DEV_DOMID_ID_MASK, L DEV_DOMID_MASK). */
/* Word 2: guest paging mode 55:54 (L DTE_GPT_LEVEL_SHIFT, GUEST_PGTABLE_5_LEVEL = 1). */
#define DTE_GPT_SHIFT 54

/* ---- Commands (L CMD_*, Q AMDVI_CMD_*; opcode in w0 63:60) ---- */
#define CMD_INV_DTE 0x2ull
#define CMD_INV_ALL 0x8ull

#define PA_LIMIT (1ull << 52)

int iopt_amd_hw_decode(uint64_t efr, struct iopt_amd_hw *hw)
{
	if (!hw)
		return -EINVAL;
	struct iopt_amd_hw h = {
		.efr = efr,
		.pref = efr & EFR_PREF,
		.ppr = efr & EFR_PPR,
		.xt = efr & EFR_XT,
		.nx = efr & EFR_NX,
		.gt = efr & EFR_GT,
		.ia = efr & EFR_IA,
		.ga = efr & EFR_GA,
		.he = efr & EFR_HE,
		.pc = efr & EFR_PC,
		.hats = (efr >> EFR_HATS_SHIFT) & 3,
		.gats = (efr >> EFR_GATS_SHIFT) & 3,
		.glx = (efr >> EFR_GLX_SHIFT) & 3,
		.smif = (efr >> EFR_SMIF_SHIFT) & 3,
		.pasmax = (efr >> EFR_PASMAX_SHIFT) & 0x1f,
		.gio = efr & EFR_GIO,
		.ha = efr & EFR_HA,
		.hd = efr & EFR_HD,
	};
	/* HATS 3 (H 2.1) and GATS 2/3 (L knows only 0 and 1) give nothing to walk. */
	h.host_levels = h.hats == 3 ? 0 : 4 + h.hats;
	h.guest_levels = h.gt && h.gats < 2 ? 4 + h.gats : 0;
	h.pasid_bits = h.guest_levels ? h.pasmax + 1 : 0;
	*hw = h;
	return 0;
}

/* Every AMD v1 leaf size a table of @levels levels holds (H 2.4: not 512G, <= 2^51). */
static uint64_t _amd_v1_sizes(unsigned levels)
{
	unsigned leaf_levels = levels < 5 ? levels : 5; /* the 6th level holds no leaves */
	unsigned top = 12 + 9 * leaf_levels;            /* first size above them */
	uint64_t sizes = (top > 51 ? (1ull << 52) : (1ull << top)) - (1ull << 12);

	return sizes & ~(1ull << 39);
}

int iopt_amd_pt_cfg(const struct iopt_amd_hw *hw, enum iopt_pt_format format, unsigned ias,
		    unsigned start_levels, unsigned flags, struct iopt_pt_cfg *cfg)
{
	struct iopt_pt_cfg c = { .format = format, .flags = flags };
	unsigned max_ias;

	if (!hw || !cfg)
		return -EINVAL;
	if (format == IOPT_PT_AMD_V1) {
		if (start_levels > 6 || (ias && ias < 21))
			return -EINVAL;
		if (!hw->host_levels || start_levels > hw->host_levels)
			return -EOPNOTSUPP;
		max_ias = 12 + 9 * hw->host_levels;
		max_ias = max_ias > 64 ? 64 : max_ias;
		c.start_levels = start_levels;
		c.pgsize_bitmap = _amd_v1_sizes(hw->host_levels);
	} else if (format == IOPT_PT_X86_64) {
		if (start_levels || (flags & IOPT_PT_F_SIGN_EXTEND) || (ias && ias < 21))
			return -EINVAL;
		if (!hw->guest_levels)
			return -EOPNOTSUPP;
		max_ias = hw->guest_levels == 5 ? 56 : 47;
		c.pgsize_bitmap = (1ull << 12) | (1ull << 21) | (1ull << 30);
	} else {
		return -EINVAL;
	}
	if (ias > max_ias || ((flags & IOPT_PT_F_HW_DIRTY) && !hw->hd))
		return -EOPNOTSUPP;
	c.ias = ias ? ias : max_ias;
	*cfg = c;
	return 0;
}

int iopt_amd_inv_caps(const struct iopt_amd_hw *hw, struct iopt_amd_inv_caps *caps)
{
	if (!hw || !caps)
		return -EINVAL;
	caps->max_order = 51;
	return 0;
}

int iopt_amd_inv_target(const struct iopt_amd_hw *hw, const struct iopt_amd_inv_scope *scope,
			struct iopt_inv_target *t)
{
	struct iopt_inv_target n = { .vendor = IOPT_INV_AMD };
	struct iopt_inv_cmd probe;

	if (!t || !scope || iopt_amd_inv_caps(hw, &n.caps.amd))
		return -EINVAL;
	n.scope.amd = *scope;
	if (iopt_inv_plan_scope(&n, &probe) < 0)
		return -EINVAL; /* the planner's own scope rules (PASID width) */
	if (scope->has_pasid && (!hw->pasid_bits || scope->pasid >> hw->pasid_bits))
		return -EOPNOTSUPP; /* GN only with guest translation (planner_amd.c sets it) */
	*t = n;
	return 0;
}

static bool _amd_pa_ok(uint64_t pa)
{
	return !(pa & 0xfff) && pa < PA_LIMIT;
}

/* -EINVAL checks of struct iopt_amd_dte (amd.h) that need no capability. */
static int _amd_dte_check(const struct iopt_amd_dte *in)
{
	bool guest = in->giov || in->glx || in->gcr3 || in->guest_levels;

	if (in->mode > 6 || !_amd_pa_ok(in->root) || !_amd_pa_ok(in->gcr3) || in->glx > 1 ||
	    (in->guest_levels && in->guest_levels != 4 && in->guest_levels != 5))
		return -EINVAL;
	if ((in->root && !in->mode) || (!in->tv && in->mode) || (guest && !in->gv))
		return -EINVAL;
	if (!in->valid && (in->tv || in->ir || in->iw || in->domain || in->ppr || in->dirty ||
			   in->gv || in->mode || in->root || guest))
		return -EINVAL;
	return 0;
}

int iopt_amd_dte_encode(const struct iopt_amd_hw *hw, const struct iopt_amd_dte *in,
			uint64_t out[4])
{
	if (!hw || !in || !out)
		return -EINVAL;
	int r = _amd_dte_check(in);
	if (r)
		return r;
	if (in->mode > hw->host_levels || (in->ppr && !hw->ppr) || (in->dirty && !hw->hd) ||
	    (in->gv && !hw->guest_levels) || (in->giov && !hw->gio) || in->glx > hw->glx ||
	    (in->guest_levels == 5 && hw->guest_levels != 5))
		return -EOPNOTSUPP;

	uint64_t w0 = (uint64_t)in->valid | (uint64_t)in->tv << 1 |
		      (uint64_t)in->mode << DTE_MODE_SHIFT | in->root;
	w0 |= (in->ir ? DTE_IR : 0) | (in->iw ? DTE_IW : 0) | (in->ppr ? DTE_PPR : 0) |
	      (in->dirty ? DTE_HAD : 0);
	uint64_t w1 = in->domain, w2 = 0;
	if (in->gv) {
		w0 |= DTE_GV | (in->giov ? DTE_GIOV : 0) | (uint64_t)in->glx << DTE_GLX_SHIFT;
		w0 |= ((in->gcr3 >> 12) & 0x7) << GCR3_A_SHIFT;
		w1 |= ((in->gcr3 >> 15) & 0xffff) << GCR3_B_SHIFT;
		w1 |= ((in->gcr3 >> 31) & 0x1fffff) << GCR3_C_SHIFT;
		w2 = (uint64_t)(in->guest_levels == 5) << DTE_GPT_SHIFT;
	}
	out[0] = w0;
	out[1] = w1;
	out[2] = w2;
	out[3] = 0;
	return 0;
}

int iopt_amd_dte_decode(const uint64_t in[4], struct iopt_amd_dte *out)
{
	if (!in || !out)
		return -EINVAL;
	uint64_t w0 = in[0], w1 = in[1];
	struct iopt_amd_dte d = {
		.valid = w0 & DTE_V,
		.tv = w0 & DTE_TV,
		.mode = (unsigned)((w0 & DTE_MODE) >> DTE_MODE_SHIFT),
		.root = w0 & DTE_ADDR,
		.ir = w0 & DTE_IR,
		.iw = w0 & DTE_IW,
		.domain = (uint16_t)w1,
		.ppr = w0 & DTE_PPR,
		.dirty = (w0 & DTE_HAD) == DTE_HAD,
		.gv = w0 & DTE_GV,
	};
	unsigned gpt = (unsigned)(in[2] >> DTE_GPT_SHIFT) & 3;

	if (d.mode == 7 || (d.gv && gpt > 1))
		return -EINVAL;
	if (d.gv) {
		d.giov = w0 & DTE_GIOV;
		d.glx = (unsigned)(w0 >> DTE_GLX_SHIFT) & 3;
		d.gcr3 = ((w0 >> GCR3_A_SHIFT) & 0x7) << 12 | ((w1 >> GCR3_B_SHIFT) & 0xffff) << 15 |
			 ((w1 >> GCR3_C_SHIFT) & 0x1fffff) << 31;
		d.guest_levels = gpt ? 5 : 4;
	}
	*out = d;
	return 0;
}

int iopt_amd_dte_top(const struct iopt_amd_hw *hw, uint64_t word0, uint64_t root, unsigned levels,
		     uint64_t *out)
{
	if (!hw || !out || (word0 & (DTE_V | DTE_TV)) != (DTE_V | DTE_TV) || !levels ||
	    levels > 6 || !_amd_pa_ok(root))
		return -EINVAL;
	if (levels > hw->host_levels)
		return -EOPNOTSUPP;
	*out = (word0 & ~(DTE_MODE | DTE_ADDR)) | (uint64_t)levels << DTE_MODE_SHIFT | root;
	return 0;
}

int iopt_amd_inv_dte(uint16_t devid, struct iopt_inv_cmd *out)
{
	if (!out)
		return -EINVAL;
	out->w[0] = devid | CMD_INV_DTE << 60;
	out->w[1] = 0;
	return 0;
}

int iopt_amd_inv_dte_decode(const struct iopt_inv_cmd *cmd, uint16_t *devid)
{
	/* QEMU amdvi_inval_devtab_entry: w0 59:16 and w1 must be 0. */
	if (!cmd || !devid || cmd->w[0] >> 16 != CMD_INV_DTE << 44 || cmd->w[1])
		return -EINVAL;
	*devid = (uint16_t)cmd->w[0];
	return 0;
}

int iopt_amd_inv_all(const struct iopt_amd_hw *hw, struct iopt_inv_cmd *out)
{
	if (!hw || !out)
		return -EINVAL;
	if (!hw->ia)
		return -EOPNOTSUPP;
	out->w[0] = CMD_INV_ALL << 60;
	out->w[1] = 0;
	return 0;
}
