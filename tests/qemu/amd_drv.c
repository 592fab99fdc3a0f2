/* SPDX-License-Identifier: MIT */
/*
 * The AMD-Vi reference driver (amd_drv.h). Register facts: QEMU 7.2
 * hw/i386/amd_iommu.{c,h} (what the model does with each write) and Linux
 * 6.12 drivers/iommu/amd/init.c (what a real driver writes): device table
 * base | (size in 4 KiB - 1); command buffer and event log base | log2
 * (entries) << 56; head/tail registers hold byte offsets in bits 18:4;
 * control bits IOMMUEn 0, EventLogEn 2, CmdBufEn 12; status EventLogRun 3,
 * CmdBufRun 4 (QEMU AMDVI_MMIO_STATUS_*, Linux MMIO_STATUS_EVT_RUN_MASK).
 */
#include "amd_drv.h"

#include <string.h>

#define AMD_PCI_VENDOR 0x1022
#define AMD_PCI_CLASS 0x080600    /* base 0x08 (system peripheral), sub 0x06 (IOMMU) */
#define AMD_CAP_ID 0x0F           /* "secure device" capability (QEMU AMDVI_CAPAB_ID_SEC) */
#define AMD_CAP_EFRSUP (1u << 27) /* QEMU AMDVI_CAPAB_EFR_SUP, Linux IOMMU_CAP_EFR */
#define AMD_PTR_MASK 0x7FFF0u     /* head/tail bits 18:4 */
#define AMD_STATUS_EVT_RUN (1u << 3)
#define AMD_STATUS_CMD_RUN (1u << 4)
#define PCI_STATUS_SIG_TARGET_ABORT (1u << 11)
#define AMD_POLLS 1000 /* register reads before a command is declared lost */

static unsigned ilog2u(unsigned x)
{
	return 31u - (unsigned)__builtin_clz(x);
}

void amd_drv_init(struct amd_drv *d, struct qm *m)
{
	memset(d, 0, sizeof(*d));
	d->m = m;
	int bdf = qm_pci_find_class(m, AMD_PCI_VENDOR, AMD_PCI_CLASS);
	if (bdf < 0)
		qm_bail("no AMD IOMMU function (vendor 0x%x, class 0x%x)", AMD_PCI_VENDOR, AMD_PCI_CLASS);
	d->bdf = (unsigned)bdf;
	unsigned cap = qm_pci_cap(m, d->bdf, AMD_CAP_ID);
	if (!cap || !(qm_pci_read(m, d->bdf, cap, 4) & AMD_CAP_EFRSUP))
		qm_bail("AMD IOMMU without its capability block or EFR");
	/* Base address low 31:14 (bit 0 = enable, left 0 by QEMU, which maps it at realize), high. */
	d->mmio = (qm_pci_read(m, d->bdf, cap + 4, 4) & 0xFFFFC000u) |
		  (uint64_t)qm_pci_read(m, d->bdf, cap + 8, 4) << 32;
	iopt_amd_hw_decode(qm_readq(m, d->mmio + IOPT_AMD_MMIO_EFR), &d->hw);
	if (!d->hw.host_levels)
		qm_bail("EFR 0x%llx: no host translation", (unsigned long long)d->hw.efr);

	d->devtab = qm_alloc(m, AMD_DEVTAB_ENTRIES * 32, 4096);
	d->cmdbuf = qm_alloc(m, AMD_CMD_ENTRIES * 16, 4096);
	d->evtlog = qm_alloc(m, AMD_EVT_ENTRIES * 16, 4096);
	d->sem = qm_alloc(m, 8, 8);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_DEVTAB, d->devtab | (AMD_DEVTAB_ENTRIES * 32 / 4096 - 1));
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_CMDBUF,
		  d->cmdbuf | (uint64_t)ilog2u(AMD_CMD_ENTRIES) << 56);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_CMD_HEAD, 0);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_CMD_TAIL, 0);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_EVTLOG,
		  d->evtlog | (uint64_t)ilog2u(AMD_EVT_ENTRIES) << 56);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_EVT_HEAD, 0);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_EVT_TAIL, 0);
	qm_writeq(m, d->mmio + IOPT_AMD_MMIO_CONTROL,
		  IOPT_AMD_CTRL_IOMMU_EN | IOPT_AMD_CTRL_EVTLOG_EN | IOPT_AMD_CTRL_CMDBUF_EN);
	uint64_t st = qm_readq(m, d->mmio + IOPT_AMD_MMIO_STATUS);
	if ((st & (AMD_STATUS_EVT_RUN | AMD_STATUS_CMD_RUN)) != (AMD_STATUS_EVT_RUN | AMD_STATUS_CMD_RUN))
		qm_bail("IOMMU status 0x%llx: command buffer or event log not running",
			(unsigned long long)st);
	/* Start from nothing cached, as Linux does (INVALIDATE_IOMMU_ALL where advertised). */
	struct iopt_inv_cmd all;
	if (iopt_amd_inv_all(&d->hw, &all) == 0)
		amd_drv_submit(d, &all, 1);
	amd_drv_wait(d);
}

static uint32_t amd_drv_head(struct amd_drv *d)
{
	/* QEMU leaves head = buffer size in the register after the last slot: modulo. */
	return (uint32_t)(qm_readq(d->m, d->mmio + IOPT_AMD_MMIO_CMD_HEAD) & AMD_PTR_MASK) %
	       (AMD_CMD_ENTRIES * 16);
}

/*
 * Move the tail. The commands were plain stores to the RAM QEMU maps; the
 * qtest write is a send() after them, and QEMU reads them only once it has
 * received it, so no fence is needed (a real driver puts a wmb() here).
 */
static void amd_drv_ring(struct amd_drv *d)
{
	qm_writeq(d->m, d->mmio + IOPT_AMD_MMIO_CMD_TAIL, d->tail);
}

void amd_drv_submit(void *ctx, const struct iopt_inv_cmd *c, unsigned n)
{
	struct amd_drv *d = ctx;
	const uint32_t size = AMD_CMD_ENTRIES * 16;

	for (unsigned i = 0; i < n; i++) {
		uint32_t next = (d->tail + 16) % size;
		for (int k = 0; next == amd_drv_head(d); k++) { /* full: let the IOMMU catch up */
			if (k == AMD_POLLS)
				qm_bail("command buffer stuck (head 0x%x)", amd_drv_head(d));
			amd_drv_ring(d);
		}
		uint64_t *slot = qm_gpa(d->m, d->cmdbuf + d->tail, 16);
		slot[0] = c[i].w[0];
		slot[1] = c[i].w[1];
		d->tail = next;
		d->ncmds++;
		d->ninv_dte += c[i].w[0] >> 60 == 0x2;
	}
	amd_drv_ring(d);
}

void amd_drv_wait(void *ctx)
{
	struct amd_drv *d = ctx;
	struct iopt_inv_cmd c;

	if (iopt_inv_wait_amd(d->sem, ++d->seq, false, &c))
		qm_bail("COMPLETION_WAIT refused its semaphore address");
	amd_drv_submit(d, &c, 1);
	d->nwaits++;
	const uint64_t *sem = qm_gpa(d->m, d->sem, 8);
	for (int k = 0; __atomic_load_n(sem, __ATOMIC_ACQUIRE) != d->seq; k++) {
		if (k == AMD_POLLS)
			qm_bail("COMPLETION_WAIT %llu never stored", (unsigned long long)d->seq);
		qm_readq(d->m, d->mmio + IOPT_AMD_MMIO_STATUS); /* give the machine a turn */
	}
}

uint64_t *amd_drv_dte(struct amd_drv *d, uint16_t devid)
{
	if (devid >= AMD_DEVTAB_ENTRIES)
		qm_bail("device id 0x%x beyond the device table", devid);
	return qm_gpa(d->m, d->devtab + devid * 32ull, 32);
}

static void amd_drv_inv_dte(struct amd_drv *d, uint16_t devid)
{
	struct iopt_inv_cmd c;

	iopt_amd_inv_dte(devid, &c);
	amd_drv_submit(d, &c, 1);
	amd_drv_wait(d);
}

void amd_drv_set_dte(struct amd_drv *d, uint16_t devid, const uint64_t w[4])
{
	uint64_t *e = amd_drv_dte(d, devid);

	e[1] = w[1];
	e[2] = w[2];
	e[3] = w[3];
	__atomic_store_n(&e[0], w[0], __ATOMIC_RELEASE); /* V last, in one store */
	amd_drv_inv_dte(d, devid);
}

unsigned amd_drv_events(struct amd_drv *d)
{
	return (unsigned)((qm_readq(d->m, d->mmio + IOPT_AMD_MMIO_EVT_TAIL) & AMD_PTR_MASK) / 16);
}

bool amd_drv_take_abort(struct amd_drv *d)
{
	uint32_t st = qm_pci_read(d->m, d->bdf, 0x06, 2);

	if (!(st & PCI_STATUS_SIG_TARGET_ABORT))
		return false;
	qm_pci_write(d->m, d->bdf, 0x06, PCI_STATUS_SIG_TARGET_ABORT, 2); /* write 1 to clear */
	return true;
}

struct iopt_inv_cmd amd_drv_cmd(struct amd_drv *d, unsigned back)
{
	const uint32_t size = AMD_CMD_ENTRIES * 16;
	const uint64_t *slot = qm_gpa(d->m, d->cmdbuf + (d->tail + size - 16 * back) % size, 16);

	return (struct iopt_inv_cmd){ { slot[0], slot[1] } };
}

/* ---- domains ---- */

/* change_top: the "Grow" steps of include/iopt/amd.h. */
static void amd_dom_grow(void *ctx, uint64_t root, unsigned levels)
{
	struct amd_dom *a = ctx;
	uint64_t *e = amd_drv_dte(a->d, a->devid), w0;

	if (iopt_amd_dte_top(&a->d->hw, e[0], root, levels, &w0))
		qm_bail("DTE 0x%llx cannot take %u levels", (unsigned long long)e[0], levels);
	__atomic_store_n(&e[0], w0, __ATOMIC_RELEASE);
	amd_drv_inv_dte(a->d, a->devid);
	a->grows++;
}

void amd_dom_flush(struct iopt_gather *g, void *ctx)
{
	struct amd_dom *a = ctx;
	struct iopt_inv_range r[IOPT_GATHER_MAX_RANGES + 1];
	struct iopt_inv_cmd cmds[IOPT_INV_MAX_BUDGET];
	int n = -EINVAL;

	for (unsigned i = 0; i < g->nr_ranges; i++)
		r[i] = (struct iopt_inv_range){ g->ranges[i].start, g->ranges[i].end };
	if (g->nr_ranges) {
		/* leaf_only (PDE = 0) only when no table went away. */
		struct iopt_inv_req req = { r, g->nr_ranges, g->pgsize, !g->freelist };
		n = iopt_inv_plan(&a->inv, &req, cmds, IOPT_INV_MAX_BUDGET);
	}
	if (n < 0)
		n = iopt_inv_plan_scope(&a->inv, cmds);
	a->last_plan = n;
	amd_drv_submit(a->d, cmds, (unsigned)n);
	amd_drv_wait(a->d);
}

void amd_dom_init(struct amd_dom *a, struct amd_drv *d, uint16_t devid, uint16_t domid,
		  unsigned ias, unsigned start_levels, unsigned flags, bool ir, bool iw)
{
	struct iopt_pt_cfg cfg;
	uint64_t w[4], root;
	unsigned levels;

	memset(a, 0, sizeof(*a));
	a->d = d;
	a->devid = devid;
	if (iopt_amd_pt_cfg(&d->hw, IOPT_PT_AMD_V1, ias, start_levels, flags, &cfg))
		qm_bail("iopt_amd_pt_cfg(ias %u, start %u) refused", ias, start_levels);
	cfg.provider = qm_provider(d->m);
	cfg.change_top = amd_dom_grow;
	cfg.change_top_ctx = a;
	cfg.flush = amd_dom_flush;
	cfg.flush_ctx = a;
	struct iopt_amd_inv_scope scope = { .domain = domid };
	if (iopt_pt_create(&cfg, &a->pt) || iopt_amd_inv_target(&d->hw, &scope, &a->inv))
		qm_bail("domain %u: page table or invalidation target refused", domid);
	iopt_pt_root(a->pt, &root, &levels);
	struct iopt_amd_dte e = { .valid = true, .tv = true, .mode = levels, .root = root,
				  .ir = ir, .iw = iw, .domain = domid };
	if (iopt_amd_dte_encode(&d->hw, &e, w))
		qm_bail("DTE for domain %u refused", domid);
	amd_drv_set_dte(d, devid, w);
}

void amd_dom_perm(struct amd_dom *a, bool ir, bool iw)
{
	struct iopt_amd_dte e;
	uint64_t w[4];

	if (iopt_amd_dte_decode(amd_drv_dte(a->d, a->devid), &e))
		qm_bail("DTE of device 0x%x unreadable", a->devid);
	e.ir = ir;
	e.iw = iw;
	if (iopt_amd_dte_encode(&a->d->hw, &e, w))
		qm_bail("DTE re-encode refused");
	amd_drv_set_dte(a->d, a->devid, w);
}

void amd_dom_fini(struct amd_dom *a)
{
	struct iopt_amd_dte blocked = { .valid = true, .tv = true };
	struct iopt_inv_cmd all;
	uint64_t w[4];

	iopt_amd_dte_encode(&a->d->hw, &blocked, w);
	__atomic_store_n(&amd_drv_dte(a->d, a->devid)[0], w[0], __ATOMIC_RELEASE);
	amd_drv_inv_dte(a->d, a->devid);
	iopt_inv_plan_scope(&a->inv, &all); /* the domain's IOTLB entries, PDE = 1 */
	amd_drv_submit(a->d, &all, 1);
	amd_drv_wait(a->d);
	iopt_pt_free(a->pt);
	a->pt = NULL;
}
