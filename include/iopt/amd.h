/* SPDX-License-Identifier: MIT */
/*
 * iopt AMD-Vi structures above the page table: what the hardware advertises
 * (Extended Feature Register), the 256-bit device-table entry (DTE) that
 * binds a requester to a page table, and the commands these need.
 *
 * Sources (facts only; every layout was read in two of them, each field's
 * comment in src/devctx/amd.c says which): QEMU 7.2 hw/i386/amd_iommu.{c,h},
 * Linux 6.12 drivers/iommu/amd/amd_iommu_types.h, init.c and iommu.c,
 * shared/docs/hw-facts.md sections 2 and 5.2.
 *
 * The capability flow, as for the other vendors (vtd.h, smmu.h):
 *   EFR --iopt_amd_hw_decode--> struct iopt_amd_hw
 *        --iopt_amd_pt_cfg-->    struct iopt_pt_cfg  (iopt_pt_create)
 *        --iopt_amd_inv_target-> struct iopt_inv_target (iopt_inv_plan,
 *                                iopt_dma_cfg.inv)
 *        --iopt_amd_dte_encode-> DTE words           (the driver's device table)
 * Every helper refuses with -EOPNOTSUPP what the EFR does not advertise, so
 * nothing downstream can emit a reserved bit.
 *
 * Device-table updates (the driver owns the table; these are its steps):
 *
 *   Install (the entry is not live yet, or V = 0):
 *     1. write words 1, 2, 3 (domain id, interrupt fields);
 *     2. release barrier, then word 0 (V, TV, mode, root, IR/IW) as ONE
 *        64-bit store: the IOMMU never sees V = 1 with a stale domain id;
 *     3. INVALIDATE_DEVTAB_ENTRY (iopt_amd_inv_dte) for the device id, then
 *        COMPLETION_WAIT (iopt_inv_wait_amd) and wait for its store: until
 *        then the IOMMU may use a cached copy of the old entry.
 *   Grow (the AMD v1 table got a new top, iopt_pt_cfg.change_top):
 *     1. new word 0 = iopt_amd_dte_top(old word 0, root_phys, levels): only
 *        mode and root change, and they share word 0, so ONE 64-bit store
 *        switches them together. Both entries translate the old reach the
 *        same way (the new top's entry 0 points at the old root), so a
 *        walker racing with the store sees a valid table either way;
 *     2. INVALIDATE_DEVTAB_ENTRY for every device id using the table, then
 *        COMPLETION_WAIT, all before the hook returns: the map that grew
 *        the table writes above the old reach only after the hook, and a
 *        DMA may use the new IOVA as soon as that map returns. No IOTLB
 *        invalidation: no translation changed.
 *   Detach / teardown:
 *     1. word 0 = V | TV (mode 0, IR = IW = 0: every DMA is refused), one
 *        store; 2. INVALIDATE_DEVTAB_ENTRY; 3. INVALIDATE_IOMMU_PAGES of the
 *        domain, all pages, PDE = 1 (iopt_inv_plan_scope), since IOTLB
 *        entries are tagged with the domain, not the entry; 4. COMPLETION_
 *        WAIT; only then free or reuse the page table and the domain id.
 *
 * Fields the encoder leaves at their safe defaults (zero), documented so a
 * driver that needs them knows where they are: word 1 I (IOTLB/ATS, bit 32),
 * SE/SA (event suppression, 33/34: faults stay reported), IoCtl (36:35 = 0:
 * port I/O requests are aborted), Cache (37), SD (38), EX (39), SysMgt
 * (41:40 = 0: system-management requests aborted); word 2 interrupt
 * remapping (IV bit 0 = 0: the IOMMU does not remap the device's interrupts,
 * as Linux without interrupt remapping; a driver that remaps ORs IV,
 * IntTabLen, IntTableRootPtr, IntCtl and the pass bits in after encoding);
 * word 3 zero. iopt_amd_dte_top keeps every bit outside mode and root.
 *
 * Errors (common.h): -EINVAL for a malformed value, -EOPNOTSUPP for a field
 * or command the EFR does not advertise. Nothing is written on error.
 * Context: every function here is pure (no state, no locks, no allocation);
 * any thread.
 */
#ifndef IOPT_AMD_H
#define IOPT_AMD_H

#include <iopt/common.h>
#include <iopt/invalidate.h>
#include <iopt/pgtable.h>

IOPT_BEGIN_DECLS

/* Register offsets in the IOMMU's MMIO block (QEMU amd_iommu.h, Linux MMIO_*_OFFSET). */
#define IOPT_AMD_MMIO_DEVTAB   0x0000u /* device table base 51:12 | size (4 KiB units - 1) 8:0 */
#define IOPT_AMD_MMIO_CMDBUF   0x0008u /* command buffer base 51:12 | ComLen (log2 entries) 59:56 */
#define IOPT_AMD_MMIO_EVTLOG   0x0010u /* event log base 51:12 | EvtLen 59:56 */
#define IOPT_AMD_MMIO_CONTROL  0x0018u
#define IOPT_AMD_MMIO_EFR      0x0030u /* Extended Feature Register */
#define IOPT_AMD_MMIO_CMD_HEAD 0x2000u /* byte offsets, bits 18:4 */
#define IOPT_AMD_MMIO_CMD_TAIL 0x2008u
#define IOPT_AMD_MMIO_EVT_HEAD 0x2010u
#define IOPT_AMD_MMIO_EVT_TAIL 0x2018u
#define IOPT_AMD_MMIO_STATUS   0x2020u

/* Control register bits (QEMU AMDVI_MMIO_CONTROL_*, Linux CONTROL_*). */
#define IOPT_AMD_CTRL_IOMMU_EN  (1ull << 0)
#define IOPT_AMD_CTRL_EVTLOG_EN (1ull << 2)
#define IOPT_AMD_CTRL_COMWAIT_INT_EN (1ull << 4)
#define IOPT_AMD_CTRL_CMDBUF_EN (1ull << 12)

/*
 * What the Extended Feature Register (MMIO 0x30) advertises. Bit positions:
 * QEMU AMDVI_FEATURE_* / AMDVI_[GH]ATS_MODE and Linux FEATURE_* agree on
 * every field both name; HATS is in QEMU and hw-facts §2.1 (Linux init.c
 * of later kernels), SmiFSup only in the AMD specification's register
 * table (no source here defines it; decoded for completeness, used by
 * nothing).
 */
struct iopt_amd_hw {
	uint64_t efr;          /* the register as read */
	bool pref;             /* PreFSup, bit 0: PREFETCH_IOMMU_PAGES */
	bool ppr;              /* PPRSup, bit 1: peripheral page requests (DTE PPR) */
	bool xt;               /* XTSup, bit 2: x2APIC interrupts */
	bool nx;               /* NXSup, bit 3: no-execute in guest tables */
	bool gt;               /* GTSup, bit 4: guest (v2 / PASID) translation */
	bool ia;               /* IASup, bit 6: INVALIDATE_IOMMU_ALL */
	bool ga;               /* GASup, bit 7: guest virtual APIC */
	bool he;               /* HESup, bit 8: hardware error registers */
	bool pc;               /* PCSup, bit 9: performance counters */
	unsigned hats;         /* HATS, bits 11:10: host levels = 4 + HATS; 3 = none */
	unsigned gats;         /* GATS, bits 13:12: 0 = 4-level, 1 = 5-level guest tables */
	unsigned glx;          /* GLXSup, bits 15:14: GCR3 table levels - 1 */
	unsigned smif;         /* SmiFSup, bits 17:16 */
	unsigned pasmax;       /* PASmax, bits 36:32: PASID width - 1 */
	bool gio;              /* GIoSup, bit 48: DTE GIOV */
	bool ha;               /* HASup, bit 49: host access bit updates */
	bool hd;               /* HDSup, bit 52: host dirty updates (DTE HAD = 11b) */
	/* Derived, what the helpers below use. */
	unsigned host_levels;  /* 4 + HATS (4..6); 0 when HATS = 3: no host translation */
	unsigned guest_levels; /* GT: 4 or 5 (GATS); 0 without GT or with a reserved GATS */
	unsigned pasid_bits;   /* PASmax + 1 when guest_levels; else 0 (no PASID, no GN) */
};

/*
 * iopt_amd_hw_decode() - decode the Extended Feature Register.
 * @efr: MMIO 0x30 as read. @hw: receives the fields.
 * QEMU 7.2 reads 0x29d3: PreF, PPR, GT, IA, GA, HE; HATS 2 (6 levels);
 * GATS 2 is reserved, so guest_levels = 0 (and QEMU's walker has no guest
 * translation anyway: docs/QEMU.md).
 * Return: 0, or -EINVAL (NULL @hw).
 */
IOPT_API int iopt_amd_hw_decode(uint64_t efr, struct iopt_amd_hw *hw);

/*
 * iopt_amd_pt_cfg() - a page-table configuration the IOMMU can walk.
 * @format: IOPT_PT_AMD_V1 (host table; DTE mode/root) or IOPT_PT_X86_64
 *   (AMD v2 guest table behind a GCR3 table; needs hw->guest_levels).
 * @ias: IOVA bits; 0 = the most the hardware walks: v1 min(64, 12 + 9 *
 *   host_levels); v2 47 or 56 (PASID 0 is used without sign extension,
 *   hw-facts §3.2).
 * @start_levels: v1 levels to start with (0 = 3, clamped to what @ias
 *   needs; the table grows on demand, see change_top); must be 0 for v2.
 * @flags: IOPT_PT_F_* passed on; IOPT_PT_F_HW_DIRTY needs hw->hd.
 * @cfg: zeroed, then format, ias, start_levels, flags and pgsize_bitmap
 *   set: v1 every size 4 KiB..2^51 but 512 GiB (§2.4) that a level the
 *   hardware walks holds (levels 1..min(host_levels, 5)); v2 4K/2M/1G.
 *   The caller adds provider, flush and, for v1, change_top: a hook that
 *   follows "Grow" in the header comment (iopt_amd_dte_top, then
 *   INVALIDATE_DEVTAB_ENTRY + COMPLETION_WAIT for every device on the table).
 * Return: 0; -EINVAL (NULL @hw/@cfg, another format, @ias below the
 *   format's minimum, start_levels > 6 or given for v2, SIGN_EXTEND for
 *   v2); -EOPNOTSUPP (v1 without host translation, v2 without usable guest
 *   translation, @ias or @start_levels beyond the levels advertised,
 *   HW_DIRTY without HDSup). @cfg untouched on error.
 */
IOPT_API int iopt_amd_pt_cfg(const struct iopt_amd_hw *hw, enum iopt_pt_format format,
			     unsigned ias, unsigned start_levels, unsigned flags,
			     struct iopt_pt_cfg *cfg);

/*
 * iopt_amd_inv_caps() - planner capabilities: max_order 51 (every S=1 block
 * up to 2^51; above it the all-pages form, as Linux). The EFR has no field
 * that narrows INVALIDATE_IOMMU_PAGES.
 * Return: 0, or -EINVAL (NULL argument).
 */
IOPT_API int iopt_amd_inv_caps(const struct iopt_amd_hw *hw, struct iopt_amd_inv_caps *caps);

/*
 * iopt_amd_inv_target() - a complete planner target (vendor AMD, caps from
 * iopt_amd_inv_caps, @scope copied, default policy) for iopt_inv_plan and
 * iopt_dma_cfg.inv, after checking @scope against the hardware: a PASID
 * (GN = 1 in every command) needs guest translation.
 * Return: 0; -EINVAL (NULL argument, PASID above 20 bits); -EOPNOTSUPP
 * (has_pasid without hw->pasid_bits, PASID at or above 2^pasid_bits).
 * @t untouched on error.
 */
IOPT_API int iopt_amd_inv_target(const struct iopt_amd_hw *hw,
				 const struct iopt_amd_inv_scope *scope, struct iopt_inv_target *t);

/*
 * A device-table entry's fields (words: w[0] bits 63:0 ... w[3] bits 255:192).
 *   valid:  V (w0 bit 0). false: the IOMMU ignores the entry and does not
 *           translate the device's DMA (QEMU 7.2 passes it through); every
 *           other field must be 0. To refuse all DMA use V = TV = 1, mode
 *           0, IR = IW = 0 (the teardown entry below).
 *   tv:     TV (w0 bit 1): translation fields valid. false needs mode 0 and
 *           root 0.
 *   mode:   w0 11:9: 0 = no translation (IR/IW alone gate DMA), 1..6 =
 *           levels of the host table at @root.
 *   root:   w0 51:12: host table root, 4 KiB aligned, < 2^52; 0 with mode 0.
 *   ir, iw: w0 61, 62: read/write permission, ANDed with the tables'.
 *   domain: w1 15:0: tags the IOTLB entries (INVALIDATE_IOMMU_PAGES scope).
 *   ppr:    w0 52: peripheral page requests (needs hw->ppr).
 *   dirty:  HAD = 11b (w0 8:7): host access/dirty updates (needs hw->hd).
 *   gv:     GV (w0 55): guest translation through the GCR3 table at @gcr3
 *           (needs hw->guest_levels); the guest fields below need it:
 *   giov:   GIOV (w0 54): untagged DMA uses PASID 0's guest table (hw->gio).
 *   glx:    GLX (w0 57:56): GCR3 table levels - 1, <= hw->glx (0 or 1).
 *   gcr3:   GCR3 table root, 4 KiB aligned, < 2^52: bits 14:12 in w0 60:58,
 *           30:15 in w1 31:16, 51:31 in w1 63:43.
 *   guest_levels: 0 or 4 (4-level guest tables) or 5 (w2 55:54 = 1; needs
 *           hw->guest_levels 5).
 */
struct iopt_amd_dte {
	bool valid;
	bool tv;
	unsigned mode;
	uint64_t root;
	bool ir, iw;
	uint16_t domain;
	bool ppr;
	bool dirty;
	bool gv;
	bool giov;
	unsigned glx;
	uint64_t gcr3;
	unsigned guest_levels;
};

/*
 * iopt_amd_dte_encode() - encode @in as the four DTE words.
 * Everything not in struct iopt_amd_dte is 0 (see the header comment).
 * Return: 0; -EINVAL (NULL argument, mode > 6, root or gcr3 not 4 KiB
 * aligned or >= 2^52, root without a mode, mode or root with tv false,
 * a field with valid false, a guest field without gv, glx > 1,
 * guest_levels not 0/4/5); -EOPNOTSUPP (mode above hw->host_levels, ppr,
 * dirty, gv, giov, glx or 5 guest levels the EFR does not advertise).
 * @out untouched on error.
 */
IOPT_API int iopt_amd_dte_encode(const struct iopt_amd_hw *hw, const struct iopt_amd_dte *in,
				 uint64_t out[4]);

/*
 * iopt_amd_dte_decode() - read the fields of struct iopt_amd_dte back from
 * four DTE words (other bits are ignored).
 * guest_levels reads 4 or 5 when gv is set, 0 otherwise.
 * Return: 0, or -EINVAL (NULL argument, mode 7, gv with a reserved guest
 * paging mode 2 or 3). @out untouched on error.
 */
IOPT_API int iopt_amd_dte_decode(const uint64_t in[4], struct iopt_amd_dte *out);

/*
 * iopt_amd_dte_top() - word 0 of a live DTE after its host table grew
 * (the change_top hook's root_phys and levels): @word0 with mode = @levels
 * and root = @root, every other bit kept. Store it with one 64-bit write,
 * then invalidate as "Grow" in the header comment says.
 * Return: 0; -EINVAL (NULL @out or @hw, @word0 without V and TV, @levels 0
 * or > 6, @root not 4 KiB aligned or >= 2^52); -EOPNOTSUPP (@levels above
 * hw->host_levels). @out untouched on error.
 */
IOPT_API int iopt_amd_dte_top(const struct iopt_amd_hw *hw, uint64_t word0, uint64_t root,
			      unsigned levels, uint64_t *out);

/*
 * iopt_amd_inv_dte() - INVALIDATE_DEVTAB_ENTRY (opcode 0x02) for @devid
 * (bus << 8 | devfn): w0 = devid | 0x2 << 60, w1 = 0 (Linux build_inv_dte,
 * QEMU amdvi_inval_devtab_entry, which flags any other bit as illegal).
 * Return: 0, or -EINVAL (NULL @out).
 */
IOPT_API int iopt_amd_inv_dte(uint16_t devid, struct iopt_inv_cmd *out);

/*
 * iopt_amd_inv_dte_decode() - the device id of an INVALIDATE_DEVTAB_ENTRY.
 * Return: 0, or -EINVAL (NULL argument, another opcode, a reserved bit set).
 * @devid untouched on error.
 */
IOPT_API int iopt_amd_inv_dte_decode(const struct iopt_inv_cmd *cmd, uint16_t *devid);

/*
 * iopt_amd_inv_all() - INVALIDATE_IOMMU_ALL (opcode 0x08; w0 = 0x8 << 60,
 * w1 = 0): every cached translation, DTE and interrupt entry.
 * iopt_inv_decode_amd decodes it as IOPT_INV_GLOBAL.
 * Return: 0; -EINVAL (NULL argument); -EOPNOTSUPP (no IASup).
 */
IOPT_API int iopt_amd_inv_all(const struct iopt_amd_hw *hw, struct iopt_inv_cmd *out);

IOPT_END_DECLS

#endif /* IOPT_AMD_H */
