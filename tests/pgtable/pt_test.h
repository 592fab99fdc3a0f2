/* SPDX-License-Identifier: MIT */
/* Shared helpers for the page-table tests: a counting, failable provider. */
#ifndef IOPT_TESTS_PT_TEST_H
#define IOPT_TESTS_PT_TEST_H

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <iopt/iopt.h>

#include "../tap.h"

/*
 * Wraps the default provider: counts live tables and, when fail_at > 0,
 * fails the fail_at-th allocation from now (transient: later ones succeed)
 * or every allocation from it on (persistent).
 */
struct test_prov {
	struct iopt_pt_provider p;
	_Atomic long live;
	_Atomic long allocs;
	long fail_at;
	bool persistent;
	_Atomic size_t max_size; /* largest allocation (root size checks) */
};

static void *test_alloc(void *ctx, size_t size, uint64_t *phys)
{
	struct test_prov *t = ctx;
	long n = atomic_fetch_add(&t->allocs, 1) + 1;

	if (t->fail_at && (n == t->fail_at || (t->persistent && n > t->fail_at)))
		return NULL;
	void *p = iopt_pt_default_provider()->alloc(NULL, size, phys);

	if (p) {
		atomic_fetch_add(&t->live, 1);
		if (size > atomic_load(&t->max_size))
			atomic_store(&t->max_size, size); /* single-threaded users only */
	}
	return p;
}

static void test_free(void *ctx, void *virt, size_t size)
{
	struct test_prov *t = ctx;

	atomic_fetch_sub(&t->live, 1);
	iopt_pt_default_provider()->free(NULL, virt, size);
}

static inline void test_prov_init(struct test_prov *t)
{
	memset(t, 0, sizeof(*t));
	t->p.alloc = test_alloc;
	t->p.free = test_free;
	t->p.ctx = t;
}

/* Entry i of the table an entry points to (default provider: phys == virt). */
static inline uint64_t *pt_tbl(uint64_t pa)
{
	return (uint64_t *)(uintptr_t)pa;
}

static inline uint64_t *test_root(struct iopt_pt *pt, unsigned *levels)
{
	uint64_t pa;

	iopt_pt_root(pt, &pa, levels);
	return pt_tbl(pa);
}

#endif /* IOPT_TESTS_PT_TEST_H */
