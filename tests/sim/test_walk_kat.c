/* SPDX-License-Identifier: MIT */
/*
 * Known-answer tests for the simulator's hardware walkers on hand-written
 * tables: entries the engine never writes (permission limits in non-leaf
 * entries, AMD skipped levels and hand-encoded NextLevel=7 size codes,
 * reserved bits, ARM APTable/XNTable, level-3 "01" descriptors, 52-bit LPA
 * addresses, concatenated stage-2 roots, DBM). The walker must read them as
 * hw-facts §1-§4 say the hardware does; test_walk.c only covers what the
 * engine emits.
 */
#include <stdlib.h>
#include <string.h>

#include "hw/mem.h"
#include "hw/walk.h"
#include "tap.h"

#define BIT(n) (1ull << (n))
#define PA(p) ((uint64_t)(uintptr_t)(p))

enum how { RD, WR, EX, USR };

static void *pages[64];
static unsigned npages;

/* A zeroed, size-aligned table; host address == physical (sim_mem_identity). */
static uint64_t *table(size_t size)
{
	void *p = aligned_alloc(size, size);

	REQUIRE(p && npages < 64);
	memset(p, 0, size);
	pages[npages++] = p;
	return p;
}

static struct sim_xlate go(const struct sim_walk_cfg *c, uint64_t va, enum how h)
{
	struct sim_access a = { .write = h == WR, .exec = h == EX, .priv = h != USR };
	struct sim_xlate x;

	REQUIRE(sim_walk(c, va, &a, &x) == 0);
	return x;
}

/* Translates to pa with a leaf of `size`. */
#define XOK(c, va, h, want_pa, want_size)                                                   \
	do {                                                                                \
		struct sim_xlate _x = go(c, va, h);                                         \
		if (!CHECK(_x.fault == SIM_OK && _x.pa == (want_pa) &&                      \
			   _x.page_size == (want_size)))                                    \
			printf("#   va %#llx: fault %d pa %#llx size %#llx\n",                \
			       (unsigned long long)(va), _x.fault, (unsigned long long)_x.pa, \
			       (unsigned long long)_x.page_size);                            \
	} while (0)
#define XFAULT(c, va, h, f) CHECK_EQ(go(c, va, h).fault, f)

static uint64_t va4(unsigned i3, unsigned i2, unsigned i1, unsigned i0, uint64_t off)
{
	return (uint64_t)i3 << 39 | (uint64_t)i2 << 30 | (uint64_t)i1 << 21 | (uint64_t)i0 << 12 | off;
}

static void vtd(void)
{
	uint64_t *t4 = table(4096), *t3 = table(4096), *t2 = table(4096), *t1 = table(4096);
	struct sim_walk_cfg c = { .format = IOPT_PT_VTD_SS, .ias = 48, .levels = 4, .root = PA(t4),
				  .mem = sim_mem_identity };
	const uint64_t R = 1, W = 2, PS = BIT(7);

	TEST("VT-d SS: R/W ANDed along the walk, PS, reserved bits, A/D");
	t4[1] = PA(t3) | R | W;
	t3[2] = PA(t2) | R | W;
	t2[3] = PA(t1) | R | W;
	t1[4] = 0xABCDE000 | R;
	XOK(&c, va4(1, 2, 3, 4, 0x123), RD, 0xABCDE123, 4096);
	CHECK_EQ(go(&c, va4(1, 2, 3, 4, 0), RD).reads, 4);
	XFAULT(&c, va4(1, 2, 3, 4, 0), WR, SIM_F_PERM);
	t1[4] |= W;
	XOK(&c, va4(1, 2, 3, 4, 8), WR, 0xABCDE008, 4096);
	t2[3] = PA(t1) | R; /* a read-only PDE limits the writable leaf below it */
	XFAULT(&c, va4(1, 2, 3, 4, 0), WR, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	t2[3] = PA(t1) | R | W;
	/* no present bit: W alone is present (write-only) */
	t1[5] = 0x5000 | W;
	XOK(&c, va4(1, 2, 3, 5, 0), WR, 0x5000, 4096);
	XFAULT(&c, va4(1, 2, 3, 5, 0), RD, SIM_F_PERM);
	/* 2 MiB and 1 GiB leaves; address bits below the page size are reserved */
	t2[5] = 0x40000000 | R | W | PS;
	XOK(&c, va4(1, 2, 5, 7, 0x321), RD, 0x40000000 + (7 << 12) + 0x321, 2u << 20);
	t2[6] = 0x40001000 | R | W | PS;
	XFAULT(&c, va4(1, 2, 6, 0, 0), RD, SIM_F_RESERVED);
	t3[3] = 0x80000000 | R | W | PS;
	XOK(&c, va4(1, 3, 9, 1, 4), RD, 0x80000000 + (9 << 21) + 4096 + 4, 1u << 30);
	t3[4] = 0x80200000 | R | W | PS;
	XFAULT(&c, va4(1, 4, 0, 0, 0), RD, SIM_F_RESERVED);
	/* PS in a PML4E is reserved */
	t4[2] = 0x8000000000 | R | W | PS;
	XFAULT(&c, va4(2, 0, 0, 0, 0), RD, SIM_F_RESERVED);
	/* TM (bit 62) is reserved; SNP (bit 11) only in leaves, and there only with snoop control */
	t1[6] = 0x6000 | R | BIT(62);
	XFAULT(&c, va4(1, 2, 3, 6, 0), RD, SIM_F_RESERVED);
	t1[7] = 0x7000 | R | BIT(11);
	t2[7] = 0x40400000 | R | PS | BIT(11);
	XFAULT(&c, va4(1, 2, 3, 7, 0), RD, SIM_F_RESERVED); /* ECAP.SC = 0, as QEMU 7.2 */
	XFAULT(&c, va4(1, 2, 7, 0, 0), RD, SIM_F_RESERVED);
	c.snoop_ctl = true;
	XOK(&c, va4(1, 2, 3, 7, 0), RD, 0x7000, 4096);
	XOK(&c, va4(1, 2, 7, 1, 0), RD, 0x40401000, 2u << 20);
	t3[6] = PA(t2) | R | W | BIT(11);
	XFAULT(&c, va4(1, 6, 3, 4, 0), RD, SIM_F_RESERVED);
	c.snoop_ctl = false;
	/* empty entries, input and address widths */
	struct sim_xlate x = go(&c, va4(3, 0, 0, 0, 0), RD);
	CHECK(x.fault == SIM_F_NOT_PRESENT && x.fault_level == 3);
	x = go(&c, va4(1, 2, 3, 9, 0), RD);
	CHECK(x.fault == SIM_F_NOT_PRESENT && x.fault_level == 0);
	XFAULT(&c, BIT(48), RD, SIM_F_ADDR_SIZE);
	c.oas = 47; /* a next-table address above the host address width */
	t3[7] = BIT(50) | R | W;
	x = go(&c, va4(1, 7, 0, 0, 0), RD);
	CHECK(x.fault == SIM_F_RESERVED && x.fault_level == 2);
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	c.oas = 0;
	/* SSADE: a read sets A, a write A and D, in the leaf */
	c.dirty_tracking = true;
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	CHECK((t1[4] & (BIT(8) | BIT(9))) == BIT(8));
	XOK(&c, va4(1, 2, 3, 4, 0), WR, 0xABCDE000, 4096);
	CHECK((t1[4] & (BIT(8) | BIT(9))) == (BIT(8) | BIT(9)));
	c.dirty_tracking = false;
	t1[5] = 0x5000 | W;
	XOK(&c, va4(1, 2, 3, 5, 0), WR, 0x5000, 4096);
	CHECK_EQ(t1[5], 0x5000 | W); /* no SSADE: the entry is not written */
}

static void x86(void)
{
	uint64_t *p4 = table(4096), *p3 = table(4096), *p2 = table(4096), *p1 = table(4096);
	struct sim_walk_cfg c = { .format = IOPT_PT_X86_64, .ias = 48, .levels = 4, .root = PA(p4),
				  .mem = sim_mem_identity };
	const uint64_t P = 1, RW = 2, U = 4, A = BIT(5), D = BIT(6), PS = BIT(7), XD = BIT(63);

	TEST("x86-64: RW/U/XD ANDed along the walk, PS, PAT, canonical halves, A/D");
	p4[1] = PA(p3) | P | RW | U;
	p3[2] = PA(p2) | P | RW | U;
	p2[3] = PA(p1) | P | RW | U;
	p1[4] = 0xABCDE000 | P | RW | U;
	XOK(&c, va4(1, 2, 3, 4, 1), WR, 0xABCDE001, 4096);
	XOK(&c, va4(1, 2, 3, 4, 1), USR, 0xABCDE001, 4096);
	XOK(&c, va4(1, 2, 3, 4, 1), EX, 0xABCDE001, 4096);
	p2[3] = PA(p1) | P | RW; /* supervisor-only table */
	XFAULT(&c, va4(1, 2, 3, 4, 0), USR, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	p2[3] = PA(p1) | P | U; /* read-only table */
	XFAULT(&c, va4(1, 2, 3, 4, 0), WR, SIM_F_PERM);
	p2[3] = PA(p1) | P | RW | U;
	p4[1] |= XD;
	XFAULT(&c, va4(1, 2, 3, 4, 0), EX, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 4, 0), WR, 0xABCDE000, 4096);
	p4[1] &= ~XD;
	/* 1 GiB leaf: bit 12 is PAT, bits 29:13 reserved; PS in a PML4E reserved */
	p3[5] = 0x80000000 | P | RW | U | PS | BIT(12);
	XOK(&c, va4(1, 5, 1, 2, 3), RD, 0x80000000 + (1 << 21) + (2 << 12) + 3, 1u << 30);
	p3[6] = 0x80000000 | P | RW | U | PS | BIT(13);
	XFAULT(&c, va4(1, 6, 0, 0, 0), RD, SIM_F_RESERVED);
	p4[2] = 0x8000000000 | P | RW | U | PS;
	XFAULT(&c, va4(2, 0, 0, 0, 0), RD, SIM_F_RESERVED);
	/* in a 4 KiB PTE bit 7 is PAT, not PS */
	p1[5] = 0x5000 | P | U | PS;
	XOK(&c, va4(1, 2, 3, 5, 0), RD, 0x5000, 4096);
	XFAULT(&c, va4(3, 0, 0, 0, 0), RD, SIM_F_NOT_PRESENT);
	XFAULT(&c, BIT(48), RD, SIM_F_ADDR_SIZE);
	/* sign-extended: the upper half walks from PML4 index 256, the hole faults */
	c.flags = IOPT_PT_F_SIGN_EXTEND;
	p4[256] = PA(p3) | P | RW | U;
	XOK(&c, 0xFFFF800000000000ull | va4(0, 2, 3, 4, 9), RD, 0xABCDE009, 4096);
	XFAULT(&c, BIT(47), RD, SIM_F_ADDR_SIZE);
	XFAULT(&c, 0xFFFF000000000000ull, RD, SIM_F_ADDR_SIZE);
	c.flags = 0;
	/* hardware A/D: A along the walk, D in the leaf on a write only */
	c.dirty_tracking = true;
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	CHECK((p4[1] & A) && (p3[2] & A) && (p2[3] & A) && (p1[4] & A) && !(p1[4] & D));
	XOK(&c, va4(1, 2, 3, 4, 0), WR, 0xABCDE000, 4096);
	CHECK(p1[4] & D);
}

static void amd(void)
{
	uint64_t *a3 = table(4096), *a2 = table(4096), *a1 = table(4096), *b1 = table(4096);
	struct sim_walk_cfg c = { .format = IOPT_PT_AMD_V1, .ias = 39, .levels = 3, .root = PA(a3),
				  .mem = sim_mem_identity };
	const uint64_t PR = 1, D = BIT(6), IR = BIT(61), IW = BIT(62);
#define NL(n) ((uint64_t)(n) << 9)

	TEST("AMD v1: skipped levels, NextLevel=7 size codes, IR/IW ANDed, reserved encodings, D");
	/* level 3 points straight at a level-1 table: the level-2 index bits must be 0 */
	a3[1] = PA(a1) | PR | NL(1) | IR | IW;
	a1[4] = 0x12345000 | PR | IR | IW;
	XOK(&c, va4(0, 1, 0, 4, 0x10), WR, 0x12345010, 4096);
	CHECK_EQ(go(&c, va4(0, 1, 0, 4, 0), RD).reads, 2);
	XFAULT(&c, va4(0, 1, 1, 4, 0), RD, SIM_F_NOT_PRESENT);
	/* a PDE without IW makes everything below read-only */
	a3[2] = PA(a2) | PR | NL(2) | IR;
	a2[0] = PA(b1) | PR | NL(1) | IR | IW;
	/* 16 KiB page: bit 12 = 1, bit 13 = 0; written in 4 slots (4..7) */
	for (int i = 4; i < 8; i++)
		b1[i] = 0x20000000 | BIT(12) | PR | NL(7) | IR | IW;
	XOK(&c, va4(0, 2, 0, 6, 0x20), RD, 0x20000000 + 0x2020, 16384);
	XOK(&c, va4(0, 2, 0, 4, 0), RD, 0x20000000, 16384);
	CHECK_EQ(go(&c, va4(0, 2, 0, 6, 0x20), RD).entry_size, 4096); /* the copy read: one slot */
	XFAULT(&c, va4(0, 2, 0, 6, 0), WR, SIM_F_PERM);
	/* 4 MiB page at level 2: bits 20:12 = 1, bit 21 = 0; slots 2 and 3 */
	a2[2] = a2[3] = 0x40000000 | 0x1FF000 | PR | NL(7) | IR | IW;
	XOK(&c, va4(0, 2, 3, 5, 0x555), RD, 0x40000000 + (1 << 21) + (5 << 12) + 0x555, 4u << 20);
	CHECK_EQ(go(&c, va4(0, 2, 3, 5, 0x555), RD).entry_size, 2u << 20);
	/* natural 2 MiB leaf at level 2 (NextLevel 0) */
	a2[4] = 0x60000000 | PR | IR | IW;
	XOK(&c, va4(0, 2, 4, 1, 1), RD, 0x60000000 + 4096 + 1, 2u << 20);
	CHECK_EQ(go(&c, va4(0, 2, 4, 1, 1), RD).entry_size, 2u << 20);
	a3[2] |= IW;
	XOK(&c, va4(0, 2, 0, 7, 0), WR, 0x20000000 + 0x3000, 16384);
	/* NextLevel not below the entry's own level is invalid */
	a3[3] = PA(a2) | PR | NL(3) | IR | IW;
	XFAULT(&c, va4(0, 3, 0, 0, 0), RD, SIM_F_RESERVED);
	XFAULT(&c, va4(0, 5, 0, 0, 0), RD, SIM_F_NOT_PRESENT);
	XFAULT(&c, BIT(39), RD, SIM_F_ADDR_SIZE);
	/* mode 6: the top table (bits 63:57) holds no leaves */
	uint64_t *t6 = table(4096);
	struct sim_walk_cfg c6 = c;
	c6.levels = 6;
	c6.root = PA(t6);
	t6[1] = PR | IR | IW;
	XFAULT(&c6, BIT(57), RD, SIM_F_RESERVED);
	XFAULT(&c6, BIT(58), RD, SIM_F_NOT_PRESENT);
	/* HAD: a write sets D in the copy it walked through */
	c.dirty_tracking = true;
	XOK(&c, va4(0, 2, 0, 5, 0), WR, 0x20000000 + 0x1000, 16384);
	CHECK((b1[5] & D) && !(b1[4] & D) && !(b1[6] & D));
	XOK(&c, va4(0, 2, 0, 6, 0), RD, 0x20000000 + 0x2000, 16384);
	CHECK(!(b1[6] & D));
#undef NL
}

static void lpae_s1_4k(void)
{
	uint64_t *l0 = table(4096), *l1 = table(4096), *l2 = table(4096), *l3 = table(4096);
	struct sim_walk_cfg c = { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12,
				  .levels = 4, .root = PA(l0), .mem = sim_mem_identity };
	const uint64_t T = 3, BLK = 1, AF = BIT(10), AP1 = BIT(6), AP2 = BIT(7), DBM = BIT(51),
		       CONT = BIT(52), XN = BIT(54);

	TEST("ARM S1 4K: AP/APTable/XNTable, AF, level-3 01, blocks, contiguous, DBM, OAS");
	l0[1] = PA(l1) | T;
	l1[2] = PA(l2) | T;
	l2[3] = PA(l3) | T;
	l3[4] = 0xABCDE000 | T | AF | AP1;
	XOK(&c, va4(1, 2, 3, 4, 0x44), WR, 0xABCDE044, 4096);
	XOK(&c, va4(1, 2, 3, 4, 0x44), USR, 0xABCDE044, 4096);
	l3[5] = 0x5000 | T | AF | AP1 | AP2;
	XFAULT(&c, va4(1, 2, 3, 5, 0), WR, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 5, 0), USR, 0x5000, 4096);
	l3[6] = 0x6000 | T | AF | XN;
	XFAULT(&c, va4(1, 2, 3, 6, 0), USR, SIM_F_PERM);
	XFAULT(&c, va4(1, 2, 3, 6, 0), EX, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 6, 0), WR, 0x6000, 4096);
	l3[7] = 0x7000 | T | AP1; /* access flag clear, no hardware AF update */
	XFAULT(&c, va4(1, 2, 3, 7, 0), RD, SIM_F_PERM);
	l3[8] = 0x8000 | BLK | AF | AP1; /* "01" at level 3 is invalid */
	XFAULT(&c, va4(1, 2, 3, 8, 0), RD, SIM_F_NOT_PRESENT);
	/* hierarchical limits in table descriptors */
	l0[1] = PA(l1) | T | BIT(62);
	XFAULT(&c, va4(1, 2, 3, 4, 0), WR, SIM_F_PERM);
	l0[1] = PA(l1) | T | BIT(61);
	XFAULT(&c, va4(1, 2, 3, 4, 0), USR, SIM_F_PERM);
	XOK(&c, va4(1, 2, 3, 4, 0), WR, 0xABCDE000, 4096);
	l1[2] = PA(l2) | T | BIT(60);
	XFAULT(&c, va4(1, 2, 3, 4, 0), EX, SIM_F_PERM);
	l0[1] = PA(l1) | T;
	l1[2] = PA(l2) | T;
	/* blocks: 2 MiB at L2, 1 GiB at L1, none at L0 */
	l2[5] = 0x40000000 | BLK | AF | AP1;
	XOK(&c, va4(1, 2, 5, 3, 3), RD, 0x40000000 + 0x3003, 2u << 20);
	l1[6] = 0x80000000 | BLK | AF | AP1;
	XOK(&c, va4(1, 6, 7, 0, 0), RD, 0x80000000 + (7u << 21), 1u << 30);
	l0[5] = 0x8000000000 | BLK | AF | AP1;
	XFAULT(&c, va4(5, 0, 0, 0, 0), RD, SIM_F_RESERVED);
	/* contiguous run of 16 pages: a 64 KiB translation, each descriptor a 4 KiB entry */
	for (int i = 16; i < 32; i++)
		l3[i] = (0x30000000 + (uint64_t)(i - 16) * 4096) | T | AF | AP1 | CONT;
	XOK(&c, va4(1, 2, 3, 20, 8), RD, 0x30000000 + 4 * 4096 + 8, 65536);
	CHECK_EQ(go(&c, va4(1, 2, 3, 20, 8), RD).entry_size, 4096);
	CHECK_EQ(go(&c, va4(1, 2, 3, 4, 0), RD).entry_size, 4096); /* no hint: the page */
	/* and of 16 blocks: 32 MiB, each a 2 MiB entry */
	for (int i = 16; i < 32; i++)
		l2[i] = (0x100000000 + (uint64_t)(i - 16) * (2u << 20)) | BLK | AF | AP1 | CONT;
	XOK(&c, va4(1, 2, 21, 3, 8), RD, 0x100000000 + (5u << 21) + 0x3008, 32u << 20);
	CHECK_EQ(go(&c, va4(1, 2, 21, 3, 8), RD).entry_size, 2u << 20);
	/* output / next table above OAS: address size fault */
	c.oas = 47; /* above every host table address */
	l1[7] = BIT(47) | T;
	XFAULT(&c, va4(1, 7, 0, 0, 0), RD, SIM_F_ADDR_SIZE);
	l2[8] = BIT(47) | BLK | AF | AP1;
	XFAULT(&c, va4(1, 2, 8, 0, 0), RD, SIM_F_ADDR_SIZE);
	XOK(&c, va4(1, 2, 3, 4, 0), RD, 0xABCDE000, 4096);
	c.oas = 0;
	XFAULT(&c, BIT(48), RD, SIM_F_ADDR_SIZE);
	/* DBM: writable-clean faults a write unless hardware dirtying is on */
	l3[9] = 0x9000 | T | AF | AP1 | AP2 | DBM;
	XFAULT(&c, va4(1, 2, 3, 9, 0), WR, SIM_F_PERM);
	c.dirty_tracking = true;
	XOK(&c, va4(1, 2, 3, 9, 0), RD, 0x9000, 4096);
	CHECK(l3[9] & AP2); /* a read leaves it clean */
	XOK(&c, va4(1, 2, 3, 9, 0), WR, 0x9000, 4096);
	CHECK(!(l3[9] & AP2)); /* writable-dirty */
	XFAULT(&c, va4(1, 2, 3, 5, 0), WR, SIM_F_PERM); /* read-only without DBM stays so */
	XOK(&c, va4(1, 2, 3, 7, 0), RD, 0x7000, 4096);  /* hardware AF update */
	CHECK(l3[7] & AF);
}

static void lpae_s2_concat(void)
{
	uint64_t *root = table(8192), *l2 = table(4096), *l3 = table(4096);
	struct sim_walk_cfg c = { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12,
				  .levels = 3, .root = PA(root), .mem = sim_mem_identity };
	const uint64_t T = 3, AF = BIT(10), S2R = BIT(6), S2W = BIT(7), DBM = BIT(51);
	uint64_t va = BIT(39) | va4(0, 1, 2, 3, 0x10);

	TEST("ARM S2 4K 40-bit: two concatenated start tables, S2AP, DBM");
	root[512 + 1] = PA(l2) | T; /* IPA bit 39 selects the second table */
	l2[2] = PA(l3) | T;
	l3[3] = 0x7000000 | T | AF | S2R;
	XOK(&c, va, RD, 0x7000010, 4096);
	XFAULT(&c, va, WR, SIM_F_PERM);
	XFAULT(&c, va4(0, 1, 2, 3, 0), RD, SIM_F_NOT_PRESENT); /* first table, index 1: empty */
	CHECK_EQ(go(&c, va, RD).reads, 3);
	l3[4] = 0x8000000 | T | AF | S2W; /* write-only is expressible at stage 2 */
	XOK(&c, va + 4096, WR, 0x8000010, 4096);
	XFAULT(&c, va + 4096, RD, SIM_F_PERM);
	l3[5] = 0x9000000 | T | AF | S2R | DBM;
	XFAULT(&c, va + 2 * 4096, WR, SIM_F_PERM);
	c.dirty_tracking = true;
	XOK(&c, va + 2 * 4096, WR, 0x9000010, 4096);
	CHECK(l3[5] & S2W);
	XFAULT(&c, BIT(40), RD, SIM_F_ADDR_SIZE);
}

static void lpae_16k_64k(void)
{
	const uint64_t T = 3, BLK = 1, AF = BIT(10), AP1 = BIT(6), CONT = BIT(52);

	TEST("ARM S1 16K: 2-entry L0, 32 MiB blocks, 128-page contiguous run, no L1 block");
	uint64_t *r = table(16384), *m1 = table(16384), *m2 = table(16384), *m3 = table(16384);
	struct sim_walk_cfg c = { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 14,
				  .levels = 4, .root = PA(r), .mem = sim_mem_identity };
	/* index bits: L0 47, L1 46:36, L2 35:25, L3 24:14 */
	uint64_t base = BIT(47) | 2ull << 36;
	r[1] = PA(m1) | T;
	m1[2] = PA(m2) | T;
	m2[3] = PA(m3) | T;
	for (int i = 128; i < 256; i++)
		m3[i] = (0x10000000 + (uint64_t)(i - 128) * 16384) | T | AF | AP1 | CONT;
	XOK(&c, base | 3ull << 25 | 130ull << 14 | 5, RD, 0x10000000 + 2 * 16384 + 5, 2u << 20);
	CHECK_EQ(go(&c, base | 3ull << 25 | 130ull << 14 | 5, RD).entry_size, 16384);
	m2[4] = 0x20000000 | BLK | AF | AP1;
	XOK(&c, base | 4ull << 25 | 0x123456, RD, 0x20123456, 32u << 20);
	m1[3] = 0x1000000000 | BLK | AF | AP1;
	XFAULT(&c, BIT(47) | 3ull << 36, RD, SIM_F_RESERVED);

	TEST("ARM S1 64K LPA 52-bit: PA 51:48 in bits 15:12, 4 TiB block at L1");
	uint64_t *t1 = table(65536), *t2 = table(65536), *t3 = table(65536);
	struct sim_walk_cfg d = { .format = IOPT_PT_LPAE_S1, .ias = 52, .oas = 52, .granule_lg2 = 16,
				  .flags = IOPT_PT_F_LPA, .levels = 3, .root = PA(t1),
				  .mem = sim_mem_identity };
	/* index bits: L1 51:42 (1024 entries), L2 41:29, L3 28:16 */
	uint64_t va = 5ull << 42 | 6ull << 29 | 7ull << 16 | 0x1234;
	t1[5] = PA(t2) | T;
	t2[6] = PA(t3) | T;
	t3[7] = 0x12340000 | 0x3ull << 12 | T | AF | AP1;
	XOK(&d, va, RD, (0x3ull << 48) + 0x12340000 + 0x1234, 65536);
	t1[9] = 3ull << 42 | 0x1ull << 12 | BLK | AF | AP1;
	XOK(&d, 9ull << 42 | 0x55, RD, BIT(48) + (3ull << 42) + 0x55, BIT(42));
	struct sim_walk_cfg nolpa = d; /* 48-bit, two levels from L2: 512 MiB blocks */
	nolpa.flags = 0;
	nolpa.ias = 42;
	nolpa.oas = 48;
	nolpa.root = PA(t2);
	nolpa.levels = 2;
	t2[8] = 0x2ull << 42 | BLK | AF | AP1; /* a 512 MiB block at L2 */
	XOK(&nolpa, 8ull << 29 | 0x77, RD, (0x2ull << 42) + 0x77, 512u << 20);
}

int main(void)
{
	vtd();
	x86();
	amd();
	lpae_s1_4k();
	lpae_s2_concat();
	lpae_16k_64k();
	for (unsigned i = 0; i < npages; i++)
		free(pages[i]);
	return tap_done();
}
