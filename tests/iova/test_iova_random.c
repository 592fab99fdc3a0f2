/* SPDX-License-Identifier: MIT */
/*
 * Randomized model-based test: long seeded random op streams through the
 * fuzz_iova harness, whose reference model (one byte per pfn) checks every
 * answer: exact top-down placement without caches, alignment, limits,
 * reservations and their merging, find(), double/bogus/wrong-size frees,
 * the tree invariants after every op, and zero leaks at teardown. A wrong
 * answer aborts, which fails this test. Sharing the harness keeps one model.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern unsigned long fuzz_iova_ops;

int main(void)
{
	static uint8_t buf[16384];
	unsigned streams = getenv("CI") ? 120 : 240;

	/* Header bytes pick granule, start pfn, end pfn and rcache on/off. */
	for (unsigned s = 0; s < streams; s++) {
		uint64_t seed = 0x1234567ull + s * 0x9E3779B97F4A7C15ull;
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)test_xrand(&seed);
		buf[0] = (uint8_t)s; /* cover every header combination */
		LLVMFuzzerTestOneInput(buf, sizeof(buf));
	}
	/* A mismatch aborts inside the harness: reaching here means every answer matched. */
	TEST("random op streams matched the reference model");
	printf("# %lu ops checked in %u streams\n", fuzz_iova_ops, streams);
	CHECK(fuzz_iova_ops > streams * 2000ul);
	return tap_done();
}
