/* SPDX-License-Identifier: MIT */
/*
 * The harness itself, with every IOMMU left off: edu moves data between RAM
 * and its buffer at physical addresses, on both machines. The IOMMU tests
 * judge "the DMA faulted" by unchanged memory, so this proves that an
 * untranslated DMA does change it, and that the qtest link, the shared RAM
 * and PCI set-up work.
 */
#include "qemu.h"
#include "tap.h"

static void check_machine(enum qm_arch arch)
{
	struct qm m;
	struct qm_edu e;

	REQUIRE(qm_start(&m, &(struct qm_cfg){ .arch = arch }) == 0);
	qm_edu_init(&m, &e);
	uint64_t src = qm_alloc(&m, 4096, 4096), dst = qm_alloc(&m, 4096, 4096);
	qm_fill(&m, src, 2048, 0x5EED0000u | arch);
	qm_edu_dma(&e, true, src, 0, 2048);
	qm_edu_dma(&e, false, dst, 0, 2048);
	CHECK(qm_same(&m, src, dst, 2048));
	/* A second transfer at another buffer offset, the other way round. */
	qm_fill(&m, src, 512, 0xABCD0000u);
	qm_edu_dma(&e, true, src, 1024, 512);
	qm_edu_dma(&e, false, dst + 2048, 1024, 512);
	CHECK(qm_same(&m, src, dst + 2048, 512));
	CHECK(!qm_same(&m, dst, dst + 2048, 512));
	qm_stop(&m);
	CHECK(m.pid == 0);
}

int main(void)
{
	QM_SKIP_UNLESS(QM_X86);
	QM_SKIP_UNLESS(QM_ARM);
	TEST("q35, no IOMMU: edu DMA to and from RAM");
	check_machine(QM_X86);
	TEST("virt, no IOMMU: edu DMA to and from RAM");
	check_machine(QM_ARM);
	return tap_done();
}
