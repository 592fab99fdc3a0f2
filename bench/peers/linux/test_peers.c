/* SPDX-License-Identifier: MIT */
/*
 * A Linux peer (compiled once per kernel: LX_PFX, LX_VERSION) behaves as the
 * kernel code should once shimmed: IOVA allocations are in range,
 * size-aligned and disjoint, freed space comes back, several threads get
 * distinct per-CPU slots; each page-table peer translates what it mapped,
 * unmaps what it was asked to and gathers a flush; the strict DMA path hands
 * out in-mask addresses and flushes once per unmap; the lazy one flushes
 * only when a ring fills or its timer runs, and frees an IOVA only after a
 * flush that started after the IOVA was queued. If a shim were wrong
 * (per-CPU slot, page overlay, cmpxchg, timers), these would see wrong
 * addresses, overlaps or counts, not only crashes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../../../tests/tap.h"
#include "peers.h"

#define LIMIT32 0xFFFFFull

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* n allocations of size sz: in [1, limit], aligned, pairwise disjoint. */
static void check_allocs(struct lx_iova *d, unsigned n, uint64_t sz, uint64_t *pfn)
{
	unsigned bad = 0;

	for (unsigned i = 0; i < n; i++) {
		if (LX(iova_alloc)(d, sz, LIMIT32, true, &pfn[i]))
			bad++;
		else if (pfn[i] < 1 || pfn[i] + sz - 1 > LIMIT32 || pfn[i] % sz)
			bad++;
	}
	CHECK_EQ(bad, 0);
	qsort(pfn, n, sizeof(*pfn), cmp_u64);
	for (unsigned i = 1; i < n; i++)
		bad += pfn[i] < pfn[i - 1] + sz;
	CHECK_EQ(bad, 0);
}

static void test_iova(bool rcache)
{
	struct lx_iova *d = LX(iova_create)(rcache);
	uint64_t pfn[1000], again;

	TEST(rcache ? "iova with rcache" : "iova tree only");
	REQUIRE(d);
	check_allocs(d, 1000, 4, pfn);
	for (unsigned i = 0; i < 1000; i++)
		CHECK_EQ(LX(iova_free)(d, pfn[i], 4), 0);
	/* Top-down placement: the first allocation after all frees reuses the top. */
	CHECK_EQ(LX(iova_alloc)(d, 4, LIMIT32, true, &again), 0);
	CHECK_EQ(again, pfn[999]);
	LX(iova_free)(d, again, 4);
	/* A tree allocation above the 32-bit limit honours a larger limit. */
	CHECK_EQ(LX(iova_alloc)(d, 64, (1ull << 36) - 1, true, &again), 0);
	CHECK(again > LIMIT32 && again % 64 == 0);
	LX(iova_free)(d, again, 64);
	LX(iova_destroy)(d);
}

struct tctx {
	struct lx_iova *d;
	uint64_t pfn[300];
	int err;
};

static void *thread_main(void *arg)
{
	struct tctx *t = arg;

	for (unsigned i = 0; i < 300; i++)
		t->err |= LX(iova_alloc)(t->d, 1, LIMIT32, true, &t->pfn[i]);
	return NULL;
}

/*
 * 64 threads (iopt-bench's --threads maximum) allocate at once through their
 * own per-CPU slots while the main thread holds one too: no pfn twice.
 */
#define NTHR 64
static void test_iova_threads(void)
{
	struct lx_iova *d = LX(iova_create)(true);
	static struct tctx t[NTHR];
	pthread_t th[NTHR];
	static uint64_t all[NTHR * 300];
	uint64_t mine;
	unsigned dup = 0;

	TEST("iova threads");
	REQUIRE(d);
	REQUIRE(!LX(iova_alloc)(d, 1, LIMIT32, true, &mine)); /* the main thread's slot */
	for (int i = 0; i < NTHR; i++) {
		t[i].d = d;
		t[i].err = 0;
		REQUIRE(!pthread_create(&th[i], NULL, thread_main, &t[i]));
	}
	for (int i = 0; i < NTHR; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(t[i].err, 0);
		for (int j = 0; j < 300; j++) {
			all[i * 300 + j] = t[i].pfn[j];
			dup += t[i].pfn[j] == mine;
		}
	}
	qsort(all, NTHR * 300, sizeof(all[0]), cmp_u64);
	for (int i = 1; i < NTHR * 300; i++)
		dup += all[i] == all[i - 1];
	CHECK_EQ(dup, 0);
	LX(iova_destroy)(d);
}

static void test_pt(enum lx_pt_fmt f, const char *name)
{
	const uint64_t off = 1ull << 32, G = 1ull << 30;
	struct lx_pt *pt = LX(pt_create)(f);

	TEST(name);
	REQUIRE(pt);
	CHECK_EQ(LX(pt_map)(pt, 0, off, 4096, 512), 0);          /* 2 MiB of 4K pages */
	CHECK_EQ(LX(pt_map)(pt, G, G + off, 2ull << 20, 4), 0);   /* 8 MiB of 2M pages */
	CHECK_EQ(LX(pt_map)(pt, 4 * G, 4 * G + off, G, 1), 0);    /* one 1G page */
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x1234), 0x1234 + off);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x1ff000), 0x1ff000 + off);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, G + 0x345678), G + 0x345678 + off);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 4 * G + 0x3456789), 4 * G + 0x3456789 + off);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x200000), 0);
	CHECK_EQ(LX(pt_unmap)(pt, 0x10000, 4096, 16), 16 * 4096);
	CHECK_EQ(LX(pt_unmap)(pt, G, 2ull << 20, 2), 4ull << 20);
	LX(pt_sync)(pt);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x10000), 0);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x1f000), 0);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, 0x20000), 0x20000 + off);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, G + 0x100), 0);
	CHECK_EQ(LX(pt_iova_to_phys)(pt, G + (4ull << 20)), G + (4ull << 20) + off);
	CHECK(LX(pt_flushes)(pt) >= 1);
	LX(pt_free)(pt);
}

/* The strict DMA path: in-mask IOVA keeping the page offset, one flush per unmap. */
static void test_dma(void)
{
	struct lx_dma *d = LX(dma_create)(false);
	uint64_t iova[8];

	TEST("dma strict");
	REQUIRE(d);
	for (int i = 0; i < 8; i++) {
		CHECK_EQ(LX(dma_map)(d, 0x100000 + 0x1000 * i + 0x10, 64, 0xFFFFFFFFull, &iova[i]), 0);
		CHECK(iova[i] <= 0xFFFFFFFFull && (iova[i] & 0xfff) == 0x10);
	}
	for (int i = 1; i < 8; i++)
		CHECK(iova[i] >> 12 != iova[0] >> 12);
	for (int i = 0; i < 8; i++)
		CHECK_EQ(LX(dma_unmap)(d, iova[i], 64), 0);
	CHECK_EQ(LX(dma_flushes)(d), 8);
	LX(dma_destroy)(d);
}

#define RING 255 /* a 256-entry flush-queue ring holds 255 */

struct hook {
	struct lx_dma *d;
	int err;
};

/* Inside a flush-all: queue one more IOVA. */
static void map_unmap_in_flush(void *arg)
{
	struct hook *h = arg;
	uint64_t iova;

	h->err |= LX(dma_map)(h->d, 0x200000, 4096, 0xFFFFFFFFull, &iova);
	h->err |= LX(dma_unmap)(h->d, iova, 4096);
}

/* Waits (at most 5 s) for the queue timer to empty the queues; true once empty. */
static bool drained(struct lx_dma *d)
{
	for (int i = 0; i < 5000 && LX(dma_queued)(d); i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	return LX(dma_queued)(d) == 0;
}

/*
 * Lazy mode, with the timers held so that only the test flushes: no flush
 * per unmap, queued IOVAs are not handed out again, a flush frees what was
 * queued before it started but not what was queued during it, a full ring
 * flushes by itself, and once released the timer drains the rest.
 */
static void test_dma_lazy(void)
{
	struct lx_dma *d = LX(dma_create)(true);
	struct hook h = { d, 0 };
	uint64_t iova[60], again;
	int err = 0, reused = 0;

	TEST("dma lazy: flush queue");
	REQUIRE(d);
	LX(timers_hold)(true);
	for (int i = 0; i < 10; i++) {
		err |= LX(dma_map)(d, 0x100000 + 0x1000 * i, 4096, 0xFFFFFFFFull, &iova[i]);
		err |= LX(dma_unmap)(d, iova[i], 4096);
	}
	for (int i = 10; i < 60; i++) {
		err |= LX(dma_map)(d, 0x100000 + 0x1000 * i, 4096, 0xFFFFFFFFull, &iova[i]);
		for (int j = 0; j < 10; j++)
			reused += iova[i] == iova[j];
	}
	CHECK_EQ(err, 0);
	CHECK_EQ(reused, 0);
	CHECK_EQ(LX(dma_flushes)(d), 0);
	CHECK_EQ(LX(dma_queued)(d), 10);
	for (int i = 10; i < 60; i++)
		err |= LX(dma_unmap)(d, iova[i], 4096);
	CHECK_EQ(LX(dma_queued)(d), 60);

	LX(dma_flush_queue)(d);
	CHECK_EQ(LX(dma_flushes)(d), 1);
	CHECK_EQ(LX(dma_queued)(d), 0);
	/* Freed now: the allocator's per-CPU cache hands one of them out again. */
	err |= LX(dma_map)(d, 0x100000, 4096, 0xFFFFFFFFull, &again);
	for (int i = 0; i < 60; i++)
		reused += again == iova[i];
	CHECK_EQ(reused, 1);
	err |= LX(dma_unmap)(d, again, 4096);

	LX(dma_on_flush)(d, map_unmap_in_flush, &h);
	LX(dma_flush_queue)(d);
	LX(dma_on_flush)(d, NULL, NULL);
	CHECK_EQ(h.err, 0);
	CHECK_EQ(LX(dma_flushes)(d), 2);
	CHECK_EQ(LX(dma_queued)(d), 1); /* queued during that flush: waits for the next */
	LX(dma_flush_queue)(d);
	CHECK_EQ(LX(dma_flushes)(d), 3);
	CHECK_EQ(LX(dma_queued)(d), 0);

	for (int i = 0; i < RING + 45; i++) {
		err |= LX(dma_map)(d, 0x100000, 4096, 0xFFFFFFFFull, &again);
		err |= LX(dma_unmap)(d, again, 4096);
	}
	CHECK_EQ(err, 0);
	CHECK_EQ(LX(dma_flushes)(d), 4); /* the ring filled once */
	CHECK_EQ(LX(dma_queued)(d), 45);

	LX(timers_hold)(false);
	CHECK(drained(d));
	CHECK_EQ(LX(dma_flushes)(d), 5); /* one timer flush */
	LX(dma_destroy)(d);

	/* Destroying with IOVAs queued and the timer armed frees them. */
	d = LX(dma_create)(true);
	REQUIRE(d);
	LX(timers_hold)(true);
	CHECK_EQ(LX(dma_map)(d, 0x100000, 4096, 0xFFFFFFFFull, &again), 0);
	CHECK_EQ(LX(dma_unmap)(d, again, 4096), 0);
	CHECK_EQ(LX(dma_queued)(d), 1);
	LX(dma_destroy)(d);
	LX(timers_hold)(false);
}

struct dthread {
	struct lx_dma *d;
	uint64_t phys;
	int err;
};

static void *dma_thread(void *arg)
{
	struct dthread *t = arg;
	uint64_t iova;

	for (int i = 0; i < 2000; i++) {
		t->err |= LX(dma_map)(t->d, t->phys, 4096, 0xFFFFFFFFull, &iova);
		t->err |= LX(dma_unmap)(t->d, iova, 4096);
	}
	return NULL;
}

/* Two threads on their own per-CPU rings, the timer running: all drains. */
static void test_dma_lazy_threads(void)
{
	struct lx_dma *d = LX(dma_create)(true);
	struct dthread t[2] = { { d, 0x100000, 0 }, { d, 0x200000, 0 } };
	pthread_t th[2];

	TEST("dma lazy: two threads");
	REQUIRE(d);
	for (int i = 0; i < 2; i++)
		REQUIRE(!pthread_create(&th[i], NULL, dma_thread, &t[i]));
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CHECK_EQ(t[i].err, 0);
	}
	CHECK(drained(d));
	/* 4000 unmaps through 255-entry rings: at least 4000 / 510 flushes. */
	CHECK(LX(dma_flushes)(d) >= 4000 / (2 * RING));
	LX(dma_destroy)(d);
}

int main(void)
{
	test_iova(true);
	test_iova(false);
	test_iova_threads();
	test_pt(LX_PT_AMD_V1, "amd v1");
	test_pt(LX_PT_AMD_V2, "amd v2");
	test_pt(LX_PT_ARM_S1, "arm lpae s1");
	test_dma();
	test_dma_lazy();
	test_dma_lazy_threads();
	return tap_done();
}
