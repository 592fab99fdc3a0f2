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

/* The Linux peers a case may have, in output order; BENCH_PEER_NAMES names them. */
enum { BENCH_LX61, BENCH_LX612, BENCH_NPEERS };
#define BENCH_NAME_lx61 "linux-6.1"
#define BENCH_NAME_lx612 "linux-6.12"
#define BENCH_PEER_NAMES { BENCH_NAME_lx61, BENCH_NAME_lx612 }

struct bench_case {
	const char *name; /* "<component>.<case>", matched by prefix */
	const char *unit; /* what one op is, for the readable table */
	struct bench_result (*run)(void);
	/* The same workload on each Linux peer; NULL where none is built or exists. */
	struct bench_result (*peer[BENCH_NPEERS])(void);
	/* Nonzero: a thread-scaling case, run with bench_threads threads. */
	int threaded;
};

/* Threads for thread-scaling cases (--threads sets it per run; 1..64). */
extern unsigned bench_threads;
#define BENCH_MAX_THREADS 64

/*
 * Per built peer P (lx61, lx612: the glue's prefix without its "_"), X(P);
 * BENCH_PEERS(fn) is the peer[] row {fn_lx61, fn_lx612}, NULL for a kernel
 * not built. Cases name each peer's function <fn>_<P>.
 */
#ifdef IOPT_BENCH_PEER_LINUX61
#define BENCH_EACH_LX61(X) X(lx61)
#define BENCH_LX61_FN(fn) fn##_lx61
#else
#define BENCH_EACH_LX61(X)
#define BENCH_LX61_FN(fn) NULL
#endif
#ifdef IOPT_BENCH_PEER_LINUX612
#define BENCH_EACH_LX612(X) X(lx612)
#define BENCH_LX612_FN(fn) fn##_lx612
#else
#define BENCH_EACH_LX612(X)
#define BENCH_LX612_FN(fn) NULL
#endif
#define BENCH_FOR_EACH_PEER(X) BENCH_EACH_LX61(X) BENCH_EACH_LX612(X)
#define BENCH_PEERS(fn) { BENCH_LX61_FN(fn), BENCH_LX612_FN(fn) }
#define BENCH_NO_PEER { NULL, NULL }

/* Force a workload's body into each per-peer wrapper so calls through its
 * constant API table become direct calls: every side pays the same. */
#define BENCH_INLINE static inline __attribute__((always_inline))

/*
 * The timed part of a case: t0 = bench_begin(); ...; ns = bench_end(t0).
 * Besides the clock, the pair brackets instruction counting for --instr
 * (perf counter or callgrind collection, per thread; iopt-bench.c), so
 * nothing outside the timed part is counted. Each thread of a threaded case
 * brackets its own part.
 */
double bench_begin(void);
double bench_end(double t0);

/*
 * bench_ops(n): how many of a workload's n operations (or bytes of its
 * range) to run: n, except under callgrind (--instr without a perf
 * counter), where instructions are counted on n / 16 (at least 1) since
 * each instruction costs ~50x there; per-op counts then stay within ~4% of
 * the full run's (domain and table warm-up is spread over fewer ops). n is
 * a power of two times the unit where the workload's structure depends on
 * it (table sizes).
 */
extern unsigned bench_ops_shift;
static inline uint64_t bench_ops(uint64_t n)
{
	uint64_t m = n >> bench_ops_shift;

	return m ? m : 1;
}

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
