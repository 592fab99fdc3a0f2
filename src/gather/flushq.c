/* SPDX-License-Identifier: MIT */
/*
 * Flush queue (lazy IOTLB invalidation); contract and ordering argument in
 * include/iopt/flushq.h, data flow in docs/DMA.md.
 *
 * Locks, outermost first: fq->flush_lock (one flush at a time, held
 * across the flush callback), fq->rings_lock (ring list, adoption, a
 * flush's snapshot walks), each ring's lock (consumers; the producers of
 * the single ring). A full ring drops its lock around the synchronous
 * flush. An owner appending to its own per-thread ring takes none.
 */
#include <iopt/flushq.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-memb.h>

#include "util.h"

struct fq_entry {
	uint64_t pfn;
	uint64_t size;
	struct iopt_gather_freed *freelist;
};

/*
 * Positions are counts since creation (slot = count & mask): tail = entries
 * ever appended, head = entries ever freed, covered = entries a finished
 * flush covers. head <= covered is not implied: covered may run one ahead of
 * tail (the owner's entry appended right after its own flush).
 */
struct fq_ring {
	/* The producer's line: the owner thread (single variant: under lock). */
	_Alignas(64) atomic_uint_fast64_t tail; /* release: the entry is written */
	/* The consumers' line (the owner on a full ring, flushes, drain). */
	_Alignas(64) atomic_uint_fast64_t head;    /* release; written under lock */
	atomic_uint_fast64_t covered;              /* release; under fq->flush_lock */
	uint64_t snap;                             /* a flush's tail snapshot; flush_lock */
	pthread_mutex_t lock;                      /* consumers; producers of the single ring */
	uint32_t mask;
	bool orphan;                /* owning thread exited; under lock */
	atomic_bool dead;           /* queue destroyed: the thread drops it */
	atomic_int refs;            /* the queue's list + the owning thread */
	uint64_t fq_uid;            /* which queue (thread list lookups) */
	struct fq_ring *next;       /* queue's list, under rings_lock */
	struct fq_ring *tl_next;    /* owning thread's list */
	struct fq_entry e[];
};

struct iopt_flushq {
	/* Read by every enqueue, written once per flush period. */
	_Alignas(64) atomic_bool armed;
	atomic_uint_fast64_t deadline;
	uint64_t uid;
	struct fq_ring *single;     /* single variant's ring, else NULL */
	_Alignas(64) pthread_mutex_t flush_lock; /* one flush at a time */
	atomic_uint_fast64_t flush_start, flush_finish; /* stats; under flush_lock */
	atomic_uint_fast64_t full_flushes, timer_flushes;
	struct iopt_flushq_cfg cfg;
	pthread_mutex_t rings_lock;
	struct fq_ring *rings;
	uint64_t nr_rings;
	/* internal timer thread */
	bool has_thread, stop;
	pthread_t thread;
	pthread_mutex_t tlock;
	pthread_cond_t tcond;
};

static atomic_uint_fast64_t fq_next_uid = 1;
static pthread_key_t fq_key;
static pthread_once_t fq_key_once = PTHREAD_ONCE_INIT;
/* initial-exec: the enqueue fast path stays a leaf (no __tls_get_addr call) */
static __thread __attribute__((tls_model("initial-exec"))) struct fq_ring *tl_rings; /* MRU first */

static void _iopt_fq_ring_put(struct fq_ring *r)
{
	if (atomic_fetch_sub(&r->refs, 1) == 1) {
		pthread_mutex_destroy(&r->lock);
		_iopt_free(r);
	}
}

/* Thread exit: hand every ring over to its queue (see flushq.h). */
static void _iopt_fq_thread_exit(void *unused)
{
	struct fq_ring *r = tl_rings;

	(void)unused;
	tl_rings = NULL;
	while (r) {
		struct fq_ring *next = r->tl_next;

		pthread_mutex_lock(&r->lock);
		r->orphan = true;
		pthread_mutex_unlock(&r->lock);
		_iopt_fq_ring_put(r);
		r = next;
	}
}

static void _iopt_fq_key_init(void)
{
	/* No way to report failure from pthread_once; without the key, rings
	 * are still handed over at destroy, only not adopted early. */
	(void)pthread_key_create(&fq_key, _iopt_fq_thread_exit);
}

static uint64_t _iopt_fq_clock_mono(void *unused)
{
	struct timespec ts;

	(void)unused;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct fq_ring *_iopt_fq_ring_new(struct iopt_flushq *fq)
{
	size_t size = sizeof(struct fq_ring) + sizeof(struct fq_entry) * fq->cfg.entries;
	struct fq_ring *r = _iopt_aligned_alloc(64, (size + 63) & ~(size_t)63);

	if (!r)
		return NULL;
	memset(r, 0, size);
	pthread_mutex_init(&r->lock, NULL);
	r->mask = fq->cfg.entries - 1;
	r->fq_uid = fq->uid;
	atomic_init(&r->tail, 0);
	atomic_init(&r->head, 0);
	atomic_init(&r->covered, 0);
	atomic_init(&r->refs, 1);
	atomic_init(&r->dead, false);
	return r;
}

/* Full when tail + 1 == head modulo the size (one slot unused, as Linux). */
static inline bool _iopt_fq_full(const struct fq_ring *r, uint64_t tail)
{
	return tail - atomic_load_explicit(&r->head, memory_order_acquire) >= r->mask;
}

/* Splice the non-empty list b in front of list a. */
static struct iopt_gather_freed *_iopt_fq_splice(struct iopt_gather_freed *a,
						 struct iopt_gather_freed *b)
{
	struct iopt_gather_freed *t = b;

	while (t->next)
		t = t->next;
	t->next = a;
	return b;
}

/*
 * Free the entries a finished flush covers: IOVA back now, pages collected
 * into *pages for the caller to release after a grace period outside the
 * lock. The acquire loads pair with the flush's release of covered (itself
 * after its acquire of tail), so the entries' contents are visible.
 * Context: r->lock held.
 */
static void _iopt_fq_ring_free_locked(struct iopt_flushq *fq, struct fq_ring *r,
				      struct iopt_gather_freed **pages)
{
	void (*release)(void *, uint64_t, uint64_t) = fq->cfg.release;
	void *ctx = fq->cfg.ctx;
	struct iopt_gather_freed *acc = *pages;
	uint64_t h = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t c = atomic_load_explicit(&r->covered, memory_order_acquire);
	uint64_t t = atomic_load_explicit(&r->tail, memory_order_acquire);
	uint64_t end = c < t ? c : t;
	const uint32_t mask = r->mask;

	/* A freed slot is written whole by its next append: nothing to clear. */
	for (; h < end; h++) {
		const struct fq_entry *e = &r->e[h & mask];

		release(ctx, e->pfn, e->size);
		if (e->freelist)
			acc = _iopt_fq_splice(acc, e->freelist);
	}
	*pages = acc;
	atomic_store_explicit(&r->head, h, memory_order_release);
}

/* Table pages: the flush is done; wait for CPU readers, then release. */
static void _iopt_fq_release_pages(struct iopt_gather_freed *n)
{
	if (!n)
		return;
	urcu_memb_synchronize_rcu();
	while (n) {
		struct iopt_gather_freed *next = n->next;

		n->release(n);
		n = next;
	}
}

/*
 * One full flush (flushq.h, "ordering"): snapshot every ring's tail
 * (acquire: the entries below it and the PTE clears before them are
 * visible), flush_all, then publish the snapshots as covered (release).
 * @self: the caller's own per-thread ring when it flushes because that
 * ring is full: its next entry, appended right after this returns, was
 * unmapped before this flush_all ran in this very thread, so it is covered
 * too. Flushes are serialized; a full-ring caller (@self) that finds
 * entries freeable once it holds the lock returns without flushing.
 */
static void _iopt_fq_flush(struct iopt_flushq *fq, struct fq_ring *self)
{
	pthread_mutex_lock(&fq->flush_lock);
	if (self && (atomic_load_explicit(&self->covered, memory_order_relaxed) >
			     atomic_load_explicit(&self->head, memory_order_relaxed) ||
		     !_iopt_fq_full(self, atomic_load_explicit(&self->tail, memory_order_relaxed)))) {
		pthread_mutex_unlock(&fq->flush_lock);
		return; /* a flush that finished meanwhile covered (or freed) some of it */
	}
	atomic_store_explicit(&fq->flush_start, atomic_load(&fq->flush_start) + 1,
			      memory_order_relaxed);
	pthread_mutex_lock(&fq->rings_lock);
	for (struct fq_ring *r = fq->rings; r; r = r->next)
		r->snap = atomic_load_explicit(&r->tail, memory_order_acquire) + (r == self);
	pthread_mutex_unlock(&fq->rings_lock);
	fq->cfg.flush_all(fq->cfg.ctx);
	pthread_mutex_lock(&fq->rings_lock);
	for (struct fq_ring *r = fq->rings; r; r = r->next)
		if (r->snap > atomic_load_explicit(&r->covered, memory_order_relaxed))
			atomic_store_explicit(&r->covered, r->snap, memory_order_release);
	pthread_mutex_unlock(&fq->rings_lock);
	atomic_store_explicit(&fq->flush_finish, atomic_load(&fq->flush_finish) + 1,
			      memory_order_relaxed);
	pthread_mutex_unlock(&fq->flush_lock);
}

/* Flush, then free what is eligible in every ring. */
static void _iopt_fq_flush_free(struct iopt_flushq *fq)
{
	struct iopt_gather_freed *pages = NULL;

	_iopt_fq_flush(fq, NULL);
	pthread_mutex_lock(&fq->rings_lock);
	for (struct fq_ring *r = fq->rings; r; r = r->next) {
		pthread_mutex_lock(&r->lock);
		_iopt_fq_ring_free_locked(fq, r, &pages);
		pthread_mutex_unlock(&r->lock);
	}
	pthread_mutex_unlock(&fq->rings_lock);
	_iopt_fq_release_pages(pages);
}

/* Slow path: this thread's ring for fq, adopting an orphan or making one. */
static iopt_noinline struct fq_ring *_iopt_fq_thread_ring_slow(struct iopt_flushq *fq)
{
	struct fq_ring **pp = &tl_rings, *r;

	/* Look further down the list, dropping rings of destroyed queues. */
	while ((r = *pp)) {
		if (atomic_load(&r->dead)) {
			*pp = r->tl_next;
			_iopt_fq_ring_put(r);
			continue;
		}
		if (r->fq_uid == fq->uid) {
			*pp = r->tl_next; /* move to front */
			goto found;
		}
		pp = &r->tl_next;
	}
	pthread_once(&fq_key_once, _iopt_fq_key_init);
	pthread_mutex_lock(&fq->rings_lock);
	for (r = fq->rings; r; r = r->next) {
		bool got = false;

		pthread_mutex_lock(&r->lock);
		if (r->orphan) {
			r->orphan = false;
			atomic_fetch_add(&r->refs, 1);
			got = true;
		}
		pthread_mutex_unlock(&r->lock);
		if (got)
			break;
	}
	if (!r) {
		r = _iopt_fq_ring_new(fq);
		if (r) {
			atomic_fetch_add(&r->refs, 1); /* list + thread */
			r->next = fq->rings;
			fq->rings = r;
			fq->nr_rings++;
		}
	}
	pthread_mutex_unlock(&fq->rings_lock);
	if (!r)
		return NULL;
	(void)pthread_setspecific(fq_key, (void *)1); /* run the exit hook */
found:
	r->tl_next = tl_rings;
	tl_rings = r;
	return r;
}

static inline void _iopt_fq_put_entry(struct fq_ring *r, uint64_t t, uint64_t pfn, uint64_t size,
				      struct iopt_gather *g)
{
	struct fq_entry *e = &r->e[t & r->mask];

	e->pfn = pfn;
	e->size = size;
	e->freelist = g ? iopt_gather_take_freelist(g) : NULL;
	/* After the entry and after the caller's PTE clears: what a flush's snapshot sees. */
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
}

/* Arm the timeout once per flush period (Linux fq_timer_on). Returns 0. */
static iopt_noinline int _iopt_fq_arm_slow(struct iopt_flushq *fq)
{
	if (!atomic_exchange(&fq->armed, true))
		atomic_store_explicit(&fq->deadline,
				      fq->cfg.clock(fq->cfg.clock_ctx) + fq->cfg.timeout_ns,
				      memory_order_relaxed);
	return 0;
}

/* Returns 0; a tail call when the timer needs arming (no frame otherwise). */
static inline int _iopt_fq_arm(struct iopt_flushq *fq)
{
	if (iopt_unlikely(!atomic_load_explicit(&fq->armed, memory_order_relaxed)))
		return _iopt_fq_arm_slow(fq);
	return 0;
}

/*
 * Everything but an append to this thread's ring with room: the single
 * ring, a first enqueue, a full ring (free what a flush covered; if that is
 * nothing, flush synchronously with the ring's lock dropped, lock order).
 */
static iopt_noinline int _iopt_fq_queue_slow(struct iopt_flushq *fq, uint64_t pfn, uint64_t size,
					     struct iopt_gather *g)
{
	struct iopt_gather_freed *pages = NULL;
	struct fq_ring *r = fq->single ? fq->single : _iopt_fq_thread_ring_slow(fq);
	uint64_t t;

	if (!r)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	while (_iopt_fq_full(r, t = atomic_load_explicit(&r->tail, memory_order_relaxed))) {
		_iopt_fq_ring_free_locked(fq, r, &pages);
		if (!_iopt_fq_full(r, t))
			break;
		pthread_mutex_unlock(&r->lock);
		atomic_fetch_add_explicit(&fq->full_flushes, 1, memory_order_relaxed);
		/* Only the owner appends to its own ring: its entry is covered. */
		_iopt_fq_flush(fq, fq->single ? NULL : r);
		pthread_mutex_lock(&r->lock);
	}
	_iopt_fq_put_entry(r, t, pfn, size, g);
	pthread_mutex_unlock(&r->lock);
	_iopt_fq_release_pages(pages);
	return _iopt_fq_arm(fq);
}

/*
 * Fast path: this thread's own ring has room. Only its owner appends, so
 * no lock and no read-modify-write: plain stores and a release of tail.
 */
int iopt_flushq_queue(struct iopt_flushq *fq, uint64_t pfn, uint64_t size, struct iopt_gather *g)
{
	struct fq_ring *r = tl_rings;

	if (iopt_likely(r && r->fq_uid == fq->uid)) {
		uint64_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);

		if (iopt_likely(!_iopt_fq_full(r, t))) {
			_iopt_fq_put_entry(r, t, pfn, size, g);
			return _iopt_fq_arm(fq);
		}
	}
	return _iopt_fq_queue_slow(fq, pfn, size, g);
}

void iopt_flushq_flush(struct iopt_flushq *fq)
{
	_iopt_fq_flush_free(fq);
}

bool iopt_flushq_poll(struct iopt_flushq *fq, uint64_t now_ns)
{
	if (!atomic_load(&fq->armed) ||
	    now_ns < atomic_load_explicit(&fq->deadline, memory_order_relaxed))
		return false;
	/* Disarm before the flush: entries queued from here re-arm. */
	if (!atomic_exchange(&fq->armed, false))
		return false;
	atomic_fetch_add_explicit(&fq->timer_flushes, 1, memory_order_relaxed);
	_iopt_fq_flush_free(fq);
	return true;
}

void iopt_flushq_drain(struct iopt_flushq *fq)
{
	atomic_store(&fq->armed, false);
	_iopt_fq_flush_free(fq);
}

void iopt_flushq_stats(struct iopt_flushq *fq, struct iopt_flushq_stats *st)
{
	st->flush_start = atomic_load(&fq->flush_start);
	st->flush_finish = atomic_load(&fq->flush_finish);
	st->full_flushes = atomic_load(&fq->full_flushes);
	st->timer_flushes = atomic_load(&fq->timer_flushes);
	st->queued = st->released = 0;
	pthread_mutex_lock(&fq->rings_lock);
	st->rings = fq->nr_rings;
	for (struct fq_ring *r = fq->rings; r; r = r->next) {
		st->queued += atomic_load(&r->tail);
		st->released += atomic_load(&r->head);
	}
	pthread_mutex_unlock(&fq->rings_lock);
}

uint64_t iopt_flushq_pending(struct iopt_flushq *fq)
{
	struct iopt_flushq_stats st;

	iopt_flushq_stats(fq, &st);
	return st.queued - st.released;
}

static void *_iopt_fq_timer_main(void *arg)
{
	struct iopt_flushq *fq = arg;

	pthread_mutex_lock(&fq->tlock);
	while (!fq->stop) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(fq->cfg.timeout_ns / 1000000000ull);
		ts.tv_nsec += (long)(fq->cfg.timeout_ns % 1000000000ull);
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fq->tcond, &fq->tlock, &ts);
		if (fq->stop)
			break;
		pthread_mutex_unlock(&fq->tlock);
		iopt_flushq_poll(fq, fq->cfg.clock(fq->cfg.clock_ctx));
		pthread_mutex_lock(&fq->tlock);
	}
	pthread_mutex_unlock(&fq->tlock);
	return NULL;
}

int iopt_flushq_create(const struct iopt_flushq_cfg *cfg, struct iopt_flushq **out)
{
	struct iopt_flushq *fq;
	pthread_condattr_t ca;
	int err;

	if (!cfg || !out || !cfg->flush_all || !cfg->release)
		return -EINVAL;
	if (cfg->entries && (cfg->entries < 2 || (cfg->entries & (cfg->entries - 1))))
		return -EINVAL;
	fq = _iopt_aligned_alloc(64, (sizeof(*fq) + 63) & ~(size_t)63);
	if (!fq)
		return -ENOMEM;
	*fq = (struct iopt_flushq){ .cfg = *cfg };
	pthread_mutex_init(&fq->flush_lock, NULL);
	atomic_init(&fq->flush_start, 0);
	atomic_init(&fq->flush_finish, 0);
	atomic_init(&fq->armed, false);
	atomic_init(&fq->deadline, 0);
	atomic_init(&fq->full_flushes, 0);
	atomic_init(&fq->timer_flushes, 0);
	if (!fq->cfg.entries)
		fq->cfg.entries = cfg->single ? IOPT_FLUSHQ_SINGLE_ENTRIES : IOPT_FLUSHQ_DEFAULT_ENTRIES;
	if (!fq->cfg.timeout_ns)
		fq->cfg.timeout_ns =
			cfg->single ? IOPT_FLUSHQ_SINGLE_TIMEOUT_NS : IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS;
	if (!fq->cfg.clock)
		fq->cfg.clock = _iopt_fq_clock_mono;
	fq->uid = atomic_fetch_add(&fq_next_uid, 1);
	pthread_mutex_init(&fq->rings_lock, NULL);
	if (cfg->single) {
		fq->single = _iopt_fq_ring_new(fq);
		if (!fq->single) {
			pthread_mutex_destroy(&fq->rings_lock);
			pthread_mutex_destroy(&fq->flush_lock);
			_iopt_free(fq);
			return -ENOMEM;
		}
		fq->rings = fq->single;
		fq->nr_rings = 1;
	}
	if (cfg->timer_thread) {
		pthread_mutex_init(&fq->tlock, NULL);
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&fq->tcond, &ca);
		pthread_condattr_destroy(&ca);
		err = pthread_create(&fq->thread, NULL, _iopt_fq_timer_main, fq);
		if (err) {
			pthread_cond_destroy(&fq->tcond);
			pthread_mutex_destroy(&fq->tlock);
			if (fq->single)
				_iopt_fq_ring_put(fq->single);
			pthread_mutex_destroy(&fq->rings_lock);
			pthread_mutex_destroy(&fq->flush_lock);
			_iopt_free(fq);
			return -err;
		}
		fq->has_thread = true;
	}
	*out = fq;
	return 0;
}

void iopt_flushq_destroy(struct iopt_flushq *fq)
{
	struct fq_ring *r;

	if (!fq)
		return;
	if (fq->has_thread) {
		pthread_mutex_lock(&fq->tlock);
		fq->stop = true;
		pthread_cond_signal(&fq->tcond);
		pthread_mutex_unlock(&fq->tlock);
		pthread_join(fq->thread, NULL);
		pthread_cond_destroy(&fq->tcond);
		pthread_mutex_destroy(&fq->tlock);
	}
	iopt_flushq_drain(fq);
	/* Owning threads drop their reference when they next look or exit. */
	while ((r = fq->rings)) {
		fq->rings = r->next;
		atomic_store(&r->dead, true);
		_iopt_fq_ring_put(r);
	}
	pthread_mutex_destroy(&fq->rings_lock);
	pthread_mutex_destroy(&fq->flush_lock);
	_iopt_free(fq);
}
