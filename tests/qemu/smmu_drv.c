/* SPDX-License-Identifier: MIT */
/*
 * Reference SMMUv3 driver (smmu_drv.h). Register offsets and queue formats
 * from Linux arm-smmu-v3.h, cross-checked with QEMU 7.2 smmuv3-internal.h:
 * CR0 0x20 (SMMUEN 0, EVTQEN 2, CMDQEN 3), CR0ACK 0x24, CR1 0x28, CR2 0x2c,
 * GERROR 0x60 (CMDQ_ERR 0), STRTAB_BASE 0x80, STRTAB_BASE_CFG 0x88,
 * CMDQ_BASE 0x90 (ADDR 51:5, LOG2SIZE 4:0, RA 62), CMDQ_PROD 0x98,
 * CMDQ_CONS 0x9c (ERR 30:24), EVENTQ_BASE 0xa0 (WA 62), EVENTQ_PROD/CONS
 * at 0xa8/0xac of page 1 (+0x10000; QEMU aliases page 0 and page 1).
 * Queue indexes carry a wrap bit just above the index (Linux Q_IDX/Q_WRP).
 */
#include "smmu_drv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define R_IDR0 0x00
#define R_CR0 0x20
#define R_CR0ACK 0x24
#define R_CR1 0x28
#define R_CR2 0x2c
#define R_GERROR 0x60
#define R_STRTAB_BASE 0x80
#define R_STRTAB_BASE_CFG 0x88
#define R_CMDQ_BASE 0x90
#define R_CMDQ_PROD 0x98
#define R_CMDQ_CONS 0x9c
#define R_EVTQ_BASE 0xa0
#define R_EVTQ_PROD 0x100a8
#define R_EVTQ_CONS 0x100ac

#define CR0_SMMUEN 0x1u
#define CR0_EVTQEN 0x4u
#define CR0_CMDQEN 0x8u
#define Q_BASE_RWA (1ull << 62)

#define CMDQ_LG2 8 /* 256 x 16 bytes */
#define EVTQ_LG2 12 /* 4096 x 32 bytes: a faulting DMA records one event per 4 bytes */

static void fail(const char *what, unsigned long v)
{
	printf("Bail out! smmu: %s (0x%lx)\n", what, v);
	fflush(stdout);
	exit(1); /* PR_SET_PDEATHSIG takes QEMU with us */
}

static void cr0(struct smmu_drv *d, uint32_t v)
{
	qm_writel(d->m, SMMU_MMIO + R_CR0, v);
	for (int i = 0; qm_readl(d->m, SMMU_MMIO + R_CR0ACK) != v; i++)
		if (i > 1000)
			fail("CR0ACK never matched CR0", v);
}

void smmu_init(struct smmu_drv *d, struct qm *m, unsigned split)
{
	uint32_t idr[6];

	memset(d, 0, sizeof(*d));
	d->m = m;
	for (int i = 0; i < 6; i++)
		idr[i] = qm_readl(m, SMMU_MMIO + R_IDR0 + 4 * (unsigned)i);
	if (iopt_smmu_hw_decode(idr, &d->hw))
		fail("IDR0..5 do not decode", idr[0]);
	cr0(d, 0);
	if (d->hw.cohacc) {
		/* CR1: TABLE_SH/OC/IC 11:6 and QUEUE_SH/OC/IC 5:0 = inner shareable, WB, WB. */
		qm_writel(m, SMMU_MMIO + R_CR1, 3u << 10 | 1u << 8 | 1u << 6 | 3u << 4 | 1u << 2 | 1u);
	}
	qm_writel(m, SMMU_MMIO + R_CR2, 1u << 2 | 1u << 1); /* PTM, RECINVSID */

	/* Stream table. */
	d->st.log2size = split ? d->hw.sidsize : 8;
	d->st.split = split;
	d->st.ra = true;
	uint64_t bytes = split ? 8ull << (d->st.log2size - split) : 64ull << d->st.log2size;
	if (bytes < 64)
		bytes = 64;
	d->st.base = qm_alloc(m, bytes, bytes);
	uint64_t base_reg;
	uint32_t cfg_reg;
	int r = iopt_smmu_strtab_regs(&d->hw, &d->st, &base_reg, &cfg_reg);
	if (r)
		fail("stream table refused", (unsigned long)-r);
	qm_writeq(m, SMMU_MMIO + R_STRTAB_BASE, base_reg);
	qm_writel(m, SMMU_MMIO + R_STRTAB_BASE_CFG, cfg_reg);

	/* Queues: no larger than IDR1 allows. */
	if (CMDQ_LG2 > d->hw.cmdqs || EVTQ_LG2 > d->hw.eventqs)
		fail("queues larger than IDR1 allows", d->hw.cmdqs);
	d->cmdq_lg2 = CMDQ_LG2;
	d->evtq_lg2 = EVTQ_LG2;
	d->cmdq = qm_alloc(m, 16u << CMDQ_LG2, 16u << CMDQ_LG2);
	d->evtq = qm_alloc(m, 32u << EVTQ_LG2, 32u << EVTQ_LG2);
	qm_writeq(m, SMMU_MMIO + R_CMDQ_BASE, Q_BASE_RWA | d->cmdq | CMDQ_LG2);
	qm_writel(m, SMMU_MMIO + R_CMDQ_PROD, 0);
	qm_writel(m, SMMU_MMIO + R_CMDQ_CONS, 0);
	cr0(d, CR0_CMDQEN);

	/* Nothing may be cached from before: all configuration, all TLB entries. */
	struct iopt_smmu_cmd all = { .op = IOPT_SMMU_CMD_CFGI_STE_RANGE,
				     .range = IOPT_SMMU_CFGI_ALL_RANGE };
	struct iopt_smmu_cmd tlbi = { .op = IOPT_SMMU_CMD_TLBI_NSNH_ALL };
	smmu_cfgi(d, &all);
	smmu_cfgi(d, &tlbi);
	smmu_sync(d);

	qm_writeq(m, SMMU_MMIO + R_EVTQ_BASE, Q_BASE_RWA | d->evtq | EVTQ_LG2);
	qm_writel(m, SMMU_MMIO + R_EVTQ_PROD, 0);
	qm_writel(m, SMMU_MMIO + R_EVTQ_CONS, 0);
	cr0(d, CR0_CMDQEN | CR0_EVTQEN);
	cr0(d, CR0_CMDQEN | CR0_EVTQEN | CR0_SMMUEN);
}

static uint32_t q_mask(unsigned lg2)
{
	return (2u << lg2) - 1; /* index and wrap bit */
}

void smmu_submit(struct smmu_drv *d, const struct iopt_inv_cmd *c, unsigned n)
{
	uint32_t size = 1u << d->cmdq_lg2, mask = q_mask(d->cmdq_lg2);

	for (unsigned i = 0; i < n; i++) {
		/* Full when the indexes match and the wrap bits differ: wait for room. */
		for (int k = 0; ((d->prod - d->cons) & mask) >= size; k++) {
			if (k > 0) /* what was published is consumed: publish, then look again */
				qm_writel(d->m, SMMU_MMIO + R_CMDQ_PROD, d->prod);
			d->cons = qm_readl(d->m, SMMU_MMIO + R_CMDQ_CONS) & mask;
			if (k > 1000)
				fail("command queue stays full", d->cons);
		}
		uint64_t *slot = qm_gpa(d->m, d->cmdq + 16ull * (d->prod & (size - 1)), 16);
		slot[0] = c[i].w[0]; /* little-endian host, little-endian queue (TTENDIAN LE) */
		slot[1] = c[i].w[1];
		d->prod = (d->prod + 1) & q_mask(d->cmdq_lg2);
		if ((c[i].w[0] & 0xff) != 0x46)
			d->cmds++;
	}
	/*
	 * QEMU reads the entries from the shared RAM only after the PROD write
	 * reached it over the qtest socket: the send() system call orders them.
	 */
	qm_writel(d->m, SMMU_MMIO + R_CMDQ_PROD, d->prod);
}

void smmu_sync(struct smmu_drv *d)
{
	struct iopt_inv_cmd s;

	if (iopt_inv_sync_smmu(0, 0, 0, &s))
		fail("CMD_SYNC encoding", 0);
	smmu_submit(d, &s, 1);
	d->syncs++;
	for (int k = 0;; k++) {
		uint32_t cons = qm_readl(d->m, SMMU_MMIO + R_CMDQ_CONS);
		if ((cons >> 24) & 0x7f)
			fail("command error (CMDQ_CONS.ERR)", cons >> 24 & 0x7f);
		if (qm_readl(d->m, SMMU_MMIO + R_GERROR) & 1)
			fail("GERROR.CMDQ_ERR", cons);
		if ((cons & q_mask(d->cmdq_lg2)) == d->prod) {
			d->cons = d->prod;
			return;
		}
		if (k > 1000)
			fail("CMD_SYNC never completed", cons);
	}
}

void smmu_cfgi(struct smmu_drv *d, const struct iopt_smmu_cmd *k)
{
	struct iopt_inv_cmd c;
	int r = iopt_smmu_cmd_encode(&d->hw, k, &c);

	if (r)
		fail("configuration command refused", (unsigned long)-r);
	smmu_submit(d, &c, 1);
}

uint64_t smmu_ste_addr(struct smmu_drv *d, uint32_t sid)
{
	struct iopt_smmu_ste_loc loc;
	int r = iopt_smmu_strtab_locate(&d->st, sid, &loc);

	if (r)
		fail("StreamID outside the stream table", sid);
	if (!d->st.split)
		return d->st.base + loc.ste_off;
	uint64_t *l1 = qm_gpa(d->m, d->st.base + loc.l1_off, 8), l2;
	unsigned span;
	if (iopt_smmu_l1_decode(*l1, &l2, &span))
		fail("level-1 descriptor unreadable", sid);
	if (!span) {
		uint64_t bytes = 64ull << d->st.split;
		l2 = qm_alloc(d->m, bytes, bytes); /* zero: every STE invalid */
		uint64_t desc;
		if (iopt_smmu_l1_desc(&d->hw, &d->st, l2, &desc))
			fail("level-1 descriptor refused", l2);
		*l1 = desc; /* published by the CFGI_STE (LEAF = 0) the caller sends */
	}
	return l2 + loc.ste_off;
}

void smmu_write_ste(struct smmu_drv *d, uint32_t sid, const struct iopt_smmu_ste *e)
{
	uint64_t w[8];
	int r = iopt_smmu_ste_encode(&d->hw, e, w);

	if (r)
		fail("STE refused", (unsigned long)-r);
	memcpy(qm_gpa(d->m, smmu_ste_addr(d, sid), 64), w, 64);
	smmu_cfgi(d, &(struct iopt_smmu_cmd){ .op = IOPT_SMMU_CMD_CFGI_STE, .sid = sid });
	smmu_sync(d);
}

uint64_t smmu_attach(struct smmu_drv *d, uint32_t sid, const struct iopt_pt *pt, uint16_t asid)
{
	struct iopt_smmu_cd cd;
	uint64_t w[8];

	if (iopt_smmu_cd_from_pt(&d->hw, pt, asid, &cd) || iopt_smmu_cd_encode(&d->hw, &cd, w))
		fail("CD refused", asid);
	uint64_t cd_pa = qm_alloc(d->m, 64, 64);
	memcpy(qm_gpa(d->m, cd_pa, 64), w, 64);
	struct iopt_smmu_ste e = { .valid = true, .config = IOPT_SMMU_STE_S1, .s1_ctx_ptr = cd_pa,
				   .s1_cir = 1, .s1_cor = 1, .s1_csh = 3 };
	smmu_write_ste(d, sid, &e);
	return cd_pa;
}

unsigned smmu_events(struct smmu_drv *d, struct smmu_evt *ev, unsigned max)
{
	uint32_t mask = q_mask(d->evtq_lg2), size = 1u << d->evtq_lg2;
	uint32_t prod = qm_readl(d->m, SMMU_MMIO + R_EVTQ_PROD);
	unsigned n = 0;

	if (prod >> 31)
		fail("event queue overflowed", prod);
	if (d->evt_cons == (prod & mask))
		return 0;
	while (d->evt_cons != (prod & mask)) {
		const uint64_t *e = qm_gpa(d->m, d->evtq + 32ull * (d->evt_cons & (size - 1)), 32);
		if (n < max)
			ev[n] = (struct smmu_evt){
				.type = (unsigned)(e[0] & 0xff),
				.ssv = (e[0] >> 11) & 1,
				.ssid = (uint32_t)(e[0] >> 12) & 0xfffff,
				.sid = (uint32_t)(e[0] >> 32),
				.rnw = (e[1] >> 35) & 1,
				.addr = e[2],
			};
		n++;
		d->evt_cons = (d->evt_cons + 1) & mask;
	}
	qm_writel(d->m, SMMU_MMIO + R_EVTQ_CONS, d->evt_cons);
	return n;
}

void smmu_dma_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	smmu_submit(ctx, cmds, n);
}

void smmu_dma_wait(void *ctx)
{
	smmu_sync(ctx);
}
