#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# scripts/demo.sh: the main demonstration.
#
#   bash scripts/demo.sh
#
# Installs what is missing (meson, ninja, pkg-config, gcc, binutils) on
# Debian, builds libvirq, the example VMM (examples/vmm, `virq-vmm`) and the
# guest test programs (tests/guests), then boots every guest program under
# virq-vmm on several vCPUs, first with libvirq as the whole irqchip
# (--irqchip=user), then as KVM's split irqchip (--irqchip=split: I/O APIC
# and PIC in libvirq, LAPIC in KVM), printing each guest's PASS:/FAIL:/SKIP:
# lines and the VMM's statistics table. It ends with the runs and the checks
# counted apart: passed, failed, skipped (a skip is never a pass), and the
# skipped runs with their reasons. It fails when a run failed.
#
# Without /dev/kvm it says so and first shows the VMX half: the same guest
# programs under virq-hv (examples/hv), the freestanding hypervisor that
# links libvirq and its VMX glue, run by Bochs (a full x86 emulator with
# VMX; scripts/bochs.sh installs it with apt-get as root), in each delivery
# mode of the glue (injection, TPR shadow, APICv), with each program's
# PASS lines and the exact VM exits per interrupt of the benchmark guests
# (bench/bochs.sh). Then it runs the programs under virq-vmm inside a
# throwaway Linux with KVM under QEMU's emulator (scripts/nested-kvm.sh:
# about 20 s to boot, and the programs' output appears when that Linux is
# done). Where that cannot start (no QEMU, not Debian), or with
# VIRQ_DEMO_NESTED=0, it runs examples/minimal-embedder instead (one LAPIC
# walked through acceptance, delivery and EOI, no KVM needed).
#
# Where KVM runs (here or in the L1), the finale boots Debian's Linux kernel
# on virq-vmm (split irqchip, 2 vCPUs; tests/linux/run-linux.sh) and prints
# its /proc/interrupts; VIRQ_DEMO_LINUX=0 leaves it out.
#
# Environment: VIRQ_DEMO_DIR (build directory, default build/demo),
# VIRQ_DEMO_SMP (vCPUs, default 4), VIRQ_DEMO_NESTED=0 (no L1),
# VIRQ_DEMO_BOCHS=0 (no virq-hv part), VIRQ_DEMO_HV_MODES (the virq-hv
# modes to show, default all), VIRQ_NO_INSTALL=1 (do not install packages).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

DIR=${VIRQ_DEMO_DIR:-build/demo}
SMP=${VIRQ_DEMO_SMP:-4}

# What failed, by name, printed as the demo's last lines (demo_exit) so that
# the end of a log (CI shows its last lines) says which run to look at.
FAILED=()

# demo_exit RC: lists what failed, then exits with RC.
demo_exit()
{
	if [ ${#FAILED[@]} -gt 0 ]; then
		echo "demo: failed (${#FAILED[@]}):"
		printf '  %s\n' "${FAILED[@]}"
	fi
	exit "$1"
}

# The programs that test only the LAPIC (examples/meson.build registers them
# in user mode only).
lapic_only()
{
	case $1 in
	lapic_timer | lapic_tpr | lapic_nested | lapic_apic_base | lapic_xapic_id) return 0 ;;
	esac
	return 1
}

# Boots every guest program under virq-vmm in both irqchip modes and counts
# the results; fails when a run failed. Needs /dev/kvm.
run_guests()
{
	local images=() img name mode rc summary reason log skipped=()
	local runs_pass=0 runs_fail=0 runs_skip=0 checks_pass=0 checks_fail=0 checks_skip=0
	local summary_re='^SUMMARY: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$'

	mapfile -t images < <(find "$DIR/tests/guests" -maxdepth 1 -name '*.elf' | sort)
	if [ ${#images[@]} -eq 0 ]; then
		virq_warn "no guest programs were built (is gcc for x86-64 installed?)"
		return 1
	fi

	echo "libvirq $version: virq-vmm boots ${#images[@]} guest test programs on $SMP vCPUs"
	echo "(VMM: examples/vmm/main.c; guests: tests/guests/; glue: lib/kvm-glue/)"
	log=$(mktemp)
	# shellcheck disable=SC2064 # the name is fixed now
	trap "rm -f '$log'" EXIT
	for mode in user split; do
		echo
		echo "=================== --irqchip=$mode ==================="
		for img in "${images[@]}"; do
			name=$(basename "$img" .elf)
			echo
			echo "--- $name ---"
			# As in meson's kvm suite: exceptions needs virq-hv's
			# fault-once page (under KVM, KVM delivers exceptions).
			if [ "$name" = exceptions ]; then
				echo "(not run: its checks need virq-hv's fault-once EPT page; shown under Bochs)"
				continue
			fi
			# As in meson's kvm suite: snapshot runs as two processes
			# (--save, then --restore), in user mode only.
			if [ "$name" = snapshot ] && [ "$mode" = split ]; then
				echo "(not run: snapshots need --irqchip=user)"
				continue
			fi
			# As in meson's kvm suite: a program that tests only the
			# LAPIC is not run where the LAPIC is KVM's.
			if [ "$mode" = split ] && lapic_only "$name"; then
				echo "(not run: it tests only the LAPIC, which is KVM's in split mode)"
				continue
			fi
			# The same runner as `meson test --suite kvm`: it adds what
			# each program needs and checks the exit status and the
			# SUMMARY line: 0 every check passed, 77 skipped (the
			# program did not run, or some of its checks did not),
			# anything else failed.
			rc=0
			if [ "$name" = snapshot ]; then
				bash tests/guests/run-snapshot.sh "$DIR/examples/virq-vmm" 3 "$img" \
					2>&1 | tee "$log" || rc=$?
			else
				bash tests/guests/run-guest.sh "$DIR/examples/virq-vmm" "$mode" "$SMP" \
					"$img" --stats 2>&1 | tee "$log" || rc=$?
			fi
			summary=$(grep -E '^SUMMARY: ' "$log" | tail -n 1 || true)
			if [[ $summary =~ $summary_re ]]; then
				checks_pass=$((checks_pass + BASH_REMATCH[1]))
				checks_fail=$((checks_fail + BASH_REMATCH[2]))
				checks_skip=$((checks_skip + BASH_REMATCH[3]))
			fi
			case $rc in
			0) runs_pass=$((runs_pass + 1)) ;;
			77)
				runs_skip=$((runs_skip + 1))
				reason=$(grep -m 1 '^SKIP' "$log" || true)
				reason=${reason#SKIP: }
				case $reason in
				"$name --irqchip=$mode: "*) skipped+=("$reason") ;;
				*) skipped+=("$name --irqchip=$mode: ${reason:-no reason given}") ;;
				esac
				;;
			*)
				runs_fail=$((runs_fail + 1))
				FAILED+=("virq-vmm: $name --irqchip=$mode: exit $rc; $(grep -m 1 -E '^(FAIL|run-guest|run-snapshot).*FAIL' "$log" | cut -c 1-160 || true)")
				;;
			esac
		done
	done
	echo
	echo "demo: guest checks: $checks_pass passed, $checks_fail failed, $checks_skip skipped"
	if [ ${#skipped[@]} -gt 0 ]; then
		echo "demo: skipped runs (not passes):"
		printf '  %s\n' "${skipped[@]}"
	fi
	echo "demo: guest runs: $runs_pass passed, $runs_fail failed, $runs_skip skipped"
	[ "$runs_fail" -eq 0 ] && [ "$runs_pass" -gt 0 ]
}

# virq-hv under Bochs: every guest program in each VMX glue mode (as the
# meson suite 'vmx' runs them: tests/guests/run-bochs.sh with the same
# vCPU counts and words), two at a time, then the exits per interrupt.
# Prints each program's PASS/FAIL/SKIP lines and virq-hv's exit summary;
# fails when a run failed.
HV_MODES=${VIRQ_DEMO_HV_MODES:-inject tpr-shadow apicv}
run_hv_guests()
{
	local images=() img name mode smp words rc n i out=$1 fail=0
	local runs_pass=0 runs_fail=0 runs_skip=0

	# snapshot needs virq-vmm's snapshot port (--save, --restore): not here.
	mapfile -t images < <(find "$DIR/tests/guests" -maxdepth 1 -name '*.elf' \
		! -name snapshot.elf | sort)
	if [ ${#images[@]} -eq 0 ]; then
		virq_warn "no guest programs were built (is gcc for x86-64 installed?)"
		return 1
	fi
	echo "libvirq $version: virq-hv, a freestanding VMX hypervisor linking libvirq, runs"
	echo "${#images[@]} guest programs under Bochs, in each delivery mode of the VMX glue"
	echo "(hypervisor: examples/hv/; glue: lib/vmx-glue/; guests: tests/guests/)"
	for mode in $HV_MODES; do
		echo
		echo "=================== virq-hv mode=$mode ==================="
		n=0
		for img in "${images[@]}"; do
			name=$(basename "$img" .elf)
			case $name in
			lapic_smp_boot | lapic_xapic_id) smp=4 ;;
			lapic_ipi | msi) smp=3 ;;
			*) smp=2 ;;
			esac
			words=()
			case $name in lapic_*) words=(expect-x2apic expect-tsc-deadline) ;; esac
			# two runs at a time (Bochs uses one host CPU each)
			while [ "$(jobs -rp | wc -l)" -ge 2 ]; do
				sleep 0.2
			done
			(
				rc=0
				bash tests/guests/run-bochs.sh --mode "$mode" --smp "$smp" \
					"$DIR/examples/hv/virq-hv.elf" "$img" ${words[@]+"${words[@]}"} \
					>"$out/$mode-$n" 2>&1 || rc=$?
				echo "$rc" >"$out/$mode-$n.rc"
			) &
			n=$((n + 1))
		done
		wait
		for i in "${!images[@]}"; do
			rc=$(cat "$out/$mode-$i.rc" 2>/dev/null || echo 1)
			name=$(basename "${images[i]}" .elf)
			echo
			echo "--- $name ($mode) ---"
			grep -E '^(PASS|FAIL|SKIP|SUMMARY|quirk|run-bochs)|exits per injected|^virq-hv: vCPU [0-9]+: [0-9]+ VM exits' \
				"$out/$mode-$i" || true
			case $rc in
			0) runs_pass=$((runs_pass + 1)) ;;
			77) runs_skip=$((runs_skip + 1)) ;;
			*)
				runs_fail=$((runs_fail + 1))
				FAILED+=("virq-hv: $name (mode $mode): exit $rc; $(grep -m 1 -E '^(FAIL|run-bochs)' "$out/$mode-$i" | cut -c 1-160 || true)")
				;;
			esac
		done
	done
	echo
	echo "demo: virq-hv runs: $runs_pass passed, $runs_fail failed, $runs_skip skipped"
	echo
	echo "VM exits per interrupt under virq-hv (exact: Bochs counts them; bench/bochs.sh):"
	bash bench/bochs.sh -B "$DIR" --ms 5 --modes "${HV_MODES// /,}" \
		--only self_ipi_x2apic,lapic_timer_deadline,ioapic_level,ipi_pingpong_x2apic ||
		{
			fail=1
			FAILED+=("bench/bochs.sh (exits per interrupt) failed")
		}
	# Runs that all skipped show nothing: that is no success either.
	[ "$runs_fail" -eq 0 ] && [ "$runs_pass" -gt 0 ] && [ "$fail" -eq 0 ]
}

# The finale: Debian's Linux kernel on virq-vmm (split irqchip, 2 vCPUs),
# with its /proc/interrupts and the VMM's statistics, checked by
# tests/linux/run-linux.sh. About a minute under the nested KVM.
linux_finale()
{
	local rc=0

	if [ "${VIRQ_DEMO_LINUX:-1}" = 0 ]; then
		echo "demo: no Linux boot (VIRQ_DEMO_LINUX=0)"
		return 0
	fi
	echo
	echo "demo: finale: Debian's Linux kernel boots on virq-vmm, --irqchip=split, 2 vCPUs;"
	echo "its /proc/interrupts, then the checks (tests/linux/run-linux.sh)"
	bash tests/linux/run-linux.sh "$DIR/examples/virq-vmm" split:2 || rc=$?
	case $rc in
	0) echo "demo: Linux booted, every check passed" ;;
	77) echo "demo: Linux boot skipped (reason above)" ;;
	*)
		echo "demo: the Linux boot failed"
		FAILED+=("the Linux boot (tests/linux/run-linux.sh split:2): exit $rc")
		return 1
		;;
	esac
}

# KVM on VMX or SVM (scripts/lib.sh says why a PVM /dev/kvm does not count).
kvm_usable()
{
	virq_kvm_hw
}

# Inside the L1 (below): the build is there already.
if [ "${VIRQ_DEMO_IN_L1:-0}" = 1 ]; then
	version=$VIRQ_DEMO_VERSION
	rc=0
	run_guests || rc=1
	linux_finale || rc=1
	demo_exit "$rc"
fi

if [ "${VIRQ_NO_INSTALL:-0}" != 1 ]; then
	virq_need meson:meson ninja-build:ninja pkg-config:pkg-config \
		libc6-dev:/usr/include/stdio.h linux-libc-dev:/usr/include/linux/kvm.h \
		gcc:gcc binutils:objcopy ||
		virq_warn "continuing; the build may fail"
fi

opts=(--buildtype=release -Dtests=disabled -Dfuzz=disabled -Dbench=enabled
      -Ddocs=disabled -Dexamples=enabled)
# Say what happens while it builds (a minute or two on a fresh machine);
# on failure show the compiler's (or meson's) own words.
build_log=$(mktemp)
build_failed()
{
	echo "demo: $1 failed; the end of its output ($build_log):" >&2
	tail -n 40 "$build_log" >&2
	exit 1
}
echo "demo: configuring the build in $DIR (meson: release, examples and benchmark guests)"
if [ -f "$DIR/build.ninja" ]; then
	meson setup --reconfigure "$DIR" "${opts[@]}" >"$build_log" 2>&1 ||
		meson setup --wipe "$DIR" "${opts[@]}" >"$build_log" 2>&1 ||
		build_failed "meson setup"
else
	meson setup "$DIR" "${opts[@]}" >"$build_log" 2>&1 || build_failed "meson setup"
fi
echo "demo: building libvirq, virq-vmm, virq-hv and the guest programs (ninja -C $DIR)"
ninja -C "$DIR" >"$build_log" 2>&1 || build_failed "the build (ninja)"
echo "demo: built"
rm -f "$build_log"

version=$(meson introspect --projectinfo "$DIR" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

if [ -x "$DIR/examples/virq-vmm" ] && kvm_usable; then
	rc=0
	run_guests || rc=1
	linux_finale || rc=1
	demo_exit "$rc"
fi

hv_rc=0
if [ -f "$DIR/examples/hv/virq-hv.elf" ] && [ "${VIRQ_DEMO_BOCHS:-1}" != 0 ]; then
	echo "libvirq $version: $(virq_kvm_why_not) here. First the VMX half, under Bochs."
	hv_out=$(mktemp -d)
	run_hv_guests "$hv_out" || hv_rc=1
	rm -rf "$hv_out"
	echo
fi

if [ -x "$DIR/examples/virq-vmm" ] && [ "${VIRQ_DEMO_NESTED:-1}" != 0 ]; then
	echo "libvirq $version: $(virq_kvm_why_not): running the guest programs inside an L1 Linux with"
	echo "KVM under QEMU TCG, about 20 s to boot; their output follows when the L1 is done."
	rc=0
	VIRQ_DEMO_IN_L1=1 VIRQ_DEMO_VERSION=$version VIRQ_DEMO_DIR=$DIR VIRQ_DEMO_SMP=$SMP \
		bash scripts/nested-kvm.sh bash scripts/demo.sh || rc=$?
	# 125: the L1 could not be started at all; fall back to what needs no
	# KVM. Anything else is the guests' verdict (124: the L1 hung).
	# (The L1's own list of failures, if any, ended its output above.)
	[ "$rc" -ne 125 ] && [ "$rc" -ne 0 ] && FAILED+=("the runs inside the L1: exit $rc")
	[ "$rc" -ne 125 ] && { [ "$hv_rc" -eq 0 ] && demo_exit "$rc"; demo_exit 1; }
	echo "demo: no L1 either (nested-kvm exit 125, reason above)."
fi

echo "libvirq $version: /dev/kvm is not available here, so no guest can run."
echo "Running examples/minimal-embedder instead (source: examples/minimal-embedder/main.c)."
echo "(No Linux boot either: it needs KVM.)"
echo
"$DIR/examples/minimal-embedder" || {
	FAILED+=("examples/minimal-embedder")
	demo_exit 1
}
demo_exit "$hv_rc"
