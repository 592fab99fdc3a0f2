/* SPDX-License-Identifier: MIT */
/* Allocation-failure injection (include/iopt/fault.h). */
#include <stdatomic.h>
#include <stdlib.h>

#include <iopt/fault.h>

#include "util.h"

_Atomic uint64_t _iopt_fault_armed; /* countdown to the failing allocation; 0: off */
static atomic_bool persistent;
static _Atomic uint64_t failed;
static _Atomic int64_t live; /* successful _iopt_* allocations not yet freed */

uint64_t iopt_fault_inject(uint64_t nth, bool persist)
{
	atomic_store(&persistent, persist);
	atomic_store(&_iopt_fault_armed, nth);
	return atomic_exchange(&failed, 0);
}

bool _iopt_fault_slow(void)
{
	uint64_t n = atomic_load(&_iopt_fault_armed);
	while (n) {
		uint64_t next = n == 1 ? (atomic_load(&persistent) ? 1 : 0) : n - 1;
		if (atomic_compare_exchange_weak(&_iopt_fault_armed, &n, next)) {
			if (n != 1)
				return false;
			atomic_fetch_add(&failed, 1);
			return true;
		}
	}
	return false;
}

int64_t iopt_fault_live_allocs(void)
{
	return atomic_load_explicit(&live, memory_order_relaxed);
}

static void *counted(void *p)
{
	if (p)
		atomic_fetch_add_explicit(&live, 1, memory_order_relaxed);
	return p;
}

void *_iopt_malloc(size_t size)
{
	return _iopt_fault() ? NULL : counted(malloc(size));
}

void *_iopt_calloc(size_t n, size_t size)
{
	return _iopt_fault() ? NULL : counted(calloc(n, size));
}

void *_iopt_aligned_alloc(size_t align, size_t size)
{
	return _iopt_fault() ? NULL : counted(aligned_alloc(align, size));
}

void _iopt_free(void *p)
{
	if (p)
		atomic_fetch_sub_explicit(&live, 1, memory_order_relaxed);
	free(p);
}
