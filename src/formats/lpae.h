/* SPDX-License-Identifier: MIT */
/*
 * ARM VMSAv8-64 long-descriptor translation tables, stage 1 or stage 2
 * (hw-facts §4; Arm DDI 0487 as quoted by Linux io-pgtable-arm).
 * Include with LPAE_STAGE defined to 1 or 2.
 *
 * Granule 4K/16K/64K (granule_lg2 12/14/16, bpl = granule_lg2 - 3). Levels
 * from the input size as io-pgtable-arm does (§4.1); stage 2 concatenates
 * up to 16 start tables when the start level would resolve 4 bits or fewer
 * (covers every mandatory case of §4.5). Only the TTBR0 (lower) range.
 *
 * Descriptors (§4.2): bits 1:0 = 11 table (levels > 0) or page (level 0),
 * 01 block. OA in bits 47:granule; with 64K + IOPT_PT_F_LPA, OA bits 51:48
 * sit in descriptor bits 15:12 (§4.6, tables and leaves).
 * Attributes as Linux io-pgtable-arm maps IOMMU_* (§4.7). Contiguous hint
 * (bit 52, §4.4): a run of 16 (4K), 128/32 (16K L3/L2), 32 (64K) entries
 * with the same attributes and a group-aligned OA; each entry keeps its own
 * OA. Dirty state via DBM (§4.8): with IOPT_PT_F_HW_DIRTY writable leaves
 * get DBM=1 and start writable-dirty; clean = S1 set AP[2], S2 clear S2AP W.
 */
#ifndef IOPT_FMT_LPAE_H
#define IOPT_FMT_LPAE_H

#include "pgtable/pt_internal.h"

#if !defined(LPAE_STAGE) || (LPAE_STAGE != 1 && LPAE_STAGE != 2)
#error "define LPAE_STAGE to 1 or 2"
#endif

enum {
	PT_FMT_MAX_LEVELS = 4,
};

#define LPAE_TYPE_MASK  3ull
#define LPAE_TYPE_TABLE 3ull /* and page at level 0 */
#define LPAE_TYPE_BLOCK 1ull
#define LPAE_AF         (1ull << 10)
#define LPAE_NG         (1ull << 11)
#define LPAE_SH_OUTER   (2ull << 8)
#define LPAE_SH_INNER   (3ull << 8)
#define LPAE_S1_AP1     (1ull << 6)  /* unprivileged access */
#define LPAE_S1_AP2     (1ull << 7)  /* read-only */
#define LPAE_S2_R       (1ull << 6)
#define LPAE_S2_W       (1ull << 7)
#define LPAE_DBM        (1ull << 51)
#define LPAE_CONT       (1ull << 52)
#define LPAE_PXN        (1ull << 53)
#define LPAE_UXN        (1ull << 54)
#define LPAE_ADDR       0x0000fffffffff000ull /* bits 47:12 (+15:12 = PA 51:48, LPA) */

/* MAIR indexes as Linux programs them (§4.7). */
#define LPAE_S1_IDX_NC    0ull
#define LPAE_S1_IDX_CACHE 1ull
#define LPAE_S1_IDX_DEV   2ull
#define LPAE_S2_MEM_DEV   0x1ull
#define LPAE_S2_MEM_NC    0x5ull
#define LPAE_S2_MEM_WB    0xfull

/*
 * The granule is a compile-time constant of each instantiation
 * (src/pgtable/lpae_s<stage>_<granule>.c): shifts and masks fold, which
 * measurably helps the lookup and single-page paths.
 */
#if LPAE_GRANULE != 12 && LPAE_GRANULE != 14 && LPAE_GRANULE != 16
#error "define LPAE_GRANULE to 12, 14 or 16"
#endif

static inline unsigned lpaept_granule_lg2(const struct iopt_pt *pt)
{
	(void)pt;
	return LPAE_GRANULE;
}
#define pt_granule_lg2 lpaept_granule_lg2

static inline unsigned lpaept_bpl(const struct iopt_pt *pt)
{
	(void)pt;
	return LPAE_GRANULE - 3;
}
#define pt_bpl lpaept_bpl

/* 52-bit OA (FEAT_LPA) exists only with the 64K granule (§4.6). */
static inline bool lpaept_lpa(const struct iopt_pt *pt)
{
	return LPAE_GRANULE == 16 && (pt->flags & IOPT_PT_F_LPA);
}

static inline uint64_t lpaept_oa_enc(const struct iopt_pt *pt, uint64_t pa)
{
	uint64_t e = pa & LPAE_ADDR & ~pt_mask_lg2(LPAE_GRANULE);

	if (lpaept_lpa(pt))
		e |= ((pa >> 48) & 0xf) << 12;
	return e;
}

static inline uint64_t lpaept_oa_dec(const struct iopt_pt *pt, uint64_t e)
{
	uint64_t pa = e & LPAE_ADDR & ~pt_mask_lg2(LPAE_GRANULE);

	if (lpaept_lpa(pt))
		pa |= ((e >> 12) & 0xf) << 48;
	return pa;
}

static inline bool lpaept_is_table(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	return level && (e & LPAE_TYPE_MASK) == LPAE_TYPE_TABLE;
}
#define pt_is_table lpaept_is_table

static inline uint64_t lpaept_table_pa(const struct iopt_pt *pt, uint64_t e)
{
	return lpaept_oa_dec(pt, e);
}
#define pt_table_pa lpaept_table_pa

static inline uint64_t lpaept_make_table(const struct iopt_pt *pt, uint64_t pa, unsigned level)
{
	(void)level;
	return lpaept_oa_enc(pt, pa) | LPAE_TYPE_TABLE;
}
#define pt_make_table lpaept_make_table

/* log2 of the entries one contiguous hint covers at level (§4.4), 0 = none. */
static inline unsigned lpaept_cont_lg2(const struct iopt_pt *pt, unsigned level)
{
	if (pt->flags & IOPT_PT_F_NO_CONTIG)
		return 0;
	switch (LPAE_GRANULE) {
	case 12:
		return level <= 2 ? 4 : 0;
	case 14:
		return level == 0 ? 7 : level == 1 ? 5 : 0;
	default:
		return level <= 1 ? 5 : 0;
	}
}

static inline unsigned lpaept_leaf_lg2(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	unsigned s = LPAE_GRANULE + (LPAE_GRANULE - 3) * level;

	return (e & LPAE_CONT) ? s + lpaept_cont_lg2(pt, level) : s;
}
#define pt_leaf_lg2 lpaept_leaf_lg2

/* Each entry of a contiguous run has its own OA. */
static inline unsigned lpaept_oa_lg2(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)e;
	return LPAE_GRANULE + (LPAE_GRANULE - 3) * level;
}
#define pt_oa_lg2 lpaept_oa_lg2

static inline uint64_t lpaept_leaf_oa(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	return lpaept_oa_dec(pt, e) & ~pt_mask_lg2(lpaept_oa_lg2(pt, e, level));
}
#define pt_leaf_oa lpaept_leaf_oa

static inline void lpaept_install(const struct iopt_pt *pt, uint64_t *slots, unsigned level,
				  unsigned lg2, uint64_t oa, uint64_t attrs, uint64_t npages)
{
	unsigned s = LPAE_GRANULE + (LPAE_GRANULE - 3) * level;
	uint64_t n = npages << (lg2 - s);
	uint64_t v = attrs | (level ? LPAE_TYPE_BLOCK : LPAE_TYPE_TABLE) | (lg2 > s ? LPAE_CONT : 0);

	if (!lpaept_lpa(pt)) {
		pt_slots_fill(slots, n, v | oa, 1ull << s);
		return;
	}
	for (uint64_t i = 0; i < n; i++)
		pt_store(&slots[i], v | lpaept_oa_enc(pt, oa + (i << s)));
}
#define pt_install lpaept_install

static inline uint64_t lpaept_leaf_attrs(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)level;
	return e & ~(LPAE_ADDR | LPAE_TYPE_MASK | LPAE_CONT);
}
#define pt_leaf_attrs lpaept_leaf_attrs

static inline int lpaept_prot_attrs(const struct iopt_pt *pt, unsigned prot, uint64_t *attrs)
{
	uint64_t a = LPAE_AF;
	bool w = prot & IOPT_PROT_WRITE;

	if (!(prot & (IOPT_PROT_READ | IOPT_PROT_WRITE)))
		return -EINVAL;
	if ((prot & IOPT_PROT_MMIO) && (prot & IOPT_PROT_CACHE))
		return -EINVAL; /* device memory cannot also be cacheable */
#if LPAE_STAGE == 1
	a |= LPAE_NG;
	if (!w)
		a |= LPAE_S1_AP2; /* write-only is not expressible: becomes RW */
	if (!(prot & IOPT_PROT_PRIV))
		a |= LPAE_S1_AP1;
	if (prot & IOPT_PROT_MMIO)
		a |= LPAE_S1_IDX_DEV << 2;
	else if (prot & IOPT_PROT_CACHE)
		a |= (LPAE_S1_IDX_CACHE << 2) | LPAE_SH_INNER;
	else
		a |= (LPAE_S1_IDX_NC << 2) | LPAE_SH_OUTER;
#else
	if (prot & IOPT_PROT_PRIV)
		return -EINVAL; /* no privilege distinction at stage 2 */
	if (prot & IOPT_PROT_READ)
		a |= LPAE_S2_R;
	if (w)
		a |= LPAE_S2_W;
	if (prot & IOPT_PROT_MMIO)
		a |= LPAE_S2_MEM_DEV << 2;
	else if (prot & IOPT_PROT_CACHE)
		a |= (LPAE_S2_MEM_WB << 2) | LPAE_SH_INNER;
	else
		a |= (LPAE_S2_MEM_NC << 2) | LPAE_SH_OUTER;
#endif
	if (prot & IOPT_PROT_NOEXEC)
		a |= LPAE_PXN | LPAE_UXN;
	if (w && (pt->flags & IOPT_PT_F_HW_DIRTY))
		a |= LPAE_DBM; /* starts writable-dirty (§4.8) */
	*attrs = a;
	return 0;
}
#define pt_prot_attrs lpaept_prot_attrs

static inline uint64_t lpaept_fmt_sizes(const struct iopt_pt *pt, unsigned level)
{
	unsigned g = LPAE_GRANULE, s = g + (LPAE_GRANULE - 3) * level, c = lpaept_cont_lg2(pt, level);
	unsigned maxlvl = g == 12 ? 2 : 1;
	uint64_t sizes = 0;

	/* 64K + 52-bit OA adds 4 TiB blocks at level 2 (§4.1). */
	if (g == 16 && lpaept_lpa(pt) && pt->oas > 48)
		maxlvl = 2;
	if (level > maxlvl || s > pt->oas)
		return 0;
	sizes = 1ull << s;
	if (c && s + c <= pt->oas && s + c <= pt->ias)
		sizes |= 1ull << (s + c);
	return sizes;
}
#define pt_fmt_sizes lpaept_fmt_sizes

static inline bool lpaept_is_dirty(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
#if LPAE_STAGE == 1
	return (e & (LPAE_S1_AP2 | LPAE_DBM)) == LPAE_DBM;
#else
	return (e & (LPAE_S2_W | LPAE_DBM)) == (LPAE_S2_W | LPAE_DBM);
#endif
}
#define pt_is_dirty lpaept_is_dirty

static inline void lpaept_clean(const struct iopt_pt *pt, uint64_t *slot)
{
	(void)pt;
	if (!(pt_load(slot) & LPAE_DBM))
		return;
#if LPAE_STAGE == 1
	__atomic_fetch_or(slot, LPAE_S1_AP2, __ATOMIC_RELAXED);
#else
	__atomic_fetch_and(slot, ~LPAE_S2_W, __ATOMIC_RELAXED);
#endif
}
#define pt_clean lpaept_clean

static inline int lpaept_fmt_init(struct iopt_pt *pt, const struct iopt_pt_cfg *cfg,
				  unsigned *levels)
{
	unsigned g = cfg->granule_lg2 ? cfg->granule_lg2 : 12, ias = cfg->ias;

	if (g != LPAE_GRANULE)
		return -EINVAL; /* api.c picks the instantiation by granule */
	bool lpa = cfg->flags & IOPT_PT_F_LPA;

	if (g != 12 && g != 14 && g != 16)
		return -EINVAL;
	if (lpa && g != 16)
		return -EINVAL; /* LPA2 (4K/16K 52-bit) is not implemented (§4.6) */
	if (cfg->flags & IOPT_PT_F_SIGN_EXTEND)
		return -EINVAL;
	pt->granule_lg2 = g;
	pt->bpl = g - 3;
	pt->oas = cfg->oas ? cfg->oas : (lpa ? 52 : 48);
	if (pt->oas > (lpa ? 52u : 48u) || pt->oas < 32 || ias > (lpa ? 52u : 48u) ||
	    ias < g + pt->bpl)
		return -EINVAL;
	/* io-pgtable-arm: levels = ceil((ias - g) / bpl) (§4.1). */
	unsigned n = (ias - g + pt->bpl - 1) / pt->bpl;
	unsigned top_bits = ias - g - pt->bpl * (n - 1);

#if LPAE_STAGE == 2
	if (n > 1 && top_bits <= 4) {
		n--;
		top_bits += pt->bpl; /* 2^(old top bits) concatenated tables (§4.5) */
	}
#endif
	if (n > PT_FMT_MAX_LEVELS)
		return -EINVAL;
	*levels = n;
	pt->max_levels = n;
	pt->top_mask = pt_mask_lg2(top_bits);
	pt->root_size = (size_t)8 << top_bits;
	if (pt->root_size < ((size_t)1 << g))
		pt->root_size = (size_t)1 << g;
	pt->oa_last = pt_mask_lg2(pt->oas);
	pt->va_last = pt_mask_lg2(ias);
	pt->fmt_u = LPAE_STAGE;
	return 0;
}
#define pt_fmt_init lpaept_fmt_init

#endif /* IOPT_FMT_LPAE_H */
