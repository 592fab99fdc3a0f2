/* SPDX-License-Identifier: MIT */
/*
 * Run-time half of shim/kshim.h: per-CPU slots, slab caches, pages, timers
 * and delayed work. See docs/BENCH.md ("Shim semantics") for how each
 * differs from the kernel.
 */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "kshim.h"

/* Bit i of word i / 64: slot i held by a live thread. */
static unsigned long long slots_used[KSHIM_NR_CPUS / 64];
static pthread_key_t slot_key;
static pthread_once_t slot_once = PTHREAD_ONCE_INIT;
static _Thread_local int my_slot = -1;

static void slot_release(void *arg)
{
	unsigned s = (unsigned)((uintptr_t)arg - 1);

	__atomic_fetch_and(&slots_used[s / 64], ~(1ull << (s % 64)), __ATOMIC_RELEASE);
}

static void slot_key_init(void)
{
	if (pthread_key_create(&slot_key, slot_release))
		abort();
}

/*
 * The thread's slot: the lowest one free when it first asks, given back when
 * it exits, so live threads never share per-CPU data (as tasks on distinct
 * CPUs would not). More than KSHIM_NR_CPUS live threads is a set-up error.
 */
unsigned int kshim_this_cpu(void)
{
	if (likely(my_slot >= 0))
		return (unsigned int)my_slot;
	pthread_once(&slot_once, slot_key_init);
	for (unsigned w = 0; w < KSHIM_NR_CPUS / 64; w++) {
		unsigned long long used = __atomic_load_n(&slots_used[w], __ATOMIC_RELAXED);

		while (used != ~0ull) {
			int b = __builtin_ctzll(~used);

			if (__atomic_compare_exchange_n(&slots_used[w], &used, used | (1ull << b),
							false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
				my_slot = (int)(w * 64 + (unsigned)b);
				pthread_setspecific(slot_key, (void *)(uintptr_t)(my_slot + 1));
				return (unsigned int)my_slot;
			}
		}
	}
	fprintf(stderr, "linux shim: more than %d live threads\n", KSHIM_NR_CPUS);
	abort();
}

/* KSHIM_NR_CPUS units, zeroed (and so resident, as the kernel's per-CPU memory). */
void *kshim_alloc_percpu(size_t size)
{
	size_t total = (size_t)KSHIM_PCPU_UNIT * KSHIM_NR_CPUS;
	void *p;

	if (size > KSHIM_PCPU_UNIT) {
		fprintf(stderr, "linux shim: per-CPU object of %zu bytes > %u\n", size,
			KSHIM_PCPU_UNIT);
		abort();
	}
	p = aligned_alloc(64, total);
	if (p)
		memset(p, 0, total);
	return p;
}

struct kmem_cache *kshim_kmem_cache_create(size_t size)
{
	struct kmem_cache *c = malloc(sizeof(*c));

	if (c)
		c->size = size;
	return c;
}

/*
 * Order-0 pages come from a free list carved out of 2 MiB chunks that are
 * never given back, as the kernel's per-CPU page lists hand out pages that
 * are already resident: no page faults in timed code. Bigger orders (not
 * used by the formats benchmarked) go to aligned_alloc.
 */
#define KSHIM_CHUNK (2ul << 20)
static spinlock_t page_lock;
static void *page_free_list;

struct page *kshim_alloc_pages(gfp_t gfp, unsigned int order)
{
	void *p;

	if (order) {
		p = aligned_alloc(PAGE_SIZE, PAGE_SIZE << order);
		if (p && (gfp & __GFP_ZERO))
			memset(p, 0, PAGE_SIZE << order);
		return p;
	}
	spin_lock(&page_lock);
	if (!page_free_list) {
		char *c = aligned_alloc(KSHIM_CHUNK, KSHIM_CHUNK);

		if (!c) {
			spin_unlock(&page_lock);
			return NULL;
		}
		memset(c, 0, KSHIM_CHUNK); /* fault it in once, outside later timings */
		for (unsigned long off = 0; off < KSHIM_CHUNK; off += PAGE_SIZE) {
			*(void **)(c + off) = page_free_list;
			page_free_list = c + off;
		}
	}
	p = page_free_list;
	page_free_list = *(void **)p;
	spin_unlock(&page_lock);
	if (gfp & __GFP_ZERO)
		memset(p, 0, PAGE_SIZE);
	return p;
}

void kshim_free_pages(void *p, unsigned int order)
{
	if (!p)
		return;
	if (order) {
		free(p);
		return;
	}
	spin_lock(&page_lock);
	*(void **)p = page_free_list;
	page_free_list = p;
	spin_unlock(&page_lock);
}

void put_pages_list(struct list_head *pages)
{
	while (!list_empty(pages)) {
		struct list_head *n = pages->next;

		list_del(n);
		kshim_free_pages(container_of(n, struct page, lru), 0);
	}
}

unsigned int kshim_online_cpus(void)
{
	static unsigned int n;

	if (!n) {
		long v = sysconf(_SC_NPROCESSORS_ONLN);

		n = v > 0 ? (unsigned int)v : 1;
	}
	return n;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define NS_PER_JIFFY (1000000000u / HZ)

unsigned long kshim_jiffies(void)
{
	return (unsigned long)(mono_ns() / NS_PER_JIFFY);
}

/*
 * Armed timers: an unsorted list (a domain has one queue timer and one
 * depot work per size class), scanned for the earliest expiry by one thread
 * started with the first mod_timer. tm_running is the timer whose function
 * that thread is running (without tm_lock), for del_timer_sync to wait on.
 */
static pthread_mutex_t tm_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tm_wake, tm_done;
static pthread_once_t tm_once = PTHREAD_ONCE_INIT;
static struct timer_list *tm_armed, *tm_running;
static bool tm_held;

static void tm_unlink(struct timer_list *t)
{
	struct timer_list **p = &tm_armed;

	while (*p != t)
		p = &(*p)->kshim_next;
	*p = t->kshim_next;
	t->kshim_armed = false;
}

static void *tm_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&tm_lock);
	for (;;) {
		struct timer_list *first = NULL;

		for (struct timer_list *t = tm_armed; t; t = t->kshim_next)
			if (!first || (long)(t->expires - first->expires) < 0)
				first = t;
		if (!first || tm_held) {
			pthread_cond_wait(&tm_wake, &tm_lock);
			continue;
		}
		if ((long)(kshim_jiffies() - first->expires) < 0) {
			uint64_t at = (uint64_t)first->expires * NS_PER_JIFFY;
			struct timespec ts = { (time_t)(at / 1000000000u), (long)(at % 1000000000u) };

			pthread_cond_timedwait(&tm_wake, &tm_lock, &ts);
			continue;
		}
		tm_unlink(first);
		tm_running = first;
		pthread_mutex_unlock(&tm_lock);
		my_slot = (int)first->kshim_cpu;
		first->function(first);
		my_slot = -1;
		pthread_mutex_lock(&tm_lock);
		tm_running = NULL;
		pthread_cond_broadcast(&tm_done);
	}
	return NULL;
}

static void tm_init(void)
{
	pthread_condattr_t a;
	pthread_t th;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	if (pthread_cond_init(&tm_wake, &a) || pthread_cond_init(&tm_done, NULL) ||
	    pthread_create(&th, NULL, tm_thread, NULL) || pthread_detach(th)) {
		fprintf(stderr, "linux shim: cannot start the timer thread\n");
		abort();
	}
	pthread_condattr_destroy(&a);
}

int mod_timer(struct timer_list *t, unsigned long expires)
{
	int was;

	unsigned int cpu = kshim_this_cpu();

	pthread_once(&tm_once, tm_init);
	pthread_mutex_lock(&tm_lock);
	was = t->kshim_armed;
	t->kshim_cpu = cpu;
	if (!was) {
		t->kshim_next = tm_armed;
		tm_armed = t;
		t->kshim_armed = true;
	}
	t->expires = expires;
	pthread_cond_signal(&tm_wake);
	pthread_mutex_unlock(&tm_lock);
	return was;
}

int del_timer_sync(struct timer_list *t)
{
	int was = 0;

	pthread_mutex_lock(&tm_lock);
	/* The function may re-arm t while it runs: disarm again after it. */
	for (;;) {
		if (t->kshim_armed) {
			tm_unlink(t);
			was = 1;
		}
		if (tm_running != t)
			break;
		pthread_cond_wait(&tm_done, &tm_lock);
	}
	pthread_mutex_unlock(&tm_lock);
	return was;
}

void kshim_timers_hold(bool hold)
{
	pthread_once(&tm_once, tm_init);
	pthread_mutex_lock(&tm_lock);
	tm_held = hold;
	pthread_cond_signal(&tm_wake);
	pthread_mutex_unlock(&tm_lock);
}

/* A delayed work item's timer: clear pending, then run it (it may re-queue). */
static void dwork_timer(struct timer_list *t)
{
	struct delayed_work *dw = container_of(t, struct delayed_work, timer);

	__atomic_store_n(&dw->pending, 0, __ATOMIC_SEQ_CST);
	dw->work.func(&dw->work);
}

void kshim_delayed_work_init(struct delayed_work *dw, void (*fn)(struct work_struct *w))
{
	dw->work.func = fn;
	dw->pending = 0;
	timer_setup(&dw->timer, dwork_timer, 0);
}

bool kshim_queue_delayed_work(struct delayed_work *dw, unsigned long delay)
{
	mod_timer(&dw->timer, kshim_jiffies() + delay);
	return true;
}

bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	bool was = del_timer_sync(&dw->timer);

	__atomic_store_n(&dw->pending, 0, __ATOMIC_SEQ_CST);
	return was;
}
