/* SPDX-License-Identifier: MIT */
/*
 * Host-allocation failure (iopt_fault_inject) at every allocation the flush
 * queue and the DMA layer workloads reach, N = 1, 2, ... until a run no
 * longer hits the armed allocation; transient and persistent. Each failing
 * call must return -ENOMEM and change nothing (pending entries, live
 * mappings and their translations, IOVA ranges held, table pages held);
 * calls that cannot fail (unmap, flush, drain) still do their whole job;
 * after teardown the library holds no host allocation
 * (iopt_fault_live_allocs) and no table page. Each run is its own thread,
 * so its per-thread IOVA caches and rings go at thread exit.
 */
#include <pthread.h>
#include <string.h>

#include <iopt/fault.h>

#include "dma_fake.h"

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define M48 0xFFFFFFFFFFFFull

static _Atomic unsigned bad;
static uint64_t cur_n;

#define EXPECT(c)                                                                        \
	do {                                                                             \
		if (!(c)) {                                                              \
			atomic_fetch_add(&bad, 1);                                       \
			printf("# line %d, N=%llu: %s\n", __LINE__,                     \
			       (unsigned long long)cur_n, #c);                           \
		}                                                                        \
	} while (0)

/* ---- flush queue ---- */

struct fq_case {
	bool single;
};

struct fq_ctx {
	uint64_t flushes, released_pfns;
};

static void fq_flush(void *ctx)
{
	((struct fq_ctx *)ctx)->flushes++;
}

static void fq_release(void *ctx, uint64_t pfn, uint64_t size)
{
	(void)pfn;
	((struct fq_ctx *)ctx)->released_pfns += size;
}

static uint64_t fq_clock(void *ctx)
{
	(void)ctx;
	return 0;
}

static void *fq_work(void *arg)
{
	const struct fq_case *c = arg;
	struct fq_ctx x = { 0, 0 };
	struct iopt_flushq_cfg cfg = { .single = c->single, .entries = 4, .flush_all = fq_flush,
				       .release = fq_release, .ctx = &x, .clock = fq_clock };
	struct iopt_flushq *fq = (void *)0x1;
	int r = iopt_flushq_create(&cfg, &fq);

	if (r) {
		EXPECT(r == -ENOMEM && fq == (void *)0x1);
		return NULL;
	}
	uint64_t queued = 0;
	for (uint64_t i = 0; i < 11; i++) { /* 11 > 2 rings' worth: full-ring flushes too */
		struct iopt_gather g;
		uint64_t before = iopt_flushq_pending(fq);

		iopt_gather_init(&g, false, NULL, NULL);
		r = iopt_flushq_queue(fq, i * 16, 1 + i, &g);
		if (r) {
			EXPECT(r == -ENOMEM && iopt_flushq_pending(fq) == before);
			continue;
		}
		queued += 1 + i;
		if (i == 5)
			iopt_flushq_flush(fq);
	}
	iopt_flushq_drain(fq);
	EXPECT(iopt_flushq_pending(fq) == 0 && x.released_pfns == queued);
	iopt_flushq_destroy(fq);
	EXPECT(x.released_pfns == queued);
	return NULL;
}

/* ---- DMA layer ---- */

struct dma_case {
	enum iopt_dma_mode mode;
	unsigned gather_ranges;
};

struct live_map {
	uint64_t phys, size, iova;
};

static uint64_t dma_clock(void *ctx)
{
	(void)ctx;
	return 0;
}

/* Every live mapping still translates as mapped (first and last byte). */
static bool all_mapped(struct iopt_pt *pt, const struct live_map *m, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t pa = 0, pb = 0;

		if (iopt_pt_iova_to_phys(pt, m[i].iova, &pa) || pa != m[i].phys ||
		    iopt_pt_iova_to_phys(pt, m[i].iova + m[i].size - 1, &pb) ||
		    pb != m[i].phys + m[i].size - 1)
			return false;
	}
	return true;
}

static uint64_t tree_nodes(struct iopt_iova_domain *d)
{
	struct iopt_iova_stats st;

	iopt_iova_stats(d, &st);
	return st.tree_nodes - st.cache_pfns;
}

static void *dma_work(void *arg)
{
	const struct dma_case *c = arg;
	struct test_prov tp;
	struct fake f;
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
	struct iopt_dma_domain *dom = (void *)0x1;
	struct iopt_pt_cfg pc = { .format = IOPT_PT_X86_64, .ias = 48 };
	struct iopt_iova_config ic;
	int r;

	test_prov_init(&tp);
	memset(&f, 0, sizeof(f));
	f.track = true;
	pc.provider = &tp.p;
	if ((r = iopt_pt_create(&pc, &pt))) {
		EXPECT(r == -ENOMEM && atomic_load(&tp.live) == 0);
		return NULL;
	}
	iopt_iova_config_init(&ic);
	ic.end_pfn = (1ull << 36) - 1;
	if ((r = iopt_iova_domain_create(&ic, &iovad))) {
		EXPECT(r == -ENOMEM);
		iopt_pt_free(pt);
		return NULL;
	}
	struct iopt_dma_cfg dc = { .pt = pt, .iovad = iovad, .mode = c->mode,
				   .gather_ranges = c->gather_ranges, .fq_entries = 4,
				   .clock = dma_clock, .ops = fake_ops(&f) };
	if ((r = iopt_dma_create(&dc, &dom))) {
		EXPECT(r == -ENOMEM && dom == (void *)0x1);
		goto out;
	}

	/* Sizes that take 4K and 2M leaves and new tables at several levels. */
	static const uint64_t sizes[] = { 4096, 3 * 4096, (2u << 20) + 4096, 64 << 10,
					  4u << 20, 4096, 5 * 4096 };
	struct live_map m[16];
	unsigned n = 0;
	for (int round = 0; round < 2; round++) {
		for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint64_t phys = 0x100000000ull + ((uint64_t)(n + 1) << 23) + (i & 1) * 0x80;
			uint64_t held = tree_nodes(iovad), iova = 0xdead;
			long tables = atomic_load(&tp.live);

			r = iopt_dma_map(dom, phys, sizes[i], RW, M48, &iova);
			if (r) {
				EXPECT(r == -ENOMEM && iova == 0xdead && all_mapped(pt, m, n) &&
				       tree_nodes(iovad) == held && atomic_load(&tp.live) == tables);
				continue;
			}
			fake_mapped(&f, iova, sizes[i]);
			m[n++] = (struct live_map){ phys, sizes[i], iova };
		}
		/* Unmap every other one: unmaps never fail on memory (lazy falls back to strict). */
		for (unsigned i = round; i < n; i += 2) {
			fake_unmapping(&f, m[i].iova, m[i].size);
			EXPECT(iopt_dma_unmap(dom, m[i].iova, m[i].size) == 0);
			uint64_t pa;
			EXPECT(iopt_pt_iova_to_phys(pt, m[i].iova, &pa) == -ENOENT);
			m[i] = m[--n];
		}
		EXPECT(all_mapped(pt, m, n));
	}

	/* A scatter list: three segments joined into one IOVA range. */
	struct iopt_dma_sg sg[3] = { { 0x200000800ull, 0x800, 0xbad, 0xbad },
				     { 0x300000000ull, 0x3000, 0xbad, 0xbad },
				     { 0x400000000ull, 0x100, 0xbad, 0xbad } };
	uint64_t held = tree_nodes(iovad);
	long tables = atomic_load(&tp.live);
	r = iopt_dma_map_sg(dom, sg, 3, RW, M48);
	if (r) {
		EXPECT(r == -ENOMEM && sg[0].dma_addr == 0xbad && sg[2].dma_len == 0xbad &&
		       tree_nodes(iovad) == held && atomic_load(&tp.live) == tables);
	} else {
		uint64_t pa;
		EXPECT(iopt_pt_iova_to_phys(pt, sg[1].dma_addr, &pa) == 0 && pa == sg[1].phys);
		fake_unmapping(&f, sg[0].dma_addr, sg[2].dma_addr + sg[2].dma_len - sg[0].dma_addr);
		EXPECT(iopt_dma_unmap_sg(dom, sg, 3) == 0);
		EXPECT(iopt_pt_iova_to_phys(pt, sg[1].dma_addr, &pa) == -ENOENT);
	}
	while (n) {
		n--;
		fake_unmapping(&f, m[n].iova, m[n].size);
		EXPECT(iopt_dma_unmap(dom, m[n].iova, m[n].size) == 0);
	}
	iopt_dma_destroy(dom);
	EXPECT(atomic_load(&f.violations) == 0);
	iopt_iova_cache_flush(iovad);
	EXPECT(tree_nodes(iovad) == 0);
out:
	iopt_iova_domain_destroy(iovad);
	iopt_pt_free(pt);
	EXPECT(atomic_load(&tp.live) == 0);
	return NULL;
}

/* Run the workload with the N-th allocation failing, N = 1, 2, ... */
static void sweep(const char *name, void *(*work)(void *), void *arg)
{
	for (int persistent = 0; persistent < 2; persistent++) {
		uint64_t n;

		TEST(name);
		atomic_store(&bad, 0);
		for (n = 1;; n++) {
			pthread_t t;

			cur_n = n;
			iopt_fault_inject(n, persistent);
			REQUIRE(pthread_create(&t, NULL, work, arg) == 0);
			pthread_join(t, NULL);
			uint64_t hit = iopt_fault_inject(0, false);

			EXPECT(iopt_fault_live_allocs() == 0);
			if (!hit)
				break; /* the run made fewer than N allocations: every site was hit */
		}
		printf("# %s, %s: %llu allocation points\n", name,
		       persistent ? "persistent" : "transient", (unsigned long long)n - 1);
		CHECK(n > 2);
		CHECK_EQ(atomic_load(&bad), 0);
	}
}

int main(void)
{
	struct fq_case fq_ring = { false }, fq_single = { true };
	struct dma_case strict = { IOPT_DMA_STRICT, 0 }, lazy = { IOPT_DMA_LAZY, 0 },
			lazy_list = { IOPT_DMA_LAZY, 4 }, strict_list = { IOPT_DMA_STRICT, 4 };

	sweep("flushq per-thread rings: create, queue, flush, drain", fq_work, &fq_ring);
	sweep("flushq single ring: create, queue, flush, drain", fq_work, &fq_single);
	sweep("dma strict: create, map, map_sg, unmap", dma_work, &strict);
	sweep("dma strict, list gather", dma_work, &strict_list);
	sweep("dma lazy: create, map, map_sg, unmap, drain", dma_work, &lazy);
	sweep("dma lazy, list gather", dma_work, &lazy_list);
	return tap_done();
}
