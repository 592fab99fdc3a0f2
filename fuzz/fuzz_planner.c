/* SPDX-License-Identifier: MIT */
/*
 * fuzz_planner: a byte stream picks gathered ranges, stride, leaf flag,
 * capabilities, policy, scope and output capacity (valid or not) for one of
 * the three invalidation planners; every command of the plan is decoded
 * back and the plan is checked against include/iopt/invalidate.h:
 *   - an error exactly when the request is invalid (the header's list,
 *     re-derived here independently), and then nothing written;
 *   - -ENOSPC exactly when the plan needs more commands than the capacity;
 *   - every byte of every input range covered by a RANGE command of the
 *     request's scope, or one SCOPE command of that scope;
 *   - each range planned alone stays within max_overshoot (SMMU: plus the
 *     documented lone-granule exception) and, when small, uses exactly the
 *     minimum command count (ties: least overshoot) that a brute-force
 *     reference finds;
 *   - the scope-wide fallback exactly when the per-range minimums exceed
 *     the budget (VT-d, AMD, SMMU without RIL, one-range SMMU).
 *
 * Builds as a libFuzzer target, an AFL++ target (libFuzzer driver) and a
 * corpus replayer (fuzz/replay.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iopt/invalidate.h>

#define FUZZ_NAME "fuzz_planner"
#include "fuzz_input.h"

enum { VTD, AMD, SMMU };
#define NR_MAX (IOPT_INV_MAX_RANGES + 2) /* room for "too many ranges" */
#define CAP_MAX IOPT_INV_MAX_BUDGET
#define SENTINEL 0xA5A5A5A5A5A5A5A5ull

struct plan_in {
	int vendor;
	struct iopt_inv_range r[NR_MAX];
	struct iopt_inv_req req;
	struct iopt_inv_policy pol;
	bool pol_null, caps_null, scope_null, out_null;
	struct iopt_vtd_inv_caps vc;
	struct iopt_vtd_inv_scope vs;
	struct iopt_amd_inv_caps ac;
	struct iopt_amd_inv_scope as;
	struct iopt_smmu_inv_caps sc;
	struct iopt_smmu_inv_scope ss;
	size_t cap;
};

static uint64_t take64(struct in *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)take(in) << (8 * i);
	return v;
}

static int call(const struct plan_in *p, const struct iopt_inv_req *req,
		const struct iopt_inv_policy *pol, struct iopt_inv_cmd *out, size_t cap)
{
	if (p->out_null)
		out = NULL;
	switch (p->vendor) {
	case VTD:
		return iopt_inv_plan_vtd(req, pol, p->caps_null ? NULL : &p->vc,
					 p->scope_null ? NULL : &p->vs, out, cap);
	case AMD:
		return iopt_inv_plan_amd(req, pol, p->caps_null ? NULL : &p->ac,
					 p->scope_null ? NULL : &p->as, out, cap);
	default:
		return iopt_inv_plan_smmu(req, pol, p->caps_null ? NULL : &p->sc,
					  p->scope_null ? NULL : &p->ss, out, cap);
	}
}

/* Unit of the request: 4 KiB, or the SMMU granule. */
static unsigned unit_shift(const struct plan_in *p)
{
	return p->vendor == SMMU && p->sc.granule_shift ? p->sc.granule_shift : 12;
}

/* The header's -EINVAL list, re-derived from the inputs. */
static bool invalid(const struct plan_in *p)
{
	const struct iopt_inv_req *q = &p->req;

	if (p->caps_null || p->scope_null || p->out_null || !q->ranges || !q->nr_ranges ||
	    q->nr_ranges > IOPT_INV_MAX_RANGES)
		return true;
	if (!p->pol_null && p->pol.max_cmds > IOPT_INV_MAX_BUDGET)
		return true;
	switch (p->vendor) {
	case VTD:
		if (p->vc.mamv > 63 || (p->vs.has_pasid && p->vs.pasid >> 20))
			return true;
		break;
	case AMD:
		if ((p->ac.max_order && (p->ac.max_order < 12 || p->ac.max_order > 51)) ||
		    (p->as.has_pasid && p->as.pasid >> 20))
			return true;
		break;
	default:
		if (unit_shift(p) != 12 && unit_shift(p) != 14 && unit_shift(p) != 16)
			return true;
		if (p->ss.stage != 1 && p->ss.stage != 2)
			return true;
	}
	if (q->stride < 4096 || q->stride < 1ull << unit_shift(p) || (q->stride & (q->stride - 1)))
		return true;
	for (size_t i = 0; i < q->nr_ranges; i++) {
		const struct iopt_inv_range *a = &q->ranges[i];
		if (a->end < a->start || (a->start & (q->stride - 1)) || ((a->end + 1) & (q->stride - 1)))
			return true;
		for (size_t j = 0; j < i; j++)
			if (a->start <= q->ranges[j].end && q->ranges[j].start <= a->end)
				return true;
	}
	return false;
}

/* A valid request the capabilities cannot serve (-EOPNOTSUPP, after -EINVAL). */
static bool unsupported(const struct plan_in *p)
{
	return p->vendor == VTD && p->vs.has_pasid && !p->vc.scalable;
}

static bool out_of_range(const struct plan_in *p)
{
	if (p->vendor != SMMU || p->ss.stage != 2)
		return false;
	for (size_t i = 0; i < p->req.nr_ranges; i++)
		if (p->req.ranges[i].end >> 52)
			return true;
	return false;
}

static int decode(int vendor, const struct iopt_inv_cmd *c, struct iopt_inv_decoded *d)
{
	return vendor == VTD ? iopt_inv_decode_vtd(c, d)
	       : vendor == AMD ? iopt_inv_decode_amd(c, d)
			       : iopt_inv_decode_smmu(c, d);
}

/* The decoded command belongs to the request's scope. */
static bool in_scope(const struct plan_in *p, const struct iopt_inv_decoded *d)
{
	switch (p->vendor) {
	case VTD:
		return d->domain == p->vs.domain && d->has_pasid == p->vs.has_pasid &&
		       (!d->has_pasid || d->pasid == p->vs.pasid);
	case AMD:
		return d->domain == p->as.domain && d->has_pasid == p->as.has_pasid &&
		       (!d->has_pasid || d->pasid == p->as.pasid);
	default:
		return d->domain == p->ss.vmid && d->stage == p->ss.stage &&
		       (p->ss.stage == 2 || d->asid == p->ss.asid);
	}
}

struct iv {
	uint64_t lo, hi;
};

static int iv_cmp(const void *a, const void *b)
{
	const struct iv *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sort and merge touching/overlapping intervals in place; returns the count. */
static size_t iv_merge(struct iv *v, size_t n)
{
	size_t m = 0;
	qsort(v, n, sizeof(*v), iv_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m && (v[m - 1].hi == UINT64_MAX || v[i].lo <= v[m - 1].hi + 1)) {
			if (v[i].hi > v[m - 1].hi)
				v[m - 1].hi = v[i].hi;
		} else {
			v[m++] = v[i];
		}
	}
	return m;
}

/* What a decoded plan does: SCOPE, or merged RANGE intervals. */
struct effect {
	bool scope;
	size_t n, nhw;
	struct iv raw[CAP_MAX]; /* decoded ranges, merged */
	struct iv hw[CAP_MAX];  /* plus the whole stride leaf of single-page commands */
};

static void decode_plan(const struct plan_in *p, const struct iopt_inv_cmd *out, int nc,
			struct effect *e)
{
	size_t nhw = 0;

	e->scope = false;
	e->n = 0;
	for (int i = 0; i < nc; i++) {
		struct iopt_inv_decoded d;
		if (decode(p->vendor, &out[i], &d))
			FAIL("command %d (%016llx %016llx) does not decode", i,
			     (unsigned long long)out[i].w[0], (unsigned long long)out[i].w[1]);
		if (!in_scope(p, &d))
			FAIL("command %d outside the request's scope", i);
		if (d.kind == IOPT_INV_SCOPE) {
			if (nc != 1)
				FAIL("scope-wide command among %d", nc);
			e->scope = true;
			return;
		}
		if (d.kind != IOPT_INV_RANGE)
			FAIL("command %d is kind %d", i, d.kind);
		if (d.leaf_only != p->req.leaf_only)
			FAIL("command %d: leaf_only %d, asked %d", i, d.leaf_only, p->req.leaf_only);
		e->raw[e->n++] = (struct iv){ d.start, d.end };
		/*
		 * A one-page command also drops the leaf descriptor that translates
		 * its address. On SMMU that is the largest level size within the
		 * stride, not the stride: a contiguous run (a stride between level
		 * sizes) may be cached per descriptor.
		 */
		uint64_t hi = d.end, leaf = p->req.stride;
		if (p->vendor == SMMU) {
			unsigned g = unit_shift(p), s = (unsigned)__builtin_ctzll(leaf) - g;
			leaf = 1ull << (g + s - s % (g - 3));
		}
		if (d.end - d.start == 0xFFF && !(d.start & (leaf - 1)))
			hi = d.start + (leaf - 1);
		e->hw[nhw++] = (struct iv){ d.start, hi < d.start ? UINT64_MAX : hi };
	}
	e->n = iv_merge(e->raw, e->n);
	e->nhw = iv_merge(e->hw, nhw);
}

/* [lo, hi] is inside the union of v[0..n) (merged, sorted). */
static bool covered(const struct iv *v, size_t n, uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].lo <= lo && hi <= v[i].hi)
			return true;
	return false;
}

/* Bytes of the merged union v[0..n) outside [lo, hi] (saturating). */
static uint64_t overshoot(const struct iv *v, size_t n, uint64_t lo, uint64_t hi)
{
	unsigned __int128 extra = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned __int128 len = (unsigned __int128)v[i].hi - v[i].lo + 1;
		uint64_t a = v[i].lo > lo ? v[i].lo : lo, b = v[i].hi < hi ? v[i].hi : hi;
		if (a <= b)
			len -= (unsigned __int128)b - a + 1;
		extra += len;
	}
	return extra > UINT64_MAX ? UINT64_MAX : (uint64_t)extra;
}

/* ---- brute-force references for small ranges (units) ---- */

#define BF_UNITS 64 /* ranges up to this many units */
#define BF_OVER 96  /* overshoot bounds up to this many units */
#define BF_P (BF_UNITS + BF_OVER + 2)

/* Aligned power-of-two blocks (order <= kmax) tiling [l, h] exactly: greedy is optimal. */
static unsigned tile(uint64_t l, uint64_t h, unsigned kmax)
{
	unsigned c = 0;
	while (l <= h) {
		unsigned k = 0;
		while (k < kmax && !(l & ((2ull << k) - 1)) && l + (2ull << k) - 1 <= h)
			k++;
		c++;
		if (l + (1ull << k) - 1 == UINT64_MAX)
			break;
		l += 1ull << k;
	}
	return c;
}

/* Fewest terms n x 2^s (1 <= n <= 32, s <= 31) summing to P; size 1 barred when no_single. */
static unsigned char terms[2][BF_P];
static void terms_init(void)
{
	if (terms[0][1])
		return;
	for (int ns = 0; ns < 2; ns++) {
		terms[ns][0] = 0;
		for (unsigned P = 1; P < BF_P; P++) {
			unsigned best = 255;
			for (unsigned s = 0; s < 8; s++)
				for (unsigned n = 1; n <= 32; n++) {
					unsigned t = n << s;
					if (t > P || (ns && t == 1) || terms[ns][P - t] == 255)
						continue;
					if (terms[ns][P - t] + 1u < best)
						best = terms[ns][P - t] + 1u;
				}
			terms[ns][P] = (unsigned char)best;
		}
	}
}

/*
 * Check the plan of one range [a, e] (bytes) planned alone: coverage, the
 * overshoot bound and, when small, minimality. Returns its command count,
 * or CAP_MAX + 1 when it fell back to the scope-wide command.
 */
static unsigned check_single(const struct plan_in *p, uint64_t a, uint64_t e)
{
	static struct iopt_inv_cmd out[CAP_MAX];
	static struct effect ef;
	struct iopt_inv_range one = { a, e };
	struct iopt_inv_req q = p->req;
	struct iopt_inv_policy pol = { IOPT_INV_MAX_BUDGET, p->pol_null ? 0 : p->pol.max_overshoot };
	unsigned g = unit_shift(p);

	q.ranges = &one;
	q.nr_ranges = 1;
	int nc = call(p, &q, &pol, out, CAP_MAX);
	if (nc < 1)
		FAIL("range [%#llx, %#llx] alone: %d", (unsigned long long)a, (unsigned long long)e, nc);
	decode_plan(p, out, nc, &ef);
	if (ef.scope)
		return CAP_MAX + 1;
	if (!covered(ef.hw, ef.nhw, a, e))
		FAIL("range [%#llx, %#llx] alone: not covered", (unsigned long long)a,
		     (unsigned long long)e);

	uint64_t over = pol.max_overshoot >> g << g, ext = overshoot(ef.raw, ef.n, a, e);
	bool smmu_ril = p->vendor == SMMU && p->sc.range_inv;
	bool no_single = smmu_ril && !p->req.leaf_only; /* TTL 0 unless leaf_only (a hint then) */
	bool lone = no_single && e - a + 1 == 1ull << g;
	if (ext > over && !(lone && ext == 1ull << g))
		FAIL("range [%#llx, %#llx]: overshoot %#llx > %#llx", (unsigned long long)a,
		     (unsigned long long)e, (unsigned long long)ext, (unsigned long long)over);

	uint64_t ua = a >> g, ue = e >> g, ov = over >> g;
	if (ue - ua >= BF_UNITS || ov > BF_OVER)
		return (unsigned)nc;
	if (p->vendor == SMMU && !p->sc.range_inv) {
		unsigned s = (unsigned)__builtin_ctzll(p->req.stride) - g;
		uint64_t steps = ((e - a) >> (g + s - s % (g - 3))) + 1; /* one per descriptor */
		if ((uint64_t)nc != steps || ext)
			FAIL("no RIL: %d commands for %llu steps", nc, (unsigned long long)steps);
		return (unsigned)nc;
	}
	unsigned best = ~0u;
	uint64_t best_ext = 0;
	if (p->vendor == SMMU) {
		/* Terms run from the start; the extra goes at the end (or before, lone case). */
		uint64_t pages = ue - ua + 1, top = (p->ss.stage == 2 ? (1ull << 52) - 1 : UINT64_MAX) >> g;
		uint64_t room = top - ue;
		if (lone) {
			best = 1;
			best_ext = room || ua ? 1 : 0;
		} else {
			terms_init();
			for (uint64_t P = pages; P <= pages + ov && P - pages <= room; P++) {
				unsigned c = terms[no_single][P];
				if (c < best) {
					best = c;
					best_ext = P - pages;
				}
			}
		}
	} else {
		unsigned kmax = p->vendor == VTD ? p->vc.mamv : (p->ac.max_order ? p->ac.max_order : 51) - 12;
		for (uint64_t dl = 0; dl <= ov && dl <= ua; dl++)
			for (uint64_t dh = 0; dl + dh <= ov && ue + dh >= ue && ue + dh <= UINT64_MAX >> 12;
			     dh++) {
				unsigned c = tile(ua - dl, ue + dh, kmax);
				if (c < best || (c == best && dl + dh < best_ext)) {
					best = c;
					best_ext = dl + dh;
				}
			}
	}
	if ((unsigned)nc != best || ext != best_ext << g)
		FAIL("range [%#llx, %#llx] over %#llx: %d commands, extra %#llx; best %u, %#llx",
		     (unsigned long long)a, (unsigned long long)e, (unsigned long long)over, nc,
		     (unsigned long long)ext, best, (unsigned long long)(best_ext << g));
	return (unsigned)nc;
}

static void check(const struct plan_in *p)
{
	static struct iopt_inv_cmd out[CAP_MAX + 1];
	static struct effect ef;
	const struct iopt_inv_policy *pol = p->pol_null ? NULL : &p->pol;

	for (size_t i = 0; i <= CAP_MAX; i++)
		out[i].w[0] = out[i].w[1] = SENTINEL;
	int nc = call(p, &p->req, pol, out, p->cap);
	int want = invalid(p) ? -EINVAL : unsupported(p) ? -EOPNOTSUPP : out_of_range(p) ? -ERANGE : 0;

	if (nc < 0 || want) {
		if (want && nc != want)
			FAIL("vendor %d: returned %d, expected %d", p->vendor, nc, want);
		if (!want && nc != -ENOSPC)
			FAIL("vendor %d: valid request returned %d", p->vendor, nc);
		for (size_t i = 0; i <= CAP_MAX; i++)
			if (out[i].w[0] != SENTINEL || out[i].w[1] != SENTINEL)
				FAIL("error %d but output %zu written", nc, i);
		if (nc == -ENOSPC) {
			/* Exactly when the full plan is longer than the capacity. */
			int full = call(p, &p->req, pol, out, CAP_MAX);
			if (full <= (int)p->cap)
				FAIL("-ENOSPC with capacity %zu, plan has %d", p->cap, full);
		}
		return;
	}
	if (nc == 0 || (size_t)nc > p->cap)
		FAIL("vendor %d: %d commands, capacity %zu", p->vendor, nc, p->cap);
	for (size_t i = (size_t)nc; i <= CAP_MAX; i++)
		if (out[i].w[0] != SENTINEL || out[i].w[1] != SENTINEL)
			FAIL("command %zu written beyond the %d returned", i, nc);
	decode_plan(p, out, nc, &ef);

	/* Merge the inputs the way the planners do (touching ranges join). */
	struct iv in[NR_MAX];
	for (size_t i = 0; i < p->req.nr_ranges; i++)
		in[i] = (struct iv){ p->req.ranges[i].start, p->req.ranges[i].end };
	size_t nin = iv_merge(in, p->req.nr_ranges);

	unsigned budget = !pol || !pol->max_cmds ? IOPT_INV_DEFAULT_BUDGET : pol->max_cmds;
	uint64_t sum = 0;
	for (size_t i = 0; i < nin; i++)
		sum += check_single(p, in[i].lo, in[i].hi);
	bool exact_sum = p->vendor != SMMU || !p->sc.range_inv || nin == 1;
	bool must_scope = (p->vendor == VTD && !p->vc.psi) || (exact_sum && sum > budget);

	if (ef.scope) {
		if (!must_scope && !(p->vendor == SMMU && p->sc.range_inv && nin > 1))
			FAIL("vendor %d: scope-wide with per-range minimums summing to %llu <= %u",
			     p->vendor, (unsigned long long)sum, budget);
		return;
	}
	if (must_scope)
		FAIL("vendor %d: %d range commands, expected the scope-wide one (sum %llu, budget %u)",
		     p->vendor, nc, (unsigned long long)sum, budget);
	if ((unsigned)nc > budget || (exact_sum && (uint64_t)nc > sum))
		FAIL("vendor %d: %d commands, budget %u, per-range sum %llu", p->vendor, nc, budget,
		     (unsigned long long)sum);
	for (size_t i = 0; i < nin; i++)
		if (!covered(ef.hw, ef.nhw, in[i].lo, in[i].hi))
			FAIL("vendor %d: range [%#llx, %#llx] not covered", p->vendor,
			     (unsigned long long)in[i].lo, (unsigned long long)in[i].hi);
	/* SMMU grows a range only into its own gap: no command overlaps another range's extra. */
	uint64_t over = pol ? pol->max_overshoot : 0, total = 0;
	for (size_t i = 0; i < ef.n; i++) {
		uint64_t inside = 0;
		for (size_t j = 0; j < nin; j++) {
			uint64_t a = ef.raw[i].lo > in[j].lo ? ef.raw[i].lo : in[j].lo;
			uint64_t b = ef.raw[i].hi < in[j].hi ? ef.raw[i].hi : in[j].hi;
			if (a <= b)
				inside += b - a + 1;
		}
		uint64_t len = ef.raw[i].hi - ef.raw[i].lo + 1;
		total += len ? len - inside : UINT64_MAX - inside + 1;
	}
	/* In all: at most the per-range bound times the ranges (+ lone granules). */
	unsigned __int128 bound = (unsigned __int128)(over >> unit_shift(p) << unit_shift(p)) * nin +
				  ((unsigned __int128)nin << unit_shift(p));
	if (total > bound)
		FAIL("vendor %d: %#llx bytes of overshoot over %zu ranges", p->vendor,
		     (unsigned long long)total, nin);
}

/* ---- input decoding ---- */

static uint64_t pick_stride(struct in *in, unsigned sel)
{
	unsigned b = take(in);
	if (sel == 1)
		return take64(in); /* arbitrary: mostly invalid */
	return 1ull << (12 + b % 22);
}

static void pick_ranges(struct in *in, struct plan_in *p, unsigned sel)
{
	unsigned b = take(in);
	size_t n = 1 + b % IOPT_INV_MAX_RANGES;
	if (sel == 2)
		n = b % (NR_MAX + 1); /* 0 and too many */
	uint64_t st = p->req.stride ? p->req.stride : 4096;
	unsigned base = take(in);
	uint64_t cur;
	switch (base % 5) {
	case 0: cur = 0; break;
	case 1: cur = (take16(in) << 20) & ~(st - 1); break;
	case 2: cur = ((1ull << 52) - st * (take(in) % 8)) & ~(st - 1); break;
	case 3: cur = (UINT64_MAX - st * (take(in) % 64 + 1) + 1) & ~(st - 1); break;
	default: cur = take64(in) & ~(st - 1); break;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned gap = take(in), len = take(in);
		cur += (uint64_t)(gap % 8 ? gap % 8 - 1 : gap) * st;
		uint64_t l = (uint64_t)(len % 4 ? 1 + len % 23 : 1 + (len | take(in) << 8)) * st;
		p->r[i].start = cur;
		p->r[i].end = cur + l - 1;
		cur += l;
		if (sel == 3) { /* unaligned, reversed or overlapping */
			unsigned how = take(in);
			if (how & 1)
				p->r[i].start += how >> 1;
			if (how & 2)
				p->r[i].end -= st * (how >> 4);
			if ((how & 4) && i)
				p->r[i].start = p->r[i - 1].end - (how >> 3);
		}
	}
	/* Any order: rotate by a byte. */
	unsigned rot = n ? take(in) % n : 0;
	struct iopt_inv_range tmp[NR_MAX];
	for (size_t i = 0; i < n; i++)
		tmp[i] = p->r[(i + rot) % n];
	memcpy(p->r, tmp, sizeof(tmp[0]) * n);
	p->req.ranges = sel == 4 ? NULL : p->r;
	p->req.nr_ranges = n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = { data, size };
	while (in.n) {
		static struct plan_in p;
		memset(&p, 0, sizeof(p));
		unsigned h = take(&in), f = take(&in);
		/* sel: which input (if any) is made invalid or unsupported; 0 and >= 11: all valid. */
		unsigned sel = (h >> 2) % 16;
		p.vendor = (int)(h & 3) % 3;
		p.req.leaf_only = f & 1;
		p.req.stride = pick_stride(&in, sel);
		pick_ranges(&in, &p, sel);

		unsigned c = take(&in), o = take(&in);
		p.pol_null = (c & 0xF) == 0xF;
		p.pol.max_cmds = sel == 5 ? IOPT_INV_MAX_BUDGET + 1 + take(&in) : c % 4 ? c % 24 : c;
		switch (o % 4) {
		case 0: p.pol.max_overshoot = 0; break;
		case 1: p.pol.max_overshoot = (uint64_t)(o >> 2) << 12; break;
		case 2: p.pol.max_overshoot = take64(&in); break;
		default: p.pol.max_overshoot = UINT64_MAX; break;
		}

		unsigned k = take(&in), s = take(&in);
		p.caps_null = sel == 6 && (k & 1);
		p.scope_null = sel == 6 && (k & 2);
		p.out_null = sel == 6 && (k & 4);
		p.vc = (struct iopt_vtd_inv_caps){ .psi = (f & 2) || (f & 4), .mamv = k % 64,
						   .drain_read = f & 8, .drain_write = f & 16,
						   .scalable = sel != 10 };
		if (sel == 7)
			p.vc.mamv = 64 + k, p.ac.max_order = k % 12 + (k & 1 ? 52 : 1);
		else
			p.ac.max_order = k % 3 ? 12 + k % 40 : 0;
		unsigned gs[4] = { 0, 12, 14, 16 };
		p.sc = (struct iopt_smmu_inv_caps){ .range_inv = f & 2, .granule_shift = gs[k % 4] };
		if (sel == 7 && (k & 2))
			p.sc.granule_shift = k;
		uint32_t pasid = (uint32_t)take16(&in) | (uint32_t)(s & 0xF) << 16;
		if (sel == 8)
			pasid |= 1u << (20 + s % 12); /* out of 20 bits */
		uint16_t dom = (uint16_t)take16(&in);
		p.vs = (struct iopt_vtd_inv_scope){ dom, f & 32, pasid };
		p.as = (struct iopt_amd_inv_scope){ dom, f & 32, pasid };
		p.ss = (struct iopt_smmu_inv_scope){ .stage = sel == 9 ? s : 1 + ((f >> 6) & 1),
						     .asid = (uint16_t)pasid, .vmid = dom };
		p.cap = (f & 0x80) && sel != 0 ? take(&in) % 12 : CAP_MAX;
		check(&p);
	}
	return 0;
}
