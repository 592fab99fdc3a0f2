/* SPDX-License-Identifier: MIT */
/*
 * A QEMU machine driven from this process: the test suite's outside judge.
 *
 * QEMU runs its real IOMMU models (intel-iommu, amd-iommu, the virt
 * machine's SMMUv3) and the edu PCI device, which does real DMA through
 * them. This process is the machine's only "CPU": it reaches MMIO and I/O
 * ports through the qtest protocol (QEMU's own test socket, run here with
 * the TCG accelerator because Debian builds no qtest accelerator) and guest
 * RAM directly, through a file both processes map (memory-backend-file,
 * share=on). The guest CPU runs a two-instruction firmware that halts it;
 * with -icount shift=0,sleep=off an idle machine jumps its virtual clock to
 * the next timer, so edu's DMA timer fires at once.
 *
 * Lifetime: qm_start() spawns QEMU with PR_SET_PDEATHSIG, so QEMU dies with
 * this process even when a test crashes; qm_stop() kills and reaps it (and
 * runs at exit for a machine still live, e.g. after a failed REQUIRE). No
 * file is left behind: the RAM file, socket and firmware are unlinked as
 * soon as QEMU has opened them.
 *
 * Errors: every qtest failure (QEMU gone, protocol error, 10 s without an
 * answer) aborts the test with a TAP "Bail out!" line and QEMU's stderr;
 * such a failure is never a result to check. Single-threaded.
 */
#ifndef IOPT_TESTS_QEMU_H
#define IOPT_TESTS_QEMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <iopt/pgtable.h>

enum qm_arch {
	QM_X86 = 1, /* qemu-system-x86_64 -machine q35; RAM at 0 */
	QM_ARM,     /* qemu-system-aarch64 -machine virt; RAM at 0x40000000 */
};

struct qm_cfg {
	enum qm_arch arch;
	const char *machine_opts; /* appended to the -machine value, e.g. ",iommu=smmuv3" */
	const char *const *args;  /* more QEMU arguments, NULL-terminated (the IOMMU device) */
	uint64_t ram_size;        /* 0 = 128 MiB */
};

/* Guest RAM pages handed out by qm_alloc (a bump region above the low 1 MiB). */
struct qm {
	enum qm_arch arch;
	pid_t pid;
	int sock;
	char dir[64]; /* temporary directory: QEMU's stderr log */
	uint8_t *ram;
	uint64_t ram_base, ram_size;
	uint64_t brk;        /* next free guest-physical byte for qm_alloc */
	uint64_t mmio_next;  /* next free PCI memory address for BARs */
	uint64_t ecam;       /* ARM: PCIe ECAM base (0 on x86: ports 0xCF8/0xCFC) */
	struct iopt_pt_provider provider;
	long tables_live;    /* tables the provider handed out and not got back */
	char line[256];      /* last qtest answer */
};

/*
 * Abort the test: TAP "Bail out!" with the message and QEMU's stderr, QEMU
 * stopped. For drivers built on the harness (a machine that misbehaves is
 * never a result to check).
 */
void qm_bail(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

/* Binary QEMU needs for @arch, or NULL when it is not installed (skip then). */
const char *qm_binary(enum qm_arch arch);

/* Start the machine. Return: 0, or -1 with a message on stderr. */
int qm_start(struct qm *m, const struct qm_cfg *cfg);
void qm_stop(struct qm *m);

/* MMIO through qtest; size 1, 2, 4 or 8. */
uint64_t qm_read(struct qm *m, uint64_t addr, unsigned size);
void qm_write(struct qm *m, uint64_t addr, uint64_t val, unsigned size);
static inline uint32_t qm_readl(struct qm *m, uint64_t a) { return (uint32_t)qm_read(m, a, 4); }
static inline uint64_t qm_readq(struct qm *m, uint64_t a) { return qm_read(m, a, 8); }
static inline void qm_writel(struct qm *m, uint64_t a, uint32_t v) { qm_write(m, a, v, 4); }
static inline void qm_writeq(struct qm *m, uint64_t a, uint64_t v) { qm_write(m, a, v, 8); }
/*
 * Up to QM_WRITE_MANY writes of @size in one round trip (sent together,
 * answered in order): a qtest round trip costs 0.1-0.3 ms on a loaded VM.
 */
#define QM_WRITE_MANY 16u
void qm_write_many(struct qm *m, const uint64_t *addr, const uint64_t *val, unsigned n,
		   unsigned size);

/* Host view of guest-physical [gpa, gpa + len): aborts outside RAM. */
void *qm_gpa(struct qm *m, uint64_t gpa, size_t len);

/* Zeroed guest RAM of @size bytes aligned to @align (a power of two). */
uint64_t qm_alloc(struct qm *m, uint64_t size, uint64_t align);

/*
 * A table provider placing the library's tables in guest RAM (phys = guest
 * physical address), so QEMU's IOMMU walks what iopt wrote. Freed tables are
 * counted, not reused (a test's RAM is plenty).
 */
const struct iopt_pt_provider *qm_provider(struct qm *m);

/* Fill guest [gpa, gpa + len) with a pattern derived from @seed; compare two ranges. */
void qm_fill(struct qm *m, uint64_t gpa, uint32_t len, uint32_t seed);
bool qm_same(struct qm *m, uint64_t a, uint64_t b, uint32_t len);

/*
 * TAP skip, for a test program that needs @arch's QEMU: prints the plan
 * "1..0 # SKIP ..." and returns 0 from main (./dev test installs QEMU, so
 * this is only seen where it could not).
 */
#define QM_SKIP_UNLESS(arch)                                                              \
	do {                                                                              \
		if (!qm_binary(arch)) {                                                   \
			printf("1..0 # SKIP %s not installed (apt-get install "           \
			       "qemu-system-x86 qemu-system-arm)\n",                       \
			       (arch) == QM_X86 ? "qemu-system-x86_64" : "qemu-system-aarch64"); \
			return 0;                                                         \
		}                                                                         \
	} while (0)

/* PCI configuration space of bus 0 device @devfn (bdf = devfn here). */
uint32_t qm_pci_read(struct qm *m, unsigned bdf, unsigned off, unsigned size);
void qm_pci_write(struct qm *m, unsigned bdf, unsigned off, uint32_t val, unsigned size);
/* First function on bus 0 with the IDs; -1 when none. */
int qm_pci_find(struct qm *m, uint16_t vendor, uint16_t device);
/* First function on bus 0 of @vendor with class code @class (base << 16 | sub << 8 | prog-if). */
int qm_pci_find_class(struct qm *m, uint16_t vendor, uint32_t class_code);
/* Offset of capability @id in @bdf's list; 0 when absent. */
unsigned qm_pci_cap(struct qm *m, unsigned bdf, uint8_t id);
/* Give BAR @bar (32-bit memory BAR) an address, enable memory decoding and bus mastering. */
uint64_t qm_pci_map_bar(struct qm *m, unsigned bdf, unsigned bar);

/*
 * The edu device (QEMU docs/specs/edu.txt): a 4 KiB buffer at device offset
 * 0x40000, reachable only by its DMA engine, which copies between it and a
 * bus address (an IOVA, translated by the IOMMU). A DMA that faults is
 * dropped by QEMU (nothing written; a read fills the buffer with what the
 * bus returns) and edu reports nothing: tests judge by memory contents and
 * the IOMMU's fault records. QEMU 7.2's range check aborts QEMU on a full
 * 4096-byte transfer: keep len <= 2048.
 */
struct qm_edu {
	struct qm *m;
	unsigned bdf;
	uint64_t mmio;
};
#define QM_EDU_BUF 0x40000u
#define QM_EDU_MAX 2048u

/* Find edu on bus 0, map its BAR; aborts when there is none. */
void qm_edu_init(struct qm *m, struct qm_edu *e);
/* The same for the edu at @bdf (a second one added with "-device edu,addr=..."). */
void qm_edu_init_at(struct qm *m, struct qm_edu *e, unsigned bdf);
/* RAM -> edu buffer (@to_dev) or edu buffer -> RAM; returns when the engine is idle. */
void qm_edu_dma(struct qm_edu *e, bool to_dev, uint64_t iova, uint32_t off, uint32_t len);

#endif /* IOPT_TESTS_QEMU_H */
