/* SPDX-License-Identifier: MIT */
/*
 * Reference VT-d driver over qtest (vtd_drv.h). Bring-up order as Linux's
 * intel_iommu_init / dmar_enable_qi: queue first (IQT = 0, IQA, GCMD.QIE),
 * root table (RTADDR, GCMD.SRTP), global context-cache + IOTLB invalidation,
 * then GCMD.TE. GCMD is written as the persistent status bits (GSTS without
 * the one-shot RTPS/FLS/WBFS/IRTPS, Linux's 0x96ffffff mask) plus the
 * command, so no one-shot command is repeated.
 */
#include "vtd_drv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define GSTS_PERSISTENT 0x96FFFFFFu
#define IQA_DW (1ull << 11)    /* QEMU VTD_IQA_DW_MASK: 256-bit descriptors */
#define RTADDR_SMT (1ull << 10) /* QEMU VTD_RTADDR_SMT, Linux DMA_RTADDR_SMT */

static uint64_t rd32(struct vtd_drv *d, unsigned r)
{
	return qm_readl(d->m, VTD_MMIO + r);
}

static void wr32(struct vtd_drv *d, unsigned r, uint32_t v)
{
	qm_writel(d->m, VTD_MMIO + r, v);
}

static int gcmd(struct vtd_drv *d, uint32_t cmd, uint32_t sts_bit)
{
	uint32_t sts = (uint32_t)rd32(d, VTD_R_GSTS) & GSTS_PERSISTENT;

	wr32(d, VTD_R_GCMD, sts | cmd);
	for (int i = 0; i < 1000; i++)
		if (rd32(d, VTD_R_GSTS) & sts_bit)
			return 0;
	printf("# vtd: GSTS bit 0x%x never set\n", sts_bit);
	return -1;
}

uint32_t vtd_fsts(struct vtd_drv *d)
{
	return (uint32_t)rd32(d, VTD_R_FSTS);
}

void vtd_submit(struct vtd_drv *d, const struct iopt_inv_cmd *cmds, unsigned n)
{
	unsigned shift = d->dw == 32 ? 5 : 4;

	for (unsigned i = 0; i < n; i++) {
		uint64_t *slot = qm_gpa(d->m, d->iq + (uint64_t)d->tail * d->dw, d->dw);
		slot[0] = cmds[i].w[0];
		slot[1] = cmds[i].w[1];
		if (d->dw == 32)
			slot[2] = slot[3] = 0;
		d->tail = (d->tail + 1) % d->iq_n;
		d->submitted++;
		/* Ring before the queue could fill (QEMU drains it in the IQT write). */
		if ((i + 1) % (d->iq_n / 2) == 0)
			qm_writeq(d->m, VTD_MMIO + VTD_R_IQT, (uint64_t)d->tail << shift);
	}
	qm_writeq(d->m, VTD_MMIO + VTD_R_IQT, (uint64_t)d->tail << shift);
}

int vtd_wait(struct vtd_drv *d, unsigned flags)
{
	struct iopt_inv_cmd w;
	volatile uint32_t *st = qm_gpa(d->m, d->status, 4);
	uint32_t want = d->seq + 1;
	int r = iopt_inv_wait_vtd(&d->caps, d->status, want, IOPT_VTD_WAIT_FENCE | flags, &w);

	if (r)
		return r;
	d->seq = want;
	vtd_submit(d, &w, 1);
	for (int i = 0; i < 1000; i++) {
		if (*st == want) {
			d->waits++;
			return 0;
		}
		if (vtd_fsts(d) & VTD_FSTS_IQE)
			break;
	}
	d->errors++;
	return -EIO;
}

int vtd_run(struct vtd_drv *d, const struct iopt_inv_cmd *cmds, unsigned n)
{
	vtd_submit(d, cmds, n);
	return vtd_wait(d, 0);
}

int vtd_recover(struct vtd_drv *d, const struct iopt_inv_cmd *fix)
{
	unsigned shift = d->dw == 32 ? 5 : 4;
	uint64_t head = qm_readq(d->m, VTD_MMIO + VTD_R_IQH) >> shift;
	uint64_t *slot = qm_gpa(d->m, d->iq + head * d->dw, d->dw);

	slot[0] = fix->w[0];
	slot[1] = fix->w[1];
	wr32(d, VTD_R_FSTS, VTD_FSTS_IQE); /* write 1 to clear */
	qm_writeq(d->m, VTD_MMIO + VTD_R_IQT, (uint64_t)d->tail << shift);
	return (vtd_fsts(d) & VTD_FSTS_IQE) ||
			       qm_readq(d->m, VTD_MMIO + VTD_R_IQH) >> shift != d->tail
		       ? -1
		       : 0;
}

int vtd_fault(struct vtd_drv *d, struct iopt_vtd_fault *f)
{
	uint64_t at = VTD_MMIO + d->hw.fro, rec[2];

	rec[0] = qm_readq(d->m, at);
	rec[1] = qm_readq(d->m, at + 8);
	int r = iopt_vtd_fault_decode(rec, f);
	if (r)
		return r;
	/* F is write-1-to-clear in the top dword (Linux dmar_fault), then PFO in FSTS. */
	qm_writel(d->m, at + 12, 1u << 31);
	wr32(d, VTD_R_FSTS, VTD_FSTS_PFO);
	return 0;
}

uint64_t vtd_ctx_slot(const struct vtd_drv *d, unsigned devfn)
{
	return d->scalable ? d->ctx + (devfn & 0x7F) * 32ull : d->ctx + devfn * 16ull;
}

static void put(struct vtd_drv *d, uint64_t gpa, const uint64_t *w, unsigned n)
{
	memcpy(qm_gpa(d->m, gpa, n * 8u), w, n * 8u);
}

int vtd_open(struct vtd_drv *d, struct qm *m, bool scalable)
{
	uint64_t cap = qm_readq(m, VTD_MMIO + VTD_R_CAP), ecap = qm_readq(m, VTD_MMIO + VTD_R_ECAP);

	memset(d, 0, sizeof(*d));
	d->m = m;
	d->scalable = scalable;
	if (iopt_vtd_hw_decode(cap, ecap, &d->hw) || iopt_vtd_inv_caps(&d->hw, &d->caps))
		return -1;
	d->hw.haw = d->hw.mgaw;          /* QEMU: one aw-bits for both */
	d->caps.scalable = scalable;     /* type 6 only when scalable mode is on */
	if (!d->hw.qi || (scalable && !d->hw.smts)) {
		printf("# vtd: CAP 0x%llx ECAP 0x%llx lack QI%s\n", (unsigned long long)cap,
		       (unsigned long long)ecap, scalable ? " or SMTS" : "");
		return -1;
	}
	d->dw = scalable ? 32 : 16;
	d->iq = qm_alloc(m, 4096, 4096);
	d->iq_n = 4096 / d->dw;
	d->status = qm_alloc(m, 4096, 4096);
	d->root = qm_alloc(m, 4096, 4096);
	d->ctx = qm_alloc(m, 4096, 4096);

	qm_writeq(m, VTD_MMIO + VTD_R_IQT, 0);
	qm_writeq(m, VTD_MMIO + VTD_R_IQA, d->iq | (scalable ? IQA_DW : 0)); /* QS 0: 4 KiB */
	if (gcmd(d, VTD_GCMD_QIE, VTD_GSTS_QIES))
		return -1;
	qm_writeq(m, VTD_MMIO + VTD_R_RTADDR, d->root | (scalable ? RTADDR_SMT : 0));
	if (gcmd(d, VTD_GCMD_SRTP, VTD_GSTS_RTPS))
		return -1;

	struct iopt_inv_cmd c[3];
	unsigned n = 0;
	int r = iopt_vtd_inv_context(&d->hw, &(struct iopt_vtd_cc_inv){ .gran = IOPT_VTD_CC_GLOBAL },
				     &c[n++]);
	if (!r && scalable)
		r = iopt_vtd_inv_pasid_cache(&d->hw, &(struct iopt_vtd_pc_inv){ .gran = IOPT_VTD_PC_GLOBAL },
					     &c[n++]);
	if (!r)
		r = iopt_inv_global_vtd(&d->caps, &c[n++]);
	if (!r)
		r = vtd_run(d, c, n);
	return r ? -1 : 0;
}

int vtd_attach(struct vtd_drv *d, unsigned devfn, uint16_t did, struct iopt_pt *pt)
{
	uint64_t root_pa, w[8];
	unsigned levels;
	struct iopt_inv_cmd c[3];
	unsigned n = 0;
	int r;

	iopt_pt_root(pt, &root_pa, &levels);
	if (!d->scalable) {
		r = iopt_vtd_root_encode(&d->hw, &(struct iopt_vtd_root){ .present = true, .ctp = d->ctx }, w);
		if (r)
			return r;
		put(d, d->root, w, 2); /* bus 0 */
		r = iopt_vtd_context_encode(&d->hw, &(struct iopt_vtd_context){
			.present = true, .tt = IOPT_VTD_TT_SS, .slptptr = root_pa, .levels = levels,
			.did = did }, w);
		if (r)
			return r;
		put(d, vtd_ctx_slot(d, devfn), w, 2);
	} else {
		if (devfn > 0x7F)
			return -1; /* this driver fills the lower half only */
		d->pasid_dir = qm_alloc(d->m, 4096, 4096);
		d->pasid_tbl = qm_alloc(d->m, 4096, 4096);
		r = iopt_vtd_sm_root_encode(&d->hw, &(struct iopt_vtd_sm_root){
			.lower_present = true, .lower_ctp = d->ctx }, w);
		if (r)
			return r;
		put(d, d->root, w, 2);
		/* RID_PASID 0: directory entry 0 -> table, table entry 0. */
		r = iopt_vtd_pasid_dir_encode(&d->hw, &(struct iopt_vtd_pasid_dir){
			.present = true, .table = d->pasid_tbl }, w);
		if (r)
			return r;
		put(d, d->pasid_dir, w, 1);
		r = iopt_vtd_pasid_encode(&d->hw, &(struct iopt_vtd_pasid_encode){
			.present = true, .pgtt = IOPT_VTD_PGTT_SS, .did = did, .ssptptr = root_pa,
			.ss_levels = levels }, w);
		if (r)
			return r;
		put(d, d->pasid_tbl, w, 8);
		r = iopt_vtd_sm_context_encode(&d->hw, &(struct iopt_vtd_sm_context){
			.present = true, .pasid_dir = d->pasid_dir }, w);
		if (r)
			return r;
		put(d, vtd_ctx_slot(d, devfn), w, 4);
		r = iopt_vtd_inv_pasid_cache(&d->hw, &(struct iopt_vtd_pc_inv){
			.gran = IOPT_VTD_PC_PASID, .did = did }, &c[n++]);
		if (r)
			return r;
	}
	/* A changed context entry: context cache for the device, then its domain's IOTLB. */
	r = iopt_vtd_inv_context(&d->hw, &(struct iopt_vtd_cc_inv){
		.gran = IOPT_VTD_CC_DEVICE, .did = did, .sid = (uint16_t)devfn }, &c[n++]);
	if (r)
		return r;
	struct iopt_inv_target t = { .vendor = IOPT_INV_VTD, .caps.vtd = d->caps,
				     .scope.vtd = { .domain = did } };
	if (iopt_inv_plan_scope(&t, &c[n++]) != 1)
		return -1;
	return vtd_run(d, c, n) ? -1 : 0;
}

int vtd_enable(struct vtd_drv *d)
{
	return gcmd(d, VTD_GCMD_TE, VTD_GSTS_TES);
}

void vtd_dma_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	vtd_submit(ctx, cmds, n);
}

void vtd_dma_wait(void *ctx)
{
	(void)vtd_wait(ctx, 0); /* a failure is counted in errors, checked by the test */
}
