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
# and PIC in libvirq, LAPIC in KVM), printing each guest's PASS/FAIL lines
# and the VMM's statistics table.
#
# Without /dev/kvm it says so and runs examples/minimal-embedder instead
# (one LAPIC walked through acceptance, delivery and EOI, no KVM needed).
#
# Environment: VIRQ_DEMO_DIR (build directory, default build/demo),
# VIRQ_DEMO_SMP (vCPUs, default 4), VIRQ_NO_INSTALL=1 (do not install
# packages).

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

DIR=${VIRQ_DEMO_DIR:-build/demo}

if [ "${VIRQ_NO_INSTALL:-0}" != 1 ]; then
	virq_need meson:meson ninja-build:ninja pkg-config:pkg-config \
		libc6-dev:/usr/include/stdio.h linux-libc-dev:/usr/include/linux/kvm.h \
		gcc:gcc binutils:objcopy ||
		virq_warn "continuing; the build may fail"
fi

opts=(--buildtype=release -Dtests=disabled -Dfuzz=disabled -Dbench=disabled
      -Ddocs=disabled -Dexamples=enabled)
if [ -f "$DIR/build.ninja" ]; then
	meson setup --reconfigure "$DIR" "${opts[@]}" >/dev/null ||
		meson setup --wipe "$DIR" "${opts[@]}" >/dev/null
else
	meson setup "$DIR" "${opts[@]}" >/dev/null
fi
ninja -C "$DIR" >/dev/null

version=$(meson introspect --projectinfo "$DIR" |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

if ! { [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || [ ! -x "$DIR/examples/virq-vmm" ]; then
	echo "libvirq $version: /dev/kvm is not available here, so no guest can run."
	echo "Running examples/minimal-embedder instead (source: examples/minimal-embedder/main.c)."
	echo
	exec "$DIR/examples/minimal-embedder"
fi

SMP=${VIRQ_DEMO_SMP:-4}
mapfile -t images < <(find "$DIR/tests/guests" -maxdepth 1 -name '*.elf' | sort)
if [ ${#images[@]} -eq 0 ]; then
	virq_warn "no guest programs were built (is gcc for x86-64 installed?)"
	exit 1
fi

echo "libvirq $version: virq-vmm boots ${#images[@]} guest test programs on $SMP vCPUs"
echo "(VMM: examples/vmm/main.c; guests: tests/guests/; glue: lib/kvm-glue/kvm.c)"
fail=0
skip=0
for mode in user split; do
	echo
	echo "=================== --irqchip=$mode ==================="
	for img in "${images[@]}"; do
		echo
		echo "--- $(basename "$img" .elf) ---"
		# The same runner as `meson test --suite kvm`: it adds what each
		# program needs and checks the exit status and the SUMMARY line.
		rc=0
		bash tests/guests/run-guest.sh "$DIR/examples/virq-vmm" "$mode" "$SMP" "$img" \
			--stats || rc=$?
		case $rc in
		0) ;;
		77) skip=$((skip + 1)) ;;
		*) fail=$((fail + 1)) ;;
		esac
	done
done
echo
if [ "$fail" -eq 0 ]; then
	echo "demo: every guest program passed ($skip LAPIC-only runs skipped in split mode," \
		"where the LAPIC is KVM's)"
else
	echo "demo: $fail guest run(s) failed"
	exit 1
fi
