/* SPDX-License-Identifier: MIT */
/*
 * Flush queue (hw-facts §6.2): counters and release order, an entry queued
 * during a flush waits for the next one, full ring (free flushed entries
 * without a flush; else one synchronous flush), injected-clock timer in both
 * variants, drain with table pages, thread exit hand-over and adoption,
 * destroy before a ring's thread exits, and the ordering of PTE clears
 * before the flush that releases the entry. No check depends on timing.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include <iopt/flushq.h>

#include "../tap.h"

struct drv {
	_Atomic unsigned flushes;
	_Atomic unsigned released;
	uint64_t order[64];     /* release order (single-threaded parts) */
	unsigned norder;
	struct iopt_flushq *fq; /* for the nested enqueue */
	bool enqueue_in_flush;
	uint64_t now;           /* injected clock */
};

static void drv_flush(void *ctx)
{
	struct drv *d = ctx;

	atomic_fetch_add(&d->flushes, 1);
	if (d->enqueue_in_flush) {
		d->enqueue_in_flush = false;
		/* queued while a flush is running: that flush must not free it */
		CHECK_EQ(iopt_flushq_queue(d->fq, 99, 1, NULL), 0);
	}
}

static void drv_release(void *ctx, uint64_t pfn, uint64_t size)
{
	struct drv *d = ctx;

	(void)size;
	if (d->norder < 64)
		d->order[d->norder++] = pfn;
	atomic_fetch_add(&d->released, 1);
}

static uint64_t drv_clock(void *ctx)
{
	return ((struct drv *)ctx)->now;
}

static struct iopt_flushq *mk(struct drv *d, bool single, uint32_t entries)
{
	struct iopt_flushq_cfg c = {
		.single = single, .entries = entries, .flush_all = drv_flush,
		.release = drv_release, .ctx = d, .clock = drv_clock, .clock_ctx = d,
	};
	struct iopt_flushq *fq;

	memset(d, 0, sizeof(*d));
	REQUIRE(iopt_flushq_create(&c, &fq) == 0);
	d->fq = fq;
	return fq;
}

static void counters(void)
{
	struct drv d;
	struct iopt_flushq *fq = mk(&d, false, 8);
	struct iopt_flushq_stats st;

	TEST("counters and order");
	for (uint64_t i = 1; i <= 3; i++)
		CHECK_EQ(iopt_flushq_queue(fq, i, 1, NULL), 0);
	CHECK_EQ(iopt_flushq_pending(fq), 3);
	CHECK_EQ(d.released, 0);
	CHECK_EQ(d.flushes, 0);
	iopt_flushq_flush(fq);
	CHECK_EQ(d.flushes, 1);
	CHECK_EQ(d.released, 3);
	CHECK_EQ(d.order[0], 1);
	CHECK_EQ(d.order[2], 3);
	iopt_flushq_stats(fq, &st);
	CHECK_EQ(st.flush_start, 1);
	CHECK_EQ(st.flush_finish, 1);
	CHECK_EQ(st.queued, 3);
	CHECK_EQ(st.released, 3);
	/* an entry queued while a flush runs waits for the next flush */
	d.enqueue_in_flush = true;
	iopt_flushq_flush(fq);
	CHECK_EQ(iopt_flushq_pending(fq), 1);
	CHECK_EQ(d.released, 3);
	iopt_flushq_flush(fq);
	CHECK_EQ(iopt_flushq_pending(fq), 0);
	CHECK_EQ(d.order[3], 99);
	/* bad configs */
	struct iopt_flushq_cfg bad = { .flush_all = drv_flush, .release = drv_release };
	struct iopt_flushq *x = NULL;
	bad.entries = 6;
	CHECK_EQ(iopt_flushq_create(&bad, &x), -EINVAL);
	bad.entries = 1;
	CHECK_EQ(iopt_flushq_create(&bad, &x), -EINVAL);
	bad.entries = 0;
	bad.release = NULL;
	CHECK_EQ(iopt_flushq_create(&bad, &x), -EINVAL);
	CHECK(x == NULL);
	iopt_flushq_destroy(fq);
}

/* Full ring, one thread: 7 entries fit in 8 slots; the 8th forces a flush. */
static void full_ring(void)
{
	struct drv d;
	struct iopt_flushq *fq = mk(&d, false, 8);
	struct iopt_flushq_stats st;

	TEST("full ring");
	for (uint64_t i = 0; i < 7; i++)
		CHECK_EQ(iopt_flushq_queue(fq, i, 1, NULL), 0);
	CHECK_EQ(d.flushes, 0);
	CHECK_EQ(iopt_flushq_queue(fq, 7, 1, NULL), 0);
	CHECK_EQ(d.flushes, 1);
	CHECK_EQ(d.released, 7);
	CHECK_EQ(iopt_flushq_pending(fq), 1);
	iopt_flushq_stats(fq, &st);
	CHECK_EQ(st.full_flushes, 1);
	/*
	 * Steady state: the entry appended after a forced flush read its
	 * counter before that flush started, so the next full ring frees it
	 * without a flush: one flush per 8 enqueues after the first.
	 */
	for (uint64_t i = 8; i < 8 + 64; i++)
		CHECK_EQ(iopt_flushq_queue(fq, i, 1, NULL), 0);
	CHECK_EQ(d.flushes, 9);
	iopt_flushq_destroy(fq);
	CHECK_EQ(d.released, 72); /* destroy drains */
}

/* Two threads: B's full-ring flush makes A's entries eligible; A's next
 * full enqueue frees them without flushing again. */
struct two {
	struct drv d;
	struct iopt_flushq *fq;
	pthread_barrier_t bar;
	unsigned a_flushes_seen;
};

static void *two_a(void *arg)
{
	struct two *t = arg;

	for (uint64_t i = 0; i < 7; i++)
		iopt_flushq_queue(t->fq, 100 + i, 1, NULL);
	pthread_barrier_wait(&t->bar); /* A full */
	pthread_barrier_wait(&t->bar); /* B flushed */
	iopt_flushq_queue(t->fq, 200, 1, NULL);
	t->a_flushes_seen = atomic_load(&t->d.flushes);
	pthread_barrier_wait(&t->bar);
	return NULL;
}

static void *two_b(void *arg)
{
	struct two *t = arg;

	pthread_barrier_wait(&t->bar);
	for (uint64_t i = 0; i < 8; i++)
		iopt_flushq_queue(t->fq, 300 + i, 1, NULL);
	pthread_barrier_wait(&t->bar);
	pthread_barrier_wait(&t->bar);
	return NULL;
}

static void full_ring_two_threads(void)
{
	struct two t;
	pthread_t a, b;

	TEST("full ring frees flushed entries without a flush");
	t.fq = mk(&t.d, false, 8);
	pthread_barrier_init(&t.bar, NULL, 2);
	pthread_create(&a, NULL, two_a, &t);
	pthread_create(&b, NULL, two_b, &t);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	CHECK_EQ(t.a_flushes_seen, 1);
	CHECK_EQ(atomic_load(&t.d.released), 14);
	CHECK_EQ(iopt_flushq_pending(t.fq), 2);
	iopt_flushq_destroy(t.fq);
	pthread_barrier_destroy(&t.bar);
}

static void timer(bool single)
{
	struct drv d;
	struct iopt_flushq *fq = mk(&d, single, 0);
	uint64_t to = single ? IOPT_FLUSHQ_SINGLE_TIMEOUT_NS : IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS;
	struct iopt_flushq_stats st;

	printf("# timer, %s\n", single ? "single queue" : "per-thread rings");
	CHECK(!iopt_flushq_poll(fq, 0)); /* not armed */
	d.now = 1000;
	CHECK_EQ(iopt_flushq_queue(fq, 1, 1, NULL), 0);
	d.now = 5000; /* a later enqueue does not push the deadline */
	CHECK_EQ(iopt_flushq_queue(fq, 2, 1, NULL), 0);
	CHECK(!iopt_flushq_poll(fq, 1000 + to - 1));
	CHECK_EQ(d.flushes, 0);
	CHECK(iopt_flushq_poll(fq, 1000 + to));
	CHECK_EQ(d.flushes, 1);
	CHECK_EQ(d.released, 2);
	CHECK(!iopt_flushq_poll(fq, 1000 + 5 * to)); /* disarmed */
	d.now = 10 * to;
	CHECK_EQ(iopt_flushq_queue(fq, 3, 1, NULL), 0); /* re-arms */
	CHECK(!iopt_flushq_poll(fq, 11 * to - 1));
	CHECK(iopt_flushq_poll(fq, 11 * to));
	CHECK_EQ(d.released, 3);
	iopt_flushq_stats(fq, &st);
	CHECK_EQ(st.timer_flushes, 2);
	CHECK_EQ(st.rings, 1);
	iopt_flushq_destroy(fq);
}

struct page {
	struct iopt_gather_freed n;
	struct drv *d;
	unsigned flushes_at_release;
};

static void page_release(struct iopt_gather_freed *n)
{
	struct page *p = (struct page *)n;

	p->flushes_at_release = atomic_load(&p->d->flushes) + 1;
}

static void drain_pages(void)
{
	struct drv d;
	struct iopt_flushq *fq = mk(&d, false, 16);
	struct page pg[3];
	struct iopt_gather g;

	TEST("drain with table pages");
	iopt_gather_init(&g, true, NULL, NULL);
	for (int i = 0; i < 3; i++) {
		pg[i] = (struct page){ .n.release = page_release, .d = &d };
		iopt_gather_add_freed(&g, &pg[i].n);
	}
	iopt_gather_add_range(&g, 0x1000, 0x3000);
	CHECK_EQ(iopt_flushq_queue(fq, 1, 3, &g), 0);
	CHECK(g.freelist == NULL); /* moved into the entry */
	CHECK_EQ(g.nr_freed, 0);
	CHECK_EQ(pg[0].flushes_at_release, 0);
	iopt_flushq_drain(fq);
	CHECK_EQ(iopt_flushq_pending(fq), 0);
	for (int i = 0; i < 3; i++)
		CHECK_EQ(pg[i].flushes_at_release, 2); /* after flush #1 */
	CHECK(!iopt_flushq_poll(fq, UINT64_MAX)); /* drain disarmed */
	iopt_flushq_destroy(fq);
}

/* Thread exit hands the ring over; the next thread adopts it. */
static void *exit_worker(void *arg)
{
	struct iopt_flushq *fq = arg;

	for (uint64_t i = 0; i < 5; i++)
		iopt_flushq_queue(fq, i, 1, NULL);
	return NULL;
}

struct late {
	struct iopt_flushq *fq;
	pthread_barrier_t bar;
};

static void *late_worker(void *arg)
{
	struct late *l = arg;

	iopt_flushq_queue(l->fq, 1, 1, NULL);
	pthread_barrier_wait(&l->bar); /* main destroys fq now */
	pthread_barrier_wait(&l->bar);
	return NULL; /* exit drops the dead ring (ASan: no leak) */
}

static void thread_exit(void)
{
	struct drv d;
	struct iopt_flushq *fq = mk(&d, false, 8);
	struct iopt_flushq_stats st;
	pthread_t t;

	TEST("thread exit");
	pthread_create(&t, NULL, exit_worker, fq);
	pthread_join(t, NULL);
	CHECK_EQ(iopt_flushq_pending(fq), 5); /* handed over, not lost */
	CHECK_EQ(d.released, 0);
	pthread_create(&t, NULL, exit_worker, fq); /* adopts the orphan */
	pthread_join(t, NULL);
	iopt_flushq_stats(fq, &st);
	CHECK_EQ(st.rings, 1);
	CHECK_EQ(d.flushes, 1); /* 10 entries in a ring of 7 */
	CHECK(iopt_flushq_poll(fq, UINT64_MAX));
	CHECK_EQ(d.released, 10);
	iopt_flushq_destroy(fq);

	struct late l;

	l.fq = mk(&d, false, 8);
	pthread_barrier_init(&l.bar, NULL, 2);
	pthread_create(&t, NULL, late_worker, &l);
	pthread_barrier_wait(&l.bar);
	iopt_flushq_destroy(l.fq);
	CHECK_EQ(d.released, 1);
	pthread_barrier_wait(&l.bar);
	pthread_join(t, NULL);
	pthread_barrier_destroy(&l.bar);
}

/*
 * Ordering: the enqueuer clears a "PTE" (relaxed store) then queues; the
 * flusher's flush callback snapshots the PTEs; an entry may be released
 * only by a flush whose snapshot saw its PTE cleared.
 */
#define NORD 2000
struct ord {
	_Atomic uint64_t pte[NORD];
	uint8_t seen[NORD]; /* flusher thread only: last snapshot */
	_Atomic unsigned bad, released;
	_Atomic bool stop;
	struct iopt_flushq *fq;
};

static void ord_flush(void *ctx)
{
	struct ord *o = ctx;

	for (unsigned i = 0; i < NORD; i++)
		o->seen[i] = atomic_load_explicit(&o->pte[i], memory_order_relaxed) == 0;
}

static void ord_release(void *ctx, uint64_t pfn, uint64_t size)
{
	struct ord *o = ctx;

	(void)size;
	if (!o->seen[pfn])
		atomic_fetch_add(&o->bad, 1);
	atomic_fetch_add(&o->released, 1);
}

static void *ord_flusher(void *arg)
{
	struct ord *o = arg;

	while (!atomic_load(&o->stop))
		iopt_flushq_flush(o->fq);
	return NULL;
}

static void ordering(bool single)
{
	static struct ord o;
	struct iopt_flushq_cfg c = {
		.single = single, .entries = 4096, .flush_all = ord_flush,
		.release = ord_release, .ctx = &o,
	};
	pthread_t f;

	printf("# PTE clears ordered before the releasing flush, %s\n",
	       single ? "single queue (locked)" : "per-thread ring (lock-free owner)");
	memset(&o, 0, sizeof(o));
	for (unsigned i = 0; i < NORD; i++)
		atomic_init(&o.pte[i], 1);
	REQUIRE(iopt_flushq_create(&c, &o.fq) == 0);
	pthread_create(&f, NULL, ord_flusher, &o);
	for (unsigned i = 0; i < NORD; i++) {
		atomic_store_explicit(&o.pte[i], 0, memory_order_relaxed);
		iopt_flushq_queue(o.fq, i, 1, NULL);
	}
	while (atomic_load(&o.released) < NORD)
		;
	atomic_store(&o.stop, true);
	pthread_join(f, NULL);
	CHECK_EQ(o.bad, 0);
	CHECK_EQ(o.released, NORD);
	iopt_flushq_destroy(o.fq);
}

/*
 * A full ring whose entries a flush running in another thread already
 * covers does not flush again: A fills its ring, F's flush (which
 * snapshots A's entries) holds A's full enqueue back until F is done, and
 * A then only frees. Whether A waited on the flush lock or came late, one
 * flush in all.
 */
struct coal {
	struct drv d;
	struct iopt_flushq *fq;
	pthread_barrier_t bar;
	_Atomic bool f_inside, a_going;
};

static void coal_flush(void *ctx)
{
	struct coal *c = ctx;

	atomic_fetch_add(&c->d.flushes, 1);
	atomic_store(&c->f_inside, true); /* A's 7 entries are in the snapshot */
	while (!atomic_load(&c->a_going))
		;
	for (int i = 0; i < 1000; i++)
		sched_yield(); /* let A reach the flush lock (not required to pass) */
}

static void coal_release(void *ctx, uint64_t pfn, uint64_t size)
{
	(void)pfn;
	(void)size;
	atomic_fetch_add(&((struct coal *)ctx)->d.released, 1);
}

static void *coal_a(void *arg)
{
	struct coal *c = arg;

	for (uint64_t i = 0; i < 7; i++)
		iopt_flushq_queue(c->fq, i, 1, NULL);
	pthread_barrier_wait(&c->bar); /* full; F starts flushing */
	while (!atomic_load(&c->f_inside))
		;
	atomic_store(&c->a_going, true);
	iopt_flushq_queue(c->fq, 7, 1, NULL);
	return NULL;
}

static void *coal_f(void *arg)
{
	struct coal *c = arg;

	pthread_barrier_wait(&c->bar);
	iopt_flushq_flush(c->fq);
	return NULL;
}

static void flush_coalescing(void)
{
	static struct coal c;
	struct iopt_flushq_cfg cfg = { .entries = 8, .flush_all = coal_flush,
				       .release = coal_release, .ctx = &c };
	pthread_t a, f;

	TEST("full ring covered by a concurrent flush: no second flush");
	memset(&c, 0, sizeof(c));
	REQUIRE(iopt_flushq_create(&cfg, &c.fq) == 0);
	pthread_barrier_init(&c.bar, NULL, 2);
	pthread_create(&a, NULL, coal_a, &c);
	pthread_create(&f, NULL, coal_f, &c);
	pthread_join(a, NULL);
	pthread_join(f, NULL);
	CHECK_EQ(atomic_load(&c.d.flushes), 1);
	CHECK_EQ(atomic_load(&c.d.released), 7);
	CHECK_EQ(iopt_flushq_pending(c.fq), 1);
	iopt_flushq_destroy(c.fq);
	CHECK_EQ(atomic_load(&c.d.released), 8);
	pthread_barrier_destroy(&c.bar);
}

/* The internal timer thread: destroy stops it (no timing asserted). */
static void timer_thread(void)
{
	struct iopt_flushq_cfg c = { .timer_thread = true, .timeout_ns = 1000000,
				     .flush_all = drv_flush, .release = drv_release };
	struct drv d;
	struct iopt_flushq *fq;

	TEST("timer thread starts and stops");
	memset(&d, 0, sizeof(d));
	c.ctx = &d;
	REQUIRE(iopt_flushq_create(&c, &fq) == 0);
	CHECK_EQ(iopt_flushq_queue(fq, 1, 1, NULL), 0);
	iopt_flushq_destroy(fq);
	CHECK_EQ(d.released, 1);
}

int main(void)
{
	counters();
	full_ring();
	full_ring_two_threads();
	timer(false);
	timer(true);
	drain_pages();
	thread_exit();
	ordering(true);
	ordering(false);
	flush_coalescing();
	timer_thread();
	return tap_done();
}
