/* SPDX-License-Identifier: MIT */
/*
 * Randomized model-based test of the IOVA allocator. Several seeds, each a
 * long random sequence of alloc (sizes 1..64, random ALIGN, random limit),
 * free (right size, class-equivalent size, wrong size, already freed,
 * random pfn, outside the domain), reserve (random small ranges, some
 * partly outside the space), find (random pfns) and, in rcache domains,
 * cache flush, against a reference model: one owner slot per pfn of a small
 * space. Both NO_RCACHE and rcache domains.
 *
 * After every op: an allocation is free in the model, within
 * [start_pfn, limit], aligned when it must be (ALIGN, or a cached size in an
 * rcache domain), never in a reserved range; NO_RCACHE placements (and, in
 * rcache domains, the first tree allocation after a flush) are exactly the
 * highest fitting block for power-of-two or unaligned requests; -ENOMEM only
 * when the model has no fitting block (for non-power-of-two aligned requests:
 * no free aligned block of the next power of two); free/reserve return codes
 * match the model; find() matches the model. Periodically: iopt_iova_check()
 * and the accounting tree_nodes == live + cached + reserved runs.
 */
#include <string.h>

#include <iopt/iova.h>

#include "tap.h"

#define MAXSPACE 65536
#define RES_ID 0xFFFFFFFFu

struct live {
	uint64_t pfn, req, held; /* held: what the allocator keeps (rounded in rcache domains) */
	bool used;
};

struct model {
	struct iopt_iova_domain *d;
	uint64_t start, end;
	bool rcache;
	uint32_t own[MAXSPACE + 1]; /* 0 free, RES_ID reserved, else live slot + 1 */
	struct live *lv;
	uint32_t nlv, cap, nlive;
	uint32_t *freelist;
	uint32_t nfree;
	/* recently freed (pfn, size) for double frees */
	uint64_t gone[64][2];
	unsigned ngone;
	unsigned long exact_checked; /* rcache: allocations made with every cache empty */
	/* diagnostics */
	unsigned fails;
	unsigned long ops, allocs, nomem, frees, badfrees, reserves, busy, finds;
	uint64_t seed0;
};

static struct model M;

#define FAIL(m, ...)                                                                           \
	do {                                                                                   \
		if ((m)->fails++ < 5) {                                                        \
			printf("# seed %#" PRIx64 " %s op %lu: ", (m)->seed0,                  \
			       (m)->rcache ? "rcache" : "NO_RCACHE", (m)->ops);                \
			printf(__VA_ARGS__);                                                   \
			printf("\n");                                                          \
		}                                                                              \
	} while (0)

static uint64_t p2(uint64_t x)
{
	uint64_t p = 1;

	while (p < x)
		p <<= 1;
	return p;
}

/* Size class equivalence in an rcache domain; exact size otherwise. */
static bool same_class(const struct model *m, uint64_t held, uint64_t size)
{
	if (!m->rcache || held > IOPT_IOVA_CACHE_MAX_SIZE)
		return size == held;
	return size <= IOPT_IOVA_CACHE_MAX_SIZE && p2(size) == held;
}

static bool range_free(const struct model *m, uint64_t lo, uint64_t size)
{
	for (uint64_t p = lo; p < lo + size; p++)
		if (m->own[p])
			return false;
	return true;
}

/* Highest start s >= start, s % align == 0, s + size - 1 <= limit, all free; 0 if none. */
static uint64_t model_highest(const struct model *m, uint64_t size, uint64_t align, uint64_t limit)
{
	uint64_t run = 0;

	if (limit > m->end)
		limit = m->end;
	for (uint64_t p = limit + 1; p-- > m->start;) {
		run = m->own[p] ? 0 : run + 1;
		if (run >= size && p % align == 0)
			return p;
	}
	return 0;
}

static void model_take(struct model *m, uint64_t pfn, uint64_t req, uint64_t held)
{
	uint32_t slot;

	if (m->nfree) {
		slot = m->freelist[--m->nfree];
	} else {
		if (m->nlv == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 1024;
			m->lv = realloc(m->lv, m->cap * sizeof(*m->lv));
			m->freelist = realloc(m->freelist, m->cap * sizeof(*m->freelist));
			REQUIRE(m->lv && m->freelist);
		}
		slot = m->nlv++;
	}
	m->lv[slot] = (struct live){ pfn, req, held, true };
	for (uint64_t p = pfn; p < pfn + held; p++)
		m->own[p] = slot + 1;
	m->nlive++;
}

static void model_drop(struct model *m, uint32_t slot)
{
	struct live *l = &m->lv[slot];

	for (uint64_t p = l->pfn; p < l->pfn + l->held; p++)
		m->own[p] = 0;
	l->used = false;
	m->freelist[m->nfree++] = slot;
	m->nlive--;
	m->gone[m->ngone % 64][0] = l->pfn;
	m->gone[m->ngone % 64][1] = l->req;
	m->ngone++;
}

static void op_alloc(struct model *m, uint64_t *seed)
{
	uint64_t r = test_xrand(seed);
	uint64_t size = 1 + r % 64;
	unsigned flags = (r >> 8) & 1 ? IOPT_IOVA_ALIGN : 0;
	uint64_t limit;

	switch ((r >> 12) % 4) {
	case 0:
		limit = m->end;
		break;
	case 1:
		limit = UINT64_MAX;
		break;
	default:
		limit = m->start + (r >> 20) % (m->end - m->start + 1);
	}
	bool cached = m->rcache && size <= IOPT_IOVA_CACHE_MAX_SIZE;
	uint64_t held = cached ? p2(size) : size;
	uint64_t align = (cached || flags) ? p2(size) : 1;
	bool exact_ok = !m->rcache;
	if (m->rcache) { /* with every cache empty the tree answers, exactly */
		struct iopt_iova_stats st;
		iopt_iova_stats(m->d, &st);
		exact_ok = st.cache_pfns == 0;
		m->exact_checked += exact_ok;
	}
	bool nonpow2_aligned = align > 1 && held == size && p2(size) != size;
	uint64_t lim = limit > m->end ? m->end : limit;
	uint64_t pfn = 0xABCDEF;
	int rc = iopt_iova_alloc(m->d, size, limit, flags, &pfn);

	m->allocs++;
	if (rc == -ENOMEM) {
		m->nomem++;
		if (pfn != 0xABCDEF)
			FAIL(m, "alloc -ENOMEM changed pfn_out to %#" PRIx64, pfn);
		uint64_t h = nonpow2_aligned ? model_highest(m, p2(size), p2(size), lim)
					     : model_highest(m, held, align, lim);
		if (h)
			FAIL(m, "alloc(%" PRIu64 ", limit %#" PRIx64 ", flags %u) = -ENOMEM but %" PRIu64 " fits",
			     size, limit, flags, h);
		return;
	}
	if (rc) {
		FAIL(m, "alloc(%" PRIu64 ", limit %#" PRIx64 ", flags %u) = %d", size, limit, flags, rc);
		return;
	}
	if (pfn < m->start || pfn > lim || held - 1 > lim - pfn) {
		FAIL(m, "alloc(%" PRIu64 ", limit %#" PRIx64 ", flags %u) = %" PRIu64 " out of bounds", size,
		     limit, flags, pfn);
		return;
	}
	if (pfn % align) {
		FAIL(m, "alloc(%" PRIu64 ", limit %#" PRIx64 ", flags %u) = %" PRIu64 " misaligned", size,
		     limit, flags, pfn);
		return;
	}
	if (!range_free(m, pfn, held)) {
		uint32_t o = 0;
		for (uint64_t p = pfn; p < pfn + held && !o; p++)
			o = m->own[p];
		FAIL(m, "alloc(%" PRIu64 ", flags %u) = %" PRIu64 " overlaps a %s range", size, flags, pfn,
		     o == RES_ID ? "reserved" : "live");
		return;
	}
	if (exact_ok && !nonpow2_aligned) {
		uint64_t h = model_highest(m, held, align, lim);
		if (h != pfn)
			FAIL(m, "alloc(%" PRIu64 ", limit %#" PRIx64 ", flags %u) = %" PRIu64
				", but the highest fit is %" PRIu64, size, limit, flags, pfn, h);
	}
	model_take(m, pfn, size, held);
}

static void op_free(struct model *m, uint64_t *seed)
{
	uint64_t r = test_xrand(seed), pfn, size;
	int want;
	uint32_t slot = 0;
	unsigned kind = (unsigned)(r % 16);

	if (kind < 11 && m->nlive) {
		/* a live range: right size, or a size of the same class */
		do
			slot = (uint32_t)(test_xrand(seed) % m->nlv);
		while (!m->lv[slot].used);
		pfn = m->lv[slot].pfn;
		size = m->lv[slot].req;
		if (kind >= 7 && m->lv[slot].held <= IOPT_IOVA_CACHE_MAX_SIZE && m->rcache)
			size = m->lv[slot].held / 2 + 1 + (r >> 8) % (m->lv[slot].held / 2 + (m->lv[slot].held == 1));
		else if (kind == 10) /* a wrong size */
			size = 1 + (r >> 8) % 64;
	} else if (kind < 13 && m->ngone) {
		/* an already-freed range (double free unless it was reallocated) */
		unsigned i = (unsigned)((r >> 8) % (m->ngone < 64 ? m->ngone : 64));
		pfn = m->gone[i][0];
		size = m->gone[i][1];
	} else if (kind == 15) {
		pfn = (r >> 8) & 1 ? m->end + 1 + (r >> 9) % 1000 : (m->start ? (r >> 9) % m->start : m->end + 1);
		size = 1 + (r >> 20) % 64;
	} else {
		pfn = m->start + (r >> 8) % (m->end - m->start + 1);
		size = 1 + (r >> 30) % 64;
		if (size - 1 > m->end - pfn)
			size = m->end - pfn + 1;
	}

	/* what the model expects */
	if (pfn < m->start || pfn > m->end || size - 1 > m->end - pfn) {
		want = -ERANGE;
	} else {
		uint32_t o = m->own[pfn];
		want = -ENOENT;
		if (o && o != RES_ID && m->lv[o - 1].pfn == pfn && same_class(m, m->lv[o - 1].held, size)) {
			want = 0;
			slot = o - 1;
		}
	}
	int rc = iopt_iova_free(m->d, pfn, size);
	m->frees++;
	if (want)
		m->badfrees++;
	if (rc != want) {
		FAIL(m, "free(%" PRIu64 ", %" PRIu64 ") = %d, want %d", pfn, size, rc, want);
		return;
	}
	if (rc == 0)
		model_drop(m, slot);
}

static void op_reserve(struct model *m, uint64_t *seed)
{
	uint64_t r = test_xrand(seed);
	uint64_t len = 1 + r % 8;
	uint64_t lo = (m->start > 4 ? m->start - 4 : 0) + (r >> 8) % (m->end - m->start + 9);
	uint64_t hi = lo + len - 1;
	int want = 0;

	for (uint64_t p = lo < m->start ? m->start : lo; p <= hi && p <= m->end; p++)
		if (m->own[p] && m->own[p] != RES_ID)
			want = -EBUSY;
	int rc = iopt_iova_reserve(m->d, lo, hi);
	m->reserves++;
	if (want)
		m->busy++;
	if (rc != want) {
		FAIL(m, "reserve(%" PRIu64 ", %" PRIu64 ") = %d, want %d", lo, hi, rc, want);
		return;
	}
	if (rc == 0) {
		for (uint64_t p = lo < m->start ? m->start : lo; p <= hi && p <= m->end; p++)
			m->own[p] = RES_ID;
	}
	/* hi < lo: -EINVAL, nothing changes */
	if (r % 32 == 0) {
		rc = iopt_iova_reserve(m->d, hi + 1, lo);
		if (rc != -EINVAL)
			FAIL(m, "reserve(%" PRIu64 ", %" PRIu64 ") = %d, want -EINVAL", hi + 1, lo, rc);
	}
}

static void op_find(struct model *m, uint64_t *seed)
{
	uint64_t r = test_xrand(seed);
	uint64_t pfn = m->start + r % (m->end - m->start + 1);
	uint64_t lo = 0, hi = 0, wlo, whi;
	bool res = false;
	int rc = iopt_iova_find(m->d, pfn, &lo, &hi, &res);
	uint32_t o = m->own[pfn];

	m->finds++;
	if (!o) {
		if (rc != -ENOENT)
			FAIL(m, "find(%" PRIu64 ") = %d [%" PRIu64 ", %" PRIu64 "], model: free", pfn, rc, lo, hi);
		return;
	}
	if (o == RES_ID) {
		wlo = whi = pfn;
		while (wlo > m->start && m->own[wlo - 1] == RES_ID)
			wlo--;
		while (whi < m->end && m->own[whi + 1] == RES_ID)
			whi++;
	} else {
		wlo = m->lv[o - 1].pfn;
		whi = wlo + m->lv[o - 1].held - 1;
	}
	if (rc != 0 || lo != wlo || hi != whi || res != (o == RES_ID))
		FAIL(m, "find(%" PRIu64 ") = %d [%" PRIu64 ", %" PRIu64 "] res %d, model [%" PRIu64 ", %" PRIu64
			"] res %d", pfn, rc, lo, hi, res, wlo, whi, o == RES_ID);
}

/* Tree invariants and tree_nodes == live + cached + reserved runs. */
static void audit(struct model *m)
{
	struct iopt_iova_stats st;
	uint64_t runs = 0;

	for (uint64_t p = m->start; p <= m->end; p++)
		runs += m->own[p] == RES_ID && (p == m->start || m->own[p - 1] != RES_ID);
	iopt_iova_stats(m->d, &st);
	if (iopt_iova_check(m->d) != 0)
		FAIL(m, "iopt_iova_check failed");
	if (st.tree_nodes != m->nlive + st.cache_pfns + runs || st.reserved_nodes != runs ||
	    (!m->rcache && st.cache_pfns))
		FAIL(m, "tree_nodes %" PRIu64 " (reserved %" PRIu64 ") != live %u + cached %" PRIu64 " + reserved %" PRIu64,
		     st.tree_nodes, st.reserved_nodes, m->nlive, st.cache_pfns, runs);
}

static void run(uint64_t seed, uint64_t start, uint64_t end, bool rcache, unsigned ops)
{
	struct model *m = &M;
	struct iopt_iova_config cfg;

	REQUIRE(end <= MAXSPACE);
	free(m->lv);
	free(m->freelist);
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->rcache = rcache;
	m->seed0 = seed;
	iopt_iova_config_init(&cfg);
	cfg.start_pfn = start;
	cfg.end_pfn = end;
	cfg.flags = rcache ? 0 : IOPT_IOVA_NO_RCACHE;
	REQUIRE(iopt_iova_domain_create(&cfg, &m->d) == 0);

	/* Phases shift the op mix so the space fills up and drains again. */
	for (m->ops = 0; m->ops < ops && m->fails < 5; m->ops++) {
		unsigned phase = (unsigned)(m->ops / 2000) % 3; /* 0 filling, 1 balanced, 2 draining */
		unsigned r = (unsigned)(test_xrand(&seed) % 1000);
		unsigned pa = phase == 0 ? 550 : phase == 1 ? 400 : 120;
		if (r < pa)
			op_alloc(m, &seed);
		else if (r < 850)
			op_free(m, &seed);
		else if (r < 853)
			op_reserve(m, &seed);
		else if (r < 990)
			op_find(m, &seed);
		else if (rcache) {
			iopt_iova_cache_flush(m->d);
			struct iopt_iova_stats st;
			iopt_iova_stats(m->d, &st);
			if (st.cache_pfns || st.depot_mags)
				FAIL(m, "after flush: cache_pfns %" PRIu64 " depot_mags %" PRIu64, st.cache_pfns,
				     st.depot_mags);
		}
		if (m->ops % 97 == 0)
			audit(m);
	}
	audit(m);
	/* drain: free everything, then the whole space (minus reservations) is one free set */
	for (uint32_t i = 0; i < m->nlv; i++)
		if (m->lv[i].used) {
			int rc = iopt_iova_free(m->d, m->lv[i].pfn, m->lv[i].req);
			if (rc)
				FAIL(m, "drain free(%" PRIu64 ", %" PRIu64 ") = %d", m->lv[i].pfn, m->lv[i].req, rc);
			else
				model_drop(m, i);
		}
	iopt_iova_cache_flush(m->d);
	audit(m);
	struct iopt_iova_stats st;
	iopt_iova_stats(m->d, &st);
	if (st.cache_pfns || st.tree_nodes != st.reserved_nodes)
		FAIL(m, "after drain: nodes %" PRIu64 " reserved %" PRIu64 " cached %" PRIu64, st.tree_nodes,
		     st.reserved_nodes, st.cache_pfns);
	/* the largest free run is allocatable as one range, exactly where the model says */
	uint64_t best = 0, bestlo = 0, run = 0;
	for (uint64_t p = end + 1; p-- > start;) {
		run = m->own[p] ? 0 : run + 1;
		if (run > best) {
			best = run;
			bestlo = p;
		}
	}
	if (best > IOPT_IOVA_CACHE_MAX_SIZE) {
		uint64_t pfn = 0;
		int rc = iopt_iova_alloc(m->d, best, end, IOPT_IOVA_NO_RETRY, &pfn);
		if (rc || pfn != bestlo)
			FAIL(m, "largest run %" PRIu64 " at %" PRIu64 ": alloc = %d pfn %" PRIu64, best, bestlo, rc, pfn);
	}
	printf("# seed %#" PRIx64 " %s [%" PRIu64 ", %" PRIu64 "]: %lu allocs (%lu -ENOMEM), %lu frees "
	       "(%lu rejected), %lu reserves (%lu -EBUSY), %lu finds, %lu exact-checked\n",
	       m->seed0, rcache ? "rcache" : "NO_RCACHE", start, end, m->allocs, m->nomem, m->frees,
	       m->badfrees, m->reserves, m->busy, m->finds, rcache ? m->exact_checked : m->allocs);
	iopt_iova_domain_destroy(m->d);
}

int main(void)
{
	bool ci = getenv("CI") != NULL;
	unsigned ops = ci ? 30000 : 60000;
	static const struct {
		uint64_t start, end;
	} spaces[] = { { 1, 4095 }, { 1, 4095 }, { 7, 2999 }, { 1, 65535 } };

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (unsigned rc = 0; rc < 2; rc++) {
		TEST(rc ? "model: rcache domains" : "model: NO_RCACHE domains");
		for (unsigned i = 0; i < sizeof(spaces) / sizeof(spaces[0]); i++) {
			uint64_t seed = 0x5EED0000ull + i * 0x9E3779B97F4A7C15ull + rc;
			run(seed, spaces[i].start, spaces[i].end, rc != 0, spaces[i].end > 5000 ? ops / 2 : ops);
			CHECK_EQ(M.fails, 0);
			CHECK(M.nomem > 0 || spaces[i].end > 5000); /* exhaustion was exercised */
			CHECK(M.badfrees > 0 && M.busy > 0);
			CHECK(!rc || M.exact_checked > 0);
		}
	}
	free(M.lv);
	free(M.freelist);
	return tap_done();
}
