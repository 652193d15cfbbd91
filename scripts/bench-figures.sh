#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Instructions per iteration of every benchmark figure, from callgrind, each
# with its ratio against the previous figure stored in bench/figures.txt, so
# a regression shows. The counts are exact and the same on any x86-64
# machine for the same compiler and tree (no perf counters, no clock).
#
#   lapic/SCENARIO   every bench-lapic scenario but threads (--list):
#                    bench-lapic --scenario S --cycles K
#   vm/ROW           every bench-vm row (--row list):
#                    bench-vm --row R --iters K --runs 1
#   vmx/LEVEL/ROW    every level and row bench-vmx accepts (its usage line):
#                    bench-vmx --level L --row R --iters K --runs 1
#
# Each figure is (Ir(K) - Ir(0)) / K: two callgrind runs that differ only in
# the iteration count, so set-up, warm-up and exit cancel out. K is 10000,
# except for the bench-vm rows that scan every vCPU (scans/op > 0 in a
# native run of one iteration: about 300,000 instructions per MSI), which
# take K = 20. The file keeps the K of each figure.
#
# A figure more than 2% above its stored one is marked "<== REGRESSION";
# one more than 2% below is marked "(better)". The last line counts both.
#
# usage: scripts/bench-figures.sh [-B builddir] [--no-build] [-j N]
#                                 [--only PATTERN] [--update] [--strict]
#
#   -B DIR         build directory (default build-bench, as scripts/bench.sh),
#                  configured --buildtype=release -Dwerror=true -Dbench=enabled
#   --no-build     use the build directory as it is
#   -j N           callgrind runs at once (default 2)
#   --only PATTERN only the figures whose name matches the extended regular
#                  expression PATTERN, e.g. '^vmx/' (with --update, the
#                  other stored figures are kept as they are)
#   --update       write the measured figures to bench/figures.txt (after
#                  a change that moves them on purpose)
#   --strict       exit 1 when a figure regressed (a failed run always
#                  exits 1)
#   --figures FILE the stored figures (default bench/figures.txt)
#   CC=clang scripts/bench-figures.sh -B build-bench-clang   builds with clang
#                  (the stored figures are gcc's: compare with care)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir="build-bench"
build=1
jobs=2
only=
update=0
strict=0
file=$root/bench/figures.txt
K=10000
K_SCAN=20

while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	--no-build) build=0; shift ;;
	-j) jobs=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	--update) update=1; shift ;;
	--strict) strict=1; shift ;;
	--figures) file=$2; shift 2 ;;
	-h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"
		exit 0 ;;
	*) echo "bench-figures.sh: unknown option $1" >&2; exit 2 ;;
	esac
done

case $builddir in
/*) ;;
*) builddir=$root/$builddir ;;
esac
command -v valgrind >/dev/null 2>&1 ||
	{ echo "bench-figures.sh: needs valgrind (callgrind)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ "$build" = 1 ]; then
	if [ ! -f "$builddir/build.ninja" ]; then
		meson setup "$builddir" "$root" --buildtype=release -Dwerror=true \
			-Dbench=enabled >"$tmp/setup.log" 2>&1 ||
			{ cat "$tmp/setup.log"; exit 1; }
	fi
	meson compile -C "$builddir" bench/bench-lapic bench/bench-vm bench/bench-vmx \
		>"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; exit 1; }
fi
b=$builddir/bench
for x in bench-lapic bench-vm bench-vmx; do
	[ -x "$b/$x" ] || { echo "bench-figures.sh: $b/$x not built" >&2; exit 1; }
done

# ---- the figures: "name K command..." per line ----
"$b/bench-lapic" --list | awk '$1 != "threads" { print $1 }' | while read -r s; do
	echo "lapic/$s $K $b/bench-lapic --scenario $s --cycles"
done >"$tmp/figs"
"$b/bench-vm" --row list 2>&1 | awk '/^[ \t]/ { print $1 }' | while read -r r; do
	# Rows that scan get a small K (a native run of one MSI says).
	k=$K
	if "$b/bench-vm" --row "$r" --iters 1 --runs 1 2>/dev/null |
		awk '/scans\/op/ { for (i = 1; i < NF; i++) if ($(i + 1) ~ /^scans/ && $i + 0 > 0) f = 1 }
		     END { exit !f }'; then
		k=$K_SCAN
	fi
	echo "vm/$r $k $b/bench-vm --runs 1 --row $r --iters"
done >>"$tmp/figs"
# Levels and rows from the usage line ("--level a|b|all", "--row x|y"): the
# pairs the benchmark runs.
"$b/bench-vmx" --help 2>&1 | awk '{
	for (i = 1; i <= NF; i++) {
		w = $i
		gsub(/[][]/, "", w)
		if ($(i - 1) ~ /--level\]?$/ || $(i - 1) == "[--level")
			nl = split(w, lv, "|")
		if ($(i - 1) ~ /--row\]?$/ || $(i - 1) == "[--row")
			nr = split(w, rw, "|")
	}
	for (i = 1; i <= nl; i++)
		for (j = 1; j <= nr; j++)
			if (lv[i] != "all")
				print lv[i], rw[j]
}' | while read -r l r; do
	if "$b/bench-vmx" --level "$l" --row "$r" --iters 0 --runs 1 >/dev/null 2>&1; then
		echo "vmx/$l/$r $K $b/bench-vmx --runs 1 --level $l --row $r --iters"
	fi
done >>"$tmp/figs"
if [ -n "$only" ]; then
	awk -v p="$only" '$1 ~ p' "$tmp/figs" >"$tmp/figs.only"
	mv "$tmp/figs.only" "$tmp/figs"
fi
[ -s "$tmp/figs" ] || { echo "bench-figures.sh: no figure to measure" >&2; exit 2; }
grep -q '^lapic/' "$tmp/figs" ||
	[ -n "$only" ] || { echo "bench-figures.sh: no bench-lapic scenario" >&2; exit 1; }

# ---- callgrind, -j at a time ----
# One line per run: the output file stem and the command.
awk '{
	id = $1
	gsub(/\//, "_", id)
	cmd = ""
	for (i = 3; i <= NF; i++)
		cmd = cmd " " $i
	print id ".0" cmd " 0"
	print id "." $2 cmd " " $2
}' "$tmp/figs" >"$tmp/runs"
n=$(awk 'END { print NR }' "$tmp/figs")
echo "== callgrind: $n figures, $(awk 'END { print NR }' "$tmp/runs") runs," \
	"$jobs at a time ($(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?'))"
# shellcheck disable=SC2016 # expanded by the sh that xargs starts
xargs -P "$jobs" -L 1 sh -c 'out=$1; shift
	valgrind --tool=callgrind --callgrind-out-file="$0/cg.$out" "$@" \
		>"$0/log.$out" 2>&1 || echo "exit $?" >"$0/failed.$out"' "$tmp" <"$tmp/runs"

# ---- the table ----
touch "$file"
: >"$tmp/measured"
while read -r name k cmd; do
	id=$(echo "$name" | tr / _)
	if [ -e "$tmp/failed.$id.0" ] || [ -e "$tmp/failed.$id.$k" ]; then
		echo "$name $k FAILED" >>"$tmp/measured"
		echo "bench-figures.sh: $name: $cmd failed:" >&2
		tail -n 5 "$tmp/log.$id.$k" "$tmp/log.$id.0" >&2 2>/dev/null || true
		continue
	fi
	i0=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$id.0")
	ik=$(awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$id.$k")
	awk -v n="$name" -v k="$k" -v a="$ik" -v z="$i0" \
		'BEGIN { printf "%s %s %.2f\n", n, k, (a - z) / k }' >>"$tmp/measured"
done <"$tmp/figs"

awk -v file="$file" -v update="$update" '
	FILENAME == file {
		if ($0 !~ /^#/ && NF >= 3) {
			prev[$1] = $2
		}
		next
	}
	{
		name[++n] = $1
		k[n] = $2
		v[n] = $3
	}
	END {
		printf "%-24s %6s %12s %12s %7s\n", "figure", "K", "Ir/iter", "previous", "ratio"
		for (i = 1; i <= n; i++) {
			f = name[i]
			if (v[i] == "FAILED") {
				printf "%-24s %6d %12s %12s %7s  <== FAILED\n", f, k[i], "-", "-", "-"
				bad++
				continue
			}
			if (!(f in prev)) {
				printf "%-24s %6d %12.2f %12s %7s  (new)\n", f, k[i], v[i], "-", "-"
				nnew++
				continue
			}
			r = prev[f] > 0 ? v[i] / prev[f] : 1
			mark = ""
			if (r > 1.02) {
				mark = sprintf("  <== REGRESSION +%.1f%%", (r - 1) * 100)
				reg++
			} else if (r < 0.98) {
				mark = sprintf("  (better %.1f%%)", (r - 1) * 100)
				better++
			}
			printf "%-24s %6d %12.2f %12.2f %7.3f%s\n", f, k[i], v[i], prev[f], r, mark
			seen[f] = 1
		}
		printf "%d figures: %d regressions (more than 2%% above the stored figure), " \
		       "%d better, %d new, %d failed%s\n", n, reg + 0, better + 0, nnew + 0, bad + 0,
		       update ? "" : " (stored: " file ")"
		print reg + 0, nnew + 0, bad + 0 >"/dev/stderr"
	}' "$file" "$tmp/measured" 2>"$tmp/counts"
read -r nreg _ nbad <"$tmp/counts"

if [ "$update" = 1 ]; then
	[ "$nbad" -eq 0 ] || { echo "bench-figures.sh: not updating: a run failed" >&2; exit 1; }
	cc=$(sed -n 's/^C compiler for the host machine: //p' \
		"$builddir/meson-logs/meson-log.txt" 2>/dev/null | head -n 1)
	{
		echo "# Instructions per iteration of every benchmark figure (callgrind,"
		echo "# (Ir(K) - Ir(0)) / K): the \"previous\" column of"
		echo "# scripts/bench-figures.sh, which wrote this file (--update)."
		echo "# Tree: $(cd "$root" && git describe --always --dirty 2>/dev/null || echo '?')"
		echo "# Compiler: ${cc:-unknown}, release build"
		echo "# figure Ir/iteration K"
		# In the stored order, measured figures replacing theirs; stored
		# ones not measured now kept with --only (dropped without: gone
		# from the benchmarks); new ones at the end.
		awk -v keep="${only:+1}" 'FILENAME == ARGV[1] {
			if ($3 != "FAILED") { m[$1] = $1 " " $3 " " $2; order[++n] = $1 }
			next
		}
		!/^#/ && NF >= 3 && (($1 in m) || keep) {
			print ($1 in m) ? m[$1] : $0
			done[$1] = 1
		}
		END {
			for (i = 1; i <= n; i++)
				if (!(order[i] in done))
					print m[order[i]]
		}' "$tmp/measured" "$file"
	} >"$tmp/new"
	mv "$tmp/new" "$file"
	echo "wrote $file"
fi
if [ "$nbad" -gt 0 ]; then
	exit 1
fi
if [ "$strict" = 1 ] && [ "$nreg" -gt 0 ]; then
	exit 1
fi
exit 0
