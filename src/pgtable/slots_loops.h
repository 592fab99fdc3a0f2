/* SPDX-License-Identifier: MIT */
/*
 * The slot loops, written once over SLOTS_V (a vector of SLOTS_L uint64_t
 * lanes) and included once per vector size (pt_internal.h: 16 bytes,
 * inline; slots.c: AVX2). The includer defines SLOTS_FN(x) (the names),
 * SLOTS_ATTR (inline, or the target), SLOTS_RAMP(v, s) (the vector
 * { v, v + s, ... }) and the count of non-zero slots for clear:
 * SLOTS_TALLY(x, z) per vector (z is a zero vector), summed over the lanes
 * and added to SLOTS_TALLY_FROM(k) for the k slots the vectors covered
 * (either +1 per non-zero lane from 0, or -1 per zero lane from k: the
 * cheaper for the ISA). The main loop takes four vectors a step, each
 * with its own accumulator (no loop-carried dependency on one register),
 * then single vectors, then single slots.
 */
#define SLOTS_L     (sizeof(SLOTS_V) / sizeof(uint64_t))
#define SLOTS_AT(i) (*(SLOTS_V *)&p[i])

static SLOTS_ATTR uint64_t SLOTS_FN(slots_or)(const uint64_t *p, uint64_t n)
{
	SLOTS_V a = { 0 }, b = a, c = a, d = a;
	uint64_t i = 0, r = 0;

	pt_prefetch_lines(p, n);
	for (; i + 4 * SLOTS_L <= n; i += 4 * SLOTS_L) {
		a |= SLOTS_AT(i);
		b |= SLOTS_AT(i + SLOTS_L);
		c |= SLOTS_AT(i + 2 * SLOTS_L);
		d |= SLOTS_AT(i + 3 * SLOTS_L);
	}
	for (; i + SLOTS_L <= n; i += SLOTS_L)
		a |= SLOTS_AT(i);
	a |= b | c | d;
	for (unsigned k = 0; k < SLOTS_L; k++)
		r |= a[k];
	for (; i < n; i++)
		r |= p[i];
	return r;
}

static SLOTS_ATTR void SLOTS_FN(slots_fill)(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	SLOTS_V a = SLOTS_RAMP(v, step), b, c, d;
	uint64_t i = 0;

	b = a + SLOTS_L * step;
	c = b + SLOTS_L * step;
	d = c + SLOTS_L * step;
	for (; i + 4 * SLOTS_L <= n; i += 4 * SLOTS_L) {
		SLOTS_AT(i) = a;
		SLOTS_AT(i + SLOTS_L) = b;
		SLOTS_AT(i + 2 * SLOTS_L) = c;
		SLOTS_AT(i + 3 * SLOTS_L) = d;
		a += 4 * SLOTS_L * step;
		b += 4 * SLOTS_L * step;
		c += 4 * SLOTS_L * step;
		d += 4 * SLOTS_L * step;
	}
	for (; i + SLOTS_L <= n; i += SLOTS_L) {
		SLOTS_AT(i) = a;
		a += SLOTS_L * step;
	}
	for (; i < n; i++)
		p[i] = v + i * step;
}

/* Zero n slots, return how many were non-zero. */
static SLOTS_ATTR uint64_t SLOTS_FN(slots_clear)(uint64_t *p, uint64_t n)
{
	const SLOTS_V z = { 0 };
	SLOTS_V a = z, b = z, c = z, d = z;
	uint64_t i = 0, r;

	pt_prefetch_lines(p, n);
	for (; i + 4 * SLOTS_L <= n; i += 4 * SLOTS_L) {
		SLOTS_V x0 = SLOTS_AT(i), x1 = SLOTS_AT(i + SLOTS_L);
		SLOTS_V x2 = SLOTS_AT(i + 2 * SLOTS_L), x3 = SLOTS_AT(i + 3 * SLOTS_L);

		a += SLOTS_TALLY(x0, z);
		b += SLOTS_TALLY(x1, z);
		c += SLOTS_TALLY(x2, z);
		d += SLOTS_TALLY(x3, z);
		SLOTS_AT(i) = z;
		SLOTS_AT(i + SLOTS_L) = z;
		SLOTS_AT(i + 2 * SLOTS_L) = z;
		SLOTS_AT(i + 3 * SLOTS_L) = z;
	}
	for (; i + SLOTS_L <= n; i += SLOTS_L) {
		a += SLOTS_TALLY(SLOTS_AT(i), z);
		SLOTS_AT(i) = z;
	}
	a += b + c + d;
	r = SLOTS_TALLY_FROM(i);
	for (unsigned k = 0; k < SLOTS_L; k++)
		r += a[k];
	for (; i < n; i++) {
		r += p[i] != 0;
		p[i] = 0;
	}
	return r;
}

#undef SLOTS_AT
#undef SLOTS_L
