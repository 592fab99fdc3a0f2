/* SPDX-License-Identifier: MIT */
/*
 * The Linux 6.1 peers as seen by the bench cases: a small C API over the
 * kernel's drivers/iommu/iova.c and io-pgtable code compiled in user space
 * (bench/peers/linux61/glue_*.c). No kernel type leaks out. Built only with
 * -Dpeers=linux61, which defines IOPT_BENCH_PEER_LINUX61 for the cases.
 * Not thread-safe beyond what the kernel code itself allows: an IOVA domain
 * may be used from many threads (up to 64); a page table from one at a time
 * except for disjoint maps/unmaps, as in the kernel.
 */
#ifndef IOPT_BENCH_PEERS_H
#define IOPT_BENCH_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#define LX_PEER_NAME "linux-6.1"

struct lx_iova;

/*
 * Granule 4 KiB, start pfn 1. With rcache, alloc/free are alloc_iova_fast /
 * free_iova_fast (always size-aligned, as in the kernel); without, alloc_iova
 * and free_iova (find + __free_iova under one lock). NULL on allocation failure.
 */
struct lx_iova *lx_iova_create(bool rcache);
void lx_iova_destroy(struct lx_iova *d);
/* limit_pfn inclusive. 0, or -ENOMEM when no space is left. */
int lx_iova_alloc(struct lx_iova *d, uint64_t size, uint64_t limit_pfn, bool align,
		  uint64_t *pfn);
/* Always 0: the kernel's free paths ignore an unknown pfn. */
int lx_iova_free(struct lx_iova *d, uint64_t pfn, uint64_t size);

enum lx_pt_fmt {
	LX_PT_AMD_V1,  /* amd/io_pgtable.c, 4-level root */
	LX_PT_AMD_V2,  /* amd/io_pgtable_v2.c (x86-64 long-mode format) */
	LX_PT_ARM_S1,  /* io-pgtable-arm.c ARM_64_LPAE_S1, 48-bit, 4K|2M|1G */
};

struct lx_pt;

/* A fresh table; NULL when out of memory. */
struct lx_pt *lx_pt_create(enum lx_pt_fmt fmt);
/* Tears the table down (pages and all). */
void lx_pt_free(struct lx_pt *pt);
/* map_pages with prot read|write. 0 or the kernel's negative errno. */
int lx_pt_map(struct lx_pt *pt, uint64_t iova, uint64_t pa, uint64_t pgsize, uint64_t count);
/* unmap_pages into the table's gather, as the driver does. Bytes unmapped. */
uint64_t lx_pt_unmap(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count);
/* iotlb_sync: flush what the gather holds (counted, not performed). */
void lx_pt_sync(struct lx_pt *pt);
/*
 * unmap_pages with an on-stack gather, then its sync: safe from several
 * threads on disjoint ranges (AMD formats). Bytes unmapped.
 */
uint64_t lx_pt_unmap_sync(struct lx_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t count);
/* Flushes the hardware would have done so far (gather syncs, table walks). */
unsigned long lx_pt_flushes(const struct lx_pt *pt);
/* 0 when unmapped, as the kernel's iova_to_phys. */
uint64_t lx_pt_iova_to_phys(struct lx_pt *pt, uint64_t iova);

/*
 * The strict map/unmap path of dma-iommu.c over the peers above (rcache IOVA
 * domain + AMD v2 table, 4 KiB granule). Thread-safe like the kernel's:
 * concurrent map/unmap of distinct buffers.
 */
struct lx_dma;

struct lx_dma *lx_dma_create(void);
void lx_dma_destroy(struct lx_dma *d);
/* dma_limit: highest usable address (the DMA mask). 0 or negative errno. */
int lx_dma_map(struct lx_dma *d, uint64_t phys, uint64_t size, uint64_t dma_limit,
	       uint64_t *iova);
/* 0, or -EINVAL when the walk found no table for part of the range (as
 * io_pgtable_v2.c, an empty entry in an existing table counts as unmapped). */
int lx_dma_unmap(struct lx_dma *d, uint64_t iova, uint64_t size);
/* IOTLB flushes the strict unmaps asked for. */
unsigned long lx_dma_flushes(const struct lx_dma *d);

#endif /* IOPT_BENCH_PEERS_H */
