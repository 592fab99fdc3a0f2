/* SPDX-License-Identifier: MIT */
/*
 * A user-space AMD-Vi driver for QEMU 7.2's amd-iommu, built on the
 * library's public API only (include/iopt/amd.h, invalidate.h, pgtable.h):
 * the reference for what a driver has to do, and the suite's judge of the
 * library's AMD structures (docs/QEMU.md, "AMD-Vi (amd-iommu)").
 *
 * The IOMMU is found as a PCI function (AMD vendor id, class 0x0806), its
 * MMIO base read from its capability block (ID 0x0F, base at +4/+8); the
 * device table (bus 0: 256 entries), command buffer and event log live in
 * guest RAM; completion is a COMPLETION_WAIT store to a semaphore in guest
 * RAM that this process polls. One domain = one iopt page table bound to
 * one device id, with the DTE and change_top hook the header of amd.h
 * describes. Single-threaded, like the harness.
 */
#ifndef IOPT_TESTS_QEMU_AMD_DRV_H
#define IOPT_TESTS_QEMU_AMD_DRV_H

#include <iopt/amd.h>
#include <iopt/gather.h>

#include "qemu.h"

#define AMD_CMD_ENTRIES 256u /* command buffer: 4 KiB, ComLen 8 */
#define AMD_EVT_ENTRIES 256u /* event log: 4 KiB, EvtLen 8 */
#define AMD_DEVTAB_ENTRIES 256u

struct amd_drv {
	struct qm *m;
	unsigned bdf;          /* the IOMMU's own PCI function */
	uint64_t mmio;         /* MMIO base from the capability block */
	struct iopt_amd_hw hw;
	uint64_t devtab;       /* guest-physical */
	uint64_t cmdbuf;
	uint32_t tail;         /* next command's byte offset */
	uint64_t evtlog;
	uint64_t sem;          /* COMPLETION_WAIT store target (8 bytes) */
	uint64_t seq;          /* last value waited for */
	unsigned long ncmds;   /* commands submitted (waits included) */
	unsigned long nwaits;
	unsigned long ninv_dte; /* INVALIDATE_DEVTAB_ENTRY among them */
};

/* Find and enable the IOMMU (device table, command buffer, event log). Bails on failure. */
void amd_drv_init(struct amd_drv *d, struct qm *m);
/* Queue @n commands and ring the tail (iopt_dma_ops.submit shape; @ctx = the driver). */
void amd_drv_submit(void *ctx, const struct iopt_inv_cmd *c, unsigned n);
/* COMPLETION_WAIT with the next sequence value; returns once it is stored (ops.wait shape). */
void amd_drv_wait(void *ctx);
/* Host view of device id @devid's entry (4 words). */
uint64_t *amd_drv_dte(struct amd_drv *d, uint16_t devid);
/* Install @w as @devid's entry (words 1..3, then 0), INVALIDATE_DEVTAB_ENTRY, wait. */
void amd_drv_set_dte(struct amd_drv *d, uint16_t devid, const uint64_t w[4]);
/* Events the IOMMU wrote to the log since init (tail / 16). */
unsigned amd_drv_events(struct amd_drv *d);
/* The IOMMU function's PCI status "signaled target abort" bit; cleared when read set. */
bool amd_drv_take_abort(struct amd_drv *d);
/* The command @back commands before the tail (1 = the last one), from guest RAM. */
struct iopt_inv_cmd amd_drv_cmd(struct amd_drv *d, unsigned back);

/* One translation domain: an AMD v1 table bound to one device. */
struct amd_dom {
	struct amd_drv *d;
	uint16_t devid;
	struct iopt_pt *pt;
	struct iopt_inv_target inv;
	unsigned grows;        /* change_top calls */
	int last_plan;         /* commands the last gather flush planned */
};

/*
 * Create the table (iopt_amd_pt_cfg with @ias, @start_levels, @flags; tables
 * in guest RAM; change_top and the table's own flush wired here) and install
 * @devid's DTE (V, TV, mode, root, @ir/@iw, domain @domid). Bails on failure.
 */
void amd_dom_init(struct amd_dom *a, struct amd_drv *d, uint16_t devid, uint16_t domid,
		  unsigned ias, unsigned start_levels, unsigned flags, bool ir, bool iw);
/* Gather flush callback (ctx = the domain): iopt_inv_plan, submit, wait. */
void amd_dom_flush(struct iopt_gather *g, void *ctx);
/* Rewrite the DTE's IR/IW (same table), INVALIDATE_DEVTAB_ENTRY, wait. */
void amd_dom_perm(struct amd_dom *a, bool ir, bool iw);
/* Teardown in the header's order: block the DTE, invalidate, free the table. */
void amd_dom_fini(struct amd_dom *a);

#endif /* IOPT_TESTS_QEMU_AMD_DRV_H */
