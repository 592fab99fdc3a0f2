/* SPDX-License-Identifier: MIT */
/*
 * Known-answer tests: for chosen mappings, the exact 64-bit entries at the
 * exact slots, derived by hand from /work/shared/docs/hw-facts.md. Each
 * block states its derivation. Index notation: ARM/Intel level names, and
 * our 0-based level (0 = leaf table) in brackets.
 *
 * Common address used below: iova 0x40201000
 *   = bit 30 (1 GiB) + bit 21 (2 MiB) + bit 12 (4 KiB), so with 4 KiB/9-bit
 *   levels: idx[3] = bits 47:39 = 0, idx[2] = bits 38:30 = 1,
 *   idx[1] = bits 29:21 = 1, idx[0] = bits 20:12 = 1.
 */
#include "pt_test.h"

#define TBL(e, mask) pt_tbl((e) & (mask))
#define A51_12 0x000ffffffffff000ull
#define A47_12 0x0000fffffffff000ull

static struct iopt_pt *mk(struct iopt_pt_cfg cfg)
{
	struct iopt_pt *pt = NULL;
	int r = iopt_pt_create(&cfg, &pt);

	REQUIRE(r == 0 && pt);
	return pt;
}

static uint64_t phys(struct iopt_pt *pt, uint64_t iova)
{
	uint64_t pa = 0;

	return iopt_pt_iova_to_phys(pt, iova, &pa) ? ~0ull : pa;
}

static void kat_x86_64(void)
{
	TEST("x86_64 KAT (hw-facts §3.1)");
	struct iopt_pt *pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_X86_64, .ias = 48,
						       .flags = IOPT_PT_F_SIGN_EXTEND });
	unsigned levels;
	uint64_t *root = test_root(pt, &levels), m;

	CHECK_EQ(levels, 4);
	/*
	 * 4K RW at 0x40201000 -> 0x12345000. Tables: P|RW|U|A = 0x27 + address.
	 * Leaf: P|RW|U|A|D (writable, no HW dirty: D preset, §1.4/§3.1) = 0x67.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0x12345000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE, &m), 0);
	CHECK_EQ(m, 4096);
	CHECK_EQ(root[0] & 0xfff, 0x27);
	uint64_t *l2 = TBL(root[0], A51_12);
	CHECK_EQ(l2[1] & 0xfff, 0x27);
	uint64_t *l1 = TBL(l2[1], A51_12);
	uint64_t *l0 = TBL(l1[1], A51_12);
	CHECK_EQ(l0[1], 0x12345067ull);
	CHECK_EQ(phys(pt, 0x40201abc), 0x12345abcull);
	/*
	 * 2M read-only at 0x40400000 (idx[1] = 2) -> 0x40000000:
	 * P|U|A|PS = 0x1+0x4+0x20+0x80 = 0xa5.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40400000, 0x40000000, 2ull << 20, 1, IOPT_PROT_READ, &m), 0);
	CHECK_EQ(l1[2], 0x400000a5ull);
	/*
	 * 1G RW+NOEXEC at 0x100000000 (idx[2] = 4) -> 0x80000000:
	 * 0x67 | PS 0x80 = 0xe7, XD = bit 63.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x100000000ull, 0x80000000ull, 1ull << 30, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_NOEXEC, &m), 0);
	CHECK_EQ(l2[4], 0x80000000800000e7ull);
	CHECK_EQ(phys(pt, 0x100000000ull + 0x12345678), 0x80000000ull + 0x12345678);
	/*
	 * Canonical upper half (§3.1, SIGN_EXTEND): 0xffff800000000000 has bit 47
	 * set -> idx[3] = 256; PRIV clears U/S: leaf P|A = 0x21.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0xffff800000000000ull, 0x5000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_PRIV, &m), 0);
	uint64_t *u2 = TBL(root[256], A51_12), *u1 = TBL(u2[0], A51_12), *u0 = TBL(u1[0], A51_12);
	CHECK_EQ(u0[0], 0x5021ull);
	CHECK_EQ(phys(pt, 0xffff800000000010ull), 0x5010ull);
	/* Non-canonical and write-only requests are refused (§3.1). */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x0000800000000000ull, 0, 4096, 1, IOPT_PROT_READ, &m), -ERANGE);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x7000, 0, 4096, 1, IOPT_PROT_WRITE, &m), -EINVAL);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0, 4096, 1, IOPT_PROT_READ, &m), -EBUSY);
	CHECK_EQ(m, 0);
	iopt_pt_free(pt);

	/* 57-bit: 5 levels (§3.2). */
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_X86_64, .ias = 57 });
	test_root(pt, &levels);
	CHECK_EQ(levels, 5);
	iopt_pt_free(pt);
}

static void kat_vtd_ss(void)
{
	TEST("vtd_ss KAT (hw-facts §1.1, §1.2)");
	unsigned levels;
	uint64_t m;
	/* 39/48/57 bits -> 3/4/5 levels (§1.1). */
	static const unsigned ias[] = { 39, 48, 57 }, want[] = { 3, 4, 5 };

	for (int i = 0; i < 3; i++) {
		struct iopt_pt *p = mk((struct iopt_pt_cfg){ .format = IOPT_PT_VTD_SS, .ias = ias[i] });

		test_root(p, &levels);
		CHECK_EQ(levels, want[i]);
		iopt_pt_free(p);
	}
	/* Snoop control (ECAP.SC, IOPT_PT_F_SNOOP): CACHE writes SNP. */
	struct iopt_pt *pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_VTD_SS, .ias = 39,
						      .flags = IOPT_PT_F_SNOOP });
	uint64_t *root = test_root(pt, &levels);
	/*
	 * 3 levels: idx[2] = 1, idx[1] = 1, idx[0] = 1. Tables R|W = 0x3.
	 * Leaf RW + CACHE: R|W|SNP(bit 11) = 0x803.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0x12345000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE, &m), 0);
	CHECK_EQ(root[1] & 0xfff, 0x3);
	uint64_t *l1 = TBL(root[1], A51_12), *l0 = TBL(l1[1], A51_12);
	CHECK_EQ(l0[1], 0x12345803ull);
	/* Write-only is expressible (W without R = 0x2); 2M adds PS (bit 7). */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40400000, 0x200000, 2ull << 20, 1, IOPT_PROT_WRITE, &m), 0);
	CHECK_EQ(l1[2], 0x200082ull);
	/* 1G at idx[2] = 2: R|PS = 0x81. */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x80000000ull, 0xc0000000ull, 1ull << 30, 1, IOPT_PROT_READ, &m), 0);
	CHECK_EQ(root[2], 0xc0000081ull);
	/* No present bit: neither R nor W is refused (§1.2). */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x1000, 0x1000, 4096, 1, IOPT_PROT_CACHE, &m), -EINVAL);
	/* Outside 39 bits. */
	CHECK_EQ(iopt_pt_map_pages(pt, 1ull << 39, 0x1000, 4096, 1, IOPT_PROT_READ, &m), -ERANGE);
	iopt_pt_free(pt);

	/*
	 * Without snoop control SNP is reserved (QEMU faults it, docs/QEMU.md):
	 * CACHE is accepted and the leaf is R|W = 0x3, a 2M leaf R|W|PS = 0x83.
	 */
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_VTD_SS, .ias = 39 });
	root = test_root(pt, &levels);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0x12345000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE, &m), 0);
	l1 = TBL(root[1], A51_12);
	l0 = TBL(l1[1], A51_12);
	CHECK_EQ(l0[1], 0x12345003ull);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40400000, 0x200000, 2ull << 20, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE, &m), 0);
	CHECK_EQ(l1[2], 0x200083ull);
	iopt_pt_free(pt);
}

static unsigned grow_calls, grow_levels;
static uint64_t grow_root;
static void on_grow(void *ctx, uint64_t root, unsigned levels)
{
	(void)ctx;
	grow_calls++;
	grow_levels = levels;
	grow_root = root;
}

static void kat_amd_v1(void)
{
	TEST("amd_v1 KAT (hw-facts §2.2-§2.4)");
	unsigned levels;
	uint64_t m;
	struct iopt_pt *pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 3 });
	uint64_t *root = test_root(pt, &levels);

	CHECK_EQ(levels, 3);
	/*
	 * 4K RW at 0x40201000: PDE at level 3 (1-based) points to a level-2
	 * table: NextLevel = 2 -> bits 11:9 = 0x400; PR|IR|IW -> 0x6000000000000401.
	 * Leaf: PR|IR|IW, NextLevel 0 -> 0x6000000012345001.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0x12345000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE, &m), 0);
	CHECK_EQ(root[1] & ~A51_12, 0x6000000000000401ull);
	uint64_t *l1 = TBL(root[1], A51_12);
	CHECK_EQ(l1[1] & ~A51_12, 0x6000000000000201ull); /* NextLevel = 1 */
	uint64_t *l0 = TBL(l1[1], A51_12);
	CHECK_EQ(l0[1], 0x6000000012345001ull);
	/*
	 * 16K (2^14) at 0x40210000 (idx[0] = 16..19) -> 0x50000, read only:
	 * NextLevel = 7 (0xe00); size code: bits 12..n-2 = bit 12 set, bit 13
	 * clear -> address field 0x51000. PR|IR = 0x2000000000000001.
	 * Replicated identically in 4 slots (§2.4).
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40210000, 0x50000, 16384, 1, IOPT_PROT_READ, &m), 0);
	for (int k = 16; k < 20; k++)
		CHECK_EQ(l0[k], 0x2000000000051e01ull);
	CHECK_EQ(l0[20], 0);
	CHECK_EQ(phys(pt, 0x40213004), 0x53004ull);
	/*
	 * 4M at 0x40800000 (idx[1] = 4, 5) -> 0xc00000 RW: level 1 (0-based) since
	 * floor((22-12)/9) = 1; code bits 12..20 set = 0x1ff000, bit 21 clear:
	 * 0xc00000|0x1ff000|0xe00|0x1|IR|IW = 0x6000000000dffe01 in 2 slots.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40800000, 0xc00000, 4ull << 20, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE, &m), 0);
	CHECK_EQ(l1[4], 0x6000000000dffe01ull);
	CHECK_EQ(l1[5], 0x6000000000dffe01ull);
	CHECK_EQ(phys(pt, 0x40800000 + 0x3fffff), 0xc00000ull + 0x3fffff);
	/* 2M natural size at level 1 uses NextLevel 0, never 7 (§2.3): FC for CACHE. */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40c00000, 0x600000, 2ull << 20, 1,
				   IOPT_PROT_READ | IOPT_PROT_CACHE, &m), 0);
	CHECK_EQ(l1[6], 0x3000000000600001ull); /* IR|FC|PR */
	/* 512 GiB is never offered (erratum, §2.4). */
	CHECK(!(iopt_pt_pgsize_bitmap(pt) & (1ull << 39)));
	CHECK(iopt_pt_pgsize_bitmap(pt) & (1ull << 40));
	iopt_pt_free(pt);

	/*
	 * Dynamic top: start with 1 level (reach 2 MiB); mapping at 1 GiB needs
	 * 3 levels: two new tops, each with entry 0 -> old root (NextLevel =
	 * old level count), hook called with the final root and mode 3.
	 */
	grow_calls = 0;
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 64, .start_levels = 1,
				       .change_top = on_grow });
	uint64_t *old_root = test_root(pt, &levels);
	CHECK_EQ(levels, 1);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x1000, 0x7000, 4096, 1, IOPT_PROT_READ, &m), 0);
	CHECK_EQ(old_root[1], 0x2000000000007001ull);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40000000, 0x8000, 4096, 1, IOPT_PROT_READ, &m), 0);
	root = test_root(pt, &levels);
	CHECK_EQ(levels, 3);
	CHECK_EQ(grow_calls, 2);
	CHECK_EQ(grow_levels, 3);
	CHECK_EQ((uint64_t)(uintptr_t)root, grow_root);
	uint64_t *mid = TBL(root[0], A51_12);
	CHECK_EQ(root[0] & ~A51_12, 0x6000000000000401ull);
	CHECK_EQ(mid[0], (uint64_t)(uintptr_t)old_root | 0x6000000000000201ull);
	CHECK_EQ(phys(pt, 0x1234), 0x7234ull);
	CHECK_EQ(phys(pt, 0x40000010), 0x8010ull);
	/* Full 64-bit space: 6 levels; the top uses bits 63:57. */
	iopt_pt_free(pt);
	/*
	 * A 2M page at IOVA 0 on a 1-level (2 MiB reach) table: grow to 2
	 * levels; the new top's slot 0 (old root, empty) becomes the leaf
	 * PR|IR = 0x2000000000000001 | 0x400000, NextLevel 0; the old root
	 * is freed.
	 */
	struct test_prov tp;
	test_prov_init(&tp);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1,
				       .provider = &tp.p });
	CHECK_EQ(iopt_pt_map_pages(pt, 0, 0x400000, 2u << 20, 1, IOPT_PROT_READ, &m), 0);
	root = test_root(pt, &levels);
	CHECK_EQ(levels, 2);
	CHECK_EQ(root[0], 0x2000000000400001ull);
	CHECK_EQ(atomic_load(&tp.live), 1);
	/* Not empty: refused, nothing changed. */
	iopt_pt_free(pt);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1 });
	CHECK_EQ(iopt_pt_map_pages(pt, 0x1000, 0x1000, 4096, 1, IOPT_PROT_READ, &m), 0);
	CHECK_EQ(iopt_pt_map_pages(pt, 0, 0x400000, 2u << 20, 1, IOPT_PROT_READ, &m), -EBUSY);
	test_root(pt, &levels);
	CHECK_EQ(levels, 1);
	CHECK_EQ(phys(pt, 0x1008), 0x1008ull);
	iopt_pt_free(pt);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_AMD_V1, .ias = 64, .start_levels = 1 });
	CHECK_EQ(iopt_pt_map_pages(pt, 0xfffffffffffff000ull, 0x9000, 4096, 1, IOPT_PROT_READ, &m), 0);
	test_root(pt, &levels);
	CHECK_EQ(levels, 6);
	CHECK_EQ(phys(pt, 0xffffffffffffffffull), 0x9fffull);
	iopt_pt_free(pt);
}

static void kat_lpae(void)
{
	TEST("lpae KAT (hw-facts §4.1-§4.7)");
	unsigned levels;
	uint64_t m;
	struct iopt_pt *pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12 });
	uint64_t *root = test_root(pt, &levels);

	CHECK_EQ(levels, 4); /* ceil((48-12)/9) = 4, start at L0 */
	/*
	 * Stage 1, 4K RW + CACHE at 0x40201000 -> 0x12345000. Table: addr | 0b11.
	 * Page: AF 0x400 | nG 0x800 | AP[1] 0x40 (unpriv) | AttrIndx 1 << 2 = 0x4 |
	 * SH inner 0x300 | 0b11 = 0xf47.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40201000, 0x12345000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE, &m), 0);
	CHECK_EQ(root[0] & 0xfff, 0x3);
	uint64_t *l2 = TBL(root[0], A47_12), *l1 = TBL(l2[1], A47_12), *l0 = TBL(l1[1], A47_12);
	CHECK_EQ(l0[1], 0x12345f47ull);
	/*
	 * Contiguous 64K (16 x 4K, §4.4) read-only at 0x40210000 (slots 16..31)
	 * -> 0x200000: AF|nG|AP[1]|AP[2] 0x80|SH outer 0x200|idx 0|0b11 = 0xec3,
	 * Contiguous bit 52; each slot its own OA.
	 */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40210000, 0x200000, 65536, 1, IOPT_PROT_READ, &m), 0);
	for (int k = 0; k < 16; k++)
		CHECK_EQ(l0[16 + k], 0x0010000000200ec3ull + ((uint64_t)k << 12));
	CHECK_EQ(phys(pt, 0x4021f008), 0x20f008ull);
	/* 2M block at idx[1] = 2: type 0b01, MMIO -> AttrIndx 2 (0x8), NOEXEC bits 53, 54. */
	CHECK_EQ(iopt_pt_map_pages(pt, 0x40400000, 0x400000, 2ull << 20, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_MMIO | IOPT_PROT_NOEXEC, &m), 0);
	CHECK_EQ(l1[2], 0x0060000000400c49ull); /* 0x400|0x800|0x40|0x8|0b01 */
	iopt_pt_free(pt);

	/*
	 * Stage 2, 4K granule, 40-bit IPA: ceil(28/9) = 4 levels with a 1-bit
	 * start -> concatenated: 3 levels, 2 start tables (10 index bits, 8 KiB
	 * root), mandatory case of §4.5. iova 2^39 + 0x1000: top idx 512.
	 * Leaf RW: AF 0x400 | S2AP 0xc0 | MemAttr 0x5 << 2 = 0x14 | SH outer 0x200
	 * | 0b11 = 0x6d7.
	 */
	struct test_prov tp;
	test_prov_init(&tp);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12, .provider = &tp.p });
	root = test_root(pt, &levels);
	CHECK_EQ(levels, 3);
	CHECK_EQ(tp.max_size, 8192);
	CHECK_EQ(iopt_pt_map_pages(pt, (1ull << 39) + 0x1000, 0x3000, 4096, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE, &m), 0);
	CHECK(root[512] != 0);
	l1 = TBL(root[512], A47_12);
	l0 = TBL(l1[0], A47_12);
	CHECK_EQ(l0[1], 0x36d7ull);
	CHECK_EQ(iopt_pt_map_pages(pt, 0, 0, 4096, 1, IOPT_PROT_READ | IOPT_PROT_PRIV, &m), -EINVAL);
	iopt_pt_free(pt);

	/* Stage 2, 16K granule, 48-bit: 4 levels, 1-bit start -> 3 levels, 2 tables of 2048 (§4.5). */
	test_prov_init(&tp);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S2, .ias = 48, .granule_lg2 = 14, .provider = &tp.p });
	test_root(pt, &levels);
	CHECK_EQ(levels, 3);
	CHECK_EQ(tp.max_size, 32768);
	iopt_pt_free(pt);
	/* Stage 2, 16K granule, 40-bit: 3 levels with 4-bit start -> 2 levels, 16 tables. */
	test_prov_init(&tp);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 14, .provider = &tp.p });
	test_root(pt, &levels);
	CHECK_EQ(levels, 2);
	CHECK_EQ(tp.max_size, 16 * 16384);
	iopt_pt_free(pt);

	/*
	 * 52-bit OA, 64K granule (FEAT_LPA, §4.6): PA bits 51:48 in descriptor
	 * bits 15:12. 48-bit input: ceil(32/13) = 3 levels, 64-entry start.
	 * 64K page RW at 0x10000 (L3 idx 1) -> 0xf000000010000:
	 * 0x10000 | 0xf000 | AF|nG|AP[1]|SH outer|0b11 (0xe43) = 0x1fe43.
	 */
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 16,
				       .flags = IOPT_PT_F_LPA });
	root = test_root(pt, &levels);
	CHECK_EQ(levels, 3);
	CHECK_EQ(iopt_pt_map_pages(pt, 0x10000, 0xf000000010000ull, 65536, 1,
				   IOPT_PROT_READ | IOPT_PROT_WRITE, &m), 0);
	l1 = TBL(root[0], A47_12);
	l0 = TBL(l1[0], A47_12);
	CHECK_EQ(l0[1], 0x1fe43ull);
	CHECK_EQ(phys(pt, 0x1abcd), 0xf00000001abcdull);
	/* 4 TiB blocks exist only with 52-bit OA (§4.1). */
	CHECK(iopt_pt_pgsize_bitmap(pt) & (1ull << 42));
	iopt_pt_free(pt);
	pt = mk((struct iopt_pt_cfg){ .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 16 });
	CHECK(!(iopt_pt_pgsize_bitmap(pt) & (1ull << 42)));
	CHECK_EQ(iopt_pt_map_pages(pt, 0x10000, 1ull << 48, 65536, 1, IOPT_PROT_READ, &m), -ERANGE);
	iopt_pt_free(pt);
}

int main(void)
{
	kat_x86_64();
	kat_vtd_ss();
	kat_amd_v1();
	kat_lpae();
	return tap_done();
}
