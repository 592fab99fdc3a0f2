/* SPDX-License-Identifier: MIT */
/*
 * iopt DMA layer: the dma-iommu.c part of the stack. A DMA domain ties one
 * page table, one IOVA domain, an IOTLB gather configuration, a flush mode
 * and the driver's invalidation callbacks into map/unmap calls that hand
 * out device addresses. Data flow and ordering: docs/DMA.md.
 *
 *   map:   IOVA alloc (size-aligned, under the device's DMA mask)
 *          -> iopt_pt_map_range (largest page sizes that fit)
 *   unmap: iopt_pt_unmap_pages into a gather
 *          -> strict: gather sync = invalidate (below), then table pages
 *             released, then the IOVA freed;
 *          -> lazy: IOVA + table pages queued on the flush queue; freed
 *             after a full (scope-wide) invalidation that started after the
 *             enqueue has finished (include/iopt/flushq.h).
 *   A buffer within one granule (the common 4 KiB map) takes a fast path
 *   with the same checks and results: the leaf goes into / out of the
 *   thread's cached table (iopt_pt_map_leaf / iopt_pt_unmap_leaf), no
 *   gather, and the invalidation is one precomputed command (the
 *   planner's own plan for that granule, base or'ed in). Blocks of 2..32
 *   granules unmapped without freeing a table get such a command too.
 *
 * Invalidation, two ways to plug in the driver:
 *   command mode (cfg.inv.vendor set): the layer plans the fewest vendor
 *          commands for the gathered ranges (iopt_inv_plan, policy and
 *          capabilities from cfg.inv), hands them to ops.submit and then
 *          calls ops.wait, which returns once the hardware completed them.
 *          Full flushes submit iopt_inv_plan_scope's command.
 *   range mode (cfg.inv.vendor == 0): ops.flush_range / ops.flush_all get
 *          the ranges and do the hardware work themselves.
 *
 * Ownership: the domain borrows cfg.pt and cfg.iovad; destroy the DMA
 * domain first (it drains the flush queue into the IOVA domain). From
 * create to destroy the domain also owns the page table's own flush (for
 * tables a large-page map replaces, iopt_pt_set_flush): it invalidates them
 * through the same callbacks; destroy sets it back to none.
 * Concurrency: map/unmap/map_sg/unmap_sg from any threads concurrently on
 * distinct buffers; unmapping a buffer concurrently with its own map or a
 * second unmap is a caller bug. Unmap may free tables only inside the
 * caller's own range, so the lookups done here need no RCU read lock.
 * Not inside an RCU read-side section (syncs wait for a grace period).
 */
#ifndef IOPT_DMA_H
#define IOPT_DMA_H

#include <iopt/common.h>
#include <iopt/flushq.h>
#include <iopt/gather.h>
#include <iopt/invalidate.h>
#include <iopt/iova.h>
#include <iopt/pgtable.h>

IOPT_BEGIN_DECLS

enum iopt_dma_mode {
	IOPT_DMA_STRICT = 0, /* invalidate on every unmap before the IOVA is reused */
	IOPT_DMA_LAZY,       /* flush queue (hw-facts §6.2) */
};

#define IOPT_DMA_F_MSI_X86  (1u << 0) /* reserve 0xFEE00000-0xFEEFFFFF at create */
#define IOPT_DMA_F_FQ_SINGLE (1u << 1) /* lazy: one shared queue (32768, 1000 ms) */
#define IOPT_DMA_F_FQ_TIMER (1u << 2)  /* lazy: internal timer thread */
/*
 * Trust unmap sizes (as Linux dma-iommu does): skip iopt_iova_free_check,
 * the live-map load (or, for sizes the rcache does not serve, the tree
 * lookup under the tree lock) that checks iova/size against the
 * allocation. Unmapping an IOVA whose first granule is not mapped is still
 * -ENOENT; a wrong size is undefined behaviour (it may unmap part of a
 * neighbour's mapping).
 */
#define IOPT_DMA_F_TRUSTED  (1u << 3)
/*
 * Invalidate every new mapping before map returns, as for an unmap (the
 * driver's flush_range, or in command mode the planned commands, upper
 * levels included, and a wait). For an IOMMU that may cache not-present
 * entries: VT-d CAP.CM (iopt_vtd_hw.caching_mode), which virtual IOMMUs
 * set so that they see every map (QEMU's intel-iommu for VFIO). Such a
 * domain's maps skip the one-granule fast path (the wait dominates them);
 * without the flag nothing changes.
 */
#define IOPT_DMA_F_FLUSH_ON_MAP (1u << 4)

#define IOPT_DMA_MSI_X86_START 0xFEE00000ull
#define IOPT_DMA_MSI_X86_END   0xFEEFFFFFull

/*
 * The driver's invalidation callbacks: submit + wait in command mode,
 * flush_range + flush_all in range mode (the other pair may be NULL).
 * Called from the thread doing the unmap (or the flush-queue flush), from
 * several threads at once when the layer is used so: serialize inside.
 */
struct iopt_dma_ops {
	/*
	 * Command mode: append n (1..IOPT_INV_MAX_BUDGET) commands, in order,
	 * to the hardware's invalidation queue (waiting for room if needed).
	 */
	void (*submit)(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n);
	/*
	 * Command mode: return once every command submitted before the call
	 * has completed (the driver appends its wait/sync descriptor:
	 * iopt_inv_wait_vtd, iopt_inv_wait_amd, iopt_inv_sync_smmu).
	 */
	void (*wait)(void *ctx);
	/*
	 * Range mode: invalidate nr disjoint ranges (sorted, inclusive) removed
	 * with leaves of at least pgsize, plus the paging-structure caches for
	 * them; return when done. Strict unmaps and gather syncs.
	 */
	void (*flush_range)(void *ctx, const struct iopt_gather_range *r, unsigned nr,
			    uint64_t pgsize);
	/* Range mode: invalidate the whole domain (flush queue; table-only syncs). */
	void (*flush_all)(void *ctx);
	void *ctx;
};

struct iopt_dma_cfg {
	struct iopt_pt *pt;               /* borrowed */
	struct iopt_iova_domain *iovad;   /* borrowed; its granule is the map unit */
	enum iopt_dma_mode mode;
	unsigned flags;                   /* IOPT_DMA_F_* */
	unsigned gather_ranges;           /* 0: one range per flush; 1..8: list mode */
	uint32_t fq_entries;              /* lazy: ring size, 0 = default */
	uint64_t fq_timeout_ns;           /* lazy: 0 = default */
	uint64_t (*clock)(void *clock_ctx); /* lazy: NULL = CLOCK_MONOTONIC */
	void *clock_ctx;
	struct iopt_dma_ops ops;          /* the pair of the mode: required */
	/*
	 * Command mode: vendor, capabilities, scope and cost policy of the
	 * IOMMU (copied). vendor 0 selects range mode. Ranges the planner
	 * cannot express are invalidated with the scope-wide command. The
	 * leaf-only hint (VT-d IH, AMD PDE=0, SMMU LEAF/TTL) is used when no
	 * table was freed, no leaf above the gather's stride was removed
	 * (gather mixed) and the buffer was too short for a leaf above the
	 * granule.
	 */
	struct iopt_inv_target inv;
};

/* One scatter-list segment: phys/len in, dma_addr/dma_len out. */
struct iopt_dma_sg {
	uint64_t phys;
	uint64_t len;
	uint64_t dma_addr;
	uint64_t dma_len;
};

struct iopt_dma_domain;

/*
 * iopt_dma_create - make a DMA domain.
 * Return: 0 and *out; -EINVAL (missing pt/iovad, a callback of the mode
 * missing, unknown mode or flags, gather_ranges > 8, bad fq_entries, an
 * inv target iopt_inv_plan_scope rejects); -EBUSY (MSI window overlaps a
 * live IOVA allocation); -ENOMEM; the flush queue's errors.
 * Context: any thread, while no map runs on cfg.pt. Owned by the caller
 * (iopt_dma_destroy).
 */
IOPT_API int iopt_dma_create(const struct iopt_dma_cfg *cfg, struct iopt_dma_domain **out);

/*
 * iopt_dma_destroy - drain the flush queue (one flush_all; every queued
 * IOVA freed, every queued table page released) and free the domain.
 * Mappings still live stay in the page table and the IOVA domain.
 * Context: no other call on dom may run or follow. NULL is a no-op.
 */
IOPT_API void iopt_dma_destroy(struct iopt_dma_domain *dom);

/*
 * iopt_dma_reserve - never hand out [iova, iova + size) (reserved region).
 * Return: 0; -EINVAL (size 0 or wrap); -EBUSY (overlaps a live mapping);
 * -ENOMEM. Context: any thread.
 */
IOPT_API int iopt_dma_reserve(struct iopt_dma_domain *dom, uint64_t iova, uint64_t size);

/*
 * iopt_dma_map - map [phys, phys + size) for a device.
 * The IOVA range is phys's offset in its granule plus size, rounded up to
 * whole granules, allocated size-aligned (as dma-iommu) with its last byte
 * at or below dma_mask, and mapped with the largest page sizes that fit.
 * *iova receives the device address of phys (same granule offset). With
 * IOPT_DMA_F_FLUSH_ON_MAP the new range is invalidated (and, in command
 * mode, waited for) before the call returns.
 * Return: 0; -EINVAL (size 0, wrap, NULL iova, prot not accepted by the
 * table); -ERANGE (dma_mask below the domain's first IOVA); -ENOMEM (no
 * free block under dma_mask, or host memory); the page table's map errors.
 * On failure nothing is mapped and no IOVA is held.
 * Context: any thread (see the header comment).
 */
IOPT_API int iopt_dma_map(struct iopt_dma_domain *dom, uint64_t phys, uint64_t size,
			  unsigned prot, uint64_t dma_mask, uint64_t *iova);

/*
 * iopt_dma_unmap - undo iopt_dma_map(dom, ..., size, ...) that returned iova.
 * Strict: returns after the invalidation of the range completed (wait or
 * flush_range returned) and the IOVA was freed. Lazy: the IOVA is queued
 * (see flushq.h).
 * Return: 0; -ENOENT (iova is not the start of a live mapping: never
 * mapped, already unmapped, reserved, or a range that would wrap); -EINVAL (size 0, or size does not
 * round to the mapping's size: in a domain with per-thread IOVA caches the
 * check is by size class, as iopt_iova_free; not checked under
 * IOPT_DMA_F_TRUSTED). Nothing changes on failure. The checks cost
 * iopt_iova_free_check (lock-free for sizes the IOVA rcache serves, a tree
 * lookup under the tree lock for others) and the page-table lookup the
 * unmap does anyway (an unmapped first granule is -ENOENT).
 * Context: any thread (see the header comment).
 */
IOPT_API int iopt_dma_unmap(struct iopt_dma_domain *dom, uint64_t iova, uint64_t size);

/*
 * iopt_dma_map_sg - map a scatter list into one contiguous IOVA range.
 * Allowed only when every segment but the first starts granule-aligned and
 * every segment but the last ends granule-aligned (Linux
 * iommu_dma_map_sg's condition); anything else is -EINVAL (no per-segment
 * fallback: the caller maps such segments one by one with iopt_dma_map).
 * Segment i gets dma_addr = the device address of its phys, dma_len = len;
 * the segments follow one another in IOVA space (IOPT_DMA_F_FLUSH_ON_MAP:
 * one invalidation for the whole range).
 * Return: 0; -EINVAL (nents 0, a zero-length segment, the alignment rule,
 * wrap); the errors of iopt_dma_map. On failure nothing is mapped, no IOVA
 * is held, and dma_addr/dma_len are not written.
 * Context: as iopt_dma_map.
 */
IOPT_API int iopt_dma_map_sg(struct iopt_dma_domain *dom, struct iopt_dma_sg *sg, unsigned nents,
			     unsigned prot, uint64_t dma_mask);

/*
 * iopt_dma_unmap_sg - undo iopt_dma_map_sg on the same (unchanged) list.
 * Return/Context: as iopt_dma_unmap for the whole range.
 */
IOPT_API int iopt_dma_unmap_sg(struct iopt_dma_domain *dom, const struct iopt_dma_sg *sg,
			       unsigned nents);

/*
 * iopt_dma_flush_queue - the domain's flush queue (NULL in strict mode),
 * for iopt_flushq_poll/drain/stats. Owned by the domain. Context: any.
 */
IOPT_API struct iopt_flushq *iopt_dma_flush_queue(struct iopt_dma_domain *dom);

IOPT_END_DECLS

#endif /* IOPT_DMA_H */
