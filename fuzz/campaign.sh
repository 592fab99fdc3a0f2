#!/usr/bin/env bash
# fuzz/campaign.sh build DIR            build every harness as a self-contained libFuzzer binary
# fuzz/campaign.sh run DIR SECONDS JOBS run every harness in DIR, JOBS workers each, for SECONDS
#
# build (here: needs clang and liburcu-dev): DIR/bin/<harness> built with
# -fsanitize=fuzzer plus UBSan in trap mode (no sanitizer runtime to ship,
# fast), liburcu linked statically, libgcc/libstdc++ too; DIR/corpus/<harness>
# seeded from fuzz/corpus; DIR/campaign.sh is this script. The result runs on
# any x86-64 Linux with glibc >= this machine's and needs no compiler.
#
# run (there: needs only bash and coreutils): all harnesses at once, each as
# JOBS libFuzzer processes sharing DIR/corpus/<h> (libFuzzer re-reads the
# directory for the others' finds), so harnesses x JOBS cores;
# crashing inputs land in DIR/crashes/; logs in DIR/logs/<h>/. Prints a
# markdown table per harness: execs (summed over the processes), crashes,
# cov (edges) and ft (features) (the largest). Exit status 1 when anything
# crashed.
set -euo pipefail

usage() {
	echo "usage: fuzz/campaign.sh build DIR | run DIR SECONDS JOBS_PER_HARNESS" >&2
	exit 2
}

build() {
	local dir=$1 src h libdir
	src=$(cd "$(dirname "$0")/.." && pwd)
	libdir=$(dirname "$(find /usr/lib /usr/lib64 -name liburcu-memb.a 2>/dev/null | head -n1)")
	[ -f "$libdir/liburcu-memb.a" ] || { echo "campaign.sh: liburcu-memb.a not found (apt-get install liburcu-dev)" >&2; exit 1; }
	mkdir -p "$dir/bin" "$dir/corpus" "$dir/crashes" "$dir/logs"
	for f in "$src"/fuzz/fuzz_*.c; do
		h=$(basename "$f" .c)
		extra=()
		# the trace parsers live in the simulator, outside the library
		[ "$h" = fuzz_trace ] && extra=(-I"$src/sim" "$src/sim/trace.c")
		echo "campaign.sh: building $h" >&2
		clang -g -O2 -I"$src/include" -I"$src/src" -pthread \
			-fsanitize=fuzzer,undefined -fsanitize-trap=undefined -fno-sanitize-recover=all \
			"$f" "${extra[@]}" "$src"/src/*.c "$src"/src/*/*.c \
			"$libdir/liburcu-memb.a" "$libdir/liburcu-common.a" \
			-static-libgcc -static-libstdc++ -o "$dir/bin/$h"
		mkdir -p "$dir/corpus/$h"
		[ -d "$src/fuzz/corpus/$h" ] && cp -n "$src/fuzz/corpus/$h"/* "$dir/corpus/$h/" 2>/dev/null || true
	done
	cp "$0" "$dir/campaign.sh"
	echo "campaign.sh: built into $dir; run: $dir/campaign.sh run $dir SECONDS JOBS" >&2
}

# A log's last status line ("#N ... cov: C ft: F ..."), with N replaced by
# the final execs count when the process ended normally (status lines are
# printed only on news, so the last one lags).
last_stats() {
	local line last="" execs=""
	while IFS= read -r line; do
		[[ $line =~ ^#[0-9]+.*cov:\ [0-9]+ ]] && last=$line
		[[ $line =~ ^stat::number_of_executed_units:\ *([0-9]+) ]] && execs=${BASH_REMATCH[1]}
	done <"$1"
	[ -n "$execs" ] && last="#$execs ${last#\#* }"
	printf '%s\n' "$last"
}

field() { # field LINE PREFIX: the number right after PREFIX, 0 if none
	[[ $1 =~ $2([0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}" || printf '0'
}

# worker BIN DIR HARNESS N SECONDS: one process after another until SECONDS
# pass (a crash ends a process), at most 10 of them (an input that crashes
# at corpus load would crash every successor).
worker() {
	local b=$1 dir=$2 h=$3 w=$4 end=$((SECONDS + $5)) n=0
	# max_total_time=0 would mean no limit: stop with under 2 s left
	while [ $((end - SECONDS)) -ge 2 ] && [ "$n" -lt 10 ]; do
		"$b" -max_total_time=$((end - SECONDS)) -print_final_stats=1 -close_fd_mask=1 \
			-artifact_prefix="$dir/crashes/$h-" "$dir/corpus/$h" \
			>"$dir/logs/$h/fuzz-$w.$n.log" 2>&1 || true
		n=$((n + 1))
	done
}

run() {
	local dir=$1 secs=$2 jobs=$3 h b pids=() rc=0
	[ -d "$dir/bin" ] || { echo "campaign.sh: no $dir/bin (build first)" >&2; exit 2; }
	mkdir -p "$dir/crashes"
	for b in "$dir"/bin/*; do
		h=$(basename "$b")
		mkdir -p "$dir/corpus/$h" "$dir/logs/$h"
		# Independent processes on one corpus directory: fork mode (-fork=N)
		# restarts short jobs that each reload and merge the corpus, and ran
		# 5-10x fewer execs per core on 16 cores (1.3x fewer on 2). A process
		# that crashes is replaced for the time left. -close_fd_mask keeps
		# harness chatter out of the logs.
		for w in $(seq "$jobs"); do
			worker "$b" "$dir" "$h" "$w" "$secs" &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p" || true; done

	echo "| harness | execs | crashes | cov (edges) | ft (features) | corpus files |"
	echo "|---|---:|---:|---:|---:|---:|"
	for b in "$dir"/bin/*; do
		h=$(basename "$b")
		local st execs=0 cov=0 ft=0 crashes=0 files=0 f v
		for f in "$dir/logs/$h"/fuzz-*.log; do
			[ -e "$f" ] || continue
			st=$(last_stats "$f")
			execs=$((execs + $(field "$st" '#')))
			v=$(field "$st" 'cov: ') && [ "$v" -gt "$cov" ] && cov=$v
			v=$(field "$st" 'ft: ') && [ "$v" -gt "$ft" ] && ft=$v
		done
		for f in "$dir/crashes/$h-"*; do [ -e "$f" ] && crashes=$((crashes + 1)); done
		for f in "$dir/corpus/$h"/*; do [ -e "$f" ] && files=$((files + 1)); done
		echo "| $h | $execs | $crashes | $cov | $ft | $files |"
		[ "$crashes" -eq 0 ] || rc=1
	done
	return $rc
}

case ${1:-} in
build) [ $# -eq 2 ] || usage; build "$(mkdir -p "$2" && cd "$2" && pwd)" ;;
run) [ $# -eq 4 ] || usage; run "$(cd "$2" && pwd)" "$3" "$4" ;;
*) usage ;;
esac
