/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for every rule of include/iopt/iova.h, through the public API:
 * configuration, placement (top-down, alignment, limits), reservations,
 * lookups, the rcache (rounding, hits, limits, flush-and-retry, a flush
 * from another thread, thread-exit flush, idle reclaim, live-map leaves),
 * statistics, and every bad input with its errno and
 * the proof that nothing changed.
 */
#include <pthread.h>
#include <string.h>

#include <iopt/fault.h>
#include <iopt/iova.h>

#include "iova_test.h"

#define LIMIT32 0xFFFFFull



static void test_config(void)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *d = (void *)0x1;

	TEST("config defaults");
	iopt_iova_config_init(&cfg);
	CHECK_EQ(cfg.granule, 4096);
	CHECK_EQ(cfg.start_pfn, 1);
	CHECK_EQ(cfg.end_pfn, UINT64_MAX / 4096);
	CHECK_EQ(cfg.flags, 0);

	TEST("bad configurations: -EINVAL, *out untouched");
	uint64_t bad_granules[] = { 0, 3, 256, 4095, 6144, 1ull << 31 };
	for (size_t i = 0; i < sizeof(bad_granules) / sizeof(bad_granules[0]); i++) {
		iopt_iova_config_init(&cfg);
		cfg.granule = bad_granules[i];
		CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	}
	iopt_iova_config_init(&cfg);
	cfg.start_pfn = 10;
	cfg.end_pfn = 9;
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	iopt_iova_config_init(&cfg);
	cfg.end_pfn = UINT64_MAX / 4096 + 1; /* past the 64-bit space */
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	iopt_iova_config_init(&cfg);
	cfg.flags = 0x80;
	CHECK_EQ(iopt_iova_domain_create(&cfg, &d), -EINVAL);
	CHECK(d == (void *)0x1);
	CHECK_EQ(iopt_iova_domain_create(NULL, NULL), -EINVAL);
	iopt_iova_domain_destroy(NULL); /* documented no-op */

	TEST("smallest and largest granules work; NULL config is the default");
	uint64_t good[] = { 512, 1024, 1ull << 30 };
	for (size_t i = 0; i < 3; i++) {
		uint64_t pfn = 0;
		iopt_iova_config_init(&cfg);
		cfg.granule = good[i];
		cfg.end_pfn = UINT64_MAX / good[i];
		REQUIRE(iopt_iova_domain_create(&cfg, &d) == 0);
		CHECK_EQ(iopt_iova_granule(d), good[i]);
		CHECK_EQ(iopt_iova_alloc(d, 1, cfg.end_pfn, 0, &pfn), 0);
		CHECK_EQ(pfn, cfg.end_pfn);
		iopt_iova_domain_destroy(d);
	}
	REQUIRE(iopt_iova_domain_create(NULL, &d) == 0);
	CHECK_EQ(iopt_iova_granule(d), 4096);
	iopt_iova_domain_destroy(d);
	iopt_iova_domain_destroy(NULL); /* no-op */
}

static void test_placement(unsigned flags)
{
	struct iopt_iova_domain *d = mk(1, 0, flags | IOPT_IOVA_NO_RCACHE);
	uint64_t pfn = 0, prev;

	TEST("top-down: descending from the limit");
	CHECK_EQ(iopt_iova_alloc(d, 1, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(pfn, LIMIT32);
	for (int i = 0; i < 100; i++) {
		prev = pfn;
		CHECK_EQ(iopt_iova_alloc(d, 1, LIMIT32, 0, &pfn), 0);
		CHECK_EQ(pfn, prev - 1);
	}

	TEST("unaligned sizes pack exactly below the previous block");
	CHECK_EQ(iopt_iova_alloc(d, 3, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(pfn, LIMIT32 - 100 - 3);
	prev = pfn;
	CHECK_EQ(iopt_iova_alloc(d, 5, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(pfn, prev - 5);

	TEST("size alignment: start aligned to roundup_pow_of_two(size)");
	uint64_t sizes[] = { 2, 3, 5, 7, 8, 100, 1024, 1025 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint64_t a = 1;
		while (a < sizes[i])
			a <<= 1;
		CHECK_EQ(iopt_iova_alloc(d, sizes[i], LIMIT32, IOPT_IOVA_ALIGN, &pfn), 0);
		CHECK_EQ(pfn % a, 0);
		CHECK(pfn + sizes[i] - 1 <= LIMIT32);
	}

	TEST("64-bit limit goes high, keeping 32-bit space free");
	CHECK_EQ(iopt_iova_alloc(d, 16, (1ull << 36) - 1, IOPT_IOVA_ALIGN, &pfn), 0);
	CHECK_EQ(pfn, (1ull << 36) - 16);
	iopt_iova_domain_destroy(d);
}

static void test_limits(void)
{
	struct iopt_iova_domain *d = mk(1, 100, IOPT_IOVA_NO_RCACHE);
	uint64_t pfn = 0;

	TEST("limit == start_pfn: one granule fits, two do not");
	CHECK_EQ(iopt_iova_alloc(d, 1, 1, 0, &pfn), 0);
	CHECK_EQ(pfn, 1);
	CHECK_EQ(iopt_iova_alloc(d, 1, 1, 0, &pfn), -ENOMEM);
	CHECK_EQ(iopt_iova_alloc(d, 2, 2, 0, &pfn), -ENOMEM);

	TEST("a block that does not fit below a low limit fits below a higher one");
	CHECK_EQ(iopt_iova_alloc(d, 50, 40, 0, &pfn), -ENOMEM);
	CHECK_EQ(iopt_iova_alloc(d, 50, 100, 0, &pfn), 0);
	CHECK_EQ(pfn, 51);

	TEST("limit above the space is clamped to end_pfn");
	CHECK_EQ(iopt_iova_alloc(d, 1, UINT64_MAX, 0, &pfn), 0);
	CHECK_EQ(pfn, 50);

	TEST("the whole space: exact fill, then -ENOMEM");
	iopt_iova_domain_destroy(d);
	d = mk(1, 100, IOPT_IOVA_NO_RCACHE);
	CHECK_EQ(iopt_iova_alloc(d, 100, 100, 0, &pfn), 0);
	CHECK_EQ(pfn, 1);
	CHECK_EQ(iopt_iova_alloc(d, 1, 100, 0, &pfn), -ENOMEM);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);

	/* The tree keeps the path to the last placed range for its free (the finger). */
	TEST("a failed allocation between an allocation and its free");
	d = mk(1, 1000, IOPT_IOVA_NO_RCACHE);
	for (int i = 0; i < 200; i++) /* several leaves, so the search descends */
		CHECK_EQ(iopt_iova_alloc(d, 1, 1000, 0, &pfn), 0);
	uint64_t a;
	CHECK_EQ(iopt_iova_alloc(d, 3, 1000, 0, &a), 0);
	CHECK_EQ(iopt_iova_alloc(d, 900, 1000, 0, &pfn), -ENOMEM);
	CHECK_EQ(iopt_iova_free(d, a, 3), 0);
	CHECK_EQ(iopt_iova_free(d, a, 3), -ENOENT);
	CHECK_EQ(iopt_iova_check(d), 0);
	CHECK_EQ(iopt_iova_alloc(d, 3, 1000, 0, &pfn), 0);
	CHECK_EQ(pfn, a);
	iopt_iova_domain_destroy(d);
}

static void test_bad_alloc_free(void)
{
	struct iopt_iova_domain *d = mk(16, 1000, 0);
	uint64_t pfn = 0xdead, live;

	REQUIRE(iopt_iova_alloc(d, 1, 900, 0, &live) == 0); /* room above: wrong sizes stay in range */
	uint64_t nodes = stats(d).tree_nodes;

	TEST("bad allocs: errno and pfn_out untouched");
	CHECK_EQ(iopt_iova_alloc(d, 0, 1000, 0, &pfn), -EINVAL);
	CHECK_EQ(iopt_iova_alloc(d, 1, 1000, 0x100, &pfn), -EINVAL);
	CHECK_EQ(iopt_iova_alloc(d, 1, 15, 0, &pfn), -EINVAL); /* limit below start_pfn */
	CHECK_EQ(iopt_iova_alloc(d, 986, 1000, 0, &pfn), -ERANGE); /* space is 985 pfns */
	CHECK_EQ(iopt_iova_alloc(d, UINT64_MAX, 1000, 0, &pfn), -ERANGE);
	CHECK_EQ(pfn, 0xdead);

	TEST("bad frees: errno, nothing changed");
	CHECK_EQ(iopt_iova_free(d, live, 0), -EINVAL);
	CHECK_EQ(iopt_iova_free(d, 5, 1), -ERANGE);
	CHECK_EQ(iopt_iova_free(d, 1001, 1), -ERANGE);
	CHECK_EQ(iopt_iova_free(d, 999, 8), -ERANGE);  /* runs past end_pfn */
	CHECK_EQ(iopt_iova_free(d, 1000, 2), -ERANGE);
	CHECK_EQ(iopt_iova_free(d, 500, 1), -ENOENT);     /* never allocated */
	CHECK_EQ(iopt_iova_free(d, live, 2), -ENOENT);    /* wrong class */
	CHECK_EQ(iopt_iova_free(d, live, 40), -ENOENT);   /* wrong size, tree path */
	CHECK_EQ(stats(d).tree_nodes, nodes);
	CHECK_EQ(iopt_iova_check(d), 0);
	CHECK_EQ(iopt_iova_find(d, live, NULL, NULL, NULL), 0);

	TEST("double free, cached size and tree size");
	CHECK_EQ(iopt_iova_free(d, live, 1), 0);
	CHECK_EQ(iopt_iova_free(d, live, 1), -ENOENT);
	REQUIRE(iopt_iova_alloc(d, 40, 1000, 0, &live) == 0);
	CHECK_EQ(iopt_iova_free(d, live, 40), 0);
	CHECK_EQ(iopt_iova_free(d, live, 40), -ENOENT);
	iopt_iova_domain_destroy(d);

	TEST("double free without a cache");
	d = mk(1, 1000, IOPT_IOVA_NO_RCACHE);
	REQUIRE(iopt_iova_alloc(d, 3, 900, 0, &live) == 0);
	CHECK_EQ(iopt_iova_free(d, live, 4), -ENOENT); /* no rounding without a cache */
	CHECK_EQ(iopt_iova_free(d, live, 3), 0);
	CHECK_EQ(iopt_iova_free(d, live, 3), -ENOENT);
	CHECK_EQ(stats(d).tree_nodes, 0);
	iopt_iova_domain_destroy(d);
}

static void test_reserve(void)
{
	struct iopt_iova_domain *d = mk(1, 256, IOPT_IOVA_NO_RCACHE);
	uint64_t lo, hi, pfn;
	bool rsv;

	TEST("reserve: hi < lo is -EINVAL; outside the space is a no-op");
	CHECK_EQ(iopt_iova_reserve(d, 10, 9), -EINVAL);
	CHECK_EQ(iopt_iova_reserve(d, 1000, 2000), 0);
	CHECK_EQ(stats(d).reserved_nodes, 0);

	TEST("overlapping and touching reservations merge");
	CHECK_EQ(iopt_iova_reserve(d, 100, 110), 0);
	CHECK_EQ(iopt_iova_reserve(d, 105, 120), 0);
	CHECK_EQ(iopt_iova_reserve(d, 121, 125), 0); /* touches */
	CHECK_EQ(iopt_iova_reserve(d, 90, 99), 0);   /* touches below */
	CHECK_EQ(stats(d).reserved_nodes, 1);
	CHECK_EQ(iopt_iova_find(d, 110, &lo, &hi, &rsv), 0);
	CHECK_EQ(lo, 90);
	CHECK_EQ(hi, 125);
	CHECK(rsv);
	CHECK_EQ(iopt_iova_reserve(d, 95, 96), 0); /* inside: still one */
	CHECK_EQ(stats(d).reserved_nodes, 1);

	TEST("a reservation partly outside the space is clipped");
	CHECK_EQ(iopt_iova_reserve(d, 250, 300), 0);
	CHECK_EQ(iopt_iova_find(d, 256, &lo, &hi, &rsv), 0);
	CHECK_EQ(lo, 250);
	CHECK_EQ(hi, 256);

	TEST("reserved pfns are never handed out; freeing one is -ENOENT");
	unsigned n = 0, hit = 0;
	while (iopt_iova_alloc(d, 1, 256, 0, &pfn) == 0) {
		n++;
		hit += (pfn >= 90 && pfn <= 125) || pfn >= 250;
	}
	CHECK_EQ(n, 256 - 36 - 7);
	CHECK_EQ(hit, 0);
	CHECK_EQ(iopt_iova_free(d, 90, 36), -ENOENT);

	TEST("reserve over a live allocation: -EBUSY, nothing reserved");
	uint64_t before = stats(d).reserved_nodes;
	CHECK_EQ(iopt_iova_reserve(d, 10, 20), -EBUSY);
	CHECK_EQ(iopt_iova_reserve(d, 126, 126), -EBUSY);
	CHECK_EQ(stats(d).reserved_nodes, before);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);

	TEST("reserve over a range freed into the cache flushes it and succeeds");
	d = mk(1, 1000, 0);
	REQUIRE(iopt_iova_alloc(d, 4, 1000, 0, &pfn) == 0);
	REQUIRE(iopt_iova_free(d, pfn, 4) == 0);
	CHECK_EQ(iopt_iova_reserve(d, pfn, pfn + 3), 0);
	CHECK_EQ(iopt_iova_find(d, pfn, &lo, &hi, &rsv), 0);
	CHECK(rsv);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);
}

static void test_find(void)
{
	struct iopt_iova_domain *d = mk(1, 1000, 0);
	uint64_t pfn, big, lo = 0, hi = 0;
	bool rsv = true;

	TEST("find: the containing range, its bounds and kind");
	REQUIRE(iopt_iova_alloc(d, 3, 1000, 0, &pfn) == 0); /* rounded to 4 */
	REQUIRE(iopt_iova_alloc(d, 100, 1000, 0, &big) == 0);
	CHECK_EQ(iopt_iova_find(d, pfn + 3, &lo, &hi, &rsv), 0);
	CHECK_EQ(lo, pfn);
	CHECK_EQ(hi, pfn + 3);
	CHECK(!rsv);
	CHECK_EQ(iopt_iova_find(d, big + 50, &lo, &hi, NULL), 0);
	CHECK_EQ(hi - lo + 1, 100);
	CHECK_EQ(iopt_iova_find(d, 2, NULL, NULL, NULL), -ENOENT);
	CHECK_EQ(iopt_iova_find(d, 5000, NULL, NULL, NULL), -ENOENT);

	TEST("find: a range sitting freed in the cache is free");
	CHECK_EQ(iopt_iova_free(d, pfn, 3), 0);
	CHECK_EQ(iopt_iova_find(d, pfn, NULL, NULL, NULL), -ENOENT);
	iopt_iova_domain_destroy(d);
}

/* free_check answers exactly what iopt_iova_free would do, and changes nothing. */
static void test_free_check(unsigned flags)
{
	struct iopt_iova_domain *d = mk(1, 4000, flags);
	uint64_t pfn, big, rsv_lo = 3000;
	bool cached = !(flags & IOPT_IOVA_NO_RCACHE);

	TEST(cached ? "free_check: rcache domain" : "free_check: NO_RCACHE domain");
	REQUIRE(iopt_iova_alloc(d, 3, 4000, 0, &pfn) == 0);
	REQUIRE(iopt_iova_alloc(d, 100, 4000, 0, &big) == 0);
	REQUIRE(iopt_iova_reserve(d, rsv_lo, rsv_lo + 9) == 0);
	CHECK_EQ(iopt_iova_free_check(d, pfn, 3), 0);
	/* rcache: 3 was rounded to 4, and any size of class 4 frees it */
	CHECK_EQ(iopt_iova_free_check(d, pfn, 4), cached ? 0 : -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, pfn, 2), -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, pfn, 0), -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, pfn, 200), -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, pfn + 1, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free_check(d, big, 100), 0);
	CHECK_EQ(iopt_iova_free_check(d, big, 99), -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, big, 4), -EINVAL);
	CHECK_EQ(iopt_iova_free_check(d, big + 1, 99), -ENOENT);
	CHECK_EQ(iopt_iova_free_check(d, rsv_lo, 10), -ENOENT);
	CHECK_EQ(iopt_iova_free_check(d, 2, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free_check(d, 1ull << 40, 1), -ENOENT);
	/* each answer agrees with free itself */
	CHECK_EQ(iopt_iova_free(d, big, 99), -ENOENT);
	CHECK_EQ(iopt_iova_free(d, pfn, 3), 0);
	CHECK_EQ(iopt_iova_free(d, big, 100), 0);
	CHECK_EQ(iopt_iova_free_check(d, pfn, 3), -ENOENT); /* freed (maybe cached) */
	CHECK_EQ(iopt_iova_free_check(d, big, 100), -ENOENT);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);
}

/*
 * free_check's fast path reads the calling thread's cache of the domain it
 * used last: asked about another domain, it must not answer from that
 * cache's live map. Two domains with one configuration hand out the same
 * pfn, live in one and freed in the other.
 */
static void test_free_check_two_domains(void)
{
	struct iopt_iova_domain *a = mk(1, 4000, 0), *b = mk(1, 4000, 0);
	uint64_t xa, xb, x;

	TEST("free_check: the last-used cache is another domain's");
	/* a: a slow then a fast free arm its class leaf; x ends freed (cached) in a */
	REQUIRE(iopt_iova_alloc(a, 1, 4000, 0, &xa) == 0);
	REQUIRE(iopt_iova_free(a, xa, 1) == 0);
	REQUIRE(iopt_iova_alloc(a, 1, 4000, 0, &x) == 0 && x == xa);
	CHECK_EQ(iopt_iova_free_check(a, xa, 1), 0); /* fast path, live */
	REQUIRE(iopt_iova_free(a, xa, 1) == 0);
	/* b: the same pfn, live; b's cache is the thread's last */
	REQUIRE(iopt_iova_alloc(b, 1, 4000, 0, &xb) == 0);
	REQUIRE(iopt_iova_free(b, xb, 1) == 0);
	REQUIRE(iopt_iova_alloc(b, 1, 4000, 0, &x) == 0 && x == xb);
	REQUIRE(xa == xb);
	CHECK_EQ(iopt_iova_free_check(b, xb, 1), 0);
	CHECK_EQ(iopt_iova_free_check(b, xb, 2), -EINVAL); /* another class */
	CHECK_EQ(iopt_iova_free_check(b, xb - 1, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free_check(a, xa, 1), -ENOENT); /* freed in a, live in b */
	CHECK_EQ(iopt_iova_free(a, xa, 1), -ENOENT);
	/* and the other way round: live in a, freed in b, b's cache last */
	REQUIRE(iopt_iova_alloc(a, 1, 4000, 0, &x) == 0 && x == xa);
	REQUIRE(iopt_iova_free(b, xb, 1) == 0);
	CHECK_EQ(iopt_iova_free_check(a, xa, 1), 0);
	CHECK_EQ(iopt_iova_free_check(b, xb, 1), -ENOENT);
	CHECK_EQ(iopt_iova_free(a, xa, 1), 0);
	CHECK_EQ(iopt_iova_check(a), 0);
	CHECK_EQ(iopt_iova_check(b), 0);
	iopt_iova_domain_destroy(a);
	iopt_iova_domain_destroy(b);
}

static void test_rcache(void)
{
	struct iopt_iova_domain *d = mk(1, 0, 0);
	uint64_t pfn, again, high;


	TEST("rcache rounding: size 3 is a 4-aligned 4-granule range; 3 and 4 both free it");
	CHECK_EQ(iopt_iova_alloc(d, 3, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(pfn % 4, 0);
	CHECK_EQ(iopt_iova_free(d, pfn, 4), 0);
	CHECK_EQ(iopt_iova_alloc(d, 3, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(iopt_iova_free(d, pfn, 3), 0);

	TEST("a freed range is reused from the cache: a hit");
	uint64_t hits = stats(d).cache_hits;
	CHECK_EQ(iopt_iova_alloc(d, 8, LIMIT32, 0, &pfn), 0);
	CHECK_EQ(iopt_iova_free(d, pfn, 8), 0);
	CHECK_EQ(iopt_iova_alloc(d, 8, LIMIT32, 0, &again), 0);
	CHECK_EQ(again, pfn);
	CHECK(stats(d).cache_hits > hits);
	CHECK_EQ(iopt_iova_free(d, again, 8), 0);

	TEST("a cached range above the caller's limit is not returned");
	CHECK_EQ(iopt_iova_alloc(d, 1, (1ull << 40) - 1, 0, &high), 0);
	CHECK(high > LIMIT32);
	CHECK_EQ(iopt_iova_free(d, high, 1), 0); /* now on top of this thread's magazine */
	unsigned above = 0;
	uint64_t low[200];
	for (int i = 0; i < 200; i++) {
		CHECK_EQ(iopt_iova_alloc(d, 1, LIMIT32, 0, &low[i]), 0);
		above += low[i] > LIMIT32;
	}
	CHECK_EQ(above, 0);
	CHECK_EQ(iopt_iova_find(d, high, NULL, NULL, NULL), -ENOENT); /* still cached, not handed out */
	for (int i = 0; i < 200; i++)
		CHECK_EQ(iopt_iova_free(d, low[i], 1), 0);

	TEST("sizes above 32 bypass the cache and are not rounded");
	CHECK_EQ(iopt_iova_alloc(d, 33, LIMIT32, 0, &pfn), 0);
	uint64_t lo, hi;
	CHECK_EQ(iopt_iova_find(d, pfn, &lo, &hi, NULL), 0);
	CHECK_EQ(hi - lo + 1, 33);
	CHECK_EQ(iopt_iova_free(d, pfn, 33), 0);
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);
}

static void test_flush_from_another_thread(void)
{
	struct iopt_iova_domain *d = mk(1, 0, 0);
	uint64_t a[40], b[40];

	TEST("after another thread flushes this thread's cache, no flushed range comes back from it");
	for (int i = 0; i < 40; i++) {
		REQUIRE(iopt_iova_alloc(d, 1, LIMIT32, 0, &a[i]) == 0);
		REQUIRE(iopt_iova_alloc(d, 2, LIMIT32, 0, &b[i]) == 0);
	}
	for (int i = 0; i < 40; i++) {
		REQUIRE(iopt_iova_free(d, a[i], 1) == 0);
		REQUIRE(iopt_iova_free(d, b[i], 2) == 0);
	}
	CHECK(stats(d).cache_pfns >= 80);
	flush_all_elsewhere(d);
	/* The first call turns the cache back on; the other class must not pop what the flush took. */
	unsigned stale = 0;
	for (int i = 0; i < 40; i++) {
		REQUIRE(iopt_iova_alloc(d, 1, LIMIT32, 0, &a[i]) == 0);
		REQUIRE(iopt_iova_alloc(d, 2, LIMIT32, 0, &b[i]) == 0);
		stale += iopt_iova_find(d, a[i], NULL, NULL, NULL) != 0;
		stale += iopt_iova_find(d, b[i], NULL, NULL, NULL) != 0;
	}
	CHECK_EQ(stale, 0);
	CHECK_EQ(stats(d).tree_nodes, 80 + stats(d).cache_pfns);
	CHECK_EQ(iopt_iova_check(d), 0);
	for (int i = 0; i < 40; i++) {
		CHECK_EQ(iopt_iova_free(d, a[i], 1), 0);
		CHECK_EQ(iopt_iova_free(d, b[i], 2), 0);
	}
	iopt_iova_domain_destroy(d);
}

static void test_live_map_leaves(void)
{
	struct iopt_iova_domain *d = mk(1, 0, 0);
	uint64_t a, b, c, again;

	/* The free fast path keeps one live-map leaf (65536 granules) per class. */
	TEST("frees alternating between two live-map leaves: each refused twice, sizes checked");
	CHECK_EQ(iopt_iova_alloc(d, 1, LIMIT32, 0, &a), 0);
	CHECK_EQ(iopt_iova_alloc(d, 1, 0xEFFFF, 0, &b), 0);
	CHECK_EQ(iopt_iova_alloc(d, 2, 0xDFFFF, 0, &c), 0);
	CHECK(a >> 16 != b >> 16 && b >> 16 != c >> 16);
	for (int round = 0; round < 3; round++) {
		CHECK_EQ(iopt_iova_free(d, a, 1), 0);
		CHECK_EQ(iopt_iova_free(d, b, 1), 0);
		CHECK_EQ(iopt_iova_free(d, c, 1), -ENOENT); /* class 1, not 0 */
		CHECK_EQ(iopt_iova_free(d, a, 1), -ENOENT);
		CHECK_EQ(iopt_iova_free(d, b, 1), -ENOENT);
		CHECK_EQ(iopt_iova_free(d, c, 2), 0);
		CHECK_EQ(iopt_iova_free(d, c, 2), -ENOENT);
		CHECK_EQ(iopt_iova_alloc(d, 2, 0xDFFFF, 0, &again), 0);
		CHECK_EQ(again, c);
		CHECK_EQ(iopt_iova_alloc(d, 1, 0xEFFFF, 0, &again), 0);
		CHECK_EQ(again, b);
		CHECK_EQ(iopt_iova_alloc(d, 1, LIMIT32, 0, &again), 0);
		CHECK_EQ(again, a);
	}
	CHECK_EQ(iopt_iova_check(d), 0);
	iopt_iova_domain_destroy(d);
}

static void test_exhaustion_retry(void)
{
	struct iopt_iova_domain *d = mk(1, 64, 0);
	uint64_t pfn[64], big;

	TEST("exhaustion: caches are flushed to the tree and the search retried");
	for (int i = 0; i < 64; i++)
		REQUIRE(iopt_iova_alloc(d, 1, 64, 0, &pfn[i]) == 0);
	for (int i = 0; i < 64; i++)
		REQUIRE(iopt_iova_free(d, pfn[i], 1) == 0);
	CHECK_EQ(stats(d).cache_pfns, 64);
	uint64_t flushes = stats(d).flushes;
	CHECK_EQ(iopt_iova_alloc(d, 64, 64, IOPT_IOVA_NO_RETRY, &big), -ENOMEM);
	CHECK_EQ(stats(d).flushes, flushes);
	CHECK_EQ(iopt_iova_alloc(d, 64, 64, 0, &big), 0);
	CHECK_EQ(big, 1);
	CHECK_EQ(stats(d).flushes, flushes + 1);
	CHECK_EQ(stats(d).cache_pfns, 0);
	CHECK_EQ(iopt_iova_free(d, big, 64), 0);
	CHECK_EQ(stats(d).tree_nodes, 0);
	iopt_iova_domain_destroy(d);
}

struct thread_job {
	struct iopt_iova_domain *d;
	unsigned n;
	int errors;
};

static void *churn_and_exit(void *arg)
{
	struct thread_job *j = arg;
	uint64_t pfn[600];
	for (unsigned i = 0; i < j->n; i++)
		j->errors += iopt_iova_alloc(j->d, 1, UINT64_MAX, 0, &pfn[i]) != 0;
	for (unsigned i = 0; i < j->n; i++)
		j->errors += iopt_iova_free(j->d, pfn[i], 1) != 0;
	return NULL; /* the thread's magazines must flow back now */
}

static void test_thread_exit(void)
{
	struct iopt_iova_domain *d = mk(1, 600, 0);
	struct thread_job j = { d, 600, 0 };
	pthread_t th;
	uint64_t pfn;

	TEST("thread exit: its cached ranges go back to the domain");
	pthread_create(&th, NULL, churn_and_exit, &j);
	pthread_join(th, NULL);
	CHECK_EQ(j.errors, 0);
	struct iopt_iova_stats st = stats(d);
	/* Full magazines went to the depot (their ranges stay tree nodes); the rest was freed. */
	CHECK(st.depot_mags >= 1);
	CHECK_EQ(st.cache_pfns, st.depot_mags * 127);
	CHECK_EQ(st.tree_nodes, st.cache_pfns);
	/* Everything of the space is usable from this thread: partial magazines went to the tree. */
	CHECK_EQ(iopt_iova_alloc(d, 600, 600, 0, &pfn), 0);
	CHECK_EQ(pfn, 1);
	CHECK_EQ(stats(d).cache_pfns, 0);
	iopt_iova_domain_destroy(d);
}

static void test_reclaim(void)
{
	struct iopt_iova_domain *d = mk(1, 0, 0);
	uint64_t pfn[1024];

	TEST("idle depot magazines go back to the tree on reclaim");
	for (int i = 0; i < 1024; i++)
		REQUIRE(iopt_iova_alloc(d, 1, LIMIT32, 0, &pfn[i]) == 0);
	for (int i = 0; i < 1024; i++)
		REQUIRE(iopt_iova_free(d, pfn[i], 1) == 0);
	uint64_t mags = stats(d).depot_mags;
	CHECK(mags >= 4); /* 1024 frees overflow the two per-thread magazines */
	(void)iopt_iova_cache_reclaim(d);             /* starts an observation window */
	unsigned back = iopt_iova_cache_reclaim(d);   /* nothing used the depot meanwhile */
	CHECK_EQ(back, mags);
	CHECK_EQ(stats(d).depot_mags, 0);
	CHECK_EQ(stats(d).tree_nodes, 1024 - mags * 127);
	CHECK_EQ(iopt_iova_check(d), 0);

	TEST("stats: nodes, bytes");
	struct iopt_iova_stats st = stats(d);
	CHECK(st.bytes_used > 0);
	CHECK_EQ(st.reserved_nodes, 0);
	printf("# %llu nodes, %llu bytes in use\n", (unsigned long long)st.tree_nodes,
	       (unsigned long long)st.bytes_used);
	iopt_iova_domain_destroy(d);
}

static void *use_and_park(void *arg)
{
	struct thread_job *j = arg;
	uint64_t pfn;
	for (unsigned i = 0; i < j->n; i++)
		if (!iopt_iova_alloc(j->d, 2, UINT64_MAX, 0, &pfn))
			j->errors += iopt_iova_free(j->d, pfn, 2) != 0;
	return NULL;
}

static void test_destroy_with_caches(void)
{
	struct iopt_iova_domain *d = mk(1, 0, 0), *d2;
	struct thread_job j = { d, 300, 0 };
	pthread_t th;
	uint64_t pfn;

	TEST("destroy while another thread still holds a cache of the domain");
	pthread_create(&th, NULL, use_and_park, &j);
	pthread_join(th, NULL);
	CHECK_EQ(iopt_iova_alloc(d, 2, UINT64_MAX, 0, &pfn), 0); /* this thread's cache too */
	iopt_iova_domain_destroy(d); /* live allocation and caches are forgotten */
	d2 = mk(1, 0, 0);            /* may reuse the address: orphaned caches must not match */
	CHECK_EQ(iopt_iova_alloc(d2, 2, UINT64_MAX, 0, &pfn), 0);
	CHECK_EQ(iopt_iova_free(d2, pfn, 2), 0);
	CHECK_EQ(iopt_iova_check(d2), 0);
	CHECK_EQ(j.errors, 0);
	iopt_iova_domain_destroy(d2);
}

/*
 * A representative workload under allocation failure. Every step either
 * succeeds or returns -ENOMEM having changed nothing (same tree, same
 * answers); the run then carries on. Returns the number of broken rules.
 */
static unsigned faulty_workload(void)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *d = (void *)0x1;
	uint64_t pfn[300], size[300];
	unsigned bad = 0, n = 0;

	iopt_iova_config_init(&cfg);
	int r = iopt_iova_domain_create(&cfg, &d);
	if (r)
		return (r != -ENOMEM) + (d != (void *)0x1); /* nothing to undo */

	for (int step = 0; step < 2; step++) {
		uint64_t before = stats(d).tree_nodes;
		r = iopt_iova_reserve(d, 0xFEE00, 0xFEEFF);
		if (r && (r != -ENOMEM || stats(d).tree_nodes != before))
			bad++;
	}
	/* Enough ranges to split tree nodes, create this thread's cache, fill magazines and leaves. */
	for (int i = 0; i < 300; i++) {
		uint64_t before = stats(d).tree_nodes, p = 0xdead, sz = 1 + (uint64_t)(i * 7) % 64;
		r = iopt_iova_alloc(d, sz, LIMIT32, IOPT_IOVA_ALIGN, &p);
		if (r) {
			bad += r != -ENOMEM || p != 0xdead || stats(d).tree_nodes != before;
			continue;
		}
		bad += iopt_iova_find(d, p, NULL, NULL, NULL) != 0;
		pfn[n] = p;
		size[n++] = sz;
	}
	bad += iopt_iova_check(d) != 0;
	for (unsigned i = 0; i < n; i += 2)
		bad += iopt_iova_free(d, pfn[i], size[i]) != 0; /* frees never need memory to succeed */
	for (unsigned i = 1; i < n; i += 2)
		bad += iopt_iova_free(d, pfn[i], size[i]) != 0;
	iopt_iova_cache_flush(d);
	struct iopt_iova_stats st = stats(d);
	bad += st.tree_nodes != st.reserved_nodes || st.cache_pfns != 0 || iopt_iova_check(d) != 0;
	iopt_iova_domain_destroy(d);
	return bad;
}

/* The workload in its own thread: its IOVA cache goes at thread exit. */
static void *faulty_thread(void *bad)
{
	*(unsigned *)bad += faulty_workload();
	return NULL;
}

static void test_fault_injection(void)
{
	/* What earlier tests left: this thread's caches of destroyed domains. */
	int64_t base = iopt_fault_live_allocs();

	for (int persistent = 0; persistent < 2; persistent++) {
		unsigned runs = 0, bad = 0;
		TEST(persistent ? "persistent allocation failure at every N" : "allocation failure at every N");
		for (uint64_t nth = 1;; nth++) {
			pthread_t t;
			iopt_fault_inject(nth, persistent);
			REQUIRE(pthread_create(&t, NULL, faulty_thread, &bad) == 0);
			pthread_join(t, NULL);
			runs++;
			uint64_t hit = iopt_fault_inject(0, false);
			/* Everything destroyed, the thread gone: no host memory held. */
			bad += iopt_fault_live_allocs() != base;
			if (!hit)
				break; /* the run made fewer than nth allocations: every site was hit */
			if (nth > 100000)
				break;
		}
		printf("# %u runs\n", runs);
		CHECK(runs > 10); /* the workload does allocate: domain, tree, cache, magazines, leaves */
		CHECK_EQ(bad, 0);
	}
}

int main(void)
{
	test_config();
	test_placement(0);
	test_limits();
	test_bad_alloc_free();
	test_reserve();
	test_find();
	test_free_check(0);
	test_free_check(IOPT_IOVA_NO_RCACHE);
	test_free_check_two_domains();
	test_rcache();
	test_flush_from_another_thread();
	test_live_map_leaves();
	test_exhaustion_retry();
	test_thread_exit();
	test_reclaim();
	test_destroy_with_caches();
	test_fault_injection();
	return tap_done();
}
