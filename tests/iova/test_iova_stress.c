/* SPDX-License-Identifier: MIT */
/*
 * Multi-thread stress on one rcache domain: 6 worker threads allocate and
 * free random sizes 1..40 (cached and tree paths) with random limits, each
 * keeping its own live list. A shared per-pfn owner tag array catches any
 * pfn handed out twice (tagged at alloc with an atomic exchange, cleared and
 * verified before free). Workers also look up their own ranges with find().
 * Two workers exit early while the others run (thread-exit flush). A
 * maintenance thread keeps calling iopt_iova_cache_flush,
 * iopt_iova_cache_reclaim, iopt_iova_stats and iopt_iova_check concurrently.
 * At the end every range is freed, the caches flushed, and the domain must
 * be empty: no tree nodes, no cached pfns, check() clean, and the whole space
 * allocatable in one call.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <iopt/iova.h>

#include "tap.h"

#define START 1ull
#define END (1ull << 20)
#define WORKERS 6
#define MAXLIVE 256

static _Atomic unsigned char tag[END + 64];
static struct iopt_iova_domain *dom;
static atomic_int stop;
static atomic_uint errors;       /* wrong answers of any kind */
static atomic_uint overlaps;     /* pfns handed out twice */
static atomic_ulong nomem, allocs;
static _Atomic(char *) first_err; /* first diagnostic */
static unsigned iters;

static void report(const char *fmt, uint64_t a, uint64_t b, uint64_t c)
{
	char *s = malloc(200), *expect = NULL;

	if (!s)
		return;
	snprintf(s, 200, "%s %" PRIu64 " %" PRIu64 " %" PRIu64, fmt, a, b, c);
	if (!atomic_compare_exchange_strong(&first_err, &expect, s))
		free(s);
}

static uint64_t held(uint64_t size)
{
	uint64_t p = 1;

	if (size > IOPT_IOVA_CACHE_MAX_SIZE)
		return size;
	while (p < size)
		p <<= 1;
	return p;
}

struct live {
	uint64_t pfn, size;
};

struct worker {
	unsigned id;
	unsigned iters;
	uint64_t seed;
	struct live live[MAXLIVE];
	unsigned n;
};

static void tag_range(unsigned id, uint64_t pfn, uint64_t size)
{
	for (uint64_t p = pfn; p < pfn + held(size); p++) {
		unsigned char old = atomic_exchange_explicit(&tag[p], (unsigned char)id, memory_order_relaxed);
		if (old) {
			if (atomic_fetch_add(&overlaps, 1) == 0)
				report("pfn handed out twice (pfn, new owner, old owner):", p, id, old);
		}
	}
}

static void untag_range(unsigned id, uint64_t pfn, uint64_t size)
{
	for (uint64_t p = pfn; p < pfn + held(size); p++) {
		unsigned char old = atomic_exchange_explicit(&tag[p], 0, memory_order_relaxed);
		if (old != id) {
			if (atomic_fetch_add(&overlaps, 1) == 0)
				report("tag changed under its owner (pfn, owner, found):", p, id, old);
		}
	}
}

static void w_free(struct worker *w, unsigned i, uint64_t r)
{
	struct live l = w->live[i];
	uint64_t size = l.size;

	/* an rcache domain accepts any size of the same class */
	if (size <= IOPT_IOVA_CACHE_MAX_SIZE && (r & 1))
		size = held(size);
	untag_range(w->id, l.pfn, l.size);
	int rc = iopt_iova_free(dom, l.pfn, size);
	if (rc) {
		atomic_fetch_add(&errors, 1);
		report("free failed (pfn, size, -rc):", l.pfn, size, (uint64_t)-rc);
	}
	w->live[i] = w->live[--w->n];
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	uint64_t seed = w->seed;

	for (unsigned it = 0; it < w->iters; it++) {
		uint64_t r = test_xrand(&seed);
		bool do_alloc = w->n == 0 || (w->n < MAXLIVE && (r % 100) < 52);
		if (do_alloc) {
			uint64_t size = 1 + (r >> 8) % 40;
			uint64_t limit;
			unsigned flags = (r >> 16) & 1 ? IOPT_IOVA_ALIGN : 0;
			switch ((r >> 17) % 10) {
			case 0: case 1: case 2: case 3: case 4:
				limit = END;
				break;
			case 5: case 6: case 7:
				limit = (1ull << 16) + (r >> 24) % (END - (1ull << 16));
				break;
			default:
				limit = 0x3FFF; /* a crowded low window: exhaustion, flush and retry */
			}
			uint64_t pfn = UINT64_MAX;
			int rc = iopt_iova_alloc(dom, size, limit, flags, &pfn);
			atomic_fetch_add_explicit(&allocs, 1, memory_order_relaxed);
			if (rc == -ENOMEM) {
				atomic_fetch_add_explicit(&nomem, 1, memory_order_relaxed);
				if (pfn != UINT64_MAX) {
					atomic_fetch_add(&errors, 1);
					report("-ENOMEM wrote pfn_out (pfn, size, limit):", pfn, size, limit);
				}
				continue;
			}
			uint64_t al = 1; /* ALIGN, and cached sizes always: roundup_pow_of_two(size) */
			if (flags || size <= IOPT_IOVA_CACHE_MAX_SIZE)
				while (al < size)
					al <<= 1;
			if (rc || pfn < START || pfn + held(size) - 1 > limit || pfn % al) {
				atomic_fetch_add(&errors, 1);
				report("bad alloc (pfn, size, limit):", pfn, size, limit);
				continue;
			}
			tag_range(w->id, pfn, size);
			w->live[w->n++] = (struct live){ pfn, size };
		} else {
			unsigned i = (unsigned)((r >> 8) % w->n);
			if ((r >> 40) % 8 == 0) {
				/* look it up while others mutate the tree */
				uint64_t lo = 0, hi = 0;
				bool res = true;
				int rc = iopt_iova_find(dom, w->live[i].pfn + (r >> 50) % held(w->live[i].size), &lo,
							&hi, &res);
				if (rc || lo != w->live[i].pfn || hi != lo + held(w->live[i].size) - 1 || res) {
					atomic_fetch_add(&errors, 1);
					report("find of a live range (pfn, lo, hi):", w->live[i].pfn, lo, hi);
				}
			}
			w_free(w, i, r >> 33);
		}
	}
	while (w->n)
		w_free(w, w->n - 1, 0);
	return NULL;
}

static atomic_ulong m_flush, m_reclaimed, m_checks;

static void *maint_main(void *arg)
{
	(void)arg;
	unsigned k = 0;

	while (!atomic_load(&stop)) {
		struct iopt_iova_stats st;
		unsigned c = k++;
		switch (c % 8 == 0 ? 0 : c % 8 < 4 ? 1 : 2 + c % 2) {
		case 0:
			iopt_iova_cache_flush(dom);
			atomic_fetch_add(&m_flush, 1);
			break;
		case 1:
			atomic_fetch_add(&m_reclaimed, iopt_iova_cache_reclaim(dom));
			break;
		case 2:
			iopt_iova_stats(dom, &st);
			if (st.reserved_nodes != 0 || st.bytes_used == 0) {
				atomic_fetch_add(&errors, 1);
				report("concurrent stats (reserved, bytes, nodes):", st.reserved_nodes, st.bytes_used,
				       st.tree_nodes);
			}
			break;
		default:
			if (c % 32 == 5) {
				int rc = iopt_iova_check(dom);
				atomic_fetch_add(&m_checks, 1);
				if (rc) {
					atomic_fetch_add(&errors, 1);
					report("concurrent iopt_iova_check (-rc, 0, 0):", (uint64_t)-rc, 0, 0);
				}
			}
		}
		sched_yield();
	}
	return NULL;
}

int main(void)
{
	struct iopt_iova_config cfg;
	static struct worker w[WORKERS];
	pthread_t th[WORKERS], mt;

	setvbuf(stdout, NULL, _IOLBF, 0);
	iters = getenv("CI") ? 150000 : 300000;
	iopt_iova_config_init(&cfg);
	cfg.start_pfn = START;
	cfg.end_pfn = END;
	REQUIRE(iopt_iova_domain_create(&cfg, &dom) == 0);

	TEST("6 workers + 1 flush/reclaim/stats/check thread on one rcache domain");
	REQUIRE(pthread_create(&mt, NULL, maint_main, NULL) == 0);
	for (unsigned i = 0; i < WORKERS; i++) {
		w[i].id = i + 1;
		w[i].seed = 0xC0FFEE00ull + i * 0x9E3779B97F4A7C15ull;
		w[i].iters = i >= 4 ? iters / 8 : iters; /* two exit early: thread-exit flush */
		REQUIRE(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
	}
	/* early exiters are joined while the others still run */
	for (unsigned i = WORKERS; i-- > 0;)
		pthread_join(th[i], NULL);
	atomic_store(&stop, 1);
	pthread_join(mt, NULL);

	char *e = atomic_load(&first_err);
	if (e)
		printf("# first error: %s\n", e);
	free(e);
	printf("# %lu allocs (%lu -ENOMEM); maintenance: %lu flushes, %lu magazines reclaimed, %lu checks\n",
	       atomic_load(&allocs), atomic_load(&nomem), atomic_load(&m_flush), atomic_load(&m_reclaimed),
	       atomic_load(&m_checks));
	CHECK_EQ(atomic_load(&overlaps), 0);
	CHECK_EQ(atomic_load(&errors), 0);
	CHECK(atomic_load(&allocs) > (unsigned long)iters);
	CHECK(atomic_load(&m_flush) > 0);
	CHECK(atomic_load(&m_checks) > 0);

	TEST("every worker freed everything: the domain is whole again");
	unsigned left = 0;
	for (uint64_t p = 0; p <= END; p++)
		left += atomic_load(&tag[p]) != 0;
	CHECK_EQ(left, 0);
	struct iopt_iova_stats st;
	iopt_iova_stats(dom, &st);
	printf("# before flush: tree_nodes %" PRIu64 " cache_pfns %" PRIu64 " depot_mags %" PRIu64
	       " hits %" PRIu64 " misses %" PRIu64 " flushes %" PRIu64 "\n",
	       st.tree_nodes, st.cache_pfns, st.depot_mags, st.cache_hits, st.cache_misses, st.flushes);
	CHECK_EQ(st.tree_nodes, st.cache_pfns); /* nothing live: every node is a cached range */
	CHECK(st.cache_hits > 0);
	CHECK(st.cache_misses > 0);
	CHECK_EQ(iopt_iova_check(dom), 0);
	iopt_iova_cache_flush(dom);
	iopt_iova_stats(dom, &st);
	CHECK_EQ(st.tree_nodes, 0);
	CHECK_EQ(st.reserved_nodes, 0);
	CHECK_EQ(st.cache_pfns, 0);
	CHECK_EQ(st.depot_mags, 0);
	CHECK_EQ(iopt_iova_check(dom), 0);
	uint64_t pfn = 0;
	CHECK_EQ(iopt_iova_alloc(dom, END - START + 1, END, IOPT_IOVA_NO_RETRY, &pfn), 0);
	CHECK_EQ(pfn, START);
	CHECK_EQ(iopt_iova_free(dom, START, END - START + 1), 0);
	CHECK_EQ(iopt_iova_check(dom), 0);
	iopt_iova_domain_destroy(dom);
	return tap_done();
}
