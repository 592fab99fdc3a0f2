/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim hardware page walkers (walk.h), one per format family, written
 * from shared/docs/hw-facts.md §1-§4. Levels are counted as the engine
 * counts them (0 = the 4 KiB / granule level); ARM level n is 3 - level.
 */
#include "hw/walk.h"

#include <errno.h>

#define BIT(n) (1ull << (n))

static inline uint64_t mask_lg2(unsigned lg2)
{
	return lg2 >= 64 ? UINT64_MAX : BIT(lg2) - 1;
}

/* Read an entry at physical address pa (through stage 2 when nested). */
static uint64_t *entry_at(const struct sim_walk_cfg *c, uint64_t pa, struct sim_xlate *x)
{
	if (c->s2) {
		struct sim_access rd = { 0 };
		struct sim_xlate y;
		if (sim_walk(c->s2, pa, &rd, &y))
			return NULL;
		x->reads += y.reads;
		if (y.fault) {
			x->fault = y.fault;
			x->fault_s2 = true;
			return NULL;
		}
		pa = y.pa;
		c = c->s2;
	}
	uint64_t *p = c->mem(c->mem_ctx, pa);
	x->reads++;
	if (!p)
		x->fault = SIM_F_ADDR_SIZE;
	return p;
}

static inline uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void set_bits(uint64_t *p, uint64_t bits)
{
	if ((load(p) & bits) != bits)
		__atomic_fetch_or(p, bits, __ATOMIC_RELAXED);
}

static int fault(struct sim_xlate *x, enum sim_fault f, unsigned level)
{
	x->fault = f;
	x->fault_level = level;
	return 0;
}

/*
 * Permission check of a finished walk; then the nested output translation.
 * size is the leaf's, entry the part of it the read descriptor maps.
 */
static int finish(const struct sim_walk_cfg *c, const struct sim_access *acc, struct sim_xlate *x,
		  uint64_t pa, uint64_t size, uint64_t entry, unsigned level)
{
	if ((acc->write && !x->w) || (!acc->write && !x->r) || (acc->exec && !x->x) ||
	    (!acc->priv && !x->user))
		return fault(x, SIM_F_PERM, level);
	x->pa = pa;
	x->page_size = size;
	x->entry_size = entry;
	if (c->s2) { /* the output is a stage-2 input: the combined leaf is the smaller one */
		struct sim_xlate y;
		if (sim_walk(c->s2, pa, acc, &y))
			return -EINVAL;
		x->reads += y.reads;
		if (y.fault) {
			x->fault_s2 = true;
			return fault(x, y.fault, y.fault_level);
		}
		x->pa = y.pa;
		if (y.page_size < x->page_size)
			x->page_size = y.page_size;
		if (y.entry_size < x->entry_size)
			x->entry_size = y.entry_size;
	}
	return 0;
}

/* ---- VT-d second stage (§1) and x86-64 (§3): 4 KiB tables, PS at levels 1-2 ---- */

#define I_ADDR 0x000FFFFFFFFFF000ull
#define I_PS BIT(7)

static int walk_intel(const struct sim_walk_cfg *c, uint64_t va, const struct sim_access *acc,
		      struct sim_xlate *x)
{
	bool vtd = c->format == IOPT_PT_VTD_SS;
	unsigned levels = c->levels, top = 12 + 9 * levels;

	if (levels < 3 || levels > 5)
		return -EINVAL;
	if (vtd || !(c->flags & IOPT_PT_F_SIGN_EXTEND)) {
		if (top < 64 && va >> (c->ias < top ? c->ias : top))
			return fault(x, SIM_F_ADDR_SIZE, levels - 1);
	} else { /* canonical: bits 63..top-1 all equal bit top-1 */
		int64_t s = (int64_t)(va << (64 - top)) >> (64 - top);
		if ((uint64_t)s != va)
			return fault(x, SIM_F_ADDR_SIZE, levels - 1);
	}
	x->r = x->w = x->x = x->user = true;
	uint64_t table = c->root;
	for (int l = (int)levels - 1; l >= 0; l--) {
		unsigned shift = 12 + 9 * (unsigned)l;
		uint64_t *p = entry_at(c, table + ((va >> shift) & 511) * 8, x);
		if (!p)
			return fault(x, x->fault, (unsigned)l);
		uint64_t e = load(p);
		if (vtd) {
			if (!(e & 3)) /* no present bit: R or W */
				return fault(x, SIM_F_NOT_PRESENT, (unsigned)l);
			x->r &= !!(e & BIT(0));
			x->w &= !!(e & BIT(1));
			if ((e & I_PS) && l >= 3)
				return fault(x, SIM_F_RESERVED, (unsigned)l);
		} else {
			if (!(e & BIT(0)))
				return fault(x, SIM_F_NOT_PRESENT, (unsigned)l);
			x->w &= !!(e & BIT(1));
			x->user &= !!(e & BIT(2));
			x->x &= !(e & BIT(63));
			if ((e & I_PS) && l >= 3)
				return fault(x, SIM_F_RESERVED, (unsigned)l);
			if (c->dirty_tracking)
				set_bits(p, BIT(5)); /* A */
		}
		bool leaf = l == 0 || (e & I_PS);
		/* address bits at or above the host address width are reserved (§1.2, §3.1) */
		if (c->oas && c->oas < 52 && (e & I_ADDR) >> c->oas)
			return fault(x, SIM_F_RESERVED, (unsigned)l);
		/* VT-d: TM (62) is reserved everywhere, SNP (11) in non-leaf entries and,
		 * without snoop control (ECAP.SC), in leaves too (§1.2) */
		if (vtd && ((e & BIT(62)) || ((!leaf || !c->snoop_ctl) && (e & BIT(11)))))
			return fault(x, SIM_F_RESERVED, (unsigned)l);
		if (!leaf) {
			table = e & I_ADDR;
			continue;
		}
		uint64_t size = BIT(shift);
		/*
		 * Large leaves: the address bits below the page size are reserved
		 * (VT-d 20:12 / 29:12; x86 20:13 / 29:13, bit 12 being PAT).
		 */
		uint64_t low = e & I_ADDR & mask_lg2(shift) & ~(vtd ? 0 : BIT(12));
		if (l > 0 && low)
			return fault(x, SIM_F_RESERVED, (unsigned)l);
		uint64_t pa = (e & I_ADDR & ~mask_lg2(shift)) | (va & mask_lg2(shift));
		if (vtd) {
			x->x = x->r;
			int r = finish(c, acc, x, pa, size, size, (unsigned)l);
			if (!r && !x->fault && c->dirty_tracking)
				set_bits(p, BIT(8) | (acc->write ? BIT(9) : 0));
			return r;
		}
		int r = finish(c, acc, x, pa, size, size, (unsigned)l);
		if (!r && !x->fault && c->dirty_tracking && acc->write)
			set_bits(p, BIT(6)); /* D */
		return r;
	}
	return -EINVAL;
}

/* ---- AMD v1 (§2): NextLevel, replicated NextLevel=7 leaves, IR/IW ---- */

#define A_PR BIT(0)
#define A_D BIT(6)
#define A_IR BIT(61)
#define A_IW BIT(62)

static int walk_amd(const struct sim_walk_cfg *c, uint64_t va, const struct sim_access *acc,
		    struct sim_xlate *x)
{
	unsigned levels = c->levels; /* DTE mode */

	if (levels < 1 || levels > 6)
		return -EINVAL;
	unsigned reach = 12 + 9 * levels;
	if (reach < 64 && va >> reach)
		return fault(x, SIM_F_ADDR_SIZE, levels - 1);
	x->r = x->w = x->user = true;
	uint64_t table = c->root;
	unsigned l = levels; /* 1-based AMD level of `table` */
	for (;;) {
		unsigned shift = 12 + 9 * (l - 1);
		uint64_t *p = entry_at(c, table + ((va >> shift) & 511) * 8, x);
		if (!p)
			return fault(x, x->fault, l - 1);
		uint64_t e = load(p);
		if (!(e & A_PR))
			return fault(x, SIM_F_NOT_PRESENT, l - 1);
		x->r &= !!(e & A_IR);
		x->w &= !!(e & A_IW);
		unsigned nl = (e >> 9) & 7;
		uint64_t addr = e & I_ADDR;
		if (nl && nl != 7) {
			/* a pointer to a table of level nl; skipped levels' index bits must be 0 */
			if (nl >= l)
				return fault(x, SIM_F_RESERVED, l - 1);
			unsigned lo = 12 + 9 * nl, hi = shift;
			if (hi > lo && (va >> lo) & mask_lg2(hi - lo))
				return fault(x, SIM_F_NOT_PRESENT, l - 1);
			table = addr;
			l = nl;
			continue;
		}
		if (l == 6)
			return fault(x, SIM_F_RESERVED, l - 1); /* the top of mode 6 holds no leaf */
		uint64_t size = BIT(shift);
		if (nl == 7) { /* size code: lowest clear bit k >= 12 -> 2^(k+1) bytes */
			uint64_t zeros = ~addr & ~0xFFFull;
			unsigned k = zeros ? (unsigned)__builtin_ctzll(zeros) : 63;
			size = BIT(k + 1);
			if (k + 1 > 51 || size < BIT(shift))
				return fault(x, SIM_F_RESERVED, l - 1);
		}
		x->x = x->r;
		uint64_t pa = (addr & ~(size - 1) & 0x000FFFFFFFFFFFFFull) | (va & (size - 1));
		if (c->oas && c->oas < 64 && pa >> c->oas)
			return fault(x, SIM_F_ADDR_SIZE, l - 1);
		/* a replicated page: the read copy is one descriptor of its level (§2.4) */
		int r = finish(c, acc, x, pa, size, BIT(shift), l - 1);
		if (!r && !x->fault && c->dirty_tracking && acc->write)
			set_bits(p, A_D); /* any copy of a replicated leaf */
		return r;
	}
}

/* ---- ARM VMSAv8-64 long descriptors, stage 1 and 2 (§4) ---- */

static unsigned cont_entries(unsigned g, unsigned arm_level)
{
	switch (g) {
	case 12:
		return 16;
	case 14:
		return arm_level == 3 ? 128 : 32;
	default:
		return 32;
	}
}

/* Blocks allowed at this ARM level? (4K: L1, L2; 16K: L2; 64K: L2, L1 with LPA) */
static bool block_ok(unsigned g, unsigned arm_level, bool lpa)
{
	if (arm_level == 2)
		return true;
	return arm_level == 1 && (g == 12 || (g == 16 && lpa));
}

static int walk_lpae(const struct sim_walk_cfg *c, uint64_t va, const struct sim_access *acc,
		     struct sim_xlate *x)
{
	unsigned g = c->granule_lg2 ? c->granule_lg2 : 12, bpl = g - 3, levels = c->levels;
	bool s2 = c->format == IOPT_PT_LPAE_S2, lpa = g == 16 && (c->flags & IOPT_PT_F_LPA);

	if ((g != 12 && g != 14 && g != 16) || levels < 1 || levels > 4 || !c->ias)
		return -EINVAL;
	if (c->ias < 64 && va >> c->ias)
		return fault(x, SIM_F_ADDR_SIZE, levels - 1);
	uint64_t amask = (BIT(48) - 1) & ~mask_lg2(g); /* 64K + LPA: PA 51:48 in bits 15:12 */
	x->r = x->w = x->x = x->user = true;
	bool no_w = false, no_user = false, no_x = false;
	uint64_t table = c->root;
	for (int l = (int)levels - 1; l >= 0; l--) {
		unsigned shift = g + bpl * (unsigned)l, arm = 3 - (unsigned)l;
		/* the start level may be partial or concatenated: it takes every bit up to ias */
		unsigned bits = l == (int)levels - 1 ? c->ias - shift : bpl;
		uint64_t *p = entry_at(c, table + ((va >> shift) & mask_lg2(bits)) * 8, x);
		if (!p)
			return fault(x, x->fault, (unsigned)l);
		uint64_t e = load(p);
		uint64_t oa = (e & amask) | (lpa ? ((e >> 12) & 0xF) << 48 : 0);
		/* invalid; at level 3 the 01 encoding is reserved and treated as invalid (§4.2) */
		if (!(e & BIT(0)) || (l == 0 && !(e & 2)))
			return fault(x, SIM_F_NOT_PRESENT, (unsigned)l);
		unsigned oas = c->oas ? c->oas : (lpa ? 52 : 48);
		if (oas < 64 && oa >> oas) /* next table or output beyond OAS: address size fault */
			return fault(x, SIM_F_ADDR_SIZE, (unsigned)l);
		bool table_desc = (e & 2) && l > 0;
		if (table_desc) {
			if (!s2) { /* hierarchical limits: APTable 62:61, XNTable 60 */
				no_w |= !!(e & BIT(62));
				no_user |= !!(e & BIT(61));
				no_x |= !!(e & BIT(60));
			}
			table = oa;
			continue;
		}
		if (l > 0 && !block_ok(g, arm, lpa))
			return fault(x, SIM_F_RESERVED, (unsigned)l);
		if (!(e & BIT(10)) && !c->dirty_tracking) /* AF clear, no hardware AF update */
			return fault(x, SIM_F_PERM, (unsigned)l);
		bool dbm = e & BIT(51);
		if (s2) {
			x->r = !!(e & BIT(6));
			x->w = !!(e & BIT(7)) || (dbm && c->dirty_tracking);
			x->x = !(e & (BIT(53) | BIT(54)));
		} else {
			bool ro = e & BIT(7);
			x->w = (!ro || (dbm && c->dirty_tracking)) && !no_w;
			x->user = !!(e & BIT(6)) && !no_user;
			x->x = !(e & BIT(54)) && !no_x;
		}
		uint64_t size = BIT(shift);
		if (e & BIT(52)) /* contiguous hint: the run may be cached as one entry (§4.4) */
			size <<= __builtin_ctz(cont_entries(g, arm));
		uint64_t pa = (oa & ~mask_lg2(shift)) | (va & mask_lg2(shift));
		/* pa is this entry's; the run's other entries continue it (hardware assumes so) */
		int r = finish(c, acc, x, pa, size, BIT(shift), (unsigned)l);
		if (r || x->fault || !c->dirty_tracking)
			return r;
		set_bits(p, BIT(10)); /* AF */
		if (acc->write && dbm) { /* §4.8: the write makes the leaf writable-dirty */
			if (s2)
				set_bits(p, BIT(7));
			else if (load(p) & BIT(7))
				__atomic_fetch_and(p, ~BIT(7), __ATOMIC_RELAXED);
		}
		return 0;
	}
	return -EINVAL;
}

int sim_walk(const struct sim_walk_cfg *c, uint64_t iova, const struct sim_access *acc,
	     struct sim_xlate *x)
{
	*x = (struct sim_xlate){ 0 };
	if (!c || !acc || !c->mem)
		return -EINVAL;
	switch (c->format) {
	case IOPT_PT_VTD_SS:
	case IOPT_PT_X86_64:
		return walk_intel(c, iova, acc, x);
	case IOPT_PT_AMD_V1:
		return walk_amd(c, iova, acc, x);
	case IOPT_PT_LPAE_S1:
	case IOPT_PT_LPAE_S2:
		return walk_lpae(c, iova, acc, x);
	default:
		return -EINVAL;
	}
}
