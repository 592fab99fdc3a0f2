/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim invalidation queue: the hardware end of VT-d queued invalidation,
 * the AMD command buffer and the SMMUv3 command queue. Commands are taken
 * as the 128-bit descriptors a driver writes and decoded here, from the
 * hardware documentation (shared/docs/hw-facts.md §5), not with the
 * library's decoders: a planner that encodes a field wrongly invalidates
 * the wrong thing here, and the simulator's oracle sees the stale entry.
 *
 * Address-space tags (what an IOTLB entry is tagged with):
 *   VT-d  domain id | (PASID + 1) << 16 for first-stage (PASID) entries
 *   AMD   domain id | (PASID + 1) << 16 for guest (GN) entries
 *   SMMU  ASID | VMID << 16 | stage << 32
 */
#ifndef IOPT_SIM_INVQ_H
#define IOPT_SIM_INVQ_H

#include <stdbool.h>
#include <stdint.h>

#include <iopt/invalidate.h>

#include "hw/iotlb.h"
#include "sim.h"

static inline uint64_t sim_tag_vtd(uint16_t did, bool has_pasid, uint32_t pasid)
{
	return did | (has_pasid ? ((uint64_t)pasid + 1) << 16 : 0);
}

static inline uint64_t sim_tag_amd(uint16_t did, bool gn, uint32_t pasid)
{
	return did | (gn ? ((uint64_t)pasid + 1) << 16 : 0);
}

static inline uint64_t sim_tag_smmu(unsigned stage, uint16_t asid, uint16_t vmid)
{
	return asid | (uint64_t)vmid << 16 | (uint64_t)stage << 32;
}

/* What one command does, as the simulated hardware understood it. */
enum sim_cmd_kind { SIM_CMD_BAD = 0, SIM_CMD_RANGE, SIM_CMD_TAG, SIM_CMD_SYNC };

struct sim_cmd {
	enum sim_cmd_kind kind;
	uint64_t tag, tag_mask;  /* RANGE: exact tag; TAG: entries with (tag & mask) == ... */
	uint64_t start, end;     /* RANGE, inclusive */
	bool leaf_only;          /* walk caches may be kept */
	unsigned level_lg2;      /* RANGE with a level hint: only entries of [level_lg2, next_lg2) */
	unsigned next_lg2;
};

/*
 * Decode one command of vendor v on hardware with capabilities hw: a
 * command, field or flag hw does not advertise (sim.h), a reserved field
 * that is not 0 or an unknown opcode is SIM_CMD_BAD.
 */
struct sim_cmd sim_cmd_decode(enum iopt_inv_vendor v, const struct sim_hw_caps *hw,
			      const struct iopt_inv_cmd *c);

struct sim_invq {
	enum iopt_inv_vendor vendor;
	struct sim_hw_caps hw;
	struct iopt_inv_cmd *q;
	unsigned n, cap;
	uint64_t range_cmds, tag_cmds, sync_cmds, bad_cmds;
};

/* The queue of vendor v on hardware hw (copied). 0 or -ENOMEM. */
int sim_invq_init(struct sim_invq *q, enum iopt_inv_vendor v, const struct sim_hw_caps *hw);
void sim_invq_destroy(struct sim_invq *q);
/* Queue n commands (the producer side); 0 or -ENOMEM (nothing queued). */
int sim_invq_push(struct sim_invq *q, const struct iopt_inv_cmd *c, unsigned n);
/* Consume every queued command in order against t; returns how many were consumed. */
unsigned sim_invq_run(struct sim_invq *q, struct sim_iotlb *t);
/* Drop what is queued without executing it (a lost sync, for the oracle tests). */
void sim_invq_drop(struct sim_invq *q);

#endif /* IOPT_SIM_INVQ_H */
