#!/usr/bin/env bash
# fuzz/run.sh HARNESS SECONDS [JOBS]
#
# Builds HARNESS (fuzz/HARNESS.c) and runs a bounded campaign on its corpus
# (fuzz/corpus/HARNESS). JOBS=1 (default): libFuzzer (clang, ASan+UBSan).
# JOBS>1: AFL++ (installed with apt-get when missing): one -M main and
# JOBS-1 -S secondaries sharing build-fuzz/HARNESS-sync; libFuzzer
# -fork=JOBS only when AFL++ cannot be installed. fuzz/README.md explains
# how the same sync directory scales a campaign over several machines.
set -euo pipefail
cd "$(dirname "$0")/.."

[ $# -ge 2 ] || { echo "usage: fuzz/run.sh HARNESS SECONDS [JOBS]" >&2; exit 2; }
h=$1 secs=$2 jobs=${3:-1}
[ -f "fuzz/$h.c" ] || { echo "fuzz/run.sh: no harness fuzz/$h.c" >&2; exit 2; }
out=build-fuzz
mkdir -p "$out"
srcs=(src/*.c src/*/*.c)
flags=(-g -O1 -Iinclude -Isrc -pthread)
# Harnesses of simulator code: the sources they test, outside the library.
case $h in
fuzz_trace) srcs+=(sim/trace.c) flags+=(-Isim) ;;
esac
read -r -a urcu <<<"$(pkg-config --cflags --libs liburcu)"

have_afl() { command -v afl-fuzz >/dev/null && command -v afl-clang-fast >/dev/null; }
if [ "$jobs" -gt 1 ] && ! have_afl; then
	echo "fuzz/run.sh: AFL++ missing, installing it (apt-get install afl++)" >&2
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	"${sudo[@]}" apt-get install -y afl++ >&2 ||
		{ "${sudo[@]}" apt-get update >&2 && "${sudo[@]}" apt-get install -y afl++ >&2; } ||
		echo "fuzz/run.sh: cannot install AFL++; falling back to libFuzzer -fork=$jobs" >&2
fi

if [ "$jobs" -gt 1 ] && have_afl; then
	bin="$out/$h-afl"
	# libAFLDriver gives the libFuzzer entry point AFL++'s persistent loop.
	AFL_USE_ASAN=1 AFL_USE_UBSAN=1 afl-clang-fast "${flags[@]}" \
		-fsanitize=fuzzer "fuzz/$h.c" "${srcs[@]}" "${urcu[@]}" -o "$bin"
	sync="$out/$h-sync"
	export AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
	pids=()
	afl-fuzz -M main -i "fuzz/corpus/$h" -o "$sync" -V "$secs" -- "$bin" >"$out/$h-main.log" 2>&1 &
	pids+=($!)
	for j in $(seq 2 "$jobs"); do
		afl-fuzz -S "sec$j" -i "fuzz/corpus/$h" -o "$sync" -V "$secs" -- "$bin" >"$out/$h-sec$j.log" 2>&1 &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for d in "$sync"/*/; do
		[ -f "$d/fuzzer_stats" ] && grep -E '^(execs_done|saved_crashes|bitmap_cvg|edges_found)' "$d/fuzzer_stats" |
			sed "s|^|$(basename "$d"): |"
	done
	crashes=$(find "$sync" -path '*crashes/id*' | wc -l)
	echo "fuzz/run.sh: $h: $crashes crashing inputs under $sync"
	[ "$crashes" -eq 0 ]
else
	bin="$out/$h"
	clang "${flags[@]}" -fsanitize=fuzzer,address,undefined \
		"fuzz/$h.c" "${srcs[@]}" "${urcu[@]}" -o "$bin"
	work="$out/$h-corpus"
	mkdir -p "$work"
	fork=()
	[ "$jobs" -gt 1 ] && fork=(-fork="$jobs")
	"$bin" "${fork[@]}" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix="$out/$h-" \
		"$work" "fuzz/corpus/$h"
fi
