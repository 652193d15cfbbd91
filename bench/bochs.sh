#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# VM exits per interrupt under virq-hv (examples/hv), the freestanding VMX
# hypervisor, run by Bochs: the guests of bench/guests/ in each delivery
# mode of the VMX glue. Bochs counts exits exactly, so these figures are
# the same on any machine (timings are not printed: Bochs's are not a
# CPU's).
#
#   exits per interrupt = (exits of a BENCH_MS=M run - exits of a BENCH_MS=0
#                          run) / (interrupts of the first - of the second)
#
# summed over the vCPUs, so boot, calibration and printing are not charged
# to the interrupts. "injected" is the same ratio for the events the glue
# wrote into the VM-entry interruption-information field.
#
# usage: bench/bochs.sh [-B builddir] [--ms M] [--modes LIST] [--only LIST]
#
#   -B DIR        build directory with virq-hv and bench/guests (default build)
#   --ms M        guest milliseconds (Bochs: millions of instructions) per
#                 measured run (default 20)
#   --modes LIST  comma-separated VMX glue modes (default inject,tpr-shadow,apicv)
#   --only LIST   only these benchmarks (names as in the table)
#
# Exits 1 when a run failed (status other than isa-debug-exit 0, no BENCH
# line); a mode virq-hv refuses (the CPU model lacks it) is reported as such.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
builddir=build
ms=20
modes=inject,tpr-shadow,apicv
only=
while [ $# -gt 0 ]; do
	case $1 in
	-B) builddir=$2; shift 2 ;;
	--ms) ms=$2; shift 2 ;;
	--modes) modes=$2; shift 2 ;;
	--only) only=$2; shift 2 ;;
	*) echo "usage: $0 [-B builddir] [--ms M] [--modes LIST] [--only LIST]" >&2; exit 2 ;;
	esac
done
case $builddir in /*) ;; *) builddir=$root/$builddir ;; esac
hv=$builddir/examples/hv/virq-hv.elf
[ -f "$hv" ] || { echo "bochs.sh: no $hv (ninja -C $builddir)" >&2; exit 1; }

# name image variant smp
benches="self_ipi self_ipi xapic 1
self_ipi_x2apic self_ipi x2apic 1
lapic_timer lapic_timer oneshot 1
lapic_timer_deadline lapic_timer deadline 1
ioapic_level ioapic_level - 1
ipi_pingpong ipi_pingpong xapic 2
ipi_pingpong_x2apic ipi_pingpong x2apic 2"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# run MODE SMP IMAGE VARIANT MS: prints "exits injected irqs", or fails.
run()
{
	local mode=$1 smp=$2 image=$3 variant=$4 runms=$5 out=$work/out
	{
		echo "BENCH_MS=$runms"
		[ "$variant" = - ] || echo "VARIANT=$variant"
	} >"$work/env"
	bash "$root/scripts/bochs.sh" --smp "$smp" --timeout 600 --cmdline "mode=$mode smp=$smp" \
		"$hv" "$image" "$work/env" >"$out" 2>&1 || true
	if ! grep -q '^virq-hv: guest wrote 0 to isa-debug-exit' "$out" ||
		! grep -q '^BENCH:' "$out"; then
		grep -E '^(virq-hv: FAIL|FAIL)' "$out" | head -3 >&2
		return 1
	fi
	awk '/^virq-hv: vCPU [0-9]+: [0-9]+ VM exits/ { e += $4 }
	     /^virq-hv: VMX glue:/ { i += $6 }
	     /^BENCH:/ { for (k = 2; k <= NF; k++) if ($k ~ /^irqs=/) { sub("irqs=", "", $k); q += $k } }
	     END { print e, i, q }' "$out"
}

printf '%-22s %-11s %4s %10s %12s %10s\n' benchmark mode vcpu interrupts exits/intr injected/intr
IFS=, read -r -a mode_list <<<"$modes"
while read -r name image variant smp; do
	if [ -n "$only" ]; then
		case ",$only," in *",$name,"*) ;; *) continue ;; esac
	fi
	img=$builddir/bench/guests/$image.elf
	for mode in "${mode_list[@]}"; do
		if ! base=$(run "$mode" "$smp" "$img" "$variant" 0) ||
			! meas=$(run "$mode" "$smp" "$img" "$variant" "$ms"); then
			echo "bochs.sh: $name in mode $mode failed" >&2
			failures=$((failures + 1))
			continue
		fi
		read -r e0 i0 q0 <<<"$base"
		read -r e1 i1 q1 <<<"$meas"
		# A measured run that took no more interrupts than the empty one
		# measured nothing: a failure, not a row.
		if [ $((q1 - q0)) -le 0 ]; then
			echo "bochs.sh: $name in mode $mode: no interrupts measured ($q1 vs $q0)" >&2
			failures=$((failures + 1))
			continue
		fi
		awk -v n="$name" -v m="$mode" -v s="$smp" -v e="$((e1 - e0))" -v i="$((i1 - i0))" \
			-v q="$((q1 - q0))" 'BEGIN {
			printf "%-22s %-11s %4s %10d %12.3f %10.3f\n", n, m, s, q, e / q, i / q }'
	done
done <<<"$benches"
[ "$failures" -eq 0 ]
