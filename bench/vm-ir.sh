#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per MSI of bench-vm rows, exact on any machine: callgrind
# over one row, (Ir(--iters K --runs 1) - Ir(--iters 0 --runs 1)) / K (the
# VM set-up and the warm-up are in both runs and cancel out), and for the
# broadcast rows the same per target. Each figure is printed with its ratios
# against the figures stored below (the previous one, and the one before the
# xAPIC logical map), so a regression shows.
#
# usage: bench/vm-ir.sh [-B builddir] [-k K] [ROW...]
#
#   -B DIR   build directory with bench/bench-vm (default build-bench; a
#            release build: meson setup DIR --buildtype=release -Dbench=enabled)
#   -k K     iterations of the measured run (default 5000, as the stored
#            figures; another K moves them by about 1 Ir)
#   ROW      rows to measure (default: the xAPIC rows, xflat-N, xclus-N,
#            xbcast-N for N = 1, 16, 17, 64, 255)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir=build-bench
k=5000
while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	-k) k=$2; shift 2 ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	--) shift; break ;;
	-*) echo "vm-ir.sh: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
case $builddir in
/*) ;;
*) builddir=$root/$builddir ;;
esac
bench=$builddir/bench/bench-vm
[ -x "$bench" ] || { echo "vm-ir.sh: $bench not built" >&2; exit 1; }
command -v valgrind >/dev/null 2>&1 || { echo "vm-ir.sh: valgrind not available" >&2; exit 1; }

# Figures, Ir per MSI (gcc 12 release build, -k 5000): "before" is the
# tree before the xAPIC logical map (every logical delivery and xAPIC
# broadcast with more than 16 xAPIC-mode vCPUs scanned), "previous" the last
# committed figure. Each row prints its ratio against both, so a regression
# shows. Update prev_figure (and bench/README.md) when a change moves the
# figures on purpose.
base_figure() {
	case $1 in
	xflat-1) echo 365.2 ;;
	xclus-1) echo 369.2 ;;
	xbcast-1) echo 339.2 ;;
	xflat-16) echo 1865.2 ;;
	xclus-16) echo 1923.2 ;;
	xbcast-16) echo 2004.2 ;;
	xflat-17) echo 1571.2 ;;
	xclus-17) echo 1575.2 ;;
	xbcast-17) echo 1744.2 ;;
	xflat-64) echo 5284.3 ;;
	xclus-64) echo 5300.3 ;;
	xbcast-64) echo 5974.3 ;;
	xflat-255) echo 20373.3 ;;
	xclus-255) echo 20389.3 ;;
	xbcast-255) echo 23164.3 ;;
	*) echo "" ;;
	esac
}
prev_figure() {
	case $1 in
	xflat-1) echo 375.2 ;;
	xclus-1) echo 377.2 ;;
	xbcast-1) echo 292.2 ;;
	xflat-16) echo 375.2 ;;
	xclus-16) echo 377.2 ;;
	xbcast-16) echo 1102.2 ;;
	xflat-17) echo 374.2 ;;
	xclus-17) echo 376.2 ;;
	xbcast-17) echo 1156.2 ;;
	xflat-64) echo 374.2 ;;
	xclus-64) echo 378.2 ;;
	xbcast-64) echo 3694.3 ;;
	xflat-255) echo 374.2 ;;
	xclus-255) echo 378.2 ;;
	xbcast-255) echo 14040.3 ;;
	*) echo "" ;;
	esac
}

if [ $# -eq 0 ]; then
	set --
	for n in 1 16 17 64 255; do
		set -- "$@" "xflat-$n" "xclus-$n" "xbcast-$n"
	done
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

total() {
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" \
		"$bench" --row "$1" --iters "$2" --runs 1 >/dev/null 2>&1
	awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg"
}

printf "%-12s %10s %10s %7s %10s %7s\n" row "Ir/MSI" previous ratio before ratio
for row in "$@"; do
	i0=$(total "$row" 0)
	ik=$(total "$row" "$k")
	awk -v r="$row" -v a="$ik" -v b="$i0" -v k="$k" -v was="$(prev_figure "$row")" \
		-v base="$(base_figure "$row")" 'BEGIN {
		f = (a - b) / k
		printf "%-12s %10.1f", r, f
		if (was != "")
			printf " %10s %7.3f", was, f / was
		else
			printf " %10s %7s", "-", "-"
		if (base != "")
			printf " %10s %7.3f", base, f / base
		else
			printf " %10s %7s", "-", "-"
		n = r
		sub(/.*-/, "", n)
		if (r ~ /^xbcast-/)
			printf "   %.1f per target", f / n
		printf "\n"
	}'
done
