/* SPDX-License-Identifier: MIT */
/*
 * The one-granule fast paths (iopt_pt_map_leaf / iopt_pt_unmap_leaf)
 * against the general calls, per format: one random op sequence is run
 * twice, once with map_pages/unmap_pages only (the reference) and once
 * trying the fast path first and falling back on 0 as the DMA layer does.
 * Every return must agree with the reference, and at the end the two
 * tables must be identical word for word (table pointers compared through
 * the page they point to), so a fast path that writes other attributes,
 * clears the wrong slot or touches anything when it declines fails here.
 * A second object with other flags checks that the attribute memo is per
 * object; a provider with an entries_written hook must never take the
 * fast path. Plus directed cases: declines on occupied slots, bad prot,
 * misalignment, larger leaves, a detached table.
 */
#include "pt_test.h"

#define MAXPG 256
#define OPS 6000

/* Records every live table page in allocation order (pass A and B allocate alike). */
struct rec {
	struct iopt_pt_provider p;
	void *virt[MAXPG];
	uint64_t phys[MAXPG];
	size_t size[MAXPG];
	bool live[MAXPG];
	unsigned n;
	unsigned written; /* entries_written calls (hooked configs) */
};

static void *rec_alloc(void *ctx, size_t size, uint64_t *phys)
{
	struct rec *r = ctx;
	void *v = iopt_pt_default_provider()->alloc(NULL, size, phys);

	REQUIRE(r->n < MAXPG);
	if (v) {
		r->virt[r->n] = v;
		r->phys[r->n] = *phys;
		r->size[r->n] = size;
		r->live[r->n++] = true;
	}
	return v;
}

static void rec_free(void *ctx, void *virt, size_t size)
{
	struct rec *r = ctx;

	for (unsigned i = 0; i < r->n; i++)
		if (r->live[i] && r->virt[i] == virt)
			r->live[i] = false;
	iopt_pt_default_provider()->free(NULL, virt, size);
}

static void rec_written(void *ctx, void *virt, size_t len)
{
	(void)virt;
	(void)len;
	((struct rec *)ctx)->written++;
}

static void rec_init(struct rec *r, bool hook)
{
	memset(r, 0, sizeof(*r));
	r->p.alloc = rec_alloc;
	r->p.free = rec_free;
	r->p.entries_written = hook ? rec_written : NULL;
	r->p.ctx = r;
}

/* Same pages, same words; words that differ must be pointers to corresponding pages. */
static bool same_tables(const struct rec *a, const struct rec *b)
{
	if (a->n != b->n)
		return false;
	for (unsigned i = 0; i < a->n; i++) {
		if (a->live[i] != b->live[i] || a->size[i] != b->size[i])
			return false;
		if (!a->live[i])
			continue;
		const uint64_t *wa = a->virt[i], *wb = b->virt[i];

		for (size_t k = 0; k < a->size[i] / 8; k++) {
			bool ok = wa[k] == wb[k];

			for (unsigned j = 0; !ok && j < a->n; j++)
				ok = a->live[j] && (wa[k] ^ a->phys[j]) == (wb[k] ^ b->phys[j]);
			if (!ok) {
				printf("#   page %u word %zu: %#llx vs %#llx\n", i, k,
				       (unsigned long long)wa[k], (unsigned long long)wb[k]);
				return false;
			}
		}
	}
	return true;
}

struct lcase {
	const char *name;
	struct iopt_pt_cfg cfg;
	unsigned g;     /* granule lg2 */
	unsigned bpl;   /* index bits of a leaf table */
	uint64_t big;   /* a page size above the granule at level 0 (0: none) */
	bool hook;      /* provider with entries_written: no fast path */
};

enum { OP_MAP, OP_UNMAP, OP_MAP_BIG, OP_UNMAP_TABLE, OP_MAP_BADPROT };

struct op {
	int kind;
	uint64_t iova, pa;
	unsigned prot;
	int r;          /* reference result */
	uint64_t bytes; /* reference unmapped bytes */
};

static struct op ops[OPS];

/* Ops over 4 leaf tables at 1 GiB, mostly staying in the current one (cache hits). */
static void gen_ops(const struct lcase *c, uint64_t seed)
{
	uint64_t span = 1ull << (c->g + c->bpl), base = 1ull << 30, cur = 0;

	for (int i = 0; i < OPS; i++) {
		uint64_t x = test_xrand(&seed) % 100;
		struct op *o = &ops[i];

		if (test_xrand(&seed) % 10 == 0)
			cur = test_xrand(&seed) % 4;
		o->iova = base + cur * span + ((test_xrand(&seed) % (1ull << c->bpl)) << c->g);
		o->pa = (test_xrand(&seed) % (1ull << 26)) << c->g;
		o->prot = test_xrand(&seed) % 2 ? IOPT_PROT_READ | IOPT_PROT_WRITE : IOPT_PROT_READ;
		o->kind = x < 46 ? OP_MAP : x < 92 ? OP_UNMAP : x < 96 ? OP_MAP_BIG
			: x < 98 ? OP_UNMAP_TABLE : OP_MAP_BADPROT;
		if (o->kind == OP_MAP_BIG) {
			uint64_t sz = c->big ? c->big : span;

			o->iova &= ~(sz - 1);
			o->pa &= ~(sz - 1);
		}
		if (o->kind == OP_UNMAP_TABLE)
			o->iova &= ~(span - 1);
	}
}

static int unmap_general(struct iopt_pt *pt, uint64_t iova, uint64_t pgsize, uint64_t n,
			 uint64_t *bytes)
{
	struct iopt_gather g;
	int r;

	iopt_gather_init(&g, false, NULL, NULL);
	r = iopt_pt_unmap_pages(pt, iova, pgsize, n, &g, bytes);
	iopt_gather_sync(&g);
	return r;
}

/* One pass; fast = try the leaf paths first. Returns how often they did the work. */
static unsigned run(const struct lcase *c, struct rec *rec, bool fast, struct iopt_pt **out)
{
	struct iopt_pt_cfg cfg = c->cfg;
	struct iopt_pt *pt;
	uint64_t g = 1ull << c->g, span = 1ull << (c->g + c->bpl), bytes;
	unsigned hits = 0, bad = 0;

	cfg.provider = &rec->p;
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	for (int i = 0; i < OPS; i++) {
		struct op *o = &ops[i];
		int r = 0;

		bytes = 0;
		switch (o->kind) {
		case OP_MAP:
		case OP_MAP_BADPROT: {
			unsigned prot = o->kind == OP_MAP ? o->prot : 0;

			r = fast ? iopt_pt_map_leaf(pt, o->iova, o->pa, prot) : 0;
			if (r == 1) {
				hits++;
				r = 0;
			} else {
				bad += r != 0;
				r = iopt_pt_map_pages(pt, o->iova, o->pa, g, 1, prot, NULL);
			}
			break;
		}
		case OP_UNMAP:
			r = fast ? iopt_pt_unmap_leaf(pt, o->iova) : 0;
			if (r == 1 || r == -ENOENT) {
				hits++;
				bytes = r == 1 ? g : 0;
				r = 0;
			} else {
				bad += r != 0;
				r = unmap_general(pt, o->iova, g, 1, &bytes);
			}
			break;
		case OP_MAP_BIG:
			r = iopt_pt_map_pages(pt, o->iova, o->pa, c->big ? c->big : span, 1, o->prot,
					      NULL);
			break;
		case OP_UNMAP_TABLE:
			r = unmap_general(pt, o->iova, g, span >> c->g, &bytes);
			break;
		}
		if (!fast) {
			o->r = r;
			o->bytes = bytes;
		} else if (r != o->r || bytes != o->bytes) {
			printf("#   op %d kind %d iova %#llx: %d/%llu, reference %d/%llu\n", i, o->kind,
			       (unsigned long long)o->iova, r, (unsigned long long)bytes, o->r,
			       (unsigned long long)o->bytes);
			bad++;
		}
	}
	CHECK_EQ(bad, 0);
	*out = pt;
	return hits;
}

static void twin(const struct lcase *c, uint64_t seed)
{
	struct rec ra, rb;
	struct iopt_pt *pa, *pb;

	TEST(c->name);
	rec_init(&ra, c->hook);
	rec_init(&rb, c->hook);
	gen_ops(c, seed);
	CHECK_EQ(run(c, &ra, false, &pa), 0);
	unsigned hits = run(c, &rb, true, &pb);
	if (c->hook)
		CHECK_EQ(hits, 0); /* every write must reach entries_written */
	else
		CHECK(hits > OPS / 2); /* the fast paths do run */
	CHECK_EQ(ra.written, rb.written);
	CHECK(same_tables(&ra, &rb));
	iopt_pt_free(pa);
	iopt_pt_free(pb);
}

/* Directed declines: nothing changes, the general call then reports the error. */
static void declines(void)
{
	struct iopt_pt_cfg cfg = { .format = IOPT_PT_X86_64, .ias = 48 };
	struct iopt_pt *pt;
	struct iopt_gather g;
	uint64_t a = 1ull << 30, phys, bytes;
	const unsigned rw = IOPT_PROT_READ | IOPT_PROT_WRITE;

	TEST("declines: no cached table, occupied, bad prot, misaligned, detached table");
	REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
	CHECK_EQ(iopt_pt_map_leaf(pt, a, 0x5000, rw), 0); /* nothing cached for this object */
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a), 0);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a, &phys), -ENOENT);
	CHECK_EQ(iopt_pt_map_pages(pt, a, 0x5000, 4096, 1, rw, NULL), 0);
	CHECK_EQ(iopt_pt_map_leaf(pt, a, 0x6000, rw), 0); /* occupied */
	CHECK_EQ(iopt_pt_map_pages(pt, a, 0x6000, 4096, 1, rw, NULL), -EBUSY);
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096, 0x6000, 0), 0); /* prot */
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096, 0x6000, IOPT_PROT_WRITE), 0);
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096, 0x6800, rw), 0); /* paddr */
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096 + 8, 0x6000, rw), 0); /* iova */
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096, 1ull << 52, rw), 0); /* beyond oas */
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a + 8), 0);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a + 4096, &phys), -ENOENT);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a, &phys), 0);
	CHECK_EQ(phys, 0x5000);
	CHECK_EQ(iopt_pt_map_leaf(pt, a + 4096, 0x6000, rw), 1);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a + 4096, &phys), 0);
	CHECK_EQ(phys, 0x6000);
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a + 4096), 1);
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a + 4096), -ENOENT);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a + 4096, &phys), -ENOENT);
	/* The whole leaf table goes: the cache is stale (gen), both decline. */
	iopt_gather_init(&g, false, NULL, NULL);
	CHECK_EQ(iopt_pt_unmap_pages(pt, a, 2u << 20, 1, &g, &bytes), 0);
	CHECK(g.freelist != NULL);
	iopt_gather_sync(&g);
	CHECK_EQ(iopt_pt_map_leaf(pt, a, 0x5000, rw), 0);
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a), 0);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a, &phys), -ENOENT);
	/* A 2 MiB leaf: the cache names a level-1 table, no leaf path. */
	CHECK_EQ(iopt_pt_map_pages(pt, a, 2u << 20, 2u << 20, 1, rw, NULL), 0);
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a), 0);
	CHECK_EQ(iopt_pt_unmap_leaf(pt, a + 4096), 0);
	CHECK_EQ(iopt_pt_iova_to_phys(pt, a + 4096, &phys), 0);
	CHECK_EQ(phys, (2u << 20) + 4096);
	iopt_pt_free(pt);
}

/*
 * The attribute memo is per object: the same prot on two objects of one
 * format whose flags differ (HW_DIRTY: no D bit preset) gives each its own
 * bits. Slot 1 (map_leaf) must carry the attributes of slot 0 (map_pages).
 */
static void memo_per_object(void)
{
	const unsigned rw = IOPT_PROT_READ | IOPT_PROT_WRITE;
	const unsigned flags[2] = { 0, IOPT_PT_F_HW_DIRTY };
	uint64_t w[2][2];

	TEST("attribute memo: per object, not per format");
	for (int k = 0; k < 2; k++) {
		struct iopt_pt_cfg cfg = { .format = IOPT_PT_X86_64, .ias = 48, .flags = flags[k] };
		struct rec r;
		struct iopt_pt *pt;

		rec_init(&r, false);
		cfg.provider = &r.p;
		REQUIRE(iopt_pt_create(&cfg, &pt) == 0);
		CHECK_EQ(iopt_pt_map_pages(pt, 1ull << 30, 0x5000, 4096, 1, rw, NULL), 0);
		CHECK_EQ(iopt_pt_map_leaf(pt, (1ull << 30) + 4096, 0x6000, rw), 1);
		const uint64_t *leaf = r.virt[r.n - 1]; /* allocated last: the leaf table */
		w[k][0] = leaf[0];
		w[k][1] = leaf[1];
		CHECK_EQ(w[k][0] ^ w[k][1], 0x5000 ^ 0x6000);
		iopt_pt_free(pt);
	}
	CHECK(w[0][0] != w[1][0]); /* the flags do change the bits */
}

int main(void)
{
	const uint64_t K = 1024;
	const struct lcase cases[] = {
		{ "x86_64/48", { .format = IOPT_PT_X86_64, .ias = 48 }, 12, 9, 0, false },
		/* same format, other flags (no D bit preset): the attribute memo is per object */
		{ "x86_64/48/hw-dirty", { .format = IOPT_PT_X86_64, .ias = 48, .flags = IOPT_PT_F_HW_DIRTY },
		  12, 9, 0, false },
		{ "vtd_ss/48", { .format = IOPT_PT_VTD_SS, .ias = 48 }, 12, 9, 0, false },
		/* replicated 16 KiB leaves at level 0: unmap_leaf must leave them */
		{ "amd_v1/48/16k", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1,
				     .pgsize_bitmap = (4 * K) | (16 * K) | (2 * K * K) }, 12, 9, 16 * K, false },
		/* contiguous 64 KiB runs of 4 KiB slots */
		{ "lpae_s1/4k/contig", { .format = IOPT_PT_LPAE_S1, .ias = 39, .granule_lg2 = 12 },
		  12, 9, 64 * K, false },
		{ "lpae_s2/16k", { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 14 }, 14, 11, 0,
		  false },
		{ "lpae_s1/64k", { .format = IOPT_PT_LPAE_S1, .ias = 42, .granule_lg2 = 16 }, 16, 13, 0,
		  false },
		{ "x86_64/48/written-hook", { .format = IOPT_PT_X86_64, .ias = 48 }, 12, 9, 0, true },
	};

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		twin(&cases[i], 0x5eed + i);
	declines();
	memo_per_object();
	return tap_done();
}
