/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pgtable: a byte stream picks a page-table format and geometry (VT-d
 * SS, x86-64, AMD v1, ARM LPAE S1/S2 with 4K/16K/64K granules; SPLIT,
 * HW_DIRTY, NO_CONTIG, a restricted page-size bitmap, a failing allocation)
 * and then drives map_pages / map_range / unmap_pages / iova_to_phys /
 * read_and_clear_dirty / set_dirty_tracking with arbitrary arguments,
 * invalid ones included. Every answer is checked against a reference model:
 * a list of extents (runs of equal leaves: va, pa, leaf size, count, dirty).
 *
 *   - the return code is what the header documents for the case (when
 *     several rules are broken at once, any of their errnos is accepted);
 *   - -ENOMEM happens exactly when the injected allocation failure was hit
 *     during the call, and a failed call leaves the model unchanged (maps:
 *     not even the table count changes; a SPLIT unmap keeps the splits it
 *     finished, which the model replays with the same allocation budget);
 *   - bytes mapped/unmapped, straddle refusal vs split, the gather range
 *     (covers every unmapped byte, stride = pgsize), dirty reports (each
 *     dirty leaf once, whole) and sampled iova_to_phys match the model;
 *   - after iopt_pt_free the provider's live count is back to zero and the
 *     default provider's to its baseline.
 *
 * Reuses the counting, failable provider of the page-table tests
 * (tests/pgtable/pt_test.h). Builds as a libFuzzer/AFL++ target and as a
 * corpus replayer (fuzz/replay.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iopt/fault.h>

#include "../tests/pgtable/pt_test.h"
#define FUZZ_NAME "fuzz_pgtable"
#include "fuzz_input.h"

#define MAXEXT 2048
#define MAXTABLES 64 /* skip valid maps needing more leaf-level tables */
#define WINDOW (64ull << 20) /* most addresses fall in the first 64 MiB */
#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

/*
 * -DFUZZ_PGTABLE_STATS: count what the inputs reached and print it at exit
 * (replay a corpus to see what it covers).
 */
#ifdef FUZZ_PGTABLE_STATS
enum { S_MAP, S_RANGE, S_UNMAP, S_SPLIT, S_REFUSED, S_BUSY, S_NOMEM, S_BADARG, S_DIRTY, S_NR };
static const char *const stat_name[S_NR] = { "maps", "map_ranges", "unmaps", "split unmaps",
					     "refused unmaps", "busy", "enomem", "bad-arg calls",
					     "dirty leaves reported" };
static unsigned long stats[S_NR];
#define STAT(k) (stats[k]++)
__attribute__((destructor)) static void stats_print(void)
{
	for (int k = 0; k < S_NR; k++)
		fprintf(stderr, "fuzz_pgtable: %lu %s\n", stats[k], stat_name[k]);
}
#else
#define STAT(k) ((void)0)
#endif


static uint64_t take64(struct in *in)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v |= (uint64_t)take(in) << (8 * i);
	return v;
}

/* A run of n equal leaves of 2^lg2 bytes: [va, va + n * 2^lg2) -> pa. */
struct ext {
	uint64_t va, pa, n;
	unsigned lg2;
	bool dirty;
};

struct model {
	const struct fcfg *fc;
	struct iopt_pt *pt;
	struct test_prov tp;
	struct iopt_gather g;
	uint64_t bitmap, va_last, oa_last;
	unsigned g0, bpl, levels, flags;
	bool tracking;
	uint64_t nchecks;
	unsigned hook_levels; /* AMD: last change_top report */
	uint64_t hook_root;
	struct ext e[MAXEXT];
	unsigned ne;
};

/* Geometries: format, ias, oas, granule, start levels (AMD), extra flags. */
struct fcfg {
	enum iopt_pt_format f;
	unsigned ias, oas, gran, start, flags;
};

static const struct fcfg cfgs[] = {
	{ IOPT_PT_VTD_SS, 39, 48, 12, 0, 0 },
	{ IOPT_PT_VTD_SS, 48, 52, 12, 0, 0 },
	{ IOPT_PT_VTD_SS, 57, 46, 12, 0, 0 },
	{ IOPT_PT_X86_64, 48, 52, 12, 0, 0 },
	{ IOPT_PT_X86_64, 57, 52, 12, 0, 0 },
	{ IOPT_PT_X86_64, 48, 52, 12, 0, IOPT_PT_F_SIGN_EXTEND },
	{ IOPT_PT_AMD_V1, 48, 52, 12, 1, 0 },
	{ IOPT_PT_AMD_V1, 64, 52, 12, 3, 0 },
	{ IOPT_PT_AMD_V1, 40, 44, 12, 2, 0 },
	{ IOPT_PT_LPAE_S1, 39, 40, 12, 0, 0 },
	{ IOPT_PT_LPAE_S1, 48, 48, 12, 0, 0 },
	{ IOPT_PT_LPAE_S1, 47, 48, 14, 0, 0 },
	{ IOPT_PT_LPAE_S1, 42, 44, 16, 0, 0 },
	{ IOPT_PT_LPAE_S1, 52, 52, 16, 0, IOPT_PT_F_LPA },
	{ IOPT_PT_LPAE_S2, 40, 44, 12, 0, 0 },
	{ IOPT_PT_LPAE_S2, 36, 40, 14, 0, 0 },
	{ IOPT_PT_LPAE_S2, 42, 48, 16, 0, 0 },
	{ IOPT_PT_LPAE_S2, 32, 32, 12, 0, 0 },
};
#define NCFG (sizeof(cfgs) / sizeof(cfgs[0]))

static bool is_arm(const struct model *m)
{
	return m->fc->f == IOPT_PT_LPAE_S1 || m->fc->f == IOPT_PT_LPAE_S2;
}

static uint64_t mask_lg2(unsigned lg2)
{
	return lg2 >= 64 ? UINT64_MAX : (1ull << lg2) - 1;
}

static unsigned m_shift(const struct model *m, unsigned level)
{
	return m->g0 + m->bpl * level;
}

static unsigned m_level(const struct model *m, unsigned lg2)
{
	return (lg2 - m->g0) / m->bpl;
}

static bool va_ok(const struct model *m, uint64_t va, uint64_t last)
{
	if (last <= m->va_last)
		return true;
	return (m->flags & IOPT_PT_F_SIGN_EXTEND) && va >= ~m->va_last;
}

/* Extent holding va, or NULL. */
static struct ext *m_find(struct model *m, uint64_t va)
{
	for (unsigned i = 0; i < m->ne; i++)
		if (va >= m->e[i].va && va - m->e[i].va <= (m->e[i].n << m->e[i].lg2) - 1)
			return &m->e[i];
	return NULL;
}

static bool m_any(const struct model *m, uint64_t a, uint64_t b)
{
	for (unsigned i = 0; i < m->ne; i++) {
		uint64_t last = m->e[i].va + (m->e[i].n << m->e[i].lg2) - 1;
		if (m->e[i].va <= b && last >= a)
			return true;
	}
	return false;
}

static void m_add(struct model *m, uint64_t va, uint64_t pa, unsigned lg2, uint64_t n, bool dirty)
{
	if (m->ne == MAXEXT)
		FAIL("model full");
	m->e[m->ne++] = (struct ext){ va, pa, n, lg2, dirty };
}

/* Cut the extent holding leaf boundary b so that b starts an extent. */
static void m_cut(struct model *m, uint64_t b)
{
	struct ext *x = m_find(m, b);
	if (!x || x->va == b)
		return;
	uint64_t k = (b - x->va) >> x->lg2;
	struct ext hi = { b, x->pa + (k << x->lg2), x->n - k, x->lg2, x->dirty };
	x->n = k;
	m_add(m, hi.va, hi.pa, hi.lg2, hi.n, hi.dirty);
}

/* Does a leaf straddle boundary b (b inside it, not its start)? */
static bool m_straddles(struct model *m, uint64_t b)
{
	struct ext *x = m_find(m, b);
	return x && ((b - x->va) & mask_lg2(x->lg2));
}

/*
 * The engine's split_at(b): a run becomes single slots (that size must be
 * in the bitmap), a single large slot a table of the largest next-level
 * size in the bitmap (one allocation: *budget of them succeed, < 0 means
 * unlimited). Steps done before a failure stay done, as in the engine.
 */
static int m_split(struct model *m, uint64_t b, long *budget)
{
	for (;;) {
		struct ext *x = m_find(m, b);
		if (!x || !((b - x->va) & mask_lg2(x->lg2)))
			return 0;
		m_cut(m, b & ~mask_lg2(x->lg2));
		x = m_find(m, b);
		m_cut(m, (b & ~mask_lg2(x->lg2)) + (1ull << x->lg2));
		x = m_find(m, b); /* now exactly one leaf */
		unsigned level = m_level(m, x->lg2), s = m_shift(m, level);
		if (x->lg2 > s) {
			if (!(m->bitmap >> s & 1))
				return -EINVAL;
			x->n = 1ull << (x->lg2 - s);
			x->lg2 = s;
			continue;
		}
		if (!level)
			return -EINVAL;
		uint64_t sizes = m->bitmap & mask_lg2(s) & ~mask_lg2(m_shift(m, level - 1));
		if (!sizes)
			return -EINVAL;
		if (*budget == 0)
			return -ENOMEM;
		if (*budget > 0)
			(*budget)--;
		unsigned nz = 63 - (unsigned)__builtin_clzll(sizes);
		x->n = 1ull << (s - nz);
		x->lg2 = nz;
	}
}

/* Bytes mapped in [a, b] once no leaf straddles a or b + 1 (as after a successful unmap). */
static uint64_t m_bytes(struct model *m, uint64_t a, uint64_t b)
{
	uint64_t bytes = 0;
	for (unsigned i = 0; i < m->ne; i++) {
		const struct ext *x = &m->e[i];
		if (x->va >= a && x->va <= b)
			bytes += x->n << x->lg2;
	}
	return bytes;
}

/*
 * Smallest and largest leaf descriptor in [a, b] (leaf boundaries): a run's
 * slots are descriptors of the largest level size within the run.
 * 64 / 0 when nothing is mapped there.
 */
static void m_desc_span(const struct model *m, uint64_t a, uint64_t b, unsigned *lo, unsigned *hi)
{
	*lo = 64;
	*hi = 0;
	for (unsigned i = 0; i < m->ne; i++) {
		const struct ext *x = &m->e[i];
		if (x->va < a || x->va > b)
			continue;
		unsigned d = m_shift(m, m_level(m, x->lg2));
		*lo = d < *lo ? d : *lo;
		*hi = d > *hi ? d : *hi;
	}
}

/* Remove [a, b] (leaf boundaries) from the model; return the bytes removed. */
static uint64_t m_remove(struct model *m, uint64_t a, uint64_t b)
{
	uint64_t bytes = 0;
	m_cut(m, a);
	if (b != UINT64_MAX)
		m_cut(m, b + 1);
	for (unsigned i = 0; i < m->ne;) {
		struct ext *x = &m->e[i];
		if (x->va >= a && x->va <= b) {
			bytes += x->n << x->lg2;
			*x = m->e[--m->ne];
		} else {
			i++;
		}
	}
	return bytes;
}

static uint64_t m_reach(const struct model *m, unsigned levels)
{
	unsigned s = m->g0 + 9 * levels; /* AMD only: 9 bits per level, top too */
	return s >= 64 ? 0 : 1ull << s;
}

/* AMD dynamic top: levels after a leaf [va, va + 2^lg2) is installed. */
static void m_grow(struct model *m, uint64_t va, unsigned lg2)
{
	if (m->fc->f != IOPT_PT_AMD_V1)
		return;
	while ((m_reach(m, m->levels) && va + mask_lg2(lg2) >= m_reach(m, m->levels)) ||
	       m_level(m, lg2) + 1 > m->levels)
		m->levels++;
}

/* A new writable leaf is dirty on ARM with DBM (lpae.h: starts writable-dirty). */
static bool m_new_dirty(const struct model *m, unsigned prot)
{
	return is_arm(m) && (m->flags & IOPT_PT_F_HW_DIRTY) && (prot & IOPT_PROT_WRITE);
}

static bool prot_ok(const struct model *m, unsigned prot)
{
	if (!(prot & RW))
		return false;
	if (m->fc->f == IOPT_PT_X86_64 && !(prot & IOPT_PROT_READ))
		return false;
	if (is_arm(m) && (prot & IOPT_PROT_MMIO) && (prot & IOPT_PROT_CACHE))
		return false;
	if (m->fc->f == IOPT_PT_LPAE_S2 && (prot & IOPT_PROT_PRIV))
		return false;
	return true;
}

/* Bit set of acceptable errnos. */
enum { E_OK = 1, E_INVAL = 2, E_RANGE = 4, E_BUSY = 8, E_NOMEM = 16, E_NOTSUP = 32 };

static unsigned ebit(int r)
{
	switch (r) {
	case 0: return E_OK;
	case -EINVAL: return E_INVAL;
	case -ERANGE: return E_RANGE;
	case -EBUSY: return E_BUSY;
	case -ENOMEM: return E_NOMEM;
	case -EOPNOTSUPP: return E_NOTSUP;
	default: return 0;
	}
}

/* Was the injected failure hit by the allocations made since `before`? */
static bool fault_hit(const struct model *m, long before)
{
	long now = atomic_load(&m->tp.allocs), f = m->tp.fail_at;
	if (!f || now == before)
		return false;
	return m->tp.persistent ? now >= f : before < f && f <= now;
}

/* Allocations that will still succeed from now (< 0: unlimited). */
static long fault_budget(const struct model *m)
{
	long now = atomic_load(&m->tp.allocs), f = m->tp.fail_at;
	if (!f || (!m->tp.persistent && now >= f))
		return -1;
	return f - now - 1 < 0 ? 0 : f - now - 1;
}

/* Addresses: mostly the window, some near the ends of the space. */
static uint64_t pick_va(struct model *m, struct in *in, uint64_t align)
{
	unsigned sel = take(in);
	uint64_t off = take16(in) << m->g0, va;
	switch (sel % 16) {
	default:
		va = off % WINDOW;
		break;
	case 12:
		va = (m->va_last - off) & ~mask_lg2(m->g0); /* top of ias */
		break;
	case 13:
		va = m->va_last + 1 - (take(in) << m->g0); /* at or just past ias */
		break;
	case 14:
		va = ~m->va_last + off; /* sign-extended upper half / far out */
		break;
	case 15:
		va = take64(in); /* anything */
		break;
	}
	if (align && !(sel & 0x80) && align - 1 < UINT64_MAX)
		va &= ~(align - 1);
	return va;
}

static uint64_t pick_pa(struct model *m, struct in *in, uint64_t align)
{
	unsigned sel = take(in);
	uint64_t pa;
	switch (sel % 16) {
	default:
		pa = (take16(in) << 16 | take16(in)) << 12;
		break;
	case 13:
		pa = (m->oa_last - (take16(in) << 12)) & ~0xfffull;
		break;
	case 14:
		pa = m->oa_last + 1;
		break;
	case 15:
		pa = take64(in);
		break;
	}
	if (align && !(sel & 0x80))
		pa &= ~(align - 1);
	return pa;
}

static uint64_t pick_pgsize(struct model *m, struct in *in)
{
	unsigned sel = take(in), nb = (unsigned)__builtin_popcountll(m->bitmap);
	if (sel < 0xe0) {
		/* A size the table has; the smallest half the time. */
		unsigned k = sel & 1 ? 0 : (sel >> 1) % nb;
		uint64_t b = m->bitmap;
		while (k--)
			b &= b - 1;
		return b & -b;
	}
	switch (sel % 4) {
	case 0: return 0;
	case 1: return 3ull << (take(in) % 62);
	default: return 1ull << (take(in) % 64);
	}
}

static uint64_t pick_count(struct in *in, uint64_t pgsize, unsigned g0)
{
	unsigned sel = take(in);
	unsigned lg2 = pgsize ? (unsigned)__builtin_ctzll(pgsize) : 0;
	if (sel < 0xf0)
		return 1 + sel % (lg2 <= g0 ? 64 : 4);
	switch (sel % 4) {
	case 0: return 0;
	case 1: return UINT64_MAX >> lg2;
	case 2: return (UINT64_MAX >> lg2) + 1;
	default: return take64(in);
	}
}

static unsigned pick_prot(struct in *in)
{
	unsigned sel = take(in);
	if (sel < 0xc0)
		return sel & 1 ? IOPT_PROT_READ : RW;
	return take(in) & 0x3f;
}

/*
 * Sample translations: op endpoints and their neighbours, window addresses,
 * addresses inside extents. Samples come from a PRNG, not the input, so a
 * check does not shift how the rest of the input is read.
 */
static void check_xlate(struct model *m, uint64_t a, uint64_t b)
{
	uint64_t samples[12], seed = (a ^ b * 0x9e3779b97f4a7c15ull) + ++m->nchecks;
	unsigned ns = 0;
	samples[ns++] = a;
	samples[ns++] = b;
	samples[ns++] = a - 1;
	samples[ns++] = b + 1;
	for (unsigned k = 0; k < 4; k++)
		samples[ns++] = test_xrand(&seed) % WINDOW;
	for (unsigned k = 0; k < 4 && m->ne; k++) {
		struct ext *x = &m->e[test_xrand(&seed) % m->ne];
		samples[ns++] = x->va + (test_xrand(&seed) & ((x->n << x->lg2) - 1));
	}
	for (unsigned k = 0; k < ns; k++) {
		uint64_t va = samples[k], pa = 0xdead;
		int r = iopt_pt_iova_to_phys(m->pt, va, &pa);
		struct ext *x = m_find(m, va);
		if (!va_ok(m, va, va)) {
			if (r != -ERANGE)
				FAIL("iova_to_phys(%#llx) outside ias = %d", (unsigned long long)va, r);
		} else if (!x) {
			if (r != -ENOENT)
				FAIL("iova_to_phys(%#llx) unmapped = %d (pa %#llx)", (unsigned long long)va, r,
				     (unsigned long long)pa);
		} else if (r || pa != x->pa + (va - x->va)) {
			FAIL("iova_to_phys(%#llx) = %d %#llx, model %#llx", (unsigned long long)va, r,
			     (unsigned long long)pa, (unsigned long long)(x->pa + (va - x->va)));
		}
	}
}

static void check_ret(const char *what, int r, unsigned want, uint64_t va, uint64_t sz)
{
	if (r == -EBUSY)
		STAT(S_BUSY);
	else if (r == -ENOMEM)
		STAT(S_NOMEM);
	else if (r)
		STAT(S_BADARG);
	if (!(ebit(r) & want))
		FAIL("%s(%#llx, %#llx) = %d, model allows mask %#x", what, (unsigned long long)va,
		     (unsigned long long)sz, r, want);
}

static void check_live_same(const struct model *m, long live, const char *what)
{
	if (atomic_load(&m->tp.live) != live)
		FAIL("failed %s changed the table count: %ld -> %ld", what, live, atomic_load(&m->tp.live));
}

/*
 * Lowest-level tables a valid map of len bytes of level-`level` leaves
 * needs (about): a map of 2^40 bytes of 4K pages is valid but would need
 * gigabytes of tables, so such calls are not made.
 */
static uint64_t m_tables(const struct model *m, uint64_t len, unsigned level)
{
	unsigned s = m_shift(m, level + 1);
	return s >= 64 ? 1 : (len >> s) + 2;
}

/*
 * AMD dynamic top: a leaf above the current top over IOVA the old top
 * reached needs an empty root (pgtable.h), else -EBUSY.
 */
static bool m_amd_above(const struct model *m, uint64_t va, unsigned lg2)
{
	return m->fc->f == IOPT_PT_AMD_V1 && m_level(m, lg2) + 1 > m->levels &&
	       (!m_reach(m, m->levels) || va < m_reach(m, m->levels));
}

/*
 * Argument classes of map_pages/unmap_pages: -EINVAL (pgcount 0, pgsize
 * not a power of two or not in the bitmap, misaligned) and -ERANGE (count
 * overflow, past 2^64, outside ias, paddr beyond oas). When rules of both
 * classes are broken either errno is right. 0 when the arguments are fine.
 */
static unsigned m_args(const struct model *m, uint64_t iova, uint64_t paddr, uint64_t pgsize,
		       uint64_t cnt, bool map)
{
	unsigned want = 0;
	if (!cnt || !pgsize || (pgsize & (pgsize - 1)))
		return E_INVAL; /* no length to check a range with */
	if (!(pgsize & m->bitmap) || ((iova | (map ? paddr : 0)) & (pgsize - 1)))
		want |= E_INVAL;
	unsigned lg2 = (unsigned)__builtin_ctzll(pgsize);
	if (cnt > (UINT64_MAX >> lg2))
		return want | E_RANGE;
	uint64_t len = cnt << lg2;
	if (iova + len - 1 < iova || !va_ok(m, iova, iova + len - 1))
		want |= E_RANGE;
	if (map && (paddr + len - 1 < paddr || paddr + len - 1 > m->oa_last))
		want |= E_RANGE;
	return want;
}

/* Expected outcome of a map with valid alignment and sizes: E_* mask. */
static unsigned m_map_check(struct model *m, uint64_t iova, uint64_t paddr, uint64_t len,
			    unsigned prot, bool amd_busy)
{
	unsigned want = 0;
	uint64_t last = iova + len - 1;
	if (last < iova || !va_ok(m, iova, last))
		want |= E_RANGE;
	if (paddr + len - 1 < paddr || paddr + len - 1 > m->oa_last)
		want |= E_RANGE;
	if (!prot_ok(m, prot))
		want |= E_INVAL;
	if (want)
		return want;
	if (m_any(m, iova, last))
		return E_BUSY | E_NOMEM;
	/* AMD: a leaf above the current top over old IOVA needs an empty root. */
	if (amd_busy && m->ne)
		return E_BUSY | E_NOMEM;
	return E_OK | E_NOMEM;
}

static void op_map(struct model *m, struct in *in)
{
	uint64_t pgsize = pick_pgsize(m, in);
	uint64_t cnt = pick_count(in, pgsize, m->g0);
	uint64_t iova = pick_va(m, in, pgsize), paddr = pick_pa(m, in, pgsize);
	unsigned prot = pick_prot(in);
	unsigned lg2 = pgsize ? (unsigned)__builtin_ctzll(pgsize) : 0;
	unsigned want = m_args(m, iova, paddr, pgsize, cnt, true) | (prot_ok(m, prot) ? 0 : E_INVAL);
	uint64_t got = 0xdead;

	if (!want)
		want = m_map_check(m, iova, paddr, cnt << lg2, prot, m_amd_above(m, iova, lg2));
	if (m->ne + 8 > MAXEXT ||
	    ((want & E_OK) && m_tables(m, cnt << lg2, m_level(m, lg2)) > MAXTABLES))
		return;
	long live = atomic_load(&m->tp.live), allocs = atomic_load(&m->tp.allocs);
	int r = iopt_pt_map_pages(m->pt, iova, paddr, pgsize, cnt, prot, &got);
	bool hit = fault_hit(m, allocs);
	/* Arguments and conflicts are checked before any allocation. */
	check_ret("map_pages", r, hit ? E_NOMEM : want & ~E_NOMEM, iova, pgsize * cnt);
	if (r) {
		if (got != 0)
			FAIL("map_pages failed with *mapped = %#llx", (unsigned long long)got);
		check_live_same(m, live, "map_pages");
		check_xlate(m, iova, iova + pgsize * cnt - 1);
		return;
	}
	STAT(S_MAP);
	if (got != cnt << lg2)
		FAIL("map_pages mapped %#llx of %#llx", (unsigned long long)got, (unsigned long long)(cnt << lg2));
	m_grow(m, iova + ((cnt - 1) << lg2), lg2);
	m_grow(m, iova, lg2);
	m_add(m, iova, paddr, lg2, cnt, m_new_dirty(m, prot));
	check_xlate(m, iova, iova + (cnt << lg2) - 1);
}

static void op_map_range(struct model *m, struct in *in)
{
	uint64_t min = m->bitmap & -m->bitmap;
	unsigned sel = take(in);
	uint64_t size = sel < 0xf0 ? (1 + take16(in) % 1024) * min : take64(in);
	uint64_t al = pick_pgsize(m, in);
	uint64_t iova = pick_va(m, in, min), paddr = pick_pa(m, in, min);
	unsigned prot = pick_prot(in), want;
	bool amd_busy = false;
	uint64_t got = 0xdead;

	if (sel & 1) { /* same offset modulo a large size: lets big pages in */
		iova &= ~(al - 1);
		paddr = (paddr & ~(al - 1)) | (iova & (al - 1));
	}
	want = 0;
	if (!size || ((iova | paddr | size) & (min - 1))) {
		/* Every broken rule's errno is acceptable. */
		want = E_INVAL;
		if (size && (iova + size - 1 < iova || !va_ok(m, iova, iova + size - 1) ||
			     paddr + size - 1 < paddr || paddr + size - 1 > m->oa_last))
			want |= E_RANGE;
		if (!prot_ok(m, prot))
			want |= E_INVAL;
	}
	/* The plan (hw-facts §6.4): largest size aligned for both that fits. */
	struct ext plan[130];
	unsigned np = 0;
	if (!want) {
		want = m_map_check(m, iova, paddr, size, prot, false);
		uint64_t v = iova, p = paddr, left = size;
		while (left && !(want & (E_RANGE | E_INVAL))) {
			unsigned best = 64;
			for (unsigned z = 0; z < 64; z++)
				if ((m->bitmap >> z & 1) && !((v | p) & mask_lg2(z)) && (1ull << z) <= left)
					best = z;
			if (best == 64 || np == 130)
				FAIL("map_range model plan");
			/* Stay at this size up to the next larger size's boundary. */
			uint64_t bigger = m->bitmap & ~mask_lg2(best + 1), n = left >> best;
			if (best < 63 && bigger) {
				uint64_t pp = bigger & -bigger, dist = (pp - (v & (pp - 1))) & (pp - 1);
				if (!((v ^ p) & (pp - 1)) && dist && dist <= left)
					n = dist >> best;
			}
			if (np && plan[np - 1].lg2 == best)
				plan[np - 1].n += n;
			else
				plan[np++] = (struct ext){ v, p, n, best, m_new_dirty(m, prot) };
			amd_busy |= m_amd_above(m, v, best);
			v += n << best;
			p += n << best;
			left -= n << best;
		}
		if (!(want & (E_RANGE | E_INVAL)))
			want = m_map_check(m, iova, paddr, size, prot, amd_busy);
	}
	uint64_t tables = 0;
	for (unsigned k = 0; k < np; k++)
		tables += m_tables(m, plan[k].n << plan[k].lg2, m_level(m, plan[k].lg2));
	if (m->ne + np + 8 > MAXEXT || ((want & E_OK) && tables > MAXTABLES))
		return;
	long live = atomic_load(&m->tp.live), allocs = atomic_load(&m->tp.allocs);
	int r = iopt_pt_map_range(m->pt, iova, paddr, size, prot, &got);
	bool hit = fault_hit(m, allocs);
	check_ret("map_range", r, hit ? E_NOMEM : want & ~E_NOMEM, iova, size);
	if (r) {
		if (got != 0)
			FAIL("map_range failed with *mapped = %#llx", (unsigned long long)got);
		check_live_same(m, live, "map_range");
		check_xlate(m, iova, iova + size - 1);
		return;
	}
	STAT(S_RANGE);
	if (got != size)
		FAIL("map_range mapped %#llx of %#llx", (unsigned long long)got, (unsigned long long)size);
	for (unsigned k = 0; k < np; k++) {
		m_grow(m, plan[k].va, plan[k].lg2);
		m_grow(m, plan[k].va + ((plan[k].n - 1) << plan[k].lg2), plan[k].lg2);
		m_add(m, plan[k].va, plan[k].pa, plan[k].lg2, plan[k].n, plan[k].dirty);
	}
	check_xlate(m, iova, iova + size - 1);
}

static void op_unmap(struct model *m, struct in *in)
{
	uint64_t pgsize = pick_pgsize(m, in);
	uint64_t cnt = pick_count(in, pgsize, m->g0);
	uint64_t iova = pick_va(m, in, pgsize);
	unsigned sel = take(in), lg2 = pgsize ? (unsigned)__builtin_ctzll(pgsize) : 0, want = 0;
	uint64_t got = 0xdead;

	/* Aim inside an existing leaf now and then: partial unmaps of large pages. */
	if (sel % 4 == 0 && m->ne) {
		struct ext *x = &m->e[take(in) % m->ne];
		pgsize = m->bitmap & -m->bitmap;
		lg2 = (unsigned)__builtin_ctzll(pgsize);
		iova = (x->va + (take64(in) & ((x->n << x->lg2) - 1))) & ~(pgsize - 1);
		cnt = 1 + take(in) % 3;
	}
	want = m_args(m, iova, 0, pgsize, cnt, false);
	if (m->ne + 64 > MAXEXT)
		return;
	long allocs = atomic_load(&m->tp.allocs), live = atomic_load(&m->tp.live);
	long budget = fault_budget(m);
	/* unmapped may be NULL: then only the effects are checked. */
	bool nogot = (sel & 0x30) == 0x30;
	int r = iopt_pt_unmap_pages(m->pt, iova, pgsize, cnt, &m->g, nogot ? NULL : &got);

	if (want) {
		check_ret("unmap_pages", r, want, iova, pgsize * cnt);
		if (got != 0 && !nogot)
			FAIL("failed unmap wrote *unmapped = %#llx", (unsigned long long)got);
		check_live_same(m, live, "unmap_pages");
		return;
	}
	uint64_t last = iova + (cnt << lg2) - 1;
	bool strad = m_straddles(m, iova) || (last != UINT64_MAX && m_straddles(m, last + 1));
	int mr = 0;
	if (strad && !(m->flags & IOPT_PT_F_SPLIT)) {
		mr = -EINVAL;
	} else if (strad) {
		mr = m_split(m, iova, &budget);
		if (!mr && last != UINT64_MAX && va_ok(m, last + 1, last + 1))
			mr = m_split(m, last + 1, &budget);
	}
	bool hit = fault_hit(m, allocs);
	if (r == -ENOMEM)
		STAT(S_NOMEM);
	if (strad)
		STAT(m->flags & IOPT_PT_F_SPLIT ? S_SPLIT : S_REFUSED);
	if (r != mr || (hit != (r == -ENOMEM)))
		FAIL("unmap_pages(%#llx, %#llx x %#llx) = %d, model %d (straddles %d, fault hit %d)",
		     (unsigned long long)iova, (unsigned long long)pgsize, (unsigned long long)cnt, r, mr,
		     strad, hit);
	if (r) {
		if (got != 0 && !nogot)
			FAIL("failed unmap wrote *unmapped = %#llx", (unsigned long long)got);
		if (!strad || !(m->flags & IOPT_PT_F_SPLIT))
			check_live_same(m, live, "unmap_pages");
		check_xlate(m, iova, last);
		return;
	}
	STAT(S_UNMAP);
	m_cut(m, iova);
	if (last != UINT64_MAX)
		m_cut(m, last + 1);
	if (nogot)
		got = m_bytes(m, iova, last);
	unsigned dlo, dhi;
	m_desc_span(m, iova, last, &dlo, &dhi);
	uint64_t want_bytes = m_remove(m, iova, last);
	if (got != want_bytes)
		FAIL("unmap_pages(%#llx, %#llx x %#llx) removed %#llx, model %#llx", (unsigned long long)iova,
		     (unsigned long long)pgsize, (unsigned long long)cnt, (unsigned long long)got,
		     (unsigned long long)want_bytes);
	/*
	 * The gather covers the range with a stride it is aligned to, no leaf
	 * removed is smaller than the stride, and a larger one marks it mixed
	 * (include/iopt/gather.h): a stride above a leaf would let an SMMU
	 * without RIL keep it, an unmarked larger leaf a TTL hint skip it.
	 */
	uint64_t gs = m->g.pgsize;
	if (m->g.start > iova || m->g.end < last || !gs || (gs & (gs - 1)) ||
	    ((iova | (last + 1)) & (gs - 1)))
		FAIL("gather [%#llx, %#llx] stride %#llx misses unmap [%#llx, %#llx] asked %#llx",
		     (unsigned long long)m->g.start, (unsigned long long)m->g.end,
		     (unsigned long long)gs, (unsigned long long)iova, (unsigned long long)last,
		     (unsigned long long)pgsize);
	if (dhi && ((1ull << dlo) < gs || ((1ull << dhi) > gs && !m->g.mixed)))
		FAIL("gather stride %#llx (mixed %d) for leaves of 2^%u..2^%u removed from [%#llx, %#llx]",
		     (unsigned long long)gs, m->g.mixed, dlo, dhi, (unsigned long long)iova,
		     (unsigned long long)last);
	check_xlate(m, iova, last);
}

struct drec {
	struct model *m;
	uint64_t seen[64];
	uint64_t lo, hi; /* span of the reports */
	unsigned n;
	bool clear;
};

static void d_record(void *ctx, uint64_t iova, uint64_t size)
{
	struct drec *d = ctx;
	struct ext *x = m_find(d->m, iova);

	if (!x || x->va != iova || size != 1ull << x->lg2 || x->n != 1 || !x->dirty)
		FAIL("dirty report [%#llx, +%#llx] is not a dirty model leaf", (unsigned long long)iova,
		     (unsigned long long)size);
	for (unsigned k = 0; k < d->n && k < 64; k++)
		if (d->seen[k] == iova)
			FAIL("dirty leaf %#llx reported twice", (unsigned long long)iova);
	if (d->n < 64)
		d->seen[d->n] = iova;
	if (iova < d->lo)
		d->lo = iova;
	if (iova + size - 1 > d->hi)
		d->hi = iova + size - 1;
	d->n++;
	STAT(S_DIRTY);
	if (d->clear)
		x->dirty = false;
}

static void op_dirty(struct model *m, struct in *in)
{
	unsigned sel = take(in), want = 0, flags = sel & 1 ? IOPT_DIRTY_NO_CLEAR : 0;
	uint64_t gr = 1ull << m->g0;
	uint64_t iova = pick_va(m, in, gr);
	uint64_t size = sel & 2 ? take64(in) : (take16(in) + (sel >> 7)) * gr;
	struct drec d = { .m = m, .lo = UINT64_MAX, .clear = !flags };

	if (!(m->flags & IOPT_PT_F_HW_DIRTY))
		want |= E_NOTSUP;
	if (!size || (iova & (gr - 1)) || (size & (gr - 1)))
		want |= E_INVAL;
	else if (iova + size - 1 < iova || !va_ok(m, iova, iova + size - 1))
		want |= E_RANGE;
	if (!want)
		want = E_OK;
	if (want == E_OK) {
		/* The model reports per leaf: split every extent it touches into single leaves. */
		uint64_t last = iova + size - 1;
		for (unsigned i = 0; i < m->ne; i++) {
			struct ext *x = &m->e[i];
			uint64_t xl = x->va + (x->n << x->lg2) - 1;
			if (x->n > 1 && x->dirty && x->va <= last && xl >= iova) {
				if (m->ne + x->n > MAXEXT)
					return;
				for (uint64_t k = 1; k < x->n; k++)
					m_add(m, x->va + (k << x->lg2), x->pa + (k << x->lg2), x->lg2, 1, true);
				m->e[i].n = 1;
			}
		}
	}
	int r = iopt_pt_read_and_clear_dirty(m->pt, iova, size, flags, d_record, &d,
					     flags && (sel & 4) ? NULL : &m->g);
	check_ret("read_and_clear_dirty", r, want, iova, size);
	if (r)
		return;
	/* Every dirty leaf touching the range was reported. */
	uint64_t last = iova + size - 1, dirty = 0;
	for (unsigned i = 0; i < m->ne; i++) {
		struct ext *x = &m->e[i];
		uint64_t xl = x->va + (x->n << x->lg2) - 1;
		if (x->va <= last && xl >= iova && (flags ? x->dirty : false))
			dirty++;
	}
	if (flags && dirty != d.n)
		FAIL("dirty (no clear) reported %u leaves, model %llu", d.n, (unsigned long long)dirty);
	if (!flags && d.n && (m->g.start > d.lo || m->g.end < d.hi))
		FAIL("gather [%#llx, %#llx] misses cleaned leaves [%#llx, %#llx]", (unsigned long long)m->g.start,
		     (unsigned long long)m->g.end, (unsigned long long)d.lo, (unsigned long long)d.hi);
	if (!flags) {
		for (unsigned i = 0; i < m->ne; i++) {
			struct ext *x = &m->e[i];
			uint64_t xl = x->va + (x->n << x->lg2) - 1;
			if (x->va <= last && xl >= iova && x->dirty)
				FAIL("dirty leaf %#llx not reported", (unsigned long long)x->va);
		}
	}
}

static void op_tracking(struct model *m, struct in *in)
{
	bool en = take(in) & 1;
	int r = iopt_pt_set_dirty_tracking(m->pt, en, &m->g);
	if (!(m->flags & IOPT_PT_F_HW_DIRTY)) {
		if (r != -EOPNOTSUPP)
			FAIL("set_dirty_tracking without HW_DIRTY = %d", r);
		return;
	}
	if (r)
		FAIL("set_dirty_tracking(%d) = %d", en, r);
	if (en && !m->tracking)
		for (unsigned i = 0; i < m->ne; i++)
			m->e[i].dirty = false;
	m->tracking = en;
}

/* AMD change-of-top hook: levels only grow, one step or more at a time. */
static void change_top(void *ctx, uint64_t root_phys, unsigned levels)
{
	struct model *m = ctx;
	if (levels <= m->hook_levels || levels > 6 || !root_phys || (root_phys & 0xfff))
		FAIL("change_top(%#llx, %u) after %u levels", (unsigned long long)root_phys, levels,
		     m->hook_levels);
	m->hook_levels = levels;
	m->hook_root = root_phys;
}

static void gather_flush(struct iopt_gather *g, void *ctx)
{
	(void)ctx;
	if (g->end && g->start > g->end)
		FAIL("gather flush of an inverted range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ops checked against the model so far: lets a driver assert it tested something. */
unsigned long fuzz_pgtable_ops;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct in in = { data, size };
	unsigned c = take(&in), fl = take(&in), fault = take(&in);
	struct iopt_pt_cfg cfg;
	long base = iopt_pt_default_provider_live();
	int64_t host_base = iopt_fault_live_allocs();

	memset(&m, 0, sizeof(m));
	m.fc = &cfgs[c % NCFG];
	memset(&cfg, 0, sizeof(cfg));
	cfg.format = m.fc->f;
	cfg.ias = m.fc->ias;
	cfg.oas = m.fc->oas;
	cfg.granule_lg2 = m.fc->gran;
	cfg.start_levels = m.fc->start;
	cfg.flags = m.fc->flags | (fl & 1 ? IOPT_PT_F_SPLIT : 0) | (fl & 2 ? IOPT_PT_F_HW_DIRTY : 0) |
		    (fl & 4 ? IOPT_PT_F_NO_CONTIG : 0);
	if (fl & 8)
		cfg.pgsize_bitmap = take64(&in) | (fl & 16 ? 1ull << m.fc->gran : 0);
	test_prov_init(&m.tp);
	cfg.provider = &m.tp.p;
	cfg.flush = gather_flush;
	cfg.change_top = change_top;
	cfg.change_top_ctx = &m;
	if (fault) {
		m.tp.fail_at = fault & 0x7f;
		m.tp.persistent = fault & 0x80;
	}
	int r = iopt_pt_create(&cfg, &m.pt);
	if (r) {
		/* Only an empty bitmap or a failed root allocation may refuse. */
		if (!(r == -EINVAL && (fl & 8)) && !(r == -ENOMEM && m.tp.fail_at == 1))
			FAIL("create(cfg %u, flags %#x) = %d", (unsigned)(c % NCFG), cfg.flags, r);
		if (atomic_load(&m.tp.live) || iopt_pt_default_provider_live() != base)
			FAIL("failed create leaked tables");
		return 0;
	}
	m.flags = cfg.flags;
	m.bitmap = iopt_pt_pgsize_bitmap(m.pt);
	m.g0 = m.fc->gran;
	m.bpl = m.g0 - 3;
	m.va_last = (m.flags & IOPT_PT_F_SIGN_EXTEND) ? mask_lg2(m.fc->ias - 1) : mask_lg2(m.fc->ias);
	m.oa_last = mask_lg2(m.fc->oas);
	iopt_pt_root(m.pt, &m.hook_root, &m.levels);
	m.hook_levels = m.levels;
	iopt_gather_init(&m.g, fl & 32, gather_flush, NULL);
	if (!m.bitmap || (m.bitmap & mask_lg2(m.g0)))
		FAIL("effective bitmap %#llx", (unsigned long long)m.bitmap);

	while (in.n) {
		switch (take(&in) % 12) {
		case 0:
		case 1:
		case 2:
			op_map(&m, &in);
			break;
		case 3:
		case 4:
			op_map_range(&m, &in);
			break;
		case 5:
		case 6:
		case 7:
			op_unmap(&m, &in);
			break;
		case 8:
			check_xlate(&m, pick_va(&m, &in, 0), pick_va(&m, &in, 0));
			break;
		case 9:
			op_dirty(&m, &in);
			break;
		case 10:
			op_tracking(&m, &in);
			break;
		case 11:
			iopt_gather_sync(&m.g);
			break;
		}
		if (m.fc->f == IOPT_PT_AMD_V1) {
			unsigned lv;
			uint64_t root;
			iopt_pt_root(m.pt, &root, &lv);
			if (lv != m.levels || lv != m.hook_levels || root != m.hook_root)
				FAIL("AMD top: %u levels at %#llx, model %u, change_top said %u at %#llx", lv,
				     (unsigned long long)root, m.levels, m.hook_levels,
				     (unsigned long long)m.hook_root);
		}
		fuzz_pgtable_ops++;
	}
	iopt_gather_sync(&m.g);
	iopt_pt_free(m.pt);
	if (atomic_load(&m.tp.live))
		FAIL("leak: %ld tables live after free", atomic_load(&m.tp.live));
	if (iopt_pt_default_provider_live() != base)
		FAIL("default provider: %ld pages live, baseline %ld", iopt_pt_default_provider_live(), base);
	if (iopt_fault_live_allocs() != host_base)
		FAIL("leak: %lld host allocations live after free, baseline %lld",
		     (long long)iopt_fault_live_allocs(), (long long)host_base);
	return 0;
}
