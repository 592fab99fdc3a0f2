/* SPDX-License-Identifier: MIT */
/* iopt-sim invalidation queue and command decoders (invq.h, hw-facts §5). */
#include "hw/invq.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define TAG_ALL UINT64_MAX

static struct sim_cmd range(uint64_t tag, uint64_t start, uint64_t end, bool leaf)
{
	return (struct sim_cmd){ .kind = SIM_CMD_RANGE, .tag = tag, .tag_mask = TAG_ALL,
				 .start = start, .end = end, .leaf_only = leaf };
}

static struct sim_cmd tagged(uint64_t tag, uint64_t mask)
{
	return (struct sim_cmd){ .kind = SIM_CMD_TAG, .tag = tag, .tag_mask = mask };
}

#define BAD ((struct sim_cmd){ .kind = SIM_CMD_BAD })
#define SYNC ((struct sim_cmd){ .kind = SIM_CMD_SYNC })

/*
 * VT-d (§5.1). qw0: type 3:0, granularity 5:4, DW 6 / DR 7 (type 2), DID
 * 31:16, PASID 51:32 (type 6). qw1: AM 5:0, IH 6, ADDR 63:12; PSI covers
 * the naturally aligned 2^AM-page block containing ADDR. Type 5 is the wait
 * descriptor: IF 4, SW 5, FN 6, PD 7, status data 63:32, status address in
 * qw1. Reserved: the fields QEMU's masks name, and each flag whose
 * capability is absent (DW/DR without CAP.DWD/DRD, PD without ECAP.PDS, PSI
 * without CAP.PSI or beyond MAMV, type 6 outside scalable mode with PASID).
 */
static struct sim_cmd vtd(const struct sim_hw_caps *hw, const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1], cap = hw->vtd_cap, ecap = hw->vtd_ecap;
	unsigned type = w0 & 0xF, gran = (w0 >> 4) & 3, am = w1 & 0x3F;
	uint16_t did = (uint16_t)(w0 >> 16);
	bool pasid = type == 6;
	uint64_t tag = sim_tag_vtd(did, pasid, (uint32_t)(w0 >> 32) & 0xFFFFF);

	if (type == 5) {
		uint64_t rsvd = 0xFFFFFF00ull | (ecap & SIM_VTD_ECAP_PDS ? 0 : 1ull << 7);
		return (w0 & rsvd) || (w1 & 3) ? BAD : SYNC;
	}
	if (type == 2) {
		uint64_t rsvd = 0xFFFFFFFF0000FF00ull | (cap & SIM_VTD_CAP_DWD ? 0 : 1ull << 6) |
				(cap & SIM_VTD_CAP_DRD ? 0 : 1ull << 7);
		if ((w0 & rsvd) || (gran == 3 && (!(cap & SIM_VTD_CAP_PSI) || am > SIM_VTD_CAP_MAMV(cap))))
			return BAD;
	} else if (!pasid || (~ecap & (SIM_VTD_ECAP_SMTS | SIM_VTD_ECAP_PASID)) ||
		   (w0 & 0xFFF00000000001C0ull) || gran == 1) {
		return BAD;
	}
	if (gran == 0 || (w1 & 0xF80) || am > 52 || (uint64_t)did >> SIM_VTD_CAP_ND(cap))
		return BAD;
	if (gran == 1)
		return tagged(0, 0); /* global */
	if (gran == 2) /* type 2 DSI: the domain, PASID-tagged entries included */
		return pasid ? tagged(tag, TAG_ALL) : tagged(did, 0xFFFF);
	uint64_t block = 4096ull << am;
	uint64_t start = (w1 & ~0xFFFull) & ~(block - 1);
	return range(tag, start, start + block - 1, (w1 >> 6) & 1);
}

/*
 * AMD (§5.2). INVALIDATE_IOMMU_PAGES: PASID w0 19:0, DID w0 47:32, opcode
 * w0 63:60; w1: S 0, PDE 1, GN 2, address 63:12. S=1: the lowest clear
 * address bit k (>= 12) makes it a naturally aligned 2^(k+1)-byte range.
 * COMPLETION_WAIT is opcode 1, INVALIDATE_IOMMU_ALL 8 (EFR.IA). Reserved:
 * the bits QEMU checks, and GN=1 without guest translation (EFR.GT).
 */
static struct sim_cmd amd(const struct sim_hw_caps *hw, const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1], addr = w1 & ~0xFFFull;
	unsigned op = (unsigned)(w0 >> 60);
	bool gn = (w1 >> 2) & 1, pde = (w1 >> 1) & 1;
	uint64_t tag = sim_tag_amd((uint16_t)(w0 >> 32), gn, (uint32_t)w0 & 0xFFFFF);

	switch (op) {
	case 1: /* store 0, interrupt 1, flush queue 2, store address 51:3 */
		return w0 & 0x0FF0000000000000ull ? BAD : SYNC;
	case 8: /* every cached translation; no operand */
		if (!(hw->amd_efr & SIM_AMD_EFR_IA) || (w0 << 4) || w1)
			return BAD;
		return tagged(0, 0);
	case 3:
		break;
	default:
		return BAD;
	}
	if ((w0 & 0x0FFF0000FFF00000ull) || (w1 & 0xFF8) || (gn && !(hw->amd_efr & SIM_AMD_EFR_GT)))
		return BAD;
	if (!(w1 & 1))
		return range(tag, addr, addr + 4095, !pde);
	uint64_t ones = ~addr & ~0xFFFull; /* clear bits of the address above 11 */
	unsigned k = ones ? (unsigned)__builtin_ctzll(ones) : 64;
	if (k + 1 >= 52) /* 2^52 bytes and more: the whole space (QEMU's threshold) */
		return tagged(tag, TAG_ALL);
	uint64_t size = 1ull << (k + 1);
	uint64_t start = addr & ~(size - 1);
	return range(tag, start, start + size - 1, !pde);
}

/*
 * SMMUv3 (§5.3): opcode dw0 7:0, NUM 16:12, SCALE 24:20, VMID 47:32, ASID
 * 63:48; dw1 LEAF 0, TTL 9:8, TG 11:10, VA 63:12 (IPA 51:12). A range
 * command covers (NUM+1) x 2^SCALE granules; TG 0 is one address. Illegal:
 * a range (TG != 0) without IDR3.RIL or in a granule IDR5 lacks, NH_* without
 * stage 1, S2_IPA without stage 2, an ASID/VMID above 8 bits without
 * IDR0.ASID16/VMID16.
 */
static struct sim_cmd smmu(const struct sim_hw_caps *hw, const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1];
	unsigned op = w0 & 0xFF, num = (w0 >> 12) & 0x1F, scale = (w0 >> 20) & 0x1F;
	unsigned ttl = (w1 >> 8) & 3, tg = (w1 >> 10) & 3;
	uint16_t vmid = (uint16_t)(w0 >> 32), asid = (uint16_t)(w0 >> 48);
	uint32_t idr0 = hw->smmu_idr0;
	bool leaf = w1 & 1, s1 = op == 0x11 || op == 0x12;
	uint64_t va;
	unsigned stage;

	if (op == 0x46)
		return SYNC;
	if ((s1 && (!(idr0 & SIM_SMMU_IDR0_S1P) || (asid > 0xFF && !(idr0 & SIM_SMMU_IDR0_ASID16)))) ||
	    (vmid > 0xFF && !(idr0 & SIM_SMMU_IDR0_VMID16)))
		return BAD;
	switch (op) {
	case 0x11: /* NH_ASID */
		return tagged(sim_tag_smmu(1, asid, vmid), TAG_ALL);
	case 0x28: /* S12_VMALL: both stages of the VMID */
		return tagged((uint64_t)vmid << 16, 0xFFFFull << 16);
	case 0x12:
		stage = 1;
		va = w1 & ~0xFFFull;
		break;
	case 0x2A:
		if (!(idr0 & SIM_SMMU_IDR0_S2P))
			return BAD;
		stage = 2;
		asid = 0;
		va = w1 & 0x000FFFFFFFFFF000ull;
		break;
	default:
		return BAD;
	}
	uint64_t tag = sim_tag_smmu(stage, asid, vmid);
	if (!tg)
		return range(tag, va, va, leaf);
	if (!(hw->smmu_idr3 & SIM_SMMU_IDR3_RIL) || !(hw->smmu_idr5 & SIM_SMMU_IDR5_GRAN(tg)))
		return BAD;
	unsigned g = 10 + 2 * tg; /* 12, 14, 16 */
	uint64_t size = ((uint64_t)num + 1) << (scale + g);
	struct sim_cmd r = range(tag, va, va + size - 1, leaf);
	if (ttl) { /* leaves of that level only: page lg2 = g + (3 - ttl) * (g - 3) */
		r.level_lg2 = g + (3 - ttl) * (g - 3);
		r.next_lg2 = r.level_lg2 + g - 3;
	}
	return r;
}

struct sim_cmd sim_cmd_decode(enum iopt_inv_vendor v, const struct sim_hw_caps *hw,
			      const struct iopt_inv_cmd *c)
{
	switch (v) {
	case IOPT_INV_VTD:
		return vtd(hw, c);
	case IOPT_INV_AMD:
		return amd(hw, c);
	case IOPT_INV_SMMU:
		return smmu(hw, c);
	}
	return BAD;
}

int sim_invq_init(struct sim_invq *q, enum iopt_inv_vendor v, const struct sim_hw_caps *hw)
{
	*q = (struct sim_invq){ .vendor = v, .hw = *hw, .cap = 256 };
	q->q = malloc(q->cap * sizeof(*q->q));
	return q->q ? 0 : -ENOMEM;
}

void sim_invq_destroy(struct sim_invq *q)
{
	free(q->q);
	q->q = NULL;
}

int sim_invq_push(struct sim_invq *q, const struct iopt_inv_cmd *c, unsigned n)
{
	if (q->n + n > q->cap) {
		unsigned cap = (q->n + n) * 2;
		struct iopt_inv_cmd *nq = realloc(q->q, cap * sizeof(*nq));
		if (!nq)
			return -ENOMEM;
		q->q = nq;
		q->cap = cap;
	}
	memcpy(q->q + q->n, c, n * sizeof(*c));
	q->n += n;
	return 0;
}

unsigned sim_invq_run(struct sim_invq *q, struct sim_iotlb *t)
{
	unsigned n = q->n;

	for (unsigned i = 0; i < n; i++) {
		struct sim_cmd d = sim_cmd_decode(q->vendor, &q->hw, &q->q[i]);
		switch (d.kind) {
		case SIM_CMD_RANGE:
			q->range_cmds++;
			sim_iotlb_inv_range(t, d.tag, d.start, d.end, d.level_lg2, d.next_lg2,
					    d.leaf_only);
			break;
		case SIM_CMD_TAG:
			q->tag_cmds++;
			sim_iotlb_inv_tag(t, d.tag, d.tag_mask);
			break;
		case SIM_CMD_SYNC:
			q->sync_cmds++;
			break;
		case SIM_CMD_BAD:
			q->bad_cmds++; /* hardware: invalidation queue error; nothing invalidated */
			break;
		}
	}
	q->n = 0;
	return n;
}

void sim_invq_drop(struct sim_invq *q)
{
	q->n = 0;
}
