#!/bin/sh
# SPDX-License-Identifier: MIT
#
# LAPIC hot-path benchmark: builds a release tree, runs bench-lapic, and
# checks the figures that do not depend on the machine:
#
#   1. bench-lapic: ns/op and instructions/op (perf_event_open) per scenario,
#      posts/s from two threads into one LAPIC.
#   2. Locked instructions of virq_lapic_post, statically: objdump of the
#      release static library, every entry-to-exit path of the function with
#      the lock-prefixed (and memory xchg) instructions on it.
#   3. The same dynamically (needs gdb with Python): single-steps one post in
#      each descriptor state and counts the locked instructions it executes.
#      (2 and 3 are scripts/lockcount.sh, which scripts/test.sh also runs.)
#   4. Instructions per iteration of the single-thread scenarios from
#      callgrind (needs valgrind): (Ir(K cycles) - Ir(0 cycles)) / K and the
#      same net of the harness loop, independent of perf_event access, with
#      the owner cycle's per-function split.
#   5. Every figure of bench-lapic, bench-vm and bench-vmx in instructions
#      (callgrind) with its ratio against the previous figure stored in
#      bench/figures.txt, a regression (more than 2% above it) marked:
#      scripts/bench-figures.sh, which also refreshes that file (--update).
#
# usage: scripts/bench.sh [-B builddir] [--cycles K] [--no-build]
#                         [--trace SCENARIO] [-- bench-lapic options]
#
#   -B DIR            build directory (default build-bench), configured
#                     --buildtype=release -Dwerror=true -Dbench=enabled
#   --cycles K        callgrind cycles (default 100000)
#   --no-build        use the build directory as it is
#   --trace SCENARIO  only print every instruction one iteration of SCENARIO
#                     executes (gdb), e.g. --trace owner1
#   CC=clang scripts/bench.sh -B build-bench-clang   builds with clang
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir="build-bench"
cycles=100000
build=1
trace=

while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	--cycles) cycles=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	--trace) trace=$2; shift 2 ;;
	--) shift; break ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	*) echo "bench.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

case $builddir in
/*) ;;
*) builddir=$root/$builddir ;;
esac
bench=$builddir/bench/bench-lapic
# The archive bench-lapic links (libvirq.a, which only a whole build makes,
# is the same code partially linked).
lib=$builddir/libvirq-internal.a

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ "$build" = 1 ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		meson setup "$builddir" "$root" --buildtype=release -Dwerror=true \
			-Dbench=enabled >"$tmp/setup.log" 2>&1 ||
			{ cat "$tmp/setup.log"; exit 1; }
	fi
	meson compile -C "$builddir" bench/bench-lapic >"$tmp/build.log" 2>&1 ||
		{ cat "$tmp/build.log"; exit 1; }
fi
[ -x "$bench" ] || { echo "bench.sh: $bench not built" >&2; exit 1; }

# ---- --trace, and the locked instructions of a post: scripts/lockcount.sh ----
if [ -n "$trace" ]; then
	sh "$root/scripts/lockcount.sh" --trace "$trace" "$bench"
	exit $?
fi

# ---- 1. the benchmark ----
echo "== bench-lapic ($(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'))"
"$bench" "$@"

echo
echo "== perf"
if command -v perf >/dev/null 2>&1 &&
	perf stat -x, -e instructions:u true >"$tmp/perf" 2>&1 &&
	grep -q '^[0-9]' "$tmp/perf"; then
	echo "perf stat -e instructions:u true: works ($(cut -d, -f1 "$tmp/perf" | head -1)" \
		"instructions)"
else
	echo "perf stat -e instructions:u true: does not work here" \
		"($(head -1 "$tmp/perf" 2>/dev/null || echo 'perf not installed'))"
fi

# ---- 2, 3. locked instructions of virq_lapic_post (scripts/lockcount.sh) ----
#
# Statically (objdump: every path through the function, with its locked
# instructions) and dynamically (gdb single-steps a post in each descriptor
# state); the static path each traced state took is marked with its name.
# scripts/test.sh runs the same with --check (post-on: exactly one).
sh "$root/scripts/lockcount.sh" --lib "$lib" "$bench"

# ---- 4. callgrind: instructions per owner cycle ----
echo
echo "== callgrind: instructions per iteration, (Ir($cycles) - Ir(0)) / $cycles"
if command -v valgrind >/dev/null 2>&1; then
	# cg_total SCENARIO K [--harness]: total Ir of one bench-lapic run.
	cg_total() {
		out=$tmp/cg.$1.$2${3:+.h}
		valgrind --tool=callgrind --callgrind-out-file="$out" \
			"$bench" --scenario "$1" --cycles "$2" ${3:+"$3"} >/dev/null 2>&1
		awk '/^(summary|totals):/ { print $2; exit }' "$out"
	}
	echo "(\"net\": minus the scenario's harness loop, run the same way with --harness;"
	echo " the ratios against the stored figures are in the last section)"
	for s in owner1 owner1-mmio owner1-msr owner-irr8 owner-isr4 owner-irr8-isr4 post-empty \
		post-on post-dup \
		sync-empty pending-empty; do
		i0=$(cg_total "$s" 0)
		ik=$(cg_total "$s" "$cycles")
		ih=$(cg_total "$s" "$cycles" --harness)
		awk -v s="$s" -v a="$ik" -v h="$ih" -v b="$i0" -v k="$cycles" 'BEGIN {
			printf "%-16s %8.2f Ir/iteration, net %8.2f\n", s, (a - b) / k, (a - h) / k
		}'
	done
	echo
	echo "owner1, per cycle and function (callgrind_annotate, K run minus 0 run):"
	callgrind_annotate --inclusive=no "$tmp/cg.owner1.0" 2>/dev/null >"$tmp/a0" || true
	callgrind_annotate --inclusive=no "$tmp/cg.owner1.$cycles" 2>/dev/null >"$tmp/ak" || true
	awk -v k="$cycles" '
		/\?\?\?:|:[a-z_]/ && $1 ~ /^[0-9,]+$/ {
			v = $1
			gsub(/,/, "", v)
			f = $0
			sub(/.*:/, "", f)
			sub(/ .*/, "", f)
			if (FILENAME == ARGV[1])
				base[f] = v
			else if (f ~ /^(virq_|lapic_|bench_kick|run_)/)
				cnt[f] = v
		}
		END {
			for (f in cnt) {
				d = (cnt[f] - base[f]) / k
				if (d >= 0.5)
					printf "  %-24s %7.2f\n", f, d
			}
		}' "$tmp/a0" "$tmp/ak" | sort -k2 -nr
else
	echo "skipped: valgrind not available"
fi

# ---- 5. every figure against bench/figures.txt (scripts/bench-figures.sh) ----
echo
if command -v valgrind >/dev/null 2>&1; then
	if [ "$build" = 1 ]; then
		sh "$root/scripts/bench-figures.sh" -B "$builddir"
	else
		sh "$root/scripts/bench-figures.sh" -B "$builddir" --no-build
	fi
else
	echo "== figures: skipped, valgrind not available"
fi
