/* SPDX-License-Identifier: MIT */
/*
 * The simulator core end to end: workloads through the DMA layer on every
 * format, strict and lazy, with the safety oracle watching.
 *  - correct library: 0 violations, no faults on live buffers; lazy mode
 *    shows stale entries (the window exists) within the bound;
 *  - deliberately broken invalidation (a planner that drops the last page,
 *    a sync that never reaches the IOTLB): the oracle reports violations;
 *  - SMMU without RIL (issue 12): the old planner's one TG=0 command per
 *    contiguous run is caught with per-descriptor IOTLB entries and hides
 *    with whole-run entries; the real planner is clean on both;
 *  - capabilities: a library set up against what the hardware lacks (range
 *    commands without RIL, PSI, DR/DW, SNP without snoop control) is caught;
 *    set up from the registers, it runs clean;
 *  - IOMMU-API maps (MAP_AT/UNMAP_AT), page requests (sva), bad events;
 *  - two threads at once (suite stress).
 */
#include <pthread.h>
#include <string.h>

#include "sim.h"
#include "tap.h"

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

static const char *const fmt_name[] = { "vtd_ss", "x86_64", "amd_v1", "lpae_s1", "lpae_s2" };

struct wl {
	struct sim *s;
	uint32_t cpu, base; /* buffer handles base..base+63 */
	uint64_t seed;
	int rounds;
	int errors;
	unsigned prot; /* of every buffer; 0 = RW */
};

static int ap(struct wl *w, struct sim_event ev)
{
	ev.cpu = w->cpu;
	int r = sim_apply(w->s, &ev);
	w->errors += r != 0;
	return r;
}

/* DMA every page of a buffer (writes, at a random offset in the page), so every page is in the IOTLB. */
static void touch(struct wl *w, uint32_t buf, uint64_t size)
{
	for (uint64_t page = 0; page < size; page += 4096) {
		uint64_t off = page + test_xrand(&w->seed) % 4096;
		if (off >= size)
			off = page;
		ap(w, (struct sim_event){ .kind = SIM_EV_DMA, .buf = buf, .off = off,
					  .size = size - off < 64 ? size - off : 64, .write = true });
	}
}

/* map 64 buffers of 1..16 pages, touch them, unmap half, touch the rest, repeat */
static void *workload(void *arg)
{
	struct wl *w = arg;
	uint64_t size[64] = { 0 };
	bool live[64] = { false };

	for (int r = 0; r < w->rounds; r++) {
		for (uint32_t i = 0; i < 64; i++) {
			if (live[i])
				continue;
			size[i] = 4096 * (1 + test_xrand(&w->seed) % 16) - test_xrand(&w->seed) % 100;
			uint64_t phys = (test_xrand(&w->seed) % (1u << 17)) << 12;
			if (ap(w, (struct sim_event){ .kind = SIM_EV_MAP, .buf = w->base + i,
						      .phys = phys, .size = size[i],
						      .prot = w->prot ? w->prot : RW }) == 0)
				live[i] = true;
			touch(w, w->base + i, size[i]);
		}
		for (uint32_t i = 0; i < 64; i++) {
			if (!live[i] || test_xrand(&w->seed) % 2)
				continue;
			touch(w, w->base + i, size[i]);
			if (ap(w, (struct sim_event){ .kind = SIM_EV_UNMAP, .buf = w->base + i }) == 0)
				live[i] = false;
		}
	}
	return NULL;
}

/* The workload on o (iotlb 1024 entries unless set), buffers of prot (0 = RW). */
static struct sim_stats run_opts(struct sim_opts o, unsigned prot)
{
	struct sim *s = NULL;
	struct sim_stats st;

	if (!o.iotlb_entries)
		o.iotlb_entries = 1024;
	REQUIRE(sim_create(&o, &s) == 0);
	struct wl w = { .s = s, .seed = 77 + o.format, .rounds = 12, .prot = prot };
	workload(&w);
	CHECK_EQ(w.errors, 0);
	sim_finish(s, &st);
	sim_destroy(s);
	return st;
}

static struct sim_stats run(enum iopt_pt_format f, enum iopt_dma_mode mode, unsigned brk,
			    bool pwc)
{
	return run_opts((struct sim_opts){ .format = f, .mode = mode, .break_flags = brk, .pwc = pwc,
					   .seed = 1 }, 0);
}

/* o's default registers with one change; a pointer for sim_opts.hw (one at a time). */
static const struct sim_hw_caps *caps_without(const struct sim_opts *o, uint64_t vtd_cap,
					      uint64_t vtd_ecap_add, uint32_t idr3)
{
	static struct sim_hw_caps c;

	sim_hw_caps_default(o, &c);
	c.vtd_cap &= ~vtd_cap;
	c.vtd_ecap |= vtd_ecap_add;
	c.smmu_idr3 &= ~idr3;
	return &c;
}

static void correct_library(void)
{
	for (int f = 0; f < IOPT_PT_NR_FORMATS; f++) {
		for (int mode = IOPT_DMA_STRICT; mode <= IOPT_DMA_LAZY; mode++) {
			printf("# %s %s: no violation, no fault on live buffers\n", fmt_name[f],
			       mode ? "lazy" : "strict");
			struct sim_stats st = run((enum iopt_pt_format)f, (enum iopt_dma_mode)mode, 0,
						  f % 2);
			CHECK_EQ(st.violations, 0);
			CHECK_EQ(st.dma_faults, 0);
			CHECK(st.maps > 300 && st.unmaps == st.maps && st.dmas > 5000);
			printf("#   %llu maps, %llu dmas, %llu hits, %llu misses, %llu cmds, %llu flushes, %llu stale\n", (unsigned long long)st.maps, (unsigned long long)st.dmas, (unsigned long long)st.iotlb_hits, (unsigned long long)st.iotlb_misses, (unsigned long long)(st.cmds_range + st.cmds_scope), (unsigned long long)st.flushes, (unsigned long long)st.stale_dmas);
			CHECK(st.iotlb_hits > 0 && st.iotlb_misses > 0 && st.walk_reads > 0);
			CHECK(st.cmds_range + st.cmds_scope > 0 && st.cmds_sync > 0);
			if (mode == IOPT_DMA_STRICT) {
				CHECK_EQ(st.stale_dmas, 0);
				CHECK(st.flushes >= st.unmaps);
			} else {
				/* the window is real, and bounded */
				CHECK(st.stale_dmas > 0);
				CHECK(st.stale_window_ns > 0);
				CHECK_EQ(st.stale_bound_dmas, 0);
				CHECK(st.flushes * 50 < st.unmaps);
			}
		}
	}
}

static void broken_invalidation(void)
{
	for (int f = 0; f < IOPT_PT_NR_FORMATS; f++) {
		printf("# %s: the oracle catches a planner that drops the last page\n", fmt_name[f]);
		struct sim_stats st = run((enum iopt_pt_format)f, IOPT_DMA_STRICT,
					  SIM_BREAK_DROP_LAST_PAGE, false);
		CHECK(st.violations > 0);
		CHECK(st.stale_dmas > 0);
		printf("# %s: the oracle catches a sync that never reaches the IOTLB\n", fmt_name[f]);
		st = run((enum iopt_pt_format)f, IOPT_DMA_STRICT, SIM_BREAK_SKIP_SYNC, false);
		CHECK(st.violations > 0);
		printf("# %s lazy: a lost sync outlives the flush-queue bound\n", fmt_name[f]);
		st = run((enum iopt_pt_format)f, IOPT_DMA_LAZY, SIM_BREAK_SKIP_SYNC, false);
		CHECK(st.violations > 0);
	}
}

/*
 * Lazy mode, few unmaps (far below the ring bound) but modeled time well past
 * the flush queue's 10 ms timeout: the timer flush must close the window.
 * One unmapped buffer stays in the IOTLB; then 100 faulting DMAs of about
 * 1-5 ms modeled each. With the timer the window ends near 10 ms; a lost
 * sync is caught by the timer rule although the ring never fills.
 */
static struct sim_stats timer_run(unsigned brk)
{
	struct sim_opts o = { .format = IOPT_PT_VTD_SS, .mode = IOPT_DMA_LAZY, .break_flags = brk,
			      .ns_per_walk_read = 1e6 };
	struct sim *s = NULL;
	struct sim_stats st;

	REQUIRE(sim_create(&o, &s) == 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_MAP, .buf = 1, .phys = 0x100000,
						   .size = 8192, .prot = RW }), 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_DMA, .buf = 1, .off = 4096,
						   .size = 64, .write = true }), 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_UNMAP, .buf = 1 }), 0);
	for (int i = 0; i < 100; i++) /* raw DMAs to unmapped space: every one a walk and a fault */
		CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_DMA, .buf = SIM_NO_BUF,
							   .iova = 0x7000000000ull + 4096ull * (uint64_t)i,
							   .size = 8 }), 0);
	sim_finish(s, &st);
	sim_destroy(s);
	return st;
}

static void flush_queue_timer(void)
{
	TEST("lazy: the flush-queue timeout bounds the stale window in modeled time");
	struct sim_stats st = timer_run(0);
	CHECK_EQ(st.violations, 0);
	CHECK_EQ(st.stale_dmas, 1);
	CHECK(st.modeled_ns > 100e6); /* the run lasted 10 timeouts */
	CHECK(st.stale_window_ns > 0 && st.stale_window_ns < 10e6 + 20e6);
	TEST("lazy: a lost sync is caught by the timer rule before any ring fills");
	st = timer_run(SIM_BREAK_SKIP_SYNC);
	CHECK(st.stale_bound_dmas > 0 && st.violations > 0);
}

/* A DMA of `len` bytes at iova with page requests allowed, `n` times at consecutive addresses. */
static struct sim_stats pri_run(uint64_t len, int n)
{
	struct sim_opts o = { .format = IOPT_PT_VTD_SS, .mode = IOPT_DMA_STRICT };
	struct sim *s = NULL;
	struct sim_stats st;

	REQUIRE(sim_create(&o, &s) == 0);
	for (int pass = 0; pass < 2; pass++) /* the second pass finds the pages mapped */
		for (int i = 0; i < n; i++)
			CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_DMA, .buf = SIM_NO_BUF,
								   .iova = 0x7000000000ull + len * (uint64_t)i,
								   .size = len, .write = true, .pri = true }), 0);
	sim_finish(s, &st);
	sim_destroy(s);
	return st;
}

static void pri_groups(void)
{
	TEST("page requests: the faulting pages of one access are one group, one round trip");
	struct sim_stats one = pri_run(4 * 4096, 1), four = pri_run(4096, 4);
	CHECK(one.pri_requests == 4 && one.pri_success == 4 && one.violations == 0 &&
	      one.dma_faults == 0);
	CHECK(four.pri_requests == 4 && four.pri_success == 4 && four.violations == 0 &&
	      four.dma_faults == 0);
	CHECK(one.pri_latency_ns == 2000 && four.pri_latency_ns == 2000);
	/* three round trips fewer (and no more walk reads: the group faults before any map) */
	CHECK(one.modeled_ns + 3 * 2000 <= four.modeled_ns);
	CHECK(one.walk_reads <= four.walk_reads);
}

static void iommu_api_and_pri(void)
{
	struct sim_opts o = { .format = IOPT_PT_VTD_SS, .mode = IOPT_DMA_STRICT };
	struct sim *s = NULL;
	struct sim_stats st;

	TEST("MAP_AT / UNMAP_AT, page requests, bad events");
	REQUIRE(sim_create(&o, &s) == 0);
	struct sim_event m = { .kind = SIM_EV_MAP_AT, .iova = 0x40000000, .phys = 0x80000000,
			       .size = 4u << 20, .prot = RW };
	CHECK_EQ(sim_apply(s, &m), 0);
	for (uint64_t off = 0; off < (4u << 20); off += 0x80000) {
		struct sim_event d = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF,
				       .iova = 0x40000000 + off, .size = 8, .write = true };
		CHECK_EQ(sim_apply(s, &d), 0);
	}
	struct sim_event u = { .kind = SIM_EV_UNMAP_AT, .iova = 0x40000000, .size = 2u << 20 };
	CHECK_EQ(sim_apply(s, &u), 0);
	/* the unmapped half faults now, the other half still translates */
	struct sim_event d = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF, .iova = 0x40001000, .size = 8 };
	CHECK_EQ(sim_apply(s, &d), 0);
	d.iova = 0x40201000;
	CHECK_EQ(sim_apply(s, &d), 0);
	/* sva: page requests map on demand, inside the aperture only */
	for (int i = 0; i < 16; i++) {
		struct sim_event p = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF, .pri = true,
				       .iova = 0x7000000000ull + 0x3000ull * (uint64_t)i, .size = 16,
				       .write = true };
		CHECK_EQ(sim_apply(s, &p), 0);
	}
	struct sim_event far = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF, .pri = true,
				 .iova = 1ull << 50, .size = 16 };
	CHECK_EQ(sim_apply(s, &far), 0);
	/* malformed events change nothing */
	struct sim_event bad = { .kind = SIM_EV_UNMAP, .buf = 5 };
	CHECK_EQ(sim_apply(s, &bad), -EINVAL);
	bad = (struct sim_event){ .kind = SIM_EV_DMA, .buf = 5, .size = 4 };
	CHECK_EQ(sim_apply(s, &bad), -EINVAL);
	bad = (struct sim_event){ .kind = SIM_EV_MAP, .buf = 1u << 21, .size = 4096, .prot = RW };
	CHECK_EQ(sim_apply(s, &bad), -EINVAL);
	bad = (struct sim_event){ .kind = 99 };
	CHECK_EQ(sim_apply(s, &bad), -EINVAL);
	bad = (struct sim_event){ .kind = SIM_EV_MAP, .cpu = 3, .size = 4096, .prot = RW };
	CHECK_EQ(sim_apply(s, &bad), -EINVAL); /* cpu beyond opts.threads */
	sim_finish(s, &st);
	CHECK_EQ(st.violations, 0);
	CHECK_EQ(st.pri_requests, 17);
	CHECK_EQ(st.pri_success, 16);
	CHECK_EQ(st.pri_invalid, 1);
	CHECK(st.faults_not_present >= 1);
	CHECK(st.faults_addr_size + st.faults_not_present >= 2);
	sim_destroy(s);

	TEST("bad options");
	struct sim_opts bo = { .format = IOPT_PT_NR_FORMATS };
	CHECK_EQ(sim_create(&bo, &s), -EINVAL);
	bo = (struct sim_opts){ .mode = 5 };
	CHECK_EQ(sim_create(&bo, &s), -EINVAL);
	bo = (struct sim_opts){ .threads = 65 };
	CHECK_EQ(sim_create(&bo, &s), -EINVAL);
	bo = (struct sim_opts){ .iotlb_entries = 12 };
	CHECK_EQ(sim_create(&bo, &s), -EINVAL);
	bo = (struct sim_opts){ .break_flags = 1u << 9 };
	CHECK_EQ(sim_create(&bo, &s), -EINVAL);
}

static void two_threads(void)
{
	for (int mode = IOPT_DMA_STRICT; mode <= IOPT_DMA_LAZY; mode++) {
		struct sim_opts o = { .format = IOPT_PT_X86_64, .mode = (enum iopt_dma_mode)mode,
				      .threads = 2, .iotlb_entries = 2048 };
		struct sim *s = NULL;
		struct sim_stats st;
		pthread_t th[2];
		struct wl w[2];

		printf("# two threads, %s: no violation\n", mode ? "lazy" : "strict");
		REQUIRE(sim_create(&o, &s) == 0);
		for (uint32_t i = 0; i < 2; i++) {
			w[i] = (struct wl){ .s = s, .cpu = i, .base = 100 * i, .seed = 5 + i, .rounds = 10 };
			pthread_create(&th[i], NULL, workload, &w[i]);
		}
		for (int i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		CHECK_EQ(w[0].errors + w[1].errors, 0);
		sim_finish(s, &st);
		CHECK_EQ(st.violations, 0);
		CHECK_EQ(st.dma_faults, 0);
		sim_destroy(s);
	}
}

/*
 * One contiguous run of `run` bytes (16 descriptors) at a time, IOMMU API:
 * map it, a device write to every descriptor, unmap (strict: invalidated
 * when the call returns), then the same DMAs again, which must all fault.
 * SMMU stage 1 without RIL; brk and the IOTLB's run caching as given.
 */
static struct sim_stats run_tlbi(uint64_t run, unsigned brk, bool whole)
{
	struct sim_opts o = { .format = IOPT_PT_LPAE_S1, .break_flags = brk, .tlb_whole_runs = whole };
	struct sim *s = NULL;
	struct sim_stats st;

	o.hw = caps_without(&o, 0, 0, SIM_SMMU_IDR3_RIL);
	REQUIRE(sim_create(&o, &s) == 0);
	for (uint64_t k = 0; k < 4; k++) {
		uint64_t iova = (k + 1) * 4 * run;
		CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_MAP_AT, .iova = iova,
							   .phys = (k + 8) * run, .size = run,
							   .prot = RW }), 0);
		for (int pass = 0; pass < 2; pass++) {
			for (uint64_t off = 0; off < run; off += run / 16)
				CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_DMA,
									   .buf = SIM_NO_BUF,
									   .iova = iova + off + 8,
									   .size = 8, .write = true }), 0);
			if (!pass)
				CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_UNMAP_AT,
									   .iova = iova, .size = run }), 0);
		}
	}
	sim_finish(s, &st);
	sim_destroy(s);
	return st;
}

static void runs_without_ril(void)
{
	static const uint64_t runs[] = { 64 << 10, 32 << 20 };

	for (int i = 0; i < 2; i++) {
		const char *what = i ? "32M run of 2M blocks" : "64K run of 4K pages";
		printf("# no RIL, %s: one TG=0 per run (old planner) is caught per descriptor\n", what);
		struct sim_stats st = run_tlbi(runs[i], SIM_BREAK_TLBI_PER_RUN, false);
		/* 15 descriptors per run stay cached: the second pass translates through them */
		CHECK_EQ(st.stale_dmas, 4);
		CHECK(st.violations >= 4 + 4 * 15);
		CHECK_EQ(st.dma_faults, 4);
		CHECK_EQ(st.cmds_range, 4);
		printf("# no RIL, %s: the real planner, one TG=0 per descriptor, is clean\n", what);
		st = run_tlbi(runs[i], 0, false);
		CHECK_EQ(st.violations, 0);
		CHECK_EQ(st.dma_faults, 4 * 16);
		CHECK_EQ(st.cmds_range, 4 * 16);
		CHECK_EQ(st.iotlb_hits, 0); /* each descriptor its own entry */
		CHECK_EQ(st.cmd_errors, 0);
		printf("# no RIL, %s, the run cached as one entry: the old planner passes (why it hid)\n",
		       what);
		st = run_tlbi(runs[i], SIM_BREAK_TLBI_PER_RUN, true);
		CHECK_EQ(st.violations, 0);
		CHECK_EQ(st.dma_faults, 4 * 16);
		CHECK_EQ(st.iotlb_hits, 4 * 15); /* one miss per run, then hits: one entry */
		st = run_tlbi(runs[i], 0, true);
		CHECK_EQ(st.violations, 0);
	}
}

/* Write to every page of [iova, iova + len). */
static void dma_pages_at(struct sim *s, uint64_t iova, uint64_t len)
{
	for (uint64_t off = 0; off < len; off += 4096)
		CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_DMA, .buf = SIM_NO_BUF,
							   .iova = iova + off, .size = 8,
							   .write = true }), 0);
}

/*
 * UNMAP_AT takes the range apart as Linux's iommu_unmap does, by the
 * largest page size that fits: a 36K mapping at a 64K-aligned IOVA and
 * physical address is nine 4K pages, never a 64K run reaching into its
 * neighbour; a 64K + 4K mapping is one run and one page.
 */
static void unmap_at_pieces(void)
{
	struct sim_opts o = { .format = IOPT_PT_LPAE_S1 };
	struct sim *s = NULL;
	struct sim_stats st;

	TEST("UNMAP_AT: pieces of the largest page size that fits, never past the range");
	o.hw = caps_without(&o, 0, 0, SIM_SMMU_IDR3_RIL); /* one command per piece's descriptor */
	REQUIRE(sim_create(&o, &s) == 0);
	const uint64_t a = 0x10000000, b = a + 0x9000, c = 0x20000000;
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_MAP_AT, .iova = a,
						   .phys = 0x80000000, .size = 0x9000, .prot = RW }), 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_MAP_AT, .iova = b,
						   .phys = 0x90009000, .size = 0x7000, .prot = RW }), 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_MAP_AT, .iova = c,
						   .phys = 0xA0000000, .size = 0x11000, .prot = RW }), 0);
	dma_pages_at(s, a, 0x10000);
	dma_pages_at(s, c, 0x11000);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_UNMAP_AT, .iova = a, .size = 0x9000 }), 0);
	CHECK_EQ(sim_apply(s, &(struct sim_event){ .kind = SIM_EV_UNMAP_AT, .iova = c, .size = 0x11000 }), 0);
	dma_pages_at(s, a, 0x10000); /* a's 9 pages fault, b's 7 still translate */
	dma_pages_at(s, c, 0x11000);
	sim_finish(s, &st);
	sim_destroy(s);
	CHECK_EQ(st.violations, 0);
	CHECK_EQ(st.dma_faults, 9 + 17);
	/*
	 * 9 pages of a; c's run and page in one batch (the gather's stride is
	 * the 4K descriptor for both pieces, so no sync between them): 17 TG=0
	 * commands, over the default budget of 16, so one TLBI_NH_ASID; then
	 * b's 7 at the end.
	 */
	CHECK_EQ(st.cmds_range, 9 + 7);
	CHECK_EQ(st.cmds_scope, 1);
	CHECK_EQ(st.flushes, 1 + 1 + 1);
}

/* DMA-API buffers on SMMU without RIL, 64K-aligned, so many are contiguous runs. */
static void no_ril_workload(void)
{
	for (int f = IOPT_PT_LPAE_S1; f <= IOPT_PT_LPAE_S2; f++) {
		for (int mode = IOPT_DMA_STRICT; mode <= IOPT_DMA_LAZY; mode++) {
			struct sim_opts o = { .format = (enum iopt_pt_format)f,
					      .mode = (enum iopt_dma_mode)mode, .seed = 1 };
			o.hw = caps_without(&o, 0, 0, SIM_SMMU_IDR3_RIL);
			printf("# %s %s without RIL: no violation, no queue error\n", fmt_name[f],
			       mode ? "lazy" : "strict");
			struct sim_stats st = run_opts(o, 0);
			CHECK_EQ(st.violations, 0);
			CHECK_EQ(st.cmd_errors, 0);
			CHECK_EQ(st.dma_faults, 0);
			CHECK(st.cmds_range + st.cmds_scope > 0);
		}
	}
}

static void caps_reach_the_oracle(void)
{
	struct sim_opts o = { .format = IOPT_PT_LPAE_S1, .mode = IOPT_DMA_STRICT, .seed = 1 };
	struct sim_stats st;

	TEST("no RIL: a library planning range commands anyway gets queue errors");
	o.hw = caps_without(&o, 0, 0, SIM_SMMU_IDR3_RIL);
	o.break_flags = SIM_BREAK_IGNORE_CAPS;
	st = run_opts(o, 0);
	CHECK(st.cmd_errors > 0 && st.violations >= st.cmd_errors);

	TEST("VT-d without snoop control: IOPT_PROT_CACHE kept from the table; SNP would fault");
	o = (struct sim_opts){ .format = IOPT_PT_VTD_SS, .mode = IOPT_DMA_STRICT, .seed = 1 };
	st = run_opts(o, RW | IOPT_PROT_CACHE);
	CHECK(st.violations == 0 && st.dma_faults == 0 && st.dmas > 5000);
	o.break_flags = SIM_BREAK_IGNORE_CAPS;
	st = run_opts(o, RW | IOPT_PROT_CACHE);
	CHECK(st.faults_reserved > 0 && st.violations >= st.faults_reserved);
	o.hw = caps_without(&o, 0, SIM_VTD_ECAP_SC, 0); /* with snoop control SNP is fine */
	st = run_opts(o, RW | IOPT_PROT_CACHE);
	CHECK(st.violations == 0 && st.dma_faults == 0);

	TEST("VT-d without PSI: domain-selective only; PSI descriptors would be queue errors");
	o.hw = caps_without(&o, SIM_VTD_CAP_PSI, 0, 0);
	o.break_flags = 0;
	st = run_opts(o, 0);
	CHECK(st.violations == 0 && st.cmds_range == 0 && st.cmds_scope > 0);
	o.break_flags = SIM_BREAK_IGNORE_CAPS;
	st = run_opts(o, 0);
	CHECK(st.cmd_errors > 0 && st.violations > 0);

	TEST("VT-d: DR/DW from CAP.DRD/DWD; set without them, queue errors");
	o.hw = caps_without(&o, SIM_VTD_CAP_DRD | SIM_VTD_CAP_DWD, 0, 0);
	o.break_flags = 0;
	st = run_opts(o, 0);
	CHECK(st.violations == 0 && st.cmds_range > 0 && st.cmd_errors == 0);
	o.break_flags = SIM_BREAK_IGNORE_CAPS;
	st = run_opts(o, 0);
	CHECK(st.cmd_errors > 0 && st.violations > 0);
}

/*
 * VT-d caching mode (CAP.CM): the simulated IOMMU caches not-present
 * results. A device first touches IOVAs nothing maps (stray DMAs: each
 * fault is cached), then they are mapped, through the DMA layer (4 KiB
 * buffers take the top IOVAs under the 32-bit mask) and through MAP_AT,
 * and used. With the map-time invalidation (IOPT_DMA_F_FLUSH_ON_MAP, the
 * driver's flush after MAP_AT) every DMA translates; without it the cached
 * faults outlive the maps: a new mapping over cached entries, and DMAs
 * that fault on live buffers.
 */
static struct sim_stats caching_mode_run(enum iopt_dma_mode mode, unsigned brk)
{
	struct sim_opts o = { .format = IOPT_PT_VTD_SS, .mode = mode, .break_flags = brk,
			      .dma_mask = 0xFFFFFFFFull, .seed = 1 };
	static struct sim_hw_caps c;
	struct sim *s = NULL;
	struct sim_stats st;
	const uint64_t top = 0x100000000ull, at = 0x40000000;

	sim_hw_caps_default(&o, &c);
	c.vtd_cap |= SIM_VTD_CAP_CM;
	o.hw = &c;
	REQUIRE(sim_create(&o, &s) == 0);
	for (uint64_t p = 1; p <= 16; p++) {
		struct sim_event d = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF, .iova = top - p * 4096,
				       .size = 8, .write = true };
		CHECK_EQ(sim_apply(s, &d), 0);
		d.iova = at + (p - 1) * 4096;
		CHECK_EQ(sim_apply(s, &d), 0);
	}
	for (uint32_t b = 0; b < 16; b++) {
		struct sim_event m = { .kind = SIM_EV_MAP, .buf = b, .phys = (uint64_t)(b + 1) << 12,
				       .size = 4096, .prot = RW };
		CHECK_EQ(sim_apply(s, &m), 0);
		struct sim_event d = { .kind = SIM_EV_DMA, .buf = b, .size = 8, .write = true };
		CHECK_EQ(sim_apply(s, &d), 0);
	}
	struct sim_event m = { .kind = SIM_EV_MAP_AT, .iova = at, .phys = 0x80000000,
			       .size = 16 * 4096, .prot = RW };
	CHECK_EQ(sim_apply(s, &m), 0);
	for (uint64_t p = 0; p < 16; p++) {
		struct sim_event d = { .kind = SIM_EV_DMA, .buf = SIM_NO_BUF, .iova = at + p * 4096,
				       .size = 8 };
		CHECK_EQ(sim_apply(s, &d), 0);
	}
	for (uint32_t b = 0; b < 16; b++) {
		struct sim_event u = { .kind = SIM_EV_UNMAP, .buf = b };
		CHECK_EQ(sim_apply(s, &u), 0);
	}
	sim_finish(s, &st);
	sim_destroy(s);
	return st;
}

static void caching_mode(void)
{
	struct sim_stats st;

	TEST("VT-d caching mode: cached not-present results; maps invalidate, DMAs translate");
	for (enum iopt_dma_mode m = IOPT_DMA_STRICT; m <= IOPT_DMA_LAZY; m++) {
		st = caching_mode_run(m, 0);
		CHECK_EQ(st.violations, 0);
		CHECK_EQ(st.faults_not_present, 32); /* the stray DMAs, nothing after the maps */
		st = caching_mode_run(m, SIM_BREAK_NO_MAP_FLUSH);
		printf("# broken: %llu violations, %llu not-present faults\n", (unsigned long long)st.violations, (unsigned long long)st.faults_not_present);
		CHECK(st.violations >= 32);          /* the 16 buffers and the 16 MAP_AT pages */
		CHECK_EQ(st.faults_not_present, 64);  /* and each of them once more */
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "threads")) {
		two_threads();
		return tap_done();
	}
	correct_library();
	broken_invalidation();
	iommu_api_and_pri();
	flush_queue_timer();
	pri_groups();
	runs_without_ril();
	unmap_at_pieces();
	no_ril_workload();
	caps_reach_the_oracle();
	caching_mode();
	return tap_done();
}
