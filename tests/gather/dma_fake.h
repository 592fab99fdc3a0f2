/* SPDX-License-Identifier: MIT */
/*
 * Instrumented fake IOMMU driver for the DMA-layer tests: counts flushes and
 * keeps the set of IOVA ranges that were unmapped but not yet covered by a
 * completed flush ("pending"). A map that returns an IOVA overlapping a
 * pending range is a violation: the IOVA was re-handed-out before the flush
 * covering its unmap returned.
 */
#ifndef IOPT_TESTS_DMA_FAKE_H
#define IOPT_TESTS_DMA_FAKE_H

#include <pthread.h>
#include <stdatomic.h>

#include <iopt/dma.h>

#include "../pgtable/pt_test.h"

#define FAKE_MAX_PENDING 4096

struct fake {
	_Atomic uint64_t flush_ranges; /* flush_range calls */
	_Atomic uint64_t ranges;       /* ranges given to them */
	_Atomic uint64_t flush_alls;
	_Atomic uint64_t violations;
	bool track;                    /* single-threaded tests only */
	uint64_t ps[FAKE_MAX_PENDING], pe[FAKE_MAX_PENDING];
	unsigned npend;
	unsigned max_nr;               /* most ranges in one flush_range */
};

static void fake_flush_range(void *ctx, const struct iopt_gather_range *r, unsigned nr,
			     uint64_t pgsize)
{
	struct fake *f = ctx;

	(void)pgsize;
	atomic_fetch_add(&f->flush_ranges, 1);
	atomic_fetch_add(&f->ranges, nr);
	if (!f->track)
		return;
	if (nr > f->max_nr)
		f->max_nr = nr;
	for (unsigned i = 0; i < f->npend;) {
		bool covered = false;

		for (unsigned k = 0; k < nr; k++)
			covered |= r[k].start <= f->ps[i] && f->pe[i] <= r[k].end;
		if (covered) {
			f->ps[i] = f->ps[--f->npend];
			f->pe[i] = f->pe[f->npend];
		} else {
			i++;
		}
	}
}

static void fake_flush_all(void *ctx)
{
	struct fake *f = ctx;

	atomic_fetch_add(&f->flush_alls, 1);
	if (f->track)
		f->npend = 0;
}

/* Record [iova, iova + size) as unmapped-not-flushed; call before unmap. */
static inline void fake_unmapping(struct fake *f, uint64_t iova, uint64_t size)
{
	if (f->track && f->npend < FAKE_MAX_PENDING) {
		f->ps[f->npend] = iova & ~4095ull;
		f->pe[f->npend++] = ((iova + size + 4095) & ~4095ull) - 1;
	}
}

/* Check a freshly mapped range against the pending set. */
static inline void fake_mapped(struct fake *f, uint64_t iova, uint64_t size)
{
	uint64_t s = iova & ~4095ull, e = ((iova + size + 4095) & ~4095ull) - 1;

	if (!f->track)
		return;
	for (unsigned i = 0; i < f->npend; i++)
		if (s <= f->pe[i] && f->ps[i] <= e)
			atomic_fetch_add(&f->violations, 1);
}

static inline struct iopt_dma_ops fake_ops(struct fake *f)
{
	return (struct iopt_dma_ops){ .flush_range = fake_flush_range,
				      .flush_all = fake_flush_all, .ctx = f };
}

#endif /* IOPT_TESTS_DMA_FAKE_H */
