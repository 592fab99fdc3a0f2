/* SPDX-License-Identifier: MIT */
/*
 * Model test of the gap tree's internal interface against a per-pfn owner
 * map: random alloc (exact placement checked for align 1, power-of-two
 * aligned requests and aligned requests up to 32 pfns), free (valid and
 * bogus), insert_range, erase, find and first_overlap, alloc/free pairs
 * (the finger's pending insertion dropped, or written first by a lookup),
 * with node-allocation failure injection, and every invariant checked
 * after each operation. A dense small space and a larger one make
 * multi-level trees; drains exercise merges down to one leaf.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <iopt/fault.h>

#include "tap.h"
#include "iova/iova_internal.h"

static uint64_t rs;

static uint64_t rnd(void)
{
	uint64_t x = rs;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rs = x;
	return x * 0x2545F4914F6CDD1Dull;
}

#define START 1
#define MAXR 70000

struct model {
	uint64_t end;
	uint32_t *own;               /* [pfn]: range id + 1, 0 free */
	uint64_t lo[MAXR], hi[MAXR];
	bool res[MAXR];
	uint32_t ids[MAXR], nids;    /* live range ids, unordered */
	uint32_t pos[MAXR];          /* id -> index in ids */
	uint32_t freeid[MAXR], nfree;
};

static struct model M;

static unsigned fails; /* quiet failures: one TAP line per run */

#define FAIL(...)                                                   \
	do {                                                        \
		printf("# " __VA_ARGS__);                           \
		printf("\n");                                       \
		fails++;                                            \
		return -1;                                          \
	} while (0)

static void m_init(uint64_t end)
{
	M.end = end;
	free(M.own);
	M.own = calloc(end + 2, sizeof(*M.own));
	REQUIRE(M.own);
	M.nids = 0;
	M.nfree = 0;
	for (uint32_t i = 0; i < MAXR; i++)
		M.freeid[M.nfree++] = MAXR - 1 - i;
}

static void m_add(uint64_t lo, uint64_t hi, bool res)
{
	uint32_t id = M.freeid[--M.nfree];
	M.lo[id] = lo;
	M.hi[id] = hi;
	M.res[id] = res;
	M.pos[id] = M.nids;
	M.ids[M.nids++] = id;
	for (uint64_t p = lo; p <= hi; p++)
		M.own[p] = id + 1;
}

static void m_del(uint32_t id)
{
	for (uint64_t p = M.lo[id]; p <= M.hi[id]; p++)
		M.own[p] = 0;
	uint32_t k = M.pos[id], last = M.ids[--M.nids];
	M.ids[k] = last;
	M.pos[last] = k;
	M.freeid[M.nfree++] = id;
}

static bool m_free_block(uint64_t s, uint64_t size)
{
	for (uint64_t j = 0; j < size; j++)
		if (M.own[s + j])
			return false;
	return true;
}

/* Highest free aligned block, or -1. */
static int64_t m_best(uint64_t size, uint64_t align, uint64_t lim)
{
	if (lim < START + size - 1)
		return -1;
	for (int64_t s = (int64_t)((lim - size + 1) & ~(align - 1)); s >= START; s -= (int64_t)align)
		if (m_free_block((uint64_t)s, size))
			return s;
	return -1;
}

static int same_range(const struct iova_range *r, uint32_t id)
{
	return r->lo == M.lo[id] && r->hi == M.hi[id] && r->reserved == M.res[id];
}

static int op_alloc(struct iova_tree *t, bool inject)
{
	uint64_t size = 1 + (rnd() % 4 ? rnd() % 8 : rnd() % 40);
	uint64_t al = rnd() % 2 ? iopt_roundup_pow2(size) : 1;
	uint64_t lim = size + rnd() % (M.end - size + 1);
	if (rnd() % 4 == 0)
		lim = M.end;
	struct iova_req q = { size, al, lim };
	uint64_t pfn;
	uint32_t before = t->count;
	if (inject)
		iopt_fault_inject(1 + rnd() % 3, false);
	int r = _iopt_tree_alloc(t, &q, &pfn);
	iopt_fault_inject(0, false);
	bool exact = al == 1 || al == size || al <= 32;
	int64_t b = m_best(size, al, lim);
	if (r == -ENOMEM && inject && b >= 0) {
		/* Must be unchanged; the same request must then succeed. */
		if (t->count != before || _iopt_tree_check(t))
			FAIL("tree changed by failed alloc");
		r = _iopt_tree_alloc(t, &q, &pfn);
	}
	if (r) {
		if (r != -ENOSPC)
			FAIL("alloc returned %d", r);
		if (b >= 0 && exact)
			FAIL("ENOMEM but fit at %lld (size %llu al %llu lim %llu)", (long long)b,
			     (unsigned long long)size, (unsigned long long)al, (unsigned long long)lim);
		/* Relaxed rule: failure only where no free aligned next-pow2 block exists. */
		if (!exact && m_best(al, al, lim) >= 0)
			FAIL("non-pow2 ENOMEM with a free aligned %llu block", (unsigned long long)al);
		return 0;
	}
	if (pfn % al || pfn + size - 1 > lim || pfn < START || !m_free_block(pfn, size))
		FAIL("bad placement %llu size %llu", (unsigned long long)pfn, (unsigned long long)size);
	if (exact && (int64_t)pfn != b)
		FAIL("got %llu want %lld size %llu al %llu lim %llu", (unsigned long long)pfn, (long long)b,
		     (unsigned long long)size, (unsigned long long)al, (unsigned long long)lim);
	m_add(pfn, pfn + size - 1, false);
	return 0;
}

static int op_free(struct iova_tree *t)
{
	uint32_t id = M.ids[rnd() % M.nids];
	uint64_t lo = M.lo[id], size = M.hi[id] - lo + 1;
	/* Bogus frees first: wrong size, interior pfn. */
	if (!_iopt_tree_free(t, lo, size + 1) || (size > 1 && !_iopt_tree_free(t, lo, size - 1)) ||
	    (size > 1 && !_iopt_tree_free(t, lo + 1, size - 1)))
		FAIL("bogus free accepted");
	int r = _iopt_tree_free(t, lo, size);
	if (M.res[id]) {
		if (r != -ENOENT)
			FAIL("free of a reserved range: %d", r);
		return 0;
	}
	if (r)
		FAIL("free failed %d", r);
	m_del(id);
	if (!_iopt_tree_free(t, lo, size))
		FAIL("double free accepted");
	return 0;
}

/*
 * An allocation freed at once (the alloc/free pair): the tree keeps it
 * pending and the free drops it. Sometimes a lookup comes between (it must
 * see the range, so the insertion is written first) or a bogus free (it
 * must be refused and keep the range).
 */
static int op_pair(struct iova_tree *t)
{
	uint32_t before = t->count;
	if (op_alloc(t, false))
		return -1;
	if (t->count == before)
		return 0; /* no fit */
	uint32_t id = M.ids[M.nids - 1];
	uint64_t lo = M.lo[id], size = M.hi[id] - lo + 1;
	struct iova_range r;
	switch (rnd() % 4) {
	case 0:
		if (!_iopt_tree_find(t, lo + size - 1, &r) || !same_range(&r, id))
			FAIL("the last allocation is not found before its free");
		break;
	case 1:
		if (!_iopt_tree_free(t, lo, size + 1) || (size > 1 && !_iopt_tree_free(t, lo, size - 1)))
			FAIL("bogus free of the last allocation accepted");
		break;
	}
	if (_iopt_tree_free(t, lo, size))
		FAIL("free of the last allocation failed");
	m_del(id);
	if (!_iopt_tree_free(t, lo, size))
		FAIL("double free of the last allocation accepted");
	return 0;
}

static int op_erase(struct iova_tree *t)
{
	uint32_t id = M.ids[rnd() % M.nids];
	_iopt_tree_erase(t, M.lo[id]);
	m_del(id);
	return 0;
}

static int op_insert(struct iova_tree *t, bool inject)
{
	uint64_t lo = START + rnd() % (M.end - START + 1);
	if (M.own[lo])
		return 0;
	uint64_t len = 1 + rnd() % (rnd() % 2 ? 4 : 64), hi = lo;
	while (hi < M.end && hi - lo + 1 < len && !M.own[hi + 1])
		hi++;
	bool res = rnd() % 2;
	uint32_t before = t->count;
	if (inject)
		iopt_fault_inject(1 + rnd() % 3, false);
	int r = _iopt_tree_insert_range(t, lo, hi, res);
	iopt_fault_inject(0, false);
	if (r == -ENOMEM && inject) {
		if (t->count != before || _iopt_tree_check(t))
			FAIL("tree changed by failed insert");
		r = _iopt_tree_insert_range(t, lo, hi, res);
	}
	if (r)
		FAIL("insert_range failed %d", r);
	m_add(lo, hi, res);
	/* Overlapping inserts are refused. */
	if (_iopt_tree_insert_range(t, hi, hi, false) != -EINVAL)
		FAIL("overlapping insert accepted");
	return 0;
}

static int op_find(struct iova_tree *t)
{
	uint64_t p = rnd() % (M.end + 3);
	struct iova_range r;
	bool f = _iopt_tree_find(t, p, &r);
	uint32_t o = p <= M.end ? M.own[p] : 0;
	if (f != !!o || (o && !same_range(&r, o - 1)))
		FAIL("find(%llu) wrong", (unsigned long long)p);
	uint64_t lo = START + rnd() % M.end, hi = lo + rnd() % 100;
	f = _iopt_tree_first_overlap(t, lo, hi, &r);
	o = 0;
	for (uint64_t q = lo; q <= hi && q <= M.end && !o; q++)
		o = M.own[q];
	if (f != !!o || (o && !same_range(&r, o - 1)))
		FAIL("first_overlap(%llu, %llu) wrong", (unsigned long long)lo, (unsigned long long)hi);
	return 0;
}

/* Whole-tree comparison with the model through the public lookups. */
static int compare_all(struct iova_tree *t)
{
	struct iova_range r;
	uint32_t n = 0, res = 0;
	for (uint64_t at = START; _iopt_tree_first_overlap(t, at, M.end, &r); at = r.hi + 1) {
		uint32_t o = M.own[r.lo];
		if (!o || !same_range(&r, o - 1))
			FAIL("walk: range %llu..%llu not in model", (unsigned long long)r.lo,
			     (unsigned long long)r.hi);
		n++;
		res += r.reserved;
	}
	if (n != M.nids || t->count != n || t->reserved != res)
		FAIL("walk: %u ranges, model %u, count %u", n, M.nids, t->count);
	return 0;
}

/*
 * One run: ops random operations on [START, end]; the mix leans to
 * alloc until fill is reached, then churns; drain empties the tree at the end.
 */
static int run(uint64_t seed, uint64_t end, unsigned ops, unsigned fill, unsigned check_every, bool drain)
{
	struct iova_tree t;
	rs = seed * 0x9E3779B97F4A7C15ull + 1;
	m_init(end);
	if (_iopt_tree_init(&t, START, end))
		FAIL("init");
	uint32_t max_h = 0, max_n = 0;
	for (unsigned op = 0; op < ops; op++) {
		max_h = t.height > max_h ? t.height : max_h;
		max_n = M.nids > max_n ? M.nids : max_n;
		unsigned k = (unsigned)(rnd() % 100);
		bool grow = M.nids < fill;
		bool inject = rnd() % 16 == 0;
		int r = 0;
		if (!M.nids || k < (grow ? 70u : 45u))
			r = op_alloc(&t, inject);
		else if (k < (grow ? 80u : 85u))
			r = op_free(&t);
		else if (k < 90)
			r = op_insert(&t, inject);
		else if (k < 93)
			r = op_erase(&t);
		else if (k < 96)
			r = op_find(&t);
		else
			r = op_pair(&t);
		if (r)
			FAIL("seed %llu op %u failed", (unsigned long long)seed, op);
		if ((op % check_every == 0 || op + 1 == ops) && _iopt_tree_check(&t))
			FAIL("check failed seed %llu op %u", (unsigned long long)seed, op);
		if (op % (check_every * 64) == 0 && compare_all(&t))
			FAIL("seed %llu op %u", (unsigned long long)seed, op);
	}
	if (compare_all(&t))
		return -1;
	if (seed % 50 == 1 || end > 4096)
		printf("# seed %llu: up to %u ranges, height %u\n", (unsigned long long)seed, max_n, max_h);
	if (M.nids > 2000 && _iopt_tree_bytes(&t) > 40ull * M.nids)
		FAIL("%llu bytes for %u ranges", (unsigned long long)_iopt_tree_bytes(&t), M.nids);
	/* A corrupted count is caught. */
	t.count++;
	if (!_iopt_tree_check(&t))
		FAIL("check missed a bad count");
	t.count--;
	if (drain) {
		while (M.nids) {
			uint32_t id = M.ids[rnd() % M.nids];
			if (rnd() % 2)
				_iopt_tree_erase(&t, M.lo[id]);
			else if (M.res[id] || _iopt_tree_free(&t, M.lo[id], M.hi[id] - M.lo[id] + 1))
				_iopt_tree_erase(&t, M.lo[id]);
			m_del(id);
			if (M.nids % check_every == 0 && _iopt_tree_check(&t))
				FAIL("check failed in drain, seed %llu, %u left", (unsigned long long)seed, M.nids);
		}
		if (t.count || t.leaves != 1 || t.inners || _iopt_tree_check(&t))
			FAIL("drained tree not a single leaf");
		/* The whole space is one gap again. */
		struct iova_req q = { end - START + 1, 1, end };
		uint64_t pfn;
		if (_iopt_tree_alloc(&t, &q, &pfn) || pfn != START)
			FAIL("whole-space alloc after drain");
	}
	_iopt_tree_destroy(&t);
	return 0;
}

/*
 * Fill a multi-level tree, then only pairs, each checked: a wrong drop
 * (a stale summary, a lost range) breaks the check or the comparison.
 */
static int pairs(uint64_t seed)
{
	struct iova_tree t;
	rs = seed * 0x9E3779B97F4A7C15ull + 1;
	m_init(1u << 14);
	if (_iopt_tree_init(&t, START, M.end))
		FAIL("init");
	for (unsigned n = 0; n < 2000; n++)
		if (op_alloc(&t, false))
			FAIL("fill, seed %llu", (unsigned long long)seed);
	for (uint32_t n = 0; n < 500; n++) { /* holes everywhere */
		uint32_t id = M.ids[rnd() % M.nids];
		if (!_iopt_tree_free(&t, M.lo[id], M.hi[id] - M.lo[id] + 1))
			m_del(id);
	}
	if (t.height < 2)
		FAIL("the tree is one leaf");
	for (unsigned op = 0; op < 3000; op++) {
		if (op_pair(&t))
			FAIL("seed %llu pair %u", (unsigned long long)seed, op);
		if (_iopt_tree_check(&t))
			FAIL("check failed after pair %u, seed %llu", op, (unsigned long long)seed);
		if (op % 512 == 0 && compare_all(&t))
			FAIL("seed %llu pair %u", (unsigned long long)seed, op);
	}
	if (compare_all(&t))
		return -1;
	_iopt_tree_destroy(&t);
	return 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);

	TEST("dense: END 2047, every op checked");
	fails = 0;
	for (uint64_t seed = 1; seed <= 150; seed++)
		if (run(seed, 2047, 3000, 2047, 1, seed % 2))
			break;
	CHECK(!fails);

	TEST("tiny: END 127, root leaf splits and collapses");
	fails = 0;
	for (uint64_t seed = 1; seed <= 300; seed++)
		if (run(seed, 127, 600, 127, 1, true))
			break;
	CHECK(!fails);

	TEST("multi-level: END 1<<16, dense fill");
	fails = 0;
	for (uint64_t seed = 1; seed <= 6; seed++)
		if (run(1000 + seed, 1u << 16, 60000, 40000, 7, true))
			break;
	CHECK(!fails);

	TEST("alloc/free pairs on multi-level trees leave them exactly as they were");
	fails = 0;
	for (uint64_t seed = 1; seed <= 4 && !fails; seed++)
		pairs(3000 + seed);
	CHECK(!fails);

	TEST("multi-level: END 1<<18, sparse churn");
	fails = 0;
	for (uint64_t seed = 1; seed <= 2; seed++)
		if (run(2000 + seed, 1u << 18, 80000, 30000, 31, true))
			break;
	CHECK(!fails);

	return tap_done();
}
