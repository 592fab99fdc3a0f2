/* SPDX-License-Identifier: MIT */
/*
 * iopt flush queue: lazy ("non-strict") IOTLB invalidation (hw-facts §6.2,
 * Linux dma-iommu.c iova_fq). An unmapped IOVA range and the table pages its
 * unmap detached are queued instead of being flushed one by one; a single
 * full IOTLB flush later covers everything queued before it started, and
 * only then is the range handed back (release callback, e.g. to
 * iopt_iova_free) and the pages released.
 *
 * Rules (Linux's, with the per-entry counter replaced by a snapshot):
 *   - A full flush snapshots every ring's tail, calls flush_all, then marks
 *     the snapshot as covered. An entry is freed only once covered: a flush
 *     that started after the entry was queued has finished. One flush runs
 *     at a time; flush_start / flush_finish count them (stats).
 *   - Rings are power-of-two sized and full when tail + 1 == head (one slot
 *     unused). Enqueue on a full ring first frees the covered entries; if
 *     none is, it runs a synchronous full flush (or finds that one which
 *     finished meanwhile covered some) and frees again. The entry appended
 *     right after the enqueuer's own flush is covered by it: it was
 *     unmapped before that flush ran in the same thread.
 *   - A timeout (default 10 ms per-thread, 1000 ms single queue) is armed by
 *     the first enqueue after a flush; when it expires, one full flush frees
 *     the eligible entries of every ring.
 *
 * Variants (iopt_flushq_cfg.single):
 *   - per-thread rings (default 256 entries): each thread that enqueues gets
 *     its own ring, so enqueues of different threads do not share a lock;
 *   - one shared ring (default 32768 entries, 1000 ms), for drivers whose
 *     flushes are expensive (a hypervisor shadows the table).
 *
 * Timer: there is no hidden timing. iopt_flushq_poll(fq, now) runs the
 * timeout with the caller's notion of time; cfg.clock (injectable, default
 * CLOCK_MONOTONIC) supplies "now" for enqueue's arming and for the optional
 * internal timer thread (cfg.timer_thread), which calls poll every timeout
 * period. Tests drive poll with a fake clock and no thread.
 *
 * Thread exit: a per-thread ring is not flushed by its exiting thread (it
 * may hold entries of a domain it knows nothing about at that point); it is
 * handed over to the queue: it stays on the queue's ring list, its entries
 * are freed by the next poll/flush/drain, and the next thread that needs a
 * ring adopts it.
 *
 * Memory ordering: an entry may be released only by a flush whose
 * flush_all came after the unmap's PTE clears were visible. The owner
 * writes the entry and then stores tail with release (the PTE clears are
 * sequenced before, in the unmap); a flush loads every tail with acquire
 * before it calls flush_all, so everything below its snapshot, clears
 * included, happens-before that flush_all. Covered is stored with release
 * after flush_all and loaded with acquire by whoever frees. That is
 * message passing, not the store-buffer pattern of Linux's counter
 * (enqueue: clear, then read flush_start; flush: bump it, then flush),
 * which needs a full barrier on every enqueue: here the enqueue of a
 * per-thread ring is plain stores and a release store, no lock, no
 * read-modify-write. Only the owner thread appends to its ring; consumers
 * (a full-ring owner, flush/poll/drain from any thread) free under the
 * ring's lock; the single ring's producers take that lock too.
 *
 * The flush callback runs with the queue's flush lock held: it must not
 * flush, poll or drain this queue, nor enqueue on a full ring (an enqueue
 * with room is fine).
 */
#ifndef IOPT_FLUSHQ_H
#define IOPT_FLUSHQ_H

#include <iopt/common.h>
#include <iopt/gather.h>

IOPT_BEGIN_DECLS

#define IOPT_FLUSHQ_DEFAULT_ENTRIES 256u          /* per-thread ring */
#define IOPT_FLUSHQ_DEFAULT_TIMEOUT_NS 10000000ull /* 10 ms */
#define IOPT_FLUSHQ_SINGLE_ENTRIES 32768u         /* single shared ring */
#define IOPT_FLUSHQ_SINGLE_TIMEOUT_NS 1000000000ull /* 1000 ms */

struct iopt_flushq;

struct iopt_flushq_cfg {
	bool single;            /* one shared ring instead of per-thread rings */
	bool timer_thread;      /* start an internal thread that polls */
	uint32_t entries;       /* ring size, power of two >= 2; 0 = default */
	uint64_t timeout_ns;    /* 0 = default of the variant */
	/* Full IOTLB flush; returns once the invalidation completed. Required. */
	void (*flush_all)(void *ctx);
	/* Give an IOVA range back (pfn, size as queued). Required. */
	void (*release)(void *ctx, uint64_t pfn, uint64_t size);
	void *ctx;
	/* Nanosecond clock; NULL = CLOCK_MONOTONIC. */
	uint64_t (*clock)(void *clock_ctx);
	void *clock_ctx;
};

/* Counters snapshot (iopt_flushq_stats). */
struct iopt_flushq_stats {
	uint64_t flush_start;   /* full flushes started */
	uint64_t flush_finish;  /* full flushes finished */
	uint64_t queued;        /* entries ever queued */
	uint64_t released;      /* entries released */
	uint64_t full_flushes;  /* flushes forced by a full ring */
	uint64_t timer_flushes; /* flushes run by poll on timeout */
	uint64_t rings;         /* rings allocated (per-thread variant) */
};

/*
 * iopt_flushq_create - make a flush queue.
 * @cfg: copied; flush_all and release are required.
 * @out: receives the queue; untouched on failure.
 * Context: any thread. Owned by the caller; iopt_flushq_destroy() frees it.
 * Return: 0; -EINVAL (missing callback, entries not a power of two or < 2);
 * -ENOMEM; or the pthread_create error for the timer thread.
 */
IOPT_API int iopt_flushq_create(const struct iopt_flushq_cfg *cfg, struct iopt_flushq **out);

/*
 * iopt_flushq_destroy - drain (one flush, everything released), stop the
 * timer thread, free every ring. Context: no other call on fq may run or
 * follow. Threads that used fq may still be alive or exit later. NULL is a
 * no-op.
 */
IOPT_API void iopt_flushq_destroy(struct iopt_flushq *fq);

/*
 * iopt_flushq_queue - queue [pfn, pfn + size) (units are the caller's: they
 * are passed back to release as given) and take g's freelist into the entry
 * (g keeps its ranges; the caller re-initialises or syncs it; the pages are
 * released after the covering flush and an urcu-memb grace period).
 * Must be called after the PTEs of the range were cleared (see ordering).
 * May run the flush callback (full ring) and release callbacks.
 * Context: any thread, concurrently with every call but destroy; not inside
 * an RCU read-side section (freeing pages waits for a grace period).
 * Return: 0; -ENOMEM when a per-thread ring could not be allocated (nothing
 * queued then; g untouched).
 */
IOPT_API int iopt_flushq_queue(struct iopt_flushq *fq, uint64_t pfn, uint64_t size,
			       struct iopt_gather *g);

/*
 * iopt_flushq_flush - one full flush (counters as above), then free the
 * eligible entries of every ring. Context: as iopt_flushq_queue.
 */
IOPT_API void iopt_flushq_flush(struct iopt_flushq *fq);

/*
 * iopt_flushq_poll - the timer: if armed and @now_ns is at or past the
 * deadline, disarm, flush and free (as iopt_flushq_flush).
 * Return: true when it flushed. Context: as iopt_flushq_queue.
 */
IOPT_API bool iopt_flushq_poll(struct iopt_flushq *fq, uint64_t now_ns);

/*
 * iopt_flushq_drain - teardown: flush once and release every entry.
 * After it returns (and with no concurrent enqueue) nothing is queued.
 * Context: as iopt_flushq_queue.
 */
IOPT_API void iopt_flushq_drain(struct iopt_flushq *fq);

/* Counters; racy snapshot. Context: any. */
IOPT_API void iopt_flushq_stats(struct iopt_flushq *fq, struct iopt_flushq_stats *st);

/* Entries now queued in all rings (takes each ring lock). Context: any. */
IOPT_API uint64_t iopt_flushq_pending(struct iopt_flushq *fq);

IOPT_END_DECLS

#endif /* IOPT_FLUSHQ_H */
