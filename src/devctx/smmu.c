/* SPDX-License-Identifier: MIT */
/*
 * SMMUv3 device context (include/iopt/smmu.h): ID registers, stream table,
 * STE, CD and configuration commands.
 *
 * Where each field comes from, in the tables below:
 *   [L] Linux 6.12 drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h
 *   [Q] QEMU 7.2 hw/arm/smmuv3-internal.h (its macros index 32-bit words:
 *       word[n] bit b is bit 32 * (n & 1) + b of 64-bit word n / 2)
 *   [S] the SMMUv3 architecture (IHI 0070) where neither header has it.
 * Fields marked [L][Q] agree in both. The one disagreement: [Q] puts STE
 * S2HD/S2HA/S2S at dword-2 bits 56/57/58 where [L] has S2S 57 and S2R 58;
 * QEMU 7.2 never reads them (no stage 2), so [L] is followed, and S2HD/S2HA
 * (one source left) are not written at all: stage-2 HW dirty is refused.
 */
#include <iopt/smmu.h>

#include <string.h>

#define BIT(n) (1ull << (n))
#define MASK(hi, lo) ((~0ull >> (63 - (hi))) & ~(BIT(lo) - 1))
#define ADDR52 MASK(51, 0)

static inline uint64_t fget(uint64_t w, unsigned hi, unsigned lo)
{
	return (w & MASK(hi, lo)) >> lo;
}

/* IDR5.OAS, CD.IPS, STE.S2PS: one encoding [L][Q]. */
static const unsigned ps_bits[7] = { 32, 36, 40, 42, 44, 48, 52 };

static int ps_enc(unsigned bits)
{
	for (int i = 0; i < 7; i++)
		if (ps_bits[i] == bits)
			return i;
	return -1;
}

/* Smallest encodable size holding @bits (a table's oas need not be one). */
static unsigned ps_ceil(unsigned bits)
{
	for (int i = 0; i < 7; i++)
		if (ps_bits[i] >= bits)
			return ps_bits[i];
	return bits; /* > 52: the encoder refuses it */
}

static bool gran_valid(unsigned g)
{
	return g == 12 || g == 14 || g == 16;
}

static bool gran_hw(const struct iopt_smmu_hw *hw, unsigned g)
{
	return g == 12 ? hw->gran4k : g == 14 ? hw->gran16k : hw->gran64k;
}

/* CD.TG0 and STE.S2TG: 0 = 4K, 1 = 64K, 2 = 16K [L][Q tg2granule]. */
static unsigned tg_enc(unsigned g)
{
	return g == 12 ? 0 : g == 16 ? 1 : 2;
}

static unsigned tg_dec(unsigned tg)
{
	return tg == 0 ? 12 : tg == 1 ? 16 : tg == 2 ? 14 : 0;
}

/* Index bits the start level resolves (1 .. bpl + 4 with concatenation), or 0. */
static unsigned start_bits(unsigned g, unsigned ias, unsigned levels)
{
	unsigned bpl = g - 3;

	if (levels < 1 || levels > 4 || ias <= g + bpl * (levels - 1))
		return 0;
	unsigned b = ias - g - bpl * (levels - 1);
	return b <= bpl + 4 ? b : 0;
}

/* Stage 1 has no concatenation: io-pgtable-arm's level count (hw-facts §4.1). */
static unsigned s1_levels(unsigned g, unsigned ias)
{
	return (ias - g + (g - 4)) / (g - 3);
}

/* 25..48, or 49..52 with the 64K granule (T0SZ 12..39; smaller needs IDR3.STT). */
static bool ias_valid(unsigned g, unsigned ias)
{
	return ias >= 25 && (ias <= 48 || (ias <= 52 && g == 16));
}

/* Table walk attributes the library's tables want: Linux's coherent_walk choice. */
static void walk_attrs(const struct iopt_smmu_hw *hw, unsigned *ir, unsigned *or, unsigned *sh)
{
	*ir = *or = hw->cohacc ? 1 : 0; /* WB write-allocate : non-cacheable */
	*sh = hw->cohacc ? 3 : 2;       /* inner : outer shareable */
}

static bool attrs_valid(unsigned ir, unsigned or, unsigned sh)
{
	return ir <= 3 && or <= 3 && (sh == 0 || sh == 2 || sh == 3);
}

/* The table endianness a CD/STE asks for is one the SMMU walks (IDR0.TTENDIAN). */
static bool endi_hw(const struct iopt_smmu_hw *hw, bool big)
{
	return hw->ttendian == 0 || hw->ttendian == (big ? 3u : 2u);
}

/* ------------------------------------------------------- capabilities */

int iopt_smmu_hw_decode(const uint32_t idr[6], struct iopt_smmu_hw *hw)
{
	if (!idr || !hw)
		return -EINVAL;
	uint32_t r0 = idr[0], r1 = idr[1], r3 = idr[3], r5 = idr[5];
	struct iopt_smmu_hw h = { 0 };

	memcpy(h.idr, idr, sizeof(h.idr));
	/*
	 * IDR0: S2P 0 [L], S1P 1 [L][Q], TTF 3:2 [L][Q], COHACC 4 [L][Q], HTTU
	 * 7:6 [L], HYP 9 [L], ATS 10 [L], ASID16 12 [L][Q], MSI 13 [L], SEV 14
	 * [L], PRI 16 [L], VMID16 18 [L], CD2L 19 [L], TTENDIAN 22:21 [L][Q],
	 * STALL_MODEL 25:24 [L][Q], TERM_MODEL 26 [Q], ST_LEVEL 28:27 [L][Q].
	 */
	h.s2p = r0 & BIT(0);
	h.s1p = r0 & BIT(1);
	h.ttf = (unsigned)fget(r0, 3, 2);
	h.cohacc = r0 & BIT(4);
	h.httu = (unsigned)fget(r0, 7, 6);
	h.hyp = r0 & BIT(9);
	h.ats = r0 & BIT(10);
	h.asid16 = r0 & BIT(12);
	h.msi = r0 & BIT(13);
	h.sev = r0 & BIT(14);
	h.pri = r0 & BIT(16);
	h.vmid16 = r0 & BIT(18);
	h.cd2l = r0 & BIT(19);
	h.ttendian = (unsigned)fget(r0, 22, 21);
	h.stall_model = (unsigned)fget(r0, 25, 24);
	h.term_model = r0 & BIT(26);
	unsigned st_level = (unsigned)fget(r0, 28, 27);
	h.st_2lvl = st_level == 1;
	/*
	 * IDR1: SIDSIZE 5:0 [L][Q], SSIDSIZE 10:6 [L], PRIQS 15:11 [L],
	 * EVENTQS 20:16 [L][Q], CMDQS 25:21 [L][Q], ATTR_TYPES_OVR 27 [L],
	 * REL 28 [L], QUEUES_PRESET 29 [L], TABLES_PRESET 30 [L].
	 */
	h.sidsize = (unsigned)fget(r1, 5, 0);
	h.ssidsize = (unsigned)fget(r1, 10, 6);
	h.priqs = (unsigned)fget(r1, 15, 11);
	h.eventqs = (unsigned)fget(r1, 20, 16);
	h.cmdqs = (unsigned)fget(r1, 25, 21);
	h.attr_types_ovr = r1 & BIT(27);
	h.rel = r1 & BIT(28);
	h.queues_preset = r1 & BIT(29);
	h.tables_preset = r1 & BIT(30);
	/* IDR3: HAD 2 [Q], RIL 10 [L][Q], BBML 12:11 [Q]. */
	h.had = r3 & BIT(2);
	h.ril = r3 & BIT(10);
	h.bbml = (unsigned)fget(r3, 12, 11);
	/* IDR5: OAS 2:0, GRAN4K 4, GRAN16K 5, GRAN64K 6 [L][Q]; VAX 11:10, STALL_MAX 31:16 [L]. */
	unsigned oas = (unsigned)fget(r5, 2, 0);
	h.gran4k = r5 & BIT(4);
	h.gran16k = r5 & BIT(5);
	h.gran64k = r5 & BIT(6);
	h.vax = fget(r5, 11, 10) == 1;
	h.stall_max = (unsigned)fget(r5, 31, 16);

	if (!h.ttf || h.httu == 3 || h.ttendian == 1 || h.stall_model == 3 || st_level > 1 ||
	    (!h.s1p && !h.s2p) || h.sidsize > 32 || h.ssidsize > 20 || oas == 7 || h.bbml == 3 ||
	    (!h.gran4k && !h.gran16k && !h.gran64k))
		return -EINVAL;
	h.oas = ps_bits[oas];
	*hw = h;
	return 0;
}

int iopt_smmu_inv_caps(const struct iopt_smmu_hw *hw, unsigned granule_lg2,
		       struct iopt_smmu_inv_caps *caps)
{
	if (!hw || !caps || !gran_valid(granule_lg2))
		return -EINVAL;
	if (!gran_hw(hw, granule_lg2))
		return -EOPNOTSUPP;
	*caps = (struct iopt_smmu_inv_caps){ .range_inv = hw->ril, .granule_shift = granule_lg2 };
	return 0;
}

int iopt_smmu_pt_cfg(const struct iopt_smmu_hw *hw, unsigned stage, unsigned granule_lg2,
		     unsigned ias, unsigned flags, struct iopt_pt_cfg *cfg)
{
	const unsigned known = IOPT_PT_F_SPLIT | IOPT_PT_F_NO_CONTIG | IOPT_PT_F_HW_DIRTY |
			       IOPT_PT_F_LPA;
	bool lpa = flags & IOPT_PT_F_LPA;

	if (!hw || !cfg || (stage != 1 && stage != 2) || !gran_valid(granule_lg2) ||
	    (flags & ~known) || (lpa && granule_lg2 != 16))
		return -EINVAL;
	if (!ias)
		ias = stage == 2 && hw->oas < 48 ? hw->oas : 48;
	/* The LPAE format: a full level below the top, > 48 bits only with LPA. */
	if (!ias_valid(granule_lg2, ias) || ias < 2 * granule_lg2 - 3 || (ias > 48 && !lpa))
		return -EINVAL;
	if (!(stage == 1 ? hw->s1p : hw->s2p) || !(hw->ttf & 2) || !gran_hw(hw, granule_lg2) ||
	    ((flags & IOPT_PT_F_SPLIT) && hw->bbml < 2) ||
	    ((flags & IOPT_PT_F_HW_DIRTY) && (stage == 2 || hw->httu < 2)) ||
	    (lpa && hw->oas < 52) || (stage == 1 && ias > 48 && !hw->vax) ||
	    (stage == 2 && ias > hw->oas))
		return -EOPNOTSUPP;
	unsigned oas = hw->oas < (lpa ? 52u : 48u) ? hw->oas : (lpa ? 52u : 48u);
	*cfg = (struct iopt_pt_cfg){
		.format = stage == 1 ? IOPT_PT_LPAE_S1 : IOPT_PT_LPAE_S2,
		.ias = ias,
		.oas = oas,
		.granule_lg2 = granule_lg2,
		.flags = flags,
	};
	return 0;
}

/* ------------------------------------------------------- stream table */

/*
 * STRTAB_BASE: ADDR 51:6 [L][Q], RA 62 [L]. STRTAB_BASE_CFG: LOG2SIZE 5:0,
 * SPLIT 10:6, FMT 17:16 (0 linear, 1 2-level) [L][Q]. Level-1 descriptor:
 * SPAN 4:0, L2Ptr 51:6 [L][Q]; the table is aligned to its size [S] (QEMU
 * masks the low bits of the base it is given).
 */
static int strtab_check(const struct iopt_smmu_strtab *st, uint64_t *bytes)
{
	if (!st || st->log2size > 32 || (st->split && st->split != 6 && st->split != 8 &&
					  st->split != 10) || st->split > st->log2size)
		return -EINVAL;
	uint64_t b = st->split ? 8ull << (st->log2size - st->split) : 64ull << st->log2size;
	if (b < 64)
		b = 64;
	if ((st->base & (b - 1)) || (st->base & ~ADDR52))
		return -EINVAL;
	*bytes = b;
	return 0;
}

int iopt_smmu_strtab_regs(const struct iopt_smmu_hw *hw, const struct iopt_smmu_strtab *st,
			  uint64_t *base_reg, uint32_t *cfg_reg)
{
	uint64_t bytes;

	if (!hw || !base_reg || !cfg_reg || strtab_check(st, &bytes))
		return -EINVAL;
	if (st->log2size > hw->sidsize || (st->split && !hw->st_2lvl))
		return -EOPNOTSUPP;
	if (st->base >> hw->oas)
		return -ERANGE;
	*base_reg = st->base | (st->ra ? BIT(62) : 0);
	*cfg_reg = (st->split ? 1u << 16 : 0) | st->split << 6 | st->log2size;
	return 0;
}

int iopt_smmu_strtab_locate(const struct iopt_smmu_strtab *st, uint32_t sid,
			    struct iopt_smmu_ste_loc *loc)
{
	uint64_t bytes;

	if (!loc || strtab_check(st, &bytes))
		return -EINVAL;
	if ((uint64_t)sid >> st->log2size)
		return -ERANGE;
	if (!st->split)
		*loc = (struct iopt_smmu_ste_loc){ .l1_off = 0, .ste_off = 64ull * sid };
	else
		*loc = (struct iopt_smmu_ste_loc){ .l1_off = 8ull * (sid >> st->split),
						   .ste_off = 64ull * (sid & (BIT(st->split) - 1)) };
	return 0;
}

int iopt_smmu_l1_desc(const struct iopt_smmu_hw *hw, const struct iopt_smmu_strtab *st,
		      uint64_t l2_phys, uint64_t *desc)
{
	uint64_t bytes;

	if (!hw || !desc || strtab_check(st, &bytes) || !st->split ||
	    (l2_phys & ((64ull << st->split) - 1)) || (l2_phys & ~ADDR52))
		return -EINVAL;
	if (l2_phys >> hw->oas)
		return -ERANGE;
	*desc = l2_phys | (st->split + 1); /* SPAN: the table holds 2^(SPAN-1) STEs [L] */
	return 0;
}

int iopt_smmu_l1_decode(uint64_t desc, uint64_t *l2_phys, unsigned *span)
{
	if (!l2_phys || !span || (desc & ~(MASK(4, 0) | MASK(51, 6))) || fget(desc, 4, 0) > 12)
		return -EINVAL;
	*l2_phys = desc & MASK(51, 6);
	*span = (unsigned)fget(desc, 4, 0);
	return 0;
}

/* ---------------------------------------------------------------- STE */

/*
 * dword 0: V 0, Config 3:1, S1Fmt 5:4, S1ContextPtr 51:6, S1CDMax 63:59
 *          [L][Q] (QEMU reads the pointer's bits 47:6 only).
 * dword 1: S1DSS 1:0, S1CIR 3:2, S1COR 5:4, S1CSH 7:6 [L]; S1STALLD 27,
 *          EATS 29:28, STRW 31:30 [L][Q]; SHCFG 45:44 [L].
 * dword 2: S2VMID 15:0 [L][Q]; VTCR 50:32: S2T0SZ 37:32, S2SL0 39:38 [L][Q],
 *          S2IR0 41:40, S2OR0 43:42, S2SH0 45:44 [L], S2TG 47:46, S2PS 50:48,
 *          S2AA64 51 [L][Q]; S2ENDI 52, S2PTW 54, S2S 57, S2R 58 [L].
 * dword 3: S2TTB 51:4 [L] (QEMU: 47:4).
 */
static const uint64_t ste_known[4] = {
	MASK(51, 0) | MASK(63, 59),
	MASK(7, 0) | MASK(31, 27) | MASK(45, 44),
	MASK(15, 0) | MASK(52, 32) | BIT(54) | BIT(57) | BIT(58),
	MASK(51, 4),
};

static bool ste_s1_fields(const struct iopt_smmu_ste *e)
{
	return e->s1_ctx_ptr || e->s1_fmt || e->s1_cdmax || e->s1_dss || e->s1_cir || e->s1_cor ||
	       e->s1_csh || e->s1_stalld;
}

static bool ste_s2_fields(const struct iopt_smmu_ste *e)
{
	return e->s2_granule_lg2 || e->s2_ias || e->s2_levels || e->s2_oas || e->s2_ir0 ||
	       e->s2_or0 || e->s2_sh0 || e->s2_endi || e->s2_ptw || e->s2_s || e->s2_r ||
	       e->s2_ttb;
}

/* What the encoding can hold (-EINVAL rules); the SMMU is not looked at. */
static int ste_check(const struct iopt_smmu_ste *e)
{
	enum iopt_smmu_ste_config c = e->config;
	bool s1 = c == IOPT_SMMU_STE_S1 || c == IOPT_SMMU_STE_NESTED;
	bool s2 = c == IOPT_SMMU_STE_S2 || c == IOPT_SMMU_STE_NESTED;

	if (!e->valid)
		return c || ste_s1_fields(e) || ste_s2_fields(e) || e->eats || e->strw || e->shcfg ||
		       e->s2_vmid ? -EINVAL : 0;
	if ((c != IOPT_SMMU_STE_ABORT && c != IOPT_SMMU_STE_BYPASS && !s1 && !s2) ||
	    (!s1 && ste_s1_fields(e)) || (!s2 && ste_s2_fields(e)) || (e->s2_vmid && !s1 && !s2))
		return -EINVAL;
	if (e->eats > 2 || (e->strw != 0 && e->strw != 2) || e->shcfg > 3)
		return -EINVAL;
	if (s1 && ((e->s1_ctx_ptr & ~MASK(51, 6)) || e->s1_fmt > 2 || e->s1_cdmax > 20 ||
		   (e->s1_fmt && !e->s1_cdmax) || e->s1_dss > 2 ||
		   !attrs_valid(e->s1_cir, e->s1_cor, e->s1_csh)))
		return -EINVAL;
	if (s2) {
		unsigned g = e->s2_granule_lg2;
		unsigned b = gran_valid(g) ? start_bits(g, e->s2_ias, e->s2_levels) : 0;
		/* S2SL0 holds start levels 2..0 (4K) or 3..1 (16K/64K) [L io-pgtable-arm, Q]. */
		unsigned lo = g == 12 ? 2 : 1;

		if (!b || !ias_valid(g, e->s2_ias) || e->s2_levels < lo || e->s2_levels > lo + 2 ||
		    ps_enc(e->s2_oas) < 0 || !attrs_valid(e->s2_ir0, e->s2_or0, e->s2_sh0) ||
		    (e->s2_ttb & ~MASK(51, 4)) || (e->s2_ttb & ((8ull << b) - 1)))
			return -EINVAL;
	}
	return 0;
}

int iopt_smmu_ste_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_ste *in,
			 uint64_t out[8])
{
	if (!hw || !in || !out || ste_check(in))
		return -EINVAL;
	if (!in->valid) {
		memset(out, 0, 8 * sizeof(out[0]));
		return 0;
	}
	enum iopt_smmu_ste_config c = in->config;
	bool s1 = c == IOPT_SMMU_STE_S1 || c == IOPT_SMMU_STE_NESTED;
	bool s2 = c == IOPT_SMMU_STE_S2 || c == IOPT_SMMU_STE_NESTED;

	if ((s1 && (!hw->s1p || (in->s1_fmt && !hw->cd2l) || in->s1_cdmax > hw->ssidsize ||
		    (in->s1_stalld && hw->stall_model != 0))) ||
	    (s2 && (!hw->s2p || !gran_hw(hw, in->s2_granule_lg2) || in->s2_ias > hw->oas ||
		    in->s2_oas > hw->oas || !endi_hw(hw, in->s2_endi) ||
		    (in->s2_s && hw->stall_model == 1))) ||
	    ((s1 || s2) && !(hw->ttf & 2)) || (in->eats && !hw->ats) ||
	    (in->strw == 2 && !hw->hyp) || (in->shcfg && !hw->attr_types_ovr) ||
	    (in->s2_vmid && !hw->s2p) || (in->s2_vmid > 0xff && !hw->vmid16))
		return -EOPNOTSUPP;
	unsigned s2oas = in->s2_oas < hw->oas ? in->s2_oas : hw->oas;
	if ((s1 && (in->s1_ctx_ptr >> hw->oas)) || (s2 && (in->s2_ttb >> s2oas)))
		return -ERANGE;

	uint64_t w[8] = { 0 };
	w[0] = 1 | (uint64_t)c << 1;
	w[1] = (uint64_t)in->eats << 28 | (uint64_t)in->strw << 30 | (uint64_t)in->shcfg << 44;
	w[2] = in->s2_vmid;
	if (s1) {
		w[0] |= (uint64_t)in->s1_fmt << 4 | in->s1_ctx_ptr | (uint64_t)in->s1_cdmax << 59;
		w[1] |= in->s1_dss | in->s1_cir << 2 | in->s1_cor << 4 | in->s1_csh << 6 |
			(in->s1_stalld ? BIT(27) : 0);
	}
	if (s2) {
		unsigned g = in->s2_granule_lg2;
		unsigned sl0 = (g == 12 ? 2 : 3) - (4 - in->s2_levels);

		w[2] |= (uint64_t)(64 - in->s2_ias) << 32 | (uint64_t)sl0 << 38 |
			(uint64_t)in->s2_ir0 << 40 | (uint64_t)in->s2_or0 << 42 |
			(uint64_t)in->s2_sh0 << 44 | (uint64_t)tg_enc(g) << 46 |
			(uint64_t)ps_enc(in->s2_oas) << 48 | BIT(51) | (in->s2_endi ? BIT(52) : 0) |
			(in->s2_ptw ? BIT(54) : 0) | (in->s2_s ? BIT(57) : 0) |
			(in->s2_r ? BIT(58) : 0);
		w[3] = in->s2_ttb;
	}
	memcpy(out, w, sizeof(w));
	return 0;
}

int iopt_smmu_ste_decode(const uint64_t in[8], struct iopt_smmu_ste *out)
{
	if (!in || !out)
		return -EINVAL;
	for (int i = 0; i < 8; i++)
		if (in[i] & ~(i < 4 ? ste_known[i] : 0))
			return -EINVAL;
	struct iopt_smmu_ste e = { 0 };
	uint64_t w0 = in[0], w1 = in[1], w2 = in[2];

	e.valid = w0 & 1;
	e.config = (enum iopt_smmu_ste_config)fget(w0, 3, 1);
	e.s1_fmt = (unsigned)fget(w0, 5, 4);
	e.s1_ctx_ptr = w0 & MASK(51, 6);
	e.s1_cdmax = (unsigned)fget(w0, 63, 59);
	e.s1_dss = (unsigned)fget(w1, 1, 0);
	e.s1_cir = (unsigned)fget(w1, 3, 2);
	e.s1_cor = (unsigned)fget(w1, 5, 4);
	e.s1_csh = (unsigned)fget(w1, 7, 6);
	e.s1_stalld = w1 & BIT(27);
	e.eats = (unsigned)fget(w1, 29, 28);
	e.strw = (unsigned)fget(w1, 31, 30);
	e.shcfg = (unsigned)fget(w1, 45, 44);
	e.s2_vmid = (uint16_t)fget(w2, 15, 0);
	if (e.config == IOPT_SMMU_STE_S2 || e.config == IOPT_SMMU_STE_NESTED) {
		unsigned g = tg_dec((unsigned)fget(w2, 47, 46)), sl0 = (unsigned)fget(w2, 39, 38);

		if (!g || sl0 == 3 || fget(w2, 50, 48) == 7 || !(w2 & BIT(51)))
			return -EINVAL;
		e.s2_granule_lg2 = g;
		e.s2_ias = 64 - (unsigned)fget(w2, 37, 32);
		e.s2_levels = 4 - ((g == 12 ? 2 : 3) - sl0);
		e.s2_oas = ps_bits[fget(w2, 50, 48)];
		e.s2_ir0 = (unsigned)fget(w2, 41, 40);
		e.s2_or0 = (unsigned)fget(w2, 43, 42);
		e.s2_sh0 = (unsigned)fget(w2, 45, 44);
		e.s2_endi = w2 & BIT(52);
		e.s2_ptw = w2 & BIT(54);
		e.s2_s = w2 & BIT(57);
		e.s2_r = w2 & BIT(58);
		e.s2_ttb = in[3];
	} else if ((w2 & ~MASK(15, 0)) || in[3]) {
		return -EINVAL;
	}
	/* Everything the encoder would refuse as malformed, the decoder refuses too. */
	if (ste_check(&e))
		return -EINVAL;
	*out = e;
	return 0;
}

int iopt_smmu_ste_s2_from_pt(const struct iopt_smmu_hw *hw, const struct iopt_pt *pt,
			     uint16_t vmid, struct iopt_smmu_ste *ste)
{
	struct iopt_pt_info info;

	if (!hw || !pt || !ste)
		return -EINVAL;
	iopt_pt_get_info(pt, &info);
	if (info.format != IOPT_PT_LPAE_S2)
		return -EINVAL;
	struct iopt_smmu_ste e = {
		.valid = true,
		.config = IOPT_SMMU_STE_S2,
		.s2_vmid = vmid,
		.s2_granule_lg2 = info.granule_lg2,
		.s2_ias = info.ias,
		.s2_levels = info.levels,
		.s2_oas = ps_ceil(info.oas),
		.s2_ptw = true,
		.s2_r = true,
		.s2_ttb = info.root_phys,
	};
	walk_attrs(hw, &e.s2_ir0, &e.s2_or0, &e.s2_sh0);
	*ste = e;
	return 0;
}

/* ----------------------------------------------------------------- CD */

/*
 * dword 0: T0SZ 5:0, TG0 7:6 [L][Q]; IRGN0 9:8, ORGN0 11:10, SH0 13:12
 *          [L]; EPD0 14, ENDI 15, EPD1 30, V 31, IPS 34:32 [L][Q]; AFFD 35
 *          [S]; AA64 41, HD 42, HA 43, S 44, R 45, A 46 [L][Q]; ASET 47 [L];
 *          ASID 63:48 [L][Q].
 * dword 1: TTB0 51:4 [L][Q] (QEMU: 50:4). dword 3: MAIR0 31:0, MAIR1 63:32 [L].
 */
static const uint64_t cd_known0 = MASK(15, 0) | MASK(35, 30) | MASK(63, 41);

static int cd_check(const struct iopt_smmu_cd *c)
{
	if (!c->valid)
		return c->granule_lg2 || c->ias || c->oas || c->ttb0 || c->irgn0 || c->orgn0 ||
		       c->sh0 || c->epd0 || c->endi || c->affd || c->ha || c->hd || c->s || c->r ||
		       c->a || c->aset || c->asid || c->mair ? -EINVAL : 0;
	unsigned g = c->granule_lg2;
	if (!gran_valid(g) || !ias_valid(g, c->ias) || ps_enc(c->oas) < 0 ||
	    !attrs_valid(c->irgn0, c->orgn0, c->sh0) || (c->hd && !c->ha) ||
	    (c->ttb0 & ~MASK(51, 4)))
		return -EINVAL;
	/* TTB0 is aligned to the start table (8 bytes per entry, 16 at least). */
	unsigned b = start_bits(g, c->ias, s1_levels(g, c->ias));
	return c->ttb0 & ((8ull << b) - 1) ? -EINVAL : 0;
}

int iopt_smmu_cd_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_cd *in,
			uint64_t out[8])
{
	if (!hw || !in || !out || cd_check(in))
		return -EINVAL;
	if (!in->valid) {
		memset(out, 0, 8 * sizeof(out[0]));
		return 0;
	}
	if (!gran_hw(hw, in->granule_lg2) || (in->ias > 48 && !hw->vax) || in->oas > hw->oas ||
	    !(hw->ttf & 2) || !endi_hw(hw, in->endi) || (in->ha && hw->httu < 1) ||
	    (in->hd && hw->httu < 2) || (in->s && hw->stall_model == 1) ||
	    (!in->a && hw->term_model) || (in->asid > 0xff && !hw->asid16))
		return -EOPNOTSUPP;
	if (in->ttb0 >> (in->oas < hw->oas ? in->oas : hw->oas))
		return -ERANGE;

	uint64_t w[8] = { 0 };
	w[0] = (uint64_t)(64 - in->ias) | (uint64_t)tg_enc(in->granule_lg2) << 6 |
	       (uint64_t)in->irgn0 << 8 | (uint64_t)in->orgn0 << 10 | (uint64_t)in->sh0 << 12 |
	       (in->epd0 ? BIT(14) : 0) | (in->endi ? BIT(15) : 0) | BIT(30) | BIT(31) |
	       (uint64_t)ps_enc(in->oas) << 32 | (in->affd ? BIT(35) : 0) | BIT(41) |
	       (in->hd ? BIT(42) : 0) | (in->ha ? BIT(43) : 0) | (in->s ? BIT(44) : 0) |
	       (in->r ? BIT(45) : 0) | (in->a ? BIT(46) : 0) | (in->aset ? BIT(47) : 0) |
	       (uint64_t)in->asid << 48;
	w[1] = in->ttb0;
	w[3] = in->mair;
	memcpy(out, w, sizeof(w));
	return 0;
}

int iopt_smmu_cd_decode(const uint64_t in[8], struct iopt_smmu_cd *out)
{
	if (!in || !out || (in[0] & ~cd_known0) || (in[1] & ~MASK(51, 4)) || in[2] || in[4] ||
	    in[5] || in[6] || in[7])
		return -EINVAL;
	uint64_t w0 = in[0];
	struct iopt_smmu_cd c = { 0 };

	if (!(w0 & BIT(31))) {
		if (w0 || in[1] || in[3])
			return -EINVAL;
		*out = c;
		return 0;
	}
	/* The TTB1 half is not ours: EPD1 set, T1SZ..SH1 (bits 29:16) zero. */
	if (!(w0 & BIT(30)) || (w0 & MASK(29, 16)) || !(w0 & BIT(41)) || !tg_dec(fget(w0, 7, 6)) ||
	    fget(w0, 34, 32) == 7)
		return -EINVAL;
	c.valid = true;
	c.ias = 64 - (unsigned)fget(w0, 5, 0);
	c.granule_lg2 = tg_dec((unsigned)fget(w0, 7, 6));
	c.irgn0 = (unsigned)fget(w0, 9, 8);
	c.orgn0 = (unsigned)fget(w0, 11, 10);
	c.sh0 = (unsigned)fget(w0, 13, 12);
	c.epd0 = w0 & BIT(14);
	c.endi = w0 & BIT(15);
	c.oas = ps_bits[fget(w0, 34, 32)];
	c.affd = w0 & BIT(35);
	c.hd = w0 & BIT(42);
	c.ha = w0 & BIT(43);
	c.s = w0 & BIT(44);
	c.r = w0 & BIT(45);
	c.a = w0 & BIT(46);
	c.aset = w0 & BIT(47);
	c.asid = (uint16_t)(w0 >> 48);
	c.ttb0 = in[1];
	c.mair = in[3];
	if (cd_check(&c))
		return -EINVAL;
	*out = c;
	return 0;
}

int iopt_smmu_cd_from_pt(const struct iopt_smmu_hw *hw, const struct iopt_pt *pt, uint16_t asid,
			 struct iopt_smmu_cd *cd)
{
	struct iopt_pt_info info;

	if (!hw || !pt || !cd)
		return -EINVAL;
	iopt_pt_get_info(pt, &info);
	if (info.format != IOPT_PT_LPAE_S1)
		return -EINVAL;
	struct iopt_smmu_cd c = {
		.valid = true,
		.granule_lg2 = info.granule_lg2,
		.ias = info.ias,
		.oas = ps_ceil(info.oas),
		.ttb0 = info.root_phys,
		.ha = info.flags & IOPT_PT_F_HW_DIRTY,
		.hd = info.flags & IOPT_PT_F_HW_DIRTY,
		.r = true,
		.a = true,
		.aset = true,
		.asid = asid,
		.mair = IOPT_SMMU_MAIR_LPAE,
	};
	walk_attrs(hw, &c.irgn0, &c.orgn0, &c.sh0);
	*cd = c;
	return 0;
}

int iopt_smmu_cd_offset(unsigned s1cdmax, uint32_t ssid, uint64_t *off)
{
	if (!off || s1cdmax > 20)
		return -EINVAL;
	if (ssid >> s1cdmax)
		return -ERANGE;
	*off = 64ull * ssid;
	return 0;
}

/* ----------------------------------------------------------- commands */

/*
 * dword 0: opcode 7:0, SSec 10 [Q], SSV 11 [L], SSID 31:12, SID 63:32
 * [L][Q]. dword 1: CFGI_STE/CFGI_CD LEAF 0 [L], CFGI_STE_RANGE Range 4:0
 * [L][Q]. CFGI_ALL is CFGI_STE_RANGE with Range 31 [L] (QEMU's enum value
 * 0x07 for it is not an opcode: 7.2 refuses it as illegal).
 */
struct cmd_shape {
	bool sid, ssid, ssv, leaf, range;
};

static bool cmd_shape(enum iopt_smmu_op op, struct cmd_shape *s)
{
	switch (op) {
	case IOPT_SMMU_CMD_PREFETCH_CONFIG:
		*s = (struct cmd_shape){ .sid = true, .ssid = true, .ssv = true };
		return true;
	case IOPT_SMMU_CMD_CFGI_STE:
		*s = (struct cmd_shape){ .sid = true, .leaf = true };
		return true;
	case IOPT_SMMU_CMD_CFGI_STE_RANGE:
		*s = (struct cmd_shape){ .sid = true, .range = true };
		return true;
	case IOPT_SMMU_CMD_CFGI_CD:
		*s = (struct cmd_shape){ .sid = true, .ssid = true, .leaf = true };
		return true;
	case IOPT_SMMU_CMD_CFGI_CD_ALL:
		*s = (struct cmd_shape){ .sid = true };
		return true;
	case IOPT_SMMU_CMD_TLBI_NSNH_ALL:
		*s = (struct cmd_shape){ 0 };
		return true;
	}
	return false;
}

/* The fields a command of this shape may carry (also what the decoder accepts). */
static int cmd_fields_ok(const struct cmd_shape *s, const struct iopt_smmu_cmd *c)
{
	if ((!s->sid && c->sid) || (!s->ssid && c->ssid) || (!s->ssv && c->ssv) ||
	    (!s->leaf && c->leaf) || (!s->range && c->range) || c->ssid >= BIT(20) ||
	    c->range > 31 || (s->ssv && c->ssid && !c->ssv))
		return -EINVAL;
	return 0;
}

int iopt_smmu_cmd_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_cmd *in,
			 struct iopt_inv_cmd *out)
{
	struct cmd_shape s;

	if (!hw || !in || !out || !cmd_shape(in->op, &s) || cmd_fields_ok(&s, in))
		return -EINVAL;
	if (((uint64_t)in->sid >> hw->sidsize) || (in->ssid >> hw->ssidsize))
		return -EOPNOTSUPP;
	out->w[0] = (uint64_t)in->op | (in->ssv ? BIT(11) : 0) | (uint64_t)in->ssid << 12 |
		    (uint64_t)in->sid << 32;
	out->w[1] = (in->leaf ? 1 : 0) | in->range;
	return 0;
}

int iopt_smmu_cmd_decode(const struct iopt_inv_cmd *cmd, struct iopt_smmu_cmd *out)
{
	struct cmd_shape s;

	if (!cmd || !out)
		return -EINVAL;
	uint64_t w0 = cmd->w[0], w1 = cmd->w[1];
	enum iopt_smmu_op op = (enum iopt_smmu_op)(w0 & 0xff);
	if (!cmd_shape(op, &s))
		return -EINVAL;
	uint64_t k0 = MASK(7, 0) | (s.sid ? MASK(63, 32) : 0) | (s.ssid ? MASK(31, 12) : 0) |
		      (s.ssv ? BIT(11) : 0);
	uint64_t k1 = s.range ? MASK(4, 0) : s.leaf ? 1 : 0;
	if ((w0 & ~k0) || (w1 & ~k1))
		return -EINVAL;
	struct iopt_smmu_cmd c = {
		.op = op,
		.sid = (uint32_t)(w0 >> 32),
		.ssid = (uint32_t)fget(w0, 31, 12),
		.ssv = w0 & BIT(11),
		.leaf = s.leaf && (w1 & 1),
		.range = s.range ? (unsigned)w1 : 0,
	};
	if (cmd_fields_ok(&s, &c))
		return -EINVAL;
	*out = c;
	return 0;
}
