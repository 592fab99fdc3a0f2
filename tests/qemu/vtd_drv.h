/* SPDX-License-Identifier: MIT */
/*
 * A reference VT-d driver for QEMU's intel-iommu, in user space: what an OS
 * driver does to bring a device up behind the IOMMU, with every structure,
 * descriptor and capability decision taken from the library's public API
 * (iopt/vtd.h, iopt/invalidate.h). Only the register accesses, the queue
 * bookkeeping and the polling are its own.
 *
 * Registers (offsets and bits: QEMU 7.2 intel_iommu_internal.h DMAR_*_REG,
 * VTD_GCMD_* / VTD_GSTS_* / VTD_FSTS_*, cross-checked with Linux 6.12
 * intel/iommu.h DMAR_* / DMA_GCMD_* / DMA_GSTS_* / DMA_FSTS_*).
 *
 * Queued invalidation: a 4 KiB queue (IQA.QS = 0: 256 descriptors of 128
 * bits, or 128 of 256 bits with IQA.DW in scalable mode). QEMU processes the
 * queue inside the IQT write, so a wait's status word is written by the
 * time the write returns; the driver still polls it, as real hardware needs.
 */
#ifndef IOPT_TESTS_QEMU_VTD_DRV_H
#define IOPT_TESTS_QEMU_VTD_DRV_H

#include <iopt/vtd.h>

#include "qemu.h"

#define VTD_MMIO 0xFED90000ull /* q35's DMAR unit (hw/i386/intel_iommu.c, Q35_HOST_BRIDGE_IOMMUADDR) */

/* Registers (32-bit unless noted). */
#define VTD_R_CAP 0x08     /* 64 */
#define VTD_R_ECAP 0x10    /* 64 */
#define VTD_R_GCMD 0x18
#define VTD_R_GSTS 0x1C
#define VTD_R_RTADDR 0x20  /* 64 */
#define VTD_R_FSTS 0x34
#define VTD_R_IQH 0x80     /* 64 */
#define VTD_R_IQT 0x88     /* 64 */
#define VTD_R_IQA 0x90     /* 64 */

#define VTD_GCMD_TE (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_QIE (1u << 26)
#define VTD_GSTS_TES (1u << 31)
#define VTD_GSTS_RTPS (1u << 30)
#define VTD_GSTS_QIES (1u << 26)
#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_FSTS_IQE (1u << 4)

struct vtd_drv {
	struct qm *m;
	struct iopt_vtd_hw hw;
	struct iopt_vtd_inv_caps caps;  /* what the planners may emit */
	bool scalable;
	unsigned dw;                    /* descriptor bytes: 16, or 32 in scalable mode */
	uint64_t iq;                    /* invalidation queue (guest-physical) */
	unsigned iq_n, tail;
	uint64_t status;                /* the wait descriptors' status word */
	uint32_t seq;
	uint64_t root;                  /* root table */
	uint64_t ctx;                   /* bus 0's context table (lower half in scalable mode) */
	uint64_t pasid_dir, pasid_tbl;  /* scalable mode: PASIDs 0..63 */
	unsigned submitted, waits;      /* descriptors queued, waits completed */
	unsigned errors;                /* waits that failed (queue error) */
};

/*
 * Bring the IOMMU up with translation still off: read and decode CAP/ECAP
 * (HAW = MGAW, as in QEMU), allocate the root table and the queue, set IQA,
 * enable QI, set the root table (scalable: RTADDR.SMT) and invalidate
 * globally (context cache, PASID cache in scalable mode, IOTLB).
 * Return: 0, or -1 (a step did not complete; a message on stdout).
 */
int vtd_open(struct vtd_drv *d, struct qm *m, bool scalable);

/*
 * Point @devfn (bus 0) at @pt in domain @did: legacy context entry, or
 * scalable root/context + PASID directory + PASID-table entry for RID_PASID 0
 * (PGTT second stage); then the invalidations a changed entry needs.
 * Return: 0, or the encoder's errno (nothing written), or -1.
 */
int vtd_attach(struct vtd_drv *d, unsigned devfn, uint16_t did, struct iopt_pt *pt);

/* Guest-physical address of @devfn's context entry (16 or 32 bytes). */
uint64_t vtd_ctx_slot(const struct vtd_drv *d, unsigned devfn);

/* GCMD.TE; returns 0 once GSTS.TES says so, -1 otherwise. */
int vtd_enable(struct vtd_drv *d);

/* Queue @n descriptors (128-bit; upper half zero in 256-bit slots) and ring IQT. */
void vtd_submit(struct vtd_drv *d, const struct iopt_inv_cmd *cmds, unsigned n);

/*
 * Queue a wait descriptor (iopt_inv_wait_vtd with d->caps, status write,
 * fence, plus @flags) and poll its status word.
 * Return: 0; the encoder's errno (nothing queued); -EIO (FSTS.IQE: the
 * queue stopped at a descriptor the hardware refused; d->errors counted).
 */
int vtd_wait(struct vtd_drv *d, unsigned flags);

/* Submit @n descriptors and wait: 0 or vtd_wait's error. */
int vtd_run(struct vtd_drv *d, const struct iopt_inv_cmd *cmds, unsigned n);

/*
 * Recover from an invalidation-queue error: replace the refused descriptor
 * at IQH with @fix, clear FSTS.IQE and ring IQT again (QEMU resumes only on
 * the next IQT write). Return: 0 once the queue drained, -1 otherwise.
 */
int vtd_recover(struct vtd_drv *d, const struct iopt_inv_cmd *fix);

/*
 * Read fault-recording register 0 and clear it (F, then FSTS.PFO).
 * Return: 0 and *f; -ENOENT when nothing is recorded.
 */
int vtd_fault(struct vtd_drv *d, struct iopt_vtd_fault *f);

uint32_t vtd_fsts(struct vtd_drv *d);

/* DMA-layer callbacks (struct iopt_dma_ops, command mode): ctx = struct vtd_drv. */
void vtd_dma_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n);
void vtd_dma_wait(void *ctx);

#endif /* IOPT_TESTS_QEMU_VTD_DRV_H */
