/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim IOTLB: a set-associative translation cache (LRU within a set)
 * tagged by address space (domain / PASID / ASID+VMID), holding leaves of
 * any power-of-two size; and an optional paging-structure cache (PWC) that
 * remembers which 2 MiB regions had their walk prefix cached.
 *
 * A lookup probes one set per page size currently held (a bitmask), as
 * hardware with split per-size arrays would. Invalidation by range drops
 * every entry of the tag that overlaps the range; with a level hint (SMMU
 * TTL) only entries of that level, as hardware is allowed to do.
 *
 * Not thread-safe: the simulator serializes the hardware model.
 */
#ifndef IOPT_SIM_IOTLB_H
#define IOPT_SIM_IOTLB_H

#include <stdbool.h>
#include <stdint.h>

#define SIM_PERM_R (1u << 0)
#define SIM_PERM_W (1u << 1)
#define SIM_PERM_X (1u << 2)
#define SIM_PERM_U (1u << 3)
#define SIM_PERM_NEG (1u << 4) /* a cached not-present result (VT-d caching mode): a hit faults */

struct sim_tlb_entry {
	uint64_t va;    /* first byte of the leaf */
	uint64_t pa;    /* its output address */
	uint64_t tag;
	uint64_t used;  /* LRU stamp, 0 = invalid */
	uint64_t owner; /* shadow state for the oracle: whose mapping the walk read */
	uint8_t lg2;    /* leaf size */
	uint8_t perm;   /* SIM_PERM_* */
};

struct sim_iotlb {
	unsigned sets, ways;
	struct sim_tlb_entry *e;   /* sets x ways */
	uint64_t tick;
	uint64_t sizes;            /* bit lg2 set: entries of that size may exist */
	/* paging-structure cache: one bit per (tag, 2 MiB region) slot, direct-mapped */
	bool pwc_on;
	uint64_t *pwc;             /* region number + 1 per slot, 0 = empty */
	uint64_t *pwc_tag;
	unsigned pwc_slots;
	uint64_t hits, misses, pwc_hits;
};

struct sim_tlb_hit {
	uint64_t pa;   /* output address of the looked-up address */
	uint8_t lg2;
	uint8_t perm;
};

/* entries: multiple of ways (>= ways); pwc_slots 0: no PWC. 0 or -EINVAL / -ENOMEM. */
int sim_iotlb_init(struct sim_iotlb *t, unsigned entries, unsigned ways, unsigned pwc_slots);
void sim_iotlb_destroy(struct sim_iotlb *t);

/* Hardware lookup: counts a hit or miss and refreshes LRU. */
bool sim_iotlb_lookup(struct sim_iotlb *t, uint64_t tag, uint64_t va, struct sim_tlb_hit *h);
/* Oracle look: no counters, no LRU change. */
bool sim_iotlb_probe(const struct sim_iotlb *t, uint64_t tag, uint64_t va, struct sim_tlb_hit *h);
/* Any entry of tag overlapping [start, end]? (oracle: reuse of a stale IOVA) */
bool sim_iotlb_any(const struct sim_iotlb *t, uint64_t tag, uint64_t start, uint64_t end);
/* Any entry of tag overlapping [start, end] filled from owner's mapping? */
bool sim_iotlb_owned(const struct sim_iotlb *t, uint64_t tag, uint64_t owner, uint64_t start,
		     uint64_t end);
void sim_iotlb_fill(struct sim_iotlb *t, uint64_t tag, uint64_t va, uint64_t pa, unsigned lg2,
		    unsigned perm, uint64_t owner);

/*
 * Drop entries of tag overlapping [start, end]; level_lg2 != 0 keeps
 * entries whose size is not in [level_lg2, next_lg2) (a TTL hint).
 * Non-leaf invalidations also drop the PWC regions of the range.
 */
void sim_iotlb_inv_range(struct sim_iotlb *t, uint64_t tag, uint64_t start, uint64_t end,
			 unsigned level_lg2, unsigned next_lg2, bool leaf_only);
/* Drop every entry whose tag matches (tag & mask) == (want & mask), and their PWC regions. */
void sim_iotlb_inv_tag(struct sim_iotlb *t, uint64_t want, uint64_t mask);

/* PWC: was the walk prefix of va's 2 MiB region cached? Inserts it when not. */
bool sim_pwc_lookup(struct sim_iotlb *t, uint64_t tag, uint64_t va);

#endif /* IOPT_SIM_IOTLB_H */
