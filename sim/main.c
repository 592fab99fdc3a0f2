/* SPDX-License-Identifier: MIT */
/*
 * iopt-sim: run a built-in workload or replay a trace through the library's
 * DMA layer on a simulated IOMMU, and report what the hardware side saw.
 * Usage, output columns and the trace format: docs/SIM.md.
 *
 * Exit status: 0; 1 when any run had oracle violations; 2 for bad usage,
 * a malformed or unreadable trace, or a simulator that would not start.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "scenario.h"
#include "sim.h"
#include "trace.h"

#define PROGRESS_AFTER_S 2.0 /* runs longer than this show a progress line */
#define TRACE_PHYS_MEM (256ull << 30) /* traces: physical addresses of a large host */

static const char *const format_names[IOPT_PT_NR_FORMATS] = {
	[IOPT_PT_VTD_SS] = "vtd_ss", [IOPT_PT_X86_64] = "x86_64", [IOPT_PT_AMD_V1] = "amd_v1",
	[IOPT_PT_LPAE_S1] = "lpae_s1", [IOPT_PT_LPAE_S2] = "lpae_s2",
};

/*
 * The tour: each scenario on its natural formats (the first is its
 * default); the SMMU workloads that unmap contiguous runs (nvme: 64K runs
 * of 4K pages through the DMA API, vm: 32M and 64K runs through the IOMMU
 * API) also without range invalidation.
 */
static const struct tour_entry {
	const char *scenario;
	const char *format;
	bool no_ril;
} tour[] = {
	{"nic", "vtd_ss", false},
	{"nic", "amd_v1", false},
	{"nvme", "x86_64", false},
	{"nvme", "lpae_s1", false},
	{"nvme", "lpae_s1", true},
	{"vm", "vtd_ss", false},
	{"vm", "lpae_s2", false},
	{"vm", "lpae_s2", true},
	{"sva", "x86_64", false},
	{"nested", "x86_64/vtd_ss", false},
	{"nested", "lpae_s1/lpae_s2", false},
};

/* --hw-caps names, in struct sim_hw_caps order. */
enum { CAP_VTD_CAP, CAP_VTD_ECAP, CAP_AMD_EFR, CAP_SMMU_IDR0, CAP_SMMU_IDR3, CAP_SMMU_IDR5, CAP_NR };
static const char *const cap_names[CAP_NR] = {"vtd-cap", "vtd-ecap", "amd-efr", "smmu-idr0",
					      "smmu-idr3", "smmu-idr5"};

struct run {
	/* what */
	const char *scenario; /* NULL: a trace */
	const char *trace;
	bool ftrace;
	bool ftrace_dma;
	uint64_t ops; /* 0 = scenario default */
	uint64_t seed;
	struct sim_opts o;
	bool no_ril;             /* SMMU: IDR3.RIL cleared */
	unsigned hw_given;       /* bit CAP_*: register set by --hw-caps (in hw_arg) */
	uint64_t hw_arg[CAP_NR];
	struct sim_hw_caps hw;   /* the registers of the run (o.hw points here) */
	/* results */
	struct sim_stats st;
	uint64_t events, rejected;
	int first_err;
	double wall_s;
};

struct worker {
	struct sim *s;
	struct sim_scenario *sc;
	unsigned thr;
	uint64_t events, rejected;
	int first_err;
	double t_end;
	int done; /* __atomic */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static const char *mode_name(enum iopt_dma_mode m)
{
	return m == IOPT_DMA_LAZY ? "lazy" : "strict";
}

/* "fmt" or "s1/s2" (nested). 0 or -EINVAL. */
static int parse_format(const char *s, struct sim_opts *o)
{
	const char *slash = strchr(s, '/');
	size_t l1 = slash ? (size_t)(slash - s) : strlen(s);
	int f1 = -1, f2 = -1;

	for (int i = 0; i < IOPT_PT_NR_FORMATS; i++) {
		if (strlen(format_names[i]) == l1 && !strncmp(s, format_names[i], l1))
			f1 = i;
		if (slash && !strcmp(slash + 1, format_names[i]))
			f2 = i;
	}
	if (f1 < 0 || (slash && f2 < 0))
		return -EINVAL;
	o->format = (enum iopt_pt_format)f1;
	o->nested = slash != NULL;
	if (slash)
		o->s2_format = (enum iopt_pt_format)f2;
	return 0;
}

static void format_label(const struct sim_opts *o, char *buf, size_t n)
{
	if (o->nested)
		snprintf(buf, n, "%s/%s", format_names[o->format], format_names[o->s2_format]);
	else
		snprintf(buf, n, "%s", format_names[o->format]);
}

static bool is_smmu(const struct sim_opts *o)
{
	return o->format == IOPT_PT_LPAE_S1 || o->format == IOPT_PT_LPAE_S2;
}

/* The format, and " noRIL" for an SMMU without range invalidation (tables, messages). */
static void run_label(const struct run *r, char *buf, size_t n)
{
	char fmt[40];

	format_label(&r->o, fmt, sizeof(fmt));
	snprintf(buf, n, "%s%s", fmt,
		 is_smmu(&r->o) && !(r->hw.smmu_idr3 & SIM_SMMU_IDR3_RIL) ? " noRIL" : "");
}

/* The run's registers: the defaults for its format, then --hw-caps, then --no-ril. */
static void run_caps(struct run *r)
{
	uint64_t *v64[] = {&r->hw.vtd_cap, &r->hw.vtd_ecap, &r->hw.amd_efr};
	uint32_t *v32[] = {&r->hw.smmu_idr0, &r->hw.smmu_idr3, &r->hw.smmu_idr5};

	sim_hw_caps_default(&r->o, &r->hw);
	for (unsigned i = 0; i < CAP_NR; i++) {
		if (!(r->hw_given & (1u << i)))
			continue;
		if (i < CAP_SMMU_IDR0)
			*v64[i] = r->hw_arg[i];
		else
			*v32[i - CAP_SMMU_IDR0] = (uint32_t)r->hw_arg[i];
	}
	if (r->no_ril)
		r->hw.smmu_idr3 &= ~SIM_SMMU_IDR3_RIL;
	r->o.hw = &r->hw;
}

/* A number as trace files write them (4096, 0x1000, 4K), at most max. */
static bool parse_u64_arg(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (sim_trace_number(s, &v) || v > max)
		return false;
	*out = v;
	return true;
}

/* --hw-caps NAME=VALUE[,NAME=VALUE...]; false for a bad list. */
static bool parse_caps(const char *arg, struct run *r)
{
	char buf[256], *save = NULL;

	if (strlen(arg) >= sizeof(buf))
		return false;
	strcpy(buf, arg);
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		unsigned i = 0;
		if (!eq)
			return false;
		*eq = '\0';
		while (i < CAP_NR && strcmp(kv, cap_names[i]))
			i++;
		if (i == CAP_NR ||
		    !parse_u64_arg(eq + 1, i < CAP_SMMU_IDR0 ? UINT64_MAX : UINT32_MAX, &r->hw_arg[i]))
			return false;
		r->hw_given |= 1u << i;
	}
	return r->hw_given != 0;
}

/* Overwrite the progress line while a run is slow; "\r" on a terminal. */
static void progress(const struct run *r, double t0, double frac, bool *shown)
{
	static double last;
	double t = now_s();
	bool tty = isatty(STDERR_FILENO);

	if (t - t0 < PROGRESS_AFTER_S || t - last < (tty ? 0.5 : 5.0))
		return;
	last = t;
	char fmt[48];
	run_label(r, fmt, sizeof(fmt));
	fprintf(stderr, "%s%s %s %s: %3.0f%% after %.1f s%s", tty ? "\r" : "",
		r->scenario ? r->scenario : r->trace, fmt, mode_name(r->o.mode), frac * 100, t - t0,
		tty ? "  " : "\n");
	*shown = true;
}

static void progress_end(bool shown)
{
	if (shown && isatty(STDERR_FILENO))
		fputc('\n', stderr);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct sim_event ev;

	while (sim_scenario_next(w->sc, w->thr, &ev) == 1) {
		int err = sim_apply(w->s, &ev);
		w->events++;
		if (err && !w->rejected++)
			w->first_err = err;
	}
	w->t_end = now_s();
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* One pthread per scenario thread (cpu value); this thread shows progress. */
static int run_scenario(struct run *r, struct sim *s)
{
	struct sim_scenario *sc;
	int err = sim_scenario_create(r->scenario, r->ops, r->seed, &sc);

	if (err)
		return err;
	unsigned nt = sim_scenario_threads(sc);
	struct worker w[SIM_TRACE_MAX_CPU];
	pthread_t tid[SIM_TRACE_MAX_CPU];
	unsigned started = 0;
	double t0 = now_s();
	bool shown = false;

	for (unsigned i = 0; i < nt; i++) {
		w[i] = (struct worker){.s = s, .sc = sc, .thr = i};
		if (pthread_create(&tid[i], NULL, worker_main, &w[i]))
			break;
		started++;
	}
	for (bool all = false; !all && started == nt;) {
		struct timespec nap = {0, 20 * 1000 * 1000};
		nanosleep(&nap, NULL);
		all = true;
		for (unsigned i = 0; i < nt; i++)
			all &= __atomic_load_n(&w[i].done, __ATOMIC_ACQUIRE);
		progress(r, t0, (double)sim_scenario_done(sc) / (double)sim_scenario_ops(sc), &shown);
	}
	r->wall_s = 0;
	for (unsigned i = 0; i < started; i++) {
		pthread_join(tid[i], NULL);
		/* The workload's time: the last thread's end, not when this thread woke. */
		if (w[i].t_end - t0 > r->wall_s)
			r->wall_s = w[i].t_end - t0;
		r->events += w[i].events;
		if (w[i].rejected && !r->rejected)
			r->first_err = w[i].first_err;
		r->rejected += w[i].rejected;
	}
	progress_end(shown);
	r->ops = sim_scenario_ops(sc);
	sim_scenario_destroy(sc);
	if (started < nt) {
		fprintf(stderr, "iopt-sim: %s: cannot start its threads\n", r->scenario);
		return -EAGAIN;
	}
	return 0;
}

/* Replay a trace file on this thread, streaming. */
static int run_trace(struct run *r, struct sim *s)
{
	struct sim_trace *t;
	struct sim_event ev[SIM_TRACE_EV_MAX];
	struct stat sb;
	FILE *f = fopen(r->trace, "r");
	double t0 = now_s();
	bool shown = false;
	int n, err;

	if (!f) {
		err = -errno;
		fprintf(stderr, "iopt-sim: %s: %s\n", r->trace, strerror(-err));
		return err;
	}
	double total = fstat(fileno(f), &sb) == 0 && sb.st_size > 0 ? (double)sb.st_size : 0;
	err = sim_trace_create(r->ftrace ? SIM_TRACE_FTRACE : SIM_TRACE_OWN,
			       r->ftrace_dma ? SIM_TRACE_F_DMA : 0, &t);
	if (err) {
		fclose(f);
		return err;
	}
	for (unsigned long lines = 0; (n = sim_trace_read(t, f, ev)) > 0; lines++) {
		for (int i = 0; i < n; i++) {
			int e = sim_apply(s, &ev[i]);
			r->events++;
			if (e && !r->rejected++) {
				r->first_err = e;
				fprintf(stderr, "iopt-sim: %s:%lu: event rejected by the simulator: %s\n",
					r->trace, sim_trace_lineno(t), strerror(-e));
			}
		}
		if ((lines & 4095) == 0 && total)
			progress(r, t0, (double)ftell(f) / total, &shown);
	}
	progress_end(shown);
	r->wall_s = now_s() - t0;
	if (n < 0)
		fprintf(stderr, "iopt-sim: %s: %s\n", r->trace, sim_trace_error(t));
	else if (!r->events && r->ftrace)
		fprintf(stderr, "iopt-sim: %s: no iommu map/unmap events found\n", r->trace);
	err = n < 0 || (!r->events && r->ftrace) ? -EINVAL : 0;
	sim_trace_destroy(t);
	fclose(f);
	return err;
}

/*
 * Run r on a fresh simulator. Return 0 (r->st filled), -ENODEV when the
 * simulator refused r's options (message printed), or the workload's error.
 */
static int run_one(struct run *r)
{
	struct sim *s;

	run_caps(r);
	int err = sim_create(&r->o, &s);

	if (err) {
		char fmt[48];
		run_label(r, fmt, sizeof(fmt));
		fprintf(stderr, "iopt-sim: the simulator cannot run %s %s: %s\n", fmt,
			mode_name(r->o.mode), strerror(-err));
		return -ENODEV;
	}
	err = r->scenario ? run_scenario(r, s) : run_trace(r, s);
	sim_finish(s, &r->st);
	sim_destroy(s);
	if (!err && r->rejected)
		fprintf(stderr, "iopt-sim: %s: %" PRIu64 " events rejected by the simulator (first: %s)\n",
			r->scenario ? r->scenario : r->trace, r->rejected, strerror(-r->first_err));
	return err;
}

static double ratio(double a, double b)
{
	return b > 0 ? a / b : 0;
}

/* 950, 12.3k, 4.56M: rates in a narrow column. */
static const char *human(double v, char buf[16])
{
	if (v < 1e3)
		snprintf(buf, 16, "%.0f", v);
	else if (v < 1e6)
		snprintf(buf, 16, "%.1fk", v / 1e3);
	else
		snprintf(buf, 16, "%.2fM", v / 1e6);
	return buf;
}

static uint64_t faults(const struct sim_stats *st)
{
	return st->faults_not_present + st->faults_perm + st->faults_addr_size + st->faults_reserved;
}

static void table_header(void)
{
	printf("%-8s %-15s %-6s %8s %7s %7s %8s %6s %6s %21s %7s %7s %7s %6s %9s %5s\n", "workload",
	       "format", "mode", "ops", "map-ns", "unmap-ns", "DMA/s", "hit%", "rd/miss",
	       "cmds range/scope/sync", "fl/1kun", "faults", "pri", "stale", "window-us", "viol");
}

static void table_row(const struct run *r)
{
	const struct sim_stats *st = &r->st;
	char fmt[48], cmds[32], name[16], rate[16];

	run_label(r, fmt, sizeof(fmt));
	snprintf(cmds, sizeof(cmds), "%" PRIu64 "/%" PRIu64 "/%" PRIu64, st->cmds_range, st->cmds_scope,
		 st->cmds_sync);
	snprintf(name, sizeof(name), "%s", r->scenario ? r->scenario : r->ftrace ? "ftrace" : "trace");
	printf("%-8s %-15s %-6s %8" PRIu64 " %7.0f %8.0f %8s %6.2f %7.2f %21s %7.1f %7" PRIu64
	       " %7" PRIu64 " %6" PRIu64 " %9.2f %5" PRIu64 "\n",
	       name, fmt, mode_name(r->o.mode), r->scenario ? r->ops : r->events, st->cpu_map_ns,
	       st->cpu_unmap_ns, human(ratio((double)st->dmas, r->wall_s), rate),
	       100 * ratio((double)st->iotlb_hits, (double)(st->iotlb_hits + st->iotlb_misses)),
	       ratio((double)st->walk_reads, (double)st->iotlb_misses), cmds,
	       1000 * ratio((double)st->flushes, (double)st->unmaps), faults(st), st->pri_requests,
	       st->stale_dmas,
	       st->stale_window_ns / 1000, st->violations);
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* A double as JSON (no NaN or infinity there). */
static void json_num(double v)
{
	if (v != v || v > 1e300 || v < -1e300)
		v = 0;
	printf("%.6g", v);
}

#define U64_STATS(X)                                                                              \
	X(maps) X(unmaps) X(map_errors) X(dmas) X(dma_bytes) X(dma_faults) X(iotlb_hits)          \
	X(iotlb_misses) X(pwc_hits) X(walk_reads) X(cmds_range) X(cmds_scope) X(cmds_sync)         \
	X(cmd_errors) X(flushes) X(faults_not_present) X(faults_perm) X(faults_addr_size) X(faults_reserved)     \
	X(pri_requests) X(pri_success) X(pri_invalid) X(stale_dmas) X(stale_bound_dmas)            \
	X(violations)
#define DBL_STATS(X) X(cpu_map_ns) X(cpu_unmap_ns) X(pri_latency_ns) X(stale_window_ns) X(modeled_ns)

static void json_run(const struct run *r)
{
	const struct sim_stats *st = &r->st;
	char fmt[40];

	format_label(&r->o, fmt, sizeof(fmt));
	printf("    {\"workload\": ");
	json_string(r->scenario ? r->scenario : r->ftrace ? "ftrace" : "trace");
	if (r->trace) {
		printf(", \"trace\": ");
		json_string(r->trace);
	}
	printf(", \"format\": \"%s\", \"mode\": \"%s\", \"seed\": %" PRIu64 ", \"ops\": %" PRIu64
	       ", \"threads\": %u, \"iotlb_entries\": %u, \"pwc\": %s,\n",
	       fmt, mode_name(r->o.mode), r->seed, r->scenario ? r->ops : r->events, r->o.threads,
	       r->o.iotlb_entries ? r->o.iotlb_entries : 512, r->o.pwc ? "true" : "false");
	/* the registers of the run's vendor (docs/SIM.md) */
	if (is_smmu(&r->o))
		printf("     \"hw\": {\"smmu_idr0\": \"0x%" PRIx32 "\", \"smmu_idr3\": \"0x%" PRIx32
		       "\", \"smmu_idr5\": \"0x%" PRIx32 "\"}", r->hw.smmu_idr0, r->hw.smmu_idr3,
		       r->hw.smmu_idr5);
	else if (r->o.format == IOPT_PT_AMD_V1)
		printf("     \"hw\": {\"amd_efr\": \"0x%" PRIx64 "\"}", r->hw.amd_efr);
	else
		printf("     \"hw\": {\"vtd_cap\": \"0x%" PRIx64 "\", \"vtd_ecap\": \"0x%" PRIx64 "\"}",
		       r->hw.vtd_cap, r->hw.vtd_ecap);
	printf(", \"tlb_whole_runs\": %s,\n", r->o.tlb_whole_runs ? "true" : "false");
	printf("     \"events\": %" PRIu64 ", \"rejected\": %" PRIu64 ", \"wall_s\": ", r->events,
	       r->rejected);
	json_num(r->wall_s);
	printf(", \"dma_per_s\": ");
	json_num(ratio((double)st->dmas, r->wall_s));
	printf(", \"iotlb_hit_rate\": ");
	json_num(ratio((double)st->iotlb_hits, (double)(st->iotlb_hits + st->iotlb_misses)));
	printf(", \"walk_reads_per_miss\": ");
	json_num(ratio((double)st->walk_reads, (double)st->iotlb_misses));
	printf(", \"flushes_per_1000_unmaps\": ");
	json_num(1000 * ratio((double)st->flushes, (double)st->unmaps));
	printf(", \"faults\": %" PRIu64 ",\n     \"stats\": {", faults(st));
	const char *sep = "";
#define X(f)                                                                                      \
	printf("%s\"" #f "\": %" PRIu64, sep, st->f);                                              \
	sep = ", ";
	U64_STATS(X)
#undef X
#define X(f)                                                                                      \
	printf(", \"" #f "\": ");                                                                  \
	json_num(st->f);
	DBL_STATS(X)
#undef X
	printf("}}");
}

static void json_doc(const struct run *runs, unsigned n, unsigned skipped, uint64_t violations,
		     double wall)
{
	printf("{\n  \"tool\": \"iopt-sim\",\n  \"runs\": [\n");
	for (unsigned i = 0; i < n; i++) {
		json_run(&runs[i]);
		printf("%s\n", i + 1 < n ? "," : "");
	}
	printf("  ],\n  \"skipped\": %u,\n  \"wall_s\": ", skipped);
	json_num(wall);
	printf(",\n  \"violations\": %" PRIu64 "\n}\n", violations);
}

/* Write the scenario's events as an own-format trace (threads round-robin). */
static int dump_scenario(const struct run *r)
{
	struct sim_scenario *sc;
	struct sim_event ev;
	static char line[SIM_TRACE_LINE_MAX];
	int err = sim_scenario_create(r->scenario, r->ops, r->seed, &sc);

	if (err)
		return err;
	printf("# iopt-sim --scenario %s --ops %" PRIu64 " --seed %" PRIu64 "\n", r->scenario,
	       sim_scenario_ops(sc), r->seed);
	for (bool more = true; more && !err;) {
		more = false;
		for (unsigned t = 0; t < sim_scenario_threads(sc) && !err; t++) {
			if (sim_scenario_next(sc, t, &ev) != 1)
				continue;
			more = true;
			err = sim_trace_format(&ev, line, sizeof(line));
			if (err >= 0) {
				puts(line);
				err = 0;
			}
		}
	}
	sim_scenario_destroy(sc);
	return err;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: iopt-sim [options]\n"
		"  --scenario NAME     nic (default), nvme, vm, sva, nested\n"
		"  --trace FILE        replay a trace in iopt-sim's own format (docs/SIM.md)\n"
		"  --ftrace FILE       replay Linux ftrace text of iommu:map / iommu:unmap\n"
		"  --ftrace-dma        with --ftrace: a device read after each map and unmap\n"
		"  --format F[/S2]     vtd_ss, x86_64, amd_v1, lpae_s1, lpae_s2; S1/S2 = nested\n"
		"                      (default: the scenario's natural format)\n"
		"  --mode strict|lazy  invalidation mode (default strict)\n"
		"  --iotlb-entries N   IOTLB size (default 512)\n"
		"  --pwc               model a paging-structure cache (a hit costs one walk read)\n"
		"  --no-ril            SMMU formats: no range invalidation (IDR3.RIL = 0)\n"
		"  --hw-caps N=V,...   the IOMMU's registers: vtd-cap, vtd-ecap, amd-efr,\n"
		"                      smmu-idr0, smmu-idr3, smmu-idr5 (default: QEMU 7.2's)\n"
		"  --tlb-whole-runs    cache an ARM contiguous run / AMD replicated page as one\n"
		"                      IOTLB entry (default: one entry per descriptor)\n"
		"  --ops N             operations (packets, commands, DMAs) per run\n"
		"  --seed N            workload seed (default 1)\n"
		"  --phys-mem BYTES    traces: device-visible RAM, all physical addresses below it\n"
		"                      (default 256G; nested stage 2 maps this much guest RAM)\n"
		"  --json              one JSON document on stdout instead of the table\n"
		"  --dump              print the scenario's events as a trace, do not simulate\n"
		"  --tour              every scenario on its natural formats, strict and lazy\n"
		"                      (SMMU runs of nvme and vm also with --no-ril)\n"
		"  --help\n"
		"Exit status: 0; 1 when the oracle saw violations; 2 for bad usage or input.\n");
}

static void natural_format(const char *scenario, struct sim_opts *o)
{
	for (size_t i = sizeof(tour) / sizeof(tour[0]); i--;) /* the first entry wins */
		if (!strcmp(tour[i].scenario, scenario))
			parse_format(tour[i].format, o);
}

/* Fill the options a run's workload needs, then run it. */
static int prepare_and_run(struct run *r)
{
	if (r->scenario) {
		struct sim_scenario *sc;
		int err = sim_scenario_create(r->scenario, r->ops, r->seed, &sc);
		if (err) {
			fprintf(stderr, "iopt-sim: %s: %s\n", r->scenario, strerror(-err));
			return err;
		}
		sim_scenario_setup(sc, &r->o);
		sim_scenario_destroy(sc);
	} else {
		r->o.threads = SIM_TRACE_MAX_CPU;
		if (!r->o.phys_mem)
			r->o.phys_mem = TRACE_PHYS_MEM;
	}
	r->o.seed = r->seed;
	return run_one(r);
}

static int run_tour(const struct run *base, bool json, int only_mode)
{
	enum { MAX_RUNS = 32 };
	static struct run runs[MAX_RUNS];
	unsigned n = 0, skipped = 0;
	uint64_t viol[2] = {0, 0};
	double t0 = now_s();

	if (!json) {
		printf("iopt-sim tour: each workload on its natural formats, strict and lazy (seed %" PRIu64
		       ")\nnoRIL: an SMMU without range invalidation (IDR3.RIL = 0)\n\n", base->seed);
		table_header();
	}
	for (size_t i = 0; i < sizeof(tour) / sizeof(tour[0]); i++) {
		for (int m = IOPT_DMA_STRICT; m <= IOPT_DMA_LAZY; m++) {
			if (only_mode >= 0 && m != only_mode)
				continue;
			struct run *r = &runs[n++];
			*r = *base;
			r->scenario = tour[i].scenario;
			r->ops = base->ops; /* 0: the scenario's default */
			r->no_ril |= tour[i].no_ril;
			parse_format(tour[i].format, &r->o);
			r->o.mode = (enum iopt_dma_mode)m;
			int err = prepare_and_run(r);
			if (err == -ENODEV) {
				/* Said on stderr; the rest of the tour still runs. */
				n--;
				skipped++;
				continue;
			}
			if (err)
				return 2;
			viol[m] += r->st.violations;
			if (!json) {
				table_row(r);
				fflush(stdout);
			}
		}
	}
	double wall = now_s() - t0;
	if (json)
		json_doc(runs, n, skipped, viol[0] + viol[1], wall);
	else
		printf("\ntour: %u runs in %.1f s%s: %" PRIu64 " violations (strict %" PRIu64
		       ", lazy %" PRIu64 ")\n",
		       n, wall, skipped ? " (some skipped: options the simulator refused)" : "",
		       viol[0] + viol[1], viol[0], viol[1]);
	/* A skipped run is reported, not failed: the tests demand every run. */
	return viol[0] + viol[1] ? 1 : 0;
}

int main(int argc, char **argv)
{
	enum { O_SCN = 256, O_TRACE, O_FTRACE, O_FTRACE_DMA, O_FORMAT, O_MODE, O_IOTLB, O_PWC, O_OPS,
	       O_SEED, O_PHYS, O_JSON, O_DUMP, O_TOUR, O_HELP, O_NO_RIL, O_HW_CAPS, O_WHOLE_RUNS };
	static const struct option longopts[] = {
		{"scenario", required_argument, NULL, O_SCN},
		{"trace", required_argument, NULL, O_TRACE},
		{"ftrace", required_argument, NULL, O_FTRACE},
		{"ftrace-dma", no_argument, NULL, O_FTRACE_DMA},
		{"format", required_argument, NULL, O_FORMAT},
		{"mode", required_argument, NULL, O_MODE},
		{"iotlb-entries", required_argument, NULL, O_IOTLB},
		{"pwc", no_argument, NULL, O_PWC},
		{"no-ril", no_argument, NULL, O_NO_RIL},
		{"hw-caps", required_argument, NULL, O_HW_CAPS},
		{"tlb-whole-runs", no_argument, NULL, O_WHOLE_RUNS},
		{"ops", required_argument, NULL, O_OPS},
		{"seed", required_argument, NULL, O_SEED},
		{"phys-mem", required_argument, NULL, O_PHYS},
		{"json", no_argument, NULL, O_JSON},
		{"dump", no_argument, NULL, O_DUMP},
		{"tour", no_argument, NULL, O_TOUR},
		{"help", no_argument, NULL, O_HELP},
		{NULL, 0, NULL, 0},
	};
	struct run r = {.seed = 1};
	bool json = false, dump = false, tour_mode = false, have_format = false;
	int only_mode = -1, c;
	uint64_t v;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_SCN:
			r.scenario = optarg;
			break;
		case O_TRACE:
		case O_FTRACE:
			r.trace = optarg;
			r.ftrace = c == O_FTRACE;
			break;
		case O_FTRACE_DMA:
			r.ftrace_dma = true;
			break;
		case O_FORMAT:
			if (parse_format(optarg, &r.o)) {
				fprintf(stderr, "iopt-sim: unknown format '%s'\n", optarg);
				return 2;
			}
			have_format = true;
			break;
		case O_MODE:
			if (strcmp(optarg, "strict") && strcmp(optarg, "lazy")) {
				fprintf(stderr, "iopt-sim: --mode strict or lazy\n");
				return 2;
			}
			only_mode = !strcmp(optarg, "lazy") ? IOPT_DMA_LAZY : IOPT_DMA_STRICT;
			r.o.mode = (enum iopt_dma_mode)only_mode;
			break;
		case O_IOTLB:
			if (!parse_u64_arg(optarg, 1u << 20, &v) || !v) {
				fprintf(stderr, "iopt-sim: --iotlb-entries 1..1048576\n");
				return 2;
			}
			r.o.iotlb_entries = (unsigned)v;
			break;
		case O_PWC:
			r.o.pwc = true;
			break;
		case O_NO_RIL:
			r.no_ril = true;
			break;
		case O_HW_CAPS:
			if (!parse_caps(optarg, &r)) {
				fprintf(stderr, "iopt-sim: --hw-caps NAME=VALUE[,...]: vtd-cap, vtd-ecap, "
						"amd-efr, smmu-idr0, smmu-idr3, smmu-idr5 (32-bit)\n");
				return 2;
			}
			break;
		case O_WHOLE_RUNS:
			r.o.tlb_whole_runs = true;
			break;
		case O_OPS:
			if (!parse_u64_arg(optarg, 1ull << 40, &r.ops) || !r.ops) {
				fprintf(stderr, "iopt-sim: --ops 1..2^40\n");
				return 2;
			}
			break;
		case O_SEED:
			if (!parse_u64_arg(optarg, UINT64_MAX, &r.seed)) {
				fprintf(stderr, "iopt-sim: --seed takes a number\n");
				return 2;
			}
			break;
		case O_PHYS:
			if (!parse_u64_arg(optarg, 1ull << 40, &r.o.phys_mem) || r.o.phys_mem < 4096) {
				fprintf(stderr, "iopt-sim: --phys-mem 4K..1T\n");
				return 2;
			}
			break;
		case O_JSON:
			json = true;
			break;
		case O_DUMP:
			dump = true;
			break;
		case O_TOUR:
			tour_mode = true;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc || (r.scenario && r.trace) || (tour_mode && (r.scenario || r.trace || have_format)) ||
	    (r.ftrace_dma && !r.ftrace) || (dump && (r.trace || tour_mode)) ||
	    (r.o.phys_mem && !r.trace)) {
		fprintf(stderr, "iopt-sim: conflicting or extra arguments (--help)\n");
		return 2;
	}
	if (tour_mode)
		return run_tour(&r, json, only_mode);
	if (!r.trace && !r.scenario)
		r.scenario = "nic";
	bool known = !r.scenario;
	for (const char *const *n = sim_scenario_names; *n && !known; n++)
		known = !strcmp(*n, r.scenario);
	if (!known) {
		fprintf(stderr, "iopt-sim: unknown scenario '%s'\n", r.scenario);
		return 2;
	}
	if (r.scenario && !have_format)
		natural_format(r.scenario, &r.o);
	if (r.no_ril && !is_smmu(&r.o)) {
		fprintf(stderr, "iopt-sim: --no-ril: SMMU formats only (lpae_s1, lpae_s2)\n");
		return 2;
	}
	if (dump) {
		int err = dump_scenario(&r);
		if (err)
			fprintf(stderr, "iopt-sim: --dump: %s\n", strerror(-err));
		return err ? 2 : 0;
	}
	if (prepare_and_run(&r))
		return 2;
	if (json) {
		json_doc(&r, 1, 0, r.st.violations, r.wall_s);
	} else {
		table_header();
		table_row(&r);
		if (r.o.mode == IOPT_DMA_LAZY || r.st.stale_dmas)
			printf("lazy stale DMAs beyond the flush-queue bound: %" PRIu64 "\n",
			       r.st.stale_bound_dmas);
	}
	return r.st.violations ? 1 : 0;
}
