/* SPDX-License-Identifier: MIT */
/*
 * iopt demo: an IOVA domain as a DMA layer would drive it. Reserves the x86
 * MSI window, serves a 32-bit and a 64-bit device, shows the top-down
 * placement, the rcache at work, and the errors bad calls get.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <iopt/iopt.h>

#define PFN(iova) ((iova) >> 12)

int main(void)
{
	struct iopt_iova_domain *dom;
	struct iopt_iova_stats st;
	uint64_t pfn, p32[4], p64[4];
	int r, bad = 0;

	if ((r = iopt_iova_domain_create(NULL, &dom))) {
		fprintf(stderr, "domain create: %s\n", strerror(-r));
		return 1;
	}
	printf("iopt IOVA demo: granule %" PRIu64 " B, start pfn 1, 64-bit space\n\n",
	       iopt_iova_granule(dom));

	iopt_iova_reserve(dom, PFN(0xFEE00000ull), PFN(0xFEEFFFFFull));
	printf("reserved MSI window 0xfee00000-0xfeefffff\n");

	for (int i = 0; i < 4; i++) {
		iopt_iova_alloc(dom, 16, PFN(0xFFFFFFFFull), IOPT_IOVA_ALIGN, &p32[i]);
		iopt_iova_alloc(dom, 16, PFN(0xFFFFFFFFFFFFull), IOPT_IOVA_ALIGN, &p64[i]);
		printf("64 KiB buffer %d: 32-bit device iova 0x%09" PRIx64 ", 48-bit device iova 0x%012" PRIx64
		       "\n", i, p32[i] << 12, p64[i] << 12);
	}
	for (int i = 0; i < 4; i++) {
		iopt_iova_free(dom, p32[i], 16);
		iopt_iova_free(dom, p64[i], 16);
	}

	/* A burst of map/unmap: after the first round everything comes from the cache. */
	for (int round = 0; round < 1000; round++) {
		uint64_t ring[64];
		for (int i = 0; i < 64; i++)
			iopt_iova_alloc(dom, 1 + i % 8, PFN(0xFFFFFFFFull), IOPT_IOVA_ALIGN, &ring[i]);
		for (int i = 0; i < 64; i++)
			iopt_iova_free(dom, ring[i], 1 + i % 8);
	}
	iopt_iova_stats(dom, &st);
	printf("\n64,000 map/unmap pairs: %" PRIu64 " cache hits, %" PRIu64 " misses (%.2f%% hit rate)\n",
	       st.cache_hits, st.cache_misses, 100.0 * (double)st.cache_hits / (double)(st.cache_hits + st.cache_misses));
	printf("tree nodes %" PRIu64 " (1 reserved), %" PRIu64 " ranges cached, %" PRIu64 " KiB in use\n",
	       st.tree_nodes, st.cache_pfns, st.bytes_used / 1024);

	printf("\nbad calls get clear errors and change nothing:\n");
	iopt_iova_alloc(dom, 1, PFN(0xFFFFFFFFull), 0, &pfn);
	struct {
		const char *what;
		int got, want;
	} e[] = {
		{ "alloc size 0", iopt_iova_alloc(dom, 0, PFN(0xFFFFFFFFull), 0, &pfn), -EINVAL },
		{ "double free", (iopt_iova_free(dom, pfn, 1), iopt_iova_free(dom, pfn, 1)), -ENOENT },
		{ "free never allocated", iopt_iova_free(dom, 12345, 1), -ENOENT },
		{ "reserve over live", (iopt_iova_alloc(dom, 64, PFN(0xFFFFFFFFull), 0, &pfn),
				       iopt_iova_reserve(dom, pfn, pfn)), -EBUSY },
	};
	for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
		printf("  %-22s -> %-32s %s\n", e[i].what, strerror(-e[i].got), e[i].got == e[i].want ? "ok" : "UNEXPECTED");
		bad += e[i].got != e[i].want;
	}
	r = iopt_iova_check(dom);
	printf("\ntree invariants: %s\n", r ? "BROKEN" : "ok");
	iopt_iova_domain_destroy(dom);
	return bad || r;
}
