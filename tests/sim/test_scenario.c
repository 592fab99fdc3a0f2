/* SPDX-License-Identifier: MIT */
/*
 * Scenario generators (sim/scenario.h): same seed -> same streams whatever
 * the thread interleaving, another seed -> other streams, and every stream
 * is a valid workload: buffers mapped before use and unmapped once, DMAs
 * inside live mappings, physical ranges inside the scenario's memory,
 * sizes in the documented ranges, every event representable in the trace
 * format (round trip).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "tap.h"
#include "trace.h"

#define OPS 3000

struct copy {
	struct sim_event ev;
	struct iopt_dma_sg sg[32]; /* ev.sg points here once the stream is complete */
};

struct stream {
	struct copy *e;
	size_t n, cap;
};

static void keep(struct stream *s, const struct sim_event *ev)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->e = realloc(s->e, s->cap * sizeof(*s->e));
		REQUIRE(s->e);
	}
	struct copy *c = &s->e[s->n++];
	c->ev = *ev;
	REQUIRE(ev->nents <= 32);
	if (ev->nents)
		memcpy(c->sg, ev->sg, ev->nents * sizeof(*ev->sg));
	c->ev.sg = NULL;
}

/* Point each copy's sg at its own segments (the array no longer moves). */
static void seal(struct stream *s)
{
	for (size_t i = 0; i < s->n; i++)
		s->e[i].ev.sg = s->e[i].sg;
}

/* All streams of (name, seed): thread by thread, or round-robin interleaved. */
static unsigned generate(const char *name, uint64_t seed, bool interleave, struct stream *s)
{
	struct sim_scenario *sc;
	struct sim_event ev;

	REQUIRE(!sim_scenario_create(name, OPS, seed, &sc));
	unsigned nt = sim_scenario_threads(sc);
	memset(s, 0, sizeof(*s) * nt);
	if (interleave) {
		for (bool more = true; more;) {
			more = false;
			for (unsigned t = 0; t < nt; t++)
				if (sim_scenario_next(sc, t, &ev) == 1) {
					keep(&s[t], &ev);
					more = true;
				}
		}
	} else {
		for (unsigned t = nt; t-- > 0;)
			while (sim_scenario_next(sc, t, &ev) == 1)
				keep(&s[t], &ev);
	}
	for (unsigned t = 0; t < nt; t++)
		seal(&s[t]);
	CHECK_EQ(sim_scenario_done(sc), OPS);
	CHECK_EQ(sim_scenario_ops(sc), OPS);
	CHECK_EQ(sim_scenario_next(sc, nt, &ev), -EINVAL);
	sim_scenario_destroy(sc);
	return nt;
}

static bool same(const struct stream *a, const struct stream *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (!sim_event_equal(&a->e[i].ev, &b->e[i].ev))
			return false;
	return true;
}

struct live {
	uint64_t size; /* 0 = not mapped */
};

/* Raw IOMMU-API mappings of vm/sva: a tiny interval list. */
struct span {
	uint64_t iova, size;
};

static bool covered(const struct span *sp, unsigned n, uint64_t iova, uint64_t len)
{
	for (unsigned i = 0; i < n; i++)
		if (iova >= sp[i].iova && iova + len <= sp[i].iova + sp[i].size)
			return true;
	return false;
}

/* Replay one thread's stream against a model of what it has mapped. */
static void validate(const char *name, unsigned thr, const struct stream *s, uint64_t phys_mem)
{
	static struct live live[SIM_SCN_BUFS_PER_THREAD];
	static struct span spans[4 * OPS];
	unsigned nspans = 0, maxlive = 0, nlive = 0, errs = 0, prior_dma = 0, runs32m = 0, runs64k = 0;
	uint64_t lo = (uint64_t)thr * SIM_SCN_BUFS_PER_THREAD;
	char text[SIM_TRACE_LINE_MAX];
	struct sim_trace *p;

	REQUIRE(!sim_trace_create(SIM_TRACE_OWN, 0, &p));
	memset(live, 0, sizeof(live));
	for (size_t i = 0; i < s->n; i++) {
		const struct sim_event *ev = &s->e[i].ev;
		struct sim_event back[SIM_TRACE_EV_MAX];
		bool ok = ev->cpu == thr;
		uint64_t b = ev->buf - lo, total = 0;

		if (sim_trace_format(ev, text, sizeof(text)) < 0 ||
		    sim_trace_parse_line(p, text, strlen(text), back) != 1 || !sim_event_equal(ev, back))
			ok = false;
		switch (ev->kind) {
		case SIM_EV_MAP:
		case SIM_EV_MAP_SG:
			ok &= b < SIM_SCN_BUFS_PER_THREAD && !live[b].size;
			if (ev->kind == SIM_EV_MAP) {
				total = ev->size;
				ok &= ev->phys + ev->size <= phys_mem;
			}
			for (unsigned k = 0; k < ev->nents; k++) {
				total += ev->sg[k].len;
				ok &= ev->sg[k].phys % 4096 == 0 && ev->sg[k].len % 4096 == 0 &&
				      ev->sg[k].phys + ev->sg[k].len <= phys_mem;
			}
			/* nvme: data in scatter lists; plain maps only for the two queues above them. */
			if (!strcmp(name, "nvme") && ev->kind == SIM_EV_MAP_SG)
				ok &= b < 64 && ev->nents >= 1 && ev->nents <= 32 && total >= 4096 &&
				      total <= (1u << 20);
			if (!strcmp(name, "nvme") && ev->kind == SIM_EV_MAP)
				ok &= b >= 64 && total <= 4096;
			if (!strcmp(name, "nic") && ev->prot != IOPT_PROT_READ)
				ok &= total >= 1536 && total <= 9216; /* rx buffers */
			ok &= ev->prot & IOPT_PROT_READ;
			if (ok) {
				live[b].size = total;
				if (++nlive > maxlive)
					maxlive = nlive;
			}
			break;
		case SIM_EV_UNMAP:
			ok &= b < SIM_SCN_BUFS_PER_THREAD && live[b].size;
			if (ok) {
				live[b].size = 0;
				nlive--;
			}
			break;
		case SIM_EV_MAP_AT:
			ok &= nspans < 4 * OPS && ev->phys + ev->size <= phys_mem && !covered(spans, nspans, ev->iova, 1);
			runs32m += ev->size == 32u << 20 && !((ev->iova | ev->phys) & ((32u << 20) - 1));
			runs64k += ev->size == 64u << 10 && !((ev->iova | ev->phys) & ((64u << 10) - 1));
			if (ok)
				spans[nspans++] = (struct span){ev->iova, ev->size};
			break;
		case SIM_EV_UNMAP_AT:
			ok &= covered(spans, nspans, ev->iova, ev->size);
			for (unsigned k = 0; ok && k < nspans; k++)
				if (spans[k].iova == ev->iova && spans[k].size == ev->size)
					spans[k] = spans[--nspans];
			/* sva: a page goes away only after the device faulted it in. */
			break;
		case SIM_EV_DMA:
			if (ev->buf != SIM_NO_BUF) {
				ok &= b < SIM_SCN_BUFS_PER_THREAD && live[b].size &&
				      ev->off + ev->size <= live[b].size && ev->size;
			} else if (ev->pri) {
				/* Page requests map on demand: the model records the page. */
				ok &= ev->size && ev->iova / 4096 == (ev->iova + ev->size - 1) / 4096;
				if (ok && !covered(spans, nspans, ev->iova, ev->size) && nspans < 4 * OPS)
					spans[nspans++] = (struct span){ev->iova & ~4095ull, 4096};
				prior_dma++;
			} else {
				ok &= covered(spans, nspans, ev->iova, ev->size);
			}
			break;
		default:
			ok = false;
		}
		if (!ok && errs++ < 3)
			printf("#   %s thread %u event %zu invalid: %s\n", name, thr, i, text);
	}
	if (!tap_check(!errs, name, __FILE__, __LINE__))
		printf("#   %u invalid events\n", errs);
	if (!strcmp(name, "nvme"))
		CHECK_EQ(maxlive, 64 + 2); /* queue depth, plus the submission and completion queues */
	if (!strcmp(name, "sva"))
		CHECK(prior_dma >= OPS);
	if (!strcmp(name, "vm")) /* both addresses aligned: contiguous runs of 2M blocks, 4K pages */
		CHECK(runs32m >= 4 && runs64k >= 8);
	sim_trace_destroy(p);
}

static void test_scenario(const char *name)
{
	struct stream a[4], b[4], c[4];
	struct sim_scenario *sc;
	struct sim_opts o = {.format = IOPT_PT_LPAE_S1};

	printf("# scenario %s\n", name);
	REQUIRE(!sim_scenario_create(name, 10, 1, &sc));
	sim_scenario_setup(sc, &o);
	uint64_t phys_mem = o.phys_mem;
	CHECK(o.threads == sim_scenario_threads(sc) && o.threads >= 1 && o.threads <= 4);
	CHECK(phys_mem >= (1ull << 30));
	if (!strcmp(name, "nested"))
		CHECK(o.nested && o.s2_format == IOPT_PT_LPAE_S2);
	else
		CHECK(!o.nested);
	sim_scenario_destroy(sc);

	unsigned nt = generate(name, 42, false, a);
	generate(name, 42, true, b);
	generate(name, 43, true, c);
	bool all_same = true, any_diff = false;
	for (unsigned t = 0; t < nt; t++) {
		all_same &= same(&a[t], &b[t]);
		any_diff |= !same(&a[t], &c[t]);
		validate(name, t, &a[t], phys_mem);
		validate(name, t, &c[t], phys_mem);
		free(a[t].e);
		free(b[t].e);
		free(c[t].e);
	}
	CHECK(all_same); /* same seed: same streams, whatever the interleaving */
	CHECK(any_diff); /* another seed: other streams */
}

int main(void)
{
	struct sim_scenario *sc = NULL;

	for (const char *const *n = sim_scenario_names; *n; n++)
		test_scenario(*n);

	TEST("create arguments");
	CHECK_EQ(sim_scenario_create("nope", 0, 0, &sc), -ENOENT);
	CHECK_EQ(sim_scenario_create(NULL, 0, 0, &sc), -ENOENT);
	CHECK_EQ(sim_scenario_create("nic", (1ull << 40) + 1, 0, &sc), -EINVAL);
	CHECK(sc == NULL);
	REQUIRE(!sim_scenario_create("nic", 0, 0, &sc));
	CHECK(sim_scenario_ops(sc) > 0); /* a bare run does something */
	sim_scenario_destroy(sc);
	sim_scenario_destroy(NULL);

	/* Nested stage 2 follows the stage-1 family unless given. */
	struct sim_opts o = {.format = IOPT_PT_X86_64};
	REQUIRE(!sim_scenario_create("nested", 0, 0, &sc));
	sim_scenario_setup(sc, &o);
	CHECK(o.nested && o.s2_format == IOPT_PT_VTD_SS);
	o = (struct sim_opts){.format = IOPT_PT_X86_64, .nested = true, .s2_format = IOPT_PT_LPAE_S2};
	sim_scenario_setup(sc, &o);
	CHECK(o.s2_format == IOPT_PT_LPAE_S2);
	sim_scenario_destroy(sc);
	return tap_done();
}
