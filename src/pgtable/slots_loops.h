/* SPDX-License-Identifier: MIT */
/*
 * The bulk slot loops, written once over SLOTS_V (a vector of SLOTS_L
 * uint64_t lanes) and included by slots.c once per ISA variant with
 * SLOTS_FN(x) naming the functions, SLOTS_ATTR their target and
 * SLOTS_ISZERO(x, z) giving -1 in each lane of x that is zero, else 0
 * (z: a zero vector).
 * A loop step is four vectors, each with its own accumulator (no
 * loop-carried dependency on one register); the tail is scalar.
 */
#define SLOTS_L    (sizeof(SLOTS_V) / sizeof(uint64_t))
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
	a |= b | c | d;
	for (unsigned k = 0; k < SLOTS_L; k++)
		r |= a[k];
	for (; i < n; i++)
		r |= p[i];
	return r;
}

static SLOTS_ATTR void SLOTS_FN(slots_fill)(uint64_t *p, uint64_t n, uint64_t v, uint64_t step)
{
	SLOTS_V a, b, c, d;
	uint64_t i = 0;

	for (unsigned k = 0; k < SLOTS_L; k++)
		a[k] = v + k * step;
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
	for (; i < n; i++)
		p[i] = v + i * step;
}

/* Zero n slots, return how many were non-zero. */
static SLOTS_ATTR uint64_t SLOTS_FN(slots_clear)(uint64_t *p, uint64_t n)
{
	const SLOTS_V z = { 0 };
	SLOTS_V a = z, b = z, c = z, d = z;
	uint64_t i = 0, r = 0;

	pt_prefetch_lines(p, n);
	for (; i + 4 * SLOTS_L <= n; i += 4 * SLOTS_L) {
		SLOTS_V x0 = SLOTS_AT(i), x1 = SLOTS_AT(i + SLOTS_L);
		SLOTS_V x2 = SLOTS_AT(i + 2 * SLOTS_L), x3 = SLOTS_AT(i + 3 * SLOTS_L);

		a += SLOTS_ISZERO(x0, z);
		b += SLOTS_ISZERO(x1, z);
		c += SLOTS_ISZERO(x2, z);
		d += SLOTS_ISZERO(x3, z);
		SLOTS_AT(i) = z;
		SLOTS_AT(i + SLOTS_L) = z;
		SLOTS_AT(i + 2 * SLOTS_L) = z;
		SLOTS_AT(i + 3 * SLOTS_L) = z;
	}
	a += b + c + d;
	r = i; /* slots the vectors covered, less their zeros */
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
