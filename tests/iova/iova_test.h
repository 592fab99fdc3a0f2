/* SPDX-License-Identifier: MIT */
/* Helpers shared by the IOVA public-API tests. */
#ifndef IOPT_TESTS_IOVA_TEST_H
#define IOPT_TESTS_IOVA_TEST_H

#include <pthread.h>
#include <string.h>

#include <iopt/iova.h>

#include "tap.h"

/* A domain over [start, end] (end 0: the default end) with flags; aborts on failure. */
static inline struct iopt_iova_domain *mk(uint64_t start, uint64_t end, unsigned flags)
{
	struct iopt_iova_config cfg;
	struct iopt_iova_domain *d = NULL;

	iopt_iova_config_init(&cfg);
	cfg.start_pfn = start;
	if (end)
		cfg.end_pfn = end;
	cfg.flags = flags;
	REQUIRE(iopt_iova_domain_create(&cfg, &d) == 0);
	REQUIRE(d != NULL);
	return d;
}

/* Statistics; poisoned first so a field the call forgot shows up. */
static inline struct iopt_iova_stats stats(struct iopt_iova_domain *d)
{
	struct iopt_iova_stats s;

	memset(&s, 0xA5, sizeof(s));
	iopt_iova_stats(d, &s);
	return s;
}

static inline void *flush_main(void *d)
{
	iopt_iova_cache_flush(d);
	return NULL;
}

/* Flush d's caches from another thread, with every range of d free: then nothing is left at all. */
static inline void flush_all_elsewhere(struct iopt_iova_domain *d)
{
	pthread_t th;

	REQUIRE(pthread_create(&th, NULL, flush_main, d) == 0);
	pthread_join(th, NULL);
	CHECK_EQ(stats(d).cache_pfns, 0);
	CHECK_EQ(stats(d).tree_nodes, 0);
}

#endif /* IOPT_TESTS_IOVA_TEST_H */
