#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare.sh: iopt against the Linux 6.1 and 6.12 peers, one run,
# table (ns, instructions, ratios) + plots.
#
#   bench/compare.sh [-B BUILD] [-r REPS] [-t THREADS] [OUTDIR]
#
#   -B BUILD    build directory (default: build-peers next to this tree). If it
#               already holds an iopt-bench built with both peers (say, a
#               build dir copied to another machine), it is used as is;
#               otherwise it is configured with -Dpeers=all and built.
#   -r REPS     timed repetitions per case (default 5; median reported).
#   -t THREADS  thread counts for the scaling plot (default: all = 1, 2, 4,
#               ... up to the online CPUs; at most 64).
#   OUTDIR      where results go (default bench/results/<date>-<host>):
#               results.md (table), raw.jsonl, threads.jsonl, *.png, *.svg.
#
# The main run is iopt-bench --json --ratio --instr: instructions per op come
# from a perf counter where there is one, else from a callgrind pass first
# (valgrind; a few minutes). Needs gcc, meson, ninja, liburcu-dev, python3
# (meson's), the linux-source-6.1 and linux-source-6.12 tarballs, valgrind
# and gnuplot; installs the last four with apt-get when missing and it can. Prefixes to restrict the main run can be given in
# IOPT_COMPARE_CASES (space-separated; default: every case).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build-peers
reps=5
threads=all
while getopts "B:r:t:h" o; do
	case $o in
	B) build=$OPTARG ;;
	r) reps=$OPTARG ;;
	t) threads=$OPTARG ;;
	*) sed -n '3,25p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
host=$(hostname -s 2>/dev/null || echo host)
out=${1:-$src/bench/results/$(date -u +%Y-%m-%d)-$host}
mkdir -p "$out"
out=$(cd "$out" && pwd)

apt_install() {
	local sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	if ! command -v apt-get >/dev/null; then
		echo "compare.sh: please install $*" >&2
		exit 1
	fi
	echo "compare.sh: installing $*"
	"${sudo[@]}" apt-get update -qq
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "$@"
}

bench=$build/bench/iopt-bench
# A usable binary has both peers: its --ratio --json rows name them.
has_peers() {
	[ -x "$bench" ] && "$bench" --json --ratio --reps 1 iova.cached_pair 2>/dev/null |
		grep '"linux-6.12"' >/dev/null
}
# Before the build: the callgrind mode is compiled in only when valgrind is there.
command -v valgrind >/dev/null || apt_install valgrind
if ! has_peers; then
	for v in 6.1 6.12; do
		[ -f /usr/src/linux-source-$v.tar.xz ] || apt_install linux-source-$v
	done
	if [ -f "$build/build.ninja" ]; then
		meson configure "$build" -Dpeers=all
	else
		meson setup "$build" -Dpeers=all -Dtests=false -Dwerror=true
	fi
	ninja -C "$build" bench/iopt-bench
fi
command -v gnuplot >/dev/null || apt_install gnuplot-nox

cpus=$(getconf _NPROCESSORS_ONLN)
{
	echo "# machine: $(uname -srm), $cpus CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg); reps $reps; $(date -u +%FT%TZ)"
} >"$out/machine.txt"
cat "$out/machine.txt"

# shellcheck disable=SC2086 # the case list is meant to split
"$bench" --json --ratio --instr --reps "$reps" ${IOPT_COMPARE_CASES:-} | tee "$out/raw.jsonl"
"$bench" --json --ratio --reps "$reps" --threads "$threads" iova.threads_ring512 \
	dma.map_unmap_4k_strict_threads dma.map_unmap_4k_lazy_threads | tee "$out/threads.jsonl"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$out/machine.txt"

python3 "$here/compare_report.py" "$out"
cd "$out"
for t in pngcairo svg; do
	ext=${t%cairo}
	gnuplot -e "term='$t'; ext='$ext'" "$here/compare.gp"
done
echo "compare.sh: wrote $out/results.md and plots (cases, sweep_map, sweep_unmap, threads)"
