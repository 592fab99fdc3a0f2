/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim core: the hardware side of an IOMMU (walkers, IOTLB, invalidation
 * queue, faults, page requests) plus an executor that applies workload events
 * through the library's DMA layer and checks every DMA against a safety
 * oracle. The CLI (sim/main.c), scenarios and trace parsers produce
 * struct sim_event streams; this module consumes them.
 *
 * CONTRACT between sim core (sim/hw/, sim/exec.c) and front end (sim/trace.c,
 * sim/scenario.c, sim/main.c). Change it only by agreement.
 */
#ifndef IOPT_SIM_H
#define IOPT_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <iopt/dma.h>
#include <iopt/pgtable.h>

/* Test hooks: deliberately broken invalidation, to prove the oracle works. */
#define SIM_BREAK_DROP_LAST_PAGE (1u << 0) /* planner output misses the range's last page */
#define SIM_BREAK_SKIP_SYNC      (1u << 1) /* unmap's invalidation never reaches the IOTLB */
/* SMMU without RIL: one TG=0 command per stride step, i.e. one per contiguous run
 * (the planner before commit 494512e, issue 12) */
#define SIM_BREAK_TLBI_PER_RUN   (1u << 2)
/* the library is set up as if the hardware advertised every capability */
#define SIM_BREAK_IGNORE_CAPS    (1u << 3)
/* under VT-d caching mode, maps send no invalidation (the DMA layer without
 * IOPT_DMA_F_FLUSH_ON_MAP, the IOMMU-API paths without their flush) */
#define SIM_BREAK_NO_MAP_FLUSH   (1u << 4)

/*
 * What the simulated IOMMU advertises, as its registers (the vendor's own
 * layout; a run reads its vendor's only). A command field or entry bit
 * whose capability is absent is reserved: the decoder rejects the command
 * (a queue error) or the walk faults (SIM_F_RESERVED), and the oracle
 * counts a violation. sim_hw_caps_default() gives QEMU 7.2's registers
 * (docs/SIM.md lists the few bits added so that every format can run).
 */
struct sim_hw_caps {
	uint64_t vtd_cap, vtd_ecap;  /* VT-d CAP_REG / ECAP_REG */
	uint64_t amd_efr;            /* AMD extended feature register */
	uint32_t smmu_idr0, smmu_idr3, smmu_idr5; /* SMMUv3 IDR0 / IDR3 / IDR5 */
};

/* The bits the model checks (hw-facts §1, §5; VT-d/AMD/SMMUv3 register maps). */
#define SIM_VTD_CAP_ND(c)      (4 + 2 * (unsigned)((c) & 7))  /* domain-id bits */
#define SIM_VTD_CAP_CM         (1ull << 7)  /* caching mode: not-present results may be cached */
#define SIM_VTD_CAP_PSI        (1ull << 39) /* page-selective IOTLB invalidation */
#define SIM_VTD_CAP_MAMV(c)    ((unsigned)((c) >> 48) & 0x3F) /* largest PSI AM */
#define SIM_VTD_CAP_DWD        (1ull << 54) /* DW (drain writes) in type-2 descriptors */
#define SIM_VTD_CAP_DRD        (1ull << 55) /* DR (drain reads) in type-2 descriptors */
#define SIM_VTD_ECAP_SC        (1ull << 7)  /* snoop control: SNP in leaf entries */
#define SIM_VTD_ECAP_PASID     (1ull << 40) /* PASID: type-6 descriptors (with SMTS) */
#define SIM_VTD_ECAP_PDS       (1ull << 42) /* page-request drain: PD in wait descriptors */
#define SIM_VTD_ECAP_SMTS      (1ull << 43) /* scalable mode */
#define SIM_VTD_ECAP_FLTS      (1ull << 47) /* first-stage translation (not checked) */
#define SIM_AMD_EFR_GT         (1ull << 4)  /* guest translation: GN=1 commands */
#define SIM_AMD_EFR_IA         (1ull << 6)  /* INVALIDATE_IOMMU_ALL */
#define SIM_SMMU_IDR0_S2P      (1u << 0)    /* stage 2: TLBI_S2_IPA, TLBI_S12_VMALL */
#define SIM_SMMU_IDR0_S1P      (1u << 1)    /* stage 1: TLBI_NH_* */
#define SIM_SMMU_IDR0_ASID16   (1u << 12)   /* else ASIDs are 8 bits */
#define SIM_SMMU_IDR0_VMID16   (1u << 18)   /* else VMIDs are 8 bits */
#define SIM_SMMU_IDR3_RIL      (1u << 10)   /* range invalidation: TG != 0 */
#define SIM_SMMU_IDR5_GRAN(tg) (1u << (3 + (tg))) /* TG 1/2/3: GRAN4K/16K/64K (bits 4..6) */

struct sim_opts {
	enum iopt_pt_format format;   /* table format (stage 1 when nested) */
	bool nested;                  /* stage-1 `format` walked through a stage-2 table */
	enum iopt_pt_format s2_format;/* nested: IOPT_PT_VTD_SS or IOPT_PT_LPAE_S2 */
	enum iopt_inv_vendor vendor;  /* command set; 0 = natural vendor of the format */
	enum iopt_dma_mode mode;      /* strict / lazy */
	unsigned iotlb_entries;       /* 0 = 512 */
	unsigned iotlb_ways;          /* 0 = 8 */
	bool pwc;                     /* paging-structure cache on */
	bool dirty_tracking;          /* hardware A/D updates */
	unsigned threads;             /* max distinct `cpu` values in events (1..64) */
	uint64_t dma_mask;            /* 0 = 2^ias - 1 */
	uint64_t phys_mem;            /* bytes of simulated device-visible RAM, 0 = 1 GiB */
	double ns_per_cmd;            /* modeled cost per invalidation command, 0 = 1000 */
	double ns_per_walk_read;      /* modeled cost per walk memory read, 0 = 100 */
	const struct sim_hw_caps *hw; /* the IOMMU's registers (copied); NULL = sim_hw_caps_default */
	/*
	 * Cache an ARM contiguous run or an AMD replicated (NextLevel=7) page as
	 * ONE IOTLB entry. Default (false): one entry per descriptor the walk
	 * read (a 4K entry per page of a 64K run, 2M per block of a 32M run, one
	 * replica's slot of an AMD page), as QEMU does. Both are legal hardware;
	 * per descriptor is the strict one (an invalidation must cover each).
	 */
	bool tlb_whole_runs;
	uint64_t seed;
	unsigned break_flags;         /* SIM_BREAK_*; tests only */
};

/*
 * sim_hw_caps_default - QEMU 7.2's registers for o's vendor (o->format,
 * o->nested, o->vendor), plus what the format needs that QEMU 7.2 lacks:
 * 48-bit SAGAW/MGAW for 4-level VT-d tables, scalable mode with PASID and
 * first-stage bits for x86_64, SMMU stage 2 for lpae_s2 and nested pairs.
 */
void sim_hw_caps_default(const struct sim_opts *o, struct sim_hw_caps *c);

enum sim_ev_kind {
	SIM_EV_MAP = 1,   /* DMA API: buffer `buf` <- iopt_dma_map(phys, size, prot) */
	SIM_EV_MAP_SG,    /* DMA API: buffer `buf` <- iopt_dma_map_sg(sg, nents, prot) */
	SIM_EV_UNMAP,     /* DMA API: iopt_dma_unmap / unmap_sg of buffer `buf` */
	SIM_EV_MAP_AT,    /* IOMMU API (trace replay): map [iova, iova+size) -> phys */
	SIM_EV_UNMAP_AT,  /* IOMMU API: unmap [iova, iova+size), gather, sync */
	SIM_EV_DMA,       /* device `dev` accesses buffer `buf` at `off` (or raw `iova` when buf == SIM_NO_BUF) */
};
#define SIM_NO_BUF UINT32_MAX

struct sim_event {
	enum sim_ev_kind kind;
	uint32_t cpu;       /* CPU thread issuing MAP/UNMAP (0..threads-1) */
	uint32_t dev;       /* device issuing a DMA */
	uint32_t buf;       /* buffer handle (< 2^20), chosen by the producer */
	uint64_t iova;      /* MAP_AT/UNMAP_AT/raw DMA */
	uint64_t phys;      /* MAP/MAP_AT */
	uint64_t size;      /* MAP/MAP_AT/UNMAP_AT bytes; DMA length */
	uint64_t off;       /* DMA offset in the buffer */
	unsigned prot;      /* IOPT_PROT_* */
	bool write;         /* DMA direction: device writes memory */
	bool pri;           /* DMA may fault and raise a page request (sva) */
	const struct iopt_dma_sg *sg; /* MAP_SG: nents segments (copied by sim_apply) */
	unsigned nents;
};

/* Everything the CLI prints. Times are modeled ns unless named cpu_. */
struct sim_stats {
	uint64_t maps, unmaps, map_errors;
	double cpu_map_ns, cpu_unmap_ns;   /* measured wall ns per call, CPU side */
	uint64_t dmas, dma_bytes, dma_faults;
	uint64_t iotlb_hits, iotlb_misses, pwc_hits, walk_reads;
	uint64_t cmds_range, cmds_scope, cmds_sync;  /* decoded by the sim */
	uint64_t cmd_errors;               /* commands the hardware rejects (queue errors): violations */
	uint64_t flushes;                  /* gather syncs + flush-queue flushes */
	uint64_t faults_not_present, faults_perm, faults_addr_size, faults_reserved;
	uint64_t pri_requests, pri_success, pri_invalid;
	double pri_latency_ns;             /* mean modeled request->response */
	uint64_t stale_dmas;               /* DMAs that used a translation whose unmap returned */
	double stale_window_ns;            /* longest modeled stale window */
	uint64_t stale_bound_dmas;         /* lazy: stale DMAs beyond the flush-queue bound */
	uint64_t violations;               /* strict: stale_dmas; lazy: stale_bound_dmas; + wrong-phys/perm,
					    * cmd_errors */
	double modeled_ns;                 /* total modeled hardware time */
};

struct sim;

/* 0 or -EINVAL (bad opts) / -ENOMEM. Owned by caller: sim_destroy. */
int sim_create(const struct sim_opts *o, struct sim **out);
/*
 * Apply one event. Thread-safe for distinct ev->cpu values (each cpu value
 * used by one thread at a time). Return 0, or the library's error for a
 * MAP/UNMAP that failed (counted, state unchanged), -EINVAL for a malformed
 * event (unknown buf, buf reused while live, ...). A DMA fault is not an
 * error (it is counted; with ev->pri the page request is served first).
 */
int sim_apply(struct sim *s, const struct sim_event *ev);
/* Drain the flush queue, unmap what is still mapped, then read counters. */
void sim_finish(struct sim *s, struct sim_stats *st);
void sim_destroy(struct sim *s);

#endif
