/* SPDX-License-Identifier: MIT */
/* iopt-sim IOTLB and paging-structure cache (iotlb.h). */
#include "hw/iotlb.h"

#include <errno.h>
#include <stdlib.h>

#define PWC_SHIFT 21

int sim_iotlb_init(struct sim_iotlb *t, unsigned entries, unsigned ways, unsigned pwc_slots)
{
	*t = (struct sim_iotlb){ 0 };
	if (!ways || entries < ways || entries % ways || entries > (1u << 20) ||
	    pwc_slots > (1u << 20))
		return -EINVAL;
	t->sets = entries / ways;
	t->ways = ways;
	t->e = calloc(entries, sizeof(*t->e));
	if (pwc_slots) {
		t->pwc_on = true;
		t->pwc_slots = pwc_slots;
		t->pwc = calloc(pwc_slots, sizeof(*t->pwc));
		t->pwc_tag = calloc(pwc_slots, sizeof(*t->pwc_tag));
	}
	if (!t->e || (pwc_slots && (!t->pwc || !t->pwc_tag))) {
		sim_iotlb_destroy(t);
		return -ENOMEM;
	}
	return 0;
}

void sim_iotlb_destroy(struct sim_iotlb *t)
{
	free(t->e);
	free(t->pwc);
	free(t->pwc_tag);
	*t = (struct sim_iotlb){ 0 };
}

static inline uint64_t lg2_mask(unsigned lg2)
{
	return lg2 >= 64 ? UINT64_MAX : (1ull << lg2) - 1;
}

static inline struct sim_tlb_entry *set_of(const struct sim_iotlb *t, uint64_t va, unsigned lg2)
{
	uint64_t n = lg2 >= 64 ? 0 : va >> lg2;
	return &t->e[(n ^ (n >> 17)) % t->sets * t->ways];
}

static struct sim_tlb_entry *find(const struct sim_iotlb *t, uint64_t tag, uint64_t va)
{
	for (uint64_t m = t->sizes; m; m &= m - 1) {
		unsigned lg2 = (unsigned)__builtin_ctzll(m);
		struct sim_tlb_entry *s = set_of(t, va, lg2);
		for (unsigned w = 0; w < t->ways; w++)
			if (s[w].used && s[w].lg2 == lg2 && s[w].tag == tag &&
			    s[w].va == (va & ~lg2_mask(lg2)))
				return &s[w];
	}
	return NULL;
}

static void to_hit(const struct sim_tlb_entry *e, uint64_t va, struct sim_tlb_hit *h)
{
	h->pa = e->pa + (va & lg2_mask(e->lg2));
	h->lg2 = e->lg2;
	h->perm = e->perm;
}

bool sim_iotlb_lookup(struct sim_iotlb *t, uint64_t tag, uint64_t va, struct sim_tlb_hit *h)
{
	struct sim_tlb_entry *e = find(t, tag, va);

	if (!e) {
		t->misses++;
		return false;
	}
	t->hits++;
	e->used = ++t->tick;
	to_hit(e, va, h);
	return true;
}

bool sim_iotlb_probe(const struct sim_iotlb *t, uint64_t tag, uint64_t va, struct sim_tlb_hit *h)
{
	const struct sim_tlb_entry *e = find(t, tag, va);

	if (e)
		to_hit(e, va, h);
	return e != NULL;
}

static bool overlaps(const struct sim_tlb_entry *e, uint64_t tag, uint64_t start, uint64_t end)
{
	return e->used && e->tag == tag && e->va <= end && start <= e->va + lg2_mask(e->lg2);
}

bool sim_iotlb_any(const struct sim_iotlb *t, uint64_t tag, uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < t->sets * t->ways; i++)
		if (overlaps(&t->e[i], tag, start, end))
			return true;
	return false;
}

bool sim_iotlb_owned(const struct sim_iotlb *t, uint64_t tag, uint64_t owner, uint64_t start,
		     uint64_t end)
{
	for (unsigned i = 0; i < t->sets * t->ways; i++)
		if (t->e[i].owner == owner && overlaps(&t->e[i], tag, start, end))
			return true;
	return false;
}

void sim_iotlb_fill(struct sim_iotlb *t, uint64_t tag, uint64_t va, uint64_t pa, unsigned lg2,
		    unsigned perm, uint64_t owner)
{
	struct sim_tlb_entry *s = set_of(t, va, lg2), *victim = &s[0];

	for (unsigned w = 0; w < t->ways; w++) {
		if (!s[w].used) {
			victim = &s[w];
			break;
		}
		if (s[w].used < victim->used)
			victim = &s[w];
	}
	*victim = (struct sim_tlb_entry){ .va = va & ~lg2_mask(lg2), .pa = pa & ~lg2_mask(lg2),
					  .tag = tag, .used = ++t->tick, .owner = owner,
					  .lg2 = (uint8_t)lg2, .perm = (uint8_t)perm };
	t->sizes |= 1ull << lg2;
}

static void pwc_drop(struct sim_iotlb *t, uint64_t want, uint64_t mask, uint64_t start,
		     uint64_t end)
{
	if (!t->pwc_on)
		return;
	for (unsigned i = 0; i < t->pwc_slots; i++) {
		uint64_t r = t->pwc[i];
		if (r && (t->pwc_tag[i] & mask) == (want & mask) && ((r - 1) << PWC_SHIFT) <= end &&
		    start <= (((r - 1) << PWC_SHIFT) | lg2_mask(PWC_SHIFT)))
			t->pwc[i] = 0;
	}
}

void sim_iotlb_inv_range(struct sim_iotlb *t, uint64_t tag, uint64_t start, uint64_t end,
			 unsigned level_lg2, unsigned next_lg2, bool leaf_only)
{
	for (unsigned i = 0; i < t->sets * t->ways; i++) {
		struct sim_tlb_entry *e = &t->e[i];
		if (!overlaps(e, tag, start, end))
			continue;
		if (level_lg2 && (e->lg2 < level_lg2 || e->lg2 >= next_lg2))
			continue; /* the TTL hint lets hardware skip other levels */
		e->used = 0;
	}
	if (!leaf_only)
		pwc_drop(t, tag, UINT64_MAX, start, end);
}

void sim_iotlb_inv_tag(struct sim_iotlb *t, uint64_t want, uint64_t mask)
{
	for (unsigned i = 0; i < t->sets * t->ways; i++)
		if (t->e[i].used && (t->e[i].tag & mask) == (want & mask))
			t->e[i].used = 0;
	pwc_drop(t, want, mask, 0, UINT64_MAX);
}

bool sim_pwc_lookup(struct sim_iotlb *t, uint64_t tag, uint64_t va)
{
	uint64_t r = (va >> PWC_SHIFT) + 1;

	if (!t->pwc_on)
		return false;
	unsigned i = (unsigned)((r ^ tag * 0x9E3779B97F4A7C15ull) % t->pwc_slots);
	if (t->pwc[i] == r && t->pwc_tag[i] == tag) {
		t->pwc_hits++;
		return true;
	}
	t->pwc[i] = r;
	t->pwc_tag[i] = tag;
	return false;
}
