/* SPDX-License-Identifier: MIT */
/*
 * Built-in workloads (contract: scenario.h). Each thread has its own
 * generator: a seeded xorshift64*, a small queue of pending events and the
 * workload's ring state. One step of a generator emits the events of one
 * operation (or of one setup action: filling a ring, mapping guest RAM)
 * into the queue; sim_scenario_next() pops them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

#define KIB 1024ull
#define MIB (1024 * KIB)
#define GIB (1024 * MIB)

#define QMAX 8     /* events one step emits at most */
#define SG_MAX 32  /* nvme: segments per command */
#define RING_MAX 520

/* nic: buffer slots 0..NIC_RX-1 rx, then tx, then the two descriptor rings */
#define NIC_RX 256
#define NIC_TX 256
#define NIC_RXD (NIC_RX + NIC_TX)
#define NIC_TXD (NIC_RXD + 1)
#define NIC_DESC 16
/* nvme: data slots 0..NVME_QD-1, then the submission and completion queues */
#define NVME_QD 64
#define NVME_SQ NVME_QD
#define NVME_CQ (NVME_QD + 1)
#define NVME_SQE 64
#define NVME_CQE 16
#define NVME_MAX_PAGES 256 /* 1 MiB */
/* vm: guest RAM = 1G at GPA 0; above it VM_SMALL 2M, VM_BIG 32M, VM_TINY 64K chunks; 1G at GPA 4G */
#define VM_SMALL 63
#define VM_BIG 4
#define VM_TINY 8
#define VM_CHUNKS (VM_SMALL + VM_BIG + VM_TINY + 2)
#define VM_BALLOON_EVERY 64
/* sva: a 64 MiB heap in a process address space (below 2^39: inside every format's aperture) */
#define SVA_BASE 0x3f00000000ull
#define SVA_WILD_EVERY 128 /* a stray access outside any aperture: the request is refused */
#define SVA_WILD (1ull << 62)
#define SVA_PAGES 16384
#define SVA_MUNMAP_EVERY 32
/* nested: the guest driver's ring of buffers; slot NESTED_RING is its descriptor ring */
#define NESTED_RING 128

struct thr {
	uint64_t rng;
	uint64_t ops_left;
	uint64_t done;  /* read by other threads: __atomic */
	unsigned init;  /* setup steps emitted */
	unsigned id;
	unsigned qh, qn;
	unsigned cursor, cursor2;
	uint64_t reads;         /* nvme: slot bit set = a read command (device writes) */
	struct sim_event q[QMAX];
	struct iopt_dma_sg sg[SG_MAX];
	uint64_t len[RING_MAX]; /* per buffer slot: mapped length, 0 = free */
	uint64_t *touched;      /* sva: pages mapped by a page request */
};

struct sim_scenario;

struct kind {
	const char *name;
	unsigned threads;
	uint64_t default_ops;
	bool nested;
	uint64_t phys_mem;
	unsigned init_steps; /* per thread */
	void (*step)(struct sim_scenario *sc, struct thr *t);
};

struct sim_scenario {
	const struct kind *k;
	uint64_t ops;
	unsigned threads;
	struct thr *thr;
};

static uint64_t rnd(struct thr *t)
{
	uint64_t x = t->rng;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	t->rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Uniform in [lo, hi]. */
static uint64_t between(struct thr *t, uint64_t lo, uint64_t hi)
{
	return lo + rnd(t) % (hi - lo + 1);
}

static struct sim_event *push(struct thr *t, enum sim_ev_kind kind)
{
	struct sim_event *ev = &t->q[(t->qh + t->qn++) % QMAX];

	memset(ev, 0, sizeof(*ev));
	ev->kind = kind;
	ev->cpu = t->id;
	return ev;
}

static uint32_t buf_id(const struct thr *t, unsigned slot)
{
	return t->id * SIM_SCN_BUFS_PER_THREAD + slot;
}

/* A physical address for a buffer of len bytes, aligned, inside phys_mem. */
static uint64_t phys_for(struct sim_scenario *sc, struct thr *t, uint64_t len, uint64_t align)
{
	return between(t, 0, (sc->k->phys_mem - len) / align) * align;
}

static void map_buf(struct sim_scenario *sc, struct thr *t, unsigned slot, uint64_t len,
		    uint64_t align, unsigned prot)
{
	struct sim_event *ev = push(t, SIM_EV_MAP);

	ev->buf = buf_id(t, slot);
	ev->phys = phys_for(sc, t, len, align);
	ev->size = len;
	ev->prot = prot;
	t->len[slot] = len;
}

static void unmap_buf(struct thr *t, unsigned slot)
{
	push(t, SIM_EV_UNMAP)->buf = buf_id(t, slot);
	t->len[slot] = 0;
}

static void dma_buf(struct thr *t, unsigned slot, uint64_t off, uint64_t len, bool write)
{
	struct sim_event *ev = push(t, SIM_EV_DMA);

	ev->buf = buf_id(t, slot);
	ev->dev = t->id;
	ev->off = off;
	ev->size = len;
	ev->write = write;
}

/* Network buffer sizes: standard MTU up to jumbo frames. */
static uint64_t nic_buf_size(struct thr *t)
{
	static const uint64_t sizes[] = {1536, 2048, 3072, 4096, 9216};

	return sizes[rnd(t) % (sizeof(sizes) / sizeof(sizes[0]))];
}

#define RW (IOPT_PROT_READ | IOPT_PROT_WRITE)

/*
 * nic: slots 0..NIC_RX-1 are the rx ring (device writes, buffer unmapped to
 * the stack and a fresh one mapped in its place), NIC_RX.. the tx ring
 * (mapped per packet, unmapped when the ring comes round: completion).
 * The descriptor rings stay mapped: the device reads a descriptor before
 * each packet and writes its status back after (the IOTLB's hot entries).
 */
static void nic_step(struct sim_scenario *sc, struct thr *t)
{
	if (t->init < NIC_RX) {
		map_buf(sc, t, t->init++, nic_buf_size(t), 64, RW);
		return;
	}
	if (t->init < NIC_RX + 2) {
		map_buf(sc, t, t->init++ == NIC_RX ? NIC_RXD : NIC_TXD, NIC_RX * NIC_DESC, 4096, RW);
		return;
	}
	if (rnd(t) & 1) {
		unsigned slot = t->cursor++ % NIC_RX;
		dma_buf(t, NIC_RXD, slot * NIC_DESC, NIC_DESC, false);
		dma_buf(t, slot, 0, between(t, 64, t->len[slot]), true);
		dma_buf(t, NIC_RXD, slot * NIC_DESC, NIC_DESC, true);
		unmap_buf(t, slot);
		map_buf(sc, t, slot, nic_buf_size(t), 64, RW);
	} else {
		unsigned idx = t->cursor2++ % NIC_TX, slot = NIC_RX + idx;
		uint64_t len = between(t, 64, 9216);
		if (t->len[slot])
			unmap_buf(t, slot);
		map_buf(sc, t, slot, len, 2, IOPT_PROT_READ);
		dma_buf(t, NIC_TXD, idx * NIC_DESC, NIC_DESC, false);
		dma_buf(t, slot, 0, len, false);
		dma_buf(t, NIC_TXD, idx * NIC_DESC, NIC_DESC, true);
	}
}

/*
 * nvme: a command's data is 1..256 pages (log-spread: small I/O dominates)
 * in 1..32 page-aligned segments. Slot s is reused after NVME_QD commands:
 * the old command completes (its DMA, then unmap) before the new one is
 * submitted, so NVME_QD commands are in flight.
 */
static void nvme_step(struct sim_scenario *sc, struct thr *t)
{
	if (t->init < 2) {
		bool sq = t->init++ == 0;
		map_buf(sc, t, sq ? NVME_SQ : NVME_CQ, NVME_QD * (sq ? NVME_SQE : NVME_CQE), 4096, RW);
		return;
	}
	unsigned slot = t->cursor++ % NVME_QD;

	if (t->len[slot]) {
		/* Completion: a read command's data was written by the device, then its CQ entry. */
		dma_buf(t, slot, 0, t->len[slot], t->reads >> slot & 1);
		dma_buf(t, NVME_CQ, slot * NVME_CQE, NVME_CQE, true);
		unmap_buf(t, slot);
	}
	uint64_t pages = 1ull << between(t, 0, 7);
	pages += between(t, 0, pages);
	unsigned nseg = (unsigned)between(t, 1, pages < SG_MAX ? pages : SG_MAX);
	uint64_t left = pages;
	for (unsigned i = 0; i < nseg; i++) {
		/* Around an even share, leaving at least a page for each segment after it. */
		uint64_t most = left - (nseg - 1 - i), share = 2 * left / (nseg - i);
		uint64_t n = i == nseg - 1 ? left : between(t, 1, share < most ? share : most);
		t->sg[i] = (struct iopt_dma_sg){.phys = phys_for(sc, t, n * 4096, 4096), .len = n * 4096};
		left -= n;
	}
	bool read_cmd = rnd(t) & 1;
	t->reads = (t->reads & ~(1ull << slot)) | (uint64_t)read_cmd << slot;
	struct sim_event *ev = push(t, SIM_EV_MAP_SG);
	ev->buf = buf_id(t, slot);
	ev->sg = t->sg;
	ev->nents = nseg;
	ev->prot = read_cmd ? RW : IOPT_PROT_READ;
	t->len[slot] = pages * 4096;
	/* The device fetches the command from the submission queue. */
	dma_buf(t, NVME_SQ, slot * NVME_SQE, NVME_SQE, false);
}

/*
 * vm guest RAM chunk i: GPA, HPA, size. 2M chunks on scattered host pages;
 * 32M and 64K chunks on host memory aligned to their size, so that a table
 * with contiguous hints maps each as one run (16 2M blocks, 16 4K pages).
 */
static void vm_chunk(unsigned i, uint64_t *gpa, uint64_t *hpa, uint64_t *size)
{
	if (i == 0) {
		*gpa = 0;
		*hpa = 1 * GIB;
		*size = GIB;
	} else if (i == VM_CHUNKS - 1) {
		*gpa = 4 * GIB;
		*hpa = 3 * GIB;
		*size = GIB;
	} else if (i <= VM_SMALL) {
		*gpa = GIB + (i - 1) * 2 * MIB;
		*hpa = 2 * GIB + ((i - 1) * 37 % VM_SMALL) * 2 * MIB;
		*size = 2 * MIB;
	} else if (i <= VM_SMALL + VM_BIG) {
		unsigned k = i - VM_SMALL - 1;
		*gpa = GIB + 128 * MIB + k * 32 * MIB;
		*hpa = 2 * GIB + 128 * MIB + (k * 3 % VM_BIG) * 32 * MIB;
		*size = 32 * MIB;
	} else {
		unsigned k = i - VM_SMALL - VM_BIG - 1;
		*gpa = GIB + 256 * MIB + k * 64 * KIB;
		*hpa = 2 * GIB + 256 * MIB + (k * 5 % VM_TINY) * 64 * KIB;
		*size = 64 * KIB;
	}
}

static void vm_map_chunk(struct thr *t, unsigned i)
{
	struct sim_event *ev = push(t, SIM_EV_MAP_AT);

	ev->buf = SIM_NO_BUF;
	vm_chunk(i, &ev->iova, &ev->phys, &ev->size);
	ev->prot = RW;
}

static void vm_step(struct sim_scenario *sc, struct thr *t)
{
	uint64_t gpa, hpa, size;

	(void)sc;
	if (t->init < VM_CHUNKS) {
		vm_map_chunk(t, t->init++);
		return;
	}
	if (++t->cursor % VM_BALLOON_EVERY == 0) {
		/* Balloon: a 2M, 32M or 64K chunk leaves the guest and comes back. */
		unsigned i = (unsigned)between(t, 1, VM_SMALL + VM_BIG + VM_TINY);
		vm_chunk(i, &gpa, &hpa, &size);
		struct sim_event *ev = push(t, SIM_EV_UNMAP_AT);
		ev->buf = SIM_NO_BUF;
		ev->iova = gpa;
		ev->size = size;
		vm_map_chunk(t, i);
	}
	vm_chunk((unsigned)between(t, 0, VM_CHUNKS - 1), &gpa, &hpa, &size);
	uint64_t off = between(t, 0, size - 64) & ~63ull;
	uint64_t len = between(t, 64, 16 * KIB);
	struct sim_event *ev = push(t, SIM_EV_DMA);
	ev->buf = SIM_NO_BUF;
	ev->dev = (uint32_t)between(t, 0, 3);
	ev->iova = gpa + off;
	ev->size = len < size - off ? len : size - off;
	ev->write = rnd(t) & 1;
}

/*
 * sva: the device touches random heap pages with page requests allowed;
 * the first touch of a page faults and the sim's handler maps it. Every
 * SVA_MUNMAP_EVERY operations the process unmaps a page it knows mapped;
 * every SVA_WILD_EVERY the device strays far outside the address space,
 * where the handler must answer INVALID.
 */
static void sva_step(struct sim_scenario *sc, struct thr *t)
{
	(void)sc;
	if (++t->cursor % SVA_MUNMAP_EVERY == 0) {
		uint64_t start = between(t, 0, SVA_PAGES - 1);
		for (uint64_t k = 0; k < SVA_PAGES; k++) {
			uint64_t p = (start + k) % SVA_PAGES;
			if (t->touched[p / 64] & (1ull << p % 64)) {
				t->touched[p / 64] &= ~(1ull << p % 64);
				struct sim_event *ev = push(t, SIM_EV_UNMAP_AT);
				ev->buf = SIM_NO_BUF;
				ev->iova = SVA_BASE + p * 4096;
				ev->size = 4096;
				break;
			}
		}
	}
	/* Mostly near the last page (a device streams through a buffer), now and then anywhere. */
	uint64_t p = rnd(t) % 4 ? (t->cursor2 + between(t, 0, 2)) % SVA_PAGES : between(t, 0, SVA_PAGES - 1);
	t->cursor2 = (unsigned)p;
	uint64_t off = between(t, 0, 4095 - 63) & ~63ull;
	bool wild = t->cursor % SVA_WILD_EVERY == 0;
	struct sim_event *ev = push(t, SIM_EV_DMA);
	ev->buf = SIM_NO_BUF;
	ev->iova = (wild ? SVA_WILD : SVA_BASE) + p * 4096 + off;
	ev->size = between(t, 1, 4096 - off);
	ev->write = rnd(t) & 1;
	ev->pri = true;
	if (!wild)
		t->touched[p / 64] |= 1ull << p % 64;
}

/*
 * nested: the guest's driver maps a buffer, the device fetches its
 * descriptor from a ring mapped once, transfers the data and writes the
 * descriptor back; the buffer is unmapped when the ring comes round.
 */
static void nested_step(struct sim_scenario *sc, struct thr *t)
{
	if (t->init < 1) {
		t->init++;
		map_buf(sc, t, NESTED_RING, NESTED_RING * NIC_DESC, 4096, RW);
		return;
	}
	unsigned slot = t->cursor++ % NESTED_RING;

	if (t->len[slot])
		unmap_buf(t, slot);
	uint64_t len = between(t, 512, 64 * KIB);
	bool write = rnd(t) & 1;
	map_buf(sc, t, slot, len, 512, write ? RW : IOPT_PROT_READ);
	dma_buf(t, NESTED_RING, slot * NIC_DESC, NIC_DESC, false);
	dma_buf(t, slot, 0, len, write);
	dma_buf(t, NESTED_RING, slot * NIC_DESC, NIC_DESC, true);
}

static const struct kind kinds[] = {
	{"nic", 2, 200000, false, GIB, NIC_RX + 2, nic_step},
	{"nvme", 1, 20000, false, GIB, 2, nvme_step},
	{"vm", 1, 200000, false, 4 * GIB, VM_CHUNKS, vm_step},
	{"sva", 1, 100000, false, GIB, 0, sva_step},
	{"nested", 1, 100000, true, GIB, 1, nested_step},
};

const char *const sim_scenario_names[] = {"nic", "nvme", "vm", "sva", "nested", NULL};

int sim_scenario_create(const char *name, uint64_t ops, uint64_t seed, struct sim_scenario **out)
{
	const struct kind *k = NULL;

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (name && !strcmp(name, kinds[i].name))
			k = &kinds[i];
	if (!k)
		return -ENOENT;
	if (ops > (1ull << 40))
		return -EINVAL;
	struct sim_scenario *sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->k = k;
	sc->ops = ops ? ops : k->default_ops;
	sc->threads = k->threads;
	sc->thr = calloc(k->threads, sizeof(*sc->thr));
	if (!sc->thr)
		goto nomem;
	for (unsigned i = 0; i < k->threads; i++) {
		struct thr *t = &sc->thr[i];
		/* splitmix64 of (seed, thread): independent, never-zero xorshift states. */
		uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
		t->rng = (z ^ (z >> 31)) | 1;
		t->id = i;
		t->ops_left = sc->ops / k->threads + (i < sc->ops % k->threads);
		if (k->step == sva_step) {
			t->touched = calloc(SVA_PAGES / 64, sizeof(uint64_t));
			if (!t->touched)
				goto nomem;
		}
	}
	*out = sc;
	return 0;
nomem:
	sim_scenario_destroy(sc);
	return -ENOMEM;
}

void sim_scenario_destroy(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (unsigned i = 0; sc->thr && i < sc->threads; i++)
		free(sc->thr[i].touched);
	free(sc->thr);
	free(sc);
}

void sim_scenario_setup(const struct sim_scenario *sc, struct sim_opts *o)
{
	o->threads = sc->threads;
	o->phys_mem = sc->k->phys_mem;
	if (!sc->k->nested || o->nested)
		return;
	o->nested = true;
	o->s2_format = o->format == IOPT_PT_LPAE_S1 ? IOPT_PT_LPAE_S2 : IOPT_PT_VTD_SS;
}

unsigned sim_scenario_threads(const struct sim_scenario *sc)
{
	return sc->threads;
}

uint64_t sim_scenario_ops(const struct sim_scenario *sc)
{
	return sc->ops;
}

uint64_t sim_scenario_done(const struct sim_scenario *sc)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < sc->threads; i++)
		n += __atomic_load_n(&sc->thr[i].done, __ATOMIC_RELAXED);
	return n;
}

int sim_scenario_next(struct sim_scenario *sc, unsigned thr, struct sim_event *ev)
{
	if (thr >= sc->threads)
		return -EINVAL;
	struct thr *t = &sc->thr[thr];
	if (!t->qn) {
		if (t->init < sc->k->init_steps) {
			sc->k->step(sc, t);
		} else if (t->ops_left) {
			t->ops_left--;
			sc->k->step(sc, t);
			__atomic_store_n(&t->done, t->done + 1, __ATOMIC_RELAXED);
		} else {
			return 0;
		}
	}
	*ev = t->q[t->qh];
	t->qh = (t->qh + 1) % QMAX;
	t->qn--;
	return 1;
}
