/* SPDX-License-Identifier: MIT */
/*
 * Intel VT-d second-stage paging (hw-facts §1; VT-d spec §3.7, §9.8).
 *
 * One 4 KiB table of 512 entries per level, 3/4/5 levels for 39/48/57-bit
 * input (AW = levels - 2, §1.1). There is no present bit: an entry is
 * present when R or W is set (§1.2), so a mapping with neither is refused.
 * Tables are written R|W (permissions AND along the walk); leaves carry
 * the real R/W, PS above level 0 (2 MiB, 1 GiB), SNP for IOPT_PROT_CACHE
 * only with IOPT_PT_F_SNOOP (ECAP.SC: without snoop control SNP is reserved
 * in legacy mode and QEMU faults the entry; CACHE is then accepted and
 * snooping is left to the platform).
 * A (bit 8) and D (bit 9) are set by hardware only when the PASID entry has
 * SSADE (§1.3); clearing D is an atomic and-not, then an IOTLB flush of the
 * range (the engine adds it to the gather).
 */
#ifndef IOPT_FMT_VTD_SS_H
#define IOPT_FMT_VTD_SS_H

#include "formats/intel_common.h"

enum {
	VTDSS_R = 1ull << 0,
	VTDSS_W = 1ull << 1,
	VTDSS_A = 1ull << 8,
	VTDSS_D = 1ull << 9,
	VTDSS_SNP = 1ull << 11,
};

static inline uint64_t vtdsspt_make_table(const struct iopt_pt *pt, uint64_t pa, unsigned level)
{
	(void)pt;
	(void)level;
	return pa | VTDSS_R | VTDSS_W;
}
#define pt_make_table vtdsspt_make_table

static inline int vtdsspt_prot_attrs(const struct iopt_pt *pt, unsigned prot, uint64_t *attrs)
{
	uint64_t a = 0;

	if (prot & IOPT_PROT_READ)
		a |= VTDSS_R;
	if (prot & IOPT_PROT_WRITE)
		a |= VTDSS_W;
	if (!a)
		return -EINVAL; /* no present bit: R=W=0 would be empty */
	if ((prot & IOPT_PROT_CACHE) && (pt->flags & IOPT_PT_F_SNOOP))
		a |= VTDSS_SNP;
	*attrs = a;
	return 0;
}
#define pt_prot_attrs vtdsspt_prot_attrs

static inline bool vtdsspt_is_dirty(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & VTDSS_D;
}
#define pt_is_dirty vtdsspt_is_dirty

static inline void vtdsspt_clean(const struct iopt_pt *pt, uint64_t *slot)
{
	(void)pt;
	__atomic_fetch_and(slot, ~(uint64_t)VTDSS_D, __ATOMIC_RELAXED);
}
#define pt_clean vtdsspt_clean

static inline int vtdsspt_fmt_init(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg,
				   unsigned *levels)
{
	unsigned ias = cfg->ias;

	pt->granule_lg2 = INTEL_GRANULE_LG2;
	pt->bpl = INTEL_BPL;
	pt->oas = cfg->oas ? cfg->oas : 52;
	if (pt->oas > 52 || pt->oas < 12 || ias <= 30 || ias > 57)
		return -EINVAL;
	if ((cfg->granule_lg2 && cfg->granule_lg2 != 12) || (cfg->flags & IOPT_PT_F_SIGN_EXTEND))
		return -EINVAL;
	/* generic_pt's rule (§1.1): above 48 bits 5 levels, above 39 4, else 3. */
	*levels = ias > 48 ? 5 : ias > 39 ? 4 : 3;
	pt->max_levels = *levels;
	pt->root_size = 4096;
	pt->oa_last = pt_mask_lg2(pt->oas);
	pt->top_mask = pt_mask_lg2(ias - 12 - 9 * (*levels - 1));
	pt->va_last = pt_mask_lg2(ias);
	return 0;
}
#define pt_fmt_init vtdsspt_fmt_init

#endif /* IOPT_FMT_VTD_SS_H */
