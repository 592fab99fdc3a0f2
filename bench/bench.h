/* SPDX-License-Identifier: MIT */
/*
 * iopt-bench case registry. A case runs one repetition of its workload and
 * reports the nanoseconds of its timed part and the operations in it; the
 * harness does the warm-up, the repetitions and the median. Set-up that the
 * workload does not define as timed (building a fragmented tree, say) stays
 * outside the timed part.
 */
#ifndef IOPT_BENCH_H
#define IOPT_BENCH_H

#include <stdint.h>
#include <time.h>

struct bench_result {
	double ns;    /* wall time of the timed part */
	uint64_t ops; /* operations in it (the unit of ns_per_op) */
};

struct bench_case {
	const char *name; /* "<component>.<case>", matched by prefix */
	const char *unit; /* what one op is, for the readable table */
	struct bench_result (*run)(void);
	/* The same workload on the Linux 6.1 peer; NULL where none exists. */
	struct bench_result (*peer)(void);
	/* Nonzero: a thread-scaling case, run with bench_threads threads. */
	int threaded;
};

/* Threads for thread-scaling cases (--threads sets it per run; 1..64). */
extern unsigned bench_threads;
#define BENCH_MAX_THREADS 64

/* BENCH_PEER(fn): fn in a -Dpeers=linux61 build, NULL otherwise. */
#ifdef IOPT_BENCH_PEER_LINUX61
#define BENCH_PEER(fn) fn
#else
#define BENCH_PEER(fn) NULL
#endif

/* Force a workload's body into each per-peer wrapper so calls through its
 * constant API table become direct calls: both peers pay the same. */
#define BENCH_INLINE static inline __attribute__((always_inline))

static inline double bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Fixed-seed xorshift64*: the same op sequence on every run and peer. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

/* Keep a value alive without a store the compiler could drop. */
#define bench_keep(v) __asm__ volatile("" : : "r"(v) : "memory")

/* Each cases file exports one NULL-terminated table. */
extern const struct bench_case bench_iova_cases[];
extern const struct bench_case bench_pgtable_cases[];
extern const struct bench_case bench_plan_cases[];
extern const struct bench_case bench_dma_cases[];

#endif /* IOPT_BENCH_H */
