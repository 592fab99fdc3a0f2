/* SPDX-License-Identifier: MIT */
/*
 * iopt-bench [--json | --format=table|json|gbench] [--reps N] [--ratio]
 *            [--threads LIST] [--list] [PREFIX...]
 *
 * Runs every case whose name starts with one of the PREFIXes (all cases
 * without one): a warm-up repetition, then N (default 5) timed ones, and
 * reports the median ns per op. In a -Dpeers=linux61 build a case with a
 * Linux 6.1 peer runs both, interleaved (warm-up A, warm-up B, then A B A B
 * ...) so drift hits both alike.
 *
 * --json (= --format=json) prints one object per line:
 *   {"peer":"iopt","case":"<name>","ns_per_op":<median>,"ops":<n>}
 * with "peer":"linux-6.1" for the peer, and ,"threads":<n> added for the
 * thread-scaling cases. --ratio adds, per case with a peer, the line
 *   {"ratio":"iopt/linux-6.1","case":"<name>","median":<r>,"min":<r>,"max":<r>}
 * (the table format prints the same as columns): median = median iopt ns /
 * median peer ns; min/max over the per-repetition pairs.
 * --format=gbench prints one Google Benchmark JSON document (context +
 * benchmarks[], name "<case>/<peer>" or "<case>/threads:<n>/<peer>").
 * --threads 1,2,4 runs only the thread-scaling cases, once per count
 * (1..64; "all" = powers of two up to the online CPUs, plus that count).
 * Without it they run once with as many threads as online CPUs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#ifdef IOPT_BENCH_PEER_LINUX61
#define PEER_NAME "linux-6.1"
#endif

unsigned bench_threads = 2;

static const struct bench_case *const tables[] = {
	bench_iova_cases,
	bench_pgtable_cases,
	bench_plan_cases,
	bench_dma_cases,
};

enum fmt { FMT_TABLE, FMT_JSON, FMT_GBENCH };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[101];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(s[0]), cmp_double);
	return s[n / 2];
}

static int selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return 1;
	for (int i = first; i < argc; i++)
		if (!strncmp(name, argv[i], strlen(argv[i])))
			return 1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: iopt-bench [--json | --format=table|json|gbench] [--reps N] [--ratio]\n"
		   "                  [--threads LIST|all] [--list] [PREFIX...]\n");
}

/* Parses "1,2,4" (or "all") into counts; returns how many, 0 on bad input. */
static int parse_threads(const char *s, unsigned *out, int max, unsigned ncpu)
{
	int n = 0;

	if (!strcmp(s, "all")) {
		for (unsigned t = 1; t < ncpu && n < max - 1; t *= 2)
			out[n++] = t;
		out[n++] = ncpu;
		return n;
	}
	while (*s && n < max) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > BENCH_MAX_THREADS || (*end && *end != ','))
			return 0;
		out[n++] = (unsigned)v;
		s = *end ? end + 1 : end;
	}
	return *s ? 0 : n;
}

/* gbench output is one document: results are kept until the end. */
struct gb_entry {
	char name[96];
	double ns;
	unsigned long long ops;
	unsigned threads;
};
static struct gb_entry *gb;
static size_t gb_n, gb_cap;

static void gb_add(const char *name, const char *peer, unsigned threads, double ns,
		   unsigned long long ops)
{
	if (gb_n == gb_cap) {
		gb_cap = gb_cap ? 2 * gb_cap : 64;
		gb = realloc(gb, gb_cap * sizeof(*gb));
		if (!gb) {
			fprintf(stderr, "iopt-bench: out of memory\n");
			exit(1);
		}
	}
	struct gb_entry *e = &gb[gb_n++];
	if (threads)
		snprintf(e->name, sizeof(e->name), "%s/threads:%u/%s", name, threads, peer);
	else
		snprintf(e->name, sizeof(e->name), "%s/%s", name, peer);
	e->ns = ns;
	e->ops = ops;
	e->threads = threads ? threads : 1;
}

static void gb_print(int reps)
{
	char host[256] = "unknown", date[64];
	double load[3] = { 0, 0, 0 };
	time_t now = time(NULL);

	gethostname(host, sizeof(host) - 1);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S+00:00", gmtime(&now));
	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = 0;
	printf("{\n  \"context\": {\n    \"date\": \"%s\",\n    \"host_name\": \"%s\",\n"
	       "    \"executable\": \"iopt-bench\",\n    \"num_cpus\": %ld,\n"
	       "    \"mhz_per_cpu\": 0,\n    \"cpu_scaling_enabled\": false,\n    \"caches\": [],\n"
	       "    \"load_avg\": [%.2f, %.2f, %.2f],\n    \"library_build_type\": \"release\",\n"
	       "    \"repetitions\": %d,\n    \"statistic\": \"median\"\n  },\n  \"benchmarks\": [",
	       date, host, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], reps);
	for (size_t i = 0; i < gb_n; i++)
		printf("%s\n    {\"name\": \"%s\", \"run_name\": \"%s\", \"run_type\": \"iteration\", "
		       "\"repetitions\": %d, \"repetition_index\": 0, \"threads\": %u, "
		       "\"iterations\": %llu, \"real_time\": %.3f, \"cpu_time\": %.3f, "
		       "\"time_unit\": \"ns\"}",
		       i ? "," : "", gb[i].name, gb[i].name, reps, gb[i].threads, gb[i].ops, gb[i].ns,
		       gb[i].ns);
	printf("\n  ]\n}\n");
	free(gb);
}

static void emit(enum fmt fmt, const struct bench_case *c, const char *peer, unsigned threads,
		 double med, unsigned long long ops)
{
	char tname[96];

	if (fmt == FMT_GBENCH) {
		gb_add(c->name, peer, threads, med, ops);
	} else if (fmt == FMT_JSON) {
		if (threads)
			printf("{\"peer\":\"%s\",\"case\":\"%s\",\"ns_per_op\":%.3f,\"ops\":%llu,"
			       "\"threads\":%u}\n", peer, c->name, med, ops, threads);
		else
			printf("{\"peer\":\"%s\",\"case\":\"%s\",\"ns_per_op\":%.3f,\"ops\":%llu}\n",
			       peer, c->name, med, ops);
	} else {
		if (threads)
			snprintf(tname, sizeof(tname), "%s/threads:%u", c->name, threads);
		else
			snprintf(tname, sizeof(tname), "%s", c->name);
		printf("%-36s %-10s %12.3f %12llu  %s\n", tname, peer, med, ops, c->unit);
	}
}

/* One case at the current bench_threads: warm-up, then reps (interleaved with the peer). */
static void run_case(const struct bench_case *c, int reps, enum fmt fmt, int ratio,
		     unsigned threads)
{
	double vi[101], vp[101], rr[101];
	struct bench_result r = c->run(), rp = { 0, 1 }; /* warm-up */
	int peer = 0;

#ifdef IOPT_BENCH_PEER_LINUX61
	peer = c->peer != NULL;
	if (peer)
		rp = c->peer();
#endif
	for (int i = 0; i < reps; i++) {
		r = c->run();
		vi[i] = r.ns / (double)r.ops;
		if (peer) {
			rp = c->peer();
			vp[i] = rp.ns / (double)rp.ops;
			rr[i] = vi[i] / vp[i];
		}
	}
	double mi = median(vi, reps);
	emit(fmt, c, "iopt", threads, mi, (unsigned long long)r.ops);
#ifdef IOPT_BENCH_PEER_LINUX61
	if (peer) {
		double mp = median(vp, reps), lo = rr[0], hi = rr[0];

		emit(fmt, c, PEER_NAME, threads, mp, (unsigned long long)rp.ops);
		for (int i = 1; i < reps; i++) {
			lo = rr[i] < lo ? rr[i] : lo;
			hi = rr[i] > hi ? rr[i] : hi;
		}
		char tf[32] = "";

		if (threads)
			snprintf(tf, sizeof(tf), "\"threads\":%u,", threads);
		if (ratio && fmt == FMT_JSON)
			printf("{\"ratio\":\"iopt/%s\",\"case\":\"%s\",%s\"median\":%.4f,"
			       "\"min\":%.4f,\"max\":%.4f}\n", PEER_NAME, c->name, tf, mi / mp, lo, hi);
		else if (ratio && fmt == FMT_TABLE)
			printf("%-36s %-10s %12.4f  [%.4f .. %.4f]\n", "", "iopt/peer", mi / mp, lo,
			       hi);
	}
#else
	(void)vp, (void)rr, (void)rp, (void)ratio;
#endif
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int list = 0, reps = 5, first = 1, ran = 0, ratio = 0, nthr = 0;
	unsigned thr[64], ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	enum fmt fmt = FMT_TABLE;

	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > BENCH_MAX_THREADS)
		ncpu = BENCH_MAX_THREADS;
	for (; first < argc && argv[first][0] == '-'; first++) {
		const char *a = argv[first];

		if (!strcmp(a, "--json") || !strcmp(a, "--format=json")) {
			fmt = FMT_JSON;
		} else if (!strcmp(a, "--format=gbench")) {
			fmt = FMT_GBENCH;
		} else if (!strcmp(a, "--format=table")) {
			fmt = FMT_TABLE;
		} else if (!strcmp(a, "--list")) {
			list = 1;
		} else if (!strcmp(a, "--ratio")) {
			ratio = 1;
		} else if (!strcmp(a, "--threads") && first + 1 < argc) {
			nthr = parse_threads(argv[++first], thr, 64, ncpu);
			if (!nthr) {
				fprintf(stderr, "iopt-bench: --threads takes counts 1..%d, "
						"comma-separated, or \"all\"\n", BENCH_MAX_THREADS);
				return 2;
			}
		} else if (!strcmp(a, "--reps") && first + 1 < argc) {
			reps = atoi(argv[++first]);
			if (reps < 1 || reps > 101) {
				fprintf(stderr, "iopt-bench: --reps must be 1..101\n");
				return 2;
			}
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
#ifndef IOPT_BENCH_PEER_LINUX61
	if (ratio) {
		fprintf(stderr, "iopt-bench: --ratio needs the Linux 6.1 peers, and this build has "
				"none.\n  Install the source (apt-get install linux-source-6.1), then "
				"meson configure BUILD -Dpeers=linux61 && ninja -C BUILD\n");
		return 2;
	}
#endif
	if (fmt == FMT_TABLE && !list)
		printf("%-36s %-10s %12s %12s  %s\n", "case", "peer", "ns/op", "ops", "op");

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct bench_case *c = tables[t]; c->name; c++) {
			if (!selected(c->name, argc, argv, first) || (nthr && !c->threaded))
				continue;
			ran++;
			if (list) {
				printf("%s\n", c->name);
				continue;
			}
			if (!c->threaded) {
				run_case(c, reps, fmt, ratio, 0);
				continue;
			}
			for (int i = 0; i < (nthr ? nthr : 1); i++) {
				bench_threads = nthr ? thr[i] : ncpu;
				run_case(c, reps, fmt, ratio, bench_threads);
			}
		}
	}
	if (!ran) {
		fprintf(stderr, "iopt-bench: no case matches\n");
		return 1;
	}
	if (fmt == FMT_GBENCH && !list)
		gb_print(reps);
#ifdef IOPT_BENCH_PEER_LINUX61
	if (ratio && !list)
		fprintf(stderr, "iopt-bench: no %s peer for vtd_ss.* (6.1's VT-d page table is "
				"entangled in intel/iommu.c), lazy dma.* (its flush queue is in "
				"dma-iommu.c) or plan.*\n", PEER_NAME);
#endif
	return 0;
}
