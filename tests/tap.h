/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for iopt tests (meson runs them with protocol: 'tap').
 * CHECK() records one assertion; a failing CHECK prints where and why but
 * lets the test go on so one run reports every broken rule. tap_done()
 * prints the plan and returns the exit status.
 */
#ifndef IOPT_TESTS_TAP_H
#define IOPT_TESTS_TAP_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned tap_n, tap_failed;

static inline int tap_check(int ok, const char *expr, const char *file, int line)
{
	tap_n++;
	if (ok) {
		printf("ok %u\n", tap_n);
	} else {
		tap_failed++;
		printf("not ok %u - %s (%s:%d)\n", tap_n, expr, file, line);
	}
	return ok;
}

/* One TAP line per check; quiet variant for loops that check millions of things. */
#define CHECK(e) tap_check(!!(e), #e, __FILE__, __LINE__)
#define CHECK_EQ(a, b)                                                                  \
	do {                                                                            \
		long long _a = (long long)(a), _b = (long long)(b);                     \
		if (!tap_check(_a == _b, #a " == " #b, __FILE__, __LINE__))             \
			printf("#   got %lld, want %lld\n", _a, _b);                       \
	} while (0)
#define REQUIRE(e)                                                                      \
	do {                                                                            \
		if (!(e)) {                                                             \
			printf("Bail out! %s (%s:%d)\n", #e, __FILE__, __LINE__);      \
			exit(1);                                                        \
		}                                                                       \
	} while (0)
#define TEST(name) printf("# %s\n", name)

/* Fixed-seed xorshift64*: reproducible random sequences for every test. */
static inline uint64_t test_xrand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static inline int tap_done(void)
{
	printf("1..%u\n", tap_n);
	if (tap_failed)
		printf("# %u of %u checks failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif /* IOPT_TESTS_TAP_H */
