/* SPDX-License-Identifier: MIT */
/*
 * Default table provider: a process-wide pool of pre-zeroed, size-aligned
 * host pages, one free stack per power-of-two size (4 KiB .. 1 MiB). Pages
 * are zeroed when they come back (free), so alloc is a pop and one store;
 * chunks are carved 1 MiB at a time and never returned to the OS. A free
 * page links the stack through its first word (it is nobody's table then).
 */
#include <stdlib.h>

#include "pgtable/pt_internal.h"

#define POOL_MIN_LG2 12
#define POOL_MAX_LG2 20
#define POOL_CHUNK   (1u << 20)

struct pool_class {
	pthread_mutex_t lock;
	void *head;
};

static struct pool_class pool[POOL_MAX_LG2 - POOL_MIN_LG2 + 1] = {
	[0 ... POOL_MAX_LG2 - POOL_MIN_LG2] = { PTHREAD_MUTEX_INITIALIZER, NULL },
};
static _Atomic long pool_live;

static int pool_class_of(size_t size)
{
	unsigned lg2 = POOL_MIN_LG2;

	while (((size_t)1 << lg2) < size)
		lg2++;
	return lg2 > POOL_MAX_LG2 ? -1 : (int)(lg2 - POOL_MIN_LG2);
}

/* Slow path: carve a fresh zeroed chunk into the class's stack. */
static pt_noinline void *pool_refill(struct pool_class *c, size_t sz)
{
	char *chunk = aligned_alloc(sz, POOL_CHUNK);

	if (!chunk)
		return NULL;
	memset(chunk, 0, POOL_CHUNK);
	for (size_t off = POOL_CHUNK - sz; off > 0; off -= sz) {
		*(void **)(chunk + off) = c->head;
		c->head = chunk + off;
	}
	return chunk;
}

static void *pool_alloc(void *ctx, size_t size, uint64_t *phys)
{
	int k = pool_class_of(size);
	void *p;

	(void)ctx;
	if (k < 0)
		return NULL;
	struct pool_class *c = &pool[k];

	pthread_mutex_lock(&c->lock);
	p = c->head;
	if (pt_likely(p)) {
		c->head = *(void **)p;
		*(void **)p = NULL;
	} else {
		p = pool_refill(c, (size_t)1 << (k + POOL_MIN_LG2));
	}
	pthread_mutex_unlock(&c->lock);
	if (!p)
		return NULL;
	atomic_fetch_add_explicit(&pool_live, 1, memory_order_relaxed);
	*phys = (uint64_t)(uintptr_t)p;
	return p;
}

static void pool_free(void *ctx, void *virt, size_t size)
{
	int k = pool_class_of(size);

	(void)ctx;
	if (k < 0 || !virt)
		return;
	struct pool_class *c = &pool[k];

	memset(virt, 0, (size_t)1 << (k + POOL_MIN_LG2));
	pthread_mutex_lock(&c->lock);
	*(void **)virt = c->head;
	c->head = virt;
	pthread_mutex_unlock(&c->lock);
	atomic_fetch_sub_explicit(&pool_live, 1, memory_order_relaxed);
}

static const struct iopt_pt_provider default_provider = {
	.alloc = pool_alloc,
	.free = pool_free,
};

const struct iopt_pt_provider *iopt_pt_default_provider(void)
{
	return &default_provider;
}

long iopt_pt_default_provider_live(void)
{
	return atomic_load_explicit(&pool_live, memory_order_relaxed);
}
