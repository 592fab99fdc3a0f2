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

#include "pgtable/pt_internal.h"

enum {
	X86_64_GRANULE_LG2 = 12,
	X86_64_BPL = 9,
	PT_FMT_MAX_LEVELS = 5,
};

enum {
	X86_64_P = 1ull << 0,
	X86_64_RW = 1ull << 1,
	X86_64_US = 1ull << 2,
	X86_64_PWT = 1ull << 3,
	X86_64_PCD = 1ull << 4,
	X86_64_A = 1ull << 5,
	X86_64_D = 1ull << 6,
	X86_64_PS = 1ull << 7, /* PAT in a level-0 PTE: never written */
};
#define X86_64_XD   (1ull << 63)
#define X86_64_ADDR 0x000ffffffffff000ull /* bits 51:12 */

static inline unsigned x86_64pt_granule_lg2(const struct iopt_pt *pt)
{
	(void)pt;
	return X86_64_GRANULE_LG2;
}
#define pt_granule_lg2 x86_64pt_granule_lg2

static inline unsigned x86_64pt_bpl(const struct iopt_pt *pt)
{
	(void)pt;
	return X86_64_BPL;
}
#define pt_bpl x86_64pt_bpl

static inline bool x86_64pt_is_table(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	return level && !(e & X86_64_PS);
}
#define pt_is_table x86_64pt_is_table

static inline uint64_t x86_64pt_table_pa(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & X86_64_ADDR;
}
#define pt_table_pa x86_64pt_table_pa

static inline uint64_t x86_64pt_make_table(const struct iopt_pt *pt, uint64_t pa, unsigned level)
{
	(void)pt;
	(void)level;
	return pa | X86_64_P | X86_64_RW | X86_64_US | X86_64_A;
}
#define pt_make_table x86_64pt_make_table

static inline unsigned x86_64pt_leaf_lg2(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)e;
	return X86_64_GRANULE_LG2 + X86_64_BPL * level;
}
#define pt_leaf_lg2 x86_64pt_leaf_lg2
#define pt_oa_lg2   x86_64pt_leaf_lg2

/* Large leaves: bit 12 is PAT, address starts at the page size (§3.1). */
static inline uint64_t x86_64pt_leaf_oa(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	return e & X86_64_ADDR & ~pt_mask_lg2(X86_64_GRANULE_LG2 + X86_64_BPL * level);
}
#define pt_leaf_oa x86_64pt_leaf_oa

static inline void x86_64pt_install(const struct iopt_pt *pt, uint64_t *slots, unsigned level,
				    unsigned lg2, uint64_t oa, uint64_t attrs, uint64_t npages)
{
	uint64_t v = oa | attrs | (level ? X86_64_PS : 0);

	(void)pt;
	pt_slots_fill(slots, npages, v, 1ull << lg2);
}
#define pt_install x86_64pt_install

static inline uint64_t x86_64pt_leaf_attrs(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)level;
	return e & ~(X86_64_ADDR | X86_64_PS);
}
#define pt_leaf_attrs x86_64pt_leaf_attrs

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

static inline uint64_t x86_64pt_fmt_sizes(const struct iopt_pt *pt, unsigned level)
{
	unsigned lg2 = X86_64_GRANULE_LG2 + X86_64_BPL * level;

	if (level > 2 || lg2 > pt->oas)
		return 0;
	return 1ull << lg2;
}
#define pt_fmt_sizes x86_64pt_fmt_sizes

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

	pt->granule_lg2 = X86_64_GRANULE_LG2;
	pt->bpl = X86_64_BPL;
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
