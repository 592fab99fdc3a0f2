/* SPDX-License-Identifier: MIT */
/*
 * Trace parsers (sim/trace.h): every event kind of the own format and of
 * ftrace, each malformed-line class with the line number it must name,
 * CRLF, numbers at and past 2^64, streaming reads, and the own format's
 * round trip (format -> parse gives the same event).
 */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "trace.h"

static struct sim_trace *own, *ft, *ftd;

/* Parse one line with p; the count (or error) it returned. */
static int line(struct sim_trace *p, const char *s, struct sim_event ev[SIM_TRACE_EV_MAX])
{
	return sim_trace_parse_line(p, s, strlen(s), ev);
}

/* The line must be rejected, naming the line just parsed and containing `what`. */
static void bad(struct sim_trace *p, const char *s, const char *what)
{
	struct sim_event ev[SIM_TRACE_EV_MAX];
	char want[32];

	memset(ev, 0x5a, sizeof(ev));
	int r = line(p, s, ev);
	snprintf(want, sizeof(want), "trace:%lu: ", sim_trace_lineno(p));
	if (!tap_check(r == -EINVAL, s, __FILE__, __LINE__))
		printf("#   returned %d\n", r);
	const char *err = sim_trace_error(p);
	if (!tap_check(!strncmp(err, want, strlen(want)) && strstr(err, what), what, __FILE__, __LINE__))
		printf("#   error '%s', want prefix '%s' and '%s'\n", err, want, what);
	/* Nothing reaches ev on error. */
	CHECK(ev[0].kind == (enum sim_ev_kind)0x5a5a5a5a);
}

/* Format ev, parse the text back: the same event. */
static void round_trip(const struct sim_event *ev)
{
	char text[SIM_TRACE_LINE_MAX];
	struct sim_event back[SIM_TRACE_EV_MAX];
	struct sim_trace *p;

	REQUIRE(!sim_trace_create(SIM_TRACE_OWN, 0, &p));
	int n = sim_trace_format(ev, text, sizeof(text));
	CHECK(n > 0 && (size_t)n == strlen(text));
	CHECK_EQ(line(p, text, back), 1);
	if (!tap_check(sim_event_equal(ev, &back[0]), "round trip", __FILE__, __LINE__))
		printf("#   '%s'\n", text);
	sim_trace_destroy(p);
}

static void test_own_kinds(void)
{
	struct sim_event ev[SIM_TRACE_EV_MAX];

	TEST("own format: every event kind");
	CHECK_EQ(line(own, "map 7 0x1000 9216 rw cpu=3", ev), 1);
	CHECK(ev[0].kind == SIM_EV_MAP && ev[0].buf == 7 && ev[0].phys == 0x1000 &&
	      ev[0].size == 9216 && ev[0].prot == (IOPT_PROT_READ | IOPT_PROT_WRITE) && ev[0].cpu == 3);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "map_sg 9 0x2000:4K,0x10000:8192,1M:0x1000 r", ev), 1);
	CHECK(ev[0].kind == SIM_EV_MAP_SG && ev[0].buf == 9 && ev[0].nents == 3 &&
	      ev[0].prot == IOPT_PROT_READ);
	CHECK(ev[0].sg[0].phys == 0x2000 && ev[0].sg[0].len == 4096);
	CHECK(ev[0].sg[1].phys == 0x10000 && ev[0].sg[1].len == 8192);
	CHECK(ev[0].sg[2].phys == 1u << 20 && ev[0].sg[2].len == 4096);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "unmap 9", ev), 1);
	CHECK(ev[0].kind == SIM_EV_UNMAP && ev[0].buf == 9 && ev[0].cpu == 0);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "dma 7 64 1500 w dev=2", ev), 1);
	CHECK(ev[0].kind == SIM_EV_DMA && ev[0].buf == 7 && ev[0].off == 64 && ev[0].size == 1500 &&
	      ev[0].write && ev[0].dev == 2 && !ev[0].pri);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "map_at 0x40000000 0x80000000 1G rwcnmp cpu=1", ev), 1);
	CHECK(ev[0].kind == SIM_EV_MAP_AT && ev[0].buf == SIM_NO_BUF && ev[0].iova == 1u << 30 &&
	      ev[0].phys == 1ull << 31 && ev[0].size == 1u << 30 && ev[0].cpu == 1);
	CHECK_EQ(ev[0].prot, IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE | IOPT_PROT_NOEXEC |
				     IOPT_PROT_MMIO | IOPT_PROT_PRIV);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "unmap_at 0x200000 2M", ev), 1);
	CHECK(ev[0].kind == SIM_EV_UNMAP_AT && ev[0].iova == 0x200000 && ev[0].size == 2u << 20 &&
	      ev[0].buf == SIM_NO_BUF);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "dma_at 0x7f0000001000 100 r pri dev=5 cpu=2", ev), 1);
	CHECK(ev[0].kind == SIM_EV_DMA && ev[0].buf == SIM_NO_BUF && ev[0].iova == 0x7f0000001000 &&
	      ev[0].size == 100 && !ev[0].write && ev[0].pri && ev[0].dev == 5 && ev[0].cpu == 2);
	round_trip(&ev[0]);

	CHECK_EQ(line(own, "map 1 0 4096 -", ev), 1);
	CHECK_EQ(ev[0].prot, 0);
	round_trip(&ev[0]);
}

static void test_own_lexical(void)
{
	struct sim_event ev[SIM_TRACE_EV_MAX];

	TEST("own format: comments, blanks, CRLF, tabs, numbers");
	CHECK_EQ(line(own, "", ev), 0);
	CHECK_EQ(line(own, "   \t ", ev), 0);
	CHECK_EQ(line(own, "# a comment", ev), 0);
	CHECK_EQ(line(own, "\r\n", ev), 0);
	CHECK_EQ(line(own, "unmap 3 # trailing comment", ev), 1);
	CHECK(ev[0].kind == SIM_EV_UNMAP && ev[0].buf == 3);
	CHECK_EQ(line(own, "\tunmap\t4\r\n", ev), 1);
	CHECK(ev[0].buf == 4);
	CHECK_EQ(line(own, "unmap 5\n", ev), 1);
	CHECK(ev[0].buf == 5);
	/* Largest values: 2^64 - 1, and ranges ending exactly at 2^64. */
	CHECK_EQ(line(own, "map_at 0xffffffffffff0000 0 0x10000 r", ev), 1);
	CHECK(ev[0].iova == 0xffffffffffff0000ull && ev[0].size == 0x10000);
	CHECK_EQ(line(own, "dma_at 18446744073709551615 1 w", ev), 1);
	CHECK(ev[0].iova == UINT64_MAX);
	CHECK_EQ(line(own, "map 1048575 0XFFFFFFFFFFFFF000 4K r", ev), 1);
	CHECK(ev[0].buf == 1048575 && ev[0].phys == 0xFFFFFFFFFFFFF000ull);
	CHECK_EQ(line(own, "unmap_at 0 0x4000000000000000", ev), 1);
	CHECK_EQ(line(own, "unmap_at 0 4194304T", ev), 1); /* 2^22 * 2^40 = 2^62 */
	CHECK(ev[0].size == 1ull << 62);
	CHECK_EQ(sim_trace_lineno(own) > 10, 1);
}

static void test_own_malformed(void)
{
	char longl[SIM_TRACE_LINE_MAX + 16];

	TEST("own format: each malformed class names its line");
	bad(own, "mapp 1 2 3 r", "unknown event");
	bad(own, "map 1 2 3", "too few fields");
	bad(own, "unmap", "too few fields");
	bad(own, "map x 0 4096 r", "BUF: not a number");
	bad(own, "map 1048576 0 4096 r", "BUF: must be below");
	bad(own, "map 1 0x 4096 r", "PHYS: not a number");
	bad(own, "map 1 12abc 4096 r", "PHYS: not a number");
	bad(own, "map 1 0 -4096 r", "SIZE: not a number");
	bad(own, "map 1 18446744073709551616 4096 r", "out of range");
	bad(own, "map 1 0x10000000000000000 4096 r", "out of range");
	bad(own, "map 1 0 16777216T r", "out of range"); /* 2^24 * 2^40 */
	bad(own, "map 1 0 4KK r", "not a number");
	bad(own, "map 1 0 0 r", "length 0");
	bad(own, "map 1 0xfffffffffffff000 0x2000 r", "wraps");
	bad(own, "map_at 0xfffffffffffff000 0 0x2000 r", "wraps");
	bad(own, "map_at 0 0xfffffffffffff000 0x2000 r", "wraps");
	bad(own, "unmap_at 0xffffffffffffffff 2", "wraps");
	bad(own, "dma 1 0xffffffffffffffff 2 r", "wraps");
	bad(own, "dma_at 0 0 r", "length 0");
	bad(own, "map 1 0 4096 rx", "PROT");
	bad(own, "map 1 0 4096 rr", "PROT");
	bad(own, "map 1 0 4096 R", "PROT");
	bad(own, "dma 1 0 64 rw", "direction");
	bad(own, "dma 1 0 64 x", "direction");
	bad(own, "map 1 0 4096 r cpu=64", "cpu= must be below");
	bad(own, "map 1 0 4096 r cpu=", "cpu=: not a number");
	bad(own, "map 1 0 4096 r cpu=1 cpu=1", "cpu= given twice");
	bad(own, "dma 1 0 64 r dev=256", "dev= must be below");
	bad(own, "dma 1 0 64 r pri pri", "pri given twice");
	bad(own, "dma 1 0 64 r dev=1 dev=1", "dev= given twice");
	bad(own, "map 1 0 4096 r dev=1", "unexpected field 'dev=1'");
	bad(own, "unmap 1 pri", "unexpected field");
	bad(own, "unmap 1 2", "unexpected field");
	bad(own, "map_sg 1 0x1000 r", "want PHYS:LEN");
	bad(own, "map_sg 1 0x1000:4096, r", "want PHYS:LEN");
	bad(own, "map_sg 1 0x1000:0 r", "length 0");
	bad(own, "map_sg 1 :4096 r", "not a number");
	bad(own, "map_sg 1 0xfffffffffffff000:0x2000 r", "wraps");
	bad(own, "a b c d e f g h i j k l m n o p q", "too many fields");
	bad(own, "map \x01 0 4096 r", "'?'");

	char sg[SIM_TRACE_MAX_SG * 12 + 64];
	size_t pos = (size_t)snprintf(sg, sizeof(sg), "map_sg 1 ");
	for (unsigned i = 0; i <= SIM_TRACE_MAX_SG; i++)
		pos += (size_t)snprintf(sg + pos, sizeof(sg) - pos, "%s0:4096", i ? "," : "");
	snprintf(sg + pos, sizeof(sg) - pos, " r");
	bad(own, sg, "more than 256 segments");

	/* A NUL inside the line is an error, not the end of the line. */
	struct sim_event ev[SIM_TRACE_EV_MAX];
	unsigned long before = sim_trace_lineno(own);
	CHECK_EQ(sim_trace_parse_line(own, "unmap 1\0junk", 12, ev), -EINVAL);
	CHECK_EQ(sim_trace_lineno(own), before + 1);
	CHECK(strstr(sim_trace_error(own), "NUL byte") != NULL);

	memset(longl, ' ', sizeof(longl));
	memcpy(longl, "unmap 1", 7);
	CHECK_EQ(sim_trace_parse_line(own, longl, SIM_TRACE_LINE_MAX, ev), 1);
	CHECK_EQ(sim_trace_parse_line(own, longl, SIM_TRACE_LINE_MAX + 1, ev), -EINVAL);
	CHECK(strstr(sim_trace_error(own), "longer than") != NULL);
}

static void test_ftrace(void)
{
	struct sim_event ev[SIM_TRACE_EV_MAX];

	TEST("ftrace: map and unmap as tracefs, trace-cmd and perf print them");
	CHECK_EQ(line(ft, "  kworker/0:1-123     [002] .... 1234.567890: map: IOMMU: "
			  "iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000123456000 "
			  "size=4096", ev), 1);
	CHECK(ev[0].kind == SIM_EV_MAP_AT && ev[0].iova == 0xfffff000 && ev[0].phys == 0x123456000 &&
	      ev[0].size == 4096 && ev[0].cpu == 2 && ev[0].buf == SIM_NO_BUF &&
	      ev[0].prot == (IOPT_PROT_READ | IOPT_PROT_WRITE));
	round_trip(&ev[0]);
	/* trace-cmd report pads the event name; hex sizes; old kernels: no "- END". */
	CHECK_EQ(line(ft, "     fio-4242  [017]  5001.000001: map:                  IOMMU: "
			  "iova=0x0000000000200000 paddr=0x0000000040000000 size=0x200000\r\n", ev), 1);
	CHECK(ev[0].iova == 0x200000 && ev[0].phys == 0x40000000 && ev[0].size == 0x200000 &&
	      ev[0].cpu == 17);
	/* perf script: "iommu:map:". CPU above the sim's limit wraps. */
	CHECK_EQ(line(ft, " swapper 0 [065] 10.5: iommu:map: IOMMU: iova=0x1000 - 0x3000 "
			  "paddr=0x5000 size=8192", ev), 1);
	CHECK(ev[0].iova == 0x1000 && ev[0].size == 8192 && ev[0].cpu == 65 % SIM_TRACE_MAX_CPU);

	CHECK_EQ(line(ft, "  kworker/0:1-123 [000] d..1 1234.6: unmap: IOMMU: iova=0x00000000fffff000 "
			  "- 0x0000000100000000 size=4096 unmapped_size=4096", ev), 1);
	CHECK(ev[0].kind == SIM_EV_UNMAP_AT && ev[0].iova == 0xfffff000 && ev[0].size == 4096 &&
	      ev[0].buf == SIM_NO_BUF);
	round_trip(&ev[0]);
	/* The size the kernel unmapped counts (a large page may exceed the request). */
	CHECK_EQ(line(ft, "x-1 [000] 1.0: unmap: IOMMU: iova=0x200000 - 0x201000 size=4096 "
			  "unmapped_size=2097152", ev), 1);
	CHECK(ev[0].size == 2097152);
	CHECK_EQ(line(ft, "x-1 [000] 1.0: unmap: IOMMU: iova=0x200000 size=4096 unmapped_size=0", ev), 0);

	TEST("ftrace: other lines are skipped");
	CHECK_EQ(line(ft, "# tracer: nop", ev), 0);
	CHECK_EQ(line(ft, "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION", ev), 0);
	CHECK_EQ(line(ft, "cpus=8", ev), 0);
	CHECK_EQ(line(ft, "", ev), 0);
	CHECK_EQ(line(ft, "  bash-1 [000] 1.0: sched_switch: prev_comm=bash", ev), 0);
	CHECK_EQ(line(ft, "  bash-1 [000] 1.0: attach_device_to_domain: IOMMU: device=0000:00:02.0", ev), 0);
	CHECK_EQ(line(ft, "  bash-1 [000] 1.0: io_page_fault: IOMMU:0000:00:02.0 iova=0x1000", ev), 0);
	CHECK_EQ(line(ft, "  bash-1 [000] 1.0: map: IOMMUX: iova=0x1000", ev), 0);

	TEST("ftrace: malformed map/unmap lines name their line");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 size=4096", "map: missing paddr=");
	bad(ft, "a-1 [000] 1.0: map: IOMMU:", "map: missing iova=");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 paddr=0x0", "map: missing size=");
	bad(ft, "a-1 [000] 1.0: unmap: IOMMU: iova=0x1000 size=4096", "missing unmapped_size=");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0xzz paddr=0x0 size=1", "iova=: not a number");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 - 0x3000 paddr=0 size=4096", "not iova + size");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 - paddr=0 size=4096", "end: not a number");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 -", "missing end address");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 paddr=0 size=4096 prot=3", "unexpected field");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0x1000 paddr=0 size=0", "length 0");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0xfffffffffffff000 paddr=0 size=8192", "wraps");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0 paddr=0xfffffffffffff000 size=8192", "wraps");
	bad(ft, "a-1 [000] 1.0: map: IOMMU: iova=0 paddr=0 size=99999999999999999999", "out of range");
	bad(ft, "a-1 [000] 1.0: unmap: IOMMU: iova=0xffffffffffffffff size=1 unmapped_size=2", "wraps");

	TEST("ftrace: synthetic DMA after map and unmap");
	CHECK_EQ(line(ftd, "a-1 [001] 1.0: map: IOMMU: iova=0x10000 paddr=0x20000 size=65536", ev), 2);
	CHECK(ev[0].kind == SIM_EV_MAP_AT && ev[1].kind == SIM_EV_DMA && ev[1].buf == SIM_NO_BUF &&
	      ev[1].iova == 0x10000 && ev[1].size == 4096 && !ev[1].write && ev[1].cpu == 1);
	CHECK_EQ(line(ftd, "a-1 [001] 1.0: map: IOMMU: iova=0x10000 paddr=0x20000 size=512", ev), 2);
	CHECK_EQ(ev[1].size, 512);
	CHECK_EQ(line(ftd, "a-1 [001] 1.0: unmap: IOMMU: iova=0x10000 size=512 unmapped_size=4096", ev), 2);
	CHECK(ev[0].kind == SIM_EV_UNMAP_AT && ev[1].kind == SIM_EV_DMA && ev[1].iova == 0x10000 &&
	      ev[1].size == 1);
}

/* sim_trace_read over a file: streaming, line numbers across lines, CRLF. */
static void test_read(void)
{
	struct sim_event ev[SIM_TRACE_EV_MAX];
	struct sim_trace *p;

	TEST("streaming reads");
	FILE *f = tmpfile();
	REQUIRE(f);
	fputs("# header\r\n\r\nmap 1 0x1000 4096 rw\r\ndma 1 0 64 w\n\nunmap 1", f);
	rewind(f);
	REQUIRE(!sim_trace_create(SIM_TRACE_OWN, 0, &p));
	CHECK_EQ(sim_trace_read(p, f, ev), 1);
	CHECK(ev[0].kind == SIM_EV_MAP && sim_trace_lineno(p) == 3);
	CHECK_EQ(sim_trace_read(p, f, ev), 1);
	CHECK(ev[0].kind == SIM_EV_DMA && sim_trace_lineno(p) == 4);
	CHECK_EQ(sim_trace_read(p, f, ev), 1); /* last line has no newline */
	CHECK(ev[0].kind == SIM_EV_UNMAP && sim_trace_lineno(p) == 6);
	CHECK_EQ(sim_trace_read(p, f, ev), 0);
	CHECK_EQ(sim_trace_read(p, f, ev), 0);
	CHECK_EQ(sim_trace_error(p)[0], 0);
	sim_trace_destroy(p);
	fclose(f);

	/* An over-long line is an error naming it; reading goes on after it. */
	f = tmpfile();
	REQUIRE(f);
	fputs("unmap 1\n", f);
	for (unsigned i = 0; i < SIM_TRACE_LINE_MAX + 100; i++)
		fputc('x', f);
	fputs("\nunmap 2\nunmap 3 4\n", f);
	rewind(f);
	REQUIRE(!sim_trace_create(SIM_TRACE_OWN, 0, &p));
	CHECK_EQ(sim_trace_read(p, f, ev), 1);
	CHECK_EQ(sim_trace_read(p, f, ev), -EINVAL);
	CHECK(!strncmp(sim_trace_error(p), "trace:2: line longer than", 25));
	CHECK_EQ(sim_trace_read(p, f, ev), 1);
	CHECK(ev[0].buf == 2 && sim_trace_lineno(p) == 3);
	CHECK_EQ(sim_trace_read(p, f, ev), -EINVAL);
	CHECK(!strncmp(sim_trace_error(p), "trace:4: ", 9));
	sim_trace_destroy(p);
	fclose(f);
}

static void test_api(void)
{
	struct sim_trace *p = NULL;
	struct sim_event ev = {.kind = SIM_EV_UNMAP, .buf = 12};
	char small[8];

	TEST("create and format arguments");
	CHECK_EQ(sim_trace_create((enum sim_trace_format)7, 0, &p), -EINVAL);
	CHECK_EQ(sim_trace_create(SIM_TRACE_OWN, SIM_TRACE_F_DMA, &p), -EINVAL);
	CHECK_EQ(sim_trace_create(SIM_TRACE_FTRACE, 1u << 5, &p), -EINVAL);
	CHECK(p == NULL);
	sim_trace_destroy(NULL);

	/* "unmap 12" needs 9 bytes with its NUL. */
	CHECK_EQ(sim_trace_format(&ev, small, sizeof(small)), -ENOSPC);
	char ok[9];
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), 8);
	CHECK(!strcmp(ok, "unmap 12"));
	ev.prot = 1u << 9;
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), -EINVAL);
	ev.prot = 0;
	ev.buf = SIM_TRACE_MAX_BUF;
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), -EINVAL);
	ev.buf = 1;
	ev.cpu = SIM_TRACE_MAX_CPU;
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), -EINVAL);
	ev = (struct sim_event){.kind = SIM_EV_MAP_SG, .buf = 1};
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), -EINVAL);
	ev.kind = (enum sim_ev_kind)99;
	CHECK_EQ(sim_trace_format(&ev, ok, sizeof(ok)), -EINVAL);

	TEST("numbers for the CLI");
	uint64_t v = 7;
	CHECK(!sim_trace_number("4K", &v) && v == 4096);
	CHECK(!sim_trace_number("0x10", &v) && v == 16);
	CHECK(!sim_trace_number("18446744073709551615", &v) && v == UINT64_MAX);
	v = 7;
	CHECK_EQ(sim_trace_number("", &v), -EINVAL);
	CHECK_EQ(sim_trace_number("-1", &v), -EINVAL);
	CHECK_EQ(sim_trace_number("4k", &v), -EINVAL);
	CHECK_EQ(sim_trace_number("18446744073709551616", &v), -ERANGE);
	CHECK_EQ(sim_trace_number("16777216T", &v), -ERANGE);
	CHECK_EQ(v, 7); /* untouched on error */
}

int main(void)
{
	REQUIRE(!sim_trace_create(SIM_TRACE_OWN, 0, &own));
	REQUIRE(!sim_trace_create(SIM_TRACE_FTRACE, 0, &ft));
	REQUIRE(!sim_trace_create(SIM_TRACE_FTRACE, SIM_TRACE_F_DMA, &ftd));
	test_own_kinds();
	test_own_lexical();
	test_own_malformed();
	test_ftrace();
	test_read();
	test_api();
	sim_trace_destroy(own);
	sim_trace_destroy(ft);
	sim_trace_destroy(ftd);
	return tap_done();
}
