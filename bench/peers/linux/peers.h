/* SPDX-License-Identifier: MIT */
/*
 * The Linux peers as seen by the bench cases: a small C API over a kernel's
 * drivers/iommu/iova.c, io-pgtable code and dma-iommu.c flush queue compiled
 * in user space (bench/peers/linux/glue_*.c). No kernel type leaks out.
 *
 * The glue is compiled once per kernel, and each kernel's copy of this API
 * carries its prefix: lx61_iova_create, lx612_iova_create, ... Include this
 * header once per kernel with LX_PFX defined to that prefix (bench_peers.h
 * does it for the cases); LX(name) pastes it. The opaque types are shared:
 * no file sees two kernels' definitions of them.
 *
 * Not thread-safe beyond what the kernel code itself allows: an IOVA domain
 * may be used from many threads (up to 64); a page table from one at a time
 * except for disjoint maps/unmaps, as in the kernel.
 */
#ifndef LX_PFX
#error "define LX_PFX (lx61_, lx612_) before including peers.h"
#endif

#include <stdbool.h>
#include <stdint.h>

#define LX_CAT_(a, b) a##b
#define LX_CAT(a, b) LX_CAT_(a, b)
#define LX(name) LX_CAT(LX_PFX, name)

#ifndef IOPT_BENCH_PEERS_TYPES
#define IOPT_BENCH_PEERS_TYPES
struct lx_iova;
struct lx_pt;
struct lx_dma;

enum lx_pt_fmt {
	LX_PT_AMD_V1,  /* amd/io_pgtable.c, 4-level root (6.1) or grown on demand (6.12) */
	LX_PT_AMD_V2,  /* amd/io_pgtable_v2.c (x86-64 long-mode format) */
	LX_PT_ARM_S1,  /* io-pgtable-arm.c ARM_64_LPAE_S1, 48-bit, 4K|2M|1G */
};
#endif

/*
 * Granule 4 KiB, start pfn 1. With rcache, alloc/free are alloc_iova_fast /
 * free_iova_fast (always size-aligned, as in the kernel); without, alloc_iova
 * and free_iova (find + __free_iova under one lock). NULL on allocation failure.
 */
struct lx_iova *LX(iova_create)(bool rcache);
void LX(iova_destroy)(struct lx_iova *d);
/* limit_pfn inclusive. 0, or -ENOMEM when no space is left. */
int LX(iova_alloc)(struct lx_iova *d, uint64_t size, uint64_t limit_pfn, bool align,
		   uint64_t *pfn);
/* Always 0: the kernel's free paths ignore an unknown pfn. */
int LX(iova_free)(struct lx_iova *d, uint64_t pfn, uint64_t size);

/* A fresh table; NULL when out of memory. */
struct lx_pt *LX(pt_create)(enum lx_pt_fmt fmt);
/* Tears the table down (pages and all). */
void LX(pt_free)(struct lx_pt *pt);
/* map_pages with prot read|write. 0 or the kernel's negative errno. */
int LX(pt_map)(struct lx_pt *pt, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t count);
/* unmap_pages into the table's gather, as the driver does. Bytes unmapped. */
uint64_t LX(pt_unmap)(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count);
/* iotlb_sync: flush what the gather holds (counted, not performed). */
void LX(pt_sync)(struct lx_pt *pt);
/* Flushes the hardware would have done so far (gather syncs, table walks). */
unsigned long LX(pt_flushes)(const struct lx_pt *pt);
/* 0 when unmapped, as the kernel's iova_to_phys. */
uint64_t LX(pt_iova_to_phys)(struct lx_pt *pt, uint64_t iova);

/*
 * dma-iommu.c's own __iommu_dma_map / __iommu_dma_unmap (and with lazy, its
 * flush queue: iommu_dma_init_fq, queue_iova, the 10 ms timer) over an rcache
 * IOVA domain and an AMD v2 table, 4 KiB granule, as a trusted coherent PCI
 * device's DMA domain. Thread-safe like the kernel's: concurrent map/unmap
 * of distinct buffers. NULL when out of memory.
 */
struct lx_dma *LX(dma_create)(bool lazy);
/* Waits for a running queue timer, then frees everything, queued IOVAs too. */
void LX(dma_destroy)(struct lx_dma *d);
/* dma_limit: highest usable address (the DMA mask). 0, or -ENOMEM. */
int LX(dma_map)(struct lx_dma *d, uint64_t phys, uint64_t size, uint64_t dma_limit,
		uint64_t *iova);
/* Always 0: like dma_unmap_page, a bad unmap only WARNs (on stderr). */
int LX(dma_unmap)(struct lx_dma *d, uint64_t iova, uint64_t size);
/*
 * IOTLB flushes so far: one per strict unmap (its iotlb_sync), and in lazy
 * mode one per flush-all (full ring or timer).
 */
unsigned long LX(dma_flushes)(const struct lx_dma *d);

/* Test hooks for the lazy mode (tests only; the bench never calls them). */
/* Unmapped IOVAs still waiting in the flush queues (all CPUs). */
unsigned LX(dma_queued)(struct lx_dma *d);
/* Runs the queue timer's function now, on the calling thread. */
void LX(dma_flush_queue)(struct lx_dma *d);
/* fn(arg) runs inside every flush-all, after it started and before it ends. */
void LX(dma_on_flush)(struct lx_dma *d, void (*fn)(void *), void *arg);
/* hold: timers (queue timer, IOVA depot work) wait, armed, until released. */
void LX(timers_hold)(bool hold);
