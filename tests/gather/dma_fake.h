/* SPDX-License-Identifier: MIT */
/*
 * Instrumented fake IOMMU driver for the DMA-layer tests: counts flushes and
 * keeps the set of IOVA ranges that were unmapped but not yet covered by a
 * completed flush ("pending"). A map that returns an IOVA overlapping a
 * pending range is a violation: the IOVA was re-handed-out before the flush
 * covering its unmap returned. Range mode (flush_range/flush_all) and
 * command mode (submit/wait: the commands are decoded with the library's
 * decoder and only a completed wait makes them count) share the pending set.
 */
#ifndef IOPT_TESTS_DMA_FAKE_H
#define IOPT_TESTS_DMA_FAKE_H

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <iopt/dma.h>

#include "../pgtable/pt_test.h"

#define FAKE_MAX_PENDING 4096
#define FAKE_MAX_QUEUED 1024

struct fake {
	_Atomic uint64_t flush_ranges; /* flush_range calls */
	_Atomic uint64_t ranges;       /* ranges given to them */
	_Atomic uint64_t flush_alls;
	_Atomic uint64_t violations;
	bool track;                    /* single-threaded tests only */
	uint64_t ps[FAKE_MAX_PENDING], pe[FAKE_MAX_PENDING];
	unsigned npend;
	unsigned max_nr;               /* most ranges in one flush_range */
	/* command mode */
	enum iopt_inv_vendor vendor;
	_Atomic uint64_t cmds, waits, scope_cmds, leaf_cmds, bad_cmds;
	struct iopt_inv_cmd q[FAKE_MAX_QUEUED]; /* submitted, not yet waited for */
	unsigned nq;
	struct iopt_inv_cmd last[4];   /* the last submit (first 4 commands) */
	unsigned nlast;
};

/* Drop the pending ranges that [s, e] covers. */
static void fake_cover(struct fake *f, uint64_t s, uint64_t e)
{
	for (unsigned i = 0; i < f->npend;) {
		if (s <= f->ps[i] && f->pe[i] <= e) {
			f->ps[i] = f->ps[--f->npend];
			f->pe[i] = f->pe[f->npend];
		} else {
			i++;
		}
	}
}

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
	for (unsigned k = 0; k < nr; k++)
		fake_cover(f, r[k].start, r[k].end);
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

static void fake_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	struct fake *f = ctx;

	atomic_fetch_add(&f->cmds, n);
	if (!f->track)
		return;
	f->nlast = n;
	memcpy(f->last, cmds, (n < 4 ? n : 4) * sizeof(*cmds));
	for (unsigned i = 0; i < n && f->nq < FAKE_MAX_QUEUED; i++)
		f->q[f->nq++] = cmds[i];
}

/* Completion: apply the queued commands as hardware would, in order. */
static void fake_wait(void *ctx)
{
	struct fake *f = ctx;
	struct iopt_inv_decoded d;
	uint64_t rs[FAKE_MAX_QUEUED], re[FAKE_MAX_QUEUED];
	unsigned nr = 0;

	atomic_fetch_add(&f->waits, 1);
	for (unsigned i = 0; i < f->nq; i++) {
		if (iopt_inv_decode(f->vendor, &f->q[i], &d)) {
			atomic_fetch_add(&f->bad_cmds, 1);
			continue;
		}
		if (d.leaf_only)
			atomic_fetch_add(&f->leaf_cmds, 1);
		if (d.kind == IOPT_INV_RANGE) {
			/* insertion-sorted: a buffer may be covered by several blocks */
			unsigned j = nr++;
			for (; j > 0 && rs[j - 1] > d.start; j--) {
				rs[j] = rs[j - 1];
				re[j] = re[j - 1];
			}
			rs[j] = d.start;
			re[j] = d.end;
		} else if (d.kind != IOPT_INV_SYNC) {
			atomic_fetch_add(&f->scope_cmds, 1);
			f->npend = 0;
		}
	}
	for (unsigned i = 0; i < nr;) { /* cover with each union of touching blocks */
		uint64_t s = rs[i], e = re[i];
		for (i++; i < nr && rs[i] <= e + 1 && e != UINT64_MAX; i++)
			e = re[i] > e ? re[i] : e;
		fake_cover(f, s, e);
	}
	f->nq = 0;
}

static inline struct iopt_dma_ops fake_cmd_ops(struct fake *f, enum iopt_inv_vendor v)
{
	f->vendor = v;
	return (struct iopt_dma_ops){ .submit = fake_submit, .wait = fake_wait, .ctx = f };
}

/*
 * The parts a DMA domain is built from, as every DMA test sets them up: an
 * x86_64 48-bit table on a counting provider and a 36-bit-pfn IOVA domain.
 */
struct dma_parts {
	struct test_prov tp;
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
};

static inline void dma_parts_up(struct dma_parts *d, unsigned iova_flags)
{
	struct iopt_pt_cfg pc = { .format = IOPT_PT_X86_64, .ias = 48 };
	struct iopt_iova_config ic;

	memset(d, 0, sizeof(*d));
	test_prov_init(&d->tp);
	pc.provider = &d->tp.p;
	REQUIRE(iopt_pt_create(&pc, &d->pt) == 0);
	iopt_iova_config_init(&ic);
	ic.end_pfn = (1ull << 36) - 1;
	ic.flags = iova_flags;
	REQUIRE(iopt_iova_domain_create(&ic, &d->iovad) == 0);
}

/* Frees both; every table page must be back with the provider. */
static inline void dma_parts_down(struct dma_parts *d)
{
	iopt_iova_domain_destroy(d->iovad);
	iopt_pt_free(d->pt);
	CHECK_EQ(atomic_load(&d->tp.live), 0);
}

#endif /* IOPT_TESTS_DMA_FAKE_H */
