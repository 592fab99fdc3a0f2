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
# run (there: needs only bash and coreutils): all harnesses at once, each with
# libFuzzer -fork=JOBS (so harnesses x JOBS cores), growing DIR/corpus/<h>;
# crashing inputs land in DIR/crashes/; logs in DIR/logs/. Prints a markdown
# table per harness: execs, crashes, cov (edges) and ft (features) from
# libFuzzer's last status line. Exit status 1 when anything crashed.
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
		echo "campaign.sh: building $h" >&2
		clang -g -O2 -I"$src/include" -I"$src/src" -pthread \
			-fsanitize=fuzzer,undefined -fsanitize-trap=undefined -fno-sanitize-recover=all \
			"$f" "$src"/src/*.c "$src"/src/*/*.c \
			"$libdir/liburcu-memb.a" "$libdir/liburcu-common.a" \
			-static-libgcc -static-libstdc++ -o "$dir/bin/$h"
		mkdir -p "$dir/corpus/$h"
		[ -d "$src/fuzz/corpus/$h" ] && cp -n "$src/fuzz/corpus/$h"/* "$dir/corpus/$h/" 2>/dev/null || true
	done
	cp "$0" "$dir/campaign.sh"
	echo "campaign.sh: built into $dir; run: $dir/campaign.sh run $dir SECONDS JOBS" >&2
}

# The last libFuzzer status line of a log ("#N ... cov: C ft: F ... crash: X ...").
last_stats() {
	local line last=""
	while IFS= read -r line; do
		[[ $line =~ ^#[0-9]+.*cov:\ [0-9]+ ]] && last=$line
	done <"$1"
	printf '%s\n' "$last"
}

field() { # field LINE PREFIX: the number right after PREFIX
	[[ $1 =~ $2([0-9]+) ]] && printf '%s' "${BASH_REMATCH[1]}" || printf '?'
}

run() {
	local dir=$1 secs=$2 jobs=$3 h b pids=() rc=0
	[ -d "$dir/bin" ] || { echo "campaign.sh: no $dir/bin (build first)" >&2; exit 2; }
	mkdir -p "$dir/crashes" "$dir/logs"
	for b in "$dir"/bin/*; do
		h=$(basename "$b")
		mkdir -p "$dir/corpus/$h"
		# Keep going after a crash (ignore_*): every finding is saved, the campaign
		# keeps its time budget. -close_fd_mask keeps harness chatter out of the log.
		(cd "$dir/logs" && "$b" -fork="$jobs" -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
			-max_total_time="$secs" -print_final_stats=1 -close_fd_mask=1 \
			-artifact_prefix="$dir/crashes/$h-" "$dir/corpus/$h" >"$h.log" 2>&1) &
		pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done

	echo "| harness | execs | crashes | cov (edges) | ft (features) | corpus files |"
	echo "|---|---:|---:|---:|---:|---:|"
	for b in "$dir"/bin/*; do
		h=$(basename "$b")
		local st crashes=0 files=0 f
		st=$(last_stats "$dir/logs/$h.log")
		for f in "$dir/crashes/$h-"*; do [ -e "$f" ] && crashes=$((crashes + 1)); done
		for f in "$dir/corpus/$h"/*; do [ -e "$f" ] && files=$((files + 1)); done
		echo "| $h | $(field "$st" '#') | $crashes | $(field "$st" 'cov: ') | $(field "$st" 'ft: ') | $files |"
		[ "$crashes" -eq 0 ] || rc=1
	done
	return $rc
}

case ${1:-} in
build) [ $# -eq 2 ] || usage; build "$(mkdir -p "$2" && cd "$2" && pwd)" ;;
run) [ $# -eq 4 ] || usage; run "$(cd "$2" && pwd)" "$3" "$4" ;;
*) usage ;;
esac
