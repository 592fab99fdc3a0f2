/* SPDX-License-Identifier: MIT */
/*
 * fuzz_iova: a byte stream drives alloc/free/reserve/find/cache calls on a
 * small IOVA domain, and every answer is checked against a reference model
 * (one byte per pfn). Differential, not just "no crash": a wrong placement,
 * a missed double free, an overlap, an accounting drift or a leak aborts.
 *
 * Builds as a libFuzzer target (clang -fsanitize=fuzzer), an AFL++ target
 * (afl-clang-fast with the libFuzzer driver), and as a corpus replayer for
 * `./dev test` (fuzz/replay.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <iopt/fault.h>
#include <iopt/iova.h>

#define FUZZ_NAME "fuzz_iova"
#include "fuzz_input.h"

#define SPACE 1024 /* pfns modelled; the domain ends at or below this */

enum { FREE = 0, LIVE = 1, RSV = 2 };

struct model {
	uint8_t state[SPACE + 1];
	uint64_t start, end;
	bool rcache;
	bool armed; /* an allocation failure is armed for this op: -ENOMEM is allowed */
	struct live {
		uint64_t lo, size, asked;
	} live[SPACE];
	unsigned nlive;
};


static uint64_t pow2up(uint64_t x)
{
	uint64_t p = 1;
	while (p < x)
		p <<= 1;
	return p;
}

static bool is_free(const struct model *m, uint64_t lo, uint64_t size)
{
	for (uint64_t i = lo; i < lo + size; i++)
		if (m->state[i] != FREE)
			return false;
	return true;
}

/* Highest fit in the model, or 0 when none (pfn 0 is never a valid answer here: start >= 1). */
static uint64_t model_best(const struct model *m, uint64_t size, uint64_t align, uint64_t limit)
{
	if (limit < m->start + size - 1)
		return 0;
	for (uint64_t s = (limit - size + 1) & ~(align - 1);; s -= align) {
		if (s < m->start)
			return 0;
		if (is_free(m, s, size))
			return s;
		if (s < align)
			return 0;
	}
}

static void mark(struct model *m, uint64_t lo, uint64_t size, uint8_t st)
{
	memset(&m->state[lo], st, size);
}

static void op_alloc(struct iopt_iova_domain *d, struct model *m, struct in *in)
{
	uint64_t size = 1 + take(in) % 48, limit = m->start + take16(in) % (m->end - m->start + 1);
	unsigned flags = take(in) & (IOPT_IOVA_ALIGN | IOPT_IOVA_NO_RETRY);
	uint64_t keep = size, pfn = 0xdead;
	if (m->rcache && size <= IOPT_IOVA_CACHE_MAX_SIZE) {
		size = pow2up(size);
		flags |= IOPT_IOVA_ALIGN; /* what the header promises for cached sizes */
	}
	uint64_t align = flags & IOPT_IOVA_ALIGN ? pow2up(size) : 1;
	bool exact = align == 1 || align == size;
	int r = iopt_iova_alloc(d, keep, limit, flags, &pfn);
	uint64_t best = model_best(m, size, align, limit);
	if (r) {
		if (r != -ENOMEM)
			FAIL("alloc(%llu, %llu) = %d", (unsigned long long)keep, (unsigned long long)limit, r);
		if (pfn != 0xdead)
			FAIL("alloc wrote pfn_out on failure");
		if (m->armed)
			return; /* host memory ran out: the model (and so the domain) must be unchanged */
		/* With caches, a fit may sit in a magazine when retry is off. */
		if (best && exact && (!m->rcache || !(flags & IOPT_IOVA_NO_RETRY)))
			FAIL("alloc(%llu) -ENOMEM but %llu fits", (unsigned long long)size, (unsigned long long)best);
		return;
	}
	if (pfn < m->start || pfn + size - 1 > limit || pfn % align || !is_free(m, pfn, size))
		FAIL("alloc(%llu, limit %llu) = %llu: invalid", (unsigned long long)size,
		     (unsigned long long)limit, (unsigned long long)pfn);
	/* Without caches, placement is exactly top-down (the header's rule). */
	if (!m->rcache && exact && pfn != best)
		FAIL("alloc(%llu) = %llu, top-down says %llu", (unsigned long long)size, (unsigned long long)pfn,
		     (unsigned long long)best);
	mark(m, pfn, size, LIVE);
	m->live[m->nlive++] = (struct live){ pfn, size, keep };
}

static void op_free(struct iopt_iova_domain *d, struct model *m, struct in *in)
{
	unsigned how = take(in);
	if (!m->nlive || how % 4 == 3) { /* a bogus free: random pfn and size */
		uint64_t pfn = take16(in) % (SPACE + 8), size = 1 + take(in) % 40;
		bool live = false;
		for (unsigned i = 0; i < m->nlive; i++)
			live |= m->live[i].lo == pfn;
		if (live)
			return; /* might be valid: covered by the other branch */
		int r = iopt_iova_free(d, pfn, size);
		if (r != -ENOENT && r != -ERANGE)
			FAIL("bogus free(%llu, %llu) = %d", (unsigned long long)pfn, (unsigned long long)size, r);
		return;
	}
	unsigned k = take(in) % m->nlive;
	struct live l = m->live[k];
	if (how % 4 == 2) { /* wrong size first: must be refused unless it names the same class */
		uint64_t wrong = l.asked + 1 + take(in) % 8;
		bool same = m->rcache && wrong <= IOPT_IOVA_CACHE_MAX_SIZE && pow2up(wrong) == l.size;
		int want = l.lo + wrong - 1 > m->end ? -ERANGE : -ENOENT;
		int r = same ? want : iopt_iova_free(d, l.lo, wrong);
		if (r != want)
			FAIL("free(%llu, %llu) of a %llu-granule range (asked %llu, rcache %d) = %d",
			     (unsigned long long)l.lo, (unsigned long long)wrong, (unsigned long long)l.size,
			     (unsigned long long)l.asked, m->rcache, r);
	}
	if (iopt_iova_free(d, l.lo, l.asked))
		FAIL("free(%llu, %llu) of a live range failed", (unsigned long long)l.lo, (unsigned long long)l.asked);
	mark(m, l.lo, l.size, FREE);
	m->live[k] = m->live[--m->nlive];
	if (how % 4 == 1 && iopt_iova_free(d, l.lo, l.asked) != -ENOENT)
		FAIL("double free accepted");
}

static void op_reserve(struct iopt_iova_domain *d, struct model *m, struct in *in)
{
	uint64_t lo = take16(in) % (SPACE + 4), hi = lo + take(in) % 24;
	bool busy = false;
	uint64_t clo = lo < m->start ? m->start : lo, chi = hi > m->end ? m->end : hi;
	for (uint64_t i = clo; i <= chi && clo <= m->end && chi >= m->start; i++)
		busy |= m->state[i] == LIVE;
	int r = iopt_iova_reserve(d, lo, hi);
	if (r == -ENOMEM && m->armed && !busy)
		return;
	if (r != (busy ? -EBUSY : 0))
		FAIL("reserve(%llu, %llu) = %d, model says %d", (unsigned long long)lo, (unsigned long long)hi, r,
		     busy ? -EBUSY : 0);
	if (!r && clo <= chi && clo <= m->end && chi >= m->start)
		mark(m, clo, chi - clo + 1, RSV);
}

static void op_find(struct iopt_iova_domain *d, struct model *m, struct in *in)
{
	uint64_t pfn = take16(in) % (SPACE + 4), lo = 0, hi = 0;
	bool rsv = false;
	int r = iopt_iova_find(d, pfn, &lo, &hi, &rsv);
	uint8_t st = pfn >= m->start && pfn <= m->end ? m->state[pfn] : FREE;
	if (st == FREE) {
		if (r != -ENOENT)
			FAIL("find(%llu) on a free pfn = %d", (unsigned long long)pfn, r);
		return;
	}
	if (r || rsv != (st == RSV) || pfn < lo || pfn > hi)
		FAIL("find(%llu) = %d [%llu, %llu]", (unsigned long long)pfn, r, (unsigned long long)lo,
		     (unsigned long long)hi);
	if (st == RSV) { /* merged: the maximal run of reserved pfns */
		uint64_t a = pfn, b = pfn;
		while (a > m->start && m->state[a - 1] == RSV)
			a--;
		while (b < m->end && m->state[b + 1] == RSV)
			b++;
		if (lo != a || hi != b)
			FAIL("reserved run [%llu, %llu], find says [%llu, %llu]", (unsigned long long)a,
			     (unsigned long long)b, (unsigned long long)lo, (unsigned long long)hi);
	} else {
		for (unsigned i = 0; i < m->nlive; i++)
			if (m->live[i].lo <= pfn && pfn < m->live[i].lo + m->live[i].size &&
			    (lo != m->live[i].lo || hi != m->live[i].lo + m->live[i].size - 1))
				FAIL("find(%llu) wrong live range", (unsigned long long)pfn);
	}
}

/* Tree nodes = live ranges + ranges held in caches + merged reserved runs. */
static void check_accounting(struct iopt_iova_domain *d, const struct model *m)
{
	struct iopt_iova_stats st;
	uint64_t runs = 0;
	for (uint64_t i = m->start; i <= m->end; i++)
		runs += m->state[i] == RSV && (i == m->start || m->state[i - 1] != RSV);
	iopt_iova_stats(d, &st);
	if (st.reserved_nodes != runs || st.tree_nodes != m->nlive + st.cache_pfns + runs)
		FAIL("accounting: %llu nodes (%llu reserved, %llu cached), model %u live + %llu runs",
		     (unsigned long long)st.tree_nodes, (unsigned long long)st.reserved_nodes,
		     (unsigned long long)st.cache_pfns, m->nlive, (unsigned long long)runs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Ops checked against the model so far: lets a driver assert it tested something. */
unsigned long fuzz_iova_ops;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model m;
	struct in in = { data, size };
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *d;
	unsigned hdr = take(&in);

	memset(&m, 0, sizeof(m));
	iopt_iova_config_init(&cfg);
	cfg.granule = 512u << (hdr & 3);
	cfg.start_pfn = m.start = 1 + (hdr >> 2 & 3);
	cfg.end_pfn = m.end = SPACE - (take(&in) % 512);
	m.rcache = !(hdr & 0x10);
	cfg.flags = m.rcache ? 0 : IOPT_IOVA_NO_RCACHE;
	if (hdr & 0x20) { /* creation under allocation failure: -ENOMEM, nothing leaked */
		iopt_fault_inject(1 + (hdr >> 6), false);
		int r = iopt_iova_domain_create(&cfg, &d);
		if (iopt_fault_inject(0, false)) {
			if (r != -ENOMEM)
				FAIL("domain create under failure = %d", r);
		} else if (!r) {
			iopt_iova_domain_destroy(d);
		}
	}
	if (iopt_iova_domain_create(&cfg, &d))
		FAIL("domain create");

	while (in.n) {
		unsigned op = take(&in) % 9;
		if (op == 8) { /* the next op runs with its 1st..4th allocation failing */
			/* two statements: argument evaluation order is unspecified */
			unsigned nth = 1 + take(&in) % 4;
			bool persistent = take(&in) & 1;
			m.armed = true;
			iopt_fault_inject(nth, persistent);
			op = take(&in) % 8;
		}
		switch (op) {
		case 0:
		case 1:
		case 2:
			op_alloc(d, &m, &in);
			break;
		case 3:
		case 4:
			op_free(d, &m, &in);
			break;
		case 5:
			op_reserve(d, &m, &in);
			break;
		case 6:
			op_find(d, &m, &in);
			break;
		case 7:
			if (take(&in) & 1)
				iopt_iova_cache_flush(d);
			else
				(void)iopt_iova_cache_reclaim(d);
			break;
		}
		if (m.armed) {
			iopt_fault_inject(0, false);
			m.armed = false;
		}
		if (iopt_iova_check(d))
			FAIL("tree invariants broken");
		check_accounting(d, &m);
		fuzz_iova_ops++;
	}

	/* Teardown accounting: free everything; only reserved ranges remain. */
	while (m.nlive) {
		struct live l = m.live[--m.nlive];
		if (iopt_iova_free(d, l.lo, l.asked))
			FAIL("final free");
		mark(&m, l.lo, l.size, FREE);
	}
	iopt_iova_cache_flush(d);
	struct iopt_iova_stats st;
	iopt_iova_stats(d, &st);
	if (st.tree_nodes != st.reserved_nodes || st.cache_pfns)
		FAIL("leak: %llu nodes, %llu reserved, %llu cached", (unsigned long long)st.tree_nodes,
		     (unsigned long long)st.reserved_nodes, (unsigned long long)st.cache_pfns);
	iopt_iova_domain_destroy(d);
	return 0;
}
