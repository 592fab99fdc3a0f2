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

/*
 * VT-d (§5.1). qw0: type 3:0, granularity 5:4, DID 31:16, PASID 51:32
 * (type 6). qw1: AM 5:0, IH 6, ADDR 63:12; PSI covers the naturally
 * aligned 2^AM-page block containing ADDR. Type 5 is the wait descriptor.
 */
static struct sim_cmd vtd(const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1];
	unsigned type = w0 & 0xF, gran = (w0 >> 4) & 3, am = w1 & 0x3F;
	uint16_t did = (uint16_t)(w0 >> 16);
	bool pasid = type == 6;
	uint64_t tag = sim_tag_vtd(did, pasid, (uint32_t)(w0 >> 32) & 0xFFFFF);

	if (type == 5)
		return (struct sim_cmd){ .kind = SIM_CMD_SYNC };
	if ((type != 2 && type != 6) || gran == 0 || (pasid && gran == 1) || am > 52)
		return (struct sim_cmd){ .kind = SIM_CMD_BAD };
	if (gran == 1)
		return tagged(0, 0); /* global */
	if (gran == 2) /* type 2 DSI: the domain, PASID-tagged entries included */
		return pasid ? tagged(tag, TAG_ALL) : tagged(did, 0xFFFF);
	uint64_t block = 4096ull << am;
	uint64_t start = (w1 & ~0xFFFull) & ~(block - 1);
	return range(tag, start, start + block - 1, (w1 >> 6) & 1);
}

/*
 * AMD INVALIDATE_IOMMU_PAGES (§5.2): PASID w0 19:0, DID w0 47:32, opcode
 * w0 63:60; w1: S 0, PDE 1, GN 2, address 63:12. S=1: the lowest clear
 * address bit k (>= 12) makes it a naturally aligned 2^(k+1)-byte range.
 * COMPLETION_WAIT is opcode 1.
 */
static struct sim_cmd amd(const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1], addr = w1 & ~0xFFFull;
	unsigned op = (unsigned)(w0 >> 60);
	bool gn = (w1 >> 2) & 1, pde = (w1 >> 1) & 1;
	uint64_t tag = sim_tag_amd((uint16_t)(w0 >> 32), gn, (uint32_t)w0 & 0xFFFFF);

	if (op == 1)
		return (struct sim_cmd){ .kind = SIM_CMD_SYNC };
	if (op != 3)
		return (struct sim_cmd){ .kind = SIM_CMD_BAD };
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
 * command covers (NUM+1) x 2^SCALE granules; TG 0 is one address.
 */
static struct sim_cmd smmu(const struct iopt_inv_cmd *c)
{
	uint64_t w0 = c->w[0], w1 = c->w[1];
	unsigned op = w0 & 0xFF, num = (w0 >> 12) & 0x1F, scale = (w0 >> 20) & 0x1F;
	unsigned ttl = (w1 >> 8) & 3, tg = (w1 >> 10) & 3;
	uint16_t vmid = (uint16_t)(w0 >> 32), asid = (uint16_t)(w0 >> 48);
	bool leaf = w1 & 1;
	uint64_t va;
	unsigned stage;

	switch (op) {
	case 0x46:
		return (struct sim_cmd){ .kind = SIM_CMD_SYNC };
	case 0x11: /* NH_ASID */
		return tagged(sim_tag_smmu(1, asid, vmid), TAG_ALL);
	case 0x28: /* S12_VMALL: both stages of the VMID */
		return tagged((uint64_t)vmid << 16, 0xFFFFull << 16);
	case 0x12:
		stage = 1;
		va = w1 & ~0xFFFull;
		break;
	case 0x2A:
		stage = 2;
		asid = 0;
		va = w1 & 0x000FFFFFFFFFF000ull;
		break;
	default:
		return (struct sim_cmd){ .kind = SIM_CMD_BAD };
	}
	uint64_t tag = sim_tag_smmu(stage, asid, vmid);
	if (!tg)
		return range(tag, va, va, leaf);
	unsigned g = 10 + 2 * tg; /* 12, 14, 16 */
	uint64_t size = ((uint64_t)num + 1) << (scale + g);
	struct sim_cmd r = range(tag, va, va + size - 1, leaf);
	if (ttl) { /* leaves of that level only: page lg2 = g + (3 - ttl) * (g - 3) */
		r.level_lg2 = g + (3 - ttl) * (g - 3);
		r.next_lg2 = r.level_lg2 + g - 3;
	}
	return r;
}

struct sim_cmd sim_cmd_decode(enum iopt_inv_vendor v, const struct iopt_inv_cmd *c)
{
	switch (v) {
	case IOPT_INV_VTD:
		return vtd(c);
	case IOPT_INV_AMD:
		return amd(c);
	case IOPT_INV_SMMU:
		return smmu(c);
	}
	return (struct sim_cmd){ .kind = SIM_CMD_BAD };
}

int sim_invq_init(struct sim_invq *q, enum iopt_inv_vendor v)
{
	*q = (struct sim_invq){ .vendor = v, .cap = 256 };
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
		struct sim_cmd d = sim_cmd_decode(q->vendor, &q->q[i]);
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
