/* SPDX-License-Identifier: MIT */
/* iopt-sim simulated guest RAM and its table provider (mem.h). */
#include "hw/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_ALIGN (2u << 20)

static void *ram_alloc(void *ctx, size_t size, uint64_t *phys)
{
	struct sim_ram *r = ctx;
	unsigned lg2 = (unsigned)__builtin_ctzll(size);
	void *p = NULL;

	if (!size || (size & (size - 1)) || lg2 >= 32)
		return NULL;
	pthread_mutex_lock(&r->lock);
	if (r->free_lists[lg2]) {
		p = r->free_lists[lg2];
		r->free_lists[lg2] = *(void **)p;
	} else {
		uint64_t off = (r->next + size - 1) & ~((uint64_t)size - 1);
		if (off + size <= r->size) {
			p = r->host + off;
			r->next = off + size;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (!p)
		return NULL;
	memset(p, 0, size);
	*phys = r->gpa + (uint64_t)((uint8_t *)p - r->host);
	return p;
}

static void ram_free(void *ctx, void *virt, size_t size)
{
	struct sim_ram *r = ctx;
	unsigned lg2 = (unsigned)__builtin_ctzll(size);

	pthread_mutex_lock(&r->lock);
	*(void **)virt = r->free_lists[lg2];
	r->free_lists[lg2] = virt;
	pthread_mutex_unlock(&r->lock);
}

static void *ram_p2v(void *ctx, uint64_t phys)
{
	struct sim_ram *r = ctx;

	return phys - r->gpa < r->size ? r->host + (phys - r->gpa) : NULL;
}

int sim_ram_init(struct sim_ram *r, uint64_t gpa, uint64_t size)
{
	*r = (struct sim_ram){ .gpa = gpa, .size = size };
	if (!size || size % ARENA_ALIGN || gpa % ARENA_ALIGN)
		return -EINVAL;
	r->host = aligned_alloc(ARENA_ALIGN, size);
	if (!r->host)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	r->prov = (struct iopt_pt_provider){ .alloc = ram_alloc, .free = ram_free,
					     .phys_to_virt = ram_p2v, .ctx = r };
	return 0;
}

void sim_ram_destroy(struct sim_ram *r)
{
	if (!r->host)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r->host);
	r->host = NULL;
}

uint64_t *sim_mem_identity(void *ctx, uint64_t pa)
{
	(void)ctx;
	return (uint64_t *)(uintptr_t)pa;
}
