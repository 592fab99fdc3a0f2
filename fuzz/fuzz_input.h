/* SPDX-License-Identifier: MIT */
/* The byte-stream reader every fuzz harness decodes its input with. */
#ifndef IOPT_FUZZ_INPUT_H
#define IOPT_FUZZ_INPUT_H

#include <stdio.h>
#include <stdlib.h>

#include <stddef.h>
#include <stdint.h>

struct in {
	const uint8_t *p;
	size_t n;
};

/* Next byte; 0 once the input is used up, so every stream decodes. */
/*
 * A differential check failed: say which harness and what, then abort so the
 * fuzzer keeps the input. Each harness defines FUZZ_NAME before including.
 */
#define FAIL(...)                                                               \
	do {                                                                    \
		fprintf(stderr, FUZZ_NAME ": " __VA_ARGS__);                   \
		fputc('\n', stderr);                                            \
		abort();                                                        \
	} while (0)

static inline unsigned take(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint64_t take16(struct in *in)
{
	uint64_t lo = take(in);
	return lo | (uint64_t)take(in) << 8;
}

#endif /* IOPT_FUZZ_INPUT_H */
