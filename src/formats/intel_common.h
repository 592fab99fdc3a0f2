/* SPDX-License-Identifier: MIT */
/*
 * The entry geometry that Intel VT-d second stage and x86-64 paging share
 * (hw-facts §1.2, §3.1): 4 KiB tables of 512 entries, a large leaf above
 * level 0 marked by PS (bit 7), the address in bits 51:12 with the bits
 * below a large page's size not part of it. Each format header includes
 * this and supplies what differs: table bits, permissions, dirty state.
 */
#ifndef IOPT_FMT_INTEL_COMMON_H
#define IOPT_FMT_INTEL_COMMON_H

#include "pgtable/pt_internal.h"

enum {
	INTEL_GRANULE_LG2 = 12,
	INTEL_BPL = 9,
	PT_FMT_MAX_LEVELS = 5,
};

#define INTEL_PS   (1ull << 7)
#define INTEL_ADDR 0x000ffffffffff000ull /* bits 51:12 */

static inline unsigned intelpt_granule_lg2(const struct iopt_pt *pt)
{
	(void)pt;
	return INTEL_GRANULE_LG2;
}
#define pt_granule_lg2 intelpt_granule_lg2

static inline unsigned intelpt_bpl(const struct iopt_pt *pt)
{
	(void)pt;
	return INTEL_BPL;
}
#define pt_bpl intelpt_bpl

/* 4 KiB, 2 MiB and 1 GiB leaves, as far as the output size reaches. */
static inline uint64_t intelpt_fmt_sizes(const struct iopt_pt *pt, unsigned level)
{
	unsigned lg2 = INTEL_GRANULE_LG2 + INTEL_BPL * level;

	if (level > 2 || lg2 > pt->oas)
		return 0;
	return 1ull << lg2;
}
#define pt_fmt_sizes intelpt_fmt_sizes

static inline bool intelpt_is_table(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	return level && !(e & INTEL_PS);
}
#define pt_is_table intelpt_is_table

static inline uint64_t intelpt_table_pa(const struct iopt_pt *pt, uint64_t e)
{
	(void)pt;
	return e & INTEL_ADDR;
}
#define pt_table_pa intelpt_table_pa

static inline unsigned intelpt_leaf_lg2(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)e;
	return INTEL_GRANULE_LG2 + INTEL_BPL * level;
}
#define pt_leaf_lg2 intelpt_leaf_lg2
#define pt_oa_lg2   intelpt_leaf_lg2

/* Bits below a large page are reserved (VT-d) or PAT (x86 bit 12): not address. */
static inline uint64_t intelpt_leaf_oa(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	return e & INTEL_ADDR & ~pt_mask_lg2(INTEL_GRANULE_LG2 + INTEL_BPL * level);
}
#define pt_leaf_oa intelpt_leaf_oa

static inline void intelpt_install(const struct iopt_pt *pt, uint64_t *slots, unsigned level,
				   unsigned lg2, uint64_t oa, uint64_t attrs, uint64_t npages)
{
	uint64_t v = oa | attrs | (level ? INTEL_PS : 0);

	(void)pt;
	pt_slots_fill(slots, npages, v, 1ull << lg2);
}
#define pt_install intelpt_install

static inline uint64_t intelpt_leaf_attrs(const struct iopt_pt *pt, uint64_t e, unsigned level)
{
	(void)pt;
	(void)level;
	return e & ~(INTEL_ADDR | INTEL_PS);
}
#define pt_leaf_attrs intelpt_leaf_attrs

#endif /* IOPT_FMT_INTEL_COMMON_H */
