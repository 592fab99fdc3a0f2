/* SPDX-License-Identifier: MIT */
/*
 * A reference SMMUv3 driver for QEMU's virt machine (iommu=smmuv3), in user
 * space over the qtest harness (qemu.h). It uses the library for every
 * structure it provides (include/iopt/smmu.h: ID registers, stream table,
 * STE, CD, configuration commands; invalidate.h: TLBI and CMD_SYNC) and
 * does itself only what a driver does: registers, the command and event
 * queues in guest RAM, enabling the SMMU.
 *
 * Bring-up (Linux arm_smmu_device_reset order): CR0 = 0; CR1 (queue and
 * table walks WB inner shareable when IDR0.COHACC) and CR2 (RECINVSID,
 * PTM); STRTAB_BASE(_CFG); CMDQ_BASE/PROD/CONS; CR0.CMDQEN; CFGI_ALL,
 * TLBI_NSNH_ALL, CMD_SYNC; EVENTQ_BASE/PROD/CONS; CR0.EVENTQEN; CR0.SMMUEN.
 * Every CR0 write waits for CR0ACK. Completion of CMD_SYNC is polled on
 * CMDQ_CONS: QEMU 7.2 consumes the queue synchronously inside the PROD
 * write and its CMD_SYNC has no MSI write (CS=1 only pulses the IRQ line).
 * Any command error (CMDQ_CONS.ERR, GERROR.CMDQ_ERR) bails out: it is a
 * driver bug, never a result.
 */
#ifndef IOPT_TESTS_SMMU_DRV_H
#define IOPT_TESTS_SMMU_DRV_H

#include <iopt/iopt.h>

#include "qemu.h"

#define SMMU_MMIO 0x09050000ull /* hw/arm/virt.c VIRT_SMMU */

/* Event record types (QEMU smmuv3-internal.h SMMUEventType, Linux EVT_ID_*). */
enum {
	SMMU_EVT_C_BAD_STREAMID = 0x02,
	SMMU_EVT_C_BAD_STE = 0x04,
	SMMU_EVT_C_BAD_CD = 0x0a,
	SMMU_EVT_F_TRANSLATION = 0x10,
	SMMU_EVT_F_PERMISSION = 0x13,
};

/* One decoded event record (32 bytes: Linux EVTQ_0/1/2 fields). */
struct smmu_evt {
	unsigned type;
	uint32_t sid;
	bool ssv;
	uint32_t ssid;
	bool rnw;      /* read (device read from memory) */
	uint64_t addr; /* input address of the transaction */
};

struct smmu_drv {
	struct qm *m;
	struct iopt_smmu_hw hw;
	struct iopt_smmu_strtab st;
	uint64_t cmdq, evtq;      /* queue bases (guest-physical) */
	unsigned cmdq_lg2, evtq_lg2;
	uint32_t prod;            /* command queue producer, with the wrap bit */
	uint32_t cons;            /* its consumer as last read */
	uint32_t evt_cons;        /* event queue consumer, with the wrap bit */
	unsigned long cmds, syncs; /* commands submitted (CMD_SYNC counted apart) */
};

/*
 * Read and decode IDR0..5, build the stream table (split 0: linear, 2^8
 * StreamIDs; else 2-level, 2^IDR1.SIDSIZE StreamIDs, level-2 tables made as
 * StreamIDs are attached), the queues, and enable the SMMU. Every STE is
 * invalid until attached.
 */
void smmu_init(struct smmu_drv *d, struct qm *m, unsigned split);

/* Append commands to the queue (PROD written once for the batch). */
void smmu_submit(struct smmu_drv *d, const struct iopt_inv_cmd *c, unsigned n);
/* Append CMD_SYNC and poll CMDQ_CONS until it is consumed. */
void smmu_sync(struct smmu_drv *d);
/* Encode a configuration command (iopt_smmu_cmd_encode) and submit it. */
void smmu_cfgi(struct smmu_drv *d, const struct iopt_smmu_cmd *k);

/* Guest-physical address of @sid's STE (2-level: installs the level-2 table). */
uint64_t smmu_ste_addr(struct smmu_drv *d, uint32_t sid);
/* Encode and write @sid's STE, then CFGI_STE + CMD_SYNC. */
void smmu_write_ste(struct smmu_drv *d, uint32_t sid, const struct iopt_smmu_ste *e);
/*
 * Stage-1 attach: the CD for @pt (iopt_smmu_cd_from_pt) in fresh guest RAM,
 * then an S1 STE pointing at it (CD fetches WB inner shareable). Returns
 * the CD's guest-physical address.
 */
uint64_t smmu_attach(struct smmu_drv *d, uint32_t sid, const struct iopt_pt *pt, uint16_t asid);

/* Consume the event queue; the first @max records go to @ev. Returns how many there were. */
unsigned smmu_events(struct smmu_drv *d, struct smmu_evt *ev, unsigned max);

/* iopt_dma_ops callbacks with ctx = the driver: submit to the queue, CMD_SYNC. */
void smmu_dma_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n);
void smmu_dma_wait(void *ctx);

#endif /* IOPT_TESTS_SMMU_DRV_H */
