/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim trace parsers: text -> struct sim_event, one line at a time.
 *
 * Two input formats (grammar and examples: docs/SIM.md):
 *   SIM_TRACE_OWN     the simulator's own format, one event per line
 *                     (`map BUF PHYS SIZE PROT [cpu=N]`, `dma BUF OFF LEN r|w`, ...);
 *                     sim_trace_format() writes it back (exact round trip).
 *   SIM_TRACE_FTRACE  Linux ftrace text (trace-cmd report, tracefs `trace`,
 *                     perf script) of the iommu:map and iommu:unmap events,
 *                     turned into MAP_AT / UNMAP_AT; other lines are skipped.
 *
 * A parser is a small object holding the line counter, the scatter list of
 * the last map_sg and the last error message. Events it returns point into
 * it (ev->sg) until the next call on the same parser.
 *
 * Thread-safety: none; one parser per thread. Parsers share nothing.
 */
#ifndef IOPT_SIM_TRACE_H
#define IOPT_SIM_TRACE_H

#include <stddef.h>
#include <stdio.h>

#include "sim.h"

enum sim_trace_format {
	SIM_TRACE_OWN = 0,
	SIM_TRACE_FTRACE,
};

/*
 * ftrace: after each map, a device read of the mapping's first bytes (up to
 * 4 KiB); after each unmap, a one-byte device read of the unmapped IOVA,
 * which must fault: a hit there is a stale IOTLB entry (the oracle's case).
 */
#define SIM_TRACE_F_DMA (1u << 0)

#define SIM_TRACE_LINE_MAX 65536u /* bytes per line, line end excluded */
#define SIM_TRACE_MAX_SG   256u   /* map_sg segments per line */
#define SIM_TRACE_MAX_CPU  64u    /* cpu=N: N below this (sim_opts.threads bound) */
#define SIM_TRACE_MAX_DEV  256u   /* dev=N: N below this */
#define SIM_TRACE_MAX_BUF  (1u << 20) /* buffer handles below this (sim.h) */
#define SIM_TRACE_EV_MAX   2u     /* events one line can produce */

struct sim_trace;

/*
 * sim_trace_create - a parser for `fmt`; flags: SIM_TRACE_F_* (ftrace only).
 * Return: 0 and *out; -EINVAL (unknown format or flags); -ENOMEM.
 * Owned by the caller (sim_trace_destroy).
 */
int sim_trace_create(enum sim_trace_format fmt, unsigned flags, struct sim_trace **out);

/* Free the parser; NULL is a no-op. Events it returned are invalid after. */
void sim_trace_destroy(struct sim_trace *t);

/*
 * sim_trace_parse_line - parse one line (without or with its "\n" / "\r\n";
 * `line` need not be NUL-terminated and may hold any bytes).
 * Counts the line whatever the outcome, so errors name the right line.
 * Return: the number of events written to ev[0..] (0 for a blank line, a
 * comment, an ftrace line of another event, an ftrace unmap that unmapped
 * nothing; at most SIM_TRACE_EV_MAX), or -EINVAL for a malformed line:
 * sim_trace_error() then says "trace:LINE: what". No event is written on
 * error. Events stay valid until the next call on t.
 */
int sim_trace_parse_line(struct sim_trace *t, const char *line, size_t len,
			 struct sim_event ev[SIM_TRACE_EV_MAX]);

/*
 * sim_trace_read - read lines from f until one yields events (streaming:
 * one line held at a time, at most SIM_TRACE_LINE_MAX bytes).
 * Return: the number of events (> 0); 0 at end of file; -EINVAL for a
 * malformed or over-long line; -EIO for a read error (message set too).
 */
int sim_trace_read(struct sim_trace *t, FILE *f, struct sim_event ev[SIM_TRACE_EV_MAX]);

/*
 * sim_trace_number - a whole string as a number of the own format: decimal
 * or 0x hex, optionally followed by K, M, G or T (binary multipliers).
 * Return: 0 and *out; -EINVAL (not such a number); -ERANGE (2^64 or more).
 * Thread-safe.
 */
int sim_trace_number(const char *s, uint64_t *out);

/* "trace:LINE: what" of the last error, "" when none happened yet. */
const char *sim_trace_error(const struct sim_trace *t);

/* Lines consumed so far (the number of the last line parsed). */
unsigned long sim_trace_lineno(const struct sim_trace *t);

/*
 * sim_trace_format - write ev as one own-format line (no newline, NUL
 * terminated) into buf[n]. Parsing the line gives back an event equal to ev
 * (sim_event_equal) when ev came from a parser or a scenario.
 * Return: the line's length; -EINVAL (ev not representable: unknown kind,
 * value out of the grammar's range, map_sg without segments); -ENOSPC (n
 * too small; buf then holds a truncated line).
 */
int sim_trace_format(const struct sim_event *ev, char *buf, size_t n);

/* Field-by-field equality, scatter lists compared by content. */
bool sim_event_equal(const struct sim_event *a, const struct sim_event *b);

#endif /* IOPT_SIM_TRACE_H */
