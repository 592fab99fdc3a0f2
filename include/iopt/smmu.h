/* SPDX-License-Identifier: MIT */
/*
 * iopt SMMUv3 device context: what binds a StreamID to an iopt page table
 * on an Arm SMMUv3, and the commands that invalidate it (hw-facts §4, §5.3).
 *
 *   IDR0..IDR5 -> struct iopt_smmu_hw (iopt_smmu_hw_decode), from which
 *                 iopt_smmu_inv_caps (planner) and iopt_smmu_pt_cfg (table)
 *                 give the rest of the library only what the SMMU advertises
 *   stream table  linear or 2-level: STRTAB_BASE / STRTAB_BASE_CFG values,
 *                 level-1 descriptors, where StreamID n lives
 *   STE           64-byte stream table entry: abort, bypass, stage 1 (CD),
 *                 stage 2 (VTCR fields from an LPAE_S2 table), nested
 *   CD            64-byte context descriptor: TTB0, TCR fields from an
 *                 LPAE_S1 table's geometry, ASID, MAIR; linear CD tables
 *   commands      CFGI_STE, CFGI_STE_RANGE (= CFGI_ALL), CFGI_CD, CFGI_CD_ALL,
 *                 PREFETCH_CONFIG, TLBI_NSNH_ALL (iopt_smmu_cmd_*); the
 *                 TLBI_NH_* / TLBI_S2_* / CMD_SYNC commands are invalidate.h's
 *
 * Layouts: Linux 6.12 drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h and QEMU 7.2
 * hw/arm/smmuv3-internal.h, cross-checked field by field; src/devctx/smmu.c
 * names each field's sources (and the few known to one source only).
 * Entries are arrays of little-endian 64-bit words, w[0] = bits 63:0.
 *
 * Every encoder is pure and validates every field; on error nothing is
 * written. Errors, the same for all of them:
 *   -EINVAL      the encoding cannot hold the value: field too wide,
 *                misaligned address, reserved encoding, a field of a stage
 *                the configuration does not use set, a NULL pointer;
 *   -EOPNOTSUPP  the encoding holds it but the SMMU (struct iopt_smmu_hw)
 *                does not advertise it: stage 2 without IDR0.S2P, a granule
 *                IDR5 lacks, 16-bit ASID/VMID without ASID16/VMID16, HW
 *                dirty without IDR0.HTTU, StreamID/SSID past IDR1, ...;
 *   -ERANGE      an address beyond the SMMU's output size (IDR5.OAS), or a
 *                StreamID / SubstreamID beyond the table it is looked up in.
 * Context: every function here is pure (no state, no locks, no allocation)
 * except the *_from_pt helpers, which read the table's geometry (any
 * thread, while the table exists); any thread may call any of them.
 */
#ifndef IOPT_SMMU_H
#define IOPT_SMMU_H

#include <iopt/common.h>
#include <iopt/invalidate.h>
#include <iopt/pgtable.h>

IOPT_BEGIN_DECLS

/* ------------------------------------------------------- capabilities */

/*
 * The SMMU's ID registers, decoded. Only what the encoders, the planner
 * and the table configuration look at, plus the queue and stream-table
 * sizes a driver needs; idr[] keeps the raw values.
 */
struct iopt_smmu_hw {
	uint32_t idr[6];
	/* IDR0 */
	bool s2p, s1p;           /* stage 2 / stage 1 translation */
	unsigned ttf;            /* table formats: 1 AArch32, 2 AArch64, 3 both */
	bool cohacc;             /* coherent table walks and queue accesses */
	unsigned httu;           /* 0 none, 1 access flag, 2 access flag + dirty */
	bool hyp;                /* EL2 StreamWorld (STE.STRW = EL2) */
	bool ats, pri;
	bool asid16, vmid16;     /* else 8-bit ASID / VMID */
	bool msi, sev;           /* MSI / SEV completion of CMD_SYNC, queues */
	bool cd2l;               /* 2-level CD tables */
	unsigned ttendian;       /* 0 mixed, 2 little-endian only, 3 big-endian only */
	unsigned stall_model;    /* 0 stall and terminate, 1 terminate only, 2 stall forced */
	bool term_model;         /* 1: a terminated transaction always aborts (CD.A must be 1) */
	bool st_2lvl;            /* ST_LEVEL: 2-level stream table */
	/* IDR1 */
	unsigned sidsize;        /* StreamID bits, 0..32 */
	unsigned ssidsize;       /* SubstreamID bits, 0..20 */
	unsigned cmdqs, eventqs, priqs; /* log2 of the largest queue, entries */
	bool attr_types_ovr;     /* STE.SHCFG (and MTCFG...) override incoming attributes */
	bool rel, queues_preset, tables_preset;
	/* IDR3 */
	bool had;                /* hierarchical attribute disable (CD.HAD0/1) */
	bool ril;                /* range invalidation (TLBI with TG/NUM/SCALE) */
	unsigned bbml;           /* break-before-make level: 0, 1, 2 */
	/* IDR5 */
	unsigned oas;            /* output address bits: 32, 36, 40, 42, 44, 48, 52 */
	bool gran4k, gran16k, gran64k;
	bool vax;                /* 52-bit VA (stage 1, 64K granule) */
	unsigned stall_max;
};

/*
 * iopt_smmu_hw_decode() - decode SMMU_IDR0..IDR5 (offsets 0x0..0x14).
 * @idr: the six registers; IDR2 (VATOS) and IDR4 (implementation defined)
 *       are only kept raw.
 * @hw:  filled on success (zeroed first).
 * Context: pure; any thread.
 * Return: 0, or -EINVAL for a NULL argument or a value a conforming SMMU
 * does not report: IDR0.TTF 0, HTTU 3, TTENDIAN 1, STALL_MODEL 3, ST_LEVEL
 * 2 or 3, no stage, IDR1.SIDSIZE > 32, SSIDSIZE > 20, IDR3.BBML 3, IDR5.OAS
 * 7, no granule.
 */
IOPT_API int iopt_smmu_hw_decode(const uint32_t idr[6], struct iopt_smmu_hw *hw);

/*
 * iopt_smmu_inv_caps() - planner capabilities for tables of @granule_lg2.
 * range_inv = IDR3.RIL: a driver may clear it afterwards (a TG=0 command
 * per descriptor is always allowed), never set it.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, granule not 12/14/16); -EOPNOTSUPP (granule not
 * in IDR5).
 */
IOPT_API int iopt_smmu_inv_caps(const struct iopt_smmu_hw *hw, unsigned granule_lg2,
				struct iopt_smmu_inv_caps *caps);

/*
 * iopt_smmu_pt_cfg() - the page-table configuration this SMMU can walk.
 * @stage:       1 (IOPT_PT_LPAE_S1, needs IDR0.S1P) or 2 (LPAE_S2, S2P).
 * @granule_lg2: 12, 14 or 16, advertised in IDR5.
 * @ias:         input bits; 0 = 48 (stage 2: at most the SMMU's OAS).
 *               25..48 (T0SZ 16..39) and at least one full level below the
 *               top (29 bits with 64K); 49..52 only with the 64K granule and
 *               IOPT_PT_F_LPA, and stage 1 needs IDR5.VAX for them.
 * @flags:       IOPT_PT_F_SPLIT (needs IDR3.BBML 2: a block is replaced by
 *               a table without break-before-make), IOPT_PT_F_NO_CONTIG,
 *               IOPT_PT_F_HW_DIRTY (stage 1 only, needs IDR0.HTTU = 2; the
 *               CD then gets HA and HD), IOPT_PT_F_LPA (64K granule, needs
 *               OAS 52).
 * @cfg: zeroed, then format, ias, oas (IDR5.OAS, capped at 48 without
 *       LPA), granule_lg2 and flags set; pgsize_bitmap 0 = every size of the
 *       granule (an SMMU that has a granule walks all its block sizes and
 *       contiguous runs). The caller adds provider and callbacks.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, stage not 1/2, granule not 12/14/16, unknown or
 * non-ARM flag, ias out of range, LPA without the 64K granule);
 * -EOPNOTSUPP (what the SMMU lacks, as listed).
 */
IOPT_API int iopt_smmu_pt_cfg(const struct iopt_smmu_hw *hw, unsigned stage, unsigned granule_lg2,
			      unsigned ias, unsigned flags, struct iopt_pt_cfg *cfg);

/* ------------------------------------------------------- stream table */

/*
 * A stream table: linear (split 0) or 2-level.
 *   base:     guest-physical address of the linear table (64 << log2size
 *             bytes) or of the level-1 table (8 << (log2size - split)
 *             bytes, at least 64), aligned to that size.
 *   log2size: StreamIDs 0 .. 2^log2size - 1 (at most IDR1.SIDSIZE).
 *   split:    0 = linear; 6, 8 or 10 = 2-level (IDR0.ST_LEVEL): each level-1
 *             descriptor points to a level-2 table of 2^split STEs
 *             (64 << split bytes, aligned to it). split <= log2size.
 *   ra:       STRTAB_BASE.RA, the read-allocate hint for table fetches.
 */
struct iopt_smmu_strtab {
	uint64_t base;
	unsigned log2size;
	unsigned split;
	bool ra;
};

/*
 * iopt_smmu_strtab_regs() - values for SMMU_STRTAB_BASE (0x80, 64-bit) and
 * SMMU_STRTAB_BASE_CFG (0x88).
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, log2size > 32, split not 0/6/8/10 or above
 * log2size, base misaligned or >= 2^52); -EOPNOTSUPP (log2size above
 * IDR1.SIDSIZE, 2-level without ST_LEVEL); -ERANGE (base beyond OAS).
 */
IOPT_API int iopt_smmu_strtab_regs(const struct iopt_smmu_hw *hw, const struct iopt_smmu_strtab *st,
				   uint64_t *base_reg, uint32_t *cfg_reg);

/* Where a StreamID's STE lives (iopt_smmu_strtab_locate). */
struct iopt_smmu_ste_loc {
	uint64_t l1_off;  /* 2-level: byte offset of the level-1 descriptor (0 if linear) */
	uint64_t ste_off; /* byte offset of the STE in the linear or the level-2 table */
};

/*
 * iopt_smmu_strtab_locate() - where StreamID @sid lives in @st.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, @st malformed as for iopt_smmu_strtab_regs);
 * -ERANGE (sid >= 2^log2size).
 */
IOPT_API int iopt_smmu_strtab_locate(const struct iopt_smmu_strtab *st, uint32_t sid,
				     struct iopt_smmu_ste_loc *loc);

/*
 * iopt_smmu_l1_desc() - level-1 descriptor pointing at the level-2 table
 * @l2_phys (64 << st->split bytes, aligned to that): SPAN = split + 1 (the
 * table holds all 2^split STEs), L2Ptr. An invalid descriptor is 0.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, linear @st, l2_phys misaligned or >= 2^52);
 * -ERANGE (l2_phys beyond OAS).
 */
IOPT_API int iopt_smmu_l1_desc(const struct iopt_smmu_hw *hw, const struct iopt_smmu_strtab *st,
			       uint64_t l2_phys, uint64_t *desc);

/*
 * iopt_smmu_l1_decode() - L2Ptr and SPAN of a level-1 descriptor (span 0:
 * invalid; the table holds 2^(span - 1) STEs).
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, SPAN > 12, bits outside L2Ptr and SPAN set).
 */
IOPT_API int iopt_smmu_l1_decode(uint64_t desc, uint64_t *l2_phys, unsigned *span);

/* ---------------------------------------------------------------- STE */

/* STE.Config (bits 3:1). */
enum iopt_smmu_ste_config {
	IOPT_SMMU_STE_ABORT = 0,  /* every transaction aborts, no event */
	IOPT_SMMU_STE_BYPASS = 4, /* both stages bypass */
	IOPT_SMMU_STE_S1 = 5,     /* stage 1 translates (CD), stage 2 bypass */
	IOPT_SMMU_STE_S2 = 6,     /* stage 1 bypass, stage 2 translates */
	IOPT_SMMU_STE_NESTED = 7, /* both */
};

/*
 * A stream table entry. Fields of a stage the configuration does not use
 * must be 0; so must everything when !valid (the entry is then all zero).
 * Stage 1 (S1, NESTED):
 *   s1_ctx_ptr: the CD, or the linear CD table of 2^s1_cdmax CDs, 64-byte
 *               aligned.
 *   s1_fmt:     0 linear CD table; 1 / 2 two-level with 4K / 64K leaf
 *               tables (IDR0.CD2L, s1_cdmax > 0).
 *   s1_cdmax:   log2 of the CDs: 0 = one CD, no SubstreamIDs (<= SSIDSIZE).
 *   s1_dss:     transactions without a SubstreamID: 0 terminate, 1 bypass
 *               stage 1, 2 use CD 0.
 *   s1_cir, s1_cor, s1_csh: CD fetch attributes (0 NC, 1 WB-RA, 2 WT, 3 WB;
 *               SH 0 non-, 2 outer, 3 inner shareable).
 *   s1_stalld:  stall disable (IDR0.STALL_MODEL 0).
 * Any configuration:
 *   eats:       0 ATS aborted; 1 full ATS, 2 split-stage (IDR0.ATS).
 *   strw:       StreamWorld: 0 NS-EL1, 2 EL2 (IDR0.HYP).
 *   shcfg:      shareability override (IDR1.ATTR_TYPES_OVR for non-zero):
 *               0 non-, 1 incoming, 2 outer, 3 inner shareable.
 *   s2_vmid:    VMID (VMID16 for > 255); non-zero needs IDR0.S2P and a
 *               translating configuration (it tags stage-1 TLB entries too).
 * Stage 2 (S2, NESTED; IDR0.S2P):
 *   s2_granule_lg2: 12/14/16 (S2TG); s2_ias: S2T0SZ = 64 - ias (25..52);
 *   s2_levels:  lookup levels of the table (S2SL0 = start level; the start
 *               level resolves 1 .. bpl + 4 bits: up to 16 concatenated
 *               tables); s2_oas: S2PS (32..52, <= OAS);
 *   s2_ir0, s2_or0, s2_sh0: table walk attributes as above;
 *   s2_endi (big-endian tables, IDR0.TTENDIAN), s2_ptw (protected table
 *   walk), s2_s (stall, STALL_MODEL 0/2), s2_r (record faults);
 *   s2_ttb:     stage-2 root, aligned to the start level's table(s).
 * S2AA64 is always 1 (AArch64 tables, IDR0.TTF bit 1).
 */
struct iopt_smmu_ste {
	bool valid;
	enum iopt_smmu_ste_config config;
	uint64_t s1_ctx_ptr;
	unsigned s1_fmt, s1_cdmax, s1_dss;
	unsigned s1_cir, s1_cor, s1_csh;
	bool s1_stalld;
	unsigned eats, strw, shcfg;
	uint16_t s2_vmid;
	unsigned s2_granule_lg2, s2_ias, s2_levels, s2_oas;
	unsigned s2_ir0, s2_or0, s2_sh0;
	bool s2_endi, s2_ptw, s2_s, s2_r;
	uint64_t s2_ttb;
};

/*
 * iopt_smmu_ste_encode() - the 8 words of an STE.
 * A stage-1 or nested configuration needs IDR0.S1P, stage 2 or nested S2P
 * (-EOPNOTSUPP: QEMU 7.2's SMMUv3 has no stage 2, so this encoder never
 * hands it one), AArch64 tables (TTF).
 * Context: pure; any thread.
 * Return: 0; -EINVAL / -EOPNOTSUPP / -ERANGE (header comment, struct above).
 */
IOPT_API int iopt_smmu_ste_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_ste *in,
				  uint64_t out[8]);

/*
 * iopt_smmu_ste_decode() - the fields of an STE this library can write.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL; reserved Config 1..3, S1Fmt 3, S1DSS 3, STRW 1
 * or 3, EATS 3, S2TG 3, S2PS 7, SL0 3, S2AA64 0 in a stage-2 STE; any bit
 * outside the fields above set, e.g. S2HD/S2HA or MTCFG).
 */
IOPT_API int iopt_smmu_ste_decode(const uint64_t in[8], struct iopt_smmu_ste *out);

/*
 * iopt_smmu_ste_s2_from_pt() - a stage-2 STE (config S2) for @pt: S2T0SZ,
 * S2SL0, S2TG, S2PS from its geometry, S2TTB its root, walk attributes
 * write-back inner shareable if IDR0.COHACC else non-cacheable outer
 * shareable (as Linux's coherent_walk), S2PTW and S2R set, VMID @vmid.
 * The encoder then checks it against the SMMU (no S2P: -EOPNOTSUPP).
 * Context: reads @pt's geometry; any thread.
 * Return: 0; -EINVAL (NULL, @pt not IOPT_PT_LPAE_S2).
 */
IOPT_API int iopt_smmu_ste_s2_from_pt(const struct iopt_smmu_hw *hw, const struct iopt_pt *pt,
				      uint16_t vmid, struct iopt_smmu_ste *ste);

/* ----------------------------------------------------------------- CD */

/*
 * MAIR0 (MAIR1 = 0) matching the attribute indexes the LPAE stage-1 format
 * writes (src/formats/lpae.h, as Linux io-pgtable-arm): index 0 Normal NC
 * (0x44, default), 1 Normal WB RW-allocate (0xff, IOPT_PROT_CACHE), 2
 * Device-nGnRE (0x04, IOPT_PROT_MMIO), 3 inner NC / outer WB (0xf4).
 */
#define IOPT_SMMU_MAIR_LPAE 0xf404ff44ull

/*
 * A stage-1 context descriptor (TTB0 only: EPD1 is always set, TTB1 and the
 * TCR's TTB1 fields are 0; AArch64 tables, AA64 = 1). When !valid every
 * other field must be 0 (the CD is then all zero).
 *   granule_lg2: TG0 (12/14/16, in IDR5); ias: T0SZ = 64 - ias (25..48;
 *                49..52 with the 64K granule and IDR5.VAX); oas: IPS (32,
 *                36, 40, 42, 44, 48, 52, <= OAS);
 *   ttb0:        root of the table, aligned to it (at least 16 bytes), below
 *                2^min(oas, OAS);
 *   irgn0, orgn0, sh0: walk attributes (0 NC, 1 WB-WA, 2 WT, 3 WB; SH 0, 2, 3);
 *   epd0:        TTB0 walks disabled (a miss faults);
 *   endi:        big-endian tables (IDR0.TTENDIAN);
 *   affd:        access flag faults disabled;
 *   ha, hd:      hardware access flag / dirty state update (HTTU >= 1 / 2;
 *                hd needs ha);
 *   s:           stall (STALL_MODEL 0 or 2); r: record faults (events);
 *   a:           abort terminated transactions (0 = RAZ/WI, needs
 *                TERM_MODEL 0);
 *   aset:        ASID set (shared with the PE's ASIDs when 0);
 *   asid:        ASID (8 bits without IDR0.ASID16);
 *   mair:        MAIR0 | MAIR1 << 32.
 */
struct iopt_smmu_cd {
	bool valid;
	unsigned granule_lg2, ias, oas;
	uint64_t ttb0;
	unsigned irgn0, orgn0, sh0;
	bool epd0, endi, affd, ha, hd, s, r, a, aset;
	uint16_t asid;
	uint64_t mair;
};

/*
 * iopt_smmu_cd_encode() - the 8 words of a CD.
 * Context: pure; any thread.
 * Return: 0; -EINVAL / -EOPNOTSUPP / -ERANGE (header comment, struct above).
 */
IOPT_API int iopt_smmu_cd_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_cd *in,
				 uint64_t out[8]);

/*
 * iopt_smmu_cd_decode() - the fields of a CD this library can write.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL; in a valid CD: TG0 3, IPS 7, SH0 1, AA64 0,
 * EPD1 0; any bit outside the fields above set, e.g. T1SZ, TBI, HAD0).
 */
IOPT_API int iopt_smmu_cd_decode(const uint64_t in[8], struct iopt_smmu_cd *out);

/*
 * iopt_smmu_cd_from_pt() - the CD for @pt with @asid: TG0, T0SZ from its
 * granule and ias, IPS the smallest encoding >= its oas, TTB0 its root,
 * MAIR IOPT_SMMU_MAIR_LPAE, walk attributes as iopt_smmu_ste_s2_from_pt,
 * R (record faults), A, ASET; HA and HD when it was created with
 * IOPT_PT_F_HW_DIRTY. The encoder then checks it against the SMMU.
 * Context: reads @pt's geometry; any thread.
 * Return: 0; -EINVAL (NULL, @pt not IOPT_PT_LPAE_S1).
 */
IOPT_API int iopt_smmu_cd_from_pt(const struct iopt_smmu_hw *hw, const struct iopt_pt *pt,
				  uint16_t asid, struct iopt_smmu_cd *cd);

/*
 * iopt_smmu_cd_offset() - byte offset of SubstreamID @ssid's CD in a linear
 * CD table of 2^s1cdmax CDs (STE.S1Fmt 0): 64 * ssid.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, s1cdmax > 20); -ERANGE (ssid >= 2^s1cdmax).
 */
IOPT_API int iopt_smmu_cd_offset(unsigned s1cdmax, uint32_t ssid, uint64_t *off);

/* ----------------------------------------------------------- commands */

/* Opcodes of the configuration commands (bits 7:0). */
enum iopt_smmu_op {
	IOPT_SMMU_CMD_PREFETCH_CONFIG = 0x01,
	IOPT_SMMU_CMD_CFGI_STE = 0x03,
	IOPT_SMMU_CMD_CFGI_STE_RANGE = 0x04, /* range 31 is CFGI_ALL */
	IOPT_SMMU_CMD_CFGI_CD = 0x05,
	IOPT_SMMU_CMD_CFGI_CD_ALL = 0x06,
	IOPT_SMMU_CMD_TLBI_NSNH_ALL = 0x30,  /* every non-secure non-hyp TLB entry */
};
#define IOPT_SMMU_CFGI_ALL_RANGE 31u

/*
 * A configuration command; fields the opcode does not use must be 0.
 *   sid:   StreamID (all but TLBI_NSNH_ALL), < 2^IDR1.SIDSIZE.
 *   ssid:  CFGI_CD: the CD's SubstreamID; PREFETCH_CONFIG with ssv.
 *   ssv:   PREFETCH_CONFIG: ssid is valid.
 *   leaf:  CFGI_STE / CFGI_CD: only the STE / CD changed, not a level-1
 *          descriptor above it (cached level-1 entries may be kept).
 *   range: CFGI_STE_RANGE: the 2^(range + 1) StreamIDs aligned around sid;
 *          31 = all (CFGI_ALL, sid ignored by hardware, give 0).
 * After the commands that matter, a CMD_SYNC (iopt_inv_sync_smmu) waits
 * for them.
 */
struct iopt_smmu_cmd {
	enum iopt_smmu_op op;
	uint32_t sid, ssid;
	bool ssv, leaf;
	unsigned range;
};

/*
 * iopt_smmu_cmd_encode() - one configuration command.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, unknown opcode, a field the opcode does not
 * use, ssid >= 2^20, range > 31); -EOPNOTSUPP (sid past IDR1.SIDSIZE, ssid
 * past SSIDSIZE).
 */
IOPT_API int iopt_smmu_cmd_encode(const struct iopt_smmu_hw *hw, const struct iopt_smmu_cmd *in,
				  struct iopt_inv_cmd *out);

/*
 * iopt_smmu_cmd_decode() - decode what iopt_smmu_cmd_encode writes
 * (TLBI_NSNH_ALL also decodes with iopt_inv_decode_smmu, as IOPT_INV_GLOBAL).
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL, another opcode, bits outside its fields set,
 * SSec).
 */
IOPT_API int iopt_smmu_cmd_decode(const struct iopt_inv_cmd *cmd, struct iopt_smmu_cmd *out);

IOPT_END_DECLS

#endif /* IOPT_SMMU_H */
