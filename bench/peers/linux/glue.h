/* SPDX-License-Identifier: MIT */
/*
 * Between the glue files of one kernel only (localized at link time, like
 * the kernel's own symbols): what the DMA glue needs of the page-table glue.
 */
#ifndef IOPT_BENCH_LX_GLUE_H
#define IOPT_BENCH_LX_GLUE_H

#include "peers.h"

/*
 * The iommu_domain of an AMD table (v1 or v2): the driver's domain, whose
 * ops->flush_iotlb_all counts a flush, and which iommu_map /
 * iommu_unmap_fast / iommu_iotlb_sync (the iommu.c core, glue_pgtable.c)
 * take. NULL for the ARM format.
 */
struct iommu_domain *lx_pt_domain(struct lx_pt *pt);
/* fn(arg) runs inside each flush_iotlb_all of pt's domain (NULL: none). */
void lx_pt_on_flush(struct lx_pt *pt, void (*fn)(void *), void *arg);

#endif /* IOPT_BENCH_LX_GLUE_H */
