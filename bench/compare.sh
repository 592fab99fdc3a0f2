#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/compare.sh: iopt against the Linux 6.1 peers, one run, table + plots.
#
#   bench/compare.sh [-B BUILD] [-r REPS] [-t THREADS] [OUTDIR]
#
#   -B BUILD    build directory (default: build-peers next to this tree). If it
#               already holds an iopt-bench built with -Dpeers=linux61 (say, a
#               build dir copied to another machine), it is used as is;
#               otherwise it is configured with -Dpeers=linux61 and built.
#   -r REPS     timed repetitions per case (default 5; median reported).
#   -t THREADS  thread counts for the scaling plot (default: all = 1, 2, 4,
#               ... up to the online CPUs; at most 64).
#   OUTDIR      where results go (default bench/results/<date>-<host>):
#               results.md (table), raw.jsonl, threads.jsonl, *.png, *.svg.
#
# Needs gcc, meson, ninja, liburcu-dev, python3 (meson's), the
# linux-source-6.1 tarball and gnuplot; installs the last two with apt-get
# when missing and it can. Prefixes to restrict the main run can be given in
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
	*) sed -n '3,22p' "$0"; exit 2 ;;
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
# A usable binary has the peers: --ratio --list succeeds only then.
if ! { [ -x "$bench" ] && "$bench" --ratio --list iova.cached_pair >/dev/null 2>&1; }; then
	tarball=/usr/src/linux-source-6.1.tar.xz
	[ -f "$tarball" ] || apt_install linux-source-6.1
	if [ -f "$build/build.ninja" ]; then
		meson configure "$build" -Dpeers=linux61
	else
		meson setup "$build" -Dpeers=linux61 -Dtests=false -Dwerror=true
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
"$bench" --json --ratio --reps "$reps" ${IOPT_COMPARE_CASES:-} | tee "$out/raw.jsonl"
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
