/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim executor (sim.h): applies workload events through the library's
 * DMA layer (or its page-table API for MAP_AT/UNMAP_AT), plays the IOMMU
 * driver (its submit/wait callbacks feed the simulated invalidation queue)
 * and the hardware (IOTLB, walks), and checks every DMA with the oracle.
 *
 * Oracle. The ground truth is the set of live mappings kept here (sorted
 * intervals of IOVA -> phys, prot, owner), updated around each library
 * call. Every IOTLB entry carries, as shadow state no hardware has, the
 * owner of the mapping its walk read. Violations:
 *   - a DMA translated to another address or with other permissions than
 *     the live mapping says, or not translated while a mapping allows it;
 *   - STRICT: right after an unmap returned, an IOTLB entry still owned by
 *     the unmapped mapping (the "probe": a device could still use it);
 *   - any mode: a fresh mapping whose IOVA range still has IOTLB entries of
 *     an older mapping (the IOVA was reused before its invalidation);
 *   - LAZY: a stale entry that outlives the flush-queue bound: more unmaps
 *     than every ring can hold since it was queued, or still there after a
 *     timeout flush that began after it was recorded (the timer is polled
 *     before every event, in modeled time).
 * Time is modeled (ns per command, per walk read, per page request) so runs
 * are reproducible; CPU-side map/unmap times are measured wall time minus
 * the time the simulated hardware spent inside the driver callbacks.
 */
#include "sim.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <iopt/flushq.h>

#include "hw/invq.h"
#include "hw/iotlb.h"
#include "hw/mem.h"
#include "hw/walk.h"

#define MAX_BUF (1u << 20)
#define PAGE 4096ull
#define PROBE_PAGES 64          /* pages probed per unmap: first ones and the last */
#define PRI_NS 2000.0           /* modeled page-request group round trip */
#define HIT_NS 1.0              /* modeled IOTLB hit */
#define OWNER_AT (1ull << 63)   /* owners of IOMMU-API (MAP_AT) mappings */
#define OWNER_NEG UINT64_MAX    /* the owner of cached not-present results: nobody's mapping */
/* Nested: guest RAM [0, phys_mem + PRI_ROOM) sits at HPA_OFF + GPA; the guest's */
/* stage-1 tables live in a sim_ram arena of TABLE_RAM bytes above it. */
#define HPA_OFF (1ull << 39)
#define PRI_ROOM (256ull << 20)
#define TABLE_RAM (64ull << 20)

enum { B_FREE = 0, B_LIVE, B_DEAD };

struct sbuf {
	uint8_t state;
	unsigned prot;
	uint64_t iova;           /* device address of the first byte */
	uint64_t size;
	uint64_t owner;          /* buf << 24 | generation */
	struct iopt_dma_sg *sg;  /* MAP_SG */
	unsigned nents;
};

/* One live mapping of the ground truth: [start, end] -> phys, inclusive. */
struct truth {
	uint64_t start, end, phys, owner;
	unsigned prot;
};

/* A lazy unmap whose IOTLB entries outlived the call. */
struct stale {
	uint64_t owner, start, end, seq;
	uint64_t id; /* order of recording (sim.stale_ids) */
	double t;
};

struct sim {
	struct sim_opts o;
	struct sim_hw_caps caps; /* what the simulated IOMMU advertises */
	enum iopt_inv_vendor vendor;
	bool neg_cache;          /* VT-d CAP.CM: walks that find nothing are cached too */
	struct iopt_inv_target inv;
	uint64_t tag;
	unsigned ias;
	uint64_t req_pgsize;     /* page size the last IOMMU-API unmap asked for */
	struct iopt_pt *pt;
	struct iopt_iova_domain *iovad;
	struct iopt_dma_domain *dom;
	struct sim_walk_cfg wc;
	/* nested */
	struct iopt_pt *s2pt;
	struct sim_walk_cfg wc2;
	struct sim_ram ram;
	uint64_t out_off;        /* HPA - GPA of guest RAM (0 unless nested) */

	pthread_mutex_t hw; /* everything below */
	struct sim_iotlb tlb;
	struct sim_invq invq;
	struct sbuf *bufs;       /* MAX_BUF, zero pages until touched */
	uint32_t bufs_hi;        /* 1 + highest handle used */
	struct truth *tr;
	size_t ntr, cap_tr;
	struct stale *st_list;
	size_t nst, cap_st;
	uint64_t gen, at_seq, unmap_seq, bound_unmaps;
	uint64_t stale_ids;      /* stale records ever made */
	uint64_t pri_next;
	double now;          /* modeled ns */
	double map_ns, unmap_ns;
	struct sim_stats st;
};

static __thread double t_hw_ns; /* wall ns this thread spent in the simulated hardware */

static double wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* ---- ground truth ---- */

static size_t truth_rank(const struct sim *s, uint64_t a) /* first record with start > a */
{
	size_t lo = 0, hi = s->ntr;

	while (lo < hi) {
		size_t m = (lo + hi) / 2;
		if (s->tr[m].start <= a)
			lo = m + 1;
		else
			hi = m;
	}
	return lo;
}

static const struct truth *truth_at(const struct sim *s, uint64_t a)
{
	size_t r = truth_rank(s, a);

	return r && s->tr[r - 1].end >= a ? &s->tr[r - 1] : NULL;
}

static int truth_add(struct sim *s, uint64_t start, uint64_t len, uint64_t phys, unsigned prot,
		     uint64_t owner)
{
	if (s->ntr == s->cap_tr) {
		size_t cap = s->cap_tr ? 2 * s->cap_tr : 256;
		struct truth *n = realloc(s->tr, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		s->tr = n;
		s->cap_tr = cap;
	}
	size_t r = truth_rank(s, start);
	memmove(&s->tr[r + 1], &s->tr[r], (s->ntr - r) * sizeof(*s->tr));
	s->tr[r] = (struct truth){ start, start + len - 1, phys, owner, prot };
	s->ntr++;
	return 0;
}

/* Remove [start, end] from the truth, trimming records that straddle it. */
static void truth_cut(struct sim *s, uint64_t start, uint64_t end)
{
	struct truth tail = { 0 };
	bool have_tail = false;
	size_t w = 0;

	for (size_t i = 0; i < s->ntr; i++) {
		struct truth t = s->tr[i];
		if (t.end < start || t.start > end) {
			s->tr[w++] = t;
			continue;
		}
		if (t.start < start) { /* keep the head */
			s->tr[w] = t;
			s->tr[w++].end = start - 1;
		}
		if (t.end > end) { /* one interval cut leaves at most one tail */
			tail = t;
			tail.phys += end + 1 - t.start;
			tail.start = end + 1;
			have_tail = true;
		}
	}
	s->ntr = w;
	if (have_tail) /* fits: the records it came from are gone */
		(void)truth_add(s, tail.start, tail.end - tail.start + 1, tail.phys, tail.prot,
				tail.owner);
}

static void truth_drop_owner(struct sim *s, uint64_t owner)
{
	size_t w = 0;

	for (size_t i = 0; i < s->ntr; i++)
		if (s->tr[i].owner != owner)
			s->tr[w++] = s->tr[i];
	s->ntr = w;
}

/* ---- the simulated hardware and the oracle (hw lock held) ---- */

static void violation(struct sim *s)
{
	s->st.violations++;
}

/* Any IOTLB entry over a range that was just mapped belongs to an older mapping. */
static void check_fresh(struct sim *s, uint64_t start, uint64_t end)
{
	if (sim_iotlb_any(&s->tlb, s->tag, start, end))
		violation(s);
}

/*
 * Close the stale windows whose entries are gone; enforce the lazy bound:
 * an entry may outlive its unmap by at most bound_unmaps later unmaps (every
 * ring filled), and records made before a timer flush began (id < covered)
 * must be gone once that flush returned.
 */
static void stale_update(struct sim *s, uint64_t covered)
{
	size_t w = 0;

	for (size_t i = 0; i < s->nst; i++) {
		struct stale *x = &s->st_list[i];
		if (sim_iotlb_owned(&s->tlb, s->tag, x->owner, x->start, x->end)) {
			if (s->unmap_seq - x->seq > s->bound_unmaps || x->id < covered) {
				s->st.stale_bound_dmas++;
				violation(s);
				continue; /* reported once */
			}
			s->st_list[w++] = *x;
			continue;
		}
		double win = s->now - x->t;
		if (win > s->st.stale_window_ns)
			s->st.stale_window_ns = win;
	}
	s->nst = w;
}

/* After an unmap returned: may a device still use the old translation? */
static void probe_unmapped(struct sim *s, uint64_t owner, uint64_t start, uint64_t end)
{
	if (!sim_iotlb_owned(&s->tlb, s->tag, owner, start, end))
		return;
	if (s->o.mode == IOPT_DMA_STRICT) {
		s->st.stale_dmas++;
		violation(s);
		return;
	}
	if (s->nst == s->cap_st) {
		size_t cap = s->cap_st ? 2 * s->cap_st : 256;
		struct stale *n = realloc(s->st_list, cap * sizeof(*n));
		if (!n)
			return; /* not measured: the run still counts it below */
		s->st_list = n;
		s->cap_st = cap;
	}
	s->st.stale_dmas++;
	s->st_list[s->nst++] = (struct stale){ owner, start, end, s->unmap_seq, s->stale_ids++,
					       s->now };
}

static void hw_run_queue(struct sim *s)
{
	unsigned n = sim_invq_run(&s->invq, &s->tlb);

	s->now += s->o.ns_per_cmd * n;
	s->st.flushes++;
	stale_update(s, 0);
}

/* ---- driver callbacks: the simulator is the IOMMU driver ---- */

static void drv_submit(void *ctx, const struct iopt_inv_cmd *cmds, unsigned n)
{
	struct sim *s = ctx;
	double t0 = wall_ns();

	pthread_mutex_lock(&s->hw);
	if (sim_invq_push(&s->invq, cmds, n))
		s->invq.bad_cmds += n; /* host memory ran out: lost commands count as violations */
	pthread_mutex_unlock(&s->hw);
	t_hw_ns += wall_ns() - t0;
}

static void push_wait(struct sim *s)
{
	struct iopt_inv_cmd w;

	switch (s->vendor) {
	case IOPT_INV_VTD:
		(void)iopt_inv_wait_vtd(&s->inv.caps.vtd, 0x1000, 1, IOPT_VTD_WAIT_FENCE, &w);
		break;
	case IOPT_INV_AMD:
		(void)iopt_inv_wait_amd(0x1000, 1, false, &w);
		break;
	default:
		(void)iopt_inv_sync_smmu(0, 0, 0, &w);
		break;
	}
	(void)sim_invq_push(&s->invq, &w, 1);
}

static void drv_wait(void *ctx)
{
	struct sim *s = ctx;
	double t0 = wall_ns();

	pthread_mutex_lock(&s->hw);
	if (s->o.break_flags & SIM_BREAK_SKIP_SYNC) {
		sim_invq_drop(&s->invq); /* the commands never reach the IOTLB */
	} else {
		push_wait(s);
		hw_run_queue(s);
	}
	pthread_mutex_unlock(&s->hw);
	t_hw_ns += wall_ns() - t0;
}

/*
 * SIM_BREAK_TLBI_PER_RUN: of a plan without RIL keep only the TG=0 commands
 * at addresses aligned to the page size the unmap asked for, one per run:
 * what the SMMU planner emitted for a contiguous run before it stepped per
 * descriptor (then the gather's stride was the page size asked for; it is
 * now the descriptor removed).
 */
static int tlbi_per_run(const struct sim *s, struct iopt_inv_cmd *c, int n, uint64_t stride)
{
	int w = 0;

	if (s->req_pgsize > stride)
		stride = s->req_pgsize;
	for (int i = 0; i < n; i++) {
		struct sim_cmd d = sim_cmd_decode(s->vendor, &s->caps, &c[i]);
		if (d.kind != SIM_CMD_RANGE || d.start != d.end || !(d.start & (stride - 1)))
			c[w++] = c[i];
	}
	return w;
}

/* Plan, submit, wait: the driver's own path (IOMMU-API unmaps, broken-planner mode). */
static void drv_invalidate(struct sim *s, const struct iopt_gather_range *r, unsigned nr,
			   uint64_t pgsize, bool drop_last)
{
	struct iopt_inv_range ir[IOPT_GATHER_MAX_RANGES + 1];
	struct iopt_inv_cmd cmds[IOPT_INV_MAX_BUDGET];
	int n = -EINVAL;

	for (unsigned i = 0; i < nr; i++) {
		ir[i] = (struct iopt_inv_range){ r[i].start, r[i].end };
		if (drop_last && ir[i].end - ir[i].start >= PAGE)
			ir[i].end -= PAGE; /* the deliberately broken planner */
	}
	if (nr) {
		/* leaf-only is never claimed here: the stride may be below the leaves */
		struct iopt_inv_req req = { ir, nr, pgsize, false };
		n = iopt_inv_plan(&s->inv, &req, cmds, IOPT_INV_MAX_BUDGET);
		if (n > 0 && (s->o.break_flags & SIM_BREAK_TLBI_PER_RUN))
			n = tlbi_per_run(s, cmds, n, pgsize);
	}
	if (n < 0)
		n = iopt_inv_plan_scope(&s->inv, cmds);
	drv_submit(s, cmds, (unsigned)n);
	drv_wait(s);
}

/*
 * An IOMMU-API map (MAP_AT, a page request): the range is reserved from the
 * DMA API, which must never hand it out, then mapped. Under caching mode it
 * is then invalidated, not leaf-only (new tables replaced not-present
 * entries), as a CM driver must; the DMA layer does that itself
 * (IOPT_DMA_F_FLUSH_ON_MAP). Hw lock not held.
 */
static int drv_api_map(struct sim *s, uint64_t iova, uint64_t phys, uint64_t size, unsigned prot)
{
	int r = iopt_dma_reserve(s->dom, iova, size);

	if (!r)
		r = iopt_pt_map_range(s->pt, iova, phys, size, prot, NULL);
	if (!r && s->neg_cache && !(s->o.break_flags & SIM_BREAK_NO_MAP_FLUSH)) {
		struct iopt_gather_range g = { iova, iova + size - 1 };
		drv_invalidate(s, &g, 1, PAGE, false);
	}
	return r;
}

static void drv_flush_range(void *ctx, const struct iopt_gather_range *r, unsigned nr,
			    uint64_t pgsize)
{
	struct sim *s = ctx;

	drv_invalidate(s, r, nr, pgsize, s->o.break_flags & SIM_BREAK_DROP_LAST_PAGE);
}

static void drv_flush_all(void *ctx)
{
	drv_invalidate(ctx, NULL, 0, 0, false);
}

static void at_gather_flush(struct iopt_gather *g, void *ctx)
{
	drv_invalidate(ctx, g->ranges, g->nr_ranges, g->pgsize, false);
}

/* ---- DMA ---- */

static unsigned xlate_perm(const struct sim_xlate *x)
{
	return (x->r ? SIM_PERM_R : 0) | (x->w ? SIM_PERM_W : 0) | (x->x ? SIM_PERM_X : 0) |
	       (x->user ? SIM_PERM_U : 0);
}

/*
 * Translate one address as hardware would: IOTLB, else a walk that fills
 * it. Returns the fault (SIM_OK: *pa set). Hw lock held.
 */
static enum sim_fault translate(struct sim *s, uint64_t a, bool write, uint64_t *pa)
{
	struct sim_tlb_hit h;

	if (sim_iotlb_lookup(&s->tlb, s->tag, a, &h)) {
		s->now += HIT_NS;
		if (h.perm & SIM_PERM_NEG)
			return SIM_F_NOT_PRESENT;
		if (!(h.perm & (write ? SIM_PERM_W : SIM_PERM_R)))
			return SIM_F_PERM;
		*pa = h.pa;
		return SIM_OK;
	}
	struct sim_access acc = { .write = write };
	struct sim_xlate x;
	iopt_pt_root(s->pt, &s->wc.root, &s->wc.levels);
	if (sim_walk(&s->wc, a, &acc, &x))
		return SIM_F_RESERVED;
	s->st.walk_reads += x.reads;
	s->now += s->o.ns_per_walk_read * (sim_pwc_lookup(&s->tlb, s->tag, a) ? 1 : x.reads);
	if (x.fault) {
		/* caching mode: the not-present page is remembered until an invalidation covers it */
		if (x.fault == SIM_F_NOT_PRESENT && s->neg_cache)
			sim_iotlb_fill(&s->tlb, s->tag, a, 0, 12, SIM_PERM_NEG, OWNER_NEG);
		return x.fault;
	}
	const struct truth *t = truth_at(s, a);
	uint64_t size = s->o.tlb_whole_runs ? x.page_size : x.entry_size;
	sim_iotlb_fill(&s->tlb, s->tag, a, x.pa - (a & (size - 1)), (unsigned)__builtin_ctzll(size),
		       xlate_perm(&x), t ? t->owner : 0);
	*pa = x.pa;
	return SIM_OK;
}

static void count_fault(struct sim *s, enum sim_fault f)
{
	s->st.dma_faults++;
	switch (f) {
	case SIM_F_NOT_PRESENT:
		s->st.faults_not_present++;
		break;
	case SIM_F_PERM:
		s->st.faults_perm++;
		break;
	case SIM_F_ADDR_SIZE:
		s->st.faults_addr_size++;
		break;
	default:
		s->st.faults_reserved++;
		break;
	}
}

/*
 * One page request of a group for a (hw lock held on entry and exit, dropped
 * around the library calls): map a fresh 4 KiB page there through the IOMMU
 * API and answer SUCCESS, or INVALID outside the aperture or in the MSI window.
 * The group's round trip is charged by the caller.
 */
static void serve_pri(struct sim *s, uint64_t a)
{
	uint64_t page = a & ~(PAGE - 1), phys = s->pri_next;
	bool msi = s->o.format <= IOPT_PT_AMD_V1 && page >= IOPT_DMA_MSI_X86_START &&
		   page <= IOPT_DMA_MSI_X86_END;
	int r = -EINVAL;

	s->st.pri_requests++;
	if (!msi && !(s->ias < 64 && page >> s->ias)) {
		s->pri_next += PAGE;
		pthread_mutex_unlock(&s->hw);
		r = drv_api_map(s, page, phys, PAGE, IOPT_PROT_READ | IOPT_PROT_WRITE);
		pthread_mutex_lock(&s->hw);
	}
	if (r || truth_add(s, page, PAGE, phys, IOPT_PROT_READ | IOPT_PROT_WRITE, OWNER_AT | ++s->at_seq)) {
		s->st.pri_invalid++;
		return;
	}
	s->st.pri_success++;
	s->st.pri_latency_ns += PRI_NS;
}

/* The oracle's verdict on one page of a DMA after its final translation. */
static void judge(struct sim *s, uint64_t a, bool write, enum sim_fault f, uint64_t pa)
{
	const struct truth *t = truth_at(s, a);
	bool allowed = t && (t->prot & (write ? IOPT_PROT_WRITE : IOPT_PROT_READ));

	if (f) {
		count_fault(s, f);
		if (allowed)
			violation(s); /* a live mapping that does not translate */
		return;
	}
	if (!allowed || pa != t->phys + (a - t->start) + s->out_off)
		violation(s); /* translated where nothing (or something else) is mapped */
}

/*
 * One device access: every page touched (bounded: the first ones and the
 * last) is translated. With pri, the pages that fault for lack of a mapping
 * form one page-request group (one group index, one round trip); after the
 * group's responses the device retries each of them once.
 */
static void dma_pages(struct sim *s, uint64_t a, uint64_t last, bool write, bool pri)
{
	uint64_t req[PROBE_PAGES];
	unsigned nreq = 0;

	for (uint64_t p = a, k = 0; k < PROBE_PAGES; k++) {
		uint64_t pa = 0;
		enum sim_fault f = translate(s, p, write, &pa);
		if ((f == SIM_F_NOT_PRESENT || f == SIM_F_ADDR_SIZE) && pri && !truth_at(s, p))
			req[nreq++] = p;
		else
			judge(s, p, write, f, pa);
		if ((p & ~(PAGE - 1)) == (last & ~(PAGE - 1)))
			break;
		p = (p & ~(PAGE - 1)) + PAGE;
		if (k + 2 == PROBE_PAGES)
			p = last;
	}
	if (!nreq)
		return;
	s->now += PRI_NS;
	for (unsigned i = 0; i < nreq; i++)
		serve_pri(s, req[i]);
	for (unsigned i = 0; i < nreq; i++) {
		uint64_t pa = 0;
		enum sim_fault f = translate(s, req[i], write, &pa);
		judge(s, req[i], write, f, pa);
	}
}

static int do_dma(struct sim *s, const struct sim_event *ev)
{
	uint64_t a;

	if (!ev->size)
		return -EINVAL;
	pthread_mutex_lock(&s->hw);
	if (ev->buf != SIM_NO_BUF) {
		const struct sbuf *b = ev->buf < MAX_BUF ? &s->bufs[ev->buf] : NULL;
		if (!b || b->state != B_LIVE || ev->off >= b->size || ev->size > b->size - ev->off) {
			pthread_mutex_unlock(&s->hw);
			return -EINVAL;
		}
		a = b->iova + ev->off;
	} else {
		a = ev->iova;
	}
	uint64_t last = a + ev->size - 1 < a ? UINT64_MAX : a + ev->size - 1;
	s->st.dmas++;
	s->st.dma_bytes += ev->size;
	dma_pages(s, a, last, ev->write, ev->pri);
	pthread_mutex_unlock(&s->hw);
	return 0;
}

/* ---- map and unmap ---- */

static struct sbuf *buf_of(struct sim *s, uint32_t buf)
{
	if (buf >= MAX_BUF)
		return NULL;
	uint32_t hi = __atomic_load_n(&s->bufs_hi, __ATOMIC_RELAXED);
	while (buf >= hi && !__atomic_compare_exchange_n(&s->bufs_hi, &hi, buf + 1, false,
							 __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;

	return &s->bufs[buf];
}

/* Record a new DMA-API mapping (hw lock held): truth per segment, fresh-range check. */
static void record_map(struct sim *s, struct sbuf *b, uint64_t iova, uint64_t size,
		       const struct sim_event *ev, struct iopt_dma_sg *sg, double ns)
{
	b->state = B_LIVE;
	b->prot = ev->prot;
	b->iova = iova;
	b->size = size;
	b->owner = (uint64_t)ev->buf << 24 | (++s->gen & 0xFFFFFF);
	b->sg = sg;
	b->nents = ev->nents;
	if (sg) {
		for (unsigned i = 0; i < ev->nents; i++)
			(void)truth_add(s, sg[i].dma_addr, sg[i].dma_len, sg[i].phys, ev->prot, b->owner);
	} else {
		(void)truth_add(s, iova, size, ev->phys, ev->prot, b->owner);
	}
	check_fresh(s, iova & ~(PAGE - 1), iova + size - 1);
	s->st.maps++;
	s->map_ns += ns;
}

static int do_map(struct sim *s, const struct sim_event *ev)
{
	struct sbuf *b = buf_of(s, ev->buf);
	struct iopt_dma_sg *sg = NULL;
	uint64_t iova = 0, size = ev->size;
	int r;

	if (!b || b->state == B_LIVE || (ev->kind == SIM_EV_MAP_SG && (!ev->sg || !ev->nents)))
		return -EINVAL;
	if (ev->kind == SIM_EV_MAP_SG) {
		sg = malloc(ev->nents * sizeof(*sg));
		if (!sg)
			return -ENOMEM;
		memcpy(sg, ev->sg, ev->nents * sizeof(*sg));
	}
	t_hw_ns = 0;
	double t0 = wall_ns();
	if (sg)
		r = iopt_dma_map_sg(s->dom, sg, ev->nents, ev->prot, s->o.dma_mask);
	else
		r = iopt_dma_map(s->dom, ev->phys, ev->size, ev->prot, s->o.dma_mask,
				 &iova);
	double ns = wall_ns() - t0 - t_hw_ns;
	pthread_mutex_lock(&s->hw);
	if (r) {
		s->st.map_errors++;
	} else {
		if (sg) {
			iova = sg[0].dma_addr;
			size = sg[ev->nents - 1].dma_addr + sg[ev->nents - 1].dma_len - iova;
		}
		record_map(s, b, iova, size, ev, sg, ns);
	}
	pthread_mutex_unlock(&s->hw);
	if (r)
		free(sg);
	return r;
}

static int do_unmap(struct sim *s, const struct sim_event *ev)
{
	struct sbuf *b = buf_of(s, ev->buf);
	int r;

	if (!b || b->state != B_LIVE)
		return -EINVAL;
	/* The truth goes first: once the IOVA is free another thread may map it. */
	pthread_mutex_lock(&s->hw);
	truth_drop_owner(s, b->owner);
	pthread_mutex_unlock(&s->hw);
	t_hw_ns = 0;
	double t0 = wall_ns();
	r = b->sg ? iopt_dma_unmap_sg(s->dom, b->sg, b->nents) : iopt_dma_unmap(s->dom, b->iova, b->size);
	double ns = wall_ns() - t0 - t_hw_ns;
	pthread_mutex_lock(&s->hw);
	if (r) { /* nothing changed: the mapping is still there */
		s->st.map_errors++;
		if (b->sg) {
			for (unsigned i = 0; i < b->nents; i++)
				(void)truth_add(s, b->sg[i].dma_addr, b->sg[i].dma_len, b->sg[i].phys,
						b->prot, b->owner);
		} else {
			uint64_t phys_base = 0;
			(void)iopt_pt_iova_to_phys(s->pt, b->iova, &phys_base);
			(void)truth_add(s, b->iova, b->size, phys_base, b->prot, b->owner);
		}
	} else {
		s->st.unmaps++;
		s->unmap_seq++;
		s->unmap_ns += ns;
		b->state = B_DEAD;
		probe_unmapped(s, b->owner, b->iova & ~(PAGE - 1), b->iova + b->size - 1);
		free(b->sg);
		b->sg = NULL;
	}
	pthread_mutex_unlock(&s->hw);
	return r;
}

/* IOMMU API: map at a fixed IOVA (trace replay, static guest RAM). */
static int do_map_at(struct sim *s, const struct sim_event *ev)
{
	int r;

	t_hw_ns = 0;
	double t0 = wall_ns();
	r = drv_api_map(s, ev->iova, ev->phys, ev->size, ev->prot);
	double ns = wall_ns() - t0 - t_hw_ns;
	pthread_mutex_lock(&s->hw);
	if (r) {
		s->st.map_errors++;
	} else {
		(void)truth_add(s, ev->iova, ev->size, ev->phys, ev->prot, OWNER_AT | ++s->at_seq);
		check_fresh(s, ev->iova, ev->iova + ev->size - 1);
		s->st.maps++;
		s->map_ns += ns;
	}
	pthread_mutex_unlock(&s->hw);
	return r;
}

/* Largest page size of bitmap that va and pa are aligned to and left (> 0) holds; 0: none. */
static uint64_t leaf_size(uint64_t bitmap, uint64_t va, uint64_t pa, uint64_t left)
{
	uint64_t cand = bitmap & ((2ull << (63 - __builtin_clzll(left))) - 1);

	if (va | pa)
		cand &= ((va | pa) & -(va | pa)) * 2 - 1;
	return cand ? 1ull << (63 - __builtin_clzll(cand)) : 0;
}

/*
 * Unmap [iova, last] as Linux's iommu_unmap() does (hw-facts §6.4): runs of
 * the largest page size that fits, so the gather's stride is the size of
 * the leaves removed (a block's, a contiguous run's), not always 4 KiB.
 * map_range chose the leaves from the alignment of IOVA and physical
 * address, so each live record's physical address gives them back; holes
 * are skipped. *done: the first byte not unmapped. Hw lock not held.
 */
static int unmap_pages_at(struct sim *s, uint64_t iova, uint64_t last, struct iopt_gather *g,
			  uint64_t *done)
{
	uint64_t bitmap = iopt_pt_pgsize_bitmap(s->pt), va = iova, unmapped;
	int r = 0;

	while (!r && va - iova <= last - iova) {
		pthread_mutex_lock(&s->hw);
		const struct truth *t = truth_at(s, va);
		size_t next = truth_rank(s, va);
		struct truth rec = t ? *t : (struct truth){ .start = next < s->ntr ? s->tr[next].start : 0 };
		pthread_mutex_unlock(&s->hw);
		if (!t) { /* a hole up to the next record */
			if (rec.start <= va || rec.start > last)
				break;
			va = rec.start;
			continue;
		}
		uint64_t end = rec.end < last ? rec.end : last, pa = rec.phys + (va - rec.start);
		uint64_t pg = leaf_size(bitmap, va, pa, end - va + 1), n = 1;
		if (!pg) {
			r = -EINVAL;
			break;
		}
		while (end - va + 1 > n * pg &&
		       leaf_size(bitmap, va + n * pg, pa + n * pg, end - va + 1 - n * pg) == pg)
			n++;
		s->req_pgsize = pg;
		r = iopt_pt_unmap_pages(s->pt, va, pg, n, g, &unmapped);
		if (!r)
			va += n * pg;
		if (!va) /* the top of the space */
			break;
	}
	*done = va;
	return r;
}

static int do_unmap_at(struct sim *s, const struct sim_event *ev)
{
	struct iopt_gather g;
	uint64_t done, last = ev->iova + ev->size - 1;
	int r;

	if (!ev->size || last < ev->iova || (ev->iova | ev->size) & (PAGE - 1))
		return -EINVAL;
	pthread_mutex_lock(&s->hw);
	/* owners of what goes away, for the probe: every record inside the range */
	uint64_t owners[8];
	unsigned no = 0;
	for (size_t i = truth_rank(s, ev->iova) ? truth_rank(s, ev->iova) - 1 : 0; i < s->ntr; i++) {
		if (s->tr[i].start > last)
			break;
		if (s->tr[i].end >= ev->iova && no < 8)
			owners[no++] = s->tr[i].owner;
	}
	pthread_mutex_unlock(&s->hw);
	t_hw_ns = 0;
	double t0 = wall_ns();
	iopt_gather_init(&g, false, at_gather_flush, s);
	r = unmap_pages_at(s, ev->iova, last, &g, &done);
	iopt_gather_sync(&g);
	double ns = wall_ns() - t0 - t_hw_ns;
	pthread_mutex_lock(&s->hw);
	if (r) {
		s->st.map_errors++;
		if (done != ev->iova) /* what went before the failed piece is gone */
			truth_cut(s, ev->iova, done - 1);
	} else {
		truth_cut(s, ev->iova, last);
		s->st.unmaps++;
		s->unmap_seq++;
		s->unmap_ns += ns;
		/* the IOMMU API is always strict: the sync returned */
		for (unsigned i = 0; i < no; i++)
			if (sim_iotlb_owned(&s->tlb, s->tag, owners[i], ev->iova, last)) {
				s->st.stale_dmas++;
				violation(s);
			}
	}
	pthread_mutex_unlock(&s->hw);
	return r;
}

/*
 * The flush queue's timeout timer (Linux arms a 10 ms timer), fired between
 * events in modeled time. A poll that flushed covered every entry queued
 * before it began, so every stale record made before then must be gone.
 */
static void fq_timer(struct sim *s)
{
	struct iopt_flushq *fq = iopt_dma_flush_queue(s->dom);

	if (!fq)
		return;
	pthread_mutex_lock(&s->hw);
	uint64_t now = (uint64_t)s->now, covered = s->stale_ids;
	pthread_mutex_unlock(&s->hw);
	if (!iopt_flushq_poll(fq, now))
		return;
	pthread_mutex_lock(&s->hw);
	stale_update(s, covered);
	pthread_mutex_unlock(&s->hw);
}

int sim_apply(struct sim *s, const struct sim_event *ev)
{
	if (!s || !ev || ev->cpu >= s->o.threads)
		return -EINVAL;
	fq_timer(s);
	switch (ev->kind) {
	case SIM_EV_MAP:
	case SIM_EV_MAP_SG:
		return do_map(s, ev);
	case SIM_EV_UNMAP:
		return do_unmap(s, ev);
	case SIM_EV_MAP_AT:
		return do_map_at(s, ev);
	case SIM_EV_UNMAP_AT:
		return do_unmap_at(s, ev);
	case SIM_EV_DMA:
		return do_dma(s, ev);
	}
	return -EINVAL;
}

/* ---- setup ---- */

/*
 * The flush queue's clock: modeled time. The hw lock is a leaf lock (held
 * only around the simulated hardware, never across a library call), so
 * taking it from inside the flush queue cannot deadlock.
 */
static uint64_t sim_clock(void *ctx)
{
	struct sim *s = ctx;

	pthread_mutex_lock(&s->hw);
	uint64_t t = (uint64_t)s->now;
	pthread_mutex_unlock(&s->hw);
	return t;
}

void sim_hw_caps_default(const struct sim_opts *o, struct sim_hw_caps *c)
{
	bool s2 = o->format == IOPT_PT_LPAE_S2 || (o->nested && o->s2_format == IOPT_PT_LPAE_S2);

	*c = (struct sim_hw_caps){
		/* x-aw-bits=48: SAGAW 39+48, MGAW 48 (QEMU's default 39 bits: 0x00d2008c22260206) */
		.vtd_cap = 0x00d2008c222f0606ull,
		/*
		 * Legacy mode; a first-stage (x86_64) table gets scalable mode
		 * (0x480080f00f4a) with PASID (x-pasid-mode) and FLTS, which
		 * QEMU 7.2 lacks.
		 */
		.vtd_ecap = o->format == IOPT_PT_X86_64
				    ? 0x480080f00f4aull | SIM_VTD_ECAP_PASID | SIM_VTD_ECAP_FLTS
				    : 0xf00f4aull,
		.amd_efr = 0x29d3,
		/* QEMU 7.2 has stage 1 only: S2P for stage-2 tables */
		.smmu_idr0 = 0x0d40101au | (s2 ? SIM_SMMU_IDR0_S2P : 0),
		.smmu_idr3 = 0x1404,
		.smmu_idr5 = 0x74,
	};
}

/*
 * The natural command set, scope and geometry of each format; the
 * planner's capabilities are the hardware's (all of them with
 * SIM_BREAK_IGNORE_CAPS).
 */
static void natural(struct sim *s, struct iopt_pt_cfg *pc)
{
	enum iopt_pt_format f = s->o.format;

	pc->format = f;
	pc->ias = 48;
	pc->granule_lg2 = 12;
	switch (f) {
	case IOPT_PT_VTD_SS:
	case IOPT_PT_X86_64:
		s->vendor = s->o.vendor ? s->o.vendor : IOPT_INV_VTD;
		break;
	case IOPT_PT_AMD_V1:
		s->vendor = s->o.vendor ? s->o.vendor : IOPT_INV_AMD;
		break;
	default:
		if (f == IOPT_PT_LPAE_S2)
			pc->ias = 40; /* two concatenated level-1 start tables */
		s->vendor = s->o.vendor ? s->o.vendor : IOPT_INV_SMMU;
		break;
	}
	struct iopt_inv_target *t = &s->inv;
	bool all = s->o.break_flags & SIM_BREAK_IGNORE_CAPS;
	uint64_t cap = s->caps.vtd_cap;
	*t = (struct iopt_inv_target){ .vendor = s->vendor };
	switch (s->vendor) {
	case IOPT_INV_VTD: {
		bool pasid = f == IOPT_PT_X86_64; /* first stage: PASID-based descriptors */
		t->caps.vtd = (struct iopt_vtd_inv_caps){
			.psi = all || (cap & SIM_VTD_CAP_PSI), .mamv = all ? 63 : SIM_VTD_CAP_MAMV(cap),
			.drain_read = all || (cap & SIM_VTD_CAP_DRD),
			.drain_write = all || (cap & SIM_VTD_CAP_DWD), .scalable = pasid };
		t->scope.vtd = (struct iopt_vtd_inv_scope){ .domain = 1, .has_pasid = pasid, .pasid = 1 };
		s->tag = sim_tag_vtd(1, pasid, 1);
		break;
	}
	case IOPT_INV_AMD:
		t->scope.amd = (struct iopt_amd_inv_scope){ .domain = 1 };
		s->tag = sim_tag_amd(1, false, 0);
		break;
	default: {
		unsigned stage = f == IOPT_PT_LPAE_S2 ? 2 : 1;
		bool ril = all || (s->caps.smmu_idr3 & SIM_SMMU_IDR3_RIL);
		t->caps.smmu = (struct iopt_smmu_inv_caps){ .range_inv = ril, .granule_shift = 12 };
		t->scope.smmu = (struct iopt_smmu_inv_scope){ .stage = stage, .asid = stage == 1, .vmid = 1 };
		s->tag = sim_tag_smmu(stage, stage == 1, 1);
		break;
	}
	}
}

/*
 * Nested: a stage-2 table (default provider: host addresses) mapping guest
 * RAM to HPA_OFF + GPA and the guest's table arena to its host memory; the
 * stage-1 table's pages come from that arena (pc->provider).
 */
static int nested_stage2(struct sim *s, struct iopt_pt_cfg *pc)
{
	struct iopt_pt_cfg c2 = { .format = s->o.s2_format, .granule_lg2 = 12,
				  .ias = s->o.s2_format == IOPT_PT_LPAE_S2 ? 40 : 48 };
	uint64_t guest = (s->o.phys_mem + PRI_ROOM + (1ull << 30) - 1) & ~((1ull << 30) - 1);
	int r;

	if (guest + TABLE_RAM > 1ull << c2.ias)
		return -EINVAL;
	r = sim_ram_init(&s->ram, guest, TABLE_RAM);
	if (!r)
		r = iopt_pt_create(&c2, &s->s2pt);
	if (!r)
		r = iopt_pt_map_range(s->s2pt, 0, HPA_OFF, guest, IOPT_PROT_READ | IOPT_PROT_WRITE, NULL);
	if (!r)
		r = iopt_pt_map_range(s->s2pt, guest, (uint64_t)(uintptr_t)s->ram.host, TABLE_RAM,
				      IOPT_PROT_READ | IOPT_PROT_WRITE, NULL);
	if (r)
		return r;
	s->out_off = HPA_OFF;
	pc->provider = &s->ram.prov;
	s->wc2 = (struct sim_walk_cfg){ .format = c2.format, .ias = c2.ias, .granule_lg2 = 12,
					.snoop_ctl = s->caps.vtd_ecap & SIM_VTD_ECAP_SC,
					.mem = sim_mem_identity };
	iopt_pt_root(s->s2pt, &s->wc2.root, &s->wc2.levels);
	return 0;
}

void sim_destroy(struct sim *s)
{
	if (!s)
		return;
	iopt_dma_destroy(s->dom);
	iopt_iova_domain_destroy(s->iovad);
	iopt_pt_free(s->pt);
	iopt_pt_free(s->s2pt);
	sim_ram_destroy(&s->ram);
	sim_iotlb_destroy(&s->tlb);
	sim_invq_destroy(&s->invq);
	if (s->bufs)
		for (uint32_t i = 0; i < s->bufs_hi; i++)
			free(s->bufs[i].sg);
	free(s->bufs);
	free(s->tr);
	free(s->st_list);
	pthread_mutex_destroy(&s->hw);
	free(s);
}

int sim_create(const struct sim_opts *o, struct sim **out)
{
	struct iopt_pt_cfg pc = { 0 };
	struct iopt_iova_config ic;
	struct sim *s;
	int r;

	bool pair_ok = (o && o->format == IOPT_PT_X86_64 && o->s2_format == IOPT_PT_VTD_SS) ||
		       (o && o->format == IOPT_PT_LPAE_S1 && o->s2_format == IOPT_PT_LPAE_S2);

	if (!o || !out || o->format >= IOPT_PT_NR_FORMATS || (o->nested && !pair_ok) ||
	    (o->mode != IOPT_DMA_STRICT && o->mode != IOPT_DMA_LAZY) || o->threads > 64 ||
	    o->vendor > IOPT_INV_SMMU ||
	    (o->break_flags & ~(SIM_BREAK_DROP_LAST_PAGE | SIM_BREAK_SKIP_SYNC |
				SIM_BREAK_TLBI_PER_RUN | SIM_BREAK_IGNORE_CAPS | SIM_BREAK_NO_MAP_FLUSH)))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->o = *o;
	if (!s->o.threads)
		s->o.threads = 1;
	if (!s->o.ns_per_cmd)
		s->o.ns_per_cmd = 1000;
	if (!s->o.ns_per_walk_read)
		s->o.ns_per_walk_read = 100;
	if (!s->o.phys_mem)
		s->o.phys_mem = 1ull << 30;
	pthread_mutex_init(&s->hw, NULL);
	if (o->hw)
		s->caps = *o->hw;
	else
		sim_hw_caps_default(o, &s->caps);
	natural(s, &pc);
	s->ias = pc.ias;
	s->neg_cache = s->vendor == IOPT_INV_VTD && (s->caps.vtd_cap & SIM_VTD_CAP_CM);
	if (!s->o.dma_mask)
		s->o.dma_mask = (1ull << pc.ias) - 1;
	pc.flags = IOPT_PT_F_SPLIT | (o->dirty_tracking ? IOPT_PT_F_HW_DIRTY : 0);
	/*
	 * SNP for IOPT_PROT_CACHE only where the modeled hardware has snoop
	 * control (ECAP.SC), as iopt_vtd_pt_cfg decides; the capability-ignoring
	 * test hook writes it anyway, as the library did before, so the walker
	 * must fault it.
	 */
	if (pc.format == IOPT_PT_VTD_SS &&
	    ((s->caps.vtd_ecap & SIM_VTD_ECAP_SC) || (o->break_flags & SIM_BREAK_IGNORE_CAPS)))
		pc.flags |= IOPT_PT_F_SNOOP;
	s->pri_next = s->o.phys_mem; /* page-request pages come from above the workload's RAM */
	s->bufs = calloc(MAX_BUF, sizeof(*s->bufs));
	r = s->bufs ? 0 : -ENOMEM;
	if (!r)
		r = sim_iotlb_init(&s->tlb, o->iotlb_entries ? o->iotlb_entries : 512,
				   o->iotlb_ways ? o->iotlb_ways : 8, o->pwc ? 256 : 0);
	if (!r)
		r = sim_invq_init(&s->invq, s->vendor, &s->caps);
	if (!r && o->nested)
		r = nested_stage2(s, &pc);
	if (!r)
		r = iopt_pt_create(&pc, &s->pt);
	if (!r && o->dirty_tracking) {
		struct iopt_gather g;
		iopt_gather_init(&g, false, NULL, NULL); /* nothing mapped yet: nothing to flush */
		r = iopt_pt_set_dirty_tracking(s->pt, true, &g);
		iopt_gather_sync(&g);
	}
	if (!r) {
		iopt_iova_config_init(&ic);
		ic.end_pfn = ((1ull << pc.ias) - 1) >> 12;
		r = iopt_iova_domain_create(&ic, &s->iovad);
	}
	if (!r) {
		bool broken = o->break_flags & (SIM_BREAK_DROP_LAST_PAGE | SIM_BREAK_TLBI_PER_RUN);
		bool x86 = pc.format <= IOPT_PT_AMD_V1;
		struct iopt_dma_cfg dc = {
			.pt = s->pt, .iovad = s->iovad, .mode = o->mode,
			.flags = (x86 ? IOPT_DMA_F_MSI_X86 : 0) |
				 (s->neg_cache && !(o->break_flags & SIM_BREAK_NO_MAP_FLUSH)
					  ? IOPT_DMA_F_FLUSH_ON_MAP : 0),
			.clock = sim_clock, .clock_ctx = s,
			.ops = broken ? (struct iopt_dma_ops){ .flush_range = drv_flush_range,
							       .flush_all = drv_flush_all, .ctx = s }
				      : (struct iopt_dma_ops){ .submit = drv_submit, .wait = drv_wait,
							       .ctx = s },
		};
		if (!broken)
			dc.inv = s->inv;
		r = iopt_dma_create(&dc, &s->dom);
	}
	if (r) {
		sim_destroy(s);
		return r;
	}
	/* a lazy stale entry may live while every ring (each thread's, sim_finish's) fills */
	s->bound_unmaps = (IOPT_FLUSHQ_DEFAULT_ENTRIES + 1ull) * (s->o.threads + 1);
	s->wc = (struct sim_walk_cfg){ .format = pc.format, .ias = pc.ias, .oas = pc.oas,
				       .granule_lg2 = pc.granule_lg2, .flags = pc.flags,
				       .dirty_tracking = o->dirty_tracking,
				       .snoop_ctl = s->caps.vtd_ecap & SIM_VTD_ECAP_SC, .mem = sim_mem_identity,
				       .s2 = o->nested ? &s->wc2 : NULL };
	*out = s;
	return 0;
}

void sim_finish(struct sim *s, struct sim_stats *st)
{
	struct iopt_flushq *fq = iopt_dma_flush_queue(s->dom);

	if (fq)
		iopt_flushq_drain(fq);
	for (uint32_t i = 0; i < s->bufs_hi; i++) {
		if (s->bufs[i].state != B_LIVE)
			continue;
		struct sim_event ev = { .kind = SIM_EV_UNMAP, .buf = i };
		(void)do_unmap(s, &ev);
	}
	if (fq)
		iopt_flushq_drain(fq);
	pthread_mutex_lock(&s->hw);
	while (s->ntr) { /* what the IOMMU API mapped */
		struct truth t = s->tr[0];
		pthread_mutex_unlock(&s->hw);
		struct sim_event ev = { .kind = SIM_EV_UNMAP_AT, .iova = t.start,
					.size = t.end - t.start + 1 };
		int r = do_unmap_at(s, &ev);
		pthread_mutex_lock(&s->hw);
		if (r)
			truth_cut(s, t.start, t.end); /* counted in map_errors; do not loop */
	}
	stale_update(s, 0);
	s->st.iotlb_hits = s->tlb.hits;
	s->st.iotlb_misses = s->tlb.misses;
	s->st.pwc_hits = s->tlb.pwc_hits;
	s->st.cmds_range = s->invq.range_cmds;
	s->st.cmds_scope = s->invq.tag_cmds;
	s->st.cmds_sync = s->invq.sync_cmds;
	s->st.cpu_map_ns = s->st.maps ? s->map_ns / (double)s->st.maps : 0;
	s->st.cpu_unmap_ns = s->st.unmaps ? s->unmap_ns / (double)s->st.unmaps : 0;
	if (s->st.pri_success)
		s->st.pri_latency_ns /= (double)s->st.pri_success;
	s->st.cmd_errors = s->invq.bad_cmds;
	s->st.violations += s->invq.bad_cmds; /* hardware would have raised an error */
	s->st.modeled_ns = s->now;
	*st = s->st;
	pthread_mutex_unlock(&s->hw);
}
