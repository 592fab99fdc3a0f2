/* SPDX-License-Identifier: MIT */
/*
 * Dirty tracking: the test plays the IOMMU and sets hardware dirty state
 * in the entries itself (x86/VT-d D bit 6/9, AMD D bit 6 in any replica,
 * ARM DBM: S1 clears AP[2], S2 sets S2AP write; hw-facts §1.3, §2.4, §4.8),
 * then checks read_and_clear_dirty reports each dirty leaf/run exactly once
 * with its full extent, honours NO_CLEAR, cleans every copy, and adds the
 * cleaned ranges to the gather.
 */
#include "pt_test.h"

#define A51_12 0x000ffffffffff000ull

/* Walk 4K/9-bit tables to the slot of va at `level`; is_tbl says "table". */
static uint64_t *slot_of(struct iopt_pt *pt, uint64_t va, unsigned want,
			 bool (*is_tbl)(uint64_t e, unsigned level))
{
	unsigned levels;
	uint64_t *t = test_root(pt, &levels);

	for (unsigned l = levels - 1;; l--) {
		uint64_t *s = &t[(va >> (12 + 9 * l)) & 511];

		if (l == want)
			return s;
		REQUIRE(*s && is_tbl(*s, l));
		t = pt_tbl(*s & 0x0000fffffffff000ull);
	}
}

static bool x86_tbl(uint64_t e, unsigned l) { return l && !(e & 0x80); }
static bool amd_tbl(uint64_t e, unsigned l) { return l && ((e >> 9) & 7) && ((e >> 9) & 7) != 7; }
static bool arm_tbl(uint64_t e, unsigned l) { return l && (e & 3) == 3; }

struct rec {
	uint64_t va[64], size[64];
	unsigned n;
};
static void record(void *ctx, uint64_t iova, uint64_t size)
{
	struct rec *r = ctx;

	if (r->n < 64) {
		r->va[r->n] = iova;
		r->size[r->n] = size;
	}
	r->n++;
}

static struct iopt_pt *mk(enum iopt_pt_format f, unsigned flags)
{
	struct iopt_pt_cfg cfg = { .format = f, .ias = 48, .start_levels = 4, .granule_lg2 = 12,
				   .flags = flags };
	struct iopt_pt *pt;

	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	return pt;
}

static struct rec scan(struct iopt_pt *pt, unsigned flags, struct iopt_gather *g)
{
	struct rec r = { .n = 0 };

	CHECK_EQ(iopt_pt_read_and_clear_dirty(pt, 0, 1ull << 30, flags, record, &r, g), 0);
	return r;
}

static void test_x86(void)
{
	TEST("x86_64 dirty: D bit 6, no preset with HW_DIRTY");
	struct iopt_pt *pt = mk(IOPT_PT_X86_64, IOPT_PT_F_HW_DIRTY);
	struct iopt_gather g;
	const unsigned RW = IOPT_PROT_READ | IOPT_PROT_WRITE;

	iopt_gather_init(&g, false, NULL, NULL);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x10000, 0x10000, 4096, 8, RW, NULL), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x200000, 0x400000, 2u << 20, 1, RW, NULL), 0);
	struct rec r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 0);
	*slot_of(pt, 0x12000, 0, x86_tbl) |= 0x40;
	*slot_of(pt, 0x200000, 1, x86_tbl) |= 0x40;
	r = scan(pt, IOPT_DIRTY_NO_CLEAR, NULL);
	CHECK_EQ(r.n, 2);
	CHECK_EQ(r.va[0], 0x12000);
	CHECK_EQ(r.size[0], 4096);
	CHECK_EQ(r.va[1], 0x200000);
	CHECK_EQ(r.size[1], 2u << 20);
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 2);
	CHECK(g.start <= 0x12000 && g.end >= 0x3fffff);
	CHECK_EQ(*slot_of(pt, 0x12000, 0, x86_tbl) & 0x40, 0);
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 0);
	/* Bitmap recorder, one bit per 4K from 0. */
	uint64_t bits[16] = { 0 };
	struct iopt_dirty_bitmap bm = { .bits = bits, .base = 0, .nbits = 1024, .pgshift = 12 };
	*slot_of(pt, 0x17000, 0, x86_tbl) |= 0x40;
	CHECK_EQ(iopt_pt_read_and_clear_dirty(pt, 0, 1ull << 30, 0, iopt_dirty_bitmap_record, &bm, &g), 0);
	CHECK_EQ(bits[0], 1ull << 23);
	iopt_gather_sync(&g);
	iopt_pt_free(pt);
	/* Without HW_DIRTY: unsupported; writable leaves get D preset (§1.4). */
	pt = mk(IOPT_PT_X86_64, 0);
	CHECK_EQ(iopt_pt_read_and_clear_dirty(pt, 0, 4096, IOPT_DIRTY_NO_CLEAR, record, NULL, NULL), -EOPNOTSUPP);
	CHECK_EQ(iopt_pt_set_dirty_tracking(pt, true, &g), -EOPNOTSUPP);
	iopt_pt_free(pt);
}

static void test_vtd(void)
{
	TEST("vtd_ss dirty: D bit 9 (§1.3)");
	struct iopt_pt *pt = mk(IOPT_PT_VTD_SS, IOPT_PT_F_HW_DIRTY);
	struct iopt_gather g;

	iopt_gather_init(&g, false, NULL, NULL);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40000000, 0x40000000, 1u << 30, 1, IOPT_PROT_WRITE, NULL), 0);
	*slot_of(pt, 0x40000000, 2, x86_tbl) |= 0x200;
	struct rec r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 0); /* [0, 1G) does not reach the page at 1G */
	r = (struct rec){ .n = 0 };
	CHECK_EQ(iopt_pt_read_and_clear_dirty(pt, 0, 1ull << 31, 0, record, &r, &g), 0);
	CHECK_EQ(r.n, 1);
	*slot_of(pt, 0x40000000, 2, x86_tbl) |= 0x200;
	r = (struct rec){ .n = 0 };
	/* A range inside the leaf reports the whole leaf. */
	CHECK_EQ(iopt_pt_read_and_clear_dirty(pt, 0x40001000, 4096, 0, record, &r, &g), 0);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.va[0], 0x40000000);
	CHECK_EQ(r.size[0], 1u << 30);
	CHECK_EQ(*slot_of(pt, 0x40000000, 2, x86_tbl) & 0x200, 0);
	iopt_gather_sync(&g);
	iopt_pt_free(pt);
}

static void test_amd(void)
{
	TEST("amd_v1 dirty: OR of replicas, clean all (§2.4)");
	struct iopt_pt *pt = mk(IOPT_PT_AMD_V1, IOPT_PT_F_HW_DIRTY);
	struct iopt_gather g;

	iopt_gather_init(&g, false, NULL, NULL);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40000, 0x80000, 16384, 2, IOPT_PROT_READ | IOPT_PROT_WRITE, NULL), 0);
	uint64_t *s = slot_of(pt, 0x40000, 0, amd_tbl);
	s[6] |= 0x40; /* replica 2 of the second 16K page (slots 68..71 -> s[4..7]) */
	struct rec r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.va[0], 0x44000);
	CHECK_EQ(r.size[0], 16384);
	for (int k = 0; k < 8; k++)
		CHECK_EQ(s[k] & 0x40, 0);
	/* Still one identical entry per replica after cleaning. */
	CHECK_EQ(s[4], s[7]);
	iopt_gather_sync(&g);
	iopt_pt_free(pt);
}

static void test_arm(enum iopt_pt_format f)
{
	bool s1 = f == IOPT_PT_LPAE_S1;

	TEST(s1 ? "lpae_s1 dirty: DBM + AP[2] (§4.8)" : "lpae_s2 dirty: DBM + S2AP[1] (§4.8)");
	struct iopt_pt *pt = mk(f, IOPT_PT_F_HW_DIRTY);
	struct iopt_gather g;
	const uint64_t DBM = 1ull << 51, AP2 = 1ull << 7, S2W = 1ull << 7;

	iopt_gather_init(&g, false, NULL, NULL);
	/* Writable leaves start writable-dirty; read-only ones never dirty. */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x10000, 0x10000, 65536, 1, IOPT_PROT_READ | IOPT_PROT_WRITE, NULL), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x30000, 0x30000, 4096, 1, IOPT_PROT_READ, NULL), 0);
	uint64_t *s = slot_of(pt, 0x10000, 0, arm_tbl);
	CHECK(s[0] & DBM);
	CHECK(s[15] & (1ull << 52)); /* contiguous run */
	CHECK(!(s[0x20] & DBM));
	struct rec r = scan(pt, IOPT_DIRTY_NO_CLEAR, NULL);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.va[0], 0x10000);
	CHECK_EQ(r.size[0], 65536);
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 1);
	for (int k = 0; k < 16; k++)
		CHECK(s1 ? (s[k] & AP2) != 0 : (s[k] & S2W) == 0); /* writable-clean */
	CHECK(g.start <= 0x10000 && g.end >= 0x1ffff);
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 0);
	/* Hardware write to one entry of the run. */
	if (s1)
		s[3] &= ~AP2;
	else
		s[3] |= S2W;
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 1);
	CHECK_EQ(r.size[0], 65536);
	/* Enabling tracking cleans everything first. */
	if (s1)
		s[3] &= ~AP2;
	else
		s[3] |= S2W;
	CHECK_EQ(iopt_pt_set_dirty_tracking(pt, true, &g), 0);
	r = scan(pt, 0, &g);
	CHECK_EQ(r.n, 0);
	iopt_gather_sync(&g);
	iopt_pt_free(pt);
}

int main(void)
{
	test_x86();
	test_vtd();
	test_amd();
	test_arm(IOPT_PT_LPAE_S1);
	test_arm(IOPT_PT_LPAE_S2);
	return tap_done();
}
