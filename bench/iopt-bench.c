/* SPDX-License-Identifier: MIT */
/*
 * iopt-bench [--json | --format=table|json|gbench] [--reps N] [--ratio]
 *            [--instr[=perf|callgrind]] [--threads LIST] [--list] [PREFIX...]
 *
 * Runs every case whose name starts with one of the PREFIXes (all cases
 * without one): a warm-up repetition, then N (default 5) timed ones, and
 * reports the median ns per op. In a -Dpeers build a case with Linux peers
 * runs on iopt and on each peer, interleaved (warm-ups A B C, then A B C
 * A B C ...) so drift hits all alike.
 *
 * --json (= --format=json) prints one object per line:
 *   {"peer":"iopt","case":"<name>","ns_per_op":<median>,"ops":<n>}
 * with "peer":"linux-6.1" / "linux-6.12" for the peers, ,"threads":<n> for
 * the thread-scaling cases and ,"instr_per_op":<n> with --instr. --ratio
 * adds, per case and peer, the line
 *   {"ratio":"iopt/linux-6.1","case":"<name>","median":<r>,"min":<r>,"max":<r>}
 * (the table format prints the same as rows): median = median iopt ns /
 * median peer ns; min/max over the per-repetition pairs; with --instr also
 * "instr_ratio" (iopt instructions per op / the peer's).
 * --format=gbench prints one Google Benchmark JSON document (context +
 * benchmarks[], name "<case>/<peer>" or "<case>/threads:<n>/<peer>").
 * --threads 1,2,4 runs only the thread-scaling cases, once per count
 * (1..64; "all" = powers of two up to the online CPUs, plus that count).
 * Without it they run once with as many threads as online CPUs.
 *
 * --instr counts user-space instructions per op in the timed part of each
 * case (bench_begin/bench_end): with a perf_event_open instruction counter
 * when the machine has one (every repetition; median), else by running the
 * selection once more under valgrind --tool=callgrind first, each workload
 * at 1/16 of its ops, collection on only inside the timed parts. =perf and
 * =callgrind force one way.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <math.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef IOPT_BENCH_CALLGRIND
#include <valgrind/callgrind.h>
#endif

#include "bench.h"

extern char **environ;

unsigned bench_threads = 2;
unsigned bench_ops_shift;

static const struct bench_case *const tables[] = {
	bench_iova_cases,
	bench_pgtable_cases,
	bench_plan_cases,
	bench_dma_cases,
};

static const char *const peer_names[BENCH_NPEERS] = BENCH_PEER_NAMES;

enum fmt { FMT_TABLE, FMT_JSON, FMT_GBENCH };

/* ---- instruction counting in the timed windows ---- */

/* PERF: counting here; CG_CHILD: this process runs under callgrind for a parent. */
enum instr_mode { INSTR_OFF, INSTR_PERF, INSTR_CG_CHILD };
static enum instr_mode instr_mode;
/* Sums over the windows closed since instr_reset(). */
static _Atomic uint64_t win_instr, win_count;
static _Thread_local int t_perf_fd = -1;
static _Thread_local uint64_t t_perf_start;
static pthread_key_t perf_key;

static int perf_open(void)
{
	struct perf_event_attr a = {
		.type = PERF_TYPE_HARDWARE,
		.size = sizeof(a),
		.config = PERF_COUNT_HW_INSTRUCTIONS,
		.exclude_kernel = 1,
		.exclude_hv = 1,
	};

	return (int)syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static uint64_t perf_read(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

static void perf_close(void *fd)
{
	close((int)(intptr_t)fd - 1);
}

/* The calling thread's counter, opened the first time (outside its window). */
static int perf_fd(void)
{
	if (t_perf_fd < 0) {
		t_perf_fd = perf_open();
		if (t_perf_fd < 0) {
			fprintf(stderr, "iopt-bench: perf_event_open failed in a thread: %s\n",
				strerror(errno));
			exit(1);
		}
		pthread_setspecific(perf_key, (void *)(intptr_t)(t_perf_fd + 1));
	}
	return t_perf_fd;
}

#ifdef IOPT_BENCH_CALLGRIND
/*
 * Under callgrind: instrumentation (global, slow) is on while any window is
 * open, collection (per thread) while the thread's own window is; cg_armed
 * is clear during warm-ups, which count nothing.
 */
static _Atomic int cg_open;
static int cg_armed;

static void cg_begin(void)
{
	if (!cg_armed)
		return;
	if (atomic_fetch_add(&cg_open, 1) == 0)
		CALLGRIND_START_INSTRUMENTATION;
	CALLGRIND_TOGGLE_COLLECT;
}

static void cg_end(void)
{
	if (!cg_armed)
		return;
	CALLGRIND_TOGGLE_COLLECT;
	if (atomic_fetch_sub(&cg_open, 1) == 1)
		CALLGRIND_STOP_INSTRUMENTATION;
}
#else
static void cg_begin(void) {}
static void cg_end(void) {}
#endif

double bench_begin(void)
{
	if (instr_mode == INSTR_PERF)
		t_perf_start = perf_read(perf_fd());
	else if (instr_mode == INSTR_CG_CHILD)
		cg_begin();
	return bench_now_ns();
}

double bench_end(double t0)
{
	double ns = bench_now_ns() - t0;

	if (instr_mode == INSTR_PERF)
		atomic_fetch_add(&win_instr, perf_read(t_perf_fd) - t_perf_start);
	else if (instr_mode == INSTR_CG_CHILD)
		cg_end();
	atomic_fetch_add(&win_count, 1);
	return ns;
}

static void instr_reset(void)
{
	atomic_store(&win_instr, 0);
	atomic_store(&win_count, 0);
}

/* Instructions per op of the repetition just run: per window, per op. */
static double instr_per_op(uint64_t instr, uint64_t windows, uint64_t ops)
{
	return windows && ops ? (double)instr / (double)windows / (double)ops : NAN;
}

/*
 * Callgrind counts, read back by the parent: one record per run (case,
 * side, threads, ops, windows), in the order of callgrind's dumps.
 */
struct cg_rec {
	char name[64];
	char side[16];
	unsigned threads;
	double instr_per_op;
};
static struct cg_rec *cg_recs;
static size_t cg_n;

static double cg_lookup(const char *name, const char *side, unsigned threads)
{
	for (size_t i = 0; i < cg_n; i++)
		if (!strcmp(cg_recs[i].name, name) && !strcmp(cg_recs[i].side, side) &&
		    cg_recs[i].threads == threads)
			return cg_recs[i].instr_per_op;
	return NAN;
}

/* ---- statistics and output ---- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
	double s[101];

	memcpy(s, v, (size_t)n * sizeof(*v));
	qsort(s, (size_t)n, sizeof(s[0]), cmp_double);
	return s[n / 2];
}

static int selected(const char *name, int argc, char **argv, int first)
{
	if (first >= argc)
		return 1;
	for (int i = first; i < argc; i++)
		if (!strncmp(name, argv[i], strlen(argv[i])))
			return 1;
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: iopt-bench [--json | --format=table|json|gbench] [--reps N] [--ratio]\n"
		   "                  [--instr[=perf|callgrind]] [--threads LIST|all] [--list]\n"
		   "                  [PREFIX...]\n");
}

/* Parses "1,2,4" (or "all") into counts; returns how many, 0 on bad input. */
static int parse_threads(const char *s, unsigned *out, int max, unsigned ncpu)
{
	int n = 0;

	if (!strcmp(s, "all")) {
		for (unsigned t = 1; t < ncpu && n < max - 1; t *= 2)
			out[n++] = t;
		out[n++] = ncpu;
		return n;
	}
	while (*s && n < max) {
		char *end;
		long v = strtol(s, &end, 10);

		if (end == s || v < 1 || v > BENCH_MAX_THREADS || (*end && *end != ','))
			return 0;
		out[n++] = (unsigned)v;
		s = *end ? end + 1 : end;
	}
	return *s ? 0 : n;
}

/* gbench output is one document: results are kept until the end. */
struct gb_entry {
	char name[96];
	double ns, instr;
	unsigned long long ops;
	unsigned threads;
};
static struct gb_entry *gb;
static size_t gb_n, gb_cap;

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return p;
	*cap = *cap ? 2 * *cap : 64;
	p = realloc(p, *cap * size);
	if (!p) {
		fprintf(stderr, "iopt-bench: out of memory\n");
		exit(1);
	}
	return p;
}

static void gb_add(const char *name, const char *peer, unsigned threads, double ns,
		   double instr, unsigned long long ops)
{
	gb = grow(gb, &gb_cap, gb_n, sizeof(*gb));
	struct gb_entry *e = &gb[gb_n++];
	if (threads)
		snprintf(e->name, sizeof(e->name), "%s/threads:%u/%s", name, threads, peer);
	else
		snprintf(e->name, sizeof(e->name), "%s/%s", name, peer);
	e->ns = ns;
	e->instr = instr;
	e->ops = ops;
	e->threads = threads ? threads : 1;
}

static void gb_print(int reps)
{
	char host[256] = "unknown", date[64], instr[48];
	double load[3] = { 0, 0, 0 };
	time_t now = time(NULL);

	gethostname(host, sizeof(host) - 1);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S+00:00", gmtime(&now));
	if (getloadavg(load, 3) < 0)
		load[0] = load[1] = load[2] = 0;
	printf("{\n  \"context\": {\n    \"date\": \"%s\",\n    \"host_name\": \"%s\",\n"
	       "    \"executable\": \"iopt-bench\",\n    \"num_cpus\": %ld,\n"
	       "    \"mhz_per_cpu\": 0,\n    \"cpu_scaling_enabled\": false,\n    \"caches\": [],\n"
	       "    \"load_avg\": [%.2f, %.2f, %.2f],\n    \"library_build_type\": \"release\",\n"
	       "    \"repetitions\": %d,\n    \"statistic\": \"median\"\n  },\n  \"benchmarks\": [",
	       date, host, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1], load[2], reps);
	for (size_t i = 0; i < gb_n; i++) {
		instr[0] = 0;
		if (!isnan(gb[i].instr))
			snprintf(instr, sizeof(instr), ", \"instr_per_op\": %.3f", gb[i].instr);
		printf("%s\n    {\"name\": \"%s\", \"run_name\": \"%s\", \"run_type\": \"iteration\", "
		       "\"repetitions\": %d, \"repetition_index\": 0, \"threads\": %u, "
		       "\"iterations\": %llu, \"real_time\": %.3f, \"cpu_time\": %.3f, "
		       "\"time_unit\": \"ns\"%s}",
		       i ? "," : "", gb[i].name, gb[i].name, reps, gb[i].threads, gb[i].ops, gb[i].ns,
		       gb[i].ns, instr);
	}
	printf("\n  ]\n}\n");
	free(gb);
}

/*
 * key then v, or null when v is unknown (NaN): counts with 3 decimals
 * (always a JSON float), ratios with 6 significant digits (tiny ones too).
 */
static void json_num(char *buf, size_t n, const char *key, double v, int ratio)
{
	if (isnan(v))
		snprintf(buf, n, "%snull", key);
	else if (ratio)
		snprintf(buf, n, "%s%.6g", key, v);
	else
		snprintf(buf, n, "%s%.3f", key, v);
}

/* One side of a case: iopt or a peer, with its per-repetition figures. */
struct side {
	const char *name;
	struct bench_result (*run)(void);
	double ns[101], instr[101];
	unsigned long long ops;
	double med_ns, med_instr;
};

static void emit(enum fmt fmt, const struct bench_case *c, const struct side *s,
		 unsigned threads, int instr)
{
	char tname[96], tf[32] = "", inf[48] = "";

	if (fmt == FMT_GBENCH) {
		gb_add(c->name, s->name, threads, s->med_ns, instr ? s->med_instr : NAN, s->ops);
		return;
	}
	if (fmt == FMT_JSON) {
		if (threads)
			snprintf(tf, sizeof(tf), ",\"threads\":%u", threads);
		if (instr)
			json_num(inf, sizeof(inf), ",\"instr_per_op\":", s->med_instr, 0);
		printf("{\"peer\":\"%s\",\"case\":\"%s\",\"ns_per_op\":%.3f,\"ops\":%llu%s%s}\n",
		       s->name, c->name, s->med_ns, s->ops, tf, inf);
		return;
	}
	if (threads)
		snprintf(tname, sizeof(tname), "%s/threads:%u", c->name, threads);
	else
		snprintf(tname, sizeof(tname), "%s", c->name);
	if (instr)
		snprintf(inf, sizeof(inf), " %12.1f", s->med_instr);
	printf("%-44s %-15s %12.3f%s %12llu  %s\n", tname, s->name, s->med_ns, inf, s->ops,
	       c->unit);
}

/* iopt (side 0) against peer p: ns ratio of the medians, spread, instruction ratio. */
static void emit_ratio(enum fmt fmt, const struct bench_case *c, const struct side *sd, int p,
		       int reps, unsigned threads, int instr)
{
	double lo = HUGE_VAL, hi = -HUGE_VAL, r = sd[0].med_ns / sd[p].med_ns;
	double ir = sd[0].med_instr / sd[p].med_instr;
	char tf[32] = "", inf[48] = "";

	for (int i = 0; i < reps; i++) {
		double x = sd[0].ns[i] / sd[p].ns[i];

		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	if (fmt == FMT_JSON) {
		if (threads)
			snprintf(tf, sizeof(tf), "\"threads\":%u,", threads);
		if (instr)
			json_num(inf, sizeof(inf), ",\"instr_ratio\":", ir, 1);
		printf("{\"ratio\":\"iopt/%s\",\"case\":\"%s\",%s\"median\":%.6g,"
		       "\"min\":%.6g,\"max\":%.6g%s}\n", sd[p].name, c->name, tf, r, lo, hi, inf);
	} else if (fmt == FMT_TABLE) {
		char label[32];

		snprintf(label, sizeof(label), "iopt/%s", sd[p].name);
		if (instr)
			snprintf(inf, sizeof(inf), "  instr %.4g", ir);
		printf("%-44s %-15s %12.4g  [%.4g .. %.4g]%s\n", "", label, r, lo, hi, inf);
	}
}

/* The sides a case has in this build: iopt, then each peer it has. */
static int case_sides(const struct bench_case *c, struct side *sd)
{
	int n = 1;

	sd[0] = (struct side){ .name = "iopt", .run = c->run };
	for (int p = 0; p < BENCH_NPEERS; p++)
		if (c->peer[p])
			sd[n++] = (struct side){ .name = peer_names[p], .run = c->peer[p] };
	return n;
}

/* One case at the current bench_threads: warm-ups, then reps interleaved over the sides. */
static void run_case(const struct bench_case *c, int reps, enum fmt fmt, int ratio, int instr,
		     unsigned threads)
{
	struct side sd[1 + BENCH_NPEERS];
	int ns = case_sides(c, sd);

	for (int s = 0; s < ns; s++)
		sd[s].run();
	for (int i = 0; i < reps; i++) {
		for (int s = 0; s < ns; s++) {
			instr_reset();
			struct bench_result r = sd[s].run();

			sd[s].ns[i] = r.ns / (double)r.ops;
			sd[s].instr[i] = instr_per_op(atomic_load(&win_instr),
						      atomic_load(&win_count), r.ops);
			sd[s].ops = r.ops;
		}
	}
	for (int s = 0; s < ns; s++) {
		sd[s].med_ns = median(sd[s].ns, reps);
		sd[s].med_instr = instr_mode == INSTR_PERF ? median(sd[s].instr, reps) :
			cg_lookup(c->name, sd[s].name, threads);
		emit(fmt, c, &sd[s], threads, instr);
	}
	for (int p = 1; ratio && p < ns; p++)
		emit_ratio(fmt, c, sd, p, reps, threads, instr);
	fflush(stdout);
}

#ifdef IOPT_BENCH_CALLGRIND
/* Under callgrind: each side once after an uncounted warm-up; one dump and record each. */
static void cg_child_case(const struct bench_case *c, unsigned threads)
{
	struct side sd[1 + BENCH_NPEERS];
	int ns = case_sides(c, sd);

	for (int s = 0; s < ns; s++) {
		sd[s].run();
		instr_reset();
		cg_armed = 1;
		struct bench_result r = sd[s].run();

		cg_armed = 0;
		CALLGRIND_DUMP_STATS;
		printf("%s\t%s\t%u\t%llu\t%llu\n", c->name, sd[s].name, threads,
		       (unsigned long long)r.ops, (unsigned long long)atomic_load(&win_count));
	}
	fflush(stdout);
}

/* "totals: N" of one callgrind dump; -1 when unreadable. */
static double cg_totals(const char *path)
{
	char line[256];
	double v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "totals:", 7))
			v = strtod(line + 7, NULL);
	fclose(f);
	return v;
}

static void rm_tree(const char *dir, unsigned ndumps)
{
	char p[512];
	static const char *const files[] = { "cg", "records", "stderr" };

	for (unsigned i = 1; i <= ndumps; i++) {
		snprintf(p, sizeof(p), "%s/cg.%u", dir, i);
		unlink(p);
	}
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

/*
 * Runs this binary under callgrind on the same selection (--callgrind-child)
 * and reads one record and one dump per run back into cg_recs. 0, or -1
 * after saying why on stderr.
 */
static int cg_collect(int argc, char **argv, int first, const char *threads_arg)
{
	char dir[] = "/tmp/iopt-bench-cg.XXXXXX", self[512], outopt[600], path[600], line[256];
	char *args[256];
	int n = 0, st, r = -1;
	unsigned dumps = 0;
	size_t cap = 0;
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	posix_spawn_file_actions_t fa;
	pid_t pid;
	FILE *f;

	if (len < 0 || !mkdtemp(dir)) {
		fprintf(stderr, "iopt-bench: --instr: cannot set up the callgrind run: %s\n",
			strerror(errno));
		return -1;
	}
	self[len] = 0;
	snprintf(outopt, sizeof(outopt), "--callgrind-out-file=%s/cg", dir);
	const char *fixed[] = { "valgrind", "--tool=callgrind", "-q", "--instr-atstart=no",
				"--collect-atstart=no", "--dump-instr=no", "--dump-line=no",
				outopt, self, "--callgrind-child" };
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		args[n++] = (char *)fixed[i];
	if (threads_arg) {
		args[n++] = "--threads";
		args[n++] = (char *)threads_arg;
	}
	for (int i = first; i < argc && n < 254; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	snprintf(path, sizeof(path), "%s/records", dir);
	posix_spawn_file_actions_addopen(&fa, 1, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	posix_spawn_file_actions_addopen(&fa, 2, path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fprintf(stderr, "iopt-bench: counting instructions under callgrind (1/16 of the ops)...\n");
	st = posix_spawnp(&pid, "valgrind", &fa, NULL, args, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (st) {
		fprintf(stderr, "iopt-bench: --instr: no perf counter here and valgrind cannot be "
				"run (%s); apt-get install valgrind\n", strerror(st));
		goto out;
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "iopt-bench: --instr: the callgrind run failed; its stderr:\n");
		snprintf(path, sizeof(path), "%s/stderr", dir);
		if ((f = fopen(path, "r"))) {
			while (fgets(line, sizeof(line), f))
				fputs(line, stderr);
			fclose(f);
		}
		goto out;
	}
	snprintf(path, sizeof(path), "%s/records", dir);
	if (!(f = fopen(path, "r")))
		goto out;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long ops, windows;
		struct cg_rec rec;

		if (sscanf(line, "%63[^\t]\t%15[^\t]\t%u\t%llu\t%llu", rec.name, rec.side, &rec.threads,
			   &ops, &windows) != 5)
			continue;
		snprintf(path, sizeof(path), "%s/cg.%u", dir, ++dumps);
		double tot = cg_totals(path);

		rec.instr_per_op = tot < 0 ? NAN : instr_per_op((uint64_t)tot, windows, ops);
		cg_recs = grow(cg_recs, &cap, cg_n, sizeof(*cg_recs));
		cg_recs[cg_n++] = rec;
	}
	fclose(f);
	r = 0;
out:
	rm_tree(dir, dumps);
	return r;
}
#endif

int main(int argc, char **argv)
{
	int list = 0, reps = 5, first = 1, ran = 0, ratio = 0, nthr = 0, instr = 0, child = 0;
	unsigned thr[64], ncpu = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
	const char *instr_how = NULL, *threads_arg = NULL;
	enum fmt fmt = FMT_TABLE;
	int have_peers = 0;

	for (const struct bench_case *c = bench_iova_cases; c->name; c++)
		for (int p = 0; p < BENCH_NPEERS; p++)
			have_peers |= c->peer[p] != NULL;
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > BENCH_MAX_THREADS)
		ncpu = BENCH_MAX_THREADS;
	for (; first < argc && argv[first][0] == '-'; first++) {
		const char *a = argv[first];

		if (!strcmp(a, "--json") || !strcmp(a, "--format=json")) {
			fmt = FMT_JSON;
		} else if (!strcmp(a, "--format=gbench")) {
			fmt = FMT_GBENCH;
		} else if (!strcmp(a, "--format=table")) {
			fmt = FMT_TABLE;
		} else if (!strcmp(a, "--list")) {
			list = 1;
		} else if (!strcmp(a, "--ratio")) {
			ratio = 1;
		} else if (!strcmp(a, "--instr") || !strncmp(a, "--instr=", 8)) {
			instr = 1;
			instr_how = a[7] ? a + 8 : NULL;
			if (instr_how && strcmp(instr_how, "perf") && strcmp(instr_how, "callgrind")) {
				usage(stderr);
				return 2;
			}
		} else if (!strcmp(a, "--callgrind-child")) {
			child = 1;
		} else if (!strcmp(a, "--threads") && first + 1 < argc) {
			threads_arg = argv[++first];
			nthr = parse_threads(threads_arg, thr, 64, ncpu);
			if (!nthr) {
				fprintf(stderr, "iopt-bench: --threads takes counts 1..%d, "
						"comma-separated, or \"all\"\n", BENCH_MAX_THREADS);
				return 2;
			}
		} else if (!strcmp(a, "--reps") && first + 1 < argc) {
			reps = atoi(argv[++first]);
			if (reps < 1 || reps > 101) {
				fprintf(stderr, "iopt-bench: --reps must be 1..101\n");
				return 2;
			}
		} else if (!strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (ratio && !have_peers) {
		fprintf(stderr, "iopt-bench: --ratio needs the Linux peers, and this build has "
				"none.\n  Install the sources (apt-get install linux-source-6.1 "
				"linux-source-6.12), then\n  meson configure BUILD -Dpeers=all && "
				"ninja -C BUILD\n");
		return 2;
	}
	if (instr && !list && !child) {
		int fd = instr_how && !strcmp(instr_how, "callgrind") ? -1 : perf_open();

		if (fd >= 0) {
			close(fd);
			if (pthread_key_create(&perf_key, perf_close))
				return 1;
			instr_mode = INSTR_PERF;
		} else if (instr_how && !strcmp(instr_how, "perf")) {
			fprintf(stderr, "iopt-bench: --instr=perf: no instruction counter here "
					"(perf_event_open: %s)\n", strerror(errno));
			return 2;
		} else {
#ifdef IOPT_BENCH_CALLGRIND
			if (cg_collect(argc, argv, first, threads_arg))
				return 2;
#else
			fprintf(stderr, "iopt-bench: --instr: no instruction counter here "
					"(perf_event_open: %s) and this build has no callgrind mode "
					"(valgrind/callgrind.h was missing: apt-get install valgrind, "
					"then reconfigure)\n", strerror(errno));
			return 2;
#endif
		}
	}
	if (child) {
#ifdef IOPT_BENCH_CALLGRIND
		if (!RUNNING_ON_VALGRIND) {
			fprintf(stderr, "iopt-bench: --callgrind-child is for iopt-bench --instr\n");
			return 2;
		}
		instr_mode = INSTR_CG_CHILD;
		bench_ops_shift = 4;
#else
		return 2;
#endif
	}
	if (fmt == FMT_TABLE && !list && !child)
		printf("%-44s %-15s %12s%s %12s  %s\n", "case", "peer", "ns/op",
		       instr ? "     instr/op" : "", "ops", "op");

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct bench_case *c = tables[t]; c->name; c++) {
			if (!selected(c->name, argc, argv, first) || (nthr && !c->threaded))
				continue;
			ran++;
			if (list) {
				printf("%s\n", c->name);
				continue;
			}
			for (int i = 0; i < (c->threaded ? (nthr ? nthr : 1) : 1); i++) {
				unsigned n = c->threaded ? (nthr ? thr[i] : ncpu) : 0;

				if (n)
					bench_threads = n;
#ifdef IOPT_BENCH_CALLGRIND
				if (child) {
					cg_child_case(c, n);
					continue;
				}
#endif
				run_case(c, reps, fmt, ratio, instr, n);
			}
		}
	}
	if (!ran) {
		fprintf(stderr, "iopt-bench: no case matches\n");
		return 1;
	}
	if (fmt == FMT_GBENCH && !list && !child)
		gb_print(reps);
	if (ratio && !list)
		fprintf(stderr, "iopt-bench: no Linux peer for vtd_ss.* (the VT-d page table is "
				"entangled in intel/iommu.c) or plan.*\n");
	return 0;
}
