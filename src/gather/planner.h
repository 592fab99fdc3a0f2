/* SPDX-License-Identifier: MIT */
/*
 * Internal helpers shared by the three invalidation planners (planner.c).
 * Page numbers here are in "units" (4 KiB for VT-d/AMD, the SMMU granule),
 * ranges are inclusive.
 */
#ifndef IOPT_GATHER_PLANNER_H
#define IOPT_GATHER_PLANNER_H

#include <iopt/invalidate.h>

/* An inclusive range of units. */
struct _iopt_urange {
	uint64_t lo;
	uint64_t hi;
};

/* A naturally aligned block of 2^order units starting at pg. */
struct _iopt_blk {
	uint64_t pg;
	unsigned int order;
};

/* ---- planner.c ---- */

/*
 * Validate @req for unit size 2^@unit_shift and copy its ranges, sorted and
 * with touching ranges merged, into @ur (IOPT_INV_MAX_RANGES entries) in
 * units. Return: number of ranges, or -EINVAL.
 */
int _iopt_inv_prepare(const struct iopt_inv_req *req, unsigned int unit_shift,
		      struct _iopt_urange *ur);

/* Effective budget of @pol (0 means the default), or 0 when it is invalid. */
unsigned int _iopt_inv_budget(const struct iopt_inv_policy *pol);

/* Overshoot bound of @pol in units (floor). */
uint64_t _iopt_inv_over_units(const struct iopt_inv_policy *pol, unsigned int unit_shift);

/*
 * Minimum number of naturally aligned blocks of at most 2^@kmax units whose
 * union contains [@a, @e] with at most @over extra units (ties: least
 * overshoot). Sets *@lo and *@hi to the union. Counts saturate at @limit + 1.
 */
uint64_t _iopt_blk_choose(uint64_t a, uint64_t e, unsigned int kmax, uint64_t over,
			  uint64_t limit, uint64_t *lo, uint64_t *hi);

/*
 * Plan blocks for all @n ranges (each with its own @over bound), dropping
 * blocks contained in an already planned one. Writes at most @limit blocks
 * to @b. Return: block count, or @limit + 1 when the budget is exceeded.
 */
uint64_t _iopt_blk_plan(const struct _iopt_urange *ur, int n, unsigned int kmax, uint64_t over,
			uint64_t limit, struct _iopt_blk *b);

/*
 * Inline plans for the DMA layer. Every vendor writes the one command that
 * invalidates a naturally aligned block as "block base | fixed bits" (VT-d
 * PSI ADDR + AM, AMD ADDR + S size code, SMMU VA/IPA + TG/TTL/LEAF, dw0
 * independent of the address), so one planner run per block size yields
 * the command for every base. Bases at or above _IOPT_INV_TMPL_LIMIT are
 * left to the planner (SMMU stage 2 addresses only 52 bits).
 */
#define _IOPT_INV_TMPL_LIMIT (1ull << 52)

/*
 * Template of the leaf-only plan (stride 2^@shift) of one block of
 * 2^@order units of 2^@shift bytes: *@tmpl such that the planner's plan
 * for the block at any aligned base below _IOPT_INV_TMPL_LIMIT is the one
 * command { tmpl->w[0], tmpl->w[1] | base }. Derived by planning the lowest
 * and the highest such block and checking that they agree.
 * Return: true, or false when the plan is not one command of that form
 * (no VT-d PSI, a block above MAMV, SMMU without range invalidation for
 * more than one granule, a target the planner refuses).
 */
bool _iopt_inv_block_tmpl(const struct iopt_inv_target *t, unsigned int shift, unsigned int order,
			  struct iopt_inv_cmd *tmpl);

/* A SMMU range term: n x 2^scale units, 1 <= n <= 32, scale <= 31. */
struct _iopt_run {
	uint64_t pg;
	unsigned int num; /* n - 1 */
	unsigned int scale;
};

/*
 * Fewest-term SMMU run decomposition of @pages units starting at @pg
 * (Linux's loop, hw-facts 5.3: each term takes the lowest set bit as SCALE
 * and the next 5 bits as NUM+1). @no_single: no NUM = SCALE = 0 term
 * (@pages must then be > 1). Writes up to @limit terms to @r (may be NULL).
 * Return: term count, saturated at @limit + 1.
 */
uint64_t _iopt_run_split(uint64_t pg, uint64_t pages, bool no_single, uint64_t limit,
			 struct _iopt_run *r);

/*
 * Page count P' >= @pages, P' - pages <= @over, with the fewest terms (ties:
 * smallest P'). @no_single forbids a term with NUM = SCALE = 0 (non-leaf
 * range commands with TTL = 0, the erratum case Linux avoids); a lone
 * granule then becomes two even when @over is 0.
 * Return: the chosen P' (0 on overflow of the 64-bit count).
 */
uint64_t _iopt_run_choose(uint64_t pages, uint64_t over, bool no_single, uint64_t limit);

static inline unsigned int _iopt_ctz(uint64_t x)
{
	return x ? (unsigned int)__builtin_ctzll(x) : 64;
}

static inline unsigned int _iopt_fls(uint64_t x) /* index of highest set bit; x != 0 */
{
	return 63u - (unsigned int)__builtin_clzll(x);
}

/* ---- planner_{vtd,amd,smmu}.c ---- */

/* Capability and scope validation of each vendor: 0 or -EINVAL. */
int _iopt_inv_check_vtd(const struct iopt_vtd_inv_caps *caps, const struct iopt_vtd_inv_scope *scope);
/* A valid VT-d scope the caps cannot serve: 0 or -EOPNOTSUPP (after the -EINVAL checks). */
int _iopt_inv_support_vtd(const struct iopt_vtd_inv_caps *caps, const struct iopt_vtd_inv_scope *scope);
int _iopt_inv_check_amd(const struct iopt_amd_inv_caps *caps, const struct iopt_amd_inv_scope *scope);
int _iopt_inv_check_smmu(const struct iopt_smmu_inv_caps *caps,
			 const struct iopt_smmu_inv_scope *scope);

/* The one scope-wide command of each vendor (validated arguments). */
void _iopt_inv_scope_vtd(const struct iopt_vtd_inv_caps *caps,
			 const struct iopt_vtd_inv_scope *scope, struct iopt_inv_cmd *out);
void _iopt_inv_scope_amd(const struct iopt_amd_inv_scope *scope, bool leaf_only,
			 struct iopt_inv_cmd *out);
void _iopt_inv_scope_smmu(const struct iopt_smmu_inv_scope *scope, struct iopt_inv_cmd *out);

#endif /* IOPT_GATHER_PLANNER_H */
