/* SPDX-License-Identifier: MIT */
/*
 * Trace parsers (contract: trace.h, grammar: docs/SIM.md). Each line is
 * copied into the parser (bounded, NUL-terminated), split into
 * whitespace-separated fields and checked field by field; the first
 * problem becomes "trace:LINE: what" and no event is produced.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"

#define MAX_FIELDS 16
#define DMA_PROBE_MAX 4096u /* ftrace synthetic read: first bytes of a map */

struct sim_trace {
	enum sim_trace_format fmt;
	unsigned flags;
	unsigned long line;
	char err[160];
	struct iopt_dma_sg sg[SIM_TRACE_MAX_SG];
	char buf[SIM_TRACE_LINE_MAX + 1]; /* the line being parsed */
	char rd[SIM_TRACE_LINE_MAX + 2];  /* sim_trace_read's line (+ '\r') */
};

/* Protection letters in the own format, in canonical (printing) order. */
static const struct {
	char c;
	unsigned prot;
} prot_letters[] = {
	{'r', IOPT_PROT_READ},  {'w', IOPT_PROT_WRITE}, {'c', IOPT_PROT_CACHE},
	{'n', IOPT_PROT_NOEXEC}, {'m', IOPT_PROT_MMIO},  {'p', IOPT_PROT_PRIV},
};
#define PROT_ALL (IOPT_PROT_READ | IOPT_PROT_WRITE | IOPT_PROT_CACHE | IOPT_PROT_NOEXEC | \
		  IOPT_PROT_MMIO | IOPT_PROT_PRIV)

/* Own-format events: keyword, positional fields, and which options apply. */
enum field { F_BUF, F_PHYS, F_IOVA, F_SIZE, F_OFF, F_PROT, F_DIR, F_SG };
#define OPT_CPU 1u /* cpu=N: every event */
#define OPT_DMA 2u /* dev=N, pri */

static const struct verb {
	const char *name;
	enum sim_ev_kind kind;
	bool raw; /* addresses an IOVA, not a buffer */
	unsigned nf;
	enum field f[4];
	const char *usage;
	unsigned opts;
} verbs[] = {
	{"map", SIM_EV_MAP, false, 4, {F_BUF, F_PHYS, F_SIZE, F_PROT}, "BUF PHYS SIZE PROT", OPT_CPU},
	{"map_sg", SIM_EV_MAP_SG, false, 3, {F_BUF, F_SG, F_PROT}, "BUF PHYS:LEN,... PROT", OPT_CPU},
	{"unmap", SIM_EV_UNMAP, false, 1, {F_BUF}, "BUF", OPT_CPU},
	{"dma", SIM_EV_DMA, false, 4, {F_BUF, F_OFF, F_SIZE, F_DIR}, "BUF OFF LEN r|w", OPT_CPU | OPT_DMA},
	{"map_at", SIM_EV_MAP_AT, true, 4, {F_IOVA, F_PHYS, F_SIZE, F_PROT}, "IOVA PHYS SIZE PROT",
	 OPT_CPU},
	{"unmap_at", SIM_EV_UNMAP_AT, true, 2, {F_IOVA, F_SIZE}, "IOVA SIZE", OPT_CPU},
	{"dma_at", SIM_EV_DMA, true, 3, {F_IOVA, F_SIZE, F_DIR}, "IOVA LEN r|w", OPT_CPU | OPT_DMA},
};

static int fail(struct sim_trace *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct sim_trace *t, const char *fmt, ...)
{
	int n = snprintf(t->err, sizeof(t->err), "trace:%lu: ", t->line);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err + n, sizeof(t->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* A field quoted in an error: at most 24 bytes, unprintables as '?'. */
static const char *shown(const char *s, char out[28])
{
	size_t i;

	for (i = 0; s[i] && i < 24; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i])
		out[i++] = '~';
	out[i] = 0;
	return out;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Split s in place into at most max fields. Return the count, or max + 1 when more. */
static unsigned split(char *s, char **f, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		while (is_space(*s))
			*s++ = 0;
		if (!*s)
			return n;
		if (n == max)
			return max + 1;
		f[n++] = s;
		while (*s && !is_space(*s))
			s++;
	}
}

/* The number grammar (sim_trace_number), with or without the suffixes. */
static int number(const char *s, bool suffix, uint64_t *out)
{
	const char *p = s;
	unsigned base = 10, shift = 0;
	uint64_t v = 0;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	const char *digits = p;
	for (;; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (base == 16 && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (base == 16 && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			break;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
	}
	if (p == digits)
		return -EINVAL;
	if (suffix && *p) {
		static const char units[] = "KMGT";
		const char *u = strchr(units, *p);
		if (u) {
			shift = 10 * (unsigned)(u - units + 1);
			p++;
		}
	}
	if (*p)
		return -EINVAL;
	if (shift && v > UINT64_MAX >> shift)
		return -ERANGE;
	*out = v << shift;
	return 0;
}

int sim_trace_number(const char *s, uint64_t *out)
{
	return number(s, true, out);
}

/* A whole field as a number; errors name the field. */
static int parse_num(struct sim_trace *t, const char *s, bool suffix, const char *what,
		     uint64_t *out)
{
	char q[28];
	int err = number(s, suffix, out);

	if (err == -ERANGE)
		return fail(t, "%s: number out of range '%s'", what, shown(s, q));
	if (err)
		return fail(t, "%s: not a number '%s'", what, shown(s, q));
	return 0;
}

/* [addr, addr + len) must be non-empty and end at or below 2^64. */
static int check_range(struct sim_trace *t, const char *what, uint64_t addr, uint64_t len)
{
	if (!len)
		return fail(t, "%s: length 0", what);
	if (addr + (len - 1) < addr)
		return fail(t, "%s: range wraps past 2^64", what);
	return 0;
}

static int parse_prot(struct sim_trace *t, const char *s, unsigned *prot)
{
	char q[28];

	*prot = 0;
	if (!strcmp(s, "-"))
		return 0;
	for (const char *p = s; *p; p++) {
		unsigned bit = 0;
		for (size_t i = 0; i < sizeof(prot_letters) / sizeof(prot_letters[0]); i++)
			if (prot_letters[i].c == *p)
				bit = prot_letters[i].prot;
		if (!bit || (*prot & bit))
			return fail(t, "PROT: want letters from rwcnmp, each once, or '-', got '%s'",
				    shown(s, q));
		*prot |= bit;
	}
	if (!*prot)
		return fail(t, "PROT: empty");
	return 0;
}

/* "PHYS:LEN,PHYS:LEN,..." into t->sg. */
static int parse_sg(struct sim_trace *t, char *s, struct sim_event *ev)
{
	unsigned n = 0;

	for (char *seg = s;;) {
		char *comma = strchr(seg, ',');
		if (comma)
			*comma = 0;
		char *colon = strchr(seg, ':');
		if (!colon)
			return fail(t, "segment %u: want PHYS:LEN", n + 1);
		if (n == SIM_TRACE_MAX_SG)
			return fail(t, "more than %u segments", SIM_TRACE_MAX_SG);
		*colon = 0;
		struct iopt_dma_sg *g = &t->sg[n];
		memset(g, 0, sizeof(*g));
		int err = parse_num(t, seg, true, "segment PHYS", &g->phys);
		if (!err)
			err = parse_num(t, colon + 1, true, "segment LEN", &g->len);
		if (!err)
			err = check_range(t, "segment", g->phys, g->len);
		if (err)
			return err;
		n++;
		if (!comma)
			break;
		seg = comma + 1;
	}
	ev->sg = t->sg;
	ev->nents = n;
	return 0;
}

static int parse_field(struct sim_trace *t, enum field f, char *s, struct sim_event *ev)
{
	uint64_t v;
	int err;

	switch (f) {
	case F_BUF:
		if ((err = parse_num(t, s, true, "BUF", &v)))
			return err;
		if (v >= SIM_TRACE_MAX_BUF)
			return fail(t, "BUF: must be below %u", SIM_TRACE_MAX_BUF);
		ev->buf = (uint32_t)v;
		return 0;
	case F_PHYS:
		return parse_num(t, s, true, "PHYS", &ev->phys);
	case F_IOVA:
		return parse_num(t, s, true, "IOVA", &ev->iova);
	case F_SIZE:
		return parse_num(t, s, true, "SIZE", &ev->size);
	case F_OFF:
		return parse_num(t, s, true, "OFF", &ev->off);
	case F_PROT:
		return parse_prot(t, s, &ev->prot);
	case F_DIR:
		if (strcmp(s, "r") && strcmp(s, "w"))
			return fail(t, "direction: want r or w");
		ev->write = s[0] == 'w';
		return 0;
	case F_SG:
		return parse_sg(t, s, ev);
	}
	return fail(t, "internal: unknown field");
}

/* Options after the positional fields: numbered (key=N, N < max) or flags (max 0). */
static const struct option {
	const char *key;
	unsigned verbs; /* OPT_* */
	unsigned max;
	size_t off;     /* uint32_t field, numbered options */
} options[] = {
	{"cpu=", OPT_CPU, SIM_TRACE_MAX_CPU, offsetof(struct sim_event, cpu)},
	{"dev=", OPT_DMA, SIM_TRACE_MAX_DEV, offsetof(struct sim_event, dev)},
	{"pri", OPT_DMA, 0, 0},
};

static int parse_option(struct sim_trace *t, const struct verb *vb, char *s, unsigned *seen,
			struct sim_event *ev)
{
	char q[28];

	for (unsigned i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		const struct option *o = &options[i];
		size_t kl = strlen(o->key);
		if (!(vb->opts & o->verbs) || (o->max ? strncmp(s, o->key, kl) : strcmp(s, o->key)))
			continue;
		if (*seen & (1u << i))
			return fail(t, "%s given twice", o->key);
		*seen |= 1u << i;
		if (!o->max) {
			ev->pri = true;
			return 0;
		}
		uint64_t v;
		int err = parse_num(t, s + kl, false, o->key, &v);
		if (err)
			return err;
		if (v >= o->max)
			return fail(t, "%s must be below %u", o->key, o->max);
		uint32_t v32 = (uint32_t)v;
		memcpy((char *)ev + o->off, &v32, sizeof(v32));
		return 0;
	}
	return fail(t, "%s: unexpected field '%s'", vb->name, shown(s, q));
}

static int parse_own(struct sim_trace *t, char *s, struct sim_event *ev)
{
	char *f[MAX_FIELDS];
	char q[28];
	char *hash = strchr(s, '#');
	int err;

	if (hash)
		*hash = 0;
	unsigned n = split(s, f, MAX_FIELDS);
	if (!n)
		return 0;
	if (n > MAX_FIELDS)
		return fail(t, "too many fields");

	const struct verb *vb = NULL;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(f[0], verbs[i].name))
			vb = &verbs[i];
	if (!vb)
		return fail(t, "unknown event '%s' (want map, map_sg, unmap, dma, map_at, unmap_at, dma_at)",
			    shown(f[0], q));
	if (n - 1 < vb->nf)
		return fail(t, "%s: too few fields, want %s %s", vb->name, vb->name, vb->usage);

	memset(ev, 0, sizeof(*ev));
	ev->kind = vb->kind;
	ev->buf = vb->raw ? SIM_NO_BUF : 0;
	for (unsigned i = 0; i < vb->nf; i++)
		if ((err = parse_field(t, vb->f[i], f[1 + i], ev)))
			return err;
	unsigned seen = 0;
	for (unsigned i = 1 + vb->nf; i < n; i++)
		if ((err = parse_option(t, vb, f[i], &seen, ev)))
			return err;

	/* Ranges are checked once every number is known. */
	switch (vb->kind) {
	case SIM_EV_MAP:
		err = check_range(t, "map", ev->phys, ev->size);
		break;
	case SIM_EV_MAP_AT:
		err = check_range(t, "map_at", ev->iova, ev->size);
		if (!err)
			err = check_range(t, "map_at PHYS", ev->phys, ev->size);
		break;
	case SIM_EV_UNMAP_AT:
		err = check_range(t, "unmap_at", ev->iova, ev->size);
		break;
	case SIM_EV_DMA:
		err = vb->raw ? check_range(t, "dma_at", ev->iova, ev->size)
			      : check_range(t, "dma", ev->off, ev->size);
		break;
	default:
		err = 0;
	}
	return err ? err : 1;
}

/*
 * ftrace payload after "IOMMU:" (include/trace/events/iommu.h):
 *   map:   iova=0x%016llx [- 0x%016llx] paddr=0x%016llx size=%zu
 *   unmap: iova=0x%016llx [- 0x%016llx] size=%zu unmapped_size=%zu
 * The "- END" part appeared in Linux 5.x; sizes are also accepted in hex.
 */
static int parse_ftrace_payload(struct sim_trace *t, char *s, bool map, uint64_t cpu,
				struct sim_event ev[SIM_TRACE_EV_MAX])
{
	static const char *const map_keys[] = {"iova=", "paddr=", "size="};
	static const char *const unmap_keys[] = {"iova=", "size=", "unmapped_size="};
	const char *const *keys = map ? map_keys : unmap_keys;
	const char *name = map ? "map" : "unmap";
	char *f[MAX_FIELDS];
	uint64_t val[3], end = 0;
	bool has_end = false;
	char q[28];
	int err;

	unsigned n = split(s, f, MAX_FIELDS), i = 0;
	for (unsigned k = 0; k < 3; k++) {
		size_t kl = strlen(keys[k]);
		if (i >= n || strncmp(f[i], keys[k], kl))
			return fail(t, "%s: missing %s", name, keys[k]);
		if ((err = parse_num(t, f[i] + kl, false, keys[k], &val[k])))
			return err;
		i++;
		if (k == 0 && i < n && !strcmp(f[i], "-")) {
			if (i + 1 >= n)
				return fail(t, "%s: missing end address after '-'", name);
			if ((err = parse_num(t, f[i + 1], false, "end", &end)))
				return err;
			has_end = true;
			i += 2;
		}
	}
	if (i < n)
		return fail(t, "%s: unexpected field '%s'", name, shown(f[i], q));

	uint64_t iova = val[0], size = map ? val[2] : val[1];
	if (has_end && end != iova + size)
		return fail(t, "%s: end 0x%llx is not iova + size", name, (unsigned long long)end);

	memset(ev, 0, sizeof(*ev));
	ev->buf = SIM_NO_BUF;
	ev->cpu = (uint32_t)(cpu % SIM_TRACE_MAX_CPU);
	ev->iova = iova;
	if (map) {
		ev->kind = SIM_EV_MAP_AT;
		ev->phys = val[1];
		ev->size = size;
		/* The event records no permissions: map read/write. */
		ev->prot = IOPT_PROT_READ | IOPT_PROT_WRITE;
		if ((err = check_range(t, "map", iova, size)) ||
		    (err = check_range(t, "map paddr", ev->phys, size)))
			return err;
	} else {
		/* What was unmapped, not what was asked: the kernel may unmap a larger page. */
		ev->kind = SIM_EV_UNMAP_AT;
		ev->size = val[2];
		if (!ev->size)
			return 0;
		if ((err = check_range(t, "unmap", iova, ev->size)))
			return err;
	}
	if (!(t->flags & SIM_TRACE_F_DMA))
		return 1;
	struct sim_event *d = &ev[1];
	memset(d, 0, sizeof(*d));
	d->kind = SIM_EV_DMA;
	d->buf = SIM_NO_BUF;
	d->cpu = ev->cpu;
	d->iova = iova;
	d->size = map ? (size < DMA_PROBE_MAX ? size : DMA_PROBE_MAX) : 1;
	return 2;
}

/* A field "[NNN]" before the event name is the CPU (trace-cmd, tracefs). */
static uint64_t ftrace_cpu(const char *s, const char *end)
{
	for (const char *p = s; p < end; p++) {
		if (*p != '[' || (p > s && !is_space(p[-1])))
			continue;
		uint64_t cpu = 0;
		const char *d = p + 1;
		while (d < end && *d >= '0' && *d <= '9' && d - p < 10)
			cpu = cpu * 10 + (uint64_t)(*d++ - '0');
		if (d > p + 1 && d < end && *d == ']' && is_space(d[1]))
			return cpu;
	}
	return 0;
}

static int parse_ftrace(struct sim_trace *t, char *s, struct sim_event ev[SIM_TRACE_EV_MAX])
{
	while (is_space(*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	/* The payload starts at a field "IOMMU:"; the field before it is the event name. */
	char *io = s;
	for (;; io += 6) {
		io = strstr(io, "IOMMU:");
		if (!io)
			return 0;
		if (io > s && is_space(io[-1]) && (!io[6] || is_space(io[6])))
			break;
	}
	char *ne = io;
	while (ne > s && is_space(ne[-1]))
		ne--;
	char *nb = ne;
	while (nb > s && !is_space(nb[-1]))
		nb--;
	size_t nl = (size_t)(ne - nb);
	if (nl > 6 && !strncmp(nb, "iommu:", 6)) {
		nb += 6;
		nl -= 6;
	}
	bool map = nl == 4 && !strncmp(nb, "map:", 4);
	if (!map && !(nl == 6 && !strncmp(nb, "unmap:", 6)))
		return 0; /* another iommu event (attach, io_page_fault, ...) */
	return parse_ftrace_payload(t, io + 6, map, ftrace_cpu(s, nb), ev);
}

int sim_trace_create(enum sim_trace_format fmt, unsigned flags, struct sim_trace **out)
{
	if ((fmt != SIM_TRACE_OWN && fmt != SIM_TRACE_FTRACE) || (flags & ~SIM_TRACE_F_DMA) ||
	    (flags && fmt != SIM_TRACE_FTRACE) || !out)
		return -EINVAL;
	struct sim_trace *t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->fmt = fmt;
	t->flags = flags;
	*out = t;
	return 0;
}

void sim_trace_destroy(struct sim_trace *t)
{
	free(t);
}

int sim_trace_parse_line(struct sim_trace *t, const char *line, size_t len,
			 struct sim_event ev[SIM_TRACE_EV_MAX])
{
	t->line++;
	if (len && line[len - 1] == '\n')
		len--;
	if (len && line[len - 1] == '\r')
		len--;
	if (len > SIM_TRACE_LINE_MAX)
		return fail(t, "line longer than %u bytes", SIM_TRACE_LINE_MAX);
	if (memchr(line, 0, len))
		return fail(t, "NUL byte in line");
	memcpy(t->buf, line, len);
	t->buf[len] = 0;
	/* Parse into a scratch copy so that nothing reaches ev on error. */
	struct sim_event tmp[SIM_TRACE_EV_MAX];
	int n = t->fmt == SIM_TRACE_OWN ? parse_own(t, t->buf, tmp) : parse_ftrace(t, t->buf, tmp);
	if (n > 0)
		memcpy(ev, tmp, sizeof(tmp[0]) * (size_t)n);
	return n;
}

int sim_trace_read(struct sim_trace *t, FILE *f, struct sim_event ev[SIM_TRACE_EV_MAX])
{
	for (;;) {
		size_t len = 0;
		bool long_line = false;
		int c;

		while ((c = getc(f)) != EOF && c != '\n') {
			if (len < sizeof(t->rd))
				t->rd[len++] = (char)c;
			else
				long_line = true; /* keep reading: the next line starts after '\n' */
		}
		if (ferror(f)) {
			t->line++;
			fail(t, "read error");
			return -EIO;
		}
		if (c == EOF && !len && !long_line)
			return 0;
		if (long_line) {
			t->line++;
			return fail(t, "line longer than %u bytes", SIM_TRACE_LINE_MAX);
		}
		int n = sim_trace_parse_line(t, t->rd, len, ev);
		if (n)
			return n;
	}
}

const char *sim_trace_error(const struct sim_trace *t)
{
	return t->err;
}

unsigned long sim_trace_lineno(const struct sim_trace *t)
{
	return t->line;
}

static int prot_string(unsigned prot, char out[8])
{
	unsigned n = 0;

	if (prot & ~PROT_ALL)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(prot_letters) / sizeof(prot_letters[0]); i++)
		if (prot & prot_letters[i].prot)
			out[n++] = prot_letters[i].c;
	if (!n)
		out[n++] = '-';
	out[n] = 0;
	return 0;
}

/* Append to buf[n] at *pos; false once it no longer fits. */
static bool put(char *buf, size_t n, size_t *pos, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool put(char *buf, size_t n, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	size_t room = *pos < n ? n - *pos : 0;

	va_start(ap, fmt);
	int w = vsnprintf(room ? buf + *pos : NULL, room, fmt, ap);
	va_end(ap);
	*pos += (size_t)(w < 0 ? 0 : w);
	return *pos < n;
}

int sim_trace_format(const struct sim_event *ev, char *buf, size_t n)
{
	typedef unsigned long long ull;
	bool raw = ev->buf == SIM_NO_BUF;
	bool dma = ev->kind == SIM_EV_DMA;
	char prot[8];
	size_t pos = 0;

	if (n)
		buf[0] = 0;
	if (prot_string(ev->prot, prot))
		return -EINVAL;
	if (ev->cpu >= SIM_TRACE_MAX_CPU || (dma && ev->dev >= SIM_TRACE_MAX_DEV))
		return -EINVAL;
	bool at = ev->kind == SIM_EV_MAP_AT || ev->kind == SIM_EV_UNMAP_AT || (dma && raw);
	if (!at && ev->buf >= SIM_TRACE_MAX_BUF)
		return -EINVAL;

	switch (ev->kind) {
	case SIM_EV_MAP:
		put(buf, n, &pos, "map %u 0x%llx %llu %s", ev->buf, (ull)ev->phys, (ull)ev->size, prot);
		break;
	case SIM_EV_MAP_SG:
		if (!ev->nents || ev->nents > SIM_TRACE_MAX_SG || !ev->sg)
			return -EINVAL;
		put(buf, n, &pos, "map_sg %u ", ev->buf);
		for (unsigned i = 0; i < ev->nents; i++)
			put(buf, n, &pos, "%s0x%llx:%llu", i ? "," : "", (ull)ev->sg[i].phys,
			    (ull)ev->sg[i].len);
		put(buf, n, &pos, " %s", prot);
		break;
	case SIM_EV_UNMAP:
		put(buf, n, &pos, "unmap %u", ev->buf);
		break;
	case SIM_EV_MAP_AT:
		put(buf, n, &pos, "map_at 0x%llx 0x%llx %llu %s", (ull)ev->iova, (ull)ev->phys,
		    (ull)ev->size, prot);
		break;
	case SIM_EV_UNMAP_AT:
		put(buf, n, &pos, "unmap_at 0x%llx %llu", (ull)ev->iova, (ull)ev->size);
		break;
	case SIM_EV_DMA:
		if (raw)
			put(buf, n, &pos, "dma_at 0x%llx %llu %c", (ull)ev->iova, (ull)ev->size,
			    ev->write ? 'w' : 'r');
		else
			put(buf, n, &pos, "dma %u %llu %llu %c", ev->buf, (ull)ev->off, (ull)ev->size,
			    ev->write ? 'w' : 'r');
		break;
	default:
		return -EINVAL;
	}
	if (ev->cpu)
		put(buf, n, &pos, " cpu=%u", ev->cpu);
	if (dma && ev->dev)
		put(buf, n, &pos, " dev=%u", ev->dev);
	if (dma && ev->pri)
		put(buf, n, &pos, " pri");
	if (pos >= n)
		return -ENOSPC;
	return (int)pos;
}

bool sim_event_equal(const struct sim_event *a, const struct sim_event *b)
{
	if (a->kind != b->kind || a->cpu != b->cpu || a->dev != b->dev || a->buf != b->buf ||
	    a->iova != b->iova || a->phys != b->phys || a->size != b->size || a->off != b->off ||
	    a->prot != b->prot || a->write != b->write || a->pri != b->pri || a->nents != b->nents)
		return false;
	for (unsigned i = 0; i < a->nents; i++)
		if (a->sg[i].phys != b->sg[i].phys || a->sg[i].len != b->sg[i].len)
			return false;
	return true;
}
