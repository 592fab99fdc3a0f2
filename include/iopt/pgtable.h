/* SPDX-License-Identifier: MIT */
/*
 * iopt I/O page tables: one engine (map, unmap, iova_to_phys, dirty
 * read-and-clear, teardown) compiled once per hardware format:
 *
 *   IOPT_PT_VTD_SS   Intel VT-d second stage, 3/4/5 levels (hw-facts §1)
 *   IOPT_PT_X86_64   x86-64 4/5-level paging: VT-d first stage, AMD v2 (§3)
 *   IOPT_PT_AMD_V1   AMD IOMMU v1 host table, 1..6 levels, dynamic top (§2)
 *   IOPT_PT_LPAE_S1  ARM VMSAv8-64 stage 1, 4K/16K/64K granule (§4)
 *   IOPT_PT_LPAE_S2  ARM VMSAv8-64 stage 2, concatenated start tables (§4.5)
 *
 * Addresses are byte addresses; every range is [iova, iova + len - 1] and
 * must not wrap past 2^64 - 1. Page sizes are powers of two given in bytes.
 *
 * Synchronization table (one struct iopt_pt):
 *
 *                     map  unmap  iova_to_phys  dirty  set_dirty  free
 *   map                D     D        -           D        X        X
 *   unmap              D     D        R           D        X        X
 *   iova_to_phys       -     R        -           -        -        X
 *   read_and_clear     D     D        -           D        X        X
 *   set_dirty_track    X     X        -           X        X        X
 *   free               X     X        X           X        X        X
 *
 * "-": may run concurrently. "D": may run concurrently on disjoint IOVA
 * ranges (no lock: tables are installed with compare-and-swap). "R": the
 * iova_to_phys caller must hold the urcu-memb read lock (its thread
 * registered with urcu_memb_register_thread) if an unmap may free tables
 * concurrently; freed tables are released only after the gather's flush and
 * a grace period. "X": the caller must exclude the pair.
 *
 * Error convention: see iopt/common.h. On failure a call leaves the
 * translation state as it was (a split done for a later-failing unmap keeps
 * the same translations in smaller pieces).
 */
#ifndef IOPT_PGTABLE_H
#define IOPT_PGTABLE_H

#include <iopt/common.h>
#include <iopt/gather.h>

IOPT_BEGIN_DECLS

enum iopt_pt_format {
	IOPT_PT_VTD_SS = 0,
	IOPT_PT_X86_64,
	IOPT_PT_AMD_V1,
	IOPT_PT_LPAE_S1,
	IOPT_PT_LPAE_S2,
	IOPT_PT_NR_FORMATS,
};

/* Mapping permissions/attributes (same meaning as Linux IOMMU_*). */
#define IOPT_PROT_READ   (1u << 0)
#define IOPT_PROT_WRITE  (1u << 1)
#define IOPT_PROT_CACHE  (1u << 2) /* coherent/cacheable (VT-d SNP with IOPT_PT_F_SNOOP, AMD FC, ARM WB) */
#define IOPT_PROT_NOEXEC (1u << 3) /* x86 XD, ARM XN */
#define IOPT_PROT_MMIO   (1u << 4) /* device memory (ARM), uncached (x86 PCD) */
#define IOPT_PROT_PRIV   (1u << 5) /* privileged only (x86 U/S=0, ARM S1 AP[1]=0) */

/* struct iopt_pt_cfg.flags */
#define IOPT_PT_F_SPLIT       (1u << 0) /* partial unmap splits large/contiguous leaves */
#define IOPT_PT_F_SIGN_EXTEND (1u << 1) /* x86_64: canonical upper half usable */
#define IOPT_PT_F_HW_DIRTY    (1u << 2) /* hardware dirty: VT-d SSADE, AMD HAD, ARM DBM */
#define IOPT_PT_F_NO_CONTIG   (1u << 3) /* ARM: never use the contiguous hint */
#define IOPT_PT_F_LPA         (1u << 4) /* ARM 64K granule: 52-bit OA (FEAT_LPA, §4.6) */
/*
 * VT-d SS: the hardware has snoop control (ECAP.SC): IOPT_PROT_CACHE writes
 * SNP (bit 11). Without it CACHE is accepted and no SNP is written (SNP is
 * reserved then). iopt_vtd_pt_cfg() sets it from ECAP. Other formats: ignored.
 */
#define IOPT_PT_F_SNOOP       (1u << 5)

/*
 * Table memory provider. alloc returns zeroed memory of `size` bytes aligned
 * to `size` (a power of two, the format's table size: 4 KiB .. 1 MiB for
 * concatenated stage-2 roots) and its physical (IOMMU-visible) address, or
 * NULL. free gives back what alloc returned (contents arbitrary).
 * phys_to_virt may be NULL: then virt == phys (host memory used directly).
 * entries_written may be NULL; otherwise it is called after the engine wrote
 * entries [virt, virt + len) so a non-coherent walker can be fed (clean the
 * CPU cache). Callbacks may run on any thread concurrently; they must be
 * thread-safe. alloc may fail at any time (fault injection): the engine
 * then fails the call cleanly and frees what the call allocated.
 */
struct iopt_pt_provider {
	void *(*alloc)(void *ctx, size_t size, uint64_t *phys);
	void (*free)(void *ctx, void *virt, size_t size);
	void *(*phys_to_virt)(void *ctx, uint64_t phys);
	void (*entries_written)(void *ctx, void *virt, size_t len);
	void *ctx;
};

/*
 * iopt_pt_default_provider - process-wide pool of pre-zeroed, size-aligned
 * host pages (phys == virt). Pages freed to it are zeroed and kept for
 * reuse; it never returns memory to the OS. Thread-safe.
 */
IOPT_API const struct iopt_pt_provider *iopt_pt_default_provider(void);
/* Pages currently handed out by the default provider (all tables, all users). */
IOPT_API long iopt_pt_default_provider_live(void);

/*
 * Change-of-top hook (AMD v1 dynamic top, hw-facts §7.2): called after the
 * engine grew the table to `levels` levels rooted at `root_phys`, before the
 * map that needed it writes anything above the old reach. The owner points
 * the DTE (mode = levels, root) there. Called with the engine's grow lock
 * held; must not call back into this iopt_pt.
 */
typedef void (*iopt_pt_change_top_fn)(void *ctx, uint64_t root_phys, unsigned levels);

struct iopt_pt_cfg {
	enum iopt_pt_format format;
	unsigned ias;         /* input (IOVA) bits; see per-format rules below */
	unsigned oas;         /* output (physical) bits; 0 = format maximum */
	unsigned granule_lg2; /* ARM: 12, 14 or 16; others 0 or 12 */
	unsigned start_levels;/* AMD v1: initial levels (0 = 3); others ignored */
	unsigned flags;       /* IOPT_PT_F_* */
	uint64_t pgsize_bitmap; /* allowed page sizes; 0 = all the format has */
	const struct iopt_pt_provider *provider; /* NULL = default provider */
	iopt_pt_change_top_fn change_top;         /* AMD v1 only, may be NULL */
	void *change_top_ctx;
	/* Flush for tables freed inside map (a large page over empty tables). */
	iopt_gather_flush_fn flush;
	void *flush_ctx;
};
/*
 * Per-format ias/oas rules:
 *  VTD_SS: ias 31..57 (levels: >48 → 5, >39 → 4, else 3, §1.1), oas ≤ 52.
 *  X86_64: ias ≤ 57 (>48 → 5 levels, else 4); with SIGN_EXTEND ias must be
 *          48 or 57 and the upper canonical half is mapped too; oas ≤ 52.
 *  AMD_V1: ias 21..64, start_levels 0 (= 3) or 1..6, more than ias needs
 *          is clamped (grown on demand up to the levels ias needs), oas ≤ 52. Sizes: every power of two 4K..2^51 except
 *          512 GiB (§2.4).
 *  LPAE_S1/S2: granule 12/14/16, ias ≤ 48 (52 with 64K + LPA), oas ≤ 48
 *          (52 with 64K + LPA). S2 concatenates up to 16 start tables when
 *          that saves a level (§4.5).
 */

struct iopt_pt;

/*
 * iopt_pt_create - validate cfg and allocate the root table.
 * Return: 0 and *out, or -EINVAL (NULL cfg/out, bad geometry, unknown
 * format, unknown flags, provider without alloc/free, empty page-size
 * bitmap), -ENOMEM (provider or host allocation failed); *out untouched
 * on failure.
 * Context: any thread.
 */
IOPT_API int iopt_pt_create(const struct iopt_pt_cfg *cfg, struct iopt_pt **out);

/*
 * iopt_pt_free - tear down every table and the object. NULL is a no-op.
 * Context: no other call on pt may run or follow; the owner must have
 * detached the IOMMU and have no pending gather holding pt's pages.
 */
IOPT_API void iopt_pt_free(struct iopt_pt *pt);

/*
 * iopt_pt_map_pages - map pgcount pages of pgsize at iova → paddr.
 * pgsize must be a size the format has at some level and in the bitmap;
 * iova and paddr pgsize-aligned. Larger contiguous sizes (AMD NextLevel=7,
 * ARM contiguous runs) are written as one replicated/contiguous run.
 * A large page may replace lower tables only if they hold nothing (they are
 * freed after cfg.flush and a grace period, before the call returns).
 * Return: 0, *mapped = pgsize * pgcount. Errors, with *mapped = bytes this
 * call had mapped before the failure (all undone again, so the range is as
 * it was): -EINVAL (alignment, pgsize, pgcount 0, prot lacking read and
 * write or not expressible), -ERANGE (iova range outside ias or not
 * canonical, paddr range beyond oas, wrap past 2^64), -EBUSY (a present
 * leaf, or a non-empty table where a large page goes), -ENOMEM.
 * All conflicts and allocations are resolved before the first write, so
 * -EBUSY/-ENOMEM change nothing (not even the table count).
 * AMD v1: a page larger than the current top can hold grows the top; if
 * it covers IOVA the old top reached, that old root must hold nothing
 * (it is then replaced and freed like any empty table), else -EBUSY.
 * Context: concurrent with map/unmap on disjoint ranges; no lock taken.
 * When a large page replaces empty tables the call syncs an internal
 * gather (cfg.flush + urcu_memb_synchronize_rcu): not inside an RCU
 * read-side section. mapped may be NULL.
 */
IOPT_API int iopt_pt_map_pages(struct iopt_pt *pt, uint64_t iova, uint64_t paddr,
			       uint64_t pgsize, uint64_t pgcount, unsigned prot, uint64_t *mapped);

/*
 * iopt_pt_map_range - map [iova, iova + size) → paddr choosing, piece by
 * piece, the largest page size the format and bitmap allow that iova and
 * paddr are both aligned to and that fits (hw-facts §6.4, §7.3), in one
 * walk. size must be a multiple of the smallest page size.
 * Return/Context: as iopt_pt_map_pages.
 */
IOPT_API int iopt_pt_map_range(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, uint64_t size,
			       unsigned prot, uint64_t *mapped);

/*
 * iopt_pt_unmap_pages - remove the leaves in [iova, iova + pgsize*pgcount).
 * Holes are skipped. Tables entirely inside the range are detached and put
 * on g's freelist (released after g's flush and a grace period); the whole
 * range is added to g (iopt_gather_add_page with pgsize, which may sync g
 * first), and g's stride then becomes the smallest leaf descriptor this
 * call removed, with g->mixed set when a larger one was removed too
 * (include/iopt/gather.h). A large or contiguous leaf that straddles either end is
 * refused (-EINVAL, nothing changed) unless the table was created with
 * IOPT_PT_F_SPLIT, in which case it is first split into smaller leaves
 * with the same translation (runs into single slots, a large slot into a
 * table of the largest next-level size the format and pgsize_bitmap allow;
 * -EINVAL if there is none) and only the requested part is removed.
 * Return: 0 and *unmapped = bytes of leaves removed (0 if all holes);
 * -EINVAL (alignment, pgsize, pgcount 0, straddling leaf under REFUSE),
 * -ERANGE, -ENOMEM (split needed a table; mapping unchanged).
 * Context: concurrent with map/unmap on disjoint ranges and with
 * iova_to_phys readers (see table above). unmapped may be NULL.
 */
IOPT_API int iopt_pt_unmap_pages(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize,
				 uint64_t pgcount, struct iopt_gather *g, uint64_t *unmapped);

/*
 * iopt_pt_map_leaf / iopt_pt_unmap_leaf - the one-granule fast paths of a
 * DMA layer: map or clear one leaf of the smallest page size (the granule)
 * in the table this thread's last map or unmap on pt ended in, without a
 * walk and, for unmap, without a gather. Nothing is detached, installed or
 * split, so an unmap needs exactly [iova, iova + granule) invalidated with
 * stride granule, leaf-only.
 * Return: 1 (mapped / cleared); unmap: -ENOENT (that table has no leaf at
 * iova: not mapped); 0 (declined: no such cached table, iova or paddr not
 * granule-aligned, map: an occupied slot, prot or paddr the table refuses;
 * unmap: a larger leaf; either: a provider with entries_written). Nothing
 * changes unless they return 1; after 0, iopt_pt_map_pages /
 * iopt_pt_unmap_pages do the work and report the errors.
 * Context: as iopt_pt_map_pages / iopt_pt_unmap_pages.
 */
IOPT_API int iopt_pt_map_leaf(struct iopt_pt *pt, uint64_t iova, uint64_t paddr, unsigned prot);
IOPT_API int iopt_pt_unmap_leaf(struct iopt_pt *pt, uint64_t iova);

/*
 * iopt_pt_iova_to_phys - translate one address.
 * Return: 0 and *phys, -ENOENT (not mapped), -ERANGE (outside ias).
 * Context: lock-free; hold the urcu-memb read lock if unmap may run.
 */
IOPT_API int iopt_pt_iova_to_phys(struct iopt_pt *pt, uint64_t iova, uint64_t *phys);

/* read_and_clear_dirty flags */
#define IOPT_DIRTY_NO_CLEAR (1u << 0) /* report only, leave the dirty state */

/* Called once per dirty leaf (the whole page or contiguous run). */
typedef void (*iopt_dirty_fn)(void *ctx, uint64_t iova, uint64_t size);

/* Ready-made bitmap recorder: bit i = [base + i*2^pgshift, +2^pgshift), i < nbits. */
struct iopt_dirty_bitmap {
	uint64_t *bits;
	uint64_t base;
	uint64_t nbits;
	unsigned pgshift;
};
IOPT_API void iopt_dirty_bitmap_record(void *bitmap, uint64_t iova, uint64_t size);

/*
 * iopt_pt_read_and_clear_dirty - report dirty leaves in [iova, iova+size).
 * Each dirty leaf (OR of all copies of a replicated/contiguous run) is
 * reported once with its full extent, clipped to nothing: the callback may
 * see bytes outside the range when a large leaf straddles it. Unless
 * IOPT_DIRTY_NO_CLEAR, the dirty state is cleared atomically (VT-d/x86/AMD
 * D bit; ARM S1 AP[2] set again, S2 S2AP write cleared, §4.8) and the leaf's
 * range added to g (may be NULL with NO_CLEAR) so the owner flushes it.
 * Return: 0; -EOPNOTSUPP (no IOPT_PT_F_HW_DIRTY), -EINVAL, -ERANGE.
 * Context: concurrent with map/unmap of disjoint ranges.
 */
IOPT_API int iopt_pt_read_and_clear_dirty(struct iopt_pt *pt, uint64_t iova, uint64_t size,
					  unsigned flags, iopt_dirty_fn fn, void *ctx,
					  struct iopt_gather *g);

/*
 * iopt_pt_set_dirty_tracking - start/stop tracking. Enabling clears the
 * dirty state of every leaf (so only later writes are reported; ARM
 * writable leaves start writable-clean). Disabling only records the state.
 * The owner programs the hardware enable (PASID SSADE, DTE HAD, CD.HD).
 * Return: 0, -EOPNOTSUPP (no IOPT_PT_F_HW_DIRTY) or -EINVAL (enabling
 * with g NULL). Context: excludes map/unmap/dirty.
 */
IOPT_API int iopt_pt_set_dirty_tracking(struct iopt_pt *pt, bool enable, struct iopt_gather *g);

/*
 * iopt_pt_set_flush - replace cfg.flush / cfg.flush_ctx (the flush for
 * tables a large-page map replaces and for a failed map's undo). The DMA
 * layer installs its own invalidation here (include/iopt/dma.h).
 * Context: excludes map (the only reader).
 */
IOPT_API void iopt_pt_set_flush(struct iopt_pt *pt, iopt_gather_flush_fn flush, void *flush_ctx);

/* Root table physical address and current level count (AMD: may grow). */
IOPT_API void iopt_pt_root(struct iopt_pt *pt, uint64_t *root_phys, unsigned *levels);

/* Sizes this table accepts for map_pages (the effective bitmap). */
IOPT_API uint64_t iopt_pt_pgsize_bitmap(const struct iopt_pt *pt);

/*
 * What a table is, defaults applied: what the structures that point an
 * IOMMU at it (include/iopt/smmu.h ...) are derived from.
 */
struct iopt_pt_info {
	enum iopt_pt_format format;
	unsigned ias, oas, granule_lg2;
	unsigned levels;    /* current level count (AMD v1 may grow) */
	unsigned flags;     /* IOPT_PT_F_* as created */
	uint64_t root_phys;
	uint64_t root_size; /* bytes of the top table (S2: all concatenated tables) */
};

/* iopt_pt_get_info - fill @info. Context: any thread (a racy snapshot of levels/root under growth). */
IOPT_API void iopt_pt_get_info(const struct iopt_pt *pt, struct iopt_pt_info *info);

IOPT_END_DECLS

#endif /* IOPT_PGTABLE_H */
