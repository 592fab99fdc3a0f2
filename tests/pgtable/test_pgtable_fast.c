/* SPDX-License-Identifier: MIT */
/*
 * The short paths, each against what the general path would give:
 *   - lookup hits in the per-thread level-1 cache (every format, leaves of
 *     every level-0 kind: pages, AMD sized pages, ARM contiguous runs),
 *     holes and level-1 leaves under a cached table, a cached table that
 *     was detached (its page then holds entries of another table: a hit
 *     that ignored the generation would translate through them), another
 *     object at the same IOVA, and providers with phys_to_virt (whose
 *     table entries must never be followed as host pointers);
 *   - map_pages runs that start a new table under the cached parent: the
 *     translations and table count, a parent entry that holds a leaf or a
 *     table (-EBUSY where they conflict, nothing changed), -ENOMEM (nothing
 *     changed, one allocation tried), another thread installing the table
 *     first (its table is used, ours freed), and entries_written for the
 *     entry that installs the table and for the leaves;
 *   - the bulk slot loops (src/pgtable/slots.c), every variant this CPU
 *     runs, against scalar loops for many lengths and alignments, and the
 *     inline helpers in front of them.
 */
#include <pthread.h>

#include "pt_test.h"

#define RW    (IOPT_PROT_READ | IOPT_PROT_WRITE)
#define XLATE (1ull << 46)
#define ADDR  0x0000fffffffff000ull /* table address bits of every format (user addresses) */

struct fcase {
	const char *name;
	struct iopt_pt_cfg cfg;
	unsigned g;       /* granule lg2 */
	unsigned run_lg2; /* a multi-slot level-0 leaf (AMD sized, ARM contiguous), 0 = none */
};

/* Lookup of va: phys, ~0 for -ENOENT, ~1 for any other error (never a phys here). */
static uint64_t look(struct iopt_pt *pt, uint64_t va)
{
	uint64_t pa = 0;
	int r = iopt_pt_iova_to_phys(pt, va, &pa);

	return r == -ENOENT ? ~0ull : r ? ~1ull : pa;
}

/* ------------------------------------------------------------------ */
/* Lookups through the level-1 cache                                   */

/*
 * phys = virt ^ xlate (phys_to_virt set when xlate != 0: an entry followed
 * as a host pointer faults); freed pages are held back, filled with
 * `poison`, until the case ends.
 */
struct lprov {
	struct iopt_pt_provider p;
	uint64_t xlate, poison;
	unsigned nheld;
	struct { void *v; size_t size; } held[64];
};

static void *l_alloc(void *ctx, size_t size, uint64_t *phys)
{
	struct lprov *lp = ctx;
	void *v = iopt_pt_default_provider()->alloc(NULL, size, phys);

	if (v)
		*phys ^= lp->xlate;
	return v;
}

static void l_free(void *ctx, void *virt, size_t size)
{
	struct lprov *lp = ctx;

	REQUIRE(lp->nheld < 64);
	for (size_t i = 0; i < size / 8; i++)
		((uint64_t *)virt)[i] = lp->poison;
	lp->held[lp->nheld].v = virt;
	lp->held[lp->nheld++].size = size;
}

static void *l_p2v(void *ctx, uint64_t phys)
{
	return (void *)(uintptr_t)(phys ^ ((struct lprov *)ctx)->xlate);
}

static void l_release(struct lprov *lp)
{
	while (lp->nheld) {
		lp->nheld--;
		iopt_pt_default_provider()->free(NULL, lp->held[lp->nheld].v, lp->held[lp->nheld].size);
	}
}

/* The level-1 entry over va (a table entry when va's level-0 table exists). */
static uint64_t l1_entry(struct iopt_pt *pt, const struct fcase *fc, uint64_t xlate, uint64_t va)
{
	uint64_t root, *t, e = 0;
	unsigned levels;

	iopt_pt_root(pt, &root, &levels);
	t = (uint64_t *)(uintptr_t)(root ^ xlate);
	for (unsigned l = levels - 1; l >= 1; l--) {
		unsigned s = fc->g + (fc->g - 3) * l;

		/* The top index has more bits only for S2 concatenation (1024 here). */
		e = t[(va >> s) & (l == levels - 1 ? 1023 : (1ull << (fc->g - 3)) - 1)];
		if (l == 1)
			break;
		t = (uint64_t *)(uintptr_t)((e & ADDR & ~((1ull << fc->g) - 1)) ^ xlate);
	}
	return e;
}

/*
 * In the level-1 table over B: level-0 tables 0..2 of pages (one hole),
 * two multi-slot leaves in table 3, a level-1 leaf in slot 4, slot 5
 * empty. Every lookup after the first hits the cache.
 */
static void lookup_case(const struct fcase *fc, bool xlate)
{
	static struct lprov lp;
	struct iopt_pt_cfg cfg = fc->cfg;
	struct iopt_pt *pt, *pt2;
	struct iopt_gather g;
	const uint64_t gr = 1ull << fc->g, l1 = gr << (fc->g - 3); /* level-1 slot size */
	const uint64_t B = l1 << (fc->g - 3), C = 4 * B, PA = 1ull << 33;
	uint64_t got;
	unsigned bad = 0;

	memset(&lp, 0, sizeof(lp));
	lp.p = (struct iopt_pt_provider){ .alloc = l_alloc, .free = l_free, .ctx = &lp };
	if (xlate) {
		lp.xlate = XLATE;
		lp.p.phys_to_virt = l_p2v;
	}
	cfg.provider = &lp.p;
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	iopt_gather_init(&g, false, NULL, NULL);
	for (uint64_t t = 0; t < 3; t++)
		CHECK_EQ(iopt_pt_map_pages(pt, B + t * l1, PA + t * l1, gr, l1 / gr, RW, &got), 0);
	CHECK_EQ(iopt_pt_unmap_pages(pt, B + l1 + 5 * gr, gr, 1, &g, &got), 0);
	if (fc->run_lg2)
		CHECK_EQ(iopt_pt_map_pages(pt, B + 3 * l1, PA + 7 * l1, 1ull << fc->run_lg2, 2, RW,
					   &got), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 4 * l1, PA + 9 * l1, l1, 1, RW, &got), 0);

	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t va = B; va < B + 3 * l1; va += gr) {
			uint64_t off = (va / gr * 7 + 123) & (gr - 1) & ~7ull;
			uint64_t want = va == B + l1 + 5 * gr ? ~0ull : PA + (va - B) + off;

			bad += look(pt, va + off) != want;
		}
		for (uint64_t k = 0; fc->run_lg2 && k < 2ull << (fc->run_lg2 - fc->g); k++)
			bad += look(pt, B + 3 * l1 + k * gr + 8) != PA + 7 * l1 + k * gr + 8;
		bad += look(pt, B + 3 * l1 + (fc->run_lg2 ? 2ull << fc->run_lg2 : 0)) != ~0ull;
		bad += look(pt, B + 4 * l1 + 3 * gr + 16) != PA + 9 * l1 + 3 * gr + 16;
		bad += look(pt, B + 5 * l1 + gr) != ~0ull;
	}
	CHECK_EQ(bad, 0);

	/*
	 * Detach the cached level-1 table (unmap all it spans). Its page is
	 * then filled with copies of the level-1 entry over C, a live table:
	 * a hit on the stale cache would translate B + x through C's pages.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, C, 3 * PA, gr, 4, RW, &got), 0);
	lp.poison = l1_entry(pt, fc, lp.xlate, C);
	CHECK(lp.poison != 0);
	CHECK_EQ(look(pt, B + gr + 8), PA + gr + 8);
	CHECK_EQ(iopt_pt_unmap_pages(pt, B, l1, B / l1, &g, &got), 0);
	CHECK(g.nr_freed >= 4);
	iopt_gather_sync(&g);
	CHECK_EQ(look(pt, B + gr + 8), ~0ull);
	CHECK_EQ(look(pt, B + 2 * l1 + gr + 8), ~0ull);
	CHECK_EQ(look(pt, C + gr + 8), 3 * PA + gr + 8);
	CHECK_EQ(iopt_pt_map_pages(pt, B + l1, 5 * PA, gr, 4, RW, &got), 0);
	CHECK_EQ(look(pt, B + l1 + gr + 8), 5 * PA + gr + 8);
	CHECK_EQ(look(pt, B + gr + 8), ~0ull);

	/* Another object at the same IOVA: this thread's cache names the first. */
	lp.poison = 0;
	REQUIRE(iopt_pt_create(&cfg, &pt2) == 0);
	CHECK_EQ(look(pt, B + l1 + 8), 5 * PA + 8);
	CHECK_EQ(look(pt2, B + l1 + 8), ~0ull);
	CHECK_EQ(iopt_pt_map_pages(pt2, B + l1, 6 * PA, gr, 1, RW, &got), 0);
	CHECK_EQ(look(pt2, B + l1 + 8), 6 * PA + 8);
	CHECK_EQ(look(pt, B + l1 + 8), 5 * PA + 8);
	iopt_pt_free(pt2);
	iopt_pt_free(pt);
	l_release(&lp);
}

/* ------------------------------------------------------------------ */
/* map_pages into a new table under the cached parent                  */

/*
 * A counting provider that logs entries_written calls and, when armed, has
 * another thread map one page first (from inside alloc), so that the table
 * this call is about to install has already been installed.
 */
struct wlog {
	struct test_prov tp;
	struct iopt_pt *pt;
	uint64_t race_va, race_pg;
	int race_r;
	unsigned raced, n;
	struct { uintptr_t a, len; } w[64];
};
static struct wlog *wl;

static void *racer(void *arg)
{
	uint64_t got;

	wl->race_r = iopt_pt_map_pages(wl->pt, (uint64_t)(uintptr_t)arg, 1ull << 40, wl->race_pg, 1,
				       RW, &got);
	return NULL;
}

static void *w_alloc(void *ctx, size_t size, uint64_t *phys)
{
	uint64_t va = wl->race_va;

	if (va) {
		pthread_t t;

		wl->race_va = 0;
		wl->raced++;
		REQUIRE(pthread_create(&t, NULL, racer, (void *)(uintptr_t)va) == 0);
		pthread_join(t, NULL);
	}
	return test_alloc(ctx, size, phys);
}

static void w_written(void *ctx, void *virt, size_t len)
{
	(void)ctx;
	if (wl->n < 64) {
		wl->w[wl->n].a = (uintptr_t)virt;
		wl->w[wl->n++].len = len;
	}
}

/* Slot of va's entry at level (default provider: phys == virt). */
static uint64_t *slot_of(struct iopt_pt *pt, const struct fcase *fc, uint64_t va, unsigned level)
{
	unsigned levels;
	uint64_t *t = test_root(pt, &levels);

	for (unsigned l = levels - 1;; l--) {
		uint64_t *s = &t[(va >> (fc->g + (fc->g - 3) * l)) &
				 (l == levels - 1 ? 1023 : (1ull << (fc->g - 3)) - 1)];

		if (l == level)
			return s;
		t = pt_tbl(*s & ADDR & ~((1ull << fc->g) - 1));
	}
}

static void fresh_case(const struct fcase *fc)
{
	static struct wlog log;
	struct iopt_pt_cfg cfg = fc->cfg;
	struct iopt_pt *pt;
	const uint64_t gr = 1ull << fc->g, l1 = gr << (fc->g - 3), half = l1 / 2, n = half / gr;
	const uint64_t B = l1 << (fc->g - 3), PA = 1ull << 34;
	uint64_t got;
	unsigned bad = 0;
	long live;

	memset(&log, 0, sizeof(log));
	wl = &log;
	test_prov_init(&log.tp);
	log.tp.p.alloc = w_alloc;
	log.tp.p.entries_written = w_written;
	cfg.provider = &log.tp.p;
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	log.pt = pt;

	/* One page makes the tables down to level 1; then 16 half-table runs. */
	CHECK_EQ(iopt_pt_map_pages(pt, B + 31 * l1, PA + 31 * l1, gr, 1, RW, &got), 0);
	live = atomic_load(&log.tp.live);
	for (uint64_t k = 0; k < 16; k++)
		CHECK_EQ(iopt_pt_map_pages(pt, B + k * half, PA + k * half, gr, n, RW, &got), 0);
	CHECK_EQ(atomic_load(&log.tp.live), live + 8);
	for (uint64_t va = B; va < B + 8 * l1; va += gr / 2)
		bad += look(pt, va) != PA + (va - B);
	CHECK_EQ(bad, 0);
	CHECK_EQ(look(pt, B + 8 * l1), ~0ull);

	/* entries_written sees the entry that installs the table, then the leaves. */
	log.n = 0;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 8 * l1, PA + 8 * l1, gr, n, RW, &got), 0);
	CHECK_EQ(log.n, 2);
	CHECK(log.w[0].a == (uintptr_t)slot_of(pt, fc, B + 8 * l1, 1) && log.w[0].len == 8);
	CHECK(log.w[1].a == (uintptr_t)slot_of(pt, fc, B + 8 * l1, 0) && log.w[1].len == n * 8);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 8 * l1 + half, PA + 8 * l1 + half, gr, n, RW, &got), 0);

	/* Next parent entry holds a level-1 leaf: -EBUSY, nothing changed. */
	CHECK_EQ(iopt_pt_map_pages(pt, B + 10 * l1, PA, l1, 1, RW, &got), 0);
	live = atomic_load(&log.tp.live);
	got = 7;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 9 * l1, PA + 9 * l1, gr, 4 * n, RW, &got), -EBUSY);
	CHECK_EQ(got, 0);
	CHECK_EQ(look(pt, B + 9 * l1), ~0ull);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 9 * l1, PA + 9 * l1, gr, 2 * n, RW, &got), 0);
	got = 7;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 10 * l1, PA + 10 * l1, gr, n, RW, &got), -EBUSY);
	CHECK_EQ(got, 0);
	CHECK_EQ(look(pt, B + 10 * l1 + gr + 8), PA + gr + 8);
	CHECK_EQ(atomic_load(&log.tp.live), live + 1);

	/* Next parent entry holds a table with one page: conflicts still found. */
	CHECK_EQ(iopt_pt_map_pages(pt, B + 12 * l1 + half + gr, 7 * PA, gr, 1, RW, &got), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 11 * l1, PA + 11 * l1, gr, 2 * n, RW, &got), 0);
	live = atomic_load(&log.tp.live);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 12 * l1, PA + 12 * l1, gr, 2 * n, RW, &got), -EBUSY);
	CHECK_EQ(look(pt, B + 12 * l1 + 8), ~0ull);
	CHECK_EQ(iopt_pt_map_pages(pt, B + 12 * l1, PA + 12 * l1, gr, n, RW, &got), 0);
	CHECK_EQ(look(pt, B + 12 * l1 + half + gr + 8), 7 * PA + 8);
	CHECK_EQ(look(pt, B + 12 * l1 + gr + 8), PA + 12 * l1 + gr + 8);
	CHECK_EQ(atomic_load(&log.tp.live), live);

	/* No memory for the new table: -ENOMEM after one try, nothing changed. */
	CHECK_EQ(iopt_pt_map_pages(pt, B + 13 * l1, PA + 13 * l1, gr, 2 * n, RW, &got), 0);
	live = atomic_load(&log.tp.live);
	atomic_store(&log.tp.allocs, 0);
	log.tp.fail_at = 1;
	got = 7;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 14 * l1, PA + 14 * l1, gr, n, RW, &got), -ENOMEM);
	CHECK_EQ(got, 0);
	CHECK_EQ(atomic_load(&log.tp.allocs), 1);
	CHECK_EQ(atomic_load(&log.tp.live), live);
	CHECK_EQ(look(pt, B + 14 * l1 + 8), ~0ull);
	log.tp.fail_at = 0;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 14 * l1, PA + 14 * l1, gr, n, RW, &got), 0);
	CHECK_EQ(look(pt, B + 14 * l1 + half - gr + 8), PA + 14 * l1 + half - gr + 8);

	/* Another thread installs the table first: its table is used, ours freed. */
	CHECK_EQ(iopt_pt_map_pages(pt, B + 14 * l1 + half, PA + 14 * l1 + half, gr, n, RW, &got), 0);
	live = atomic_load(&log.tp.live);
	log.race_pg = gr;
	log.race_va = B + 16 * l1 - gr;
	CHECK_EQ(iopt_pt_map_pages(pt, B + 15 * l1, PA + 15 * l1, gr, n, RW, &got), 0);
	CHECK_EQ(log.raced, 1);
	CHECK_EQ(log.race_r, 0);
	CHECK_EQ(atomic_load(&log.tp.live), live + 1);
	CHECK_EQ(look(pt, B + 16 * l1 - gr + 8), (1ull << 40) + 8);
	bad = 0;
	for (uint64_t va = B + 15 * l1; va < B + 15 * l1 + half; va += gr)
		bad += look(pt, va + 16) != PA + (va - B) + 16;
	CHECK_EQ(bad, 0);
	CHECK_EQ(look(pt, B + 15 * l1 + half + 8), ~0ull);

	iopt_pt_free(pt);
	CHECK_EQ(atomic_load(&log.tp.live), 0);
}

/* ------------------------------------------------------------------ */
/* Slot loops                                                          */

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
/*
 * slots.c itself, for its per-ISA variants (file-local); its exported
 * entry points get other names here.
 */
#define _iopt_pt_slots_or_bulk    test_or_bulk
#define _iopt_pt_slots_fill_bulk  test_fill_bulk
#define _iopt_pt_slots_clear_bulk test_clear_bulk
#include "pgtable/slots.c"

struct variant {
	const char *name;
	uint64_t (*or)(const uint64_t *p, uint64_t n);
	void (*fill)(uint64_t *p, uint64_t n, uint64_t v, uint64_t step);
	uint64_t (*clear)(uint64_t *p, uint64_t n);
};

static void slots_variant(const struct variant *v)
{
	static uint64_t buf[700], ref[700];
	uint64_t seed = 99;
	unsigned bad = 0;

	for (uint64_t n = 0; n <= 600; n += n < 80 ? 1 : 37) {
		for (uint64_t off = 0; off < 5; off++) {
			uint64_t *p = &buf[off + 8], want = 0, cnt = 0;
			uint64_t step = off == 4 ? 0 : 4096ull << off, v0 = 0x123456789000ull + off;

			for (size_t i = 0; i < 700; i++) {
				uint64_t x = test_xrand(&seed);

				ref[i] = (x & 3) == 0 ? 0 : x >> (x & 63);
			}
			for (uint64_t i = 0; i < n; i++) {
				want |= ref[off + 8 + i];
				cnt += ref[off + 8 + i] != 0;
			}
			memcpy(buf, ref, sizeof(buf));
			bad += v->or(p, n) != want;
			memset(p, 0, n * 8);
			bad += v->or(p, n) != 0;
			memcpy(buf, ref, sizeof(buf));
			bad += v->clear(p, n) != cnt;
			for (size_t i = 0; i < 700; i++)
				bad += buf[i] != (i >= off + 8 && i < off + 8 + n ? 0 : ref[i]);
			memcpy(buf, ref, sizeof(buf));
			v->fill(p, n, v0, step);
			for (size_t i = 0; i < 700; i++)
				bad += buf[i] != (i >= off + 8 && i < off + 8 + n ?
							  v0 + (i - off - 8) * step : ref[i]);
		}
	}
	printf("# %s\n", v->name);
	CHECK_EQ(bad, 0);
}
#else
#include "pgtable/pt_internal.h"
#endif

/* The inline helpers: single slot, short runs, hand-off to the bulk loops. */
static void slots_inline(void)
{
	static uint64_t buf[64];
	unsigned bad = 0;

	for (uint64_t n = 1; n < 40; n++) {
		uint64_t want = 0, cnt = 0, after = (4 + n) % 3 ? 4 + n : 0;

		for (size_t i = 0; i < 64; i++)
			buf[i] = i % 3 ? i : 0;
		for (uint64_t i = 0; i < n; i++) {
			want |= buf[4 + i];
			cnt += buf[4 + i] != 0;
		}
		bad += pt_slots_or(&buf[4], n) != want;
		bad += pt_slots_clear(&buf[4], n) != cnt;
		bad += pt_slots_or(&buf[4], n) != 0;
		bad += buf[3] != 0 || buf[4 + n] != after;
		pt_slots_fill(&buf[4], n, 1000, 8);
		for (uint64_t i = 0; i < n; i++)
			bad += buf[4 + i] != 1000 + 8 * i;
		bad += buf[3] != 0 || buf[4 + n] != after;
	}
	CHECK_EQ(bad, 0);
}

int main(void)
{
	const struct fcase cases[] = {
		{ "vtd_ss/48", { .format = IOPT_PT_VTD_SS, .ias = 48 }, 12, 0 },
		{ "x86_64/48", { .format = IOPT_PT_X86_64, .ias = 48 }, 12, 0 },
		{ "x86_64/57", { .format = IOPT_PT_X86_64, .ias = 57 }, 12, 0 },
		{ "amd_v1/4", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 4 }, 12, 15 },
		{ "amd_v1/grow", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1 }, 12, 16 },
		{ "lpae_s1/4k", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12 }, 12, 16 },
		{ "lpae_s2/4k", { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12 }, 12, 16 },
		{ "lpae_s1/16k", { .format = IOPT_PT_LPAE_S1, .ias = 47, .granule_lg2 = 14 }, 14, 21 },
		{ "lpae_s1/64k", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 16 }, 16, 21 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		printf("# lookup: %s\n", cases[i].name);
		lookup_case(&cases[i], false);
		printf("# lookup, phys_to_virt provider: %s\n", cases[i].name);
		lookup_case(&cases[i], true);
		printf("# map into a new table: %s\n", cases[i].name);
		fresh_case(&cases[i]);
	}

	TEST("slot loops");
#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__)
	const struct variant base = { "16-byte", slots_or_v2,
				      slots_fill_v2, slots_clear_v2 };

	slots_variant(&base);
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2")) {
		const struct variant avx2 = { "avx2", slots_or_avx2,
					      slots_fill_avx2,
					      slots_clear_avx2 };

		slots_variant(&avx2);
	}
#endif
	slots_inline();
	return tap_done();
}
