#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/hyperfine.sh: whole-process timings with hyperfine.
#
#   bench/hyperfine.sh [-B BUILD] [-o OUTDIR] [-r RUNS] [-s SCENARIO]... [-- CMD...]
#
#   CMD...       commands to compare, each one argument (quote it), e.g.
#                  bench/hyperfine.sh -- 'build/examples/demo' 'build-peers/examples/demo'
#   -s SCENARIO  adds "BUILD/sim/iopt-sim --scenario SCENARIO" (repeatable)
#   -B BUILD     build directory for -s (default: build)
#   -o OUTDIR    where hyperfine.md / hyperfine.json go (default bench/results/hyperfine)
#   -r RUNS      runs per command (default 10, after one warm-up)
#
# Installs hyperfine with apt-get when missing (and allowed); skips cleanly,
# exit 0 with a message, when hyperfine cannot be had or a -s scenario's
# iopt-sim is not built.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/.." && pwd)
build=$src/build
out=$src/bench/results/hyperfine
runs=10
scen=()
while getopts "B:o:r:s:h" o; do
	case $o in
	B) build=$OPTARG ;;
	o) out=$OPTARG ;;
	r) runs=$OPTARG ;;
	s) scen+=("$OPTARG") ;;
	*) sed -n '3,18p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift

cmds=("$@")
if [ ${#scen[@]} -gt 0 ]; then
	sim=$build/sim/iopt-sim
	if [ ! -x "$sim" ]; then
		echo "hyperfine.sh: skipped: $sim is not built (scenarios: ${scen[*]})"
		exit 0
	fi
	for s in "${scen[@]}"; do
		cmds+=("$sim --scenario $s")
	done
fi
if [ ${#cmds[@]} -eq 0 ]; then
	sed -n '3,18p' "$0"
	exit 2
fi

if ! command -v hyperfine >/dev/null; then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo -n)
	if command -v apt-get >/dev/null &&
		"${sudo[@]}" apt-get install -y -qq hyperfine >/dev/null 2>&1; then
		echo "hyperfine.sh: installed hyperfine"
	else
		echo "hyperfine.sh: skipped: hyperfine is not installed (apt-get install hyperfine)"
		exit 0
	fi
fi

mkdir -p "$out"
hyperfine --warmup 1 --runs "$runs" --export-markdown "$out/hyperfine.md" \
	--export-json "$out/hyperfine.json" "${cmds[@]}"
echo "hyperfine.sh: wrote $out/hyperfine.md and $out/hyperfine.json"
