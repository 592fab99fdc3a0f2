/* SPDX-License-Identifier: MIT */
/*
 * iopt invalidation planners: turn gathered IOVA ranges into the fewest
 * IOTLB invalidation commands of one vendor, encoded bit-exactly, and decode
 * such commands back to address ranges.
 *
 * Vendors (field layouts: shared/docs/hw-facts.md section 5):
 *   VT-d   IOTLB invalidate (type 2) or PASID-based IOTLB invalidate (type 6),
 *          page-selective (ADDR + AM) or domain/PASID-selective; wait (type 5).
 *   AMD    INVALIDATE_IOMMU_PAGES with the S-bit size code; COMPLETION_WAIT.
 *   SMMUv3 TLBI_NH_VA / TLBI_S2_IPA per page or as range commands
 *          (TG/SCALE/NUM/TTL); TLBI_NH_ASID / TLBI_S12_VMALL; CMD_SYNC.
 *
 * Every command is one 128-bit descriptor held as two little-endian 64-bit
 * words (w[0] = bits 63:0, w[1] = bits 127:64). VT-d scalable mode uses
 * 256-bit descriptors; the upper 128 bits of these commands are zero, so the
 * caller writes w[0], w[1], 0, 0.
 *
 * Policy ("fewest commands"; docs/INVALIDATION.md has the details):
 *   1. A plan may invalidate more than asked (a superset) but never less.
 *      The extra is bounded by policy.max_overshoot (bytes) PER INPUT RANGE.
 *   2. Within that bound the planner returns a plan with the minimum number
 *      of range commands the encoding allows; ties go to the smaller
 *      overshoot. For VT-d/AMD that is the minimum number of naturally
 *      aligned power-of-two blocks whose union contains the range; for SMMU
 *      range commands the minimum number of (NUM+1) x 2^SCALE granule runs.
 *   3. When that minimum (summed over the ranges) exceeds policy.max_cmds,
 *      or the hardware cannot express the range at all (no PSI, no range
 *      support and too many pages...), the plan is ONE scope-wide command
 *      (VT-d DSI / PASID-wide, AMD all-pages, SMMU per-ASID / per-VMID).
 * Input ranges are planned one by one (after sorting and merging touching
 * ranges); a block already emitted that contains a later one is not repeated.
 *
 * Context: every function here is pure (no global state, no locks, no
 * allocation); any thread may call any of them concurrently.
 *
 * Errors (common.h convention): on any error nothing is written to the
 * output array.
 *   -EINVAL   malformed request: no ranges or more than IOPT_INV_MAX_RANGES,
 *             end < start, start or end+1 not aligned to 4 KiB (or to the
 *             SMMU granule), stride not a power of two >= 4 KiB (SMMU: >=
 *             the granule), a range not aligned to the stride, overlapping
 *             ranges, bad capability values (max_cmds > IOPT_INV_MAX_BUDGET,
 *             MAMV > 63, AMD max_order not 0 or 12..51, SMMU granule not
 *             4K/16K/64K), bad scope (SMMU stage not 1 or 2, PASID > 20
 *             bits), a NULL caps, scope or output pointer.
 *   -ERANGE   a range lies outside what the command can address (SMMU
 *             stage-2 IPA above 2^52).
 *   -EOPNOTSUPP  the request needs a command or bit the capabilities do not
 *             advertise (VT-d: a PASID scope without caps->scalable, the
 *             wait descriptor's drain without caps->page_drain). Checked
 *             after every -EINVAL case.
 *   -ENOSPC   the plan needs more commands than the output array holds.
 *
 * Capabilities: fill the caps structs from the hardware's registers
 * (iopt_vtd_inv_caps in iopt/vtd.h for VT-d); a command never carries a
 * bit the caps do not advertise (QEMU's models fault reserved bits as
 * invalidation-queue errors, docs/QEMU.md).
 */
#ifndef IOPT_INVALIDATE_H
#define IOPT_INVALIDATE_H

#include <iopt/common.h>

IOPT_BEGIN_DECLS

#define IOPT_INV_MAX_RANGES 16u  /* ranges per request */
#define IOPT_INV_MAX_BUDGET 256u /* largest policy.max_cmds */
#define IOPT_INV_DEFAULT_BUDGET 16u /* policy.max_cmds == 0 means this */

/* One gathered range of IOVA bytes, both ends inclusive (like Linux's gather). */
struct iopt_inv_range {
	uint64_t start;
	uint64_t end;
};

/* One 128-bit command descriptor. */
struct iopt_inv_cmd {
	uint64_t w[2];
};

/*
 * What was gathered.
 *   ranges/nr_ranges: 1..IOPT_INV_MAX_RANGES disjoint ranges in any order.
 *   stride:     size of the leaf entries that changed (the gather's pgsize:
 *               4 KiB, 2 MiB, ...); every range is aligned to it.
 *   leaf_only:  true when only leaf entries changed (no table freed, no
 *               non-leaf entry written): lets hardware keep walk caches
 *               (VT-d IH=1, AMD PDE=0, SMMU LEAF=1).
 */
struct iopt_inv_req {
	const struct iopt_inv_range *ranges;
	size_t nr_ranges;
	uint64_t stride;
	bool leaf_only;
};

/*
 * Cost policy, shared by the three planners.
 *   max_cmds:      budget; a plan that needs more range commands becomes one
 *                  scope-wide command. 0 = IOPT_INV_DEFAULT_BUDGET.
 *   max_overshoot: bytes that may be invalidated beyond each input range
 *                  (0 = exact cover). UINT64_MAX = any superset.
 * A NULL policy means { 0, 0 }: default budget, exact cover.
 */
struct iopt_inv_policy {
	unsigned int max_cmds;
	uint64_t max_overshoot;
};

/* What a decoded command does (iopt_inv_decode_*). */
enum iopt_inv_kind {
	IOPT_INV_RANGE = 1, /* translations of [start, end] in the scope */
	IOPT_INV_SCOPE,     /* everything of the scope (domain, PASID, ASID, VMID) */
	IOPT_INV_GLOBAL,    /* everything (VT-d global) */
	IOPT_INV_SYNC,      /* wait / completion / sync: no invalidation */
};

/*
 * A decoded command.
 *   start/end:  inclusive byte range for IOPT_INV_RANGE (0..UINT64_MAX for
 *               the others). A single-page command (VT-d AM=0, AMD S=0, SMMU
 *               TG=0) decodes to the 4 KiB page at its address; hardware also
 *               drops larger leaves that translate that address.
 *   leaf_only:  the command lets hardware keep non-leaf (walk) cache entries.
 *   domain:     VT-d domain id / AMD domain id / SMMU VMID.
 *   asid:       SMMU ASID (stage 1).
 *   pasid:      VT-d/AMD PASID when has_pasid.
 *   stage:      SMMU stage 1 or 2 (0 elsewhere).
 */
struct iopt_inv_decoded {
	enum iopt_inv_kind kind;
	uint64_t start;
	uint64_t end;
	bool leaf_only;
	bool has_pasid;
	uint32_t domain;
	uint32_t asid;
	uint32_t pasid;
	unsigned int stage;
};

/* ---------------------------------------------------------------- VT-d */

/*
 * VT-d capabilities (inputs; iopt_vtd_inv_caps() reads them from CAP/ECAP).
 *   psi:  CAP.PSI (bit 39): page-selective invalidation supported.
 *   mamv: CAP.MAMV (bits 53:48): largest AM (block of 2^mamv pages). <= 63.
 *   drain_read / drain_write: set DR / DW in type-2 descriptors (CAP.DRD /
 *         CAP.DWD say the hardware supports draining).
 *   page_drain: ECAP.PDS (bit 42): the wait descriptor may carry PD
 *         (IOPT_VTD_WAIT_DRAIN); reserved otherwise.
 *   scalable: ECAP.SMTS (bit 43), and the IOMMU runs in scalable mode:
 *         type-6 PASID-based descriptors exist (scope.has_pasid).
 * Initialize it with designated initializers (members are added over time).
 */
struct iopt_vtd_inv_caps {
	bool psi;
	unsigned int mamv;
	bool drain_read;
	bool drain_write;
	bool page_drain;
	bool scalable;
};

/*
 * VT-d scope. domain: domain id (16 bits). has_pasid: first-stage table
 * reached through pasid (20 bits): type-6 PASID-based descriptors (needs
 * caps.scalable). A second-stage table, also one reached through a PASID
 * entry in scalable mode, is invalidated by domain (type 2), as Linux does.
 */
struct iopt_vtd_inv_scope {
	uint16_t domain;
	bool has_pasid;
	uint32_t pasid;
};

/*
 * iopt_inv_plan_vtd() - plan VT-d IOTLB invalidation descriptors.
 * @req, @pol, @caps, @scope: as above.
 * @out, @cap: output array and its capacity in commands.
 *
 * Emits page-selective descriptors (granularity 3, ADDR + AM, IH = leaf_only)
 * per the policy, or ONE domain-selective (type 2, granularity 2) / PASID-
 * selective (type 6, granularity 2) descriptor when the budget is exceeded
 * or !caps->psi. Does not append the wait descriptor (iopt_inv_wait_vtd).
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: number of descriptors written (>= 1), or -EINVAL / -EOPNOTSUPP
 * (scope->has_pasid without caps->scalable) / -ENOSPC.
 */
IOPT_API int iopt_inv_plan_vtd(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
			       const struct iopt_vtd_inv_caps *caps,
			       const struct iopt_vtd_inv_scope *scope, struct iopt_inv_cmd *out,
			       size_t cap);

/* Wait-descriptor flags (iopt_inv_wait_vtd). */
#define IOPT_VTD_WAIT_FENCE 0x1u /* FN: later descriptors wait for this one */
#define IOPT_VTD_WAIT_DRAIN 0x2u /* PD: drain page requests */

/*
 * iopt_inv_wait_vtd() - encode an invalidation wait descriptor (type 5) that
 * writes @status_data to @status_addr (SW = 1) once every earlier descriptor
 * has completed.
 * @caps: the hardware's capabilities (page_drain gates PD).
 * @status_addr: 4-byte aligned physical address.
 * @flags: IOPT_VTD_WAIT_* bits.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, -EINVAL (NULL caps or out, unaligned address, unknown flag),
 * or -EOPNOTSUPP (IOPT_VTD_WAIT_DRAIN without caps->page_drain: PD is
 * reserved then; QEMU 7.2 reports it as an invalidation-queue error).
 */
IOPT_API int iopt_inv_wait_vtd(const struct iopt_vtd_inv_caps *caps, uint64_t status_addr,
			       uint32_t status_data, unsigned int flags, struct iopt_inv_cmd *out);

/*
 * iopt_inv_global_vtd() - encode a global IOTLB invalidate (type 2,
 * granularity 1; DR/DW per @caps): every domain's translations and walk
 * caches, as at bring-up and after a global context-cache invalidation.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, or -EINVAL (NULL argument, caps->mamv > 63).
 */
IOPT_API int iopt_inv_global_vtd(const struct iopt_vtd_inv_caps *caps, struct iopt_inv_cmd *out);

/*
 * iopt_inv_decode_vtd() - decode a type 2, 5 or 6 descriptor.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, or -EINVAL (other type, reserved granularity).
 */
IOPT_API int iopt_inv_decode_vtd(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d);

/* ----------------------------------------------------------------- AMD */

/*
 * AMD capabilities. max_order: largest block as log2 bytes that is sent as
 * an S-bit range (12..51, 12 = single pages only; 0 = 51). Larger blocks use the all-pages form:
 * Linux switches to all-pages above bit 51 and later QEMU versions treat a
 * 2^52-byte code as "entire" (hw-facts 5.2), so blocks stay at or below
 * 2^51. (QEMU 7.2 ignores the address: every command drops the whole
 * domain, docs/QEMU.md.) iopt_amd_inv_caps (include/iopt/amd.h) fills this
 * from the hardware.
 */
struct iopt_amd_inv_caps {
	unsigned int max_order;
};

/* AMD scope: domain id (16 bits), optional PASID (20 bits; sets GN). */
struct iopt_amd_inv_scope {
	uint16_t domain;
	bool has_pasid;
	uint32_t pasid;
};

/*
 * iopt_inv_plan_amd() - plan INVALIDATE_IOMMU_PAGES commands.
 * Blocks of one page use S=0; larger naturally aligned power-of-two blocks
 * use S=1 with the size code; over budget: ONE all-pages command
 * (address 0x7FFF_FFFF_FFFF_F000, S=1). PDE = !leaf_only.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: number of commands written, or -EINVAL / -ENOSPC.
 */
IOPT_API int iopt_inv_plan_amd(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
			       const struct iopt_amd_inv_caps *caps,
			       const struct iopt_amd_inv_scope *scope, struct iopt_inv_cmd *out,
			       size_t cap);

/*
 * iopt_inv_wait_amd() - encode COMPLETION_WAIT storing the 64-bit @data at
 * @store_addr (8-byte aligned) when earlier commands are done; @irq also
 * raises the completion interrupt.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, or -EINVAL (unaligned or above 52 bits).
 */
IOPT_API int iopt_inv_wait_amd(uint64_t store_addr, uint64_t data, bool irq,
			       struct iopt_inv_cmd *out);

/*
 * iopt_inv_decode_amd() - decode INVALIDATE_IOMMU_PAGES, COMPLETION_WAIT or
 * INVALIDATE_IOMMU_ALL (IOPT_INV_GLOBAL; include/iopt/amd.h encodes it and
 * INVALIDATE_DEVTAB_ENTRY, which iopt_amd_inv_dte_decode decodes).
 * An S=1 code of 2^64 bytes (the all-pages address) decodes as IOPT_INV_SCOPE.
 * Context: pure; any thread.
 * Return: 0, or -EINVAL (other opcode).
 */
IOPT_API int iopt_inv_decode_amd(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d);

/* -------------------------------------------------------------- SMMUv3 */

/*
 * SMMUv3 capabilities.
 *   range_inv:  IDR3.RIL: range invalidation (TG/SCALE/NUM) supported.
 *   granule_shift: translation granule of the table (smallest page size):
 *               12, 14 or 16; 0 = 12. Ranges must be aligned to it.
 */
struct iopt_smmu_inv_caps {
	bool range_inv;
	unsigned int granule_shift;
};

/* SMMU scope: stage 1 (ASID + VMID: TLBI_NH_*) or 2 (VMID: TLBI_S2_IPA/S12_VMALL). */
struct iopt_smmu_inv_scope {
	unsigned int stage;
	uint16_t asid;
	uint16_t vmid;
};

/*
 * iopt_inv_plan_smmu() - plan SMMUv3 TLBI commands.
 * With range_inv: range commands, TG = granule, each covering
 * (NUM+1) x 2^SCALE granules, TTL = level of @req->stride when leaf_only.
 * Without: one TG=0 command per descriptor: per stride step when the stride
 * is a level size of the granule, else (a contiguous run: 16 x 4K, 16 x 2M,
 * 128 x 16K ...) per step of the largest level size inside the stride, since
 * hardware may cache each descriptor of a run separately. No overshoot.
 * Over budget: ONE TLBI_NH_ASID (stage 1) or TLBI_S12_VMALL (stage 2).
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: number of commands written, or -EINVAL / -ERANGE / -ENOSPC.
 */
IOPT_API int iopt_inv_plan_smmu(const struct iopt_inv_req *req, const struct iopt_inv_policy *pol,
				const struct iopt_smmu_inv_caps *caps,
				const struct iopt_smmu_inv_scope *scope, struct iopt_inv_cmd *out,
				size_t cap);

/*
 * iopt_inv_sync_smmu() - encode CMD_SYNC. @cs: 0 none, 1 MSI/IRQ, 2 SEV.
 * @msi_addr (4-byte aligned, < 2^52) and @msi_data are used when cs == 1.
 * MSH/MSIAttr are left 0 (caller ORs them into w[0] if it needs them).
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, or -EINVAL.
 */
IOPT_API int iopt_inv_sync_smmu(unsigned int cs, uint64_t msi_addr, uint32_t msi_data,
				struct iopt_inv_cmd *out);

/*
 * iopt_inv_decode_smmu() - decode a TLBI_NH_VA, TLBI_S2_IPA, TLBI_NH_ASID,
 * TLBI_S12_VMALL, TLBI_NSNH_ALL (IOPT_INV_GLOBAL; encoded by
 * iopt_smmu_cmd_encode, include/iopt/smmu.h) or CMD_SYNC command.
 * Context: pure (no state, no locks, no allocation); any thread.
 * Return: 0, or -EINVAL (other opcode, NULL argument).
 */
IOPT_API int iopt_inv_decode_smmu(const struct iopt_inv_cmd *cmd, struct iopt_inv_decoded *d);

/* ------------------------------------------------- one vendor, chosen at run time */

enum iopt_inv_vendor {
	IOPT_INV_VTD = 1,
	IOPT_INV_AMD,
	IOPT_INV_SMMU,
};

/*
 * Everything a planner needs besides the request, for code that serves any
 * vendor (the DMA layer, simulators): the vendor, its capabilities and the
 * scope, and the cost policy. Only the union members of @vendor are read.
 */
struct iopt_inv_target {
	enum iopt_inv_vendor vendor;
	struct iopt_inv_policy policy;
	union {
		struct iopt_vtd_inv_caps vtd;
		struct iopt_amd_inv_caps amd;
		struct iopt_smmu_inv_caps smmu;
	} caps;
	union {
		struct iopt_vtd_inv_scope vtd;
		struct iopt_amd_inv_scope amd;
		struct iopt_smmu_inv_scope smmu;
	} scope;
};

/*
 * iopt_inv_plan() - iopt_inv_plan_vtd/amd/smmu for @t's vendor.
 * Context: pure; any thread.
 * Return: as the vendor's planner; -EINVAL for NULL @t or an unknown vendor.
 */
IOPT_API int iopt_inv_plan(const struct iopt_inv_target *t, const struct iopt_inv_req *req,
			   struct iopt_inv_cmd *out, size_t cap);

/*
 * iopt_inv_plan_scope() - the one command that invalidates @t's whole scope
 * and the walk caches (VT-d domain- or PASID-selective, AMD all-pages with
 * PDE=1, SMMU TLBI_NH_ASID / TLBI_S12_VMALL): what a plan over budget emits.
 * Also the way to validate a target before use.
 * Context: pure; any thread.
 * Return: 1 (commands written), or -EINVAL (unknown vendor, bad caps or scope,
 * as the vendor's planner would reject them), -EOPNOTSUPP (a scope the caps
 * do not support, as the planner); nothing written on error.
 */
IOPT_API int iopt_inv_plan_scope(const struct iopt_inv_target *t, struct iopt_inv_cmd *out);

/*
 * iopt_inv_decode() - iopt_inv_decode_vtd/amd/smmu for @vendor.
 * Context: pure; any thread.
 * Return: as the vendor's decoder; -EINVAL for an unknown vendor.
 */
IOPT_API int iopt_inv_decode(enum iopt_inv_vendor vendor, const struct iopt_inv_cmd *cmd,
			     struct iopt_inv_decoded *d);

IOPT_END_DECLS

#endif /* IOPT_INVALIDATE_H */
