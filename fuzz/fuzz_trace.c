/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace: bytes into the iopt-sim trace parsers (sim/trace.h). The
 * first byte picks the parser (bit 0: ftrace, bit 1: ftrace with synthetic
 * DMA); the rest is the trace text. Checked, beyond "no crash, no leak":
 *   - an error names the line being parsed ("trace:N: ...", N in range);
 *   - every event is well formed (kind known, non-empty ranges that do
 *     not wrap, handles and cpu/dev values in range);
 *   - every event re-serializes to the own format and parses back equal;
 *   - the streaming reader (sim_trace_read over the same bytes) yields the
 *     same events and the same first error as line-by-line parsing.
 *
 * Builds as a libFuzzer target, an AFL++ target (fuzz/run.sh) and a corpus
 * replayer for `meson test` (fuzz/replay.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_NAME "fuzz_trace"
#include "fuzz_input.h"
#include "trace.h"

#define MAX_EVENTS 4096 /* compared against the streaming reader */

struct copy {
	struct sim_event ev;
	struct iopt_dma_sg sg[SIM_TRACE_MAX_SG];
};

static struct copy seen[MAX_EVENTS];

static bool range_ok(uint64_t a, uint64_t len)
{
	return len && a + (len - 1) >= a;
}

static void check_event(const struct sim_event *ev, struct sim_trace *back)
{
	bool raw = ev->buf == SIM_NO_BUF, ok = ev->cpu < SIM_TRACE_MAX_CPU;

	switch (ev->kind) {
	case SIM_EV_MAP:
		ok &= !raw && range_ok(ev->phys, ev->size);
		break;
	case SIM_EV_MAP_SG:
		ok &= !raw && ev->nents >= 1 && ev->nents <= SIM_TRACE_MAX_SG;
		for (unsigned i = 0; ok && i < ev->nents; i++)
			ok &= range_ok(ev->sg[i].phys, ev->sg[i].len);
		break;
	case SIM_EV_UNMAP:
		ok &= !raw;
		break;
	case SIM_EV_MAP_AT:
		ok &= raw && range_ok(ev->iova, ev->size) && range_ok(ev->phys, ev->size);
		break;
	case SIM_EV_UNMAP_AT:
		ok &= raw && range_ok(ev->iova, ev->size);
		break;
	case SIM_EV_DMA:
		ok &= ev->dev < SIM_TRACE_MAX_DEV &&
		      (raw ? range_ok(ev->iova, ev->size) : range_ok(ev->off, ev->size));
		break;
	default:
		ok = false;
	}
	if (!raw && ev->buf >= SIM_TRACE_MAX_BUF)
		ok = false;
	if (!ok)
		FAIL("malformed event kind %d", (int)ev->kind);

	static char text[SIM_TRACE_LINE_MAX];
	struct sim_event again[SIM_TRACE_EV_MAX];
	int n = sim_trace_format(ev, text, sizeof(text));
	if (n < 0)
		FAIL("event kind %d not representable (%d)", (int)ev->kind, n);
	int r = sim_trace_parse_line(back, text, (size_t)n, again);
	if (r != 1)
		FAIL("'%s' does not parse back (%d: %s)", text, r, sim_trace_error(back));
	if (!sim_event_equal(ev, &again[0]))
		FAIL("'%s' parses back to another event", text);
}

/* The line number in "trace:N: ..." must be `line`. */
static void check_error(struct sim_trace *t, unsigned long line)
{
	char want[32];

	snprintf(want, sizeof(want), "trace:%lu: ", line);
	if (strncmp(sim_trace_error(t), want, strlen(want)) || sim_trace_lineno(t) != line)
		FAIL("error '%s' does not name line %lu", sim_trace_error(t), line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct in in = {data, size};
	unsigned mode = take(&in) & 3;
	enum sim_trace_format fmt = mode ? SIM_TRACE_FTRACE : SIM_TRACE_OWN;
	unsigned flags = mode == 3 ? SIM_TRACE_F_DMA : 0;
	struct sim_trace *t, *back, *rd;
	struct sim_event ev[SIM_TRACE_EV_MAX];
	unsigned long line = 0, err_line = 0;
	size_t nseen = 0, nall = 0;

	if (sim_trace_create(fmt, flags, &t) || sim_trace_create(SIM_TRACE_OWN, 0, &back) ||
	    sim_trace_create(fmt, flags, &rd))
		FAIL("create");

	/* Line by line, as a caller holding whole lines would. */
	for (const uint8_t *p = in.p, *end = in.p + in.n; p < end && !err_line;) {
		const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int n = sim_trace_parse_line(t, (const char *)p, len, ev);
		line++;
		if (n < 0) {
			check_error(t, line);
			err_line = line;
		}
		for (int i = 0; i < n; i++, nall++) {
			check_event(&ev[i], back);
			if (nseen < MAX_EVENTS) {
				seen[nseen].ev = ev[i];
				if (ev[i].nents)
					memcpy(seen[nseen].sg, ev[i].sg, ev[i].nents * sizeof(*ev[i].sg));
				seen[nseen].ev.sg = seen[nseen].sg;
				nseen++;
			}
		}
		p += len + (nl != NULL);
	}

	/* The streaming reader over the same bytes: same events, same first error. */
	FILE *f = in.n ? fmemopen((void *)in.p, in.n, "r") : NULL;
	size_t k = 0;
	for (int n; f && (n = sim_trace_read(rd, f, ev)) != 0;) {
		if (n < 0) {
			if (sim_trace_lineno(rd) != err_line)
				FAIL("reader error at line %lu, line parser at %lu", sim_trace_lineno(rd),
				     err_line);
			check_error(rd, err_line);
			break;
		}
		for (int i = 0; i < n; i++, k++)
			if (k < nseen && !sim_event_equal(&ev[i], &seen[k].ev))
				FAIL("reader event %zu differs", k);
	}
	if (f)
		fclose(f);
	if (k != nall)
		FAIL("reader gave %zu events, line parser %zu", k, nall);

	sim_trace_destroy(t);
	sim_trace_destroy(back);
	sim_trace_destroy(rd);
	return 0;
}
