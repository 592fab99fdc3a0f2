/* SPDX-License-Identifier: MIT */
/*
 * iopt-bench [--json] [--reps N] [PREFIX...]
 *
 * Runs every case whose name starts with one of the PREFIXes (all cases
 * without one): one warm-up repetition, then N (default 5) timed ones, and
 * reports the median ns per op. --json prints one object per line:
 *   {"peer":"iopt","case":"<name>","ns_per_op":<median>,"ops":<n>}
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

static const struct bench_case *const tables[] = {
	bench_iova_cases,
	bench_pgtable_cases,
	bench_plan_cases,
	bench_dma_cases,
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
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
	fprintf(f, "usage: iopt-bench [--json] [--reps N] [--list] [PREFIX...]\n");
}

int main(int argc, char **argv)
{
	int json = 0, list = 0, reps = 5, first = 1, ran = 0;

	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "--json")) {
			json = 1;
		} else if (!strcmp(argv[first], "--list")) {
			list = 1;
		} else if (!strcmp(argv[first], "--reps") && first + 1 < argc) {
			reps = atoi(argv[++first]);
			if (reps < 1 || reps > 101) {
				fprintf(stderr, "iopt-bench: --reps must be 1..101\n");
				return 2;
			}
		} else if (!strcmp(argv[first], "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!json && !list)
		printf("%-32s %12s %12s  %s\n", "case", "ns/op", "ops", "op");

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct bench_case *c = tables[t]; c->name; c++) {
			if (!selected(c->name, argc, argv, first))
				continue;
			ran++;
			if (list) {
				printf("%s\n", c->name);
				continue;
			}
			double v[101];
			struct bench_result r = c->run(); /* warm-up */
			for (int i = 0; i < reps; i++) {
				r = c->run();
				v[i] = r.ns / (double)r.ops;
			}
			qsort(v, (size_t)reps, sizeof(v[0]), cmp_double);
			double med = v[reps / 2];
			if (json)
				printf("{\"peer\":\"iopt\",\"case\":\"%s\",\"ns_per_op\":%.3f,\"ops\":%llu}\n",
				       c->name, med, (unsigned long long)r.ops);
			else
				printf("%-32s %12.3f %12llu  %s\n", c->name, med,
				       (unsigned long long)r.ops, c->unit);
			fflush(stdout);
		}
	}
	if (!ran) {
		fprintf(stderr, "iopt-bench: no case matches\n");
		return 1;
	}
	return 0;
}
