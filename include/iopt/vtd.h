/* SPDX-License-Identifier: MIT */
/*
 * iopt Intel VT-d device context: the structures above the page table that
 * bind a requester (source id = bus << 8 | devfn, and a PASID) to a table,
 * the invalidations they need, and the hardware capabilities (CAP/ECAP)
 * that decide which bits the rest of the library may write.
 *
 *   legacy:   root table (256 x 128 bits, one per bus)
 *             -> context table (256 x 128 bits, one per devfn) -> SS table
 *   scalable: root table (per bus: lower half devfn 0-127, upper 128-255)
 *             -> scalable context table (128 x 256 bits per half)
 *             -> PASID directory (8-byte entries, 64 PASIDs each)
 *             -> PASID table (64 x 512 bits) -> first- or second-stage table
 *
 * Sources, cross-checked field by field (each field below names its bits):
 * QEMU 7.2 hw/i386/intel_iommu_internal.h and intel_iommu.c (layouts and
 * what the model checks), Linux 6.12 drivers/iommu/intel/iommu.h, pasid.h,
 * dmar.c; shared/docs/hw-facts.md §1 and §5.1. docs/QEMU.md says what
 * QEMU's model checks and what it does not.
 *
 * Encoders are pure functions that validate every field and write
 * little-endian 64-bit words (word i = bits 64i+63 .. 64i); on any error
 * they write nothing. Decoders read such words back. Errors (common.h):
 *   -EINVAL      malformed whatever the hardware: a NULL pointer, a pointer
 *                not 4 KiB aligned, an unknown enum value, a value wider
 *                than its field, a field set in a non-present entry or in
 *                an entry type that has no such field, a reserved value
 *                (DID 0 under caching mode); decoders: a bit set outside
 *                the fields this header knows.
 *   -ERANGE      a table pointer at or above 2^hw->haw.
 *   -EOPNOTSUPP  the hardware does not advertise what the field needs
 *                (each field says which CAP/ECAP bit).
 * Context: every function here is pure (no state, no locks, no
 * allocation); any thread may call any of them concurrently.
 */
#ifndef IOPT_VTD_H
#define IOPT_VTD_H

#include <iopt/common.h>
#include <iopt/invalidate.h>
#include <iopt/pgtable.h>

IOPT_BEGIN_DECLS

/* ------------------------------------------------------- capabilities */

/*
 * CAP (offset 0x08) and ECAP (0x10) decoded. Bit numbers are the
 * register's; widths already converted where the field is an encoding.
 * The raw values are kept for fields not listed.
 */
struct iopt_vtd_hw {
	uint64_t cap, ecap;
	/* CAP */
	unsigned int did_bits;  /* ND 2:0: domain ids are did_bits = 4 + 2*ND wide */
	bool afl;               /* 3: advanced fault logging */
	bool rwbf;              /* 4: write-buffer flush required */
	bool caching_mode;      /* CM 7: not-present entries may be cached (IOPT_DMA_F_FLUSH_ON_MAP); DID 0 reserved */
	unsigned int sagaw;     /* 12:8: bit n = (n + 2)-level second-stage tables */
	unsigned int mgaw;      /* 21:16 + 1: IOVA bits the hardware translates */
	unsigned int fro;       /* 33:24 x 16: byte offset of the fault-recording registers */
	bool sllps_2m;          /* 34: second-stage 2 MiB pages */
	bool sllps_1g;          /* 35: second-stage 1 GiB pages */
	bool psi;               /* 39: page-selective IOTLB invalidation */
	unsigned int nfr;       /* 47:40 + 1: number of fault-recording registers */
	unsigned int mamv;      /* 53:48: largest PSI address mask */
	bool dwd;               /* 54: write draining */
	bool drd;               /* 55: read draining */
	bool fl1gp;             /* 56: first-stage 1 GiB pages */
	bool fl5lp;             /* 60: first-stage 5-level paging */
	/* ECAP */
	bool coherent;          /* C 0: table walks snoop the CPU caches */
	bool qi;                /* 1: queued invalidation */
	bool dt;                /* 2: device TLBs (ATS) */
	bool ir;                /* 3: interrupt remapping */
	bool eim;               /* 4: extended interrupt mode */
	bool pt;                /* 6: pass-through */
	bool sc;                /* 7: snoop control (SNP in SS leaves, PGSNP) */
	unsigned int iro;       /* 17:8 x 16: byte offset of the IOTLB registers */
	unsigned int mhmv;      /* 23:20: interrupt-entry-cache handle mask */
	bool nest;              /* 26: nested translation */
	bool prs;               /* 29: page requests */
	bool srs;               /* 31: supervisor requests */
	unsigned int pasid_bits;/* PSS 39:35 + 1: PASID width (with ECAP.PASID) */
	bool pasid;             /* 40: requests with PASID */
	bool pds;               /* 42: page-request drain (wait descriptor PD) */
	bool smts;              /* 43: scalable-mode translation */
	bool ssads;             /* 45: second-stage accessed/dirty (SLADS) */
	bool slts;              /* 46: second-stage translation in scalable mode */
	bool flts;              /* 47: first-stage translation */
	bool smpwc;             /* 48: scalable-mode page-walk coherency (PWSNP) */
	bool rps;               /* 49: RID_PASID other than 0 */
	/*
	 * Host address width: table pointers and output addresses stay below
	 * 2^haw. It is in the ACPI DMAR table, not a register: decode sets 52
	 * (the architectural maximum); a driver that knows it lowers it.
	 * (QEMU: HAW = aw-bits = MGAW.)
	 */
	unsigned int haw;
};

/*
 * iopt_vtd_hw_decode() - decode CAP and ECAP into @hw.
 * Context: pure; any thread.
 * Return: 0, or -EINVAL (NULL @hw, CAP.ND = 7 which is reserved); @hw
 * untouched on error.
 */
IOPT_API int iopt_vtd_hw_decode(uint64_t cap, uint64_t ecap, struct iopt_vtd_hw *hw);

/*
 * iopt_vtd_inv_caps() - the planner capabilities this hardware advertises:
 * psi = CAP.PSI, mamv = CAP.MAMV, drain_read/drain_write = CAP.DRD/DWD
 * (DR/DW in type-2 descriptors), page_drain = ECAP.PDS (PD in the wait
 * descriptor), scalable = ECAP.SMTS (type-6 PASID-based descriptors; clear
 * it when the driver runs the IOMMU in legacy mode).
 * Context: pure; any thread.
 * Return: 0, or -EINVAL (NULL argument).
 */
IOPT_API int iopt_vtd_inv_caps(const struct iopt_vtd_hw *hw, struct iopt_vtd_inv_caps *caps);

/*
 * iopt_vtd_pt_cfg() - a page-table configuration this hardware can walk.
 * @format: IOPT_PT_VTD_SS (second stage: legacy context entries, PASID
 *          entries with PGTT SS or nested) or IOPT_PT_X86_64 (first stage:
 *          PASID entries with PGTT FS or nested; needs ECAP.SMTS and FLTS).
 * @ias:    IOVA bits the caller needs; 0 = CAP.MGAW (SS) or 48 (FS).
 * @flags:  IOPT_PT_F_SPLIT, IOPT_PT_F_SIGN_EXTEND (FS only), and the
 *          capability flags IOPT_PT_F_HW_DIRTY (SS only, needs ECAP.SMTS and
 *          SSADS: the PASID entry's SSADE) and IOPT_PT_F_SNOOP (SS only,
 *          needs ECAP.SC; set here anyway when the hardware has SC).
 * Sets cfg->format, ias, oas (= hw->haw), granule_lg2 (12), start_levels
 * (0), flags and pgsize_bitmap (4 KiB, plus 2 MiB / 1 GiB per CAP.SLLPS for
 * SS; 2 MiB always and 1 GiB per CAP.FL1GP for FS); leaves provider,
 * change_top and flush as the caller set them. cfg->ias becomes the width
 * of the smallest level count that covers @ias and that the hardware
 * offers (CAP.SAGAW for SS: 39/48/57 bits; FS: 48, or 57 with CAP.FL5LP):
 * the table's AW/FLPM. Hardware faults SS IOVAs at or above 2^hw->mgaw, so
 * keep the IOVA space below both limits.
 * Context: pure; any thread.
 * Return: 0; -EINVAL (NULL argument, other format, unknown flag,
 * SIGN_EXTEND with SS, HW_DIRTY or SNOOP with FS, @ias above 57);
 * -EOPNOTSUPP (SS: @ias above MGAW or no SAGAW level count reaches it;
 * FS: no SMTS/FLTS, @ias above 48 without FL5LP; a capability flag the
 * hardware lacks). @cfg untouched on error.
 */
IOPT_API int iopt_vtd_pt_cfg(const struct iopt_vtd_hw *hw, enum iopt_pt_format format,
			     unsigned int ias, unsigned int flags, struct iopt_pt_cfg *cfg);

/* ------------------------------------------------------- legacy mode */

/*
 * Legacy root entry (qw0: P 0, context-table pointer 63:12; qw1 reserved).
 * present = false: every field 0 (the entry is all zero).
 */
struct iopt_vtd_root {
	bool present;
	uint64_t ctp; /* context table, 4 KiB aligned */
};

/*
 * iopt_vtd_root_encode() - encode a legacy root entry into @out[2].
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE (see the header comment).
 */
IOPT_API int iopt_vtd_root_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_root *in,
				 uint64_t out[2]);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit set). */
IOPT_API int iopt_vtd_root_decode(const uint64_t in[2], struct iopt_vtd_root *out);

/* Context-entry translation type (TT, qw0 3:2). */
enum iopt_vtd_tt {
	IOPT_VTD_TT_SS = 0,          /* untranslated requests through the SS table */
	IOPT_VTD_TT_SS_DEVTLB = 1,   /* also ATS translation requests: ECAP.DT */
	IOPT_VTD_TT_PASSTHROUGH = 2, /* untranslated requests pass: ECAP.PT */
};

/*
 * Legacy context entry.
 *   qw0: P 0, FPD 1 (fault processing disable), TT 3:2, SLPTPTR 63:12.
 *   qw1: AW 2:0 (= levels - 2; SAGAW bit AW must be set, also for
 *        pass-through, where it should name the largest one), DID 23:8.
 * present = false: only fpd may be set (FPD of a non-present entry
 * silences its faults).
 */
struct iopt_vtd_context {
	bool present;
	bool fpd;
	enum iopt_vtd_tt tt;
	uint64_t slptptr;    /* SS table root, 4 KiB aligned; 0 for pass-through */
	unsigned int levels; /* 3, 4 or 5 (iopt_pt_root) */
	uint16_t did;        /* < 2^hw->did_bits; not 0 under CAP.CM */
};

/*
 * iopt_vtd_context_encode() - encode a legacy context entry into @out[2].
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP (TT needing DT/PT the hardware
 * lacks, levels not in SAGAW, did beyond did_bits).
 */
IOPT_API int iopt_vtd_context_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_context *in,
				    uint64_t out[2]);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit or TT 3). */
IOPT_API int iopt_vtd_context_decode(const uint64_t in[2], struct iopt_vtd_context *out);

/* ----------------------------------------------------- scalable mode */

/*
 * Scalable-mode root entry: qw0 = lower context table (devfn 0-127), qw1 =
 * upper (devfn 128-255), each: present 0, pointer 63:12. Needs ECAP.SMTS.
 * An absent half has pointer 0.
 */
struct iopt_vtd_sm_root {
	bool lower_present;
	uint64_t lower_ctp;
	bool upper_present;
	uint64_t upper_ctp;
};

/*
 * iopt_vtd_sm_root_encode() - encode a scalable-mode root entry into @out[2].
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP (no ECAP.SMTS).
 */
IOPT_API int iopt_vtd_sm_root_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_sm_root *in,
				    uint64_t out[2]);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit set). */
IOPT_API int iopt_vtd_sm_root_decode(const uint64_t in[2], struct iopt_vtd_sm_root *out);

/*
 * Scalable-mode context entry (256 bits; index devfn & 0x7f in its half).
 *   qw0: P 0, FPD 1, DTE 2, PASIDE 3, PRE 4, PDTS 11:9, PASIDDIRPTR 63:12.
 *   qw1: RID_PASID 19:0.  qw2, qw3: 0.
 * present = false: only fpd may be set.
 */
struct iopt_vtd_sm_context {
	bool present;
	bool fpd;
	bool dte;            /* device TLB (ATS): ECAP.DT */
	bool paside;         /* requests with PASID: ECAP.PASID */
	bool pre;            /* page requests: ECAP.PRS */
	unsigned int pdts;   /* PASID directory of 2^(pdts + 7) entries: 0..7 */
	uint64_t pasid_dir;  /* 4 KiB aligned */
	uint32_t rid_pasid;  /* PASID of requests without one: 20 bits, inside the
				directory; other than 0 needs ECAP.RPS */
};

/*
 * iopt_vtd_sm_context_encode() - encode a scalable-mode context entry into
 * @out[4].
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP (no SMTS; DTE/PASIDE/PRE/RID_PASID
 * without their ECAP bit).
 */
IOPT_API int iopt_vtd_sm_context_encode(const struct iopt_vtd_hw *hw,
				       const struct iopt_vtd_sm_context *in, uint64_t out[4]);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit set). */
IOPT_API int iopt_vtd_sm_context_decode(const uint64_t in[4], struct iopt_vtd_sm_context *out);

/*
 * PASID directory entry (64 bits; index pasid >> 6): P 0, FPD 1, PASID
 * table pointer 63:12. present = false: only fpd may be set.
 */
struct iopt_vtd_pasid_dir {
	bool present;
	bool fpd;
	uint64_t table; /* PASID table (64 entries of 64 bytes), 4 KiB aligned */
};

/*
 * iopt_vtd_pasid_dir_encode() - encode a PASID directory entry into @out.
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP (no ECAP.SMTS).
 */
IOPT_API int iopt_vtd_pasid_dir_encode(const struct iopt_vtd_hw *hw,
				      const struct iopt_vtd_pasid_dir *in, uint64_t *out);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit set). */
IOPT_API int iopt_vtd_pasid_dir_decode(uint64_t in, struct iopt_vtd_pasid_dir *out);

/* PASID-granular translation type (PGTT, qw0 8:6). */
enum iopt_vtd_pgtt {
	IOPT_VTD_PGTT_FS = 1,     /* first stage only: ECAP.FLTS */
	IOPT_VTD_PGTT_SS = 2,     /* second stage only: ECAP.SLTS */
	IOPT_VTD_PGTT_NESTED = 3, /* first over second: ECAP.NEST, FLTS, SLTS */
	IOPT_VTD_PGTT_PT = 4,     /* pass-through: ECAP.PT */
};

/*
 * PASID table entry (512 bits; index pasid & 63). Needs ECAP.SMTS.
 *   qw0: P 0, FPD 1, AW 4:2, PGTT 8:6, SSADE 9, SSPTPTR 63:12.
 *   qw1: DID 15:0, PWSNP 23, PGSNP 24.
 *   qw2: SRE 0, FLPM 3:2 (0 = 4-level, 1 = 5-level), FLPTPTR 63:12.
 *   qw3..qw7: 0.
 * Second-stage fields (ssptptr, ss_levels, ssade) belong to PGTT SS and
 * nested, first-stage ones (flptptr, fs_levels) to FS and nested; set for
 * another type they are -EINVAL. AW is ss_levels - 2 for SS/nested; for
 * FS and pass-through the encoder writes the largest SAGAW level count (as
 * Linux writes iommu->agaw), and the decoder returns ss_levels 0.
 * present = false: only fpd may be set (pgtt 0).
 */
struct iopt_vtd_pasid_encode {
	bool present;
	bool fpd;
	enum iopt_vtd_pgtt pgtt;
	uint16_t did;             /* < 2^hw->did_bits; not 0 under CAP.CM */
	uint64_t ssptptr;         /* SS table root, 4 KiB aligned */
	unsigned int ss_levels;   /* 3..5, in SAGAW */
	bool ssade;               /* SS accessed/dirty: ECAP.SSADS */
	uint64_t flptptr;         /* FS table root, 4 KiB aligned */
	unsigned int fs_levels;   /* 4, or 5 with CAP.FL5LP */
	bool sre;                 /* supervisor requests: ECAP.SRS */
	bool pwsnp;               /* snooped table walks: ECAP.SMPWC */
	bool pgsnp;               /* snooped page accesses: ECAP.SC */
};

/*
 * iopt_vtd_pasid_encode() - encode a PASID table entry into @out[8].
 * Context: pure; any thread.
 * Return: 0, -EINVAL, -ERANGE, -EOPNOTSUPP (see the field list).
 */
IOPT_API int iopt_vtd_pasid_encode(const struct iopt_vtd_hw *hw, const struct iopt_vtd_pasid_encode *in,
				  uint64_t out[8]);
/* Context: pure; any thread. Return: 0, or -EINVAL (NULL, reserved bit, PGTT 0 or > 4 when present). */
IOPT_API int iopt_vtd_pasid_decode(const uint64_t in[8], struct iopt_vtd_pasid_encode *out);

/* -------------------------------------------------- invalidations */

/*
 * Context-cache invalidate descriptor (type 1; 128 bits, in scalable mode
 * the upper 128 bits of the 256-bit slot are 0):
 *   qw0: type 3:0 = 1, granularity 5:4, DID 31:16, SID 47:32, FM 49:48;
 *   qw1: 0.
 * GLOBAL: every context entry (did, sid, fm 0). DOMAIN: entries with @did
 * (sid, fm 0). DEVICE: the entry of @sid in @did, fm = function mask (0..3:
 * ignore SID bits 2, 2:1, 2:0). A changed context entry needs one, then an
 * IOTLB invalidation of its domain (VT-d §6.5.3.3; Linux does the same).
 */
enum iopt_vtd_cc_gran {
	IOPT_VTD_CC_GLOBAL = 1,
	IOPT_VTD_CC_DOMAIN = 2,
	IOPT_VTD_CC_DEVICE = 3,
};

struct iopt_vtd_cc_inv {
	enum iopt_vtd_cc_gran gran;
	uint16_t did;
	uint16_t sid;
	unsigned int fm;
};

/*
 * iopt_vtd_inv_context() - encode a context-cache invalidate descriptor.
 * Context: pure; any thread.
 * Return: 0, -EINVAL (unknown granularity, fm > 3, fields the granularity
 * does not use not 0), -EOPNOTSUPP (did beyond did_bits).
 */
IOPT_API int iopt_vtd_inv_context(const struct iopt_vtd_hw *hw, const struct iopt_vtd_cc_inv *in,
				  struct iopt_inv_cmd *out);
/* Context: pure; any thread. Return: 0, or -EINVAL (other type, granularity 0, reserved bit). */
IOPT_API int iopt_vtd_inv_context_decode(const struct iopt_inv_cmd *cmd, struct iopt_vtd_cc_inv *out);

/*
 * PASID-cache invalidate descriptor (type 7; needs ECAP.SMTS):
 *   qw0: type 3:0 = 7, granularity 5:4, DID 31:16, PASID 51:32; qw1: 0.
 * DOMAIN (0): every PASID entry with @did (pasid 0). PASID (1): the entry
 * of @pasid in @did. GLOBAL (3): every PASID entry (did, pasid 0). A
 * changed PASID entry needs one, then an IOTLB invalidation of its domain.
 */
enum iopt_vtd_pc_gran {
	IOPT_VTD_PC_DOMAIN = 0,
	IOPT_VTD_PC_PASID = 1,
	IOPT_VTD_PC_GLOBAL = 3,
};

struct iopt_vtd_pc_inv {
	enum iopt_vtd_pc_gran gran;
	uint16_t did;
	uint32_t pasid;
};

/*
 * iopt_vtd_inv_pasid_cache() - encode a PASID-cache invalidate descriptor.
 * Context: pure; any thread.
 * Return: 0, -EINVAL (unknown granularity, pasid >= 2^20, fields the
 * granularity does not use not 0), -EOPNOTSUPP (no ECAP.SMTS, did beyond
 * did_bits).
 */
IOPT_API int iopt_vtd_inv_pasid_cache(const struct iopt_vtd_hw *hw, const struct iopt_vtd_pc_inv *in,
				      struct iopt_inv_cmd *out);
/* Context: pure; any thread. Return: 0, or -EINVAL (other type, granularity 2, reserved bit). */
IOPT_API int iopt_vtd_inv_pasid_cache_decode(const struct iopt_inv_cmd *cmd,
					     struct iopt_vtd_pc_inv *out);

/* ------------------------------------------------------------ faults */

/*
 * One primary fault-recording register (128 bits at hw->fro + 16 * i;
 * @frcd[0] = bits 63:0, the one at +0; @frcd[1] = bits 127:64, at +8):
 *   63:12 fault info (the page address), 79:64 SID, 95 PP (PASID present),
 *   103:96 fault reason, 123:104 PASID, 126 T (1 = read, 0 = write),
 *   127 F (a fault is recorded; write 1 to clear it).
 */
struct iopt_vtd_fault {
	uint64_t addr;     /* page of the faulting request */
	uint16_t sid;      /* bus << 8 | devfn */
	uint8_t reason;    /* VT-d fault reason (e.g. 5 write, 6 read, 0xc reserved bit) */
	bool read;         /* T */
	bool has_pasid;    /* PP */
	uint32_t pasid;
};

/*
 * iopt_vtd_fault_decode() - decode a fault-recording register.
 * Context: pure; any thread.
 * Return: 0; -ENOENT (F clear: nothing recorded; @out untouched);
 * -EINVAL (NULL argument).
 */
IOPT_API int iopt_vtd_fault_decode(const uint64_t frcd[2], struct iopt_vtd_fault *out);

IOPT_END_DECLS

#endif /* IOPT_VTD_H */
