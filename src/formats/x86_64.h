/* SPDX-License-Identifier: MIT */
/*
 * x86-64 4/5-level paging as used by the VT-d first stage and AMD IOMMU v2
 * (hw-facts §3; Intel SDM Vol. 3 §4.5, VT-d §9.7).
 *
 * Leaves at levels 0..2 (4 KiB, 2 MiB, 1 GiB; PS=1 above level 0). Tables
 * are written P|RW|U|A; leaves U|A (U/S cleared for IOPT_PROT_PRIV) plus
 * RW when writable. Without hardware dirty tracking writable leaves get D=1
 * up front so the walker never has to set it (§1.4, §3.1); with
 * IOPT_PT_F_HW_DIRTY D starts clear and read_and_clear_dirty reports it.
 * With IOPT_PT_F_SIGN_EXTEND the canonical upper half is mapped too (§3.1).
 * XD (bit 63) is written for IOPT_PROT_NOEXEC: deprecated on VT-d first
 * stage (§1.4), so VT-d owners should not pass NOEXEC.
 */
#ifndef IOPT_FMT_X86_64_H
#define IOPT_FMT_X86_64_H

#include "formats/intel_common.h"

enum {
	X86_64_P = 1ull << 0,
	X86_64_RW = 1ull << 1,
	X86_64_US = 1ull << 2,
	X86_64_PWT = 1ull << 3,
	X86_64_PCD = 1ull << 4,
	X86_64_A = 1ull << 5,
	X86_64_D = 1ull << 6,
};
#define X86_64_XD   (1ull << 63)

static inline uint64_t x86_64pt_make_table(const struct iopt_pt *pt, uint64_t pa, unsigned level)
{
	(void)pt;
	(void)level;
	return pa | X86_64_P | X86_64_RW | X86_64_US | X86_64_A;
}
#define pt_make_table x86_64pt_make_table

static inline int x86_64pt_prot_attrs(const struct iopt_pt *pt, unsigned prot, uint64_t *attrs)
{
	uint64_t a = X86_64_P | X86_64_A;

	/* Present means readable: write-only and no-access are not expressible. */
	if (!(prot & IOPT_PROT_READ))
		return -EINVAL;
	if (!(prot & IOPT_PROT_PRIV))
		a |= X86_64_US;
	if (prot & IOPT_PROT_WRITE)
		a |= X86_64_RW | ((pt->flags & IOPT_PT_F_HW_DIRTY) ? 0 : X86_64_D);
	if (prot & IOPT_PROT_NOEXEC)
		a |= X86_64_XD;
	if (prot & IOPT_PROT_MMIO)
		a |= X86_64_PCD | X86_64_PWT;
	*attrs = a;
	return 0;
}
#define pt_prot_attrs x86_64pt_prot_attrs

static inline bool x86_64pt_is_dirty(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & X86_64_D;
}
#define pt_is_dirty x86_64pt_is_dirty

static inline void x86_64pt_clean(const struct iopt_pt *pt, uint64_t *slot)
{
	(void)pt;
	__atomic_fetch_and(slot, ~(uint64_t)X86_64_D, __ATOMIC_RELAXED);
}
#define pt_clean x86_64pt_clean

static inline int x86_64pt_fmt_init(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg,
				    unsigned *levels)
{
	unsigned ias = cfg->ias;

	pt->granule_lg2 = INTEL_GRANULE_LG2;
	pt->bpl = INTEL_BPL;
	pt->oas = cfg->oas ? cfg->oas : 52;
	if (pt->oas > 52 || pt->oas < 12 || ias < 13 || ias > 57)
		return -EINVAL;
	if (cfg->granule_lg2 && cfg->granule_lg2 != 12)
		return -EINVAL;
	*levels = ias > 48 ? 5 : 4;
	pt->max_levels = *levels;
	pt->root_size = 4096;
	pt->oa_last = pt_mask_lg2(pt->oas);
	if (cfg->flags & IOPT_PT_F_SIGN_EXTEND) {
		if (ias != 48 && ias != 57)
			return -EINVAL;
		pt->sign_extend = true;
		pt->top_mask = 511;
		pt->va_last = pt_mask_lg2(ias - 1);
	} else {
		pt->top_mask = pt_mask_lg2(ias - 12 - 9 * (*levels - 1));
		pt->va_last = pt_mask_lg2(ias);
	}
	return 0;
}
#define pt_fmt_init x86_64pt_fmt_init

#endif /* IOPT_FMT_X86_64_H */
