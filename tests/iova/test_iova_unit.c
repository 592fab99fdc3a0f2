/* SPDX-License-Identifier: MIT */
/*
 * IOVA allocator unit tests, one group per rule of include/iopt/iova.h,
 * through the public API only: configuration defaults and validation,
 * top-down placement, size alignment, limits, the 32-bit space, reservations
 * (merging, clipping, -EBUSY, over cached ranges), find, every free/alloc
 * error with the proof that nothing changed (a twin domain that never saw the
 * bad calls answers the same afterwards), the rcache (rounding, hits, limits,
 * flush-and-retry, thread-exit flush, idle reclaim), statistics, and destroy
 * with live ranges and with caches held by running or exited threads.
 */
#include <pthread.h>
#include <string.h>

#include <iopt/iova.h>

#include "iova_test.h"

#define L32 0xFFFFFull
#define SENTINEL 0xDEADBEEFCAFEull



static uint64_t a1(struct iopt_iova_domain *d, uint64_t size, uint64_t limit, unsigned flags)
{
	uint64_t pfn = SENTINEL;
	int rc = iopt_iova_alloc(d, size, limit, flags, &pfn);

	if (rc) {
		printf("# alloc(size %" PRIu64 ", limit %#" PRIx64 ", flags %u) = %d\n", size, limit,
		       flags, rc);
		return SENTINEL;
	}
	return pfn;
}

#define CHECK_OK(d) CHECK_EQ(iopt_iova_check(d), 0)

/* ------------------------------------------------------------------ */

static void test_config(void)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *d = (struct iopt_iova_domain *)&cfg; /* sentinel */
	struct iopt_iova_domain *const untouched = d;

	TEST("config defaults: granule 4096, start_pfn 1, end_pfn last granule, flags 0");
	memset(&cfg, 0x5A, sizeof(cfg));
	iopt_iova_config_init(&cfg);
	CHECK_EQ(cfg.granule, 4096);
	CHECK_EQ(cfg.start_pfn, 1);
	CHECK(cfg.end_pfn == UINT64_MAX / 4096);
	CHECK_EQ(cfg.flags, 0);

	TEST("granule validation: -EINVAL and *out untouched");
	static const uint64_t bad[] = { 0, 1, 3, 256, 511, 513, 4095, 6144, 1ull << 31, 1ull << 40,
					(1ull << 30) + 1, UINT64_MAX };
	unsigned bad_fail = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		iopt_iova_config_init(&cfg);
		cfg.granule = bad[i];
		cfg.end_pfn = 1000;
		int rc = iopt_iova_domain_create(&cfg, &d);
		if (rc != -EINVAL || d != untouched) {
			if (!bad_fail++)
				printf("# granule %#" PRIx64 ": rc %d\n", bad[i], rc);
			if (rc == 0 && d != untouched)
				iopt_iova_domain_destroy(d);
			d = untouched;
		}
	}
	CHECK_EQ(bad_fail, 0);

	TEST("end_pfn < start_pfn and end_pfn past the 64-bit space: -EINVAL");
	iopt_iova_config_init(&cfg);
	cfg.start_pfn = 10;
	cfg.end_pfn = 9;
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	CHECK(d == untouched);
	iopt_iova_config_init(&cfg);
	cfg.end_pfn = UINT64_MAX / 4096 + 1;
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	CHECK(d == untouched);
	iopt_iova_config_init(&cfg);
	cfg.granule = 512;
	cfg.end_pfn = UINT64_MAX / 512 + 1;
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	CHECK(d == untouched);

	TEST("granules 512, 1 KiB and 1 GiB accepted at their full 64-bit space");
	static const uint64_t good[] = { 512, 1024, 1ull << 30 };
	for (size_t i = 0; i < 3; i++) {
		uint64_t pfn = SENTINEL;
		struct iopt_iova_domain *g = NULL;
		iopt_iova_config_init(&cfg);
		cfg.granule = good[i];
		cfg.end_pfn = UINT64_MAX / good[i];
		CHECK_EQ(iopt_iova_domain_create(&cfg, &g), 0);
		if (!g)
			continue;
		CHECK(iopt_iova_granule(g) == good[i]);
		CHECK_EQ(iopt_iova_alloc(g, 1, cfg.end_pfn, 0, &pfn), 0);
		CHECK(pfn == cfg.end_pfn);
		CHECK_EQ(iopt_iova_alloc(g, 8, L32, IOPT_IOVA_ALIGN, &pfn), 0);
		CHECK(pfn == L32 - 7); /* 0xFFFF8..0xFFFFF: highest 8-aligned block */
		CHECK_OK(g);
		iopt_iova_domain_destroy(g);
	}

	TEST("a 512-byte granule domain allocates top-down like a 4K one");
	{
		struct iopt_iova_domain *g = NULL;
		iopt_iova_config_init(&cfg);
		cfg.granule = 512;
		cfg.flags = IOPT_IOVA_NO_RCACHE;
		REQUIRE(iopt_iova_domain_create(&cfg, &g) == 0);
		CHECK(a1(g, 1, L32, 0) == L32);
		CHECK(a1(g, 1, L32, 0) == L32 - 1);
		CHECK(a1(g, 2, L32, 0) == L32 - 3);
		CHECK_OK(g);
		iopt_iova_domain_destroy(g);
	}

	TEST("NULL config means the defaults");
	{
		struct iopt_iova_domain *g = NULL;
		uint64_t pfn = SENTINEL;
		REQUIRE(iopt_iova_domain_create(NULL, &g) == 0);
		CHECK(iopt_iova_granule(g) == 4096);
		CHECK_EQ(iopt_iova_alloc(g, 1, UINT64_MAX, 0, &pfn), 0);
		CHECK(pfn == UINT64_MAX / 4096);
		/* limit == start_pfn (1): only pfn 1 fits */
		CHECK_EQ(iopt_iova_alloc(g, 1, 1, 0, &pfn), 0);
		CHECK_EQ(pfn, 1);
		pfn = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(g, 1, 0, 0, &pfn), -EINVAL); /* limit below start_pfn 1 */
		CHECK(pfn == SENTINEL);
		CHECK_OK(g);
		iopt_iova_domain_destroy(g);
	}

	TEST("IOVA 0 is never handed out: fill a default-start space");
	for (unsigned fl = 0; fl < 2; fl++) {
		struct iopt_iova_domain *g = NULL;
		unsigned n = 0, zero = 0;
		uint64_t pfn;
		iopt_iova_config_init(&cfg);
		cfg.end_pfn = 63;
		cfg.flags = fl ? IOPT_IOVA_NO_RCACHE : 0;
		REQUIRE(iopt_iova_domain_create(&cfg, &g) == 0);
		while (n < 100 && iopt_iova_alloc(g, 1, 63, 0, &pfn) == 0) {
			n++;
			zero += pfn == 0;
		}
		CHECK_EQ(n, 63);
		CHECK_EQ(zero, 0);
		CHECK_EQ(iopt_iova_alloc(g, 1, 63, 0, &pfn), -ENOMEM);
		CHECK_OK(g);
		iopt_iova_domain_destroy(g);
	}

	TEST("one-pfn space (start == end)");
	{
		struct iopt_iova_domain *g = mk(77, 77, 0);
		uint64_t pfn = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(g, 1, 77, 0, &pfn), 0);
		CHECK_EQ(pfn, 77);
		CHECK_EQ(iopt_iova_alloc(g, 1, 77, 0, &pfn), -ENOMEM);
		CHECK_EQ(iopt_iova_alloc(g, 2, 77, 0, &pfn), -ERANGE);
		CHECK_EQ(iopt_iova_free(g, 77, 1), 0);
		CHECK_OK(g);
		iopt_iova_domain_destroy(g);
	}

	TEST("destroy(NULL) is a no-op");
	iopt_iova_domain_destroy(NULL);
	CHECK(1);
}

/* ------------------------------------------------------------------ */

static void test_placement(void)
{
	TEST("top-down: successive size-1 allocations descend from the limit");
	{
		struct iopt_iova_domain *d = mk(1, 0, IOPT_IOVA_NO_RCACHE);
		unsigned bad = 0;
		for (uint64_t i = 0; i < 64; i++) {
			uint64_t p = a1(d, 1, L32, 0);
			if (p != L32 - i && !bad++)
				printf("# step %" PRIu64 ": got %#" PRIx64 "\n", i, p);
		}
		CHECK_EQ(bad, 0);
		TEST("32-bit space preserved: 64-bit limit allocates at the top of the space");
		uint64_t end = UINT64_MAX / 4096;
		CHECK(a1(d, 1, UINT64_MAX, 0) == end);
		CHECK(a1(d, 1, end, 0) == end - 1);
		CHECK(a1(d, 16, end, IOPT_IOVA_ALIGN) == end - 31); /* end is ...FFF: 16-aligned block below end-1 */
		CHECK(a1(d, 1, L32, 0) == L32 - 64);                /* 32-bit region untouched meanwhile */
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("rcache domain: first allocations come from the top as well");
	{
		struct iopt_iova_domain *d = mk(1, 0, 0);
		uint64_t lo = 0, hi = 0;
		CHECK(a1(d, 1, L32, 0) == L32);
		CHECK(a1(d, 1, L32, 0) == L32 - 1); /* a refilled magazine keeps the order */
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
		d = mk(1, 0, 0);
		CHECK(a1(d, 4, L32, 0) == L32 - 3);
		CHECK(a1(d, 2, UINT64_MAX, 0) == UINT64_MAX / 4096 - 1); /* 64-bit limit: the top */
		uint64_t p40 = a1(d, 40, L32, 0);
		CHECK(p40 + 39 < L32 - 3 && p40 > L32 - 0x1000); /* high, below the 4-granule one */
		CHECK_EQ(iopt_iova_find(d, p40 + 20, &lo, &hi, NULL), 0);
		CHECK(lo == p40 && hi == p40 + 39);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("unaligned allocations pack exactly below the previous one (NO_RCACHE)");
	{
		struct iopt_iova_domain *d = mk(1, 0, IOPT_IOVA_NO_RCACHE);
		static const uint64_t sizes[] = { 3, 5, 7, 1, 100, 33, 2, 1000, 17 };
		uint64_t next = L32 + 1;
		unsigned bad = 0;
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			uint64_t p = a1(d, sizes[i], L32, 0);
			if (p != next - sizes[i] && !bad++)
				printf("# size %" PRIu64 ": got %#" PRIx64 " want %#" PRIx64 "\n", sizes[i], p,
				       next - sizes[i]);
			next -= sizes[i];
		}
		CHECK_EQ(bad, 0);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("IOPT_IOVA_ALIGN: start aligned to roundup_pow_of_two(size), highest such block");
	{
		static const struct {
			uint64_t size, align;
		} cases[] = { { 1, 1 }, { 2, 2 }, { 3, 4 }, { 4, 4 }, { 5, 8 }, { 6, 8 }, { 9, 16 },
			      { 33, 64 }, { 100, 128 }, { 1024, 1024 }, { 1025, 2048 } };
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			/* pfn L32 is taken first, so the top aligned block is not free. */
			struct iopt_iova_domain *d = mk(1, 0, IOPT_IOVA_NO_RCACHE);
			uint64_t size = cases[i].size, al = cases[i].align;
			CHECK(a1(d, 1, L32, 0) == L32);
			uint64_t p = a1(d, size, L32, IOPT_IOVA_ALIGN);
			/* highest al-aligned start with [p, p+size-1] <= L32-1 */
			uint64_t want = ((L32 - 1) - size + 1) & ~(al - 1);
			if (!CHECK(p == want))
				printf("# size %" PRIu64 ": got %#" PRIx64 " want %#" PRIx64 "\n", size, p, want);
			uint64_t lo = 0, hi = 0;
			CHECK_EQ(iopt_iova_find(d, p, &lo, &hi, NULL), 0);
			CHECK(lo == p && hi == p + size - 1); /* ALIGN does not grow the range */
			CHECK_OK(d);
			iopt_iova_domain_destroy(d);
		}
	}

	TEST("rcache rounding: alloc(3) is a 4-aligned 4-granule range; free(3) and free(4) accepted");
	{
		struct iopt_iova_domain *d = mk(1, 0, 0);
		uint64_t lo = 0, hi = 0;
		uint64_t p = a1(d, 3, L32, 0);
		CHECK_EQ(p % 4, 0);
		CHECK(p == L32 - 3); /* highest 4-aligned block */
		CHECK_EQ(iopt_iova_find(d, p + 3, &lo, &hi, NULL), 0);
		CHECK(lo == p && hi == p + 3);
		CHECK_EQ(iopt_iova_free(d, p, 3), 0);
		uint64_t q = a1(d, 3, L32, 0);
		CHECK(q == p); /* cache hit */
		CHECK_EQ(iopt_iova_free(d, q, 4), 0);
		q = a1(d, 4, L32, 0);
		CHECK(q == p);
		CHECK_EQ(iopt_iova_free(d, q, 3), 0);
		/* 5..8 round to 8, 17..32 to 32, always size-aligned without ALIGN */
		uint64_t r = a1(d, 5, L32, 0);
		CHECK_EQ(r % 8, 0);
		CHECK_EQ(iopt_iova_find(d, r, &lo, &hi, NULL), 0);
		CHECK(hi - lo + 1 == 8);
		uint64_t s = a1(d, 17, L32, 0);
		CHECK_EQ(s % 32, 0);
		CHECK_EQ(iopt_iova_find(d, s, &lo, &hi, NULL), 0);
		CHECK(lo == s && hi == s + 31);
		CHECK_EQ(iopt_iova_free(d, s, 32), 0);
		CHECK_EQ(iopt_iova_free(d, r, 7), 0);
		/* > 32 is not rounded: find reports exactly the size */
		uint64_t t = a1(d, 33, L32, 0);
		CHECK_EQ(iopt_iova_find(d, t, &lo, &hi, NULL), 0);
		CHECK(lo == t && hi == t + 32);
		CHECK_EQ(iopt_iova_free(d, t, 33), 0);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

/* ------------------------------------------------------------------ */

static void test_limits(void)
{
	TEST("limit respected, limit == start_pfn edge, above end_pfn clamps");
	struct iopt_iova_domain *d = mk(1, 0xFFFF, IOPT_IOVA_NO_RCACHE);
	uint64_t pfn = SENTINEL;

	CHECK(a1(d, 1, 1, 0) == 1);
	CHECK_EQ(iopt_iova_alloc(d, 1, 1, 0, &pfn), -ENOMEM);
	CHECK(pfn == SENTINEL);
	CHECK_EQ(iopt_iova_alloc(d, 2, 2, 0, &pfn), -ENOMEM);
	CHECK(a1(d, 2, 3, 0) == 2);
	CHECK(a1(d, 1, UINT64_MAX, 0) == 0xFFFF);
	CHECK(a1(d, 1, 0x10000, 0) == 0xFFFE);

	TEST("a size that cannot fit below the limit: -ENOMEM there, fits with a higher limit");
	pfn = SENTINEL;
	CHECK_EQ(iopt_iova_alloc(d, 100, 50, 0, &pfn), -ENOMEM);
	CHECK(pfn == SENTINEL);
	CHECK_EQ(iopt_iova_alloc(d, 64, 100, IOPT_IOVA_ALIGN, &pfn), -ENOMEM); /* only block 64..127 is aligned */
	CHECK(pfn == SENTINEL);
	CHECK(a1(d, 100, 200, 0) == 101);
	CHECK(a1(d, 64, 400, IOPT_IOVA_ALIGN) == 320); /* 384..447 too high, 320..383 fits */

	TEST("random limits: last granule <= limit, highest fit (NO_RCACHE, sizes 1..9)");
	{
		uint64_t seed = 42;
		unsigned bad = 0;
		for (int i = 0; i < 300; i++) {
			uint64_t size = 1 + test_xrand(&seed) % 9;
			uint64_t limit = 1000 + test_xrand(&seed) % 60000;
			uint64_t p = SENTINEL, lo, hi;
			int rc = iopt_iova_alloc(d, size, limit, 0, &p);
			if (rc == -ENOMEM)
				continue;
			/* exact: the pfn after the range must be taken or beyond the limit */
			bool ok = rc == 0 && p + size - 1 <= limit && p >= 1;
			if (ok && p + size <= limit)
				ok = iopt_iova_find(d, p + size, &lo, &hi, NULL) == 0;
			if (!ok && !bad++)
				printf("# size %" PRIu64 " limit %" PRIu64 ": rc %d pfn %" PRIu64 "\n", size, limit,
				       rc, p);
		}
		CHECK_EQ(bad, 0);
	}
	CHECK_OK(d);
	iopt_iova_domain_destroy(d);

	TEST("limit below start_pfn: -EINVAL, pfn_out untouched (both kinds)");
	for (unsigned fl = 0; fl < 2; fl++) {
		d = mk(16, 1000, fl ? IOPT_IOVA_NO_RCACHE : 0);
		pfn = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(d, 1, 15, 0, &pfn), -EINVAL);
		CHECK_EQ(iopt_iova_alloc(d, 1, 0, 0, &pfn), -EINVAL);
		CHECK(pfn == SENTINEL);
		CHECK(a1(d, 1, 16, 0) == 16);
		CHECK(a1(d, 1, 16, 0) == SENTINEL);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

/* ------------------------------------------------------------------ */

static void test_reserve(void)
{
	uint64_t lo = 0, hi = 0, pfn;
	bool res = false;

	TEST("reserved pfns are never handed out: fill a small space (both kinds)");
	for (unsigned fl = 0; fl < 2; fl++) {
		struct iopt_iova_domain *d = mk(1, 255, fl ? IOPT_IOVA_NO_RCACHE : 0);
		unsigned n = 0, inres = 0;
		CHECK_EQ(iopt_iova_reserve(d, 100, 119), 0);
		CHECK_EQ(iopt_iova_reserve(d, 255, 255), 0);
		while (n < 1000 && iopt_iova_alloc(d, 1, 255, 0, &pfn) == 0) {
			n++;
			inres += (pfn >= 100 && pfn <= 119) || pfn == 255 || pfn == 0;
		}
		CHECK_EQ(n, 255 - 21);
		CHECK_EQ(inres, 0);
		struct iopt_iova_stats s = stats(d);
		CHECK_EQ(s.reserved_nodes, 2);
		CHECK_EQ(s.tree_nodes, 255 - 21 + 2);
		CHECK_EQ(iopt_iova_find(d, 110, &lo, &hi, &res), 0);
		CHECK(lo == 100 && hi == 119 && res);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("overlapping and touching reservations merge into one");
	{
		struct iopt_iova_domain *d = mk(1, 0xFFFF, IOPT_IOVA_NO_RCACHE);
		static const struct {
			uint64_t lo, hi, want_lo, want_hi, nodes;
		} steps[] = {
			{ 10, 20, 10, 20, 1 }, { 15, 30, 10, 30, 1 }, /* overlap */
			{ 31, 40, 10, 40, 1 },                        /* touches above */
			{ 5, 9, 5, 40, 1 },                           /* touches below */
			{ 50, 60, 50, 60, 2 },                        /* separate */
			{ 41, 49, 5, 60, 1 },                         /* bridges both */
			{ 20, 25, 5, 60, 1 },                         /* inside */
			{ 1, 70, 1, 70, 1 },                          /* covers */
			{ 72, 80, 72, 80, 2 },                        /* gap of one pfn: no merge */
		};
		unsigned bad = 0;
		for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
			int rc = iopt_iova_reserve(d, steps[i].lo, steps[i].hi);
			lo = hi = 0;
			res = false;
			int frc = iopt_iova_find(d, steps[i].lo, &lo, &hi, &res);
			struct iopt_iova_stats s = stats(d);
			if ((rc || frc || lo != steps[i].want_lo || hi != steps[i].want_hi || !res ||
			     s.reserved_nodes != steps[i].nodes || s.tree_nodes != steps[i].nodes ||
			     iopt_iova_check(d)) &&
			    !bad++)
				printf("# reserve [%" PRIu64 ",%" PRIu64 "]: rc %d find %d -> [%" PRIu64 ",%" PRIu64
				       "] res %d nodes %" PRIu64 "/%" PRIu64 "\n",
				       steps[i].lo, steps[i].hi, rc, frc, lo, hi, res, s.reserved_nodes,
				       s.tree_nodes);
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(iopt_iova_find(d, 71, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(iopt_iova_find(d, 81, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(iopt_iova_find(d, 80, NULL, NULL, NULL), 0);
		/* 71 is the only free pfn at or below 80 */
		CHECK(a1(d, 1, 80, 0) == 71);
		CHECK_EQ(iopt_iova_reserve(d, 71, 71), -EBUSY);
		iopt_iova_domain_destroy(d);
	}

	TEST("a reservation partly outside the space is clipped; wholly outside is a no-op");
	{
		struct iopt_iova_domain *d = mk(16, 1000, IOPT_IOVA_NO_RCACHE);
		CHECK_EQ(iopt_iova_reserve(d, 0, 20), 0);
		CHECK_EQ(iopt_iova_find(d, 16, &lo, &hi, &res), 0);
		CHECK(lo == 16 && hi == 20 && res);
		CHECK_EQ(iopt_iova_reserve(d, 990, UINT64_MAX), 0);
		CHECK_EQ(iopt_iova_find(d, 1000, &lo, &hi, &res), 0);
		CHECK(lo == 990 && hi == 1000 && res);
		int rc = iopt_iova_reserve(d, 2000, 3000);
		CHECK(rc == 0);
		CHECK_EQ(stats(d).reserved_nodes, 2);
		CHECK_EQ(stats(d).tree_nodes, 2);
		unsigned n = 0;
		while (n < 2000 && iopt_iova_alloc(d, 1, 1000, 0, &pfn) == 0)
			n++;
		CHECK_EQ(n, (1000 - 16 + 1) - 5 - 11);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("reserve hi < lo: -EINVAL, nothing reserved");
	{
		struct iopt_iova_domain *d = mk(1, 1000, 0);
		CHECK_EQ(iopt_iova_reserve(d, 20, 19), -EINVAL);
		CHECK_EQ(stats(d).tree_nodes, 0);
		CHECK_EQ(iopt_iova_find(d, 19, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(iopt_iova_find(d, 20, NULL, NULL, NULL), -ENOENT);
		iopt_iova_domain_destroy(d);
	}

	TEST("reserve over a live allocation: -EBUSY and nothing reserved (both kinds)");
	for (unsigned fl = 0; fl < 2; fl++) {
		struct iopt_iova_domain *d = mk(1, 0xFFFF, fl ? IOPT_IOVA_NO_RCACHE : 0);
		uint64_t a = a1(d, 40, 0xF000, 0); /* tree path in both kinds */
		uint64_t c = a1(d, 1, 0x7FFF, 0);   /* cached size in the rcache kind */
		struct iopt_iova_stats s0 = stats(d);
		unsigned bad = 0;
		static const int64_t off[][2] = { { 5, 100 }, { -5, 0 }, { 39, 39 }, { -100, 1000 } };
		for (size_t i = 0; i < 4; i++) {
			int rc = iopt_iova_reserve(d, a + off[i][0], a + off[i][1]);
			struct iopt_iova_stats s = stats(d);
			if ((rc != -EBUSY || s.tree_nodes != s0.tree_nodes || s.reserved_nodes != 0 ||
			     iopt_iova_find(d, a - 1, NULL, NULL, NULL) != -ENOENT) &&
			    !bad++)
				printf("# kind %u case %zu: rc %d nodes %" PRIu64 "\n", fl, i, rc, s.tree_nodes);
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(iopt_iova_reserve(d, c, c), -EBUSY);
		CHECK_EQ(iopt_iova_reserve(d, c - 3, c + 3), -EBUSY);
		CHECK_EQ(iopt_iova_find(d, c - 1, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(stats(d).reserved_nodes, 0);
		/* adjacent (not overlapping) is fine */
		CHECK_EQ(iopt_iova_reserve(d, a + 40, a + 50), 0);
		CHECK_EQ(iopt_iova_reserve(d, a - 10, a - 1), 0);
		CHECK_EQ(stats(d).reserved_nodes, 2);
		CHECK_EQ(iopt_iova_find(d, a, &lo, &hi, &res), 0);
		CHECK(lo == a && hi == a + 39 && !res);
		/* the allocation is still freeable, and then its range can be reserved */
		CHECK_EQ(iopt_iova_free(d, a, 40), 0);
		CHECK_EQ(iopt_iova_reserve(d, a, a + 39), 0);
		CHECK_EQ(iopt_iova_find(d, a, &lo, &hi, &res), 0);
		CHECK(lo == a - 10 && hi == a + 50 && res); /* merged with both neighbours */
		CHECK_EQ(stats(d).reserved_nodes, 1);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("reserving over a range freed into the cache succeeds");
	{
		struct iopt_iova_domain *d = mk(1, 0xFFFF, 0);
		uint64_t p = a1(d, 4, 0xFFFF, 0);
		uint64_t q = a1(d, 4, 0xFFFF, 0);
		CHECK_EQ(iopt_iova_free(d, p, 4), 0);
		CHECK_EQ(iopt_iova_free(d, q, 4), 0);
		CHECK(stats(d).cache_pfns >= 2);
		CHECK_EQ(stats(d).tree_nodes, stats(d).cache_pfns); /* nothing live */
		CHECK_EQ(iopt_iova_find(d, p, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(iopt_iova_reserve(d, p + 1, p + 2), 0);
		CHECK_EQ(iopt_iova_find(d, p + 1, &lo, &hi, &res), 0);
		CHECK(lo == p + 1 && hi == p + 2 && res);
		CHECK_EQ(iopt_iova_find(d, p, NULL, NULL, NULL), -ENOENT);
		CHECK_EQ(iopt_iova_free(d, p, 4), -ENOENT); /* double free after the flush */
		CHECK_OK(d);
		/* p's range is no longer handed out; the other pfns of it are */
		unsigned hit = 0, n = 0;
		while (n < 0x10000 && iopt_iova_alloc(d, 1, 0xFFFF, 0, &pfn) == 0) {
			n++;
			hit += pfn == p + 1 || pfn == p + 2;
		}
		CHECK_EQ(hit, 0);
		CHECK_EQ(n, 0xFFFF - 2);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

/* ------------------------------------------------------------------ */

static void test_find(void)
{
	TEST("find: the containing range, NULL outputs, -ENOENT for free and cached-free pfns");
	struct iopt_iova_domain *d = mk(1, 0xFFFF, IOPT_IOVA_NO_RCACHE);
	uint64_t lo = 0, hi = 0;
	bool res = true;
	uint64_t p = a1(d, 10, 0xFFFF, 0);

	CHECK(p == 0xFFFF - 9);
	for (uint64_t i = 0; i < 10; i += 9) {
		lo = hi = 0;
		res = true;
		CHECK_EQ(iopt_iova_find(d, p + i, &lo, &hi, &res), 0);
		CHECK(lo == p && hi == p + 9 && !res);
	}
	CHECK_EQ(iopt_iova_find(d, p + 5, NULL, NULL, NULL), 0);
	CHECK_EQ(iopt_iova_find(d, p - 1, &lo, &hi, &res), -ENOENT);
	CHECK_EQ(iopt_iova_find(d, 1, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(iopt_iova_free(d, p, 10), 0);
	CHECK_EQ(iopt_iova_find(d, p, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(iopt_iova_find(d, p + 9, NULL, NULL, NULL), -ENOENT);
	iopt_iova_domain_destroy(d);

	d = mk(1, 0xFFFF, 0);
	p = a1(d, 8, 0xFFFF, 0);
	CHECK_EQ(iopt_iova_find(d, p + 7, &lo, &hi, NULL), 0);
	CHECK_EQ(iopt_iova_free(d, p, 8), 0);
	CHECK(stats(d).cache_pfns >= 1);
	CHECK_EQ(stats(d).tree_nodes, stats(d).cache_pfns);
	CHECK_EQ(iopt_iova_find(d, p, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(iopt_iova_find(d, p + 7, NULL, NULL, NULL), -ENOENT);
	uint64_t big = a1(d, 100, 0xFFFF, 0);
	CHECK_EQ(iopt_iova_free(d, big, 100), 0);
	CHECK_EQ(iopt_iova_find(d, big + 50, NULL, NULL, NULL), -ENOENT);
	CHECK_OK(d);
	iopt_iova_domain_destroy(d);
}

/* ------------------------------------------------------------------ */

/*
 * Error paths, run on a domain and its twin: the twin sees the same
 * successful calls but none of the bad ones. Afterwards both must answer a
 * sequence of allocations identically: the bad calls changed nothing.
 */
struct twin {
	struct iopt_iova_domain *a, *b;
	unsigned bad;
};

static void twin_fail(struct twin *t, const char *what, uint64_t pfn, uint64_t size, int want)
{
	struct iopt_iova_stats s0 = stats(t->a), s1;
	int rc = iopt_iova_free(t->a, pfn, size);

	s1 = stats(t->a);
	if (rc != want || s1.tree_nodes != s0.tree_nodes || s1.cache_pfns != s0.cache_pfns ||
	    s1.reserved_nodes != s0.reserved_nodes || iopt_iova_check(t->a) != 0) {
		if (!t->bad)
			printf("# %s: free(%#" PRIx64 ", %" PRIu64 ") = %d want %d; nodes %" PRIu64
			       " -> %" PRIu64 ", cache %" PRIu64 " -> %" PRIu64 "\n",
			       what, pfn, size, rc, want, s0.tree_nodes, s1.tree_nodes, s0.cache_pfns,
			       s1.cache_pfns);
		t->bad++;
	}
}

static uint64_t twin_alloc(struct twin *t, uint64_t size, uint64_t limit, unsigned fl)
{
	uint64_t p = a1(t->a, size, limit, fl), q = a1(t->b, size, limit, fl);

	if (p != q && !t->bad++)
		printf("# twins diverged: alloc(%" PRIu64 ") %#" PRIx64 " vs %#" PRIx64 "\n", size, p, q);
	return p;
}

static void twin_free(struct twin *t, uint64_t pfn, uint64_t size)
{
	int ra = iopt_iova_free(t->a, pfn, size), rb = iopt_iova_free(t->b, pfn, size);

	if ((ra || rb) && !t->bad++)
		printf("# twin free(%#" PRIx64 ", %" PRIu64 ") = %d/%d\n", pfn, size, ra, rb);
}

static void test_free_errors(void)
{
	for (unsigned fl = 0; fl < 2; fl++) {
		bool rc_dom = fl == 0;
		struct twin t = { mk(16, 0xFFFF, rc_dom ? 0 : IOPT_IOVA_NO_RCACHE),
				  mk(16, 0xFFFF, rc_dom ? 0 : IOPT_IOVA_NO_RCACHE), 0 };
		printf("# free errors, %s domain\n", rc_dom ? "rcache" : "NO_RCACHE");

		uint64_t p1 = twin_alloc(&t, 1, 0xFFFF, 0);
		uint64_t p4 = twin_alloc(&t, 4, 0xFFFF, 0);
		uint64_t p3 = twin_alloc(&t, 3, 0xFFFF, 0);
		uint64_t p32 = twin_alloc(&t, 32, 0xFFFF, 0);
		uint64_t p40 = twin_alloc(&t, 40, 0xFFFF, 0);
		uint64_t p100 = twin_alloc(&t, 100, 0x7FFF, 0);
		uint64_t p1b = twin_alloc(&t, 1, 0x6FFF, 0);
		CHECK_EQ(iopt_iova_reserve(t.a, 0x100, 0x10F), 0);
		CHECK_EQ(iopt_iova_reserve(t.b, 0x100, 0x10F), 0);
		CHECK_EQ(iopt_iova_reserve(t.a, 0x200, 0x200), 0);
		CHECK_EQ(iopt_iova_reserve(t.b, 0x200, 0x200), 0);

		TEST("free size 0: -EINVAL");
		twin_fail(&t, "size 0", p1, 0, -EINVAL);
		twin_fail(&t, "size 0 big", p40, 0, -EINVAL);
		CHECK_EQ(t.bad, 0);

		TEST("free outside the domain: -ERANGE");
		twin_fail(&t, "below start", 5, 1, -ERANGE);
		twin_fail(&t, "below start big", 0, 4, -ERANGE);
		twin_fail(&t, "above end", 0x10000, 1, -ERANGE);
		twin_fail(&t, "far above end", UINT64_MAX, 1, -ERANGE);
		twin_fail(&t, "far above end, big", 1ull << 40, 64, -ERANGE);
		twin_fail(&t, "straddles end", 0xFFFF, 2, -ERANGE);
		twin_fail(&t, "straddles end, big", 0xFFF0, 40, -ERANGE);
		CHECK_EQ(t.bad, 0);

		TEST("free of a never-allocated pfn: -ENOENT");
		twin_fail(&t, "never allocated", 0x5000, 1, -ENOENT);
		twin_fail(&t, "never allocated 4", 0x5000, 4, -ENOENT);
		twin_fail(&t, "never allocated 100", 0x5000, 100, -ENOENT);
		twin_fail(&t, "just below a live one", p1 - 1, 1, -ENOENT);
		twin_fail(&t, "inside a live cached-size one", p4 + 1, 1, -ENOENT);
		twin_fail(&t, "inside a live cached-size one, same size", p32 + 8, 8, -ENOENT);
		twin_fail(&t, "inside a live big one", p40 + 1, 39, -ENOENT);
		twin_fail(&t, "inside a live big one, small size", p100 + 50, 1, -ENOENT);
		CHECK_EQ(t.bad, 0);

		TEST("free with a size mismatch: -ENOENT");
		if (rc_dom) {
			twin_fail(&t, "class 4 freed as 2", p4, 2, -ENOENT);
			twin_fail(&t, "class 4 freed as 5", p4, 5, -ENOENT);
			twin_fail(&t, "class 4 freed as 1", p4, 1, -ENOENT);
			twin_fail(&t, "class 32 freed as 16", p32, 16, -ENOENT);
			twin_fail(&t, "class 32 freed as 33", p32, 33, -ENOENT);
			twin_fail(&t, "class 1 freed as 2", p1b, 2, -ENOENT);
		} else {
			twin_fail(&t, "4 freed as 3", p4, 3, -ENOENT);
			twin_fail(&t, "3 freed as 4", p3, 4, -ENOENT);
			twin_fail(&t, "32 freed as 31", p32, 31, -ENOENT);
			twin_fail(&t, "1 freed as 2", p1b, 2, -ENOENT);
		}
		twin_fail(&t, "40 freed as 39", p40, 39, -ENOENT);
		twin_fail(&t, "40 freed as 41", p40, 41, -ENOENT);
		twin_fail(&t, "40 freed as 32", p40, 32, -ENOENT);
		twin_fail(&t, "40 freed as 64", p40, 64, -ENOENT);
		twin_fail(&t, "100 freed as 99", p100, 99, -ENOENT);
		CHECK_EQ(t.bad, 0);

		TEST("free of a reserved range: -ENOENT");
		twin_fail(&t, "reserved 16", 0x100, 16, -ENOENT);
		twin_fail(&t, "reserved 1", 0x200, 1, -ENOENT);
		twin_fail(&t, "inside reserved", 0x104, 4, -ENOENT);
		CHECK_EQ(t.bad, 0);

		TEST("double free: -ENOENT (cached sizes and big sizes)");
		twin_free(&t, p1, 1);
		twin_fail(&t, "double free 1", p1, 1, -ENOENT);
		twin_free(&t, p3, 3);
		twin_fail(&t, "double free 3", p3, 3, -ENOENT);
		twin_fail(&t, "double free 3 as 4", p3, 4, -ENOENT);
		twin_free(&t, p32, 32);
		twin_fail(&t, "double free 32", p32, 32, -ENOENT);
		twin_free(&t, p40, 40);
		twin_fail(&t, "double free 40", p40, 40, -ENOENT);
		twin_free(&t, p100, 100);
		twin_fail(&t, "double free 100", p100, 100, -ENOENT);
		CHECK_EQ(t.bad, 0);
		if (rc_dom) {
			TEST("double free after the cache was flushed to the tree: -ENOENT");
			iopt_iova_cache_flush(t.a);
			iopt_iova_cache_flush(t.b);
			CHECK_EQ(stats(t.a).cache_pfns, 0);
			twin_fail(&t, "double free 1 after flush", p1, 1, -ENOENT);
			twin_fail(&t, "double free 32 after flush", p32, 32, -ENOENT);
			CHECK_EQ(t.bad, 0);
		}

		TEST("after every rejected free the domain behaves exactly like its twin");
		uint64_t seed = 7 + fl;
		for (int i = 0; i < 200; i++) {
			uint64_t size = 1 + test_xrand(&seed) % 48;
			uint64_t p = twin_alloc(&t, size, 0xFFFF, (unsigned)(test_xrand(&seed) & 1));
			if (p != SENTINEL && (test_xrand(&seed) & 1))
				twin_free(&t, p, size);
		}
		CHECK_EQ(t.bad, 0);
		struct iopt_iova_stats sa = stats(t.a), sb = stats(t.b);
		CHECK_EQ(sa.tree_nodes, sb.tree_nodes);
		CHECK_EQ(sa.cache_pfns, sb.cache_pfns);
		CHECK_OK(t.a);
		CHECK_OK(t.b);
		iopt_iova_domain_destroy(t.a);
		iopt_iova_domain_destroy(t.b);
	}
}

static void test_alloc_errors(void)
{
	TEST("alloc errors: size 0, unknown flags, limit < start, size > space; pfn_out untouched");
	for (unsigned fl = 0; fl < 2; fl++) {
		struct iopt_iova_domain *d = mk(10, 1009, fl ? IOPT_IOVA_NO_RCACHE : 0);
		uint64_t pfn = SENTINEL;
		static const unsigned badfl[] = { 0x4, 0x8, 0x100, 0x80000000u, 0xFFFFFFFFu,
						  IOPT_IOVA_ALIGN | 0x10 };
		CHECK_EQ(iopt_iova_alloc(d, 0, 1009, 0, &pfn), -EINVAL);
		CHECK_EQ(iopt_iova_alloc(d, 0, 1009, IOPT_IOVA_ALIGN, &pfn), -EINVAL);
		unsigned bad = 0;
		for (size_t i = 0; i < sizeof(badfl) / sizeof(badfl[0]); i++) {
			int rc = iopt_iova_alloc(d, 1, 1009, badfl[i], &pfn);
			if (rc != -EINVAL && !bad++)
				printf("# flags %#x: rc %d\n", badfl[i], rc);
			rc = iopt_iova_alloc(d, 40, 1009, badfl[i], &pfn);
			if (rc != -EINVAL && !bad++)
				printf("# flags %#x size 40: rc %d\n", badfl[i], rc);
		}
		CHECK_EQ(bad, 0);
		CHECK_EQ(iopt_iova_alloc(d, 1, 9, 0, &pfn), -EINVAL);
		CHECK_EQ(iopt_iova_alloc(d, 40, 0, 0, &pfn), -EINVAL);
		CHECK_EQ(iopt_iova_alloc(d, 1001, 1009, 0, &pfn), -ERANGE);
		CHECK_EQ(iopt_iova_alloc(d, 1001, UINT64_MAX, IOPT_IOVA_ALIGN, &pfn), -ERANGE);
		CHECK_EQ(iopt_iova_alloc(d, UINT64_MAX, 1009, 0, &pfn), -ERANGE);
		CHECK_EQ(iopt_iova_alloc(d, 1ull << 63, 1009, 0, &pfn), -ERANGE);
		CHECK(pfn == SENTINEL);
		CHECK_EQ(stats(d).tree_nodes, 0);
		CHECK_EQ(stats(d).cache_pfns, 0);
		CHECK_OK(d);
		/* the whole space in one call still works */
		CHECK_EQ(iopt_iova_alloc(d, 1000, 1009, 0, &pfn), 0);
		CHECK_EQ(pfn, 10);
		uint64_t p2 = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(d, 1, 1009, 0, &p2), -ENOMEM);
		CHECK_EQ(iopt_iova_alloc(d, 1, 1009, IOPT_IOVA_NO_RETRY, &p2), -ENOMEM);
		CHECK(p2 == SENTINEL);
		CHECK_EQ(iopt_iova_free(d, pfn, 1000), 0);
		CHECK_EQ(stats(d).tree_nodes, 0);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

/* ------------------------------------------------------------------ */

static void test_rcache(void)
{
	TEST("cache hit after free: same pfn, cache_hits + 1, cache_pfns tracks it");
	{
		struct iopt_iova_domain *d = mk(1, 0, 0);
		uint64_t p = a1(d, 8, L32, 0);
		struct iopt_iova_stats s0 = stats(d);
		CHECK_EQ(s0.cache_misses, 1);
		CHECK_EQ(s0.cache_hits, 0);
		CHECK_EQ(s0.tree_nodes, 1 + s0.cache_pfns); /* a miss may refill the magazine */
		CHECK_EQ(iopt_iova_free(d, p, 8), 0);
		CHECK_EQ(stats(d).cache_pfns, s0.cache_pfns + 1);
		CHECK_EQ(stats(d).tree_nodes, s0.tree_nodes); /* cached ranges are still tree ranges */
		CHECK(a1(d, 8, L32, 0) == p);
		struct iopt_iova_stats s1 = stats(d);
		CHECK_EQ(s1.cache_hits, s0.cache_hits + 1);
		CHECK_EQ(s1.cache_misses, s0.cache_misses);
		CHECK_EQ(s1.cache_pfns, s0.cache_pfns);
		CHECK_EQ(s1.tree_nodes, s0.tree_nodes);
		CHECK_OK(d);

		TEST("a cached IOVA above the caller's limit is not returned");
		uint64_t hi = a1(d, 1, UINT64_MAX, 0);
		CHECK(hi == UINT64_MAX / 4096);
		CHECK_EQ(iopt_iova_free(d, hi, 1), 0);
		uint64_t lo = a1(d, 1, L32, 0);
		CHECK(lo <= L32 && lo >= 1);
		CHECK_EQ(iopt_iova_find(d, lo, NULL, NULL, NULL), 0);
		CHECK_EQ(iopt_iova_find(d, hi, NULL, NULL, NULL), -ENOENT);
		/* many cached pfns above a small limit: none of them is returned */
		uint64_t hp[20];
		for (int i = 0; i < 20; i++)
			hp[i] = a1(d, 2, UINT64_MAX, 0);
		unsigned ff = 0;
		for (int i = 0; i < 20; i++)
			ff += iopt_iova_free(d, hp[i], 2) != 0;
		CHECK_EQ(ff, 0);
		unsigned above = 0;
		for (int i = 0; i < 20; i++) {
			uint64_t q = a1(d, 2, 0xFFFF, 0);
			above += q > 0xFFFF - 1 || q % 2;
		}
		CHECK_EQ(above, 0);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("exhaustion flushes the caches and retries; NO_RETRY fails with -ENOMEM");
	{
		struct iopt_iova_domain *d = mk(1, 255, 0);
		uint64_t p[255], pfn = SENTINEL;
		unsigned n = 0;
		while (n < 255 && iopt_iova_alloc(d, 1, 255, 0, &p[n]) == 0)
			n++;
		CHECK_EQ(n, 255);
		unsigned ff = 0;
		for (unsigned i = 0; i < n; i++)
			ff += iopt_iova_free(d, p[i], 1) != 0;
		CHECK_EQ(ff, 0);
		struct iopt_iova_stats s0 = stats(d);
		CHECK_EQ(s0.cache_pfns, 255);
		CHECK_EQ(s0.tree_nodes, 255);
		CHECK_EQ(iopt_iova_alloc(d, 16, 255, IOPT_IOVA_NO_RETRY, &pfn), -ENOMEM);
		CHECK_EQ(iopt_iova_alloc(d, 64, 255, IOPT_IOVA_NO_RETRY, &pfn), -ENOMEM);
		CHECK(pfn == SENTINEL);
		CHECK_EQ(stats(d).flushes, s0.flushes);
		CHECK_EQ(stats(d).cache_pfns, 255);
		CHECK_EQ(iopt_iova_alloc(d, 16, 255, 0, &pfn), 0);
		CHECK_EQ(pfn, 240);
		struct iopt_iova_stats s1 = stats(d);
		CHECK_EQ(s1.flushes, s0.flushes + 1);
		CHECK(s1.cache_pfns < 16); /* only class-16 ranges may sit in the cache now */
		CHECK_EQ(s1.tree_nodes, 1 + s1.cache_pfns);
		CHECK_OK(d);
		CHECK_EQ(iopt_iova_free(d, pfn, 16), 0);
		/* the same with a larger tree-path size: the whole space */
		n = 0;
		while (n < 255 && iopt_iova_alloc(d, 1, 255, 0, &p[n]) == 0)
			n++;
		CHECK_EQ(n, 255);
		for (unsigned i = 0; i < n; i++)
			iopt_iova_free(d, p[i], 1);
		s0 = stats(d);
		pfn = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(d, 255, 255, IOPT_IOVA_NO_RETRY, &pfn), -ENOMEM);
		CHECK(pfn == SENTINEL);
		CHECK_EQ(iopt_iova_alloc(d, 255, 255, 0, &pfn), 0);
		CHECK_EQ(pfn, 1);
		CHECK_EQ(stats(d).flushes, s0.flushes + 1);
		CHECK_EQ(stats(d).tree_nodes, 1);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("explicit flush: counts, empties the caches, keeps live ranges");
	{
		struct iopt_iova_domain *d = mk(1, 4095, 0);
		uint64_t p[10];
		for (int i = 0; i < 10; i++)
			p[i] = a1(d, 1, 4095, 0);
		struct iopt_iova_stats s0 = stats(d);
		CHECK(s0.cache_misses >= 1);
		CHECK_EQ(s0.cache_hits + s0.cache_misses, 10);
		CHECK_EQ(s0.tree_nodes, 10 + s0.cache_pfns);
		for (int i = 0; i < 4; i++)
			CHECK_EQ(iopt_iova_free(d, p[i], 1), 0);
		CHECK_EQ(stats(d).cache_pfns, s0.cache_pfns + 4);
		CHECK_EQ(stats(d).tree_nodes, s0.tree_nodes);
		CHECK_EQ(iopt_iova_reserve(d, 100, 100), 0);
		CHECK_EQ(stats(d).tree_nodes, s0.tree_nodes + 1);
		iopt_iova_cache_flush(d);
		struct iopt_iova_stats s1 = stats(d);
		CHECK_EQ(s1.tree_nodes, 7);
		CHECK_EQ(s1.cache_pfns, 0);
		CHECK_EQ(s1.depot_mags, 0);
		CHECK_EQ(s1.reserved_nodes, 1);
		CHECK_EQ(s1.flushes, s0.flushes + 1);
		unsigned ff = 0;
		for (int i = 4; i < 10; i++)
			ff += iopt_iova_find(d, p[i], NULL, NULL, NULL) != 0;
		for (int i = 4; i < 10; i++)
			ff += iopt_iova_free(d, p[i], 1) != 0;
		CHECK_EQ(ff, 0);
		iopt_iova_cache_flush(d);
		CHECK_EQ(stats(d).tree_nodes, 1);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

/* ------------------------------------------------------------------ */

struct worker {
	struct iopt_iova_domain *dom;
	uint64_t size, limit;
	unsigned n;
	unsigned fails;
	/* for the destroy test */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int phase;
};

static void *alloc_free_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t *p = calloc(w->n, sizeof(*p));

	REQUIRE(p);
	for (unsigned i = 0; i < w->n; i++)
		if (iopt_iova_alloc(w->dom, w->size, w->limit, 0, &p[i]))
			w->fails++;
	for (unsigned i = 0; i < w->n; i++)
		if (iopt_iova_free(w->dom, p[i], w->size))
			w->fails++;
	free(p);
	return NULL;
}

static void test_thread_exit(void)
{
	TEST("thread exit: its magazines go back; only full depot magazines stay cached");
	{
		struct iopt_iova_domain *d = mk(1, 4095, 0);
		struct worker w = { .dom = d, .size = 1, .limit = 4095, .n = 600 };
		pthread_t th;
		uint64_t pfn = SENTINEL;
		REQUIRE(pthread_create(&th, NULL, alloc_free_thread, &w) == 0);
		pthread_join(th, NULL);
		CHECK_EQ(w.fails, 0);
		struct iopt_iova_stats s = stats(d);
		printf("# after exit: cache_pfns %" PRIu64 " depot_mags %" PRIu64 " tree_nodes %" PRIu64 "\n",
		       s.cache_pfns, s.depot_mags, s.tree_nodes);
		CHECK_EQ(s.cache_pfns, 127 * s.depot_mags); /* nothing left in per-thread magazines */
		CHECK_EQ(s.tree_nodes, s.cache_pfns);
		CHECK_OK(d);
		iopt_iova_cache_flush(d);
		s = stats(d);
		CHECK_EQ(s.cache_pfns, 0);
		CHECK_EQ(s.depot_mags, 0);
		CHECK_EQ(s.tree_nodes, 0);
		CHECK_EQ(iopt_iova_alloc(d, 4095, 4095, IOPT_IOVA_NO_RETRY, &pfn), 0);
		CHECK_EQ(pfn, 1);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}

	TEST("after a caching thread exits the main thread can allocate the whole space");
	{
		struct iopt_iova_domain *d = mk(1, 4095, 0);
		struct worker w[3] = { { .dom = d, .size = 4, .limit = 4095, .n = 200 },
				       { .dom = d, .size = 1, .limit = 2000, .n = 100 },
				       { .dom = d, .size = 32, .limit = 4095, .n = 30 } };
		pthread_t th[3];
		uint64_t pfn = SENTINEL;
		for (int i = 0; i < 3; i++)
			REQUIRE(pthread_create(&th[i], NULL, alloc_free_thread, &w[i]) == 0);
		for (int i = 0; i < 3; i++)
			pthread_join(th[i], NULL);
		CHECK_EQ(w[0].fails + w[1].fails + w[2].fails, 0);
		CHECK_OK(d);
		CHECK_EQ(iopt_iova_alloc(d, 4095, 4095, 0, &pfn), 0);
		CHECK_EQ(pfn, 1);
		CHECK_EQ(stats(d).tree_nodes, 1);
		CHECK_EQ(stats(d).cache_pfns, 0);
		CHECK_OK(d);
		iopt_iova_domain_destroy(d);
	}
}

static void test_reclaim(void)
{
	TEST("cache_reclaim returns idle depot magazines to the tree");
	struct iopt_iova_domain *d = mk(1, 0xFFFF, 0);
	enum { N = 127 * 7 };
	static uint64_t p[N];

	for (unsigned i = 0; i < N; i++)
		REQUIRE(iopt_iova_alloc(d, 1, 0xFFFF, 0, &p[i]) == 0);
	for (unsigned i = 0; i < N; i++)
		REQUIRE(iopt_iova_free(d, p[i], 1) == 0);
	struct iopt_iova_stats s0 = stats(d);
	unsigned r1 = iopt_iova_cache_reclaim(d);
	struct iopt_iova_stats s1 = stats(d);
	unsigned r2 = iopt_iova_cache_reclaim(d);
	struct iopt_iova_stats s2 = stats(d);
	unsigned r3 = iopt_iova_cache_reclaim(d);
	printf("# depot %" PRIu64 " -> r1 %u -> %" PRIu64 " -> r2 %u -> %" PRIu64 " (r3 %u)\n",
	       s0.depot_mags, r1, s1.depot_mags, r2, s2.depot_mags, r3);
	CHECK(s0.depot_mags >= 4); /* 7 magazines freed, at most 2 per-thread ones full */
	CHECK(s0.cache_pfns >= N);
	CHECK_EQ(s0.tree_nodes, s0.cache_pfns);
	CHECK(r1 + r2 > 0);
	CHECK_EQ(s1.depot_mags, s0.depot_mags - r1);
	CHECK_EQ(s2.depot_mags, s1.depot_mags - r2);
	/* nothing touched the depot between r1 and r2: all of it was idle */
	CHECK_EQ(r2, s1.depot_mags);
	CHECK(r2 > 0 || r1 == s0.depot_mags);
	CHECK_EQ(r3, 0);
	CHECK_EQ(s2.cache_pfns, s0.cache_pfns - 127ull * (r1 + r2));
	CHECK_EQ(s2.tree_nodes, s2.cache_pfns);
	CHECK_OK(d);
	/* reclaimed ranges are allocatable again, cached ones too after the flush-retry */
	uint64_t pfn = SENTINEL;
	CHECK_EQ(iopt_iova_alloc(d, 0xFFFF, 0xFFFF, 0, &pfn), 0);
	CHECK_EQ(pfn, 1);
	CHECK_OK(d);
	iopt_iova_domain_destroy(d);
}

/* ------------------------------------------------------------------ */

static void test_stats(void)
{
	TEST("stats: tree_nodes counts live + reserved; bytes_used bounded by 64 B per node");
	struct iopt_iova_domain *d = mk(1, 0, IOPT_IOVA_NO_RCACHE);
	struct iopt_iova_stats s0 = stats(d);
	enum { N = 20000 };
	uint64_t pfn;

	CHECK_EQ(s0.tree_nodes, 0);
	CHECK_EQ(s0.cache_pfns, 0);
	CHECK_EQ(s0.cache_hits, 0);
	CHECK_EQ(s0.cache_misses, 0);
	CHECK_EQ(s0.reserved_nodes, 0);
	CHECK(s0.bytes_used > 0);
	for (unsigned i = 0; i < N; i++)
		REQUIRE(iopt_iova_alloc(d, 1 + (i % 3), UINT64_MAX, 0, &pfn) == 0);
	CHECK_EQ(iopt_iova_reserve(d, 1, 100), 0);
	CHECK_EQ(iopt_iova_reserve(d, 1000, 2000), 0);
	struct iopt_iova_stats s1 = stats(d);
	printf("# empty domain %" PRIu64 " bytes; %u ranges: %" PRIu64 " bytes (%.1f per range)\n",
	       s0.bytes_used, N, s1.bytes_used,
	       (double)(s1.bytes_used - s0.bytes_used) / (double)N);
	CHECK_EQ(s1.tree_nodes, N + 2);
	CHECK_EQ(s1.reserved_nodes, 2);
	CHECK(s1.bytes_used > s0.bytes_used);
	CHECK(s1.bytes_used <= 64 * s1.tree_nodes + s0.bytes_used + 4096);
	CHECK_EQ(s1.cache_hits, 0);
	CHECK_EQ(s1.cache_pfns, 0);
	CHECK_OK(d);
	iopt_iova_domain_destroy(d);

	TEST("stats in an rcache domain: tree_nodes = live + cached + reserved");
	d = mk(1, 0xFFFF, 0);
	uint64_t p[300];
	for (int i = 0; i < 300; i++)
		p[i] = a1(d, 1 + (uint64_t)i % 40, 0xFFFF, 0);
	unsigned ff = 0;
	for (int i = 0; i < 300; i += 2)
		ff += iopt_iova_free(d, p[i], 1 + (uint64_t)i % 40) != 0;
	CHECK_EQ(ff, 0);
	CHECK_EQ(iopt_iova_reserve(d, 1, 10), 0);
	struct iopt_iova_stats s2 = stats(d);
	unsigned cached_sizes = 0;
	for (int i = 0; i < 300; i += 2)
		cached_sizes += 1 + i % 40 <= 32;
	printf("# rcache: nodes %" PRIu64 " cached %" PRIu64 " bytes %" PRIu64 "\n", s2.tree_nodes,
	       s2.cache_pfns, s2.bytes_used);
	CHECK(s2.cache_pfns >= cached_sizes);
	CHECK_EQ(s2.tree_nodes, 150 + s2.cache_pfns + 1);
	CHECK(s2.bytes_used > 0);
	CHECK_OK(d);
	iopt_iova_domain_destroy(d);
}

/* ------------------------------------------------------------------ */

static void wait_phase(struct worker *w, int ph)
{
	pthread_mutex_lock(&w->mu);
	while (w->phase < ph)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

static void set_phase(struct worker *w, int ph)
{
	pthread_mutex_lock(&w->mu);
	w->phase = ph;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/*
 * Phase 1: cache ranges in w->dom. Phase 2 (after the main thread destroyed
 * it and made a new domain): allocate and free in the new domain, checking
 * every answer lies in it (a stale cache would hand out old pfns).
 */
static void *lingering_thread(void *arg)
{
	struct worker *w = arg;
	uint64_t p[200];

	for (int i = 0; i < 200; i++)
		if (iopt_iova_alloc(w->dom, 1 + i % 8, w->limit, 0, &p[i]))
			w->fails++;
	for (int i = 0; i < 200; i++)
		if (iopt_iova_free(w->dom, p[i], 1 + i % 8))
			w->fails++;
	for (int i = 0; i < 10; i++) /* and some live ones */
		if (iopt_iova_alloc(w->dom, 1, w->limit, 0, &p[i]))
			w->fails++;
	set_phase(w, 1);
	wait_phase(w, 2);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 200; i++) {
			uint64_t lo, hi;
			if (iopt_iova_alloc(w->dom, 1 + i % 8, w->limit, 0, &p[i]) || p[i] < 5000 ||
			    p[i] + i % 8 > w->limit ||
			    iopt_iova_find(w->dom, p[i], &lo, &hi, NULL) || lo != p[i])
				w->fails++;
		}
		for (int i = 0; i < 200; i++)
			if (iopt_iova_free(w->dom, p[i], 1 + i % 8))
				w->fails++;
	}
	set_phase(w, 3);
	wait_phase(w, 4);
	return NULL;
}

static void test_destroy(void)
{
	TEST("destroy with live allocations and reservations");
	for (unsigned fl = 0; fl < 2; fl++) {
		struct iopt_iova_domain *d = mk(1, 0xFFFFF, fl ? IOPT_IOVA_NO_RCACHE : 0);
		uint64_t pfn;
		for (unsigned i = 0; i < 5000; i++)
			REQUIRE(iopt_iova_alloc(d, 1 + i % 50, 0xFFFFF, 0, &pfn) == 0);
		for (unsigned i = 0; i < 100; i++)
			REQUIRE(iopt_iova_alloc(d, 1, 0xFFFFF, 0, &pfn) == 0 && iopt_iova_free(d, pfn, 1) == 0);
		REQUIRE(iopt_iova_reserve(d, 10, 20) == 0);
		iopt_iova_domain_destroy(d);
		CHECK(1);
	}

	TEST("destroy while another (running) thread holds caches, then a new domain in that thread");
	{
		struct worker w = { .limit = 4095 };
		pthread_t th;
		pthread_mutex_init(&w.mu, NULL);
		pthread_cond_init(&w.cv, NULL);
		w.dom = mk(1, 4095, 0);
		REQUIRE(pthread_create(&th, NULL, lingering_thread, &w) == 0);
		wait_phase(&w, 1);
		CHECK(stats(w.dom).cache_pfns > 0);
		iopt_iova_domain_destroy(w.dom);
		w.dom = mk(5000, 9095, 0); /* likely at the same address as the old one */
		w.limit = 9095;
		set_phase(&w, 2);
		wait_phase(&w, 3);
		CHECK_EQ(w.fails, 0);
		CHECK_OK(w.dom);
		iopt_iova_cache_flush(w.dom);
		CHECK_EQ(stats(w.dom).tree_nodes, 0);
		uint64_t pfn = SENTINEL;
		CHECK_EQ(iopt_iova_alloc(w.dom, 4096, 9095, IOPT_IOVA_NO_RETRY, &pfn), 0);
		CHECK_EQ(pfn, 5000);
		iopt_iova_domain_destroy(w.dom); /* thread still alive, holding a cache for it */
		set_phase(&w, 4);
		pthread_join(th, NULL); /* its exit must not touch the destroyed domains */
		CHECK(1);
		pthread_mutex_destroy(&w.mu);
		pthread_cond_destroy(&w.cv);
	}

	TEST("destroy after caching threads exited");
	{
		struct iopt_iova_domain *d = mk(1, 4095, 0);
		struct worker w = { .dom = d, .size = 2, .limit = 4095, .n = 400 };
		pthread_t th;
		REQUIRE(pthread_create(&th, NULL, alloc_free_thread, &w) == 0);
		pthread_join(th, NULL);
		CHECK_EQ(w.fails, 0);
		iopt_iova_domain_destroy(d);
		CHECK(1);
	}
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_config();
	test_placement();
	test_limits();
	test_reserve();
	test_find();
	test_free_errors();
	test_alloc_errors();
	test_rcache();
	test_thread_exit();
	test_reclaim();
	test_stats();
	test_destroy();
	return tap_done();
}
