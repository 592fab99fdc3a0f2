/* SPDX-License-Identifier: MIT */
/*
 * Randomized model-based test, every format: random map_pages, map_range,
 * unmap (with REFUSE or SPLIT policy) against a simple reference: one
 * record per granule (mapped?, phys, extent of its leaf) and the set of
 * tables (level, base) the engine should hold. After every operation:
 *   - the return code, bytes mapped/unmapped match the model;
 *   - the provider's live table count == 1 (root) + model tables;
 *   - the tables freed through the gather == the model's fully covered
 *     tables, and the gather range covers every unmapped byte;
 *   - iova_to_phys of sampled addresses matches the model.
 */
#include "pt_test.h"

struct mcase {
	const char *name;
	struct iopt_pt_cfg cfg;
	unsigned g, bpl;
	uint64_t window; /* IOVA window used */
	unsigned maxlg2; /* largest page size drawn */
	unsigned ops;
};

struct model {
	const struct mcase *mc;
	struct iopt_pt *pt;
	struct test_prov tp;
	uint64_t n;                /* granules in window */
	uint64_t *pa;              /* phys of granule, valid if lg2 != 0 */
	uint64_t *lstart;          /* leaf start granule */
	uint8_t *llg2;             /* leaf size lg2, 0 = unmapped */
	uint64_t *tab;             /* tables: level << 58 | base >> 12 */
	size_t ntab, cap;
	unsigned levels;
	uint64_t bitmap;
	unsigned bad;              /* failed quiet checks */
};

static unsigned m_shift(const struct model *m, unsigned level)
{
	return m->mc->g + m->mc->bpl * level;
}

static unsigned m_level(const struct model *m, unsigned lg2)
{
	return (lg2 - m->mc->g) / m->mc->bpl;
}

static uint64_t tkey(unsigned level, uint64_t base)
{
	return (uint64_t)level << 58 | base >> 12;
}

static bool tab_has(struct model *m, uint64_t k)
{
	for (size_t i = 0; i < m->ntab; i++)
		if (m->tab[i] == k)
			return true;
	return false;
}

static void tab_add(struct model *m, unsigned level, uint64_t base)
{
	uint64_t k = tkey(level, base);

	if (tab_has(m, k))
		return;
	if (m->ntab == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->tab = realloc(m->tab, m->cap * sizeof(*m->tab));
		REQUIRE(m->tab);
	}
	m->tab[m->ntab++] = k;
}

/* Remove tables at levels < maxlevel fully inside [a, b]; return how many. */
static unsigned tab_remove_inside(struct model *m, uint64_t a, uint64_t b, unsigned maxlevel)
{
	unsigned freed = 0;

	for (size_t i = 0; i < m->ntab;) {
		unsigned level = (unsigned)(m->tab[i] >> 58);
		uint64_t base = (m->tab[i] & ((1ull << 58) - 1)) << 12;
		uint64_t last = base + ((1ull << m_shift(m, level + 1)) - 1);

		if (level < maxlevel && base >= a && last <= b) {
			m->tab[i] = m->tab[--m->ntab];
			freed++;
		} else {
			i++;
		}
	}
	return freed;
}

static uint64_t m_reach(const struct model *m, unsigned levels)
{
	unsigned s = m_shift(m, levels);

	return s >= 64 ? 0 : 1ull << s;
}

/* Model of installing one leaf [va, va + 2^lg2) -> pa. */
static void m_leaf(struct model *m, uint64_t va, uint64_t pa, unsigned lg2)
{
	unsigned level = m_level(m, lg2), g = m->mc->g;

	/* AMD dynamic top: grow to reach the leaf and to hold its level. */
	while ((m_reach(m, m->levels) && va + (1ull << lg2) - 1 >= m_reach(m, m->levels)) ||
	       level + 1 > m->levels) {
		tab_add(m, m->levels - 1, 0); /* old root becomes a table */
		m->levels++;
	}
	/* A large leaf replaces (empty) tables below it. */
	tab_remove_inside(m, va, va + (1ull << lg2) - 1, level);
	for (unsigned j = level; j + 1 < m->levels; j++)
		tab_add(m, j, va & ~((1ull << m_shift(m, j + 1)) - 1));
	for (uint64_t k = 0; k < (1ull << (lg2 - g)); k++) {
		uint64_t i = (va >> g) + k;

		m->pa[i] = pa + (k << g);
		m->lstart[i] = va >> g;
		m->llg2[i] = (uint8_t)lg2;
	}
}

static bool m_any_mapped(const struct model *m, uint64_t va, uint64_t len)
{
	for (uint64_t i = va >> m->mc->g; i < (va + len) >> m->mc->g; i++)
		if (m->llg2[i])
			return true;
	return false;
}

static uint64_t pick_size(struct model *m, uint64_t *seed, unsigned maxlg2)
{
	for (;;) {
		unsigned lg2 = m->mc->g + (unsigned)(test_xrand(seed) % (maxlg2 - m->mc->g + 1));

		/* Favour small sizes: half the draws take the smallest. */
		if (test_xrand(seed) & 1)
			lg2 = m->mc->g;
		if (m->bitmap & (1ull << lg2))
			return lg2;
	}
}

static void check_all(struct model *m, uint64_t *seed, uint64_t a, uint64_t b)
{
	uint64_t samples[40];
	unsigned ns = 0;

	samples[ns++] = a;
	samples[ns++] = b;
	while (ns < 40)
		samples[ns++] = (test_xrand(seed) % m->n) << m->mc->g;
	for (unsigned k = 0; k < ns; k++) {
		uint64_t va = samples[k] & ~((1ull << m->mc->g) - 1), i = va >> m->mc->g, pa = 0;
		uint64_t off = test_xrand(seed) & ((1ull << m->mc->g) - 1);

		if (i >= m->n)
			continue;
		int r = iopt_pt_iova_to_phys(m->pt, va + off, &pa);

		if (m->llg2[i]) {
			if (r || pa != m->pa[i] + off) {
				m->bad++;
				printf("# %s: iova_to_phys(%#llx) = %d %#llx want %#llx\n", m->mc->name,
				       (unsigned long long)(va + off), r, (unsigned long long)pa,
				       (unsigned long long)(m->pa[i] + off));
			}
		} else if (r != -ENOENT) {
			m->bad++;
			printf("# %s: iova_to_phys(%#llx) = %d, want ENOENT\n", m->mc->name,
			       (unsigned long long)(va + off), r);
		}
	}
	if ((uint64_t)atomic_load(&m->tp.live) != 1 + m->ntab) {
		m->bad++;
		printf("# %s: live tables %ld want %zu\n", m->mc->name, atomic_load(&m->tp.live),
		       1 + m->ntab);
	}
}

/* Split the model's leaves so that none straddles b (engine's SPLIT rule). */
static void m_split(struct model *m, uint64_t b)
{
	unsigned g = m->mc->g;

	for (;;) {
		uint64_t i = b >> g;

		if (i >= m->n || !m->llg2[i] || m->lstart[i] == i)
			return;
		unsigned z = m->llg2[i], level = m_level(m, z), slot = m_shift(m, level);
		uint64_t s = m->lstart[i] << g, pa = m->pa[m->lstart[i]];
		unsigned nz;

		if (z > slot) {
			nz = slot;
		} else {
			uint64_t sizes = m->bitmap & ((1ull << slot) - 1);

			REQUIRE(level > 0 && sizes);
			nz = 63 - (unsigned)__builtin_clzll(sizes);
			tab_add(m, level - 1, s);
		}
		for (uint64_t off = 0; off < (1ull << z); off += 1ull << nz)
			for (uint64_t k = 0; k < (1ull << (nz - g)); k++) {
				uint64_t j = ((s + off) >> g) + k;

				m->lstart[j] = (s + off) >> g;
				m->llg2[j] = (uint8_t)nz;
				m->pa[j] = pa + off + (k << g);
			}
	}
}

static void run_case(const struct mcase *mc, uint64_t seed)
{
	struct model m;
	struct iopt_pt_cfg cfg = mc->cfg;
	uint64_t freed_total = 0;
	unsigned nmap = 0, nunmap = 0, nrefused = 0, nbusy = 0, nsplit = 0;

	memset(&m, 0, sizeof(m));
	m.mc = mc;
	test_prov_init(&m.tp);
	cfg.provider = &m.tp.p;
	REQUIRE(iopt_pt_create(&cfg, &m.pt) == 0);
	iopt_pt_root(m.pt, NULL, &m.levels);
	m.bitmap = iopt_pt_pgsize_bitmap(m.pt);
	m.n = mc->window >> mc->g;
	m.pa = calloc(m.n, 8);
	m.lstart = calloc(m.n, 8);
	m.llg2 = calloc(m.n, 1);
	REQUIRE(m.pa && m.lstart && m.llg2);
	const bool split = cfg.flags & IOPT_PT_F_SPLIT;

	for (unsigned op = 0; op < mc->ops; op++) {
		unsigned kind = (unsigned)(test_xrand(&seed) % 10);
		uint64_t a = 0, b = 0;

		if (kind < 4) { /* map_pages */
			unsigned lg2 = (unsigned)pick_size(&m, &seed, mc->maxlg2);
			uint64_t cnt = 1 + test_xrand(&seed) % (lg2 == mc->g ? 40 : 3);
			uint64_t len = cnt << lg2;

			if (len > mc->window)
				continue;
			uint64_t va = (test_xrand(&seed) % ((mc->window - len) >> lg2 | 1)) << lg2;
			uint64_t pa = (test_xrand(&seed) % (1ull << (36 - lg2))) << lg2, got = 7;
			bool busy = m_any_mapped(&m, va, len);
			int r = iopt_pt_map_pages(m.pt, va, pa, 1ull << lg2, cnt,
						  IOPT_PROT_READ | IOPT_PROT_WRITE, &got);

			if (r != (busy ? -EBUSY : 0) || got != (busy ? 0 : len)) {
				m.bad++;
				printf("# %s op %u: map %#llx+%#llx lg2 %u = %d (got %#llx) busy %d\n",
				       mc->name, op, (unsigned long long)va, (unsigned long long)len, lg2,
				       r, (unsigned long long)got, busy);
			}
			if (!busy)
				for (uint64_t k = 0; k < cnt; k++)
					m_leaf(&m, va + (k << lg2), pa + (k << lg2), lg2);
			nmap += !busy;
			nbusy += busy;
			a = va;
			b = va + len - 1;
		} else if (kind < 6) { /* map_range with mixed sizes */
			uint64_t gr = 1ull << mc->g;
			uint64_t len = (1 + test_xrand(&seed) % 700) * gr;
			uint64_t al = 1ull << pick_size(&m, &seed, mc->maxlg2);

			if (len > mc->window / 2)
				len = mc->window / 2;
			uint64_t va = (test_xrand(&seed) % ((mc->window - len) / gr)) * gr;
			uint64_t pa = ((test_xrand(&seed) % (1ull << 24)) * al) & ((1ull << 36) - 1);

			if (test_xrand(&seed) & 1)
				va &= ~(al - 1);
			pa = (pa & ~(al - 1)) | (va & (al - 1));
			bool busy = m_any_mapped(&m, va, len);
			uint64_t got = 7;
			int r = iopt_pt_map_range(m.pt, va, pa, len, IOPT_PROT_READ, &got);

			if (r != (busy ? -EBUSY : 0)) {
				m.bad++;
				printf("# %s op %u: map_range = %d busy %d\n", mc->name, op, r, busy);
			}
			if (!busy) {
				/* Greedy: largest size aligned for both and fitting (§6.4). */
				uint64_t v = va, p = pa, left = len;

				while (left) {
					unsigned best = 0;

					for (unsigned z = 0; z < 64; z++)
						if ((m.bitmap >> z & 1) && !((v | p) & ((1ull << z) - 1)) &&
						    (1ull << z) <= left)
							best = z;
					m_leaf(&m, v, p, best);
					v += 1ull << best;
					p += 1ull << best;
					left -= 1ull << best;
				}
			}
			a = va;
			b = va + len - 1;
		} else { /* unmap */
			unsigned lg2 = (unsigned)pick_size(&m, &seed, mc->maxlg2);
			uint64_t cnt = 1 + test_xrand(&seed) % (lg2 == mc->g ? 64 : 2);
			uint64_t len = cnt << lg2;

			if (len > mc->window)
				continue;
			uint64_t va = (test_xrand(&seed) % ((mc->window - len) >> lg2 | 1)) << lg2;

			/* A third of the unmaps aim at a granule inside a large leaf. */
			for (int t = 0; kind == 9 && t < 64; t++) {
				uint64_t i = test_xrand(&seed) % m.n;

				if (m.llg2[i] > mc->g) {
					lg2 = mc->g;
					cnt = 1 + test_xrand(&seed) % 3;
					len = cnt << lg2;
					va = i << mc->g;
					if (va + len > mc->window)
						va = mc->window - len;
					break;
				}
			}
			uint64_t end = va + len, g0 = mc->g;
			bool strad = false;

			if (m.llg2[va >> g0] && m.lstart[va >> g0] != va >> g0)
				strad = true;
			if ((end >> g0) < m.n && m.llg2[end >> g0] && m.lstart[end >> g0] != end >> g0)
				strad = true;
			if (strad && split) {
				nsplit++;
				m_split(&m, va);
				m_split(&m, end);
			}
			struct iopt_gather gt;
			uint64_t got = 7, want = 0;

			iopt_gather_init(&gt, false, NULL, NULL);
			int r = iopt_pt_unmap_pages(m.pt, va, 1ull << lg2, cnt, &gt, &got);

			if (strad && !split) {
				nrefused++;
				if (r != -EINVAL || got != 0 || gt.nr_freed) {
					m.bad++;
					printf("# %s op %u: refused unmap = %d\n", mc->name, op, r);
				}
			} else {
				/*
				 * The gather's stride: the smallest leaf descriptor removed
				 * (a run's slots count one by one: the largest level size
				 * within the leaf), if the range is aligned to it; mixed
				 * when a larger one went too (include/iopt/gather.h).
				 */
				unsigned dlo = 64, dhi = 0;
				for (uint64_t i = va >> g0; i < end >> g0; i++)
					if (m.llg2[i]) {
						unsigned d = m_shift(&m, m_level(&m, m.llg2[i]));
						dlo = d < dlo ? d : dlo;
						dhi = d > dhi ? d : dhi;
						want += 1ull << g0;
						m.llg2[i] = 0;
					}
				unsigned fr = tab_remove_inside(&m, va, end - 1, 64);
				uint64_t stride = 1ull << lg2;
				bool mixed = false;
				if (dhi && !((va | len) & ((1ull << dlo) - 1))) {
					stride = 1ull << dlo;
					mixed = dlo != dhi;
				} else if (dhi) {
					mixed = dhi > lg2; /* (dlo < lg2 is always aligned) */
				}

				if (r || got != want || gt.nr_freed != fr || gt.start > va ||
				    gt.end < end - 1 || gt.pgsize != stride || gt.mixed != mixed) {
					m.bad++;
					printf("# %s op %u: unmap %#llx+%#llx = %d got %#llx want %#llx "
					       "freed %zu want %u stride %#llx want %#llx mixed %d want %d\n",
					       mc->name, op, (unsigned long long)va, (unsigned long long)len,
					       r, (unsigned long long)got, (unsigned long long)want,
					       gt.nr_freed, fr, (unsigned long long)gt.pgsize,
					       (unsigned long long)stride, gt.mixed, mixed);
				}
				freed_total += fr;
				nunmap++;
			}
			iopt_gather_sync(&gt);
			a = va;
			b = end - 1;
		}
		check_all(&m, &seed, a, b);
		if (m.bad > 5)
			break;
	}
	/* Unmap everything: only the root path may remain. */
	struct iopt_gather gt;
	uint64_t got;
	uint64_t top = m_reach(&m, m.levels);

	iopt_gather_init(&gt, false, NULL, NULL);
	CHECK_EQ(iopt_pt_unmap_pages(m.pt, 0, 1ull << mc->g, (top ? top : mc->window) >> mc->g, &gt, &got), 0);
	iopt_gather_sync(&gt);
	CHECK_EQ(atomic_load(&m.tp.live), 1);
	printf("# %s: %u maps, %u busy, %u unmaps, %u refused, %u split, %llu tables freed\n",
	       mc->name, nmap, nbusy, nunmap, nrefused, nsplit, (unsigned long long)freed_total);
	CHECK(nmap > 10 && nunmap > 10);
	CHECK(split ? nsplit > 0 : true);
	CHECK_EQ(m.bad, 0);
	iopt_pt_free(m.pt);
	CHECK_EQ(atomic_load(&m.tp.live), 0);
	free(m.pa);
	free(m.lstart);
	free(m.llg2);
	free(m.tab);
}

int main(void)
{
	const uint64_t M = 1ull << 20;
	const struct mcase cases[] = {
		{ "vtd_ss/39/refuse", { .format = IOPT_PT_VTD_SS, .ias = 39 }, 12, 9, 64 * M, 21, 4000 },
		{ "vtd_ss/48/split", { .format = IOPT_PT_VTD_SS, .ias = 48, .flags = IOPT_PT_F_SPLIT }, 12, 9, 64 * M, 21, 4000 },
		{ "x86_64/48/split", { .format = IOPT_PT_X86_64, .ias = 48, .flags = IOPT_PT_F_SPLIT }, 12, 9, 2048 * M, 30, 2000 },
		{ "x86_64/57/refuse", { .format = IOPT_PT_X86_64, .ias = 57 }, 12, 9, 64 * M, 21, 4000 },
		{ "amd_v1/grow/refuse", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 1 }, 12, 9, 64 * M, 23, 4000 },
		{ "amd_v1/grow/split", { .format = IOPT_PT_AMD_V1, .ias = 64, .start_levels = 1, .flags = IOPT_PT_F_SPLIT }, 12, 9, 64 * M, 23, 4000 },
		{ "amd_v1/bitmap/split", { .format = IOPT_PT_AMD_V1, .ias = 48, .start_levels = 3, .flags = IOPT_PT_F_SPLIT,
					  .pgsize_bitmap = (1u << 12) | (1u << 14) | (1u << 16) | (1u << 21) | (1u << 22) }, 12, 9, 64 * M, 22, 3000 },
		{ "lpae_s1/nocontig/split", { .format = IOPT_PT_LPAE_S1, .ias = 39, .granule_lg2 = 12,
					     .flags = IOPT_PT_F_SPLIT | IOPT_PT_F_NO_CONTIG }, 12, 9, 128 * M, 25, 3000 },
		{ "lpae_s1/4k/split", { .format = IOPT_PT_LPAE_S1, .ias = 39, .granule_lg2 = 12, .flags = IOPT_PT_F_SPLIT }, 12, 9, 128 * M, 25, 4000 },
		{ "lpae_s1/4k/refuse", { .format = IOPT_PT_LPAE_S1, .ias = 48, .granule_lg2 = 12 }, 12, 9, 128 * M, 25, 4000 },
		{ "lpae_s2/4k40/split", { .format = IOPT_PT_LPAE_S2, .ias = 40, .granule_lg2 = 12, .flags = IOPT_PT_F_SPLIT }, 12, 9, 128 * M, 25, 4000 },
		{ "lpae_s1/16k/split", { .format = IOPT_PT_LPAE_S1, .ias = 47, .granule_lg2 = 14, .flags = IOPT_PT_F_SPLIT }, 14, 11, 256 * M, 25, 3000 },
		{ "lpae_s2/64k/split", { .format = IOPT_PT_LPAE_S2, .ias = 42, .granule_lg2 = 16, .flags = IOPT_PT_F_SPLIT }, 16, 13, 2048 * M, 29, 2000 },
	};

	/* IOPT_TEST_SEED=n reruns with another fixed seed (reproducible). */
	const char *env = getenv("IOPT_TEST_SEED");
	uint64_t base = env ? strtoull(env, NULL, 0) : 0x1234567ull;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		TEST(cases[i].name);
		run_case(&cases[i], base + i * 7919);
	}
	return tap_done();
}
