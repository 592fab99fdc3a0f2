/* SPDX-License-Identifier: MIT */
/*
 * AMD IOMMU v1 host page table (hw-facts §2; AMD IOMMU spec §2.2.3,
 * Tables 14/15 as cited by Linux).
 *
 * 1..6 levels of 512-entry 4 KiB tables; no sign extension, the full 64-bit
 * IOVA space with 6 levels (the top then uses 128 entries, §2.1). The table
 * starts with cfg.start_levels levels and grows on demand (dynamic top:
 * a new top whose entry 0 points at the old root; the owner's change_top
 * hook gets the new root and mode, §7.2).
 *
 * Entries: PR (bit 0), D (6), NextLevel (11:9), address (51:12), FC (60),
 * IR (61), IW (62). IR/IW AND along the walk, so tables carry IR|IW and the
 * leaf the real permission (§2.2). NextLevel (§2.3): 1..6 = table of that
 * (1-based) level, i.e. our 0-based level of the entry itself; 0 = leaf of
 * the level's natural size; 7 = leaf whose size is coded in the address:
 * for 2^n bytes, address bits 12..n-2 are 1 and bit n-1 is 0 (§2.4). Such
 * a page covers 2^(n - shift) slots of its level, written identically in
 * every slot; the level is floor((n - 12) / 9) and a natural size always
 * uses NextLevel 0 at its own level. 512 GiB is never used (erratum); the
 * top (6th) level holds no leaves; sizes stop at 2^51 (52-bit OA).
 * Hardware may set D in any copy: dirty = OR of copies, clean = all copies.
 */
#ifndef IOPT_FMT_AMD_V1_H
#define IOPT_FMT_AMD_V1_H

#include "pgtable/pt_internal.h"

enum {
	AMDV1_GRANULE_LG2 = 12,
	AMDV1_BPL = 9,
	PT_FMT_MAX_LEVELS = 6,
};
#define PT_FMT_DYNAMIC_TOP 1

#define AMDV1_PR        (1ull << 0)
#define AMDV1_A         (1ull << 5)
#define AMDV1_D         (1ull << 6)
#define AMDV1_NL_SHIFT  9
#define AMDV1_NL_MASK   (7ull << 9)
#define AMDV1_NL_SIZED  (7ull << 9)
#define AMDV1_ADDR      0x000ffffffffff000ull /* bits 51:12 */
#define AMDV1_FC        (1ull << 60)
#define AMDV1_IR        (1ull << 61)
#define AMDV1_IW        (1ull << 62)

static inline unsigned amdv1pt_granule_lg2(const struct iopt_pt *pt)
{
	(void)pt;
	return AMDV1_GRANULE_LG2;
}
#define pt_granule_lg2 amdv1pt_granule_lg2

static inline unsigned amdv1pt_bpl(const struct iopt_pt *pt)
{
	(void)pt;
	return AMDV1_BPL;
}
#define pt_bpl amdv1pt_bpl

static inline bool amdv1pt_is_table(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	uint64_t nl = e & AMDV1_NL_MASK;

	(void)pt;
	return level && nl && nl != AMDV1_NL_SIZED;
}
#define pt_is_table amdv1pt_is_table

static inline uint64_t amdv1pt_table_pa(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & AMDV1_ADDR;
}
#define pt_table_pa amdv1pt_table_pa

static inline uint64_t amdv1pt_make_table(const struct iopt_pt *pt, uint64_t pa, unsigned level)
{
	(void)pt;
	return pa | AMDV1_PR | AMDV1_IR | AMDV1_IW | ((uint64_t)level << AMDV1_NL_SHIFT);
}
#define pt_make_table amdv1pt_make_table

static inline unsigned amdv1pt_leaf_lg2(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	if ((e & AMDV1_NL_MASK) == AMDV1_NL_SIZED) {
		/* Lowest 0 bit k at or above 12 → size 2^(k+1) (§2.4). */
		uint64_t ones = ~e >> 12;

		return 12 + (unsigned)__builtin_ctzll(ones | (1ull << 51)) + 1;
	}
	return AMDV1_GRANULE_LG2 + AMDV1_BPL * level;
}
#define pt_leaf_lg2 amdv1pt_leaf_lg2
/* Copies are identical: the OA is the whole page's base. */
#define pt_oa_lg2 amdv1pt_leaf_lg2

static inline uint64_t amdv1pt_leaf_oa(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	return e & AMDV1_ADDR & ~pt_mask_lg2(amdv1pt_leaf_lg2(pt, e, level));
}
#define pt_leaf_oa amdv1pt_leaf_oa

static inline void amdv1pt_install(const struct iopt_pt *pt, uint64_t *slots, unsigned level,
				   unsigned lg2, uint64_t oa, uint64_t attrs, uint64_t npages)
{
	unsigned s = AMDV1_GRANULE_LG2 + AMDV1_BPL * level;

	(void)pt;
	if (lg2 == s) {
		pt_slots_fill(slots, npages, oa | attrs, 1ull << lg2);
		return;
	}
	uint64_t n = 1ull << (lg2 - s);
	uint64_t code = ((1ull << (lg2 - 1)) - 1) & ~0xfffull;

	for (uint64_t p = 0; p < npages; p++) {
		uint64_t v = (oa + (p << lg2)) | code | AMDV1_NL_SIZED | attrs;

		pt_slots_fill(&slots[p * n], n, v, 0); /* identical copies (§2.4) */
	}
}
#define pt_install amdv1pt_install

static inline uint64_t amdv1pt_leaf_attrs(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)level;
	return e & ~(AMDV1_ADDR | AMDV1_NL_MASK);
}
#define pt_leaf_attrs amdv1pt_leaf_attrs

static inline int amdv1pt_prot_attrs(const struct iopt_pt *pt, unsigned prot, uint64_t *attrs)
{
	uint64_t a = AMDV1_PR;

	(void)pt;
	if (!(prot & (IOPT_PROT_READ | IOPT_PROT_WRITE)))
		return -EINVAL;
	if (prot & IOPT_PROT_READ)
		a |= AMDV1_IR;
	if (prot & IOPT_PROT_WRITE)
		a |= AMDV1_IW;
	if (prot & IOPT_PROT_CACHE)
		a |= AMDV1_FC;
	*attrs = a;
	return 0;
}
#define pt_prot_attrs amdv1pt_prot_attrs

static inline uint64_t amdv1pt_fmt_sizes(const struct iopt_pt *pt, unsigned level)
{
	unsigned s = AMDV1_GRANULE_LG2 + AMDV1_BPL * level;
	uint64_t sizes = 0;

	if (level >= 5)
		return 0; /* the 6th level holds no leaves (§2.4) */
	for (unsigned lg2 = s; lg2 < s + AMDV1_BPL && lg2 <= 51; lg2++)
		if (lg2 != 39 && lg2 <= pt->oas && lg2 <= pt->ias)
			sizes |= 1ull << lg2;
	return sizes;
}
#define pt_fmt_sizes amdv1pt_fmt_sizes

static inline bool amdv1pt_is_dirty(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & AMDV1_D;
}
#define pt_is_dirty amdv1pt_is_dirty

static inline void amdv1pt_clean(const struct iopt_pt *pt, uint64_t *slot)
{
	(void)pt;
	__atomic_fetch_and(slot, ~(uint64_t)AMDV1_D, __ATOMIC_RELAXED);
}
#define pt_clean amdv1pt_clean

static inline int amdv1pt_fmt_init(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg,
				   unsigned *levels)
{
	unsigned ias = cfg->ias;

	pt->granule_lg2 = AMDV1_GRANULE_LG2;
	pt->bpl = AMDV1_BPL;
	pt->oas = cfg->oas ? cfg->oas : 52;
	if (pt->oas > 52 || pt->oas < 12 || ias < 21 || ias > 64)
		return -EINVAL;
	if ((cfg->granule_lg2 && cfg->granule_lg2 != 12) || (cfg->flags & IOPT_PT_F_SIGN_EXTEND) ||
	    cfg->start_levels > 6)
		return -EINVAL;
	pt->max_levels = (ias - 12 + 8) / 9;
	if (pt->max_levels > 6)
		pt->max_levels = 6;
	*levels = cfg->start_levels ? cfg->start_levels : 3;
	if (*levels > pt->max_levels)
		*levels = pt->max_levels;
	pt->root_size = 4096;
	pt->oa_last = pt_mask_lg2(pt->oas);
	pt->top_mask = 511; /* the index is range-checked; 6 levels: bits 63:57 */
	pt->va_last = pt_mask_lg2(ias);
	return 0;
}
#define pt_fmt_init amdv1pt_fmt_init

#endif /* IOPT_FMT_AMD_V1_H */
