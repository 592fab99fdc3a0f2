/* SPDX-License-Identifier: MIT */
/* Helpers shared by the IOVA public-API tests. */
#ifndef IOPT_TESTS_IOVA_TEST_H
#define IOPT_TESTS_IOVA_TEST_H

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

#endif /* IOPT_TESTS_IOVA_TEST_H */
