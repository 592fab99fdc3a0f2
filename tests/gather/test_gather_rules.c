/* SPDX-License-Identifier: MIT */
/*
 * Gather rules (hw-facts §6.3) in both modes: single over-covering range
 * (Linux) and the range list ("no gaps"). add_range only widens (never
 * syncs); add_page syncs first on a stride change and, in single mode, on a
 * disjoint range; every added byte is covered by the flush that follows;
 * sync calls the flush, then releases the freelist; a full list merges the
 * two closest ranges. Plus the page table's unmap fast path on a list gather.
 */
#include <string.h>

#include "../pgtable/pt_test.h"

#define NPG 256u /* the random tests' space: 256 pages of 4 KiB */
#define PG 4096ull

struct rec {
	unsigned flushes;
	unsigned releases;
	unsigned released_before_flush;
	struct iopt_gather_range r[IOPT_GATHER_MAX_RANGES + 1];
	unsigned nr;
	uint64_t pgsize;
	uint8_t covered[NPG]; /* pages covered by some flush */
	bool bad_list;        /* unsorted / overlapping / touching / too many */
};

static void rec_flush(struct iopt_gather *g, void *ctx)
{
	struct rec *rc = ctx;
	unsigned max = g->max_ranges ? g->max_ranges : 1;

	rc->flushes++;
	rc->nr = g->nr_ranges;
	rc->pgsize = g->pgsize;
	if (g->nr_ranges > max)
		rc->bad_list = true;
	for (unsigned i = 0; i < g->nr_ranges && i <= IOPT_GATHER_MAX_RANGES; i++) {
		rc->r[i] = g->ranges[i];
		if (g->ranges[i].start > g->ranges[i].end)
			rc->bad_list = true;
		if (i && g->ranges[i].start <= g->ranges[i - 1].end + 1)
			rc->bad_list = true;
		for (uint64_t p = g->ranges[i].start / PG; p <= g->ranges[i].end / PG && p < NPG; p++)
			rc->covered[p] = 1;
	}
	if (g->nr_ranges && (g->start != g->ranges[0].start ||
			     g->end != g->ranges[g->nr_ranges - 1].end))
		rc->bad_list = true;
}

struct tnode {
	struct iopt_gather_freed n;
	struct rec *rc;
};

static void tnode_release(struct iopt_gather_freed *n)
{
	struct tnode *t = (struct tnode *)n;

	t->rc->releases++;
	if (!t->rc->flushes)
		t->rc->released_before_flush++;
	free(t);
}

static void add_node(struct iopt_gather *g, struct rec *rc)
{
	struct tnode *t = calloc(1, sizeof(*t));

	REQUIRE(t);
	t->n.release = tnode_release;
	t->rc = rc;
	iopt_gather_add_freed(g, &t->n);
}

static void init_mode(struct iopt_gather *g, unsigned max, struct rec *rc)
{
	memset(rc, 0, sizeof(*rc));
	if (max)
		iopt_gather_init_list(g, false, max, rec_flush, rc);
	else
		iopt_gather_init(g, false, rec_flush, rc);
}

static void rules(unsigned max)
{
	struct iopt_gather g;
	struct rec rc;

	printf("# rules, max_ranges %u\n", max);
	init_mode(&g, max, &rc);
	CHECK_EQ(g.start, UINT64_MAX);
	CHECK_EQ(g.end, 0);
	CHECK_EQ(g.pgsize, 0);
	/* add_range only widens, even across a gap */
	iopt_gather_add_range(&g, 0x1000, 0x1000);
	iopt_gather_add_range(&g, 0x10000, 0x1000);
	CHECK_EQ(rc.flushes, 0);
	iopt_gather_sync(&g);
	CHECK_EQ(rc.flushes, 1);
	if (max < 2) { /* one range: the hull */
		CHECK_EQ(rc.nr, 1);
		CHECK_EQ(rc.r[0].start, 0x1000);
		CHECK_EQ(rc.r[0].end, 0x10fff);
	} else {
		CHECK_EQ(rc.nr, 2); /* no gap covered */
		CHECK_EQ(rc.r[0].end, 0x1fff);
		CHECK_EQ(rc.r[1].start, 0x10000);
	}
	CHECK_EQ(g.end, 0); /* re-initialised */
	CHECK_EQ(g.max_ranges, max);

	/* add_page: adjacent, same stride: no sync; only the first starts a batch */
	rc.flushes = 0;
	CHECK(iopt_gather_add_page(&g, 0x4000, 0x1000, 0x1000));
	CHECK(!iopt_gather_add_page(&g, 0x5000, 0x1000, 0x1000));
	CHECK(!iopt_gather_add_page(&g, 0x3000, 0x1000, 0x1000));
	CHECK_EQ(rc.flushes, 0);
	CHECK(!g.mixed);
	CHECK_EQ(g.start, 0x3000);
	CHECK_EQ(g.end, 0x5fff);
	/* disjoint: single mode syncs first (a new batch), list mode keeps both */
	CHECK_EQ(iopt_gather_add_page(&g, 0x9000, 0x1000, 0x1000), !max);
	CHECK_EQ(rc.flushes, max ? 0 : 1);
	if (!max) {
		CHECK_EQ(rc.r[0].start, 0x3000);
		CHECK_EQ(rc.r[0].end, 0x5fff);
		CHECK_EQ(g.start, 0x9000);
	}
	/* stride change: sync first in both modes */
	CHECK(iopt_gather_add_page(&g, 0x200000, 0x200000, 0x200000));
	CHECK_EQ(rc.flushes, max ? 1 : 2);
	CHECK_EQ(rc.pgsize, 0x1000);
	if (max >= 2) {
		CHECK_EQ(rc.nr, 2);
		CHECK_EQ(rc.r[0].start, 0x3000);
		CHECK_EQ(rc.r[1].start, 0x9000);
	}
	CHECK_EQ(g.pgsize, 0x200000);
	CHECK_EQ(g.start, 0x200000);
	/* sync: flush first, then every page released, list emptied */
	add_node(&g, &rc);
	add_node(&g, &rc);
	CHECK_EQ(g.nr_freed, 2);
	rc.flushes = 0;
	iopt_gather_sync(&g);
	CHECK_EQ(rc.flushes, 1);
	CHECK_EQ(rc.releases, 2);
	CHECK_EQ(rc.released_before_flush, 0);
	CHECK(g.freelist == NULL);
	/* pages only: flush still runs (no ranges), then release */
	rc.flushes = 0;
	add_node(&g, &rc);
	iopt_gather_sync(&g);
	CHECK_EQ(rc.flushes, 1);
	CHECK_EQ(rc.nr, 0);
	CHECK_EQ(rc.releases, 3);
	/* empty gather: sync does not flush */
	iopt_gather_sync(&g);
	CHECK_EQ(rc.flushes, 1);
	/* take_freelist: pages leave, ranges stay */
	add_node(&g, &rc);
	iopt_gather_add_range(&g, 0x1000, 0x1000);
	struct iopt_gather_freed *f = iopt_gather_take_freelist(&g);
	CHECK(f != NULL);
	CHECK_EQ(g.nr_freed, 0);
	CHECK_EQ(g.end, 0x1fff);
	f->release(f);
	iopt_gather_sync(&g);
}

/* The two closest ranges merge when the list is full. */
static void merge_closest(void)
{
	struct iopt_gather g;
	struct rec rc;
	/* gaps: 3 pages, 1 page, 5 pages, 2 pages */
	const uint64_t pages[] = { 0, 4, 6, 12, 15 };

	TEST("merge the closest pair");
	init_mode(&g, 4, &rc);
	for (unsigned i = 0; i < 5; i++)
		iopt_gather_add_page(&g, pages[i] * PG, PG, PG);
	CHECK_EQ(rc.flushes, 0);
	iopt_gather_sync(&g);
	CHECK_EQ(rc.nr, 4);
	CHECK(!rc.bad_list);
	CHECK_EQ(rc.r[0].start, 0);
	CHECK_EQ(rc.r[1].start, 4 * PG); /* 4 and 6 merged: gap of one page */
	CHECK_EQ(rc.r[1].end, 7 * PG - 1);
	CHECK_EQ(rc.r[2].start, 12 * PG);
	CHECK_EQ(rc.r[3].start, 15 * PG);
	/* a new range bridging two closed ones merges them (touching) */
	init_mode(&g, 8, &rc);
	iopt_gather_add_page(&g, 0, PG, PG);
	iopt_gather_add_page(&g, 2 * PG, PG, PG);
	iopt_gather_add_page(&g, 10 * PG, PG, PG);
	iopt_gather_add_range(&g, PG, PG);
	iopt_gather_sync(&g);
	CHECK_EQ(rc.nr, 2);
	CHECK_EQ(rc.r[0].end, 3 * PG - 1);
	CHECK(!rc.bad_list);
}

/*
 * Random adds: every added page covered by a flush; list mode flushes
 * exactly what was added when no merge was needed (at most max_ranges adds,
 * each neither overlapping nor touching an earlier one). Where ranges bridge
 * earlier ones, an online merge may over-cover: that is allowed.
 */
static void coverage(unsigned max, uint64_t seed)
{
	struct iopt_gather g;
	struct rec rc;
	unsigned bad_cover = 0, exact_runs = 0, exact_ok = 0;

	printf("# coverage, max_ranges %u\n", max);
	for (int run = 0; run < 400; run++) {
		uint8_t added[NPG] = { 0 };
		unsigned n = 1 + (unsigned)(test_xrand(&seed) % 12);
		bool separate = true;

		init_mode(&g, max, &rc);
		for (unsigned i = 0; i < n; i++) {
			uint64_t p = test_xrand(&seed) % (NPG - 4), len = 1 + test_xrand(&seed) % 3;

			for (uint64_t k = p ? p - 1 : 0; k <= p + len; k++)
				separate &= !added[k];
			for (uint64_t k = p; k < p + len; k++)
				added[k] = 1;
			if (test_xrand(&seed) & 1)
				iopt_gather_add_page(&g, p * PG, len * PG, PG);
			else
				iopt_gather_add_range(&g, p * PG, len * PG);
		}
		iopt_gather_sync(&g);
		for (unsigned p = 0; p < NPG; p++)
			if (added[p] && !rc.covered[p])
				bad_cover++;
		if (max) {
			if (separate && n <= max) {
				exact_runs++;
				exact_ok += !memcmp(added, rc.covered, NPG) && rc.flushes == 1;
			}
			if (rc.bad_list)
				bad_cover++;
		}
	}
	CHECK_EQ(bad_cover, 0);
	if (max) {
		CHECK(exact_runs > 0);
		CHECK_EQ(exact_ok, exact_runs);
	}
}

/* The page table's unmap (fast path included) on a list gather. */
static void with_pgtable(void)
{
	struct iopt_pt_cfg cfg = { .format = IOPT_PT_X86_64, .ias = 48 };
	struct iopt_pt *pt;
	struct iopt_gather g;
	struct rec rc;
	uint64_t u;

	TEST("page table unmap into a list gather");
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	REQUIRE(iopt_pt_map_range(pt, 0x100000, 0x100000, 64 * PG, IOPT_PROT_READ, NULL) == 0);
	init_mode(&g, 8, &rc);
	const uint64_t pages[] = { 1, 2, 3, 7, 20, 21, 40 };
	for (unsigned i = 0; i < 7; i++)
		CHECK_EQ(iopt_pt_unmap_pages(pt, 0x100000 + pages[i] * PG, PG, 1, &g, &u), 0);
	CHECK_EQ(rc.flushes, 0);
	iopt_gather_sync(&g);
	CHECK_EQ(rc.flushes, 1);
	CHECK_EQ(rc.nr, 4);
	CHECK_EQ(rc.r[0].start, 0x101000);
	CHECK_EQ(rc.r[0].end, 0x103fff);
	CHECK_EQ(rc.r[1].start, 0x107000);
	CHECK_EQ(rc.r[1].end, 0x107fff);
	CHECK_EQ(rc.r[2].start, 0x114000);
	CHECK_EQ(rc.r[2].end, 0x115fff);
	CHECK_EQ(rc.r[3].start, 0x128000);
	iopt_pt_free(pt);
}

int main(void)
{
	rules(0);
	rules(1);
	rules(4);
	rules(IOPT_GATHER_MAX_RANGES);
	merge_closest();
	coverage(0, 1);
	coverage(2, 2);
	coverage(4, 3);
	coverage(IOPT_GATHER_MAX_RANGES, 4);
	with_pgtable();
	return tap_done();
}
