/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim hardware page walkers: the IOMMU's side of every table format,
 * written from the hardware documentation (shared/docs/hw-facts.md), never
 * from the engine's own encode/decode helpers, so that a translation the
 * library wrongly encodes shows up as a mismatch.
 *
 * A walk reads entries through a memory callback (simulated RAM), checks
 * permissions for the access, sets accessed/dirty bits as hardware does
 * when dirty tracking is on, and reports either a translation or a fault
 * with the vendor's reason. Nested: every table address and the final
 * output of the stage-1 walk are translated by a stage-2 walk.
 */
#ifndef IOPT_SIM_WALK_H
#define IOPT_SIM_WALK_H

#include <stdbool.h>
#include <stdint.h>

#include <iopt/pgtable.h>

/* Host pointer to the 8-byte entry at physical address pa; NULL outside RAM. */
typedef uint64_t *(*sim_mem_fn)(void *ctx, uint64_t pa);

struct sim_walk_cfg {
	enum iopt_pt_format format;
	unsigned ias;          /* as iopt_pt_cfg */
	unsigned oas;          /* as iopt_pt_cfg (0 = format maximum) */
	unsigned granule_lg2;  /* ARM: 12/14/16; others 12 */
	unsigned flags;        /* iopt_pt_cfg flags: SIGN_EXTEND, HW_DIRTY, LPA matter */
	uint64_t root;         /* iopt_pt_root */
	unsigned levels;       /* iopt_pt_root (AMD: the DTE mode) */
	bool dirty_tracking;   /* hardware updates A/D (VT-d SSADE, AMD HAD, ARM HA/HD+DBM) */
	bool snoop_ctl;        /* VT-d ECAP.SC: SNP is allowed in leaves (else reserved) */
	sim_mem_fn mem;
	void *mem_ctx;
	const struct sim_walk_cfg *s2; /* nested: stage 2 for table addresses and output */
};

enum sim_fault {
	SIM_OK = 0,
	SIM_F_NOT_PRESENT,  /* no valid entry on the path (VT-d/AMD/x86 not present, ARM translation fault) */
	SIM_F_PERM,         /* entry present but the access is not allowed */
	SIM_F_ADDR_SIZE,    /* input above ias / not canonical; ARM: a table or output
			     * address above oas; AMD: output above oas */
	SIM_F_RESERVED,     /* reserved bits set / invalid encoding: VT-d/x86 PS in the top
			     * levels, low address bits of a large leaf, address bits at or
			     * above oas (the host address width), VT-d TM, non-leaf SNP
			     * or leaf SNP without snoop control;
			     * AMD NextLevel not below the entry's level, a leaf at level 6,
			     * a bad size code; ARM a block where the granule has none */
};

struct sim_access {
	bool write;
	bool exec;
	bool priv;  /* privileged access (x86 supervisor, ARM EL1) */
};

struct sim_xlate {
	enum sim_fault fault;
	bool fault_s2;        /* nested: the fault happened in the stage-2 walk */
	unsigned fault_level; /* level (0 = leaf level, as the engine counts) where it stopped */
	uint64_t pa;          /* output address of the input address */
	uint64_t page_size;   /* size of the leaf (ARM contiguous run: the run; AMD NextLevel=7: the page) */
	uint64_t entry_size;  /* what the one descriptor read maps: page_size, but one entry of an
			       * ARM contiguous run and one replica's slot of an AMD page */
	bool r, w, x, user;   /* permissions of the leaf (AND along the walk where the format does) */
	unsigned reads;       /* entry reads made, stage-2 reads included */
};

/*
 * sim_walk - translate iova for acc. Returns 0 and *x filled (x->fault tells
 * whether it translated), or -EINVAL for a cfg it does not know.
 * A/D updates (dirty_tracking) use atomic RMW on the entry.
 */
int sim_walk(const struct sim_walk_cfg *c, uint64_t iova, const struct sim_access *acc,
	     struct sim_xlate *x);

#endif /* IOPT_SIM_WALK_H */
