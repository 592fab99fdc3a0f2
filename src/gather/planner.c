/* SPDX-License-Identifier: MIT */
/*
 * Shared planner arithmetic: request validation, the minimum aligned-block
 * cover used by VT-d PSI and AMD S-bit commands, and the SMMU range-term
 * split. docs/INVALIDATION.md explains the policy and why it is optimal.
 */
#include "gather/planner.h"

static uint64_t _sat_add(uint64_t a, uint64_t b, uint64_t cap)
{
	uint64_t s = a + b;
	return (s < a || s > cap) ? cap : s;
}

int _iopt_inv_prepare(const struct iopt_inv_req *req, unsigned int unit_shift,
		      struct _iopt_urange *ur)
{
	uint64_t unit = 1ull << unit_shift;
	size_t n;

	if (!req || !req->ranges || req->nr_ranges == 0 || req->nr_ranges > IOPT_INV_MAX_RANGES)
		return -EINVAL;
	if (req->stride < 4096 || req->stride < unit || (req->stride & (req->stride - 1)))
		return -EINVAL;
	n = req->nr_ranges;
	for (size_t i = 0; i < n; i++) {
		const struct iopt_inv_range *r = &req->ranges[i];
		/* end + 1 wraps to 0 for the last byte of the space: still aligned. */
		if (r->end < r->start || (r->start & (req->stride - 1)) ||
		    ((r->end + 1) & (req->stride - 1)))
			return -EINVAL;
		/* Insertion sort by start: n <= IOPT_INV_MAX_RANGES. */
		struct _iopt_urange u = { r->start >> unit_shift, r->end >> unit_shift };
		size_t j = i;
		while (j > 0 && ur[j - 1].lo > u.lo) {
			ur[j] = ur[j - 1];
			j--;
		}
		ur[j] = u;
	}
	size_t m = 0;
	for (size_t i = 1; i < n; i++) {
		if (ur[i].lo <= ur[m].hi)
			return -EINVAL; /* overlapping: the gather promised disjoint ranges */
		if (ur[i].lo == ur[m].hi + 1)
			ur[m].hi = ur[i].hi; /* touching: one range plans at least as well */
		else
			ur[++m] = ur[i];
	}
	return (int)(m + 1);
}

unsigned int _iopt_inv_budget(const struct iopt_inv_policy *pol)
{
	if (!pol || pol->max_cmds == 0)
		return IOPT_INV_DEFAULT_BUDGET;
	return pol->max_cmds <= IOPT_INV_MAX_BUDGET ? pol->max_cmds : 0;
}

uint64_t _iopt_inv_over_units(const struct iopt_inv_policy *pol, unsigned int unit_shift)
{
	return pol ? pol->max_overshoot >> unit_shift : 0;
}

/*
 * Blocks needed to tile x units that end (left side) or start (right side)
 * at a 2^h boundary with x <= 2^h: one per set bit, a bit above kmax splits
 * into 2^(bit - kmax) blocks of the largest allowed size.
 */
static uint64_t _tile_count(uint64_t x, unsigned int kmax, uint64_t cap)
{
	uint64_t c = 0;
	while (x) {
		unsigned int i = _iopt_ctz(x);
		x &= x - 1;
		uint64_t add = i <= kmax ? 1 : (i - kmax >= 63 ? cap : 1ull << (i - kmax));
		c = _sat_add(c, add, cap);
	}
	return c;
}

/*
 * Why this is the optimum: blocks are aligned, so two blocks nest or are
 * disjoint, and a minimal cover has disjoint blocks whose union is one
 * interval [a', b') around [a, e]. Its leftmost block (2^j <= 2^kmax units)
 * contains a, so a' = a rounded down to 2^j; likewise b' = e+1 rounded up.
 * Let h be the highest bit where a and e differ and m = e with bits below h
 * cleared: the only 2^h boundary in (a, e]. Unless one 2^(h+1) block covers
 * everything, no block crosses m, so the cost splits into tiling [a', m)
 * and [m, b'), each exactly _tile_count (greedy tiling is optimal for one
 * interval). Enumerating every j on both sides is therefore exhaustive.
 */
uint64_t _iopt_blk_choose(uint64_t a, uint64_t e, unsigned int kmax, uint64_t over,
			  uint64_t limit, uint64_t *lo, uint64_t *hi)
{
	uint64_t cap = limit + 1, best = UINT64_MAX, best_ov = UINT64_MAX;
	uint64_t lc[65], lov[65], la[65], rc[65], rov[65], rb[65];
	unsigned int nl = 0, nr = 0;

	if (a == e) {
		*lo = *hi = a;
		return 1;
	}
	unsigned int h = _iopt_fls(a ^ e);
	uint64_t m = e & ~((1ull << h) - 1), b = e + 1;
	unsigned int jmax = h < kmax ? h : kmax;

	if (h + 1 <= kmax) {
		uint64_t ov = (1ull << (h + 1)) - (b - a);
		if (ov <= over) {
			best = 1;
			best_ov = ov;
			*lo = m - (1ull << h);
			*hi = m + (1ull << h) - 1;
		}
	}
	/*
	 * Distinct a' = a rounded down to 2^j (j <= jmax) come from clearing
	 * a's set bits below jmax one by one, lowest first; likewise b' = b
	 * rounded up comes from carrying b's lowest set bits. Overshoot only
	 * grows along both walks, so each stops at the bound.
	 */
	for (uint64_t ap = a;;) {
		la[nl] = ap;
		lov[nl] = a - ap;
		lc[nl++] = _tile_count(m - ap, kmax, cap);
		if (!ap || _iopt_ctz(ap) >= jmax)
			break;
		ap &= ap - 1;
		if (a - ap > over)
			break;
	}
	for (uint64_t bp = b;;) {
		rb[nr] = bp;
		rov[nr] = bp - b;
		rc[nr++] = _tile_count(bp - m, kmax, cap);
		if (_iopt_ctz(bp) >= jmax)
			break;
		bp += 1ull << _iopt_ctz(bp);
		if (bp - b > over)
			break;
	}
	for (unsigned int i = 0; i < nl; i++) {
		for (unsigned int k = 0; k < nr; k++) {
			uint64_t ov = lov[i] + rov[k];
			if (ov > over)
				break; /* rov grows with k */
			uint64_t c = _sat_add(lc[i], rc[k], cap);
			if (c < best || (c == best && ov < best_ov)) {
				best = c;
				best_ov = ov;
				*lo = la[i];
				*hi = rb[k] - 1;
			}
		}
	}
	return best;
}

/* Greedy tiling of [lo, hi] with blocks of at most 2^kmax units. */
static uint64_t _blk_emit(uint64_t lo, uint64_t hi, unsigned int kmax, uint64_t limit,
			  struct _iopt_blk *b, uint64_t nb)
{
	uint64_t x = lo;
	for (;;) {
		unsigned int k = _iopt_ctz(x);
		unsigned int f = _iopt_fls(hi - x + 1);
		if (k > f)
			k = f;
		if (k > kmax)
			k = kmax;
		struct _iopt_blk nbk = { x, k };
		uint64_t last = x + ((1ull << k) - 1);
		/* Aligned blocks nest or are disjoint: drop what the new one contains. */
		while (nb && b[nb - 1].pg >= x && b[nb - 1].pg <= last)
			nb--;
		if (!(nb && b[nb - 1].pg <= x &&
		      last <= b[nb - 1].pg + ((1ull << b[nb - 1].order) - 1))) {
			if (nb == limit)
				return limit + 1;
			b[nb++] = nbk;
		}
		if (last >= hi)
			return nb;
		x = last + 1;
	}
}

uint64_t _iopt_blk_plan(const struct _iopt_urange *ur, int n, unsigned int kmax, uint64_t over,
			uint64_t limit, struct _iopt_blk *b)
{
	uint64_t total = 0, nb = 0, lo[IOPT_INV_MAX_RANGES], hi[IOPT_INV_MAX_RANGES];

	/*
	 * Fast path, the common DMA unmap: one range that is itself a naturally
	 * aligned block the encoding allows is its own minimal, exact plan.
	 */
	uint64_t units = ur[0].hi - ur[0].lo + 1;
	if (n == 1 && limit && units && !(units & (units - 1)) && !(ur[0].lo & (units - 1)) &&
	    (unsigned int)_iopt_ctz(units) <= kmax) {
		b[0] = (struct _iopt_blk){ ur[0].lo, (unsigned int)_iopt_ctz(units) };
		return 1;
	}
	/* Count first so an over-budget plan costs no emission. */
	for (int i = 0; i < n; i++) {
		total = _sat_add(total, _iopt_blk_choose(ur[i].lo, ur[i].hi, kmax, over, limit,
							 &lo[i], &hi[i]),
				 limit + 1);
		if (total > limit)
			return limit + 1;
	}
	for (int i = 0; i < n; i++) {
		nb = _blk_emit(lo[i], hi[i], kmax, limit, b, nb);
		if (nb > limit)
			return limit + 1;
	}
	return nb;
}

static uint64_t _run_greedy(uint64_t pg, uint64_t pages, uint64_t c, uint64_t limit,
			    struct _iopt_run *r)
{
	while (pages) {
		unsigned int s = _iopt_ctz(pages);
		uint64_t n;
		if (s > 31) { /* SCALE is 5 bits: take up to 32 chunks of 2^31 */
			s = 31;
			n = pages >> 31;
			if (n > 32)
				n = 32;
		} else {
			n = (pages >> s) & 31; /* bit s is set, so n is odd, 1..31 */
		}
		if (c == limit)
			return limit + 1;
		if (r)
			r[c] = (struct _iopt_run){ pg, (unsigned int)(n - 1), s };
		c++;
		pg += n << s;
		pages -= n << s;
	}
	return c;
}

uint64_t _iopt_run_split(uint64_t pg, uint64_t pages, bool no_single, uint64_t limit,
			 struct _iopt_run *r)
{
	/*
	 * Greedy's first term is NUM = SCALE = 0 exactly when pages % 32 == 1.
	 * Then start with an s=0 term of n = 2..31 granules instead (the rest
	 * is even modulo 32 never 1, so greedy is safe for it) and keep the n
	 * whose remainder splits into the fewest terms.
	 */
	if (!no_single || (pages & 31) != 1 || pages == 1)
		return _run_greedy(pg, pages, 0, limit, r);
	uint64_t best_n = 2, best_c = UINT64_MAX;
	for (uint64_t n = 2; n <= 31 && n < pages; n++) {
		uint64_t c = _run_greedy(0, pages - n, 0, limit, NULL);
		if (c < best_c) {
			best_c = c;
			best_n = n;
		}
	}
	if (limit == 0)
		return 1;
	if (r)
		r[0] = (struct _iopt_run){ pg, (unsigned int)(best_n - 1), 0 };
	return _run_greedy(pg + best_n, pages - best_n, 1, limit, r);
}

/*
 * The greedy split is the minimum number of terms for an exact count, and
 * the best superset count is always the count rounded up to some 2^j (both
 * checked exhaustively for counts < 3000 while writing this; the unit test
 * repeats the check against a BFS reference).
 */
uint64_t _iopt_run_choose(uint64_t pages, uint64_t over, bool no_single, uint64_t limit)
{
	uint64_t best = 0, best_c = UINT64_MAX;

	if (no_single && pages == 1)
		return 2; /* one granule alone needs NUM = SCALE = 0: one more granule */
	for (unsigned int j = 0; j < 64; j++) {
		uint64_t mask = (1ull << j) - 1;
		if (pages + mask < pages)
			break;
		uint64_t p = (pages + mask) & ~mask;
		if (p - pages > over)
			break;
		uint64_t c = _iopt_run_split(0, p, no_single, limit, NULL);
		if (c < best_c || (c == best_c && p < best)) {
			best_c = c;
			best = p;
		}
	}
	return best;
}

bool _iopt_inv_block_tmpl(const struct iopt_inv_target *t, unsigned int shift, unsigned int order,
			  struct iopt_inv_cmd *tmpl)
{
	unsigned int lg2 = shift + order;
	uint64_t fixed[2], w0[2];

	if (lg2 >= 52)
		return false;
	/* Address bits of a block base below the limit: all clear, then all set. */
	uint64_t bases = (_IOPT_INV_TMPL_LIMIT - 1) & ~((1ull << lg2) - 1);
	uint64_t probe[2] = { 1ull << lg2, bases };

	for (int i = 0; i < 2; i++) {
		struct iopt_inv_range r = { probe[i], probe[i] + (1ull << lg2) - 1 };
		struct iopt_inv_req req = { &r, 1, 1ull << shift, true };
		struct iopt_inv_cmd c[2];

		if (iopt_inv_plan(t, &req, c, 2) != 1)
			return false;
		w0[i] = c[0].w[0];
		fixed[i] = c[0].w[1] ^ probe[i];
	}
	if (w0[0] != w0[1] || fixed[0] != fixed[1] || (fixed[0] & bases))
		return false;
	tmpl->w[0] = w0[0];
	tmpl->w[1] = fixed[0];
	return true;
}

/* ---- vendor dispatch (include/iopt/invalidate.h, "one vendor, chosen at run time") ---- */

int iopt_inv_plan(const struct iopt_inv_target *t, const struct iopt_inv_req *req,
		  struct iopt_inv_cmd *out, size_t cap)
{
	switch (t ? t->vendor : 0) {
	case IOPT_INV_VTD:
		return iopt_inv_plan_vtd(req, &t->policy, &t->caps.vtd, &t->scope.vtd, out, cap);
	case IOPT_INV_AMD:
		return iopt_inv_plan_amd(req, &t->policy, &t->caps.amd, &t->scope.amd, out, cap);
	case IOPT_INV_SMMU:
		return iopt_inv_plan_smmu(req, &t->policy, &t->caps.smmu, &t->scope.smmu, out, cap);
	}
	return -EINVAL;
}

int iopt_inv_plan_scope(const struct iopt_inv_target *t, struct iopt_inv_cmd *out)
{
	if (!t || !out || !_iopt_inv_budget(&t->policy))
		return -EINVAL;
	switch (t->vendor) {
	case IOPT_INV_VTD:
		if (_iopt_inv_check_vtd(&t->caps.vtd, &t->scope.vtd))
			return -EINVAL;
		if (_iopt_inv_support_vtd(&t->caps.vtd, &t->scope.vtd))
			return -EOPNOTSUPP;
		_iopt_inv_scope_vtd(&t->caps.vtd, &t->scope.vtd, out);
		return 1;
	case IOPT_INV_AMD:
		if (_iopt_inv_check_amd(&t->caps.amd, &t->scope.amd))
			return -EINVAL;
		_iopt_inv_scope_amd(&t->scope.amd, false, out);
		return 1;
	case IOPT_INV_SMMU:
		if (_iopt_inv_check_smmu(&t->caps.smmu, &t->scope.smmu))
			return -EINVAL;
		_iopt_inv_scope_smmu(&t->scope.smmu, out);
		return 1;
	}
	return -EINVAL;
}

int iopt_inv_decode(enum iopt_inv_vendor vendor, const struct iopt_inv_cmd *cmd,
		    struct iopt_inv_decoded *d)
{
	switch (vendor) {
	case IOPT_INV_VTD:
		return iopt_inv_decode_vtd(cmd, d);
	case IOPT_INV_AMD:
		return iopt_inv_decode_amd(cmd, d);
	case IOPT_INV_SMMU:
		return iopt_inv_decode_smmu(cmd, d);
	}
	return -EINVAL;
}
